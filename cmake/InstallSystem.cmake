# What cmake --install puts outside bin/, lib/ and include/: the systemd unit,
# the example config, the man pages and the documentation.
#
# docs/server.yaml.5 is generated from docs/configuration.md by
# scripts/gen-server-yaml-man.py and committed; the man_pages test checks it.

# The unit and the config are placed at install time, from the prefix then in
# effect (cmake --install --prefix, or /usr when cpack builds the .deb): under
# /usr, as GNUInstallDirs and Debian do, the config goes to /etc and the unit
# to /lib/systemd/system; under any other prefix both stay inside it. The
# unit's paths are rewritten to match. The man pages and the changelog are
# compressed as Debian ships them (man reads .gz everywhere), at install time
# so that no build target has to run first (cmake/install-system-files.cmake).
install(CODE "
  set(WSD_SOURCE_DIR \"${PROJECT_SOURCE_DIR}\")
  set(WSD_BINARY_DIR \"${CMAKE_BINARY_DIR}\")
  set(WSD_BINDIR \"${CMAKE_INSTALL_BINDIR}\")
  set(WSD_SYSCONFDIR \"${CMAKE_INSTALL_SYSCONFDIR}\")
  set(WSD_DOCDIR \"${CMAKE_INSTALL_DOCDIR}\")
  set(WSD_MANDIR \"${CMAKE_INSTALL_MANDIR}\")
")
install(SCRIPT cmake/install-system-files.cmake)

# share/doc/wsd: the reference the man pages and the unit point to, and the
# changelog and copyright files a Debian package carries.
install(FILES README.md docs/architecture.md docs/configuration.md docs/modes.md docs/operations.md
              docs/plugin-api.md docs/tls-and-proxies.md packaging/deb/copyright
        DESTINATION ${CMAKE_INSTALL_DOCDIR})
