/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "env-file.h"
#include "macro.h"
#include "strv.h"
#include "tap.h"

static int parse(const char *s, char ***ret) {
        FILE *f = fmemopen((void *) s, strlen(s), "r");
        if (!f)
                return -errno;
        int r = env_file_parse(f, ret);
        fclose(f);
        return r;
}

static void test_os_release(void) {
        static const char os_release[] =
                "# This is os-release\n"
                "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n"
                "NAME=\"Debian GNU/Linux\"\n"
                "VERSION_ID=\"12\"\n"
                "VERSION=\"12 (bookworm)\"\n"
                "VERSION_CODENAME=bookworm\n"
                "ID=debian\n"
                "\n"
                "   \n"
                "  # indented comment\n"
                "; semicolon comment\n"
                "HOME_URL=\"https://www.debian.org/\"\n"
                "SUPPORT_URL='https://www.debian.org/support'\n"
                "BUG_REPORT_URL=\"https://bugs.debian.org/\"";
        _cleanup_strv_free_ char **l = NULL;

        CHECK(parse(os_release, &l) == 0);
        CHECK(strv_length(l) == 9);
        CHECK_STREQ(strv_env_get(l, "PRETTY_NAME"), "Debian GNU/Linux 12 (bookworm)");
        CHECK_STREQ(strv_env_get(l, "NAME"), "Debian GNU/Linux");
        CHECK_STREQ(strv_env_get(l, "VERSION_ID"), "12");
        CHECK_STREQ(strv_env_get(l, "VERSION"), "12 (bookworm)");
        CHECK_STREQ(strv_env_get(l, "VERSION_CODENAME"), "bookworm");
        CHECK_STREQ(strv_env_get(l, "ID"), "debian");
        CHECK_STREQ(strv_env_get(l, "HOME_URL"), "https://www.debian.org/");
        CHECK_STREQ(strv_env_get(l, "SUPPORT_URL"), "https://www.debian.org/support");
        CHECK_STREQ(strv_env_get(l, "BUG_REPORT_URL"), "https://bugs.debian.org/");
        CHECK_STREQ(l[0], "PRETTY_NAME=Debian GNU/Linux 12 (bookworm)");
}

static void test_quotes_and_escapes(void) {
        static const char content[] =
                "DQ=\"a \\\"quoted\\\" word\"\n"        /* DQ="a \"quoted\" word" */
                "BS=\"back\\\\slash\"\n"                /* BS="back\\slash" */
                "DOLLAR=\"\\$HOME and \\`cmd\\`\"\n"    /* DOLLAR="\$HOME and \`cmd\`" */
                "OTHER=\"keep\\n\\x\"\n"                /* OTHER="keep\n\x": unknown escapes stay */
                "SQ='no \\\"escapes\\\" here'\n"        /* SQ='no \"escapes\" here' */
                "SQDQ='has \"double\" quotes'\n"
                "DQSQ=\"has 'single' quotes\"\n"
                "UNQ=foo\\ bar\n"                       /* UNQ=foo\ bar */
                "UNQBS=a\\\\b\n"                        /* UNQBS=a\\b */
                "EMPTY=\n"
                "EMPTYDQ=\"\"\n"
                "EMPTYSQ=''\n"
                "EQ=\"a=b=c\"\n"
                "HASH=\"not # a comment\"\n"
                "TRAIL=value   \n"
                "INNER=two words\n"
                "APOS=it's\n"
                "DQSPACE=\"  padded  \"\n";
        _cleanup_strv_free_ char **l = NULL;

        CHECK(parse(content, &l) == 0);
        CHECK(strv_length(l) == 18);
        CHECK_STREQ(strv_env_get(l, "DQ"), "a \"quoted\" word");
        CHECK_STREQ(strv_env_get(l, "BS"), "back\\slash");
        CHECK_STREQ(strv_env_get(l, "DOLLAR"), "$HOME and `cmd`");
        CHECK_STREQ(strv_env_get(l, "OTHER"), "keep\\n\\x");
        CHECK_STREQ(strv_env_get(l, "SQ"), "no \\\"escapes\\\" here");
        CHECK_STREQ(strv_env_get(l, "SQDQ"), "has \"double\" quotes");
        CHECK_STREQ(strv_env_get(l, "DQSQ"), "has 'single' quotes");
        CHECK_STREQ(strv_env_get(l, "UNQ"), "foo bar");
        CHECK_STREQ(strv_env_get(l, "UNQBS"), "a\\b");
        CHECK_STREQ(strv_env_get(l, "EMPTY"), "");
        CHECK_STREQ(strv_env_get(l, "EMPTYDQ"), "");
        CHECK_STREQ(strv_env_get(l, "EMPTYSQ"), "");
        CHECK_STREQ(strv_env_get(l, "EQ"), "a=b=c");
        CHECK_STREQ(strv_env_get(l, "HASH"), "not # a comment");
        CHECK_STREQ(strv_env_get(l, "TRAIL"), "value");
        CHECK_STREQ(strv_env_get(l, "INNER"), "two words");
        CHECK_STREQ(strv_env_get(l, "APOS"), "it's");
        CHECK_STREQ(strv_env_get(l, "DQSPACE"), "  padded  ");
}

static void test_whitespace_and_duplicates(void) {
        static const char content[] =
                "A = 1\n"
                "  B\t=\t\"two\"  \n"
                "C=3\r\n"
                "\tD=4\n"
                "A=override\n";
        _cleanup_strv_free_ char **l = NULL;

        CHECK(parse(content, &l) == 0);
        /* A later assignment replaces an earlier one. */
        CHECK(strv_length(l) == 4);
        CHECK_STREQ(strv_env_get(l, "A"), "override");
        CHECK_STREQ(strv_env_get(l, "B"), "two");
        CHECK_STREQ(strv_env_get(l, "C"), "3");
        CHECK_STREQ(strv_env_get(l, "D"), "4");
        CHECK(strv_env_get(l, "A ") == NULL);
}

static void test_empty(void) {
        char **l = NULL;

        CHECK(parse("", &l) == 0);
        CHECK(l != NULL && strv_length(l) == 0);
        l = strv_free(l);

        CHECK(parse("# only a comment\n\n   \n", &l) == 0);
        CHECK(l != NULL && strv_length(l) == 0);
        l = strv_free(l);
}

static void test_invalid(void) {
        static const char *const bad[] = {
                "JUSTTEXT\n",
                "A=1\nnot an assignment\nB=2\n",
                "=value\n",
                " = value\n",
                "1A=x\n",
                "A-B=x\n",
                "A B=x\n",
                "A.B=x\n",
                "Ä=x\n",
                "A=\"unterminated\n",
                "A='unterminated\n",
                "A=\"\n",
                "A='\n",
                "A=\"mixed'\n",
                "A=\"x\" trailing\n",
        };

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                char **l = NULL;
                int r = parse(bad[i], &l);
                if (r != -EBADMSG)
                        printf("# env_file_parse(bad[%zu]) = %d\n", i, r);
                CHECK(r == -EBADMSG);
                /* Output untouched on failure. */
                CHECK(l == NULL);
                strv_free(l);
        }
}

int main(void) {
        test_os_release();
        test_quotes_and_escapes();
        test_whitespace_and_duplicates();
        test_empty();
        test_invalid();
        return tap_finish();
}
