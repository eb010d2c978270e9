/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ini-file.h"
#include "macro.h"
#include "strv.h"

/* Settings files are small; the bounds keep a hostile or mistaken file (a disk image named
 * .nspawn) from costing more than a moment. */
#define INI_LINE_MAX (64U * 1024U)
#define INI_ENTRIES_MAX 4096U

void ini_entries_free(IniEntry *e, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(e[i].section);
                free(e[i].key);
                free(e[i].value);
        }
        free(e);
}

static char *strip(char *s) {
        while (isspace((unsigned char) *s))
                s++;
        size_t n = strlen(s);
        while (n > 0 && isspace((unsigned char) s[n - 1]))
                s[--n] = 0;
        return s;
}

static bool is_comment(const char *s) {
        s += strspn(s, " \t\r");
        return *s == '#' || *s == ';';
}

/* Reads one logical line (continuations joined) into *buf; 0 at EOF, 1 with a line. */
static int read_logical_line(FILE *f, char **buf, size_t *size, unsigned *lineno, unsigned *ret_first) {
        _cleanup_free_ char *joined = NULL;
        size_t len = 0;
        bool any = false;

        for (;;) {
                ssize_t k = getline(buf, size, f);
                if (k < 0)
                        break;
                (*lineno)++;
                if (!any)
                        *ret_first = *lineno;
                any = true;
                char *p = *buf;
                p[strcspn(p, "\n")] = 0;
                size_t n = strlen(p);
                if (len + n + 2 > INI_LINE_MAX)
                        return -EBADMSG;
                /* A comment line inside a continuation is skipped, as systemd does. */
                if (len > 0 && is_comment(p))
                        continue;
                bool cont = n > 0 && p[n - 1] == '\\';
                if (cont)
                        p[n - 1] = ' ';
                char *j = realloc(joined, len + n + 1);
                if (!j)
                        return -ENOMEM;
                joined = j;
                memcpy(joined + len, p, n);
                len += n;
                joined[len] = 0;
                /* A comment line never continues. */
                if (!cont || is_comment(joined))
                        break;
        }
        if (!any)
                return 0;
        free(*buf);
        *buf = joined ? TAKE_PTR(joined) : strdup("");
        *size = *buf ? strlen(*buf) + 1 : 0;
        return *buf ? 1 : -ENOMEM;
}

static int entry_add(IniEntry **e, size_t *n, const char *section, const char *key, const char *value, unsigned line) {
        if (*n >= INI_ENTRIES_MAX)
                return -EBADMSG;
        IniEntry *ne = realloc(*e, (*n + 1) * sizeof(IniEntry));
        if (!ne)
                return -ENOMEM;
        *e = ne;
        IniEntry x = {
                .section = section ? strdup(section) : NULL,
                .key = key ? strdup(key) : NULL,
                .value = value ? strdup(value) : NULL,
                .line = line,
        };
        if ((section && !x.section) || (key && !x.key) || (value && !x.value)) {
                free(x.section);
                free(x.key);
                free(x.value);
                return -ENOMEM;
        }
        ne[(*n)++] = x;
        return 0;
}

int ini_parse(FILE *f, IniEntry **ret, size_t *ret_n, unsigned *ret_bad_line) {
        _cleanup_free_ char *buf = NULL, *section = NULL;
        IniEntry *e = NULL;
        size_t n = 0, size = 0;
        unsigned lineno = 0, first = 0;
        int r;

        while ((r = read_logical_line(f, &buf, &size, &lineno, &first)) > 0) {
                char *p = strip(buf);
                if (*p == 0 || *p == '#' || *p == ';')
                        continue;
                if (*p == '[') {
                        size_t l = strlen(p);
                        if (l < 3 || p[l - 1] != ']' || memchr(p + 1, ']', l - 2) || memchr(p + 1, '[', l - 2)) {
                                r = -EBADMSG;
                                break;
                        }
                        p[l - 1] = 0;
                        free(section);
                        section = strdup(p + 1);
                        if (!section) {
                                r = -ENOMEM;
                                break;
                        }
                        r = entry_add(&e, &n, section, NULL, NULL, first);
                        if (r < 0)
                                break;
                        continue;
                }
                char *eq = strchr(p, '=');
                if (!eq) {
                        r = -EBADMSG;
                        break;
                }
                *eq = 0;
                char *key = strip(p), *value = strip(eq + 1);
                if (*key == 0) {
                        r = -EBADMSG;
                        break;
                }
                r = entry_add(&e, &n, section, key, value, first);
                if (r < 0)
                        break;
        }
        if (r < 0) {
                if (r == -EBADMSG && ret_bad_line)
                        *ret_bad_line = first ? first : lineno;
                ini_entries_free(e, n);
                return r;
        }
        *ret = e;
        *ret_n = n;
        return 0;
}

int ini_split_words(const char *value, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ char *w = malloc(strlen(value) + 1);
        const char *p = value;

        if (!w)
                return -ENOMEM;
        for (;;) {
                while (isspace((unsigned char) *p))
                        p++;
                if (*p == 0)
                        break;
                size_t n = 0;
                char quote = 0;
                for (; *p && (quote || !isspace((unsigned char) *p)); p++) {
                        if (quote && *p == quote) {
                                quote = 0;
                                continue;
                        }
                        if (!quote && (*p == '"' || *p == '\'')) {
                                quote = *p;
                                continue;
                        }
                        /* Inside single quotes a backslash is just a backslash. */
                        if (*p == '\\' && quote != '\'') {
                                if (!p[1])
                                        return -EINVAL;
                                p++;
                        }
                        w[n++] = *p;
                }
                if (quote)
                        return -EINVAL;
                w[n] = 0;
                if (strv_extend(&l, w) < 0)
                        return -ENOMEM;
        }
        if (!l) {
                l = calloc(1, sizeof(char *));
                if (!l)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(l);
        return 0;
}
