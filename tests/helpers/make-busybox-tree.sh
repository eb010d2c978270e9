#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# make-busybox-tree.sh DIR HELPER_BINARY
#
# Builds a minimal OS tree for container tests: a static busybox with every applet linked in /bin,
# the static berth-test-helper at /usr/bin/berth-test-helper, and just enough of /etc (passwd, group,
# shadow, os-release) for user lookups and os-release parsing. Silent on success.
#
# The busybox must be static (Debian's busybox-static): the tree carries no libc or dynamic loader.
set -euo pipefail

BUSYBOX=/bin/busybox

die() {
        echo "make-busybox-tree: $*" >&2
        exit 1
}

busybox_static_installed() {
        # On Debian, /bin/busybox may also come from the dynamically linked "busybox" package,
        # which would fail inside the tree with a confusing "not found"; insist on the static one.
        if command -v dpkg-query >/dev/null; then
                [[ "$(dpkg-query -W -f='${Status}' busybox-static 2>/dev/null || true)" == "install ok installed" ]] &&
                        [[ -x $BUSYBOX ]]
        else
                [[ -x $BUSYBOX ]]
        fi
}

ensure_busybox() {
        busybox_static_installed && return 0
        if [[ $EUID -ne 0 ]] || ! command -v apt-get >/dev/null; then
                die "$BUSYBOX from Debian's busybox-static is required; install it with: apt-get install busybox-static"
        fi
        local log
        # apt output is only interesting if the install fails; a stale package index is the usual cause.
        if ! log=$(DEBIAN_FRONTEND=noninteractive apt-get install -y -q busybox-static 2>&1); then
                log=$( { DEBIAN_FRONTEND=noninteractive apt-get update -q &&
                         DEBIAN_FRONTEND=noninteractive apt-get install -y -q busybox-static; } 2>&1) ||
                        { echo "$log" >&2; die "failed to install busybox-static"; }
        fi
        busybox_static_installed || die "busybox-static installed, but $BUSYBOX is still missing"
}

[[ $# -eq 2 ]] || die "usage: make-busybox-tree.sh DIR HELPER_BINARY"
dir=$1
helper=$2

[[ -f $helper && -x $helper ]] || die "helper binary '$helper' is not an executable file"
helper=$(readlink -f -- "$helper")
if [[ -e $dir || -L $dir ]]; then
        [[ -d $dir && ! -L $dir ]] || die "'$dir' exists and is not a directory"
        [[ -z "$(ls -A -- "$dir")" ]] || die "'$dir' is not empty"
fi
ensure_busybox

mkdir -p -- "$dir"
cd -- "$dir"

# Real directories, not merged-/usr symlinks: tests must not depend on the host's layout choice.
for d in bin sbin usr/bin usr/sbin usr/lib etc root tmp var/tmp proc sys dev run home/tester; do
        mkdir -p "$d"
done
chmod 0755 . bin sbin usr usr/bin usr/sbin usr/lib etc var proc sys dev run home home/tester
chmod 0700 root
chmod 1777 tmp var/tmp

install -m 0755 "$BUSYBOX" bin/busybox
while read -r applet; do
        [[ -n $applet && ! -e bin/$applet && ! -L bin/$applet ]] || continue
        ln -s busybox "bin/$applet"
done < <("$BUSYBOX" --list)

install -m 0755 "$helper" usr/bin/berth-test-helper

cat >etc/passwd <<'EOF'
root:x:0:0:root:/root:/bin/sh
tester:x:1000:1000:Tester:/home/tester:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
EOF

cat >etc/group <<'EOF'
root:x:0:
tty:x:5:
tester:x:1000:
extra:x:1001:tester
nogroup:x:65534:
EOF

# Empty root password: "login"/"su" inside the tree need no interaction.
cat >etc/shadow <<'EOF'
root::19000:0:99999:7:::
tester:!:19000:0:99999:7:::
nobody:*:19000:0:99999:7:::
EOF

cat >etc/os-release <<'EOF'
NAME="BusyBox Test"
ID=busybox-test
VERSION_ID=1
PRETTY_NAME="BusyBox test tree"
EOF
cp etc/os-release usr/lib/os-release

chmod 0644 etc/passwd etc/group etc/os-release usr/lib/os-release
chmod 0640 etc/shadow
chown 1000:1000 home/tester
