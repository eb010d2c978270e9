/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "parse-util.h"
#include "signal-util.h"

static const char *const signal_table[] = {
        [SIGHUP] = "HUP",     [SIGINT] = "INT",       [SIGQUIT] = "QUIT",   [SIGILL] = "ILL",
        [SIGTRAP] = "TRAP",   [SIGABRT] = "ABRT",     [SIGBUS] = "BUS",     [SIGFPE] = "FPE",
        [SIGKILL] = "KILL",   [SIGUSR1] = "USR1",     [SIGSEGV] = "SEGV",   [SIGUSR2] = "USR2",
        [SIGPIPE] = "PIPE",   [SIGALRM] = "ALRM",     [SIGTERM] = "TERM",   [SIGSTKFLT] = "STKFLT",
        [SIGCHLD] = "CHLD",   [SIGCONT] = "CONT",     [SIGSTOP] = "STOP",   [SIGTSTP] = "TSTP",
        [SIGTTIN] = "TTIN",   [SIGTTOU] = "TTOU",     [SIGURG] = "URG",     [SIGXCPU] = "XCPU",
        [SIGXFSZ] = "XFSZ",   [SIGVTALRM] = "VTALRM", [SIGPROF] = "PROF",   [SIGWINCH] = "WINCH",
        [SIGIO] = "IO",       [SIGPWR] = "PWR",       [SIGSYS] = "SYS",
};

const char *signal_to_string(int sig) {
        static __thread char buf[sizeof("SIGRTMIN+") + 3];

        if (sig > 0 && (size_t) sig < ELEMENTSOF(signal_table) && signal_table[sig]) {
                snprintf(buf, sizeof(buf), "SIG%s", signal_table[sig]);
                return buf;
        }
        if (sig >= SIGRTMIN && sig <= SIGRTMAX) {
                if (sig == SIGRTMIN)
                        return "SIGRTMIN";
                snprintf(buf, sizeof(buf), "SIGRTMIN+%d", sig - SIGRTMIN);
                return buf;
        }
        return NULL;
}

static int rt_offset(const char *s, int base, int sign) {
        unsigned v;
        if (*s == 0)
                return base;
        if (*s != (sign > 0 ? '+' : '-'))
                return -EINVAL;
        if (safe_atou(s + 1, &v) < 0)
                return -EINVAL;
        long r = base + sign * (long) v;
        if (r < SIGRTMIN || r > SIGRTMAX)
                return -EINVAL;
        return (int) r;
}

int signal_from_string(const char *s) {
        unsigned v;
        const char *p;

        if (isempty(s))
                return -EINVAL;
        if (safe_atou(s, &v) >= 0)
                return v > 0 && v <= (unsigned) SIGRTMAX ? (int) v : -EINVAL;

        p = startswith(s, "SIG") ?: s;
        for (size_t i = 0; i < ELEMENTSOF(signal_table); i++)
                if (signal_table[i] && streq(signal_table[i], p))
                        return (int) i;
        if (startswith(p, "RTMIN"))
                return rt_offset(p + 5, SIGRTMIN, +1);
        if (startswith(p, "RTMAX"))
                return rt_offset(p + 5, SIGRTMAX, -1);
        return -EINVAL;
}
