# SPDX-License-Identifier: LGPL-2.1-or-later
"""Stopping containers: signals to spawn, to the payload, and spawn's own death."""

import re
import signal
import time

import pytest

from conftest import (IN_HELPER, descendants, kill_pid, mounts_under, no_leftovers, ns_inode, nspid,
                      pids_with_token, proc_alive)


def start(procs, tree, *payload, opts=(), quiet=True):
    """Start spawn in pipe console mode and wait for the payload's "ready"."""
    p, out = procs.start(["-D", tree, "--console=pipe", *opts, IN_HELPER, *map(str, payload)], quiet=quiet)
    try:
        out.expect(rb"ready\n", timeout=20, what="payload")
    except AssertionError:
        if p.poll() is not None:
            raise AssertionError(f"spawn exited early rc={p.returncode}, stderr={p.stderr.read()!r}")
        raise
    return p, out


def container_init(token):
    """Host PID of the container's PID 1 among the processes carrying TOKEN."""
    for pid in pids_with_token(token):
        ns = nspid(pid)
        if ns and len(ns) > 1 and ns[-1] == 1:
            return pid
    return None


def wait_gone(pids, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive = [p for p in pids if proc_alive(p)]
        if not alive:
            return []
        time.sleep(0.05)
    return [p for p in pids if proc_alive(p)]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_stop_signal_default_kills_container(tree, procs, sig):
    # The payload ignores SIGTERM: only the default kill signal (SIGKILL) can stop it.
    p, _ = start(procs, tree, "ignore", "TERM", "INT")
    inner = descendants(p.pid)
    assert inner, "spawn has no child processes"
    p.send_signal(sig)
    rc, _, err = procs.finish(p, timeout=10)
    assert rc != 0, f"rc={rc} stderr={err!r}"
    assert not wait_gone(inner), "container processes survived"


@pytest.mark.parametrize("as_pid2", [False, True], ids=["pid1", "pid2"])
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_kill_signal_option(tree, procs, sig, as_pid2):
    opts = ["--kill-signal=SIGTERM"] + (["-a"] if as_pid2 else [])
    p, out = start(procs, tree, "trap", "TERM", 42, opts=opts)
    p.send_signal(sig)
    rc, rest, err = procs.finish(p, timeout=10)
    stdout = out.buf.decode() + rest
    assert "caught SIGTERM" in stdout, f"stdout={stdout!r} stderr={err!r}"
    assert rc == 42, f"rc={rc} stderr={err!r}"


def test_second_sigterm_kills_everything(tree, procs):
    p, _ = start(procs, tree, "ignore", "TERM", opts=["--kill-signal=SIGTERM"])
    inner = descendants(p.pid)
    p.send_signal(signal.SIGTERM)
    time.sleep(1.5)
    assert p.poll() is None, f"spawn exited after the first SIGTERM (rc={p.returncode}) though the payload ignores it"
    t0 = time.monotonic()
    p.send_signal(signal.SIGTERM)
    rc, _, err = procs.finish(p, timeout=10)
    assert time.monotonic() - t0 < 5, "second SIGTERM took too long"
    assert rc != 0, f"rc={rc} stderr={err!r}"
    assert not wait_gone(inner), "container processes survived"


def test_sigkill_of_spawn_kills_container(tree, procs, token):
    p, _ = start(procs, tree, "hang", token, 5)
    in_container = [pid for pid in pids_with_token(token) if len(nspid(pid) or []) > 1]
    assert len(in_container) >= 6, f"expected 6 container processes with the token, got {in_container}"
    p.kill()
    p.wait(timeout=10)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and (pids_with_token(token) or mounts_under(tree)):
        time.sleep(0.05)
    left = pids_with_token(token)
    assert not left, f"processes survived spawn's death: {left}"
    assert not mounts_under(tree), f"mounts left: {mounts_under(tree)}"
    no_leftovers(tree)


def test_payload_killed_by_signal_from_host(tree, procs, token):
    p, _ = start(procs, tree, "hang", token, 0, quiet=False)
    init = container_init(token)
    assert init, "cannot find the container's PID 1"
    assert ns_inode("pid", init) != ns_inode("pid")
    kill_pid(init, signal.SIGKILL)
    rc, _, err = procs.finish(p, timeout=10)
    assert rc == 1, f"rc={rc} stderr={err!r}"
    assert re.search(r"KILL|signal", err, re.I), f"stderr does not mention the signal: {err!r}"


def test_kill_signal_numeric_and_short_names(tree, procs):
    for spec in ("TERM", "15"):
        p, out = start(procs, tree, "trap", "TERM", 43, opts=[f"--kill-signal={spec}"])
        p.send_signal(signal.SIGTERM)
        rc, rest, err = procs.finish(p, timeout=10)
        assert rc == 43, f"--kill-signal={spec}: rc={rc} stderr={err!r}"
