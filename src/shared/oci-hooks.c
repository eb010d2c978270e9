/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fd-util.h"
#include "macro.h"
#include "oci-hooks.h"
#include "process-util.h"

/* The hook's side of the fork: the state on stdin from a memfd (never a pipe: a hook that does not
 * read stdin must not block us), signals as a fresh program expects them, and an execve failure
 * reported as its errno over errpipe (close-on-exec, so EOF means the exec succeeded). */
_noreturn_ static void hook_child(const OciHook *h, int state_fd, int errpipe) {
        char *const empty[] = { NULL };
        char *const path_only[] = { h->path, NULL };
        int e;

        reset_all_signals();
        /* The memfd may itself be fd 0 (the caller's stdin was closed): dup2() onto itself keeps
         * its close-on-exec flag, and the hook would find stdin empty. */
        if (state_fd == STDIN_FILENO ? fcntl(state_fd, F_SETFD, 0) < 0 : dup2(state_fd, STDIN_FILENO) < 0)
                e = errno;
        else {
                execve(h->path, h->args && h->args[0] ? h->args : path_only, h->env ?: empty);
                e = errno;
        }
        (void) !write(errpipe, &e, sizeof(e));
        _exit(127);
}

static int state_memfd(const char *state_json) {
        _cleanup_close_ int fd = memfd_create("oci-state", MFD_CLOEXEC);
        size_t n = strlen(state_json);

        if (fd < 0)
                return -errno;
        if (write(fd, state_json, n) != (ssize_t) n || lseek(fd, 0, SEEK_SET) < 0)
                return errno > 0 ? -errno : -EIO;
        return TAKE_FD(fd);
}

/* Waits for pid at most timeout seconds (0: forever); kills it then. */
static int hook_wait(pid_t pid, unsigned timeout, int *ret_status) {
        int status;

        if (timeout > 0) {
                _cleanup_close_ int pidfd = pidfd_open_pid(pid);
                if (pidfd >= 0) {
                        struct pollfd p = { .fd = pidfd, .events = POLLIN };
                        struct timespec start, now;
                        clock_gettime(CLOCK_MONOTONIC, &start);
                        for (;;) {
                                clock_gettime(CLOCK_MONOTONIC, &now);
                                long long left = (long long) timeout * 1000 - ((now.tv_sec - start.tv_sec) * 1000LL +
                                                                               (now.tv_nsec - start.tv_nsec) / 1000000);
                                if (left <= 0) {
                                        (void) kill(pid, SIGKILL);
                                        (void) waitpid(pid, NULL, 0);
                                        return -ETIMEDOUT;
                                }
                                int r = poll(&p, 1, (int) (left > 60000 ? 60000 : left));
                                if (r > 0)
                                        break;
                                if (r < 0 && errno != EINTR) {
                                        (void) kill(pid, SIGKILL);
                                        break;
                                }
                        }
                }
        }
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        *ret_status = status;
        return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EPROTO;
}

int oci_hook_run(const OciHook *h, const char *state_json, int *ret_status) {
        _cleanup_close_pair_ int errpipe[2] = { -EBADF, -EBADF };
        _cleanup_close_ int state_fd = state_memfd(state_json ?: "");
        int status = 0, e = 0, r;

        if (state_fd < 0)
                return state_fd;
        if (pipe2(errpipe, O_CLOEXEC) < 0)
                return -errno;
        pid_t pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0)
                hook_child(h, state_fd, errpipe[1]);
        errpipe[1] = safe_close(errpipe[1]);
        ssize_t n = read(errpipe[0], &e, sizeof(e));
        r = hook_wait(pid, h->timeout, &status);
        if (n == (ssize_t) sizeof(e) && e > 0)
                return -e;
        if (ret_status)
                *ret_status = status;
        return r;
}

int oci_hooks_run(const OciHook *hooks, size_t n, const char *state_json, size_t *ret_failed, int *ret_status) {
        for (size_t i = 0; i < n; i++) {
                int r = oci_hook_run(hooks + i, state_json, ret_status);
                if (r < 0) {
                        if (ret_failed)
                                *ret_failed = i;
                        return r;
                }
        }
        return 0;
}
