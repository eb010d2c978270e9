# SPDX-License-Identifier: LGPL-2.1-or-later
"""-n's addresses: IPv6 (ULA + link-local), -p/--port from the host's localhost and addresses over
IPv4 and IPv6, DHCP and DNS from dnsmasq for Debian guests that ask for them (systemd-networkd and
ifupdown), the addresses machined reports, and nothing left after a SIGKILL. As in test_network.py
every "host" is a network namespace the test makes; traffic stays between the test's namespaces."""

import os
import select
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest

import boot_fixtures
from boot_fixtures import *  # noqa: F401,F403  (overlay_of, notify, bookworm_cache)
from conftest import BUILD, IN_HELPER, SPAWN, base_env, describe, kill_pid, skip_or_fail
from machined_fixtures import machinectl
from netns_fixtures import assert_one_line_error, fetch, in_ns, ip, links, new_netns
from netns_fixtures import hostns  # noqa: F401 (fixture)
from netns_fixtures import nft_ruleset as ruleset

MACHINECTL = BUILD / "machinectl"
# A Debian guest that configures host0 with ifupdown and dhclient (cached like the others).
boot_fixtures.TREES.setdefault("debian-ifupdown", ("bookworm", "systemd,systemd-sysv,dbus,ifupdown,isc-dhcp-client"))


def sh_in(ns, script, timeout=10):
    return subprocess.run(in_ns(ns, "sh", "-c", script), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=timeout)


@pytest.fixture
def dnsmasq_bin():
    if not os.access("/usr/sbin/dnsmasq", os.X_OK):
        skip_or_fail("dnsmasq is not installed (Debian package dnsmasq-base)")
    return "/usr/sbin/dnsmasq"


@pytest.fixture
def uplink(hostns):
    """The host's own addresses 10.98.0.1 and fd00:98::1 (on a veth of the test's making: the
    kernel may lack the dummy driver)."""
    ip("-n", hostns, "link", "add", "tb-a", "type", "veth", "peer", "name", "tb-b")
    ip("-n", hostns, "addr", "add", "10.98.0.1/24", "dev", "tb-a")
    ip("-n", hostns, "addr", "add", "fd00:98::1/64", "dev", "tb-a", "nodad")
    ip("-n", hostns, "link", "set", "tb-a", "up")
    ip("-n", hostns, "link", "set", "tb-b", "up")
    return hostns


def spawn_in(ns, tree, *args, name=None, env=None):
    cmd = in_ns(ns, SPAWN, "-q", "--register=no", "-D", tree, "--console=pipe",
                *( [f"--machine={name}"] if name else []), *args)
    return subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env or base_env())


def run_in(ns, tree, *args, timeout=30):
    cmd = in_ns(ns, SPAWN, "-q", "--register=no", "-D", tree, "--console=pipe", *args)
    return subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          timeout=timeout, env=base_env())


def stop(p):
    if p.poll() is None:
        kill_pid(p.pid, signal.SIGTERM)
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            kill_pid(p.pid)
            p.wait()


def dnsmasq_for(ifname):
    """PIDs of dnsmasq processes serving IFNAME."""
    out = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    argv = f.read().split(b"\0")
            except OSError:
                continue
            if argv and argv[0].endswith(b"dnsmasq") and f"--interface={ifname}".encode() in argv:
                out.append(int(pid))
    return out


# ---------------------------------------------------------------------------------------------
# IPv6 on the veth pair

def test_ipv6_ula_and_link_local(tree, hostns):
    cp = run_in(hostns, tree, "-n", "/bin/sh", "-c",
                "ping -6 -c1 -W3 fd8b:2c3e:4a17::1 >/dev/null || exit 1; "
                # the kernel adds fe80:: once it has seen the carrier (linkwatch: up to a second)
                "for i in $(seq 50); do ip -6 addr show host0 | grep -q fe80 && break; sleep 0.1; done; "
                "ip -6 addr show host0; ip -6 route")
    assert cp.returncode == 0, describe(cp)
    assert "inet6 fd8b:2c3e:4a17::2/64" in cp.stdout, describe(cp)
    assert "inet6 fe80::" in cp.stdout, describe(cp)
    assert "default via fd8b:2c3e:4a17::1 dev host0" in cp.stdout, describe(cp)


def test_pool6_skips_routes_and_is_configurable(tree, hostns):
    ip("-n", hostns, "link", "add", "tb-a", "type", "veth", "peer", "name", "tb-b")
    ip("-n", hostns, "addr", "add", "fd8b:2c3e:4a17::9/64", "dev", "tb-a", "nodad")
    ip("-n", hostns, "link", "set", "tb-a", "up")
    # The first index's /64 is a route of the host's: both families move to the next index.
    cp = run_in(hostns, tree, "-n", "/bin/sh", "-c", "ip addr show host0")
    assert cp.returncode == 0, describe(cp)
    assert "fd8b:2c3e:4a17:1::2/64" in cp.stdout and "10.200.0.18/28" in cp.stdout, describe(cp)
    cp = run_in(hostns, tree, "-n", "--network-address-pool=fd00:77::/56", "/bin/sh", "-c", "ip addr show host0")
    assert cp.returncode == 0, describe(cp)
    assert "fd00:77::2/64" in cp.stdout, describe(cp)


@pytest.mark.parametrize("pool", ["fd00::/65", "fd00::1/48", "fd00:::/48", "fd00::"])
def test_bad_pool6(tree, hostns, pool):
    cp = run_in(hostns, tree, "-n", f"--network-address-pool={pool}", "/bin/true")
    assert_one_line_error(cp, "Invalid address pool")
    assert "ve-" not in links(hostns)


# ---------------------------------------------------------------------------------------------
# --port

SERVER = "while true; do echo from-container | nc -l -p 80; done"


def test_port_from_localhost_and_addresses_v4_v6(tree, uplink):
    p = spawn_in(uplink, tree, "-n", "-p", "8080:80", "/bin/sh", "-c", SERVER)
    try:
        for addr in ("127.0.0.1", "::1", "10.98.0.1", "fd00:98::1"):
            assert "from-container" in fetch(uplink, addr, 8080, "from-container"), (addr, ruleset(uplink))
    finally:
        stop(p)
    assert "berth" not in ruleset(uplink)
    assert "ve-" not in links(uplink)


def test_port_udp_and_protocol_prefix(tree, uplink):
    p = spawn_in(uplink, tree, "-n", "-p", "udp:5353:53", "-p", "tcp:8081:80", "/bin/sh", "-c",
                 "nc -u -l -p 53 > /tmp/got & " + SERVER)
    try:
        assert "from-container" in fetch(uplink, "10.98.0.1", 8081, "from-container")
        rules = ruleset(uplink)
        assert "udp dport 5353 dnat ip to 10.200.0.2:53" in rules, rules
        assert "tcp dport 8081 dnat ip to 10.200.0.2:80" in rules, rules
    finally:
        stop(p)


def test_port_already_forwarded(tree, uplink):
    a = spawn_in(uplink, tree, "-n", "-p", "8080:80", "/bin/sh", "-c", SERVER, name="fwd-a")
    try:
        assert "from-container" in fetch(uplink, "127.0.0.1", 8080, "from-container")
        before = ruleset(uplink)
        cp = run_in(uplink, tree, "-n", "--machine=fwd-b", "-p", "8080:80", "/bin/true")
        assert_one_line_error(cp, "Port tcp 8080 is already forwarded")
        assert "ve-fwd-b" not in links(uplink)
        assert ruleset(uplink) == before
        assert not dnsmasq_for("ve-fwd-b")
    finally:
        stop(a)


@pytest.mark.parametrize("spec", ["0", "65536", "tcp:", "sctp:80", "80:", ":80", "8o", "80:90:100", "udp:80:0"])
def test_bad_port_spec(tree, hostns, spec):
    cp = run_in(hostns, tree, "-n", f"--port={spec}", "/bin/true")
    assert_one_line_error(cp, "Invalid port forward")
    assert "ve-" not in links(hostns)
    assert "berth" not in ruleset(hostns)


def test_port_twice_and_port_without_veth(tree, hostns):
    cp = run_in(hostns, tree, "-n", "-p", "80", "-p", "tcp:80:81", "/bin/true")
    assert cp.returncode != 0 and cp.stderr.strip() == "spawn: Port tcp 80 is forwarded twice.", describe(cp)
    cp = run_in(hostns, tree, "-p", "80", "/bin/true")
    assert cp.returncode != 0 and cp.stderr.strip() == "spawn: --port= needs -n/--network-veth.", describe(cp)
    assert "ve-" not in links(hostns) and "berth" not in ruleset(hostns)


def sigkill_leaves_nothing(p, ns, ifname):
    """SIGKILLs spawn P; its nft rules, its ve- link and IFNAME's dnsmasq must go (within 10s)."""
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if "berth" not in ruleset(ns) and "ve-" not in links(ns) and not dnsmasq_for(ifname):
            break
        time.sleep(0.05)
    assert "berth" not in ruleset(ns), ruleset(ns)
    assert "ve-" not in links(ns), links(ns)
    assert not dnsmasq_for(ifname)


def test_sigkill_leaves_no_rule_dnsmasq_or_relay(tree, hostns, dnsmasq_bin):
    p = spawn_in(hostns, tree, "-n", "-p", "8080:80", "/bin/sh", "-c", SERVER, name="killed")
    try:
        assert "from-container" in fetch(hostns, "::1", 8080, "from-container")
        assert dnsmasq_for("ve-killed")
        sigkill_leaves_nothing(p, hostns, "ve-killed")
        # nobody listens on [::1]:8080 any more (state 0A: LISTEN)
        listeners = [l.split() for l in sh_in(hostns, "cat /proc/net/tcp6").stdout.splitlines()[1:]]
        assert not [l for l in listeners if l[1].upper().endswith(":1F90") and l[3] == "0A"], listeners
    finally:
        stop(p)


def test_stale_chains_are_removed_at_start(tree, hostns):
    # What a spawn-nat killed by itself leaves: chains of an interface that no longer exists.
    chain = "c_" + b"ve-gone".hex()
    subprocess.run(in_ns(hostns, "nft", "add table inet berth; add chain inet berth " + chain +
                         " { type nat hook postrouting priority srcnat; }"), check=True, timeout=10)
    cp = run_in(hostns, tree, "-n", "/bin/true")
    assert cp.returncode == 0, describe(cp)
    assert chain not in ruleset(hostns)
    assert "berth" not in ruleset(hostns)


# ---------------------------------------------------------------------------------------------
# DNS and DHCP

@pytest.fixture
def world(hostns, dnsmasq_bin, _resources):
    """A third namespace standing for the outside world: 10.99.0.2, a DNS server there that
    knows outside.test, and a resolv.conf naming it for spawn's mount namespace."""
    name = new_netns()
    server = None
    try:
        ip("-n", hostns, "link", "add", "tb-up", "type", "veth", "peer", "name", "tb-out", "netns", name)
        ip("-n", hostns, "addr", "add", "10.99.0.1/24", "dev", "tb-up")
        ip("-n", hostns, "link", "set", "tb-up", "up")
        ip("-n", hostns, "addr", "add", "fd00:99::1/64", "dev", "tb-up", "nodad")
        ip("-n", name, "addr", "add", "10.99.0.2/24", "dev", "tb-out")
        ip("-n", name, "addr", "add", "fd00:99::2/64", "dev", "tb-out", "nodad")
        ip("-n", name, "link", "set", "tb-out", "up")
        subprocess.run(in_ns(hostns, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1"), check=True, timeout=10)
        subprocess.run(in_ns(hostns, "sysctl", "-q", "-w", "net.ipv6.conf.all.forwarding=1"), check=True, timeout=10)
        server = subprocess.Popen(in_ns(name, dnsmasq_bin, "--keep-in-foreground", "--conf-file=/dev/null",
                                        "--no-resolv", "--no-hosts", "--pid-file=", "--bind-interfaces",
                                        "--listen-address=10.99.0.2", "--except-interface=lo", "--user=root",
                                        "--address=/outside.test/10.99.0.7", "--address=/outside.test/fd00:99::7"),
                                  stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        resolv = _resources.mkdtemp("resolv") / "resolv.conf"
        resolv.write_text("nameserver 10.99.0.2\n")
        yield hostns, resolv
    finally:
        if server:
            stop(server)
        ip("netns", "del", name, check=False)


def spawn_with_resolv(ns, resolv, *args):
    """spawn in NS, in a mount namespace of its own whose /etc/resolv.conf is RESOLV (the
    "host's" name servers, which dnsmasq on ve-NAME forwards to)."""
    script = f'mount --bind {resolv} /etc/resolv.conf && exec "$@"'
    return ["nsenter", f"--net=/run/netns/{ns}", "unshare", "-m", "--propagation", "private", "sh", "-c", script,
            "sh", str(SPAWN), *[str(a) for a in args]]


def test_outbound_ipv6_is_masqueraded(tree, world):
    # The outside namespace has no route back to the ULA: only a masqueraded ping is answered.
    ns, _ = world
    cp = run_in(ns, tree, "-n", "/bin/sh", "-c", "ping -6 -c1 -W3 fd00:99::2")
    assert cp.returncode == 0, describe(cp) + ruleset(ns)


def test_busybox_guest_resolves_names(tree, world):
    ns, resolv = world
    cp = subprocess.run(spawn_with_resolv(ns, resolv, "-q", "--register=no", "-D", tree, "--console=pipe",
                                          "--resolv-conf=auto", "-n", "/bin/sh", "-c",
                                          "cat /etc/resolv.conf; nslookup outside.test"),
                        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                        timeout=30, env=base_env())
    assert cp.returncode == 0, describe(cp)
    assert "nameserver 10.200.0.1" in cp.stdout, describe(cp)
    assert "10.99.0.7" in cp.stdout, describe(cp)


class Guest:
    def __init__(self, proc, logfile):
        self.proc = proc
        self.logfile = logfile

    def leader(self):
        own = os.readlink("/proc/self/ns/pid")
        for _ in range(200):
            try:
                with open(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children") as f:
                    for k in f.read().split():
                        if os.readlink(f"/proc/{k}/ns/pid") != own:
                            return int(k)
            except OSError:
                pass
            time.sleep(0.05)
        raise AssertionError("no container init")

    def run(self, *cmd, net_only=False, timeout=20):
        ns = ["-n"] if net_only else ["-m", "-u", "-i", "-n", "-p"]
        return subprocess.run(["nsenter", "-t", str(self.leader()), *ns, "--", *cmd], stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout)

    def log(self):
        return self.logfile.read_text(errors="replace")


def boot_guest(world, tree, notify, logdir, *args):
    ns, resolv = world
    log = logdir / "console.log"
    with open(log, "wb") as out:
        p = subprocess.Popen(spawn_with_resolv(ns, resolv, "--register=no", "-D", tree, "-b", "--notify-ready=yes",
                                               "--console=read-only", "-n", *args),
                             stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                             env=base_env(NOTIFY_SOCKET=notify.path))
    return Guest(p, log)


def wait_dhcp(g, lease_file=None, timeout=90):
    """host0's IPv4 address from the guest's DHCP client: networkd drops the address spawn set
    and adds the leased one, "dynamic"; dhclient finds it in place (the same address) and
    records its lease in LEASE_FILE."""
    deadline = time.monotonic() + timeout
    out = ""
    while time.monotonic() < deadline:
        out = g.run("ip", "-4", "addr", "show", "host0", net_only=True).stdout
        if lease_file:
            lease = g.run("cat", lease_file).stdout
            if "fixed-address 10.200.0.2;" in lease and "10.200.0.2/28" in out:
                return lease
        elif "10.200.0.2/28" in out and "dynamic" in out:
            return out
        assert g.proc.poll() is None, g.log()
        time.sleep(0.5)
    raise AssertionError(f"no DHCP lease on host0 within {timeout}s: {out}\n{g.log()[-3000:]}")


def check_guest_network(g):
    route = g.run("ip", "route", net_only=True).stdout
    assert "default via 10.200.0.1 dev host0" in route, route
    addr6 = g.run("ip", "-6", "addr", "show", "host0", net_only=True).stdout
    assert "inet6 fe80::" in addr6, addr6
    for _ in range(20):
        cp = g.run("getent", "ahostsv4", "outside.test")
        if "10.99.0.7" in cp.stdout:
            break
        time.sleep(0.5)
    assert "10.99.0.7" in cp.stdout, (describe(cp), g.run("cat", "/etc/resolv.conf").stdout)


def networkd_guest_gets_dhcp(world, root, notify, logdir, *args):
    """Boots the Debian tree ROOT (spawn options ARGS) with systemd-networkd (service and socket)
    enabled: it must take host0 over and get its lease."""
    for target, unit in (("multi-user", "systemd-networkd.service"), ("sockets", "systemd-networkd.socket")):
        wants = root / f"etc/systemd/system/{target}.target.wants"
        wants.mkdir(parents=True, exist_ok=True)
        (wants / unit).symlink_to(f"/lib/systemd/system/{unit}")
    g = boot_guest(world, root, notify, logdir, *args)
    try:
        notify.wait_for("READY=1")
        wait_dhcp(g)
        check_guest_network(g)
    finally:
        stop(g.proc)


def test_debian_networkd_guest_gets_dhcp(bookworm_cache, overlay_of, world, notify, _resources):
    root = overlay_of(bookworm_cache, "netd")
    networkd_guest_gets_dhcp(world, root, notify, _resources.mkdtemp("log"))


@pytest.fixture(scope="session")
def ifupdown_cache():
    return boot_fixtures.cached_tree("debian-ifupdown")


def test_debian_ifupdown_guest_gets_dhcp(ifupdown_cache, overlay_of, world, notify, _resources):
    root = overlay_of(ifupdown_cache, "ifud")
    (root / "etc/network/interfaces.d").mkdir(parents=True, exist_ok=True)
    (root / "etc/network/interfaces.d/host0").write_text("auto host0\niface host0 inet dhcp\n")
    g = boot_guest(world, root, notify, _resources.mkdtemp("log"))
    try:
        notify.wait_for("READY=1")
        lease = wait_dhcp(g, lease_file="/var/lib/dhcp/dhclient.host0.leases")
        assert "option routers 10.200.0.1;" in lease and "option domain-name-servers 10.200.0.1;" in lease, lease
        check_guest_network(g)
    finally:
        stop(g.proc)


# ---------------------------------------------------------------------------------------------
# machined: the interface index and the addresses

def test_machined_addresses(busybox_tree, hostns, machined):
    name = f"na-{uuid.uuid4().hex[:6]}"
    env = machined.bus.env()
    p = subprocess.Popen(in_ns(hostns, SPAWN, "-q", "--register=yes", "-D", busybox_tree, f"--machine={name}",
                               "--console=pipe", "-n", "--setenv=BERTH_TEST_HELPER_HANG_READY=1", IN_HELPER,
                               "sleep-forever"),
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        out = b""
        deadline = time.monotonic() + 15
        while b"ready" not in out and p.poll() is None and time.monotonic() < deadline:
            if select.select([p.stdout], [], [], 0.2)[0]:
                out += os.read(p.stdout.fileno(), 4096)
        assert b"ready" in out, (p.poll(), out)
        ifindex = int(ip("-n", hostns, "-o", "link", "show", f"ve-{name}").stdout.split(":")[0])
        props = machined.properties(machined.manager().GetMachine(name), "org.freedesktop.machine1.Machine")
        assert [int(i) for i in props["NetworkInterfaces"]] == [ifindex]
        addrs = machined.manager().GetMachineAddresses(name)
        text = {(int(f), bytes(bytearray(a))) for f, a in addrs}
        assert (2, bytes([10, 200, 0, 2])) in text, addrs
        assert any(f == 10 and a.startswith(bytes.fromhex("fd8b2c3e4a17")) for f, a in text), addrs
        ours = subprocess.run([str(MACHINECTL), "list", "--max-addresses=all"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env, timeout=10)
        assert "ADDRESSES" in ours.stdout and "10.200.0.2" in ours.stdout, describe(ours)
        status = subprocess.run([str(MACHINECTL), "status", name], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env=env, timeout=10)
        assert "Address: 10.200.0.2" in status.stdout, describe(status)
        theirs = machinectl(machined.bus, "list", "--max-addresses=all")
        assert theirs.returncode == 0 and "10.200.0.2" in theirs.stdout, describe(theirs)
        assert "fd8b:2c3e:4a17::2" in theirs.stdout, describe(theirs)
        theirs = machinectl(machined.bus, "status", name)
        assert "Address: 10.200.0.2" in theirs.stdout, describe(theirs)
    finally:
        stop(p)


def test_machined_start_gives_a_private_network(machined_bin, machined_bus, busybox_tree, spawn_bin, hostns,
                                                _resources):
    """machined's own start path passes -n (as systemd-nspawn@.service does --network-veth): run
    in the test's "host" namespace, the started machine has ve-NAME there and addresses."""
    from test_machined_start import CALL_TIMEOUT, Supervising
    s = Supervising(machined_bus, _resources.mkdtemp("machined-start"), busybox_tree)
    plain = s.m.cmdline
    s.m.cmdline = lambda *extra: in_ns(hostns, *plain(*extra, "--start-network=veth"))
    try:
        s.image("netbb")
        s.start()
        s.api().StartImage("netbb", timeout=CALL_TIMEOUT)
        assert "ve-netbb" in links(hostns)
        ifindex = int(ip("-n", hostns, "-o", "link", "show", "ve-netbb").stdout.split(":")[0])
        props = s.m.properties(s.m.manager().GetMachine("netbb"), "org.freedesktop.machine1.Machine")
        assert [int(i) for i in props["NetworkInterfaces"]] == [ifindex]
        addrs = {(int(f), bytes(bytearray(a))) for f, a in s.m.manager().GetMachineAddresses("netbb")}
        assert (2, bytes([10, 200, 0, 2])) in addrs, addrs
        s.api().StopImage("netbb", timeout=CALL_TIMEOUT)
        assert "ve-netbb" not in links(hostns)
    finally:
        s.cleanup()


OPEN_BUS = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>system</type><listen>unix:path={socket}</listen><auth>EXTERNAL</auth>
<policy context="default"><allow user="*"/><allow own="*"/><allow send_destination="*"/>
<allow receive_sender="*"/></policy></busconfig>
"""


@pytest.fixture
def open_bus(_resources):
    """A private bus on which anyone may own any name (to play systemd-networkd)."""
    d = _resources.mkdtemp("bus")
    (d / "bus.conf").write_text(OPEN_BUS.format(socket=d / "bus.sock"))
    p = subprocess.Popen(["dbus-daemon", f"--config-file={d / 'bus.conf'}", "--nofork", "--nopidfile"],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            if (d / "bus.sock").exists():
                break
            time.sleep(0.02)
        yield f"unix:path={d / 'bus.sock'}"
    finally:
        stop(p)


def test_networkd_host_keeps_the_links(tree, hostns, open_bus, _resources):
    """With systemd-networkd running (its state directory, and its bus name owned: here on the
    test's bus), spawn makes the pair and leaves addressing, DHCP and NAT to networkd."""
    import dbus
    state = _resources.mkdtemp("netif")
    conn = dbus.bus.BusConnection(open_bus)
    try:
        assert conn.request_name("org.freedesktop.network1") == dbus.bus.REQUEST_NAME_REPLY_PRIMARY_OWNER
        env = base_env(DBUS_SYSTEM_BUS_ADDRESS=open_bus, BERTH_NETWORKD_STATE_DIR=str(state))
        p = spawn_in(hostns, tree, "-n", "--register=no", "/bin/sh", "-c",
                     "ip -4 addr show host0; echo ---; cat /etc/resolv.conf; sleep 3", name="nd", env=env)
        try:
            deadline = time.monotonic() + 10
            while "ve-nd" not in links(hostns) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert "ve-nd" in links(hostns)
            assert "inet " not in ip("-n", hostns, "addr", "show", "ve-nd").stdout
            assert "berth" not in ruleset(hostns)
            assert not dnsmasq_for("ve-nd")
            out, err = p.communicate(timeout=20)
            assert p.returncode == 0, err
            assert "inet " not in out.split("---")[0], out
            assert "10.200." not in out, out
        finally:
            stop(p)
        cp = subprocess.run(in_ns(hostns, SPAWN, "-q", "--register=no", "-D", tree, "--console=pipe", "-n",
                                  "-p", "80", "/bin/true"), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, timeout=30, env=env)
        assert_one_line_error(cp, "systemd-networkd manages ve-")
        assert "ve-" not in links(hostns)
    finally:
        conn.close()


def test_port_from_trusted_settings_file(tree, uplink):
    """Port= in a trusted NAME.nspawn forwards as --port does; VirtualEthernet= gives the veth."""
    name = f"portset-{os.getpid()}"
    path = Path("/run/systemd/nspawn") / f"{name}.nspawn"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("[Network]\nVirtualEthernet=yes\nPort=tcp:8082:80\n")
    p = spawn_in(uplink, tree, "/bin/sh", "-c", SERVER, name=name)
    try:
        assert "from-container" in fetch(uplink, "127.0.0.1", 8082, "from-container"), ruleset(uplink)
        assert "tcp dport 8082 dnat ip to" in ruleset(uplink)
    finally:
        stop(p)
        path.unlink()
    assert "berth" not in ruleset(uplink)


# ---------------------------------------------------------------------------------------------
# -U: the network namespace is the container's user namespace's, so its root configures it

GUEST_CONFIGURES = ("ip link set host0 down && echo down-ok; ip link set host0 up && echo up-ok; "
                    "ip addr add 10.77.0.2/24 dev host0 && echo addr-ok; "
                    "ip route add 10.78.0.0/16 via 10.77.0.1 && echo route-ok; ip -4 addr show host0; ip route")


def test_userns_guest_root_configures_host0(tree, hostns):
    """Under -U -n (what machinectl start passes) the guest's root brings host0 down and up, adds an
    address and a route: its network namespace belongs to its user namespace, not to the host's."""
    cp = run_in(hostns, tree, "-U", "-n", "/bin/sh", "-c", "cat /proc/self/uid_map; " + GUEST_CONFIGURES)
    assert cp.returncode == 0, describe(cp)
    assert cp.stdout.split()[:2] != ["0", "0"], describe(cp)  # really a user namespace
    for word in ("down-ok", "up-ok", "addr-ok", "route-ok", "inet 10.77.0.2/24", "10.78.0.0/16 via 10.77.0.1"):
        assert word in cp.stdout, describe(cp)
    # spawn's own addressing happened before, in the same namespace
    assert "inet 10.200.0.2/28" in cp.stdout, describe(cp)
    assert "ve-" not in links(hostns)


def test_userns_private_network_configures_lo(tree, hostns):
    cp = run_in(hostns, tree, "-U", "--private-network", "/bin/sh", "-c",
                "ip addr add 127.0.0.2/8 dev lo && echo addr-ok; ip link set lo down && echo down-ok; "
                "ip link set lo up && echo up-ok; ip -4 addr show lo")
    assert cp.returncode == 0, describe(cp)
    for word in ("addr-ok", "down-ok", "up-ok", "inet 127.0.0.2/8"):
        assert word in cp.stdout, describe(cp)


def test_userns_network_namespace_path_stays_the_hosts(tree, hostns):
    """--network-namespace-path joins that namespace as it is: owned by the host's user namespace,
    so under -U the guest's root may not reconfigure it."""
    cp = run_in(hostns, tree, "-U", f"--network-namespace-path=/run/netns/{hostns}", "/bin/sh", "-c",
                "ip link set lo down; echo rc=$?")
    assert cp.returncode == 0 and "rc=0" not in cp.stdout, describe(cp)
    assert "UP" in ip("-n", hostns, "link", "show", "lo").stdout


def test_userns_sigkill_leaves_no_link_or_rule(tree, hostns, dnsmasq_bin):
    p = spawn_in(hostns, tree, "-U", "-n", "-p", "8081:80", "/bin/sleep", "60", name="ukilled")
    try:
        deadline = time.monotonic() + 15
        while not dnsmasq_for("ve-ukilled") and time.monotonic() < deadline:
            assert p.poll() is None, p.communicate()
            time.sleep(0.05)
        assert "ve-ukilled" in links(hostns) and "berth" in ruleset(hostns)
        sigkill_leaves_nothing(p, hostns, "ve-ukilled")
    finally:
        stop(p)


def test_debian_networkd_guest_gets_dhcp_under_userns(bookworm_cache, world, notify, _resources):
    """systemd-networkd in a -U -n guest (machinectl start's options) takes host0 over from
    spawn's static address and gets its lease: it needs CAP_NET_ADMIN over host0. A copy of
    the cached tree: the cache stays pristine, an overlay cannot be ID-mapped."""
    root = _resources.mkdtemp("netd-userns") / "root"
    subprocess.run(["cp", "-a", str(bookworm_cache), str(root)], check=True, timeout=600)
    networkd_guest_gets_dhcp(world, root, notify, _resources.mkdtemp("log"), "-U", "--private-users-ownership=map")
