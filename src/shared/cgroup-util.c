/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "cgroup-util.h"
#include "fd-util.h"
#include "macro.h"
#include "parse-util.h"
#include "string-table.h"
#include "strv.h"

static const char *const cgroup_mode_table[_CGROUP_MODE_MAX] = {
        [CGROUP_MODE_LEGACY] = "legacy",
        [CGROUP_MODE_HYBRID] = "hybrid",
        [CGROUP_MODE_UNIFIED] = "unified",
};

DEFINE_STRING_TABLE_LOOKUP(cgroup_mode, CGroupMode)

int cg_detect_mode(CGroupMode *ret) {
        struct statfs fs;

        if (statfs("/sys/fs/cgroup", &fs) < 0)
                return negative_errno();
        if (fs.f_type == CGROUP2_SUPER_MAGIC) {
                *ret = CGROUP_MODE_UNIFIED;
                return 0;
        }
        if (fs.f_type != TMPFS_MAGIC)
                return -ENOMEDIUM;
        if (statfs("/sys/fs/cgroup/unified", &fs) >= 0 && fs.f_type == CGROUP2_SUPER_MAGIC)
                *ret = CGROUP_MODE_HYBRID;
        else
                *ret = CGROUP_MODE_LEGACY;
        return 0;
}

static void cg_hierarchies_free_one(CGroupHierarchy *h) {
        free(h->mount_point);
        free(h->controllers);
        free(h->path);
}

void cg_hierarchies_free(CGroupHierarchy *l, size_t n) {
        for (size_t i = 0; i < n; i++)
                cg_hierarchies_free_one(l + i);
        free(l);
}

/* Mount options of a cgroup v1 superblock that are not controllers. */
static bool option_is_controller(const char *o) {
        static const char *const not_controllers[] = {
                "rw", "ro", "noprefix", "clone_children", "xattr", "none", "cpuset_v2_mode",
                "favordynmods", "nofavordynmods",
        };
        if (startswith(o, "release_agent="))
                return false;
        for (size_t i = 0; i < ELEMENTSOF(not_controllers); i++)
                if (streq(o, not_controllers[i]))
                        return false;
        return true;
}

static bool controller_sets_equal(const char *a, const char *b) {
        _cleanup_free_ char *x = strdup(a), *y = strdup(b);
        size_t na = 0, nb = 0;

        if (!x || !y)
                return false;
        for (char *c = strtok(x, ","); c; c = strtok(NULL, ","), na++) {
                bool found = false;
                _cleanup_free_ char *yy = strdup(b);
                if (!yy)
                        return false;
                char *save = NULL;
                for (char *d = strtok_r(yy, ",", &save); d; d = strtok_r(NULL, ",", &save))
                        if (streq(c, d))
                                found = true;
                if (!found)
                        return false;
        }
        for (char *d = strtok(y, ","); d; d = strtok(NULL, ","))
                nb++;
        return na == nb;
}

int cg_parse_proc_cgroup(const char *content, const char *controllers, bool unified, char **ret_path) {
        _cleanup_free_ char *copy = strdup(content);
        char *save = NULL;

        if (!copy)
                return -ENOMEM;
        for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *c1 = strchr(line, ':');
                if (!c1)
                        continue;
                char *c2 = strchr(c1 + 1, ':');
                if (!c2)
                        continue;
                *c2 = 0;
                const char *ctrl = c1 + 1, *path = c2 + 1;
                bool match = unified ? (strneq(line, "0:", 2) && *ctrl == 0)
                                     : (*ctrl != 0 && controller_sets_equal(ctrl, controllers));
                if (!match)
                        continue;
                char *p = strdup(path);
                if (!p)
                        return -ENOMEM;
                *ret_path = p;
                return 0;
        }
        return -ENOENT;
}

/* Undoes the octal escapes of mountinfo paths (\040 for space, ...). */
static void unescape_octal(char *s) {
        char *w = s;
        for (char *p = s; *p; p++) {
                if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' && p[3] >= '0' && p[3] <= '7') {
                        *w++ = (char) ((p[1] - '0') << 6 | (p[2] - '0') << 3 | (p[3] - '0'));
                        p += 3;
                } else
                        *w++ = *p;
        }
        *w = 0;
}

/* Splits a mountinfo line: returns the mount point, fstype and super options (in place). */
static int mountinfo_split(char *line, char **ret_root, char **ret_mount_point, char **ret_fstype, char **ret_super) {
        char *fields[6];
        char *save = NULL, *sep = strstr(line, " - ");
        size_t i = 0;

        if (!sep)
                return 0;
        *sep = 0;
        for (char *f = strtok_r(line, " ", &save); f && i < 6; f = strtok_r(NULL, " ", &save))
                fields[i++] = f;
        if (i < 5)
                return 0;
        char *save2 = NULL;
        char *fstype = strtok_r(sep + 3, " ", &save2);
        (void) strtok_r(NULL, " ", &save2); /* source */
        char *super = strtok_r(NULL, " \n", &save2);
        if (!fstype || !super)
                return 0;
        unescape_octal(fields[3]);
        unescape_octal(fields[4]);
        *ret_root = fields[3];
        *ret_mount_point = fields[4];
        *ret_fstype = fstype;
        *ret_super = super;
        return 1;
}

/* The controllers named in a v1 superblock's options, comma-separated; "" if none. */
static char *v1_controllers_from_options(char *super) {
        char *controllers = strdup(""), *save = NULL;
        for (char *o = strtok_r(super, ",", &save); controllers && o; o = strtok_r(NULL, ",", &save)) {
                if (!option_is_controller(o))
                        continue;
                char *n = *controllers ? strjoin(controllers, ",", o) : strdup(o);
                free(controllers);
                controllers = n;
        }
        return controllers;
}

int cg_enumerate_v1_controllers(char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        _cleanup_free_ char *line = NULL;
        size_t size = 0;
        int r = 0;

        FILE *f = fopen("/proc/self/mountinfo", "re");
        if (!f)
                return negative_errno();
        while (r >= 0 && getline(&line, &size, f) >= 0) {
                char *root, *mount_point, *fstype, *super;
                if (mountinfo_split(line, &root, &mount_point, &fstype, &super) <= 0 ||
                    !streq(fstype, "cgroup") || !startswith(mount_point, "/sys/fs/cgroup"))
                        continue;
                char *c = v1_controllers_from_options(super);
                if (!c)
                        r = -ENOMEM;
                else if (!*c || strv_contains(l, c))
                        free(c);
                else
                        r = strv_consume(&l, c);
        }
        fclose(f);
        if (r < 0)
                return r;
        if (!l && !(l = calloc(1, sizeof(char *))))
                return -ENOMEM;
        *ret = TAKE_PTR(l);
        return 0;
}

static int hierarchy_from_mountinfo_line(char *line, const char *proc_cgroup, CGroupHierarchy *ret) {
        char *root, *mount_point, *fstype, *super;

        if (mountinfo_split(line, &root, &mount_point, &fstype, &super) <= 0)
                return 0;
        bool unified = streq(fstype, "cgroup2");
        if (!unified && !streq(fstype, "cgroup"))
                return 0;
        if (!startswith(mount_point, "/sys/fs/cgroup"))
                return 0;

        _cleanup_free_ char *controllers = unified ? strdup("") : v1_controllers_from_options(super);
        if (!controllers)
                return -ENOMEM;
        if (!unified && !*controllers)
                return 0;

        _cleanup_free_ char *path = NULL;
        int r = cg_parse_proc_cgroup(proc_cgroup, controllers, unified, &path);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;

        /* A hierarchy mounted from below its root shows paths relative to that mount root. */
        if (!streq(root, "/")) {
                const char *rest = startswith(path, root);
                if (!rest || (*rest != 0 && *rest != '/'))
                        return 0;
                char *p = strdup(*rest ? rest : "/");
                if (!p)
                        return -ENOMEM;
                free(path);
                path = p;
        }

        *ret = (CGroupHierarchy) {
                .mount_point = strdup(mount_point),
                .controllers = TAKE_PTR(controllers),
                .unified = unified,
                .path = TAKE_PTR(path),
        };
        if (!ret->mount_point)
                return -ENOMEM;
        return 1;
}

int cg_enumerate(pid_t pid, CGroupHierarchy **ret, size_t *ret_n) {
        _cleanup_free_ char *proc_cgroup = NULL, *line = NULL;
        CGroupHierarchy *l = NULL;
        size_t n = 0, size = 0;
        char p[64];
        int r;

        snprintf(p, sizeof(p), pid == 0 ? "/proc/self/cgroup" : "/proc/%i/cgroup", (int) pid);
        r = read_file_at(AT_FDCWD, p, 1024 * 1024, &proc_cgroup, NULL);
        if (r < 0)
                return r;

        FILE *f = fopen("/proc/self/mountinfo", "re");
        if (!f)
                return negative_errno();
        while (getline(&line, &size, f) >= 0) {
                CGroupHierarchy h;
                r = hierarchy_from_mountinfo_line(line, proc_cgroup, &h);
                if (r < 0) {
                        fclose(f);
                        cg_hierarchies_free(l, n);
                        return r;
                }
                if (r == 0)
                        continue;
                /* The same hierarchy mounted twice: the first mount under /sys/fs/cgroup wins. */
                bool dup = false;
                for (size_t i = 0; i < n; i++)
                        if (l[i].unified == h.unified && streq(l[i].controllers, h.controllers))
                                dup = true;
                if (dup) {
                        cg_hierarchies_free_one(&h);
                        continue;
                }
                CGroupHierarchy *nl = realloc(l, sizeof(CGroupHierarchy) * (n + 1));
                if (!nl) {
                        cg_hierarchies_free_one(&h);
                        fclose(f);
                        cg_hierarchies_free(l, n);
                        return -ENOMEM;
                }
                l = nl;
                l[n++] = h;
        }
        fclose(f);
        *ret = l;
        *ret_n = n;
        return 0;
}

bool cg_hierarchy_has_controller(const CGroupHierarchy *h, const char *controller) {
        if (h->unified) {
                /* Which controllers a v2 cgroup can use depends on its parent; the root has all. */
                _cleanup_free_ char *s = NULL;
                if (cg_read(h, "/", "cgroup.controllers", &s) < 0)
                        return false;
                for (char *c = strtok(s, " \n"); c; c = strtok(NULL, " \n"))
                        if (streq(c, controller))
                                return true;
                return false;
        }
        size_t l = strlen(controller);
        for (const char *c = h->controllers; c && *c;) {
                size_t k = strcspn(c, ",");
                if (k == l && strneq(c, controller, l))
                        return true;
                c += k;
                if (*c == ',')
                        c++;
        }
        return false;
}

char *cg_fs_path(const CGroupHierarchy *h, const char *path, const char *attribute) {
        const char *p = path;
        while (*p == '/')
                p++;
        return strjoin(h->mount_point, *p ? "/" : "", p, attribute ? "/" : "", attribute ?: "");
}

int cg_init_new(const CGroupHierarchy *h, const char *path) {
        static const char *const attrs[] = { "cpuset.cpus", "cpuset.mems" };

        /* A new v1 cpuset cgroup starts with no CPUs and no memory nodes, and the kernel refuses
         * to move processes into it (ENOSPC) until it has some: inherit the parent's. */
        if (h->unified || !cg_hierarchy_has_controller(h, "cpuset"))
                return 0;
        _cleanup_free_ char *parent = strdup(path);
        if (!parent)
                return -ENOMEM;
        char *slash = strrchr(parent, '/');
        if (!slash)
                return -EINVAL;
        if (slash == parent)
                slash[1] = 0;
        else
                *slash = 0;
        for (size_t i = 0; i < ELEMENTSOF(attrs); i++) {
                _cleanup_free_ char *v = NULL;
                int r = cg_read(h, parent, attrs[i], &v);
                if (r < 0)
                        return r;
                r = cg_write(h, path, attrs[i], v);
                if (r < 0)
                        return r;
        }
        return 0;
}

int cg_create(const CGroupHierarchy *h, const char *path) {
        _cleanup_free_ char *p = cg_fs_path(h, path, NULL);
        if (!p)
                return -ENOMEM;
        if (mkdir(p, 0755) < 0) {
                if (errno == EEXIST)
                        return 0;
                return negative_errno();
        }
        return cg_init_new(h, path);
}

int cg_write(const CGroupHierarchy *h, const char *path, const char *attribute, const char *value) {
        _cleanup_free_ char *p = cg_fs_path(h, path, attribute);
        if (!p)
                return -ENOMEM;
        _cleanup_close_ int fd = open(p, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return negative_errno();
        /* cgroupfs takes one value per write(); a short write is an error there. */
        ssize_t k = write(fd, value, strlen(value));
        if (k < 0)
                return negative_errno();
        return (size_t) k == strlen(value) ? 0 : -EIO;
}

int cg_read(const CGroupHierarchy *h, const char *path, const char *attribute, char **ret) {
        _cleanup_free_ char *p = cg_fs_path(h, path, attribute);
        if (!p)
                return -ENOMEM;
        return read_file_at(AT_FDCWD, p, 4 * 1024 * 1024, ret, NULL);
}

int cg_attach(const CGroupHierarchy *h, const char *path, pid_t pid) {
        char buf[32];
        snprintf(buf, sizeof(buf), "%i", (int) pid);
        return cg_write(h, path, "cgroup.procs", buf);
}

/* Calls fn for every direct child cgroup of path. */
static int cg_foreach_child(const CGroupHierarchy *h, const char *path,
                            int (*fn)(const CGroupHierarchy *, const char *, void *), void *userdata) {
        _cleanup_free_ char *p = cg_fs_path(h, path, NULL);
        if (!p)
                return -ENOMEM;
        DIR *d = opendir(p);
        if (!d)
                return negative_errno();
        int r = 0;
        for (struct dirent *de; (de = readdir(d));) {
                if (de->d_type != DT_DIR || streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                _cleanup_free_ char *child = strjoin(path, streq(path, "/") ? "" : "/", de->d_name);
                if (!child) {
                        r = -ENOMEM;
                        break;
                }
                r = fn(h, child, userdata);
                if (r < 0)
                        break;
        }
        closedir(d);
        return r;
}

static int kill_one(const CGroupHierarchy *h, const char *path, void *userdata) {
        int sig = *(int *) userdata, n = 0;
        _cleanup_free_ char *procs = NULL;

        int r = cg_read(h, path, "cgroup.procs", &procs);
        if (r < 0)
                return r == -ENOENT ? 0 : r;
        for (char *s = strtok(procs, "\n"); s; s = strtok(NULL, "\n")) {
                unsigned pid;
                if (safe_atou(s, &pid) >= 0 && pid > 0 && kill((pid_t) pid, sig) >= 0)
                        n++;
        }
        r = cg_foreach_child(h, path, kill_one, userdata);
        return r < 0 ? r : n;
}

int cg_kill_recursive(const CGroupHierarchy *h, const char *path, int sig) {
        if (h->unified && sig == SIGKILL) {
                int r = cg_write(h, path, "cgroup.kill", "1");
                if (r >= 0 || r == -ENOENT)
                        return 0;
                /* Kernels before 5.14 have no cgroup.kill: fall back to signalling each process. */
        }
        return kill_one(h, path, &sig);
}

static int empty_one(const CGroupHierarchy *h, const char *path, void *userdata) {
        _cleanup_free_ char *procs = NULL;
        int r = cg_read(h, path, "cgroup.procs", &procs);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        if (!isempty(procs) && procs[0] != '\n')
                return -EBUSY;
        return cg_foreach_child(h, path, empty_one, userdata);
}

int cg_is_empty_recursive(const CGroupHierarchy *h, const char *path) {
        int r = empty_one(h, path, NULL);
        if (r == -EBUSY)
                return 0;
        if (r == -ENOENT)
                return 1;
        return r < 0 ? r : 1;
}

static int remove_one(const CGroupHierarchy *h, const char *path, void *userdata) {
        int r = cg_foreach_child(h, path, remove_one, userdata);
        if (r < 0 && r != -ENOENT)
                return r;
        _cleanup_free_ char *p = cg_fs_path(h, path, NULL);
        if (!p)
                return -ENOMEM;
        if (rmdir(p) < 0 && errno != ENOENT)
                return negative_errno();
        return 0;
}

int cg_remove_recursive(const CGroupHierarchy *h, const char *path) {
        if (isempty(path) || streq(path, "/"))
                return -EINVAL;
        int r = remove_one(h, path, NULL);
        return r == -ENOENT ? 0 : r;
}

int cg_enable_controllers(const CGroupHierarchy *h, const char *path, const char *controllers) {
        return cg_write(h, path, "cgroup.subtree_control", controllers);
}

char *cg_escape(const char *name) {
        static const char *const controllers[] = {
                "cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids",
                "net_cls", "net_prio", "perf_event", "hugetlb", "rdma", "misc", "io",
        };
        bool escape = name[0] == '_' || name[0] == '.' || startswith(name, "cgroup.") ||
                      streq(name, "tasks") || streq(name, "notify_on_release") || streq(name, "release_agent");
        const char *dot = strchr(name, '.');
        for (size_t i = 0; dot && !escape && i < ELEMENTSOF(controllers); i++)
                if ((size_t) (dot - name) == strlen(controllers[i]) && strneq(name, controllers[i], strlen(controllers[i])))
                        escape = true;
        return escape ? strjoin("_", name) : strdup(name);
}
