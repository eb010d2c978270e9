/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

/* A machine name doubles as the container's hostname: at most 64 characters of [A-Za-z0-9._-],
 * no leading dot and no "..", so it is also safe as a single path component. */
#define MACHINE_NAME_MAX 64
bool machine_name_is_valid(const char *s);
bool hostname_is_valid(const char *s);

/* D-Bus object path labels: bytes outside [A-Za-z] (and a leading digit) become _XX with two
 * lowercase hex digits; the empty string becomes "_". */
char *bus_label_escape(const char *s);
/* Returns NULL with errno set: EINVAL on malformed input, ENOMEM. */
char *bus_label_unescape(const char *s);
