/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "signal-util.h"
#include "spawn-stub-init.h"

_noreturn_ void stub_init_run(pid_t payload, const char *machine) {
        sigset_t all;

        (void) prctl(PR_SET_NAME, "(spawn-init)");

        /* A namespace's PID 1 drops signals it has no handler for; blocking them queues them for
         * sigwaitinfo() instead, so every signal from outside still arrives here. */
        sigfillset(&all);
        (void) sigprocmask(SIG_SETMASK, &all, NULL);

        for (;;) {
                siginfo_t si;
                int sig = sigwaitinfo(&all, &si);
                if (sig < 0)
                        continue;

                if (sig != SIGCHLD) {
                        (void) kill(payload, sig);
                        continue;
                }

                for (;;) {
                        int status;
                        pid_t pid = waitpid(-1, &status, WNOHANG);
                        if (pid <= 0)
                                break;
                        if (pid != payload)
                                continue;
                        if (WIFEXITED(status))
                                _exit(WEXITSTATUS(status));
                        /* We have nobody to tell (no descriptor of the supervisor's is left
                         * here on purpose); the supervisor words 128 + N. */
                        _exit(128 + WTERMSIG(status));
                }
        }
}
