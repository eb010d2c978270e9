/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>

#include "machine-error.h"
#include "machine.h"
#include "manager.h"

/* CreateMachine's scope properties: the a(sv) after the arguments of signature skip in message.
 * The systemd backend copies them verbatim into StartTransientUnit(). */
struct BusScopeProperties {
        sd_bus_message *message;
        const char *skip;
};

/* Where machines' processes live. Two implementations: systemd (ask PID 1 for transient scopes)
 * and cgroupfs (make the cgroups ourselves, on hosts without systemd). */
struct CGroupOps {
        const char *name;
        int (*init)(Manager *m);
        void (*done)(Manager *m);
        /* Puts the leader into a scope (req->allocate) or finds the unit it is already in.
         * 1: done; 0: pending, machine_start_done() follows; < 0 with f set. */
        int (*start)(Machine *machine, const ScopeRequest *req, Failure *f);
        /* Terminate: stop the scope, killing everything in it. */
        int (*stop)(Machine *machine);
        /* Signal every process of the machine. */
        int (*kill_all)(Machine *machine, int signo);
        /* The machine is gone from the registry: clean up its cgroup (kill_rest: kill leftovers
         * first; otherwise remove it once empty). */
        void (*release)(Machine *machine, bool kill_rest);
        /* Re-adoption from the state directory: 0 if the machine's cgroup still exists. */
        int (*adopt)(Machine *machine);
        /* A machine from the state directory whose leader is gone: remove what is left. */
        void (*discard)(Manager *m, const char *unit, const char *cgroup, bool owned);
        /* After loading the state directory: kill and remove the scopes below our slice that no
         * machine names (left by a kill -9 between making a scope and saving its state). NULL if
         * the backend cannot enumerate them. */
        void (*reconcile)(Manager *m);
        /* Unit and backend-relative cgroup path of pid's cgroup, if it is in a unit below our root. */
        int (*pid_get_unit)(Manager *m, pid_t pid, char **ret_unit, char **ret_cgroup, char **ret_subgroup);
};

extern const CGroupOps cgroup_ops_systemd;
extern const CGroupOps cgroup_ops_cgroupfs;

/* Whether the systemd backend can work here: /run/systemd/system and systemd on the bus. */
int cgroup_systemd_available(Manager *m);
