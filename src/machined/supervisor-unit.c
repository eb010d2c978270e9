/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* io.berth.Machined1 on hosts whose PID 1 is systemd: systemd supervises spawn through the
 * template unit spawn@.service (units/), exactly as systemd's machinectl drives
 * systemd-nspawn@.service. Start and stop wait for their job; enable and disable edit the unit's
 * [Install] symlinks and reload systemd. Nothing here blocks the event loop. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus-util.h"
#include "log.h"
#include "machine.h"
#include "macro.h"
#include "strv.h"
#include "supervisor.h"
#include "unit-name.h"

#define SD_DEST "org.freedesktop.systemd1"
#define SD_PATH "/org/freedesktop/systemd1"
#define SD_IFACE "org.freedesktop.systemd1.Manager"
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
        sd_bus_message *message;  /* the io.berth.Machined1 call to answer */
        sd_bus_slot *slot;        /* the pending call to systemd */
        char *job;                /* start/stop: the job object we wait for */
        LIST_FIELDS(UnitJob, jobs);
};

static UnitJob *unit_job_free(UnitJob *j) {
        if (!j)
                return NULL;
        LIST_REMOVE(jobs, j->supervisor->jobs, j);
        sd_bus_slot_unref(j->slot);
        sd_bus_message_unref(j->message);
        free(j->unit);
        free(j->job);
        free(j);
        return NULL;
}

/* Answers the call (error NULL: success) and forgets the job. */
static void unit_job_finish(UnitJob *j, const sd_bus_error *error) {
        int r = error && sd_bus_error_is_set(error) ? sd_bus_reply_method_error(j->message, error)
                                                    : sd_bus_reply_method_return(j->message, NULL);
        if (r < 0)
                log_debug_errno(r, "Failed to answer the %s request for %s: %m", unit_action_table[j->action], j->unit);
        if (error && sd_bus_error_is_set(error))
                log_warning("Failed to %s %s: %s", unit_action_table[j->action], j->unit, error->message);
        else
                log_info("%s %s.", j->action == UNIT_START ? "Started" : j->action == UNIT_STOP ? "Stopped" :
                                   j->action == UNIT_ENABLE ? "Enabled" : "Disabled", j->unit);
        unit_job_free(j);
}

static void unit_job_result(UnitJob *j, const char *result) {
        sd_bus_error e = SD_BUS_ERROR_NULL;

        if (!streq(result, "done"))
                sd_bus_error_setf(&e, SD_BUS_ERROR_FAILED,
                                  "Job to %s %s finished with result '%s'. See 'systemctl status %s' and "
                                  "'journalctl -u %s'.", unit_action_table[j->action], j->unit, result, j->unit, j->unit);
        unit_job_finish(j, &e);
        sd_bus_error_free(&e);
}

static void unit_job_fail(UnitJob *j, const sd_bus_error *reply_error, const char *what) {
        sd_bus_error e = SD_BUS_ERROR_NULL;
        sd_bus_error_setf(&e, reply_error && reply_error->name ? reply_error->name : SD_BUS_ERROR_FAILED,
                          "Failed to %s %s (%s): %s", unit_action_table[j->action], j->unit, what,
                          reply_error && reply_error->message ? reply_error->message : "unexpected reply from systemd");
        unit_job_finish(j, &e);
        sd_bus_error_free(&e);
}

static int on_job_removed(sd_bus_message *message, void *userdata, sd_bus_error *ret_error) {
        Supervisor *s = userdata;
        const char *job, *unit, *result;
        uint32_t id;
        UnitJob *j;

        if (sd_bus_message_read(message, "uoss", &id, &job, &unit, &result) < 0)
                return 0;
        if (!startswith(unit, "spawn@"))
                return 0;
        LIST_FOREACH(jobs, j, s->jobs)
                if (j->job && streq(j->job, job)) {
                        unit_job_result(j, result);
                        return 0;
                }
        /* Perhaps the job of a StartUnit() whose reply we have not read yet. */
        unsigned i = s->removed_next++ % ELEMENTSOF(s->removed_jobs);
        free(s->removed_jobs[i]);
        free(s->removed_results[i]);
        s->removed_jobs[i] = strdup(job);
        s->removed_results[i] = strdup(result);
        return 0;
}

static int on_unit_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        UnitJob *j = userdata;
        Supervisor *s = j->supervisor;
        const char *job;

        j->slot = sd_bus_slot_unref(j->slot);
        if (sd_bus_message_is_method_error(reply, NULL)) {
                unit_job_fail(j, sd_bus_message_get_error(reply), j->action == UNIT_START ? "StartUnit" : "StopUnit");
                return 0;
        }
        if (sd_bus_message_read(reply, "o", &job) < 0 || !(j->job = strdup(job))) {
                unit_job_fail(j, NULL, "reading the job");
                return 0;
        }
        for (size_t i = 0; i < ELEMENTSOF(s->removed_jobs); i++)
                if (s->removed_jobs[i] && streq(s->removed_jobs[i], job)) {
                        _cleanup_free_ char *result = TAKE_PTR(s->removed_results[i]);
                        free(s->removed_jobs[i]);
                        s->removed_jobs[i] = NULL;
                        unit_job_result(j, result ?: "unknown");
                        return 0;
                }
        log_debug("Waiting for job %s (%s %s).", job, unit_action_table[j->action], j->unit);
        return 0;
}

static int on_reload_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        UnitJob *j = userdata;

        j->slot = sd_bus_slot_unref(j->slot);
        if (sd_bus_message_is_method_error(reply, NULL))
                unit_job_fail(j, sd_bus_message_get_error(reply), "Reload");
        else
                unit_job_finish(j, NULL);
        return 0;
}

/* After EnableUnitFiles()/DisableUnitFiles(): systemd only sees the new symlinks after a reload,
 * as systemctl enable does it. */
static int on_unit_files_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        UnitJob *j = userdata;
        Supervisor *s = j->supervisor;

        j->slot = sd_bus_slot_unref(j->slot);
        if (sd_bus_message_is_method_error(reply, NULL)) {
                unit_job_fail(j, sd_bus_message_get_error(reply), j->action == UNIT_ENABLE ? "EnableUnitFiles" : "DisableUnitFiles");
                return 0;
        }
        int r = sd_bus_call_method_async(s->manager->bus, &j->slot, SD_DEST, SD_PATH, SD_IFACE, "Reload", on_reload_reply, j, NULL);
        if (r < 0) {
                sd_bus_error e = SD_BUS_ERROR_NULL;
                sd_bus_error_set_errnof(&e, r, "Failed to ask systemd to reload: %m");
                unit_job_finish(j, &e);
                sd_bus_error_free(&e);
                return 0;
        }
        (void) sd_bus_slot_set_description(j->slot, "unit-reload");
        return 0;
}

static int unit_job_new(Supervisor *s, UnitAction action, const char *name, sd_bus_message *message, UnitJob **ret) {
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
        j->message = sd_bus_message_ref(message);
        LIST_PREPEND(jobs, s->jobs, j);
        *ret = j;
        return 0;
}

static int unit_call(Supervisor *s, UnitAction action, const char *name, sd_bus_message *message, sd_bus_error *error) {
        sd_bus_message *m = NULL;
        UnitJob *j;
        int r;

        r = unit_job_new(s, action, name, message, &j);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Cannot use unit spawn@%s.service: %m", name);
        switch (action) {
        case UNIT_START:
        case UNIT_STOP:
                r = sd_bus_message_new_method_call(s->manager->bus, &m, SD_DEST, SD_PATH, SD_IFACE,
                                                   action == UNIT_START ? "StartUnit" : "StopUnit");
                if (r >= 0)
                        r = sd_bus_message_append(m, "ss", j->unit, "replace");
                if (r >= 0)
                        r = sd_bus_call_async(s->manager->bus, &j->slot, m, on_unit_reply, j, 0);
                break;
        case UNIT_ENABLE:
        case UNIT_DISABLE:
                r = sd_bus_message_new_method_call(s->manager->bus, &m, SD_DEST, SD_PATH, SD_IFACE,
                                                   action == UNIT_ENABLE ? "EnableUnitFiles" : "DisableUnitFiles");
                if (r >= 0)
                        r = sd_bus_message_append_strv(m, (char *[]) { j->unit, NULL });
                /* runtime=false: in /etc, persistent; force=true: replace conflicting symlinks. */
                if (r >= 0)
                        r = action == UNIT_ENABLE ? sd_bus_message_append(m, "bb", 0, 1) : sd_bus_message_append(m, "b", 0);
                if (r >= 0)
                        r = sd_bus_call_async(s->manager->bus, &j->slot, m, on_unit_files_reply, j, RELOAD_TIMEOUT_USEC);
                break;
        default:
                r = -EINVAL;
        }
        sd_bus_message_unref(m);
        if (r < 0) {
                j->message = sd_bus_message_unref(j->message);
                unit_job_free(j);
                return sd_bus_error_set_errnof(error, r, "Failed to ask systemd to %s spawn@%s.service: %m",
                                               unit_action_table[action], name);
        }
        log_debug("Asked systemd to %s %s.", unit_action_table[action], j->unit);
        return 1;
}

int unit_start_image(Supervisor *s, const char *name, sd_bus_message *message, sd_bus_error *error) {
        Machine *old = manager_get_machine(s->manager, name);
        if (old && !machine_release_if_leader_gone(old))
                return sd_bus_error_setf(error, BUS_ERROR_MACHINE_EXISTS, "Machine '%s' is already running.", name);
        return unit_call(s, UNIT_START, name, message, error);
}

int unit_stop_image(Supervisor *s, const char *name, sd_bus_message *message, sd_bus_error *error) {
        /* As without systemd: stopping what is not running is an error, not a no-op. */
        if (!manager_get_machine(s->manager, name))
                return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_MACHINE, "Machine '%s' is not running.", name);
        return unit_call(s, UNIT_STOP, name, message, error);
}

int unit_enable_image(Supervisor *s, const char *name, bool enable, sd_bus_message *message, sd_bus_error *error) {
        return unit_call(s, enable ? UNIT_ENABLE : UNIT_DISABLE, name, message, error);
}

int unit_supervisor_init(Supervisor *s) {
        /* The systemd cgroup backend already called Subscribe(), without which there are no job signals. */
        int r = sd_bus_match_signal(s->manager->bus, &s->job_removed_slot, SD_DEST, SD_PATH, SD_IFACE, "JobRemoved",
                                    on_job_removed, s);
        if (r < 0)
                return log_error_errno(r, "Failed to watch systemd's JobRemoved signal: %m");
        return 0;
}

void unit_supervisor_done(Supervisor *s) {
        sd_bus_error e = SD_BUS_ERROR_NULL;

        sd_bus_error_setf(&e, SD_BUS_ERROR_FAILED, "machined is shutting down; systemd carries on with the job.");
        while (s->jobs)
                unit_job_finish(s->jobs, &e);
        sd_bus_error_free(&e);
        s->job_removed_slot = sd_bus_slot_unref(s->job_removed_slot);
        for (size_t i = 0; i < ELEMENTSOF(s->removed_jobs); i++) {
                free(s->removed_jobs[i]);
                free(s->removed_results[i]);
                s->removed_jobs[i] = s->removed_results[i] = NULL;
        }
}
