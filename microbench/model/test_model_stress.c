// SPDX-License-Identifier: GPL-2.0
/*
 * test_model_stress [SECONDS] - concurrent stress of the model: two vCPU
 * threads (accesses, faults, recycling of their fresh windows under the read
 * lock), an invalidation thread zapping whole leaf tables and single pages
 * under the write lock (tables freed after an RCU grace period), and one
 * walker at a time (each of the five, 4K and 2M) for SECONDS each (default 1).
 *
 * Oracle (abmodel.h, struct ab_oracle_page): every 0->1 transition of A (or
 * D) is counted by whoever made it, every 1->0 by whoever made it (walker
 * clear, zap hand-over). At the end, per page:
 *   set_a == clr_a_walk + clr_a_zap + A_now   (no A lost unreported, none
 *                                              reported that was not set)
 *   set_d == clr_d_zap + D_now                (walkers never drop Dirty)
 * plus, checked on every call: no page outside the vCPUs' regions (mapped,
 * A cleared once, never touched again) is ever reported young; the young
 * bitmap agrees with the walker's own count; declines happen exactly for
 * requests that intersect the shadow range. Built with ASan, the pool pages
 * are poisoned while free, so a walker or vCPU touching a recycled table
 * page before its grace period ends is reported.
 */
#include "abmodel.h"
#include "ab_check.h"

#include <ab_common.h>

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;

#define FAIL(...)                                                                                  \
	do {                                                                                       \
		failures++;                                                                        \
		fprintf(stderr, "FAIL: " __VA_ARGS__);                                             \
		fputc('\n', stderr);                                                               \
	} while (0)

/* Layout (pages): [0, TOUCH) vCPU regions | [TOUCH, AGED) never touched |
 * [AGED, AGED + 2 * FRESH) the vCPUs' fresh windows. */
struct layout {
	uint64_t touch, aged, fresh, total;
};

static int run_one(enum ab_pgsize ps, enum ab_mode_id w, double seconds)
{
	struct layout L;
	if (ps == AB_PG_4K)
		L = (struct layout){.touch = 6144, .aged = 8192, .fresh = 1024};
	else
		L = (struct layout){.touch = 1536, .aged = 2048, .fresh = 1024};
	L.total = L.aged + 2 * L.fresh;
	/* 4K: base at entry 100 of a leaf table, so zaps hit partial tables too. */
	struct ab_model_params p = {.pgsize = ps,
				    .npages = L.total,
				    .base_gfn = ps == AB_PG_4K ? 0x80000 + 100 : 0x80000ull * 512,
				    .oracle = true};
	struct ab_model *m = ab_model_create(&p);
	char ctx[48];
	int fails0 = failures;

	snprintf(ctx, sizeof(ctx), "%s/%s", ab_mode_name(w), ps == AB_PG_4K ? "4K" : "2M");
	if (!m) {
		FAIL("%s: ab_model_create", ctx);
		return -1;
	}
	const uint64_t shadow_first = L.aged - 64, shadow_n = 8;
	/* Walkers that cannot always be lockless get a shadow range: the
	 * declining ones must decline there, the falling-back ones answer. */
	const struct ab_mode *md = &ab_mode_table[w];
	bool declines_there = md->decline != AB_DECLINE_NEVER;
	bool lockless = declines_there || md->fallback != AB_LOCK_NONE;
	if (lockless)
		ab_model_mark_shadow(m, shadow_first, shadow_n);

	struct ab_age_res r = {0};
	ab_model_populate(m, 0, L.total, false);
	ab_model_age(m, AB_MODE_LOCKED, 0, L.total, true, NULL, &r);

	volatile int stop = 0;
	struct ab_vcpu v[2];
	struct ab_inval iv[2];
	pthread_t vt[2], it[2];
	for (int i = 0; i < 2; i++) {
		v[i] = (struct ab_vcpu){.m = m,
					.first = i * (L.touch / 2),
					.n = L.touch / 2,
					.pattern = i ? AB_PAT_SKEW : AB_PAT_RANDOM,
					.write_pct = 20,
					.fresh_first = L.aged + i * L.fresh,
					.fresh_n = L.fresh,
					.fresh_every = 16,
					.seed = 1000 + i + 10 * w + ps,
					.pin_role = -1,
					.stop = &stop};
		pthread_create(&vt[i], NULL, ab_vcpu_thread, &v[i]);
	}
	/* Zap whole leaf tables (and, for 4K, partial ones: the base is not
	 * table-aligned) and single pages. */
	iv[0] = (struct ab_inval){.m = m,
				  .first = 0,
				  .n = L.aged,
				  .zap_pages = ps == AB_PG_4K ? 1024 : 512,
				  .rate = 500,
				  .seed = 7 + w,
				  .stop = &stop};
	iv[1] = (struct ab_inval){.m = m,
				  .first = 0,
				  .n = L.aged,
				  .zap_pages = 1,
				  .rate = 3000,
				  .seed = 11 + w,
				  .stop = &stop};
	for (int i = 0; i < 2; i++)
		pthread_create(&it[i], NULL, ab_inval_thread, &iv[i]);

	uint64_t *young = calloc((L.aged + 63) / 64, sizeof(uint64_t));
	uint64_t calls = 0, young_total = 0, left_young = 0, declines = 0, fallbacks = 0;
	uint64_t s = 99 + w;
	uint64_t deadline = ab_now_ns() + (uint64_t)(seconds * 1e9);
	while (ab_now_ns() < deadline && failures - fails0 < 5) {
		/* Random subrange (often the whole aged range), random form. */
		uint64_t first = 0, n = L.aged;
		if (ab_rng_next(&s) & 1) {
			first = ab_rng_next(&s) % L.aged;
			n = 1 + ab_rng_next(&s) % (L.aged - first);
		}
		bool clear = (ab_rng_next(&s) % 4) != 0;
		struct ab_age_res res = {0};
		int ret = ab_model_age(m, w, first, n, clear, young, &res);
		calls++;
		bool hits_shadow = first < shadow_first + shadow_n && first + n > shadow_first;
		if (ret < 0) {
			FAIL("%s: ab_model_age returned %d", ctx, ret);
			break;
		}
		if (declines_there && hits_shadow) {
			if (ret != AB_AGE_DECLINED || !res.declines)
				FAIL("%s: request over the shadow range not declined", ctx);
		} else if (ret != AB_AGE_OK || res.declines) {
			FAIL("%s: request declined (ret %d, declines %" PRIu64 ")", ctx, ret,
			     res.declines);
		}
		declines += res.declines;
		fallbacks += res.fallbacks;
		if (!declines_there && lockless && hits_shadow && !res.fallbacks)
			FAIL("%s: request over the shadow range answered without the lock", ctx);
		uint64_t cnt = 0;
		for (uint64_t i = 0; i < n; i++) {
			if (!ab_test_bit(young, i))
				continue;
			cnt++;
			if (first + i >= L.touch) {
				FAIL("%s: untouched page %" PRIu64 " reported young", ctx,
				     first + i);
				break;
			}
		}
		/* scan has no tree: a table zapped and re-created during the pass
		 * can be visited twice, so its count may exceed the bitmap's. */
		if (w == AB_MODE_SCAN ? cnt > res.young : cnt != res.young)
			FAIL("%s: young bitmap has %" PRIu64 " pages, count says %" PRIu64, ctx,
			     cnt, res.young);
		young_total += res.young;
		left_young += res.left_young;
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < 2; i++) {
		pthread_join(vt[i], NULL);
		pthread_join(it[i], NULL);
	}

	/* Quiescent: the oracle must balance on every page. */
	uint64_t faults = v[0].faults + v[1].faults, zaps = iv[0].zaps + iv[1].zaps;
	uint64_t walk_clears = 0;
	for (uint64_t i = 0; i < L.total; i++) {
		struct ab_oracle_page o;
		ab_model_oracle(m, i, &o);
		uint64_t e = ab_model_spte(m, i);
		uint64_t a = !!(e & AB_SPTE_ACCESSED), d = !!(e & AB_SPTE_DIRTY);
		walk_clears += o.clr_a_walk;
		if (o.set_a != o.clr_a_walk + o.clr_a_zap + a) {
			FAIL("%s: page %" PRIu64 ": A set %" PRIu64 " times, cleared %" PRIu64
			     " by walkers + %" PRIu64 " by zaps, A now %" PRIu64,
			     ctx, i, o.set_a, o.clr_a_walk, o.clr_a_zap, a);
			break;
		}
		if (o.set_d != o.clr_d_zap + d) {
			FAIL("%s: page %" PRIu64 ": D set %" PRIu64 ", handed over %" PRIu64
			     ", D now %" PRIu64 " (Dirty lost)",
			     ctx, i, o.set_d, o.clr_d_zap, d);
			break;
		}
		if (i >= L.touch && i < L.aged && o.set_a > 1) {
			FAIL("%s: untouched page %" PRIu64 " had A set %" PRIu64 " times", ctx, i,
			     o.set_a);
			break;
		}
	}
	/* Non-vacuous: the run really was concurrent. */
	if (!faults || !zaps || !calls || !young_total || !(v[0].recycles + v[1].recycles))
		FAIL("%s: no contention (faults %" PRIu64 " zaps %" PRIu64 " calls %" PRIu64
		     " young %" PRIu64 ")",
		     ctx, faults, zaps, calls, young_total);
	if (declines_there && !declines)
		FAIL("%s: no request ever declined", ctx);
	if (lockless && !declines_there && !fallbacks)
		FAIL("%s: no request ever fell back to mmu_lock", ctx);
	printf("%-18s calls %7" PRIu64 " young %9" PRIu64 " walker clears %9" PRIu64
	       " left-young %4" PRIu64 " declines %5" PRIu64 " | vCPU accesses %10" PRIu64
	       " faults %8" PRIu64 " | zaps %6" PRIu64 " %s\n",
	       ctx, calls, young_total, walk_clears, left_young, declines,
	       v[0].accesses + v[1].accesses, faults, zaps, failures == fails0 ? "ok" : "FAILED");
	free(young);
	ab_model_destroy(m);
	return failures == fails0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	double seconds = 1.0;
	if (argc > 1) {
		char *end;
		seconds = strtod(argv[1], &end);
		if (*end || seconds <= 0 || seconds > 600) {
			fprintf(stderr, "test_model_stress: bad SECONDS '%s' (0 < s <= 600)\n",
				argv[1]);
			return AB_EXIT_USAGE;
		}
	}
	ab_model_thread_register();
	int passed = 0, failed = 0;
	for (int ps = AB_PG_4K; ps <= AB_PG_2M; ps++)
		for (int w = 0; w < AB_MODE_NR; w++) {
			if (!ab_model_has_walker(w))
				continue;
			if (run_one(ps, w, seconds))
				failed++;
			else
				passed++;
		}
	ab_model_thread_unregister();
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? AB_EXIT_FAIL : AB_EXIT_OK;
}
