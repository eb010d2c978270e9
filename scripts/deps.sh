#!/usr/bin/env bash
# Installs what berth needs to build and test, from Debian's archive, when it is missing.
# Usage: scripts/deps.sh [build|test|run|vm]...   (default: build test)
set -euo pipefail

# libmount, libblkid, libcap, libseccomp and libselinux are not linked yet (meson.build says
# which issue brings each back); they stay here so that a prepared host needs nothing new then.
build_pkgs=(meson ninja-build pkg-config gcc libc6-dev libsystemd-dev libmount-dev libblkid-dev
            libcap-dev libseccomp-dev libselinux1-dev libjson-c-dev zlib1g-dev liblzma-dev libzstd-dev
            libmnl-dev libnftables-dev)
# golang-github-containers-common: podman's default seccomp profile, which --oci-bundle must load;
# runc: its `runc spec` bundle, run by spawn --oci-bundle.
test_pkgs=(busybox-static python3 python3-pytest python3-dbus util-linux bsdutils iproute2 procps
           debootstrap dbus python3-gi systemd-container fdisk e2fsprogs squashfs-tools keyutils
           nftables golang-github-containers-common runc podman conmon containerd crun dnsmasq-base)
# dnsmasq-base: DHCP and DNS for spawn -n's guests (optional at run time: without it -n is static only).
run_pkgs=(debootstrap dbus dnsmasq-base)
# The VM test tier (tests/vm/): builds a Debian 12 SELinux image and boots it under qemu (TCG).
vm_pkgs=(qemu-system-x86 qemu-utils e2fsprogs policycoreutils selinux-utils selinux-policy-dev
         debootstrap zstd busybox-static)

want=()
groups=("$@")
[ ${#groups[@]} -gt 0 ] || groups=(build test)
for g in "${groups[@]}"; do
        case "$g" in
        build) want+=("${build_pkgs[@]}") ;;
        test) want+=("${test_pkgs[@]}") ;;
        run) want+=("${run_pkgs[@]}") ;;
        vm) want+=("${vm_pkgs[@]}") ;;
        *) echo "deps.sh: unknown group '$g' (want build, test, run or vm)" >&2; exit 1 ;;
        esac
done

missing=()
for p in "${want[@]}"; do
        if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
                missing+=("$p")
        fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
        echo "deps.sh: missing packages (${missing[*]}); run as root to install them" >&2
        exit 1
fi
echo "deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# A stale package list makes apt fail to find current versions: refresh once, then install.
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
