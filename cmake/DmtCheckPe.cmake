# DmtCheckPe.cmake - the start every PE-image check script shares
# (miniport-instrumented/windows/check_sys.cmake,
# recorder/windows/check_exe.cmake), included by them in script mode (-P):
#   - checks that -DBUILD_DIR, -DTARGET, -DIMAGE, -DOBJDUMP and -DARCH were
#     given (PE_SCRIPT names the including script in the message);
#   - builds TARGET in BUILD_DIR and checks that it produced IMAGE;
#   - reads `OBJDUMP -p IMAGE` into `pe`, its lower-case copy into `lpe`, and
#     the imported DLLs ("dll name: x.dll", lower case) into the list `dlls`;
#   - starts the list of problems `failures` (one "  ...\n" line each), with
#     pe_expect(REGEX WHAT) / pe_reject(REGEX WHAT) to add to it, and
#     pe_finish() to fail the test with them (after the script's own checks).
foreach(v BUILD_DIR TARGET IMAGE OBJDUMP ARCH)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "${PE_SCRIPT}: -D${v}= missing")
  endif()
endforeach()

execute_process(COMMAND ${CMAKE_COMMAND} --build ${BUILD_DIR} --target ${TARGET}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(NOT rc EQUAL 0 OR NOT EXISTS ${IMAGE})
  message(FATAL_ERROR "building ${TARGET} failed (or produced no ${IMAGE}):\n${out}")
endif()

execute_process(COMMAND ${OBJDUMP} -p ${IMAGE} RESULT_VARIABLE rc OUTPUT_VARIABLE pe
                ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${OBJDUMP} -p ${IMAGE} failed: ${err}")
endif()
string(TOLOWER "${pe}" lpe)
string(REGEX MATCHALL "dll name: [^\n]*" dlls "${lpe}")

set(failures "")
macro(pe_expect regex what)
  if(NOT pe MATCHES "${regex}")
    string(APPEND failures "  missing: ${what}\n")
  endif()
endmacro()
macro(pe_reject regex what)
  if(pe MATCHES "${regex}")
    string(APPEND failures "  unexpected: ${what} (${CMAKE_MATCH_0})\n")
  endif()
endmacro()
macro(pe_finish)
  if(failures)
    message(FATAL_ERROR "${IMAGE}:\n${failures}")
  endif()
endmacro()
