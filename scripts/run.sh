#!/usr/bin/env bash
# The main job on the default tree: installs what is needed, builds berth, creates
# /var/lib/machines/debian with debootstrap when absent, starts machined (and a system bus) if
# not running, and boots the tree with spawn -b. On a terminal the boot is interactive (log in,
# or press ^] three times within a second to kill it); without one, the machine boots, is shown
# in `machinectl list`, and is powered off cleanly.
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

# The registry: a system bus (hosts without systemd may have none running) with machined's
# policy, and machined on it.
if ! build/machinectl list >/dev/null 2>&1; then
        if ! dbus-send --system --dest=org.freedesktop.DBus --type=method_call --print-reply \
                        /org/freedesktop/DBus org.freedesktop.DBus.GetId >/dev/null 2>&1; then
                install -Dm644 units/org.freedesktop.machine1.conf /etc/dbus-1/system.d/org.freedesktop.machine1.conf
                mkdir -p /run/dbus
                rm -f /run/dbus/system_bus_socket /run/dbus/pid # left by a bus that is gone
                dbus-daemon --system --fork
        elif [ ! -e /etc/dbus-1/system.d/org.freedesktop.machine1.conf ]; then
                install -Dm644 units/org.freedesktop.machine1.conf /etc/dbus-1/system.d/org.freedesktop.machine1.conf
                dbus-send --system --type=method_call --dest=org.freedesktop.DBus / org.freedesktop.DBus.ReloadConfig || true
        fi
        mkdir -p /var/log/berth
        setsid build/machined </dev/null >>/var/log/berth/machined.log 2>&1 &
        for _ in $(seq 1 100); do
                build/machinectl list >/dev/null 2>&1 && break
                sleep 0.05
        done
        build/machinectl list >/dev/null || { echo "run.sh: machined did not start, see /var/log/berth/machined.log" >&2; exit 1; }
        echo "run.sh: started machined (log: /var/log/berth/machined.log)" >&2
fi
name=$(basename "$tree")

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
        true
        rm -f "$log"
}
trap cleanup EXIT

# The container's init is spawn's child in a new PID namespace.
init_pid=
for _ in $(seq 1 100); do
        for c in $(cat "/proc/$spawn_pid/task/$spawn_pid/children" 2>/dev/null); do
                # spawn also has short-lived helpers (registration, cgroup janitor): one that
                # is already gone has no namespace link, and is not the container.
                ns=$(readlink "/proc/$c/ns/pid" 2>/dev/null) || continue
                if [ -n "$ns" ] && [ "$ns" != "$(readlink "/proc/$spawn_pid/ns/pid")" ]; then
                        init_pid=$c
                        break
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
echo "Machine $name booted: system state '$state'"
in_guest sh -c '. /etc/os-release; echo "  OS: $PRETTY_NAME"; echo "  init: $(cat /proc/1/comm), $(systemctl list-units --no-legend --state=running | wc -l) units running"; echo "  virtualization: $(systemd-detect-virt)"'
echo
build/machinectl list
echo

echo "Powering it off (machinectl poweroff $name)..."
build/machinectl poweroff "$name"
rc=0
wait "$spawn_pid" || rc=$?
trap - EXIT
rm -f "$log"
echo "spawn exited with $rc"
exit "$rc"
