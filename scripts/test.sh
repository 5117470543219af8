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

# The kernel module's stage (Kbuild, qemu guests, DKMS: ~7 minutes, much of
# it guests waiting on their simulated devices' clocks) runs in the
# background beside the userspace stages, which leave a core idle while
# their daemons and clients wait on each other; its log is printed when it
# ends, before the packages. It needs only the normal build.
stage "kernel module: build, conformance in qemu guests, DKMS (in the background; its log follows below)"
module_log=build/module-stage.log
setsid tests/module/run.sh build/module-test >"$module_log" 2>&1 &
module_pid=$!
trap 'kill -- "-$module_pid" 2>/dev/null || true' EXIT
# plain ctest: unit, integration and system tests; the soak on its own
(cd build && ctest --output-on-failure && IIOSTREAM_SOAK=1 ctest -L soak --output-on-failure)

stage "Release and MinSizeRel: compiled, every warning an error"
scripts/build-types.sh build

stage "AddressSanitizer + UndefinedBehaviorSanitizer build"
scripts/build.sh build-asan -DIIOSTREAM_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
export ASAN_OPTIONS=detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
(cd build-asan && ctest --output-on-failure && IIOSTREAM_SOAK=1 ctest -L soak --output-on-failure)

stage "clang static analyzer (daemon, library, CLI)"
scripts/analyze.sh build-analyze

# 10 s per target here (docs/reliability.md has the hour-long runs)
export FUZZ_SECONDS=${FUZZ_SECONDS:-10}
stage "fuzzers: libFuzzer (clang, ASan + UBSan), $FUZZ_SECONDS s each"
tests/fuzz/run.sh build-fuzz

stage "cross-builds for ARM under qemu-user"
tests/cross/run.sh aarch64 build-cross-aarch64
tests/cross/run.sh armhf build-cross-armhf

stage "kernel module: waiting for the background stage"
module_rc=0
wait "$module_pid" || module_rc=$?
trap - EXIT
cat "$module_log"
if [ "$module_rc" != 0 ]; then
	echo "FAIL: the kernel module's stage exited $module_rc (log above, and $module_log)"
	exit 1
fi

stage "Debian packages: build (deploy/debian), lintian, install into an overlay of /, use; the service under systemd in a guest"
tests/deploy/debs.sh
stage "done"
