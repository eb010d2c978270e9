/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <linux/securebits.h>
#include <sys/fsuid.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fd-util.h"
#include "log.h"
#include "path-util.h"
#include "process-util.h"
#include "spawn-caps.h"
#include "spawn-cgroup.h"
#include "spawn-child.h"
#include "spawn-isolation.h"
#include "spawn-mount.h"
#include "spawn-network.h"
#include "spawn-oci.h"
#include "spawn-reboot.h"
#include "spawn-selinux.h"
#include "spawn-root.h"
#include "spawn-stub-init.h"
#include "spawn-sync.h"
#include "user-record.h"

/* Looks the user up in the container's own /etc/passwd and /etc/group (we are already inside its
 * root, with its /proc mounted). Trees without an /etc/passwd or a root entry still run as root
 * with the usual defaults. */
static int resolve_user(const char *name, UserRecord *ret, gid_t **ret_groups, size_t *ret_n) {
        _cleanup_close_ int rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0)
                return log_error_errno(errno, "Failed to open the container's root directory: %m");
        int r = user_record_lookup_in_root(AT_FDCWD, rootfd, name, ret, ret_groups, ret_n);
        if (r == -ESRCH)
                return log_error_errno(r, "User '%s' does not exist in the container.", name);
        if (r < 0)
                return log_error_errno(r, "Failed to read the container's /etc/passwd or /etc/group: %m");
        return 0;
}

static int build_environment(const SpawnConfig *c, const UserRecord *u, char ***ret) {
        _cleanup_strv_free_ char **env = NULL;
        char uuid[37];
        const char *term = NULL;

        if (c->res.console_mode == CONSOLE_INTERACTIVE)
                term = getenv("TERM");
        if (isempty(term))
                term = c->res.console_mode == CONSOLE_PIPE ? "dumb" : "vt220";

        if (strv_env_setf(&env, "PATH", DEFAULT_PATH) < 0 ||
            strv_env_setf(&env, "container", "berth") < 0 ||
            strv_env_setf(&env, "container_uuid", id128_to_uuid_string(&c->res.uuid, uuid)) < 0 ||
            strv_env_setf(&env, "HOME", u->home) < 0 ||
            strv_env_setf(&env, "USER", u->name) < 0 ||
            strv_env_setf(&env, "LOGNAME", u->name) < 0 ||
            strv_env_setf(&env, "SHELL", u->shell) < 0 ||
            strv_env_setf(&env, "TERM", term) < 0)
                return log_oom();
        if (strv_env_setf(&env, "NOTIFY_SOCKET", "/run/host/notify") < 0)
                return log_oom();
        for (char **e = c->res.host_env; e && *e; e++)
                if (strv_env_set(&env, *e) < 0)
                        return log_oom();
        for (char **e = c->res.init_env; e && *e; e++)
                if (strv_env_set(&env, *e) < 0)
                        return log_oom();
        for (char **e = c->opt.setenv; e && *e; e++)
                if (strv_env_set(&env, *e) < 0)
                        return log_oom();
        *ret = TAKE_PTR(env);
        return 0;
}

/* Makes the container's console the payload's controlling terminal and stdio. */
static int open_console(const SpawnConfig *c) {
        if (c->res.console_mode == CONSOLE_PIPE)
                return -EBADF;
        int fd = open("/dev/console", O_RDWR | O_NOCTTY | O_CLOEXEC);
        return fd < 0 ? log_error_errno(errno, "Failed to open the container's console: %m") : fd;
}

/* fd: the console opened before (-U: before the user namespace, where the host's pty may be
 * nobody's), or -EBADF to open it here; taken either way. */
static int setup_stdio(const SpawnConfig *c, int fd) {
        if (setsid() < 0) {
                safe_close(fd);
                return log_error_errno(errno, "Failed to start a new session: %m");
        }
        if (c->res.console_mode == CONSOLE_PIPE)
                return 0;

        if (fd < 0)
                fd = open_console(c);
        if (fd < 0)
                return fd;
        if (ioctl(fd, TIOCSCTTY, 0) < 0) {
                safe_close(fd);
                return log_error_errno(errno, "Failed to make the console the controlling terminal: %m");
        }
        for (int i = 0; i < 3; i++)
                if (dup2(fd, i) < 0) {
                        safe_close(fd);
                        return log_error_errno(errno, "Failed to set up standard I/O: %m");
                }
        safe_close(fd);
        return 0;
}

static int change_user(const UserRecord *u, const gid_t *groups, size_t n_groups, uint64_t ambient) {
        if (u->uid == 0 && u->gid == 0 && n_groups == 0)
                return 0;
        /* Ambient capabilities survive the switch away from root only through KEEPCAPS. */
        if (ambient != 0 && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
                return log_error_errno(errno, "Failed to keep capabilities across the user change: %m");
        if (setgroups(n_groups, groups) < 0)
                return log_error_errno(errno, "Failed to set supplementary groups: %m");
        if (setresgid(u->gid, u->gid, u->gid) < 0)
                return log_error_errno(errno, "Failed to change to group %u: %m", (unsigned) u->gid);
        if (setresuid(u->uid, u->uid, u->uid) < 0)
                return log_error_errno(errno, "Failed to change to user %s: %m", u->name);
        return 0;
}

/* The payload's program, arguments and environment, decided inside the container's root. */
typedef struct ChildExec {
        UserRecord user;
        gid_t *groups;
        size_t n_groups;
        char **env;
        char **argv;
        char *exe;
} ChildExec;

static void child_exec_done(ChildExec *x) {
        user_record_done(&x->user);
        free(x->groups);
        strv_free(x->env);
        strv_free(x->argv);
        free(x->exe);
}

/* --oci-bundle: the process exactly as config.json has it: numeric IDs (no passwd lookup), its
 * environment and nothing else, argv[0] searched in its own PATH. */
static int child_exec_prepare_oci(const SpawnConfig *c, ChildExec *x) {
        const OciProcess *p = &c->opt.oci->process;
        char name[32];
        int r;

        snprintf(name, sizeof(name), "%u", (unsigned) p->uid);
        x->user = (UserRecord) { .name = strdup(name), .uid = p->uid, .gid = p->gid };
        if (!x->user.name)
                return log_oom();
        if (p->n_additional_gids > 0) {
                x->groups = malloc(p->n_additional_gids * sizeof(gid_t));
                if (!x->groups)
                        return log_oom();
                memcpy(x->groups, p->additional_gids, p->n_additional_gids * sizeof(gid_t));
                x->n_groups = p->n_additional_gids;
        }
        x->env = strv_copy(c->opt.setenv ?: (char *[]) { NULL });
        x->argv = strv_copy(c->res.command);
        if (!x->env || !x->argv)
                return log_oom();
        r = find_executable(x->argv[0], strv_env_get(x->env, "PATH") ?: DEFAULT_PATH, &x->exe);
        if (r < 0)
                return log_error_errno(r, "Command '%s' not found in the container tree %s: %m", x->argv[0],
                                       spawn_resolved_origin(&c->res));
        return 0;
}

static int child_exec_prepare(const SpawnConfig *c, ChildExec *x) {
        const char *what;
        int r;

        if (c->opt.oci && c->opt.source[SPAWN_FIELD_USER] != SPAWN_SOURCE_COMMAND_LINE)
                return child_exec_prepare_oci(c, x);

        r = resolve_user(c->opt.user ?: "root", &x->user, &x->groups, &x->n_groups);
        if (r < 0)
                return r;
        r = build_environment(c, &x->user, &x->env);
        if (r < 0)
                return r;

        if (c->opt.boot) {
                /* init gets its own path as argv[0], then the arguments for it. */
                what = c->res.init_path;
                if (strv_extend(&x->argv, c->res.init_path) < 0)
                        return log_oom();
                for (char **a = c->res.command; a && *a; a++)
                        if (strv_extend(&x->argv, *a) < 0)
                                return log_oom();
        } else if (c->res.command) {
                x->argv = strv_copy(c->res.command);
                what = c->res.command[0];
        } else {
                /* A login shell, as nspawn starts it: argv[0] "-sh". */
                const char *base = strrchr(x->user.shell, '/');
                if (strv_consume(&x->argv, strjoin("-", base ? base + 1 : x->user.shell)) < 0)
                        return log_oom();
                what = x->user.shell;
        }
        if (!x->argv)
                return log_oom();
        r = find_executable(what, strv_env_get(x->env, "PATH"), &x->exe);
        if (r < 0)
                return log_error_errno(r, "Command '%s' not found in the container tree %s: %m", what, spawn_resolved_origin(&c->res));
        return 0;
}

/* --oci-bundle: our PID as the host sees it, for the hooks' state (we are PID 1 inside). Read
 * from the host's /proc before pivot_root. */
static pid_t child_host_pid = 0;

/* --oci-bundle, first thing in the outer phase: the namespaces config.json names by path. */
static int child_oci_outer_start(const SpawnConfig *c) {
        char buf[32];
        ssize_t n = readlink("/proc/self", buf, sizeof(buf) - 1);
        if (n > 0) {
                buf[n] = '\0';
                child_host_pid = (pid_t) atoi(buf);
        }
        return spawn_oci_join_namespaces(c);
}

/* --oci-bundle, once the mounts are done and before pivot_root: prestart and createRuntime in the
 * supervisor (the runtime's namespaces), then createContainer here, in the container's namespaces,
 * as the runtime-spec orders them. */
static int child_oci_create_hooks(const ChildContext *ctx) {
        const SpawnConfig *c = ctx->config;
        int r;

        if (spawn_oci_has_hooks(c, OCI_HOOK_PRESTART) || spawn_oci_has_hooks(c, OCI_HOOK_CREATE_RUNTIME)) {
                _cleanup_close_ int unexpected = -EBADF;
                SyncMessage msg;
                r = sync_send(ctx->sync_fd, SYNC_OCI_HOOKS, 0, 0, NULL, -EBADF);
                if (r < 0)
                        return log_error_errno(r, "Failed to ask the supervisor to run the hooks: %m");
                r = sync_receive(ctx->sync_fd, &msg, &unexpected);
                if (r <= 0 || msg.type != SYNC_OCI_HOOKS_DONE)
                        return r < 0 ? r : -EPIPE; /* a hook failed: the supervisor said which */
        }
        return spawn_oci_hooks_run(c, OCI_HOOK_CREATE_CONTAINER, child_host_pid);
}

/* --oci-bundle, inside the container's root: its propagation, umask and startContainer hooks
 * (run as root in the container, before the filter and the user switch). */
static int child_oci_after_pivot(const SpawnConfig *c) {
        const OciConfig *oci = c->opt.oci;
        const char *prop = oci->rootfs_propagation;

        if (prop) {
                bool rec = prop[0] == 'r';
                const char *p = rec ? prop + 1 : prop;
                unsigned long f = streq(p, "shared") ? MS_SHARED : streq(p, "slave") ? MS_SLAVE :
                                  streq(p, "private") ? MS_PRIVATE : MS_UNBINDABLE;
                if (mount(NULL, "/", NULL, f | (rec ? MS_REC : 0), NULL) < 0)
                        return log_error_errno(errno, "Failed to set the root's propagation to %s: %m", prop);
        }
        /* runc's default when the bundle names none, whatever spawn's caller had. */
        umask(oci->process.has_umask ? oci->process.umask : 0022);
        return spawn_oci_hooks_run(c, OCI_HOOK_START_CONTAINER, child_host_pid);
}

/* -a: we stay PID 1 as the stub init, the payload runs as our child. Returns in the payload. */
static int child_fork_stub_init(const ChildContext *ctx) {
        sigset_t all, old;

        /* Block before forking so a payload that exits at once cannot lose its SIGCHLD. */
        sigfillset(&all);
        sigprocmask(SIG_SETMASK, &all, &old);
        pid_t pid = fork();
        if (pid < 0)
                return log_error_errno(errno, "Failed to fork the payload: %m");
        if (pid > 0) {
                /* The stub keeps nothing of the supervisor's: PID 2 could reach any of its
                 * descriptors through /proc/1/fd (the host's terminal, to write to or push input
                 * into with TIOCSTI). The payload's exit status says how it ended, and the
                 * payload reports its own setup failures to the supervisor. */
                log_set_sink(NULL);
                int null = open("/dev/null", O_RDWR | O_CLOEXEC);
                for (int i = 0; null >= 0 && i < 3; i++)
                        (void) dup2(null, i);
                (void) fd_close_all_except(NULL, 0);
                log_set_fd(STDERR_FILENO);
                /* A session of its own: the supervisor's terminal stops being ours. */
                (void) setsid();
                stub_init_run(pid, ctx->config->res.machine);
        }
        sigprocmask(SIG_SETMASK, &old, NULL);
        return 0;
}

/* The container's filter into *ret (left empty with $BERTH_SECCOMP=0). The usual case copies the
 * program compiled at build time and returns 1: spawn's own remaining setup needs nothing that
 * program refuses. */
static int syscall_filter_prepare(const SpawnConfig *c, uint64_t bounding, SeccompProgram *ret) {
        int r;

        if (c->res.seccomp_disabled)
                return 0;
        /* A bundle gets its own filter or, as with runc, none. */
        if (c->opt.oci)
                return c->opt.oci->seccomp ? spawn_oci_seccomp_build(c->opt.oci->seccomp, ret) : 0;
        if (seccomp_program_is_default(&c->opt.isolation.syscall_filter, bounding, capability_container_set(false))) {
                size_t size = seccomp_default_n * sizeof(struct sock_filter);
                void *copy = malloc(size);
                if (!copy)
                        return log_oom();
                *ret = (SeccompProgram) { .insns = memcpy(copy, seccomp_default_insns, size), .n_insns = seccomp_default_n };
                return 1;
        }
        r = seccomp_program_build(&c->opt.isolation.syscall_filter, bounding, ret);
        if (r < 0)
                return log_error_errno(r, "Failed to compile the system call filter: %m");
        return 0;
}

/* Under -U, what the mount plan creates in the tree and in the API file systems (mount points,
 * device nodes, /etc/resolv.conf, the notify socket) belongs to the container's root, not to the
 * host's, which is nobody inside (and which an idmapped tree cannot even hold: creating a file
 * there as host root fails with EOVERFLOW). The file system IDs say who creates; keeping the
 * capabilities across the change (SECBIT_NO_SETUID_FIXUP) keeps our privileges. Undone before
 * anything else, so the payload never sees the securebit. */
static int child_fsids_as_container_root(const SpawnConfig *c, int *saved_securebits) {
        uint32_t id = c->res.uid_shift;

        if (!c->res.userns || id == 0)
                return 0;
        *saved_securebits = prctl(PR_GET_SECUREBITS);
        if (*saved_securebits < 0 || prctl(PR_SET_SECUREBITS, *saved_securebits | SECBIT_NO_SETUID_FIXUP) < 0)
                return log_error_errno(errno, "Failed to keep capabilities across a change of file system IDs: %m");
        (void) setfsgid(id);
        (void) setfsuid(id);
        if ((uint32_t) setfsuid((uid_t) -1) != id)
                return log_error_errno(EPERM, "Failed to take the container's root as file system ID.");
        return 1;
}

static int child_fsids_restore(int saved_securebits) {
        (void) setfsuid(0);
        (void) setfsgid(0);
        if (prctl(PR_SET_SECUREBITS, saved_securebits) < 0)
                return log_error_errno(errno, "Failed to restore the securebits: %m");
        return 0;
}

/* The outer phase. Starts in: a fresh clone in new mount, PID, UTS, IPC (and with
 * --private-network, network: under -U the supervisor's, owned by the container's user
 * namespace) namespaces, as their PID 1; still in the host's user and cgroup
 * namespaces, with the host's root and working directory, a copy of the host's mount tree
 * (propagation as the host's), root credentials with every capability, stdio the supervisor's.
 * Ends with the container's mount tree complete below *ret_rootfd (not yet pivoted into), in the
 * container's own cgroup namespace, the notify socket handed to the supervisor. */
static int child_outer_phase(const ChildContext *ctx, int *ret_rootfd, SeccompProgram *filter) {
        const SpawnConfig *c = ctx->config;
        SyncMessage msg;
        int r;

        safe_close(ctx->close_fd);

        /* If the supervisor dies before the container is set up, the container dies with it. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
                return log_error_errno(errno, "Failed to set parent death signal: %m");
        if (c->opt.oci) {
                r = child_oci_outer_start(c);
                if (r < 0)
                        return r;
        }

        /* --network-namespace-path: before anything is mounted, so the /sys we mount shows that
         * namespace's interfaces. */
        if (c->opt.network_links.netns_path) {
                _cleanup_close_ int netns = open(c->opt.network_links.netns_path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
                if (netns < 0 || setns(netns, CLONE_NEWNET) < 0)
                        return log_error_errno(errno, "Failed to join network namespace %s: %m", c->opt.network_links.netns_path);
        }

        /* The caller's session keyring (and the keys in it) stays outside; nspawn does the same.
         * Keys are not namespaced: the filter keeps the payload away from keyctl(). */
        r = keyring_join_fresh_session();
        if (r < 0 && r != -ENOSYS)
                return log_error_errno(r, "Failed to create a session keyring for the container: %m");

        _cleanup_close_ int rootfd = -EBADF;
        r = root_provider_mount(ctx->root, c, &rootfd);
        if (r < 0)
                return r;

        /* The mounts and the syscall filter need nothing from the supervisor: build them while it
         * sets up our cgroups (or registers us), on the other CPU. */
        MountContext m = { .config = c, .rootfd = rootfd, .notify_fd = -EBADF, .nameserver = ctx->nameserver };
        int securebits = 0, fsids = child_fsids_as_container_root(c, &securebits);
        if (fsids < 0)
                return fsids;
        r = mount_plan_run(ctx->plan, MOUNT_PHASE_EARLY, &m);
        _cleanup_close_ int notify_fd = m.notify_fd;
        if (r < 0)
                return r;
        if (fsids > 0 && (r = child_fsids_restore(securebits)) < 0)
                return r;
        r = syscall_filter_prepare(c, capability_options_bounding(&c->opt.isolation.caps, c->opt.private_network), filter);
        if (r < 0)
                return r;
        if (r > 0) {
                /* Loading costs the kernel a translation of every instruction: do it here, while
                 * the supervisor still works on our cgroups, not on the way to exec. */
                r = seccomp_program_install(filter);
                if (r < 0)
                        return log_error_errno(r, "Failed to install the system call filter: %m");
                seccomp_program_done(filter);
        }

        _cleanup_close_ int unexpected = -EBADF;
        r = sync_receive(ctx->sync_fd, &msg, &unexpected);
        if (r <= 0 || msg.type != SYNC_GO)
                return r < 0 ? r : -EPIPE; /* the supervisor is gone or failed: it said why */

        /* The supervisor has placed us; the cgroup namespace now roots at our own cgroup, and
         * only now can the hierarchy the guest sees be mounted. */
        if ((!c->opt.oci || spawn_oci_wants_cgroup_ns(c)) && unshare(CLONE_NEWCGROUP) < 0)
                return log_error_errno(errno, "Failed to create a cgroup namespace: %m");
        r = mount_plan_run(ctx->plan, MOUNT_PHASE_CGROUP_NS, &m);
        if (r < 0)
                return r;

        /* The supervisor listens on the notify socket; we only created it inside the tree. */
        r = sync_send(ctx->sync_fd, SYNC_NOTIFY_FD, 0, 0, NULL, notify_fd);
        if (r < 0)
                return log_error_errno(r, "Failed to pass the notify socket to the supervisor: %m");
        if (c->opt.oci) {
                r = child_oci_create_hooks(ctx);
                if (r < 0)
                        return r;
        }
        *ret_rootfd = TAKE_FD(rootfd);
        return 0;
}

/* -U: a user namespace of the container's own, entered as late as possible, because everything
 * before it needs the host's privileges (the hostname and loopback device of namespaces the host's
 * user namespace owns, pivot_root, rlimits and the OOM score). The supervisor writes our ID maps
 * (with a private network it made the namespace already, owning our network namespace, and we
 * join it); then we are root of the new namespace and take new mount, UTS and IPC namespaces it owns, so the
 * container's root may mount and set its hostname there. Creating the namespace resets the
 * bounding set to full: the caller limits it after this. */
static int child_enter_userns(const ChildContext *ctx) {
        _cleanup_close_ int unexpected = -EBADF;
        SyncMessage msg;
        int r;

        if (ctx->userns_fd >= 0) {
                /* Made and mapped by the supervisor, with our network namespace: join it. */
                if (setns(ctx->userns_fd, CLONE_NEWUSER) < 0)
                        return log_error_errno(errno, "Failed to join the container's user namespace: %m");
                safe_close(ctx->userns_fd);
        } else {
                if (unshare(CLONE_NEWUSER) < 0)
                        return log_error_errno(errno, "Failed to create a user namespace: %m");
                r = sync_send(ctx->sync_fd, SYNC_USERNS, 0, 0, NULL, -EBADF);
                if (r < 0)
                        return log_error_errno(r, "Failed to ask the supervisor for ID maps: %m");
                r = sync_receive(ctx->sync_fd, &msg, &unexpected);
                if (r <= 0 || msg.type != SYNC_USERNS_MAPPED)
                        return r < 0 ? r : -EPIPE; /* the supervisor failed and said why */
        }

        if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
                return log_error_errno(errno, "Failed to become root of the user namespace: %m");
        /* A change of credentials cleared it. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
                return log_error_errno(errno, "Failed to set parent death signal: %m");
        if (unshare(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC) < 0)
                return log_error_errno(errno, "Failed to create namespaces in the user namespace: %m");
        return 0;
}

/* -U: our PID namespace is the host user namespace's, so the guest's root may not reboot(2) it;
 * the supervisor answers reboot(2) instead. Before the rlimits: a low RLIMIT_NOFILE must not
 * keep the listener from being made. */
static int child_reboot_listener(const ChildContext *ctx) {
        _cleanup_close_ int listener = reboot_listener_install();
        if (listener == -EOPNOTSUPP)
                return 0;
        if (listener < 0)
                return log_error_errno(listener, "Failed to install the reboot(2) listener: %m");
        int r = sync_send(ctx->sync_fd, SYNC_REBOOT_FD, 0, 0, NULL, listener);
        if (r < 0)
                return log_error_errno(r, "Failed to pass the reboot(2) listener to the supervisor: %m");
        return 0;
}

/* The inner phase. Starts in: every namespace of the container (mount, PID, UTS, IPC, cgroup,
 * maybe network) as PID 1, root credentials with every capability, the mount tree complete
 * below rootfd but the host's root still "/", stdio the supervisor's. Ends by exec'ing the
 * payload as PID 1 (or PID 2 under the stub init), with the container's root, user, bounded
 * capabilities and console. */
static int child_inner_phase(const ChildContext *ctx, int rootfd, const SeccompProgram *filter) {
        const SpawnConfig *c = ctx->config;
        _cleanup_(child_exec_done) ChildExec x = {};
        int r;

        /* A bundle's hostname only where it asked for one (it may share the host's UTS namespace). */
        bool set_hostname = !c->opt.oci || c->opt.source[SPAWN_FIELD_HOSTNAME] != SPAWN_SOURCE_DEFAULT;
        if (set_hostname && sethostname(c->res.hostname, strlen(c->res.hostname)) < 0)
                return log_error_errno(errno, "Failed to set hostname: %m");
        if (c->opt.oci) {
                r = spawn_oci_sysctl_apply(c);
                if (r < 0)
                        return r;
        }
        if (c->opt.private_network) {
                r = network_loopback_up();
                if (r < 0)
                        return log_error_errno(r, "Failed to bring up the loopback device: %m");
        }

        r = mount_pivot_root(rootfd);
        if (r < 0)
                return r;
        if (c->opt.oci) {
                r = child_oci_after_pivot(c);
                if (r < 0)
                        return r;
        }

        r = child_exec_prepare(c, &x);
        if (r < 0)
                return r;

        if (c->res.userns) {
                r = child_reboot_listener(ctx);
                if (r < 0)
                        return r;
        }
        r = isolation_apply_process_limits(&c->opt.isolation);
        if (r < 0)
                return r;
        _cleanup_close_ int console_fd = -EBADF;
        if (c->res.userns) {
                console_fd = open_console(c);
                if (console_fd < 0 && console_fd != -EBADF)
                        return console_fd;
                r = child_enter_userns(ctx);
                if (r < 0)
                        return r;
        }
        r = capability_bounding_set_limit(capability_options_bounding(&c->opt.isolation.caps, c->opt.private_network));
        if (r < 0)
                return log_error_errno(r, "Failed to limit capabilities: %m");
        /* A policy of the user's own (which may refuse what spawn does above) only now. Still
         * root with CAP_SYS_ADMIN, so no_new_privs stays the user's choice; the filter allows
         * what is left to do. */
        r = seccomp_program_install(filter);
        if (r < 0)
                return log_error_errno(r, "Failed to install the system call filter: %m");

        r = change_user(&x.user, x.groups, x.n_groups, c->opt.isolation.caps.ambient);
        if (r < 0)
                return r;
        r = capability_ambient_apply(c->opt.isolation.caps.ambient);
        if (r < 0)
                return log_error_errno(r, "Failed to raise the ambient capabilities: %m");
        if (c->opt.isolation.no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return log_error_errno(errno, "Failed to set no_new_privs: %m");
        const char *wd = c->opt.chdir ?: (c->opt.user ? x.user.home : "/");
        if (chdir(wd) < 0) {
                if (c->opt.chdir)
                        return log_error_errno(errno, "Failed to change to directory %s: %m", wd);
                (void) chdir("/");
        }

        if (c->opt.as_pid2) {
                r = child_fork_stub_init(ctx);
                if (r < 0)
                        return r;
        }

        r = setup_stdio(c, TAKE_FD(console_fd));
        if (r < 0)
                return r;

        /* Last, so nothing spawn still does runs with a label the policy may not allow it. */
        if (c->res.selinux_context) {
                r = selinux_set_exec_context(c->res.selinux_context);
                if (r < 0)
                        return log_error_errno(r, "Failed to set the SELinux exec label %s: %m", c->res.selinux_context);
        }

        reset_all_signals();
        execve(x.exe, x.argv, x.env);
        return log_error_errno(errno, "Failed to execute %s: %m", x.exe);
}

bool spawn_userns_owns_network(const SpawnConfig *c) {
        return c->res.userns && c->opt.private_network && !c->opt.oci && !c->opt.network_links.netns_path;
}

uint64_t spawn_clone_flags(const SpawnConfig *c) {
        if (c->opt.oci)
                return spawn_oci_clone_flags(c);
        /* The cgroup namespace comes later, from the child itself: only once the supervisor moved
         * it into its cgroup does the namespace root where it should. -U's network namespace is
         * made beforehand, owned by the container's user namespace (userns_holder_clone()). */
        bool newnet = c->opt.private_network && !spawn_userns_owns_network(c);
        return CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | (newnet ? CLONE_NEWNET : 0);
}

/* The child's messages go to the supervisor, which prints them: warnings as they come, the
 * first error (the one closest to the cause; callers do not log again) once the child gives up. */
static int child_sync_fd = -EBADF;
static int child_error = 0;
static char child_reason[SYNC_REASON_MAX];

static bool child_log_sink(int level, int error, const char *message) {
        if (level > LOG_LEVEL_ERR) {
                (void) sync_send(child_sync_fd, SYNC_LOG, 0, level, message, -EBADF);
                return true;
        }
        if (child_error == 0) {
                child_error = error ?: EIO;
                snprintf(child_reason, sizeof(child_reason), "%s", message);
        }
        return true;
}

_noreturn_ void spawn_child_run(const ChildContext *ctx) {
        _cleanup_(seccomp_program_done) SeccompProgram filter = {};
        int rootfd = -EBADF, r;

        child_sync_fd = ctx->sync_fd;
        log_set_sink(child_log_sink);

        r = child_outer_phase(ctx, &rootfd, &filter);
        if (r >= 0)
                r = child_inner_phase(ctx, rootfd, &filter);

        /* Only failures get here. Nothing to tell when the supervisor is gone (or failed and said
         * so itself). */
        if (r != -EPIPE || child_error != 0) {
                if (child_error == 0) {
                        child_error = -r;
                        snprintf(child_reason, sizeof(child_reason), "Failed to set up the container: %s", strerror(-r));
                }
                (void) sync_send(ctx->sync_fd, SYNC_FAILED, child_error, LOG_LEVEL_ERR, child_reason, -EBADF);
        }
        _exit(EXIT_FAILURE);
}
