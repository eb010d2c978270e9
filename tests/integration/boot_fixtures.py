"""Fixtures for booting real OS trees: debootstrap'd Debian trees cached between runs, an overlay
per test so the cache stays pristine, a notify socket to learn when the guest is ready, and a way
to run commands inside a booted container."""

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from conftest import (DEFAULT_TIMEOUT, Procs, base_env, kill_pid, must_work, skip_or_fail, spawn_cmd,
                      _decode)

CACHE = Path(os.environ.get("BERTH_CACHE_DIR", "/var/cache/berth"))
MIRROR = os.environ.get("BERTH_MIRROR", "http://deb.debian.org/debian")
BOOT_TIMEOUT = 120

# name → (suite, extra packages). Each tree is what the README's debootstrap makes, or the
# variant the issue asks to boot as well.
TREES = {
    "debian-bookworm": ("bookworm", "systemd,systemd-sysv,dbus"),
    "debian-trixie": ("trixie", "systemd,systemd-sysv,dbus"),
    "debian-sysv": ("bookworm", "sysvinit-core"),
    # sysvinit's init runs OpenRC as its rc system. debootstrap cannot include openrc (it resolves
    # sysvinit-core's rc dependency to sysv-rc, which conflicts), so apt installs it afterwards.
    "debian-openrc": ("bookworm", "sysvinit-core", "openrc"),
}


def apt_install_in(tree, packages):
    """apt-get install PACKAGES in the chroot TREE, no service started meanwhile."""
    policy = tree / "usr" / "sbin" / "policy-rc.d"
    policy.write_text("#!/bin/sh\nexit 101\n")
    policy.chmod(0o755)
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "DEBIAN_FRONTEND": "noninteractive", "LC_ALL": "C"}
    cp = subprocess.run(["chroot", str(tree), "apt-get", "install", "-y", "-q", "--no-install-recommends",
                         *packages.split(",")], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                        timeout=1800)
    policy.unlink()
    subprocess.run(["chroot", str(tree), "apt-get", "clean"], env=env, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=300)
    return cp


def cached_tree(name):
    """The cached tree NAME, created with debootstrap when absent (a few minutes each)."""
    suite, include, *post = TREES[name]
    path = CACHE / name
    marker = path / ".berth-tree-complete"
    if marker.exists():
        return path
    if not shutil.which("debootstrap"):
        if os.geteuid() == 0:
            subprocess.run(["apt-get", "install", "-y", "-q", "debootstrap"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=600)
        if not shutil.which("debootstrap"):
            skip_or_fail("debootstrap is not installed")
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = CACHE / f"{name}.tmp"
    if path.exists() and not marker.exists():
        shutil.rmtree(path)
    if tmp.exists():
        shutil.rmtree(tmp)
    cp = subprocess.run(["debootstrap", "--variant=minbase", f"--include={include}", suite, str(tmp), MIRROR],
                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=1800)
    if cp.returncode == 0 and post:
        cp = apt_install_in(tmp, post[0])
    if cp.returncode != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        pytest.fail(f"debootstrap {suite} failed: {cp.stdout.decode(errors='replace')[-2000:]}")
    (tmp / ".berth-tree-complete").write_text("debootstrap --variant=minbase --include=%s %s\n%s"
                                              % (include, suite, "".join(f"apt-get install {p}\n" for p in post)))
    tmp.rename(path)
    return path


class Overlay:
    """A writable overlayfs over a read-only cached tree, unmounted and removed at teardown."""

    def __init__(self, lower, workdir, name):
        self.base = Path(workdir)
        self.upper = self.base / "upper"
        self.work = self.base / "work"
        self.merged = self.base / name
        for d in (self.upper, self.work, self.merged):
            d.mkdir()
        subprocess.run(["mount", "-t", "overlay", "overlay", "-o",
                        f"lowerdir={lower},upperdir={self.upper},workdir={self.work}", str(self.merged)],
                       check=True, timeout=DEFAULT_TIMEOUT)

    def remove(self):
        subprocess.run(["umount", "-l", str(self.merged)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       timeout=DEFAULT_TIMEOUT)


@pytest.fixture
def overlay_of(_resources):
    made = []

    def make(lower, name):
        o = Overlay(lower, _resources.mkdtemp("ovl"), name)
        made.append(o)
        return o.merged

    yield make
    for o in made:
        o.remove()


@pytest.fixture(scope="session")
def bookworm_cache():
    return cached_tree("debian-bookworm")


@pytest.fixture(scope="session")
def trixie_cache():
    return cached_tree("debian-trixie")


@pytest.fixture(scope="session")
def sysv_cache():
    return cached_tree("debian-sysv")


@pytest.fixture(scope="session")
def openrc_cache():
    return cached_tree("debian-openrc")


@pytest.fixture
def bookworm(bookworm_cache, overlay_of):
    return overlay_of(bookworm_cache, "bookworm")


class NotifySocket:
    """What spawn --notify-ready reports to its own manager: we play that manager."""

    def __init__(self, directory):
        self.path = str(Path(directory) / "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.messages = []

    def wait_for(self, text, timeout=BOOT_TIMEOUT, count=1):
        deadline = time.monotonic() + timeout
        while sum(text in m for m in self.messages) < count:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{text!r} not received {count}x within {timeout}s; got {self.messages}")
            self.sock.settimeout(left)
            try:
                self.messages.append(self.sock.recv(4096).decode(errors="replace"))
            except socket.timeout:
                pass
        return True

    def close(self):
        self.sock.close()


@pytest.fixture
def notify(_resources):
    n = NotifySocket(_resources.mkdtemp("notify"))
    yield n
    n.close()


class Booted:
    """A spawn -b process and ways to look into the container it runs."""

    def __init__(self, proc, notify, logfile):
        self.proc = proc
        self.notify = notify
        self.logfile = logfile

    def init_pid(self, timeout=10):
        """Host PID of the container's PID 1: spawn's child in another PID namespace."""
        deadline = time.monotonic() + timeout
        own = os.readlink(f"/proc/{self.proc.pid}/ns/pid")
        while time.monotonic() < deadline:
            try:
                with open(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children") as f:
                    kids = [int(x) for x in f.read().split()]
            except FileNotFoundError:
                kids = []
            for k in kids:
                try:
                    if os.readlink(f"/proc/{k}/ns/pid") != own:
                        return k
                except FileNotFoundError:
                    pass
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        raise AssertionError(f"no container init under spawn pid {self.proc.pid} (rc={self.proc.poll()})")

    def run(self, *cmd, timeout=DEFAULT_TIMEOUT, check=True):
        """Runs CMD inside the container's namespaces (all of them, like machinectl shell)."""
        pid = self.init_pid()
        cp = subprocess.run(["nsenter", "-t", str(pid), "-m", "-u", "-i", "-n", "-p", "-C", "--", *cmd],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
        if check:
            assert cp.returncode == 0, f"{cmd} in container: rc={cp.returncode} {cp.stdout!r} {cp.stderr!r}"
        return _decode(cp.stdout)

    def wait_ready(self, timeout=BOOT_TIMEOUT, count=1):
        self.notify.wait_for("READY=1", timeout=timeout, count=count)

    def wait_file(self, path, timeout=BOOT_TIMEOUT):
        """Waits until PATH exists inside the container (for inits that do not notify)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"spawn exited with {self.proc.returncode} before {path} appeared: "
                                     f"{self.output()}")
            try:
                if os.path.exists(f"/proc/{self.init_pid()}/root{path}"):
                    return
            except AssertionError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"{path} did not appear in the container within {timeout}s")

    def exit_code(self, timeout=60):
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"spawn did not exit within {timeout}s")
        return self.proc.returncode

    def output(self):
        """spawn's stdout+stderr so far (the guest's console output among it)."""
        with open(self.logfile, "rb") as f:
            return _decode(f.read())


@pytest.fixture
def boot(procs, notify, _resources):
    """boot(tree, *args) starts `spawn -D tree -b --notify-ready=yes args...` (console read-only,
    output to a log file so a chatty guest never blocks on a full pipe), and kills it at teardown
    if the test did not stop it."""

    def start(tree, *args, env_extra=None, notify_ready=True):
        env = base_env(NOTIFY_SOCKET=notify.path, **(env_extra or {}))
        cmd = ["-D", str(tree), "-b"] + (["--notify-ready=yes"] if notify_ready else []) + [str(a) for a in args]
        log = _resources.mkdtemp("log") / "console.log"
        with open(log, "wb") as out:
            p = subprocess.Popen(spawn_cmd(cmd, quiet=False), stdin=subprocess.DEVNULL, stdout=out,
                                 stderr=subprocess.STDOUT, env=env)
        procs.track(p)
        return Booted(p, notify, log)

    return start
