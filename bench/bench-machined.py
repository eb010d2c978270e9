#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Registry benchmark for berth's machined.

Starts a private dbus-daemon (system-bus configuration with units/org.freedesktop.machine1.conf)
and machined with temporary state/runtime directories and a temporary --cgroup-root below this
process's own cgroup, then measures:

  * idle RSS of machined (goal <= 3 MB; systemd-machined was measured at 7.8 MB),
  * CreateMachine for N machines whose leaders are sleeping processes: client-side round trip per
    registration, p50/p99 (each one creates machine.slice/machine-NAME.scope in every cgroup
    hierarchy, moves the leader, writes the state file and unit link, emits MachineNew),
  * ListMachines latency with N machines (goal <= 10 ms), p50/p99,
  * RSS with N machines,
  * the same idle RSS for systemd-machined, if it can run here (in a private mount namespace with
    a tmpfs on /run/systemd, so that it cannot touch the host's state), and whether it can register
    a machine on this host at all.

Must run as root with Debian's /usr/bin/python3 (python3-dbus). Reports, does not gate: a missed
goal prints MISS, the exit code stays 0 unless the benchmark itself could not run.

    sudo /usr/bin/python3 bench/bench-machined.py [--machines 1000] [--build-dir build] [--json out.json]
"""

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
POLICY = os.path.join(REPO, "units", "org.freedesktop.machine1.conf")
BUS_NAME = "org.freedesktop.machine1"
MANAGER_PATH = "/org/freedesktop/machine1"
MANAGER_IFACE = "org.freedesktop.machine1.Manager"
SYSTEMD_MACHINED = "/lib/systemd/systemd-machined"

GOAL_IDLE_RSS_KB = 3 * 1024
GOAL_LIST_MS = 10.0

BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <limit name="max_replies_per_connection">50000</limit>
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
  </policy>
  <include>{policy}</include>
</busconfig>
"""


def log(msg=""):
    print(msg, flush=True)


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return None


def memory_detail(pid):
    """VmRSS split up: private anonymous memory and the proportional share (PSS); most of the
    rest of RSS are pages of shared libraries also mapped by every other process."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key = line.split(":")[0]
            if key in ("VmRSS", "RssAnon", "RssFile"):
                out[key] = int(line.split()[1])
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith("Pss:"):
                out["Pss"] = int(line.split()[1])
    return out


def percentile(values, p):
    s = sorted(values)
    if not s:
        return float("nan")
    k = min(len(s) - 1, max(0, int(round(p / 100.0 * (len(s) - 1)))))
    return s[k]


def own_cgroup_dirs(rel):
    """Directory of cgroup REL below our own cgroup, in every mounted hierarchy."""
    mounts = {}
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            sep = fields.index("-")
            fstype, opts, mp = fields[sep + 1], fields[sep + 3], fields[4]
            if not mp.startswith("/sys/fs/cgroup"):
                continue
            if fstype == "cgroup2":
                mounts.setdefault("", mp)
            elif fstype == "cgroup":
                key = ",".join(sorted(o for o in opts.split(",") if o not in ("rw", "ro", "noprefix", "clone_children",
                                                                              "xattr", "none")
                                      and not o.startswith("release_agent=")))
                mounts.setdefault(key, mp)
    dirs = []
    with open("/proc/self/cgroup") as f:
        for line in f:
            _, ctrls, path = line.rstrip("\n").split(":", 2)
            key = ",".join(sorted(ctrls.split(","))) if ctrls else ""
            if key in mounts:
                dirs.append(os.path.join(mounts[key] + (path if path != "/" else ""), rel))
    return dirs


def destroy_cgroup_tree(directory):
    if not os.path.isdir(directory):
        return
    for _ in range(200):
        pids = []
        for dirpath, _, _ in os.walk(directory):
            try:
                with open(os.path.join(dirpath, "cgroup.procs")) as f:
                    pids += [int(x) for x in f.read().split()]
            except OSError:
                pass
        if not pids:
            break
        for p in pids:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.02)
    for dirpath, _, _ in sorted(os.walk(directory), key=lambda t: -len(t[0])):
        try:
            os.rmdir(dirpath)
        except OSError:
            pass


class Env:
    def __init__(self, build_dir):
        self.tmp = tempfile.mkdtemp(prefix="berth-bench-machined-")
        os.chmod(self.tmp, 0o755)
        self.socket = os.path.join(self.tmp, "bus.sock")
        self.address = f"unix:path={self.socket}"
        self.machined_bin = os.path.join(build_dir, "machined")
        self.cgroup_root = f"berth-bench-{uuid.uuid4().hex[:10]}.slice"
        self.bus_proc = None
        self.daemon = None
        self.sleepers = []

    def env(self):
        e = dict(os.environ)
        e["DBUS_SYSTEM_BUS_ADDRESS"] = self.address
        return e

    def start_bus(self):
        conf = os.path.join(self.tmp, "bus.conf")
        with open(conf, "w") as f:
            f.write(BUS_CONFIG.format(socket=self.socket, policy=POLICY))
        self.bus_proc = subprocess.Popen(["dbus-daemon", f"--config-file={conf}", "--nofork", "--nopidfile"],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(500):
            if os.path.exists(self.socket):
                return
            time.sleep(0.01)
        raise RuntimeError("dbus-daemon did not start")

    def connect(self):
        import dbus
        return dbus.bus.BusConnection(self.address)

    def wait_name(self, conn, proc, timeout=10):
        deadline = time.monotonic() + timeout
        while not conn.name_has_owner(BUS_NAME):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{proc.args[0]} did not take {BUS_NAME} (rc={proc.poll()})")
            time.sleep(0.01)

    def start_machined(self, conn):
        for d in ("state", "run", "pool"):
            os.makedirs(os.path.join(self.tmp, d), exist_ok=True)
        self.daemon = subprocess.Popen(
            [self.machined_bin, f"--state-dir={self.tmp}/state", f"--runtime-dir={self.tmp}/run",
             f"--pool={self.tmp}/pool", f"--cgroup-root={self.cgroup_root}", "--log-level=warning"],
            env=self.env(), stdout=subprocess.DEVNULL, stderr=sys.stderr)
        self.wait_name(conn, self.daemon)

    def stop_daemon(self):
        if self.daemon and self.daemon.poll() is None:
            self.daemon.terminate()
            try:
                self.daemon.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.daemon.kill()
                self.daemon.wait()
        self.daemon = None

    def cleanup(self):
        for p in self.sleepers:
            if p.poll() is None:
                p.kill()
        for p in self.sleepers:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        self.stop_daemon()
        if self.bus_proc and self.bus_proc.poll() is None:
            self.bus_proc.terminate()
            self.bus_proc.wait(timeout=10)
        for d in own_cgroup_dirs(self.cgroup_root):
            destroy_cgroup_tree(d)
        shutil.rmtree(self.tmp, ignore_errors=True)


def bench_machined(env, n):
    import dbus
    conn = env.connect()
    env.start_machined(conn)
    pid = env.daemon.pid
    time.sleep(0.5)
    res = {"idle_rss_kb": rss_kb(pid), "idle_detail": memory_detail(pid)}

    mgr = dbus.Interface(conn.get_object(BUS_NAME, MANAGER_PATH, introspect=False), MANAGER_IFACE)
    log(f"starting {n} sleeping leader processes ...")
    for _ in range(n):
        env.sleepers.append(subprocess.Popen(["sleep", "100000"], stdin=subprocess.DEVNULL))
    no_id = dbus.Array([], signature="y")
    no_props = dbus.Array([], signature="(sv)")
    times = []
    for i, p in enumerate(env.sleepers):
        t0 = time.perf_counter_ns()
        mgr.CreateMachine(f"bench{i}", no_id, "bench", "container", dbus.UInt32(p.pid), "", no_props,
                          signature="sayssusa(sv)")
        times.append((time.perf_counter_ns() - t0) / 1e6)
    res["register_ms"] = times

    listed = mgr.ListMachines(signature="")
    assert len(listed) == n, f"ListMachines returned {len(listed)} machines, expected {n}"
    lat = []
    for _ in range(5):
        mgr.ListMachines(signature="")
    for _ in range(100):
        t0 = time.perf_counter_ns()
        mgr.ListMachines(signature="")
        lat.append((time.perf_counter_ns() - t0) / 1e6)
    res["list_ms"] = lat
    res["loaded_rss_kb"] = rss_kb(pid)

    # Tear down through the daemon: leaders die, machines go away, scopes are removed.
    t0 = time.monotonic()
    for p in env.sleepers:
        p.kill()
    for p in env.sleepers:
        p.wait()
    deadline = time.monotonic() + 60
    while len(mgr.ListMachines(signature="")) and time.monotonic() < deadline:
        time.sleep(0.05)
    res["teardown_s"] = time.monotonic() - t0
    env.sleepers = []
    env.stop_daemon()
    conn.close()
    return res


def bench_systemd_machined(env):
    """Idle RSS of systemd-machined on the same private bus, in a private mount namespace with a
    tmpfs over /run/systemd (it reads and garbage-collects /run/systemd/machines at start), and
    whether it can register a machine here."""
    import dbus
    if not os.access(SYSTEMD_MACHINED, os.X_OK):
        return {"available": False, "why": f"{SYSTEMD_MACHINED} is not installed (Debian package systemd)"}
    script = 'mount -t tmpfs tmpfs /run/systemd && exec "$@"'
    proc = subprocess.Popen(["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh", SYSTEMD_MACHINED],
                            env=env.env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    conn = env.connect()
    try:
        env.wait_name(conn, proc)
    except RuntimeError as e:
        err = proc.stderr.read().decode(errors="replace") if proc.poll() is not None else ""
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        return {"available": False, "why": f"{e}: {err.strip()}"}
    time.sleep(0.5)
    # The name's owner is the exec'd systemd-machined (unshare and sh exec into it).
    owner_pid = int(conn.get_object("org.freedesktop.DBus", "/org/freedesktop/DBus").GetConnectionUnixProcessID(
        BUS_NAME, dbus_interface="org.freedesktop.DBus"))
    res = {"available": True, "idle_rss_kb": rss_kb(owner_pid), "idle_detail": memory_detail(owner_pid)}
    sleeper = subprocess.Popen(["sleep", "100000"], stdin=subprocess.DEVNULL)
    mgr = dbus.Interface(conn.get_object(BUS_NAME, MANAGER_PATH, introspect=False), MANAGER_IFACE)
    for method, args, sig in (("CreateMachine", ("sdbench", dbus.Array([], signature="y"), "bench", "container",
                                                 dbus.UInt32(sleeper.pid), "", dbus.Array([], signature="(sv)")),
                               "sayssusa(sv)"),
                              ("RegisterMachine", ("sdbench", dbus.Array([], signature="y"), "bench", "container",
                                                   dbus.UInt32(sleeper.pid), ""), "sayssus")):
        try:
            getattr(mgr, method)(*args, signature=sig, timeout=10)
            res[method] = "ok"
            mgr.TerminateMachine("sdbench", signature="s")
        except dbus.exceptions.DBusException as e:
            res[method] = f"{e.get_dbus_name()}: {e.get_dbus_message()}"
    sleeper.kill()
    sleeper.wait()
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    conn.close()
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--machines", type=int, default=1000)
    ap.add_argument("--build-dir", default=os.environ.get("BERTH_BUILD_DIR") or os.path.join(REPO, "build"))
    ap.add_argument("--json", help="also write the results to this file")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench-machined: must run as root")
    try:
        import dbus  # noqa: F401
    except ImportError:
        sys.exit("bench-machined: needs python3-dbus (run with Debian's /usr/bin/python3)")
    if not shutil.which("dbus-daemon"):
        sys.exit("bench-machined: needs dbus-daemon (Debian package dbus)")
    env = Env(os.path.abspath(args.build_dir))
    if not os.access(env.machined_bin, os.X_OK):
        sys.exit(f"bench-machined: {env.machined_bin} not built")

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda s, f: (_ for _ in ()).throw(KeyboardInterrupt()))
    results = {}
    try:
        env.start_bus()
        log(f"machined: {env.machined_bin}, cgroup root ./{env.cgroup_root}, {args.machines} machines")
        results["machined"] = m = bench_machined(env, args.machines)
        results["systemd-machined"] = s = bench_systemd_machined(env)
    finally:
        env.cleanup()

    reg = m["register_ms"]
    lst = m["list_ms"]
    log()
    log("machined")
    idle_ok = m["idle_rss_kb"] <= GOAL_IDLE_RSS_KB
    log(f"  idle RSS                      {m['idle_rss_kb'] / 1024:6.2f} MB   goal <= {GOAL_IDLE_RSS_KB / 1024:.0f} MB: "
        f"{'ok' if idle_ok else 'MISS'}")
    d = m["idle_detail"]
    log(f"    of which private anonymous {d['RssAnon'] / 1024:5.2f} MB, shared files {d['RssFile'] / 1024:5.2f} MB; "
        f"PSS {d['Pss'] / 1024:5.2f} MB")
    log(f"  CreateMachine x{len(reg):<5}          p50 {percentile(reg, 50):6.3f} ms  p99 {percentile(reg, 99):6.3f} ms  "
        f"max {max(reg):6.3f} ms  total {sum(reg) / 1000:5.2f} s")
    list_ok = percentile(lst, 50) <= GOAL_LIST_MS
    log(f"  ListMachines at {len(reg):<5}         p50 {percentile(lst, 50):6.3f} ms  p99 {percentile(lst, 99):6.3f} ms  "
        f"goal p50 <= {GOAL_LIST_MS:.0f} ms: {'ok' if list_ok else 'MISS'}")
    log(f"  RSS with {len(reg)} machines        {m['loaded_rss_kb'] / 1024:6.2f} MB "
        f"({(m['loaded_rss_kb'] - m['idle_rss_kb']) / len(reg):.2f} kB per machine)")
    log(f"  teardown (leaders killed → all removed)  {m['teardown_s']:.2f} s")
    log()
    log("systemd-machined (same bus, private mount namespace)")
    if not s.get("available"):
        log(f"  not available: {s['why']}")
    else:
        ratio = s["idle_rss_kb"] / m["idle_rss_kb"]
        log(f"  idle RSS                      {s['idle_rss_kb'] / 1024:6.2f} MB   ({ratio:.1f}x machined's)")
        d = s["idle_detail"]
        log(f"    of which private anonymous {d['RssAnon'] / 1024:5.2f} MB, shared files {d['RssFile'] / 1024:5.2f} MB; "
            f"PSS {d['Pss'] / 1024:5.2f} MB")
        for method in ("CreateMachine", "RegisterMachine"):
            log(f"  {method:15}               {s[method]}")
        if s.get("CreateMachine") != "ok":
            log("  -> it cannot register machines on a host whose PID 1 is not systemd, so there are no")
            log("     registration or ListMachines figures to compare.")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
