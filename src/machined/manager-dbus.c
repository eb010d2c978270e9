/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus-util.h"
#include "cgroup-backend.h"
#include "cgroup-util.h"
#include "image-dbus.h"
#include "image.h"
#include "log.h"
#include "machine-dbus.h"
#include "machine.h"
#include "macro.h"
#include "manager-dbus.h"
#include "name-util.h"
#include "parse-util.h"
#include "pending-reply.h"
#include "strv.h"
#include "supervisor.h"


/* ---- properties ------------------------------------------------------------------------------ */

static int property_get_pool_path(sd_bus *bus, const char *path, const char *interface, const char *property,
                                  sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        return sd_bus_message_append(reply, "s", m->config.pool_path);
}

static int property_get_pool_usage(sd_bus *bus, const char *path, const char *interface, const char *property,
                                   sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        /* systemd reports btrfs quota data here and UINT64_MAX elsewhere; no quota support yet. */
        return sd_bus_message_append(reply, "t", UINT64_MAX);
}

static int property_get_pool_limit(sd_bus *bus, const char *path, const char *interface, const char *property,
                                   sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "t", UINT64_MAX);
}

/* ---- lookups ------------------------------------------------------------------------------- */

static int reply_machine_path(sd_bus_message *message, Machine *machine) {
        _cleanup_free_ char *p = machine_bus_path(machine);
        if (!p)
                return -ENOMEM;
        return sd_bus_reply_method_return(message, "o", p);
}

static int method_get_machine(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        const char *name;
        int r = sd_bus_message_read(message, "s", &name);
        if (r < 0)
                return r;
        Machine *machine = manager_get_machine(m, name);
        if (!machine)
                return bus_set_errorf(error, ERROR_CONTEXT_LOOKUP, -ENXIO, "No machine '%s' known", name);
        return reply_machine_path(message, machine);
}

static int method_get_machine_by_pid(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        Machine *machine = NULL;
        uint32_t upid;
        pid_t pid;
        int r;

        r = sd_bus_message_read(message, "u", &upid);
        if (r < 0)
                return r;
        if (upid > INT32_MAX)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid PID %u", upid);
        pid = (pid_t) upid;
        if (pid == 0) {
                sd_bus_creds *creds = NULL;
                r = sd_bus_query_sender_creds(message, SD_BUS_CREDS_PID, &creds);
                if (r >= 0)
                        r = sd_bus_creds_get_pid(creds, &pid);
                sd_bus_creds_unref(creds);
                if (r < 0)
                        return r;
        }
        r = manager_get_machine_by_pid(m, pid, &machine);
        if (r < 0)
                return bus_set_errorf(error, ERROR_CONTEXT_LOOKUP_PID, r, "Failed to look up the machine of PID %i: %m", (int) pid);
        if (!machine)
                return bus_set_errorf(error, ERROR_CONTEXT_LOOKUP_PID, -ENXIO, "PID %i does not belong to any known machine",
                                      (int) pid);
        return reply_machine_path(message, machine);
}

static int method_list_machines(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        sd_bus_message *reply = NULL;
        Machine *machine;

        int r = sd_bus_message_new_method_return(message, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(ssso)");
        LIST_FOREACH(machines, machine, m->machines) {
                if (r < 0)
                        break;
                _cleanup_free_ char *p = machine_bus_path(machine);
                r = p ? sd_bus_message_append(reply, "(ssso)", machine->name, machine_class_to_string(machine->class) ?: "",
                                              machine->service ?: "", p)
                      : -ENOMEM;
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r >= 0)
                r = sd_bus_send(NULL, reply, NULL);
        sd_bus_message_unref(reply);
        return r;
}

static int method_get_image(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        const char *name;
        Image *image = NULL;

        int r = sd_bus_message_read(message, "s", &name);
        if (r < 0)
                return r;
        if (!image_name_is_valid(name))
                return bus_set_errorf(error, ERROR_CONTEXT_IMAGE, -EINVAL, "Image name '%s' is invalid.", name);
        r = image_find(m->config.pool_path, name, &image);
        if (r == -ENOENT)
                return bus_set_errorf(error, ERROR_CONTEXT_IMAGE, r, "No image '%s' known", name);
        if (r < 0)
                return bus_set_errorf(error, ERROR_CONTEXT_IMAGE, r, "Failed to look up image '%s': %m", name);
        image_free(image);
        _cleanup_free_ char *p = image_bus_path(name);
        if (!p)
                return -ENOMEM;
        return sd_bus_reply_method_return(message, "o", p);
}

static int method_list_images(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        sd_bus_message *reply = NULL;
        Image **images = NULL;
        size_t n = 0;

        int r = image_discover(m->config.pool_path, &images, &n);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to enumerate images: %m");
        r = sd_bus_message_new_method_return(message, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(ssbttto)");
        for (size_t i = 0; r >= 0 && i < n; i++) {
                _cleanup_free_ char *p = image_bus_path(images[i]->name);
                r = p ? sd_bus_message_append(reply, "(ssbttto)", images[i]->name, image_type_to_string(images[i]->type),
                                              images[i]->read_only, images[i]->crtime, images[i]->mtime,
                                              images[i]->usage, p)
                      : -ENOMEM;
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r >= 0)
                r = sd_bus_send(NULL, reply, NULL);
        sd_bus_message_unref(reply);
        images_free(images, n);
        return r;
}

/* ---- creation ------------------------------------------------------------------------------ */

typedef enum CreateVariant {
        CREATE_CLASSIC,        /* name, id, service, class, leader, root_directory */
        CREATE_WITH_NETWORK,   /* ... plus ifindices */
        CREATE_EX,             /* name, a(sv) */
} CreateVariant;

int bus_set_failure(sd_bus_error *error, ErrorContext context, int r, const Failure *f) {
        int e = failure_is_set(f) ? f->error : r;
        const char *message = failure_is_set(f) ? f->message : NULL;
        const ErrorMapping *m = error_mapping_find(context, e);
        const char *name = (failure_is_set(f) ? f->dbus_name : NULL) ?: m->dbus_name;

        if (name)
                return sd_bus_error_set(error, name, message ?: m->dbus_message);
        if (message)
                return sd_bus_error_set_errnof(error, e, "%s", message);
        return sd_bus_error_set_errno(error, e);
}

int bus_reply_failure(sd_bus_message *message, ErrorContext context, const Failure *f) {
        sd_bus_error e = SD_BUS_ERROR_NULL;

        (void) bus_set_failure(&e, context, f->error, f);
        int r = sd_bus_reply_method_error(message, &e);
        sd_bus_error_free(&e);
        return r;
}

static void message_release(void *call) {
        sd_bus_message_unref(call);
}

PendingReply bus_pending_reply(sd_bus_message *message, void (*complete)(void *call, const Failure *f, const void *result)) {
        return (PendingReply) { .complete = complete, .release = message_release, .call = sd_bus_message_ref(message) };
}

int bus_set_errorf(sd_bus_error *error, ErrorContext context, int r, const char *fmt, ...) {
        _cleanup_free_ char *message = NULL;
        va_list ap;

        r = -abs(r);
        errno = -r;
        va_start(ap, fmt);
        if (vasprintf(&message, fmt, ap) < 0)
                message = NULL;
        va_end(ap);
        Failure f = { .error = r, .message = message };
        return bus_set_failure(error, context, r, &f);
}

static int read_ex_property(sd_bus_message *message, const char *key, MachineSpec *s, sd_bus_error *error) {
        int32_t pidfd_unused = -1;
        int r = 0;

        if (streq(key, "Id")) {
                if (bus_message_read_id128(message, &s->id) < 0)
                        return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid machine ID parameter");
        } else if (streq(key, "Service"))
                r = sd_bus_message_read(message, "s", &s->service);
        else if (streq(key, "Class"))
                r = sd_bus_message_read(message, "s", &s->class);
        else if (streq(key, "LeaderPID"))
                r = sd_bus_message_read(message, "u", &s->leader_pid);
        else if (streq(key, "LeaderPIDFD")) {
                r = sd_bus_message_read(message, "h", &pidfd_unused);
                s->leader_pidfd = pidfd_unused;
        } else if (streq(key, "LeaderPIDFDID"))
                r = sd_bus_message_read(message, "t", &s->leader_pidfd_id);
        else if (streq(key, "RootDirectory"))
                r = sd_bus_message_read(message, "s", &s->root_directory);
        else if (streq(key, "NetworkInterfaces")) {
                r = sd_bus_message_read_array(message, 'i', (const void **) &s->netif, &s->n_netif);
                s->n_netif /= sizeof(int32_t);
        } else if (streq(key, "VSockCID"))
                r = sd_bus_message_read(message, "u", &s->vsock_cid);
        else if (streq(key, "SSHAddress"))
                r = sd_bus_message_read(message, "s", &s->ssh_address);
        else if (streq(key, "SSHPrivateKeyPath"))
                r = sd_bus_message_read(message, "s", &s->ssh_private_key_path);
        return r;
}

static int read_ex_properties(sd_bus_message *message, MachineSpec *s, sd_bus_error *error) {
        static const struct {
                const char *key, *type;
        } known[] = {
                { "Id", "ay" }, { "Service", "s" }, { "Class", "s" }, { "LeaderPID", "u" },
                { "LeaderPIDFD", "h" }, { "LeaderPIDFDID", "t" }, { "RootDirectory", "s" },
                { "NetworkInterfaces", "ai" }, { "VSockCID", "u" }, { "SSHAddress", "s" },
                { "SSHPrivateKeyPath", "s" },
        };
        int r = sd_bus_message_enter_container(message, 'a', "(sv)");
        if (r < 0)
                return r;
        for (;;) {
                const char *key, *contents = NULL;
                r = sd_bus_message_enter_container(message, 'r', "sv");
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                r = sd_bus_message_read(message, "s", &key);
                if (r >= 0)
                        r = sd_bus_message_peek_type(message, NULL, &contents);
                if (r < 0)
                        return r;
                size_t k;
                for (k = 0; k < ELEMENTSOF(known); k++)
                        if (streq(known[k].key, key))
                                break;
                if (k == ELEMENTSOF(known))
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Unknown property '%s'", key);
                if (!contents || !streq(contents, known[k].type))
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Property '%s' must be of type %s", key, known[k].type);
                r = sd_bus_message_enter_container(message, 'v', contents);
                if (r >= 0)
                        r = read_ex_property(message, key, s, error);
                if (r >= 0)
                        r = sd_bus_message_exit_container(message);
                if (r >= 0)
                        r = sd_bus_message_exit_container(message);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_exit_container(message);
}

static int read_create_params(sd_bus_message *message, CreateVariant v, MachineSpec *s, sd_bus_error *error) {
        int r = sd_bus_message_read(message, "s", &s->name);
        if (r < 0)
                return r;
        if (!machine_name_is_valid(s->name))
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid machine name");
        if (v == CREATE_EX)
                return read_ex_properties(message, s, error);
        r = bus_message_read_id128(message, &s->id);
        if (r < 0)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid machine ID parameter");
        r = sd_bus_message_read(message, "ssus", &s->service, &s->class, &s->leader_pid, &s->root_directory);
        if (r < 0)
                return r;
        if (v == CREATE_WITH_NETWORK) {
                r = sd_bus_message_read_array(message, 'i', (const void **) &s->netif, &s->n_netif);
                if (r < 0)
                        return r;
                s->n_netif /= sizeof(int32_t);
        }
        return 0;
}

/* Scope properties of CreateMachine: the cgroupfs backend applies the resource limits it knows
 * (systemd's D-Bus types: all "t"); everything else is for the systemd backend, which passes the
 * whole array on to systemd. */
static int read_scope_properties(sd_bus_message *message, CGroupLimits *l, sd_bus_error *error) {
        int r = sd_bus_message_enter_container(message, 'a', "(sv)");
        if (r < 0)
                return r;
        for (;;) {
                const char *name, *contents = NULL;
                uint64_t v;

                r = sd_bus_message_enter_container(message, 'r', "sv");
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                r = sd_bus_message_read(message, "s", &name);
                if (r >= 0)
                        r = sd_bus_message_peek_type(message, NULL, &contents);
                if (r < 0)
                        return r;
                if (!scope_property_is_limit(name)) {
                        log_debug("Scope property %s has no cgroupfs equivalent: only the systemd backend uses it.", name);
                        r = sd_bus_message_skip(message, "v");
                } else {
                        _cleanup_(failure_done) Failure f = FAILURE_NULL;
                        if (!contents || !streq(contents, "t"))
                                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Scope property %s must be of type t", name);
                        r = sd_bus_message_read(message, "v", "t", &v);
                        if (r < 0)
                                return r;
                        r = scope_property_parse(name, v, l, &f);
                        if (r < 0)
                                return bus_set_failure(error, ERROR_CONTEXT_REGISTER, r, &f);
                }
                if (r >= 0)
                        r = sd_bus_message_exit_container(message);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_exit_container(message);
}

/* The answer to a Create/Register call, once the backend is done. */
static void create_complete(void *call, const Failure *f, const void *result) {
        sd_bus_message *message = call;
        int r;

        if (f)
                r = bus_reply_failure(message, ERROR_CONTEXT_REGISTER, f);
        else {
                _cleanup_free_ char *p = machine_bus_path(result);
                r = p ? sd_bus_reply_method_return(message, "o", p) : -ENOMEM;
        }
        if (r < 0)
                log_warning_errno(r, "Failed to reply to machine creation request: %m");
}

static int create_or_register(sd_bus_message *message, Manager *m, bool allocate, CreateVariant v, sd_bus_error *error) {
        _cleanup_(machine_spec_done) MachineSpec s = MACHINE_SPEC_INIT;
        _cleanup_(failure_done) Failure f = FAILURE_NULL;
        BusScopeProperties props = {};
        int r;

        r = bus_verify_root(message, error);
        if (r < 0)
                return r;
        r = read_create_params(message, v, &s, error);
        if (r < 0)
                return r;
        s.allocate_unit = allocate;
        if (allocate) {
                /* CreateMachineEx has the scope properties after its a(sv). */
                r = read_scope_properties(message, &s.limits, error);
                if (r < 0)
                        return r;
                props = (BusScopeProperties) {
                        .message = message,
                        .skip = v == CREATE_EX ? "sa(sv)" : v == CREATE_WITH_NETWORK ? "sayssusai" : "sayssus",
                };
                s.bus_properties = &props;
        }
        (void) bus_query_sender_pidref(message, &s.caller);
        s.caller_is_supervisor = true;
        (void) bus_query_sender_euid(message, &s.uid);

        PendingReply reply = bus_pending_reply(message, create_complete);
        r = machine_register(m, &s, &reply, &f);
        if (r < 0) {
                pending_reply_done(&reply);
                return bus_set_failure(error, ERROR_CONTEXT_REGISTER, r, &f);
        }
        return 1;
}

static int method_create_machine(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return create_or_register(message, userdata, true, CREATE_CLASSIC, error);
}
static int method_create_machine_with_network(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return create_or_register(message, userdata, true, CREATE_WITH_NETWORK, error);
}
static int method_create_machine_ex(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return create_or_register(message, userdata, true, CREATE_EX, error);
}
static int method_register_machine(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return create_or_register(message, userdata, false, CREATE_CLASSIC, error);
}
static int method_register_machine_with_network(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return create_or_register(message, userdata, false, CREATE_WITH_NETWORK, error);
}
static int method_register_machine_ex(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return create_or_register(message, userdata, false, CREATE_EX, error);
}

/* ---- per-machine methods addressed by name ----------------------------------------------------- */

/* Authorization of mutating methods happens in the machine method, after the name lookup: an
 * unknown name is reported as such to everybody, as systemd does. */
static int redirect(sd_bus_message *message, Manager *m, sd_bus_error *error, sd_bus_message_handler_t method) {
        const char *name;
        int r = sd_bus_message_read(message, "s", &name);
        if (r < 0)
                return r;
        Machine *machine = manager_get_machine(m, name);
        if (!machine)
                return bus_set_errorf(error, ERROR_CONTEXT_LOOKUP, -ENXIO, "No machine '%s' known", name);
        return method(message, machine, error);
}

#define REDIRECT(fn, target)                                                                \
        static int fn(sd_bus_message *message, void *userdata, sd_bus_error *error) {       \
                return redirect(message, userdata, error, target);                          \
        }
REDIRECT(method_unregister_machine, bus_machine_method_unregister)
REDIRECT(method_terminate_machine, bus_machine_method_terminate)
REDIRECT(method_kill_machine, bus_machine_method_kill)
REDIRECT(method_get_machine_addresses, bus_machine_method_get_addresses)
REDIRECT(method_get_machine_ssh_info, bus_machine_method_get_ssh_info)
REDIRECT(method_get_machine_os_release, bus_machine_method_get_os_release)
REDIRECT(method_get_machine_uid_shift, bus_machine_method_get_uid_shift)
REDIRECT(method_open_machine_pty, bus_machine_method_open_pty)
REDIRECT(method_open_machine_login, bus_machine_method_open_login)
REDIRECT(method_open_machine_shell, bus_machine_method_open_shell)
REDIRECT(method_bind_mount_machine, bus_machine_method_bind_mount)
REDIRECT(method_open_machine_root_directory, bus_machine_method_open_root_directory)
REDIRECT(method_copy_from_machine, bus_machine_method_copy_from)
REDIRECT(method_copy_to_machine, bus_machine_method_copy_to)
REDIRECT(method_copy_from_machine_with_flags, bus_machine_method_copy_from_with_flags)
REDIRECT(method_copy_to_machine_with_flags, bus_machine_method_copy_to_with_flags)

/* ---- user and group ID mapping (machine-idmap.c); open to everybody, as in systemd ----------- */

static int map_from_machine(sd_bus_message *message, Manager *m, bool group, sd_bus_error *error) {
        ErrorContext context = group ? ERROR_CONTEXT_MAP_GROUP : ERROR_CONTEXT_MAP_USER;
        const char *name;
        uint32_t inner, outer;
        int r = sd_bus_message_read(message, "su", &name, &inner);
        if (r < 0)
                return r;
        Machine *machine = manager_get_machine(m, name);
        if (!machine)
                return bus_set_errorf(error, ERROR_CONTEXT_LOOKUP, -ENXIO, "No machine '%s' known", name);
        r = machine_map_from(machine, group, inner, &outer);
        if (r == -ENXIO)
                return bus_set_errorf(error, context, r, "Machine '%s' has no matching %s mappings.", name,
                                      group ? "group" : "user");
        if (r < 0)
                return bus_set_failure(error, context, r, NULL);
        return sd_bus_reply_method_return(message, "u", outer);
}

static int map_to_machine(sd_bus_message *message, Manager *m, bool group, sd_bus_error *error) {
        ErrorContext context = group ? ERROR_CONTEXT_MAP_GROUP : ERROR_CONTEXT_MAP_USER;
        const char *what = group ? "Group" : "User";
        uint32_t outer, inner;
        Machine *machine;
        int r = sd_bus_message_read(message, "u", &outer);
        if (r < 0)
                return r;
        r = manager_map_to_machine(m, group, outer, &machine, &inner);
        if (r == -ERANGE)
                return bus_set_errorf(error, context, r, "%s %" PRIu32 " belongs to host %s range", what, outer,
                                      group ? "GID" : "UID");
        if (r == -ENXIO)
                return bus_set_errorf(error, context, r, "No matching %s %" PRIu32 " known.", group ? "group" : "user", outer);
        if (r < 0)
                return bus_set_failure(error, context, r, NULL);
        _cleanup_free_ char *path = machine_bus_path(machine);
        if (!path)
                return -ENOMEM;
        return sd_bus_reply_method_return(message, "sou", machine->name, path, inner);
}

static int method_map_from_machine_user(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return map_from_machine(message, userdata, false, error);
}
static int method_map_from_machine_group(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return map_from_machine(message, userdata, true, error);
}
static int method_map_to_machine_user(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return map_to_machine(message, userdata, false, error);
}
static int method_map_to_machine_group(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return map_to_machine(message, userdata, true, error);
}

#define U SD_BUS_VTABLE_UNPRIVILEGED
#define CREATE_ARGS "s", name, "ay", id, "s", service, "s", class, "u", leader, "s", root_directory

static const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("PoolPath", "s", property_get_pool_path, 0, 0),
        SD_BUS_PROPERTY("PoolUsage", "t", property_get_pool_usage, 0, 0),
        SD_BUS_PROPERTY("PoolLimit", "t", property_get_pool_limit, 0, 0),

        SD_BUS_METHOD_WITH_ARGS("GetMachine", SD_BUS_ARGS("s", name), SD_BUS_RESULT("o", machine), method_get_machine, U),
        SD_BUS_METHOD_WITH_ARGS("GetImage", SD_BUS_ARGS("s", name), SD_BUS_RESULT("o", image), method_get_image, U),
        SD_BUS_METHOD_WITH_ARGS("GetMachineByPID", SD_BUS_ARGS("u", pid), SD_BUS_RESULT("o", machine),
                                method_get_machine_by_pid, U),
        SD_BUS_METHOD_WITH_ARGS("ListMachines", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(ssso)", machines), method_list_machines, U),
        SD_BUS_METHOD_WITH_ARGS("ListImages", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(ssbttto)", images), method_list_images, U),
        SD_BUS_METHOD_WITH_ARGS("RemoveImage", SD_BUS_ARGS("s", name), SD_BUS_NO_RESULT, bus_method_remove_image, U),
        SD_BUS_METHOD_WITH_ARGS("RenameImage", SD_BUS_ARGS("s", name, "s", new_name), SD_BUS_NO_RESULT,
                                bus_method_rename_image, U),
        SD_BUS_METHOD_WITH_ARGS("CloneImage", SD_BUS_ARGS("s", name, "s", new_name, "b", read_only), SD_BUS_NO_RESULT,
                                bus_method_clone_image, U),
        SD_BUS_METHOD_WITH_ARGS("MarkImageReadOnly", SD_BUS_ARGS("s", name, "b", read_only), SD_BUS_NO_RESULT,
                                bus_method_mark_image_read_only, U),
        SD_BUS_METHOD_WITH_ARGS("SetPoolLimit", SD_BUS_ARGS("t", size), SD_BUS_NO_RESULT, bus_method_set_pool_limit, U),
        SD_BUS_METHOD_WITH_ARGS("SetImageLimit", SD_BUS_ARGS("s", name, "t", size), SD_BUS_NO_RESULT,
                                bus_method_set_image_limit, U),
        SD_BUS_METHOD_WITH_ARGS("CleanPool", SD_BUS_ARGS("s", mode), SD_BUS_RESULT("a(st)", images),
                                bus_method_clean_pool, U),
        SD_BUS_METHOD_WITH_ARGS("CreateMachine", SD_BUS_ARGS(CREATE_ARGS, "a(sv)", scope_properties),
                                SD_BUS_RESULT("o", path), method_create_machine, U),
        SD_BUS_METHOD_WITH_ARGS("CreateMachineWithNetwork",
                                SD_BUS_ARGS(CREATE_ARGS, "ai", ifindices, "a(sv)", scope_properties),
                                SD_BUS_RESULT("o", path), method_create_machine_with_network, U),
        SD_BUS_METHOD_WITH_ARGS("CreateMachineEx", SD_BUS_ARGS("s", name, "a(sv)", properties, "a(sv)", scope_properties),
                                SD_BUS_RESULT("o", path), method_create_machine_ex, U),
        SD_BUS_METHOD_WITH_ARGS("RegisterMachine", SD_BUS_ARGS(CREATE_ARGS), SD_BUS_RESULT("o", path),
                                method_register_machine, U),
        SD_BUS_METHOD_WITH_ARGS("RegisterMachineWithNetwork", SD_BUS_ARGS(CREATE_ARGS, "ai", ifindices),
                                SD_BUS_RESULT("o", path), method_register_machine_with_network, U),
        SD_BUS_METHOD_WITH_ARGS("RegisterMachineEx", SD_BUS_ARGS("s", name, "a(sv)", properties), SD_BUS_RESULT("o", path),
                                method_register_machine_ex, U),
        SD_BUS_METHOD_WITH_ARGS("UnregisterMachine", SD_BUS_ARGS("s", name), SD_BUS_NO_RESULT, method_unregister_machine, U),
        SD_BUS_METHOD_WITH_ARGS("TerminateMachine", SD_BUS_ARGS("s", id), SD_BUS_NO_RESULT, method_terminate_machine, U),
        SD_BUS_METHOD_WITH_ARGS("KillMachine", SD_BUS_ARGS("s", name, "s", whom, "i", signal), SD_BUS_NO_RESULT,
                                method_kill_machine, U),
        SD_BUS_METHOD_WITH_ARGS("GetMachineAddresses", SD_BUS_ARGS("s", name), SD_BUS_RESULT("a(iay)", addresses),
                                method_get_machine_addresses, U),
        SD_BUS_METHOD_WITH_ARGS("GetMachineSSHInfo", SD_BUS_ARGS("s", name),
                                SD_BUS_RESULT("s", ssh_address, "s", ssh_private_key_path), method_get_machine_ssh_info, U),
        SD_BUS_METHOD_WITH_ARGS("GetMachineOSRelease", SD_BUS_ARGS("s", name), SD_BUS_RESULT("a{ss}", fields),
                                method_get_machine_os_release, U),
        SD_BUS_METHOD_WITH_ARGS("OpenMachinePTY", SD_BUS_ARGS("s", name), SD_BUS_RESULT("h", pty, "s", pty_path),
                                method_open_machine_pty, U),
        SD_BUS_METHOD_WITH_ARGS("OpenMachineLogin", SD_BUS_ARGS("s", name), SD_BUS_RESULT("h", pty, "s", pty_path),
                                method_open_machine_login, U),
        SD_BUS_METHOD_WITH_ARGS("OpenMachineShell",
                                SD_BUS_ARGS("s", name, "s", user, "s", path, "as", args, "as", environment),
                                SD_BUS_RESULT("h", pty, "s", pty_path), method_open_machine_shell, U),
        SD_BUS_METHOD_WITH_ARGS("OpenMachineRootDirectory", SD_BUS_ARGS("s", name), SD_BUS_RESULT("h", fd),
                                method_open_machine_root_directory, U),
        SD_BUS_METHOD_WITH_ARGS("BindMountMachine",
                                SD_BUS_ARGS("s", name, "s", source, "s", destination, "b", read_only, "b", mkdir),
                                SD_BUS_NO_RESULT, method_bind_mount_machine, U),
        SD_BUS_METHOD_WITH_ARGS("CopyFromMachine", SD_BUS_ARGS("s", name, "s", source, "s", destination), SD_BUS_NO_RESULT,
                                method_copy_from_machine, U),
        SD_BUS_METHOD_WITH_ARGS("CopyToMachine", SD_BUS_ARGS("s", name, "s", source, "s", destination), SD_BUS_NO_RESULT,
                                method_copy_to_machine, U),
        SD_BUS_METHOD_WITH_ARGS("CopyFromMachineWithFlags", SD_BUS_ARGS("s", name, "s", source, "s", destination, "t", flags),
                                SD_BUS_NO_RESULT, method_copy_from_machine_with_flags, U),
        SD_BUS_METHOD_WITH_ARGS("CopyToMachineWithFlags", SD_BUS_ARGS("s", name, "s", source, "s", destination, "t", flags),
                                SD_BUS_NO_RESULT, method_copy_to_machine_with_flags, U),
        SD_BUS_METHOD_WITH_ARGS("GetMachineUIDShift", SD_BUS_ARGS("s", name), SD_BUS_RESULT("u", shift),
                                method_get_machine_uid_shift, U),
        SD_BUS_METHOD_WITH_ARGS("MapFromMachineUser", SD_BUS_ARGS("s", name, "u", uid_inner), SD_BUS_RESULT("u", uid_outer),
                                method_map_from_machine_user, U),
        SD_BUS_METHOD_WITH_ARGS("MapToMachineUser", SD_BUS_ARGS("u", uid_outer),
                                SD_BUS_RESULT("s", machine_name, "o", machine_path, "u", uid_inner), method_map_to_machine_user, U),
        SD_BUS_METHOD_WITH_ARGS("MapFromMachineGroup", SD_BUS_ARGS("s", name, "u", gid_inner), SD_BUS_RESULT("u", gid_outer),
                                method_map_from_machine_group, U),
        SD_BUS_METHOD_WITH_ARGS("MapToMachineGroup", SD_BUS_ARGS("u", gid_outer),
                                SD_BUS_RESULT("s", machine_name, "o", machine_path, "u", gid_inner), method_map_to_machine_group, U),

        SD_BUS_SIGNAL_WITH_ARGS("MachineNew", SD_BUS_ARGS("s", machine, "o", path), 0),
        SD_BUS_SIGNAL_WITH_ARGS("MachineRemoved", SD_BUS_ARGS("s", machine, "o", path), 0),
        SD_BUS_VTABLE_END,
};

int manager_dbus_register(Manager *m) {
        int r = sd_bus_add_object_vtable(m->bus, NULL, "/org/freedesktop/machine1", "org.freedesktop.machine1.Manager",
                                         manager_vtable, m);
        if (r < 0)
                return log_error_errno(r, "Failed to add manager object vtable: %m");
        return 0;
}

/* ---- the connection ---------------------------------------------------------------------------- */

#define BUS_NAME "org.freedesktop.machine1"

int manager_connect_bus(Manager *m) {
        int r;

        r = bus_register_machine1_errors();
        if (r < 0)
                return log_error_errno(r, "Failed to register bus errors: %m");
        if (m->config.bus_address) {
                r = sd_bus_new(&m->bus);
                if (r >= 0)
                        r = sd_bus_set_address(m->bus, m->config.bus_address);
                if (r >= 0)
                        r = sd_bus_set_bus_client(m->bus, true);
                if (r >= 0)
                        r = sd_bus_start(m->bus);
        } else
                r = sd_bus_open_system_with_description(&m->bus, "machined");
        if (r < 0)
                return log_error_errno(r, "Failed to connect to the system bus: %m");
        /* We check credentials ourselves per method (bus_verify_root()). */
        (void) sd_bus_negotiate_creds(m->bus, true, SD_BUS_CREDS_PID | SD_BUS_CREDS_UID | SD_BUS_CREDS_EUID);

        r = manager_dbus_register(m);
        if (r < 0)
                return r;
        r = machine_dbus_register(m);
        if (r < 0)
                return r;
        r = image_dbus_register(m);
        if (r < 0)
                return r;
        r = supervisor_dbus_register(m);
        if (r < 0)
                return r;
        r = sd_bus_attach_event(m->bus, m->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return log_error_errno(r, "Failed to attach bus to event loop: %m");
        return 0;
}

static int log_name_owner(Manager *m, int error) {
        _cleanup_free_ char *comm_buf = NULL;
        sd_bus_creds *creds = NULL;
        const char *unique = NULL, *comm = NULL;
        pid_t pid = 0;

        if (sd_bus_get_name_creds(m->bus, BUS_NAME, SD_BUS_CREDS_UNIQUE_NAME | SD_BUS_CREDS_PID | SD_BUS_CREDS_COMM |
                                  SD_BUS_CREDS_AUGMENT, &creds) >= 0) {
                (void) sd_bus_creds_get_unique_name(creds, &unique);
                (void) sd_bus_creds_get_pid(creds, &pid);
                (void) sd_bus_creds_get_comm(creds, &comm);
                if (comm)
                        comm_buf = strdup(comm);
        }
        if (unique && pid > 0)
                log_error("The bus name %s is already owned by %s (pid %i, %s): another machine manager "
                          "(systemd-machined?) is running. Stop it first.", BUS_NAME, unique, (int) pid,
                          comm_buf ?: "unknown command");
        else
                log_error("The bus name %s is already owned by %s: another machine manager (systemd-machined?) "
                          "is running. Stop it first.", BUS_NAME, unique ?: "another connection");
        sd_bus_creds_unref(creds);
        return -abs(error);
}

int manager_check_name_free(Manager *m) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        int has = 0;

        int r = sd_bus_call_method(m->bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                   "NameHasOwner", &error, &reply, "s", BUS_NAME);
        if (r >= 0)
                r = sd_bus_message_read(reply, "b", &has);
        sd_bus_message_unref(reply);
        sd_bus_error_free(&error);
        if (r < 0)
                return log_error_errno(r, "Failed to check whether %s is taken: %m", BUS_NAME);
        if (has)
                return log_name_owner(m, EEXIST);
        return 0;
}

int manager_request_name(Manager *m) {
        int r = sd_bus_request_name(m->bus, BUS_NAME, 0);
        if (r == -EEXIST)
                return log_name_owner(m, EEXIST);
        if (r == -EACCES || r == -EPERM)
                return log_error_errno(r, "Not allowed to own %s: is the D-Bus policy "
                                       "(org.freedesktop.machine1.conf) installed, and are we root? %m", BUS_NAME);
        if (r < 0)
                return log_error_errno(r, "Failed to acquire bus name %s: %m", BUS_NAME);
        return 0;
}

void machined_bus_close(sd_bus *bus) {
        if (!bus)
                return;
        sd_bus_flush(bus);
        sd_bus_flush_close_unref(bus);
}
