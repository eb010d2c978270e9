/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <linux/keyctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fd-util.h"
#include "log.h"
#include "macro.h"
#include "parse-util.h"
#include "spawn-isolation.h"

void isolation_options_init(IsolationOptions *o) {
        *o = (IsolationOptions) { .personality = PERSONALITY_UNSET };
}

void isolation_options_done(IsolationOptions *o) {
        syscall_filter_done(&o->syscall_filter);
        device_policy_done(&o->device_allow);
        isolation_options_init(o);
}

static const char *const rlimit_names[RLIM_NLIMITS] = {
        [RLIMIT_CPU] = "CPU", [RLIMIT_FSIZE] = "FSIZE", [RLIMIT_DATA] = "DATA",
        [RLIMIT_STACK] = "STACK", [RLIMIT_CORE] = "CORE", [RLIMIT_RSS] = "RSS",
        [RLIMIT_NPROC] = "NPROC", [RLIMIT_NOFILE] = "NOFILE", [RLIMIT_MEMLOCK] = "MEMLOCK",
        [RLIMIT_AS] = "AS", [RLIMIT_LOCKS] = "LOCKS", [RLIMIT_SIGPENDING] = "SIGPENDING",
        [RLIMIT_MSGQUEUE] = "MSGQUEUE", [RLIMIT_NICE] = "NICE", [RLIMIT_RTPRIO] = "RTPRIO",
        [RLIMIT_RTTIME] = "RTTIME",
};

static int rlimit_value_parse(const char *s, rlim_t *ret) {
        uint64_t v;
        if (streq(s, "infinity")) {
                *ret = RLIM_INFINITY;
                return 0;
        }
        if (safe_atou64(s, &v) < 0 || v == UINT64_MAX)
                return -EINVAL;
        *ret = (rlim_t) v;
        return 0;
}

int rlimit_parse(const char *assignment, int *ret_resource, struct rlimit *ret) {
        const char *eq = strchr(assignment, '=');
        if (!eq)
                return -EINVAL;
        _cleanup_free_ char *name = strndup(assignment, (size_t) (eq - assignment));
        if (!name)
                return -ENOMEM;
        const char *n = strncasecmp(name, "RLIMIT_", 7) == 0 ? name + 7 : name;
        int resource = -1;
        for (int i = 0; i < RLIM_NLIMITS; i++)
                if (rlimit_names[i] && strcasecmp(rlimit_names[i], n) == 0)
                        resource = i;
        if (resource < 0)
                return -EINVAL;

        struct rlimit rl;
        const char *colon = strchr(eq + 1, ':');
        _cleanup_free_ char *soft = colon ? strndup(eq + 1, (size_t) (colon - eq - 1)) : strdup(eq + 1);
        if (!soft)
                return -ENOMEM;
        if (rlimit_value_parse(soft, &rl.rlim_cur) < 0 ||
            rlimit_value_parse(colon ? colon + 1 : soft, &rl.rlim_max) < 0)
                return -EINVAL;
        if (rl.rlim_cur != RLIM_INFINITY && (rl.rlim_max == RLIM_INFINITY ? false : rl.rlim_cur > rl.rlim_max))
                return -ERANGE;
        if (rl.rlim_cur == RLIM_INFINITY && rl.rlim_max != RLIM_INFINITY)
                return -ERANGE;
        *ret_resource = resource;
        *ret = rl;
        return 0;
}

int cpu_set_parse(const char *s, cpu_set_t *ret) {
        cpu_set_t set;
        CPU_ZERO(&set);
        _cleanup_free_ char *copy = strdup(s);
        if (!copy)
                return -ENOMEM;
        bool any = false;
        for (char *save = NULL, *w = strtok_r(copy, " ,", &save); w; w = strtok_r(NULL, " ,", &save)) {
                unsigned lo, hi;
                char *dash = strchr(w, '-');
                if (dash)
                        *dash = 0;
                if (safe_atou(w, &lo) < 0 || (dash ? safe_atou(dash + 1, &hi) < 0 : (hi = lo, false)))
                        return -EINVAL;
                if (lo > hi || hi >= CPU_SETSIZE)
                        return -ERANGE;
                for (unsigned c = lo; c <= hi; c++)
                        CPU_SET(c, &set);
                any = true;
        }
        if (!any)
                return -EINVAL;
        *ret = set;
        return 0;
}

int personality_parse(const char *s, unsigned long *ret) {
        /* systemd's architecture names for what a personality can switch between here. */
#if defined(__x86_64__)
        if (streq(s, "x86-64")) {
                *ret = PER_LINUX;
                return 0;
        }
        if (streq(s, "x86")) {
                *ret = PER_LINUX32;
                return 0;
        }
#elif defined(__aarch64__)
        if (streq(s, "arm64")) {
                *ret = PER_LINUX;
                return 0;
        }
        if (streq(s, "arm")) {
                *ret = PER_LINUX32;
                return 0;
        }
#endif
        return -EINVAL;
}

static int print_help_list(int id) {
        if (id == ARG_SYSTEM_CALL_FILTER) {
                for (size_t i = 0; i < syscall_groups_n; i++)
                        printf("%s\n", syscall_groups[i].name);
                return 0;
        }
        for (int c = 0; c <= capability_last_known(); c++)
                printf("%s\n", capability_to_name(c));
        return 0;
}

static int parse_caps(const char *opt, const char *arg, uint64_t *field) {
        const char *bad = NULL;
        uint64_t m;
        int r = capability_mask_parse(arg, &m, &bad);
        if (r == -ENOMEM)
                return log_oom();
        if (r < 0)
                return log_error_errno(r, "Unknown capability '%s' in --%s= (see --%s=help).", bad, opt, opt);
        *field |= m;
        return 1;
}

int isolation_parse_option(IsolationOptions *o, int id, const char *arg) {
        const char *bad = NULL;
        int r, resource;

        if (streq(arg, "help") && (id == ARG_SYSTEM_CALL_FILTER || id == ARG_CAPABILITY ||
                                    id == ARG_DROP_CAPABILITY || id == ARG_AMBIENT_CAPABILITY))
                return print_help_list(id);

        switch (id) {
        case ARG_SYSTEM_CALL_FILTER:
                r = syscall_filter_parse(&o->syscall_filter, arg, &bad);
                if (r == -ENOMEM)
                        return log_oom();
                if (r < 0)
                        return log_error_errno(r, "Unknown system call or group '%s' in --system-call-filter= (see --system-call-filter=help).", bad);
                return 1;
        case ARG_NO_NEW_PRIVILEGES:
                r = parse_boolean(arg);
                if (r < 0)
                        return log_error_errno(r, "Invalid --no-new-privileges= value '%s' (want yes or no).", arg);
                o->no_new_privileges = r;
                return 1;
        case ARG_CAPABILITY:
                return parse_caps("capability", arg, &o->caps.add);
        case ARG_DROP_CAPABILITY:
                return parse_caps("drop-capability", arg, &o->caps.drop);
        case ARG_AMBIENT_CAPABILITY:
                return parse_caps("ambient-capability", arg, &o->caps.ambient);
        case ARG_RLIMIT: {
                struct rlimit rl;
                r = rlimit_parse(arg, &resource, &rl);
                if (r == -ENOMEM)
                        return log_oom();
                if (r < 0)
                        return log_error_errno(r, "Invalid --rlimit= '%s' (want NAME=SOFT[:HARD], soft <= hard, e.g. NOFILE=1024:4096).", arg);
                o->rlimits[resource] = rl;
                o->rlimits_set |= UINT32_C(1) << resource;
                return 1;
        }
        case ARG_OOM_SCORE_ADJUST: {
                char *end;
                errno = 0;
                long v = strtol(arg, &end, 10);
                if (errno != 0 || end == arg || *end || v < -1000 || v > 1000)
                        return log_error_errno(EINVAL, "Invalid --oom-score-adjust= value '%s' (want -1000..1000).", arg);
                o->oom_score_adjust = (int) v;
                o->oom_score_adjust_set = true;
                return 1;
        }
        case ARG_CPU_AFFINITY:
                r = cpu_set_parse(arg, &o->cpu_affinity);
                if (r == -ENOMEM)
                        return log_oom();
                if (r < 0)
                        return log_error_errno(r, "Invalid --cpu-affinity= value '%s' (want CPU numbers and ranges, e.g. 0-3,5).", arg);
                o->cpu_affinity_set = true;
                return 1;
        case ARG_PERSONALITY:
                if (personality_parse(arg, &o->personality) < 0)
                        return log_error_errno(EINVAL, "Unknown --personality= '%s' (want x86 or x86-64).", arg);
                return 1;
        }
        return log_error_errno(EINVAL, "Unhandled option.");
}

int isolation_parse_property(IsolationOptions *o, const char *assignment) {
        const char *v = startswith(assignment, "DeviceAllow=");
        DeviceRule rule;
        int r;

        if (!v)
                return -EOPNOTSUPP;
        if (isempty(v)) {
                device_policy_done(&o->device_allow);
                return 0;
        }
        r = device_rule_parse(v, NULL, &rule);
        if (r == -ENOMEM)
                return log_oom();
        if (r < 0)
                return log_error_errno(r, "Invalid DeviceAllow= '%s' (want a /dev node or char-/block-CLASS of the host, then r, w, m): %m", v);
        if (device_policy_add(&o->device_allow, &rule) < 0)
                return log_oom();
        return 0;
}

int isolation_options_verify(const IsolationOptions *o, bool private_network) {
        uint64_t bounding = capability_options_bounding(&o->caps, private_network);
        uint64_t outside = o->caps.ambient & ~bounding;

        if (outside) {
                int cap = __builtin_ctzll(outside);
                return log_error_errno(EINVAL, "Ambient capability %s is not in the container's bounding set (add it with --capability=).",
                                       capability_to_name(cap));
        }
        return 0;
}

int isolation_apply_process_limits(const IsolationOptions *o) {
        for (int i = 0; i < RLIM_NLIMITS; i++)
                if ((o->rlimits_set & (UINT32_C(1) << i)) && setrlimit(i, o->rlimits + i) < 0)
                        return log_error_errno(errno, "Failed to set RLIMIT_%s: %m", rlimit_names[i]);
        if (o->oom_score_adjust_set) {
                char buf[16];
                snprintf(buf, sizeof(buf), "%i\n", o->oom_score_adjust);
                _cleanup_close_ int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
                if (fd < 0 || write(fd, buf, strlen(buf)) < 0)
                        return log_error_errno(errno, "Failed to set the OOM score adjustment: %m");
        }
        if (o->cpu_affinity_set && sched_setaffinity(0, sizeof(o->cpu_affinity), &o->cpu_affinity) < 0)
                return log_error_errno(errno, "Failed to set the CPU affinity: %m");
        if (o->personality != PERSONALITY_UNSET && personality(o->personality) < 0)
                return log_error_errno(errno, "Failed to set the personality: %m");
        return 0;
}

int keyring_join_fresh_session(void) {
        /* NULL name: a new anonymous keyring, linked to nothing the host has. */
        if (syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, 0, 0, 0, 0) < 0)
                return -errno;
        return 0;
}
