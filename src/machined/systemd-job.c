/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>

#include "log.h"
#include "macro.h"
#include "systemd-job.h"

static int on_job_removed(sd_bus_message *message, void *userdata, sd_bus_error *ret_error) {
        SystemdJobs *s = userdata;
        const char *job, *unit, *result;
        uint32_t id;

        if (sd_bus_message_read(message, "uoss", &id, &job, &unit, &result) < 0)
                return 0;
        if (job_tracker_removed(s->tracker, job, result) > 0)
                log_debug("Job %s (%s) finished: %s.", job, unit, result);
        return 0;
}

int systemd_jobs_setup(Manager *m) {
        SystemdJobs *s = calloc(1, sizeof(SystemdJobs));
        int r;

        if (!s)
                return log_oom();
        *s = (SystemdJobs) { .manager = m, .tracker = job_tracker_new() };
        m->systemd_jobs = s;
        if (!s->tracker)
                return log_oom();
        r = sd_bus_match_signal(m->bus, &s->job_removed, SYSTEMD_DEST, SYSTEMD_PATH, SYSTEMD_MANAGER_IFACE, "JobRemoved",
                                on_job_removed, s);
        if (r < 0)
                return log_error_errno(r, "Failed to watch systemd's JobRemoved signal: %m");
        /* Without Subscribe() systemd does not emit job signals to us. */
        r = sd_bus_call_method_async(m->bus, NULL, SYSTEMD_DEST, SYSTEMD_PATH, SYSTEMD_MANAGER_IFACE, "Subscribe", NULL,
                                     NULL, NULL);
        if (r < 0)
                return log_error_errno(r, "Failed to subscribe to systemd: %m");
        return 0;
}

SystemdJobs *systemd_jobs_free(SystemdJobs *s) {
        if (!s)
                return NULL;
        job_tracker_free(s->tracker);
        sd_bus_slot_unref(s->job_removed);
        free(s);
        return NULL;
}

static void *slot_release(void *slot) {
        return sd_bus_slot_unref(slot);
}

static int on_call_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        TrackedJob *j = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        const char *job;

        if (e) {
                tracked_job_reply_error(j, -sd_bus_error_get_errno(e) ?: -EIO, e->name, e->message);
                return 0;
        }
        /* The call is answered: the slot goes, the job stays tracked. */
        tracked_job_set_call(j, NULL, NULL);
        if (sd_bus_message_read(reply, "o", &job) < 0) {
                tracked_job_reply_error(j, -EBADMSG, NULL, "Unexpected reply from systemd");
                return 0;
        }
        if (tracked_job_reply(j, job) == 0)
                log_debug("Waiting for job %s.", job);
        return 0;
}

int systemd_jobs_call(SystemdJobs *s, sd_bus_message *call, uint64_t timeout_usec, JobDoneFn done, void *userdata,
                      TrackedJob **ret) {
        sd_bus_slot *slot = NULL;
        TrackedJob *j;

        int r = job_tracker_add(s->tracker, done, userdata, &j);
        if (r < 0)
                return r;
        r = sd_bus_call_async(s->manager->bus, &slot, call, on_call_reply, j, timeout_usec);
        if (r < 0) {
                tracked_job_free(j);
                return r;
        }
        tracked_job_set_call(j, slot, slot_release);
        *ret = j;
        return 0;
}
