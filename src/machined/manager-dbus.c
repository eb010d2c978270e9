/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bus-util.h"
#include "cgroup-util.h"
#include "image.h"
#include "log.h"
#include "machine-dbus.h"
#include "machine.h"
#include "macro.h"
#include "manager-dbus.h"
#include "name-util.h"
#include "parse-util.h"
#include "strv.h"

#define STRING_ARG_MAX 4096

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
                return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_MACHINE, "No machine '%s' known", name);
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
                return sd_bus_error_set_errnof(error, r, "Failed to look up the machine of PID %i: %m", (int) pid);
        if (!machine)
                return sd_bus_error_setf(error, BUS_ERROR_NO_MACHINE_FOR_PID, "PID %i does not belong to any known machine", (int) pid);
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
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Image name '%s' is invalid.", name);
        r = image_find(m->config.pool_path, name, &image);
        if (r == -ENOENT)
                return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_IMAGE, "No image '%s' known", name);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to look up image '%s': %m", name);
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

typedef struct CreateParams {
        const char *name;
        Id128 id;
        const char *service;
        const char *class;
        uint32_t leader_pid;
        int leader_pidfd;
        uint64_t leader_pidfd_id;
        const char *root_directory;
        const int32_t *netif;
        size_t n_netif;
        uint32_t vsock_cid;
        const char *ssh_address;
        const char *ssh_private_key_path;
} CreateParams;

/* Printable, bounded strings only: they end up in state files and logs. */
static bool string_ok(const char *s) {
        if (strlen(s) > STRING_ARG_MAX)
                return false;
        for (const char *p = s; *p; p++)
                if ((unsigned char) *p < 0x20 || *p == 0x7f)
                        return false;
        return true;
}

static int read_ex_properties(sd_bus_message *message, CreateParams *p, sd_bus_error *error) {
        int r = sd_bus_message_enter_container(message, 'a', "(sv)");
        if (r < 0)
                return r;
        for (;;) {
                const char *key;
                r = sd_bus_message_enter_container(message, 'r', "sv");
                if (r < 0)
                        return r;
                if (r == 0)
                        break;
                r = sd_bus_message_read(message, "s", &key);
                if (r < 0)
                        return r;
                const char *contents = NULL;
                r = sd_bus_message_peek_type(message, NULL, &contents);
                if (r < 0)
                        return r;
                static const struct {
                        const char *key, *type;
                } known[] = {
                        { "Id", "ay" }, { "Service", "s" }, { "Class", "s" }, { "LeaderPID", "u" },
                        { "LeaderPIDFD", "h" }, { "LeaderPIDFDID", "t" }, { "RootDirectory", "s" },
                        { "NetworkInterfaces", "ai" }, { "VSockCID", "u" }, { "SSHAddress", "s" },
                        { "SSHPrivateKeyPath", "s" },
                };
                size_t k;
                for (k = 0; k < ELEMENTSOF(known); k++)
                        if (streq(known[k].key, key))
                                break;
                if (k == ELEMENTSOF(known))
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Unknown property '%s'", key);
                if (!contents || !streq(contents, known[k].type))
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Property '%s' must be of type %s", key, known[k].type);
                r = sd_bus_message_enter_container(message, 'v', contents);
                if (r < 0)
                        return r;
                if (streq(key, "Id")) {
                        if (bus_message_read_id128(message, &p->id) < 0)
                                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid machine ID parameter");
                } else if (streq(key, "Service"))
                        r = sd_bus_message_read(message, "s", &p->service);
                else if (streq(key, "Class"))
                        r = sd_bus_message_read(message, "s", &p->class);
                else if (streq(key, "LeaderPID"))
                        r = sd_bus_message_read(message, "u", &p->leader_pid);
                else if (streq(key, "LeaderPIDFD"))
                        r = sd_bus_message_read(message, "h", &p->leader_pidfd);
                else if (streq(key, "LeaderPIDFDID"))
                        r = sd_bus_message_read(message, "t", &p->leader_pidfd_id);
                else if (streq(key, "RootDirectory"))
                        r = sd_bus_message_read(message, "s", &p->root_directory);
                else if (streq(key, "NetworkInterfaces")) {
                        r = sd_bus_message_read_array(message, 'i', (const void **) &p->netif, &p->n_netif);
                        p->n_netif /= sizeof(int32_t);
                } else if (streq(key, "VSockCID")) {
                        r = sd_bus_message_read(message, "u", &p->vsock_cid);
                        /* 0-2 are the hypervisor, local and host; -1 is "any". */
                        if (r >= 0 && (p->vsock_cid < 3 || p->vsock_cid == UINT32_MAX))
                                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "VSockCID is not a regular VSOCK CID.");
                } else if (streq(key, "SSHAddress"))
                        r = sd_bus_message_read(message, "s", &p->ssh_address);
                else if (streq(key, "SSHPrivateKeyPath"))
                        r = sd_bus_message_read(message, "s", &p->ssh_private_key_path);
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(message);
                if (r >= 0)
                        r = sd_bus_message_exit_container(message);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_exit_container(message);
}

static int read_create_params(sd_bus_message *message, CreateVariant v, CreateParams *p, sd_bus_error *error) {
        int r = sd_bus_message_read(message, "s", &p->name);
        if (r < 0)
                return r;
        if (!machine_name_is_valid(p->name))
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid machine name");
        if (v == CREATE_EX)
                return read_ex_properties(message, p, error);
        r = bus_message_read_id128(message, &p->id);
        if (r < 0)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid machine ID parameter");
        r = sd_bus_message_read(message, "ssus", &p->service, &p->class, &p->leader_pid, &p->root_directory);
        if (r < 0)
                return r;
        if (v == CREATE_WITH_NETWORK) {
                r = sd_bus_message_read_array(message, 'i', (const void **) &p->netif, &p->n_netif);
                if (r < 0)
                        return r;
                p->n_netif /= sizeof(int32_t);
        }
        return 0;
}

static int validate_create_params(Manager *m, const CreateParams *p, sd_bus_error *error) {
        if (!isempty(p->class) && machine_class_from_string(p->class) < 0)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid machine class parameter");
        if (p->leader_pid == 1)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid leader PID");
        if (p->leader_pid > INT32_MAX)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid leader PID");
        if (!isempty(p->root_directory) && (p->root_directory[0] != '/' || !string_ok(p->root_directory)))
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "Root directory must be empty or an absolute path");
        for (size_t i = 0; i < p->n_netif; i++)
                if (p->netif[i] <= 0)
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid network interface index %i", p->netif[i]);
        const char *strings[] = { p->service, p->ssh_address, p->ssh_private_key_path };
        for (size_t i = 0; i < ELEMENTSOF(strings); i++)
                if (strings[i] && !string_ok(strings[i]))
                        return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid string parameter");
        Machine *old = manager_get_machine(m, p->name);
        if (old && !machine_release_if_leader_gone(old))
                return sd_bus_error_setf(error, BUS_ERROR_MACHINE_EXISTS, "Machine '%s' already exists", p->name);
        return 0;
}

/* Pins the leader (LeaderPIDFD, LeaderPID[+LeaderPIDFDID], else the caller itself) and, if the
 * caller is someone else, the caller as the supervisor, as systemd-machined does. */
static int pin_processes(sd_bus_message *message, const CreateParams *p, PidRef *leader, PidRef *supervisor,
                         sd_bus_error *error) {
        int r;

        if (p->leader_pidfd >= 0) {
                r = pidref_set_pidfd(leader, p->leader_pidfd);
                if (r < 0)
                        return sd_bus_error_set_errnof(error, r, "Failed to pin the leader process by its pidfd: %m");
                if (p->leader_pid > 0 && (uint32_t) leader->pid != p->leader_pid)
                        return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "LeaderPID and LeaderPIDFD refer to different processes");
        } else if (p->leader_pid > 0) {
                r = pidref_set_pid(leader, (pid_t) p->leader_pid);
                if (r < 0)
                        return sd_bus_error_set_errnof(error, r, "Failed to pin leader process %u: %m", p->leader_pid);
        } else {
                r = bus_query_sender_pidref(message, leader);
                if (r < 0)
                        return sd_bus_error_set_errnof(error, r, "Failed to pin the calling process: %m");
        }
        if (p->leader_pidfd_id != 0 && leader->fd_id != 0 && leader->fd_id != p->leader_pidfd_id)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "LeaderPIDFDID does not match the leader process");
        if (leader->pid == 1)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid leader PID");

        PidRef client = PIDREF_NULL;
        if (bus_query_sender_pidref(message, &client) >= 0 && !pidref_equal(&client, leader))
                *supervisor = client;
        else
                pidref_done(&client);
        return 0;
}

static int fill_machine(Machine *machine, const CreateParams *p, uid_t uid) {
        machine->id = p->id;
        machine->uid = uid;
        machine->class = isempty(p->class) ? _MACHINE_CLASS_INVALID : machine_class_from_string(p->class);
        machine->vsock_cid = p->vsock_cid;
        const struct {
                const char *src;
                char **dst;
        } strings[] = {
                { p->service, &machine->service },
                { p->root_directory, &machine->root_directory },
                { p->ssh_address, &machine->ssh_address },
                { p->ssh_private_key_path, &machine->ssh_private_key_path },
        };
        for (size_t i = 0; i < ELEMENTSOF(strings); i++)
                if (!isempty(strings[i].src) && !(*strings[i].dst = strdup(strings[i].src)))
                        return -ENOMEM;
        if (p->n_netif > 0) {
                machine->netif = malloc(sizeof(int) * p->n_netif);
                if (!machine->netif)
                        return -ENOMEM;
                memcpy(machine->netif, p->netif, sizeof(int) * p->n_netif);
                machine->n_netif = p->n_netif;
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
                static const char *const limits[] = { "MemoryMax", "MemoryLimit", "TasksMax", "CPUQuotaPerSecUSec",
                                                      "CPUWeight", "CPUShares", "IOWeight", "BlockIOWeight" };
                bool known = false;
                for (size_t i = 0; i < ELEMENTSOF(limits); i++)
                        known = known || streq(limits[i], name);
                if (!known) {
                        log_debug("Scope property %s has no cgroupfs equivalent: only the systemd backend uses it.", name);
                        r = sd_bus_message_skip(message, "v");
                } else {
                        if (!contents || !streq(contents, "t"))
                                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Scope property %s must be of type t", name);
                        r = sd_bus_message_read(message, "v", "t", &v);
                        if (r < 0)
                                return r;
                        if (streq(name, "MemoryMax") || streq(name, "MemoryLimit"))
                                l->memory_max = v == UINT64_MAX ? CGROUP_LIMIT_MAX : v;
                        else if (streq(name, "TasksMax")) {
                                if (v == 0)
                                        return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "TasksMax must be positive");
                                l->tasks_max = v == UINT64_MAX ? CGROUP_LIMIT_MAX : v;
                        } else if (streq(name, "CPUQuotaPerSecUSec")) {
                                if (v == 0)
                                        return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "CPUQuotaPerSecUSec must be positive");
                                l->cpu_quota_per_sec_usec = v;
                        } else {
                                /* Shares: 1024 is weight 100; blkio weights run 10..1000 around 500. */
                                if (streq(name, "CPUShares"))
                                        v = v == UINT64_MAX ? v : v * 100 / 1024;
                                else if (streq(name, "BlockIOWeight"))
                                        v = v == UINT64_MAX ? v : v / 5;
                                if (v != UINT64_MAX && (v < 1 || v > 10000))
                                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "%s out of range", name);
                                if (streq(name, "CPUWeight") || streq(name, "CPUShares"))
                                        l->cpu_weight = v;
                                else
                                        l->io_weight = v;
                        }
                }
                if (r >= 0)
                        r = sd_bus_message_exit_container(message);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_exit_container(message);
}

static int create_or_register(sd_bus_message *message, Manager *m, bool allocate, CreateVariant v, sd_bus_error *error) {
        CreateParams p = { .leader_pidfd = -EBADF, .vsock_cid = VSOCK_CID_UNSET };
        PidRef leader = PIDREF_NULL, supervisor = PIDREF_NULL;
        ScopeRequest req = { .allocate = allocate, .limits = CGROUP_LIMITS_UNSET };
        Machine *machine = NULL;
        uid_t uid = 0;
        int r;

        r = bus_verify_root(message, error);
        if (r < 0)
                return r;
        r = read_create_params(message, v, &p, error);
        if (r < 0)
                return r;
        r = validate_create_params(m, &p, error);
        if (r < 0)
                return r;
        if (allocate) {
                /* CreateMachineEx has the scope properties after its a(sv). */
                r = read_scope_properties(message, &req.limits, error);
                if (r < 0)
                        return r;
                req.message = message;
                req.skip = v == CREATE_EX ? "sa(sv)" : v == CREATE_WITH_NETWORK ? "sayssusai" : "sayssus";
        }
        r = pin_processes(message, &p, &leader, &supervisor, error);
        if (r < 0)
                goto finish;
        (void) bus_query_sender_euid(message, &uid);

        r = machine_new(m, p.name, &machine);
        if (r < 0)
                goto finish;
        machine->leader = leader;
        machine->supervisor = supervisor;
        leader = supervisor = PIDREF_NULL;
        r = fill_machine(machine, &p, uid);
        if (r < 0)
                goto finish;

        machine->create_message = sd_bus_message_ref(message);
        r = machine_start(machine, &req, error);
        if (r < 0)
                goto finish;
        return 1;

finish:
        pidref_done(&leader);
        pidref_done(&supervisor);
        machine_free(machine);
        return r;
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
                return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_MACHINE, "No machine '%s' known", name);
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
        SD_BUS_METHOD_WITH_ARGS("GetMachineUIDShift", SD_BUS_ARGS("s", name), SD_BUS_RESULT("u", shift),
                                method_get_machine_uid_shift, U),

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
