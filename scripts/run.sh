#!/usr/bin/env bash
# The main job on the default tree: installs what is needed, builds berth, creates
# /var/lib/machines/debian with debootstrap when absent and starts a shell in it with spawn.
# On a terminal the shell is interactive (exit it, or press ^] three times to kill it); without
# one, spawn runs a short non-interactive session that shows the container from the inside.
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
        exec build/spawn -D "$tree"
fi

exec build/spawn -D "$tree" --console=pipe /bin/sh -c '
        echo "Inside $(hostname): PID $$, container=$container"
        . /etc/os-release && echo "OS: $PRETTY_NAME"
        echo "Mounts:"; cut -d" " -f2,3 /proc/mounts | sed "s/^/  /"
'
