/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

/* systemd unit names, as far as machine registration needs them. */
#define UNIT_NAME_MAX 256

/* Escapes a string for use as (part of) a unit name the way systemd-escape does: '/' → '-',
 * a leading '.' and every byte outside [A-Za-z0-9:_.] → "\xNN". */
char *unit_name_escape(const char *s);
/* A plain or instance unit name with a known type suffix (".scope", ".service", ".slice", ...). */
bool unit_name_is_valid(const char *s);
/* "machine-" + escaped machine name + ".scope": the unit systemd-machined allocates. */
char *unit_name_for_machine(const char *machine_name);

/* The unit a cgroup path belongs to, as systemd lays them out: leading "*.slice" components are
 * skipped, the next component is the unit (a cgroup directory name, so a '_' prefix added by
 * cg_escape() is dropped). *ret_subgroup gets the rest (possibly "") if non-NULL.
 * -ENXIO if the path contains no unit. */
int cg_path_get_unit(const char *path, char **ret_unit, char **ret_subgroup);
