/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* io.berth.Machined1 on hosts whose PID 1 is systemd: systemd supervises spawn through the
 * template unit spawn@.service (units/), exactly as systemd's machinectl drives
 * systemd-nspawn@.service. Start and stop wait for their job; enable and disable edit the unit's
 * [Install] symlinks and reload systemd. Nothing here blocks the event loop. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "machine.h"
#include "macro.h"
#include "strv.h"
#include "supervisor.h"
#include "systemd-job.h"
#include "unit-name.h"

/* Enabling reloads systemd, which takes a while on a big system. */
#define RELOAD_TIMEOUT_USEC (90 * 1000000ULL)

typedef enum UnitAction {
        UNIT_START,
        UNIT_STOP,
        UNIT_ENABLE,
        UNIT_DISABLE,
        _UNIT_ACTION_MAX,
        _UNIT_ACTION_INVALID = -22,
} UnitAction;

static const char *const unit_action_table[_UNIT_ACTION_MAX] = {
        [UNIT_START] = "start",
        [UNIT_STOP] = "stop",
        [UNIT_ENABLE] = "enable",
        [UNIT_DISABLE] = "disable",
};

struct UnitJob {
        Supervisor *supervisor;
        UnitAction action;
        char *unit;
        PendingReply reply;       /* the io.berth.Machined1 call to answer */
        TrackedJob *job;          /* start/stop: systemd's job (systemd-job.c) */
        sd_bus_slot *slot;        /* enable/disable: the pending call to systemd */
        LIST_FIELDS(UnitJob, jobs);
};

static UnitJob *unit_job_free(UnitJob *j) {
        if (!j)
                return NULL;
        LIST_REMOVE(jobs, j->supervisor->jobs, j);
        tracked_job_free(j->job);
        sd_bus_slot_unref(j->slot);
        pending_reply_done(&j->reply);
        free(j->unit);
        free(j);
        return NULL;
}

/* Answers the call (f NULL: success) and forgets the job. */
static void unit_job_finish(UnitJob *j, const Failure *f) {
        if (f)
                log_warning("Failed to %s %s: %s", unit_action_table[j->action], j->unit, strna(f->message));
        else
                log_info("%s %s.", j->action == UNIT_START ? "Started" : j->action == UNIT_STOP ? "Stopped" :
                                   j->action == UNIT_ENABLE ? "Enabled" : "Disabled", j->unit);
        pending_reply_complete(&j->reply, f, NULL);
        unit_job_free(j);
}

static void unit_job_result(UnitJob *j, const char *result) {
        _cleanup_(failure_done) Failure f = FAILURE_NULL;

        if (!streq(result, "done"))
                failure_set(&f, -EIO,
                            "Job to %s %s finished with result '%s'. See 'systemctl status %s' and 'journalctl -u %s'.",
                            unit_action_table[j->action], j->unit, result, j->unit, j->unit);
        unit_job_finish(j, failure_is_set(&f) ? &f : NULL);
}

/* A call to systemd failed: its error name is passed on, with what we were doing in the message. */
static void unit_job_fail(UnitJob *j, const char *error_name, const char *error_message, const char *what) {
        _cleanup_(failure_done) Failure f = FAILURE_NULL;

        failure_set(&f, -EIO, "Failed to %s %s (%s): %s", unit_action_table[j->action], j->unit, what,
                    error_message ?: "unexpected reply from systemd");
        f.dbus_name = error_name;
        unit_job_finish(j, &f);
}

static void on_job_done(TrackedJob *tj, const JobOutcome *o, void *userdata) {
        UnitJob *j = userdata;

        j->job = NULL;
        if (o->result)
                unit_job_result(j, o->result);
        else
                unit_job_fail(j, o->error_name, o->error_message, j->action == UNIT_START ? "StartUnit" : "StopUnit");
}

static int on_reload_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        UnitJob *j = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        j->slot = sd_bus_slot_unref(j->slot);
        if (e)
                unit_job_fail(j, e->name, e->message, "Reload");
        else
                unit_job_finish(j, NULL);
        return 0;
}

/* After EnableUnitFiles()/DisableUnitFiles(): systemd only sees the new symlinks after a reload,
 * as systemctl enable does it. */
static int on_unit_files_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        UnitJob *j = userdata;
        Supervisor *s = j->supervisor;
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        j->slot = sd_bus_slot_unref(j->slot);
        if (e) {
                unit_job_fail(j, e->name, e->message, j->action == UNIT_ENABLE ? "EnableUnitFiles" : "DisableUnitFiles");
                return 0;
        }
        int r = sd_bus_call_method_async(s->manager->bus, &j->slot, SYSTEMD_DEST, SYSTEMD_PATH, SYSTEMD_MANAGER_IFACE,
                                         "Reload", on_reload_reply, j, NULL);
        if (r < 0) {
                _cleanup_(failure_done) Failure f = FAILURE_NULL;
                failure_set(&f, r, "Failed to ask systemd to reload: %m");
                unit_job_finish(j, &f);
                return 0;
        }
        (void) sd_bus_slot_set_description(j->slot, "unit-reload");
        return 0;
}

static int unit_job_new(Supervisor *s, UnitAction action, const char *name, UnitJob **ret) {
        UnitJob *j = calloc(1, sizeof(UnitJob));
        if (!j)
                return -ENOMEM;
        *j = (UnitJob) { .supervisor = s, .action = action };
        j->unit = strjoin("spawn@", name, ".service");
        if (!j->unit) {
                free(j);
                return -ENOMEM;
        }
        if (!unit_name_is_valid(j->unit)) {
                free(j->unit);
                free(j);
                return -EINVAL;
        }
        LIST_PREPEND(jobs, s->jobs, j);
        *ret = j;
        return 0;
}

static int unit_call_send(Supervisor *s, UnitJob *j) {
        sd_bus *bus = s->manager->bus;
        sd_bus_message *m = NULL;
        bool start_stop = j->action == UNIT_START || j->action == UNIT_STOP;
        static const char *const methods[_UNIT_ACTION_MAX] = {
                [UNIT_START] = "StartUnit",
                [UNIT_STOP] = "StopUnit",
                [UNIT_ENABLE] = "EnableUnitFiles",
                [UNIT_DISABLE] = "DisableUnitFiles",
        };

        int r = sd_bus_message_new_method_call(bus, &m, SYSTEMD_DEST, SYSTEMD_PATH, SYSTEMD_MANAGER_IFACE, methods[j->action]);
        if (r >= 0 && start_stop)
                r = sd_bus_message_append(m, "ss", j->unit, "replace");
        else if (r >= 0) {
                r = sd_bus_message_append_strv(m, (char *[]) { j->unit, NULL });
                /* runtime=false: in /etc, persistent; force=true: replace conflicting symlinks. */
                if (r >= 0)
                        r = j->action == UNIT_ENABLE ? sd_bus_message_append(m, "bb", 0, 1) : sd_bus_message_append(m, "b", 0);
        }
        if (r >= 0 && start_stop)
                r = s->manager->systemd_jobs ? systemd_jobs_call(s->manager->systemd_jobs, m, 0, on_job_done, j, &j->job)
                                             : -ENOTCONN;
        else if (r >= 0)
                r = sd_bus_call_async(bus, &j->slot, m, on_unit_files_reply, j, RELOAD_TIMEOUT_USEC);
        sd_bus_message_unref(m);
        return r;
}

static int unit_call(Supervisor *s, UnitAction action, const char *name, PendingReply *reply, Failure *f) {
        UnitJob *j;

        int r = unit_job_new(s, action, name, &j);
        if (r < 0)
                return failure_set(f, r, "Cannot use unit spawn@%s.service: %m", name);
        r = unit_call_send(s, j);
        if (r < 0) {
                unit_job_free(j);
                return failure_set(f, r, "Failed to ask systemd to %s spawn@%s.service: %m", unit_action_table[action], name);
        }
        j->reply = *reply;
        *reply = (PendingReply) {};
        log_debug("Asked systemd to %s %s.", unit_action_table[action], j->unit);
        return 1;
}

int unit_start_image(Supervisor *s, const char *name, PendingReply *reply, Failure *f) {
        Machine *old = manager_get_machine(s->manager, name);
        if (old && !machine_release_if_leader_gone(old))
                return failure_set(f, -EEXIST, "Machine '%s' is already running.", name);
        return unit_call(s, UNIT_START, name, reply, f);
}

int unit_stop_image(Supervisor *s, const char *name, PendingReply *reply, Failure *f) {
        /* As without systemd: stopping what is not running is an error, not a no-op. */
        if (!manager_get_machine(s->manager, name))
                return failure_set(f, -ESRCH, "Machine '%s' is not running.", name);
        return unit_call(s, UNIT_STOP, name, reply, f);
}

int unit_enable_image(Supervisor *s, const char *name, bool enable, PendingReply *reply, Failure *f) {
        return unit_call(s, enable ? UNIT_ENABLE : UNIT_DISABLE, name, reply, f);
}

void unit_supervisor_done(Supervisor *s) {
        Failure f = { .error = -ECANCELED, .message = (char *) "machined is shutting down; systemd carries on with the job." };

        while (s->jobs)
                unit_job_finish(s->jobs, &f);
}
