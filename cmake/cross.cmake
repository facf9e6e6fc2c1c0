# Cross builds of the userspace (arm64) and what tests need to run in them.
#
# ab_test_exe(<var> <target>): the command line a test *script* should use
# to run the program <target>. Natively its file; in a cross build a small
# wrapper (<build>/emu/<target>) that runs it under
# CMAKE_CROSSCOMPILING_EMULATOR (qemu-aarch64), since ctest applies the
# emulator only to a test whose COMMAND is the target itself.
function(ab_test_exe var target)
  if(CMAKE_CROSSCOMPILING AND CMAKE_CROSSCOMPILING_EMULATOR)
    list(JOIN CMAKE_CROSSCOMPILING_EMULATOR " " _emu)
    set(_w ${CMAKE_BINARY_DIR}/emu/${target})
    file(GENERATE OUTPUT ${_w}
      CONTENT "#!/bin/sh\nexec ${_emu} $<TARGET_FILE:${target}> \"$@\"\n"
      FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE
                       WORLD_READ WORLD_EXECUTE)
    set(${var} ${_w} PARENT_SCOPE)
  else()
    set(${var} $<TARGET_FILE:${target}> PARENT_SCOPE)
  endif()
endfunction()

# ctest cross.arm64.gcc / cross.arm64.clang (label "cross"): configure and
# build the whole userspace for arm64 in a nested tree with
# cmake/toolchain-arm64-<compiler>.cmake, then run its unit and model tests
# under qemu-aarch64 user emulation (cmake/cross-test.sh; SKIP with the
# reason where the cross toolchain, the arm64 packages or qemu-user are
# missing: scripts/install-deps.sh --kernel installs them). Only in a native
# x86-64 tree.
if(NOT CMAKE_CROSSCOMPILING AND NOT AGEBENCH_SANITIZE)
  foreach(_cc gcc clang)
    add_test(NAME cross.arm64.${_cc}
      COMMAND ${CMAKE_CURRENT_LIST_DIR}/cross-test.sh ${_cc} ${CMAKE_SOURCE_DIR}
              ${CMAKE_BINARY_DIR}/cross-arm64-${_cc})
    set_tests_properties(cross.arm64.${_cc} PROPERTIES LABELS "cross" SKIP_RETURN_CODE 77
      TIMEOUT 1800)
  endforeach()
endif()
