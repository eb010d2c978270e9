/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "strv.h"
#include "tap.h"

static void test_extend_contains(void) {
        _cleanup_strv_free_ char **l = NULL;

        CHECK(strv_length(NULL) == 0);
        CHECK(!strv_contains(NULL, "a"));
        CHECK(strv_extend(&l, "a") == 0);
        CHECK(strv_extend(&l, "b") == 0);
        CHECK(strv_extend(&l, "") == 0);
        CHECK(strv_length(l) == 3);
        CHECK(strv_contains(l, "b"));
        CHECK(strv_contains(l, ""));
        CHECK(!strv_contains(l, "c"));
        CHECK(!strv_contains(l, "ab"));
        CHECK(l[3] == NULL);
}

static void test_copy(void) {
        char *src[] = { (char *) "x", (char *) "", (char *) "yz", NULL };
        _cleanup_strv_free_ char **c = strv_copy(src);

        CHECK(c != NULL);
        CHECK(strv_length(c) == 3);
        CHECK(c && c[0] != src[0]); /* a deep copy, not the same pointers */
        CHECK_STREQ(c ? c[0] : NULL, "x");
        CHECK_STREQ(c ? c[1] : NULL, "");
        CHECK_STREQ(c ? c[2] : NULL, "yz");
        CHECK(c && c[3] == NULL);

        /* Copies of NULL and of an empty list are both empty, NULL-terminated lists. */
        _cleanup_strv_free_ char **e = strv_copy(NULL);
        CHECK(e != NULL && e[0] == NULL);
        char *empty[] = { NULL };
        _cleanup_strv_free_ char **e2 = strv_copy(empty);
        CHECK(e2 != NULL && e2[0] == NULL);
}

static void test_consume(void) {
        _cleanup_strv_free_ char **l = NULL;

        CHECK(strv_consume(&l, strdup("one")) == 0);
        CHECK(strv_consume(&l, strdup("two")) == 0);
        CHECK(strv_length(l) == 2);
        CHECK_STREQ(l[1], "two");
        /* NULL value is what a failed strdup() passes: reported as OOM, list unchanged. */
        CHECK(strv_consume(&l, NULL) == -ENOMEM);
        CHECK(strv_length(l) == 2);
}

static void test_env_name(void) {
        CHECK(env_name_is_valid("A"));
        CHECK(env_name_is_valid("_"));
        CHECK(env_name_is_valid("PATH"));
        CHECK(env_name_is_valid("a_b_9"));
        CHECK(env_name_is_valid("_9"));
        CHECK(!env_name_is_valid(NULL));
        CHECK(!env_name_is_valid(""));
        CHECK(!env_name_is_valid("9A"));
        CHECK(!env_name_is_valid("A-B"));
        CHECK(!env_name_is_valid("A B"));
        CHECK(!env_name_is_valid("A=B"));
        CHECK(!env_name_is_valid("Ä"));

        char big[4098];
        memset(big, 'A', sizeof(big) - 1);
        big[sizeof(big) - 1] = 0; /* 4097 characters */
        CHECK(!env_name_is_valid(big));
        big[4096] = 0; /* 4096 characters */
        CHECK(env_name_is_valid(big));
}

static void test_env_assignment(void) {
        CHECK(env_assignment_is_valid("A=B"));
        CHECK(env_assignment_is_valid("A="));
        CHECK(env_assignment_is_valid("A=B=C"));
        CHECK(env_assignment_is_valid("A= spaces are fine "));
        CHECK(!env_assignment_is_valid("A"));
        CHECK(!env_assignment_is_valid(""));
        CHECK(!env_assignment_is_valid("=B"));
        CHECK(!env_assignment_is_valid("1A=B"));
        CHECK(!env_assignment_is_valid("A B=C"));
        CHECK(!env_assignment_is_valid("A-B=C"));
}

static void test_env_set_get(void) {
        _cleanup_strv_free_ char **l = NULL;

        CHECK(strv_env_get(NULL, "A") == NULL);
        CHECK(strv_env_set(&l, "A=1") == 0);
        CHECK(strv_env_set(&l, "AB=2") == 0);
        CHECK(strv_env_set(&l, "B=") == 0);
        CHECK(strv_length(l) == 3);
        CHECK_STREQ(strv_env_get(l, "A"), "1");
        CHECK_STREQ(strv_env_get(l, "AB"), "2");
        CHECK_STREQ(strv_env_get(l, "B"), "");
        CHECK(strv_env_get(l, "C") == NULL);
        /* A prefix of a name is not that name. */
        CHECK(strv_env_get(l, "") == NULL);

        /* Replacing keeps position and length, and only touches the exact name. */
        CHECK(strv_env_set(&l, "A=replaced") == 0);
        CHECK(strv_length(l) == 3);
        CHECK_STREQ(l[0], "A=replaced");
        CHECK_STREQ(strv_env_get(l, "A"), "replaced");
        CHECK_STREQ(strv_env_get(l, "AB"), "2");
        CHECK(strv_env_set(&l, "AB=x=y") == 0);
        CHECK(strv_length(l) == 3);
        CHECK_STREQ(strv_env_get(l, "AB"), "x=y");
        CHECK_STREQ(strv_env_get(l, "A"), "replaced");

        CHECK(strv_env_set(&l, "NOEQUALS") == -EINVAL);
        CHECK(strv_length(l) == 3);

        CHECK(strv_env_setf(&l, "C", "3") == 0);
        CHECK(strv_length(l) == 4);
        CHECK_STREQ(l[3], "C=3");
        CHECK(strv_env_setf(&l, "C", "") == 0);
        CHECK(strv_length(l) == 4);
        CHECK_STREQ(strv_env_get(l, "C"), "");
        CHECK(strv_env_setf(&l, "B", "with space") == 0);
        CHECK_STREQ(strv_env_get(l, "B"), "with space");
        CHECK(strv_length(l) == 4);
}

static void test_strjoin(void) {
        _cleanup_free_ char *a = strjoin("a");
        _cleanup_free_ char *b = strjoin("a", "bc", "", "d");
        _cleanup_free_ char *c = strjoin("");
        _cleanup_free_ char *d = strjoin("x", "=", "y");

        CHECK_STREQ(a, "a");
        CHECK_STREQ(b, "abcd");
        CHECK_STREQ(c, "");
        CHECK_STREQ(d, "x=y");
}

static void test_startswith(void) {
        const char *s = "foobar";

        CHECK(startswith(s, "foo") == s + 3);
        CHECK_STREQ(startswith(s, "foo"), "bar");
        CHECK(startswith(s, "") == s);
        CHECK(startswith(s, "foobar") == s + 6);
        CHECK(startswith(s, "foobarx") == NULL);
        CHECK(startswith(s, "bar") == NULL);
        CHECK(startswith(s, "Foo") == NULL);
        CHECK(startswith("", "a") == NULL);
        CHECK(startswith("", "") != NULL);
}

int main(void) {
        test_extend_contains();
        test_copy();
        test_consume();
        test_env_name();
        test_env_assignment();
        test_env_set_get();
        test_strjoin();
        test_startswith();
        return tap_finish();
}
