# Install-time part of `cmake --install` (and of CPack): the files whose place
# or content depends on the prefix chosen when installing, not when
# configuring. With prefix /usr (a Debian package) the config file goes to
# /etc and the unit to systemd's directory; with any other prefix (/usr/local,
# a test's temporary prefix) both stay under the prefix. The unit names the
# installed binary and config file by their final absolute paths.
#
# Set by install(CODE) before this runs: DLT_SOURCE_DIR, DLT_BINARY_DIR,
# DLT_BINDIR, DLT_DOCDIR (relative to the prefix), DLT_SYSTEM_UNIT_DIR
# (systemd's own, from pkg-config; may be empty).

set(_prefix "${CMAKE_INSTALL_PREFIX}")
if(_prefix STREQUAL "/usr" OR _prefix STREQUAL "/")
  set(_etc "/etc")
  if(DLT_SYSTEM_UNIT_DIR)
    set(_units "${DLT_SYSTEM_UNIT_DIR}")
  else()
    set(_units "/lib/systemd/system")
  endif()
else()
  set(_etc "${_prefix}/etc")
  # systemd also reads /usr/local/lib/systemd/system.
  set(_units "${_prefix}/lib/systemd/system")
endif()

set(DLT_BIN_DIR "${_prefix}/${DLT_BINDIR}")
set(DLT_DOC_DIR "${_prefix}/${DLT_DOCDIR}")
set(DLT_CONF_DIR "${_etc}/dlt-node")
set(DLT_CONF_FILE "${DLT_CONF_DIR}/dlt-node.conf")
# One generated unit per destination, so that installs to different
# prefixes at once (tests, cpack) do not overwrite each other's.
string(MD5 _where "$ENV{DESTDIR}|${_prefix}")
set(_unit "${DLT_BINARY_DIR}/packaging/${_where}/dlt-node@.service")
configure_file("${DLT_SOURCE_DIR}/packaging/systemd/dlt-node@.service.in"
               "${_unit}" @ONLY)
file(INSTALL DESTINATION "${_units}" TYPE FILE FILES "${_unit}")

# Never overwrite a config file an operator may have edited: a different
# one already in place gets the new defaults next to it.
set(_conf "${DLT_SOURCE_DIR}/config/dlt-node.conf")
set(_target "$ENV{DESTDIR}${DLT_CONF_FILE}")
if(EXISTS "${_target}")
  file(READ "${_target}" _old)
  file(READ "${_conf}" _new)
  if(NOT _old STREQUAL _new)
    message(STATUS "Keeping the existing ${_target}; "
                   "the new defaults go to ${_target}.dist")
    file(INSTALL DESTINATION "${DLT_CONF_DIR}" TYPE FILE FILES "${_conf}"
         RENAME dlt-node.conf.dist)
    return()
  endif()
endif()
file(INSTALL DESTINATION "${DLT_CONF_DIR}" TYPE FILE FILES "${_conf}")
