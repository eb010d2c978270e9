/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "cgroup-util.h"
#include "kill-whom.h"
#include "list.h"
#include "machine-error.h"
#include "machine-spec.h"
#include "manager.h"
#include "parse-util.h"
#include "pending-reply.h"
#include "pidref.h"

typedef struct TrackedJob TrackedJob;

typedef enum MachineClass {
        MACHINE_CONTAINER,
        MACHINE_VM,
        MACHINE_HOST,
        _MACHINE_CLASS_MAX,
        _MACHINE_CLASS_INVALID = -22,
} MachineClass;

typedef enum MachineState {
        MACHINE_OPENING, /* the cgroup backend is still setting up the scope */
        MACHINE_RUNNING,
        MACHINE_CLOSING, /* terminating */
        _MACHINE_STATE_MAX,
        _MACHINE_STATE_INVALID = -22,
} MachineState;

const char *machine_class_to_string(MachineClass c);
MachineClass machine_class_from_string(const char *s);
const char *machine_state_to_string(MachineState s);
MachineState machine_state_from_string(const char *s);

#define VSOCK_CID_UNSET UINT32_MAX

/* What a registration asks of the cgroup backend. */
typedef struct ScopeRequest {
        bool allocate;                 /* CreateMachine*: a new scope; RegisterMachine*: the leader's unit */
        CGroupLimits limits;           /* parsed scope properties the cgroupfs backend applies */
        const BusScopeProperties *bus_properties; /* every scope property, for the systemd backend, or NULL */
} ScopeRequest;

typedef struct Machine {
        Manager *manager;
        char *name;
        Id128 id;
        char *service;
        MachineClass class;
        char *root_directory;
        char *unit;            /* "machine-foo.scope" */
        char *subgroup;        /* below the unit's cgroup, for RegisterMachine of a sub-cgroup */
        char *cgroup;          /* backend-relative cgroup path of the unit, "machine.slice/machine-foo.scope" */
        bool cgroup_owned;     /* we created it, so we remove it */
        PidRef leader;
        PidRef supervisor;
        uid_t uid;             /* who registered it */
        int *netif;
        size_t n_netif;
        uint32_t vsock_cid;
        char *ssh_address;
        char *ssh_private_key_path;
        uint64_t timestamp_realtime;   /* µs */
        uint64_t timestamp_monotonic;  /* µs */
        MachineState state;
        bool announced;        /* MachineNew was sent */

        sd_event_source *leader_source;
        sd_event_source *terminate_timer; /* Terminate asked the supervisor to halt; kill when it fires */

        /* A registration whose reply waits for the backend (systemd's job), on either transport. */
        PendingReply create_reply;
        TrackedJob *scope_job; /* systemd backend: the StartTransientUnit() job being waited for */

        LIST_FIELDS(Machine, machines);
        Operation *operations;
        unsigned n_operations;
} Machine;

/* Allocates and links into the manager (the name must be free). */
int machine_new(Manager *manager, const char *name, Machine **ret);
/* Unlinks and frees, without any side effects on processes, cgroups or state files. */
Machine *machine_free(Machine *m);

/* Starts watching the leader and asks the backend for the scope. 1: running now (announce
 * with machine_start_done() is already done); 0: pending, the backend calls
 * machine_start_done() later; < 0: failed (f set), the caller frees the machine. */
int machine_start(Machine *m, const ScopeRequest *req, Failure *f);
/* Completion of machine_start(): on success marks it running, saves state, sends MachineNew and
 * answers the pending create call; on failure answers it with the error and frees the machine. */
void machine_start_done(Machine *m, int error, const char *message);

/* Ends the machine; it goes away once the leader is gone. A supervisor that halts its guest
 * (spawn, systemd-nspawn) gets SIGTERM and config.terminate_timeout_usec to do it, then (or on a
 * second call) everything in the machine is killed; any other machine is killed at once, and
 * one without a leader or unit is unregistered. */
int machine_terminate(Machine *m);
int machine_kill(Machine *m, KillWhom whom, int signo);
/* Kill as the bindings ask for it: whom NULL or "" is "all"; -EINVAL for a bad whom or signal or
 * a supervisor the machine does not have, -ESRCH if the process is gone (f says which). */
int machine_kill_request(Machine *m, const char *whom, int64_t signo, Failure *f);
/* Removes the machine from the registry: state file, MachineRemoved, cgroup cleanup (kill_rest:
 * also kill what is left in a scope we created). Frees m. */
void machine_finalize(Machine *m, bool kill_rest);
/* Unregister: forget the machine but leave its processes running. Frees m. */
void machine_unregister(Machine *m);
/* Unregister on a client's request: -EOPNOTSUPP for .host. */
int machine_unregister_request(Machine *m);
/* Adds ".host", the host as a machine of class host (as systemd-machined has it). */
int manager_add_host_machine(Manager *manager);

/* Live facts about the machine, read from the leader's namespaces. */
int machine_get_os_release(Machine *m, char ***ret);
/* An O_RDONLY fd of the machine's root directory ("/" for .host): -EOPNOTSUPP for VMs, -ESRCH if
 * the leader is gone, -ENOENT without a leader. */
int machine_open_root_directory(Machine *m);
/* -EOPNOTSUPP for VMs, -ENXIO for mappings that are not a simple shift. */
int machine_get_uid_shift(Machine *m, uid_t *ret);

/* User/group ID translation (machine-idmap.c), from the leader's uid_map/gid_map. inner → outer:
 * -EOPNOTSUPP for a machine that is not a container, -ENXIO if inner is not mapped, -EINVAL for an
 * invalid ID, -ESRCH if the leader is gone. A container without a user namespace maps identity. */
int machine_map_from(Machine *m, bool group, uint32_t inner, uint32_t *ret_outer);
/* outer (a host ID) → the machine with a user namespace of its own mapping it, and the ID inside:
 * -ERANGE for the host's range (below 65536), -ENXIO if no machine maps it, -EINVAL if invalid. */
int manager_map_to_machine(Manager *manager, bool group, uint32_t outer, Machine **ret, uint32_t *ret_inner);

typedef struct MachineAddress {
        int family;
        int ifindex;
        unsigned char address[16];
} MachineAddress;
/* -ENONET if the machine has no network namespace of its own. */
int machine_get_addresses(Machine *m, MachineAddress **ret, size_t *ret_n);


char *machine_bus_path(const Machine *m);
/* For state-file based re-adoption: starts watching the leader without a backend round trip. */
int machine_watch_leader(Machine *m);
/* If m's leader has already exited (its pidfd readable, the event not yet handled), finalizes
 * m right away and returns true: the name is free again. */
bool machine_release_if_leader_gone(Machine *m);
