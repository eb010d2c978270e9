/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "fd-util.h"
#include "macro.h"
#include "tap.h"
#include "user-record.h"

static const char passwd[] =
        "# a comment line:x:1:1:::\n"
        "root:x:0:0:root:/root:/bin/bash\n"
        "\n"
        "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
        "broken:x:5\n"                                   /* too few fields */
        "toomany:x:6:6:gecos:/home/t:/bin/sh:extra\n"    /* too many fields */
        "+nisuser:x:7:7:::\n"
        "-nisexcl:x:8:8:::\n"
        "alice:x:1000:1000:Alice,,,:/home/alice:/bin/zsh\n"
        "nohome:x:1001:100:::\n"
        "badgid:x:1002:abc:::\n"
        "baduid:x:notanumber:100:::\n"
        "alice2:x:1003:1003::/home/alice2:/bin/sh\n"
        "last:x:1004:1004::/home/last:/bin/dash"; /* no trailing newline */

static FILE *open_string(const char *s) {
        /* fmemopen() of a string constant is read-only; the buffer is not modified. */
        return fmemopen((void *) s, strlen(s), "r");
}

static int find(const char *key, UserRecord *ret) {
        FILE *f = open_string(passwd);
        if (!f)
                return -errno;
        int r = user_record_find(f, key, ret);
        fclose(f);
        return r;
}

static void test_find(void) {
        UserRecord u = {};

        CHECK(find("root", &u) == 0);
        CHECK_STREQ(u.name, "root");
        CHECK(u.uid == 0 && u.gid == 0);
        CHECK_STREQ(u.home, "/root");
        CHECK_STREQ(u.shell, "/bin/bash");
        user_record_done(&u);
        CHECK(u.name == NULL && u.home == NULL && u.shell == NULL);

        CHECK(find("0", &u) == 0);
        CHECK_STREQ(u.name, "root");
        user_record_done(&u);

        CHECK(find("alice", &u) == 0);
        CHECK_STREQ(u.name, "alice");
        CHECK(u.uid == 1000 && u.gid == 1000);
        CHECK_STREQ(u.home, "/home/alice");
        CHECK_STREQ(u.shell, "/bin/zsh");
        user_record_done(&u);

        CHECK(find("1000", &u) == 0);
        CHECK_STREQ(u.name, "alice");
        CHECK(u.uid == 1000);
        user_record_done(&u);

        /* Exact match only: "alice" must not find "alice2" and vice versa. */
        CHECK(find("alice2", &u) == 0);
        CHECK_STREQ(u.name, "alice2");
        CHECK(u.uid == 1003);
        user_record_done(&u);

        CHECK(find("daemon", &u) == 0);
        CHECK(u.uid == 1 && u.gid == 1);
        CHECK_STREQ(u.shell, "/usr/sbin/nologin");
        user_record_done(&u);

        /* Empty home and shell get defaults. */
        CHECK(find("nohome", &u) == 0);
        CHECK(u.uid == 1001 && u.gid == 100);
        CHECK_STREQ(u.home, "/");
        CHECK_STREQ(u.shell, "/bin/sh");
        user_record_done(&u);
        CHECK(find("1001", &u) == 0);
        CHECK_STREQ(u.name, "nohome");
        user_record_done(&u);

        /* Last line without a newline. */
        CHECK(find("last", &u) == 0);
        CHECK_STREQ(u.shell, "/bin/dash");
        user_record_done(&u);
        CHECK(find("1004", &u) == 0);
        CHECK_STREQ(u.name, "last");
        user_record_done(&u);

        /* user_record_done() on a zeroed record is harmless. */
        user_record_done(&u);
}

static void test_find_missing(void) {
        UserRecord u = { .uid = 4242 };

        CHECK(find("nobody", &u) == -ESRCH);
        CHECK(find("9999", &u) == -ESRCH);
        CHECK(find("ali", &u) == -ESRCH);
        CHECK(find("ROOT", &u) == -ESRCH);
        CHECK(find("", &u) == -ESRCH);
        /* Malformed lines are skipped, not matched. */
        CHECK(find("broken", &u) == -ESRCH);
        CHECK(find("5", &u) == -ESRCH);
        CHECK(find("toomany", &u) == -ESRCH);
        CHECK(find("6", &u) == -ESRCH);
        /* NIS compat entries and comments are not users. */
        CHECK(find("+nisuser", &u) == -ESRCH);
        CHECK(find("7", &u) == -ESRCH);
        CHECK(find("-nisexcl", &u) == -ESRCH);
        CHECK(find("# a comment line", &u) == -ESRCH);
        CHECK(find("8", &u) == -ESRCH);
        /* A non-numeric uid field is never matched by a uid lookup, nor is it a name. */
        CHECK(find("notanumber", &u) == -ESRCH);
        /* The output is untouched on failure. */
        CHECK(u.uid == 4242 && u.name == NULL);

        /* A matching line with broken numbers is an error, not a silent skip. */
        CHECK(find("badgid", &u) == -EBADMSG);
        CHECK(find("1002", &u) == -EBADMSG);
        CHECK(find("baduid", &u) == -EBADMSG);

        FILE *f = open_string("");
        CHECK(f && user_record_find(f, "root", &u) == -ESRCH);
        if (f)
                fclose(f);
        CHECK(u.name == NULL);
}

static const char group[] =
        "root:x:0:\n"
        "# comment:x:20:alice\n"
        "wheel:x:10:root,alice\n"
        "audio:x:29:bob,alice,carol\n"
        "video:x:44:alicex,xalice,bob\n"
        "broken:x:50\n"
        "badgid:x:abc:alice\n"
        "alice:x:1000:alice\n" /* the primary group, also listing her: excluded */
        "empty:x:60:\n"
        "solo:x:61:alice\n"
        "users:x:100:carol,alice";

static void test_groups(void) {
        gid_t *gids = NULL;
        size_t n = 99;
        FILE *f;

        f = open_string(group);
        CHECK(f && user_record_groups(f, "alice", 1000, &gids, &n) == 0);
        if (f)
                fclose(f);
        CHECK(n == 4);
        CHECK(gids && n >= 4 && gids[0] == 10 && gids[1] == 29 && gids[2] == 61 && gids[3] == 100);
        bool has_primary = false;
        for (size_t i = 0; gids && i < n; i++)
                if (gids[i] == 1000)
                        has_primary = true;
        CHECK(!has_primary);
        free(gids);
        gids = NULL;

        /* With a different primary gid, the "alice" group counts as supplementary. */
        f = open_string(group);
        CHECK(f && user_record_groups(f, "alice", 100, &gids, &n) == 0);
        if (f)
                fclose(f);
        CHECK(n == 4);
        CHECK(gids && n >= 4 && gids[0] == 10 && gids[1] == 29 && gids[2] == 1000 && gids[3] == 61);
        free(gids);
        gids = NULL;

        f = open_string(group);
        CHECK(f && user_record_groups(f, "bob", 1234, &gids, &n) == 0);
        if (f)
                fclose(f);
        CHECK(n == 2);
        CHECK(gids && n >= 2 && gids[0] == 29 && gids[1] == 44);
        free(gids);
        gids = NULL;

        /* Primary excluded even when listed. */
        f = open_string(group);
        CHECK(f && user_record_groups(f, "carol", 29, &gids, &n) == 0);
        if (f)
                fclose(f);
        CHECK(n == 1);
        CHECK(gids && n >= 1 && gids[0] == 100);
        free(gids);
        gids = NULL;

        /* No memberships: empty result. */
        f = open_string(group);
        CHECK(f && user_record_groups(f, "nobody", 65534, &gids, &n) == 0);
        if (f)
                fclose(f);
        CHECK(n == 0);
        free(gids);
        gids = NULL;

        /* Prefix/suffix of a member name is not membership. */
        f = open_string(group);
        CHECK(f && user_record_groups(f, "ali", 0, &gids, &n) == 0);
        if (f)
                fclose(f);
        CHECK(n == 0);
        free(gids);
        gids = NULL;

        f = open_string("");
        CHECK(f && user_record_groups(f, "alice", 1000, &gids, &n) == 0);
        if (f)
                fclose(f);
        CHECK(n == 0);
        free(gids);
}

static int put(const char *dir, const char *name, const char *content) {
        char p[512];
        snprintf(p, sizeof(p), "%s/%s", dir, name);
        int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
                return -errno;
        int r = loop_write(fd, content, strlen(content));
        safe_close(fd);
        return r;
}

static int lookup(int procfd, int rootfd, const char *name, UserRecord *u, size_t *n_groups) {
        _cleanup_free_ gid_t *groups = NULL;
        user_record_done(u);
        return user_record_lookup_in_root(procfd, rootfd, name, u, &groups, n_groups);
}

/* The user database of an untrusted tree: found through its root, and planted FIFOs, devices and
 * links out of the tree are refused rather than followed or opened. */
static void test_lookup_in_root(void) {
        char dir[] = "/tmp/berth-test-users-XXXXXX", p[512];
        _cleanup_(user_record_done) UserRecord u = {};
        _cleanup_free_ gid_t *groups = NULL;
        size_t n = 0;

        CHECK(mkdtemp(dir) != NULL);
        _cleanup_close_ int rootfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        _cleanup_close_ int procfd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
        CHECK(rootfd >= 0 && procfd >= 0);

        /* No /etc at all: root exists, nobody else. */
        CHECK(lookup(AT_FDCWD, rootfd, "root", &u, &n) == 0);
        CHECK_STREQ(u.name, "root");
        CHECK(u.uid == 0 && u.gid == 0 && n == 0);
        CHECK_STREQ(u.home, "/root");
        CHECK_STREQ(u.shell, "/bin/sh");
        CHECK(lookup(AT_FDCWD, rootfd, "0", &u, &n) == 0 && u.uid == 0);
        CHECK(lookup(AT_FDCWD, rootfd, "alice", &u, &n) == -ESRCH);

        snprintf(p, sizeof(p), "%s/etc", dir);
        CHECK(mkdir(p, 0755) == 0);
        CHECK(put(dir, "etc/passwd", passwd) == 0);
        CHECK(put(dir, "etc/group", group) == 0);
        CHECK(user_record_lookup_in_root(procfd, rootfd, "alice", &u, &groups, &n) == 0);
        CHECK(u.uid == 1000 && n == 4); /* wheel, audio, solo, users */
        CHECK(lookup(AT_FDCWD, rootfd, "nobody-here", &u, &n) == -ESRCH);

        /* An absolute symlink is resolved inside the tree, never on the host. */
        CHECK(put(dir, "passwd.real", "bob:x:4242:4242::/home/bob:/bin/sh\n") == 0);
        CHECK(unlinkat(rootfd, "etc/passwd", 0) == 0);
        CHECK(symlinkat("/passwd.real", rootfd, "etc/passwd") == 0);
        CHECK(lookup(AT_FDCWD, rootfd, "bob", &u, &n) == 0 && u.uid == 4242);
        CHECK(unlinkat(rootfd, "etc/passwd", 0) == 0);
        CHECK(symlinkat("../../../../../../../../../../passwd.real", rootfd, "etc/passwd") == 0);
        CHECK(lookup(AT_FDCWD, rootfd, "bob", &u, &n) == 0 && u.uid == 4242); /* ".." stops at the root */

        /* A FIFO would block a plain fopen() forever; /dev/zero would never end. */
        CHECK(unlinkat(rootfd, "etc/passwd", 0) == 0);
        snprintf(p, sizeof(p), "%s/etc/passwd", dir);
        CHECK(mkfifo(p, 0644) == 0);
        CHECK(lookup(AT_FDCWD, rootfd, "root", &u, &n) == -EBADMSG);
        CHECK(unlinkat(rootfd, "etc/passwd", 0) == 0);
        if (mknodat(rootfd, "etc/passwd", S_IFCHR | 0644, makedev(1, 5)) == 0) {
                CHECK(lookup(AT_FDCWD, rootfd, "root", &u, &n) == -EBADMSG);
                CHECK(unlinkat(rootfd, "etc/passwd", 0) == 0);
        } else
                printf("# no device node test: mknod: %m\n");
        CHECK(put(dir, "etc/passwd", passwd) == 0);
        CHECK(unlinkat(rootfd, "etc/group", 0) == 0);
        snprintf(p, sizeof(p), "%s/etc/group", dir);
        CHECK(mkfifo(p, 0644) == 0);
        CHECK(lookup(procfd, rootfd, "alice", &u, &n) == -EBADMSG);

        snprintf(p, sizeof(p), "rm -rf '%s'", dir);
        CHECK(system(p) == 0);
}

int main(void) {
        test_find();
        test_find_missing();
        test_groups();
        test_lookup_in_root();
        return tap_finish();
}
