/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The container-side steps of berth-oci (oci-mount.c, oci-process.c) run inside the container's
 * namespaces and root and say why they failed in one line through *ret_error. */

static inline const char *str_or_empty(const char *s) {
        return s ?: "";
}

/* Sets *ret_error to fmt with arg and strerror(-r) (a literal format, checked), returns r. */
#define fail(ret_error, r, fmt, arg)                                                          \
        ({                                                                                    \
                int _r = (r);                                                                 \
                free(*(ret_error));                                                           \
                if (asprintf((ret_error), fmt, str_or_empty(arg), strerror(-_r)) < 0) \
                        *(ret_error) = NULL;                                                  \
                _r;                                                                           \
        })
