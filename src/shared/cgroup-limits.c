/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>

#include "cgroup-util.h"
#include "macro.h"
#include "parse-util.h"

/* "512M", "1.5G" is not supported by systemd either: integer with an optional K/M/G/T (1024). */
static int parse_size(const char *s, uint64_t *ret) {
        static const struct {
                char suffix;
                uint64_t factor;
        } table[] = { { 'K', 1ULL << 10 }, { 'M', 1ULL << 20 }, { 'G', 1ULL << 30 }, { 'T', 1ULL << 40 } };
        _cleanup_free_ char *n = strdup(s);
        uint64_t v, factor = 1;

        if (!n)
                return -ENOMEM;
        size_t l = strlen(n);
        if (l > 0)
                for (size_t i = 0; i < ELEMENTSOF(table); i++)
                        if (n[l - 1] == table[i].suffix) {
                                factor = table[i].factor;
                                n[l - 1] = 0;
                        }
        if (safe_atou64(n, &v) < 0 || v > UINT64_MAX / factor / 2)
                return -EINVAL;
        *ret = v * factor;
        return 0;
}

/* "N%" → N (0..max). */
static int parse_percent(const char *s, unsigned max, unsigned *ret) {
        size_t l = strlen(s);
        if (l < 2 || s[l - 1] != '%')
                return -EINVAL;
        _cleanup_free_ char *n = strndup(s, l - 1);
        unsigned v;
        if (!n)
                return -ENOMEM;
        if (safe_atou(n, &v) < 0 || v > max)
                return -EINVAL;
        *ret = v;
        return 0;
}

static int parse_weight(const char *s, uint64_t *ret) {
        uint64_t v;
        if (safe_atou64(s, &v) < 0 || v < 1 || v > 10000)
                return -EINVAL;
        *ret = v;
        return 0;
}

int cg_limits_parse_property(CGroupLimits *l, const char *assignment) {
        const char *eq = strchr(assignment, '=');
        if (!eq)
                return -EINVAL;
        size_t nl = (size_t) (eq - assignment);
        const char *v = eq + 1;
        unsigned pct;
        int r;

#define NAME_IS(n) (nl == strlen(n) && strneq(assignment, n, nl))
        if (NAME_IS("MemoryMax") || NAME_IS("MemoryLimit")) {
                if (streq(v, "infinity")) {
                        l->memory_max = CGROUP_LIMIT_MAX;
                        return 0;
                }
                if (parse_percent(v, 100, &pct) >= 0) {
                        struct sysinfo si;
                        if (sysinfo(&si) < 0)
                                return negative_errno();
                        l->memory_max = (uint64_t) si.totalram * si.mem_unit / 100 * pct;
                        return 0;
                }
                return parse_size(v, &l->memory_max);
        }
        if (NAME_IS("CPUQuota")) {
                /* Percent of one CPU; above 100% spans several CPUs. */
                r = parse_percent(v, 100000, &pct);
                if (r < 0 || pct == 0)
                        return -EINVAL;
                l->cpu_quota_per_sec_usec = (uint64_t) pct * 10000;
                return 0;
        }
        if (NAME_IS("CPUWeight") || NAME_IS("CPUShares"))
                return parse_weight(v, &l->cpu_weight);
        if (NAME_IS("IOWeight") || NAME_IS("BlockIOWeight"))
                return parse_weight(v, &l->io_weight);
        if (NAME_IS("TasksMax")) {
                if (streq(v, "infinity")) {
                        l->tasks_max = CGROUP_LIMIT_MAX;
                        return 0;
                }
                if (safe_atou64(v, &l->tasks_max) < 0 || l->tasks_max == 0)
                        return -EINVAL;
                return 0;
        }
#undef NAME_IS
        return -EOPNOTSUPP;
}

bool cg_limits_is_empty(const CGroupLimits *l) {
        return l->memory_max == UINT64_MAX && l->cpu_quota_per_sec_usec == UINT64_MAX &&
               l->cpu_weight == UINT64_MAX && l->tasks_max == UINT64_MAX && l->io_weight == UINT64_MAX;
}

static const CGroupHierarchy *find(const CGroupHierarchy *hs, char * const *paths, size_t n,
                                   const char *v2, const char *v1, const char **ret_path) {
        for (size_t i = 0; i < n; i++)
                if (hs[i].unified && cg_hierarchy_has_controller(hs + i, v2)) {
                        *ret_path = paths[i];
                        return hs + i;
                }
        for (size_t i = 0; i < n; i++)
                if (!hs[i].unified && cg_hierarchy_has_controller(hs + i, v1)) {
                        *ret_path = paths[i];
                        return hs + i;
                }
        return NULL;
}

static void format_max(char buf[static 32], uint64_t v) {
        if (v == CGROUP_LIMIT_MAX)
                strcpy(buf, "max");
        else
                snprintf(buf, 32, "%llu", (unsigned long long) v);
}

static int apply_one(const CGroupHierarchy *h, const char *path, const char *attr, const char *value) {
        int r = cg_write(h, path, attr, value);
        /* A missing attribute means this kernel/controller cannot do it (e.g. blkio.weight
         * without an I/O scheduler that supports weights). */
        return r == -ENOENT ? -EOPNOTSUPP : r;
}

int cg_limits_apply(const CGroupLimits *l, const CGroupHierarchy *hs, char * const *paths, size_t n,
                    const char **ret_failed) {
        const CGroupHierarchy *h;
        const char *path = NULL;
        char buf[64];
        int r;

#define FAIL(name, err)                 \
        do {                            \
                if (ret_failed)         \
                        *ret_failed = name; \
                return (err);           \
        } while (0)

        if (l->memory_max != UINT64_MAX) {
                h = find(hs, paths, n, "memory", "memory", &path);
                if (!h)
                        FAIL("MemoryMax", -EOPNOTSUPP);
                if (h->unified)
                        format_max(buf, l->memory_max);
                else
                        snprintf(buf, sizeof(buf), "%lld", l->memory_max == CGROUP_LIMIT_MAX ? -1LL : (long long) l->memory_max);
                r = apply_one(h, path, h->unified ? "memory.max" : "memory.limit_in_bytes", buf);
                if (r < 0)
                        FAIL("MemoryMax", r);
        }
        if (l->tasks_max != UINT64_MAX) {
                h = find(hs, paths, n, "pids", "pids", &path);
                if (!h)
                        FAIL("TasksMax", -EOPNOTSUPP);
                format_max(buf, l->tasks_max);
                r = apply_one(h, path, "pids.max", buf);
                if (r < 0)
                        FAIL("TasksMax", r);
        }
        if (l->cpu_quota_per_sec_usec != UINT64_MAX) {
                const uint64_t period = 100000;
                uint64_t quota = MAX(l->cpu_quota_per_sec_usec * period / 1000000, 1000);
                h = find(hs, paths, n, "cpu", "cpu", &path);
                if (!h)
                        FAIL("CPUQuota", -EOPNOTSUPP);
                if (h->unified) {
                        snprintf(buf, sizeof(buf), "%llu %llu", (unsigned long long) quota, (unsigned long long) period);
                        r = apply_one(h, path, "cpu.max", buf);
                } else {
                        snprintf(buf, sizeof(buf), "%llu", (unsigned long long) period);
                        r = apply_one(h, path, "cpu.cfs_period_us", buf);
                        if (r >= 0) {
                                snprintf(buf, sizeof(buf), "%llu", (unsigned long long) quota);
                                r = apply_one(h, path, "cpu.cfs_quota_us", buf);
                        }
                }
                if (r < 0)
                        FAIL("CPUQuota", r);
        }
        if (l->cpu_weight != UINT64_MAX) {
                h = find(hs, paths, n, "cpu", "cpu", &path);
                if (!h)
                        FAIL("CPUWeight", -EOPNOTSUPP);
                /* v1 shares: the same scale systemd converts with (weight 100 = 1024 shares). */
                snprintf(buf, sizeof(buf), "%llu",
                         (unsigned long long) (h->unified ? l->cpu_weight : MAX(l->cpu_weight * 1024 / 100, 2)));
                r = apply_one(h, path, h->unified ? "cpu.weight" : "cpu.shares", buf);
                if (r < 0)
                        FAIL("CPUWeight", r);
        }
        if (l->io_weight != UINT64_MAX) {
                h = find(hs, paths, n, "io", "blkio", &path);
                if (!h)
                        FAIL("IOWeight", -EOPNOTSUPP);
                if (h->unified)
                        snprintf(buf, sizeof(buf), "default %llu", (unsigned long long) l->io_weight);
                else
                        snprintf(buf, sizeof(buf), "%llu",
                                 (unsigned long long) MIN(MAX(l->io_weight * 500 / 100, 10), 1000));
                r = apply_one(h, path, h->unified ? "io.weight" : "blkio.weight", buf);
                if (r < 0)
                        FAIL("IOWeight", r);
        }
#undef FAIL
        return 0;
}
