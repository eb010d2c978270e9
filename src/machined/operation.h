/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <signal.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "list.h"
#include "machine.h"

/* A pseudo terminal inside a machine, made without any help from the guest (no systemd, no D-Bus
 * needed there): a child of machined joins the leader's cgroups and namespaces, opens the guest's
 * /dev/ptmx and passes the master back. For login and shell it stays as the session's supervisor:
 * it forks login or the shell on the pty's other end, waits for it and, for shells, writes the exit
 * status as the last thing on the pty (an OSC 3008 "end" sequence, see machined(8)). */
typedef enum OperationMode {
        OPERATION_PTY,
        OPERATION_LOGIN,
        OPERATION_SHELL,
        _OPERATION_MODE_MAX,
        _OPERATION_MODE_INVALID = -22,
} OperationMode;

const char *operation_mode_to_string(OperationMode m);
OperationMode operation_mode_from_string(const char *s);

typedef struct ShellRequest {
        OperationMode mode;
        const char *user;   /* shell: NULL or "" is root */
        const char *path;   /* shell: NULL or "" is the user's login shell */
        char **args;        /* shell: argv, [path] if empty */
        char **env;         /* shell: extra NAME=VALUE assignments */
} ShellRequest;

typedef struct Operation {
        Manager *manager;
        Machine *machine;      /* NULL once the machine left the registry */
        char *machine_name;
        OperationMode mode;
        pid_t pid;
        int socket_fd;
        sd_event_source *socket_source;
        sd_event_source *timeout_source;
        sd_bus_message *message; /* the call waiting for the pty */
        char *pty_path;
        LIST_FIELDS(Operation, operations);
        LIST_FIELDS(Operation, machine_operations);
} Operation;

#define OPERATIONS_PER_MACHINE_MAX 64U
#define OPERATIONS_MAX 1024U

/* Starts the child and arranges for message to be answered with (h pty, s pty_path) or an error.
 * Returns < 0 with error set if it could not even start. */
int operation_open_pty(Machine *m, const ShellRequest *req, sd_bus_message *message, sd_bus_error *error);
/* machined reaps all its children (it is a child subreaper, so orphaned session processes come
 * to it too); this tells the operation whose helper it was. */
void operation_reaped(Manager *manager, const siginfo_t *si);
/* Forgets the machine (it went away); the child is still reaped when it exits. */
void operation_detach(Operation *o);
Operation *operation_free(Operation *o);
