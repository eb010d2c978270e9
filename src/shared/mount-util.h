/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

/* The mount table of this process's mount namespace, read with libmount: the mount points at
 * path or below it, in the table's order, each once, as a NULL-terminated list.
 * For machined's image operations, which must not remove or rename a tree something is mounted
 * in. (spawn does not link this: libmount pulls libselinux and ~550 kB of RSS with it.) */
int mount_points_below(const char *path, char ***ret);
/* > 0 if anything is mounted at path or below it, 0 if not. */
int path_has_mounts_below(const char *path);
