# SPDX-License-Identifier: LGPL-2.1-or-later
"""Paths inside the tree are untrusted: symlinks in the tree must never make spawn create, write or
mount anything outside it. Each test points a symlink in a fresh tree copy at a host directory that
the test created, and checks afterwards that the directory is bit-for-bit untouched.

Either outcome is acceptable for spawn itself (resolve the symlink inside the tree, or refuse to
start); only escaping is not."""

import os
import shutil

import pytest

from conftest import IN_HELPER, describe, mounts_under, no_leftovers, out_lines, run_spawn, snapshot


@pytest.fixture
def host_target(scratch):
    """A host directory outside the tree that looks like a plausible target, with a sentinel."""
    target = scratch / "host-target"
    target.mkdir(mode=0o755)
    (target / "sentinel").write_text("do not touch\n")
    return target


@pytest.fixture
def bind_src(scratch):
    src = scratch / "bind-src"
    src.mkdir(mode=0o755)
    (src / "from-bind-src").write_text("bound\n")
    return src


def replace_with_symlink(tree, rel, target):
    path = tree / rel
    if path.is_dir() and not path.is_symlink():
        # Keep the tree's files reachable through the target so that spawn might get far.
        for entry in os.listdir(path):
            if not os.path.lexists(target / entry):
                os.rename(path / entry, target / entry)
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.unlink(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(target, path)


def check_untouched(tree, target, before):
    assert snapshot(target) == before, f"{target} was modified through a symlink in the tree"
    assert not mounts_under(target), f"something is mounted on the host target: {mounts_under(target)}"
    no_leftovers(tree)
    no_leftovers(target)


@pytest.mark.parametrize("top", ["etc", "run", "tmp", "dev", "proc", "sys", "root"])
def test_top_level_dir_symlink_to_host(tree_copy, host_target, top):
    replace_with_symlink(tree_copy, top, host_target)
    before = snapshot(host_target)
    run_spawn(["-D", tree_copy, "--console=read-only", IN_HELPER, "echo", "hi"])
    check_untouched(tree_copy, host_target, before)
    run_spawn(["-D", tree_copy, "--console=pipe", "-u", "tester", IN_HELPER, "echo", "hi"])
    check_untouched(tree_copy, host_target, before)


def test_etc_symlink_with_bind_into_etc(tree_copy, host_target, bind_src):
    replace_with_symlink(tree_copy, "etc", host_target)
    before = snapshot(host_target)
    cp = run_spawn(["-D", tree_copy, "--console=pipe", f"--bind={bind_src}:/etc/x", IN_HELPER,
                    "ls", "/etc/x"])
    check_untouched(tree_copy, host_target, before)
    if cp.returncode == 0:
        assert "from-bind-src" in out_lines(cp.stdout), describe(cp)


@pytest.mark.parametrize("link_kind", ["absolute", "relative-dotdot", "chained"])
@pytest.mark.parametrize("mount", ["bind", "bind-ro", "tmpfs"])
def test_mount_destination_through_symlink(tree_copy, host_target, bind_src, scratch, link_kind, mount):
    (tree_copy / "mnt").mkdir(exist_ok=True)
    evil = tree_copy / "mnt" / "evil"
    if link_kind == "absolute":
        os.symlink(host_target, evil)
    elif link_kind == "relative-dotdot":
        os.symlink("../" * 30 + str(host_target).lstrip("/"), evil)
    else:
        os.symlink(host_target, tree_copy / "mnt" / "hop")
        os.symlink("/mnt/hop", evil)
    before = snapshot(host_target)

    opt = {"bind": f"--bind={bind_src}:/mnt/evil/x",
           "bind-ro": f"--bind-ro={bind_src}:/mnt/evil/x",
           "tmpfs": "--tmpfs=/mnt/evil/x"}[mount]
    cp = run_spawn(["-D", tree_copy, "--console=pipe", opt, IN_HELPER, "ls", "/mnt/evil/x"])
    check_untouched(tree_copy, host_target, before)
    if cp.returncode == 0:
        # It must have landed inside the tree, where the symlink points when resolved in the root.
        names = out_lines(cp.stdout)
        if mount == "tmpfs":
            assert names == [], describe(cp)
        else:
            assert names == ["from-bind-src"], describe(cp)


def test_mount_destination_is_symlink(tree_copy, host_target, bind_src):
    (tree_copy / "mnt").mkdir(exist_ok=True)
    os.symlink(host_target, tree_copy / "mnt" / "link")
    before = snapshot(host_target)
    cp = run_spawn(["-D", tree_copy, "--console=pipe", f"--bind={bind_src}:/mnt/link", IN_HELPER,
                    "ls", "/mnt/link"])
    check_untouched(tree_copy, host_target, before)
    if cp.returncode == 0:
        assert out_lines(cp.stdout) == ["from-bind-src"], describe(cp)


def test_bind_source_plus_symlink_stays_in_tree(tree_copy, host_target):
    # "+/link" names a path in the tree; a symlink there must not expose the host directory.
    os.symlink(host_target, tree_copy / "srvlink")
    cp = run_spawn(["-D", tree_copy, "--console=pipe", "--bind=+/srvlink:/mnt/p", IN_HELPER, "ls", "/mnt/p"])
    no_leftovers(tree_copy)
    if cp.returncode == 0:
        assert "sentinel" not in out_lines(cp.stdout), "host directory exposed through a +source symlink"


def test_read_only_tree_with_symlinked_run(tree_copy, host_target):
    replace_with_symlink(tree_copy, "run", host_target)
    before = snapshot(host_target)
    run_spawn(["-D", tree_copy, "--console=pipe", "--read-only", IN_HELPER, "echo", "hi"])
    check_untouched(tree_copy, host_target, before)
