/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

/* systemd's jobs we wait for: the transient scope of a machine (cgroup-systemd.c) and the start and
 * stop of spawn@NAME.service (supervisor-unit.c). A call such as StartUnit() answers with the
 * path of a job, and the JobRemoved signal later says how the job ended. The two may arrive in
 * either order: systemd can finish a quick job and emit JobRemoved before its method reply has
 * reached us. So while any call is waiting for its reply, JobRemoved signals that match no known
 * job are remembered (a bounded number), and a reply naming one of them completes at once.
 * systemd merges equal requests (two StopUnit() of one unit) into one job, so one JobRemoved
 * completes every call that was told its path.
 *
 * This file is the ordering logic only, with no bus: systemd-job.c feeds it the replies and
 * signals, and tests/unit/test-machined-core.c feeds it events in both orders. */

typedef struct JobTracker JobTracker;
typedef struct TrackedJob TrackedJob;

typedef struct JobOutcome {
        const char *result;        /* "done", "failed", "canceled", ...; NULL if the call itself failed */
        int error;                 /* the failed call's -errno, else 0 */
        const char *error_name;    /* the failed call's D-Bus error name, if it had one */
        const char *error_message;
} JobOutcome;

/* Called once; j is freed when it returns, so drop every pointer to it first. */
typedef void (*JobDoneFn)(TrackedJob *j, const JobOutcome *outcome, void *userdata);

#define JOB_TRACKER_REMEMBER_MAX 16U

JobTracker *job_tracker_new(void);
/* Forgets every job without calling done. */
JobTracker *job_tracker_free(JobTracker *t);

/* A job-creating call is about to be sent: the handle for its outcome. */
int job_tracker_add(JobTracker *t, JobDoneFn done, void *userdata, TrackedJob **ret);
/* The call's reply named its job. 1 if that job had already ended (done was called, j is gone). */
int tracked_job_reply(TrackedJob *j, const char *job_path);
/* The call failed: done is called with the error, j is gone. */
void tracked_job_reply_error(TrackedJob *j, int error, const char *error_name, const char *error_message);
/* JobRemoved: 1 if it completed one of ours. */
int job_tracker_removed(JobTracker *t, const char *job_path, const char *result);

/* Forgets j without calling done (its owner went away). NULL-safe. */
TrackedJob *tracked_job_free(TrackedJob *j);
/* NULL until the reply came. */
const char *tracked_job_path(const TrackedJob *j);
/* The pending call, released with j: systemd-job.c keeps its sd_bus_slot here. */
void tracked_job_set_call(TrackedJob *j, void *call, void *(*release)(void *call));
void *tracked_job_get_call(const TrackedJob *j);

size_t job_tracker_n_jobs(const JobTracker *t);
size_t job_tracker_n_remembered(const JobTracker *t);
