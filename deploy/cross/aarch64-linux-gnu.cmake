# SPDX-License-Identifier: MIT
# 64-bit ARM (arm64): Debian's gcc-aarch64-linux-gnu.
#   cmake -S . -B build-arm64 -DCMAKE_TOOLCHAIN_FILE=deploy/cross/aarch64-linux-gnu.cmake \
#         -DIIOSTREAM_GNURADIO=OFF [-DIIOSTREAM_SYSROOT=DIR]
set(IIOS_TRIPLET aarch64-linux-gnu)
set(IIOS_PROCESSOR aarch64)
set(IIOS_QEMU qemu-aarch64)
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)
