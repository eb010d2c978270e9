/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

/* The process tree of a machine, read from cgroupfs directly (no systemd needed): the cgroup of
 * the machine's unit in one hierarchy, found from /proc/LEADER/cgroup. */

/* The cgroup path (as in /proc/PID/cgroup) cut after its last component that names unit (as is
 * or cgroup-escaped); the whole path if unit is empty or not in it. */
char *cgroup_path_cut_at_unit(const char *path, const char *unit);

/* The directory of leader's unit cgroup in the hierarchy that shows it best: cgroup2, else
 * name=systemd, else the first v1 hierarchy. */
int machine_cgroup_dir(pid_t leader, const char *unit, char **ret_dir);

/* Prints the processes of dir and of its (non-empty, unless all) child cgroups as a tree, every
 * line starting with prefix and cut to width columns (0: never). */
int cgroup_show_tree(FILE *f, const char *dir, const char *prefix, size_t width, bool all);

/* [{"pid": N, "cgroup": "/" or "/child", "command": "..."}, ...] */
int cgroup_processes_json(const char *dir, json_object **ret);

/* The command line of pid, arguments separated by spaces, or "[comm]" when it has none. */
char *process_command_line(pid_t pid);
