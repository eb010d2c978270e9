/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The typed messages between spawn's supervisor and the container's child, over a socketpair. */
#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fd-util.h"
#include "log.h"
#include "spawn-child.h"
#include "spawn-sync.h"
#include "tap.h"

static void test_round_trip(void) {
        int sp[2], fd = -EBADF;
        SyncMessage m;
        struct stat a, b;

        CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) == 0);

        CHECK(sync_send(sp[1], SYNC_GO, 0, 0, NULL, -EBADF) == 0);
        CHECK(sync_receive(sp[0], &m, &fd) == 1);
        CHECK(m.type == SYNC_GO && m.error == 0 && m.reason[0] == 0 && fd < 0);

        CHECK(sync_send(sp[1], SYNC_FAILED, -EACCES, LOG_LEVEL_ERR, "Failed to mount /proc in the container: Permission denied", -EBADF) == 0);
        CHECK(sync_receive(sp[0], &m, &fd) == 1);
        CHECK(m.type == SYNC_FAILED && m.error == EACCES && m.level == LOG_LEVEL_ERR);
        CHECK_STREQ(m.reason, "Failed to mount /proc in the container: Permission denied");

        /* An fd travels along, and arrives O_CLOEXEC. */
        CHECK(sync_send(sp[1], SYNC_NOTIFY_FD, 0, 0, NULL, STDIN_FILENO) == 0);
        CHECK(sync_receive(sp[0], &m, &fd) == 1);
        CHECK(m.type == SYNC_NOTIFY_FD && fd >= 0);
        CHECK(fstat(fd, &a) == 0 && fstat(STDIN_FILENO, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev);
        fd = safe_close(fd);

        /* A reason longer than the message holds is cut, still terminated. */
        char big[SYNC_REASON_MAX + 100];
        memset(big, 'x', sizeof(big) - 1);
        big[sizeof(big) - 1] = 0;
        CHECK(sync_send(sp[1], SYNC_LOG, 0, LOG_LEVEL_WARNING, big, -EBADF) == 0);
        CHECK(sync_receive(sp[0], &m, &fd) == 1);
        CHECK(m.type == SYNC_LOG && strlen(m.reason) == SYNC_REASON_MAX - 1);

        /* Garbage is refused: too short, unknown type. */
        CHECK(send(sp[1], "G", 1, 0) == 1);
        CHECK(sync_receive(sp[0], &m, &fd) == -EBADMSG);
        int32_t bogus[4] = { _SYNC_MESSAGE_TYPE_MAX, 0, 0, 0 };
        CHECK(send(sp[1], bogus, sizeof(bogus), 0) == (ssize_t) sizeof(bogus));
        CHECK(sync_receive(sp[0], &m, &fd) == -EBADMSG);

        /* EOF: the child exec'd or died. The other way round: no SIGPIPE, -EPIPE. */
        safe_close(sp[1]);
        CHECK(sync_receive(sp[0], &m, &fd) == 0);
        CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) == 0);
        safe_close(sp[0]);
        CHECK(sync_send(sp[1], SYNC_GO, 0, 0, NULL, -EBADF) == -EPIPE);
        safe_close(sp[1]);
}

static void test_clone_flags(void) {
        SpawnConfig c;

        spawn_config_init(&c);
        CHECK(spawn_clone_flags(&c) == (CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC));
        c.opt.private_network = true;
        CHECK(spawn_clone_flags(&c) == (CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET));
        /* The cgroup namespace comes later, from the child. */
        CHECK(!(spawn_clone_flags(&c) & CLONE_NEWCGROUP));
        spawn_config_done(&c);
}

int main(void) {
        test_round_trip();
        test_clone_flags();
        return tap_finish();
}
