/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>

#include "env-file.h"
#include "fd-util.h"
#include "macro.h"
#include "os-release.h"

int os_release_open(int rootfd) {
        static const char *const paths[] = { "/etc/os-release", "/usr/lib/os-release" };
        _cleanup_close_ int hostfd = -EBADF;
        int fd = -ENOENT;

        if (rootfd == AT_FDCWD) {
                hostfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (hostfd < 0)
                        return negative_errno();
                rootfd = hostfd;
        }
        /* Only a missing file falls back: a broken /etc/os-release is the tree's answer. */
        for (size_t i = 0; i < ELEMENTSOF(paths) && fd == -ENOENT; i++)
                fd = open_regular_in_root(rootfd, paths[i], OS_RELEASE_MAX);
        return fd;
}

int os_release_read(int rootfd, char **ret, size_t *ret_size) {
        _cleanup_close_ int fd = os_release_open(rootfd);
        if (fd < 0)
                return fd;
        return read_full_fd(fd, OS_RELEASE_MAX, ret, ret_size);
}

int os_release_parse(int rootfd, char ***ret) {
        FILE *f;
        int r = os_release_open(rootfd);
        if (r < 0)
                return r;
        r = fdopen_take(r, "re", &f);
        if (r < 0)
                return r;
        r = env_file_parse(f, ret);
        fclose(f);
        return r;
}
