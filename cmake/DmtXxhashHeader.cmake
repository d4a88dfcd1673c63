# DmtXxhashHeader.cmake - for the mingw-w64 builds (driver, dmatrace.exe):
# the XXH64 digest (core/format/xxh64.c) compiles xxHash's header (Debian
# libxxhash-dev) in, and the cross compiler does not search the host's
# include directory, so the one header is copied into the build tree.
# Sets DMT_XXHASH_INCLUDE, the folder to add to the include path.
find_file(DMT_XXHASH_H xxhash.h PATHS /usr/include /usr/local/include
          NO_DEFAULT_PATH NO_CMAKE_FIND_ROOT_PATH REQUIRED)
configure_file(${DMT_XXHASH_H} ${CMAKE_CURRENT_BINARY_DIR}/xxhash/xxhash.h COPYONLY)
set(DMT_XXHASH_INCLUDE ${CMAKE_CURRENT_BINARY_DIR}/xxhash)
