# Shared part of the arm64 toolchain files (toolchain-arm64-gcc.cmake,
# toolchain-arm64-clang.cmake): Debian's multiarch arm64 -dev packages
# (dpkg --add-architecture arm64) under /usr/lib/aarch64-linux-gnu, plus
# what multiarch cannot install, built or unpacked by cmake/arm64-deps.sh
# under AGEBENCH_ARM64_PREFIX (libperf from tools/lib/perf, libgsl-dev,
# which is not Multi-Arch: same). Test programs run under qemu-aarch64
# (Debian's qemu-user) as CMAKE_CROSSCOMPILING_EMULATOR. See docs/arm64.md.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)

set(AGEBENCH_ARM64_PREFIX "/opt/agebench/arm64" CACHE PATH "arm64 libraries cmake/arm64-deps.sh built or unpacked")
set(AGEBENCH_LIBPERF_PREFIX "${AGEBENCH_ARM64_PREFIX}/libperf" CACHE PATH "libperf built for arm64")
# pkg-config sees only arm64 .pc files (never the host's).
set(ENV{PKG_CONFIG_LIBDIR}
    "${AGEBENCH_ARM64_PREFIX}/gsl/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_SYSROOT_DIR} "")

# Find libraries, headers and CMake packages for the target only; programs
# (pkg-config, objcopy, shells) are the host's.
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)

find_program(AGEBENCH_QEMU_AARCH64 NAMES qemu-aarch64 qemu-aarch64-static)
if(AGEBENCH_QEMU_AARCH64)
  # The arm64 dynamic loader and libraries are installed at their multiarch
  # paths (libc6:arm64), so no -L sysroot is needed.
  set(CMAKE_CROSSCOMPILING_EMULATOR "${AGEBENCH_QEMU_AARCH64}")
endif()
