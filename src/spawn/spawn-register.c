/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>

#include "log.h"
#include "spawn-options.h"
#include "spawn-register.h"

#define MACHINE1 "org.freedesktop.machine1"
#define MACHINE1_PATH "/org/freedesktop/machine1"
#define MACHINE1_MANAGER "org.freedesktop.machine1.Manager"
#define REGISTER_TIMEOUT_USEC (30ULL * 1000000ULL)

static const char *const register_mode_table[_REGISTER_MODE_MAX] = {
        [REGISTER_NO] = "no",
        [REGISTER_YES] = "yes",
        [REGISTER_AUTO] = "auto",
};

const char *register_mode_to_string(RegisterMode m) {
        return m >= 0 && m < _REGISTER_MODE_MAX ? register_mode_table[m] : NULL;
}

RegisterMode register_mode_from_string(const char *s) {
        for (int i = 0; i < _REGISTER_MODE_MAX; i++)
                if (streq(register_mode_table[i], s))
                        return (RegisterMode) i;
        if (streq(s, "1") || streq(s, "true"))
                return REGISTER_YES;
        if (streq(s, "0") || streq(s, "false"))
                return REGISTER_NO;
        return _REGISTER_MODE_INVALID;
}

/* Is machine1 owned or activatable on this bus? */
static int registry_available(sd_bus *bus) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *reply = NULL;
        int has = 0, r;

        r = sd_bus_call_method(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                               "NameHasOwner", &error, &reply, "s", MACHINE1);
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "b", &has);
        sd_bus_message_unref(reply);
        if (r < 0 || has)
                return r < 0 ? r : 1;

        _cleanup_strv_free_ char **names = NULL;
        r = sd_bus_call_method(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                               "ListActivatableNames", &error, &reply, NULL);
        if (r < 0)
                return r;
        r = sd_bus_message_read_strv(reply, &names);
        sd_bus_message_unref(reply);
        if (r < 0)
                return r;
        return strv_contains(names, MACHINE1);
}

int register_prepare(Registration *reg, const SpawnConfig *c) {
        int r;

        *reg = (Registration) {};
        if (c->register_mode == REGISTER_NO)
                return 0;

        r = sd_bus_open_system(&reg->bus);
        if (r >= 0)
                r = registry_available(reg->bus);
        if (r > 0)
                return 1;

        reg->bus = sd_bus_flush_close_unref(reg->bus);
        if (c->register_mode == REGISTER_YES)
                return log_error_errno(r < 0 ? r : ESRCH, "Cannot register machine %s: %s", c->machine,
                                       r < 0 ? "failed to connect to the system bus" : "no " MACHINE1 " service on the system bus");
        log_notice("No machine registry (%s) reachable; machine %s is not registered.", MACHINE1, c->machine);
        return 0;
}

/* Scope properties in systemd's names and types: our machined applies them with its cgroupfs
 * backend, systemd-machined passes them on to systemd. */
static int append_scope_properties(sd_bus_message *m, const SpawnConfig *c) {
        const CGroupLimits *l = &c->limits;
        _cleanup_free_ char *description = strjoin("Container ", c->machine);
        int r;

        if (!description)
                return -ENOMEM;
        r = sd_bus_message_open_container(m, 'a', "(sv)");
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "(sv)(sv)", "Description", "s", description, "Delegate", "b", 1);
        if (r >= 0 && c->slice)
                r = sd_bus_message_append(m, "(sv)", "Slice", "s", c->slice);
        if (r >= 0 && l->memory_max != UINT64_MAX)
                r = sd_bus_message_append(m, "(sv)", "MemoryMax", "t", l->memory_max == CGROUP_LIMIT_MAX ? UINT64_MAX : l->memory_max);
        if (r >= 0 && l->tasks_max != UINT64_MAX)
                r = sd_bus_message_append(m, "(sv)", "TasksMax", "t", l->tasks_max == CGROUP_LIMIT_MAX ? UINT64_MAX : l->tasks_max);
        if (r >= 0 && l->cpu_quota_per_sec_usec != UINT64_MAX)
                r = sd_bus_message_append(m, "(sv)", "CPUQuotaPerSecUSec", "t", l->cpu_quota_per_sec_usec);
        if (r >= 0 && l->cpu_weight != UINT64_MAX)
                r = sd_bus_message_append(m, "(sv)", "CPUWeight", "t", l->cpu_weight);
        if (r >= 0 && l->io_weight != UINT64_MAX)
                r = sd_bus_message_append(m, "(sv)", "IOWeight", "t", l->io_weight);
        if (r < 0)
                return r;
        return sd_bus_message_close_container(m);
}

int register_machine(Registration *reg, const SpawnConfig *c, pid_t leader) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *m = NULL, *reply = NULL;
        int r;

        r = sd_bus_message_new_method_call(reg->bus, &m, MACHINE1, MACHINE1_PATH, MACHINE1_MANAGER,
                                           c->keep_unit ? "RegisterMachineWithNetwork" : "CreateMachineWithNetwork");
        if (r < 0)
                goto fail;
        r = sd_bus_message_append(m, "s", c->machine);
        if (r >= 0)
                r = sd_bus_message_append_array(m, 'y', c->uuid.bytes, sizeof(c->uuid.bytes));
        if (r >= 0)
                r = sd_bus_message_append(m, "ssus", "berth", "container", (uint32_t) leader, c->directory);
        if (r >= 0)
                r = sd_bus_message_append(m, "ai", 0);
        if (r >= 0 && !c->keep_unit)
                r = append_scope_properties(m, c);
        if (r < 0)
                goto fail;

        r = sd_bus_call(reg->bus, m, REGISTER_TIMEOUT_USEC, &error, &reply);
        sd_bus_message_unref(m);
        sd_bus_message_unref(reply);
        if (r < 0) {
                if (sd_bus_error_has_name(&error, MACHINE1 ".MachineExists"))
                        return log_error_errno(EEXIST, "Machine %s is already running (registered with " MACHINE1 ").", c->machine);
                return log_error_errno(r, "Failed to register machine %s: %s", c->machine, error.message ?: strerror(-r));
        }
        reg->registered = true;
        return 0;

fail:
        sd_bus_message_unref(m);
        return log_error_errno(r, "Failed to build the registration request: %m");
}

void register_finish(Registration *reg, const SpawnConfig *c) {
        if (reg->registered) {
                /* NoSuchMachine is the normal answer: the registry saw the leader die first. */
                (void) sd_bus_call_method(reg->bus, MACHINE1, MACHINE1_PATH, MACHINE1_MANAGER,
                                          "UnregisterMachine", NULL, NULL, "s", c->machine);
                reg->registered = false;
        }
        reg->bus = sd_bus_flush_close_unref(reg->bus);
}
