# SPDX-License-Identifier: LGPL-2.1-or-later
"""spawn --oci-bundle: bundles made here over the busybox tree, each config.json field observed from
inside (the test helper, busybox) or outside the container; hook order and failures; bad bundles
that must fail with one line and leave nothing behind."""

import errno
import json
import os
import resource
import shutil
import signal
import subprocess
import time

import pytest

from pathlib import Path

from conftest import (IN_HELPER, container_cgroup_file, describe, mounts_under, no_leftovers, nonempty_lines,
                      ns_inode, parse_json_line, run_spawn)

DATA = Path(__file__).parent / "data"
SECCOMP_PROFILE = "/usr/share/containers/seccomp.json"   # podman's default (containers-common)
PATH_ENV = "PATH=/usr/sbin:/usr/bin:/sbin:/bin"


def base_config(tree, args, **kw):
    """runc spec's defaults (the mounts and masked paths engines pass), root = the shared tree."""
    caps = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
    c = {
        "ociVersion": "1.0.2-dev",
        "process": {"terminal": False, "user": {"uid": 0, "gid": 0}, "args": args, "env": [PATH_ENV, "TERM=xterm"],
                    "cwd": "/", "capabilities": {k: caps for k in ("bounding", "effective", "permitted", "ambient")},
                    "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}], "noNewPrivileges": True},
        "root": {"path": str(tree), "readonly": True},
        "hostname": "ocibox",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
            {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]},
            {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev"]},
        ],
        "linux": {"namespaces": [{"type": t} for t in ("pid", "network", "ipc", "uts", "mount", "cgroup")],
                  "maskedPaths": ["/proc/kcore", "/proc/keys", "/proc/timer_list", "/sys/firmware", "/proc/scsi"],
                  "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]},
    }
    c.update(kw)
    return c


@pytest.fixture(scope="module")
def tree(busybox_tree, tmproot):
    """A copy of the busybox tree for this module: a bundle's mount points are created in its root,
    as runc creates them, and the session's shared tree must stay as it is."""
    d = tmproot / "oci-tree"
    d.mkdir()
    subprocess.run(["cp", "-a", str(busybox_tree), str(d / "rootfs")], check=True, timeout=120)
    return d / "rootfs"


@pytest.fixture
def bundle(scratch):
    """A bundle directory; its name is the container's (machine) name."""
    d = scratch / f"ocib{os.getpid()}"
    d.mkdir()
    return d


def write_config(bundle, config):
    with open(bundle / "config.json", "w") as f:
        json.dump(config, f)


def run_bundle(bundle, config, *extra, **kw):
    write_config(bundle, config)
    return run_spawn([f"--oci-bundle={bundle}", *extra], **kw)


def ok(cp):
    assert cp.returncode == 0, describe(cp)
    return cp.stdout


def sh(tree, script, **kw):
    return base_config(tree, ["/bin/sh", "-c", script], **kw)


def assert_clean_failure(cp, path, *words):
    assert cp.returncode == 1, describe(cp)
    lines = nonempty_lines(cp.stderr)
    assert len(lines) == 1, f"expected exactly one line on stderr:\n{describe(cp)}"
    for w in words:
        assert w in lines[0], describe(cp)
    assert not mounts_under(path), mounts_under(path)
    no_leftovers(path)


# --- process ---------------------------------------------------------------------------------

def test_process_is_pid1_with_its_caps_limits_and_nothing_added(tree, bundle):
    rep = parse_json_line(ok(run_bundle(bundle, base_config(tree, [IN_HELPER, "report"]))))
    assert rep["pid"] == 1                           # no stub init
    assert rep["hostname"] == "ocibox"
    assert rep["caps"]["CapBnd"] == "0000000020000420"   # kill, net_bind_service, audit_write
    assert rep["caps"]["CapAmb"] == "0000000020000420"
    assert rep["no_new_privs"] == 1
    out = ok(run_bundle(bundle, sh(tree, "env; ulimit -n; ulimit -Hn")))
    lines = out.split()
    # Exactly the bundle's environment (busybox sh adds its own PWD/SHLVL), no container=, no HOME.
    assert PATH_ENV in lines and "TERM=xterm" in lines
    assert not [l for l in lines if l.split("=")[0] in ("container", "container_uuid", "HOME", "NOTIFY_SOCKET")], out
    assert lines[-2:] == ["1024", "1024"], out
    # No process.user.umask: runc's 0022, not whatever spawn's caller had.
    assert ok(run_bundle(bundle, sh(tree, "umask"), preexec_fn=lambda: os.umask(0o077))).strip() == "0022"


def test_terminal_oom_score_and_labels(tree, bundle):
    cfg = sh(tree, "tty; cat /proc/self/oom_score_adj")
    cfg["process"]["oomScoreAdj"] = 123
    # Labels only matter on an SELinux host; elsewhere they are ignored, as runc ignores them.
    cfg["process"]["selinuxLabel"] = "system_u:system_r:container_t:s0:c1,c2"
    cfg["linux"]["mountLabel"] = "system_u:object_r:container_file_t:s0:c1,c2"
    cfg["process"]["apparmorProfile"] = "containers-default-0.50.1"
    if os.path.exists("/sys/fs/selinux/enforce"):
        del cfg["process"]["selinuxLabel"], cfg["linux"]["mountLabel"]
    out = ok(run_bundle(bundle, cfg)).splitlines()
    assert out == ["not a tty", "123"], out
    cfg["process"]["terminal"] = True
    out = ok(run_bundle(bundle, cfg)).replace("\r", "").splitlines()
    assert out[0].startswith("/dev/") and out[1] == "123", out


def test_user_groups_umask_cwd(tree, bundle):
    cfg = sh(tree, "id -u; id -g; id -G; umask; pwd")
    cfg["process"]["user"] = {"uid": 1234, "gid": 2345, "additionalGids": [5, 7], "umask": 0o027}
    cfg["process"]["cwd"] = "/etc"
    cfg["process"]["capabilities"]["ambient"] = []
    assert ok(run_bundle(bundle, cfg)).split() == ["1234", "2345", "2345", "5", "7", "0027", "/etc"]


def test_command_line_wins_over_the_bundle(tree, bundle):
    out = ok(run_bundle(bundle, base_config(tree, ["/bin/false"]), "--hostname=fromcli", "/bin/hostname"))
    assert out.strip() == "fromcli"


# --- root and mounts -------------------------------------------------------------------------

def test_mounts_are_the_bundles_and_root_read_only(tree, bundle, scratch):
    rw = scratch / "rw"
    rw.mkdir()
    (bundle / "rel").mkdir()
    (bundle / "rel" / "file").write_text("relative\n")
    cfg = sh(tree, "touch /rootfile 2>/dev/null && echo root-writable; echo hi > /data/out; "
                   "echo x > /ro/out 2>/dev/null && echo ro-writable; cat /rel/file; "
                   "grep -E ' /(scratch|data|ro|rel|run|run/host) ' /proc/mounts; ls /run/host 2>&1 | head -1")
    cfg["mounts"] += [
        {"destination": "/data", "type": "bind", "source": str(rw), "options": ["rbind", "rw"]},
        {"destination": "/ro", "source": str(rw), "options": ["bind", "ro"]},
        {"destination": "/rel", "source": "rel", "options": ["bind", "ro"]},
        {"destination": "/scratch", "type": "tmpfs", "source": "tmpfs", "options": ["noexec", "size=1m", "mode=700"]},
    ]
    out = ok(run_bundle(bundle, cfg))
    assert "root-writable" not in out and "ro-writable" not in out
    assert (rw / "out").read_text() == "hi\n"
    assert "relative" in out
    scratch_line = [l for l in out.splitlines() if " /scratch " in l]
    assert scratch_line and "noexec" in scratch_line[0] and "size=1024k" in scratch_line[0] and "mode=700" in scratch_line[0], out
    assert " /run " not in out and "No such file" in out   # no /run tmpfs, no /run/host
    assert not mounts_under(bundle)


def test_masked_and_read_only_paths(tree, bundle):
    cfg = sh(tree, "cat /proc/keys | wc -c; ls /sys/firmware | wc -l; echo 1 > /proc/sys/kernel/ns_last_pid 2>/dev/null "
                   "&& echo sys-writable; grep -E ' /proc/(sys|keys) | /sys/firmware ' /proc/mounts")
    out = ok(run_bundle(bundle, cfg))
    lines = out.splitlines()
    assert lines[0] == "0" and lines[1] == "0", out
    assert "sys-writable" not in out
    assert any(" /proc/sys " in l and "ro," in l for l in lines), out
    assert any(" /sys/firmware tmpfs ro" in l for l in lines), out


def test_rootfs_propagation(tree, bundle):
    cfg = sh(tree, "awk '$5 == \"/\"' /proc/self/mountinfo")
    cfg["linux"]["rootfsPropagation"] = "rshared"
    assert "shared:" in ok(run_bundle(bundle, cfg))
    cfg["linux"]["rootfsPropagation"] = "private"
    line = ok(run_bundle(bundle, cfg))
    assert "shared:" not in line and "master:" not in line, line


def test_devices_nodes_and_cgroup_policy(tree, bundle):
    # /dev/loop-control's numbers under another name (its open checks no capability): created from
    # linux.devices, opened only when the device list allows it.
    cfg = base_config(tree, [IN_HELPER, "try-open", "/dev/myloopctl", "r"])
    cfg["linux"]["devices"] = [{"path": "/dev/sub/myloopctl", "type": "c", "major": 10, "minor": 237, "fileMode": 0o600,
                                "uid": 0, "gid": 0}, {"path": "/dev/myloopctl", "type": "c", "major": 10, "minor": 237}]
    cfg["linux"]["resources"] = {"devices": [{"allow": False, "access": "rwm"}]}
    assert parse_json_line(ok(run_bundle(bundle, cfg)))["open"] == errno.EPERM
    cfg["linux"]["resources"]["devices"].append({"allow": True, "type": "c", "major": 10, "minor": 237, "access": "rw"})
    assert parse_json_line(ok(run_bundle(bundle, cfg)))["open"] == 0
    ls = ok(run_bundle(bundle, sh(tree, "ls -ln /dev/sub/myloopctl /dev/myloopctl", linux=cfg["linux"]))).splitlines()
    assert ls[0].startswith("crw-rw-rw-") and ls[1].startswith("crw-------") and "10, 237" in ls[1], ls


# --- namespaces, ID maps, sysctl ----------------------------------------------------------------

def test_namespaces_created_shared_and_joined(tree, bundle):
    def report_ns(namespaces):
        cfg = base_config(tree, [IN_HELPER, "report"])
        cfg["linux"]["namespaces"] = namespaces
        if not any(n["type"] == "uts" for n in namespaces):
            del cfg["hostname"]
        return parse_json_line(ok(run_bundle(bundle, cfg)))["ns"]

    host = {n: ns_inode(n) for n in ("net", "ipc", "uts", "pid", "mnt")}
    shared = report_ns([{"type": "pid"}, {"type": "mount"}])
    assert shared["net"] == host["net"] and shared["ipc"] == host["ipc"] and shared["uts"] == host["uts"]
    assert shared["pid"] != host["pid"] and shared["mnt"] != host["mnt"]

    own = report_ns([{"type": t} for t in ("pid", "mount", "network", "ipc", "uts")])
    assert own["net"] != host["net"] and own["ipc"] != host["ipc"] and own["uts"] != host["uts"]

    holder = subprocess.Popen(["unshare", "--net", "--ipc", "sleep", "60"])
    try:
        time.sleep(0.3)
        want = {n: ns_inode(n, holder.pid) for n in ("net", "ipc")}
        joined = report_ns([{"type": "pid"}, {"type": "mount"},
                            {"type": "network", "path": f"/proc/{holder.pid}/ns/net"},
                            {"type": "ipc", "path": f"/proc/{holder.pid}/ns/ipc"}])
        assert joined["net"] == want["net"] and joined["ipc"] == want["ipc"]
    finally:
        holder.kill()
        holder.wait()

    if os.path.exists("/proc/self/ns/time"):
        timens = report_ns([{"type": "pid"}, {"type": "mount"}, {"type": "time"}])
        assert timens["time"] != ns_inode("time")


def test_user_namespace_from_id_mappings(tree, bundle):
    cfg = sh(tree, "cat /proc/self/uid_map /proc/self/gid_map; id -u")
    cfg["linux"]["namespaces"].append({"type": "user"})
    cfg["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 1000000, "size": 65536}]
    cfg["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 1000000, "size": 65536}]
    out = ok(run_bundle(bundle, cfg))
    assert [l.split() for l in out.splitlines()[:2]] == [["0", "1000000", "65536"]] * 2, out
    assert out.splitlines()[2] == "0"
    # Several ranges, as podman's --userns=keep-id makes them: every line is written.
    cfg["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 1000000, "size": 1000},
                                   {"containerID": 1000, "hostID": 0, "size": 1},
                                   {"containerID": 1001, "hostID": 1001001, "size": 64535}]
    out = ok(run_bundle(bundle, cfg)).splitlines()
    assert [l.split() for l in out[:3]] == [["0", "1000000", "1000"], ["1000", "0", "1"], ["1001", "1001001", "64535"]], out
    assert out[3].split() == ["0", "1000000", "65536"], out


def test_sysctl_applies_inside_only(tree, bundle):
    with open("/proc/sys/net/ipv4/ip_forward") as f:
        before = f.read()
    out = ok(run_bundle(bundle, sh(tree, "cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/msgmax",
                                   linux={**base_config(tree, [])["linux"],
                                          "sysctl": {"net.ipv4.ip_forward": "1", "kernel.msgmax": "12345"}})))
    assert out.split() == ["1", "12345"]
    with open("/proc/sys/net/ipv4/ip_forward") as f:
        assert f.read() == before


# --- cgroups -------------------------------------------------------------------------------------

def test_resources_become_cgroup_limits(tree, bundle, scratch):
    # The poststart hook hands us the state, with the container's PID as the host sees it.
    state = scratch / "state.json"
    cfg = base_config(tree, [IN_HELPER, "fork-count", "50"])
    cfg["linux"]["resources"] = {"memory": {"limit": 64 << 20}, "cpu": {"quota": 50000, "period": 100000},
                                 "pids": {"limit": 20}}
    cfg["annotations"] = {"org.example.kept": "yes"}
    cfg["hooks"] = {"poststart": [{"path": "/bin/sh", "args": ["sh", "-c", f"cat > {state}.tmp; "
                                   f"pid=$(sed 's/.*\"pid\":\\([0-9]*\\).*/\\1/' {state}.tmp); "
                                   f"cat /proc/$pid/cgroup > {state}.cg; mv {state}.tmp {state}"]}]}
    out = ok(run_bundle(bundle, cfg))
    assert out.strip() == "forked=19", out    # pids.limit 20, PID 1 included
    st = json.loads(state.read_text())
    assert st["status"] == "running" and st["id"] == bundle.name and st["bundle"] == str(bundle)
    assert st["annotations"] == {"org.example.kept": "yes"} and st["ociVersion"].startswith("1.")
    assert f"machine-{bundle.name}.scope" in (scratch / "state.json.cg").read_text()


def test_memory_and_cpu_limits_visible_from_outside(tree, bundle, scratch, procs):
    cfg = base_config(tree, [IN_HELPER, "hang", "ocitok", "0"])
    cfg["linux"]["resources"] = {"memory": {"limit": 64 << 20}, "cpu": {"quota": 50000, "period": 100000, "shares": 2048}}
    pidfile = scratch / "pid"
    cfg["hooks"] = {"poststart": [{"path": "/bin/sh", "args": ["sh", "-c", f"sed 's/.*\"pid\":\\([0-9]*\\).*/\\1/' > {pidfile}"]}]}
    write_config(bundle, cfg)
    p, out = procs.start([f"--oci-bundle={bundle}"])
    out.expect("ready")
    for _ in range(50):
        if pidfile.exists() and pidfile.read_text().strip():
            break
        time.sleep(0.1)
    pid = int(pidfile.read_text())
    with open(container_cgroup_file(pid, "memory", "memory.limit_in_bytes", "memory.max")) as f:
        assert int(f.read()) == 64 << 20
    with open(container_cgroup_file(pid, "cpu", "cpu.cfs_quota_us", "cpu.max")) as f:
        assert f.read().split()[0] == "50000"
    os.kill(p.pid, signal.SIGTERM)
    p.wait(timeout=30)


def test_cgroups_path_relative_to_ours(tree, bundle, scratch):
    cg = scratch / "cg"
    cfg = sh(tree, "sleep 1")
    cfg["linux"]["cgroupsPath"] = f"ocisub{os.getpid()}/c1"
    cfg["hooks"] = {"poststart": [{"path": "/bin/sh", "args": ["sh", "-c", f"sed 's/.*\"pid\":\\([0-9]*\\).*/\\1/' | "
                                                                          f"xargs -I@ cat /proc/@/cgroup > {cg}"]}]}
    try:
        ok(run_bundle(bundle, cfg))
        lines = cg.read_text().splitlines()
        with open("/proc/self/cgroup") as f:
            ours = {l.split(":", 2)[1]: l.rstrip("\n").split(":", 2)[2] for l in f}
        for l in lines:
            _, ctrls, path = l.split(":", 2)
            if ctrls in ours:
                assert path == ours[ctrls].rstrip("/") + f"/ocisub{os.getpid()}/c1", lines
    finally:
        # The parent is left as runc leaves it (the engine owns it): remove it, in our own subtree.
        with open("/proc/self/cgroup") as f:
            for l in f:
                _, ctrls, path = l.rstrip("\n").split(":", 2)
                top = "/sys/fs/cgroup/" + (ctrls.replace("name=", "") if ctrls else "unified")
                if not ctrls and not os.path.exists(top):
                    top = "/sys/fs/cgroup"
                d = top + path.rstrip("/") + f"/ocisub{os.getpid()}"
                if os.path.isdir(d):
                    os.rmdir(d)


# --- seccomp -------------------------------------------------------------------------------------

def podman_profile():
    """podman's default profile, turned into config.json's form as podman does for a root
    container with the default capabilities on x86-64."""
    if not os.path.exists(SECCOMP_PROFILE):
        pytest.fail(f"{SECCOMP_PROFILE} missing: scripts/deps.sh test installs golang-github-containers-common")
    with open(SECCOMP_PROFILE) as f:
        prof = json.load(f)
    default_caps = {"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_NET_BIND_SERVICE",
                    "CAP_SETFCAP", "CAP_SETGID", "CAP_SETPCAP", "CAP_SETUID", "CAP_SYS_CHROOT"}
    arches = []
    for a in prof["archMap"]:
        if a["architecture"] == "SCMP_ARCH_X86_64":
            arches = [a["architecture"]] + a["subArchitectures"]
    rules = []
    for s in prof["syscalls"]:
        inc, exc = s.get("includes") or {}, s.get("excludes") or {}
        if inc.get("arches") and "amd64" not in inc["arches"]:
            continue
        if inc.get("caps") and not set(inc["caps"]) <= default_caps:
            continue
        if exc.get("caps") and set(exc["caps"]) & default_caps:
            continue
        if exc.get("arches") and "amd64" in exc["arches"]:
            continue
        rule = {"names": s["names"], "action": s["action"], "args": s.get("args") or []}
        if s.get("errnoRet") is not None:
            rule["errnoRet"] = s["errnoRet"]
        rules.append(rule)
    return {"defaultAction": prof["defaultAction"], "defaultErrnoRet": prof.get("defaultErrnoRet", 1),
            "architectures": arches, "syscalls": rules}


def test_podman_default_seccomp_profile(tree, bundle):
    cfg = sh(tree, "echo ok; unshare -m true 2>&1; swapoff /x 2>&1; true")
    cfg["linux"]["seccomp"] = podman_profile()
    out = ok(run_bundle(bundle, cfg))
    assert out.splitlines()[0] == "ok"
    assert "Operation not permitted" in out, out   # unshare and swapoff: EPERM by the profile


def test_seccomp_actions_errno_and_argument_conditions(tree, bundle):
    cfg = sh(tree, "mkdir /tmp/a 2>&1; touch /tmp/f; chmod 700 /tmp/f 2>&1; chmod 755 /tmp/f && echo chmod755")
    cfg["linux"]["seccomp"] = {
        "defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_NOSUCH"],
        "syscalls": [{"names": ["mkdir", "mkdirat", "no_such_call"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38},
                     # chmod(path, mode), fchmodat(dir, path, mode): refused only for mode 0700
                     {"names": ["chmod"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 1, "value": 0o700, "op": "SCMP_CMP_EQ"}]},
                     {"names": ["fchmodat"], "action": "SCMP_ACT_ERRNO",
                      "args": [{"index": 2, "value": 0o700, "op": "SCMP_CMP_EQ"}]}]}
    out = ok(run_bundle(bundle, cfg))
    assert "Function not implemented" in out, out      # errnoRet 38 = ENOSYS
    assert "Operation not permitted" in out or "Permission denied" in out, out
    assert "chmod755" in out


# --- hooks ---------------------------------------------------------------------------------------

def hook(log, name, extra_env=(), fail=False):
    """A hook that appends its name, the state's status and its env X to log."""
    script = f"read -r s; st=$(echo \"$s\" | sed 's/.*\"status\":\"\\([a-z]*\\)\".*/\\1/'); echo \"{name} $st $X $1\" >> {log}"
    if fail:
        script += "; exit 3"
    return {"path": "/bin/sh", "args": ["sh", "-c", script, "hookarg", name], "env": ["X=envok", *extra_env]}


def test_hooks_run_in_order_with_state_args_and_env(tree, bundle, scratch):
    hostlog = scratch / "log"
    cfg = sh(tree, "echo process >> /hooks/log")
    cfg["mounts"].append({"destination": "/hooks", "type": "bind", "source": str(scratch), "options": ["rbind"]})
    cfg["annotations"] = {"org.example": "kept"}
    kinds = ("prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop")
    # startContainer runs in the container's root: its log is the bind's view of the same file.
    cfg["hooks"] = {k: [hook("/hooks/log" if k == "startContainer" else hostlog, k)] for k in kinds}
    ok(run_bundle(bundle, cfg))
    lines = hostlog.read_text().splitlines()
    hooks = [l for l in lines if l != "process"]
    assert hooks == [f"{k} {st} envok {k}" for k, st in zip(kinds, ("creating", "creating", "creating", "created",
                                                                      "running", "stopped"))], lines
    assert lines.index("process") > lines.index("startContainer created envok startContainer")


@pytest.mark.parametrize("kind", ["prestart", "createRuntime", "createContainer", "startContainer"])
def test_failing_create_hook_stops_the_container(tree, bundle, scratch, kind):
    log = scratch / "log"
    cfg = sh(tree, f"echo ran > /hooks/ran")
    cfg["mounts"].append({"destination": "/hooks", "type": "bind", "source": str(scratch), "options": ["rbind"]})
    cfg["hooks"] = {kind: [hook("/hooks/log" if kind == "startContainer" else log, kind, fail=True)],
                    "poststop": [hook(log, "poststop")]}
    cp = run_bundle(bundle, cfg)
    assert_clean_failure(cp, scratch, kind, "exit status 3")
    assert not (scratch / "ran").exists()
    assert log.read_text().splitlines()[-1].startswith("poststop stopped")


def test_failing_poststart_and_poststop_only_warn(tree, bundle, scratch):
    log = scratch / "log"
    cfg = sh(tree, "echo ran")
    cfg["hooks"] = {"poststart": [hook(log, "poststart", fail=True)], "poststop": [hook(log, "poststop", fail=True)]}
    cp = run_bundle(bundle, cfg)
    assert cp.returncode == 0 and "ran" in cp.stdout, describe(cp)
    assert "poststart" in cp.stderr and "poststop" in cp.stderr


def test_hook_timeout(tree, bundle, scratch):
    cfg = sh(tree, "echo ran")
    cfg["hooks"] = {"createRuntime": [{"path": "/bin/sleep", "args": ["sleep", "30"], "timeout": 1}]}
    t = time.monotonic()
    cp = run_bundle(bundle, cfg)
    assert time.monotonic() - t < 15
    assert_clean_failure(cp, scratch, "createRuntime", "timed out")


# --- bad bundles ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name,mutate,words", [
    ("invalid-json", lambda b, c: (b / "config.json").write_text("{\"ociVersion\": "), ["invalid JSON"]),
    ("no-config", lambda b, c: (b / "config.json").unlink(), ["config.json"]),
    ("version", lambda b, c: write_config(b, {**c, "ociVersion": "2.0.0"}), ["ociVersion", "2.0.0"]),
    ("missing-root", lambda b, c: write_config(b, {**c, "root": {"path": "nonexistent"}}), ["nonexistent"]),
    ("no-root", lambda b, c: write_config(b, {k: v for k, v in c.items() if k != "root"}), ["root: missing"]),
    ("namespace", lambda b, c: write_config(b, {**c, "linux": {"namespaces": [{"type": "mount"}, {"type": "bogus"}]}}),
     ["unknown namespace type 'bogus'"]),
    ("args", lambda b, c: write_config(b, {**c, "process": {**c["process"], "args": "sh"}}), ["process.args"]),
    ("bind-no-source", lambda b, c: write_config(b, {**c, "mounts": [{"destination": "/x", "options": ["bind"]}]}),
     ["mounts[0]"]),
    ("join-pid", lambda b, c: write_config(b, {**c, "hostname": None, "linux": {"namespaces": [{"type": "mount"},
                                                                             {"type": "pid", "path": "/proc/1/ns/pid"}]}}),
     ["pid namespace"]),
    ("host-sysctl", lambda b, c: write_config(b, {**c, "linux": {**c.get("linux", {}),
                                                                  "sysctl": {"kernel.core_pattern": "|/bin/false"}}}),
     ["kernel.core_pattern", "not a namespaced sysctl"]),
])
def test_bad_bundle(tree, bundle, name, mutate, words):
    cfg = base_config(tree, [IN_HELPER, "exit", "0"])
    write_config(bundle, cfg)
    mutate(bundle, cfg)
    cp = run_spawn([f"--oci-bundle={bundle}"])
    assert_clean_failure(cp, bundle, *words)
    assert sorted(os.listdir(bundle)) in (["config.json"], [])


def test_podman_generated_bundle(tree, bundle, scratch):
    """config.json exactly as podman 4.3 (Debian 12) writes it for `podman run --rootfs TREE`, its
    seccomp profile, binds of its userdata files, a network namespace joined by path included;
    only the paths of that run are replaced."""
    userdata = scratch / "userdata"
    (userdata / "shm").mkdir(parents=True)
    for f in ("resolv.conf", "hosts", ".containerenv", "hostname"):
        (userdata / f).write_text(f"from-{f}\n")
    holder = subprocess.Popen(["unshare", "--net", "sleep", "60"])
    try:
        time.sleep(0.3)
        text = (DATA / "podman-4.3-run-rootfs.json").read_text()
        text = text.replace("@ROOTFS@", str(tree)).replace("@USERDATA@", str(userdata))
        cfg = json.loads(text.replace("@NETNS@", f"/proc/{holder.pid}/ns/net"))
        # podman's cgroupfs parent is at the hierarchy's root, outside the tests' subtree.
        del cfg["linux"]["cgroupsPath"]
        # podman asks for 1048576 files; a host (like a CI sandbox) may not allow raising the hard
        # limit at all, which crun refuses just the same.
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        for r in cfg["process"]["rlimits"]:
            r["soft"] = r["hard"] = min(r["hard"], hard)
        cfg["process"]["args"] = ["/bin/sh", "-c", "cat /etc/hostname /run/.containerenv; "
                                  "cat /proc/sys/net/ipv4/ping_group_range; grep -E 'Cap(Bnd|Eff)|Seccomp:' /proc/self/status; "
                                  "readlink /proc/self/ns/net; unshare -m true 2>&1; true"]
        out = ok(run_bundle(bundle, cfg))
        lines = out.splitlines()
        assert lines[:3] == ["from-hostname", "from-.containerenv", "0\t0"], out
        assert "CapBnd:\t00000000800405fb" in lines and "CapEff:\t00000000800405fb" in lines, out
        assert "Seccomp:\t2" in lines, out
        assert f"net:[{ns_inode('net', holder.pid)}]" in lines, out
        assert "Operation not permitted" in out, out
    finally:
        holder.kill()
        holder.wait()


def test_runc_spec_bundle_runs(tree, bundle):
    """The bundle `runc spec` writes (runc from Debian), as a user of runc would start."""
    runc = shutil.which("runc")
    if not runc:
        pytest.fail("runc missing: scripts/deps.sh test installs it")
    subprocess.run([runc, "spec", "--bundle", str(bundle)], check=True, timeout=30)
    with open(bundle / "config.json") as f:
        cfg = json.load(f)
    cfg["root"] = {"path": str(tree), "readonly": True}
    cfg["process"]["terminal"] = False
    cfg["process"]["args"] = [IN_HELPER, "report"]
    rep = parse_json_line(ok(run_bundle(bundle, cfg)))
    assert rep["pid"] == 1 and rep["hostname"] == "runc"
