/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The mount plan is a pure function of the resolved configuration: check it for representative
 * configurations, without root and without mounting anything. */
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fd-util.h"
#include "macro.h"
#include "oci-config.h"
#include "spawn-mount.h"
#include "spawn-oci.h"
#include "spawn-options.h"
#include "tap.h"

/* One line per entry: "PHASE KIND TARGET [key=value...]" with flags spelled out. */
static void render_entry(const MountEntry *e, char *buf, size_t size) {
        static const struct {
                unsigned long flag;
                const char *name;
        } flags[] = {
                { MS_RDONLY, "ro" }, { MS_NOSUID, "nosuid" }, { MS_NODEV, "nodev" }, { MS_NOEXEC, "noexec" },
                { MS_STRICTATIME, "strictatime" }, { MS_REC, "rec" },
        };
        size_t n = (size_t) snprintf(buf, size, "%s %s %s", mount_phase_to_string(e->phase),
                                     e->kind == MOUNT_HOOK ? mount_hook_to_string(e->hook) : mount_kind_to_string(e->kind),
                                     e->target);
        if (e->source && n < size)
                n += (size_t) snprintf(buf + n, size - n, " src=%s", e->source);
        if (e->fstype && n < size)
                n += (size_t) snprintf(buf + n, size - n, " type=%s", e->fstype);
        for (size_t i = 0; i < ELEMENTSOF(flags) && n < size; i++)
                if (e->flags & flags[i].flag)
                        n += (size_t) snprintf(buf + n, size - n, " %s", flags[i].name);
        if (e->options && n < size)
                n += (size_t) snprintf(buf + n, size - n, " opts=%s", e->options);
        if (e->read_only && n < size)
                n += (size_t) snprintf(buf + n, size - n, " read-only");
        if (e->optional && n < size)
                n += (size_t) snprintf(buf + n, size - n, " optional");
        if (e->idmap != MOUNT_IDMAP_NONE && n < size)
                (void) snprintf(buf + n, size - n, " %s", mount_idmap_to_string(e->idmap));
}

static const char *const default_plan[] = {
        "early root /",
        "early fs /sys src=sysfs type=sysfs ro nosuid nodev noexec",
        "early fs /dev src=tmpfs type=tmpfs nosuid strictatime opts=mode=0755,size=4m,nr_inodes=64k",
        "early dev-nodes /dev",
        "early fs /dev/shm src=tmpfs type=tmpfs nosuid nodev strictatime opts=mode=01777",
        "early fs /dev/pts src=devpts type=devpts nosuid noexec opts=newinstance,ptmxmode=0666,mode=0620,gid=5",
        "early fs /dev/mqueue src=mqueue type=mqueue nosuid nodev noexec",
        "early fs /run src=tmpfs type=tmpfs nosuid nodev strictatime opts=mode=0755,size=20%,nr_inodes=800k",
        "early fs /tmp src=tmpfs type=tmpfs nosuid nodev strictatime opts=mode=01777,nr_inodes=1m",
        "early fs /proc src=proc type=proc nosuid nodev noexec",
        "early bind-self /proc/sys nosuid nodev noexec rec read-only optional",
        "early bind-self /proc/apm nosuid nodev noexec rec read-only optional",
        "early bind-self /proc/asound nosuid nodev noexec rec read-only optional",
        "early bind-self /proc/bus nosuid nodev noexec rec read-only optional",
        "early bind-self /proc/fs nosuid nodev noexec rec read-only optional",
        "early bind-self /proc/irq nosuid nodev noexec rec read-only optional",
        "early mask /proc/kallsyms ro nosuid nodev noexec optional",
        "early mask /proc/kcore ro nosuid nodev noexec optional",
        "early mask /proc/keys ro nosuid nodev noexec optional",
        "early mask /proc/sysrq-trigger ro nosuid nodev noexec optional",
        "early mask /proc/timer_list ro nosuid nodev noexec optional",
        "early mask /proc/kmsg ro nosuid nodev noexec optional",
        "early mask /proc/sched_debug ro nosuid nodev noexec optional",
        "early mask /proc/latency_stats ro nosuid nodev noexec optional",
        "early mask /proc/acpi ro nosuid nodev noexec optional",
        "early mask /proc/scsi ro nosuid nodev noexec optional",
        "early run-host /run/host",
        "early bind-self /run/host nosuid nodev noexec rec read-only",
        "early bind /dev/console src=/dev/pts/7",
        "early resolv-conf /etc/resolv.conf",
        "early timezone /etc/localtime",
        "cgroup-ns fs /sys/fs/cgroup src=cgroup2 type=cgroup2 nosuid nodev noexec",
};

static void config_default(SpawnConfig *c) {
        spawn_config_init(c);
        c->res.cgroup_layout = CGROUP_MODE_UNIFIED;
}

static MountPlan build(const SpawnConfig *c, const char *console) {
        MountPlan p = MOUNT_PLAN_NULL;
        CHECK(mount_plan_build(c, console, NULL, &p) == 0);
        return p;
}

/* The rendering of the entry at target (the first one that is not a hook), or NULL. */
static const char *find(const MountPlan *p, const char *target, char *buf, size_t size) {
        for (size_t i = 0; i < p->n_entries; i++)
                if (streq(p->entries[i].target, target) && p->entries[i].kind != MOUNT_HOOK) {
                        render_entry(p->entries + i, buf, size);
                        return buf;
                }
        return NULL;
}

static void test_default(void) {
        SpawnConfig c;
        char buf[512];

        config_default(&c);
        MountPlan p = build(&c, "/dev/pts/7");
        CHECK(p.n_entries == ELEMENTSOF(default_plan));
        for (size_t i = 0; i < MIN(p.n_entries, ELEMENTSOF(default_plan)); i++) {
                render_entry(p.entries + i, buf, sizeof(buf));
                CHECK_STREQ(buf, default_plan[i]);
        }
        mount_plan_done(&p);
        CHECK(p.entries == NULL && p.n_entries == 0);

        /* Pipe mode: no console to bind. */
        p = build(&c, NULL);
        CHECK(p.n_entries == ELEMENTSOF(default_plan) - 1);
        CHECK(find(&p, "/dev/console", buf, sizeof(buf)) == NULL);
        mount_plan_done(&p);

        /* Only a booted sysvinit guest gets the console on tty1 as well (its getty runs there). */
        p = build(&c, "/dev/pts/7");
        CHECK(find(&p, "/dev/tty1", buf, sizeof(buf)) == NULL);
        mount_plan_done(&p);
        c.opt.boot = true;
        c.res.init_kind = INIT_SYSV;
        p = build(&c, "/dev/pts/7");
        CHECK(find(&p, "/dev/tty1", buf, sizeof(buf)) != NULL);
        CHECK_STREQ(buf, "early bind /dev/tty1 src=/dev/pts/7");
        mount_plan_done(&p);
        p = build(&c, NULL);
        CHECK(find(&p, "/dev/tty1", buf, sizeof(buf)) == NULL);
        mount_plan_done(&p);
        c.res.init_kind = INIT_SYSTEMD;
        p = build(&c, "/dev/pts/7");
        CHECK(find(&p, "/dev/tty1", buf, sizeof(buf)) == NULL);
        mount_plan_done(&p);
        spawn_config_done(&c);
}

static void test_private_network_and_read_only(void) {
        SpawnConfig c;
        char buf[512];

        config_default(&c);
        c.opt.private_network = true;
        c.opt.read_only = true;
        MountPlan p = build(&c, NULL);
        /* /proc/sys/net comes right after /proc/sys, bound without read-only: it stays writable
         * when /proc/sys turns read-only after it. */
        for (size_t i = 0; i + 1 < p.n_entries; i++)
                if (streq(p.entries[i].target, "/proc/sys")) {
                        render_entry(p.entries + i + 1, buf, sizeof(buf));
                        CHECK_STREQ(buf, "early bind-self /proc/sys/net optional");
                }
        CHECK_STREQ(find(&p, "/", buf, sizeof(buf)), "early root / read-only");
        mount_plan_done(&p);
        spawn_config_done(&c);
}

static void test_labels_and_selinux(void) {
        SpawnConfig c;
        char buf[512];

        config_default(&c);
        c.res.selinux_enabled = true;
        c.res.selinux_apifs_context = strdup("system_u:object_r:container_file_t:s0:c1,c2");
        CustomMount m = {};
        CHECK(custom_mount_parse_tmpfs("/scratch:size=1m", &m) == 0);
        CHECK(custom_mount_append(&c.opt.mounts, &c.opt.n_mounts, &m) == 0);

        MountPlan p = build(&c, NULL);
        /* selinuxfs right after /sys, read-only; -L labels tmpfs and devpts only. */
        CHECK(p.n_entries > 2);
        if (p.n_entries > 2) {
                render_entry(p.entries + 2, buf, sizeof(buf));
                CHECK_STREQ(buf, "early bind /sys/fs/selinux src=/sys/fs/selinux nosuid nodev noexec read-only");
        }
        CHECK_STREQ(find(&p, "/dev", buf, sizeof(buf)),
                    "early fs /dev src=tmpfs type=tmpfs nosuid strictatime opts=mode=0755,size=4m,nr_inodes=64k,"
                    "context=\"system_u:object_r:container_file_t:s0:c1,c2\"");
        CHECK_STREQ(find(&p, "/dev/pts", buf, sizeof(buf)),
                    "early fs /dev/pts src=devpts type=devpts nosuid noexec opts=newinstance,ptmxmode=0666,mode=0620,gid=5,"
                    "context=\"system_u:object_r:container_file_t:s0:c1,c2\"");
        CHECK_STREQ(find(&p, "/dev/mqueue", buf, sizeof(buf)), "early fs /dev/mqueue src=mqueue type=mqueue nosuid nodev noexec");
        CHECK_STREQ(find(&p, "/proc", buf, sizeof(buf)), "early fs /proc src=proc type=proc nosuid nodev noexec");
        CHECK_STREQ(find(&p, "/scratch", buf, sizeof(buf)),
                    "early fs /scratch src=tmpfs type=tmpfs nosuid nodev opts=size=1m,context=\"system_u:object_r:container_file_t:s0:c1,c2\"");
        mount_plan_done(&p);
        spawn_config_done(&c);
}

static void add_bind(SpawnConfig *c, const char *spec, bool ro) {
        CustomMount m = {};
        CHECK(custom_mount_parse_bind(spec, ro, &m) == 0);
        CHECK(custom_mount_append(&c->opt.mounts, &c->opt.n_mounts, &m) == 0);
}

static void test_custom_mounts(void) {
        static const char *const want[] = {
                "early bind /a src=/a rec",
                "early bind /b src=/src",
                "early bind /c src=/src rec read-only",
                "early bind /d src=/src read-only",
                "early bind /x src=+/x rec",
                "early bind /y src=+/x read-only",
                "early fs /t src=tmpfs type=tmpfs nosuid nodev opts=mode=0700,size=10%",
                "early fs /u src=tmpfs type=tmpfs nosuid nodev opts=mode=0755",
        };
        SpawnConfig c;
        char buf[512];

        config_default(&c);
        add_bind(&c, "/a", false);
        add_bind(&c, "/src:/b:norbind", false);
        add_bind(&c, "/src:/c", true);
        add_bind(&c, "/src:/d:norbind", true);
        add_bind(&c, "+/x", false);
        add_bind(&c, "+/x:/y:norbind", true);
        CustomMount m = {};
        CHECK(custom_mount_parse_tmpfs("/t:mode=0700,size=10%", &m) == 0);
        CHECK(custom_mount_append(&c.opt.mounts, &c.opt.n_mounts, &m) == 0);
        CHECK(custom_mount_parse_tmpfs("/u", &m) == 0);
        CHECK(custom_mount_append(&c.opt.mounts, &c.opt.n_mounts, &m) == 0);

        MountPlan p = build(&c, "/dev/pts/0");
        /* In the order given, after the API file systems and the /etc hooks, before the
         * cgroup hierarchy. */
        CHECK(p.n_entries == ELEMENTSOF(default_plan) + ELEMENTSOF(want));
        size_t first = ELEMENTSOF(default_plan) - 1;
        for (size_t i = 0; i < ELEMENTSOF(want) && first + i < p.n_entries; i++) {
                render_entry(p.entries + first + i, buf, sizeof(buf));
                CHECK_STREQ(buf, want[i]);
        }
        mount_plan_done(&p);
        spawn_config_done(&c);
}

/* Under -U the binds say how they are idmapped, each with its user namespace from the
 * resolution; without a user namespace the option means nothing. The API tmpfs and devpts belong
 * to the container's root and tty group; the console is attached from its detached mounts. */
static void test_userns(void) {
        SpawnConfig c;
        char buf[512];
        int bind_fds[] = { -EBADF, 41, -EBADF, INT_MIN }, trees[2] = { 43, 44 };

        config_default(&c);
        add_bind(&c, "/src:/i:idmap", false);
        add_bind(&c, "/src:/r:rootidmap", false);
        add_bind(&c, "/src:/n:noidmap", false);
        MountPlan p = build(&c, "/dev/pts/0");
        CHECK_STREQ(find(&p, "/i", buf, sizeof(buf)), "early bind /i src=/src rec");
        mount_plan_done(&p);

        c.res.userns = true;
        c.res.uid_shift = 1048576;
        c.res.idmap_userns_fd = 42;
        c.res.idmap_bind_fds = bind_fds;
        CHECK(mount_plan_build(&c, "/proc/self/fd/9", trees, &p) == 0);
        CHECK_STREQ(find(&p, "/i", buf, sizeof(buf)), "early bind /i src=/src rec idmap");
        CHECK_STREQ(find(&p, "/r", buf, sizeof(buf)), "early bind /r src=/src rec rootidmap");
        CHECK_STREQ(find(&p, "/n", buf, sizeof(buf)), "early bind /n src=/src rec");
        for (size_t i = 0; i < p.n_entries; i++) {
                const MountEntry *e = p.entries + i;
                if (e->target && streq(e->target, "/i"))
                        CHECK(e->userns_fd == 42);
                if (e->target && streq(e->target, "/r"))
                        CHECK(e->userns_fd == 41);
                if (e->target && streq(e->target, "/dev/console"))
                        CHECK(e->tree_fd == 43);
        }
        CHECK_STREQ(find(&p, "/dev", buf, sizeof(buf)),
                    "early fs /dev src=tmpfs type=tmpfs nosuid strictatime opts=mode=0755,size=4m,nr_inodes=64k,uid=1048576,gid=1048576");
        CHECK_STREQ(find(&p, "/dev/pts", buf, sizeof(buf)),
                    "early fs /dev/pts src=devpts type=devpts nosuid noexec opts=newinstance,ptmxmode=0666,mode=0620,gid=5,uid=1048576,gid=1048581");
        mount_plan_done(&p);
        c.res.idmap_bind_fds = NULL;
        c.res.idmap_userns_fd = -EBADF;
        spawn_config_done(&c);
}

static void test_cgroup_layouts(void) {
        SpawnConfig c;
        char buf[512];

        config_default(&c);
        c.res.cgroup_layout = CGROUP_MODE_HYBRID;
        MountPlan p = build(&c, NULL);
        CHECK(p.n_entries >= 2);
        if (p.n_entries >= 2) {
                /* The v1 hierarchies go below a tmpfs that turns read-only once they are in. */
                render_entry(p.entries + p.n_entries - 2, buf, sizeof(buf));
                CHECK_STREQ(buf, "cgroup-ns fs /sys/fs/cgroup src=tmpfs type=tmpfs nosuid nodev noexec strictatime opts=mode=0755 read-only");
                render_entry(p.entries + p.n_entries - 1, buf, sizeof(buf));
                CHECK_STREQ(buf, "cgroup-ns cgroup-v1 /sys/fs/cgroup");
        }
        for (size_t i = 0; i + 2 < p.n_entries; i++)
                CHECK(p.entries[i].phase == MOUNT_PHASE_EARLY);
        mount_plan_done(&p);
        spawn_config_done(&c);
}

/* The engine, in a private mount namespace below a scratch tmpfs: an entry marked read-only turns
 * read-only only after the entries below it are mounted (/a/b's mount point is created inside
 * /a), optional entries whose target is missing are skipped. Returns a bitmask of failures. */
static int engine_child(void) {
        char dir[] = "/tmp/test-mount-plan-XXXXXX";
        MountEntry e[] = {
                { .kind = MOUNT_ROOT, .target = (char *) "/", .read_only = true },
                { .kind = MOUNT_FS, .source = (char *) "tmpfs", .fstype = (char *) "tmpfs", .target = (char *) "/a",
                  .flags = MS_NOSUID | MS_NODEV, .options = (char *) "mode=0755", .read_only = true },
                { .kind = MOUNT_FS, .source = (char *) "tmpfs", .fstype = (char *) "tmpfs", .target = (char *) "/a/b",
                  .options = (char *) "mode=0700" },
                { .kind = MOUNT_MASK, .target = (char *) "/no/such/file", .flags = MS_RDONLY, .optional = true },
                { .kind = MOUNT_BIND_SELF, .target = (char *) "/no/such/dir", .read_only = true, .optional = true },
                { .kind = MOUNT_FS, .phase = MOUNT_PHASE_CGROUP_NS, .source = (char *) "tmpfs", .fstype = (char *) "tmpfs",
                  .target = (char *) "/later" },
        };
        MountPlan plan = { .entries = e, .n_entries = ELEMENTSOF(e) };
        SpawnConfig c;
        struct stat st;
        int fail = 0;

        spawn_config_init(&c);
        if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                return 0x80; /* no privileges: skipped */
        if (!mkdtemp(dir))
                return 0x40;
        if (mount("tmpfs", dir, "tmpfs", 0, "mode=0755") < 0) {
                (void) rmdir(dir);
                return 0x40;
        }
        MountContext ctx = { .config = &c, .rootfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC), .notify_fd = -EBADF };
        if (ctx.rootfd < 0 || mount_plan_run(&plan, MOUNT_PHASE_EARLY, &ctx) < 0)
                fail |= 0x20;

        _cleanup_free_ char *a = strjoin(dir, "/a/x"), *b = strjoin(dir, "/a/b/x"), *r = strjoin(dir, "/x"),
                            *later = strjoin(dir, "/later");
        if (!a || !b || !r || !later)
                return 0x40;
        if (fail)
                goto finish;
        if (mkdir(a, 0755) == 0 || errno != EROFS)
                fail |= 0x1; /* /a is read-only now */
        if (mkdir(b, 0755) < 0)
                fail |= 0x2; /* /a/b, mounted below it before, is not */
        if (mkdir(r, 0755) == 0 || errno != EROFS)
                fail |= 0x4; /* the root turned read-only last */
        if (stat(later, &st) == 0)
                fail |= 0x8; /* the other phase's entry did not run */
finish:
        /* The directory is on the host's /tmp; what is mounted on it only in our namespace. */
        safe_close(ctx.rootfd);
        (void) umount2(dir, MNT_DETACH);
        (void) rmdir(dir);
        return fail;
}

static void test_engine(void) {
        pid_t pid = fork();
        int status = 0;

        if (pid == 0)
                _exit(engine_child());
        CHECK(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status));
        if (WEXITSTATUS(status) == 0x80) {
                printf("# no privileges for a mount namespace: engine test skipped\n");
                return;
        }
        if (WEXITSTATUS(status) != 0)
                printf("# engine_child() = 0x%x\n", WEXITSTATUS(status));
        CHECK(WEXITSTATUS(status) == 0);
}

/* --oci-bundle: config.json's mounts in their order and nothing of spawn's own, then the
 * console, the bundle's devices, masked and read-only paths. */
static void test_oci_bundle(void) {
        static const char json[] =
                "{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"rootfs\"},"
                "\"mounts\":[{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"},"
                "{\"destination\":\"/dev\",\"type\":\"tmpfs\",\"source\":\"tmpfs\",\"options\":[\"nosuid\",\"strictatime\",\"mode=755\"]},"
                "{\"destination\":\"/data\",\"source\":\"vol\",\"options\":[\"rbind\",\"ro\",\"rprivate\"]},"
                "{\"destination\":\"/sys/fs/cgroup\",\"type\":\"cgroup\",\"source\":\"cgroup\",\"options\":[\"ro\"]}],"
                "\"linux\":{\"devices\":[{\"path\":\"/dev/fuse\",\"type\":\"c\",\"major\":10,\"minor\":229}],"
                "\"maskedPaths\":[\"/proc/kcore\"],\"readonlyPaths\":[\"/proc/sys\"]}}";
        static const char *const want[] = {
                "early root / read-only",
                "early fs /proc src=proc type=proc",
                "early fs /dev src=tmpfs type=tmpfs nosuid strictatime opts=mode=755",
                "early dev-nodes /dev",
                "early bind /data src=/bundle/vol rec read-only",
                "cgroup-ns fs /sys/fs/cgroup src=cgroup2 type=cgroup2 ro nosuid nodev noexec",
                "early bind /dev/console src=/dev/pts/7",
                "early oci-devices /dev",
                "early mask /proc/kcore ro nosuid nodev noexec optional",
                "early bind-self /proc/sys nosuid nodev noexec rec read-only optional",
        };
        OciConfig *oci = calloc(1, sizeof(OciConfig));
        SpawnConfig c;
        char buf[512];

        config_default(&c);
        CHECK(oci && oci_config_parse(json, oci, NULL) == 0);
        c.opt.oci = oci;
        c.opt.oci_bundle = strdup("/bundle");
        c.opt.read_only = true;
        MountPlan p = build(&c, "/dev/pts/7");
        CHECK(p.n_entries == ELEMENTSOF(want));
        for (size_t i = 0; i < MIN(p.n_entries, ELEMENTSOF(want)); i++) {
                render_entry(p.entries + i, buf, sizeof(buf));
                CHECK_STREQ(buf, want[i]);
        }
        mount_plan_done(&p);
        spawn_config_done(&c);
}

int main(void) {
        test_default();
        test_private_network_and_read_only();
        test_labels_and_selinux();
        test_custom_mounts();
        test_userns();
        test_cgroup_layouts();
        test_engine();
        test_oci_bundle();
        return tap_finish();
}
