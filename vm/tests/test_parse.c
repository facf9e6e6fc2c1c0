// SPDX-License-Identifier: GPL-2.0
/* parse: the strict age_bench answer parser (ab_vm_hook_parse) on valid and
 * declined answers (v1 and v2 with batch/calls/declines) and malformed or
 * inconsistent ones; ab_vm_hook_expect{,_batch} reject answers to another
 * question. */
#include "vm_test.h"

#include <string.h>

/* The age_bench result parser against the text format of docs/kernel-interface.md. */
int test_parse(int argc, char **argv)
{
	uint64_t bm[4];
	struct ab_vm_hook_result r = {.bitmap = bm, .words = 4};
	char err[256];
	static const char *const bad[] = {
	    "mode=locked op=test start=1 pages=64 young=0 declined=0 ns=1 lock_wait_ns=0\n",
	    "mode=locked op=test start=1 pages=70 young=0 declined=0 ns=1 "
	    "lock_wait_ns=0\nbitmap=0000000000000000\n",
	    "mode=locked op=test start=1 pages=64 young=0 declined=0 ns=1 "
	    "lock_wait_ns=0\nbitmap=00000000000000 00\n",
	    "mode=locked op=test start=1 pages=60 young=1 declined=0 ns=1 "
	    "lock_wait_ns=0\nbitmap=1000000000000000\n",
	    "mode=locked op=test start=1 pages=64 young=0 declined=0 ns=1 "
	    "lock_wait_ns=0\nbitmap=0000000000000000 "
	    "0000000000000000\n",
	    "mode=locked op=test start=1 pages=64 young=0 declined=2 ns=1 "
	    "lock_wait_ns=0\nbitmap=0000000000000000\n",
	    "mode=locked op=test start=1 pages=300 young=0 declined=0 ns=1 "
	    "lock_wait_ns=0\nbitmap=\n",
	    "EINVAL\n",
	    "",
	    /* consistency */
	    "mode=locked op=test start=1 pages=64 young=2 declined=0 ns=1 lock_wait_ns=0\n"
	    "bitmap=0000000000000001\n",
	    "mode=fast_only op=test start=1 pages=64 young=1 declined=1 ns=1 lock_wait_ns=0\n"
	    "bitmap=0000000000000001\n",
	    "mode=locked op=test start=1 pages=4 young=5 declined=0 ns=1 lock_wait_ns=0\n"
	    "bitmap=000000000000000f\n",
	    "mode=sloppy op=test start=1 pages=64 young=0 declined=0 ns=1 lock_wait_ns=0\n"
	    "bitmap=0000000000000000\n",
	    "mode=locked op=peek start=1 pages=64 young=0 declined=0 ns=1 lock_wait_ns=0\n"
	    "bitmap=0000000000000000\n",
	    /* v2 fields: all three, consistent with each other and with declined */
	    "mode=locked op=test start=1 pages=64 young=0 declined=0 ns=1 lock_wait_ns=0 "
	    "batch=1\nbitmap=0000000000000000\n",
	    "mode=locked op=test start=1 pages=64 young=0 declined=0 ns=1 lock_wait_ns=0 "
	    "batch=0 calls=1 declines=0\nbitmap=0000000000000000\n",
	    "mode=fast_only op=test start=1 pages=64 young=0 declined=0 ns=1 lock_wait_ns=0 "
	    "batch=1 calls=64 declines=3\nbitmap=0000000000000000\n",
	    "mode=fast_only op=test start=1 pages=64 young=0 declined=1 ns=1 lock_wait_ns=0 "
	    "batch=64 calls=1 declines=0\nbitmap=0000000000000000\n",
	    "mode=fast_only op=test start=1 pages=64 young=0 declined=1 ns=1 lock_wait_ns=0 "
	    "batch=64 calls=1 declines=2\nbitmap=0000000000000000\n",
	};

	CHECK(ab_vm_hook_parse(
		  "mode=read_locked op=test start=1048576 pages=70 young=3 declined=0 ns=1234 "
		  "lock_wait_ns=56\nbitmap=0000000000000005 0000000000000020\n",
		  &r, err, sizeof(err)) == 0,
	      "valid result rejected: %s", err);
	CHECK(!strcmp(r.mode, "read_locked") && !strcmp(r.op, "test") && r.start == 1048576 &&
		  r.pages == 70 && r.young == 3 && !r.declined && r.ns == 1234 &&
		  r.lock_wait_ns == 56,
	      "fields parsed wrong: mode=%s op=%s start=%" PRIu64 " pages=%" PRIu64, r.mode, r.op,
	      r.start, r.pages);
	CHECK(bm[0] == 5 && bm[1] == 0x20 && ab_vm_popcount(bm, 70) == 3 && ab_vm_bit(bm, 69),
	      "bitmap parsed wrong: %" PRIx64 " %" PRIx64, bm[0], bm[1]);
	CHECK(
	    ab_vm_hook_parse(
		"mode=fast_only op=clear start=7 pages=64 young=0 declined=1 ns=9 lock_wait_ns=0\n"
		"bitmap=0000000000000000\n",
		&r, err, sizeof(err)) == 0 &&
		r.declined == 1 && !strcmp(r.op, "clear"),
	    "declined result: %s", err);
	CHECK(ab_vm_hook_expect(&r, "fast_only", 7, 64, true, err, sizeof(err)) == 0, "expect: %s",
	      err);
	CHECK(ab_vm_hook_expect(&r, "bitmap", 7, 64, true, err, sizeof(err)) == -1, "wrong mode");
	CHECK(ab_vm_hook_expect(&r, "fast_only", 7, 64, false, err, sizeof(err)) == -1, "wrong op");
	CHECK(ab_vm_hook_expect(&r, "fast_only", 8, 64, true, err, sizeof(err)) == -1,
	      "wrong start");
	CHECK(ab_vm_hook_expect(&r, "fast_only", 7, 63, true, err, sizeof(err)) == -1,
	      "wrong pages");
	/* v2: batch, calls, declines; the batch asked for is echoed (clamped) */
	CHECK(ab_vm_hook_parse("mode=bitmap op=clear start=7 pages=70 young=1 declined=1 ns=9 "
			       "lock_wait_ns=4 batch=64 calls=2 declines=1\n"
			       "bitmap=0000000000000000 0000000000000000\n",
			       &r, err, sizeof(err)) == -1,
	      "declined with young accepted");
	CHECK(ab_vm_hook_parse("mode=bitmap op=clear start=7 pages=70 young=0 declined=1 ns=9 "
			       "lock_wait_ns=4 batch=64 calls=2 declines=1\n"
			       "bitmap=0000000000000000 0000000000000000\n",
			       &r, err, sizeof(err)) == 0 &&
		  r.has_batch && r.batch == 64 && r.calls == 2 && r.declines == 1,
	      "v2 result: %s (batch=%" PRIu64 " calls=%" PRIu64 ")", err, r.batch, r.calls);
	CHECK(ab_vm_hook_expect_batch(&r, 70, 64, err, sizeof(err)) == 0, "batch 64: %s", err);
	CHECK(ab_vm_hook_expect_batch(&r, 70, 1, err, sizeof(err)) == -1, "batch 1 accepted");
	CHECK(ab_vm_hook_expect_batch(&r, 70, 0, err, sizeof(err)) == -1,
	      "whole range (batch=70) accepted for batch=64");
	CHECK(
	    ab_vm_hook_parse("mode=locked op=test start=7 pages=8 young=0 declined=0 ns=9 "
			     "lock_wait_ns=4 batch=8 calls=8 declines=0\nbitmap=0000000000000000\n",
			     &r, err, sizeof(err)) == 0 &&
		ab_vm_hook_expect_batch(&r, 8, 64, err, sizeof(err)) == 0 &&
		ab_vm_hook_expect_batch(&r, 8, 0, err, sizeof(err)) == 0,
	    "batch 64 over 8 pages is clamped to 8: %s", err);
	CHECK(ab_vm_hook_parse("mode=locked op=test start=7 pages=8 young=0 declined=0 ns=9 "
			       "lock_wait_ns=4\nbitmap=0000000000000000\n",
			       &r, err, sizeof(err)) == 0 &&
		  !r.has_batch && ab_vm_hook_expect_batch(&r, 8, 1, err, sizeof(err)) == -1,
	      "a v1 answer cannot confirm a batch");
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		CHECK(ab_vm_hook_parse(bad[i], &r, err, sizeof(err)) == -1 && err[0],
		      "malformed result %u accepted: '%s'", i, bad[i]);
		if (err[0])
			printf("  rejected %u: %s\n", i, err);
	}
	return ab_check_failures ? 1 : 0;
}
