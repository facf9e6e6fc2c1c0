# cmake/schema.cmake - the mode list for CMake, read from common/ab_modes.def
# (the one table; C includes it, shell and gnuplot ask `agebench list`).
#
# ab_schema_modes(<out-var> <where>): names of the modes whose `where` column
# contains <where> (MODEL, KERNEL, KVM_ONLY or FLOOR), in table order.
function(ab_schema_modes out where)
  file(STRINGS ${CMAKE_SOURCE_DIR}/common/ab_modes.def lines REGEX "^AB_MODE\\(")
  set(names "")
  foreach(line IN LISTS lines)
    if(line MATCHES "^AB_MODE\\([A-Z0-9_]+, \"([a-z0-9_]+)\", [A-Z]+, [A-Z]+, [A-Z]+, ([A-Z_| ]+),")
      set(name ${CMAKE_MATCH_1})
      string(REPLACE " " "" w "${CMAKE_MATCH_2}")
      string(REPLACE "|" ";" w "${w}")
      if(where IN_LIST w)
        list(APPEND names ${name})
      endif()
    else()
      message(FATAL_ERROR "common/ab_modes.def: cannot parse: ${line}")
    endif()
  endforeach()
  set(${out} ${names} PARENT_SCOPE)
endfunction()
