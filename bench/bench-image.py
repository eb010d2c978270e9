#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Disk images and throwaway runs: start-up latency of `spawn -i IMG /bin/true` against
`systemd-nspawn -i IMG /bin/true` on the same GPT image (root+home+srv, ext4, read-write and
--read-only), and of `spawn -x -D TREE /bin/true` against `spawn -D TREE /bin/true` when spawn
knows -x. Round-robin in one run, as bench-spawn.py. Must run as root.

systemd-nspawn 252 refuses -i on a host without udev; a listening socket at /run/udev/control is
all it checks. The script runs everything in a mount namespace of its own (a slave of the host's)
with a tmpfs on /run/udev and that socket, accepting and closing connections in a thread, so the
host's /run is never touched.

Goals (reported, not enforced): nspawn median >= 5x spawn median for images; spawn -x median at
most 3 ms over spawn's.
"""

import argparse
import os
import shutil
import subprocess
import tempfile

import benchlib
from benchlib import die, goal_word, log

GOAL_RATIO_NSPAWN = 5.0
GOAL_EPHEMERAL_MS = 3.0
MiB = benchlib.MiB

HOME = "933ac7e1-2eb4-4f13-b844-0e14e2aef915"
SRV = "3b8f8425-20e0-4f3b-907f-1a25a76f98e8"


def make_image(path, tree, workdir):
    """A DPS image: root (the tree), home (with /home/user) and srv, small ext4 file systems."""
    home = os.path.join(workdir, "home")
    os.makedirs(os.path.join(home, "user"))
    benchlib.write_gpt_image(path, [(benchlib.GPT_ROOT_X86_64, 16 * MiB, tree), (HOME, 4 * MiB, home),
                                    (SRV, 4 * MiB, None)])


def supports_ephemeral(spawn):
    out = subprocess.run([spawn, "--help"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout
    return b"--ephemeral" in out


def main():
    ap = argparse.ArgumentParser(description="Benchmark spawn -i against systemd-nspawn -i, and spawn -x.")
    benchlib.add_run_args(ap, "meson build dir with spawn and berth-test-helper (default: <repo>/build)", 30, 3)
    ap.add_argument("--json", metavar="FILE", help="also write the results as JSON to FILE")
    args = ap.parse_args()
    benchlib.set_prog("bench-image")
    benchlib.require_root("loop devices and mounts need CAP_SYS_ADMIN")
    build = os.path.abspath(args.build_dir)
    spawn = os.path.join(build, "spawn")
    helper = os.path.join(build, "berth-test-helper")
    benchlib.require_executables((spawn, helper), build)
    for tool in ("sfdisk", "mke2fs"):
        if not shutil.which(tool):
            die(f"{tool} not found (scripts/deps.sh test installs fdisk and e2fsprogs)")
    benchlib.install_signal_handlers()

    workdir = tempfile.mkdtemp(prefix="berth-bench-image.")
    result = {"host": benchlib.host_info(), "params": {"runs": args.runs, "warmup": args.warmup}}
    try:
        tree = os.path.join(workdir, "benchtree")
        err = benchlib.make_busybox_tree(tree, helper)
        if err:
            die(err)
        img = os.path.join(workdir, "bench.raw")
        make_image(img, tree, workdir)
        benchlib.enter_fake_udev_namespace()

        base = [spawn, "-q", "--console=pipe", "--register=no"]
        cmds = {
            "spawn_i": base + ["-i", img, "/bin/true"],
            "spawn_i_ro": base + ["--read-only", "-i", img, "/bin/true"],
            "spawn_d": base + ["-D", tree, "/bin/true"],
        }
        labels = {"spawn_i": "spawn -i", "spawn_i_ro": "spawn -i --read-only", "spawn_d": "spawn -D",
                  "spawn_x": "spawn -x -D", "nspawn_i": "systemd-nspawn -i",
                  "nspawn_i_ro": "systemd-nspawn -i --read-only"}
        skipped = {}
        if supports_ephemeral(spawn):
            cmds["spawn_x"] = base + ["-x", "-D", tree, "/bin/true"]
        else:
            skipped["spawn_x"] = "this spawn has no -x/--ephemeral"

        if shutil.which("systemd-nspawn"):
            nsp = ["systemd-nspawn", "-q", "--register=no", "--keep-unit"]
            cmds["nspawn_i"] = nsp + ["-i", img, "/bin/true"]
            cmds["nspawn_i_ro"] = nsp + ["--read-only", "-i", img, "/bin/true"]
        else:
            skipped["nspawn_i"] = skipped["nspawn_i_ro"] = "systemd-nspawn not installed (systemd-container)"
        for name, cmd in list(cmds.items()):
            _, rc, err = benchlib.run_timed(cmd, capture=True, timeout=120)
            if rc != 0:
                if name.startswith("spawn"):
                    die(f"{labels[name]} failed (exit {rc}): {err}")
                skipped[name] = f"test run failed with exit {rc}: {err.splitlines()[0] if err else ''}"
                del cmds[name]

        log(f"Timing {', '.join(labels[n] for n in cmds)}: {args.warmup} warm-up + {args.runs} runs, round-robin ...")
        samples, failures, codes = benchlib.measure_round_robin(
            list(cmds), args.runs, args.warmup, lambda n: benchlib.run_timed(cmds[n])[:2])
        peers = benchlib.peer_latency(cmds, labels, samples, failures, codes)
        result["latency"] = peers
        benchlib.latency_table(peers, list(labels), labels, skipped, 30)
        benchlib.warn_failed_runs(peers, labels)

        summary = []
        for s, n in (("spawn_i", "nspawn_i"), ("spawn_i_ro", "nspawn_i_ro")):
            a, b = benchlib.median_ms(peers, s), benchlib.median_ms(peers, n)
            if a and b:
                ratio = b / a
                summary.append(f"{labels[n]}/{labels[s]} = {ratio:.1f}x "
                               f"({goal_word(ratio >= GOAL_RATIO_NSPAWN)}, goal >= {GOAL_RATIO_NSPAWN:.0f}x)")
        a, b = benchlib.median_ms(peers, "spawn_d"), benchlib.median_ms(peers, "spawn_x")
        if a and b:
            summary.append(f"-x costs {b - a:+.2f} ms ({goal_word(b - a <= GOAL_EPHEMERAL_MS)}, "
                           f"goal <= +{GOAL_EPHEMERAL_MS:.0f} ms)")
        benchlib.finish(result, args.json, "; ".join(summary) or "no comparison available")
    finally:
        left = benchlib.remove_workdir(workdir)
        if left:
            benchlib.warn(f"mounts left under {workdir}: {left}")


if __name__ == "__main__":
    main()
