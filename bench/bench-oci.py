#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""`podman --runtime=RUNTIME run --rm --rootfs TREE /bin/true` with berth-oci, crun and runc from Debian.

Two figures per runtime and run: the wall time of the whole `podman run` and the runtime's part of it,
the sum of the wall times of every runtime invocation podman and conmon make (create, start, delete),
recorded by a bash wrapper around the runtime with $EPOCHREALTIME (no fork: the wrapper costs every
runtime the same). The peers alternate, the starting peer rotates each iteration. Goal: berth-oci's
part at most crun's; crun refuses hybrid cgroup hosts ("cgroups in hybrid mode not supported"), and then
the comparison is with runc. podman runs with private --root/--runroot/--tmpdir, the vfs driver,
cgroupfs below a cgroup of its own, --network none, and rlimits it may set without CAP_SYS_RESOURCE.
Must run as root. Standard library only. See bench/README.md.

The benchmark reports; it does not gate: a missed goal is printed as MISS but the exit code stays 0.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

import benchlib
from benchlib import destroy_cgroup_tree, die, goal_word, log

GOAL_RATIO = 1.0  # berth-oci's part <= 1.0x crun's (runc's where crun cannot run)
PEERS = ("berth", "crun", "runc")
LABELS = {"berth": "berth-oci", "crun": "crun", "runc": "runc"}
PACKAGES = {"crun": "crun", "runc": "runc", "podman": "podman", "conmon": "conmon"}

WRAPPER = """#!/bin/bash
t0=$EPOCHREALTIME
{binary} "$@"
rc=$?
echo "$t0 $EPOCHREALTIME $1" >> {log}
exit $rc
"""


def runtime_part_ns(log_path):
    """Sum of the invocations logged since the last call (the log is emptied)."""
    total = 0
    try:
        with open(log_path) as f:
            for line in f:
                t0, t1 = line.split()[:2]
                total += int((float(t1) - float(t0)) * 1e9)
    except FileNotFoundError:
        return 0
    os.unlink(log_path)
    return total


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    benchlib.add_run_args(ap, "meson build directory with berth-oci", runs=20, warmup=2)
    ap.add_argument("--install-peers", action="store_true", help="apt-get install podman, conmon, crun, runc")
    ap.add_argument("--json", help="write the results there")
    args = ap.parse_args()
    benchlib.set_prog("bench-oci")
    benchlib.require_root("podman and the runtimes need it")
    berth = os.path.join(os.path.abspath(args.build_dir), "berth-oci")
    helper = os.path.join(os.path.abspath(args.build_dir), "berth-test-helper")
    benchlib.require_executables([berth, helper], args.build_dir)
    for binary in ("podman", "conmon"):
        ok, why = benchlib.ensure_binary(binary, PACKAGES[binary], benchlib.install_allowed(args.install_peers))
        if not ok:
            die(why)

    work = tempfile.mkdtemp(prefix="bench-oci-")
    runroot = tempfile.mkdtemp(prefix="boci-", dir="/tmp")  # podman: at most 50 characters
    cg_parent = f"berth-bench-oci-{os.getpid()}"
    podman = None
    try:
        tree = os.path.join(work, "tree")
        err = benchlib.make_busybox_tree(tree, helper)
        if err:
            die(err)
        binaries, skipped = {"berth": berth}, {}
        for peer in ("crun", "runc"):
            ok, why = benchlib.ensure_binary(peer, PACKAGES[peer], benchlib.install_allowed(args.install_peers))
            if ok:
                binaries[peer] = shutil.which(peer)
            else:
                skipped[peer] = why
        logs, cmds = {}, {}
        podman = ["podman", "--root", os.path.join(work, "root"), "--runroot", runroot, "--tmpdir",
                  os.path.join(work, "tmp"), "--storage-driver", "vfs", "--cgroup-manager", "cgroupfs",
                  "--events-backend", "file"]
        for peer, binary in binaries.items():
            logs[peer] = os.path.join(work, f"calls-{peer}.log")
            wrapper = os.path.join(work, f"runtime-{peer}")
            with open(wrapper, "w") as f:
                f.write(WRAPPER.format(binary=binary, log=logs[peer]))
            os.chmod(wrapper, 0o755)
            cmds[peer] = podman + ["--runtime", wrapper, "run", "--rm", "--network", "none",
                                   "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024",
                                   "--cgroup-parent", f"/{cg_parent}", "--rootfs", tree, "/bin/true"]

        for peer in list(cmds):
            _, rc, err = benchlib.run_timed(cmds[peer], capture=True, timeout=120)
            runtime_part_ns(logs[peer])
            if rc != 0:
                if peer == "berth":
                    die(f"berth-oci under podman failed (exit {rc}): {err}")
                skipped[peer] = f"podman run failed (exit {rc}): {err.splitlines()[-1] if err else '?'}"
                del cmds[peer]
        log(f"podman {subprocess.run(['podman', '--version'], capture_output=True, text=True).stdout.strip()}; "
            f"runs {args.runs}, warm-up {args.warmup}")

        parts = {p: [] for p in cmds}

        def run_one(peer):
            ns, rc, _ = benchlib.run_timed(cmds[peer], timeout=120)
            part = runtime_part_ns(logs[peer])
            if rc == 0:
                parts[peer].append(part)
            return ns, rc

        names = [p for p in PEERS if p in cmds]
        samples, failures, codes = benchlib.measure_round_robin(names, args.runs, args.warmup, run_one)
        # measure_round_robin dropped the warm-up of the totals; drop it from the parts too.
        for p in names:
            parts[p] = parts[p][-len(samples[p]):] if samples[p] else []
        total = benchlib.peer_latency({p: cmds[p] for p in names}, LABELS, samples, failures, codes)
        part_stats = {p: benchlib.stats_ms(parts[p]) for p in names}

        log()
        log("podman run --rm --rootfs TREE /bin/true, whole command:")
        benchlib.latency_table(total, PEERS, LABELS, skipped, 10)
        log()
        log("the runtime's part (create + start + delete, summed):")
        hdr = f"  {'runtime':<10} {'median ms':>10} {'p10 ms':>9} {'p90 ms':>9} {'min ms':>9}"
        log(hdr)
        log("  " + "-" * (len(hdr) - 2))
        for p in PEERS:
            s = part_stats.get(p)
            if s:
                log(f"  {LABELS[p]:<10} {s['median_ms']:>10.1f} {s['p10_ms']:>9.1f} {s['p90_ms']:>9.1f} {s['min_ms']:>9.1f}")
            else:
                log(f"  {LABELS[p]:<10} unavailable: {skipped.get(p, 'no successful run')}")
        benchlib.warn_failed_runs(total, LABELS)

        peer = "crun" if part_stats.get("crun") else "runc" if part_stats.get("runc") else None
        if peer and part_stats.get("berth"):
            ratio = part_stats["berth"]["median_ms"] / part_stats[peer]["median_ms"]
            summary = (f"{goal_word(ratio <= GOAL_RATIO)}: berth-oci's part {part_stats['berth']['median_ms']:.1f} ms = "
                       f"{ratio:.2f}x {LABELS[peer]}'s {part_stats[peer]['median_ms']:.1f} ms (goal <= {GOAL_RATIO}x)")
            if peer == "runc":
                summary += f"; crun: {skipped.get('crun', 'unavailable')}"
        else:
            ratio, summary = None, "no peer ran: nothing to compare"
        result = {"host": benchlib.host_info(), "whole": total, "runtime_part": part_stats,
                  "compared_with": peer, "ratio": ratio, "skipped": skipped}
        benchlib.finish(result, args.json, summary)
    finally:
        if podman:
            subprocess.run(podman + ["rm", "-a", "-f"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for mp, _ in benchlib.own_cgroup_dirs().values():
            destroy_cgroup_tree(os.path.join(mp, cg_parent))
        benchlib.remove_workdir(runroot)
        benchlib.remove_workdir(work)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(130)
