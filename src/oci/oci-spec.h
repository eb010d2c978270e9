/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

/* What berth-oci needs of a runtime-spec config.json, read with json-c. The JSON object stays
 * owned by OciSpec (strings point into it), so nothing is copied. */

typedef enum OciNamespace {
        OCI_NS_PID,
        OCI_NS_NETWORK,
        OCI_NS_MOUNT,
        OCI_NS_IPC,
        OCI_NS_UTS,
        OCI_NS_USER,
        OCI_NS_CGROUP,
        OCI_NS_TIME,
        _OCI_NS_MAX,
        _OCI_NS_INVALID = -22,
} OciNamespace;

const char *oci_namespace_to_string(OciNamespace n);
OciNamespace oci_namespace_from_string(const char *s);
/* CLONE_NEW* for a namespace kind, and the name of its file in /proc/PID/ns/. */
int oci_namespace_clone_flag(OciNamespace n);
const char *oci_namespace_proc_name(OciNamespace n);

typedef struct OciRlimit {
        int resource;
        struct rlimit limit;
} OciRlimit;

typedef struct OciProcess {
        bool terminal;
        char **args;          /* owned strv */
        char **env;           /* owned strv */
        const char *cwd;
        uid_t uid;
        gid_t gid;
        gid_t *additional_gids;
        size_t n_additional_gids;
        int umask;            /* -1: leave */
        bool no_new_privileges;
        bool have_caps;
        uint64_t caps[5];     /* bounding, effective, inheritable, permitted, ambient */
        OciRlimit *rlimits;
        size_t n_rlimits;
        int oom_score_adj;
        bool have_oom_score_adj;
        const char *apparmor_profile;
        const char *selinux_label;
} OciProcess;

enum { OCI_CAP_BOUNDING, OCI_CAP_EFFECTIVE, OCI_CAP_INHERITABLE, OCI_CAP_PERMITTED, OCI_CAP_AMBIENT };

typedef struct OciMount {
        const char *destination;
        const char *type;     /* NULL for a bind */
        const char *source;
        unsigned long flags;  /* MS_* from options */
        unsigned long propagation; /* MS_SHARED/MS_SLAVE/MS_PRIVATE/MS_UNBINDABLE (+MS_REC) */
        char *data;           /* the options that are not flags, comma-joined; owned */
        bool bind;
} OciMount;

typedef struct OciDevice {
        const char *path;
        char type;            /* 'c', 'b', 'u', 'p' */
        unsigned major, minor;
        mode_t mode;
        uid_t uid;
        gid_t gid;
} OciDevice;

typedef struct OciHook {
        const char *path;
        char **args;          /* owned */
        char **env;           /* owned */
        int timeout;          /* seconds, 0: none */
} OciHook;

typedef enum OciHookKind {
        OCI_HOOK_PRESTART,
        OCI_HOOK_CREATE_RUNTIME,
        OCI_HOOK_CREATE_CONTAINER,
        OCI_HOOK_START_CONTAINER,
        OCI_HOOK_POSTSTART,
        OCI_HOOK_POSTSTOP,
        _OCI_HOOK_MAX,
} OciHookKind;

typedef struct OciSpec {
        json_object *json;    /* owns everything below that is const */
        const char *oci_version;
        OciProcess process;
        const char *root_path; /* absolute (resolved against the bundle) */
        char *root_path_abs;
        bool root_readonly;
        const char *hostname;
        OciMount *mounts;
        size_t n_mounts;
        bool ns_wanted[_OCI_NS_MAX];
        const char *ns_path[_OCI_NS_MAX];
        const char *cgroups_path;
        json_object *resources;  /* linux.resources, borrowed */
        json_object *seccomp;    /* linux.seccomp, borrowed */
        json_object *annotations;
        json_object *sysctl;
        OciDevice *devices;
        size_t n_devices;
        char **masked_paths;     /* owned */
        char **readonly_paths;   /* owned */
        const char *rootfs_propagation;
        OciHook *hooks[_OCI_HOOK_MAX];
        size_t n_hooks[_OCI_HOOK_MAX];
} OciSpec;

void oci_spec_free(OciSpec *s);
/* Reads BUNDLE/config.json. On failure *ret_error names what is wrong in one line (static or
 * owned by nothing: a message to print), and -EINVAL/-ENOENT/... is returned. */
int oci_spec_load(const char *bundle, OciSpec **ret, char **ret_error);
/* Parses a "process" object (config.json's or exec --process FILE's) into p. */
int oci_process_parse(json_object *o, OciProcess *p, char **ret_error);
void oci_process_done(OciProcess *p);
/* Mount options ("ro", "nosuid", "rbind", "mode=755", ...) into flags and data. */
int oci_mount_options_parse(json_object *options, OciMount *m);
