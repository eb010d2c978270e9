/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "strv.h"
#include "tap.h"

int main(void) {
        _cleanup_strv_free_ char **l = NULL;

        CHECK(strv_extend(&l, "a") == 0);
        CHECK(strv_extend(&l, "b") == 0);
        CHECK(strv_length(l) == 2);
        CHECK(strv_contains(l, "b"));
        CHECK(!strv_contains(l, "c"));
        return tap_finish();
}
