/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fd-util.h"
#include "log.h"
#include "parse-util.h"
#include "spawn-cgroup.h"
#include "spawn-dev.h"
#include "spawn-etc.h"
#include "spawn-mount.h"
#include "spawn-oci.h"
#include "spawn-options.h"
#include "spawn-userns.h"

void custom_mount_free_all(CustomMount *l, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(l[i].source);
                free(l[i].destination);
                free(l[i].options);
        }
        free(l);
}

int custom_mount_append(CustomMount **l, size_t *n, CustomMount *m) {
        CustomMount *a = realloc(*l, sizeof(CustomMount) * (*n + 1));
        if (!a) {
                free(m->source);
                free(m->destination);
                free(m->options);
                return -ENOMEM;
        }
        a[(*n)++] = *m;
        *l = a;
        *m = (CustomMount) {};
        return 0;
}

int custom_mount_parse_bind(const char *spec, bool read_only, CustomMount *ret) {
        _cleanup_strv_free_ char **f = NULL;
        bool recursive = true;
        MountIdmap idmap = MOUNT_IDMAP_NONE;
        int r;

        r = split_colon_escaped(spec, 3, &f);
        if (r < 0)
                return r;

        const char *src = f[0], *dst = f[1] && !isempty(f[1]) ? f[1] : NULL;
        if (isempty(src))
                return -EINVAL;
        if (src[0] == '+') {
                /* "+/path": relative to the container tree, and still a clean absolute path. */
                if (!path_is_normalized_absolute(src + 1))
                        return -EINVAL;
                if (!dst)
                        dst = src + 1;
        } else if (!path_is_normalized_absolute(src))
                return -EINVAL;
        if (!dst)
                dst = src;
        if (!path_is_normalized_absolute(dst))
                return -EINVAL;

        if (f[1] && f[2]) {
                _cleanup_free_ char *opts = strdup(f[2]);
                if (!opts)
                        return -ENOMEM;
                for (char *o = strtok(opts, ","); o; o = strtok(NULL, ","))
                        if (streq(o, "rbind"))
                                recursive = true;
                        else if (streq(o, "norbind"))
                                recursive = false;
                        else if ((r = mount_idmap_from_string(o)) >= 0)
                                idmap = r;
                        else
                                return -EINVAL;
        }

        CustomMount m = {
                .type = CUSTOM_MOUNT_BIND,
                .source = strdup(src),
                .destination = strdup(dst),
                .read_only = read_only,
                .recursive = recursive,
                .idmap = idmap,
        };
        if (!m.source || !m.destination) {
                free(m.source);
                free(m.destination);
                return -ENOMEM;
        }
        *ret = m;
        return 0;
}

int custom_mount_parse_tmpfs(const char *spec, CustomMount *ret) {
        _cleanup_strv_free_ char **f = NULL;
        int r;

        r = split_colon_escaped(spec, 2, &f);
        if (r < 0)
                return r;
        if (!path_is_normalized_absolute(f[0]))
                return -EINVAL;

        /* Flag words (nosuid, noexec, ro, ...) are mount flags, not tmpfs data: the kernel refuses
         * them as data with EINVAL. */
        unsigned long flags = MS_NOSUID | MS_NODEV;
        _cleanup_free_ char *data = NULL;
        r = mount_options_split(f[1] ?: "mode=0755", &flags, &data);
        if (r < 0)
                return r;

        CustomMount m = {
                .type = CUSTOM_MOUNT_TMPFS,
                .destination = strdup(f[0]),
                .options = TAKE_PTR(data),
                .flags = flags,
        };
        if (!m.destination) {
                free(m.options);
                return -ENOMEM;
        }
        *ret = m;
        return 0;
}

int mount_in_root(int rootfd, const char *source, const char *where, const char *fstype,
                         unsigned long flags, const char *data, bool directory) {
        char p[PROC_FD_PATH_MAX];

        _cleanup_close_ int fd = mount_point_in_root(rootfd, where, directory, directory ? 0755 : 0644);
        if (fd < 0)
                return log_error_errno(fd, "Failed to create mount point %s in the container: %m", where);
        if (mount(source, fd_proc_path(fd, p), fstype, flags, data) < 0)
                return log_error_errno(errno, "Failed to mount %s in the container: %m", where);
        return 0;
}

int remount_in_root(int rootfd, const char *where, unsigned long flags, bool recursive) {
        char p[PROC_FD_PATH_MAX];
        _cleanup_close_ int fd = open_in_root(rootfd, where, O_PATH, 0);
        if (fd < 0)
                return log_error_errno(fd, "Failed to open %s in the container: %m", where);

        /* Only read-only: mount_setattr() sets that bit alone, where a bind remount would also
         * clear the nodev/nosuid a disk image's root was mounted with. */
        if (recursive || flags == MS_RDONLY) {
                struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY };
                if (!(flags & MS_RDONLY))
                        return -EINVAL;
                if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &attr, sizeof(attr)) < 0)
                        return log_error_errno(errno, "Failed to make %s read-only: %m", where);
                return 0;
        }
        if (mount(NULL, fd_proc_path(fd, p), NULL, MS_BIND | MS_REMOUNT | flags, NULL) < 0)
                return log_error_errno(errno, "Failed to make %s read-only: %m", where);
        return 0;
}

/* A path below another, or the same: "/" contains everything. */
static bool path_below(const char *path, const char *prefix) {
        if (streq(prefix, "/"))
                return true;
        const char *rest = startswith(path, prefix);
        return rest && (*rest == 0 || *rest == '/');
}

/* Read-only after the fact: a bind from elsewhere with MS_REC recursively (what it brought
 * along turns read-only too), everything else only the mount itself, so writable submounts
 * stay writable (/proc/sys/net below /proc/sys). */
static int entry_make_read_only(const MountEntry *e, int rootfd) {
        bool recursive = e->kind == MOUNT_BIND && (e->flags & MS_REC);
        unsigned long flags = MS_RDONLY | (recursive ? 0 : e->flags & (MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_STRICTATIME));
        return remount_in_root(rootfd, e->target, flags, recursive);
}

/* Hides target: the container's /dev/null over a file, an empty read-only tmpfs over a
 * directory. */
static int entry_mask(const MountEntry *e, int rootfd, int fd) {
        char src[PROC_FD_PATH_MAX], dst[PROC_FD_PATH_MAX];
        struct stat st;

        if (fstat(fd, &st) < 0)
                return log_error_errno(errno, "Failed to stat %s: %m", e->target);
        if (S_ISDIR(st.st_mode)) {
                if (mount("tmpfs", fd_proc_path(fd, dst), "tmpfs", e->flags, "mode=0555") < 0)
                        return log_error_errno(errno, "Failed to mask %s: %m", e->target);
                return 0;
        }
        _cleanup_close_ int null = open_in_root(rootfd, "/dev/null", O_PATH, 0);
        if (null < 0)
                return log_error_errno(null, "Failed to open the container's /dev/null: %m");
        if (mount(fd_proc_path(null, src), fd_proc_path(fd, dst), NULL, MS_BIND, NULL) < 0)
                return log_error_errno(errno, "Failed to mask %s: %m", e->target);
        return 0;
}

/* MOUNT_BIND_SELF and MOUNT_MASK act on what is there; an optional target the kernel lacks is
 * skipped (returns 0, nothing mounted). */
static int entry_mount_existing(const MountEntry *e, int rootfd) {
        char p[PROC_FD_PATH_MAX];

        _cleanup_close_ int fd = open_in_root(rootfd, e->target, O_PATH, 0);
        if (fd == -ENOENT && e->optional)
                return 0;
        if (fd < 0)
                return log_error_errno(fd, "Failed to open %s in the container: %m", e->target);
        if (e->kind == MOUNT_MASK) {
                int r = entry_mask(e, rootfd, fd);
                return r < 0 ? r : 1;
        }
        if (mount(fd_proc_path(fd, p), p, NULL, MS_BIND | (e->flags & MS_REC), NULL) < 0)
                return log_error_errno(errno, "Failed to mount %s in the container: %m", e->target);
        return 1;
}

/* --bind=...:idmap / rootidmap under -U: a detached copy of the source with the mapping, moved
 * onto the target. */
static int entry_bind_idmapped(const MountEntry *e, const MountContext *ctx, int srcfd, const struct stat *st) {
        _cleanup_close_ int tree = userns_idmap_clone(srcfd, "", e->flags & MS_REC, e->userns_fd);
        if (tree < 0)
                return log_error_errno(tree, "Failed to ID-map bind mount source %s: %m", e->source);
        _cleanup_close_ int fd = mount_point_in_root(ctx->rootfd, e->target, S_ISDIR(st->st_mode), S_ISDIR(st->st_mode) ? 0755 : 0644);
        if (fd < 0)
                return log_error_errno(fd, "Failed to create mount point %s in the container: %m", e->target);
        /* The fd itself, not its /proc/self/fd link: move_mount() refuses magic links (EINVAL). */
        if (syscall(SYS_move_mount, tree, "", fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
                return log_error_errno(errno, "Failed to mount %s in the container: %m", e->target);
        return 0;
}

/* A detached mount (the -U console's pty) attached onto the target. */
static int entry_attach(const MountEntry *e, const MountContext *ctx) {
        struct stat st;

        if (fstat(e->tree_fd, &st) < 0)
                return log_error_errno(errno, "Failed to stat %s: %m", e->source);
        _cleanup_close_ int fd = mount_point_in_root(ctx->rootfd, e->target, S_ISDIR(st.st_mode), S_ISDIR(st.st_mode) ? 0755 : 0644);
        if (fd < 0)
                return log_error_errno(fd, "Failed to create mount point %s in the container: %m", e->target);
        if (syscall(SYS_move_mount, e->tree_fd, "", fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
                return log_error_errno(errno, "Failed to mount %s in the container: %m", e->target);
        return 0;
}

static int entry_bind(const MountEntry *e, const MountContext *ctx) {
        char p[PROC_FD_PATH_MAX];
        struct stat st;

        if (e->tree_fd > 0)
                return entry_attach(e, ctx);

        _cleanup_close_ int srcfd = -EBADF;
        if (e->source[0] == '+')
                srcfd = open_in_root(ctx->rootfd, e->source + 1, O_PATH, 0);
        else
                srcfd = open(e->source, O_PATH | O_CLOEXEC);
        if (srcfd < 0)
                return log_error_errno(srcfd < -1 ? srcfd : -errno, "Failed to open bind mount source %s: %m", e->source);
        if (fstat(srcfd, &st) < 0)
                return log_error_errno(errno, "Failed to stat %s: %m", e->source);
        if (e->idmap != MOUNT_IDMAP_NONE)
                return entry_bind_idmapped(e, ctx, srcfd, &st);
        return mount_in_root(ctx->rootfd, fd_proc_path(srcfd, p), e->target, NULL, MS_BIND | (e->flags & MS_REC), NULL,
                             S_ISDIR(st.st_mode));
}

static int entry_run_hook(const MountEntry *e, MountContext *ctx) {
        switch (e->hook) {
        case MOUNT_HOOK_DEV_NODES:
                return dev_setup(ctx->rootfd);
        case MOUNT_HOOK_RUN_HOST:
                return run_host_setup(ctx->config, ctx->rootfd, &ctx->notify_fd);
        case MOUNT_HOOK_RESOLV_CONF:
                return etc_setup_resolv_conf(ctx->config, ctx->rootfd, ctx->nameserver);
        case MOUNT_HOOK_TIMEZONE:
                return etc_setup_timezone(ctx->config, ctx->rootfd);
        case MOUNT_HOOK_CGROUP_V1:
                return spawn_cgroup_mount_v1(ctx->rootfd, ctx->config->res.cgroup_layout == CGROUP_MODE_HYBRID);
        case MOUNT_HOOK_OCI_DEVICES:
                return spawn_oci_devices_create(ctx->config, ctx->rootfd);
        default:
                return log_error_errno(EINVAL, "Unknown mount hook %i.", (int) e->hook);
        }
}

/* Returns > 0 if something was mounted at e->target (read_only then applies), 0 if not. */
static int entry_run(const MountEntry *e, MountContext *ctx) {
        int r;

        switch (e->kind) {
        case MOUNT_ROOT:
                return 1;
        case MOUNT_FS:
                r = mount_in_root(ctx->rootfd, e->source, e->target, e->fstype, e->flags, e->options, true);
                return r < 0 ? r : 1;
        case MOUNT_BIND:
                r = entry_bind(e, ctx);
                return r < 0 ? r : 1;
        case MOUNT_BIND_SELF:
        case MOUNT_MASK:
                return entry_mount_existing(e, ctx->rootfd);
        case MOUNT_HOOK:
                r = entry_run_hook(e, ctx);
                return r < 0 ? r : 0;
        default:
                return log_error_errno(EINVAL, "Unknown mount kind %i.", (int) e->kind);
        }
}

int mount_plan_run(const MountPlan *p, MountPhase phase, MountContext *ctx) {
        /* Entries waiting to turn read-only until the entries below them are mounted: a stack,
         * since the targets of pending entries nest. */
        _cleanup_free_ size_t *pending = calloc(p->n_entries + 1, sizeof(size_t));
        size_t n_pending = 0;
        int r;

        if (!pending)
                return log_oom();

        for (size_t i = 0; i <= p->n_entries; i++) {
                const MountEntry *e = i < p->n_entries ? p->entries + i : NULL;
                if (e && e->phase != phase)
                        continue;
                while (n_pending > 0 && (!e || !path_below(e->target, p->entries[pending[n_pending - 1]].target))) {
                        r = entry_make_read_only(p->entries + pending[--n_pending], ctx->rootfd);
                        if (r < 0)
                                return r;
                }
                if (!e)
                        break;
                r = entry_run(e, ctx);
                if (r < 0)
                        return r;
                if (r > 0 && e->read_only)
                        pending[n_pending++] = i;
        }
        return 0;
}

int mount_pivot_root(int rootfd) {
        /* pivot_root(".", ".") stacks the old root on top of the new one; detaching "." then
         * removes it without needing a directory for it inside the tree. */
        if (fchdir(rootfd) < 0)
                return log_error_errno(errno, "Failed to enter the container tree: %m");
        if (syscall(SYS_pivot_root, ".", ".") < 0)
                return log_error_errno(errno, "Failed to pivot into the container tree: %m");
        if (umount2(".", MNT_DETACH) < 0)
                return log_error_errno(errno, "Failed to detach the old root: %m");
        if (chdir("/") < 0)
                return log_error_errno(errno, "Failed to change to the new root: %m");
        return 0;
}
