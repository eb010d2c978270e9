/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Copies the whole regular file src to dst (from offset 0, dst truncated first): FICLONE where
 * the file system shares extents (btrfs, xfs), else only the data ranges (SEEK_DATA/SEEK_HOLE
 * and copy_file_range()) so holes stay holes, which for disk images is most of the file. */
int copy_file_reflink_or_sparse(int src, int dst);

/* An unnamed copy of src in directory dir (O_TMPFILE, or a file unlinked right after its
 * creation where the file system lacks O_TMPFILE): it vanishes with its last fd, whoever dies.
 * Returns an O_RDWR fd. */
int copy_file_anonymous(int src, const char *dir, int *ret_fd);
