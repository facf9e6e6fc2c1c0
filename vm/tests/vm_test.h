/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vm_test.h - what libabvm's tests share (vm/tests/, one file per test,
 * dispatched by abvm-test's main.c).
 *
 * A test is `int test_<name>(int argc, char **argv)` returning 0 pass or 1
 * fail; it counts failures with CHECK() (common/ab_check.h) and ends with
 * `return ab_check_failures ? 1 : 0`. A test that cannot run here says which
 * requirement is unmet with TEST_REQUIRE(cond, fmt, ...): it prints
 * "SKIP: <requirement>" and exits 77, or exits 1 if a check already failed
 * (a skip never hides a failure). The helpers below fail through CHECK in
 * their own file; main.c folds those failures into the verdict.
 */
#ifndef AB_VM_TEST_H
#define AB_VM_TEST_H

#include "ab_vm.h"
#include "ab_vm_age.h"
#include "ab_vm_guest.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "ab_check.h"
#include "ab_common.h"

#define VT_SEC 1000000000ull

/* Skip naming the unmet requirement (never over an earlier failure). */
#define TEST_REQUIRE(cond, ...)                                                                    \
	do {                                                                                       \
		if (!(cond))                                                                       \
			vt_skip(ab_check_failures, __VA_ARGS__);                                   \
	} while (0)
_Noreturn void vt_skip(int local_failures, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int vt_helper_failures(void); /* CHECK failures inside the helpers below */

/* ---- VMs ---- */
/* ab_vm_create, or SKIP naming why (no KVM, THP off, ...), or FAIL. */
struct abvm *vt_create(struct ab_vm_config *cfg);
/* ab_vm_wait (60 s), or FAIL and exit. */
void vt_wait_ok(struct abvm *vm);
/* KVM dirty log == @want (and clears it). */
void vt_expect_dirty(struct abvm *vm, const uint64_t *want, const char *what);
/* Memory contents: page p holds AB_VM_WRITE_MARK(p) iff set in @written. */
void vt_expect_marks(struct abvm *vm, const uint64_t *written, const char *what);
/* Poll the VM's total stats every @step_ms until passes >= @passes or
 * @timeout_s passed; returns whether the condition held (the caller CHECKs). */
bool vt_wait_passes(struct abvm *vm, uint64_t passes, unsigned step_ms, unsigned timeout_s,
		    struct ab_vm_vcpu_stats *st);

/* ---- bitmaps and randomness ---- */
uint64_t vt_rnd(void);
uint64_t *vt_bm_alloc(uint64_t nbits); /* zeroed; dies when out of memory */
void vt_bm_clear(uint64_t *bm, uint64_t nbits);
/* Clear @bm, then set each of the @n bits with probability 1/@one_in. */
void vt_bm_random(uint64_t *bm, uint64_t n, unsigned one_in);
/* Number of bits that differ; the first one in *@first (UINT64_MAX if none). */
uint64_t vt_bm_diff(const uint64_t *a, const uint64_t *b, uint64_t n, uint64_t *first);

/* ---- child processes ---- */
/* Run @argv with @env (NAME=VALUE or NULL), as uid 65534 if @as_nobody;
 * stdout+stderr into @out. Returns the exit code (128+sig if killed). */
int vt_run_capture(char *const argv[], const char *env, bool as_nobody, char *out, size_t outlen);
/* vt_run_capture, then CHECK exit == @want_rc and output contains @want_msg. */
void vt_expect_run(const char *name, char *const argv[], const char *env, bool nobody, int want_rc,
		   const char *want_msg);
/* Start @argv with stdout piped (killed by the cleanup registry if this
 * process dies first); read lines until one starts with @prefix (the
 * child's handshake). The pid, or -1 if it exited first; *@outp: its stdout. */
pid_t vt_spawn_until(char *const argv[], const char *prefix, char *line, size_t len, FILE **outp);
/* waitpid, exit code or 128+sig; forgets the child's cleanup entry. */
int vt_wait_exit(pid_t pid);

/* ---- the tests (one file each) ---- */
int test_touch(int argc, char **argv);
int test_orders(int argc, char **argv);
int test_latency(int argc, char **argv);
int test_slots(int argc, char **argv);
int test_parse(int argc, char **argv);
int test_crash(int argc, char **argv);
int test_errors(int argc, char **argv);
int test_teardown(int argc, char **argv);
int test_checkskip(int argc, char **argv);
int test_modes(int argc, char **argv);
int test_af(int argc, char **argv);
int test_nested_errors(int argc, char **argv);
int test_nested(int argc, char **argv);

#endif
