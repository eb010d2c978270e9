# SPDX-License-Identifier: LGPL-2.1-or-later
"""Capabilities, --user/--chdir and --private-network."""

import socket

from conftest import (CAP_NUMBERS, cap_mask, describe, host_cap, out_lines, parse_json_line, report,
                      run_helper, run_spawn)

# systemd-nspawn's default bounding set.
NSPAWN_DEFAULT_CAPS = [
    "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "IPC_OWNER", "KILL", "LEASE",
    "LINUX_IMMUTABLE", "MKNOD", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_RAW", "SETFCAP", "SETGID",
    "SETPCAP", "SETUID", "SYS_ADMIN", "SYS_BOOT", "SYS_CHROOT", "SYS_NICE", "SYS_PTRACE",
    "SYS_RESOURCE", "SYS_TTY_CONFIG", "AUDIT_CONTROL", "AUDIT_WRITE",
]
FORBIDDEN_CAPS = [
    "SYS_MODULE", "SYS_TIME", "SYS_RAWIO", "MAC_ADMIN", "MAC_OVERRIDE", "SYSLOG", "BPF", "PERFMON",
    "SYS_PACCT", "NET_ADMIN", "IPC_LOCK", "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ",
    "CHECKPOINT_RESTORE",
]


def cap_names(mask):
    return sorted(n for n, b in CAP_NUMBERS.items() if mask & (1 << b))


def expected_bounding(extra=()):
    # A process cannot gain what the host's bounding set lacks (some hosts drop e.g. SYS_RESOURCE).
    return cap_mask(NSPAWN_DEFAULT_CAPS + list(extra)) & host_cap("CapBnd")


def test_bounding_set_is_nspawn_default(tree):
    caps = report(tree)["caps"]
    bnd = int(caps["CapBnd"], 16)
    want = expected_bounding()
    assert bnd == want, f"CapBnd {bnd:#x} {cap_names(bnd)} != expected {want:#x} {cap_names(want)}"
    for name in FORBIDDEN_CAPS:
        assert not bnd & (1 << CAP_NUMBERS[name]), f"CAP_{name} in the bounding set"


def test_root_payload_has_bounding_set_effective(tree):
    caps = report(tree)["caps"]
    assert int(caps["CapEff"], 16) == int(caps["CapBnd"], 16), caps
    assert int(caps["CapAmb"], 16) == 0, caps


def test_private_network_adds_net_admin(tree):
    bnd = int(report(tree, opts=["--private-network"])["caps"]["CapBnd"], 16)
    want = expected_bounding(["NET_ADMIN"])
    assert bnd == want, f"CapBnd {cap_names(bnd)} != {cap_names(want)}"


def test_as_pid2_bounding_set(tree):
    bnd = int(report(tree, opts=["-a"])["caps"]["CapBnd"], 16)
    assert bnd == expected_bounding(), cap_names(bnd)


def test_private_network_only_loopback_up(tree):
    cp = run_helper(tree, "ifaces", opts=["--private-network"])
    assert cp.returncode == 0, describe(cp)
    assert out_lines(cp.stdout) == ["lo up"], describe(cp)


def test_without_private_network_sees_host_interfaces(tree):
    cp = run_helper(tree, "ifaces")
    assert cp.returncode == 0, describe(cp)
    host = sorted(name for _, name in socket.if_nameindex())
    assert sorted(l.split()[0] for l in out_lines(cp.stdout)) == host


def test_user_tester(tree):
    r = report(tree, opts=["-u", "tester"])
    assert (r["uid"], r["euid"], r["gid"], r["egid"]) == (1000, 1000, 1000, 1000), r
    assert 1001 in r["groups"], r["groups"]
    assert set(r["groups"]) <= {1000, 1001}, f"unexpected supplementary groups {r['groups']}"
    assert r["env"].get("HOME") == "/home/tester"
    assert r["env"].get("USER") == "tester"
    assert r["cwd"] == "/home/tester"
    # A non-root payload keeps no capabilities.
    assert int(r["caps"]["CapEff"], 16) == 0 and int(r["caps"]["CapPrm"], 16) == 0, r["caps"]


def test_user_root_explicit(tree):
    r = report(tree, opts=["--user=root"])
    assert (r["uid"], r["gid"]) == (0, 0)
    assert r["env"].get("HOME") == "/root"


def test_user_default_shell(tree):
    cp = run_spawn(["-D", tree, "--console=pipe", "-u", "tester"],
                   input="/usr/bin/berth-test-helper report; exit 3\n")
    assert cp.returncode == 3, describe(cp)
    assert parse_json_line(cp.stdout)["uid"] == 1000


def test_unknown_user_fails(tree):
    cp = run_helper(tree, "exit", 0, opts=["-u", "no-such-user"])
    assert cp.returncode != 0, describe(cp)
    assert cp.stderr.strip(), describe(cp)


def test_chdir(tree):
    assert report(tree, opts=["--chdir=/etc"])["cwd"] == "/etc"
    assert report(tree, opts=["--chdir=/home/tester", "-u", "tester"])["cwd"] == "/home/tester"


def test_chdir_missing_directory_fails(tree):
    cp = run_helper(tree, "exit", 0, opts=["--chdir=/does/not/exist"])
    assert cp.returncode != 0, describe(cp)
