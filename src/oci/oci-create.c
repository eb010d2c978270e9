/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* create, start and delete: the container's life from config.json to the removed state.
 *
 * berth-oci create clones the container's init directly into its new namespaces. The init sets
 * up the root (oci-mount.c), reports SYNC_READY and blocks opening exec.fifo for writing; create
 * then writes state.json and the PID file and exits, so the init is reparented to the caller's
 * subreaper (conmon, containerd's shim) which reaps it. start opens the FIFO for reading, which
 * lets the init go on to the user switch, capabilities, seccomp and execve. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fd-util.h"
#include "log.h"
#include "oci-cgroup.h"
#include "oci-mount.h"
#include "oci-process.h"
#include "oci-hooks.h"
#include "oci-runtime.h"
#include "spawn-oci.h"
#include "path-util.h"
#include "process-util.h"
#include "rm-rf.h"
#include "strv.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

enum { SYNC_GO = 1, SYNC_HOOKS, SYNC_HOOKS_DONE, SYNC_READY, SYNC_FAILED };

typedef struct SyncMsg {
        int type;
        int error;
        char text[1024];
} SyncMsg;

typedef struct InitContext {
        const OciConfig *cfg;
        pid_t host_pid;                 /* ours, as the host sees it (from SYNC_GO) */
        const SeccompProgram *seccomp;  /* NULL: no filter */
        const char *rootfs;
        const OciCreateArgs *args;
        int sync_fd;
        int fifo_fd;     /* O_PATH, reopened for writing through /proc/self/fd */
        int console_fd;  /* connected --console-socket, or -1 */
} InitContext;

static void sync_send(int fd, int type, int error, const char *text) {
        SyncMsg m = { .type = type, .error = error };
        if (text)
                snprintf(m.text, sizeof(m.text), "%s", text);
        (void) send(fd, &m, sizeof(m), MSG_NOSIGNAL);
}

/* The fds of --preserve-fds (3 .. 3+N-1) survive the exec; every other one above 2 is closed by it. */
static int fds_preserve(unsigned n) {
        if (syscall(SYS_close_range, 3 + n, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
                return -errno;
        for (unsigned fd = 3; fd < 3 + n; fd++) {
                int flags = fcntl((int) fd, F_GETFD);
                if (flags >= 0)
                        (void) fcntl((int) fd, F_SETFD, flags & ~FD_CLOEXEC);
        }
        return 0;
}

int oci_namespace_clone_flag(OciNamespaceType t) {
        static const int flags[_OCI_NS_TYPE_MAX] = {
                [OCI_NS_PID] = CLONE_NEWPID, [OCI_NS_NETWORK] = CLONE_NEWNET, [OCI_NS_MOUNT] = CLONE_NEWNS,
                [OCI_NS_IPC] = CLONE_NEWIPC, [OCI_NS_UTS] = CLONE_NEWUTS,     [OCI_NS_USER] = CLONE_NEWUSER,
                [OCI_NS_CGROUP] = CLONE_NEWCGROUP, [OCI_NS_TIME] = 0x00000080 /* CLONE_NEWTIME */,
        };
        return flags[t];
}

const char *oci_namespace_proc_name(OciNamespaceType t) {
        static const char *const names[_OCI_NS_TYPE_MAX] = {
                [OCI_NS_PID] = "pid", [OCI_NS_NETWORK] = "net", [OCI_NS_MOUNT] = "mnt", [OCI_NS_IPC] = "ipc",
                [OCI_NS_UTS] = "uts", [OCI_NS_USER] = "user",   [OCI_NS_CGROUP] = "cgroup", [OCI_NS_TIME] = "time",
        };
        return names[t];
}

static int init_join_namespaces(const OciConfig *s, char **err) {
        for (int n = 0; n < _OCI_NS_TYPE_MAX; n++) {
                const char *path = s->namespaces[n].requested ? s->namespaces[n].path : NULL;
                if (isempty(path) || n == OCI_NS_PID)
                        continue;
                _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
                if (fd < 0 || setns(fd, oci_namespace_clone_flag(n)) < 0) {
                        if (asprintf(err, "Failed to join the %s namespace %s: %m", oci_namespace_type_to_string(n), path) < 0)
                                *err = NULL;
                        return -errno;
                }
        }
        /* After the supervisor put us in our cgroup, so that it becomes the namespace's root. */
        if (s->namespaces[OCI_NS_CGROUP].requested && isempty(s->namespaces[OCI_NS_CGROUP].path) && unshare(CLONE_NEWCGROUP) < 0) {
                if (asprintf(err, "Failed to create a cgroup namespace: %m") < 0)
                        *err = NULL;
                return -errno;
        }
        if (s->hostname && s->namespaces[OCI_NS_UTS].requested && sethostname(s->hostname, strlen(s->hostname)) < 0) {
                if (asprintf(err, "Failed to set the hostname: %m") < 0)
                        *err = NULL;
                return -errno;
        }
        return 0;
}

/* createContainer and startContainer, run by the init itself: in the container's namespaces. */
static int init_hooks_run(const InitContext *c, OciHookKind kind, char **err) {
        const OciConfig *s = c->cfg;
        if (s->n_hooks[kind] == 0)
                return 0;
        OciState st = { .oci_version = OCI_RUNTIME_SPEC_VERSION, .id = c->args->id, .status = OCI_STATUS_CREATED,
                        .pid = c->host_pid, .bundle = c->args->bundle, .annotations = s->annotations };
        _cleanup_free_ char *json = NULL;
        size_t failed = 0;
        int wstatus = 0, r = oci_state_format(&st, &json);
        if (r >= 0)
                r = oci_hooks_run(s->hooks[kind], s->n_hooks[kind], json, &failed, &wstatus);
        if (r < 0 && asprintf(err, "The %s hook %s failed: %s", oci_hook_kind_to_string(kind), s->hooks[kind][failed].path,
                              r == -EPROTO ? "non-zero exit" : strerror(-r)) < 0)
                *err = NULL;
        return r;
}

/* Container PID 1 until start: in the new namespaces, with the host's root and full privileges. */
static int init_setup(InitContext *c, char **exe, char **err) {
        const OciConfig *s = c->cfg;
        SyncMsg m = {};
        if (recv(c->sync_fd, &m, sizeof(m), 0) != sizeof(m) || m.type != SYNC_GO)
                return -EPIPE;
        c->host_pid = m.error;
        int r = init_join_namespaces(s, err);
        if (r < 0)
                return r;
        r = oci_rootfs_prepare(s, c->rootfs, err);
        if (r < 0)
                return r;
        if (s->n_hooks[OCI_HOOK_PRESTART] + s->n_hooks[OCI_HOOK_CREATE_RUNTIME] > 0) {
                sync_send(c->sync_fd, SYNC_HOOKS, 0, NULL);
                if (recv(c->sync_fd, &m, sizeof(m), 0) != sizeof(m) || m.type != SYNC_HOOKS_DONE || m.error)
                        return -ECANCELED;  /* the parent said why */
        }
        /* In the container's namespaces, the hook's path still resolved on the host. */
        r = init_hooks_run(c, OCI_HOOK_CREATE_CONTAINER, err);
        if (r < 0)
                return r;
        r = oci_rootfs_enter(c->rootfs, c->args->no_pivot, err);
        if (r < 0)
                return r;
        /* Now inside the container's root: every path below is the container's. */
        if (c->console_fd >= 0) {
                r = oci_console_setup(c->console_fd, true, err);
                if (r < 0)
                        return r;
        }
        r = oci_rootfs_finish(s, err);
        if (r < 0)
                return r;
        r = oci_process_prepare(&s->process, err);
        if (r < 0)
                return r;
        r = oci_process_lookup(&s->process, exe, err);
        if (r < 0)
                return r;
        r = fds_preserve(c->args->preserve_fds);
        if (r < 0 && asprintf(err, "Failed to mark the preserved fds: %s", strerror(-r)) < 0)
                *err = NULL;
        return r;
}

static _noreturn_ void init_main(InitContext *c) {
        _cleanup_free_ char *exe = NULL, *err = NULL;
        char path[PROC_FD_PATH_MAX];

        int r = init_setup(c, &exe, &err);
        if (r < 0) {
                sync_send(c->sync_fd, SYNC_FAILED, -r, err ?: "Failed to set up the container");
                _exit(1);
        }
        /* From here on the container outlives create: no death signal tied to it. */
        (void) prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
        sync_send(c->sync_fd, SYNC_READY, 0, NULL);
        close(c->sync_fd);

        /* Returns once start opened the FIFO. startContainer runs then, as part of start, inside
         * the container; start waits for our byte, so its poststart hooks come after it. */
        _cleanup_close_ int fifo = open(fd_proc_path(c->fifo_fd, path), O_WRONLY | O_CLOEXEC);
        if (fifo < 0) {
                fprintf(stderr, "berth-oci: Failed to wait for start on exec.fifo: %m\n");
                _exit(1);
        }
        r = init_hooks_run(c, OCI_HOOK_START_CONTAINER, &err);
        if (r < 0) {
                fprintf(stderr, "berth-oci: %s\n", err ?: strerror(-r));
                _exit(1);
        }
        if (write(fifo, "0", 1) != 1) {
                fprintf(stderr, "berth-oci: Failed to write to exec.fifo: %m\n");
                _exit(1);
        }
        r = oci_process_exec(&c->cfg->process, c->seccomp, exe, &err);
        fprintf(stderr, "berth-oci: %s\n", err ?: strerror(-r));
        _exit(r == -ENOENT ? 127 : 126);
}

static int clone_flags(const OciConfig *s) {
        int flags = 0;
        for (int n = 0; n < _OCI_NS_TYPE_MAX; n++)
                if (s->namespaces[n].requested && isempty(s->namespaces[n].path) && n != OCI_NS_CGROUP)
                        flags |= oci_namespace_clone_flag(n);
        return flags;
}

static int state_dir_create(const OciGlobal *g, const char *id, int *ret_dirfd) {
        int r = mkdir_p(g->root, 0700);
        if (r < 0)
                return log_error_errno(r, "Failed to create the state directory %s: %m", g->root);
        _cleanup_free_ char *path = strjoin_many(g->root, "/", id, NULL);
        if (!path)
                return log_oom();
        if (mkdir(path, 0700) < 0) {
                if (errno == EEXIST)
                        return log_error_errno(EEXIST, "container \"%s\" already exists", id);
                return log_error_errno(errno, "Failed to create %s: %m", path);
        }
        _cleanup_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 || flock(fd, LOCK_EX) < 0) {
                r = -errno;
                (void) rmdir(path);
                return log_error_errno(r, "Failed to open %s: %m", path);
        }
        *ret_dirfd = TAKE_FD(fd);
        return 0;
}

static void now_rfc3339(char *buf, size_t size) {
        struct timespec ts;
        struct tm tm;
        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        size_t n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(buf + n, size - n, ".%09ldZ", ts.tv_nsec);
}

static int copy_config(const char *bundle, int dirfd) {
        _cleanup_free_ char *text = NULL;
        size_t size;
        _cleanup_close_ int bfd = open(bundle, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (bfd < 0)
                return -errno;
        int r = read_file_at(bfd, "config.json", 64 << 20, &text, &size);
        if (r < 0)
                return r;
        return write_file_atomic_at(dirfd, "config.json", text, size, 0600);
}

/* The parent's half of create, once the init runs: cgroup, GO, wait for READY, state, hooks. */
static int record_fill(const OciCreateArgs *a, const OciConfig *s, const char *rootfs, pid_t pid, OciRecord *st) {
        char created[64];
        now_rfc3339(created, sizeof(created));
        st->pid = pid;
        int r = oci_pid_start_time(pid, &st->pid_start);
        if (r < 0)
                return log_error_errno(r, "Failed to read the init's start time: %m");
        if (!(st->id = strdup(a->id)) || !(st->bundle = strdup(a->bundle)) || !(st->rootfs = strdup(rootfs)) ||
            !(st->created = strdup(created)))
                return log_oom();
        if (s->annotations && !(st->annotations = strv_copy(s->annotations)))
                return log_oom();
        return 0;
}

/* The parent's half of create, once the init runs: cgroup, GO, the runtime-namespace hooks when
 * the init asks for them (its mounts are done), READY, state, PID file. */
static int create_finish(const OciGlobal *g, const OciCreateArgs *a, const OciConfig *s, const char *rootfs, int dirfd,
                         int sync_fd, pid_t pid, OciRecord *st) {
        const char *failed = NULL;
        int r;

        r = oci_cgroup_resolve(s->cgroups_path, a->id, g->systemd_cgroup, &st->cgroup_path);
        if (r < 0)
                return log_error_errno(r, "Invalid linux.cgroupsPath '%s'", s->cgroups_path ?: "");
        log_debug("Container %s: init %d, cgroup %s, root %s", a->id, (int) pid, st->cgroup_path, rootfs);
        r = oci_cgroup_setup(st->cgroup_path, pid, s->has_resources ? &s->resources : NULL, s->devices, s->n_devices, &failed);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the cgroup %s (%s): %m", st->cgroup_path, strna(failed));
        r = record_fill(a, s, rootfs, pid, st);
        if (r < 0)
                return r;
        /* The init's PID as the host sees it: what its createContainer hooks get in the state. */
        sync_send(sync_fd, SYNC_GO, pid, NULL);
        for (;;) {
                SyncMsg m = {};
                if (recv(sync_fd, &m, sizeof(m), 0) != sizeof(m))
                        return log_error_errno(EIO, "The container's init died during setup");
                if (m.type == SYNC_FAILED) {
                        log_error("%s", m.text);
                        return -(m.error ?: EIO);
                }
                if (m.type == SYNC_READY)
                        break;
                /* SYNC_HOOKS: prestart (deprecated) and createRuntime, in our namespaces, after the
                 * container's mounts and before its pivot_root, as the runtime-spec orders them. */
                for (int k = OCI_HOOK_PRESTART; k <= OCI_HOOK_CREATE_RUNTIME && r >= 0; k++)
                        r = oci_run_hooks(s, k, st, OCI_STATUS_CREATING);
                sync_send(sync_fd, SYNC_HOOKS_DONE, r < 0 ? -r : 0, NULL);
                if (r < 0)
                        return r;
        }
        r = oci_record_write(dirfd, st);
        if (r < 0)
                return log_error_errno(r, "Failed to write state.json: %m");
        if (a->pid_file) {
                r = oci_write_pid_file(a->pid_file, pid);
                if (r < 0)
                        return log_error_errno(r, "Failed to write the PID file %s: %m", a->pid_file);
        }
        return 0;
}

static int create_prepare(const OciCreateArgs *a, OciConfig *cfg, char **ret_rootfs, int *ret_console) {
        _cleanup_free_ char *err = NULL;
        struct stat st;
        int r = oci_config_load(a->bundle, cfg, &err);
        if (r < 0)
                return log_error_errno(r, "%s/config.json: %s", a->bundle, err ?: strerror(-r));
        if (!cfg->has_process)
                return log_error_errno(EINVAL, "%s/config.json: process: missing", a->bundle);
        if (cfg->namespaces[OCI_NS_USER].requested || cfg->namespaces[OCI_NS_TIME].requested)
                return log_error_errno(EOPNOTSUPP, "berth-oci does not run containers with a %s namespace yet",
                                       cfg->namespaces[OCI_NS_USER].requested ? "user" : "time");
        *ret_rootfs = cfg->root_path[0] == '/' ? strdup(cfg->root_path) : strjoin_many(a->bundle, "/", cfg->root_path, NULL);
        if (!*ret_rootfs)
                return log_oom();
        if (stat(*ret_rootfs, &st) < 0 || !S_ISDIR(st.st_mode))
                return log_error_errno(ENOENT, "The root %s of the bundle is not a directory", *ret_rootfs);
        if (cfg->process.terminal) {
                if (!a->console_socket)
                        return log_error_errno(EINVAL, "process.terminal needs --console-socket");
                r = oci_connect_console(a->console_socket, ret_console);
                if (r < 0)
                        return log_error_errno(r, "Failed to connect to the console socket %s: %m", a->console_socket);
        }
        return 0;
}

int oci_create(const OciGlobal *g, const OciCreateArgs *a, pid_t *ret_pid) {
        OciConfig cfg = {}, *s = &cfg;
        SeccompProgram seccomp = {};
        _cleanup_free_ char *rootfs = NULL;
        _cleanup_close_ int console = -EBADF, dirfd = -EBADF, fifo = -EBADF, pidfd = -EBADF, pidns = -EBADF;
        int pair[2] = { -1, -1 }, r;
        OciRecord st = {};
        pid_t pid = 0;

        if (!oci_id_is_valid(a->id))
                return log_error_errno(EINVAL, "Invalid container ID '%s'", a->id);
        r = create_prepare(a, &cfg, &rootfs, &console);
        /* Compiled here, where it may log; the init only installs it. */
        if (r >= 0 && cfg.seccomp)
                r = spawn_oci_seccomp_build(cfg.seccomp, &seccomp);
        if (r < 0)
                goto out_spec;
        const char *pidns_path = s->namespaces[OCI_NS_PID].requested ? s->namespaces[OCI_NS_PID].path : NULL;
        if (!isempty(pidns_path)) {
                pidns = open(pidns_path, O_RDONLY | O_CLOEXEC);
                if (pidns < 0 || setns(pidns, CLONE_NEWPID) < 0) {
                        r = log_error_errno(errno, "Failed to join the PID namespace %s: %m", pidns_path);
                        goto out_spec;
                }
        }
        r = state_dir_create(g, a->id, &dirfd);
        if (r < 0)
                goto out_spec;
        r = copy_config(a->bundle, dirfd);
        if (r >= 0 && mkfifoat(dirfd, "exec.fifo", 0600) < 0)
                r = -errno;
        if (r >= 0 && (fifo = openat(dirfd, "exec.fifo", O_PATH | O_CLOEXEC)) < 0)
                r = -errno;
        if (r >= 0 && socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0)
                r = -errno;
        if (r < 0) {
                log_error_errno(r, "Failed to prepare the state directory: %m");
                goto out;
        }
        pid = clone_with_pidfd((uint64_t) clone_flags(s), &pidfd);
        if (pid < 0) {
                r = log_error_errno(pid, "Failed to create the container's namespaces: %m");
                pid = 0;
                goto out;
        }
        if (pid == 0) {
                (void) prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
                /* The lock stays with create: start must not wait for an init that holds it. */
                close(pair[0]);
                close(dirfd);
                InitContext c = { .cfg = s, .seccomp = cfg.seccomp ? &seccomp : NULL, .rootfs = rootfs, .args = a,
                                  .sync_fd = pair[1], .fifo_fd = fifo, .console_fd = console };
                init_main(&c);
        }
        close(pair[1]);
        pair[1] = -1;
        r = create_finish(g, a, s, rootfs, dirfd, pair[0], pid, &st);
out:
        if (pair[0] >= 0)
                close(pair[0]);
        if (pair[1] >= 0)
                close(pair[1]);
        if (r < 0) {
                if (pid > 0) {
                        (void) pidfd_signal(pidfd, SIGKILL);
                        (void) waitpid(pid, NULL, 0);
                }
                if (st.cgroup_path)
                        (void) oci_cgroup_destroy(st.cgroup_path, 1000);
                _cleanup_free_ char *path = strjoin_many(g->root, "/", a->id, NULL);
                if (dirfd >= 0 && path)
                        (void) rm_rf_at(AT_FDCWD, path);
        } else if (ret_pid)
                *ret_pid = pid;
        oci_record_done(&st);
out_spec:
        seccomp_program_done(&seccomp);
        oci_config_done(&cfg);
        return r;
}
