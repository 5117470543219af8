# SPDX-License-Identifier: MIT
# 32-bit ARM, hard float (armhf, ARMv7): Debian's gcc-arm-linux-gnueabihf.
#   cmake -S . -B build-armhf -DCMAKE_TOOLCHAIN_FILE=deploy/cross/arm-linux-gnueabihf.cmake \
#         -DIIOSTREAM_GNURADIO=OFF -DIIOSTREAM_TESTS=OFF [-DIIOSTREAM_SYSROOT=DIR]
# (Debian 12 builds no libcriterion-dev for armhf: for the unit tests,
# tests/cross/criterion.sh builds it into a sysroot.)
set(IIOS_TRIPLET arm-linux-gnueabihf)
set(IIOS_PROCESSOR arm)
set(IIOS_QEMU qemu-arm)
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)
