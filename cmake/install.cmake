# `cmake --install`: the daemon, the C++ client (headers, static libraries
# and a CMake package, so a program can find_package(bocd) and link
# bocd::client), the systemd units and an example configuration. Not used
# by the Python build, which installs into the wheel instead.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(BOCD_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/bocd)

install(TARGETS bocd RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# The client and the protocol library it links (with the generated
# flatbuffers header its public headers build on).
set_target_properties(bocd_client PROPERTIES EXPORT_NAME client)
set_target_properties(bocd_proto PROPERTIES EXPORT_NAME proto)
install(TARGETS bocd_client bocd_proto bocd_error_list EXPORT bocdTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY client-cpp/include/bocd proto/include/bocd
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES ${PROJECT_BINARY_DIR}/proto/gen/bocd/proto/bocd_generated.h
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/bocd/proto)
# The error list the client's errors.h expands, beside it (a quoted
# include looks there first).
install(FILES ${PROJECT_BINARY_DIR}/proto/errors/bocd_error_list.inc
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/bocd/client)
install(EXPORT bocdTargets NAMESPACE bocd:: DESTINATION ${BOCD_CMAKE_DIR})
configure_package_config_file(cmake/bocdConfig.cmake.in
  ${PROJECT_BINARY_DIR}/bocdConfig.cmake INSTALL_DESTINATION ${BOCD_CMAKE_DIR})
# The protocol changes between minor versions before 1.0.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/bocdConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/bocdConfig.cmake
  ${PROJECT_BINARY_DIR}/bocdConfigVersion.cmake DESTINATION ${BOCD_CMAKE_DIR})

# systemd units, made at install time so that they name the binary where
# this install put it (cmake --install --prefix may differ from the
# configured prefix).
install(CODE "
  set(BOCD_DEPLOY \"${PROJECT_SOURCE_DIR}/deploy\")
  set(BOCD_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
  set(BOCD_STAGE \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}\")
  set(BOCD_BINDIR \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}\")
  if(IS_ABSOLUTE \"${CMAKE_INSTALL_SYSCONFDIR}\")
    set(BOCD_SYSCONFDIR \"${CMAKE_INSTALL_SYSCONFDIR}\")
  else()
    set(BOCD_SYSCONFDIR \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_SYSCONFDIR}\")
  endif()
  foreach(unit system/bocd.service system/bocd.socket user/bocd.service
          user/bocd.socket)
    configure_file(\${BOCD_DEPLOY}/\${unit}.in
      \${BOCD_STAGE}/lib/systemd/\${unit} @ONLY)
    message(STATUS \"Installing: \${BOCD_STAGE}/lib/systemd/\${unit}\")
  endforeach()
  configure_file(\${BOCD_DEPLOY}/sysusers.conf
    \${BOCD_STAGE}/lib/sysusers.d/bocd.conf COPYONLY)
")
install(FILES deploy/bocd.toml
  DESTINATION ${CMAKE_INSTALL_SYSCONFDIR}/bocd)
