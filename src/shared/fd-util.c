/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "fd-util.h"
#include "macro.h"
#include "parse-util.h"
#include "strv.h"

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

#define MAX_SYMLINK_HOPS 40

static int mkdir_p_in_root_internal(int rootfd, const char *path, mode_t mode, unsigned hops);

/* A missing component that is a dangling symlink: create what it points to, inside the root,
 * and continue with the rest of the path below it. */
static int mkdir_follow_dangling(int rootfd, int parent, const char *parent_path, const char *name,
                                 const char *rest, mode_t mode, unsigned hops) {
        char target[PATH_MAX];
        struct stat st;

        if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return negative_errno();
        if (!S_ISLNK(st.st_mode))
                return -ENOTDIR;
        if (hops >= MAX_SYMLINK_HOPS)
                return -ELOOP;
        ssize_t n = readlinkat(parent, name, target, sizeof(target) - 1);
        if (n < 0)
                return negative_errno();
        target[n] = 0;

        /* Absolute targets are relative to the root, relative ones to the link's directory;
         * ".." cannot climb above the root because open_in_root() resolves it there. */
        _cleanup_free_ char *next = target[0] == '/' ? strjoin(target, "/", rest)
                                                     : strjoin(parent_path, "/", target, "/", rest);
        if (!next)
                return -ENOMEM;
        return mkdir_p_in_root_internal(rootfd, next, mode, hops + 1);
}

static int mkdir_p_in_root_internal(int rootfd, const char *path, mode_t mode, unsigned hops) {
        _cleanup_free_ char *prefix = strdup(path);
        _cleanup_close_ int fd = -EBADF;
        int r;

        if (!prefix)
                return -ENOMEM;

        /* Walk component by component so every step is resolved inside the root, including symlinks
         * that point to absolute paths: those are followed relative to rootfd, never the host. */
        fd = open_in_root(rootfd, "/", O_PATH | O_DIRECTORY, 0);
        if (fd < 0)
                return fd;
        for (char *p = prefix;;) {
                while (*p == '/')
                        p++;
                if (*p == 0)
                        return TAKE_FD(fd);
                char *end = p + strcspn(p, "/");
                char saved = *end;
                *end = 0;

                int next = open_in_root(rootfd, prefix, O_PATH | O_DIRECTORY, 0);
                if (next == -ENOENT) {
                        /* Create the component in its (already resolved) parent. */
                        if (mkdirat(fd, p, mode) < 0) {
                                if (errno != EEXIST)
                                        return negative_errno();
                                /* It exists but did not resolve: a dangling symlink. */
                                char *parent_path = p > prefix ? strndup(prefix, (size_t) (p - prefix)) : strdup("/");
                                if (!parent_path)
                                        return -ENOMEM;
                                r = mkdir_follow_dangling(rootfd, fd, parent_path, p,
                                                          saved ? end + 1 : "", mode, hops);
                                free(parent_path);
                                return r;
                        }
                        next = open_in_root(rootfd, prefix, O_PATH | O_DIRECTORY, 0);
                }
                if (next < 0)
                        return next;
                safe_close(fd);
                fd = next;

                *end = saved;
                p = end;
        }
}

int mkdir_p_in_root(int rootfd, const char *path, mode_t mode) {
        return mkdir_p_in_root_internal(rootfd, path, mode, 0);
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

int open_regular_in_root(int rootfd, const char *path, size_t max) {
        return open_regular_in_root_proc(AT_FDCWD, rootfd, path, max);
}

int open_regular_in_root_proc(int procfd, int rootfd, const char *path, size_t max) {
        _cleanup_close_ int pfd = open_in_root(rootfd, path, O_PATH, 0);
        char buf[PROC_FD_PATH_MAX];
        struct stat st;

        if (pfd < 0)
                return pfd;
        if (fstat(pfd, &st) < 0)
                return negative_errno();
        if (!S_ISREG(st.st_mode))
                return -EBADMSG;
        if ((uint64_t) st.st_size > max)
                return -EFBIG;
        /* "/proc/self/fd/N" with AT_FDCWD, "self/fd/N" below any other procfd. */
        const char *reopen = fd_proc_path(pfd, buf);
        if (procfd != AT_FDCWD)
                reopen += strlen("/proc/");
        int fd = openat(procfd, reopen, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        return fd >= 0 ? fd : negative_errno();
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

/* A name for a temporary sibling of name: hidden, recognisable, unlikely to be taken. */
static void tmp_name(const char *name, char buf[static NAME_MAX + 1]) {
        uint64_t r;
        if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
                r = ((uint64_t) getpid() << 32) ^ (uint64_t) time(NULL) ^ (uint64_t) (uintptr_t) buf;
        /* Cut long names so that ".#", the name and the suffix still fit NAME_MAX. */
        snprintf(buf, NAME_MAX + 1, ".#%.200s.%016" PRIx64, name, r);
}

int write_file_atomic_at(int dirfd, const char *name, const void *data, size_t size, mode_t mode) {
        char tmp[NAME_MAX + 1];
        _cleanup_close_ int fd = -EBADF;

        /* O_EXCL: a name taken by a concurrent writer (or planted) is never written through. */
        for (int attempt = 0; fd < 0; attempt++) {
                tmp_name(name, tmp);
                fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
                if (fd < 0 && (errno != EEXIST || attempt >= 16))
                        return negative_errno();
        }
        int r = loop_write(fd, data, size);
        if (r >= 0 && fsync(fd) < 0)
                r = negative_errno();
        if (r >= 0 && renameat(dirfd, tmp, dirfd, name) < 0)
                r = negative_errno();
        if (r < 0)
                (void) unlinkat(dirfd, tmp, 0);
        return r;
}

int symlink_atomic_at(const char *target, int dirfd, const char *name) {
        char tmp[NAME_MAX + 1];

        for (int attempt = 0;; attempt++) {
                tmp_name(name, tmp);
                if (symlinkat(target, dirfd, tmp) >= 0)
                        break;
                if (errno != EEXIST || attempt >= 16)
                        return negative_errno();
        }
        if (renameat(dirfd, tmp, dirfd, name) < 0) {
                int r = negative_errno();
                (void) unlinkat(dirfd, tmp, 0);
                return r;
        }
        return 0;
}

int read_file_at(int dirfd, const char *path, size_t max, char **ret, size_t *ret_size) {
        _cleanup_close_ int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return negative_errno();
        return read_full_fd(fd, max, ret, ret_size);
}

int read_file_buffer(const char *path, char *buf, size_t size) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return negative_errno();
        ssize_t n = read(fd, buf, size - 1);
        if (n < 0)
                return negative_errno();
        buf[n] = '\0';
        return (int) n;
}

int read_full_fd(int fd, size_t max, char **ret, size_t *ret_size) {
        /* One byte more than max is read so that "exactly max bytes" and "too big" differ. */
        size_t size = 0, alloc = MIN((size_t) 4096, max + 1);
        _cleanup_free_ char *buf = malloc(alloc + 1);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                if (size == alloc) {
                        if (alloc > max)
                                return -EFBIG;
                        alloc = MIN(alloc * 2, max + 1);
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
        if (size > max)
                return -EFBIG;
        buf[size] = 0;
        if (ret_size)
                *ret_size = size;
        *ret = TAKE_PTR(buf);
        return 0;
}

int fdopen_take(int fd, const char *mode, FILE **ret) {
        FILE *f = fdopen(fd, mode);
        if (!f) {
                int r = negative_errno();
                safe_close(fd);
                return r;
        }
        *ret = f;
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

int send_data_with_fd(int sock, const void *data, size_t size, int fd) {
        union {
                struct cmsghdr cmsghdr;
                uint8_t buf[CMSG_SPACE(sizeof(int))];
        } control = {};
        struct iovec iov = { .iov_base = (void *) data, .iov_len = size };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

        if (fd >= 0) {
                mh.msg_control = &control;
                mh.msg_controllen = sizeof(control);
                struct cmsghdr *cmsg = CMSG_FIRSTHDR(&mh);
                cmsg->cmsg_level = SOL_SOCKET;
                cmsg->cmsg_type = SCM_RIGHTS;
                cmsg->cmsg_len = CMSG_LEN(sizeof(int));
                memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
        }
        return sendmsg(sock, &mh, MSG_NOSIGNAL) < 0 ? negative_errno() : 0;
}

ssize_t receive_data_with_fd(int sock, void *buf, size_t size, int flags, int *ret_fd) {
        union {
                struct cmsghdr cmsghdr;
                uint8_t buf[CMSG_SPACE(sizeof(int))];
        } control = {};
        struct iovec iov = { .iov_base = buf, .iov_len = size };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &control, .msg_controllen = sizeof(control) };

        ssize_t n;
        do
                n = recvmsg(sock, &mh, flags | MSG_CMSG_CLOEXEC);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return negative_errno();
        *ret_fd = -EBADF;
        for (struct cmsghdr *cmsg = CMSG_FIRSTHDR(&mh); cmsg; cmsg = CMSG_NXTHDR(&mh, cmsg))
                if (cmsg->cmsg_level == SOL_SOCKET && cmsg->cmsg_type == SCM_RIGHTS &&
                    cmsg->cmsg_len == CMSG_LEN(sizeof(int)))
                        memcpy(ret_fd, CMSG_DATA(cmsg), sizeof(int));
        return n;
}

static bool fd_in(int fd, const int *l, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (l[i] == fd)
                        return true;
        return false;
}

static int close_all_fds_by_proc(const int *keep, size_t n_keep) {
        DIR *d = opendir("/proc/self/fd");
        if (!d)
                return negative_errno();
        int dfd = dirfd(d);
        for (struct dirent *de; (de = readdir(d));) {
                unsigned fd;
                if (safe_atou(de->d_name, &fd) < 0 || fd < 3 || (int) fd == dfd || fd_in((int) fd, keep, n_keep))
                        continue;
                (void) close((int) fd);
        }
        closedir(d);
        return 0;
}

int fd_close_all_except(const int *keep, size_t n_keep) {
        /* Walk the gaps between kept descriptors in ascending order. */
        unsigned from = 3;
        for (;;) {
                unsigned next = ~0U;
                for (size_t i = 0; i < n_keep; i++)
                        if (keep[i] >= (int) from && (unsigned) keep[i] < next)
                                next = (unsigned) keep[i];
                unsigned to = next == ~0U ? ~0U : next - 1;
                if (next != from && syscall(SYS_close_range, from, to, 0) < 0) {
                        if (errno == ENOSYS || errno == EPERM)
                                return close_all_fds_by_proc(keep, n_keep);
                        return negative_errno();
                }
                if (next == ~0U)
                        return 0;
                from = next + 1;
        }
}
