/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* berth-oci's own parsers: container IDs, cgroupsPath (cgroupfs and --systemd-cgroup forms) and
 * the container record's round trip through state.json. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "macro.h"
#include "oci-cgroup.h"
#include "oci-record.h"
#include "rm-rf.h"
#include "strv.h"
#include "tap.h"

static void check_resolve(const char *in, const char *id, bool systemd, const char *want) {
        _cleanup_free_ char *p = NULL;
        int r = oci_cgroup_resolve(in, id, systemd, &p);
        if (!want) {
                CHECK(r == -EINVAL);
                return;
        }
        CHECK(r == 0);
        CHECK_STREQ(p, want);
}

static void test_ids(void) {
        CHECK(oci_id_is_valid("abc-1.2_3+x"));
        CHECK(oci_id_is_valid("36e51c8e74d2118446c960cf21334c274ba28bba3ed55a5e4c86b8ce0eafdc46"));
        CHECK(!oci_id_is_valid(""));
        CHECK(!oci_id_is_valid("."));
        CHECK(!oci_id_is_valid(".."));
        CHECK(!oci_id_is_valid("a/b"));
        CHECK(!oci_id_is_valid("a b"));
}

static void test_cgroup_paths(void) {
        check_resolve(NULL, "c1", false, "/berth-oci/c1");
        check_resolve("", "c1", false, "/berth-oci/c1");
        check_resolve("/default/c1", "c1", false, "/default/c1");
        check_resolve("pods/c1", "c1", false, "/pods/c1");
        check_resolve("/a/../b", "c1", false, NULL);
        check_resolve("/a/..", "c1", false, NULL);
        check_resolve("machine.slice:libpod:abc", "abc", true, "/machine.slice/libpod-abc.scope");
        check_resolve("system.slice:cri-containerd:abc", "abc", true, "/system.slice/cri-containerd-abc.scope");
        check_resolve("kubepods-besteffort-pod1.slice:cri-containerd:abc", "abc", true,
                      "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1.slice/cri-containerd-abc.scope");
        check_resolve(":libpod:abc", "abc", true, "/system.slice/libpod-abc.scope");
        check_resolve("machine.slice:libpod", "abc", true, NULL);
        /* Without --systemd-cgroup the same string is a relative path, as runc takes it. */
        check_resolve("machine.slice:libpod:abc", "abc", false, "/machine.slice:libpod:abc");
}

static void test_record_round_trip(void) {
        char dir[] = "/tmp/test-oci-runtime-XXXXXX";
        CHECK(mkdtemp(dir) != NULL);
        _cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        CHECK(fd >= 0);
        char *ann[] = { (char *) "k", (char *) "v", NULL };
        OciRecord w = { .id = (char *) "c1", .pid = 4242, .pid_start = 77, .bundle = (char *) "/b",
                        .rootfs = (char *) "/b/rootfs", .created = (char *) "2026-01-01T00:00:00Z",
                        .cgroup_path = (char *) "/x/c1", .annotations = ann };
        CHECK(oci_record_write(fd, &w) == 0);
        OciRecord r = {};
        CHECK(oci_record_read(fd, &r) == 0);
        CHECK_STREQ(r.id, "c1");
        CHECK(r.pid == 4242 && r.pid_start == 77);
        CHECK_STREQ(r.bundle, "/b");
        CHECK_STREQ(r.cgroup_path, "/x/c1");
        CHECK(strv_length(r.annotations) == 2 && streq(r.annotations[1], "v"));
        /* PID 4242 with start time 77 is not alive now: the record reads as stopped, pid 0. */
        CHECK(oci_record_status(fd, &r) == OCI_STATUS_STOPPED);
        json_object *o = oci_record_to_json(&r, OCI_STATUS_STOPPED, true), *v;
        CHECK(o != NULL);
        CHECK(json_object_object_get_ex(o, "pid", &v) && json_object_get_int(v) == 0);
        CHECK(json_object_object_get_ex(o, "status", &v) && streq(json_object_get_string(v), "stopped"));
        CHECK(json_object_object_get_ex(o, "rootfs", &v) && streq(json_object_get_string(v), "/b/rootfs"));
        CHECK(json_object_object_get_ex(o, "annotations", &v) && json_object_object_length(v) == 1);
        json_object_put(o);
        oci_record_done(&r);
        CHECK(rm_rf_at(AT_FDCWD, dir) == 0);
}

int main(void) {
        test_ids();
        test_cgroup_paths();
        test_record_round_trip();
        return tap_finish();
}
