/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A tiny TAP producer: meson test reads "ok N - name" / "not ok N - name" and the plan. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_n = 0, tap_failed = 0;

#define CHECK(expr)                                                                     \
        do {                                                                            \
                tap_n++;                                                                \
                if (expr)                                                               \
                        printf("ok %d - %s\n", tap_n, #expr);                           \
                else {                                                                  \
                        printf("not ok %d - %s (%s:%d)\n", tap_n, #expr, __FILE__, __LINE__); \
                        tap_failed++;                                                   \
                }                                                                       \
        } while (0)

#define CHECK_STREQ(a, b)                                                               \
        do {                                                                            \
                const char *_a = (a), *_b = (b);                                        \
                tap_n++;                                                                \
                if (_a && _b && strcmp(_a, _b) == 0)                                    \
                        printf("ok %d - %s\n", tap_n, #a); /* values may hold newlines */ \
                else {                                                                  \
                        printf("not ok %d - %s: got \"%s\", want \"%s\" (%s:%d)\n", tap_n, #a, \
                               _a ? _a : "(null)", _b ? _b : "(null)", __FILE__, __LINE__); \
                        tap_failed++;                                                   \
                }                                                                       \
        } while (0)

static inline int tap_finish(void) {
        printf("1..%d\n", tap_n);
        return tap_failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
