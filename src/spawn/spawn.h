/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "spawn-options.h"

/* Runs the container described by c to completion. Returns the exit code spawn should exit
 * with (payload's code, 133 mapped to 1), or a negative errno after logging. */
int spawn_run(const SpawnConfig *c);
