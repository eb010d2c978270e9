/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

typedef struct SpawnOptions SpawnOptions;
typedef struct SpawnResolved SpawnResolved;

/* -i: locks c->image (shared with --read-only, exclusive otherwise; the fd lands in
 * c->image_lock_fd), attaches and dissects it, checks and mounts its file systems, and points
 * c->directory at the result, on the stage (spawn-stage.h): the mounts, and with them the
 * autoclear loop device, go when spawn and the container are gone, however they end.
 * Logs one line on error. */
int spawn_image_setup(const SpawnOptions *o, SpawnResolved *res);
