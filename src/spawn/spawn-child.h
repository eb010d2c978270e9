/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "macro.h"
#include "spawn-options.h"

typedef struct ChildContext {
        const SpawnConfig *config;
        const char *console_path; /* host pty slave; NULL in pipe mode */
        int sync_fd;              /* our end of the socketpair with the supervisor */
        int close_fd;             /* a supervisor fd the container must not hold (janitor pipe) */
} ChildContext;

/* Runs in the freshly cloned container PID 1 and never returns: sets up the container and
 * executes the payload, or logs one error line and exits 1. */
_noreturn_ void spawn_child_run(const ChildContext *ctx);
