// SPDX-License-Identifier: GPL-2.0
/*
 * test_model_walkers - single-threaded, deterministic ab_check_total of the model's
 * walkers: exact young sets for 4K and 2M mappings over ranges that start
 * and end mid-table and cross table boundaries; test-only never clears;
 * clear clears exactly the range and never touches Dirty; the bitmap walker
 * honours the caller's mask; fast_only/bitmap decline on lock-needing ranges
 * and count it; the oracle balances.
 */
#include "abmodel.h"
#include "ab_check.h"

#include <ab_common.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NPAGES 2000
#define WORDS  ((NPAGES + 63) / 64)

static void setbit(uint64_t *b, uint64_t i)
{
	b[i >> 6] |= 1ull << (i & 63);
}

static uint64_t count_range(const uint64_t *b, uint64_t a, uint64_t e)
{
	uint64_t c = 0;
	for (uint64_t i = a; i < e; i++)
		c += ab_test_bit(b, i);
	return c;
}

/* Compare a walker's young bitmap (relative to @a) with @expect over [a, e). */
static int diff_range(const uint64_t *young, const uint64_t *expect, uint64_t a, uint64_t e,
		      uint64_t *first_bad)
{
	for (uint64_t i = a; i < e; i++) {
		if (ab_test_bit(young, i - a) != ab_test_bit(expect, i)) {
			*first_bad = i;
			return 1;
		}
	}
	return 0;
}

static enum ab_lock_kind g_lock = AB_LOCK_QUEUED;

static struct ab_model *mk(enum ab_pgsize ps, uint64_t base)
{
	struct ab_model_params p = {
	    .pgsize = ps, .npages = NPAGES, .base_gfn = base, .oracle = true, .mmu_lock = g_lock};
	struct ab_model *m = ab_model_create(&p);
	if (!m) {
		perror("ab_model_create");
		exit(1);
	}
	return m;
}

/* Populate everything, then clear all A bits with the locked walker. */
static void reset(struct ab_model *m)
{
	struct ab_age_res r = {0};
	ab_model_populate(m, 0, NPAGES, false);
	ab_model_age(m, AB_MODE_LOCKED, 0, NPAGES, true, NULL, &r);
}

static void check_oracle(struct ab_model *m, const char *ctx)
{
	for (uint64_t i = 0; i < NPAGES; i++) {
		struct ab_oracle_page o;
		ab_model_oracle(m, i, &o);
		uint64_t e = ab_model_spte(m, i);
		uint64_t a = (e & AB_SPTE_ACCESSED) ? 1 : 0, d = (e & AB_SPTE_DIRTY) ? 1 : 0;
		if (o.set_a != o.clr_a_walk + o.clr_a_zap + a || o.set_d != o.clr_d_zap + d) {
			CHECK(0,
			      "%s: oracle unbalanced at page %" PRIu64 ": set_a %" PRIu64
			      " walk %" PRIu64 " zap %" PRIu64 " A %" PRIu64 " set_d %" PRIu64
			      " zap_d %" PRIu64 " D %" PRIu64,
			      ctx, i, o.set_a, o.clr_a_walk, o.clr_a_zap, a, o.set_d, o.clr_d_zap,
			      d);
			return;
		}
	}
	ab_check_total++;
}

static void walker_exact(enum ab_pgsize ps, enum ab_mode_id w)
{
	/* 4K: page 0 sits at entry 300 of its leaf table; 2M likewise at PD
	 * entry 300, so [a, e) below starts mid-table and crosses 3 tables. */
	uint64_t base = ps == AB_PG_4K ? 0x40000 + 300 : (0x40000ull + 300) * 512;
	struct ab_model *m = mk(ps, base);
	uint64_t touched[WORDS] = {0}, young[WORDS], s = 12345 + w * 7 + ps;
	const uint64_t a = 100, e = 1700;
	char ctx[64];
	snprintf(ctx, sizeof(ctx), "%s/%s", ab_mode_name(w), ps == AB_PG_4K ? "4K" : "2M");

	reset(m);
	/* Nothing is young after the reset. */
	struct ab_age_res r = {0};
	CHECK(ab_model_age(m, w, 0, NPAGES, false, young, &r) == AB_AGE_OK, "%s: age", ctx);
	CHECK(r.young == 0 && count_range(young, 0, NPAGES) == 0, "%s: young after reset %" PRIu64,
	      ctx, r.young);

	/* Touch a pseudo-random third of the pages; every 4th touched is a write. */
	uint64_t ntouch = 0;
	for (uint64_t i = 0; i < NPAGES; i++) {
		if (ab_rng_next(&s) % 3 == 0) {
			setbit(touched, i);
			CHECK(ab_model_access(m, i, (ntouch++ & 3) == 0, NULL) == 0,
			      "%s: access to a mapped page faulted", ctx);
		}
	}

	/* test-only over [a, e): exactly the touched pages; twice (no clearing). */
	for (int pass = 0; pass < 2; pass++) {
		uint64_t bad;
		memset(&r, 0, sizeof(r));
		CHECK(ab_model_age(m, w, a, e - a, false, young, &r) == AB_AGE_OK, "%s: test", ctx);
		CHECK(!diff_range(young, touched, a, e, &bad),
		      "%s: test-only pass %d wrong at page %" PRIu64, ctx, pass, bad);
		CHECK(r.young == count_range(touched, a, e),
		      "%s: test-only young %" PRIu64 " != %" PRIu64, ctx, r.young,
		      count_range(touched, a, e));
		CHECK(r.lock_wait_ns == 0 || ab_mode_table[w].lock != AB_LOCK_NONE,
		      "%s: lockless walker reports lock wait", ctx);
	}
	for (uint64_t i = 0; i < NPAGES; i++)
		if (ab_test_bit(touched, i) && !(ab_model_spte(m, i) & AB_SPTE_ACCESSED)) {
			CHECK(0, "%s: test-only cleared A of page %" PRIu64, ctx, i);
			break;
		}

	/* clear over [a, e): reports the same set and clears exactly it. */
	uint64_t bad;
	memset(&r, 0, sizeof(r));
	CHECK(ab_model_age(m, w, a, e - a, true, young, &r) == AB_AGE_OK, "%s: clear", ctx);
	CHECK(!diff_range(young, touched, a, e, &bad), "%s: clear wrong at page %" PRIu64, ctx,
	      bad);
	CHECK(r.young == count_range(touched, a, e), "%s: clear young count", ctx);
	memset(&r, 0, sizeof(r));
	ab_model_age(m, AB_MODE_LOCKED, 0, NPAGES, false, young, &r);
	for (uint64_t i = 0; i < NPAGES; i++) {
		bool expect = ab_test_bit(touched, i) && (i < a || i >= e);
		if (ab_test_bit(young, i) != expect) {
			CHECK(0, "%s: after clear page %" PRIu64 " young=%d expected %d", ctx, i,
			      ab_test_bit(young, i), expect);
			break;
		}
	}
	/* Dirty survives aging. */
	uint64_t nd = 0;
	for (uint64_t i = 0; i < NPAGES; i++)
		nd += !!(ab_model_spte(m, i) & AB_SPTE_DIRTY);
	CHECK(nd == (ntouch + 3) / 4, "%s: dirty pages %" PRIu64 " expected %" PRIu64, ctx, nd,
	      (ntouch + 3) / 4);
	/* The range is now old. */
	memset(&r, 0, sizeof(r));
	ab_model_age(m, w, a, e - a, false, young, &r);
	CHECK(r.young == 0, "%s: range still young after clear (%" PRIu64 ")", ctx, r.young);

	/* Zap a whole leaf table (pages 212..723) and part of the next one:
	 * unmapped pages are neither young nor counted. */
	ab_model_zap(m, 212, 512 + 100);
	for (uint64_t i = 0; i < NPAGES; i++)
		if (ab_test_bit(touched, i) && !(i >= 212 && i < 824))
			ab_model_access(m, i, false, NULL);
	memset(&r, 0, sizeof(r));
	ab_model_age(m, w, a, e - a, true, young, &r);
	uint64_t exp = 0;
	for (uint64_t i = a; i < e; i++) {
		bool ex = ab_test_bit(touched, i) && !(i >= 212 && i < 824);
		exp += ex;
		if (ab_test_bit(young, i - a) != ex) {
			CHECK(0, "%s: after zap page %" PRIu64 " young=%d expected %d", ctx, i,
			      ab_test_bit(young, i - a), ex);
			break;
		}
	}
	CHECK(r.young == exp, "%s: after zap young %" PRIu64 " expected %" PRIu64, ctx, r.young,
	      exp);
	CHECK(ab_model_spte(m, 300) == 0, "%s: zapped page still mapped", ctx);
	CHECK(ab_model_access(m, 300, false, NULL) == 1, "%s: access to zapped page did not fault",
	      ctx);
	check_oracle(m, ctx);
	ab_model_destroy(m);
}

static void bitmap_mask(enum ab_pgsize ps)
{
	uint64_t base = ps == AB_PG_4K ? 0x40000 + 300 : (0x40000ull + 300) * 512;
	struct ab_model *m = mk(ps, base);
	struct ab_age_res r = {0};
	uint64_t y;
	const uint64_t first = 190; /* window 190..253 crosses the table boundary at 212 */

	reset(m);
	for (uint64_t i = first; i < first + 64; i++)
		ab_model_access(m, i, false, NULL);
	const uint64_t mask = 0x5555aaaa0f0ff0f0ull;
	CHECK(ab_model_age_bitmap(m, first, 64, mask, false, &y, &r) == AB_AGE_OK, "bitmap test");
	CHECK(y == mask, "bitmap test-only honours mask: %016" PRIx64 " vs %016" PRIx64, y, mask);
	CHECK(ab_model_age_bitmap(m, first, 64, mask, true, &y, &r) == AB_AGE_OK, "bitmap clear");
	CHECK(y == mask, "bitmap clear honours mask: %016" PRIx64, y);
	CHECK(ab_model_age_bitmap(m, first, 64, ~0ull, false, &y, &r) == AB_AGE_OK, "bitmap all");
	CHECK(y == ~mask, "bitmap cleared only the masked pages: %016" PRIx64, y);
	/* Short window: bits past n are never reported. */
	CHECK(ab_model_age_bitmap(m, first, 40, ~0ull, false, &y, &r) == AB_AGE_OK, "bitmap n=40");
	CHECK(y == (~mask & ((1ull << 40) - 1)), "bitmap n=40: %016" PRIx64, y);
	/* Empty mask: nothing. */
	CHECK(ab_model_age_bitmap(m, first, 64, 0, true, &y, &r) == AB_AGE_OK && y == 0,
	      "bitmap empty mask");
	/* Bad windows. */
	CHECK(ab_model_age_bitmap(m, first, 65, ~0ull, true, &y, &r) == -EINVAL, "bitmap n=65");
	CHECK(ab_model_age_bitmap(m, NPAGES - 10, 20, ~0ull, true, &y, &r) == -EINVAL,
	      "bitmap past end");
	CHECK(r.declines == 0, "bitmap declined without shadow ranges");
	check_oracle(m, "bitmap");
	ab_model_destroy(m);
}

static void declines(enum ab_pgsize ps)
{
	struct ab_model *m = mk(ps, ps == AB_PG_4K ? 0x40000 : 0x40000ull * 512);
	uint64_t young[WORDS];
	struct ab_age_res r = {0};

	reset(m);
	CHECK(ab_model_mark_shadow(m, 1000, 10) == 0, "mark shadow");
	CHECK(ab_model_mark_shadow(m, 1990, 20) == -EINVAL, "mark shadow past end");
	for (uint64_t i = 0; i < NPAGES; i += 2)
		ab_model_access(m, i, false, NULL);

	memset(young, 0xff, sizeof(young));
	CHECK(ab_model_age(m, AB_MODE_FAST_ONLY, 0, NPAGES, true, young, &r) == AB_AGE_DECLINED,
	      "fast_only over a shadow range declines");
	CHECK(r.declines == 1 && r.young == 0 && count_range(young, 0, NPAGES) == 0,
	      "decline counted once, nothing answered (declines %" PRIu64 ")", r.declines);
	CHECK(ab_model_age(m, AB_MODE_FAST_ONLY, 1009, 1, false, young, &r) == AB_AGE_DECLINED &&
		  r.declines == 2,
	      "fast_only on the last shadow page declines");
	/* A decline must not have cleared anything. */
	struct ab_age_res r2 = {0};
	ab_model_age(m, AB_MODE_LOCKED, 0, NPAGES, false, NULL, &r2);
	CHECK(r2.young == NPAGES / 2, "declined call cleared A bits (%" PRIu64 " young)", r2.young);
	/* Outside the shadow range fast_only answers. */
	memset(&r, 0, sizeof(r));
	CHECK(ab_model_age(m, AB_MODE_FAST_ONLY, 0, 1000, true, young, &r) == AB_AGE_OK &&
		  r.young == 500 && r.declines == 0,
	      "fast_only outside shadow range: young %" PRIu64, r.young);
	/* Bitmap declines only the window that intersects. */
	memset(&r, 0, sizeof(r));
	CHECK(ab_model_age(m, AB_MODE_BITMAP, 960, 128, true, young, &r) == AB_AGE_DECLINED,
	      "bitmap over shadow declines");
	CHECK(r.declines == 1 && r.young == 32 && count_range(young, 0, 64) == 0 &&
		  count_range(young, 64, 128) == 32,
	      "bitmap: one window declined, the other answered (declines %" PRIu64 " young %" PRIu64
	      ")",
	      r.declines, r.young);
	/* The locked walkers answer over shadow ranges. */
	memset(&r, 0, sizeof(r));
	CHECK(ab_model_age(m, AB_MODE_READ_LOCKED, 1000, 10, true, young, &r) == AB_AGE_OK &&
		  r.young == 5 && r.declines == 0,
	      "read_locked answers over shadow");
	/* fast_or_locked answers over the shadow range, taking the write lock:
	 * 1000..1009 (shadow, touched again) and 1010..1023 (never cleared). */
	for (uint64_t i = 1000; i < 1010; i += 2)
		ab_model_access(m, i, false, NULL);
	memset(&r, 0, sizeof(r));
	CHECK(ab_model_age(m, AB_MODE_FAST_OR_LOCKED, 1000, 24, true, young, &r) == AB_AGE_OK &&
		  r.young == 12 && r.declines == 0 && r.fallbacks == 1,
	      "fast_or_locked over shadow answers (young %" PRIu64 ", declines %" PRIu64
	      ", fallbacks %" PRIu64 ")",
	      r.young, r.declines, r.fallbacks);
	memset(&r, 0, sizeof(r));
	CHECK(ab_model_age(m, AB_MODE_FAST_OR_LOCKED, 1000, 24, false, young, &r) == AB_AGE_OK &&
		  r.young == 0,
	      "fast_or_locked cleared what it reported (young %" PRIu64 ")", r.young);
	memset(&r, 0, sizeof(r));
	CHECK(ab_model_age(m, AB_MODE_FAST_OR_LOCKED, 1010, 10, false, young, &r) == AB_AGE_OK &&
		  r.fallbacks == 0,
	      "fast_or_locked outside the shadow range is lockless");
	check_oracle(m, "declines");
	ab_model_destroy(m);
}

/* Many marks, out of order, overlapping and adjacent: the model keeps them
 * sorted and merged for a binary search; compare with a brute-force
 * reference over every short request. */
static void shadow_marks(void)
{
	struct ab_model *m = mk(AB_PG_4K, 0x40000);
	static const uint64_t mk_[][2] = {{1500, 10}, {100, 20},  {110, 30}, {140, 5},
					  {1000, 1},  {998, 1},	  {50, 1},   {1990, 10},
					  {0, 1},     {600, 300}, {700, 10}, {999, 1}};
	static bool ref[NPAGES];
	const size_t nm = sizeof(mk_) / sizeof(mk_[0]);
	memset(ref, 0, sizeof(ref));
	for (size_t i = 0; i < nm; i++) {
		CHECK(ab_model_mark_shadow(m, mk_[i][0], mk_[i][1]) == 0, "mark %zu", i);
		for (uint64_t p = mk_[i][0]; p < mk_[i][0] + mk_[i][1]; p++)
			ref[p] = true;
	}
	int bad = 0;
	for (uint64_t f = 0; f < NPAGES; f++)
		for (uint64_t n = 1; n <= 70 && f + n <= NPAGES; n++) {
			bool want = false;
			for (uint64_t p = f; p < f + n && !want; p++)
				want = ref[p];
			if (ab_model_needs_lock(m, f, n) != want && bad++ < 5)
				CHECK(0, "needs_lock(%" PRIu64 ", %" PRIu64 ") != %d", f, n, want);
		}
	CHECK(bad == 0, "%d needs_lock answers differ from the reference", bad);
	CHECK(!ab_model_needs_lock(m, 1, 0), "empty request needs no lock");
	ab_model_destroy(m);
}

static void bad_input(void)
{
	struct ab_model_params p = {.pgsize = AB_PG_2M, .npages = 10, .base_gfn = 3};
	errno = 0;
	CHECK(!ab_model_create(&p) && errno == EINVAL, "unaligned 2M base rejected");
	p.base_gfn = 0;
	p.npages = 0;
	CHECK(!ab_model_create(&p) && errno == EINVAL, "0 pages rejected");
	p.npages = (1ull << 30) + 1;
	CHECK(!ab_model_create(&p) && errno == EINVAL, "huge range rejected");
	p.npages = 10;
	p.pgsize = 3;
	CHECK(!ab_model_create(&p) && errno == EINVAL, "bad page size rejected");
	p.pgsize = AB_PG_4K;
	p.mmu_lock = 7;
	CHECK(!ab_model_create(&p) && errno == EINVAL, "bad lock kind rejected");
	p.mmu_lock = AB_LOCK_QUEUED;
	struct ab_model *m = ab_model_create(&p);
	struct ab_age_res r = {0};
	CHECK(m != NULL, "create");
	CHECK(ab_model_age(m, AB_MODE_LOCKED, 0, 0, true, NULL, &r) == -EINVAL, "0 pages");
	CHECK(ab_model_age(m, AB_MODE_LOCKED, 5, 6, true, NULL, &r) == -EINVAL, "past end");
	CHECK(ab_model_age(m, AB_MODE_NR, 0, 1, true, NULL, &r) == -EINVAL, "bad walker");
	CHECK(ab_model_age(m, AB_MODE_NATIVE, 0, 1, true, NULL, &r) == -EINVAL,
	      "native is not a model walker");
	CHECK(ab_model_populate(m, 5, 6, false) == -EINVAL, "populate past end");
	CHECK(ab_walker_parse("fast_only") == AB_MODE_FAST_ONLY && ab_walker_parse("nope") == -1,
	      "walker names");
	ab_model_destroy(m);
}

/*
 * Call size: one aging call per @batch pages; the locking walkers take
 * mmu_lock once per call (batch 1: once per page, as 6.12's page_idle and
 * MGLRU callers do), counted twice: by the walker (res.locks, res.calls)
 * and by the lock itself (write acquisitions, counted under the lock). The
 * answer is the same at every call size. Invalidations take it for write.
 */
static void batches(void)
{
	static const uint64_t bs[] = {1, 7, 64, 128, NPAGES};
	struct ab_model *m = mk(AB_PG_4K, 0x40000 + 100);
	uint64_t expect[WORDS], young[WORDS], bad = 0;

	for (int w = 0; w < AB_MODE_NR; w++) {
		if (!ab_model_has_walker(w))
			continue;
		const struct ab_mode *md = &ab_mode_table[w];
		for (size_t b = 0; b < sizeof(bs) / sizeof(bs[0]); b++) {
			uint64_t calls = (NPAGES + bs[b] - 1) / bs[b];
			struct ab_age_res r = {0};
			reset(m);
			memset(expect, 0, sizeof(expect));
			for (uint64_t i = 3; i < NPAGES; i += 5) {
				ab_model_access(m, i, false, NULL);
				setbit(expect, i);
			}
			uint64_t wl0 = ab_model_write_locks(m);
			int rc = ab_model_age_batch(m, w, 0, NPAGES, bs[b], true, young, &r);
			uint64_t wl = ab_model_write_locks(m) - wl0;
			CHECK(rc == AB_AGE_OK, "%s batch %llu: rc %d", md->name,
			      (unsigned long long)bs[b], rc);
			CHECK(!diff_range(young, expect, 0, NPAGES, &bad),
			      "%s batch %llu: young differs at page %llu", md->name,
			      (unsigned long long)bs[b], (unsigned long long)bad);
			CHECK(r.young == count_range(expect, 0, NPAGES),
			      "%s batch %llu: young %llu", md->name, (unsigned long long)bs[b],
			      (unsigned long long)r.young);
			CHECK(r.calls == calls, "%s batch %llu: %llu calls, want %llu", md->name,
			      (unsigned long long)bs[b], (unsigned long long)r.calls,
			      (unsigned long long)calls);
			uint64_t want_locks = md->lock == AB_LOCK_NONE ? 0 : calls;
			CHECK(r.locks == want_locks,
			      "%s batch %llu: %llu lock acquisitions, want %llu", md->name,
			      (unsigned long long)bs[b], (unsigned long long)r.locks,
			      (unsigned long long)want_locks);
			CHECK(wl == (md->lock == AB_LOCK_WRITE ? calls : 0),
			      "%s batch %llu: %llu write acquisitions", md->name,
			      (unsigned long long)bs[b], (unsigned long long)wl);
		}
	}
	/* Bitmap: windows of min(batch, 64). */
	struct ab_age_res r = {0};
	reset(m);
	CHECK(ab_model_age_batch(m, AB_MODE_BITMAP, 0, NPAGES, 1000, true, NULL, &r) == 0,
	      "bitmap batch 1000");
	CHECK(r.calls == 2, "bitmap batch 1000: %llu calls", (unsigned long long)r.calls);
	/* An invalidation takes mmu_lock for write, once. */
	uint64_t wl0 = ab_model_write_locks(m);
	ab_model_zap(m, 512, 512);
	CHECK(ab_model_write_locks(m) == wl0 + 1, "zap: %llu write acquisitions",
	      (unsigned long long)(ab_model_write_locks(m) - wl0));
	/* A fault on a zapped page installs it; on a present one sets A. */
	CHECK(ab_model_fault(m, 600, true) == 1, "fault on a zapped page installs it");
	CHECK((ab_model_spte(m, 600) & (AB_SPTE_ACCESSED | AB_SPTE_DIRTY)) ==
		  (AB_SPTE_ACCESSED | AB_SPTE_DIRTY),
	      "fault installs with A and D");
	CHECK(ab_model_fault(m, 5, false) == 0 && (ab_model_spte(m, 5) & AB_SPTE_ACCESSED),
	      "spurious fault sets A");
	CHECK(ab_model_fault(m, NPAGES, false) == -EINVAL, "fault past end");
	CHECK(ab_model_age_batch(m, AB_MODE_LOCKED, 0, NPAGES, 0, true, NULL, &r) == -EINVAL,
	      "batch 0");
	CHECK(ab_model_age_batch(m, AB_MODE_LOCKED, 0, NPAGES, 100, true, young, &r) == -EINVAL,
	      "batch 100 with a young bitmap");
	check_oracle(m, "batches");
	ab_model_destroy(m);
}

static void det(void)
{
	/* Every walker sees the same deterministic workload: same answer. */
	for (int ps = AB_PG_4K; ps <= AB_PG_2M; ps++) {
		uint64_t ref = ab_model_det_run(AB_MODE_LOCKED, ps, 3000, 3);
		CHECK(ref > 3 * 3000 / 8 && ref < 3 * 3000 * 3 / 8, "det locked young %" PRIu64,
		      ref);
		for (int w = 0; w < AB_MODE_NR; w++) {
			if (!ab_model_has_walker(w))
				continue;
			uint64_t y = ab_model_det_run(w, ps, 3000, 3);
			CHECK(y == ref, "det %s/%d young %" PRIu64 " != %" PRIu64, ab_mode_name(w),
			      ps, y, ref);
		}
	}
	CHECK(ab_model_det_run(AB_MODE_NR, AB_PG_4K, 10, 1) == UINT64_MAX, "det bad walker");
}

int main(void)
{
	ab_model_thread_register();
	for (int ps = AB_PG_4K; ps <= AB_PG_2M; ps++) {
		for (int w = 0; w < AB_MODE_NR; w++)
			if (ab_model_has_walker(w))
				walker_exact(ps, w);
		bitmap_mask(ps);
		declines(ps);
	}
	/* The glibc rwlock alternative behaves the same. */
	g_lock = AB_LOCK_PTHREAD;
	walker_exact(AB_PG_4K, AB_MODE_LOCKED);
	walker_exact(AB_PG_4K, AB_MODE_READ_LOCKED);
	g_lock = AB_LOCK_QUEUED;
	shadow_marks();
	batches();
	bad_input();
	det();
	ab_model_thread_unregister();
	printf("test_model_walkers: %d checks, %d failed\n", ab_check_total, ab_check_failures);
	return ab_check_failures ? 1 : 0;
}
