/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* list, ps and features: what berth-oci reports about its containers and itself. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fd-util.h"
#include "log.h"
#include "oci-cgroup.h"
#include "oci-runtime.h"
#include "spawn-caps.h"
#include "strv.h"

static int format_parse(int argc, char **argv, bool *json, bool *quiet) {
        static const struct option options[] = {
                { "format", required_argument, NULL, 'f' },
                { "quiet", no_argument, NULL, 'q' },
                {}
        };
        int c;
        optind = 0;
        while ((c = getopt_long(argc, argv, "+f:q", options, NULL)) >= 0)
                switch (c) {
                case 'f':
                        if (!streq(optarg, "json") && !streq(optarg, "table"))
                                return log_error_errno(EINVAL, "Unknown format '%s' (want table or json)", optarg);
                        *json = streq(optarg, "json");
                        break;
                case 'q':
                        if (!quiet)
                                return -EINVAL;
                        *quiet = true;
                        break;
                default:
                        return -EINVAL;
                }
        return 0;
}

int verb_list(const OciGlobal *g, int argc, char **argv) {
        bool json = false, quiet = false;
        if (format_parse(argc, argv, &json, &quiet) < 0)
                return 1;
        json_object *a = json_object_new_array();
        DIR *d = opendir(g->root);
        if (!d && errno != ENOENT)
                return log_error_errno(errno, "Failed to open %s: %m", g->root), 1;
        for (struct dirent *de; d && (de = readdir(d));) {
                _cleanup_close_ int fd = -EBADF;
                OciRecord st = {};
                if (de->d_name[0] == '.' || oci_record_open_locked(g->root, de->d_name, &fd) < 0 ||
                    oci_record_read(fd, &st) < 0)
                        continue;
                json_object *o = oci_record_describe(fd, &st);
                if (o)
                        json_object_array_add(a, o);
                oci_record_done(&st);
        }
        if (d)
                closedir(d);
        if (json)
                printf("%s\n", json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        else {
                if (!quiet)
                        printf("%-24s %-8s %-10s %-40s %-32s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER");
                for (size_t i = 0; i < json_object_array_length(a); i++) {
                        json_object *o = json_object_array_get_idx(a, i), *v;
#define F(k) (json_object_object_get_ex(o, k, &v) ? json_object_get_string(v) : "")
                        if (quiet)
                                printf("%s\n", F("id"));
                        else
                                printf("%-24s %-8s %-10s %-40s %-32s %s\n", F("id"), F("pid"), F("status"), F("bundle"),
                                       F("created"), "root");
#undef F
                }
        }
        json_object_put(a);
        return 0;
}

int verb_ps(const OciGlobal *g, int argc, char **argv) {
        _cleanup_close_ int dirfd = -EBADF;
        bool json = false;
        OciRecord st = {};
        pid_t *pids = NULL;
        size_t n = 0;
        if (format_parse(argc, argv, &json, NULL) < 0 || optind >= argc)
                return log_error_errno(EINVAL, "ps: a container ID is required"), 1;
        if (oci_open_container(g, argv[optind], &dirfd, &st) < 0)
                return 1;
        int r = oci_cgroup_pids(st.cgroup_path, &pids, &n);
        oci_record_done(&st);
        if (r < 0 && r != -ENOENT)
                return log_error_errno(r, "Failed to list the container's processes: %m"), 1;
        if (json) {
                printf("[");
                for (size_t i = 0; i < n; i++)
                        printf("%s%d", i ? "," : "", (int) pids[i]);
                printf("]\n");
        } else {
                printf("PID\n");
                for (size_t i = 0; i < n; i++)
                        printf("%d\n", (int) pids[i]);
        }
        free(pids);
        return 0;
}

static json_object *strings(const char *const *l) {
        json_object *a = json_object_new_array();
        for (; *l; l++)
                json_object_array_add(a, json_object_new_string(*l));
        return a;
}

int verb_features(const OciGlobal *g, int argc, char **argv) {
        static const char *const hooks[] = { "prestart", "createRuntime", "createContainer", "startContainer",
                                             "poststart", "poststop", NULL };
        static const char *const mount_options[] = { "async", "atime", "bind", "dev", "dirsync", "exec", "mand",
                "noatime", "nodev", "nodiratime", "noexec", "nosuid", "private", "rbind", "relatime", "remount",
                "ro", "rprivate", "rshared", "rslave", "runbindable", "rw", "shared", "slave", "strictatime",
                "suid", "sync", "unbindable", NULL };
        static const char *const namespaces[] = { "cgroup", "ipc", "mount", "network", "pid", "uts", NULL };
        static const char *const actions[] = { "SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL",
                "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG", "SCMP_ACT_TRACE", "SCMP_ACT_TRAP", NULL };
        static const char *const operators[] = { "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE",
                "SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE", NULL };
        static const char *const archs[] = { "SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32", "SCMP_ARCH_AARCH64",
                "SCMP_ARCH_ARM", NULL };
        (void) g, (void) argc, (void) argv;

        json_object *o = json_object_new_object(), *linux_ = json_object_new_object();
        json_object *caps = json_object_new_array(), *cg = json_object_new_object(), *sc = json_object_new_object();
        json_object_object_add(o, "ociVersionMin", json_object_new_string("1.0.0"));
        json_object_object_add(o, "ociVersionMax", json_object_new_string("1.1.0"));
        json_object_object_add(o, "hooks", strings(hooks));
        json_object_object_add(o, "mountOptions", strings(mount_options));
        json_object_object_add(linux_, "namespaces", strings(namespaces));
        for (int c = 0; c <= capability_last_known(); c++) {
                const char *name = capability_to_name(c);
                char up[64];
                size_t i;
                for (i = 0; name && name[i] && i < sizeof(up) - 1; i++)
                        up[i] = (char) (name[i] >= 'a' && name[i] <= 'z' ? name[i] - 32 : name[i]);
                up[i] = 0;
                if (name)
                        json_object_array_add(caps, json_object_new_string(up));
        }
        json_object_object_add(linux_, "capabilities", caps);
        json_object_object_add(cg, "v1", json_object_new_boolean(true));
        json_object_object_add(cg, "v2", json_object_new_boolean(true));
        json_object_object_add(cg, "systemd", json_object_new_boolean(true));
        json_object_object_add(cg, "systemdUser", json_object_new_boolean(false));
        json_object_object_add(linux_, "cgroup", cg);
        json_object_object_add(sc, "enabled", json_object_new_boolean(true));
        json_object_object_add(sc, "actions", strings(actions));
        json_object_object_add(sc, "operators", strings(operators));
        json_object_object_add(sc, "archs", strings(archs));
        json_object_object_add(linux_, "seccomp", sc);
        json_object *off = json_object_new_object();
        json_object_object_add(off, "enabled", json_object_new_boolean(false));
        json_object_object_add(linux_, "apparmor", off);
        json_object_object_add(linux_, "selinux", json_object_get(off));
        json_object_object_add(o, "linux", linux_);
        json_object *ann = json_object_new_object();
        json_object_object_add(ann, "io.github.berth.runtime", json_object_new_string("berth-oci"));
        json_object_object_add(o, "annotations", ann);
        printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(o);
        return 0;
}
