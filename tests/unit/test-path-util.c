/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"
#include "path-util.h"
#include "strv.h"
#include "tap.h"

static int collect(const char *prefix, void *userdata) {
        return strv_extend(userdata, prefix);
}

static int fail_at_b(const char *prefix, void *userdata) {
        return streq(prefix, "/a/b") ? -EIO : collect(prefix, userdata);
}

static void test_path_for_each_prefix(void) {
        char **l = NULL;

        CHECK(path_for_each_prefix("/a/b/c", collect, &l) == 0);
        CHECK(strv_length(l) == 3);
        CHECK_STREQ(l[0], "/a");
        CHECK_STREQ(l[1], "/a/b");
        CHECK_STREQ(l[2], "/a/b/c");
        l = strv_free(l);

        CHECK(path_for_each_prefix("//a//b/", collect, &l) == 0);
        CHECK(strv_length(l) == 2);
        CHECK_STREQ(l[0], "//a");
        CHECK_STREQ(l[1], "//a//b");
        l = strv_free(l);

        CHECK(path_for_each_prefix("a/b", collect, &l) == 0);
        CHECK(strv_length(l) == 2);
        CHECK_STREQ(l[0], "a");
        CHECK_STREQ(l[1], "a/b");
        l = strv_free(l);

        CHECK(path_for_each_prefix("/", collect, &l) == 0);
        CHECK(strv_length(l) == 0);
        CHECK(path_for_each_prefix("", collect, &l) == -EINVAL);
        CHECK(path_for_each_prefix(NULL, collect, &l) == -EINVAL);

        /* The first error stops the walk. */
        CHECK(path_for_each_prefix("/a/b/c", fail_at_b, &l) == -EIO);
        CHECK(strv_length(l) == 1);
        l = strv_free(l);
}

static bool is_dir(const char *path) {
        struct stat st;
        return lstat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static void test_mkdir_p(const char *dir) {
        char p[512];

        snprintf(p, sizeof(p), "%s/x/y/z", dir);
        CHECK(mkdir_p(p, 0755) == 0);
        CHECK(is_dir(p));
        CHECK(mkdir_p(p, 0755) == 0); /* existing: fine */
        snprintf(p, sizeof(p), "%s/x/y//w/", dir);
        CHECK(mkdir_p(p, 0755) == 0);
        snprintf(p, sizeof(p), "%s/x/y/w", dir);
        CHECK(is_dir(p));

        /* A file in the way is an error, not silently skipped. */
        snprintf(p, sizeof(p), "%s/file", dir);
        int fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        CHECK(fd >= 0);
        safe_close(fd);
        snprintf(p, sizeof(p), "%s/file/sub", dir);
        CHECK(mkdir_p(p, 0755) == -ENOTDIR);
}

static void make_file(const char *dir, const char *name, mode_t mode) {
        char p[512];
        snprintf(p, sizeof(p), "%s/%s", dir, name);
        int fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, mode);
        CHECK(fd >= 0);
        safe_close(fd);
        CHECK(chmod(p, mode) == 0);
}

static char *freed(char *p) {
        free(p);
        return NULL;
}

static void test_find_executable(const char *dir) {
        char bin1[512], bin2[512], search[2048], want[600];
        _cleanup_free_ char *found = NULL;

        snprintf(bin1, sizeof(bin1), "%s/bin1", dir);
        snprintf(bin2, sizeof(bin2), "%s/bin2", dir);
        CHECK(mkdir(bin1, 0755) == 0 && mkdir(bin2, 0755) == 0);
        make_file(bin1, "tool", 0644);   /* not executable: skipped */
        make_file(bin2, "tool", 0755);
        make_file(bin1, "first", 0755);
        make_file(bin2, "first", 0755);
        snprintf(want, sizeof(want), "%s/adir", bin1);
        CHECK(mkdir(want, 0755) == 0);

        snprintf(search, sizeof(search), "relative/dir::%s:%s", bin1, bin2);
        CHECK(find_executable("tool", search, &found) == 0);
        snprintf(want, sizeof(want), "%s/tool", bin2);
        CHECK_STREQ(found, want);
        found = freed(found);

        CHECK(find_executable("first", search, &found) == 0);
        snprintf(want, sizeof(want), "%s/first", bin1);
        CHECK_STREQ(found, want);
        found = freed(found);

        CHECK(find_executable("adir", search, &found) == -ENOENT);
        CHECK(find_executable("missing", search, &found) == -ENOENT);
        CHECK(find_executable("", search, &found) == -EINVAL);

        /* With a slash: taken as it is, whatever PATH says. */
        CHECK(find_executable(want, "/nonexistent", &found) == 0);
        CHECK_STREQ(found, want);
        found = freed(found);
        CHECK(find_executable(bin1, NULL, &found) == -EISDIR);
        CHECK(find_executable("./no/such/file", NULL, &found) == -ENOENT);

        /* No search path: the default one, where sh lives on every host we build on. */
        CHECK(find_executable("sh", NULL, &found) == 0);
        CHECK(found && found[0] == '/');
        found = freed(found);
        CHECK(find_executable("sh", "", &found) == 0);
}

int main(void) {
        char dir[] = "/tmp/berth-test-path-XXXXXX", cmd[128];

        test_path_for_each_prefix();
        CHECK(mkdtemp(dir) != NULL);
        test_mkdir_p(dir);
        test_find_executable(dir);
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        CHECK(system(cmd) == 0);
        return tap_finish();
}
