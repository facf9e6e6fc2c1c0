// SPDX-License-Identifier: GPL-2.0
/*
 * abmodel.c - the page-table model, mmu_lock, faults, zaps and the walkers.
 * Design notes: docs/model.md.
 */
#define _GNU_SOURCE
#include "abmodel_priv.h"

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

uint64_t ab_model_npages(const struct ab_model *m)
{
	return m->npages;
}

enum ab_pgsize ab_model_pgsize(const struct ab_model *m)
{
	return m->pgsize;
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
