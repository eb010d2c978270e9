"""spawn registers its containers with machined (and systemd-nspawn can register with ours):
--register=yes|no|auto, CreateMachineWithNetwork vs --keep-unit, scope properties, name clashes,
and the registry following the container however it ends."""

import os
import signal
import subprocess
import time

import pytest

from boot_fixtures import Booted, boot, bookworm, bookworm_cache, notify, overlay_of  # noqa: F401 (fixtures)
from conftest import IN_HELPER, describe, reap_zombie_children, run_spawn, spawn_cmd
from machined_fixtures import BUS_NAME, VarlinkClient, cgroup_dirs, dbus_error, unit_escape


def start_registered(procs, machined, tree, name, *opts, command=("sleep-forever",)):
    """spawn registering with the test's machined; returns (Popen, Booted view) once the payload runs."""
    p = procs.track(subprocess.Popen(
        spawn_cmd(["-D", tree, f"--machine={name}", "--console=pipe", "--register=yes",
                   "--setenv=BERTH_TEST_HELPER_HANG_READY=1", *opts, IN_HELPER, *command]),
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=machined.bus.env()))
    b = Booted(p, None, None)
    pid = b.init_pid()
    deadline = time.monotonic() + 10
    while not machine_names(machined) & {name}:
        if p.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"{name} never registered: rc={p.poll()} {p.stderr.read().decode() if p.poll() is not None else ''}")
        time.sleep(0.02)
    return p, pid


def machine_names(machined):
    return {str(m[0]) for m in machined.manager().ListMachines()} - {".host"}  # the host is always listed


def wait_unregistered(machined, name, timeout=5.0):
    deadline = time.monotonic() + timeout
    while name in machine_names(machined):
        assert time.monotonic() < deadline, f"{name} still registered after {timeout}s"
        time.sleep(0.01)


def test_register_yes_creates_scope(machined, busybox_tree, procs):
    p, leader = start_registered(procs, machined, busybox_tree, "reg1")
    props = machined.properties(str(machined.manager().GetMachine("reg1")), "org.freedesktop.machine1.Machine")
    assert props["Class"] == "container"
    assert props["Service"] == "berth"
    assert props["Leader"] == leader
    assert props["RootDirectory"] == str(busybox_tree)
    assert props["Unit"] == "machine-reg1.scope"
    # spawn, not its short-lived registration helper, is the machine's supervisor.
    assert props["Supervisor"] == p.pid, (props["Supervisor"], p.pid)
    with open(f"/proc/{leader}/cgroup") as f:
        cg = f.read()
    assert "machine.slice/machine-reg1.scope" in cg, cg
    # The container ends (SIGTERM → SIGKILL to PID 1): the registry follows at once.
    os.kill(p.pid, signal.SIGTERM)
    p.wait(timeout=10)
    wait_unregistered(machined, "reg1")
    assert not any(os.path.exists(d) for d in machined.scope_dirs("reg1").values())


def test_registration_gone_when_payload_exits(machined, busybox_tree, procs):
    p, leader = start_registered(procs, machined, busybox_tree, "reg2", command=("sleep", "0.5"))
    assert p.wait(timeout=10) == 0
    wait_unregistered(machined, "reg2")


def test_registration_gone_when_spawn_is_killed(machined, busybox_tree, procs):
    p, leader = start_registered(procs, machined, busybox_tree, "reg3")
    os.kill(p.pid, signal.SIGKILL)
    p.wait(timeout=10)
    wait_unregistered(machined, "reg3")
    deadline = time.monotonic() + 5
    while os.path.exists(f"/proc/{leader}") and time.monotonic() < deadline:
        reap_zombie_children()
        time.sleep(0.02)
    assert not os.path.exists(f"/proc/{leader}")


def test_second_spawn_with_same_name_fails(machined, busybox_tree, procs):
    start_registered(procs, machined, busybox_tree, "twin")
    cp = run_spawn(["-D", busybox_tree, "--machine=twin", "--register=yes", "--console=pipe", "/bin/true"],
                   env=machined.bus.env())
    assert cp.returncode == 1, describe(cp)
    lines = cp.stderr.strip().splitlines()
    assert len(lines) == 1 and "twin" in lines[0] and "already" in lines[0], describe(cp)
    assert machine_names(machined) == {"twin"}


def test_scope_properties_pass_through(machined, busybox_tree, procs):
    p, leader = start_registered(procs, machined, busybox_tree, "limited", "--property=TasksMax=33",
                                 "--property=MemoryMax=96M")
    with open(f"/proc/{leader}/cgroup") as f:
        lines = [l.strip().split(":", 2) for l in f]
    pids = [l for l in lines if "pids" in l[1].split(",")]
    mem = [l for l in lines if "memory" in l[1].split(",")]
    if pids:
        with open(f"/sys/fs/cgroup/{pids[0][1]}{pids[0][2]}/pids.max") as f:
            assert f.read().strip() == "33"
    if mem:
        with open(f"/sys/fs/cgroup/{mem[0][1]}{mem[0][2]}/memory.limit_in_bytes") as f:
            assert int(f.read()) == 96 * 1024 * 1024
    assert pids or mem, lines


def test_keep_unit_registers_own_cgroup(machined, busybox_tree, procs):
    p, leader = start_registered(procs, machined, busybox_tree, "kept", "--keep-unit")
    props = machined.properties(str(machined.manager().GetMachine("kept")), "org.freedesktop.machine1.Machine")
    assert props["Leader"] == leader
    assert props["Unit"].endswith(".scope")
    os.kill(p.pid, signal.SIGTERM)
    p.wait(timeout=10)
    wait_unregistered(machined, "kept")


def test_register_yes_without_registry_fails(busybox_tree, scratch):
    env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=f"unix:path={scratch}/nobus")
    cp = run_spawn(["-D", busybox_tree, "--register=yes", "/bin/true"], env=env)
    assert cp.returncode == 1, describe(cp)
    assert len(cp.stderr.strip().splitlines()) == 1 and "register" in cp.stderr, describe(cp)


def test_register_auto_without_registry_says_so_once(busybox_tree, scratch):
    env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=f"unix:path={scratch}/nobus")
    cp = run_spawn(["-D", busybox_tree, "--console=pipe", IN_HELPER, "echo", "ran"], env=env, quiet=False)
    assert cp.returncode == 0 and cp.stdout.strip() == "ran", describe(cp)
    assert cp.stderr.count("not registered") == 1, describe(cp)
    cp = run_spawn(["-D", busybox_tree, "--console=pipe", IN_HELPER, "echo", "ran"], env=env, quiet=True)
    assert cp.returncode == 0 and cp.stderr == "", describe(cp)


def test_register_auto_with_registry(machined, busybox_tree, procs):
    p = procs.track(subprocess.Popen(
        spawn_cmd(["-D", busybox_tree, "--machine=autoreg", "--console=pipe", IN_HELPER, "sleep-forever"]),
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=machined.bus.env()))
    deadline = time.monotonic() + 10
    while "autoreg" not in machine_names(machined):
        assert p.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    os.kill(p.pid, signal.SIGKILL)
    p.wait(timeout=10)
    wait_unregistered(machined, "autoreg")


def test_reboot_reregisters(machined, tree_copy, procs):
    # busybox init: `reboot` inside kills init with SIGHUP (reboot(2) in a PID namespace);
    # --restart-on-reboot boots again and must register the same name again without a clash.
    (tree_copy / "etc" / "inittab").write_text("::sysinit:/bin/touch /run/booted\n::respawn:/bin/sleep 1000\n")
    p = procs.track(subprocess.Popen(
        spawn_cmd(["-D", tree_copy, "--machine=rebooter", "-b", "--register=yes", "--restart-on-reboot",
                   "--console=pipe"]), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, env=machined.bus.env()))
    b = Booted(p, None, None)
    b.wait_file("/run/booted")
    first = machined.properties(str(machined.manager().GetMachine("rebooter")), "org.freedesktop.machine1.Machine")["Leader"]
    # reboot runs inside the container's PID namespace: init's SIGTERM to every process on its way
    # down may reach it before it exits (nsenter then dies of the same signal). That is fine.
    cp = subprocess.run(["nsenter", "-t", str(first), "-m", "-p", "--", "/bin/reboot"], timeout=10)
    assert cp.returncode in (0, -signal.SIGTERM), cp
    deadline = time.monotonic() + 20
    leader = first
    while leader == first:
        assert p.poll() is None, p.stderr.read().decode()
        assert time.monotonic() < deadline, "never re-registered"
        try:
            leader = machined.properties(str(machined.manager().GetMachine("rebooter")),
                                         "org.freedesktop.machine1.Machine")["Leader"]
        except Exception:
            pass
        time.sleep(0.05)
    b.wait_file("/run/booted")
    os.kill(p.pid, signal.SIGTERM)  # busybox init: SIGUSR2 → poweroff → exit 0
    assert p.wait(timeout=30) == 0, p.stderr.read().decode()
    wait_unregistered(machined, "rebooter")


def test_systemd_nspawn_registers_with_our_machined(machined, busybox_tree, procs):
    """systemd-nspawn --register=yes --keep-unit, run from a unit-like cgroup below machined's
    cgroup root, shows up in our registry with that unit."""
    nspawn = subprocess.run(["sh", "-c", "command -v systemd-nspawn"], stdout=subprocess.PIPE).stdout.strip()
    if not nspawn:
        subprocess.run(["apt-get", "install", "-y", "-q", "systemd-container"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=600)
    unit = "nspawn-test-unit.scope"
    dirs = cgroup_dirs(f"{machined.cgroup_root}/{unit}")
    made = []
    try:
        for key, d in dirs.items():
            if key in ("", "name=systemd"):  # where systemd tools look a process's unit up
                os.makedirs(d, exist_ok=True)
                made.append(d)
        procs_files = [os.path.join(d, "cgroup.procs") for d in made]

        def enter_unit():
            for f in procs_files:
                with open(f, "w") as fh:
                    fh.write(str(os.getpid()))

        p = procs.track(subprocess.Popen(
            ["systemd-nspawn", "--register=yes", "--keep-unit", "-q", "-D", str(busybox_tree), "-M", "nspawned",
             IN_HELPER, "sleep-forever"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, env=machined.bus.env(), preexec_fn=enter_unit))
        deadline = time.monotonic() + 15
        while "nspawned" not in machine_names(machined):
            assert p.poll() is None, p.stderr.read().decode()
            assert time.monotonic() < deadline, "systemd-nspawn did not register"
            time.sleep(0.05)
        props = machined.properties(str(machined.manager().GetMachine("nspawned")), "org.freedesktop.machine1.Machine")
        assert props["Service"] == "systemd-nspawn"
        assert props["Unit"] == unit, props
        os.kill(p.pid, signal.SIGTERM)
        p.wait(timeout=15)
        wait_unregistered(machined, "nspawned")
    finally:
        for d in made:
            for dirpath, dirnames, _ in sorted(os.walk(d, topdown=False), key=lambda x: -len(x[0])):
                try:
                    os.rmdir(dirpath)
                except OSError:
                    pass


def test_same_name_again_right_after_exit(machined, busybox_tree):
    # The registry learns of the leader's death asynchronously; a registration of the same name
    # that arrives first must not fail with MachineExists.
    for i in range(15):
        cp = run_spawn(["-D", busybox_tree, "--machine=again", "--register=yes", "--console=pipe", "/bin/true"],
                       env=machined.bus.env())
        assert cp.returncode == 0, f"run {i}: {describe(cp)}"
    wait_unregistered(machined, "again")


# ---------------------------------------------------------------------------------------------
# Terminate: the supervisor (spawn) halts the guest the way its init understands

def test_terminate_halts_a_systemd_guest(machined, bookworm, boot):
    """TerminateMachine reaches a systemd guest as SIGRTMIN+3 through spawn: it shuts down cleanly
    and spawn exits 0, instead of the guest being killed."""
    b = boot(bookworm, "--machine=sdterm", "--register=yes", env_extra={"DBUS_SYSTEM_BUS_ADDRESS": machined.bus.address})
    b.wait_ready()
    assert machined.properties(str(machined.manager().GetMachine("sdterm")),
                               "org.freedesktop.machine1.Machine")["Supervisor"] == b.proc.pid
    machined.manager().TerminateMachine("sdterm")
    rc = b.exit_code(60)
    out = b.output()
    assert rc == 0, f"spawn exit {rc}; output:\n{out[-3000:]}"
    assert "SIGRTMIN+3" in out and ("Halting system" in out or "Powering off" in out), out[-3000:]
    assert "Reached target" in out and ("System Halt" in out or "Power-Off" in out), out[-3000:]
    wait_unregistered(machined, "sdterm")


def test_terminate_halts_a_busybox_guest_over_varlink(machined, tree_copy, procs):
    (tree_copy / "etc" / "inittab").write_text("::sysinit:/bin/touch /run/booted\n::respawn:/bin/sleep 1000\n"
                                               "::shutdown:/bin/echo busybox-shutdown-ran\n")
    p = procs.track(subprocess.Popen(
        spawn_cmd(["-D", tree_copy, "--machine=bbterm", "-b", "--register=yes", "--console=pipe"]),
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=machined.bus.env()))
    Booted(p, None, None).wait_file("/run/booted")
    c = VarlinkClient(machined.varlink_socket)
    try:
        assert "error" not in c.call("io.systemd.Machine.Terminate", {"name": "bbterm"})[0]
    finally:
        c.close()
    assert p.wait(timeout=30) == 0
    assert b"busybox-shutdown-ran" in p.stdout.read()
    wait_unregistered(machined, "bbterm")


def test_terminate_kills_after_the_timeout(machined, busybox_tree, procs):
    """A guest that ignores its halt request is killed once the timeout passes; a second
    terminate kills at once."""
    machined.stop()
    machined.start("--terminate-timeout=1")
    for name, again in (("stubborn", False), ("stubborn2", True)):
        # PID 1 of a namespace ignores signals it has no handler for: SIGWINCH changes nothing.
        p, leader = start_registered(procs, machined, busybox_tree, name, "--kill-signal=SIGWINCH")
        start = time.monotonic()
        machined.manager().TerminateMachine(name)
        if again:
            machined.manager().TerminateMachine(name)
        p.wait(timeout=15)
        took = time.monotonic() - start
        assert p.returncode != 0
        assert took < 0.9 if again else took >= 0.9, took
        wait_unregistered(machined, name)
    assert "did not halt within 1 s" in machined.log_text()
