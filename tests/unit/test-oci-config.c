/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "macro.h"
#include "oci-config.h"
#include "oci-hooks.h"
#include "oci-state.h"
#include "strv.h"
#include "tap.h"

/* A document with every field spawn maps, as podman writes them (abridged). */
static const char full[] =
        "{ \"ociVersion\": \"1.0.2-dev\", \"unknownTopLevel\": {\"x\": 1},"
        "  \"process\": { \"terminal\": true, \"user\": { \"uid\": 1000, \"gid\": 100, \"umask\": 18,"
        "                 \"additionalGids\": [5, 27] },"
        "    \"args\": [\"/bin/sh\", \"-c\", \"true\"], \"env\": [\"PATH=/bin\", \"A=b\"], \"cwd\": \"/tmp\","
        "    \"capabilities\": { \"bounding\": [\"CAP_CHOWN\", \"CAP_KILL\"], \"effective\": [\"CAP_KILL\"],"
        "                        \"ambient\": [] },"
        "    \"rlimits\": [ { \"type\": \"RLIMIT_NOFILE\", \"soft\": 1024, \"hard\": 4096 } ],"
        "    \"noNewPrivileges\": true, \"oomScoreAdj\": 100, \"apparmorProfile\": \"p\","
        "    \"selinuxLabel\": \"system_u:system_r:container_t:s0\" },"
        "  \"root\": { \"path\": \"rootfs\", \"readonly\": true }, \"hostname\": \"box\","
        "  \"mounts\": [ { \"destination\": \"/proc\", \"type\": \"proc\", \"source\": \"proc\" },"
        "              { \"destination\": \"/data\", \"source\": \"/srv\", \"options\": [\"rbind\", \"ro\"] } ],"
        "  \"hooks\": { \"prestart\": [ { \"path\": \"/bin/true\" } ],"
        "               \"poststop\": [ { \"path\": \"/bin/echo\", \"args\": [\"echo\", \"x\"], \"env\": [\"A=1\"],"
        "                                \"timeout\": 5 } ] },"
        "  \"annotations\": { \"org.example.key\": \"value\" },"
        "  \"linux\": { \"namespaces\": [ {\"type\": \"pid\"}, {\"type\": \"network\", \"path\": \"/run/netns/x\"},"
        "                                {\"type\": \"mount\"}, {\"type\": \"user\"} ],"
        "    \"uidMappings\": [ {\"containerID\": 0, \"hostID\": 100000, \"size\": 65536} ],"
        "    \"gidMappings\": [ {\"containerID\": 0, \"hostID\": 100000, \"size\": 65536} ],"
        "    \"sysctl\": { \"net.ipv4.ip_forward\": \"1\" },"
        "    \"resources\": { \"memory\": { \"limit\": 104857600 }, \"cpu\": { \"shares\": 512, \"quota\": 50000,"
        "                     \"period\": 100000 }, \"pids\": { \"limit\": 64 }, \"blockIO\": { \"weight\": 500 },"
        "                     \"devices\": [ { \"allow\": false, \"access\": \"rwm\" },"
        "                                    { \"allow\": true, \"type\": \"c\", \"major\": 1, \"minor\": 3, \"access\": \"rw\" } ] },"
        "    \"cgroupsPath\": \"/berth/test\","
        "    \"seccomp\": { \"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultErrnoRet\": 38,"
        "                   \"architectures\": [\"SCMP_ARCH_X86_64\"],"
        "                   \"syscalls\": [ { \"names\": [\"read\", \"write\"], \"action\": \"SCMP_ACT_ALLOW\" },"
        "                                   { \"names\": [\"personality\"], \"action\": \"SCMP_ACT_ALLOW\","
        "                                     \"args\": [ { \"index\": 0, \"value\": 8, \"op\": \"SCMP_CMP_EQ\" } ] } ] },"
        "    \"devices\": [ { \"path\": \"/dev/fuse\", \"type\": \"c\", \"major\": 10, \"minor\": 229, \"fileMode\": 438 } ],"
        "    \"maskedPaths\": [\"/proc/kcore\"], \"readonlyPaths\": [\"/proc/sys\"],"
        "    \"mountLabel\": \"system_u:object_r:container_file_t:s0\", \"rootfsPropagation\": \"rslave\" } }";

static void test_full(void) {
        _cleanup_free_ char *err = NULL;
        OciConfig c;

        CHECK(oci_config_parse(full, &c, &err) == 0);
        CHECK(!err);
        CHECK_STREQ(c.oci_version, "1.0.2-dev");
        CHECK(c.has_process && c.process.terminal);
        CHECK(c.process.uid == 1000 && c.process.gid == 100);
        CHECK(c.process.has_umask && c.process.umask == 022);
        CHECK(c.process.n_additional_gids == 2 && c.process.additional_gids[1] == 27);
        CHECK(strv_length(c.process.args) == 3);
        CHECK_STREQ(c.process.env[1], "A=b");
        CHECK_STREQ(c.process.cwd, "/tmp");
        CHECK(c.process.has_capabilities && strv_length(c.process.capabilities[OCI_CAP_BOUNDING]) == 2);
        CHECK(c.process.capabilities[OCI_CAP_AMBIENT] && !c.process.capabilities[OCI_CAP_AMBIENT][0]);
        CHECK(!c.process.capabilities[OCI_CAP_PERMITTED]);
        CHECK(c.process.n_rlimits == 1 && c.process.rlimits[0].resource == RLIMIT_NOFILE &&
              c.process.rlimits[0].soft == 1024 && c.process.rlimits[0].hard == 4096);
        CHECK(c.process.no_new_privileges && c.process.has_oom_score_adj && c.process.oom_score_adj == 100);
        CHECK_STREQ(c.process.selinux_label, "system_u:system_r:container_t:s0");
        CHECK_STREQ(c.root_path, "rootfs");
        CHECK(c.root_readonly);
        CHECK_STREQ(c.hostname, "box");
        CHECK(c.n_mounts == 2 && !c.mounts[1].type);
        CHECK_STREQ(c.mounts[1].options[0], "rbind");
        CHECK(c.n_hooks[OCI_HOOK_PRESTART] == 1 && c.n_hooks[OCI_HOOK_POSTSTOP] == 1);
        CHECK(c.hooks[OCI_HOOK_POSTSTOP][0].timeout == 5);
        CHECK_STREQ(oci_config_annotation(&c, "org.example.key"), "value");
        CHECK(c.namespaces[OCI_NS_PID].requested && !c.namespaces[OCI_NS_PID].path);
        CHECK_STREQ(c.namespaces[OCI_NS_NETWORK].path, "/run/netns/x");
        CHECK(!c.namespaces[OCI_NS_IPC].requested);
        CHECK(c.n_uid_mappings == 1 && c.uid_mappings[0].host_id == 100000 && c.uid_mappings[0].size == 65536);
        CHECK_STREQ(c.sysctl[0], "net.ipv4.ip_forward");
        CHECK(c.resources.has_memory_limit && c.resources.memory_limit == 104857600);
        CHECK(c.resources.cpu_shares == 512 && c.resources.cpu_quota == 50000 && c.resources.cpu_period == 100000);
        CHECK(c.resources.pids_limit == 64 && c.resources.blkio_weight == 500);
        CHECK(c.resources.n_devices == 2 && !c.resources.devices[0].allow && c.resources.devices[0].type == 'a');
        CHECK(c.resources.devices[1].major == 1 && c.resources.devices[1].minor == 3);
        CHECK_STREQ(c.cgroups_path, "/berth/test");
        CHECK(c.seccomp && c.seccomp->default_action == OCI_SECCOMP_ERRNO && c.seccomp->default_errno_ret == 38);
        CHECK(c.seccomp->n_syscalls == 2 && c.seccomp->syscalls[1].n_args == 1 &&
              c.seccomp->syscalls[1].args[0].op == OCI_SECCOMP_OP_EQ && c.seccomp->syscalls[1].args[0].value == 8);
        CHECK(c.n_devices == 1 && c.devices[0].type == 'c' && c.devices[0].minor == 229 && c.devices[0].file_mode == 0666);
        CHECK_STREQ(c.masked_paths[0], "/proc/kcore");
        CHECK_STREQ(c.readonly_paths[0], "/proc/sys");
        CHECK_STREQ(c.rootfs_propagation, "rslave");
        oci_config_done(&c);
}

static void test_minimal(void) {
        OciConfig c;
        CHECK(oci_config_parse("{\"ociVersion\":\"1.2.0\",\"root\":{\"path\":\"/abs/root\"}}", &c, NULL) == 0);
        CHECK(!c.has_process && !c.seccomp && c.n_mounts == 0 && !c.root_readonly);
        oci_config_done(&c);
}

/* Each bad document fails with a line that names the field. */
static void test_bad(void) {
        static const struct {
                const char *json, *error;
        } cases[] = {
                { "{", "invalid JSON" },
                { "[]", "config.json: expected an object" },
                { "{\"root\":{\"path\":\"r\"}}", "ociVersion: missing" },
                { "{\"ociVersion\":\"2.0.0\",\"root\":{\"path\":\"r\"}}", "ociVersion: unsupported version '2.0.0'" },
                { "{\"ociVersion\":\"1.3.0\",\"root\":{\"path\":\"r\"}}", "ociVersion: unsupported version" },
                { "{\"ociVersion\":\"1.0.0\"}", "root: missing" },
                { "{\"ociVersion\":\"1.0.0\",\"root\":{\"path\":\"r\"},\"linux\":{\"namespaces\":[{\"type\":\"foo\"}]}}",
                  "linux.namespaces[0].type: unknown namespace type 'foo'" },
                { "{\"ociVersion\":\"1.0.0\",\"root\":{\"path\":\"r\"},\"linux\":{\"sysctl\":{\"kernel.core_pattern\":\"|/x\"}}}",
                  "linux.sysctl: kernel.core_pattern is not a namespaced sysctl; it would change the host" },
                { "{\"ociVersion\":\"1.0.0\",\"root\":{\"path\":\"r\"},\"linux\":{\"sysctl\":{\"net.ipv4.ip_forward\":\"1\"}}}",
                  "linux.sysctl: net.ipv4.ip_forward needs its own network namespace" },
                { "{\"ociVersion\":\"1.0.0\",\"root\":{\"path\":\"r\"},\"linux\":{\"namespaces\":[{\"type\":\"ipc\"}],\"sysctl\":{\"kernel/../x\":\"1\"}}}",
                  "linux.sysctl: kernel/../x is not a namespaced sysctl" },
                { "{\"ociVersion\":\"1.0.0\",\"root\":{\"path\":\"r\"},\"process\":{\"cwd\":\"/\",\"user\":{\"uid\":0},\"args\":[1]}}",
                  "process.args[0]: expected a string" },
                { "{\"ociVersion\":\"1.0.0\",\"root\":{\"path\":\"r\"},\"process\":{\"cwd\":\"rel\",\"user\":{}}}",
                  "process.cwd: 'rel' is not an absolute path" },
                { "{\"ociVersion\":\"1.0.0\",\"root\":{\"path\":\"r\"},\"hooks\":{\"prestart\":[{\"path\":\"/x\",\"timeout\":0}]}}",
                  "hooks.prestart[0].timeout" },
                { "{\"ociVersion\":\"1.0.0\",\"root\":{\"path\":\"r\"},\"process\":{\"cwd\":\"/\",\"user\":{},"
                  "\"rlimits\":[{\"type\":\"RLIMIT_BOGUS\",\"soft\":1,\"hard\":1}]}}",
                  "process.rlimits[0].type: unknown resource 'RLIMIT_BOGUS'" },
                { "{\"ociVersion\":\"1.0.0\",\"root\":{\"path\":\"r\"},\"linux\":{\"seccomp\":{\"defaultAction\":\"X\"}}}",
                  "linux.seccomp.defaultAction: unknown action 'X'" },
                { "{\"ociVersion\":\"1.0.0\",\"root\":{\"path\":\"r\"},\"linux\":{\"uidMappings\":"
                  "[{\"containerID\":0,\"hostID\":1,\"size\":1}]}}", "need a user namespace" },
                { "{\"ociVersion\":\"1.0.0\",\"root\":{\"path\":\"r\"},\"mounts\":[{\"destination\":\"x\"}]}",
                  "mounts[0].destination: 'x' is not an absolute path" },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *err = NULL;
                OciConfig c;
                CHECK(oci_config_parse(cases[i].json, &c, &err) == -EINVAL);
                CHECK(err && strstr(err, cases[i].error));
                if (!err || !strstr(err, cases[i].error))
                        printf("# got: %s\n", err ?: "(null)");
        }
}

static void test_versions(void) {
        CHECK(oci_version_check("1.0.0") == 0);
        CHECK(oci_version_check("1.1.0-rc.1") == 0);
        CHECK(oci_version_check("1.2.1") == 0);
        CHECK(oci_version_check("1.0") == -EOPNOTSUPP);
        CHECK(oci_version_check("0.9.0") == -EOPNOTSUPP);
        CHECK(oci_version_check("1.2.0x") == -EOPNOTSUPP);
}

static void test_state(void) {
        _cleanup_strv_free_ char **ann = NULL;
        _cleanup_free_ char *json = NULL;
        CHECK(strv_extend(&ann, "k") == 0 && strv_extend(&ann, "v") == 0);
        OciState s = { .id = "c1", .status = OCI_STATUS_CREATED, .pid = 42, .bundle = "/b", .annotations = ann };
        CHECK(oci_state_format(&s, &json) == 0);
        CHECK_STREQ(json, "{\"ociVersion\":\"1.2.0\",\"id\":\"c1\",\"status\":\"created\",\"pid\":42,"
                          "\"bundle\":\"/b\",\"annotations\":{\"k\":\"v\"}}");
        CHECK(oci_status_from_string("stopped") == OCI_STATUS_STOPPED);
}

/* A hook reads the state on stdin, gets exactly its env, and its failure and timeout are told apart. */
static void test_hooks(void) {
        char *args[] = { (char *) "sh", (char *) "-c", (char *) "read s; [ \"$s\" = state ] && [ \"$X\" = 1 ]", NULL };
        char *env[] = { (char *) "X=1", NULL };
        char *slow[] = { (char *) "sh", (char *) "-c", (char *) "sleep 5", NULL };
        OciHook ok = { .path = (char *) "/bin/sh", .args = args, .env = env };
        OciHook bad = { .path = (char *) "/bin/sh", .args = args };
        OciHook timeout = { .path = (char *) "/bin/sh", .args = slow, .timeout = 1 };
        OciHook missing = { .path = (char *) "/nonexistent/hook" };
        int status = 0;

        CHECK(oci_hook_run(&ok, "state\n", &status) == 0);
        CHECK(oci_hook_run(&bad, "state\n", &status) == -EPROTO && WIFEXITED(status) && WEXITSTATUS(status) == 1);
        CHECK(oci_hook_run(&timeout, "", &status) == -ETIMEDOUT);
        CHECK(oci_hook_run(&missing, "", &status) == -ENOENT);
        OciHook list[] = { ok, bad };
        size_t failed = 99;
        CHECK(oci_hooks_run(list, 2, "state\n", &failed, &status) == -EPROTO && failed == 1);
}

int main(void) {
        test_full();
        test_minimal();
        test_bad();
        test_versions();
        test_state();
        test_hooks();
        return tap_finish();
}
