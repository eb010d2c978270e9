# SPDX-License-Identifier: LGPL-2.1-or-later
"""API file systems (/proc, /sys, /dev, /run, /tmp) and custom mounts (--bind, --bind-ro, --tmpfs,
--read-only) as seen from inside the container."""

import os
import subprocess
import tempfile

import pytest

from conftest import (DEFAULT_TIMEOUT, describe, find_mount, mount_options, mounts_under,
                      out_lines, parse_json_line, report, run_helper, remove_tree)


def stat_in(tree, path, console="pipe", opts=()):
    cp = run_helper(tree, "stat", path, console=console, opts=opts)
    if cp.returncode != 0:
        return None
    return parse_json_line(cp.stdout)


def assert_erofs(cp):
    assert cp.returncode == 2 and "EROFS" in cp.stderr, describe(cp)


# --- /proc and /sys ---------------------------------------------------------------------------

def test_proc_mounted(tree):
    mounts = report(tree)["mounts"]
    m = find_mount(mounts, "/proc")
    assert m and m["fstype"] == "proc", mounts


def test_proc_sys_read_only(tree):
    mounts = report(tree)["mounts"]
    m = find_mount(mounts, "/proc/sys")
    assert m is not None, "no mount on /proc/sys"
    assert "ro" in mount_options(m), m
    # New names in /proc/sys fail with ENOENT before the read-only check, so open an existing file.
    # With empty TEXT the helper only opens (O_WRONLY|O_TRUNC) and closes: no write(2) reaches the
    # sysctl even if the mount were writable, and the UTS namespace is the container's anyway.
    assert_erofs(run_helper(tree, "write", "/proc/sys/kernel/hostname", ""))


def test_proc_sys_net_writable_with_private_network(tree):
    # The network sysctls belong to the container's own network namespace; the rest of /proc/sys
    # stays read-only. An empty write only opens the file (see above).
    opts = ["--private-network"]
    m = find_mount(report(tree, opts=opts)["mounts"], "/proc/sys/net")
    assert m is not None and "rw" in mount_options(m), m
    cp = run_helper(tree, "write", "/proc/sys/net/ipv4/ip_forward", "", opts=opts)
    assert cp.returncode == 0, describe(cp)
    assert_erofs(run_helper(tree, "write", "/proc/sys/kernel/hostname", "", opts=opts))


def test_proc_sysrq_trigger_read_only(tree):
    if not os.path.exists("/proc/sysrq-trigger"):
        return  # kernel without CONFIG_MAGIC_SYSRQ: nothing to protect
    m = find_mount(report(tree)["mounts"], "/proc/sysrq-trigger")
    assert m is not None and "ro" in mount_options(m), m
    # An empty write is a no-op for sysrq even if the file were writable; open() must fail first.
    assert_erofs(run_helper(tree, "write", "/proc/sysrq-trigger", ""))


@pytest.mark.parametrize("name", ["kcore", "keys", "timer_list", "kmsg"])
def test_proc_files_masked(tree, name):
    path = f"/proc/{name}"
    if not os.path.exists(path):
        # Not in this kernel: then it must not appear inside either.
        assert stat_in(tree, path) is None
        return
    st = stat_in(tree, path)
    # Masked = inaccessible, replaced by /dev/null, or a mode-000 placeholder. The originals are
    # regular files with mode 0400/0444.
    masked = st is None or st["type"] != "reg" or (st["mode"] & 0o777) == 0
    assert masked, f"{path} not masked: {st}"
    if name in ("keys", "timer_list"):
        cp = run_helper(tree, "cat", path)
        assert cp.returncode != 0 or cp.stdout == "", f"{path} has content: {cp.stdout[:200]!r}"


def test_sys_read_only_sysfs(tree):
    m = find_mount(report(tree)["mounts"], "/sys")
    assert m is not None and m["fstype"] == "sysfs", m
    assert "ro" in mount_options(m), m
    assert_erofs(run_helper(tree, "mkdir", "/sys/berth-probe"))
    assert_erofs(run_helper(tree, "write", "/sys/berth-probe", ""))


# --- /dev ------------------------------------------------------------------------------------------

DEV_BASE = {"full", "null", "ptmx", "random", "tty", "urandom", "zero", "pts", "shm", "mqueue",
            "fd", "stdin", "stdout", "stderr"}
# Where the host has them, /dev/net/tun and /dev/fuse too (issue 10).
DEV_BASE |= {n for n, p in (("net", "/dev/net/tun"), ("fuse", "/dev/fuse")) if os.path.exists(p)}


def test_dev_contents_default_console(tree):
    # No terminal here, so the default console mode is read-only: /dev/console exists.
    cp = run_helper(tree, "ls", "/dev", console=None)
    assert cp.returncode == 0, describe(cp)
    assert set(out_lines(cp.stdout)) == DEV_BASE | {"console"}


def test_dev_contents_pipe_console(tree):
    cp = run_helper(tree, "ls", "/dev", console="pipe")
    assert cp.returncode == 0, describe(cp)
    assert set(out_lines(cp.stdout)) == DEV_BASE


@pytest.mark.parametrize("name,major,minor", [
    ("null", 1, 3), ("zero", 1, 5), ("full", 1, 7), ("random", 1, 8), ("urandom", 1, 9), ("tty", 5, 0)])
def test_dev_nodes(tree, name, major, minor):
    st = stat_in(tree, f"/dev/{name}")
    assert st is not None, f"/dev/{name} missing"
    assert (st["type"], st["major"], st["minor"]) == ("chr", major, minor), st


@pytest.mark.parametrize("name,target", [
    ("ptmx", "pts/ptmx"), ("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
    ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")])
def test_dev_symlinks(tree, name, target):
    st = stat_in(tree, f"/dev/{name}")
    assert st is not None and st["type"] == "lnk" and st["target"] == target, st


def test_dev_console_is_a_pty(tree):
    st = stat_in(tree, "/dev/console", console="read-only")
    if st is not None and st["type"] == "lnk":
        # A symlink to the pty (e.g. pts/0) is fine too; the node it points at must be the pty.
        target = st["target"] if st["target"].startswith("/") else "/dev/" + st["target"]
        st = stat_in(tree, target, console="read-only")
    assert st is not None and st["type"] == "chr", st
    assert 136 <= st["major"] <= 143, f"/dev/console is not a pty slave: {st}"


def test_dev_filesystems(tree):
    mounts = report(tree)["mounts"]
    for path, fstype in (("/dev", "tmpfs"), ("/dev/pts", "devpts"), ("/dev/shm", "tmpfs"),
                         ("/dev/mqueue", "mqueue")):
        m = find_mount(mounts, path)
        assert m is not None and m["fstype"] == fstype, (path, m)


def test_dev_null_works(tree):
    cp = run_helper(tree, "write", "/dev/null", "x")
    assert cp.returncode == 0, describe(cp)
    cp = run_helper(tree, "write", "/dev/full", "x")
    assert cp.returncode == 2 and "ENOSPC" in cp.stderr, describe(cp)


# --- /run, /tmp ------------------------------------------------------------------------------------

def test_run_and_tmp_are_tmpfs(tree):
    mounts = report(tree)["mounts"]
    for path in ("/run", "/tmp"):
        m = find_mount(mounts, path)
        assert m is not None and m["fstype"] == "tmpfs", (path, m)


def test_tmp_writes_do_not_reach_tree(tree_copy):
    cp = run_helper(tree_copy, "write", "/tmp/berth-probe", "x")
    assert cp.returncode == 0, describe(cp)
    cp = run_helper(tree_copy, "write", "/run/berth-probe", "x")
    assert cp.returncode == 0, describe(cp)
    assert not (tree_copy / "tmp" / "berth-probe").exists()
    assert not (tree_copy / "run" / "berth-probe").exists()


# --- root file system ------------------------------------------------------------------------------

def test_root_writable_by_default(tree_copy):
    cp = run_helper(tree_copy, "write", "/probe", "hello")
    assert cp.returncode == 0, describe(cp)
    assert (tree_copy / "probe").read_text() == "hello"


def test_read_only_root(tree_copy):
    cp = run_helper(tree_copy, "write", "/probe", "x", opts=["--read-only"])
    assert_erofs(cp)
    assert not (tree_copy / "probe").exists()
    m = find_mount(report(tree_copy, opts=["--read-only"])["mounts"], "/")
    assert m is not None and "ro" in mount_options(m), m
    for path in ("/tmp/probe", "/run/probe"):
        cp = run_helper(tree_copy, "write", path, "x", opts=["--read-only"])
        assert cp.returncode == 0, describe(cp)


# --- --bind, --bind-ro, --tmpfs ---------------------------------------------------------------------

@pytest.fixture
def bind_src(scratch):
    (scratch / "hello").write_text("from host\n")
    return scratch


def test_bind_rw(tree_copy, bind_src):
    opts = [f"--bind={bind_src}:/mnt/b"]
    cp = run_helper(tree_copy, "cat", "/mnt/b/hello", opts=opts)
    assert cp.returncode == 0 and cp.stdout == "from host\n", describe(cp)
    cp = run_helper(tree_copy, "write", "/mnt/b/new", "from container", opts=opts)
    assert cp.returncode == 0, describe(cp)
    assert (bind_src / "new").read_text() == "from container"
    # The mount point was created in the tree, nothing was written there.
    assert (tree_copy / "mnt" / "b").is_dir()
    assert not (tree_copy / "mnt" / "b" / "new").exists()


def test_bind_same_path(tree_copy, bind_src):
    cp = run_helper(tree_copy, "write", f"{bind_src}/same", "x", opts=[f"--bind={bind_src}"])
    assert cp.returncode == 0, describe(cp)
    assert (bind_src / "same").read_text() == "x"


def test_bind_ro(tree_copy, bind_src):
    opts = [f"--bind-ro={bind_src}:/mnt/r"]
    cp = run_helper(tree_copy, "cat", "/mnt/r/hello", opts=opts)
    assert cp.returncode == 0 and cp.stdout == "from host\n", describe(cp)
    assert_erofs(run_helper(tree_copy, "write", "/mnt/r/new", "x", opts=opts))
    assert not (bind_src / "new").exists()


def test_bind_source_relative_to_tree(tree_copy):
    (tree_copy / "srv").mkdir()
    (tree_copy / "srv" / "data").write_text("in tree\n")
    cp = run_helper(tree_copy, "cat", "/mnt/p/data", opts=["--bind=+/srv:/mnt/p"])
    assert cp.returncode == 0 and cp.stdout == "in tree\n", describe(cp)


@pytest.fixture
def src_with_submount():
    """A host directory (outside the session root) with a tmpfs mounted on its subdirectory."""
    d = tempfile.mkdtemp(prefix="berth-rbind-")
    os.chmod(d, 0o755)
    sub = os.path.join(d, "sub")
    os.mkdir(sub)
    try:
        subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=0755", "berth-rbind", sub], check=True,
                       timeout=DEFAULT_TIMEOUT)
        with open(os.path.join(sub, "marker"), "w") as f:
            f.write("submount\n")
        yield d
    finally:
        for m in sorted(mounts_under(d), key=lambda m: -len(m["mount_point"])):
            subprocess.run(["umount", "-l", m["mount_point"]], timeout=DEFAULT_TIMEOUT)
        remove_tree(d)


def test_bind_is_recursive_by_default(tree_copy, src_with_submount):
    cp = run_helper(tree_copy, "cat", "/mnt/rb/sub/marker", opts=[f"--bind={src_with_submount}:/mnt/rb"])
    assert cp.returncode == 0 and cp.stdout == "submount\n", describe(cp)
    cp = run_helper(tree_copy, "cat", "/mnt/rb/sub/marker",
                    opts=[f"--bind={src_with_submount}:/mnt/rb:rbind"])
    assert cp.returncode == 0 and cp.stdout == "submount\n", describe(cp)


def test_bind_norbind(tree_copy, src_with_submount):
    cp = run_helper(tree_copy, "ls", "/mnt/nb/sub", opts=[f"--bind={src_with_submount}:/mnt/nb:norbind"])
    assert cp.returncode == 0, describe(cp)
    assert out_lines(cp.stdout) == [], "norbind must not carry the submount along"


def test_tmpfs_default_mode(tree_copy):
    opts = ["--tmpfs=/mnt/t"]
    m = find_mount(report(tree_copy, opts=opts)["mounts"], "/mnt/t")
    assert m is not None and m["fstype"] == "tmpfs", m
    st = stat_in(tree_copy, "/mnt/t", opts=opts)
    assert st["type"] == "dir" and st["mode"] == 0o755, st
    cp = run_helper(tree_copy, "write", "/mnt/t/f", "x", opts=opts)
    assert cp.returncode == 0, describe(cp)
    assert not (tree_copy / "mnt" / "t" / "f").exists()


def test_tmpfs_with_options(tree_copy):
    st = stat_in(tree_copy, "/mnt/t", opts=["--tmpfs=/mnt/t:mode=0700"])
    assert st is not None and st["type"] == "dir" and st["mode"] == 0o700, st


def test_tmpfs_flag_words_are_mount_flags(tree_copy):
    # nosuid/noexec/rw are flags, not tmpfs data: the kernel refuses them as data (EINVAL).
    opts = ["--tmpfs=/var:rw,nosuid,noexec"]
    m = find_mount(report(tree_copy, opts=opts)["mounts"], "/var")
    assert m is not None and m["fstype"] == "tmpfs", m
    assert {"rw", "nosuid", "noexec", "nodev"} <= mount_options(m), m

    opts = ["--tmpfs=/mnt/t:ro,mode=0700,dev,suid"]
    m = find_mount(report(tree_copy, opts=opts)["mounts"], "/mnt/t")
    o = mount_options(m)
    assert "ro" in o and "nosuid" not in o and "nodev" not in o, m
    assert stat_in(tree_copy, "/mnt/t", opts=opts)["mode"] == 0o700


def test_tmpfs_over_existing_dir_hides_it(tree_copy):
    (tree_copy / "srv").mkdir()
    (tree_copy / "srv" / "hidden").write_text("x")
    cp = run_helper(tree_copy, "ls", "/srv", opts=["--tmpfs=/srv"])
    assert cp.returncode == 0 and out_lines(cp.stdout) == [], describe(cp)
    assert (tree_copy / "srv" / "hidden").exists()


def test_bind_single_file(tree_copy, scratch):
    f = scratch / "conf"
    f.write_text("file bind\n")
    cp = run_helper(tree_copy, "cat", "/etc/berth-bound", opts=[f"--bind-ro={f}:/etc/berth-bound"])
    assert cp.returncode == 0 and cp.stdout == "file bind\n", describe(cp)
