# SPDX-License-Identifier: LGPL-2.1-or-later
"""Our machinectl against machined on a private dbus-daemon: busybox containers that spawn registers
itself (--register=yes) and ones registered through the API with other classes and services, a
booted Debian container; list/status/show/JSON, the control verbs and what the registry does after
them, shell's exit status, login on a pty, errors, other users, and systemd's machinectl printing
the same machines."""

import errno
import json
import os
import re
import select
import subprocess
import termios
import time
import uuid
from pathlib import Path

import pytest

from boot_fixtures import *  # noqa: F401,F403  (bookworm, boot)
from conftest import BUILD, DEFAULT_TIMEOUT, IN_HELPER, base_env, kill_pid, set_winsize, skip_or_fail, spawn_cmd
from machined_fixtures import (BUS_NAME, MANAGER_PATH, NOBODY, STRANGER, descendants_of, machinectl, run_as,
                               wait_gone)

MACHINECTL = BUILD / "machinectl"
BERTH_IFACE = "io.berth.Machined1"
NO_SUCH_MACHINE = re.compile(r"^machinectl: No machine '(?P<name>[^']*)' known\.$")


# ---------------------------------------------------------------------------------------------
# helpers

@pytest.fixture
def mctl_bin():
    if not MACHINECTL.is_file() or not os.access(MACHINECTL, os.X_OK):
        skip_or_fail(f"machinectl binary not built: {MACHINECTL} (set BERTH_BUILD_DIR or build with meson)")
    return MACHINECTL


class Ctl:
    """Runs our machinectl against the test's bus."""

    def __init__(self, machined):
        self.machined = machined

    def env(self, **extra):
        return self.machined.bus.env(**extra) if self.machined else base_env(**extra)

    def run(self, *args, input=None, timeout=DEFAULT_TIMEOUT, env=None, uid=None):
        argv = [str(MACHINECTL), *[str(a) for a in args]]
        env = env if env is not None else self.env()
        if uid is not None:
            return run_as(uid, argv, env, timeout=timeout, input=input.encode() if isinstance(input, str) else input)
        cp = subprocess.run(argv, input=input.encode() if isinstance(input, str) else input,
                            stdin=subprocess.DEVNULL if input is None else None, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env, timeout=timeout)
        cp.stdout = cp.stdout.decode(errors="replace")
        cp.stderr = cp.stderr.decode(errors="replace")
        return cp

    def ok(self, *args, **kw):
        cp = self.run(*args, **kw)
        assert cp.returncode == 0, describe(cp)
        return cp.stdout


def describe(cp):
    return f"{cp.args}: rc={cp.returncode}\nstdout={cp.stdout!r}\nstderr={cp.stderr!r}"


@pytest.fixture
def ctl(mctl_bin, machined):
    return Ctl(machined)


class Containers:
    """busybox containers that register themselves (spawn --register=yes) with the test's machined."""

    def __init__(self, procs, machined, tree):
        self.procs = procs
        self.machined = machined
        self.tree = tree

    def start(self, name=None, *opts, command=("sleep-forever",), register=True, timeout=10):
        """Returns (spawn Popen, name, host PID of the container's PID 1) once the payload runs."""
        name = name or f"m-{uuid.uuid4().hex[:8]}"
        p = self.procs.track(subprocess.Popen(
            spawn_cmd(["-D", self.tree, f"--machine={name}", "--console=pipe",
                       "--register=yes" if register else "--register=no",
                       "--setenv=BERTH_TEST_HELPER_HANG_READY=1", *opts, IN_HELPER, *command]),
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=self.machined.bus.env()))
        deadline = time.monotonic() + timeout
        out = b""
        while b"ready" not in out and p.poll() is None and time.monotonic() < deadline:
            r, _, _ = select.select([p.stdout], [], [], 0.2)
            if r:
                out += os.read(p.stdout.fileno(), 4096)
        if b"ready" not in out:
            kill_pid(p.pid)
            p.wait(timeout=10)
            pytest.fail(f"container {name} did not get ready (rc={p.returncode}): {out!r} {p.stderr.read()!r}")
        own = os.readlink("/proc/self/ns/pid")
        leader = next(c for c in descendants_of(p.pid) if os.readlink(f"/proc/{c}/ns/pid") != own)
        if register:
            assert name in self.names(), f"{name} did not register"
        return p, name, leader

    def names(self):
        return {str(m[0]) for m in self.machined.manager().ListMachines()} - {".host"}

    def wait_unregistered(self, name, timeout=10.0):
        deadline = time.monotonic() + timeout
        while name in self.names():
            assert time.monotonic() < deadline, f"{name} still registered after {timeout}s"
            time.sleep(0.02)


@pytest.fixture
def containers(procs, machined, busybox_tree, spawn_bin):
    return Containers(procs, machined, busybox_tree)


def register(machined, name, pid, service, cls, root=""):
    """CreateMachine through the API, for classes and services spawn does not use."""
    import dbus
    machined.manager().CreateMachine(name, dbus.Array([], signature="y"), service, cls, dbus.UInt32(pid), root,
                                     dbus.Array([], signature="(sv)"))


def table_rows(text):
    """Rows of a list table, header first, without the legend."""
    lines = text.split("\n")
    return [l.split() for l in lines[:lines.index("")]] if "" in lines else [l.split() for l in lines if l]


def wait_exit(p, timeout=15):
    try:
        return p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"spawn {p.args} did not exit within {timeout}s")


class PtyRun:
    """Our machinectl on a fresh pseudo terminal (its controlling tty), like a user's terminal."""

    def __init__(self, procs, args, env, rows=30, cols=100):
        self.master, self.slave = os.openpty()
        procs.fds += [self.master, self.slave]
        set_winsize(self.slave, rows, cols)
        self.saved = termios.tcgetattr(self.slave)

        def make_ctty():
            import fcntl
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        self.proc = procs.track(subprocess.Popen([str(MACHINECTL), *args], stdin=self.slave, stdout=self.slave,
                                                 stderr=self.slave, start_new_session=True, preexec_fn=make_ctty,
                                                 env=env))
        self.out = b""

    def read_some(self, timeout=0.2):
        r, _, _ = select.select([self.master], [], [], timeout)
        if r:
            try:
                self.out += os.read(self.master, 65536)
            except OSError as e:
                if e.errno != errno.EIO:
                    raise

    def expect(self, pattern, timeout=15):
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while not rx.search(self.out):
            assert time.monotonic() < deadline, f"{pattern!r} not seen within {timeout}s; got {self.out!r}"
            self.read_some()
        return rx.search(self.out)

    def send(self, data):
        os.write(self.master, data)

    def wait(self, timeout=15):
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None:
            assert time.monotonic() < deadline, f"machinectl did not exit; got {self.out!r}"
            self.read_some(0.05)
        self.read_some(0.1)
        return self.proc.returncode


# ---------------------------------------------------------------------------------------------
# command line

def test_help_version_and_usage_errors(mctl_bin):
    c = Ctl(None)
    out = c.ok("--help")
    for verb in ("list", "status", "show", "terminate", "poweroff", "reboot", "kill", "login", "shell",
                 "list-images", "image-status", "start", "stop", "enable", "disable"):
        assert re.search(rf"^  {verb}\b", out, re.M), verb
    assert re.fullmatch(r"berth machinectl \S+\n", c.ok("--version"))
    for args, needle in [(["frobnicate"], "Unknown command verb 'frobnicate'"),
                         (["status"], "Too few arguments"),
                         (["list", "extra"], "Too many arguments"),
                         (["-H", "root@host", "list"], "-H/--host= is not supported"),
                         (["-M", "-foo-", "list"], "Invalid machine name '-foo-'"),
                         (["--kill-whom=everybody", "kill", "x"], "--kill-whom="),
                         (["--signal=SIGFOO", "kill", "x"], "Invalid signal 'SIGFOO'"),
                         (["--json=yaml", "list"], "--json="),
                         (["-o", "xml", "list"], "Invalid output mode"),
                         (["--json=short", "terminate", "x"], "no JSON output"),
                         (["--bogus"], "Invalid option --bogus"),
                         (["-n", "many", "status", "x"], "Invalid --lines= value 'many'"),
                         (["--lines=-1", "status", "x"], "Invalid --lines= value")]:
        cp = c.run(*args)
        assert cp.returncode == 1 and cp.stdout == "", describe(cp)
        assert len(cp.stderr.splitlines()) == 1 and needle in cp.stderr, describe(cp)
    # --output=help lists the modes -o takes, as systemd's machinectl does.
    cp = c.run("--output=help")
    assert cp.returncode == 0 and cp.stdout.split() == [
        "short", "short-iso", "short-iso-precise", "short-precise", "short-monotonic", "short-unix", "verbose", "export",
        "json", "json-pretty", "cat"], describe(cp)


def test_no_machined_on_the_bus(mctl_bin, machined_bus):
    cp = Ctl(None).run("list", env=machined_bus.env())
    assert cp.returncode == 1, describe(cp)
    assert cp.stderr == "machinectl: machined is not running: org.freedesktop.machine1 is not on the system bus.\n"
    cp = Ctl(None).run("list", env=base_env(DBUS_SYSTEM_BUS_ADDRESS="unix:path=/nonexistent/bus"))
    assert cp.returncode == 1 and "Failed to connect to the system bus" in cp.stderr, describe(cp)


# ---------------------------------------------------------------------------------------------
# list, status, show, JSON

def test_list_shows_class_service_os(ctl, containers, machined_leaders):
    assert ctl.ok("list") == "No machines.\n"
    assert ctl.ok("list", "--no-legend") == ""
    assert json.loads(ctl.ok("list", "-o", "json")) == []

    _, name, leader = containers.start("bb-spawned")
    _, other = machined_leaders.start()
    register(ctl.machined, "api-vm", other, "qemu-ish", "vm")
    out = ctl.ok("list")
    rows = table_rows(out)
    assert rows[0] == ["MACHINE", "CLASS", "SERVICE", "OS", "VERSION", "ADDRESSES"], out
    # A VM's os-release cannot be read from the host: an empty cell.
    assert rows[1:] == [["api-vm", "vm", "qemu-ish", "-", "-", "-"],
                        ["bb-spawned", "container", "berth", "busybox-test", "1", "-"]], out
    assert out.endswith("\n\n2 machines listed.\n"), out
    # Columns are aligned: every field starts where its header does.
    lines = out.splitlines()
    for h in ("CLASS", "SERVICE", "OS", "VERSION", "ADDRESSES"):
        col = lines[0].index(h)
        assert all(line[col - 1] == " " and line[col] != " " for line in lines[1:3]), (h, out)
    assert ctl.ok("list", "--no-legend", "--no-pager").splitlines() == [
        "api-vm     vm        qemu-ish -            - -",
        "bb-spawned container berth    busybox-test 1 -"]

    # --all adds the hidden ones: the host itself as ".host", of class host, as systemd's.
    out_all = ctl.ok("list", "--all")
    rows_all = table_rows(out_all)
    assert rows_all[1][:3] == [".host", "host", "-"] and rows_all[2:] == rows[1:], out_all
    assert out_all.endswith("\n\n3 machines listed.\n"), out_all
    status = ctl.ok("status", ".host")
    assert status.startswith(".host") and re.search(r"^\s+Leader: 1\b", status, re.M), status
    assert re.search(r"^\s+Root: /$", status, re.M) and re.search(r"^\s+Class: host$", status, re.M), status
    # A shell on the host, with the host's root.
    with open("/etc/machine-id") as f:
        host_id = f.read().strip()
    assert ctl.ok("shell", ".host", "/bin/cat", "/etc/machine-id").strip() == host_id
    cp = ctl.run("terminate", ".host")
    assert cp.returncode == 1 and len(cp.stderr.splitlines()) == 1 and "host" in cp.stderr, describe(cp)

    # JSON: systemd's keys, null for what is empty.
    for args in (["-o", "json"], ["--output=json"], ["--json=short"], ["--json=pretty"], ["-o", "json-pretty"]):
        text = ctl.ok("list", *args)
        assert ("\n  " in text) == ("pretty" in " ".join(args)), text
        data = json.loads(text)
        assert data == [
            {"machine": "api-vm", "class": "vm", "service": "qemu-ish", "os": None, "version": None,
             "addresses": None},
            {"machine": "bb-spawned", "class": "container", "service": "berth", "os": "busybox-test",
             "version": "1", "addresses": None}], text


def test_list_addresses_of_a_private_network(ctl, containers):
    # With only loopback there is nothing to show, but the machine has private networking.
    _, name, leader = containers.start(None, "--private-network")
    row = [r for r in table_rows(ctl.ok("list")) if r[0] == name][0]
    assert row[-1] == "-"
    assert json.loads(ctl.ok("list", "--json=short"))[0]["addresses"] is None
    # Addresses added inside (on a veth pair: loopback addresses are not reported) show up: the
    # first one, then an ellipsis for more.
    for cmd in (["link", "add", "v0", "type", "veth", "peer", "name", "v1"], ["addr", "add", "10.23.0.2/24", "dev", "v0"],
                ["addr", "add", "10.23.0.3/24", "dev", "v0"]):
        subprocess.run(["nsenter", "-t", str(leader), "-n", "ip", *cmd], check=True, timeout=DEFAULT_TIMEOUT)
    row = [r for r in table_rows(ctl.ok("list")) if r[0] == name][0]
    assert re.fullmatch(r"10\.23\.0\.2(…|\.\.\.)", row[-1]), row
    assert "10.23.0.2 10.23.0.3" in ctl.ok("list", "--max-addresses=all")
    assert json.loads(ctl.ok("list", "--json=short"))[0]["addresses"] == ["10.23.0.2", "10.23.0.3"]
    out = ctl.ok("status", name)
    assert re.search(r"^\s+Address: 10\.23\.0\.2\n\s+10\.23\.0\.3$", out, re.M), out


def test_status_properties_and_process_tree(ctl, containers, busybox_tree):
    token = f"tok{uuid.uuid4().hex[:8]}"
    p, name, leader = containers.start("treetop", command=("hang", token, "2"))
    out = ctl.ok("status", name, env=ctl.env(COLUMNS="400"))
    # -n/--lines (journal lines, as systemd's) is accepted.
    assert ctl.ok("status", "-n", "5", name, env=ctl.env(COLUMNS="400")).splitlines()[2:5] == out.splitlines()[2:5]
    assert ctl.ok("status", "--lines=0", name, env=ctl.env(COLUMNS="400")).splitlines()[0] == out.splitlines()[0]
    lines = out.splitlines()
    props = ctl.machined.properties(f"{MANAGER_PATH}/machine/treetop")
    assert lines[0] == f"treetop({props['Id'].hex()})", out
    assert re.search(r"^\s+Since: \w{3} \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \S+; (\d+(ms|s|min \d+s)|now) ago$", out, re.M), out
    for needle in (f"Leader: {leader} (", "Service: berth; class container", f"Root: {busybox_tree}",
                   "OS: BusyBox test tree", "Unit: machine-treetop.scope"):
        assert re.search(rf"^\s+{re.escape(needle)}", out, re.M), (needle, out)
    # The process tree: the leader and its two children, read from the scope's cgroup.
    tree = [l for l in lines if re.match(r"^ {18}(├─|└─|\|-|`-)", l)]
    pids = [int(re.match(r"^ {18}\S+?(\d+) ", l).group(1)) for l in tree]
    children = [c for c in descendants_of(leader)]
    assert sorted(pids) == sorted([leader] + children) and len(children) == 2, out
    assert all(token in l for l in tree if int(re.match(r"^ {18}\S+?(\d+) ", l).group(1)) in children), out
    assert re.match(r"^ {18}(└─|`-)", tree[-1]), out
    # A shell opened in the machine joins its cgroup and shows up in the tree as well.
    sh = subprocess.Popen([str(MACHINECTL), "shell", name, "/bin/sh", "-c", "echo started; exec sleep 123"],
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ctl.env())
    try:
        assert sh.stdout.readline() == b"started\n"
        assert "sleep 123" in ctl.ok("status", name)
    finally:
        sh.kill()
        sh.wait(timeout=10)

    # JSON: the properties plus OS, addresses and processes.
    data = json.loads(ctl.ok("status", name, "--json=short"))
    assert data["Name"] == "treetop" and data["Leader"] == leader and data["Class"] == "container"
    assert data["Id"] == props["Id"].hex() and data["Unit"] == "machine-treetop.scope"
    assert data["OSRelease"]["ID"] == "busybox-test" and data["UIDShift"] == 0
    assert {pr["pid"] for pr in data["Processes"]} >= {leader, *children}
    assert all(pr["cgroup"].startswith("/") for pr in data["Processes"])
    # Several machines: an array.
    _, name2, _ = containers.start()
    data = json.loads(ctl.ok("status", name, name2, "-o", "json-pretty"))
    assert [d["Name"] for d in data] == ["treetop", name2]
    # Text for several machines: separated by an empty line.
    out = ctl.ok("status", name, name2)
    assert f"\n\n{name2}(" in out


def test_status_on_a_terminal_cuts_lines_and_colors(ctl, containers, procs):
    token = "x" * 300
    _, name, leader = containers.start(None, command=("hang", token, "1"))
    env = ctl.env(COLUMNS="80")
    for k in ("NO_COLOR", "SYSTEMD_COLORS"):
        env.pop(k, None)
    run = PtyRun(procs, ["status", name], env, cols=80)
    assert run.wait() == 0
    text = run.out.decode(errors="replace")
    assert "\x1b[" in text, "colors on a terminal"
    assert all(len(re.sub(r"\x1b\[[0-9;]*m", "", l)) <= 80 for l in text.split("\r\n")), text
    run = PtyRun(procs, ["status", name], dict(env, NO_COLOR="1"), cols=80)
    assert run.wait() == 0 and b"\x1b[" not in run.out, run.out
    run = PtyRun(procs, ["--full", "status", name], dict(env, NO_COLOR="1"), cols=80)
    assert run.wait() == 0 and token.encode() in run.out
    run = PtyRun(procs, ["list"], env, cols=80)
    assert run.wait() == 0 and b"\x1b[0;4mMACHINE" in run.out, run.out


def test_show(ctl, containers):
    _, name, leader = containers.start("shown")
    shown = dict(l.split("=", 1) for l in ctl.ok("show", name).splitlines())
    assert shown["Name"] == "shown" and shown["Class"] == "container" and shown["Service"] == "berth"
    assert shown["Leader"] == str(leader) and shown["Unit"] == "machine-shown.scope" and shown["State"] == "running"
    assert re.fullmatch(r"[0-9a-f]{32}", shown["Id"]) and re.match(r"\w{3} \d{4}-", shown["Timestamp"])
    assert "Subgroup" not in shown and "SSHAddress" not in shown  # empty: only with --all
    everything = dict(l.split("=", 1) for l in ctl.ok("show", "--all", name).splitlines())
    assert everything["Subgroup"] == "" and set(shown) < set(everything)
    assert ctl.ok("show", name, "-p", "Name", "-p", "Leader") == f"Name=shown\nLeader={leader}\n"
    assert ctl.ok("show", name, "--property=Leader,Name") == f"Name=shown\nLeader={leader}\n"
    assert ctl.ok("show", name, "-P", "Leader") == f"{leader}\n"
    assert ctl.ok("show", name, "--value", "-p", "Class") == "container\n"
    assert ctl.ok("show", name, "-p", "Subgroup") == "Subgroup=\n"  # asked for: shown even if empty
    manager = dict(l.split("=", 1) for l in ctl.ok("show").splitlines())
    assert manager["PoolPath"] == str(ctl.machined.pool)
    assert json.loads(ctl.ok("show", name, "--json=short", "-p", "Name,Leader")) == {"Name": "shown", "Leader": leader}
    data = json.loads(ctl.ok("show", "-o", "json"))
    assert data["PoolPath"] == str(ctl.machined.pool)


def test_images(ctl):
    img = ctl.machined.pool / "img1"
    (img / "etc").mkdir(parents=True)
    (img / "etc" / "os-release").write_text('ID=imgos\nVERSION_ID=3\nPRETTY_NAME="Image OS"\n')
    (img / "etc" / "hostname").write_text("imghost\n")
    (img / "etc" / "machine-id").write_text("0123456789abcdef0123456789abcdef\n")
    (ctl.machined.pool / "disk.raw").write_bytes(b"\0" * 4096)
    out = ctl.ok("list-images")
    rows = table_rows(out)
    assert rows[0] == ["NAME", "TYPE", "RO", "USAGE", "CREATED", "MODIFIED"]
    assert [r[:3] for r in rows[1:]] == [["disk", "raw", "no"], ["img1", "directory", "no"]], out
    assert out.endswith("\n\n2 images listed.\n")
    assert ".host" in ctl.ok("list-images", "--all")
    data = json.loads(ctl.ok("list-images", "--json=short"))
    assert [(d["name"], d["type"], d["ro"]) for d in data] == [("disk", "raw", False), ("img1", "directory", False)]
    assert all(isinstance(d["modified"], int) and d["modified"] > 0 for d in data)

    out = ctl.ok("image-status", "img1")
    assert out.startswith("img1\n")
    for needle in ("Type: directory", f"Path: {img}", "Hostname: imghost", "Machine ID: 0123456789abcdef0123456789abcdef",
                   "OS: Image OS", "RO: writable"):
        assert re.search(rf"^\s+{re.escape(needle)}$", out, re.M), (needle, out)
    data = json.loads(ctl.ok("image-status", "img1", "-o", "json"))
    assert data["Name"] == "img1" and data["Hostname"] == "imghost" and data["OSRelease"]["ID"] == "imgos"
    assert dict(l.split("=", 1) for l in ctl.ok("show-image", "img1").splitlines())["Type"] == "directory"
    cp = ctl.run("image-status", "nope")
    assert cp.returncode == 1 and cp.stderr == "machinectl: No image 'nope' known.\n", describe(cp)
    # Without a name: every image, the hidden .host only with --all.
    out = ctl.ok("image-status")
    assert re.findall(r"^(\S+)$", out, re.M) == ["disk", "img1"], out
    assert "OS: Image OS" in out
    assert re.findall(r"^(\S+)$", ctl.ok("image-status", "--all"), re.M) == [".host", "disk", "img1"]
    data = json.loads(ctl.ok("image-status", "-o", "json"))
    assert [d["Name"] for d in data] == ["disk", "img1"]


def test_image_status_partitions(ctl, busybox_tree):
    from image_fixtures import HOME, MiB, ROOT_X86_64, make_image
    make_image(ctl.machined.pool / "dps.raw", [
        {"type": ROOT_X86_64, "size": 12 * MiB, "tree": busybox_tree, "name": "os_1"},
        {"type": HOME, "size": 4 * MiB, "attrs": (60,)},
    ])
    out = ctl.ok("image-status", "dps")
    assert re.search(r"^\s+Partitions: root ext4 x86-64 12\.0M rw os_1$", out, re.M), out
    assert re.search(r"^\s+: home ext4 4\.0M ro$", out, re.M), out
    # hostname, machine-id and os-release come out of the image, mounted read-only by machined.
    assert re.search(r"^\s+OS: BusyBox test tree$", out, re.M), out
    data = json.loads(ctl.ok("image-status", "dps", "-o", "json"))
    parts = {p["designator"]: p for p in data["Partitions"]}
    assert parts["root"]["fstype"] == "ext4" and parts["root"]["partno"] == 1 and parts["home"]["rw"] is False


# ---------------------------------------------------------------------------------------------
# terminate, kill, poweroff, reboot: what they do and that the registry follows

def test_terminate(ctl, containers):
    p, name, leader = containers.start()
    _, keep, keep_leader = containers.start()
    ctl.ok("terminate", name)
    containers.wait_unregistered(name)
    assert wait_gone(leader)
    wait_exit(p)
    assert keep in containers.names() and name not in ctl.ok("list")
    cp = ctl.run("status", name)
    assert cp.returncode == 1 and NO_SUCH_MACHINE.match(cp.stderr.strip()).group("name") == name, describe(cp)


def test_kill_signals_and_whom(ctl, containers):
    # Default: SIGTERM to all processes; a PID 1 only gets the signals it handles.
    p, name, _ = containers.start(None, command=("trap", "TERM", "0"))
    ctl.ok("kill", name)
    assert wait_exit(p) == 0
    containers.wait_unregistered(name)

    # --signal and --kill-whom=leader: only the leader gets it.
    p, name, leader = containers.start(None, command=("trap", "USR1", "3"))
    ctl.ok("kill", "--kill-whom=leader", "--signal=SIGUSR1", name)
    assert wait_exit(p) == 3
    containers.wait_unregistered(name)
    p, name, leader = containers.start(None, command=("trap", "USR2", "4"))
    ctl.ok("kill", name, "-s", "USR2", "--kill-whom", "leader")
    assert wait_exit(p) == 4

    # A signal nobody handles leaves the machine alone.
    p, name, leader = containers.start(None, command=("trap", "USR1", "3"))
    ctl.ok("kill", "-s", "HUP", "--kill-whom=leader", name)
    time.sleep(0.3)
    assert p.poll() is None and name in containers.names()
    ctl.ok("kill", "-s", "KILL", name)
    containers.wait_unregistered(name)


def test_poweroff_and_reboot(ctl, containers):
    # poweroff is SIGRTMIN+4 to the leader (a systemd PID 1 powers off), reboot SIGINT.
    p, name, _ = containers.start(None, command=("trap", "RTMIN+4", "0"))
    ctl.ok("poweroff", name)
    assert wait_exit(p) == 0
    containers.wait_unregistered(name)
    p, name, _ = containers.start(None, command=("trap", "INT", "5"))
    ctl.ok("reboot", name)
    assert wait_exit(p) == 5
    containers.wait_unregistered(name)
    # Several at once.
    started = [containers.start(None, command=("trap", "RTMIN+4", "0")) for _ in range(3)]
    ctl.ok("poweroff", *[s[1] for s in started])
    for p, name, _ in started:
        assert wait_exit(p) == 0
        containers.wait_unregistered(name)


def test_unknown_machines(ctl, containers):
    _, name, leader = containers.start()
    for verb in ("status", "show", "terminate", "poweroff", "reboot", "kill", "login", "shell"):
        cp = ctl.run(verb, "nope")
        assert cp.returncode == 1 and cp.stdout == "", describe(cp)
        assert cp.stderr == "machinectl: No machine 'nope' known.\n", describe(cp)
    # Every name is tried; the failure of one does not stop the others, but decides the exit status.
    p2, other, _ = containers.start(None, command=("trap", "RTMIN+4", "0"))
    cp = ctl.run("poweroff", "nope", other)
    assert cp.returncode == 1 and "nope" in cp.stderr, describe(cp)
    assert wait_exit(p2) == 0
    cp = ctl.run("status", name, "nope2")
    assert cp.returncode == 1 and cp.stdout.startswith(name) and "'nope2'" in cp.stderr
    assert name in containers.names()


@pytest.mark.parametrize("uid,refused_by", [(NOBODY, "machined"), (STRANGER, "bus policy")])
def test_other_users(ctl, containers, uid, refused_by):
    p, name, leader = containers.start()
    # Reading is for everybody.
    cp = ctl.run("list", uid=uid)
    assert cp.returncode == 0 and name in cp.stdout, describe(cp)
    cp = ctl.run("status", name, uid=uid)
    assert cp.returncode == 0 and f"Leader: {leader}" in cp.stdout, describe(cp)
    cp = ctl.run("show", name, "-p", "Name", uid=uid)
    assert cp.returncode == 0 and cp.stdout == f"Name={name}\n", describe(cp)
    # Anything else is refused, with one line naming what was refused.
    for args in (["terminate", name], ["kill", name], ["poweroff", name], ["reboot", name], ["login", name],
                 ["shell", name, "/bin/true"]):
        cp = ctl.run(*args, uid=uid)
        assert cp.returncode == 1, describe(cp)
        assert len(cp.stderr.splitlines()) == 1 and name in cp.stderr, describe(cp)
        assert ("only root may do this" if refused_by == "machined" else "Rejected send message") in cp.stderr, describe(cp)
    assert p.poll() is None and name in containers.names()


# ---------------------------------------------------------------------------------------------
# shell and login

def test_shell_exit_status(ctl, containers):
    _, name, _ = containers.start()
    for script, status in (("exit 7", 7), ("exit 0", 0), ("true", 0), ("exit 255", 255), ("kill -TERM $$", 128 + 15),
                           ("kill -KILL $$", 128 + 9)):
        cp = ctl.run("shell", name, "/bin/sh", "-c", script)
        assert cp.returncode == status, (script, describe(cp))
    cp = ctl.run("shell", name, "/nonexistent")
    assert cp.returncode == 1 and "/nonexistent" in cp.stderr, describe(cp)


def test_shell_output_users_environment_and_input(ctl, containers):
    _, name, _ = containers.start()
    # Into a pipe comes exactly what the command wrote: no context sequences, and the pty's
    # "\n" → "\r\n" undone.
    cp = ctl.run("shell", name, "/bin/echo", "hello", "world")
    assert cp.returncode == 0 and cp.stdout == "hello world\n", describe(cp)
    cp = ctl.run("shell", name, "/bin/sh", "-c", "printf 'a\\r\\nb\\rc'; exit 2")
    assert cp.returncode == 2 and cp.stdout == "a\r\nb\rc", describe(cp)
    # Options after the machine name belong to the command.
    cp = ctl.run("shell", name, "/bin/ls", "-d", "/etc")
    assert cp.stdout == "/etc\n", describe(cp)
    # Users: USER@NAME, --uid, root by default.
    assert ctl.ok("shell", f"tester@{name}", "/bin/sh", "-c", "id -un") == "tester\n"
    assert ctl.ok("shell", "--uid=tester", name, "/bin/sh", "-c", "echo $HOME") == "/home/tester\n"
    assert ctl.ok("shell", name, "/bin/sh", "-c", "id -u") == "0\n"
    cp = ctl.run("shell", f"nosuchuser@{name}", "/bin/true")
    assert cp.returncode == 1 and "nosuchuser" in cp.stderr, describe(cp)
    # Environment: -E, and TERM from ours.
    out = ctl.ok("shell", "-E", "FOO=bar", "--setenv=BAZ", name, "/bin/sh", "-c", 'echo "$FOO:$BAZ:$TERM"',
                 env=ctl.env(BAZ="from-host", TERM="vt100"))
    assert out == "bar:from-host:vt100\n"
    # Input from a pipe, and its end reaching the shell as end of input.
    cp = ctl.run("shell", name, input="echo piped-$((6*7))\nexit 3\n")
    assert cp.returncode == 3 and "piped-42" in cp.stdout, describe(cp)
    cp = ctl.run("shell", name, "/bin/cat", input="line one\nline two")
    assert cp.returncode == 0 and "line two" in cp.stdout, describe(cp)


def test_shell_on_a_terminal(ctl, containers, procs):
    _, name, _ = containers.start()
    run = PtyRun(procs, ["shell", name], ctl.env())
    run.expect(rb"Connected to machine " + name.encode())
    run.expect(rb"# ")
    run.send(b"stty size; echo $((40+2)); exit 9\r")
    run.expect(rb"30 100")
    assert run.wait() == 9
    assert b"42" in run.out and b"Connection to machine " + name.encode() + b" terminated." in run.out
    # On a terminal the context sequences pass through; the terminal is restored afterwards.
    assert re.search(rb"\x1b\]3008;end=[0-9a-f]+;exit=failure;status=9\x1b\\", run.out), run.out
    assert termios.tcgetattr(run.slave) == run.saved
    # -q: no chatter.
    run = PtyRun(procs, ["-q", "shell", name, "/bin/sh", "-c", "exit 4"], ctl.env())
    assert run.wait() == 4 and b"Connected" not in run.out


def test_login_reaches_a_prompt(ctl, containers, procs):
    _, name, _ = containers.start()
    run = PtyRun(procs, ["login", name], ctl.env())
    run.expect(rb"Connected to machine " + name.encode() + rb"\. Press \^\] three times within 1s to exit session\.")
    run.expect(name.encode() + rb" login: ")
    # The terminal is raw while connected: our keystrokes go to the machine unprocessed.
    lflag = termios.tcgetattr(run.slave)[3]
    assert not lflag & (termios.ICANON | termios.ECHO)
    run.send(b"root\r")
    run.expect(rb"# ")
    run.send(b"echo in-$((2*21))\r")
    run.expect(rb"in-42")
    run.send(b"\x1d\x1d\x1d")
    assert run.wait() == 0
    assert b"Connection to machine " + name.encode() + b" terminated." in run.out
    assert termios.tcgetattr(run.slave) == run.saved


# ---------------------------------------------------------------------------------------------
# systemd's machinectl sees the same

def test_same_list_as_systemd_machinectl(ctl, containers, machined_leaders):
    containers.start("alpha")
    containers.start("beta", "--private-network")
    _, other = machined_leaders.start()
    register(ctl.machined, "gamma", other, "other-svc", "vm", "/srv/gamma")
    img = ctl.machined.pool / "pooled"
    (img / "etc").mkdir(parents=True)
    (img / "etc" / "os-release").write_text("ID=pooled\n")

    bus = ctl.machined.bus
    for args in (["list"], ["list", "--no-legend"], ["list", "--all"], ["list-images"], ["list-images", "--all"],
                 ["show", "alpha"], ["show", "gamma"], ["show"], ["show", "-p", "Leader", "-p", "Name", "alpha"]):
        theirs = machinectl(bus, *args)
        assert theirs.returncode == 0, theirs.stderr
        ours = ctl.run(*args)
        assert ours.returncode == 0, describe(ours)
        assert ours.stdout == theirs.stdout, (args, ours.stdout, theirs.stdout)
    theirs = json.loads(machinectl(bus, "list", "-o", "json").stdout)
    assert json.loads(ctl.ok("list", "-o", "json")) == theirs
    # The status header lines read the same as well (systemd's adds its journal and unit tree).
    def header(text):
        return [re.sub(r"; .* ago$", "", l) for l in text.splitlines() if not l.startswith(" " * 18)][:7]
    assert header(ctl.ok("status", "alpha")) == header(machinectl(bus, "status", "alpha").stdout)
    # After a terminate through ours, theirs no longer lists it.
    ctl.ok("terminate", "beta")
    containers.wait_unregistered("beta")
    assert "beta" not in machinectl(bus, "list").stdout


# ---------------------------------------------------------------------------------------------
# start, stop, enable, disable (io.berth.Machined1)

def _has_berth_interface(machined):
    obj = machined.connection().get_object(BUS_NAME, MANAGER_PATH, introspect=False)
    return f'interface name="{BERTH_IFACE}"' in str(obj.Introspect(dbus_interface="org.freedesktop.DBus.Introspectable"))


def test_start_stop_enable_disable(ctl, busybox_tree):
    pool_img = ctl.machined.pool / "pooled"
    subprocess.run(["cp", "-a", str(busybox_tree), str(pool_img)], check=True, timeout=120)
    cp = ctl.run("start", "nope-image")
    assert cp.returncode == 1 and len(cp.stderr.splitlines()) == 1 and "nope-image" in cp.stderr, describe(cp)

    if not _has_berth_interface(ctl.machined):
        # The client side is done; the message must say what is missing.
        for verb in ("start", "stop", "enable", "disable"):
            cp = ctl.run(verb, "pooled")
            assert cp.returncode == 1, describe(cp)
            assert f"does not provide {BERTH_IFACE}." in cp.stderr and "'pooled'" in cp.stderr, describe(cp)
        pytest.xfail(f"machined does not implement {BERTH_IFACE} (StartImage/StopImage/EnableImage/DisableImage) yet")

    try:
        ctl.ok("start", "pooled")
        # Registered by the time start returns, booted with the image's init.
        rows = table_rows(ctl.ok("list"))
        assert ["pooled", "container"] == rows[1][:2], rows
        cp = ctl.run("start", "pooled")
        assert cp.returncode == 1 and "pooled" in cp.stderr, describe(cp)
        ctl.ok("stop", "pooled")
        assert "pooled" not in ctl.ok("list")

        # enable: started whenever machined starts.
        ctl.ok("enable", "pooled")
        assert "pooled" not in ctl.ok("list")
        ctl.machined.stop()
        ctl.machined.start()
        deadline = time.monotonic() + 30
        while "pooled" not in ctl.ok("list", "--no-legend"):
            assert time.monotonic() < deadline, "enabled image was not started with machined"
            time.sleep(0.1)
        ctl.ok("disable", "--now", "pooled")
        assert "pooled" not in ctl.ok("list")
        ctl.machined.stop()
        ctl.machined.start()
        time.sleep(2)
        assert "pooled" not in ctl.ok("list")
        ctl.ok("enable", "--now", "pooled")
        assert "pooled" in ctl.ok("list")
        ctl.ok("disable", "--now", "pooled")
    finally:
        ctl.run("stop", "pooled")


# ---------------------------------------------------------------------------------------------
# a booted Debian

def test_booted_debian(ctl, bookworm, boot, procs):
    b = boot(bookworm, "--register=yes", "--machine=deb", env_extra={"DBUS_SYSTEM_BUS_ADDRESS": ctl.machined.bus.address})
    b.wait_ready()
    init = b.init_pid()
    out = ctl.ok("list")
    assert ["deb", "container", "berth", "debian", "12", "-"] in table_rows(out), out

    out = ctl.ok("status", "deb", env=ctl.env(COLUMNS="400"))
    assert re.search(rf"^\s+Leader: {init} \(systemd\)$", out, re.M), out
    assert re.search(r"^\s+OS: Debian GNU/Linux 12 \(bookworm\)$", out, re.M), out
    # systemd's own cgroups below the scope: init.scope, system.slice with its services.
    assert re.search(r"(├─|└─|\|-|`-)init\.scope$", out, re.M), out
    assert re.search(r"(├─|└─|\|-|`-)systemd-journald\.service$", out, re.M), out
    assert re.search(rf"(├─|└─|\|-|`-){init} /\S*(init|systemd)\b", out), out

    assert ctl.run("shell", "deb", "/bin/sh", "-c", "exit 7").returncode == 7
    assert ctl.ok("shell", "deb", "/bin/cat", "/etc/debian_version").startswith("12.")

    # Debian's own login prompt.
    run = PtyRun(procs, ["login", "deb"], ctl.env())
    run.expect(rb"\S+ login: ", timeout=30)
    run.send(b"\x1d\x1d\x1d")
    assert run.wait() == 0

    # reboot: the guest reboots, spawn exits 133 (no --restart-on-reboot) and the registry follows.
    ctl.ok("reboot", "deb")
    assert b.exit_code(timeout=90) == 133, b.output()[-3000:]
    deadline = time.monotonic() + 10
    while "deb" in ctl.ok("list", "--no-legend"):
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_booted_debian_poweroff(ctl, bookworm, boot):
    b = boot(bookworm, "--register=yes", "--machine=deb2", env_extra={"DBUS_SYSTEM_BUS_ADDRESS": ctl.machined.bus.address})
    b.wait_ready()
    ctl.ok("poweroff", "deb2")
    assert b.exit_code(timeout=90) == 0, b.output()[-3000:]
    assert "deb2" not in ctl.ok("list", "--no-legend")


def wait_runlevel_2(b, timeout=90):
    """sysvinit's rc (or OpenRC run by it) is done once runlevel reports 2."""
    deadline = time.monotonic() + timeout
    level = ""
    while time.monotonic() < deadline:
        level = b.run("runlevel", check=False).strip()
        if level.endswith(" 2"):
            return
        time.sleep(0.2)
    raise AssertionError(f"runlevel {level!r}; output:\n{b.output()[-3000:]}")


@pytest.mark.parametrize("kind", ["sysv", "openrc"])
def test_booted_inittab_guest_poweroff(ctl, kind, overlay_of, boot, request):
    # sysvinit ignores SIGRTMIN+4: machined hands poweroff to spawn, which asks for runlevel 0.
    tree = overlay_of(request.getfixturevalue(f"{kind}_cache"), kind)
    name = f"poweroff-{kind}"
    b = boot(tree, "--register=yes", f"--machine={name}", notify_ready=False,
             env_extra={"DBUS_SYSTEM_BUS_ADDRESS": ctl.machined.bus.address})
    wait_runlevel_2(b)
    ctl.ok("poweroff", name)
    assert b.exit_code(timeout=90) == 0, b.output()[-3000:]
    assert name not in ctl.ok("list", "--no-legend")


# ---------------------------------------------------------------------------------------------
# copy-to, copy-from

def test_copy_to_and_from(ctl, containers, scratch):
    p, name, leader = containers.start()
    inside = Path(f"/proc/{leader}/root")
    src = scratch / "tree"
    (src / "sub").mkdir(parents=True)
    (src / "sub" / "f").write_text("payload\n")
    os.chmod(src / "sub" / "f", 0o640)
    os.symlink("sub/f", src / "link")

    ctl.ok("copy-to", name, str(src), "/tmp/copied")
    assert (inside / "tmp/copied/sub/f").read_text() == "payload\n"
    assert os.stat(inside / "tmp/copied/sub/f").st_mode & 0o7777 == 0o640
    assert os.readlink(inside / "tmp/copied/link") == "sub/f"

    # Onto something that exists: refused without --force, replaced with it.
    cp = ctl.run("copy-to", name, str(src / "sub" / "f"), "/tmp/copied")
    assert cp.returncode == 1 and len(cp.stderr.splitlines()) == 1 and "exists" in cp.stderr, describe(cp)
    assert (inside / "tmp/copied/sub/f").exists()
    ctl.ok("copy-to", "--force", name, str(src / "sub" / "f"), "/tmp/copied")
    assert (inside / "tmp/copied").read_text() == "payload\n"

    ctl.ok("copy-from", name, "/tmp/copied", str(scratch / "back"))
    assert (scratch / "back").read_text() == "payload\n"
    ctl.ok("copy-from", name, "/etc/os-release", str(scratch / "osr"))
    assert "busybox-test" in (scratch / "osr").read_text()

    # Bad input: a missing source, a relative path in the machine; nothing left behind.
    for args, needle in ((["copy-from", name, "/nope", str(scratch / "nope")], "/nope"),
                         (["copy-to", name, str(scratch / "missing"), "/tmp/missing"], "missing"),
                         (["copy-from", name, "tmp/copied", str(scratch / "rel")], "absolute")):
        cp = ctl.run(*args)
        assert cp.returncode == 1 and len(cp.stderr.splitlines()) == 1 and needle in cp.stderr, describe(cp)
    assert not (scratch / "nope").exists() and not (inside / "tmp/missing").exists()


def test_copy_stays_inside_the_machine(ctl, containers, scratch):
    """Paths in the machine are untrusted: a symlink or ".." there never leads to the host."""
    p, name, leader = containers.start()
    inside = Path(f"/proc/{leader}/root")
    secret = scratch / "secret"
    secret.mkdir()
    (secret / "key").write_text("host secret\n")
    os.symlink(str(secret), inside / "tmp/escape")  # absolute: the host's path, resolved in the machine
    (scratch / "f").write_text("x\n")

    for args in (["copy-from", name, "/tmp/escape/key", str(scratch / "stolen")],
                 ["copy-from", name, "/../../../../" + str(secret / "key"), str(scratch / "stolen")],
                 ["copy-to", name, str(scratch / "f"), "/tmp/escape/planted"],
                 ["copy-to", name, str(scratch / "f"), "/../../../../" + str(secret / "planted")]):
        cp = ctl.run(*args)
        assert cp.returncode == 1 and len(cp.stderr.splitlines()) == 1, describe(cp)
    assert not (scratch / "stolen").exists()
    assert sorted(os.listdir(secret)) == ["key"]

    # A symlink in a copied tree is copied as a symlink, not followed.
    os.mkdir(inside / "tmp/d")
    os.symlink(str(secret / "key"), inside / "tmp/d/k")
    ctl.ok("copy-from", name, "/tmp/d", str(scratch / "d"))
    assert os.path.islink(scratch / "d" / "k")


def test_copy_with_systemd_machinectl(ctl, containers, scratch):
    p, name, leader = containers.start()
    inside = Path(f"/proc/{leader}/root")
    (scratch / "in").write_text("from systemd's machinectl\n")
    cp = machinectl(ctl.machined.bus, "copy-to", name, str(scratch / "in"), "/tmp/in")
    assert cp.returncode == 0, cp.stderr
    assert (inside / "tmp/in").read_text() == "from systemd's machinectl\n"
    cp = machinectl(ctl.machined.bus, "copy-from", name, "/tmp/in", str(scratch / "out"))
    assert cp.returncode == 0, cp.stderr
    assert (scratch / "out").read_text() == "from systemd's machinectl\n"


# ---------------------------------------------------------------------------------------------
# bind

def test_bind(ctl, containers, scratch):
    p, name, leader = containers.start()
    inside = Path(f"/proc/{leader}/root")
    src = scratch / "shared"
    src.mkdir()
    (src / "f").write_text("bound\n")

    # Without --mkdir the destination must exist; nothing is created.
    cp = ctl.run("bind", name, str(src), "/tmp/mnt/deep")
    assert cp.returncode == 1 and len(cp.stderr.splitlines()) == 1 and "--mkdir" in cp.stderr, describe(cp)
    assert not (inside / "tmp/mnt").exists()

    ctl.ok("bind", "--mkdir", name, str(src), "/tmp/mnt/deep")
    assert (inside / "tmp/mnt/deep/f").read_text() == "bound\n"
    (inside / "tmp/mnt/deep/new").write_text("from the machine\n")
    assert (src / "new").read_text() == "from the machine\n"
    # The host never sees the mount.
    assert not os.path.ismount(src)

    ctl.ok("bind", "--mkdir", "--read-only", name, str(src), "/tmp/ro")
    with pytest.raises(OSError) as e:
        (inside / "tmp/ro/x").write_text("no\n")
    assert e.value.errno == errno.EROFS

    # A directory onto a file, a file onto a directory: refused, one line.
    (inside / "tmp/file").write_text("x")
    cp = ctl.run("bind", name, str(src), "/tmp/file")
    assert cp.returncode == 1 and len(cp.stderr.splitlines()) == 1 and "not a directory" in cp.stderr, describe(cp)
    cp = ctl.run("bind", name, str(src / "f"), "/tmp/ro")
    assert cp.returncode == 1 and len(cp.stderr.splitlines()) == 1, describe(cp)
    cp = ctl.run("bind", name, "relative", "/tmp/x")
    assert cp.returncode == 1 and "absolute" in cp.stderr, describe(cp)

    # A symlink in the machine pointing at a host path stays in the machine's root.
    os.symlink(str(scratch / "hostdir"), inside / "tmp/esc")
    ctl.run("bind", "--mkdir", name, str(src), "/tmp/esc/x")
    assert not (scratch / "hostdir").exists()

    # systemd's machinectl binds through the same method.
    cp = machinectl(ctl.machined.bus, "bind", "--mkdir", name, str(src), "/tmp/theirs")
    assert cp.returncode == 0, cp.stderr
    assert (inside / "tmp/theirs/f").read_text() == "bound\n"
