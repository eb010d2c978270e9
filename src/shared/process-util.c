/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "macro.h"
#include "process-util.h"

pid_t clone_with_pidfd(uint64_t flags, int *ret_pidfd) {
        int pidfd = -1;
        struct clone_args args = {
                .flags = flags | CLONE_PIDFD,
                .pidfd = (uint64_t) (uintptr_t) &pidfd,
                .exit_signal = SIGCHLD,
        };

        /* Without CLONE_VM this behaves like fork(): the child continues here on a copy of our
         * memory. glibc no longer caches the pid, so getpid() stays correct in the child. */
        long pid = syscall(SYS_clone3, &args, sizeof(args));
        if (pid < 0)
                return negative_errno();
        if (pid > 0)
                *ret_pidfd = pidfd;
        return (pid_t) pid;
}

int pidfd_open_pid(pid_t pid) {
        int fd = (int) syscall(SYS_pidfd_open, pid, 0);
        return fd >= 0 ? fd : negative_errno();
}

int pidfd_signal(int pidfd, int sig) {
        return syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0 ? negative_errno() : 0;
}

int sigprocmask_many(int how, sigset_t *ret_old, ...) {
        sigset_t ss;
        va_list ap;

        sigemptyset(&ss);
        va_start(ap, ret_old);
        for (int sig; (sig = va_arg(ap, int)) > 0;)
                sigaddset(&ss, sig);
        va_end(ap);
        return sigprocmask(how, &ss, ret_old) < 0 ? negative_errno() : 0;
}

void reset_all_signals(void) {
        struct sigaction sa = { .sa_handler = SIG_DFL };
        sigset_t ss;

        for (int sig = 1; sig < _NSIG; sig++)
                if (sig != SIGKILL && sig != SIGSTOP)
                        (void) sigaction(sig, &sa, NULL);
        sigemptyset(&ss);
        (void) sigprocmask(SIG_SETMASK, &ss, NULL);
}

int namespace_inode(pid_t pid, const char *name, uint64_t *ret) {
        char path[64];
        struct stat st;

        if (pid == 0)
                snprintf(path, sizeof(path), "/proc/self/ns/%s", name);
        else
                snprintf(path, sizeof(path), "/proc/%i/ns/%s", (int) pid, name);
        if (stat(path, &st) < 0)
                return negative_errno();
        *ret = (uint64_t) st.st_ino;
        return 0;
}

int rlimit_nofile_bump(unsigned long *ret_old_soft) {
        struct rlimit rl;
        if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
                return -errno;
        unsigned long old = (unsigned long) rl.rlim_cur;
        if (rl.rlim_cur != rl.rlim_max) {
                rl.rlim_cur = rl.rlim_max;
                if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
                        return -errno;
        }
        if (ret_old_soft)
                *ret_old_soft = old;
        return 0;
}

int rlimit_nofile_safe(void) {
        struct rlimit rl;
        if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
                return -errno;
        if (rl.rlim_cur <= FD_SETSIZE)
                return 0;
        rl.rlim_cur = FD_SETSIZE;
        return setrlimit(RLIMIT_NOFILE, &rl) < 0 ? -errno : 0;
}
