/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "copy-util.h"
#include "fd-util.h"
#include "image-ops.h"
#include "macro.h"
#include "name-util.h"
#include "rm-rf.h"
#include "strv.h"
#if HAVE_LIBMOUNT
#include "mount-util.h"
#endif

static bool path_under(const char *path, const char *prefix) {
        size_t n = strlen(prefix);
        return strncmp(path, prefix, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

/* -EBUSY while someone holds the image's lock. Directories are locked the same way (flock on the
 * directory) by whoever wants to keep them from changing under it. */
static int image_check_unlocked(const Image *i) {
        _cleanup_close_ int fd = open(i->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW);
        if (fd < 0)
                return errno == ENOENT ? -ENOENT : -errno;
        if (flock(fd, LOCK_EX | LOCK_NB) < 0)
                return errno == EWOULDBLOCK ? -EBUSY : -errno;
        return 0; /* the lock goes with fd */
}

int image_check_writable(const Image *i) {
        if (streq(i->name, ".host") || path_under(i->path, "/usr"))
                return -EROFS;
        int r = image_check_unlocked(i);
        if (r < 0)
                return r;
#if HAVE_LIBMOUNT
        if (i->type == IMAGE_DIRECTORY || i->type == IMAGE_SUBVOLUME) {
                r = path_has_mounts_below(i->path);
                if (r > 0)
                        return -EBUSY;
        }
#endif
        return 0;
}

int image_remove(const Image *i) {
        int r = image_check_writable(i);
        if (r < 0)
                return r;
        if (i->read_only)
                return -EROFS;
        if (i->type == IMAGE_BLOCK)
                return -EOPNOTSUPP; /* a device node is the host's, not the pool's */
        return rm_rf_at(AT_FDCWD, i->path);
}

static int pool_target(const char *pool, const char *name, bool raw, char **ret) {
        if (!machine_name_is_valid(name))
                return -EINVAL;
        _cleanup_free_ char *dir = strjoin(pool, "/", name), *file = strjoin(pool, "/", name, ".raw");
        if (!dir || !file)
                return -ENOMEM;
        struct stat st;
        if (lstat(dir, &st) >= 0 || lstat(file, &st) >= 0)
                return -EEXIST;
        *ret = raw ? TAKE_PTR(file) : TAKE_PTR(dir);
        return 0;
}

int image_rename(const Image *i, const char *pool, const char *new_name) {
        int r = image_check_writable(i);
        if (r < 0)
                return r;
        if (i->type == IMAGE_BLOCK)
                return -EOPNOTSUPP;
        _cleanup_free_ char *to = NULL;
        r = pool_target(pool, new_name, i->type == IMAGE_RAW, &to);
        if (r < 0)
                return r;
        /* NOREPLACE: a name taken between the check and now is not overwritten. */
        if (renameat2(AT_FDCWD, i->path, AT_FDCWD, to, RENAME_NOREPLACE) < 0)
                return -errno;
        return 0;
}

static int set_immutable(const char *path, bool on) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        unsigned attr;
        if (fd < 0)
                return -errno;
        if (ioctl(fd, FS_IOC_GETFLAGS, &attr) < 0)
                return errno == ENOTTY ? -EOPNOTSUPP : -errno;
        attr = on ? attr | FS_IMMUTABLE_FL : attr & ~FS_IMMUTABLE_FL;
        if (ioctl(fd, FS_IOC_SETFLAGS, &attr) < 0)
                return errno == ENOTTY ? -EOPNOTSUPP : -errno;
        return 0;
}

static int set_read_only_path(const char *path, ImageType type, bool read_only) {
        if (type == IMAGE_DIRECTORY || type == IMAGE_SUBVOLUME)
                return set_immutable(path, read_only);
        struct stat st;
        if (stat(path, &st) < 0)
                return -errno;
        mode_t mode = read_only ? st.st_mode & ~0222 : st.st_mode | 0200;
        return chmod(path, mode & 07777) < 0 ? -errno : 0;
}

int image_mark_read_only(const Image *i, bool read_only) {
        int r = image_check_writable(i);
        if (r < 0)
                return r;
        if (i->type == IMAGE_BLOCK)
                return -EOPNOTSUPP;
        return set_read_only_path(i->path, i->type, read_only);
}

static int copy_tree(const char *from, const char *to) {
        _cleanup_free_ char *src = strjoin(from, "/.");
        if (!src)
                return -ENOMEM;
        pid_t pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                int null = open("/dev/null", O_RDWR | O_CLOEXEC);
                if (null >= 0)
                        (void) dup2(null, STDOUT_FILENO);
                execlp("cp", "cp", "-a", "--reflink=auto", "--", src, to, (char *) NULL);
                _exit(127);
        }
        int status;
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

static int clone_raw(const Image *i, const char *tmp) {
        _cleanup_close_ int src = open(i->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (src < 0)
                return -errno;
        _cleanup_close_ int dst = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (dst < 0)
                return -errno;
        return copy_file_reflink_or_sparse(src, dst);
}

int image_clone(const Image *i, const char *pool, const char *new_name, bool read_only) {
        if (i->type == IMAGE_BLOCK)
                return -EOPNOTSUPP;
        _cleanup_free_ char *to = NULL, *tmp = NULL;
        bool raw = i->type == IMAGE_RAW;
        int r = pool_target(pool, new_name, raw, &to);
        if (r < 0)
                return r;
        /* Built under a hidden name, renamed when complete: the pool never shows half a copy. */
        if (asprintf(&tmp, "%s/.#clone-%s%s", pool, new_name, raw ? ".raw" : "") < 0)
                return -ENOMEM;
        (void) rm_rf_at(AT_FDCWD, tmp);
        if (raw)
                r = clone_raw(i, tmp);
        else
                r = mkdir(tmp, 0755) < 0 ? -errno : copy_tree(i->path, tmp);
        if (r >= 0 && read_only)
                r = set_read_only_path(tmp, i->type, true);
        if (r >= 0 && renameat2(AT_FDCWD, tmp, AT_FDCWD, to, RENAME_NOREPLACE) < 0)
                r = -errno;
        if (r < 0) {
                if (read_only && !raw)
                        (void) set_immutable(tmp, false);
                (void) rm_rf_at(AT_FDCWD, tmp);
        }
        return r;
}

int image_set_limit(const Image *i, uint64_t limit) {
        int r = image_check_writable(i);
        return r < 0 ? r : -EOPNOTSUPP;
}

int pool_set_limit(const char *pool, uint64_t limit) {
        return -EOPNOTSUPP;
}

void cleaned_images_free(CleanedImage *l, size_t n) {
        for (size_t i = 0; i < n; i++)
                free(l[i].name);
        free(l);
}

int pool_clean(const char *pool, bool all, CleanedImage **ret, size_t *ret_n) {
        Image **images = NULL;
        size_t n = 0, n_cleaned = 0;
        CleanedImage *cleaned = NULL;
        int r = image_discover(pool, &images, &n);
        if (r < 0)
                return r;
        for (size_t k = 0; k < n && r >= 0; k++) {
                Image *i = images[k];
                if (streq(i->name, ".host") || (!all && i->name[0] != '.'))
                        continue;
                if (image_remove(i) < 0)
                        continue; /* in use, read-only, a device: left alone */
                CleanedImage *l = realloc(cleaned, sizeof(CleanedImage) * (n_cleaned + 1));
                char *name = strdup(i->name);
                if (!l || !name) {
                        free(name);
                        if (l)
                                cleaned = l;
                        r = -ENOMEM;
                        break;
                }
                cleaned = l;
                cleaned[n_cleaned++] = (CleanedImage) { .name = name, .usage = i->usage };
        }
        images_free(images, n);
        if (r < 0) {
                cleaned_images_free(cleaned, n_cleaned);
                return r;
        }
        *ret = cleaned;
        *ret_n = n_cleaned;
        return 0;
}
