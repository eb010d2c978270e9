/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/resource.h>

#include "spawn-caps.h"
#include "spawn-devices.h"
#include "spawn-seccomp.h"

/* What the command line says about the container's privileges (issue 10): the options
 * systemd-nspawn has for them, parsed by isolation_parse_option(). */
typedef struct IsolationOptions {
        SyscallFilter syscall_filter;     /* --system-call-filter= */
        CapabilityOptions caps;           /* --capability=, --drop-capability=, --ambient-capability= */
        bool no_new_privileges;           /* --no-new-privileges= */
        struct rlimit rlimits[RLIM_NLIMITS];
        uint32_t rlimits_set;             /* bit per RLIMIT_* given with --rlimit= */
        bool oom_score_adjust_set;
        int oom_score_adjust;             /* --oom-score-adjust= */
        bool cpu_affinity_set;
        cpu_set_t cpu_affinity;           /* --cpu-affinity= */
        unsigned long personality;        /* --personality=; PERSONALITY_UNSET */
        DevicePolicy device_allow;        /* --property=DeviceAllow= */
} IsolationOptions;

#define PERSONALITY_UNSET 0xffffffffUL

void isolation_options_init(IsolationOptions *o);
void isolation_options_done(IsolationOptions *o);

/* getopt ids of the options; the rows of spawn's option table (spawn-options.c) with these ids
 * are parsed here. */
enum {
        ARG_SYSTEM_CALL_FILTER = 0x300,
        ARG_NO_NEW_PRIVILEGES,
        ARG_CAPABILITY,
        ARG_DROP_CAPABILITY,
        ARG_AMBIENT_CAPABILITY,
        ARG_RLIMIT,
        ARG_OOM_SCORE_ADJUST,
        ARG_CPU_AFFINITY,
        ARG_PERSONALITY,
};

/* Parses one of the options with the ids above. Returns 1 when parsed, 0 when spawn should exit
 * successfully (`help` lists), < 0 on error (logged: one line). */
int isolation_parse_option(IsolationOptions *o, int id, const char *arg);
/* "DeviceAllow=..." of --property=; -EOPNOTSUPP for any other property. Logs. */
int isolation_parse_property(IsolationOptions *o, const char *assignment);

/* The parsers, for the unit tests. */
int rlimit_parse(const char *assignment, int *ret_resource, struct rlimit *ret);
int cpu_set_parse(const char *s, cpu_set_t *ret);
int personality_parse(const char *s, unsigned long *ret);

/* Checks the combination (ambient within the bounding set). Logs. */
int isolation_options_verify(const IsolationOptions *o, bool private_network);

/* In the container's last phase, as root, before the switch to the payload's user: rlimits,
 * OOM score, CPU affinity, personality. Logs. */
int isolation_apply_process_limits(const IsolationOptions *o);
/* A fresh anonymous session keyring: the caller's keys stay out of the container. */
int keyring_join_fresh_session(void);
