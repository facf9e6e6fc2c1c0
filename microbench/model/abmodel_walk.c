// SPDX-License-Identifier: GPL-2.0
/*
 * abmodel_walk.c - the model's aging walkers: the radix walks (locked,
 * CAS), the linear leaf scan, the bitmap's per-window answer, and one
 * function per model mode of common/ab_modes.def (see abmodel.h).
 */
#define _GNU_SOURCE
#include "abmodel_priv.h"

/* ---- walkers ---- */

enum op { OP_TEST, OP_CLEAR_AND, OP_CLEAR_CAS };

#define CAS_TRIES 16

#ifdef AB_MODEL_TEST_SLOW_WALKER
/* Deliberate extra work per page (CI-gate test hook): a dependent chain the
 * compiler cannot drop. */
static __attribute__((noinline)) uint64_t slow_work(uint64_t e)
{
	uint64_t x = e | 1;
	for (int i = 0; i < 64; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		__asm__ volatile("" : "+r"(x));
	}
	return x;
}
#define SLOW_WORK(e, acc) ((acc) ^= slow_work(e))
#else
#define SLOW_WORK(e, acc) ((void)(e), (void)(acc))
#endif

/* Age one leaf SPTE; returns 1 if it is reported young. */
static inline __attribute__((always_inline)) int
age_one(struct ab_model *m, uint64_t *p, uint64_t gfn, enum op op, struct ab_age_res *res)
{
	uint64_t e = LOAD_RLX(p);

	if ((e & (AB_SPTE_PRESENT | AB_SPTE_ACCESSED)) != (AB_SPTE_PRESENT | AB_SPTE_ACCESSED))
		return 0;
	switch (op) {
	case OP_TEST:
		return 1;
	case OP_CLEAR_AND: {
		/* Under mmu_lock for write only "hardware" can change the SPTE,
		 * and it only sets bits: an atomic AND is enough (as 6.12's
		 * tdp_mmu_clear_spte_bits on volatile SPTEs). */
		uint64_t old = __atomic_fetch_and(p, ~AB_SPTE_ACCESSED, __ATOMIC_ACQ_REL);
		if ((old & (AB_SPTE_PRESENT | AB_SPTE_ACCESSED)) !=
		    (AB_SPTE_PRESENT | AB_SPTE_ACCESSED))
			return 0;
		orc_walk_clear(m, gfn);
		return 1;
	}
	case OP_CLEAR_CAS:
		for (int tries = 0;; tries++) {
			if (cas(p, &e, e & ~AB_SPTE_ACCESSED)) {
				orc_walk_clear(m, gfn);
				return 1;
			}
			/* Lost to a vCPU setting D, or a zap: re-check. */
			res->retries++;
			if ((e & (AB_SPTE_PRESENT | AB_SPTE_ACCESSED)) !=
			    (AB_SPTE_PRESENT | AB_SPTE_ACCESSED))
				return 0;
			if (tries >= CAS_TRIES) {
				res->left_young++;
				return 1; /* young, left young: never lose D */
			}
		}
	}
	return 0;
}

/*
 * Tree walk over GFNs [gfn, end): descend once per leaf table, skip missing
 * subtrees, age the leaves. @mask (bitmap walker) selects pages relative to
 * @first_page; @young_out gets bits relative to @first_page.
 */
static inline __attribute__((always_inline)) void walk(struct ab_model *m, uint64_t first_page,
						       uint64_t n, enum op op, bool slow,
						       const uint64_t *mask, uint64_t *young_out,
						       struct ab_age_res *res)
{
	uint64_t gfn = gfn_of(m, first_page), end = gfn_of(m, first_page + n);
	uint64_t scanned = 0, young = 0, slow_acc = 0;
	const int L = m->leaf_level;

	while (gfn < end) {
		uint64_t *t = m->root;
		int lvl;
		for (lvl = AB_PT_LEVELS; lvl > L; lvl--) {
			uint64_t e = LOAD(&t[idx(gfn, lvl)]);
			if (!(e & AB_SPTE_PRESENT))
				break;
			t = child(e);
		}
		if (lvl > L) { /* missing subtree: skip what it would map */
			uint64_t next = (gfn & ~(lvl_span(lvl) - 1)) + lvl_span(lvl);
			gfn = next < end ? next : end;
			continue;
		}
		uint64_t next = (gfn & ~(m->tab_span - 1)) + m->tab_span;
		uint64_t stop = next < end ? next : end;
		unsigned i = idx(gfn, L), ie = i + (unsigned)((stop - gfn) / m->span);
		uint64_t *pe = t + i, *pend = t + ie;
		const uint64_t rel0 = page_of(m, gfn) - first_page - i; /* rel of t[0] */
		if (!mask)
			scanned += ie - i;
		/* Same shape as scan(): only young entries pay for more. */
		for (; pe < pend; pe++) {
			uint64_t rel = rel0 + (uint64_t)(pe - t);
			if (mask) {
				if (!((mask[rel >> 6] >> (rel & 63)) & 1))
					continue;
				scanned++;
			}
			uint64_t e = LOAD_RLX(pe);
			if (slow)
				SLOW_WORK(e, slow_acc);
			if ((e & (AB_SPTE_PRESENT | AB_SPTE_ACCESSED)) !=
			    (AB_SPTE_PRESENT | AB_SPTE_ACCESSED))
				continue;
			if (age_one(m, pe, gfn_of(m, first_page + rel), op, res)) {
				young++;
				if (young_out)
					young_out[rel >> 6] |= 1ull << (rel & 63);
			}
		}
		gfn = stop;
	}
	res->scanned += scanned;
	res->young += young;
	if (slow && slow_acc == 42) /* keep slow_acc alive */
		res->retries += 0;
}

static __attribute__((noinline)) void walk_locked(struct ab_model *m, uint64_t first, uint64_t n,
						  bool clear, uint64_t *yo, struct ab_age_res *res)
{
	if (clear)
		walk(m, first, n, OP_CLEAR_AND, true, NULL, yo, res);
	else
		walk(m, first, n, OP_TEST, true, NULL, yo, res);
}

static __attribute__((noinline)) void walk_cas(struct ab_model *m, uint64_t first, uint64_t n,
					       bool clear, const uint64_t *mask, uint64_t *yo,
					       struct ab_age_res *res)
{
	if (mask) {
		if (clear)
			walk(m, first, n, OP_CLEAR_CAS, false, mask, yo, res);
		else
			walk(m, first, n, OP_TEST, false, mask, yo, res);
	} else {
		if (clear)
			walk(m, first, n, OP_CLEAR_CAS, false, NULL, yo, res);
		else
			walk(m, first, n, OP_TEST, false, NULL, yo, res);
	}
}

/* Linear pass over the pool's live leaf tables (RCU read section only so
 * that a table zapped meanwhile is not recycled under us). Specialised per
 * operation, like walk(), so the floor's inner loop carries no branches the
 * walkers do not have. */
static inline __attribute__((always_inline)) void scan_op(struct ab_model *m, uint64_t first,
							  uint64_t n, enum op op, uint64_t *yo,
							  struct ab_age_res *res)
{
	struct ab_pool *p = &m->pool;
	uint64_t lo = gfn_of(m, first), hi = gfn_of(m, first + n);
	uint64_t scanned = 0, young = 0;
	uint32_t hw = LOAD(&p->hiwater);
	const uint64_t span = m->span, tspan = m->tab_span;

	ab_rcu_lock();
	for (uint32_t s = 0; s < hw; s++) {
		if (LOAD(&p->state[s]) != SLOT_LIVE)
			continue;
		uint64_t g0 = LOAD_RLX(&p->gfn[s]);
		uint64_t *t = slot_mem(p, s);
		uint64_t a = g0 > lo ? g0 : lo, b = g0 + tspan < hi ? g0 + tspan : hi;
		if (a >= b)
			continue;
		unsigned i = (unsigned)((a - g0) / span), ie = (unsigned)((b - g0) / span);
		uint64_t *pe = t + i, *pend = t + ie;
		scanned += ie - i;
		/* Tight loops: the floor should not pay for generality. */
		for (; pe < pend; pe++) {
			uint64_t e = LOAD_RLX(pe);
			if ((e & (AB_SPTE_PRESENT | AB_SPTE_ACCESSED)) !=
			    (AB_SPTE_PRESENT | AB_SPTE_ACCESSED))
				continue;
			uint64_t g = g0 + (uint64_t)(pe - t) * span;
			if (!age_one(m, pe, g, op, res))
				continue;
			young++;
			if (yo) {
				uint64_t rel = page_of(m, g) - first;
				yo[rel >> 6] |= 1ull << (rel & 63);
			}
		}
	}
	ab_rcu_unlock();
	res->scanned += scanned;
	res->young += young;
}

static __attribute__((noinline)) void scan(struct ab_model *m, uint64_t first, uint64_t n,
					   bool clear, uint64_t *yo, struct ab_age_res *res)
{
	if (clear)
		scan_op(m, first, n, OP_CLEAR_AND, yo, res);
	else
		scan_op(m, first, n, OP_TEST, yo, res);
}

int ab_model_age_bitmap(struct ab_model *m, uint64_t first, unsigned n, uint64_t mask, bool clear,
			uint64_t *young, struct ab_age_res *res)
{
	if (!young || !res || !n || n > 64 || first >= m->npages || n > m->npages - first)
		return -EINVAL;
	*young = 0;
	if (n < 64)
		mask &= (1ull << n) - 1;
	if (needs_lock(m, first, n)) {
		res->declines++;
		return AB_AGE_DECLINED;
	}
	ab_rcu_lock();
	walk_cas(m, first, n, clear, &mask, young, res);
	ab_rcu_unlock();
	return AB_AGE_OK;
}

/* ---- the walkers: one function per model mode of common/ab_modes.def ---- */

typedef int walker_fn(struct ab_model *m, uint64_t first, uint64_t n, bool clear, uint64_t *yo,
		      struct ab_age_res *res);

static int age_locked(struct ab_model *m, uint64_t first, uint64_t n, bool clear, uint64_t *yo,
		      struct ab_age_res *res)
{
	write_lock(m, &res->lock_wait_ns);
	res->locks++;
	walk_locked(m, first, n, clear, yo, res);
	mmu_write_unlock(&m->mmu_lock);
	return AB_AGE_OK;
}

static int age_read_locked(struct ab_model *m, uint64_t first, uint64_t n, bool clear, uint64_t *yo,
			   struct ab_age_res *res)
{
	res->lock_wait_ns += mmu_read_lock_timed(&m->mmu_lock);
	res->locks++;
	ab_rcu_lock();
	walk_cas(m, first, n, clear, NULL, yo, res);
	ab_rcu_unlock();
	mmu_read_unlock(&m->mmu_lock);
	return AB_AGE_OK;
}

static int age_fast_only(struct ab_model *m, uint64_t first, uint64_t n, bool clear, uint64_t *yo,
			 struct ab_age_res *res)
{
	if (needs_lock(m, first, n)) {
		res->declines++;
		return AB_AGE_DECLINED;
	}
	ab_rcu_lock();
	walk_cas(m, first, n, clear, NULL, yo, res);
	ab_rcu_unlock();
	return AB_AGE_OK;
}

/* fast_only's walk, but where it would decline it takes mmu_lock for write. */
static int age_fast_or_locked(struct ab_model *m, uint64_t first, uint64_t n, bool clear,
			      uint64_t *yo, struct ab_age_res *res)
{
	if (needs_lock(m, first, n)) {
		res->fallbacks++;
		return age_locked(m, first, n, clear, yo, res);
	}
	ab_rcu_lock();
	walk_cas(m, first, n, clear, NULL, yo, res);
	ab_rcu_unlock();
	return AB_AGE_OK;
}

static int age_bitmap(struct ab_model *m, uint64_t first, uint64_t n, bool clear, uint64_t *yo,
		      struct ab_age_res *res)
{
	int ret = AB_AGE_OK;

	for (uint64_t off = 0; off < n; off += 64) {
		unsigned k = n - off < 64 ? (unsigned)(n - off) : 64;
		uint64_t y;
		int r = ab_model_age_bitmap(m, first + off, k, ~0ull, clear, &y, res);

		if (r == AB_AGE_DECLINED)
			ret = AB_AGE_DECLINED; /* nothing answered for this window */
		else if (yo)
			yo[off >> 6] = y;
	}
	return ret;
}

static int age_scan(struct ab_model *m, uint64_t first, uint64_t n, bool clear, uint64_t *yo,
		    struct ab_age_res *res)
{
	scan(m, first, n, clear, yo, res);
	return AB_AGE_OK;
}

static walker_fn *const walkers[AB_MODE_NR] = {
    [AB_MODE_LOCKED] = age_locked,	 [AB_MODE_READ_LOCKED] = age_read_locked,
    [AB_MODE_FAST_ONLY] = age_fast_only, [AB_MODE_FAST_OR_LOCKED] = age_fast_or_locked,
    [AB_MODE_BITMAP] = age_bitmap,	 [AB_MODE_SCAN] = age_scan,
};

bool ab_model_has_walker(enum ab_mode_id w)
{
	return (unsigned)w < AB_MODE_NR && walkers[w] && (ab_mode_table[w].where & AB_IN_MODEL);
}

int ab_model_age(struct ab_model *m, enum ab_mode_id w, uint64_t first, uint64_t n, bool clear,
		 uint64_t *young_out, struct ab_age_res *res)
{
	if (!res || !n || first >= m->npages || n > m->npages - first || !ab_model_has_walker(w))
		return -EINVAL;
	if (young_out)
		memset(young_out, 0, ((n + 63) / 64) * sizeof(uint64_t));
	res->calls++;
	return walkers[w](m, first, n, clear, young_out, res);
}

int ab_model_age_batch(struct ab_model *m, enum ab_mode_id w, uint64_t first, uint64_t n,
		       uint64_t batch, bool clear, uint64_t *young_out, struct ab_age_res *res)
{
	int ret = AB_AGE_OK;

	if (!batch || !res || !n || first >= m->npages || n > m->npages - first ||
	    !ab_model_has_walker(w) || (young_out && batch > 64 && batch < n && batch % 64))
		return -EINVAL;
	if (batch >= n)
		return ab_model_age(m, w, first, n, clear, young_out, res);
	if (young_out)
		memset(young_out, 0, ((n + 63) / 64) * sizeof(uint64_t));
	for (uint64_t off = 0; off < n; off += batch) {
		uint64_t k = n - off < batch ? n - off : batch, y[1];
		/* Whole words of @young_out when the call is word-aligned;
		 * else through one word (batch < 64). */
		bool direct = young_out && !(off & 63) && (batch & 63) == 0;
		int r = ab_model_age(m, w, first + off, k, clear,
				     direct ? young_out + (off >> 6) : (young_out ? y : NULL), res);

		if (r < 0)
			return r;
		if (r == AB_AGE_DECLINED)
			ret = AB_AGE_DECLINED;
		if (young_out && !direct)
			for (uint64_t i = 0; i < k; i++)
				if ((y[i >> 6] >> (i & 63)) & 1)
					young_out[(off + i) >> 6] |= 1ull << ((off + i) & 63);
	}
	return ret;
}
