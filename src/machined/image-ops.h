/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "image.h"

/* What the pool methods do to an image: the model, -errno, no bus types, and blocking (clone
 * and remove copy or delete whole trees): machined runs them in an operation's child.
 *
 * Common refusals: -EROFS for the host (".host") and images under /usr (vendor images, not the
 * pool's to change), -EBUSY while a machine runs from the image (it holds the image's lock:
 * spawn -i flock()s it, shared with --read-only) or something is mounted below it. Whether a
 * registered machine runs from a directory image is the manager's to check. */
int image_check_writable(const Image *i);

/* -EROFS also for a read-only image. */
int image_remove(const Image *i);
/* -EEXIST if pool has new_name (as a directory or NAME.raw), -EINVAL if it is not a valid name. */
int image_rename(const Image *i, const char *pool, const char *new_name);
/* A copy sharing extents where the file system can reflink; read_only marks the copy so. The
 * source may be read-only or in use by a machine that only reads it. */
int image_clone(const Image *i, const char *pool, const char *new_name, bool read_only);
/* Raw images: the write permission bits; directories: the immutable flag (chattr +i), as systemd. */
int image_mark_read_only(const Image *i, bool read_only);
/* Quotas need btrfs qgroups, which the pool does not use: -EOPNOTSUPP (NotSupported on the bus). */
int image_set_limit(const Image *i, uint64_t limit);
int pool_set_limit(const char *pool, uint64_t limit);

typedef struct CleanedImage {
        char *name;
        uint64_t usage;  /* UINT64_MAX if unknown */
} CleanedImage;

void cleaned_images_free(CleanedImage *l, size_t n);
/* Removes the hidden images (names starting with '.', not .host) or, with all, every image that
 * is not in use or read-only; returns what went. Images it cannot remove are skipped. */
int pool_clean(const char *pool, bool all, CleanedImage **ret, size_t *ret_n);
