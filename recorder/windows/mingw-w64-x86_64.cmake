# mingw-w64-x86_64.cmake - toolchain for the x64 dmatrace.exe (PE32+).
set(DMT_MINGW_TRIPLET x86_64-w64-mingw32)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
include(${CMAKE_CURRENT_LIST_DIR}/../../cmake/mingw-w64-common.cmake)
