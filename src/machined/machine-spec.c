/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "machine-spec.h"
#include "machine.h"
#include "macro.h"
#include "manager.h"
#include "name-util.h"
#include "pending-reply.h"

void machine_spec_done(MachineSpec *s) {
        if (!s)
                return;
        pidref_done(&s->caller);
}

bool machine_string_is_valid(const char *s) {
        if (!s)
                return true;
        if (strlen(s) > MACHINE_STRING_MAX)
                return false;
        for (const char *p = s; *p; p++)
                if ((unsigned char) *p < 0x20 || *p == 0x7f)
                        return false;
        return true;
}

int machine_spec_validate(const MachineSpec *s, Failure *f) {
        if (!s->name || !machine_name_is_valid(s->name))
                return failure_set_parameter(f, -EINVAL, "name", "Invalid machine name");
        if (!isempty(s->class) && machine_class_from_string(s->class) < 0)
                return failure_set_parameter(f, -EINVAL, "class", "Invalid machine class parameter");
        if (s->leader_pid == 1 || s->leader_pid > INT32_MAX)
                return failure_set_parameter(f, -EINVAL, s->leader_parameter, "Invalid leader PID");
        if (!isempty(s->root_directory) && (s->root_directory[0] != '/' || !machine_string_is_valid(s->root_directory)))
                return failure_set_parameter(f, -EINVAL, "rootDirectory", "Root directory must be empty or an absolute path");
        for (size_t i = 0; i < s->n_netif; i++)
                if (s->netif[i] <= 0)
                        return failure_set_parameter(f, -EINVAL, "ifIndices", "Invalid network interface index %i", s->netif[i]);
        if (s->vsock_cid != VSOCK_CID_UNSET && !vsock_cid_is_regular(s->vsock_cid))
                return failure_set_parameter(f, -EINVAL, "vSockCid", "VSockCID is not a regular VSOCK CID.");
        const struct {
                const char *value, *parameter;
        } strings[] = {
                { s->service, "service" },
                { s->ssh_address, "sshAddress" },
                { s->ssh_private_key_path, "sshPrivateKeyPath" },
        };
        for (size_t i = 0; i < ELEMENTSOF(strings); i++)
                if (!machine_string_is_valid(strings[i].value))
                        return failure_set_parameter(f, -EINVAL, strings[i].parameter, "Invalid string parameter");
        return 0;
}

int machine_spec_check(Manager *m, const MachineSpec *s, Failure *f) {
        int r = machine_spec_validate(s, f);
        if (r < 0)
                return r;
        Machine *old = manager_get_machine(m, s->name);
        if (old && !machine_release_if_leader_gone(old))
                return failure_set(f, -EEXIST, "Machine '%s' already exists", s->name);
        return 0;
}

int machine_spec_pin(const MachineSpec *s, PidRef *ret_leader, PidRef *ret_supervisor, Failure *f) {
        PidRef leader = PIDREF_NULL;
        int r;

        if (s->leader_pidfd >= 0) {
                r = pidref_set_pidfd(&leader, s->leader_pidfd);
                if (r < 0)
                        return failure_set_parameter(f, r, s->leader_parameter,
                                                     "Failed to pin the leader process by its pidfd: %m");
                if (s->leader_pid > 0 && (uint32_t) leader.pid != s->leader_pid) {
                        pidref_done(&leader);
                        return failure_set_parameter(f, -EINVAL, s->leader_parameter,
                                                     "LeaderPID and LeaderPIDFD refer to different processes");
                }
        } else if (s->leader_pid > 0) {
                r = pidref_set_pid(&leader, (pid_t) s->leader_pid);
                if (r < 0)
                        return failure_set_parameter(f, r, s->leader_parameter, "Failed to pin leader process %u: %m",
                                                     s->leader_pid);
        } else if (s->leader_optional) {
                /* A machine without a leader: it stays until it is unregistered. */
                if (s->allocate_unit)
                        return failure_set_parameter(f, -EINVAL, s->leader_parameter,
                                                     "A unit can only be allocated for a leader process");
                *ret_leader = *ret_supervisor = PIDREF_NULL;
                return 0;
        } else {
                if (!pidref_is_set(&s->caller))
                        return failure_set_parameter(f, -ESRCH, s->leader_parameter, "Failed to pin the calling process");
                r = pidref_set_pid(&leader, s->caller.pid);
                if (r < 0)
                        return failure_set_parameter(f, r, s->leader_parameter, "Failed to pin the calling process: %m");
        }
        if ((s->leader_pidfd_id != 0 && leader.fd_id != 0 && leader.fd_id != s->leader_pidfd_id) || leader.pid == 1) {
                pidref_done(&leader);
                return failure_set_parameter(f, -EINVAL, s->leader_parameter,
                                             leader.pid == 1 ? "Invalid leader PID"
                                                             : "LeaderPIDFDID does not match the leader process");
        }

        *ret_supervisor = PIDREF_NULL;
        if (s->caller_is_supervisor && pidref_is_set(&s->caller) && !pidref_equal(&s->caller, &leader))
                (void) pidref_set_pid(ret_supervisor, s->caller.pid);
        *ret_leader = leader;
        return 0;
}

/* The cgroup that says which service a process belongs to: name=systemd on v1/hybrid, else the
 * unified one. NULL if unknown. */
static char *primary_cgroup_of(const char *proc_path) {
        _cleanup_free_ char *unified = NULL;
        char line[4096];
        FILE *f = fopen(proc_path, "re");
        if (!f)
                return NULL;
        while (fgets(line, sizeof(line), f)) {
                line[strcspn(line, "\n")] = 0;
                char *named = strstr(line, ":name=systemd:");
                if (named) {
                        fclose(f);
                        return strdup(named + strlen(":name=systemd:"));
                }
                if (startswith(line, "0::") && !unified)
                        unified = strdup(line + 3);
        }
        fclose(f);
        return TAKE_PTR(unified);
}

/* A leader machined could not survive terminating: machined itself, PID 1, or a process sharing
 * machined's own cgroup (Terminate kills the machine's whole cgroup). The hierarchy's root is no
 * one's own: on hosts without a cgroup per service every process lives there. */
static int leader_check_not_ours(Manager *m, const PidRef *leader, const char *parameter, Failure *f) {
        if (leader->pid == 1 || leader->pid == getpid())
                return failure_set_parameter(f, -EINVAL, parameter, "Refusing to register %s as a machine leader",
                                             leader->pid == 1 ? "PID 1" : "machined itself");
        char path[64];
        snprintf(path, sizeof(path), "/proc/%i/cgroup", (int) leader->pid);
        _cleanup_free_ char *ours = primary_cgroup_of("/proc/self/cgroup"), *theirs = primary_cgroup_of(path);
        if (ours && theirs && !streq(ours, "/") && streq(ours, theirs))
                return failure_set_parameter(f, -EINVAL, parameter,
                                             "Refusing to register a process of machined's own cgroup %s as a machine leader", ours);
        /* One leader, one machine: terminating one of two machines sharing a leader would kill
         * nothing of its own and leave it closing forever. */
        Machine *other;
        LIST_FOREACH(machines, other, m->machines)
                if (pidref_equal(&other->leader, leader))
                        return failure_set(f, -EEXIST, "Process %i is already the leader of machine %s",
                                           (int) leader->pid, other->name);
        return 0;
}

static int machine_fill(Machine *machine, const MachineSpec *s) {
        machine->id = s->id;
        machine->uid = s->uid;
        machine->class = isempty(s->class) ? _MACHINE_CLASS_INVALID : machine_class_from_string(s->class);
        machine->vsock_cid = s->vsock_cid;
        const struct {
                const char *src;
                char **dst;
        } strings[] = {
                { s->service, &machine->service },
                { s->root_directory, &machine->root_directory },
                { s->ssh_address, &machine->ssh_address },
                { s->ssh_private_key_path, &machine->ssh_private_key_path },
        };
        for (size_t i = 0; i < ELEMENTSOF(strings); i++)
                if (!isempty(strings[i].src) && !(*strings[i].dst = strdup(strings[i].src)))
                        return -ENOMEM;
        if (s->n_netif > 0) {
                machine->netif = malloc(sizeof(int) * s->n_netif);
                if (!machine->netif)
                        return -ENOMEM;
                memcpy(machine->netif, s->netif, sizeof(int) * s->n_netif);
                machine->n_netif = s->n_netif;
        }
        return 0;
}

int machine_register(Manager *m, MachineSpec *s, PendingReply *reply, Failure *f) {
        PidRef leader = PIDREF_NULL, supervisor = PIDREF_NULL;
        Machine *machine = NULL;
        int r;

        r = machine_spec_check(m, s, f);
        if (r < 0)
                return r;
        r = machine_spec_pin(s, &leader, &supervisor, f);
        if (r < 0)
                return r;
        r = pidref_is_set(&leader) ? leader_check_not_ours(m, &leader, s->leader_parameter, f) : 0;
        if (r < 0) {
                pidref_done(&leader);
                pidref_done(&supervisor);
                return r;
        }
        r = machine_new(m, s->name, &machine);
        if (r < 0) {
                pidref_done(&leader);
                pidref_done(&supervisor);
                return failure_set(f, r, "Failed to register machine %s: %m", s->name);
        }
        machine->leader = leader;
        machine->supervisor = supervisor;
        r = machine_fill(machine, s);
        if (r < 0) {
                machine_free(machine);
                return failure_set(f, r, "Failed to register machine %s: %m", s->name);
        }

        ScopeRequest req = { .allocate = s->allocate_unit, .limits = s->limits, .bus_properties = s->bus_properties };
        machine->create_reply = *reply;
        r = machine_start(machine, &req, f);
        if (r < 0) {
                /* The caller answers: take the reply back unanswered. */
                *reply = machine->create_reply;
                machine->create_reply = (PendingReply) {};
                machine_free(machine);
                return r;
        }
        *reply = (PendingReply) {};
        return 0;
}

static const char *const scope_limits[] = { "MemoryMax", "MemoryLimit", "TasksMax", "CPUQuotaPerSecUSec",
                                            "CPUWeight", "CPUShares", "IOWeight", "BlockIOWeight" };

bool scope_property_is_limit(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(scope_limits); i++)
                if (streq(scope_limits[i], name))
                        return true;
        return false;
}

int scope_property_parse(const char *name, uint64_t v, CGroupLimits *l, Failure *f) {
        if (!scope_property_is_limit(name))
                return 0;
        if (streq(name, "MemoryMax") || streq(name, "MemoryLimit")) {
                l->memory_max = v == UINT64_MAX ? CGROUP_LIMIT_MAX : v;
                return 1;
        }
        if (streq(name, "TasksMax")) {
                if (v == 0)
                        return failure_set(f, -EINVAL, "TasksMax must be positive");
                l->tasks_max = v == UINT64_MAX ? CGROUP_LIMIT_MAX : v;
                return 1;
        }
        if (streq(name, "CPUQuotaPerSecUSec")) {
                if (v == 0)
                        return failure_set(f, -EINVAL, "CPUQuotaPerSecUSec must be positive");
                l->cpu_quota_per_sec_usec = v;
                return 1;
        }
        /* Checked in the caller's units before converting: a huge CPUShares= would wrap around in
         * the multiplication and come out as a small, valid weight (issue 11). The ranges are
         * systemd's: shares 2..262144 (1024 is weight 100), blkio weights 10..1000 (500 is 100). */
        if (v != UINT64_MAX) {
                uint64_t lo = 1, hi = 10000;
                if (streq(name, "CPUShares"))
                        lo = 2, hi = 262144;
                else if (streq(name, "BlockIOWeight"))
                        lo = 10, hi = 1000;
                if (v < lo || v > hi)
                        return failure_set(f, -EINVAL, "%s out of range", name);
                if (streq(name, "CPUShares"))
                        v = MAX(v * 100 / 1024, (uint64_t) 1);
                else if (streq(name, "BlockIOWeight"))
                        v = v / 5;
        }
        if (streq(name, "CPUWeight") || streq(name, "CPUShares"))
                l->cpu_weight = v;
        else
                l->io_weight = v;
        return 1;
}
