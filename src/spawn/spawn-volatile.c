/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fd-util.h"
#include "log.h"
#include "parse-util.h"
#include "path-util.h"
#include "spawn-mount.h"
#include "spawn-options.h"
#include "spawn-stage.h"
#include "spawn-volatile.h"
#include "string-table.h"
#include "strv.h"

static const char *const volatile_mode_table[_VOLATILE_MODE_MAX] = {
        [VOLATILE_NO] = "no",
        [VOLATILE_YES] = "yes",
        [VOLATILE_STATE] = "state",
        [VOLATILE_OVERLAY] = "overlay",
};
DEFINE_STRING_TABLE_LOOKUP_TO_STRING(volatile_mode, VolatileMode);

VolatileMode volatile_mode_from_string(const char *s) {
        int b = s ? parse_boolean(s) : -EINVAL;
        if (b >= 0)
                return b ? VOLATILE_YES : VOLATILE_NO;
        return (VolatileMode) string_table_lookup(volatile_mode_table, ELEMENTSOF(volatile_mode_table), s);
}

void spawn_overlay_free_all(SpawnOverlay *l, size_t n) {
        for (size_t i = 0; i < n; i++) {
                strv_free(l[i].lower);
                free(l[i].upper);
                free(l[i].destination);
        }
        free(l);
}

static bool overlay_path_valid(const char *p) {
        return path_is_normalized_absolute(p[0] == '+' ? p + 1 : p);
}

static int overlay_split(const char *spec, bool read_only, SpawnOverlay *ret) {
        _cleanup_strv_free_ char **f = NULL;
        int r = split_colon_escaped(spec, SIZE_MAX, &f);
        if (r < 0)
                return r;
        size_t n = strv_length(f);
        if (n < 2)
                return -EINVAL;

        /* nspawn: the last path is the destination; with two paths it is also the top layer
         * (its host path); of more, the one before the last is the upper layer (read-write). */
        char *dest = f[n - 1], *upper = NULL;
        size_t n_lower = n - 1;
        if (n == 2) {
                if (!read_only) {
                        upper = dest;
                        n_lower = 1;
                } else
                        n_lower = 2;
        } else if (!read_only) {
                upper = f[n - 2];
                n_lower = n - 2;
        }
        if (!path_is_normalized_absolute(dest[0] == '+' ? dest + 1 : dest))
                return -EINVAL;
        if (upper && !isempty(upper) && !overlay_path_valid(upper))
                return -EINVAL;
        for (size_t i = 0; i < n_lower; i++)
                if (!overlay_path_valid(f[i]))
                        return -EINVAL;

        char *saved = f[n_lower];
        f[n_lower] = NULL; /* strv_copy() stops here: the lower layers only */
        char **lower = strv_copy(f);
        f[n_lower] = saved;
        SpawnOverlay o = {
                .lower = lower,
                .upper = upper ? strdup(upper) : NULL,
                .destination = strdup(dest[0] == '+' ? dest + 1 : dest),
        };
        if (!o.lower || (upper && !o.upper) || !o.destination) {
                spawn_overlay_free_all(&o, 1);
                return -ENOMEM;
        }
        *ret = o;
        return 0;
}

int spawn_overlay_parse(SpawnOptions *c, const char *spec, bool read_only) {
        SpawnOverlay o;
        int r = overlay_split(spec, read_only, &o);
        if (r == -ENOMEM)
                return log_oom();
        if (r < 0)
                return log_error_errno(r, "Invalid overlay specification '%s': want LOWER[:LOWER...]:UPPER:DEST "
                                       "(or PATH:DEST) with absolute paths.", spec);

        /* The overlay is mounted on the stage later; a bind puts it in place, in command line
         * order with the other custom mounts. */
        CustomMount m = { .type = CUSTOM_MOUNT_BIND, .destination = strdup(o.destination), .read_only = read_only };
        if (!m.destination || asprintf(&m.source, "%s/overlay.%zu", SPAWN_STAGE, c->n_mounts) < 0) {
                free(m.destination);
                spawn_overlay_free_all(&o, 1);
                return log_oom();
        }
        o.mount_index = c->n_mounts;
        SpawnOverlay *l = realloc(c->overlays, sizeof(SpawnOverlay) * (c->n_overlays + 1));
        if (!l || custom_mount_append(&c->mounts, &c->n_mounts, &m) < 0) {
                if (l)
                        c->overlays = l;
                spawn_overlay_free_all(&o, 1);
                return log_oom();
        }
        c->overlays = l;
        c->overlays[c->n_overlays++] = o;
        return 0;
}

/* An O_PATH fd of a layer: a host path, or "+path" inside the tree at rootfd. */
static int open_layer(int rootfd, const char *path) {
        if (path[0] == '+')
                return open_in_root(rootfd, path + 1, O_PATH | O_DIRECTORY, 0);
        int fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
}

/* lowerdir: top first, as overlayfs wants, through /proc/self/fd so no path needs escaping. */
static int overlay_mount(const int *lower, size_t n_lower, int upper, int work, const char *target) {
        _cleanup_free_ char *opts = strdup("lowerdir=");
        for (size_t i = n_lower; opts && i > 0; i--) {
                char *n;
                if (asprintf(&n, "%s%s/proc/self/fd/%d", opts, i == n_lower ? "" : ":", lower[i - 1]) < 0)
                        n = NULL;
                free(opts);
                opts = n;
        }
        if (opts && upper >= 0) {
                char *n;
                if (asprintf(&n, "%s,upperdir=/proc/self/fd/%d,workdir=/proc/self/fd/%d", opts, upper, work) < 0)
                        n = NULL;
                free(opts);
                opts = n;
        }
        if (!opts)
                return -ENOMEM;
        if (mount("overlay", target, "overlay", upper >= 0 ? 0 : MS_RDONLY, opts) < 0)
                return -errno;
        return 0;
}

/* A fresh upper and work directory pair on the stage (tmpfs). */
static int stage_upper(int *ret_upper, int *ret_work) {
        _cleanup_free_ char *base = NULL;
        int r = spawn_stage_mkdir("upper", &base);
        if (r < 0)
                return r;
        _cleanup_free_ char *u = strjoin(base, "/u"), *w = strjoin(base, "/w");
        if (!u || !w)
                return log_oom();
        if (mkdir(u, 0755) < 0 || mkdir(w, 0700) < 0)
                return log_error_errno(errno, "Failed to create overlay directories in %s: %m", base);
        *ret_upper = open(u, O_PATH | O_DIRECTORY | O_CLOEXEC);
        *ret_work = open(w, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (*ret_upper < 0 || *ret_work < 0)
                return log_error_errno(errno, "Failed to open overlay directories in %s: %m", base);
        return 0;
}

/* The work directory of a host upper layer must be on its file system: next to it, one per
 * upper directory, reused from run to run (overlayfs empties it at mount). */
static int host_work_dir(const char *upper, int *ret) {
        _cleanup_free_ char *copy = strdup(upper);
        if (!copy)
                return -ENOMEM;
        char *slash = strrchr(copy, '/');
        if (!slash || !slash[1])
                return -EINVAL;
        *slash = '\0';
        _cleanup_free_ char *work = NULL;
        if (asprintf(&work, "%s/.#berth-overlay-work.%s", isempty(copy) ? "" : copy, slash + 1) < 0)
                return -ENOMEM;
        if (mkdir(work, 0700) < 0 && errno != EEXIST)
                return -errno;
        int fd = open(work, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        *ret = fd;
        return 0;
}

static int overlay_setup_one(int rootfd, const SpawnOverlay *o) {
        int fds[64];
        size_t n = 0;
        int r = 0, upper = -EBADF, work = -EBADF;
        if (strv_length(o->lower) > ELEMENTSOF(fds))
                return log_error_errno(E2BIG, "Overlay on %s: too many layers.", o->destination);
        for (char **l = o->lower; *l && r >= 0; l++) {
                fds[n] = open_layer(rootfd, *l);
                if (fds[n] < 0)
                        r = log_error_errno(fds[n], "Overlay layer %s: %m", *l);
                else
                        n++;
        }
        if (r >= 0 && o->upper && isempty(o->upper))
                r = stage_upper(&upper, &work);
        else if (r >= 0 && o->upper) {
                upper = open_layer(rootfd, o->upper);
                if (upper < 0)
                        r = log_error_errno(upper, "Overlay upper layer %s: %m", o->upper);
                else if (o->upper[0] == '+')
                        r = log_error_errno(EINVAL, "Overlay upper layer %s: must be a host path.", o->upper);
                else if ((r = host_work_dir(o->upper, &work)) < 0)
                        r = log_error_errno(r, "Failed to create a work directory next to %s: %m", o->upper);
        }
        char target[PATH_MAX];
        snprintf(target, sizeof(target), "%s/overlay.%zu", SPAWN_STAGE, o->mount_index);
        if (r >= 0 && mkdir(target, 0755) < 0)
                r = log_error_errno(errno, "Failed to create %s: %m", target);
        if (r >= 0) {
                r = overlay_mount(fds, n, upper, work, target);
                if (r < 0)
                        log_error_errno(r, "Failed to mount the overlay for %s: %m", o->destination);
        }
        for (size_t i = 0; i < n; i++)
                safe_close(fds[i]);
        safe_close(upper);
        safe_close(work);
        return r;
}

static int set_read_only_recursive(const char *path) {
        struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY };
        if (syscall(SYS_mount_setattr, AT_FDCWD, path, AT_RECURSIVE, &attr, sizeof(attr)) < 0)
                return -errno;
        return 0;
}

/* The root for --volatile= and -x on SPAWN_STAGE_ROOT, from the tree at rootfd. */
static int volatile_root(const SpawnOptions *o, SpawnResolved *res, VolatileMode mode, int rootfd) {
        char src[PROC_FD_PATH_MAX];
        int r;

        if (mode == VOLATILE_OVERLAY) {
                _cleanup_close_ int upper = -EBADF, work = -EBADF;
                r = stage_upper(&upper, &work);
                if (r < 0)
                        return r;
                r = overlay_mount(&rootfd, 1, upper, work, SPAWN_STAGE_ROOT);
                return r < 0 ? log_error_errno(r, "Failed to mount an overlay over %s: %m", res->directory) : 0;
        }
        if (mode == VOLATILE_STATE) {
                if (mount(fd_proc_path(rootfd, src), SPAWN_STAGE_ROOT, NULL, MS_BIND | MS_REC, NULL) < 0 ||
                    set_read_only_recursive(SPAWN_STAGE_ROOT) < 0)
                        return log_error_errno(errno, "Failed to mount %s read-only: %m", res->directory);
                _cleanup_close_ int var = open_in_root(rootfd, "/var", O_PATH | O_DIRECTORY, 0);
                if (var < 0)
                        return log_error_errno(var, "--volatile=state needs a /var directory in %s: %m", res->directory);
                if (mount("tmpfs", SPAWN_STAGE_ROOT "/var", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") < 0)
                        return log_error_errno(errno, "Failed to mount a tmpfs on /var: %m");
                return 0;
        }
        /* yes: all in memory but /usr, which must be there for the tree to run at all. */
        _cleanup_close_ int usr = open_in_root(rootfd, "/usr", O_PATH | O_DIRECTORY, 0);
        if (usr < 0)
                return log_error_errno(usr, "--volatile=yes needs a /usr directory in %s: %m", res->directory);
        if (mount("tmpfs", SPAWN_STAGE_ROOT, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") < 0 ||
            mkdir(SPAWN_STAGE_ROOT "/usr", 0755) < 0)
                return log_error_errno(errno, "Failed to set up a tmpfs root: %m");
        if (mount(fd_proc_path(usr, src), SPAWN_STAGE_ROOT "/usr", NULL, MS_BIND | MS_REC, NULL) < 0 ||
            set_read_only_recursive(SPAWN_STAGE_ROOT "/usr") < 0)
                return log_error_errno(errno, "Failed to mount /usr of %s read-only: %m", res->directory);
        return 0;
}

int spawn_volatile_setup(const SpawnOptions *o, SpawnResolved *res) {
        /* -x on a disk image copied the image (spawn-image.c); on a tree it is an overlay. */
        VolatileMode mode = o->volatile_mode;
        if (o->ephemeral && !res->image)
                mode = VOLATILE_OVERLAY;
        if (mode == VOLATILE_NO && o->n_overlays == 0)
                return 0;

        int r = spawn_stage_enter();
        if (r < 0)
                return r;
        _cleanup_close_ int rootfd = open(res->directory, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0)
                return log_error_errno(errno, "Container tree %s: %m", res->directory);

        /* The overlays' "+" layers are in the tree as given, before --volatile= hides parts. */
        for (size_t i = 0; i < o->n_overlays; i++) {
                r = overlay_setup_one(rootfd, &o->overlays[i]);
                if (r < 0)
                        return r;
        }
        if (mode == VOLATILE_NO)
                return 0;
        r = volatile_root(o, res, mode, rootfd);
        if (r < 0)
                return r;
        free(res->directory);
        res->directory = strdup(SPAWN_STAGE_ROOT);
        return res->directory ? 0 : log_oom();
}

static bool directory_is_empty(const char *path) {
        DIR *d = opendir(path);
        if (!d)
                return errno == ENOENT;
        bool empty = true;
        for (struct dirent *de; empty && (de = readdir(d));)
                empty = streq(de->d_name, ".") || streq(de->d_name, "..");
        closedir(d);
        return empty;
}

int spawn_template_apply(const SpawnOptions *o, SpawnResolved *res) {
        if (!o->template_dir)
                return 0;
        if (!directory_is_empty(res->directory))
                return 0; /* filled before: the template only seeds */
        struct stat st;
        if (stat(o->template_dir, &st) < 0)
                return log_error_errno(errno, "Template %s: %m", o->template_dir);
        if (!S_ISDIR(st.st_mode))
                return log_error_errno(ENOTDIR, "Template %s is not a directory.", o->template_dir);
        int r = mkdir_p(res->directory, 0755);
        if (r < 0)
                return log_error_errno(r, "Failed to create %s: %m", res->directory);

        /* cp -a keeps owners, modes, times, xattrs, hard links, devices and sparse files, and
         * shares extents where the file system can (--reflink=auto). */
        _cleanup_free_ char *from = strjoin(o->template_dir, "/.");
        if (!from)
                return log_oom();
        pid_t pid = fork();
        if (pid < 0)
                return log_error_errno(errno, "Failed to fork: %m");
        if (pid == 0) {
                execlp("cp", "cp", "-a", "--reflink=auto", "--", from, res->directory, (char *) NULL);
                _exit(127);
        }
        int status;
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return log_error_errno(errno, "Failed to wait for cp: %m");
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                return log_error_errno(EIO, "Failed to copy template %s to %s.", o->template_dir, res->directory);
        return 0;
}
