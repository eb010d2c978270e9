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
#include <sys/socket.h>
#include <sys/un.h>

#include "os-release.h"
#include "spawn-cgroup.h"
#include "spawn-dev.h"
#include "spawn-etc.h"
#include "spawn-mount.h"
#include "spawn-options.h"
#include "spawn-selinux.h"

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
                        else
                                return -EINVAL;
        }

        CustomMount m = {
                .type = CUSTOM_MOUNT_BIND,
                .source = strdup(src),
                .destination = strdup(dst),
                .read_only = read_only,
                .recursive = recursive,
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

        CustomMount m = {
                .type = CUSTOM_MOUNT_TMPFS,
                .destination = strdup(f[0]),
                .options = strdup(f[1] ? f[1] : "mode=0755"),
        };
        if (!m.destination || !m.options) {
                free(m.destination);
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
                return log_error_errno(errno, "Failed to mount %s on %s: %m", fstype ?: source, where);
        return 0;
}

int remount_in_root(int rootfd, const char *where, unsigned long flags, bool recursive) {
        char p[PROC_FD_PATH_MAX];
        _cleanup_close_ int fd = open_in_root(rootfd, where, O_PATH, 0);
        if (fd < 0)
                return log_error_errno(fd, "Failed to open %s in the container: %m", where);

        if (recursive) {
                struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY };
                if (!(flags & MS_RDONLY))
                        return -EINVAL;
                if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) < 0)
                        return log_error_errno(errno, "Failed to make %s read-only: %m", where);
                return 0;
        }
        if (mount(NULL, fd_proc_path(fd, p), NULL, MS_BIND | MS_REMOUNT | flags, NULL) < 0)
                return log_error_errno(errno, "Failed to remount %s: %m", where);
        return 0;
}

/* Binds a path of the container onto itself and applies flags to the new mount. */
static int bind_self_in_root(int rootfd, const char *path, unsigned long flags) {
        char p[PROC_FD_PATH_MAX];
        _cleanup_close_ int fd = open_in_root(rootfd, path, O_PATH, 0);
        if (fd < 0)
                return log_error_errno(fd, "Failed to open %s in the container: %m", path);
        if (mount(fd_proc_path(fd, p), p, NULL, MS_BIND | MS_REC, NULL) < 0)
                return log_error_errno(errno, "Failed to bind %s: %m", path);
        return remount_in_root(rootfd, path, flags, false);
}

/* Binds a path of the container onto itself read-only (or mask it with /dev/null or an empty
 * read-only tmpfs). Paths the running kernel does not have are skipped. */
static int proc_protect(int rootfd, const char *path, bool mask) {
        struct stat st;
        char src[PROC_FD_PATH_MAX], dst[PROC_FD_PATH_MAX];

        _cleanup_close_ int fd = open_in_root(rootfd, path, O_PATH, 0);
        if (fd == -ENOENT)
                return 0;
        if (fd < 0)
                return log_error_errno(fd, "Failed to open %s in the container: %m", path);
        if (fstat(fd, &st) < 0)
                return log_error_errno(errno, "Failed to stat %s: %m", path);

        if (!mask)
                return bind_self_in_root(rootfd, path, MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC);

        if (S_ISDIR(st.st_mode)) {
                if (mount("tmpfs", fd_proc_path(fd, dst), "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0555") < 0)
                        return log_error_errno(errno, "Failed to mask %s: %m", path);
                return 0;
        }
        _cleanup_close_ int null = open_in_root(rootfd, "/dev/null", O_PATH, 0);
        if (null < 0)
                return log_error_errno(null, "Failed to open the container's /dev/null: %m");
        if (mount(fd_proc_path(null, src), fd_proc_path(fd, dst), NULL, MS_BIND, NULL) < 0)
                return log_error_errno(errno, "Failed to mask %s: %m", path);
        return 0;
}

static int mount_proc(const SpawnConfig *c, int rootfd) {
        /* The kernel interfaces a container must not reach: /proc/sys is read-only (the network
         * part is per-netns and stays writable with a private network), sysrq and the raw views
         * of kernel memory, keys and timers are masked. */
        static const char *const masked[] = {
                "/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/kmsg", "/proc/sched_debug",
                "/proc/latency_stats", "/proc/acpi", "/proc/scsi",
        };
        int r;

        r = mount_in_root(rootfd, "proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, true);
        if (r < 0)
                return r;
        r = proc_protect(rootfd, "/proc/sys", false);
        if (r < 0)
                return r;
        if (c->opt.private_network) {
                char p[PROC_FD_PATH_MAX];
                _cleanup_close_ int fd = open_in_root(rootfd, "/proc/sys/net", O_PATH, 0);
                if (fd >= 0 && mount(fd_proc_path(fd, p), p, NULL, MS_BIND, NULL) < 0)
                        return log_error_errno(errno, "Failed to make /proc/sys/net writable: %m");
        }
        r = proc_protect(rootfd, "/proc/sysrq-trigger", false);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(masked); i++) {
                r = proc_protect(rootfd, masked[i], true);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int copy_host_os_release(int hostfd) {
        _cleanup_free_ char *data = NULL;
        int r;

        r = os_release_read(AT_FDCWD, &data, NULL);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return log_error_errno(r, "Failed to read the host's os-release: %m");
        r = write_file_at(hostfd, "os-release", data, 0444);
        return r < 0 ? log_error_errno(r, "Failed to write /run/host/os-release: %m") : 0;
}

/* The notify socket a systemd guest reports READY=1 and friends on, at /run/host/notify. */
static int notify_socket_create(int dirfd, int *ret) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int one = 1;

        _cleanup_close_ int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return log_error_errno(errno, "Failed to create the notify socket: %m");
        /* Bound via our fd of /run/host: the tree's path may be longer than sun_path allows. */
        snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%i/notify", dirfd);
        if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                return log_error_errno(errno, "Failed to bind the notify socket: %m");
        if (setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0)
                return log_error_errno(errno, "Failed to enable credentials on the notify socket: %m");
        *ret = TAKE_FD(fd);
        return 0;
}

/* /run/host: what the Container Interface promises the payload about its host. */
static int mount_run_host(const SpawnConfig *c, int rootfd, int *ret_notify_fd) {
        char uuid[37], buf[64];
        int r;

        _cleanup_close_ int pathfd = mkdir_p_in_root(rootfd, "/run/host", 0755);
        if (pathfd < 0)
                return log_error_errno(pathfd, "Failed to create /run/host: %m");
        _cleanup_close_ int fd = openat(pathfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return log_error_errno(errno, "Failed to open /run/host: %m");

        r = copy_host_os_release(fd);
        if (r < 0)
                return r;
        r = write_file_at(fd, "container-manager", "berth\n", 0444);
        if (r < 0)
                return log_error_errno(r, "Failed to write /run/host/container-manager: %m");
        snprintf(buf, sizeof(buf), "%s\n", id128_to_uuid_string(&c->res.uuid, uuid));
        r = write_file_at(fd, "container-uuid", buf, 0444);
        if (r < 0)
                return log_error_errno(r, "Failed to write /run/host/container-uuid: %m");
        r = notify_socket_create(fd, ret_notify_fd);
        if (r < 0)
                return r;

        return bind_self_in_root(rootfd, "/run/host", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC);
}

/* OPTIONS plus -L's label. Only tmpfs and devpts: mqueue, sysfs and proc take no context=, their
 * labels come from the policy (genfscon). */
static int apifs_options(const SpawnConfig *c, const char *fstype, const char *options, char **ret) {
        *ret = NULL;
        if (!c->res.selinux_apifs_context || (!streq(fstype, "tmpfs") && !streq(fstype, "devpts")))
                return 0;
        /* Quoted: an MCS range has commas, which would otherwise split the option. */
        *ret = strjoin(options ?: "", options ? "," : "", "context=\"", c->res.selinux_apifs_context, "\"");
        return *ret ? 0 : log_oom();
}

/* The Container Interface: a guest on an SELinux host sees the policy state, read-only. */
static int mount_selinuxfs(int rootfd) {
        int r;

        r = mount_in_root(rootfd, SELINUXFS_PATH, SELINUXFS_PATH, NULL, MS_BIND, NULL, true);
        if (r < 0)
                return r;
        return remount_in_root(rootfd, SELINUXFS_PATH, MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, false);
}

typedef struct ApiMount {
        const char *what, *where, *type, *options;
        unsigned long flags;
} ApiMount;

static int mount_custom(const SpawnConfig *c, int rootfd) {
        char p[PROC_FD_PATH_MAX];
        int r;

        for (size_t i = 0; i < c->opt.n_mounts; i++) {
                const CustomMount *m = c->opt.mounts + i;

                if (m->type == CUSTOM_MOUNT_TMPFS) {
                        _cleanup_free_ char *labelled = NULL;
                        r = apifs_options(c, "tmpfs", m->options, &labelled);
                        if (r < 0)
                                return r;
                        r = mount_in_root(rootfd, "tmpfs", m->destination, "tmpfs", MS_NOSUID | MS_NODEV, labelled ?: m->options, true);
                        if (r < 0)
                                return r;
                        continue;
                }

                _cleanup_close_ int srcfd = -EBADF;
                if (m->source[0] == '+')
                        srcfd = open_in_root(rootfd, m->source + 1, O_PATH, 0);
                else
                        srcfd = open(m->source, O_PATH | O_CLOEXEC);
                if (srcfd < 0)
                        return log_error_errno(srcfd < -1 ? srcfd : -errno, "Failed to open bind mount source %s: %m", m->source);

                struct stat st;
                if (fstat(srcfd, &st) < 0)
                        return log_error_errno(errno, "Failed to stat %s: %m", m->source);
                r = mount_in_root(rootfd, fd_proc_path(srcfd, p), m->destination, NULL,
                                  MS_BIND | (m->recursive ? MS_REC : 0), NULL, S_ISDIR(st.st_mode));
                if (r < 0)
                        return r;
                if (m->read_only) {
                        r = remount_in_root(rootfd, m->destination, MS_RDONLY, m->recursive);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

int mount_setup_all(const SpawnConfig *c, const char *console_path, int *ret_rootfd, int *ret_notify_fd) {
        static const ApiMount api[] = {
                { "sysfs",  "/sys",        "sysfs",  NULL,                          MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC },
                { "tmpfs",  "/dev",        "tmpfs",  "mode=0755,size=4m,nr_inodes=64k", MS_NOSUID | MS_STRICTATIME },
                { "tmpfs",  "/dev/shm",    "tmpfs",  "mode=01777",                  MS_NOSUID | MS_NODEV | MS_STRICTATIME },
                /* gid 5 is "tty" on every distribution; mode 0620 lets write(1) reach users. */
                { "devpts", "/dev/pts",    "devpts", "newinstance,ptmxmode=0666,mode=0620,gid=5", MS_NOSUID | MS_NOEXEC },
                { "mqueue", "/dev/mqueue", "mqueue", NULL,                          MS_NOSUID | MS_NODEV | MS_NOEXEC },
                { "tmpfs",  "/run",        "tmpfs",  "mode=0755,size=20%,nr_inodes=800k", MS_NOSUID | MS_NODEV | MS_STRICTATIME },
                { "tmpfs",  "/tmp",        "tmpfs",  "mode=01777,nr_inodes=1m",     MS_NOSUID | MS_NODEV | MS_STRICTATIME },
        };
        int r;

        /* Nothing we mount from here on may propagate back to the host, while host mounts that
         * appear later still reach us: slave, recursively. */
        if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
                return log_error_errno(errno, "Failed to make the mount tree a slave: %m");

        /* The tree becomes a mount point of its own so it can be pivoted into. */
        if (mount(c->res.directory, c->res.directory, NULL, MS_BIND | MS_REC, NULL) < 0)
                return log_error_errno(errno, "Failed to bind-mount %s: %m", c->res.directory);
        _cleanup_close_ int rootfd = open(c->res.directory, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0)
                return log_error_errno(errno, "Failed to open %s: %m", c->res.directory);

        for (size_t i = 0; i < ELEMENTSOF(api); i++) {
                _cleanup_free_ char *labelled = NULL;
                r = apifs_options(c, api[i].type, api[i].options, &labelled);
                if (r < 0)
                        return r;
                r = mount_in_root(rootfd, api[i].what, api[i].where, api[i].type, api[i].flags, labelled ?: api[i].options, true);
                if (r < 0)
                        return r;
                if (streq(api[i].where, "/sys")) {
                        if (c->res.selinux_enabled) {
                                r = mount_selinuxfs(rootfd);
                                if (r < 0)
                                        return r;
                        }
                }
                if (streq(api[i].where, "/dev")) {
                        r = dev_setup(rootfd);
                        if (r < 0)
                                return r;
                }
        }

        /* /proc comes after /dev so masked files can be covered with the container's /dev/null. */
        r = mount_proc(c, rootfd);
        if (r < 0)
                return r;

        _cleanup_close_ int notify_fd = -EBADF;
        r = mount_run_host(c, rootfd, &notify_fd);
        if (r < 0)
                return r;

        if (console_path) {
                r = mount_in_root(rootfd, console_path, "/dev/console", NULL, MS_BIND, NULL, false);
                if (r < 0)
                        return r;
        }

        r = etc_setup_resolv_conf(c, rootfd);
        if (r < 0)
                return r;
        r = etc_setup_timezone(c, rootfd);
        if (r < 0)
                return r;

        r = mount_custom(c, rootfd);
        if (r < 0)
                return r;

        if (c->opt.read_only) {
                r = remount_in_root(rootfd, "/", MS_RDONLY, false);
                if (r < 0)
                        return r;
        }

        *ret_rootfd = TAKE_FD(rootfd);
        *ret_notify_fd = TAKE_FD(notify_fd);
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
