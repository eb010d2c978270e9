/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sys/types.h>

/* The search path a payload or a helper gets when nobody set one. */
#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* Calls fn for each prefix of path that ends a component ("/a", "/a/b", "/a/b/c" for "/a/b/c";
 * "a", "a/b" for "a/b"), in order, skipping the doubles "//" and a trailing "/" would give; stops
 * at and returns fn's first error. */
int path_for_each_prefix(const char *path, int (*fn)(const char *prefix, void *userdata), void *userdata);

/* mkdir -p: creates path and its missing parents with mode. Existing directories are fine. */
int mkdir_p(const char *path, mode_t mode);

/* execvp()'s lookup, decided before exec so that a missing command is one clear error: a name
 * with a slash is taken as it is (-EISDIR for a directory); otherwise the first executable regular
 * file of that name in search_path (DEFAULT_PATH if NULL or empty). Relative entries of
 * search_path are skipped: what they find would depend on the working directory. -ENOENT if
 * nothing is found. */
int find_executable(const char *name, const char *search_path, char **ret);
