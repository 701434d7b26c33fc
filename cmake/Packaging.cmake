# `cpack -G DEB` in the build folder: a Debian package of what cmake --install
# installs, laid out for /usr (/usr/bin/wsd, /usr/lib/wsd/plugins, /etc/wsd,
# /lib/systemd/system), with /etc/wsd/server.yaml as a conffile and the
# maintainer scripts of packaging/deb/ (the wsd system user; the unit enabled
# and started as debhelper would). Dependencies come from dpkg-shlibdeps.
# tests/package/check_deb.py builds it and checks it with dpkg-deb and lintian.
set(WSD_PACKAGE_MAINTAINER "wsd maintainers <wsd-maintainers@example.org>"
    CACHE STRING "Maintainer field of the .deb (name <email>)")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME wsd)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "${WSD_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "WebSocket server daemon with plugins")
set(CPACK_PACKAGE_DESCRIPTION
  "wsd is a multi-process WebSocket server (RFC 6455, permessage-deflate)
whose application logic lives in plugins: shared objects with a C ABI that
receive the connection events and push messages to any client, as in
Swoole's WebSocket server. A worker can crash or be reloaded without the
clients noticing. It serves ws:// and wss://, speaks the PROXY protocol and
runs under systemd (Type=notify, reload with SIGHUP).

This package holds the daemon, the example plugins (echo, broadcast,
handshake, and a chat with its web page), the plugin headers with a
pkg-config file, the systemd unit and /etc/wsd/server.yaml, an echo server
on 127.0.0.1:9501.")

# Absolute destinations (/etc/wsd, /lib/systemd/system) and the unit's paths
# are decided at install time from the prefix: install with DESTDIR into the
# staging folder, with the prefix the package has.
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX /usr)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)

set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)            # wsd_<version>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${WSD_PACKAGE_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")        # postinst; the rest from shlibdeps
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${PROJECT_SOURCE_DIR}/packaging/deb/conffiles
  ${PROJECT_SOURCE_DIR}/packaging/deb/postinst
  ${PROJECT_SOURCE_DIR}/packaging/deb/prerm
  ${PROJECT_SOURCE_DIR}/packaging/deb/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

include(CPack)
