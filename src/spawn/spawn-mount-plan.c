/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The mount plan: what the container gets mounted, in which order and phase, as data. No
 * syscalls here; spawn-mount.c executes it. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

#include "macro.h"
#include "spawn-mount.h"
#include "spawn-oci.h"
#include "spawn-options.h"
#include "spawn-selinux.h"
#include "string-table.h"
#include "strv.h"

static const char *const mount_phase_table[_MOUNT_PHASE_MAX] = {
        [MOUNT_PHASE_EARLY] = "early",
        [MOUNT_PHASE_CGROUP_NS] = "cgroup-ns",
};

static const char *const mount_kind_table[_MOUNT_KIND_MAX] = {
        [MOUNT_ROOT] = "root",
        [MOUNT_FS] = "fs",
        [MOUNT_BIND] = "bind",
        [MOUNT_BIND_SELF] = "bind-self",
        [MOUNT_MASK] = "mask",
        [MOUNT_HOOK] = "hook",
};

static const char *const mount_hook_table[_MOUNT_HOOK_MAX] = {
        [MOUNT_HOOK_NONE] = "none",
        [MOUNT_HOOK_DEV_NODES] = "dev-nodes",
        [MOUNT_HOOK_RUN_HOST] = "run-host",
        [MOUNT_HOOK_RESOLV_CONF] = "resolv-conf",
        [MOUNT_HOOK_TIMEZONE] = "timezone",
        [MOUNT_HOOK_CGROUP_V1] = "cgroup-v1",
        [MOUNT_HOOK_OCI_DEVICES] = "oci-devices",
};

static const char *const mount_idmap_table[_MOUNT_IDMAP_MAX] = {
        [MOUNT_IDMAP_NONE] = "noidmap",
        [MOUNT_IDMAP_CONTAINER] = "idmap",
        [MOUNT_IDMAP_ROOT] = "rootidmap",
};

DEFINE_STRING_TABLE_LOOKUP(mount_idmap, MountIdmap)
DEFINE_STRING_TABLE_LOOKUP(mount_phase, MountPhase)
DEFINE_STRING_TABLE_LOOKUP(mount_kind, MountKind)
DEFINE_STRING_TABLE_LOOKUP(mount_hook, MountHook)

static void mount_entry_done(MountEntry *e) {
        free(e->source);
        free(e->target);
        free(e->fstype);
        free(e->options);
}

void mount_plan_done(MountPlan *p) {
        for (size_t i = 0; i < p->n_entries; i++)
                mount_entry_done(p->entries + i);
        free(p->entries);
        *p = MOUNT_PLAN_NULL;
}

static char *strdup_or_null(const char *s) {
        return s ? strdup(s) : NULL;
}

/* Appends a copy of e: its strings are borrowed here and duplicated into the plan. */
static int plan_add(MountPlan *p, MountEntry e) {
        MountEntry *a = realloc(p->entries, sizeof(MountEntry) * (p->n_entries + 1));
        if (!a)
                return -ENOMEM;
        p->entries = a;
        MountEntry copy = e;
        copy.source = strdup_or_null(e.source);
        copy.target = strdup_or_null(e.target);
        copy.fstype = strdup_or_null(e.fstype);
        copy.options = strdup_or_null(e.options);
        if ((e.source && !copy.source) || (e.target && !copy.target) || (e.fstype && !copy.fstype) ||
            (e.options && !copy.options)) {
                mount_entry_done(&copy);
                return -ENOMEM;
        }
        p->entries[p->n_entries++] = copy;
        return 0;
}

/* OPTIONS plus -L's label, and with a user namespace the container's root as owner. Only tmpfs
 * and devpts: mqueue, sysfs and proc take no context=, their labels come from the policy
 * (genfscon); they take no uid= either (proc and sysfs show the owners the kernel gives them). */
static int apifs_options(const SpawnConfig *c, const char *fstype, const char *options, char **ret) {
        bool tmpfs = streq(fstype, "tmpfs"), devpts = streq(fstype, "devpts");
        const char *label = (tmpfs || devpts) ? c->res.selinux_apifs_context : NULL;
        char ids[64] = "";

        *ret = NULL;
        /* The last uid=/gid= wins: devpts's gid=5 (tty) becomes the container's tty group. */
        if (c->res.userns && (tmpfs || devpts))
                snprintf(ids, sizeof(ids), "uid=%" PRIu32 ",gid=%" PRIu32, c->res.uid_shift,
                         c->res.uid_shift + (devpts ? 5 : 0));
        if (!label && !*ids)
                return 0;
        /* Quoted: an MCS range has commas, which would otherwise split the option. */
        *ret = strjoin(options ?: "", options && *ids ? "," : "", ids,
                       label ? (options || *ids ? ",context=\"" : "context=\"") : "", label ?: "", label ? "\"" : "");
        return *ret ? 0 : -ENOMEM;
}

static int plan_add_fs(MountPlan *p, const SpawnConfig *c, MountPhase phase, const char *fstype, const char *target,
                       unsigned long flags, const char *options) {
        _cleanup_free_ char *labelled = NULL;
        int r = apifs_options(c, fstype, options, &labelled);
        if (r < 0)
                return r;
        return plan_add(p, (MountEntry) { .kind = MOUNT_FS, .phase = phase, .source = (char *) fstype,
                                          .target = (char *) target, .fstype = (char *) fstype, .flags = flags,
                                          .options = labelled ?: (char *) options });
}

#define API_FLAGS (MS_NOSUID | MS_NODEV | MS_NOEXEC)

static int plan_add_hook(MountPlan *p, MountPhase phase, MountHook hook, const char *target) {
        return plan_add(p, (MountEntry) { .kind = MOUNT_HOOK, .phase = phase, .hook = hook, .target = (char *) target });
}

/* The API file systems of the Container Interface, in an order where each one's mount point
 * exists or can be created: /proc after /dev, so masked files can be covered with the
 * container's /dev/null. */
static int plan_add_api(MountPlan *p, const SpawnConfig *c) {
        /* The kernel interfaces a container must not reach, at least what systemd-nspawn hides:
         * hardware and file system tunables read-only; sysrq and the raw views of kernel memory,
         * symbols, keys and timers masked. */
        static const char *const read_only[] = {
                "/proc/apm", "/proc/asound", "/proc/bus", "/proc/fs", "/proc/irq",
        };
        static const char *const masked[] = {
                "/proc/kallsyms", "/proc/kcore", "/proc/keys", "/proc/sysrq-trigger", "/proc/timer_list",
                "/proc/kmsg", "/proc/sched_debug", "/proc/latency_stats", "/proc/acpi", "/proc/scsi",
        };
        const MountPhase e = MOUNT_PHASE_EARLY;
        int r = 0;

        r = plan_add_fs(p, c, e, "sysfs", "/sys", MS_RDONLY | API_FLAGS, NULL);
        /* A guest on an SELinux host sees the policy state, read-only. */
        if (r >= 0 && c->res.selinux_enabled)
                r = plan_add(p, (MountEntry) { .kind = MOUNT_BIND, .phase = e, .source = (char *) SELINUXFS_PATH,
                                               .target = (char *) SELINUXFS_PATH, .flags = API_FLAGS, .read_only = true });
        if (r >= 0)
                r = plan_add_fs(p, c, e, "tmpfs", "/dev", MS_NOSUID | MS_STRICTATIME, "mode=0755,size=4m,nr_inodes=64k");
        if (r >= 0)
                r = plan_add_hook(p, e, MOUNT_HOOK_DEV_NODES, "/dev");
        if (r >= 0)
                r = plan_add_fs(p, c, e, "tmpfs", "/dev/shm", MS_NOSUID | MS_NODEV | MS_STRICTATIME, "mode=01777");
        /* gid 5 is "tty" on every distribution; mode 0620 lets write(1) reach users. */
        if (r >= 0)
                r = plan_add_fs(p, c, e, "devpts", "/dev/pts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620,gid=5");
        if (r >= 0)
                r = plan_add_fs(p, c, e, "mqueue", "/dev/mqueue", API_FLAGS, NULL);
        if (r >= 0)
                r = plan_add_fs(p, c, e, "tmpfs", "/run", MS_NOSUID | MS_NODEV | MS_STRICTATIME, "mode=0755,size=20%,nr_inodes=800k");
        if (r >= 0)
                r = plan_add_fs(p, c, e, "tmpfs", "/tmp", MS_NOSUID | MS_NODEV | MS_STRICTATIME, "mode=01777,nr_inodes=1m");
        if (r >= 0)
                r = plan_add_fs(p, c, e, "proc", "/proc", API_FLAGS, NULL);
        /* /proc/sys read-only; its network part is per network namespace and stays writable
         * with a private network. */
        if (r >= 0)
                r = plan_add(p, (MountEntry) { .kind = MOUNT_BIND_SELF, .phase = e, .target = (char *) "/proc/sys",
                                               .flags = MS_REC | API_FLAGS, .read_only = true, .optional = true });
        if (r >= 0 && c->opt.private_network)
                r = plan_add(p, (MountEntry) { .kind = MOUNT_BIND_SELF, .phase = e, .target = (char *) "/proc/sys/net",
                                               .optional = true });
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(read_only); i++)
                r = plan_add(p, (MountEntry) { .kind = MOUNT_BIND_SELF, .phase = e, .target = (char *) read_only[i],
                                               .flags = MS_REC | API_FLAGS, .read_only = true, .optional = true });
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(masked); i++)
                r = plan_add(p, (MountEntry) { .kind = MOUNT_MASK, .phase = e, .target = (char *) masked[i],
                                               .flags = MS_RDONLY | API_FLAGS, .optional = true });
        return r;
}

static int plan_add_custom(MountPlan *p, const SpawnConfig *c) {
        int r = 0;

        for (size_t i = 0; r >= 0 && i < c->opt.n_mounts; i++) {
                const CustomMount *m = c->opt.mounts + i;
                if (m->type == CUSTOM_MOUNT_TMPFS)
                        r = plan_add_fs(p, c, MOUNT_PHASE_EARLY, "tmpfs", m->destination, m->flags, m->options);
                else
                        r = plan_add(p, (MountEntry) { .kind = MOUNT_BIND, .phase = MOUNT_PHASE_EARLY,
                                                       .source = m->source, .target = m->destination,
                                                       .flags = m->recursive ? MS_REC : 0, .read_only = m->read_only,
                                                       /* Without a user namespace there is nothing to map. */
                                                       .idmap = c->res.userns ? m->idmap : MOUNT_IDMAP_NONE,
                                                       .userns_fd = !c->res.userns ? -EBADF :
                                                                    m->idmap == MOUNT_IDMAP_ROOT ? c->res.idmap_bind_fds[i] :
                                                                    c->res.idmap_userns_fd });
        }
        return r;
}

/* In the container's cgroup namespace the root of every hierarchy is the container's own
 * cgroup, so the guest sees (and may write) only its subtree. */
static int plan_add_cgroup(MountPlan *p, const SpawnConfig *c) {
        const MountPhase g = MOUNT_PHASE_CGROUP_NS;
        int r;

        if (c->res.cgroup_layout == CGROUP_MODE_UNIFIED)
                return plan_add_fs(p, c, g, "cgroup2", "/sys/fs/cgroup", API_FLAGS, NULL);

        /* The v1 hierarchies go on a tmpfs that turns read-only once they are mounted. */
        r = plan_add(p, (MountEntry) { .kind = MOUNT_FS, .phase = g, .source = (char *) "tmpfs",
                                       .target = (char *) "/sys/fs/cgroup", .fstype = (char *) "tmpfs",
                                       .flags = API_FLAGS | MS_STRICTATIME, .options = (char *) "mode=0755",
                                       .read_only = true });
        if (r < 0)
                return r;
        return plan_add_hook(p, g, MOUNT_HOOK_CGROUP_V1, "/sys/fs/cgroup");
}

/* One config.json mount. Binds from the host (a relative source is the bundle's), file systems
 * with their own options; "cgroup" is spawn's cgroup hierarchy, in the cgroup namespace phase. */
static int plan_add_oci_mount(MountPlan *p, const SpawnConfig *c, const OciMount *m) {
        _cleanup_free_ char *data = NULL, *labelled = NULL, *source = NULL;
        bool ro, bind, rec;
        unsigned long flags;
        int r;

        r = oci_mount_options_parse(m->options, &flags, &ro, &bind, &rec, &data);
        if (r < 0)
                return r;
        if (bind || (m->type && streq(m->type, "bind"))) {
                if (isempty(m->source))
                        return -EINVAL;
                source = m->source[0] == '/' ? strdup(m->source) : strjoin(c->opt.oci_bundle, "/", m->source);
                if (!source)
                        return -ENOMEM;
                return plan_add(p, (MountEntry) { .kind = MOUNT_BIND, .phase = MOUNT_PHASE_EARLY, .source = source,
                                                  .target = m->destination,
                                                  .flags = (rec ? MS_REC : 0) | (flags & API_FLAGS), .read_only = ro });
        }
        if (!m->type)
                return -EINVAL;
        /* v2 read-only as asked (podman's rootful containers); a v1 tree is read-only anyway. */
        if ((streq(m->type, "cgroup") || streq(m->type, "cgroup2")) && ro && c->res.cgroup_layout == CGROUP_MODE_UNIFIED)
                return plan_add_fs(p, c, MOUNT_PHASE_CGROUP_NS, "cgroup2", "/sys/fs/cgroup", API_FLAGS | MS_RDONLY, NULL);
        if (streq(m->type, "cgroup") || streq(m->type, "cgroup2"))
                return plan_add_cgroup(p, c);
        r = apifs_options(c, m->type, data, &labelled);
        if (r < 0)
                return r;
        return plan_add(p, (MountEntry) { .kind = MOUNT_FS, .phase = MOUNT_PHASE_EARLY, .source = m->source ?: m->type,
                                          .target = m->destination, .fstype = m->type, .flags = flags,
                                          .options = labelled ?: data });
}

/* --oci-bundle: runc's semantics. config.json's mounts are all the container gets (podman and
 * containerd list proc, /dev, devpts, shm, mqueue, sysfs and cgroup themselves); spawn adds only
 * the device nodes a /dev tmpfs needs, the console, linux.devices, and then masks and makes
 * read-only the paths the bundle names. No /run/host, no /etc hooks. */
static int plan_build_oci(MountPlan *p, const SpawnConfig *c, const char *console_path, const int console_trees[2]) {
        const OciConfig *oci = c->opt.oci;
        int r = 0;

        for (size_t i = 0; r >= 0 && i < oci->n_mounts; i++) {
                const OciMount *m = oci->mounts + i;
                r = plan_add_oci_mount(p, c, m);
                if (r >= 0 && streq(m->destination, "/dev") && m->type && streq(m->type, "tmpfs"))
                        r = plan_add_hook(p, MOUNT_PHASE_EARLY, MOUNT_HOOK_DEV_NODES, "/dev");
        }
        if (r >= 0 && console_path)
                r = plan_add(p, (MountEntry) { .kind = MOUNT_BIND, .phase = MOUNT_PHASE_EARLY,
                                               .source = (char *) console_path, .target = (char *) "/dev/console",
                                               .tree_fd = console_trees ? console_trees[0] : 0 });
        if (r >= 0 && oci->n_devices > 0)
                r = plan_add_hook(p, MOUNT_PHASE_EARLY, MOUNT_HOOK_OCI_DEVICES, "/dev");
        for (char **m = oci->masked_paths; r >= 0 && m && *m; m++)
                r = plan_add(p, (MountEntry) { .kind = MOUNT_MASK, .phase = MOUNT_PHASE_EARLY, .target = *m,
                                               .flags = MS_RDONLY | API_FLAGS, .optional = true });
        for (char **m = oci->readonly_paths; r >= 0 && m && *m; m++)
                r = plan_add(p, (MountEntry) { .kind = MOUNT_BIND_SELF, .phase = MOUNT_PHASE_EARLY, .target = *m,
                                               .flags = MS_REC | API_FLAGS, .read_only = true, .optional = true });
        return r;
}

int mount_plan_build(const SpawnConfig *c, const char *console_path, const int console_trees[2], MountPlan *ret) {
        _cleanup_(mount_plan_done) MountPlan p = MOUNT_PLAN_NULL;
        int r;

        if (c->opt.oci) {
                r = plan_add(&p, (MountEntry) { .kind = MOUNT_ROOT, .phase = MOUNT_PHASE_EARLY, .target = (char *) "/",
                                                .read_only = c->opt.read_only });
                if (r >= 0)
                        r = plan_build_oci(&p, c, console_path, console_trees);
                if (r < 0)
                        return r;
                *ret = p;
                p = MOUNT_PLAN_NULL;
                return 0;
        }

        /* --read-only: the root turns read-only last, after everything is mounted below it and
         * the /etc hooks ran. */
        r = plan_add(&p, (MountEntry) { .kind = MOUNT_ROOT, .phase = MOUNT_PHASE_EARLY, .target = (char *) "/",
                                        .read_only = c->opt.read_only });
        if (r >= 0)
                r = plan_add_api(&p, c);
        /* /run/host: what the Container Interface promises the payload about its host, written
         * before it turns read-only. */
        if (r >= 0)
                r = plan_add_hook(&p, MOUNT_PHASE_EARLY, MOUNT_HOOK_RUN_HOST, "/run/host");
        if (r >= 0)
                r = plan_add(&p, (MountEntry) { .kind = MOUNT_BIND_SELF, .phase = MOUNT_PHASE_EARLY,
                                                .target = (char *) "/run/host", .flags = MS_REC | API_FLAGS,
                                                .read_only = true });
        if (r >= 0 && console_path)
                r = plan_add(&p, (MountEntry) { .kind = MOUNT_BIND, .phase = MOUNT_PHASE_EARLY,
                                                .source = (char *) console_path, .target = (char *) "/dev/console",
                                                .tree_fd = console_trees ? console_trees[0] : 0 });
        /* A sysvinit inittab starts its gettys on tty1..6 only, never on /dev/console: the console
         * pty is bound onto /dev/tty1 too, so the getty on tty1 prompts on spawn's console. One pty,
         * not one per tty as LXC's lxc.tty.max makes: spawn has one console to show. */
        if (r >= 0 && console_path && c->opt.boot && c->res.init_kind == INIT_SYSV)
                r = plan_add(&p, (MountEntry) { .kind = MOUNT_BIND, .phase = MOUNT_PHASE_EARLY,
                                                .source = (char *) console_path, .target = (char *) "/dev/tty1",
                                                .tree_fd = console_trees ? console_trees[1] : 0 });
        if (r >= 0)
                r = plan_add_hook(&p, MOUNT_PHASE_EARLY, MOUNT_HOOK_RESOLV_CONF, "/etc/resolv.conf");
        if (r >= 0)
                r = plan_add_hook(&p, MOUNT_PHASE_EARLY, MOUNT_HOOK_TIMEZONE, "/etc/localtime");
        /* --link-journal=host: before the user's binds, which may cover it as they like. */
        if (r >= 0 && c->res.journal_bind_source)
                r = plan_add(&p, (MountEntry) { .kind = MOUNT_BIND, .phase = MOUNT_PHASE_EARLY,
                                                .source = c->res.journal_bind_source,
                                                .target = c->res.journal_bind_target });
        if (r >= 0)
                r = plan_add_custom(&p, c);
        if (r >= 0)
                r = plan_add_cgroup(&p, c);
        if (r < 0)
                return r;
        *ret = p;
        p = MOUNT_PLAN_NULL;
        return 0;
}
