# SPDX-License-Identifier: LGPL-2.1-or-later
"""Process identity, hostname, namespaces, environment, /run/host and exit status of spawn."""

import re
import socket

import pytest

from conftest import (IN_HELPER, TREE_NAME, base_env, describe, host_os_release, ns_inode, out_lines,
                      report, run_helper, run_spawn)

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def test_help_and_version(spawn_bin):
    cp = run_spawn(["--help"], quiet=False)
    assert cp.returncode == 0, describe(cp)
    assert "--directory" in cp.stdout
    cp = run_spawn(["--version"], quiet=False)
    assert cp.returncode == 0, describe(cp)
    assert cp.stdout.strip(), describe(cp)


def test_payload_is_pid1(tree):
    r = report(tree)
    assert r["pid"] == 1


def test_as_pid2_runs_under_stub_init(tree):
    r = report(tree, opts=["-a"])
    assert r["pid"] == 2
    assert r["ppid"] == 1


def test_pid_namespace_hides_host_processes(tree):
    cp = run_helper(tree, "ls", "/proc", opts=["-a"])
    assert cp.returncode == 0, describe(cp)
    pids = sorted(int(x) for x in out_lines(cp.stdout) if x.isdigit())
    # Only the stub init and the helper itself exist in the new PID namespace.
    assert pids == [1, 2], pids


def test_default_hostname_is_tree_basename(tree):
    assert report(tree)["hostname"] == TREE_NAME
    # A trailing slash does not change the name.
    assert report(f"{tree}/")["hostname"] == TREE_NAME


def test_default_name_drops_what_a_hostname_may_not_contain(tree_copy):
    # As nspawn: "my_tree" runs as "mytree"; a name with nothing valid left is an error.
    renamed = tree_copy.parent / "my_tree"
    tree_copy.rename(renamed)
    assert report(renamed)["hostname"] == "mytree"
    hopeless = tree_copy.parent / "___"
    renamed.rename(hopeless)
    cp = run_spawn(["-D", str(hopeless), "--console=pipe", IN_HELPER, "report"])
    assert cp.returncode == 1, describe(cp)
    assert out_lines(cp.stderr) == ["spawn: Failed to derive a machine name from '___'; "
                                    "pass -M/--machine=NAME."], describe(cp)


def test_machine_name_sets_hostname(tree):
    assert report(tree, opts=["-M", "box-one"])["hostname"] == "box-one"
    assert report(tree, opts=["--machine=box.two"])["hostname"] == "box.two"


def test_hostname_option(tree):
    assert report(tree, opts=["--hostname=hostie"])["hostname"] == "hostie"
    assert report(tree, opts=["-M", "mach", "--hostname=other"])["hostname"] == "other"


def test_longest_valid_machine_name(tree):
    name = "a" * 64
    assert report(tree, opts=["-M", name])["hostname"] == name


def test_host_hostname_untouched(tree):
    before = socket.gethostname()
    report(tree, opts=["--hostname=not-the-host"])
    assert socket.gethostname() == before


def test_namespaces_differ_from_host(tree):
    ns = report(tree)["ns"]
    for name in ("mnt", "pid", "uts", "ipc", "cgroup"):
        assert ns[name] != ns_inode(name), f"{name} namespace is the host's"
    for name in ("net", "user"):
        assert ns[name] == ns_inode(name), f"{name} namespace should be the host's without options"


def test_private_network_namespace(tree):
    ns = report(tree, opts=["--private-network"])["ns"]
    assert ns["net"] != ns_inode("net")
    assert ns["user"] == ns_inode("user")


@pytest.mark.parametrize("code", [0, 1, 7, 42, 255])
def test_exit_code_propagates(tree, code):
    cp = run_helper(tree, "exit", code)
    assert cp.returncode == code, describe(cp)


def test_exit_code_133_maps_to_1(tree):
    # 133 means "reboot" in nspawn's protocol; a payload that exits 133 must not look like one.
    cp = run_helper(tree, "exit", 133)
    assert cp.returncode == 1, describe(cp)


@pytest.mark.parametrize("code", [0, 7])
def test_exit_code_propagates_as_pid2(tree, code):
    cp = run_helper(tree, "exit", code, opts=["-a"])
    assert cp.returncode == code, describe(cp)


def test_payload_killed_by_signal_as_pid2(tree):
    cp = run_spawn(["-D", tree, "--console=pipe", "-a", IN_HELPER, "signal", "KILL"], quiet=False)
    # The stub init reports the payload's death by signal N as 128+N, like a shell does.
    assert cp.returncode == 128 + 9, describe(cp)
    assert re.search(r"KILL|signal", cp.stderr, re.I), describe(cp)


def test_environment(tree):
    r = report(tree, console="pipe", opts=["--uuid=0123456789ABCDEF0123456789abcdef"])
    env = r["env"]
    assert env.get("container") == "berth"
    assert env.get("container_uuid") == "01234567-89ab-cdef-0123-456789abcdef"
    assert env.get("PATH"), env
    assert env.get("HOME") == "/root"
    assert env.get("USER") == "root"
    assert env.get("TERM"), env


def test_container_host_variables(tree):
    """$container_host_* carry the host's os-release identity, as nspawn sets them."""
    osr = {}
    for line in (host_os_release() or "").splitlines():
        k, sep, v = line.partition("=")
        if sep:
            osr[k.strip()] = v.strip().strip('"\'')
    env = report(tree)["env"]
    for key, var in (("ID", "container_host_id"), ("VERSION_ID", "container_host_version_id"),
                     ("BUILD_ID", "container_host_build_id"), ("VARIANT_ID", "container_host_variant_id"),
                     ("IMAGE_ID", "container_host_image_id"), ("IMAGE_VERSION", "container_host_image_version")):
        assert env.get(var) == (osr.get(key) or None), (var, env)
    assert env.get("container_host_id"), env
    # -E still wins.
    env = report(tree, opts=["-E", "container_host_id=mine"])["env"]
    assert env.get("container_host_id") == "mine"


def test_resolv_conf_and_timezone_help():
    for opt, modes in (("--resolv-conf=help", ["off", "copy-host", "bind-host", "replace-host", "delete", "auto"]),
                       ("--timezone=help", ["off", "copy", "bind", "symlink", "delete", "auto"])):
        cp = run_spawn([opt])
        assert cp.returncode == 0, describe(cp)
        assert cp.stdout.split() == modes, describe(cp)


def test_host_environment_not_leaked(tree):
    r = report(tree, env=base_env(BERTH_LEAK_CHECK="secret"))
    assert "BERTH_LEAK_CHECK" not in r["env"], r["env"]


def test_setenv(tree):
    env = report(tree, opts=["-E", "FOO=bar", "--setenv=EQ=a=b", "-E", "EMPTY="])["env"]
    assert env.get("FOO") == "bar"
    assert env.get("EQ") == "a=b"
    assert env.get("EMPTY") == ""


def test_run_host_files(tree):
    cp = run_helper(tree, "cat", "/run/host/os-release")
    assert cp.returncode == 0, describe(cp)
    assert cp.stdout == host_os_release()

    cp = run_helper(tree, "cat", "/run/host/container-manager")
    assert cp.returncode == 0, describe(cp)
    assert "berth" in cp.stdout

    cp = run_helper(tree, "cat", "/run/host/container-uuid",
                    opts=["--uuid=0123456789abcdef0123456789abcdef"])
    assert cp.returncode == 0, describe(cp)
    assert cp.stdout.strip() == "01234567-89ab-cdef-0123-456789abcdef"


def test_uuid_with_dashes_accepted(tree):
    env = report(tree, opts=["--uuid=01234567-89AB-cdef-0123-456789abcdef"])["env"]
    assert env.get("container_uuid") == "01234567-89ab-cdef-0123-456789abcdef"


def test_random_uuid_matches_env(tree):
    cp = run_helper(tree, "cat", "/run/host/container-uuid")
    assert cp.returncode == 0, describe(cp)
    u = cp.stdout.strip()
    assert UUID_RE.match(u), u
    env = report(tree)["env"]
    assert UUID_RE.match(env.get("container_uuid", "")), env
    # Each run picks a new one.
    assert env["container_uuid"] != u


def test_default_command_is_users_shell(tree):
    cp = run_spawn(["-D", tree, "--console=pipe"], input="echo $0; exit 5\n")
    assert cp.returncode == 5, describe(cp)
    assert re.search(r"(^|/|-)sh$", cp.stdout.strip()), describe(cp)



def test_quiet_success_prints_nothing(tree):
    cp = run_helper(tree, "echo", "only this")
    assert cp.returncode == 0 and cp.stdout == "only this\n" and cp.stderr == "", describe(cp)


def test_stub_init_reaps_orphans(tree):
    # The subshell exits at once, orphaning `true`, which is reparented to the stub init (PID 1).
    script = "(true &); (true &); sleep 1; cat /proc/[0-9]*/stat"
    cp = run_spawn(["-D", tree, "--console=pipe", "-a", "/bin/sh", "-c", script])
    assert cp.returncode == 0, describe(cp)
    states = {}
    for line in out_lines(cp.stdout):
        rest = line[line.rindex(")") + 2:].split()
        states[line.split()[0]] = rest[0]
    assert states, describe(cp)
    assert "Z" not in states.values(), f"zombies under the stub init: {states}"
