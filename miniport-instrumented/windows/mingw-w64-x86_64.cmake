# mingw-w64-x86_64.cmake - CMake toolchain file for x86_64-w64-mingw32 (64-bit
# Windows).  Used by windows/CMakeLists.txt to build the x64 dmtmini.sys;
# usable for any other Windows target too.
set(CMAKE_SYSTEM_PROCESSOR x86_64)
set(DMT_MINGW_TRIPLET x86_64-w64-mingw32)
include(${CMAKE_CURRENT_LIST_DIR}/../../cmake/mingw-w64-common.cmake)
