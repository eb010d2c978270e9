/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "env-file.h"
#include "strv.h"

/* Unquotes value in place per shell-like rules os-release uses. */
static int unquote(char *v) {
        size_t n = strlen(v);
        while (n > 0 && isspace((unsigned char) v[n - 1]))
                v[--n] = 0;

        if (n == 0)
                return 0;
        char q = v[0];
        if (q != '"' && q != '\'') {
                /* Unquoted values may still carry backslash escapes. */
                char *w = v;
                for (char *p = v; *p; p++) {
                        if (*p == '\\' && p[1])
                                p++;
                        *w++ = *p;
                }
                *w = 0;
                return 0;
        }
        if (n < 2 || v[n - 1] != q)
                return -EBADMSG;
        char *w = v;
        for (char *p = v + 1; p < v + n - 1; p++) {
                if (q == '"' && *p == '\\' && p + 1 < v + n - 1 && strchr("\"\\`$", p[1]))
                        p++;
                *w++ = *p;
        }
        *w = 0;
        return 0;
}

int env_file_parse(FILE *f, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ char *line = NULL;
        size_t size = 0;
        int r;

        while (getline(&line, &size, f) >= 0) {
                char *p = line;
                p[strcspn(p, "\n")] = 0;
                while (isspace((unsigned char) *p))
                        p++;
                if (*p == 0 || *p == '#' || *p == ';')
                        continue;
                char *eq = strchr(p, '=');
                if (!eq)
                        return -EBADMSG;
                *eq = 0;
                char *key = p, *end = eq;
                while (end > key && isspace((unsigned char) end[-1]))
                        *--end = 0;
                if (!env_name_is_valid(key))
                        return -EBADMSG;
                char *value = eq + 1;
                while (isspace((unsigned char) *value))
                        value++;
                r = unquote(value);
                if (r < 0)
                        return r;
                r = strv_env_setf(&l, key, value);
                if (r < 0)
                        return r;
        }
        if (ferror(f))
                return -EIO;
        if (!l) {
                l = calloc(1, sizeof(char *));
                if (!l)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(l);
        return 0;
}
