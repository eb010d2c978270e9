#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Boot and halt time of a Debian 12 tree, or of a disk image of it (--image), under berth's spawn
and under systemd-nspawn.

Each boot runs on a fresh overlayfs over the cached debootstrap tree (/var/cache/berth/debian-bookworm,
created when missing), so both peers boot the same pristine tree. Boot time is measured from the
start of the peer's process to the guest's READY=1, which both peers forward to $NOTIFY_SOCKET with
--notify-ready=yes; halt time from SIGTERM to the peer's exit. The peers alternate, the starting
peer rotates each iteration. With --image both peers boot, with -i IMG --read-only, a GPT image
of the tree built once and cached next to it (named after the tree's identity), in a mount namespace
with the /run/udev/control socket nspawn wants for -i (benchlib.enter_fake_udev_namespace). Also
measures the peak RSS (VmHWM) of both supervisors during one boot.
Must run as root. Standard library only. See bench/README.md.

The benchmark reports; it does not gate: a missed goal is printed as MISS but the exit code stays 0.
Non-zero exit codes mean the benchmark itself could not run (not root, spawn missing, no tree, ...).
"""

import argparse
import glob
import hashlib
import os
import platform
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import benchlib
from benchlib import Terminated, die, goal_word, log, mounts_under, stop_process, warn

CACHE_DIR = os.environ.get("BERTH_CACHE_DIR", "/var/cache/berth")
TREE_NAME = "debian-bookworm"
TREE_MARKER = ".berth-tree-complete"
DEBOOTSTRAP_INCLUDE = "systemd,systemd-sysv,dbus"
DEBOOTSTRAP_SUITE = "bookworm"
DEBOOTSTRAP_MIRROR = "http://deb.debian.org/debian"

# The overlay's merged directory: spawn and systemd-nspawn both derive the machine name from it, so
# every boot of either peer runs as machine "benchboot".
MACHINE = "benchboot"

# --image: the same option for both peers, so that neither writes to the cached image.
IMAGE_RO_OPT = "--read-only"

GOAL_BOOT_RATIO = 0.9  # spawn boot median <= 0.9x systemd-nspawn's
GOAL_HALT_RATIO = 1.0  # spawn halt median <= 1.0x systemd-nspawn's

RSS_POLL_S = 0.020
LEFTOVER_GRACE_S = 10.0
LOG_TAIL_LINES = 15

PEER_LABELS = {"spawn": "spawn", "nspawn": "systemd-nspawn"}


_in_cleanup = False
_pending_signal = None


def on_signal(signum, frame):
    """benchlib.raise_terminated, also for SIGINT, but deferred while cleanup runs: a second Ctrl-C
    must not stop the unmounting of an overlay half-way."""
    global _pending_signal
    if _in_cleanup:
        # Cleanup is already running: finish it, then exit with this signal's code.
        _pending_signal = signum
        return
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    benchlib.raise_terminated(signum, frame)


# ---------------------------------------------------------------------------------------------------
# Packages and the cached tree


def remove_tree_safely(path):
    """rmtree PATH unless something is mounted at or below it (debootstrap mounts /proc in its
    target). Returns True if PATH is gone."""
    if not os.path.lexists(path):
        return True
    left = mounts_under(path)
    for mp in sorted(left, key=len, reverse=True):
        umount(mp)
    left = mounts_under(path)
    if left:
        warn(f"mounts left under {path}, NOT removing it: {', '.join(left)}")
        return False
    shutil.rmtree(path, ignore_errors=True)
    return not os.path.lexists(path)


def ensure_tree(state, allow_install):
    """The cached tree, created with debootstrap (a few minutes) when its marker file is missing."""
    path = os.path.join(CACHE_DIR, TREE_NAME)
    marker = os.path.join(path, TREE_MARKER)
    if os.path.isfile(marker):
        return path, False
    avail, reason = benchlib.ensure_binary("debootstrap", "debootstrap", allow_install)
    if not avail:
        die(f"{path} does not exist (or lacks {TREE_MARKER}) and cannot be created: {reason}")
    os.makedirs(CACHE_DIR, exist_ok=True)
    tmp = path + ".tmp"
    if not remove_tree_safely(path) or not remove_tree_safely(tmp):
        die(f"cannot clear an incomplete {path} or {tmp}")
    log(f"Creating the cached tree {path} with debootstrap (takes a few minutes) ...")
    cmd = ["debootstrap", "--variant=minbase", f"--include={DEBOOTSTRAP_INCLUDE}", DEBOOTSTRAP_SUITE,
           tmp, DEBOOTSTRAP_MIRROR]
    state.debootstrap_tmp = tmp
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
        state.live.append(proc)
        try:
            rc = proc.wait()
        finally:
            if proc.poll() is None:
                stop_process(proc)
            state.live.remove(proc)
        if rc != 0:
            out.seek(0)
            tail = out.read().decode(errors="replace").splitlines()[-LOG_TAIL_LINES:]
            remove_tree_safely(tmp)
            state.debootstrap_tmp = None
            die(f"debootstrap failed (exit {rc}):\n" + "\n".join("    " + l for l in tail))
    with open(os.path.join(tmp, TREE_MARKER), "w") as f:
        f.write(f"debootstrap --variant=minbase --include={DEBOOTSTRAP_INCLUDE} {DEBOOTSTRAP_SUITE}\n")
    os.rename(tmp, path)
    state.debootstrap_tmp = None
    return path, True


def image_path_for(tree):
    """The cached image's name carries a key of the tree's identity (its inode, and its marker's
    inode and mtime): a tree made anew by debootstrap gets a new image, a stale one is never booted."""
    t = os.stat(tree)
    m = os.stat(os.path.join(tree, TREE_MARKER))
    key = hashlib.sha256(f"{t.st_dev}:{t.st_ino}:{m.st_ino}:{m.st_mtime_ns}".encode()).hexdigest()[:12]
    return os.path.join(CACHE_DIR, f"{TREE_NAME}.{key}.raw")


def tree_bytes(tree):
    """Disk usage of TREE, for the size of the image's root partition."""
    total = 0
    for root, dirs, files in os.walk(tree):
        for n in dirs + files:
            try:
                total += os.lstat(os.path.join(root, n)).st_blocks * 512
            except OSError:
                pass
    return total


def ensure_image(state, tree):
    """A GPT image with one root partition holding TREE (ext4 by mke2fs -d, no loop device), built
    when the cached one is missing; images of earlier trees are deleted. Returns (path, created)."""
    path = image_path_for(tree)
    if os.path.isfile(path):
        return path, False
    for tool in ("sfdisk", "mke2fs"):
        if not shutil.which(tool):
            die(f"{tool} not found (scripts/deps.sh test installs fdisk and e2fsprogs)")
    # Half as much again as the tree, plus room for ext4's journal and inode tables.
    size = (tree_bytes(tree) * 3 // 2 + 128 * benchlib.MiB) // benchlib.MiB * benchlib.MiB
    log(f"Building the cached image {path} ({size // benchlib.MiB} MiB root partition) ...")
    tmp = f"{path}.tmp.{os.getpid()}"
    state.image_tmp = tmp
    try:
        benchlib.write_gpt_image(tmp, [(benchlib.GPT_ROOT_X86_64, size, tree)])
    except subprocess.CalledProcessError as e:
        die(f"building the image failed: {' '.join(e.cmd[:1])} exited with {e.returncode}")
    os.rename(tmp, path)
    state.image_tmp = None
    for old in glob.glob(os.path.join(CACHE_DIR, f"{TREE_NAME}.*.raw")):
        if old != path:
            os.unlink(old)
    return path, True


# ---------------------------------------------------------------------------------------------------
# Mounts


def umount(path):
    """umount PATH, lazily if it is busy. Returns True if nothing is mounted at PATH anymore."""
    for cmd in (["umount", path], ["umount", "-l", path]):
        subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if path not in mounts_under(path):
            return True
    return path not in mounts_under(path)


class Overlay:
    """lowerdir=the cached tree, fresh upper/work, merged dir DIR/benchboot."""

    def __init__(self, lower, base):
        self.base = base
        self.upper = os.path.join(base, "upper")
        self.work = os.path.join(base, "work")
        self.merged = os.path.join(base, MACHINE)
        self.mounted = False
        for d in (self.base, self.upper, self.work, self.merged):
            os.mkdir(d)
        r = subprocess.run(["mount", "-t", "overlay", "overlay", "-o",
                            f"lowerdir={lower},upperdir={self.upper},workdir={self.work}", self.merged],
                           stdin=subprocess.DEVNULL, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"mounting the overlay on {self.merged} failed: {r.stderr.strip()}")
        self.mounted = True

    def remove(self):
        """Unmounts and deletes the overlay's directories. Returns the mounts still left under it."""
        if self.mounted:
            umount(self.merged)
            self.mounted = False
        left = mounts_under(self.base)
        for mp in sorted(left, key=len, reverse=True):
            umount(mp)
        left = mounts_under(self.base)
        if not left:
            shutil.rmtree(self.base, ignore_errors=True)
        return left


# ---------------------------------------------------------------------------------------------------
# Processes


def proc_stat(pid):
    """(state, starttime) from /proc/PID/stat, or None if the process is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            data = f.read()
    except OSError:
        return None
    rest = data[data.rfind(")") + 2:].split()
    return rest[0], int(rest[19])


def pid_ns(pid):
    try:
        return os.readlink(f"/proc/{pid}/ns/pid")
    except OSError:
        return None


def descendants(pid):
    """All descendants of PID as {pid: (starttime, pid namespace)}, walking /proc/*/task/*/children."""
    found = {}
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{p}/task")
        except OSError:
            continue
        for t in tasks:
            try:
                with open(f"/proc/{p}/task/{t}/children") as f:
                    kids = [int(x) for x in f.read().split()]
            except OSError:
                continue
            for k in kids:
                if k in found:
                    continue
                st = proc_stat(k)
                if st is None:
                    continue
                found[k] = (st[1], pid_ns(k))
                todo.append(k)
    return found


def still_alive(pid, starttime):
    st = proc_stat(pid)
    return st is not None and st[1] == starttime and st[0] not in ("Z", "X")


def kill_by_pid(pid, starttime, sig=signal.SIGKILL):
    """Sends SIG to PID through a pidfd, only if it is still the process that was recorded."""
    try:
        fd = os.pidfd_open(pid)
    except OSError:
        return
    try:
        if still_alive(pid, starttime):
            signal.pidfd_send_signal(fd, sig)
    except OSError:
        pass
    finally:
        os.close(fd)


def reap_leftovers(known):
    """After a peer exited: waits for the processes it had started to go away, then SIGKILLs what is
    left, by PID. Container processes (another PID namespace) go first: killing the container's init
    takes its whole namespace down. Returns the list of leftovers that had to be killed."""
    own_ns = pid_ns(os.getpid())
    deadline = time.monotonic() + LEFTOVER_GRACE_S
    alive = {p: v for p, v in known.items() if still_alive(p, v[0])}
    while alive and time.monotonic() < deadline:
        time.sleep(0.05)
        alive = {p: v for p, v in alive.items() if still_alive(p, v[0])}
    killed = []
    if alive:
        order = sorted(alive.items(), key=lambda kv: kv[1][1] == own_ns)
        for p, (start, ns) in order:
            if still_alive(p, start):
                killed.append(f"{p} ({read_comm(p)})")
                kill_by_pid(p, start)
        deadline = time.monotonic() + 5
        while any(still_alive(p, v[0]) for p, v in alive.items()) and time.monotonic() < deadline:
            time.sleep(0.05)
    return killed


def read_comm(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return "?"


def log_tail(path, n=LOG_TAIL_LINES):
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 16384))
            data = f.read().decode(errors="replace")
    except OSError as e:
        return [f"(cannot read {path}: {e})"]
    lines = [l.rstrip("\r") for l in data.splitlines()]
    # The guest's console output contains escape sequences; strip ESC so the tail prints cleanly.
    return [l.replace("\x1b", "^[") for l in lines[-n:]] or ["(empty)"]


# ---------------------------------------------------------------------------------------------------
# One boot


class State:
    """What cleanup must undo: running children, their descendants, mounted overlays."""

    def __init__(self):
        self.workdir = None
        self.live = []  # Popen objects still running
        self.known = {}  # pid -> (starttime, pidns) of descendants seen so far
        self.overlays = []
        self.debootstrap_tmp = None
        self.image_tmp = None


class Target:
    """What is booted: the cached tree (each boot on a fresh overlay over it) or, with IMAGE, that
    image of it, booted as it is with IMAGE_RO_OPT."""

    def __init__(self, spawn, tree, image=None):
        self.spawn = spawn
        self.tree = tree
        self.image = image

    def command(self, name, merged):
        """Peer NAME's command line; MERGED is the overlay's merged directory (tree mode only)."""
        tail = ["-b", "--notify-ready=yes", "--console=read-only"]
        if self.image:
            # The image's name is no machine name; both peers get the overlay's one.
            where = ["-M", MACHINE, "-i", self.image, IMAGE_RO_OPT]
        else:
            where = ["-D", merged]
        if name == "spawn":
            # Unregistered like nspawn: a registry on the machine would add its round trip to
            # spawn's figure alone (as in bench-spawn).
            return [self.spawn, "-q", "--register=no"] + where + tail
        return ["systemd-nspawn", "-q", "--register=no", "--keep-unit"] + where + tail


def has_ready(datagram):
    return any(line == "READY=1" for line in datagram.decode(errors="replace").split("\n"))


def drain_for_ready(sock, messages):
    """Reads what is queued on SOCK without waiting, into MESSAGES; the time READY=1 was read, or None."""
    sock.setblocking(False)
    try:
        while True:
            data = sock.recv(65536)
            messages.append(data.decode(errors="replace"))
            if has_ready(data):
                return time.perf_counter_ns()
    except BlockingIOError:
        return None


def boot_once(state, name, target, rundir, args, poll_rss=False, keep_log_as=None):
    """Boots TARGET once with peer NAME (a tree on a fresh overlay), waits for READY=1, sends SIGTERM and
    waits for the exit. Returns a dict with boot_ns, halt_ns, exit_code, ok, error, log_tail and, with
    POLL_RSS, the peak VmHWM/VmRSS of the started process."""
    os.mkdir(rundir)
    res = {"peer": name, "ok": False, "boot_ns": None, "halt_ns": None, "exit_code": None, "error": None}
    ovl = None
    if not target.image:
        ovl = Overlay(target.tree, os.path.join(rundir, "ovl"))
        state.overlays.append(ovl)
    sock_path = os.path.join(rundir, "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
    sock.bind(sock_path)
    logfile = os.path.join(rundir, "console.log")
    env = dict(os.environ, NOTIFY_SOCKET=sock_path)
    for k in ("LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", "WATCHDOG_PID", "WATCHDOG_USEC"):
        env.pop(k, None)
    cmd = target.command(name, ovl.merged if ovl else None)
    res["cmd"] = cmd
    proc = None
    pidfd = -1
    peak = benchlib.PeakVm()
    messages = []

    def sample_vm():
        peak.sample(proc.pid)

    def wait_exit(timeout):
        """Waits for the peer's exit on its pidfd. Returns the perf_counter_ns of the exit or None."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            step = min(left, RSS_POLL_S) if poll_rss else left
            if pidfd >= 0:
                r, _, _ = select.select([pidfd], [], [], step)
                if r:
                    return time.perf_counter_ns()
            elif proc.poll() is not None:
                return time.perf_counter_ns()
            else:
                time.sleep(min(step, 0.002))
            if poll_rss:
                sample_vm()

    try:
        with open(logfile, "wb") as out:
            t0 = time.perf_counter_ns()
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                    env=env, start_new_session=True)
        state.live.append(proc)
        try:
            pidfd = os.pidfd_open(proc.pid)
        except (AttributeError, OSError):
            pidfd = -1

        # ---- boot: wait for a datagram with the line READY=1, or the peer's exit ----
        deadline = time.monotonic() + args.boot_timeout
        t_ready = None
        while t_ready is None:
            left = deadline - time.monotonic()
            if left <= 0:
                res["error"] = f"no READY=1 within {args.boot_timeout:g} s"
                break
            step = min(left, RSS_POLL_S) if (poll_rss or pidfd < 0) else left
            rlist = [sock] + ([pidfd] if pidfd >= 0 else [])
            r, _, _ = select.select(rlist, [], [], step)
            if sock in r:
                data = sock.recv(65536)
                now = time.perf_counter_ns()
                messages.append(data.decode(errors="replace"))
                if has_ready(data):
                    t_ready = now
                    break
            if (pidfd >= 0 and pidfd in r) or (pidfd < 0 and proc.poll() is not None):
                # Exited: a READY=1 sent just before the exit may still be queued.
                t_ready = drain_for_ready(sock, messages)
                if t_ready is None:
                    proc.wait()
                    res["exit_code"] = proc.returncode
                    res["error"] = f"exited with {proc.returncode} before READY=1"
                break
            if poll_rss:
                sample_vm()
        if proc.poll() is None:
            state.known.update(descendants(proc.pid))

        if t_ready is not None:
            res["boot_ns"] = t_ready - t0
            if poll_rss:
                sample_vm()
            # ---- halt: SIGTERM, wait for the exit ----
            if proc.poll() is not None:
                res["exit_code"] = proc.returncode
                res["error"] = f"exited by itself with {proc.returncode} right after READY=1"
            else:
                state.known.update(descendants(proc.pid))
                t1 = time.perf_counter_ns()
                proc.send_signal(signal.SIGTERM)
                t2 = wait_exit(args.halt_timeout)
                if t2 is None:
                    res["error"] = f"did not exit within {args.halt_timeout:g} s of SIGTERM"
                else:
                    res["halt_ns"] = t2 - t1
            if res["error"] is None:
                proc.wait()
                res["exit_code"] = proc.returncode
                if proc.returncode != 0:
                    res["error"] = f"exit code {proc.returncode} after SIGTERM"
                else:
                    res["ok"] = True
    finally:
        if proc is not None:
            if proc.poll() is None:
                state.known.update(descendants(proc.pid))
                stop_process(proc, timeout=args.halt_timeout)
                if res["exit_code"] is None:
                    res["exit_code"] = proc.returncode
            if proc in state.live:
                state.live.remove(proc)
        if pidfd >= 0:
            os.close(pidfd)
        sock.close()
        # Nothing of this boot may survive into the next one (the machine name is reused).
        killed = reap_leftovers(state.known)
        state.known = {}
        if killed:
            res["leftovers_killed"] = killed
            if res["ok"]:
                res["ok"] = False
                res["error"] = f"left processes behind after exit: {', '.join(killed)}"
        left = ovl.remove() if ovl else mounts_under(rundir)
        if ovl:
            state.overlays.remove(ovl)
        if left:
            res["leftover_mounts"] = left
    res["notify_messages"] = messages
    if poll_rss:
        res.update(peak.result())
    if not res["ok"]:
        res["log_tail"] = log_tail(logfile)
    if keep_log_as:
        try:
            shutil.copyfile(logfile, keep_log_as)
        except OSError as e:
            warn(f"cannot keep the log as {keep_log_as}: {e}")
    return res


# ---------------------------------------------------------------------------------------------------
# Statistics and output


def fmt_ms(v):
    return benchlib.fmt_ms(v, prec=1)


def short_result(r):
    if r["ok"]:
        return f"boot {r['boot_ns'] / 1e6:7.1f} ms, halt {r['halt_ns'] / 1e6:7.1f} ms"
    return f"FAILED ({r['error']})"


def print_failure(label, r):
    log(f"    {label} failed: {r['error']}; last lines of its output:")
    for l in r.get("log_tail", []):
        log(f"      | {l}")


# ---------------------------------------------------------------------------------------------------
# Cleanup


def cleanup(state):
    """Stops leftover peers and their containers (by PID), unmounts the overlays, checks that no mount
    is left under the temp dir and removes it. Returns the list of mounts found under it (the dir is
    kept if there are any, so nothing is deleted through a mount)."""
    global _in_cleanup
    _in_cleanup = True
    for proc in list(state.live):
        if proc.poll() is None:
            state.known.update(descendants(proc.pid))
        stop_process(proc)
        state.live.remove(proc)
    killed = reap_leftovers(state.known)
    if killed:
        warn(f"killed leftover processes: {', '.join(killed)}")
    state.known = {}
    for ovl in list(state.overlays):
        ovl.remove()
        state.overlays.remove(ovl)
    if state.debootstrap_tmp:
        remove_tree_safely(state.debootstrap_tmp)
        state.debootstrap_tmp = None
    if state.image_tmp:
        try:
            os.unlink(state.image_tmp)
        except FileNotFoundError:
            pass
        state.image_tmp = None
    leftover = benchlib.remove_workdir(state.workdir)
    state.workdir = None
    _in_cleanup = False
    return leftover


def exit_for_pending_signal():
    if _pending_signal is not None:
        warn(f"got {signal.Signals(_pending_signal).name} during cleanup")
        sys.exit(130 if _pending_signal == signal.SIGINT else 143)


# ---------------------------------------------------------------------------------------------------


def peer_stats(runs, skipped, target):
    """Per peer: its command, the statistics of its measured successful boots, and all its runs."""
    per_peer = {}
    for n in runs:
        measured = [r for r in runs[n] if not r["warmup"]]
        good = [r for r in measured if r["ok"]]
        per_peer[n] = {
            "label": PEER_LABELS[n],
            "cmd": target.command(n, os.path.join("OVERLAY", MACHINE)),
            "boot": benchlib.stats_ms([r["boot_ns"] for r in good]),
            "halt": benchlib.stats_ms([r["halt_ns"] for r in good]),
            "failures": len(measured) - len(good),
            "skipped": skipped.get(n),
            "runs": runs[n],
        }
    return per_peer


def print_times(args, peers, per_peer, skipped, r_boot, r_halt, result):
    """The boot and halt table and the ratios against the goals; records the goals in RESULT."""
    log()
    log(f"Boot (process start -> READY=1) and halt (SIGTERM -> exit), {args.runs} boots per peer "
        f"({args.warmup} warm-up discarded), alternating; kernel {platform.release()}, "
        f"{os.cpu_count()} CPUs")
    hdr = (f"  {'peer':<16} {'boot median':>11} {'p10':>8} {'p90':>8}   "
           f"{'halt median':>11} {'p10':>8} {'p90':>8} {'failed':>7}")
    log(hdr + "    (ms)")
    log("  " + "-" * (len(hdr) - 2))
    for n in ("spawn", "nspawn"):
        if n in peers:
            p = per_peer[n]
            b, h = p["boot"] or {}, p["halt"] or {}
            log(f"  {PEER_LABELS[n]:<16} {fmt_ms(b.get('median_ms')):>11} {fmt_ms(b.get('p10_ms')):>8} "
                f"{fmt_ms(b.get('p90_ms')):>8}   {fmt_ms(h.get('median_ms')):>11} "
                f"{fmt_ms(h.get('p10_ms')):>8} {fmt_ms(h.get('p90_ms')):>8} {p['failures']:>7}")
        else:
            log(f"  {PEER_LABELS[n]:<16} {'unavailable: ' + skipped.get(n, '?')}")
    log()
    log("Ratios spawn / systemd-nspawn (medians) and goals")
    goals = {}
    for what, ratio, limit in (("boot", r_boot, GOAL_BOOT_RATIO), ("halt", r_halt, GOAL_HALT_RATIO)):
        goal = f"spawn {what} <= {limit:.1f}x systemd-nspawn"
        if ratio is None:
            goals[what] = {"goal": goal, "ratio": None, "result": "N/A",
                           "reason": skipped.get("nspawn", "no successful nspawn boot")}
            log(f"  {what}  =    n/a   {'goal: ' + goal:<40} N/A")
        else:
            ok = ratio <= limit
            goals[what] = {"goal": goal, "ratio": ratio, "result": goal_word(ok)}
            log(f"  {what}  = {ratio:6.2f}   {'goal: ' + goal:<40} {goal_word(ok)}")
    result["goals"] = goals
    result["ratios"] = {"boot_spawn_over_nspawn": r_boot, "halt_spawn_over_nspawn": r_halt}


def print_rss(rss):
    """The supervisors' peak RSS during the extra boot."""
    log()
    log("Supervisor peak RSS during one boot and halt (VmHWM of the started process; no goal)")
    log(f"  {'peer':<16} {'VmHWM KB':>9} {'VmRSS KB':>9} {'polls':>6} {'exit':>5}")
    for n, r in rss.items():
        hwm, prss = r.get("peak_vmhwm_kb"), r.get("peak_vmrss_kb")
        ec = r["exit_code"] if r["exit_code"] is not None else "-"
        log(f"  {PEER_LABELS[n]:<16} {hwm if hwm is not None else '-':>9} "
            f"{prss if prss is not None else '-':>9} {r['polls']:>6} {ec:>5}"
            + ("" if r["ok"] else f"  (failed: {r['error']})"))


def summary_line(args, peers, b_spawn, h_spawn, b_nspawn, h_nspawn, r_boot, r_halt):
    """The last line of the output."""
    if b_nspawn is not None and h_nspawn is not None:
        nspawn_part = f"nspawn boot {b_nspawn:.1f} ms / halt {h_nspawn:.1f} ms"
    elif "nspawn" in peers:
        nspawn_part = "nspawn failed in every measured boot"
    else:
        nspawn_part = "nspawn unavailable"
    ratio_part = (f"ratios {r_boot:.2f} / {r_halt:.2f}" if r_boot is not None and r_halt is not None
                  else "ratios n/a")
    return (f"bench-boot{' --image' if args.image else ''}: spawn boot {b_spawn:.1f} ms / halt {h_spawn:.1f} ms, "
            f"{nspawn_part}, {ratio_part}")


def prepare_target(state, spawn, image, allow_install, result):
    """The cached tree, and with IMAGE its cached image; logs what will be booted."""
    tree, created = ensure_tree(state, allow_install)
    result["tree"] = {"path": tree, "created": created}
    log(f"Tree: {tree}{' (created)' if created else ''}")
    if not image:
        log(f"  each boot on a fresh overlayfs, machine name {MACHINE}")
        return Target(spawn, tree)
    path, created = ensure_image(state, tree)
    result["image"] = {"path": path, "created": created, "option": IMAGE_RO_OPT}
    log(f"Image: {path}{' (created)' if created else ''}; booted with -i IMAGE {IMAGE_RO_OPT}, "
        f"machine name {MACHINE}")
    return Target(spawn, tree, path)


def main():
    ap = argparse.ArgumentParser(description="Benchmark boot (to READY=1) and halt time of a Debian 12 "
                                 "tree under spawn and systemd-nspawn (run as root).")
    benchlib.add_run_args(ap, "meson build dir with spawn (default: <repo>/build)", 10, 1, unit="boots")
    ap.add_argument("--boot-timeout", type=float, default=120, help="seconds to wait for READY=1 (default: 120)")
    ap.add_argument("--halt-timeout", type=float, default=60,
                    help="seconds to wait for the exit after SIGTERM (default: 60)")
    ap.add_argument("--install-peers", action="store_true",
                    help="apt-get install systemd-container (and debootstrap) if missing (also if CI=true)")
    ap.add_argument("--image", action="store_true",
                    help=f"boot a GPT image of the tree (built once, cached next to it) with -i IMG "
                         f"{IMAGE_RO_OPT} instead of the tree on an overlay")
    ap.add_argument("--keep-logs", metavar="DIR", help="copy each boot's console log into DIR")
    ap.add_argument("--json", metavar="FILE", help="also write the results as JSON to FILE")
    args = ap.parse_args()
    benchlib.set_prog("bench-boot")

    if args.runs < 1 or args.warmup < 0:
        die("--runs must be >= 1 and --warmup >= 0")
    if args.boot_timeout <= 0 or args.halt_timeout <= 0:
        die("--boot-timeout and --halt-timeout must be > 0")
    benchlib.require_root("spawn, systemd-nspawn and overlayfs mounts need CAP_SYS_ADMIN")

    build = os.path.abspath(args.build_dir)
    spawn = os.path.join(build, "spawn")
    benchlib.require_executables((spawn,), build)
    for b in ("mount", "umount"):
        if not shutil.which(b):
            die(f"{b} not found (Debian package mount)")
    if any(c in CACHE_DIR for c in ",:"):
        die(f"BERTH_CACHE_DIR={CACHE_DIR} contains ',' or ':', which overlayfs options cannot take")
    if args.keep_logs:
        os.makedirs(args.keep_logs, exist_ok=True)

    allow_install = benchlib.install_allowed(args.install_peers)

    benchlib.install_signal_handlers(on_signal, (signal.SIGTERM, signal.SIGHUP, signal.SIGINT))

    state = State()
    leftover = []
    summary = None
    result = {
        "host": benchlib.host_info(pid1=read_comm(1)),
        "params": {"runs": args.runs, "warmup": args.warmup, "build_dir": build,
                   "boot_timeout_s": args.boot_timeout, "halt_timeout_s": args.halt_timeout,
                   "image": args.image},
    }
    try:
        target = prepare_target(state, spawn, args.image, allow_install, result)

        peers = ["spawn"]
        skipped = {}
        avail, reason = benchlib.ensure_binary("systemd-nspawn", "systemd-container", allow_install)
        if avail:
            peers.append("nspawn")
        else:
            skipped["nspawn"] = reason
            log(f"  systemd-nspawn: skipped ({reason})")
        result["skipped_peers"] = skipped
        if args.image:
            # Both peers in it, nspawn's udev check passing in it: the same ground for both.
            benchlib.enter_fake_udev_namespace()

        state.workdir = tempfile.mkdtemp(prefix="berth-bench-boot.")
        total = args.warmup + args.runs
        runs = {n: [] for n in peers}
        log(f"Booting {', '.join(PEER_LABELS[n] for n in peers)} alternately: {args.warmup} warm-up + "
            f"{args.runs} measured boots each ...")
        seq = 0
        for i in range(total):
            parts = []
            for n in benchlib.rotated(peers, i):
                if n not in peers:
                    continue  # dropped after a failed warm-up
                seq += 1
                keep = (os.path.join(args.keep_logs, f"{i + 1:02d}-{n}.log") if args.keep_logs else None)
                r = boot_once(state, n, target, os.path.join(state.workdir, f"{seq:03d}-{n}"), args,
                              keep_log_as=keep)
                r["iteration"] = i + 1
                r["warmup"] = i < args.warmup
                runs[n].append(r)
                parts.append(f"{PEER_LABELS[n]} {short_result(r)}")
                if not r["ok"]:
                    print_failure(PEER_LABELS[n], r)
                    if i == 0 and args.warmup > 0:
                        # The first boot of a peer is its check: a peer that cannot boot this tree at
                        # all is no peer (nspawn), or the benchmark cannot run (spawn).
                        if n == "spawn":
                            die("spawn cannot boot the tree (warm-up boot failed); see its output above")
                        skipped[n] = f"warm-up boot failed: {r['error']}"
                        peers.remove(n)
                        log(f"  {PEER_LABELS[n]}: skipped ({skipped[n]})")
            tag = " (warm-up)" if i < args.warmup else ""
            log(f"  iteration {i + 1:2d}/{total}{tag}: " + "; ".join(parts))

        log("Measuring supervisor peak RSS during one more boot each (polling /proc/PID/status every 20 ms) ...")
        rss = {}
        for n in peers:
            seq += 1
            keep = os.path.join(args.keep_logs, f"rss-{n}.log") if args.keep_logs else None
            r = boot_once(state, n, target, os.path.join(state.workdir, f"{seq:03d}-{n}-rss"), args,
                          poll_rss=True, keep_log_as=keep)
            rss[n] = r
            if not r["ok"]:
                print_failure(PEER_LABELS[n], r)
        result["rss"] = {PEER_LABELS[n]: {k: v for k, v in r.items() if k != "notify_messages"}
                         for n, r in rss.items()}

        # ---- statistics ----
        per_peer = peer_stats(runs, skipped, target)
        result["peers"] = per_peer

        def med(n, what):
            p = per_peer.get(n)
            return p[what]["median_ms"] if p and n in peers and p[what] else None

        b_spawn, h_spawn, b_nspawn, h_nspawn = med("spawn", "boot"), med("spawn", "halt"), \
            med("nspawn", "boot"), med("nspawn", "halt")
        if b_spawn is None:
            die("spawn failed in every measured boot")
        r_boot = b_spawn / b_nspawn if b_nspawn else None
        r_halt = h_spawn / h_nspawn if h_nspawn else None

        # ---- report ----
        print_times(args, peers, per_peer, skipped, r_boot, r_halt, result)
        print_rss(rss)

        failed = [n for n in per_peer if per_peer[n]["failures"]]
        if failed:
            warn("some measured boots failed and were left out of the statistics: "
                 + ", ".join(f"{PEER_LABELS[n]} {per_peer[n]['failures']}x" for n in failed))

        summary = summary_line(args, peers, b_spawn, h_spawn, b_nspawn, h_nspawn, r_boot, r_halt)
        result["summary"] = summary
    except RuntimeError as e:
        die(str(e))
    except (KeyboardInterrupt, Terminated) as e:
        code = benchlib.interrupt_exit_code(e)
        cleanup(state)
        sys.exit(code)
    finally:
        # Also on die() (SystemExit) and on unexpected exceptions.
        if state.workdir or state.live or state.overlays or state.debootstrap_tmp or state.image_tmp:
            leftover = cleanup(state)
        exit_for_pending_signal()

    result["leftover_mounts"] = leftover
    benchlib.finish(result, args.json, summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
