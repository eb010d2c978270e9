/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "cgroup-util.h"
#include "strv.h"
#include "tap.h"

static void test_mode_table(void) {
        for (int m = 0; m < _CGROUP_MODE_MAX; m++)
                CHECK(cgroup_mode_from_string(cgroup_mode_to_string((CGroupMode) m)) == m);
        CHECK(cgroup_mode_from_string("bogus") == _CGROUP_MODE_INVALID);
        CHECK(cgroup_mode_to_string(_CGROUP_MODE_MAX) == NULL);
}

static void test_parse_proc_cgroup(void) {
        const char *content =
                "9:name=systemd:/sys\n"
                "4:memory:/process_api/abc\n"
                "2:cpu,cpuacct:/a/b\n"
                "0::/unified/path\n";
        char *p = NULL;

        CHECK(cg_parse_proc_cgroup(content, "memory", false, &p) == 0);
        CHECK_STREQ(p, "/process_api/abc");
        free(p);
        /* Controller sets match in any order. */
        CHECK(cg_parse_proc_cgroup(content, "cpuacct,cpu", false, &p) == 0);
        CHECK_STREQ(p, "/a/b");
        free(p);
        CHECK(cg_parse_proc_cgroup(content, "cpu", false, &p) == -ENOENT);
        CHECK(cg_parse_proc_cgroup(content, "name=systemd", false, &p) == 0);
        CHECK_STREQ(p, "/sys");
        free(p);
        CHECK(cg_parse_proc_cgroup(content, "", true, &p) == 0);
        CHECK_STREQ(p, "/unified/path");
        free(p);
        CHECK(cg_parse_proc_cgroup("4:memory:/x\n", "", true, &p) == -ENOENT);
}

static void test_escape(void) {
        char *s;
#define ESC(in, out)                     \
        do {                             \
                s = cg_escape(in);       \
                CHECK_STREQ(s, out);     \
                free(s);                 \
        } while (0)
        ESC("machine-foo.scope", "machine-foo.scope");
        ESC("cgroup.procs", "_cgroup.procs");
        ESC("tasks", "_tasks");
        ESC("_x", "__x");
        ESC(".hidden", "_.hidden");
        ESC("memory.limit", "_memory.limit");
        ESC("cpu.x", "_cpu.x");
        ESC("cpux.y", "cpux.y");
        ESC("notify_on_release", "_notify_on_release");
#undef ESC
}

static void test_fs_path(void) {
        CGroupHierarchy h = { .mount_point = (char *) "/sys/fs/cgroup/memory", .controllers = (char *) "memory" };
        char *p = cg_fs_path(&h, "/a/b", "memory.max");
        CHECK_STREQ(p, "/sys/fs/cgroup/memory/a/b/memory.max");
        free(p);
        p = cg_fs_path(&h, "/", NULL);
        CHECK_STREQ(p, "/sys/fs/cgroup/memory");
        free(p);
        p = cg_fs_path(&h, "/", "cgroup.procs");
        CHECK_STREQ(p, "/sys/fs/cgroup/memory/cgroup.procs");
        free(p);
        CHECK(cg_hierarchy_has_controller(&h, "memory"));
        CHECK(!cg_hierarchy_has_controller(&h, "mem"));
        CGroupHierarchy j = { .mount_point = (char *) "/x", .controllers = (char *) "cpu,cpuacct" };
        CHECK(cg_hierarchy_has_controller(&j, "cpu"));
        CHECK(cg_hierarchy_has_controller(&j, "cpuacct"));
        CHECK(!cg_hierarchy_has_controller(&j, "cpuset"));
        CHECK(cg_remove_recursive(&h, "/") == -EINVAL);
}

static void test_limits_parse(void) {
        CGroupLimits l = CGROUP_LIMITS_UNSET;

        CHECK(cg_limits_is_empty(&l));
        CHECK(cg_limits_parse_property(&l, "MemoryMax=512M") == 0);
        CHECK(l.memory_max == 512ULL << 20);
        CHECK(cg_limits_parse_property(&l, "MemoryMax=1G") == 0);
        CHECK(l.memory_max == 1ULL << 30);
        CHECK(cg_limits_parse_property(&l, "MemoryMax=4096") == 0);
        CHECK(l.memory_max == 4096);
        CHECK(cg_limits_parse_property(&l, "MemoryMax=infinity") == 0);
        CHECK(l.memory_max == CGROUP_LIMIT_MAX);
        CHECK(cg_limits_parse_property(&l, "MemoryMax=10%") == 0);
        CHECK(l.memory_max > 0 && l.memory_max < CGROUP_LIMIT_MAX);
        CHECK(cg_limits_parse_property(&l, "MemoryMax=lots") == -EINVAL);
        CHECK(cg_limits_parse_property(&l, "MemoryMax=-1") == -EINVAL);
        CHECK(cg_limits_parse_property(&l, "MemoryMax=") == -EINVAL);

        CHECK(cg_limits_parse_property(&l, "CPUQuota=50%") == 0);
        CHECK(l.cpu_quota_per_sec_usec == 500000);
        CHECK(cg_limits_parse_property(&l, "CPUQuota=200%") == 0);
        CHECK(l.cpu_quota_per_sec_usec == 2000000);
        CHECK(cg_limits_parse_property(&l, "CPUQuota=0%") == -EINVAL);
        CHECK(cg_limits_parse_property(&l, "CPUQuota=50") == -EINVAL);

        CHECK(cg_limits_parse_property(&l, "CPUWeight=100") == 0);
        CHECK(l.cpu_weight == 100);
        CHECK(cg_limits_parse_property(&l, "CPUWeight=0") == -EINVAL);
        CHECK(cg_limits_parse_property(&l, "CPUWeight=10001") == -EINVAL);
        CHECK(cg_limits_parse_property(&l, "IOWeight=10000") == 0);
        CHECK(l.io_weight == 10000);

        CHECK(cg_limits_parse_property(&l, "TasksMax=20") == 0);
        CHECK(l.tasks_max == 20);
        CHECK(cg_limits_parse_property(&l, "TasksMax=infinity") == 0);
        CHECK(l.tasks_max == CGROUP_LIMIT_MAX);
        CHECK(cg_limits_parse_property(&l, "TasksMax=0") == -EINVAL);

        CHECK(cg_limits_parse_property(&l, "Bogus=1") == -EOPNOTSUPP);
        CHECK(cg_limits_parse_property(&l, "MemoryMaxx=1") == -EOPNOTSUPP);
        CHECK(cg_limits_parse_property(&l, "NoEquals") == -EINVAL);
        CHECK(!cg_limits_is_empty(&l));
}

static void test_enumerate_self(void) {
        CGroupHierarchy *hs = NULL;
        size_t n = 0;
        CGroupMode mode;

        /* Whatever the host, our own cgroup must be found in every hierarchy we enumerate. */
        if (cg_detect_mode(&mode) < 0) {
                printf("# no cgroup hierarchy mounted, skipping enumeration checks\n");
                return;
        }
        CHECK(cg_enumerate(0, &hs, &n) == 0);
        CHECK(n > 0);
        for (size_t i = 0; i < n; i++) {
                CHECK(hs[i].path && hs[i].path[0] == '/');
                CHECK(hs[i].unified == (hs[i].controllers[0] == 0));
        }
        cg_hierarchies_free(hs, n);

        char **v1 = NULL;
        CHECK(cg_enumerate_v1_controllers(&v1) == 0);
        CHECK(v1 != NULL);
        CHECK(mode != CGROUP_MODE_UNIFIED || strv_length(v1) == 0);
        strv_free(v1);
}

int main(void) {
        test_mode_table();
        test_parse_proc_cgroup();
        test_escape();
        test_fs_path();
        test_limits_parse();
        test_enumerate_self();
        return tap_finish();
}
