/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* exec: a further process in a running container. We join its PID namespace ourselves (that
 * only affects our children), fork, and the child joins the cgroup, the other namespaces (mount
 * last: after it the host's paths are gone) and applies the process spec as create's init does. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fd-util.h"
#include "log.h"
#include "oci-cgroup.h"
#include "oci-process.h"
#include "oci-runtime.h"
#include "process-util.h"
#include "spawn-caps.h"
#include "spawn-oci.h"
#include "strv.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

typedef struct ExecArgs {
        const char *id;
        const char *process_file;
        const char *console_socket;
        const char *pid_file;
        const char *cwd;
        const char *user;
        char **env;
        char **caps;
        bool tty;
        bool detach;
        bool no_new_privs;
        unsigned preserve_fds;
        char **argv;
} ExecArgs;

static int exec_parse(int argc, char **argv, ExecArgs *a) {
        enum { ARG_CONSOLE = 0x100, ARG_PID_FILE, ARG_CWD, ARG_NNP, ARG_PRESERVE, ARG_IGNORE };
        static const struct option options[] = {
                { "process", required_argument, NULL, 'p' },  { "console-socket", required_argument, NULL, ARG_CONSOLE },
                { "pid-file", required_argument, NULL, ARG_PID_FILE }, { "cwd", required_argument, NULL, ARG_CWD },
                { "env", required_argument, NULL, 'e' },      { "tty", no_argument, NULL, 't' },
                { "user", required_argument, NULL, 'u' },     { "detach", no_argument, NULL, 'd' },
                { "cap", required_argument, NULL, 'c' },      { "no-new-privs", no_argument, NULL, ARG_NNP },
                { "preserve-fds", required_argument, NULL, ARG_PRESERVE },
                { "process-label", required_argument, NULL, ARG_IGNORE }, { "apparmor", required_argument, NULL, ARG_IGNORE },
                { "additional-gids", required_argument, NULL, 'g' }, { "ignore-paused", no_argument, NULL, ARG_IGNORE },
                { "cgroup", required_argument, NULL, ARG_IGNORE },
                {}
        };
        int c;
        optind = 0;
        while ((c = getopt_long(argc, argv, "+p:e:tu:dc:g:", options, NULL)) >= 0)
                switch (c) {
                case 'p': a->process_file = optarg; break;
                case ARG_CONSOLE: a->console_socket = optarg; break;
                case ARG_PID_FILE: a->pid_file = optarg; break;
                case ARG_CWD: a->cwd = optarg; break;
                case 'e':
                        if (strv_extend(&a->env, optarg) < 0)
                                return log_oom();
                        break;
                case 't': a->tty = true; break;
                case 'u': a->user = optarg; break;
                case 'd': a->detach = true; break;
                case 'c':
                        if (strv_extend(&a->caps, optarg) < 0)
                                return log_oom();
                        break;
                case ARG_NNP: a->no_new_privs = true; break;
                case ARG_PRESERVE: a->preserve_fds = (unsigned) strtoul(optarg, NULL, 10); break;
                case 'g': case ARG_IGNORE: break;
                default: return -EINVAL;
                }
        if (optind >= argc)
                return log_error_errno(EINVAL, "exec: a container ID is required");
        a->id = argv[optind++];
        a->argv = argv + optind;
        if (!a->process_file && !a->argv[0])
                return log_error_errno(EINVAL, "exec: give a command or --process");
        return 0;
}

/* --process FILE holds a runtime-spec "process" object alone: wrapped into the smallest
 * config.json there is, it goes through the one parser (src/shared/oci-config.c). */
static int process_file_load(const char *path, OciConfig *ret) {
        _cleanup_free_ char *err = NULL;
        json_object *p = json_object_from_file(path);
        if (!p)
                return log_error_errno(EINVAL, "%s: not a JSON document", path);
        json_object *doc = json_object_new_object(), *root = json_object_new_object();
        json_object_object_add(root, "path", json_object_new_string("/"));
        json_object_object_add(doc, "ociVersion", json_object_new_string(OCI_RUNTIME_SPEC_VERSION));
        json_object_object_add(doc, "root", root);
        json_object_object_add(doc, "process", p);
        int r = oci_config_parse(json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN), ret, &err);
        json_object_put(doc);
        if (r < 0)
                return log_error_errno(r, "%s: %s", path, err ?: strerror(-r));
        return 0;
}

static int strv_replace(char ***l, char **with) {
        if (!with)
                return -ENOMEM;
        strv_free(*l);
        *l = with;
        return 0;
}

/* The process to run: --process FILE as it is, or config.json's process with the command line's
 * changes (args, env, cwd, user, tty, caps). */
static int exec_process(const ExecArgs *a, OciConfig *cfg, OciConfig *file_cfg, OciProcess **ret) {
        if (a->process_file) {
                int r = process_file_load(a->process_file, file_cfg);
                if (r < 0)
                        return r;
                *ret = &file_cfg->process;
                return 0;
        }
        OciProcess *p = &cfg->process;
        if (strv_replace(&p->args, strv_copy(a->argv)) < 0)
                return log_oom();
        for (char **e = a->env; e && *e; e++)
                if (strv_env_set(&p->env, *e) < 0)
                        return log_error_errno(EINVAL, "Bad --env '%s'", *e);
        if (a->cwd) {
                free(p->cwd);
                if (!(p->cwd = strdup(a->cwd)))
                        return log_oom();
        }
        p->terminal = a->tty;
        p->no_new_privileges |= a->no_new_privs;
        if (a->user) {
                unsigned uid, gid = 0;
                int n = sscanf(a->user, "%u:%u", &uid, &gid);
                if (n < 1)
                        return log_error_errno(EINVAL, "--user wants UID[:GID], not '%s'", a->user);
                p->uid = uid;
                p->gid = n == 2 ? gid : 0;
        }
        for (char **c = a->caps; c && *c; c++) {
                if (capability_from_name(*c) < 0)
                        return log_error_errno(EINVAL, "Unknown capability '%s'", *c);
                p->has_capabilities = true;
                for (int k = 0; k < _OCI_CAP_SET_MAX; k++)
                        if (strv_extend(&p->capabilities[k], *c) < 0)
                                return log_oom();
        }
        *ret = p;
        return 0;
}

static _noreturn_ void exec_child(const OciRecord *st, const SeccompProgram *seccomp, const OciProcess *p, int ns_fds[],
                                  int console, unsigned preserve, int err_fd) {
        _cleanup_free_ char *err = NULL, *exe = NULL;
        int r = oci_cgroup_join(st->cgroup_path, 0);
        if (r < 0)
                if (asprintf(&err, "Failed to join the container's cgroup: %s", strerror(-r)) < 0)
                        err = NULL;
        /* Mount last: the others are looked up through /proc of the host. */
        static const OciNamespaceType order[] = { OCI_NS_CGROUP, OCI_NS_IPC, OCI_NS_UTS, OCI_NS_NETWORK, OCI_NS_MOUNT };
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(order); i++)
                if (ns_fds[order[i]] >= 0 && setns(ns_fds[order[i]], oci_namespace_clone_flag(order[i])) < 0) {
                        r = -errno;
                        if (asprintf(&err, "Failed to join the container's %s namespace: %m", oci_namespace_type_to_string(order[i])) < 0)
                                err = NULL;
                }
        if (r >= 0 && console >= 0)
                r = oci_console_setup(console, false, &err);
        if (r >= 0)
                r = oci_process_prepare(p, &err);
        if (r >= 0)
                r = oci_process_lookup(p, &exe, &err);
        if (r >= 0 && syscall(SYS_close_range, 3 + preserve, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
                r = -errno;
        if (r >= 0)
                r = oci_process_exec(p, seccomp, exe, &err);
        if (err)
                (void) loop_write(err_fd, err, strlen(err));
        _exit(r == -ENOENT ? 127 : 126);
}

static pid_t exec_child_pid = 0;

static void forward_signal(int sig) {
        if (exec_child_pid > 0)
                kill(exec_child_pid, sig);
}

static int exec_wait(pid_t pid) {
        static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH };
        exec_child_pid = pid;
        for (size_t i = 0; i < ELEMENTSOF(sigs); i++)
                signal(sigs[i], forward_signal);
        int status = 0;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int exec_run(const OciGlobal *g, const ExecArgs *a, int *ret_status) {
        _cleanup_close_ int dirfd = -EBADF, console = -EBADF, err_read = -EBADF, err_write = -EBADF;
        int ns_fds[_OCI_NS_TYPE_MAX];
        OciRecord st = {};
        OciConfig cfg = {}, file_cfg = {}, *s = &cfg;
        SeccompProgram seccomp = {};
        OciProcess *p = NULL;
        int r = oci_open_container(g, a->id, &dirfd, &st);
        if (r < 0)
                return r;
        for (int n = 0; n < _OCI_NS_TYPE_MAX; n++)
                ns_fds[n] = -EBADF;
        if (oci_record_status(dirfd, &st) == OCI_STATUS_STOPPED) {
                r = log_error_errno(ESRCH, "cannot exec in a stopped container");
                goto out;
        }
        r = oci_load_saved_config(g, a->id, &cfg);
        if (r >= 0)
                r = exec_process(a, &cfg, &file_cfg, &p);
        /* The container's filter applies to every process in it, as with runc. */
        if (r >= 0 && cfg.seccomp)
                r = spawn_oci_seccomp_build(cfg.seccomp, &seccomp);
        if (r < 0)
                goto out;
        if (p->terminal) {
                if (!a->console_socket) {
                        r = log_error_errno(EINVAL, "exec with a terminal needs --console-socket");
                        goto out;
                }
                r = oci_connect_console(a->console_socket, &console);
                if (r < 0) {
                        log_error_errno(r, "Failed to connect to the console socket %s: %m", a->console_socket);
                        goto out;
                }
        }
        for (int n = 0; n < _OCI_NS_TYPE_MAX; n++) {
                char path[64];
                if (!s->namespaces[n].requested || n == OCI_NS_USER || n == OCI_NS_TIME)
                        continue;
                snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int) st.pid, oci_namespace_proc_name(n));
                if ((ns_fds[n] = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
                        r = log_error_errno(errno, "Failed to open %s: %m", path);
                        goto out;
                }
        }
        if (ns_fds[OCI_NS_PID] >= 0 && setns(ns_fds[OCI_NS_PID], CLONE_NEWPID) < 0) {
                r = log_error_errno(errno, "Failed to join the container's PID namespace: %m");
                goto out;
        }
        int err_pipe[2];
        if (pipe2(err_pipe, O_CLOEXEC) < 0) {
                r = log_error_errno(errno, "pipe failed: %m");
                goto out;
        }
        err_read = err_pipe[0];
        err_write = err_pipe[1];
        pid_t pid = fork();
        if (pid < 0) {
                r = log_error_errno(errno, "fork failed: %m");
                goto out;
        }
        if (pid == 0) {
                close(dirfd);  /* the state lock stays with us */
                exec_child(&st, cfg.seccomp ? &seccomp : NULL, p, ns_fds, console, a->preserve_fds, err_write);
        }
        err_write = safe_close(err_write);
        char buf[1024];
        ssize_t n = read(err_read, buf, sizeof(buf) - 1);
        if (n > 0) {
                buf[n] = 0;
                r = log_error_errno(ENOEXEC, "%s", buf);
                (void) waitpid(pid, NULL, 0);
                goto out;
        }
        if (a->pid_file && (r = oci_write_pid_file(a->pid_file, pid)) < 0) {
                log_error_errno(r, "Failed to write the PID file %s: %m", a->pid_file);
                /* Nobody would know the process: it must not outlive the failed exec. */
                (void) kill(pid, SIGKILL);
                (void) waitpid(pid, NULL, 0);
                goto out;
        }
        dirfd = safe_close(dirfd);
        *ret_status = a->detach ? 0 : exec_wait(pid);
        r = 0;
out:
        for (int i = 0; i < _OCI_NS_TYPE_MAX; i++)
                if (ns_fds[i] >= 0)
                        close(ns_fds[i]);
        seccomp_program_done(&seccomp);
        oci_config_done(&file_cfg);
        oci_config_done(&cfg);
        oci_record_done(&st);
        return r;
}

int verb_exec(const OciGlobal *g, int argc, char **argv) {
        ExecArgs a = {};
        int status = 1;
        if (exec_parse(argc, argv, &a) >= 0 && exec_run(g, &a, &status) < 0)
                status = 1;
        strv_free(a.env);
        strv_free(a.caps);
        return status;
}
