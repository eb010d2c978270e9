/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "macro.h"

/* NULL-terminated string arrays. */
char **strv_free(char **l);
DEFINE_TRIVIAL_CLEANUP_FUNC(char **, strv_free);
#define _cleanup_strv_free_ _cleanup_(strv_freep)

size_t strv_length(char * const *l);
char **strv_copy(char * const *l);
bool strv_contains(char * const *l, const char *s);
/* Appends a copy of value. */
int strv_extend(char ***l, const char *value);
/* Appends value, taking ownership (freed on failure too). */
int strv_consume(char ***l, char *value);

/* NAME=VALUE environment blocks */
bool env_name_is_valid(const char *name);
bool env_assignment_is_valid(const char *assignment);
/* Sets or replaces the variable named by assignment ("NAME=VALUE"). */
int strv_env_set(char ***l, const char *assignment);
int strv_env_setf(char ***l, const char *name, const char *value);
const char *strv_env_get(char * const *l, const char *name);

/* String helpers */
char *strjoin_many(const char *first, ...) __attribute__((sentinel));
#define strjoin(...) strjoin_many(__VA_ARGS__, NULL)
const char *startswith(const char *s, const char *prefix);
