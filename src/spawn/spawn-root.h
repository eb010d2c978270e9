/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <errno.h>

typedef struct SpawnConfig SpawnConfig;
typedef struct RootProvider RootProvider;

/* What becomes the container's root. A provider is set up before the mount plan runs and torn
 * down after the container is gone, and its cleanup must also happen when spawn is SIGKILLed:
 *
 *  - directory (today): the tree is bound onto itself in the child's mount namespace. The bind
 *    lives and dies with that namespace, so there is nothing to clean up, ever.
 *  - disk image (next): prepare attaches a loop device with LO_FLAGS_AUTOCLEAR and mount mounts
 *    its partitions in the child's mount namespace: the kernel detaches the device when the last
 *    mount goes with the namespace, so a SIGKILLed spawn leaks nothing.
 *  - overlay / throwaway copy (next): the upper directory or the copy is created by prepare, in
 *    the supervisor, and removed by cleanup; for SIGKILL, prepare hands its path to a janitor
 *    process like spawn-cgroup.c's (it waits for EOF on a pipe only the supervisor holds, then
 *    removes what is left), started before anything is created.
 */
typedef struct RootProviderOps {
        const char *name;
        /* In the supervisor, before the clone. May be NULL. Logs errors. */
        int (*prepare)(RootProvider *p, const SpawnConfig *c);
        /* In the child, in its new mount namespace (already a slave of the host's): mounts the
         * root and returns an O_PATH directory fd of it, a mount point of its own (pivot_root
         * needs one). Logs errors. */
        int (*mount)(RootProvider *p, const SpawnConfig *c, int *ret_rootfd);
        /* In the supervisor after the container is gone, also after a failed start. May be NULL. */
        void (*cleanup)(RootProvider *p);
} RootProviderOps;

struct RootProvider {
        const RootProviderOps *ops;
        const char *path;         /* the tree on the host (the resolved --directory) */
        void *userdata;           /* the provider's own state */
        int tree_fd;              /* directory under --private-users-ownership=map: its idmapped copy */
};

#define ROOT_PROVIDER_NULL ((RootProvider) { .tree_fd = -EBADF })

/* Picks the provider for c (a directory, for now) and prepares it. */
int root_provider_setup(RootProvider *p, const SpawnConfig *c);
/* In the child: detaches its mount namespace from the host's propagation, then mounts the root. */
int root_provider_mount(RootProvider *p, const SpawnConfig *c, int *ret_rootfd);
/* Safe to call more than once, and on a provider that was never set up. */
void root_provider_cleanup(RootProvider *p);
