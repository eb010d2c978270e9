#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Start-up latency and supervisor memory benchmark for berth's spawn.

Compares `spawn` against `unshare ... chroot` (the floor: namespaces plus chroot, no container setup),
systemd-nspawn and bubblewrap on the same busybox-static tree, and measures the peak RSS of the spawn
supervisor while a container runs. Must run as root. Standard library only. See bench/README.md.

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

import benchlib
from benchlib import Terminated, die, goal_word, log

GOAL_RATIO_UNSHARE = 2.0  # spawn median <= 2.0x unshare+chroot median
GOAL_RATIO_NSPAWN = 10.0  # systemd-nspawn median >= 10x spawn median
GOAL_RSS_KB = 2048  # spawn supervisor peak RSS <= 2 MB (systemd-nspawn was measured at 7.7 MB)

RSS_POLL_S = 0.020
RSS_SLEEP_S = 2

# Debian packages that provide the optional peers.
PEER_PACKAGES = {"nspawn": ("systemd-nspawn", "systemd-container"), "bwrap": ("bwrap", "bubblewrap")}


# ---------------------------------------------------------------------------------------------------
# Peers


def peer_commands(spawn, tree):
    """Command lines of all peers that run /bin/true, in the fixed display order."""
    return {
        "spawn": [spawn, "-D", tree, "-q", "--console=pipe", "/bin/true"],
        "unshare": ["unshare", "-m", "-p", "-u", "-i", "-f", "chroot", tree, "/bin/true"],
        "nspawn": ["systemd-nspawn", "--register=no", "--keep-unit", "-q", "-D", tree, "/bin/true"],
        "bwrap": ["bwrap", "--unshare-all", "--share-net", "--bind", tree, "/",
                  "--proc", "/proc", "--dev", "/dev", "/bin/true"],
    }


PEER_LABELS = {
    "spawn": "spawn",
    "unshare": "unshare+chroot",
    "nspawn": "systemd-nspawn",
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
# Timing


def measure_latency(cmds, runs, warmup):
    """Round-robin: every iteration runs each peer once; the starting peer rotates each iteration so
    that no peer always runs right after the same other one. Warm-up iterations are discarded."""
    return benchlib.measure_round_robin(list(cmds), runs, warmup, lambda n: benchlib.run_timed(cmds[n])[:2])


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


def cleanup(workdir, live):
    """Stops leftover children, checks the mount table and removes the temp dir. Returns the list of
    mounts found under the tree (the dir is kept if there are any, so nothing is deleted through a
    mount)."""
    for proc in list(live):
        stop_process(proc)
    return benchlib.remove_workdir(workdir)


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

        cmds = peer_commands(spawn, tree)
        skipped = {}

        log("Checking peers ...")
        for name in ("spawn", "unshare"):
            ok, rc, err = check_once(cmds[name])
            if not ok:
                die(f"{PEER_LABELS[name]} failed on this host (exit {rc}): {' '.join(cmds[name])}\n{err}")
        notes = {}
        for name in ("nspawn", "bwrap"):
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
        result["skipped_peers"] = skipped

        log(f"Timing {', '.join(PEER_LABELS[n] for n in cmds)}: "
            f"{args.warmup} warm-up + {args.runs} measured runs each, round-robin ...")
        samples, failures, fail_codes = measure_latency(cmds, args.runs, args.warmup)

        peers = benchlib.peer_latency(cmds, PEER_LABELS, samples, failures, fail_codes)
        result["latency"] = peers

        m_spawn, m_unshare, m_nspawn, m_bwrap = (benchlib.median_ms(peers, n)
                                                 for n in ("spawn", "unshare", "nspawn", "bwrap"))
        if m_spawn is None or m_unshare is None:
            die("spawn or unshare+chroot failed in every measured run")
        r_unshare = m_spawn / m_unshare
        r_nspawn = m_nspawn / m_spawn if m_nspawn is not None else None
        r_bwrap = m_bwrap / m_spawn if m_bwrap is not None else None

        log("Measuring supervisor peak RSS (polling /proc/PID/status every 20 ms) ...")
        rss_variants = {
            "spawn (--console=pipe)": [spawn, "-D", tree, "-q", "--console=pipe", "/bin/sleep", str(RSS_SLEEP_S)],
            "spawn (read-only console, pty)": [spawn, "-D", tree, "-q", "/bin/sleep", str(RSS_SLEEP_S)],
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
        benchlib.latency_table(peers, ("spawn", "unshare", "nspawn", "bwrap"), PEER_LABELS, skipped, 16)
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
        if r_bwrap is not None:
            log(f"  bwrap / spawn            = {r_bwrap:6.2f}   (no goal)")
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
                            "bwrap_over_spawn": r_bwrap}

        benchlib.warn_failed_runs(peers, PEER_LABELS)

        if m_nspawn is not None:
            nspawn_part = f"nspawn {m_nspawn:.2f} ms ({r_nspawn:.1f}× slower)"
        else:
            nspawn_part = "nspawn unavailable"
        rss_part = f"{spawn_peak} KB" if spawn_peak is not None else "n/a"
        summary = (f"bench-spawn: spawn median {m_spawn:.2f} ms, unshare+chroot {m_unshare:.2f} ms "
                   f"(ratio {r_unshare:.2f}), {nspawn_part}, supervisor peak RSS {rss_part}")
        result["summary"] = summary
    except (KeyboardInterrupt, Terminated) as e:
        code = benchlib.interrupt_exit_code(e)
        leftover = cleanup(workdir, live)
        workdir = None
        sys.exit(code)
    finally:
        if workdir:
            leftover = cleanup(workdir, live)

    result["leftover_mounts"] = leftover
    benchlib.finish(result, args.json, summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
