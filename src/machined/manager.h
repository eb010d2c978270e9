/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "list.h"

typedef struct Machine Machine;
typedef struct Operation Operation;
typedef struct CGroupOps CGroupOps;
typedef struct VarlinkServer VarlinkServer;
typedef struct Supervisor Supervisor;
typedef struct SystemdJobs SystemdJobs;
/* Opaque here: only the bindings and the systemd backend use the connection. */
struct sd_bus;

typedef enum CGroupBackendType {
        CGROUP_BACKEND_AUTO,
        CGROUP_BACKEND_SYSTEMD,
        CGROUP_BACKEND_CGROUPFS,
        _CGROUP_BACKEND_MAX,
        _CGROUP_BACKEND_INVALID = -22,
} CGroupBackendType;

const char *cgroup_backend_type_to_string(CGroupBackendType t);
CGroupBackendType cgroup_backend_type_from_string(const char *s);

/* Everything the command line decides. */
typedef struct ManagerConfig {
        char *state_dir;       /* /run/systemd/machines: one env-style file per machine */
        char *runtime_dir;     /* /run/systemd/machine: the Varlink socket */
        char *pool_path;       /* /var/lib/machines: images */
        char *cgroup_root;     /* NULL: our own cgroup; relative: below it; absolute: as given */
        char *bus_address;     /* NULL: the system bus ($DBUS_SYSTEM_BUS_ADDRESS) */
        char *log_dir;         /* /var/log/berth: console output of the machines we start */
        char *enabled_dir;     /* /etc/berth/enabled: images started at daemon start */
        char *spawn_path;      /* NULL: "spawn" next to our binary, else in $PATH */
        CGroupBackendType backend;
        bool varlink;
        uint64_t terminate_timeout_usec; /* Terminate: how long a supervisor has to halt the guest */
        bool start_host_network;  /* --start-network=host: Start without spawn -n */
} ManagerConfig;

#define TERMINATE_TIMEOUT_USEC_DEFAULT (30ULL * 1000000ULL)

void manager_config_done(ManagerConfig *c);

typedef struct Manager {
        ManagerConfig config;
        sd_event *event;
        struct sd_bus *bus;    /* manager-dbus.c's connection; the systemd backend talks to PID 1 on it */
        int state_dir_fd;

        Machine *machines;
        size_t n_machines;

        const CGroupOps *cgroup_ops;
        void *cgroup_data;     /* owned by the backend */

        Operation *operations;
        unsigned n_operations;
        sd_event_source *sigchld_source;

        VarlinkServer *varlink;
        VarlinkServer *varlink_image; /* io.systemd.MachineImage */
        Supervisor *supervisor; /* io.berth.Machined1: machines we start (supervisor.c) */
        SystemdJobs *systemd_jobs; /* systemd's jobs we wait for (systemd-job.c), on systemd hosts */

        /* Set by the D-Bus binding: MachineNew (new_machine) or MachineRemoved. */
        void (*announce_machine)(Machine *machine, bool new_machine);
} Manager;

int manager_new(ManagerConfig *config, sd_event *event, Manager **ret);
Manager *manager_free(Manager *m);

/* Picks and initializes the cgroup backend. */
int manager_setup_cgroup(Manager *m);
/* Re-reads the state directory: adopts live machines, cleans up after dead ones. */
int manager_load_state(Manager *m);

Machine *manager_get_machine(Manager *m, const char *name);
/* The machine whose leader is pid, or whose cgroup contains it. 0 and *ret = NULL if none. */
int manager_get_machine_by_pid(Manager *m, pid_t pid, Machine **ret);
Machine *manager_get_machine_by_unit(Manager *m, const char *unit);
