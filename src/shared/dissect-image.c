/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <blkid.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dissect-image.h"
#include "string-table.h"

static const char *const partition_designator_table[_PARTITION_DESIGNATOR_MAX] = {
        [PARTITION_ROOT] = "root",
        [PARTITION_USR] = "usr",
        [PARTITION_HOME] = "home",
        [PARTITION_SRV] = "srv",
        [PARTITION_VAR] = "var",
        [PARTITION_TMP] = "tmp",
        [PARTITION_XBOOTLDR] = "xbootldr",
        [PARTITION_ESP] = "esp",
        [PARTITION_ROOT_VERITY] = "root-verity",
        [PARTITION_USR_VERITY] = "usr-verity",
};
DEFINE_STRING_TABLE_LOOKUP(partition_designator, PartitionDesignator);

static const char *const image_layout_table[_IMAGE_LAYOUT_MAX] = {
        [IMAGE_LAYOUT_GPT] = "gpt",
        [IMAGE_LAYOUT_MBR] = "mbr",
        [IMAGE_LAYOUT_BARE] = "bare",
};
DEFINE_STRING_TABLE_LOOKUP(image_layout, ImageLayout);

/* The specification's type GUIDs for the architectures we run: x86-64 native, x86 secondary.
 * Rank orders candidates: a native root beats a secondary one whatever their versions. */
static const struct {
        const char *guid;
        PartitionDesignator designator;
        const char *architecture;
        int rank;
} gpt_types[] = {
        { "4f68bce3-e8cd-4db1-96e7-fbcaf984b709", PARTITION_ROOT, "x86-64", 2 },
        { "44479540-f297-41b2-9af7-d131d5f0458a", PARTITION_ROOT, "x86", 1 },
        { "8484680c-9521-48c6-9c11-b0720656f69e", PARTITION_USR, "x86-64", 2 },
        { "75250d76-8cc6-458e-bd66-bd47cc81a812", PARTITION_USR, "x86", 1 },
        { "2c7357ed-ebd2-46d9-aec1-23d437ec2bf5", PARTITION_ROOT_VERITY, "x86-64", 2 },
        { "d13c5d3b-b5d1-422a-b29f-9454fdc89d76", PARTITION_ROOT_VERITY, "x86", 1 },
        { "77ff5f63-e7b6-4633-acf4-1565b864c0e6", PARTITION_USR_VERITY, "x86-64", 2 },
        { "8f461b0d-14ee-4e81-9aa9-049b6fb97abd", PARTITION_USR_VERITY, "x86", 1 },
        { "933ac7e1-2eb4-4f13-b844-0e14e2aef915", PARTITION_HOME, NULL, 0 },
        { "3b8f8425-20e0-4f3b-907f-1a25a76f98e8", PARTITION_SRV, NULL, 0 },
        { "4d21b016-b534-45c2-a9fb-5c16e091fd2d", PARTITION_VAR, NULL, 0 },
        { "7ec6f557-3bc5-4aca-b293-16ef5df639d1", PARTITION_TMP, NULL, 0 },
        { "bc13c2ff-59e6-4262-a352-b275fd6f7172", PARTITION_XBOOTLDR, NULL, 0 },
        { "c12a7328-f81f-11d2-ba4b-00a0c93ec93b", PARTITION_ESP, NULL, 0 },
};
#define GPT_LINUX_GENERIC "0fc63daf-8483-4772-8e79-3d69d8477de4"

DissectedImage *dissected_image_free(DissectedImage *m) {
        if (!m)
                return NULL;
        for (size_t i = 0; i < _PARTITION_DESIGNATOR_MAX; i++) {
                free(m->partitions[i].label);
                free(m->partitions[i].fstype);
                safe_close(m->partitions[i].fd);
        }
        free(m);
        return NULL;
}

static DissectedImage *dissected_image_new(ImageLayout layout) {
        DissectedImage *m = calloc(1, sizeof(*m));
        if (!m)
                return NULL;
        m->layout = layout;
        for (size_t i = 0; i < _PARTITION_DESIGNATOR_MAX; i++)
                m->partitions[i].fd = -EBADF;
        return m;
}

static int partition_set(DissectedPartition *d, const RawPartition *p, bool rw, const char *arch) {
        char *label = p->label && p->label[0] ? strdup(p->label) : NULL;
        if (p->label && p->label[0] && !label)
                return -ENOMEM;
        free(d->label);
        *d = (DissectedPartition) {
                .found = true, .rw = rw, .growfs = p->flags & GPT_FLAG_GROWFS, .partno = p->partno,
                .start = p->start, .size = p->size, .architecture = arch, .label = label, .fd = -EBADF,
        };
        return 0;
}

/* Among roots (or /usr) of the same rank, the specification picks the newest version, which the
 * label carries ("fooOS_2.1"): compared as versions, so 10 > 9. Same label twice: ambiguous. */
static int candidate_compare(const RawPartition *a, int rank_a, const RawPartition *b, int rank_b) {
        if (rank_a != rank_b)
                return rank_a - rank_b;
        return strverscmp(a->label ?: "", b->label ?: "");
}

static int choose_gpt(const RawPartition *parts, size_t n, DissectedImage *m) {
        int ranks[_PARTITION_DESIGNATOR_MAX] = {};
        const RawPartition *best[_PARTITION_DESIGNATOR_MAX] = {}, *generic = NULL;
        bool tie[_PARTITION_DESIGNATOR_MAX] = {};
        unsigned n_generic = 0;

        for (size_t i = 0; i < n; i++) {
                const RawPartition *p = &parts[i];
                if (streq(p->type, GPT_LINUX_GENERIC)) {
                        generic = p;
                        n_generic++;
                        continue;
                }
                for (size_t t = 0; t < ELEMENTSOF(gpt_types); t++) {
                        if (!streq(p->type, gpt_types[t].guid))
                                continue;
                        PartitionDesignator d = gpt_types[t].designator;
                        if (p->flags & GPT_FLAG_NO_AUTO) {
                                m->n_no_auto++;
                                break;
                        }
                        if (!best[d]) {
                                best[d] = p;
                                ranks[d] = gpt_types[t].rank;
                        } else if (gpt_types[t].architecture) {
                                /* Versioned kinds: keep the newest. Others: the first one wins. */
                                int c = candidate_compare(p, gpt_types[t].rank, best[d], ranks[d]);
                                if (c > 0) {
                                        best[d] = p;
                                        ranks[d] = gpt_types[t].rank;
                                        tie[d] = false;
                                } else if (c == 0)
                                        tie[d] = true;
                        }
                        int r = partition_set(&m->partitions[d], best[d], !(best[d]->flags & GPT_FLAG_READ_ONLY),
                                              ranks[d] == 2 ? "x86-64" : ranks[d] == 1 ? "x86" : NULL);
                        if (r < 0)
                                return r;
                        break;
                }
        }
        if (tie[PARTITION_ROOT] || (!best[PARTITION_ROOT] && tie[PARTITION_USR]))
                return -ENOTUNIQ;
        if (!best[PARTITION_ROOT] && !best[PARTITION_USR]) {
                /* A plain "Linux file system" partition stands in for root if it is the only one. */
                if (n_generic > 1)
                        return -ENOTUNIQ;
                if (n_generic == 0 || (generic->flags & GPT_FLAG_NO_AUTO))
                        return -ENXIO;
                return partition_set(&m->partitions[PARTITION_ROOT], generic,
                                     !(generic->flags & GPT_FLAG_READ_ONLY), NULL);
        }
        return 0;
}

static int choose_mbr(const RawPartition *parts, size_t n, DissectedImage *m) {
        const RawPartition *root = NULL;
        for (size_t i = 0; i < n; i++) {
                if (!streq(parts[i].type, "0x83") || !(parts[i].flags & 0x80))
                        continue;
                if (root)
                        return -ENOTUNIQ;
                root = &parts[i];
        }
        if (!root)
                return -ENXIO;
        return partition_set(&m->partitions[PARTITION_ROOT], root, true, NULL);
}

int dissect_choose(ImageLayout layout, const RawPartition *parts, size_t n, uint64_t device_size,
                   DissectedImage *m) {
        for (size_t i = 0; i < n; i++)
                if (parts[i].size == 0 || parts[i].start + parts[i].size > device_size ||
                    parts[i].start + parts[i].size < parts[i].start)
                        return -ERANGE;
        m->layout = layout;
        m->n_partitions = n;
        switch (layout) {
        case IMAGE_LAYOUT_GPT:
                return choose_gpt(parts, n, m);
        case IMAGE_LAYOUT_MBR:
                return choose_mbr(parts, n, m);
        case IMAGE_LAYOUT_BARE: {
                RawPartition whole = { .partno = 0, .start = 0, .size = device_size };
                return partition_set(&m->partitions[PARTITION_ROOT], &whole, true, NULL);
        }
        default:
                return -EINVAL;
        }
}

const char *dissect_error_cause(int r) {
        switch (r) {
        case -EISDIR: return "is a directory, not a disk image";
        case -ENOTBLK: return "is neither a regular file nor a block device";
        case -EBUSY: return "image is in use (locked by another process)";
        case -ENXIO: return "no root partition found";
        case -ENOTUNIQ: return "more than one candidate root partition, none preferred";
        case -ERANGE: return "a partition extends beyond the end of the image (truncated?)";
        case -EFBIG: return "image is truncated: smaller than its partition table says";
        case -EBADMSG: return "partition table is damaged (invalid GPT header)";
        case -ENOPKG: return "no partition table and no known file system found";
        case -EPROTONOSUPPORT: return "unknown file system on a partition to mount";
        case -EUCLEAN: return "conflicting file system signatures";
        case -EMSGSIZE: return "too small to hold a partition table or a file system";
        default: return NULL;
        }
}

DEFINE_TRIVIAL_CLEANUP_FUNC(blkid_probe, blkid_free_probe);

static int probe_new(int fd, uint64_t offset, uint64_t size, bool partitions, blkid_probe *ret) {
        errno = 0;
        blkid_probe pr = blkid_new_probe();
        if (!pr)
                return errno > 0 ? -errno : -ENOMEM;
        if (blkid_probe_set_device(pr, fd, (blkid_loff_t) offset, (blkid_loff_t) size) < 0) {
                blkid_free_probe(pr);
                return -EIO;
        }
        blkid_probe_enable_superblocks(pr, 1);
        blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE);
        /* Only what could be mounted: skipping RAID members and crypto containers also skips
         * most of the probers' reads. */
        blkid_probe_filter_superblocks_usage(pr, BLKID_FLTR_ONLYIN, BLKID_USAGE_FILESYSTEM);
        blkid_probe_enable_partitions(pr, partitions);
        if (partitions)
                blkid_probe_set_partitions_flags(pr, BLKID_PARTS_ENTRY_DETAILS);
        *ret = pr;
        return 0;
}

/* Runs the probe: 1 when something was found, 0 when nothing was. */
static int probe_run(blkid_probe pr) {
        errno = 0;
        int r = blkid_do_safeprobe(pr);
        if (r == -2)
                return -EUCLEAN;
        if (r < 0)
                return errno > 0 ? -errno : -EIO;
        return r == 0;
}

/* libblkid falls back to the backup GPT header when the primary one is broken, and happily
 * reads a table whose disk was cut short: both mean the image is damaged, and we say so rather
 * than boot whatever the remains describe. */
static int gpt_check_header(int fd, uint64_t size, unsigned sector) {
        unsigned char h[92];
        if (pread(fd, h, sizeof(h), sector) != (ssize_t) sizeof(h))
                return -EBADMSG;
        if (memcmp(h, "EFI PART", 8) != 0)
                return -EBADMSG;
        uint64_t alternate = 0;
        for (int i = 7; i >= 0; i--)
                alternate = (alternate << 8) | h[32 + i];
        if (alternate > UINT64_MAX / sector - 1 || (alternate + 1) * sector > size)
                return -EFBIG;
        return 0;
}

static int probe_fstype(int fd, DissectedPartition *p) {
        _cleanup_(blkid_free_probep) blkid_probe pr = NULL;
        int r = probe_new(fd, p->start, p->size, false, &pr);
        if (r < 0)
                return r;
        r = probe_run(pr);
        if (r <= 0)
                return r;
        const char *type = NULL;
        if (blkid_probe_lookup_value(pr, "TYPE", &type, NULL) < 0 || !type)
                return 0;
        p->fstype = strdup(type);
        return p->fstype ? 0 : -ENOMEM;
}

static int read_partlist(blkid_probe pr, bool gpt, RawPartition **ret, size_t *ret_n) {
        errno = 0;
        blkid_partlist pl = blkid_probe_get_partitions(pr);
        if (!pl)
                return errno > 0 ? -errno : -EBADMSG;
        int n = blkid_partlist_numof_partitions(pl);
        if (n < 0)
                return -EBADMSG;
        RawPartition *parts = calloc(n + 1, sizeof(*parts));
        if (!parts)
                return -ENOMEM;
        for (int i = 0; i < n; i++) {
                blkid_partition pp = blkid_partlist_get_partition(pl, i);
                RawPartition *p = &parts[i];
                p->partno = blkid_partition_get_partno(pp);
                p->start = (uint64_t) blkid_partition_get_start(pp) * 512;
                p->size = (uint64_t) blkid_partition_get_size(pp) * 512;
                p->flags = blkid_partition_get_flags(pp);
                p->label = blkid_partition_get_name(pp);
                if (gpt) {
                        const char *t = blkid_partition_get_type_string(pp);
                        snprintf(p->type, sizeof(p->type), "%s", t ?: "");
                        for (char *c = p->type; *c; c++)
                                *c = (char) tolower((unsigned char) *c);
                } else
                        snprintf(p->type, sizeof(p->type), "0x%x", (unsigned) blkid_partition_get_type(pp));
        }
        *ret = parts;
        *ret_n = n;
        return 0;
}

static int dissect_probe(int fd, uint64_t size, blkid_probe pr, DissectedImage *m) {
        const char *pttype = NULL, *fstype = NULL;
        (void) blkid_probe_lookup_value(pr, "PTTYPE", &pttype, NULL);
        (void) blkid_probe_lookup_value(pr, "TYPE", &fstype, NULL);

        if (!pttype)
                return fstype ? dissect_choose(IMAGE_LAYOUT_BARE, NULL, 0, size, m) : -ENOPKG;
        bool gpt = streq(pttype, "gpt");
        int r;
        if (gpt || streq(pttype, "PMBR")) {
                /* "PMBR": a protective MBR whose GPT libblkid refused; say why. */
                r = gpt_check_header(fd, size, blkid_probe_get_sectorsize(pr));
                if (r < 0)
                        return r;
                if (!gpt)
                        return -EBADMSG;
        } else if (!streq(pttype, "dos"))
                return -ENOPKG;
        _cleanup_free_ RawPartition *parts = NULL;
        size_t n = 0;
        r = read_partlist(pr, gpt, &parts, &n);
        if (r < 0)
                return r;
        /* A protective MBR whose GPT libblkid could not read: a damaged GPT, not an MBR image. */
        for (size_t i = 0; !gpt && i < n; i++)
                if (streq(parts[i].type, "0xee"))
                        return -EBADMSG;
        return dissect_choose(gpt ? IMAGE_LAYOUT_GPT : IMAGE_LAYOUT_MBR, parts, n, size, m);
}

int dissect_image_fd(int fd, uint64_t size, DissectedImage **ret) {
        /* Smaller than one sector (a loop device rounds the file down to 0 bytes): nothing a
         * prober reads could be there, and libblkid's failure on it would name a damaged GPT. */
        if (size < 512)
                return -EMSGSIZE;
        _cleanup_(blkid_free_probep) blkid_probe pr = NULL;
        int r = probe_new(fd, 0, size, true, &pr);
        if (r < 0)
                return r;
        r = probe_run(pr);
        if (r < 0)
                return r;
        if (r == 0)
                return -ENOPKG;

        _cleanup_dissected_image_ DissectedImage *m = dissected_image_new(IMAGE_LAYOUT_BARE);
        if (!m)
                return -ENOMEM;
        r = dissect_probe(fd, size, pr, m);
        if (r < 0)
                return r;

        for (PartitionDesignator d = 0; d < _PARTITION_DESIGNATOR_MAX; d++) {
                DissectedPartition *p = &m->partitions[d];
                if (!p->found || d == PARTITION_ROOT_VERITY || d == PARTITION_USR_VERITY)
                        continue;
                r = probe_fstype(fd, p);
                if (r < 0)
                        return r;
                if (!p->fstype)
                        return -EPROTONOSUPPORT;
        }
        *ret = TAKE_PTR(m);
        return 0;
}
