# mingw-w64-i686.cmake - CMake toolchain file for i686-w64-mingw32 (32-bit
# x86 Windows).  Used by windows/CMakeLists.txt to build the x86 dmtmini.sys.
set(CMAKE_SYSTEM_PROCESSOR i686)
set(DMT_MINGW_TRIPLET i686-w64-mingw32)
include(${CMAKE_CURRENT_LIST_DIR}/../../cmake/mingw-w64-common.cmake)
