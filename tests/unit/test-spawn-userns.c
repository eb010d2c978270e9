/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* --private-users= parsing and nspawn-style range picking (spawn-userns.c), without privileges. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "spawn-userns.h"
#include "tap.h"

static void test_spec_parse(void) {
        UsernsSpec s;

        CHECK(userns_spec_parse("no", &s) == 0 && s.mode == USERNS_NO);
        CHECK(userns_spec_parse("false", &s) == 0 && s.mode == USERNS_NO);
        CHECK(userns_spec_parse("yes", &s) == 0 && s.mode == USERNS_TREE && s.size == 65536);
        CHECK(userns_spec_parse("pick", &s) == 0 && s.mode == USERNS_PICK);
        CHECK(userns_spec_parse("identity", &s) == 0 && s.mode == USERNS_IDENTITY);
        CHECK(userns_spec_parse("1000000", &s) == 0 && s.mode == USERNS_FIXED && s.base == 1000000 && s.size == 65536);
        CHECK(userns_spec_parse("1000000:1000", &s) == 0 && s.base == 1000000 && s.size == 1000);
        CHECK(userns_spec_parse("4294967295", &s) == -ERANGE);
        CHECK(userns_spec_parse("5:0", &s) == -ERANGE);
        CHECK(userns_spec_parse("4294000000:1000000", &s) == -ERANGE);
        CHECK(userns_spec_parse("maybe", &s) == -EINVAL);
        CHECK(userns_spec_parse("", &s) == -EINVAL);
        CHECK(userns_spec_parse("1:", &s) == -EINVAL);
        CHECK(userns_spec_parse(":5", &s) == -EINVAL);
        CHECK(userns_spec_parse("-1", &s) == -EINVAL);

        CHECK(userns_ownership_from_string("map") == USERNS_OWNERSHIP_MAP);
        CHECK(userns_ownership_from_string("auto") == USERNS_OWNERSHIP_AUTO);
        CHECK(userns_ownership_from_string("idmap") == _USERNS_OWNERSHIP_INVALID);
        CHECK_STREQ(userns_ownership_to_string(USERNS_OWNERSHIP_CHOWN), "chown");
}

static void test_ids_read(void) {
        static const char db[] = "root:x:0:0:root:/root:/bin/sh\n"
                                 "+nis::::::\n"
                                 "big:x:1000000:1000000::/:/bin/false\n"
                                 "wheel:x:10:alice,bob\n";
        FILE *f = fmemopen((void *) db, sizeof(db) - 1, "r");
        uint32_t *ids = NULL;
        size_t n = 0;

        CHECK(f && userns_ids_read(f, &ids, &n) == 0);
        CHECK(n == 3 && ids[0] == 0 && ids[1] == 1000000 && ids[2] == 10);
        CHECK(userns_range_overlaps(983040, 65536, ids, n));        /* 0xF0000 holds 1000000 */
        CHECK(!userns_range_overlaps(1048576, 65536, ids, n));
        CHECK(userns_range_overlaps(0, 1, ids, n));
        free(ids);
        if (f)
                fclose(f);
}

static int refuse_first(uint32_t base, void *userdata) {
        uint32_t *refused = userdata;
        if (*refused == 0) {
                *refused = base;
                return 1;
        }
        return 0;
}

static int refuse_all(uint32_t base, void *userdata) {
        (void) base;
        (void) userdata;
        return 1;
}

static void test_pick(void) {
        uint32_t a = userns_base_from_name("debian"), b = userns_base_from_name("debian"), got = 0;

        /* Stable, aligned, in the window. */
        CHECK(a == b);
        CHECK(a % 65536 == 0 && a >= 524288 && a <= 1878982656 - 65536 + 65536);
        CHECK(userns_base_from_name("debian") != userns_base_from_name("fedora"));

        /* The tree owner's range comes first when it is a range base in the window. */
        CHECK(userns_candidate("debian", 0x100000, 0) == 0x100000);
        CHECK(userns_candidate("debian", 0x100000, 1) == a);
        CHECK(userns_candidate("debian", 0, 0) == a);              /* a root-owned tree */
        CHECK(userns_candidate("debian", 0x100001, 0) == a);       /* not a base */
        CHECK(userns_candidate("debian", 0x70000000, 0) == a);     /* past the window */
        CHECK(userns_candidate("debian", (uid_t) -1, 1) == (a == 0x6FFF0000 ? 0x80000 : a + 65536));

        /* Host IDs inside a candidate push the pick on to the next one. */
        uint32_t ids[] = { 0, 1000, a + 17 };
        CHECK(userns_pick("debian", 0, ids, 3, NULL, NULL, &got) == 0);
        CHECK(got != a && got == userns_candidate("debian", 0, 1));
        CHECK(userns_pick("debian", 0, ids, 2, NULL, NULL, &got) == 0 && got == a);

        /* A range locked by someone else is skipped, too. */
        uint32_t refused = 0;
        CHECK(userns_pick("debian", 0, NULL, 0, refuse_first, &refused, &got) == 0);
        CHECK(refused == a && got == userns_candidate("debian", 0, 1));
        CHECK(userns_pick("debian", 0, NULL, 0, refuse_all, NULL, &got) == -EBUSY);
}

static void test_lock(void) {
        char dir[] = "/tmp/test-userns-XXXXXX", path[64];
        int fd = -1, fd2 = -1;

        if (!mkdtemp(dir)) {
                CHECK(!"mkdtemp");
                return;
        }
        CHECK(userns_range_lock(dir, 524288, &fd) == 0 && fd >= 0);
        CHECK(userns_range_lock(dir, 524288, &fd2) == 1);       /* another container's */
        CHECK(userns_range_lock(dir, 589824, &fd2) == 0);
        userns_range_unlock(dir, 589824, fd2);
        userns_range_unlock(dir, 524288, fd);
        snprintf(path, sizeof(path), "%s/524288", dir);
        CHECK(access(path, F_OK) < 0);                           /* nothing left behind */
        CHECK(rmdir(dir) == 0);
}

int main(void) {
        test_spec_parse();
        test_ids_read();
        test_pick();
        test_lock();
        return tap_finish();
}
