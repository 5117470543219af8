#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The whole test suite: installs what it needs, then builds and runs every
# userspace test twice, in a normal build and under AddressSanitizer + UBSan,
# compiles the Release and MinSizeRel build types (scripts/build-types.sh),
# the daemon, library, CLI and unit tests cross-built for arm64 and armhf
# and run under qemu-user (the module cross-built for Debian's ARM kernels,
# and for arm64 loaded and tested in its kernel under qemu-system-aarch64),
# the kernel module's tests in a qemu guest running Debian's kernel, and
# the Debian packages: built, installed and used, and booted under systemd.
set -euo pipefail
cd "$(dirname "$0")/.."

t0=$(date +%s)
# each stage's heading says when it started, to see where the time goes
stage() { echo "== $* (at $(($(date +%s) - t0)) s)"; }

scripts/deps.sh

stage "normal build"
scripts/build.sh build

# Background stages: each runs in its own process group (setsid), so that
# a failing script kills all of it; its log is printed when it is waited
# for, and its failure fails the run there.
declare -A bg_pid bg_log
bg_start() { # NAME COMMAND...
	local name=$1
	shift
	bg_log[$name]=build/$name-stage.log
	setsid "$@" >"${bg_log[$name]}" 2>&1 &
	bg_pid[$name]=$!
}
bg_wait() { # NAME
	local rc=0
	wait "${bg_pid[$1]}" || rc=$?
	unset "bg_pid[$1]"
	cat "${bg_log[$1]}"
	if [ "$rc" != 0 ]; then
		echo "FAIL: the $1 stage exited $rc (its log above, and ${bg_log[$1]})"
		exit 1
	fi
}
trap 'for p in "${bg_pid[@]}"; do kill -- "-$p" 2>/dev/null || true; done' EXIT

# The kernel module's stage (Kbuild, qemu guests, DKMS: ~7 minutes, much of
# it guests waiting on their simulated devices' clocks) runs beside the
# userspace stages, which leave a core idle while their daemons and
# clients wait on each other. It needs only the normal build.
stage "kernel module: build, conformance in qemu guests, DKMS (in the background; its log follows below)"
bg_start module tests/module/run.sh build/module-test
# plain ctest: unit, integration and system tests; the soak on its own
(cd build && ctest --output-on-failure && IIOSTREAM_SOAK=1 ctest -L soak --output-on-failure)

stage "Release and MinSizeRel: compiled, every warning an error"
scripts/build-types.sh build

stage "AddressSanitizer + UndefinedBehaviorSanitizer build"
scripts/build.sh build-asan -DIIOSTREAM_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
export ASAN_OPTIONS=detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
(cd build-asan && ctest --output-on-failure && IIOSTREAM_SOAK=1 ctest -L soak --output-on-failure)

# The ARM stage (fetching, cross builds, qemu-user, qemu-system-aarch64
# guests: ~11 minutes alone) runs beside the analyzer, the fuzzers and the
# packages. The analyzer and the fuzzers are niced: they take what the ARM
# guests leave, so a guest's simulated converter is not starved (its FIFO
# would overflow: the arm64 guest also gets a deeper one, FIFO_MS in
# tests/cross/run.sh); the fuzzers run for a fixed time either way.
stage "cross-builds for ARM under qemu-user (in the background; its log follows below)"
bg_start cross bash -c "tests/cross/run.sh aarch64 build-cross-aarch64 &&
	tests/cross/run.sh armhf build-cross-armhf"

stage "clang static analyzer (daemon, library, CLI)"
nice -n 19 scripts/analyze.sh build-analyze

# 10 s per target here (docs/reliability.md has the hour-long runs)
export FUZZ_SECONDS=${FUZZ_SECONDS:-10}
stage "fuzzers: libFuzzer (clang, ASan + UBSan), $FUZZ_SECONDS s each"
nice -n 19 tests/fuzz/run.sh build-fuzz

stage "kernel module: waiting for the background stage"
bg_wait module

stage "Debian packages: build (deploy/debian), lintian, install into an overlay of /, use; the service under systemd in a guest"
tests/deploy/debs.sh

stage "cross-builds for ARM: waiting for the background stage"
bg_wait cross
stage "done"
