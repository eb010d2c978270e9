/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Hooks run in the runtime's namespaces with the container's state on stdin, as the spec says. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fd-util.h"
#include "oci-runtime.h"
#include "process-util.h"
#include "strv.h"

static int hook_run(const OciHook *h, const char *state, char **ret_error) {
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0)
                return -errno;
        int pidfd = -1;
        pid_t pid = clone_with_pidfd(0, &pidfd);
        if (pid < 0) {
                close(p[0]);
                close(p[1]);
                return pid;
        }
        if (pid == 0) {
                char *fallback[] = { (char *) h->path, NULL };
                if (dup2(p[0], 0) < 0)
                        _exit(127);
                execve(h->path, h->args && h->args[0] ? h->args : fallback, h->env ? h->env : (char *[]) { NULL });
                _exit(127);
        }
        close(p[0]);
        (void) loop_write(p[1], state, strlen(state));
        close(p[1]);
        struct pollfd pfd = { .fd = pidfd, .events = POLLIN };
        int r = poll(&pfd, 1, h->timeout > 0 ? h->timeout * 1000 : -1);
        if (r == 0)
                (void) pidfd_signal(pidfd, SIGKILL);
        close(pidfd);
        int status = 0;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        if (r == 0) {
                if (asprintf(ret_error, "Hook %s timed out after %d s", h->path, h->timeout) < 0)
                        *ret_error = NULL;
                return -ETIMEDOUT;
        }
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                if (asprintf(ret_error, "Hook %s failed (%s %d)", h->path, WIFEXITED(status) ? "exit status" : "signal",
                             WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status)) < 0)
                        *ret_error = NULL;
                return -EPROTO;
        }
        return 0;
}

int oci_hooks_run(const OciHook *hooks, size_t n, const OciState *state, const char *status, char **ret_error) {
        if (n == 0)
                return 0;
        json_object *o = oci_state_to_json(state, status);
        if (!o)
                return -ENOMEM;
        const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
        int r = 0;
        for (size_t i = 0; i < n && r >= 0; i++)
                r = hook_run(&hooks[i], text, ret_error);
        json_object_put(o);
        return r;
}
