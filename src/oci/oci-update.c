/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* update: new linux.resources for a running container (containerd's shim, for Kubernetes' in-place
 * changes, sends them as JSON on stdin with --resources -). */
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
#include "strv.h"

static json_object *section(json_object *res, const char *name) {
        json_object *o;
        if (json_object_object_get_ex(res, name, &o) && json_object_is_type(o, json_type_object))
                return o;
        o = json_object_new_object();
        json_object_object_add(res, name, o);
        return o;
}

static int flag_set(json_object *res, const char *sect, const char *key, const char *value) {
        char *end = NULL;
        errno = 0;
        long long v = strtoll(value, &end, 10);
        if (errno != 0 || !end || *end || end == value)
                return log_error_errno(EINVAL, "Not a number: '%s'", value);
        json_object_object_add(section(res, sect), key, json_object_new_int64(v));
        return 0;
}

static int resources_read(const char *file, json_object **ret) {
        if (!file) {
                *ret = json_object_new_object();
                return 0;
        }
        _cleanup_free_ char *text = NULL;
        int r = streq(file, "-") ? read_full_fd(STDIN_FILENO, 1 << 20, &text, NULL) : read_file_at(AT_FDCWD, file, 1 << 20, &text, NULL);
        if (r < 0)
                return log_error_errno(r, "Failed to read %s: %m", streq(file, "-") ? "standard input" : file);
        json_object *o = json_tokener_parse(text);
        if (!o || !json_object_is_type(o, json_type_object)) {
                json_object_put(o);
                return log_error_errno(EINVAL, "%s: not a JSON object of linux.resources", file);
        }
        *ret = o;
        return 0;
}

/* The resources through the one parser, wrapped as the smallest config.json there is. */
static int resources_parse(json_object *res, OciConfig *ret) {
        _cleanup_free_ char *err = NULL;
        json_object *doc = json_object_new_object(), *root = json_object_new_object(), *lnx = json_object_new_object();
        json_object_object_add(root, "path", json_object_new_string("/"));
        json_object_object_add(doc, "ociVersion", json_object_new_string(OCI_RUNTIME_SPEC_VERSION));
        json_object_object_add(doc, "root", root);
        json_object_object_add(lnx, "resources", json_object_get(res));
        json_object_object_add(doc, "linux", lnx);
        int r = oci_config_parse(json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN), ret, &err);
        json_object_put(doc);
        if (r < 0)
                return log_error_errno(r, "Bad resources: %s", err ?: strerror(-r));
        return 0;
}

static int flag_queue(char ***flags, const char *sect, const char *key, const char *value) {
        return strv_extend(flags, sect) < 0 || strv_extend(flags, key) < 0 || strv_extend(flags, value) < 0 ? -ENOMEM : 0;
}

static int update_parse(int argc, char **argv, json_object **res) {
        enum { ARG_RESOURCES = 0x100, ARG_MEMORY, ARG_PIDS, ARG_QUOTA, ARG_PERIOD, ARG_SHARES };
        static const struct option options[] = {
                { "resources", required_argument, NULL, 'r' },   { "memory", required_argument, NULL, ARG_MEMORY },
                { "pids-limit", required_argument, NULL, ARG_PIDS }, { "cpu-quota", required_argument, NULL, ARG_QUOTA },
                { "cpu-period", required_argument, NULL, ARG_PERIOD }, { "cpu-share", required_argument, NULL, ARG_SHARES },
                {}
        };
        const char *file = NULL;
        char **flags = NULL;  /* section, key, value triples, applied over the file */
        int c, r = 0;
        optind = 0;
        while ((c = getopt_long(argc, argv, "+r:", options, NULL)) >= 0 && r >= 0)
                switch (c) {
                case 'r': file = optarg; break;
                case ARG_MEMORY: r = flag_queue(&flags, "memory", "limit", optarg); break;
                case ARG_PIDS: r = flag_queue(&flags, "pids", "limit", optarg); break;
                case ARG_QUOTA: r = flag_queue(&flags, "cpu", "quota", optarg); break;
                case ARG_PERIOD: r = flag_queue(&flags, "cpu", "period", optarg); break;
                case ARG_SHARES: r = flag_queue(&flags, "cpu", "shares", optarg); break;
                default: r = -EINVAL;
                }
        if (r >= 0)
                r = resources_read(file, res);
        for (size_t i = 0; r >= 0 && flags && flags[i]; i += 3)
                r = flag_set(*res, flags[i], flags[i + 1], flags[i + 2]);
        strv_free(flags);
        return r;
}

int verb_update(const OciGlobal *g, int argc, char **argv) {
        _cleanup_close_ int dirfd = -EBADF;
        json_object *res = NULL;
        OciConfig update = {}, saved = {};
        OciRecord st = {};
        const char *failed = NULL;
        int r = update_parse(argc, argv, &res);
        if (r >= 0 && optind >= argc)
                r = log_error_errno(EINVAL, "update: a container ID is required");
        if (r >= 0)
                r = resources_parse(res, &update);
        if (r >= 0)
                r = oci_open_container(g, argv[optind], &dirfd, &st);
        if (r >= 0 && oci_record_status(dirfd, &st) == OCI_STATUS_STOPPED)
                r = log_error_errno(EINVAL, "container not running");
        if (r >= 0)
                r = oci_load_saved_config(g, st.id, &saved);
        if (r >= 0 && (r = oci_cgroup_update(st.cgroup_path, &update.resources, saved.devices, saved.n_devices, &failed)) < 0)
                log_error_errno(r, "Failed to update the cgroup %s (%s): %m", st.cgroup_path, strna(failed));
        json_object_put(res);
        oci_config_done(&update);
        oci_config_done(&saved);
        oci_record_done(&st);
        return r < 0 ? 1 : 0;
}
