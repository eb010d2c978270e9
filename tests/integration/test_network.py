# SPDX-License-Identifier: LGPL-2.1-or-later
"""-n/--network-veth. The machine's own network is never touched: every test makes a network
namespace to play the host and runs spawn inside it (nsenter --net, which unlike `ip netns exec`
keeps our /sys and its cgroup mounts); the namespace is deleted by the fixture's finalizer."""

import os
import signal
import subprocess
import time
import uuid

import pytest

from conftest import SPAWN, base_env, describe


def ip(*args, check=True):
    return subprocess.run(["ip", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          check=check, timeout=10)


@pytest.fixture
def hostns():
    name = f"berth-test-{uuid.uuid4().hex[:8]}"
    ip("netns", "add", name)
    ip("-n", name, "link", "set", "lo", "up")
    yield name
    ip("netns", "del", name, check=False)


def in_ns(ns, *cmd):
    return ["nsenter", f"--net=/run/netns/{ns}", *[str(c) for c in cmd]]


def run_in(ns, tree, *args, timeout=30):
    cmd = in_ns(ns, SPAWN, "-q", "-D", tree, "--console=pipe", *args)
    cp = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                        text=True, timeout=timeout, env=base_env())
    return cp


def links(ns):
    return ip("-n", ns, "-o", "link").stdout


def test_veth_addresses_and_icmp(tree, hostns):
    cp = run_in(hostns, tree, "-n", "/bin/sh", "-c", "ip -4 addr show host0; ip route; ping -c1 -W3 10.200.0.1")
    assert cp.returncode == 0, describe(cp)
    assert "10.200.0.2/28" in cp.stdout, describe(cp)
    assert "default via 10.200.0.1 dev host0" in cp.stdout, describe(cp)
    assert "ve-" not in links(hostns)


def test_veth_tcp_host_to_container(tree, hostns):
    p = subprocess.Popen(in_ns(hostns, SPAWN, "-q", "-D", tree, "--console=pipe", "-n", "/bin/sh", "-c",
                               "echo hello-from-container | nc -l -p 7777"),
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=base_env())
    try:
        got = ""
        for _ in range(50):
            c = subprocess.run(in_ns(hostns, "busybox", "nc", "-w", "2", "10.200.0.2", "7777"),
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, timeout=10)
            got = c.stdout
            if "hello-from-container" in got:
                break
            time.sleep(0.1)
        assert "hello-from-container" in got
        assert p.wait(timeout=10) == 0, p.stderr.read()
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def test_pool_skips_routes_the_host_has(tree, hostns):
    # A host route over the pool's first /28: the container must get the next one.
    # (a veth pair of the test's own: this kernel may lack the dummy driver)
    ip("-n", hostns, "link", "add", "tb-a", "type", "veth", "peer", "name", "tb-b")
    ip("-n", hostns, "addr", "add", "10.200.0.5/28", "dev", "tb-a")
    ip("-n", hostns, "link", "set", "tb-a", "up")
    cp = run_in(hostns, tree, "-n", "/bin/sh", "-c", "ip -4 addr show host0; ping -c1 -W3 10.200.0.17")
    assert cp.returncode == 0, describe(cp)
    assert "10.200.0.18/28" in cp.stdout, describe(cp)


def test_custom_pool(tree, hostns):
    cp = run_in(hostns, tree, "-n", "--network-address-pool=172.31.250.0/24", "/bin/sh", "-c",
                "ip -4 addr show host0")
    assert cp.returncode == 0, describe(cp)
    assert "172.31.250.2/28" in cp.stdout, describe(cp)


def test_name_taken(tree, hostns):
    name = f"ve-{os.path.basename(str(tree))}"[:15]
    ip("-n", hostns, "link", "add", name, "type", "veth", "peer", "name", "tb-peer")
    before = links(hostns)
    cp = run_in(hostns, tree, "-n", "/bin/true")
    assert cp.returncode != 0, describe(cp)
    lines = cp.stderr.strip().splitlines()
    assert len(lines) == 1 and "already exists" in lines[0], describe(cp)
    assert links(hostns) == before


@pytest.mark.parametrize("pool", ["10.200.0.0", "10.200.0.1/16", "10.0.0.0/29", "banana/8"])
def test_bad_pool(tree, hostns, pool):
    cp = run_in(hostns, tree, "-n", f"--network-address-pool={pool}", "/bin/true")
    assert cp.returncode != 0, describe(cp)
    lines = cp.stderr.strip().splitlines()
    assert len(lines) == 1 and "Invalid address pool" in lines[0], describe(cp)
    assert "ve-" not in links(hostns)


def nft_ruleset(ns):
    return subprocess.run(in_ns(ns, "nft", "list", "ruleset"), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=10, check=True).stdout


@pytest.fixture
def outside(hostns):
    """A third namespace standing in for the outside world, 10.99.0.2, reached from the host's
    10.99.0.1; it has no route back to the pool, so only masqueraded traffic gets an answer."""
    name = f"berth-test-{uuid.uuid4().hex[:8]}"
    ip("netns", "add", name)
    try:
        ip("-n", hostns, "link", "add", "tb-up", "type", "veth", "peer", "name", "tb-out", "netns", name)
        ip("-n", hostns, "addr", "add", "10.99.0.1/24", "dev", "tb-up")
        ip("-n", hostns, "link", "set", "tb-up", "up")
        ip("-n", name, "addr", "add", "10.99.0.2/24", "dev", "tb-out")
        ip("-n", name, "link", "set", "tb-out", "up")
        ip("-n", name, "link", "set", "lo", "up")
        subprocess.run(in_ns(hostns, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1"), check=True, timeout=10)
        yield name
    finally:
        ip("netns", "del", name, check=False)


def test_masquerade_to_the_outside(tree, hostns, outside):
    server = subprocess.Popen(in_ns(outside, "busybox", "nc", "-l", "-p", "8888"), stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(0.3)
        cp = run_in(hostns, tree, "-n", "/bin/sh", "-c",
                    "ping -c1 -W3 10.99.0.2 && echo via-nat | nc -w 3 10.99.0.2 8888")
        assert cp.returncode == 0, describe(cp) + "\n" + nft_ruleset(hostns)
        out, _ = server.communicate(timeout=10)
        assert "via-nat" in out
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    assert "berth" not in nft_ruleset(hostns)


def test_sigkill_of_spawn_leaves_no_link_and_no_rule(tree, hostns):
    p = subprocess.Popen(in_ns(hostns, SPAWN, "-q", "-D", tree, "--console=pipe", "-n", "/bin/sleep", "100"),
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         env=base_env())
    for _ in range(100):
        if "masquerade" in nft_ruleset(hostns):
            break
        time.sleep(0.05)
    assert "masquerade" in nft_ruleset(hostns)
    assert "ve-" in links(hostns)
    # nsenter execs spawn, so p.pid is spawn's supervisor.
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    for _ in range(100):
        if "berth" not in nft_ruleset(hostns) and "ve-" not in links(hostns):
            break
        time.sleep(0.05)
    assert "berth" not in nft_ruleset(hostns), nft_ruleset(hostns)
    assert "ve-" not in links(hostns), links(hostns)
