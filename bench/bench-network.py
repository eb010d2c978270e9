#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""spawn -n /bin/true against systemd-nspawn -n /bin/true (and spawn --private-network, the cost
of -n itself; both tools with --network-zone), round-robin, each run inside a network namespace
this script makes and deletes; then the time from start until the container answers TCP from the
host side (nspawn addresses nothing: its container configures host0 itself and this script the
host side, as networkd would); and spawn -n -p's time until it
answers on its address and through the forwards from the host's 127.0.0.1 and [::1].
Usage: sudo /usr/bin/python3 bench/bench-network.py [--runs 30] [--build-dir build]"""

import argparse
import ctypes
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CLONE_NEWNET = 0x40000000


def enter_netns(ns):
    """Moves the calling thread (only) into network namespace @ns."""
    fd = os.open(f"/run/netns/{ns}", os.O_RDONLY | os.O_CLOEXEC)
    try:
        if ctypes.CDLL(None, use_errno=True).setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "setns")
    finally:
        os.close(fd)


def tcp_ready_ms(ns, cmd, addr, host_setup=None):
    """Starts @cmd (its container serves one 'hi' on port 7777) and returns the milliseconds until
    a connection from the host side reads it. Runs in a thread of its own, inside @ns."""
    out = {}

    def worker():
        enter_netns(ns)
        t0 = time.perf_counter_ns()
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            if host_setup:
                host_setup()
            while time.perf_counter_ns() - t0 < 30e9:
                try:
                    with socket.create_connection((addr, 7777), timeout=0.2) as c:
                        if c.recv(16).startswith(b"hi"):
                            out["ms"] = (time.perf_counter_ns() - t0) / 1e6
                            break
                except OSError:
                    time.sleep(0.001)
            p.wait(timeout=30)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()

    t = threading.Thread(target=worker)
    t.start()
    t.join()
    return out.get("ms")


POLLER = """
import socket, sys, time
family = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
deadline = time.monotonic() + 20
while time.monotonic() < deadline:
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(0.5)
    try:
        s.connect((sys.argv[1], int(sys.argv[2])))
        if s.recv(16).startswith(b"ok"):
            print(time.monotonic())
            sys.exit(0)
    except OSError:
        time.sleep(0.001)
    finally:
        s.close()
sys.exit(1)
"""


def port_bench(enter, build, tree, runs):
    """Time from spawn -n -p's start until a server in the container answers a host-side client,
    on host0's address and through the forwards from the host's 127.0.0.1 and [::1] (nspawn's
    --port needs networkd's addresses, which this host has not)."""
    spawn = enter + [str(build / "spawn"), "-q", "--register=no", "-n", "-p", "8080:80", "-D", str(tree),
                     "/bin/sh", "-c", "while true; do echo ok | nc -l -p 80; done"]
    for addr, port in (("10.200.0.2", 80), ("127.0.0.1", 8080), ("::1", 8080)):
        t = []
        for _ in range(max(3, runs // 3)):
            t0 = time.monotonic()
            p = subprocess.Popen(spawn, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            cp = subprocess.run(enter + [sys.executable, "-c", POLLER, addr, str(port)], stdout=subprocess.PIPE,
                                timeout=60)
            p.terminate()
            p.wait(timeout=30)
            if cp.returncode == 0:
                t.append((float(cp.stdout) - t0) * 1000)
        if t:
            print(f"spawn -n -p: TCP answer from {addr:>10}:{port:<5} median {statistics.median(t):7.1f} ms  "
                  f"min {min(t):7.1f} ms  ({len(t)} runs)")
        else:
            print(f"spawn -n -p: no TCP answer from {addr}:{port}")


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
    subprocess.run(["ip", "-n", ns, "link", "set", "lo", "up"], check=True)
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
        tcp_bench(a.runs, ns, build, tree)
        port_bench(enter, build, tree, a.runs)
    finally:
        subprocess.run(["ip", "netns", "del", ns])
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


def tcp_bench(runs, ns, build, tree):
    serve = "echo hi | nc -l -p 7777"
    common = ["-q", "--register=no", "--keep-unit", "-D", str(tree), "-n"]
    ve = "ve-" + tree.name

    def nspawn_host_side():
        # What networkd would do on the host: wait for the link, address it.
        for _ in range(3000):
            if subprocess.run(["ip", "link", "show", ve], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL).returncode == 0:
                break
            time.sleep(0.001)
        subprocess.run(["ip", "addr", "add", "10.201.0.1/28", "dev", ve], check=True)
        subprocess.run(["ip", "link", "set", ve, "up"], check=True)
        # Connect only once host0 is up (the carrier says so): a first SYN while it is down
        # leaves the neighbour entry failed, and the next ARP comes a second later.
        for _ in range(3000):
            if "LOWER_UP" in subprocess.run(["ip", "link", "show", ve], stdout=subprocess.PIPE, text=True).stdout:
                break
            time.sleep(0.001)

    peers = {
        "spawn -n": ([str(build / "spawn")] + common + ["/bin/sh", "-c", serve], "10.200.0.2", None),
        "systemd-nspawn -n": (["systemd-nspawn"] + common +
                              ["/bin/sh", "-c", "ip addr add 10.201.0.2/28 dev host0 && ip link set host0 up && " + serve],
                              "10.201.0.2", nspawn_host_side),
    }
    times = {name: [] for name in peers}
    for i in range(runs):
        for name, (cmd, addr, setup) in (list(peers.items())[::-1] if i % 2 else peers.items()):
            ms = tcp_ready_ms(ns, cmd, addr, setup)
            if ms is None:
                print(f"{name}: no answer over TCP")
                return
            times[name].append(ms)
    base = statistics.median(times["spawn -n"])
    for name, t in times.items():
        med = statistics.median(t)
        print(f"until TCP answers: {name:18s} median {med:7.1f} ms  min {min(t):7.1f} ms  ratio {med / base:5.2f}")


if __name__ == "__main__":
    sys.exit(main())
