/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "macro.h"

typedef struct SpawnOptions SpawnOptions;
typedef struct SpawnResolved SpawnResolved;

/* --volatile=, as systemd-nspawn: */
typedef enum VolatileMode {
        VOLATILE_NO,
        VOLATILE_YES,     /* a tmpfs root with the tree's /usr bound in read-only */
        VOLATILE_STATE,   /* the tree read-only, a tmpfs on /var */
        VOLATILE_OVERLAY, /* the tree as the lower layer of an overlay whose upper one is a tmpfs */
        _VOLATILE_MODE_MAX,
        _VOLATILE_MODE_INVALID = -EINVAL,
} VolatileMode;

const char *volatile_mode_to_string(VolatileMode m);
/* Also the booleans: "yes"/"true"/... → yes, "no"/"false"/... → no. */
VolatileMode volatile_mode_from_string(const char *s);

/* --overlay= / --overlay-ro=: lower layers bottom first, the upper one ("" = a tmpfs, NULL for
 * read-only), the destination in the container. Paths starting with "+" are in the tree. */
typedef struct SpawnOverlay {
        char **lower;
        char *upper;
        char *destination;
        size_t mount_index;   /* the bind in SpawnOptions.mounts that puts it in place */
} SpawnOverlay;

void spawn_overlay_free_all(SpawnOverlay *l, size_t n);

/* "LOWER[:LOWER...]:UPPER:DEST" (or "PATH:DEST", the upper layer being the destination on the
 * host, as nspawn), with "\:" for a colon. Appends the overlay and a bind of it to c. Logs. */
int spawn_overlay_parse(SpawnOptions *c, const char *spec, bool read_only);

/* Assembles the root on the stage (spawn-stage.h) after a disk image, if any, was mounted:
 * fills an empty -D from --template=, lays the overlays of -x and --volatile= over the tree,
 * mounts the --overlay= layers, and points c->directory at the result. Logs one line. */
int spawn_volatile_setup(const SpawnOptions *o, SpawnResolved *res);

/* --template=: fills an absent or empty -D directory with a copy of the template (reflinks
 * where the file system can) and keeps it. Logs one line. */
int spawn_template_apply(const SpawnOptions *o, SpawnResolved *res);
