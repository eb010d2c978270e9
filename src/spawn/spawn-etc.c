/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fd-util.h"
#include "log.h"
#include "os-release.h"
#include "spawn-etc.h"
#include "spawn-mount.h"
#include "spawn-options.h"

typedef enum TargetState {
        TARGET_MISSING,
        TARGET_REGULAR,
        TARGET_SYMLINK,
        TARGET_OTHER,
} TargetState;

/* Looks at /etc/<name> in the tree without following a final symlink; returns an fd of the
 * tree's /etc directory in *ret_etc (resolved inside the tree). */
static int target_state(int rootfd, const char *name, int *ret_etc, TargetState *ret) {
        struct stat st;
        int etc = open_in_root(rootfd, "/etc", O_RDONLY | O_DIRECTORY, 0);
        if (etc < 0)
                return etc;
        if (fstatat(etc, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                if (errno != ENOENT) {
                        int r = negative_errno();
                        safe_close(etc);
                        return r;
                }
                *ret = TARGET_MISSING;
        } else
                *ret = S_ISREG(st.st_mode) ? TARGET_REGULAR : S_ISLNK(st.st_mode) ? TARGET_SYMLINK : TARGET_OTHER;
        *ret_etc = etc;
        return 0;
}

static int bind_host_file(int rootfd, const char *host, const char *target) {
        int r = mount_in_root(rootfd, host, target, NULL, MS_BIND, NULL, false);
        if (r < 0)
                return r;
        return remount_in_root(rootfd, target, MS_RDONLY | MS_NOSUID | MS_NODEV, false);
}

int etc_setup_resolv_conf(const SpawnConfig *c, int rootfd, const char *nameserver) {
        _cleanup_free_ char *data = NULL;
        _cleanup_close_ int etc = -EBADF;
        ResolvConfMode mode = c->opt.resolv_conf;
        TargetState state;
        int r;

        if (mode == RESOLV_CONF_OFF)
                return 0;
        if (mode == RESOLV_CONF_AUTO) {
                /* -n: the host side's dnsmasq, which forwards to the host's name servers (those
                 * may be on the host's localhost, out of the container's reach). */
                if (c->opt.network_veth && nameserver && !c->opt.read_only)
                        mode = RESOLV_CONF_COPY_HOST;
                /* A private network has no route to the host's name servers. */
                else if (c->opt.private_network && !c->opt.network_veth)
                        return 0;
                else
                        mode = c->opt.read_only ? RESOLV_CONF_BIND_HOST : RESOLV_CONF_COPY_HOST;
        } else
                nameserver = NULL;

        r = target_state(rootfd, "resolv.conf", &etc, &state);
        if (r == -ENOENT)
                return 0; /* no /etc in the tree: nothing to configure */
        if (r < 0)
                return log_error_errno(r, "Failed to inspect the container's /etc/resolv.conf: %m");

        if (mode == RESOLV_CONF_DELETE) {
                if ((state == TARGET_REGULAR || state == TARGET_SYMLINK) && unlinkat(etc, "resolv.conf", 0) < 0)
                        return log_error_errno(errno, "Failed to remove the container's /etc/resolv.conf: %m");
                return 0;
        }

        if (nameserver)
                r = asprintf(&data, "# Written by spawn: the host side of -n's veth link.\nnameserver %s\n", nameserver) < 0 ? -ENOMEM : 0;
        else
                r = read_file_at(AT_FDCWD, "/etc/resolv.conf", 64 * 1024, &data, NULL);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return log_warning_errno(r, "Failed to read the host's /etc/resolv.conf, ignoring: %m"), 0;

        switch (mode) {
        case RESOLV_CONF_BIND_HOST:
                if (state != TARGET_REGULAR)
                        return 0;
                return bind_host_file(rootfd, "/etc/resolv.conf", "/etc/resolv.conf");
        case RESOLV_CONF_COPY_HOST:
                /* A symlink (e.g. to systemd-resolved's stub) is the guest's own choice. */
                if (state != TARGET_REGULAR && state != TARGET_MISSING)
                        return 0;
                break;
        case RESOLV_CONF_REPLACE_HOST:
                if (state == TARGET_OTHER)
                        return 0;
                break;
        default:
                return 0;
        }
        if (state == TARGET_REGULAR) {
                /* Unchanged since the last run: leave the tree (and its mtime) alone. */
                _cleanup_free_ char *cur = NULL;
                if (read_file_at(etc, "resolv.conf", 64 * 1024, &cur, NULL) >= 0 && streq(cur, data))
                        return 0;
        }
        r = write_file_atomic_at(etc, "resolv.conf", data, strlen(data), 0644);
        if (r < 0)
                return log_warning_errno(r, "Failed to copy /etc/resolv.conf into the container, ignoring: %m"), 0;
        return 0;
}

/* The host's zone name from its /etc/localtime symlink ("Europe/Berlin"), or NULL. */
static char *host_timezone(void) {
        char buf[4096];
        ssize_t n = readlink("/etc/localtime", buf, sizeof(buf) - 1);
        if (n < 0)
                return NULL;
        buf[n] = 0;
        const char *z = strstr(buf, "zoneinfo/");
        return z ? strdup(z + strlen("zoneinfo/")) : NULL;
}

int etc_setup_timezone(const SpawnConfig *c, int rootfd) {
        _cleanup_free_ char *zone = NULL, *zonefile = NULL;
        _cleanup_close_ int etc = -EBADF;
        TimezoneMode mode = c->opt.timezone;
        TargetState state;
        int r;

        if (mode == TIMEZONE_OFF)
                return 0;
        r = target_state(rootfd, "localtime", &etc, &state);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return log_error_errno(r, "Failed to inspect the container's /etc/localtime: %m");

        zone = host_timezone();
        if (zone)
                zonefile = strjoin("/usr/share/zoneinfo/", zone);
        bool guest_has_zone = false;
        if (zonefile) {
                _cleanup_close_ int z = open_in_root(rootfd, zonefile, O_PATH, 0);
                guest_has_zone = z >= 0;
        }

        if (mode == TIMEZONE_AUTO)
                mode = guest_has_zone ? TIMEZONE_SYMLINK : c->opt.read_only ? TIMEZONE_BIND : TIMEZONE_COPY;
        if (c->opt.read_only && mode != TIMEZONE_BIND)
                return 0; /* a read-only tree cannot be changed; bind is the only option there */

        switch (mode) {
        case TIMEZONE_DELETE:
                if ((state == TARGET_REGULAR || state == TARGET_SYMLINK) && unlinkat(etc, "localtime", 0) < 0)
                        return log_error_errno(errno, "Failed to remove the container's /etc/localtime: %m");
                return 0;
        case TIMEZONE_SYMLINK: {
                if (!guest_has_zone || state == TARGET_OTHER)
                        return 0;
                _cleanup_free_ char *target = strjoin("../usr/share/zoneinfo/", zone);
                char cur[4096];
                ssize_t n = readlinkat(etc, "localtime", cur, sizeof(cur) - 1);
                if (!target)
                        return log_oom();
                if (n >= 0) {
                        cur[n] = 0;
                        if (streq(cur, target) || streq(cur, zonefile))
                                return 0;
                }
                (void) unlinkat(etc, "localtime", 0);
                if (symlinkat(target, etc, "localtime") < 0)
                        return log_warning_errno(errno, "Failed to link the container's /etc/localtime, ignoring: %m"), 0;
                return 0;
        }
        case TIMEZONE_BIND:
                if (state != TARGET_REGULAR)
                        return 0;
                return bind_host_file(rootfd, "/etc/localtime", "/etc/localtime");
        case TIMEZONE_COPY: {
                _cleanup_free_ char *data = NULL;
                size_t size;
                if (state == TARGET_OTHER)
                        return 0;
                r = read_file_at(AT_FDCWD, "/etc/localtime", 1024 * 1024, &data, &size);
                if (r < 0)
                        return 0;
                if (state == TARGET_REGULAR) {
                        /* Already the host's zone: do not rewrite the tree on every start. */
                        _cleanup_free_ char *cur = NULL;
                        size_t cur_size;
                        if (read_file_at(etc, "localtime", 1024 * 1024, &cur, &cur_size) >= 0 &&
                            cur_size == size && memcmp(cur, data, size) == 0)
                                return 0;
                }
                /* TZif data contains NULs: written with its real size. */
                r = write_file_atomic_at(etc, "localtime", data, size, 0644);
                if (r < 0)
                        return log_warning_errno(r, "Failed to copy /etc/localtime into the container, ignoring: %m"), 0;
                return 0;
        }
        default:
                return 0;
        }
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

/* The files of /run/host; the plan binds it read-only afterwards. */
int run_host_setup(const SpawnConfig *c, int rootfd, int *ret_notify_fd) {
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
        /* -U: the guest's root sends from its user namespace, where the host's root owns nothing. */
        if (c->res.userns && fchownat(fd, "notify", c->res.uid_shift, c->res.uid_shift, AT_SYMLINK_NOFOLLOW) < 0)
                return log_error_errno(errno, "Failed to hand the notify socket to the container's root: %m");
        return 0;
}
