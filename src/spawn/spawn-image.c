/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "copy-util.h"
#include "dissect-image.h"
#include "log.h"
#include "loop-util.h"
#include "spawn-image.h"
#include "spawn-options.h"
#include "spawn-stage.h"

/* One line naming the cause: what dissection found wrong, else the errno text. */
static int log_image_error(const SpawnOptions *o, SpawnResolved *res, int r, const char *what) {
        const char *cause = dissect_error_cause(r);
        if (cause)
                return log_error_errno(r, "Image %s: %s.", res->image, cause);
        return log_error_errno(r, "Image %s: failed to %s: %m", res->image, what);
}

static void log_image_notes(const SpawnOptions *o, SpawnResolved *res, const DissectedImage *m) {
        if (m->partitions[PARTITION_ROOT_VERITY].found || m->partitions[PARTITION_USR_VERITY].found)
                log_notice("Image %s has a verity partition: present but not verified.", res->image);
        if (m->n_no_auto > 0)
                log_debug("Image %s: %u partition(s) flagged no-auto left unmounted.", res->image, m->n_no_auto);
}

static int default_machine_name(const SpawnOptions *o, SpawnResolved *res) {
        if (o->machine || res->machine)
                return 0;
        const char *base = strrchr(res->image, '/');
        base = base ? base + 1 : res->image;
        size_t n = strlen(base);
        if (n > 4 && streq(base + n - 4, ".raw"))
                n -= 4;
        res->machine = strndup(base, n);
        return res->machine ? 0 : log_oom();
}

static int image_mount(const SpawnOptions *o, SpawnResolved *res, DissectedImage *m, char **ret_where) {
        _cleanup_free_ char *where = NULL;
        int r = spawn_stage_mkdir("image", &where);
        if (r < 0)
                return r;
        r = dissected_image_mount(m, where, res->image_read_only ? DISSECT_MOUNT_READ_ONLY : 0);
        if (r < 0)
                return log_image_error(o, res, r, "mount its file systems");
        *ret_where = TAKE_PTR(where);
        return 0;
}

/* -x: an unnamed copy next to the image (reflinked where the file system can), else in
 * /var/tmp; it is gone with the loop device, whoever dies. */
static int image_copy(const SpawnOptions *o, SpawnResolved *res, int *ret_fd) {
        struct stat st;
        if (fstat(res->image_lock_fd, &st) < 0)
                return log_error_errno(errno, "Image %s: %m", res->image);
        if (!S_ISREG(st.st_mode))
                return log_error_errno(EINVAL, "Image %s: -x/--ephemeral needs an image file, not a device.", res->image);
        _cleanup_free_ char *dir = strdup(res->image);
        if (!dir)
                return log_oom();
        char *slash = strrchr(dir, '/');
        const char *parent = !slash ? "." : slash == dir ? "/" : (*slash = '\0', dir);
        int r = copy_file_anonymous(res->image_lock_fd, parent, ret_fd);
        if (r < 0 && r != -ENOSPC)
                r = copy_file_anonymous(res->image_lock_fd, "/var/tmp", ret_fd);
        if (r < 0)
                return log_error_errno(r, "Failed to copy image %s for -x/--ephemeral: %m", res->image);
        return 0;
}

static int image_attach(const SpawnOptions *o, SpawnResolved *res, LoopDevice **ret) {
        int r;
        if (!o->ephemeral)
                r = loop_device_make_by_path(res->image, res->image_read_only, ret);
        else {
                _cleanup_close_ int copy = -EBADF;
                r = image_copy(o, res, &copy);
                if (r < 0)
                        return r;
                r = loop_device_make_fd(copy, res->image_read_only, ret);
        }
        if (r < 0)
                return log_image_error(o, res, r, "attach a loop device");
        return 0;
}

int spawn_image_setup(const SpawnOptions *o, SpawnResolved *res) {
        int r = default_machine_name(o, res);
        if (r < 0)
                return r;

        /* As nspawn: an image marked read-only (no write bits, which root would ignore, as
         * machinectl read-only sets them) runs read-only. */
        res->image_read_only = o->read_only;
        struct stat st;
        if (!res->image_read_only && !o->ephemeral && stat(res->image, &st) >= 0 && S_ISREG(st.st_mode) && !(st.st_mode & 0222)) {
                log_debug("Image %s is marked read-only; mounting it read-only.", res->image);
                res->image_read_only = true;
        }

        /* The lock first: a second writer must fail before it touches anything. -x only reads. */
        r = image_lock(res->image, !res->image_read_only && !o->ephemeral, &res->image_lock_fd);
        if (r == -EBUSY)
                return log_image_error(o, res, r, "lock it");
        if (r < 0)
                return log_error_errno(r, "Failed to open image %s: %m", res->image);

        _cleanup_loop_device_ LoopDevice *d = NULL;
        r = image_attach(o, res, &d);
        if (r < 0)
                return r;

        _cleanup_dissected_image_ DissectedImage *m = NULL;
        /* The table is read from the file itself, through the page cache: the loop device
         * does direct I/O, which makes each of libblkid's small reads a trip to the disk. */
        r = dissect_image_fd(res->image_lock_fd, d->size, &m);
        if (r < 0)
                return log_image_error(o, res, r, "dissect it");
        log_image_notes(o, res, m);

        r = dissected_image_acquire(m, d);
        if (r < 0)
                return log_image_error(o, res, r, "open its partitions");
        r = dissected_image_fsck(m, res->image_read_only);
        if (r == -EUCLEAN)
                return log_error_errno(r, "Image %s: file system check failed; repair it or use --read-only.", res->image);
        if (r < 0)
                return log_image_error(o, res, r, "check its file systems");

        /* From here only the mounts hold the devices: the fds close with d and m. */
        free(res->directory);
        res->directory = NULL;
        return image_mount(o, res, m, &res->directory);
}
