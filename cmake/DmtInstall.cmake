# DmtInstall.cmake - what `cmake --install` puts where, for people who link
# against dmatrace or package it:
#
#   bin/dmatrace, bin/dmatrace-viewer          the tools (their own CMakeLists)
#   lib/libdmatrace.so.0                        the core library (libdmt), shared
#   include/dmatrace/dmt/*.h                    its public headers
#   lib/pkgconfig/dmatrace.pc                   pkg-config --cflags --libs dmatrace
#   lib/cmake/dmatrace/                         find_package(dmatrace) -> dmatrace::dmatrace
#   share/dmatrace/probe/                       what a driver build compiles in
#   share/man/man1/dmatrace*.1                  generated from --help (man/genman.sh)
#   share/bash-completion/completions/dmatrace  generated from --help too
#   share/doc/dmatrace/                         the documents
include(CMakePackageConfigHelpers)

# ---- the shared core library: the objects of dmt and dmt_fs ----------------
# (with the register-map library the store's import and export name
# registers with)
add_library(libdmatrace SHARED $<TARGET_OBJECTS:dmt_fs> $<TARGET_OBJECTS:dmt>
                               $<TARGET_OBJECTS:dmt_regmap>)
set_target_properties(libdmatrace PROPERTIES OUTPUT_NAME dmatrace EXPORT_NAME dmatrace
                      VERSION ${PROJECT_VERSION} SOVERSION 0)
target_link_libraries(libdmatrace PRIVATE PkgConfig::CBOR SQLite::SQLite3 PkgConfig::LIBXML2
                      Threads::Threads)
target_include_directories(libdmatrace INTERFACE
  $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}/dmatrace>)
install(TARGETS libdmatrace EXPORT dmatraceTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
foreach(layer format ring store source audit export image)
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/core/${layer}/include/dmt
          DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/dmatrace FILES_MATCHING PATTERN "*.h")
endforeach()

# pkg-config, relocatable: the prefix is found from the .pc file's place.
file(RELATIVE_PATH DMT_PC_UP "/p/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/p")
configure_file(${PROJECT_SOURCE_DIR}/cmake/dmatrace.pc.in ${CMAKE_BINARY_DIR}/dmatrace.pc @ONLY)
install(FILES ${CMAKE_BINARY_DIR}/dmatrace.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# CMake package: find_package(dmatrace) gives dmatrace::dmatrace.
install(EXPORT dmatraceTargets NAMESPACE dmatrace::
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/dmatrace)
write_basic_package_version_file(${CMAKE_BINARY_DIR}/dmatraceConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
file(WRITE ${CMAKE_BINARY_DIR}/dmatraceConfig.cmake
  "# dmatraceConfig.cmake - the imported target dmatrace::dmatrace (libdmatrace).\n"
  "include(\${CMAKE_CURRENT_LIST_DIR}/dmatraceTargets.cmake)\n")
install(FILES ${CMAKE_BINARY_DIR}/dmatraceConfig.cmake ${CMAKE_BINARY_DIR}/dmatraceConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/dmatrace)

# ---- the probe, as a driver project compiles it ------------------------------
set(MI ${PROJECT_SOURCE_DIR}/miniport-instrumented)
install(FILES ${MI}/probe/dmt_probe.c ${MI}/probe/dmt_probe.h
              ${PROJECT_SOURCE_DIR}/core/format/enc.c ${PROJECT_SOURCE_DIR}/core/format/xxh64.c
              ${PROJECT_SOURCE_DIR}/core/ring/ring.c
        DESTINATION ${CMAKE_INSTALL_DATADIR}/dmatrace/probe)
install(FILES ${MI}/probe/README.installed.md DESTINATION ${CMAKE_INSTALL_DATADIR}/dmatrace/probe
        RENAME README.md)
foreach(h enc.h record.h digest.h port.h kinds.h)
  install(FILES ${PROJECT_SOURCE_DIR}/core/format/include/dmt/${h}
          DESTINATION ${CMAKE_INSTALL_DATADIR}/dmatrace/probe/dmt)
endforeach()
install(FILES ${PROJECT_SOURCE_DIR}/core/ring/include/dmt/ring.h
        DESTINATION ${CMAKE_INSTALL_DATADIR}/dmatrace/probe/dmt)

# ---- manual pages and completion, from the programs' own --help --------------
set(DMT_MAN_DIR ${CMAKE_BINARY_DIR}/man)
set(DMT_MAN_VIEWER -)
set(DMT_MAN_DEPS dmatrace)
if(TARGET dmatrace-viewer)
  set(DMT_MAN_VIEWER $<TARGET_FILE:dmatrace-viewer>)
  list(APPEND DMT_MAN_DEPS dmatrace-viewer)
endif()
add_custom_command(
  OUTPUT ${DMT_MAN_DIR}/dmatrace.1 ${DMT_MAN_DIR}/dmatrace.bash
  COMMAND sh ${PROJECT_SOURCE_DIR}/man/genman.sh $<TARGET_FILE:dmatrace> ${DMT_MAN_VIEWER}
          ${DMT_MAN_DIR} ${PROJECT_VERSION}
  DEPENDS ${DMT_MAN_DEPS} ${PROJECT_SOURCE_DIR}/man/genman.sh
  COMMENT "manual pages and bash completion from --help"
  VERBATIM)
add_custom_target(man ALL DEPENDS ${DMT_MAN_DIR}/dmatrace.1)
install(DIRECTORY ${DMT_MAN_DIR}/ DESTINATION ${CMAKE_INSTALL_MANDIR}/man1
        FILES_MATCHING PATTERN "*.1")
install(FILES ${DMT_MAN_DIR}/dmatrace.bash
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME dmatrace)

install(FILES README.md DESIGN.md schema/FORMAT.md schema/trace.cddl schema/store.sql
              schema/store-queries.md docs/audit-rules.md docs/cli.md docs/memory-images.md
        DESTINATION ${CMAKE_INSTALL_DOCDIR})
