/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ini-file.h"
#include "macro.h"
#include "strv.h"
#include "tap.h"

static int parse(const char *s, IniEntry **ret, size_t *ret_n, unsigned *ret_bad) {
        FILE *f = fmemopen((void *) s, strlen(s), "r");
        if (!f)
                return -errno;
        int r = ini_parse(f, ret, ret_n, ret_bad);
        fclose(f);
        return r;
}

static void check_entry(const IniEntry *e, const char *section, const char *key, const char *value, unsigned line) {
        if (section)
                CHECK_STREQ(e->section, section);
        else
                CHECK(e->section == NULL);
        if (key) {
                CHECK_STREQ(e->key, key);
                CHECK_STREQ(e->value, value);
        } else
                CHECK(e->key == NULL && e->value == NULL);
        CHECK(e->line == line);
}

static void test_parse(void) {
        static const char text[] =
                "# comment\n"
                "Outside = 1\n"
                "[Exec]\n"
                "  Boot = yes  \n"
                "; another comment\n"
                "Environment=A=1 \\\n"
                "  B=2\n"
                "Parameters=\"quoted\" words\n"
                "Empty=\n"
                "\n"
                "[Files]\n"
                "Bind=/a:/b\n"
                "Long=one \\\n"
                "# a comment inside a continuation is skipped\n"
                "two\n";
        IniEntry *e = NULL;
        size_t n = 0;
        unsigned bad = 0;

        CHECK(parse(text, &e, &n, &bad) == 0);
        CHECK(n == 9);
        if (n != 9)
                return;
        check_entry(e + 0, NULL, "Outside", "1", 2);
        check_entry(e + 1, "Exec", NULL, NULL, 3);
        check_entry(e + 2, "Exec", "Boot", "yes", 4);
        check_entry(e + 3, "Exec", "Environment", "A=1    B=2", 6);
        check_entry(e + 4, "Exec", "Parameters", "\"quoted\" words", 8);
        check_entry(e + 5, "Exec", "Empty", "", 9);
        check_entry(e + 6, "Files", NULL, NULL, 11);
        check_entry(e + 7, "Files", "Bind", "/a:/b", 12);
        check_entry(e + 8, "Files", "Long", "one  two", 13);
        ini_entries_free(e, n);
}

static void check_bad(const char *text, unsigned want_line) {
        IniEntry *e = NULL;
        size_t n = 0;
        unsigned bad = 0;
        int r = parse(text, &e, &n, &bad);

        if (r != -EBADMSG || bad != want_line)
                printf("# \"%s\": r=%d line=%u\n", text, r, bad);
        CHECK(r == -EBADMSG);
        CHECK(bad == want_line);
        CHECK(e == NULL);
}

static void test_parse_bad(void) {
        check_bad("[Exec]\nBoot\n", 2);
        check_bad("[Exec\n", 1);
        check_bad("[]\n", 1);
        check_bad("[A]]\n", 1);
        check_bad("[Exec]\n\n=value\n", 3);
        check_bad("[Exec]\nA=1\n[Files] trailing\n", 3);
}

static void test_parse_empty(void) {
        IniEntry *e = NULL;
        size_t n = 1;
        CHECK(parse("", &e, &n, NULL) == 0);
        CHECK(n == 0);
        ini_entries_free(e, n);
        CHECK(parse("# only a comment\n\n", &e, &n, NULL) == 0);
        CHECK(n == 0);
        ini_entries_free(e, n);
}

static void check_words(const char *value, const char *const *want, size_t n_want) {
        _cleanup_strv_free_ char **l = NULL;
        int r = ini_split_words(value, &l);

        CHECK(r == 0);
        CHECK(strv_length(l) == n_want);
        for (size_t i = 0; l && i < n_want && i < strv_length(l); i++)
                CHECK_STREQ(l[i], want[i]);
}

static void test_split_words(void) {
        check_words("", NULL, 0);
        check_words("   ", NULL, 0);
        check_words("a b  c", (const char *const[]) { "a", "b", "c" }, 3);
        check_words("A=1 \"B=two words\"", (const char *const[]) { "A=1", "B=two words" }, 2);
        check_words("'single \\n' x\\ y", (const char *const[]) { "single \\n", "x y" }, 2);
        check_words("pre\"fix post\"fix", (const char *const[]) { "prefix postfix" }, 1);
        check_words("\"a\\\"b\"", (const char *const[]) { "a\"b" }, 1);

        char **l = NULL;
        CHECK(ini_split_words("\"unterminated", &l) == -EINVAL && l == NULL);
        CHECK(ini_split_words("trailing\\", &l) == -EINVAL && l == NULL);
}

int main(void) {
        test_parse();
        test_parse_bad();
        test_parse_empty();
        test_split_words();
        return tap_finish();
}
