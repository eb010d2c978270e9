/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image-ops.h"
#include "rm-rf.h"
#include "strv.h"
#include "tap.h"

static char pool[] = "/var/tmp/berth-test-pool-XXXXXX";

static void write_at(const char *rel, const char *data) {
        char p[256];
        snprintf(p, sizeof(p), "%s/%s", pool, rel);
        int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        CHECK(fd >= 0 && write(fd, data, strlen(data)) == (ssize_t) strlen(data));
        close(fd);
}

static bool exists(const char *rel) {
        char p[256];
        struct stat st;
        snprintf(p, sizeof(p), "%s/%s", pool, rel);
        return lstat(p, &st) == 0;
}

static Image *find(const char *name) {
        Image *i = NULL;
        return image_find(pool, name, &i) >= 0 ? i : NULL;
}

int main(void) {
        CHECK(mkdtemp(pool) != NULL);
        write_at("disk.raw", "raw image bytes");
        char p[256];
        snprintf(p, sizeof(p), "%s/tree", pool);
        CHECK(mkdir(p, 0755) == 0);
        write_at("tree/file", "in the tree");

        Image *i = find("disk");
        CHECK(i && image_clone(i, pool, "disk2", false) == 0 && exists("disk2.raw"));
        CHECK(image_clone(i, pool, "disk2", false) == -EEXIST);
        CHECK(image_clone(i, pool, "tree", false) == -EEXIST); /* a directory has the name */
        CHECK(image_clone(i, pool, "../x", false) == -EINVAL);
        image_free(i);

        i = find("tree");
        CHECK(i && image_clone(i, pool, "tree2", false) == 0 && exists("tree2/file"));
        CHECK(image_rename(i, pool, "tree3") == 0 && exists("tree3/file") && !exists("tree"));
        image_free(i);

        /* A lock holder (a running machine) makes the image busy. */
        i = find("disk2");
        snprintf(p, sizeof(p), "%s/disk2.raw", pool);
        int lock = open(p, O_RDONLY | O_CLOEXEC);
        CHECK(flock(lock, LOCK_SH) == 0);
        CHECK(image_remove(i) == -EBUSY && image_rename(i, pool, "x") == -EBUSY && image_mark_read_only(i, true) == -EBUSY);
        close(lock);
        CHECK(image_mark_read_only(i, true) == 0);
        image_free(i);
        i = find("disk2");
        CHECK(i && i->read_only && image_remove(i) == -EROFS);
        CHECK(image_mark_read_only(i, false) == 0);
        image_free(i);
        i = find("disk2");
        CHECK(i && !i->read_only && image_remove(i) == 0 && !exists("disk2.raw"));
        image_free(i);

        /* Vendor images under /usr are not the pool's to change. */
        Image vendor = { .name = (char *) "vendor", .path = (char *) "/usr/lib/machines/vendor", .type = IMAGE_DIRECTORY };
        CHECK(image_check_writable(&vendor) == -EROFS && image_remove(&vendor) == -EROFS);
        CHECK(image_rename(&vendor, pool, "v2") == -EROFS && image_mark_read_only(&vendor, true) == -EROFS);

        i = find(".host");
        CHECK(i && image_remove(i) == -EROFS && image_rename(i, pool, "h") == -EROFS);
        CHECK(image_set_limit(i, 1) == -EROFS && pool_set_limit(pool, 1) == -EOPNOTSUPP);
        image_free(i);

        /* clean: hidden ones only, then all. */
        snprintf(p, sizeof(p), "%s/.hidden", pool);
        CHECK(mkdir(p, 0755) == 0);
        CleanedImage *c = NULL;
        size_t n = 0;
        CHECK(pool_clean(pool, false, &c, &n) == 0 && n == 1 && strcmp(c[0].name, ".hidden") == 0);
        cleaned_images_free(c, n);
        CHECK(exists("tree3") && !exists(".hidden"));
        CHECK(pool_clean(pool, true, &c, &n) == 0 && n == 3);
        cleaned_images_free(c, n);
        CHECK(!exists("tree3") && !exists("tree2") && !exists("disk.raw"));

        CHECK(rm_rf_at(AT_FDCWD, pool) == 0);
        return tap_finish();
}
