# external.cmake - included by recorder/CMakeLists.txt: builds dmatrace.exe
# (recorder/windows/, a separate CMake project) for x64 and 32-bit x86 with
# mingw-w64 when the cross compilers are installed, and registers its tests:
#   recorder_windows_exe_x64 / _x86  (label windows): the PE checks
#       (check_exe.cmake: PE32+ / PE32 console program, system DLL imports only)
#   system_windows_record            (label system): tests/system/test_windows_record.sh,
#       the x64 .exe under Wine draining a ring the Linux capture writes
option(DMT_BUILD_WINDOWS_RECORDER "Cross-build dmatrace.exe with mingw-w64" ON)
if(NOT DMT_BUILD_WINDOWS_RECORDER)
  return()
endif()
include(ExternalProject)
set(DMT_WINDOWS_EXE_x64 "")
foreach(arch x64 x86)
  if(arch STREQUAL "x64")
    set(triplet x86_64-w64-mingw32)
    set(tc mingw-w64-x86_64.cmake)
  else()
    set(triplet i686-w64-mingw32)
    set(tc mingw-w64-i686.cmake)
  endif()
  find_program(DMT_MINGW_GCC_${arch} ${triplet}-gcc)
  find_program(DMT_MINGW_OBJDUMP_${arch} ${triplet}-objdump)
  if(NOT DMT_MINGW_GCC_${arch} OR NOT DMT_MINGW_OBJDUMP_${arch})
    message(STATUS "dmatrace.exe (${arch}): ${triplet}-gcc/objdump not found, not built")
    continue()
  endif()
  set(bin ${CMAKE_CURRENT_BINARY_DIR}/windows-${arch})
  set(exe ${bin}/dmatrace.exe)
  ExternalProject_Add(dmatrace_exe_${arch}
    SOURCE_DIR ${CMAKE_CURRENT_SOURCE_DIR}/windows
    BINARY_DIR ${bin}
    CMAKE_ARGS
      -DCMAKE_TOOLCHAIN_FILE=${CMAKE_CURRENT_SOURCE_DIR}/windows/${tc}
      -DCMAKE_BUILD_TYPE=Release
      -DDMT_SOURCE_DIR=${PROJECT_SOURCE_DIR}
      -DDMT_VERSION=${PROJECT_VERSION}
      -DDMT_WERROR=${DMT_WERROR}
    INSTALL_COMMAND ""
    BUILD_ALWAYS ON
    BUILD_BYPRODUCTS ${exe})
  if(BUILD_TESTING)
    add_test(NAME recorder_windows_exe_${arch}
             COMMAND ${CMAKE_COMMAND} -DBUILD_DIR=${CMAKE_BINARY_DIR} -DTARGET=dmatrace_exe_${arch}
                     -DIMAGE=${exe} -DOBJDUMP=${DMT_MINGW_OBJDUMP_${arch}} -DARCH=${arch}
                     -P ${CMAKE_CURRENT_SOURCE_DIR}/windows/check_exe.cmake)
    set_tests_properties(recorder_windows_exe_${arch} PROPERTIES LABELS windows TIMEOUT 600)
  endif()
  set(DMT_WINDOWS_EXE_${arch} ${exe})
endforeach()
# For tests/CMakeLists.txt (the Wine system test).
set(DMT_WINDOWS_EXE_x64 "${DMT_WINDOWS_EXE_x64}" CACHE INTERNAL "the x64 dmatrace.exe, if built")
