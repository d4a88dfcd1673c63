# mingw-w64-i686.cmake - toolchain for the 32-bit x86 dmatrace.exe (PE32).
set(DMT_MINGW_TRIPLET i686-w64-mingw32)
set(CMAKE_SYSTEM_PROCESSOR i686)
include(${CMAKE_CURRENT_LIST_DIR}/../../cmake/mingw-w64-common.cmake)
