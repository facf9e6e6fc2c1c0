# Cross-build agebench's userspace for arm64 with clang (--target
# aarch64-linux-gnu; GNU binutils, the C library and libstdc++ from Debian's
# aarch64-linux-gnu cross packages, as GCC's cross build uses them):
#   cmake -S . -B build-arm64-clang -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-arm64-clang.cmake
set(CMAKE_C_COMPILER clang)
set(CMAKE_CXX_COMPILER clang++)
set(CMAKE_C_COMPILER_TARGET aarch64-linux-gnu)
set(CMAKE_CXX_COMPILER_TARGET aarch64-linux-gnu)
set(CMAKE_OBJCOPY aarch64-linux-gnu-objcopy CACHE FILEPATH "objcopy for arm64 objects")
include(${CMAKE_CURRENT_LIST_DIR}/arm64-common.cmake)
