/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* spawn --oci-bundle's pure helpers: mount options and linux.cgroupsPath. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

#include "macro.h"
#include "spawn-oci.h"
#include "strv.h"
#include "tap.h"

static void test_mount_options(void) {
        char *opts[] = { (char *) "nosuid", (char *) "rbind", (char *) "ro", (char *) "rprivate", (char *) "mode=755",
                         (char *) "size=65536k", (char *) "exec", (char *) "noexec", NULL };
        _cleanup_free_ char *data = NULL;
        unsigned long flags;
        bool ro, bind, rec;

        CHECK(oci_mount_options_parse(opts, &flags, &ro, &bind, &rec, &data) == 0);
        CHECK(flags == (MS_NOSUID | MS_RDONLY | MS_NOEXEC));
        CHECK(ro && bind && rec);
        CHECK_STREQ(data, "mode=755,size=65536k");

        char *rw[] = { (char *) "ro", (char *) "rw", (char *) "bind", NULL };
        free(data);
        data = NULL;
        CHECK(oci_mount_options_parse(rw, &flags, &ro, &bind, &rec, &data) == 0);
        CHECK(!ro && bind && !rec && flags == 0 && !data);
        CHECK(oci_mount_options_parse(NULL, &flags, &ro, &bind, &rec, &data) == 0);
        CHECK(!ro && !bind && !data);
}

static void test_cgroup_path(void) {
        static const struct {
                const char *in, *out;
                bool absolute;
        } cases[] = {
                { "/libpod_parent/libpod-abc", "libpod_parent/libpod-abc", true },
                { "berth/c1", "berth/c1", false },
                { "machine.slice:libpod:abc", "machine.slice/libpod-abc.scope", true },
                { "system-foo.slice:crio:x", "system.slice/system-foo.slice/crio-x.scope", true },
                { ":k8s:pod1", "machine.slice/k8s-pod1.scope", true },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *p = NULL;
                bool absolute = !cases[i].absolute;
                CHECK(spawn_oci_cgroup_path(cases[i].in, &p, &absolute) == 0);
                CHECK_STREQ(p, cases[i].out);
                CHECK(absolute == cases[i].absolute);
        }
        static const char *const bad[] = { "../escape", "a//b", "notaslice:x:y", "machine.slice:x", "a/b:c:d" };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                _cleanup_free_ char *p = NULL;
                bool absolute;
                CHECK(spawn_oci_cgroup_path(bad[i], &p, &absolute) == -EINVAL);
        }
        char *none = (char *) 1;
        bool absolute;
        CHECK(spawn_oci_cgroup_path(NULL, &none, &absolute) == 0 && !none);
}

int main(void) {
        test_mount_options();
        test_cgroup_path();
        return tap_finish();
}
