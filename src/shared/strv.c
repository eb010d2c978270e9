/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "strv.h"

char **strv_free(char **l) {
        if (!l)
                return NULL;
        for (char **i = l; *i; i++)
                free(*i);
        free(l);
        return NULL;
}

size_t strv_length(char * const *l) {
        size_t n = 0;
        if (l)
                while (l[n])
                        n++;
        return n;
}

char **strv_copy(char * const *l) {
        size_t n = strv_length(l);
        char **c = calloc(n + 1, sizeof(char *));
        if (!c)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                c[i] = strdup(l[i]);
                if (!c[i])
                        return strv_free(c);
        }
        return c;
}

bool strv_contains(char * const *l, const char *s) {
        if (l)
                for (char * const *i = l; *i; i++)
                        if (streq(*i, s))
                                return true;
        return false;
}

int strv_consume(char ***l, char *value) {
        if (!value)
                return -ENOMEM;
        size_t n = strv_length(*l);
        char **c = realloc(*l, sizeof(char *) * (n + 2));
        if (!c) {
                free(value);
                return -ENOMEM;
        }
        c[n] = value;
        c[n + 1] = NULL;
        *l = c;
        return 0;
}

int strv_extend(char ***l, const char *value) {
        return strv_consume(l, strdup(value));
}

bool env_name_is_valid(const char *name) {
        if (isempty(name))
                return false;
        if (name[0] >= '0' && name[0] <= '9')
                return false;
        for (const char *p = name; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                      *p == '_'))
                        return false;
        return strlen(name) <= 4096;
}

bool env_assignment_is_valid(const char *assignment) {
        const char *eq = strchr(assignment, '=');
        if (!eq)
                return false;
        _cleanup_free_ char *name = strndup(assignment, (size_t) (eq - assignment));
        return name && env_name_is_valid(name);
}

static char **env_find(char **l, const char *name, size_t len) {
        if (l)
                for (char **i = l; *i; i++)
                        if (strneq(*i, name, len) && (*i)[len] == '=')
                                return i;
        return NULL;
}

int strv_env_set(char ***l, const char *assignment) {
        const char *eq = strchr(assignment, '=');
        if (!eq)
                return -EINVAL;
        char *copy = strdup(assignment);
        if (!copy)
                return -ENOMEM;
        char **slot = env_find(*l, assignment, (size_t) (eq - assignment));
        if (slot) {
                free(*slot);
                *slot = copy;
                return 0;
        }
        return strv_consume(l, copy);
}

int strv_env_setf(char ***l, const char *name, const char *value) {
        _cleanup_free_ char *a = strjoin(name, "=", value);
        if (!a)
                return -ENOMEM;
        return strv_env_set(l, a);
}

const char *strv_env_get(char * const *l, const char *name) {
        char **slot = env_find((char **) l, name, strlen(name));
        return slot ? *slot + strlen(name) + 1 : NULL;
}

char *strjoin_many(const char *first, ...) {
        va_list ap;
        size_t len = 0;

        va_start(ap, first);
        for (const char *s = first; s; s = va_arg(ap, const char *))
                len += strlen(s);
        va_end(ap);

        char *r = malloc(len + 1), *p = r;
        if (!r)
                return NULL;
        va_start(ap, first);
        for (const char *s = first; s; s = va_arg(ap, const char *))
                p = stpcpy(p, s);
        va_end(ap);
        *p = 0;
        return r;
}

const char *startswith(const char *s, const char *prefix) {
        size_t l = strlen(prefix);
        return strneq(s, prefix, l) ? s + l : NULL;
}
