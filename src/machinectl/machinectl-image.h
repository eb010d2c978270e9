/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-c/json.h>

/* The partitions of the raw image or block device at path, dissected from the file itself (no
 * loop device, no privileges beyond reading it): one line each, "root ext4 x86-64 10.0M rw", in
 * a NULL-terminated list, or as a JSON array. -errno when it cannot be read or dissected. */
int image_partition_lines(const char *path, char ***ret);
json_object *image_partitions_json(const char *path);
