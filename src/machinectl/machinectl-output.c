/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <langinfo.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>

#include "machinectl-output.h"
#include "parse-util.h"
#include "strv.h"

bool colors_enabled(void) {
        const char *e;

        /* NO_COLOR: any non-empty value disables colors (no-color.org). */
        e = getenv("NO_COLOR");
        if (e && *e)
                return false;
        e = getenv("SYSTEMD_COLORS");
        if (e && parse_boolean(e) == 0)
                return false;
        e = getenv("TERM");
        if (e && streq(e, "dumb"))
                return false;
        return isatty(STDOUT_FILENO) > 0;
}

static bool is_utf8_locale(void) {
        const char *cs = nl_langinfo(CODESET);
        return cs && (streq(cs, "UTF-8") || streq(cs, "utf8"));
}

const char *glyph(Glyph g) {
        static const char *const utf8[_GLYPH_MAX] = {
                [GLYPH_TREE_BRANCH] = "\342\224\234\342\224\200",
                [GLYPH_TREE_RIGHT] = "\342\224\224\342\224\200",
                [GLYPH_TREE_VERTICAL] = "\342\224\202 ",
                [GLYPH_TREE_SPACE] = "  ",
                [GLYPH_ELLIPSIS] = "\342\200\246",
        };
        static const char *const ascii[_GLYPH_MAX] = {
                [GLYPH_TREE_BRANCH] = "|-",
                [GLYPH_TREE_RIGHT] = "`-",
                [GLYPH_TREE_VERTICAL] = "| ",
                [GLYPH_TREE_SPACE] = "  ",
                [GLYPH_ELLIPSIS] = "...",
        };
        if (g < 0 || g >= _GLYPH_MAX)
                return "";
        return is_utf8_locale() ? utf8[g] : ascii[g];
}

char *escape_control(const char *s) {
        char *r = malloc(strlen(s) * 4 + 1), *p = r;
        if (!r)
                return NULL;
        for (; *s; s++) {
                unsigned char ch = (unsigned char) *s;
                if (ch < 0x20 || ch == 0x7f)
                        p += sprintf(p, "\\x%02x", ch);
                else
                        *p++ = (char) ch;
        }
        *p = 0;
        return r;
}

/* Width of the next character at s (its length in *ret_len); control and invalid bytes count as
 * one column so that nothing is ever lost from the arithmetic. */
static size_t char_width(const char *s, size_t *ret_len) {
        mbstate_t st = {};
        wchar_t wc;
        size_t n = mbrtowc(&wc, s, MB_CUR_MAX, &st);

        if (n == (size_t) -1 || n == (size_t) -2 || n == 0) {
                *ret_len = 1;
                return 1;
        }
        *ret_len = n;
        int w = wcwidth(wc);
        return w < 0 ? 1 : (size_t) w;
}

size_t string_width(const char *s) {
        size_t w = 0, len;
        for (const char *p = s; *p; p += len)
                w += char_width(p, &len);
        return w;
}

char *string_truncate(const char *s, size_t width) {
        if (string_width(s) <= width)
                return strdup(s);

        const char *ell = glyph(GLYPH_ELLIPSIS);
        size_t ell_width = string_width(ell), w = 0, len;
        const char *p = s;
        while (*p) {
                size_t cw = char_width(p, &len);
                if (w + cw + ell_width > width)
                        break;
                w += cw;
                p += len;
        }
        char *r = malloc((size_t) (p - s) + strlen(ell) + 1);
        if (!r)
                return NULL;
        memcpy(r, s, (size_t) (p - s));
        strcpy(r + (p - s), width >= ell_width ? ell : "");
        return r;
}

size_t terminal_columns(void) {
        unsigned v;
        const char *e = getenv("COLUMNS");
        if (e && safe_atou(e, &v) >= 0 && v > 0)
                return v;
        struct winsize ws = {};
        if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) >= 0 && ws.ws_col > 0)
                return ws.ws_col;
        return 0;
}

struct Table {
        size_t n_columns;
        char **cells; /* headers first, then the rows, row-major */
        size_t n_cells, allocated;
};

Table *table_new(size_t n_columns, const char *const *headers) {
        Table *t = calloc(1, sizeof(Table));
        if (!t)
                return NULL;
        t->n_columns = n_columns;
        for (size_t i = 0; i < n_columns; i++)
                if (table_add_cell(t, headers[i]) < 0)
                        return table_free(t);
        return t;
}

Table *table_free(Table *t) {
        if (!t)
                return NULL;
        for (size_t i = 0; i < t->n_cells; i++)
                free(t->cells[i]);
        free(t->cells);
        free(t);
        return NULL;
}

static int table_add(Table *t, const char *s) {
        if (t->n_cells == t->allocated) {
                size_t n = MAX(t->allocated * 2, (size_t) 16);
                char **c = realloc(t->cells, n * sizeof(char *));
                if (!c)
                        return -ENOMEM;
                t->cells = c;
                t->allocated = n;
        }
        char *copy = escape_control(s);
        if (!copy)
                return -ENOMEM;
        t->cells[t->n_cells++] = copy;
        return 0;
}

int table_add_cell(Table *t, const char *s) {
        return table_add(t, isempty(s) ? "-" : s);
}

int table_add_cell_blank(Table *t, const char *s) {
        return table_add(t, s ?: "");
}

size_t table_rows(const Table *t) {
        return t->n_cells / t->n_columns - 1;
}

void table_print(const Table *t, FILE *f, bool header, bool colors) {
        size_t *width = calloc(t->n_columns, sizeof(size_t));
        size_t first = header ? 0 : t->n_columns;

        if (!width)
                return;
        for (size_t i = first; i < t->n_cells; i++)
                width[i % t->n_columns] = MAX(width[i % t->n_columns], string_width(t->cells[i]));

        for (size_t i = first; i < t->n_cells; i++) {
                size_t col = i % t->n_columns;
                bool last = col == t->n_columns - 1, underline = colors && i < t->n_columns;

                if (col == 0 && underline)
                        fputs(ANSI_UNDERLINE, f);
                fputs(t->cells[i], f);
                if (!last)
                        fprintf(f, "%*s", (int) (width[col] - string_width(t->cells[i]) + 1), "");
                else {
                        if (underline)
                                fputs(ANSI_NORMAL, f);
                        fputc('\n', f);
                }
        }
        free(width);
}

uint64_t now_realtime_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000;
}

char *format_timestamp(char *buf, size_t size, uint64_t usec) {
        time_t sec = (time_t) (usec / 1000000ULL);
        struct tm tm;

        if (usec == 0 || usec == UINT64_MAX || !localtime_r(&sec, &tm) ||
            strftime(buf, size, "%a %Y-%m-%d %H:%M:%S %Z", &tm) == 0)
                snprintf(buf, size, "n/a");
        return buf;
}

#define USEC_PER_MSEC 1000ULL
#define USEC_PER_SEC 1000000ULL
#define USEC_PER_MINUTE (60ULL * USEC_PER_SEC)
#define USEC_PER_HOUR (60ULL * USEC_PER_MINUTE)
#define USEC_PER_DAY (24ULL * USEC_PER_HOUR)
#define USEC_PER_WEEK (7ULL * USEC_PER_DAY)
#define USEC_PER_MONTH (2629800ULL * USEC_PER_SEC)
#define USEC_PER_YEAR (31557600ULL * USEC_PER_SEC)

/* The same steps as systemd's format_timestamp_relative(), so both read alike. */
char *format_timestamp_relative(char *buf, size_t size, uint64_t usec, uint64_t now) {
        typedef unsigned long long ull;
        const char *s = usec <= now ? "ago" : "left";
        uint64_t d = usec <= now ? now - usec : usec - now;

        if (usec == 0 || usec == UINT64_MAX)
                snprintf(buf, size, "n/a");
        else if (d >= USEC_PER_YEAR)
                snprintf(buf, size, "%llu %s %llu %s %s", (ull) (d / USEC_PER_YEAR), d / USEC_PER_YEAR == 1 ? "year" : "years",
                         (ull) (d % USEC_PER_YEAR / USEC_PER_MONTH), d % USEC_PER_YEAR / USEC_PER_MONTH == 1 ? "month" : "months", s);
        else if (d >= USEC_PER_MONTH)
                snprintf(buf, size, "%llu %s %llu %s %s", (ull) (d / USEC_PER_MONTH), d / USEC_PER_MONTH == 1 ? "month" : "months",
                         (ull) (d % USEC_PER_MONTH / USEC_PER_DAY), d % USEC_PER_MONTH / USEC_PER_DAY == 1 ? "day" : "days", s);
        else if (d >= USEC_PER_WEEK)
                snprintf(buf, size, "%llu %s %llu %s %s", (ull) (d / USEC_PER_WEEK), d / USEC_PER_WEEK == 1 ? "week" : "weeks",
                         (ull) (d % USEC_PER_WEEK / USEC_PER_DAY), d % USEC_PER_WEEK / USEC_PER_DAY == 1 ? "day" : "days", s);
        else if (d >= 2 * USEC_PER_DAY)
                snprintf(buf, size, "%llu days %s", (ull) (d / USEC_PER_DAY), s);
        else if (d >= 25 * USEC_PER_HOUR)
                snprintf(buf, size, "1 day %lluh %s", (ull) ((d - USEC_PER_DAY) / USEC_PER_HOUR), s);
        else if (d >= 6 * USEC_PER_HOUR)
                snprintf(buf, size, "%lluh %s", (ull) (d / USEC_PER_HOUR), s);
        else if (d >= USEC_PER_HOUR)
                snprintf(buf, size, "%lluh %llumin %s", (ull) (d / USEC_PER_HOUR), (ull) (d % USEC_PER_HOUR / USEC_PER_MINUTE), s);
        else if (d >= 5 * USEC_PER_MINUTE)
                snprintf(buf, size, "%llumin %s", (ull) (d / USEC_PER_MINUTE), s);
        else if (d >= USEC_PER_MINUTE)
                snprintf(buf, size, "%llumin %llus %s", (ull) (d / USEC_PER_MINUTE), (ull) (d % USEC_PER_MINUTE / USEC_PER_SEC), s);
        else if (d >= USEC_PER_SEC)
                snprintf(buf, size, "%llus %s", (ull) (d / USEC_PER_SEC), s);
        else if (d >= USEC_PER_MSEC)
                snprintf(buf, size, "%llums %s", (ull) (d / USEC_PER_MSEC), s);
        else if (d > 0)
                snprintf(buf, size, "%lluus %s", (ull) d, s);
        else
                snprintf(buf, size, "now");
        return buf;
}

char *format_bytes(char *buf, size_t size, uint64_t bytes) {
        static const char suffixes[] = "KMGTPE";
        double v = (double) bytes;
        int i = -1;

        if (bytes < 1024) {
                snprintf(buf, size, "%lluB", (unsigned long long) bytes);
                return buf;
        }
        while (v >= 1024.0 && i < (int) sizeof(suffixes) - 2) {
                v /= 1024.0;
                i++;
        }
        snprintf(buf, size, "%.1f%c", v, suffixes[i]);
        return buf;
}

int json_print(json_object *o, OutputMode mode) {
        int flags = JSON_C_TO_STRING_NOSLASHESCAPE |
                    (mode == OUTPUT_JSON_PRETTY ? JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED : JSON_C_TO_STRING_PLAIN);
        const char *s = json_object_to_json_string_ext(o, flags);
        if (!s)
                return -ENOMEM;
        if (puts(s) == EOF)
                return -EIO;
        return 0;
}
