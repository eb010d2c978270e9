/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fd-util.h"
#include "log.h"
#include "parse-util.h"
#include "spawn-cgroup.h"
#include "spawn-oci.h"
#include "spawn-devices.h"
#include "spawn-mount.h"
#include "spawn-options.h"

#define JANITOR_EMPTY_TIMEOUT_MSEC 5000

static int systemd_version_in_dir(int rootfd, const char *dir, unsigned *ret) {
        _cleanup_close_ int fd = open_in_root(rootfd, dir, O_RDONLY | O_DIRECTORY, 0);
        if (fd < 0)
                return 0;
        DIR *d = fdopendir(fd);
        if (!d)
                return -ENOMEM;
        fd = -EBADF; /* owned by d now */
        unsigned best = 0;
        for (struct dirent *de; (de = readdir(d));) {
                const char *v = startswith(de->d_name, "libsystemd-shared-");
                if (!v)
                        continue;
                unsigned n = 0;
                for (; *v >= '0' && *v <= '9' && n < 100000; v++)
                        n = n * 10 + (unsigned) (*v - '0');
                best = MAX(best, n);
        }
        closedir(d);
        *ret = best;
        return best > 0;
}

int guest_systemd_version(int rootfd, unsigned *ret) {
        static const char *const dirs[] = { "/usr/lib/systemd", "/lib/systemd", "/usr/lib64/systemd" };
        int r;

        for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
                r = systemd_version_in_dir(rootfd, dirs[i], ret);
                if (r != 0)
                        return r;
        }
        /* Debian and Ubuntu keep it in the multiarch directory: /usr/lib/<triplet>/systemd. */
        _cleanup_close_ int fd = open_in_root(rootfd, "/usr/lib", O_RDONLY | O_DIRECTORY, 0);
        DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
        if (!d) {
                *ret = 0;
                return 0;
        }
        fd = -EBADF;
        r = 0;
        for (struct dirent *de; r == 0 && (de = readdir(d));) {
                if (!strstr(de->d_name, "-linux-"))
                        continue;
                _cleanup_free_ char *p = strjoin("/usr/lib/", de->d_name, "/systemd");
                if (!p) {
                        r = -ENOMEM;
                        break;
                }
                r = systemd_version_in_dir(rootfd, p, ret);
        }
        closedir(d);
        if (r == 0)
                *ret = 0;
        return r < 0 ? r : 0;
}

int spawn_cgroup_pick_layout(const char *directory, CGroupMode host, CGroupMode *ret) {
        unsigned v = 0;
        int r;

        _cleanup_close_ int rootfd = open(directory, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0)
                return log_error_errno(errno, "Failed to open %s: %m", directory);
        r = guest_systemd_version(rootfd, &v);
        if (r < 0)
                return log_error_errno(r, "Failed to find the guest's systemd version: %m");

        switch (host) {
        case CGROUP_MODE_UNIFIED:
                if (v > 0 && v < 230)
                        return log_error_errno(EOPNOTSUPP, "The guest's systemd %u cannot run on the unified cgroup hierarchy this host has.", v);
                *ret = CGROUP_MODE_UNIFIED;
                return 0;
        case CGROUP_MODE_HYBRID:
                /* Every systemd since 230 runs on the unified hierarchy, and 256 and newer need
                 * it. On a hybrid host the v1 controllers belong to the host anyway (a guest may
                 * not write them), so the hybrid layout would only add v1 bookkeeping: measured
                 * here, Debian 12 boots 9% faster on unified and without the hybrid layout's
                 * "Failed to create symlink" errors. Older systemd gets the legacy layout;
                 * other inits do best with plain v2. */
                *ret = v == 0 || v >= 230 ? CGROUP_MODE_UNIFIED : CGROUP_MODE_LEGACY;
                return 0;
        case CGROUP_MODE_LEGACY:
                if (v >= 256)
                        return log_error_errno(EOPNOTSUPP, "The guest's systemd %u needs the unified cgroup hierarchy, which this host does not mount.", v);
                *ret = CGROUP_MODE_LEGACY;
                return 0;
        default:
                return -EINVAL;
        }
}

static const char *limits_v2_controllers(const CGroupLimits *l, char buf[static 64]) {
        buf[0] = 0;
        if (l->memory_max != UINT64_MAX)
                strcat(buf, "+memory ");
        if (l->tasks_max != UINT64_MAX)
                strcat(buf, "+pids ");
        if (l->cpu_quota_per_sec_usec != UINT64_MAX || l->cpu_weight != UINT64_MAX)
                strcat(buf, "+cpu ");
        if (l->io_weight != UINT64_MAX)
                strcat(buf, "+io ");
        return buf;
}

/* On cgroup v2 a limit needs its controller enabled in our cgroup's subtree_control. Only those
 * our own cgroup has are tried; the kernel refuses (EBUSY) while our cgroup has processes of
 * its own and is not the root. */
static int enable_v2_controllers(const CGroupHierarchy *h, const CGroupLimits *l) {
        _cleanup_free_ char *available = NULL;
        char want[64];
        int r;

        if (cg_read(h, h->path, "cgroup.controllers", &available) < 0)
                return 0;
        limits_v2_controllers(l, want);
        for (char *c = strtok(want, " "); c; c = strtok(NULL, " ")) {
                if (!strstr(available, c + 1))
                        continue;
                r = cg_enable_controllers(h, h->path, c);
                if (r < 0)
                        return log_error_errno(r, "Failed to delegate the %s controller of %s%s: %m", c + 1, h->path,
                                               r == -EBUSY ? " (it has processes of its own; run spawn in a cgroup of its own, or register with machined)" : "");
        }
        return 0;
}

static int janitor_cleanup(SpawnCGroup *cg) {
        for (size_t i = 0; i < cg->n_hierarchies; i++) {
                const CGroupHierarchy *h = cg->hierarchies + i;
                if (!cg->paths[i])
                        continue;
                /* The PID namespace is gone when we get here in all normal cases; this catches
                 * processes someone moved into the container's cgroup from outside. */
                for (int t = 0; t < JANITOR_EMPTY_TIMEOUT_MSEC / 10; t++) {
                        (void) cg_kill_recursive(h, cg->paths[i], SIGKILL);
                        if (cg_is_empty_recursive(h, cg->paths[i]) != 0)
                                break;
                        usleep(10000);
                }
                for (int t = 0; t < 100; t++) {
                        int r = cg_remove_recursive(h, cg->paths[i]);
                        if (r != -EBUSY)
                                break;
                        usleep(10000);
                }
        }
        return 0;
}

/* The janitor of the previous container, released without waiting (--restart-on-reboot). */
static pid_t released_janitor = 0;

static int janitor_start(SpawnCGroup *cg) {
        int pipefd[2];

        if (released_janitor > 0) {
                while (waitpid(released_janitor, NULL, 0) < 0 && errno == EINTR)
                        ;
                released_janitor = 0;
        }

        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return log_error_errno(errno, "Failed to create pipe: %m");
        pid_t pid = fork();
        if (pid < 0) {
                safe_close(pipefd[0]);
                safe_close(pipefd[1]);
                return log_error_errno(errno, "Failed to fork the cgroup janitor: %m");
        }
        if (pid == 0) {
                char c;
                /* Keep nothing of the supervisor's open: a test reading spawn's stdout to EOF
                 * must not wait for us. */
                if (dup2(pipefd[0], 3) < 0)
                        _exit(EXIT_FAILURE);
                (void) syscall(SYS_close_range, 4, ~0U, 0);
                int null = open("/dev/null", O_RDWR | O_CLOEXEC);
                for (int i = 0; null >= 0 && i < 3; i++)
                        (void) dup2(null, i);
                (void) prctl(PR_SET_NAME, "(spawn-cleanup)");
                /* ^C on the terminal reaches the whole process group; the janitor must outlive
                 * the supervisor to do its job. */
                signal(SIGINT, SIG_IGN);
                signal(SIGTERM, SIG_IGN);
                signal(SIGHUP, SIG_IGN);
                signal(SIGPIPE, SIG_IGN);
                /* A byte means the supervisor cleaned up itself; EOF without one means it died. */
                ssize_t k;
                do
                        k = read(3, &c, 1);
                while (k < 0 && errno == EINTR);
                if (k != 1)
                        janitor_cleanup(cg);
                _exit(EXIT_SUCCESS);
        }
        safe_close(pipefd[0]);
        cg->janitor_fd = pipefd[1];
        cg->janitor_pid = pid;
        return 0;
}

/* The container gets a cgroup of its own in every hierarchy, v1 controllers included: the devices
 * controller must hold its device policy, and a container left in spawn's cgroup of a v1
 * hierarchy (perhaps that hierarchy's root) could change what spawn and its siblings get. With
 * `devices_only` (the registry made the container's cgroups) just the v1 devices hierarchy. */
static void hierarchies_filter(SpawnCGroup *cg, bool devices_only) {
        size_t n = 0;
        for (size_t i = 0; i < cg->n_hierarchies; i++) {
                CGroupHierarchy *h = cg->hierarchies + i;
                if (!devices_only || (!h->unified && cg_hierarchy_has_controller(h, "devices")))
                        cg->hierarchies[n++] = *h;
                else {
                        free(h->mount_point);
                        free(h->controllers);
                        free(h->path);
                }
        }
        cg->n_hierarchies = n;
}

static bool host_has_char_device(const char *path, unsigned maj, unsigned min) {
        struct stat st;
        return stat(path, &st) >= 0 && S_ISCHR(st.st_mode) && major(st.st_rdev) == maj && minor(st.st_rdev) == min;
}

static int device_policy_for(const SpawnConfig *c, DevicePolicy *ret) {
        return device_policy_build(host_has_char_device("/dev/net/tun", 10, 200), host_has_char_device("/dev/fuse", 10, 229),
                                   &c->opt.isolation.device_allow, ret);
}

/* The device policy on a cgroup2 cgroup: the kernel runs its programs on every device access
 * also on a hybrid host, where the v1 devices controller enforces the same list. */
static int device_policy_apply_v2(const CGroupHierarchy *h, const char *path, const DevicePolicy *p, bool required) {
        _cleanup_free_ char *fs = cg_fs_path(h, path, NULL);
        if (!fs)
                return log_oom();
        _cleanup_close_ int fd = open(fs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return log_error_errno(errno, "Failed to open cgroup %s: %m", fs);
        int r = device_policy_attach_bpf(fd, p);
        if (r < 0 && required)
                return log_error_errno(r, "Failed to attach the device policy (a BPF device program) to cgroup %s: %m", fs);
        return 0;
}

/* On cgroup v1 the devices controller of the container's cgroup; on cgroup2 a BPF program. */
static int spawn_cgroup_apply_devices(const SpawnCGroup *cg, const SpawnConfig *c, const CGroupHierarchy *v2, const char *v2_path) {
        _cleanup_(device_policy_done) DevicePolicy p = {};
        bool v1_done = false;
        int r;

        r = device_policy_for(c, &p);
        if (r < 0)
                return log_oom();
        for (size_t i = 0; i < cg->n_hierarchies; i++) {
                const CGroupHierarchy *h = cg->hierarchies + i;
                if (h->unified || !cg_hierarchy_has_controller(h, "devices"))
                        continue;
                r = device_policy_apply_v1(h, cg->paths[i], &p);
                if (r < 0)
                        return log_error_errno(r, "Failed to apply the device policy to cgroup %s (devices): %m", cg->paths[i]);
                v1_done = true;
        }
        for (size_t i = 0; !v2 && i < cg->n_hierarchies; i++)
                if (cg->hierarchies[i].unified) {
                        v2 = cg->hierarchies + i;
                        v2_path = cg->paths[i];
                }
        if (!v2) {
                if (!v1_done)
                        return log_error_errno(EOPNOTSUPP, "No devices controller and no cgroup2 hierarchy: cannot enforce the container's device policy.");
                return 0;
        }
        return device_policy_apply_v2(v2, v2_path, &p, !v1_done);
}

/* The parents of an engine's cgroupsPath (podman's libpod_parent, a slice), each initialized like
 * a cgroup of ours (cpuset's cpus and mems); they stay when the container goes, as with runc. */
static int cgroup_create_parents(const CGroupHierarchy *h, const char *path) {
        _cleanup_free_ char *prefix = strdup(path);
        if (!prefix)
                return log_oom();
        for (char *slash = prefix + 1; (slash = strchr(slash, '/')); slash++) {
                *slash = '\0';
                _cleanup_free_ char *fs = cg_fs_path(h, prefix, NULL);
                if (!fs)
                        return log_oom();
                if (mkdir(fs, 0755) >= 0) {
                        int r = cg_init_new(h, prefix);
                        if (r < 0)
                                return log_error_errno(r, "Failed to initialize cgroup %s: %m", fs);
                } else if (errno != EEXIST)
                        return log_error_errno(errno, "Failed to create cgroup %s: %m", fs);
                *slash = '/';
        }
        return 0;
}

static int spawn_cgroup_create(SpawnCGroup *cg, const SpawnConfig *c, bool devices_only) {
        _cleanup_free_ char *unit = NULL, *escaped = NULL;
        int r;

        r = cg_enumerate(0, &cg->hierarchies, &cg->n_hierarchies);
        if (r < 0)
                return log_error_errno(r, "Failed to enumerate cgroup hierarchies: %m");
        hierarchies_filter(cg, devices_only);
        cg->paths = calloc(cg->n_hierarchies + 1, sizeof(char *));
        if (!cg->paths)
                return log_oom();

        unit = strjoin("machine-", c->res.machine, ".scope");
        if (!unit || !(escaped = cg_escape(unit)))
                return log_oom();
        /* --oci-bundle's linux.cgroupsPath, where the engine wants the container (checked already). */
        _cleanup_free_ char *oci_path = NULL;
        bool absolute = false;
        if (c->opt.oci && spawn_oci_cgroup_path(c->opt.oci->cgroups_path, &oci_path, &absolute) < 0)
                return log_oom();

        for (size_t i = 0; i < cg->n_hierarchies; i++) {
                const CGroupHierarchy *h = cg->hierarchies + i;
                _cleanup_free_ char *p = absolute ? strjoin("/", oci_path) :
                                         strjoin(h->path, streq(h->path, "/") ? "" : "/", oci_path ?: escaped);
                if (!p)
                        return log_oom();

                _cleanup_free_ char *fs = cg_fs_path(h, p, NULL);
                if (!fs)
                        return log_oom();
                if (oci_path) {
                        r = cgroup_create_parents(h, p);
                        if (r < 0)
                                return r;
                }
                if (mkdir(fs, 0755) < 0) {
                        if (errno != EEXIST)
                                return log_error_errno(errno, "Failed to create cgroup %s: %m", fs);
                        /* Left over from a container that ended without cleanup: reuse it only
                         * if nothing runs there; a running machine of this name is an error. */
                        if (cg_is_empty_recursive(h, p) <= 0)
                                return log_error_errno(EEXIST, "Machine %s seems to be running already (cgroup %s has processes).", c->res.machine, fs);
                        (void) cg_remove_recursive(h, p);
                        if (mkdir(fs, 0755) < 0)
                                return log_error_errno(errno, "Failed to create cgroup %s: %m", fs);
                }
                cg->paths[i] = TAKE_PTR(p);
                r = cg_init_new(h, cg->paths[i]);
                if (r < 0) {
                        janitor_cleanup(cg);
                        return log_error_errno(r, "Failed to initialize cgroup %s: %m", fs);
                }
        }

        /* From here on every exit path, even SIGKILL, removes what we created. */
        r = janitor_start(cg);
        if (r < 0) {
                janitor_cleanup(cg);
                return r;
        }
        return 0;
}

int spawn_cgroup_setup(SpawnCGroup *cg, const SpawnConfig *c) {
        int r;

        r = spawn_cgroup_create(cg, c, false);
        if (r < 0)
                return r;
        r = spawn_cgroup_apply_devices(cg, c, NULL, NULL);
        if (r < 0)
                return r;

        if (!cg_limits_is_empty(&c->opt.limits)) {
                const char *failed = NULL;
                for (size_t i = 0; i < cg->n_hierarchies; i++)
                        if (cg->hierarchies[i].unified) {
                                r = enable_v2_controllers(cg->hierarchies + i, &c->opt.limits);
                                if (r < 0)
                                        return r;
                        }
                r = cg_limits_apply(&c->opt.limits, cg->hierarchies, cg->paths, cg->n_hierarchies, &failed);
                if (r == -EOPNOTSUPP)
                        return log_error_errno(r, "Property %s= is not supported on this host (no cgroup controller or attribute for it).", failed);
                if (r < 0)
                        return log_error_errno(r, "Failed to apply %s=: %m", failed);
        }
        return 0;
}

int spawn_cgroup_setup_registered(SpawnCGroup *cg, const SpawnConfig *c, pid_t pid) {
        SpawnCGroup theirs = SPAWN_CGROUP_NULL;
        CGroupHierarchy *ours = NULL;
        size_t n_ours = 0;
        int r;

        /* The registry placed the container in cgroup2 (and perhaps name=systemd), maybe also in
         * a v1 devices cgroup of its own; if it left it in ours there, the container gets its own
         * below ours, as without a registry. */
        r = cg_enumerate(pid, &theirs.hierarchies, &theirs.n_hierarchies);
        if (r >= 0)
                r = cg_enumerate(0, &ours, &n_ours);
        if (r < 0) {
                r = log_error_errno(r, "Failed to enumerate cgroup hierarchies: %m");
                goto finish;
        }
        const CGroupHierarchy *v2 = NULL;
        bool registry_devices = false;
        for (size_t i = 0; i < theirs.n_hierarchies && i < n_ours; i++) {
                if (theirs.hierarchies[i].unified)
                        v2 = theirs.hierarchies + i;
                else if (cg_hierarchy_has_controller(theirs.hierarchies + i, "devices"))
                        registry_devices = !streq(theirs.hierarchies[i].path, ours[i].path);
        }

        if (registry_devices) {
                /* The registry's cgroups: not ours to remove, only to restrict. */
                theirs.paths = calloc(theirs.n_hierarchies + 1, sizeof(char *));
                for (size_t i = 0; theirs.paths && i < theirs.n_hierarchies; i++)
                        if (!(theirs.paths[i] = strdup(theirs.hierarchies[i].path)))
                                break;
                if (!theirs.paths || (theirs.n_hierarchies > 0 && !theirs.paths[theirs.n_hierarchies - 1]))
                        r = log_oom();
                else
                        r = spawn_cgroup_apply_devices(&theirs, c, NULL, NULL);
                goto finish;
        }

        r = spawn_cgroup_create(cg, c, true);
        if (r >= 0)
                r = spawn_cgroup_attach(cg, pid);
        if (r >= 0)
                r = spawn_cgroup_apply_devices(cg, c, v2, v2 ? v2->path : NULL);
finish:
        cg_hierarchies_free(theirs.hierarchies, theirs.n_hierarchies);
        strv_free(theirs.paths);
        cg_hierarchies_free(ours, n_ours);
        return r;
}

int spawn_cgroup_attach(SpawnCGroup *cg, pid_t pid) {
        for (size_t i = 0; i < cg->n_hierarchies; i++) {
                int r = cg_attach(cg->hierarchies + i, cg->paths[i], pid);
                if (r < 0)
                        return log_error_errno(r, "Failed to move the container into cgroup %s (%s): %m",
                                               cg->paths[i], cg->hierarchies[i].mount_point);
        }
        return 0;
}

void spawn_cgroup_finish(SpawnCGroup *cg) {
        /* The normal path: clean up here, then release the janitor without waiting for it to
         * get scheduled and exit (it would do nothing more) — it is on every spawn's exit path. */
        if (cg->janitor_fd >= 0) {
                janitor_cleanup(cg);
                if (write(cg->janitor_fd, "D", 1) == 1) {
                        cg->janitor_fd = safe_close(cg->janitor_fd);
                        /* Reaped when spawn exits, or before the next boot's janitor starts. */
                        released_janitor = cg->janitor_pid;
                        cg->janitor_pid = 0;
                }
        }
        cg->janitor_fd = safe_close(cg->janitor_fd);
        if (cg->janitor_pid > 0) {
                while (waitpid(cg->janitor_pid, NULL, 0) < 0 && errno == EINTR)
                        ;
                cg->janitor_pid = 0;
        }
        cg_hierarchies_free(cg->hierarchies, cg->n_hierarchies);
        strv_free(cg->paths);
        *cg = SPAWN_CGROUP_NULL;
}

static int mount_v1_hierarchy(int rootfd, const char *controllers) {
        const char *name = startswith(controllers, "name=");
        int r;

        if (name) {
                /* Named hierarchies (name=systemd) are where a legacy/hybrid guest tracks its
                 * processes: writable, as its own subtree must be. */
                _cleanup_free_ char *where = strjoin("/sys/fs/cgroup/", name);
                _cleanup_free_ char *data = strjoin("none,", controllers);
                if (!where || !data)
                        return log_oom();
                return mount_in_root(rootfd, "cgroup", where, "cgroup", MS_NOSUID | MS_NODEV | MS_NOEXEC, data, true);
        }

        /* Controllers read-only, as nspawn does without user namespacing: the guest may read its
         * accounting, limits are the host's business. */
        _cleanup_free_ char *where = strjoin("/sys/fs/cgroup/", controllers);
        if (!where)
                return log_oom();
        r = mount_in_root(rootfd, "cgroup", where, "cgroup", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, controllers, true);
        if (r < 0 || !strchr(controllers, ','))
                return r;

        /* "cpu,cpuacct" is also reachable as "cpu" and "cpuacct". */
        _cleanup_close_ int dir = open_in_root(rootfd, "/sys/fs/cgroup", O_RDONLY | O_DIRECTORY, 0);
        if (dir < 0)
                return log_error_errno(dir, "Failed to open /sys/fs/cgroup: %m");
        _cleanup_free_ char *copy = strdup(controllers);
        if (!copy)
                return log_oom();
        for (char *c = strtok(copy, ","); c; c = strtok(NULL, ","))
                if (symlinkat(controllers, dir, c) < 0 && errno != EEXIST)
                        return log_error_errno(errno, "Failed to create /sys/fs/cgroup/%s: %m", c);
        return 0;
}

int spawn_cgroup_mount_v1(int rootfd, bool with_unified) {
        _cleanup_strv_free_ char **controllers = NULL;
        int r;

        r = cg_enumerate_v1_controllers(&controllers);
        if (r < 0)
                return log_error_errno(r, "Failed to enumerate cgroup hierarchies: %m");
        /* A legacy guest needs name=systemd even where the host has none. */
        if (!strv_contains(controllers, "name=systemd") && strv_extend(&controllers, "name=systemd") < 0)
                return log_oom();
        for (char **c = controllers; *c; c++) {
                r = mount_v1_hierarchy(rootfd, *c);
                if (r < 0)
                        return r;
        }

        if (with_unified) {
                r = mount_in_root(rootfd, "cgroup2", "/sys/fs/cgroup/unified", "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, true);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* -U: the container's root gets its cgroup (the directory and the files a delegate writes), as
 * systemd delegates a cgroup to an unprivileged manager; only where it can use it, the cgroup2
 * hierarchy and the named systemd one. The devices and other v1 controllers stay the host's. */
int spawn_cgroup_delegate(pid_t pid, uid_t uid, gid_t gid) {
        static const char *const files[] = { "", "/cgroup.procs", "/cgroup.subtree_control", "/cgroup.threads", "/tasks" };
        CGroupHierarchy *hs = NULL;
        size_t n = 0;
        int r;

        r = cg_enumerate(pid, &hs, &n);
        if (r < 0)
                return log_error_errno(r, "Failed to enumerate the container's cgroups: %m");
        for (size_t i = 0; i < n && r >= 0; i++) {
                if (!hs[i].unified && !streq(hs[i].controllers, "name=systemd"))
                        continue;
                for (size_t f = 0; f < ELEMENTSOF(files); f++) {
                        char p[PATH_MAX];
                        if (snprintf(p, sizeof(p), "%s%s%s", hs[i].mount_point, hs[i].path, files[f]) >= (int) sizeof(p))
                                continue;
                        if (chown(p, uid, gid) < 0 && errno != ENOENT) {
                                r = log_error_errno(errno, "Failed to hand cgroup %s to the container's root: %m", p);
                                break;
                        }
                }
        }
        cg_hierarchies_free(hs, n);
        return r < 0 ? r : 0;
}
