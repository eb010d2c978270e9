/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

typedef struct SpawnConfig SpawnConfig;
typedef struct sd_bus sd_bus;

typedef enum RegisterMode {
        REGISTER_NO,
        REGISTER_YES,
        REGISTER_AUTO,
        _REGISTER_MODE_MAX,
        _REGISTER_MODE_INVALID = -22,
} RegisterMode;

const char *register_mode_to_string(RegisterMode m);
RegisterMode register_mode_from_string(const char *s);

/* The container's entry in the machine registry (org.freedesktop.machine1: our machined, or
 * systemd-machined on a systemd host). */
typedef struct Registration {
        sd_bus *bus;
        bool registered;
} Registration;

/* Decides whether to register: connects to the system bus unless --register=no and, for auto,
 * checks that a registry is reachable (saying once that it is not, unless quiet). Returns 1 if
 * the container will be registered, 0 if not, < 0 (logged) when --register=yes cannot be met. */
int register_prepare(Registration *reg, const SpawnConfig *c);

/* Registers leader: CreateMachineWithNetwork (the registry creates and moves it into
 * machine-NAME.scope, with --property limits as scope properties) or, with --keep-unit,
 * RegisterMachineWithNetwork (the cgroup it is in stays). Logs errors. */
int register_machine(Registration *reg, const SpawnConfig *c, pid_t leader);

/* The container is gone: make sure the registry forgot it (it also notices the leader's death;
 * this closes the race when the same name registers again right away, e.g. after a reboot). */
void register_finish(Registration *reg, const SpawnConfig *c);
