# SPDX-License-Identifier: LGPL-2.1-or-later
"""berth-oci, the OCI runtime command line: by hand (create -> start -> state -> kill -> delete, exec,
a console socket, bad bundles), then driven by podman (through conmon) and by containerd's runc shim.

Every container's cgroup lives below /berth-test-oci-<pid> (ours, removed afterwards); podman and
containerd get private roots under the session directory and are killed by PID."""

import array
import hashlib
import io
import json
import os
import shutil
import signal
import socket
import subprocess
import tarfile
import tempfile
import time
from pathlib import Path

import pytest

from conftest import (BUILD, DEFAULT_TIMEOUT, TREE_NAME, _decode, kill_pid, own_children,
                      reap_zombie_children, remove_tree, skip_or_fail)

OCI = BUILD / "berth-oci"
CG_PARENT = f"/berth-test-oci-{os.getpid()}"
CGROUP_FS = Path("/sys/fs/cgroup")


# ---------------------------------------------------------------------------------------------
# helpers

def cgroup_dirs(path):
    """Where cgroup PATH would live in every mounted hierarchy (v1 and v2)."""
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            fstype = fields[fields.index("-") + 1]
            if fstype in ("cgroup", "cgroup2"):
                out.append(Path(fields[4]) / path.lstrip("/"))
    return out


def remove_cgroup_subtree(path):
    """Kill (by PID) whatever is left in our test subtree, then rmdir it depth first."""
    for top in cgroup_dirs(path):
        if not top.is_dir():
            continue
        for dirpath, _, _ in os.walk(top):
            try:
                for pid in Path(dirpath, "cgroup.procs").read_text().split():
                    kill_pid(int(pid))
            except OSError:
                pass
    deadline = time.monotonic() + 5
    for top in cgroup_dirs(path):
        for dirpath, _, _ in sorted(os.walk(top), key=lambda w: -len(w[0])):
            while True:
                try:
                    os.rmdir(dirpath)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        break
                    time.sleep(0.05)


def oci(root, *args, timeout=DEFAULT_TIMEOUT, **kw):
    """Runs berth-oci with its output in files, not pipes: create's container keeps them open."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        cp = subprocess.run([str(OCI), "--root", str(root)] + [str(a) for a in args], stdout=out, stderr=err,
                            timeout=timeout, **kw)
        out.seek(0)
        err.seek(0)
        return subprocess.CompletedProcess(cp.args, cp.returncode, out.read(), err.read())


def oci_ok(root, *args, **kw):
    cp = oci(root, *args, **kw)
    assert cp.returncode == 0, f"berth-oci {args} failed ({cp.returncode}): {_decode(cp.stderr)}"
    return _decode(cp.stdout)


def state(root, cid):
    return json.loads(oci_ok(root, "state", cid))


def wait_for(cond, timeout=10, what="condition"):
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def make_spec(rootfs, args, cgroups_path, *, terminal=False, binds=(), readonly=True):
    caps = ["CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_AUDIT_WRITE", "CAP_SETUID", "CAP_SETGID"]
    mounts = [
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
         "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]},
        {"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777"]},
        {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
        {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["nosuid", "noexec", "nodev", "ro"]},
        {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev"]},
    ]
    for src, dst in binds:
        mounts.append({"destination": dst, "type": "bind", "source": str(src), "options": ["rbind", "rw"]})
    return {
        "ociVersion": "1.0.2",
        "process": {
            "terminal": terminal, "user": {"uid": 0, "gid": 0}, "args": args, "cwd": "/",
            "env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm", "FROM_CONFIG=yes"],
            "capabilities": {k: caps for k in ("bounding", "effective", "permitted")},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 512}],
            "noNewPrivileges": True,
        },
        "root": {"path": str(rootfs), "readonly": readonly},
        "hostname": "berthoci",
        "mounts": mounts,
        "annotations": {"io.berth.test": "yes"},
        "linux": {
            "namespaces": [{"type": t} for t in ("pid", "network", "ipc", "uts", "mount")],
            "cgroupsPath": cgroups_path,
            "resources": {"devices": [{"allow": False, "access": "rwm"}], "pids": {"limit": 100}},
            "maskedPaths": ["/proc/kcore", "/proc/keys", "/sys/firmware"],
            "readonlyPaths": ["/proc/sys", "/proc/sysrq-trigger"],
            # getpriority (busybox nice) fails with EOPNOTSUPP: shows the filter is loaded.
            "seccomp": {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
                        "syscalls": [{"names": ["getpriority"], "action": "SCMP_ACT_ERRNO", "errnoRet": 95}]},
        },
    }


CAP_BITS = (1 << 5) | (1 << 10) | (1 << 29) | (1 << 7) | (1 << 6)
LOOP = "trap 'echo term > /out/term; exit 7' TERM; echo started > /out/started; while :; do sleep 0.1; done"


class Env:
    """A state root, a bundle over the shared busybox tree and an /out directory for one test."""

    def __init__(self, base, tree):
        self.base = base
        self.root = base / "state"
        self.out = base / "out"
        self.out.mkdir()
        self.tree = tree
        self.n = 0

    def bundle(self, args, cid, **kw):
        self.n += 1
        b = self.base / f"bundle{self.n}"
        b.mkdir()
        spec = make_spec(self.tree, args, f"{CG_PARENT}/{cid}", binds=[(self.out, "/out")], **kw)
        (b / "config.json").write_text(json.dumps(spec))
        return b

    def cgroup(self, cid):
        return Path(f"/sys/fs/cgroup/pids{CG_PARENT}/{cid}")

    def running(self, cid, args=("sh", "-c", LOOP)):
        b = self.bundle(list(args), cid)
        oci_ok(self.root, "create", "--bundle", b, "--pid-file", self.base / f"{cid}.pid", cid)
        oci_ok(self.root, "start", cid)
        if args[-1] == LOOP:
            wait_for(lambda: (self.out / "started").exists(), what="the container to start")
        return state(self.root, cid)


@pytest.fixture
def oci_env(tree, scratch):
    if not OCI.is_file():
        skip_or_fail(f"berth-oci not built: {OCI}")
    env = Env(scratch, tree)
    try:
        yield env
    finally:
        if env.root.is_dir():
            for cid in os.listdir(env.root):
                oci(env.root, "delete", "--force", cid)
        reap_zombie_children()
        remove_cgroup_subtree(CG_PARENT)


def reap(pid, timeout=10):
    """The container's init is reparented to us (pytest is a subreaper): wait for it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        p, status = os.waitpid(pid, os.WNOHANG)
        if p == pid:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.05)
    pytest.fail(f"container init {pid} did not exit")


# ---------------------------------------------------------------------------------------------
# by hand

def test_lifecycle_create_start_state_kill_delete(oci_env):
    e, cid = oci_env, "life1"
    b = e.bundle(["sh", "-c", LOOP], cid)
    pidfile = e.base / "pid"
    oci_ok(e.root, "create", "--bundle", b, "--pid-file", pidfile, cid)

    st = state(e.root, cid)
    pid = int(pidfile.read_text())
    assert st["status"] == "created" and st["pid"] == pid and st["bundle"] == str(b)
    assert st["annotations"] == {"io.berth.test": "yes"}
    assert (e.root / cid / "exec.fifo").exists()
    assert not (e.out / "started").exists(), "the process ran before start"
    assert str(pid) in (e.cgroup(cid) / "cgroup.procs").read_text().split()
    assert (e.cgroup(cid) / "pids.max").read_text().strip() == "100"

    oci_ok(e.root, "start", cid)
    wait_for(lambda: (e.out / "started").exists(), what="the container to start")
    assert state(e.root, cid)["status"] == "running"
    assert not (e.root / cid / "exec.fifo").exists()
    cp = oci(e.root, "start", cid)
    assert cp.returncode == 1 and "running" in _decode(cp.stderr)

    listed = json.loads(oci_ok(e.root, "list", "--format", "json"))
    assert [(c["id"], c["status"], c["pid"]) for c in listed] == [(cid, "running", pid)]
    assert pid in json.loads(oci_ok(e.root, "ps", "--format", "json", cid))
    cp = oci(e.root, "delete", cid)
    assert cp.returncode == 1 and "not stopped" in _decode(cp.stderr)

    oci_ok(e.root, "kill", cid, "TERM")
    assert reap(pid) == 7
    assert (e.out / "term").read_text() == "term\n"
    st = state(e.root, cid)
    assert st["status"] == "stopped" and st["pid"] == 0

    oci_ok(e.root, "delete", cid)
    assert not (e.root / cid).exists()
    assert not e.cgroup(cid).exists(), "delete left the cgroup"
    cp = oci(e.root, "state", cid)
    assert cp.returncode == 1 and _decode(cp.stderr).strip() == f'berth-oci: container "{cid}" does not exist'
    assert oci(e.root, "delete", "--force", cid).returncode == 0  # containerd relies on this


def test_exec_into_running_container(oci_env):
    e, cid = oci_env, "exec1"
    st = e.running(cid)
    init = st["pid"]

    out = oci_ok(e.root, "exec", cid, "sh", "-c", "echo $$; hostname; echo $FROM_CONFIG; cat /proc/1/cmdline")
    lines = out.splitlines()
    assert lines[1:3] == ["berthoci", "yes"] and lines[3].startswith("sh")
    assert int(lines[0]) > 1, "exec did not join the PID namespace"

    assert oci(e.root, "exec", cid, "sh", "-c", "exit 3").returncode == 3
    caps = oci_ok(e.root, "exec", cid, "sh", "-c", "grep -E 'CapBnd|NoNewPrivs' /proc/self/status")
    assert int(caps.split()[1], 16) == CAP_BITS and caps.split()[3] == "1"
    cp = oci(e.root, "exec", cid, "renice", "-n", "1", "-p", "1")
    assert cp.returncode != 0 and "not supported" in _decode(cp.stderr).lower(), "seccomp filter not applied"
    cp = oci(e.root, "exec", cid, "no-such-command")
    assert cp.returncode != 0 and "executable file not found" in _decode(cp.stderr)

    proc = e.base / "process.json"
    proc.write_text(json.dumps({"args": ["sh", "-c", "echo $FOO $(pwd) $(id -u)"], "cwd": "/tmp",
                                "env": ["FOO=bar", "PATH=/bin:/usr/bin"], "user": {"uid": 65534, "gid": 65534}}))
    assert oci_ok(e.root, "exec", "--process", proc, cid).split() == ["bar", "/tmp", "65534"]
    assert oci_ok(e.root, "exec", "--env", "X=1", "--cwd", "/out", "--user", "1:1", cid,
                  "sh", "-c", "echo $X $(pwd) $(id -u)").split() == ["1", "/out", "1"]

    pidfile = e.base / "exec.pid"
    oci_ok(e.root, "exec", "--detach", "--pid-file", pidfile, cid, "sleep", "30")
    xpid = int(pidfile.read_text())
    assert os.readlink(f"/proc/{xpid}/ns/pid") == os.readlink(f"/proc/{init}/ns/pid")
    assert os.readlink(f"/proc/{xpid}/ns/mnt") == os.readlink(f"/proc/{init}/ns/mnt")
    assert str(xpid) in (e.cgroup(cid) / "cgroup.procs").read_text().split()
    assert xpid in json.loads(oci_ok(e.root, "ps", "--format", "json", cid))

    oci_ok(e.root, "kill", "--all", cid, "KILL")
    # The exec'd process is ours (its berth-oci exited): the dying init waits until it is reaped.
    assert reap(xpid) == -signal.SIGKILL
    assert reap(init) == -signal.SIGKILL
    oci_ok(e.root, "delete", cid)
    assert not e.cgroup(cid).exists()


def recv_fd(conn):
    fds = array.array("i")
    msg, anc, _, _ = conn.recvmsg(1024, socket.CMSG_LEN(fds.itemsize))
    for level, typ, data in anc:
        if level == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
            fds.frombytes(data[:fds.itemsize])
    assert len(fds) == 1, "no fd received on the console socket"
    return fds[0], msg


def read_until(fd, needle, timeout=10):
    buf = b""
    deadline = time.monotonic() + timeout
    os.set_blocking(fd, False)
    while needle not in buf and time.monotonic() < deadline:
        try:
            chunk = os.read(fd, 4096)
        except BlockingIOError:
            time.sleep(0.05)
            continue
        except OSError:
            break
        if not chunk:
            break
        buf += chunk
    return buf


def test_console_socket(oci_env):
    e, cid = oci_env, "tty1"
    sock_path = e.base / "console.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(sock_path))
    listener.listen(1)
    listener.settimeout(DEFAULT_TIMEOUT)
    b = e.bundle(["sh", "-c", "tty; [ -t 0 ] && echo stdin-is-a-tty; read x; echo got-$x; sleep 30"], cid, terminal=True)
    p = subprocess.Popen([str(OCI), "--root", str(e.root), "create", "--bundle", str(b), "--console-socket",
                          str(sock_path), cid], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    master = -1
    try:
        conn, _ = listener.accept()
        master, name = recv_fd(conn)
        conn.close()
        assert p.wait(timeout=DEFAULT_TIMEOUT) == 0, _decode(p.stderr.read())
        oci_ok(e.root, "start", cid)
        out = read_until(master, b"stdin-is-a-tty")
        assert b"/dev/pts/0" in out and b"stdin-is-a-tty" in out, out
        os.write(master, b"hello\n")
        assert b"got-hello" in read_until(master, b"got-hello")
        st = state(e.root, cid)
        oci_ok(e.root, "delete", "--force", cid)
        reap(st["pid"])
    finally:
        listener.close()
        if master >= 0:
            os.close(master)
        p.stdout.close()
        p.stderr.close()


@pytest.mark.parametrize("breakage", ["missing-root", "invalid-json", "unknown-namespace"])
def test_bad_bundle(oci_env, breakage):
    e, cid = oci_env, "bad1"
    b = e.bundle(["true"], cid)
    spec = json.loads((b / "config.json").read_text())
    if breakage == "missing-root":
        spec["root"]["path"] = str(e.base / "nonexistent")
        (b / "config.json").write_text(json.dumps(spec))
        want = "not a directory"
    elif breakage == "invalid-json":
        (b / "config.json").write_text('{"ociVersion": "1.0.2", "process": ')
        want = "config.json"
    else:
        spec["linux"]["namespaces"].append({"type": "bogus"})
        (b / "config.json").write_text(json.dumps(spec))
        want = "unknown namespace type 'bogus'"
    cp = oci(e.root, "create", "--bundle", b, "--pid-file", e.base / "pid", cid)
    err = _decode(cp.stderr)
    assert cp.returncode == 1
    assert len(err.strip().splitlines()) == 1 and want in err, err
    assert not (e.root / cid).exists() and not (e.base / "pid").exists()
    assert not e.cgroup(cid).exists()
    assert not [c for c, s in own_children() if s not in ("Z", "X")]


def test_features_and_log_json(oci_env):
    e = oci_env
    f = json.loads(oci_ok(e.root, "features"))
    assert f["ociVersionMin"] == "1.0.0" and "mount" in f["linux"]["namespaces"]
    assert f["linux"]["seccomp"]["enabled"] is True and "CAP_SYS_ADMIN" in f["linux"]["capabilities"]
    log = e.base / "log.json"
    cp = subprocess.run([str(OCI), "--root", str(e.root), "--log", str(log), "--log-format", "json", "state", "nope"],
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=DEFAULT_TIMEOUT)
    assert cp.returncode == 1 and cp.stderr == b""
    entry = json.loads(log.read_text().splitlines()[-1])
    assert entry["level"] == "error" and entry["msg"] == 'container "nope" does not exist'


# ---------------------------------------------------------------------------------------------
# podman and containerd

def image_archive(tree, out, tag):
    """A docker-archive (what `docker save` writes) of TREE as one layer: podman load and ctr import take it."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        t.add(str(tree), arcname=".")
    layer = buf.getvalue()
    lsha = hashlib.sha256(layer).hexdigest()
    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "config": {"Cmd": ["/bin/sh"], "Env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"]},
                         "rootfs": {"type": "layers", "diff_ids": ["sha256:" + lsha]}}).encode()
    csha = hashlib.sha256(config).hexdigest()
    manifest = json.dumps([{"Config": csha + ".json", "RepoTags": [tag], "Layers": [lsha + "/layer.tar"]}]).encode()
    with tarfile.open(out, "w") as t:
        for name, data in ((lsha + "/layer.tar", layer), (csha + ".json", config), ("manifest.json", manifest)):
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
    return out


def need(tool):
    path = shutil.which(tool)
    if not path:
        skip_or_fail(f"{tool} not installed (scripts/deps.sh test installs it)")
    return path


class Podman:
    def __init__(self, base, runroot):
        self.base = base
        # podman refuses a --runroot longer than 50 characters (conmon's socket paths must fit).
        self.args = ["podman", "--root", str(base / "root"), "--runroot", str(runroot),
                     "--tmpdir", str(base / "tmp"), "--storage-driver", "vfs", "--cgroup-manager", "cgroupfs",
                     "--events-backend", "file", "--runtime", str(OCI)]

    def run(self, *args, timeout=120, check=True):
        cp = subprocess.run(self.args + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
        if check:
            assert cp.returncode == 0, f"podman {args} failed ({cp.returncode}): {_decode(cp.stderr)}"
        return cp

    def out(self, *args, **kw):
        return _decode(self.run(*args, **kw).stdout)


@pytest.fixture
def podman(oci_env, tree_copy):
    need("podman")
    need("conmon")
    base = oci_env.base / "podman"
    base.mkdir()
    runroot = Path(tempfile.mkdtemp(prefix="berth-pm-", dir="/tmp"))
    pm = Podman(base, runroot)
    try:
        yield pm, tree_copy
    finally:
        subprocess.run(pm.args + ["rm", "-a", "-f", "-t", "0"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=120)
        reap_zombie_children()
        remove_tree(runroot)
        # podman passes no --root: berth-oci's default state root, left empty by every delete.
        try:
            os.rmdir("/run/berth-oci")
        except OSError:
            pass


def podman_container_checks(pm, name, full_id, tree_has_helper=True):
    ps = json.loads(pm.out("ps", "--format", "json"))
    assert [c["Names"][0] for c in ps if c["State"] == "running"] == [name]
    out = pm.out("exec", name, "sh", "-c", "echo in-exec; hostname; cat /proc/1/cmdline | tr '\\0' ' '")
    assert out.splitlines()[0] == "in-exec" and "sleep 600" in out
    # A terminal: conmon's console socket receives the pty master berth-oci opened in the container.
    assert pm.out("exec", "-t", name, "tty").strip().startswith("/dev/pts/")
    assert pm.run("exec", name, "sh", "-c", "exit 4", check=False).returncode == 4
    pm.run("pause", name)
    assert pm.out("inspect", "--format", "{{.State.Status}}", name).strip() == "paused"
    pm.run("unpause", name)
    assert Path(f"/run/berth-oci/{full_id}/state.json").exists()
    pm.run("kill", name)
    wait_for(lambda: pm.out("inspect", "--format", "{{.State.Status}}", name).strip() == "exited",
             what="podman to see the container exit")
    assert pm.out("inspect", "--format", "{{.State.ExitCode}}", name).strip() == "137"
    pm.run("rm", name)
    assert not Path(f"/run/berth-oci/{full_id}").exists(), "berth-oci state left after podman rm"
    assert not any(d.exists() for d in cgroup_dirs(f"{CG_PARENT}/libpod-{full_id}"))


def test_podman_rootfs(podman):
    pm, rootfs = podman
    out = pm.out("run", "--rm", "--network", "none", "--cgroup-parent", CG_PARENT, "--rootfs", str(rootfs),
                 "/bin/sh", "-c", "echo hello-podman; cat /proc/self/cgroup | grep pids")
    assert out.splitlines()[0] == "hello-podman" and f"pids:{CG_PARENT}/libpod-" in out
    full_id = pm.out("run", "-d", "--name", "pm1", "--network", "none", "--cgroup-parent", CG_PARENT,
                     "--rootfs", str(rootfs), "/bin/sleep", "600").strip()
    podman_container_checks(pm, "pm1", full_id)


def test_podman_loaded_image(podman, oci_env):
    pm, rootfs = podman
    archive = image_archive(rootfs, oci_env.base / "image.tar", "localhost/berth-oci-test:1")
    assert "localhost/berth-oci-test:1" in pm.out("load", "-i", str(archive))
    full_id = pm.out("run", "-d", "--name", "pm2", "--network", "none", "--cgroup-parent", CG_PARENT,
                     "localhost/berth-oci-test:1", "/bin/sleep", "600").strip()
    podman_container_checks(pm, "pm2", full_id)


CONTAINERD_CONFIG = """version = 2
root = "{base}/root"
state = "{base}/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
                    "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",
                    "io.containerd.internal.v1.tracing", "io.containerd.tracing.processor.v1.otlp"]
[grpc]
  address = "{base}/containerd.sock"
[ttrpc]
  address = "{base}/containerd.sock.ttrpc"
"""


@pytest.fixture
def containerd(oci_env):
    need("containerd")
    need("ctr")
    need("containerd-shim-runc-v2")
    base = oci_env.base / "containerd"
    base.mkdir()
    (base / "config.toml").write_text(CONTAINERD_CONFIG.format(base=base))
    log = open(base / "containerd.log", "wb")
    d = subprocess.Popen(["containerd", "--config", str(base / "config.toml")], stdout=log, stderr=subprocess.STDOUT)
    ns = f"berthtest{os.getpid()}"
    ctr = ["ctr", "--address", str(base / "containerd.sock"), "--namespace", ns]
    try:
        wait_for(lambda: (base / "containerd.sock").exists() or d.poll() is not None, timeout=30,
                 what="containerd's socket")
        assert d.poll() is None, (base / "containerd.log").read_text()
        yield ctr, base
    finally:
        for task in ("ctr1",):
            subprocess.run(ctr + ["task", "delete", "--force", task], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=60)
            subprocess.run(ctr + ["container", "delete", task], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=60)
        d.send_signal(signal.SIGTERM)
        try:
            d.wait(timeout=20)
        except subprocess.TimeoutExpired:
            kill_pid(d.pid)
            d.wait()
        log.close()
        # The shim keeps runc's --root per namespace; runc leaves the empty directory too.
        try:
            os.rmdir(f"/run/containerd/runc/{ns}")
        except OSError:
            pass


def ctr_run(ctr, *args, timeout=60, check=True):
    cp = subprocess.run(ctr + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    if check:
        assert cp.returncode == 0, f"ctr {args} failed ({cp.returncode}): {_decode(cp.stderr)}"
    return _decode(cp.stdout)


def test_containerd_runc_shim(containerd, oci_env):
    ctr, base = containerd
    archive = image_archive(oci_env.tree, base / "image.tar", "localhost/berth-oci-test:1")
    ctr_run(ctr, "images", "import", "--snapshotter", "native", str(archive))
    ctr_run(ctr, "run", "-d", "--snapshotter", "native", "--runc-binary", str(OCI), "--cgroup", f"{CG_PARENT}/ctr1",
            "localhost/berth-oci-test:1", "ctr1", "/bin/sleep", "600")
    tasks = ctr_run(ctr, "task", "ls")
    assert any(line.split()[0] == "ctr1" and line.split()[2] == "RUNNING" for line in tasks.splitlines()[1:]), tasks
    init = int([line.split()[1] for line in tasks.splitlines()[1:] if line.split()[0] == "ctr1"][0])
    assert str(init) in Path(f"/sys/fs/cgroup/pids{CG_PARENT}/ctr1/cgroup.procs").read_text().split()

    out = ctr_run(ctr, "task", "exec", "--exec-id", "e1", "ctr1", "sh", "-c", "echo in-ctr-exec; cat /proc/1/cmdline")
    assert out.startswith("in-ctr-exec") and "sleep" in out
    assert str(init) in ctr_run(ctr, "task", "ps", "ctr1")

    ctr_run(ctr, "task", "kill", "-s", "SIGKILL", "ctr1")
    wait_for(lambda: "STOPPED" in ctr_run(ctr, "task", "ls"), what="containerd to see the task stop")
    ctr_run(ctr, "task", "delete", "ctr1")
    ctr_run(ctr, "container", "delete", "ctr1")
    ns = ctr[ctr.index("--namespace") + 1]
    assert not Path(f"/run/containerd/runc/{ns}/ctr1").exists(), "berth-oci state left after ctr task delete"
    assert not any(d.exists() for d in cgroup_dirs(f"{CG_PARENT}/ctr1"))


def test_hooks_in_order_with_state(oci_env):
    """All six kinds, where the runtime-spec puts them: host-side ones write to OUT on the host,
    startContainer (resolved in the container) to /out; a failing createRuntime hook fails create."""
    e, cid = oci_env, "hooks1"
    log = e.out / "hooks"
    b = e.bundle(["sh", "-c", "echo process >> /out/hooks; sleep 30"], cid)
    spec = json.loads((b / "config.json").read_text())

    def host(kind, save_state=False):
        cmd = (f"cat > {e.out}/{kind}.json; " if save_state else "cat > /dev/null; ") + f"echo {kind} >> {log}"
        return [{"path": "/bin/sh", "args": ["sh", "-c", cmd]}]

    spec["hooks"] = {k: host(k, k in ("createRuntime", "poststop")) for k in
                     ("prestart", "createRuntime", "createContainer", "poststart", "poststop")}
    spec["hooks"]["startContainer"] = [{"path": "/bin/sh", "args": ["sh", "-c", "echo startContainer >> /out/hooks"]}]
    (b / "config.json").write_text(json.dumps(spec))

    oci_ok(e.root, "create", "--bundle", b, cid)
    assert log.read_text().split() == ["prestart", "createRuntime", "createContainer"]
    st = json.loads((e.out / "createRuntime.json").read_text())
    pid = state(e.root, cid)["pid"]
    assert st["id"] == cid and st["pid"] == pid and st["bundle"] == str(b) and st["annotations"] == {"io.berth.test": "yes"}
    oci_ok(e.root, "start", cid)
    wait_for(lambda: "process" in log.read_text(), what="the process to run")
    oci_ok(e.root, "delete", "--force", cid)
    reap(pid)
    assert log.read_text().split() == ["prestart", "createRuntime", "createContainer", "startContainer",
                                       "poststart", "process", "poststop"] or \
        log.read_text().split() == ["prestart", "createRuntime", "createContainer", "startContainer",
                                    "process", "poststart", "poststop"]
    assert json.loads((e.out / "poststop.json").read_text())["status"] == "stopped"

    spec["hooks"] = {"createRuntime": [{"path": "/bin/sh", "args": ["sh", "-c", "exit 3"]}]}
    (b / "config.json").write_text(json.dumps(spec))
    cp = oci(e.root, "create", "--bundle", b, cid)
    assert cp.returncode == 1 and "createRuntime hook /bin/sh failed (exit status 3)" in _decode(cp.stderr)
    assert len(_decode(cp.stderr).strip().splitlines()) == 1
    assert not (e.root / cid).exists() and not e.cgroup(cid).exists()


def test_preserve_fds_and_run(oci_env):
    """--preserve-fds hands fd 3.. to the process (podman's socket activation); run waits for it."""
    e, cid = oci_env, "fds1"
    b = e.bundle(["sh", "-c", "echo via-fd3 >&3; ls /proc/self/fd | sort -n | tr '\\n' ' ' >&3"], cid)
    r, w = os.pipe()
    try:
        cp = oci(e.root, "run", "--bundle", b, "--preserve-fds", "1", cid,
                 preexec_fn=lambda: os.dup2(w, 3), pass_fds=(3,))
        os.close(w)
        w = -1
        assert cp.returncode == 0, _decode(cp.stderr)
        out = os.read(r, 4096).decode()
    finally:
        os.close(r)
        if w >= 0:
            os.close(w)
    lines = out.split("\n", 1)
    assert lines[0] == "via-fd3"
    # 0-2, the preserved 3 and ls's own directory fd: nothing of berth-oci leaked in.
    assert len(lines[1].split()) == 5, out
    assert not (e.root / cid).exists(), "run left its container behind"
    assert not e.cgroup(cid).exists()


def test_pause_resume(oci_env):
    e, cid = oci_env, "frz1"
    count = e.out / "count"
    st = e.running(cid, args=("sh", "-c", "i=0; while :; do i=$((i+1)); echo $i > /out/count; sleep 0.05; done"))
    wait_for(lambda: count.exists() and count.read_text().strip() not in ("", "1"), what="the counter")
    oci_ok(e.root, "pause", cid)
    assert state(e.root, cid)["status"] == "paused"
    frozen = count.read_text()
    time.sleep(0.5)
    assert count.read_text() == frozen, "the container ran while paused"
    assert oci(e.root, "pause", cid).returncode == 1
    oci_ok(e.root, "resume", cid)
    assert state(e.root, cid)["status"] == "running"
    wait_for(lambda: count.read_text() != frozen, what="the counter to go on")
    oci_ok(e.root, "pause", cid)
    oci_ok(e.root, "delete", "--force", cid)  # kills a paused container too
    assert reap(st["pid"]) == -signal.SIGKILL
    assert not e.cgroup(cid).exists()


def test_update_resources(oci_env):
    """update, as containerd's shim calls it for Kubernetes: resources JSON on stdin, or flags."""
    e, cid = oci_env, "upd1"
    e.running(cid)
    mem = Path(f"/sys/fs/cgroup/memory{CG_PARENT}/{cid}/memory.limit_in_bytes")
    oci_ok(e.root, "update", "--memory", str(64 << 20), "--pids-limit", "50", cid)
    assert (e.cgroup(cid) / "pids.max").read_text().strip() == "50"
    assert int(mem.read_text()) == 64 << 20
    oci_ok(e.root, "update", "--resources", "-", cid, input=json.dumps({"pids": {"limit": 60}}).encode())
    assert (e.cgroup(cid) / "pids.max").read_text().strip() == "60"
    cp = oci(e.root, "update", "--resources", "-", cid, input=b'{"pids": {"limit": "many"}}')
    assert cp.returncode == 1 and len(_decode(cp.stderr).strip().splitlines()) == 1
    assert (e.cgroup(cid) / "pids.max").read_text().strip() == "60"
    pid = state(e.root, cid)["pid"]
    oci_ok(e.root, "delete", "--force", cid)
    reap(pid)
