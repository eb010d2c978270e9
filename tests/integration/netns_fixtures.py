# SPDX-License-Identifier: LGPL-2.1-or-later
"""Network namespaces that play the host and the outside for the network tests. The machine's own
network is never touched: spawn runs inside a namespace of the test's making (nsenter --net, which
unlike `ip netns exec` keeps our /sys and its cgroup mounts), and every fixture deletes its
namespace in its finalizer."""

import subprocess
import time
import uuid

import pytest

from conftest import describe


def ip(*args, check=True):
    return subprocess.run(["ip", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          check=check, timeout=10)


def in_ns(ns, *cmd):
    return ["nsenter", f"--net=/run/netns/{ns}", *[str(c) for c in cmd]]


def new_netns():
    name = f"berth-test-{uuid.uuid4().hex[:8]}"
    ip("netns", "add", name)
    ip("-n", name, "link", "set", "lo", "up")
    return name


@pytest.fixture
def hostns():
    name = new_netns()
    yield name
    ip("netns", "del", name, check=False)


def links(ns):
    return ip("-n", ns, "-o", "link").stdout


def nft_ruleset(ns):
    return subprocess.run(in_ns(ns, "nft", "list", "ruleset"), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=10, check=True).stdout


def fetch(ns, addr, port, want, tries=50):
    """What a TCP connection from NS to ADDR:PORT reads, retried until it holds WANT."""
    got = ""
    for _ in range(tries):
        c = subprocess.run(in_ns(ns, "busybox", "nc", "-w", "2", addr, port), stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=10)
        got = c.stdout
        if want in got:
            return got
        time.sleep(0.1)
    return got


@pytest.fixture
def outside(hostns):
    """A third namespace standing in for the outside world, 10.99.0.2, reached from the host's
    10.99.0.1; it has no route back to the pool, so only masqueraded traffic gets an answer."""
    name = new_netns()
    try:
        ip("-n", hostns, "link", "add", "tb-up", "type", "veth", "peer", "name", "tb-out", "netns", name)
        ip("-n", hostns, "addr", "add", "10.99.0.1/24", "dev", "tb-up")
        ip("-n", hostns, "link", "set", "tb-up", "up")
        ip("-n", name, "addr", "add", "10.99.0.2/24", "dev", "tb-out")
        ip("-n", name, "link", "set", "tb-out", "up")
        subprocess.run(in_ns(hostns, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1"), check=True, timeout=10)
        yield name
    finally:
        ip("netns", "del", name, check=False)


def assert_masqueraded(hostns, outside, run, word):
    """RUN (a function of a shell command, returning its CompletedProcess) runs a container that
    pings the outside and sends WORD to its port 8888: only masquerading gets it there."""
    server = subprocess.Popen(in_ns(outside, "busybox", "nc", "-l", "-p", "8888"), stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(0.3)
        cp = run(f"ping -c1 -W3 10.99.0.2 && echo {word} | nc -w 3 10.99.0.2 8888")
        assert cp.returncode == 0, describe(cp) + "\n" + nft_ruleset(hostns)
        out, _ = server.communicate(timeout=10)
        assert word in out
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


def assert_one_line_error(cp, text):
    """CP failed with one line on stderr, holding TEXT."""
    assert cp.returncode != 0, describe(cp)
    lines = cp.stderr.strip().splitlines()
    assert len(lines) == 1 and text in lines[0], describe(cp)
