/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "fd-util.h"
#include "log.h"
#include "macro.h"
#include "spawn-dev.h"

/* /dev/net/tun (VPN software) and /dev/fuse (FUSE file systems), where the host has them: the
 * device policy allows both. Same modes as the host's nodes. */
static int dev_setup_optional(int devfd) {
        static const struct {
                const char *dir, *name, *host;
                unsigned major, minor;
        } nodes[] = {
                { "net", "tun", "/dev/net/tun", 10, 200 },
                { NULL, "fuse", "/dev/fuse", 10, 229 },
        };

        for (size_t i = 0; i < ELEMENTSOF(nodes); i++) {
                struct stat st;
                if (stat(nodes[i].host, &st) < 0 || !S_ISCHR(st.st_mode) ||
                    major(st.st_rdev) != nodes[i].major || minor(st.st_rdev) != nodes[i].minor)
                        continue;
                _cleanup_close_ int dirfd = -EBADF;
                if (nodes[i].dir) {
                        if (mkdirat(devfd, nodes[i].dir, 0755) < 0 && errno != EEXIST)
                                return log_error_errno(errno, "Failed to create /dev/%s: %m", nodes[i].dir);
                        dirfd = openat(devfd, nodes[i].dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (dirfd < 0)
                                return log_error_errno(errno, "Failed to open /dev/%s: %m", nodes[i].dir);
                }
                mode_t old = umask(0);
                int r = mknodat(nodes[i].dir ? dirfd : devfd, nodes[i].name, S_IFCHR | (st.st_mode & 0666), st.st_rdev);
                umask(old);
                if (r < 0)
                        return log_error_errno(errno, "Failed to create %s in the container: %m", nodes[i].host);
        }
        return 0;
}

int dev_setup(int rootfd) {
        /* Only the harmless character devices: no disks, no /dev/mem, no kmsg. Everything else a
         * guest needs comes from the pty and devpts instance spawn sets up. */
        static const struct {
                const char *name;
                unsigned major, minor;
        } nodes[] = {
                { "null", 1, 3 }, { "zero", 1, 5 }, { "full", 1, 7 },
                { "random", 1, 8 }, { "urandom", 1, 9 }, { "tty", 5, 0 },
        };
        static const struct {
                const char *name, *target;
        } links[] = {
                { "ptmx", "pts/ptmx" },
                { "fd", "/proc/self/fd" },
                { "stdin", "/proc/self/fd/0" },
                { "stdout", "/proc/self/fd/1" },
                { "stderr", "/proc/self/fd/2" },
        };

        int r;
        _cleanup_close_ int devfd = open_in_root(rootfd, "/dev", O_RDONLY | O_DIRECTORY, 0);
        if (devfd < 0)
                return log_error_errno(devfd, "Failed to open the container's /dev: %m");

        /* The umask must not strip the 0666 of the nodes. */
        mode_t old = umask(0);
        for (size_t i = 0; i < ELEMENTSOF(nodes); i++)
                if (mknodat(devfd, nodes[i].name, S_IFCHR | 0666, makedev(nodes[i].major, nodes[i].minor)) < 0) {
                        umask(old);
                        return log_error_errno(errno, "Failed to create /dev/%s: %m", nodes[i].name);
                }
        umask(old);

        r = dev_setup_optional(devfd);
        if (r < 0)
                return r;

        for (size_t i = 0; i < ELEMENTSOF(links); i++)
                if (symlinkat(links[i].target, devfd, links[i].name) < 0)
                        return log_error_errno(errno, "Failed to create /dev/%s: %m", links[i].name);
        return 0;
}
