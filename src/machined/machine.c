/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cgroup-backend.h"
#include "fd-util.h"
#include "job-tracker.h"
#include "log.h"
#include "machine.h"
#include "macro.h"
#include "name-util.h"
#include "operation.h"
#include "state.h"
#include "string-table.h"
#include "strv.h"
#include "supervisor.h"

static const char *const machine_class_table[_MACHINE_CLASS_MAX] = {
        [MACHINE_CONTAINER] = "container",
        [MACHINE_VM] = "vm",
        [MACHINE_HOST] = "host",
};

static const char *const machine_state_table[_MACHINE_STATE_MAX] = {
        [MACHINE_OPENING] = "opening",
        [MACHINE_RUNNING] = "running",
        [MACHINE_CLOSING] = "closing",
};

DEFINE_STRING_TABLE_LOOKUP(machine_class, MachineClass)
DEFINE_STRING_TABLE_LOOKUP(machine_state, MachineState)

int machine_new(Manager *manager, const char *name, Machine **ret) {
        if (!machine_name_is_valid(name) && !streq(name, ".host"))
                return -EINVAL;
        if (manager_get_machine(manager, name))
                return -EEXIST;

        Machine *m = calloc(1, sizeof(Machine));
        if (!m)
                return -ENOMEM;
        *m = (Machine) {
                .manager = manager,
                .name = strdup(name),
                .class = _MACHINE_CLASS_INVALID,
                .leader = PIDREF_NULL,
                .supervisor = PIDREF_NULL,
                .vsock_cid = VSOCK_CID_UNSET,
                .state = MACHINE_OPENING,
        };
        if (!m->name) {
                free(m);
                return -ENOMEM;
        }
        LIST_PREPEND(machines, manager->machines, m);
        manager->n_machines++;
        *ret = m;
        return 0;
}

Machine *machine_free(Machine *m) {
        if (!m)
                return NULL;

        /* Running shells outlive the registry entry; they only lose their back pointer. */
        while (m->operations)
                operation_machine_gone(m->operations);

        LIST_REMOVE(machines, m->manager->machines, m);
        m->manager->n_machines--;

        sd_event_source_disable_unref(m->leader_source);
        sd_event_source_disable_unref(m->terminate_timer);
        tracked_job_free(m->scope_job);
        pending_reply_done(&m->create_reply);
        pidref_done(&m->leader);
        pidref_done(&m->supervisor);
        free(m->name);
        free(m->service);
        free(m->root_directory);
        free(m->unit);
        free(m->subgroup);
        free(m->cgroup);
        free(m->netif);
        free(m->ssh_address);
        free(m->ssh_private_key_path);
        free(m);
        return NULL;
}

char *machine_bus_path(const Machine *m) {
        _cleanup_free_ char *e = bus_label_escape(m->name);
        if (!e)
                return NULL;
        return strjoin("/org/freedesktop/machine1/machine/", e);
}

static int on_leader_exit(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Machine *m = userdata;

        /* A readable pidfd means the process exited; no need to wait for it being reaped. */
        log_debug("Leader %i of machine %s exited.", (int) m->leader.pid, m->name);
        if (!m->announced) {
                /* Still waiting for the backend: fail the registration instead. */
                machine_start_done(m, -ESRCH, "Leader process exited while the machine was being set up");
                return 0;
        }
        machine_finalize(m, true);
        return 0;
}

bool machine_release_if_leader_gone(Machine *m) {
        struct pollfd p = { .fd = m->leader.fd, .events = POLLIN };

        /* The leader may have exited a moment ago with its pidfd event still queued: a new
         * registration of the same name (a container restarted right away, a guest reboot) must
         * not fail with MachineExists because of that. */
        if (!m->announced || m->leader.fd < 0 || poll(&p, 1, 0) <= 0 || !(p.revents & POLLIN))
                return false;
        log_debug("Leader %i of machine %s is gone; releasing the name.", (int) m->leader.pid, m->name);
        machine_finalize(m, true);
        return true;
}

int machine_watch_leader(Machine *m) {
        if (m->leader_source)
                return 0;
        if (m->leader.fd < 0)
                return -EBADF;
        int r = sd_event_add_io(m->manager->event, &m->leader_source, m->leader.fd, EPOLLIN, on_leader_exit, m);
        if (r < 0)
                return r;
        /* Before bus traffic: MachineRemoved should follow the leader's exit as closely as possible. */
        (void) sd_event_source_set_priority(m->leader_source, SD_EVENT_PRIORITY_IMPORTANT);
        (void) sd_event_source_set_description(m->leader_source, "machine-leader");
        return 0;
}

static uint64_t now_usec(clockid_t clock) {
        struct timespec ts;
        clock_gettime(clock, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000ULL;
}

int machine_start(Machine *m, const ScopeRequest *req, Failure *f) {
        int r;

        if (m->timestamp_realtime == 0) {
                m->timestamp_realtime = now_usec(CLOCK_REALTIME);
                m->timestamp_monotonic = now_usec(CLOCK_MONOTONIC);
        }
        if (!pidref_is_set(&m->leader)) {
                /* Registered without a leader (Varlink): no processes, so no unit or cgroup either. */
                machine_start_done(m, 0, NULL);
                return 1;
        }
        r = machine_watch_leader(m);
        if (r < 0)
                return failure_set(f, r, "Failed to watch leader process: %m");

        r = m->manager->cgroup_ops->start(m, req, f);
        if (r < 0)
                return r;
        if (r > 0)
                machine_start_done(m, 0, NULL);
        return 1;
}

static void machine_reply_create(Machine *m, int error, const char *message) {
        if (error < 0) {
                _cleanup_free_ char *text = NULL;
                if (!message) {
                        errno = -error;
                        if (asprintf(&text, "Failed to start machine: %m") < 0)
                                text = NULL;
                }
                pending_reply_fail(&m->create_reply, error, message ?: text);
        } else
                pending_reply_complete(&m->create_reply, NULL, m);
}

static void machine_announce(Machine *m, bool new_machine) {
        if (m->manager->announce_machine)
                m->manager->announce_machine(m, new_machine);
}

void machine_start_done(Machine *m, int error, const char *message) {
        _cleanup_free_ char *text = NULL;

        if (error >= 0) {
                m->state = MACHINE_RUNNING;
                /* Acknowledged only once durable: a machine whose state was not written would be
                 * lost by the next restart with its processes left running in a scope nobody
                 * knows (issue 11, finding 11). */
                error = machine_save(m);
                if (error < 0) {
                        machine_remove_state(m);
                        errno = -error;
                        if (asprintf(&text, "Failed to save state of machine %s: %m", m->name) < 0)
                                text = NULL;
                        message = text;
                }
        }
        if (error < 0) {
                log_notice_errno(error, "Failed to start machine %s: %s", m->name, message ?: strerror(-error));
                machine_reply_create(m, error, message);
                m->manager->cgroup_ops->release(m, true);
                machine_free(m);
                return;
        }

        machine_announce(m, true);
        m->announced = true;
        log_info("New machine %s (leader %i, unit %s).", m->name, (int) m->leader.pid, strna(m->unit));
        machine_reply_create(m, 0, NULL);
        /* A StartImage waiting for this machine is answered after MachineNew went out. */
        supervisor_machine_new(m);
}

/* Supervisors that halt their guest the way its init understands when they get SIGTERM (SIGRTMIN+3
 * for systemd, telinit 0 or the kill signal for others) and kill it on a second one: spawn, which
 * registers as service "berth", and systemd-nspawn. Any other caller that registered a machine
 * (a VM manager, a script) gets no signal from us. */
static bool machine_supervisor_halts(const Machine *m) {
        return pidref_is_set(&m->supervisor) && m->service &&
               (streq(m->service, "berth") || streq(m->service, "systemd-nspawn") || streq(m->service, "nspawn"));
}

static int on_terminate_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        Machine *m = userdata;

        log_notice("Machine %s did not halt within %llu s, killing it.", m->name,
                   (unsigned long long) (m->manager->config.terminate_timeout_usec / 1000000ULL));
        m->terminate_timer = sd_event_source_disable_unref(m->terminate_timer);
        (void) m->manager->cgroup_ops->stop(m);
        return 0;
}

int machine_terminate(Machine *m) {
        int r;

        if (m->class == MACHINE_HOST)
                return -EOPNOTSUPP;
        if (!pidref_is_set(&m->leader) && !m->unit && !m->cgroup) {
                /* Nothing runs that could be stopped: terminating it is unregistering it. */
                machine_unregister(m);
                return 0;
        }
        m->state = MACHINE_CLOSING;
        (void) machine_save(m);

        /* A second Terminate while the guest halts: kill now, as spawn does on a second SIGTERM. */
        if (!m->terminate_timer && machine_supervisor_halts(m)) {
                r = pidref_kill(&m->supervisor, SIGTERM);
                if (r >= 0)
                        r = sd_event_add_time_relative(m->manager->event, &m->terminate_timer, CLOCK_MONOTONIC,
                                                       m->manager->config.terminate_timeout_usec, 0,
                                                       on_terminate_timeout, m);
                if (r >= 0) {
                        log_info("Asked supervisor %i of machine %s to halt it.", (int) m->supervisor.pid, m->name);
                        return 0;
                }
                log_debug_errno(r, "Cannot ask the supervisor of machine %s to halt it, killing it: %m", m->name);
        }
        m->terminate_timer = sd_event_source_disable_unref(m->terminate_timer);
        return m->manager->cgroup_ops->stop(m);
}

int machine_kill_request(Machine *m, const char *swhom, int64_t signo, Failure *f) {
        KillWhom whom = KILL_ALL;

        if (m->class == MACHINE_HOST)
                return failure_set(f, -EOPNOTSUPP, "Cannot signal the processes of the host (%s)", m->name);
        if (!isempty(swhom)) {
                whom = kill_whom_from_string(swhom);
                if (whom < 0)
                        return failure_set_parameter(f, -EINVAL, "whom", "Invalid kill parameter '%s'", swhom);
        }
        if (signo <= 0 || signo >= _NSIG)
                return failure_set_parameter(f, -EINVAL, "signal", "Invalid signal %lli", (long long) signo);
        if (whom == KILL_SUPERVISOR && !pidref_is_set(&m->supervisor))
                return failure_set_parameter(f, -EINVAL, "whom", "Machine %s has no supervisor process", m->name);
        int r = machine_kill(m, whom, (int) signo);
        if (r == -ESRCH)
                return failure_set(f, r, "The %s process of machine %s is gone", kill_whom_to_string(whom), m->name);
        if (r < 0)
                return failure_set(f, r, "Failed to kill machine %s: %m", m->name);
        return 0;
}

/* Whether PID has a handler for SIGNO (SigCgt in /proc/PID/status). A container's init gets from
 * outside its PID namespace only the signals it handles; the others are dropped silently. */
static bool pid_catches_signal(pid_t pid, int signo) {
        char path[64], line[256];
        bool caught = false;

        snprintf(path, sizeof(path), "/proc/%i/status", (int) pid);
        FILE *f = fopen(path, "re");
        if (!f)
                return false;
        while (fgets(line, sizeof(line), f))
                if (strncmp(line, "SigCgt:", 7) == 0) {
                        unsigned long long mask = strtoull(line + 7, NULL, 16);
                        caught = signo <= 64 && (mask >> (signo - 1)) & 1;
                        break;
                }
        fclose(f);
        return caught;
}

int machine_kill(Machine *m, KillWhom whom, int signo) {
        switch (whom) {
        case KILL_LEADER:
                /* poweroff (SIGRTMIN+4) to an init that would never see it (sysvinit, OpenRC on
                 * sysvinit, busybox init): its supervisor halts it the way that init understands. */
                if (signo == SIGRTMIN + 4 && machine_supervisor_halts(m) && pidref_is_set(&m->leader) &&
                    !pid_catches_signal(m->leader.pid, signo))
                        return pidref_kill(&m->supervisor, SIGTERM);
                return pidref_kill(&m->leader, signo);
        case KILL_SUPERVISOR:
                return pidref_kill(&m->supervisor, signo);
        case KILL_ALL:
                return m->manager->cgroup_ops->kill_all(m, signo);
        default:
                return -EINVAL;
        }
}

static void machine_remove(Machine *m, bool release, bool kill_rest) {
        m->state = MACHINE_CLOSING;
        if (release)
                m->manager->cgroup_ops->release(m, kill_rest);
        machine_remove_state(m);
        if (m->announced) {
                log_info("Machine %s removed.", m->name);
                machine_announce(m, false);
        }
        machine_reply_create(m, -ESRCH, "Machine went away");
        machine_free(m);
}

void machine_finalize(Machine *m, bool kill_rest) {
        machine_remove(m, true, kill_rest);
}

int machine_unregister_request(Machine *m) {
        if (m->class == MACHINE_HOST)
                return -EOPNOTSUPP;
        machine_unregister(m);
        return 0;
}

void machine_unregister(Machine *m) {
        machine_remove(m, true, false);
}

int manager_add_host_machine(Manager *manager) {
        _cleanup_free_ char *id = NULL;
        Machine *m;

        /* systemd-machined's ".host": the host itself, class host, PID 1 as its leader, "/" as its
         * root. Never saved, announced, watched, stopped or signalled: only looked at and entered. */
        int r = machine_new(manager, ".host", &m);
        if (r < 0)
                return log_error_errno(r, "Failed to add the host as machine .host: %m");
        m->class = MACHINE_HOST;
        m->state = MACHINE_RUNNING;
        m->root_directory = strdup("/");
        if (!m->root_directory) {
                machine_free(m);
                return log_oom();
        }
        (void) pidref_set_pid(&m->leader, 1);
        if (read_file_at(AT_FDCWD, "/etc/machine-id", 64, &id, NULL) >= 0) {
                id[strcspn(id, "\n")] = 0;
                (void) id128_from_string(id, &m->id);
        }
        m->timestamp_realtime = now_usec(CLOCK_REALTIME);
        m->timestamp_monotonic = now_usec(CLOCK_MONOTONIC);
        return 0;
}
