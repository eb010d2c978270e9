# SPDX-License-Identifier: LGPL-2.1-or-later
"""-U and --private-users=: the container's root is a range of host IDs, judged from the host."""

import os
import struct
import subprocess
import time

import pytest

from boot_fixtures import boot, notify  # noqa: F401 (fixtures)

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
    # ownership=off: the tree stays the host's, whose root is nobody inside.
    st = os.stat(tree_copy / "etc" / "passwd")
    cp = run_spawn(["-D", tree_copy, "--console=pipe", "--register=no", "-U", "--private-users-ownership=off", "/bin/sh", "-c",
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


def owners(root):
    """(path, uid, gid) of every file of a tree, not following symlinks."""
    out = []
    for d, dirs, files in os.walk(root):
        for n in [d] + [os.path.join(d, f) for f in dirs + files]:
            st = os.lstat(n)
            out.append((n, st.st_uid, st.st_gid))
    return sorted(set(out))


def test_plain_spawn_has_no_user_namespace(tree):
    cp = run_spawn(["-D", tree, "--console=pipe", "--register=no", "/bin/cat", "/proc/self/uid_map"])
    assert cp.returncode == 0, describe(cp)
    assert cp.stdout.split() == ["0", "0", "4294967295"], cp.stdout


def test_ownership_map_leaves_the_tree_unchanged(tree_copy):
    """-U is pick + auto, and auto maps on ext4: the container's root owns its tree through an
    idmapped mount, while on the host nothing changed ownership; what it creates is on-disk root's."""
    before = owners(tree_copy)
    for opts in (["-U"], ["-U", "--private-users-ownership=map"]):
        cp = run_spawn(["-D", tree_copy, "--console=pipe", "--register=no", *opts, "/bin/sh", "-c",
                        "cat /proc/self/uid_map; stat -c '%u %g' / /etc/passwd /bin/busybox; "
                        "grep -c idmapped /proc/self/mountinfo; echo x > /etc/created && echo wrote"])
        assert cp.returncode == 0, describe(cp)
        lines = cp.stdout.split("\n")
        assert int(lines[0].split()[1]) != 0, cp.stdout
        assert lines[1:4] == ["0 0"] * 3, cp.stdout
        assert int(lines[4]) >= 1 and lines[5] == "wrote", cp.stdout
        st = os.stat(tree_copy / "etc" / "created")
        assert (st.st_uid, st.st_gid) == (0, 0)
        os.unlink(tree_copy / "etc" / "created")
        assert owners(tree_copy) == before, "the tree's ownership changed on the host"
    no_leftovers(tree_copy)


@pytest.fixture
def ramfs_tree(busybox_tree, _resources):
    """A copy of the tree on ramfs, a file system without ID-mapped mount support."""
    d = _resources.mkdtemp("ramfs")
    subprocess.run(["mount", "-t", "ramfs", "-o", "mode=0755", "berth-test-ramfs", str(d)], check=True)
    try:
        subprocess.run(["cp", "-a", str(busybox_tree), str(d / "tree")], check=True, timeout=120)
        yield d / "tree"
    finally:
        subprocess.run(["umount", "-l", str(d)], check=False)


def test_ownership_map_refused_cleanly(ramfs_tree):
    before = locks()
    cp = run_spawn(["-D", ramfs_tree, "--register=no", "-U", "--private-users-ownership=map", "/bin/true"])
    assert cp.returncode != 0 and len(cp.stderr.strip().splitlines()) == 1, describe(cp)
    assert "cannot be ID-mapped" in cp.stderr, cp.stderr
    assert locks() == before
    assert os.stat(ramfs_tree).st_uid == 0, "the tree was chowned"
    no_leftovers(ramfs_tree)


def test_ownership_auto_chowns_where_map_cannot(ramfs_tree):
    cp = run_spawn(["-D", ramfs_tree, "--console=pipe", "--register=no", "-U", "/bin/sh", "-c",
                    "cat /proc/self/uid_map; stat -c '%u' /etc/passwd; grep -c idmapped /proc/self/mountinfo"])
    assert cp.returncode in (0, 1), describe(cp)
    lines = cp.stdout.split("\n")
    base = int(lines[0].split()[1])
    assert lines[1:3] == ["0", "0"], cp.stdout
    assert os.stat(ramfs_tree / "etc" / "passwd").st_uid == base


# What the container's root creates lands as: idmap the host's root, rootidmap the source's owner.
@pytest.mark.parametrize("opt,want", [("idmap", ["1000 0", "0 0"]), ("rootidmap", ["0 65534", "1000 1000"]),
                                      ("noidmap", ["65534 65534", None])])
def test_bind_idmap_options(tree, scratch, opt, want):
    os.chown(scratch, 1000, 1000)
    (scratch / "f").write_text("x")
    os.chown(scratch / "f", 1000, 0)
    cp = run_spawn(["-D", tree, "--console=pipe", "--register=no", "-U", f"--bind={scratch}:/mnt:{opt}", "/bin/sh", "-c",
                    "stat -c '%u %g' /mnt/f; (echo y > /mnt/new) 2>/dev/null && echo wrote || echo refused"])
    assert cp.returncode == 0, describe(cp)
    lines = cp.stdout.split("\n")
    assert lines[0] == want[0], cp.stdout
    if want[1] is None:
        assert lines[1] == "refused", cp.stdout  # the host's 1000 is nobody inside: no write
    else:
        st = os.stat(scratch / "new")
        assert f"{st.st_uid} {st.st_gid}" == want[1], (st, cp.stdout)


def acl_xattr(entries):
    return struct.pack("<I", 2) + b"".join(struct.pack("<HHI", t, p, i) for t, p, i in entries)


def test_ownership_chown_shifts_acls_and_keeps_file_caps(tree_copy):
    """chown mode: named ACL entries follow the owners, file capabilities survive as v3 with the
    container's root as root ID, and a second run changes nothing."""
    UNDEF = 0xFFFFFFFF
    f = tree_copy / "etc" / "motd"
    f.write_text("m")
    os.setxattr(f, "system.posix_acl_access", acl_xattr([(1, 6, UNDEF), (2, 4, 1000), (4, 4, UNDEF), (8, 4, 100),
                                                        (0x10, 6, UNDEF), (0x20, 4, UNDEF)]))
    os.setxattr(tree_copy / "etc", "system.posix_acl_default",
                acl_xattr([(1, 7, UNDEF), (2, 5, 1001), (4, 5, UNDEF), (0x10, 7, UNDEF), (0x20, 5, UNDEF)]))
    exe = tree_copy / "bin" / "capped"
    exe.write_bytes((tree_copy / "bin" / "busybox").read_bytes()[:64])
    cap_net_raw = 1 << 13
    os.setxattr(exe, "security.capability", struct.pack("<IIIII", 0x02000001, cap_net_raw, 0, 0, 0))
    args = ["-D", tree_copy, "--console=pipe", "--register=no", "-U", "--private-users-ownership=chown", "/bin/sh", "-c",
            "cat /proc/self/uid_map"]
    cp = run_spawn(args)
    assert cp.returncode == 0, describe(cp)
    base = int(cp.stdout.split()[1])
    acl = os.getxattr(f, "system.posix_acl_access")
    ids = [struct.unpack_from("<HHI", acl, 4 + 8 * k) for k in range((len(acl) - 4) // 8)]
    assert (2, 4, base + 1000) in ids and (8, 4, base + 100) in ids, ids
    dacl = os.getxattr(tree_copy / "etc", "system.posix_acl_default")
    assert struct.unpack_from("<HHI", dacl, 12) == (2, 5, base + 1001)
    caps = os.getxattr(exe, "security.capability")
    magic, perm, _, _, _, rootid = struct.unpack("<IIIIII", caps)
    assert (magic, perm, rootid) == (0x03000001, cap_net_raw, base), caps
    assert os.stat(exe).st_uid == base
    # Recorded: the second run finds the tree shifted and leaves it (and its ACLs) alone.
    cp = run_spawn(args)
    assert cp.returncode == 0 and int(cp.stdout.split()[1]) == base, describe(cp)
    assert os.getxattr(f, "system.posix_acl_access") == acl


def test_link_journal_directories_owned_by_container_root(tree_copy, scratch):
    mid = "0123456789abcdef0123456789abcdef"
    (tree_copy / "etc" / "machine-id").write_text(mid + "\n")
    env = dict(base_env(), BERTH_JOURNAL_DIR=str(scratch))
    for mode, check in (("host", scratch / mid), ("guest", tree_copy / "var" / "log" / "journal" / mid)):
        cp = run_spawn(["-D", tree_copy, "--console=pipe", "--register=no", "-U", "--private-users-ownership=chown",
                        f"--link-journal={mode}", "/bin/sh", "-c",
                        f"cat /proc/self/uid_map; stat -c '%u' /var/log/journal/{mid}"], env=env)
        assert cp.returncode == 0, describe(cp)
        base = int(cp.stdout.split()[1])
        assert cp.stdout.split()[3] == "0", (mode, describe(cp), os.listdir(scratch))
        assert os.stat(check).st_uid == base, (mode, os.stat(check))
        subprocess.run(["rm", "-rf", str(scratch / mid), str(tree_copy / "var" / "log" / "journal" / mid)], check=True)


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


# --- Debian 12 and 13 booting with -U -----------------------------------------------------------

def in_container(pid, *cmd):
    """CMD in every namespace of the container, its user namespace too: root there, not the host's
    root (whom the guest's systemd sees as nobody)."""
    cp = subprocess.run(["nsenter", "-t", str(pid), "-a", "--", *cmd], stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE, timeout=DEFAULT_TIMEOUT)
    return cp.stdout.decode(errors="replace").strip()


@pytest.mark.parametrize("name", ["debian-bookworm", "debian-trixie"])
def test_boot_debian_with_userns(name, boot, _resources):
    """A copy of the cached tree (the cache stays pristine; an overlay cannot be ID-mapped), booted
    with -U: idmapped, up to a login prompt, halted cleanly, its ownership unchanged on the host."""
    from boot_fixtures import cached_tree
    copy = _resources.mkdtemp("bootcopy") / name
    subprocess.run(["cp", "-a", str(cached_tree(name)), str(copy)], check=True, timeout=600)
    before = dict((p, (u, g)) for p, u, g in owners(copy))
    b = boot(copy, "-U", "--register=no")
    b.wait_ready()
    pid = b.init_pid()
    with open(f"/proc/{pid}/uid_map") as f:
        base = int(f.read().split()[1])
    assert base >= WINDOW[0], base
    assert in_container(pid, "systemctl", "is-system-running", "--wait") == "running", \
        in_container(pid, "systemctl", "--failed", "--no-legend", "--plain")
    assert in_container(pid, "stat", "-c", "%u %g", "/", "/dev/console", "/run", "/sys/fs/cgroup").split("\n") == \
        ["0 0", "0 5", "0 0", "0 0"]
    deadline = time.monotonic() + 30
    while "login:" not in b.output() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "login:" in b.output(), b.output()[-2000:]
    os.kill(b.proc.pid, 15)
    assert b.exit_code(60) == 0, b.output()[-3000:]
    after = dict((p, (u, g)) for p, u, g in owners(copy))
    changed = [p for p, ids in before.items() if p in after and after[p] != ids]
    assert not changed, changed[:10]
    assert not any(u >= WINDOW[0] for u, _ in after.values()), "a file of the shifted range landed on the host"
    no_leftovers(copy)


def test_userns_binfmt_misc_stays_inside(tree):
    """Under -U a binfmt_misc instance is the user namespace's own (Linux >= 6.7) or refused: the
    host's never gets the handler."""
    from test_isolation import binfmt_attempt
    cp, registered = binfmt_attempt(tree, opts=["-U", "--register=no"])
    assert cp.returncode == 0 and "rc=" in cp.stdout, describe(cp)
    assert not registered, describe(cp)


@pytest.mark.parametrize("cmd,code", [("reboot", 133), ("poweroff", 0)])
def test_userns_reboot_and_poweroff(tree_copy, cmd, code):
    """reboot(2) from the guest under -U (whose root lacks CAP_SYS_BOOT over spawn's PID namespace)
    still reads as a reboot (133) or a halt (0), as without -U."""
    (tree_copy / "etc" / "inittab").write_text(f"::sysinit:/bin/echo booted\n::once:/bin/sh -c '{cmd} -f'\n")
    cp = run_spawn(["-D", tree_copy, "--register=no", "--console=read-only", "-U", "-b"])
    assert "booted" in cp.stdout and cp.returncode == code, describe(cp)
    no_leftovers(tree_copy)


def test_userns_map_restart_on_reboot(tree_copy):
    """--restart-on-reboot under -U with map: every boot gets its own idmapped copy of the tree."""
    (tree_copy / "etc" / "inittab").write_text(
        "::sysinit:/bin/sh -c 'n=$(cat /var/boots 2>/dev/null || echo 0); echo $((n+1)) > /var/boots; "
        "if [ $n -lt 2 ]; then reboot -f; else poweroff -f; fi'\n")
    (tree_copy / "var").mkdir(exist_ok=True)
    cp = run_spawn(["-D", tree_copy, "--register=no", "--console=read-only", "-U", "--private-users-ownership=map",
                    "-b", "--restart-on-reboot"])
    assert cp.returncode == 0, describe(cp)
    assert (tree_copy / "var" / "boots").read_text().strip() == "3"
    assert os.stat(tree_copy / "var" / "boots").st_uid == 0
    no_leftovers(tree_copy)
