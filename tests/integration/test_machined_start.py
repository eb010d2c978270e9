# SPDX-License-Identifier: LGPL-2.1-or-later
"""io.berth.Machined1 (machinectl start/stop/enable/disable) on this host, whose PID 1 is not
systemd: machined boots busybox images of its pool with the real spawn, follows reboots, stops them,
starts enabled ones at daemon start and adopts running ones after a restart. The systemd path
(spawn@NAME.service) runs against a stand-in for systemd's manager on the private bus.

Every test uses its own machined (private bus, temporary state, runtime, pool, log and enabled
directories). Teardown stops what is left by PID: the spawn processes recorded in machined's
runtime directory and any process whose command line names the test's pool."""

import json
import os
import signal
import subprocess
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conftest import REPO, SPAWN, kill_pid, pids_with_token, proc_alive
from machined_fixtures import (MANAGER_IFACE, MANAGER_PATH, NOBODY, STRANGER, Machined, calls_as, dbus_error,
                               ensure_tool, machine_path, unwrap, wait_gone)

import dbus  # noqa: E402  (after machined_fixtures: its fixture installs python3-dbus if needed)

IFACE = "io.berth.Machined1"
ERR = "org.freedesktop.machine1."
ACCESS_DENIED = "org.freedesktop.DBus.Error.AccessDenied"
INVALID_ARGS = "org.freedesktop.DBus.Error.InvalidArgs"
CALL_TIMEOUT = 120  # the client (machinectl) waits up to 180 s

INITTAB = ("::sysinit:/bin/echo hello-from-the-guest-console\n"
           "::sysinit:/bin/touch /run/booted\n"
           "::respawn:/bin/sleep 1000\n")


# ---------------------------------------------------------------------------------------------
# fixtures and helpers

class Supervising:
    """machined with --log-dir, --enabled-dir and --spawn pointing into the test's directory."""

    def __init__(self, bus, directory, tree):
        self.m = Machined(bus, directory)
        self.tree = tree
        self.log_dir = Path(directory) / "log"
        self.enabled_dir = Path(directory) / "enabled"
        self.marker_dir = self.m.runtime_dir / "supervised"

    def options(self):
        return [f"--log-dir={self.log_dir}", f"--enabled-dir={self.enabled_dir}", f"--spawn={SPAWN}"]

    def start(self, *extra):
        return self.m.start(*self.options(), *extra)

    def restart(self):
        self.m.stop()
        self.m._conn = None  # the old connection saw the old owner go away; a fresh one is simplest
        return self.start()

    def api(self):
        return dbus.Interface(self.m.connection().get_object("org.freedesktop.machine1", MANAGER_PATH), IFACE)

    def image(self, name, inittab=INITTAB):
        """A busybox tree in the pool as NAME, booting busybox init with INITTAB."""
        dst = self.m.pool / name
        subprocess.run(["cp", "-a", str(self.tree), str(dst)], check=True, timeout=120)
        (dst / "etc" / "inittab").write_text(inittab)
        return dst

    def machines(self):
        # All but the host, which machined always lists as ".host".
        return {str(n): (str(c), str(s)) for n, c, s, _ in self.m.manager().ListMachines() if str(n) != ".host"}

    def leader(self, name):
        return int(self.m.properties(machine_path(name))["Leader"])

    def spawn_pid(self, name):
        """The PID machined recorded for the spawn of NAME."""
        text = (self.marker_dir / name).read_text()
        fields = dict(line.split("=", 1) for line in text.split())
        return int(fields["PID"])

    def log(self, name):
        p = self.log_dir / f"{name}.log"
        return p.read_text(errors="replace") if p.exists() else ""

    def cleanup(self):
        """Stop machined, then every spawn it left running (by PID): halt first, then SIGKILL."""
        self.m.stop()
        pids = set(pids_with_token(str(self.m.pool)))
        if self.marker_dir.is_dir():
            for f in self.marker_dir.iterdir():
                try:
                    pids.add(int(dict(line.split("=", 1) for line in f.read_text().split())["PID"]))
                except (OSError, KeyError, ValueError):
                    pass
        pids = {p for p in pids if proc_alive(p) and b"spawn" in _cmdline(p)}
        for p in pids:
            kill_pid(p, signal.SIGTERM)
        for p in pids:
            if not wait_gone(p, timeout=15):
                kill_pid(p)
                wait_gone(p, timeout=5)
        # Containers whose spawn was already gone (should not exist), by PID too.
        for p in pids_with_token(str(self.m.pool)):
            kill_pid(p)
        self.m.cleanup()


def _cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read()
    except OSError:
        return b""


@pytest.fixture
def supervising(machined_bin, machined_bus, busybox_tree, spawn_bin, _resources):
    s = Supervising(machined_bus, _resources.mkdtemp("machined-start"), busybox_tree)
    try:
        yield s
    finally:
        s.cleanup()
        print(f"--- machined log ---\n{s.m.log_text()[-20000:]}")
        for f in sorted(s.log_dir.glob("*.log")) if s.log_dir.is_dir() else []:
            print(f"--- {f.name} ---\n{f.read_text(errors='replace')[-4000:]}")


def wait_for(predicate, timeout=30.0, what="condition", interval=0.05):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout}s")
        time.sleep(interval)


def booted(leader):
    return os.path.exists(f"/proc/{leader}/root/run/booted")


# ---------------------------------------------------------------------------------------------
# the interface

def interface_model(xml_text, iface):
    root = ET.fromstring(xml_text)
    for i in root.iter("interface"):
        if i.get("name") == iface:
            return {m.get("name"): [(a.get("name"), a.get("type"), a.get("direction", "in")) for a in m.findall("arg")]
                    for m in i.findall("method")}, len(i.findall("property")), len(i.findall("signal"))
    raise AssertionError(f"interface {iface} not found")


def test_introspection_matches_interface_file(supervising):
    supervising.start()
    obj = supervising.m.connection().get_object("org.freedesktop.machine1", MANAGER_PATH, introspect=False)
    live = interface_model(str(obj.Introspect(dbus_interface="org.freedesktop.DBus.Introspectable")), IFACE)
    shipped = interface_model((REPO / "dbus-interfaces" / f"{IFACE}.xml").read_text(), IFACE)
    assert live == shipped, "live introspection differs from dbus-interfaces/io.berth.Machined1.xml"
    assert live[0] == {m: [("name", "s", "in")] for m in ("StartImage", "StopImage", "EnableImage", "DisableImage")}


def test_help_lists_options(machined_bin):
    cp = subprocess.run([str(machined_bin), "--help"], capture_output=True, text=True, timeout=30)
    for opt in ("--log-dir=", "--enabled-dir=", "--spawn="):
        assert opt in cp.stdout, cp.stdout
    cp = subprocess.run([str(machined_bin), "--log-dir=relative", "--no-varlink"], capture_output=True, text=True,
                        timeout=30, env={"DBUS_SYSTEM_BUS_ADDRESS": "unix:path=/nonexistent"})
    assert cp.returncode != 0 and "--log-dir=" in cp.stderr, cp


# ---------------------------------------------------------------------------------------------
# start, console log, reboot, stop

def test_start_reboot_stop(supervising, machined_signals):
    s = supervising
    s.image("bb")
    s.start()
    api = s.api()

    api.StartImage("bb", timeout=CALL_TIMEOUT)
    # The reply comes once the machine is registered: MachineNew went out before it.
    machined_signals.wait("MachineNew", "bb", timeout=1)
    assert s.machines()["bb"] == ("container", "berth")
    props = s.m.properties(machine_path("bb"))
    assert props["RootDirectory"] == str(s.m.pool / "bb") and props["State"] == "running"
    spawn = s.spawn_pid("bb")
    cmd = _cmdline(spawn).split(b"\0")
    assert cmd[0] == str(SPAWN).encode() and b"-b" in cmd and b"--register=yes" in cmd and b"-U" in cmd, cmd
    leader = s.leader("bb")
    wait_for(lambda: booted(leader), what="busybox init ran its sysinit actions")
    # -U, as systemd-nspawn@.service: a range of its own, the pool's tree idmapped (not chowned).
    with open(f"/proc/{leader}/uid_map") as f:
        base = int(f.read().split()[1])
    assert base >= 524288 and int(s.m.manager().GetMachineUIDShift("bb")) == base
    assert os.stat(s.m.pool / "bb" / "etc" / "passwd").st_uid == 0
    # The guest's console goes to the log, through spawn --console=read-only.
    wait_for(lambda: "hello-from-the-guest-console" in s.log("bb"), what="console output in the log")

    # A reboot inside: spawn exits 133 and machined starts it again, with a new leader.
    nsenter = ensure_tool("nsenter", "util-linux")
    # (Its exit status does not matter: init's "kill all processes" may reach /bin/reboot first.)
    subprocess.run([nsenter, "-t", str(leader), "-m", "-p", "--", "/bin/reboot"], timeout=30)
    machined_signals.wait("MachineRemoved", "bb", timeout=30)
    assert wait_gone(spawn, timeout=10), "the old spawn exited"
    new_leader = wait_for(lambda: "bb" in s.machines() and s.leader("bb"), what="machine back after reboot")
    assert new_leader != leader
    new_spawn = s.spawn_pid("bb")
    assert new_spawn != spawn and proc_alive(new_spawn)
    wait_for(lambda: booted(new_leader), what="second boot")
    assert "machine bb rebooted, starting it again" in s.log("bb")
    assert s.log("bb").count("hello-from-the-guest-console") >= 2

    # Stop: SIGTERM to spawn, which powers busybox init off (SIGUSR2); the reply waits for spawn's exit.
    api.StopImage("bb", timeout=CALL_TIMEOUT)
    assert "bb" not in s.machines()
    assert wait_gone(new_spawn, timeout=1), "spawn exited before StopImage answered"
    assert wait_gone(new_leader, timeout=5)
    assert not (s.marker_dir / "bb").exists()
    assert "Machine bb stopped" in s.m.log_text()
    # It can be started again.
    api.StartImage("bb", timeout=CALL_TIMEOUT)
    assert "bb" in s.machines()
    api.StopImage("bb", timeout=CALL_TIMEOUT)
    assert "bb" not in s.machines()


def test_start_raw_image(supervising, scratch):
    """A NAME.raw image of the pool boots with spawn -i; stopping it leaves no loop device."""
    from image_fixtures import MiB, ROOT_X86_64, host_image_state, make_image, wait_host_state
    s = supervising
    tree = scratch / "rawtree"
    subprocess.run(["cp", "-a", str(s.tree), str(tree)], check=True, timeout=120)
    (tree / "etc" / "inittab").write_text(INITTAB)
    before = host_image_state()
    make_image(s.m.pool / "rawbb.raw", [{"type": ROOT_X86_64, "size": 12 * MiB, "tree": tree}])
    s.start()
    api = s.api()
    api.StartImage("rawbb", timeout=CALL_TIMEOUT)
    props = s.m.properties(machine_path("rawbb"))
    assert props["RootDirectory"] == str(s.m.pool / "rawbb.raw")
    cmd = _cmdline(s.spawn_pid("rawbb")).split(b"\0")
    assert b"-i" in cmd, cmd
    leader = s.leader("rawbb")
    wait_for(lambda: booted(leader), what="busybox init booted from the raw image")
    api.StopImage("rawbb", timeout=CALL_TIMEOUT)
    assert "rawbb" not in s.machines()
    assert wait_host_state(before) == before


def test_failed_start_reports_the_log(supervising):
    s = supervising
    img = s.image("broken")
    for p in ("etc/os-release", "usr/lib/os-release"):
        if os.path.lexists(img / p):
            os.unlink(img / p)
    s.start()
    name, msg = dbus_error(s.api().StartImage, "broken", timeout=CALL_TIMEOUT)
    assert name == "org.freedesktop.DBus.Error.Failed", (name, msg)
    # spawn's own error line, from the console log, is in the message.
    assert "exited with status 1" in msg and "os-release" in msg, msg
    assert "broken" not in s.machines()
    assert not (s.marker_dir / "broken").exists()
    # Nothing is left supervised: a second attempt fails the same way, not with MachineExists.
    assert dbus_error(s.api().StartImage, "broken", timeout=CALL_TIMEOUT)[0] == "org.freedesktop.DBus.Error.Failed"


def test_start_honours_settings_file(supervising):
    """NAME.nspawn next to the image (untrusted) is read with --settings=override, as
    systemd-nspawn@.service does: its Boot=no and Parameters= win over machined's -b."""
    s = supervising
    s.image("withsettings")
    (s.m.pool / "withsettings.nspawn").write_text(
        "[Exec]\nBoot=no\nParameters=/bin/sleep 1000\nHostname=fromsettings\n"
        "Capability=CAP_SYS_MODULE\n")
    s.start()
    s.api().StartImage("withsettings", timeout=CALL_TIMEOUT)
    assert b"--settings=override" in _cmdline(s.spawn_pid("withsettings")).split(b"\0")
    leader = s.leader("withsettings")
    # (The machine registers before its PID 1 execs the payload.)
    wait_for(lambda: _cmdline(leader).split(b"\0")[:2] == [b"/bin/sleep", b"1000"], what="Parameters= as PID 1")
    nsenter = ensure_tool("nsenter", "util-linux")
    cp = subprocess.run([nsenter, "-t", str(leader), "-u", "--", "uname", "-n"], capture_output=True, text=True,
                        timeout=30)
    assert cp.stdout.strip() == "fromsettings", cp
    # Untrusted: the capability is not granted, and the log says so.
    with open(f"/proc/{leader}/status") as f:
        bnd = next(int(line.split()[1], 16) for line in f if line.startswith("CapBnd:"))
    assert not bnd & (1 << 16)
    assert "Ignoring Capability=" in s.log("withsettings")
    s.api().StopImage("withsettings", timeout=CALL_TIMEOUT)
    assert "withsettings" not in s.machines()


# ---------------------------------------------------------------------------------------------
# enable, restart of machined

def test_enable_and_restart(supervising):
    s = supervising
    s.image("auto")
    s.image("manual")
    s.start()
    api = s.api()

    api.EnableImage("auto")
    link = s.enabled_dir / "auto"
    assert link.is_symlink() and os.readlink(link) == str(s.m.pool / "auto")
    api.EnableImage("auto")  # idempotent
    assert link.is_symlink()
    assert "auto" not in s.machines(), "enable does not start"

    api.StartImage("manual", timeout=CALL_TIMEOUT)
    manual_spawn, manual_leader = s.spawn_pid("manual"), s.leader("manual")

    # machined goes away: the machine it started keeps running.
    s.m.stop()
    assert proc_alive(manual_spawn) and proc_alive(manual_leader)
    s.m._conn = None
    s.start()
    api = s.api()
    # The enabled image is started at daemon start; the running one is adopted, not started twice.
    wait_for(lambda: "auto" in s.machines(), timeout=60, what="enabled machine started by machined")
    assert s.leader("manual") == manual_leader and s.spawn_pid("manual") == manual_spawn
    assert "Adopted spawn (PID %d) of machine manual" % manual_spawn in s.m.log_text()
    name, _ = dbus_error(api.StartImage, "manual", timeout=CALL_TIMEOUT)
    assert name == ERR + "MachineExists"

    # An adopted machine can be stopped: SIGTERM to its spawn, answer once it is gone.
    api.StopImage("manual", timeout=CALL_TIMEOUT)
    assert "manual" not in s.machines()
    assert wait_gone(manual_spawn, timeout=1) and wait_gone(manual_leader, timeout=5)

    api.DisableImage("auto")
    assert not os.path.lexists(link)
    api.DisableImage("auto")  # not enabled: not an error
    api.DisableImage("never-enabled")
    assert "auto" in s.machines(), "disable does not stop"
    api.StopImage("auto", timeout=CALL_TIMEOUT)
    assert s.machines() == {}

    # Disabled: not started at the next daemon start.
    s.restart()
    time.sleep(1)
    assert s.machines() == {}


# ---------------------------------------------------------------------------------------------
# errors and authorization

def test_errors(supervising, machined_leaders):
    s = supervising
    s.image("one")
    (s.m.pool / "not-a-dir").write_text("")
    s.start()
    api = s.api()

    for method in ("StartImage", "EnableImage"):
        assert dbus_error(getattr(api, method), "nonexistent")[0] == ERR + "NoSuchImage", method
        assert dbus_error(getattr(api, method), "not-a-dir")[0] == ERR + "NoSuchImage", method
    for method in ("StartImage", "StopImage", "EnableImage", "DisableImage"):
        for bad in ("", "../etc", "a/b", ".hidden", "x" * 65):
            assert dbus_error(getattr(api, method), bad)[0] == INVALID_ARGS, (method, bad)
    assert not s.enabled_dir.exists() or not any(s.enabled_dir.iterdir())

    name, msg = dbus_error(api.StopImage, "one")
    assert name == ERR + "NoSuchMachine", (name, msg)

    api.StartImage("one", timeout=CALL_TIMEOUT)
    name, msg = dbus_error(api.StartImage, "one", timeout=CALL_TIMEOUT)
    assert name == ERR + "MachineExists", (name, msg)

    # A machine registered by someone else is not ours to stop, and its name is taken.
    (s.m.pool / "foreign").mkdir()
    _, leader = machined_leaders.start()
    s.m.manager().CreateMachine("foreign", dbus.Array([], signature="y"), "test", "container", dbus.UInt32(leader), "",
                                dbus.Array([], signature="(sv)"))
    name, msg = dbus_error(api.StopImage, "foreign")
    assert name == "org.freedesktop.DBus.Error.NotSupported" and "not started by machined" in msg, (name, msg)
    assert dbus_error(api.StartImage, "foreign")[0] == ERR + "MachineExists"
    assert proc_alive(leader)

    # Not root: refused by machined itself (NOBODY passes the test bus policy) and by the shipped
    # bus policy (STRANGER); nothing changes.
    calls = [[MANAGER_PATH, IFACE, method, "s", [arg]] for method, arg in
             (("StartImage", "one"), ("StopImage", "one"), ("EnableImage", "one"), ("DisableImage", "one"))]
    for uid, why in ((NOBODY, "only root may do this"), (STRANGER, "Rejected send message")):
        results = calls_as(uid, s.m.bus, calls)
        for call, result in zip(calls, results):
            assert result.startswith(ACCESS_DENIED) and why in result, (uid, call, result)
    assert "one" in s.machines() and not os.path.lexists(s.enabled_dir / "one")
    api.StopImage("one", timeout=CALL_TIMEOUT)


def test_concurrent_stop_calls(supervising):
    """Two StopImage calls for one machine both get their answer when spawn exited."""
    s = supervising
    s.image("twice")
    s.start()
    s.api().StartImage("twice", timeout=CALL_TIMEOUT)
    spawn = s.spawn_pid("twice")
    script = (
        "import dbus, sys\n"
        "bus = dbus.bus.BusConnection(sys.argv[1])\n"
        "api = dbus.Interface(bus.get_object('org.freedesktop.machine1', '/org/freedesktop/machine1'), 'io.berth.Machined1')\n"
        "api.StopImage('twice', timeout=120)\n"
        "print('stopped')\n")
    procs = [subprocess.Popen(["/usr/bin/python3", "-c", script, s.m.bus.address], stdout=subprocess.PIPE, text=True,
                              env=s.m.bus.env()) for _ in range(2)]
    try:
        outs = [p.communicate(timeout=60)[0].strip() for p in procs]
    finally:
        for p in procs:
            kill_pid(p.pid)
            p.wait()
    assert outs == ["stopped", "stopped"]
    assert wait_gone(spawn, timeout=1) and "twice" not in s.machines()


# ---------------------------------------------------------------------------------------------
# systemd hosts: spawn@NAME.service, against a stand-in for systemd's manager

FAKE_SYSTEMD = r'''
import json, sys
import dbus, dbus.service, dbus.mainloop.glib
from gi.repository import GLib

dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
bus = dbus.bus.BusConnection(sys.argv[1])
IFACE = "org.freedesktop.systemd1.Manager"

def record(*args):
    print(json.dumps([str(a) if not isinstance(a, (list, bool)) else a for a in args]), flush=True)

class Manager(dbus.service.Object):
    def __init__(self):
        super().__init__(bus, "/org/freedesktop/systemd1")
        self.jobs = 0

    def job(self, name, early=False):
        self.jobs += 1
        jid, path = self.jobs, "/org/freedesktop/systemd1/job/%d" % self.jobs
        result = "failed" if "broken" in name else "done"
        if early:
            # JobRemoved before the method reply: machined must still find the result.
            self.JobRemoved(jid, path, name, result)
        else:
            GLib.timeout_add(200, lambda: (self.JobRemoved(jid, path, name, result), False)[1])
        return path

    @dbus.service.method(IFACE, in_signature="", out_signature="")
    def Subscribe(self):
        record("Subscribe")

    @dbus.service.method(IFACE, in_signature="ssa(sv)a(sa(sv))", out_signature="o")
    def StartTransientUnit(self, name, mode, props, aux):
        record("StartTransientUnit", name, mode)
        return self.job(name)

    @dbus.service.method(IFACE, in_signature="ss", out_signature="o")
    def StartUnit(self, name, mode):
        record("StartUnit", name, mode)
        return self.job(name, early="early" in name)

    @dbus.service.method(IFACE, in_signature="ss", out_signature="o")
    def StopUnit(self, name, mode):
        record("StopUnit", name, mode)
        return self.job(name)

    @dbus.service.method(IFACE, in_signature="asbb", out_signature="ba(sss)")
    def EnableUnitFiles(self, files, runtime, force):
        record("EnableUnitFiles", [str(f) for f in files], bool(runtime), bool(force))
        return True, [("symlink", "/etc/systemd/system/machines.target.wants/" + str(files[0]), "/usr/lib/systemd/system/spawn@.service")]

    @dbus.service.method(IFACE, in_signature="asb", out_signature="a(sss)")
    def DisableUnitFiles(self, files, runtime):
        record("DisableUnitFiles", [str(f) for f in files], bool(runtime))
        return []

    @dbus.service.method(IFACE, in_signature="", out_signature="")
    def Reload(self):
        record("Reload")

    @dbus.service.signal(IFACE, signature="uoss")
    def JobRemoved(self, jid, job, unit, result):
        pass

m = Manager()
name = dbus.service.BusName("org.freedesktop.systemd1", bus)
print(json.dumps(["ready"]), flush=True)
GLib.MainLoop().run()
'''


def test_systemd_units(machined_bin, machined_bus, machined_leaders, _resources):
    fake = subprocess.Popen(["/usr/bin/python3", "-c", FAKE_SYSTEMD, machined_bus.address], stdout=subprocess.PIPE,
                            text=True)
    machined_leaders.procs.track(fake)

    def next_call(what):
        while True:
            line = fake.stdout.readline()
            assert line, f"stand-in systemd died waiting for {what}"
            call = json.loads(line)
            if call[0] == what:
                return call

    next_call("ready")
    d = _resources.mkdtemp("machined-units")
    m = Machined(machined_bus, d)
    try:
        m.start("--cgroup-backend=systemd", f"--log-dir={d}/log", f"--enabled-dir={d}/enabled", f"--spawn={SPAWN}")
        next_call("Subscribe")
        api = dbus.Interface(m.connection().get_object("org.freedesktop.machine1", MANAGER_PATH), IFACE)
        for name in ("web", "broken", "early"):
            (m.pool / name).mkdir()

        t0 = time.monotonic()
        api.StartImage("web", timeout=CALL_TIMEOUT)
        assert time.monotonic() - t0 >= 0.15, "the reply waits for the start job"
        assert next_call("StartUnit")[1:] == ["spawn@web.service", "replace"]
        api.StartImage("early", timeout=CALL_TIMEOUT)
        assert next_call("StartUnit")[1:] == ["spawn@early.service", "replace"]
        name, msg = dbus_error(api.StartImage, "broken", timeout=CALL_TIMEOUT)
        assert "result 'failed'" in msg and "spawn@broken.service" in msg, (name, msg)
        assert dbus_error(api.StartImage, "nope")[0] == ERR + "NoSuchImage"

        # StopImage stops the unit of a registered machine.
        assert dbus_error(api.StopImage, "web")[0] == ERR + "NoSuchMachine"
        _, leader = machined_leaders.start()
        m.manager().CreateMachine("web", dbus.Array([], signature="y"), "berth", "container", dbus.UInt32(leader), "",
                                  dbus.Array([], signature="(sv)"))
        assert dbus_error(api.StartImage, "web")[0] == ERR + "MachineExists"
        api.StopImage("web", timeout=CALL_TIMEOUT)
        assert next_call("StopUnit")[1:] == ["spawn@web.service", "replace"]

        api.EnableImage("web", timeout=CALL_TIMEOUT)
        assert next_call("EnableUnitFiles")[1:] == [["spawn@web.service"], False, True]
        next_call("Reload")
        api.DisableImage("web", timeout=CALL_TIMEOUT)
        assert next_call("DisableUnitFiles")[1:] == [["spawn@web.service"], False]
        next_call("Reload")
        # Our own enabled directory is not used where systemd is in charge.
        assert not (Path(d) / "enabled").exists()
    finally:
        m.cleanup()
        print(f"--- machined log ---\n{m.log_text()[-20000:]}")


def test_spawn_unit_file():
    """units/spawn@.service is modelled on systemd-nspawn@.service."""
    text = (REPO / "units" / "spawn@.service").read_text()
    lines = {line.split("=", 1)[0]: line.split("=", 1)[1] for line in text.splitlines()
             if "=" in line and not line.startswith("#")}
    # As systemd-nspawn@.service: -M alone finds the image (directory or NAME.raw) in /var/lib/machines,
    # -U gives it a user namespace and --network-veth a private network.
    assert lines["ExecStart"] == ("/usr/bin/spawn --quiet --keep-unit --boot -U --notify-ready=yes --register=yes "
                                  "--network-veth --settings=override -M %i")
    for key, value in {"Type": "notify", "KillMode": "mixed", "Delegate": "yes", "Slice": "machine.slice",
                       "RestartForceExitStatus": "133", "SuccessExitStatus": "133", "WantedBy": "machines.target"}.items():
        assert lines[key] == value, key
    analyze = subprocess.run(["sh", "-c", "command -v systemd-analyze"], capture_output=True, text=True).stdout.strip()
    if analyze:
        cp = subprocess.run([analyze, "verify", "--man=no", str(REPO / "units" / "spawn@.service")],
                            capture_output=True, text=True, timeout=60)
        # Only the syntax matters here: /usr/bin/spawn need not be installed on the test host.
        problems = [l for l in cp.stderr.splitlines() if l.strip() and "Command /usr/bin/spawn is not executable" not in l]
        assert not problems, cp.stderr
