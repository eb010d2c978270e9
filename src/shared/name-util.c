/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "name-util.h"
#include "parse-util.h"

static bool valid_ldh_char(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
}

/* systemd's rules (hostname_is_valid() without flags), which its machinectl and nspawn apply to
 * machine names too: dot-separated labels of letters, digits and '-', no label empty or starting
 * or ending with '-', no trailing dot, at most 64 characters. A name we accept that systemd
 * refuses would make its clients fail on our machines. */
bool hostname_is_valid(const char *s) {
        bool dot = true, hyphen = false;
        const char *p;

        if (isempty(s))
                return false;
        for (p = s; *p; p++) {
                if (*p == '.') {
                        if (dot || hyphen)
                                return false;
                        dot = true;
                        hyphen = false;
                } else if (*p == '-') {
                        if (dot)
                                return false;
                        dot = false;
                        hyphen = true;
                } else {
                        if (!valid_ldh_char(*p))
                                return false;
                        dot = hyphen = false;
                }
        }
        if (dot || hyphen)
                return false;
        return (size_t) (p - s) <= MACHINE_NAME_MAX;
}

char *hostname_cleanup(char *s) {
        char *d = s;

        for (const char *p = s; *p; p++) {
                bool label_start = d == s || d[-1] == '.';
                if (*p == '.') {
                        while (!label_start && d[-1] == '-')  /* a label may not end in '-' */
                                label_start = --d == s || d[-1] == '.';
                        if (!label_start)
                                *d++ = '.';
                } else if (*p == '-') {
                        if (!label_start)
                                *d++ = '-';
                } else if (valid_ldh_char(*p))
                        *d++ = *p;
        }
        if (d - s > MACHINE_NAME_MAX)
                d = s + MACHINE_NAME_MAX;
        while (d > s && (d[-1] == '.' || d[-1] == '-'))
                d--;
        *d = 0;
        return s;
}

bool machine_name_is_valid(const char *s) {
        return hostname_is_valid(s);
}

char *bus_label_escape(const char *s) {
        static const char hex[] = "0123456789abcdef";
        size_t n = strlen(s);

        if (n == 0)
                return strdup("_");

        char *r = malloc(n * 3 + 1), *p = r;
        if (!r)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char) s[i];
                if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (i > 0 && c >= '0' && c <= '9'))
                        *p++ = (char) c;
                else {
                        *p++ = '_';
                        *p++ = hex[c >> 4];
                        *p++ = hex[c & 15];
                }
        }
        *p = 0;
        return r;
}

char *bus_label_unescape(const char *s) {
        if (streq(s, "_"))
                return strdup("");

        size_t n = strlen(s);
        char *r = malloc(n + 1), *p = r;
        if (!r)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                if (s[i] == '_') {
                        int a, b;
                        if (i + 2 >= n) {
                                free(r);
                                errno = EINVAL;
                                return NULL;
                        }
                        a = unhexchar(s[i + 1]);
                        b = unhexchar(s[i + 2]);
                        if (a < 0 || b < 0 || (a == 0 && b == 0)) {
                                free(r);
                                errno = EINVAL;
                                return NULL;
                        }
                        *p++ = (char) (a << 4 | b);
                        i += 2;
                } else
                        *p++ = s[i];
        }
        *p = 0;
        return r;
}
