/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdio.h>

#include "spawn-options.h"

/* systemd-nspawn's settings files (systemd.nspawn(5)): NAME.nspawn, NAME the machine's name.
 * Found in these two directories they are trusted; next to the tree or image (for -M NAME alone,
 * in the image pool) they are not, and may not set what grants privileges or touches the host
 * (the option table's settings_trust column). */
#define SETTINGS_DIR_ETC "/etc/systemd/nspawn"
#define SETTINGS_DIR_RUN "/run/systemd/nspawn"

/* Finds NAME.nspawn for the options o was parsed into from argc/argv (per o->settings_mode) and
 * merges it: a value the command line set wins (the file's, with --settings=override), per
 * group of options nspawn decides together. o is rebuilt from the file's values and the command
 * line replayed over them; source[] says where each field came from. 0 also when there is no
 * file; < 0 on error, logged as one line ("FILE:LINE: ..." for a bad value). */
int spawn_settings_load(SpawnOptions *o, int argc, char *argv[]);

/* The merge of one open file (path for messages) with the given trust; for the unit tests. */
int spawn_settings_merge_file(SpawnOptions *o, FILE *f, const char *path, bool trusted, int argc, char *argv[]);

/* The option table's row for key in section ("Exec", "Hostname"); NULL when spawn has none. For
 * a prefix row ("Exec.Limit*") *ret_rest is the rest of the key ("NOFILE"). */
const SpawnOptionDef *settings_key_lookup(const char *section, const char *key, const char **ret_rest);

/* The NAME.nspawn file name and the directory next to the tree or image where an untrusted one
 * is looked for (NULL: none, the tree is "/"). 0 and NULLs when o names no machine. */
int settings_file_location(const SpawnOptions *o, char **ret_filename, char **ret_neighbour_dir);
