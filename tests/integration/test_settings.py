# SPDX-License-Identifier: LGPL-2.1-or-later
"""Settings files (NAME.nspawn, systemd.nspawn(5)): where spawn finds them, which it trusts, which
wins over the command line, and every section's keys observed from inside a busybox container.

The tree is reached through a symlink NAME -> the session's busybox tree in a scratch directory,
so the untrusted NAME.nspawn next to it is the test's own. Trusted files go to
/run/systemd/nspawn (and /etc/systemd/nspawn) under a name unique to the test, removed after it."""

import os
import subprocess
import uuid
from pathlib import Path

import pytest

from conftest import IN_HELPER, describe, ns_inode, parse_json_line, run_spawn

CAP_SYS_MODULE = 16
CAP_NET_ADMIN = 12
CAP_MKNOD = 27


class Settings:
    """A machine NAME: -D scratch/NAME (a symlink to the busybox tree), its untrusted file next
    to it, its trusted files in /run and /etc."""

    def __init__(self, scratch, tree):
        self.name = f"settest{uuid.uuid4().hex[:10]}"
        self.dir = Path(scratch)
        self.link = self.dir / self.name
        self.link.symlink_to(tree)
        self.written = []
        self.made_dirs = []

    def _write(self, path, text):
        for d in reversed([path.parent, *path.parent.parents]):
            if not d.exists():
                d.mkdir()
                self.made_dirs.append(d)
        path.write_text(text)
        self.written.append(path)
        return path

    def untrusted(self, text):
        return self._write(self.dir / f"{self.name}.nspawn", text)

    def trusted(self, text, where="/run/systemd/nspawn"):
        return self._write(Path(where) / f"{self.name}.nspawn", text)

    def cleanup(self):
        for p in self.written:
            p.unlink(missing_ok=True)
        for d in reversed(self.made_dirs):
            try:
                d.rmdir()
            except OSError:
                pass

    def run(self, *args, opts=(), **kw):
        """spawn -D LINK -M NAME --console=pipe OPTS... ARGS... (ARGS default: the helper's report)."""
        cmd = ["-D", self.link, "-M", self.name, "--console=pipe", *opts]
        return run_spawn(cmd + list(args or [IN_HELPER, "report"]), **kw)

    def report(self, opts=()):
        cp = self.run(opts=opts)
        assert cp.returncode == 0, describe(cp)
        return parse_json_line(cp.stdout), cp.stderr

    def sh(self, script, opts=()):
        cp = self.run("/bin/sh", "-c", script, opts=opts)
        assert cp.returncode == 0, describe(cp)
        return cp.stdout.replace("\r\n", "\n"), cp.stderr


@pytest.fixture
def st(scratch, tree_copy):
    # A copy: keys such as TemporaryFileSystem=/srv make their mount points in the tree.
    s = Settings(scratch, tree_copy)
    try:
        yield s
    finally:
        s.cleanup()


def has_cap(report, cap, which="CapBnd"):
    return bool(int(report["caps"][which], 16) & (1 << cap))


def warnings(stderr):
    return [line for line in stderr.splitlines() if line.startswith("spawn: ")]


# ---------------------------------------------------------------------------------------------
# [Exec]

def test_exec_keys_from_untrusted_file(st):
    st.untrusted("[Exec]\n"
                 "# a comment\n"
                 "Hostname=fromfile\n"
                 "Environment=A=1 \"B=two words\"\n"
                 "Environment=C=3\n"
                 "WorkingDirectory=/tmp\n"
                 "DropCapability=CAP_MKNOD\n"
                 "NoNewPrivileges=yes\n"
                 "SystemCallFilter=~@swap\n")
    r, err = st.report()
    assert r["hostname"] == "fromfile"
    assert r["env"]["A"] == "1" and r["env"]["B"] == "two words" and r["env"]["C"] == "3"
    assert r["cwd"] == "/tmp"
    assert not has_cap(r, CAP_MKNOD)
    assert r["no_new_privs"] == 1
    assert warnings(err) == [], err


def test_exec_privileged_keys_from_trusted_file(st):
    st.trusted("[Exec]\n"
               "Capability=CAP_SYS_MODULE\n"
               "LimitNOFILE=123:456\n"
               "OOMScoreAdjust=321\n"
               "MachineID=0123456789abcdef0123456789abcdef\n"
               "Parameters=/bin/sh -c 'echo params; ulimit -n; ulimit -Hn; cat /proc/self/oom_score_adj; "
               "echo $container_uuid'\n")
    # Parameters= is the command when the command line has none.
    cp = run_spawn(["-D", st.link, "-M", st.name, "--console=pipe"])
    assert cp.returncode == 0, describe(cp)
    out = cp.stdout.replace("\r\n", "\n").split()
    assert out == ["params", "123", "456", "321", "01234567-89ab-cdef-0123-456789abcdef"], describe(cp)
    r, err = st.report()
    assert has_cap(r, CAP_SYS_MODULE)
    assert warnings(err) == [], err


def test_boot_and_process_two(st):
    st.untrusted("[Exec]\nProcessTwo=yes\nParameters=/bin/sh -c 'echo pid=$$'\n")
    cp = run_spawn(["-D", st.link, "-M", st.name, "--console=pipe"])
    assert cp.returncode == 0 and "pid=2" in cp.stdout, describe(cp)


# ---------------------------------------------------------------------------------------------
# [Files]

def test_files_keys(st, scratch):
    src = Path(scratch) / "bindsrc"
    src.mkdir()
    (src / "marker").write_text("from-the-host\n")
    st.trusted("[Files]\n"
               f"BindReadOnly={src}:/mnt\n"
               "TemporaryFileSystem=/srv:mode=0700\n"
               "ReadOnly=yes\n")
    out, err = st.sh("cat /mnt/marker; touch /mnt/x 2>/dev/null || echo bind-ro; "
                     "touch /etc/x 2>/dev/null || echo root-ro; grep ' /srv ' /proc/self/mounts")
    assert "from-the-host" in out and "bind-ro" in out and "root-ro" in out, out
    assert "tmpfs /srv tmpfs" in out and "mode=700" in out, out
    assert not (src / "x").exists()


def test_volatile_from_untrusted_file(st):
    st.untrusted("[Files]\nVolatile=state\n")
    out, _ = st.sh("grep ' /var ' /proc/self/mounts")
    assert out.split()[2] == "tmpfs", out


# ---------------------------------------------------------------------------------------------
# [Network]

def test_network_private_trusted_only(st):
    st.untrusted("[Network]\nPrivate=yes\n")
    r, err = st.report()
    assert r["ns"]["net"] == ns_inode("net"), "an untrusted file may not touch the network"
    assert f"Ignoring Private=, {st.dir / st.name}.nspawn is not trusted." in err, err

    st.trusted("[Network]\nPrivate=yes\n")
    r, err = st.report()
    assert r["ns"]["net"] != ns_inode("net")
    assert has_cap(r, CAP_NET_ADMIN)
    # The trusted file is the one read: the untrusted one's warning is gone.
    assert warnings(err) == [], err


# ---------------------------------------------------------------------------------------------
# trust

def test_untrusted_file_grants_nothing(st, scratch):
    src = Path(scratch) / "secret"
    src.mkdir()
    path = st.untrusted("[Exec]\n"
                        "Hostname=stillapplied\n"
                        "Capability=CAP_SYS_MODULE\n"
                        "AmbientCapability=CAP_SYS_MODULE\n"
                        "SystemCallFilter=@obsolete\n"
                        "LimitNOFILE=7\n"
                        "PrivateUsers=pick\n"
                        "MachineID=0123456789abcdef0123456789abcdef\n"
                        "[Files]\n"
                        f"Bind={src}:/secret\n"
                        f"Bind={src}:/secret2\n"
                        "TemporaryFileSystem=/srv\n")
    r, err = st.report()
    assert r["hostname"] == "stillapplied"
    assert not has_cap(r, CAP_SYS_MODULE)
    assert r["ns"]["user"] == ns_inode("user")
    assert not any(m["mount_point"].startswith(("/secret", "/srv")) for m in r["mounts"]), r["mounts"]
    assert r["env"]["container_uuid"] != "01234567-89ab-cdef-0123-456789abcdef"
    w = warnings(err)
    for key, line in (("Capability", 3), ("AmbientCapability", 4), ("SystemCallFilter", 5), ("LimitNOFILE", 6),
                      ("PrivateUsers", 7), ("MachineID", 8), ("Bind", 10), ("TemporaryFileSystem", 12)):
        assert f"spawn: {path}:{line}: Ignoring {key}=, {path} is not trusted." in w, err
    # Once per key, though Bind= is there twice.
    assert len(w) == 8, err

    # --settings=trusted trusts it wherever it is.
    r, err = st.report(opts=["--settings=trusted"])
    assert has_cap(r, CAP_SYS_MODULE)
    assert any(m["mount_point"] == "/secret" for m in r["mounts"])
    assert warnings(err) == [], err


# ---------------------------------------------------------------------------------------------
# precedence

def test_command_line_wins(st):
    st.untrusted("[Exec]\nHostname=fromfile\nEnvironment=A=file B=file\nWorkingDirectory=/tmp\n"
                 "Parameters=/bin/echo from-the-file\nCapability=CAP_SYS_MODULE\nLimitNOFILE=5\n")
    r, err = st.report(opts=["--hostname=fromcli", "-E", "A=cli", "--drop-capability=CAP_MKNOD"])
    # The command line decided the capabilities: no word about the file's (as nspawn); LimitNOFILE=
    # it did not decide, and the untrusted file may not set it.
    assert [w.split(": ", 2)[2] for w in warnings(err)] == [f"Ignoring LimitNOFILE=, {st.dir / st.name}.nspawn is not trusted."], err
    assert not has_cap(r, CAP_SYS_MODULE) and not has_cap(r, CAP_MKNOD)
    assert r["hostname"] == "fromcli"
    # -E replaces the file's whole Environment=, as nspawn's SETTING_ENVIRONMENT.
    assert r["env"]["A"] == "cli" and "B" not in r["env"]
    # What the command line does not set still comes from the file.
    assert r["cwd"] == "/tmp"
    # The command line's command wins over Parameters=.
    assert "from-the-file" not in st.run(IN_HELPER, "hostname").stdout


def test_override_file_wins(st):
    st.untrusted("[Exec]\nHostname=fromfile\nEnvironment=A=file\n")
    r, _ = st.report(opts=["--hostname=fromcli", "-E", "A=cli", "-E", "C=cli", "--settings=override"])
    assert r["hostname"] == "fromfile"
    assert r["env"]["A"] == "file" and "C" not in r["env"]


def test_trusted_file_shadows_untrusted(st):
    st.untrusted("[Exec]\nHostname=untrusted\nWorkingDirectory=/tmp\n")
    st.trusted("[Exec]\nHostname=fromrun\n")
    r, _ = st.report()
    assert r["hostname"] == "fromrun" and r["cwd"] == "/"
    st.trusted("[Exec]\nHostname=frometc\n", where="/etc/systemd/nspawn")
    r, _ = st.report()
    assert r["hostname"] == "frometc"


@pytest.mark.parametrize("mode", ["no", "false", "0"])
def test_settings_no(st, mode):
    st.untrusted("[Exec]\nHostname=fromfile\n")
    st.trusted("[Exec]\nBogus\n")  # never read
    r, err = st.report(opts=[f"--settings={mode}"])
    assert r["hostname"] == st.name
    assert warnings(err) == []


def test_machine_name_from_directory(st, busybox_tree):
    """Without -M the file is named after the directory, as the machine is."""
    st.untrusted("[Exec]\nHostname=byname\n")
    cp = run_spawn(["-D", st.link, "--console=pipe", IN_HELPER, "hostname"])
    assert cp.returncode == 0 and cp.stdout.strip() == "byname", describe(cp)


# ---------------------------------------------------------------------------------------------
# malformed files

@pytest.mark.parametrize("text,line,message", [
    ("[Exec]\nHostname=bad host\n", 2, "Invalid hostname: 'bad host'."),
    ("[Exec]\n\nBoot=perhaps\n", 3, "Invalid boolean for Boot=: 'perhaps'."),
    ("[Files]\nBind=relative\n", 2, "Invalid bind mount specification 'relative'"),
    ("[Exec]\nEnvironment=\"A=1\n", 2, "Unbalanced quotes or trailing backslash in Environment=."),
    ("[Exec]\nKillSignal=SIGBOGUS\n", 2, "Unknown signal: 'SIGBOGUS'."),
    ("[Exec]\nResolvConf=help\n", 2, "Invalid value for ResolvConf=: 'help'."),
    ("[Exec]\nLimitBOGUS=1\n", 2, "Invalid --rlimit="),
    ("[Exec]\nHostname\n", 2, "Invalid line"),
    ("[Exec\n", 1, "Invalid line"),
])
def test_malformed_value(st, text, line, message):
    path = st.untrusted(text)
    cp = st.run()
    assert cp.returncode != 0, describe(cp)
    lines = cp.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"spawn: {path}:{line}: ") and message in lines[0], describe(cp)
    assert cp.stdout == ""


def test_unknown_keys_and_sections_warn(st):
    path = st.untrusted("[Exec]\nHostname=stillworks\nBogusKey=1\nPivotRoot=/x\n"
                        "[Bogus]\nAnything=at all\n"
                        "[Network]\nPort=80\n")
    r, err = st.report()
    assert r["hostname"] == "stillworks"
    assert warnings(err) == [
        f"spawn: {path}:3: Unknown key BogusKey= in section [Exec], ignoring it.",
        f"spawn: {path}:4: PivotRoot= is not supported by spawn, ignoring it.",
        f"spawn: {path}:5: Unknown section [Bogus], ignoring it.",
        f"spawn: {path}:8: Ignoring Port=, {path} is not trusted.",
    ], err


def test_bad_settings_option(st):
    cp = st.run(opts=["--settings=maybe"])
    assert cp.returncode != 0
    assert cp.stderr.strip() == "spawn: Invalid --settings= value 'maybe' (want yes, no, trusted or override).", describe(cp)


def test_settings_file_not_regular(st):
    os.mkdir(st.dir / f"{st.name}.nspawn")
    cp = st.run()
    assert cp.returncode != 0 and "is not a regular file" in cp.stderr, describe(cp)
    os.rmdir(st.dir / f"{st.name}.nspawn")
