/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cgroup-util.h"
#include "log.h"
#include "machine.h"
#include "machined-varlink.h"
#include "macro.h"
#include "name-util.h"
#include "parse-util.h"
#include "path-util.h"
#include "strv.h"

#define ERROR_NO_SUCH_MACHINE "io.systemd.Machine.NoSuchMachine"
#define ERROR_MACHINE_EXISTS "io.systemd.Machine.MachineExists"
#define ERROR_NO_OS_RELEASE "io.systemd.Machine.NoOSReleaseInformation"
#define ERROR_NO_UID_SHIFT "io.systemd.Machine.NoUIDShift"
#define ERROR_NOT_SUPPORTED "io.systemd.Machine.NotSupported"

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
        "error NoSuchMachine()\n"
        "error MachineExists()\n"
        "error NoPrivateNetworking()\n"
        "error NoOSReleaseInformation()\n"
        "error NoUIDShift()\n"
        "error NotAvailable()\n"
        "error NotSupported()\n";

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
                if (!machine_name_is_valid(n)) {
                        varlink_call_error_invalid_parameter(call, "name");
                        return -EINVAL;
                }
                by_name = manager_get_machine(m, n);
                if (!by_name) {
                        varlink_call_error(call, ERROR_NO_SUCH_MACHINE, NULL);
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
                        varlink_call_error(call, ERROR_NO_SUCH_MACHINE, NULL);
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

static void add_metadata(struct json_object *o, Machine *m) {
        _cleanup_strv_free_ char **os = NULL;
        _cleanup_free_ MachineAddress *addrs = NULL;
        size_t n = 0;
        uid_t shift;

        if (machine_get_os_release(m, &os) >= 0) {
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
}

static struct json_object *machine_json(Machine *m, bool metadata) {
        struct json_object *o = json_object_new_object(), *ts = json_object_new_object();
        if (!o || !ts) {
                json_object_put(o);
                json_object_put(ts);
                return NULL;
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
        if (metadata)
                add_metadata(o, m);
        return o;
}

static int vl_list(VarlinkCall *call, struct json_object *p, void *userdata) {
        Manager *m = userdata;
        struct json_object *meta;
        Machine *machine;
        bool metadata = false;
        int r;

        r = field(call, p, "acquireMetadata", json_type_string, &meta);
        if (r < 0)
                return 0;
        if (meta) {
                const char *s = json_object_get_string(meta);
                if (!streq(s, "no") && !streq(s, "yes") && !streq(s, "graceful"))
                        return varlink_call_error_invalid_parameter(call, "acquireMetadata");
                metadata = !streq(s, "no");
        }
        r = lookup_machine(call, m, p, &machine);
        if (r == -EINVAL || r == -ENXIO)
                return 0;
        if (r < 0)
                return r;
        if (machine)
                return varlink_call_reply(call, machine_json(machine, metadata));

        if (!m->machines)
                return varlink_call_error(call, ERROR_NO_SUCH_MACHINE, NULL);
        if (!varlink_call_wants_more(call))
                return varlink_call_error(call, VARLINK_ERROR_EXPECTED_MORE, NULL);
        /* All but the last as "continues" replies. */
        LIST_FOREACH(machines, machine, m->machines) {
                struct json_object *o = machine_json(machine, metadata);
                if (!o)
                        return -ENOMEM;
                r = machine->machines_next ? varlink_call_notify(call, o) : varlink_call_reply(call, o);
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
        if (*ret) {
                for (const char *c = *ret; *c; c++)
                        if ((unsigned char) *c < 0x20 || *c == 0x7f) {
                                varlink_call_error_invalid_parameter(call, name);
                                return -EINVAL;
                        }
                if (strlen(*ret) > 4096) {
                        varlink_call_error_invalid_parameter(call, name);
                        return -EINVAL;
                }
        }
        return 0;
}

static int read_register_leader(VarlinkCall *call, struct json_object *p, PidRef *ret) {
        struct json_object *leader, *lpid, *v;
        int64_t pid = 0;
        uint64_t fd_id = 0;
        int r;

        if (field(call, p, "leader", json_type_int, &leader) < 0)
                return -EINVAL;
        if (field(call, p, "leaderProcessId", json_type_object, &lpid) < 0)
                return -EINVAL;
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
                        fd_id = json_object_get_uint64(v);
        }
        pid_t peer;
        if (pid == 0 && varlink_call_get_peer(call, NULL, &peer) >= 0)
                pid = peer;
        if (pid <= 1 || pid > INT32_MAX) {
                varlink_call_error_invalid_parameter(call, leader ? "leader" : "leaderProcessId");
                return -EINVAL;
        }
        r = pidref_set_pid(ret, (pid_t) pid);
        if (r < 0 || (fd_id != 0 && ret->fd_id != 0 && ret->fd_id != fd_id)) {
                pidref_done(ret);
                varlink_call_error_invalid_parameter(call, leader ? "leader" : "leaderProcessId");
                return -EINVAL;
        }
        return 0;
}

static int vl_register(VarlinkCall *call, struct json_object *p, void *userdata) {
        Manager *m = userdata;
        const char *name, *id, *service, *class, *root, *ssh_address, *ssh_key;
        struct json_object *ifindices, *cid, *allocate;
        PidRef leader = PIDREF_NULL;
        Machine *machine = NULL;
        Id128 mid = {};
        int r;

        if (!is_root(call))
                return permission_denied(call);
        if (get_string(call, p, "name", &name) < 0 || get_string(call, p, "id", &id) < 0 ||
            get_string(call, p, "service", &service) < 0 || get_string(call, p, "class", &class) < 0 ||
            get_string(call, p, "rootDirectory", &root) < 0 || get_string(call, p, "sshAddress", &ssh_address) < 0 ||
            get_string(call, p, "sshPrivateKeyPath", &ssh_key) < 0 ||
            field(call, p, "ifIndices", json_type_array, &ifindices) < 0 || field(call, p, "vSockCid", json_type_int, &cid) < 0 ||
            field(call, p, "allocateUnit", json_type_boolean, &allocate) < 0)
                return 0;
        if (!name || !machine_name_is_valid(name))
                return varlink_call_error_invalid_parameter(call, "name");
        if (!class || machine_class_from_string(class) < 0)
                return varlink_call_error_invalid_parameter(call, "class");
        if (id && id128_from_string(id, &mid) < 0)
                return varlink_call_error_invalid_parameter(call, "id");
        if (root && root[0] != '/')
                return varlink_call_error_invalid_parameter(call, "rootDirectory");
        if (cid && (json_object_get_int64(cid) < 3 || json_object_get_int64(cid) >= UINT32_MAX))
                return varlink_call_error_invalid_parameter(call, "vSockCid");
        size_t n_if = ifindices ? json_object_array_length(ifindices) : 0;
        for (size_t i = 0; i < n_if; i++) {
                struct json_object *e = json_object_array_get_idx(ifindices, i);
                if (!json_object_is_type(e, json_type_int) || json_object_get_int64(e) <= 0 || json_object_get_int64(e) > INT32_MAX)
                        return varlink_call_error_invalid_parameter(call, "ifIndices");
        }
        Machine *old = manager_get_machine(m, name);
        if (old && !machine_release_if_leader_gone(old))
                return varlink_call_error(call, ERROR_MACHINE_EXISTS, NULL);
        if (read_register_leader(call, p, &leader) < 0)
                return 0;

        r = machine_new(m, name, &machine);
        if (r < 0) {
                pidref_done(&leader);
                return r;
        }
        machine->leader = leader;
        machine->id = mid;
        machine->class = machine_class_from_string(class);
        machine->vsock_cid = cid ? (uint32_t) json_object_get_int64(cid) : VSOCK_CID_UNSET;
        (void) varlink_call_get_peer(call, &machine->uid, NULL);
        if ((service && !(machine->service = strdup(service))) || (root && !(machine->root_directory = strdup(root))) ||
            (ssh_address && !(machine->ssh_address = strdup(ssh_address))) ||
            (ssh_key && !(machine->ssh_private_key_path = strdup(ssh_key)))) {
                machine_free(machine);
                return -ENOMEM;
        }
        if (n_if > 0) {
                machine->netif = calloc(n_if, sizeof(int));
                if (!machine->netif) {
                        machine_free(machine);
                        return -ENOMEM;
                }
                for (size_t i = 0; i < n_if; i++)
                        machine->netif[i] = (int) json_object_get_int64(json_object_array_get_idx(ifindices, i));
                machine->n_netif = n_if;
        }

        ScopeRequest req = { .allocate = allocate && json_object_get_boolean(allocate), .limits = CGROUP_LIMITS_UNSET };
        sd_bus_error error = SD_BUS_ERROR_NULL;
        machine->create_call = varlink_call_ref(call);
        r = machine_start(machine, &req, &error);
        if (r < 0) {
                log_notice("Varlink registration of %s failed: %s", name, error.message ?: strerror(-r));
                sd_bus_error_free(&error);
                machine_free(machine);
                return r;
        }
        sd_bus_error_free(&error);
        return 0;
}

void machined_varlink_reply_register(VarlinkCall *call, Machine *m, int error, const char *message) {
        if (error < 0)
                (void) varlink_call_error_errno(call, error);
        else
                (void) varlink_call_reply(call, NULL);
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
        machine_unregister(machine);
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
                return r;
        return varlink_call_reply(call, NULL);
}

static int vl_kill(VarlinkCall *call, struct json_object *p, void *userdata) {
        struct json_object *whom, *sig;
        Machine *machine;
        KillWhom w = KILL_ALL;

        if (!is_root(call))
                return permission_denied(call);
        if (field(call, p, "whom", json_type_string, &whom) < 0 || field(call, p, "signal", json_type_int, &sig) < 0)
                return 0;
        if (whom) {
                w = kill_whom_from_string(json_object_get_string(whom));
                if (w < 0)
                        return varlink_call_error_invalid_parameter(call, "whom");
        }
        if (!sig || json_object_get_int64(sig) <= 0 || json_object_get_int64(sig) >= _NSIG)
                return varlink_call_error_invalid_parameter(call, "signal");
        if (lookup_required(call, userdata, p, &machine) < 0)
                return 0;
        int r = machine_kill(machine, w, (int) json_object_get_int64(sig));
        if (r == -ESRCH)
                return varlink_call_error(call, ERROR_NO_SUCH_MACHINE, NULL);
        if (r < 0)
                return r;
        return varlink_call_reply(call, NULL);
}

static const VarlinkMethod machine_methods[] = {
        { "List", vl_list },
        { "Register", vl_register },
        { "Unregister", vl_unregister },
        { "Terminate", vl_terminate },
        { "Kill", vl_kill },
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
