# mingw-w64-x86_64.cmake - CMake toolchain file for the x86_64-w64-mingw32
# cross compiler (Debian packages gcc-mingw-w64-x86-64 and
# binutils-mingw-w64-x86-64).  Used by windows/CMakeLists.txt to build
# dmtmini.sys; usable for any other Windows target too.
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)

set(DMT_MINGW_TRIPLET x86_64-w64-mingw32)
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
