/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dissect-image.h"
#include "machinectl-image.h"
#include "machinectl-output.h"
#include "strv.h"

static int dissect_path(const char *path, DissectedImage **ret) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return -errno;
        struct stat st;
        if (fstat(fd, &st) < 0)
                return -errno;
        uint64_t size = (uint64_t) st.st_size;
        if (S_ISBLK(st.st_mode) && ioctl(fd, BLKGETSIZE64, &size) < 0)
                return -errno;
        if (!S_ISBLK(st.st_mode) && !S_ISREG(st.st_mode))
                return -EBADFD;
        return dissect_image_fd(fd, size, ret);
}

int image_partition_lines(const char *path, char ***ret) {
        _cleanup_dissected_image_ DissectedImage *m = NULL;
        int r = dissect_path(path, &m);
        if (r < 0)
                return r;
        _cleanup_strv_free_ char **l = NULL;
        for (PartitionDesignator d = 0; d < _PARTITION_DESIGNATOR_MAX; d++) {
                const DissectedPartition *p = &m->partitions[d];
                if (!p->found)
                        continue;
                char size[32], *line;
                bool verity = d == PARTITION_ROOT_VERITY || d == PARTITION_USR_VERITY;
                if (asprintf(&line, "%s %s%s%s %s %s%s%s", partition_designator_to_string(d),
                             verity ? "verity" : p->fstype ?: "unknown", p->architecture ? " " : "",
                             p->architecture ?: "", format_bytes(size, sizeof(size), p->size),
                             verity ? "not verified" : p->rw ? "rw" : "ro", p->label ? " " : "",
                             p->label ?: "") < 0 ||
                    strv_consume(&l, line) < 0)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

json_object *image_partitions_json(const char *path) {
        _cleanup_dissected_image_ DissectedImage *m = NULL;
        if (dissect_path(path, &m) < 0)
                return NULL;
        json_object *a = json_object_new_array();
        for (PartitionDesignator d = 0; a && d < _PARTITION_DESIGNATOR_MAX; d++) {
                const DissectedPartition *p = &m->partitions[d];
                if (!p->found)
                        continue;
                json_object *o = json_object_new_object();
                if (!o)
                        break;
                json_object_object_add(o, "designator", json_object_new_string(partition_designator_to_string(d)));
                json_object_object_add(o, "partno", json_object_new_int(p->partno));
                json_object_object_add(o, "fstype", p->fstype ? json_object_new_string(p->fstype) : NULL);
                json_object_object_add(o, "architecture", p->architecture ? json_object_new_string(p->architecture) : NULL);
                json_object_object_add(o, "label", p->label ? json_object_new_string(p->label) : NULL);
                json_object_object_add(o, "offset", json_object_new_uint64(p->start));
                json_object_object_add(o, "size", json_object_new_uint64(p->size));
                json_object_object_add(o, "rw", json_object_new_boolean(p->rw));
                json_object_object_add(o, "growfs", json_object_new_boolean(p->growfs));
                json_object_array_add(a, o);
        }
        return a;
}
