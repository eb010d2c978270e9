/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "spawn-options.h"

/* Internal: the guest asked to be rebooted (never returned by spawn_run). */
#define SPAWN_REBOOT 1000

/* Runs the container described by c to completion (booting it again on reboot with
 * --restart-on-reboot). Returns the exit code spawn should exit with: the payload's code (133
 * mapped to 1), 0 for a guest poweroff, 133 for a guest reboot; or a negative errno after
 * logging. */
int spawn_run(const SpawnConfig *c);
