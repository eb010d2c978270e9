/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "strv.h"
#include "unit-name.h"

#define VALID_CHARS "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ:_."

static const char *const unit_suffixes[] = {
        ".service", ".socket", ".target", ".device", ".mount", ".automount", ".swap",
        ".timer", ".path", ".slice", ".scope",
};

char *unit_name_escape(const char *s) {
        static const char hex[] = "0123456789abcdef";
        char *r = malloc(strlen(s) * 4 + 1), *t = r;

        if (!r)
                return NULL;
        for (const char *p = s; *p; p++) {
                unsigned char c = (unsigned char) *p;
                /* A leading dot would make a hidden unit file; '-' is systemd's path separator. */
                if (c == '/')
                        *t++ = '-';
                else if ((p == s && c == '.') || c == '-' || c == '\\' || !strchr(VALID_CHARS, c) || c == 0) {
                        *t++ = '\\';
                        *t++ = 'x';
                        *t++ = hex[c >> 4];
                        *t++ = hex[c & 15];
                } else
                        *t++ = (char) c;
        }
        *t = 0;
        return r;
}

bool unit_name_is_valid(const char *s) {
        size_t n = strlen(s);
        const char *suffix = NULL;

        if (n == 0 || n >= UNIT_NAME_MAX)
                return false;
        for (size_t i = 0; i < ELEMENTSOF(unit_suffixes); i++) {
                size_t l = strlen(unit_suffixes[i]);
                if (n > l && streq(s + n - l, unit_suffixes[i])) {
                        suffix = s + n - l;
                        break;
                }
        }
        if (!suffix)
                return false;
        const char *at = NULL;
        for (const char *p = s; p < suffix; p++) {
                if (*p == '@') {
                        if (at)
                                return false;
                        at = p;
                } else if (!strchr(VALID_CHARS "-\\", *p))
                        return false;
        }
        return at != s; /* "@foo.service" has no prefix */
}

char *unit_name_for_machine(const char *machine_name) {
        _cleanup_free_ char *e = unit_name_escape(machine_name);
        if (!e)
                return NULL;
        return strjoin("machine-", e, ".scope");
}

static bool is_slice(const char *component, size_t n) {
        return n > 6 && strneq(component + n - 6, ".slice", 6);
}

int cg_path_get_unit(const char *path, char **ret_unit, char **ret_subgroup) {
        const char *p = path;

        for (;;) {
                while (*p == '/')
                        p++;
                size_t n = strcspn(p, "/");
                if (n == 0)
                        return -ENXIO;
                if (is_slice(p, n)) {
                        p += n;
                        continue;
                }
                /* cg_escape() prefixes names that clash with kernel files with '_'. */
                const char *name = *p == '_' ? p + 1 : p;
                size_t nn = n - (size_t) (name - p);
                _cleanup_free_ char *unit = strndup(name, nn);
                if (!unit)
                        return -ENOMEM;
                if (!unit_name_is_valid(unit))
                        return -ENXIO;
                if (ret_subgroup) {
                        const char *rest = p + n;
                        while (*rest == '/')
                                rest++;
                        char *sub = strdup(rest);
                        if (!sub)
                                return -ENOMEM;
                        size_t l = strlen(sub);
                        while (l > 0 && sub[l - 1] == '/')
                                sub[--l] = 0;
                        *ret_subgroup = sub;
                }
                *ret_unit = TAKE_PTR(unit);
                return 0;
        }
}
