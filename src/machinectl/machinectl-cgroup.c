/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroup-util.h"
#include "fd-util.h"
#include "machinectl-cgroup.h"
#include "machinectl-output.h"
#include "strv.h"

char *cgroup_path_cut_at_unit(const char *path, const char *unit) {
        _cleanup_free_ char *escaped = isempty(unit) ? NULL : cg_escape(unit);
        const char *cut = NULL;

        if (isempty(unit))
                return strdup(path);
        if (!escaped)
                return NULL;
        for (const char *p = path; *p;) {
                while (*p == '/')
                        p++;
                size_t n = strcspn(p, "/");
                if (n > 0 && ((strlen(unit) == n && strneq(p, unit, n)) || (strlen(escaped) == n && strneq(p, escaped, n))))
                        cut = p + n;
                p += n;
        }
        return cut ? strndup(path, (size_t) (cut - path)) : strdup(path);
}

static int hierarchy_rank(const CGroupHierarchy *h) {
        if (h->unified)
                return 0;
        if (cg_hierarchy_has_controller(h, "name=systemd"))
                return 1;
        return 2;
}

int machine_cgroup_dir(pid_t leader, const char *unit, char **ret_dir) {
        CGroupHierarchy *hs = NULL;
        size_t n = 0, best = SIZE_MAX;
        int r;

        r = cg_enumerate(leader, &hs, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                if (!hs[i].path)
                        continue;
                if (best == SIZE_MAX || hierarchy_rank(&hs[i]) < hierarchy_rank(&hs[best]))
                        best = i;
        }
        if (best == SIZE_MAX) {
                cg_hierarchies_free(hs, n);
                return -ENOENT;
        }
        _cleanup_free_ char *path = cgroup_path_cut_at_unit(hs[best].path, unit);
        char *dir = path ? cg_fs_path(&hs[best], path, NULL) : NULL;
        cg_hierarchies_free(hs, n);
        if (!dir)
                return -ENOMEM;
        *ret_dir = dir;
        return 0;
}

static int compare_pid(const void *a, const void *b) {
        pid_t x = *(const pid_t *) a, y = *(const pid_t *) b;
        return x < y ? -1 : x > y;
}

static int compare_string(const void *a, const void *b) {
        return strcmp(*(char * const *) a, *(char * const *) b);
}

/* The PIDs in dir's cgroup.procs, sorted. */
static int read_pids(const char *dir, pid_t **ret, size_t *ret_n) {
        _cleanup_free_ char *path = strjoin(dir, "/cgroup.procs");
        _cleanup_free_ char *data = NULL;
        pid_t *pids = NULL;
        size_t n = 0;
        int r;

        if (!path)
                return -ENOMEM;
        r = read_file_at(AT_FDCWD, path, 4 << 20, &data, NULL);
        if (r < 0)
                return r;
        for (char *p = data, *end; *p; p = end) {
                long v = strtol(p, &end, 10);
                if (end == p)
                        break;
                pid_t *t = realloc(pids, (n + 1) * sizeof(pid_t));
                if (!t) {
                        free(pids);
                        return -ENOMEM;
                }
                pids = t;
                pids[n++] = (pid_t) v;
        }
        if (n > 0)
                qsort(pids, n, sizeof(pid_t), compare_pid);
        *ret = pids;
        *ret_n = n;
        return 0;
}

/* Child cgroups of dir, sorted by name. */
static int read_children(const char *dir, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        DIR *d = opendir(dir);
        struct dirent *de;

        if (!d)
                return negative_errno();
        while ((de = readdir(d))) {
                if (de->d_type != DT_DIR || streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if (strv_extend(&l, de->d_name) < 0) {
                        closedir(d);
                        return -ENOMEM;
                }
        }
        closedir(d);
        if (l)
                qsort(l, strv_length(l), sizeof(char *), compare_string);
        *ret = TAKE_PTR(l);
        return 0;
}

static bool cgroup_is_empty_recursive(const char *dir) {
        _cleanup_free_ pid_t *pids = NULL;
        _cleanup_strv_free_ char **children = NULL;
        size_t n = 0;

        if (read_pids(dir, &pids, &n) >= 0 && n > 0)
                return false;
        if (read_children(dir, &children) < 0)
                return true;
        for (char **c = children; c && *c; c++) {
                _cleanup_free_ char *sub = strjoin(dir, "/", *c);
                if (sub && !cgroup_is_empty_recursive(sub))
                        return false;
        }
        return true;
}

char *process_command_line(pid_t pid) {
        char path[64];
        _cleanup_free_ char *data = NULL;
        size_t size = 0;

        snprintf(path, sizeof(path), "/proc/%d/cmdline", (int) pid);
        if (read_file_at(AT_FDCWD, path, 64 * 1024, &data, &size) >= 0 && size > 0) {
                while (size > 0 && data[size - 1] == 0)
                        size--;
                for (size_t i = 0; i < size; i++)
                        if (data[i] == 0)
                                data[i] = ' ';
                data[size] = 0;
                return escape_control(data);
        }
        /* Kernel threads and zombies have no command line; show the name like ps does. */
        snprintf(path, sizeof(path), "/proc/%d/comm", (int) pid);
        free(data);
        data = NULL;
        if (read_file_at(AT_FDCWD, path, 64, &data, NULL) < 0)
                return strdup("[?]");
        data[strcspn(data, "\n")] = 0;
        _cleanup_free_ char *e = escape_control(data);
        return e ? strjoin("[", e, "]") : NULL;
}

static void print_line(FILE *f, const char *prefix, Glyph g, const char *text, size_t width) {
        _cleanup_free_ char *line = strjoin(prefix, glyph(g), text);
        if (!line)
                return;
        if (width > 0) {
                char *t = string_truncate(line, width);
                if (t) {
                        free(line);
                        line = t;
                }
        }
        fprintf(f, "%s\n", line);
}

int cgroup_show_tree(FILE *f, const char *dir, const char *prefix, size_t width, bool all) {
        _cleanup_free_ pid_t *pids = NULL;
        _cleanup_strv_free_ char **children = NULL, **shown = NULL;
        size_t n = 0;
        int r;

        r = read_pids(dir, &pids, &n);
        if (r < 0)
                return r;
        r = read_children(dir, &children);
        if (r < 0)
                return r;
        for (char **c = children; c && *c; c++) {
                _cleanup_free_ char *sub = strjoin(dir, "/", *c);
                if (!sub)
                        return -ENOMEM;
                if ((all || !cgroup_is_empty_recursive(sub)) && strv_extend(&shown, *c) < 0)
                        return -ENOMEM;
        }
        size_t n_shown = strv_length(shown);

        /* Processes first, then the child cgroups, as systemd-cgls does. */
        for (size_t i = 0; i < n; i++) {
                char head[32];
                _cleanup_free_ char *cmd = process_command_line(pids[i]);
                snprintf(head, sizeof(head), "%d ", (int) pids[i]);
                _cleanup_free_ char *text = strjoin(head, cmd ?: "");
                if (!text)
                        return -ENOMEM;
                print_line(f, prefix, i + 1 == n && n_shown == 0 ? GLYPH_TREE_RIGHT : GLYPH_TREE_BRANCH, text, width);
        }
        for (size_t i = 0; i < n_shown; i++) {
                bool last = i + 1 == n_shown;
                _cleanup_free_ char *e = escape_control(shown[i]);
                _cleanup_free_ char *sub = strjoin(dir, "/", shown[i]);
                _cleanup_free_ char *subprefix = strjoin(prefix, glyph(last ? GLYPH_TREE_SPACE : GLYPH_TREE_VERTICAL));
                if (!e || !sub || !subprefix)
                        return -ENOMEM;
                print_line(f, prefix, last ? GLYPH_TREE_RIGHT : GLYPH_TREE_BRANCH, e, width);
                r = cgroup_show_tree(f, sub, subprefix, width, all);
                if (r < 0 && r != -ENOENT) /* a child cgroup may vanish while we look */
                        return r;
        }
        return 0;
}

static int processes_json(const char *dir, const char *rel, json_object *array) {
        _cleanup_free_ pid_t *pids = NULL;
        _cleanup_strv_free_ char **children = NULL;
        size_t n = 0;
        int r;

        r = read_pids(dir, &pids, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *cmd = process_command_line(pids[i]);
                json_object *o = json_object_new_object();
                if (!o)
                        return -ENOMEM;
                json_object_object_add(o, "pid", json_object_new_int(pids[i]));
                json_object_object_add(o, "cgroup", json_object_new_string(rel));
                json_object_object_add(o, "command", cmd ? json_object_new_string(cmd) : NULL);
                json_object_array_add(array, o);
        }
        r = read_children(dir, &children);
        if (r < 0)
                return r;
        for (char **c = children; c && *c; c++) {
                _cleanup_free_ char *sub = strjoin(dir, "/", *c);
                _cleanup_free_ char *subrel = strjoin(streq(rel, "/") ? "" : rel, "/", *c);
                if (!sub || !subrel)
                        return -ENOMEM;
                r = processes_json(sub, subrel, array);
                if (r < 0 && r != -ENOENT)
                        return r;
        }
        return 0;
}

int cgroup_processes_json(const char *dir, json_object **ret) {
        _cleanup_json_ json_object *a = json_object_new_array();
        if (!a)
                return -ENOMEM;
        int r = processes_json(dir, "/", a);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(a);
        return 0;
}
