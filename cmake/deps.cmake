# Every library agebench uses, all from Debian packages (installed by
# scripts/install-deps.sh) except libperf, which that script builds from
# tools/lib/perf of linux-source-6.12 into /opt/agebench/libperf.
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
set(AGEBENCH_LIBPERF_PREFIX "/opt/agebench/libperf" CACHE PATH "Where install-deps.sh put libperf")
set(ENV{PKG_CONFIG_PATH} "${AGEBENCH_LIBPERF_PREFIX}/lib64/pkgconfig:${AGEBENCH_LIBPERF_PREFIX}/lib/pkgconfig:$ENV{PKG_CONFIG_PATH}")

pkg_check_modules(HWLOC REQUIRED IMPORTED_TARGET hwloc)
pkg_check_modules(URCU REQUIRED IMPORTED_TARGET liburcu)
pkg_check_modules(JANSSON REQUIRED IMPORTED_TARGET jansson)
pkg_check_modules(GSL REQUIRED IMPORTED_TARGET gsl)
pkg_check_modules(LIBPERF IMPORTED_TARGET libperf)
if(NOT LIBPERF_FOUND)
  message(FATAL_ERROR "libperf not found under ${AGEBENCH_LIBPERF_PREFIX}: run scripts/install-deps.sh (it builds libperf from linux-source-6.12)")
endif()
find_package(benchmark 1.7 REQUIRED)
