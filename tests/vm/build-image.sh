#!/usr/bin/env bash
# Builds the VM test tier's guest: Debian 12 with systemd (PID 1), the unified cgroup hierarchy and
# SELinux (Debian's reference policy), plus a Debian 12 container tree at /var/lib/machines/debian.
# Usage: tests/vm/build-image.sh OUTDIR   → OUTDIR/{disk.raw.zst,vmlinuz,initrd.img}
# The image is cached by tests/vm/run.sh keyed by a hash of this script and the files it installs.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$1
mirror=${BERTH_MIRROR:-http://deb.debian.org/debian}
work=$(mktemp -d /var/tmp/berth-vm-build.XXXXXX)
trap 'umount -R "$work/root/proc" 2>/dev/null || true; rm -rf "$work"' EXIT
root=$work/root

echo "build-image: debootstrap (a few minutes)" >&2
debootstrap --variant=minbase \
        --include=systemd,systemd-sysv,systemd-container,dbus,udev,kmod,linux-image-amd64,initramfs-tools,selinux-basics,selinux-policy-default,auditd \
        bookworm "$root" "$mirror" >"$work/debootstrap.log" 2>&1 || { tail -30 "$work/debootstrap.log" >&2; exit 1; }

echo berthvm >"$root/etc/hostname"
echo "127.0.1.1 berthvm" >>"$root/etc/hosts"
echo "/dev/vda / ext4 rw,relatime 0 1" >"$root/etc/fstab"
chroot "$root" passwd -d root >/dev/null
# The kernel command line (enforcing=0|1) decides the mode; the config only has to enable SELinux.
sed -i 's/^SELINUX=.*/SELINUX=permissive/' "$root/etc/selinux/config"
rm -f "$root/.autorelabel"
# Nothing in the guest may stall the boot waiting for hardware or a network that is not there.
ln -sf /dev/null "$root/etc/systemd/system/systemd-networkd-wait-online.service"
ln -sf /dev/null "$root/etc/systemd/system/e2scrub_reap.service"
ln -sf /dev/null "$root/etc/systemd/system/systemd-timesyncd.service"
echo 9p >"$root/etc/modules-load.d/berth-9p.conf"
echo 9pnet_virtio >>"$root/etc/modules-load.d/berth-9p.conf"

# The runner: when berth.vmtest is on the kernel command line, run the share's suite once the system
# is up, leave its output and exit code in the share, and power off.
install -m 0755 "$here/guest-runner.sh" "$root/usr/local/sbin/berth-vm-runner"
install -m 0644 "$here/berth-vm-test.service" "$root/etc/systemd/system/berth-vm-test.service"
ln -sf /etc/systemd/system/berth-vm-test.service "$root/etc/systemd/system/multi-user.target.wants/berth-vm-test.service"

# The container tree: the integration suite's cached Debian 12 tree when present, else a fresh one.
mkdir -p "$root/var/lib/machines/debian"
if [ -x /var/cache/berth/debian-bookworm/usr/lib/systemd/systemd ]; then
        cp -a /var/cache/berth/debian-bookworm/. "$root/var/lib/machines/debian/"
else
        debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus bookworm \
                "$root/var/lib/machines/debian" "$mirror" >"$work/debootstrap2.log" 2>&1 ||
                { tail -30 "$work/debootstrap2.log" >&2; exit 1; }
fi

# Policy (9p share labelling) and labels: setfiles in the tree needs its own /proc, so do it in a
# private mount namespace that disappears with it.
cp "$here/berth-vm-9p.cil" "$root/tmp/"
unshare -m --propagation private sh -ec '
        mount -t proc proc "$1/proc"
        chroot "$1" semodule -i /tmp/berth-vm-9p.cil
        chroot "$1" setfiles -e /proc -e /sys /etc/selinux/default/contexts/files/file_contexts /
        # systemd runs a service as initrc_t (unconfined in the reference policy) only from initrc_exec_t.
        chroot "$1" chcon system_u:object_r:initrc_exec_t:s0 /usr/local/sbin/berth-vm-runner
        umount "$1/proc"' sh "$root"
rm -f "$root/tmp/berth-vm-9p.cil"

mkdir -p "$out"
cp "$(ls "$root"/boot/vmlinuz-* | tail -1)" "$out/vmlinuz"
cp "$(ls "$root"/boot/initrd.img-* | tail -1)" "$out/initrd.img"
rm -rf "$root"/var/cache/apt/archives/*.deb
echo "build-image: mkfs.ext4 -d" >&2
truncate -s 4G "$work/disk.raw"
mkfs.ext4 -q -L berthvm -d "$root" "$work/disk.raw"
zstd -q -T0 -3 --sparse "$work/disk.raw" -o "$out/disk.raw.zst"
