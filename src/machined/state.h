/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "machine.h"

/* /run/systemd/machines/<name> in systemd's env-style format, plus "unit:<unit>" symlinks whose
 * target is the machine name: libsystemd's sd_machine_get_class()/sd_pid_get_machine_name() and
 * `ps -o machine` read these. Keys we add for ourselves (LEADER_STARTTIME, CGROUP, ...) are
 * ignored by systemd's readers. Written atomically (temporary file + rename). */
int machine_save(Machine *m);
void machine_remove_state(Machine *m);

/* The file's contents, and reading them back into a machine made with machine_new() (the leader
 * and supervisor are pinned by the loader, not here). */
int machine_serialize(Machine *m, char **ret, size_t *ret_size);
int machine_deserialize(Machine *m, char **env);
/* Whether CGROUP= of machine name's state file is the one cgroup it may name: the machine's own
 * scope below our slice. Anything else (an edited file naming "/machine.slice") is ignored, so
 * that killing the machine's processes can never reach another's (issue 11, finding 9). */
bool state_cgroup_is_own(const char *name, const char *cgroup);
/* Whether a file in the state directory, corrupt ones kept aside included, is of the machine
 * whose scope cgroup is: such a scope is not an orphan. */
bool state_dir_names_cgroup(Manager *manager, const char *cgroup);
