# SPDX-License-Identifier: LGPL-2.1-or-later
"""spawn -i: disk images through loop devices, dissected by the Discoverable Partitions
Specification, on a host without udev. Every run must leave no loop device, partition or mount
behind, also when it fails or is SIGKILLed."""

import fcntl
import os
import signal
import subprocess
import time

import pytest

from boot_fixtures import Booted, bookworm_cache, notify  # noqa: F401 (fixtures)
from conftest import (_decode, base_env, describe, nonempty_lines, reap_zombie_children, run_spawn,
                      spawn_cmd)
from image_fixtures import (FLAG_NO_AUTO, FLAG_READ_ONLY, GENERIC, HOME, MiB, ROOT_X86_64,
                            ROOT_X86_64_VERITY, SRV, USR_X86_64, host_image_state, make_bare, make_image,
                            wait_host_state)


@pytest.fixture
def images(scratch, tree):
    """A directory for images, and the trees that go into them."""
    home = scratch / "hometree"
    (home / "alice").mkdir(parents=True)
    (home / "alice" / "hello").write_text("home partition\n")
    srv = scratch / "srvtree"
    srv.mkdir()
    (srv / "marker").write_text("srv partition\n")
    return {"dir": scratch, "tree": tree, "home": home, "srv": srv}


@pytest.fixture
def clean_host():
    """Asserts after the test that the host has the loop devices, partitions and mounts it had."""
    before = host_image_state()
    yield before
    reap_zombie_children()
    assert wait_host_state(before) == before


def sh(image, script, *opts, **kw):
    return run_spawn(["-i", image, "--console=pipe", "--register=no", *opts, "/bin/sh", "-c", script], **kw)


def mountinfo_of(out):
    """{mount point: (options, fstype, super options)} from a container's /proc/self/mountinfo."""
    res = {}
    for line in out.splitlines():
        f = line.split(" ")
        if len(f) < 10 or "-" not in f:
            continue
        sep = f.index("-", 6)
        res[f[4]] = (set(f[5].split(",")), f[sep + 1], set(f[sep + 3].split(",")))
    return res


def dps_image(images, name="dps.raw", root_attrs=(), srv_attrs=()):
    return make_image(images["dir"] / name, [
        {"type": ROOT_X86_64, "size": 12 * MiB, "tree": images["tree"], "name": "root", "attrs": root_attrs},
        {"type": HOME, "size": 4 * MiB, "tree": images["home"], "name": "home"},
        {"type": SRV, "size": 4 * MiB, "tree": images["srv"], "name": "srv", "attrs": srv_attrs},
    ])


def test_dps_root_home_srv(images, clean_host):
    img = dps_image(images)
    cp = sh(img, "cat /home/alice/hello /srv/marker; cat /proc/self/mountinfo; echo x > /written")
    assert cp.returncode == 0, describe(cp)
    assert "home partition" in cp.stdout and "srv partition" in cp.stdout
    mi = mountinfo_of(cp.stdout)
    for where in ("/", "/home", "/srv"):
        opts, fstype, _ = mi[where]
        assert fstype == "ext4" and "rw" in opts and "nodev" in opts, (where, mi[where])
    # Written to the image: a second run sees it.
    cp = sh(img, "cat /written")
    assert cp.returncode == 0 and cp.stdout.strip() == "x", describe(cp)


def test_read_only_option(images, clean_host):
    img = dps_image(images)
    before = img.read_bytes()
    cp = sh(img, "cat /proc/self/mountinfo; touch /x 2>/dev/null && echo WROTE; true", "--read-only")
    assert cp.returncode == 0, describe(cp)
    assert "WROTE" not in cp.stdout
    mi = mountinfo_of(cp.stdout)
    for where in ("/", "/home"):
        opts, _, sopts = mi[where]
        assert "ro" in opts and "nodev" in opts and "norecovery" in sopts, (where, mi[where])
    assert img.read_bytes() == before


def test_read_only_flag_and_no_auto(images, clean_host):
    img = dps_image(images, root_attrs=(FLAG_READ_ONLY,), srv_attrs=(FLAG_NO_AUTO,))
    cp = sh(img, "cat /proc/self/mountinfo; cat /srv/marker 2>/dev/null || echo NO-SRV")
    assert cp.returncode == 0, describe(cp)
    mi = mountinfo_of(cp.stdout)
    assert "ro" in mi["/"][0]
    assert "/srv" not in mi and "NO-SRV" in cp.stdout
    assert "rw" in mi["/home"][0]


def test_newest_root_by_label(images, scratch, clean_host):
    old = scratch / "old"
    (old / "etc").mkdir(parents=True)
    img = make_image(images["dir"] / "versions.raw", [
        {"type": ROOT_X86_64, "size": 12 * MiB, "tree": images["tree"], "name": "os_10"},
        {"type": ROOT_X86_64, "size": 4 * MiB, "tree": old, "name": "os_9"},
    ])
    cp = sh(img, "cat /etc/os-release >/dev/null && echo NEWEST")
    assert cp.returncode == 0 and "NEWEST" in cp.stdout, describe(cp)


def test_fsck_runs_when_errors_recorded(images, clean_host):
    """A clean ext4 is mounted as it is; one with errors recorded is checked (and repaired) first."""
    img = make_image(images["dir"] / "fsck.raw", [{"type": ROOT_X86_64, "size": 12 * MiB, "tree": images["tree"],
                                                  "mkfs_opts": ("-O", "^metadata_csum")}])
    state_at = MiB + 1024 + 0x3a  # s_state of the root file system's superblock
    with open(img, "r+b") as f:
        f.seek(state_at)
        f.write(bytes([3, 0]))  # valid, errors detected
    cp = sh(img, "true")
    assert cp.returncode == 0, describe(cp)
    with open(img, "rb") as f:
        f.seek(state_at)
        assert f.read(2)[0] & 2 == 0, "fsck did not run: the error flag is still set"


def test_generic_partition_and_mbr(images, clean_host):
    gen = make_image(images["dir"] / "generic.raw", [{"type": GENERIC, "size": 12 * MiB, "tree": images["tree"]}])
    mbr = make_image(images["dir"] / "mbr.raw", [{"type": "83", "size": 12 * MiB, "tree": images["tree"],
                                                  "bootable": True}], label="dos")
    for img in (gen, mbr):
        cp = sh(img, "grep ' / ' /proc/self/mountinfo")
        assert cp.returncode == 0 and " ext4 " in cp.stdout, describe(cp)


@pytest.mark.parametrize("fs", ["ext4", "squashfs"])
def test_bare_file_system(images, clean_host, fs):
    img = make_bare(images["dir"] / f"bare.{fs}", fs, images["tree"])
    cp = sh(img, "grep ' / ' /proc/self/mountinfo; test -x /usr/bin/berth-test-helper && echo OK")
    assert cp.returncode == 0 and f" {fs} " in cp.stdout and "OK" in cp.stdout, describe(cp)


def test_usr_only_image_gets_tmpfs_root(images, clean_host):
    img = make_image(images["dir"] / "usr.raw", [{"type": USR_X86_64, "size": 12 * MiB,
                                                 "tree": images["tree"] / "usr"}])
    cp = run_spawn(["-i", img, "--console=pipe", "--register=no", "/usr/bin/berth-test-helper", "exit", "0"])
    # The tree has no /bin/sh without /usr merged into it: that it starts at all is the point.
    assert "Image" not in cp.stderr, describe(cp)


def test_verity_partition_reported(images, clean_host):
    img = make_image(images["dir"] / "verity.raw", [
        {"type": ROOT_X86_64, "size": 12 * MiB, "tree": images["tree"]},
        {"type": ROOT_X86_64_VERITY, "size": 1 * MiB, "fs": None},
    ])
    cp = sh(img, "true", quiet=False)
    assert cp.returncode == 0, describe(cp)
    assert "present but not verified" in cp.stderr, describe(cp)


def test_bind_mount_into_image(images, scratch, clean_host):
    img = dps_image(images)
    (scratch / "bound").mkdir()
    (scratch / "bound" / "f").write_text("bound\n")
    cp = sh(img, "cat /mnt/f", f"--bind={scratch / 'bound'}:/mnt")
    assert cp.returncode == 0 and "bound" in cp.stdout, describe(cp)


def test_sigkill_leaves_nothing(images, procs, clean_host):
    img = dps_image(images)
    p, _ = procs.start(["-i", img, "--console=pipe", "--register=no", "/bin/sleep", "60"])
    deadline = time.monotonic() + 10
    while not any(img.name in b for _, b in host_image_state()["loops"]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert any(str(img) in b for _, b in host_image_state()["loops"])
    time.sleep(0.3)
    os.kill(p.pid, signal.SIGKILL)
    p.wait(timeout=10)


def test_lock_exclusive_and_shared(images, clean_host):
    img = dps_image(images)
    with open(img, "rb") as f:
        fcntl.flock(f, fcntl.LOCK_SH)
        cp = sh(img, "true")
        assert cp.returncode == 1 and "in use" in cp.stderr, describe(cp)
        cp = sh(img, "true", "--read-only")
        assert cp.returncode == 0, describe(cp)


def bad(images, kind):
    d = images["dir"]
    if kind == "truncated":
        img = dps_image(images, "t.raw")
        os.truncate(img, 10 * MiB)
        return img, "truncated"
    if kind == "zeroed-gpt-header":
        img = dps_image(images, "z.raw")
        with open(img, "r+b") as f:
            f.seek(512)
            f.write(b"\0" * 512)
        return img, "invalid GPT header"
    if kind == "two-generic":
        return make_image(d / "g.raw", [{"type": GENERIC, "size": 4 * MiB}, {"type": GENERIC, "size": 4 * MiB}]), \
            "more than one candidate root"
    if kind == "no-root":
        return make_image(d / "n.raw", [{"type": HOME, "size": 4 * MiB, "tree": images["home"]}]), "no root partition"
    if kind == "unknown-fs":
        return make_image(d / "u.raw", [{"type": ROOT_X86_64, "size": 4 * MiB, "fs": None}]), "unknown file system"
    if kind == "garbage":
        p = d / "garbage.raw"
        p.write_bytes(os.urandom(2 * MiB))
        return p, "no partition table and no known file system"
    if kind == "tiny-text":
        p = d / "notes.raw"
        p.write_text("not an image\n")
        return p, "too small to hold a partition table or a file system"
    if kind == "directory":
        return images["tree"], "is a directory"
    raise ValueError(kind)


@pytest.mark.parametrize("kind", ["truncated", "zeroed-gpt-header", "two-generic", "no-root", "unknown-fs",
                                  "garbage", "tiny-text", "directory"])
def test_bad_image(images, clean_host, kind):
    img, cause = bad(images, kind)
    cp = sh(img, "echo SHOULD-NOT-RUN")
    assert cp.returncode == 1, describe(cp)
    lines = nonempty_lines(cp.stderr)
    assert len(lines) == 1 and cause in lines[0], describe(cp)
    assert "SHOULD-NOT-RUN" not in cp.stdout
    # No lock left either: an exclusive flock succeeds right away.
    if img.is_file():
        with open(img, "rb") as f:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)


def test_image_and_directory_conflict(images, clean_host):
    img = dps_image(images)
    cp = run_spawn(["-i", img, "-D", images["tree"], "/bin/true"])
    assert cp.returncode == 1 and len(nonempty_lines(cp.stderr)) == 1, describe(cp)


@pytest.fixture(scope="session")
def debian_image(bookworm_cache, tmproot):  # noqa: F811
    img = tmproot / "debian-bookworm.raw"
    make_image(img, [{"type": ROOT_X86_64, "size": 800 * MiB, "tree": bookworm_cache, "name": "debian"}])
    return img


def test_debian_image_boots(debian_image, notify, procs, _resources, clean_host):  # noqa: F811
    log = _resources.mkdtemp("log") / "console.log"
    env = base_env(NOTIFY_SOCKET=notify.path)
    with open(log, "wb") as out:
        p = subprocess.Popen(spawn_cmd(["-i", debian_image, "-b", "--notify-ready=yes", "-M", "debimg"], quiet=False),
                             stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=env)
    procs.track(p)
    b = Booted(p, notify, log)
    b.wait_ready()
    assert b.run("systemctl", "is-system-running", "--wait").strip() == "running"
    assert "ext4" in b.run("findmnt", "-no", "FSTYPE", "/")
    p.send_signal(signal.SIGTERM)
    assert b.exit_code(60) == 0, _decode(log.read_bytes())[-2000:]


def test_block_device_used_as_is(images, clean_host):
    """A block device is not attached again; its partitions (none here: this kernel parses no
    tables) come from loop devices over their ranges, gone afterwards."""
    img = dps_image(images)
    dev = subprocess.run(["losetup", "-f", "--show", str(img)], check=True, stdout=subprocess.PIPE,
                         text=True).stdout.strip()
    try:
        mid = host_image_state()
        cp = sh(dev, "cat /srv/marker")
        assert cp.returncode == 0 and "srv partition" in cp.stdout, describe(cp)
        assert wait_host_state(mid) == mid
    finally:
        subprocess.run(["losetup", "-d", dev], check=True)


def test_registered_with_image_path(images, machined, procs, clean_host):
    img = dps_image(images)
    p = procs.track(subprocess.Popen(
        spawn_cmd(["-i", img, "-M", "imgreg", "--console=pipe", "--register=yes", "/bin/sh", "-c",
                   "echo up; sleep 60"]),
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=machined.bus.env()))
    assert p.stdout.readline().strip() == b"up"
    props = machined.properties(str(machined.manager().GetMachine("imgreg")), "org.freedesktop.machine1.Machine")
    assert props["RootDirectory"] == str(img)
    p.send_signal(signal.SIGTERM)
    p.wait(timeout=10)


def test_systemd_repart_image(images, clean_host):
    from image_fixtures import make_repart_image
    img = make_repart_image(images["dir"] / "repart.raw", {
        "10-root.conf": f"[Partition]\nType=root\nFormat=ext4\nCopyFiles={images['tree']}:/\nSizeMinBytes=16M\n",
        "20-home.conf": f"[Partition]\nType=home\nFormat=ext4\nCopyFiles={images['home']}:/\nSizeMinBytes=8M\n",
    })
    cp = sh(img, "cat /home/alice/hello; cat /proc/self/mountinfo")
    assert cp.returncode == 0 and "home partition" in cp.stdout, describe(cp)
    mi = mountinfo_of(cp.stdout)
    assert mi["/"][1] == "ext4" and mi["/home"][1] == "ext4", mi


def test_image_marked_read_only_runs_read_only(images, clean_host):
    img = dps_image(images)
    os.chmod(img, 0o444)
    data = img.read_bytes()
    cp = sh(img, "grep ' / ' /proc/self/mountinfo")
    assert cp.returncode == 0 and " ro," in cp.stdout, describe(cp)
    assert img.read_bytes() == data
    # Read-only users share the lock.
    with open(img, "rb") as f:
        fcntl.flock(f, fcntl.LOCK_SH)
        assert sh(img, "true").returncode == 0


# --- -U: each partition idmapped, or shifted once; never a chown of a read-only image ----------

def test_userns_partitions_idmapped(images, clean_host):
    img = dps_image(images, name="userns.raw")
    cp = sh(img, "cat /proc/self/uid_map; stat -c '%u %g' / /home/alice /srv/marker; cat /proc/self/mountinfo; "
                 "echo x > /written && echo x > /home/alice/w && echo wrote", "-U")
    assert cp.returncode == 0, describe(cp)
    lines = cp.stdout.split("\n")
    assert int(lines[0].split()[1]) >= 524288, cp.stdout
    assert lines[1:4] == ["0 0"] * 3, cp.stdout
    assert "wrote" in cp.stdout, cp.stdout
    mi = mountinfo_of(cp.stdout)
    for where in ("/", "/home", "/srv"):
        assert "idmapped" in mi[where][0], (where, mi[where])
    # On the image the owners stayed the unshifted ones: a run without -U sees root's files.
    cp = sh(img, "stat -c '%u %g' / /written")
    assert cp.returncode == 0 and cp.stdout.split("\n")[:2] == ["0 0"] * 2, describe(cp)


def test_userns_squashfs_idmapped(images, clean_host):
    img = make_bare(images["dir"] / "u.squashfs", "squashfs", images["tree"])
    cp = sh(img, "stat -c '%u %g' /bin/busybox; grep ' / ' /proc/self/mountinfo", "-U")
    assert cp.returncode == 0 and cp.stdout.startswith("0 0\n") and "idmapped" in cp.stdout, describe(cp)


@pytest.mark.parametrize("how", ["--read-only", "flag"])
def test_userns_read_only_image_never_chowned(images, clean_host, how):
    """A read-only image cannot be shifted: asked to chown, a one-line error, no lock left."""
    from test_userns import name_base
    name = f"userns-ro-{os.getpid()}"
    if how == "flag":
        img, opts = dps_image(images, name="ro.raw", root_attrs=(FLAG_READ_ONLY,)), []
    else:
        img, opts = dps_image(images, name="ro.raw"), ["--read-only"]
    before = img.read_bytes()
    cp = sh(img, "true", "-M", name, "-U", "--private-users-ownership=chown", *opts)
    assert cp.returncode != 0 and len(cp.stderr.strip().splitlines()) == 1, describe(cp)
    assert "read-only image" in cp.stderr, cp.stderr
    if how == "--read-only":  # with the flag only the root is read-only: /home was mounted writable
        assert img.read_bytes() == before
    assert not os.path.exists(f"/run/berth/userns/{name_base(name)}")
