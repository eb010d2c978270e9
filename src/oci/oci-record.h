/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <sys/types.h>

#include "oci-state.h"

/* berth-oci's durable record of a container: <root>/<id>/state.json, plus exec.fifo while it is
 * "created" and config.json, the copy exec reads the process defaults from. What `state` prints
 * is the runtime-spec state (src/shared/oci-state.c) plus runc's rootfs, created and owner. */
typedef struct OciRecord {
        char *id;
        pid_t pid;
        unsigned long long pid_start;  /* /proc/PID/stat starttime: tells a reused PID apart */
        char *bundle;
        char *rootfs;
        char *created;                 /* RFC 3339 */
        char *cgroup_path;             /* absolute in every hierarchy */
        char **annotations;            /* KEY, VALUE, ... as OciConfig keeps them */
} OciRecord;

#define OCI_DEFAULT_ROOT "/run/berth-oci"

void oci_record_done(OciRecord *r);
/* Validates a container ID as runc does: [A-Za-z0-9_+.-], not "." or "..", at most 1024. */
bool oci_id_is_valid(const char *id);
int oci_pid_start_time(pid_t pid, unsigned long long *ret);
/* Opens <root>/<id> and takes its lock (flock, exclusive); -ENOENT if there is no such container. */
int oci_record_open_locked(const char *root, const char *id, int *ret_dirfd);
int oci_record_read(int dirfd, OciRecord *ret);
int oci_record_write(int dirfd, const OciRecord *r);
/* created (the init waits on exec.fifo), running, or stopped (gone, a zombie, or a reused PID). */
OciStatus oci_record_status(int dirfd, const OciRecord *r);
/* The state document of `state` and `list`: the runtime-spec's fields plus runc's; paused (a
 * frozen cgroup, runc's fifth status) overrides running. */
json_object *oci_record_to_json(const OciRecord *r, OciStatus status, bool paused);
/* The state document hooks read on stdin (src/shared/oci-state.c formats it). */
int oci_record_format_state(const OciRecord *r, OciStatus status, char **ret);
