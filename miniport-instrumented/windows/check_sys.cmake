# check_sys.cmake - ctest script (label "windows"): builds dmtmini.sys and
# inspects it with <triplet>-objdump -p.
#   cmake -DBUILD_DIR=<main build> -DTARGET=dmtmini_sys[_x86] -DSYS=<path>
#         -DOBJDUMP=<objdump> -DARCH=x64|x86 -P check_sys.cmake
# Checks: PE32+ (Magic 020b, x64) or PE32 (Magic 010b, x86), subsystem 1
# (native), entry point set, no x87/MMX (x86: no SSE) instructions, imports
# from videoprt.sys (the DMA sequence, and VideoPortUnlockBuffer under its
# export name), ntoskrnl.exe (MmGetPhysicalAddress for the bug-check
# locator) and hal.dll, no import of VideoPortRegisterBugcheckCallback (looked
# up, so the driver loads on XP RTM), and nothing from a C runtime or Win32
# (msvcrt*, ucrtbase, api-ms-*, kernel32, ...).
foreach(v BUILD_DIR TARGET SYS OBJDUMP ARCH)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "check_sys.cmake: -D${v}= missing")
  endif()
endforeach()

execute_process(COMMAND ${CMAKE_COMMAND} --build ${BUILD_DIR} --target ${TARGET}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "building ${TARGET} failed:\n${out}")
endif()
if(NOT EXISTS ${SYS})
  message(FATAL_ERROR "${SYS} was not produced")
endif()

execute_process(COMMAND ${OBJDUMP} -p ${SYS} RESULT_VARIABLE rc OUTPUT_VARIABLE pe
                ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${OBJDUMP} -p ${SYS} failed: ${err}")
endif()

set(failures "")
macro(expect regex what)
  if(NOT pe MATCHES "${regex}")
    string(APPEND failures "  missing: ${what}\n")
  endif()
endmacro()
macro(reject regex what)
  if(pe MATCHES "${regex}")
    string(APPEND failures "  unexpected: ${what} (${CMAKE_MATCH_0})\n")
  endif()
endmacro()

if(ARCH STREQUAL "x86")
  set(kind "PE32")
  expect("file format pei-i386" "PE image for i386")
  expect("Magic[ \t]+010b" "PE32 optional header (Magic 010b)")
  # x86 code is not position independent: the loader needs base relocations
  expect("Entry 5 [0-9a-f]+ [0-9a-f]*[1-9a-f][0-9a-f]* Base Relocation Directory"
         "a base relocation directory")
else()
  set(kind "PE32+")
  expect("file format pei-x86-64" "PE image for x86-64")
  expect("Magic[ \t]+020b" "PE32+ optional header (Magic 020b)")
endif()
expect("Subsystem[ \t]+00000001" "subsystem 1 (native)")
expect("AddressOfEntryPoint[ \t]+0*[1-9a-f][0-9a-f]*" "an entry point")
expect("CheckSum[ \t]+0*[1-9a-f][0-9a-f]*" "a nonzero image checksum")

# Import DLL names: objdump prints "DLL Name: X"; compare case-insensitively.
string(TOLOWER "${pe}" lpe)
foreach(dll videoprt.sys ntoskrnl.exe hal.dll)
  string(REPLACE "." "\\." re "${dll}")
  if(NOT lpe MATCHES "dll name: ${re}")
    string(APPEND failures "  missing: import of ${dll}\n")
  endif()
endforeach()
foreach(fn VideoPortInitialize VideoPortGetDeviceBase VideoPortGetDmaAdapter VideoPortPutDmaAdapter
           VideoPortLockBuffer VideoPortUnlockBuffer VideoPortStartDma VideoPortCompleteDma
           VideoPortAllocateCommonBuffer VideoPortReleaseCommonBuffer VideoPortQueueDpc
           VideoPortReadRegisterUlong VideoPortWriteRegisterUlong VideoPortMapMemory
           VideoPortQueryPerformanceCounter)
  expect("[ \t]${fn}\n" "videoprt import ${fn}")
endforeach()
reject("VideoPortUnLockBuffer" "the mingw spelling VideoPortUnLockBuffer (not exported)")
# The bug-check locator: MmGetPhysicalAddress imported; the callback
# registration looked up at run time (absent on XP RTM), never imported.
expect("[ \t]MmGetPhysicalAddress\n" "ntoskrnl import MmGetPhysicalAddress")
reject("[ \t]VideoPortRegisterBugcheckCallback\n"
       "an import of VideoPortRegisterBugcheckCallback (XP SP1+: look it up)")
foreach(bad "msvcr[t0-9]*[a-z0-9]*\\.dll" "ucrtbase" "api-ms-[a-z0-9-]*" "kernel32" "user32"
            "advapi32" "ntdll\\.dll" "libgcc" "libwinpthread")
  if(lpe MATCHES "dll name: ${bad}")
    string(APPEND failures "  unexpected import: ${CMAKE_MATCH_0}\n")
  endif()
endforeach()
# Every DLL imported must be one of the three.
string(REGEX MATCHALL "dll name: [^\n]*" dlls "${lpe}")
foreach(d ${dlls})
  if(NOT d MATCHES "^dll name: (videoprt\\.sys|ntoskrnl\\.exe|hal\\.dll)$")
    string(APPEND failures "  unexpected import DLL: ${d}\n")
  endif()
endforeach()

# No x87 or MMX code anywhere (the kernel does not save that state for a
# driver), and on x86 no SSE either (x64 kernels save it for the compiler).
execute_process(COMMAND ${OBJDUMP} -d --no-show-raw-insn ${SYS} RESULT_VARIABLE rc
                OUTPUT_VARIABLE asm ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${OBJDUMP} -d ${SYS} failed: ${err}")
endif()
set(fpu_re ":\t(f[a-z0-9]+|emms)[ \n]|%mm[0-7]|%st[,()\n]")
if(ARCH STREQUAL "x86")
  string(APPEND fpu_re "|%xmm")
endif()
if(asm MATCHES "[^\n]*(${fpu_re})[^\n]*")
  string(APPEND failures "  floating-point/vector instruction in a driver: ${CMAKE_MATCH_0}\n")
endif()

if(failures)
  message(FATAL_ERROR "${SYS}:\n${failures}")
endif()
list(REMOVE_DUPLICATES dlls) # x86: dlltool's alias entry makes a second videoprt.sys descriptor
list(LENGTH dlls ndlls)
message(STATUS "${SYS}: ${kind}, native subsystem, ${ndlls} import DLLs (videoprt.sys, ntoskrnl.exe, hal.dll), no C runtime")
