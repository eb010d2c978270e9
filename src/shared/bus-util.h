/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* sd-bus helpers shared by machined and its clients. Only built where libsystemd is available. */
#if HAVE_LIBSYSTEMD
#include <stdbool.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>

#include "parse-util.h"
#include "pidref.h"

/* Public error names of org.freedesktop.machine1 (systemd's bus-common-errors.h). */
#define BUS_ERROR_NO_SUCH_MACHINE "org.freedesktop.machine1.NoSuchMachine"
#define BUS_ERROR_NO_SUCH_IMAGE "org.freedesktop.machine1.NoSuchImage"
#define BUS_ERROR_MACHINE_EXISTS "org.freedesktop.machine1.MachineExists"
#define BUS_ERROR_NO_MACHINE_FOR_PID "org.freedesktop.machine1.NoMachineForPID"
#define BUS_ERROR_NO_PRIVATE_NETWORKING "org.freedesktop.machine1.NoPrivateNetworking"
#define BUS_ERROR_NO_SUCH_USER_MAPPING "org.freedesktop.machine1.NoSuchUserMapping"
#define BUS_ERROR_NO_SUCH_GROUP_MAPPING "org.freedesktop.machine1.NoSuchGroupMapping"

/* Registers the names above with sd-bus so that errno values map to them and back. */
int bus_register_machine1_errors(void);

/* The effective UID of the sender of m, from the bus (the dbus-daemon records it at connect time). */
int bus_query_sender_euid(sd_bus_message *m, uid_t *ret);
/* 0 if the sender is root; otherwise sets org.freedesktop.DBus.Error.AccessDenied and returns
 * -EACCES. Read-only methods do not call this. */
int bus_verify_root(sd_bus_message *m, sd_bus_error *error);
/* Pins the sending process. */
int bus_query_sender_pidref(sd_bus_message *m, PidRef *ret);

/* Reads an "ay" that is empty (null ID) or exactly 16 bytes. -EINVAL otherwise. */
int bus_message_read_id128(sd_bus_message *m, Id128 *ret);
int bus_message_append_id128(sd_bus_message *m, const Id128 *id);
/* Appends a strv of "KEY=VALUE" as a{ss}. */
int bus_message_append_env_as_dict(sd_bus_message *m, char * const *env);

/* Property getter for a char* field: NULL reads as "". */
int bus_property_get_string(sd_bus *bus, const char *path, const char *interface, const char *property,
                            sd_bus_message *reply, void *userdata, sd_bus_error *error);

static inline void sd_bus_error_freep(sd_bus_error *e) {
        sd_bus_error_free(e);
}
#endif
