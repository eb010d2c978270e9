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

/* A --bind/--bind-ro/--tmpfs request. */
typedef struct CustomMount {
        CustomMountType type;
        char *source;         /* bind: absolute host path, or "+path" relative to the tree */
        char *destination;    /* absolute path inside the container */
        char *options;        /* tmpfs: mount data */
        bool read_only;
        bool recursive;
} CustomMount;

void custom_mount_free_all(CustomMount *l, size_t n);

/* "SRC[:DST[:OPTIONS]]" with "\:" escaping a colon; OPTIONS: rbind, norbind. */
int custom_mount_parse_bind(const char *spec, bool read_only, CustomMount *ret);
/* "PATH[:OPTIONS]", OPTIONS passed to tmpfs (default mode=0755). */
int custom_mount_parse_tmpfs(const char *spec, CustomMount *ret);
int custom_mount_append(CustomMount **l, size_t *n, CustomMount *m);

typedef struct SpawnConfig SpawnConfig;

/* mount(2) onto a path inside the container tree (created as directory or file if missing),
 * resolved without leaving the tree. Logs errors. */
int mount_in_root(int rootfd, const char *source, const char *where, const char *fstype,
                  unsigned long flags, const char *data, bool directory);
/* Changes the flags of the topmost mount at where (MS_BIND|MS_REMOUNT|flags; with recursive,
 * only MS_RDONLY via mount_setattr). Logs errors. */
int remount_in_root(int rootfd, const char *where, unsigned long flags, bool recursive);

/* Builds the container's mount tree in the current (new, private) mount namespace: the tree bound
 * onto itself, API filesystems (the cgroup hierarchy comes later, in our cgroup namespace), /run/host with the notify socket, the
 * console, resolv.conf and timezone, custom mounts, read-only root. Returns an O_PATH fd of the
 * new root and the bound notify socket. Called in the container's PID 1 before pivot_root. */
int mount_setup_all(const SpawnConfig *c, const char *console_path, int *ret_rootfd, int *ret_notify_fd);

/* Switches to the new root and detaches the old one. */
int mount_pivot_root(int rootfd);
