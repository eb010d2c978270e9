/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "oci-config.h"
#include "oci-record.h"

/* berth-oci's global options (runc's): where state lives, how errors are logged. */
typedef struct OciGlobal {
        const char *root;
        const char *log_path;
        bool log_json;
        bool systemd_cgroup;
        bool debug;
} OciGlobal;

typedef struct OciCreateArgs {
        const char *id;
        const char *bundle;     /* absolute: points to bundle_abs after parsing */
        char *bundle_abs;       /* owned */
        const char *pid_file;
        const char *console_socket;
        bool no_pivot;
        unsigned preserve_fds;
} OciCreateArgs;

/* create: sets the container up and leaves its init waiting on <root>/<id>/exec.fifo; returns
 * the init's PID (our child until we exit). Nothing stays behind on failure. */
int oci_create(const OciGlobal *g, const OciCreateArgs *a, pid_t *ret_pid);
/* start: lets the init exec (reads exec.fifo) and runs the poststart hooks. */
int oci_start(const OciGlobal *g, const char *id);
/* Removes a container that is stopped (or, force, kills it first): cgroup, hooks, state. */
int oci_delete(const OciGlobal *g, const char *id, bool force);

/* Verbs, argv starting at the verb's name. Return the exit status. */
int verb_create(const OciGlobal *g, int argc, char **argv);
int verb_run(const OciGlobal *g, int argc, char **argv);
int verb_start(const OciGlobal *g, int argc, char **argv);
int verb_state(const OciGlobal *g, int argc, char **argv);
int verb_kill(const OciGlobal *g, int argc, char **argv);
int verb_delete(const OciGlobal *g, int argc, char **argv);
int verb_list(const OciGlobal *g, int argc, char **argv);
int verb_ps(const OciGlobal *g, int argc, char **argv);
int verb_features(const OciGlobal *g, int argc, char **argv);
int verb_exec(const OciGlobal *g, int argc, char **argv);
int verb_pause(const OciGlobal *g, int argc, char **argv);
int verb_resume(const OciGlobal *g, int argc, char **argv);
int verb_update(const OciGlobal *g, int argc, char **argv);

/* Shared helpers (oci-verbs.c). */
/* The state document of a container whose directory dirfd is: status (and paused) worked out now. */
json_object *oci_record_describe(int dirfd, const OciRecord *r);
int oci_open_container(const OciGlobal *g, const char *id, int *ret_dirfd, OciRecord *ret_record);
int oci_write_pid_file(const char *path, pid_t pid);
int oci_connect_console(const char *path, int *ret_fd);
/* Runs config's hooks of one kind (src/shared/oci-hooks.c) with the state document on stdin; on
 * failure logs which hook and why, and returns -errno. */
int oci_run_hooks(const OciConfig *c, OciHookKind kind, const OciRecord *r, OciStatus status);
/* Loads the config.json copy in the container's state directory. */
int oci_load_saved_config(const OciGlobal *g, const char *id, OciConfig *ret);
/* CLONE_NEW* of a namespace type and its name in /proc/PID/ns/. */
int oci_namespace_clone_flag(OciNamespaceType t);
const char *oci_namespace_proc_name(OciNamespaceType t);
/* Waits up to timeout_ms for pid (not necessarily our child) to exit. */
int oci_wait_exit(pid_t pid, int timeout_ms);
