/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The pty, login and shell operations (machine-shell.h): the helper child that enters a machine,
 * opens a pseudo terminal there and, for login and shell, supervises the session on it. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "cgroup-util.h"
#include "fd-util.h"
#include "log.h"
#include "machine-shell.h"
#include "macro.h"
#include "operation.h"
#include "parse-util.h"
#include "path-util.h"
#include "process-util.h"
#include "signal-util.h"
#include "string-table.h"
#include "strv.h"
#include "user-record.h"

#define LOGIN_RESPAWN_MAX 10

/* Joins the leader's cgroup in every hierarchy, so that the session is part of the machine:
 * terminating the machine ends it, and its limits apply. Only where the leader is inside the
 * machine's unit: a guest that moved its init elsewhere does not get us to write there. */
static void join_leader_cgroups(pid_t leader, const char *unit) {
        CGroupHierarchy *hs = NULL;
        size_t n = 0;

        if (!unit || cg_enumerate(leader, &hs, &n) < 0)
                return;
        _cleanup_free_ char *inner = strjoin("/", unit, "/"), *escaped = cg_escape(unit);
        _cleanup_free_ char *inner_escaped = escaped ? strjoin("/", escaped, "/") : NULL;
        for (size_t i = 0; inner && inner_escaped && i < n; i++) {
                _cleanup_free_ char *p = strjoin(hs[i].path, "/");
                if (p && (strstr(p, inner) || strstr(p, inner_escaped)))
                        (void) cg_attach(hs + i, hs[i].path, 0);
        }
        cg_hierarchies_free(hs, n);
}

static const char *const namespace_names[] = { "cgroup", "ipc", "uts", "net", "pid", "mnt", "user" };
static const int namespace_flags[] = { CLONE_NEWCGROUP, CLONE_NEWIPC, CLONE_NEWUTS, CLONE_NEWNET,
                                       CLONE_NEWPID, CLONE_NEWNS, CLONE_NEWUSER };
#define N_NAMESPACES ELEMENTSOF(namespace_names)

/* Enters the leader's namespaces (those it does not share with us) and its root directory. The
 * user namespace comes last: before that we still have our capabilities over all the others. */
static int enter_machine(pid_t leader, int leader_pidfd, bool *ret_userns) {
        int fds[N_NAMESPACES];
        char path[64];
        int r = 0;

        snprintf(path, sizeof(path), "/proc/%i/root", (int) leader);
        _cleanup_close_ int rootfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0)
                return negative_errno();
        for (size_t i = 0; i < N_NAMESPACES; i++) {
                uint64_t ours, theirs;
                fds[i] = -EBADF;
                if (namespace_inode(0, namespace_names[i], &ours) < 0 ||
                    namespace_inode(leader, namespace_names[i], &theirs) < 0 || ours == theirs)
                        continue;
                snprintf(path, sizeof(path), "/proc/%i/ns/%s", (int) leader, namespace_names[i]);
                fds[i] = open(path, O_RDONLY | O_CLOEXEC);
                if (fds[i] < 0) {
                        r = negative_errno();
                        goto finish;
                }
        }
        /* Everything was opened by PID: only valid if that PID is still the leader. */
        if (pidfd_signal(leader_pidfd, 0) < 0) {
                r = -ESRCH;
                goto finish;
        }
        for (size_t i = 0; i < N_NAMESPACES; i++) {
                if (fds[i] < 0 || namespace_flags[i] == CLONE_NEWUSER)
                        continue;
                if (setns(fds[i], namespace_flags[i]) < 0) {
                        r = negative_errno();
                        goto finish;
                }
        }
        if (fchdir(rootfd) < 0 || chroot(".") < 0 || chdir("/") < 0) {
                r = negative_errno();
                goto finish;
        }
        *ret_userns = fds[N_NAMESPACES - 1] >= 0;
        if (*ret_userns) {
                if (setns(fds[N_NAMESPACES - 1], CLONE_NEWUSER) < 0) {
                        r = negative_errno();
                        goto finish;
                }
                /* Root of the guest's user namespace, not whatever we map to there by accident. */
                (void) setgroups(0, NULL);
                if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0) {
                        r = negative_errno();
                        goto finish;
                }
        }
finish:
        for (size_t i = 0; i < N_NAMESPACES; i++)
                safe_close(fds[i]);
        return r;
}

/* The host's /proc, opened before we entered the guest: we are not in the guest's PID namespace
 * (only our children are), so its /proc/self would not be us. */
static int host_proc_fd = -EBADF;

/* The guest's user database through its root ("/" after enter_machine()), regular files only:
 * the guest may have planted a FIFO at /etc/passwd to block us, or a device. */
static int lookup_user(const char *name, UserRecord *ret, gid_t **ret_groups, size_t *ret_n_groups) {
        _cleanup_close_ int rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0)
                return negative_errno();
        return user_record_lookup_in_root(host_proc_fd, rootfd, name, ret, ret_groups, ret_n_groups);
}

static const char *find_login(void) {
        static const char *const paths[] = { "/bin/login", "/usr/bin/login", "/sbin/login", "/usr/sbin/login" };
        for (size_t i = 0; i < ELEMENTSOF(paths); i++)
                if (access(paths[i], X_OK) >= 0)
                        return paths[i];
        return NULL;
}

typedef struct SessionSpec {
        UserRecord user;
        gid_t *groups;
        size_t n_groups;
        const char *path;
        char **argv;
        char **env;
} SessionSpec;

/* The session process: runs in the guest's namespaces and root, as root of the guest. It makes
 * the pty slave its controlling terminal and becomes the user. */
static _noreturn_ void session_exec(int slave, const SessionSpec *s) {
        reset_all_signals();
        if (setsid() < 0 || ioctl(slave, TIOCSCTTY, 0) < 0)
                _exit(EXIT_FAILURE);
        for (int i = 0; i < 3; i++)
                if (dup2(slave, i) < 0)
                        _exit(EXIT_FAILURE);
        if (slave > 2)
                safe_close(slave);
        if (setgroups(s->n_groups, s->groups) < 0 && errno != EPERM)
                _exit(EXIT_FAILURE);
        if (setresgid(s->user.gid, s->user.gid, s->user.gid) < 0 ||
            setresuid(s->user.uid, s->user.uid, s->user.uid) < 0) {
                fprintf(stderr, "Failed to become user %s: %m\n", s->user.name);
                _exit(EXIT_FAILURE);
        }
        if (chdir(s->user.home) < 0)
                (void) chdir("/");
        (void) rlimit_nofile_safe();
        execve(s->path, s->argv, s->env);
        fprintf(stderr, "Failed to execute %s: %m\n", s->path);
        _exit(127);
}

static int session_build(const ShellRequest *req, int sock, SessionSpec *s) {
        int r;

        if (req->mode == SHELL_LOGIN) {
                s->path = find_login();
                if (!s->path)
                        operation_report_failure(sock, -ENOENT, "No login program (/bin/login, /usr/bin/login) found in the machine.");
                r = lookup_user("root", &s->user, &s->groups, &s->n_groups);
                if (r < 0)
                        return r;
                /* login(1) does the user switch itself. */
                s->argv = strv_copy((char *[]) { (char *) "login", NULL });
                r = strv_extend(&s->env, "TERM=vt220");
                return s->argv && r >= 0 ? 0 : -ENOMEM;
        }

        const char *user = isempty(req->user) ? "root" : req->user;
        r = lookup_user(user, &s->user, &s->groups, &s->n_groups);
        if (r == -ESRCH)
                /* An invalid argument for the caller (InvalidArgs, as it was always reported). */
                operation_report_failure(sock, -EINVAL, "No user '%s' in the machine.", user);
        if (r < 0)
                return r;

        _cleanup_free_ char *login_argv0 = NULL;
        if (isempty(req->path)) {
                /* The user's shell as a login shell ("-sh"), /bin/sh if that one is missing. */
                s->path = access(s->user.shell, X_OK) >= 0 ? s->user.shell : "/bin/sh";
                const char *base = strrchr(s->path, '/');
                login_argv0 = strjoin("-", base ? base + 1 : s->path);
                if (!login_argv0)
                        return -ENOMEM;
                s->argv = strv_copy((char *[]) { login_argv0, NULL });
        } else {
                s->path = req->path;
                if (access(s->path, X_OK) < 0)
                        operation_report_failure(sock, negative_errno(), "Cannot execute %s in the machine: %m", s->path);
                s->argv = !req->args || !req->args[0] ? strv_copy((char *[]) { (char *) s->path, NULL })
                                                          : strv_copy(req->args);
        }
        if (!s->argv)
                return -ENOMEM;

        const char *defaults[][2] = {
                { "PATH", DEFAULT_PATH },
                { "HOME", s->user.home },
                { "USER", s->user.name },
                { "LOGNAME", s->user.name },
                { "SHELL", s->user.shell },
                { "TERM", "vt220" },
        };
        for (size_t i = 0; i < ELEMENTSOF(defaults); i++)
                if (strv_env_setf(&s->env, defaults[i][0], defaults[i][1]) < 0)
                        return -ENOMEM;
        for (char **e = req->env; e && *e; e++)
                if (strv_env_set(&s->env, *e) < 0)
                        return -ENOMEM;
        return 0;
}

/* OSC 3008 context signalling (systemd.io/OSC_CONTEXT): a "start" before the session and an "end"
 * carrying its exit status after it. Terminals ignore unknown OSC sequences; clients that care
 * (our machinectl, tests) read the status from the last bytes of the pty's output. */
static void osc_context_start(int fd, const char *id, const char *machine, const char *user) {
        char buf[512];
        int n = snprintf(buf, sizeof(buf), "\033]3008;start=%s;type=shell;container=%s;user=%s\033\\", id, machine, user);
        if (n > 0 && (size_t) n < sizeof(buf))
                (void) loop_write(fd, buf, (size_t) n);
}

static void osc_context_end(int fd, const char *id, int status) {
        char buf[256];
        int n;

        if (WIFEXITED(status))
                n = snprintf(buf, sizeof(buf), "\033]3008;end=%s;exit=%s;status=%i\033\\", id,
                             WEXITSTATUS(status) == 0 ? "success" : "failure", WEXITSTATUS(status));
        else {
                int sig = WTERMSIG(status);
                bool interrupt = sig == SIGINT || sig == SIGTERM || sig == SIGHUP || sig == SIGPIPE;
                n = snprintf(buf, sizeof(buf), "\033]3008;end=%s;exit=%s;signal=%s\033\\", id,
                             interrupt ? "interrupt" : "crash", signal_to_string(sig) ?: "unknown");
        }
        if (n > 0 && (size_t) n < sizeof(buf))
                (void) loop_write(fd, buf, (size_t) n);
}

/* Only a client that says it has a terminal gets the context sequences: systemd's machinectl passes
 * its own $TERM (and nothing when it has none), so a missing TERM or TERM=dumb means the output
 * goes to a pipe, a file or a terminal that shows escape sequences as text, as in
 * "$(machinectl shell ...)". */
static bool client_wants_context(char **env) {
        const char *t = strv_env_get(env, "TERM");
        return !isempty(t) && !streq(t, "dumb");
}

static int wait_for(pid_t pid, int *ret_status) {
        for (;;) {
                if (waitpid(pid, ret_status, 0) >= 0)
                        return 0;
                if (errno != EINTR)
                        return negative_errno();
        }
}

/* The master is still open somewhere if the slave has not seen a hangup. */
static bool master_open(int slave) {
        struct pollfd p = { .fd = slave, .events = POLLIN };
        return poll(&p, 1, 0) >= 0 && !(p.revents & POLLHUP);
}

/* Runs in a child of machined, in machined's namespaces with signals reset; leader_pidfd pins the
 * leader. Reports the pty (or an error) on sock, then supervises the session if there is one. */
static _noreturn_ void operation_child(const ShellRequest *req, const char *machine, const char *unit, pid_t leader,
                                      int leader_pidfd, int sock) {
        SessionSpec spec = {};
        char pty_path[128], id[33];
        bool userns = false;
        int r;

        join_leader_cgroups(leader, unit);
        host_proc_fd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
        /* .host (leader 0 here): machined runs on the host, so its own namespaces and root are
         * the host's. PID 1's may be out of reach (machined in a container of its own). */
        r = leader > 0 ? enter_machine(leader, leader_pidfd, &userns) : 0;
        if (r < 0)
                operation_report_failure(sock, r, "Failed to enter the machine's namespaces: %s", strerror(-r));
        safe_close(leader_pidfd);

        if (req->mode != SHELL_PTY) {
                r = session_build(req, sock, &spec);
                if (r < 0)
                        operation_report_failure(sock, r, "Failed to prepare the session: %s", strerror(-r));
        }

        /* The guest's own devpts instance, through its /dev/ptmx. */
        int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (master < 0)
                operation_report_failure(sock, negative_errno(), "Failed to open /dev/ptmx in the machine: %m");
        if (unlockpt(master) < 0 || ptsname_r(master, pty_path, sizeof(pty_path)) != 0)
                operation_report_failure(sock, negative_errno(), "Failed to set up the pseudo terminal: %m");

        if (req->mode == SHELL_PTY) {
                r = operation_report_result(sock, master, pty_path);
                _exit(r < 0 ? EXIT_FAILURE : EXIT_SUCCESS);
        }

        /* Keep a slave fd ourselves: the master must see EOF only when we are done writing. */
        int slave = open(pty_path, O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (slave < 0)
                operation_report_failure(sock, negative_errno(), "Failed to open %s in the machine: %m", pty_path);

        Id128 uuid;
        if (id128_randomize(&uuid) < 0)
                memset(&uuid, 0x42, sizeof(uuid));
        for (size_t i = 0; i < 16; i++)
                snprintf(id + i * 2, 3, "%02x", uuid.bytes[i]);
        bool context = req->mode == SHELL_SHELL && client_wants_context(req->env);
        if (context)
                osc_context_start(slave, id, machine, spec.user.name);

        r = operation_report_result(sock, master, pty_path);
        safe_close(master);
        safe_close(sock);
        if (r < 0)
                _exit(EXIT_FAILURE);

        int status = 0;
        for (unsigned spawned = 0;; spawned++) {
                pid_t pid = fork();
                if (pid < 0)
                        _exit(EXIT_FAILURE);
                if (pid == 0)
                        session_exec(slave, &spec);
                if (wait_for(pid, &status) < 0)
                        _exit(EXIT_FAILURE);
                /* Like a getty, login comes back after logout while someone is connected. */
                if (req->mode != SHELL_LOGIN || spawned + 1 >= LOGIN_RESPAWN_MAX || !master_open(slave))
                        break;
                (void) usleep(200 * 1000);
        }

        if (context)
                osc_context_end(slave, id, status);
        safe_close(slave);
        _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

/* ---- machined's side --------------------------------------------------------------------------- */

static const char *const shell_mode_table[_SHELL_MODE_MAX] = {
        [SHELL_PTY] = "pty",
        [SHELL_LOGIN] = "login",
        [SHELL_SHELL] = "shell",
};

DEFINE_STRING_TABLE_LOOKUP(shell_mode, ShellMode)

typedef struct ShellChildArgs {
        const ShellRequest *req;
        const char *machine;
        const char *unit;
        pid_t leader;
        int leader_pidfd;
} ShellChildArgs;

static void shell_child(int report_fd, void *userdata) {
        const ShellChildArgs *a = userdata;
        operation_child(a->req, a->machine, a->unit, a->leader, a->leader_pidfd, report_fd);
}

static void shell_reaped(Operation *o, int code, int status) {
        if (code == CLD_EXITED)
                log_info("Shell %s on machine %s exited with status %i.", strna(o->text), o->machine_name, status);
        else
                log_info("Shell %s on machine %s was killed by %s.", strna(o->text), o->machine_name,
                         signal_to_string(status) ?: "a signal");
}

static bool user_name_plausible(const char *s) {
        if (strlen(s) > 256)
                return false;
        for (const char *p = s; *p; p++)
                if ((unsigned char) *p <= ' ' || *p == ':' || *p == '/' || *p == 0x7f)
                        return false;
        return true;
}

/* What both transports pass on unchecked: the user is looked up in the guest later, but a name
 * no passwd can hold is refused here. */
static int shell_request_validate(const ShellRequest *req, Failure *f) {
        if (req->mode != SHELL_SHELL)
                return 0;
        if (req->user && !user_name_plausible(req->user))
                return failure_set_parameter(f, -EINVAL, "user", "Invalid user name '%s'", req->user);
        if (!isempty(req->path) && req->path[0] != '/')
                return failure_set_parameter(f, -EINVAL, "path", "Specified path '%s' is not absolute", req->path);
        for (char **e = req->env; e && *e; e++)
                if (!env_assignment_is_valid(*e))
                        return failure_set_parameter(f, -EINVAL, "environment", "Invalid environment assignments");
        return 0;
}

int machine_open_shell(Machine *m, const ShellRequest *req, PendingReply *reply, Failure *f) {
        Operation *o;
        int r = shell_request_validate(req, f);
        if (r < 0)
                return r;

        if (m->class == MACHINE_VM)
                return failure_set(f, -EOPNOTSUPP, "Pseudo terminals are only supported on containers.");
        if (pidref_is_alive(&m->leader) <= 0)
                return failure_set(f, -ESRCH, "Machine %s is going away.", m->name);

        ShellChildArgs args = {
                .req = req, .machine = m->name, .unit = m->unit, .leader = m->class == MACHINE_HOST ? 0 : m->leader.pid,
                .leader_pidfd = m->leader.fd,
        };
        r = operation_start(m->manager, m, shell_mode_to_string(req->mode), shell_child, &args, reply, f, &o);
        if (r < 0)
                return r;
        if (req->mode == SHELL_SHELL)
                o->reaped = shell_reaped;
        return 0;
}
