/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "bus-util.h"
#include "log.h"
#include "machine-dbus.h"
#include "machine.h"
#include "manager-dbus.h"
#include "macro.h"
#include "name-util.h"
#include "machine-copy.h"
#include "machine-shell.h"
#include "operation.h"
#include "strv.h"

#define MACHINE_PREFIX "/org/freedesktop/machine1/machine"

static void machine_send_signal(Machine *m, bool new_machine) {
        _cleanup_free_ char *p = machine_bus_path(m);
        if (!p || !m->manager->bus)
                return;
        int r = sd_bus_emit_signal(m->manager->bus, "/org/freedesktop/machine1", "org.freedesktop.machine1.Manager",
                                   new_machine ? "MachineNew" : "MachineRemoved", "so", m->name, p);
        if (r < 0)
                log_warning_errno(r, "Failed to send %s signal for %s: %m", new_machine ? "MachineNew" : "MachineRemoved", m->name);
}

/* ---- properties ------------------------------------------------------------------------------ */

static int property_get_id(sd_bus *bus, const char *path, const char *interface, const char *property,
                           sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Machine *m = userdata;
        if (id128_is_null(&m->id))
                return sd_bus_message_append_array(reply, 'y', NULL, 0);
        return bus_message_append_id128(reply, &m->id);
}

static int property_get_class(sd_bus *bus, const char *path, const char *interface, const char *property,
                              sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Machine *m = userdata;
        return sd_bus_message_append(reply, "s", machine_class_to_string(m->class) ?: "");
}

static int property_get_state(sd_bus *bus, const char *path, const char *interface, const char *property,
                              sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Machine *m = userdata;
        return sd_bus_message_append(reply, "s", machine_state_to_string(m->state));
}

static int property_get_pid(sd_bus *bus, const char *path, const char *interface, const char *property,
                            sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        const PidRef *p = userdata;
        return sd_bus_message_append(reply, "u", (uint32_t) (p->pid > 0 ? p->pid : 0));
}

static int property_get_pidfd_id(sd_bus *bus, const char *path, const char *interface, const char *property,
                                 sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        const PidRef *p = userdata;
        return sd_bus_message_append(reply, "t", p->fd_id);
}

static int property_get_netif(sd_bus *bus, const char *path, const char *interface, const char *property,
                              sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Machine *m = userdata;
        return sd_bus_message_append_array(reply, 'i', m->netif, m->n_netif * sizeof(int));
}

/* ---- methods --------------------------------------------------------------------------------- */

int bus_machine_method_unregister(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Machine *m = userdata;
        int r = bus_verify_root(message, error);
        if (r < 0)
                return r;
        log_info("Unregistering machine %s on request.", m->name);
        r = machine_unregister_request(m);
        if (r < 0)
                return bus_set_errorf(error, ERROR_CONTEXT_UNREGISTER, r, "Cannot unregister machine %s: %m", m->name);
        return sd_bus_reply_method_return(message, NULL);
}

int bus_machine_method_terminate(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Machine *m = userdata;
        int r = bus_verify_root(message, error);
        if (r < 0)
                return r;
        log_info("Terminating machine %s on request.", m->name);
        r = machine_terminate(m);
        if (r < 0)
                return bus_set_errorf(error, ERROR_CONTEXT_TERMINATE, r, "Failed to terminate machine %s: %m", m->name);
        return sd_bus_reply_method_return(message, NULL);
}

int bus_machine_method_kill(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(failure_done) Failure f = FAILURE_NULL;
        Machine *m = userdata;
        const char *swhom;
        int32_t signo;
        int r;

        r = bus_verify_root(message, error);
        if (r < 0)
                return r;
        r = sd_bus_message_read(message, "si", &swhom, &signo);
        if (r < 0)
                return r;
        r = machine_kill_request(m, swhom, signo, &f);
        if (r < 0)
                return bus_set_failure(error, ERROR_CONTEXT_KILL, r, &f);
        return sd_bus_reply_method_return(message, NULL);
}

int bus_machine_method_get_addresses(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Machine *m = userdata;
        sd_bus_message *reply = NULL;
        _cleanup_free_ MachineAddress *l = NULL;
        size_t n = 0;
        int r;

        r = machine_get_addresses(m, &l, &n);
        if (r == -ENONET)
                return bus_set_errorf(error, ERROR_CONTEXT_ADDRESSES, r, "Machine %s does not use private networking", m->name);
        if (r == -EOPNOTSUPP)
                return bus_set_failure(error, ERROR_CONTEXT_ADDRESSES, r, NULL);
        if (r < 0)
                return bus_set_errorf(error, ERROR_CONTEXT_ADDRESSES, r, "Failed to get addresses of machine %s: %m", m->name);

        r = sd_bus_message_new_method_return(message, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(iay)");
        for (size_t i = 0; r >= 0 && i < n; i++) {
                r = sd_bus_message_open_container(reply, 'r', "iay");
                if (r >= 0)
                        r = sd_bus_message_append(reply, "i", (int32_t) l[i].family);
                if (r >= 0)
                        r = sd_bus_message_append_array(reply, 'y', l[i].address, l[i].family == AF_INET ? 4 : 16);
                if (r >= 0)
                        r = sd_bus_message_close_container(reply);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r >= 0)
                r = sd_bus_send(NULL, reply, NULL);
        sd_bus_message_unref(reply);
        return r;
}

int bus_machine_method_get_ssh_info(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Machine *m = userdata;
        if (!m->ssh_address || !m->ssh_private_key_path)
                return sd_bus_error_setf(error, SD_BUS_ERROR_NOT_SUPPORTED, "Machine %s has no SSH information", m->name);
        return sd_bus_reply_method_return(message, "ss", m->ssh_address, m->ssh_private_key_path);
}

int bus_machine_method_get_os_release(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Machine *m = userdata;
        _cleanup_strv_free_ char **l = NULL;
        sd_bus_message *reply = NULL;

        int r = machine_get_os_release(m, &l);
        if (r == -EOPNOTSUPP)
                return bus_set_failure(error, ERROR_CONTEXT_OS_RELEASE, r, NULL);
        if (r == -ENOENT)
                return bus_set_errorf(error, ERROR_CONTEXT_OS_RELEASE, r, "Machine %s does not contain OS release information.",
                                      m->name);
        if (r < 0)
                return bus_set_errorf(error, ERROR_CONTEXT_OS_RELEASE, r, "Failed to read OS release data of machine %s: %m",
                                      m->name);
        r = sd_bus_message_new_method_return(message, &reply);
        if (r >= 0)
                r = bus_message_append_env_as_dict(reply, l);
        if (r >= 0)
                r = sd_bus_send(NULL, reply, NULL);
        sd_bus_message_unref(reply);
        return r;
}

int bus_machine_method_get_uid_shift(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Machine *m = userdata;
        uid_t shift = 0;

        int r = machine_get_uid_shift(m, &shift);
        if (r == -EOPNOTSUPP)
                return bus_set_failure(error, ERROR_CONTEXT_UID_SHIFT, r, NULL);
        if (r == -ENXIO)
                return bus_set_errorf(error, ERROR_CONTEXT_UID_SHIFT, r,
                                      "Machine %s uses a complex UID/GID mapping, cannot determine shift", m->name);
        if (r < 0)
                return bus_set_errorf(error, ERROR_CONTEXT_UID_SHIFT, r, "Failed to determine UID shift of machine %s: %m",
                                      m->name);
        return sd_bus_reply_method_return(message, "u", (uint32_t) shift);
}

static void open_complete(void *call, const Failure *f, const void *result) {
        sd_bus_message *message = call;
        const OperationResult *o = result;
        int r;

        if (f)
                r = bus_reply_failure(message, ERROR_CONTEXT_OPERATION, f);
        else
                r = sd_bus_reply_method_return(message, "hs", o->fd, o->text);
        if (r < 0)
                log_warning_errno(r, "Failed to send pseudo terminal: %m");
}

static int open_common(sd_bus_message *message, Machine *m, ShellRequest *req, sd_bus_error *error) {
        _cleanup_(failure_done) Failure f = FAILURE_NULL;
        int r = bus_verify_root(message, error);
        if (r < 0)
                return r;
        PendingReply reply = bus_pending_reply(message, open_complete);
        r = machine_open_shell(m, req, &reply, &f);
        if (r < 0) {
                pending_reply_done(&reply);
                return bus_set_failure(error, ERROR_CONTEXT_OPERATION, r, &f);
        }
        return 1;
}

int bus_machine_method_open_pty(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        ShellRequest req = { .mode = SHELL_PTY };
        return open_common(message, userdata, &req, error);
}

int bus_machine_method_open_login(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        ShellRequest req = { .mode = SHELL_LOGIN };
        return open_common(message, userdata, &req, error);
}

static void copy_complete(void *call, const Failure *f, const void *result) {
        sd_bus_message *message = call;
        int r = f ? bus_reply_failure(message, ERROR_CONTEXT_OPERATION, f) : sd_bus_reply_method_return(message, NULL);
        if (r < 0)
                log_warning_errno(r, "Failed to answer a copy request: %m");
}

/* CopyFrom/CopyTo[WithFlags]: "ss" or "sst" (with_flags). */
static int copy_common(sd_bus_message *message, Machine *m, bool to_machine, bool with_flags, sd_bus_error *error) {
        _cleanup_(failure_done) Failure f = FAILURE_NULL;
        const char *src, *dest;
        uint64_t flags = 0;
        int r = bus_verify_root(message, error);
        if (r < 0)
                return r;
        r = sd_bus_message_read(message, "ss", &src, &dest);
        if (r >= 0 && with_flags)
                r = sd_bus_message_read(message, "t", &flags);
        if (r < 0)
                return r;
        if (flags & ~MACHINE_COPY_REPLACE)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Unknown copy flags 0x%llx",
                                         (unsigned long long) (flags & ~MACHINE_COPY_REPLACE));
        CopyRequest req = { .to_machine = to_machine, .src = src, .dest = dest, .replace = flags & MACHINE_COPY_REPLACE };
        PendingReply reply = bus_pending_reply(message, copy_complete);
        r = machine_copy(m, &req, &reply, &f);
        if (r < 0) {
                pending_reply_done(&reply);
                return bus_set_failure(error, ERROR_CONTEXT_OPERATION, r, &f);
        }
        return 1;
}

int bus_machine_method_copy_from(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return copy_common(message, userdata, false, false, error);
}

int bus_machine_method_copy_to(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return copy_common(message, userdata, true, false, error);
}

int bus_machine_method_copy_from_with_flags(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return copy_common(message, userdata, false, true, error);
}

int bus_machine_method_copy_to_with_flags(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        return copy_common(message, userdata, true, true, error);
}

int bus_machine_method_open_root_directory(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Machine *m = userdata;
        int r = bus_verify_root(message, error);
        if (r < 0)
                return r;
        _cleanup_close_ int fd = machine_open_root_directory(m);
        if (fd < 0)
                return bus_set_errorf(error, ERROR_CONTEXT_OPERATION, fd, "Failed to open the root directory of machine %s: %m",
                                      m->name);
        return sd_bus_reply_method_return(message, "h", fd);
}

int bus_machine_method_bind_mount(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(failure_done) Failure f = FAILURE_NULL;
        const char *src, *dest;
        int read_only, mkdir;
        int r = bus_verify_root(message, error);
        if (r < 0)
                return r;
        r = sd_bus_message_read(message, "ssbb", &src, &dest, &read_only, &mkdir);
        if (r < 0)
                return r;
        if (isempty(dest))
                dest = src;
        BindRequest req = { .src = src, .dest = dest, .read_only = read_only, .mkdir = mkdir };
        PendingReply reply = bus_pending_reply(message, copy_complete);
        r = machine_bind_mount(userdata, &req, &reply, &f);
        if (r < 0) {
                pending_reply_done(&reply);
                return bus_set_failure(error, ERROR_CONTEXT_OPERATION, r, &f);
        }
        return 1;
}

int bus_machine_method_open_shell(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_strv_free_ char **args = NULL, **env = NULL;
        const char *user, *path;
        int r;

        r = bus_verify_root(message, error);
        if (r < 0)
                return r;
        r = sd_bus_message_read(message, "ss", &user, &path);
        if (r < 0)
                return r;
        r = sd_bus_message_read_strv(message, &args);
        if (r < 0)
                return r;
        r = sd_bus_message_read_strv(message, &env);
        if (r < 0)
                return r;
        /* user, path and environment are checked by the model (machine_open_shell()). */
        ShellRequest req = { .mode = SHELL_SHELL, .user = user, .path = path, .args = args, .env = env };
        return open_common(message, userdata, &req, error);
}

/* ---- object lookup ------------------------------------------------------------------------ */

static int machine_object_find(sd_bus *bus, const char *path, const char *interface, void *userdata,
                               void **found, sd_bus_error *error) {
        Manager *manager = userdata;
        Machine *m = NULL;
        int r;

        const char *label = startswith(path, MACHINE_PREFIX "/");
        if (!label || strchr(label, '/'))
                return 0;
        if (streq(label, "self")) {
                sd_bus_message *message = sd_bus_get_current_message(bus);
                sd_bus_creds *creds = NULL;
                pid_t pid;
                if (!message)
                        return 0;
                r = sd_bus_query_sender_creds(message, SD_BUS_CREDS_PID, &creds);
                if (r < 0)
                        return r;
                r = sd_bus_creds_get_pid(creds, &pid);
                sd_bus_creds_unref(creds);
                if (r < 0)
                        return r;
                r = manager_get_machine_by_pid(manager, pid, &m);
                if (r <= 0)
                        return 0;
        } else {
                _cleanup_free_ char *name = bus_label_unescape(label);
                if (!name)
                        return errno == ENOMEM ? -ENOMEM : 0;
                m = manager_get_machine(manager, name);
                if (!m)
                        return 0;
        }
        *found = m;
        return 1;
}

static int machine_node_enumerator(sd_bus *bus, const char *path, void *userdata, char ***nodes, sd_bus_error *error) {
        Manager *manager = userdata;
        _cleanup_strv_free_ char **l = NULL;
        Machine *m;

        LIST_FOREACH(machines, m, manager->machines) {
                char *p = machine_bus_path(m);
                if (!p || strv_consume(&l, p) < 0)
                        return -ENOMEM;
        }
        *nodes = TAKE_PTR(l);
        return 1;
}

#define CONST SD_BUS_VTABLE_PROPERTY_CONST
#define U SD_BUS_VTABLE_UNPRIVILEGED

static const sd_bus_vtable machine_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Name", "s", bus_property_get_string, offsetof(Machine, name), CONST),
        SD_BUS_PROPERTY("Id", "ay", property_get_id, 0, CONST),
        SD_BUS_PROPERTY("Timestamp", "t", NULL, offsetof(Machine, timestamp_realtime), CONST),
        SD_BUS_PROPERTY("TimestampMonotonic", "t", NULL, offsetof(Machine, timestamp_monotonic), CONST),
        SD_BUS_PROPERTY("Service", "s", bus_property_get_string, offsetof(Machine, service), CONST),
        SD_BUS_PROPERTY("Unit", "s", bus_property_get_string, offsetof(Machine, unit), CONST),
        SD_BUS_PROPERTY("Scope", "s", bus_property_get_string, offsetof(Machine, unit), CONST | SD_BUS_VTABLE_HIDDEN),
        SD_BUS_PROPERTY("Subgroup", "s", bus_property_get_string, offsetof(Machine, subgroup), CONST),
        SD_BUS_PROPERTY("Leader", "u", property_get_pid, offsetof(Machine, leader), CONST),
        SD_BUS_PROPERTY("LeaderPIDFDId", "t", property_get_pidfd_id, offsetof(Machine, leader), CONST),
        SD_BUS_PROPERTY("Supervisor", "u", property_get_pid, offsetof(Machine, supervisor), CONST),
        SD_BUS_PROPERTY("SupervisorPIDFDId", "t", property_get_pidfd_id, offsetof(Machine, supervisor), CONST),
        SD_BUS_PROPERTY("Class", "s", property_get_class, 0, CONST),
        SD_BUS_PROPERTY("RootDirectory", "s", bus_property_get_string, offsetof(Machine, root_directory), CONST),
        SD_BUS_PROPERTY("NetworkInterfaces", "ai", property_get_netif, 0, CONST),
        SD_BUS_PROPERTY("VSockCID", "u", NULL, offsetof(Machine, vsock_cid), CONST),
        SD_BUS_PROPERTY("SSHAddress", "s", bus_property_get_string, offsetof(Machine, ssh_address), CONST),
        SD_BUS_PROPERTY("SSHPrivateKeyPath", "s", bus_property_get_string, offsetof(Machine, ssh_private_key_path), CONST),
        SD_BUS_PROPERTY("State", "s", property_get_state, 0, 0),
        SD_BUS_PROPERTY("UID", "u", NULL, offsetof(Machine, uid), CONST),

        SD_BUS_METHOD("Terminate", NULL, NULL, bus_machine_method_terminate, U),
        SD_BUS_METHOD_WITH_ARGS("Kill", SD_BUS_ARGS("s", whom, "i", signal), SD_BUS_NO_RESULT, bus_machine_method_kill, U),
        SD_BUS_METHOD_WITH_ARGS("GetAddresses", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(iay)", addresses),
                                bus_machine_method_get_addresses, U),
        SD_BUS_METHOD_WITH_ARGS("GetSSHInfo", SD_BUS_NO_ARGS, SD_BUS_RESULT("s", ssh_address, "s", ssh_private_key_path),
                                bus_machine_method_get_ssh_info, U),
        SD_BUS_METHOD_WITH_ARGS("GetOSRelease", SD_BUS_NO_ARGS, SD_BUS_RESULT("a{ss}", fields),
                                bus_machine_method_get_os_release, U),
        SD_BUS_METHOD_WITH_ARGS("GetUIDShift", SD_BUS_NO_ARGS, SD_BUS_RESULT("u", shift), bus_machine_method_get_uid_shift, U),
        SD_BUS_METHOD_WITH_ARGS("OpenPTY", SD_BUS_NO_ARGS, SD_BUS_RESULT("h", pty, "s", pty_path),
                                bus_machine_method_open_pty, U),
        SD_BUS_METHOD_WITH_ARGS("OpenLogin", SD_BUS_NO_ARGS, SD_BUS_RESULT("h", pty, "s", pty_path),
                                bus_machine_method_open_login, U),
        SD_BUS_METHOD_WITH_ARGS("OpenShell", SD_BUS_ARGS("s", user, "s", path, "as", args, "as", environment),
                                SD_BUS_RESULT("h", pty, "s", pty_path), bus_machine_method_open_shell, U),
        SD_BUS_METHOD_WITH_ARGS("OpenRootDirectory", SD_BUS_NO_ARGS, SD_BUS_RESULT("h", fd),
                                bus_machine_method_open_root_directory, U),
        SD_BUS_METHOD_WITH_ARGS("BindMount", SD_BUS_ARGS("s", source, "s", destination, "b", read_only, "b", mkdir),
                                SD_BUS_NO_RESULT, bus_machine_method_bind_mount, U),
        SD_BUS_METHOD_WITH_ARGS("CopyFrom", SD_BUS_ARGS("s", source, "s", destination), SD_BUS_NO_RESULT,
                                bus_machine_method_copy_from, U),
        SD_BUS_METHOD_WITH_ARGS("CopyTo", SD_BUS_ARGS("s", source, "s", destination), SD_BUS_NO_RESULT,
                                bus_machine_method_copy_to, U),
        SD_BUS_METHOD_WITH_ARGS("CopyFromWithFlags", SD_BUS_ARGS("s", source, "s", destination, "t", flags), SD_BUS_NO_RESULT,
                                bus_machine_method_copy_from_with_flags, U),
        SD_BUS_METHOD_WITH_ARGS("CopyToWithFlags", SD_BUS_ARGS("s", source, "s", destination, "t", flags), SD_BUS_NO_RESULT,
                                bus_machine_method_copy_to_with_flags, U),
        SD_BUS_VTABLE_END,
};

int machine_dbus_register(Manager *m) {
        m->announce_machine = machine_send_signal;
        int r = sd_bus_add_fallback_vtable(m->bus, NULL, MACHINE_PREFIX, "org.freedesktop.machine1.Machine", machine_vtable,
                                           machine_object_find, m);
        if (r < 0)
                return log_error_errno(r, "Failed to add machine object vtable: %m");
        r = sd_bus_add_node_enumerator(m->bus, NULL, MACHINE_PREFIX, machine_node_enumerator, m);
        if (r < 0)
                return log_error_errno(r, "Failed to add machine enumerator: %m");
        return 0;
}
