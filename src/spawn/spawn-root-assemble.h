/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

typedef struct SpawnOptions SpawnOptions;
typedef struct SpawnResolved SpawnResolved;

/* The root options (-D, -i, -x, --template, --volatile, --overlay, -M alone), checked together,
 * and then the root itself: a disk image mounted (spawn-image.c), overlays laid over the tree
 * (spawn-volatile.c), all on the stage (spawn-stage.h). After it c->directory is the tree the
 * container will see and c->origin what the user named. Logs one line on error. */
int spawn_root_assemble(const SpawnOptions *o, SpawnResolved *res);
