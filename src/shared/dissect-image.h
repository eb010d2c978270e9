/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loop-util.h"
#include "macro.h"

/* What a partition is for, by the Discoverable Partitions Specification
 * (https://uapi-group.org/specifications/specs/discoverable_partitions_specification/). */
typedef enum PartitionDesignator {
        PARTITION_ROOT,
        PARTITION_USR,
        PARTITION_HOME,
        PARTITION_SRV,
        PARTITION_VAR,
        PARTITION_TMP,      /* mounted at /var/tmp */
        PARTITION_XBOOTLDR,
        PARTITION_ESP,
        PARTITION_ROOT_VERITY,
        PARTITION_USR_VERITY,
        _PARTITION_DESIGNATOR_MAX,
        _PARTITION_DESIGNATOR_INVALID = -EINVAL,
} PartitionDesignator;

const char *partition_designator_to_string(PartitionDesignator d);
PartitionDesignator partition_designator_from_string(const char *s);

typedef enum ImageLayout {
        IMAGE_LAYOUT_GPT,
        IMAGE_LAYOUT_MBR,
        IMAGE_LAYOUT_BARE,  /* a file system without a partition table */
        _IMAGE_LAYOUT_MAX,
        _IMAGE_LAYOUT_INVALID = -EINVAL,
} ImageLayout;

const char *image_layout_to_string(ImageLayout l);
ImageLayout image_layout_from_string(const char *s);

/* GPT attribute bits the specification gives meaning to. */
#define GPT_FLAG_GROWFS    (UINT64_C(1) << 59)
#define GPT_FLAG_READ_ONLY (UINT64_C(1) << 60)
#define GPT_FLAG_NO_AUTO   (UINT64_C(1) << 63)

/* A partition as the table says, before any choice: the input of dissect_choose(). */
typedef struct RawPartition {
        int partno;            /* from 1 */
        uint64_t start, size;  /* bytes */
        char type[37];         /* GPT: lower-case type GUID; MBR: "0x83" */
        uint64_t flags;        /* GPT attributes; MBR: the boot indicator (0x80) */
        const char *label;     /* GPT partition name, may be NULL */
} RawPartition;

typedef struct DissectedPartition {
        bool found;
        bool rw;               /* not flagged read-only */
        bool growfs;
        int partno;            /* 0: the whole device (a bare file system) */
        uint64_t start, size;  /* bytes */
        const char *architecture; /* "x86-64", "x86", NULL when the type has none */
        char *label;
        char *fstype;          /* probed by libblkid; NULL when unknown */
        int fd;                /* the partition's device, once dissected_image_acquire() ran */
} DissectedPartition;

typedef struct DissectedImage {
        ImageLayout layout;
        DissectedPartition partitions[_PARTITION_DESIGNATOR_MAX];
        unsigned n_partitions; /* in the table */
        unsigned n_no_auto;    /* skipped for the no-auto flag */
} DissectedImage;

DissectedImage *dissected_image_free(DissectedImage *m);
static inline void dissected_image_freep(DissectedImage **m) {
        dissected_image_free(*m);
}
#define _cleanup_dissected_image_ __attribute__((cleanup(dissected_image_freep)))

/* The choice, without I/O (unit-tested on synthetic tables): fills m->partitions from parts.
 * -ENXIO no root (nor /usr) partition, -ENOTUNIQ ambiguous roots, -ERANGE a partition beyond
 * device_size. */
int dissect_choose(ImageLayout layout, const RawPartition *parts, size_t n, uint64_t device_size,
                   DissectedImage *m);

/* Reads the partition table (or file system) of the device fd with libblkid and chooses. On top
 * of dissect_choose()'s: -EBADMSG damaged GPT header, -EFBIG image shorter than its table says,
 * -ENOPKG neither table nor known file system, -EPROTONOSUPPORT a chosen partition has no known
 * file system, -EUCLEAN conflicting signatures. */
int dissect_image_fd(int fd, uint64_t size, DissectedImage **ret);

/* One short phrase naming the cause, for dissect/loop/lock errors (NULL for others). */
const char *dissect_error_cause(int r);

/* Opens a device fd for every chosen partition (see loop_device_open_partition()). */
int dissected_image_acquire(DissectedImage *m, LoopDevice *d);

/* Checks the file systems that will be mounted read-write, with fsck.TYPE -p where installed. */
int dissected_image_fsck(DissectedImage *m, bool read_only);

typedef enum DissectMountFlags {
        DISSECT_MOUNT_READ_ONLY = 1 << 0,
} DissectMountFlags;

/* Mounts the image at where (an existing directory): root, or a tmpfs when there is only /usr,
 * then /usr, /var, /home, /srv, /var/tmp, /boot, /efi through the acquired fds; nodev; read-only
 * where flagged or asked (norecovery for journaling file systems, which replay otherwise). Mount
 * points missing in a read-only tree are skipped. On failure what was mounted is left for the
 * caller's mount namespace to drop. */
int dissected_image_mount(DissectedImage *m, const char *where, DissectMountFlags flags);
