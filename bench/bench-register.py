#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Registration benchmark: what registering with machined costs spawn, and 200 registered containers.

Sets up a private dbus-daemon (system-bus configuration with units/org.freedesktop.machine1.conf) and
machined with temporary --state-dir/--runtime-dir/--pool and a --cgroup-root of its own below this
process's cgroup, exactly as tests/integration/machined_fixtures.py does, on a busybox tree, then:

  1. times, alternating in one run, `spawn --register=yes`, `unshare ... chroot`, `spawn --register=no`
     and (if it runs here) `systemd-nspawn --register=yes --keep-unit` against our machined;
  2. starts 200 registered containers at once and times until ListMachines lists all of them, stops
     them (SIGTERM to each spawn) and times until every spawn exited and ListMachines is empty, then
     checks for leaked processes, cgroups, mounts and state files; reports machined's RSS at 200 and
     the peak RSS of a spawn supervisor.

Must run as root with Debian's /usr/bin/python3 (python3-dbus). Reports, does not gate: a missed goal
prints MISS, the exit code stays 0 unless the benchmark itself could not run. See bench/README.md.

    sudo /usr/bin/python3 bench/bench-register.py [--runs 100] [--warmup 5] [--containers 200]
                                                  [--build-dir build] [--install-peers] [--json FILE]
"""

import argparse
import gc
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

import benchlib
from benchlib import (Fatal, Terminated, cgroup_dirs, destroy_cgroup_tree, die, fmt_ms, goal_word, log,
                      mounts_under, read_status, stop_process, warn)

IN_HELPER = "/usr/bin/berth-test-helper"

GOAL_RATIO_UNSHARE = 3.0   # spawn --register=yes median <= 3x unshare+chroot median
GOAL_UP_S = 10.0           # all 200 containers listed by ListMachines within 10 s (on 2 cores)

UP_POLL_S = 0.050          # ListMachines interval while the containers start (each call costs CPU
                           # that the 200 starting containers compete for)
DOWN_POLL_S = 0.020        # ListMachines / waitpid interval while they stop
NSPAWN_UNIT = "nspawn-bench.scope"

# ---------------------------------------------------------------------------------------------------
# Processes


def processes_matching(needles, exclude):
    """[(pid, cmdline)] of every process whose cmdline contains one of NEEDLES (bytes)."""
    found = []
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) in exclude:
            continue
        try:
            with open(f"/proc/{d}/cmdline", "rb") as f:
                cmd = f.read()
        except OSError:
            continue
        if any(n in cmd for n in needles):
            found.append((int(d), cmd.replace(b"\0", b" ").decode(errors="replace").strip()))
    return found


# ---------------------------------------------------------------------------------------------------
# The environment: bus, machined, tree


class Bench:
    def __init__(self, build):
        self.build = build
        self.spawn = os.path.join(build, "spawn")
        self.machined_bin = os.path.join(build, "machined")
        self.helper = os.path.join(build, "berth-test-helper")
        self.tmp = None
        self.tree = None
        self.cgroup_root = f"berth-bench-register-{uuid.uuid4().hex[:10]}.slice"
        self.token = f"berth-bench-register-{uuid.uuid4().hex[:12]}"
        self.bus_proc = None
        self.machined = None
        self.conn = None
        self.mgr = None
        self.live = []          # every Popen still to be stopped on cleanup
        self.nspawn_unit_dirs = []

    # -- setup --

    def make_tmp(self):
        self.tmp = tempfile.mkdtemp(prefix="berth-bench-register.")
        os.chmod(self.tmp, 0o755)
        for d in ("bus", "state", "run", "pool", "logs"):
            os.makedirs(os.path.join(self.tmp, d))
        self.socket = os.path.join(self.tmp, "bus", "system_bus_socket")
        self.address = f"unix:path={self.socket}"
        self.state_dir = os.path.join(self.tmp, "state")
        # The machine name of `spawn --register=no` (no -M) comes from the directory's name: make it
        # unique, so that its cgroup cannot meet another run's.
        self.tree = os.path.join(self.tmp, f"regbench-tree-{os.getpid()}")

    def snapshot_binaries(self):
        """Copies spawn, spawn-register, machined and berth-test-helper into the temp dir and uses
        the copies (spawn finds spawn-register next to itself): a rebuild of the build dir while
        the benchmark runs then neither breaks it nor mixes two builds. Returns {name: mtime}."""
        bindir = os.path.join(self.tmp, "bin")
        os.makedirs(bindir)
        mtimes = {}
        for name in ("spawn", "spawn-register", "machined", "berth-test-helper"):
            src, dst = os.path.join(self.build, name), os.path.join(bindir, name)
            for _ in range(40):
                before = os.stat(src)
                shutil.copy2(src, dst)
                after = os.stat(src)
                if (before.st_ino, before.st_size, before.st_mtime_ns) == (after.st_ino, after.st_size,
                                                                           after.st_mtime_ns) \
                        and os.stat(dst).st_size == after.st_size:
                    break
                time.sleep(0.5)   # being rewritten right now
            else:
                raise Fatal(f"{src} keeps changing; is a build running?")
            mtimes[name] = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(after.st_mtime))
        self.spawn = os.path.join(bindir, "spawn")
        self.machined_bin = os.path.join(bindir, "machined")
        self.helper = os.path.join(bindir, "berth-test-helper")
        r = subprocess.run([self.spawn, "--version"], stdin=subprocess.DEVNULL, capture_output=True)
        if r.returncode != 0:
            raise Fatal(f"the copy of spawn does not run: {r.stderr.decode(errors='replace').strip()}")
        return mtimes

    def env(self):
        e = benchlib.bus_env(self.address)
        e.setdefault("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
        return e

    def build_tree(self):
        err = benchlib.make_busybox_tree(self.tree, self.helper)
        if err:
            raise Fatal(err)

    def start_bus(self):
        self.bus_log = os.path.join(self.tmp, "logs", "dbus-daemon.log")
        self.bus_proc = benchlib.start_private_bus(os.path.join(self.tmp, "bus", "bus.conf"), self.socket,
                                                   self.bus_log)

    def start_machined(self):
        self.machined_log = os.path.join(self.tmp, "logs", "machined.log")
        self.machined, self.conn = benchlib.start_machined(self.machined_bin, self.tmp, self.cgroup_root,
                                                           self.env(), self.machined_log)
        self.mgr = benchlib.manager(self.conn)

    def machine_names(self):
        return {str(m[0]) for m in self.mgr.ListMachines(signature="", timeout=30)}

    # -- nspawn's unit-like cgroup --

    def make_nspawn_unit(self):
        """<own cgroup>/<cgroup root>/nspawn-bench.scope in the unified and the name=systemd
        hierarchy: where systemd tools (and machined) look a process's unit up. Returns the
        cgroup.procs files to write the nspawn process into."""
        files = []
        for key, d in cgroup_dirs(f"{self.cgroup_root}/{NSPAWN_UNIT}").items():
            if key in ("", "name=systemd"):
                os.makedirs(d, exist_ok=True)
                self.nspawn_unit_dirs.append(d)
                files.append(os.path.join(d, "cgroup.procs"))
        return files

    def remove_nspawn_unit(self):
        for d in self.nspawn_unit_dirs:
            destroy_cgroup_tree(d, timeout=5)
        self.nspawn_unit_dirs = []

    # -- cleanup --

    def cleanup(self):
        """Stops our children (spawns first: they unregister), machined and the bus, kills by PID
        whatever is left in our cgroup root, then removes the temp dir unless a mount is left."""
        for p in list(self.live):
            if p.poll() is None:
                try:
                    p.send_signal(signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + 15
        for p in list(self.live):
            try:
                p.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.live = []
        benchlib.close_connection(self.conn)
        self.conn = None
        if self.machined is not None:
            stop_process(self.machined)
        if self.bus_proc is not None:
            stop_process(self.bus_proc)
        self.remove_nspawn_unit()
        for d in cgroup_dirs(self.cgroup_root).values():
            destroy_cgroup_tree(d)
        return benchlib.remove_workdir(self.tmp)


# ---------------------------------------------------------------------------------------------------
# Part 1: latency, alternating


PEER_LABELS = {
    "spawn_reg": "spawn --register=yes",
    "unshare": "unshare+chroot",
    "spawn_noreg": "spawn --register=no",
    "nspawn_reg": "systemd-nspawn --register=yes",
}

# Peers that register, with the machine name to see gone from the registry before the next run.
REGISTERED_NAME = {"spawn_reg": "regbench", "nspawn_reg": "nsbench"}


def peer_commands(b):
    return {
        "spawn_reg": [b.spawn, "-q", "-D", b.tree, "--register=yes", "--console=pipe", "-M", "regbench", "/bin/true"],
        "unshare": ["unshare", "-m", "-p", "-u", "-i", "-f", "chroot", b.tree, "/bin/true"],
        "spawn_noreg": [b.spawn, "-q", "-D", b.tree, "--register=no", "--console=pipe", "/bin/true"],
        "nspawn_reg": ["systemd-nspawn", "-q", "--register=yes", "--keep-unit", "-D", b.tree, "-M", "nsbench",
                       "/bin/true"],
    }


def make_enter_unit(files):
    def enter_unit():
        pid = str(os.getpid())
        for f in files:
            with open(f, "w") as fh:
                fh.write(pid)
    return enter_unit


def run_once(cmd, env, preexec_fn=None, capture=False):
    return benchlib.run_timed(cmd, env, preexec_fn, capture, timeout=120)


def wait_unregistered(b, name, timeout=10.0):
    """Seconds it took NAME to leave the registry (0.0 if it was gone already), or None on timeout."""
    t0 = time.monotonic()
    while name in b.machine_names():
        if time.monotonic() - t0 > timeout:
            return None
        time.sleep(0.002)
    return time.monotonic() - t0


def measure_latency(b, cmds, preexec, runs, warmup):
    """Round-robin: every iteration runs each peer once; the starting peer rotates so that no peer
    always follows the same other one. After a registering peer, the script waits (untimed) until
    its machine has left the registry, so that the next run cannot meet it."""
    env = b.env()
    lag = {n: [] for n in cmds if n in REGISTERED_NAME}

    def run_one(n):
        ns, rc, _ = run_once(cmds[n], env, preexec.get(n))
        if n in REGISTERED_NAME:
            w = wait_unregistered(b, REGISTERED_NAME[n])
            if w is None:
                raise Fatal(f"{REGISTERED_NAME[n]} stayed registered 10 s after {PEER_LABELS[n]} exited")
            lag[n].append(w)
        return ns, rc

    samples, failures, fail_codes = benchlib.measure_round_robin(list(cmds), runs, warmup, run_one)
    return samples, failures, fail_codes, lag


# ---------------------------------------------------------------------------------------------------
# Part 2: N concurrent registered containers


def leak_check(b, exclude):
    """What is left of the containers: processes (the helper with our token, anything with the tree's
    path on its command line: spawn, spawn-register), cgroups below machine.slice, mounts under the
    temp dir, files in machined's state dir."""
    procs = processes_matching([b.token.encode(), b.tree.encode()], exclude)
    cgroups = []
    for key, d in cgroup_dirs(f"{b.cgroup_root}/machine.slice").items():
        for dirpath, dirnames, _ in os.walk(d):
            for dn in dirnames:
                cgroups.append(os.path.join(dirpath, dn))
    mounts = mounts_under(b.tmp)
    try:
        state = sorted(os.listdir(b.state_dir))
    except OSError:
        state = []
    return {"processes": procs, "cgroups": cgroups, "mounts": mounts, "state_files": state}


def leak_words(leaks):
    words = []
    for key, label in (("processes", "process(es)"), ("cgroups", "cgroup(s)"), ("mounts", "mount(s)"),
                       ("state_files", "state file(s)")):
        if leaks[key]:
            words.append(f"{len(leaks[key])} {label}")
    return ", ".join(words) if words else "none"


def concurrent(b, n, up_timeout, down_timeout):
    import dbus
    env = b.env()
    names = [f"bench-{i}" for i in range(n)]
    res = {"containers": n}
    existing = b.machine_names()
    if existing:
        raise Fatal(f"registry not empty before the concurrent test: {sorted(existing)[:5]}")
    # Token as an (ignored) argument of sleep-forever: tells our helpers from anybody else's.
    cmd_tail = ["--register=yes", "--console=pipe", IN_HELPER, "sleep-forever", b.token]
    res["cmd"] = [b.spawn, "-q", "-D", b.tree, "-M", "bench-N"] + cmd_tail
    mpid = b.machined.pid
    res["machined_before"] = read_status(mpid)

    procs = {}
    errfiles = {}
    up_at = {}
    exited_early = {}
    polls = 0
    last_poll = 0.0

    def poll(now):
        """One ListMachines: first-seen times, and spawns that exited before being listed."""
        nonlocal polls, last_poll
        try:
            listed = b.machine_names()
        except dbus.exceptions.DBusException as e:
            warn(f"ListMachines failed while waiting: {e.get_dbus_message()}")
            listed = set()
        polls += 1
        last_poll = now
        for name in listed:
            up_at.setdefault(name, now)
        for name, p in procs.items():
            if name not in up_at and name not in exited_early and p.poll() is not None:
                exited_early[name] = p.returncode

    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        cpu0 = os.times()
        t0 = time.monotonic()
        for name in names:
            ef = os.path.join(b.tmp, "logs", f"{name}.err")
            errfiles[name] = ef
            with open(ef, "wb") as f:
                p = subprocess.Popen([b.spawn, "-q", "-D", b.tree, "-M", name] + cmd_tail,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=f, env=env)
            b.live.append(p)
            procs[name] = p
            # Poll in between too, so that the first registrations are seen when they happen.
            now = time.monotonic() - t0
            if now - last_poll >= UP_POLL_S:
                poll(now)
        t_started = time.monotonic() - t0
        while True:
            poll(time.monotonic() - t0)
            if len(up_at) + len(exited_early) >= n or last_poll > up_timeout:
                break
            time.sleep(UP_POLL_S)
        t_up = time.monotonic() - t0
        cpu = os.times()
        res["bench_cpu_s"] = (cpu.user + cpu.system) - (cpu0.user + cpu0.system)
    finally:
        if gc_was_enabled:
            gc.enable()
    all_up = len(up_at) == n
    res.update({"popen_all_s": t_started, "up_s": t_up if all_up else None, "waited_s": t_up, "polls": polls,
                "listed": len(up_at), "exited_early": exited_early,
                "up_at_s": {k: up_at[k] for k in names if k in up_at}})
    missing = [x for x in names if x not in up_at and x not in exited_early]
    res["missing"] = missing
    if exited_early:
        res["early_errors"] = {name: benchlib.tail(errfiles[name], 3) for name in list(exited_early)[:10]}

    # RSS with everything up (machined) and of the spawn supervisors (the started pid; the container
    # and the registration helper are other processes).
    time.sleep(0.5)
    res["machined_at_n"] = read_status(mpid)
    sup = {}
    for name, p in procs.items():
        if p.poll() is None:
            v = read_status(p.pid)
            if v:
                sup[name] = v
    res["supervisor_one"] = {"name": names[0], **(sup.get(names[0]) or {})}
    res["supervisor_hwm_kb"] = {"max": max((v["VmHWM"] for v in sup.values()), default=None),
                                "median": statistics.median([v["VmHWM"] for v in sup.values()]) if sup else None,
                                "count": len(sup)}
    # The container payloads: our token, but not the tree's path (that is spawn's command line).
    helpers = [x for x in processes_matching([b.token.encode()], {os.getpid()}) if b.tree not in x[1]]
    res["helpers_running"] = len(helpers)

    # Down: SIGTERM to every spawn (its default kill signal SIGKILLs the container's PID 1).
    gc.disable()
    try:
        t0 = time.monotonic()
        for p in procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        t_exited = t_empty = None
        while True:
            now = time.monotonic() - t0
            if t_exited is None and all(p.poll() is not None for p in procs.values()):
                t_exited = now
            if t_empty is None:
                try:
                    if not b.mgr.ListMachines(signature="", timeout=30):
                        t_empty = time.monotonic() - t0
                except dbus.exceptions.DBusException as e:
                    warn(f"ListMachines failed while stopping: {e.get_dbus_message()}")
            if t_exited is not None and t_empty is not None:
                break
            if now > down_timeout:
                break
            time.sleep(DOWN_POLL_S)
    finally:
        if gc_was_enabled:
            gc.enable()
    res["down_exited_s"] = t_exited
    res["down_empty_s"] = t_empty
    res["down_s"] = max(t_exited, t_empty) if t_exited is not None and t_empty is not None else None
    codes = {}
    for name, p in procs.items():
        rc = p.poll()
        codes[str(rc)] = codes.get(str(rc), 0) + 1
    res["exit_codes"] = codes
    if t_exited is None:
        res["still_running"] = [name for name, p in procs.items() if p.poll() is None]
    else:
        for p in procs.values():
            if p in b.live:
                b.live.remove(p)
    res["machined_after"] = read_status(mpid)

    exclude = {os.getpid(), b.machined.pid, b.bus_proc.pid}
    first = leak_check(b, exclude)
    leaks = first
    linger = 0.0
    if leak_words(first) != "none":
        # Give stragglers up to 5 s; only what stays counts as leaked.
        t1 = time.monotonic()
        while time.monotonic() - t1 < 5.0:
            time.sleep(0.1)
            leaks = leak_check(b, exclude)
            if leak_words(leaks) == "none":
                break
        linger = time.monotonic() - t1
    res["leaks_immediately"] = first
    res["leaks"] = leaks
    res["leak_linger_s"] = linger
    return res


# ---------------------------------------------------------------------------------------------------
# Output


def fmt_s(v):
    return fmt_ms(v)    # seconds, with the same two decimals


def kb(v, key):
    return "-" if not v or v.get(key) is None else f"{v[key]}"


def main():
    ap = argparse.ArgumentParser(description="Benchmark spawn's registration with machined: latency against "
                                 "unshare+chroot and systemd-nspawn, and N concurrent registered containers "
                                 "(run as root).")
    benchlib.add_run_args(ap, "meson build dir with spawn, spawn-register, machined and berth-test-helper",
                          100, 5, build_default=os.environ.get("BERTH_BUILD_DIR"))
    ap.add_argument("--containers", type=int, default=200, help="concurrent containers (default: 200)")
    ap.add_argument("--up-timeout", type=float, default=120.0,
                    help="give up waiting for all containers to be listed after this many s (default: 120)")
    ap.add_argument("--down-timeout", type=float, default=120.0,
                    help="give up waiting for the teardown after this many s (default: 120)")
    ap.add_argument("--install-peers", action="store_true",
                    help="apt-get install systemd-container if systemd-nspawn is missing (also if CI=true)")
    ap.add_argument("--json", metavar="FILE", help="also write the results as JSON to FILE")
    args = ap.parse_args()
    benchlib.set_prog("bench-register")

    if args.runs < 1 or args.warmup < 0 or args.containers < 1:
        die("--runs and --containers must be >= 1 and --warmup >= 0")
    benchlib.require_root()
    benchlib.require_python_dbus()
    build = os.path.abspath(args.build_dir)
    b = Bench(build)
    benchlib.require_executables((b.spawn, os.path.join(build, "spawn-register"), b.machined_bin, b.helper), build)
    for tool in ("unshare", "chroot", "dbus-daemon"):
        if not shutil.which(tool):
            die(f"{tool} not found (Debian packages util-linux, coreutils, dbus-daemon)")
    allow_install = benchlib.install_allowed(args.install_peers)

    benchlib.install_signal_handlers()
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)}

    result = {
        "host": benchlib.host_info(loadavg_start=os.getloadavg()),
        "params": {"runs": args.runs, "warmup": args.warmup, "containers": args.containers, "build_dir": build},
    }
    leftover = []
    exit_code = 0
    summary = None
    try:
        b.make_tmp()
        result["binaries"] = b.snapshot_binaries()
        log(f"Binaries copied from {build} (spawn built {result['binaries']['spawn']}, "
            f"machined built {result['binaries']['machined']})")
        log(f"Building busybox tree in {b.tree} ...")
        b.build_tree()
        b.start_bus()
        b.start_machined()
        log(f"Private bus {b.address}; machined cgroup root ./{b.cgroup_root}")
        result["machined_idle"] = read_status(b.machined.pid)

        # ---- part 1 ----
        cmds = peer_commands(b)
        preexec = {}
        env = b.env()
        skipped = {}
        log("Checking peers ...")
        for n in ("spawn_reg", "unshare", "spawn_noreg"):
            _, rc, err = run_once(cmds[n], env, capture=True)
            if rc != 0:
                raise Fatal(f"{PEER_LABELS[n]} failed (exit {rc}): {' '.join(cmds[n])}\n{err}")
            if n == "spawn_reg" and wait_unregistered(b, "regbench") is None:
                raise Fatal("regbench stayed registered after spawn exited")
        nspawn_note = None
        avail, reason = benchlib.ensure_binary("systemd-nspawn", "systemd-container", allow_install,
                                               no_recommends=True)
        if not avail:
            skipped["nspawn_reg"] = reason
        else:
            preexec["nspawn_reg"] = make_enter_unit(b.make_nspawn_unit())
            _, rc, err = run_once(cmds["nspawn_reg"], env, preexec["nspawn_reg"], capture=True)
            if rc != 0:
                skipped["nspawn_reg"] = f"test run failed with exit {rc}: {err.splitlines()[-1] if err else ''}"
                print("  systemd-nspawn test run failed; its stderr:\n"
                      + "\n".join("    " + line for line in (err or "(empty)").splitlines()), flush=True)
            elif wait_unregistered(b, "nsbench") is None:
                skipped["nspawn_reg"] = "nsbench stayed registered after systemd-nspawn exited"
            elif err:
                nspawn_note = err.splitlines()[0]
        # Did nspawn really register with our machined? Check once with a payload that stays.
        if "nspawn_reg" not in skipped:
            p = subprocess.Popen(cmds["nspawn_reg"][:-1] + ["/bin/sleep", "5"], stdin=subprocess.DEVNULL,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
                                 preexec_fn=preexec["nspawn_reg"])
            b.live.append(p)
            deadline = time.monotonic() + 10
            seen = False
            while p.poll() is None and time.monotonic() < deadline and not seen:
                seen = "nsbench" in b.machine_names()
                time.sleep(0.02)
            stop_process(p)
            b.live.remove(p)
            wait_unregistered(b, "nsbench")
            if not seen:
                skipped["nspawn_reg"] = "systemd-nspawn ran but never showed up in our machined's ListMachines"
        for n in skipped:
            cmds.pop(n, None)
            log(f"  {PEER_LABELS[n]}: skipped ({skipped[n]})")
        if nspawn_note:
            log(f"  note: systemd-nspawn exits 0 but prints to stderr: {nspawn_note}")
        result["skipped_peers"] = skipped

        log(f"Timing {', '.join(PEER_LABELS[n] for n in cmds)}: {args.warmup} warm-up + {args.runs} "
            f"measured runs each, round-robin ...")
        samples, failures, fail_codes, lag = measure_latency(b, cmds, preexec, args.runs, args.warmup)
        peers = benchlib.peer_latency(cmds, PEER_LABELS, samples, failures, fail_codes)
        for n in cmds:
            if n in lag:
                peers[n]["unregister_wait_s"] = {"max": max(lag[n]), "nonzero": sum(1 for x in lag[n] if x > 0.001)}
        result["latency"] = peers
        b.remove_nspawn_unit()

        m_reg, m_unshare, m_noreg, m_nspawn = (benchlib.median_ms(peers, n)
                                               for n in ("spawn_reg", "unshare", "spawn_noreg", "nspawn_reg"))
        if m_reg is None or m_unshare is None or m_noreg is None:
            raise Fatal("spawn or unshare+chroot failed in every measured run")
        r_unshare = m_reg / m_unshare
        r_noreg = m_reg / m_noreg
        r_nspawn = m_nspawn / m_reg if m_nspawn is not None else None

        # ---- part 2 ----
        log(f"Starting {args.containers} registered containers at once ...")
        conc = concurrent(b, args.containers, args.up_timeout, args.down_timeout)
        result["concurrent"] = conc

        # ---- report ----
        log()
        log(f"Start-up latency, command start -> exit, {args.runs} runs per peer ({args.warmup} warm-up "
            f"discarded), alternating; kernel {platform.release()}, {os.cpu_count()} CPUs")
        benchlib.latency_table(peers, PEER_LABELS, PEER_LABELS, skipped, 31)
        log()
        log("Ratios (medians) and goals")
        goals = {}
        ok = r_unshare <= GOAL_RATIO_UNSHARE
        goals["register_vs_unshare"] = {"goal": f"spawn --register=yes <= {GOAL_RATIO_UNSHARE:g}x unshare+chroot",
                                        "ratio": r_unshare, "result": goal_word(ok)}
        log(f"  spawn --register=yes / unshare+chroot          = {r_unshare:6.2f}   "
            f"goal <= {GOAL_RATIO_UNSHARE:g}: {goal_word(ok)}")
        log(f"  spawn --register=yes / spawn --register=no     = {r_noreg:6.2f}   "
            f"(registration costs {m_reg - m_noreg:+.2f} ms)")
        if r_nspawn is not None:
            log(f"  systemd-nspawn --register=yes / spawn --reg=yes = {r_nspawn:6.2f}   (no goal)")
        else:
            log("  systemd-nspawn --register=yes / spawn --reg=yes =    n/a   (unavailable)")
        waits = {n: v["unregister_wait_s"] for n, v in peers.items() if "unregister_wait_s" in v}
        for n, w in waits.items():
            if w["nonzero"]:
                log(f"  note: after {w['nonzero']} run(s) of {PEER_LABELS[n]} the machine was still listed when "
                    f"it exited (machined removes it once it sees the leader die; longest wait "
                    f"{w['max'] * 1000:.1f} ms, untimed)")

        n = conc["containers"]
        log()
        log(f"{n} registered containers started at once (spawn -M bench-N --register=yes ... sleep-forever), "
            f"{os.cpu_count()} CPUs")
        up_at = sorted(conc["up_at_s"].values())
        log(f"  {'all spawn processes started (Popen)':<46} {fmt_s(conc['popen_all_s']):>8} s   "
            f"(this script's own CPU meanwhile: {conc['bench_cpu_s']:.2f} s, {conc['polls']} polls)")
        if up_at:
            log(f"  {'first listed by ListMachines':<46} {fmt_s(up_at[0]):>8} s")
            log(f"  {'half listed':<46} {fmt_s(up_at[len(up_at) // 2]):>8} s")
        up_ok = conc["up_s"] is not None and conc["up_s"] <= GOAL_UP_S
        log(f"  {'all %d listed by ListMachines' % n:<46} {fmt_s(conc['up_s']):>8} s   "
            f"goal <= {GOAL_UP_S:g} s: {goal_word(up_ok)}")
        if conc["up_s"] is None:
            log(f"    only {conc['listed']} listed after {conc['waited_s']:.1f} s; "
                f"{len(conc['exited_early'])} spawn(s) exited early, {len(conc['missing'])} still missing")
            for name, err in (conc.get("early_errors") or {}).items():
                log(f"    {name} (exit {conc['exited_early'][name]}): {err.splitlines()[-1] if err else '(no stderr)'}")
        log(f"  {'helpers running with everything listed':<46} {conc['helpers_running']:>8}")
        log(f"  {'SIGTERM -> all spawn processes exited':<46} {fmt_s(conc['down_exited_s']):>8} s")
        log(f"  {'SIGTERM -> ListMachines empty':<46} {fmt_s(conc['down_empty_s']):>8} s")
        log(f"  {'down (both)':<46} {fmt_s(conc['down_s']):>8} s")
        log(f"  {'spawn exit codes':<46} " + ", ".join(f"{k}: {v}x" for k, v in sorted(conc["exit_codes"].items())))
        leaks = conc["leaks"]
        leak_ok = leak_words(leaks) == "none"
        log(f"  {'leaked (processes/cgroups/mounts/state)':<46} {leak_words(leaks):>8}   "
            f"goal nothing: {goal_word(leak_ok)}")
        for key in ("processes", "cgroups", "mounts", "state_files"):
            for item in leaks[key][:5]:
                log(f"    {key}: {item}")
        if leak_words(conc["leaks_immediately"]) != "none":
            log(f"  note: right after teardown there was {leak_words(conc['leaks_immediately'])}; "
                f"waited {conc['leak_linger_s']:.2f} s")
        log()
        log("Memory (KB)")
        log(f"  {'':<40} {'VmRSS':>8} {'VmHWM':>8}")
        mi = result["machined_idle"]
        log(f"  {'machined, idle':<40} {kb(mi, 'VmRSS'):>8} {kb(mi, 'VmHWM'):>8}")
        log(f"  {'machined, %d machines listed' % n:<40} {kb(conc['machined_at_n'], 'VmRSS'):>8} "
            f"{kb(conc['machined_at_n'], 'VmHWM'):>8}")
        log(f"  {'machined, after teardown':<40} {kb(conc['machined_after'], 'VmRSS'):>8} "
            f"{kb(conc['machined_after'], 'VmHWM'):>8}")
        so = conc["supervisor_one"]
        log(f"  {'spawn supervisor (%s)' % so['name']:<40} {kb(so, 'VmRSS'):>8} {kb(so, 'VmHWM'):>8}")
        sh = conc["supervisor_hwm_kb"]
        log(f"  {'spawn supervisors, VmHWM median / max':<40} {'':>8} "
            f"{'-' if sh['median'] is None else '%.0f' % sh['median']} / {'-' if sh['max'] is None else sh['max']}"
            f" (of {sh['count']})")

        goals["up"] = {"goal": f"all {n} containers listed <= {GOAL_UP_S:g} s", "up_s": conc["up_s"],
                       "result": goal_word(up_ok)}
        goals["leaks"] = {"goal": "nothing leaked", "leaked": leak_words(leaks), "result": goal_word(leak_ok)}
        result["goals"] = goals
        result["ratios"] = {"register_over_unshare": r_unshare, "register_over_noregister": r_noreg,
                            "nspawn_register_over_spawn_register": r_nspawn}

        benchlib.warn_failed_runs(peers, PEER_LABELS)
        nspawn_part = f"nspawn+register {m_nspawn:.2f} ms" if m_nspawn is not None else "nspawn+register unavailable"
        up_part = (f"{n} containers up in {conc['up_s']:.2f} s" if conc["up_s"] is not None
                   else f"{n} containers up: only {conc['listed']} after {conc['waited_s']:.1f} s")
        down_part = f"down in {conc['down_s']:.2f} s" if conc["down_s"] is not None else "down: timed out"
        summary = (f"bench-register: spawn --register=yes {m_reg:.2f} ms vs unshare+chroot {m_unshare:.2f} ms "
                   f"(ratio {r_unshare:.2f}, goal ≤ {GOAL_RATIO_UNSHARE:g}), {nspawn_part}; {up_part}, {down_part}, "
                   f"leaked: {leak_words(leaks)}")
        result["summary"] = summary
    except (KeyboardInterrupt, Terminated) as e:
        exit_code = benchlib.interrupt_exit_code(e)
    except (Fatal, OSError) as e:
        # OSError: e.g. a binary that cannot be executed (being rebuilt while the benchmark runs).
        print(f"bench-register: {e}", file=sys.stderr, flush=True)
        if b.machined is not None and b.tmp:
            tail = benchlib.tail(os.path.join(b.tmp, "logs", "machined.log"))
            if tail:
                print(f"--- machined log (tail) ---\n{tail}", file=sys.stderr, flush=True)
        exit_code = 1
    finally:
        # A signal during cleanup waits until cleanup has finished.
        blocked = {signal.SIGTERM, signal.SIGHUP, signal.SIGINT}
        old = signal.pthread_sigmask(signal.SIG_BLOCK, blocked)
        try:
            leftover = b.cleanup()
        finally:
            pending = signal.sigpending() & blocked
            for sig in blocked:
                signal.signal(sig, signal.SIG_IGN)    # discards what is pending
            signal.pthread_sigmask(signal.SIG_SETMASK, old)
            for sig, handler in handlers.items():
                signal.signal(sig, handler)
        if pending and not exit_code:
            warn("signal received during cleanup")
            exit_code = 130 if signal.SIGINT in pending else 143
    if exit_code:
        return exit_code

    result["host"]["loadavg_end"] = os.getloadavg()
    result["leftover_mounts"] = leftover
    benchlib.finish(result, args.json, summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
