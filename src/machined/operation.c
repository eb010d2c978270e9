/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fd-util.h"
#include "log.h"
#include "macro.h"
#include "operation.h"
#include "process-util.h"
#include "signal-util.h"

/* What the helper reports over the socketpair; an fd travels alongside as SCM_RIGHTS. */
typedef struct OperationReport {
        int32_t error;          /* 0 or -errno */
        char message[256];
        char text[128];
} OperationReport;

/* ---- the helper's side ------------------------------------------------------------------------ */

_noreturn_ void operation_report_failure(int report_fd, int error, const char *fmt, ...) {
        OperationReport report = { .error = error < 0 ? error : -error };
        va_list ap;

        errno = -report.error;
        va_start(ap, fmt);
        vsnprintf(report.message, sizeof(report.message), fmt, ap);
        va_end(ap);
        (void) send(report_fd, &report, sizeof(report), MSG_NOSIGNAL);
        _exit(EXIT_FAILURE);
}

int operation_report_result(int report_fd, int fd, const char *text) {
        OperationReport report = {};

        snprintf(report.text, sizeof(report.text), "%s", text ?: "");
        return send_data_with_fd(report_fd, &report, sizeof(report), fd);
}

/* ---- machined's side ---------------------------------------------------------------------------- */

static void operation_fail(Operation *o, int error, const char *message) {
        pending_reply_fail(&o->reply, error, message);
}

static int on_report(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Operation *o = userdata;
        OperationReport report = {};
        _cleanup_close_ int passed = -EBADF;

        ssize_t n = receive_data_with_fd(fd, &report, sizeof(report), MSG_DONTWAIT, &passed);
        if (n == -EAGAIN)
                return 0;

        o->report_source = sd_event_source_disable_unref(o->report_source);
        o->timeout_source = sd_event_source_disable_unref(o->timeout_source);
        o->report_fd = safe_close(o->report_fd);

        report.message[sizeof(report.message) - 1] = 0;
        report.text[sizeof(report.text) - 1] = 0;
        if (n != (ssize_t) sizeof(report))
                operation_fail(o, -EIO, "The helper process died before it could report back");
        else if (report.error < 0)
                operation_fail(o, report.error, report.message[0] ? report.message : NULL);
        else {
                free(o->text);
                o->text = strdup(report.text);
                OperationResult result = { .fd = passed, .text = report.text };
                pending_reply_complete(&o->reply, NULL, &result);
                log_debug("%s operation%s%s done%s%s.", o->kind, o->machine_name ? " on machine " : "",
                          o->machine_name ?: "", report.text[0] ? ": " : "", report.text);
        }
        if (o->pid == 0)
                operation_free(o);
        return 0;
}

static int on_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        Operation *o = userdata;

        log_warning("Helper of the %s operation%s%s did not report back in time, killing it.", o->kind,
                    o->machine_name ? " on machine " : "", o->machine_name ?: "");
        operation_fail(o, -ETIMEDOUT, "Timed out while waiting for the helper process in the machine");
        if (o->pid > 0)
                (void) kill(o->pid, SIGKILL);
        o->timeout_source = sd_event_source_disable_unref(o->timeout_source);
        return 0;
}

int operation_set_timeout(Operation *o, uint64_t usec) {
        if (!o->timeout_source)
                return -ESTALE;
        return sd_event_source_set_time_relative(o->timeout_source, usec);
}

void operation_reaped(Manager *manager, const siginfo_t *si) {
        Operation *o;

        LIST_FOREACH(operations, o, manager->operations)
                if (o->pid == si->si_pid)
                        break;
        if (!o)
                return;
        if (o->reaped)
                o->reaped(o, si->si_code, si->si_status);
        o->pid = 0;
        /* A report may still be in the socket: only done when that was read too. */
        if (o->report_fd < 0)
                operation_free(o);
}

static int operation_new(Manager *manager, Machine *m, const char *kind, Failure *f, Operation **ret) {
        if ((m && m->n_operations >= OPERATIONS_PER_MACHINE_MAX) || manager->n_operations >= OPERATIONS_MAX)
                return failure_set(f, -EBUSY, "Too many ongoing operations.");
        Operation *o = calloc(1, sizeof(Operation));
        if (!o)
                return failure_set(f, -ENOMEM, "%m");
        *o = (Operation) { .manager = manager, .machine = m, .kind = kind, .report_fd = -EBADF };
        o->machine_name = m ? strdup(m->name) : NULL;
        if (m && !o->machine_name) {
                free(o);
                return failure_set(f, -ENOMEM, "%m");
        }
        LIST_PREPEND(operations, manager->operations, o);
        manager->n_operations++;
        if (m) {
                LIST_PREPEND(machine_operations, m->operations, o);
                m->n_operations++;
        }
        *ret = o;
        return 0;
}

/* Watches report_fd (taken over) and, if pid > 0, counts on being told when it is reaped. */
static int operation_watch(Operation *o, int report_fd, pid_t pid, PendingReply *reply) {
        Manager *manager = o->manager;
        int r;

        o->report_fd = report_fd;
        o->pid = pid;
        r = sd_event_add_io(manager->event, &o->report_source, o->report_fd, EPOLLIN, on_report, o);
        if (r < 0)
                return r;
        r = sd_event_add_time_relative(manager->event, &o->timeout_source, CLOCK_MONOTONIC, OPERATION_TIMEOUT_USEC, 0,
                                       on_timeout, o);
        if (r < 0)
                return r;
        o->reply = *reply;
        *reply = (PendingReply) {};
        return 0;
}

int operation_start_fd(Manager *manager, Machine *m, const char *kind, int report_fd, pid_t pid, PendingReply *reply,
                       Failure *f, Operation **ret) {
        Operation *o;

        int r = operation_new(manager, m, kind, f, &o);
        if (r < 0) {
                safe_close(report_fd);
                return r;
        }
        r = operation_watch(o, report_fd, pid, reply);
        if (r < 0) {
                o->pid = 0; /* the caller's process: not ours to reap or forget */
                operation_free(o);
                return failure_set(f, r, "Failed to watch the %s operation: %m", kind);
        }
        if (ret)
                *ret = o;
        return 0;
}

int operation_start(Manager *manager, Machine *m, const char *kind, OperationChild child, void *userdata,
                    PendingReply *reply, Failure *f, Operation **ret) {
        Operation *o = NULL;
        int pair[2], r;

        r = operation_new(manager, m, kind, f, &o);
        if (r < 0)
                return r;
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0) {
                r = negative_errno();
                goto fail;
        }

        pid_t pid = fork();
        if (pid < 0) {
                safe_close(pair[0]);
                safe_close(pair[1]);
                r = negative_errno();
                goto fail;
        }
        if (pid == 0) {
                int keep[] = { pair[1], m ? m->leader.fd : -EBADF, log_get_fd() };
                reset_all_signals();
                (void) fd_close_all_except(keep, ELEMENTSOF(keep));
                child(pair[1], userdata);
                _exit(EXIT_FAILURE);
        }
        safe_close(pair[1]);
        r = operation_watch(o, pair[0], pid, reply);
        if (r < 0) {
                (void) kill(pid, SIGKILL);
                (void) waitpid(pid, NULL, 0);
                o->pid = 0;
                goto fail;
        }
        if (ret)
                *ret = o;
        return 0;

fail:
        operation_free(o);
        return failure_set(f, r, "Failed to start the %s helper: %m", kind);
}

void operation_detach(Operation *o) {
        if (!o->machine)
                return;
        LIST_REMOVE(machine_operations, o->machine->operations, o);
        o->machine->n_operations--;
        o->machine = NULL;
}

void operation_machine_gone(Operation *o) {
        if (o->cancel_with_machine) {
                if (o->pid > 0)
                        (void) kill(o->pid, SIGKILL);
                operation_fail(o, -ESRCH, "Machine went away");
        }
        operation_detach(o);
}

Operation *operation_free(Operation *o) {
        if (!o)
                return NULL;
        operation_detach(o);
        LIST_REMOVE(operations, o->manager->operations, o);
        o->manager->n_operations--;
        operation_fail(o, -ECANCELED, "Operation cancelled");
        sd_event_source_disable_unref(o->report_source);
        sd_event_source_disable_unref(o->timeout_source);
        safe_close(o->report_fd);
        free(o->machine_name);
        free(o->text);
        free(o);
        return NULL;
}
