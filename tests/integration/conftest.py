# SPDX-License-Identifier: LGPL-2.1-or-later
"""Fixtures and helpers for the spawn integration tests.

Everything runs as root against the real binaries: $BERTH_BUILD_DIR/spawn (default <repo>/build) and
the static berth-test-helper, which tests/helpers/make-busybox-tree.sh installs into a busybox tree.

Cleanup model: all files live under one session directory (TMPROOT). pytest makes itself a child
subreaper, so anything a test started that outlives its parent is reparented to us and can be found
(and killed by PID) afterwards. The autouse `_guard` fixture checks after every test that nothing is
mounted under TMPROOT, no process has its cwd/root there and no child of ours is still alive; it then
cleans up whatever it found, so one broken test does not cascade into the next.
"""

import ctypes
import errno
import fcntl
import json
import os
import re
import select
import signal
import struct
import subprocess
import tempfile
import termios
import time
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("BERTH_BUILD_DIR") or REPO / "build").resolve()
SPAWN = BUILD / "spawn"
HELPER = BUILD / "berth-test-helper"
TREE_SCRIPT = REPO / "tests" / "helpers" / "make-busybox-tree.sh"

IN_HELPER = "/usr/bin/berth-test-helper"  # path of the helper inside the tree
# Basename of every tree, hence the default machine name and the scope spawn makes. Unique per
# session, so that two runs on one machine (two checkouts) never see each other's machine-NAME.scope.
TREE_NAME = f"bbtree{os.getpid()}"
DEFAULT_TIMEOUT = 30                      # seconds, for every subprocess we run

PR_SET_CHILD_SUBREAPER = 36


# ---------------------------------------------------------------------------------------------
# skip policy

def must_work():
    """MUST_WORK=1 or CI=true: a test that cannot run is a failure, never a skip."""
    mw = os.environ.get("MUST_WORK", "").strip().lower()
    ci = os.environ.get("CI", "").strip().lower()
    return mw not in ("", "0", "false", "no") or ci in ("true", "1", "yes")


def skip_or_fail(reason):
    if must_work():
        pytest.fail(f"{reason} (MUST_WORK/CI is set, so this is a failure, not a skip)", pytrace=False)
    pytest.skip(reason)


# ---------------------------------------------------------------------------------------------
# pytest hooks: subreaper, per-test timeout

def pytest_addoption(parser):
    parser.addini("berth_test_timeout", "per-test wall clock limit in seconds (SIGALRM)", default="180")


def pytest_configure(config):
    # Orphans of anything we start get reparented to this process, so the guard can find them.
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")


class TestTimeout(Exception):
    pass


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    limit = int(item.config.getini("berth_test_timeout") or 180)

    def on_alarm(signum, frame):
        raise TestTimeout(f"test exceeded {limit}s")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(limit)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


# ---------------------------------------------------------------------------------------------
# /proc helpers

def _unescape_mountinfo(s):
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), s)


def read_mountinfo(pid="self"):
    """Parsed /proc/PID/mountinfo: list of dicts like the helper's report["mounts"]."""
    result = []
    with open(f"/proc/{pid}/mountinfo") as f:
        for line in f:
            fields = line.rstrip("\n").split(" ")
            sep = fields.index("-", 6)
            result.append({
                "mount_id": int(fields[0]),
                "parent_id": int(fields[1]),
                "dev": fields[2],
                "root": _unescape_mountinfo(fields[3]),
                "mount_point": _unescape_mountinfo(fields[4]),
                "options": fields[5],
                "optional": " ".join(fields[6:sep]),
                "fstype": fields[sep + 1],
                "source": _unescape_mountinfo(fields[sep + 2]),
                "super_options": fields[sep + 3] if len(fields) > sep + 3 else "",
            })
    return result


def path_is_under(path, prefix):
    path, prefix = str(path), str(prefix).rstrip("/")
    return path == prefix or path.startswith(prefix + "/")


def mounts_under(path, pid="self"):
    """Host mounts (in our mount namespace) whose mount point is PATH or below it."""
    real = os.path.realpath(path)
    return [m for m in read_mountinfo(pid) if path_is_under(m["mount_point"], real)]


def find_mount(mounts, mount_point):
    """The topmost (last) mount at MOUNT_POINT in a mount list, or None."""
    found = [m for m in mounts if m["mount_point"] == mount_point]
    return found[-1] if found else None


def mount_options(m):
    return set(m["options"].split(","))


def proc_pids():
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def read_proc(pid, name, binary=False):
    try:
        with open(f"/proc/{pid}/{name}", "rb" if binary else "r") as f:
            return f.read()
    except (FileNotFoundError, ProcessLookupError, PermissionError, OSError):
        return None


def proc_stat(pid):
    """(state, ppid) of PID or None if gone."""
    s = read_proc(pid, "stat")
    if not s:
        return None
    rest = s[s.rindex(")") + 2:].split()
    return rest[0], int(rest[1])


def proc_cmdline(pid):
    raw = read_proc(pid, "cmdline", binary=True)
    return raw.split(b"\0") if raw else []


def proc_alive(pid):
    st = proc_stat(pid)
    return st is not None and st[0] not in ("Z", "X")


def pids_with_token(token):
    """Live (non-zombie) processes whose command line contains TOKEN."""
    tok = token.encode()
    return [p for p in proc_pids() if tok in (read_proc(p, "cmdline", binary=True) or b"") and proc_alive(p)]


def ns_inode(name, pid="self"):
    link = os.readlink(f"/proc/{pid}/ns/{name}")
    return int(link[link.index("[") + 1:link.index("]")])


def container_cgroup_file(pid, controller, v1_name, v2_name):
    """Path of a controller attribute of PID's cgroup, in v2 if it has the controller, else v1."""
    with open(f"/proc/{pid}/cgroup") as f:
        lines = [l.rstrip("\n").split(":", 2) for l in f]
    for hid, ctrls, path in lines:
        if hid == "0":
            for top in ("/sys/fs/cgroup", "/sys/fs/cgroup/unified"):
                if os.path.exists(top + "/cgroup.controllers"):
                    with open(top + "/cgroup.controllers") as f:
                        if controller in f.read().split():
                            return top + path + "/" + v2_name
    for hid, ctrls, path in lines:
        if controller in ctrls.split(","):
            return f"/sys/fs/cgroup/{ctrls}{path}/{v1_name}"
    raise AssertionError(f"no {controller} controller for pid {pid}")


def nspid(pid):
    """The NSpid list of PID (host pid first, innermost last), or None."""
    status = read_proc(pid, "status")
    if not status:
        return None
    for line in status.splitlines():
        if line.startswith("NSpid:"):
            return [int(x) for x in line.split()[1:]]
    return None


def descendants(pid):
    """All live descendants of PID (by the current parent links)."""
    children = {}
    for p in proc_pids():
        st = proc_stat(p)
        if st:
            children.setdefault(st[1], []).append(p)
    out, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return [p for p in out if proc_alive(p)]


def processes_inside(path):
    """(pid, what, link) for processes whose cwd or root resolves to PATH or below."""
    real = os.path.realpath(path)
    found = []
    for p in proc_pids():
        if p == os.getpid():
            continue
        for what in ("cwd", "root"):
            try:
                link = os.readlink(f"/proc/{p}/{what}")
            except OSError:
                continue
            if path_is_under(link, real):
                found.append((p, what, link))
    return found


def own_children():
    """Direct children of this process as (pid, state)."""
    me = os.getpid()
    out = []
    for p in proc_pids():
        st = proc_stat(p)
        if st and st[1] == me:
            out.append((p, st[0]))
    return out


def reap_zombie_children():
    for pid, state in own_children():
        if state in ("Z", "X"):
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass


def describe_pid(pid):
    cmd = b" ".join(proc_cmdline(pid)).decode(errors="replace")
    return f"pid {pid} ({cmd or '?'})"


def find_leftovers(path, include_children=True):
    """Human-readable list of what is left behind under PATH (mounts, processes)."""
    problems = []
    for m in mounts_under(path):
        problems.append(f"mount {m['mount_point']} ({m['fstype']} {m['source']})")
    for pid, what, link in processes_inside(path):
        problems.append(f"{describe_pid(pid)} has its {what} at {link}")
    if include_children:
        reap_zombie_children()
        for pid, state in own_children():
            if state not in ("Z", "X"):
                problems.append(f"{describe_pid(pid)} is still running (orphan reparented to the test runner)")
    return problems


def no_leftovers(path, timeout=5.0, include_children=True):
    """Assert that nothing stays mounted under PATH and no process we started or that lives in PATH
    survives. Polls up to TIMEOUT seconds, since the kernel tears down namespaces asynchronously."""
    deadline = time.monotonic() + timeout
    while True:
        problems = find_leftovers(path, include_children)
        if not problems or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert not problems, f"leftovers under {path}:\n  " + "\n  ".join(problems)


def kill_pid(pid, sig=signal.SIGKILL):
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def force_cleanup(path):
    """Kill (by PID) whatever find_leftovers() reports and lazily unmount everything under PATH."""
    for pid, _, _ in processes_inside(path):
        kill_pid(pid)
    for pid, state in own_children():
        if state not in ("Z", "X"):
            kill_pid(pid)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        reap_zombie_children()
        if not [c for c in own_children()]:
            break
        time.sleep(0.05)
    # Deepest first, so that a submount does not keep its parent busy.
    for m in sorted(mounts_under(path), key=lambda m: -len(m["mount_point"])):
        subprocess.run(["umount", "-l", m["mount_point"]], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=DEFAULT_TIMEOUT)


def remove_tree(path):
    """rm -rf that never crosses into a mount (a leaked bind mount of a host directory)."""
    path = str(path)
    if not os.path.lexists(path):
        return
    force_cleanup(path)
    subprocess.run(["rm", "-rf", "--one-file-system", "--", path], timeout=120,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


# ---------------------------------------------------------------------------------------------
# running spawn

def base_env(**extra):
    env = {k: v for k, v in os.environ.items()}
    env.setdefault("TERM", "xterm")
    env.setdefault("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
    # Never the host's system bus: a machined running there would register the test containers.
    # Tests that want a registry use the machined fixture's private bus.
    env.setdefault("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/nonexistent/berth-test-no-bus")
    env.update(extra)
    return env


def _decode(b):
    # No universal-newline translation: the "\r\n" of a pty must stay visible.
    return b.decode("utf-8", "replace") if isinstance(b, bytes) else (b or "")


def spawn_cmd(args, quiet=True):
    return [str(SPAWN)] + (["-q"] if quiet else []) + [str(a) for a in args]


def run_spawn(args, *, input=None, timeout=DEFAULT_TIMEOUT, quiet=True, env=None, stdin=None, **kw):
    """Run spawn with ARGS; returns a CompletedProcess with str stdout/stderr (\r preserved).

    stdin defaults to /dev/null (so: no terminal, default console mode read-only) unless INPUT is
    given. A hang is turned into a test failure (subprocess.run SIGKILLs spawn on timeout)."""
    cmd = spawn_cmd(args, quiet)
    if input is not None:
        stdin = None
        if isinstance(input, str):
            input = input.encode()
    elif stdin is None:
        stdin = subprocess.DEVNULL
    try:
        cp = subprocess.run(cmd, input=input, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            timeout=timeout, env=env if env is not None else base_env(), **kw)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"spawn did not finish within {timeout}s: {cmd}\nstdout: {_decode(e.stdout)!r}\n"
                    f"stderr: {_decode(e.stderr)!r}")
    cp.stdout = _decode(cp.stdout)
    cp.stderr = _decode(cp.stderr)
    return cp


def describe(cp):
    return f"cmd={cp.args}\nrc={cp.returncode}\nstdout={cp.stdout!r}\nstderr={cp.stderr!r}"


def run_helper(tree, *subargs, opts=(), console="pipe", **kw):
    """spawn -D TREE [--console=CONSOLE] OPTS... /usr/bin/berth-test-helper SUBARGS..."""
    args = ["-D", tree]
    if console:
        args.append(f"--console={console}")
    args += list(opts)
    args += [IN_HELPER] + [str(a) for a in subargs]
    return run_spawn(args, **kw)


def parse_json_line(text):
    for line in text.replace("\r\n", "\n").split("\n"):
        line = line.strip()
        if line.startswith("{"):
            return json.loads(line)
    raise AssertionError(f"no JSON line in output: {text!r}")


def report(tree, opts=(), console="pipe", **kw):
    """Run `berth-test-helper report` in the container and return the parsed JSON."""
    cp = run_helper(tree, "report", opts=opts, console=console, **kw)
    assert cp.returncode == 0, describe(cp)
    return parse_json_line(cp.stdout)


def out_lines(text):
    return [l for l in text.replace("\r\n", "\n").split("\n") if l.strip()]


def nonempty_lines(text):
    return [l for l in text.replace("\r\n", "\n").split("\n") if l.strip()]


# ---------------------------------------------------------------------------------------------
# background spawn processes

class LineReader:
    """Incremental reader of a pipe or pty master fd with timeouts."""

    def __init__(self, fd):
        self.fd = fd
        self.buf = b""
        self.eof = False

    def read_some(self, timeout):
        if self.eof:
            time.sleep(min(timeout, 0.05))
            return False
        r, _, _ = select.select([self.fd], [], [], timeout)
        if not r:
            return False
        try:
            data = os.read(self.fd, 65536)
        except OSError as e:
            if e.errno != errno.EIO:  # EIO: pty slave side closed
                raise
            data = b""
        if not data:
            self.eof = True
            return False
        self.buf += data
        return True

    def expect(self, pattern, timeout=15.0, what=""):
        """Wait until regex PATTERN (bytes) occurs in the output; returns the match."""
        if isinstance(pattern, str):
            pattern = pattern.encode()
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            m = rx.search(self.buf)
            if m:
                return m
            left = deadline - time.monotonic()
            if left <= 0 or (self.eof and not self.read_some(0)):
                raise AssertionError(f"{what or 'output'}: {pattern!r} not seen within {timeout}s"
                                     f"{' (EOF)' if self.eof else ''}; got {self.buf!r}")
            self.read_some(min(left, 0.2))

    def drain(self, duration=0.0):
        end = time.monotonic() + duration
        while True:
            self.read_some(max(0.0, min(0.05, end - time.monotonic())))
            if time.monotonic() >= end:
                return


class Procs:
    """Processes started by one test; all are SIGKILLed (by PID) and reaped at teardown."""

    def __init__(self):
        self.procs = []
        self.fds = []

    def start(self, args, quiet=True, env=None, **kw):
        """Start spawn in the background with stdout/stderr pipes; returns (Popen, stdout LineReader)."""
        kw.setdefault("stdin", subprocess.DEVNULL)
        p = subprocess.Popen(spawn_cmd(args, quiet), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env=env if env is not None else base_env(), **kw)
        self.procs.append(p)
        return p, LineReader(p.stdout.fileno())

    def track(self, p):
        self.procs.append(p)
        return p

    def finish(self, p, timeout):
        """Wait for P to exit; returns (rc, rest of stdout, stderr) or fails the test."""
        try:
            out, err = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"spawn (pid {p.pid}) did not exit within {timeout}s")
        return p.returncode, _decode(out), _decode(err)

    def cleanup(self):
        for p in self.procs:
            if p.poll() is None:
                kill_pid(p.pid)
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
            for f in (p.stdin, p.stdout, p.stderr):
                if f:
                    try:
                        f.close()
                    except OSError:
                        pass
        for fd in self.fds:
            try:
                os.close(fd)
            except OSError:
                pass


def set_winsize(fd, rows, cols):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


class PtySession:
    """spawn running on a fresh pseudo terminal (its controlling tty), like a user's terminal."""

    def __init__(self, procs, args, rows=24, cols=80, quiet=True, env=None):
        self.master, self.slave = os.openpty()
        procs.fds += [self.master, self.slave]
        set_winsize(self.slave, rows, cols)
        self.saved_termios = termios.tcgetattr(self.slave)

        def make_ctty():
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        self.proc = procs.track(subprocess.Popen(
            spawn_cmd(args, quiet), stdin=self.slave, stdout=self.slave, stderr=self.slave,
            start_new_session=True, preexec_fn=make_ctty, env=env if env is not None else base_env()))
        self.out = LineReader(self.master)

    def termios_now(self):
        return termios.tcgetattr(self.slave)

    def wait_raw(self, timeout=10):
        """Wait until spawn has put the terminal into raw mode (ICANON and ECHO off)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            lflag = self.termios_now()[3]
            if not lflag & (termios.ICANON | termios.ECHO):
                return
            if self.proc.poll() is not None:
                break
            self.out.drain(0.05)
        raise AssertionError(f"terminal never switched to raw mode (spawn rc={self.proc.poll()}); "
                             f"output so far {self.out.buf!r}")

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        os.write(self.master, data)

    def wait(self, timeout=DEFAULT_TIMEOUT):
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None:
            if time.monotonic() > deadline:
                raise AssertionError(f"spawn did not exit within {timeout}s; output {self.out.buf!r}")
            self.out.drain(0.05)
        self.out.drain(0.1)
        return self.proc.returncode

    @property
    def output(self):
        return self.out.buf.decode("utf-8", "replace")


# ---------------------------------------------------------------------------------------------
# fixtures

@pytest.fixture(scope="session")
def tmproot():
    """One directory for everything the session creates (trees, bind sources, host targets)."""
    if os.geteuid() != 0:
        skip_or_fail("integration tests must run as root")
    path = Path(tempfile.mkdtemp(prefix="berth-it-"))
    os.chmod(path, 0o755)  # reachable by uid 65534 for the not-root test
    try:
        yield path
    finally:
        remove_tree(path)


@pytest.fixture(scope="session")
def spawn_bin():
    if not SPAWN.is_file() or not os.access(SPAWN, os.X_OK):
        skip_or_fail(f"spawn binary not built: {SPAWN} (set BERTH_BUILD_DIR or build with meson)")
    return SPAWN


@pytest.fixture(scope="session")
def busybox_tree(tmproot, spawn_bin):
    """A busybox OS tree built once per session; tests must not modify it (use `tree_copy`)."""
    if not HELPER.is_file():
        skip_or_fail(f"test helper not built: {HELPER}")
    if not TREE_SCRIPT.is_file():
        skip_or_fail(f"tree builder missing: {TREE_SCRIPT}")
    path = tmproot / "base" / TREE_NAME
    path.parent.mkdir()
    cp = subprocess.run(["bash", str(TREE_SCRIPT), str(path), str(HELPER)], stdout=subprocess.PIPE,
                        stderr=subprocess.STDOUT, timeout=600)
    if cp.returncode != 0:
        out = cp.stdout.decode(errors="replace")
        if "busybox-static" in out:
            skip_or_fail(f"cannot build busybox tree (busybox-static unavailable): {out.strip()}")
        pytest.fail(f"make-busybox-tree.sh failed ({cp.returncode}): {out}")
    for need in ("usr/bin/berth-test-helper", "bin/sh", "etc/passwd", "etc/group", "etc/os-release"):
        assert os.path.lexists(path / need), f"tree lacks {need}"
    return path


class Resources:
    """Per-test scratch space; everything registered here is removed by `_guard` after its checks."""

    def __init__(self, root):
        self.root = root
        self.dirs = []

    def mkdtemp(self, prefix="d"):
        d = Path(tempfile.mkdtemp(prefix=prefix + "-", dir=self.root))
        os.chmod(d, 0o755)
        self.dirs.append(d)
        return d


@pytest.fixture
def _resources(tmproot):
    return Resources(tmproot)


@pytest.fixture(autouse=True)
def _guard(request, spawn_bin, tmproot, _resources):
    """After every test: no mount under TMPROOT, no process living in it, no orphan of ours alive.
    Failing that is a teardown error of the test that left them; then clean up regardless."""
    reap_zombie_children()
    yield
    try:
        no_leftovers(tmproot)
    finally:
        force_cleanup(tmproot)
        for d in _resources.dirs:
            remove_tree(d)


@pytest.fixture
def procs():
    p = Procs()
    try:
        yield p
    finally:
        p.cleanup()


@pytest.fixture
def tree(busybox_tree):
    """The shared tree, for tests that do not change it."""
    return busybox_tree


@pytest.fixture
def tree_copy(busybox_tree, _resources):
    """A fresh private copy (cp -a) of the busybox tree, for tests that modify it."""
    d = _resources.mkdtemp("copy")
    dst = d / TREE_NAME
    subprocess.run(["cp", "-a", str(busybox_tree), str(dst)], check=True, timeout=120)
    return dst


@pytest.fixture
def scratch(_resources):
    """A fresh empty host directory (0755) under the session root."""
    return _resources.mkdtemp("scratch")


@pytest.fixture
def token():
    return f"berth-tok-{uuid.uuid4().hex}"


def snapshot(path):
    """Everything observable about a host directory tree, for "must stay untouched" checks."""
    path = str(path)
    snap = {}
    for dirpath, dirnames, filenames in os.walk(path, followlinks=False):
        for name in [""] + dirnames + filenames:
            p = os.path.join(dirpath, name) if name else dirpath
            if not name and dirpath != path:
                continue
            st = os.lstat(p)
            entry = (st.st_mode, st.st_uid, st.st_gid, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
            if os.path.islink(p):
                entry += (os.readlink(p),)
            elif os.path.isfile(p):
                with open(p, "rb") as f:
                    entry += (f.read(),)
            snap[os.path.relpath(p, path)] = entry
    return snap


def host_os_release():
    for p in ("/etc/os-release", "/usr/lib/os-release"):
        if os.path.exists(p):
            with open(p) as f:
                return f.read()
    return None


def cap_mask(names):
    return sum(1 << CAP_NUMBERS[n] for n in names)


CAP_NUMBERS = {
    "CHOWN": 0, "DAC_OVERRIDE": 1, "DAC_READ_SEARCH": 2, "FOWNER": 3, "FSETID": 4, "KILL": 5,
    "SETGID": 6, "SETUID": 7, "SETPCAP": 8, "LINUX_IMMUTABLE": 9, "NET_BIND_SERVICE": 10,
    "NET_BROADCAST": 11, "NET_ADMIN": 12, "NET_RAW": 13, "IPC_LOCK": 14, "IPC_OWNER": 15,
    "SYS_MODULE": 16, "SYS_RAWIO": 17, "SYS_CHROOT": 18, "SYS_PTRACE": 19, "SYS_PACCT": 20,
    "SYS_ADMIN": 21, "SYS_BOOT": 22, "SYS_NICE": 23, "SYS_RESOURCE": 24, "SYS_TIME": 25,
    "SYS_TTY_CONFIG": 26, "MKNOD": 27, "LEASE": 28, "AUDIT_WRITE": 29, "AUDIT_CONTROL": 30,
    "SETFCAP": 31, "MAC_OVERRIDE": 32, "MAC_ADMIN": 33, "SYSLOG": 34, "WAKE_ALARM": 35,
    "BLOCK_SUSPEND": 36, "AUDIT_READ": 37, "PERFMON": 38, "BPF": 39, "CHECKPOINT_RESTORE": 40,
}


def host_cap(field="CapBnd"):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1], 16)
    raise AssertionError(f"no {field} in /proc/self/status")
from machined_fixtures import *  # noqa: E402,F401,F403  (machined tests)
