/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "list.h"
#include "machine-error.h"
#include "machine.h"
#include "pending-reply.h"

/* An asynchronous job of machined on behalf of one call: a helper child process does the work (a
 * pty in a machine, later copying files, bind mounts, cloning and importing images), reports its
 * outcome on a socket — an errno, a message, a short text and optionally an fd — and the
 * operation answers the call waiting for it through its PendingReply, on whichever transport it
 * came. The helper may outlive the report (a shell's supervisor runs until the shell ends); the
 * operation ends when both the report was read and the child was reaped. How many run at once is
 * bounded, per machine and in all. */

typedef struct OperationResult {
        int fd;            /* passed by the helper, or -EBADF; the reply duplicates it */
        const char *text;  /* e.g. the pty's path in the machine */
} OperationResult;

/* Runs in the forked helper, in machined's namespaces with signals reset and every fd but
 * report_fd, the machine leader's pidfd and the log closed. Reports with operation_report*() and
 * _exit()s, never returns. */
typedef void (*OperationChild)(int report_fd, void *userdata);

typedef struct Operation {
        Manager *manager;
        Machine *machine;      /* NULL once the machine left the registry, or for image operations */
        char *machine_name;    /* NULL for operations on no machine */
        const char *kind;      /* "pty", "login", "shell", ...: for logs */
        pid_t pid;             /* the helper, 0 once reaped */
        int report_fd;
        sd_event_source *report_source;
        sd_event_source *timeout_source;
        PendingReply reply;    /* answered with an OperationResult */
        char *text;            /* the reported text, kept for logs after the reply */
        /* Called when the helper was reaped (si_code/si_status as in siginfo_t); may be NULL. */
        void (*reaped)(struct Operation *o, int code, int status);
        bool cancel_with_machine; /* a copy: killed and failed when the machine goes away */
        LIST_FIELDS(struct Operation, operations);
        LIST_FIELDS(struct Operation, machine_operations);
} Operation;

#define OPERATIONS_PER_MACHINE_MAX 64U
#define OPERATIONS_MAX 1024U
#define OPERATION_TIMEOUT_USEC (15 * 1000000ULL)

/* Forks child for machine m (NULL: an operation on no machine, e.g. on an image) and arranges for
 * reply to be answered with what it reports. -EBUSY beyond the limits. On failure reply is left
 * to the caller. */
int operation_start(Manager *manager, Machine *m, const char *kind, OperationChild child, void *userdata,
                    PendingReply *reply, Failure *f, Operation **ret);
/* The same for a report channel made elsewhere: report_fd (taken over) delivers the report in
 * the same format (operation_report_*()); pid, if > 0, is a child of ours doing the work. */
int operation_start_fd(Manager *manager, Machine *m, const char *kind, int report_fd, pid_t pid, PendingReply *reply,
                       Failure *f, Operation **ret);
/* Replaces the default timeout (OPERATION_TIMEOUT_USEC) of o: for work that takes as long as
 * it takes (copying a whole image). */
int operation_set_timeout(Operation *o, uint64_t usec);
/* machined reaps all its children (it is a child subreaper, so orphaned session processes come
 * to it too); this tells the operation whose helper it was. */
void operation_reaped(Manager *manager, const siginfo_t *si);
/* Forgets the machine (it went away); the child is still reaped when it exits. */
void operation_detach(Operation *o);
/* The machine went away: an operation with cancel_with_machine has its helper killed and its
 * call failed with -ESRCH; every one is detached. */
void operation_machine_gone(Operation *o);
Operation *operation_free(Operation *o);

/* The helper's side. Each sends one report; error < 0 is a failure (message: printf, %m is the
 * error's text). */
int operation_report_result(int report_fd, int fd, const char *text);
_noreturn_ void operation_report_failure(int report_fd, int error, const char *fmt, ...) _printf_(3, 4);
