/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/blkpg.h>
#include <linux/fs.h>
#include <linux/loop.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "fd-util.h"
#include "loop-util.h"
#include "macro.h"

#ifndef LOOP_CONFIGURE
#define LOOP_CONFIGURE 0x4C0A
struct loop_config {
        __u32 fd;
        __u32 block_size;
        struct loop_info64 info;
        __u64 __reserved[8];
};
#endif

/* Another process may take the device LOOP_CTL_GET_FREE gave us before we configure it; each
 * attempt asks again. Bounded so that a kernel that keeps saying EBUSY cannot hang us. */
#define LOOP_ATTACH_ATTEMPTS 64

LoopDevice *loop_device_free(LoopDevice *d) {
        if (!d)
                return NULL;
        safe_close(d->fd);
        free(d->node);
        free(d);
        return NULL;
}

static int loop_configure_legacy(int loopfd, const struct loop_config *cfg) {
        if (ioctl(loopfd, LOOP_SET_FD, cfg->fd) < 0)
                return -errno;
        struct loop_info64 info = cfg->info;
        if (ioctl(loopfd, LOOP_SET_STATUS64, &info) < 0) {
                int r = -errno;
                (void) ioctl(loopfd, LOOP_CLR_FD);
                return r;
        }
        return 0;
}

/* One attempt on /dev/loopNR: 0 and the open device, -EBUSY when someone else got it first. */
static int loop_try_attach(int nr, struct loop_config *cfg, int *ret_loopfd) {
        char node[32];
        bool ro = cfg->info.lo_flags & LO_FLAGS_READ_ONLY;
        snprintf(node, sizeof(node), "/dev/loop%d", nr);
        _cleanup_close_ int loopfd = open(node, (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NONBLOCK);
        if (loopfd < 0)
                return errno == ENOENT || errno == ENXIO ? -EBUSY : -errno;

        int r = ioctl(loopfd, LOOP_CONFIGURE, cfg) < 0 ? -errno : 0;
        if (r == -EINVAL && (cfg->info.lo_flags & LO_FLAGS_DIRECT_IO)) {
                /* The backing file cannot do direct I/O (tmpfs, some FUSE): buffered it is. */
                cfg->info.lo_flags &= ~LO_FLAGS_DIRECT_IO;
                r = ioctl(loopfd, LOOP_CONFIGURE, cfg) < 0 ? -errno : 0;
        }
        if (r == -ENOTTY || r == -EINVAL)
                /* Before 5.8: the two-step way, which has a window where the device is bound
                 * but autoclear not yet set; a crash there leaves a device until reboot. */
                r = loop_configure_legacy(loopfd, cfg);
        if (r < 0)
                return r;
        *ret_loopfd = TAKE_FD(loopfd);
        return 0;
}

/* Attaches a free loop device over backing (bytes offset..offset+sizelimit, 0 = to the end). */
static int loop_attach(int backing, bool read_only, bool partscan, uint64_t offset, uint64_t sizelimit,
                       LoopDevice **ret) {
        _cleanup_close_ int control = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
        if (control < 0)
                return -errno;

        struct loop_config cfg = {
                .fd = backing,
                .info = {
                        .lo_offset = offset,
                        .lo_sizelimit = sizelimit,
                        .lo_flags = LO_FLAGS_AUTOCLEAR | LO_FLAGS_DIRECT_IO |
                                    (partscan ? LO_FLAGS_PARTSCAN : 0) |
                                    (read_only ? LO_FLAGS_READ_ONLY : 0),
                },
        };
        int loopfd = -EBADF, nr = -1, r = -EBUSY;
        for (int attempt = 0; attempt < LOOP_ATTACH_ATTEMPTS && r == -EBUSY; attempt++) {
                nr = ioctl(control, LOOP_CTL_GET_FREE);
                if (nr < 0)
                        return -errno;
                r = loop_try_attach(nr, &cfg, &loopfd);
        }
        if (r < 0)
                return r;

        _cleanup_close_ int fd = loopfd;
        _cleanup_loop_device_ LoopDevice *d = calloc(1, sizeof(*d));
        if (!d)
                return -ENOMEM;
        *d = (LoopDevice) { .fd = -EBADF, .nr = nr, .read_only = read_only, .partscan = partscan };
        struct stat st;
        if (fstat(fd, &st) < 0 || ioctl(fd, BLKGETSIZE64, &d->size) < 0)
                return -errno;
        d->devno = st.st_rdev;
        if (asprintf(&d->node, "/dev/loop%d", nr) < 0)
                return -ENOMEM;
        d->fd = TAKE_FD(fd);
        *ret = TAKE_PTR(d);
        return 0;
}

static int loop_device_from_block(int fd, bool read_only, LoopDevice **ret) {
        char buf[PROC_FD_PATH_MAX];
        _cleanup_close_ int dev = open(fd_proc_path(fd, buf), (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NONBLOCK);
        if (dev < 0)
                return -errno;
        struct stat st;
        if (fstat(dev, &st) < 0)
                return -errno;

        _cleanup_loop_device_ LoopDevice *d = calloc(1, sizeof(*d));
        if (!d)
                return -ENOMEM;
        /* Never BLKPG on a device we did not make: its partitions are the host's business. */
        *d = (LoopDevice) { .fd = -EBADF, .nr = -1, .devno = st.st_rdev, .read_only = read_only };
        if (ioctl(dev, BLKGETSIZE64, &d->size) < 0)
                return -errno;
        char link[64];
        snprintf(link, sizeof(link), "/sys/dev/block/%u:%u", major(st.st_rdev), minor(st.st_rdev));
        char target[PATH_MAX];
        ssize_t n = readlink(link, target, sizeof(target) - 1);
        if (n < 0)
                return -errno;
        target[n] = '\0';
        if (asprintf(&d->node, "/dev/%s", strrchr(target, '/') + 1) < 0)
                return -ENOMEM;
        d->fd = TAKE_FD(dev);
        *ret = TAKE_PTR(d);
        return 0;
}

int loop_device_make_fd(int fd, bool read_only, LoopDevice **ret) {
        struct stat st;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (S_ISDIR(st.st_mode))
                return -EISDIR;
        if (S_ISBLK(st.st_mode))
                return loop_device_from_block(fd, read_only, ret);
        if (!S_ISREG(st.st_mode))
                return -ENOTBLK;
        if (st.st_size < 512)
                return -EMSGSIZE; /* not even one sector: nothing to dissect */

        /* O_DIRECT on the backing file lets the loop device skip the page cache of the file;
         * file systems that refuse it get a buffered fd. */
        char buf[PROC_FD_PATH_MAX];
        int mode = (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC;
        _cleanup_close_ int backing = open(fd_proc_path(fd, buf), mode | O_DIRECT);
        if (backing < 0 && errno == EINVAL)
                backing = open(fd_proc_path(fd, buf), mode);
        if (backing < 0)
                return -errno;
        return loop_attach(backing, read_only, true, 0, 0, ret);
}

int loop_device_make_by_path(const char *path, bool read_only, LoopDevice **ret) {
        /* O_PATH first: a FIFO or a device with open side effects is never opened for I/O. */
        _cleanup_close_ int fd = open(path, O_PATH | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        return loop_device_make_fd(fd, read_only, ret);
}

static int read_sysfs_u64(const char *dir, const char *name, uint64_t *ret) {
        char path[PATH_MAX], buf[64];
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        int r = read_file_buffer(path, buf, sizeof(buf));
        if (r < 0)
                return r;
        char *end;
        errno = 0;
        unsigned long long v = strtoull(buf, &end, 10);
        if (errno != 0 || end == buf)
                return -EINVAL;
        *ret = v;
        return 0;
}

/* Opens the kernel's partition partno of d if it has one at start (sectors of 512 bytes in
 * sysfs) and size; -ENOENT when there is none, -EEXIST when there is another one there. */
static int open_kernel_partition(LoopDevice *d, int partno, uint64_t start, uint64_t size, int *ret_fd) {
        const char *base = strrchr(d->node, '/') + 1;
        char dir[256];
        /* The kernel names partitions of names ending in a digit NAMEpN, others NAMEN. */
        bool digit = base[strlen(base) - 1] >= '0' && base[strlen(base) - 1] <= '9';
        snprintf(dir, sizeof(dir), "/sys/dev/block/%u:%u/%s%s%d", major(d->devno), minor(d->devno),
                 base, digit ? "p" : "", partno);
        uint64_t s, n, dev_major, dev_minor;
        if (read_sysfs_u64(dir, "start", &s) < 0 || read_sysfs_u64(dir, "size", &n) < 0)
                return -ENOENT;
        if (s * 512 != start || n * 512 != size)
                return -EEXIST;

        char dev[sizeof(dir) + 8], buf[64];
        snprintf(dev, sizeof(dev), "%s/dev", dir);
        _cleanup_close_ int devfd = open(dev, O_RDONLY | O_CLOEXEC);
        ssize_t l = devfd < 0 ? -1 : read(devfd, buf, sizeof(buf) - 1);
        if (l < 0)
                return -errno;
        buf[l] = '\0';
        if (sscanf(buf, "%" SCNu64 ":%" SCNu64, &dev_major, &dev_minor) != 2)
                return -EINVAL;

        char node[sizeof(dir)];
        snprintf(node, sizeof(node), "/dev/%s%s%d", base, digit ? "p" : "", partno);
        int fd = open(node, (d->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0)
                return -errno;
        struct stat st;
        /* A stale or planted node under /dev must not stand in for the partition. */
        if (fstat(fd, &st) < 0 || !S_ISBLK(st.st_mode) || st.st_rdev != makedev(dev_major, dev_minor)) {
                safe_close(fd);
                return -ENODEV;
        }
        *ret_fd = fd;
        return 0;
}

int loop_device_open_partition(LoopDevice *d, int partno, uint64_t start, uint64_t size, int *ret_fd) {
        if (partno <= 0 || size == 0 || start + size > d->size || start + size < start)
                return -ERANGE;

        int r = open_kernel_partition(d, partno, start, size, ret_fd);
        if (r != -ENOENT || !d->partscan) {
                if (r != -ENOENT && r != -EEXIST)
                        return r;
        } else {
                /* Kernels built without partition-table parsers scan nothing: add it ourselves. */
                struct blkpg_partition part = { .start = (long long) start, .length = (long long) size, .pno = partno };
                struct blkpg_ioctl_arg arg = { .op = BLKPG_ADD_PARTITION, .datalen = sizeof(part), .data = &part };
                if (ioctl(d->fd, BLKPG, &arg) >= 0 || errno == EBUSY) /* EBUSY: someone was faster */
                        r = open_kernel_partition(d, partno, start, size, ret_fd);
                if (r >= 0)
                        return r;
        }

        /* No usable kernel partition: a loop device of its own over that range of d. */
        _cleanup_loop_device_ LoopDevice *p = NULL;
        r = loop_attach(d->fd, d->read_only, false, start, size, &p);
        if (r < 0)
                return r;
        *ret_fd = TAKE_FD(p->fd);
        return 0;
}

int image_lock(const char *path, bool exclusive, int *ret_fd) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return -errno;
        if (flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) < 0)
                return errno == EWOULDBLOCK ? -EBUSY : -errno;
        *ret_fd = TAKE_FD(fd);
        return 0;
}
