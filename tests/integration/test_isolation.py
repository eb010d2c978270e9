# SPDX-License-Identifier: LGPL-2.1-or-later
"""Issue 10: break-out attempts from inside a container started as root without a user namespace,
each judged from the host (files on the host, host keyrings, host sysctls, the host terminal's input
queue, host cgroups) where the host can see it, else from the errno the kernel gave. Everything a
probe could change is restored.

Vectors that root with CAP_SYS_ADMIN in the host's user namespace still has — as with
systemd-nspawn without -U — are marked xfail(strict) with the reason: a fresh procfs or sysfs, a
remount, binfmt_misc. -U (issue 10 item 5) closes them; spawn(1) says so in its threat model."""

import errno
import fcntl
import json
import os
import shutil
import subprocess
import termios
import uuid

import pytest

from conftest import (CAP_NUMBERS, IN_HELPER, base_env, describe, mounts_under, no_leftovers,
                      nonempty_lines, out_lines, parse_json_line, report, run_helper, run_spawn,
                      spawn_cmd)

NEEDS_USERNS = "without a user namespace, CAP_SYS_ADMIN in the host's user namespace can do this " \
               "(as with systemd-nspawn); -U closes it"


def probe(tree, *args, opts=(), **kw):
    cp = run_helper(tree, *args, opts=opts, **kw)
    assert cp.returncode == 0, describe(cp)
    return parse_json_line(cp.stdout)


def shell(tree, script, opts=(), **kw):
    return run_spawn(["-D", tree, "--console=pipe", *opts, "/bin/sh", "-c", script], **kw)


def json_lines(text):
    return [json.loads(line) for line in out_lines(text) if line.startswith("{")]


# --- descriptors ---------------------------------------------------------------------------------

def test_inherited_descriptors_do_not_reach_the_payload(tree, scratch):
    dirfd = os.open(scratch, os.O_RDONLY | os.O_DIRECTORY)
    nsfd = os.open("/proc/self/ns/mnt", os.O_RDONLY)
    try:
        cp = run_helper(tree, "escape-fds", "escaped", pass_fds=(dirfd, nsfd))
    finally:
        os.close(dirfd)
        os.close(nsfd)
    assert cp.returncode == 0, describe(cp)
    r = parse_json_line(cp.stdout)
    assert not any(k.startswith("open_fd_") for k in r), r
    assert not os.listdir(scratch), os.listdir(scratch)


def test_as_pid2_stub_keeps_nothing_of_the_supervisor(tree):
    master, slave = os.openpty()
    text = f"echo berth-{uuid.uuid4().hex}\n"
    try:
        cp = subprocess.run(spawn_cmd(["-D", str(tree), "--console=pipe", "-a", IN_HELPER, "poke-pid1-fds", text]),
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave, timeout=30,
                            env=base_env(), text=True)
        assert cp.returncode == 0, f"rc={cp.returncode} stdout={cp.stdout!r}"
        r = parse_json_line(cp.stdout)
        # Nothing was pushed into the terminal's input queue, nothing written to it.
        queued = fcntl.ioctl(slave, termios.FIONREAD, b"\0\0\0\0")
        assert int.from_bytes(queued, "little") == 0
        os.set_blocking(master, False)
        try:
            seen = os.read(master, 65536)
        except BlockingIOError:
            seen = b""
        assert text.strip().encode() not in seen, seen
    finally:
        os.close(master)
        os.close(slave)
    assert not any(k.startswith("tty_") and v for k, v in r.items()), r
    assert not any(k.startswith("tiocsti_") and v == 0 for k, v in r.items()), r


# --- system calls --------------------------------------------------------------------------------

REFUSED = ["swapon", "swapoff", "bpf", "perf_event_open", "kexec_load", "kexec_file_load", "init_module",
           "finit_module", "delete_module", "open_by_handle_at", "keyctl", "add_key", "request_key",
           "quotactl", "fanotify_init", "acct", "settimeofday"]


@pytest.mark.parametrize("name", REFUSED)
def test_syscall_refused(tree, name):
    r = probe(tree, "syscalls")
    assert r[name] == errno.EPERM, r


def test_swapon_of_a_container_file(tree_copy):
    with open("/proc/swaps") as f:
        before = f.read()
    cp = shell(tree_copy, "dd if=/dev/zero of=/swapfile bs=1M count=1 2>/dev/null && chmod 600 /swapfile && "
                          "mkswap /swapfile >/dev/null && swapon /swapfile; echo rc=$?")
    try:
        with open("/proc/swaps") as f:
            after = f.read()
        assert "rc=0" not in cp.stdout, describe(cp)
        assert after == before
    finally:
        if "swapfile" in open("/proc/swaps").read():
            subprocess.run(["swapoff", str(tree_copy / "swapfile")])


def test_host_cgroups_not_reachable_through_file_handles(tree):
    with open("/sys/fs/cgroup/unified/cgroup.max.descendants" if os.path.exists("/sys/fs/cgroup/unified")
              else "/proc/self/cgroup") as f:
        before = f.read()
    r = probe(tree, "cgroup-handle", "/sys/fs/cgroup")
    assert r["open_by_handle_at"] == errno.EPERM, r


def test_system_wide_perf_and_bpf_refused_even_with_caps(tree):
    # CAP_SYS_ADMIN is kept; the filter is what refuses them.
    r = probe(tree, "syscalls", opts=["--capability=CAP_PERFMON,CAP_BPF"])
    assert r["perf_event_open"] == errno.EPERM and r["bpf"] == errno.EPERM, r


# --- keyrings ------------------------------------------------------------------------------------

def keyctl(*args, check=True):
    cp = subprocess.run(["keyctl", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=10)
    if check:
        assert cp.returncode == 0, cp
    return cp


def run_in_session_with_secret(secret_desc, args):
    """spawn ARGS in a new session keyring of the host holding the key SECRET_DESC."""
    script = 'keyctl add user "$0" berth-secret-value @s >/dev/null && exec "$@"'
    cmd = ["keyctl", "session", "-", "sh", "-c", script, secret_desc, *spawn_cmd(args, True)]
    cp = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                        text=True, timeout=30, env=base_env())
    return cp


@pytest.fixture
def keyring_names():
    if not shutil.which("keyctl"):
        pytest.fail("keyctl (keyutils) missing: run scripts/deps.sh test")
    t = uuid.uuid4().hex
    names = (f"berth-secret-{t}", f"berth-planted-{t}")
    yield names
    # The planted key, should it have got out: unlink it from root's user keyring again.
    cp = keyctl("search", "@u", "user", names[1], check=False)
    if cp.returncode == 0:
        keyctl("unlink", cp.stdout.strip(), "@u", check=False)


def test_keyrings_filtered(tree, keyring_names):
    secret, plant = keyring_names
    cp = run_in_session_with_secret(secret, ["-D", str(tree), "--console=pipe", IN_HELPER, "keys", secret, plant])
    assert cp.returncode == 0, cp
    r = parse_json_line(cp.stdout)
    assert r["session_id"] == -errno.EPERM and r["search_secret"] == errno.EPERM, r
    assert r["plant"] == errno.EPERM, r
    assert keyctl("search", "@u", "user", plant, check=False).returncode != 0


def test_fresh_session_keyring_even_with_keyctl_allowed(tree, keyring_names):
    secret, plant = keyring_names
    cp = run_in_session_with_secret(secret, ["-D", str(tree), "--console=pipe", "--system-call-filter=@keyring",
                                             IN_HELPER, "keys", secret, "unused-" + plant])
    assert cp.returncode == 0, cp
    r = parse_json_line(cp.stdout)
    assert r["session_id"] > 0, r
    assert r["search_secret"] == errno.ENOKEY and "read_secret" not in r, r
    cp = keyctl("search", "@u", "user", "unused-" + plant, check=False)
    if cp.returncode == 0:  # root's user keyring is shared without -U: allowed on request, cleaned
        keyctl("unlink", cp.stdout.strip(), "@u", check=False)


# --- /proc and /sys ------------------------------------------------------------------------------

def read_host(path):
    with open(path) as f:
        return f.read()


def test_proc_sys_read_only(tree):
    before = read_host("/proc/sys/kernel/core_pattern")
    r = probe(tree, "try-open", "/proc/sys/kernel/core_pattern", "w")
    assert r["open"] == errno.EROFS, r
    assert read_host("/proc/sys/kernel/core_pattern") == before


@pytest.mark.xfail(strict=True, reason=NEEDS_USERNS)
def test_proc_sys_remount_rw_refused(tree):
    r = probe(tree, "try-mount", "none", "/proc/sys", "-", "bind-remount-rw")
    assert r["mount"] != 0, r


@pytest.mark.xfail(strict=True, reason=NEEDS_USERNS)
def test_fresh_procfs_refused(tree):
    before = read_host("/proc/sys/kernel/core_pattern")
    r = probe(tree, "try-mount", "proc", "/tmp/p", "proc", "rw")
    assert read_host("/proc/sys/kernel/core_pattern") == before
    assert r["mount"] != 0, r


@pytest.mark.parametrize("path", ["/proc/irq/default_smp_affinity", "/proc/bus/pci/devices", "/proc/fs/nfsd",
                                  "/proc/sysrq-trigger"])
def test_proc_hardware_read_only(tree, path):
    host = path if os.path.exists(path) else None
    if not host:
        pytest.skip(f"{path} does not exist on this kernel")
    before = read_host(path) if os.path.isfile(path) and path != "/proc/sysrq-trigger" else None
    r = probe(tree, "try-open", path, "w")
    # Read-only bind (EROFS), or masked by a read-only mount / the container's /dev/null.
    assert r["open"] in (errno.EROFS, errno.EISDIR, errno.EACCES) or path == "/proc/sysrq-trigger", r
    if before is not None:
        assert read_host(path) == before


@pytest.mark.parametrize("path", ["/proc/keys", "/proc/kallsyms", "/proc/kcore", "/proc/timer_list",
                                  "/proc/sysrq-trigger"])
def test_proc_masked(tree, path):
    if not os.path.exists(path):
        pytest.skip(f"{path} does not exist on this kernel")
    cp = run_helper(tree, "stat", path)
    st = parse_json_line(cp.stdout)
    assert st["type"] == "chr" and (st["major"], st["minor"]) == (1, 3), st  # the container's /dev/null


def test_sysfs_read_only_with_private_network(tree):
    cp = shell(tree, "grep ' /sys ' /proc/self/mountinfo; echo 1 > /sys/kernel/profiling; echo rc=$?",
               opts=["--private-network"])
    line = next(l for l in out_lines(cp.stdout) if " /sys " in l)
    assert " ro," in line.split(" - ")[0] + ",", line
    assert "rc=0" not in cp.stdout, describe(cp)


@pytest.mark.xfail(strict=True, reason=NEEDS_USERNS)
def test_sysfs_remount_rw_refused_with_private_network(tree):
    r = probe(tree, "try-mount", "none", "/sys", "-", "remount-rw", opts=["--private-network"])
    assert r["mount"] != 0, r


def binfmt_attempt(tree, opts=()):
    """Registers a binfmt_misc handler from inside; returns (spawn's result, whether the host's
    binfmt_misc got it). What got registered on the host is removed again."""
    name = f"berth-{uuid.uuid4().hex[:12]}"
    # A magic nothing has: harmless even if it got registered.
    rule = f":{name}:M::\\xde\\xad\\xbe\\xef\\x42\\x42::/nonexistent-berth:"
    cp = shell(tree, f"mkdir -p /tmp/b && mount -t binfmt_misc binfmt_misc /tmp/b && "
                     f"printf '%s' '{rule}' > /tmp/b/register && test -e /tmp/b/{name}; echo rc=$?", opts=opts)
    d = "/proc/sys/fs/binfmt_misc"
    mounted_here = False
    if not os.path.exists(f"{d}/register"):
        subprocess.run(["mount", "-t", "binfmt_misc", "binfmt_misc", d], check=False)
        mounted_here = True
    registered = os.path.exists(f"{d}/{name}")
    if registered:
        with open(f"{d}/{name}", "w") as f:
            f.write("-1")
    if mounted_here:
        subprocess.run(["umount", d], check=False)
    return cp, registered


@pytest.mark.xfail(strict=True, reason=NEEDS_USERNS)
def test_binfmt_misc_registration_refused(tree):
    cp, registered = binfmt_attempt(tree)
    assert not registered and "rc=0" not in cp.stdout, describe(cp)


# --- devices -------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind,major,minor", [("b", 7, 0), ("b", 8, 0), ("c", 1, 11), ("c", 1, 1)],
                         ids=["loop0", "sda", "kmsg", "mem"])
def test_device_node_created_inside_unusable(tree_copy, kind, major, minor):
    r = probe(tree_copy, "mknod-open", "/node", kind, major, minor)
    assert r["open"] != 0 and r["open_ro"] != 0, r


def test_dev_kmsg_not_writable(tree):
    cp = shell(tree, f"ls /dev/kmsg; {IN_HELPER} mknod-open /dev/kmsg c 1 11")
    r = parse_json_line(cp.stdout)
    assert r["open"] != 0, describe(cp)


def test_devtmpfs_nodes_unusable(tree):
    # Mounting devtmpfs itself needs -U to refuse; its nodes stay closed by the device policy.
    cp = shell(tree, f"mkdir -p /tmp/d && mount -t devtmpfs devtmpfs /tmp/d; echo mount=$?; "
                     f"for n in kmsg mem loop0 sda; do [ -e /tmp/d/$n ] && {IN_HELPER} try-open /tmp/d/$n r; done; "
                     f"{IN_HELPER} try-open /tmp/d/null rw")
    results = json_lines(cp.stdout)
    assert results, describe(cp)
    *denied, null = results
    assert all(r["open"] != 0 for r in denied), describe(cp)
    if "mount=0" in cp.stdout:
        assert null["open"] == 0, describe(cp)


@pytest.mark.parametrize("path,major,minor", [("/dev/net/tun", 10, 200), ("/dev/fuse", 10, 229)])
def test_tun_and_fuse_usable(tree, path, major, minor):
    if not os.path.exists(path):
        pytest.skip(f"the host has no {path}")
    r = probe(tree, "try-open", path, "rw")
    assert r["open"] == 0, r


def test_device_allow_property(tree_copy):
    if not os.path.exists("/dev/loop-control"):
        pytest.skip("the host has no /dev/loop-control")
    st = os.stat("/dev/loop-control")
    args = ("mknod-open", "/lc", "c", os.major(st.st_rdev), os.minor(st.st_rdev))
    assert probe(tree_copy, *args)["open"] != 0
    if os.path.lexists(tree_copy / "lc"):
        os.unlink(tree_copy / "lc")
    r = probe(tree_copy, *args, opts=["--property=DeviceAllow=/dev/loop-control rwm"])
    assert r["open"] == 0, r


def test_own_cgroup_in_every_hierarchy(tree, token):
    p = subprocess.Popen(spawn_cmd(["-D", str(tree), "--console=pipe", "-M", "isolation-cg", IN_HELPER, "hang",
                                    token, "1"]), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=base_env())
    try:
        from conftest import pids_with_token
        import time
        pids = []
        for _ in range(100):
            pids = [q for q in pids_with_token(token) if q != p.pid]
            if pids:
                break
            time.sleep(0.05)
        assert pids, "container did not start"
        with open(f"/proc/{pids[0]}/cgroup") as f:
            lines = [l for l in f.read().splitlines() if l]
        assert lines and all(l.endswith("/machine-isolation-cg.scope") for l in lines), lines
    finally:
        p.kill()
        p.communicate(timeout=30)


# --- the new options, parsed and effective -------------------------------------------------------

def status_field(text, name):
    for line in text.splitlines():
        if line.startswith(name + ":"):
            return line.split(":", 1)[1].strip()
    return None


def test_capability_options(tree):
    caps = report(tree, opts=["--capability=CAP_SYS_TIME", "--drop-capability=CAP_SYS_ADMIN"])["caps"]
    bnd = int(caps["CapBnd"], 16)
    assert bnd & (1 << CAP_NUMBERS["SYS_TIME"]) and not bnd & (1 << CAP_NUMBERS["SYS_ADMIN"]), caps
    # A kept capability brings its system calls: CAP_SYS_TIME brings @clock.
    assert probe(tree, "syscalls", opts=["--capability=CAP_SYS_TIME"])["settimeofday"] == 0


def test_ambient_capability(tree):
    cp = shell(tree, "grep Cap /proc/self/status", opts=["-u", "tester", "--ambient-capability=CAP_NET_RAW"])
    amb = int(status_field(cp.stdout, "CapAmb"), 16)
    assert amb == 1 << CAP_NUMBERS["NET_RAW"], describe(cp)
    assert int(status_field(cp.stdout, "CapEff"), 16) & amb, describe(cp)


@pytest.mark.parametrize("opt,script,check", [
    ("--rlimit=NOFILE=100:200", "grep 'open files' /proc/self/limits", lambda o: o.split()[3:5] == ["100", "200"]),
    ("--oom-score-adjust=321", "cat /proc/self/oom_score_adj", lambda o: o.strip() == "321"),
    ("--cpu-affinity=0", "grep Cpus_allowed_list /proc/self/status", lambda o: o.split()[-1] == "0"),
    ("--personality=x86", "uname -m", lambda o: o.strip() in ("i686", "i386")),
    ("--no-new-privileges=yes", "grep NoNewPrivs /proc/self/status", lambda o: o.split()[-1] == "1"),
    ("--system-call-filter=~sethostname", "hostname berth-renamed; echo rc=$?", lambda o: "rc=0" not in o),
], ids=["rlimit", "oom", "affinity", "personality", "nnp", "filter-deny"])
def test_process_option_effective(tree, opt, script, check):
    cp = shell(tree, script, opts=[opt])
    assert check(cp.stdout), describe(cp)


@pytest.mark.parametrize("opt,want", [("--capability=help", "cap_sys_admin"),
                                      ("--system-call-filter=help", "@default")])
def test_help_lists(spawn_bin, opt, want):
    cp = run_spawn([opt])
    assert cp.returncode == 0 and want in out_lines(cp.stdout), describe(cp)


@pytest.mark.parametrize("opt", [
    "--system-call-filter=nosuchcall", "--system-call-filter=~@nosuchgroup", "--capability=CAP_BOGUS",
    "--drop-capability=bogus", "--ambient-capability=CAP_SYS_TIME", "--rlimit=NOFILE=5:1",
    "--rlimit=BOGUS=1", "--rlimit=NOFILE", "--oom-score-adjust=5000", "--cpu-affinity=x",
    "--personality=sparc", "--property=DeviceAllow=/nonexistent", "--no-new-privileges=maybe"])
def test_bad_isolation_input(tree, opt):
    cp = run_spawn(["-D", tree, "--console=pipe", "-M", "isolation-bad", opt, IN_HELPER, "exit", "0"])
    assert cp.returncode == 1, describe(cp)
    assert len(nonempty_lines(cp.stderr)) == 1, describe(cp)
    assert not mounts_under(tree)
    no_leftovers(tree)
    assert not any(os.path.exists(f"/sys/fs/cgroup/{h}/machine-isolation-bad.scope")
                   for h in os.listdir("/sys/fs/cgroup")), "cgroup left behind"


def test_device_policy_when_registered(machined, tree_copy):
    # The registry makes the container's cgroups; the policy must be applied there all the same.
    cp = run_spawn(["-D", tree_copy, "--console=pipe", "--register=yes", "-M", "isolation-reg", "/bin/sh", "-c",
                    f"{IN_HELPER} mknod-open /blk b 7 0; {IN_HELPER} try-open /dev/null rw; cat /proc/self/cgroup"],
                   env=machined.bus.env())
    assert cp.returncode == 0, describe(cp)
    blk, null = json_lines(cp.stdout)
    assert blk["open"] != 0 and blk["open_ro"] != 0, describe(cp)
    assert null["open"] == 0, describe(cp)


def test_filter_covers_the_other_architectures(tree):
    # seccomp runs before the kernel dispatches, so x32 numbers are judged even on a kernel
    # without the x32 ABI; i386 needs a kernel that runs int $0x80 at all.
    if os.uname().machine != "x86_64":
        pytest.skip("x86-64 only")
    r = probe(tree, "compat-syscalls")
    assert r["x32_swapon"] == -errno.EPERM and r["x32_keyctl"] == -errno.EPERM, r
    if not r["i386"]:
        print("i386 system calls: this kernel does not run them (ia32 emulation off); not tried")
        return
    assert r["i386_getpid"] > 0, r
    for name in ("i386_swapon", "i386_keyctl", "i386_bpf", "i386_open_by_handle_at"):
        assert r[name] == -errno.EPERM, r
