#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Install the Debian 12 packages iiostream builds, tests and benchmarks with.
# Does nothing when they are all there already.
#   scripts/deps.sh        everything: the test command's packages
#   scripts/deps.sh demo   only what the daemon, library and CLI build with
#                          (scripts/demo.sh: no GNU Radio, qemu or kernels)
set -euo pipefail

# the daemon, libiiostream and the CLI (and the DNS-SD client they link)
build_packages=(
  build-essential cmake pkg-config
  libuv1-dev libprotobuf-c-dev protobuf-c-compiler
  libssl-dev libiio-dev libavahi-client-dev
  # the web console's live spectrum: FFTW, single precision (fftw3f)
  libfftw3-dev
)

packages=(
  "${build_packages[@]}"
  # DNS-SD's test (--advertise, iiostream discover): its private bus and
  # avahi-daemon; avahi-utils for avahi-browse/avahi-publish
  avahi-daemon dbus avahi-utils
  libcriterion-dev
  # libFuzzer targets (tests/fuzz/) are built with clang, which also runs
  # the static analyzer (scripts/analyze.sh, with python3)
  clang libclang-rt-14-dev python3
  iperf3 iproute2
  # /metrics: promtool checks the exposition (it_metrics), and a real
  # Prometheus server scrapes a streaming daemon (prometheus_scrape; it runs
  # its own instance in a temp dir, never the packaged service)
  prometheus
  # the web console's tests (tests/web/): headless Chromium driven over the
  # DevTools protocol by Debian's python3-websocket (for /usr/bin/python3)
  chromium python3-websocket
  # deployment: systemd-analyze verify/security and systemd-sysusers check
  # deploy/'s files; strace lists the daemon's system calls against the
  # unit's filter
  systemd strace
  # GNU Radio (its stock iio source reads the iiod-compatible listener)
  gnuradio
  # gr-iiostream (client/gnuradio): GNU Radio's headers and CMake files,
  # pybind11 for the Python bindings (gnuradio-dev pulls in the rest:
  # Boost, spdlog, fmt, VOLK)
  gnuradio-dev pybind11-dev libspdlog-dev libfmt-dev libvolk2-dev
  # the kernel module: Debian's kernel and headers, a qemu guest to run it in
  # (busybox initramfs), DKMS, libiio's tools and iiod to list and read it
  # there, and i386 libc to test the compat ioctls
  linux-image-amd64 linux-headers-amd64 kmod cpio busybox-static qemu-system-x86
  dkms libiio-utils iiod gcc-multilib
  # Linux 6.12 (tests/kernels/fetch.sh unpacks Debian's 6.12 image and
  # headers into the build tree): its Kbuild makes BTF for modules with pahole
  dwarves
  # Debian packages (deploy/debian, scripts/build-debs.sh, tests/deploy/debs.sh):
  # dpkg-buildpackage with debhelper's dh (compat 13) and its DKMS addon,
  # lintian; util-linux's unshare for the overlay install; mmdebstrap for the
  # Debian root the service boots in under systemd (tests/deploy/systemd-guest.sh)
  dpkg-dev debhelper dh-dkms fakeroot lintian util-linux mmdebstrap
  # cross-builds for ARM (tests/cross/run.sh): clang --target with the cross
  # binutils (Debian 12's gcc-12-aarch64-linux-gnu and -arm-linux-gnueabihf
  # conflict with gcc-multilib above; the module needs that gcc, which the
  # script unpacks into its build directory instead, and it uses these
  # binutils), qemu-user to run what they build; the target's libraries are
  # not installed but unpacked into a sysroot, from the arm64/armhf package
  # lists added below (file: checks what came out)
  binutils-aarch64-linux-gnu binutils-arm-linux-gnueabihf qemu-user file
  # qemu-system-aarch64, to load and test the arm64 module in Debian's arm64
  # kernel (tests/cross/run.sh step 6; the kernel and busybox are unpacked)
  qemu-system-arm
  # Criterion for armhf, built from Debian's sources (tests/cross/criterion.sh)
  meson ninja-build nanopb
)
# the package lists tests/cross/run.sh fetches the target's libraries and
# kernel headers from (apt-get download); added only if missing
foreign=(arm64 armhf)
case "${1:-all}" in
  all) ;;
  demo) packages=("${build_packages[@]}"); foreign=() ;;
  *) echo "usage: $0 [demo]" >&2; exit 2 ;;
esac

# Debian's Linux 6.12 for the guests (tests/kernels/fetch.sh): Debian 12
# carries it in bookworm-security ("6.12.N+deb12"); a machine whose apt
# sources lack that suite gets bookworm-backports ("+bpo") instead, from the
# mirror its own sources already name (never a host name written here).
kernels=${1:-all}
have_612() { [ "$kernels" != all ] || [ -n "$(apt-cache pkgnames linux-headers-6.12.)" ]; }
kernel_suite() {
  have_612 && return 0
  local mirror
  mirror=$(sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*\).*/\1/p; s/^deb[[:space:]]\{1,\}\(\[[^]]*\][[:space:]]\{1,\}\)\{0,1\}\([^[:space:]]*\)[[:space:]]\{1,\}bookworm[[:space:]].*/\2/p' \
    /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list 2>/dev/null |
    grep -v -e security -e '^$' | head -1) || true
  [ -n "$mirror" ] || { echo "deps: no Debian mirror in apt's sources for bookworm-backports" >&2; return 0; }
  echo "deps: adding bookworm-backports from $mirror (Linux 6.12 for the guests)"
  printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
    "$mirror" | $sudo tee /etc/apt/sources.list.d/iiostream-backports.sources >/dev/null
  $sudo apt-get update -qq || echo "deps: apt-get update reported errors; going on" >&2
}

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
new_arch=()
have_arch=$(dpkg --print-foreign-architectures)
for a in "${foreign[@]}"; do
  grep -qx "$a" <<<"$have_arch" || new_arch+=("$a")
done
[ ${#missing[@]} -eq 0 ] && [ ${#new_arch[@]} -eq 0 ] && have_612 && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
for a in "${new_arch[@]}"; do
  echo "deps: dpkg --add-architecture $a"
  $sudo dpkg --add-architecture "$a"
done
# a mirror caught mid-sync fails one list (a foreign architecture's security
# updates, say) and apt-get update exits 100; the others are still there
$sudo apt-get update -qq || echo "deps: apt-get update reported errors; going on" >&2
kernel_suite
[ ${#missing[@]} -eq 0 ] && exit 0
echo "deps: installing ${missing[*]}"
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
