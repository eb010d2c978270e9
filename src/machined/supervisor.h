/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "list.h"
#include "machine-error.h"
#include "manager.h"
#include "pending-reply.h"
#include "pidref.h"

/* "machinectl start NAME": booting image NAME of the pool in the background.
 *
 * Where PID 1 is systemd (the systemd cgroup backend is in use), systemd is the supervisor: we
 * start and stop the unit spawn@NAME.service (supervisor-unit.c). Everywhere else machined
 * supervises itself: it forks `spawn -b` with the console going to a log file per machine, follows
 * its exit (133, a reboot inside, starts it again; anything else ends it) and stops it with
 * SIGTERM, which spawn turns into the halt request the guest's init understands. */

typedef struct Supervisor Supervisor;
typedef struct Supervised Supervised;
typedef struct UnitJob UnitJob;

typedef enum SupervisedState {
        SUPERVISED_STARTING,   /* spawn runs, its machine is not registered yet */
        SUPERVISED_RUNNING,    /* the machine is registered */
        SUPERVISED_REBOOTING,  /* spawn exited with 133; the next one starts after a short delay */
        SUPERVISED_STOPPING,   /* SIGTERM sent, waiting for spawn to exit */
        _SUPERVISED_STATE_MAX,
        _SUPERVISED_STATE_INVALID = -22,
} SupervisedState;

const char *supervised_state_to_string(SupervisedState s);
SupervisedState supervised_state_from_string(const char *s);

#define SUPERVISED_RESTART_BURST 5

struct Supervised {
        Supervisor *supervisor;
        char *name;
        SupervisedState state;
        PidRef process;        /* spawn */
        bool child;            /* our child, so we learn its exit status; false once adopted after a restart */
        sd_event_source *exit_source;  /* the pidfd */
        sd_event_source *timer_source; /* start timeout, stop escalation or reboot delay */
        unsigned stop_signals; /* signals sent since StopImage */
        uint64_t log_offset;   /* where the current run's output starts in the log */
        uint64_t restarts[SUPERVISED_RESTART_BURST]; /* CLOCK_MONOTONIC µs of recent reboots, a ring */
        unsigned n_restarts;

        PendingReply start_reply;        /* StartImage waiting for registration */
        PendingReply *stop_replies;      /* StopImage calls waiting for the exit */
        size_t n_stop_replies;

        LIST_FIELDS(Supervised, supervised);
};

struct Supervisor {
        Manager *manager;
        Supervised *supervised;
        size_t n_supervised;
        int marker_dir_fd;     /* <runtime-dir>/supervised: which spawn processes are ours */

        /* systemd hosts: unit calls we wait for (supervisor-unit.c; the jobs are tracked by
         * systemd-job.c) */
        UnitJob *jobs;
};

/* Called once the cgroup backend is known and the state directory was loaded: on hosts without
 * systemd re-adopts the spawn processes a previous machined started. */
int supervisor_setup(Manager *m);
/* Forgets everything but leaves the spawn processes running (a restarted machined adopts them). */
Supervisor *supervisor_free(Supervisor *s);
/* After the bus name was taken: starts every enabled image (failures are logged, not fatal). */
void supervisor_start_enabled(Manager *m);

/* Whether start/stop/enable go through systemd units rather than our own supervision. */
bool supervisor_uses_units(Manager *m);

/* The model behind io.berth.Machined1 (supervisor-dbus.c checks names and permissions). Each
 * takes over reply (NULL: nobody waits) to answer it later and returns >= 0, or fails with f set
 * and reply left to the caller. */
int supervisor_start_image(Supervisor *s, const char *name, PendingReply *reply, Failure *f);
int supervisor_stop_image(Supervisor *s, const char *name, PendingReply *reply, Failure *f);
/* Enable/disable are done at once. */
int supervisor_enable_image(Supervisor *s, const char *name, bool enable, Failure *f);
Supervised *supervisor_get(Supervisor *s, const char *name);

/* Hooks from the rest of machined. */
void supervisor_machine_new(Machine *machine);
/* machined is a child subreaper and reaps every child; true if si was one of ours. */
bool supervisor_reaped(Manager *m, const siginfo_t *si);

/* supervisor-unit.c: the same on systemd hosts, through spawn@NAME.service. */
void unit_supervisor_done(Supervisor *s);
int unit_start_image(Supervisor *s, const char *name, PendingReply *reply, Failure *f);
int unit_stop_image(Supervisor *s, const char *name, PendingReply *reply, Failure *f);
int unit_enable_image(Supervisor *s, const char *name, bool enable, PendingReply *reply, Failure *f);

/* supervisor-dbus.c */
int supervisor_dbus_register(Manager *m);
