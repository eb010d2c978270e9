/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* machined as the supervisor of `spawn -b` on hosts without systemd: what systemd does for
 * spawn@NAME.service elsewhere (Restart on exit 133, stop with SIGTERM and a timeout, console to
 * a log), done with one pidfd per spawn in our event loop. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bus-util.h"
#include "cgroup-backend.h"
#include "fd-util.h"
#include "log.h"
#include "machine.h"
#include "macro.h"
#include "name-util.h"
#include "path-util.h"
#include "process-util.h"
#include "signal-util.h"
#include "string-table.h"
#include "strv.h"
#include "supervisor.h"

#define USEC_PER_SEC 1000000ULL
#define START_TIMEOUT_USEC (120 * USEC_PER_SEC)
#define STOP_TIMEOUT_USEC (90 * USEC_PER_SEC)
#define KILL_TIMEOUT_USEC (30 * USEC_PER_SEC)
/* systemd's RestartSec= and StartLimitIntervalSec=/StartLimitBurst= defaults. */
#define REBOOT_DELAY_USEC (100 * 1000ULL)
#define RESTART_INTERVAL_USEC (10 * USEC_PER_SEC)
#define EXIT_REBOOT 133
#define LOG_TAIL_BYTES 2048
#define LOG_TAIL_LINES 10
#define MARKER_MAX 256

static const char *const supervised_state_table[_SUPERVISED_STATE_MAX] = {
        [SUPERVISED_STARTING] = "starting",
        [SUPERVISED_RUNNING] = "running",
        [SUPERVISED_REBOOTING] = "rebooting",
        [SUPERVISED_STOPPING] = "stopping",
};

DEFINE_STRING_TABLE_LOOKUP(supervised_state, SupervisedState)

static uint64_t now_monotonic(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000ULL;
}

bool supervisor_uses_units(Manager *m) {
        return m->cgroup_ops == &cgroup_ops_systemd;
}

Supervised *supervisor_get(Supervisor *s, const char *name) {
        Supervised *u;
        LIST_FOREACH(supervised, u, s->supervised)
                if (streq(u->name, name))
                        return u;
        return NULL;
}

/* ---- files: the console log and the marker of a supervised spawn ------------------------------ */

static char *log_path(Supervisor *s, const char *name) {
        return strjoin(s->manager->config.log_dir, "/", name, ".log");
}

/* Appends: a reboot continues the same file, and the administrator may rotate it (copytruncate). */
static int log_open(Supervisor *s, const char *name, int *ret_fd) {
        _cleanup_free_ char *path = log_path(s, name);
        struct stat st;
        int r;

        if (!path)
                return -ENOMEM;
        r = mkdir_p(s->manager->config.log_dir, 0755);
        if (r < 0)
                return r;
        _cleanup_close_ int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0640);
        if (fd < 0)
                return negative_errno();
        if (fstat(fd, &st) < 0)
                return negative_errno();
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        *ret_fd = TAKE_FD(fd);
        return 0;
}

/* The last lines of this run's output, for error messages: D-Bus strings must be UTF-8, and a
 * console carries anything, so only printable ASCII stays. */
static char *log_tail(Supervised *u) {
        _cleanup_free_ char *path = log_path(u->supervisor, u->name);
        struct stat st;

        if (!path)
                return NULL;
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
        if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
                return NULL;
        uint64_t size = (uint64_t) st.st_size, from = u->log_offset;
        if (from > size)
                from = 0; /* truncated (rotated) meanwhile */
        if (size - from > LOG_TAIL_BYTES)
                from = size - LOG_TAIL_BYTES;
        char *buf = calloc(1, LOG_TAIL_BYTES + 1);
        if (!buf)
                return NULL;
        ssize_t n = pread(fd, buf, (size_t) (size - from), (off_t) from);
        if (n <= 0) {
                free(buf);
                return NULL;
        }
        buf[n] = 0;
        size_t k = 0;
        for (ssize_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char) buf[i];
                if (c == '\r')
                        continue;
                buf[k++] = c == '\n' || (c >= 0x20 && c < 0x7f) ? (char) c : c == '\t' ? ' ' : '?';
        }
        while (k > 0 && buf[k - 1] == '\n')
                k--;
        buf[k] = 0;
        /* The last LOG_TAIL_LINES lines. */
        unsigned lines = 0;
        for (size_t i = k; i > 0; i--)
                if (buf[i - 1] == '\n' && ++lines == LOG_TAIL_LINES) {
                        memmove(buf, buf + i, k - i + 1);
                        break;
                }
        return buf;
}

/* <runtime-dir>/supervised/NAME says "spawn PID (with this start time) is ours": after a restart
 * of machined it is how we know which registered machines we may stop. */
static void marker_write(Supervised *u) {
        char data[MARKER_MAX];
        int dirfd = u->supervisor->marker_dir_fd;

        if (dirfd < 0)
                return;
        snprintf(data, sizeof(data), "PID=%i\nSTARTTIME=%" PRIu64 "\nPIDFDID=%" PRIu64 "\n", (int) u->process.pid,
                 u->process.start_time, u->process.fd_id);
        int r = write_file_atomic_at(dirfd, u->name, data, strlen(data), 0644);
        if (r < 0)
                log_warning_errno(r, "Failed to record spawn of machine %s, a restarted machined will not stop it: %m",
                                  u->name);
}

static void marker_remove(Supervisor *s, const char *name) {
        if (s->marker_dir_fd >= 0)
                (void) unlinkat(s->marker_dir_fd, name, 0);
}

/* ---- processes ----------------------------------------------------------------------------- */

static int pid_get_ppid(pid_t pid, pid_t *ret) {
        char path[64];
        _cleanup_free_ char *buf = NULL;

        snprintf(path, sizeof(path), "/proc/%i/stat", (int) pid);
        int r = read_file_at(AT_FDCWD, path, 4096, &buf, NULL);
        if (r < 0)
                return r;
        const char *p = strrchr(buf, ')');
        int ppid;
        if (!p || sscanf(p + 1, " %*c %d", &ppid) != 1)
                return -EIO;
        *ret = ppid;
        return 0;
}

/* Whether machine's leader runs below our spawn. The machine's Supervisor cannot tell: spawn
 * registers through a short-lived helper process. */
static bool machine_is_ours(const Machine *machine, const Supervised *u) {
        pid_t pid = machine->leader.pid;

        if (!pidref_is_set(&u->process))
                return false;
        for (unsigned depth = 0; pid > 1 && depth < 16; depth++) {
                if (pid_get_ppid(pid, &pid) < 0)
                        return false;
                if (pid == u->process.pid)
                        return true;
        }
        return false;
}

/* The spawn binary: --spawn= (a path, or a name looked up in $PATH), else "spawn" next to our own
 * binary (a build tree, or an install with both in one directory), else in $PATH. */
static int spawn_find(const char *configured, char **ret) {
        if (configured && strchr(configured, '/')) {
                if (access(configured, X_OK) < 0)
                        return negative_errno();
                *ret = strdup(configured);
                return *ret ? 0 : -ENOMEM;
        }
        if (!configured) {
                char exe[PATH_MAX];
                ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
                char *slash = n > 0 ? (exe[n] = 0, strrchr(exe, '/')) : NULL;
                if (slash) {
                        *slash = 0;
                        _cleanup_free_ char *p = strjoin(exe, "/spawn");
                        if (!p)
                                return -ENOMEM;
                        if (access(p, X_OK) >= 0) {
                                *ret = TAKE_PTR(p);
                                return 0;
                        }
                }
        }
        return find_executable(configured ?: "spawn", getenv("PATH"), ret);
}

/* Our environment, minus what belongs to us alone: with NOTIFY_SOCKET, spawn --notify-ready would
 * report the guest's READY=1 to our own service manager, which would take it for ours. */
static char **spawn_environment(Manager *m) {
        extern char **environ;
        static const char *const drop[] = { "NOTIFY_SOCKET", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES",
                                            "WATCHDOG_PID", "WATCHDOG_USEC" };
        char **env = NULL;

        for (char **e = environ; e && *e; e++) {
                bool skip = false;
                for (size_t i = 0; i < ELEMENTSOF(drop); i++) {
                        size_t l = strlen(drop[i]);
                        skip = skip || (strneq(*e, drop[i], l) && (*e)[l] == '=');
                }
                if (!skip && strv_extend(&env, *e) < 0)
                        return strv_free(env);
        }
        /* spawn registers on the bus we serve. */
        if (m->config.bus_address && strv_env_setf(&env, "DBUS_SYSTEM_BUS_ADDRESS", m->config.bus_address) < 0)
                return strv_free(env);
        if (!strv_env_get(env, "PATH") && strv_env_setf(&env, "PATH", DEFAULT_PATH) < 0)
                return strv_free(env);
        if (!env)
                env = calloc(1, sizeof(char *));
        return env;
}

/* The forked child: still in machined's namespaces and cgroup, with machined's signal mask and
 * handlers. It becomes spawn in a session of its own, with the console log as stdout and stderr. */
static _noreturn_ void supervised_child(const char *spawn, char **argv, char **env, int log_fd) {
        reset_all_signals();
        if (setsid() < 0)
                _exit(EXIT_FAILURE);
        int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (null < 0 || dup2(null, STDIN_FILENO) < 0 || dup2(log_fd, STDOUT_FILENO) < 0 ||
            dup2(log_fd, STDERR_FILENO) < 0)
                _exit(EXIT_FAILURE);
        /* Our own fds are O_CLOEXEC; this is for whatever our parent left us. */
        (void) syscall(SYS_close_range, 3U, ~0U, 0U);
        if (chdir("/") < 0)
                _exit(EXIT_FAILURE);
        (void) rlimit_nofile_safe();
        execve(spawn, argv, env);
        dprintf(STDERR_FILENO, "machined: failed to execute %s: %s\n", spawn, strerror(errno));
        _exit(127);
}

static int on_process_exit(sd_event_source *es, int fd, uint32_t revents, void *userdata);

/* Starts spawn for u. On failure the error is set (and nothing is left running). */
static int supervised_fork(Supervised *u, bool reboot, Failure *f) {
        Supervisor *s = u->supervisor;
        Manager *m = s->manager;
        _cleanup_free_ char *spawn = NULL, *dir = NULL;
        _cleanup_strv_free_ char **env = NULL;
        _cleanup_close_ int log_fd = -EBADF;
        struct stat st;
        int pidfd = -EBADF, r;

        r = spawn_find(m->config.spawn_path, &spawn);
        if (r < 0)
                return failure_set(f, r, "Cannot find the spawn binary (%s): %m; machined's --spawn= names it.",
                                   m->config.spawn_path ?: "looked next to machined and in $PATH");
        r = log_open(s, u->name, &log_fd);
        if (r < 0)
                return failure_set(f, r, "Failed to open console log of machine %s in %s: %m", u->name, m->config.log_dir);
        dir = strjoin(m->config.pool_path, "/", u->name);
        env = spawn_environment(m);
        if (!dir || !env)
                return -ENOMEM;
        /* A directory image, else NAME.raw (or a block device of that name) booted with -i. */
        const char *root_option = "-D";
        if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
                char *raw = strjoin(dir, ".raw");
                if (!raw)
                        return -ENOMEM;
                free(dir);
                dir = raw;
                root_option = "-i";
        }
        /* --settings=override, as systemd-nspawn@.service: NAME.nspawn is how the administrator
         * configures a machine that is started by name, so it wins over these defaults. -U as
         * systemd-nspawn@.service too: a range of its own (pick), the pool's trees idmapped where
         * their file system allows, shifted once otherwise (auto). -n as its --network-veth: a
         * private network with addresses (spawn's own, or systemd-networkd's where it runs). */
        char *argv[] = { spawn, (char *) root_option, dir, (char *) "-b", (char *) "-U", (char *) "-M", u->name,
                         (char *) "--register=yes", (char *) "--console=read-only", (char *) "--notify-ready=yes",
                         (char *) "--settings=override",
                         (char *) "-q", m->config.start_host_network ? NULL : (char *) "--network-veth", NULL };

        if (reboot)
                dprintf(log_fd, "-- machined: machine %s rebooted, starting it again with %s --\n", u->name, spawn);
        else
                dprintf(log_fd, "-- machined: starting machine %s with %s --\n", u->name, spawn);
        u->log_offset = fstat(log_fd, &st) >= 0 ? (uint64_t) st.st_size : 0;

        pid_t pid = clone_with_pidfd(0, &pidfd);
        if (pid < 0)
                return failure_set(f, pid, "Failed to fork spawn for machine %s: %m", u->name);
        if (pid == 0)
                supervised_child(spawn, argv, env, log_fd);

        /* Filled in by hand, not by pidref_set_pidfd(): a spawn that failed at once is already a
         * zombie, and must still be reaped and reported through the normal path. */
        u->process = (PidRef) { .pid = pid, .fd = pidfd };
        (void) pid_get_start_time(pid, &u->process.start_time);
        if (pidfd_get_inode_id(pidfd, &u->process.fd_id) < 0)
                u->process.fd_id = 0;
        u->child = true;
        r = sd_event_add_io(m->event, &u->exit_source, pidfd, EPOLLIN, on_process_exit, u);
        if (r < 0) {
                /* Reaped by on_sigchld() like any other child; we forget it first. */
                (void) pidref_kill(&u->process, SIGKILL);
                pidref_done(&u->process);
                return failure_set(f, r, "Failed to watch spawn of machine %s: %m", u->name);
        }
        (void) sd_event_source_set_description(u->exit_source, "supervised-spawn");
        marker_write(u);
        log_info("Started spawn (PID %i) for machine %s, console output in %s/%s.log.", (int) pid, u->name,
                 m->config.log_dir, u->name);
        return 0;
}

/* ---- the model ------------------------------------------------------------------------------- */

static int supervised_new(Supervisor *s, const char *name, Supervised **ret) {
        Supervised *u = calloc(1, sizeof(Supervised));
        if (!u)
                return -ENOMEM;
        *u = (Supervised) { .supervisor = s, .process = PIDREF_NULL, .state = SUPERVISED_STARTING };
        u->name = strdup(name);
        if (!u->name) {
                free(u);
                return -ENOMEM;
        }
        LIST_PREPEND(supervised, s->supervised, u);
        s->n_supervised++;
        *ret = u;
        return 0;
}

/* Forgets u; the process, if any, keeps running. Pending calls must have been answered. */
static Supervised *supervised_free(Supervised *u) {
        if (!u)
                return NULL;
        LIST_REMOVE(supervised, u->supervisor->supervised, u);
        u->supervisor->n_supervised--;
        sd_event_source_disable_unref(u->exit_source);
        sd_event_source_disable_unref(u->timer_source);
        pidref_done(&u->process);
        pending_reply_done(&u->start_reply);
        for (size_t i = 0; i < u->n_stop_replies; i++)
                pending_reply_done(&u->stop_replies[i]);
        free(u->stop_replies);
        free(u->name);
        free(u);
        return NULL;
}

static void reply_stops(Supervised *u, const Failure *f) {
        for (size_t i = 0; i < u->n_stop_replies; i++)
                pending_reply_complete(&u->stop_replies[i], f, NULL);
        u->n_stop_replies = 0;
}

/* spawn ended for good: answer everybody and forget it. start_error is for a StartImage still
 * waiting (NULL: the machine was stopped before it registered). */
static void supervised_finish(Supervised *u, const Failure *start_error) {
        _cleanup_(failure_done) Failure stopped = FAILURE_NULL;

        if (pending_reply_is_set(&u->start_reply) && !start_error) {
                failure_set(&stopped, -ECANCELED, "Machine %s was stopped before it was up.", u->name);
                start_error = &stopped;
        }
        pending_reply_complete(&u->start_reply, start_error, NULL);
        reply_stops(u, NULL);
        marker_remove(u->supervisor, u->name);
        supervised_free(u);
}

static int supervised_set_timer(Supervised *u, uint64_t usec, sd_event_time_handler_t handler) {
        u->timer_source = sd_event_source_disable_unref(u->timer_source);
        int r = sd_event_add_time_relative(u->supervisor->manager->event, &u->timer_source, CLOCK_MONOTONIC, usec, 0,
                                           handler, u);
        if (r < 0)
                log_warning_errno(r, "Failed to arm timer for machine %s, ignoring: %m", u->name);
        return r;
}

static int on_start_timeout(sd_event_source *es, uint64_t usec, void *userdata) {
        Supervised *u = userdata;
        _cleanup_free_ char *tail = log_tail(u);
        _cleanup_(failure_done) Failure e = FAILURE_NULL;

        u->timer_source = sd_event_source_disable_unref(u->timer_source);
        log_warning("Machine %s did not register within %llu s, killing its spawn (PID %i).", u->name,
                    (unsigned long long) (START_TIMEOUT_USEC / USEC_PER_SEC), (int) u->process.pid);
        failure_set(&e, -ETIMEDOUT,
                    "Machine %s did not register within %llu s; its spawn was killed. Last output (%s/%s.log):\n%s",
                    u->name, (unsigned long long) (START_TIMEOUT_USEC / USEC_PER_SEC),
                    u->supervisor->manager->config.log_dir, u->name, strna(tail));
        pending_reply_complete(&u->start_reply, &e, NULL);
        /* spawn's container dies with it (PR_SET_PDEATHSIG); its exit ends u. */
        u->state = SUPERVISED_STOPPING;
        u->stop_signals = 3;
        (void) pidref_kill(&u->process, SIGKILL);
        return 0;
}

static int on_stop_timeout(sd_event_source *es, uint64_t usec, void *userdata) {
        Supervised *u = userdata;

        u->timer_source = sd_event_source_disable_unref(u->timer_source);
        if (u->stop_signals == 1) {
                /* spawn's answer to a second SIGTERM: SIGKILL to the container. */
                log_warning("Machine %s did not halt within %llu s, asking spawn (PID %i) again to end it.", u->name,
                            (unsigned long long) (STOP_TIMEOUT_USEC / USEC_PER_SEC), (int) u->process.pid);
                (void) pidref_kill(&u->process, SIGTERM);
                u->stop_signals++;
                (void) supervised_set_timer(u, KILL_TIMEOUT_USEC, on_stop_timeout);
                return 0;
        }
        log_warning("spawn (PID %i) of machine %s is still running, killing it.", (int) u->process.pid, u->name);
        (void) pidref_kill(&u->process, SIGKILL);
        u->stop_signals++;
        return 0;
}

static int on_reboot_timer(sd_event_source *es, uint64_t usec, void *userdata) {
        Supervised *u = userdata;
        _cleanup_(failure_done) Failure e = FAILURE_NULL;

        u->timer_source = sd_event_source_disable_unref(u->timer_source);
        u->state = SUPERVISED_STARTING;
        int r = supervised_fork(u, true, &e);
        if (r < 0) {
                if (!failure_is_set(&e))
                        failure_set(&e, r, "%m");
                log_error("Failed to start machine %s again after its reboot: %s", u->name, strna(e.message));
                supervised_finish(u, &e);
        } else
                (void) supervised_set_timer(u, START_TIMEOUT_USEC, on_start_timeout);
        return 0;
}

/* Like systemd's start rate limit: a guest that reboots in a loop is given up on. */
static bool supervised_may_restart(Supervised *u) {
        uint64_t now = now_monotonic();
        unsigned slot = u->n_restarts % SUPERVISED_RESTART_BURST;

        if (u->n_restarts >= SUPERVISED_RESTART_BURST && now - u->restarts[slot] < RESTART_INTERVAL_USEC)
                return false;
        u->restarts[slot] = now;
        u->n_restarts++;
        return true;
}

static char *describe_exit(const Supervised *u, int code, int status) {
        char buf[128];
        if (!u->child)
                snprintf(buf, sizeof(buf), "exited (it was started by an earlier machined, so its exit status is unknown)");
        else if (code == CLD_EXITED)
                snprintf(buf, sizeof(buf), "exited with status %i", status);
        else
                snprintf(buf, sizeof(buf), "was killed by %s", signal_to_string(status) ?: "a signal");
        return strdup(buf);
}

/* spawn is gone. code/status as in siginfo_t; ignored for adopted processes. */
static void supervised_exited(Supervised *u, int code, int status) {
        _cleanup_free_ char *what = describe_exit(u, code, status), *tail = NULL;
        _cleanup_(failure_done) Failure e = FAILURE_NULL;
        pid_t pid = u->process.pid;

        u->exit_source = sd_event_source_disable_unref(u->exit_source);
        u->timer_source = sd_event_source_disable_unref(u->timer_source);
        pidref_done(&u->process);

        if (u->state == SUPERVISED_STOPPING) {
                log_info("Machine %s stopped (spawn %i %s).", u->name, (int) pid, strna(what));
                supervised_finish(u, NULL);
                return;
        }
        bool rebooted = u->child && code == CLD_EXITED && status == EXIT_REBOOT;
        if (rebooted && supervised_may_restart(u)) {
                log_info("Machine %s rebooted, starting it again.", u->name);
                u->state = SUPERVISED_REBOOTING;
                marker_remove(u->supervisor, u->name);
                if (supervised_set_timer(u, REBOOT_DELAY_USEC, on_reboot_timer) >= 0)
                        return;
        }

        tail = log_tail(u);
        if (rebooted)
                log_warning("Machine %s rebooted %u times within %llu s, not starting it again.", u->name,
                            SUPERVISED_RESTART_BURST, (unsigned long long) (RESTART_INTERVAL_USEC / USEC_PER_SEC));
        else if (u->child && code == CLD_EXITED && status == 0)
                log_info("Machine %s powered off.", u->name);
        else if (u->child)
                log_warning("spawn (PID %i) of machine %s %s; not starting it again. See %s/%s.log.", (int) pid, u->name,
                            strna(what), u->supervisor->manager->config.log_dir, u->name);
        else
                log_info("spawn (PID %i) of machine %s %s.", (int) pid, u->name, strna(what));
        if (pending_reply_is_set(&u->start_reply))
                failure_set(&e, -ECHILD,
                            "spawn of machine %s %s before the machine was registered. Last output (%s/%s.log):\n%s",
                            u->name, strna(what), u->supervisor->manager->config.log_dir, u->name, strna(tail));
        supervised_finish(u, failure_is_set(&e) ? &e : NULL);
}

static int on_process_exit(sd_event_source *es, int fd, uint32_t revents, void *userdata) {
        Supervised *u = userdata;
        siginfo_t si = {};

        if (!u->child) {
                supervised_exited(u, 0, 0);
                return 0;
        }
        /* Our child: reap it here to learn the status. If on_sigchld() is first, it hands us the
         * status through supervisor_reaped() and this source is gone by then. */
        if (waitid((idtype_t) P_PIDFD, (id_t) fd, &si, WEXITED | WNOHANG) < 0 || si.si_pid == 0) {
                u->exit_source = sd_event_source_disable_unref(u->exit_source);
                return 0;
        }
        supervised_exited(u, si.si_code, si.si_status);
        return 0;
}

bool supervisor_reaped(Manager *m, const siginfo_t *si) {
        Supervised *u;

        if (!m->supervisor)
                return false;
        LIST_FOREACH(supervised, u, m->supervisor->supervised)
                if (u->child && u->process.pid == si->si_pid) {
                        supervised_exited(u, si->si_code, si->si_status);
                        return true;
                }
        return false;
}

void supervisor_machine_new(Machine *machine) {
        Supervisor *s = machine->manager->supervisor;
        Supervised *u = s ? supervisor_get(s, machine->name) : NULL;

        if (!u || u->state != SUPERVISED_STARTING)
                return;
        /* Somebody else's machine of that name: ours then fails with MachineExists and says so. */
        if (!machine_is_ours(machine, u)) {
                log_debug("Machine %s was registered, but not by our spawn (PID %i).", machine->name, (int) u->process.pid);
                return;
        }
        u->state = SUPERVISED_RUNNING;
        u->timer_source = sd_event_source_disable_unref(u->timer_source);
        log_info("Machine %s is up (spawn PID %i).", u->name, (int) u->process.pid);
        pending_reply_complete(&u->start_reply, NULL, NULL);
}

int supervisor_start_image(Supervisor *s, const char *name, PendingReply *reply, Failure *f) {
        Supervised *u = supervisor_get(s, name);
        int r;

        if (u)
                return failure_set(f, -EEXIST, "Machine '%s' is already %s.", name,
                                   u->state == SUPERVISED_STOPPING ? "being stopped" :
                                   u->state == SUPERVISED_RUNNING ? "running" : "being started");
        Machine *old = manager_get_machine(s->manager, name);
        if (old && !machine_release_if_leader_gone(old))
                return failure_set(f, -EEXIST, "Machine '%s' is already running.", name);
        r = supervised_new(s, name, &u);
        if (r < 0)
                return failure_set(f, r, "%m");
        r = supervised_fork(u, false, f);
        if (r < 0) {
                supervised_free(u);
                return r;
        }
        (void) supervised_set_timer(u, START_TIMEOUT_USEC, on_start_timeout);
        if (reply) {
                u->start_reply = *reply;
                *reply = (PendingReply) {};
        }
        return 1;
}

int supervisor_stop_image(Supervisor *s, const char *name, PendingReply *reply, Failure *f) {
        Supervised *u = supervisor_get(s, name);
        int r;

        if (!u) {
                if (manager_get_machine(s->manager, name))
                        return failure_set(f, -EOPNOTSUPP,
                                           "Machine '%s' was not started by machined, so machined cannot stop it; "
                                           "use TerminateMachine (machinectl terminate/poweroff) instead.", name);
                return failure_set(f, -ESRCH, "Machine '%s' is not running.", name);
        }
        PendingReply *l = realloc(u->stop_replies, sizeof(PendingReply) * (u->n_stop_replies + 1));
        if (!l)
                return failure_set(f, -ENOMEM, "%m");
        u->stop_replies = l;

        switch (u->state) {
        case SUPERVISED_REBOOTING:
                log_info("Machine %s stopped while rebooting.", u->name);
                u->stop_replies[u->n_stop_replies++] = *reply;
                *reply = (PendingReply) {};
                supervised_finish(u, NULL);
                return 1;
        case SUPERVISED_STOPPING:
                break;
        default:
                /* spawn turns this into the guest's halt request, and a second one into SIGKILL. */
                r = pidref_kill(&u->process, SIGTERM);
                if (r < 0 && r != -ESRCH)
                        return failure_set(f, r, "Failed to signal spawn (PID %i) of machine %s: %m", (int) u->process.pid,
                                           name);
                log_info("Stopping machine %s (SIGTERM to spawn PID %i).", name, (int) u->process.pid);
                u->state = SUPERVISED_STOPPING;
                u->stop_signals = 1;
                (void) supervised_set_timer(u, STOP_TIMEOUT_USEC, on_stop_timeout);
        }
        u->stop_replies[u->n_stop_replies++] = *reply;
        *reply = (PendingReply) {};
        return 1;
}

/* ---- enabled images --------------------------------------------------------------------------- */

/* <enabled-dir>/NAME, a symlink to the image: only the name counts (we always boot POOL/NAME);
 * the target is for the administrator looking at the directory. */
int supervisor_enable_image(Supervisor *s, const char *name, bool enable, Failure *f) {
        const char *dir = s->manager->config.enabled_dir;
        _cleanup_free_ char *target = strjoin(s->manager->config.pool_path, "/", name);
        char current[PATH_MAX];
        int r;

        if (!target)
                return -ENOMEM;
        if (enable) {
                r = mkdir_p(dir, 0755);
                if (r < 0)
                        return failure_set(f, r, "Failed to create %s: %m", dir);
        }
        _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0) {
                if (errno == ENOENT && !enable)
                        return 0;
                return failure_set(f, errno, "Failed to open %s: %m", dir);
        }
        if (!enable) {
                if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT)
                        return failure_set(f, errno, "Failed to remove %s/%s: %m", dir, name);
                log_info("Disabled machine %s.", name);
                return 0;
        }
        ssize_t n = readlinkat(dfd, name, current, sizeof(current) - 1);
        if (n >= 0 && (current[n] = 0, streq(current, target)))
                return 0;
        r = symlink_atomic_at(target, dfd, name);
        if (r < 0)
                return failure_set(f, r, "Failed to create %s/%s: %m", dir, name);
        log_info("Enabled machine %s.", name);
        return 0;
}

void supervisor_start_enabled(Manager *m) {
        Supervisor *s = m->supervisor;
        const char *dir = m->config.enabled_dir;

        /* On systemd hosts, systemd starts enabled spawn@ units itself (machines.target). */
        if (!s || supervisor_uses_units(m))
                return;
        DIR *d = opendir(dir);
        if (!d) {
                if (errno != ENOENT)
                        log_warning_errno(errno, "Failed to read %s, starting no machines: %m", dir);
                return;
        }
        for (struct dirent *de; (de = readdir(d));) {
                _cleanup_(failure_done) Failure e = FAILURE_NULL;
                struct stat st;

                if (de->d_name[0] == '.')
                        continue;
                if (!machine_name_is_valid(de->d_name)) {
                        log_warning("Ignoring %s/%s: not a valid machine name.", dir, de->d_name);
                        continue;
                }
                if (supervisor_get(s, de->d_name) || manager_get_machine(m, de->d_name)) {
                        log_debug("Enabled machine %s is already running.", de->d_name);
                        continue;
                }
                _cleanup_free_ char *image = strjoin(m->config.pool_path, "/", de->d_name);
                if (!image) {
                        log_oom();
                        break;
                }
                if (stat(image, &st) < 0 || !S_ISDIR(st.st_mode)) {
                        log_warning("Enabled machine %s has no image %s, not starting it.", de->d_name, image);
                        continue;
                }
                int r = supervisor_start_image(s, de->d_name, NULL, &e);
                if (r < 0)
                        log_error("Failed to start enabled machine %s: %s", de->d_name, e.message ?: strerror(-r));
        }
        closedir(d);
}

/* ---- setup, re-adoption, shutdown ------------------------------------------------------------- */

static int adopt_one(Supervisor *s, const char *name) {
        _cleanup_free_ char *data = NULL;
        unsigned long long start = 0, fd_id = 0;
        Supervised *u;
        PidRef p = PIDREF_NULL;
        int pid, r;

        r = read_file_at(s->marker_dir_fd, name, MARKER_MAX, &data, NULL);
        if (r < 0)
                return r;
        if (sscanf(data, "PID=%d\nSTARTTIME=%llu\nPIDFDID=%llu", &pid, &start, &fd_id) != 3 || pid <= 1)
                return -EBADMSG;
        r = pidref_set_pid(&p, pid);
        if (r < 0 || p.start_time != start || (fd_id != 0 && p.fd_id != 0 && p.fd_id != fd_id)) {
                pidref_done(&p);
                log_debug("spawn of machine %s is gone.", name);
                marker_remove(s, name);
                return 0;
        }
        r = supervised_new(s, name, &u);
        if (r < 0) {
                pidref_done(&p);
                return r;
        }
        u->process = p;
        u->child = false; /* reparented when the previous machined exited */
        Machine *machine = manager_get_machine(s->manager, name);
        u->state = machine && machine_is_ours(machine, u) ? SUPERVISED_RUNNING : SUPERVISED_STARTING;
        r = sd_event_add_io(s->manager->event, &u->exit_source, u->process.fd, EPOLLIN, on_process_exit, u);
        if (r < 0) {
                supervised_free(u);
                return r;
        }
        log_info("Adopted spawn (PID %i) of machine %s.", pid, name);
        return 0;
}

static void supervisor_adopt(Supervisor *s) {
        _cleanup_close_ int dfd = fcntl(s->marker_dir_fd, F_DUPFD_CLOEXEC, 3);
        DIR *d = dfd >= 0 ? fdopendir(TAKE_FD(dfd)) : NULL;

        if (!d) {
                log_warning_errno(errno, "Failed to read the list of supervised machines, ignoring: %m");
                return;
        }
        for (struct dirent *de; (de = readdir(d));) {
                if (startswith(de->d_name, ".#"))
                        (void) unlinkat(s->marker_dir_fd, de->d_name, 0);
                if (de->d_name[0] == '.' || !machine_name_is_valid(de->d_name))
                        continue;
                int r = adopt_one(s, de->d_name);
                if (r < 0) {
                        log_warning_errno(r, "Failed to adopt spawn of machine %s, ignoring: %m", de->d_name);
                        marker_remove(s, de->d_name);
                }
        }
        closedir(d);
}

int supervisor_setup(Manager *m) {
        Supervisor *s = calloc(1, sizeof(Supervisor));
        if (!s)
                return log_oom();
        *s = (Supervisor) { .manager = m, .marker_dir_fd = -EBADF };
        m->supervisor = s;

        if (supervisor_uses_units(m))
                return 0;

        _cleanup_free_ char *dir = strjoin(m->config.runtime_dir, "/supervised");
        if (!dir)
                return log_oom();
        int r = mkdir_p(dir, 0755);
        if (r >= 0) {
                s->marker_dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
                r = s->marker_dir_fd < 0 ? negative_errno() : 0;
        }
        if (r < 0) {
                log_warning_errno(r, "Failed to open %s, machines we start will not be adopted after a restart: %m", dir);
                return 0;
        }
        supervisor_adopt(s);
        return 0;
}

Supervisor *supervisor_free(Supervisor *s) {
        if (!s)
                return NULL;
        /* spawn processes keep running, and their markers stay for the next machined. */
        Failure e = { .error = -ECANCELED, .message = (char *) "machined is shutting down; the machine is left as it is." };
        while (s->supervised) {
                Supervised *u = s->supervised;
                pending_reply_complete(&u->start_reply, &e, NULL);
                reply_stops(u, &e);
                supervised_free(u);
        }
        unit_supervisor_done(s);
        safe_close(s->marker_dir_fd);
        free(s);
        return NULL;
}
