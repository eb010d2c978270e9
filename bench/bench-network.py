#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""spawn -n /bin/true against systemd-nspawn -n /bin/true (and spawn --private-network, the cost
of -n itself; both tools with --network-zone), round-robin, each run inside a network namespace
this script makes and deletes.
Usage: sudo /usr/bin/python3 bench/bench-network.py [--runs 30] [--build-dir build]"""

import argparse
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--build-dir", default=str(REPO / "build"))
    a = ap.parse_args()
    build = Path(a.build_dir).resolve()
    tmp = Path(tempfile.mkdtemp(prefix="berth-bench-net-"))
    ns = f"berth-test-{uuid.uuid4().hex[:8]}"
    tree = tmp / "benchnet"
    subprocess.run(["bash", str(REPO / "tests/helpers/make-busybox-tree.sh"), str(tree),
                    str(build / "berth-test-helper")], check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["ip", "netns", "add", ns], check=True)
    enter = ["nsenter", f"--net=/run/netns/{ns}"]
    # nspawn opens the system bus unless told neither to register nor to make a scope: with
    # --register=no --keep-unit it runs without one (this host has no systemd), and spawn gets the
    # same options.
    common = ["-q", "--register=no", "--keep-unit", "-D", str(tree)]
    spawn = enter + [str(build / "spawn")] + common
    nspawn = enter + ["systemd-nspawn"] + common
    peers = {
        "spawn -n": spawn + ["-n", "/bin/true"],
        "spawn --private-network": spawn + ["--private-network", "/bin/true"],
        "spawn --network-zone": spawn + ["--network-zone=bench", "/bin/true"],
        "systemd-nspawn -n": nspawn + ["-n", "/bin/true"],
        "systemd-nspawn --network-zone": nspawn + ["--network-zone=benchn", "/bin/true"],
    }
    try:
        # Wall time, and the CPU time of the tool and the children it waited for: on a machine
        # shared with other work the second is the steadier figure.
        times, cpu = {}, {}
        for name, cmd in list(peers.items()):
            cp = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                timeout=60)
            if cp.returncode != 0:
                print(f"{name}: unavailable: {cp.stderr.decode(errors='replace').strip().splitlines()[:1]}")
                if name.startswith("spawn"):
                    return 1
                del peers[name]
            else:
                times[name] = []
                cpu[name] = []
        for i in range(a.runs):
            order = list(peers.items())
            order = order[i % len(order):] + order[:i % len(order)]
            for name, cmd in order:
                r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
                t0 = time.perf_counter_ns()
                subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               timeout=60, check=True)
                times[name].append((time.perf_counter_ns() - t0) / 1e6)
                r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu[name].append((r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime) * 1e3)
        base = statistics.median(times["spawn -n"])
        cbase = statistics.median(cpu["spawn -n"])
        for name, t in times.items():
            med, cmed = statistics.median(t), statistics.median(cpu[name])
            print(f"{name:30s} median {med:7.1f} ms  min {min(t):7.1f} ms  ratio {med / base:5.2f}   "
                  f"cpu median {cmed:6.1f} ms  ratio {cmed / cbase:5.2f}")
    finally:
        subprocess.run(["ip", "netns", "del", ns])
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
