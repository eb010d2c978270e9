# SPDX-License-Identifier: LGPL-2.1-or-later
"""--network-bridge, -zone, -veth-extra, -macvlan, -ipvlan, -interface, -namespace-path, and the
pool's lock. As in test_network.py, every test makes network namespaces of its own to play the host
(and the outside); the machine's own network is never touched."""

import concurrent.futures
import signal
import subprocess
import time
import uuid

import pytest

from conftest import SPAWN, base_env, describe
from netns_fixtures import assert_masqueraded, assert_one_line_error, fetch, in_ns, ip, new_netns, nft_ruleset
from netns_fixtures import hostns, outside  # noqa: F401 (fixtures)


@pytest.fixture
def otherns():
    name = new_netns()
    yield name
    ip("netns", "del", name, check=False)


def spawn_args(tree, machine, *args):
    return [SPAWN, "-q", "--register=no", "-D", tree, "-M", machine, "--console=pipe", *args]


def run_in(ns, tree, machine, *args, timeout=30):
    return subprocess.run(in_ns(ns, *spawn_args(tree, machine, *args)), stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout,
                          env=base_env())


def start_in(ns, tree, machine, *args):
    # nsenter execs spawn: the Popen's pid is spawn's supervisor.
    return subprocess.Popen(in_ns(ns, *spawn_args(tree, machine, *args)), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=base_env())


def stop(p, sig=signal.SIGKILL):
    if p.poll() is None:
        p.send_signal(sig)
    try:
        p.wait(timeout=15)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


def link_names(ns):
    out = ip("-n", ns, "-o", "link").stdout
    return {line.split(":")[1].strip().split("@")[0] for line in out.splitlines() if ":" in line}


def wait_for(pred, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.05)
    return pred()


def veth(ns, a, b, b_ns=None):
    ip("-n", ns, "link", "add", a, "type", "veth", "peer", "name", b, *(["netns", b_ns] if b_ns else []))


def test_zone_members_reach_each_other_and_the_bridge_goes_with_the_last(tree, hostns):
    a = start_in(hostns, tree, "zmema", "--network-zone=tz", "/bin/sh", "-c", "ip -4 addr show host0; sleep 60")
    try:
        assert wait_for(lambda: {"vz-tz", "vb-zmema"} <= link_names(hostns)), link_names(hostns)
        b = run_in(hostns, tree, "zmemb", "--network-zone=tz", "/bin/sh", "-c",
                   "ip -4 addr show host0; ip route; ping -c1 -W3 10.200.0.2 && ping -c1 -W3 10.200.0.1")
        assert b.returncode == 0, describe(b)
        assert "10.200.0.3/24" in b.stdout and "default via 10.200.0.1 dev host0" in b.stdout, describe(b)
        # b left; a is still a member: the bridge stays, with its address.
        names = link_names(hostns)
        assert "vz-tz" in names and "vb-zmemb" not in names, names
        assert "10.200.0.1/24" in ip("-n", hostns, "-4", "addr", "show", "vz-tz").stdout
        # The host reaches a member through the bridge.
        c = subprocess.run(in_ns(hostns, "busybox", "ping", "-c1", "-W3", "10.200.0.2"), stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=10)
        assert c.returncode == 0, c.stdout
    finally:
        stop(a, signal.SIGTERM)
    out = a.stdout.read()
    assert "10.200.0.2/24" in out, out
    # Deleting links waits for RCU grace periods: spawn leaves that to its cleanup process.
    assert wait_for(lambda: not any(n.startswith(("vz-", "vb-")) for n in link_names(hostns))), link_names(hostns)


def test_zone_keeps_off_a_running_veth_subnet(tree, hostns):
    # -n's /28 and a zone's /24 come from one pool and never overlap.
    a = start_in(hostns, tree, "zveth", "-n", "/bin/sleep", "60")
    try:
        assert wait_for(lambda: "ve-zveth" in link_names(hostns))
        b = run_in(hostns, tree, "zafter", "--network-zone=tz2", "/bin/sh", "-c", "ip -4 addr show host0")
        assert b.returncode == 0, describe(b)
        assert "10.200.1.2/24" in b.stdout, describe(b)
    finally:
        stop(a, signal.SIGTERM)


def test_sigkill_leaves_no_bridge_link_or_claim(tree, hostns):
    p = start_in(hostns, tree, "zkill", "--network-zone=tk", "--network-veth-extra=tx-kill", "/bin/sleep", "60")
    try:
        assert wait_for(lambda: {"vz-tk", "vb-zkill", "tx-kill"} <= link_names(hostns)), link_names(hostns)
    finally:
        stop(p, signal.SIGKILL)
    assert wait_for(lambda: not ({"vz-tk", "vb-zkill", "tx-kill"} & link_names(hostns))), link_names(hostns)
    # The address is free again: the next member gets .2.
    cp = run_in(hostns, tree, "zkill2", "--network-zone=tk", "/bin/sh", "-c", "ip -4 addr show host0")
    assert cp.returncode == 0 and "10.200.0.2/24" in cp.stdout, describe(cp)
    assert wait_for(lambda: "vz-tk" not in link_names(hostns)), link_names(hostns)


def test_zone_member_is_masqueraded_to_the_outside(tree, hostns, outside):
    assert_masqueraded(hostns, outside,
                       lambda script: run_in(hostns, tree, "zout", "--network-zone=to", "/bin/sh", "-c", script),
                       "via-zone-nat")
    # spawn waits for its rule to go; only the bridge is left to its cleanup process.
    assert "berth" not in nft_ruleset(hostns)


def test_zone_sigkill_leaves_no_rule(tree, hostns):
    p = start_in(hostns, tree, "zrule", "--network-zone=tr", "/bin/sleep", "60")
    try:
        assert wait_for(lambda: "masquerade" in nft_ruleset(hostns)), nft_ruleset(hostns)
    finally:
        stop(p, signal.SIGKILL)
    assert wait_for(lambda: "berth" not in nft_ruleset(hostns)), nft_ruleset(hostns)
    assert wait_for(lambda: "vz-tr" not in link_names(hostns)), link_names(hostns)


SERVER = "while true; do echo from-member | nc -l -p 80; done"


def test_zone_port_from_localhost_and_host_address(tree, hostns, outside):
    """--port to a zone member: the host's 127.0.0.1, [::1] (spawn-nat's TCP relay: zones are
    IPv4-only) and its address 10.99.0.1, from the host itself and from the outside; a SIGKILL of
    spawn leaves no rule and no bridge."""
    p = start_in(hostns, tree, "zport", "--network-zone=tp", "-p", "8080:80", "/bin/sh", "-c", SERVER)
    try:
        for ns, addr in ((hostns, "127.0.0.1"), (hostns, "::1"), (hostns, "10.99.0.1"), (outside, "10.99.0.1")):
            got = fetch(ns, addr, 8080, "from-member")
            assert "from-member" in got, (ns, addr, nft_ruleset(hostns), p.stderr.read() if p.poll() is not None else "")
        rules = nft_ruleset(hostns)
        assert "tcp dport 8080 dnat ip to 10.200.0.2:80" in rules, rules
        assert 'oifname "vz-tp" ip saddr 127.0.0.0/8 ip daddr 10.200.0.2 masquerade' in rules, rules
        # The DNATed 127.0.0.1 traffic leaves by the bridge: that is where the kernel checks it.
        localnet = in_ns(hostns, "cat", "/proc/sys/net/ipv4/conf/vz-tp/route_localnet")
        assert subprocess.run(localnet, stdout=subprocess.PIPE, text=True).stdout.strip() == "1"
    finally:
        stop(p, signal.SIGKILL)
    assert wait_for(lambda: "berth" not in nft_ruleset(hostns)), nft_ruleset(hostns)
    assert wait_for(lambda: not ({"vz-tp", "vb-zport"} & link_names(hostns))), link_names(hostns)


def test_zone_port_already_forwarded(tree, hostns):
    a = start_in(hostns, tree, "zfwda", "--network-zone=tf", "-p", "8080:80", "/bin/sh", "-c", SERVER)
    try:
        assert "from-member" in fetch(hostns, "127.0.0.1", 8080, "from-member"), nft_ruleset(hostns)
        before = nft_ruleset(hostns)
        cp = run_in(hostns, tree, "zfwdb", "--network-zone=tf", "-p", "8080:80", "/bin/true")
        assert_one_line_error(cp, "Port tcp 8080 is already forwarded")
        assert nft_ruleset(hostns) == before
        assert wait_for(lambda: "vb-zfwdb" not in link_names(hostns)), link_names(hostns)
    finally:
        stop(a, signal.SIGTERM)


def test_port_with_bridge_is_refused(tree, hostns):
    ip("-n", hostns, "link", "add", "tbr0", "type", "bridge")
    cp = run_in(hostns, tree, "brport", "--network-bridge=tbr0", "-p", "8080:80", "/bin/true")
    assert_one_line_error(cp, "--port= needs an address spawn assigns (-n or --network-zone=); with --network-bridge=")
    assert "vb-brport" not in link_names(hostns)
    assert "berth" not in nft_ruleset(hostns)


def test_bridge(tree, hostns):
    ip("-n", hostns, "link", "add", "tbr0", "type", "bridge")
    ip("-n", hostns, "addr", "add", "10.98.0.1/24", "dev", "tbr0")
    ip("-n", hostns, "link", "set", "tbr0", "up")
    p = start_in(hostns, tree, "brmem", "--network-bridge=tbr0", "/bin/sh", "-c",
                 "ip addr add 10.98.0.2/24 dev host0 && ping -c1 -W3 10.98.0.1 && sleep 60")
    try:
        assert wait_for(lambda: "master tbr0" in ip("-n", hostns, "-o", "link", "show", "vb-brmem",
                                                     check=False).stdout)
        assert wait_for(lambda: subprocess.run(in_ns(hostns, "busybox", "ping", "-c1", "-W1", "10.98.0.2"),
                                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0)
    finally:
        stop(p, signal.SIGTERM)
    # The bridge is the administrator's: it stays; our member does not.
    assert wait_for(lambda: "vb-brmem" not in link_names(hostns)), link_names(hostns)
    assert "tbr0" in link_names(hostns)


def test_long_machine_name_is_shortened_with_a_hash(tree, hostns):
    cp = run_in(hostns, tree, "averyveryverylongmachinename", "--network-bridge=tbr1", "/bin/true")
    assert cp.returncode != 0 and "Bridge tbr1 does not exist." in cp.stderr, describe(cp)
    ip("-n", hostns, "link", "add", "tbr1", "type", "bridge")
    p = start_in(hostns, tree, "averyveryverylongmachinename", "--network-bridge=tbr1", "/bin/sleep", "60")
    try:
        assert wait_for(lambda: any(n.startswith("vb-aver") for n in link_names(hostns)))
        name = next(n for n in link_names(hostns) if n.startswith("vb-"))
        assert len(name) == 15 and name[:7] == "vb-aver" and all(c in "0123456789abcdef" for c in name[7:]), name
    finally:
        stop(p, signal.SIGTERM)


def test_veth_extra(tree, hostns):
    p = start_in(hostns, tree, "vextra", "--network-veth-extra=tx-host:tx-inner", "--network-veth-extra=tx-same",
                 "/bin/sh", "-c", "ip -o link; sleep 2")
    try:
        assert wait_for(lambda: {"tx-host", "tx-same"} <= link_names(hostns)), link_names(hostns)
        assert p.wait(timeout=30) == 0, p.stderr.read()
    finally:
        stop(p)
    out = p.stdout.read()
    assert "tx-inner@" in out and "tx-same@" in out, out
    assert wait_for(lambda: not ({"tx-host", "tx-same"} & link_names(hostns))), link_names(hostns)


# -U: the guest's root configures what was moved in (its network namespace is its user namespace's).
@pytest.mark.parametrize("userns", [[], ["-U"]], ids=["no-userns", "userns"])
def test_macvlan_on_a_test_veth(tree, hostns, otherns, userns):
    veth(hostns, "tb-mvp", "tb-out", otherns)
    ip("-n", hostns, "link", "set", "tb-mvp", "up")
    ip("-n", otherns, "addr", "add", "10.97.0.2/24", "dev", "tb-out")
    ip("-n", otherns, "link", "set", "tb-out", "up")
    cp = run_in(hostns, tree, "mvlan", *userns, "--network-macvlan=tb-mvp", "/bin/sh", "-c",
                "ip addr add 10.97.0.3/24 dev mv-tb-mvp && ip link set mv-tb-mvp up && ping -c1 -W3 10.97.0.2")
    assert cp.returncode == 0, describe(cp)
    assert wait_for(lambda: link_names(hostns) == {"lo", "tb-mvp"}), link_names(hostns)


def test_ipvlan(tree, hostns):
    veth(hostns, "tb-ivp", "tb-ivq")
    probe = ip("-n", hostns, "link", "add", "link", "tb-ivp", "name", "tb-probe", "type", "ipvlan", check=False)
    if probe.returncode != 0:
        # A kernel feature, not a tool or privilege: a stated skip even under MUST_WORK.
        pytest.skip(f"this kernel has no ipvlan driver: {probe.stderr.strip()}")
    ip("-n", hostns, "link", "del", "tb-probe")
    cp = run_in(hostns, tree, "ivlan", "--network-ipvlan=tb-ivp", "/bin/sh", "-c", "ip -o link")
    assert cp.returncode == 0, describe(cp)
    assert "iv-tb-ivp" in cp.stdout, describe(cp)
    assert link_names(hostns) == {"lo", "tb-ivp", "tb-ivq"}


def test_ipvlan_without_the_driver_is_a_clean_error(tree, hostns):
    veth(hostns, "tb-ivp", "tb-ivq")
    probe = ip("-n", hostns, "link", "add", "link", "tb-ivp", "name", "tb-probe", "type", "ipvlan", check=False)
    if probe.returncode == 0:
        ip("-n", hostns, "link", "del", "tb-probe")
        pytest.skip("this kernel has the ipvlan driver (test_ipvlan covers it)")
    cp = run_in(hostns, tree, "ivlan", "--network-ipvlan=tb-ivp", "/bin/true")
    assert_one_line_error(cp, "no ipvlan driver")


@pytest.mark.parametrize("userns", [[], ["-U"]], ids=["no-userns", "userns"])
@pytest.mark.parametrize("how", ["exit", "sigkill"])
def test_interface_moved_in_and_back(tree, hostns, how, userns):
    # A veth: virtual, so the kernel would destroy it with the container's namespace; the cleanup
    # process holds that namespace and moves it back first.
    veth(hostns, "tb-mv1", "tb-mv2")
    ip("-n", hostns, "addr", "add", "10.96.0.1/24", "dev", "tb-mv2")
    ip("-n", hostns, "link", "set", "tb-mv2", "up")
    p = start_in(hostns, tree, "moved", *userns, "--network-interface=tb-mv1", "/bin/sh", "-c",
                 "ip addr add 10.96.0.2/24 dev tb-mv1 && ip link set tb-mv1 up && ping -c1 -W3 10.96.0.1 && "
                 "echo reached && sleep 60")
    try:
        assert wait_for(lambda: "tb-mv1" not in link_names(hostns))
        assert wait_for(lambda: subprocess.run(in_ns(hostns, "busybox", "ping", "-c1", "-W1", "10.96.0.2"),
                                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0)
    finally:
        stop(p, signal.SIGTERM if how == "exit" else signal.SIGKILL)
    if how == "exit":
        # spawn returns once the interface is back.
        assert "tb-mv1" in link_names(hostns), link_names(hostns)
    assert wait_for(lambda: "tb-mv1" in link_names(hostns)), link_names(hostns)


def test_interface_renamed_inside_and_back(tree, hostns):
    veth(hostns, "tb-rn1", "tb-rn2")
    cp = run_in(hostns, tree, "renamed", "--network-interface=tb-rn1:inside0", "/bin/sh", "-c", "ip -o link")
    assert cp.returncode == 0, describe(cp)
    assert "inside0" in cp.stdout and "tb-rn1" not in cp.stdout, describe(cp)
    names = link_names(hostns)
    assert "tb-rn1" in names and "inside0" not in names, names


def test_network_namespace_path(tree, hostns, otherns):
    veth(otherns, "tb-nsp", "tb-nsq")
    cp = run_in(hostns, tree, "nspath", f"--network-namespace-path=/run/netns/{otherns}", "/bin/sh", "-c", "ip -o link")
    assert cp.returncode == 0, describe(cp)
    assert "tb-nsp" in cp.stdout and "tb-nsq" in cp.stdout, describe(cp)
    # Joined, not owned: the namespace and its links outlive the container.
    assert link_names(otherns) == {"lo", "tb-nsp", "tb-nsq"}


@pytest.mark.parametrize("trusted", [True, False])
def test_settings_file_network_keys(busybox_tree, scratch, hostns, trusted):
    # NAME.nspawn next to the tree: honoured only when trusted (--settings=trusted here), as
    # nspawn honours [Network] only from trusted files.
    name = f"setnet{uuid.uuid4().hex[:6]}"
    link = scratch / name
    link.symlink_to(busybox_tree)
    (scratch / f"{name}.nspawn").write_text("[Network]\nZone=ts\nVirtualEthernetExtra=tx-set:tx-setin\n")
    cp = subprocess.run(in_ns(hostns, SPAWN, "-q", "--register=no", "-D", link, "-M", name, "--console=pipe",
                              *(["--settings=trusted"] if trusted else []), "/bin/sh", "-c", "ip -o addr; ip -o link"),
                        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                        timeout=30, env=base_env())
    assert cp.returncode == 0, describe(cp)
    if trusted:
        assert "10.200.0.2/24" in cp.stdout and "tx-setin" in cp.stdout, describe(cp)
    else:
        assert "host0" not in cp.stdout and "Zone=" in cp.stderr, describe(cp)
    assert wait_for(lambda: link_names(hostns) == {"lo"}), link_names(hostns)


def concurrent_addresses(hostns, tree, n, prefix, network, suffix):
    """Starts N containers at once (machines PREFIX0..), each with NETWORK; their host0 IPv4
    addresses that end in SUFFIX."""
    def one(i):
        return run_in(hostns, tree, f"{prefix}{i}", network, "/bin/sh", "-c", "ip -4 addr show host0; sleep 1",
                      timeout=60)

    with concurrent.futures.ThreadPoolExecutor(max_workers=n) as ex:
        results = list(ex.map(one, range(n)))
    addrs = []
    for cp in results:
        assert cp.returncode == 0, describe(cp)
        addrs += [w for w in cp.stdout.split() if w.startswith("10.200.") and w.endswith(suffix)]
    return addrs


def test_concurrent_spawns_get_distinct_subnets(tree, hostns):
    addrs = concurrent_addresses(hostns, tree, 6, "race", "-n", "/28")
    assert len(addrs) == 6 and len(set(addrs)) == 6, addrs


def test_concurrent_zone_members_get_distinct_addresses(tree, hostns):
    addrs = concurrent_addresses(hostns, tree, 4, "zrace", "--network-zone=tc", "/24")
    assert sorted(addrs) == [f"10.200.0.{i}/24" for i in range(2, 6)], addrs
    assert wait_for(lambda: "vz-tc" not in link_names(hostns)), link_names(hostns)


def bad_input_cases(hostns, otherns):
    veth(hostns, "tb-taken", "tb-taken2")
    veth(otherns, "tb-away", "tb-away2")
    return {
        "veth-extra name taken": (["--network-veth-extra=tb-taken:inner"], "already exists"),
        "bridge missing": (["--network-bridge=nosuchbr"], "does not exist"),
        "bridge not a bridge": (["--network-bridge=tb-taken"], "Interface tb-taken is not a bridge."),
        "zone member name taken": (["--network-zone=tz", "-M", "tb-taken"], None),
        "interface in another namespace": (["--network-interface=tb-away"], "does not exist in the host"),
        "macvlan parent missing": (["--network-macvlan=nosuchif"], "does not exist"),
        "malformed veth-extra": (["--network-veth-extra=a:b:c"], "Invalid --network-veth-extra"),
        "veth-extra host0": (["--network-veth-extra=x:host0"], "Invalid --network-veth-extra"),
        "zone name too long": (["--network-zone=waytoolongzonename"], "Invalid zone name"),
        "bridge and zone": (["--network-bridge=a", "--network-zone=b"], "mutually exclusive"),
        "namespace not a namespace": (["--network-namespace-path=/etc/hostname"], "not a network namespace"),
        "namespace with -n": ([f"--network-namespace-path=/run/netns/{otherns}", "-n"], "cannot be combined"),
        "namespace relative": (["--network-namespace-path=netns"], "must be absolute"),
    }


def test_bad_input(tree, hostns, otherns):
    cases = bad_input_cases(hostns, otherns)
    before, before_other = link_names(hostns), link_names(otherns)
    for what, (args, message) in cases.items():
        if what == "zone member name taken":
            # vb-tb-taken is free; make it taken, so the zone's bridge made for it must go again.
            veth(hostns, "vb-tb-taken", "tb-taken3")
            before = link_names(hostns)
        machine = "badin"
        if "-M" in args:
            machine = args[args.index("-M") + 1]
            args = args[:args.index("-M")]
        cp = run_in(hostns, tree, machine, *args, "/bin/true")
        assert cp.returncode != 0, what + ": " + describe(cp)
        lines = cp.stderr.strip().splitlines()
        assert len(lines) == 1, what + ": " + describe(cp)
        assert message is None or message in lines[0], what + ": " + describe(cp)
        assert link_names(hostns) == before, what
        assert link_names(otherns) == before_other, what
        assert "berth" not in nft_ruleset(hostns), what
