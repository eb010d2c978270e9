/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "macro.h"

/* How a failure of the model reaches a client. The model returns -errno (and, through a Failure,
 * an optional explanation); what that errno means depends on what was being done: ESRCH is "no such
 * machine" when looking one up, but "the process is gone" when signalling it. One table maps
 * (context, errno) to the D-Bus error name and the Varlink error name, and both bindings use it
 * (manager-dbus.c, machine-dbus.c, supervisor-dbus.c, machined-varlink.c), so the transports never
 * disagree about the same failure. */

typedef enum ErrorContext {
        ERROR_CONTEXT_LOOKUP,     /* finding a machine by name */
        ERROR_CONTEXT_LOOKUP_PID, /* finding the machine of a PID */
        ERROR_CONTEXT_REGISTER,   /* Create/RegisterMachine*, io.systemd.Machine.Register */
        ERROR_CONTEXT_KILL,
        ERROR_CONTEXT_TERMINATE,
        ERROR_CONTEXT_UNREGISTER,
        ERROR_CONTEXT_ADDRESSES,
        ERROR_CONTEXT_OS_RELEASE,
        ERROR_CONTEXT_UID_SHIFT,
        ERROR_CONTEXT_OPERATION,  /* pty, login, shell (and later copy, bind, clone, import) */
        ERROR_CONTEXT_SUPERVISOR, /* StartImage, StopImage, EnableImage, DisableImage */
        ERROR_CONTEXT_IMAGE,      /* finding an image in the pool */
        ERROR_CONTEXT_IMAGE_OPERATION, /* RemoveImage, RenameImage, CloneImage, ... on an image or the pool */
        ERROR_CONTEXT_MAP_USER,   /* MapFromMachineUser, MapToMachineUser, MapFrom/MapTo with a uid */
        ERROR_CONTEXT_MAP_GROUP,  /* the same for groups */
        _ERROR_CONTEXT_MAX,
        _ERROR_CONTEXT_INVALID = -22,
} ErrorContext;

const char *error_context_to_string(ErrorContext c);
ErrorContext error_context_from_string(const char *s);

#define DBUS_ERROR_INVALID_ARGS "org.freedesktop.DBus.Error.InvalidArgs"
#define DBUS_ERROR_NOT_SUPPORTED "org.freedesktop.DBus.Error.NotSupported"
#define DBUS_ERROR_FAILED "org.freedesktop.DBus.Error.Failed"
#define DBUS_ERROR_ACCESS_DENIED "org.freedesktop.DBus.Error.AccessDenied"
#define DBUS_ERROR_LIMITS_EXCEEDED "org.freedesktop.DBus.Error.LimitsExceeded"
#define DBUS_ERROR_TIMEOUT "org.freedesktop.DBus.Error.Timeout"
#define DBUS_ERROR_PROCESS_UNKNOWN "org.freedesktop.DBus.Error.UnixProcessIdUnknown"

#define VARLINK_MACHINE_NO_SUCH_MACHINE "io.systemd.Machine.NoSuchMachine"
#define VARLINK_MACHINE_EXISTS "io.systemd.Machine.MachineExists"
#define VARLINK_MACHINE_NO_PRIVATE_NETWORKING "io.systemd.Machine.NoPrivateNetworking"
#define VARLINK_MACHINE_NO_OS_RELEASE "io.systemd.Machine.NoOSReleaseInformation"
#define VARLINK_MACHINE_NO_UID_SHIFT "io.systemd.Machine.NoUIDShift"
#define VARLINK_MACHINE_NOT_SUPPORTED "io.systemd.Machine.NotSupported"
#define VARLINK_MACHINE_NO_SUCH_USER "io.systemd.Machine.NoSuchUser"
#define VARLINK_MACHINE_NO_SUCH_GROUP "io.systemd.Machine.NoSuchGroup"
#define VARLINK_MACHINE_USER_IN_HOST_RANGE "io.systemd.Machine.UserInHostRange"
#define VARLINK_MACHINE_GROUP_IN_HOST_RANGE "io.systemd.Machine.GroupInHostRange"
#define VARLINK_MACHINE_TOO_MANY_OPERATIONS "io.systemd.Machine.TooManyOperations"
#define VARLINK_IMAGE_NO_SUCH_IMAGE "io.systemd.MachineImage.NoSuchImage"
#define VARLINK_IMAGE_NOT_SUPPORTED "io.systemd.MachineImage.NotSupported"
/* Not in the table: a Varlink error of NULL means io.systemd.System with {"errno": N}. */
#define VARLINK_INVALID_PARAMETER "org.varlink.service.InvalidParameter"

typedef struct ErrorMapping {
        ErrorContext context;
        int error;                 /* positive errno */
        const char *dbus_name;     /* NULL: sd-bus's errno mapping (ESRCH → UnixProcessIdUnknown, ...) */
        const char *dbus_message;  /* used when the failure carries no message; NULL: strerror() */
        const char *varlink_name;  /* NULL: io.systemd.System with the errno, as sd-varlink does */
        const char *varlink_parameter; /* InvalidParameter: the parameter when the failure names none */
} ErrorMapping;

/* The mapping of -error (or error) in context; a context-free fallback (errno-derived names on
 * both transports) when the table has no row for it. Never NULL. */
const ErrorMapping *error_mapping_find(ErrorContext context, int error);
/* For tests: the whole table. */
const ErrorMapping *error_mapping_table(size_t *ret_n);

/* A failure as the model reports it: -errno, the explanation for the client (NULL: the table's
 * or strerror()'s), and for an invalid argument the Varlink parameter it concerns. */
typedef struct Failure {
        int error;
        char *message;
        const char *parameter;
        const char *dbus_name;     /* a D-Bus error of systemd's, passed on as it is; else NULL */
} Failure;

#define FAILURE_NULL ((Failure) {})

/* Records error (negative or positive) with a message (printf; %m is the error's text) and returns
 * it negative, so that `return failure_set(f, r, "...")` reads like the bus helpers. f may be NULL. */
int failure_set(Failure *f, int error, const char *fmt, ...) _printf_(3, 4);
/* Same, naming the Varlink parameter an -EINVAL concerns. */
int failure_set_parameter(Failure *f, int error, const char *parameter, const char *fmt, ...) _printf_(4, 5);
void failure_done(Failure *f);
static inline bool failure_is_set(const Failure *f) {
        return f && f->error < 0;
}
