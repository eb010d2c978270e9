/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* spawn --oci-bundle=PATH: an OCI runtime bundle run with runc's semantics (the bundle's process is
 * the container's PID 1, config.json's mounts are all the mounts, nothing in /etc is touched, no
 * registration unless asked), on spawn's own machinery.
 *
 * API (all log their one line on error, return -errno):
 *   spawn_oci_apply(o)                  after the command line: loads o->oci_bundle/config.json
 *                                       into o->oci and fills every field the command line left
 *                                       unset (source SPAWN_SOURCE_OCI_BUNDLE)
 *   spawn_oci_clone_flags(c)            the namespaces to create (those listed without a path)
 *   spawn_oci_join_namespaces(c)        child, first thing: setns() into the listed paths
 *   spawn_oci_hooks_run(c, kind, pid)   runs config.json's hooks of one kind in the caller's
 *                                       namespaces with the state on stdin; < 0 after logging
 *                                       (the caller decides whether that is fatal)
 *   spawn_oci_sysctl_apply(c)           child, in the container's namespaces before pivot_root
 *   spawn_oci_devices_create(c, rootfd) mount-plan hook: linux.devices' nodes
 *   spawn_oci_seccomp_build(c, &prog)   linux.seccomp through libseccomp (spawn-oci-seccomp.c)
 *   oci_mount_options_parse(...)        a mount's options into MS_* flags and data
 * The mount plan's OCI mode is in spawn-mount-plan.c (mount_plan_build()). */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "oci-config.h"
#include "spawn-seccomp.h"

typedef struct SpawnOptions SpawnOptions;
typedef struct SpawnConfig SpawnConfig;

int spawn_oci_apply(SpawnOptions *o);
void spawn_oci_config_free(OciConfig *c);

uint64_t spawn_oci_clone_flags(const SpawnConfig *c);
bool spawn_oci_wants_cgroup_ns(const SpawnConfig *c);
int spawn_oci_join_namespaces(const SpawnConfig *c);

/* status: the state hooks see ("creating", "created", "running", "stopped"). */
int spawn_oci_hooks_run(const SpawnConfig *c, OciHookKind kind, pid_t pid);
bool spawn_oci_has_hooks(const SpawnConfig *c, OciHookKind kind);

/* linux.cgroupsPath as a cgroup path: "/a/b" from the hierarchy's root (*ret_absolute), "a/b"
 * below spawn's own cgroup, systemd's "SLICE:PREFIX:NAME" as /SLICE's path/PREFIX-NAME.scope. *ret
 * NULL: none given (spawn's machine-NAME.scope). Pure. */
int spawn_oci_cgroup_path(const char *cgroups_path, char **ret, bool *ret_absolute);

/* The bundle's uidMappings/gidMappings, every line, for the child pid (supervisor, on SYNC_USERNS). */
int spawn_oci_write_id_maps(const SpawnConfig *c, pid_t pid);

int spawn_oci_sysctl_apply(const SpawnConfig *c);
int spawn_oci_devices_create(const SpawnConfig *c, int rootfd);
int spawn_oci_seccomp_build(const OciSeccomp *s, SeccompProgram *ret);

/* options of one config.json mount: MS_* flags (ro becomes *ret_read_only), "bind"/"rbind",
 * propagation words dropped, everything else joined with commas into *ret_data (NULL if none). */
int oci_mount_options_parse(char **options, unsigned long *ret_flags, bool *ret_read_only, bool *ret_bind,
                            bool *ret_recursive, char **ret_data);
