# mingw-w64-common.cmake - the common part of the CMake toolchain files for
# the mingw-w64 cross compilers (Debian packages gcc-mingw-w64-x86-64 +
# binutils-mingw-w64-x86-64, gcc-mingw-w64-i686 + binutils-mingw-w64-i686),
# shared by dmtmini.sys (miniport-instrumented/windows) and dmatrace.exe
# (recorder/windows).  Included by their mingw-w64-x86_64.cmake and
# mingw-w64-i686.cmake after they set CMAKE_SYSTEM_PROCESSOR and
# DMT_MINGW_TRIPLET.
set(CMAKE_SYSTEM_NAME Windows)

set(CMAKE_C_COMPILER ${DMT_MINGW_TRIPLET}-gcc)
set(CMAKE_RC_COMPILER ${DMT_MINGW_TRIPLET}-windres)
set(CMAKE_AR ${DMT_MINGW_TRIPLET}-ar CACHE FILEPATH "")
set(CMAKE_RANLIB ${DMT_MINGW_TRIPLET}-ranlib CACHE FILEPATH "")

# The target's headers and libraries; build tools come from the host.
set(CMAKE_FIND_ROOT_PATH /usr/${DMT_MINGW_TRIPLET})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
