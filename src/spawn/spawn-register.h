/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

typedef struct SpawnConfig SpawnConfig;

typedef enum RegisterMode {
        REGISTER_NO,
        REGISTER_YES,
        REGISTER_AUTO,
        _REGISTER_MODE_MAX,
        _REGISTER_MODE_INVALID = -22,
} RegisterMode;

const char *register_mode_to_string(RegisterMode m);
RegisterMode register_mode_from_string(const char *s);

/* Exit codes of the registration helper (spawn-register). */
#define REGISTER_HELPER_REGISTERED 0
#define REGISTER_HELPER_FAILED 1      /* it printed the one error line */
#define REGISTER_HELPER_NO_REGISTRY 3 /* auto mode: no org.freedesktop.machine1 on the bus */

/* Registration talks D-Bus, which needs libsystemd; linking it would triple spawn's memory and
 * add milliseconds of dynamic loading to every start. A small helper program does it instead,
 * exec'd only when there is a system bus to talk to. */

/* Whether to try registering at all: --register=yes, or auto and a system bus socket exists. */
bool register_wanted(const SpawnConfig *c);

/* Registers leader through the helper: CreateMachineWithNetwork (the registry creates
 * machine-NAME.scope, with --property limits as scope properties) or, with --keep-unit,
 * RegisterMachineWithNetwork, with @netif (ve-NAME's index, 0: none) as the machine's network
 * interface. Returns 1 if registered, 0 if auto mode found no registry (said
 * once unless quiet), < 0 on failure (the helper printed why). */
int register_machine(const SpawnConfig *c, pid_t leader, int netif);

/* Whether @name has an owner on the system bus (asked through the helper; false without a bus). */
bool register_bus_name_owned(const char *name);

/* Makes sure the registry forgot the machine (after a reboot, before registering the same name
 * again, the registry may not have processed the old leader's death yet). */
void register_forget(const SpawnConfig *c);
