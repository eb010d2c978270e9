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

        for (size_t i = 0; i < ELEMENTSOF(links); i++)
                if (symlinkat(links[i].target, devfd, links[i].name) < 0)
                        return log_error_errno(errno, "Failed to create /dev/%s: %m", links[i].name);
        return 0;
}
