/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

/* os-release(5) of a tree that may be hostile (a container's, an image's) or of the host: rootfd
 * is an fd of the tree's root directory, AT_FDCWD the host's "/". /etc/os-release, or else
 * /usr/lib/os-release, is resolved inside the tree and must be a regular file (open_regular_in_root():
 * a FIFO, a device or a link out of the tree is refused) of at most OS_RELEASE_MAX bytes. -ENOENT
 * if the tree has neither. */
#define OS_RELEASE_MAX (64 * 1024)

/* An fd open for reading. */
int os_release_open(int rootfd);
/* The file's bytes, NUL-terminated: what /run/host/os-release is a copy of. */
int os_release_read(int rootfd, char **ret, size_t *ret_size);
/* Its KEY=VALUE assignments, unquoted, as env_file_parse() returns them. */
int os_release_parse(int rootfd, char ***ret);
