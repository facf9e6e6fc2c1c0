#!/bin/sh
# test_model_sanitize.sh SAN SRC BUILD SUPP - configure and build the model
# stress test with -fsanitize=SAN in a nested build tree, then run it.
set -eu
san=$1 src=$2 build=$3 supp=$4
secs=${AB_SANITIZE_SECONDS:-1.5}
nice cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	-DAGEBENCH_SANITIZE="$san" -DAGEBENCH_MODEL_SLOW_WALKER=OFF >"$build.cmake.log" 2>&1 ||
	{ cat "$build.cmake.log"; exit 1; }
nice cmake --build "$build" -j2 --target test_model_stress test_model_walkers test_model_lock >"$build.build.log" 2>&1 ||
	{ tail -50 "$build.build.log"; exit 1; }
bin=$build/microbench/model
case $san in
address)
	export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1
	;;
thread)
	export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$supp"
	;;
esac
"$bin/test_model_walkers"
"$bin/test_model_lock"
"$bin/test_model_stress" "$secs"
