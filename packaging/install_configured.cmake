# Runs at install time (cmake --install, and CPack's staging install), when
# CMAKE_INSTALL_PREFIX is the one really used: fills the paths into the unit
# and the config, then installs them with the hooks and the fail2ban files.
# file(INSTALL) honours DESTDIR and records the files in the install manifest.
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr" OR CMAKE_INSTALL_PREFIX STREQUAL "/")
  set(VHM_SYSCONFDIR /etc)
else()
  set(VHM_SYSCONFDIR "${CMAKE_INSTALL_PREFIX}/etc")
endif()
set(VHM_BINDIR "${CMAKE_INSTALL_PREFIX}/bin")
set(VHM_DOCDIR "${CMAKE_INSTALL_PREFIX}/${VHM_DOC_DIR}")

# One staging directory per destination: two installs from one build tree
# (a package and a local install) do not overwrite each other's files.
string(MD5 staging_tag "$ENV{DESTDIR}|${CMAKE_INSTALL_PREFIX}")
set(staged "${VHM_PACKAGING_BINARY_DIR}/configured-${staging_tag}")
configure_file("${VHM_PACKAGING_SOURCE_DIR}/systemd/vnc-hooks-manager.service.in"
               "${staged}/vnc-hooks-manager.service" @ONLY)
configure_file("${VHM_PACKAGING_SOURCE_DIR}/systemd/vnc-hooks-manager-worker.service.in"
               "${staged}/vnc-hooks-manager-worker.service" @ONLY)
configure_file("${VHM_PACKAGING_SOURCE_DIR}/etc/config.yaml.in" "${staged}/config.yaml" @ONLY)
file(COPY_FILE "${VHM_PACKAGING_SOURCE_DIR}/etc/fail2ban-jail.local" "${staged}/vnc-hooks-manager.local")

file(INSTALL DESTINATION "${CMAKE_INSTALL_PREFIX}/lib/systemd/system" TYPE FILE
     FILES "${staged}/vnc-hooks-manager.service" "${staged}/vnc-hooks-manager-worker.service")
# World-readable: a SIGHUP reload re-reads it as the service user.
file(INSTALL DESTINATION "${VHM_SYSCONFDIR}/vnc-hooks-manager" TYPE FILE
     FILES "${staged}/config.yaml")
file(INSTALL DESTINATION "${VHM_SYSCONFDIR}/vnc-hooks-manager/hooks.d" TYPE PROGRAM
     FILES "${VHM_TOP_SOURCE_DIR}/examples/hooks/log-event.sh")
file(INSTALL DESTINATION "${VHM_SYSCONFDIR}/fail2ban/filter.d" TYPE FILE
     FILES "${VHM_PACKAGING_SOURCE_DIR}/fail2ban/filter.d/vnc-hooks-manager.conf")
file(INSTALL DESTINATION "${VHM_SYSCONFDIR}/fail2ban/jail.d" TYPE FILE
     FILES "${staged}/vnc-hooks-manager.local")
