/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>

#include "macro.h"
#include "spawn-mount.h"
#include "spawn-options.h"
#include "spawn-root.h"

typedef struct ChildContext {
        const SpawnConfig *config;
        const MountPlan *plan;    /* built by the supervisor before the clone */
        RootProvider *root;       /* set up by the supervisor; the child mounts it */
        int sync_fd;              /* our end of the socketpair with the supervisor (spawn-sync.h) */
        int close_fd;             /* a supervisor fd the container must not hold (janitor pipe) */
        const char *nameserver;   /* -n: the host side's name server for resolv.conf, or NULL */
} ChildContext;

/* The namespaces the container's child is cloned into. */
uint64_t spawn_clone_flags(const SpawnConfig *c);

/* Runs in the freshly cloned container PID 1 and never returns: sets up the container and
 * executes the payload, or sends the supervisor SYNC_FAILED with the one line saying why and
 * exits 1. */
_noreturn_ void spawn_child_run(const ChildContext *ctx);
