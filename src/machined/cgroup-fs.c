/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The cgroupfs backend: on hosts whose PID 1 is not systemd nobody hands out scopes, so we make
 * machine.slice/machine-<name>.scope ourselves, in every mounted hierarchy (v1, hybrid, v2).
 *
 * Everything happens below one "root" cgroup per hierarchy: the cgroup machined runs in (that is
 * what whoever started us delegated to us), or --cgroup-root= (relative: below our own cgroup;
 * absolute: that path in every hierarchy). To make "never write outside the root" structural,
 * each hierarchy is represented by a CGroupHierarchy whose mount_point is the root's directory,
 * so every cg_*() call gets paths relative to the root and cannot address anything above it. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cgroup-backend.h"
#include "cgroup-util.h"
#include "fd-util.h"
#include "log.h"
#include "machine.h"
#include "macro.h"
#include "parse-util.h"
#include "path-util.h"
#include "state.h"
#include "strv.h"
#include "unit-name.h"

#define SLICE "/machine.slice"
#define REMOVE_RETRY_USEC (50 * 1000ULL)
#define REMOVE_KILL_TIMEOUT_USEC (10 * 1000000ULL)
#define KILL_ROUNDS 16

typedef struct PendingRemoval {
        char *cgroup;
        bool kill;            /* keep killing (terminated machine) or just wait until empty (unregistered) */
        uint64_t deadline;    /* CLOCK_MONOTONIC µs, 0 = none */
} PendingRemoval;

typedef struct CGroupFs {
        CGroupHierarchy *rooted;   /* mount_point = the root's directory, path = the root's path */
        size_t n;
        size_t primary;            /* name=systemd if mounted, else cgroup2: where units are looked up */
        size_t killer;             /* cgroup2 if mounted (cgroup.kill), else primary */
        PendingRemoval *pending;
        size_t n_pending;
        sd_event_source *retry;
} CGroupFs;

static bool endswith_slash(const char *s) {
        size_t l = strlen(s);
        return l > 0 && s[l - 1] == '/';
}

static void fs_done(Manager *m);

static CGroupFs *fs_of(Manager *m) {
        return m->cgroup_data;
}

static uint64_t now_monotonic(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000ULL;
}

/* v2: lets the children of path use every controller path itself has. Best effort: a cgroup with
 * processes of its own cannot delegate domain controllers ("no internal processes", EBUSY). */
static int enable_controllers(const CGroupHierarchy *h, const char *path) {
        _cleanup_free_ char *avail = NULL, *want = NULL;

        if (!h->unified || cg_read(h, path, "cgroup.controllers", &avail) < 0)
                return 0;
        for (char *save = NULL, *c = strtok_r(avail, " \n", &save); c; c = strtok_r(NULL, " \n", &save)) {
                char *n = strjoin(want ?: "", want ? " +" : "+", c);
                if (!n)
                        return -ENOMEM;
                free(want);
                want = n;
        }
        if (!want)
                return 0;
        int r = cg_enable_controllers(h, path, want);
        if (r < 0)
                log_debug_errno(r, "Failed to enable controllers '%s' below %s%s: %m", want, h->mount_point, path);
        return r;
}

/* Our own cgroup is our root and we live in it: on cgroup2 that keeps us from delegating
 * controllers to machine.slice. Move ourselves into a leaf of it, as delegated services do. */
static void root_delegate(const CGroupHierarchy *rooted, bool we_live_in_root) {
        if (streq(rooted->path, "/"))
                return; /* the hierarchy's top cgroup is everybody's: never change its settings */
        int r = enable_controllers(rooted, "/");
        if (r != -EBUSY || !we_live_in_root)
                return;
        if (cg_create(rooted, "/machined.scope") < 0 || cg_attach(rooted, "/machined.scope", 0) < 0)
                return;
        (void) enable_controllers(rooted, "/");
}

static int root_create_one(const char *prefix, void *userdata) {
        return cg_create(userdata, prefix);
}

/* Creates the root directory itself (mkdir -p), for a --cgroup-root= that does not exist yet. */
static int root_create(const CGroupHierarchy *original, const char *root) {
        return path_for_each_prefix(root, root_create_one, (void *) original);
}

static char *root_for(const ManagerConfig *c, const CGroupHierarchy *h) {
        if (!c->cgroup_root)
                return strdup(h->path);
        if (c->cgroup_root[0] == '/')
                return strdup(c->cgroup_root);
        return strjoin(h->path, streq(h->path, "/") ? "" : "/", c->cgroup_root);
}

static int fs_init(Manager *m) {
        CGroupHierarchy *own = NULL;
        size_t n = 0;
        int r;

        if (m->config.cgroup_root) {
                _cleanup_free_ char *check = strjoin("/", m->config.cgroup_root);
                if (!check || !path_is_normalized_absolute(check) || endswith_slash(m->config.cgroup_root))
                        return log_error_errno(EINVAL, "Invalid --cgroup-root=%s: must be a normalized path.",
                                               m->config.cgroup_root);
        }
        r = cg_enumerate(0, &own, &n);
        if (r < 0)
                return log_error_errno(r, "Failed to enumerate cgroup hierarchies: %m");
        if (n == 0) {
                cg_hierarchies_free(own, n);
                return log_error_errno(ENOMEDIUM, "No cgroup hierarchy is mounted below /sys/fs/cgroup.");
        }

        CGroupFs *fs = calloc(1, sizeof(CGroupFs));
        if (!fs) {
                cg_hierarchies_free(own, n);
                return log_oom();
        }
        fs->rooted = calloc(n, sizeof(CGroupHierarchy));
        if (!fs->rooted) {
                free(fs);
                cg_hierarchies_free(own, n);
                return log_oom();
        }
        m->cgroup_data = fs;
        fs->n = n;
        fs->primary = fs->killer = SIZE_MAX;
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *root = root_for(&m->config, own + i);
                if (!root) {
                        r = log_oom();
                        goto fail;
                }
                if (!streq(root, own[i].path) || m->config.cgroup_root) {
                        r = root_create(own + i, root);
                        if (r < 0) {
                                log_error_errno(r, "Failed to create cgroup root %s in %s: %m", root, own[i].mount_point);
                                goto fail;
                        }
                }
                fs->rooted[i] = (CGroupHierarchy) {
                        .mount_point = cg_fs_path(own + i, root, NULL),
                        .controllers = strdup(own[i].controllers),
                        .unified = own[i].unified,
                        .path = TAKE_PTR(root),
                };
                if (!fs->rooted[i].mount_point || !fs->rooted[i].controllers) {
                        r = log_oom();
                        goto fail;
                }
                root_delegate(fs->rooted + i, streq(fs->rooted[i].path, own[i].path));
                if (streq(own[i].controllers, "name=systemd"))
                        fs->primary = i;
                if (own[i].unified)
                        fs->killer = i;
        }
        if (fs->primary == SIZE_MAX)
                fs->primary = fs->killer != SIZE_MAX ? fs->killer : 0;
        if (fs->killer == SIZE_MAX)
                fs->killer = fs->primary;
        log_debug("cgroupfs backend: root %s in %s (%zu hierarchies).", fs->rooted[fs->primary].path,
                  fs->rooted[fs->primary].mount_point, n);
        cg_hierarchies_free(own, n);
        return 0;
fail:
        cg_hierarchies_free(own, n);
        fs_done(m);
        return r;
}

static void fs_done(Manager *m) {
        CGroupFs *fs = fs_of(m);
        if (!fs)
                return;
        sd_event_source_disable_unref(fs->retry);
        for (size_t i = 0; i < fs->n_pending; i++)
                free(fs->pending[i].cgroup);
        free(fs->pending);
        cg_hierarchies_free(fs->rooted, fs->n);
        free(fs);
        m->cgroup_data = NULL;
}

static void pending_forget(CGroupFs *fs, const char *cgroup) {
        for (size_t i = 0; i < fs->n_pending; i++)
                if (streq(fs->pending[i].cgroup, cgroup)) {
                        free(fs->pending[i].cgroup);
                        fs->pending[i] = fs->pending[--fs->n_pending];
                        return;
                }
}

static void remove_everywhere(CGroupFs *fs, const char *cgroup);

static int kill_rounds(CGroupFs *fs, const char *cgroup) {
        const CGroupHierarchy *h = fs->rooted + fs->killer;
        int r = 0;
        /* cgroup.kill is atomic; a v1 kill loop races with fork(), so repeat until empty. */
        for (int i = 0; i < KILL_ROUNDS; i++) {
                r = cg_kill_recursive(h, cgroup, SIGKILL);
                if (r < 0 || cg_is_empty_recursive(h, cgroup) != 0)
                        break;
        }
        return r < 0 ? r : 0;
}

static int on_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        CGroupFs *fs = fs_of(m);
        uint64_t now = now_monotonic();

        for (size_t i = 0; i < fs->n_pending;) {
                PendingRemoval *p = fs->pending + i;
                if (p->kill)
                        (void) kill_rounds(fs, p->cgroup);
                bool busy = false;
                for (size_t j = 0; j < fs->n; j++)
                        if (cg_remove_recursive(fs->rooted + j, p->cgroup) < 0)
                                busy = true;
                if (!busy || (p->deadline != 0 && now > p->deadline)) {
                        if (busy)
                                log_warning("Giving up on removing cgroup %s: it does not get empty.", p->cgroup);
                        free(p->cgroup);
                        *p = fs->pending[--fs->n_pending];
                        continue;
                }
                i++;
        }
        if (fs->n_pending == 0)
                return sd_event_source_set_enabled(s, SD_EVENT_OFF);
        /* Unregistered machines may run for a long time: poll those slowly. */
        bool fast = false;
        for (size_t i = 0; i < fs->n_pending; i++)
                fast = fast || fs->pending[i].kill;
        (void) sd_event_source_set_time_relative(s, fast ? REMOVE_RETRY_USEC : 1000000ULL);
        return sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
}

static void pending_add(Manager *m, const char *cgroup, bool kill) {
        CGroupFs *fs = fs_of(m);
        pending_forget(fs, cgroup);
        PendingRemoval *n = realloc(fs->pending, sizeof(PendingRemoval) * (fs->n_pending + 1));
        if (!n)
                return;
        fs->pending = n;
        char *c = strdup(cgroup);
        if (!c)
                return;
        fs->pending[fs->n_pending++] = (PendingRemoval) {
                .cgroup = c,
                .kill = kill,
                .deadline = kill ? now_monotonic() + REMOVE_KILL_TIMEOUT_USEC : 0,
        };
        if (!fs->retry) {
                if (sd_event_add_time_relative(m->event, &fs->retry, CLOCK_MONOTONIC, REMOVE_RETRY_USEC, 0, on_retry, m) < 0)
                        return;
                (void) sd_event_source_set_description(fs->retry, "cgroup-removal");
        } else {
                (void) sd_event_source_set_time_relative(fs->retry, REMOVE_RETRY_USEC);
                (void) sd_event_source_set_enabled(fs->retry, SD_EVENT_ONESHOT);
        }
}

static void remove_everywhere(CGroupFs *fs, const char *cgroup) {
        for (size_t j = 0; j < fs->n; j++)
                (void) cg_remove_recursive(fs->rooted + j, cgroup);
}

static bool remove_all_or_busy(CGroupFs *fs, const char *cgroup) {
        bool busy = false;
        for (size_t j = 0; j < fs->n; j++)
                if (cg_remove_recursive(fs->rooted + j, cgroup) < 0)
                        busy = true;
        return busy;
}

/* A cgroup path we persisted or derived must stay inside the root. */
static bool cgroup_path_ok(const char *cgroup) {
        return cgroup && path_is_normalized_absolute(cgroup) && !streq(cgroup, "/") && !endswith_slash(cgroup);
}

static int fs_pid_get_unit(Manager *m, pid_t pid, char **ret_unit, char **ret_cgroup, char **ret_subgroup) {
        CGroupFs *fs = fs_of(m);
        const CGroupHierarchy *want = fs->rooted + fs->primary;
        CGroupHierarchy *hs = NULL;
        size_t n = 0;
        _cleanup_free_ char *unit = NULL, *subgroup = NULL;
        int r = cg_enumerate(pid, &hs, &n);

        if (r == -ENOENT)
                return -ESRCH;
        if (r < 0)
                return r;
        r = -ENXIO;
        for (size_t i = 0; i < n; i++) {
                if (hs[i].unified != want->unified || !streq(hs[i].controllers, want->controllers))
                        continue;
                const char *rel = streq(want->path, "/") ? hs[i].path : startswith(hs[i].path, want->path);
                if (!rel || (*rel != '/' && *rel != 0))
                        break;
                r = cg_path_get_unit(rel, &unit, &subgroup);
                if (r < 0)
                        break;
                if (ret_cgroup) {
                        /* rel up to the unit: "/machine.slice/machine-x.scope" */
                        size_t l = strlen(rel) - strlen(subgroup);
                        while (l > 1 && rel[l - 1] == '/')
                                l--;
                        *ret_cgroup = strndup(rel, l);
                        if (!*ret_cgroup)
                                r = -ENOMEM;
                }
                break;
        }
        cg_hierarchies_free(hs, n);
        if (r < 0)
                return r;
        *ret_unit = TAKE_PTR(unit);
        if (ret_subgroup)
                *ret_subgroup = TAKE_PTR(subgroup);
        return 0;
}

/* RegisterMachine: a leader already in a unit below our root (spawn made its own scope) is taken
 * as it is. Anything else gets a scope of ours: on this kind of host nobody else would make one. */
static int fs_adopt_existing(Machine *machine) {
        _cleanup_free_ char *unit = NULL, *cgroup = NULL, *subgroup = NULL;
        int r = fs_pid_get_unit(machine->manager, machine->leader.pid, &unit, &cgroup, &subgroup);
        if (r < 0 || manager_get_machine_by_unit(machine->manager, unit))
                return 0;
        machine->unit = TAKE_PTR(unit);
        machine->cgroup = TAKE_PTR(cgroup);
        machine->subgroup = TAKE_PTR(subgroup);
        machine->cgroup_owned = false;
        return 1;
}

/* Delegation to a guest with its own user namespace: its root must be able to manage the subtree. */
static void delegate_to_guest(CGroupFs *fs, Machine *machine, const char *cgroup) {
        static const char *const files[] = { "cgroup.procs", "cgroup.subtree_control", "cgroup.threads", "tasks" };
        uid_t shift;

        if (machine_get_uid_shift(machine, &shift) < 0 || shift == 0)
                return;
        for (size_t i = 0; i < fs->n; i++) {
                const CGroupHierarchy *h = fs->rooted + i;
                if (!h->unified && !streq(h->controllers, "name=systemd"))
                        continue;
                _cleanup_free_ char *dir = cg_fs_path(h, cgroup, NULL);
                if (!dir || chown(dir, shift, shift) < 0)
                        continue;
                for (size_t j = 0; j < ELEMENTSOF(files); j++) {
                        _cleanup_free_ char *f = cg_fs_path(h, cgroup, files[j]);
                        if (f)
                                (void) chown(f, shift, shift);
                }
        }
}

static int fs_start(Machine *machine, const ScopeRequest *req, Failure *f) {
        CGroupFs *fs = fs_of(machine->manager);
        _cleanup_free_ char *unit = NULL, *dir = NULL, *cgroup = NULL;
        const char *failed = NULL;
        int r;

        if (!req->allocate && fs_adopt_existing(machine) > 0)
                return 1;

        unit = unit_name_for_machine(machine->name);
        dir = unit ? cg_escape(unit) : NULL;
        cgroup = dir ? strjoin(SLICE "/", dir) : NULL;
        _cleanup_free_ char **paths = calloc(fs->n, sizeof(char *));
        if (!cgroup || !paths)
                return -ENOMEM;
        pending_forget(fs, cgroup);

        for (size_t i = 0; i < fs->n; i++) {
                const CGroupHierarchy *h = fs->rooted + i;
                r = cg_create(h, SLICE);
                if (r >= 0) {
                        (void) enable_controllers(h, SLICE);
                        r = cg_create(h, cgroup);
                }
                if (r < 0) {
                        failure_set(f, r, "Failed to create cgroup %s in %s: %m", cgroup, h->mount_point);
                        goto fail;
                }
        }
        for (size_t i = 0; i < fs->n; i++) {
                r = cg_attach(fs->rooted + i, cgroup, machine->leader.pid);
                if (r < 0) {
                        failure_set(f, r, "Failed to move leader %i into %s/%s: %m", (int) machine->leader.pid,
                                    fs->rooted[i].mount_point, cgroup);
                        goto fail;
                }
        }
        for (size_t i = 0; i < fs->n; i++)
                paths[i] = cgroup;
        r = cg_limits_apply(&req->limits, fs->rooted, paths, fs->n, &failed);
        if (r < 0) {
                if (r == -EOPNOTSUPP)
                        failure_set(f, r, "Cannot apply %s: no cgroup hierarchy here has the controller it needs.",
                                    strna(failed));
                else
                        failure_set(f, r, "Failed to apply %s: %m", strna(failed));
                goto fail;
        }
        delegate_to_guest(fs, machine, cgroup);

        machine->unit = TAKE_PTR(unit);
        machine->cgroup = TAKE_PTR(cgroup);
        machine->cgroup_owned = true;
        return 1;

fail:
        /* The leader goes back where it was only in spirit: we cannot know its old cgroups any
         * more, so move it to the root, which is at least inside what we were given. */
        for (size_t i = 0; i < fs->n; i++)
                (void) cg_attach(fs->rooted + i, "/", machine->leader.pid);
        remove_everywhere(fs, cgroup);
        return r < 0 ? r : -EIO;
}

static int fs_kill_all(Machine *machine, int signo) {
        CGroupFs *fs = fs_of(machine->manager);

        if (!machine->cgroup)
                return pidref_kill(&machine->leader, signo);
        if (signo == SIGKILL)
                return kill_rounds(fs, machine->cgroup);
        /* One hierarchy only: every process is in each of them, and must get the signal once. */
        int r = cg_kill_recursive(fs->rooted + fs->primary, machine->cgroup, signo);
        return r < 0 ? r : 0;
}

static int fs_stop(Machine *machine) {
        return fs_kill_all(machine, SIGKILL);
}

static void fs_release(Machine *machine, bool kill_rest) {
        CGroupFs *fs = fs_of(machine->manager);

        if (!machine->cgroup || !machine->cgroup_owned)
                return;
        if (kill_rest)
                (void) kill_rounds(fs, machine->cgroup);
        if (remove_all_or_busy(fs, machine->cgroup))
                pending_add(machine->manager, machine->cgroup, kill_rest);
}

static int fs_adopt(Machine *machine) {
        CGroupFs *fs = fs_of(machine->manager);

        if (!machine->cgroup)
                return 0;
        if (!cgroup_path_ok(machine->cgroup)) {
                free(machine->cgroup);
                machine->cgroup = NULL;
                machine->cgroup_owned = false;
                return -EINVAL;
        }
        _cleanup_free_ char *dir = cg_fs_path(fs->rooted + fs->primary, machine->cgroup, NULL);
        if (!dir)
                return -ENOMEM;
        return access(dir, F_OK) < 0 ? -ENOENT : 0;
}

static void fs_discard(Manager *m, const char *unit, const char *cgroup, bool owned) {
        CGroupFs *fs = fs_of(m);

        if (!owned || !cgroup_path_ok(cgroup))
                return;
        (void) kill_rounds(fs, cgroup);
        if (remove_all_or_busy(fs, cgroup))
                pending_add(m, cgroup, true);
}

static bool cgroup_is_known(Manager *m, const char *cgroup) {
        Machine *machine;
        LIST_FOREACH(machines, machine, m->machines)
                if ((machine->cgroup && streq(machine->cgroup, cgroup)) || state_cgroup_is_own(machine->name, cgroup))
                        return true;
        return false;
}

/* Only the children of our own slice, below our own root: nothing elsewhere is ours to kill. In
 * every hierarchy: a kill -9 may come between making the scope in one and in the next. */
static void fs_reconcile(Manager *m) {
        CGroupFs *fs = fs_of(m);
        _cleanup_strv_free_ char **orphans = NULL;

        for (size_t i = 0; i < fs->n; i++) {
                _cleanup_free_ char *dir = cg_fs_path(fs->rooted + i, SLICE, NULL);
                DIR *d = dir ? opendir(dir) : NULL;
                if (!d)
                        continue;
                for (struct dirent *de; (de = readdir(d));) {
                        size_t l = strlen(de->d_name);
                        if (de->d_type != DT_DIR || de->d_name[0] == '.' || l < 7 || !streq(de->d_name + l - 6, ".scope"))
                                continue;
                        _cleanup_free_ char *cgroup = strjoin(SLICE "/", de->d_name);
                        if (!cgroup || strv_contains(orphans, cgroup) || cgroup_is_known(m, cgroup) ||
                            state_dir_names_cgroup(m, cgroup))
                                continue;
                        if (strv_consume(&orphans, TAKE_PTR(cgroup)) < 0)
                                break;
                }
                closedir(d);
        }
        for (char **c = orphans; c && *c; c++) {
                log_notice("Scope %s has no machine (machined stopped before saving its state?): killing its processes and removing it.",
                           *c + strlen(SLICE "/"));
                (void) kill_rounds(fs, *c);
                if (remove_all_or_busy(fs, *c))
                        pending_add(m, *c, true);
        }
}

const CGroupOps cgroup_ops_cgroupfs = {
        .name = "cgroupfs",
        .init = fs_init,
        .done = fs_done,
        .start = fs_start,
        .stop = fs_stop,
        .kill_all = fs_kill_all,
        .release = fs_release,
        .adopt = fs_adopt,
        .discard = fs_discard,
        .reconcile = fs_reconcile,
        .pid_get_unit = fs_pid_get_unit,
};
