// SPDX-License-Identifier: GPL-2.0
/*
 * test_hook_parse - the hook driver reads the patched kernel's age_bench
 * answers (docs/kernel-interface.md) correctly and rejects answers that do
 * not match the request. No kernel needed: answers are given as text.
 */
#include <stdio.h>
#include <string.h>

#include "abk.h"

static int fails, n;

static void check(const char *what, int cond)
{
	n++;
	if (!cond) {
		printf("FAIL %s\n", what);
		fails++;
	} else {
		printf("ok   %s\n", what);
	}
}

int main(void)
{
	struct abk_age_res r;
	uint64_t bits[4];

	/* 130 pages from gfn 0x100000, pages 0, 1, 64 and 129 young */
	const char *ok = "mode=read_locked op=clear start=1048576 pages=130 young=4 declined=0 "
			 "ns=12345 lock_wait_ns=67\n"
			 "bitmap=0000000000000003 0000000000000001 0000000000000002\n";
	memset(&r, 0, sizeof(r));
	memset(bits, 0, sizeof(bits));
	check("valid answer parses", abk_hook_parse(ok, 1048576, 130, true, 0, &r, bits) == 0);
	check("pages/young/ns", r.pages == 130 && r.young == 4 && r.ns == 12345 && !r.declined);
	check("bitmap bits 0,1,64,129", bits[0] == 3 && bits[1] == 1 && bits[2] == 2);

	memset(bits, 0, sizeof(bits));
	memset(&r, 0, sizeof(r));
	check("offset @first shifts bits",
	      abk_hook_parse(ok, 1048576, 130, true, 64, &r, bits) == 0 && bits[1] == 3 &&
		      bits[2] == 1 && bits[3] == 2 && bits[0] == 0);

	memset(&r, 0, sizeof(r));
	check("op mismatch rejected", abk_hook_parse(ok, 1048576, 130, false, 0, &r, NULL) < 0);
	check("start mismatch rejected", abk_hook_parse(ok, 1048577, 130, true, 0, &r, NULL) < 0);
	check("pages mismatch rejected", abk_hook_parse(ok, 1048576, 128, true, 0, &r, NULL) < 0);

	const char *bad_count = "mode=locked op=test start=0 pages=64 young=2 declined=0 ns=5 "
				"lock_wait_ns=0\nbitmap=0000000000000001\n";
	check("bitmap/young disagreement rejected",
	      abk_hook_parse(bad_count, 0, 64, false, 0, &r, bits) < 0);

	const char *declined = "mode=fast_only op=test start=0 pages=64 young=0 declined=1 ns=5 "
			       "lock_wait_ns=0\nbitmap=0000000000000000\n";
	memset(&r, 0, sizeof(r));
	check("declined answer parses",
	      abk_hook_parse(declined, 0, 64, false, 0, &r, bits) == 0 && r.declined);
	const char *declined_young = "mode=bitmap op=test start=0 pages=64 young=1 declined=1 "
				     "ns=5 lock_wait_ns=0\nbitmap=0000000000000001\n";
	check("declined with young pages rejected",
	      abk_hook_parse(declined_young, 0, 64, false, 0, &r, bits) < 0);
	check("garbage rejected", abk_hook_parse("-EINVAL\n", 0, 64, false, 0, &r, NULL) < 0);
	check("short bitmap rejected",
	      abk_hook_parse("mode=locked op=test start=0 pages=130 young=0 declined=0 ns=1 "
			     "lock_wait_ns=0\nbitmap=0000000000000000\n",
			     0, 130, false, 0, &r, bits) < 0);
	printf("%d/%d checks passed\n", n - fails, n);
	return fails ? 1 : 0;
}
