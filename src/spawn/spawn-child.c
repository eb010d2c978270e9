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
#include "spawn-mount.h"
#include "spawn-network.h"
#include "spawn-selinux.h"
#include "spawn-stub-init.h"
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
static int setup_stdio(const SpawnConfig *c) {
        if (setsid() < 0)
                return log_error_errno(errno, "Failed to start a new session: %m");
        if (c->res.console_mode == CONSOLE_PIPE)
                return 0;

        int fd = open("/dev/console", O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (fd < 0)
                return log_error_errno(errno, "Failed to open the container's console: %m");
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

static int change_user(const UserRecord *u, const gid_t *groups, size_t n_groups) {
        if (u->uid == 0 && u->gid == 0 && n_groups == 0)
                return 0;
        if (setgroups(n_groups, groups) < 0)
                return log_error_errno(errno, "Failed to set supplementary groups: %m");
        if (setresgid(u->gid, u->gid, u->gid) < 0)
                return log_error_errno(errno, "Failed to change to group %u: %m", (unsigned) u->gid);
        if (setresuid(u->uid, u->uid, u->uid) < 0)
                return log_error_errno(errno, "Failed to change to user %s: %m", u->name);
        return 0;
}

/* Starts in: new mount/PID/UTS/IPC (and maybe network) namespaces, still in the host's root and
 * cgroup namespace, everything shared with the host's mount tree. Ends by exec'ing the payload
 * as PID 1 (or PID 2 under the stub init). */
static int child_setup_and_exec(const ChildContext *ctx) {
        const SpawnConfig *c = ctx->config;
        _cleanup_(user_record_done) UserRecord u = {};
        _cleanup_free_ gid_t *groups = NULL;
        _cleanup_strv_free_ char **env = NULL, **argv = NULL;
        _cleanup_free_ char *exe = NULL;
        size_t n_groups = 0;
        char go;
        int r;

        safe_close(ctx->close_fd);

        /* If the supervisor dies before the container is set up, the container dies with it. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
                return log_error_errno(errno, "Failed to set parent death signal: %m");

        /* The mounts need nothing from the supervisor: build them while it sets up our cgroups
         * (or registers us), on the other CPU. */
        _cleanup_close_ int rootfd = -EBADF, notify_fd = -EBADF;
        r = mount_setup_all(c, ctx->console_path, &rootfd, &notify_fd);
        if (r < 0)
                return r;

        if (read(ctx->sync_fd, &go, 1) != 1)
                return -EPIPE;
        /* The supervisor has placed us; the cgroup namespace now roots at our own cgroup, and
         * only now can the hierarchy the guest sees be mounted. */
        if (unshare(CLONE_NEWCGROUP) < 0)
                return log_error_errno(errno, "Failed to create a cgroup namespace: %m");
        r = spawn_cgroup_mount(rootfd, c->res.cgroup_layout);
        if (r < 0)
                return r;
        /* The supervisor listens on the notify socket; we only created it inside the tree. */
        r = send_one_fd(ctx->sync_fd, 'N', notify_fd);
        if (r < 0)
                return log_error_errno(r, "Failed to pass the notify socket to the supervisor: %m");
        notify_fd = safe_close(notify_fd);

        if (sethostname(c->res.hostname, strlen(c->res.hostname)) < 0)
                return log_error_errno(errno, "Failed to set hostname: %m");
        if (c->opt.private_network) {
                r = network_loopback_up();
                if (r < 0)
                        return log_error_errno(r, "Failed to bring up the loopback device: %m");
        }

        r = mount_pivot_root(rootfd);
        if (r < 0)
                return r;

        r = resolve_user(c->opt.user ?: "root", &u, &groups, &n_groups);
        if (r < 0)
                return r;
        r = build_environment(c, &u, &env);
        if (r < 0)
                return r;

        const char *what;
        if (c->opt.boot) {
                /* init gets its own path as argv[0], then the arguments for it. */
                what = c->res.init_path;
                if (strv_extend(&argv, c->res.init_path) < 0)
                        return log_oom();
                for (char **a = c->res.command; a && *a; a++)
                        if (strv_extend(&argv, *a) < 0)
                                return log_oom();
        } else if (c->res.command) {
                argv = strv_copy(c->res.command);
                what = c->res.command[0];
        } else {
                /* A login shell, as nspawn starts it: argv[0] "-sh". */
                const char *base = strrchr(u.shell, '/');
                if (strv_consume(&argv, strjoin("-", base ? base + 1 : u.shell)) < 0)
                        return log_oom();
                what = u.shell;
        }
        if (!argv)
                return log_oom();
        r = find_executable(what, strv_env_get(env, "PATH"), &exe);
        if (r < 0)
                return log_error_errno(r, "Command '%s' not found in the container tree %s: %m", what, c->res.directory);

        r = capability_bounding_set_limit(capability_container_set(c->opt.private_network));
        if (r < 0)
                return log_error_errno(r, "Failed to limit capabilities: %m");

        r = change_user(&u, groups, n_groups);
        if (r < 0)
                return r;
        const char *wd = c->opt.chdir ?: (c->opt.user ? u.home : "/");
        if (chdir(wd) < 0) {
                if (c->opt.chdir)
                        return log_error_errno(errno, "Failed to change to directory %s: %m", wd);
                (void) chdir("/");
        }

        if (c->opt.as_pid2) {
                /* Block before forking so a payload that exits at once cannot lose its SIGCHLD. */
                sigset_t all, old;
                sigfillset(&all);
                sigprocmask(SIG_SETMASK, &all, &old);
                pid_t pid = fork();
                if (pid < 0)
                        return log_error_errno(errno, "Failed to fork the payload: %m");
                if (pid > 0) {
                        /* The console belongs to the payload's session; the stub keeps only the
                         * supervisor's stderr copy for its one possible message. */
                        safe_close(ctx->sync_fd);
                        int null = open("/dev/null", O_RDWR | O_CLOEXEC);
                        for (int i = 0; null >= 0 && i < 3; i++)
                                (void) dup2(null, i);
                        safe_close(null);
                        stub_init_run(pid, c->res.machine);
                }
                sigprocmask(SIG_SETMASK, &old, NULL);
        }

        r = setup_stdio(c);
        if (r < 0)
                return r;

        /* Last, so nothing spawn still does runs with a label the policy may not allow it. */
        if (c->res.selinux_context) {
                r = selinux_set_exec_context(c->res.selinux_context);
                if (r < 0)
                        return log_error_errno(r, "Failed to set the SELinux exec label %s: %m", c->res.selinux_context);
        }

        reset_all_signals();
        execve(exe, argv, env);
        return log_error_errno(errno, "Failed to execute %s: %m", exe);
}

_noreturn_ void spawn_child_run(const ChildContext *ctx) {
        /* Errors go to the supervisor's stderr even after fd 2 becomes the console. */
        int logfd = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
        if (logfd >= 0)
                log_set_fd(logfd);

        (void) child_setup_and_exec(ctx);
        _exit(EXIT_FAILURE);
}
