# SPDX-License-Identifier: LGPL-2.1-or-later
"""-Z/--selinux-context and -L/--selinux-apifs-context on a host without SELinux: one clear error,
exit 1, nothing left behind; $BERTH_SELINUX_OPTIONAL=1 turns it into a warning. The labels
themselves are proven on an SELinux host by the VM tier (tests/vm/)."""

import os

import pytest

from conftest import IN_HELPER, base_env, describe, mounts_under, no_leftovers, nonempty_lines, run_spawn

CONTEXT = "system_u:system_r:unconfined_t:s0"
APIFS = "system_u:object_r:tmpfs_t:s0"


def selinux_enabled():
    # What spawn checks too: selinuxfs mounted where libselinux looks for it.
    return os.path.exists("/sys/fs/selinux/enforce")


needs_no_selinux = pytest.mark.skipif(selinux_enabled(), reason="SELinux is enabled on this host; "
                                      "the labels are tested by the VM tier (tests/vm/)")


@needs_no_selinux
@pytest.mark.parametrize("args,option", [(["-Z", CONTEXT], "--selinux-context"),
                                         (["--selinux-apifs-context=" + APIFS], "--selinux-apifs-context"),
                                         (["-L", APIFS, "-Z", CONTEXT], "--selinux-context")])
def test_label_without_selinux_fails(tree, args, option):
    cp = run_spawn(["-D", tree, "--console=pipe", *args, IN_HELPER, "exit", "0"])
    assert cp.returncode == 1, describe(cp)
    lines = nonempty_lines(cp.stderr)
    assert len(lines) == 1, describe(cp)
    assert "SELinux is not enabled" in lines[0] and option in lines[0], describe(cp)
    assert not mounts_under(tree)
    no_leftovers(tree)


@pytest.mark.parametrize("context", ["container_t", "a:b:c d", 'a:b:c",x', ""])
def test_invalid_context_syntax(tree, context):
    cp = run_spawn(["-D", tree, "--console=pipe", "-Z", context, IN_HELPER, "exit", "0"])
    assert cp.returncode == 1, describe(cp)
    lines = nonempty_lines(cp.stderr)
    assert len(lines) == 1 and "SELinux context" in lines[0], describe(cp)


@needs_no_selinux
def test_optional_labels_are_ignored(tree):
    env = dict(base_env(), BERTH_SELINUX_OPTIONAL="1")
    cp = run_spawn(["-D", tree, "--console=pipe", "-Z", CONTEXT, "-L", APIFS, IN_HELPER, "exit", "7"],
                   env=env, quiet=False)
    assert cp.returncode == 7, describe(cp)
    assert "ignoring the requested labels" in cp.stderr, describe(cp)
