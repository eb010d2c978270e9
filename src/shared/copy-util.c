/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "copy-util.h"
#include "macro.h"

static int copy_range(int src, int dst, off_t start, off_t end) {
        off_t in = start, out = start;
        while (in < end) {
                ssize_t n = copy_file_range(src, &in, dst, &out, (size_t) MIN(end - in, (off_t) 1 << 30), 0);
                if (n < 0)
                        return -errno;
                if (n == 0)
                        return -EIO; /* the file shrank under us */
        }
        return 0;
}

int copy_file_reflink_or_sparse(int src, int dst) {
        struct stat st;
        if (fstat(src, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        if (ftruncate(dst, 0) < 0)
                return -errno;
        if (ioctl(dst, FICLONE, src) >= 0)
                return 0;

        for (off_t pos = 0; pos < st.st_size;) {
                off_t data = lseek(src, pos, SEEK_DATA);
                if (data < 0) {
                        if (errno == ENXIO)
                                break; /* only a hole is left */
                        return -errno;
                }
                off_t hole = lseek(src, data, SEEK_HOLE);
                if (hole < 0)
                        return -errno;
                int r = copy_range(src, dst, data, hole);
                if (r < 0)
                        return r;
                pos = hole;
        }
        /* The size, including a trailing hole. */
        if (ftruncate(dst, st.st_size) < 0)
                return -errno;
        return 0;
}

int copy_file_anonymous(int src, const char *dir, int *ret_fd) {
        _cleanup_close_ int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
        if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR)) {
                char *name;
                if (asprintf(&name, "%s/.#berth-copy.XXXXXX", dir) < 0)
                        return -ENOMEM;
                fd = mkostemp(name, O_CLOEXEC);
                if (fd >= 0)
                        (void) unlink(name);
                free(name);
        }
        if (fd < 0)
                return -errno;
        int r = copy_file_reflink_or_sparse(src, fd);
        if (r < 0)
                return r;
        *ret_fd = TAKE_FD(fd);
        return 0;
}
