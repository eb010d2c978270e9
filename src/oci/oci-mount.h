/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "oci-config.h"

/* The container's root file system, in the container's new mount namespace. Each function
 * returns -errno and on failure sets *ret_error to the one line that says why. */

/* Before pivot_root: propagation, the root bound onto itself, config.json's mounts in order
 * (mount targets resolved inside the root, symlinks cannot leave it), /dev's nodes and links. */
int oci_rootfs_prepare(const OciConfig *c, const char *rootfs, char **ret_error);
/* pivot_root into the root (or, --no-pivot, move it over / and chroot). */
int oci_rootfs_enter(const char *root, bool no_pivot, char **ret_error);
/* After pivot_root: linux.maskedPaths, readonlyPaths, sysctl, and root.readonly last. */
int oci_rootfs_finish(const OciConfig *c, char **ret_error);
