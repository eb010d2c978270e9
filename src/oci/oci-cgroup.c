/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cgroup-util.h"
#include "oci-cgroup.h"
#include "oci-config.h"
#include "strv.h"

static int slice_path(const char *slice, char **ret) {
        /* "a-b-c.slice" lives at "/a.slice/a-b.slice/a-b-c.slice", as systemd nests slices. */
        _cleanup_free_ char *path = strdup("");
        if (!path)
                return -ENOMEM;
        if (isempty(slice) || streq(slice, "-.slice")) {
                *ret = TAKE_PTR(path);
                return 0;
        }
        const char *end = strstr(slice, ".slice");
        if (!end)
                return -EINVAL;
        for (const char *dash = slice;; dash++) {
                if (*dash == '-' || dash == end) {
                        char *n = NULL;
                        if (asprintf(&n, "%s/%.*s.slice", path, (int) (dash - slice), slice) < 0)
                                return -ENOMEM;
                        free(path);
                        path = n;
                        if (dash == end)
                                break;
                }
        }
        *ret = TAKE_PTR(path);
        return 0;
}

int oci_cgroup_resolve(const char *cgroups_path, const char *id, bool systemd, char **ret) {
        char *p = NULL;
        if (isempty(cgroups_path))
                p = strjoin_many("/berth-oci/", id, NULL);
        else if (systemd && cgroups_path[0] != '/' && strchr(cgroups_path, ':')) {
                _cleanup_free_ char *copy = strdup(cgroups_path), *slice = NULL;
                if (!copy)
                        return -ENOMEM;
                char *prefix = strchr(copy, ':');
                *prefix++ = 0;
                char *name = strchr(prefix, ':');
                if (!name)
                        return -EINVAL;
                *name++ = 0;
                int r = slice_path(isempty(copy) ? "system.slice" : copy, &slice);
                if (r < 0)
                        return r;
                if (strstr(name, ".slice"))
                        p = strjoin_many(slice, "/", name, NULL);
                else
                        p = strjoin_many(slice, "/", prefix, isempty(prefix) ? "" : "-", name, ".scope", NULL);
        } else
                p = cgroups_path[0] == '/' ? strdup(cgroups_path) : strjoin_many("/", cgroups_path, NULL);
        if (!p)
                return -ENOMEM;
        if (strstr(p, "/../") || strstr(p, "/./") || (strlen(p) >= 3 && streq(p + strlen(p) - 3, "/..")))
                return free(p), -EINVAL;
        *ret = p;
        return 0;
}

typedef struct Hierarchies {
        CGroupHierarchy *h;
        size_t n;
} Hierarchies;

static void hierarchies_done(Hierarchies *hs) {
        cg_hierarchies_free(hs->h, hs->n);
}

static int hierarchies_get(Hierarchies *ret) {
        return cg_enumerate(0, &ret->h, &ret->n);
}

/* cgroup2 limits a child only by the controllers its parent hands down: pass every one the parent
 * has that linux.resources can use. Best effort: a parent with processes of its own refuses
 * (EBUSY), and a limit then fails by name when it is applied. */
static void enable_controllers(const CGroupHierarchy *h, const char *parent) {
        static const char *const wanted[] = { "cpu", "cpuset", "io", "memory", "pids" };
        _cleanup_free_ char *have = NULL;
        if (!h->unified || cg_read(h, parent, "cgroup.controllers", &have) < 0)
                return;
        for (size_t i = 0; i < ELEMENTSOF(wanted); i++) {
                char word[16];
                size_t n = strlen(wanted[i]);
                for (const char *p = have; (p = strstr(p, wanted[i])); p += n)
                        if ((p == have || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\n' || p[n] == 0)) {
                                snprintf(word, sizeof(word), "+%s", wanted[i]);
                                (void) cg_enable_controllers(h, parent, word);
                                break;
                        }
        }
}

/* cg_create() for path and each missing parent: the container's cgroup may be several levels deep. */
static int create_with_parents(const CGroupHierarchy *h, const char *path) {
        _cleanup_free_ char *p = strdup(path);
        if (!p)
                return -ENOMEM;
        enable_controllers(h, "/");
        for (char *slash = strchr(p + 1, '/');; slash = strchr(slash + 1, '/')) {
                if (slash)
                        *slash = 0;
                int r = cg_create(h, p);
                if (r >= 0 && slash)
                        enable_controllers(h, p);
                if (r < 0)
                        return r;
                if (!slash)
                        return 0;
                *slash = '/';
        }
}

static const char *hierarchy_name(const CGroupHierarchy *h) {
        /* Outlives the Hierarchies list the caller frees: for its error message only. */
        static char buf[128];
        snprintf(buf, sizeof(buf), "%s", h->unified ? "cgroup2" : h->controllers);
        return buf;
}

static int devices_apply(const CGroupHierarchy *h, const char *path, const OciResources *res) {
        /* v1 only: the v2 device controller is a BPF program, which berth-oci does not load yet. */
        for (size_t i = 0; i < res->n_devices; i++) {
                const OciDeviceRule *d = &res->devices[i];
                char major[24] = "*", minor[24] = "*", rule[96];
                if (d->major >= 0)
                        snprintf(major, sizeof(major), "%" PRId64, d->major);
                if (d->minor >= 0)
                        snprintf(minor, sizeof(minor), "%" PRId64, d->minor);
                if (d->type == 'a' && d->major < 0 && d->minor < 0)
                        snprintf(rule, sizeof(rule), "a");
                else
                        snprintf(rule, sizeof(rule), "%c %s:%s %s", d->type, major, minor, d->access ?: "rwm");
                int r = cg_write(h, path, d->allow ? "devices.allow" : "devices.deny", rule);
                if (r < 0)
                        return r;
        }
        return 0;
}

static void resources_to_limits(const OciResources *res, CGroupLimits *l) {
        *l = CGROUP_LIMITS_UNSET;
        if (res->has_memory_limit)
                l->memory_max = res->memory_limit < 0 ? CGROUP_LIMIT_MAX : (uint64_t) res->memory_limit;
        if (res->has_pids_limit && res->pids_limit != 0)
                l->tasks_max = res->pids_limit < 0 ? CGROUP_LIMIT_MAX : (uint64_t) res->pids_limit;
        if (res->has_cpu_quota && res->cpu_quota > 0) {
                uint64_t period = res->has_cpu_period && res->cpu_period > 0 ? res->cpu_period : 100000;
                l->cpu_quota_per_sec_usec = (uint64_t) res->cpu_quota * 1000000 / period;
        }
        if (res->has_cpu_shares && res->cpu_shares >= 2)
                /* The conversion runc and crun use between v1 shares and v2 weight. */
                l->cpu_weight = 1 + ((MIN(res->cpu_shares, 262144) - 2) * 9999) / 262142;
}

/* Devices every container may use whatever linux.resources.devices says (runc and crun add them
 * as well; podman relies on it), plus linux.devices' own nodes. */
static int devices_allow_defaults(const CGroupHierarchy *h, const char *path, const OciDeviceNode *devs, size_t n_devs) {
        static const char *const defaults[] = { "c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm", "c 1:9 rwm",
                                                "c 5:0 rwm", "c 5:1 rwm", "c 5:2 rwm", "c 136:* rwm", "c *:* m", "b *:* m" };
        int r;
        for (size_t i = 0; i < ELEMENTSOF(defaults); i++)
                if ((r = cg_write(h, path, "devices.allow", defaults[i])) < 0)
                        return r;
        for (size_t i = 0; i < n_devs; i++) {
                char rule[64];
                if (devs[i].type != 'c' && devs[i].type != 'b')
                        continue;
                snprintf(rule, sizeof(rule), "%c %" PRId64 ":%" PRId64 " rwm", devs[i].type, devs[i].major, devs[i].minor);
                if ((r = cg_write(h, path, "devices.allow", rule)) < 0)
                        return r;
        }
        return 0;
}

static int resources_apply(const Hierarchies *hs, char **paths, const char *path, const OciResources *resources,
                           const OciDeviceNode *devs, size_t n_devs, const char **ret_failed) {
        CGroupLimits l;
        resources_to_limits(resources, &l);
        int r = cg_limits_apply(&l, hs->h, paths, hs->n, ret_failed);
        if (r < 0)
                return r;
        if (resources->n_devices > 0)
                for (size_t i = 0; i < hs->n; i++)
                        if (!hs->h[i].unified && cg_hierarchy_has_controller(&hs->h[i], "devices")) {
                                r = devices_apply(&hs->h[i], path, resources);
                                if (r >= 0)
                                        r = devices_allow_defaults(&hs->h[i], path, devs, n_devs);
                                if (r < 0) {
                                        if (ret_failed)
                                                *ret_failed = "devices";
                                        return r;
                                }
                        }
        return 0;
}

int oci_cgroup_setup(const char *path, pid_t pid, const OciResources *resources, const OciDeviceNode *devs, size_t n_devs,
                     const char **ret_failed) {
        _cleanup_(hierarchies_done) Hierarchies hs = {};
        int r = hierarchies_get(&hs);
        if (r < 0)
                return r;
        _cleanup_(strv_freep) char **paths = NULL;
        for (size_t i = 0; i < hs.n; i++) {
                r = create_with_parents(&hs.h[i], path);
                if (r >= 0)
                        r = cg_attach(&hs.h[i], path, pid);
                if (r < 0) {
                        if (ret_failed)
                                *ret_failed = hierarchy_name(&hs.h[i]);
                        return r;
                }
                if (strv_extend(&paths, path) < 0)
                        return -ENOMEM;
        }
        return resources ? resources_apply(&hs, paths, path, resources, devs, n_devs, ret_failed) : 0;
}

int oci_cgroup_update(const char *path, const OciResources *resources, const OciDeviceNode *devs, size_t n_devs,
                      const char **ret_failed) {
        _cleanup_(hierarchies_done) Hierarchies hs = {};
        int r = hierarchies_get(&hs);
        if (r < 0)
                return r;
        _cleanup_(strv_freep) char **paths = NULL;
        for (size_t i = 0; i < hs.n; i++)
                if (strv_extend(&paths, path) < 0)
                        return -ENOMEM;
        return resources_apply(&hs, paths, path, resources, devs, n_devs, ret_failed);
}

int oci_cgroup_join(const char *path, pid_t pid) {
        _cleanup_(hierarchies_done) Hierarchies hs = {};
        int r = hierarchies_get(&hs);
        if (r < 0)
                return r;
        for (size_t i = 0; i < hs.n; i++) {
                r = cg_attach(&hs.h[i], path, pid ?: getpid());
                if (r < 0 && r != -ENOENT)
                        return r;
        }
        return 0;
}

/* The hierarchy that freezes: v1 "freezer" if mounted, else the unified one. */
static const CGroupHierarchy *freezer_hierarchy(const Hierarchies *hs) {
        const CGroupHierarchy *unified = NULL;
        for (size_t i = 0; i < hs->n; i++) {
                if (!hs->h[i].unified && cg_hierarchy_has_controller(&hs->h[i], "freezer"))
                        return &hs->h[i];
                if (hs->h[i].unified)
                        unified = &hs->h[i];
        }
        return unified;
}

static int frozen_in(const CGroupHierarchy *h, const char *path) {
        _cleanup_free_ char *v = NULL;
        int r = cg_read(h, path, h->unified ? "cgroup.events" : "freezer.state", &v);
        if (r < 0)
                return r;
        if (h->unified)
                return strstr(v, "frozen 1") != NULL;
        /* FREEZING is not frozen yet: the caller waits for FROZEN. */
        return startswith(v, "FROZEN") != NULL;
}

int oci_cgroup_is_frozen(const char *path) {
        _cleanup_(hierarchies_done) Hierarchies hs = {};
        int r = hierarchies_get(&hs);
        if (r < 0)
                return r;
        const CGroupHierarchy *h = freezer_hierarchy(&hs);
        if (!h)
                return 0;
        r = frozen_in(h, path);
        return r == -ENOENT ? 0 : r;
}

int oci_cgroup_freeze(const char *path, bool freeze) {
        _cleanup_(hierarchies_done) Hierarchies hs = {};
        int r = hierarchies_get(&hs);
        if (r < 0)
                return r;
        const CGroupHierarchy *h = freezer_hierarchy(&hs);
        if (!h)
                return -EOPNOTSUPP;
        const char *value = h->unified ? (freeze ? "1" : "0") : (freeze ? "FROZEN" : "THAWED");
        r = cg_write(h, path, h->unified ? "cgroup.freeze" : "freezer.state", value);
        if (r < 0)
                return r;
        for (int waited = 0; waited < 5000; waited += 10) {
                r = frozen_in(h, path);
                if (r < 0 || r == freeze)
                        return r < 0 ? r : 0;
                /* v1 may stay FREEZING when a task resists: writing FROZEN again retries it. */
                if (!h->unified && freeze)
                        (void) cg_write(h, path, "freezer.state", value);
                nanosleep(&(struct timespec) { .tv_nsec = 10 * 1000 * 1000 }, NULL);
        }
        return -ETIMEDOUT;
}

int oci_cgroup_kill(const char *path, int sig) {
        _cleanup_(hierarchies_done) Hierarchies hs = {};
        int r = hierarchies_get(&hs);
        if (r < 0)
                return r;
        /* Every process sits in every hierarchy: one is enough, the first that has the cgroup. */
        for (size_t i = 0; i < hs.n; i++) {
                r = cg_kill_recursive(&hs.h[i], path, sig);
                if (r != -ENOENT)
                        return r;
        }
        return -ENOENT;
}

static int read_pids(const CGroupHierarchy *h, const char *path, pid_t **pids, size_t *n) {
        _cleanup_free_ char *text = NULL;
        int r = cg_read(h, path, "cgroup.procs", &text);
        if (r < 0)
                return r;
        for (char *tok = strtok(text, "\n"); tok; tok = strtok(NULL, "\n")) {
                pid_t *p = realloc(*pids, (*n + 1) * sizeof(pid_t));
                if (!p)
                        return -ENOMEM;
                *pids = p;
                (*pids)[(*n)++] = (pid_t) atoi(tok);
        }
        return 0;
}

int oci_cgroup_pids(const char *path, pid_t **ret, size_t *ret_n) {
        _cleanup_(hierarchies_done) Hierarchies hs = {};
        int r = hierarchies_get(&hs);
        if (r < 0)
                return r;
        for (size_t i = 0; i < hs.n; i++) {
                pid_t *pids = NULL;
                size_t n = 0;
                r = read_pids(&hs.h[i], path, &pids, &n);
                if (r == -ENOENT)
                        continue;
                if (r < 0) {
                        free(pids);
                        return r;
                }
                *ret = pids;
                *ret_n = n;
                return 0;
        }
        return -ENOENT;
}

int oci_cgroup_destroy(const char *path, int timeout_ms) {
        _cleanup_(hierarchies_done) Hierarchies hs = {};
        int r = hierarchies_get(&hs);
        if (r < 0)
                return r;
        for (int waited = 0;; waited += 10) {
                bool empty = true;
                for (size_t i = 0; i < hs.n && empty; i++)
                        if (cg_is_empty_recursive(&hs.h[i], path) == 0)
                                empty = false;
                if (empty || waited >= timeout_ms)
                        break;
                nanosleep(&(struct timespec) { .tv_nsec = 10 * 1000 * 1000 }, NULL);
        }
        int ret = 0;
        for (size_t i = 0; i < hs.n; i++) {
                r = cg_remove_recursive(&hs.h[i], path);
                if (r < 0 && ret == 0)
                        ret = r;
                /* The parent of the default path is ours too: it goes with its last container. */
                if (startswith(path, "/berth-oci/") && !strchr(path + strlen("/berth-oci/"), '/')) {
                        _cleanup_free_ char *parent = cg_fs_path(&hs.h[i], "/berth-oci", NULL);
                        if (parent)
                                (void) rmdir(parent);
                }
        }
        return ret;
}
