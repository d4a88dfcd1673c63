# mingw-w64.cmake - CMake toolchain file for dmatrace.exe: the mingw-w64
# cross compiler of the triplet in DMT_MINGW_TRIPLET (set by the two
# wrappers mingw-w64-x86_64.cmake / mingw-w64-i686.cmake; Debian packages
# gcc-mingw-w64-x86-64 / gcc-mingw-w64-i686 and their binutils).
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
