/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* --oci-bundle: config.json onto SpawnOptions, and the few steps only a bundle has (hooks,
 * sysctls, device nodes, joined namespaces). The parsing is src/shared/oci-config.c. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fd-util.h"
#include "log.h"
#include "name-util.h"
#include "oci-hooks.h"
#include "oci-state.h"
#include "spawn-oci.h"
#include "spawn-options.h"
#include "string-table.h"
#include "strv.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

static const unsigned long namespace_flags[_OCI_NS_TYPE_MAX] = {
        [OCI_NS_PID] = CLONE_NEWPID,       [OCI_NS_NETWORK] = CLONE_NEWNET, [OCI_NS_MOUNT] = CLONE_NEWNS,
        [OCI_NS_IPC] = CLONE_NEWIPC,       [OCI_NS_UTS] = CLONE_NEWUTS,     [OCI_NS_USER] = CLONE_NEWUSER,
        [OCI_NS_CGROUP] = CLONE_NEWCGROUP, [OCI_NS_TIME] = CLONE_NEWTIME,
};

void spawn_oci_config_free(OciConfig *c) {
        if (!c)
                return;
        oci_config_done(c);
        free(c);
}

static bool unset(const SpawnOptions *o, SpawnField f) {
        return o->source[f] == SPAWN_SOURCE_DEFAULT;
}

/* Marks f as the bundle's; returns whether the bundle may set it. */
static bool take(SpawnOptions *o, SpawnField f) {
        if (!unset(o, f))
                return false;
        o->source[f] = SPAWN_SOURCE_OCI_BUNDLE;
        return true;
}

static int caps_mask(const OciConfig *c, OciCapabilitySet set, uint64_t *ret) {
        uint64_t m = 0;
        for (char **n = c->process.capabilities[set]; n && *n; n++) {
                int cap = capability_from_name(*n);
                if (cap < 0)
                        /* runc ignores names the kernel it runs on lacks; so do we, visibly. */
                        log_debug("Ignoring unknown capability %s in process.capabilities.%s.", *n,
                                  oci_capability_set_to_string(set));
                else
                        m |= UINT64_C(1) << cap;
        }
        *ret = m;
        return 0;
}

/* runc's semantics for the process: exactly the bundle's capabilities, limits and privileges. */
static int apply_isolation(SpawnOptions *o, const OciConfig *c) {
        IsolationOptions *iso = &o->isolation;
        const OciProcess *p = &c->process;
        uint64_t bounding = 0, ambient = 0;

        if (take(o, SPAWN_FIELD_CAPABILITY)) {
                caps_mask(c, OCI_CAP_BOUNDING, &bounding);
                caps_mask(c, OCI_CAP_AMBIENT, &ambient);
                uint64_t def = capability_container_set(o->private_network);
                iso->caps = (CapabilityOptions) { .add = bounding & ~def, .drop = def & ~bounding,
                                                  .ambient = ambient & bounding };
        }
        bool rlimits = take(o, SPAWN_FIELD_RLIMITS);
        for (size_t i = 0; rlimits && i < p->n_rlimits; i++) {
                iso->rlimits[p->rlimits[i].resource] = (struct rlimit) { .rlim_cur = p->rlimits[i].soft,
                                                                          .rlim_max = p->rlimits[i].hard };
                iso->rlimits_set |= 1U << p->rlimits[i].resource;
        }
        if (take(o, SPAWN_FIELD_NO_NEW_PRIVILEGES))
                iso->no_new_privileges = p->no_new_privileges;
        if (take(o, SPAWN_FIELD_OOM_SCORE_ADJUST)) {
                iso->oom_score_adjust_set = p->has_oom_score_adj;
                iso->oom_score_adjust = p->oom_score_adj;
        }

        /* The devices cgroup list: berth's policy is an allow list on top of the nodes every
         * container gets (null, zero, ..., ptys), so "deny all" starts it empty, an allow adds a
         * rule and a later deny takes the rules it covers back out. */
        bool devices = o->source[SPAWN_FIELD_LIMITS] == SPAWN_SOURCE_OCI_BUNDLE;
        for (size_t i = 0; devices && c->has_resources && i < c->resources.n_devices; i++) {
                const OciDeviceRule *d = c->resources.devices + i;
                unsigned access = 0;
                for (const char *a = d->access ?: "rwm"; *a; a++)
                        access |= *a == 'r' ? DEVICE_ACCESS_READ : *a == 'w' ? DEVICE_ACCESS_WRITE : DEVICE_ACCESS_MKNOD;
                if (!d->allow) {
                        DevicePolicy *pol = &iso->device_allow;
                        size_t k = 0;
                        for (size_t j = 0; j < pol->n_rules; j++) {
                                DeviceRule *x = pol->rules + j;
                                bool covered = (d->type == 'a' || d->type == x->type) && (d->major < 0 || d->major == x->major) &&
                                               (d->minor < 0 || d->minor == x->minor);
                                if (covered)
                                        x->access &= ~access;
                                if (x->access != 0)
                                        pol->rules[k++] = *x;
                        }
                        pol->n_rules = k;
                        continue;
                }
                /* "a" means both kinds. */
                for (const char *t = d->type == 'a' ? "cb" : (char[]) { d->type, 0 }; *t; t++) {
                        DeviceRule rule = { .type = *t, .major = (int) d->major, .minor = (int) d->minor, .access = access };
                        if (device_policy_add(&iso->device_allow, &rule) < 0)
                                return log_oom();
                }
        }
        /* The nodes of linux.devices are spawn's to create (mknod may come after the supervisor put
         * the policy on the container's cgroup): 'm' for them, opening them stays the list's call. */
        for (size_t i = 0; i < c->n_devices; i++) {
                const OciDeviceNode *d = c->devices + i;
                DeviceRule rule = { .type = d->type == 'b' ? 'b' : 'c', .major = (int) d->major, .minor = (int) d->minor,
                                    .access = DEVICE_ACCESS_MKNOD };
                if (d->type != 'p' && device_policy_add(&iso->device_allow, &rule) < 0)
                        return log_oom();
        }
        return 0;
}

static void apply_resources(SpawnOptions *o, const OciResources *r) {
        CGroupLimits *l = &o->limits;

        if (r->has_memory_limit)
                l->memory_max = r->memory_limit < 0 ? CGROUP_LIMIT_MAX : (uint64_t) r->memory_limit;
        /* cgroup v1 shares (2..262144, default 1024) onto v2 weights (1..10000, default 100), as
         * runc and crun convert them. */
        if (r->has_cpu_shares && r->cpu_shares > 0) {
                uint64_t s = r->cpu_shares < 2 ? 2 : r->cpu_shares > 262144 ? 262144 : r->cpu_shares;
                l->cpu_weight = 1 + ((s - 2) * 9999) / 262142;
        }
        if (r->has_cpu_quota && r->cpu_quota > 0) {
                uint64_t period = r->has_cpu_period && r->cpu_period > 0 ? r->cpu_period : 100000;
                l->cpu_quota_per_sec_usec = (uint64_t) r->cpu_quota * 1000000 / period;
        }
        if (r->has_pids_limit)
                l->tasks_max = r->pids_limit <= 0 ? CGROUP_LIMIT_MAX : (uint64_t) r->pids_limit;
        if (r->has_blkio_weight)
                l->io_weight = 1 + ((uint64_t) r->blkio_weight - 10) * 9999 / 990;
}

static int apply_namespaces(SpawnOptions *o, const OciConfig *c) {
        static const OciNamespaceType unjoinable[] = { OCI_NS_PID, OCI_NS_MOUNT, OCI_NS_USER, OCI_NS_TIME };

        if (!c->namespaces[OCI_NS_MOUNT].requested)
                return log_error_errno(EINVAL, "config.json of %s has no mount namespace; spawn needs one.", o->oci_bundle);
        /* These would have to be joined before the container's PID 1 exists (pid, time: they apply
         * to children only) or would replace the mounts spawn makes (mount, user). */
        for (size_t i = 0; i < ELEMENTSOF(unjoinable); i++)
                if (c->namespaces[unjoinable[i]].path)
                        return log_error_errno(EOPNOTSUPP, "Joining an existing %s namespace (%s) is not supported.",
                                               oci_namespace_type_to_string(unjoinable[i]),
                                               c->namespaces[unjoinable[i]].path);
        if (take(o, SPAWN_FIELD_PRIVATE_NETWORK))
                o->private_network = c->namespaces[OCI_NS_NETWORK].requested && !c->namespaces[OCI_NS_NETWORK].path;

        if (!c->namespaces[OCI_NS_USER].requested || !take(o, SPAWN_FIELD_PRIVATE_USERS))
                return 0;
        /* berth's user namespaces have one base for users and groups (spawn-userns.c: the API
         * mounts' owners, the range lock): the range at container ID 0. The maps written are the
         * bundle's, every line of them (spawn_oci_write_id_maps()). */
        const OciIdMapping *u = NULL, *g = NULL;
        for (size_t i = 0; i < c->n_uid_mappings; i++)
                if (c->uid_mappings[i].container_id == 0)
                        u = c->uid_mappings + i;
        for (size_t i = 0; i < c->n_gid_mappings; i++)
                if (c->gid_mappings[i].container_id == 0)
                        g = c->gid_mappings + i;
        if (!u || !g || u->host_id != g->host_id)
                return log_error_errno(EOPNOTSUPP, "linux.uidMappings and linux.gidMappings must map container ID 0 to "
                                                   "the same host ID.");
        o->private_users = (UsernsSpec) { .mode = u->host_id == 0 ? USERNS_IDENTITY : USERNS_FIXED, .base = u->host_id,
                                          .size = u->size < g->size ? u->size : g->size };
        o->private_users_ownership = USERNS_OWNERSHIP_OFF;
        return 0;
}

static int bundle_path(const char *bundle, const char *path, char **ret) {
        *ret = path[0] == '/' ? strdup(path) : strjoin(bundle, "/", path);
        return *ret ? 0 : log_oom();
}

/* Fields the bundle sets, each only where the command line did not. */
static int apply_fields(SpawnOptions *o, const OciConfig *c) {
        int r;

        if (take(o, SPAWN_FIELD_DIRECTORY) && !o->image && (r = bundle_path(o->oci_bundle, c->root_path, &o->directory)) < 0)
                return r;
        if (take(o, SPAWN_FIELD_READ_ONLY))
                o->read_only = c->root_readonly;
        if (take(o, SPAWN_FIELD_HOSTNAME) && c->hostname && strdup_to(&o->hostname, c->hostname) < 0)
                return -ENOMEM;
        if (take(o, SPAWN_FIELD_MACHINE)) {
                /* The bundle's directory name is its container ID for podman and containerd. */
                const char *base = strrchr(o->oci_bundle, '/');
                base = base && base[1] ? base + 1 : o->oci_bundle;
                if (machine_name_is_valid(base) && strdup_to(&o->machine, base) < 0)
                        return -ENOMEM;
        }
        if (take(o, SPAWN_FIELD_COMMAND) && !(o->command = strv_copy(c->process.args)))
                return log_oom();
        if (take(o, SPAWN_FIELD_SETENV) && c->process.env && !(o->setenv = strv_copy(c->process.env)))
                return log_oom();
        if (take(o, SPAWN_FIELD_CHDIR) && strdup_to(&o->chdir, c->process.cwd) < 0)
                return -ENOMEM;
        /* No terminal: the process gets spawn's stdio, as runc passes its own through. */
        if (take(o, SPAWN_FIELD_CONSOLE_MODE) && !c->process.terminal)
                o->console_mode = CONSOLE_PIPE;
        if (take(o, SPAWN_FIELD_REGISTER_MODE))
                o->register_mode = REGISTER_NO;
        if (take(o, SPAWN_FIELD_RESOLV_CONF))
                o->resolv_conf = RESOLV_CONF_OFF;
        if (take(o, SPAWN_FIELD_TIMEZONE))
                o->timezone = TIMEZONE_OFF;
        if (take(o, SPAWN_FIELD_LINK_JOURNAL))
                o->link_journal = LINK_JOURNAL_NO;
        if (take(o, SPAWN_FIELD_SELINUX_CONTEXT) && c->process.selinux_label &&
            strdup_to(&o->selinux_context, c->process.selinux_label) < 0)
                return -ENOMEM;
        if (take(o, SPAWN_FIELD_SELINUX_APIFS_CONTEXT) && c->mount_label &&
            strdup_to(&o->selinux_apifs_context, c->mount_label) < 0)
                return -ENOMEM;
        if (take(o, SPAWN_FIELD_LIMITS) && c->has_resources)
                apply_resources(o, &c->resources);
        return 0;
}

/* What the parser cannot see alone: combinations spawn would otherwise find out about midway. */
static int oci_config_check(const SpawnOptions *o, const OciConfig *c) {
        for (size_t i = 0; i < c->n_mounts; i++) {
                const OciMount *m = c->mounts + i;
                bool bind = (m->type && streq(m->type, "bind")) || strv_contains(m->options, "bind") ||
                            strv_contains(m->options, "rbind");
                if (bind ? isempty(m->source) : !m->type)
                        return log_error_errno(EINVAL, "Invalid %s/config.json: mounts[%zu]: %s.", o->oci_bundle, i,
                                               bind ? "a bind mount needs a source" : "type missing");
        }
        _cleanup_free_ char *cgroup = NULL;
        bool absolute;
        if (spawn_oci_cgroup_path(c->cgroups_path, &cgroup, &absolute) == -EINVAL)
                return log_error_errno(EINVAL, "Invalid %s/config.json: linux.cgroupsPath: '%s' is not a cgroup path.",
                                       o->oci_bundle, c->cgroups_path);
        if (c->hostname && !c->namespaces[OCI_NS_UTS].requested)
                return log_error_errno(EINVAL, "Invalid %s/config.json: hostname needs a UTS namespace.", o->oci_bundle);
        return 0;
}

int spawn_oci_apply(SpawnOptions *o) {
        _cleanup_free_ char *error = NULL, *bundle = NULL;
        int r;

        if (!o->oci_bundle)
                return 0;
        if (o->boot || o->as_pid2)
                return log_error_errno(EINVAL, "--oci-bundle= runs the bundle's process as PID 1; it cannot be combined with -b or -a.");
        bundle = realpath(o->oci_bundle, NULL);
        if (!bundle)
                return log_error_errno(errno, "Failed to open the OCI bundle %s: %m", o->oci_bundle);
        free(o->oci_bundle);
        o->oci_bundle = TAKE_PTR(bundle);

        OciConfig *c = calloc(1, sizeof(OciConfig));
        if (!c)
                return log_oom();
        r = oci_config_load(o->oci_bundle, c, &error);
        if (r < 0) {
                free(c);
                if (r == -EINVAL && error)
                        return log_error_errno(r, "Invalid %s/config.json: %s", o->oci_bundle, error);
                return log_error_errno(r, "Failed to read %s/config.json: %m", o->oci_bundle);
        }
        o->oci = c;
        if (!c->has_process || !c->process.args || !c->process.args[0])
                return log_error_errno(EINVAL, "Invalid %s/config.json: process.args: missing; nothing to run.", o->oci_bundle);
        if (c->process.apparmor_profile)
                log_debug("Ignoring process.apparmorProfile %s: berth does not load AppArmor profiles.",
                          c->process.apparmor_profile);

        r = oci_config_check(o, c);
        if (r < 0)
                return r;
        r = apply_namespaces(o, c);
        if (r < 0)
                return r;
        r = apply_fields(o, c);
        if (r < 0)
                return r;
        return apply_isolation(o, c);
}

uint64_t spawn_oci_clone_flags(const SpawnConfig *c) {
        const OciConfig *oci = c->opt.oci;
        uint64_t flags = CLONE_NEWNS;

        /* The user namespace comes late, from the child (child_enter_userns()), and so does the
         * cgroup namespace (once the child sits in its cgroup). */
        for (OciNamespaceType t = 0; t < _OCI_NS_TYPE_MAX; t++)
                if (oci->namespaces[t].requested && !oci->namespaces[t].path && t != OCI_NS_USER && t != OCI_NS_CGROUP)
                        flags |= namespace_flags[t];
        if (c->opt.private_network)
                flags |= CLONE_NEWNET;
        return flags;
}

bool spawn_oci_wants_cgroup_ns(const SpawnConfig *c) {
        return c->opt.oci->namespaces[OCI_NS_CGROUP].requested && !c->opt.oci->namespaces[OCI_NS_CGROUP].path;
}

int spawn_oci_join_namespaces(const SpawnConfig *c) {
        const OciConfig *oci = c->opt.oci;

        for (OciNamespaceType t = 0; t < _OCI_NS_TYPE_MAX; t++) {
                if (!oci->namespaces[t].path)
                        continue;
                _cleanup_close_ int fd = open(oci->namespaces[t].path, O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        return log_error_errno(errno, "Failed to open the %s namespace %s: %m",
                                               oci_namespace_type_to_string(t), oci->namespaces[t].path);
                if (setns(fd, (int) namespace_flags[t]) < 0)
                        return log_error_errno(errno, "Failed to join the %s namespace %s: %m",
                                               oci_namespace_type_to_string(t), oci->namespaces[t].path);
        }
        return 0;
}

bool spawn_oci_has_hooks(const SpawnConfig *c, OciHookKind kind) {
        return c->opt.oci && c->opt.oci->n_hooks[kind] > 0;
}

int spawn_oci_hooks_run(const SpawnConfig *c, OciHookKind kind, pid_t pid) {
        static const OciStatus status[_OCI_HOOK_KIND_MAX] = {
                [OCI_HOOK_PRESTART] = OCI_STATUS_CREATING,        [OCI_HOOK_CREATE_RUNTIME] = OCI_STATUS_CREATING,
                [OCI_HOOK_CREATE_CONTAINER] = OCI_STATUS_CREATING, [OCI_HOOK_START_CONTAINER] = OCI_STATUS_CREATED,
                [OCI_HOOK_POSTSTART] = OCI_STATUS_RUNNING,        [OCI_HOOK_POSTSTOP] = OCI_STATUS_STOPPED,
        };
        const OciConfig *oci = c->opt.oci;
        _cleanup_free_ char *state = NULL;
        size_t failed = 0;
        int status_word = 0, r;

        if (!spawn_oci_has_hooks(c, kind))
                return 0;
        OciState s = { .id = c->res.machine, .status = status[kind], .pid = kind == OCI_HOOK_POSTSTOP ? 0 : pid,
                       .bundle = c->opt.oci_bundle, .annotations = oci->annotations };
        r = oci_state_format(&s, &state);
        if (r < 0)
                return log_oom();
        r = oci_hooks_run(oci->hooks[kind], oci->n_hooks[kind], state, &failed, &status_word);
        if (r >= 0)
                return 0;
        const char *what = oci_hook_kind_to_string(kind), *path = oci->hooks[kind][failed].path;
        if (r == -ETIMEDOUT)
                return log_error_errno(r, "The %s hook %s timed out after %us.", what, path, oci->hooks[kind][failed].timeout);
        if (r == -EPROTO && WIFEXITED(status_word))
                return log_error_errno(r, "The %s hook %s failed with exit status %d.", what, path, WEXITSTATUS(status_word));
        if (r == -EPROTO)
                return log_error_errno(r, "The %s hook %s was killed by signal %d.", what, path, WTERMSIG(status_word));
        return log_error_errno(r, "Failed to run the %s hook %s: %m", what, path);
}

int spawn_oci_cgroup_path(const char *cgroups_path, char **ret, bool *ret_absolute) {
        _cleanup_free_ char *slice = NULL, *prefix = NULL, *path = NULL;

        *ret = NULL;
        *ret_absolute = false;
        if (isempty(cgroups_path))
                return 0;
        if (strstr(cgroups_path, "..") || strstr(cgroups_path, "//"))
                return -EINVAL;
        const char *colon = strchr(cgroups_path, ':');
        if (!colon) {
                *ret_absolute = cgroups_path[0] == '/';
                *ret = strdup(cgroups_path + (*ret_absolute ? 1 : 0));
                return *ret ? 0 : -ENOMEM;
        }
        /* systemd's form: each dash of a slice name is a level ("a-b.slice" is in "a.slice"). */
        const char *second = strchr(colon + 1, ':');
        if (strchr(cgroups_path, '/') || !second || strchr(second + 1, ':') || isempty(second + 1))
                return -EINVAL;
        slice = colon == cgroups_path ? strdup("machine.slice") : strndup(cgroups_path, (size_t) (colon - cgroups_path));
        prefix = strndup(colon + 1, (size_t) (second - colon - 1));
        if (!slice || !prefix)
                return -ENOMEM;
        size_t n = strlen(slice);
        if (n <= strlen(".slice") || !streq(slice + n - strlen(".slice"), ".slice"))
                return -EINVAL;
        for (char *dash = slice; (dash = strchr(dash, '-')); dash++) {
                _cleanup_free_ char *level = strndup(slice, (size_t) (dash - slice));
                char *next = level ? strjoin(path ?: "", path ? "/" : "", level, ".slice") : NULL;
                if (!next)
                        return -ENOMEM;
                free(path);
                path = next;
        }
        *ret = strjoin(path ?: "", path ? "/" : "", slice, "/", prefix, *prefix ? "-" : "", second + 1, ".scope");
        if (!*ret)
                return -ENOMEM;
        *ret_absolute = true;
        return 0;
}

int spawn_oci_write_id_maps(const SpawnConfig *c, pid_t pid) {
        const OciConfig *oci = c->opt.oci;
        const OciIdMapping *maps[2] = { oci->uid_mappings, oci->gid_mappings };
        const size_t n[2] = { oci->n_uid_mappings, oci->n_gid_mappings };
        static const char *const files[2] = { "uid_map", "gid_map" };

        for (size_t f = 0; f < 2; f++) {
                _cleanup_free_ char *text = NULL;
                char path[64];
                for (size_t i = 0; i < n[f]; i++) {
                        char line[64];
                        snprintf(line, sizeof(line), "%" PRIu32 " %" PRIu32 " %" PRIu32 "\n", maps[f][i].container_id,
                                 maps[f][i].host_id, maps[f][i].size);
                        char *joined = strjoin(text ?: "", line);
                        if (!joined)
                                return -ENOMEM;
                        free(text);
                        text = joined;
                }
                snprintf(path, sizeof(path), "/proc/%d/%s", (int) pid, files[f]);
                _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
                /* One write(): the kernel takes a map whole or not at all. */
                if (fd < 0)
                        return -errno;
                ssize_t k = write(fd, text, strlen(text));
                if (k < 0)
                        return -errno;
                if ((size_t) k != strlen(text))
                        return -EIO;
        }
        return 0;
}

/* In the container's namespaces, through the host's /proc (before pivot_root): what the kernel
 * namespaces (net.*, the IPC and UTS keys) applies to the container only. */
int spawn_oci_sysctl_apply(const SpawnConfig *c) {
        for (char **s = c->opt.oci->sysctl; s && s[0] && s[1]; s += 2) {
                _cleanup_free_ char *path = strjoin("/proc/sys/", s[0]);
                if (!path)
                        return log_oom();
                for (char *p = path + strlen("/proc/sys/"); *p; p++)
                        if (*p == '.')
                                *p = '/';
                if (strstr(s[0], "..") || strchr(s[0], '/') || s[0][0] == '\0')
                        return log_error_errno(EINVAL, "Invalid sysctl name '%s' in linux.sysctl.", s[0]);
                _cleanup_close_ int fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0 || loop_write(fd, s[1], strlen(s[1])) < 0)
                        return log_error_errno(errno, "Failed to set sysctl %s to '%s': %m", s[0], s[1]);
        }
        return 0;
}

int spawn_oci_devices_create(const SpawnConfig *c, int rootfd) {
        const OciConfig *oci = c->opt.oci;

        for (size_t i = 0; i < oci->n_devices; i++) {
                const OciDeviceNode *d = oci->devices + i;
                _cleanup_free_ char *dir = strdup(d->path);
                if (!dir)
                        return log_oom();
                char *slash = strrchr(dir, '/');
                const char *name = d->path + (slash - dir) + 1;
                *slash = '\0';
                if (mkdir_p_in_root(rootfd, dir[0] ? dir : "/", 0755) < 0)
                        return log_error_errno(EINVAL, "Failed to create the directory of %s in the container.", d->path);
                _cleanup_close_ int dirfd = open_in_root(rootfd, dir[0] ? dir : "/", O_RDONLY | O_DIRECTORY, 0);
                if (dirfd < 0)
                        return log_error_errno(dirfd, "Failed to open the directory of %s in the container: %m", d->path);
                mode_t type = d->type == 'b' ? S_IFBLK : d->type == 'p' ? S_IFIFO : S_IFCHR;
                (void) unlinkat(dirfd, name, 0);
                mode_t old = umask(0);
                int r = mknodat(dirfd, name, type | (d->has_file_mode ? d->file_mode : 0666),
                                d->type == 'p' ? 0 : makedev((unsigned) d->major, (unsigned) d->minor));
                umask(old);
                if (r < 0)
                        return log_error_errno(errno, "Failed to create device node %s in the container: %m", d->path);
                if ((d->has_uid || d->has_gid) &&
                    fchownat(dirfd, name, d->has_uid ? d->uid : (uid_t) -1, d->has_gid ? d->gid : (gid_t) -1,
                             AT_SYMLINK_NOFOLLOW) < 0)
                        return log_error_errno(errno, "Failed to change the owner of %s in the container: %m", d->path);
        }
        return 0;
}

int oci_mount_options_parse(char **options, unsigned long *ret_flags, bool *ret_read_only, bool *ret_bind,
                            bool *ret_recursive, char **ret_data) {
        static const struct {
                const char *name;
                unsigned long set, clear;
        } words[] = {
                { "rw", 0, MS_RDONLY },           { "nosuid", MS_NOSUID, 0 },      { "suid", 0, MS_NOSUID },
                { "nodev", MS_NODEV, 0 },         { "dev", 0, MS_NODEV },          { "noexec", MS_NOEXEC, 0 },
                { "exec", 0, MS_NOEXEC },         { "sync", MS_SYNCHRONOUS, 0 },   { "async", 0, MS_SYNCHRONOUS },
                { "dirsync", MS_DIRSYNC, 0 },     { "mand", MS_MANDLOCK, 0 },      { "nomand", 0, MS_MANDLOCK },
                { "noatime", MS_NOATIME, 0 },     { "atime", 0, MS_NOATIME },      { "nodiratime", MS_NODIRATIME, 0 },
                { "diratime", 0, MS_NODIRATIME }, { "relatime", MS_RELATIME, 0 },  { "norelatime", 0, MS_RELATIME },
                { "strictatime", MS_STRICTATIME, 0 }, { "nostrictatime", 0, MS_STRICTATIME },
                { "defaults", 0, 0 },
        };
        /* Propagation of the mount is spawn's (every mount a slave of the host's); these say
         * nothing else, so they are dropped. */
        static const char *const propagation[] = { "private", "rprivate", "shared", "rshared", "slave", "rslave",
                                                   "unbindable", "runbindable", "tmpcopyup", "notmpcopyup", "copyup" };
        _cleanup_free_ char *data = NULL;
        unsigned long flags = 0;
        bool ro = false, bind = false, rec = false;

        for (char **o = options; o && *o; o++) {
                bool known = false;
                if (streq(*o, "ro")) {
                        ro = known = true;
                        flags |= MS_RDONLY;
                } else if (streq(*o, "bind") || streq(*o, "rbind")) {
                        bind = known = true;
                        rec = rec || streq(*o, "rbind");
                } else if (string_table_lookup(propagation, ELEMENTSOF(propagation), *o) >= 0)
                        known = true;
                for (size_t i = 0; !known && i < ELEMENTSOF(words); i++)
                        if (streq(*o, words[i].name)) {
                                flags = (flags | words[i].set) & ~words[i].clear;
                                known = true;
                                if (streq(*o, "rw"))
                                        ro = false;
                        }
                if (known)
                        continue;
                char *joined = data ? strjoin(data, ",", *o) : strdup(*o);
                if (!joined)
                        return -ENOMEM;
                free(data);
                data = joined;
        }
        *ret_flags = flags;
        *ret_read_only = ro;
        *ret_bind = bind;
        *ret_recursive = rec;
        *ret_data = TAKE_PTR(data);
        return 0;
}
