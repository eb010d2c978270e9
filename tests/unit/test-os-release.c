/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fd-util.h"
#include "macro.h"
#include "os-release.h"
#include "strv.h"
#include "tap.h"

static int put(int rootfd, const char *path, const char *content) {
        _cleanup_close_ int dfd = openat(rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return -errno;
        _cleanup_close_ int fd = openat(dfd, path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
                return -errno;
        return loop_write(fd, content, strlen(content));
}

static void test_tree(void) {
        char dir[] = "/tmp/berth-test-osrel-XXXXXX", p[512];
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ char *raw = NULL;
        size_t size = 0;

        CHECK(mkdtemp(dir) != NULL);
        _cleanup_close_ int rootfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        CHECK(rootfd >= 0);
        CHECK(mkdirat(rootfd, "etc", 0755) == 0);
        CHECK(mkdirat(rootfd, "usr", 0755) == 0 && mkdirat(rootfd, "usr/lib", 0755) == 0);

        CHECK(os_release_parse(rootfd, &l) == -ENOENT);
        CHECK(os_release_open(rootfd) == -ENOENT);

        /* Only /usr/lib/os-release: the fallback. */
        CHECK(put(rootfd, "usr/lib/os-release", "ID=usrlib\nPRETTY_NAME=\"From usr/lib\"\n") == 0);
        CHECK(os_release_parse(rootfd, &l) == 0);
        CHECK_STREQ(strv_env_get(l, "ID"), "usrlib");
        CHECK_STREQ(strv_env_get(l, "PRETTY_NAME"), "From usr/lib");
        l = strv_free(l);

        /* /etc/os-release wins; the raw bytes are the file's, quotes and all. */
        CHECK(put(rootfd, "etc/os-release", "ID=etc\nNAME='Etc OS'\n") == 0);
        CHECK(os_release_parse(rootfd, &l) == 0);
        CHECK_STREQ(strv_env_get(l, "ID"), "etc");
        CHECK_STREQ(strv_env_get(l, "NAME"), "Etc OS");
        l = strv_free(l);
        CHECK(os_release_read(rootfd, &raw, &size) == 0);
        CHECK_STREQ(raw, "ID=etc\nNAME='Etc OS'\n");
        CHECK(size == strlen("ID=etc\nNAME='Etc OS'\n"));
        raw = (free(raw), NULL);

        /* The usual relative link, and an absolute one: both resolve inside the tree. */
        CHECK(unlinkat(rootfd, "etc/os-release", 0) == 0);
        CHECK(symlinkat("../usr/lib/os-release", rootfd, "etc/os-release") == 0);
        CHECK(os_release_parse(rootfd, &l) == 0);
        CHECK_STREQ(strv_env_get(l, "ID"), "usrlib");
        l = strv_free(l);
        CHECK(unlinkat(rootfd, "etc/os-release", 0) == 0);
        CHECK(symlinkat("/usr/lib/os-release", rootfd, "etc/os-release") == 0);
        CHECK(os_release_parse(rootfd, &l) == 0);
        CHECK_STREQ(strv_env_get(l, "ID"), "usrlib");
        l = strv_free(l);

        /* A dangling link is a missing file: fall back. */
        CHECK(unlinkat(rootfd, "etc/os-release", 0) == 0);
        CHECK(symlinkat("/nowhere", rootfd, "etc/os-release") == 0);
        CHECK(os_release_parse(rootfd, &l) == 0);
        CHECK_STREQ(strv_env_get(l, "ID"), "usrlib");
        l = strv_free(l);

        /* A FIFO would block, a directory or garbage is no os-release: refused, no fallback. */
        CHECK(unlinkat(rootfd, "etc/os-release", 0) == 0);
        snprintf(p, sizeof(p), "%s/etc/os-release", dir);
        CHECK(mkfifo(p, 0644) == 0);
        CHECK(os_release_parse(rootfd, &l) == -EBADMSG);
        CHECK(os_release_read(rootfd, &raw, &size) == -EBADMSG);
        CHECK(unlinkat(rootfd, "etc/os-release", 0) == 0);
        CHECK(mkdirat(rootfd, "etc/os-release", 0755) == 0);
        CHECK(os_release_open(rootfd) == -EBADMSG);
        CHECK(unlinkat(rootfd, "etc/os-release", AT_REMOVEDIR) == 0);

        /* Bounded: a huge file is not read. */
        char *big = malloc(OS_RELEASE_MAX + 2);
        CHECK(big != NULL);
        if (big) {
                memset(big, '#', OS_RELEASE_MAX + 1);
                big[OS_RELEASE_MAX + 1] = 0;
                CHECK(put(rootfd, "etc/os-release", big) == 0);
                CHECK(os_release_parse(rootfd, &l) == -EFBIG);
                free(big);
        }

        snprintf(p, sizeof(p), "rm -rf '%s'", dir);
        CHECK(system(p) == 0);
}

static void test_host(void) {
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ char *raw = NULL;

        /* Every host we build on has one; AT_FDCWD stands for its "/". */
        if (access("/etc/os-release", F_OK) < 0 && access("/usr/lib/os-release", F_OK) < 0) {
                printf("# the host has no os-release\n");
                return;
        }
        CHECK(os_release_parse(AT_FDCWD, &l) == 0);
        CHECK(strv_env_get(l, "ID") || strv_env_get(l, "NAME"));
        CHECK(os_release_read(AT_FDCWD, &raw, NULL) == 0 && strlen(raw) > 0);
}

int main(void) {
        test_tree();
        test_host();
        return tap_finish();
}
