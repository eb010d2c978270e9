/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus-util.h"
#include "machine-error.h"
#include "string-table.h"

static const char *const error_context_table[_ERROR_CONTEXT_MAX] = {
        [ERROR_CONTEXT_LOOKUP] = "lookup",
        [ERROR_CONTEXT_LOOKUP_PID] = "lookup-pid",
        [ERROR_CONTEXT_REGISTER] = "register",
        [ERROR_CONTEXT_KILL] = "kill",
        [ERROR_CONTEXT_TERMINATE] = "terminate",
        [ERROR_CONTEXT_UNREGISTER] = "unregister",
        [ERROR_CONTEXT_ADDRESSES] = "addresses",
        [ERROR_CONTEXT_OS_RELEASE] = "os-release",
        [ERROR_CONTEXT_UID_SHIFT] = "uid-shift",
        [ERROR_CONTEXT_OPERATION] = "operation",
        [ERROR_CONTEXT_SUPERVISOR] = "supervisor",
        [ERROR_CONTEXT_IMAGE] = "image",
        [ERROR_CONTEXT_IMAGE_OPERATION] = "image-operation",
        [ERROR_CONTEXT_MAP_USER] = "map-user",
        [ERROR_CONTEXT_MAP_GROUP] = "map-group",
};

DEFINE_STRING_TABLE_LOOKUP(error_context, ErrorContext)

/* What systemd-machined answers, where it says something particular; everything else takes the
 * errno-derived names on both transports (sd-bus's errno mapping, io.systemd.System). */
static const ErrorMapping mappings[] = {
        { ERROR_CONTEXT_LOOKUP, ENXIO, BUS_ERROR_NO_SUCH_MACHINE, "No such machine", VARLINK_MACHINE_NO_SUCH_MACHINE },
        /* Its leader is gone and it is about to be removed. */
        { ERROR_CONTEXT_LOOKUP, ESRCH, BUS_ERROR_NO_SUCH_MACHINE, "No such machine", VARLINK_MACHINE_NO_SUCH_MACHINE },
        { ERROR_CONTEXT_LOOKUP, EINVAL, DBUS_ERROR_INVALID_ARGS, "Invalid machine name", VARLINK_INVALID_PARAMETER, "name" },
        { ERROR_CONTEXT_LOOKUP_PID, ENXIO, BUS_ERROR_NO_MACHINE_FOR_PID, "PID does not belong to any known machine",
          VARLINK_MACHINE_NO_SUCH_MACHINE },
        { ERROR_CONTEXT_LOOKUP_PID, EINVAL, DBUS_ERROR_INVALID_ARGS, "Invalid PID", VARLINK_INVALID_PARAMETER, "pid" },

        { ERROR_CONTEXT_REGISTER, EEXIST, BUS_ERROR_MACHINE_EXISTS, "Machine already exists", VARLINK_MACHINE_EXISTS },
        { ERROR_CONTEXT_REGISTER, EINVAL, DBUS_ERROR_INVALID_ARGS, "Invalid argument", VARLINK_INVALID_PARAMETER, "name" },
        /* A leader that cannot be pinned: the errno's own D-Bus name (UnixProcessIdUnknown), and,
         * as from systemd's JSON dispatcher, an invalid "leader" over Varlink. */
        { ERROR_CONTEXT_REGISTER, ESRCH, NULL, "Leader process is gone", VARLINK_INVALID_PARAMETER, "leader" },

        { ERROR_CONTEXT_KILL, EINVAL, DBUS_ERROR_INVALID_ARGS, "Invalid argument", VARLINK_INVALID_PARAMETER, "whom" },
        /* .host: the host is not ours to stop, signal or forget. */
        { ERROR_CONTEXT_KILL, EOPNOTSUPP, DBUS_ERROR_NOT_SUPPORTED, "Not supported for the host.", VARLINK_MACHINE_NOT_SUPPORTED },
        { ERROR_CONTEXT_TERMINATE, EOPNOTSUPP, DBUS_ERROR_NOT_SUPPORTED, "Not supported for the host.",
          VARLINK_MACHINE_NOT_SUPPORTED },
        { ERROR_CONTEXT_UNREGISTER, EOPNOTSUPP, DBUS_ERROR_NOT_SUPPORTED, "Not supported for the host.",
          VARLINK_MACHINE_NOT_SUPPORTED },
        /* The machine exists, the process to signal does not: not NoSuchMachine. */
        { ERROR_CONTEXT_KILL, ESRCH, DBUS_ERROR_PROCESS_UNKNOWN, "The process is gone", NULL },

        { ERROR_CONTEXT_ADDRESSES, ENONET, BUS_ERROR_NO_PRIVATE_NETWORKING, "Machine does not use private networking",
          VARLINK_MACHINE_NO_PRIVATE_NETWORKING },
        { ERROR_CONTEXT_ADDRESSES, EOPNOTSUPP, DBUS_ERROR_NOT_SUPPORTED,
          "Requesting IP address data is only supported on container machines.", VARLINK_MACHINE_NOT_SUPPORTED },
        { ERROR_CONTEXT_OS_RELEASE, EOPNOTSUPP, DBUS_ERROR_NOT_SUPPORTED,
          "Requesting OS release data is only supported on container machines.", VARLINK_MACHINE_NOT_SUPPORTED },
        { ERROR_CONTEXT_OS_RELEASE, ENOENT, DBUS_ERROR_FAILED, "Machine does not contain OS release information.",
          VARLINK_MACHINE_NO_OS_RELEASE },
        { ERROR_CONTEXT_UID_SHIFT, EOPNOTSUPP, DBUS_ERROR_NOT_SUPPORTED,
          "UID/GID shift may only be determined for container machines.", VARLINK_MACHINE_NOT_SUPPORTED },
        { ERROR_CONTEXT_UID_SHIFT, ENXIO, DBUS_ERROR_NOT_SUPPORTED, "Machine uses a complex UID/GID mapping",
          VARLINK_MACHINE_NO_UID_SHIFT },

        { ERROR_CONTEXT_OPERATION, EBUSY, DBUS_ERROR_LIMITS_EXCEEDED, "Too many ongoing operations.",
          VARLINK_MACHINE_TOO_MANY_OPERATIONS },
        { ERROR_CONTEXT_OPERATION, EOPNOTSUPP, DBUS_ERROR_NOT_SUPPORTED, "Not supported on this machine.",
          VARLINK_MACHINE_NOT_SUPPORTED },
        { ERROR_CONTEXT_OPERATION, ESRCH, BUS_ERROR_NO_SUCH_MACHINE, "Machine is going away.",
          VARLINK_MACHINE_NO_SUCH_MACHINE },
        /* Also "no such user in the machine", reported by the helper inside it. */
        { ERROR_CONTEXT_OPERATION, EINVAL, DBUS_ERROR_INVALID_ARGS, "Invalid argument", VARLINK_INVALID_PARAMETER, "user" },

        { ERROR_CONTEXT_SUPERVISOR, EEXIST, BUS_ERROR_MACHINE_EXISTS, "Machine is already running.", NULL },
        { ERROR_CONTEXT_SUPERVISOR, ESRCH, BUS_ERROR_NO_SUCH_MACHINE, "Machine is not running.", NULL },
        { ERROR_CONTEXT_SUPERVISOR, EINVAL, DBUS_ERROR_INVALID_ARGS, "Invalid machine name.", NULL },
        { ERROR_CONTEXT_SUPERVISOR, EOPNOTSUPP, DBUS_ERROR_NOT_SUPPORTED, "Machine was not started by machined.", NULL },
        { ERROR_CONTEXT_SUPERVISOR, ETIMEDOUT, DBUS_ERROR_TIMEOUT, "Machine did not register in time.", NULL },
        /* spawn exited, the machine was stopped before it was up, machined is shutting down, a
         * systemd job failed: all plain failures with an explanation. */
        { ERROR_CONTEXT_SUPERVISOR, ECHILD, DBUS_ERROR_FAILED, "spawn exited.", NULL },
        { ERROR_CONTEXT_SUPERVISOR, ECANCELED, DBUS_ERROR_FAILED, "Cancelled.", NULL },
        { ERROR_CONTEXT_SUPERVISOR, EIO, DBUS_ERROR_FAILED, "Failed.", NULL },

        { ERROR_CONTEXT_IMAGE, ENOENT, BUS_ERROR_NO_SUCH_IMAGE, "No such image", VARLINK_IMAGE_NO_SUCH_IMAGE },
        { ERROR_CONTEXT_IMAGE, EINVAL, DBUS_ERROR_INVALID_ARGS, "Invalid image name", VARLINK_INVALID_PARAMETER, "name" },

        { ERROR_CONTEXT_IMAGE_OPERATION, ENOENT, BUS_ERROR_NO_SUCH_IMAGE, "No such image", VARLINK_IMAGE_NO_SUCH_IMAGE },
        { ERROR_CONTEXT_IMAGE_OPERATION, EINVAL, DBUS_ERROR_INVALID_ARGS, "Invalid image name", VARLINK_INVALID_PARAMETER, "name" },
        { ERROR_CONTEXT_IMAGE_OPERATION, EOPNOTSUPP, DBUS_ERROR_NOT_SUPPORTED, "Not supported for this image or pool.",
          VARLINK_IMAGE_NOT_SUPPORTED },
        { ERROR_CONTEXT_IMAGE_OPERATION, EBUSY, DBUS_ERROR_FAILED, "Image is in use.", NULL },
        { ERROR_CONTEXT_IMAGE_OPERATION, EROFS, DBUS_ERROR_FAILED, "Image is read-only.", NULL },
        { ERROR_CONTEXT_IMAGE_OPERATION, EEXIST, DBUS_ERROR_FAILED, "An image of that name exists already.", NULL },
        { ERROR_CONTEXT_IMAGE_OPERATION, EPERM, DBUS_ERROR_ACCESS_DENIED, "Access denied.", NULL },

        /* ID mapping (machine-idmap.c): no mapping, a host ID below 65536, a machine that is no
         * container, one going away; over Varlink a uid and a gid of two different machines. */
        { ERROR_CONTEXT_MAP_USER, EINVAL, DBUS_ERROR_INVALID_ARGS, "Invalid user ID", VARLINK_INVALID_PARAMETER, "uid" },
        { ERROR_CONTEXT_MAP_USER, ENXIO, BUS_ERROR_NO_SUCH_USER_MAPPING, "No matching user mapping.",
          VARLINK_MACHINE_NO_SUCH_USER },
        { ERROR_CONTEXT_MAP_USER, ERANGE, BUS_ERROR_NO_SUCH_USER_MAPPING, "User belongs to the host UID range.",
          VARLINK_MACHINE_USER_IN_HOST_RANGE },
        { ERROR_CONTEXT_MAP_USER, EOPNOTSUPP, DBUS_ERROR_NOT_SUPPORTED, "Not supported for non-container machines.",
          VARLINK_MACHINE_NOT_SUPPORTED },
        { ERROR_CONTEXT_MAP_USER, ESRCH, BUS_ERROR_NO_SUCH_MACHINE, "Machine is going away.", VARLINK_MACHINE_NO_SUCH_MACHINE },
        { ERROR_CONTEXT_MAP_USER, EXDEV, DBUS_ERROR_INVALID_ARGS, "UID and GID belong to different machines.",
          VARLINK_MACHINE_NO_SUCH_MACHINE },
        { ERROR_CONTEXT_MAP_GROUP, EINVAL, DBUS_ERROR_INVALID_ARGS, "Invalid group ID", VARLINK_INVALID_PARAMETER, "gid" },
        { ERROR_CONTEXT_MAP_GROUP, ENXIO, BUS_ERROR_NO_SUCH_GROUP_MAPPING, "No matching group mapping.",
          VARLINK_MACHINE_NO_SUCH_GROUP },
        { ERROR_CONTEXT_MAP_GROUP, ERANGE, BUS_ERROR_NO_SUCH_GROUP_MAPPING, "Group belongs to the host GID range.",
          VARLINK_MACHINE_GROUP_IN_HOST_RANGE },
        { ERROR_CONTEXT_MAP_GROUP, EOPNOTSUPP, DBUS_ERROR_NOT_SUPPORTED, "Not supported for non-container machines.",
          VARLINK_MACHINE_NOT_SUPPORTED },
        { ERROR_CONTEXT_MAP_GROUP, ESRCH, BUS_ERROR_NO_SUCH_MACHINE, "Machine is going away.", VARLINK_MACHINE_NO_SUCH_MACHINE },
};

const ErrorMapping *error_mapping_find(ErrorContext context, int error) {
        static ErrorMapping fallback;
        int e = abs(error);

        for (size_t i = 0; i < ELEMENTSOF(mappings); i++)
                if (mappings[i].context == context && mappings[i].error == e)
                        return mappings + i;
        /* machined is single-threaded; the fallback is filled per call. */
        fallback = (ErrorMapping) { .context = context, .error = e };
        return &fallback;
}

const ErrorMapping *error_mapping_table(size_t *ret_n) {
        *ret_n = ELEMENTSOF(mappings);
        return mappings;
}

static int failure_setv(Failure *f, int error, const char *parameter, const char *fmt, va_list ap) {
        error = -abs(error);
        if (!f)
                return error;
        failure_done(f);
        f->error = error;
        f->parameter = parameter;
        if (fmt) {
                errno = -error; /* for %m */
                if (vasprintf(&f->message, fmt, ap) < 0)
                        f->message = NULL;
        }
        return error;
}

int failure_set(Failure *f, int error, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        int r = failure_setv(f, error, NULL, fmt, ap);
        va_end(ap);
        return r;
}

int failure_set_parameter(Failure *f, int error, const char *parameter, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        int r = failure_setv(f, error, parameter, fmt, ap);
        va_end(ap);
        return r;
}

void failure_done(Failure *f) {
        if (!f)
                return;
        free(f->message);
        *f = FAILURE_NULL;
}
