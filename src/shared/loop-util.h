/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* A block device to dissect and mount: a loop device we attached over a regular file, or a block
 * device given as it is. Loop devices are attached with autoclear, so the kernel detaches them
 * when the last fd and the last mount go: whoever dies, nothing is left behind. */
typedef struct LoopDevice {
        int fd;            /* the whole device, open O_RDONLY or O_RDWR */
        int nr;            /* loop number, -1 for a block device used as it is */
        dev_t devno;
        uint64_t size;     /* bytes */
        bool read_only;
        bool partscan;     /* the kernel may hold partitions for it (BLKPG works) */
        char *node;        /* /dev/loopN or the block device's path */
} LoopDevice;

/* Opens path (a regular file or a block device) and returns a device for it. A directory gives
 * -EISDIR, anything else -ENOTBLK. Loop devices: LOOP_CONFIGURE (partscan, autoclear, direct I/O
 * when the file allows it), or LOOP_SET_FD + LOOP_SET_STATUS64 where the kernel lacks it, retried
 * when another process takes the free device first. */
int loop_device_make_by_path(const char *path, bool read_only, LoopDevice **ret);
/* The same for an open fd of a regular file or block device (the fd is not taken). */
int loop_device_make_fd(int fd, bool read_only, LoopDevice **ret);
LoopDevice *loop_device_free(LoopDevice *d);
static inline void loop_device_freep(LoopDevice **d) {
        loop_device_free(*d);
}
#define _cleanup_loop_device_ __attribute__((cleanup(loop_device_freep)))

/* Returns an fd (O_RDONLY or O_RDWR as the device) of a partition of d, partno from 1, bytes
 * start..start+size: the kernel's partition device when it has one or takes BLKPG_ADD_PARTITION
 * (kernels without partition-table parsers add nothing on their own), else a loop device of its
 * own over d with offset and sizelimit (block devices we must not add partitions to). The fd pins
 * the device; mount it through fd_proc_path(). */
int loop_device_open_partition(LoopDevice *d, int partno, uint64_t start, uint64_t size, int *ret_fd);

/* flock() on the image file at path: LOCK_SH for read-only users, LOCK_EX for writers, never
 * waiting. -EBUSY when another holder conflicts. Returns the fd holding the lock. */
int image_lock(const char *path, bool exclusive, int *ret_fd);
