# SPDX-License-Identifier: LGPL-2.1-or-later
"""-U and --private-users=: the container's root is a range of host IDs, judged from the host."""

import os
import subprocess
import time

from conftest import (DEFAULT_TIMEOUT, IN_HELPER, describe, descendants, no_leftovers, report, run_spawn,
                      spawn_cmd, base_env)

LOCK_DIR = "/run/berth/userns"
WINDOW = (524288, 1878982656)


def host_ids():
    ids = set()
    for f in ("/etc/passwd", "/etc/group"):
        with open(f) as fh:
            for line in fh:
                parts = line.split(":")
                if len(parts) > 2 and parts[2].isdigit():
                    ids.add(int(parts[2]))
    return ids


def locks():
    try:
        return set(os.listdir(LOCK_DIR))
    except FileNotFoundError:
        return set()


def status_ids(pid):
    ids = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("Uid", "Gid"):
                ids[k] = [int(x) for x in v.split()]
    return ids


def run_in_background(tree, opts, seconds=20):
    """spawn ... sleep; returns (Popen, host pid of the sleep) once the sleep runs."""
    cmd = spawn_cmd(["-D", tree, "--console=pipe", "--register=no"] + list(opts) + ["/bin/sleep", str(seconds)])
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=base_env())
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        for pid in descendants(p.pid):
            try:
                with open(f"/proc/{pid}/comm") as f:
                    if f.read().strip() == "sleep":
                        return p, pid
            except OSError:
                pass
        time.sleep(0.05)
    p.kill()
    out, err = p.communicate()
    raise AssertionError(f"container did not start: {err!r}")


def stop(p):
    # SIGTERM: spawn stops the container and cleans up (SIGKILL would leave the unlocked file).
    p.terminate()
    p.communicate(timeout=DEFAULT_TIMEOUT)


def name_base(name):
    """The range spawn derives from a machine name (FNV-1a 64 onto the window's ranges)."""
    h = 0xcbf29ce484222325
    for b in name.encode():
        h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    n = (0x6FFF0000 - 0x80000) // 65536 + 1
    return 0x80000 + (h % n) * 65536


def test_pick_uid_zero_inside_base_outside(tree):
    before = locks()
    p, pid = run_in_background(tree, ["-U"])
    try:
        ids = status_ids(pid)
        base = ids["Uid"][0]
        assert WINDOW[0] <= base <= WINDOW[1] and base % 65536 == 0, ids
        assert ids["Gid"][0] == base, ids
        assert not any(base <= i < base + 65536 for i in host_ids()), base
        with open(f"/proc/{pid}/uid_map") as f:
            assert f.read().split() == ["0", str(base), "65536"]
        assert str(base) in locks() - before
    finally:
        stop(p)
    assert locks() == before, "the range's lock file stayed"
    no_leftovers(tree)


def test_id_inside_is_root(tree):
    r = report(tree, opts=["-U", "--register=no"])
    assert r["uid"] == 0 and r["euid"] == 0 and r["gid"] == 0, r


def test_same_machine_gets_same_range(tree):
    p, pid = run_in_background(tree, ["-U", "-M", "userns-same"])
    first = status_ids(pid)["Uid"][0]
    stop(p)
    p, pid = run_in_background(tree, ["-U", "-M", "userns-same"])
    second = status_ids(pid)["Uid"][0]
    stop(p)
    assert first == second == name_base("userns-same")


def test_running_container_range_is_skipped_or_refused(tree):
    base = name_base("userns-busy")
    assert not any(base <= i < base + 65536 for i in host_ids())
    p, pid = run_in_background(tree, ["-M", "userns-holder", f"--private-users={base}"])
    try:
        assert status_ids(pid)["Uid"][0] == base
        # pick: the range the name leads to is another container's, so the next one is taken.
        p2, pid2 = run_in_background(tree, ["-U", "-M", "userns-busy"])
        try:
            assert status_ids(pid2)["Uid"][0] == (base + 65536 if base < 0x6FFF0000 else 0x80000)
        finally:
            stop(p2)
        # a fixed range in use: refused, and its lock stays the first container's.
        cp = run_spawn(["-D", tree, "--register=no", f"--private-users={base}", "/bin/true"])
        assert cp.returncode != 0, describe(cp)
        assert "in use by another container" in cp.stderr and len(cp.stderr.strip().splitlines()) == 1, cp.stderr
        assert str(base) in locks()
    finally:
        stop(p)
    assert str(base) not in locks()


def test_fixed_range_and_api_mounts_owned_by_root_inside(tree):
    cp = run_spawn(["-D", tree, "--console=pipe", "--register=no", "--private-users=1048576:65536", "/bin/sh", "-c",
                    "cat /proc/self/uid_map; stat -c '%u %g' /dev /run /tmp /dev/shm; touch /tmp/x /dev/y; id -u"])
    assert cp.returncode == 0, describe(cp)
    lines = cp.stdout.split("\n")
    assert lines[0].split() == ["0", "1048576", "65536"], cp.stdout
    assert lines[1:5] == ["0 0"] * 4, cp.stdout
    assert lines[5] == "0", cp.stdout
    assert "1048576" not in locks()


def test_range_overlapping_host_users_is_refused(tree):
    before = locks()
    cp = run_spawn(["-D", tree, "--register=no", "--private-users=0:65536", "/bin/true"])
    assert cp.returncode != 0, describe(cp)
    assert "overlaps the host's users or groups" in cp.stderr, cp.stderr
    assert len(cp.stderr.strip().splitlines()) == 1, cp.stderr
    assert locks() == before
    no_leftovers(tree)


def test_bad_values(tree):
    for opt in ("--private-users=maybe", "--private-users=5:0", "--private-users-ownership=idmap"):
        cp = run_spawn(["-D", tree, "--register=no", opt, "/bin/true"])
        assert cp.returncode != 0 and len(cp.stderr.strip().splitlines()) == 1, describe(cp)


def test_host_files_unchanged_and_root_cannot_write_them(tree_copy):
    st = os.stat(tree_copy / "etc" / "passwd")
    cp = run_spawn(["-D", tree_copy, "--console=pipe", "--register=no", "-U", "/bin/sh", "-c",
                    "echo x >> /etc/passwd && echo wrote || echo refused"])
    assert cp.returncode == 0, describe(cp)
    assert "refused" in cp.stdout, cp.stdout
    st2 = os.stat(tree_copy / "etc" / "passwd")
    assert (st2.st_uid, st2.st_size) == (st.st_uid, st.st_size)


def test_cgroup_delegated_to_container_root(tree):
    cp = run_spawn(["-D", tree, "--console=pipe", "--register=no", "-U", "/bin/sh", "-c",
                    "stat -c '%u' /sys/fs/cgroup/cgroup.procs 2>/dev/null || stat -c '%u' /sys/fs/cgroup/systemd/cgroup.procs;"
                    " d=/sys/fs/cgroup; [ -e $d/cgroup.controllers ] || d=/sys/fs/cgroup/systemd;"
                    " mkdir $d/sub && rmdir $d/sub && echo delegated"])
    assert cp.returncode == 0, describe(cp)
    assert cp.stdout.split() == ["0", "delegated"], cp.stdout


def test_registered_machine_uid_shift(machined, busybox_tree, procs):
    """machined's GetMachineUIDShift reads the leader's uid_map: the base spawn picked."""
    from test_register import start_registered, wait_unregistered
    p, leader = start_registered(procs, machined, busybox_tree, "userns-reg", "-U")
    deadline = time.monotonic() + 5
    while status_ids(leader)["Uid"][0] == 0:  # it crosses into its user namespace after registering
        assert time.monotonic() < deadline, "the leader never entered its user namespace"
        time.sleep(0.02)
    base = status_ids(leader)["Uid"][0]
    assert base == name_base("userns-reg"), base
    assert int(machined.manager().GetMachineUIDShift("userns-reg")) == base
    p.terminate()
    p.wait(timeout=DEFAULT_TIMEOUT)
    wait_unregistered(machined, "userns-reg")


def test_ownership_chown_round_trips(tree_copy):
    os.chmod(tree_copy / "bin" / "busybox", 0o4755)
    args = ["-D", tree_copy, "--console=pipe", "--register=no", "-U", "--private-users-ownership=chown", "/bin/sh", "-c",
            "cat /proc/self/uid_map; stat -c '%u %g' /etc/passwd; echo x >> /etc/motd && echo wrote"]
    cp = run_spawn(args)
    assert cp.returncode == 0, describe(cp)
    lines = cp.stdout.split("\n")
    base = int(lines[0].split()[1])
    assert lines[1:3] == ["0 0", "wrote"], cp.stdout
    st = os.stat(tree_copy / "etc" / "passwd")
    assert (st.st_uid, st.st_gid) == (base, base)
    assert os.stat(tree_copy / "bin" / "busybox").st_mode & 0o7777 == 0o4755, "the set-user-ID bit was lost"
    assert os.stat(tree_copy).st_uid == base
    # Again, without asking for a shift: the tree owner's range is picked, nothing changes.
    cp = run_spawn(args[:5] + args[6:])
    assert cp.returncode == 0, describe(cp)
    assert int(cp.stdout.split()[1]) == base, cp.stdout
    assert os.stat(tree_copy / "etc" / "passwd").st_uid == base


def test_guest_journal_directory_belongs_to_the_container_root(tree_copy, scratch):
    """--link-journal=guest on a shifted tree: the journal directories spawn makes belong to the
    container's root (the tree root's owner), so the guest's journald can write there."""
    mid = "0123456789abcdef0123456789abcdef"
    (tree_copy / "etc" / "machine-id").write_text(mid + "\n")
    env = base_env(BERTH_JOURNAL_DIR=str(scratch))
    cp = run_spawn(["-D", tree_copy, "--console=pipe", "--register=no", "-U", "--private-users-ownership=chown",
                    "--link-journal=guest", "/bin/sh", "-c", f"touch /var/log/journal/{mid}/written && echo ok"], env=env)
    assert cp.returncode == 0 and cp.stdout.strip() == "ok", describe(cp)
    base = os.stat(tree_copy).st_uid
    assert base >= WINDOW[0]
    for d in ("var/log/journal", f"var/log/journal/{mid}"):
        st = os.stat(tree_copy / d)
        assert (st.st_uid, st.st_gid) == (base, base), d
    assert os.readlink(scratch / mid) == str(tree_copy.resolve() / "var/log/journal" / mid)


def test_ownership_map_refused_cleanly(tree):
    before = locks()
    cp = run_spawn(["-D", tree, "--register=no", "-U", "--private-users-ownership=map", "/bin/true"])
    assert cp.returncode != 0 and len(cp.stderr.strip().splitlines()) == 1, describe(cp)
    assert locks() == before
    no_leftovers(tree)


# What test_isolation.py marks xfail without a user namespace: -U closes it (judged from the host).
def test_userns_refuses_proc_sys_remount_and_fresh_procfs(tree):
    from test_isolation import probe, read_host
    before = read_host("/proc/sys/kernel/core_pattern")
    r = probe(tree, "try-mount", "none", "/proc/sys", "-", "bind-remount-rw", opts=["-U", "--register=no"])
    assert r["mount"] != 0, r
    r = probe(tree, "try-mount", "proc", "/tmp/p", "proc", "rw", opts=["-U", "--register=no"])
    assert read_host("/proc/sys/kernel/core_pattern") == before
    assert r["mount"] != 0, r


def test_userns_refuses_sysfs_remount_with_private_network(tree):
    from test_isolation import probe
    r = probe(tree, "try-mount", "none", "/sys", "-", "remount-rw", opts=["-U", "--register=no", "--private-network"])
    assert r["mount"] != 0, r
