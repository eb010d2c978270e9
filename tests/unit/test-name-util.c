/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "macro.h"
#include "name-util.h"
#include "tap.h"

static void test_names(void) {
        char name[MACHINE_NAME_MAX + 2];

        /* Both predicates share one definition: check each input against both. */
        static const char *const valid[] = {
                "a", "A", "0", "foo", "foo-bar", "foo.bar", "a.b.c", "Debian12", "1.2.3", "a--b", "a-b.c-d",
        };
        static const char *const invalid[] = {
                "", ".", "..", ".a", ".hidden", "a..b", "a..", "a/b", "/", "a b", " a", "a ", "\xc3\xa4",
                "a\xc3\xa4", "a:b", "a\tb", "a\nb", "a*", "a\\b", "a@b",
                /* systemd's hostname rules (issue 11): */
                "-", "-a", "a-", "a_b", "a.", "_", "_a", "a.-b", "a-.b", "a.b.",
        };

        for (size_t i = 0; i < ELEMENTSOF(valid); i++) {
                CHECK(machine_name_is_valid(valid[i]));
                CHECK(hostname_is_valid(valid[i]));
        }
        for (size_t i = 0; i < ELEMENTSOF(invalid); i++) {
                CHECK(!machine_name_is_valid(invalid[i]));
                CHECK(!hostname_is_valid(invalid[i]));
        }
        CHECK(!machine_name_is_valid(NULL));
        CHECK(!hostname_is_valid(NULL));

        memset(name, 'x', MACHINE_NAME_MAX);
        name[MACHINE_NAME_MAX] = 0;
        CHECK(strlen(name) == 64);
        CHECK(machine_name_is_valid(name));
        CHECK(hostname_is_valid(name));
        name[MACHINE_NAME_MAX] = 'x';
        name[MACHINE_NAME_MAX + 1] = 0;
        CHECK(strlen(name) == 65);
        CHECK(!machine_name_is_valid(name));
        CHECK(!hostname_is_valid(name));
}

static void check_escape(const char *in, const char *want) {
        _cleanup_free_ char *e = bus_label_escape(in);
        CHECK_STREQ(e, want);
        if (!e)
                return;
        _cleanup_free_ char *u = bus_label_unescape(e);
        CHECK_STREQ(u, in);
}

static void test_bus_label(void) {
        check_escape("", "_");
        check_escape("foo", "foo");
        check_escape("FooBar", "FooBar");
        check_escape("foo-bar", "foo_2dbar");
        check_escape("1abc", "_31abc");
        check_escape("a1", "a1");
        check_escape("abc123", "abc123");
        check_escape("9", "_39");
        check_escape("_", "_5f");
        check_escape("a.b", "a_2eb");
        check_escape("a b", "a_20b");
        check_escape("/", "_2f");
        check_escape("\xc3\xa4", "_c3_a4");
        check_escape("\x7f\x80\xff", "_7f_80_ff");
        check_escape("my-container.service", "my_2dcontainer_2eservice");

        /* Every byte value 1..255 survives a round trip, in first and in later positions. */
        char all[256];
        for (int i = 1; i < 256; i++)
                all[i - 1] = (char) i;
        all[255] = 0;
        _cleanup_free_ char *e = bus_label_escape(all);
        CHECK(e != NULL);
        bool only_label_chars = true;
        for (const char *p = e; p && *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                      *p == '_'))
                        only_label_chars = false;
        CHECK(only_label_chars);
        _cleanup_free_ char *u = e ? bus_label_unescape(e) : NULL;
        CHECK(u && strcmp(u, all) == 0);

        /* Uppercase hex digits are tolerated on input. */
        _cleanup_free_ char *up = bus_label_unescape("foo_2Dbar");
        CHECK_STREQ(up, "foo-bar");
}

static void check_unescape_fails(const char *in) {
        errno = 0;
        char *u = bus_label_unescape(in);
        CHECK(u == NULL);
        CHECK(errno == EINVAL);
        free(u);
}

static void test_bus_label_invalid(void) {
        check_unescape_fails("_4");
        check_unescape_fails("_zz");
        check_unescape_fails("_z1");
        check_unescape_fails("_1z");
        check_unescape_fails("a_");
        check_unescape_fails("a_2");
        check_unescape_fails("foo_");
        check_unescape_fails("__");
        check_unescape_fails("___");
        check_unescape_fails("_00"); /* would be an embedded NUL */
        check_unescape_fails("ok_2dok_");

        /* The lone "_" is the empty string, not a malformed escape. */
        _cleanup_free_ char *empty = bus_label_unescape("_");
        CHECK_STREQ(empty, "");
        _cleanup_free_ char *plain = bus_label_unescape("plain");
        CHECK_STREQ(plain, "plain");
}

static void check_cleanup(const char *in, const char *want) {
        char buf[256];
        snprintf(buf, sizeof(buf), "%s", in);
        CHECK_STREQ(hostname_cleanup(buf), want);
        if (*want)
                CHECK(hostname_is_valid(buf));
}

/* nspawn derives a machine name from a directory name this way; spawn does too. */
static void test_hostname_cleanup(void) {
        check_cleanup("bbtree", "bbtree");
        check_cleanup("my_tree", "mytree");
        check_cleanup("debian-12.x86_64", "debian-12.x8664");
        check_cleanup("-a-", "a");
        check_cleanup("..a..b..", "a.b");
        check_cleanup("a-.b", "a.b");
        check_cleanup("a.-b", "a.b");
        check_cleanup("a--.-b-", "a.b");
        check_cleanup("___", "");
        check_cleanup("", "");
        check_cleanup("ü-tree", "tree");
        check_cleanup("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx-yyyy",
                      "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
}

int main(void) {
        test_names();
        test_hostname_cleanup();
        test_bus_label();
        test_bus_label_invalid();
        return tap_finish();
}
