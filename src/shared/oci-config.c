/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* config.json of an OCI bundle into OciConfig with json-c. Every type mismatch is an error naming
 * the field; fields this version does not know are skipped (runtime-spec: "MUST ignore unknown
 * properties"). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <json-c/json.h>

#include "fd-util.h"
#include "macro.h"
#include "oci-config.h"
#include "string-table.h"
#include "strv.h"

static const char *const oci_hook_kind_table[_OCI_HOOK_KIND_MAX] = {
        [OCI_HOOK_PRESTART] = "prestart",
        [OCI_HOOK_CREATE_RUNTIME] = "createRuntime",
        [OCI_HOOK_CREATE_CONTAINER] = "createContainer",
        [OCI_HOOK_START_CONTAINER] = "startContainer",
        [OCI_HOOK_POSTSTART] = "poststart",
        [OCI_HOOK_POSTSTOP] = "poststop",
};
DEFINE_STRING_TABLE_LOOKUP(oci_hook_kind, OciHookKind)

static const char *const oci_namespace_type_table[_OCI_NS_TYPE_MAX] = {
        [OCI_NS_PID] = "pid",
        [OCI_NS_NETWORK] = "network",
        [OCI_NS_MOUNT] = "mount",
        [OCI_NS_IPC] = "ipc",
        [OCI_NS_UTS] = "uts",
        [OCI_NS_USER] = "user",
        [OCI_NS_CGROUP] = "cgroup",
        [OCI_NS_TIME] = "time",
};
DEFINE_STRING_TABLE_LOOKUP(oci_namespace_type, OciNamespaceType)

static const char *const oci_seccomp_action_table[_OCI_SECCOMP_ACTION_MAX] = {
        [OCI_SECCOMP_KILL] = "SCMP_ACT_KILL",
        [OCI_SECCOMP_KILL_PROCESS] = "SCMP_ACT_KILL_PROCESS",
        [OCI_SECCOMP_KILL_THREAD] = "SCMP_ACT_KILL_THREAD",
        [OCI_SECCOMP_TRAP] = "SCMP_ACT_TRAP",
        [OCI_SECCOMP_ERRNO] = "SCMP_ACT_ERRNO",
        [OCI_SECCOMP_TRACE] = "SCMP_ACT_TRACE",
        [OCI_SECCOMP_ALLOW] = "SCMP_ACT_ALLOW",
        [OCI_SECCOMP_LOG] = "SCMP_ACT_LOG",
        [OCI_SECCOMP_NOTIFY] = "SCMP_ACT_NOTIFY",
};
DEFINE_STRING_TABLE_LOOKUP(oci_seccomp_action, OciSeccompAction)

static const char *const oci_seccomp_op_table[_OCI_SECCOMP_OP_MAX] = {
        [OCI_SECCOMP_OP_NE] = "SCMP_CMP_NE",
        [OCI_SECCOMP_OP_LT] = "SCMP_CMP_LT",
        [OCI_SECCOMP_OP_LE] = "SCMP_CMP_LE",
        [OCI_SECCOMP_OP_EQ] = "SCMP_CMP_EQ",
        [OCI_SECCOMP_OP_GE] = "SCMP_CMP_GE",
        [OCI_SECCOMP_OP_GT] = "SCMP_CMP_GT",
        [OCI_SECCOMP_OP_MASKED_EQ] = "SCMP_CMP_MASKED_EQ",
};
DEFINE_STRING_TABLE_LOOKUP(oci_seccomp_op, OciSeccompOp)

static const char *const oci_capability_set_table[_OCI_CAP_SET_MAX] = {
        [OCI_CAP_BOUNDING] = "bounding",
        [OCI_CAP_EFFECTIVE] = "effective",
        [OCI_CAP_PERMITTED] = "permitted",
        [OCI_CAP_INHERITABLE] = "inheritable",
        [OCI_CAP_AMBIENT] = "ambient",
};
DEFINE_STRING_TABLE_LOOKUP_TO_STRING(oci_capability_set, OciCapabilitySet)

static const struct {
        const char *name;
        int resource;
} rlimit_names[] = {
        { "RLIMIT_AS", RLIMIT_AS },           { "RLIMIT_CORE", RLIMIT_CORE },
        { "RLIMIT_CPU", RLIMIT_CPU },         { "RLIMIT_DATA", RLIMIT_DATA },
        { "RLIMIT_FSIZE", RLIMIT_FSIZE },     { "RLIMIT_LOCKS", RLIMIT_LOCKS },
        { "RLIMIT_MEMLOCK", RLIMIT_MEMLOCK }, { "RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE },
        { "RLIMIT_NICE", RLIMIT_NICE },       { "RLIMIT_NOFILE", RLIMIT_NOFILE },
        { "RLIMIT_NPROC", RLIMIT_NPROC },     { "RLIMIT_RSS", RLIMIT_RSS },
        { "RLIMIT_RTPRIO", RLIMIT_RTPRIO },   { "RLIMIT_RTTIME", RLIMIT_RTTIME },
        { "RLIMIT_SIGPENDING", RLIMIT_SIGPENDING }, { "RLIMIT_STACK", RLIMIT_STACK },
};

int oci_version_check(const char *version) {
        unsigned major, minor, patch;
        int n = 0;

        if (!version || sscanf(version, "%u.%u.%u%n", &major, &minor, &patch, &n) != 3)
                return -EOPNOTSUPP;
        if (version[n] != '\0' && version[n] != '-' && version[n] != '+')
                return -EOPNOTSUPP;
        return major == 1 && minor <= 2 ? 0 : -EOPNOTSUPP;
}

/* Parsing: each helper takes the JSON path of what it reads, for the error line. */
typedef struct Parser {
        char **error;
} Parser;

_printf_(2, 3) static int fail(Parser *p, const char *fmt, ...) {
        va_list ap;
        if (p->error && !*p->error) {
                va_start(ap, fmt);
                if (vasprintf(p->error, fmt, ap) < 0)
                        *p->error = NULL;
                va_end(ap);
        }
        return -EINVAL;
}

/* The member key of obj, NULL when absent or null. */
static json_object *member(json_object *obj, const char *key) {
        json_object *v = NULL;
        if (!obj || !json_object_object_get_ex(obj, key, &v) || json_object_is_type(v, json_type_null))
                return NULL;
        return v;
}

static int want_type(Parser *p, json_object *v, json_type t, const char *path) {
        if (json_object_is_type(v, t))
                return 0;
        return fail(p, "%s: expected %s", path,
                    t == json_type_object ? "an object" : t == json_type_array ? "an array" :
                    t == json_type_string ? "a string" : t == json_type_boolean ? "a boolean" : "a number");
}

static int get_string(Parser *p, json_object *obj, const char *key, const char *path, bool required, char **ret) {
        json_object *v = member(obj, key);
        if (!v)
                return required ? fail(p, "%s.%s: missing", path, key) : 0;
        if (!json_object_is_type(v, json_type_string))
                return fail(p, "%s.%s: expected a string", path, key);
        char *s = strdup(json_object_get_string(v));
        if (!s)
                return -ENOMEM;
        free(*ret);
        *ret = s;
        return 1;
}

static int get_bool(Parser *p, json_object *obj, const char *key, const char *path, bool *ret) {
        json_object *v = member(obj, key);
        if (!v)
                return 0;
        if (!json_object_is_type(v, json_type_boolean))
                return fail(p, "%s.%s: expected a boolean", path, key);
        *ret = json_object_get_boolean(v);
        return 1;
}

/* An integer within [min, max]; json-c keeps integers exactly (int64, or uint64 above). */
static int get_int(Parser *p, json_object *obj, const char *key, const char *path, int64_t min, int64_t max,
                   int64_t *ret) {
        json_object *v = member(obj, key);
        if (!v)
                return 0;
        if (!json_object_is_type(v, json_type_int))
                return fail(p, "%s.%s: expected an integer", path, key);
        int64_t i = json_object_get_int64(v);
        if (i < min || i > max || (i == INT64_MAX && json_object_get_uint64(v) > INT64_MAX))
                return fail(p, "%s.%s: %s out of range", path, key, json_object_get_string(v));
        *ret = i;
        return 1;
}

static int get_u64(Parser *p, json_object *obj, const char *key, const char *path, uint64_t *ret) {
        json_object *v = member(obj, key);
        if (!v)
                return 0;
        if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0)
                return fail(p, "%s.%s: expected an unsigned integer", path, key);
        *ret = json_object_get_uint64(v);
        return 1;
}

static int get_strv(Parser *p, json_object *obj, const char *key, const char *path, char ***ret) {
        json_object *v = member(obj, key);
        if (!v)
                return 0;
        if (!json_object_is_type(v, json_type_array))
                return fail(p, "%s.%s: expected an array of strings", path, key);
        _cleanup_strv_free_ char **l = NULL;
        size_t n = json_object_array_length(v);
        for (size_t i = 0; i < n; i++) {
                json_object *e = json_object_array_get_idx(v, i);
                if (!json_object_is_type(e, json_type_string))
                        return fail(p, "%s.%s[%zu]: expected a string", path, key, i);
                if (strv_extend(&l, json_object_get_string(e)) < 0)
                        return -ENOMEM;
        }
        if (!l && !(l = calloc(1, sizeof(char *))))
                return -ENOMEM;
        strv_free(*ret);
        *ret = TAKE_PTR(l);
        return 1;
}

/* An object of string values as KEY, VALUE, ... */
static int get_string_map(Parser *p, json_object *obj, const char *key, const char *path, char ***ret) {
        json_object *v = member(obj, key);
        if (!v)
                return 0;
        if (want_type(p, v, json_type_object, key) < 0)
                return -EINVAL;
        _cleanup_strv_free_ char **l = NULL;
        json_object_object_foreach(v, k, val) {
                if (!json_object_is_type(val, json_type_string))
                        return fail(p, "%s.%s.%s: expected a string", path, key, k);
                if (strv_extend(&l, k) < 0 || strv_extend(&l, json_object_get_string(val)) < 0)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(l);
        return 1;
}

/* The array at key: its length, or 0 when absent; -EINVAL when not an array. */
static int array_of(Parser *p, json_object *obj, const char *key, const char *path, json_object **ret, size_t *ret_n) {
        json_object *v = member(obj, key);
        *ret = v;
        *ret_n = 0;
        if (!v)
                return 0;
        if (!json_object_is_type(v, json_type_array))
                return fail(p, "%s.%s: expected an array", path, key);
        *ret_n = json_object_array_length(v);
        return 0;
}

static void *array_alloc(size_t n, size_t size) {
        return calloc(n ?: 1, size);
}

static int parse_user(Parser *p, json_object *user, OciProcess *proc) {
        int64_t i;
        int r;

        if (!user)
                return fail(p, "process.user: missing");
        if (want_type(p, user, json_type_object, "process.user") < 0)
                return -EINVAL;
        if ((r = get_int(p, user, "uid", "process.user", 0, UINT32_MAX - 1, &i)) < 0)
                return r;
        proc->uid = r ? (uid_t) i : 0;
        if ((r = get_int(p, user, "gid", "process.user", 0, UINT32_MAX - 1, &i)) < 0)
                return r;
        proc->gid = r ? (gid_t) i : 0;
        if ((r = get_int(p, user, "umask", "process.user", 0, 0777, &i)) < 0)
                return r;
        proc->has_umask = r > 0;
        proc->umask = r ? (mode_t) i : 0;

        json_object *a;
        size_t n;
        if (array_of(p, user, "additionalGids", "process.user", &a, &n) < 0)
                return -EINVAL;
        if (n > 0) {
                proc->additional_gids = array_alloc(n, sizeof(gid_t));
                if (!proc->additional_gids)
                        return -ENOMEM;
                for (size_t k = 0; k < n; k++) {
                        json_object *e = json_object_array_get_idx(a, k);
                        if (!json_object_is_type(e, json_type_int) || json_object_get_int64(e) < 0 ||
                            json_object_get_int64(e) >= UINT32_MAX)
                                return fail(p, "process.user.additionalGids[%zu]: expected a group ID", k);
                        proc->additional_gids[proc->n_additional_gids++] = (gid_t) json_object_get_int64(e);
                }
        }
        return 0;
}

static int parse_rlimits(Parser *p, json_object *process, OciProcess *proc) {
        json_object *a;
        size_t n;

        if (array_of(p, process, "rlimits", "process", &a, &n) < 0)
                return -EINVAL;
        if (n == 0)
                return 0;
        proc->rlimits = array_alloc(n, sizeof(OciRlimit));
        if (!proc->rlimits)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                json_object *e = json_object_array_get_idx(a, i);
                _cleanup_free_ char *type = NULL;
                OciRlimit *l = proc->rlimits + i;
                int r;

                if (want_type(p, e, json_type_object, "process.rlimits[]") < 0)
                        return -EINVAL;
                if ((r = get_string(p, e, "type", "process.rlimits[]", true, &type)) < 0)
                        return r;
                l->resource = -1;
                for (size_t k = 0; k < ELEMENTSOF(rlimit_names); k++)
                        if (streq(rlimit_names[k].name, type))
                                l->resource = rlimit_names[k].resource;
                if (l->resource < 0)
                        return fail(p, "process.rlimits[%zu].type: unknown resource '%s'", i, type);
                if ((r = get_u64(p, e, "soft", "process.rlimits[]", &l->soft)) <= 0 ||
                    (r = get_u64(p, e, "hard", "process.rlimits[]", &l->hard)) <= 0)
                        return r < 0 ? r : fail(p, "process.rlimits[%zu]: soft and hard are required", i);
                proc->n_rlimits++;
        }
        return 0;
}

static int parse_process(Parser *p, json_object *process, OciProcess *proc) {
        int64_t i;
        int r;

        if (want_type(p, process, json_type_object, "process") < 0)
                return -EINVAL;
        if ((r = get_bool(p, process, "terminal", "process", &proc->terminal)) < 0 ||
            (r = parse_user(p, member(process, "user"), proc)) < 0 ||
            (r = get_strv(p, process, "args", "process", &proc->args)) < 0 ||
            (r = get_strv(p, process, "env", "process", &proc->env)) < 0 ||
            (r = get_string(p, process, "cwd", "process", true, &proc->cwd)) < 0 ||
            (r = parse_rlimits(p, process, proc)) < 0 ||
            (r = get_bool(p, process, "noNewPrivileges", "process", &proc->no_new_privileges)) < 0 ||
            (r = get_string(p, process, "apparmorProfile", "process", false, &proc->apparmor_profile)) < 0 ||
            (r = get_string(p, process, "selinuxLabel", "process", false, &proc->selinux_label)) < 0)
                return r;
        if (proc->cwd[0] != '/')
                return fail(p, "process.cwd: '%s' is not an absolute path", proc->cwd);
        if ((r = get_int(p, process, "oomScoreAdj", "process", -1000, 1000, &i)) < 0)
                return r;
        proc->has_oom_score_adj = r > 0;
        proc->oom_score_adj = (int) (r > 0 ? i : 0);

        json_object *caps = member(process, "capabilities");
        if (caps) {
                if (want_type(p, caps, json_type_object, "process.capabilities") < 0)
                        return -EINVAL;
                proc->has_capabilities = true;
                for (OciCapabilitySet s = 0; s < _OCI_CAP_SET_MAX; s++)
                        if ((r = get_strv(p, caps, oci_capability_set_to_string(s), "process.capabilities",
                                          &proc->capabilities[s])) < 0)
                                return r;
        }
        return 0;
}

static int parse_mounts(Parser *p, json_object *root, OciConfig *c) {
        json_object *a;
        size_t n;
        int r;

        if (array_of(p, root, "mounts", "", &a, &n) < 0)
                return -EINVAL;
        if (n == 0)
                return 0;
        c->mounts = array_alloc(n, sizeof(OciMount));
        if (!c->mounts)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                json_object *e = json_object_array_get_idx(a, i);
                OciMount *m = c->mounts + c->n_mounts++;
                char path[32];

                snprintf(path, sizeof(path), "mounts[%zu]", i);
                if (want_type(p, e, json_type_object, path) < 0)
                        return -EINVAL;
                if ((r = get_string(p, e, "destination", path, true, &m->destination)) < 0 ||
                    (r = get_string(p, e, "type", path, false, &m->type)) < 0 ||
                    (r = get_string(p, e, "source", path, false, &m->source)) < 0 ||
                    (r = get_strv(p, e, "options", path, &m->options)) < 0)
                        return r;
                if (m->destination[0] != '/')
                        return fail(p, "%s.destination: '%s' is not an absolute path", path, m->destination);
        }
        return 0;
}

static int parse_hooks(Parser *p, json_object *root, OciConfig *c) {
        json_object *hooks = member(root, "hooks");
        int r;

        if (!hooks)
                return 0;
        if (want_type(p, hooks, json_type_object, "hooks") < 0)
                return -EINVAL;
        for (OciHookKind k = 0; k < _OCI_HOOK_KIND_MAX; k++) {
                const char *kind = oci_hook_kind_to_string(k);
                json_object *a;
                size_t n;

                if (array_of(p, hooks, kind, "hooks", &a, &n) < 0)
                        return -EINVAL;
                if (n == 0)
                        continue;
                c->hooks[k] = array_alloc(n, sizeof(OciHook));
                if (!c->hooks[k])
                        return -ENOMEM;
                for (size_t i = 0; i < n; i++) {
                        json_object *e = json_object_array_get_idx(a, i);
                        OciHook *h = c->hooks[k] + c->n_hooks[k]++;
                        char path[64];
                        int64_t t;

                        snprintf(path, sizeof(path), "hooks.%s[%zu]", kind, i);
                        if (want_type(p, e, json_type_object, path) < 0)
                                return -EINVAL;
                        if ((r = get_string(p, e, "path", path, true, &h->path)) < 0 ||
                            (r = get_strv(p, e, "args", path, &h->args)) < 0 ||
                            (r = get_strv(p, e, "env", path, &h->env)) < 0 ||
                            (r = get_int(p, e, "timeout", path, 1, INT32_MAX, &t)) < 0)
                                return r == -EINVAL && member(e, "timeout") && !*p->error ?
                                       fail(p, "%s.timeout: must be greater than zero", path) : r;
                        h->timeout = r > 0 ? (unsigned) t : 0;
                        if (h->path[0] != '/')
                                return fail(p, "%s.path: '%s' is not an absolute path", path, h->path);
                }
        }
        return 0;
}

static int parse_namespaces(Parser *p, json_object *linux_obj, OciConfig *c) {
        json_object *a;
        size_t n;
        int r;

        if (array_of(p, linux_obj, "namespaces", "linux", &a, &n) < 0)
                return -EINVAL;
        for (size_t i = 0; i < n; i++) {
                json_object *e = json_object_array_get_idx(a, i);
                _cleanup_free_ char *type = NULL, *path = NULL;
                char where[48];

                snprintf(where, sizeof(where), "linux.namespaces[%zu]", i);
                if (want_type(p, e, json_type_object, where) < 0)
                        return -EINVAL;
                if ((r = get_string(p, e, "type", where, true, &type)) < 0 ||
                    (r = get_string(p, e, "path", where, false, &path)) < 0)
                        return r;
                OciNamespaceType t = oci_namespace_type_from_string(type);
                if (t < 0)
                        return fail(p, "%s.type: unknown namespace type '%s'", where, type);
                if (c->namespaces[t].requested)
                        return fail(p, "%s: namespace type '%s' listed twice", where, type);
                if (path && path[0] != '/')
                        return fail(p, "%s.path: '%s' is not an absolute path", where, path);
                c->namespaces[t] = (OciNamespace) { .requested = true, .path = TAKE_PTR(path) };
        }
        return 0;
}

static int parse_id_mappings(Parser *p, json_object *linux_obj, const char *key, OciIdMapping **ret, size_t *ret_n) {
        json_object *a;
        size_t n;
        int64_t v[3];
        static const char *const names[3] = { "containerID", "hostID", "size" };
        int r;

        if (array_of(p, linux_obj, key, "linux", &a, &n) < 0)
                return -EINVAL;
        if (n == 0)
                return 0;
        *ret = array_alloc(n, sizeof(OciIdMapping));
        if (!*ret)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                json_object *e = json_object_array_get_idx(a, i);
                char where[48];

                snprintf(where, sizeof(where), "linux.%s[%zu]", key, i);
                if (want_type(p, e, json_type_object, where) < 0)
                        return -EINVAL;
                for (size_t k = 0; k < 3; k++)
                        if ((r = get_int(p, e, names[k], where, k == 2 ? 1 : 0, UINT32_MAX, &v[k])) <= 0)
                                return r < 0 ? r : fail(p, "%s.%s: missing", where, names[k]);
                (*ret)[(*ret_n)++] = (OciIdMapping) { .container_id = (uint32_t) v[0], .host_id = (uint32_t) v[1],
                                                      .size = (uint32_t) v[2] };
        }
        return 0;
}

static int parse_device_rules(Parser *p, json_object *res, OciResources *out) {
        json_object *a;
        size_t n;
        int r;

        if (array_of(p, res, "devices", "linux.resources", &a, &n) < 0)
                return -EINVAL;
        if (n == 0)
                return 0;
        out->devices = array_alloc(n, sizeof(OciDeviceRule));
        if (!out->devices)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                json_object *e = json_object_array_get_idx(a, i);
                OciDeviceRule *d = out->devices + out->n_devices++;
                _cleanup_free_ char *type = NULL;
                char where[48];

                snprintf(where, sizeof(where), "linux.resources.devices[%zu]", i);
                *d = (OciDeviceRule) { .type = 'a', .major = -1, .minor = -1 };
                if (want_type(p, e, json_type_object, where) < 0)
                        return -EINVAL;
                if ((r = get_bool(p, e, "allow", where, &d->allow)) <= 0)
                        return r < 0 ? r : fail(p, "%s.allow: missing", where);
                if ((r = get_string(p, e, "type", where, false, &type)) < 0 ||
                    (r = get_int(p, e, "major", where, -1, INT32_MAX, &d->major)) < 0 ||
                    (r = get_int(p, e, "minor", where, -1, INT32_MAX, &d->minor)) < 0 ||
                    (r = get_string(p, e, "access", where, false, &d->access)) < 0)
                        return r;
                if (type && (strlen(type) != 1 || !strchr("acb", type[0])))
                        return fail(p, "%s.type: '%s' is not a, c or b", where, type);
                if (type)
                        d->type = type[0];
                if (d->access && (d->access[strspn(d->access, "rwm")] != '\0'))
                        return fail(p, "%s.access: '%s' is not a combination of r, w and m", where, d->access);
        }
        return 0;
}

static int parse_resources(Parser *p, json_object *linux_obj, OciConfig *c) {
        json_object *res = member(linux_obj, "resources"), *sub;
        OciResources *o = &c->resources;
        int64_t v;
        int r;

        if (!res)
                return 0;
        if (want_type(p, res, json_type_object, "linux.resources") < 0)
                return -EINVAL;
        c->has_resources = true;
        if ((sub = member(res, "memory"))) {
                if (want_type(p, sub, json_type_object, "linux.resources.memory") < 0)
                        return -EINVAL;
                if ((r = get_int(p, sub, "limit", "linux.resources.memory", -1, INT64_MAX, &o->memory_limit)) < 0)
                        return r;
                o->has_memory_limit = r > 0;
        }
        if ((sub = member(res, "cpu"))) {
                if (want_type(p, sub, json_type_object, "linux.resources.cpu") < 0)
                        return -EINVAL;
                if ((r = get_u64(p, sub, "shares", "linux.resources.cpu", &o->cpu_shares)) < 0)
                        return r;
                o->has_cpu_shares = r > 0;
                if ((r = get_int(p, sub, "quota", "linux.resources.cpu", -1, INT64_MAX, &o->cpu_quota)) < 0)
                        return r;
                o->has_cpu_quota = r > 0;
                if ((r = get_u64(p, sub, "period", "linux.resources.cpu", &o->cpu_period)) < 0)
                        return r;
                o->has_cpu_period = r > 0;
        }
        if ((sub = member(res, "pids"))) {
                if (want_type(p, sub, json_type_object, "linux.resources.pids") < 0)
                        return -EINVAL;
                if ((r = get_int(p, sub, "limit", "linux.resources.pids", INT64_MIN, INT64_MAX, &o->pids_limit)) < 0)
                        return r;
                o->has_pids_limit = r > 0;
        }
        if ((sub = member(res, "blockIO"))) {
                if (want_type(p, sub, json_type_object, "linux.resources.blockIO") < 0)
                        return -EINVAL;
                if ((r = get_int(p, sub, "weight", "linux.resources.blockIO", 10, 1000, &v)) < 0)
                        return r;
                o->has_blkio_weight = r > 0;
                o->blkio_weight = (uint16_t) (r > 0 ? v : 0);
        }
        return parse_device_rules(p, res, o);
}

static int parse_syscall_args(Parser *p, json_object *e, const char *where, OciSyscallRule *s) {
        json_object *a;
        size_t n;
        int r;

        if (array_of(p, e, "args", where, &a, &n) < 0)
                return -EINVAL;
        if (n == 0)
                return 0;
        s->args = array_alloc(n, sizeof(OciSeccompArg));
        if (!s->args)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                json_object *arg = json_object_array_get_idx(a, i);
                OciSeccompArg *x = s->args + s->n_args++;
                _cleanup_free_ char *op = NULL;
                int64_t index;

                if (want_type(p, arg, json_type_object, where) < 0)
                        return -EINVAL;
                if ((r = get_int(p, arg, "index", where, 0, 5, &index)) <= 0 ||
                    (r = get_u64(p, arg, "value", where, &x->value)) <= 0 ||
                    (r = get_string(p, arg, "op", where, true, &op)) < 0)
                        return r < 0 ? r : fail(p, "%s.args[%zu]: index and value are required", where, i);
                if ((r = get_u64(p, arg, "valueTwo", where, &x->value_two)) < 0)
                        return r;
                x->index = (unsigned) index;
                x->op = oci_seccomp_op_from_string(op);
                if (x->op < 0)
                        return fail(p, "%s.args[%zu].op: unknown operator '%s'", where, i, op);
        }
        return 0;
}

static int parse_action(Parser *p, json_object *obj, const char *key, const char *where, bool required,
                        OciSeccompAction *ret) {
        _cleanup_free_ char *s = NULL;
        int r = get_string(p, obj, key, where, required, &s);
        if (r <= 0)
                return r;
        *ret = oci_seccomp_action_from_string(s);
        return *ret < 0 ? fail(p, "%s.%s: unknown action '%s'", where, key, s) : 0;
}

static int parse_seccomp(Parser *p, json_object *linux_obj, OciConfig *c) {
        json_object *sc = member(linux_obj, "seccomp"), *a;
        const char *w = "linux.seccomp";
        int64_t v;
        size_t n;
        int r;

        if (!sc)
                return 0;
        if (want_type(p, sc, json_type_object, w) < 0)
                return -EINVAL;
        OciSeccomp *s = c->seccomp = calloc(1, sizeof(OciSeccomp));
        if (!s)
                return -ENOMEM;
        if ((r = parse_action(p, sc, "defaultAction", w, true, &s->default_action)) < 0 ||
            (r = get_strv(p, sc, "architectures", w, &s->architectures)) < 0 ||
            (r = get_strv(p, sc, "flags", w, &s->flags)) < 0 ||
            (r = get_int(p, sc, "defaultErrnoRet", w, 0, 4095, &v)) < 0)
                return r;
        s->has_default_errno_ret = r > 0;
        s->default_errno_ret = (unsigned) (r > 0 ? v : 0);

        if (array_of(p, sc, "syscalls", w, &a, &n) < 0)
                return -EINVAL;
        if (n == 0)
                return 0;
        s->syscalls = array_alloc(n, sizeof(OciSyscallRule));
        if (!s->syscalls)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                json_object *e = json_object_array_get_idx(a, i);
                OciSyscallRule *rule = s->syscalls + s->n_syscalls++;
                char where[48];

                snprintf(where, sizeof(where), "linux.seccomp.syscalls[%zu]", i);
                if (want_type(p, e, json_type_object, where) < 0)
                        return -EINVAL;
                if ((r = get_strv(p, e, "names", where, &rule->names)) < 0 ||
                    (r = parse_action(p, e, "action", where, true, &rule->action)) < 0 ||
                    (r = get_int(p, e, "errnoRet", where, 0, 4095, &v)) < 0)
                        return r;
                rule->has_errno_ret = r > 0;
                rule->errno_ret = (unsigned) (r > 0 ? v : 0);
                if (!rule->names || !rule->names[0])
                        return fail(p, "%s.names: at least one name is required", where);
                if ((r = parse_syscall_args(p, e, where, rule)) < 0)
                        return r;
        }
        return 0;
}

static int parse_devices(Parser *p, json_object *linux_obj, OciConfig *c) {
        json_object *a;
        size_t n;
        int64_t v;
        int r;

        if (array_of(p, linux_obj, "devices", "linux", &a, &n) < 0)
                return -EINVAL;
        if (n == 0)
                return 0;
        c->devices = array_alloc(n, sizeof(OciDeviceNode));
        if (!c->devices)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                json_object *e = json_object_array_get_idx(a, i);
                OciDeviceNode *d = c->devices + c->n_devices++;
                _cleanup_free_ char *type = NULL;
                char where[40];

                snprintf(where, sizeof(where), "linux.devices[%zu]", i);
                if (want_type(p, e, json_type_object, where) < 0)
                        return -EINVAL;
                if ((r = get_string(p, e, "path", where, true, &d->path)) < 0 ||
                    (r = get_string(p, e, "type", where, true, &type)) < 0)
                        return r;
                if (strlen(type) != 1 || !strchr("cbup", type[0]))
                        return fail(p, "%s.type: '%s' is not c, b, u or p", where, type);
                d->type = type[0];
                if (d->path[0] != '/')
                        return fail(p, "%s.path: '%s' is not an absolute path", where, d->path);
                if ((r = get_int(p, e, "major", where, 0, UINT32_MAX, &d->major)) < 0 ||
                    (r == 0 && d->type != 'p') ||
                    (r = get_int(p, e, "minor", where, 0, UINT32_MAX, &d->minor)) < 0 || (r == 0 && d->type != 'p'))
                        return r < 0 ? r : fail(p, "%s: major and minor are required for type %c", where, d->type);
                if ((r = get_int(p, e, "fileMode", where, 0, 07777, &v)) < 0)
                        return r;
                d->has_file_mode = r > 0;
                d->file_mode = (mode_t) v;
                if ((r = get_int(p, e, "uid", where, 0, UINT32_MAX - 1, &v)) < 0)
                        return r;
                d->has_uid = r > 0;
                d->uid = (uid_t) (r > 0 ? v : 0);
                if ((r = get_int(p, e, "gid", where, 0, UINT32_MAX - 1, &v)) < 0)
                        return r;
                d->has_gid = r > 0;
                d->gid = (gid_t) (r > 0 ? v : 0);
        }
        return 0;
}

/* The namespace a sysctl key belongs to, as runc allows them: anything else is the host's, and a
 * bundle must not change the host (spawn and berth-oci write it with the host's privileges).
 * _OCI_NS_TYPE_INVALID: not a namespaced key, or not a valid name. */
static OciNamespaceType sysctl_namespace(const char *key) {
        static const char *const ipc[] = { "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
                                           "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced" };

        if (isempty(key) || strstr(key, "..") || strchr(key, '/') || key[0] == '.')
                return _OCI_NS_TYPE_INVALID;
        if (string_table_lookup(ipc, ELEMENTSOF(ipc), key) >= 0 || startswith(key, "fs.mqueue."))
                return OCI_NS_IPC;
        if (startswith(key, "net."))
                return OCI_NS_NETWORK;
        if (streq(key, "kernel.hostname") || streq(key, "kernel.domainname"))
                return OCI_NS_UTS;
        return _OCI_NS_TYPE_INVALID;
}

static int check_sysctl(Parser *p, const OciConfig *c) {
        for (char **s = c->sysctl; s && s[0] && s[1]; s += 2) {
                OciNamespaceType t = sysctl_namespace(s[0]);
                if (t < 0)
                        return fail(p, "linux.sysctl: %s is not a namespaced sysctl; it would change the host", s[0]);
                if (!c->namespaces[t].requested)
                        return fail(p, "linux.sysctl: %s needs its own %s namespace", s[0], oci_namespace_type_to_string(t));
        }
        return 0;
}

static int parse_linux(Parser *p, json_object *linux_obj, OciConfig *c) {
        int r;

        if (!linux_obj)
                return 0;
        if (want_type(p, linux_obj, json_type_object, "linux") < 0)
                return -EINVAL;
        if ((r = parse_namespaces(p, linux_obj, c)) < 0 ||
            (r = parse_id_mappings(p, linux_obj, "uidMappings", &c->uid_mappings, &c->n_uid_mappings)) < 0 ||
            (r = parse_id_mappings(p, linux_obj, "gidMappings", &c->gid_mappings, &c->n_gid_mappings)) < 0 ||
            (r = get_string_map(p, linux_obj, "sysctl", "linux", &c->sysctl)) < 0 ||
            (r = parse_resources(p, linux_obj, c)) < 0 ||
            (r = get_string(p, linux_obj, "cgroupsPath", "linux", false, &c->cgroups_path)) < 0 ||
            (r = parse_seccomp(p, linux_obj, c)) < 0 ||
            (r = parse_devices(p, linux_obj, c)) < 0 ||
            (r = get_strv(p, linux_obj, "maskedPaths", "linux", &c->masked_paths)) < 0 ||
            (r = get_strv(p, linux_obj, "readonlyPaths", "linux", &c->readonly_paths)) < 0 ||
            (r = get_string(p, linux_obj, "mountLabel", "linux", false, &c->mount_label)) < 0 ||
            (r = get_string(p, linux_obj, "rootfsPropagation", "linux", false, &c->rootfs_propagation)) < 0)
                return r;
        static const char *const propagations[] = { "shared", "slave", "private", "unbindable",
                                                    "rshared", "rslave", "rprivate", "runbindable" };
        if (c->rootfs_propagation &&
            string_table_lookup(propagations, ELEMENTSOF(propagations), c->rootfs_propagation) < 0)
                return fail(p, "linux.rootfsPropagation: unknown propagation '%s'", c->rootfs_propagation);
        if ((c->n_uid_mappings > 0 || c->n_gid_mappings > 0) && !c->namespaces[OCI_NS_USER].requested)
                return fail(p, "linux.uidMappings: ID mappings need a user namespace");
        return check_sysctl(p, c);
}

static int parse_document(Parser *p, json_object *doc, OciConfig *c) {
        json_object *root;
        int r;

        if (want_type(p, doc, json_type_object, "config.json") < 0)
                return -EINVAL;
        if ((r = get_string(p, doc, "ociVersion", "", true, &c->oci_version)) < 0)
                return r;
        if (oci_version_check(c->oci_version) < 0)
                return fail(p, "ociVersion: unsupported version '%s' (1.0.0 to 1.2.x are)", c->oci_version);

        root = member(doc, "root");
        if (!root)
                return fail(p, "root: missing");
        if (want_type(p, root, json_type_object, "root") < 0 ||
            get_string(p, root, "path", "root", true, &c->root_path) < 0 ||
            get_bool(p, root, "readonly", "root", &c->root_readonly) < 0)
                return -EINVAL;

        json_object *process = member(doc, "process");
        if (process) {
                c->has_process = true;
                if ((r = parse_process(p, process, &c->process)) < 0)
                        return r;
        }
        if ((r = get_string(p, doc, "hostname", "", false, &c->hostname)) < 0 ||
            (r = parse_mounts(p, doc, c)) < 0 ||
            (r = parse_hooks(p, doc, c)) < 0 ||
            (r = get_string_map(p, doc, "annotations", "", &c->annotations)) < 0 ||
            (r = parse_linux(p, member(doc, "linux"), c)) < 0)
                return r;
        return 0;
}

int oci_config_parse(const char *text, OciConfig *ret, char **ret_error) {
        _cleanup_free_ char *error = NULL;
        Parser p = { .error = &error };
        OciConfig c = {};
        enum json_tokener_error jerr;
        int r;

        json_object *doc = json_tokener_parse_verbose(text, &jerr);
        if (!doc) {
                if (ret_error)
                        *ret_error = strjoin("invalid JSON: ", json_tokener_error_desc(jerr));
                return -EINVAL;
        }
        r = parse_document(&p, doc, &c);
        json_object_put(doc);
        if (r < 0) {
                oci_config_done(&c);
                if (ret_error)
                        *ret_error = TAKE_PTR(error);
                return r;
        }
        *ret = c;
        return 0;
}

/* config.json is bounded: podman's are a few kB, a seccomp profile makes ~30 kB. */
#define OCI_CONFIG_SIZE_MAX (4 * 1024 * 1024)

int oci_config_load(const char *bundle, OciConfig *ret, char **ret_error) {
        _cleanup_free_ char *path = strjoin(bundle, "/config.json"), *text = NULL;
        size_t size;
        int r;

        if (!path)
                return -ENOMEM;
        r = read_file_at(AT_FDCWD, path, OCI_CONFIG_SIZE_MAX, &text, &size);
        if (r < 0)
                return r;
        if (strlen(text) != size) {
                if (ret_error)
                        *ret_error = strdup("invalid JSON: embedded NUL byte");
                return -EINVAL;
        }
        return oci_config_parse(text, ret, ret_error);
}

static void oci_process_done(OciProcess *p) {
        free(p->additional_gids);
        strv_free(p->args);
        strv_free(p->env);
        free(p->cwd);
        for (OciCapabilitySet s = 0; s < _OCI_CAP_SET_MAX; s++)
                strv_free(p->capabilities[s]);
        free(p->rlimits);
        free(p->apparmor_profile);
        free(p->selinux_label);
}

static void oci_seccomp_free(OciSeccomp *s) {
        if (!s)
                return;
        strv_free(s->architectures);
        strv_free(s->flags);
        for (size_t i = 0; i < s->n_syscalls; i++) {
                strv_free(s->syscalls[i].names);
                free(s->syscalls[i].args);
        }
        free(s->syscalls);
        free(s);
}

void oci_config_done(OciConfig *c) {
        free(c->oci_version);
        oci_process_done(&c->process);
        free(c->root_path);
        free(c->hostname);
        for (size_t i = 0; i < c->n_mounts; i++) {
                free(c->mounts[i].destination);
                free(c->mounts[i].type);
                free(c->mounts[i].source);
                strv_free(c->mounts[i].options);
        }
        free(c->mounts);
        for (OciHookKind k = 0; k < _OCI_HOOK_KIND_MAX; k++) {
                for (size_t i = 0; i < c->n_hooks[k]; i++) {
                        free(c->hooks[k][i].path);
                        strv_free(c->hooks[k][i].args);
                        strv_free(c->hooks[k][i].env);
                }
                free(c->hooks[k]);
        }
        strv_free(c->annotations);
        for (OciNamespaceType t = 0; t < _OCI_NS_TYPE_MAX; t++)
                free(c->namespaces[t].path);
        free(c->uid_mappings);
        free(c->gid_mappings);
        strv_free(c->sysctl);
        for (size_t i = 0; i < c->resources.n_devices; i++)
                free(c->resources.devices[i].access);
        free(c->resources.devices);
        free(c->cgroups_path);
        oci_seccomp_free(c->seccomp);
        for (size_t i = 0; i < c->n_devices; i++)
                free(c->devices[i].path);
        free(c->devices);
        strv_free(c->masked_paths);
        strv_free(c->readonly_paths);
        free(c->mount_label);
        free(c->rootfs_propagation);
        *c = (OciConfig) {};
}

const char *oci_config_annotation(const OciConfig *c, const char *key) {
        for (char **a = c->annotations; a && a[0] && a[1]; a += 2)
                if (streq(a[0], key))
                        return a[1];
        return NULL;
}
