/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <libmount.h>
#include <stdlib.h>
#include <string.h>

#include "mount-util.h"
#include "strv.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct libmnt_table *, mnt_free_table);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct libmnt_iter *, mnt_free_iter);

static bool path_is_below(const char *p, const char *prefix, size_t n) {
        /* "/" is everything's parent; otherwise a component boundary must follow the prefix. */
        if (n == 1 && prefix[0] == '/')
                return true;
        return strncmp(p, prefix, n) == 0 && (p[n] == '\0' || p[n] == '/');
}

int mount_points_below(const char *path, char ***ret) {
        _cleanup_free_ char *real = realpath(path, NULL);
        if (!real)
                return -errno;
        _cleanup_(mnt_free_tablep) struct libmnt_table *t = mnt_new_table();
        _cleanup_(mnt_free_iterp) struct libmnt_iter *it = mnt_new_iter(MNT_ITER_FORWARD);
        if (!t || !it)
                return -ENOMEM;
        int r = mnt_table_parse_mtab(t, "/proc/self/mountinfo");
        if (r < 0)
                return r;

        _cleanup_strv_free_ char **l = NULL;
        size_t n = strlen(real);
        struct libmnt_fs *fs;
        while ((r = mnt_table_next_fs(t, it, &fs)) == 0) {
                const char *target = mnt_fs_get_target(fs);
                if (!target || !path_is_below(target, real, n) || strv_contains(l, target))
                        continue;
                if (strv_extend(&l, target) < 0)
                        return -ENOMEM;
        }
        if (r < 0)
                return r;
        if (!l && !(l = calloc(1, sizeof(char *))))
                return -ENOMEM;
        *ret = TAKE_PTR(l);
        return 0;
}

int path_has_mounts_below(const char *path) {
        _cleanup_strv_free_ char **l = NULL;
        int r = mount_points_below(path, &l);
        if (r < 0)
                return r;
        return l[0] != NULL;
}
