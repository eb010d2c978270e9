/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "fd-util.h"
#include "macro.h"
#include "spawn-selinux.h"

#define SELINUX_MAGIC 0xf97cff8cU
/* The kernel refuses longer contexts on write to attr files anyway (one page). */
#define SELINUX_CONTEXT_MAX 4095

bool selinux_context_is_valid(const char *context) {
        size_t colons = 0, n;

        if (!context)
                return false;
        n = strlen(context);
        if (n == 0 || n > SELINUX_CONTEXT_MAX)
                return false;
        /* It ends up inside context="..." mount options: no quotes, no separators of its own
         * beyond the commas of a category list, which the quotes protect. */
        for (const char *p = context; *p; p++) {
                if (*p == ':')
                        colons++;
                else if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-,^", *p))
                        return false;
        }
        /* user:role:type, an MLS/MCS range adds more colons (s0-s0:c0.c1023). */
        return colons >= 2 && context[0] != ':' && context[n - 1] != ':' && !strstr(context, "::");
}

bool selinux_host_enabled(void) {
        struct statfs sfs;

        return statfs(SELINUXFS_PATH, &sfs) >= 0 && (unsigned) sfs.f_type == SELINUX_MAGIC;
}

static int write_all_once(const char *path, const char *data) {
        _cleanup_close_ int fd = open(path, O_RDWR | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        size_t n = strlen(data);
        /* Both interfaces take the whole context in one write; the kernel parses it at once. */
        ssize_t k = write(fd, data, n);
        if (k < 0)
                return -errno;
        return (size_t) k == n ? 0 : -EIO;
}

int selinux_context_check(const char *context) {
        return write_all_once(SELINUXFS_PATH "/context", context);
}

int selinux_set_exec_context(const char *context) {
        /* thread-self: the exec label is per thread. Our /proc is the container's by now, which
         * is fine: we are in its PID namespace. */
        int r = write_all_once("/proc/thread-self/attr/exec", context);
        return r == -ENOENT ? write_all_once("/proc/self/attr/exec", context) : r;
}
