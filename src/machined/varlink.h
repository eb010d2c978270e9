/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

/* A Varlink server (https://varlink.org): JSON objects, each terminated by a NUL byte, over a
 * unix stream socket. libsystemd 252 has no sd-varlink, so this is our own, on sd-event, with
 * json-c doing all JSON parsing and printing. Calls on one connection are answered in order; a
 * method may answer later (asynchronously), and nothing else on that connection is read until it
 * has. org.varlink.service (GetInfo, GetInterfaceDescription) is built in. */
typedef struct VarlinkServer VarlinkServer;
typedef struct VarlinkCall VarlinkCall;

/* Must answer (now or later) with varlink_call_reply()/_error(), unless the call is oneway; a
 * negative return without having answered sends io.systemd.System with the errno. */
typedef int (*VarlinkMethodCallback)(VarlinkCall *call, struct json_object *parameters, void *userdata);

typedef struct VarlinkMethod {
        const char *name; /* without the interface, "List" */
        VarlinkMethodCallback callback;
} VarlinkMethod;

typedef struct VarlinkInterface {
        const char *name;        /* "io.systemd.Machine" */
        const char *description; /* IDL text for GetInterfaceDescription */
        const VarlinkMethod *methods; /* terminated by { NULL } */
} VarlinkInterface;

typedef struct VarlinkServerInfo {
        const char *vendor, *product, *version, *url;
} VarlinkServerInfo;

int varlink_server_new(sd_event *event, const char *path, mode_t mode, const VarlinkServerInfo *info, VarlinkServer **ret);
int varlink_server_add_interface(VarlinkServer *s, const VarlinkInterface *iface, void *userdata);
VarlinkServer *varlink_server_free(VarlinkServer *s);

VarlinkCall *varlink_call_ref(VarlinkCall *c);
VarlinkCall *varlink_call_unref(VarlinkCall *c);
bool varlink_call_wants_more(const VarlinkCall *c);
/* SO_PEERCRED of the connection; -ENOTCONN once it went away. */
int varlink_call_get_peer(const VarlinkCall *c, uid_t *ret_uid, pid_t *ret_pid);

/* All take ownership of params (NULL means {}). reply and error end the call; notify sends an
 * intermediate reply ("continues": true) and is only allowed if the client asked for "more". */
int varlink_call_reply(VarlinkCall *c, struct json_object *params);
int varlink_call_notify(VarlinkCall *c, struct json_object *params);
int varlink_call_error(VarlinkCall *c, const char *error, struct json_object *params);
int varlink_call_error_invalid_parameter(VarlinkCall *c, const char *parameter);
int varlink_call_error_errno(VarlinkCall *c, int error);
/* As sd_varlink_push_fd(): fd goes with the call's next reply (SCM_RIGHTS on the connection);
 * returns its index among that reply's descriptors, which the reply's parameters name. Takes
 * fd over on success; it is closed once sent, or when the call ends without sending it. */
#define VARLINK_FDS_MAX 16
int varlink_call_push_fd(VarlinkCall *c, int fd);

#define VARLINK_ERROR_INVALID_PARAMETER "org.varlink.service.InvalidParameter"
#define VARLINK_ERROR_PERMISSION_DENIED "org.varlink.service.PermissionDenied"
#define VARLINK_ERROR_EXPECTED_MORE "org.varlink.service.ExpectedMore"
#define VARLINK_ERROR_METHOD_NOT_FOUND "org.varlink.service.MethodNotFound"
#define VARLINK_ERROR_INTERFACE_NOT_FOUND "org.varlink.service.InterfaceNotFound"
#define VARLINK_ERROR_SYSTEM "io.systemd.System"
