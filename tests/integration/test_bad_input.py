# SPDX-License-Identifier: LGPL-2.1-or-later
"""Invalid invocations: each must fail with exit code 1 and exactly one non-empty line on stderr,
leaving nothing mounted and no process behind."""

import os
import shutil
import subprocess

import pytest

from conftest import IN_HELPER, describe, mounts_under, no_leftovers, nonempty_lines, run_spawn, spawn_cmd

OK_CMD = [IN_HELPER, "exit", "0"]  # would succeed if spawn ignored the error


def assert_clean_failure(cp, path):
    assert cp.returncode == 1, describe(cp)
    lines = nonempty_lines(cp.stderr)
    assert len(lines) == 1, f"expected exactly one line on stderr:\n{describe(cp)}"
    assert not mounts_under(path), mounts_under(path)
    no_leftovers(path)


def drop_to_nobody():
    os.setgroups([])
    os.setgid(65534)
    os.setuid(65534)


def test_not_root(tree):
    cp = run_spawn(["-D", tree, "--console=pipe", *OK_CMD], preexec_fn=drop_to_nobody)
    assert_clean_failure(cp, tree)


def test_missing_directory(scratch):
    cp = run_spawn(["-D", scratch / "does-not-exist", "--console=pipe", *OK_CMD])
    assert_clean_failure(cp, scratch)


def test_directory_is_a_file(spawn_bin, scratch):
    f = scratch / "file"
    f.write_text("not a tree\n")
    cp = run_spawn(["-D", f, "--console=pipe", *OK_CMD])
    assert_clean_failure(cp, scratch)


def test_tree_without_usr(tree_copy):
    shutil.rmtree(tree_copy / "usr")
    cp = run_spawn(["-D", tree_copy, "--console=pipe", "/bin/true"])
    assert_clean_failure(cp, tree_copy)


@pytest.mark.parametrize("name", ["a" * 65, ".hidden", "a..b", "bad/name", "sp ace", ""],
                         ids=["too-long", "leading-dot", "double-dot", "slash", "space", "empty"])
def test_invalid_machine_name(tree, name):
    cp = run_spawn(["-D", tree, f"--machine={name}", "--console=pipe", *OK_CMD])
    assert_clean_failure(cp, tree)


def test_invalid_machine_name_short_option(tree):
    cp = run_spawn(["-D", tree, "-M", "bad/name", "--console=pipe", *OK_CMD])
    assert_clean_failure(cp, tree)


BAD_OPTIONS = {
    "bind-relative-source": lambda src: ["--bind=rel:/x"],
    "bind-relative-destination": lambda src: [f"--bind={src}:rel"],
    "bind-unknown-option": lambda src: [f"--bind={src}:/x:bogus"],
    "bind-missing-source": lambda src: [f"--bind={src}/does-not-exist:/x"],
    "bind-ro-relative-source": lambda src: ["--bind-ro=rel:/x"],
    "tmpfs-relative": lambda src: ["--tmpfs=rel"],
    "chdir-relative": lambda src: ["--chdir=rel"],
    "setenv-without-equals": lambda src: ["-E", "FOO"],
    "console-unknown": lambda src: ["--console=bogus"],
    "kill-signal-unknown": lambda src: ["--kill-signal=SIGBOGUS"],
    "kill-signal-garbage": lambda src: ["--kill-signal=notasignal"],
    "uuid-invalid": lambda src: ["--uuid=not-a-uuid"],
    "unknown-option": lambda src: ["--no-such-option"],
}


@pytest.mark.parametrize("case", list(BAD_OPTIONS))
def test_bad_option(tree, scratch, case):
    # --console=pipe first, so that a later --console=bogus overrides it.
    args = ["-D", tree, "--console=pipe", *BAD_OPTIONS[case](scratch), *OK_CMD]
    cp = run_spawn(args)
    assert_clean_failure(cp, tree)
    assert not os.path.exists(tree / "x"), "a mount point was created for a rejected --bind"


@pytest.mark.parametrize("cmd", ["/usr/bin/does-not-exist", "does-not-exist-either"])
def test_command_not_in_tree(tree, cmd):
    cp = run_spawn(["-D", tree, "--console=pipe", cmd])
    assert_clean_failure(cp, tree)


# --- failures inside the container's child --------------------------------------------------
# The child sets the container up while the supervisor works on cgroups; when it fails, it tells
# the supervisor why and the supervisor prints it: one line, with the cause, whatever the console
# mode (after the child made the console its stdio, a line of its own would be lost in the pty).

def assert_child_failure(cp, path, line):
    assert_clean_failure(cp, path)
    assert nonempty_lines(cp.stderr) == [f"spawn: {line}"], describe(cp)
    assert cp.stdout == "", describe(cp)


@pytest.mark.parametrize("console", ["pipe", "read-only"])
def test_tmpfs_bad_option(tree_copy, console):
    cp = run_spawn(["-D", tree_copy, f"--console={console}", "--tmpfs=/mnt/t:bogus=1", *OK_CMD])
    assert_child_failure(cp, tree_copy, "Failed to mount /mnt/t in the container: Invalid argument")


def test_bind_destination_cannot_be_created(tree_copy, scratch):
    # Below a regular file: the mount point cannot be made.
    cp = run_spawn(["-D", tree_copy, "--console=pipe", f"--bind={scratch}:/etc/passwd/sub", *OK_CMD])
    assert_child_failure(cp, tree_copy, "Failed to create mount point /etc/passwd/sub in the container: Not a directory")


@pytest.mark.parametrize("opts", [[], ["-a"]], ids=["pid1", "pid2"])
def test_exec_failure_after_console_setup(tree_copy, opts):
    # The last thing the child does, with the console its stdio by then.
    bad = tree_copy / "not-a-program"
    bad.write_bytes(b"\x00garbage\n")
    bad.chmod(0o755)
    cp = run_spawn(["-D", tree_copy, "--console=read-only", *opts, "/not-a-program"])
    assert_child_failure(cp, tree_copy, "Failed to execute /not-a-program: Exec format error")


def test_unknown_user_in_tree(tree):
    cp = run_spawn(["-D", tree, "--console=pipe", "-u", "no-such-user", *OK_CMD])
    assert_child_failure(cp, tree, "User 'no-such-user' does not exist in the container.")



def test_no_cgroup_file_system(tree):
    """A fresh sysfs on /sys (what "ip netns exec" mounts) hides /sys/fs/cgroup: one line that
    says so. As "ip netns exec" does, in a mount and network namespace of the test's own: the
    host's /sys is untouched."""
    cmd = ["unshare", "--mount", "--net", "--propagation", "private", "sh", "-c",
           'umount -l /sys && mount -t sysfs sysfs /sys && exec "$@"', "sh",
           *spawn_cmd(["-D", tree, "--console=pipe", "--register=no", *OK_CMD], True)]
    cp = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    assert_clean_failure(cp, tree)
    assert "No cgroup file system is mounted on /sys/fs/cgroup" in cp.stderr, describe(cp)
