# SPDX-License-Identifier: LGPL-2.1-or-later
"""Disk images for the image tests, built without root tools: sfdisk writes the table, mke2fs -E
offset=... -d TREE (or mksquashfs + dd) fills each partition from a directory. And a snapshot of
what images leave on the host (loop devices, partitions, mounts), to compare before and after."""

import os
import shutil
import subprocess
from pathlib import Path

from conftest import DEFAULT_TIMEOUT, read_mountinfo, skip_or_fail

ROOT_X86_64 = "4f68bce3-e8cd-4db1-96e7-fbcaf984b709"
USR_X86_64 = "8484680c-9521-48c6-9c11-b0720656f69e"
ROOT_X86_64_VERITY = "2c7357ed-ebd2-46d9-aec1-23d437ec2bf5"
HOME = "933ac7e1-2eb4-4f13-b844-0e14e2aef915"
SRV = "3b8f8425-20e0-4f3b-907f-1a25a76f98e8"
VAR = "4d21b016-b534-45c2-a9fb-5c16e091fd2d"
TMP = "7ec6f557-3bc5-4aca-b293-16ef5df639d1"
GENERIC = "0fc63daf-8483-4772-8e79-3d69d8477de4"
FLAG_READ_ONLY = 60
FLAG_NO_AUTO = 63

MiB = 1024 * 1024


def need_tools(*tools):
    for t in tools:
        if not shutil.which(t):
            skip_or_fail(f"{t} is not installed (scripts/deps.sh test installs it)")


def run(*cmd, **kw):
    return subprocess.run([str(c) for c in cmd], check=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          timeout=kw.pop("timeout", 300), **kw)


def fill_fs(image, offset, size, fs, tree, mkfs_opts=()):
    """A file system of type FS with TREE's content at OFFSET..OFFSET+SIZE of IMAGE."""
    if fs == "ext4":
        args = ["mke2fs", "-q", "-F", "-t", "ext4", "-E", f"offset={offset}", *mkfs_opts]
        if tree:
            args += ["-d", tree]
        run(*args, image, f"{size // 1024}k")
    elif fs == "squashfs":
        tmp = Path(str(image) + ".sqfs")
        run("mksquashfs", tree, tmp, "-quiet", "-noappend", "-all-root")
        assert tmp.stat().st_size <= size, "squashfs does not fit its partition"
        run("dd", f"if={tmp}", f"of={image}", "bs=1M", f"seek={offset}", "oflag=seek_bytes", "conv=notrunc",
            "status=none")
        tmp.unlink()
    elif fs is not None:
        raise ValueError(fs)


def make_image(path, parts, label="gpt", extra=MiB):
    """PARTS: dicts with type (GUID, or "83" for MBR), size (bytes), and optional tree, fs ("ext4",
    "squashfs", None = left empty), attrs (GPT attribute bits), name, bootable (MBR)."""
    need_tools("sfdisk", "mke2fs")
    start = MiB
    lines = [f"label: {label}"]
    layout = []
    for p in parts:
        line = f"start={start // 512}, size={p['size'] // 512}, type={p['type']}"
        if p.get("name"):
            line += f', name="{p["name"]}"'
        if p.get("attrs"):
            line += ', attrs="GUID:' + ",".join(str(a) for a in p["attrs"]) + '"'
        if p.get("bootable"):
            line += ", bootable"
        lines.append(line)
        layout.append((start, p))
        start += p["size"]
    with open(path, "wb") as f:
        f.truncate(start + extra)
    run("sfdisk", "-q", path, input=("\n".join(lines) + "\n").encode())
    for offset, p in layout:
        fill_fs(path, offset, p["size"], p.get("fs", "ext4"), p.get("tree"), p.get("mkfs_opts", ()))
    return Path(path)


def make_bare(path, fs, tree, size=16 * MiB):
    if fs == "ext4":
        with open(path, "wb") as f:
            f.truncate(size)
        fill_fs(path, 0, size, "ext4", tree)
    else:
        need_tools("mksquashfs")
        run("mksquashfs", tree, path, "-quiet", "-noappend", "-all-root")
    return Path(path)


def host_image_state():
    """Loop devices with their backing files, block partitions, and mounts of images: what an
    image run must leave as it found it."""
    loops = set()
    for dev in Path("/sys/block").glob("loop*"):
        backing = dev / "loop" / "backing_file"
        if backing.exists():
            loops.add((dev.name, backing.read_text().strip()))
    with open("/proc/partitions") as f:
        partitions = {line.split()[-1] for line in f.read().splitlines()[2:] if line.strip()}
    mounts = {(m["mount_point"], m["source"]) for m in read_mountinfo()
              if m["source"].startswith("/dev/loop") or "image-root" in m["mount_point"]
              or m["source"].startswith("/proc/self/fd/")}
    return {"loops": loops, "partitions": partitions, "mounts": mounts}


def wait_host_state(before, timeout=10.0):
    """The host state back to BEFORE (autoclear runs when the last user goes, asynchronously to
    our wait for spawn's exit status)."""
    import time
    deadline = time.monotonic() + timeout
    while True:
        now = host_image_state()
        if now == before or time.monotonic() > deadline:
            return now
        time.sleep(0.05)


# systemd-repart 252 wants udev for its loop devices; a listening /run/udev/control in a mount
# namespace of its own is all it checks (see bench/bench-image.py).
_REPART_RUNNER = r"""
import socket, subprocess, sys, threading
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.bind("/run/udev/control")
s.listen(16)
def accept():
    while True:
        c, _ = s.accept()
        c.close()
threading.Thread(target=accept, daemon=True).start()
sys.exit(subprocess.run(sys.argv[1:]).returncode)
"""


def make_repart_image(path, definitions):
    """An image made by systemd-repart from DEFINITIONS ({file name: repart.d text})."""
    need_tools("systemd-repart", "unshare")
    d = Path(str(path) + ".repart.d")
    d.mkdir()
    for name, text in definitions.items():
        (d / name).write_text(text)
    script = ("mount --make-rslave / && mkdir -p /run/udev && mount -t tmpfs tmpfs /run/udev && "
              'exec python3 -c "$0" "$@"')
    run("unshare", "-m", "sh", "-c", script, _REPART_RUNNER, "systemd-repart", "--empty=create", "--size=auto",
        f"--definitions={d}", "--dry-run=no", path)
    return Path(path)
