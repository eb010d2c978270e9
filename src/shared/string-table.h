/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

#include "macro.h"

/* Index of s in table (entries may be NULL), -EINVAL if s is NULL or not there. */
int string_table_lookup(const char *const *table, size_t n, const char *s);

/* Enum <-> string pairs from one table: given
 *         static const char *const foo_mode_table[_FOO_MODE_MAX] = { [FOO_A] = "a", ... };
 * DEFINE_STRING_TABLE_LOOKUP(foo_mode, FooMode) defines foo_mode_to_string() (NULL out of range)
 * and foo_mode_from_string() (-EINVAL, i.e. the enum's _INVALID, for unknown strings and NULL).
 * A from_string() that also takes aliases is written by hand on top of string_table_lookup(). */
#define DEFINE_STRING_TABLE_LOOKUP_TO_STRING(name, type)                                        \
        const char *name##_to_string(type i) {                                                  \
                return (int) i >= 0 && (size_t) i < ELEMENTSOF(name##_table) ? name##_table[i]  \
                                                                             : NULL;            \
        }

#define DEFINE_STRING_TABLE_LOOKUP_FROM_STRING(name, type)                                      \
        type name##_from_string(const char *s) {                                                \
                return (type) string_table_lookup(name##_table, ELEMENTSOF(name##_table), s);   \
        }

#define DEFINE_STRING_TABLE_LOOKUP(name, type)                                                  \
        DEFINE_STRING_TABLE_LOOKUP_TO_STRING(name, type)                                        \
        DEFINE_STRING_TABLE_LOOKUP_FROM_STRING(name, type)
