/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

/* A machine name doubles as the container's hostname: systemd's host name rules (see
 * name-util.c), which also make it safe as a single path component. */
#define MACHINE_NAME_MAX 64
bool machine_name_is_valid(const char *s);
bool hostname_is_valid(const char *s);
/* Makes s a valid host name in place where it can (drops what the rules do not allow), as
 * nspawn does with the machine name it derives from a directory: "my_tree" becomes "mytree".
 * The result may still be invalid (empty): check it. Returns s. */
char *hostname_cleanup(char *s);

/* D-Bus object path labels: bytes outside [A-Za-z] (and a leading digit) become _XX with two
 * lowercase hex digits; the empty string becomes "_". */
char *bus_label_escape(const char *s);
/* Returns NULL with errno set: EINVAL on malformed input, ENOMEM. */
char *bus_label_unescape(const char *s);
