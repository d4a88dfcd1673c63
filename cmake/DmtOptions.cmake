# dmt_options: the one INTERFACE target that carries the project's warning,
# language and sanitizer flags.  Every target links it.
add_library(dmt_options INTERFACE)
target_compile_options(dmt_options INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes
  -Wformat=2 -Wvla -Wnull-dereference -Wno-unused-parameter
  $<$<BOOL:${DMT_WERROR}>:-Werror>)
target_compile_definitions(dmt_options INTERFACE _GNU_SOURCE)
if(DMT_SANITIZE)
  target_compile_options(dmt_options INTERFACE -fsanitize=${DMT_SANITIZE}
    -fno-omit-frame-pointer -fno-sanitize-recover=all)
  target_link_options(dmt_options INTERFACE -fsanitize=${DMT_SANITIZE})
endif()

# dmt_add_test(NAME name SOURCES ... LIBS ... [LABELS ...])
# One test program per module, linked with the test kit (tests/lib,
# dmt/testkit.h); registered with ctest.
function(dmt_add_test)
  cmake_parse_arguments(T "" "NAME;TIMEOUT" "SOURCES;LIBS;LABELS;ARGS" ${ARGN})
  add_executable(${T_NAME} ${T_SOURCES})
  target_link_libraries(${T_NAME} PRIVATE dmt_options dmt_testkit ${T_LIBS})
  set_target_properties(${T_NAME} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  add_test(NAME ${T_NAME} COMMAND ${T_NAME} ${T_ARGS})
  if(NOT T_LABELS)
    set(T_LABELS unit)
  endif()
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 600)
  endif()
  set_tests_properties(${T_NAME} PROPERTIES LABELS "${T_LABELS}" TIMEOUT ${T_TIMEOUT}
    SKIP_RETURN_CODE 77)
endfunction()
