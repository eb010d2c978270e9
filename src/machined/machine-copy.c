/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Copying files into and out of a running machine: see machine-copy.h. */
#include <dirent.h>
#include <linux/mount.h>
#include <sched.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fd-util.h"
#include "log.h"
#include "machine-copy.h"
#include "rm-rf.h"
#include "macro.h"
#include "operation.h"
#include "parse-util.h"
#include "process-util.h"

#define COPY_DEPTH_MAX 256

/* The directory holding path and its last component, path resolved below rootfd (or on the host
 * for rootfd < 0). "/" itself has no parent: -EINVAL. */
static int open_parent(int rootfd, const char *path, char **ret_base) {
        _cleanup_free_ char *copy = strdup(path);
        if (!copy)
                return -ENOMEM;
        size_t n = strlen(copy);
        while (n > 1 && copy[n - 1] == '/')
                copy[--n] = 0;
        char *slash = strrchr(copy, '/');
        if (!slash || !slash[1])
                return -EINVAL;
        char *base = strdup(slash + 1);
        if (!base)
                return -ENOMEM;
        slash[slash == copy ? 1 : 0] = 0;
        int fd = rootfd >= 0 ? open_in_root(rootfd, copy, O_RDONLY | O_DIRECTORY, 0)
                             : open(copy, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) {
                int r = fd == -1 ? negative_errno() : fd;
                free(base);
                return r;
        }
        *ret_base = base;
        return fd;
}

static int copy_bytes(int in, int out) {
        char buf[64 * 1024];
        for (;;) {
                ssize_t n = copy_file_range(in, NULL, out, NULL, SSIZE_MAX, 0);
                if (n == 0)
                        return 0;
                if (n > 0)
                        continue;
                if (errno != EXDEV && errno != EINVAL && errno != EOPNOTSUPP && errno != ENOSYS)
                        return negative_errno();
                break;
        }
        for (;;) {
                ssize_t n = read(in, buf, sizeof(buf));
                if (n < 0)
                        return negative_errno();
                if (n == 0)
                        return 0;
                if (loop_write(out, buf, (size_t) n) < 0)
                        return negative_errno();
        }
}

/* owner: who everything copied is owned by, or NULL to keep the source's owners. */
static int copy_node(int sdir, const char *sname, int ddir, const char *dname, const uid_t *owner, unsigned depth);

static int copy_dir_entries(int sfd, int dfd, const uid_t *owner, unsigned depth) {
        int dup_fd = fcntl(sfd, F_DUPFD_CLOEXEC, 3);
        if (dup_fd < 0)
                return negative_errno();
        DIR *d = fdopendir(dup_fd);
        if (!d) {
                safe_close(dup_fd);
                return -ENOMEM;
        }
        int r = 0;
        for (struct dirent *de; r >= 0 && (de = readdir(d));)
                if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                        r = copy_node(sfd, de->d_name, dfd, de->d_name, owner, depth + 1);
        closedir(d);
        return r;
}

/* Copies one entry, never following a symlink in the source or the destination. */
static int copy_node(int sdir, const char *sname, int ddir, const char *dname, const uid_t *owner, unsigned depth) {
        struct stat st;
        int r;

        if (depth > COPY_DEPTH_MAX)
                return -ELOOP;
        if (fstatat(sdir, sname, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return negative_errno();

        if (S_ISLNK(st.st_mode)) {
                char target[PATH_MAX];
                ssize_t n = readlinkat(sdir, sname, target, sizeof(target) - 1);
                if (n < 0)
                        return negative_errno();
                target[n] = 0;
                if (symlinkat(target, ddir, dname) < 0)
                        return negative_errno();
                (void) fchownat(ddir, dname, owner ? *owner : st.st_uid, owner ? *owner : st.st_gid, AT_SYMLINK_NOFOLLOW);
                return 0;
        }
        if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
                return 0; /* devices, FIFOs, sockets: not ours to recreate */

        _cleanup_close_ int sfd = openat(sdir, sname, (S_ISDIR(st.st_mode) ? O_DIRECTORY : 0) | O_RDONLY | O_NOFOLLOW |
                                                              O_NOCTTY | O_CLOEXEC);
        if (sfd < 0)
                return negative_errno();
        _cleanup_close_ int dfd = -EBADF;
        if (S_ISDIR(st.st_mode)) {
                if (mkdirat(ddir, dname, 0700) < 0)
                        return negative_errno();
                dfd = openat(ddir, dname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (dfd < 0)
                        return negative_errno();
                r = copy_dir_entries(sfd, dfd, owner, depth);
        } else {
                dfd = openat(ddir, dname, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
                if (dfd < 0)
                        return negative_errno();
                r = copy_bytes(sfd, dfd);
        }
        if (r < 0)
                return r;
        (void) fchown(dfd, owner ? *owner : st.st_uid, owner ? *owner : st.st_gid);
        if (fchmod(dfd, st.st_mode & 07777) < 0)
                return negative_errno();
        struct timespec ts[2] = { st.st_atim, st.st_mtim };
        (void) futimens(dfd, ts);
        return 0;
}

typedef struct CopyChildArgs {
        const CopyRequest *req;
        pid_t leader;
        int leader_pidfd;
        uid_t uid_shift;
} CopyChildArgs;

static _noreturn_ void copy_child(int sock, void *userdata) {
        const CopyChildArgs *a = userdata;
        const CopyRequest *req = a->req;
        _cleanup_free_ char *sbase = NULL, *dbase = NULL;
        char path[64];
        struct stat st;

        snprintf(path, sizeof(path), "/proc/%i/root", (int) a->leader);
        int rootfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0 || pidfd_signal(a->leader_pidfd, 0) < 0)
                operation_report_failure(sock, -ESRCH, "Machine is going away.");

        const char *where_src = req->to_machine ? "on the host" : "in the machine";
        const char *where_dest = req->to_machine ? "in the machine" : "on the host";
        int sdir = open_parent(req->to_machine ? -1 : rootfd, req->src, &sbase);
        if (sdir < 0 || fstatat(sdir, sbase, &st, AT_SYMLINK_NOFOLLOW) < 0)
                operation_report_failure(sock, sdir < 0 ? sdir : negative_errno(), "Cannot copy %s %s: %m",
                                         req->src, where_src);
        int ddir = open_parent(req->to_machine ? rootfd : -1, req->dest, &dbase);
        if (ddir < 0)
                operation_report_failure(sock, ddir, "Cannot copy to %s %s: %m", req->dest, where_dest);
        if (fstatat(ddir, dbase, &st, AT_SYMLINK_NOFOLLOW) >= 0) {
                if (!req->replace)
                        operation_report_failure(sock, -EEXIST, "%s exists already %s.", req->dest, where_dest);
                int r = rm_rf_at(ddir, dbase); /* never into another file system: a bind mount stays */
                if (r < 0)
                        operation_report_failure(sock, r, "Cannot replace %s %s: %m", req->dest, where_dest);
        }
        /* As systemd-machined: for a machine with a user namespace everything copied in belongs to
         * its root (the shift on the host), everything copied out to the host's root; the IDs in
         * one namespace mean nothing in the other. Without one, owners are kept. */
        uid_t owner = req->to_machine ? a->uid_shift : 0;
        int r = copy_node(sdir, sbase, ddir, dbase, a->uid_shift != 0 ? &owner : NULL, 0);
        if (r < 0) {
                (void) rm_rf_at(ddir, dbase); /* nothing left behind */
                operation_report_failure(sock, r, "Failed to copy %s to %s: %m", req->src, req->dest);
        }
        _exit(operation_report_result(sock, -EBADF, NULL) < 0 ? EXIT_FAILURE : EXIT_SUCCESS);
}

int machine_copy(Machine *m, const CopyRequest *req, PendingReply *reply, Failure *f) {
        Operation *o;

        if (!req->src || req->src[0] != '/')
                return failure_set_parameter(f, -EINVAL, "source", "Source path '%s' is not absolute", req->src ?: "");
        if (!req->dest || req->dest[0] != '/')
                return failure_set_parameter(f, -EINVAL, "destination", "Destination path '%s' is not absolute",
                                             req->dest ?: "");
        if (m->class != MACHINE_CONTAINER)
                return failure_set(f, -EOPNOTSUPP, "Copying files is only supported on container machines.");
        if (pidref_is_alive(&m->leader) <= 0)
                return failure_set(f, -ESRCH, "Machine %s is going away.", m->name);

        uid_t shift;
        int r = machine_get_uid_shift(m, &shift);
        if (r == -ESRCH)
                return failure_set(f, r, "Machine %s is going away.", m->name);
        if (r < 0)
                return failure_set(f, r, "Failed to acquire the UID shift of machine %s: %m", m->name);
        CopyChildArgs args = { .req = req, .leader = m->leader.pid, .leader_pidfd = m->leader.fd, .uid_shift = shift };
        r = operation_start(m->manager, m, req->to_machine ? "copy-to" : "copy-from", copy_child, &args, reply, f, &o);
        if (r < 0)
                return r;
        o->cancel_with_machine = true;
        return 0;
}

typedef struct BindChildArgs {
        const BindRequest *req;
        pid_t leader;
        int leader_pidfd;
} BindChildArgs;

static _noreturn_ void bind_child(int sock, void *userdata) {
        const BindChildArgs *a = userdata;
        const BindRequest *req = a->req;
        char path[64];
        struct stat st, dt;

        int tree = (int) syscall(SYS_open_tree, AT_FDCWD, req->src, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
        if (tree < 0 || fstat(tree, &st) < 0)
                operation_report_failure(sock, negative_errno(), "Cannot bind %s from the host: %m", req->src);
        if (req->read_only) {
                struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY };
                if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) < 0)
                        operation_report_failure(sock, negative_errno(), "Failed to make %s read-only: %m", req->src);
        }

        snprintf(path, sizeof(path), "/proc/%i/root", (int) a->leader);
        int rootfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        snprintf(path, sizeof(path), "/proc/%i/ns/mnt", (int) a->leader);
        int nsfd = open(path, O_RDONLY | O_CLOEXEC);
        if (rootfd < 0 || nsfd < 0 || pidfd_signal(a->leader_pidfd, 0) < 0)
                operation_report_failure(sock, -ESRCH, "Machine is going away.");
        if (setns(nsfd, CLONE_NEWNS) < 0)
                operation_report_failure(sock, negative_errno(), "Failed to enter the machine's mount namespace: %m");

        int target = open_in_root(rootfd, req->dest, O_PATH | O_NOFOLLOW, 0);
        if (target == -ENOENT && req->mkdir) {
                if (S_ISDIR(st.st_mode))
                        target = mkdir_p_in_root(rootfd, req->dest, 0755);
                else
                        target = mount_point_in_root(rootfd, req->dest, false, 0644);
        }
        if (target < 0)
                operation_report_failure(sock, target, "Cannot bind onto %s in the machine: %m%s", req->dest,
                                         target == -ENOENT ? " (--mkdir creates it)" : "");
        if (fstat(target, &dt) < 0)
                operation_report_failure(sock, negative_errno(), "Cannot bind onto %s in the machine: %m", req->dest);
        if (S_ISDIR(st.st_mode) != S_ISDIR(dt.st_mode))
                operation_report_failure(sock, S_ISDIR(st.st_mode) ? -ENOTDIR : -EISDIR,
                                         "Cannot bind %s onto %s in the machine: %s", req->src, req->dest,
                                         S_ISDIR(st.st_mode) ? "not a directory" : "a directory");
        if (syscall(SYS_move_mount, tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
                operation_report_failure(sock, negative_errno(), "Failed to mount %s on %s in the machine: %m", req->src,
                                         req->dest);
        _exit(operation_report_result(sock, -EBADF, NULL) < 0 ? EXIT_FAILURE : EXIT_SUCCESS);
}

int machine_bind_mount(Machine *m, const BindRequest *req, PendingReply *reply, Failure *f) {
        Operation *o;

        if (!req->src || req->src[0] != '/')
                return failure_set_parameter(f, -EINVAL, "source", "Source path '%s' is not absolute", req->src ?: "");
        if (!req->dest || req->dest[0] != '/' || !path_is_normalized_absolute(req->dest))
                return failure_set_parameter(f, -EINVAL, "destination", "Destination path '%s' is not a normalized absolute path",
                                             req->dest ?: "");
        if (m->class != MACHINE_CONTAINER)
                return failure_set(f, -EOPNOTSUPP, "Bind mounting is only supported on container machines.");
        if (pidref_is_alive(&m->leader) <= 0)
                return failure_set(f, -ESRCH, "Machine %s is going away.", m->name);

        BindChildArgs args = { .req = req, .leader = m->leader.pid, .leader_pidfd = m->leader.fd };
        int r = operation_start(m->manager, m, "bind", bind_child, &args, reply, f, &o);
        if (r < 0)
                return r;
        o->cancel_with_machine = true;
        return 0;
}
