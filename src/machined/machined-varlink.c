/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cgroup-util.h"
#include "fd-util.h"
#include "log.h"
#include "machine-copy.h"
#include "machine-shell.h"
#include "machine-spec.h"
#include "machine.h"
#include "machined-varlink.h"
#include "macro.h"
#include "name-util.h"
#include "operation.h"
#include "parse-util.h"
#include "path-util.h"
#include "pending-reply.h"
#include "strv.h"

static const char interface_description[] =
        "interface io.systemd.Machine\n\n"
        "# An object for referencing UNIX processes\n"
        "type ProcessId(\n\tpid: int,\n\tpidfdId: ?int,\n\tbootId: ?string\n)\n\n"
        "type Timestamp(\n\trealtime: ?int,\n\tmonotonic: ?int\n)\n\n"
        "type AcquireMetadata(no, yes, graceful)\n\n"
        "type Address(\n\tifindex: ?int,\n\tfamily: int,\n\taddress: []int\n)\n\n"
        "method Register(\n\tname: string,\n\tid: ?string,\n\tservice: ?string,\n\tclass: string,\n\tleader: ?int,\n"
        "\tleaderProcessId: ?ProcessId,\n\trootDirectory: ?string,\n\tifIndices: ?[]int,\n\tvSockCid: ?int,\n"
        "\tsshAddress: ?string,\n\tsshPrivateKeyPath: ?string,\n\tallocateUnit: ?bool,\n"
        "\tallowInteractiveAuthentication: ?bool\n) -> ()\n\n"
        "method Unregister(\n\tname: ?string,\n\tpid: ?ProcessId,\n\tallowInteractiveAuthentication: ?bool\n) -> ()\n\n"
        "# Terminate machine, killing its processes\n"
        "method Terminate(\n\tname: ?string,\n\tpid: ?ProcessId,\n\tallowInteractiveAuthentication: ?bool\n) -> ()\n\n"
        "# Send a UNIX signal to the machine's processes\n"
        "method Kill(\n\tname: ?string,\n\tpid: ?ProcessId,\n\tallowInteractiveAuthentication: ?bool,\n\twhom: ?string,\n"
        "\tsignal: int\n) -> ()\n\n"
        "# List running machines\n"
        "method List(\n\tname: ?string,\n\tpid: ?ProcessId,\n\tallowInteractiveAuthentication: ?bool,\n"
        "\tacquireMetadata: ?AcquireMetadata\n) -> (\n\tname: string,\n\tid: ?string,\n\tservice: ?string,\n"
        "\tclass: string,\n\tleader: ?ProcessId,\n\tsupervisor: ?ProcessId,\n\trootDirectory: ?string,\n"
        "\tunit: ?string,\n\tsubgroup: ?string,\n\ttimestamp: ?Timestamp,\n\tvSockCid: ?int,\n"
        "\tsshAddress: ?string,\n\tsshPrivateKeyPath: ?string,\n\taddresses: ?[]Address,\n"
        "\tOSRelease: ?[]string,\n\tUIDShift: ?int,\n\tUID: ?int\n)\n\n"
        "# Copy files or directories from the machine to the host\n"
        "method CopyFrom(\n\tname: ?string,\n\tpid: ?ProcessId,\n\tallowInteractiveAuthentication: ?bool,\n"
        "\tsource: string,\n\tdestination: ?string,\n\treplace: ?bool\n) -> ()\n\n"
        "# Copy files or directories from the host into the machine\n"
        "method CopyTo(\n\tname: ?string,\n\tpid: ?ProcessId,\n\tallowInteractiveAuthentication: ?bool,\n"
        "\tsource: string,\n\tdestination: ?string,\n\treplace: ?bool\n) -> ()\n\n"
        "# Bind mount a file or directory of the host into the machine\n"
        "method BindMount(\n\tname: ?string,\n\tpid: ?ProcessId,\n\tallowInteractiveAuthentication: ?bool,\n"
        "\tsource: string,\n\tdestination: ?string,\n\treadOnly: ?bool,\n\tmkdir: ?bool\n) -> ()\n\n"
        "# Allocate a pseudo TTY in the machine: a bare one (tty), with a login prompt (login), or running\n"
        "# a program as a user (shell); the reply passes the PTY's master as a file descriptor\n"
        "type MachineOpenMode(tty, login, shell)\n\n"
        "method Open(\n\tname: ?string,\n\tpid: ?ProcessId,\n\tallowInteractiveAuthentication: ?bool,\n"
        "\tmode: MachineOpenMode,\n\tuser: ?string,\n\tpath: ?string,\n\targs: ?[]string,\n"
        "\tenvironment: ?[]string\n) -> (\n\tptyFileDescriptor: int,\n\tptyPath: string\n)\n\n"
        "# Map a UID/GID of the machine to the host\n"
        "method MapFrom(\n\tname: ?string,\n\tpid: ?ProcessId,\n\tallowInteractiveAuthentication: ?bool,\n"
        "\tuid: ?int,\n\tgid: ?int\n) -> (\n\tuid: ?int,\n\tgid: ?int\n)\n\n"
        "# Map a host UID/GID to the machine that owns it\n"
        "method MapTo(\n\tuid: ?int,\n\tgid: ?int\n) -> (\n\tuid: ?int,\n\tgid: ?int,\n\tmachineName: ?string\n)\n\n"
        "# Open the machine's root directory; the reply passes it as a file descriptor\n"
        "method OpenRootDirectory(\n\tname: ?string,\n\tpid: ?ProcessId,\n\tallowInteractiveAuthentication: ?bool\n"
        ") -> (\n\tfileDescriptor: int\n)\n\n"
        "error NoSuchMachine()\n"
        "error MachineExists()\n"
        "error NoPrivateNetworking()\n"
        "error NoOSReleaseInformation()\n"
        "error NoUIDShift()\n"
        "error NotAvailable()\n"
        "error NotSupported()\n"
        "error NoIPC()\n"
        "error NoSuchUser()\n"
        "error NoSuchGroup()\n"
        "error UserInHostRange()\n"
        "error GroupInHostRange()\n"
        "error TooManyOperations()\n";

/* ---- parameter helpers --------------------------------------------------------------------- */

/* Gets an optional field of a type; 0 if absent or null, 1 if present, < 0 (reply sent) if of the
 * wrong type. */
static int field(VarlinkCall *call, struct json_object *p, const char *name, json_type type, struct json_object **ret) {
        struct json_object *v = NULL;
        if (!json_object_object_get_ex(p, name, &v) || !v || json_object_is_type(v, json_type_null)) {
                *ret = NULL;
                return 0;
        }
        if (!json_object_is_type(v, type)) {
                varlink_call_error_invalid_parameter(call, name);
                return -EINVAL;
        }
        *ret = v;
        return 1;
}

/* A model failure in context, as Varlink shows it (the error table, machine-error.h). Returns 0:
 * the call is answered. */
int varlink_reply_failure(VarlinkCall *call, ErrorContext context, int r, const Failure *f) {
        int e = failure_is_set(f) ? f->error : r;
        const ErrorMapping *m = error_mapping_find(context, e);

        if (!m->varlink_name)
                return varlink_call_error_errno(call, e);
        if (streq(m->varlink_name, VARLINK_INVALID_PARAMETER))
                return varlink_call_error_invalid_parameter(call, (f ? f->parameter : NULL) ?: m->varlink_parameter ?: "name");
        return varlink_call_error(call, m->varlink_name, NULL);
}

static bool is_root(VarlinkCall *call) {
        uid_t uid;
        return varlink_call_get_peer(call, &uid, NULL) >= 0 && uid == 0;
}

static int permission_denied(VarlinkCall *call) {
        return varlink_call_error(call, VARLINK_ERROR_PERMISSION_DENIED, NULL);
}

/* "pid" is a ProcessId object in current systemd, a plain integer in older clients. */
static int read_pid(VarlinkCall *call, struct json_object *p, pid_t *ret) {
        struct json_object *v = NULL, *pid = NULL;
        *ret = -1;
        if (!json_object_object_get_ex(p, "pid", &v) || !v || json_object_is_type(v, json_type_null))
                return 0;
        if (json_object_is_type(v, json_type_object)) {
                if (!json_object_object_get_ex(v, "pid", &pid) || !json_object_is_type(pid, json_type_int)) {
                        varlink_call_error_invalid_parameter(call, "pid");
                        return -EINVAL;
                }
                v = pid;
        } else if (!json_object_is_type(v, json_type_int)) {
                varlink_call_error_invalid_parameter(call, "pid");
                return -EINVAL;
        }
        int64_t n = json_object_get_int64(v);
        if (n < 0 || n > INT32_MAX) {
                varlink_call_error_invalid_parameter(call, "pid");
                return -EINVAL;
        }
        *ret = (pid_t) n;
        return 1;
}

/* name and/or pid select a machine; pid 0 means the caller's. 0 and *ret = NULL if neither given. */
static int lookup_machine(VarlinkCall *call, Manager *m, struct json_object *p, Machine **ret) {
        struct json_object *name;
        pid_t pid;
        Machine *by_name = NULL, *by_pid = NULL;
        int r;

        *ret = NULL;
        r = field(call, p, "name", json_type_string, &name);
        if (r < 0)
                return r;
        if (name) {
                const char *n = json_object_get_string(name);
                if (!machine_name_is_valid(n) && !streq(n, ".host")) {
                        varlink_reply_failure(call, ERROR_CONTEXT_LOOKUP, -EINVAL, NULL);
                        return -EINVAL;
                }
                by_name = manager_get_machine(m, n);
                if (!by_name) {
                        varlink_reply_failure(call, ERROR_CONTEXT_LOOKUP, -ENXIO, NULL);
                        return -ENXIO;
                }
        }
        r = read_pid(call, p, &pid);
        if (r < 0)
                return r;
        if (r > 0) {
                if (pid == 0 && varlink_call_get_peer(call, NULL, &pid) < 0)
                        return -ENOTCONN;
                r = manager_get_machine_by_pid(m, pid, &by_pid);
                if (r < 0)
                        return r;
                if (!by_pid || (by_name && by_name != by_pid)) {
                        varlink_reply_failure(call, ERROR_CONTEXT_LOOKUP_PID, -ENXIO, NULL);
                        return -ENXIO;
                }
        }
        *ret = by_name ?: by_pid;
        return *ret ? 1 : 0;
}

/* ---- List ---------------------------------------------------------------------------------- */

static struct json_object *process_id_json(const PidRef *p) {
        struct json_object *o = json_object_new_object();
        if (!o)
                return NULL;
        json_object_object_add(o, "pid", json_object_new_int64(p->pid));
        if (p->fd_id)
                json_object_object_add(o, "pidfdId", json_object_new_uint64(p->fd_id));
        return o;
}

static void add_string(struct json_object *o, const char *key, const char *value) {
        if (!isempty(value))
                json_object_object_add(o, key, json_object_new_string(value));
}

/* acquireMetadata=yes fails the call when the os-release cannot be read (a machine without
 * one: NoOSReleaseInformation, a VM: NotSupported), as systemd-machined does; "graceful" leaves
 * out what cannot be read. */
static int add_metadata(struct json_object *o, Machine *m, bool graceful) {
        _cleanup_strv_free_ char **os = NULL;
        _cleanup_free_ MachineAddress *addrs = NULL;
        size_t n = 0;
        uid_t shift;

        int r = machine_get_os_release(m, &os);
        if (r < 0 && !graceful)
                return r;
        if (r >= 0) {
                struct json_object *a = json_object_new_array();
                for (char **e = os; a && *e; e++)
                        json_object_array_add(a, json_object_new_string(*e));
                json_object_object_add(o, "OSRelease", a);
        }
        if (machine_get_uid_shift(m, &shift) >= 0)
                json_object_object_add(o, "UIDShift", json_object_new_int64(shift));
        if (machine_get_addresses(m, &addrs, &n) >= 0) {
                struct json_object *a = json_object_new_array();
                for (size_t i = 0; a && i < n; i++) {
                        struct json_object *x = json_object_new_object(), *bytes = json_object_new_array();
                        if (!x || !bytes) {
                                json_object_put(x);
                                json_object_put(bytes);
                                continue;
                        }
                        for (size_t b = 0; b < (addrs[i].family == AF_INET ? 4U : 16U); b++)
                                json_object_array_add(bytes, json_object_new_int(addrs[i].address[b]));
                        if (addrs[i].ifindex > 0)
                                json_object_object_add(x, "ifindex", json_object_new_int(addrs[i].ifindex));
                        json_object_object_add(x, "family", json_object_new_int(addrs[i].family));
                        json_object_object_add(x, "address", bytes);
                        json_object_array_add(a, x);
                }
                json_object_object_add(o, "addresses", a);
        }
        return 0;
}

typedef enum AcquireMetadata {
        METADATA_NO,
        METADATA_YES,
        METADATA_GRACEFUL,
} AcquireMetadata;

/* -ENOMEM, or with METADATA_YES the os-release's error. */
static int machine_json(Machine *m, AcquireMetadata metadata, struct json_object **ret) {
        struct json_object *o = json_object_new_object(), *ts = json_object_new_object();
        if (!o || !ts) {
                json_object_put(o);
                json_object_put(ts);
                return -ENOMEM;
        }
        json_object_object_add(o, "name", json_object_new_string(m->name));
        if (!id128_is_null(&m->id)) {
                char hex[33];
                for (size_t i = 0; i < 16; i++)
                        snprintf(hex + 2 * i, 3, "%02x", m->id.bytes[i]);
                json_object_object_add(o, "id", json_object_new_string(hex));
        }
        add_string(o, "service", m->service);
        json_object_object_add(o, "class", json_object_new_string(machine_class_to_string(m->class) ?: ""));
        if (pidref_is_set(&m->leader))
                json_object_object_add(o, "leader", process_id_json(&m->leader));
        if (pidref_is_set(&m->supervisor))
                json_object_object_add(o, "supervisor", process_id_json(&m->supervisor));
        add_string(o, "rootDirectory", m->root_directory);
        add_string(o, "unit", m->unit);
        add_string(o, "subgroup", m->subgroup);
        json_object_object_add(ts, "realtime", json_object_new_uint64(m->timestamp_realtime));
        json_object_object_add(ts, "monotonic", json_object_new_uint64(m->timestamp_monotonic));
        json_object_object_add(o, "timestamp", ts);
        if (m->vsock_cid != VSOCK_CID_UNSET)
                json_object_object_add(o, "vSockCid", json_object_new_int64(m->vsock_cid));
        add_string(o, "sshAddress", m->ssh_address);
        add_string(o, "sshPrivateKeyPath", m->ssh_private_key_path);
        json_object_object_add(o, "UID", json_object_new_int64(m->uid));
        if (metadata != METADATA_NO) {
                int r = add_metadata(o, m, metadata == METADATA_GRACEFUL);
                if (r < 0) {
                        json_object_put(o);
                        return r;
                }
        }
        *ret = o;
        return 0;
}

static int reply_machine(VarlinkCall *call, Machine *m, AcquireMetadata metadata, bool notify) {
        struct json_object *o;
        int r = machine_json(m, metadata, &o);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return varlink_reply_failure(call, ERROR_CONTEXT_OS_RELEASE, r, NULL), -ECANCELED;
        return notify ? varlink_call_notify(call, o) : varlink_call_reply(call, o);
}

static int vl_list(VarlinkCall *call, struct json_object *p, void *userdata) {
        Manager *m = userdata;
        struct json_object *meta;
        Machine *machine;
        AcquireMetadata metadata = METADATA_NO;
        int r;

        r = field(call, p, "acquireMetadata", json_type_string, &meta);
        if (r < 0)
                return 0;
        if (meta) {
                const char *s = json_object_get_string(meta);
                if (!streq(s, "no") && !streq(s, "yes") && !streq(s, "graceful"))
                        return varlink_call_error_invalid_parameter(call, "acquireMetadata");
                metadata = streq(s, "yes") ? METADATA_YES : streq(s, "graceful") ? METADATA_GRACEFUL : METADATA_NO;
        }
        r = lookup_machine(call, m, p, &machine);
        if (r == -EINVAL || r == -ENXIO)
                return 0;
        if (r < 0)
                return r;
        if (machine) {
                r = reply_machine(call, machine, metadata, false);
                return r == -ECANCELED ? 0 : r;
        }

        if (!m->machines)
                return varlink_reply_failure(call, ERROR_CONTEXT_LOOKUP, -ENXIO, NULL);
        if (!varlink_call_wants_more(call))
                return varlink_call_error(call, VARLINK_ERROR_EXPECTED_MORE, NULL);
        /* All but the last as "continues" replies. */
        LIST_FOREACH(machines, machine, m->machines) {
                r = reply_machine(call, machine, metadata, machine->machines_next);
                if (r == -ECANCELED)
                        return 0;
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ---- Register ------------------------------------------------------------------------------- */

static int get_string(VarlinkCall *call, struct json_object *p, const char *name, const char **ret) {
        struct json_object *v;
        int r = field(call, p, name, json_type_string, &v);
        if (r < 0)
                return r;
        *ret = v ? json_object_get_string(v) : NULL;
        return 0;
}

/* leader (a PID) and/or leaderProcessId (a ProcessId); neither or 0: no leader (the caller is
 * usually a short-lived registration tool, so it is not taken as the leader). */
static int read_register_leader(VarlinkCall *call, struct json_object *p, MachineSpec *s) {
        struct json_object *leader, *lpid, *v;
        int64_t pid = 0;

        if (field(call, p, "leader", json_type_int, &leader) < 0)
                return -EINVAL;
        if (field(call, p, "leaderProcessId", json_type_object, &lpid) < 0)
                return -EINVAL;
        s->leader_parameter = leader ? "leader" : "leaderProcessId";
        if (leader)
                pid = json_object_get_int64(leader);
        if (lpid) {
                if (!json_object_object_get_ex(lpid, "pid", &v) || !json_object_is_type(v, json_type_int) ||
                    (leader && json_object_get_int64(v) != pid)) {
                        varlink_call_error_invalid_parameter(call, "leaderProcessId");
                        return -EINVAL;
                }
                pid = json_object_get_int64(v);
                if (json_object_object_get_ex(lpid, "pidfdId", &v) && json_object_is_type(v, json_type_int))
                        s->leader_pidfd_id = json_object_get_uint64(v);
        }
        if (pid < 0 || pid > INT32_MAX) {
                varlink_call_error_invalid_parameter(call, s->leader_parameter);
                return -EINVAL;
        }
        s->leader_pid = (uint32_t) pid;
        return 0;
}

/* ifIndices as the int array the spec borrows. */
static int read_ifindices(VarlinkCall *call, struct json_object *ifindices, int **ret, size_t *ret_n) {
        size_t n = ifindices ? json_object_array_length(ifindices) : 0;

        *ret = NULL;
        *ret_n = 0;
        if (n == 0)
                return 0;
        _cleanup_free_ int *l = calloc(n, sizeof(int));
        if (!l)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                struct json_object *e = json_object_array_get_idx(ifindices, i);
                if (!json_object_is_type(e, json_type_int) || json_object_get_int64(e) <= 0 ||
                    json_object_get_int64(e) > INT32_MAX) {
                        varlink_call_error_invalid_parameter(call, "ifIndices");
                        return -EINVAL;
                }
                l[i] = (int) json_object_get_int64(e);
        }
        *ret = TAKE_PTR(l);
        *ret_n = n;
        return 0;
}

static void register_complete(void *call, const Failure *f, const void *result) {
        if (f)
                (void) varlink_reply_failure(call, ERROR_CONTEXT_REGISTER, f->error, f);
        else
                (void) varlink_call_reply(call, NULL);
}

static void call_release(void *call) {
        varlink_call_unref(call);
}

/* Fills s from the parameters; < 0 once the call was answered with an error. */
static int read_register(VarlinkCall *call, struct json_object *p, MachineSpec *s, int **ret_netif) {
        struct json_object *ifindices, *cid, *allocate;
        const char *id;
        int r;

        if (get_string(call, p, "name", &s->name) < 0 || get_string(call, p, "id", &id) < 0 ||
            get_string(call, p, "service", &s->service) < 0 || get_string(call, p, "class", &s->class) < 0 ||
            get_string(call, p, "rootDirectory", &s->root_directory) < 0 ||
            get_string(call, p, "sshAddress", &s->ssh_address) < 0 ||
            get_string(call, p, "sshPrivateKeyPath", &s->ssh_private_key_path) < 0 ||
            field(call, p, "ifIndices", json_type_array, &ifindices) < 0 || field(call, p, "vSockCid", json_type_int, &cid) < 0 ||
            field(call, p, "allocateUnit", json_type_boolean, &allocate) < 0)
                return -EINVAL;
        /* Mandatory over Varlink; the rest is checked by machine_spec_validate() for both transports. */
        if (!s->name)
                return varlink_call_error_invalid_parameter(call, "name"), -EINVAL;
        if (isempty(s->class))
                return varlink_call_error_invalid_parameter(call, "class"), -EINVAL;
        if (id && id128_from_string(id, &s->id) < 0)
                return varlink_call_error_invalid_parameter(call, "id"), -EINVAL;
        if (cid) {
                int64_t v = json_object_get_int64(cid);
                if (!vsock_cid_is_regular(v < 0 ? 0 : (uint64_t) v))
                        return varlink_call_error_invalid_parameter(call, "vSockCid"), -EINVAL;
                s->vsock_cid = (uint32_t) v;
        }
        r = read_ifindices(call, ifindices, ret_netif, &s->n_netif);
        if (r < 0)
                return r;
        s->netif = *ret_netif;
        r = read_register_leader(call, p, s);
        if (r < 0)
                return r;
        s->allocate_unit = allocate && json_object_get_boolean(allocate);
        s->leader_optional = true;
        return 0;
}

static int vl_register(VarlinkCall *call, struct json_object *p, void *userdata) {
        _cleanup_(machine_spec_done) MachineSpec s = MACHINE_SPEC_INIT;
        _cleanup_(failure_done) Failure f = FAILURE_NULL;
        _cleanup_free_ int *netif = NULL;
        Manager *m = userdata;
        pid_t peer;
        int r;

        if (!is_root(call))
                return permission_denied(call);
        r = read_register(call, p, &s, &netif);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return 0;
        if (varlink_call_get_peer(call, &s.uid, &peer) >= 0)
                (void) pidref_set_pid(&s.caller, peer);

        PendingReply reply = { .complete = register_complete, .release = call_release, .call = varlink_call_ref(call) };
        r = machine_register(m, &s, &reply, &f);
        if (r < 0) {
                pending_reply_done(&reply);
                log_notice("Varlink registration of %s failed: %s", s.name, f.message ?: strerror(-r));
                return varlink_reply_failure(call, ERROR_CONTEXT_REGISTER, r, &f);
        }
        return 0;
}

/* ---- Unregister, Terminate, Kill ------------------------------------------------------------- */

static int lookup_required(VarlinkCall *call, Manager *m, struct json_object *p, Machine **ret) {
        int r = lookup_machine(call, m, p, ret);
        if (r == -EINVAL || r == -ENXIO)
                return -EINVAL;
        if (r < 0) {
                varlink_call_error_errno(call, r);
                return -EINVAL;
        }
        if (r == 0) {
                varlink_call_error_invalid_parameter(call, "name");
                return -EINVAL;
        }
        return 0;
}

static int vl_unregister(VarlinkCall *call, struct json_object *p, void *userdata) {
        Machine *machine;
        if (!is_root(call))
                return permission_denied(call);
        if (lookup_required(call, userdata, p, &machine) < 0)
                return 0;
        int r = machine_unregister_request(machine);
        if (r < 0)
                return varlink_reply_failure(call, ERROR_CONTEXT_UNREGISTER, r, NULL);
        return varlink_call_reply(call, NULL);
}

static int vl_terminate(VarlinkCall *call, struct json_object *p, void *userdata) {
        Machine *machine;
        if (!is_root(call))
                return permission_denied(call);
        if (lookup_required(call, userdata, p, &machine) < 0)
                return 0;
        int r = machine_terminate(machine);
        if (r < 0)
                return varlink_reply_failure(call, ERROR_CONTEXT_TERMINATE, r, NULL);
        return varlink_call_reply(call, NULL);
}

static int vl_kill(VarlinkCall *call, struct json_object *p, void *userdata) {
        _cleanup_(failure_done) Failure f = FAILURE_NULL;
        struct json_object *whom, *sig;
        Machine *machine;

        if (!is_root(call))
                return permission_denied(call);
        if (field(call, p, "whom", json_type_string, &whom) < 0 || field(call, p, "signal", json_type_int, &sig) < 0)
                return 0;
        if (!sig)
                return varlink_call_error_invalid_parameter(call, "signal");
        if (lookup_required(call, userdata, p, &machine) < 0)
                return 0;
        int r = machine_kill_request(machine, whom ? json_object_get_string(whom) : NULL, json_object_get_int64(sig), &f);
        if (r < 0)
                return varlink_reply_failure(call, ERROR_CONTEXT_KILL, r, &f);
        return varlink_call_reply(call, NULL);
}

/* ---- CopyFrom, CopyTo, BindMount: operations ------------------------------------------------- */

static void operation_done(void *call, const Failure *f, const void *result) {
        if (f)
                (void) varlink_reply_failure(call, ERROR_CONTEXT_OPERATION, f->error, f);
        else
                (void) varlink_call_reply(call, NULL);
}

/* source (mandatory), destination (default: source) and the booleans named in flags[]. */
static int read_paths(VarlinkCall *call, struct json_object *p, const char **ret_src, const char **ret_dest,
                      const char *const *flags, bool *ret_flags) {
        if (get_string(call, p, "source", ret_src) < 0 || get_string(call, p, "destination", ret_dest) < 0)
                return -EINVAL;
        if (!*ret_src)
                return varlink_call_error_invalid_parameter(call, "source"), -EINVAL;
        if (!*ret_dest)
                *ret_dest = *ret_src;
        for (size_t i = 0; flags && flags[i]; i++) {
                struct json_object *b;
                if (field(call, p, flags[i], json_type_boolean, &b) < 0)
                        return -EINVAL;
                ret_flags[i] = b && json_object_get_boolean(b);
        }
        return 0;
}

static int operation_call(VarlinkCall *call, struct json_object *p, Manager *m, bool copy, bool to_machine) {
        _cleanup_(failure_done) Failure f = FAILURE_NULL;
        static const char *const copy_flags[] = { "replace", NULL }, *const bind_flags[] = { "readOnly", "mkdir", NULL };
        const char *src, *dest;
        bool flags[2] = {};
        Machine *machine;
        int r;

        if (!is_root(call))
                return permission_denied(call);
        if (read_paths(call, p, &src, &dest, copy ? copy_flags : bind_flags, flags) < 0)
                return 0;
        if (lookup_required(call, m, p, &machine) < 0)
                return 0;
        PendingReply reply = { .complete = operation_done, .release = call_release, .call = varlink_call_ref(call) };
        if (copy) {
                CopyRequest req = { .to_machine = to_machine, .src = src, .dest = dest, .replace = flags[0] };
                r = machine_copy(machine, &req, &reply, &f);
        } else {
                BindRequest req = { .src = src, .dest = dest, .read_only = flags[0], .mkdir = flags[1] };
                r = machine_bind_mount(machine, &req, &reply, &f);
        }
        if (r < 0) {
                pending_reply_done(&reply);
                return varlink_reply_failure(call, ERROR_CONTEXT_OPERATION, r, &f);
        }
        return 0;
}

static int vl_copy_from(VarlinkCall *call, struct json_object *p, void *userdata) {
        return operation_call(call, p, userdata, true, false);
}

static int vl_copy_to(VarlinkCall *call, struct json_object *p, void *userdata) {
        return operation_call(call, p, userdata, true, true);
}

static int vl_bind_mount(VarlinkCall *call, struct json_object *p, void *userdata) {
        return operation_call(call, p, userdata, false, false);
}

/* ---- Open, OpenRootDirectory: replies with a file descriptor --------------------------------- */

/* An array of strings, or absent/null. < 0 once the call was answered with an error. */
static int get_strv(VarlinkCall *call, struct json_object *p, const char *name, char ***ret) {
        struct json_object *a;
        _cleanup_strv_free_ char **l = NULL;
        int r = field(call, p, name, json_type_array, &a);
        if (r <= 0)
                return r < 0 ? r : (*ret = NULL, 0);
        size_t n = json_object_array_length(a);
        l = calloc(n + 1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                struct json_object *e = json_object_array_get_idx(a, i);
                if (!json_object_is_type(e, json_type_string))
                        return varlink_call_error_invalid_parameter(call, name), -EINVAL;
                l[i] = strdup(json_object_get_string(e));
                if (!l[i])
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

/* The reply of a call answered with one descriptor, named by key. */
static int reply_with_fd(VarlinkCall *call, int fd, const char *key, struct json_object *o) {
        int idx = varlink_call_push_fd(call, fd);
        if (idx < 0) {
                safe_close(fd);
                json_object_put(o);
                return varlink_call_error_errno(call, idx);
        }
        json_object_object_add(o, key, json_object_new_int(idx));
        return varlink_call_reply(call, o);
}

static void open_done(void *call, const Failure *f, const void *result) {
        const OperationResult *res = result;
        if (f) {
                (void) varlink_reply_failure(call, ERROR_CONTEXT_OPERATION, f->error, f);
                return;
        }
        /* The operation keeps its descriptor; the reply takes a copy. */
        int fd = fcntl(res->fd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0) {
                (void) varlink_call_error_errno(call, -errno);
                return;
        }
        struct json_object *o = json_object_new_object();
        if (!o) {
                safe_close(fd);
                (void) varlink_call_error_errno(call, -ENOMEM);
                return;
        }
        if (!isempty(res->text))
                json_object_object_add(o, "ptyPath", json_object_new_string(res->text));
        (void) reply_with_fd(call, fd, "ptyFileDescriptor", o);
}

static int vl_open(VarlinkCall *call, struct json_object *p, void *userdata) {
        _cleanup_(failure_done) Failure f = FAILURE_NULL;
        _cleanup_strv_free_ char **args = NULL, **env = NULL;
        ShellRequest req = {};
        const char *mode;
        Machine *machine;
        int r;

        if (!is_root(call))
                return permission_denied(call);
        if (get_string(call, p, "mode", &mode) < 0 || get_string(call, p, "user", &req.user) < 0 ||
            get_string(call, p, "path", &req.path) < 0)
                return 0;
        r = get_strv(call, p, "args", &args);
        if (r >= 0)
                r = get_strv(call, p, "environment", &env);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return 0;
        /* Varlink's names for the modes of OpenPTY, OpenLogin, OpenShell. */
        req.mode = !mode ? _SHELL_MODE_INVALID : streq(mode, "tty") ? SHELL_PTY : streq(mode, "login") ? SHELL_LOGIN
                 : streq(mode, "shell") ? SHELL_SHELL : _SHELL_MODE_INVALID;
        if (req.mode < 0)
                return varlink_call_error_invalid_parameter(call, "mode");
        if (req.mode == SHELL_SHELL) {
                req.args = args;
                req.env = env;
        }
        if (lookup_required(call, userdata, p, &machine) < 0)
                return 0;
        PendingReply reply = { .complete = open_done, .release = call_release, .call = varlink_call_ref(call) };
        r = machine_open_shell(machine, &req, &reply, &f);
        if (r < 0) {
                pending_reply_done(&reply);
                return varlink_reply_failure(call, ERROR_CONTEXT_OPERATION, r, &f);
        }
        return 0;
}

static int vl_open_root_directory(VarlinkCall *call, struct json_object *p, void *userdata) {
        Machine *machine;

        if (!is_root(call))
                return permission_denied(call);
        if (lookup_required(call, userdata, p, &machine) < 0)
                return 0;
        int fd = machine_open_root_directory(machine);
        if (fd < 0)
                return varlink_reply_failure(call, ERROR_CONTEXT_OPERATION, fd, NULL);
        struct json_object *o = json_object_new_object();
        if (!o) {
                safe_close(fd);
                return -ENOMEM;
        }
        return reply_with_fd(call, fd, "fileDescriptor", o);
}

/* ---- MapFrom, MapTo (machine-idmap.c) --------------------------------------------------------- */

/* uid and gid, each optional: UINT32_MAX if absent. < 0 once answered with an error. */
static int read_ids(VarlinkCall *call, struct json_object *p, uint32_t ids[2]) {
        static const char *const names[2] = { "uid", "gid" };
        for (size_t i = 0; i < 2; i++) {
                struct json_object *v;
                ids[i] = UINT32_MAX;
                if (field(call, p, names[i], json_type_int, &v) < 0)
                        return -EINVAL;
                if (!v)
                        continue;
                int64_t n = json_object_get_int64(v);
                /* -1 and the 16-bit -1 are never IDs. */
                if (n < 0 || n >= (int64_t) UINT32_MAX || n == UINT16_MAX)
                        return varlink_call_error_invalid_parameter(call, names[i]), -EINVAL;
                ids[i] = (uint32_t) n;
        }
        return 0;
}

static int vl_map_from(VarlinkCall *call, struct json_object *p, void *userdata) {
        uint32_t ids[2], out[2] = { UINT32_MAX, UINT32_MAX };
        Machine *machine;

        if (read_ids(call, p, ids) < 0 || lookup_required(call, userdata, p, &machine) < 0)
                return 0;
        struct json_object *o = json_object_new_object();
        if (!o)
                return -ENOMEM;
        for (size_t i = 0; i < 2; i++) {
                if (ids[i] == UINT32_MAX)
                        continue;
                int r = machine_map_from(machine, i == 1, ids[i], &out[i]);
                if (r < 0) {
                        json_object_put(o);
                        return varlink_reply_failure(call, i == 1 ? ERROR_CONTEXT_MAP_GROUP : ERROR_CONTEXT_MAP_USER, r, NULL);
                }
                json_object_object_add(o, i == 1 ? "gid" : "uid", json_object_new_int64(out[i]));
        }
        return varlink_call_reply(call, o);
}

static int vl_map_to(VarlinkCall *call, struct json_object *p, void *userdata) {
        uint32_t ids[2], out[2];
        Machine *found[2] = {};

        if (read_ids(call, p, ids) < 0)
                return 0;
        /* Both checked for the host range before either is looked up, as systemd does. */
        for (size_t i = 0; i < 2; i++)
                if (ids[i] != UINT32_MAX && ids[i] < 0x10000)
                        return varlink_reply_failure(call, i == 1 ? ERROR_CONTEXT_MAP_GROUP : ERROR_CONTEXT_MAP_USER, -ERANGE,
                                                     NULL);
        for (size_t i = 0; i < 2; i++) {
                if (ids[i] == UINT32_MAX)
                        continue;
                int r = manager_map_to_machine(userdata, i == 1, ids[i], &found[i], &out[i]);
                if (r < 0)
                        return varlink_reply_failure(call, i == 1 ? ERROR_CONTEXT_MAP_GROUP : ERROR_CONTEXT_MAP_USER, r, NULL);
        }
        if (found[0] && found[1] && found[0] != found[1])
                return varlink_reply_failure(call, ERROR_CONTEXT_MAP_USER, -EXDEV, NULL);
        if (!found[0] && !found[1])
                return varlink_reply_failure(call, ERROR_CONTEXT_LOOKUP, -ENXIO, NULL);
        struct json_object *o = json_object_new_object();
        if (!o)
                return -ENOMEM;
        if (found[0])
                json_object_object_add(o, "uid", json_object_new_int64(out[0]));
        if (found[1])
                json_object_object_add(o, "gid", json_object_new_int64(out[1]));
        json_object_object_add(o, "machineName", json_object_new_string((found[0] ?: found[1])->name));
        return varlink_call_reply(call, o);
}

static const VarlinkMethod machine_methods[] = {
        { "List", vl_list },
        { "Register", vl_register },
        { "Unregister", vl_unregister },
        { "Terminate", vl_terminate },
        { "Kill", vl_kill },
        { "CopyFrom", vl_copy_from },
        { "CopyTo", vl_copy_to },
        { "BindMount", vl_bind_mount },
        { "Open", vl_open },
        { "OpenRootDirectory", vl_open_root_directory },
        { "MapFrom", vl_map_from },
        { "MapTo", vl_map_to },
        { NULL, NULL },
};

static const VarlinkInterface machine_interface = {
        .name = "io.systemd.Machine",
        .description = interface_description,
        .methods = machine_methods,
};

int machined_varlink_init(Manager *m) {
        static const VarlinkServerInfo info = {
                .vendor = "berth",
                .product = "machined",
                .version = BERTH_VERSION,
                .url = PROJECT_URL,
        };
        _cleanup_free_ char *path = strjoin(m->config.runtime_dir, "/io.systemd.Machine");
        int r;

        if (!path)
                return log_oom();
        (void) mkdir_p(m->config.runtime_dir, 0755);
        /* Everybody may connect: List is open to all, the rest checks the peer's UID. */
        r = varlink_server_new(m->event, path, 0666, &info, &m->varlink);
        if (r < 0)
                return log_error_errno(r, "Failed to listen on %s: %m", path);
        r = varlink_server_add_interface(m->varlink, &machine_interface, m);
        if (r < 0)
                return log_error_errno(r, "Failed to add Varlink interface: %m");
        return 0;
}
