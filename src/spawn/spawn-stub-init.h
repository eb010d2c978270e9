/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sys/types.h>

#include "macro.h"

/* The minimal init of --as-pid2, running as the container's PID 1: reaps every zombie, forwards
 * termination and user signals to the payload (PID 2), and exits with the payload's status
 * (128+N when the payload died of signal N). */
_noreturn_ void stub_init_run(pid_t payload, const char *machine);
