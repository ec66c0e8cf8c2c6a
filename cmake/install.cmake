# install.cmake - what `cmake --install` puts where (issue 14).
#
#   lib/libmailwire.so.X.Y.Z, .so.X (SONAME), .so     the shared library
#   lib/libmailwire.a                                 the static library
#   lib/libmailwire-mime.so.X.Y.Z, -tls.so.X.Y.Z      the composer and TLS
#                                                     modules (dlopen)
#   include/mailwire.h                                the public API
#   lib/pkgconfig/mailwire.pc                         pkg-config (shared and
#                                                     --static)
#   lib/cmake/mailwire/                               find_package(mailwire):
#       mailwire::mailwire (shared), mailwire::static
#   bin/mailwire                                      the CLI
#   share/man, share/bash-completion, share/zsh       cmake/docs.cmake
#
# The header's version macros must say what project() says: checked here,
# at configure time, so the two cannot drift.
file(STRINGS ${PROJECT_SOURCE_DIR}/include/mailwire.h mw_version_lines
     REGEX "^#define MW_VERSION_(MAJOR|MINOR|PATCH|STRING) ")
set(mw_header_version "")
foreach(part MAJOR MINOR PATCH)
  string(REGEX MATCH "#define MW_VERSION_${part} ([0-9]+)" _
         "${mw_version_lines}")
  list(APPEND mw_header_version "${CMAKE_MATCH_1}")
endforeach()
string(JOIN "." mw_header_version ${mw_header_version})
string(REGEX MATCH "#define MW_VERSION_STRING \"([^\"]*)\"" _
       "${mw_version_lines}")
if(NOT mw_header_version STREQUAL PROJECT_VERSION OR
   NOT CMAKE_MATCH_1 STREQUAL PROJECT_VERSION)
  message(FATAL_ERROR "include/mailwire.h says version ${mw_header_version} "
          "(\"${CMAKE_MATCH_1}\"), CMakeLists.txt says ${PROJECT_VERSION}")
endif()

include(CMakePackageConfigHelpers)
set(MW_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/mailwire)

install(TARGETS mailwire EXPORT mailwire-targets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS mailwire_static EXPORT mailwire-static-targets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS mailwire_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# The TLS module (lib/tls/tls_module.h), next to libmailwire and the
# composer module, where lib/tls/tls_load.c looks for it.
if(TARGET mailwire_tls)
  install(TARGETS mailwire_tls LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
endif()
install(FILES include/mailwire.h
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

install(EXPORT mailwire-targets NAMESPACE mailwire::
        DESTINATION ${MW_CMAKE_DIR})
install(EXPORT mailwire-static-targets NAMESPACE mailwire::
        DESTINATION ${MW_CMAKE_DIR})
configure_package_config_file(cmake/mailwire-config.cmake.in
  ${PROJECT_BINARY_DIR}/mailwire-config.cmake
  INSTALL_DESTINATION ${MW_CMAKE_DIR})
write_basic_package_version_file(
  ${PROJECT_BINARY_DIR}/mailwire-config-version.cmake
  COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/mailwire-config.cmake
              ${PROJECT_BINARY_DIR}/mailwire-config-version.cmake
        DESTINATION ${MW_CMAKE_DIR})

# pkg-config: the dependencies' own .pc files give their flags for a
# static link (Requires.private); threads are the one non-pkg-config one.
# The prefix is the one installed to (cmake --install --prefix DIR may
# differ from CMAKE_INSTALL_PREFIX): written at install time.
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  set(MW_PC_LIBDIR "${CMAKE_INSTALL_LIBDIR}")
  set(MW_PC_DEST "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
else()
  set(MW_PC_LIBDIR "\${exec_prefix}/${CMAKE_INSTALL_LIBDIR}")
  set(MW_PC_DEST "\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR}/pkgconfig")
endif()
if(IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  set(MW_PC_INCLUDEDIR "${CMAKE_INSTALL_INCLUDEDIR}")
else()
  set(MW_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()
set(MW_PREFIX "@MW_PREFIX@") # kept for install time
# OpenSSL is a static link's dependency only when built in
# (MW_TLS_BUILTIN); otherwise the TLS module links it, not libmailwire.a.
if(MW_TLS_BUILTIN)
  set(MW_PC_REQUIRES_OPENSSL "openssl >= 3.0, ")
else()
  set(MW_PC_REQUIRES_OPENSSL "")
endif()
configure_file(cmake/mailwire.pc.in ${PROJECT_BINARY_DIR}/mailwire.pc.in
               @ONLY)
install(CODE "
  file(READ \"${PROJECT_BINARY_DIR}/mailwire.pc.in\" mw_pc)
  string(REPLACE \"@MW_PREFIX@\" \"\${CMAKE_INSTALL_PREFIX}\" mw_pc
         \"\${mw_pc}\")
  file(WRITE \"${PROJECT_BINARY_DIR}/pkgconfig/mailwire.pc\" \"\${mw_pc}\")
  file(INSTALL DESTINATION \"${MW_PC_DEST}\" TYPE FILE
       FILES \"${PROJECT_BINARY_DIR}/pkgconfig/mailwire.pc\")
")
