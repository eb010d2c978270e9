#!/bin/bash
# The VM suite: runs as root inside the guest (Debian 12, systemd PID 1, cgroup v2 only, SELinux
# permissive or enforcing), from the 9p share that tests/vm/run.sh prepared:
#   SHARE/bin/{spawn,spawn-register,machined,machinectl,berth-test-helper}, SHARE/busybox.tar,
#   SHARE/machined.service, SHARE/berth.cil
# Prints one "PASS name" / "FAIL name: why" line per test and "N passed, M failed" last.
set -u
share=${1:-/mnt/share}
lib=/usr/local/lib/berth
deb=/var/lib/machines/debian
bb=/var/lib/machines/bb
# Chosen to differ from the defaults: the categories prove the label is ours, and the comma in
# them proves it survives the quoting in the mount options.
ctx=system_u:system_r:unconfined_t:s0
apifs=system_u:object_r:tmpfs_t:s0:c1,c2
passed=0 failed=0

# Each test's wall time goes on its line: the guest is slow (TCG), and a test that still passes
# but took a stop timeout to do it shows up here first.
pass() { echo "PASS $1 ($(( $(date +%s) - t_test ))s)"; passed=$((passed + 1)); }
fail() { echo "FAIL $1 ($(( $(date +%s) - t_test ))s): $2"; failed=$((failed + 1)); }
run_test() { t_test=$(date +%s); "$@"; }
log() { echo "    $*"; }

enforcing=$(cat /sys/fs/selinux/enforce 2>/dev/null || echo none)
mode=$([ "$enforcing" = 1 ] && echo enforcing || echo permissive)
echo "# mode=$mode kernel=$(uname -r) systemd=$(systemctl --version | head -1)"
echo "# cgroup: $(stat -fc %T /sys/fs/cgroup) self=$(tr -d '\0' </proc/self/attr/current)"

# Setup: berth installed like a package would be, labelled by the policy's file contexts.
mkdir -p "$lib" "$bb"
cp "$share"/bin/* "$lib/"
# Libraries the host build links that the guest image does not have (run.sh explains why).
for so in "$share"/lib/*; do
        [ -e "$so" ] || continue
        name=${so##*/}
        ldconfig -p | grep -q "^[[:space:]]*$name " || cp "$so" /usr/local/lib/
done
ldconfig
restorecon -R /usr/local/lib
tar -C "$bb" -xf "$share/busybox.tar"
# The busybox tree labelled as if it were /, the way a container tree gets its labels.
setfiles -r "$bb" /etc/selinux/default/contexts/files/file_contexts "$bb" 2>/dev/null
restorecon -R "$lib"
sed -e "s|^ExecStart=.*|ExecStart=$lib/machined --cgroup-backend=systemd --spawn=$lib/spawn|" "$share/machined.service" \
        >/etc/systemd/system/berth-machined.service
systemctl daemon-reload
# The policy module machined needs under enforcing (units/selinux/berth.cil), installed as the
# documentation says.
t0=$(date +%s)
semodule -i "$share/berth.cil" || echo "# semodule -i berth.cil failed"
echo "# semodule -i berth.cil took $(( $(date +%s) - t0 ))s"

t_system_is_v2_systemd() {
        [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ] || { fail "$1" "not cgroup2"; return; }
        [ "$(cat /proc/1/comm)" = systemd ] || { fail "$1" "PID 1 is $(cat /proc/1/comm)"; return; }
        pass "$1"
}

t_selinux_context() {
        local got
        got=$("$lib/spawn" -q -D "$bb" --console=pipe --register=no -Z "$ctx" /bin/cat /proc/self/attr/current 2>&1 | tr -d '\0')
        [ "$got" = "$ctx" ] && pass "$1" || fail "$1" "label '$got', want '$ctx'"
}

t_selinux_context_as_pid2() {
        local got
        got=$("$lib/spawn" -q -D "$bb" --console=pipe --register=no -a -Z "$ctx" /bin/cat /proc/self/attr/current 2>&1 | tr -d '\0')
        [ "$got" = "$ctx" ] && pass "$1" || fail "$1" "label '$got', want '$ctx'"
}

t_selinux_invalid_context() {
        local out rc
        out=$("$lib/spawn" -q -D "$bb" --console=pipe --register=no -Z system_u:system_r:no_such_type_t:s0 /bin/true 2>&1); rc=$?
        [ $rc = 1 ] && [ "$(echo "$out" | grep -c .)" = 1 ] && echo "$out" | grep -q "not valid in the loaded policy" &&
                pass "$1" || fail "$1" "rc=$rc out=$out"
}

t_selinux_apifs_labels() {
        "$lib/spawn" -q -D "$bb" --console=pipe --register=no -L "$apifs" --tmpfs=/scratch /bin/sleep 600 &
        local sp=$! leader="" i bad=""
        # No procps in a minbase guest: the kernel lists a process's children itself.
        for i in $(seq 100); do leader=$(cat /proc/$sp/task/$sp/children 2>/dev/null | awk '{print $1}'); [ -n "$leader" ] && break; sleep 0.2; done
        [ -n "$leader" ] || { fail "$1" "no container leader"; kill $sp; return; }
        sleep 1
        for p in /dev /dev/shm /dev/pts /run /tmp /scratch; do
                got=$(stat -c %C "/proc/$leader/root$p" 2>&1)
                [ "$got" = "$apifs" ] || bad+=" $p=$got"
        done
        # selinuxfs: present, read-only, the host's.
        grep -q " /sys/fs/selinux .*ro," "/proc/$leader/mountinfo" || bad+=" selinuxfs-not-ro"
        [ -e "/proc/$leader/root/sys/fs/selinux/enforce" ] || bad+=" no-selinuxfs"
        kill $sp; wait $sp 2>/dev/null
        [ -z "$bad" ] && pass "$1" || fail "$1" "$bad"
}

# Waits for machine NAME (spawn SP) to be registered and its systemd to reach "running"; prints the
# state, or what went wrong.
wait_running() {
        local name=$1 sp=$2 leader="" init="" i
        for i in $(seq 300); do
                leader=$(machinectl show "$name" -p Leader --value 2>/dev/null) && [ -n "$leader" ] && break
                sleep 1
        done
        [ -n "$leader" ] || { echo "not-registered"; return 1; }
        init=$(awk '{print $1}' /proc/$sp/task/$sp/children 2>/dev/null)
        [ "$leader" = "$init" ] || { echo "leader=$leader but the container's init is ${init:-none}"; return 1; }
        # Registered before the child even pivots into the tree: until init is exec'd, the leader's
        # root is still the host's. Wait for systemd itself and its private socket.
        for i in $(seq 300); do
                [ "$(cat /proc/$leader/comm 2>/dev/null)" = systemd ] && [ -S "/proc/$leader/root/run/systemd/private" ] && break
                sleep 1
        done
        # -r/-w: the container's root and cwd, or systemctl takes itself for chrooted ("offline").
        timeout 400 nsenter -t "$leader" -m -u -i -p -r -w -- /bin/systemctl is-system-running --wait 2>&1 | tr '\n' ' ' | sed 's/ $//'
}

# Stops machine NAME (spawn SP, our child: not in a subshell, which could not reap it) through the
# registry; sets $stopped to how long that took, or says spawn was still there after 60 s and had
# to be killed (the registry failed to stop it).
stop_machine() {
        local name=$1 sp=$2 i t_stop=$(date +%s)
        # terminate, not poweroff: poweroff has the registry signal the leader itself, and Debian's
        # policy lets systemd_machined_t signal only a few domains, not initrc_t that a container
        # started from this suite runs in (AVC denial, then the container ran on: seen in the
        # enforcing run). terminate has PID 1 stop the scope, with the SIGKILL spawn asks for.
        machinectl terminate "$name" 2>&1 | sed 's/^/    machinectl terminate: /'
        for i in $(seq 60); do kill -0 "$sp" 2>/dev/null || break; sleep 1; done
        if kill -0 "$sp" 2>/dev/null; then
                stopped=spawn-still-running-after-60s
                kill -9 "$sp" 2>/dev/null; wait "$sp" 2>/dev/null
                return
        fi
        wait "$sp" 2>/dev/null
        stopped=gone-after-$(( $(date +%s) - t_stop ))s
}

t_boot_registers_with_systemd_machined() {
        systemctl unmask systemd-machined.service >/dev/null 2>&1
        systemctl stop berth-machined.service 2>/dev/null
        systemctl start systemd-machined.service || { fail "$1" "systemd-machined did not start"; return; }
        "$lib/spawn" -q -D "$deb" -M sdm -b --console=read-only --register=yes >/tmp/sdm.log 2>&1 </dev/null &
        local sp=$! state unit
        state=$(wait_running sdm $sp)
        unit=$(machinectl show sdm -p Unit --value 2>/dev/null)
        local svc=$(busctl --system status org.freedesktop.machine1 2>/dev/null | sed -n 's/^Comm=//p')
        local stopped
        stop_machine sdm $sp
        log "stop: $stopped"
        if [ "$state" = running ] && [ "$unit" = machine-sdm.scope ] && [ "$svc" = systemd-machine ] &&
           [ "${stopped#gone-after-}" != "$stopped" ]; then
                pass "$1"
        else
                fail "$1" "state=$state unit=$unit registry=$svc stop=$stopped log: $(tail -5 /tmp/sdm.log | tr '\n' '|')"
        fi
}

t_our_machined_systemd_backend() {
        local name=ours sp state slice delegate listed status after i
        systemctl stop systemd-machined.service
        systemctl mask systemd-machined.service >/dev/null 2>&1
        systemctl start berth-machined.service || { fail "$1" "berth-machined did not start: $(journalctl -u berth-machined -n 5 --no-pager)"; return; }
        local svc=$(busctl --system status org.freedesktop.machine1 2>/dev/null | sed -n 's/^Comm=//p')
        "$lib/spawn" -q -D "$deb" -M $name -b --console=read-only --register=yes >/tmp/ours.log 2>&1 </dev/null &
        sp=$!
        state=$(wait_running $name $sp)
        slice=$(systemctl show machine-$name.scope -p Slice --value)
        delegate=$(systemctl show machine-$name.scope -p Delegate --value)
        local leader=$(machinectl show $name -p Leader --value)
        grep -q "machine.slice/machine-$name.scope" /proc/$leader/cgroup || slice+="(leader-not-in-scope:$(cat /proc/$leader/cgroup))"
        listed=$(machinectl list --no-legend 2>&1 | awk '{print $1}' | grep -cx $name)
        machinectl status $name >/tmp/status.out 2>&1 && grep -q "machine-$name.scope" /tmp/status.out && status=ok || status="bad: $(head -3 /tmp/status.out | tr '\n' '|')"
        local t_term=$(date +%s)
        # 60 s, under the 90 s stop timeout: a scope stopped with SIGTERM (systemd PID 1 ignores
        # it) instead of the SIGKILL spawn asks for fails here.
        machinectl terminate $name; for i in $(seq 60); do kill -0 $sp 2>/dev/null || break; sleep 1; done
        log "terminate: spawn gone after $(( $(date +%s) - t_term ))s"
        kill -0 $sp 2>/dev/null && after="spawn-still-running" || after=$(systemctl is-active machine-$name.scope 2>&1)
        kill -9 $sp 2>/dev/null; wait $sp 2>/dev/null
        if [ "$svc" = machined ] && [ "$state" = running ] && [ "$slice" = machine.slice ] && [ "$delegate" = yes ] &&
           [ "$listed" = 1 ] && [ "$status" = ok ] && [ "$after" != active ] && [ "$after" != deactivating ]; then
                pass "$1"
        else
                fail "$1" "registry=$svc state=$state slice=$slice delegate=$delegate listed=$listed status=$status after-terminate=$after log: $(tail -5 /tmp/ours.log | tr '\n' '|') machined: $(journalctl -u berth-machined -n 8 --no-pager | tr '\n' '|')"
        fi
}

run_test t_system_is_v2_systemd "systemd-pid1-cgroup-v2-only"
run_test t_selinux_context "selinux-context-payload-label"
run_test t_selinux_context_as_pid2 "selinux-context-as-pid2"
run_test t_selinux_invalid_context "selinux-context-unknown-type-rejected"
run_test t_selinux_apifs_labels "selinux-apifs-labels-and-ro-selinuxfs"
run_test t_boot_registers_with_systemd_machined "boot-debian12-registers-with-systemd-machined-$mode"
run_test t_our_machined_systemd_backend "machined-systemd-backend-scope-and-systemd-machinectl-$mode"

if [ "$enforcing" = 1 ]; then
        # All of them, not only berth's own processes': systemd-machined or PID 1 denied something
        # on a container's behalf matters as much.
        echo "# AVC denials (but getty's):"
        grep -E "avc: +denied" /var/log/audit/audit.log 2>/dev/null | grep -vE 'comm="\(?agetty\)?"' | head -20
fi
echo "$passed passed, $failed failed"
[ $failed = 0 ]
