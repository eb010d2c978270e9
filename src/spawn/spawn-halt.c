/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "fd-util.h"
#include "macro.h"
#include "spawn-halt.h"

/* The request format of sysvinit's initreq.h (public ABI of /run/initctl). */
#define INIT_MAGIC 0x03091969
#define INIT_CMD_RUNLVL 1

struct init_request {
        int32_t magic;
        int32_t cmd;
        int32_t runlevel;
        int32_t sleeptime;
        char data[368];
};

int halt_request_initctl(pid_t init_pid, char runlevel) {
        char root[64];
        struct stat st;
        struct init_request req = {
                .magic = INIT_MAGIC,
                .cmd = INIT_CMD_RUNLVL,
                .runlevel = runlevel,
                .sleeptime = 5,
        };

        /* The container's root as its init sees it; the FIFO is resolved inside it so a guest
         * symlink cannot point us at a host file. */
        snprintf(root, sizeof(root), "/proc/%i/root", (int) init_pid);
        _cleanup_close_ int rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0)
                return negative_errno();
        _cleanup_close_ int fd = open_in_root(rootfd, "/run/initctl", O_WRONLY | O_NONBLOCK | O_NOCTTY, 0);
        if (fd < 0)
                fd = open_in_root(rootfd, "/dev/initctl", O_WRONLY | O_NONBLOCK | O_NOCTTY, 0);
        if (fd < 0)
                return fd;
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (!S_ISFIFO(st.st_mode))
                return -ENOTSUP;
        return loop_write(fd, &req, sizeof(req));
}
