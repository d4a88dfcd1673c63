# check_sys.cmake - ctest script (label "windows"): builds dmtmini.sys and
# inspects it with <triplet>-objdump -p.
#   cmake -DBUILD_DIR=<main build> -DTARGET=dmtmini_sys[_x86] -DIMAGE=<path>
#         -DOBJDUMP=<objdump> -DARCH=x64|x86 -P check_sys.cmake
# Checks: PE32+ (Magic 020b, x64) or PE32 (Magic 010b, x86), subsystem 1
# (native), entry point set, no x87/MMX (x86: no SSE) instructions, imports
# from videoprt.sys (the DMA sequence, and VideoPortUnlockBuffer under its
# export name), ntoskrnl.exe (MmGetPhysicalAddress for the bug-check
# locator) and hal.dll, no import of VideoPortRegisterBugcheckCallback (looked
# up, so the driver loads on XP RTM), and nothing from a C runtime or Win32
# (msvcrt*, ucrtbase, api-ms-*, kernel32, ...).
set(PE_SCRIPT check_sys.cmake)
include(${CMAKE_CURRENT_LIST_DIR}/../../cmake/DmtCheckPe.cmake)

if(ARCH STREQUAL "x86")
  set(kind "PE32")
  pe_expect("file format pei-i386" "PE image for i386")
  pe_expect("Magic[ \t]+010b" "PE32 optional header (Magic 010b)")
  # x86 code is not position independent: the loader needs base relocations
  pe_expect("Entry 5 [0-9a-f]+ [0-9a-f]*[1-9a-f][0-9a-f]* Base Relocation Directory"
            "a base relocation directory")
else()
  set(kind "PE32+")
  pe_expect("file format pei-x86-64" "PE image for x86-64")
  pe_expect("Magic[ \t]+020b" "PE32+ optional header (Magic 020b)")
endif()
pe_expect("Subsystem[ \t]+00000001" "subsystem 1 (native)")
pe_expect("AddressOfEntryPoint[ \t]+0*[1-9a-f][0-9a-f]*" "an entry point")
pe_expect("CheckSum[ \t]+0*[1-9a-f][0-9a-f]*" "a nonzero image checksum")

# Import DLL names: objdump prints "DLL Name: X"; compare case-insensitively.
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
  pe_expect("[ \t]${fn}\n" "videoprt import ${fn}")
endforeach()
pe_reject("VideoPortUnLockBuffer" "the mingw spelling VideoPortUnLockBuffer (not exported)")
# The bug-check locator: MmGetPhysicalAddress imported; the callback
# registration looked up at run time (absent on XP RTM), never imported.
pe_expect("[ \t]MmGetPhysicalAddress\n" "ntoskrnl import MmGetPhysicalAddress")
pe_reject("[ \t]VideoPortRegisterBugcheckCallback\n"
          "an import of VideoPortRegisterBugcheckCallback (XP SP1+: look it up)")
foreach(bad "msvcr[t0-9]*[a-z0-9]*\\.dll" "ucrtbase" "api-ms-[a-z0-9-]*" "kernel32" "user32"
            "advapi32" "ntdll\\.dll" "libgcc" "libwinpthread")
  if(lpe MATCHES "dll name: ${bad}")
    string(APPEND failures "  unexpected import: ${CMAKE_MATCH_0}\n")
  endif()
endforeach()
# Every DLL imported must be one of the three.
foreach(d ${dlls})
  if(NOT d MATCHES "^dll name: (videoprt\\.sys|ntoskrnl\\.exe|hal\\.dll)$")
    string(APPEND failures "  unexpected import DLL: ${d}\n")
  endif()
endforeach()

# No x87 or MMX code anywhere (the kernel does not save that state for a
# driver), and on x86 no SSE either (x64 kernels save it for the compiler).
execute_process(COMMAND ${OBJDUMP} -d --no-show-raw-insn ${IMAGE} RESULT_VARIABLE rc
                OUTPUT_VARIABLE asm ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${OBJDUMP} -d ${IMAGE} failed: ${err}")
endif()
set(fpu_re ":\t(f[a-z0-9]+|emms)[ \n]|%mm[0-7]|%st[,()\n]")
if(ARCH STREQUAL "x86")
  string(APPEND fpu_re "|%xmm")
endif()
if(asm MATCHES "[^\n]*(${fpu_re})[^\n]*")
  string(APPEND failures "  floating-point/vector instruction in a driver: ${CMAKE_MATCH_0}\n")
endif()

pe_finish()
list(REMOVE_DUPLICATES dlls) # x86: dlltool's alias entry makes a second videoprt.sys descriptor
list(LENGTH dlls ndlls)
message(STATUS "${IMAGE}: ${kind}, native subsystem, ${ndlls} import DLLs (videoprt.sys, ntoskrnl.exe, hal.dll), no C runtime")
