/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cgroup-util.h"
#include "machine-error.h"
#include "parse-util.h"
#include "pidref.h"

typedef struct Machine Machine;
typedef struct Manager Manager;
typedef struct PendingReply PendingReply;
/* The caller's scope properties as the systemd backend passes them on (cgroup-backend.h). */
typedef struct BusScopeProperties BusScopeProperties;

#define MACHINE_STRING_MAX 4096

/* What a client asks for when it registers a machine, whichever transport it came by: the D-Bus
 * binding (manager-dbus.c: CreateMachine*, RegisterMachine*) and the Varlink binding
 * (machined-varlink.c: Register) fill one of these with borrowed strings, machine_spec_validate()
 * checks it, and machine_register() makes the machine. */
typedef struct MachineSpec {
        const char *name;
        Id128 id;
        const char *service;
        const char *class;             /* NULL or "": unknown */
        uint32_t leader_pid;           /* 0: the leader is the caller (or none, see leader_optional), or given by leader_pidfd */
        int leader_pidfd;              /* -EBADF: not given */
        uint64_t leader_pidfd_id;      /* 0: not given */
        const char *leader_parameter;  /* Varlink name of the field the leader came in ("leader") */
        const char *root_directory;
        const int *netif;
        size_t n_netif;
        uint32_t vsock_cid;            /* VSOCK_CID_UNSET: not given */
        const char *ssh_address;
        const char *ssh_private_key_path;

        bool allocate_unit;            /* Create*: a new scope; Register*: the unit the leader is in */
        CGroupLimits limits;           /* scope properties the cgroupfs backend applies */
        const BusScopeProperties *bus_properties; /* all scope properties, for the systemd backend */

        PidRef caller;                 /* the client's process, pinned by the binding, or unset */
        bool caller_is_supervisor;     /* D-Bus: a caller other than the leader supervises it */
        bool leader_optional;          /* Varlink: no leader given means none, not the (short-lived) caller */
        uid_t uid;                     /* the client's UID */
} MachineSpec;

#define MACHINE_SPEC_INIT                                                                               \
        ((MachineSpec) { .leader_pidfd = -EBADF, .vsock_cid = UINT32_MAX /* VSOCK_CID_UNSET */, .leader_parameter = "leader",  \
                         .limits = CGROUP_LIMITS_UNSET, .caller = PIDREF_NULL })

void machine_spec_done(MachineSpec *s);

/* Printable, bounded strings only: they end up in state files and logs. */
bool machine_string_is_valid(const char *s);

/* Checks everything that can be checked without the manager. -EINVAL (with the Varlink parameter
 * in f) for a bad value. */
int machine_spec_validate(const MachineSpec *s, Failure *f);
/* machine_spec_validate(), then -EEXIST if the name is taken (by a machine whose leader still runs). */
int machine_spec_check(Manager *m, const MachineSpec *s, Failure *f);
/* Pins the leader (leader_pidfd, leader_pid[+leader_pidfd_id], else the caller, or with
 * leader_optional none: ret_leader unset) and, if wanted, the caller as supervisor. -ESRCH if the leader is gone, -EINVAL if the references disagree. */
int machine_spec_pin(const MachineSpec *s, PidRef *ret_leader, PidRef *ret_supervisor, Failure *f);

/* The whole of registration: check, pin, create, start. reply is answered when the machine is up
 * (it may be at once) or failed later; on a failure returned here it is left unanswered. */
int machine_register(Manager *m, MachineSpec *s, PendingReply *reply, Failure *f);

/* One CreateMachine scope property (systemd's D-Bus names; all values "t"): 1 if it is a limit the
 * cgroupfs backend applies (stored in l), 0 if only the systemd backend knows it, -EINVAL/-ERANGE
 * for a bad value. */
int scope_property_parse(const char *name, uint64_t value, CGroupLimits *l, Failure *f);
bool scope_property_is_limit(const char *name);

/* vSockCid: 0-2 are the hypervisor, local and host; -1 is "any". */
static inline bool vsock_cid_is_regular(uint64_t cid) {
        return cid >= 3 && cid < UINT32_MAX;
}
