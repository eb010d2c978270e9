/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "parse-util.h"

/* Images in the pool directory (/var/lib/machines): directories (or btrfs subvolumes) holding an OS
 * tree, NAME.raw disk images and block devices. Read-only access for now; the full image API
 * (clone, rename, remove, limits) comes later. */
typedef enum ImageType {
        IMAGE_DIRECTORY,
        IMAGE_SUBVOLUME,
        IMAGE_RAW,
        IMAGE_BLOCK,
        _IMAGE_TYPE_MAX,
        _IMAGE_TYPE_INVALID = -22,
} ImageType;

typedef struct Image {
        char *name;
        char *path;
        ImageType type;
        bool read_only;
        uint64_t crtime;          /* µs, 0 if unknown */
        uint64_t mtime;           /* µs */
        uint64_t usage;           /* bytes, UINT64_MAX if unknown */
        uint64_t usage_exclusive;
        uint64_t limit;
        uint64_t limit_exclusive;
} Image;

const char *image_type_to_string(ImageType t);
ImageType image_type_from_string(const char *s);
/* A machine name, a hidden one (".name") or ".host" (the host's own root). */
bool image_name_is_valid(const char *s);

/* -ENOENT if there is no such image. */
int image_find(const char *pool, const char *name, Image **ret);
int image_discover(const char *pool, Image ***ret, size_t *ret_n);
Image *image_free(Image *i);
static inline void image_freep(Image **i) {
        image_free(*i);
}
void images_free(Image **l, size_t n);
char *image_bus_path(const char *name);

/* Contents of an image, resolved inside it; disk images (raw, block) are mounted read-only by a
 * child for it (-EOPNOTSUPP without libblkid). */
int image_read_os_release(const Image *i, char ***ret);
int image_read_hostname(const Image *i, char **ret);
int image_read_machine_id(const Image *i, Id128 *ret);
int image_read_machine_info(const Image *i, char ***ret);
