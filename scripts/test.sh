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

scripts/deps.sh

echo "== normal build"
scripts/build.sh build
# plain ctest: unit, integration and system tests; the soak on its own
(cd build && ctest --output-on-failure && IIOSTREAM_SOAK=1 ctest -L soak --output-on-failure)

echo "== Release and MinSizeRel: compiled, every warning an error"
scripts/build-types.sh build

echo "== AddressSanitizer + UndefinedBehaviorSanitizer build"
scripts/build.sh build-asan -DIIOSTREAM_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
export ASAN_OPTIONS=detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
(cd build-asan && ctest --output-on-failure && IIOSTREAM_SOAK=1 ctest -L soak --output-on-failure)

echo "== clang static analyzer (daemon, library, CLI)"
scripts/analyze.sh build-analyze

echo "== fuzzers: libFuzzer (clang, ASan + UBSan), ${FUZZ_SECONDS:-20} s each"
tests/fuzz/run.sh build-fuzz

echo "== cross-builds for ARM under qemu-user"
tests/cross/run.sh aarch64 build-cross-aarch64
tests/cross/run.sh armhf build-cross-armhf

echo "== kernel module: build, conformance in a qemu guest, DKMS"
tests/module/run.sh build/module-test

echo "== Debian packages: build (deploy/debian), lintian, install into an overlay of /, use; the service under systemd in a guest"
tests/deploy/debs.sh
