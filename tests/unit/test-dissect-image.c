/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "dissect-image.h"
#include "tap.h"

#define ROOT64 "4f68bce3-e8cd-4db1-96e7-fbcaf984b709"
#define ROOT32 "44479540-f297-41b2-9af7-d131d5f0458a"
#define USR64 "8484680c-9521-48c6-9c11-b0720656f69e"
#define HOME "933ac7e1-2eb4-4f13-b844-0e14e2aef915"
#define SRV "3b8f8425-20e0-4f3b-907f-1a25a76f98e8"
#define GENERIC "0fc63daf-8483-4772-8e79-3d69d8477de4"
#define MiB (UINT64_C(1) << 20)

static RawPartition part(int n, const char *type, uint64_t flags, const char *label) {
        RawPartition p = { .partno = n, .start = n * MiB, .size = MiB, .flags = flags, .label = label };
        snprintf(p.type, sizeof(p.type), "%s", type);
        return p;
}

static int choose(ImageLayout layout, const RawPartition *parts, size_t n, DissectedImage **ret) {
        DissectedImage *m = calloc(1, sizeof(*m));
        for (size_t i = 0; i < _PARTITION_DESIGNATOR_MAX; i++)
                m->partitions[i].fd = -EBADF;
        int r = dissect_choose(layout, parts, n, 64 * MiB, m);
        *ret = m;
        return r;
}

int main(void) {
        DissectedImage *m;

        RawPartition dps[] = { part(1, ROOT64, 0, "os"), part(2, HOME, 0, NULL), part(3, SRV, GPT_FLAG_NO_AUTO, NULL) };
        CHECK(choose(IMAGE_LAYOUT_GPT, dps, 3, &m) == 0);
        CHECK(m->partitions[PARTITION_ROOT].partno == 1 && m->partitions[PARTITION_ROOT].rw);
        CHECK_STREQ(m->partitions[PARTITION_ROOT].architecture, "x86-64");
        CHECK(m->partitions[PARTITION_HOME].partno == 2);
        CHECK(!m->partitions[PARTITION_SRV].found && m->n_no_auto == 1);
        dissected_image_free(m);

        /* Newest version by label; a native root beats a newer secondary one. */
        RawPartition versions[] = { part(1, ROOT64, 0, "os_9"), part(2, ROOT64, GPT_FLAG_READ_ONLY, "os_10"),
                                    part(3, ROOT32, 0, "os_99") };
        CHECK(choose(IMAGE_LAYOUT_GPT, versions, 3, &m) == 0);
        CHECK(m->partitions[PARTITION_ROOT].partno == 2 && !m->partitions[PARTITION_ROOT].rw);
        CHECK_STREQ(m->partitions[PARTITION_ROOT].label, "os_10");
        dissected_image_free(m);

        RawPartition same[] = { part(1, ROOT64, 0, "os"), part(2, ROOT64, 0, "os") };
        CHECK(choose(IMAGE_LAYOUT_GPT, same, 2, &m) == -ENOTUNIQ);
        dissected_image_free(m);

        RawPartition generic[] = { part(1, GENERIC, 0, NULL) };
        CHECK(choose(IMAGE_LAYOUT_GPT, generic, 1, &m) == 0 && m->partitions[PARTITION_ROOT].partno == 1);
        dissected_image_free(m);
        RawPartition generic2[] = { part(1, GENERIC, 0, NULL), part(2, GENERIC, 0, NULL) };
        CHECK(choose(IMAGE_LAYOUT_GPT, generic2, 2, &m) == -ENOTUNIQ);
        dissected_image_free(m);

        RawPartition noroot[] = { part(1, HOME, 0, NULL) };
        CHECK(choose(IMAGE_LAYOUT_GPT, noroot, 1, &m) == -ENXIO);
        dissected_image_free(m);
        RawPartition noauto_root[] = { part(1, ROOT64, GPT_FLAG_NO_AUTO, NULL) };
        CHECK(choose(IMAGE_LAYOUT_GPT, noauto_root, 1, &m) == -ENXIO);
        dissected_image_free(m);

        RawPartition usr[] = { part(1, USR64, 0, NULL) };
        CHECK(choose(IMAGE_LAYOUT_GPT, usr, 1, &m) == 0 && !m->partitions[PARTITION_ROOT].found &&
              m->partitions[PARTITION_USR].found);
        dissected_image_free(m);

        RawPartition mbr[] = { part(1, "0x83", 0, NULL), part(2, "0x83", 0x80, NULL) };
        CHECK(choose(IMAGE_LAYOUT_MBR, mbr, 2, &m) == 0 && m->partitions[PARTITION_ROOT].partno == 2);
        dissected_image_free(m);
        RawPartition mbr2[] = { part(1, "0x83", 0x80, NULL), part(2, "0x83", 0x80, NULL) };
        CHECK(choose(IMAGE_LAYOUT_MBR, mbr2, 2, &m) == -ENOTUNIQ);
        dissected_image_free(m);

        RawPartition beyond[] = { part(70, ROOT64, 0, NULL) };
        CHECK(choose(IMAGE_LAYOUT_GPT, beyond, 1, &m) == -ERANGE);
        dissected_image_free(m);

        CHECK(choose(IMAGE_LAYOUT_BARE, NULL, 0, &m) == 0 && m->partitions[PARTITION_ROOT].partno == 0 &&
              m->partitions[PARTITION_ROOT].size == 64 * MiB);
        dissected_image_free(m);

        CHECK_STREQ(dissect_error_cause(-ENXIO), "no root partition found");
        for (PartitionDesignator d = 0; d < _PARTITION_DESIGNATOR_MAX; d++)
                CHECK(partition_designator_from_string(partition_designator_to_string(d)) == d);
        for (ImageLayout l = 0; l < _IMAGE_LAYOUT_MAX; l++)
                CHECK(image_layout_from_string(image_layout_to_string(l)) == l);
        CHECK(dissect_error_cause(-EPERM) == NULL);
        return tap_finish();
}
