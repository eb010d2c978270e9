/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "macro.h"
#include "process-util.h"
#include "tap.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

static void test_clone_exit_status(void) {
        int pidfd = -EBADF;
        pid_t pid = clone_with_pidfd(0, &pidfd);

        if (pid == 0)
                _exit(7);
        CHECK(pid > 0);
        CHECK(pidfd >= 0);
        if (pid < 0 || pidfd < 0)
                return;
        CHECK(fcntl(pidfd, F_GETFD) >= 0);

        siginfo_t si = {};
        CHECK(waitid((idtype_t) P_PIDFD, (id_t) pidfd, &si, WEXITED) == 0);
        CHECK(si.si_pid == pid);
        CHECK(si.si_code == CLD_EXITED);
        CHECK(si.si_status == 7);
        safe_close(pidfd);
}

static void test_clone_child_is_separate(void) {
        /* Without CLONE_VM the child writes to its own copy; its pid is its own. */
        static volatile int shared = 1;
        pid_t parent = getpid();
        int pidfd = -EBADF;
        pid_t pid = clone_with_pidfd(0, &pidfd);

        if (pid == 0) {
                shared = 2;
                _exit(getpid() != parent && getppid() == parent ? 0 : 1);
        }
        CHECK(pid > 0 && pidfd >= 0);
        if (pid < 0)
                return;
        siginfo_t si = {};
        CHECK(waitid((idtype_t) P_PIDFD, (id_t) pidfd, &si, WEXITED) == 0);
        CHECK(si.si_code == CLD_EXITED && si.si_status == 0);
        CHECK(shared == 1);
        safe_close(pidfd);
}

static void test_clone_invalid_flags(void) {
        int pidfd = 12345;
        /* CLONE_THREAD without CLONE_SIGHAND/CLONE_VM is refused by the kernel. */
        pid_t pid = clone_with_pidfd(CLONE_THREAD, &pidfd);
        if (pid == 0)
                _exit(0);
        CHECK(pid == -EINVAL);
        CHECK(pidfd == 12345);
}

static void test_pidfd_signal(void) {
        int pidfd = -EBADF;
        pid_t pid = clone_with_pidfd(0, &pidfd);

        if (pid == 0) {
                for (;;)
                        pause();
        }
        CHECK(pid > 0 && pidfd >= 0);
        if (pid < 0)
                return;

        /* Signal 0 probes a live process. */
        CHECK(pidfd_signal(pidfd, 0) == 0);
        CHECK(pidfd_signal(pidfd, SIGKILL) == 0);

        siginfo_t si = {};
        CHECK(waitid((idtype_t) P_PIDFD, (id_t) pidfd, &si, WEXITED) == 0);
        CHECK(si.si_code == CLD_KILLED);
        CHECK(si.si_status == SIGKILL);

        /* Reaped: the pidfd now reports the process as gone. */
        CHECK(pidfd_signal(pidfd, SIGTERM) == -ESRCH);
        safe_close(pidfd);
        CHECK(pidfd_signal(-1, SIGTERM) == -EBADF);
}

static void test_pidfd_signal_term(void) {
        int pidfd = -EBADF;
        pid_t pid = clone_with_pidfd(0, &pidfd);

        if (pid == 0) {
                /* The child starts with our signal dispositions; SIGTERM must be default. */
                reset_all_signals();
                for (;;)
                        pause();
        }
        CHECK(pid > 0 && pidfd >= 0);
        if (pid < 0)
                return;
        CHECK(pidfd_signal(pidfd, SIGTERM) == 0);
        siginfo_t si = {};
        CHECK(waitid((idtype_t) P_PIDFD, (id_t) pidfd, &si, WEXITED) == 0);
        CHECK(si.si_code == CLD_KILLED && si.si_status == SIGTERM);
        safe_close(pidfd);
}

static void test_pidfd_open(void) {
        int fd = pidfd_open_pid(getpid());
        CHECK(fd >= 0);
        CHECK(fd >= 0 && pidfd_signal(fd, 0) == 0);
        CHECK(fd >= 0 && pidfd_signal(fd, -1) == -EINVAL);
        CHECK(fd >= 0 && pidfd_signal(fd, _NSIG + 1) == -EINVAL);
        safe_close(fd);

        CHECK(pidfd_open_pid(-1) == -EINVAL);
        CHECK(pidfd_open_pid(0) == -EINVAL);
        /* A pid that cannot exist (above pid_max's hard limit). */
        CHECK(pidfd_open_pid(0x7ffffff0) == -ESRCH);
}

static void test_sigprocmask_many(void) {
        sigset_t old, now;

        CHECK(sigprocmask_many(SIG_BLOCK, &old, SIGUSR1, SIGUSR2, SIGRTMIN + 1, 0) == 0);
        CHECK(sigprocmask(SIG_SETMASK, NULL, &now) == 0);
        CHECK(sigismember(&now, SIGUSR1) == 1);
        CHECK(sigismember(&now, SIGUSR2) == 1);
        CHECK(sigismember(&now, SIGRTMIN + 1) == 1);
        CHECK(sigismember(&old, SIGUSR1) == 0);

        CHECK(sigprocmask_many(SIG_UNBLOCK, NULL, SIGUSR2, 0) == 0);
        CHECK(sigprocmask(SIG_SETMASK, NULL, &now) == 0);
        CHECK(sigismember(&now, SIGUSR1) == 1);
        CHECK(sigismember(&now, SIGUSR2) == 0);

        /* An empty list is valid and changes nothing. */
        CHECK(sigprocmask_many(SIG_BLOCK, NULL, 0) == 0);
        CHECK(sigprocmask_many(12345, NULL, SIGUSR1, 0) == -EINVAL);

        CHECK(sigprocmask(SIG_SETMASK, &old, NULL) == 0);
}

static void on_usr1(int sig) {
        (void) sig;
}

static void test_reset_all_signals(void) {
        /* In a child: resetting our own handlers would disturb the sanitizer runtime. */
        int pidfd = -EBADF;
        pid_t pid = clone_with_pidfd(0, &pidfd);

        if (pid == 0) {
                struct sigaction sa = { .sa_handler = on_usr1 }, cur;
                sigset_t ss;
                int bad = 0;

                if (sigaction(SIGUSR1, &sa, NULL) < 0 || signal(SIGTERM, SIG_IGN) == SIG_ERR ||
                    sigprocmask_many(SIG_BLOCK, NULL, SIGUSR2, SIGHUP, 0) < 0)
                        _exit(10);
                reset_all_signals();
                if (sigaction(SIGUSR1, NULL, &cur) < 0 || cur.sa_handler != SIG_DFL)
                        bad |= 1;
                if (sigaction(SIGTERM, NULL, &cur) < 0 || cur.sa_handler != SIG_DFL)
                        bad |= 2;
                if (sigprocmask(SIG_SETMASK, NULL, &ss) < 0 || sigismember(&ss, SIGUSR2) ||
                    sigismember(&ss, SIGHUP))
                        bad |= 4;
                _exit(bad);
        }
        CHECK(pid > 0 && pidfd >= 0);
        if (pid < 0)
                return;
        siginfo_t si = {};
        CHECK(waitid((idtype_t) P_PIDFD, (id_t) pidfd, &si, WEXITED) == 0);
        CHECK(si.si_code == CLD_EXITED && si.si_status == 0);
        safe_close(pidfd);
}

static void test_namespace_inode(void) {
        static const char *const names[] = { "mnt", "pid", "net", "uts", "ipc", "user" };
        struct stat st;
        uint64_t ino = 0, ino2 = 0;

        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                char path[64];
                snprintf(path, sizeof(path), "/proc/self/ns/%s", names[i]);
                ino = 0;
                CHECK(namespace_inode(0, names[i], &ino) == 0);
                CHECK(stat(path, &st) == 0 && (uint64_t) st.st_ino == ino);
                ino2 = 0;
                CHECK(namespace_inode(getpid(), names[i], &ino2) == 0 && ino2 == ino);
        }

        /* Our parent shares our mount namespace in a test run. */
        CHECK(namespace_inode(0, "mnt", &ino) == 0);
        CHECK(namespace_inode(getppid(), "mnt", &ino2) == 0 && ino2 == ino);

        ino = 4242;
        CHECK(namespace_inode(0, "bogus", &ino) == -ENOENT);
        CHECK(namespace_inode(0x7ffffff0, "mnt", &ino) == -ENOENT);
        CHECK(ino == 4242);
}

int main(void) {
        test_clone_exit_status();
        test_clone_child_is_separate();
        test_clone_invalid_flags();
        test_pidfd_signal();
        test_pidfd_signal_term();
        test_pidfd_open();
        test_sigprocmask_many();
        test_reset_all_signals();
        test_namespace_inode();
        return tap_finish();
}
