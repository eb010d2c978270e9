/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The verbs other than exec, with runc's options and output. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fd-util.h"
#include "log.h"
#include "oci-cgroup.h"
#include "oci-hooks.h"
#include "oci-runtime.h"
#include "process-util.h"
#include "rm-rf.h"
#include "signal-util.h"
#include "strv.h"

int oci_open_container(const OciGlobal *g, const char *id, int *ret_dirfd, OciRecord *ret_state) {
        if (!oci_id_is_valid(id))
                return log_error_errno(EINVAL, "Invalid container ID '%s'", id ?: "");
        _cleanup_close_ int fd = -EBADF;
        int r = oci_record_open_locked(g->root, id, &fd);
        if (r == -ENOENT)
                return log_error_errno(ENOENT, "container \"%s\" does not exist", id);
        if (r < 0)
                return log_error_errno(r, "Failed to open the state of %s: %m", id);
        r = oci_record_read(fd, ret_state);
        if (r < 0)
                return log_error_errno(r, "Failed to read the state of %s: %m", id);
        *ret_dirfd = TAKE_FD(fd);
        return 0;
}

int oci_write_pid_file(const char *path, pid_t pid) {
        char buf[16];
        int n = snprintf(buf, sizeof(buf), "%d", (int) pid);
        /* Whole or not at all: conmon and the shim read it as soon as we exit. */
        _cleanup_free_ char *tmp = strjoin_many(path, ".berth-tmp", NULL);
        if (!tmp)
                return -ENOMEM;
        _cleanup_close_ int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return -errno;
        int r = loop_write(fd, buf, (size_t) n);
        if (r >= 0 && rename(tmp, path) < 0)
                r = -errno;
        if (r < 0)
                (void) unlink(tmp);
        return r;
}

int oci_connect_console(const char *path, int *ret_fd) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        if (strlen(path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);
        _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                return -errno;
        *ret_fd = TAKE_FD(fd);
        return 0;
}

int oci_wait_exit(pid_t pid, int timeout_ms) {
        _cleanup_close_ int pidfd = pidfd_open_pid(pid);
        if (pidfd < 0)
                return pidfd == -ESRCH ? 0 : pidfd;
        struct pollfd p = { .fd = pidfd, .events = POLLIN };
        int r = poll(&p, 1, timeout_ms);
        if (r < 0)
                return -errno;
        return r == 0 ? -ETIMEDOUT : 0;
}

json_object *oci_record_describe(int dirfd, const OciRecord *r) {
        OciStatus status = oci_record_status(dirfd, r);
        bool paused = status == OCI_STATUS_RUNNING && r->cgroup_path && oci_cgroup_is_frozen(r->cgroup_path) > 0;
        return oci_record_to_json(r, status, paused);
}

static int parse_id_arg(int argc, char **argv, const char **ret) {
        if (optind >= argc)
                return log_error_errno(EINVAL, "%s: a container ID is required", argv[0]);
        *ret = argv[optind++];
        return 0;
}

static int create_parse(int argc, char **argv, OciCreateArgs *a, bool *detach) {
        enum { ARG_NO_PIVOT = 0x100, ARG_NO_NEW_KEYRING, ARG_PRESERVE_FDS, ARG_PID_FILE, ARG_CONSOLE_SOCKET, ARG_NO_SUBREAPER, ARG_KEEP };
        static const struct option options[] = {
                { "bundle", required_argument, NULL, 'b' },
                { "pid-file", required_argument, NULL, ARG_PID_FILE },
                { "console-socket", required_argument, NULL, ARG_CONSOLE_SOCKET },
                { "no-pivot", no_argument, NULL, ARG_NO_PIVOT },
                { "no-new-keyring", no_argument, NULL, ARG_NO_NEW_KEYRING },
                { "preserve-fds", required_argument, NULL, ARG_PRESERVE_FDS },
                { "detach", no_argument, NULL, 'd' },
                { "no-subreaper", no_argument, NULL, ARG_NO_SUBREAPER },
                { "keep", no_argument, NULL, ARG_KEEP },
                {}
        };
        int c;
        optind = 0;
        a->bundle = ".";
        while ((c = getopt_long(argc, argv, "+b:d", options, NULL)) >= 0)
                switch (c) {
                case 'b': a->bundle = optarg; break;
                case ARG_PID_FILE: a->pid_file = optarg; break;
                case ARG_CONSOLE_SOCKET: a->console_socket = optarg; break;
                case ARG_NO_PIVOT: a->no_pivot = true; break;
                /* Each container gets no session keyring of its own here: nothing to switch off. */
                case ARG_NO_NEW_KEYRING: case ARG_NO_SUBREAPER: case ARG_KEEP: break;
                case ARG_PRESERVE_FDS: a->preserve_fds = (unsigned) strtoul(optarg, NULL, 10); break;
                case 'd':
                        if (detach)
                                *detach = true;
                        break;
                default: return -EINVAL;
                }
        int r = parse_id_arg(argc, argv, &a->id);
        if (r < 0)
                return r;
        a->bundle_abs = realpath(a->bundle, NULL);
        if (!a->bundle_abs)
                return log_error_errno(errno, "Bundle %s: %m", a->bundle);
        a->bundle = a->bundle_abs;
        return 0;
}

int verb_create(const OciGlobal *g, int argc, char **argv) {
        OciCreateArgs a = {};
        int r = create_parse(argc, argv, &a, NULL);
        if (r >= 0)
                r = oci_create(g, &a, NULL);
        free(a.bundle_abs);
        return r < 0 ? 1 : 0;
}

static int start_locked(int dirfd, const OciRecord *st) {
        OciStatus status = oci_record_status(dirfd, st);
        if (status != OCI_STATUS_CREATED)
                return log_error_errno(EINVAL, "cannot start a container that is %s", oci_status_to_string(status));
        _cleanup_close_ int fifo = openat(dirfd, "exec.fifo", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        if (fifo < 0)
                return log_error_errno(errno, "Failed to open exec.fifo: %m");
        for (;;) {
                struct pollfd p = { .fd = fifo, .events = POLLIN };
                int r = poll(&p, 1, 100);
                if (r < 0 && errno != EINTR)
                        return log_error_errno(errno, "poll on exec.fifo failed: %m");
                char b;
                if (r > 0 && read(fifo, &b, 1) == 1)
                        break;
                if (oci_record_status(dirfd, st) == OCI_STATUS_STOPPED)
                        return log_error_errno(ESRCH, "The container's init exited before it was started");
        }
        (void) unlinkat(dirfd, "exec.fifo", 0);
        return 0;
}

int oci_load_saved_config(const OciGlobal *g, const char *id, OciConfig *ret) {
        _cleanup_free_ char *dir = strjoin_many(g->root, "/", id, NULL), *err = NULL;
        if (!dir)
                return log_oom();
        int r = oci_config_load(dir, ret, &err);
        if (r < 0)
                return log_error_errno(r, "Failed to load the container's config.json: %s", err ?: strerror(-r));
        return 0;
}

int oci_run_hooks(const OciConfig *c, OciHookKind kind, const OciRecord *rec, OciStatus status) {
        _cleanup_free_ char *state = NULL;
        size_t failed = 0;
        int wstatus = 0;
        if (c->n_hooks[kind] == 0)
                return 0;
        int r = oci_record_format_state(rec, status, &state);
        if (r < 0)
                return log_oom();
        r = oci_hooks_run(c->hooks[kind], c->n_hooks[kind], state, &failed, &wstatus);
        if (r == -EPROTO)
                return log_error_errno(r, "The %s hook %s failed (%s %d)", oci_hook_kind_to_string(kind),
                                       c->hooks[kind][failed].path, WIFEXITED(wstatus) ? "exit status" : "signal",
                                       WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : WTERMSIG(wstatus));
        if (r < 0)
                return log_error_errno(r, "The %s hook %s failed: %m", oci_hook_kind_to_string(kind),
                                       c->hooks[kind][failed].path);
        return 0;
}

int oci_start(const OciGlobal *g, const char *id) {
        _cleanup_close_ int dirfd = -EBADF;
        OciRecord st = {};
        int r = oci_open_container(g, id, &dirfd, &st);
        if (r < 0)
                return r;
        r = start_locked(dirfd, &st);
        if (r >= 0) {
                OciConfig cfg = {};
                /* A poststart hook that fails is only warned about, as the spec says. */
                if (oci_load_saved_config(g, id, &cfg) >= 0 &&
                    oci_run_hooks(&cfg, OCI_HOOK_POSTSTART, &st, OCI_STATUS_RUNNING) < 0)
                        log_warning("Ignoring the failed poststart hook.");
                oci_config_done(&cfg);
        }
        oci_record_done(&st);
        return r;
}

int verb_start(const OciGlobal *g, int argc, char **argv) {
        const char *id = NULL;
        optind = 1;
        if (parse_id_arg(argc, argv, &id) < 0)
                return 1;
        return oci_start(g, id) < 0 ? 1 : 0;
}

int verb_run(const OciGlobal *g, int argc, char **argv) {
        _cleanup_free_ char *bundle = NULL;
        OciCreateArgs a = {};
        bool detach = false;
        pid_t pid;
        int r = create_parse(argc, argv, &a, &detach);
        bundle = a.bundle_abs;
        if (r < 0 || oci_create(g, &a, &pid) < 0)
                return 1;
        if (oci_start(g, a.id) < 0) {
                (void) oci_delete(g, a.id, true);
                return 1;
        }
        if (detach)
                return 0;
        /* The init is our child: wait for it, pass its status on, and remove what is left. */
        int status = 0;
        (void) sigprocmask_many(SIG_BLOCK, NULL, SIGINT, SIGTERM, SIGHUP, SIGQUIT, -1);
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        (void) oci_delete(g, a.id, true);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int verb_state(const OciGlobal *g, int argc, char **argv) {
        _cleanup_close_ int dirfd = -EBADF;
        const char *id = NULL;
        OciRecord st = {};
        optind = 1;
        if (parse_id_arg(argc, argv, &id) < 0 || oci_open_container(g, id, &dirfd, &st) < 0)
                return 1;
        json_object *o = oci_record_describe(dirfd, &st);
        if (o)
                printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(o);
        oci_record_done(&st);
        if (!o)
                return log_oom(), 1;
        return 0;
}

int verb_kill(const OciGlobal *g, int argc, char **argv) {
        static const struct option options[] = { { "all", no_argument, NULL, 'a' }, {} };
        _cleanup_close_ int dirfd = -EBADF, pidfd = -EBADF;
        bool all = false;
        const char *id = NULL;
        OciRecord st = {};
        int c, sig = SIGTERM, r;
        optind = 0;
        while ((c = getopt_long(argc, argv, "+a", options, NULL)) >= 0)
                if (c == 'a')
                        all = true;
                else
                        return 1;
        if (parse_id_arg(argc, argv, &id) < 0)
                return 1;
        if (optind < argc && (sig = signal_from_string(argv[optind])) < 0)
                return log_error_errno(EINVAL, "Unknown signal '%s'", argv[optind]), 1;
        if (oci_open_container(g, id, &dirfd, &st) < 0)
                return 1;
        if (oci_record_status(dirfd, &st) == OCI_STATUS_STOPPED) {
                r = log_error_errno(ESRCH, "container not running");
                goto out;
        }
        if (all && (r = oci_cgroup_kill(st.cgroup_path, sig)) >= 0)
                goto out;
        /* Through a pidfd opened after the start time check: a reused PID is never signalled. */
        pidfd = pidfd_open_pid(st.pid);
        r = pidfd < 0 ? pidfd : pidfd_signal(pidfd, sig);
        if (r < 0)
                log_error_errno(r, "Failed to send signal %d to the container: %m", sig);
out:
        oci_record_done(&st);
        return r < 0 ? 1 : 0;
}

int oci_delete(const OciGlobal *g, const char *id, bool force) {
        _cleanup_close_ int dirfd = -EBADF;
        OciRecord st = {};
        OciConfig cfg = {};
        _cleanup_free_ char *dir = NULL;
        int r = oci_open_container(g, id, &dirfd, &st);
        if (r < 0)
                return r;
        OciStatus status = oci_record_status(dirfd, &st);
        if (status == OCI_STATUS_RUNNING && !force) {
                r = log_error_errno(EBUSY, "cannot delete container %s that is not stopped: running", id);
                goto out;
        }
        /* A created container is destroyed without --force, as runc does. */
        if (status != OCI_STATUS_STOPPED) {
                (void) oci_cgroup_kill(st.cgroup_path, SIGKILL);
                /* A frozen task dies of SIGKILL only once thawed. */
                if (oci_cgroup_is_frozen(st.cgroup_path) > 0)
                        (void) oci_cgroup_freeze(st.cgroup_path, false);
                _cleanup_close_ int pidfd = pidfd_open_pid(st.pid);
                if (pidfd >= 0)
                        (void) pidfd_signal(pidfd, SIGKILL);
                if (oci_wait_exit(st.pid, 10000) < 0)
                        log_warning("The container's init %d did not exit in time", (int) st.pid);
        }
        if (st.cgroup_path && !isempty(st.cgroup_path) && (r = oci_cgroup_destroy(st.cgroup_path, 5000)) < 0)
                log_warning_errno(r, "Failed to remove the cgroup %s: %m", st.cgroup_path);
        if (oci_load_saved_config(g, id, &cfg) >= 0 && oci_run_hooks(&cfg, OCI_HOOK_POSTSTOP, &st, OCI_STATUS_STOPPED) < 0)
                log_warning("Ignoring the failed poststop hook.");
        dir = strjoin_many(g->root, "/", id, NULL);
        r = dir ? rm_rf_at(AT_FDCWD, dir) : -ENOMEM;
        if (r < 0)
                log_error_errno(r, "Failed to remove %s: %m", strna(dir));
out:
        oci_config_done(&cfg);
        oci_record_done(&st);
        return r;
}

int verb_delete(const OciGlobal *g, int argc, char **argv) {
        static const struct option options[] = { { "force", no_argument, NULL, 'f' }, {} };
        bool force = false;
        const char *id = NULL;
        int c;
        optind = 0;
        while ((c = getopt_long(argc, argv, "+f", options, NULL)) >= 0)
                if (c == 'f')
                        force = true;
                else
                        return 1;
        if (parse_id_arg(argc, argv, &id) < 0)
                return 1;
        /* containerd deletes what may be gone already: --force on a missing container is success. */
        if (force && oci_id_is_valid(id)) {
                _cleanup_free_ char *p = strjoin_many(g->root, "/", id, "/state.json", NULL);
                if (p && access(p, F_OK) < 0 && errno == ENOENT) {
                        _cleanup_free_ char *d = strjoin_many(g->root, "/", id, NULL);
                        if (d)
                                (void) rmdir(d);
                        return 0;
                }
        }
        return oci_delete(g, id, force) < 0 ? 1 : 0;
}

static int pause_or_resume(const OciGlobal *g, int argc, char **argv, bool freeze) {
        _cleanup_close_ int dirfd = -EBADF;
        const char *id = NULL;
        OciRecord st = {};
        int r;
        optind = 1;
        if (parse_id_arg(argc, argv, &id) < 0 || oci_open_container(g, id, &dirfd, &st) < 0)
                return 1;
        bool frozen = oci_cgroup_is_frozen(st.cgroup_path) > 0;
        if (oci_record_status(dirfd, &st) != OCI_STATUS_RUNNING)
                r = log_error_errno(EINVAL, "container not running");
        else if (frozen == freeze)
                r = log_error_errno(EINVAL, "container %s", freeze ? "already paused" : "not paused");
        else if ((r = oci_cgroup_freeze(st.cgroup_path, freeze)) < 0)
                log_error_errno(r, "Failed to %s the container's cgroup: %m", freeze ? "freeze" : "thaw");
        oci_record_done(&st);
        return r < 0 ? 1 : 0;
}

int verb_pause(const OciGlobal *g, int argc, char **argv) {
        return pause_or_resume(g, argc, argv, true);
}

int verb_resume(const OciGlobal *g, int argc, char **argv) {
        return pause_or_resume(g, argc, argv, false);
}
