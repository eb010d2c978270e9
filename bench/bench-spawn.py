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
import gc
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAKE_TREE = os.path.join(REPO, "tests", "helpers", "make-busybox-tree.sh")

GOAL_RATIO_UNSHARE = 2.0  # spawn median <= 2.0x unshare+chroot median
GOAL_RATIO_NSPAWN = 10.0  # systemd-nspawn median >= 10x spawn median
GOAL_RSS_KB = 2048  # spawn supervisor peak RSS <= 2 MB (systemd-nspawn was measured at 7.7 MB)

RSS_POLL_S = 0.020
RSS_SLEEP_S = 2

# Debian packages that provide the optional peers.
PEER_PACKAGES = {"nspawn": ("systemd-nspawn", "systemd-container"), "bwrap": ("bwrap", "bubblewrap")}


class Terminated(Exception):
    """Raised from the SIGTERM/SIGHUP handler so that cleanup runs as for Ctrl-C."""


def on_signal(signum, frame):
    raise Terminated(f"terminated by signal {signal.Signals(signum).name}")


def log(msg=""):
    print(msg, flush=True)


def warn(msg):
    print(f"bench-spawn: WARNING: {msg}", file=sys.stderr, flush=True)


def die(msg):
    print(f"bench-spawn: {msg}", file=sys.stderr, flush=True)
    sys.exit(1)


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


def try_install(package):
    """apt-get install PACKAGE; on failure refresh the index once and retry. Returns an error or None."""
    if not shutil.which("apt-get"):
        return "apt-get not found"
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    cmd = ["apt-get", "install", "-y", "-q", package]
    r = subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    if r.returncode != 0:
        u = subprocess.run(["apt-get", "update", "-q"], env=env, stdin=subprocess.DEVNULL,
                           capture_output=True, text=True)
        r = subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True)
        if r.returncode != 0:
            tail = (u.stderr + r.stdout + r.stderr).strip().splitlines()[-5:]
            return f"'apt-get install {package}' failed: " + " / ".join(tail)
    return None


def ensure_peer_binary(name, allow_install):
    """Returns (available, reason). Installs the Debian package if allowed and the binary is missing."""
    binary, package = PEER_PACKAGES[name]
    if shutil.which(binary):
        return True, None
    if not allow_install:
        return False, (f"{binary} not installed (Debian package {package}); "
                       f"pass --install-peers (or set CI=true) to apt-get install it")
    log(f"  {binary} missing, installing Debian package {package} ...")
    err = try_install(package)
    if err:
        return False, err
    if not shutil.which(binary):
        return False, f"{package} installed but {binary} still not found in PATH"
    return True, None


def check_once(cmd):
    """Runs CMD once, capturing stderr. Returns (ok, returncode, stderr)."""
    r = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True, errors="replace", timeout=120)
    return r.returncode == 0, r.returncode, r.stderr.strip()


# ---------------------------------------------------------------------------------------------------
# Timing


def time_run(cmd):
    t0 = time.perf_counter_ns()
    r = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    t1 = time.perf_counter_ns()
    return t1 - t0, r.returncode


def measure_latency(cmds, runs, warmup):
    """Round-robin: every iteration runs each peer once; the starting peer rotates each iteration so
    that no peer always runs right after the same other one. Warm-up iterations are discarded."""
    names = list(cmds)
    samples = {n: [] for n in names}
    failures = {n: 0 for n in names}
    fail_codes = {n: set() for n in names}
    total = warmup + runs
    tty = sys.stdout.isatty()
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for i in range(total):
            k = i % len(names)
            for n in names[k:] + names[:k]:
                ns, rc = time_run(cmds[n])
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


def stats_ms(samples_ns):
    if not samples_ns:
        return None
    ms = [s / 1e6 for s in samples_ns]
    if len(ms) >= 2:
        q = statistics.quantiles(ms, n=10, method="inclusive")
        p10, p90 = q[0], q[8]
    else:
        p10 = p90 = ms[0]
    return {
        "n": len(ms),
        "median_ms": statistics.median(ms),
        "p10_ms": p10,
        "p90_ms": p90,
        "min_ms": min(ms),
        "max_ms": max(ms),
        "mean_ms": statistics.fmean(ms),
    }


# ---------------------------------------------------------------------------------------------------
# Supervisor RSS


def read_vm(pid):
    """VmHWM and VmRSS in KB from /proc/PID/status, or None once the process is gone or a zombie."""
    try:
        with open(f"/proc/{pid}/status") as f:
            text = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    vals = {}
    for line in text.splitlines():
        if line.startswith(("VmHWM:", "VmRSS:")):
            key, rest = line.split(":", 1)
            vals[key] = int(rest.split()[0])
    if "VmHWM" not in vals:
        return None  # zombie: no mm anymore
    return vals["VmHWM"], vals.get("VmRSS", 0)


def stop_process(proc):
    """SIGTERM (spawn forwards its kill signal to the container), then SIGKILL; always reaps."""
    if proc.poll() is not None:
        return
    try:
        proc.terminate()
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def measure_rss(cmd, live):
    """Starts CMD (its pid is the supervisor), polls VmHWM/VmRSS every 20 ms until it exits."""
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    live.append(proc)
    max_hwm = max_rss = 0
    polls = 0
    try:
        deadline = time.monotonic() + RSS_SLEEP_S + 30
        while proc.poll() is None:
            v = read_vm(proc.pid)
            if v is not None:
                polls += 1
                max_hwm = max(max_hwm, v[0])
                max_rss = max(max_rss, v[1])
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
    return {
        "cmd": cmd,
        "exit_code": proc.returncode,
        "polls": polls,
        "peak_vmhwm_kb": max_hwm if polls else None,
        "peak_vmrss_kb": max_rss if polls else None,
        "stderr": stderr,
    }


# ---------------------------------------------------------------------------------------------------
# Mount check and cleanup


def unescape_mountinfo(s):
    # mountinfo escapes space, tab, newline and backslash as \ooo.
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


def cleanup(workdir, live):
    """Stops leftover children, checks the mount table and removes the temp dir. Returns the list of
    mounts found under the tree (the dir is kept if there are any, so nothing is deleted through a
    mount)."""
    for proc in list(live):
        stop_process(proc)
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


# ---------------------------------------------------------------------------------------------------
# Output


def fmt_ms(v):
    return "-" if v is None else f"{v:.2f}"


def goal_word(ok):
    return "PASS" if ok else "MISS"


def main():
    ap = argparse.ArgumentParser(description="Benchmark spawn start-up latency and supervisor RSS "
                                 "against unshare+chroot, systemd-nspawn and bwrap (run as root).")
    ap.add_argument("--build-dir", default=os.path.join(REPO, "build"),
                    help="meson build dir with spawn and berth-test-helper (default: <repo>/build)")
    ap.add_argument("--runs", type=int, default=200, help="measured runs per peer (default: 200)")
    ap.add_argument("--warmup", type=int, default=10, help="discarded warm-up runs per peer (default: 10)")
    ap.add_argument("--install-peers", action="store_true",
                    help="apt-get install systemd-container/bubblewrap if missing (also if CI=true)")
    ap.add_argument("--json", metavar="FILE", help="also write the results as JSON to FILE")
    args = ap.parse_args()

    if args.runs < 1 or args.warmup < 0:
        die("--runs must be >= 1 and --warmup >= 0")
    if os.geteuid() != 0:
        die("must run as root (spawn, unshare and systemd-nspawn need CAP_SYS_ADMIN)")

    build = os.path.abspath(args.build_dir)
    spawn = os.path.join(build, "spawn")
    helper = os.path.join(build, "berth-test-helper")
    for p in (spawn, helper):
        if not (os.path.isfile(p) and os.access(p, os.X_OK)):
            die(f"{p} not found or not executable; build first with: ninja -C {build}")
    for b in ("unshare", "chroot"):
        if not shutil.which(b):
            die(f"{b} not found (Debian package util-linux / coreutils)")

    allow_install = args.install_peers or os.environ.get("CI") == "true"

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    workdir = None
    live = []
    leftover = []
    result = {
        "host": {
            "kernel": platform.release(),
            "machine": platform.machine(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
        },
        "params": {"runs": args.runs, "warmup": args.warmup, "build_dir": build},
    }
    try:
        workdir = tempfile.mkdtemp(prefix="berth-bench.")
        # A fixed, valid machine name (spawn and nspawn both derive it from the directory name).
        tree = os.path.join(workdir, f"bench-tree-{os.getpid()}")
        log(f"Building busybox tree in {tree} ...")
        r = subprocess.run([MAKE_TREE, tree, helper], stdin=subprocess.DEVNULL)
        if r.returncode != 0:
            die(f"make-busybox-tree.sh failed (exit {r.returncode})")

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

        peers = {}
        for n in cmds:
            peers[n] = {
                "label": PEER_LABELS[n],
                "cmd": cmds[n],
                "failures": failures[n],
                "failure_exit_codes": sorted(fail_codes[n]),
                "stats": stats_ms(samples[n]),
                "samples_ns": samples[n],
            }
        result["latency"] = peers

        def med(n):
            p = peers.get(n)
            return p["stats"]["median_ms"] if p and p["stats"] else None

        m_spawn, m_unshare, m_nspawn, m_bwrap = med("spawn"), med("unshare"), med("nspawn"), med("bwrap")
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
        hdr = f"  {'peer':<16} {'median ms':>10} {'p10 ms':>9} {'p90 ms':>9} {'min ms':>9} {'failed':>7}"
        log(hdr)
        log("  " + "-" * (len(hdr) - 2))
        for n in ("spawn", "unshare", "nspawn", "bwrap"):
            if n in peers:
                s = peers[n]["stats"] or {}
                log(f"  {PEER_LABELS[n]:<16} {fmt_ms(s.get('median_ms')):>10} {fmt_ms(s.get('p10_ms')):>9} "
                    f"{fmt_ms(s.get('p90_ms')):>9} {fmt_ms(s.get('min_ms')):>9} {peers[n]['failures']:>7}")
            else:
                log(f"  {PEER_LABELS[n]:<16} {'unavailable: ' + skipped.get(n, '?')}")
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

        failed = [PEER_LABELS[n] for n in peers if peers[n]["failures"]]
        if failed:
            warn("some runs exited non-zero and were left out of the statistics: "
                 + ", ".join(f"{PEER_LABELS[n]} {peers[n]['failures']}x (exit {peers[n]['failure_exit_codes']})"
                             for n in peers if peers[n]["failures"]))

        if m_nspawn is not None:
            nspawn_part = f"nspawn {m_nspawn:.2f} ms ({r_nspawn:.1f}× slower)"
        else:
            nspawn_part = "nspawn unavailable"
        rss_part = f"{spawn_peak} KB" if spawn_peak is not None else "n/a"
        summary = (f"bench-spawn: spawn median {m_spawn:.2f} ms, unshare+chroot {m_unshare:.2f} ms "
                   f"(ratio {r_unshare:.2f}), {nspawn_part}, supervisor peak RSS {rss_part}")
        result["summary"] = summary
    except KeyboardInterrupt:
        print(file=sys.stderr)
        warn("interrupted; cleaning up")
        leftover = cleanup(workdir, live)
        workdir = None
        sys.exit(130)
    except Terminated as e:
        warn(f"{e}; cleaning up")
        leftover = cleanup(workdir, live)
        workdir = None
        sys.exit(143)
    finally:
        if workdir:
            leftover = cleanup(workdir, live)

    result["leftover_mounts"] = leftover
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
            f.write("\n")
        log(f"Results written to {args.json}")
    log()
    log(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
