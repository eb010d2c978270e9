/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/random.h>

#include "macro.h"
#include "parse-util.h"

int safe_atou64(const char *s, uint64_t *ret) {
        char *end;

        if (isempty(s) || !(s[0] >= '0' && s[0] <= '9'))
                return -EINVAL;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 10);
        if (errno != 0)
                return -ERANGE;
        if (*end != 0)
                return -EINVAL;
        *ret = v;
        return 0;
}

int safe_atou(const char *s, unsigned *ret) {
        uint64_t v;
        int r = safe_atou64(s, &v);
        if (r < 0)
                return r;
        if (v > UINT_MAX)
                return -ERANGE;
        *ret = (unsigned) v;
        return 0;
}

int parse_boolean(const char *s) {
        static const char *const yes[] = { "1", "yes", "y", "true", "t", "on" };
        static const char *const no[] = { "0", "no", "n", "false", "f", "off" };
        for (size_t i = 0; i < ELEMENTSOF(yes); i++)
                if (strcasecmp(s, yes[i]) == 0)
                        return 1;
        for (size_t i = 0; i < ELEMENTSOF(no); i++)
                if (strcasecmp(s, no[i]) == 0)
                        return 0;
        return -EINVAL;
}

int parse_mode(const char *s, mode_t *ret) {
        char *end;
        if (isempty(s) || !(s[0] >= '0' && s[0] <= '7'))
                return -EINVAL;
        errno = 0;
        unsigned long v = strtoul(s, &end, 8);
        if (errno != 0 || *end != 0 || v > 07777)
                return -EINVAL;
        *ret = (mode_t) v;
        return 0;
}

int split_colon_escaped(const char *s, size_t max_fields, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ char *cur = malloc(strlen(s) + 1);
        size_t n = 0;
        int r;

        if (!cur)
                return -ENOMEM;
        if (max_fields == 0)
                return -EINVAL;

        for (const char *p = s;; p++) {
                if (*p == '\\' && strv_length(l) + 1 < max_fields) {
                        if (p[1] != ':' && p[1] != '\\')
                                return -EINVAL;
                        cur[n++] = *++p;
                        continue;
                }
                if (*p == 0 || (*p == ':' && strv_length(l) + 1 < max_fields)) {
                        cur[n] = 0;
                        r = strv_extend(&l, cur);
                        if (r < 0)
                                return r;
                        n = 0;
                        if (*p == 0)
                                break;
                        continue;
                }
                cur[n++] = *p;
        }

        *ret = TAKE_PTR(l);
        return 0;
}

int unhexchar(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -EINVAL;
}

int id128_from_string(const char *s, Id128 *ret) {
        Id128 id;
        size_t len = strlen(s), i = 0, j = 0;
        bool dashed;

        if (len == 32)
                dashed = false;
        else if (len == 36)
                dashed = true;
        else
                return -EINVAL;

        while (j < 16) {
                if (dashed && (i == 8 || i == 13 || i == 18 || i == 23)) {
                        if (s[i] != '-')
                                return -EINVAL;
                        i++;
                        continue;
                }
                int a = unhexchar(s[i]), b = unhexchar(s[i + 1]);
                if (a < 0 || b < 0)
                        return -EINVAL;
                id.bytes[j++] = (uint8_t) (a << 4 | b);
                i += 2;
        }
        if (i != len)
                return -EINVAL;
        *ret = id;
        return 0;
}

char *id128_to_uuid_string(const Id128 *id, char buf[static 37]) {
        const uint8_t *b = id->bytes;
        snprintf(buf, 37,
                 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
                 b[14], b[15]);
        return buf;
}

bool id128_is_null(const Id128 *id) {
        for (size_t i = 0; i < 16; i++)
                if (id->bytes[i])
                        return false;
        return true;
}

int id128_randomize(Id128 *ret) {
        Id128 id;
        if (getrandom(id.bytes, sizeof(id.bytes), 0) != sizeof(id.bytes))
                return negative_errno();
        /* RFC 4122 version 4, variant 1: what systemd and everyone else produce as random UUIDs. */
        id.bytes[6] = (id.bytes[6] & 0x0f) | 0x40;
        id.bytes[8] = (id.bytes[8] & 0x3f) | 0x80;
        *ret = id;
        return 0;
}

bool path_is_normalized_absolute(const char *p) {
        if (isempty(p) || p[0] != '/')
                return false;
        for (const char *c = p; *c;) {
                while (*c == '/')
                        c++;
                size_t n = strcspn(c, "/");
                if ((n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
                        return false;
                c += n;
        }
        return true;
}

static const struct {
        const char *name;
        unsigned long flag;
        bool clear;
} mount_flag_words[] = {
        { "ro",            MS_RDONLY,      false }, { "rw",            MS_RDONLY,      true },
        { "nosuid",        MS_NOSUID,      false }, { "suid",          MS_NOSUID,      true },
        { "nodev",         MS_NODEV,       false }, { "dev",           MS_NODEV,       true },
        { "noexec",        MS_NOEXEC,      false }, { "exec",          MS_NOEXEC,      true },
        { "sync",          MS_SYNCHRONOUS, false }, { "async",         MS_SYNCHRONOUS, true },
        { "noatime",       MS_NOATIME,     false }, { "atime",         MS_NOATIME,     true },
        { "nodiratime",    MS_NODIRATIME,  false }, { "diratime",      MS_NODIRATIME,  true },
        { "relatime",      MS_RELATIME,    false }, { "norelatime",    MS_RELATIME,    true },
        { "strictatime",   MS_STRICTATIME, false }, { "nostrictatime", MS_STRICTATIME, true },
        { "lazytime",      MS_LAZYTIME,    false }, { "nolazytime",    MS_LAZYTIME,    true },
        { "dirsync",       MS_DIRSYNC,     false },
        { "mand",          MS_MANDLOCK,    false }, { "nomand",        MS_MANDLOCK,    true },
        { "silent",        MS_SILENT,      false }, { "loud",          MS_SILENT,      true },
};

int mount_options_split(const char *options, unsigned long *flags, char **ret_data) {
        unsigned long f = *flags;
        _cleanup_free_ char *copy = NULL, *data = NULL;
        size_t n = 0;

        if (options) {
                copy = strdup(options);
                data = calloc(1, strlen(options) + 1);
                if (!copy || !data)
                        return -ENOMEM;
        }
        for (char *save = NULL, *w = copy ? strtok_r(copy, ",", &save) : NULL; w; w = strtok_r(NULL, ",", &save)) {
                bool matched = false;
                for (size_t i = 0; i < ELEMENTSOF(mount_flag_words); i++)
                        if (streq(w, mount_flag_words[i].name)) {
                                if (mount_flag_words[i].clear)
                                        f &= ~mount_flag_words[i].flag;
                                else
                                        f |= mount_flag_words[i].flag;
                                matched = true;
                                break;
                        }
                if (matched)
                        continue;
                if (n > 0)
                        data[n++] = ',';
                strcpy(data + n, w);
                n += strlen(w);
        }

        *flags = f;
        *ret_data = n > 0 ? TAKE_PTR(data) : NULL;
        return 0;
}
