/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "job-tracker.h"
#include "list.h"
#include "macro.h"

struct TrackedJob {
        JobTracker *tracker;
        char *path;            /* NULL while the call waits for its reply */
        JobDoneFn done;
        void *userdata;
        void *call;
        void *(*call_release)(void *call);
        LIST_FIELDS(TrackedJob, jobs);
};

typedef struct RemovedJob {
        char *path;
        char *result;
} RemovedJob;

struct JobTracker {
        TrackedJob *jobs;
        size_t n_jobs;
        size_t n_waiting;      /* jobs whose reply has not come yet */
        /* JobRemoved signals that matched nothing while some reply was outstanding: a ring. */
        RemovedJob removed[JOB_TRACKER_REMEMBER_MAX];
        size_t n_removed, removed_next;
};

JobTracker *job_tracker_new(void) {
        return calloc(1, sizeof(JobTracker));
}

static void removed_forget_all(JobTracker *t) {
        for (size_t i = 0; i < ELEMENTSOF(t->removed); i++) {
                free(t->removed[i].path);
                free(t->removed[i].result);
                t->removed[i] = (RemovedJob) {};
        }
        t->n_removed = t->removed_next = 0;
}

JobTracker *job_tracker_free(JobTracker *t) {
        if (!t)
                return NULL;
        while (t->jobs)
                tracked_job_free(t->jobs);
        removed_forget_all(t);
        free(t);
        return NULL;
}

int job_tracker_add(JobTracker *t, JobDoneFn done, void *userdata, TrackedJob **ret) {
        TrackedJob *j = calloc(1, sizeof(TrackedJob));
        if (!j)
                return -ENOMEM;
        *j = (TrackedJob) { .tracker = t, .done = done, .userdata = userdata };
        LIST_PREPEND(jobs, t->jobs, j);
        t->n_jobs++;
        t->n_waiting++;
        *ret = j;
        return 0;
}

static void release_call(TrackedJob *j) {
        if (j->call && j->call_release)
                j->call_release(j->call);
        j->call = NULL;
}

/* Once no reply is outstanding, no remembered signal can belong to a job of ours any more. */
static void waiting_dec(JobTracker *t) {
        if (t->n_waiting > 0 && --t->n_waiting == 0)
                removed_forget_all(t);
}

TrackedJob *tracked_job_free(TrackedJob *j) {
        if (!j)
                return NULL;
        JobTracker *t = j->tracker;
        release_call(j);
        LIST_REMOVE(jobs, t->jobs, j);
        t->n_jobs--;
        if (!j->path)
                waiting_dec(t);
        free(j->path);
        free(j);
        return NULL;
}

static void tracked_job_finish(TrackedJob *j, const JobOutcome *o) {
        JobDoneFn done = j->done;
        void *userdata = j->userdata;

        /* Unlinked before the callback: it may well free its owner, and the owner us. */
        j->done = NULL;
        release_call(j);
        done(j, o, userdata);
        tracked_job_free(j);
}

static RemovedJob *removed_find(JobTracker *t, const char *path) {
        for (size_t i = 0; i < ELEMENTSOF(t->removed); i++)
                if (t->removed[i].path && streq(t->removed[i].path, path))
                        return t->removed + i;
        return NULL;
}

int tracked_job_reply(TrackedJob *j, const char *job_path) {
        JobTracker *t = j->tracker;

        if (j->path)
                return 0;
        j->path = strdup(job_path);
        if (!j->path) {
                tracked_job_reply_error(j, -ENOMEM, NULL, "Out of memory");
                return 1;
        }
        /* Left in the memory: systemd merges equal requests into one job, so another call may
         * still be told the same path. */
        RemovedJob *gone = removed_find(t, job_path);
        _cleanup_free_ char *result = gone ? strdup(gone->result) : NULL;
        waiting_dec(t);
        if (gone) {
                tracked_job_finish(j, &(JobOutcome) { .result = result ?: "unknown" });
                return 1;
        }
        return 0;
}

void tracked_job_reply_error(TrackedJob *j, int error, const char *error_name, const char *error_message) {
        tracked_job_finish(j, &(JobOutcome) { .error = error < 0 ? error : -EIO, .error_name = error_name,
                                              .error_message = error_message });
}

int job_tracker_removed(JobTracker *t, const char *job_path, const char *result) {
        TrackedJob *j;
        int found = 0;

        /* Every job of that path: systemd merges equal requests (two StopUnit() of one unit) into
         * one job. Searched again after each: done() may free other jobs. */
        for (bool again = true; again;) {
                again = false;
                LIST_FOREACH(jobs, j, t->jobs)
                        if (j->path && streq(j->path, job_path)) {
                                tracked_job_finish(j, &(JobOutcome) { .result = result });
                                found = again = true;
                                break;
                        }
        }
        if (found)
                return 1;
        if (t->n_waiting == 0)
                return 0;
        /* Perhaps the job of a call whose reply is still on its way. */
        RemovedJob *slot = t->removed + t->removed_next;
        t->removed_next = (t->removed_next + 1) % ELEMENTSOF(t->removed);
        if (slot->path)
                t->n_removed--;
        free(slot->path);
        free(slot->result);
        slot->path = strdup(job_path);
        slot->result = strdup(result);
        if (!slot->path || !slot->result) {
                free(slot->path);
                free(slot->result);
                *slot = (RemovedJob) {};
                return 0;
        }
        t->n_removed++;
        return 0;
}

const char *tracked_job_path(const TrackedJob *j) {
        return j ? j->path : NULL;
}

void tracked_job_set_call(TrackedJob *j, void *call, void *(*release)(void *call)) {
        release_call(j);
        j->call = call;
        j->call_release = release;
}

void *tracked_job_get_call(const TrackedJob *j) {
        return j->call;
}

size_t job_tracker_n_jobs(const JobTracker *t) {
        return t->n_jobs;
}

size_t job_tracker_n_remembered(const JobTracker *t) {
        return t->n_removed;
}
