/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <stdio.h>

/* Parses files in the syntax of systemd's unit and settings files: "[Section]" headers,
 * "Key=Value" assignments, '#' and ';' comment lines, a trailing backslash continuing a line
 * (the backslash becomes a space, as systemd's parser does). Keys and values are trimmed of
 * surrounding whitespace; values are kept as written (quotes and all), the meaning of a value is
 * its key's business (ini_split_words() for lists). */

typedef struct IniEntry {
        char *section;            /* NULL: before any section header */
        char *key;                /* NULL: the entry is the section header itself */
        char *value;              /* NULL for a header */
        unsigned line;            /* 1-based, of the entry's first line */
} IniEntry;

void ini_entries_free(IniEntry *e, size_t n);

/* Every header and assignment of f, in file order. On a line that is neither (or a header
 * without its ']', an empty key, a line or file past the size bounds) returns -EBADMSG and
 * stores its number in *ret_bad_line; -ENOMEM when out of memory. */
int ini_parse(FILE *f, IniEntry **ret, size_t *ret_n, unsigned *ret_bad_line);

/* Splits a value into words as systemd's list settings do: separated by whitespace, "double"
 * and 'single' quotes group (the quotes removed), a backslash escapes the next character.
 * -EINVAL on an unterminated quote or a trailing backslash. */
int ini_split_words(const char *value, char ***ret);
