# SPDX-License-Identifier: LGPL-2.1-or-later
"""machined: the org.freedesktop.machine1 registry on a private dbus-daemon, driven with
python3-dbus, busctl, systemd's own machinectl and a Varlink client; machined_leaders are containers started
with the real spawn binary in the busybox tree (spawn does not register itself yet)."""

import errno
import json
import os
import re
import signal
import subprocess
import time
import xml.etree.ElementTree as ET

import pytest

from conftest import DEFAULT_TIMEOUT, REPO, kill_pid
from machined_fixtures import (BUS_NAME, IMAGE_IFACE, MACHINE_IFACE, MACHINED, MANAGER_IFACE, MANAGER_PATH,
                               NOBODY, OSC_END_RE, STRANGER, Machined, VarlinkClient, bus_label_escape,
                               calls_as, cgroup_dirs, dbus_error, machine_path, machinectl, own_cgroup_dirs,
                               read_pty_until, read_pty_until_eof, run_as, unwrap, wait_gone)

import dbus  # noqa: E402  (after machined_fixtures: its fixture installs python3-dbus if needed)

ERR = "org.freedesktop.machine1."
INVALID_ARGS = "org.freedesktop.DBus.Error.InvalidArgs"
ACCESS_DENIED = "org.freedesktop.DBus.Error.AccessDenied"
UINT64_MAX = 2**64 - 1

# Signatures of org.freedesktop.machine1 v262 (reference/org.freedesktop.machine1.v262.xml) for
# everything machined implements: method → (in, out).
V262_MANAGER = {
    "GetMachine": ("s", "o"), "GetImage": ("s", "o"), "GetMachineByPID": ("u", "o"),
    "ListMachines": ("", "a(ssso)"), "ListImages": ("", "a(ssbttto)"),
    "CreateMachine": ("sayssusa(sv)", "o"), "CreateMachineWithNetwork": ("sayssusaia(sv)", "o"),
    "CreateMachineEx": ("sa(sv)a(sv)", "o"), "RegisterMachine": ("sayssus", "o"),
    "RegisterMachineWithNetwork": ("sayssusai", "o"), "RegisterMachineEx": ("sa(sv)", "o"),
    "UnregisterMachine": ("s", ""), "TerminateMachine": ("s", ""), "KillMachine": ("ssi", ""),
    "GetMachineAddresses": ("s", "a(iay)"), "GetMachineSSHInfo": ("s", "ss"), "GetMachineOSRelease": ("s", "a{ss}"),
    "OpenMachinePTY": ("s", "hs"), "OpenMachineLogin": ("s", "hs"), "OpenMachineShell": ("sssasas", "hs"),
    "RemoveImage": ("s", ""), "RenameImage": ("ss", ""), "CloneImage": ("ssb", ""), "MarkImageReadOnly": ("sb", ""),
    "SetPoolLimit": ("t", ""), "SetImageLimit": ("st", ""), "CleanPool": ("s", "a(st)"),
    "GetMachineUIDShift": ("s", "u"), "OpenMachineRootDirectory": ("s", "h"), "BindMountMachine": ("sssbb", ""),
    "CopyFromMachine": ("sss", ""), "CopyToMachine": ("sss", ""), "CopyFromMachineWithFlags": ("ssst", ""),
    "CopyToMachineWithFlags": ("ssst", ""),
    "MapFromMachineUser": ("su", "u"), "MapToMachineUser": ("u", "sou"), "MapFromMachineGroup": ("su", "u"),
    "MapToMachineGroup": ("u", "sou"),
}
V262_MANAGER_PROPERTIES = {"PoolPath": "s", "PoolUsage": "t", "PoolLimit": "t"}
V262_MACHINE = {
    "Terminate": ("", ""), "Kill": ("si", ""), "GetAddresses": ("", "a(iay)"), "GetSSHInfo": ("", "ss"),
    "GetOSRelease": ("", "a{ss}"), "GetUIDShift": ("", "u"), "OpenPTY": ("", "hs"), "OpenLogin": ("", "hs"),
    "OpenShell": ("ssasas", "hs"), "OpenRootDirectory": ("", "h"), "BindMount": ("ssbb", ""), "CopyFrom": ("ss", ""),
    "CopyTo": ("ss", ""), "CopyFromWithFlags": ("sst", ""), "CopyToWithFlags": ("sst", ""),
}
V262_MACHINE_PROPERTIES = {
    "Name": "s", "Id": "ay", "Timestamp": "t", "TimestampMonotonic": "t", "Service": "s", "Unit": "s",
    "Subgroup": "s", "Leader": "u", "LeaderPIDFDId": "t", "Supervisor": "u", "SupervisorPIDFDId": "t", "Class": "s",
    "RootDirectory": "s", "NetworkInterfaces": "ai", "VSockCID": "u", "SSHAddress": "s", "SSHPrivateKeyPath": "s",
    "State": "s", "UID": "u",
}
V262_IMAGE = {"GetHostname": ("", "s"), "GetMachineID": ("", "ay"), "GetMachineInfo": ("", "a{ss}"),
              "GetOSRelease": ("", "a{ss}"), "Remove": ("", ""), "Rename": ("s", ""), "Clone": ("sb", ""),
              "MarkReadOnly": ("b", ""), "SetLimit": ("t", "")}
V262_IMAGE_PROPERTIES = {
    "Name": "s", "Path": "s", "Type": "s", "ReadOnly": "b", "CreationTimestamp": "t", "ModificationTimestamp": "t",
    "Usage": "t", "Limit": "t", "UsageExclusive": "t", "LimitExclusive": "t",
}


# ---------------------------------------------------------------------------------------------
# helpers

def no_id():
    return dbus.Array([], signature="y")


def props(*pairs):
    return dbus.Array([dbus.Struct((k, v), signature="sv") for k, v in pairs], signature="(sv)")


def create(machined, name, pid, service="test", cls="container", root="", scope=()):
    return str(machined.manager().CreateMachine(name, no_id(), service, cls, dbus.UInt32(pid), root, props(*scope)))


def register(machined, name, pid, service="test", cls="container", root=""):
    return str(machined.manager().RegisterMachine(name, no_id(), service, cls, dbus.UInt32(pid), root))


def list_machines(machined):
    """The registered machines: all that ListMachines lists but the host (.host, always there)."""
    return sorted(x for x in unwrap(machined.manager().ListMachines()) if x[0] != ".host")


def machine_props(machined, name):
    return machined.properties(machine_path(name))


def proc_cgroup(pid):
    with open(f"/proc/{pid}/cgroup") as f:
        return [line.rstrip("\n").split(":", 2) for line in f]


def proc_state(pid):
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0]


def wait_for(predicate, timeout=5.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.01)
    raise AssertionError(f"{what} not reached within {timeout}s")


def move_into(dirs, pid):
    """Put PID into the cgroup directories (one per hierarchy)."""
    for d in dirs.values():
        with open(os.path.join(d, "cgroup.procs"), "w") as f:
            f.write(str(pid))


def introspect(machined, path):
    obj = machined.connection().get_object(BUS_NAME, path, introspect=False)
    return str(obj.Introspect(dbus_interface="org.freedesktop.DBus.Introspectable"))


def interface_model(xml_text, iface):
    """{kind: {name: details}} of one interface of an introspection document."""
    root = ET.fromstring(xml_text)
    for i in root.iter("interface"):
        if i.get("name") != iface:
            continue
        model = {"method": {}, "property": {}, "signal": {}}
        for m in i.findall("method"):
            model["method"][m.get("name")] = [(a.get("name"), a.get("type"), a.get("direction", "in")) for a in m.findall("arg")]
        for s in i.findall("signal"):
            model["signal"][s.get("name")] = [(a.get("name"), a.get("type")) for a in s.findall("arg")]
        for p in i.findall("property"):
            ann = {a.get("name"): a.get("value") for a in p.findall("annotation")}
            model["property"][p.get("name")] = (p.get("type"), p.get("access"),
                                                 ann.get("org.freedesktop.DBus.Property.EmitsChangedSignal", "true"))
        return model
    raise AssertionError(f"interface {iface} not in introspection data")


def signature_of(args, direction):
    return "".join(t for _, t, d in args if d == direction)


# ---------------------------------------------------------------------------------------------
# basics

def test_help_version_and_bad_options(machined_bin):
    cp = subprocess.run([str(MACHINED), "--help"], capture_output=True, text=True, timeout=DEFAULT_TIMEOUT)
    assert cp.returncode == 0 and "--cgroup-root=" in cp.stdout, cp
    cp = subprocess.run([str(MACHINED), "--version"], capture_output=True, text=True, timeout=DEFAULT_TIMEOUT)
    assert cp.returncode == 0 and cp.stdout.strip(), cp
    for bad in (["--no-such-option"], ["--cgroup-backend=toaster"], ["--state-dir=relative"],
                ["--cgroup-root=../escape"], ["extra-argument"]):
        cp = subprocess.run([str(MACHINED), *bad, "--no-varlink"], capture_output=True, text=True,
                            timeout=DEFAULT_TIMEOUT, env={"DBUS_SYSTEM_BUS_ADDRESS": "unix:path=/nonexistent"})
        assert cp.returncode != 0, (bad, cp)


def test_introspection_matches_interface_files(machined, machined_leaders):
    """dbus-interfaces/*.xml are exactly what machined serves, and every method and property there
    has systemd v262's signature."""
    _, leader = machined_leaders.start()
    create(machined, "intro", leader)
    (machined.pool / "img").mkdir()
    cases = [
        (MANAGER_PATH, MANAGER_IFACE, V262_MANAGER, V262_MANAGER_PROPERTIES),
        (machine_path("intro"), MACHINE_IFACE, V262_MACHINE, V262_MACHINE_PROPERTIES),
        (f"{MANAGER_PATH}/image/img", IMAGE_IFACE, V262_IMAGE, V262_IMAGE_PROPERTIES),
    ]
    for path, iface, methods, properties in cases:
        live = interface_model(introspect(machined, path), iface)
        shipped = interface_model((REPO / "dbus-interfaces" / f"{iface}.xml").read_text(), iface)
        assert live == shipped, f"{iface}: live introspection differs from dbus-interfaces/{iface}.xml"
        assert set(live["method"]) == set(methods), iface
        for name, args in live["method"].items():
            assert (signature_of(args, "in"), signature_of(args, "out")) == methods[name], (iface, name)
        assert {k: v[0] for k, v in live["property"].items()} == properties, iface
        assert all(v[1] == "read" for v in live["property"].values()), iface
    manager = interface_model(introspect(machined, MANAGER_PATH), MANAGER_IFACE)
    assert manager["signal"] == {"MachineNew": [("machine", "s"), ("path", "o")],
                                 "MachineRemoved": [("machine", "s"), ("path", "o")]}
    # Machine objects are enumerable below .../machine.
    assert 'node name="intro"' in introspect(machined, f"{MANAGER_PATH}/machine")


def test_manager_properties(machined):
    p = machined.properties(MANAGER_PATH, MANAGER_IFACE)
    assert p == {"PoolPath": str(machined.pool), "PoolUsage": UINT64_MAX, "PoolLimit": UINT64_MAX}
    # GetAll("") with the empty interface is what systemd's machinectl uses.
    assert machined.properties(MANAGER_PATH, "") == p


# ---------------------------------------------------------------------------------------------
# creating and registering

def test_create_and_register_variants(machined, machined_leaders, machined_signals):
    m = machined.manager()
    me = os.getpid()
    pidfds = []
    cases = {}
    for method in ("CreateMachine", "CreateMachineWithNetwork", "CreateMachineEx", "RegisterMachine",
                   "RegisterMachineWithNetwork", "RegisterMachineEx"):
        name = f"v-{method.lower()}"
        _, leader = machined_leaders.start()
        mid = dbus.Array(list(os.urandom(16)), signature="y")
        scope = props(("MemoryMax", dbus.UInt64(256 << 20)), ("Description", "ignored by cgroupfs"))
        if method == "CreateMachine":
            path = m.CreateMachine(name, mid, "svc", "container", dbus.UInt32(leader), "/srv/x", scope)
        elif method == "CreateMachineWithNetwork":
            path = m.CreateMachineWithNetwork(name, mid, "svc", "container", dbus.UInt32(leader), "/srv/x",
                                              dbus.Array([1], signature="i"), scope)
        elif method == "RegisterMachine":
            path = m.RegisterMachine(name, mid, "svc", "container", dbus.UInt32(leader), "/srv/x")
        elif method == "RegisterMachineWithNetwork":
            path = m.RegisterMachineWithNetwork(name, mid, "svc", "container", dbus.UInt32(leader), "/srv/x",
                                                dbus.Array([1], signature="i"))
        else:
            pidfd = os.pidfd_open(leader)
            pidfds.append(pidfd)
            ex = props(("Id", mid), ("Service", "svc"), ("Class", "container"), ("LeaderPIDFD", dbus.types.UnixFd(pidfd)),
                       ("LeaderPID", dbus.UInt32(leader)), ("RootDirectory", "/srv/x"),
                       ("NetworkInterfaces", dbus.Array([1], signature="i")), ("VSockCID", dbus.UInt32(42)),
                       ("SSHAddress", "10.0.0.1:22"), ("SSHPrivateKeyPath", "/etc/key"))
            if method == "CreateMachineEx":
                path = m.CreateMachineEx(name, ex, scope)
            else:
                path = m.RegisterMachineEx(name, ex)
        assert str(path) == machine_path(name)
        machined_signals.wait("MachineNew", name)
        cases[name] = (method, leader, bytes(mid))
    for fd in pidfds:
        os.close(fd)

    listed = list_machines(machined)
    assert listed == sorted((n, "container", "svc", machine_path(n)) for n in cases)
    for name, (method, leader, mid) in cases.items():
        p = machine_props(machined, name)
        assert set(V262_MACHINE_PROPERTIES) <= set(p), name
        assert p["Name"] == name and p["Class"] == "container" and p["Service"] == "svc"
        assert p["Id"] == mid and p["Leader"] == leader and p["LeaderPIDFDId"] > 0
        assert p["Unit"] == f"machine-{name.replace('-', chr(92) + 'x2d')}.scope"
        assert p["RootDirectory"] == "/srv/x" and p["State"] == "running" and p["UID"] == 0
        assert p["Timestamp"] > 0 and p["TimestampMonotonic"] > 0
        assert p["Supervisor"] == me, "the caller is the supervisor when it is not the leader"
        assert p["NetworkInterfaces"] == ([] if method in ("CreateMachine", "RegisterMachine") else [1])
        if method.endswith("Ex"):
            assert p["VSockCID"] == 42 and p["SSHAddress"] == "10.0.0.1:22"
            assert unwrap(m.GetMachineSSHInfo(name)) == ("10.0.0.1:22", "/etc/key")
            assert unwrap(machined.machine(name).GetSSHInfo()) == ("10.0.0.1:22", "/etc/key")
        else:
            assert p["VSockCID"] == 2**32 - 1 and p["SSHAddress"] == ""
        # The leader sits in the scope, in every hierarchy.
        for _, ctrl, path in proc_cgroup(leader):
            assert path.endswith(f"/{machined.cgroup_root}/machine.slice/{p['Unit']}"), (name, ctrl, path)
        # Scope and Unit are the same (Scope is hidden, kept for compatibility).
        obj = machined.connection().get_object(BUS_NAME, machine_path(name))
        assert str(obj.Get(MACHINE_IFACE, "Scope", dbus_interface="org.freedesktop.DBus.Properties")) == p["Unit"]
        assert str(m.GetMachine(name)) == machine_path(name)
        assert str(m.GetMachineByPID(dbus.UInt32(leader))) == machine_path(name)


def test_leader_zero_means_caller(machined):
    """RegisterMachine with leader 0 registers the calling process itself."""
    cp = subprocess.run(["sh", "-c", f'exec busctl --address="$DBUS_SYSTEM_BUS_ADDRESS" call {BUS_NAME} {MANAGER_PATH} '
                         f'{MANAGER_IFACE} RegisterMachine sayssus self-reg 0 svc container 0 ""'],
                        capture_output=True, text=True, env=machined.bus.env(), timeout=DEFAULT_TIMEOUT)
    assert cp.returncode == 0, cp.stderr
    # busctl exited right after the reply, so the machine goes away with it.
    machined.manager()  # noqa
    wait_for(lambda: "self-reg" not in [x[0] for x in list_machines(machined)], what="self-registered machine removal")


def test_get_machine_by_pid_and_self(machined, machined_leaders):
    m = machined.manager()
    _, leader = machined_leaders.start()
    create(machined, "bypid", leader)
    # Any process in the machine's cgroup belongs to it, not only the leader.
    other = machined_leaders.sleeper()
    move_into(machined.scope_dirs("bypid"), other.pid)
    assert str(m.GetMachineByPID(dbus.UInt32(other.pid))) == machine_path("bypid")
    # pid 0 is the caller, which is in no machine.
    assert dbus_error(m.GetMachineByPID, dbus.UInt32(0))[0] == ERR + "NoMachineForPID"
    assert dbus_error(m.GetMachineByPID, dbus.UInt32(os.getpid()))[0] == ERR + "NoMachineForPID"
    assert dbus_error(m.GetMachineByPID, dbus.UInt32(2**31 - 2))[0] == ERR + "NoMachineForPID"
    # .../machine/self is the caller's machine: busctl run inside the machine's cgroup.
    dirs = machined.scope_dirs("bypid")
    script = " ".join(f"echo $$ > '{d}/cgroup.procs' &&" for d in dirs.values())
    cp = subprocess.run(["sh", "-c", f'{script} exec busctl --address="$DBUS_SYSTEM_BUS_ADDRESS" get-property '
                         f'{BUS_NAME} {MANAGER_PATH}/machine/self {MACHINE_IFACE} Name'],
                        capture_output=True, text=True, env=machined.bus.env(), timeout=DEFAULT_TIMEOUT)
    assert cp.returncode == 0 and cp.stdout.strip() == 's "bypid"', cp
    # From outside any machine, .../self does not exist.
    name, _ = dbus_error(machined.properties, f"{MANAGER_PATH}/machine/self")
    assert name == "org.freedesktop.DBus.Error.UnknownObject"


# ---------------------------------------------------------------------------------------------
# error paths

def test_error_paths(machined, machined_leaders):
    m = machined.manager()
    _, leader = machined_leaders.start()
    create(machined, "exists", leader)
    dead = machined_leaders.sleeper()
    dead.kill()
    dead.wait()

    def err(fn, *args):
        return dbus_error(fn, *args)[0]

    for method, args in [("UnregisterMachine", ()), ("TerminateMachine", ()), ("KillMachine", ("all", 15)),
                         ("GetMachineAddresses", ()), ("GetMachineOSRelease", ()), ("GetMachineUIDShift", ()),
                         ("GetMachineSSHInfo", ()), ("OpenMachinePTY", ()), ("OpenMachineLogin", ()),
                         ("OpenMachineShell", ("", "", dbus.Array([], "s"), dbus.Array([], "s"))),
                         ("GetMachine", ())]:
        assert err(getattr(m, method), "nope", *args) == ERR + "NoSuchMachine", method

    assert err(create, machined, "exists", leader) == ERR + "MachineExists"
    assert err(register, machined, "exists", leader) == ERR + "MachineExists"
    for bad_name in ("", "../x", "a/b", "-" * 65, ".hidden", "x" * 65):
        assert err(create, machined, bad_name, leader) == INVALID_ARGS, bad_name
    assert err(create, machined, "badclass", leader, "svc", "toaster") == INVALID_ARGS
    assert err(create, machined, "pid1", 1) == INVALID_ARGS
    assert err(register, machined, "pid1", 1) == INVALID_ARGS
    assert err(create, machined, "deadpid", dead.pid) == "org.freedesktop.DBus.Error.UnixProcessIdUnknown"
    zombie = subprocess.Popen(["true"])
    wait_for(lambda: proc_state(zombie.pid) == "Z", what="zombie")
    assert err(create, machined, "zombie", zombie.pid) == "org.freedesktop.DBus.Error.UnixProcessIdUnknown"
    zombie.wait()
    assert err(create, machined, "relroot", leader, "svc", "container", "relative/root") == INVALID_ARGS
    assert err(m.CreateMachine, "badid", dbus.Array([1, 2, 3], signature="y"), "", "container",
               dbus.UInt32(leader), "", props()) == INVALID_ARGS
    assert err(m.CreateMachineWithNetwork, "badif", no_id(), "", "container", dbus.UInt32(leader), "",
               dbus.Array([0], signature="i"), props()) == INVALID_ARGS
    assert err(create, machined, "badscope", leader, "svc", "container", "",
               [("MemoryMax", "a lot")]) == INVALID_ARGS
    assert err(create, machined, "badtasks", leader, "svc", "container", "",
               [("TasksMax", dbus.UInt64(0))]) == INVALID_ARGS
    assert err(m.CreateMachineEx, "badex", props(("Bogus", "x")), props()) == INVALID_ARGS
    assert err(m.CreateMachineEx, "badex", props(("LeaderPID", "notanumber")), props()) == INVALID_ARGS
    assert err(m.CreateMachineEx, "badex", props(("VSockCID", dbus.UInt32(1))), props()) == INVALID_ARGS
    assert err(m.RegisterMachineEx, "badex", props(("LeaderPID", dbus.UInt32(1)))) == INVALID_ARGS
    # None of the failed attempts left a machine or a cgroup behind.
    assert [x[0] for x in list_machines(machined)] == ["exists"]
    for d in machined.cgroup_dirs("machine.slice").values():
        assert sorted(e for e in os.listdir(d) if os.path.isdir(os.path.join(d, e))) == ["machine-exists.scope"], d

    assert err(m.KillMachine, "exists", "bogus", 15) == INVALID_ARGS
    assert err(m.KillMachine, "exists", "all", 0) == INVALID_ARGS
    assert err(m.KillMachine, "exists", "all", 1000) == INVALID_ARGS
    assert err(m.OpenMachineShell, "exists", "", "bin/sh", dbus.Array([], "s"), dbus.Array([], "s")) == INVALID_ARGS
    assert err(m.OpenMachineShell, "exists", "", "", dbus.Array([], "s"), dbus.Array(["=x"], "s")) == INVALID_ARGS
    assert err(m.OpenMachineShell, "exists", "no:such/user", "", dbus.Array([], "s"), dbus.Array([], "s")) == INVALID_ARGS
    assert err(m.OpenMachineShell, "exists", "nosuchuser", "", dbus.Array([], "s"), dbus.Array([], "s")) == INVALID_ARGS
    assert err(m.OpenMachineShell, "exists", "", "/no/such/binary", dbus.Array([], "s"),
               dbus.Array([], "s")) == "org.freedesktop.DBus.Error.FileNotFound"
    assert err(m.GetMachineAddresses, "exists") == ERR + "NoPrivateNetworking"
    assert err(m.GetMachineSSHInfo, "exists") == "org.freedesktop.DBus.Error.NotSupported"
    assert err(m.GetImage, "nope") == ERR + "NoSuchImage"
    assert err(m.GetImage, "../etc") == INVALID_ARGS
    obj = machined.connection().get_object(BUS_NAME, machine_path("exists"))
    assert dbus_error(obj.Set, MACHINE_IFACE, "Name", "x", dbus_interface="org.freedesktop.DBus.Properties")[0] \
        == "org.freedesktop.DBus.Error.PropertyReadOnly"
    assert err(machined.properties, machine_path("nope")) == "org.freedesktop.DBus.Error.UnknownObject"
    # Still there and untouched after all that.
    assert machine_props(machined, "exists")["Leader"] == leader


def test_supervisor(machined, machined_leaders):
    """A registering client other than the leader is the machine's supervisor; Kill can target it."""
    _, leader = machined_leaders.start()
    sup = subprocess.Popen(["/usr/bin/python3", "-c", (
        "import dbus, sys, time\n"
        f"bus = dbus.bus.BusConnection({machined.bus.address!r})\n"
        f"m = dbus.Interface(bus.get_object({BUS_NAME!r}, {MANAGER_PATH!r}), {MANAGER_IFACE!r})\n"
        f"m.RegisterMachine('sup', dbus.Array([], 'y'), 'svc', 'container', dbus.UInt32({leader}), '')\n"
        "print('registered', flush=True)\n"
        "time.sleep(1000)\n")], stdout=subprocess.PIPE, text=True)
    machined_leaders.procs.track(sup)
    assert sup.stdout.readline().strip() == "registered"
    p = machine_props(machined, "sup")
    assert p["Supervisor"] == sup.pid and p["SupervisorPIDFDId"] > 0
    machined.manager().KillMachine("sup", "supervisor", signal.SIGTERM)
    assert sup.wait(timeout=10) == -signal.SIGTERM
    # The machine is the leader's; the supervisor going away does not remove it.
    assert machine_props(machined, "sup")["Leader"] == leader
    name, _ = dbus_error(machined.manager().KillMachine, "sup", "supervisor", signal.SIGTERM)
    assert name == "org.freedesktop.DBus.Error.UnixProcessIdUnknown"


# ---------------------------------------------------------------------------------------------
# authorization

READ_ONLY = [
    (MANAGER_PATH, MANAGER_IFACE, "GetMachine", "s", ["victim"]),
    (MANAGER_PATH, MANAGER_IFACE, "GetMachineByPID", "u", ["LEADER"]),
    (MANAGER_PATH, MANAGER_IFACE, "ListMachines", "", []),
    (MANAGER_PATH, MANAGER_IFACE, "GetImage", "s", [".host"]),
    (MANAGER_PATH, MANAGER_IFACE, "ListImages", "", []),
    (MANAGER_PATH, MANAGER_IFACE, "GetMachineOSRelease", "s", ["victim"]),
    (MANAGER_PATH, MANAGER_IFACE, "GetMachineUIDShift", "s", ["victim"]),
    (MANAGER_PATH, "org.freedesktop.DBus.Properties", "GetAll", "s", [""]),
    (MANAGER_PATH, "org.freedesktop.DBus.Properties", "Get", "ss", [MANAGER_IFACE, "PoolPath"]),
    (MANAGER_PATH, "org.freedesktop.DBus.Introspectable", "Introspect", "", []),
    ("MACHINE", "org.freedesktop.DBus.Properties", "GetAll", "s", [""]),
    ("MACHINE", MACHINE_IFACE, "GetOSRelease", "", []),
    ("MACHINE", MACHINE_IFACE, "GetUIDShift", "", []),
]
# Read-only methods whose answer for this machine is an error other than AccessDenied.
READ_ONLY_ERRORS = [
    (MANAGER_PATH, MANAGER_IFACE, "GetMachineAddresses", "s", ["victim"]),
    (MANAGER_PATH, MANAGER_IFACE, "GetMachineSSHInfo", "s", ["victim"]),
    ("MACHINE", MACHINE_IFACE, "GetAddresses", "", []),
    ("MACHINE", MACHINE_IFACE, "GetSSHInfo", "", []),
]
MUTATING = [
    (MANAGER_PATH, MANAGER_IFACE, "CreateMachine", "sayssusa(sv)", ["evil", [], "", "container", "LEADER", "", []]),
    (MANAGER_PATH, MANAGER_IFACE, "CreateMachineWithNetwork", "sayssusaia(sv)",
     ["evil", [], "", "container", "LEADER", "", [], []]),
    (MANAGER_PATH, MANAGER_IFACE, "CreateMachineEx", "sa(sv)a(sv)", ["evil", [], []]),
    (MANAGER_PATH, MANAGER_IFACE, "RegisterMachine", "sayssus", ["evil", [], "", "container", "LEADER", ""]),
    (MANAGER_PATH, MANAGER_IFACE, "RegisterMachineWithNetwork", "sayssusai", ["evil", [], "", "container", "LEADER", "", []]),
    (MANAGER_PATH, MANAGER_IFACE, "RegisterMachineEx", "sa(sv)", ["evil", []]),
    (MANAGER_PATH, MANAGER_IFACE, "KillMachine", "ssi", ["victim", "all", 9]),
    (MANAGER_PATH, MANAGER_IFACE, "OpenMachinePTY", "s", ["victim"]),
    (MANAGER_PATH, MANAGER_IFACE, "OpenMachineLogin", "s", ["victim"]),
    (MANAGER_PATH, MANAGER_IFACE, "OpenMachineShell", "sssasas", ["victim", "", "", [], []]),
    (MANAGER_PATH, MANAGER_IFACE, "TerminateMachine", "s", ["victim"]),
    (MANAGER_PATH, MANAGER_IFACE, "UnregisterMachine", "s", ["victim"]),
    ("MACHINE", MACHINE_IFACE, "Kill", "si", ["all", 9]),
    ("MACHINE", MACHINE_IFACE, "OpenPTY", "", []),
    ("MACHINE", MACHINE_IFACE, "OpenLogin", "", []),
    ("MACHINE", MACHINE_IFACE, "OpenShell", "ssasas", ["", "", [], []]),
    ("MACHINE", MACHINE_IFACE, "Terminate", "", []),
]


def _materialize(calls, leader):
    out = []
    for path, iface, method, sig, args in calls:
        path = machine_path("victim") if path == "MACHINE" else path
        args = [leader if a == "LEADER" else a for a in args]
        out.append([path, iface, method, sig, args])
    return out


@pytest.mark.parametrize("uid,refused_by", [(NOBODY, "machined"), (STRANGER, "bus policy")])
def test_unprivileged_callers(machined, machined_leaders, uid, refused_by):
    """Non-root callers may read; everything else is AccessDenied — by machined itself (NOBODY is let
    through by a test-only bus policy) and by the shipped bus policy (STRANGER)."""
    _, leader = machined_leaders.start()
    create(machined, "victim", leader)
    results = calls_as(uid, machined.bus, _materialize(READ_ONLY, leader))
    assert results == ["ok"] * len(READ_ONLY), list(zip([c[2] for c in READ_ONLY], results))
    results = calls_as(uid, machined.bus, _materialize(READ_ONLY_ERRORS, leader))
    for call, result in zip(READ_ONLY_ERRORS, results):
        assert not result.startswith(ACCESS_DENIED) and result != "ok", (call, result)
    results = calls_as(uid, machined.bus, _materialize(MUTATING, leader))
    for call, result in zip(MUTATING, results):
        assert result.startswith(ACCESS_DENIED), (call, result)
        if refused_by == "machined":
            assert "only root may do this" in result, (call, result)
        else:
            assert "Rejected send message" in result, (call, result)
    # Nothing happened to the machine.
    assert [x[0] for x in list_machines(machined)] == ["victim"]
    assert machine_props(machined, "victim")["Leader"] == leader and proc_state(leader) != "Z"


# ---------------------------------------------------------------------------------------------
# lifetime: leader exit, terminate, kill

def test_leader_exit_removes_machine_quickly(machined, machined_leaders, machined_signals):
    delays = []
    for i in range(3):
        name = f"quick{i}"
        _, leader = machined_leaders.start()
        create(machined, name, leader)
        machined_signals.wait("MachineNew", name)
        scope = machined.scope_dirs(name)
        assert all(os.path.isdir(d) for d in scope.values())
        t0 = time.monotonic()
        os.kill(leader, signal.SIGKILL)
        event = machined_signals.wait("MachineRemoved", name)
        delays.append(event[0] - t0)
        assert event[3] == machine_path(name)
        assert not (machined.state_dir / name).exists()
        assert not any(p.name.startswith("unit:") for p in machined.state_dir.iterdir())
        wait_for(lambda: not any(os.path.exists(d) for d in scope.values()), what="scope removal")
        assert dbus_error(machined.manager().GetMachine, name)[0] == ERR + "NoSuchMachine"
    assert max(delays) < 0.1, f"MachineRemoved took {[round(d * 1000, 1) for d in delays]} ms"


def test_terminate_kills_everything_and_removes_scope(machined, machined_leaders, machined_signals):
    _, leader = machined_leaders.start()
    create(machined, "term", leader)
    extra = machined_leaders.sleeper()
    move_into(machined.scope_dirs("term"), extra.pid)
    scope = machined.scope_dirs("term")
    machined.manager().TerminateMachine("term")
    machined_signals.wait("MachineRemoved", "term")
    assert extra.wait(timeout=10) == -signal.SIGKILL
    assert wait_gone(leader)
    wait_for(lambda: not any(os.path.exists(d) for d in scope.values()), what="scope removal")
    # machine.slice stays (empty), and nothing was created next to our root.
    for d in machined.cgroup_dirs("machine.slice").values():
        assert [e for e in os.listdir(d) if os.path.isdir(os.path.join(d, e))] == [], d

    # The Machine object's Terminate does the same.
    _, leader = machined_leaders.start()
    create(machined, "term2", leader)
    machined.machine("term2").Terminate()
    machined_signals.wait("MachineRemoved", "term2")
    assert wait_gone(leader)


def test_kill_whom(machined, machined_leaders):
    m = machined.manager()
    _, leader = machined_leaders.start()
    create(machined, "killme", leader)
    extra = machined_leaders.sleeper()
    move_into(machined.scope_dirs("killme"), extra.pid)
    m.KillMachine("killme", "leader", signal.SIGSTOP)
    wait_for(lambda: proc_state(leader) == "T", what="leader stopped")
    assert proc_state(extra.pid) != "T"
    m.KillMachine("killme", "all", signal.SIGCONT)
    wait_for(lambda: proc_state(leader) != "T", what="leader continued")
    machined.machine("killme").Kill("all", signal.SIGSTOP)
    wait_for(lambda: proc_state(leader) == "T" and proc_state(extra.pid) == "T", what="all stopped")
    machined.machine("killme").Kill("", signal.SIGCONT)  # "" means all
    wait_for(lambda: proc_state(leader) != "T" and proc_state(extra.pid) != "T", what="all continued")
    assert [x[0] for x in list_machines(machined)] == ["killme"]


def test_unregister_leaves_processes_running(machined, machined_leaders, machined_signals):
    _, leader = machined_leaders.start()
    create(machined, "unreg", leader)
    machined.manager().UnregisterMachine("unreg")
    machined_signals.wait("MachineRemoved", "unreg")
    assert proc_state(leader) not in ("Z", "X")
    assert not (machined.state_dir / "unreg").exists()
    # Once its processes are gone, the orphaned scope is cleaned up.
    scope = machined.scope_dirs("unreg")
    os.kill(leader, signal.SIGKILL)
    wait_for(lambda: not any(os.path.exists(d) for d in scope.values()), timeout=10, what="scope removal")


# ---------------------------------------------------------------------------------------------
# cgroups

def test_scope_properties_and_cgroup_layout(machined, machined_leaders):
    before = {k: set(os.listdir(os.path.dirname(v))) for k, v in machined.cgroup_dirs().items()}
    _, leader = machined_leaders.start()
    create(machined, "limits", leader, scope=[("MemoryMax", dbus.UInt64(64 << 20)), ("TasksMax", dbus.UInt64(77)),
                                              ("CPUQuotaPerSecUSec", dbus.UInt64(250000)),
                                              ("CPUWeight", dbus.UInt64(50))])
    scope = machined.scope_dirs("limits")
    own = own_cgroup_dirs()
    assert set(scope) == set(own), "a scope in every mounted hierarchy"

    def read(key_pred, attr):
        for k, d in scope.items():
            if key_pred(k) and os.path.exists(os.path.join(d, attr)):
                with open(os.path.join(d, attr)) as f:
                    return f.read().strip()
        return None

    v2 = scope.get("")
    mem = read(lambda k: k == "", "memory.max") or read(lambda k: "memory" in k.split(","), "memory.limit_in_bytes")
    assert mem is not None and int(mem) == 64 << 20
    assert (read(lambda k: k == "", "pids.max") or read(lambda k: "pids" in k.split(","), "pids.max")) == "77"
    cpu_max = read(lambda k: k == "", "cpu.max")
    if cpu_max:
        assert cpu_max == "25000 100000"
    else:
        assert read(lambda k: "cpu" in k.split(","), "cpu.cfs_quota_us") == "25000"
        assert read(lambda k: "cpu" in k.split(","), "cpu.shares") == "512"
    # Each hierarchy: the leader is in the scope, below our root, below the test's own cgroup.
    for num, ctrl, path in proc_cgroup(leader):
        key = ",".join(sorted(ctrl.split(","))) if ctrl else ""
        mp, own_path = own[key]
        assert path.startswith(own_path.rstrip("/") + f"/{machined.cgroup_root}/machine.slice/"), path
    # Nothing of ours appeared next to our root: only the root itself is new in the test's own
    # cgroup (spawn makes machine-leader-*.scope there for its containers, that is spawn's).
    after = {k: set(os.listdir(os.path.dirname(v))) for k, v in machined.cgroup_dirs().items()}
    for k in before:
        new = {e for e in after[k] - before[k] if not e.startswith("machine-leader-")}
        assert new <= {machined.cgroup_root}, k
    if v2 is not None:
        assert os.path.isdir(v2)


# ---------------------------------------------------------------------------------------------
# state across restarts

def test_state_survives_restart(machined, machined_leaders, machined_signals):
    m = machined.manager()
    started = {}
    for i in range(5):
        _, leader = machined_leaders.start()
        name = f"keep{i}"
        if i % 2:
            register(machined, name, leader, service=f"svc{i}", root=f"/srv/{i}")
        else:
            m.CreateMachineWithNetwork(name, dbus.Array(list(os.urandom(16)), signature="y"), f"svc{i}", "container",
                                       dbus.UInt32(leader), f"/srv/{i}", dbus.Array([1, 2], signature="i"),
                                       props(("TasksMax", dbus.UInt64(100))))
        started[name] = leader
    before = {name: machine_props(machined, name) for name in started}

    # The files systemd's tools read.
    text = (machined.state_dir / "keep0").read_text()
    for key in ("NAME=keep0", "UNIT=machine-keep0.scope", "CLASS=container", f"LEADER={started['keep0']}",
                "NETIF=1 2", "ROOT=/srv/0", "SERVICE=svc0"):
        assert key + "\n" in text, key
    assert os.readlink(machined.state_dir / "unit:machine-keep0.scope") == "keep0"

    first_pid = machined.proc.pid
    machined.stop(signal.SIGKILL)
    assert machined.proc.returncode == -signal.SIGKILL
    # One machine dies while nobody watches.
    victim = "keep3"
    victim_scope = machined.scope_dirs(victim)
    os.kill(started[victim], signal.SIGKILL)
    assert wait_gone(started[victim])
    machined.start()
    assert machined.proc.pid != first_pid
    m = machined.manager()  # the old proxy is bound to the previous instance's unique name

    survivors = sorted(n for n in started if n != victim)
    assert [x[0] for x in list_machines(machined)] == survivors
    for name in survivors:
        assert machine_props(machined, name) == before[name], name
    assert dbus_error(m.GetMachine, victim)[0] == ERR + "NoSuchMachine"
    assert not (machined.state_dir / victim).exists()
    assert not (machined.state_dir / f"unit:machine-{victim}.scope").exists()
    wait_for(lambda: not any(os.path.exists(d) for d in victim_scope.values()), what="cgroup of the dead machine removed")
    # The adopted machines are tracked like new ones: leader exit removes them.
    watcher = machined_signals
    os.kill(started["keep0"], signal.SIGKILL)
    watcher.wait("MachineRemoved", "keep0")


def test_second_instance_refuses_and_names_owner(machined, _resources):
    other = Machined(machined.bus, _resources.mkdtemp("second"))
    try:
        proc = other.start(wait=False)
        rc = proc.wait(timeout=10)
        log = other.log_text()
        assert rc != 0
        assert re.search(r"already owned by :1\.\d+ \(pid %d, machined\)" % machined.proc.pid, log), log
        # It did not touch the state or the bus name of the first one.
        assert machined.connection().name_has_owner(BUS_NAME)
    finally:
        other.cleanup()


# ---------------------------------------------------------------------------------------------
# what runs inside machines: os-release, uid shift, addresses, ptys, login, shells

def test_machine_queries(machined, machined_leaders):
    m = machined.manager()
    _, leader = machined_leaders.start()
    create(machined, "q", leader)
    release = unwrap(m.GetMachineOSRelease("q"))
    assert release["ID"] == "busybox-test" and release["PRETTY_NAME"] == "BusyBox test tree"
    assert unwrap(machined.machine("q").GetOSRelease()) == release
    assert int(m.GetMachineUIDShift("q")) == 0
    assert int(machined.machine("q").GetUIDShift()) == 0
    # A container with its own network namespace: only loopback, which is not reported.
    _, netleader = machined_leaders.start("--private-network")
    create(machined, "net", netleader)
    assert unwrap(m.GetMachineAddresses("net")) == []
    assert unwrap(machined.machine("net").GetAddresses()) == []
    assert dbus_error(m.GetMachineAddresses, "q")[0] == ERR + "NoPrivateNetworking"
    # A host machine reports the host's data.
    host = machined_leaders.sleeper()
    create(machined, "hostish", host.pid, cls="host")
    assert unwrap(m.GetMachineOSRelease("hostish"))["ID"]
    assert int(m.GetMachineUIDShift("hostish")) == 0


def test_open_pty_in_container(machined, machined_leaders):
    _, leader = machined_leaders.start()
    create(machined, "pty", leader)
    fd, path = machined.manager().OpenMachinePTY("pty")
    master = fd.take()
    try:
        assert re.fullmatch(r"/dev/pts/\d+", str(path)), path
        # The pty belongs to the container's own devpts: its slave exists there.
        slave_path = f"/proc/{leader}/root{path}"
        assert os.path.exists(slave_path)
        slave = os.open(slave_path, os.O_RDWR | os.O_NOCTTY)
        try:
            os.write(slave, b"ping\n")
            assert read_pty_until(master, rb"ping")
        finally:
            os.close(slave)
    finally:
        os.close(master)
    fd, path = machined.machine("pty").OpenPTY()
    os.close(fd.take())


def test_open_login(machined, machined_leaders):
    _, leader = machined_leaders.start()
    create(machined, "login", leader)
    for opener in (lambda: machined.manager().OpenMachineLogin("login"), lambda: machined.machine("login").OpenLogin()):
        fd, path = opener()
        master = fd.take()
        try:
            assert re.fullmatch(r"/dev/pts/\d+", str(path))
            assert read_pty_until(master, rb"login: ")
        finally:
            os.close(master)


def test_shell_exit_status_and_environment(machined, machined_leaders):
    m = machined.manager()
    _, leader = machined_leaders.start()
    create(machined, "sh", leader)

    def shell(user, path, args, env=("TERM=xterm",)):
        fd, _ = m.OpenMachineShell("sh", user, path, dbus.Array(args, "s"), dbus.Array(list(env), "s"))
        master = fd.take()
        try:
            return read_pty_until_eof(master)
        finally:
            os.close(master)

    out = shell("", "/bin/sh", ["/bin/sh", "-c", 'echo "out:$FOO:$(id -u):$(hostname)"; exit 7'], ["FOO=bar", "TERM=xterm"])
    assert b"out:bar:0:" in out, out
    end = OSC_END_RE.findall(out)
    assert end and end[-1][1] == b"failure" and end[-1][3] == b"7", out
    assert out.rstrip().endswith(b"\x1b\\"), "the status is the last thing on the pty"
    out = shell("tester", "/bin/sh", ["/bin/sh", "-c", "id -u; kill -TERM $$"])
    assert b"1000" in out
    end = OSC_END_RE.findall(out)
    assert end and end[-1][1] == b"interrupt" and end[-1][4] == b"SIGTERM", out
    out = shell("", "/bin/echo", [])  # empty args: argv is [path]
    assert OSC_END_RE.findall(out)[-1][3] == b"0"
    # A client without a terminal (no TERM, or TERM=dumb) gets only what the command wrote.
    for env in ([], ["TERM=dumb"]):
        out = shell("", "/bin/sh", ["/bin/sh", "-c", 'echo "term:$TERM"; exit 4'], env)
        assert b"\x1b]3008" not in out, (env, out)
        assert out.replace(b"\r\n", b"\n") == b"term:" + (b"dumb" if env else b"vt220") + b"\n", out

    # Default: the user's login shell, interactively.
    fd, _ = machined.machine("sh").OpenShell("tester", "", dbus.Array([], "s"), dbus.Array(["TERM=xterm"], "s"))
    master = fd.take()
    try:
        os.write(master, b"echo me=$(id -un) home=$HOME; exit 3\n")
        out = read_pty_until_eof(master)
    finally:
        os.close(master)
    assert b"me=tester home=/home/tester" in out, out
    assert OSC_END_RE.findall(out)[-1][3] == b"3"


def test_shell_runs_in_the_machine_and_ends_with_it(machined, machined_leaders, machined_signals):
    _, leader = machined_leaders.start()
    create(machined, "inside", leader)
    fd, _ = machined.manager().OpenMachineShell("inside", "", "/bin/sh", dbus.Array(["/bin/sh", "-c", "echo started; sleep 60"], "s"),
                                                dbus.Array([], "s"))
    master = fd.take()
    try:
        read_pty_until(master, rb"started")

        def scope_procs():
            procs = set()
            for d in machined.scope_dirs("inside").values():
                with open(os.path.join(d, "cgroup.procs")) as f:
                    procs |= {int(x) for x in f.read().split()}
            return procs

        def comm(pid):
            try:
                with open(f"/proc/{pid}/comm") as f:
                    return f.read().strip()
            except OSError:
                return ""

        # The session (its supervisor and the shell, which execs sleep) is in the machine's scope...
        wait_for(lambda: any(comm(p) == "sleep" for p in scope_procs()), what="the shell's sleep in the scope")
        procs = scope_procs()
        assert leader in procs and len(procs) >= 3, procs  # leader, supervisor, sleep
        sleep_pid = next(p for p in procs if comm(p) == "sleep")
        # ...in the container's namespaces...
        for ns in ("pid", "mnt", "uts", "ipc"):
            assert os.readlink(f"/proc/{sleep_pid}/ns/{ns}") == os.readlink(f"/proc/{leader}/ns/{ns}"), ns
        # ...and goes away with the machine: the pty hangs up.
        machined.manager().TerminateMachine("inside")
        machined_signals.wait("MachineRemoved", "inside")
        read_pty_until_eof(master)
    finally:
        os.close(master)


# ---------------------------------------------------------------------------------------------
# systemd's machinectl against our machined

def test_machinectl(machined, machined_leaders, machined_signals):
    _, leader = machined_leaders.start()
    create(machined, "mctl", leader, service="berth-test", root="/srv/mctl")
    bus = machined.bus

    cp = machinectl(bus, "list")
    assert cp.returncode == 0, cp.stderr
    assert re.search(r"^mctl\s+container\s+berth-test\s+busybox-test\s+1\b", cp.stdout, re.M), cp.stdout
    assert "1 machines listed." in cp.stdout

    cp = machinectl(bus, "status", "mctl")
    assert cp.returncode == 0, cp.stderr
    for needle in (f"Leader: {leader}", "Service: berth-test; class container", "Root: /srv/mctl",
                   "OS: BusyBox test tree", "Unit: machine-mctl.scope"):
        assert needle in cp.stdout, (needle, cp.stdout)

    cp = machinectl(bus, "show", "mctl")
    assert cp.returncode == 0, cp.stderr
    shown = dict(line.split("=", 1) for line in cp.stdout.splitlines() if "=" in line)
    assert shown["Name"] == "mctl" and shown["Class"] == "container" and shown["Leader"] == str(leader)
    assert shown["Unit"] == "machine-mctl.scope" and shown["State"] == "running"

    cp = machinectl(bus, "shell", "mctl", "/bin/echo", "hi")
    assert cp.returncode == 0, cp.stderr
    assert re.search(r"(^|[\n\\])hi\r?\n", cp.stdout), cp.stdout
    assert OSC_END_RE.search(cp.stdout.encode()).group(4) == b"0"
    cp = machinectl(bus, "shell", "mctl", "/bin/sh", "-c", "exit 5")
    assert OSC_END_RE.search(cp.stdout.encode()).group(4) == b"5", cp.stdout
    # It passes its own TERM: with TERM=dumb or none "$(machinectl shell ...)" is just the output.
    for term in ("dumb", None):
        cp = machinectl(bus, "shell", "-q", "mctl", "/bin/echo", "hi", env={"TERM": term})
        assert cp.returncode == 0, cp.stderr
        assert "\x1b" not in cp.stdout and re.fullmatch(r"hi\r?\n", cp.stdout), (term, cp.stdout)

    # kill: SIGTERM to all processes. A container's PID 1 only gets the signals it handles.
    _, leader = machined_leaders.start(command=("trap", "TERM", "0"))
    create(machined, "mctl1", leader)
    cp = machinectl(bus, "kill", "mctl1")
    assert cp.returncode == 0, cp.stderr
    machined_signals.wait("MachineRemoved", "mctl1")

    _, leader = machined_leaders.start(command=("trap", "RTMIN+4", "0"))
    create(machined, "mctl2", leader)
    cp = machinectl(bus, "poweroff", "mctl2")  # SIGRTMIN+4 to the leader
    assert cp.returncode == 0, cp.stderr
    machined_signals.wait("MachineRemoved", "mctl2")

    _, leader = machined_leaders.start()
    create(machined, "mctl3", leader)
    cp = machinectl(bus, "terminate", "mctl3")
    assert cp.returncode == 0, cp.stderr
    machined_signals.wait("MachineRemoved", "mctl3")
    assert wait_gone(leader)

    cp = machinectl(bus, "status", "nope")
    assert cp.returncode != 0 and "nope" in cp.stderr
    # The first machine is untouched by all that.
    assert machine_props(machined, "mctl")["State"] == "running"


# ---------------------------------------------------------------------------------------------
# images

def test_images(machined):
    img = machined.pool / "img1"
    (img / "etc").mkdir(parents=True)
    (img / "etc" / "os-release").write_text('ID=imgos\nPRETTY_NAME="Image OS"\n')
    (img / "etc" / "hostname").write_text("imghost\n")
    (img / "etc" / "machine-id").write_text("0123456789abcdef0123456789abcdef\n")
    (img / "etc" / "machine-info").write_text("PRETTY_HOSTNAME=Pretty\n")
    (machined.pool / "disk.raw").write_bytes(b"\0" * 4096)
    (machined.pool / "not-an-image.txt").write_text("x")
    m = machined.manager()
    images = {i[0]: i for i in unwrap(m.ListImages())}
    assert set(images) == {".host", "img1", "disk"}, images
    assert images["img1"][1] == "directory" and images["disk"][1] == "raw"
    assert images["img1"][6] == f"{MANAGER_PATH}/image/img1"
    assert str(m.GetImage("img1")) == f"{MANAGER_PATH}/image/img1"
    assert str(m.GetImage("disk")) == f"{MANAGER_PATH}/image/disk"
    p = machined.properties(f"{MANAGER_PATH}/image/img1")
    assert p["Name"] == "img1" and p["Path"] == str(img) and p["Type"] == "directory" and p["ReadOnly"] is False
    assert p["ModificationTimestamp"] > 0 and set(p) == set(V262_IMAGE_PROPERTIES)
    obj = dbus.Interface(machined.connection().get_object(BUS_NAME, f"{MANAGER_PATH}/image/img1"), IMAGE_IFACE)
    assert unwrap(obj.GetOSRelease()) == {"ID": "imgos", "PRETTY_NAME": "Image OS"}
    assert str(obj.GetHostname()) == "imghost"
    assert unwrap(obj.GetMachineID()) == bytes.fromhex("0123456789abcdef0123456789abcdef")
    assert unwrap(obj.GetMachineInfo()) == {"PRETTY_HOSTNAME": "Pretty"}
    raw = dbus.Interface(machined.connection().get_object(BUS_NAME, f"{MANAGER_PATH}/image/disk"), IMAGE_IFACE)
    # Raw images are dissected and mounted read-only to be read; this one has nothing in it.
    err = dbus_error(raw.GetOSRelease)
    assert err[0] == "org.freedesktop.DBus.Error.Failed" and "no partition table" in err[1], err
    assert dbus_error(m.GetImage, "nope")[0] == ERR + "NoSuchImage"
    assert machined.properties(f"{MANAGER_PATH}/image/{bus_label_escape('.host')}")["Path"] == "/"


# ---------------------------------------------------------------------------------------------
# Varlink io.systemd.Machine

def test_varlink(machined, machined_leaders, machined_signals):
    _, leader = machined_leaders.start()
    create(machined, "vl1", leader)
    c = VarlinkClient(machined.varlink_socket)
    try:
        info = c.call("org.varlink.service.GetInfo")[0]["parameters"]
        assert "io.systemd.Machine" in info["interfaces"]
        desc = c.call("org.varlink.service.GetInterfaceDescription", {"interface": "io.systemd.Machine"})
        assert "method List(" in desc[0]["parameters"]["description"]

        r = c.call("io.systemd.Machine.List", {"name": "vl1"})
        p = r[0]["parameters"]
        assert p["name"] == "vl1" and p["class"] == "container" and p["leader"]["pid"] == leader
        assert p["unit"] == "machine-vl1.scope" and "controlAddress" not in p
        assert c.call("io.systemd.Machine.List", {"pid": {"pid": leader}})[0]["parameters"]["name"] == "vl1"
        meta = c.call("io.systemd.Machine.List", {"name": "vl1", "acquireMetadata": "yes"})[0]["parameters"]
        assert "ID=busybox-test" in meta["OSRelease"] and meta["UIDShift"] == 0
        assert c.call("io.systemd.Machine.List", {"name": "nope"})[0]["error"] == "io.systemd.Machine.NoSuchMachine"
        assert c.call("io.systemd.Machine.List", {})[0]["error"] == "org.varlink.service.ExpectedMore"
        assert c.call("io.systemd.Machine.List", {"name": 5})[0]["error"] == "org.varlink.service.InvalidParameter"
        assert c.call("io.systemd.Machine.Nope", {})[0]["error"] == "org.varlink.service.MethodNotFound"

        # Register (with a scope, like CreateMachine), visible on D-Bus too.
        _, leader2 = machined_leaders.start()
        r = c.call("io.systemd.Machine.Register", {"name": "vl2", "class": "container", "service": "vls",
                                                   "leaderProcessId": {"pid": leader2}, "allocateUnit": True,
                                                   "rootDirectory": "/srv/vl2", "id": "00112233445566778899aabbccddeeff"})
        assert "error" not in r[0], r
        machined_signals.wait("MachineNew", "vl2")
        p = machine_props(machined, "vl2")
        assert p["Leader"] == leader2 and p["Unit"] == "machine-vl2.scope" and p["Service"] == "vls"
        assert p["Id"] == bytes.fromhex("00112233445566778899aabbccddeeff")
        assert c.call("io.systemd.Machine.Register", {"name": "vl2", "class": "container", "leader": leader2})[0]["error"] \
            == "io.systemd.Machine.MachineExists"
        assert c.call("io.systemd.Machine.Register", {"name": "../x", "class": "container", "leader": leader2})[0]["error"] \
            == "org.varlink.service.InvalidParameter"
        assert c.call("io.systemd.Machine.Register", {"name": "one", "class": "container", "leader": 1})[0]["error"] \
            == "org.varlink.service.InvalidParameter"

        everything = c.call("io.systemd.Machine.List", {}, more=True)
        assert sorted(x["parameters"]["name"] for x in everything) == [".host", "vl1", "vl2"]
        assert [bool(x.get("continues")) for x in everything] == [True, True, False]

        assert "error" not in c.call("io.systemd.Machine.Kill", {"name": "vl2", "whom": "leader", "signal": signal.SIGSTOP})[0]
        wait_for(lambda: proc_state(leader2) == "T", what="stopped by Varlink Kill")
        assert "error" not in c.call("io.systemd.Machine.Kill", {"name": "vl2", "signal": signal.SIGCONT})[0]
        wait_for(lambda: proc_state(leader2) != "T", what="continued by Varlink Kill")
        assert c.call("io.systemd.Machine.Kill", {"name": "vl2", "whom": "x", "signal": 9})[0]["error"] \
            == "org.varlink.service.InvalidParameter"
        assert "error" not in c.call("io.systemd.Machine.Terminate", {"name": "vl2"})[0]
        machined_signals.wait("MachineRemoved", "vl2")
        assert "error" not in c.call("io.systemd.Machine.Unregister", {"name": "vl1"})[0]
        machined_signals.wait("MachineRemoved", "vl1")
        assert c.call("io.systemd.Machine.Terminate", {"name": "vl1"})[0]["error"] == "io.systemd.Machine.NoSuchMachine"
        assert [x["parameters"]["name"] for x in c.call("io.systemd.Machine.List", {}, more=True)] == [".host"]
    finally:
        c.close()

    # Not JSON: the connection is dropped, the server lives on.
    import socket
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(str(machined.varlink_socket))
    s.sendall(b"{not json\0")
    assert s.recv(100) == b""
    s.close()


def test_host_machine(machined):
    """.host: the host as a machine of class host (PID 1, "/"), listed, looked at and entered, never
    stopped, signalled or unregistered."""
    m = machined.manager()
    assert (".host", "host", "", f"{MANAGER_PATH}/machine/_2ehost") in [tuple(map(str, x)) for x in m.ListMachines()]
    assert str(m.GetMachine(".host")) == f"{MANAGER_PATH}/machine/_2ehost"
    assert str(m.GetMachineByPID(dbus.UInt32(1))) == f"{MANAGER_PATH}/machine/_2ehost"
    p = machine_props(machined, ".host")
    assert p["Name"] == ".host" and p["Class"] == "host" and p["Leader"] == 1 and p["RootDirectory"] == "/", p
    with open("/etc/machine-id") as f:
        assert p["Id"].hex() == f.read().strip()
    assert unwrap(m.GetMachineOSRelease(".host")).get("ID") == host_os_release_id()
    for call in (lambda: m.TerminateMachine(".host"), lambda: m.KillMachine(".host", "all", 15),
                 lambda: m.KillMachine(".host", "leader", 0 + 18), lambda: m.UnregisterMachine(".host")):
        assert dbus_error(call)[0] == "org.freedesktop.DBus.Error.NotSupported"
    assert ".host" in [x[0] for x in unwrap(m.ListMachines())]

    fd, _ = m.OpenMachineShell(".host", "", "/bin/sh", dbus.Array(["/bin/sh", "-c", "echo host:$(cat /etc/machine-id)"], "s"),
                               dbus.Array([], "s"))
    master = fd.take()
    try:
        out = read_pty_until_eof(master)
    finally:
        os.close(master)
    assert ("host:" + p["Id"].hex()).encode() in out, out

    c = VarlinkClient(machined.varlink_socket)
    try:
        r = c.call("io.systemd.Machine.List", {"name": ".host"})[0]["parameters"]
        assert r["name"] == ".host" and r["class"] == "host" and r["leader"]["pid"] == 1, r
        for method, params in (("Terminate", {"name": ".host"}), ("Kill", {"name": ".host", "signal": 15}),
                               ("Unregister", {"name": ".host"})):
            assert c.call(f"io.systemd.Machine.{method}", params)[0]["error"] == "io.systemd.Machine.NotSupported"
    finally:
        c.close()
    assert not (machined.state_dir / ".host").exists()


def test_copy_argument_checks(machined, machined_leaders, tmp_path):
    _, leader = machined_leaders.start()
    create(machined, "cp", leader)
    m = machined.manager()
    (tmp_path / "f").write_text("x")
    assert dbus_error(m.CopyToMachineWithFlags, "cp", str(tmp_path / "f"), "/tmp/f", dbus.UInt64(2))[0] == INVALID_ARGS
    assert dbus_error(m.CopyToMachine, "cp", "relative", "/tmp/f")[0] == INVALID_ARGS
    assert dbus_error(m.CopyFromMachine, "cp", "/etc/os-release", "relative")[0] == INVALID_ARGS
    assert dbus_error(m.CopyFromMachine, ".host", "/etc/os-release", str(tmp_path / "h"))[0] == \
        "org.freedesktop.DBus.Error.NotSupported"
    assert dbus_error(m.CopyFromMachine, "nope", "/a", "/b")[0] == ERR + "NoSuchMachine"
    m.CopyToMachine("cp", str(tmp_path / "f"), "/tmp/f")
    assert open(f"/proc/{leader}/root/tmp/f").read() == "x"
    machined.machine("cp").CopyFromWithFlags("/tmp/f", str(tmp_path / "f"), dbus.UInt64(1))
    assert not os.path.exists(tmp_path / "g")

    # The machine's root as an fd.
    fd = m.OpenMachineRootDirectory("cp").take()
    try:
        assert open(f"/proc/self/fd/{fd}/tmp/f").read() == "x"
        assert os.path.samestat(os.fstat(fd), os.stat(f"/proc/{leader}/root"))
    finally:
        os.close(fd)
    fd = machined.machine("cp").OpenRootDirectory().take()
    os.close(fd)

    # The Varlink counterparts.
    c = VarlinkClient(machined.varlink_socket)
    try:
        (tmp_path / "v").write_text("over varlink\n")
        assert "error" not in c.call("io.systemd.Machine.CopyTo", {"name": "cp", "source": str(tmp_path / "v"),
                                                                   "destination": "/tmp/v"})[0]
        assert open(f"/proc/{leader}/root/tmp/v").read() == "over varlink\n"
        r = c.call("io.systemd.Machine.CopyTo", {"name": "cp", "source": str(tmp_path / "v"), "destination": "/tmp/v"})
        assert r[0]["error"] == "io.systemd.System" and r[0]["parameters"]["errno"] == errno.EEXIST, r
        assert "error" not in c.call("io.systemd.Machine.CopyTo", {"name": "cp", "source": str(tmp_path / "v"),
                                                                   "destination": "/tmp/v", "replace": True})[0]
        assert "error" not in c.call("io.systemd.Machine.CopyFrom", {"name": "cp", "source": "/tmp/v",
                                                                     "destination": str(tmp_path / "w")})[0]
        assert (tmp_path / "w").read_text() == "over varlink\n"
        assert c.call("io.systemd.Machine.CopyFrom", {"name": "cp"})[0]["error"] == "org.varlink.service.InvalidParameter"
        assert c.call("io.systemd.Machine.CopyFrom", {"name": ".host", "source": "/etc/hostname",
                                                      "destination": str(tmp_path / "h")})[0]["error"] \
            == "io.systemd.Machine.NotSupported"
        assert "error" not in c.call("io.systemd.Machine.BindMount", {"name": "cp", "source": str(tmp_path),
                                                                      "destination": "/tmp/b", "mkdir": True,
                                                                      "readOnly": True})[0]
        assert open(f"/proc/{leader}/root/tmp/b/v").read() == "over varlink\n"
    finally:
        c.close()


def host_os_release_id():
    for path in ("/etc/os-release", "/usr/lib/os-release"):
        if os.path.exists(path):
            with open(path) as f:
                for line in f:
                    if line.startswith("ID="):
                        return line[3:].strip().strip('"')
    return None


def test_varlink_register_without_leader(machined, machined_signals):
    """Register without a leader keeps the machine until Unregister (the registering tool is
    short-lived and not the leader); acquireMetadata=yes fails where there is no os-release to read,
    graceful does not."""
    c = VarlinkClient(machined.varlink_socket)
    try:
        r = c.call("io.systemd.Machine.Register", {"name": "noleader", "class": "container", "service": "tool"})
        assert "error" not in r[0], r
        machined_signals.wait("MachineNew", "noleader")
        time.sleep(0.5)  # the caller (this connection) is long done with its request
        p = c.call("io.systemd.Machine.List", {"name": "noleader"})[0]["parameters"]
        assert p["name"] == "noleader" and "leader" not in p and "unit" not in p, p
        assert machine_props(machined, "noleader")["Leader"] == 0
        assert c.call("io.systemd.Machine.List", {"name": "noleader", "acquireMetadata": "yes"})[0]["error"] \
            == "io.systemd.Machine.NoOSReleaseInformation"
        p = c.call("io.systemd.Machine.List", {"name": "noleader", "acquireMetadata": "graceful"})[0]["parameters"]
        assert p["name"] == "noleader" and "OSRelease" not in p, p
        # No leader, no user namespace to map IDs through.
        assert c.call("io.systemd.Machine.MapFrom", {"name": "noleader", "uid": 0})[0]["error"] \
            == "io.systemd.Machine.NoSuchUser"
        # A restarted machined keeps it.
        c.close()
        machined.stop()
        machined.start()
        c = VarlinkClient(machined.varlink_socket)
        assert c.call("io.systemd.Machine.List", {"name": "noleader"})[0]["parameters"]["name"] == "noleader"
        # A unit needs processes to put in it.
        r = c.call("io.systemd.Machine.Register", {"name": "noleader2", "class": "container", "allocateUnit": True})
        assert r[0]["error"] == "org.varlink.service.InvalidParameter", r
        assert "noleader2" not in [x[0] for x in list_machines(machined)]
        assert "noleader" in [x[0] for x in list_machines(machined)]
        assert "error" not in c.call("io.systemd.Machine.Unregister", {"name": "noleader"})[0]
        machined_signals.wait("MachineRemoved", "noleader")
        # Terminate ends one as well: nothing runs that could be stopped.
        assert "error" not in c.call("io.systemd.Machine.Register", {"name": "noleader", "class": "vm"})[0]
        assert "error" not in c.call("io.systemd.Machine.Terminate", {"name": "noleader"})[0]
        assert c.call("io.systemd.Machine.List", {"name": "noleader"})[0]["error"] == "io.systemd.Machine.NoSuchMachine"
    finally:
        c.close()
    assert not (machined.state_dir / "noleader").exists()


def test_errors_agree_across_transports(machined, machined_leaders):
    """The same bad request over D-Bus and over Varlink fails the same way: both bindings map the
    model's errno in its context through one table (src/machined/machine-error.c). Kill's ESRCH
    is the process being gone, not an unknown machine, as in systemd-machined."""
    _, leader = machined_leaders.start()
    # Registered over Varlink, which records no supervisor (over D-Bus, the caller — this test —
    # would be the supervisor, and "kill the supervisor" would signal us).
    c = VarlinkClient(machined.varlink_socket)
    assert "error" not in c.call("io.systemd.Machine.Register", {"name": "agree", "class": "container",
                                                                 "leader": leader, "allocateUnit": True})[0]
    assert machine_props(machined, "agree")["Supervisor"] == 0
    dead = machined_leaders.sleeper()
    dead.kill()
    dead.wait()
    # A machine whose supervisor (the registering client) has exited.
    _, leader2 = machined_leaders.start()
    subprocess.run(["/usr/bin/python3", "-c", (
        "import dbus\n"
        f"bus = dbus.bus.BusConnection({machined.bus.address!r})\n"
        f"m = dbus.Interface(bus.get_object({BUS_NAME!r}, {MANAGER_PATH!r}), {MANAGER_IFACE!r})\n"
        f"m.RegisterMachine('nosup', dbus.Array([], 'y'), 'svc', 'container', dbus.UInt32({leader2}), '')\n")],
        check=True, timeout=DEFAULT_TIMEOUT)
    assert machine_props(machined, "nosup")["Supervisor"] > 0
    m = machined.manager()
    register_args = {"class": "container", "service": "svc"}
    SYSTEM = "io.systemd.System"
    VL_INVALID = "org.varlink.service.InvalidParameter"
    # (what, D-Bus call, Varlink method and parameters, D-Bus error, Varlink error, Varlink error parameters)
    cases = [
        ("unknown machine: kill", lambda: m.KillMachine("nope", "all", 15),
         ("Kill", {"name": "nope", "signal": 15}), ERR + "NoSuchMachine", "io.systemd.Machine.NoSuchMachine", {}),
        ("unknown machine: terminate", lambda: m.TerminateMachine("nope"),
         ("Terminate", {"name": "nope"}), ERR + "NoSuchMachine", "io.systemd.Machine.NoSuchMachine", {}),
        ("unknown machine: unregister", lambda: m.UnregisterMachine("nope"),
         ("Unregister", {"name": "nope"}), ERR + "NoSuchMachine", "io.systemd.Machine.NoSuchMachine", {}),
        ("dead leader", lambda: create(machined, "deadleader", dead.pid),
         ("Register", {"name": "deadleader", "leader": dead.pid, **register_args}),
         "org.freedesktop.DBus.Error.UnixProcessIdUnknown", VL_INVALID, {"parameter": "leader"}),
        ("leader is PID 1", lambda: register(machined, "pidone", 1),
         ("Register", {"name": "pidone", "leader": 1, **register_args}), INVALID_ARGS, VL_INVALID, {"parameter": "leader"}),
        ("invalid name", lambda: create(machined, "../x", leader),
         ("Register", {"name": "../x", "leader": leader, **register_args}), INVALID_ARGS, VL_INVALID, {"parameter": "name"}),
        ("invalid class", lambda: create(machined, "badclass", leader, "svc", "toaster"),
         ("Register", {"name": "badclass", "leader": leader, "class": "toaster"}), INVALID_ARGS, VL_INVALID,
         {"parameter": "class"}),
        ("relative root", lambda: create(machined, "relroot", leader, "svc", "container", "rel/root"),
         ("Register", {"name": "relroot", "leader": leader, "rootDirectory": "rel/root", **register_args}),
         INVALID_ARGS, VL_INVALID, {"parameter": "rootDirectory"}),
        ("name taken", lambda: create(machined, "agree", leader),
         ("Register", {"name": "agree", "leader": leader, **register_args}), ERR + "MachineExists",
         "io.systemd.Machine.MachineExists", {}),
        ("wrong signal", lambda: m.KillMachine("agree", "all", 0),
         ("Kill", {"name": "agree", "signal": 0}), INVALID_ARGS, VL_INVALID, {"parameter": "signal"}),
        ("signal out of range", lambda: m.KillMachine("agree", "leader", 1000),
         ("Kill", {"name": "agree", "whom": "leader", "signal": 1000}), INVALID_ARGS, VL_INVALID, {"parameter": "signal"}),
        ("unknown whom", lambda: m.KillMachine("agree", "bogus", 15),
         ("Kill", {"name": "agree", "whom": "bogus", "signal": 15}), INVALID_ARGS, VL_INVALID, {"parameter": "whom"}),
        ("no supervisor", lambda: m.KillMachine("agree", "supervisor", 15),
         ("Kill", {"name": "agree", "whom": "supervisor", "signal": 15}), INVALID_ARGS, VL_INVALID, {"parameter": "whom"}),
        ("supervisor gone", lambda: m.KillMachine("nosup", "supervisor", 15),
         ("Kill", {"name": "nosup", "whom": "supervisor", "signal": 15}),
         "org.freedesktop.DBus.Error.UnixProcessIdUnknown", SYSTEM, {"errno": 3}),
        # ID mapping: contexts of their own, since the names differ for users and groups.
        ("no machine maps the uid", lambda: m.MapToMachineUser(4000000000), ("MapTo", {"uid": 4000000000}),
         ERR + "NoSuchUserMapping", "io.systemd.Machine.NoSuchUser", {}),
        ("gid in the host's range", lambda: m.MapToMachineGroup(100), ("MapTo", {"gid": 100}),
         ERR + "NoSuchGroupMapping", "io.systemd.Machine.GroupInHostRange", {}),
        ("map from an unknown machine", lambda: m.MapFromMachineUser("nope", 0), ("MapFrom", {"name": "nope", "uid": 0}),
         ERR + "NoSuchMachine", "io.systemd.Machine.NoSuchMachine", {}),
        ("map from the host", lambda: m.MapFromMachineGroup(".host", 0), ("MapFrom", {"name": ".host", "gid": 0}),
         "org.freedesktop.DBus.Error.NotSupported", "io.systemd.Machine.NotSupported", {}),
        ("invalid uid", lambda: m.MapFromMachineUser("agree", 0xFFFFFFFF), ("MapFrom", {"name": "agree", "uid": 0xFFFFFFFF}),
         INVALID_ARGS, VL_INVALID, {"parameter": "uid"}),
    ]
    try:
        got, want = [], []
        for what, dbus_call, (method, params), dbus_name, varlink_name, varlink_params in cases:
            d = dbus_error(dbus_call)[0]
            reply = c.call(f"io.systemd.Machine.{method}", params)[0]
            got.append((what, d, reply.get("error"), reply.get("parameters") or {}))
            want.append((what, dbus_name, varlink_name, varlink_params))
        assert got == want
    finally:
        c.close()
    # Nothing was registered by the failed requests, nothing was signalled.
    assert sorted(x[0] for x in list_machines(machined)) == ["agree", "nosup"]
    assert proc_state(leader) not in ("Z", "T") and proc_state(leader2) not in ("Z", "T")


def test_varlink_unprivileged(machined, machined_leaders):
    _, leader = machined_leaders.start()
    create(machined, "vlp", leader)
    script = (
        "import socket, json, sys\n"
        "s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])\n"
        "out = []\n"
        "for m in json.loads(sys.argv[2]):\n"
        "    s.sendall(json.dumps(m).encode() + b'\\0')\n"
        "    buf = b''\n"
        "    while not buf.endswith(b'\\0'):\n"
        "        buf += s.recv(65536)\n"
        "    out.append(json.loads(buf[:-1]).get('error', 'ok'))\n"
        "print(json.dumps(out))\n")
    calls = [{"method": "io.systemd.Machine.List", "parameters": {"name": "vlp"}},
             {"method": "io.systemd.Machine.Register", "parameters": {"name": "evil", "class": "container", "leader": leader}},
             {"method": "io.systemd.Machine.Unregister", "parameters": {"name": "vlp"}},
             {"method": "io.systemd.Machine.Terminate", "parameters": {"name": "vlp"}},
             {"method": "io.systemd.Machine.Kill", "parameters": {"name": "vlp", "signal": 9}},
             {"method": "io.systemd.Machine.OpenRootDirectory", "parameters": {"name": "vlp"}},
             {"method": "io.systemd.Machine.Open", "parameters": {"name": "vlp", "mode": "tty"}},
             # Mapping is open to everybody, as in systemd.
             {"method": "io.systemd.Machine.MapFrom", "parameters": {"name": "vlp", "uid": 5}},
             {"method": "io.systemd.Machine.MapTo", "parameters": {"uid": 100}}]
    cp = run_as(NOBODY, ["/usr/bin/python3", "-c", script, str(machined.varlink_socket), json.dumps(calls)], machined.bus.env())
    assert cp.returncode == 0, cp.stderr
    assert json.loads(cp.stdout) == (["ok"] + ["org.varlink.service.PermissionDenied"] * 6 +
                                     ["ok", "io.systemd.Machine.UserInHostRange"])
    assert [x[0] for x in list_machines(machined)] == ["vlp"] and proc_state(leader) != "Z"


# ---------------------------------------------------------------------------------------------
# the systemd backend, against a stand-in for systemd's manager (PID 1 is not systemd here)

FAKE_SYSTEMD = r'''
import json, sys
import dbus, dbus.service, dbus.mainloop.glib
from gi.repository import GLib

dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
bus = dbus.bus.BusConnection(sys.argv[1])
IFACE = "org.freedesktop.systemd1.Manager"

def plain(v):
    if isinstance(v, dict):
        return {str(k): plain(x) for k, x in v.items()}
    if isinstance(v, (dbus.Array, list)):
        return [plain(x) for x in v]
    if isinstance(v, (dbus.Struct, tuple)):
        return [plain(x) for x in v]
    if isinstance(v, (bool, dbus.Boolean)):
        return bool(v)
    if isinstance(v, (dbus.String, dbus.ObjectPath)):
        return str(v)
    if isinstance(v, (int, dbus.UInt32, dbus.UInt64, dbus.Int32)):
        return int(v)
    return str(v)

def record(*args):
    print(json.dumps(plain(list(args))), flush=True)

class Manager(dbus.service.Object):
    def __init__(self):
        super().__init__(bus, "/org/freedesktop/systemd1")
        self.jobs = 0

    @dbus.service.method(IFACE, in_signature="", out_signature="")
    def Subscribe(self):
        record("Subscribe")

    @dbus.service.method(IFACE, in_signature="ssa(sv)a(sa(sv))", out_signature="o")
    def StartTransientUnit(self, name, mode, props, aux):
        self.jobs += 1
        job = "/org/freedesktop/systemd1/job/%d" % self.jobs
        record("StartTransientUnit", name, mode, {str(k): plain(v) for k, v in props})
        result = "failed" if "broken" in name else "done"
        jid = self.jobs
        if "early" in name:
            # A quick job: JobRemoved goes out before the method reply.
            self.JobRemoved(jid, job, name, result)
        else:
            GLib.timeout_add(200, lambda: (self.JobRemoved(jid, job, name, result), False)[1])
        return job

    @dbus.service.signal(IFACE, signature="uoss")
    def JobRemoved(self, jid, job, unit, result):
        pass

    @dbus.service.method(IFACE, in_signature="ss", out_signature="o")
    def StopUnit(self, name, mode):
        record("StopUnit", name, mode)
        return "/org/freedesktop/systemd1/job/stop"

    @dbus.service.method(IFACE, in_signature="ssi", out_signature="")
    def KillUnit(self, name, whom, sig):
        record("KillUnit", name, whom, sig)

m = Manager()
name = dbus.service.BusName("org.freedesktop.systemd1", bus)
print(json.dumps(["ready"]), flush=True)
GLib.MainLoop().run()
'''


def test_systemd_backend(machined_bin, machined_bus, machined_leaders, _resources):
    fake = subprocess.Popen(["/usr/bin/python3", "-c", FAKE_SYSTEMD, machined_bus.address], stdout=subprocess.PIPE,
                            text=True)
    machined_leaders.procs.track(fake)
    calls = []

    def next_call(what):
        while True:
            line = fake.stdout.readline()
            assert line, f"stand-in systemd died waiting for {what}"
            call = json.loads(line)
            calls.append(call)
            if call[0] == what:
                return call

    next_call("ready")
    m = Machined(machined_bus, _resources.mkdtemp("machined-sd"))
    unit_dir = None
    try:
        m.start("--cgroup-backend=systemd")
        next_call("Subscribe")
        mgr = m.manager()
        _, leader = machined_leaders.start()
        t0 = time.monotonic()
        path = mgr.CreateMachine("sdm", no_id(), "svc", "container", dbus.UInt32(leader), "",
                                 props(("MemoryMax", dbus.UInt64(1 << 30)), ("Description", "mine")))
        elapsed = time.monotonic() - t0
        assert str(path) == machine_path("sdm")
        assert elapsed >= 0.15, "the reply waits for the start job to complete"
        start = next_call("StartTransientUnit")
        assert start[1:3] == ["machine-sdm.scope", "fail"]
        sent = start[3]
        assert sent["Slice"] == "machine.slice" and sent["Delegate"] is True and sent["PIDs"] == [leader]
        assert sent["MemoryMax"] == 1 << 30, "the caller's scope properties are passed on"
        assert sent["Description"] == "mine"
        p = machine_props(m, "sdm")
        assert p["Unit"] == "machine-sdm.scope" and p["State"] == "running"
        assert "BACKEND=systemd\n" in (m.state_dir / "sdm").read_text()

        mgr.KillMachine("sdm", "all", signal.SIGUSR1)
        assert next_call("KillUnit")[1:] == ["machine-sdm.scope", "all", signal.SIGUSR1]
        mgr.TerminateMachine("sdm")
        assert next_call("StopUnit")[1:] == ["machine-sdm.scope", "replace"]
        # The stand-in does not really stop anything: the leader's exit removes the machine.
        os.kill(leader, signal.SIGKILL)
        wait_for(lambda: "sdm" not in [x[0] for x in list_machines(m)], what="removal")

        # JobRemoved before the StartTransientUnit() reply: the machine still comes up at once.
        _, leader = machined_leaders.start()
        t0 = time.monotonic()
        mgr.CreateMachine("early", no_id(), "", "container", dbus.UInt32(leader), "", props())
        assert time.monotonic() - t0 < 5
        assert machine_props(m, "early")["State"] == "running"
        os.kill(leader, signal.SIGKILL)
        wait_for(lambda: "early" not in [x[0] for x in list_machines(m)], what="removal")

        # A failed start job fails CreateMachine and leaves nothing registered.
        _, leader = machined_leaders.start()
        name, msg = dbus_error(mgr.CreateMachine, "broken", no_id(), "", "container", dbus.UInt32(leader), "", props())
        assert "job result 'failed'" in msg, (name, msg)
        assert list_machines(m) == []

        # RegisterMachine takes the unit the leader is in.
        unified = own_cgroup_dirs().get("") or own_cgroup_dirs()["name=systemd"]
        own = unified[1] if unified[1] != "/" else ""
        unit_dir = os.path.join(unified[0] + own, f"berth-test-{os.getpid()}.slice", "bar.service")
        os.makedirs(unit_dir)
        with open(os.path.join(unit_dir, "cgroup.procs"), "w") as f:
            f.write(str(leader))
        register(m, "reg", leader)
        p = machine_props(m, "reg")
        assert p["Unit"] == "bar.service" and p["Subgroup"] == ""
        assert not [c for c in calls if c[0] == "StartTransientUnit" and c[1] == "machine-reg.scope"]
    finally:
        m.cleanup()
        print(f"--- machined log ---\n{m.log_text()[-20000:]}")
        if unit_dir:
            from machined_fixtures import destroy_cgroup_tree
            destroy_cgroup_tree(os.path.dirname(unit_dir))
