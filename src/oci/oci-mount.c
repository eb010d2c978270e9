/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cgroup-util.h"
#include "fd-util.h"
#include "oci-fail.h"
#include "oci-mount.h"
#include "strv.h"

/* A mount's options split the way mount(2) wants them. */
typedef struct MountArgs {
        unsigned long flags;
        unsigned long propagation;  /* MS_SHARED/MS_SLAVE/MS_PRIVATE/MS_UNBINDABLE (+MS_REC) */
        char *data;                 /* the options that are not flags, comma-joined */
        bool bind;
} MountArgs;

static int mount_args_parse(const OciMount *m, MountArgs *a) {
        static const struct { const char *name; unsigned long set, clear; } flag_table[] = {
                { "ro", MS_RDONLY, 0 },      { "rw", 0, MS_RDONLY },       { "nosuid", MS_NOSUID, 0 },
                { "suid", 0, MS_NOSUID },    { "nodev", MS_NODEV, 0 },     { "dev", 0, MS_NODEV },
                { "noexec", MS_NOEXEC, 0 },  { "exec", 0, MS_NOEXEC },     { "sync", MS_SYNCHRONOUS, 0 },
                { "async", 0, MS_SYNCHRONOUS }, { "noatime", MS_NOATIME, 0 }, { "atime", 0, MS_NOATIME },
                { "nodiratime", MS_NODIRATIME, 0 }, { "relatime", MS_RELATIME, 0 },
                { "strictatime", MS_STRICTATIME, 0 }, { "mand", MS_MANDLOCK, 0 }, { "dirsync", MS_DIRSYNC, 0 },
                { "bind", MS_BIND, 0 },      { "rbind", MS_BIND | MS_REC, 0 }, { "remount", MS_REMOUNT, 0 },
        };
        static const struct { const char *name; unsigned long flags; } prop_table[] = {
                { "shared", MS_SHARED }, { "rshared", MS_SHARED | MS_REC }, { "slave", MS_SLAVE },
                { "rslave", MS_SLAVE | MS_REC }, { "private", MS_PRIVATE }, { "rprivate", MS_PRIVATE | MS_REC },
                { "unbindable", MS_UNBINDABLE }, { "runbindable", MS_UNBINDABLE | MS_REC },
        };
        *a = (MountArgs) {};
        for (char **o = m->options; o && *o; o++) {
                bool known = false;
                for (size_t k = 0; k < ELEMENTSOF(flag_table) && !known; k++)
                        if (streq(*o, flag_table[k].name)) {
                                a->flags = (a->flags | flag_table[k].set) & ~flag_table[k].clear;
                                known = true;
                        }
                for (size_t k = 0; k < ELEMENTSOF(prop_table) && !known; k++)
                        if (streq(*o, prop_table[k].name)) {
                                a->propagation = prop_table[k].flags;
                                known = true;
                        }
                /* Options of other runtimes that change nothing here are dropped rather than handed
                 * to the kernel as data it would refuse. */
                if (known || streq(*o, "tmpcopyup") || streq(*o, "copy-symlink") || streq(*o, "notmpcopyup"))
                        continue;
                char *d = a->data ? strjoin_many(a->data, ",", *o, NULL) : strdup(*o);
                if (!d)
                        return -ENOMEM;
                free(a->data);
                a->data = d;
        }
        a->bind = (a->flags & MS_BIND) || (m->type && streq(m->type, "bind"));
        if (a->bind && !m->source)
                return -EINVAL;
        return 0;
}

/* The flags a bind keeps when remounted: MS_BIND ignores everything but MS_REC at first. */
#define REMOUNT_FLAGS (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME)

static int mount_bind(int rootfd, const OciMount *m, const MountArgs *a) {
        struct stat st;
        if (stat(m->source, &st) < 0)
                return -errno;
        _cleanup_close_ int target = mount_point_in_root(rootfd, m->destination, S_ISDIR(st.st_mode), 0755);
        if (target < 0)
                return target;
        char buf[PROC_FD_PATH_MAX];
        if (mount(m->source, fd_proc_path(target, buf), NULL, MS_BIND | (a->flags & MS_REC), NULL) < 0)
                return -errno;
        if (a->flags & REMOUNT_FLAGS) {
                _cleanup_close_ int top = open_in_root(rootfd, m->destination, O_PATH | O_CLOEXEC, 0);
                if (top < 0)
                        return top;
                if (mount(NULL, fd_proc_path(top, buf), NULL, MS_BIND | MS_REMOUNT | (a->flags & REMOUNT_FLAGS), NULL) < 0)
                        return -errno;
        }
        return 0;
}

/* "cgroup" in a container that shares the host's cgroup layout: a tmpfs with the container's own
 * cgroup of each hierarchy bound into it, so it sees (and with rw may manage) only its subtree. */
static int mount_cgroup(int rootfd, const OciMount *m, const MountArgs *a) {
        CGroupHierarchy *hs = NULL;
        size_t n = 0;
        char buf[PROC_FD_PATH_MAX];
        int r = cg_enumerate(0, &hs, &n);
        if (r < 0)
                return r;
        _cleanup_close_ int target = mount_point_in_root(rootfd, m->destination, true, 0755);
        if (target < 0) {
                r = target;
                goto out;
        }
        bool unified_only = n == 1 && hs[0].unified;
        if (!unified_only && mount("tmpfs", fd_proc_path(target, buf), "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=755") < 0) {
                r = -errno;
                goto out;
        }
        for (size_t i = 0; i < n; i++) {
                const char *name = hs[i].unified ? "unified" : hs[i].controllers;
                if (startswith(name, "name="))
                        name += 5;
                _cleanup_free_ char *dest = unified_only ? strdup(m->destination) : strjoin_many(m->destination, "/", name, NULL);
                _cleanup_free_ char *src = cg_fs_path(&hs[i], hs[i].path, NULL);
                if (!dest || !src) {
                        r = -ENOMEM;
                        goto out;
                }
                _cleanup_close_ int t = mount_point_in_root(rootfd, dest, true, 0755);
                if (t < 0) {
                        r = t;
                        goto out;
                }
                if (mount(src, fd_proc_path(t, buf), NULL, MS_BIND, NULL) < 0) {
                        r = -errno;
                        goto out;
                }
                /* t is the directory below the new mount: the remount needs the mount itself. */
                _cleanup_close_ int top = open_in_root(rootfd, dest, O_PATH | O_CLOEXEC, 0);
                if (top < 0 || mount(NULL, fd_proc_path(top, buf), NULL,
                                     MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV | MS_NOEXEC | (a->flags & MS_RDONLY), NULL) < 0) {
                        r = top < 0 ? top : -errno;
                        goto out;
                }
                /* "cpu,cpuacct" is also reachable as "cpu" and "cpuacct", as on the host. */
                if (!hs[i].unified && strchr(name, ','))
                        for (char *c = strdupa(name), *tok = strtok(c, ","); tok; tok = strtok(NULL, ",")) {
                                _cleanup_free_ char *link = strjoin_many(m->destination, "/", tok, NULL);
                                _cleanup_close_ int dir = open_in_root(rootfd, m->destination, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
                                if (link && dir >= 0)
                                        (void) symlinkat(name, dir, tok);
                        }
        }
        if (!unified_only && (a->flags & MS_RDONLY)) {
                _cleanup_close_ int top = open_in_root(rootfd, m->destination, O_PATH | O_CLOEXEC, 0);
                if (top < 0 || mount(NULL, fd_proc_path(top, buf), NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=755") < 0)
                        r = top < 0 ? top : -errno;
        }
out:
        cg_hierarchies_free(hs, n);
        return r;
}

static int mount_one(int rootfd, const OciMount *m) {
        char buf[PROC_FD_PATH_MAX];
        MountArgs a;
        int r = mount_args_parse(m, &a);
        if (r < 0)
                return r;
        if (a.bind)
                r = mount_bind(rootfd, m, &a);
        else if (m->type && (streq(m->type, "cgroup") || streq(m->type, "cgroup2")))
                r = mount_cgroup(rootfd, m, &a);
        else {
                _cleanup_close_ int target = mount_point_in_root(rootfd, m->destination, true, 0755);
                if (target < 0)
                        r = target;
                else
                        r = mount(m->source ?: m->type, fd_proc_path(target, buf), m->type, a.flags & ~MS_REC, a.data) < 0 ? -errno : 0;
                /* sysfs refuses a network namespace we do not own: bind the host's, as runc does. */
                if (r == -EPERM && m->type && streq(m->type, "sysfs"))
                        r = mount("/sys", buf, NULL, MS_BIND | MS_REC, NULL) < 0 ? -errno : 0;
        }
        free(a.data);
        if (r < 0 || !a.propagation)
                return r;
        _cleanup_close_ int top = open_in_root(rootfd, m->destination, O_PATH | O_CLOEXEC, 0);
        if (top < 0)
                return top;
        return mount(NULL, fd_proc_path(top, buf), NULL, a.propagation, NULL) < 0 ? -errno : 0;
}

static int device_create(int rootfd, const char *path, char type, int64_t major, int64_t minor, mode_t mode,
                         uid_t uid, gid_t gid) {
        const char *rel = path[0] == '/' ? path + 1 : path;
        _cleanup_free_ char *dir = strdup(rel);
        if (!dir)
                return -ENOMEM;
        char *slash = strrchr(dir, '/');
        _cleanup_close_ int dirfd = -EBADF;
        if (slash) {
                *slash = 0;
                dirfd = mkdir_p_in_root(rootfd, dir, 0755);
                if (dirfd < 0)
                        return dirfd;
        }
        int at = slash ? dirfd : rootfd;
        const char *name = slash ? slash + 1 : rel;
        mode_t kind = type == 'b' ? S_IFBLK : type == 'p' ? S_IFIFO : S_IFCHR;
        (void) unlinkat(at, name, 0);
        if (mknodat(at, name, kind | (mode & 07777), makedev((unsigned) major, (unsigned) minor)) < 0) {
                /* No CAP_MKNOD, or a nodev /dev: bind the host's node instead, as runc does. */
                const char *host = path; /* an OCI device's path is the host's node too */
                _cleanup_close_ int t = -EBADF;
                char buf[PROC_FD_PATH_MAX];
                if (type == 'p' || (t = mount_point_in_root(rootfd, path, false, 0644)) < 0 ||
                    mount(host, fd_proc_path(t, buf), NULL, MS_BIND, NULL) < 0)
                        return t < 0 ? t : -errno;
                return 0;
        }
        if (fchownat(at, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
                return -errno;
        return 0;
}

static int dev_populate(int rootfd, const OciConfig *s) {
        static const struct { const char *path; unsigned major, minor; } defaults[] = {
                { "/dev/null", 1, 3 }, { "/dev/zero", 1, 5 },    { "/dev/full", 1, 7 },
                { "/dev/random", 1, 8 }, { "/dev/urandom", 1, 9 }, { "/dev/tty", 5, 0 },
        };
        static const char *const links[][2] = {
                { "/proc/self/fd", "fd" },     { "/proc/self/fd/0", "stdin" },
                { "/proc/self/fd/1", "stdout" }, { "/proc/self/fd/2", "stderr" },
                { "pts/ptmx", "ptmx" },        { "/proc/kcore", "core" },
        };
        int r;
        for (size_t i = 0; i < ELEMENTSOF(defaults); i++) {
                r = device_create(rootfd, defaults[i].path, 'c', defaults[i].major, defaults[i].minor, 0666, 0, 0);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < s->n_devices; i++) {
                const OciDeviceNode *d = &s->devices[i];
                r = device_create(rootfd, d->path, d->type, d->major, d->minor, d->has_file_mode ? d->file_mode : 0666,
                                  d->has_uid ? d->uid : 0, d->has_gid ? d->gid : 0);
                if (r < 0)
                        return r;
        }
        _cleanup_close_ int dev = open_in_root(rootfd, "/dev", O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
        if (dev < 0)
                return dev;
        for (size_t i = 0; i < ELEMENTSOF(links); i++) {
                /* /dev/ptmx may be a node the tree ships: replace it so it reaches our devpts. */
                (void) unlinkat(dev, links[i][1], 0);
                if (symlinkat(links[i][0], dev, links[i][1]) < 0 && errno != EEXIST)
                        return -errno;
        }
        return 0;
}

int oci_rootfs_prepare(const OciConfig *s, const char *rootfs, char **ret_error) {
        unsigned long prop = MS_SLAVE | MS_REC;
        int r;
        if (s->rootfs_propagation)
                prop = streq(s->rootfs_propagation, "shared") || streq(s->rootfs_propagation, "rshared") ? MS_SHARED | MS_REC :
                       streq(s->rootfs_propagation, "private") || streq(s->rootfs_propagation, "rprivate") ? MS_PRIVATE | MS_REC :
                       MS_SLAVE | MS_REC;
        /* Slave first: nothing we mount may propagate back to the host. */
        if (mount(NULL, "/", NULL, MS_SLAVE | MS_REC, NULL) < 0)
                return fail(ret_error, -errno, "Failed to make / a slave mount%s: %s", NULL);
        if (mount(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
                return fail(ret_error, -errno, "Failed to bind the root %s onto itself: %s", rootfs);
        _cleanup_close_ int rootfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0)
                return fail(ret_error, -errno, "Failed to open the root %s: %s", rootfs);
        bool have_dev = false;
        for (size_t i = 0; i < s->n_mounts; i++) {
                r = mount_one(rootfd, &s->mounts[i]);
                if (r < 0)
                        return fail(ret_error, r, "Failed to mount %s in the container: %s", s->mounts[i].destination);
                if (streq(s->mounts[i].destination, "/dev"))
                        have_dev = true;
        }
        if (have_dev) {
                r = dev_populate(rootfd, s);
                if (r < 0)
                        return fail(ret_error, r, "Failed to populate /dev%s: %s", NULL);
        }
        if (prop != (MS_SLAVE | MS_REC) && mount(NULL, rootfs, NULL, prop, NULL) < 0)
                return fail(ret_error, -errno, "Failed to set the root's propagation to %s: %s", s->rootfs_propagation);
        return 0;
}

int oci_rootfs_enter(const char *root, bool no_pivot, char **ret_error) {
        if (chdir(root) < 0)
                return fail(ret_error, -errno, "Failed to enter %s: %s", root);
        if (no_pivot) {
                if (mount(root, "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0)
                        return fail(ret_error, -errno, "Failed to move the root over /%s: %s", NULL);
        } else {
                /* pivot_root(".", "."): the old root ends up on top of the new one, then goes. */
                if (syscall(SYS_pivot_root, ".", ".") < 0)
                        return fail(ret_error, -errno, "pivot_root into %s failed: %s", root);
                if (umount2(".", MNT_DETACH) < 0)
                        return fail(ret_error, -errno, "Failed to detach the old root%s: %s", NULL);
        }
        if (chdir("/") < 0)
                return fail(ret_error, -errno, "chdir(\"/\") failed%s: %s", NULL);
        return 0;
}

static int mask_path(const char *path) {
        struct stat st;
        if (stat(path, &st) < 0)
                return errno == ENOENT ? 0 : -errno;
        if (S_ISDIR(st.st_mode))
                return mount("tmpfs", path, "tmpfs", MS_RDONLY, "size=0") < 0 ? -errno : 0;
        return mount("/dev/null", path, NULL, MS_BIND, NULL) < 0 ? -errno : 0;
}

static int readonly_path(const char *path) {
        if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0)
                return errno == ENOENT ? 0 : -errno;
        return mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC, NULL) < 0 ? -errno : 0;
}

static int sysctl_apply(char * const *pairs) {
        for (size_t i = 0; pairs && pairs[i] && pairs[i + 1]; i += 2) {
                _cleanup_free_ char *path = strjoin_many("/proc/sys/", pairs[i], NULL);
                if (!path)
                        return -ENOMEM;
                for (char *p = path + strlen("/proc/sys/"); *p; p++)
                        if (*p == '.')
                                *p = '/';
                _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
                if (fd < 0 || loop_write(fd, pairs[i + 1], strlen(pairs[i + 1])) < 0)
                        return -errno;
        }
        return 0;
}

int oci_rootfs_finish(const OciConfig *s, char **ret_error) {
        int r;
        /* Before readonlyPaths, which usually holds /proc/sys. */
        if (s->sysctl) {
                r = sysctl_apply(s->sysctl);
                if (r < 0)
                        return fail(ret_error, r, "Failed to apply linux.sysctl%s: %s", NULL);
        }
        for (char **p = s->readonly_paths; p && *p; p++) {
                r = readonly_path(*p);
                if (r < 0)
                        return fail(ret_error, r, "Failed to make %s read-only: %s", *p);
        }
        for (char **p = s->masked_paths; p && *p; p++) {
                r = mask_path(*p);
                if (r < 0)
                        return fail(ret_error, r, "Failed to mask %s: %s", *p);
        }
        if (s->root_readonly && mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0)
                return fail(ret_error, -errno, "Failed to make the root read-only%s: %s", NULL);
        return 0;
}
