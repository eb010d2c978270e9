/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "oci-config.h"

/* The container's cgroup: one path, the same in every mounted hierarchy (v1 and v2). */

/* linux.cgroupsPath into that path: absolute as given, relative below "/", empty
 * "/berth-oci/<id>"; with --systemd-cgroup "slice:prefix:name" becomes the path systemd would
 * give the scope (berth does not need systemd as PID 1 to honour it). */
int oci_cgroup_resolve(const char *cgroups_path, const char *id, bool systemd, char **ret);
/* Creates the cgroup in every hierarchy, moves pid in, applies linux.resources (memory, cpu,
 * pids, v1 device rules). *ret_failed names a resource the kernel refused. */
int oci_cgroup_setup(const char *path, pid_t pid, const OciResources *resources, const OciDeviceNode *devs, size_t n_devs,
                     const char **ret_failed);
/* Applies linux.resources to the existing cgroup again (update). */
int oci_cgroup_update(const char *path, const OciResources *resources, const OciDeviceNode *devs, size_t n_devs,
                      const char **ret_failed);
/* Moves pid (0: ourselves) into the cgroup in every hierarchy where it exists. */
int oci_cgroup_join(const char *path, pid_t pid);
/* Freezes or thaws the cgroup (v1 freezer where that controller is a v1 one, else cgroup2's
 * cgroup.freeze) and waits until the kernel says it is done. */
int oci_cgroup_freeze(const char *path, bool freeze);
/* > 0 if frozen, 0 if not (or no freezer), < 0 on error. */
int oci_cgroup_is_frozen(const char *path);
/* Signals every process of the cgroup; returns how many. */
int oci_cgroup_kill(const char *path, int sig);
/* The PIDs in the cgroup and below (from the first hierarchy that has it). */
int oci_cgroup_pids(const char *path, pid_t **ret, size_t *ret_n);
/* Waits (up to timeout_ms) for the cgroup to empty, then removes it from every hierarchy. */
int oci_cgroup_destroy(const char *path, int timeout_ms);
