/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>
#include <systemd/sd-bus.h>

#include "job-tracker.h"
#include "manager.h"

/* The bus side of job-tracker.c: one Subscribe() and one JobRemoved match for all of machined,
 * used by the systemd cgroup backend and the unit supervisor alike. Exists on systemd hosts only. */

#define SYSTEMD_DEST "org.freedesktop.systemd1"
#define SYSTEMD_PATH "/org/freedesktop/systemd1"
#define SYSTEMD_MANAGER_IFACE "org.freedesktop.systemd1.Manager"

struct SystemdJobs {
        Manager *manager;
        JobTracker *tracker;
        sd_bus_slot *job_removed;
};

/* Sets up m->systemd_jobs. */
int systemd_jobs_setup(Manager *m);
SystemdJobs *systemd_jobs_free(SystemdJobs *s);

/* Sends call, a method answering with a job path (StartUnit, StopUnit, StartTransientUnit), and
 * calls done once the job is over or the call failed. *ret is valid until then. */
int systemd_jobs_call(SystemdJobs *s, sd_bus_message *call, uint64_t timeout_usec, JobDoneFn done, void *userdata,
                      TrackedJob **ret);
