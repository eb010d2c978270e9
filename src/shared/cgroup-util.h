/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef enum CGroupMode {
        CGROUP_MODE_LEGACY,  /* only v1 hierarchies (plus maybe name=systemd) */
        CGROUP_MODE_HYBRID,  /* v1 controllers, cgroup2 at /sys/fs/cgroup/unified */
        CGROUP_MODE_UNIFIED, /* cgroup2 at /sys/fs/cgroup */
        _CGROUP_MODE_MAX,
        _CGROUP_MODE_INVALID = -22,
} CGroupMode;

const char *cgroup_mode_to_string(CGroupMode m);
CGroupMode cgroup_mode_from_string(const char *s);

/* Looks at what is mounted on /sys/fs/cgroup. */
int cg_detect_mode(CGroupMode *ret);

/* One mounted hierarchy and where a process sits in it. */
typedef struct CGroupHierarchy {
        char *mount_point;   /* "/sys/fs/cgroup/memory", "/sys/fs/cgroup" */
        char *controllers;   /* v1: "memory", "cpu,cpuacct", "name=systemd"; v2: "" */
        bool unified;        /* cgroup2 */
        char *path;          /* the process's cgroup in it, "/" for the root */
} CGroupHierarchy;

void cg_hierarchies_free(CGroupHierarchy *l, size_t n);

/* Every mounted hierarchy (v1 and v2) with pid's cgroup in it (pid 0: ourselves), parsed from
 * mountinfo and /proc/PID/cgroup. Hierarchies mounted below their root (inside a cgroup
 * namespace of someone else) are included with the path relative to what is visible. */
int cg_enumerate(pid_t pid, CGroupHierarchy **ret, size_t *ret_n);
/* The controller lists ("memory", "cpu,cpuacct", "name=systemd") of the v1 hierarchies mounted
 * under /sys/fs/cgroup, whatever our cgroup namespace makes their roots look like. */
int cg_enumerate_v1_controllers(char ***ret);
int cg_parse_proc_cgroup(const char *content, const char *controllers, bool unified, char **ret_path);

/* Whether the v1 hierarchy's controller list contains controller ("memory" in "cpu,memory"). */
bool cg_hierarchy_has_controller(const CGroupHierarchy *h, const char *controller);

/* Full filesystem path of cgroup `path` (absolute in the hierarchy) plus optional attribute. */
char *cg_fs_path(const CGroupHierarchy *h, const char *path, const char *attribute);

/* mkdir (EEXIST is fine) + cg_init_new(). */
int cg_create(const CGroupHierarchy *h, const char *path);
/* Prepares a freshly created cgroup for processes (v1 cpuset: inherit cpus/mems). */
int cg_init_new(const CGroupHierarchy *h, const char *path);
int cg_attach(const CGroupHierarchy *h, const char *path, pid_t pid);
int cg_write(const CGroupHierarchy *h, const char *path, const char *attribute, const char *value);
int cg_read(const CGroupHierarchy *h, const char *path, const char *attribute, char **ret);
/* Sends sig to every process in the cgroup and its children (cgroup.kill on v2 for SIGKILL
 * where the kernel has it). Returns the number of processes signalled (v1/v2 procs path) or 0. */
int cg_kill_recursive(const CGroupHierarchy *h, const char *path, int sig);
/* True if neither the cgroup nor any child holds a process. */
int cg_is_empty_recursive(const CGroupHierarchy *h, const char *path);
/* rmdir of the cgroup and all children, depth first. -ENOENT is not an error. */
int cg_remove_recursive(const CGroupHierarchy *h, const char *path);
/* v2: enables controllers ("+pids +memory") of path's subtree. */
int cg_enable_controllers(const CGroupHierarchy *h, const char *path, const char *controllers);

/* Escapes a name for use as a single cgroup path component, as systemd does: names that
 * collide with kernel attribute files ("cgroup.*", controller prefixes) or start with '_' or '.'
 * get a '_' prefix. */
char *cg_escape(const char *name);

/* Resource limits in systemd unit syntax. UINT64_MAX = unset. */
typedef struct CGroupLimits {
        uint64_t memory_max;          /* bytes; "infinity" = CGROUP_LIMIT_MAX */
        uint64_t cpu_quota_per_sec_usec;
        uint64_t cpu_weight;          /* 1..10000 */
        uint64_t tasks_max;
        uint64_t io_weight;           /* 1..10000 */
} CGroupLimits;

#define CGROUP_LIMITS_UNSET                                                              \
        ((CGroupLimits) { .memory_max = UINT64_MAX, .cpu_quota_per_sec_usec = UINT64_MAX, \
                          .cpu_weight = UINT64_MAX, .tasks_max = UINT64_MAX,              \
                          .io_weight = UINT64_MAX })
/* "No limit" as a value distinct from unset. */
#define CGROUP_LIMIT_MAX (UINT64_MAX - 1)

/* Parses one "Name=value" property into limits: -EOPNOTSUPP for unknown names, -EINVAL for bad
 * values. Supported: MemoryMax, CPUQuota, CPUWeight, TasksMax, IOWeight. */
int cg_limits_parse_property(CGroupLimits *l, const char *assignment);
bool cg_limits_is_empty(const CGroupLimits *l);
/* Applies limits to the cgroup paths[i] of hierarchy hs[i], each limit in whichever hierarchy
 * (v2 preferred, else v1) carries its controller. -EOPNOTSUPP (with *ret_failed naming the
 * property) when no hierarchy has the controller or the kernel lacks the attribute. */
int cg_limits_apply(const CGroupLimits *l, const CGroupHierarchy *hs, char * const *paths, size_t n,
                    const char **ret_failed);
