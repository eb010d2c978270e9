/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "mount-util.h"
#include "strv.h"
#include "tap.h"

int main(void) {
        char **l = NULL;
        CHECK(mount_points_below("/", &l) == 0);
        CHECK(l && strv_contains(l, "/"));
        CHECK(strv_contains(l, "/proc"));
        strv_free(l);

        l = NULL;
        CHECK(mount_points_below("/proc", &l) == 0);
        CHECK(l && strv_contains(l, "/proc") && !strv_contains(l, "/"));
        strv_free(l);

        /* A prefix that is not a component boundary is not "below". */
        CHECK(path_has_mounts_below("/proc/self") >= 0);
        CHECK(path_has_mounts_below("/nonexistent-berth-path") == -ENOENT);
        return tap_finish();
}
