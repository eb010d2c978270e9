/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "notify-util.h"
#include "tap.h"

static void test_parse(void) {
        NotifyState s = {};
        const char *m1 = "STATUS=Starting\nX_SYSTEMD_SIGNALS_LEVEL=2\n";
        const char *m2 = "READY=1\nSTATUS=Up";

        CHECK(notify_state_parse(&s, m1, strlen(m1)) == 0);
        CHECK(!s.ready);
        CHECK(s.signals_level == 2);
        CHECK_STREQ(s.status, "Starting");
        /* Only the datagram's length counts, not a NUL. */
        CHECK(notify_state_parse(&s, m2, strlen(m2)) > 0);
        CHECK(s.ready);
        CHECK_STREQ(s.status, "Up");
        /* READY=1 again is not a new transition. */
        CHECK(notify_state_parse(&s, "READY=1", 7) == 0);
        CHECK(notify_state_parse(&s, "STOPPING=1", 10) == 0);
        CHECK(s.stopping);
        CHECK(notify_state_parse(&s, "X_SYSTEMD_SIGNALS_LEVEL=x", 25) == 0);
        CHECK(s.signals_level == 2);
        notify_state_done(&s);
        CHECK(s.status == NULL);
}

static void test_send(void) {
        char dir[] = "/tmp/test-notify-XXXXXX";
        char path[128], buf[64];
        struct sockaddr_un sa = { .sun_family = AF_UNIX };

        CHECK(mkdtemp(dir) != NULL);
        snprintf(path, sizeof(path), "%s/sock", dir);
        int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        strcpy(sa.sun_path, path);
        CHECK(bind(fd, (struct sockaddr *) &sa, sizeof(sa)) == 0);

        unsetenv("NOTIFY_SOCKET");
        CHECK(notify_send("READY=1") == 0);
        setenv("NOTIFY_SOCKET", path, 1);
        CHECK(notify_send("READY=1") == 1);
        ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);
        CHECK(n == 7);
        buf[n > 0 ? n : 0] = 0;
        CHECK_STREQ(buf, "READY=1");
        setenv("NOTIFY_SOCKET", "relative", 1);
        CHECK(notify_send("READY=1") == -EINVAL);
        unsetenv("NOTIFY_SOCKET");

        close(fd);
        unlink(path);
        rmdir(dir);
}

int main(void) {
        test_parse();
        test_send();
        return tap_finish();
}
