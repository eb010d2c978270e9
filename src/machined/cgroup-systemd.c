/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The systemd backend: where PID 1 is systemd, it owns the cgroup tree, so machines get transient
 * scope units from it (StartTransientUnit "machine-<name>.scope" in machine.slice, Delegate=yes),
 * exactly as systemd-machined does. The reply to CreateMachine waits for the start job. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroup-backend.h"
#include "fd-util.h"
#include "log.h"
#include "machine.h"
#include "macro.h"
#include "strv.h"
#include "systemd-job.h"
#include "unit-name.h"

#define SD_DEST SYSTEMD_DEST
#define SD_PATH SYSTEMD_PATH
#define SD_IFACE SYSTEMD_MANAGER_IFACE

int cgroup_systemd_available(Manager *m) {
        sd_bus_message *reply = NULL;
        int has = 0;

        if (access("/run/systemd/system", F_OK) < 0)
                return 0;
        int r = sd_bus_call_method(m->bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                   "NameHasOwner", NULL, &reply, "s", SD_DEST);
        if (r >= 0)
                r = sd_bus_message_read(reply, "b", &has);
        sd_bus_message_unref(reply);
        return r < 0 ? r : has;
}

static int sd_init(Manager *m) {
        return systemd_jobs_setup(m);
}

static void sd_done(Manager *m) {
        m->systemd_jobs = systemd_jobs_free(m->systemd_jobs);
}

static void on_scope_job_done(TrackedJob *j, const JobOutcome *o, void *userdata) {
        Machine *machine = userdata;
        char msg[512];

        machine->scope_job = NULL;
        if (o->result && streq(o->result, "done")) {
                machine_start_done(machine, 0, NULL);
                return;
        }
        if (o->result)
                snprintf(msg, sizeof(msg), "Failed to start scope unit %s: job result '%s'", strna(machine->unit), o->result);
        else
                snprintf(msg, sizeof(msg), "Failed to start scope unit %s: %s", strna(machine->unit),
                         strna(o->error_message));
        machine_start_done(machine, o->result ? -EIO : o->error, msg);
}

/* Copies the caller's scope properties (the a(sv) after req->skip in its message) verbatim: systemd
 * knows them all, and rejects what it does not know with a useful error. */
static int append_client_properties(sd_bus_message *m, const ScopeRequest *req) {
        const BusScopeProperties *p = req->bus_properties;
        int r;

        if (!p || !p->message)
                return 0;
        r = sd_bus_message_rewind(p->message, true);
        if (r < 0)
                return r;
        if (!isempty(p->skip)) {
                r = sd_bus_message_skip(p->message, p->skip);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_enter_container(p->message, 'a', "(sv)");
        if (r < 0)
                return r;
        /* all=true: everything up to the end of the current container, i.e. every (sv) entry
         * (all=false would copy just one). */
        r = sd_bus_message_copy(m, p->message, true);
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(p->message);
}

static int sd_pid_get_unit(Manager *m, pid_t pid, char **ret_unit, char **ret_cgroup, char **ret_subgroup) {
        char path[64];
        _cleanup_free_ char *content = NULL, *cg = NULL, *subgroup = NULL, *unit = NULL;

        snprintf(path, sizeof(path), "/proc/%i/cgroup", (int) pid);
        int r = read_file_at(AT_FDCWD, path, 64 * 1024, &content, NULL);
        if (r == -ENOENT)
                return -ESRCH;
        if (r < 0)
                return r;
        r = cg_parse_proc_cgroup(content, "", true, &cg);
        if (r < 0 || streq(cg, "/")) {
                free(cg);
                cg = NULL;
                r = cg_parse_proc_cgroup(content, "name=systemd", false, &cg);
        }
        if (r < 0)
                return r == -ENOENT ? -ENXIO : r;
        r = cg_path_get_unit(cg, &unit, &subgroup);
        if (r < 0)
                return r;
        if (ret_cgroup) {
                size_t l = strlen(cg) - strlen(subgroup);
                while (l > 1 && cg[l - 1] == '/')
                        l--;
                *ret_cgroup = strndup(cg, l);
                if (!*ret_cgroup)
                        return -ENOMEM;
        }
        *ret_unit = TAKE_PTR(unit);
        if (ret_subgroup)
                *ret_subgroup = TAKE_PTR(subgroup);
        return 0;
}

static int sd_start(Machine *machine, const ScopeRequest *req, Failure *f) {
        Manager *manager = machine->manager;
        sd_bus_message *m = NULL;
        _cleanup_free_ char *unit = NULL, *description = NULL;
        int r;

        if (!req->allocate) {
                r = sd_pid_get_unit(manager, machine->leader.pid, &machine->unit, &machine->cgroup, &machine->subgroup);
                if (r < 0)
                        return failure_set(f, r, "Failed to determine unit of process %i: %m", (int) machine->leader.pid);
                machine->cgroup_owned = false;
                return 1;
        }

        unit = unit_name_for_machine(machine->name);
        description = strjoin("Virtual Machine and Container: ", machine->name);
        if (!unit || !description)
                return failure_set(f, -ENOMEM, "Out of memory");
        r = sd_bus_message_new_method_call(manager->bus, &m, SD_DEST, SD_PATH, SD_IFACE, "StartTransientUnit");
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "ss", unit, "fail");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "(sv)");
        if (r >= 0)
                r = sd_bus_message_append(m, "(sv)(sv)(sv)(sv)(sv)", "Slice", "s", "machine.slice", "Description", "s",
                                          description, "Delegate", "b", 1, "CollectMode", "s", "inactive-or-failed",
                                          "AddRef", "b", 1);
        if (r >= 0)
                r = sd_bus_message_append(m, "(sv)", "PIDs", "au", 1, (uint32_t) machine->leader.pid);
        if (r >= 0)
                r = append_client_properties(m, req);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_message_append(m, "a(sa(sv))", 0);
        if (r >= 0)
                r = systemd_jobs_call(manager->systemd_jobs, m, 0, on_scope_job_done, machine, &machine->scope_job);
        sd_bus_message_unref(m);
        if (r < 0)
                return failure_set(f, r, "Failed to ask systemd for scope %s: %m", unit);

        machine->cgroup = strjoin("/machine.slice/", unit);
        machine->unit = TAKE_PTR(unit);
        machine->cgroup_owned = true;
        return 0;
}

static int unit_call(Manager *m, const char *method, const char *unit, const char *types, ...) {
        sd_bus_message *msg = NULL;
        va_list ap;
        int r = sd_bus_message_new_method_call(m->bus, &msg, SD_DEST, SD_PATH, SD_IFACE, method);
        if (r < 0)
                return r;
        va_start(ap, types);
        r = sd_bus_message_appendv(msg, types, ap);
        va_end(ap);
        if (r >= 0)
                r = sd_bus_call_async(m->bus, NULL, msg, NULL, NULL, 0);
        sd_bus_message_unref(msg);
        if (r < 0)
                log_warning_errno(r, "Failed to call %s for %s: %m", method, unit);
        return r;
}

static int sd_stop(Machine *machine) {
        if (!machine->unit)
                return pidref_kill(&machine->leader, SIGKILL);
        return unit_call(machine->manager, "StopUnit", machine->unit, "ss", machine->unit, "replace");
}

static int sd_kill_all(Machine *machine, int signo) {
        if (!machine->unit)
                return pidref_kill(&machine->leader, signo);
        return unit_call(machine->manager, "KillUnit", machine->unit, "ssi", machine->unit, "all", (int32_t) signo);
}

static void sd_release(Machine *machine, bool kill_rest) {
        if (kill_rest && machine->unit && machine->cgroup_owned)
                (void) unit_call(machine->manager, "StopUnit", machine->unit, "ss", machine->unit, "replace");
}

static int sd_adopt(Machine *machine) {
        return 0;
}

static void sd_discard(Manager *m, const char *unit, const char *cgroup, bool owned) {
        if (owned && unit && unit_name_is_valid(unit))
                (void) unit_call(m, "StopUnit", unit, "ss", unit, "replace");
}

const CGroupOps cgroup_ops_systemd = {
        .name = "systemd",
        .init = sd_init,
        .done = sd_done,
        .start = sd_start,
        .stop = sd_stop,
        .kill_all = sd_kill_all,
        .release = sd_release,
        .adopt = sd_adopt,
        .discard = sd_discard,
        .pid_get_unit = sd_pid_get_unit,
};
