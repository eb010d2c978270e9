/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
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
#include <time.h>
#include <unistd.h>

#include "fd-util.h"
#include "log.h"
#include "notify-util.h"
#include "process-util.h"
#include "signal-util.h"
#include "spawn-cgroup.h"
#include "spawn-child.h"
#include "spawn-console.h"
#include "spawn-halt.h"
#include "spawn-network-links.h"
#include "spawn-network.h"
#include "spawn-oci.h"
#include "spawn-reboot.h"
#include "spawn-register.h"
#include "spawn-settings.h"
#include "spawn-root.h"
#include "spawn-sync.h"
#include "spawn-userns.h"
#include "spawn-options.h"
#include "spawn.h"

/* How long to keep reading the console after PID 1 is gone and the pty has not hung up yet. */
#define DRAIN_TIMEOUT_MSEC 1000
/* A halt signal sent before the guest's init installed its handlers is lost (a namespace's
 * PID 1 ignores signals it has no handler for), so it is repeated until init says it handles
 * them (X_SYSTEMD_SIGNALS_LEVEL=2 or READY=1) or exits. */
#define HALT_RESEND_MSEC 500

typedef struct Supervisor {
        const SpawnConfig *config;
        Console console;
        int pidfd;
        pid_t pid;
        int signal_fd;
        int notify_fd;
        int reboot_fd;              /* -U: reboot(2) of the container, answered here (spawn-reboot.h) */
        int reboot_signal;          /* what the kernel would have killed init with: SIGHUP, SIGINT */
        NotifyState notify;
        unsigned n_stop_requests;
        bool halt_pending;
        uint64_t halt_resend_usec;  /* CLOCK_MONOTONIC time of the next resend */
        bool killed_by_user;
} Supervisor;

static uint64_t now_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000;
}

static bool guest_handles_signals(const Supervisor *s) {
        return s->notify.signals_level >= 2 || s->notify.ready;
}

/* Asks the guest's init to halt the way it understands: a signal, or telinit's request. */
static int supervisor_send_halt(Supervisor *s) {
        if (s->config->res.halt_via_initctl)
                return halt_request_initctl(s->pid, '0');
        return pidfd_signal(s->pidfd, s->config->res.kill_signal);
}

static void supervisor_stop(Supervisor *s) {
        /* First request: the guest may shut down on its own terms. Any further request: no more
         * patience. */
        if (s->n_stop_requests++ > 0) {
                (void) pidfd_signal(s->pidfd, SIGKILL);
                s->halt_pending = false;
                return;
        }
        if (!s->config->opt.quiet && s->config->res.kill_signal != SIGKILL)
                log_info("Container %s: asking PID 1 to halt (%s; send again to kill).", s->config->res.machine,
                         s->config->res.halt_via_initctl ? "runlevel 0 via /run/initctl" : signal_to_string(s->config->res.kill_signal));
        int r = supervisor_send_halt(s);
        /* Until init confirms it handles signals the request may be lost; sysvinit's FIFO may
         * not exist yet. Either way: repeat until it is heard or init is gone. */
        s->halt_pending = s->config->res.kill_signal != SIGKILL && s->config->opt.boot &&
                          (s->config->res.halt_via_initctl ? r < 0 : !guest_handles_signals(s));
        s->halt_resend_usec = now_usec() + HALT_RESEND_MSEC * 1000ULL;
}

static void supervisor_handle_signal(Supervisor *s) {
        struct signalfd_siginfo si;

        while (read(s->signal_fd, &si, sizeof(si)) == sizeof(si)) {
                switch (si.ssi_signo) {
                case SIGWINCH:
                        console_forward_winsize(&s->console);
                        break;
                case SIGTERM:
                case SIGINT:
                case SIGHUP:
                        supervisor_stop(s);
                        break;
                default:
                        break;
                }
        }
}

static void supervisor_handle_notify(Supervisor *s) {
        char buf[4096];

        for (;;) {
                ssize_t n = recv(s->notify_fd, buf, sizeof(buf), MSG_DONTWAIT);
                if (n < 0)
                        return;
                if (notify_state_parse(&s->notify, buf, (size_t) n) > 0 && s->config->opt.notify_ready)
                        (void) notify_send("READY=1");
                if (s->halt_pending && guest_handles_signals(s) && !s->config->res.halt_via_initctl) {
                        /* The earlier halt signal may have been lost; now it will be heard. */
                        (void) supervisor_send_halt(s);
                        s->halt_pending = false;
                }
        }
}

/* Forwards the console and handles signals until PID 1 of the container exits. */
/* A reboot(2) in the container: init dies as the kernel would have killed it (SIGKILL, as init
 * ignores other signals from us), and its exit reads as the signal the kernel would have used. */
static void supervisor_handle_reboot(Supervisor *s) {
        int sig = reboot_listener_handle(s->reboot_fd);
        if (sig < 0) {
                log_debug_errno(sig, "Failed to answer the container's reboot(2), no longer listening: %m");
                s->reboot_fd = safe_close(s->reboot_fd);
                return;
        }
        if (sig > 0 && s->reboot_signal == 0) {
                s->reboot_signal = sig;
                (void) pidfd_signal(s->pidfd, SIGKILL);
        }
}

static int supervisor_loop(Supervisor *s) {
        bool exited = false;

        for (;;) {
                struct pollfd p[6];
                size_t n = 0;
                int ipid = -1, isig = -1, iout = -1, iin = -1, inot = -1, ireb = -1;

                if (!exited) {
                        ipid = (int) n;
                        p[n++] = (struct pollfd) { .fd = s->pidfd, .events = POLLIN };
                        isig = (int) n;
                        p[n++] = (struct pollfd) { .fd = s->signal_fd, .events = POLLIN };
                        if (s->notify_fd >= 0) {
                                inot = (int) n;
                                p[n++] = (struct pollfd) { .fd = s->notify_fd, .events = POLLIN };
                        }
                        if (s->reboot_fd >= 0) {
                                ireb = (int) n;
                                p[n++] = (struct pollfd) { .fd = s->reboot_fd, .events = POLLIN };
                        }
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

                int timeout = -1;
                if (exited)
                        timeout = DRAIN_TIMEOUT_MSEC;
                else if (s->halt_pending) {
                        /* A deadline, not an idle timeout: console output must not postpone it. */
                        uint64_t t = now_usec();
                        if (t >= s->halt_resend_usec) {
                                int r = supervisor_send_halt(s);
                                if (s->config->res.halt_via_initctl && r >= 0)
                                        s->halt_pending = false;
                                s->halt_resend_usec = t + HALT_RESEND_MSEC * 1000ULL;
                        }
                        timeout = (int) ((s->halt_resend_usec - t) / 1000) + 1;
                }
                int k = poll(p, n, timeout);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return log_error_errno(errno, "poll() failed: %m");
                }
                if (k == 0 && exited)
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
                                if (!s->config->opt.quiet)
                                        log_info("\r\nContainer %s: killed by the user (^]^]^]).\r", s->config->res.machine);
                                s->killed_by_user = true;
                                (void) pidfd_signal(s->pidfd, SIGKILL);
                        }
                }
                if (inot >= 0 && p[inot].revents)
                        supervisor_handle_notify(s);
                if (ireb >= 0 && p[ireb].revents)
                        supervisor_handle_reboot(s);
                if (isig >= 0 && p[isig].revents)
                        supervisor_handle_signal(s);
                if (ipid >= 0 && p[ipid].revents) {
                        exited = true;
                        /* Now the master reports EIO once it has handed out the last output. */
                        console_release_slave(&s->console);
                }
        }
}

static int exit_status_to_code(const SpawnConfig *c, const siginfo_t *si, bool killed_by_user) {
        if (si->si_code == CLD_EXITED) {
                /* 133 is reserved for "the guest rebooted"; a payload returning it means failure. */
                if (si->si_status == 133)
                        return c->opt.boot ? SPAWN_REBOOT : EXIT_FAILURE;
                /* The stub init has no stderr of ours (PID 2 could reach it): it says "killed by
                 * signal N" as a shell does, 128 + N, and we say it in words. */
                if (c->opt.as_pid2 && si->si_status > 128 && signal_to_string(si->si_status - 128)) {
                        log_error("Container %s: payload terminated by signal %s.", c->res.machine,
                                  signal_to_string(si->si_status - 128));
                        return si->si_status;
                }
                if (si->si_status != 0 && !c->opt.quiet && c->res.console_mode == CONSOLE_INTERACTIVE)
                        log_info("Container %s failed with error code %i.", c->res.machine, si->si_status);
                return si->si_status;
        }
        /* reboot(2) in a PID namespace kills its init: SIGINT for halt/poweroff, SIGHUP for a
         * reboot. That is how a booted guest tells us what it wants. */
        if (c->opt.boot && si->si_status == SIGINT) {
                if (!c->opt.quiet && c->res.console_mode == CONSOLE_INTERACTIVE)
                        log_info("Container %s has been shut down.", c->res.machine);
                return EXIT_SUCCESS;
        }
        if (c->opt.boot && si->si_status == SIGHUP) {
                if (!c->opt.quiet && c->res.console_mode == CONSOLE_INTERACTIVE)
                        log_info("Container %s is being rebooted.", c->res.machine);
                return SPAWN_REBOOT;
        }
        if (!killed_by_user)
                log_error("Container %s terminated by signal %s.", c->res.machine,
                          signal_to_string(si->si_status) ?: "unknown");
        return EXIT_FAILURE;
}

/* Reads the child's messages until it exec'd the payload (EOF): its warnings, the notify
 * socket, or why it failed — printed here, as the one line about it. */
static int supervisor_wait_for_exec(Supervisor *s, int sync_fd) {
        SyncMessage m;
        int r;

        for (;;) {
                _cleanup_close_ int fd = -EBADF;
                r = sync_receive(sync_fd, &m, &fd);
                /* A child killed before it read SYNC_GO resets the connection instead of closing
                 * it; either way its exit status says the rest. */
                if (r == 0 || r == -ECONNRESET)
                        break;
                if (r < 0)
                        return log_error_errno(r, "Failed to receive from the container: %m");
                switch (m.type) {
                case SYNC_NOTIFY_FD:
                        if (s->notify_fd < 0)
                                s->notify_fd = TAKE_FD(fd);
                        break;
                case SYNC_REBOOT_FD:
                        if (s->reboot_fd < 0)
                                s->reboot_fd = TAKE_FD(fd);
                        break;
                case SYNC_LOG:
                        log_internal(m.level, 0, "%s", m.reason);
                        break;
                case SYNC_FAILED:
                        log_error("%s", m.reason);
                        return -(m.error > 0 ? m.error : EIO);
                case SYNC_OCI_HOOKS:
                        /* In the runtime's namespaces: ours. A failure kills the container. */
                        r = spawn_oci_hooks_run(s->config, OCI_HOOK_PRESTART, s->pid);
                        if (r >= 0)
                                r = spawn_oci_hooks_run(s->config, OCI_HOOK_CREATE_RUNTIME, s->pid);
                        if (r < 0)
                                return r;
                        r = sync_send(sync_fd, SYNC_OCI_HOOKS_DONE, 0, 0, NULL, -EBADF);
                        if (r < 0)
                                return log_error_errno(r, "Failed to start the container: %m");
                        break;
                case SYNC_USERNS:
                        r = s->config->opt.oci && s->config->opt.oci->n_uid_mappings > 0 ?
                            spawn_oci_write_id_maps(s->config, s->pid) :
                            userns_write_maps(s->pid, s->config->res.uid_shift, s->config->res.uid_range);
                        if (r < 0)
                                return log_error_errno(r, "Failed to write the container's ID maps: %m");
                        r = sync_send(sync_fd, SYNC_USERNS_MAPPED, 0, 0, NULL, -EBADF);
                        if (r < 0)
                                return log_error_errno(r, "Failed to start the container: %m");
                        break;
                default:
                        break;
                }
        }
        /* "Started" means init really runs: the socket closed with the exec. */
        if (s->notify_fd >= 0 && !s->config->opt.notify_ready)
                (void) notify_send("READY=1");
        return 0;
}

/* Before the child creates its cgroup namespace, it must sit where it stays: in the registry's
 * machine-NAME.scope (registered without --keep-unit), or in the cgroup we make (not registered,
 * or --keep-unit, which registers that cgroup). */
static int supervisor_place(const SpawnConfig *c, SpawnCGroup *cg, pid_t pid, int netif, bool *ret_registered) {
        bool try_register = register_wanted(c);
        int r = 0;

        if (!try_register || c->opt.keep_unit) {
                r = spawn_cgroup_setup(cg, c);
                if (r >= 0)
                        r = spawn_cgroup_attach(cg, pid);
        }
        if (r >= 0 && try_register) {
                r = register_machine(c, pid, netif);
                *ret_registered = r > 0;
                /* The registry made the cgroups: the device policy goes on them. */
                if (r > 0 && !c->opt.keep_unit)
                        r = spawn_cgroup_setup_registered(cg, c, pid);
                else if (r == 0 && !c->opt.keep_unit) {
                        r = spawn_cgroup_setup(cg, c);
                        if (r >= 0)
                                r = spawn_cgroup_attach(cg, pid);
                }
        }
        if (r >= 0 && c->res.userns)
                r = spawn_cgroup_delegate(pid, c->res.uid_shift, c->res.uid_shift);
        return r;
}

/* The child waits for SYNC_GO after its outer phase: host0 is up and addressed before its inner
 * phase, so an init that configures nothing has a network. The links go into the namespace of
 * holder's pid under -U (spawn_userns_owns_network()), of the child's otherwise. If spawn is
 * SIGKILLed the child (and the holder) die of PDEATHSIG and the namespace takes host0 and with it
 * ve-NAME along. */
static int supervisor_network_setup(const SpawnConfig *c, SpawnNetwork *net, NetworkLinks *links, UsernsHolder *holder,
                                    pid_t pid, bool veth) {
        pid_t netns_pid = holder->pid > 0 ? holder->pid : pid;
        int r = veth ? network_veth_setup(net, netns_pid, c->opt.ports, c->opt.n_ports) : 0;
        if (r >= 0)
                r = network_links_setup(links, &c->opt.network_links, c->res.machine, c->opt.network_pool,
                                        c->opt.network_links.zone ? c->opt.ports : NULL,
                                        c->opt.network_links.zone ? c->opt.n_ports : 0, netns_pid);
        /* Nothing needs its pid any more; the child holds the namespaces. */
        userns_holder_release(holder);
        if (r >= 0 && veth)
                r = network_dhcp_start(net);
        return r;
}

static int spawn_run_once(const SpawnConfig *c, int signal_fd, bool *ret_registered) {
        _cleanup_close_pair_ int sync[2] = { -EBADF, -EBADF };
        _cleanup_close_ int pidfd = -EBADF;
        _cleanup_(mount_plan_done) MountPlan plan = MOUNT_PLAN_NULL;
        RootProvider root = ROOT_PROVIDER_NULL;
        SpawnCGroup cg = SPAWN_CGROUP_NULL;
        SpawnNetwork net = SPAWN_NETWORK_NULL;
        NetworkLinks links = NETWORK_LINKS_NULL;
        UsernsHolder holder = USERNS_HOLDER_NULL;
        bool veth = network_veth_wanted(c->opt.network_veth, &c->opt.network_links);
        Supervisor s = { .config = c, .console = CONSOLE_NULL, .pidfd = -EBADF, .signal_fd = signal_fd, .notify_fd = -EBADF,
                        .reboot_fd = -EBADF };
        siginfo_t si = {};
        int r;

        if (veth) {
                char ifname[IFNAMSIZ];
                network_veth_host_name(c->res.machine, ifname);
                r = network_nat_start(&net, ifname, NULL);
                if (r < 0)
                        goto finish;
        }
        r = network_links_nat_start(&links, &c->opt.network_links, c->res.machine);
        if (r < 0)
                goto finish;
        /* -U: a pty of the host's root is nobody's inside the user namespace, and the guest's init
         * (or getty) reopens /dev/console there: the container's root and tty group own it. */
        r = console_open(&s.console, c->res.console_mode, c->res.userns ? c->res.uid_shift : 0,
                         c->res.userns ? c->res.uid_shift + 5 : 0);
        if (r < 0)
                goto finish;
        r = mount_plan_build(c, s.console.slave_path, s.console.slave_trees, &plan);
        if (r < 0) {
                r = r == -ENOMEM ? log_oom() : log_error_errno(r, "Invalid mount in the container's configuration: %m");
                goto finish;
        }
        r = root_provider_setup(&root, c);
        if (r < 0)
                goto finish;

        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sync) < 0) {
                r = log_error_errno(errno, "Failed to create socket pair: %m");
                goto finish;
        }

        char nameserver[INET_ADDRSTRLEN];
        if (veth) {
                r = network_veth_prepare(&net, c->res.machine, c->opt.network_pool, c->opt.network_pool6);
                if (r < 0)
                        goto finish;
                if (net.external && c->opt.n_ports > 0) {
                        r = log_error_errno(EOPNOTSUPP, "--port= needs spawn's own addressing, but systemd-networkd manages %s here.",
                                            net.host_ifname);
                        goto finish;
                }
        }

        /* -U -n: the network namespace must be the container's user namespace's, not the one the
         * clone below would make (the host's). */
        if (spawn_userns_owns_network(c) && (r = userns_holder_start(c->res.uid_shift, c->res.uid_range, &holder)) < 0) {
                r = log_error_errno(r, "Failed to create the container's user and network namespaces: %m");
                goto finish;
        }
        pid_t pid = userns_holder_clone(&holder, spawn_clone_flags(c), &pidfd);
        if (pid < 0) {
                r = log_error_errno(pid, "Failed to create the container's namespaces: %m");
                goto finish;
        }
        if (pid == 0) {
                sync[0] = safe_close(sync[0]);
                ChildContext ctx = {
                        .config = c,
                        .plan = &plan,
                        .root = &root,
                        .sync_fd = sync[1],
                        .close_fd = cg.janitor_fd,
                        .nameserver = veth ? network_nameserver(&net, nameserver) : NULL,
                        .userns_fd = holder.userns_fd,
                };
                spawn_child_run(&ctx);
        }
        sync[1] = safe_close(sync[1]);
        s.pidfd = pidfd;
        s.pid = pid;
        /* The child has its copies: ours must not keep the namespaces alive after it. */
        userns_holder_close_fds(&holder);

        r = supervisor_network_setup(c, &net, &links, &holder, pid, veth);
        if (r >= 0)
                r = supervisor_place(c, &cg, pid, net.host_ifindex, ret_registered);
        if (r >= 0 && veth)
                r = network_nat_wait(&net);
        if (r >= 0)
                r = network_links_nat_wait(&links);
        if (r >= 0 && veth)
                network_dhcp_wait(&net);
        if (r >= 0) {
                r = sync_send(sync[0], SYNC_GO, 0, 0, NULL, -EBADF);
                /* A child that is gone already has sent why: read on. */
                if (r == -EPIPE || r == -ECONNRESET)
                        r = 0;
                else if (r < 0)
                        r = log_error_errno(r, "Failed to start the container: %m");
        }
        if (r >= 0)
                r = supervisor_wait_for_exec(&s, sync[0]);
        /* The runtime-spec: a failing poststart hook is a warning, the container runs on. */
        if (r >= 0 && spawn_oci_has_hooks(c, OCI_HOOK_POSTSTART) && spawn_oci_hooks_run(c, OCI_HOOK_POSTSTART, pid) < 0)
                log_warning("Continuing despite the failed poststart hook.");
        if (r >= 0)
                r = supervisor_loop(&s);
        if (r < 0)
                (void) pidfd_signal(pidfd, SIGKILL);

        if (waitid(P_PIDFD, (id_t) pidfd, &si, WEXITED) < 0) {
                r = log_error_errno(errno, "Failed to wait for the container: %m");
                goto finish;
        }
        console_close(&s.console);
        if (s.reboot_signal > 0 && si.si_code == CLD_KILLED && si.si_status == SIGKILL)
                si.si_status = s.reboot_signal;
        if (r >= 0)
                r = exit_status_to_code(c, &si, s.killed_by_user);

finish:
        console_close(&s.console);
        notify_state_done(&s.notify);
        s.notify_fd = safe_close(s.notify_fd);
        s.reboot_fd = safe_close(s.reboot_fd);
        /* Also on failure: the janitor removes whatever cgroups were created. */
        spawn_cgroup_finish(&cg);
        userns_holder_done(&holder);
        network_links_teardown(&links);
        network_veth_teardown(&net);
        root_provider_cleanup(&root);
        /* Once the container existed, however it ended: poststop, whose failure only warns. */
        if (s.pid > 0 && spawn_oci_has_hooks(c, OCI_HOOK_POSTSTOP) && spawn_oci_hooks_run(c, OCI_HOOK_POSTSTOP, 0) < 0)
                log_warning("Ignoring the failed poststop hook.");
        return r;
}

int spawn_run(const SpawnConfig *c) {
        _cleanup_close_ int sfd = -EBADF;
        sigset_t mask;
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

        if (!c->opt.quiet && c->res.console_mode == CONSOLE_INTERACTIVE)
                log_info("Spawning container %s on %s.\r\nPress ^] three times within 1s to kill container.\r",
                         c->res.machine, spawn_resolved_origin(&c->res));

        for (;;) {
                bool registered = false;
                r = spawn_run_once(c, sfd, &registered);
                if (r != SPAWN_REBOOT)
                        return r;
                if (!c->opt.restart_on_reboot)
                        return 133;
                if (!c->opt.quiet)
                        log_info("Container %s rebooted; booting it again.", c->res.machine);
                /* The registry may not have processed the old leader's death yet. */
                if (registered)
                        register_forget(c);
        }
}

int main(int argc, char *argv[]) {
        _cleanup_(spawn_config_done) SpawnConfig c;
        int r;

        /* Descriptors our caller left open (a host directory, a namespace) would reach the
         * container's payload: nothing of them is passed on, so close them all first. */
        r = fd_close_all_except(NULL, 0);
        if (r < 0) {
                fprintf(stderr, "Failed to close inherited file descriptors: %s\n", strerror(-r));
                return EXIT_FAILURE;
        }

        spawn_config_init(&c);
        log_set_program_name(program_invocation_short_name);

        r = spawn_options_parse_argv(&c.opt, argc, argv);
        if (r <= 0)
                return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
        /* A bundle's config.json is the whole specification, as runc reads it: no NAME.nspawn.
         * Otherwise the settings file comes before the resolution: it may name what the tree gets
         * (-x, --volatile, ...). */
        r = c.opt.oci_bundle ? spawn_oci_apply(&c.opt) : spawn_settings_load(&c.opt, argc, argv);
        if (r < 0)
                return EXIT_FAILURE;
        if (c.opt.quiet)
                log_set_max_level(LOG_LEVEL_WARNING);

        r = spawn_resolve(&c.opt, &c.res);
        if (r < 0)
                return EXIT_FAILURE;

        r = spawn_run(&c);
        return r < 0 ? EXIT_FAILURE : r;
}
