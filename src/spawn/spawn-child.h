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
        int userns_fd;            /* spawn_userns_owns_network(): the user namespace to join, else -EBADF */
} ChildContext;

/* -U with a network namespace of the container's own (not --network-namespace-path's, not a
 * bundle's): the supervisor makes the user namespace and the network namespace it owns before the
 * clone (UsernsHolder) and clones the child into that network namespace, so the guest's root may
 * configure its links. */
bool spawn_userns_owns_network(const SpawnConfig *c);

/* The namespaces the container's child is cloned into. */
uint64_t spawn_clone_flags(const SpawnConfig *c);

/* Runs in the freshly cloned container PID 1 and never returns: sets up the container and
 * executes the payload, or sends the supervisor SYNC_FAILED with the one line saying why and
 * exits 1. */
_noreturn_ void spawn_child_run(const ChildContext *ctx);
