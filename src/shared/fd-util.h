/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#define PROC_FD_PATH_MAX (sizeof("/proc/self/fd/") + 12)
/* "/proc/self/fd/N": lets path-based APIs (mount(2)) act on an fd we resolved safely. */
char *fd_proc_path(int fd, char buf[static PROC_FD_PATH_MAX]);

/* Opens path below rootfd as if rootfd were "/": absolute symlinks and ".." cannot leave it
 * (openat2 RESOLVE_IN_ROOT), and magic /proc links are refused. The container tree is untrusted. */
int open_in_root(int rootfd, const char *path, int flags, mode_t mode);

/* mkdir -p below rootfd with the same containment; returns an O_PATH|O_DIRECTORY fd of the
 * result. Components that exist are followed (within the root); missing ones get mode. */
int mkdir_p_in_root(int rootfd, const char *path, mode_t mode);

/* Makes sure path exists below rootfd as a directory (directory=true) or regular file, creating
 * parents, and returns an O_PATH fd to it, suitable as a mount target via fd_proc_path(). */
int mount_point_in_root(int rootfd, const char *path, bool directory, mode_t mode);

/* Opens a regular file below rootfd for reading (resolved as open_in_root() does), at most max
 * bytes big. O_PATH first, so a FIFO or device planted in an untrusted tree is never opened (no
 * side effects, no blocking). -EBADMSG if it is not a regular file, -EFBIG if too big. */
int open_regular_in_root(int rootfd, const char *path, size_t max);
/* The same, reopening through procfd, an fd of a /proc that shows this process (AT_FDCWD: the one
 * at /proc). For a process that has entered a guest's mount namespace, whose /proc is the guest's
 * and does not know us. */
int open_regular_in_root_proc(int procfd, int rootfd, const char *path, size_t max);

/* Writes the whole buffer, retrying on EINTR and short writes. */
int loop_write(int fd, const void *buf, size_t n);
/* Creates (O_EXCL unless replace) name in dirfd without following symlinks and writes data. */
int write_file_at(int dirfd, const char *name, const char *data, mode_t mode);
/* Replaces name in dirfd with size bytes of data so that readers see the old or the new content,
 * never a mix, and a crash leaves one of them: written to a temporary file in the same directory,
 * fsync()ed, renamed over name. A symlink at name is replaced, never written through. */
int write_file_atomic_at(int dirfd, const char *name, const void *data, size_t size, mode_t mode);
/* Points the symlink name in dirfd at target, replacing whatever was there in one rename. */
int symlink_atomic_at(const char *target, int dirfd, const char *name);
/* Reads at most max bytes of a file into a NUL-terminated buffer. */
int read_file_at(int dirfd, const char *path, size_t max, char **ret, size_t *ret_size);
/* The same for an fd open for reading, from its current position; -EFBIG beyond max. */
int read_full_fd(int fd, size_t max, char **ret, size_t *ret_size);
/* One read() of at most size - 1 bytes of path into buf, NUL-terminated: for /proc and sysfs
 * files, which answer whole in one read. Returns the length read or -errno. */
int read_file_buffer(const char *path, char *buf, size_t size);

/* fdopen() that takes fd over: on failure fd is closed too, so the caller owns nothing then. */
int fdopen_take(int fd, const char *mode, FILE **ret);

int fd_set_nonblock(int fd, bool nonblock);
/* Moves fd to fd number `to` (dup2 then close), clearing O_CLOEXEC on the result. */
int fd_move_to(int fd, int to);

/* Sends size bytes of data and, if fd >= 0, fd with SCM_RIGHTS over a unix socket. */
int send_data_with_fd(int sock, const void *data, size_t size, int fd);
/* Receives up to size bytes and an fd (-EBADF in *ret_fd if none came; O_CLOEXEC). The byte count
 * (0 on EOF) or -errno; flags as for recvmsg(), e.g. MSG_DONTWAIT. */
ssize_t receive_data_with_fd(int sock, void *buf, size_t size, int flags, int *ret_fd);

/* Closes every descriptor >= 3 except those in keep[] (unsorted, duplicates fine): what a
 * process inherited without asking must not reach what it starts. close_range() where the
 * kernel has it, else /proc/self/fd. */
int fd_close_all_except(const int *keep, size_t n_keep);
