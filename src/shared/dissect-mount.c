/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dissect-image.h"
#include "fd-util.h"

int dissected_image_acquire(DissectedImage *m, LoopDevice *d) {
        for (PartitionDesignator i = 0; i < _PARTITION_DESIGNATOR_MAX; i++) {
                DissectedPartition *p = &m->partitions[i];
                if (!p->found || p->fd >= 0 || i == PARTITION_ROOT_VERITY || i == PARTITION_USR_VERITY)
                        continue;
                if (p->partno == 0) {
                        /* A bare file system: the whole device is it. */
                        p->fd = fcntl(d->fd, F_DUPFD_CLOEXEC, 3);
                        if (p->fd < 0)
                                return -errno;
                        continue;
                }
                int r = loop_device_open_partition(d, p->partno, p->start, p->size, &p->fd);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Journaling file systems replay their journal on mount, which writes even to a read-only
 * mount (and fails on a read-only device): the option that skips the replay. */
static const char *read_only_options(const char *fstype) {
        if (streq(fstype, "ext3") || streq(fstype, "ext4") || streq(fstype, "xfs"))
                return "norecovery";
        if (streq(fstype, "btrfs"))
                return "rescue=nologreplay";
        return NULL;
}

static bool fstype_always_read_only(const char *fstype) {
        return streq(fstype, "squashfs") || streq(fstype, "erofs") || streq(fstype, "iso9660");
}

/* ext2/3/4 record in the superblock whether they were cleanly unmounted and whether errors were
 * found; a clean one is what e2fsck -p would leave alone (mke2fs disables the mount-count and
 * interval checks), so we skip its fork and exec, which cost more than the rest of the start. */
static bool ext_clean(int fd) {
        unsigned char sb[0x64];
        if (pread(fd, sb, sizeof(sb), 1024) != (ssize_t) sizeof(sb))
                return false;
        unsigned state = sb[0x3a] | sb[0x3b] << 8;
        unsigned max_mounts = sb[0x36] | sb[0x37] << 8, mounts = sb[0x34] | sb[0x35] << 8;
        bool counted = max_mounts != 0 && max_mounts != 0xffff && mounts >= max_mounts;
        /* 1: valid (cleanly unmounted), 2: errors were detected. */
        return (state & 3) == 1 && !counted;
}

/* Starts the checker for p, if one is installed for its type: the pid, or 0 when there is none. */
static pid_t fsck_start(DissectedPartition *p) {
        if ((streq(p->fstype, "ext2") || streq(p->fstype, "ext3") || streq(p->fstype, "ext4")) && ext_clean(p->fd))
                return 0;
        char checker[64];
        snprintf(checker, sizeof(checker), "/sbin/fsck.%s", p->fstype);
        if (access(checker, X_OK) < 0)
                return 0; /* no checker installed for this type: mount unchecked, as nspawn does */

        pid_t pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                char dev[PROC_FD_PATH_MAX];
                int null = open("/dev/null", O_RDWR | O_CLOEXEC);
                if (null >= 0) {
                        (void) dup2(null, STDIN_FILENO);
                        (void) dup2(null, STDOUT_FILENO);
                }
                /* Our fds are O_CLOEXEC: the checker gets a copy that survives the exec. */
                int fd = dup(p->fd);
                if (fd < 0)
                        _exit(8);
                /* -p: repair what is safe to repair without asking, fail on the rest. */
                execl(checker, checker, "-p", fd_proc_path(fd, dev), (char *) NULL);
                _exit(8);
        }
        return pid;
}

static int fsck_wait(pid_t pid) {
        int status;
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        /* 1: errors corrected, 2: "reboot" (meaningless for a file system nobody has mounted). */
        if (!WIFEXITED(status) || WEXITSTATUS(status) > 2)
                return -EUCLEAN;
        return 0;
}

int dissected_image_fsck(DissectedImage *m, bool read_only) {
        if (read_only)
                return 0;
        /* The partitions are independent: check them all at once. */
        pid_t pids[_PARTITION_DESIGNATOR_MAX] = {};
        int r = 0;
        for (PartitionDesignator i = 0; i < _PARTITION_DESIGNATOR_MAX && r >= 0; i++) {
                DissectedPartition *p = &m->partitions[i];
                if (!p->found || p->fd < 0 || !p->rw || !p->fstype || fstype_always_read_only(p->fstype))
                        continue;
                pids[i] = fsck_start(p);
                if (pids[i] < 0) {
                        r = pids[i];
                        pids[i] = 0;
                }
        }
        for (size_t i = 0; i < _PARTITION_DESIGNATOR_MAX; i++)
                if (pids[i] > 0) {
                        int k = fsck_wait(pids[i]);
                        if (r >= 0)
                                r = k;
                }
        return r;
}

static int mount_partition(DissectedPartition *p, int target_fd, bool read_only) {
        char src[PROC_FD_PATH_MAX], dst[PROC_FD_PATH_MAX];
        bool ro = read_only || !p->rw || fstype_always_read_only(p->fstype);
        const char *opts = ro ? read_only_options(p->fstype) : NULL;
        unsigned long flags = MS_NODEV | (ro ? MS_RDONLY : 0);
        if (mount(fd_proc_path(p->fd, src), fd_proc_path(target_fd, dst), p->fstype, flags, opts) < 0)
                return -errno;
        return 0;
}

/* Where each kind goes, in mount order: a parent before what is mounted below it. */
static const struct {
        PartitionDesignator designator;
        const char *path;
} mount_order[] = {
        { PARTITION_USR, "/usr" },
        { PARTITION_VAR, "/var" },
        { PARTITION_HOME, "/home" },
        { PARTITION_SRV, "/srv" },
        { PARTITION_TMP, "/var/tmp" },
        { PARTITION_XBOOTLDR, "/boot" },
        { PARTITION_ESP, "/efi" },
};

int dissected_image_mount(DissectedImage *m, const char *where, DissectMountFlags flags) {
        bool ro = flags & DISSECT_MOUNT_READ_ONLY;
        _cleanup_close_ int wherefd = open(where, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (wherefd < 0)
                return -errno;

        int r;
        DissectedPartition *root = &m->partitions[PARTITION_ROOT];
        if (root->found)
                r = mount_partition(root, wherefd, ro);
        else {
                /* Only /usr: the rest of the tree is assembled at runtime, in memory. */
                char dst[PROC_FD_PATH_MAX];
                r = mount("tmpfs", fd_proc_path(wherefd, dst), "tmpfs", MS_NODEV | MS_NOSUID, "mode=0755") < 0
                            ? -errno : 0;
        }
        if (r < 0)
                return r;
        /* Reopen: the fd we have is of the directory below the mount. */
        _cleanup_close_ int rootfd = open(where, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0)
                return -errno;

        for (size_t i = 0; i < ELEMENTSOF(mount_order); i++) {
                DissectedPartition *p = &m->partitions[mount_order[i].designator];
                if (!p->found || p->fd < 0)
                        continue;
                /* The tree is untrusted: the mount point is resolved inside it. A missing one is
                 * created where the tree is writable and skipped where it is not. */
                _cleanup_close_ int target = mount_point_in_root(rootfd, mount_order[i].path, true, 0755);
                if (target == -EROFS || target == -ENOENT)
                        continue;
                if (target < 0)
                        return target;
                struct stat st;
                if (fstat(target, &st) < 0)
                        return -errno;
                if (!S_ISDIR(st.st_mode))
                        return -ENOTDIR;
                r = mount_partition(p, target, ro);
                if (r < 0)
                        return r;
        }
        return 0;
}
