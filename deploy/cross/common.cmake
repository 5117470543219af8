# SPDX-License-Identifier: MIT
# Shared by the toolchain files next to this one; they set IIOS_TRIPLET
# (aarch64-linux-gnu, arm-linux-gnueabihf), IIOS_PROCESSOR and IIOS_QEMU.
#
# Two ways to find the target's libraries:
#  - multiarch: libuv1-dev:arm64 and friends co-installed on the build
#    machine (dpkg --add-architecture arm64); the default;
#  - a sysroot: -DIIOSTREAM_SYSROOT=DIR (or the environment variable of the
#    same name), a directory holding the target's /usr (tests/cross/run.sh
#    unpacks Debian's packages into one, so that nothing the build machine
#    runs has to be upgraded to match the target's library versions).
# protoc-c, the code generator, is always the build machine's own.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR ${IIOS_PROCESSOR})
set(CMAKE_LIBRARY_ARCHITECTURE ${IIOS_TRIPLET})

if(NOT IIOSTREAM_SYSROOT AND DEFINED ENV{IIOSTREAM_SYSROOT})
  set(IIOSTREAM_SYSROOT "$ENV{IIOSTREAM_SYSROOT}")
endif()

# The compiler: Debian's TRIPLET-gcc if installed, else clang --target=TRIPLET
# with binutils-TRIPLET's linker. On Debian 12 gcc-12-TRIPLET conflicts with
# gcc-multilib (the module's i386 compat test needs that), so scripts/deps.sh
# installs clang's way; clang then takes crtbegin.o and libgcc from the
# target's libgcc-12-dev, which must be in the sysroot.
find_program(IIOS_CROSS_GCC ${IIOS_TRIPLET}-gcc)
if(IIOS_CROSS_GCC)
  set(CMAKE_C_COMPILER ${IIOS_CROSS_GCC})
else()
  if(NOT IIOSTREAM_SYSROOT)
    message(FATAL_ERROR "no ${IIOS_TRIPLET}-gcc: clang needs -DIIOSTREAM_SYSROOT "
      "holding the target's libc6-dev and libgcc-12-dev (tests/cross/run.sh makes one)")
  endif()
  set(CMAKE_C_COMPILER clang)
  set(CMAKE_C_COMPILER_TARGET ${IIOS_TRIPLET})
endif()
# try_compile() projects see the toolchain file again, without the cache
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES IIOSTREAM_SYSROOT)

if(IIOSTREAM_SYSROOT)
  set(CMAKE_SYSROOT ${IIOSTREAM_SYSROOT})
  set(CMAKE_FIND_ROOT_PATH ${IIOSTREAM_SYSROOT})
  set(ENV{PKG_CONFIG_SYSROOT_DIR} ${IIOSTREAM_SYSROOT})
  set(ENV{PKG_CONFIG_LIBDIR}
    "${IIOSTREAM_SYSROOT}/usr/lib/${IIOS_TRIPLET}/pkgconfig:${IIOSTREAM_SYSROOT}/usr/share/pkgconfig")
  set(_iios_qemu_root ${IIOSTREAM_SYSROOT})
else()
  # Debian's cross toolchain looks in /usr/lib/TRIPLET and /usr/include/TRIPLET
  # itself; pkg-config must read the target's .pc files, not the build machine's
  set(ENV{PKG_CONFIG_LIBDIR} "/usr/lib/${IIOS_TRIPLET}/pkgconfig:/usr/share/pkgconfig")
  set(_iios_qemu_root /usr/${IIOS_TRIPLET})
endif()
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)  # protoc-c runs here
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# ctest (and anything else CMake runs for the target) goes through qemu-user
find_program(IIOS_QEMU_PATH ${IIOS_QEMU})
if(IIOS_QEMU_PATH)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${IIOS_QEMU_PATH} -L ${_iios_qemu_root})
endif()
