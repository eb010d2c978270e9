/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "process-util.h"
#include "signal-util.h"
#include "spawn-child.h"
#include "spawn-console.h"
#include "spawn-options.h"
#include "spawn.h"

/* How long to keep reading the console after PID 1 is gone and the pty has not hung up yet. */
#define DRAIN_TIMEOUT_MSEC 1000

typedef struct Supervisor {
        const SpawnConfig *config;
        Console console;
        int pidfd;
        int signal_fd;
        unsigned n_stop_requests;
        bool killed_by_user;
} Supervisor;

static void supervisor_handle_signal(Supervisor *s) {
        struct signalfd_siginfo si;

        while (read(s->signal_fd, &si, sizeof(si)) == sizeof(si)) {
                switch (si.ssi_signo) {
                case SIGWINCH:
                        console_forward_winsize(&s->console);
                        break;
                case SIGTERM:
                case SIGINT:
                case SIGHUP: {
                        /* First request: the configured signal, so the guest can shut down on its
                         * own terms. Any further request: no more patience. */
                        int sig = s->n_stop_requests++ == 0 ? s->config->kill_signal : SIGKILL;
                        if (!s->config->quiet && sig != SIGKILL)
                                log_info("Container %s: sending %s to PID 1 (send again to kill).",
                                         s->config->machine, signal_to_string(sig));
                        (void) pidfd_signal(s->pidfd, sig);
                        break;
                }
                default:
                        break;
                }
        }
}

/* Forwards the console and handles signals until PID 1 of the container exits. */
static int supervisor_loop(Supervisor *s) {
        bool exited = false;

        for (;;) {
                struct pollfd p[4];
                size_t n = 0;
                int ipid = -1, isig = -1, iout = -1, iin = -1;

                if (!exited) {
                        ipid = (int) n;
                        p[n++] = (struct pollfd) { .fd = s->pidfd, .events = POLLIN };
                        isig = (int) n;
                        p[n++] = (struct pollfd) { .fd = s->signal_fd, .events = POLLIN };
                }
                if (s->console.master >= 0) {
                        iout = (int) n;
                        p[n++] = (struct pollfd) { .fd = s->console.master, .events = POLLIN };
                }
                if (!exited && s->console.master >= 0 && s->console.input_open) {
                        iin = (int) n;
                        p[n++] = (struct pollfd) { .fd = STDIN_FILENO, .events = POLLIN };
                }
                if (n == 0)
                        return 0;

                int k = poll(p, n, exited ? DRAIN_TIMEOUT_MSEC : -1);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return log_error_errno(errno, "poll() failed: %m");
                }
                if (k == 0)
                        return 0; /* drain timed out */

                if (iout >= 0 && p[iout].revents) {
                        if (console_handle_output(&s->console) == -EIO) {
                                /* Every slave is closed: nothing more can arrive. */
                                s->console.master = safe_close(s->console.master);
                                if (exited)
                                        return 0;
                        }
                }
                if (iin >= 0 && p[iin].revents) {
                        if (console_handle_input(&s->console) > 0) {
                                if (!s->config->quiet)
                                        log_info("\r\nContainer %s: killed by the user (^]^]^]).\r", s->config->machine);
                                s->killed_by_user = true;
                                (void) pidfd_signal(s->pidfd, SIGKILL);
                        }
                }
                if (isig >= 0 && p[isig].revents)
                        supervisor_handle_signal(s);
                if (ipid >= 0 && p[ipid].revents)
                        exited = true;
        }
}

static int exit_status_to_code(const SpawnConfig *c, const siginfo_t *si, bool killed_by_user) {
        if (si->si_code == CLD_EXITED) {
                /* 133 is reserved for "the guest rebooted"; a payload returning it means failure. */
                if (si->si_status == 133)
                        return EXIT_FAILURE;
                if (si->si_status != 0 && !c->quiet && c->console_mode == CONSOLE_INTERACTIVE)
                        log_info("Container %s failed with error code %i.", c->machine, si->si_status);
                return si->si_status;
        }
        if (!killed_by_user)
                log_error("Container %s terminated by signal %s.", c->machine,
                          signal_to_string(si->si_status) ?: "unknown");
        return EXIT_FAILURE;
}

int spawn_run(const SpawnConfig *c) {
        _cleanup_close_pair_ int sync[2] = { -EBADF, -EBADF };
        _cleanup_close_ int pidfd = -EBADF, sfd = -EBADF;
        Supervisor s = { .config = c, .console = CONSOLE_NULL, .pidfd = -EBADF, .signal_fd = -EBADF };
        sigset_t mask;
        siginfo_t si = {};
        int r;

        /* Signals are handled synchronously in the event loop; SIGPIPE becomes EPIPE. */
        sigemptyset(&mask);
        for (int sig = 0, l[] = { SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGWINCH }; sig < 5; sig++)
                sigaddset(&mask, l[sig]);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return log_error_errno(errno, "Failed to block signals: %m");
        signal(SIGPIPE, SIG_IGN);
        sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
        if (sfd < 0)
                return log_error_errno(errno, "Failed to create signalfd: %m");

        r = console_open(&s.console, c->console_mode);
        if (r < 0)
                goto finish;

        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sync) < 0) {
                r = log_error_errno(errno, "Failed to create socket pair: %m");
                goto finish;
        }

        if (!c->quiet && c->console_mode == CONSOLE_INTERACTIVE)
                log_info("Spawning container %s on %s.\r\nPress ^] three times within 1s to kill container.\r",
                         c->machine, c->directory);

        uint64_t flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC |
                         (c->private_network ? CLONE_NEWNET : 0);
        pid_t pid = clone_with_pidfd(flags, &pidfd);
        if (pid < 0) {
                r = log_error_errno(pid, "Failed to create the container's namespaces: %m");
                goto finish;
        }
        if (pid == 0) {
                sync[0] = safe_close(sync[0]);
                ChildContext ctx = { .config = c, .console_path = s.console.slave_path, .sync_fd = sync[1] };
                spawn_child_run(&ctx);
        }
        sync[1] = safe_close(sync[1]);
        s.pidfd = pidfd;
        s.signal_fd = sfd;

        if (write(sync[0], "G", 1) != 1) {
                r = log_error_errno(errno, "Failed to start the container: %m");
                (void) pidfd_signal(pidfd, SIGKILL);
                (void) waitid(P_PIDFD, (id_t) pidfd, &si, WEXITED);
                goto finish;
        }

        r = supervisor_loop(&s);
        if (r < 0)
                (void) pidfd_signal(pidfd, SIGKILL);

        if (waitid(P_PIDFD, (id_t) pidfd, &si, WEXITED) < 0) {
                r = log_error_errno(errno, "Failed to wait for the container: %m");
                goto finish;
        }
        console_close(&s.console);
        r = exit_status_to_code(c, &si, s.killed_by_user);

finish:
        console_close(&s.console);
        return r;
}

int main(int argc, char *argv[]) {
        _cleanup_(spawn_config_done) SpawnConfig c = { .console_mode = _CONSOLE_MODE_INVALID };
        int r;

        log_set_program_name(program_invocation_short_name);

        r = spawn_config_parse_argv(&c, argc, argv);
        if (r <= 0)
                return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
        if (c.quiet)
                log_set_max_level(LOG_LEVEL_WARNING);

        r = spawn_config_verify(&c);
        if (r < 0)
                return EXIT_FAILURE;

        r = spawn_run(&c);
        return r < 0 ? EXIT_FAILURE : r;
}
