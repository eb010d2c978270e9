/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "machinectl.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put);
#define _cleanup_json_ _cleanup_(json_object_putp)

/* Colors only on a terminal, and never with NO_COLOR set (no-color.org), SYSTEMD_COLORS=0 or
 * TERM=dumb. */
bool colors_enabled(void);
#define ANSI_HIGHLIGHT "\033[0;1;39m"
#define ANSI_UNDERLINE "\033[0;4m"
#define ANSI_RED "\033[0;1;31m"
#define ANSI_NORMAL "\033[0m"

/* Box drawing and "…" where the locale is UTF-8, ASCII otherwise. */
typedef enum Glyph {
        GLYPH_TREE_BRANCH,   /* "├─" */
        GLYPH_TREE_RIGHT,    /* "└─" */
        GLYPH_TREE_VERTICAL, /* "│ " */
        GLYPH_TREE_SPACE,    /* "  " */
        GLYPH_ELLIPSIS,      /* "…" */
        _GLYPH_MAX,
        _GLYPH_INVALID = -22,
} Glyph;
const char *glyph(Glyph g);

/* Copy of s with control characters (ESC, newlines, ...) written as \xNN: strings that come from
 * inside a machine (os-release fields, command lines) must not drive the user's terminal. */
char *escape_control(const char *s);
/* Terminal columns a string takes (multibyte aware in a UTF-8 locale). */
size_t string_width(const char *s);
/* Cuts s to at most width columns, ending in an ellipsis if it was cut. New string. */
char *string_truncate(const char *s, size_t width);
/* Columns of the terminal on stdout ($COLUMNS first), or 0 when it is not a terminal. */
size_t terminal_columns(void);

/* A table of strings printed with aligned columns; empty cells print as "-". */
typedef struct Table Table;
Table *table_new(size_t n_columns, const char *const *headers);
Table *table_free(Table *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(Table *, table_free);
#define _cleanup_table_ _cleanup_(table_freep)
/* Appends one cell (copied, control characters escaped); rows fill up left to right. An empty
 * cell prints as "-", or stays blank with table_add_cell_blank(). */
int table_add_cell(Table *t, const char *s);
int table_add_cell_blank(Table *t, const char *s);
size_t table_rows(const Table *t);
/* The header is underlined when colors is set; the last column is not padded. */
void table_print(const Table *t, FILE *f, bool header, bool colors);

/* "Wed 2026-11-25 20:16:41 UTC" in local time; "n/a" for 0 and UINT64_MAX. */
char *format_timestamp(char *buf, size_t size, uint64_t usec);
/* "3min 12s ago" / "2h left", as systemd prints them. */
char *format_timestamp_relative(char *buf, size_t size, uint64_t usec, uint64_t now_usec);
/* "4.0K", "12.5M", "512B". */
char *format_bytes(char *buf, size_t size, uint64_t bytes);
uint64_t now_realtime_usec(void);

/* Prints o (followed by a newline) in the JSON flavor of mode. */
int json_print(json_object *o, OutputMode mode);
static inline bool output_is_json(OutputMode m) {
        return m == OUTPUT_JSON_SHORT || m == OUTPUT_JSON_PRETTY;
}
