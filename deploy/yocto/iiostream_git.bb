SUMMARY = "Stream samples from IIO ADCs and SDRs to PCs on the LAN"
DESCRIPTION = "iiostreamd, a single-threaded libuv daemon that sends every IIO DMA block \
to each subscribed client, libiiostream and the iiostream command-line client."
HOMEPAGE = "https://github.com/iiostream/iiostream"
# userspace MIT, file by file (SPDX lines); the kernel module, not built here, GPL-2.0-only
LICENSE = "MIT"
LIC_FILES_CHKSUM = "file://LICENSE;md5=91bc3f34f9245de13b4f0ec786e061c9"

# the project has no public home yet: point SRC_URI at the tree you build from
SRC_URI = "git://github.com/iiostream/iiostream.git;protocol=https;branch=main"
SRCREV = "${AUTOREV}"
PV = "0.1.0+git${SRCPV}"
S = "${WORKDIR}/git"

# protobuf-c-native for protoc-c, which generates the wire protocol's code
# fftw: the web console's spectrum (libfftw3f: its default PACKAGECONFIG builds single precision)
DEPENDS = "libuv protobuf-c protobuf-c-native openssl libiio avahi fftw"

inherit cmake pkgconfig systemd useradd

EXTRA_OECMAKE = "-DIIOSTREAM_TESTS=OFF -DIIOSTREAM_GNURADIO=OFF -DIIOSTREAM_SANITIZE=OFF"

do_install:append() {
    install -D -m 0644 ${S}/deploy/systemd/iiostreamd.service ${D}${systemd_system_unitdir}/iiostreamd.service
    install -D -m 0644 ${S}/deploy/iiostreamd.conf ${D}${sysconfdir}/iiostream/iiostreamd.conf
    install -D -m 0644 ${S}/deploy/udev/70-iiostream.rules ${D}${nonarch_base_libdir}/udev/rules.d/70-iiostream.rules
    install -D -m 0755 ${S}/deploy/udev/iiostream-sysfs-access ${D}${libdir}/iiostream/iiostream-sysfs-access
    install -D -m 0644 ${S}/deploy/sysusers.d/iiostream.conf ${D}${libdir}/sysusers.d/iiostream.conf
}

PACKAGES =+ "${PN}-tools"
SYSTEMD_PACKAGES = "${PN}"
SYSTEMD_SERVICE:${PN} = "iiostreamd.service"
SYSTEMD_AUTO_ENABLE = "enable"
USERADD_PACKAGES = "${PN}"
USERADD_PARAM:${PN} = "--system --no-create-home --shell /sbin/nologin --user-group iiostream"

FILES:${PN} = "${sbindir}/iiostreamd ${libdir}/libiiostream.so.* \
    ${systemd_system_unitdir}/iiostreamd.service ${sysconfdir}/iiostream \
    ${nonarch_base_libdir}/udev/rules.d ${libdir}/iiostream ${libdir}/sysusers.d"
FILES:${PN}-tools = "${bindir}/iiostream"
FILES:${PN}-dev = "${includedir} ${libdir}/libiiostream.so"
CONFFILES:${PN} = "${sysconfdir}/iiostream/iiostreamd.conf"
