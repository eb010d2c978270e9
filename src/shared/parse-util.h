/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "strv.h"

/* Whole-string decimal parsers; no sign, no trailing garbage. */
int safe_atou(const char *s, unsigned *ret);
int safe_atou64(const char *s, uint64_t *ret);
int parse_boolean(const char *s);
/* Octal file mode, at most 07777. */
int parse_mode(const char *s, mode_t *ret);

/* Splits at unescaped ':' — "\:" is a literal colon and "\\" a backslash — as nspawn's bind
 * specs do. At most max_fields fields; the last one takes the remainder verbatim. */
int split_colon_escaped(const char *s, size_t max_fields, char ***ret);

/* One hex digit → 0..15, or -EINVAL. */
int unhexchar(char c);

/* 128-bit IDs (UUIDs): 32 hex digits with or without dashes in 8-4-4-4-12 positions. */
typedef struct Id128 {
        uint8_t bytes[16];
} Id128;
int id128_from_string(const char *s, Id128 *ret);
/* Lowercase 8-4-4-4-12; buf at least 37 bytes. */
char *id128_to_uuid_string(const Id128 *id, char buf[static 37]);
bool id128_is_null(const Id128 *id);
/* A random v4 UUID. */
int id128_randomize(Id128 *ret);

/* True if path is absolute and has no "." or ".." components. */
bool path_is_normalized_absolute(const char *p);

/* Splits a mount(8)-style option string: flag words (ro/rw, nosuid/suid, nodev/dev, noexec/exec,
 * sync/async, noatime/atime, nodiratime/diratime, relatime/norelatime, strictatime/nostrictatime,
 * lazytime/nolazytime, dirsync, mand/nomand, silent/loud) set or clear MS_* bits in *flags; every
 * other word goes, in order, into *ret_data (NULL when none remain). Empty words are skipped. */
int mount_options_split(const char *options, unsigned long *flags, char **ret_data);
