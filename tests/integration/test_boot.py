"""spawn -b: booting real distro trees (Debian 12 with systemd 252, Debian 13 with systemd >= 256,
Debian with sysvinit, a busybox init tree) as PID 1, with delegated cgroups and clean shutdown."""

import os
import signal
import subprocess
import time

import pytest

from boot_fixtures import *  # noqa: F401,F403 (fixtures)
from conftest import (IN_HELPER, TREE_NAME, PtySession, container_cgroup_file, describe, reap_zombie_children,
                      run_helper, run_spawn)

HOST_CGROUP_MODE = ("unified" if os.path.exists("/sys/fs/cgroup/cgroup.controllers") else
                    "hybrid" if os.path.exists("/sys/fs/cgroup/unified/cgroup.controllers") else "legacy")


def host_cgroup_dirs(name):
    """Every cgroup directory named NAME anywhere in the host's hierarchies."""
    found = []
    for top in os.listdir("/sys/fs/cgroup"):
        base = os.path.join("/sys/fs/cgroup", top)
        if not os.path.isdir(base) or os.path.islink(base):
            continue
        for dirpath, dirnames, _ in os.walk(base):
            if name in dirnames:
                found.append(os.path.join(dirpath, name))
            if dirpath.count("/") > 8:
                dirnames[:] = []
    return found


def assert_clean_shutdown(b, expected=0, timeout=60):
    rc = b.exit_code(timeout)
    assert rc == expected, f"spawn exit {rc}, want {expected}; output:\n{b.output()[-3000:]}"


def stop_and_check(b):
    os.kill(b.proc.pid, signal.SIGTERM)
    assert_clean_shutdown(b)


# --- Debian 12, systemd 252 -----------------------------------------------------------------

def test_boot_debian12_reaches_running(bookworm, boot):
    b = boot(bookworm)
    # READY=1 comes from the guest's systemd through /run/host/notify, relayed by --notify-ready.
    b.wait_ready()
    assert b.run("systemctl", "is-system-running", "--wait").strip() == "running"
    assert b.run("systemctl", "--failed", "--no-legend", "--plain").strip() == ""
    virt = b.run("systemd-detect-virt", check=False).strip()
    assert virt == "container-other", virt
    assert b.run("cat", "/run/host/container-manager").strip() == "berth"
    # The console shows the boot and ends at a login prompt (console-getty in containers).
    deadline = time.monotonic() + 30
    while "login:" not in b.output() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "login:" in b.output(), b.output()[-2000:]
    stop_and_check(b)


def test_boot_cgroup_layout_debian12(bookworm, boot):
    # systemd 252 gets the unified hierarchy on every host that has one.
    b = boot(bookworm)
    b.wait_ready()
    assert b.run("stat", "-f", "-c", "%T", "/sys/fs/cgroup").strip() == ("cgroup2fs" if HOST_CGROUP_MODE != "legacy" else "tmpfs")
    assert b.run("systemctl", "--failed", "--no-legend", "--plain").strip() == ""
    cg = b.run("cat", "/proc/1/cgroup")
    for line in cg.splitlines():
        assert line.split(":", 2)[2] in ("/", "/init.scope"), cg
    with open(f"/proc/{b.init_pid()}/cgroup") as f:
        host_view = f.read()
    assert "machine-bookworm.scope" in host_view, host_view
    stop_and_check(b)
    assert host_cgroup_dirs("machine-bookworm.scope") == []


@pytest.mark.skipif(HOST_CGROUP_MODE == "unified", reason="the v1 layouts need v1 hierarchies on the host")
def test_boot_hybrid_layout_debian12(bookworm, boot):
    # $BERTH_CGROUP_LAYOUT=hybrid: what nspawn gives systemd 233..255 on a hybrid host.
    b = boot(bookworm, env_extra={"BERTH_CGROUP_LAYOUT": "hybrid" if HOST_CGROUP_MODE == "hybrid" else "legacy"})
    b.wait_ready()
    assert b.run("systemctl", "is-system-running", "--wait").strip() == "running"
    mounts = {}
    for line in b.run("cat", "/proc/self/mountinfo").splitlines():
        pre, post = line.split(" - ")
        f = pre.split()
        mounts[f[4]] = (post.split()[0], f[5])
    # A tmpfs with the v1 hierarchies, name=systemd writable, controllers read-only, cgroup2 at
    # unified/ on a hybrid host.
    assert mounts["/sys/fs/cgroup"] == ("tmpfs", mounts["/sys/fs/cgroup"][1])
    assert mounts["/sys/fs/cgroup"][1].startswith("ro")
    assert mounts["/sys/fs/cgroup/systemd"][0] == "cgroup"
    assert mounts["/sys/fs/cgroup/systemd"][1].startswith("rw")
    assert mounts["/sys/fs/cgroup/memory"][1].startswith("ro")
    if HOST_CGROUP_MODE == "hybrid":
        assert mounts["/sys/fs/cgroup/unified"][0] == "cgroup2"
        assert mounts["/sys/fs/cgroup/unified"][1].startswith("rw")
    # The cgroup namespace is rooted at the container's own cgroup: PID 1 is at "/" (or init.scope).
    cg = b.run("cat", "/proc/1/cgroup")
    for line in cg.splitlines():
        path = line.split(":", 2)[2]
        assert path in ("/", "/init.scope"), cg
    # ...and on the host the container lives in its own machine-NAME.scope cgroup.
    with open(f"/proc/{b.init_pid()}/cgroup") as f:
        host_view = f.read()
    assert "machine-bookworm.scope" in host_view, host_view
    stop_and_check(b)
    assert host_cgroup_dirs("machine-bookworm.scope") == []


def test_boot_poweroff_exits_0(bookworm, boot):
    b = boot(bookworm)
    b.wait_ready()
    b.run("systemctl", "poweroff", "--no-block")
    assert_clean_shutdown(b, 0)


def test_boot_reboot_exits_133(bookworm, boot):
    b = boot(bookworm)
    b.wait_ready()
    b.run("systemctl", "reboot", "--no-block")
    assert_clean_shutdown(b, 133)


def test_boot_restart_on_reboot(bookworm, boot):
    b = boot(bookworm, "--restart-on-reboot")
    b.wait_ready()
    first = b.init_pid()
    b.run("systemctl", "reboot", "--no-block")
    b.wait_ready(count=2)
    assert b.init_pid() != first
    assert b.run("systemctl", "is-system-running", "--wait").strip() == "running"
    stop_and_check(b)


def test_boot_sigterm_halts_cleanly(bookworm, boot):
    b = boot(bookworm)
    b.wait_ready()
    start = time.monotonic()
    os.kill(b.proc.pid, signal.SIGTERM)
    assert_clean_shutdown(b, 0)
    assert time.monotonic() - start < 30
    out = b.output()
    assert "SIGRTMIN+3" in out and "Halting system" in out, out[-2000:]


def test_boot_sigterm_before_ready_still_halts(bookworm, boot):
    # A halt request that arrives before systemd installed its handlers must not be lost.
    b = boot(bookworm)
    b.init_pid()
    os.kill(b.proc.pid, signal.SIGTERM)
    assert_clean_shutdown(b, 0)


def test_boot_double_sigterm_kills(bookworm, boot):
    b = boot(bookworm)
    b.wait_ready()
    init = b.init_pid()
    os.kill(b.proc.pid, signal.SIGTERM)
    time.sleep(0.05)  # two signals sent at once merge into one pending signal
    os.kill(b.proc.pid, signal.SIGTERM)
    rc = b.exit_code(30)
    assert rc != 0 and "SIGKILL" in b.output(), b.output()[-2000:]
    reap_zombie_children()
    assert not os.path.exists(f"/proc/{init}")


def test_boot_spawn_sigkill_leaves_nothing(bookworm, boot):
    b = boot(bookworm)
    b.wait_ready()
    init = b.init_pid()
    with open(f"/proc/{init}/cgroup") as f:
        assert "machine-bookworm.scope" in f.read()
    os.kill(b.proc.pid, signal.SIGKILL)
    b.exit_code(10)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and (os.path.exists(f"/proc/{init}") or host_cgroup_dirs("machine-bookworm.scope")):
        reap_zombie_children()  # orphans come to the test runner (a subreaper)
        time.sleep(0.05)
    assert not os.path.exists(f"/proc/{init}")
    assert host_cgroup_dirs("machine-bookworm.scope") == []
    # Mounts are checked by the autouse guard (nothing under the test's directory).


def test_boot_resolv_conf_and_timezone(bookworm, boot):
    b = boot(bookworm, "--resolv-conf=copy-host", "--timezone=auto")
    b.wait_ready()
    with open("/etc/resolv.conf") as f:
        assert b.run("cat", "/etc/resolv.conf") == f.read()
    host_zone = os.readlink("/etc/localtime").split("zoneinfo/")[-1]
    assert b.run("readlink", "/etc/localtime").strip().endswith("zoneinfo/" + host_zone)
    stop_and_check(b)


def test_boot_bind_host_resolv_conf_read_only(bookworm, boot):
    b = boot(bookworm, "--resolv-conf=bind-host")
    b.wait_ready()
    assert "/etc/resolv.conf" in b.run("cat", "/proc/self/mountinfo")
    stop_and_check(b)


# --- Debian 13 (systemd >= 256 needs the unified hierarchy) -------------------------------------

def test_boot_debian13_gets_unified_hierarchy(trixie_cache, overlay_of, boot):
    tree = overlay_of(trixie_cache, "trixie")
    b = boot(tree)
    b.wait_ready()
    assert b.run("stat", "-f", "-c", "%T", "/sys/fs/cgroup").strip() == "cgroup2fs"
    assert b.run("systemctl", "is-system-running", "--wait").strip() == "running"
    assert b.run("systemctl", "--failed", "--no-legend", "--plain").strip() == ""
    stop_and_check(b)


# --- non-systemd inits --------------------------------------------------------------------------

def test_boot_sysvinit(sysv_cache, overlay_of, boot):
    tree = overlay_of(sysv_cache, "sysv")
    b = boot(tree, notify_ready=False)
    # sysvinit writes /run/utmp records once the boot scripts ran; rc's last step is runlevel 2.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        level = b.run("runlevel", check=False).strip()
        if level.endswith(" 2"):
            break
        time.sleep(0.2)
    assert level.endswith(" 2"), level
    stop_and_check(b)


def test_boot_busybox_init(tree_copy, boot):
    (tree_copy / "etc" / "inittab").write_text(
        "::sysinit:/bin/sh -c 'echo $container > /run/booted'\n"
        "::respawn:/bin/sleep 1000\n"
        "::shutdown:/bin/sh -c 'echo shutdown-ran'\n")
    b = boot(tree_copy, "FOO=bar", notify_ready=False)
    b.wait_file("/run/booted")
    init = b.init_pid()
    with open(f"/proc/{init}/root/run/booted") as f:
        assert f.read().strip() == "berth"
    with open(f"/proc/{init}/environ", "rb") as f:
        env = f.read().split(b"\0")
    assert b"FOO=bar" in env  # KEY=VALUE arguments became init's environment
    with open(f"/proc/{init}/comm") as f:
        assert f.read().strip() == "init"
    os.kill(b.proc.pid, signal.SIGTERM)  # → SIGUSR2, busybox init's poweroff
    assert_clean_shutdown(b, 0)
    assert "shutdown-ran" in b.output()


def test_boot_passes_arguments_to_init(tree_copy, boot):
    # Not KEY=VALUE, or with a dot in the key: passed on as arguments.
    (tree_copy / "sbin").mkdir(exist_ok=True)
    (tree_copy / "sbin" / "init").write_text("#!/bin/sh\necho \"args:$*\" > /run/args; echo \"env:$a_b\" >> /run/args; exec /bin/sleep 1000\n")
    os.chmod(tree_copy / "sbin" / "init", 0o755)
    b = boot(tree_copy, "one", "sys.x=1", "a_b=2", notify_ready=False)
    b.wait_file("/run/args")
    time.sleep(0.1)
    with open(f"/proc/{b.init_pid()}/root/run/args") as f:
        assert f.read().split("\n")[:2] == ["args:one sys.x=1", "env:2"]
    os.kill(b.proc.pid, signal.SIGTERM)
    time.sleep(0.5)  # two signals sent at once merge into one pending signal
    os.kill(b.proc.pid, signal.SIGTERM)
    b.exit_code(30)


# --- errors -------------------------------------------------------------------------------------

def test_boot_requires_os_release(tree_copy):
    os.unlink(tree_copy / "etc" / "os-release")
    os.unlink(tree_copy / "usr" / "lib" / "os-release")
    cp = run_spawn(["-D", tree_copy, "-b"])
    assert cp.returncode == 1, describe(cp)
    assert len(cp.stderr.strip().splitlines()) == 1 and "os-release" in cp.stderr, describe(cp)


def test_boot_and_as_pid2_conflict(tree):
    cp = run_spawn(["-D", tree, "-b", "-a"])
    assert cp.returncode == 1 and len(cp.stderr.strip().splitlines()) == 1, describe(cp)


# --- cgroup limits (no boot needed) -------------------------------------------------------------

def test_tasks_max_enforced(tree):
    # PID 1 is the first task: with TasksMax=20 it can fork 19 more, the 20th fork fails.
    out = run_helper(tree, "fork-count", "50", opts=["--property=TasksMax=20"]).stdout
    assert out.strip() == "forked=19", out


def test_resource_properties_applied(tree, procs, token):
    p, out = procs.start(["-D", tree, "--console=pipe", "--property=MemoryMax=64M", "--property=CPUQuota=50%",
                          "--property=CPUWeight=200", IN_HELPER, "hang", token, "0"])
    out.expect("ready")
    b = Booted(p, None, None)
    pid = b.init_pid()
    mem = container_cgroup_file(pid, "memory", "memory.limit_in_bytes", "memory.max")
    assert f"machine-{TREE_NAME}.scope" in mem
    with open(mem) as f:
        assert int(f.read()) == 64 * 1024 * 1024
    quota = container_cgroup_file(pid, "cpu", "cpu.cfs_quota_us", "cpu.max")
    with open(quota) as f:
        assert f.read().split()[0] == "50000"
    weight = container_cgroup_file(pid, "cpu", "cpu.shares", "cpu.weight")
    with open(weight) as f:
        assert int(f.read()) in (200, 2048)  # v2 weight, or v1 shares (weight 100 = 1024)
    os.kill(p.pid, signal.SIGTERM)
    assert p.wait(timeout=30) != 0
    assert host_cgroup_dirs(f"machine-{TREE_NAME}.scope") == []


def test_unsupported_property_is_an_error(tree):
    for prop in ("Bogus=1", "MemoryMax=lots", "CPUQuota=0%", "TasksMax=-1"):
        cp = run_spawn(["-D", tree, f"--property={prop}", "/bin/true"])
        assert cp.returncode == 1, describe(cp)
        assert len(cp.stderr.strip().splitlines()) == 1, describe(cp)
    assert host_cgroup_dirs(f"machine-{TREE_NAME}.scope") == []


def test_cgroup_removed_after_run(tree):
    cp = run_spawn(["-D", tree, "--console=pipe", IN_HELPER, "cat", "/proc/self/cgroup"])
    assert cp.returncode == 0, describe(cp)
    assert host_cgroup_dirs(f"machine-{TREE_NAME}.scope") == []


# --- a login prompt on spawn's console for inittab-based inits ----------------------------------

def login_on_console(tree, procs):
    """Boots TREE on a terminal the test owns; the getty sysvinit starts on tty1 (the console pty bound
    there) prompts on it, and root (passwordless in this overlay) logs in."""
    shadow = tree / "etc" / "shadow"
    shadow.write_text("".join("root::" + line.split(":", 2)[2] if line.startswith("root:") else line
                              for line in shadow.read_text().splitlines(keepends=True)))
    s = PtySession(procs, ["-D", str(tree), "-b"], quiet=False)
    s.out.expect(rb"login: ", timeout=120, what="getty prompt on the console")
    s.send("root\r")
    s.out.expect(rb"# ", timeout=30, what="root shell prompt")
    s.send("echo logged-$((6*7)) $(tty)\r")
    s.out.expect(rb"logged-42 /dev/tty1", timeout=15, what="command output")
    os.kill(s.proc.pid, signal.SIGTERM)
    assert s.wait(timeout=60) == 0, s.output[-3000:]


def test_sysvinit_login_prompt(sysv_cache, overlay_of, procs):
    login_on_console(overlay_of(sysv_cache, "sysv"), procs)


def test_openrc_login_prompt(openrc_cache, overlay_of, procs):
    tree = overlay_of(openrc_cache, "openrc")
    assert (tree / "sbin" / "openrc").exists()
    login_on_console(tree, procs)
