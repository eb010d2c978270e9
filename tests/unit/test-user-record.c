/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <string.h>

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

int main(void) {
        test_find();
        test_find_missing();
        test_groups();
        return tap_finish();
}
