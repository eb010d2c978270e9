#!/usr/bin/env bash
# The main job on the default tree: installs what is needed, builds berth, creates
# /var/lib/machines/debian with debootstrap when absent and boots it with spawn -b.
# On a terminal the boot is interactive (log in, or press ^] three times within a second to kill
# it); without one, the machine boots, is shown, and is powered off cleanly.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
        echo "run.sh: must be run as root" >&2
        exit 1
fi

tree=${BERTH_TREE:-/var/lib/machines/debian}
suite=${BERTH_SUITE:-bookworm}
mirror=${BERTH_MIRROR:-http://deb.debian.org/debian}

scripts/deps.sh build run
BUILD_DIR=build scripts/build.sh

if [ ! -e "$tree/usr" ]; then
        echo "run.sh: creating $tree with debootstrap ($suite, a few minutes)" >&2
        mkdir -p "$(dirname "$tree")"
        tmp="$tree.tmp.$$"
        trap 'rm -rf "$tmp"' EXIT
        debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus "$suite" "$tmp" "$mirror" >/dev/null
        mv "$tmp" "$tree"
        trap - EXIT
fi

if [ -t 0 ] && [ -t 1 ]; then
        # Interactive: the guest's console on this terminal; log in as root, or press ^] three
        # times within a second to kill the container.
        exec build/spawn -D "$tree" -b
fi

# No terminal: boot, show the running machine, power it off cleanly.
log=$(mktemp)
build/spawn -D "$tree" -b --console=read-only >"$log" 2>&1 &
spawn_pid=$!
cleanup() {
        kill -TERM "$spawn_pid" 2>/dev/null && sleep 1 && kill -TERM "$spawn_pid" 2>/dev/null
        rm -f "$log"
}
trap cleanup EXIT

# The container's init is spawn's child in a new PID namespace.
init_pid=
for _ in $(seq 1 100); do
        for c in $(cat "/proc/$spawn_pid/task/$spawn_pid/children" 2>/dev/null); do
                if [ "$(readlink "/proc/$c/ns/pid")" != "$(readlink "/proc/$spawn_pid/ns/pid")" ]; then
                        init_pid=$c
                fi
        done
        [ -n "$init_pid" ] && break
        sleep 0.1
done
if [ -z "$init_pid" ]; then
        echo "run.sh: the container did not start:" >&2
        cat "$log" >&2
        exit 1
fi
in_guest() {
        nsenter -t "$init_pid" -m -u -i -n -p -C -- "$@"
}
state=
for _ in $(seq 1 300); do
        state=$(in_guest systemctl is-system-running 2>/dev/null) || true
        case "$state" in running|degraded) break ;; esac
        sleep 0.1
done
echo "Machine $(basename "$tree") booted: system state '$state'"
in_guest sh -c '. /etc/os-release; echo "  OS: $PRETTY_NAME"; echo "  init: $(cat /proc/1/comm), $(systemctl list-units --no-legend --state=running | wc -l) units running"; echo "  virtualization: $(systemd-detect-virt)"'

echo "Powering it off..."
kill -TERM "$spawn_pid"
rc=0
wait "$spawn_pid" || rc=$?
trap - EXIT
rm -f "$log"
echo "spawn exited with $rc"
exit "$rc"
