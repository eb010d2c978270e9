/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Resolution: from what the user asked for (SpawnOptions) and what this host and the tree have
 * to the values the container is started with (SpawnResolved). Everything spawn probes before
 * it clones happens here, so the later steps (the mount plan above all) are pure functions of
 * the result. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "fd-util.h"
#include "log.h"
#include "name-util.h"
#include "os-release.h"
#include "spawn-cgroup.h"
#include "spawn-journal.h"
#include "spawn-options.h"
#include "spawn-root-assemble.h"
#include "spawn-selinux.h"

static int resolve_directory(const SpawnOptions *o, SpawnResolved *r) {
        struct stat st;

        /* -i, -x, --volatile: spawn_root_assemble() put the tree on the stage already. */
        if (!r->directory) {
                if (!o->directory)
                        return log_error_errno(EINVAL, "No container tree given; use -D/--directory=PATH.");
                if (stat(o->directory, &st) < 0)
                        return log_error_errno(errno, "Container tree %s: %m", o->directory);
                if (!S_ISDIR(st.st_mode))
                        return log_error_errno(ENOTDIR, "Container tree %s is not a directory.", o->directory);

                r->directory = realpath(o->directory, NULL);
                if (!r->directory)
                        return log_error_errno(errno, "Failed to resolve %s: %m", o->directory);
        }

        if (streq(r->directory, "/"))
                return log_error_errno(EINVAL, "Refusing to use the host's root directory as a container tree.");

        /* Resolved inside the tree: a /usr symlink pointing out of it does not count. */
        _cleanup_close_ int rootfd = open(r->directory, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0)
                return log_error_errno(errno, "Failed to open %s: %m", r->directory);
        _cleanup_close_ int usrfd = open_in_root(rootfd, "/usr", O_PATH | O_DIRECTORY, 0);
        if (usrfd < 0)
                return log_error_errno(usrfd, "%s %s doesn't look like an OS tree (no /usr directory).",
                                       r->image ? "Image" : "Directory", spawn_resolved_origin(r));
        return 0;
}

static int resolve_identity(const SpawnOptions *o, SpawnResolved *r) {
        int k;

        if (o->machine)
                k = strdup_to(&r->machine, o->machine);
        else {
                /* Named by spawn_root_assemble() (an image's name, -x's random suffix) or after
                 * the directory; as nspawn, with what a host name may not contain dropped
                 * ("my_tree" runs as "mytree"). */
                const char *base = strrchr(r->directory, '/') + 1;
                k = r->machine ? 0 : strdup_to(&r->machine, base);
                if (k < 0)
                        return k;
                _cleanup_free_ char *given = strdup(r->machine);
                if (!given)
                        return log_oom();
                if (!machine_name_is_valid(hostname_cleanup(r->machine)))
                        return log_error_errno(EINVAL, "Failed to derive a machine name from '%s'; pass -M/--machine=NAME.", given);
        }
        if (k < 0)
                return k;
        k = strdup_to(&r->hostname, o->hostname ?: r->machine);
        if (k < 0)
                return k;

        r->uuid = o->uuid;
        if (id128_is_null(&r->uuid)) {
                k = id128_randomize(&r->uuid);
                if (k < 0)
                        return log_error_errno(k, "Failed to generate a machine UUID: %m");
        }
        return 0;
}

static int verify_mount_sources(const SpawnOptions *o) {
        for (size_t i = 0; i < o->n_mounts; i++) {
                const CustomMount *m = o->mounts + i;
                if (m->type != CUSTOM_MOUNT_BIND || m->source[0] == '+')
                        continue;
                if (access(m->source, F_OK) < 0)
                        return log_error_errno(errno, "Bind mount source %s: %m", m->source);
        }
        return 0;
}

/* The tree's init, in systemd-nspawn's order of preference. */
static int find_init(SpawnResolved *r, int rootfd) {
        static const char *const candidates[] = {
                "/usr/lib/systemd/systemd", "/lib/systemd/systemd", "/sbin/init", "/usr/sbin/init", "/bin/init",
        };
        struct stat st, bb;

        for (size_t i = 0; i < ELEMENTSOF(candidates); i++) {
                _cleanup_close_ int fd = open_in_root(rootfd, candidates[i], O_PATH, 0);
                if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || !(st.st_mode & 0111))
                        continue;
                if (strdup_to(&r->init_path, candidates[i]) < 0)
                        return -ENOMEM;
                r->init_kind = i < 2 ? INIT_SYSTEMD : INIT_OTHER;
                /* busybox's init is the busybox binary itself; it halts on SIGUSR2, not SIGRTMIN+3. */
                static const char *const busybox[] = { "/bin/busybox", "/usr/bin/busybox", "/sbin/busybox" };
                for (size_t j = 0; r->init_kind == INIT_OTHER && j < ELEMENTSOF(busybox); j++) {
                        _cleanup_close_ int b = open_in_root(rootfd, busybox[j], O_PATH, 0);
                        if (b >= 0 && fstat(b, &bb) >= 0 && bb.st_dev == st.st_dev && bb.st_ino == st.st_ino)
                                r->init_kind = INIT_BUSYBOX;
                }
                /* sysvinit reads its inittab; it halts through /run/initctl. */
                _cleanup_close_ int inittab = -EBADF;
                if (r->init_kind == INIT_OTHER && (inittab = open_in_root(rootfd, "/etc/inittab", O_PATH, 0)) >= 0)
                        r->init_kind = INIT_SYSV;
                return 0;
        }
        return log_error_errno(ENOENT, "No init found in %s (looked for /usr/lib/systemd/systemd, /lib/systemd/systemd, /sbin/init); cannot boot it.", spawn_resolved_origin(r));
}

/* -b: KEY=VALUE arguments whose key has no dot become init's environment, as the kernel does
 * with its command line; everything else is passed on to init. */
static int split_init_arguments(const SpawnOptions *o, SpawnResolved *r) {
        for (char **a = o->command; a && *a; a++) {
                const char *eq = strchr(*a, '=');
                if (eq && !memchr(*a, '.', (size_t) (eq - *a)) && env_assignment_is_valid(*a)) {
                        if (strv_env_set(&r->init_env, *a) < 0)
                                return log_oom();
                } else if (strv_extend(&r->command, *a) < 0)
                        return log_oom();
        }
        return 0;
}

static int resolve_boot(const SpawnOptions *o, SpawnResolved *r) {
        int k;

        if (o->as_pid2)
                return log_error_errno(EINVAL, "--boot and --as-pid2 exclude each other.");
        if (o->user)
                return log_error_errno(EINVAL, "--user= is not supported with --boot; the guest's init runs as root.");

        _cleanup_close_ int rootfd = open(r->directory, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0)
                return log_error_errno(errno, "Failed to open %s: %m", r->directory);
        _cleanup_close_ int osr = os_release_open(rootfd);
        if (osr == -ENOENT)
                return log_error_errno(ENOENT, "%s %s has no /etc/os-release or /usr/lib/os-release; refusing to boot something that is not an OS tree.",
                                       r->image ? "Image" : "Directory", spawn_resolved_origin(r));
        if (osr < 0)
                return log_error_errno(osr, "Failed to open the os-release file of %s: %m", spawn_resolved_origin(r));

        k = find_init(r, rootfd);
        if (k < 0)
                return k;
        return split_init_arguments(o, r);
}

/* Labels are applied only where SELinux is: with it disabled, asking for a label is an error unless
 * $BERTH_SELINUX_OPTIONAL=1 says the same command line is meant for hosts with and without it. */
static int resolve_selinux(const SpawnOptions *o, SpawnResolved *r) {
        const char *const labels[] = { o->selinux_context, o->selinux_apifs_context };
        const char *const names[] = { "--selinux-context", "--selinux-apifs-context" };
        int k;

        r->selinux_enabled = selinux_host_enabled();
        if (!o->selinux_context && !o->selinux_apifs_context)
                return 0;
        /* A bundle's labels are for SELinux hosts; runc ignores them elsewhere, so do we. */
        bool from_bundle = o->source[SPAWN_FIELD_SELINUX_CONTEXT] != SPAWN_SOURCE_COMMAND_LINE &&
                           o->source[SPAWN_FIELD_SELINUX_APIFS_CONTEXT] != SPAWN_SOURCE_COMMAND_LINE;
        if (!r->selinux_enabled && from_bundle) {
                log_debug("SELinux is not enabled on this host; ignoring the bundle's labels.");
                return 0;
        }
        if (!r->selinux_enabled) {
                const char *opt = getenv("BERTH_SELINUX_OPTIONAL");
                if (!isempty(opt) && parse_boolean(opt) > 0) {
                        if (!o->quiet)
                                log_warning("SELinux is not enabled on this host; ignoring the requested labels.");
                        return 0;
                }
                return log_error_errno(EOPNOTSUPP, "SELinux is not enabled on this host (no selinuxfs at %s); cannot apply %s=.",
                                       SELINUXFS_PATH, o->selinux_context ? names[0] : names[1]);
        }
        for (size_t i = 0; i < ELEMENTSOF(labels); i++) {
                if (!labels[i])
                        continue;
                k = selinux_context_check(labels[i]);
                if (k == -EINVAL)
                        return log_error_errno(k, "SELinux context '%s' (%s=) is not valid in the loaded policy.", labels[i], names[i]);
                if (k < 0)
                        return log_error_errno(k, "Failed to check SELinux context '%s': %m", labels[i]);
        }
        if (strdup_to(&r->selinux_context, o->selinux_context) < 0 ||
            strdup_to(&r->selinux_apifs_context, o->selinux_apifs_context) < 0)
                return -ENOMEM;
        return 0;
}

static int resolve_cgroup_layout(SpawnResolved *r) {
        CGroupMode host;
        int k;

        k = cg_detect_mode(&host);
        /* "ip netns exec" mounts a fresh sysfs on /sys, which hides the cgroup file systems
         * below it: say so rather than "No medium found". */
        if (k == -ENOMEDIUM)
                return log_error_errno(k, "No cgroup file system is mounted on /sys/fs/cgroup (a fresh /sys, as \"ip netns exec\" mounts, hides it; use nsenter --net= instead).");
        if (k < 0)
                return log_error_errno(k, "Failed to detect the host's cgroup mode (is /sys/fs/cgroup mounted?): %m");
        /* $BERTH_CGROUP_LAYOUT overrides the choice (like nspawn's
         * $SYSTEMD_NSPAWN_UNIFIED_HIERARCHY), for guests whose needs we cannot detect. */
        const char *layout = getenv("BERTH_CGROUP_LAYOUT");
        if (!isempty(layout)) {
                r->cgroup_layout = cgroup_mode_from_string(layout);
                if (r->cgroup_layout < 0)
                        return log_error_errno(EINVAL, "Invalid $BERTH_CGROUP_LAYOUT '%s' (want unified, hybrid or legacy).", layout);
                return 0;
        }
        return spawn_cgroup_pick_layout(r->directory, host, &r->cgroup_layout);
}

/* $container_host_*: the host's os-release identity, as nspawn passes it, so a guest can tell
 * what it runs on. A host without os-release gives none of them. */
static int resolve_host_env(SpawnResolved *r) {
        static const struct {
                const char *key, *var;
        } vars[] = {
                { "ID", "container_host_id" },
                { "VERSION_ID", "container_host_version_id" },
                { "BUILD_ID", "container_host_build_id" },
                { "VARIANT_ID", "container_host_variant_id" },
                { "IMAGE_ID", "container_host_image_id" },
                { "IMAGE_VERSION", "container_host_image_version" },
        };
        _cleanup_strv_free_ char **osr = NULL;

        int k = os_release_parse(AT_FDCWD, &osr);
        if (k == -ENOMEM)
                return log_oom();
        if (k < 0) {
                log_debug_errno(k, "Failed to read the host's os-release, not setting $container_host_*: %m");
                return 0;
        }
        for (size_t i = 0; i < ELEMENTSOF(vars); i++) {
                const char *v = strv_env_get(osr, vars[i].key);
                if (!isempty(v) && strv_env_setf(&r->host_env, vars[i].var, v) < 0)
                        return log_oom();
        }
        return 0;
}

static int lock_range(uint32_t base, void *userdata) {
        SpawnResolved *r = userdata;
        return userns_range_lock(USERNS_LOCK_DIR, base, &r->userns_lock_fd);
}

/* A fixed range must not hold a host user's or group's ID nor be another container's. */
static int claim_fixed_range(SpawnResolved *r, const uint32_t *ids, size_t n) {
        if (userns_range_overlaps(r->uid_shift, r->uid_range, ids, n))
                return log_error_errno(EBUSY, "UID range %" PRIu32 ":%" PRIu32 " overlaps the host's users or groups.",
                                       r->uid_shift, r->uid_range);
        int k = lock_range(r->uid_shift, r);
        if (k < 0)
                return log_error_errno(k, "Failed to lock UID range %" PRIu32 ": %m", r->uid_shift);
        if (k > 0)
                return log_error_errno(EBUSY, "UID range %" PRIu32 ":%" PRIu32 " is in use by another container.",
                                       r->uid_shift, r->uid_range);
        return 0;
}

static int resolve_userns_range(const SpawnOptions *o, SpawnResolved *r, const struct stat *tree,
                                const uint32_t *ids, size_t n);

/* map: whether a detached, idmapped copy of the tree (every partition of an image) can be made,
 * tried here so that a file system that cannot be idmapped is one line before anything started. The on-disk range
 * the tree is in (0 for a tree as unpacked) maps onto the container's. Returns -EOPNOTSUPP when
 * the kernel or a file system of the tree cannot. */
static int idmap_root(const SpawnOptions *o, SpawnResolved *r, uint32_t tree_base) {
        _cleanup_close_ int userns_fd = userns_make_fd(tree_base, r->uid_shift, r->uid_range);
        if (userns_fd < 0)
                return log_error_errno(userns_fd, "Failed to create a user namespace for the ID mapping: %m");
        /* A probe: the copy is discarded, the root provider makes its own for every boot. */
        _cleanup_close_ int fd = userns_idmap_clone(AT_FDCWD, r->directory, true, userns_fd);
        if (fd == -EINVAL || fd == -EPERM || fd == -EOPNOTSUPP || fd == -ENOSYS) {
                if (o->private_users_ownership == USERNS_OWNERSHIP_MAP)
                        return log_error_errno(EOPNOTSUPP, "--private-users-ownership=map: the file system of %s cannot be ID-mapped (%s).",
                                               spawn_resolved_origin(r), strerror(-fd));
                return -EOPNOTSUPP;
        }
        if (fd < 0)
                return log_error_errno(fd, "Failed to ID-map %s: %m", spawn_resolved_origin(r));
        r->idmap_root_userns_fd = TAKE_FD(userns_fd);  /* released with r */
        r->ownership = USERNS_OWNERSHIP_MAP;
        r->disk_root_uid = tree_base;
        return 0;
}

/* How the tree's owners fit the range: already in it, idmapped, or shifted once. */
static int resolve_userns_ownership(const SpawnOptions *o, SpawnResolved *r, const struct stat *tree) {
        UsernsOwnership want = o->private_users_ownership >= 0 ? o->private_users_ownership :
                               o->private_users.mode == USERNS_PICK ? USERNS_OWNERSHIP_AUTO : USERNS_OWNERSHIP_OFF;
        uint32_t tree_base = (uint32_t) tree->st_uid & ~UINT32_C(0xFFFF);
        int k;

        r->ownership = USERNS_OWNERSHIP_OFF;
        r->disk_root_uid = tree_base;
        /* Nothing to do: asked for nothing, identity, or the tree is in the range already (shifted
         * by an earlier run, or --private-users=yes). */
        if (want == USERNS_OWNERSHIP_OFF || o->private_users.mode == USERNS_IDENTITY || tree_base == r->uid_shift)
                return 0;
        if (want == USERNS_OWNERSHIP_MAP || want == USERNS_OWNERSHIP_AUTO) {
                k = idmap_root(o, r, tree_base);
                if (k != -EOPNOTSUPP || want == USERNS_OWNERSHIP_MAP)
                        return k;
                log_debug("ID-mapped mounts are not available for %s, shifting its ownership instead.", spawn_resolved_origin(r));
        }
        struct statvfs sv;
        if (r->image && (r->image_read_only || (statvfs(r->directory, &sv) >= 0 && (sv.f_flag & ST_RDONLY))))
                return log_error_errno(EROFS, "Cannot shift the ownership of read-only image %s (its file systems cannot be ID-mapped).",
                                       spawn_resolved_origin(r));
        /* An image's partitions are mounts of their own below the root. */
        k = userns_shift_tree(r->directory, r->uid_shift, r->image);
        if (k < 0)
                return log_error_errno(k, "Failed to shift the ownership of %s to UID range %" PRIu32 ": %m",
                                       spawn_resolved_origin(r), r->uid_shift);
        r->ownership = USERNS_OWNERSHIP_CHOWN;
        r->disk_root_uid = r->uid_shift;
        return 0;
}

/* --bind=...:idmap binds get the container's map, rootidmap ones a namespace each that maps the
 * source's owner onto the container's root. Made here, in the host's PID namespace: the child
 * could not write the maps of a process through the host's /proc from inside its own. */
static int resolve_userns_binds(const SpawnOptions *o, SpawnResolved *r) {
        r->idmap_bind_fds = malloc(sizeof(int) * (o->n_mounts + 1));
        if (!r->idmap_bind_fds)
                return log_oom();
        for (size_t i = 0; i <= o->n_mounts; i++)
                r->idmap_bind_fds[i] = i < o->n_mounts ? -EBADF : INT_MIN;

        for (size_t i = 0; i < o->n_mounts; i++) {
                const CustomMount *m = o->mounts + i;
                if (m->type != CUSTOM_MOUNT_BIND || m->idmap == MOUNT_IDMAP_NONE)
                        continue;
                if (m->idmap == MOUNT_IDMAP_CONTAINER) {
                        if (r->idmap_userns_fd < 0)
                                r->idmap_userns_fd = userns_make_fd(0, r->uid_shift, r->uid_range);
                        if (r->idmap_userns_fd < 0)
                                return log_error_errno(r->idmap_userns_fd, "Failed to create a user namespace for the ID mapping: %m");
                        continue;
                }
                _cleanup_free_ char *in_tree = m->source[0] == '+' ? strjoin(r->directory, m->source + 1) : NULL;
                struct stat st;
                if (m->source[0] == '+' && !in_tree)
                        return log_oom();
                if (stat(in_tree ?: m->source, &st) < 0)
                        return log_error_errno(errno, "Failed to look at bind mount source %s: %m", m->source);
                r->idmap_bind_fds[i] = userns_make_fd((uint32_t) st.st_uid, r->uid_shift, 1);
                if (r->idmap_bind_fds[i] < 0)
                        return log_error_errno(r->idmap_bind_fds[i], "Failed to create a user namespace for %s: %m", m->source);
        }
        return 0;
}

/* -U and --private-users=: the range the container's IDs map onto, locked for its lifetime. */
static int resolve_userns(const SpawnOptions *o, SpawnResolved *r) {
        const UsernsSpec *u = &o->private_users;
        _cleanup_free_ uint32_t *ids = NULL;
        size_t n = 0;
        struct stat st;
        int k;

        if (u->mode == USERNS_NO)
                return 0;
        if (stat(r->directory, &st) < 0)
                return log_error_errno(errno, "Failed to look at %s: %m", r->directory);
        k = userns_host_ids_load(NULL, &ids, &n);
        if (k < 0)
                return log_error_errno(k, "Failed to read the host's users and groups: %m");

        r->userns = true;
        r->uid_range = u->size ?: USERNS_RANGE_SIZE;
        k = resolve_userns_range(o, r, &st, ids, n);
        if (k < 0)
                return k;
        k = resolve_userns_ownership(o, r, &st);
        if (k < 0)
                return k;
        return resolve_userns_binds(o, r);
}

static int resolve_userns_range(const SpawnOptions *o, SpawnResolved *r, const struct stat *tree,
                                const uint32_t *ids, size_t n) {
        const UsernsSpec *u = &o->private_users;
        int k;

        switch (u->mode) {
        case USERNS_IDENTITY:
                r->uid_shift = 0;  /* deliberate: the host's IDs as they are */
                return 0;
        case USERNS_TREE:
                r->uid_shift = (uint32_t) tree->st_uid;
                return claim_fixed_range(r, ids, n);
        case USERNS_FIXED:
                r->uid_shift = u->base;
                return claim_fixed_range(r, ids, n);
        case USERNS_PICK:
                r->uid_range = USERNS_RANGE_SIZE;
                k = userns_pick(r->machine, tree->st_uid, ids, n, lock_range, r, &r->uid_shift);
                if (k == -EBUSY)
                        return log_error_errno(k, "No free UID range for the container.");
                if (k < 0)
                        return log_error_errno(k, "Failed to lock a UID range: %m");
                return 0;
        default:
                return log_error_errno(EINVAL, "Unknown user namespace mode.");
        }
}

int spawn_resolve(const SpawnOptions *o, SpawnResolved *r) {
        int k;

        if (geteuid() != 0)
                return log_error_errno(EPERM, "Need to be root.");

        /* The root first: after it, r->directory is the tree every check below looks at. */
        k = spawn_root_assemble(o, r);
        if (k < 0)
                return k;
        k = resolve_directory(o, r);
        if (k < 0)
                return k;
        k = resolve_identity(o, r);
        if (k < 0)
                return k;
        k = verify_mount_sources(o);
        if (k < 0)
                return k;
        k = resolve_userns(o, r);
        if (k < 0)
                return k;
        k = resolve_selinux(o, r);
        if (k < 0)
                return k;
        k = network_link_options_verify(&o->network_links, o->private_network);
        if (k < 0)
                return k;
        k = isolation_options_verify(&o->isolation, o->private_network);
        if (k < 0)
                return k;
        /* A forward needs an address of the container's own to go to, one spawn assigns: -n's or a
         * zone member's. A bridge's network addresses its members itself (nspawn forwards there
         * by asking systemd-networkd; spawn has nothing to ask). */
        if (o->n_ports > 0 && o->network_links.bridge)
                return log_error_errno(EINVAL, "--port= needs an address spawn assigns (-n or --network-zone=); with --network-bridge= the bridge's network addresses the container.");
        if (o->n_ports > 0 && !o->network_veth && !o->network_links.zone)
                return log_error_errno(EINVAL, "--port= needs -n/--network-veth.");
        const char *sc = getenv("BERTH_SECCOMP");
        r->seccomp_disabled = !isempty(sc) && parse_boolean(sc) == 0;
        k = resolve_host_env(r);
        if (k < 0)
                return k;

        if (o->boot) {
                k = resolve_boot(o, r);
                if (k < 0)
                        return k;
        } else if (o->command) {
                r->command = strv_copy(o->command);
                if (!r->command)
                        return log_oom();
        }

        k = spawn_journal_resolve(o, r);
        if (k < 0)
                return k;

        k = resolve_cgroup_layout(r);
        if (k < 0)
                return k;

        bool tty = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
        r->console_mode = o->console_mode;
        if (r->console_mode < 0)
                r->console_mode = tty ? CONSOLE_INTERACTIVE : CONSOLE_READ_ONLY;
        else if (r->console_mode == CONSOLE_AUTOPIPE)
                r->console_mode = tty ? CONSOLE_INTERACTIVE : CONSOLE_PIPE;

        r->kill_signal = o->kill_signal;
        if (r->kill_signal == 0) {
                r->kill_signal = !o->boot ? SIGKILL : r->init_kind == INIT_BUSYBOX ? SIGUSR2 : SIGRTMIN + 3;
                r->halt_via_initctl = o->boot && r->init_kind == INIT_SYSV;
        }
        return 0;
}
