# c89_check.cmake - ctest script (label "c89"): compiles the driver-side
# sources (probe, CBOR encoder, XXH64 wrapper, ring, and through them the
# digest and the record model) the way the WDK 7.1 compiler (cl 15.00, C89
# plus long long) would see them, as closely as this machine allows:
#
#   clang --target=i686-pc-windows-msvc / x86_64-pc-windows-msvc
#         -fms-extensions -fms-compatibility -fms-compatibility-version=15.00
#         -std=c89 -pedantic-errors -Wno-long-long -fsyntax-only
#         with mingw-w64's DDK and C headers standing in for the WDK's (the
#         same declarations: VideoPort API, NTAPI = __stdcall on x86,
#         memcpy/memset); _MSC_VER is 1500, so dmt/port.h takes its cl
#         branch (no <stdint.h>, interlocked intrinsics);
#   gcc -std=c89 -pedantic-errors -Wno-long-long over the same files with the
#         host VideoPort headers, and i686/x86_64-w64-mingw32-gcc with
#         mingw-w64's DDK headers (the 32- and 64-bit layouts the probe pins).
#
# This is an approximation: Clang accepts some things cl 15.00 rejects, so it
# does not replace a build with the real WDK.  A negative control first
# checks that the flags do reject C99 (a declaration after a statement).
#
# Without mingw-w64's headers (package mingw-w64-common) only the GCC lines
# run.
#
#   cmake -DSRC=<repo> -DCLANG=<clang> -DGCC=<gcc> -DXXHASH_H=<xxhash.h> [-DMINGW32=<i686 gcc>]
#         [-DMINGW64=<x86_64 gcc>] [-DWORK=<scratch dir>]
#         [-DMINGW_INCLUDE=<mingw-w64 include dir>] -P c89_check.cmake
foreach(v SRC CLANG GCC XXHASH_H)
  if(NOT DEFINED ${v} OR "${${v}}" STREQUAL "")
    message(FATAL_ERROR "c89_check.cmake: -D${v}= missing")
  endif()
endforeach()
if(NOT DEFINED WORK)
  set(WORK ${CMAKE_CURRENT_BINARY_DIR})
endif()
if(NOT DEFINED MINGW_INCLUDE)
  set(MINGW_INCLUDE /usr/share/mingw-w64/include)
endif()
set(DDK ${MINGW_INCLUDE}/ddk)
set(HAVE_DDK FALSE)
if(EXISTS ${DDK}/video.h)
  set(HAVE_DDK TRUE)
endif()

set(MI ${SRC}/miniport-instrumented)
set(FILES ${SRC}/core/ring/ring.c ${SRC}/core/ring/locator.c ${SRC}/core/format/enc.c ${SRC}/core/format/xxh64.c
          ${MI}/probe/dmt_probe.c)
set(INCS -I${SRC}/core/format/include -I${SRC}/core/ring/include -I${MI}/probe)
set(C89 -std=c89 -pedantic-errors -Wno-long-long -Wall -Wextra -Werror -Wno-unused-parameter
        -fsyntax-only -DDMT_PROBE)
# xxhash.h alone, for the compilers that must not see the host's headers.
file(COPY ${XXHASH_H} DESTINATION ${WORK}/c89-xxhash)
# cl's own keywords (__int64, __declspec, __stdcall) are not extensions to it.
# msvc-crt/stdlib.h stands in for the WDK's (mingw's does not parse here).
set(MSVC_LIKE -fms-extensions -fms-compatibility -fms-compatibility-version=15.00
              -Wno-language-extension-token -ffreestanding
              -isystem ${MI}/tests/msvc-crt -isystem ${DDK} -isystem ${MINGW_INCLUDE}
              -isystem ${WORK}/c89-xxhash)

set(failures "")
set(ran 0)
function(check name expect_ok)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(expect_ok AND NOT rc EQUAL 0)
    set(failures "${failures}${name}:\n${out}\n" PARENT_SCOPE)
  elseif(NOT expect_ok AND rc EQUAL 0)
    set(failures "${failures}${name}: accepted C99, the flags are too permissive\n" PARENT_SCOPE)
  endif()
  math(EXPR n "${ran} + 1")
  set(ran ${n} PARENT_SCOPE)
endfunction()

# Negative control: C99 must be refused by every compiler line.
file(WRITE ${WORK}/c89_control.c "int f(int a);\nint f(int a)\n{\n    a++;\n    int b = a;\n    return b;\n}\n")
if(HAVE_DDK)
  foreach(t i686 x86_64)
    check("clang ${t}-pc-windows-msvc control" FALSE
          ${CLANG} --target=${t}-pc-windows-msvc ${MSVC_LIKE} ${C89} ${WORK}/c89_control.c)
  endforeach()
endif()
check("gcc control" FALSE ${GCC} ${C89} ${WORK}/c89_control.c)

foreach(f ${FILES})
  get_filename_component(n ${f} NAME)
  foreach(t i686 x86_64)
    if(HAVE_DDK)
      check("clang ${t}-pc-windows-msvc ${n}" TRUE
            ${CLANG} --target=${t}-pc-windows-msvc ${MSVC_LIKE} ${C89} ${INCS} ${f})
    endif()
  endforeach()
  check("gcc ${n}" TRUE ${GCC} ${C89} -isystem ${MI}/host/include ${INCS} ${f})
  foreach(m MINGW32 MINGW64)
    if(HAVE_DDK AND DEFINED ${m} AND NOT "${${m}}" MATCHES "^$|NOTFOUND$")
      check("${${m}} ${n}" TRUE ${${m}} ${C89} -ffreestanding -isystem ${DDK}
            -isystem ${WORK}/c89-xxhash ${INCS} ${f})
    endif()
  endforeach()
endforeach()

if(failures)
  message(FATAL_ERROR "driver-side sources are not C89 as the WDK compiler needs:\n${failures}")
endif()
if(NOT HAVE_DDK)
  message(STATUS "c89: no mingw-w64 DDK headers in ${MINGW_INCLUDE}: GCC lines only")
endif()
message(STATUS "c89: ${ran} compiles as expected (C99 controls refused)")
