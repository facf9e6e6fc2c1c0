// SPDX-License-Identifier: GPL-2.0
/*
 * abmodel.c - the page-table model, mmu_lock, faults, zaps and the walkers.
 * Design notes: docs/model.md.
 */
#define _GNU_SOURCE
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

int ab_walker_parse(const char *name)
{
	const struct ab_mode *md = ab_mode_find(name);

	return md && ab_model_has_walker(md->id) ? (int)md->id : -1;
}

bool ab_model_slow_walker(void)
{
#ifdef AB_MODEL_TEST_SLOW_WALKER
	return true;
#else
	return false;
#endif
}

/* RCU glue (see abmodel_rcu.h for the ThreadSanitizer annotations). */
int ab_rcu_tsan_sync;
static __thread int rcu_registered;

void ab_model_thread_register(void)
{
	if (!rcu_registered) {
		rcu_register_thread();
		rcu_registered = 1;
	}
}

int ab_model_pin_rcu_thread(int nvcpus)
{
	struct call_rcu_data *crdp = get_default_call_rcu_data();

	return crdp ? ab_pin_helper_thread(get_call_rcu_thread(crdp), nvcpus) : -1;
}

void ab_model_thread_unregister(void)
{
	if (rcu_registered) {
		rcu_unregister_thread();
		rcu_registered = 0;
	}
}

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

uint64_t ab_model_pool_waits(const struct ab_model *m)
{
	return __atomic_load_n(&m->pool_waits, __ATOMIC_RELAXED);
}

uint64_t ab_model_write_locks(const struct ab_model *m)
{
	return m->write_locks;
}

static __thread uint64_t tls_lock_wait;

uint64_t ab_model_thread_lock_wait_ns(void)
{
	return tls_lock_wait;
}

void ab_spin_ns(uint64_t ns)
{
	uint64_t t0 = ab_now_ns();

	while (ab_now_ns() - t0 < ns) {
#if defined(__x86_64__) || defined(__i386__)
		__builtin_ia32_pause();
#endif
	}
}

static inline void write_lock(struct ab_model *m, uint64_t *wait)
{
	uint64_t w = mmu_write_lock_timed(&m->mmu_lock);

	m->write_locks++;
	if (wait)
		*wait += w;
}

uint64_t ab_model_npages(const struct ab_model *m)
{
	return m->npages;
}

enum ab_pgsize ab_model_pgsize(const struct ab_model *m)
{
	return m->pgsize;
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

int ab_model_oracle(struct ab_model *m, uint64_t page, struct ab_oracle_page *out)
{
	if (!m->oracle || page >= m->npages)
		return -EINVAL;
	struct ab_oracle_page *o = &m->oracle[page];
	out->set_a = LOAD(&o->set_a);
	out->clr_a_walk = LOAD(&o->clr_a_walk);
	out->clr_a_zap = LOAD(&o->clr_a_zap);
	out->set_d = LOAD(&o->set_d);
	out->clr_d_zap = LOAD(&o->clr_d_zap);
	return 0;
}

/* ---- table allocation ---- */

static uint64_t *slot_mem(struct ab_pool *p, uint32_t s)
{
	return p->mem + (size_t)s * AB_PT_ENTRIES;
}

static uint32_t slot_of(struct ab_pool *p, const uint64_t *t)
{
	return (uint32_t)((t - p->mem) / AB_PT_ENTRIES);
}

/* A leaf table for the GFNs starting at @gfn0, zeroed, not yet published. */
static uint64_t *pool_alloc(struct ab_model *m, uint64_t gfn0)
{
	struct ab_pool *p = &m->pool;
	uint32_t s;

	pthread_mutex_lock(&p->lock);
	if (p->nfree) {
		s = p->stack[--p->nfree];
	} else if (p->hiwater < p->cap) {
		/* Never used: slots are handed out in order, so a populated
		 * table is laid out in order, and untouched memory stays so. */
		s = p->hiwater;
		STORE(&p->hiwater, s + 1);
	} else {
		pthread_mutex_unlock(&p->lock);
		return NULL;
	}
	pthread_mutex_unlock(&p->lock);

	uint64_t *t = slot_mem(p, s);
	UNPOISON(t, TABLE_BYTES);
	/* Atomic zeroing: a stale `scan` may still read this memory. */
	for (unsigned i = 0; i < AB_PT_ENTRIES; i++)
		__atomic_store_n(&t[i], 0, __ATOMIC_RELAXED);
	__atomic_store_n(&p->gfn[s], gfn0, __ATOMIC_RELAXED);
	return t;
}

static void pool_put(struct ab_model *m, uint32_t s)
{
	struct ab_pool *p = &m->pool;

	STORE(&p->state[s], SLOT_FREE);
	POISON(slot_mem(p, s), TABLE_BYTES);
	pthread_mutex_lock(&p->lock);
	p->stack[p->nfree++] = s;
	pthread_mutex_unlock(&p->lock);
}

static void free_batch_cb(struct rcu_head *head)
{
	struct free_batch *b = caa_container_of(head, struct free_batch, rcu);

	AB_TSAN_ACQUIRE(b);
	AB_TSAN_ACQUIRE(&ab_rcu_tsan_sync); /* all readers that could see the tables */
	struct ab_model *m = b->m;
	for (uint32_t i = 0; i < b->n; i++)
		pool_put(m, b->slot[i]);
	free(b);
	AB_TSAN_RELEASE(&m->pool); /* rcu_barrier() in destroy waits for us */
}

static uint64_t *upper_alloc(void)
{
	uint64_t *t = aligned_alloc(TABLE_BYTES, TABLE_BYTES);

	if (t)
		memset(t, 0, TABLE_BYTES);
	return t;
}

/* ---- create / destroy ---- */

struct ab_model *ab_model_create(const struct ab_model_params *prm)
{
	struct ab_model *m;
	uint64_t span;

	if (!prm || (prm->pgsize != AB_PG_4K && prm->pgsize != AB_PG_2M) || !prm->npages ||
	    prm->npages > (1ull << 30)) {
		errno = EINVAL;
		return NULL;
	}
	span = lvl_span(prm->pgsize);
	if (prm->base_gfn % span || prm->base_gfn + prm->npages * span > (1ull << GFN_BITS)) {
		errno = EINVAL;
		return NULL;
	}
	m = calloc(1, sizeof(*m));
	if (!m)
		goto nomem;
	m->pgsize = prm->pgsize;
	m->leaf_level = prm->pgsize;
	m->npages = prm->npages;
	m->base_gfn = prm->base_gfn;
	m->span = span;
	m->end_gfn = prm->base_gfn + prm->npages * span;
	m->tab_span = span * AB_PT_ENTRIES;

	if (prm->mmu_lock != AB_LOCK_QUEUED && prm->mmu_lock != AB_LOCK_PTHREAD) {
		free(m);
		errno = EINVAL;
		return NULL;
	}
	m->mmu_lock.kind = prm->mmu_lock;
	pthread_rwlockattr_t attr;
	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&m->mmu_lock.pt, &attr);
	pthread_rwlockattr_destroy(&attr);

	m->root = upper_alloc();
	if (!m->root)
		goto nomem;

	uint64_t need = (m->end_gfn - 1) / m->tab_span - m->base_gfn / m->tab_span + 1;
	uint64_t slack = prm->pool_slack ? prm->pool_slack : (need / 4 > 64 ? need / 4 : 64);
	struct ab_pool *p = &m->pool;
	p->cap = (uint32_t)(need + slack);
	p->bytes = (size_t)p->cap * TABLE_BYTES;
	p->mem = mmap(NULL, p->bytes, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p->mem == MAP_FAILED) {
		p->mem = NULL;
		goto nomem;
	}
	POISON(p->mem, p->bytes);
	/* Large enough for calloc/malloc to map them: untouched, they cost
	 * nothing (the free stack only holds slots freed after use). */
	p->stack = malloc(sizeof(*p->stack) * p->cap);
	p->state = calloc(p->cap, 1);
	p->gfn = calloc(p->cap, sizeof(*p->gfn));
	if (!p->stack || !p->state || !p->gfn)
		goto nomem;
	p->nfree = 0;
	pthread_mutex_init(&p->lock, NULL);
	m->fault_hold_ns = prm->fault_hold_ns;

	if (prm->oracle) {
		m->oracle = calloc(m->npages, sizeof(*m->oracle));
		if (!m->oracle)
			goto nomem;
	}
	return m;
nomem:
	ab_model_destroy(m);
	errno = ENOMEM;
	return NULL;
}

static void free_upper(uint64_t *t, int lvl, int leaf_level)
{
	if (lvl - 1 > leaf_level) {
		for (unsigned i = 0; i < AB_PT_ENTRIES; i++)
			if (t[i] & AB_SPTE_PRESENT)
				free_upper(child(t[i]), lvl - 1, leaf_level);
	}
	free(t);
}

void ab_model_destroy(struct ab_model *m)
{
	if (!m)
		return;
	rcu_barrier(); /* pending free_batch callbacks reference the pool */
	AB_TSAN_ACQUIRE(&m->pool);
	free(m->pend);
	if (m->root)
		free_upper(m->root, AB_PT_LEVELS, m->leaf_level);
	if (m->pool.mem) {
		UNPOISON(m->pool.mem, m->pool.bytes);
		munmap(m->pool.mem, m->pool.bytes);
		pthread_mutex_destroy(&m->pool.lock);
	}
	free(m->pool.stack);
	free(m->pool.state);
	free(m->pool.gfn);
	free(m->oracle);
	free(m->shadow);
	pthread_rwlock_destroy(&m->mmu_lock.pt);
	free(m);
}

int ab_model_mark_shadow(struct ab_model *m, uint64_t first, uint64_t n)
{
	if (!n || first >= m->npages || n > m->npages - first)
		return -EINVAL;
	void *ns = realloc(m->shadow, sizeof(*m->shadow) * (m->nshadow + 1));
	if (!ns)
		return -ENOMEM;
	m->shadow = ns;
	/* Keep the ranges sorted, disjoint and non-adjacent (merged), so that
	 * needs_lock() is a binary search: a grid with hundreds of marked
	 * tables must not make the bitmap walker's per-window check linear. */
	uint64_t lo = first, hi = first + n;
	unsigned i = 0, j, k;
	while (i < m->nshadow && m->shadow[i][1] < lo)
		i++;
	for (j = i; j < m->nshadow && m->shadow[j][0] <= hi; j++) {
		if (m->shadow[j][0] < lo)
			lo = m->shadow[j][0];
		if (m->shadow[j][1] > hi)
			hi = m->shadow[j][1];
	}
	/* ranges [i, j) merge into one at i */
	if (j == i) {
		memmove(&m->shadow[i + 1], &m->shadow[i], sizeof(*m->shadow) * (m->nshadow - i));
		m->nshadow++;
	} else if (j > i + 1) {
		for (k = 0; j + k < m->nshadow; k++) {
			m->shadow[i + 1 + k][0] = m->shadow[j + k][0];
			m->shadow[i + 1 + k][1] = m->shadow[j + k][1];
		}
		m->nshadow -= j - i - 1;
	}
	m->shadow[i][0] = lo;
	m->shadow[i][1] = hi;
	return 0;
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

bool ab_model_needs_lock(const struct ab_model *m, uint64_t first, uint64_t n)
{
	return n && needs_lock(m, first, n);
}

/* ---- faults ---- */

static inline uint64_t leaf_spte(const struct ab_model *m, uint64_t gfn, bool write)
{
	uint64_t e =
	    (gfn << 12) | AB_SPTE_PRESENT | AB_SPTE_WRITABLE | AB_SPTE_EXEC | AB_SPTE_ACCESSED;
	if (m->leaf_level > 1)
		e |= AB_SPTE_HUGE;
	if (write)
		e |= AB_SPTE_DIRTY;
	return e;
}

/*
 * The fault handler: mmu_lock for read, RCU read section (as KVM's TDP MMU
 * walk), tables and leaf installed with cmpxchg. Returns 0, or -ENOMEM when
 * the leaf-table pool is empty (caller waits for callbacks and retries).
 */
static int fault(struct ab_model *m, uint64_t gfn, bool write)
{
	int ret = 0;

	tls_lock_wait += mmu_read_lock_timed(&m->mmu_lock);
	ab_rcu_lock();
	uint64_t *t = m->root;
	for (int lvl = AB_PT_LEVELS; lvl > m->leaf_level; lvl--) {
		uint64_t *p = &t[idx(gfn, lvl)];
		uint64_t e = LOAD(p);
		if (!(e & AB_SPTE_PRESENT)) {
			bool pool = lvl - 1 == m->leaf_level;
			uint64_t *nt =
			    pool ? pool_alloc(m, gfn & ~(m->tab_span - 1)) : upper_alloc();
			if (!nt) {
				ret = -ENOMEM;
				goto out;
			}
			uint64_t ne = (uint64_t)(uintptr_t)nt | AB_SPTE_PRESENT | AB_SPTE_WRITABLE |
				      AB_SPTE_EXEC;
			if (cas(p, &e, ne)) {
				if (pool)
					STORE(&m->pool.state[slot_of(&m->pool, nt)], SLOT_LIVE);
				e = ne;
			} else if (pool) {
				/* Lost the race; never published, reuse at once. */
				pool_put(m, slot_of(&m->pool, nt));
			} else {
				free(nt);
			}
		}
		t = child(e);
	}
	uint64_t *p = &t[idx(gfn, m->leaf_level)];
	uint64_t e = LOAD(p);
	if (!(e & AB_SPTE_PRESENT)) {
		uint64_t ne = leaf_spte(m, gfn, write);
		if (cas(p, &e, ne)) {
			orc_set(m, gfn, 0, ne);
			ret = 1;
		}
		/* else another vCPU installed it: the access is retried */
	} else {
		/* Present (a spurious fault): set A/D as the access would. */
		const uint64_t want = AB_SPTE_ACCESSED | (write ? AB_SPTE_DIRTY : 0);
		while ((e & AB_SPTE_PRESENT) && (e & want) != want) {
			if (cas(p, &e, e | want)) {
				orc_set(m, gfn, e, e | want);
				break;
			}
		}
	}
	if (m->fault_hold_ns)
		ab_spin_ns(m->fault_hold_ns);
out:
	ab_rcu_unlock();
	mmu_read_unlock(&m->mmu_lock);
	return ret;
}

static struct free_batch *pend_take(struct ab_model *m, bool force);
static void pend_free(struct free_batch *b);

static int fault_retry(struct ab_model *m, uint64_t gfn, bool write)
{
	int r;

	for (int tries = 0; (r = fault(m, gfn, write)) == -ENOMEM; tries++) {
		if (tries > 1000) {
			fprintf(stderr, "abmodel: leaf-table pool exhausted (cap %u)\n",
				m->pool.cap);
			abort();
		}
		__atomic_fetch_add(&m->pool_waits, 1, __ATOMIC_RELAXED);
		write_lock(m, &tls_lock_wait);
		struct free_batch *b = pend_take(m, true);
		mmu_write_unlock(&m->mmu_lock);
		pend_free(b);
		rcu_barrier(); /* let zapped tables come back to the pool */
	}
	return r;
}

int ab_model_fault(struct ab_model *m, uint64_t page, bool write)
{
	if (page >= m->npages)
		return -EINVAL;
	return fault_retry(m, gfn_of(m, page), write);
}

/* Leaf SPTE pointer for @gfn, or NULL if a table on the way is missing.
 * Caller is in an RCU read section or holds mmu_lock. */
static inline uint64_t *leaf_ptr(const struct ab_model *m, uint64_t gfn)
{
	uint64_t *t = m->root;
	for (int lvl = AB_PT_LEVELS; lvl > m->leaf_level; lvl--) {
		uint64_t e = LOAD(&t[idx(gfn, lvl)]);
		if (!(e & AB_SPTE_PRESENT))
			return NULL;
		t = child(e);
	}
	return &t[idx(gfn, m->leaf_level)];
}

int ab_model_access(struct ab_model *m, uint64_t page, bool write, struct ab_hist *fault_hist)
{
	const uint64_t want = AB_SPTE_ACCESSED | (write ? AB_SPTE_DIRTY : 0);
	uint64_t gfn = gfn_of(m, page), t0 = 0;
	int faulted = 0;

	for (;;) {
		bool hit = false;

		ab_rcu_lock();
		uint64_t *p = leaf_ptr(m, gfn);
		if (p) {
			uint64_t e = LOAD(p);
			while (e & AB_SPTE_PRESENT) {
				if ((e & want) == want) {
					hit = true; /* hardware does not rewrite set bits */
					break;
				}
				if (cas(p, &e, e | want)) {
					orc_set(m, gfn, e, e | want);
					hit = true;
					break;
				}
			}
		}
		ab_rcu_unlock();
		if (hit)
			break;
		if (!faulted) {
			faulted = 1;
			if (fault_hist)
				t0 = ab_now_ns();
		}
		fault_retry(m, gfn, write);
	}
	if (faulted && fault_hist)
		ab_hist_record(fault_hist, ab_now_ns() - t0);
	return faulted;
}

int ab_model_populate(struct ab_model *m, uint64_t first, uint64_t n, bool write)
{
	if (first > m->npages || n > m->npages - first)
		return -EINVAL;
	for (uint64_t i = first; i < first + n; i++)
		ab_model_access(m, i, write, NULL);
	return 0;
}

uint64_t ab_model_spte(struct ab_model *m, uint64_t page)
{
	uint64_t e = 0;

	if (page >= m->npages)
		return 0;
	ab_rcu_lock();
	uint64_t *p = leaf_ptr(m, gfn_of(m, page));
	if (p)
		e = LOAD(p);
	ab_rcu_unlock();
	return e;
}

/* ---- zaps ---- */

static inline uint64_t zap_leaf(struct ab_model *m, uint64_t *p, uint64_t gfn)
{
	if (!(LOAD_RLX(p) & AB_SPTE_PRESENT))
		return 0;
	uint64_t old = __atomic_exchange_n(p, 0, __ATOMIC_ACQ_REL);
	if (!(old & AB_SPTE_PRESENT))
		return 0;
	orc_zap(m, gfn, old);
	return 1;
}

/*
 * Zapped leaf tables wait on m->pend (guarded by mmu_lock for write) and go
 * to call_rcu() in batches: at most PEND_MAX tables or PEND_NS old, as the
 * kernel batches RCU callbacks. One grace period per zap would keep
 * liburcu's call_rcu thread spinning, and on a 2-core machine that steals a
 * vCPU's core (measured before this batching: docs/model.md).
 */
#define PEND_MAX 16
#define PEND_NS	 2000000ull

static void pend_add(struct ab_model *m, uint32_t s)
{
	if (m->npend == m->pend_cap) {
		uint32_t cap = m->pend_cap ? 2 * m->pend_cap : 64;
		uint32_t *np = realloc(m->pend, cap * sizeof(*np));
		if (!np) {
			fprintf(stderr, "abmodel: out of memory in zap\n");
			abort();
		}
		m->pend = np;
		m->pend_cap = cap;
	}
	if (!m->npend)
		m->pend_t0 = ab_now_ns();
	m->pend[m->npend++] = s;
}

/* Under mmu_lock for write: detach the pending tables as a batch if
 * @force or due; the caller hands it to call_rcu() after unlocking. */
static struct free_batch *pend_take(struct ab_model *m, bool force)
{
	if (!m->npend || (!force && m->npend < PEND_MAX && ab_now_ns() - m->pend_t0 < PEND_NS))
		return NULL;
	struct free_batch *b = malloc(sizeof(*b) + sizeof(b->slot[0]) * m->npend);
	if (!b) {
		fprintf(stderr, "abmodel: out of memory in zap\n");
		abort();
	}
	b->m = m;
	b->n = m->npend;
	memcpy(b->slot, m->pend, sizeof(b->slot[0]) * m->npend);
	m->npend = 0;
	return b;
}

static void pend_free(struct free_batch *b)
{
	if (b) {
		AB_TSAN_RELEASE(b);
		call_rcu(&b->rcu, free_batch_cb);
	}
}

uint64_t ab_model_zap(struct ab_model *m, uint64_t first, uint64_t n)
{
	uint64_t zapped = 0;
	struct free_batch *b;

	if (first >= m->npages || !n)
		return 0;
	if (n > m->npages - first)
		n = m->npages - first;
	uint64_t gfn = gfn_of(m, first), end = gfn_of(m, first + n);

	write_lock(m, &tls_lock_wait);
	while (gfn < end) {
		/* Descend to the parent of the leaf table. */
		uint64_t *t = m->root, next;
		int lvl;
		for (lvl = AB_PT_LEVELS; lvl > m->leaf_level + 1; lvl--) {
			uint64_t e = LOAD(&t[idx(gfn, lvl)]);
			if (!(e & AB_SPTE_PRESENT))
				break;
			t = child(e);
		}
		if (lvl > m->leaf_level + 1) {
			next = (gfn & ~(lvl_span(lvl) - 1)) + lvl_span(lvl);
			gfn = next < end ? next : end;
			continue;
		}
		uint64_t *pe = &t[idx(gfn, lvl)];
		uint64_t e = LOAD(pe);
		uint64_t tstart = gfn & ~(m->tab_span - 1);
		next = tstart + m->tab_span;
		if (!(e & AB_SPTE_PRESENT)) {
			gfn = next < end ? next : end;
			continue;
		}
		uint64_t *lt = child(e);
		if (gfn == tstart && next <= end) {
			/* Whole leaf table: unlink it, then collect its leaves. */
			__atomic_store_n(pe, 0, __ATOMIC_RELEASE);
			uint32_t s = slot_of(&m->pool, lt);
			STORE(&m->pool.state[s], SLOT_REMOVED);
			for (unsigned i = 0; i < AB_PT_ENTRIES; i++) {
				uint64_t g = tstart + i * m->span;
				if (g >= m->base_gfn && g < m->end_gfn)
					zapped += zap_leaf(m, &lt[i], g);
			}
			pend_add(m, s);
			gfn = next;
		} else {
			uint64_t stop = next < end ? next : end;
			for (; gfn < stop; gfn += m->span)
				zapped += zap_leaf(m, &lt[idx(gfn, m->leaf_level)], gfn);
		}
	}
	b = pend_take(m, false);
	mmu_write_unlock(&m->mmu_lock);
	pend_free(b);
	return zapped;
}

uint64_t ab_model_unmap_atomic(struct ab_model *m, uint64_t first, uint64_t n)
{
	uint64_t zapped = 0;

	if (first >= m->npages || !n)
		return 0;
	if (n > m->npages - first)
		n = m->npages - first;
	tls_lock_wait += mmu_read_lock_timed(&m->mmu_lock);
	ab_rcu_lock();
	for (uint64_t pg = first; pg < first + n; pg++) {
		uint64_t gfn = gfn_of(m, pg);
		uint64_t *p = leaf_ptr(m, gfn);
		if (p)
			zapped += zap_leaf(m, p, gfn);
	}
	ab_rcu_unlock();
	mmu_read_unlock(&m->mmu_lock);
	return zapped;
}

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
