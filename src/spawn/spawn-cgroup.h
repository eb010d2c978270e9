/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "cgroup-util.h"

typedef struct SpawnConfig SpawnConfig;

/* The container's cgroup: one directory per mounted hierarchy, each a child of the cgroup spawn
 * runs in there (so spawn never writes outside the subtree it was started in), and the process
 * that removes them once the container is gone — also when spawn itself was SIGKILLed. */
typedef struct SpawnCGroup {
        CGroupHierarchy *hierarchies;
        size_t n_hierarchies;
        char **paths;          /* per hierarchy: the container's cgroup */
        int janitor_fd;        /* write end; the janitor cleans up when it sees EOF */
        pid_t janitor_pid;
} SpawnCGroup;

#define SPAWN_CGROUP_NULL ((SpawnCGroup) { .janitor_fd = -EBADF })

/* Creates the container's cgroups (one in every hierarchy, below ours), applies the device
 * policy and the configured limits. Logs errors. */
int spawn_cgroup_setup(SpawnCGroup *cg, const SpawnConfig *c);
/* The registry made the container's cgroups: applies the device policy there, giving the
 * container a devices cgroup of its own below ours where the registry left it in ours. */
int spawn_cgroup_setup_registered(SpawnCGroup *cg, const SpawnConfig *c, pid_t pid);
/* Moves pid (the container's PID 1) into every container cgroup. */
int spawn_cgroup_attach(SpawnCGroup *cg, pid_t pid);
/* -U: chowns pid's cgroup in the cgroup2 and name=systemd hierarchies to uid:gid. Logs errors. */
int spawn_cgroup_delegate(pid_t pid, uid_t uid, gid_t gid);
/* Lets the janitor clean up and waits for it. */
void spawn_cgroup_finish(SpawnCGroup *cg);

/* Which hierarchy layout to mount inside the container for the guest at `directory`:
 * systemd >= 256 needs unified; 233..255 gets hybrid on a hybrid host; older or legacy hosts get
 * legacy. Guests without systemd follow the host. Logs errors. */
int spawn_cgroup_pick_layout(const char *directory, CGroupMode host, CGroupMode *ret);

/* Finds the guest's systemd version from its libsystemd-shared-NNN.so; 0 if none. */
int guest_systemd_version(int rootfd, unsigned *ret);

/* Inside the container's mount namespace and cgroup namespace, before pivot_root: mounts the
 * host's v1 hierarchies (and with_unified, cgroup2 at unified/) on the tmpfs the mount plan put
 * at rootfd's /sys/fs/cgroup. */
int spawn_cgroup_mount_v1(int rootfd, bool with_unified);
