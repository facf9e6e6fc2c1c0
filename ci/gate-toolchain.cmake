# Writes the gate's toolchain line (ci/CMakeLists.txt): the compiler's first
# --version line and the fixed flags the gate runners are built with.
#   cmake -DCC=<compiler> -DFLAGS=<flags> -DOUT=<file> -P gate-toolchain.cmake
execute_process(COMMAND ${CC} --version OUTPUT_VARIABLE _v RESULT_VARIABLE _rc)
if(NOT _rc EQUAL 0)
  message(FATAL_ERROR "gate-toolchain: ${CC} --version failed")
endif()
string(REGEX REPLACE "\n.*" "" _v "${_v}")
file(WRITE ${OUT}.tmp "compiler: ${_v}\nflags: ${FLAGS}\n")
file(RENAME ${OUT}.tmp ${OUT})
