/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"
#include "path-util.h"
#include "strv.h"

int path_for_each_prefix(const char *path, int (*fn)(const char *prefix, void *userdata), void *userdata) {
        if (isempty(path))
                return -EINVAL;
        _cleanup_free_ char *p = strdup(path);
        if (!p)
                return -ENOMEM;

        for (char *s = p + 1;; s++) {
                if (*s != '/' && *s != 0)
                        continue;
                /* "//" or a trailing slash would only name the same prefix twice. */
                if (s[-1] != '/') {
                        char saved = *s;
                        *s = 0;
                        int r = fn(p, userdata);
                        if (r < 0)
                                return r;
                        *s = saved;
                }
                if (*s == 0)
                        return 0;
        }
}

static int mkdir_one(const char *path, void *userdata) {
        mode_t mode = *(const mode_t *) userdata;
        return mkdir(path, mode) < 0 && errno != EEXIST ? negative_errno() : 0;
}

int mkdir_p(const char *path, mode_t mode) {
        return path_for_each_prefix(path, mkdir_one, &mode);
}

int find_executable(const char *name, const char *search_path, char **ret) {
        struct stat st;

        if (isempty(name))
                return -EINVAL;
        if (strchr(name, '/')) {
                if (stat(name, &st) < 0)
                        return negative_errno();
                if (S_ISDIR(st.st_mode))
                        return -EISDIR;
                *ret = strdup(name);
                return *ret ? 0 : -ENOMEM;
        }

        _cleanup_free_ char *dirs = strdup(isempty(search_path) ? DEFAULT_PATH : search_path);
        if (!dirs)
                return -ENOMEM;
        for (char *save = NULL, *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
                if (d[0] != '/')
                        continue;
                _cleanup_free_ char *p = strjoin(d, "/", name);
                if (!p)
                        return -ENOMEM;
                if (stat(p, &st) >= 0 && S_ISREG(st.st_mode) && access(p, X_OK) >= 0) {
                        *ret = TAKE_PTR(p);
                        return 0;
                }
        }
        return -ENOENT;
}
