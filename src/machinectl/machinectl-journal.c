/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-journal.h>

#include "fd-util.h"
#include "machinectl-journal.h"
#include "macro.h"
#include "string-table.h"

static const char *const journal_mode_table[_JOURNAL_MODE_MAX] = {
        [JOURNAL_SHORT] = "short",
        [JOURNAL_SHORT_ISO] = "short-iso",
        [JOURNAL_SHORT_ISO_PRECISE] = "short-iso-precise",
        [JOURNAL_SHORT_PRECISE] = "short-precise",
        [JOURNAL_SHORT_MONOTONIC] = "short-monotonic",
        [JOURNAL_SHORT_UNIX] = "short-unix",
        [JOURNAL_VERBOSE] = "verbose",
        [JOURNAL_EXPORT] = "export",
        [JOURNAL_JSON] = "json",
        [JOURNAL_JSON_PRETTY] = "json-pretty",
        [JOURNAL_CAT] = "cat",
};

DEFINE_STRING_TABLE_LOOKUP(journal_mode, JournalMode)

/* A field's value as a NUL-terminated string, or NULL. */
static char *field(sd_journal *j, const char *name) {
        const void *data;
        size_t len, k = strlen(name);

        if (sd_journal_get_data(j, name, &data, &len) < 0 || len <= k || ((const char *) data)[k] != '=')
                return NULL;
        return strndup((const char *) data + k + 1, len - k - 1);
}

/* Shown as text by journalctl: valid UTF-8 without control characters but tab and newline. Not
 * mbrtowc(): the answer must not depend on the locale. */
static bool value_is_text(const char *p, size_t n) {
        const unsigned char *s = (const unsigned char *) p;
        for (size_t i = 0; i < n;) {
                unsigned c = s[i];
                size_t k = c < 0x80 ? 0 : (c & 0xe0) == 0xc0 ? 1 : (c & 0xf0) == 0xe0 ? 2 : (c & 0xf8) == 0xf0 ? 3 : 4;
                if (k == 4 || (k == 1 && c < 0xc2) || i + k >= n + (k == 0))
                        return false;
                if (k == 0 && c < ' ' && c != '\t' && c != '\n')
                        return false;
                if (k == 0 && c == 0x7f)
                        return false;
                for (size_t m = 1; m <= k; m++)
                        if ((s[i + m] & 0xc0) != 0x80)
                                return false;
                i += k + 1;
        }
        return true;
}

/* The time of the entry as journalctl's short modes print it. */
static void format_short_time(sd_journal *j, JournalMode mode, char *ts, size_t size) {
        uint64_t usec = 0;
        sd_id128_t boot;
        struct tm tm;

        ts[0] = 0;
        if (mode == JOURNAL_SHORT_MONOTONIC) {
                (void) sd_journal_get_monotonic_usec(j, &usec, &boot);
                snprintf(ts, size, "[%5llu.%06llu]", (unsigned long long) (usec / 1000000), (unsigned long long) (usec % 1000000));
                return;
        }
        (void) sd_journal_get_realtime_usec(j, &usec);
        if (mode == JOURNAL_SHORT_UNIX) {
                snprintf(ts, size, "%llu.%06llu", (unsigned long long) (usec / 1000000), (unsigned long long) (usec % 1000000));
                return;
        }
        time_t t = (time_t) (usec / 1000000);
        if (!localtime_r(&t, &tm))
                return;
        if (mode == JOURNAL_SHORT_ISO)
                strftime(ts, size, "%Y-%m-%dT%H:%M:%S%z", &tm);
        else if (mode == JOURNAL_SHORT_ISO_PRECISE) {
                size_t w = strftime(ts, size, "%Y-%m-%dT%H:%M:%S", &tm);
                w += snprintf(ts + w, size - w, ".%06llu", (unsigned long long) (usec % 1000000));
                strftime(ts + w, size - w, "%z", &tm);
        } else {
                size_t w = strftime(ts, size, "%b %d %H:%M:%S", &tm);
                if (mode == JOURNAL_SHORT_PRECISE)
                        snprintf(ts + w, size - w, ".%06llu", (unsigned long long) (usec % 1000000));
        }
}

static void print_short(FILE *f, sd_journal *j, JournalMode mode) {
        _cleanup_free_ char *msg = field(j, "MESSAGE");
        char ts[96];

        if (mode == JOURNAL_CAT) {
                fprintf(f, "%s\n", msg ?: "");
                return;
        }
        _cleanup_free_ char *host = field(j, "_HOSTNAME"), *ident = field(j, "SYSLOG_IDENTIFIER");
        _cleanup_free_ char *comm = ident ? NULL : field(j, "_COMM"), *pid = field(j, "_PID");
        format_short_time(j, mode, ts, sizeof(ts));
        fprintf(f, "%s %s %s", ts, host ?: "localhost", ident ?: comm ?: "unknown");
        if (pid)
                fprintf(f, "[%s]", pid);
        fprintf(f, ": %s\n", msg ?: "");
}

/* The trusted address fields journalctl puts first in verbose, export and JSON output. */
typedef struct EntryAddress {
        char *cursor;
        uint64_t realtime, monotonic;
        char boot_id[33];
} EntryAddress;

static int entry_address(sd_journal *j, EntryAddress *a) {
        sd_id128_t boot = {};
        *a = (EntryAddress) {};
        int r = sd_journal_get_cursor(j, &a->cursor);
        if (r >= 0)
                r = sd_journal_get_realtime_usec(j, &a->realtime);
        if (r >= 0)
                r = sd_journal_get_monotonic_usec(j, &a->monotonic, &boot);
        sd_id128_to_string(boot, a->boot_id);
        return r;
}

static void print_verbose(FILE *f, sd_journal *j) {
        _cleanup_free_ char *cursor = NULL;
        uint64_t usec = 0;
        char ts[96] = "";
        struct tm tm;
        const void *data;
        size_t len;

        (void) sd_journal_get_realtime_usec(j, &usec);
        (void) sd_journal_get_cursor(j, &cursor);
        time_t t = (time_t) (usec / 1000000);
        if (localtime_r(&t, &tm)) {
                size_t w = strftime(ts, sizeof(ts), "%a %Y-%m-%d %H:%M:%S", &tm);
                w += snprintf(ts + w, sizeof(ts) - w, ".%06llu ", (unsigned long long) (usec % 1000000));
                strftime(ts + w, sizeof(ts) - w, "%Z", &tm);
        }
        fprintf(f, "%s [%s]\n", ts, cursor ?: "");
        SD_JOURNAL_FOREACH_DATA(j, data, len) {
                const char *p = data, *eq = memchr(p, '=', len);
                if (!eq)
                        continue;
                if (value_is_text(eq + 1, len - (eq + 1 - p)))
                        fprintf(f, "    %.*s\n", (int) len, p);
                else
                        fprintf(f, "    %.*s=[%zu bytes of binary data]\n", (int) (eq - p), p, len - (eq + 1 - p));
        }
}

/* journalctl -o export: the Journal Export Format, one entry followed by an empty line. */
static void print_export(FILE *f, sd_journal *j) {
        EntryAddress a;
        const void *data;
        size_t len;

        (void) entry_address(j, &a);
        fprintf(f, "__CURSOR=%s\n__REALTIME_TIMESTAMP=%llu\n__MONOTONIC_TIMESTAMP=%llu\n_BOOT_ID=%s\n", a.cursor ?: "",
                (unsigned long long) a.realtime, (unsigned long long) a.monotonic, a.boot_id);
        free(a.cursor);
        SD_JOURNAL_FOREACH_DATA(j, data, len) {
                const char *p = data, *eq = memchr(p, '=', len);
                if (!eq)
                        continue;
                size_t vlen = len - (eq + 1 - p);
                if (memchr(eq + 1, '\n', vlen) || !value_is_text(eq + 1, vlen)) {
                        /* Binary-safe form: the name, a little-endian 64-bit size, the bytes. */
                        unsigned char le[8];
                        for (size_t i = 0; i < 8; i++)
                                le[i] = (unsigned char) ((uint64_t) vlen >> (8 * i));
                        fprintf(f, "%.*s\n", (int) (eq - p), p);
                        fwrite(le, 1, sizeof(le), f);
                        fwrite(eq + 1, 1, vlen, f);
                        fputc('\n', f);
                } else
                        fprintf(f, "%.*s\n", (int) len, p);
        }
        fputc('\n', f);
}

static json_object *value_json(const char *p, size_t n) {
        if (value_is_text(p, n))
                return json_object_new_string_len(p, (int) n);
        json_object *a = json_object_new_array();
        for (size_t i = 0; a && i < n; i++)
                json_object_array_add(a, json_object_new_int((unsigned char) p[i]));
        return a;
}

static json_object *entry_json(sd_journal *j) {
        EntryAddress a;
        char num[32];
        const void *data;
        size_t len;
        json_object *o = json_object_new_object();

        if (!o)
                return NULL;
        (void) entry_address(j, &a);
        json_object_object_add(o, "__CURSOR", json_object_new_string(a.cursor ?: ""));
        free(a.cursor);
        snprintf(num, sizeof(num), "%llu", (unsigned long long) a.realtime);
        json_object_object_add(o, "__REALTIME_TIMESTAMP", json_object_new_string(num));
        snprintf(num, sizeof(num), "%llu", (unsigned long long) a.monotonic);
        json_object_object_add(o, "__MONOTONIC_TIMESTAMP", json_object_new_string(num));
        json_object_object_add(o, "_BOOT_ID", json_object_new_string(a.boot_id));
        SD_JOURNAL_FOREACH_DATA(j, data, len) {
                const char *p = data, *eq = memchr(p, '=', len);
                if (!eq || eq == p)
                        continue;
                _cleanup_free_ char *name = strndup(p, eq - p);
                json_object *v = value_json(eq + 1, len - (eq + 1 - p)), *old;
                if (!name || !v) {
                        json_object_put(v);
                        continue;
                }
                if (!json_object_object_get_ex(o, name, &old)) {
                        json_object_object_add(o, name, v);
                        continue;
                }
                /* A field that occurs more than once: an array of its values. */
                if (!json_object_is_type(old, json_type_array) || json_object_is_type(json_object_array_get_idx(old, 0), json_type_int)) {
                        json_object *arr = json_object_new_array();
                        json_object_array_add(arr, json_object_get(old));
                        json_object_object_add(o, name, arr);
                        old = arr;
                }
                json_object_array_add(old, v);
        }
        return o;
}

static void print_entry(FILE *f, sd_journal *j, JournalMode mode) {
        switch (mode) {
        case JOURNAL_VERBOSE:
                print_verbose(f, j);
                return;
        case JOURNAL_EXPORT:
                print_export(f, j);
                return;
        case JOURNAL_JSON:
        case JOURNAL_JSON_PRETTY: {
                json_object *o = entry_json(j);
                if (o)
                        fprintf(f, "%s\n", json_object_to_json_string_ext(o, mode == JOURNAL_JSON ? JSON_C_TO_STRING_PLAIN
                                                                                                : JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED));
                json_object_put(o);
                return;
        }
        default:
                print_short(f, j, mode);
        }
}

static int guest_machine_id(pid_t leader, char ret[static 33]) {
        char path[64];
        _cleanup_free_ char *s = NULL;

        snprintf(path, sizeof(path), "/proc/%i/root", (int) leader);
        _cleanup_close_ int root = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root < 0)
                return -errno;
        _cleanup_close_ int fd = open_regular_in_root(root, "/etc/machine-id", 4096);
        if (fd < 0)
                return fd;
        int r = read_full_fd(fd, 4096, &s, NULL);
        if (r < 0)
                return r;
        if (strcspn(s, "\n") != 32 || strspn(s, "0123456789abcdefABCDEF") < 32)
                return -EINVAL;
        memcpy(ret, s, 32);
        ret[32] = 0;
        return 0;
}

/* The machine's journal, positioned so that sd_journal_next() walks its last n entries; 0 if it
 * has none. */
static int journal_open_tail(pid_t leader, unsigned n, sd_journal **ret) {
        sd_journal *j = NULL;
        char root[64], id[33], match[64];
        int r;

        snprintf(root, sizeof(root), "/proc/%i/root", (int) leader);
        r = sd_journal_open_directory(&j, root, SD_JOURNAL_OS_ROOT);
        if (r < 0)
                return r;
        if (guest_machine_id(leader, id) >= 0) {
                snprintf(match, sizeof(match), "_MACHINE_ID=%s", id);
                r = sd_journal_add_match(j, match, 0);
        }
        if (r >= 0)
                r = sd_journal_seek_tail(j);
        if (r >= 0)
                r = sd_journal_previous_skip(j, n);
        if (r <= 0) {
                sd_journal_close(j);
                return r;
        }
        *ret = j;
        return 1;
}

int show_machine_journal(FILE *f, pid_t leader, unsigned n, JournalMode mode) {
        sd_journal *j = NULL;

        if (n == 0)
                return 0;
        int r = journal_open_tail(leader, n, &j);
        if (r <= 0)
                return r;
        fputc('\n', f);
        while (r > 0) {
                print_entry(f, j, mode);
                r = sd_journal_next(j);
        }
        sd_journal_close(j);
        return r;
}

int machine_journal_json(pid_t leader, unsigned n, json_object **ret) {
        sd_journal *j = NULL;
        json_object *a = NULL;

        *ret = NULL;
        if (n == 0)
                return 0;
        int r = journal_open_tail(leader, n, &j);
        if (r <= 0)
                return r;
        a = json_object_new_array();
        while (a && r > 0) {
                json_object *o = entry_json(j);
                if (o)
                        json_object_array_add(a, o);
                r = sd_journal_next(j);
        }
        sd_journal_close(j);
        if (!a)
                return -ENOMEM;
        *ret = a;
        return r;
}
