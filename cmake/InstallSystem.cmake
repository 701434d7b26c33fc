# What cmake --install puts outside bin/, lib/ and include/: the systemd unit,
# the example config, the man pages and the documentation.

# The unit and the config are placed at install time, from the prefix then in
# effect (cmake --install --prefix, or /usr when cpack builds the .deb): under
# /usr, as GNUInstallDirs and Debian do, the config goes to /etc and the unit
# to /lib/systemd/system; under any other prefix both stay inside it. The
# unit's paths are rewritten to match (cmake/install-system-files.cmake).
install(CODE "
  set(WSD_SOURCE_DIR \"${PROJECT_SOURCE_DIR}\")
  set(WSD_BINARY_DIR \"${CMAKE_BINARY_DIR}\")
  set(WSD_BINDIR \"${CMAKE_INSTALL_BINDIR}\")
  set(WSD_SYSCONFDIR \"${CMAKE_INSTALL_SYSCONFDIR}\")
  set(WSD_DOCDIR \"${CMAKE_INSTALL_DOCDIR}\")
")
install(SCRIPT cmake/install-system-files.cmake)

# Man pages, compressed as Debian ships them (man reads .gz everywhere).
# docs/server.yaml.5 is generated from docs/configuration.md by
# scripts/gen-server-yaml-man.py and committed; the man_pages test checks it.
set(WSD_GZIPPED)
foreach(src docs/wsd.8 docs/server.yaml.5 packaging/deb/changelog)
  get_filename_component(name ${src} NAME)
  set(out ${CMAKE_BINARY_DIR}/gz/${name}.gz)
  add_custom_command(OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/gz
    COMMAND sh -c "gzip -9n < '${PROJECT_SOURCE_DIR}/${src}' > '${out}'"
    DEPENDS ${PROJECT_SOURCE_DIR}/${src}
    COMMENT "gzip ${src}" VERBATIM)
  list(APPEND WSD_GZIPPED ${out})
endforeach()
add_custom_target(wsd_gzipped_docs ALL DEPENDS ${WSD_GZIPPED})
install(FILES ${CMAKE_BINARY_DIR}/gz/wsd.8.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man8)
install(FILES ${CMAKE_BINARY_DIR}/gz/server.yaml.5.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man5)

# share/doc/wsd: the reference the man pages and the unit point to, and the
# changelog and copyright files a Debian package carries.
install(FILES README.md docs/architecture.md docs/configuration.md docs/modes.md docs/operations.md
              docs/plugin-api.md docs/tls-and-proxies.md packaging/deb/copyright
        DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES ${CMAKE_BINARY_DIR}/gz/changelog.gz DESTINATION ${CMAKE_INSTALL_DOCDIR})
