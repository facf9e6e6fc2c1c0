/* SPDX-License-Identifier: GPL-2.0 */
/*
 * abmodel_priv.h - what the model's files share: the table and pool
 * structures, the geometry, the oracle's bookkeeping and the small inline
 * helpers of the hot paths (kept inline in every file that walks).
 * abmodel.c: creation, shadow marks, faults, zaps; abmodel_walk.c: the
 * aging walkers; abmodel_load.c: the vCPU and invalidation threads.
 */
#ifndef ABMODEL_PRIV_H
#define ABMODEL_PRIV_H

#include "abmodel.h"
#include "abmodel_rcu.h"
#include "abmodel_lock.h"

#include <ab_common.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define POISON(p, n)   ASAN_POISON_MEMORY_REGION(p, n)
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define POISON(p, n)   ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define TABLE_BYTES (AB_PT_ENTRIES * sizeof(uint64_t))
#define GFN_BITS    (9 * AB_PT_LEVELS)

#define LOAD(p)	    __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define LOAD_RLX(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define INC(p)	    __atomic_fetch_add((p), 1, __ATOMIC_RELAXED)

static inline bool cas(uint64_t *p, uint64_t *old, uint64_t new)
{
	return __atomic_compare_exchange_n(p, old, new, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

enum { SLOT_FREE = 0, SLOT_LIVE = 1, SLOT_REMOVED = 2 };

/* Leaf-level table pages come from one contiguous pool (so that `scan` can
 * pass over leaf SPTE memory linearly); upper levels are aligned_alloc'd and
 * live until ab_model_destroy(). */
struct ab_pool {
	uint64_t *mem; /* cap * 512 entries, reserved address space, touched on use */
	size_t bytes;
	uint32_t cap;
	uint32_t hiwater; /* slots [0, hiwater) were ever used; the others are free */
	uint32_t nfree;
	uint32_t *stack; /* freed slots (below hiwater) */
	uint8_t *state;	 /* SLOT_* (atomic) */
	uint64_t *gfn;	 /* first GFN covered by the slot (atomic) */
	pthread_mutex_t lock;
};

struct ab_model {
	enum ab_pgsize pgsize;
	int leaf_level;
	uint64_t npages, base_gfn, span, end_gfn;
	uint64_t tab_span; /* GFNs covered by one leaf table */
	uint64_t *root;
	struct ab_mmu_lock mmu_lock;
	uint64_t write_locks; /* acquisitions for write, counted under the lock */
	uint32_t fault_hold_ns;
	uint64_t pool_waits;
	uint32_t *pend, npend, pend_cap; /* zapped tables not yet given to RCU */
	uint64_t pend_t0;
	struct ab_pool pool;
	struct ab_oracle_page *oracle;
	uint64_t (*shadow)[2];
	unsigned nshadow;
};

struct free_batch {
	struct rcu_head rcu;
	struct ab_model *m;
	uint32_t n;
	uint32_t slot[];
};

/* ---- geometry ---- */

static inline unsigned idx(uint64_t gfn, int lvl)
{
	return (gfn >> (9 * (lvl - 1))) & (AB_PT_ENTRIES - 1);
}

static inline uint64_t lvl_span(int lvl)
{
	return 1ull << (9 * (lvl - 1));
}

static inline uint64_t gfn_of(const struct ab_model *m, uint64_t page)
{
	return m->base_gfn + page * m->span;
}

static inline uint64_t page_of(const struct ab_model *m, uint64_t gfn)
{
	return (gfn - m->base_gfn) / m->span;
}

static inline uint64_t *child(uint64_t e)
{
	return (uint64_t *)(uintptr_t)(e & AB_SPTE_PFN_MASK);
}

static inline uint64_t *slot_mem(struct ab_pool *p, uint32_t s)
{
	return p->mem + (size_t)s * AB_PT_ENTRIES;
}

static inline void write_lock(struct ab_model *m, uint64_t *wait)
{
	uint64_t w = mmu_write_lock_timed(&m->mmu_lock);

	m->write_locks++;
	if (wait)
		*wait += w;
}

/* ---- oracle ---- */

static inline void orc_set(struct ab_model *m, uint64_t gfn, uint64_t old, uint64_t new)
{
	if (!m->oracle)
		return;
	struct ab_oracle_page *o = &m->oracle[page_of(m, gfn)];
	if ((new &AB_SPTE_ACCESSED) && !(old & AB_SPTE_ACCESSED))
		INC(&o->set_a);
	if ((new &AB_SPTE_DIRTY) && !(old & AB_SPTE_DIRTY))
		INC(&o->set_d);
}

static inline void orc_walk_clear(struct ab_model *m, uint64_t gfn)
{
	if (m->oracle)
		INC(&m->oracle[page_of(m, gfn)].clr_a_walk);
}

static inline void orc_zap(struct ab_model *m, uint64_t gfn, uint64_t old)
{
	if (!m->oracle)
		return;
	struct ab_oracle_page *o = &m->oracle[page_of(m, gfn)];
	if (old & AB_SPTE_ACCESSED)
		INC(&o->clr_a_zap);
	if (old & AB_SPTE_DIRTY)
		INC(&o->clr_d_zap);
}

static inline bool needs_lock(const struct ab_model *m, uint64_t first, uint64_t n)
{
	if (!m->nshadow)
		return false;
	/* first range whose end is past @first */
	unsigned lo = 0, hi = m->nshadow;
	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;
		if (m->shadow[mid][1] <= first)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < m->nshadow && m->shadow[lo][0] < first + n;
}

#endif /* ABMODEL_PRIV_H */
