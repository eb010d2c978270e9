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
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid

import benchlib
from benchlib import BUS_NAME, REPO, log, read_status, stop_process

SYSTEMD_MACHINED = "/lib/systemd/systemd-machined"

GOAL_IDLE_RSS_KB = 3 * 1024
GOAL_LIST_MS = 10.0

def rss_kb(pid):
    return read_status(pid, ("VmRSS",))["VmRSS"]


def memory_detail(pid):
    """VmRSS split up: private anonymous memory and the proportional share (PSS); most of the
    rest of RSS are pages of shared libraries also mapped by every other process."""
    out = read_status(pid, ("VmRSS", "RssAnon", "RssFile"))
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
        return benchlib.bus_env(self.address)

    def start_bus(self):
        # Up to 50000 pending replies per connection: the registration loop is one connection.
        self.bus_proc = benchlib.start_private_bus(os.path.join(self.tmp, "bus.conf"), self.socket,
                                                   limits={"max_replies_per_connection": 50000})

    def connect(self):
        import dbus
        return dbus.bus.BusConnection(self.address)

    def wait_name(self, conn, proc, timeout=10):
        benchlib.wait_bus_name(conn, proc, timeout=timeout)

    def start_machined(self, conn):
        self.daemon = subprocess.Popen(benchlib.machined_argv(self.machined_bin, self.tmp, self.cgroup_root, "warning"),
                                       env=self.env(), stdout=subprocess.DEVNULL, stderr=sys.stderr)
        self.wait_name(conn, self.daemon)

    def stop_daemon(self):
        if self.daemon:
            stop_process(self.daemon)
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
        if self.bus_proc:
            stop_process(self.bus_proc)
        for d in benchlib.cgroup_dirs(self.cgroup_root).values():
            benchlib.destroy_cgroup_tree(d)
        shutil.rmtree(self.tmp, ignore_errors=True)


def bench_machined(env, n):
    import dbus
    conn = env.connect()
    env.start_machined(conn)
    pid = env.daemon.pid
    time.sleep(0.5)
    res = {"idle_rss_kb": rss_kb(pid), "idle_detail": memory_detail(pid)}

    mgr = benchlib.manager(conn)
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
    mgr = benchlib.manager(conn)
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
    stop_process(proc)
    conn.close()
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--machines", type=int, default=1000)
    ap.add_argument("--build-dir", default=os.environ.get("BERTH_BUILD_DIR") or os.path.join(REPO, "build"))
    ap.add_argument("--json", help="also write the results to this file")
    args = ap.parse_args()
    benchlib.set_prog("bench-machined")
    benchlib.require_root()
    benchlib.require_python_dbus()
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
        benchlib.write_json(args.json, results, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
