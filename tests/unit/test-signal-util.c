/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "macro.h"
#include "signal-util.h"
#include "tap.h"

static void test_from_string(void) {
        CHECK(signal_from_string("SIGTERM") == SIGTERM);
        CHECK(signal_from_string("TERM") == SIGTERM);
        CHECK(signal_from_string("15") == 15);
        CHECK(signal_from_string("SIGKILL") == SIGKILL);
        CHECK(signal_from_string("KILL") == SIGKILL);
        CHECK(signal_from_string("9") == SIGKILL);
        CHECK(signal_from_string("SIGHUP") == SIGHUP);
        CHECK(signal_from_string("1") == 1);
        CHECK(signal_from_string("SIGSYS") == SIGSYS);
        CHECK(signal_from_string("SIGWINCH") == SIGWINCH);
        CHECK(signal_from_string("SIGSTKFLT") == SIGSTKFLT);
        CHECK(signal_from_string("SIGVTALRM") == SIGVTALRM);
        CHECK(signal_from_string("RTMIN") == SIGRTMIN);
        CHECK(signal_from_string("SIGRTMIN") == SIGRTMIN);
        CHECK(signal_from_string("RTMIN+0") == SIGRTMIN);
        CHECK(signal_from_string("RTMIN+3") == SIGRTMIN + 3);
        CHECK(signal_from_string("SIGRTMIN+3") == SIGRTMIN + 3);
        CHECK(signal_from_string("SIGRTMAX-1") == SIGRTMAX - 1);
        CHECK(signal_from_string("RTMAX-1") == SIGRTMAX - 1);
        CHECK(signal_from_string("SIGRTMAX") == SIGRTMAX);
        CHECK(signal_from_string("RTMAX") == SIGRTMAX);
        CHECK(signal_from_string("SIGRTMAX-0") == SIGRTMAX);

        char buf[32];
        snprintf(buf, sizeof(buf), "SIGRTMIN+%d", SIGRTMAX - SIGRTMIN);
        CHECK(signal_from_string(buf) == SIGRTMAX);
        snprintf(buf, sizeof(buf), "SIGRTMAX-%d", SIGRTMAX - SIGRTMIN);
        CHECK(signal_from_string(buf) == SIGRTMIN);
        snprintf(buf, sizeof(buf), "%d", SIGRTMAX);
        CHECK(signal_from_string(buf) == SIGRTMAX);
}

static void test_from_string_invalid(void) {
        static const char *const bad[] = {
                "", "FOO", "SIGFOO", "SIG", "0", "00", "-1", "-15", "+15", "RTMIN+100", "RTMIN-1", "RTMAX+1",
                "RTMIN+", "RTMAX-", "RTMIN3", "RTMIN++3", "RTMIN+-3", "RTMIN+ 3", "RTMIN+3x", "65",
                "4294967311", " 15", "15 ", "SIGTERM ", " SIGTERM", "SIGSIGTERM", "SIG15", "TERMx",
                "99999999999999999999",
        };
        char buf[32];

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                int r = signal_from_string(bad[i]);
                if (r != -EINVAL)
                        printf("# signal_from_string(\"%s\") = %d\n", bad[i], r);
                CHECK(r == -EINVAL);
        }
        CHECK(signal_from_string(NULL) == -EINVAL);

        snprintf(buf, sizeof(buf), "%d", SIGRTMAX + 1);
        CHECK(signal_from_string(buf) == -EINVAL);
        snprintf(buf, sizeof(buf), "SIGRTMIN+%d", SIGRTMAX - SIGRTMIN + 1);
        CHECK(signal_from_string(buf) == -EINVAL);
        snprintf(buf, sizeof(buf), "SIGRTMAX-%d", SIGRTMAX - SIGRTMIN + 1);
        CHECK(signal_from_string(buf) == -EINVAL);
}

static void test_to_string(void) {
        CHECK_STREQ(signal_to_string(SIGTERM), "SIGTERM");
        CHECK_STREQ(signal_to_string(SIGKILL), "SIGKILL");
        CHECK_STREQ(signal_to_string(SIGHUP), "SIGHUP");
        CHECK_STREQ(signal_to_string(SIGSYS), "SIGSYS");
        CHECK_STREQ(signal_to_string(SIGRTMIN), "SIGRTMIN");
        CHECK_STREQ(signal_to_string(SIGRTMIN + 3), "SIGRTMIN+3");
        CHECK(signal_to_string(0) == NULL);
        CHECK(signal_to_string(-1) == NULL);
        CHECK(signal_to_string(SIGRTMAX + 1) == NULL);
        CHECK(signal_to_string(1000) == NULL);
}

static void test_round_trip(void) {
        for (int sig = 1; sig <= SIGRTMAX; sig++) {
                const char *s = signal_to_string(sig);
                char name[32];

                if (!s) {
                        /* glibc reserves the signals between SIGSYS and SIGRTMIN for itself; they
                         * have no name. Any other unnamed signal is a bug. */
                        if (!(sig > SIGSYS && sig < SIGRTMIN))
                                printf("# signal %d has no name\n", sig);
                        CHECK(sig > SIGSYS && sig < SIGRTMIN);
                        continue;
                }
                snprintf(name, sizeof(name), "%s", s);
                int r = signal_from_string(name);
                if (r != sig)
                        printf("# %d -> \"%s\" -> %d\n", sig, name, r);
                CHECK(r == sig);

                /* Without the SIG prefix too. */
                CHECK(strncmp(name, "SIG", 3) == 0 && signal_from_string(name + 3) == sig);
        }
}

int main(void) {
        test_from_string();
        test_from_string_invalid();
        test_to_string();
        test_round_trip();
        return tap_finish();
}
