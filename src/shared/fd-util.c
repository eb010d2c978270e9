/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fd-util.h"
#include "macro.h"

char *fd_proc_path(int fd, char buf[static PROC_FD_PATH_MAX]) {
        snprintf(buf, PROC_FD_PATH_MAX, "/proc/self/fd/%i", fd);
        return buf;
}

int open_in_root(int rootfd, const char *path, int flags, mode_t mode) {
        struct open_how how = {
                .flags = (uint64_t) (flags | O_CLOEXEC),
                .mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0,
                .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
        };
        int fd;

        /* openat2() returns EAGAIN when a concurrent rename raced the lookup; retry a few times. */
        for (int i = 0; i < 8; i++) {
                fd = (int) syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
                if (fd >= 0 || errno != EAGAIN)
                        break;
        }
        return fd >= 0 ? fd : negative_errno();
}

int mkdir_p_in_root(int rootfd, const char *path, mode_t mode) {
        _cleanup_free_ char *prefix = strdup(path);
        int fd;

        if (!prefix)
                return -ENOMEM;

        /* Walk component by component so every step is resolved inside the root, including symlinks
         * that point to absolute paths: those are followed relative to rootfd, never the host. */
        for (char *p = prefix;;) {
                while (*p == '/')
                        p++;
                char *end = p + strcspn(p, "/");
                bool last = *end == 0;
                char saved = *end;
                *end = 0;

                if (*p != 0) {
                        fd = open_in_root(rootfd, prefix, O_PATH | O_DIRECTORY, 0);
                        if (fd == -ENOENT) {
                                /* Create the component in its (already resolved) parent. */
                                char *slash = strrchr(prefix, '/');
                                _cleanup_close_ int parent = -EBADF;
                                if (slash && slash != prefix) {
                                        *slash = 0;
                                        parent = open_in_root(rootfd, prefix, O_PATH | O_DIRECTORY, 0);
                                        *slash = '/';
                                } else
                                        parent = open_in_root(rootfd, "/", O_PATH | O_DIRECTORY, 0);
                                if (parent < 0)
                                        return parent;
                                if (mkdirat(parent, slash ? slash + 1 : prefix, mode) < 0 && errno != EEXIST)
                                        return negative_errno();
                                fd = open_in_root(rootfd, prefix, O_PATH | O_DIRECTORY, 0);
                        }
                        if (fd < 0)
                                return fd;
                        if (last)
                                return fd;
                        safe_close(fd);
                } else if (last)
                        return open_in_root(rootfd, "/", O_PATH | O_DIRECTORY, 0);

                *end = saved;
                p = end;
        }
}

int mount_point_in_root(int rootfd, const char *path, bool directory, mode_t mode) {
        if (directory)
                return mkdir_p_in_root(rootfd, path, mode);

        int fd = open_in_root(rootfd, path, O_PATH, 0);
        if (fd != -ENOENT)
                return fd;

        _cleanup_free_ char *parent_path = strdup(path);
        if (!parent_path)
                return -ENOMEM;
        char *slash = strrchr(parent_path, '/');
        const char *name = slash ? slash + 1 : parent_path;
        if (isempty(name) || streq(name, ".") || streq(name, ".."))
                return -EINVAL;
        if (slash)
                *slash = 0;

        _cleanup_close_ int parent = mkdir_p_in_root(rootfd, slash ? (isempty(parent_path) ? "/" : parent_path) : "/", 0755);
        if (parent < 0)
                return parent;
        _cleanup_close_ int dfd = openat(parent, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return negative_errno();
        /* O_NOFOLLOW|O_EXCL: a symlink planted as the last component is not followed out. */
        fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
        if (fd < 0 && errno != EEXIST)
                return negative_errno();
        safe_close(fd);
        return open_in_root(rootfd, path, O_PATH, 0);
}

int loop_write(int fd, const void *buf, size_t n) {
        const char *p = buf;
        while (n > 0) {
                ssize_t k = write(fd, p, n);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (k == 0)
                        return -EIO;
                p += k;
                n -= (size_t) k;
        }
        return 0;
}

int write_file_at(int dirfd, const char *name, const char *data, mode_t mode) {
        _cleanup_close_ int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
        if (fd < 0)
                return negative_errno();
        return loop_write(fd, data, strlen(data));
}

int read_file_at(int dirfd, const char *path, size_t max, char **ret, size_t *ret_size) {
        _cleanup_close_ int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return negative_errno();

        size_t size = 0, alloc = 4096;
        _cleanup_free_ char *buf = malloc(alloc + 1);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                if (size == alloc) {
                        if (alloc >= max)
                                return -EFBIG;
                        alloc = MIN(alloc * 2, max);
                        char *b = realloc(buf, alloc + 1);
                        if (!b)
                                return -ENOMEM;
                        buf = b;
                }
                ssize_t k = read(fd, buf + size, alloc - size);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (k == 0)
                        break;
                size += (size_t) k;
        }
        buf[size] = 0;
        if (ret_size)
                *ret_size = size;
        *ret = TAKE_PTR(buf);
        return 0;
}

int fd_set_nonblock(int fd, bool nonblock) {
        int flags = fcntl(fd, F_GETFL);
        if (flags < 0)
                return negative_errno();
        flags = nonblock ? flags | O_NONBLOCK : flags & ~O_NONBLOCK;
        return fcntl(fd, F_SETFL, flags) < 0 ? negative_errno() : 0;
}

int fd_move_to(int fd, int to) {
        if (fd == to) {
                int flags = fcntl(fd, F_GETFD);
                if (flags < 0 || fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC) < 0)
                        return negative_errno();
                return to;
        }
        if (dup2(fd, to) < 0)
                return negative_errno();
        safe_close(fd);
        return to;
}
