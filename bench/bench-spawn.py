#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Start-up latency and supervisor memory benchmark for berth's spawn.

Compares `spawn --register=no` against `unshare ... chroot` (the floor: namespaces plus chroot, no
container setup), `systemd-nspawn --register=no` and bubblewrap on the same busybox-static tree, and
measures the peak RSS of the spawn supervisor while a container runs. Registration is left out of
that figure on purpose (a registry on the host would add its round trip to spawn's time alone); the
registered start-up, `spawn --register=yes` against a private dbus-daemon and machined set up as
bench-register.py does, is a row of its own when python3-dbus and dbus-daemon are there. Must run as
root. Standard library only, plus python3-dbus for that one row. See bench/README.md.

The benchmark reports; it does not gate: a missed goal is printed as MISS but the exit code stays 0.
Non-zero exit codes mean the benchmark itself could not run (not root, spawn missing or failing, ...).
"""

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import uuid

import benchlib
from benchlib import Fatal, Terminated, cgroup_dirs, destroy_cgroup_tree, die, goal_word, log

GOAL_RATIO_UNSHARE = 2.0  # spawn median <= 2.0x unshare+chroot median
GOAL_RATIO_NSPAWN = 10.0  # systemd-nspawn median >= 10x spawn median
GOAL_FILTER_MS = 0.5  # the syscall filter adds <= 0.5 ms to spawn's median start-up (issue 10)
GOAL_RSS_KB = 2048  # spawn supervisor peak RSS <= 2 MB (systemd-nspawn was measured at 7.7 MB)

RSS_POLL_S = 0.020
RSS_SLEEP_S = 2

# Debian packages that provide the optional peers.
PEER_PACKAGES = {"nspawn": ("systemd-nspawn", "systemd-container"),
                 "nspawn_userns": ("systemd-nspawn", "systemd-container"), "bwrap": ("bwrap", "bubblewrap")}
# spawn -U against spawn (issue 10): creating the user namespace and writing its maps.
GOAL_RATIO_USERNS = 1.5

# The machine name of the registered row: fixed, so that each run must wait until the previous one
# has left the registry (untimed), as bench-register.py does.
REGISTERED_NAME = "spawnbench-reg"


# ---------------------------------------------------------------------------------------------------
# Peers


def peer_commands(spawn, tree, chowned_tree=None, nspawn_tree=None):
    """Command lines of all peers that run /bin/true, in the fixed display order. Neither spawn nor
    nspawn registers: the registered spawn is the separate row "spawn_reg". CHOWNED_TREE: a copy
    shifted once (spawn -U --private-users-ownership=chown) before the timing; NSPAWN_TREE: a copy
    of nspawn -U's own, whatever it does to it."""
    chowned_tree = chowned_tree or tree
    nspawn_tree = nspawn_tree or tree
    return {
        "spawn": [spawn, "-D", tree, "-q", "--console=pipe", "--register=no", "/bin/true"],
        # The same without the syscall filter ($BERTH_SECCOMP=0, for this comparison only).
        "spawn_nofilter": [spawn, "-D", tree, "-q", "--console=pipe", "--register=no", "/bin/true"],
        "spawn_reg": [spawn, "-D", tree, "-q", "--console=pipe", "--register=yes", "-M", REGISTERED_NAME,
                      "/bin/true"],
        # -U: a user namespace with a picked range (goal: <= GOAL_RATIO_USERNS x spawn); auto maps
        # the tree with an idmapped mount here (ext4, tmpfs...).
        "spawn_userns": [spawn, "-D", tree, "-q", "--console=pipe", "--register=no", "-U", "/bin/true"],
        "spawn_userns_map": [spawn, "-D", tree, "-q", "--console=pipe", "--register=no", "-U",
                             "--private-users-ownership=map", "/bin/true"],
        # A tree shifted by an earlier run: nothing to map, nothing to chown.
        "spawn_userns_chowned": [spawn, "-D", chowned_tree, "-q", "--console=pipe", "--register=no", "-U", "/bin/true"],
        "unshare": ["unshare", "-m", "-p", "-u", "-i", "-f", "chroot", tree, "/bin/true"],
        "nspawn": ["systemd-nspawn", "--register=no", "--keep-unit", "-q", "-D", tree, "/bin/true"],
        "nspawn_userns": ["systemd-nspawn", "--register=no", "--keep-unit", "-q", "-U", "-D", nspawn_tree, "/bin/true"],
        "bwrap": ["bwrap", "--unshare-all", "--share-net", "--bind", tree, "/",
                  "--proc", "/proc", "--dev", "/dev", "/bin/true"],
    }


PEER_LABELS = {
    "spawn": "spawn",
    "spawn_nofilter": "spawn, no syscall filter",
    "spawn_reg": "spawn --register=yes",
    "spawn_userns": "spawn -U",
    "spawn_userns_map": "spawn -U, ownership=map",
    "spawn_userns_chowned": "spawn -U, tree chowned before",
    "unshare": "unshare+chroot",
    "nspawn": "systemd-nspawn",
    "nspawn_userns": "systemd-nspawn -U",
    "bwrap": "bwrap",
}


def ensure_peer_binary(name, allow_install):
    """Returns (available, reason). Installs the Debian package if allowed and the binary is missing."""
    binary, package = PEER_PACKAGES[name]
    return benchlib.ensure_binary(binary, package, allow_install)


def check_once(cmd):
    """Runs CMD once, capturing stderr. Returns (ok, returncode, stderr)."""
    _, rc, err = benchlib.run_timed(cmd, capture=True, timeout=120)
    return rc == 0, rc, err


# ---------------------------------------------------------------------------------------------------
# The registry of the registered row


class Registry:
    """A private dbus-daemon and machined below WORKDIR, as bench-register.py sets them up (machined's
    cgroup root is a cgroup of this run below our own). Only the registered row talks to them."""

    def __init__(self, workdir, build):
        self.tmp = os.path.join(workdir, "registry")
        self.machined_bin = os.path.join(build, "machined")
        self.socket = os.path.join(self.tmp, "bus", "system_bus_socket")
        self.address = f"unix:path={self.socket}"
        self.cgroup_root = f"berth-bench-spawn-{uuid.uuid4().hex[:10]}.slice"
        self.bus_proc = self.machined = self.conn = self.mgr = None
        self.machined_log = os.path.join(self.tmp, "logs", "machined.log")

    @staticmethod
    def unavailable(build):
        """Why the registered row cannot run here, or None."""
        try:
            import dbus  # noqa: F401
        except ImportError:
            return "python3-dbus missing (run with Debian's /usr/bin/python3)"
        if not shutil.which("dbus-daemon"):
            return "dbus-daemon missing (Debian package dbus-daemon)"
        for name in ("machined", "spawn-register"):
            if not os.access(os.path.join(build, name), os.X_OK):
                return f"{name} not built"
        return None

    def env(self):
        return benchlib.bus_env(self.address)

    def start(self):
        for d in ("bus", "logs"):
            os.makedirs(os.path.join(self.tmp, d), exist_ok=True)
        self.bus_proc = benchlib.start_private_bus(os.path.join(self.tmp, "bus", "bus.conf"), self.socket,
                                                   os.path.join(self.tmp, "logs", "dbus-daemon.log"))
        self.machined, self.conn = benchlib.start_machined(self.machined_bin, self.tmp, self.cgroup_root,
                                                           self.env(), self.machined_log)
        self.mgr = benchlib.manager(self.conn)

    def wait_unregistered(self, name, timeout=10.0):
        """Untimed: the next registered run reuses the name. spawn does not unregister on a normal
        exit; machined drops the machine when it sees the leader die."""
        deadline = time.monotonic() + timeout
        while any(str(m[0]) == name for m in self.mgr.ListMachines(signature="", timeout=30)):
            if time.monotonic() > deadline:
                raise Fatal(f"machine {name} stayed registered for {timeout:g} s: "
                            f"{benchlib.tail(self.machined_log)}")
            time.sleep(0.002)

    def stop(self):
        benchlib.close_connection(self.conn)
        self.conn = None
        for proc in (self.machined, self.bus_proc):
            if proc is not None:
                benchlib.stop_process(proc)
        self.machined = self.bus_proc = None
        for d in cgroup_dirs(self.cgroup_root).values():
            destroy_cgroup_tree(d)


# ---------------------------------------------------------------------------------------------------
# Timing


def measure_latency(cmds, runs, warmup, registry):
    """Round-robin: every iteration runs each peer once; the starting peer rotates each iteration so
    that no peer always runs right after the same other one. Warm-up iterations are discarded."""
    nofilter_env = dict(os.environ, BERTH_SECCOMP="0")

    def run_one(n):
        if n == "spawn_nofilter":
            return benchlib.run_timed(cmds[n], env=nofilter_env)[:2]
        if n != "spawn_reg":
            return benchlib.run_timed(cmds[n])[:2]
        ns, rc, _ = benchlib.run_timed(cmds[n], env=registry.env())
        registry.wait_unregistered(REGISTERED_NAME)
        return ns, rc

    return benchlib.measure_round_robin(list(cmds), runs, warmup, run_one)


# ---------------------------------------------------------------------------------------------------
# Supervisor RSS


def stop_process(proc):
    """SIGTERM (spawn forwards its kill signal to the container), then SIGKILL; always reaps."""
    benchlib.stop_process(proc, timeout=5)


def measure_rss(cmd, live):
    """Starts CMD (its pid is the supervisor), polls VmHWM/VmRSS every 20 ms until it exits."""
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    live.append(proc)
    peak = benchlib.PeakVm()
    try:
        deadline = time.monotonic() + RSS_SLEEP_S + 30
        while proc.poll() is None:
            peak.sample(proc.pid)
            if time.monotonic() > deadline:
                stop_process(proc)
                break
            time.sleep(RSS_POLL_S)
        stderr = proc.stderr.read().decode(errors="replace").strip()
        proc.wait()
    finally:
        stop_process(proc)
        if proc.stderr:
            proc.stderr.close()
        live.remove(proc)
    v = peak.result()
    return {
        "cmd": cmd,
        "exit_code": proc.returncode,
        "polls": v["polls"],
        "peak_vmhwm_kb": v["peak_vmhwm_kb"],
        "peak_vmrss_kb": v["peak_vmrss_kb"],
        "stderr": stderr,
    }


# ---------------------------------------------------------------------------------------------------
# Cleanup


def cleanup(workdir, live, registry):
    """Stops leftover children and the registry, checks the mount table and removes the temp dir.
    Returns the list of mounts found under the tree (the dir is kept if there are any, so nothing is
    deleted through a mount)."""
    for proc in list(live):
        stop_process(proc)
    if registry is not None:
        registry.stop()
    return benchlib.remove_workdir(workdir)


def check_registered_peer(cmds, registry, skipped):
    """Starts the registry and checks the registered row once; drops the row (with the reason) if
    that fails. Returns the registry, or None."""
    try:
        registry.start()
        # --register=yes fails the start if registering fails: exit 0 means it registered.
        _, rc, err = benchlib.run_timed(cmds["spawn_reg"], env=registry.env(), capture=True, timeout=120)
        if rc == 0:
            registry.wait_unregistered(REGISTERED_NAME)
            log(f"  {PEER_LABELS['spawn_reg']}: ok (private bus, machined cgroup root ./{registry.cgroup_root})")
            return registry
        reason = f"test run failed with exit {rc}: {(err or '(no output)').splitlines()[0]}"
    except Fatal as e:
        reason = str(e).splitlines()[0]
    registry.stop()
    skipped["spawn_reg"] = reason
    del cmds["spawn_reg"]
    log(f"  {PEER_LABELS['spawn_reg']}: skipped ({reason})")
    return None


def main():
    ap = argparse.ArgumentParser(description="Benchmark spawn start-up latency and supervisor RSS "
                                 "against unshare+chroot, systemd-nspawn and bwrap (run as root).")
    benchlib.add_run_args(ap, "meson build dir with spawn and berth-test-helper (default: <repo>/build)", 200, 10)
    ap.add_argument("--install-peers", action="store_true",
                    help="apt-get install systemd-container/bubblewrap if missing (also if CI=true)")
    ap.add_argument("--json", metavar="FILE", help="also write the results as JSON to FILE")
    args = ap.parse_args()
    benchlib.set_prog("bench-spawn")

    if args.runs < 1 or args.warmup < 0:
        die("--runs must be >= 1 and --warmup >= 0")
    benchlib.require_root("spawn, unshare and systemd-nspawn need CAP_SYS_ADMIN")

    build = os.path.abspath(args.build_dir)
    spawn = os.path.join(build, "spawn")
    helper = os.path.join(build, "berth-test-helper")
    benchlib.require_executables((spawn, helper), build)
    for b in ("unshare", "chroot"):
        if not shutil.which(b):
            die(f"{b} not found (Debian package util-linux / coreutils)")

    allow_install = benchlib.install_allowed(args.install_peers)

    benchlib.install_signal_handlers()

    workdir = None
    registry = None
    live = []
    leftover = []
    result = {
        "host": benchlib.host_info(),
        "params": {"runs": args.runs, "warmup": args.warmup, "build_dir": build},
    }
    try:
        workdir = tempfile.mkdtemp(prefix="berth-bench.")
        # A fixed, valid machine name (spawn and nspawn both derive it from the directory name).
        tree = os.path.join(workdir, f"bench-tree-{os.getpid()}")
        log(f"Building busybox tree in {tree} ...")
        err = benchlib.make_busybox_tree(tree, helper)
        if err:
            die(err)

        # Copies for the -U rows that change or may change their tree (chowned once, untimed).
        chowned_tree, nspawn_tree = tree + "-chowned", tree + "-nspawn"
        for t in (chowned_tree, nspawn_tree):
            subprocess.run(["cp", "-a", tree, t], check=True)
        subprocess.run([spawn, "-D", chowned_tree, "-q", "--console=pipe", "--register=no", "-U",
                        "--private-users-ownership=chown", "/bin/true"], check=False)
        cmds = peer_commands(spawn, tree, chowned_tree, nspawn_tree)
        skipped = {}

        log("Checking peers ...")
        for name in ("spawn", "unshare"):
            ok, rc, err = check_once(cmds[name])
            if not ok:
                die(f"{PEER_LABELS[name]} failed on this host (exit {rc}): {' '.join(cmds[name])}\n{err}")
        notes = {}
        for name in ("spawn_userns", "spawn_userns_map", "spawn_userns_chowned"):
            ok, rc, err = check_once(cmds[name])
            if not ok:
                skipped[name] = f"test run failed with exit {rc}: {err.strip()[:200]}"
                del cmds[name]
                log(f"  {PEER_LABELS[name]}: skipped ({skipped[name]})")
        for name in ("nspawn", "nspawn_userns", "bwrap"):
            avail, reason = ensure_peer_binary(name, allow_install)
            if avail:
                ok, rc, err = check_once(cmds[name])
                if ok:
                    if err:
                        notes[name] = err
                else:
                    avail = False
                    reason = f"test run failed with exit {rc}"
                    print(f"  {PEER_LABELS[name]} test run failed (exit {rc}); its stderr:\n"
                          + "\n".join("    " + l for l in (err or "(empty)").splitlines()), flush=True)
            if not avail:
                skipped[name] = reason
                del cmds[name]
                log(f"  {PEER_LABELS[name]}: skipped ({reason})")
            else:
                log(f"  {PEER_LABELS[name]}: ok")
        for name, err in notes.items():
            first = err.splitlines()[0]
            log(f"  note: {PEER_LABELS[name]} exits 0 but prints to stderr: {first}")
        reason = Registry.unavailable(build)
        if reason:
            skipped["spawn_reg"] = reason
            del cmds["spawn_reg"]
            log(f"  {PEER_LABELS['spawn_reg']}: skipped ({reason})")
        else:
            registry = check_registered_peer(cmds, Registry(workdir, build), skipped)
        result["skipped_peers"] = skipped

        log(f"Timing {', '.join(PEER_LABELS[n] for n in cmds)}: "
            f"{args.warmup} warm-up + {args.runs} measured runs each, round-robin ...")
        samples, failures, fail_codes = measure_latency(cmds, args.runs, args.warmup, registry)

        peers = benchlib.peer_latency(cmds, PEER_LABELS, samples, failures, fail_codes)
        result["latency"] = peers

        m_spawn, m_spawn_reg, m_unshare, m_nspawn, m_bwrap, m_nofilter = (
            benchlib.median_ms(peers, n) for n in ("spawn", "spawn_reg", "unshare", "nspawn", "bwrap", "spawn_nofilter"))
        m_userns, m_nspawn_userns = (benchlib.median_ms(peers, n) for n in ("spawn_userns", "nspawn_userns"))
        if m_spawn is None or m_unshare is None:
            die("spawn or unshare+chroot failed in every measured run")
        r_unshare = m_spawn / m_unshare
        r_nspawn = m_nspawn / m_spawn if m_nspawn is not None else None
        r_bwrap = m_bwrap / m_spawn if m_bwrap is not None else None
        r_reg = m_spawn_reg / m_spawn if m_spawn_reg is not None else None

        log("Measuring supervisor peak RSS (polling /proc/PID/status every 20 ms) ...")
        rss_variants = {
            "spawn (--console=pipe)": [spawn, "-D", tree, "-q", "--console=pipe", "--register=no",
                                       "/bin/sleep", str(RSS_SLEEP_S)],
            "spawn (read-only console, pty)": [spawn, "-D", tree, "-q", "--register=no", "/bin/sleep", str(RSS_SLEEP_S)],
        }
        if "nspawn" in cmds:
            rss_variants["systemd-nspawn"] = ["systemd-nspawn", "--register=no", "--keep-unit", "-q",
                                              "-D", tree, "/bin/sleep", str(RSS_SLEEP_S)]
        rss = {}
        for label, cmd in rss_variants.items():
            rss[label] = measure_rss(cmd, live)
        result["rss"] = rss

        spawn_hwms = [v["peak_vmhwm_kb"] for k, v in rss.items()
                      if k.startswith("spawn") and v["peak_vmhwm_kb"] is not None and v["exit_code"] == 0]
        spawn_peak = max(spawn_hwms) if spawn_hwms else None

        # ---- report ----
        log()
        log(f"Start-up latency, command start -> exit, {args.runs} runs per peer "
            f"({args.warmup} warm-up discarded); kernel {platform.release()}, {os.cpu_count()} CPUs")
        benchlib.latency_table(peers, ("spawn", "spawn_nofilter", "spawn_reg", "spawn_userns", "spawn_userns_map",
                                       "spawn_userns_chowned", "unshare", "nspawn",
                                       "nspawn_userns", "bwrap"),
                               PEER_LABELS, skipped, 26)
        log()
        log("Ratios (medians) and goals")
        goals = {}
        ok = r_unshare <= GOAL_RATIO_UNSHARE
        goals["spawn_vs_unshare"] = {"goal": f"spawn <= {GOAL_RATIO_UNSHARE}x unshare+chroot",
                                     "ratio": r_unshare, "result": goal_word(ok)}
        log(f"  spawn / unshare+chroot   = {r_unshare:6.2f}   "
            f"{'goal: spawn <= %.1fx unshare+chroot' % GOAL_RATIO_UNSHARE:<48} {goal_word(ok)}")
        if r_nspawn is not None:
            ok = r_nspawn >= GOAL_RATIO_NSPAWN
            goals["spawn_vs_nspawn"] = {"goal": f"spawn >= {GOAL_RATIO_NSPAWN:g}x faster than systemd-nspawn",
                                        "ratio": r_nspawn, "result": goal_word(ok)}
            log(f"  systemd-nspawn / spawn   = {r_nspawn:6.2f}   "
                f"{'goal: spawn >= %gx faster than systemd-nspawn' % GOAL_RATIO_NSPAWN:<48} {goal_word(ok)}")
        else:
            goals["spawn_vs_nspawn"] = {"goal": f"spawn >= {GOAL_RATIO_NSPAWN:g}x faster than systemd-nspawn",
                                        "ratio": None, "result": "N/A", "reason": skipped.get("nspawn")}
            log(f"  systemd-nspawn / spawn   =    n/a   "
                f"{'goal: spawn >= %gx faster than systemd-nspawn' % GOAL_RATIO_NSPAWN:<48} N/A (unavailable)")
        if m_nofilter is not None:
            cost = m_spawn - m_nofilter
            ok = cost <= GOAL_FILTER_MS
            goals["syscall_filter_cost"] = {"goal": f"the syscall filter adds <= {GOAL_FILTER_MS} ms",
                                            "ms": cost, "result": goal_word(ok)}
            log(f"  filter cost (ms)         = {cost:6.2f}   "
                f"{'goal: spawn - spawn without filter <= %.1f ms' % GOAL_FILTER_MS:<48} {goal_word(ok)}")
        if m_userns is not None:
            r_userns = m_userns / m_spawn
            ok = r_userns <= GOAL_RATIO_USERNS
            goals["userns_vs_spawn"] = {"goal": f"spawn -U <= {GOAL_RATIO_USERNS}x spawn", "ratio": r_userns,
                                        "result": goal_word(ok)}
            log(f"  spawn -U / spawn         = {r_userns:6.2f}   "
                f"{'goal: spawn -U <= %.1fx spawn' % GOAL_RATIO_USERNS:<48} {goal_word(ok)}")
        for name in ("spawn_userns_map", "spawn_userns_chowned"):
            m = benchlib.median_ms(peers, name)
            if m is not None:
                log(f"  {PEER_LABELS[name] + ' / spawn':<24} = {m / m_spawn:6.2f}   (goal as spawn -U)")
        if m_nspawn_userns is not None and m_userns is not None:
            log(f"  systemd-nspawn -U / spawn -U = {m_nspawn_userns / m_userns:6.2f}   (no goal)")
        if r_bwrap is not None:
            log(f"  bwrap / spawn            = {r_bwrap:6.2f}   (no goal)")
        if r_reg is not None:
            log(f"  spawn --register=yes / spawn = {r_reg:6.2f}   (no goal; +{m_spawn_reg - m_spawn:.2f} ms "
                "for the spawn-register helper and machined)")
        log()
        log(f"Supervisor peak RSS while a container runs /bin/sleep {RSS_SLEEP_S} "
            f"(goal: spawn <= {GOAL_RSS_KB} KB; systemd-nspawn was measured at 7.7 MB)")
        log(f"  {'variant':<32} {'VmHWM KB':>9} {'VmRSS KB':>9} {'polls':>6} {'exit':>5}  goal")
        for label, v in rss.items():
            hwm = v["peak_vmhwm_kb"]
            g = "(no goal)"
            if label.startswith("spawn"):
                g = goal_word(hwm is not None and v["exit_code"] == 0 and hwm <= GOAL_RSS_KB)
            log(f"  {label:<32} {hwm if hwm is not None else '-':>9} "
                f"{v['peak_vmrss_kb'] if v['peak_vmrss_kb'] is not None else '-':>9} "
                f"{v['polls']:>6} {v['exit_code']:>5}  {g}")
            if v["exit_code"] != 0 and v["stderr"]:
                log(f"    stderr: {v['stderr'].splitlines()[0]}")
        goals["supervisor_rss"] = {"goal": f"spawn supervisor peak RSS <= {GOAL_RSS_KB} KB",
                                   "peak_vmhwm_kb": spawn_peak,
                                   "result": goal_word(spawn_peak is not None and spawn_peak <= GOAL_RSS_KB)}
        result["goals"] = goals
        result["ratios"] = {"spawn_over_unshare": r_unshare, "nspawn_over_spawn": r_nspawn,
                            "bwrap_over_spawn": r_bwrap, "spawn_registered_over_spawn": r_reg}

        benchlib.warn_failed_runs(peers, PEER_LABELS)

        if m_nspawn is not None:
            nspawn_part = f"nspawn {m_nspawn:.2f} ms ({r_nspawn:.1f}× slower)"
        else:
            nspawn_part = "nspawn unavailable"
        rss_part = f"{spawn_peak} KB" if spawn_peak is not None else "n/a"
        reg_part = f"registered {m_spawn_reg:.2f} ms" if m_spawn_reg is not None else "registered n/a"
        summary = (f"bench-spawn: spawn median {m_spawn:.2f} ms, unshare+chroot {m_unshare:.2f} ms "
                   f"(ratio {r_unshare:.2f}), {nspawn_part}, {reg_part}, supervisor peak RSS {rss_part}")
        result["summary"] = summary
    except Fatal as e:
        die(str(e))
    except (KeyboardInterrupt, Terminated) as e:
        code = benchlib.interrupt_exit_code(e)
        leftover = cleanup(workdir, live, registry)
        workdir = None
        sys.exit(code)
    finally:
        if workdir:
            leftover = cleanup(workdir, live, registry)

    result["leftover_mounts"] = leftover
    benchlib.finish(result, args.json, summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
