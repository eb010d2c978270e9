# SPDX-License-Identifier: LGPL-2.1-or-later
"""machined and running machines, the parts that need a real container: user and group ID mapping
(MapFrom/MapToMachineUser/Group, Varlink MapFrom/MapTo) for -U and plain machines, Varlink Open and
OpenRootDirectory passing descriptors, copies into -U machines shifting ownership, and operations
cancelled when their machine goes away or refused beyond the bound."""

import array
import fcntl
import json
import os
import re
import signal
import socket
import stat
import time
from pathlib import Path

import dbus
import pytest

from machined_fixtures import NOBODY, STRANGER, VarlinkClient, read_pty_until, run_as
from test_machinectl import Containers, Ctl, ctl, containers, describe, mctl_bin  # noqa: F401  (fixtures)

OPERATIONS_PER_MACHINE_MAX = 64


def bus_error(fn, *args):
    with pytest.raises(dbus.exceptions.DBusException) as e:
        fn(*args)
    return e.value.get_dbus_name()


def varlink_error(client, method, params):
    (reply,) = client.call(method, params)
    return reply.get("error"), reply.get("parameters", {})


class FdVarlinkClient(VarlinkClient):
    """A Varlink client that also receives the descriptors a reply carries (SCM_RIGHTS)."""

    def call_fds(self, method, parameters):
        self.sock.sendall(json.dumps({"method": method, "parameters": parameters}).encode() + b"\0")
        fds = array.array("i")
        while b"\0" not in self.buf:
            data, anc, _, _ = self.sock.recvmsg(65536, socket.CMSG_SPACE(16 * fds.itemsize))
            assert data, "varlink connection closed"
            for level, kind, payload in anc:
                if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                    fds.frombytes(payload[:len(payload) - len(payload) % fds.itemsize])
            self.buf += data
        raw, _, self.buf = self.buf.partition(b"\0")
        return json.loads(raw), list(fds)


@pytest.fixture
def userns_machine(containers):
    """A -U container (--private-users=pick) and its UID shift."""
    p, name, leader = containers.start(None, "-U")
    shift = int(containers.machined.manager().GetMachineUIDShift(name))
    with open(f"/proc/{leader}/uid_map") as f:
        assert f.read().split() == ["0", str(shift), "65536"]
    assert shift >= 0x80000
    return p, name, leader, shift


# ---------------------------------------------------------------------------------------------
# ID mapping

def test_map_over_dbus(containers, userns_machine):
    m = containers.machined.manager()
    _, name, _, shift = userns_machine
    _, plain, _ = containers.start()

    assert int(m.MapFromMachineUser(name, 0)) == shift
    assert int(m.MapFromMachineUser(name, 1000)) == shift + 1000
    assert int(m.MapFromMachineGroup(name, 5)) == shift + 5
    mname, path, inner = m.MapToMachineUser(shift + 7)
    assert (str(mname), int(inner)) == (name, 7) and str(path) == str(m.GetMachine(name))
    mname, _, inner = m.MapToMachineGroup(shift + 65535)
    assert (str(mname), int(inner)) == (name, 65535)

    # Without a user namespace the machine's IDs are the host's; such a machine owns no host ID.
    assert int(m.MapFromMachineUser(plain, 1000)) == 1000
    assert int(m.MapFromMachineGroup(plain, 0)) == 0

    for fn, args, want in (
            (m.MapFromMachineUser, (name, 65536), "org.freedesktop.machine1.NoSuchUserMapping"),
            (m.MapFromMachineGroup, (name, 70000), "org.freedesktop.machine1.NoSuchGroupMapping"),
            (m.MapToMachineUser, (1000,), "org.freedesktop.machine1.NoSuchUserMapping"),    # host range
            (m.MapToMachineGroup, (0,), "org.freedesktop.machine1.NoSuchGroupMapping"),
            (m.MapToMachineUser, (shift + 65536,), "org.freedesktop.machine1.NoSuchUserMapping"),
            (m.MapFromMachineUser, ("nope", 0), "org.freedesktop.machine1.NoSuchMachine"),
            (m.MapFromMachineUser, (".host", 0), "org.freedesktop.DBus.Error.NotSupported"),
            (m.MapFromMachineUser, (name, 0xFFFFFFFF), "org.freedesktop.DBus.Error.InvalidArgs"),
            (m.MapToMachineGroup, (0xFFFFFFFF,), "org.freedesktop.DBus.Error.InvalidArgs")):
        assert bus_error(fn, *args) == want, (fn, args)

    # Open to everybody, as in systemd: machined lets NOBODY through, the shipped bus policy STRANGER.
    for uid in (NOBODY, STRANGER):
        out = run_as(uid, ["busctl", "--json=short", "call", "org.freedesktop.machine1", "/org/freedesktop/machine1",
                           "org.freedesktop.machine1.Manager", "MapToMachineUser", "u", str(shift + 3)],
                     containers.machined.bus.env())
        assert out.returncode == 0, out
        assert json.loads(out.stdout)["data"][2] == 3
        out = run_as(uid, ["busctl", "--json=short", "call", "org.freedesktop.machine1", "/org/freedesktop/machine1",
                           "org.freedesktop.machine1.Manager", "MapFromMachineGroup", "su", name, "4"],
                     containers.machined.bus.env())
        assert out.returncode == 0 and json.loads(out.stdout)["data"][0] == shift + 4, out


def test_map_over_varlink(containers, userns_machine):
    _, name, _, shift = userns_machine
    _, plain, _ = containers.start()
    c = VarlinkClient(containers.machined.varlink_socket)
    try:
        (r,) = c.call("io.systemd.Machine.MapFrom", {"name": name, "uid": 0, "gid": 1})
        assert r["parameters"] == {"uid": shift, "gid": shift + 1}, r
        (r,) = c.call("io.systemd.Machine.MapFrom", {"name": plain, "uid": 1000})
        assert r["parameters"] == {"uid": 1000}, r
        (r,) = c.call("io.systemd.Machine.MapTo", {"uid": shift + 9, "gid": shift + 10})
        assert r["parameters"] == {"uid": 9, "gid": 10, "machineName": name}, r
        for method, params, want in (
                ("MapTo", {"uid": 1000}, "io.systemd.Machine.UserInHostRange"),
                ("MapTo", {"gid": 100}, "io.systemd.Machine.GroupInHostRange"),
                ("MapTo", {"uid": 4000000000}, "io.systemd.Machine.NoSuchUser"),
                ("MapTo", {"gid": 4000000000}, "io.systemd.Machine.NoSuchGroup"),
                ("MapTo", {}, "io.systemd.Machine.NoSuchMachine"),
                ("MapFrom", {"name": name, "uid": 70000}, "io.systemd.Machine.NoSuchUser"),
                ("MapFrom", {"name": name, "gid": 70000}, "io.systemd.Machine.NoSuchGroup"),
                ("MapFrom", {"name": ".host", "uid": 0}, "io.systemd.Machine.NotSupported"),
                ("MapFrom", {"name": "nope", "uid": 0}, "io.systemd.Machine.NoSuchMachine"),
                ("MapFrom", {"name": name, "uid": -1}, "org.varlink.service.InvalidParameter"),
                ("MapFrom", {"name": name, "gid": "x"}, "org.varlink.service.InvalidParameter")):
            err, _ = varlink_error(c, "io.systemd.Machine." + method, params)
            assert err == want, (method, params, err)
    finally:
        c.close()


# ---------------------------------------------------------------------------------------------
# Varlink Open and OpenRootDirectory: descriptors in the reply

def test_varlink_open_root_directory(containers):
    _, name, leader = containers.start()
    c = FdVarlinkClient(containers.machined.varlink_socket)
    try:
        reply, fds = c.call_fds("io.systemd.Machine.OpenRootDirectory", {"name": name})
        assert "error" not in reply, reply
        assert len(fds) == 1 and reply["parameters"] == {"fileDescriptor": 0}, (reply, fds)
        try:
            assert os.fstat(fds[0]).st_ino == os.stat(f"/proc/{leader}/root").st_ino
            with open(os.open("etc/os-release", os.O_RDONLY, dir_fd=fds[0])) as f:
                assert "busybox-test" in f.read()
        finally:
            os.close(fds[0])
        # The connection goes on: a plain reply after one with a descriptor carries none.
        reply, fds = c.call_fds("io.systemd.Machine.List", {"name": name})
        assert reply["parameters"]["name"] == name and fds == []
        reply, fds = c.call_fds("io.systemd.Machine.OpenRootDirectory", {"name": "nope"})
        assert reply["error"] == "io.systemd.Machine.NoSuchMachine" and fds == []
    finally:
        c.close()


def test_varlink_open_modes(containers):
    _, name, leader = containers.start()
    c = FdVarlinkClient(containers.machined.varlink_socket)
    try:
        reply, fds = c.call_fds("io.systemd.Machine.Open", {"name": name, "mode": "tty"})
        assert "error" not in reply and len(fds) == 1, reply
        path = reply["parameters"]["ptyPath"]
        assert re.fullmatch(r"/dev/pts/\d+", path) and reply["parameters"]["ptyFileDescriptor"] == 0
        slave = os.open(f"/proc/{leader}/root{path}", os.O_RDWR | os.O_NOCTTY)
        try:
            os.write(slave, b"ping\n")
            assert read_pty_until(fds[0], rb"ping")
        finally:
            os.close(slave)
            os.close(fds[0])

        reply, fds = c.call_fds("io.systemd.Machine.Open", {
            "name": name, "mode": "shell", "user": "root", "path": "/bin/sh",
            "args": ["/bin/sh", "-c", "echo out-$((6*7)):$FOO"], "environment": ["FOO=bar", "TERM=dumb"]})
        assert "error" not in reply and len(fds) == 1, reply
        try:
            assert read_pty_until(fds[0], rb"out-42:bar")
        finally:
            os.close(fds[0])

        reply, fds = c.call_fds("io.systemd.Machine.Open", {"name": name, "mode": "login"})
        assert "error" not in reply and len(fds) == 1, reply
        try:
            assert read_pty_until(fds[0], rb"login: ")
        finally:
            os.close(fds[0])

        for params, want in (({"name": name, "mode": "bogus"}, "org.varlink.service.InvalidParameter"),
                             ({"name": name}, "org.varlink.service.InvalidParameter"),
                             ({"name": name, "mode": "shell", "path": "bin/sh"}, "org.varlink.service.InvalidParameter"),
                             ({"name": "nope", "mode": "tty"}, "io.systemd.Machine.NoSuchMachine")):
            reply, fds = c.call_fds("io.systemd.Machine.Open", params)
            assert reply.get("error") == want and fds == [], (params, reply)
    finally:
        c.close()
    # Root only, as the D-Bus methods.
    script = ("import json,socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); "
              "s.sendall(json.dumps({'method':'io.systemd.Machine.OpenRootDirectory','parameters':{'name':sys.argv[2]}}).encode()+b'\\0'); "
              "print(s.recv(4096).rstrip(b'\\0').decode())")
    cp = run_as(NOBODY, ["/usr/bin/python3", "-c", script, str(containers.machined.varlink_socket), name],
                containers.machined.bus.env())
    assert json.loads(cp.stdout)["error"] == "org.varlink.service.PermissionDenied", cp


def test_varlink_interface_lists_the_new_methods(containers):
    c = VarlinkClient(containers.machined.varlink_socket)
    try:
        (r,) = c.call("org.varlink.service.GetInterfaceDescription", {"interface": "io.systemd.Machine"})
        desc = r["parameters"]["description"]
        for word in ("method Open(", "method OpenRootDirectory(", "method MapFrom(", "method MapTo(",
                     "error UserInHostRange()", "type MachineOpenMode(tty, login, shell)"):
            assert word in desc, word
    finally:
        c.close()


# ---------------------------------------------------------------------------------------------
# copies into -U machines

def test_copy_shifts_ownership(ctl, containers, userns_machine, scratch):
    _, name, leader, shift = userns_machine
    inside = Path(f"/proc/{leader}/root")
    (scratch / "d").mkdir()
    (scratch / "d" / "f").write_text("x\n")
    for p in (scratch / "d", scratch / "d" / "f"):
        os.chown(p, 1000, 1001)

    # In: the machine's root owns it (the shift on the host), whoever owned it on the host.
    ctl.ok("copy-to", name, str(scratch / "d"), "/tmp/d")
    for p in (inside / "tmp/d", inside / "tmp/d/f"):
        st = os.stat(p)
        assert (st.st_uid, st.st_gid) == (shift, shift), p

    # Out: the host's root owns it.
    os.chown(inside / "tmp/d/f", shift + 1000, shift + 1000)
    ctl.ok("copy-from", name, "/tmp/d/f", str(scratch / "back"))
    st = os.stat(scratch / "back")
    assert (st.st_uid, st.st_gid) == (0, 0)

    # A machine without a user namespace keeps the owners.
    _, plain, pleader = containers.start()
    ctl.ok("copy-to", plain, str(scratch / "d" / "f"), "/tmp/kept")
    st = os.stat(f"/proc/{pleader}/root/tmp/kept")
    assert (st.st_uid, st.st_gid) == (1000, 1001)


# ---------------------------------------------------------------------------------------------
# operations: the bound, and cancellation when the machine goes away

class WriteLease:
    """A write lease on a file: whoever opens it blocks (up to fs.lease-break-time, 45 s by default)
    until the lease is released: a copy that stays in progress for as long as the test wants."""

    def __init__(self, path):
        self.old = signal.signal(signal.SIGIO, lambda *a: None)  # the lease break is signalled to us
        self.fd = os.open(path, os.O_RDWR)
        fcntl.fcntl(self.fd, fcntl.F_SETLEASE, fcntl.F_WRLCK)

    def release(self):
        if self.fd is not None:
            fcntl.fcntl(self.fd, fcntl.F_SETLEASE, fcntl.F_UNLCK)
            os.close(self.fd)
            self.fd = None
            signal.signal(signal.SIGIO, self.old)


def helpers_of(machined_pid):
    """machined's children (operation helpers)."""
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == machined_pid:
                        out.append(int(d))
            except (OSError, ValueError, IndexError):
                pass
    return out


def test_operations_bounded_and_cancelled_with_the_machine(containers, scratch):
    machined = containers.machined
    p, name, leader = containers.start()
    src = Path(f"/proc/{leader}/root/tmp/blocked")
    src.write_text("data\n")
    lease = WriteLease(src)
    clients = []
    try:
        before = set(helpers_of(machined.proc.pid))
        # Fill the bound with copies that block opening the source.
        for i in range(OPERATIONS_PER_MACHINE_MAX):
            c = VarlinkClient(machined.varlink_socket)
            clients.append(c)
            c.sock.sendall(json.dumps({"method": "io.systemd.Machine.CopyFrom", "parameters": {
                "name": name, "source": "/tmp/blocked", "destination": str(scratch / f"out{i}")}}).encode() + b"\0")
        deadline = time.monotonic() + 30
        while len(set(helpers_of(machined.proc.pid)) - before) < OPERATIONS_PER_MACHINE_MAX:
            assert time.monotonic() < deadline, "the copies did not start"
            time.sleep(0.1)

        # One more is refused at once, on both transports.
        err, _ = varlink_error(clients[0].__class__(machined.varlink_socket), "io.systemd.Machine.CopyFrom",
                               {"name": name, "source": "/tmp/blocked", "destination": str(scratch / "extra")})
        assert err == "io.systemd.Machine.TooManyOperations"
        assert bus_error(machined.manager().CopyFromMachine, name, "/tmp/blocked",
                         str(scratch / "extra")) == "org.freedesktop.DBus.Error.LimitsExceeded"

        # The machine goes away: every copy fails at once and its helper is gone.
        t0 = time.monotonic()
        os.kill(leader, signal.SIGKILL)
        for c in clients:
            while b"\0" not in c.buf:
                data = c.sock.recv(65536)
                assert data, "connection closed without a reply"
                c.buf += data
            reply = json.loads(c.buf.partition(b"\0")[0])
            assert reply.get("error") == "io.systemd.Machine.NoSuchMachine", reply
        assert time.monotonic() - t0 < 30, "cancellation waited for the lease to break"
        deadline = time.monotonic() + 10
        while set(helpers_of(machined.proc.pid)) - before:
            assert time.monotonic() < deadline, "helpers left behind"
            time.sleep(0.1)
    finally:
        lease.release()
        for c in clients:
            c.close()
    assert os.listdir(scratch) == [], "nothing is left behind on the host"
    p.wait(timeout=30)


# ---------------------------------------------------------------------------------------------
# machinectl -M/--machine=[USER@]NAME: the bus inside a container

def test_machinectl_machine_option(ctl, containers):
    bus = containers.machined.bus
    # The container's /run/dbus is the test's bus directory: its system bus is the one our
    # machined is on, so what machinectl reaches through the container can be compared.
    p, name, leader = containers.start(None, f"--bind={bus.dir}:/run/dbus")
    assert os.path.exists(f"/proc/{leader}/root/run/dbus/system_bus_socket")

    assert ctl.ok("-M", name, "show", name) == ctl.ok("show", name)
    assert ctl.ok(f"--machine=root@{name}", "show", name, "-p", "Leader") == f"Leader={leader}\n"
    out = ctl.ok("-M", name, "status", name, "-n", "0")
    local = ctl.ok("status", name, "-n", "0")
    assert out.splitlines()[0] == local.splitlines()[0] and f"Leader: {leader}" in out, out
    # The leader's cgroup and journal are the container's: left out, as systemd's machinectl does.
    def lines(text):  # "Since: ...; 107ms ago" differs between two calls
        return [x for x in text.splitlines() if "Since:" not in x]
    assert set(lines(out)) <= set(lines(local)) and len(lines(out)) < len(lines(local)), (out, local)
    assert "Processes" not in json.loads(ctl.ok("-M", name, "status", name, "-o", "json"))
    assert name in ctl.ok("-M", ".host", "list")

    # USER@: the container's dbus-daemon sees that user (here tester, uid 1000), not root.
    assert ctl.ok("-M", f"tester@{name}", "show", name, "-p", "Name") == f"Name={name}\n"
    cp = ctl.run("-M", f"tester@{name}", "terminate", name)
    assert cp.returncode == 1 and ("only root may do this" in cp.stderr or "(uid=1000 " in cp.stderr), describe(cp)
    assert p.poll() is None

    for spec, needle in ((f"nosuchuser@{name}", "No user 'nosuchuser'"), ("nope", "No machine 'nope' known."),
                         ("-bad-", "Invalid machine name")):
        cp = ctl.run("-M", spec, "show", name)
        assert cp.returncode == 1 and cp.stdout == "" and len(cp.stderr.splitlines()) == 1, describe(cp)
        assert needle in cp.stderr, describe(cp)
    # Only root may enter a container's root to reach its bus.
    cp = ctl.run("-M", name, "show", name, uid=NOBODY)
    assert cp.returncode == 1 and len(cp.stderr.splitlines()) == 1, describe(cp)
    assert "Permission denied" in cp.stderr or "Operation not permitted" in cp.stderr, describe(cp)
    # A container without a bus inside.
    _, other, _ = containers.start()
    cp = ctl.run("-M", other, "list")
    assert cp.returncode == 1 and "Failed to connect to the bus of machine" in cp.stderr, describe(cp)


def test_machinectl_output_help_lists_journal_modes(ctl):
    cp = ctl.run("--output=help")
    assert cp.returncode == 0 and cp.stdout.split() == [
        "short", "short-iso", "short-iso-precise", "short-precise", "short-monotonic", "short-unix", "verbose",
        "export", "json", "json-pretty", "cat"], describe(cp)
    for mode in ("verbose", "export", "short-monotonic", "short-unix", "json-seq"):
        assert ctl.run("-o", mode, "list").returncode == 0


def test_shell_and_login_into_a_userns_machine(ctl, containers, userns_machine):
    """The helper enters the machine's user namespace last, as its root: root inside, the shift outside."""
    _, name, leader, shift = userns_machine
    cp = ctl.run("shell", name, "/bin/sh", "-c", "echo id=$(id -u):$(id -g); cat /proc/self/uid_map")
    assert cp.returncode == 0, describe(cp)
    assert "id=0:0" in cp.stdout and f"0 {shift} 65536".split() == cp.stdout.split("\n", 1)[1].split()[:3], describe(cp)
    cp = ctl.run("shell", "tester@" + name, "/bin/sh", "-c", "id -u")
    assert cp.returncode == 0 and cp.stdout.strip() == "1000", describe(cp)
    m = containers.machined.manager()
    fd, path = m.OpenMachineLogin(name)
    master = fd.take()
    try:
        assert read_pty_until(master, rb"login: ")
    finally:
        os.close(master)
