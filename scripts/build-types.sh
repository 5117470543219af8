#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Compile the whole tree (daemon, library, CLI, tests, bench, gr-iiostream)
# in the build types test.sh does not otherwise build: Release (-O3, what
# packagers, Buildroot and Yocto build) and MinSizeRel (-Os, small boards).
# Warnings are errors, and GCC finds some only at some optimisation levels
# (-Wformat-truncation at -O3 broke Release once), so a type nobody
# compiles can fail for the users who pick it. RelWithDebInfo (build/) and
# Debug (build-asan/) are built and tested by test.sh; these are compiled
# only. Any line of the build saying "warning:" fails too (a linker's, say).
#   scripts/build-types.sh [PREFIX]     (default build: build-release, ...)
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=${1:-build}
for type in Release MinSizeRel; do
	dir=$prefix-${type,,}
	t0=$SECONDS
	mkdir -p "$dir"
	cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE="$type" >"$dir/configure.log" 2>&1 ||
		{ cat "$dir/configure.log"; exit 1; }
	if ! cmake --build "$dir" -j"$(nproc)" >"$dir/build.log" 2>&1; then
		grep -B2 -A8 -E "error|warning" "$dir/build.log" | head -100
		echo "build-types: $type does not compile ($dir/build.log)"
		exit 1
	fi
	if grep -q "warning:" "$dir/build.log"; then
		grep -B2 -A4 "warning:" "$dir/build.log" | head -100
		echo "build-types: $type compiles with warnings ($dir/build.log)"
		exit 1
	fi
	echo "build-types: $type compiled without a warning in $dir ($((SECONDS - t0)) s)"
done
