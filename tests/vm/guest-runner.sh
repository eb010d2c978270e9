#!/bin/bash
# Runs inside the VM (berth-vm-test.service): mounts the 9p share, waits for the system to be up,
# runs the share's suite, records its output and exit code in the share, powers off.
share=/mnt/share
mkdir -p "$share"
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 share "$share" || { systemctl poweroff; exit 1; }
state=$(systemctl is-system-running --wait 2>&1)
{
        echo "system state: $state"
        echo "selinux: $(cat /sys/fs/selinux/enforce 2>/dev/null || echo off) $(cat /proc/self/attr/current 2>/dev/null)"
        timeout 1800 bash "$share/suite.sh" "$share"
        echo "suite exit: $?"
} >"$share/output.log" 2>&1
rc=$(tail -1 "$share/output.log" | sed -n 's/^suite exit: //p')
journalctl -b --no-pager >"$share/journal.log" 2>&1
cp /var/log/audit/audit.log "$share/audit.log" 2>/dev/null
echo "${rc:-1}" >"$share/exit-code.tmp" && mv "$share/exit-code.tmp" "$share/exit-code"
sync
systemctl poweroff
