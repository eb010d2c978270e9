#!/usr/bin/env bash
# The whole test suite: installs dependencies, builds, runs the C unit tests (also under
# ASan/UBSan), the pytest integration suite as root, and the VM tier (tests/vm/). Exits non-zero
# on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."
top=$PWD

if [ "$(id -u)" -ne 0 ]; then
        echo "test.sh: the integration tests need root" >&2
        exit 1
fi
# In CI a missing tool or privilege must fail a test, never skip it.
if [ "${CI:-}" = "true" ]; then
        export MUST_WORK=1
fi

failed=()
step() {
        echo "=== $*"
}

step "dependencies"
scripts/deps.sh build test || exit 1

build_dir=${BUILD_DIR:-build}

step "build"
BUILD_DIR=$build_dir scripts/build.sh || exit 1

step "unit tests"
meson test -C "$build_dir" --print-errorlogs --num-processes 2 || failed+=("unit tests")

step "unit tests (ASan/UBSan)"
if [ ! -f build-asan/build.ninja ]; then
        meson setup build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dtest-helper=disabled >/dev/null || failed+=("asan setup")
fi
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
        meson test -C build-asan --print-errorlogs --num-processes 2 || failed+=("unit tests (ASan/UBSan)")

step "integration tests"
# Debian's python3 has python3-pytest and python3-dbus; a python from elsewhere on PATH may not.
BERTH_BUILD_DIR="$top/$build_dir" /usr/bin/python3 -m pytest -p no:cacheprovider -ra "$top/tests/integration" "$@"
rc=$?
# 5 = no tests collected: that is a failure of the suite, not a pass.
[ $rc -eq 0 ] || failed+=("integration tests (pytest exit $rc)")

step "VM tier (systemd + cgroup v2 + SELinux host under qemu)"
# A second kind of host: systemd as PID 1, cgroup v2 only, SELinux permissive and enforcing.
# The guest image is cached in /var/cache/berth/vm; building it takes several minutes.
# BERTH_SKIP_VM=1 skips this stage for quick local runs (never in CI).
if [ "${BERTH_SKIP_VM:-}" = 1 ] && [ -z "${MUST_WORK:-}" ]; then
        echo "skipped: BERTH_SKIP_VM=1"
else
        scripts/deps.sh vm || failed+=("VM tier dependencies")
        BERTH_BUILD_DIR="$top/$build_dir" tests/vm/run.sh || failed+=("VM tier")
fi

if [ ${#failed[@]} -gt 0 ]; then
        echo "=== FAILED: ${failed[*]}"
        exit 1
fi
echo "=== all tests passed"
