#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Configure and build into BUILD_DIR (default build/); extra args go to cmake.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}
shift || true
mkdir -p "$dir"
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" > "$dir/configure.log" 2>&1 || {
  cat "$dir/configure.log"; exit 1; }
cmake --build "$dir" -j"$(nproc)"
