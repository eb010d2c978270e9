/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdio.h>

/* Parses env-style files as os-release(5) defines them: KEY=VALUE lines, '#' comments, values
 * optionally in single or double quotes with backslash escapes in double quotes. Returns a strv
 * of "KEY=VALUE" assignments. Lines that are not assignments are -EBADMSG. */
int env_file_parse(FILE *f, char ***ret);
