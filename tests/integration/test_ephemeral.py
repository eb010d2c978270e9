# SPDX-License-Identifier: LGPL-2.1-or-later
"""Throwaway and layered roots: -x/--ephemeral on trees and images, --volatile=, --overlay=,
--overlay-ro= and --template=. The tree (or image) given must come out exactly as it went in,
and nothing may stay mounted or attached, also after SIGKILL."""

import os
import signal
import subprocess
import time

import pytest

from conftest import TREE_NAME, describe, nonempty_lines, run_spawn, snapshot
from image_fixtures import HOME, MiB, ROOT_X86_64, host_image_state, make_image, wait_host_state


@pytest.fixture
def clean_host():
    before = host_image_state()
    yield before
    assert wait_host_state(before) == before


def sh(args, script, **kw):
    return run_spawn([*args, "--console=pipe", "--register=no", "/bin/sh", "-c", script], **kw)


def test_ephemeral_tree_unchanged(tree_copy, clean_host):
    before = snapshot(tree_copy)
    cp = sh(["-x", "-D", tree_copy],
            "echo new > /newfile && rm /etc/passwd && chmod 700 /bin && cat /newfile && "
            "grep ' / ' /proc/self/mountinfo && hostname")
    assert cp.returncode == 0, describe(cp)
    assert "new" in cp.stdout and " overlay " in cp.stdout
    # As nspawn: the machine name gets a random suffix so that runs of one tree can overlap.
    assert cp.stdout.strip().splitlines()[-1].startswith(f"{TREE_NAME}-")
    assert snapshot(tree_copy) == before


def test_ephemeral_two_at_once(tree, procs, clean_host):
    a, _ = procs.start(["-x", "-D", tree, "--console=pipe", "--register=no", "/bin/sleep", "2"])
    cp = sh(["-x", "-D", tree], "true")
    assert cp.returncode == 0, describe(cp)
    assert a.wait(timeout=30) == 0


def test_ephemeral_image_unchanged(tree, scratch, clean_host):
    img = make_image(scratch / "eph.raw", [{"type": ROOT_X86_64, "size": 12 * MiB, "tree": tree}])
    data = img.read_bytes()
    cp = sh(["-x", "-i", img], "echo new > /newfile && cat /newfile")
    assert cp.returncode == 0 and "new" in cp.stdout, describe(cp)
    assert img.read_bytes() == data
    # The copy was anonymous: nothing next to the image.
    assert sorted(os.listdir(scratch)) == ["eph.raw"]


def test_ephemeral_sigkill_leaves_nothing(tree_copy, procs, clean_host):
    before = snapshot(tree_copy)
    p, out = procs.start(["-x", "-D", tree_copy, "--console=pipe", "--register=no", "/bin/sh", "-c",
                          "echo x > /junk; echo started; sleep 60"])
    out.expect("started", timeout=15)
    os.kill(p.pid, signal.SIGKILL)
    p.wait(timeout=10)
    assert snapshot(tree_copy) == before


@pytest.mark.parametrize("mode,script,want", [
    ("state", "touch /var/x && echo VARW; touch /x 2>/dev/null || echo ROOTRO; grep ' /var ' /proc/self/mountinfo",
     ["VARW", "ROOTRO", "tmpfs"]),
    ("overlay", "touch /x && echo ROOTW; grep ' / ' /proc/self/mountinfo", ["ROOTW", "overlay"]),
])
def test_volatile(tree_copy, clean_host, mode, script, want):
    before = snapshot(tree_copy)
    cp = sh(["-D", tree_copy, f"--volatile={mode}"], script)
    assert cp.returncode == 0, describe(cp)
    for w in want:
        assert w in cp.stdout, describe(cp)
    assert snapshot(tree_copy) == before


def test_volatile_yes(tree, clean_host):
    # A tmpfs root with only /usr of the tree: the helper lives in /usr/bin.
    for opt in ("--volatile=yes", "--volatile"):  # alone it means yes, as with nspawn
        cp = run_spawn(["-D", tree, opt, "--console=pipe", "--register=no",
                        "/usr/bin/berth-test-helper", "exit", "0"])
        assert cp.returncode == 0, describe(cp)
        # The root is a tmpfs: nothing of the tree but /usr.
        cp = run_spawn(["-D", tree, opt, "--console=pipe", "--register=no", "/usr/bin/berth-test-helper", "ls", "/"])
        assert cp.returncode == 0 and "bin" not in cp.stdout.split(), describe(cp)


def test_overlay_rw_and_ro(tree, scratch, clean_host):
    for d in ("l1", "l2", "up"):
        (scratch / d).mkdir()
    (scratch / "l1" / "a").write_text("l1\n")
    (scratch / "l2" / "a").write_text("l2\n")
    (scratch / "l2" / "b").write_text("l2b\n")
    cp = sh(["-D", tree, f"--overlay={scratch}/l1:{scratch}/l2:{scratch}/up:/mnt"],
            "cat /mnt/a /mnt/b; echo c > /mnt/c")
    assert cp.returncode == 0, describe(cp)
    # The left-most layer is the lowest: l2 shadows l1.
    assert cp.stdout.split() == ["l2", "l2b"]
    assert (scratch / "up" / "c").read_text() == "c\n"
    assert not (scratch / "l2" / "c").exists()
    cp = sh(["-D", tree, f"--overlay-ro={scratch}/l1:{scratch}/up:/mnt"], "cat /mnt/c; touch /mnt/d")
    assert cp.returncode != 0 and "c" in cp.stdout and "Read-only" in cp.stderr, describe(cp)
    # An empty upper layer is a tmpfs: the lower one stays as it is.
    cp = sh(["-D", tree, f"--overlay={scratch}/l1::/mnt"], "echo z > /mnt/z && cat /mnt/z")
    assert cp.returncode == 0 and "z" in cp.stdout, describe(cp)
    assert sorted(os.listdir(scratch / "l1")) == ["a"]


@pytest.mark.parametrize("spec", ["/only", "relative:/mnt", "/a:/b:relative"])
def test_overlay_bad_spec(tree, spec):
    cp = sh(["-D", tree, f"--overlay={spec}"], "true")
    assert cp.returncode == 1 and len(nonempty_lines(cp.stderr)) == 1, describe(cp)


def test_template(tree, scratch, clean_host):
    dest = scratch / "fromtemplate"
    cp = sh(["-D", dest, f"--template={tree}"], "echo kept > /kept")
    assert cp.returncode == 0, describe(cp)
    assert (dest / "kept").read_text() == "kept\n"
    assert (dest / "usr" / "bin" / "berth-test-helper").exists()
    # A second run keeps what is there.
    cp = sh(["-D", dest, f"--template={tree}"], "cat /kept")
    assert cp.returncode == 0 and "kept" in cp.stdout, describe(cp)


@pytest.mark.parametrize("args,want", [
    (["-x", "--volatile=state"], "cannot be combined"),
    (["-x", "--template=/"], "cannot be combined"),
    (["--volatile=sometimes"], "Unknown volatile mode"),
])
def test_bad_combinations(tree, args, want):
    cp = sh(["-D", tree, *args], "true")
    assert cp.returncode == 1, describe(cp)
    lines = nonempty_lines(cp.stderr)
    assert len(lines) == 1 and want in lines[0], describe(cp)
