/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The stage: a tmpfs at SPAWN_STAGE in a mount namespace spawn unshares for itself (a slave of
 * the host's), where the container's root is assembled before the child copies the namespace:
 * a disk image's file systems, the overlays of -x, --volatile and --overlay, their upper layers.
 * Everything on it goes with the namespace when spawn and the container are gone, however they
 * end: nothing to clean up, and one fixed directory on the host (empty there) for every spawn. */
#define SPAWN_STAGE "/run/berth/stage"
#define SPAWN_STAGE_ROOT SPAWN_STAGE "/root"

/* Enters the private namespace and mounts the stage, once; later calls do nothing. Logs errors. */
int spawn_stage_enter(void);

/* Creates a fresh directory on the stage, named after prefix, and returns its path. Logs errors. */
int spawn_stage_mkdir(const char *prefix, char **ret);
