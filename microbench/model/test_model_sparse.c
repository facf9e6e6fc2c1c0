// SPDX-License-Identifier: GPL-2.0
/*
 * test_model_sparse - a model of 1 TiB of 4 KiB guest memory (2^28 pages)
 * costs little memory while untouched, and a small touched subset of it is
 * aged exactly by every walker, over the whole range and in batches.
 * Also: open-loop vCPU faults arrive on their schedule, not after the
 * previous fault (bounds that hold by construction, not timing claims).
 */
#include "abmodel.h"
#include "ab_check.h"

#include <ab_common.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint64_t rss_bytes(void)
{
	unsigned long size = 0, res = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f) {
		if (fscanf(f, "%lu %lu", &size, &res) != 2)
			res = 0;
		fclose(f);
	}
	return (uint64_t)res * (uint64_t)sysconf(_SC_PAGESIZE);
}

#define TIB_PAGES (1ull << 28)
#define NTOUCH	  1000

static uint64_t touched(int i)
{
	return (uint64_t)i * (TIB_PAGES / NTOUCH) + (uint64_t)(i * 7 % 512);
}

static void tib(void)
{
	struct ab_model_params p = {
	    .pgsize = AB_PG_4K, .npages = TIB_PAGES, .base_gfn = 1ull << 20};
	uint64_t r0 = rss_bytes();
	struct ab_model *m = ab_model_create(&p);

	CHECK(m != NULL, "1 TiB model not created");
	if (!m)
		return;
	uint64_t r1 = rss_bytes();
	CHECK(r1 - r0 < (16ull << 20), "untouched 1 TiB model costs %llu KiB",
	      (unsigned long long)((r1 - r0) >> 10));
	for (int i = 0; i < NTOUCH; i++)
		ab_model_populate(m, touched(i), 1, i % 3 == 0);
	for (int w = 0; w < AB_MODE_NR; w++) {
		if (!ab_model_has_walker(w))
			continue;
		struct ab_age_res r = {0};
		for (int i = 0; i < NTOUCH; i++)
			ab_model_access(m, touched(i), false, NULL);
		/* Everything touched is young: the whole range, one call. */
		CHECK(ab_model_age(m, w, 0, TIB_PAGES, true, NULL, &r) == AB_AGE_OK, "%s age",
		      ab_mode_name(w));
		CHECK(r.young == NTOUCH, "%s: %llu young of 1 TiB, want %d", ab_mode_name(w),
		      (unsigned long long)r.young, NTOUCH);
		int left = 0;
		for (int i = 0; i < NTOUCH; i++)
			left += (ab_model_spte(m, touched(i)) & AB_SPTE_ACCESSED) != 0;
		CHECK(left == 0, "%s: %d pages still young after clear", ab_mode_name(w), left);
		/* Re-touch every other page; age 64-page batches around each
		 * touched page with a young bitmap: exactly those. */
		for (int i = 0; i < NTOUCH; i += 2)
			ab_model_access(m, touched(i), false, NULL);
		int bad = 0;
		for (int i = 0; i < NTOUCH; i++) {
			uint64_t pg = touched(i), first = pg & ~511ull, y[8];
			memset(&r, 0, sizeof(r));
			ab_model_age_batch(m, w, first, 512, 64, true, y, &r);
			uint64_t rel = pg - first;
			bool yb = (y[rel >> 6] >> (rel & 63)) & 1;
			if (r.young != (i % 2 == 0) || yb != (i % 2 == 0))
				bad++;
		}
		CHECK(bad == 0, "%s: %d touched tables answered wrongly", ab_mode_name(w), bad);
	}
	uint64_t r2 = rss_bytes();
	CHECK(r2 - r0 < (64ull << 20), "1 TiB model with %d pages touched costs %llu KiB", NTOUCH,
	      (unsigned long long)((r2 - r0) >> 10));
	printf("sparse: 1 TiB model: %llu KiB untouched, %llu KiB with %d pages touched\n",
	       (unsigned long long)((r1 - r0) >> 10), (unsigned long long)((r2 - r0) >> 10),
	       NTOUCH);
	ab_model_destroy(m);
}

/*
 * Open loop: faults arrive every period whether or not the previous one has
 * finished. With each fault's work twice the period, the k-th fault
 * completes at least 2k periods after the start but was due k periods
 * after it, so the latencies recorded (completion - scheduled arrival)
 * grow: the largest is at least (n - 1) periods. A closed loop (next fault
 * after the previous one) would record about one fault's work each.
 * And faults never come early: at most elapsed / period + 1 of them.
 */
static void open_loop(void)
{
	struct ab_model_params p = {
	    .pgsize = AB_PG_4K, .npages = 4096 + 512, .base_gfn = 1ull << 20};
	struct ab_model *m = ab_model_create(&p);
	volatile int stop = 0, phase = 1;
	struct ab_hist h[2];
	pthread_t t;

	CHECK(m != NULL, "model");
	if (!m)
		return;
	ab_model_populate(m, 0, 4096, false);
	ab_hist_init(&h[0]);
	ab_hist_init(&h[1]);
	const uint64_t period = 100000; /* 10,000 faults/s */
	struct ab_vcpu v = {.m = m,
			    .first = 0,
			    .n = 4096,
			    .fresh_first = 4096,
			    .fresh_n = 512,
			    .fault_rate = 1000000000ull / period,
			    .fault_in_pct = 50,
			    .fault_work_ns = 2 * period,
			    .seed = 42,
			    .pin_role = -1,
			    .stop = &stop,
			    .phase = &phase,
			    .hist = {&h[0], &h[1]}};
	uint64_t t0 = ab_now_ns();
	pthread_create(&t, NULL, ab_vcpu_thread, &v);
	while (__atomic_load_n(&v.faults, __ATOMIC_RELAXED) < 50 &&
	       ab_now_ns() - t0 < 5000000000ull)
		usleep(2000);
	stop = 1;
	pthread_join(t, NULL);
	uint64_t el = ab_now_ns() - t0;
	uint64_t nf = h[1].count;
	CHECK(nf >= 20, "open loop: only %llu faults", (unsigned long long)nf);
	CHECK(h[1].max >= (nf - 1) * period * 9 / 10,
	      "open loop: max latency %llu ns after %llu faults, want >= %llu (late faults queue)",
	      (unsigned long long)h[1].max, (unsigned long long)nf,
	      (unsigned long long)((nf - 1) * period * 9 / 10));
	CHECK(nf <= el / period + 2, "open loop: %llu faults in %llu ns: ahead of the schedule",
	      (unsigned long long)nf, (unsigned long long)el);
	CHECK(h[0].count == 0, "phase 1 faults went to the baseline histogram");

	/* Keeping up (no work per fault): never ahead of the schedule, and
	 * arrivals land inside and outside [first, first+n). */
	ab_model_zap(m, 0, 4096 + 512);
	memset(&v.accesses, 0, sizeof(v.accesses));
	v.fault_work_ns = 0;
	v.fault_rate = 2000;
	v.accesses = v.faults = 0;
	stop = 0;
	phase = 2;
	ab_hist_init(&h[0]);
	ab_hist_init(&h[1]);
	t0 = ab_now_ns();
	pthread_create(&t, NULL, ab_vcpu_thread, &v);
	/* at least 100 ms and 20 faults (a loaded host may starve the thread) */
	while ((ab_now_ns() - t0 < 100000000ull ||
		__atomic_load_n(&v.faults, __ATOMIC_RELAXED) < 20) &&
	       ab_now_ns() - t0 < 10000000000ull)
		usleep(2000);
	stop = 1;
	pthread_join(t, NULL);
	el = ab_now_ns() - t0;
	int in = 0, out = 0;
	for (uint64_t i = 0; i < 4096 + 512; i++)
		if (ab_model_spte(m, i) & AB_SPTE_PRESENT)
			i < 4096 ? in++ : out++;
	CHECK(h[0].count <= el / 500000 + 2 + v.accesses,
	      "keeping up: %llu faults recorded in %llu ns", (unsigned long long)h[0].count,
	      (unsigned long long)el);
	CHECK(h[1].count == 0, "phase 2 faults went to the aging histogram");
	CHECK(out > 0 && out <= (int)(el / 500000) + 2, "faults outside the range: %d", out);
	CHECK(in > 0, "no fault inside the range");
	ab_model_destroy(m);
}

int main(void)
{
	ab_model_thread_register();
	tib();
	open_loop();
	ab_model_thread_unregister();
	return ab_check_report("test_model_sparse");
}
