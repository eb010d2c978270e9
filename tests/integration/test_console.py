# SPDX-License-Identifier: LGPL-2.1-or-later
"""--console modes, with and without a terminal on spawn's side."""

import re
import time

import pytest

from conftest import (IN_HELPER, PtySession, describe, parse_json_line, pids_with_token, report,
                      run_helper, run_spawn, set_winsize)

# The payload's stdin is the container's console pty, which is also its controlling terminal. Its name
# may resolve to /dev/console (bind mount) or to the pty's node in the container's own devpts.
CONSOLE_TTY = r"stdin=/dev/(console|pts/[0-9]+) ctty=yes"


# --- without a terminal ----------------------------------------------------------------------------

def test_pipe_gives_payload_our_stdio(tree):
    r = report(tree, console="pipe")
    assert r["tty"]["stdin_isatty"] is False and r["tty"]["stdout_isatty"] is False, r["tty"]
    cp = run_helper(tree, "echo", "hello", console="pipe")
    assert cp.returncode == 0 and cp.stdout == "hello\n", describe(cp)
    cp = run_helper(tree, "read-line", console="pipe", input="typed line\n")
    assert cp.returncode == 0 and cp.stdout == "got: typed line\n", describe(cp)


def test_pipe_stderr_separate(tree):
    cp = run_helper(tree, "cat", "/nonexistent", console="pipe")
    assert cp.returncode == 2, describe(cp)
    assert "error: ENOENT" in cp.stderr and "ENOENT" not in cp.stdout, describe(cp)


@pytest.mark.parametrize("console", [None, "read-only"], ids=["default", "read-only"])
def test_read_only_without_tty(tree, console):
    cp = run_helper(tree, "report", console=console)
    assert cp.returncode == 0, describe(cp)
    r = parse_json_line(cp.stdout)
    assert r["tty"]["stdin_isatty"] is True and r["tty"]["stdout_isatty"] is True, r["tty"]
    # Output passes through a pty: newlines arrive translated.
    assert cp.stdout.endswith("\r\n"), describe(cp)

    cp = run_helper(tree, "echo", "hello", console=console)
    assert cp.returncode == 0 and "hello\r\n" in cp.stdout, describe(cp)

    cp = run_helper(tree, "tty", console=console)
    assert cp.returncode == 0 and re.fullmatch(CONSOLE_TTY, cp.stdout.strip()), describe(cp)


def test_read_only_does_not_forward_input(tree):
    # Input on spawn's stdin must not reach the payload; it sees a terminal without input.
    cp = run_spawn(["-D", tree, "--console=read-only", "/bin/sh", "-c",
                    f"timeout 2 {IN_HELPER} read-line; echo done"], input="secret\n")
    assert "done" in cp.stdout, describe(cp)
    assert "got: secret" not in cp.stdout, describe(cp)


def test_passive_forwards_nothing(tree):
    cp = run_helper(tree, "echo", "hello-passive", console="passive")
    assert cp.returncode == 0, describe(cp)
    assert "hello-passive" not in cp.stdout, describe(cp)


def test_passive_allocates_pty(tree):
    # The payload still has /dev/console; verify by exit status since output is not forwarded.
    cp = run_spawn(["-D", tree, "--console=passive", "/bin/sh", "-c", "test -t 0 && test -c /dev/console"])
    assert cp.returncode == 0, describe(cp)


def test_autopipe_without_tty_is_pipe(tree):
    cp = run_helper(tree, "report", console="autopipe")
    assert cp.returncode == 0, describe(cp)
    r = parse_json_line(cp.stdout)
    assert r["tty"]["stdin_isatty"] is False and r["tty"]["stdout_isatty"] is False, r["tty"]
    assert "\r" not in cp.stdout
    cp = run_helper(tree, "read-line", console="autopipe", input="abc\n")
    assert cp.returncode == 0 and cp.stdout == "got: abc\n", describe(cp)


# --- on a terminal ---------------------------------------------------------------------------------

def assert_restored(session):
    assert session.termios_now() == session.saved_termios, "terminal settings were not restored"


@pytest.mark.parametrize("console", [None, "interactive"], ids=["default", "interactive"])
def test_interactive_on_tty(tree, procs, console):
    args = ["-D", tree] + ([f"--console={console}"] if console else []) + [IN_HELPER, "read-line"]
    s = PtySession(procs, args)
    s.wait_raw()
    s.send("hello there\r")
    s.out.expect(rb"got: hello there\r\n", what="payload output")
    assert s.wait() == 0, s.output
    assert_restored(s)


def test_interactive_console_is_dev_console(tree, procs):
    s = PtySession(procs, ["-D", tree, IN_HELPER, "tty"])
    s.out.expect(CONSOLE_TTY.encode() + rb"\r\n")
    assert s.wait() == 0, s.output
    assert_restored(s)


def test_interactive_exit_code_and_restore(tree, procs):
    s = PtySession(procs, ["-D", tree, IN_HELPER, "exit", "7"])
    assert s.wait() == 7, s.output
    assert_restored(s)


def test_winsize_initial(tree, procs):
    s = PtySession(procs, ["-D", tree, IN_HELPER, "winsize"], rows=33, cols=101)
    s.out.expect(rb"33 101\r\n", what="window size")
    assert s.wait() == 0, s.output


def test_winsize_change_forwarded(tree, procs):
    s = PtySession(procs, ["-D", tree, "/bin/sh"], rows=24, cols=80)
    s.wait_raw()
    s.send(f"{IN_HELPER} winsize\r")
    s.out.expect(rb"24 80\r\n", what="initial window size")
    set_winsize(s.slave, 40, 120)  # the kernel sends SIGWINCH to spawn (foreground process group)
    time.sleep(1)
    s.send(f"{IN_HELPER} winsize\r")
    s.out.expect(rb"40 120\r\n", what="window size after resize")
    s.send("exit 3\r")
    assert s.wait() == 3, s.output
    assert_restored(s)


def test_ctrl_bracket_three_times_kills(tree, procs, token):
    s = PtySession(procs, ["-D", tree, IN_HELPER, "hang", token, "2"])
    s.out.expect(rb"ready", what="payload")
    s.wait_raw()
    assert pids_with_token(token)
    s.send(b"\x1d\x1d\x1d")
    rc = s.wait(timeout=10)
    assert rc != 0, s.output
    assert_restored(s)
    deadline = time.monotonic() + 5
    while pids_with_token(token) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not pids_with_token(token), "container survived ^]^]^]"


def test_single_ctrl_bracket_is_passed_through(tree, procs):
    s = PtySession(procs, ["-D", tree, IN_HELPER, "read-line"])
    s.wait_raw()
    s.send(b"a\x1db\r")
    s.out.expect(rb"got: a", what="payload output")
    assert s.wait() == 0, s.output


def test_autopipe_on_tty_is_interactive(tree, procs):
    s = PtySession(procs, ["-D", tree, "--console=autopipe", IN_HELPER, "tty"])
    s.out.expect(CONSOLE_TTY.encode() + rb"\r\n")
    assert s.wait() == 0, s.output
    assert_restored(s)


def test_pipe_on_tty_passes_terminal_through(tree, procs):
    # --console=pipe hands spawn's own stdio (here: our terminal) to the payload, no pty in between.
    s = PtySession(procs, ["-D", tree, "--console=pipe", IN_HELPER, "report"])
    assert s.wait() == 0, s.output
    r = parse_json_line(s.output)
    assert r["tty"]["stdin_isatty"] is True
    assert r["tty"]["stdin"] != "/dev/console", r["tty"]
    assert_restored(s)


def test_slow_ctrl_brackets_do_not_kill(tree, procs, token):
    s = PtySession(procs, ["-D", tree, IN_HELPER, "hang", token, "0"])
    s.out.expect(rb"ready", what="payload")
    s.wait_raw()
    for _ in range(3):
        s.send(b"\x1d")
        s.out.drain(1.3)
    assert s.proc.poll() is None, f"three ^] spread over more than 1 s killed the container: {s.output!r}"
    assert pids_with_token(token)
    s.send(b"\x1d\x1d\x1d")
    assert s.wait(timeout=10) != 0
    assert_restored(s)
