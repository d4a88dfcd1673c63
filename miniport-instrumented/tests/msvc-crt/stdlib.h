/*
 * stdlib.h - test only (c89_check.cmake): the declarations the WDK's C
 * headers give a driver that includes <stdlib.h>, which <xxhash.h> does.
 * mingw-w64's own <stdlib.h> does not parse in Clang's MSVC mode, so this
 * one stands in front of it.  cl treats the rotate and byte-swap routines
 * as intrinsics; malloc/free are only referenced by xxHash functions the
 * probe never calls.
 */
#ifndef DMT_TEST_MSVC_STDLIB_H
#define DMT_TEST_MSVC_STDLIB_H
#include <stddef.h>
void *__cdecl malloc(size_t size);
void __cdecl free(void *p);
unsigned int __cdecl _rotl(unsigned int value, int shift);
unsigned __int64 __cdecl _rotl64(unsigned __int64 value, int shift);
unsigned long __cdecl _byteswap_ulong(unsigned long value);
unsigned __int64 __cdecl _byteswap_uint64(unsigned __int64 value);
#endif
