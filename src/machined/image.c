/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "env-file.h"
#include "fd-util.h"
#include "image-metadata.h"
#include "image.h"
#include "machine.h"
#include "macro.h"
#include "name-util.h"
#include "os-release.h"
#include "string-table.h"
#include "strv.h"

#define SMALL_FILE_MAX (64 * 1024)

static const char *const image_type_table[_IMAGE_TYPE_MAX] = {
        [IMAGE_DIRECTORY] = "directory",
        [IMAGE_SUBVOLUME] = "subvolume",
        [IMAGE_RAW] = "raw",
        [IMAGE_BLOCK] = "block",
};

DEFINE_STRING_TABLE_LOOKUP(image_type, ImageType)

/* Image names are file names in the pool, not host names: '_' and a leading '-' stay allowed, as
 * in systemd's image_name_is_valid(); a machine started from such an image needs -M NAME. */
bool image_name_is_valid(const char *s) {
        if (!s)
                return false;
        if (streq(s, ".host"))
                return true;
        if (s[0] == '.')
                s++;
        if (isempty(s) || strlen(s) > MACHINE_NAME_MAX || s[0] == '.' || strstr(s, ".."))
                return false;
        for (const char *p = s; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                      strchr("._-", *p)))
                        return false;
        return true;
}

Image *image_free(Image *i) {
        if (!i)
                return NULL;
        free(i->name);
        free(i->path);
        free(i);
        return NULL;
}

void images_free(Image **l, size_t n) {
        for (size_t i = 0; i < n; i++)
                image_free(l[i]);
        free(l);
}

char *image_bus_path(const char *name) {
        _cleanup_free_ char *e = bus_label_escape(name);
        if (!e)
                return NULL;
        return strjoin("/org/freedesktop/machine1/image/", e);
}

static uint64_t timespec_usec(const struct statx_timestamp *t) {
        return (uint64_t) t->tv_sec * 1000000ULL + t->tv_nsec / 1000;
}

/* Builds an Image for entry (a name in the pool, or "/" for .host). The entry is not followed if it
 * is a symlink to something odd: only directories, regular *.raw files and block devices count. */
static int image_make(int dirfd, const char *entry, const char *name, const char *path, Image **ret) {
        struct statx sx;
        ImageType type;

        if (statx(dirfd, entry, AT_SYMLINK_NOFOLLOW, STATX_TYPE | STATX_MODE | STATX_INO | STATX_MTIME | STATX_BTIME | STATX_BLOCKS, &sx) < 0)
                return negative_errno();
        if (S_ISDIR(sx.stx_mode)) {
                struct statfs sfs;
                _cleanup_close_ int fd = openat(dirfd, entry, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
                if (fd < 0)
                        return negative_errno();
                /* A btrfs subvolume's root directory always has inode 256. */
                type = fstatfs(fd, &sfs) >= 0 && (unsigned long) sfs.f_type == (unsigned long) BTRFS_SUPER_MAGIC && sx.stx_ino == 256
                               ? IMAGE_SUBVOLUME
                               : IMAGE_DIRECTORY;
        } else if (S_ISREG(sx.stx_mode))
                type = IMAGE_RAW;
        else if (S_ISBLK(sx.stx_mode))
                type = IMAGE_BLOCK;
        else
                return -ENOENT;

        Image *i = calloc(1, sizeof(Image));
        if (!i)
                return -ENOMEM;
        *i = (Image) {
                .name = strdup(name),
                .path = strdup(path),
                .type = type,
                .crtime = (sx.stx_mask & STATX_BTIME) ? timespec_usec(&sx.stx_btime) : 0,
                .mtime = timespec_usec(&sx.stx_mtime),
                .usage = type == IMAGE_RAW ? (uint64_t) sx.stx_blocks * 512 : UINT64_MAX,
                .usage_exclusive = type == IMAGE_RAW ? (uint64_t) sx.stx_blocks * 512 : UINT64_MAX,
                .limit = UINT64_MAX,
                .limit_exclusive = UINT64_MAX,
        };
        if (!i->name || !i->path) {
                image_free(i);
                return -ENOMEM;
        }

        struct statvfs vfs;
        bool ro_fs = statvfs(path, &vfs) >= 0 && (vfs.f_flag & ST_RDONLY);
        if (type == IMAGE_DIRECTORY || type == IMAGE_SUBVOLUME) {
                _cleanup_close_ int fd = openat(dirfd, entry, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
                unsigned attr = 0;
                /* chattr +i is how systemd marks directory images read-only. */
                if (fd >= 0 && ioctl(fd, FS_IOC_GETFLAGS, &attr) >= 0 && (attr & FS_IMMUTABLE_FL))
                        ro_fs = true;
        } else if (!(sx.stx_mode & 0222))
                ro_fs = true;
        i->read_only = ro_fs;
        *ret = i;
        return 0;
}

static int raw_name(const char *entry, char **ret) {
        size_t l = strlen(entry);
        if (l <= 4 || !streq(entry + l - 4, ".raw"))
                return -EINVAL;
        *ret = strndup(entry, l - 4);
        return *ret ? 0 : -ENOMEM;
}

int image_find(const char *pool, const char *name, Image **ret) {
        if (!image_name_is_valid(name))
                return -EINVAL;
        if (streq(name, ".host"))
                return image_make(AT_FDCWD, "/", ".host", "/", ret);

        _cleanup_close_ int dfd = open(pool, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return errno == ENOENT ? -ENOENT : negative_errno();
        _cleanup_free_ char *path = strjoin(pool, "/", name);
        if (!path)
                return -ENOMEM;
        int r = image_make(dfd, name, name, path, ret);
        if (r >= 0) {
                if ((*ret)->type == IMAGE_RAW) {
                        /* A raw image is only an image under its .raw name. */
                        image_free(*ret);
                        r = -ENOENT;
                } else
                        return r;
        }
        if (r != -ENOENT)
                return r;
        _cleanup_free_ char *raw = strjoin(name, ".raw"), *rpath = strjoin(pool, "/", name, ".raw");
        if (!raw || !rpath)
                return -ENOMEM;
        r = image_make(dfd, raw, name, rpath, ret);
        if (r >= 0 && (*ret)->type != IMAGE_RAW) {
                *ret = image_free(*ret);
                return -ENOENT;
        }
        return r;
}

int image_discover(const char *pool, Image ***ret, size_t *ret_n) {
        Image **l = NULL, *host = NULL;
        size_t n = 0;
        int r;

        r = image_make(AT_FDCWD, "/", ".host", "/", &host);
        if (r < 0)
                return r;
        l = calloc(1, sizeof(Image *));
        if (!l) {
                image_free(host);
                return -ENOMEM;
        }
        l[n++] = host;

        DIR *d = opendir(pool);
        if (!d) {
                if (errno != ENOENT) {
                        r = negative_errno();
                        images_free(l, n);
                        return r;
                }
                *ret = l;
                *ret_n = n;
                return 0;
        }
        for (struct dirent *de; (de = readdir(d));) {
                _cleanup_free_ char *name = NULL, *path = NULL;
                Image *i = NULL;
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if (raw_name(de->d_name, &name) < 0) {
                        name = strdup(de->d_name);
                        if (!name)
                                break;
                }
                if (!image_name_is_valid(name) || streq(name, ".host"))
                        continue;
                path = strjoin(pool, "/", de->d_name);
                if (!path || image_make(dirfd(d), de->d_name, name, path, &i) < 0)
                        continue;
                /* "foo" as a directory and "foo.raw" both claim the name; the directory wins. */
                bool dup = false;
                for (size_t k = 0; k < n; k++)
                        dup = dup || streq(l[k]->name, i->name);
                bool name_matches_type = (i->type == IMAGE_RAW) == !streq(name, de->d_name);
                if (dup || !name_matches_type) {
                        image_free(i);
                        continue;
                }
                Image **nl = realloc(l, sizeof(Image *) * (n + 1));
                if (!nl) {
                        image_free(i);
                        break;
                }
                l = nl;
                l[n++] = i;
        }
        closedir(d);
        *ret = l;
        *ret_n = n;
        return 0;
}

static int image_open_root(const Image *i) {
        if (i->type != IMAGE_DIRECTORY && i->type != IMAGE_SUBVOLUME)
                return -EOPNOTSUPP;
        int fd = open(i->path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        return fd >= 0 ? fd : negative_errno();
}

#if HAVE_BLKID
/* Disk images: a child mounts the image read-only in its own mount namespace (image-metadata.c)
 * and sends the file back; -ENOENT when the image has none. */
static int read_from_disk_image(const Image *i, ImageMetadataFile f, char **ret) {
        ImageMetadata m = {};
        int r = image_metadata_read(i->path, &m);
        if (r < 0)
                return r;
        char *data = TAKE_PTR(m.files[f]);
        image_metadata_done(&m);
        if (!data)
                return -ENOENT;
        *ret = data;
        return 0;
}
#endif

/* The image is untrusted content: resolve inside it, regular files only, bounded. */
static int read_small_in_image(const Image *i, const char *path, ImageMetadataFile f, char **ret) {
#if HAVE_BLKID
        if (i->type == IMAGE_RAW || i->type == IMAGE_BLOCK)
                return read_from_disk_image(i, f, ret);
#endif
        _cleanup_close_ int root = image_open_root(i);
        if (root < 0)
                return root;
        _cleanup_close_ int fd = open_regular_in_root(root, path, SMALL_FILE_MAX);
        if (fd < 0)
                return fd;
        return read_full_fd(fd, SMALL_FILE_MAX, ret, NULL);
}

static int parse_env_text(char *s, char ***ret) {
        FILE *f = fmemopen(s, strlen(s), "r");
        if (!f)
                return -ENOMEM;
        int r = env_file_parse(f, ret);
        fclose(f);
        return r;
}

int image_read_os_release(const Image *i, char ***ret) {
#if HAVE_BLKID
        if (i->type == IMAGE_RAW || i->type == IMAGE_BLOCK) {
                _cleanup_free_ char *s = NULL;
                int r = read_from_disk_image(i, IMAGE_METADATA_OS_RELEASE, &s);
                return r < 0 ? r : parse_env_text(s, ret);
        }
#endif
        _cleanup_close_ int root = image_open_root(i);
        if (root < 0)
                return root;
        return os_release_parse(root, ret);
}

int image_read_hostname(const Image *i, char **ret) {
        _cleanup_free_ char *s = NULL;
        int r = read_small_in_image(i, "/etc/hostname", IMAGE_METADATA_HOSTNAME, &s);
        if (r == -ENOENT) {
                *ret = strdup("");
                return *ret ? 0 : -ENOMEM;
        }
        if (r < 0)
                return r;
        s[strcspn(s, "\r\n")] = 0;
        *ret = TAKE_PTR(s);
        return 0;
}

int image_read_machine_id(const Image *i, Id128 *ret) {
        _cleanup_free_ char *s = NULL;
        int r = read_small_in_image(i, "/etc/machine-id", IMAGE_METADATA_MACHINE_ID, &s);
        if (r == -ENOENT) {
                *ret = (Id128) {};
                return 0;
        }
        if (r < 0)
                return r;
        s[strcspn(s, "\r\n")] = 0;
        if (id128_from_string(s, ret) < 0)
                *ret = (Id128) {};
        return 0;
}

int image_read_machine_info(const Image *i, char ***ret) {
        _cleanup_free_ char *s = NULL;
        int r = read_small_in_image(i, "/etc/machine-info", IMAGE_METADATA_MACHINE_INFO, &s);
        if (r == -ENOENT) {
                *ret = calloc(1, sizeof(char *));
                return *ret ? 0 : -ENOMEM;
        }
        if (r < 0)
                return r;
        return parse_env_text(s, ret);
}
