/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

#include "macro.h"
#include "parse-util.h"
#include "strv.h"
#include "tap.h"

static void test_safe_atou(void) {
        unsigned u = 42;
        uint64_t v = 42;

        CHECK(safe_atou("0", &u) == 0 && u == 0);
        CHECK(safe_atou("1", &u) == 0 && u == 1);
        CHECK(safe_atou("007", &u) == 0 && u == 7);
        CHECK(safe_atou("4294967295", &u) == 0 && u == UINT_MAX);

        /* Failures leave the output untouched. */
        u = 42;
        CHECK(safe_atou("4294967296", &u) == -ERANGE);
        CHECK(safe_atou("99999999999999999999999", &u) == -ERANGE);
        CHECK(safe_atou("-1", &u) == -EINVAL);
        CHECK(safe_atou("+1", &u) == -EINVAL);
        CHECK(safe_atou("", &u) == -EINVAL);
        CHECK(safe_atou(NULL, &u) == -EINVAL);
        CHECK(safe_atou("1x", &u) == -EINVAL);
        CHECK(safe_atou("x1", &u) == -EINVAL);
        CHECK(safe_atou(" 1", &u) == -EINVAL);
        CHECK(safe_atou("1 ", &u) == -EINVAL);
        CHECK(safe_atou("0x10", &u) == -EINVAL);
        CHECK(safe_atou("1.5", &u) == -EINVAL);
        CHECK(u == 42);

        CHECK(safe_atou64("0", &v) == 0 && v == 0);
        CHECK(safe_atou64("4294967296", &v) == 0 && v == 4294967296ULL);
        CHECK(safe_atou64("18446744073709551615", &v) == 0 && v == UINT64_MAX);
        v = 42;
        CHECK(safe_atou64("18446744073709551616", &v) == -ERANGE);
        CHECK(safe_atou64("-1", &v) == -EINVAL);
        CHECK(safe_atou64("-0", &v) == -EINVAL);
        CHECK(safe_atou64("", &v) == -EINVAL);
        CHECK(safe_atou64("1x", &v) == -EINVAL);
        CHECK(safe_atou64(" 1", &v) == -EINVAL);
        CHECK(safe_atou64("\t1", &v) == -EINVAL);
        CHECK(v == 42);
}

static void test_parse_boolean(void) {
        static const char *const yes[] = { "1", "yes", "YES", "y", "Y", "true", "True", "t", "on", "ON" };
        static const char *const no[] = { "0", "no", "NO", "n", "N", "false", "FALSE", "f", "off", "Off" };
        static const char *const bad[] = { "", "2", "yess", "of", "tru", " yes", "yes ", "enable", "-1" };

        for (size_t i = 0; i < ELEMENTSOF(yes); i++)
                CHECK(parse_boolean(yes[i]) == 1);
        for (size_t i = 0; i < ELEMENTSOF(no); i++)
                CHECK(parse_boolean(no[i]) == 0);
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                CHECK(parse_boolean(bad[i]) == -EINVAL);
}

static void test_parse_mode(void) {
        mode_t m = 0123;

        CHECK(parse_mode("0", &m) == 0 && m == 0);
        CHECK(parse_mode("755", &m) == 0 && m == 0755);
        CHECK(parse_mode("0755", &m) == 0 && m == 0755);
        CHECK(parse_mode("1777", &m) == 0 && m == 01777);
        CHECK(parse_mode("7777", &m) == 0 && m == 07777);
        CHECK(parse_mode("07777", &m) == 0 && m == 07777);
        m = 0123;
        CHECK(parse_mode("10000", &m) == -EINVAL);
        CHECK(parse_mode("8", &m) == -EINVAL);
        CHECK(parse_mode("0758", &m) == -EINVAL);
        CHECK(parse_mode("", &m) == -EINVAL);
        CHECK(parse_mode(NULL, &m) == -EINVAL);
        CHECK(parse_mode("-1", &m) == -EINVAL);
        CHECK(parse_mode(" 755", &m) == -EINVAL);
        CHECK(parse_mode("755 ", &m) == -EINVAL);
        CHECK(parse_mode("0x1ff", &m) == -EINVAL);
        CHECK(parse_mode("77777777777777777777777777", &m) == -EINVAL);
        CHECK(m == 0123);
}

/* Checks split_colon_escaped(s, max) == the NULL-terminated list of wanted fields. */
static void check_split(const char *s, size_t max, const char *const *want) {
        _cleanup_strv_free_ char **l = NULL;
        int r = split_colon_escaped(s, max, &l);
        size_t n = 0;

        while (want[n])
                n++;
        CHECK(r == 0);
        CHECK(strv_length(l) == n);
        for (size_t i = 0; i < n && i < strv_length(l); i++)
                CHECK_STREQ(l[i], want[i]);
}

static void test_split_colon_escaped(void) {
        check_split("a", 3, (const char *const[]) { "a", NULL });
        check_split("", 3, (const char *const[]) { "", NULL });
        check_split("a:b", 3, (const char *const[]) { "a", "b", NULL });
        check_split("a:b:c", 3, (const char *const[]) { "a", "b", "c", NULL });
        check_split(":", 3, (const char *const[]) { "", "", NULL });
        check_split("a:", 3, (const char *const[]) { "a", "", NULL });
        check_split("::", 3, (const char *const[]) { "", "", "", NULL });
        check_split("a\\:b:c", 3, (const char *const[]) { "a:b", "c", NULL });
        check_split("a\\\\:b", 3, (const char *const[]) { "a\\", "b", NULL });
        check_split("\\:", 3, (const char *const[]) { ":", NULL });
        check_split("a:b\\:c:d", 3, (const char *const[]) { "a", "b:c", "d", NULL });

        /* The last field takes the rest verbatim: colons and backslashes unprocessed. */
        check_split("a:b:c:d", 3, (const char *const[]) { "a", "b", "c:d", NULL });
        check_split("a:b:c\\:d", 3, (const char *const[]) { "a", "b", "c\\:d", NULL });
        check_split("a:b\\x", 2, (const char *const[]) { "a", "b\\x", NULL });
        check_split("a:b\\", 2, (const char *const[]) { "a", "b\\", NULL });
        check_split("a:b:c", 1, (const char *const[]) { "a:b:c", NULL });
        check_split("a\\:b", 1, (const char *const[]) { "a\\:b", NULL });
        check_split("a\\:b:c", 2, (const char *const[]) { "a:b", "c", NULL });

        /* Bad escapes in a field that is not the last one. */
        _cleanup_strv_free_ char **l = NULL;
        CHECK(split_colon_escaped("a\\x:b", 3, &l) == -EINVAL);
        CHECK(l == NULL);
        CHECK(split_colon_escaped("a\\x", 3, &l) == -EINVAL);
        CHECK(split_colon_escaped("a\\", 3, &l) == -EINVAL);
        CHECK(split_colon_escaped("a:b\\x:c", 3, &l) == -EINVAL);
        CHECK(split_colon_escaped("a", 0, &l) == -EINVAL);
        CHECK(l == NULL);
}

static void test_id128(void) {
        static const uint8_t want[16] = { 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
                                           0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10 };
        Id128 id, id2;
        char buf[37];

        memset(&id, 0xaa, sizeof(id));
        CHECK(id128_from_string("0123456789abcdeffedcba9876543210", &id) == 0);
        CHECK(memcmp(id.bytes, want, 16) == 0);
        CHECK_STREQ(id128_to_uuid_string(&id, buf), "01234567-89ab-cdef-fedc-ba9876543210");
        CHECK(strlen(buf) == 36);

        CHECK(id128_from_string("01234567-89ab-cdef-fedc-ba9876543210", &id2) == 0);
        CHECK(memcmp(&id, &id2, sizeof(id)) == 0);
        CHECK(id128_from_string("01234567-89AB-CDEF-FEDC-BA9876543210", &id2) == 0);
        CHECK(memcmp(&id, &id2, sizeof(id)) == 0);
        CHECK(id128_from_string("0123456789ABCDEFFEDCBA9876543210", &id2) == 0);
        CHECK(memcmp(&id, &id2, sizeof(id)) == 0);
        /* Output is always lowercase. */
        CHECK_STREQ(id128_to_uuid_string(&id2, buf), "01234567-89ab-cdef-fedc-ba9876543210");

        /* Round trip through the dashed form. */
        CHECK(id128_from_string(buf, &id2) == 0);
        CHECK(memcmp(&id, &id2, sizeof(id)) == 0);

        CHECK(id128_from_string("00000000000000000000000000000000", &id2) == 0);
        CHECK(id128_is_null(&id2));
        CHECK(!id128_is_null(&id));
        CHECK_STREQ(id128_to_uuid_string(&id2, buf), "00000000-0000-0000-0000-000000000000");

        static const char *const bad[] = {
                "",
                "0123456789abcdeffedcba987654321",            /* 31 */
                "0123456789abcdeffedcba98765432100",          /* 33 */
                "0123456789abcdeffedcba987654321g",           /* not hex */
                " 123456789abcdeffedcba9876543210",
                "01234567-89ab-cdef-fedc-ba987654321",        /* 35 */
                "01234567-89ab-cdef-fedc-ba98765432100",      /* 37 */
                "0123456-789ab-cdef-fedc-ba9876543210",       /* dash one early */
                "012345678-9ab-cdef-fedc-ba9876543210",       /* dash one late */
                "01234567-89abc-def-fedc-ba9876543210",
                "01234567-89ab-cdef-fedcb-a9876543210",
                "01234567-89ab-cdef-fedc-ba98765432-10",
                "01234567089ab0cdef0fedc0ba9876543210",       /* 36 without dashes */
                "01234567-89ab-cdef-fedc-ba987654321g",
                "0123456789abcdef-fedcba9876543210",          /* 33 */
                "{01234567-89ab-cdef-fedc-ba9876543210}",
                "-01234567-89ab-cdef-fedcba9876543210",       /* 36, dashes elsewhere */
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                memset(&id2, 0x5a, sizeof(id2));
                CHECK(id128_from_string(bad[i], &id2) == -EINVAL);
                bool untouched = true;
                for (size_t j = 0; j < 16; j++)
                        if (id2.bytes[j] != 0x5a)
                                untouched = false;
                CHECK(untouched);
        }
}

static void test_id128_randomize(void) {
        Id128 a, b;
        char buf[37];

        CHECK(id128_randomize(&a) == 0);
        CHECK(id128_randomize(&b) == 0);
        CHECK(!id128_is_null(&a));
        CHECK(memcmp(&a, &b, sizeof(a)) != 0);

        for (int i = 0; i < 64; i++) {
                Id128 x;
                if (id128_randomize(&x) < 0) {
                        CHECK(!"id128_randomize failed");
                        continue;
                }
                if ((x.bytes[6] & 0xf0) != 0x40 || (x.bytes[8] & 0xc0) != 0x80) {
                        CHECK(!"random id128 is not RFC 4122 v4");
                        break;
                }
        }
        CHECK((a.bytes[6] & 0xf0) == 0x40);
        CHECK((a.bytes[8] & 0xc0) == 0x80);
        id128_to_uuid_string(&a, buf);
        CHECK(buf[14] == '4');
        CHECK(strchr("89ab", buf[19]) != NULL);

        Id128 c;
        CHECK(id128_from_string(buf, &c) == 0);
        CHECK(memcmp(&a, &c, sizeof(a)) == 0);
}

static void test_path_is_normalized_absolute(void) {
        static const char *const good[] = {
                "/", "/a", "/a/b", "/a/b/", "/a//b", "//a", "/.a", "/a.", "/...", "/a/..b", "/a/b..",
                "/usr/lib/os-release",
        };
        static const char *const bad[] = {
                "", "a", "a/b", "./a", "../a", "/.", "/..", "/./a", "/../a", "/a/.", "/a/..",
                "/a/./b", "/a/../b", "/a/b/..", "/a/.//b", "/a//../b", "/a/../",
        };

        for (size_t i = 0; i < ELEMENTSOF(good); i++)
                CHECK(path_is_normalized_absolute(good[i]));
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                CHECK(!path_is_normalized_absolute(bad[i]));
        CHECK(!path_is_normalized_absolute(NULL));
}

static void test_mount_options_split(void) {
        unsigned long f = MS_NOSUID | MS_RDONLY;
        char *d = NULL;

        CHECK(mount_options_split("rw,noexec,mode=0755,nodev,size=1m,suid", &f, &d) == 0);
        CHECK(f == (MS_NOEXEC | MS_NODEV));
        CHECK_STREQ(d, "mode=0755,size=1m");
        free(d);

        f = 0;
        CHECK(mount_options_split("ro,nosuid,,", &f, &d) == 0);
        CHECK(f == (MS_RDONLY | MS_NOSUID));
        CHECK(d == NULL);

        f = MS_NODEV;
        CHECK(mount_options_split(NULL, &f, &d) == 0);
        CHECK(f == MS_NODEV && d == NULL);

        CHECK(mount_options_split("uid=0,gid=5", &f, &d) == 0);
        CHECK_STREQ(d, "uid=0,gid=5");
        free(d);
}

int main(void) {
        test_safe_atou();
        test_parse_boolean();
        test_parse_mode();
        test_split_colon_escaped();
        test_id128();
        test_id128_randomize();
        test_path_is_normalized_absolute();
        test_mount_options_split();
        return tap_finish();
}
