# check_exe.cmake - ctest script (label "windows"): builds dmatrace.exe for
# one architecture and inspects it with mingw-w64's objdump -p.
#   cmake -DBUILD_DIR=<main build> -DTARGET=dmatrace_exe_<arch> -DIMAGE=<path>
#         -DOBJDUMP=<objdump> -DARCH=x64|x86 -P check_exe.cmake
# Checks: x64 is pei-x86-64 with a PE32+ header (Magic 020b), x86 is
# pei-i386 with a PE32 header (Magic 010b); subsystem 3 (console); the only
# DLLs imported are system ones (the mingw-w64 runtime and libgcc are linked
# in statically: no libwinpthread, libgcc_s, ucrtbase or api-ms-* imports);
# the Win32 calls the platform layer and the escape rely on are imported.
set(PE_SCRIPT check_exe.cmake)
include(${CMAKE_CURRENT_LIST_DIR}/../../cmake/DmtCheckPe.cmake)

if(ARCH STREQUAL "x64")
  set(want "file format pei-x86-64" "Magic[ \t]+020b")
else()
  set(want "file format pei-i386" "Magic[ \t]+010b")
endif()
list(APPEND want "Subsystem[ \t]+00000003" "AddressOfEntryPoint[ \t]+0*[1-9a-f]"
     "[ \t]CreateFileMappingA\n" "[ \t]MapViewOfFile\n" "[ \t]MoveFileExA\n"
     "[ \t]QueryPerformanceCounter\n" "[ \t]ExtEscape\n" "[ \t]CreateDCA\n")
foreach(re ${want})
  pe_expect("${re}" "${re}")
endforeach()
foreach(d ${dlls})
  if(NOT d MATCHES "^dll name: (kernel32|msvcrt|gdi32|advapi32|winmm)\\.dll$")
    string(APPEND failures "  import of a DLL that is not a system one: ${d}\n")
  endif()
endforeach()
pe_finish()
list(LENGTH dlls n)
message(STATUS "${IMAGE}: ${ARCH} console program, ${n} system DLLs imported, runtime linked statically")
