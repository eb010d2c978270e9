/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* An OCI runtime-spec bundle's config.json (versions 1.0.x to 1.2.x) as plain data.
 *
 * API (libberth-shared-oci, json-c; shared by spawn --oci-bundle and the OCI runtime program):
 *   oci_config_load(bundle, &cfg, &err)   reads BUNDLE/config.json
 *   oci_config_parse(text, &cfg, &err)    the same from a string (unit tests)
 *   oci_config_done(&cfg)                 frees everything
 * Both return 0 or -errno: -EINVAL for a malformed or unsupported document with *ret_error set
 * to one line saying which field and why ("linux.namespaces[2].type: unknown namespace type
 * 'foo'"), -ENOENT and the like for a missing file. Unknown fields are ignored, as the spec
 * requires. Nothing here interprets the values beyond their syntax: names of capabilities and
 * system calls stay strings, paths stay as written; the consumer decides what they mean.
 * Absent optional numbers have their `has_*` flag false. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef enum OciCapabilitySet {
        OCI_CAP_BOUNDING,
        OCI_CAP_EFFECTIVE,
        OCI_CAP_PERMITTED,
        OCI_CAP_INHERITABLE,
        OCI_CAP_AMBIENT,
        _OCI_CAP_SET_MAX,
        _OCI_CAP_SET_INVALID = -22,
} OciCapabilitySet;

typedef struct OciRlimit {
        int resource;               /* RLIMIT_* */
        uint64_t soft, hard;
} OciRlimit;

typedef struct OciProcess {
        bool terminal;
        uid_t uid;
        gid_t gid;
        bool has_umask;
        mode_t umask;
        gid_t *additional_gids;
        size_t n_additional_gids;
        char **args;
        char **env;
        char *cwd;
        bool has_capabilities;
        char **capabilities[_OCI_CAP_SET_MAX];   /* "CAP_CHOWN", ...; NULL: the set is empty */
        OciRlimit *rlimits;
        size_t n_rlimits;
        bool no_new_privileges;
        bool has_oom_score_adj;
        int oom_score_adj;
        char *apparmor_profile;
        char *selinux_label;
} OciProcess;

typedef struct OciMount {
        char *destination;
        char *type;                 /* NULL: a bind mount (options say bind/rbind) */
        char *source;
        char **options;
} OciMount;

typedef enum OciHookKind {
        OCI_HOOK_PRESTART,
        OCI_HOOK_CREATE_RUNTIME,
        OCI_HOOK_CREATE_CONTAINER,
        OCI_HOOK_START_CONTAINER,
        OCI_HOOK_POSTSTART,
        OCI_HOOK_POSTSTOP,
        _OCI_HOOK_KIND_MAX,
        _OCI_HOOK_KIND_INVALID = -22,
} OciHookKind;

typedef struct OciHook {
        char *path;
        char **args;                /* NULL: just the path as argv[0] */
        char **env;
        unsigned timeout;           /* seconds; 0: none */
} OciHook;

typedef enum OciNamespaceType {
        OCI_NS_PID,
        OCI_NS_NETWORK,
        OCI_NS_MOUNT,
        OCI_NS_IPC,
        OCI_NS_UTS,
        OCI_NS_USER,
        OCI_NS_CGROUP,
        OCI_NS_TIME,
        _OCI_NS_TYPE_MAX,
        _OCI_NS_TYPE_INVALID = -22,
} OciNamespaceType;

typedef struct OciNamespace {
        bool requested;             /* listed: a new one, or the one at path */
        char *path;
} OciNamespace;

typedef struct OciIdMapping {
        uint32_t container_id, host_id, size;
} OciIdMapping;

typedef struct OciDeviceNode {
        char *path;
        char type;                  /* 'c', 'b', 'u' or 'p' */
        int64_t major, minor;
        bool has_file_mode, has_uid, has_gid;
        mode_t file_mode;
        uid_t uid;
        gid_t gid;
} OciDeviceNode;

typedef struct OciDeviceRule {
        bool allow;
        char type;                  /* 'a', 'c' or 'b' */
        int64_t major, minor;       /* -1: any */
        char *access;               /* "rwm" and subsets; NULL: all */
} OciDeviceRule;

typedef struct OciResources {
        bool has_memory_limit, has_cpu_shares, has_cpu_quota, has_cpu_period, has_pids_limit, has_blkio_weight;
        int64_t memory_limit;       /* bytes, -1: unlimited */
        uint64_t cpu_shares;
        int64_t cpu_quota;          /* usec per period, -1: unlimited */
        uint64_t cpu_period;        /* usec */
        int64_t pids_limit;         /* <= 0: unlimited */
        uint16_t blkio_weight;      /* 10..1000 */
        OciDeviceRule *devices;
        size_t n_devices;
} OciResources;

typedef enum OciSeccompAction {
        OCI_SECCOMP_KILL,
        OCI_SECCOMP_KILL_PROCESS,
        OCI_SECCOMP_KILL_THREAD,
        OCI_SECCOMP_TRAP,
        OCI_SECCOMP_ERRNO,
        OCI_SECCOMP_TRACE,
        OCI_SECCOMP_ALLOW,
        OCI_SECCOMP_LOG,
        OCI_SECCOMP_NOTIFY,
        _OCI_SECCOMP_ACTION_MAX,
        _OCI_SECCOMP_ACTION_INVALID = -22,
} OciSeccompAction;

typedef enum OciSeccompOp {
        OCI_SECCOMP_OP_NE,
        OCI_SECCOMP_OP_LT,
        OCI_SECCOMP_OP_LE,
        OCI_SECCOMP_OP_EQ,
        OCI_SECCOMP_OP_GE,
        OCI_SECCOMP_OP_GT,
        OCI_SECCOMP_OP_MASKED_EQ,
        _OCI_SECCOMP_OP_MAX,
        _OCI_SECCOMP_OP_INVALID = -22,
} OciSeccompOp;

typedef struct OciSeccompArg {
        unsigned index;
        uint64_t value, value_two;
        OciSeccompOp op;
} OciSeccompArg;

typedef struct OciSyscallRule {
        char **names;
        OciSeccompAction action;
        bool has_errno_ret;
        unsigned errno_ret;
        OciSeccompArg *args;
        size_t n_args;
} OciSyscallRule;

typedef struct OciSeccomp {
        OciSeccompAction default_action;
        bool has_default_errno_ret;
        unsigned default_errno_ret;
        char **architectures;       /* "SCMP_ARCH_X86_64", ... */
        char **flags;
        OciSyscallRule *syscalls;
        size_t n_syscalls;
} OciSeccomp;

typedef struct OciConfig {
        char *oci_version;
        OciProcess process;
        bool has_process;
        char *root_path;            /* as written: relative to the bundle, or absolute */
        bool root_readonly;
        char *hostname;
        OciMount *mounts;
        size_t n_mounts;
        OciHook *hooks[_OCI_HOOK_KIND_MAX];
        size_t n_hooks[_OCI_HOOK_KIND_MAX];
        char **annotations;         /* KEY, VALUE, KEY, VALUE, ... */

        /* linux */
        OciNamespace namespaces[_OCI_NS_TYPE_MAX];
        OciIdMapping *uid_mappings, *gid_mappings;
        size_t n_uid_mappings, n_gid_mappings;
        char **sysctl;              /* KEY, VALUE, ... */
        bool has_resources;
        OciResources resources;
        char *cgroups_path;
        OciSeccomp *seccomp;        /* NULL: no filter */
        OciDeviceNode *devices;
        size_t n_devices;
        char **masked_paths;
        char **readonly_paths;
        char *mount_label;
        char *rootfs_propagation;   /* "shared", "slave", "private", "unbindable", r* forms */
} OciConfig;

const char *oci_hook_kind_to_string(OciHookKind k);      /* the JSON names: "createRuntime" */
OciHookKind oci_hook_kind_from_string(const char *s);
const char *oci_namespace_type_to_string(OciNamespaceType t);   /* "pid", "network", ... */
OciNamespaceType oci_namespace_type_from_string(const char *s);
const char *oci_seccomp_action_to_string(OciSeccompAction a);   /* "SCMP_ACT_ERRNO", ... */
OciSeccompAction oci_seccomp_action_from_string(const char *s);
const char *oci_seccomp_op_to_string(OciSeccompOp o);           /* "SCMP_CMP_EQ", ... */
OciSeccompOp oci_seccomp_op_from_string(const char *s);
const char *oci_capability_set_to_string(OciCapabilitySet s);   /* "bounding", ... */

/* "1.0.0" .. "1.2.x" (a "-suffix" after the patch level is allowed): 0, else -EOPNOTSUPP. */
int oci_version_check(const char *version);

int oci_config_parse(const char *text, OciConfig *ret, char **ret_error);
int oci_config_load(const char *bundle, OciConfig *ret, char **ret_error);
void oci_config_done(OciConfig *c);

/* The value of annotation key, or NULL. */
const char *oci_config_annotation(const OciConfig *c, const char *key);
