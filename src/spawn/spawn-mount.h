/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

typedef enum CustomMountType {
        CUSTOM_MOUNT_BIND,
        CUSTOM_MOUNT_TMPFS,
        _CUSTOM_MOUNT_TYPE_MAX,
        _CUSTOM_MOUNT_TYPE_INVALID = -22,
} CustomMountType;

/* How a bind mount's file owners appear under -U (nspawn's idmap, rootidmap, noidmap). */
typedef enum MountIdmap {
        MOUNT_IDMAP_NONE,         /* as on the host: host IDs of the container's range are its IDs */
        MOUNT_IDMAP_CONTAINER,    /* the container's map: host 0..65535 appear as the container's 0..65535 */
        MOUNT_IDMAP_ROOT,         /* the source's owner appears as the container's root, nobody else mapped */
        _MOUNT_IDMAP_MAX,
        _MOUNT_IDMAP_INVALID = -22,
} MountIdmap;

/* A --bind/--bind-ro/--tmpfs request. */
typedef struct CustomMount {
        CustomMountType type;
        char *source;         /* bind: absolute host path, or "+path" relative to the tree */
        char *destination;    /* absolute path inside the container */
        char *options;        /* tmpfs: mount data (NULL: none) */
        unsigned long flags;  /* tmpfs: MS_* from the option string's flag words, default MS_NOSUID|MS_NODEV */
        bool read_only;
        bool recursive;
        MountIdmap idmap;     /* bind: idmap, rootidmap, noidmap (the default) */
} CustomMount;

void custom_mount_free_all(CustomMount *l, size_t n);

/* "SRC[:DST[:OPTIONS]]" with "\:" escaping a colon; OPTIONS: rbind, norbind, idmap, rootidmap,
 * noidmap. */
int custom_mount_parse_bind(const char *spec, bool read_only, CustomMount *ret);
/* "PATH[:OPTIONS]" (default mode=0755): flag words (ro, nosuid, noexec, ...) become flags, the
 * rest is tmpfs data. */
int custom_mount_parse_tmpfs(const char *spec, CustomMount *ret);
int custom_mount_append(CustomMount **l, size_t *n, CustomMount *m);

typedef struct SpawnConfig SpawnConfig;

/* The mount plan: every mount the container gets, computed from the resolved configuration by
 * mount_plan_build() without a single syscall (so unit tests can check it), then executed phase
 * by phase by mount_plan_run(). Steps that are not mounts but must happen between two of them
 * (device nodes after /dev, the /run/host files before /run/host turns read-only, ...) are hook
 * entries, so the order of everything lives in the plan. */

typedef enum MountPhase {
        MOUNT_PHASE_EARLY,        /* before the cgroup namespace: overlaps the supervisor's cgroup work */
        MOUNT_PHASE_CGROUP_NS,    /* in the container's own cgroup namespace, once the supervisor placed it */
        _MOUNT_PHASE_MAX,
        _MOUNT_PHASE_INVALID = -22,
} MountPhase;

typedef enum MountKind {
        MOUNT_ROOT,               /* the root the root provider set up; only read_only applies */
        MOUNT_FS,                 /* a new instance of fstype */
        MOUNT_BIND,               /* a host path, or "+/path" inside the tree, bound onto target */
        MOUNT_BIND_SELF,          /* target bound onto itself, to give it flags of its own */
        MOUNT_MASK,               /* target hidden: /dev/null over a file, an empty read-only tmpfs over a directory */
        MOUNT_HOOK,               /* not a mount: a step between two mounts */
        _MOUNT_KIND_MAX,
        _MOUNT_KIND_INVALID = -22,
} MountKind;

typedef enum MountHook {
        MOUNT_HOOK_NONE,
        MOUNT_HOOK_DEV_NODES,     /* the device nodes and links in /dev (spawn-dev.c) */
        MOUNT_HOOK_RUN_HOST,      /* /run/host's files and the notify socket (spawn-etc.c) */
        MOUNT_HOOK_RESOLV_CONF,   /* --resolv-conf= (spawn-etc.c) */
        MOUNT_HOOK_TIMEZONE,      /* --timezone= (spawn-etc.c) */
        MOUNT_HOOK_CGROUP_V1,     /* the host's v1 hierarchies below /sys/fs/cgroup (spawn-cgroup.c) */
        MOUNT_HOOK_OCI_DEVICES,   /* --oci-bundle: linux.devices' nodes (spawn-oci.c) */
        _MOUNT_HOOK_MAX,
        _MOUNT_HOOK_INVALID = -22,
} MountHook;

typedef struct MountEntry {
        MountKind kind;
        MountPhase phase;
        MountHook hook;
        char *source;             /* FS: the source name; BIND: host path or "+/path" in the tree */
        char *target;             /* inside the container; created if missing (except optional) */
        char *fstype;
        char *options;            /* mount data */
        unsigned long flags;      /* FS: MS_*; binds: MS_REC, and MS_NOSUID/NODEV/NOEXEC applied with read_only */
        bool read_only;           /* made read-only once every later entry below its target is mounted */
        bool optional;            /* skipped when the target does not exist (a kernel without it) */
        MountIdmap idmap;         /* binds under -U: idmapped with the container's map, or root-only */
        int userns_fd;            /* with idmap: the mapping's user namespace (borrowed from the resolution) */
        int tree_fd;              /* BIND: > 0, a detached mount (borrowed) attached instead of binding source */
} MountEntry;

typedef struct MountPlan {
        MountEntry *entries;
        size_t n_entries;
} MountPlan;

#define MOUNT_PLAN_NULL ((MountPlan) {})

const char *mount_idmap_to_string(MountIdmap m);
MountIdmap mount_idmap_from_string(const char *s);
const char *mount_phase_to_string(MountPhase p);
MountPhase mount_phase_from_string(const char *s);
const char *mount_kind_to_string(MountKind k);
MountKind mount_kind_from_string(const char *s);
const char *mount_hook_to_string(MountHook h);
MountHook mount_hook_from_string(const char *s);

/* Builds the plan for c; console_path is the host side of the container's console (NULL: pipe
 * mode, no /dev/console); console_trees (NULL, or fds <= 0: none) detached mounts of it for
 * /dev/console and /dev/tty1, attached instead of binding the path. Pure: only allocates. Returns -ENOMEM (unlogged) on failure. */
int mount_plan_build(const SpawnConfig *c, const char *console_path, const int console_trees[2], MountPlan *ret);
void mount_plan_done(MountPlan *p);

/* What the engine works on and what the hooks hand back. */
typedef struct MountContext {
        const SpawnConfig *config;
        int rootfd;               /* the container's root (O_PATH), from the root provider */
        int notify_fd;            /* out: the bound notify socket (MOUNT_HOOK_RUN_HOST) */
        const char *nameserver;   /* -n: the host side's name server (MOUNT_HOOK_RESOLV_CONF) */
} MountContext;

/* Runs the entries of one phase in order, in the current mount namespace, below ctx->rootfd.
 * Logs one line on failure. */
int mount_plan_run(const MountPlan *p, MountPhase phase, MountContext *ctx);

/* mount(2) onto a path inside the container tree (created as directory or file if missing),
 * resolved without leaving the tree. Logs errors. */
int mount_in_root(int rootfd, const char *source, const char *where, const char *fstype,
                  unsigned long flags, const char *data, bool directory);
/* Changes the flags of the topmost mount at where (MS_BIND|MS_REMOUNT|flags; with recursive,
 * only MS_RDONLY via mount_setattr). Logs errors. */
int remount_in_root(int rootfd, const char *where, unsigned long flags, bool recursive);

/* Switches to the new root and detaches the old one. */
int mount_pivot_root(int rootfd);
