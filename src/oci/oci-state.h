/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <sys/types.h>

/* A container's durable record: <root>/<id>/state.json, plus exec.fifo while it is "created"
 * and config.json, the copy exec reads the process defaults from. */
typedef struct OciState {
        char *id;
        pid_t pid;
        unsigned long long pid_start;  /* /proc/PID/stat starttime: tells a reused PID apart */
        char *bundle;
        char *rootfs;
        char *created;                 /* RFC 3339 */
        char *cgroup_path;             /* absolute in every hierarchy */
        json_object *annotations;      /* owned reference */
} OciState;

#define OCI_DEFAULT_ROOT "/run/berth-oci"

void oci_state_done(OciState *s);
/* Validates a container ID as runc does: [A-Za-z0-9_+.-], not "." or "..", at most 1024. */
bool oci_id_is_valid(const char *id);
int oci_pid_start_time(pid_t pid, unsigned long long *ret);
/* Opens <root>/<id> and takes its lock (flock, exclusive); -ENOENT if there is no such container. */
int oci_state_open_locked(const char *root, const char *id, int *ret_dirfd);
int oci_state_read(int dirfd, OciState *ret);
int oci_state_write(int dirfd, const OciState *s);
/* "created" (the init waits on exec.fifo), "running" or "stopped" (gone, a zombie, or a reused PID). */
const char *oci_state_status(int dirfd, const OciState *s);
/* The object `state` prints: runc's fields, which go-runc and podman parse. */
json_object *oci_state_to_json(const OciState *s, const char *status);
