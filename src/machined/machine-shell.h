/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "machine-error.h"
#include "machine.h"
#include "pending-reply.h"

/* A pseudo terminal inside a machine, made without any help from the guest (no systemd, no D-Bus
 * needed there): an operation (operation.h) whose helper joins the leader's cgroups and
 * namespaces, opens the guest's /dev/ptmx and passes the master back. For login and shell it stays
 * as the session's supervisor: it forks login or the shell on the pty's other end, waits for it
 * and, for shells, writes the exit status as the last thing on the pty (an OSC 3008 "end"
 * sequence, see machined(8)). */
typedef enum ShellMode {
        SHELL_PTY,
        SHELL_LOGIN,
        SHELL_SHELL,
        _SHELL_MODE_MAX,
        _SHELL_MODE_INVALID = -22,
} ShellMode;

const char *shell_mode_to_string(ShellMode m);
ShellMode shell_mode_from_string(const char *s);

typedef struct ShellRequest {
        ShellMode mode;
        const char *user;   /* shell: NULL or "" is root */
        const char *path;   /* shell: NULL or "" is the user's login shell */
        char **args;        /* shell: argv, [path] if empty */
        char **env;         /* shell: extra NAME=VALUE assignments */
} ShellRequest;

/* Starts the helper; reply is answered with an OperationResult (fd: the pty master, text: its path
 * in the machine). -EOPNOTSUPP for VMs, -ESRCH if the machine is going away, -EBUSY beyond the
 * operation limits. */
int machine_open_shell(Machine *m, const ShellRequest *req, PendingReply *reply, Failure *f);
