#pragma once

#include "spawn-options.h"

/* Where the host keeps persistent journals; $BERTH_JOURNAL_DIR replaces it (tests only). */
#define SPAWN_HOST_JOURNAL_DIR "/var/log/journal"

/* --link-journal=: nspawn's setup_journal() in the supervisor, before the clone. Makes the
 * host-side directory or symlink and, for host mode (and auto/guest finding a host directory),
 * fills r->journal_bind_source/target for the mount plan. Logs errors. */
int spawn_journal_resolve(const SpawnOptions *o, SpawnResolved *r);

/* The 32 lowercase hex digits of a machine-id file's first line; -EINVAL when it is not one. */
int machine_id_parse(const char *s, char ret[static 33]);
