#!/usr/bin/env bash
# The VM test tier: boots a Debian 12 guest (systemd PID 1, cgroup v2 only, SELinux with Debian's
# reference policy) under qemu and runs tests/vm/suite.sh in it, once with SELinux permissive and
# once enforcing. Prints the guest suite's per-test lines; exits non-zero on any failure.
#
# The guest image is built by tests/vm/build-image.sh (debootstrap, ~5 min) and cached compressed in
# $BERTH_VM_CACHE (default /var/cache/berth/vm), keyed by a hash of the files that make it.
# berth's binaries come from the host's build (same Debian 12 libc) through a 9p share.
# /dev/kvm may be a backend a stock kernel cannot use (kvm_pvm), so qemu runs with TCG.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=${BERTH_BUILD_DIR:-$top/build}
cache=${BERTH_VM_CACHE:-/var/cache/berth/vm}
modes=${BERTH_VM_MODES:-permissive enforcing}
timeout_s=${BERTH_VM_TIMEOUT:-1200}

if [ "$(id -u)" -ne 0 ]; then
        echo "vm: needs root (debootstrap, setfiles, mkfs)" >&2
        exit 1
fi
"$top/scripts/deps.sh" vm
start=$(date +%s)

key=$(cat "$here/build-image.sh" "$here/guest-runner.sh" "$here/berth-vm-test.service" "$here/berth-vm-9p.cil" |
      sha256sum | cut -c1-16)
img=$cache/$key
if [ ! -f "$img/disk.raw.zst" ]; then
        echo "vm: building the guest image $img (debootstrap, several minutes)"
        rm -rf "$img.tmp"
        "$here/build-image.sh" "$img.tmp"
        mv "$img.tmp" "$img"
        # Older images are dead weight: only the current key is ever used.
        find "$cache" -mindepth 1 -maxdepth 1 ! -name "$key" -exec rm -rf {} +
fi
echo "vm: image ready after $(( $(date +%s) - start ))s"

ninja -C "$build" >/dev/null
work=$(mktemp -d /var/tmp/berth-vm-run.XXXXXX)
trap 'rm -rf "$work"' EXIT
share=$work/share
mkdir -p "$share/bin"
for b in spawn spawn-register machined machinectl berth-test-helper; do
        cp "$build/$b" "$share/bin/"
done
# The shared libraries the binaries link, from this (Debian 12) host: the suite installs those the
# cached guest image lacks (a library a new feature links must not force an image rebuild).
mkdir -p "$share/lib"
for b in "$share"/bin/*; do
        { ldd "$b" 2>/dev/null || true; } | sed -n 's|.*=> \(/[^ ]*\) .*|\1|p'
done | sort -u | while read -r so; do
        cp -L "$so" "$share/lib/"
done
"$top/tests/helpers/make-busybox-tree.sh" "$work/bb" "$build/berth-test-helper"
tar -C "$work/bb" -cf "$share/busybox.tar" .
cp "${BERTH_VM_SUITE:-$here/suite.sh}" "$share/suite.sh"
cp "$top/units/machined.service" "$share/machined.service"
cp "$top/units/selinux/berth.cil" "$share/berth.cil"
zstd -q -d --sparse "$img/disk.raw.zst" -o "$work/disk.raw"

rc=0
for mode in $modes; do
        enforcing=$([ "$mode" = enforcing ] && echo 1 || echo 0)
        rm -f "$share"/{output.log,exit-code,journal.log,audit.log}
        t0=$(date +%s)
        echo "=== vm: SELinux $mode"
        timeout "$timeout_s" qemu-system-x86_64 -accel tcg,thread=multi -cpu max -smp 2 -m 2048 \
                -kernel "$img/vmlinuz" -initrd "$img/initrd.img" \
                -append "root=/dev/vda rw console=ttyS0 systemd.unified_cgroup_hierarchy=1 security=selinux enforcing=$enforcing berth.vmtest" \
                -drive "file=$work/disk.raw,format=raw,if=virtio,snapshot=on" \
                -virtfs "local,path=$share,mount_tag=share,security_model=none,id=share" \
                -device virtio-rng-pci -nic none -display none -no-reboot \
                -serial "file:$work/serial-$mode.log" || echo "vm: qemu exited with $? (timeout ${timeout_s}s?)"
        if [ -f "$share/output.log" ]; then
                cat "$share/output.log"
        else
                echo "vm: the guest left no output; serial console tail:"
                tail -40 "$work/serial-$mode.log"
        fi
        code=$(cat "$share/exit-code" 2>/dev/null || echo missing)
        echo "=== vm: SELinux $mode: suite exit $code in $(( $(date +%s) - t0 ))s"
        if [ "$code" != 0 ]; then
                rc=1
                [ -f "$share/audit.log" ] && { echo "--- AVC denials:"; grep -E "avc: +denied" "$share/audit.log" | tail -20; }
        fi
        # Kept for passing runs too: a pass that was slow, or logged denials in permissive mode,
        # is worth reading.
        if [ -n "${BERTH_VM_KEEP:-}" ]; then
                mkdir -p "$BERTH_VM_KEEP/$mode" && cp "$share"/*.log "$work/serial-$mode.log" "$BERTH_VM_KEEP/$mode/" 2>/dev/null || true
        fi
done
echo "=== vm: stage took $(( $(date +%s) - start ))s"
exit $rc
