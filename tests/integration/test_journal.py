# SPDX-License-Identifier: LGPL-2.1-or-later
"""--link-journal= with a booted Debian tree, as systemd-nspawn does it: guest mode leaves a symlink
on the host to the guest's journal directory, host mode binds the host's directory into the guest;
and bad input. The host's journal directory is a private one ($BERTH_JOURNAL_DIR), so the host's
/var/log/journal is never touched."""

import json
import os
import re
import subprocess
import time
from pathlib import Path

import pytest

from boot_fixtures import *  # noqa: F401,F403  (bookworm, boot)
from conftest import base_env, find_mount, read_mountinfo, run_spawn

TREE_ID = "5ea63cb0729749a5a4dad713cf8df516"   # the cached bookworm tree's /etc/machine-id


@pytest.fixture
def jdir(scratch):
    d = scratch / "journal"
    d.mkdir()
    return d


def tree_id(tree):
    return (Path(tree) / "etc/machine-id").read_text().strip()


def wait_journal_files(d, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(p.name.endswith(".journal") for p in Path(d).iterdir()):
            return
        time.sleep(0.2)
    raise AssertionError(f"no journal files in {d}: {list(Path(d).iterdir())}")


def ready(b):
    try:
        b.wait_ready()
    except AssertionError:
        raise AssertionError(b.output()[-3000:])


def test_link_journal_guest(bookworm, boot, jdir):
    mid = tree_id(bookworm)
    b = boot(bookworm, "--link-journal=guest", env_extra={"BERTH_JOURNAL_DIR": str(jdir)})
    ready(b)
    link = jdir / mid
    assert link.is_symlink()
    assert os.readlink(link) == str(Path(bookworm).resolve() / "var/log/journal" / mid)
    b.run("/usr/bin/logger", "-t", "berth-test", "guest-marker")
    wait_journal_files(link)
    b.proc.terminate()
    assert b.exit_code(timeout=90) == 0, b.output()[-2000:]
    # As nspawn: the symlink stays for journalctl on the host.
    assert link.is_symlink()


def test_link_journal_host(bookworm, boot, jdir):
    mid = tree_id(bookworm)
    b = boot(bookworm, "--link-journal=host", env_extra={"BERTH_JOURNAL_DIR": str(jdir)})
    ready(b)
    host_dir = jdir / mid
    assert host_dir.is_dir() and not host_dir.is_symlink()
    init = b.init_pid()
    assert find_mount(read_mountinfo(init), f"/var/log/journal/{mid}"), read_mountinfo(init)
    wait_journal_files(host_dir)
    b.proc.terminate()
    assert b.exit_code(timeout=90) == 0, b.output()[-2000:]
    assert host_dir.is_dir()
    # The bind died with the container: nothing mounted on the host.
    assert not find_mount(read_mountinfo(), str(Path(bookworm) / "var/log/journal" / mid))


def test_try_guest_without_machine_id(busybox_tree, jdir):
    # -j on a tree without machine-id: nothing linked, the container runs.
    env = base_env(BERTH_JOURNAL_DIR=str(jdir))
    cp = run_spawn(["-D", busybox_tree, "-j", "/bin/true"], env=env)
    assert cp.returncode == 0, cp.stderr
    assert list(jdir.iterdir()) == []


def test_bad_input(busybox_tree, jdir):
    env = base_env(BERTH_JOURNAL_DIR=str(jdir))
    cp = run_spawn(["-D", busybox_tree, "--link-journal=bogus", "/bin/true"], env=env)
    assert cp.returncode != 0
    assert cp.stderr == "spawn: Unknown --link-journal= mode 'bogus'.\n"
    cp = run_spawn(["-D", busybox_tree, "--link-journal=host", "/bin/true"], env=env)
    assert cp.returncode != 0
    assert len(cp.stderr.splitlines()) == 1 and "machine ID" in cp.stderr, cp.stderr
    assert list(jdir.iterdir()) == []
    assert not (Path(busybox_tree) / "var/log/journal").exists()


def test_machinectl_status_journal(machined, bookworm, boot, jdir):
    from conftest import BUILD
    env = machined.bus.env()
    b = boot(bookworm, "--register=yes", "--machine=jdeb", "--link-journal=try-guest",
             env_extra={"DBUS_SYSTEM_BUS_ADDRESS": machined.bus.address, "BERTH_JOURNAL_DIR": str(jdir)})
    ready(b)
    marker = f"berth-journal-marker-{os.getpid()}"
    b.run("/usr/bin/logger", "-t", "berth-test", marker)

    def status(*args):
        cp = subprocess.run([str(BUILD / "machinectl"), "status", "jdeb", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env, timeout=30)
        assert cp.returncode == 0, cp.stderr
        return cp.stdout.decode(errors="replace")

    deadline = time.monotonic() + 30
    while marker not in (out := status("-n", "5")):
        assert time.monotonic() < deadline, out
        time.sleep(0.5)
    lines = out.split("\n\n")[-1].strip().splitlines()
    assert 1 <= len(lines) <= 5, out
    assert re.search(rf"^\w{{3}} \d\d \d\d:\d\d:\d\d \S+ berth-test\[\d+\]: {marker}$", out, re.M), out
    out = status("-n", "5", "-o", "cat")
    assert re.search(rf"^{marker}$", out, re.M), out
    out = status("-n", "5", "-o", "short-iso")
    assert re.search(rf"^\d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{{4}} \S+ berth-test\[\d+\]: {marker}$", out, re.M), out
    out = status("-n", "5", "-o", "short-iso-precise")
    assert re.search(rf"^\d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{{6}}[+-]\d{{4}} \S+ berth-test\[\d+\]: {marker}$", out, re.M), out
    out = status("-n", "5", "-o", "short-monotonic")
    assert re.search(rf"^\[ *\d+\.\d{{6}}\] \S+ berth-test\[\d+\]: {marker}$", out, re.M), out
    out = status("-n", "5", "-o", "short-unix")
    assert re.search(rf"^\d{{9,}}\.\d{{6}} \S+ berth-test\[\d+\]: {marker}$", out, re.M), out
    out = status("-n", "5", "-o", "verbose")
    assert re.search(r"^\w{3} \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6} \S+ \[s=[0-9a-f]{32};", out, re.M), out
    assert f"\n    MESSAGE={marker}\n" in out and "\n    SYSLOG_IDENTIFIER=berth-test\n" in out, out
    out = status("-n", "5", "-o", "export")
    assert f"\nMESSAGE={marker}\n" in out and re.search(r"^__CURSOR=s=", out, re.M) and re.search(r"^__REALTIME_TIMESTAMP=\d+$", out, re.M), out
    # JSON: the status record, with the entries as journalctl -o json prints them.
    for mode in ("json", "json-pretty"):
        data = json.loads(status("-n", "5", "-o", mode))
        assert data["Name"] == "jdeb" and 1 <= len(data["Journal"]) <= 5, data
        mine = [e for e in data["Journal"] if e.get("MESSAGE") == marker]
        assert mine and mine[0]["SYSLOG_IDENTIFIER"] == "berth-test" and mine[0]["__REALTIME_TIMESTAMP"].isdigit(), data
    assert marker not in status("-n", "0")
    assert "Journal" not in json.loads(status("-n", "0", "-o", "json"))
    b.proc.terminate()
    assert b.exit_code(timeout=90) == 0, b.output()[-2000:]
