/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "machine-error.h"
#include "manager.h"
#include "pending-reply.h"

/* org.freedesktop.machine1.Manager at /org/freedesktop/machine1. */
int manager_dbus_register(Manager *m);

/* Connects to the bus and exports every object (manager, machines, images, io.berth.Machined1),
 * but does not take the name yet. */
int manager_connect_bus(Manager *m);
/* Fails with a logged, explanatory error if someone else owns org.freedesktop.machine1. */
int manager_check_name_free(Manager *m);
int manager_request_name(Manager *m);
/* Sends what is queued and disconnects: after manager_free(), which answers pending calls. */
void machined_bus_close(sd_bus *bus);

/* Sets error from the error table (machine-error.h): a model failure (f, or just r when f is
 * unset) in context, as D-Bus shows it. Returns a negative errno for the method handler. */
int bus_set_failure(sd_bus_error *error, ErrorContext context, int r, const Failure *f);
/* The same with a message of its own (printf, %m is r's text). */
int bus_set_errorf(sd_bus_error *error, ErrorContext context, int r, const char *fmt, ...) _printf_(4, 5);
/* Answers message with f, mapped through the table. */
int bus_reply_failure(sd_bus_message *message, ErrorContext context, const Failure *f);
/* A PendingReply for message (referenced until answered or dropped), answered by complete. */
PendingReply bus_pending_reply(sd_bus_message *message, void (*complete)(void *call, const Failure *f, const void *result));
