/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "macro.h"
#include "notify-util.h"
#include "parse-util.h"

int notify_send(const char *state) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        const char *e = getenv("NOTIFY_SOCKET");
        socklen_t len;

        if (isempty(e))
                return 0;
        size_t l = strlen(e);
        if ((e[0] != '/' && e[0] != '@') || l >= sizeof(sa.sun_path))
                return -EINVAL;
        memcpy(sa.sun_path, e, l);
        if (e[0] == '@')
                sa.sun_path[0] = 0; /* abstract namespace */
        len = (socklen_t) (offsetof(struct sockaddr_un, sun_path) + l + (e[0] == '/'));

        _cleanup_close_ int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return negative_errno();
        if (sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *) &sa, len) < 0)
                return negative_errno();
        return 1;
}

void notify_state_done(NotifyState *s) {
        free(s->status);
        s->status = NULL;
}

int notify_state_parse(NotifyState *s, const char *msg, size_t len) {
        _cleanup_free_ char *copy = strndup(msg, len);
        bool was_ready = s->ready;
        char *save = NULL;

        if (!copy)
                return -ENOMEM;
        for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                const char *v;
                if (streq(line, "READY=1"))
                        s->ready = true;
                else if (streq(line, "STOPPING=1"))
                        s->stopping = true;
                else if ((v = startswith(line, "STATUS="))) {
                        char *st = strdup(v);
                        if (!st)
                                return -ENOMEM;
                        free(s->status);
                        s->status = st;
                } else if ((v = startswith(line, "X_SYSTEMD_SIGNALS_LEVEL="))) {
                        unsigned lvl;
                        if (safe_atou(v, &lvl) >= 0)
                                s->signals_level = lvl;
                }
        }
        return s->ready && !was_ready;
}
