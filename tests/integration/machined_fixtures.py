# SPDX-License-Identifier: LGPL-2.1-or-later
"""Fixtures for the machined tests: a private dbus-daemon (system-bus configuration with our shipped
policy, its own socket in a temporary directory), machined with temporary state/runtime directories
and a temporary --cgroup-root below the test's own cgroup, D-Bus clients (python3-dbus as root,
busctl/python run as other users through setpriv) and container leaders started with the real
spawn binary in the busybox tree.

Cleanup: machined and dbus-daemon are stopped, every process left in the temporary cgroup root
(leaders, shells, helpers) is SIGKILLed by PID and the cgroup directories are removed, in every
hierarchy, even when the test failed.
"""

import errno
import fcntl
import json
import os
import re
import select
import shutil
import signal
import subprocess
import textwrap
import time
import uuid
from pathlib import Path

import pytest

from conftest import (BUILD, DEFAULT_TIMEOUT, IN_HELPER, REPO, SPAWN, base_env, kill_pid, must_work,
                      skip_or_fail, spawn_cmd)

MACHINED = BUILD / "machined"
POLICY = REPO / "units" / "org.freedesktop.machine1.conf"
BUS_NAME = "org.freedesktop.machine1"
MANAGER_PATH = "/org/freedesktop/machine1"
MANAGER_IFACE = "org.freedesktop.machine1.Manager"
MACHINE_IFACE = "org.freedesktop.machine1.Machine"
IMAGE_IFACE = "org.freedesktop.machine1.Image"
NOBODY = 65534          # gets a permissive test-only bus policy: exercises machined's own checks


def _stranger_uid():
    """Some other existing non-root user (dbus-daemon wants to look up the groups of whoever
    connects): only the shipped policy applies to it, which exercises the bus policy."""
    import pwd
    for name in ("daemon", "bin", "sys", "games", "man", "lp", "mail", "news"):
        try:
            uid = pwd.getpwnam(name).pw_uid
        except KeyError:
            continue
        if uid not in (0, NOBODY):
            return uid
    return 1


STRANGER = _stranger_uid()
PYTHON = "/usr/bin/python3"


def ensure_tool(binary, package):
    """Install PACKAGE when BINARY is missing (as root), else skip or fail."""
    if shutil.which(binary):
        return shutil.which(binary)
    if os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "install", "-y", "-q", "--no-install-recommends", package],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=600,
                       env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
    if not shutil.which(binary):
        skip_or_fail(f"{binary} (Debian package {package}) is not installed")
    return shutil.which(binary)


def ensure_python_modules():
    """python3-dbus and python3-gi (GLib main loop for signals), installed when missing."""
    def importable():
        try:
            import dbus  # noqa: F401
            import dbus.mainloop.glib  # noqa: F401
            from gi.repository import GLib  # noqa: F401
            return True
        except ImportError:
            return False
    if importable():
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "install", "-y", "-q", "--no-install-recommends", "python3-dbus", "python3-gi"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=600,
                       env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
    if not importable():
        skip_or_fail("python3-dbus and python3-gi are needed (run the tests with Debian's /usr/bin/python3)")


def bus_label_escape(s):
    if not s:
        return "_"
    out = []
    for i, ch in enumerate(s.encode()):
        c = chr(ch)
        if ("a" <= c <= "z") or ("A" <= c <= "Z") or (i > 0 and "0" <= c <= "9"):
            out.append(c)
        else:
            out.append("_%02x" % ch)
    return "".join(out)


def machine_path(name):
    return f"{MANAGER_PATH}/machine/{bus_label_escape(name)}"


# ---------------------------------------------------------------------------------------------
# cgroups

def own_cgroup_dirs():
    """{hierarchy key: (mount point, our cgroup path)} for every mounted hierarchy, as in
    /proc/self/cgroup joined with /proc/self/mountinfo."""
    mounts = {}
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            sep = fields.index("-")
            fstype, super_opts = fields[sep + 1], fields[sep + 3]
            mp = fields[4]
            if not mp.startswith("/sys/fs/cgroup"):
                continue
            if fstype == "cgroup2":
                mounts.setdefault("", (mp, fields[3]))
            elif fstype == "cgroup":
                ctrls = ",".join(sorted(o for o in super_opts.split(",")
                                        if o not in ("rw", "ro", "noprefix", "clone_children", "xattr", "none",
                                                     "cpuset_v2_mode", "favordynmods", "nofavordynmods")
                                        and not o.startswith("release_agent=")))
                mounts.setdefault(ctrls, (mp, fields[3]))
    result = {}
    with open("/proc/self/cgroup") as f:
        for line in f:
            num, ctrls, path = line.rstrip("\n").split(":", 2)
            key = ",".join(sorted(ctrls.split(","))) if ctrls else ""
            if key in mounts:
                mp, root = mounts[key]
                rel = path[len(root):] if root != "/" and path.startswith(root) else path
                result[key] = (mp, rel)
    return result


def cgroup_dirs(rel):
    """Directories of cgroup REL (relative to our own cgroup) in every hierarchy."""
    out = {}
    for key, (mp, own) in own_cgroup_dirs().items():
        out[key] = os.path.join(mp + (own if own != "/" else ""), rel)
    return out


def cgroup_procs_recursive(directory):
    pids = []
    for dirpath, dirnames, filenames in os.walk(directory):
        try:
            with open(os.path.join(dirpath, "cgroup.procs")) as f:
                pids += [int(x) for x in f.read().split()]
        except OSError:
            pass
    return pids


def destroy_cgroup_tree(directory, timeout=10.0):
    """SIGKILL (by PID) everything in DIRECTORY and below, then rmdir it depth first."""
    if not os.path.isdir(directory):
        return
    deadline = time.monotonic() + timeout
    while True:
        pids = cgroup_procs_recursive(directory)
        for p in pids:
            kill_pid(p)
        if not pids:
            break
        if time.monotonic() > deadline:
            break
        time.sleep(0.02)
    while True:
        failed = False
        for dirpath, dirnames, filenames in sorted(os.walk(directory), key=lambda t: -len(t[0])):
            try:
                os.rmdir(dirpath)
            except FileNotFoundError:
                pass
            except OSError:
                failed = True
        if not failed or time.monotonic() > deadline:
            break
        time.sleep(0.05)


# ---------------------------------------------------------------------------------------------
# the bus

BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Properties"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Peer"/>
    <deny send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus" send_member="UpdateActivationEnvironment"/>
  </policy>
  <policy user="root">
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Monitoring"/>
    <!-- for the stand-in of systemd's manager that exercises the systemd backend -->
    <allow own="org.freedesktop.systemd1"/>
    <allow send_destination="org.freedesktop.systemd1"/>
  </policy>
  <include>{policy}</include>
  <include>{test_policy}</include>
</busconfig>
"""

# Lets NOBODY call everything, so that machined's own authorization is what refuses it.
TEST_POLICY = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <policy user="{uid}">
    <allow send_destination="org.freedesktop.machine1"/>
  </policy>
</busconfig>
"""


class PrivateBus:
    def __init__(self, directory):
        self.dir = Path(directory)
        self.socket = self.dir / "system_bus_socket"
        self.address = f"unix:path={self.socket}"
        self.proc = None

    def start(self):
        daemon = ensure_tool("dbus-daemon", "dbus-daemon")
        test_policy = self.dir / "test-policy.conf"
        test_policy.write_text(TEST_POLICY.format(uid=NOBODY))
        config = self.dir / "bus.conf"
        config.write_text(BUS_CONFIG.format(socket=self.socket, policy=POLICY, test_policy=test_policy))
        self.proc = subprocess.Popen([daemon, f"--config-file={config}", "--nofork", "--nopidfile"],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while not self.socket.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                err = self.proc.stderr.read().decode(errors="replace") if self.proc.poll() is not None else ""
                pytest.fail(f"dbus-daemon did not come up: {err}")
            time.sleep(0.01)
        # Users other than root connect too.
        os.chmod(self.socket, 0o777)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                kill_pid(self.proc.pid)
                self.proc.wait(timeout=5)
        if self.proc and self.proc.stderr:
            self.proc.stderr.close()

    def env(self, **extra):
        return base_env(DBUS_SYSTEM_BUS_ADDRESS=self.address, SYSTEMD_PAGER="cat", SYSTEMD_COLORS="0",
                        SYSTEMD_LOG_COLOR="0", **extra)


# ---------------------------------------------------------------------------------------------
# machined

class Machined:
    """One machined on a private bus. `root` is the cgroup root relative to the test's cgroup."""

    def __init__(self, bus, directory):
        self.bus = bus
        self.dir = Path(directory)
        self.state_dir = self.dir / "state"
        self.runtime_dir = self.dir / "run"
        self.pool = self.dir / "pool"
        self.cgroup_root = f"berth-test-{uuid.uuid4().hex[:12]}.slice"
        self.proc = None
        self.log = self.dir / "machined.log"
        self._conn = None
        for d in (self.state_dir, self.runtime_dir, self.pool):
            d.mkdir(exist_ok=True)

    @property
    def varlink_socket(self):
        return self.runtime_dir / "io.systemd.Machine"

    def cmdline(self, *extra):
        return [str(MACHINED), f"--state-dir={self.state_dir}", f"--runtime-dir={self.runtime_dir}",
                f"--pool={self.pool}", f"--cgroup-root={self.cgroup_root}", "--log-level=debug",
                # Machines started with -n would put links on the machine's own network: only a
                # test that runs machined in a network namespace of its own may (test_network_addr.py).
                *([] if any(str(e).startswith("--start-network=") for e in extra) else ["--start-network=host"]),
                *extra]

    def start(self, *extra, wait=True):
        logf = open(self.log, "ab")
        self.proc = subprocess.Popen(self.cmdline(*extra), stdin=subprocess.DEVNULL, stdout=logf,
                                     stderr=logf, env=self.bus.env())
        logf.close()
        if wait:
            self.wait_ready()
        return self.proc

    def wait_ready(self, timeout=10):
        import dbus
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                pytest.fail(f"machined exited with {self.proc.returncode}: {self.log_text()}")
            try:
                if self.connection().name_has_owner(BUS_NAME):
                    return
            except dbus.exceptions.DBusException:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"machined did not take its bus name: {self.log_text()}")
            time.sleep(0.01)

    def log_text(self):
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self, sig=signal.SIGTERM, timeout=10):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                kill_pid(self.proc.pid)
                self.proc.wait(timeout=timeout)

    def connection(self):
        import dbus
        if self._conn is None:
            self._conn = dbus.bus.BusConnection(self.bus.address)
        return self._conn

    def manager(self):
        import dbus
        obj = self.connection().get_object(BUS_NAME, MANAGER_PATH)
        return dbus.Interface(obj, MANAGER_IFACE)

    def machine(self, name_or_path):
        import dbus
        path = name_or_path if name_or_path.startswith("/") else machine_path(name_or_path)
        return dbus.Interface(self.connection().get_object(BUS_NAME, path), MACHINE_IFACE)

    def properties(self, path, interface=""):
        import dbus
        props = dbus.Interface(self.connection().get_object(BUS_NAME, path), "org.freedesktop.DBus.Properties")
        return unwrap(props.GetAll(interface))

    def cgroup_dirs(self, sub=""):
        return {k: os.path.join(v, sub.lstrip("/")) if sub else v for k, v in cgroup_dirs(self.cgroup_root).items()}

    def scope_dirs(self, name):
        return self.cgroup_dirs(f"machine.slice/machine-{unit_escape(name)}.scope")

    def cleanup(self):
        self.stop()
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:
                pass
            self._conn = None
        for d in cgroup_dirs(self.cgroup_root).values():
            destroy_cgroup_tree(d)


def unit_escape(name):
    out = []
    for i, ch in enumerate(name):
        if ch == "/":
            out.append("-")
        elif (i == 0 and ch == ".") or ch in "-\\" or not (ch.isascii() and (ch.isalnum() or ch in ":_.")):
            out.append("\\x%02x" % ord(ch))
        else:
            out.append(ch)
    return "".join(out)


def unwrap(v):
    """dbus-python values → plain Python values."""
    import dbus
    if isinstance(v, dbus.Dictionary):
        return {unwrap(k): unwrap(x) for k, x in v.items()}
    if isinstance(v, dbus.Array):
        if v.signature == "y":
            return bytes(int(x) for x in v)
        return [unwrap(x) for x in v]
    if isinstance(v, (dbus.Struct, tuple)):
        return tuple(unwrap(x) for x in v)
    if isinstance(v, dbus.Boolean):
        return bool(v)
    if isinstance(v, (dbus.String, dbus.ObjectPath, dbus.Signature)):
        return str(v)
    if isinstance(v, (dbus.Byte, dbus.Int16, dbus.Int32, dbus.Int64, dbus.UInt16, dbus.UInt32, dbus.UInt64)):
        return int(v)
    if isinstance(v, dbus.Double):
        return float(v)
    return v


def dbus_error(fn, *args, **kw):
    """Call FN expecting a D-Bus error; returns (error name, message)."""
    import dbus
    try:
        fn(*args, **kw)
    except dbus.exceptions.DBusException as e:
        return e.get_dbus_name(), e.get_dbus_message()
    raise AssertionError(f"{getattr(fn, '_method_name', fn)}{args} unexpectedly succeeded")


class SignalWatcher:
    """Collects MachineNew/MachineRemoved with their arrival time (CLOCK_MONOTONIC)."""

    def __init__(self, address):
        import dbus
        import dbus.mainloop.glib
        from gi.repository import GLib
        self.GLib = GLib
        self.events = []
        self.bus = dbus.bus.BusConnection(address, mainloop=dbus.mainloop.glib.DBusGMainLoop())
        for member in ("MachineNew", "MachineRemoved"):
            self.bus.add_signal_receiver(self._make_handler(member), signal_name=member,
                                         dbus_interface=MANAGER_IFACE, path=MANAGER_PATH)
        # AddMatch is synchronous, but make sure the bus processed it before anything happens.
        self.bus.get_object("org.freedesktop.DBus", "/org/freedesktop/DBus").GetId(
            dbus_interface="org.freedesktop.DBus")

    def _make_handler(self, member):
        def handler(name, path):
            self.events.append((time.monotonic(), member, str(name), str(path)))
        return handler

    def pump(self):
        ctx = self.GLib.MainContext.default()
        while ctx.pending():
            ctx.iteration(False)

    def wait(self, member, name, timeout=5.0):
        deadline = time.monotonic() + timeout
        while True:
            self.pump()
            for e in self.events:
                if e[1] == member and e[2] == name:
                    return e
            if time.monotonic() > deadline:
                raise AssertionError(f"no {member} for {name} within {timeout}s; got {self.events}")
            self.GLib.MainContext.default().iteration(False)
            time.sleep(0.0005)

    def close(self):
        try:
            self.bus.close()
        except Exception:
            pass


# ---------------------------------------------------------------------------------------------
# leaders

class Leaders:
    """Containers started with the real spawn binary (busybox tree, berth-test-helper
    sleep-forever); `leader` is the container's PID 1 as seen from the host."""

    def __init__(self, procs, tree):
        self.procs = procs
        self.tree = tree

    def start(self, *opts, command=("sleep-forever",), timeout=10):
        """Returns (spawn Popen, host PID of the container's PID 1) once the payload runs: it
        prints "ready" after its exec, and spawn has finished setting up by then (its cgroup,
        mounts and devpts); registering earlier would race with spawn's own cgroup attach."""
        # Every container gets a name of its own: spawn refuses to start a second one of a name.
        name = f"leader-{uuid.uuid4().hex[:10]}"
        p = self.procs.track(subprocess.Popen(
            # --register=no: these tests register the leader themselves, through the API under test.
            spawn_cmd(["-D", self.tree, f"--machine={name}", "--console=pipe", "--register=no",
                       "--setenv=BERTH_TEST_HELPER_HANG_READY=1", *opts, IN_HELPER, *command]),
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=base_env()))
        deadline = time.monotonic() + timeout
        out = b""
        while b"ready" not in out:
            left = deadline - time.monotonic()
            r, _, _ = select.select([p.stdout], [], [], max(0, min(left, 0.2)))
            if r:
                data = os.read(p.stdout.fileno(), 4096)
                out += data
                if not data:
                    break
            if p.poll() is not None or left <= 0:
                break
        if b"ready" not in out:
            kill_pid(p.pid)
            err = p.stderr.read().decode(errors="replace") if p.poll() is not None else ""
            pytest.fail(f"container did not get ready (rc={p.poll()}): stdout={out!r} stderr={err}")
        own_pidns = os.readlink("/proc/self/ns/pid")
        for child in descendants_of(p.pid):
            try:
                if os.readlink(f"/proc/{child}/ns/pid") != own_pidns:
                    return p, child
            except OSError:
                pass
        pytest.fail("no container PID 1 below spawn")

    def sleeper(self):
        """A plain sleeping host process (no namespaces)."""
        return self.procs.track(subprocess.Popen(["sleep", "1000"], stdin=subprocess.DEVNULL))


def descendants_of(pid):
    children = []
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            for t in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{t}/children") as f:
                    kids = [int(x) for x in f.read().split()]
                children += kids
                todo += kids
        except OSError:
            pass
    return children


def wait_gone(pid, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
            if state in ("Z", "X"):
                return True
        except (FileNotFoundError, ProcessLookupError):
            return True
        time.sleep(0.01)
    return False


# ---------------------------------------------------------------------------------------------
# other users

def run_as(uid, argv, env, timeout=DEFAULT_TIMEOUT, input=None):
    """Run ARGV as UID (and the same GID, no supplementary groups) through setpriv."""
    setpriv = ensure_tool("setpriv", "util-linux")
    cp = subprocess.run([setpriv, f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--"] + list(argv),
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, timeout=timeout, input=input,
                        cwd="/")
    cp.stdout = cp.stdout.decode(errors="replace")
    cp.stderr = cp.stderr.decode(errors="replace")
    return cp


# Runs a list of D-Bus calls as another user with python3-dbus and prints, per call, the error
# name or "ok" as JSON.
CALLER = textwrap.dedent("""
    import dbus, json, sys
    bus = dbus.bus.BusConnection(sys.argv[1])
    calls = json.loads(sys.stdin.read())
    out = []
    for path, iface, method, sig, args in calls:
        try:
            obj = bus.get_object("org.freedesktop.machine1", path)
            getattr(obj, method)(*args, dbus_interface=iface, signature=sig)
            out.append("ok")
        except dbus.exceptions.DBusException as e:
            out.append(e.get_dbus_name() + ": " + e.get_dbus_message())
    print(json.dumps(out))
""")


def calls_as(uid, bus, calls):
    cp = run_as(uid, [PYTHON, "-c", CALLER, bus.address], bus.env(), input=json.dumps(calls).encode())
    assert cp.returncode == 0, f"caller failed: {cp.stderr}"
    return json.loads(cp.stdout)


# ---------------------------------------------------------------------------------------------
# varlink

class VarlinkClient:
    def __init__(self, path):
        import socket
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(10)
        self.sock.connect(str(path))
        self.buf = b""

    def call(self, method, parameters=None, more=False):
        msg = {"method": method}
        if parameters is not None:
            msg["parameters"] = parameters
        if more:
            msg["more"] = True
        self.sock.sendall(json.dumps(msg).encode() + b"\0")
        replies = []
        while True:
            while b"\0" not in self.buf:
                data = self.sock.recv(65536)
                if not data:
                    raise AssertionError(f"varlink connection closed; got {replies}")
                self.buf += data
            raw, _, self.buf = self.buf.partition(b"\0")
            reply = json.loads(raw)
            replies.append(reply)
            if not reply.get("continues"):
                return replies

    def close(self):
        self.sock.close()


# ---------------------------------------------------------------------------------------------
# pty helpers

OSC_END_RE = re.compile(rb"\x1b\]3008;end=([0-9a-f]+);exit=(\w+);(status=(\d+)|signal=(\w+))\x1b\\")


def read_pty_until_eof(fd, timeout=15.0):
    """Everything the master reads until the slave side is gone (EIO)."""
    out = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r, _, _ = select.select([fd], [], [], 0.2)
        if not r:
            continue
        try:
            data = os.read(fd, 65536)
        except OSError as e:
            if e.errno == errno.EIO:
                return out
            raise
        if not data:
            return out
        out += data
    raise AssertionError(f"pty did not hang up within {timeout}s; got {out!r}")


def read_pty_until(fd, pattern, timeout=15.0):
    out = b""
    rx = re.compile(pattern)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if rx.search(out):
            return out
        r, _, _ = select.select([fd], [], [], 0.2)
        if not r:
            continue
        try:
            data = os.read(fd, 65536)
        except OSError as e:
            if e.errno == errno.EIO:
                break
            raise
        if not data:
            break
        out += data
    if rx.search(out):
        return out
    raise AssertionError(f"{pattern!r} not seen on the pty; got {out!r}")


# ---------------------------------------------------------------------------------------------
# machinectl from systemd-container, in a private mount namespace where /run/systemd/system exists

def env_with(base, changes):
    env = dict(base)
    for k, v in (changes or {}).items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    return env


def machinectl(bus, *args, timeout=DEFAULT_TIMEOUT, input=None, env=None):
    """systemd's machinectl on BUS; ENV: variables to set, or with None to unset."""
    binary = ensure_tool("machinectl", "systemd-container")
    unshare = ensure_tool("unshare", "util-linux")
    # machinectl refuses to run unless sd_booted(), i.e. /run/systemd/system exists. Create it only
    # on a tmpfs in a private mount namespace (unshare -m makes propagation private), so the host
    # never sees it.
    script = ('if [ -d /run/systemd ]; then mount -t tmpfs tmpfs /run/systemd; else mount -t tmpfs tmpfs /run; fi '
              '&& mkdir -p /run/systemd/system && exec "$@"')
    cp = subprocess.run([unshare, "-m", "--propagation", "private", "sh", "-c", script, "sh", binary, *args],
                        stdin=subprocess.DEVNULL if input is None else None, input=input,
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env_with(bus.env(), env), timeout=timeout)
    cp.stdout = cp.stdout.decode(errors="replace")
    cp.stderr = cp.stderr.decode(errors="replace")
    return cp


# ---------------------------------------------------------------------------------------------
# fixtures

@pytest.fixture
def machined_bin():
    if not MACHINED.is_file() or not os.access(MACHINED, os.X_OK):
        skip_or_fail(f"machined binary not built: {MACHINED} (set BERTH_BUILD_DIR or build with meson)")
    ensure_python_modules()
    return MACHINED


@pytest.fixture
def machined_bus(_resources):
    bus = PrivateBus(_resources.mkdtemp("bus"))
    try:
        bus.start()
        yield bus
    finally:
        bus.stop()


@pytest.fixture
def machined(machined_bin, machined_bus, _resources):
    m = Machined(machined_bus, _resources.mkdtemp("machined"))
    try:
        m.start()
        yield m
    finally:
        m.cleanup()
        # pytest shows this only for failed tests.
        print(f"--- machined log ---\n{m.log_text()[-20000:]}")


@pytest.fixture
def machined_leaders(procs, busybox_tree, spawn_bin):
    return Leaders(procs, busybox_tree)


@pytest.fixture
def machined_signals(machined_bus):
    w = SignalWatcher(machined_bus.address)
    try:
        yield w
    finally:
        w.close()
