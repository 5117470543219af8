################################################################################
#
# iiostream
#
################################################################################

IIOSTREAM_VERSION = 0.1.0
# the project has no public home yet: point _SITE at the tree you build from
IIOSTREAM_SITE = https://github.com/iiostream/iiostream.git
IIOSTREAM_SITE_METHOD = git
# userspace MIT, the kernel module (not built here) GPL-2.0-only: LICENSE
IIOSTREAM_LICENSE = MIT
IIOSTREAM_LICENSE_FILES = LICENSE
IIOSTREAM_INSTALL_STAGING = YES
# protoc-c generates the wire protocol's code at build time, on the host
IIOSTREAM_DEPENDENCIES = host-pkgconf host-protobuf-c libuv protobuf-c openssl libiio avahi fftw-single
IIOSTREAM_CONF_OPTS = \
	-DIIOSTREAM_TESTS=OFF \
	-DIIOSTREAM_GNURADIO=OFF \
	-DIIOSTREAM_SANITIZE=OFF \
	-DPROTOC_C=$(HOST_DIR)/bin/protoc-c

ifeq ($(BR2_PACKAGE_IIOSTREAM_DAEMON),y)
define IIOSTREAM_INSTALL_DAEMON_FILES
	$(INSTALL) -D -m 0644 $(@D)/deploy/iiostreamd.conf \
		$(TARGET_DIR)/etc/iiostream/iiostreamd.conf
	$(INSTALL) -D -m 0644 $(@D)/deploy/udev/70-iiostream.rules \
		$(TARGET_DIR)/lib/udev/rules.d/70-iiostream.rules
	$(INSTALL) -D -m 0755 $(@D)/deploy/udev/iiostream-sysfs-access \
		$(TARGET_DIR)/usr/lib/iiostream/iiostream-sysfs-access
	$(INSTALL) -D -m 0644 $(@D)/deploy/sysusers.d/iiostream.conf \
		$(TARGET_DIR)/usr/lib/sysusers.d/iiostream.conf
endef
IIOSTREAM_POST_INSTALL_TARGET_HOOKS += IIOSTREAM_INSTALL_DAEMON_FILES
define IIOSTREAM_INSTALL_INIT_SYSTEMD
	$(INSTALL) -D -m 0644 $(@D)/deploy/systemd/iiostreamd.service \
		$(TARGET_DIR)/usr/lib/systemd/system/iiostreamd.service
endef
define IIOSTREAM_USERS
	iiostream -1 iiostream -1 * - - - iiostreamd
endef
else
define IIOSTREAM_REMOVE_DAEMON
	rm -f $(TARGET_DIR)/usr/sbin/iiostreamd
endef
IIOSTREAM_POST_INSTALL_TARGET_HOOKS += IIOSTREAM_REMOVE_DAEMON
endif

ifneq ($(BR2_PACKAGE_IIOSTREAM_TOOLS),y)
define IIOSTREAM_REMOVE_TOOLS
	rm -f $(TARGET_DIR)/usr/bin/iiostream
endef
IIOSTREAM_POST_INSTALL_TARGET_HOOKS += IIOSTREAM_REMOVE_TOOLS
endif

$(eval $(cmake-package))
