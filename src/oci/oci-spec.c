/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* config.json as berth-oci's runtime command line needs it: the container's process, root,
 * mounts, namespaces, cgroup, devices, masked paths and hooks. */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

#include "oci-spec.h"
#include "spawn-caps.h"
#include "string-table.h"
#include "strv.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

static const char *const namespace_table[_OCI_NS_MAX] = {
        [OCI_NS_PID] = "pid",   [OCI_NS_NETWORK] = "network", [OCI_NS_MOUNT] = "mount",
        [OCI_NS_IPC] = "ipc",   [OCI_NS_UTS] = "uts",         [OCI_NS_USER] = "user",
        [OCI_NS_CGROUP] = "cgroup", [OCI_NS_TIME] = "time",
};

const char *oci_namespace_to_string(OciNamespace n) {
        return n >= 0 && n < _OCI_NS_MAX ? namespace_table[n] : NULL;
}

OciNamespace oci_namespace_from_string(const char *s) {
        for (int i = 0; s && i < _OCI_NS_MAX; i++)
                if (streq(namespace_table[i], s))
                        return i;
        return _OCI_NS_INVALID;
}

int oci_namespace_clone_flag(OciNamespace n) {
        static const int flags[_OCI_NS_MAX] = {
                [OCI_NS_PID] = CLONE_NEWPID, [OCI_NS_NETWORK] = CLONE_NEWNET, [OCI_NS_MOUNT] = CLONE_NEWNS,
                [OCI_NS_IPC] = CLONE_NEWIPC, [OCI_NS_UTS] = CLONE_NEWUTS,     [OCI_NS_USER] = CLONE_NEWUSER,
                [OCI_NS_CGROUP] = CLONE_NEWCGROUP, [OCI_NS_TIME] = CLONE_NEWTIME,
        };
        return flags[n];
}

const char *oci_namespace_proc_name(OciNamespace n) {
        static const char *const names[_OCI_NS_MAX] = {
                [OCI_NS_PID] = "pid", [OCI_NS_NETWORK] = "net", [OCI_NS_MOUNT] = "mnt", [OCI_NS_IPC] = "ipc",
                [OCI_NS_UTS] = "uts", [OCI_NS_USER] = "user",   [OCI_NS_CGROUP] = "cgroup", [OCI_NS_TIME] = "time",
        };
        return names[n];
}

static const char *get_string(json_object *o, const char *key) {
        json_object *v;
        if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

static json_object *get_typed(json_object *o, const char *key, json_type t) {
        json_object *v;
        if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, t))
                return NULL;
        return v;
}

static inline const char *str_or_empty(const char *s) {
        return s ?: "";
}

/* Sets *ret_error to fmt with arg (a literal format, checked), returns r. */
#define fail(ret_error, r, fmt, arg)                                               \
        ({                                                                         \
                int _r = (r);                                                      \
                free(*(ret_error));                                                \
                if (asprintf((ret_error), fmt, str_or_empty(arg)) < 0)  \
                        *(ret_error) = NULL;                                       \
                _r;                                                                \
        })

static int string_array(json_object *a, char ***ret) {
        char **l = NULL;
        size_t n = a ? json_object_array_length(a) : 0;
        for (size_t i = 0; i < n; i++) {
                json_object *e = json_object_array_get_idx(a, i);
                if (!json_object_is_type(e, json_type_string)) {
                        strv_free(l);
                        return -EINVAL;
                }
                if (strv_extend(&l, json_object_get_string(e)) < 0) {
                        strv_free(l);
                        return -ENOMEM;
                }
        }
        if (!l && !(l = calloc(1, sizeof(char *))))
                return -ENOMEM;
        *ret = l;
        return 0;
}

static int rlimit_from_name(const char *name) {
        static const struct { const char *name; int resource; } table[] = {
                { "RLIMIT_AS", RLIMIT_AS },           { "RLIMIT_CORE", RLIMIT_CORE },
                { "RLIMIT_CPU", RLIMIT_CPU },         { "RLIMIT_DATA", RLIMIT_DATA },
                { "RLIMIT_FSIZE", RLIMIT_FSIZE },     { "RLIMIT_LOCKS", RLIMIT_LOCKS },
                { "RLIMIT_MEMLOCK", RLIMIT_MEMLOCK }, { "RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE },
                { "RLIMIT_NICE", RLIMIT_NICE },       { "RLIMIT_NOFILE", RLIMIT_NOFILE },
                { "RLIMIT_NPROC", RLIMIT_NPROC },     { "RLIMIT_RSS", RLIMIT_RSS },
                { "RLIMIT_RTPRIO", RLIMIT_RTPRIO },   { "RLIMIT_RTTIME", RLIMIT_RTTIME },
                { "RLIMIT_SIGPENDING", RLIMIT_SIGPENDING }, { "RLIMIT_STACK", RLIMIT_STACK },
        };
        for (size_t i = 0; i < ELEMENTSOF(table); i++)
                if (streq(table[i].name, name))
                        return table[i].resource;
        return -EINVAL;
}

static int process_caps(json_object *caps, OciProcess *p, char **ret_error) {
        static const char *const keys[5] = { "bounding", "effective", "inheritable", "permitted", "ambient" };
        if (!caps)
                return 0;
        p->have_caps = true;
        for (int k = 0; k < 5; k++) {
                json_object *a = get_typed(caps, keys[k], json_type_array);
                for (size_t i = 0; a && i < json_object_array_length(a); i++) {
                        const char *name = json_object_get_string(json_object_array_get_idx(a, i));
                        int c = name ? capability_from_name(name) : -EINVAL;
                        if (c < 0)
                                /* A capability newer than our table: runc warns and goes on too. */
                                continue;
                        p->caps[k] |= UINT64_C(1) << c;
                }
        }
        (void) ret_error;
        return 0;
}

static int process_user(json_object *user, OciProcess *p, char **ret_error) {
        json_object *v;
        if (!user)
                return 0;
        if (json_object_object_get_ex(user, "uid", &v))
                p->uid = (uid_t) json_object_get_int64(v);
        if (json_object_object_get_ex(user, "gid", &v))
                p->gid = (gid_t) json_object_get_int64(v);
        if (json_object_object_get_ex(user, "umask", &v))
                p->umask = (int) json_object_get_int(v);
        if (get_string(user, "username"))
                return fail(ret_error, -EOPNOTSUPP, "process.user.username is not supported, give uid and gid%s", NULL);
        json_object *a = get_typed(user, "additionalGids", json_type_array);
        p->n_additional_gids = a ? json_object_array_length(a) : 0;
        if (p->n_additional_gids > 0) {
                p->additional_gids = calloc(p->n_additional_gids, sizeof(gid_t));
                if (!p->additional_gids)
                        return -ENOMEM;
                for (size_t i = 0; i < p->n_additional_gids; i++)
                        p->additional_gids[i] = (gid_t) json_object_get_int64(json_object_array_get_idx(a, i));
        }
        return 0;
}

static int process_rlimits(json_object *a, OciProcess *p, char **ret_error) {
        size_t n = a ? json_object_array_length(a) : 0;
        if (n == 0)
                return 0;
        p->rlimits = calloc(n, sizeof(OciRlimit));
        if (!p->rlimits)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                json_object *e = json_object_array_get_idx(a, i), *v;
                const char *type = get_string(e, "type");
                int res = type ? rlimit_from_name(type) : -EINVAL;
                if (res < 0)
                        return fail(ret_error, -EINVAL, "Unknown rlimit type '%s' in process.rlimits", type);
                OciRlimit *l = &p->rlimits[p->n_rlimits++];
                l->resource = res;
                l->limit.rlim_cur = json_object_object_get_ex(e, "soft", &v) ? (rlim_t) json_object_get_uint64(v) : 0;
                l->limit.rlim_max = json_object_object_get_ex(e, "hard", &v) ? (rlim_t) json_object_get_uint64(v) : 0;
        }
        return 0;
}

void oci_process_done(OciProcess *p) {
        strv_free(p->args);
        strv_free(p->env);
        free(p->additional_gids);
        free(p->rlimits);
        *p = (OciProcess) { .umask = -1 };
}

int oci_process_parse(json_object *o, OciProcess *p, char **ret_error) {
        json_object *v;
        int r;

        *p = (OciProcess) { .umask = -1 };
        if (!o)
                return fail(ret_error, -EINVAL, "config.json has no process%s", NULL);
        p->terminal = json_object_object_get_ex(o, "terminal", &v) && json_object_get_boolean(v);
        r = string_array(get_typed(o, "args", json_type_array), &p->args);
        if (r < 0 || !p->args[0])
                return fail(ret_error, -EINVAL, "process.args must be a non-empty array of strings%s", NULL);
        r = string_array(get_typed(o, "env", json_type_array), &p->env);
        if (r < 0)
                return fail(ret_error, r, "process.env must be an array of strings%s", NULL);
        p->cwd = get_string(o, "cwd") ?: "/";
        if (p->cwd[0] != '/')
                return fail(ret_error, -EINVAL, "process.cwd '%s' is not an absolute path", p->cwd);
        p->no_new_privileges = json_object_object_get_ex(o, "noNewPrivileges", &v) && json_object_get_boolean(v);
        if (json_object_object_get_ex(o, "oomScoreAdj", &v)) {
                p->have_oom_score_adj = true;
                p->oom_score_adj = json_object_get_int(v);
        }
        p->apparmor_profile = get_string(o, "apparmorProfile");
        p->selinux_label = get_string(o, "selinuxLabel");
        r = process_user(get_typed(o, "user", json_type_object), p, ret_error);
        if (r < 0)
                return r;
        r = process_caps(get_typed(o, "capabilities", json_type_object), p, ret_error);
        if (r < 0)
                return r;
        return process_rlimits(get_typed(o, "rlimits", json_type_array), p, ret_error);
}

int oci_mount_options_parse(json_object *options, OciMount *m) {
        static const struct { const char *name; unsigned long set, clear; } flag_table[] = {
                { "ro", MS_RDONLY, 0 },      { "rw", 0, MS_RDONLY },       { "nosuid", MS_NOSUID, 0 },
                { "suid", 0, MS_NOSUID },    { "nodev", MS_NODEV, 0 },     { "dev", 0, MS_NODEV },
                { "noexec", MS_NOEXEC, 0 },  { "exec", 0, MS_NOEXEC },     { "sync", MS_SYNCHRONOUS, 0 },
                { "async", 0, MS_SYNCHRONOUS }, { "noatime", MS_NOATIME, 0 }, { "atime", 0, MS_NOATIME },
                { "nodiratime", MS_NODIRATIME, 0 }, { "relatime", MS_RELATIME, 0 },
                { "strictatime", MS_STRICTATIME, 0 }, { "mand", MS_MANDLOCK, 0 }, { "dirsync", MS_DIRSYNC, 0 },
                { "bind", MS_BIND, 0 },      { "rbind", MS_BIND | MS_REC, 0 }, { "remount", MS_REMOUNT, 0 },
        };
        static const struct { const char *name; unsigned long flags; } prop_table[] = {
                { "shared", MS_SHARED }, { "rshared", MS_SHARED | MS_REC }, { "slave", MS_SLAVE },
                { "rslave", MS_SLAVE | MS_REC }, { "private", MS_PRIVATE }, { "rprivate", MS_PRIVATE | MS_REC },
                { "unbindable", MS_UNBINDABLE }, { "runbindable", MS_UNBINDABLE | MS_REC },
        };
        size_t n = options ? json_object_array_length(options) : 0;
        for (size_t i = 0; i < n; i++) {
                const char *o = json_object_get_string(json_object_array_get_idx(options, i));
                bool known = false;
                if (!o)
                        return -EINVAL;
                for (size_t k = 0; k < ELEMENTSOF(flag_table) && !known; k++)
                        if (streq(o, flag_table[k].name)) {
                                m->flags = (m->flags | flag_table[k].set) & ~flag_table[k].clear;
                                known = true;
                        }
                for (size_t k = 0; k < ELEMENTSOF(prop_table) && !known; k++)
                        if (streq(o, prop_table[k].name)) {
                                m->propagation = prop_table[k].flags;
                                known = true;
                        }
                /* Options of newer runtimes that change nothing here (idmap, copy-up) are dropped
                 * rather than handed to the kernel as data it would refuse. */
                if (known || streq(o, "tmpcopyup") || streq(o, "copy-symlink") || streq(o, "notmpcopyup"))
                        continue;
                char *d = m->data ? strjoin_many(m->data, ",", o, NULL) : strdup(o);
                if (!d)
                        return -ENOMEM;
                free(m->data);
                m->data = d;
        }
        if (m->flags & MS_BIND)
                m->bind = true;
        return 0;
}

static int spec_mounts(json_object *a, OciSpec *s, char **ret_error) {
        size_t n = a ? json_object_array_length(a) : 0;
        if (n == 0)
                return 0;
        s->mounts = calloc(n, sizeof(OciMount));
        if (!s->mounts)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                json_object *e = json_object_array_get_idx(a, i);
                OciMount *m = &s->mounts[s->n_mounts++];
                m->destination = get_string(e, "destination");
                m->type = get_string(e, "type");
                m->source = get_string(e, "source");
                if (!m->destination || m->destination[0] != '/')
                        return fail(ret_error, -EINVAL, "mounts[] entry with a missing or relative destination '%s'",
                                    m->destination);
                if (oci_mount_options_parse(get_typed(e, "options", json_type_array), m) < 0)
                        return fail(ret_error, -EINVAL, "Bad options of the mount on %s", m->destination);
                if (m->type && streq(m->type, "bind"))
                        m->bind = true;
                if (m->bind && !m->source)
                        return fail(ret_error, -EINVAL, "The bind mount on %s has no source", m->destination);
        }
        return 0;
}

static int spec_namespaces(json_object *a, OciSpec *s, char **ret_error) {
        for (size_t i = 0; a && i < json_object_array_length(a); i++) {
                json_object *e = json_object_array_get_idx(a, i);
                const char *type = get_string(e, "type");
                OciNamespace n = oci_namespace_from_string(type);
                if (n < 0)
                        return fail(ret_error, -EINVAL, "Unknown namespace type '%s' in linux.namespaces", type);
                s->ns_wanted[n] = true;
                s->ns_path[n] = get_string(e, "path");
                if (s->ns_path[n] && isempty(s->ns_path[n]))
                        s->ns_path[n] = NULL;
        }
        if (s->ns_wanted[OCI_NS_USER])
                return fail(ret_error, -EOPNOTSUPP, "berth-oci does not support user namespaces yet%s", NULL);
        if (s->ns_wanted[OCI_NS_TIME])
                return fail(ret_error, -EOPNOTSUPP, "berth-oci does not support time namespaces yet%s", NULL);
        return 0;
}

static int spec_devices(json_object *a, OciSpec *s, char **ret_error) {
        size_t n = a ? json_object_array_length(a) : 0;
        if (n == 0)
                return 0;
        s->devices = calloc(n, sizeof(OciDevice));
        if (!s->devices)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                json_object *e = json_object_array_get_idx(a, i), *v;
                OciDevice *d = &s->devices[s->n_devices++];
                const char *type = get_string(e, "type");
                d->path = get_string(e, "path");
                if (!d->path || !type || !strchr("cbup", type[0]))
                        return fail(ret_error, -EINVAL, "Bad entry in linux.devices: '%s'", d->path);
                d->type = type[0];
                d->major = json_object_object_get_ex(e, "major", &v) ? (unsigned) json_object_get_int64(v) : 0;
                d->minor = json_object_object_get_ex(e, "minor", &v) ? (unsigned) json_object_get_int64(v) : 0;
                d->mode = json_object_object_get_ex(e, "fileMode", &v) ? (mode_t) json_object_get_int(v) : 0666;
                d->uid = json_object_object_get_ex(e, "uid", &v) ? (uid_t) json_object_get_int64(v) : 0;
                d->gid = json_object_object_get_ex(e, "gid", &v) ? (gid_t) json_object_get_int64(v) : 0;
        }
        return 0;
}

static int spec_hooks(json_object *hooks, OciSpec *s, char **ret_error) {
        static const char *const keys[_OCI_HOOK_MAX] = {
                [OCI_HOOK_PRESTART] = "prestart", [OCI_HOOK_CREATE_RUNTIME] = "createRuntime",
                [OCI_HOOK_CREATE_CONTAINER] = "createContainer", [OCI_HOOK_START_CONTAINER] = "startContainer",
                [OCI_HOOK_POSTSTART] = "poststart", [OCI_HOOK_POSTSTOP] = "poststop",
        };
        for (int k = 0; hooks && k < _OCI_HOOK_MAX; k++) {
                json_object *a = get_typed(hooks, keys[k], json_type_array), *v;
                size_t n = a ? json_object_array_length(a) : 0;
                if (n == 0)
                        continue;
                s->hooks[k] = calloc(n, sizeof(OciHook));
                if (!s->hooks[k])
                        return -ENOMEM;
                for (size_t i = 0; i < n; i++) {
                        json_object *e = json_object_array_get_idx(a, i);
                        OciHook *h = &s->hooks[k][s->n_hooks[k]++];
                        h->path = get_string(e, "path");
                        if (!h->path || h->path[0] != '/')
                                return fail(ret_error, -EINVAL, "A %s hook without an absolute path", keys[k]);
                        if (string_array(get_typed(e, "args", json_type_array), &h->args) < 0 ||
                            string_array(get_typed(e, "env", json_type_array), &h->env) < 0)
                                return fail(ret_error, -EINVAL, "Bad args or env of a %s hook", keys[k]);
                        h->timeout = json_object_object_get_ex(e, "timeout", &v) ? json_object_get_int(v) : 0;
                }
        }
        return 0;
}

void oci_spec_free(OciSpec *s) {
        if (!s)
                return;
        oci_process_done(&s->process);
        for (size_t i = 0; i < s->n_mounts; i++)
                free(s->mounts[i].data);
        free(s->mounts);
        free(s->devices);
        strv_free(s->masked_paths);
        strv_free(s->readonly_paths);
        for (int k = 0; k < _OCI_HOOK_MAX; k++) {
                for (size_t i = 0; i < s->n_hooks[k]; i++) {
                        strv_free(s->hooks[k][i].args);
                        strv_free(s->hooks[k][i].env);
                }
                free(s->hooks[k]);
        }
        free(s->root_path_abs);
        json_object_put(s->json);
        free(s);
}

static int spec_linux(json_object *linux_, OciSpec *s, char **ret_error) {
        int r;
        r = spec_namespaces(get_typed(linux_, "namespaces", json_type_array), s, ret_error);
        if (r < 0)
                return r;
        r = spec_devices(get_typed(linux_, "devices", json_type_array), s, ret_error);
        if (r < 0)
                return r;
        s->cgroups_path = get_string(linux_, "cgroupsPath");
        s->resources = get_typed(linux_, "resources", json_type_object);
        s->seccomp = get_typed(linux_, "seccomp", json_type_object);
        s->sysctl = get_typed(linux_, "sysctl", json_type_object);
        s->rootfs_propagation = get_string(linux_, "rootfsPropagation");
        if (string_array(get_typed(linux_, "maskedPaths", json_type_array), &s->masked_paths) < 0 ||
            string_array(get_typed(linux_, "readonlyPaths", json_type_array), &s->readonly_paths) < 0)
                return fail(ret_error, -EINVAL, "linux.maskedPaths and readonlyPaths must be arrays of strings%s", NULL);
        if (get_typed(linux_, "uidMappings", json_type_array) &&
            json_object_array_length(get_typed(linux_, "uidMappings", json_type_array)) > 0 && !s->ns_wanted[OCI_NS_USER])
                return fail(ret_error, -EINVAL, "linux.uidMappings without a user namespace%s", NULL);
        return 0;
}

int oci_spec_load(const char *bundle, OciSpec **ret, char **ret_error) {
        _cleanup_free_ char *path = strjoin_many(bundle, "/config.json", NULL);
        OciSpec *s;
        int r;

        if (!path)
                return -ENOMEM;
        s = calloc(1, sizeof(OciSpec));
        if (!s)
                return -ENOMEM;
        s->json = json_object_from_file(path);
        if (!s->json || !json_object_is_type(s->json, json_type_object)) {
                r = fail(ret_error, -EINVAL, "Cannot read %s: not a JSON object or unreadable", path);
                goto fail;
        }
        s->oci_version = get_string(s->json, "ociVersion");
        if (!s->oci_version || !startswith(s->oci_version, "1.")) {
                r = fail(ret_error, -EINVAL, "Unsupported ociVersion '%s' (want 1.x)", s->oci_version);
                goto fail;
        }
        r = oci_process_parse(get_typed(s->json, "process", json_type_object), &s->process, ret_error);
        if (r < 0)
                goto fail;
        json_object *root = get_typed(s->json, "root", json_type_object), *v;
        s->root_path = get_string(root, "path");
        if (!s->root_path) {
                r = fail(ret_error, -EINVAL, "config.json has no root.path%s", NULL);
                goto fail;
        }
        s->root_path_abs = s->root_path[0] == '/' ? strdup(s->root_path) : strjoin_many(bundle, "/", s->root_path, NULL);
        if (!s->root_path_abs) {
                r = -ENOMEM;
                goto fail;
        }
        s->root_readonly = json_object_object_get_ex(root, "readonly", &v) && json_object_get_boolean(v);
        s->hostname = get_string(s->json, "hostname");
        s->annotations = get_typed(s->json, "annotations", json_type_object);
        r = spec_mounts(get_typed(s->json, "mounts", json_type_array), s, ret_error);
        if (r >= 0)
                r = spec_linux(get_typed(s->json, "linux", json_type_object), s, ret_error);
        if (r >= 0)
                r = spec_hooks(get_typed(s->json, "hooks", json_type_object), s, ret_error);
        if (r < 0)
                goto fail;
        *ret = s;
        return 0;
fail:
        oci_spec_free(s);
        return r;
}
