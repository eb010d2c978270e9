#!/usr/bin/env bash
# Configures (once) and builds berth into BUILD_DIR (default: build/).
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build}
if [ ! -f "$build_dir/build.ninja" ]; then
        meson setup "$build_dir" "$@" >/dev/null
fi
ninja -C "$build_dir" >/dev/null
