# SPDX-License-Identifier: LGPL-2.1-or-later
"""machinectl import-raw/-tar/-fs and export-raw/-tar: between local files and machined's pool,
compressed by suffix (.gz, .xz, .zst) or not. A failed import leaves nothing in the pool."""

import fcntl
import os
import subprocess

import pytest

from image_fixtures import MiB, ROOT_X86_64, make_image
from test_machinectl import Ctl, describe, mctl_bin  # noqa: F401 (fixture)


@pytest.fixture
def ctl(mctl_bin, machined):  # noqa: F811
    return Ctl(machined)


def pool_entries(ctl):
    return sorted(os.listdir(ctl.machined.pool))


@pytest.mark.parametrize("suffix", ["", ".gz", ".xz", ".zst"])
def test_raw_round_trip(ctl, busybox_tree, scratch, suffix):
    img = make_image(ctl.machined.pool / "orig.raw", [{"type": ROOT_X86_64, "size": 8 * MiB, "tree": busybox_tree}])
    out = scratch / f"orig.raw{suffix}"
    ctl.ok("export-raw", "orig", out)
    if suffix:
        assert out.stat().st_size < img.stat().st_size / 2
    ctl.ok("import-raw", out, "copy")
    assert (ctl.machined.pool / "copy.raw").read_bytes() == img.read_bytes()
    # The name defaults to the file's, without its suffixes.
    (ctl.machined.pool / "orig.raw").unlink()
    ctl.ok("import-raw", out)
    assert (ctl.machined.pool / "orig.raw").read_bytes() == img.read_bytes()
    assert "copy" in ctl.ok("list-images")


@pytest.mark.parametrize("suffix", [".tar", ".tar.gz", ".tar.xz", ".tar.zst"])
def test_tar_round_trip(ctl, busybox_tree, scratch, suffix):
    ctl.ok("import-fs", busybox_tree, "tree")
    src = ctl.machined.pool / "tree"
    assert (src / "usr" / "bin" / "berth-test-helper").is_file()
    out = scratch / f"tree{suffix}"
    ctl.ok("export-tar", "tree", out)
    ctl.ok("import-tar", out, "back")
    diff = subprocess.run(["diff", "-r", "--no-dereference", str(src), str(ctl.machined.pool / "back")],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert diff.returncode == 0, diff.stdout


def test_import_errors_leave_nothing(ctl, scratch):
    bad = scratch / "bad.raw.xz"
    bad.write_bytes(b"\xfd7zXZ\0" + os.urandom(1000))
    before = pool_entries(ctl)
    cp = ctl.run("import-raw", bad, "bad")
    assert cp.returncode == 1 and len(cp.stderr.strip().splitlines()) == 1 and "corrupt" in cp.stderr, describe(cp)
    cp = ctl.run("import-tar", bad, "bad2")
    assert cp.returncode == 1, describe(cp)
    assert pool_entries(ctl) == before
    cp = ctl.run("import-raw", scratch / "missing.raw")
    assert cp.returncode == 1 and "missing.raw" in cp.stderr, describe(cp)


def test_import_refuses_existing_and_export_locked(ctl, scratch):
    (ctl.machined.pool / "x.raw").write_bytes(b"\0" * 4096)
    f = scratch / "x.raw"
    f.write_bytes(b"\1" * 4096)
    cp = ctl.run("import-raw", f)
    assert cp.returncode == 1 and "already exists" in cp.stderr, describe(cp)
    with open(ctl.machined.pool / "x.raw", "rb") as locked:
        fcntl.flock(locked, fcntl.LOCK_EX)
        cp = ctl.run("export-raw", "x", scratch / "out.raw")
        assert cp.returncode == 1 and "in use" in cp.stderr, describe(cp)
    assert not (scratch / "out.raw").exists()


# ---------------------------------------------------------------------------------------------
# clone, rename, read-only, remove, set-limit, clean: machined's pool operations

def test_pool_operations(ctl, busybox_tree):
    from image_fixtures import MiB, ROOT_X86_64, make_image
    pool = ctl.machined.pool
    subprocess.run(["cp", "-a", str(busybox_tree), str(pool / "a")], check=True)
    make_image(pool / "r.raw", [{"type": ROOT_X86_64, "size": 8 * MiB, "tree": busybox_tree}])

    ctl.ok("clone", "a", "b")
    assert (pool / "b" / "usr" / "bin" / "berth-test-helper").is_file()
    ctl.ok("--read-only", "clone", "r", "r2")
    assert (pool / "r2.raw").read_bytes() == (pool / "r.raw").read_bytes()
    rows = {l.split()[0]: l.split()[1:3] for l in ctl.ok("list-images").splitlines()[1:] if l.strip() and "listed" not in l}
    assert rows["r2"] == ["raw", "yes"] and rows["b"] == ["directory", "no"], rows
    cp = ctl.run("remove", "r2")
    assert cp.returncode == 1 and "read-only" in cp.stderr, describe(cp)
    ctl.ok("read-only", "r2", "no")
    ctl.ok("rename", "b", "c")
    assert (pool / "c").is_dir() and not (pool / "b").exists()
    cp = ctl.run("rename", "c", "a")
    assert cp.returncode == 1 and "exists" in cp.stderr, describe(cp)
    ctl.ok("remove", "r2", "c")
    assert not (pool / "r2.raw").exists() and not (pool / "c").exists()

    # A machine holding the image's lock (spawn -i does) makes it busy.
    with open(pool / "r.raw", "rb") as f:
        fcntl.flock(f, fcntl.LOCK_SH)
        cp = ctl.run("remove", "r")
        assert cp.returncode == 1 and "in use" in cp.stderr, describe(cp)
    cp = ctl.run("set-limit", "a", "1G")
    assert cp.returncode == 1 and len(cp.stderr.strip().splitlines()) == 1, describe(cp)
    cp = ctl.run("set-limit", "1G")
    assert cp.returncode == 1, describe(cp)

    (pool / ".hidden").mkdir()
    out = ctl.ok("clean")
    assert "Removed image '.hidden'" in out and (pool / "a").is_dir() and not (pool / ".hidden").exists()


def test_pool_operations_with_systemd_machinectl(ctl, busybox_tree):
    from machined_fixtures import machinectl
    pool = ctl.machined.pool
    subprocess.run(["cp", "-a", str(busybox_tree), str(pool / "a")], check=True)
    bus = ctl.machined.bus
    for args in (["clone", "a", "b"], ["rename", "b", "c"], ["read-only", "c"], ["read-only", "c", "false"],
                 ["remove", "c"]):
        cp = machinectl(bus, *args)
        assert cp.returncode == 0, (args, cp.stdout, cp.stderr)
    assert sorted(os.listdir(pool)) == ["a"]
    cp = machinectl(bus, "image-status", "a")
    assert cp.returncode == 0 and "directory" in cp.stdout, cp.stdout


def test_varlink_machine_image(ctl, busybox_tree):
    from machined_fixtures import VarlinkClient
    pool = ctl.machined.pool
    subprocess.run(["cp", "-a", str(busybox_tree), str(pool / "a")], check=True)
    (pool / ".hid").mkdir()
    vl = VarlinkClient(ctl.machined.runtime_dir / "io.systemd.MachineImage")
    try:
        [r] = vl.call("io.systemd.MachineImage.List", {"name": "a", "acquireMetadata": "yes"})
        p = r["parameters"]
        assert p["name"] == "a" and p["type"] == "directory" and p["readOnly"] is False, r
        assert "ID=busybox-test" in p["OSRelease"], p
        names = [x["parameters"]["name"] for x in vl.call("io.systemd.MachineImage.List", {}, more=True)]
        assert "a" in names and ".host" in names
        [r] = vl.call("io.systemd.MachineImage.List", {"name": "nope"})
        assert r["error"] == "io.systemd.MachineImage.NoSuchImage", r
        [r] = vl.call("io.systemd.MachineImage.Clone", {"name": "a", "newName": "b"})
        assert "error" not in r and (pool / "b").is_dir(), r
        [r] = vl.call("io.systemd.MachineImage.Update", {"name": "b", "newName": "c", "readOnly": True})
        assert "error" not in r and (pool / "c").is_dir() and not (pool / "b").exists(), r
        [r] = vl.call("io.systemd.MachineImage.List", {"name": "c"})
        assert r["parameters"]["readOnly"] is True, r
        [r] = vl.call("io.systemd.MachineImage.Update", {"name": "c", "readOnly": False})
        [r] = vl.call("io.systemd.MachineImage.Remove", {"name": "c"})
        assert "error" not in r and not (pool / "c").exists(), r
        [r] = vl.call("io.systemd.MachineImage.SetPoolLimit", {"limit": 1 << 30})
        assert r["error"] == "io.systemd.MachineImage.NotSupported", r
        replies = vl.call("io.systemd.MachineImage.CleanPool", {"mode": "hidden"}, more=True)
        assert [x["parameters"]["name"] for x in replies] == [".hid"], replies
        assert sorted(os.listdir(pool)) == ["a"]
    finally:
        vl.close()
