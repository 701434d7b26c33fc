# Run by cmake --install (and cpack), after cmake/InstallSystem.cmake set the
# WSD_* variables: installs the systemd unit and the example config where the
# install prefix in effect wants them, and the gzipped man pages and changelog.
# DESTDIR is honoured by file(INSTALL).
set(prefix "${CMAKE_INSTALL_PREFIX}")
if(IS_ABSOLUTE "${WSD_SYSCONFDIR}")
  set(etc "${WSD_SYSCONFDIR}")
elseif(prefix STREQUAL "/usr")
  set(etc "/etc")
else()
  set(etc "${prefix}/${WSD_SYSCONFDIR}")
endif()
if(prefix STREQUAL "/usr")
  set(unitdir "/lib/systemd/system")   # Debian 12's systemdsystemunitdir
else()
  set(unitdir "${prefix}/lib/systemd/system")
endif()

file(READ "${WSD_SOURCE_DIR}/systemd/wsd.service" unit)
string(REPLACE "/usr/bin/wsd" "${prefix}/${WSD_BINDIR}/wsd" unit "${unit}")
string(REPLACE "/etc/wsd/" "${etc}/wsd/" unit "${unit}")
string(REPLACE "/usr/share/doc/wsd/" "${prefix}/${WSD_DOCDIR}/" unit "${unit}")
# One folder per destination: two installs at once (a test's cmake --install
# and cpack) must not write each other's unit.
string(MD5 key "$ENV{DESTDIR}|${prefix}")
set(staged "${WSD_BINARY_DIR}/install-staged/${key}")
file(WRITE "${staged}/wsd.service" "${unit}")
file(INSTALL DESTINATION "${unitdir}" TYPE FILE FILES "${staged}/wsd.service")
file(INSTALL DESTINATION "${etc}/wsd" TYPE FILE FILES "${WSD_SOURCE_DIR}/config/server.yaml")

# gzip -9n: best compression and no name or time stamp in the header (what
# lintian asks of a package; the same bytes on every build).
foreach(pair "docs/wsd.8|${WSD_MANDIR}/man8" "docs/server.yaml.5|${WSD_MANDIR}/man5"
             "packaging/deb/changelog|${WSD_DOCDIR}")
  string(REPLACE "|" ";" pair "${pair}")
  list(GET pair 0 source)
  list(GET pair 1 dir)
  get_filename_component(name "${source}" NAME)
  execute_process(COMMAND gzip -9n INPUT_FILE "${WSD_SOURCE_DIR}/${source}" OUTPUT_FILE "${staged}/${name}.gz"
                  RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "gzip ${source} failed: ${rc}")
  endif()
  file(INSTALL DESTINATION "${prefix}/${dir}" TYPE FILE FILES "${staged}/${name}.gz")
endforeach()
