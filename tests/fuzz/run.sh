#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Build the libFuzzer targets with clang (ASan + UBSan) and run each one for
# FUZZ_SECONDS (default 20) from its seed corpus in tests/fuzz/corpus/,
# after replaying every past crash in tests/fuzz/regressions/ (each must
# now pass). New corpus entries go to a scratch directory, not the tree.
# Prints executions and coverage per fuzzer; fails on any crash, leak,
# sanitizer report or timeout.
#   tests/fuzz/run.sh [BUILD_DIR]        (default build-fuzz)
# Longer runs: FUZZ_SECONDS=3600 tests/fuzz/run.sh (docs/reliability.md).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build-fuzz}
secs=${FUZZ_SECONDS:-20}
mkdir -p "$build"
CC=clang cmake -S "$root" -B "$build" -DIIOSTREAM_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	>"$build/configure.log" 2>&1 || { cat "$build/configure.log"; exit 1; }
cmake --build "$build" -j"$(nproc)" >"$build/build.log" 2>&1 || { tail -40 "$build/build.log"; exit 1; }
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
export ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
summary=()
for seeds in "$root"/tests/fuzz/corpus/*/; do
	name=$(basename "$seeds")
	bin=$build/tests/fuzz/$name
	reg=$root/tests/fuzz/regressions/$name
	if [ -d "$reg" ]; then
		"$bin" -runs=1 "$reg"/* >"$scratch/$name-regressions.log" 2>&1 ||
			{ cat "$scratch/$name-regressions.log"; echo "FAIL: $name: a past crash is back"; exit 1; }
	fi
	mkdir -p "$scratch/$name"
	mkdir -p "$build/artifacts/$name"
	# a slow input is a finding (10 s); fuzz_daemon's inputs are real
	# connections to a daemon loop with its own 60 s bound (a hang's: a
	# loaded machine is slow), which libFuzzer's must not undercut
	timeout=10
	[ "$name" != fuzz_daemon ] || timeout=120
	if ! "$bin" -max_total_time="$secs" -max_len=4096 -timeout=$timeout -print_final_stats=1 \
		-artifact_prefix="$build/artifacts/$name/" "$scratch/$name" "$seeds" \
		>"$scratch/$name.log" 2>&1; then
		tail -60 "$scratch/$name.log"
		echo "FAIL: $name found a crash, kept in $build/artifacts/$name/:"
		ls "$build/artifacts/$name"
		echo "(fix it, then add the input to tests/fuzz/regressions/$name/)"
		exit 1
	fi
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$scratch/$name.log")
	cov=$(grep -o 'cov: [0-9]*' "$scratch/$name.log" | tail -1 | cut -d' ' -f2)
	ft=$(grep -o 'ft: [0-9]*' "$scratch/$name.log" | tail -1 | cut -d' ' -f2)
	corp=$(ls "$scratch/$name" | wc -l)
	summary+=("$(printf '%-14s %10s runs in %ss  coverage: %5s edges, %5s features, %4s new inputs' \
		"$name" "$runs" "$secs" "$cov" "$ft" "$corp")")
done
printf '%s\n' "${summary[@]}"
echo "fuzz: every target ran ${secs}s with no crash, leak or sanitizer report"
