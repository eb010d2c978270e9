# SPDX-License-Identifier: LGPL-2.1-or-later
"""What the bench-*.py scripts share: messages, signals, processes, /proc readings, mounts, cgroups,
peers, statistics, tables and the private bus with machined.

The scripts import it from their own directory (Python puts a script's directory first on sys.path),
so `/usr/bin/python3 bench/bench-X.py` keeps working from anywhere. Standard library only; python3-dbus
is imported lazily, by the functions that need it. The bench is self-contained: nothing here comes
from tests/ (tests/integration/machined_fixtures.py has its own copies of the cgroup and bus helpers).
"""

import gc
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAKE_TREE = os.path.join(REPO, "tests", "helpers", "make-busybox-tree.sh")
POLICY = os.path.join(REPO, "units", "org.freedesktop.machine1.conf")
BUS_NAME = "org.freedesktop.machine1"
MANAGER_PATH = "/org/freedesktop/machine1"
MANAGER_IFACE = "org.freedesktop.machine1.Manager"

# ---------------------------------------------------------------------------------------------------
# Messages

PROG = "bench"


def set_prog(name):
    """Names the script in warnings and errors (`bench-spawn: ...`), also in those printed here."""
    global PROG
    PROG = name


def log(msg=""):
    """A line of the report, flushed at once: progress must show while a long run goes on."""
    print(msg, flush=True)


def warn(msg):
    print(f"{PROG}: WARNING: {msg}", file=sys.stderr, flush=True)


def die(msg):
    """The benchmark itself cannot run: exit 1 (SystemExit, so `finally:` cleanup still runs)."""
    print(f"{PROG}: {msg}", file=sys.stderr, flush=True)
    sys.exit(1)


class Fatal(RuntimeError):
    """The benchmark itself cannot run; raised where the caller must clean up before exiting 1."""


# ---------------------------------------------------------------------------------------------------
# Signals


class Terminated(Exception):
    """Raised from the SIGTERM/SIGHUP handler so that cleanup runs as for Ctrl-C."""


def raise_terminated(signum, frame):
    raise Terminated(f"terminated by signal {signal.Signals(signum).name}")


def install_signal_handlers(handler=raise_terminated, signals=(signal.SIGTERM, signal.SIGHUP)):
    """Turns SIGTERM/SIGHUP into an exception, so that the `finally:` cleanup of the script runs
    (by default a SIGTERM would leave mounts, cgroups and children behind)."""
    for sig in signals:
        signal.signal(sig, handler)


def interrupt_exit_code(exc):
    """Reports a Ctrl-C (KeyboardInterrupt) or Terminated about to be cleaned up after; returns the
    exit code of the script: 130 for SIGINT, 143 for SIGTERM/SIGHUP, as a shell would."""
    if isinstance(exc, KeyboardInterrupt):
        print(file=sys.stderr)
        warn("interrupted; cleaning up")
        return 130
    warn(f"{exc}; cleaning up")
    return 143


# ---------------------------------------------------------------------------------------------------
# Checks and packages


def add_run_args(ap, build_help, runs, warmup, unit="runs", build_default=None):
    """--build-dir, --runs and --warmup, the options of every peer-against-peer benchmark, with the
    same wording everywhere (UNIT: what one run is, e.g. "boots")."""
    ap.add_argument("--build-dir", default=build_default or os.path.join(REPO, "build"), help=build_help)
    ap.add_argument("--runs", type=int, default=runs, help=f"measured {unit} per peer (default: {runs})")
    ap.add_argument("--warmup", type=int, default=warmup,
                    help=f"discarded warm-up {unit} per peer (default: {warmup})")


def require_root(why=""):
    if os.geteuid() != 0:
        die("must run as root" + (f" ({why})" if why else ""))


def require_executables(paths, build):
    """Dies unless every binary of PATHS is there: the usual cause is a missing build."""
    for p in paths:
        if not (os.path.isfile(p) and os.access(p, os.X_OK)):
            die(f"{p} not found or not executable; build first with: ninja -C {build}")


def install_allowed(flag):
    """--install-peers, or CI=true: CI machines are fresh and must install the peers themselves."""
    return flag or os.environ.get("CI") == "true"


def try_install(package, no_recommends=False):
    """apt-get install PACKAGE; on failure refresh the index once and retry (a fresh machine may
    have no index yet). Returns an error or None."""
    if not shutil.which("apt-get"):
        return "apt-get not found"
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    cmd = ["apt-get", "install", "-y", "-q"] + (["--no-install-recommends"] if no_recommends else []) + [package]
    r = subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    if r.returncode != 0:
        u = subprocess.run(["apt-get", "update", "-q"], env=env, stdin=subprocess.DEVNULL,
                           capture_output=True, text=True)
        r = subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True)
        if r.returncode != 0:
            tail = (u.stderr + r.stdout + r.stderr).strip().splitlines()[-5:]
            return f"'apt-get install {package}' failed: " + " / ".join(tail)
    return None


def ensure_binary(binary, package, allow_install, no_recommends=False):
    """Returns (available, reason). Installs the Debian package if allowed and the binary is missing;
    otherwise the reason says how to get it, and the peer is reported as unavailable."""
    if shutil.which(binary):
        return True, None
    if not allow_install:
        return False, (f"{binary} not installed (Debian package {package}); "
                       f"pass --install-peers (or set CI=true) to apt-get install it")
    log(f"  {binary} missing, installing Debian package {package} ...")
    err = try_install(package, no_recommends)
    if err:
        return False, err
    if not shutil.which(binary):
        return False, f"{package} installed but {binary} still not found in PATH"
    return True, None


def make_busybox_tree(tree, helper):
    """The busybox-static tree of the tests (tests/helpers/make-busybox-tree.sh), with HELPER as
    /usr/bin/berth-test-helper in it. Returns an error or None."""
    r = subprocess.run([MAKE_TREE, tree, helper], stdin=subprocess.DEVNULL)
    if r.returncode != 0:
        return f"make-busybox-tree.sh failed (exit {r.returncode})"
    return None


def host_info(**extra):
    """What the numbers depend on, for the JSON result."""
    return {"kernel": platform.release(), "machine": platform.machine(), "cpus": os.cpu_count(),
            "python": platform.python_version(), **extra}


# ---------------------------------------------------------------------------------------------------
# Disk images (bench-image.py, bench-boot.py --image)

MiB = 1024 * 1024
GPT_ROOT_X86_64 = "4f68bce3-e8cd-4db1-96e7-fbcaf984b709"
CLONE_NEWNS = 0x00020000


def write_gpt_image(path, partitions):
    """A GPT image at PATH, built without loop devices: sfdisk writes the table, then mke2fs -E
    offset=... fills each ext4 partition, from a directory with -d when one is given.
    PARTITIONS: (type GUID, size in bytes, directory or None) in disk order, each aligned to 1 MiB."""
    table = ["label: gpt"]
    offsets = []
    pos = MiB
    for guid, size, _ in partitions:
        table.append(f"start={pos // 512}, size={size // 512}, type={guid}")
        offsets.append(pos)
        pos += size
    with open(path, "wb") as f:
        f.truncate(pos + MiB)  # room for the backup table
    subprocess.run(["sfdisk", "-q", path], input=("\n".join(table) + "\n").encode(), check=True,
                   stdout=subprocess.DEVNULL)
    for (_, size, content), offset in zip(partitions, offsets):
        mkfs = ["mke2fs", "-q", "-F", "-t", "ext4", "-E", f"offset={offset}"]
        if content:
            mkfs += ["-d", content]
        subprocess.run(mkfs + [path, f"{size // 1024}k"], check=True, stdout=subprocess.DEVNULL)


def enter_fake_udev_namespace():
    """Moves this process into a mount namespace of its own (a slave of the host's) with a tmpfs on
    /run/udev and a listening /run/udev/control: systemd-nspawn 252 refuses -i on a host without
    udev, and that socket is all it checks. A thread accepts and closes connections. Must run
    before any other thread exists (unshare(CLONE_NEWNS) fails in a threaded process). On the host
    at most an empty /run/udev appears, when there was none. Returns the listening socket."""
    import ctypes
    import socket
    import threading

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNS) != 0:
        die(f"unshare(CLONE_NEWNS): {os.strerror(ctypes.get_errno())}")
    subprocess.run(["mount", "--make-rslave", "/"], check=True)
    os.makedirs("/run/udev", exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "tmpfs", "/run/udev"], check=True)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    listener.bind("/run/udev/control")
    listener.listen(64)

    def accept_and_close():
        while True:
            conn, _ = listener.accept()
            conn.close()

    threading.Thread(target=accept_and_close, daemon=True).start()
    return listener


# ---------------------------------------------------------------------------------------------------
# Processes (only ever our own, by PID)


def kill_pid(pid, sig=signal.SIGKILL):
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def stop_process(proc, timeout=10, sig=signal.SIGTERM):
    """SIG (SIGTERM: spawn and nspawn forward it to the container, or halt it), then SIGKILL after
    TIMEOUT seconds; always reaps. PROC is a Popen we started."""
    if proc.poll() is not None:
        return
    try:
        proc.send_signal(sig)
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def run_timed(cmd, env=None, preexec_fn=None, capture=False, timeout=None):
    """Runs CMD with stdin and stdout on /dev/null; stderr too unless CAPTURE. Returns (wall time in
    ns from just before the start to just after the exit, exit code, stderr or "")."""
    t0 = time.perf_counter_ns()
    r = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE if capture else subprocess.DEVNULL, env=env,
                       preexec_fn=preexec_fn, timeout=timeout)
    t1 = time.perf_counter_ns()
    err = r.stderr.decode(errors="replace").strip() if capture else ""
    return t1 - t0, r.returncode, err


def rotated(names, i):
    """NAMES starting at i % len: the peers take turns going first, so that none always runs right
    after the same other one (drift of CPU frequency, page cache or load hits them all alike)."""
    k = i % len(names)
    return names[k:] + names[:k]


def measure_round_robin(names, runs, warmup, run_one):
    """Every iteration runs each peer once (RUN_ONE(name) -> (ns, exit code)), in rotated order;
    warm-up iterations are discarded, non-zero exits counted apart. The garbage collector is off
    meanwhile, so that it does not land inside one peer's runs. Returns (samples, failures, codes)."""
    samples = {n: [] for n in names}
    failures = {n: 0 for n in names}
    fail_codes = {n: set() for n in names}
    total = warmup + runs
    tty = sys.stdout.isatty()
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for i in range(total):
            for n in rotated(names, i):
                ns, rc = run_one(n)
                if i < warmup:
                    continue
                if rc == 0:
                    samples[n].append(ns)
                else:
                    failures[n] += 1
                    fail_codes[n].add(rc)
            if tty and ((i + 1) % 10 == 0 or i + 1 == total):
                print(f"\r  iteration {i + 1}/{total}", end="", flush=True)
        if tty:
            print(flush=True)
    finally:
        if gc_was_enabled:
            gc.enable()
    return samples, failures, fail_codes


# ---------------------------------------------------------------------------------------------------
# /proc/PID/status


def read_status(pid, keys=("VmHWM", "VmRSS")):
    """Fields KEYS of /proc/PID/status in KB, or None once the process is gone or a zombie (a zombie
    has no mm, so no Vm* lines)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            text = f.read()
    except OSError:
        return None
    vals = {}
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        if key in keys:
            vals[key] = int(rest.split()[0])
    return vals if "VmRSS" in vals or "VmHWM" in vals else None


class PeakVm:
    """Peak VmHWM/VmRSS of one process over repeated samples. VmHWM alone would do for the peak, but
    VmRSS shows whether it was reached at the moment of a sample; `polls` counts the samples that
    found the process alive, so a peak of a process polled zero times reads None, not 0."""

    def __init__(self):
        self.hwm = self.rss = self.polls = 0

    def sample(self, pid):
        v = read_status(pid)
        if v is not None and "VmHWM" in v:
            self.polls += 1
            self.hwm = max(self.hwm, v["VmHWM"])
            self.rss = max(self.rss, v.get("VmRSS", 0))

    def result(self):
        return {"peak_vmhwm_kb": self.hwm if self.polls else None,
                "peak_vmrss_kb": self.rss if self.polls else None,
                "polls": self.polls}


# ---------------------------------------------------------------------------------------------------
# Mounts and the temporary directory


def unescape_mountinfo(s):
    """mountinfo escapes space, tab, newline and backslash as \\ooo."""
    out, i = [], 0
    while i < len(s):
        if s[i] == "\\" and i + 4 <= len(s) and s[i + 1:i + 4].isdigit():
            out.append(chr(int(s[i + 1:i + 4], 8)))
            i += 4
        else:
            out.append(s[i])
            i += 1
    return "".join(out)


def mounts_under(path):
    """Mount points at or below PATH, from /proc/self/mountinfo."""
    path = os.path.realpath(path).rstrip("/")
    found = []
    try:
        with open("/proc/self/mountinfo") as f:
            for line in f:
                fields = line.split()
                if len(fields) < 5:
                    continue
                mp = unescape_mountinfo(fields[4])
                if mp == path or mp.startswith(path + "/"):
                    found.append(mp)
    except OSError as e:
        warn(f"cannot read /proc/self/mountinfo: {e}")
    return found


def remove_workdir(workdir):
    """Removes the temporary directory unless a mount is left under it: rmtree would delete through
    the mount (into a container's tree, or the host's). Returns the mounts found (then the directory
    is kept and they are listed on stderr)."""
    if not workdir or not os.path.exists(workdir):
        return []
    leftover = mounts_under(workdir)
    if leftover:
        warn(f"{len(leftover)} mount(s) left under {workdir}; NOT removing it:")
        for mp in leftover:
            print(f"    {mp}", file=sys.stderr)
        return leftover
    errors = []
    shutil.rmtree(workdir, onerror=lambda fn, p, ei: errors.append(f"{p}: {ei[1]}"))
    if errors:
        warn(f"could not fully remove {workdir}: " + "; ".join(errors[:5]))
    return []


def tail(path, lines=15):
    """The last LINES lines of a log file, for an error message ("" if it cannot be read)."""
    try:
        with open(path, errors="replace") as f:
            return "\n".join(f.read().splitlines()[-lines:])
    except OSError:
        return ""


# ---------------------------------------------------------------------------------------------------
# cgroups: our own cgroup in every hierarchy (/proc/self/cgroup joined with mountinfo), the place of
# machined's --cgroup-root, which is relative to the cgroup of whoever starts it.


def own_cgroup_dirs():
    """{hierarchy key: (mount point, our cgroup path)} for every mounted hierarchy."""
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
            _, ctrls, path = line.rstrip("\n").split(":", 2)
            key = ",".join(sorted(ctrls.split(","))) if ctrls else ""
            if key in mounts:
                mp, root = mounts[key]
                rel = path[len(root):] if root != "/" and path.startswith(root) else path
                result[key] = (mp, rel)
    return result


def cgroup_dirs(rel):
    """{hierarchy key: directory of cgroup REL (relative to our own cgroup)}."""
    return {key: os.path.join(mp + (own if own != "/" else ""), rel) for key, (mp, own) in own_cgroup_dirs().items()}


def cgroup_procs_recursive(directory):
    pids = []
    for dirpath, _, _ in os.walk(directory):
        try:
            with open(os.path.join(dirpath, "cgroup.procs")) as f:
                pids += [int(x) for x in f.read().split()]
        except OSError:
            pass
    return pids


def destroy_cgroup_tree(directory, timeout=10.0):
    """SIGKILL (by PID) everything in DIRECTORY and below — all of it is ours: the directory is a
    cgroup root made up for this run — then rmdir it depth first (retried: a cgroup whose last
    process is dying cannot be removed yet)."""
    if not os.path.isdir(directory):
        return
    deadline = time.monotonic() + timeout
    while True:
        pids = cgroup_procs_recursive(directory)
        for p in pids:
            kill_pid(p)
        if not pids or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    while True:
        failed = False
        for dirpath, _, _ in sorted(os.walk(directory), key=lambda t: -len(t[0])):
            try:
                os.rmdir(dirpath)
            except FileNotFoundError:
                pass
            except OSError:
                failed = True
        if not failed or time.monotonic() > deadline:
            break
        time.sleep(0.05)


# ---------------------------------------------------------------------------------------------------
# The private system bus and machined

# The bus configuration of tests/integration/machined_fixtures.py (PrivateBus), without the
# test-only policies: a system bus whose only extra rules are our shipped policy (POLICY, read from
# units/). {limits} takes <limit> elements (bench-machined raises the pending replies per connection
# for its thousand CreateMachine calls).
BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
{limits}  <policy context="default">
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
  </policy>
  <include>{policy}</include>
</busconfig>
"""


def bus_env(address, **extra):
    """Our environment with the private bus as the system bus: spawn, machined and nspawn use it."""
    return dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=address, **extra)


def start_private_bus(conf, socket, log_path=None, limits=None, timeout=10):
    """Writes the bus configuration to CONF and starts dbus-daemon on SOCKET (its output into
    LOG_PATH, or nowhere); LIMITS is {name: value} of <limit> elements. Returns the Popen once the
    socket exists; raises Fatal if dbus-daemon exits or the socket does not show up in time."""
    limit_xml = "".join(f'  <limit name="{k}">{v}</limit>\n' for k, v in (limits or {}).items())
    with open(conf, "w") as f:
        f.write(BUS_CONFIG.format(socket=socket, policy=POLICY, limits=limit_xml))
    argv = ["dbus-daemon", f"--config-file={conf}", "--nofork", "--nopidfile"]
    if log_path:
        with open(log_path, "ab") as logf:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=logf, stderr=logf)
    else:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    while not os.path.exists(socket):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise Fatal("dbus-daemon did not come up" + (f": {tail(log_path)}" if log_path else ""))
        time.sleep(0.01)
    return proc


def machined_argv(machined_bin, tmp, cgroup_root, log_level):
    """machined with everything of its own below TMP (state, run, pool; created here) and its
    machines below CGROUP_ROOT, a cgroup of this run below our own: the host's stays untouched."""
    for d in ("state", "run", "pool"):
        os.makedirs(os.path.join(tmp, d), exist_ok=True)
    return [machined_bin, f"--state-dir={tmp}/state", f"--runtime-dir={tmp}/run", f"--pool={tmp}/pool",
            f"--cgroup-root={cgroup_root}", f"--log-level={log_level}"]


def wait_bus_name(conn, proc, label=None, timeout=10, log_path=None):
    """Waits until BUS_NAME has an owner (machined is ready only then). Raises Fatal if PROC exits
    or the time is up, with the tail of LOG_PATH if given."""
    deadline = time.monotonic() + timeout
    while not conn.name_has_owner(BUS_NAME):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise Fatal(f"{label or proc.args[0]} did not take {BUS_NAME} (rc={proc.poll()})"
                        + (f": {tail(log_path)}" if log_path else ""))
        time.sleep(0.01)


def start_machined(machined_bin, tmp, cgroup_root, env, log_path, log_level="notice"):
    """Starts machined (see machined_argv) on the bus of ENV (DBUS_SYSTEM_BUS_ADDRESS), its output
    into LOG_PATH, and waits until it owns BUS_NAME. Returns (Popen, BusConnection); on failure it
    stops machined again and raises Fatal."""
    import dbus
    with open(log_path, "ab") as logf:
        proc = subprocess.Popen(machined_argv(machined_bin, tmp, cgroup_root, log_level),
                                stdin=subprocess.DEVNULL, stdout=logf, stderr=logf, env=env)
    conn = None
    try:
        conn = dbus.bus.BusConnection(env["DBUS_SYSTEM_BUS_ADDRESS"])
        wait_bus_name(conn, proc, "machined", log_path=log_path)
    except BaseException:
        close_connection(conn)
        stop_process(proc)
        raise
    return proc, conn


def close_connection(conn):
    """Closes a D-Bus connection (None is fine); the peer may be gone already."""
    if conn is not None:
        try:
            conn.close()
        except Exception:
            pass


def manager(conn):
    """The org.freedesktop.machine1.Manager interface, without introspection (one round trip less)."""
    import dbus
    return dbus.Interface(conn.get_object(BUS_NAME, MANAGER_PATH, introspect=False), MANAGER_IFACE)


def require_python_dbus():
    """python3-dbus is a Debian package: a pyenv or venv python does not see it; say so at once."""
    try:
        import dbus  # noqa: F401
    except ImportError:
        die("needs python3-dbus (run with Debian's /usr/bin/python3)")


# ---------------------------------------------------------------------------------------------------
# Statistics and output


def stats_ms(samples_ns):
    """Median, p10/p90 (inclusive quantiles: defined from two samples on), min, max and mean in ms,
    or None without samples."""
    if not samples_ns:
        return None
    ms = [s / 1e6 for s in samples_ns]
    if len(ms) >= 2:
        q = statistics.quantiles(ms, n=10, method="inclusive")
        p10, p90 = q[0], q[8]
    else:
        p10 = p90 = ms[0]
    return {"n": len(ms), "median_ms": statistics.median(ms), "p10_ms": p10, "p90_ms": p90,
            "min_ms": min(ms), "max_ms": max(ms), "mean_ms": statistics.fmean(ms)}


def peer_latency(cmds, labels, samples, failures, fail_codes):
    """The JSON record of each timed peer: its command, statistics, failures and raw samples."""
    return {n: {"label": labels[n], "cmd": cmds[n], "failures": failures[n],
                "failure_exit_codes": sorted(fail_codes[n]), "stats": stats_ms(samples[n]),
                "samples_ns": samples[n]}
            for n in cmds}


def median_ms(peers, name):
    """The median of peer NAME, or None if it was not timed or failed every run."""
    p = peers.get(name)
    return p["stats"]["median_ms"] if p and p["stats"] else None


def fmt_ms(v, prec=2):
    return "-" if v is None else f"{v:.{prec}f}"


def goal_word(ok):
    """Goals are reported, not enforced: a miss prints MISS and the exit code stays 0."""
    return "PASS" if ok else "MISS"


def latency_table(peers, order, labels, skipped, width):
    """The latency table: median, p10, p90, min and failures of each peer of ORDER, or why it is
    unavailable."""
    hdr = f"  {'peer':<{width}} {'median ms':>10} {'p10 ms':>9} {'p90 ms':>9} {'min ms':>9} {'failed':>7}"
    log(hdr)
    log("  " + "-" * (len(hdr) - 2))
    for n in order:
        if n in peers:
            s = peers[n]["stats"] or {}
            log(f"  {labels[n]:<{width}} {fmt_ms(s.get('median_ms')):>10} {fmt_ms(s.get('p10_ms')):>9} "
                f"{fmt_ms(s.get('p90_ms')):>9} {fmt_ms(s.get('min_ms')):>9} {peers[n]['failures']:>7}")
        else:
            log(f"  {labels[n]:<{width}} unavailable: {skipped.get(n, '?')}")


def warn_failed_runs(peers, labels):
    """Runs that exited non-zero are left out of the statistics; say so, or the medians mislead."""
    failed = [n for n in peers if peers[n]["failures"]]
    if failed:
        warn("some runs exited non-zero and were left out of the statistics: "
             + ", ".join(f"{labels[n]} {peers[n]['failures']}x (exit {peers[n]['failure_exit_codes']})"
                         for n in failed))


def finish(result, json_path, summary):
    """Writes RESULT as JSON to JSON_PATH if given, then prints the summary as the last line (what a
    caller greps for)."""
    if json_path:
        write_json(json_path, result)
        log(f"Results written to {json_path}")
    log()
    log(summary)


def write_json(path, data, indent=2):
    with open(path, "w") as f:
        json.dump(data, f, indent=indent)
        f.write("\n")
