# SPDX-License-Identifier: LGPL-2.1-or-later
"""-n/--network-veth. The machine's own network is never touched: every test makes a network
namespace to play the host and runs spawn inside it (netns_fixtures.py)."""

import os
import signal
import subprocess
import time

import pytest

from conftest import SPAWN, base_env, describe
from netns_fixtures import assert_masqueraded, assert_one_line_error, fetch, in_ns, ip, links, nft_ruleset
from netns_fixtures import hostns, outside  # noqa: F401 (fixtures)


def run_in(ns, tree, *args, timeout=30):
    cmd = in_ns(ns, SPAWN, "-q", "-D", tree, "--console=pipe", *args)
    cp = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                        text=True, timeout=timeout, env=base_env())
    return cp


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
        assert "hello-from-container" in fetch(hostns, "10.200.0.2", 7777, "hello-from-container")
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
    assert_one_line_error(cp, "already exists")
    assert links(hostns) == before


@pytest.mark.parametrize("pool", ["10.200.0.0", "10.200.0.1/16", "10.0.0.0/29", "banana/8"])
def test_bad_pool(tree, hostns, pool):
    cp = run_in(hostns, tree, "-n", f"--network-address-pool={pool}", "/bin/true")
    assert_one_line_error(cp, "Invalid address pool")
    assert "ve-" not in links(hostns)


def test_masquerade_to_the_outside(tree, hostns, outside):
    assert_masqueraded(hostns, outside, lambda script: run_in(hostns, tree, "-n", "/bin/sh", "-c", script),
                       "via-nat")
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
