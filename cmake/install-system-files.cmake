# Run by cmake --install (and cpack), after cmake/InstallSystem.cmake set the
# WSD_* variables: installs the systemd unit and the example config where the
# install prefix in effect wants them. DESTDIR is honoured by file(INSTALL).
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
set(staged "${WSD_BINARY_DIR}/install-unit/${key}/wsd.service")
file(WRITE "${staged}" "${unit}")
file(INSTALL DESTINATION "${unitdir}" TYPE FILE FILES "${staged}")
file(INSTALL DESTINATION "${etc}/wsd" TYPE FILE FILES "${WSD_SOURCE_DIR}/config/server.yaml")
