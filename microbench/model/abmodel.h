/* SPDX-License-Identifier: GPL-2.0 */
/*
 * abmodel.h - a userspace model of the x86 TDP MMU page tables, of
 * kvm->mmu_lock, and of the four secondary-MMU aging walkers (plus a linear
 * scan, the physical floor). See docs/model.md for what is modelled
 * faithfully and what is not.
 *
 * Threads: every thread that calls into the model must first call
 * ab_model_thread_register() (it registers the thread with liburcu) and
 * ab_model_thread_unregister() before it exits. Both are idempotent.
 *
 * Page indices: a model maps @npages pages of one size (4 KiB or 2 MiB)
 * starting at guest frame @base_gfn. Page i covers GFN base_gfn + i * span
 * (span 1 for 4K, 512 for 2M). Every API below takes page indices.
 */
#ifndef AB_MODEL_H
#define AB_MODEL_H

#include "ab_schema.h"

#include <stdbool.h>
#include <stdint.h>

struct ab_hist;

/* SPTE layout, as x86 EPT: R (used as present), W, X, page size, A, D. */
#define AB_SPTE_PRESENT	 (1ull << 0)
#define AB_SPTE_WRITABLE (1ull << 1)
#define AB_SPTE_EXEC	 (1ull << 2)
#define AB_SPTE_HUGE	 (1ull << 7)
#define AB_SPTE_ACCESSED (1ull << 8)
#define AB_SPTE_DIRTY	 (1ull << 9)
#define AB_SPTE_PFN_MASK 0x000ffffffffff000ull

#define AB_PT_ENTRIES 512
#define AB_PT_LEVELS  4

/*
 * Walkers are the modes of common/ab_modes.def whose `where` has MODEL; the
 * dispatch table in abmodel.c has one function per such mode.
 */
bool ab_model_has_walker(enum ab_mode_id w);
/* The mode id of a model walker's name; -1 if unknown or not a model walker. */
int ab_walker_parse(const char *name);

enum ab_pgsize { AB_PG_4K = 1, AB_PG_2M = 2 }; /* value = leaf level */

/* mmu_lock implementation (see abmodel_lock.h and docs/model.md). */
enum ab_lock_kind {
	AB_LOCK_QUEUED = 0,  /* FIFO queued rwlock, as the kernel's qrwlock (default) */
	AB_LOCK_PTHREAD = 1, /* glibc pthread_rwlock, writer-preferring */
};

struct ab_model_params {
	enum ab_pgsize pgsize;
	uint64_t npages;   /* pages of @pgsize; 1 .. 2^30 (4K: 4 TiB), sparse: tables
			    * are allocated when first faulted, so an untouched
			    * range costs address space, not memory */
	uint64_t base_gfn; /* aligned to the page size */
	bool oracle;	   /* keep per-page A/D transition counters (tests) */
	/* Leaf tables kept for tables zapped but not yet past a grace period
	 * (0 = default: a quarter of the needed ones, at least 64). */
	uint32_t pool_slack;
	enum ab_lock_kind mmu_lock;
	/* Extra time a fault holds mmu_lock for read after its walk and
	 * install (the calibrated part of KVM's fault under the lock; 0 =
	 * none). */
	uint32_t fault_hold_ns;
};

struct ab_model;
/* Returns NULL with errno EINVAL (bad params) or ENOMEM. */
struct ab_model *ab_model_create(const struct ab_model_params *p);
/* Waits for pending RCU callbacks (rcu_barrier), then frees everything. */
void ab_model_destroy(struct ab_model *m);
uint64_t ab_model_npages(const struct ab_model *m);
enum ab_pgsize ab_model_pgsize(const struct ab_model *m);
/* Times a fault found the leaf-table pool empty and waited (rcu_barrier)
 * for zapped tables to come back. */
uint64_t ab_model_pool_waits(const struct ab_model *m);

/* mmu_lock acquisitions for write so far (walkers, zaps, pool waits):
 * counted under the lock. Read it while no other thread uses the model. */
uint64_t ab_model_write_locks(const struct ab_model *m);
/* The calling thread's total time waiting for mmu_lock in faults and zaps
 * (timed only after a failed trylock), in ns. */
uint64_t ab_model_thread_lock_wait_ns(void);
/* Busy-wait @ns (clock-based), for calibrated costs. */
void ab_spin_ns(uint64_t ns);

void ab_model_thread_register(void);
void ab_model_thread_unregister(void);

/* Fault pages [first, first+n) in from the calling thread (A set, as a
 * fault does; D too if @write). Returns 0 or -EINVAL. */
int ab_model_populate(struct ab_model *m, uint64_t first, uint64_t n, bool write);

/*
 * One guest access to page @page as the hardware does it: a lockless page
 * walk (inside an RCU read section, standing for "vCPU in guest mode"), then
 * an atomic cmpxchg setting A (and D on a write) on a present leaf. A
 * non-present entry takes a fault: mmu_lock for read, missing tables and the
 * leaf installed with cmpxchg. Returns 0 (hit) or 1 (took a fault); the fault
 * latency (lock wait included) goes to @fault_hist if not NULL.
 */
int ab_model_access(struct ab_model *m, uint64_t page, bool write, struct ab_hist *fault_hist);

/*
 * A vCPU page fault on @page as KVM's TDP MMU takes it: mmu_lock for read
 * (waiting time to ab_model_thread_lock_wait_ns), RCU walk, missing tables
 * and the leaf installed with cmpxchg (A set, D on a write); on a present
 * leaf (another vCPU fixed it: a spurious fault) A/D are set with cmpxchg;
 * then the lock is held fault_hold_ns more. Returns 1 if it installed the
 * leaf, 0 if it was present, -EINVAL for a bad page.
 */
int ab_model_fault(struct ab_model *m, uint64_t page, bool write);

/* Read one leaf SPTE (0 if not mapped). For tests and tools. */
uint64_t ab_model_spte(struct ab_model *m, uint64_t page);

/*
 * Zap (invalidate) pages [first, first+n) under mmu_lock for write: leaf
 * tables entirely inside the range are unlinked and freed after an RCU grace
 * period (their entries are first atomically zeroed, A/D handed to the
 * "primary MMU" as KVM's handle_removed_pt does); other leaves are zeroed
 * with xchg. Returns the number of present leaves zapped.
 */
uint64_t ab_model_zap(struct ab_model *m, uint64_t first, uint64_t n);
/*
 * Zap leaves in [first, first+n) under mmu_lock for *read*, with atomic
 * xchg (as KVM's tdp_mmu_zap_spte_atomic); tables stay. Used by vCPUs to
 * recycle their private "fresh" window. Returns leaves zapped.
 */
uint64_t ab_model_unmap_atomic(struct ab_model *m, uint64_t first, uint64_t n);

/* Mark pages [first, first+n) as needing mmu_lock (shadow-MMU model):
 * fast_only and bitmap decline any request that intersects them. Call before
 * the model is shared between threads. */
int ab_model_mark_shadow(struct ab_model *m, uint64_t first, uint64_t n);
/* true if [first, first+n) intersects a marked range: the predicate on which
 * fast_only declines a request and bitmap a window. */
bool ab_model_needs_lock(const struct ab_model *m, uint64_t first, uint64_t n);

struct ab_age_res {
	uint64_t scanned;      /* leaf entries examined */
	uint64_t young;	       /* pages reported young */
	uint64_t lock_wait_ns; /* waiting to acquire mmu_lock */
	uint64_t declines;     /* requests declined (fast_only, bitmap) */
	uint64_t fallbacks;    /* requests answered under mmu_lock instead (fast_or_locked) */
	uint64_t retries;      /* cmpxchg lost to a concurrent update, retried */
	uint64_t left_young;   /* gave up clearing: reported young, A left set */
	uint64_t locks;	       /* mmu_lock acquisitions (read or write) */
	uint64_t calls;	       /* aging calls (ab_model_age_batch: one per batch) */
};

#define AB_AGE_OK	0
#define AB_AGE_DECLINED 1

/*
 * Age pages [first, first+n) with walker @w. @clear: test-and-clear (as
 * clear_young) vs test only (test_young). If @young_out is not NULL it gets
 * n bits (word i bit j = page first + 64*i + j), set for pages reported
 * young. @res is accumulated into (not zeroed). The bitmap walker is called
 * once per 64-page window with a full mask. Returns AB_AGE_OK,
 * AB_AGE_DECLINED or -EINVAL. fast_only declines the whole request (nothing
 * answered, @young_out all zero, nothing cleared); bitmap declines per
 * window (the declined windows' bits are zero and nothing in them was
 * cleared; the others are answered; res->declines counts windows).
 */
int ab_model_age(struct ab_model *m, enum ab_mode_id w, uint64_t first, uint64_t n, bool clear,
		 uint64_t *young_out, struct ab_age_res *res);

/*
 * What a caller of 6.12's notifiers does for a range: one aging call per
 * @batch pages (1: page_idle and MGLRU's per-PTE clear_young; 64: a
 * look-around window; >= n: the whole range in one call), each call as
 * ab_model_age (so `locked` takes and drops mmu_lock per call, and bitmap
 * walks windows of min(batch, 64)). @young_out as ab_model_age over the
 * whole range (then @batch must be < 64 or a multiple of 64). Returns
 * AB_AGE_DECLINED if any call declined, else AB_AGE_OK, or -EINVAL.
 */
int ab_model_age_batch(struct ab_model *m, enum ab_mode_id w, uint64_t first, uint64_t n,
		       uint64_t batch, bool clear, uint64_t *young_out, struct ab_age_res *res);

/*
 * The bitmap walker proper: one lockless walk over the look-around window
 * [first, first+n), n <= 64. Only pages whose bit is set in @mask are aged;
 * *@young gets bit i set if page first+i was young (and cleared if @clear).
 * May miss a young page (lost race), never reports an old one young.
 */
int ab_model_age_bitmap(struct ab_model *m, uint64_t first, unsigned n, uint64_t mask, bool clear,
			uint64_t *young, struct ab_age_res *res);

/*
 * Oracle (params.oracle): per-page counters of Accessed/Dirty transitions.
 * set_a: 0->1 transitions of A by vCPU accesses and faults (installs);
 * clr_a_walk: 1->0 by walkers; clr_a_zap: A handed over by zaps;
 * set_d / clr_d_zap likewise for Dirty (walkers must never clear D).
 * Invariant at quiescence: set_a == clr_a_walk + clr_a_zap + A_now, and
 * set_d == clr_d_zap + D_now.
 */
struct ab_oracle_page {
	uint64_t set_a, clr_a_walk, clr_a_zap, set_d, clr_d_zap;
};
/* Snapshot of page @page's counters (atomic reads); -EINVAL if no oracle. */
int ab_model_oracle(struct ab_model *m, uint64_t page, struct ab_oracle_page *out);

/*
 * vCPU workload: a thread loop accessing pages of a region.
 */
enum ab_pattern { AB_PAT_SEQ, AB_PAT_RANDOM, AB_PAT_SKEW };
struct ab_vcpu {
	/* configuration */
	struct ab_model *m;
	uint64_t first, n;	       /* the region of the aged range it touches */
	enum ab_pattern pattern;       /* SKEW: 90% of accesses to the first 10% */
	unsigned write_pct;	       /* 0..100 */
	uint64_t fresh_first, fresh_n; /* private window (fresh_n multiple of 512, or 0) */
	unsigned fresh_every;	       /* closed loop (fault_rate 0): every Nth access goes to the
					* next fresh page, segments recycled under the read lock */
	/*
	 * Open loop (fault_rate > 0): faults arrive every 1e9/fault_rate ns
	 * (first one at a random phase) whether or not the previous one has
	 * finished; a late fault is served as soon as the vCPU can, and its
	 * latency is completion - scheduled arrival (queueing included). Each
	 * fault spins fault_work_ns outside mmu_lock (exit, GUP: the part of
	 * KVM's fault before the lock), then ab_model_fault(): fault_in_pct %
	 * on a random page of [first, first+n) (inside the aged range), the
	 * others on the next page of the fresh window (outside it). The queue is
	 * bounded: arrivals more than 1 ms overdue are dropped (`dropped`). Between
	 * faults the vCPU makes guest accesses (a zapped page refaults there,
	 * closed loop, its latency from the access).
	 */
	uint64_t fault_rate;
	unsigned fault_in_pct;
	uint64_t fault_work_ns;
	uint64_t seed;
	int pin_role; /* ab_pin_self(role) if >= 0 */
	/* control, shared */
	volatile int *stop;  /* run until *stop != 0 */
	volatile int *phase; /* faults recorded: phase 1 into hist[1], 2 into hist[0] */
	/* results (accesses/faults/lock_wait_ns readable while running, relaxed) */
	uint64_t accesses, faults, recycles;
	uint64_t lock_wait_ns;	 /* time blocked on mmu_lock so far */
	uint64_t dropped;	 /* open loop: arrivals dropped, over 1 ms overdue */
	int pinned_pu;		 /* PU it was bound to (pin_role >= 0), -1 if binding failed */
	int tid;		 /* its thread id (gettid), set when it starts */
	struct ab_hist *hist[2]; /* caller-allocated, may be NULL */
	/* open loop: faults over AB_STALL_NS late, phase 2 into [0], phase 1 into [1] */
	uint64_t stalls[2];
};
#define AB_STALL_NS 100000ull	  /* a fault this late is a stall (a host descheduling) */
void *ab_vcpu_thread(void *vcpu); /* pthread entry */

/* Invalidation thread: zaps one range of @zap_pages at a random aligned
 * place in [first, first+n) @rate times per second until *stop. */
struct ab_inval {
	struct ab_model *m;
	uint64_t first, n, zap_pages;
	unsigned rate;
	uint64_t seed;
	bool pin; /* ab_pin_helper_self(nvcpus) */
	int nvcpus;
	volatile int *stop;
	uint64_t zaps; /* result */
	int pinned_pu; /* result, as ab_vcpu */
};
void *ab_inval_thread(void *inval);

/* Pin liburcu's default call_rcu thread (creating it if needed) as a helper
 * beside @nvcpus vCPUs; returns its PU or -1. */
int ab_model_pin_rcu_thread(int nvcpus);

/*
 * Deterministic single-threaded entry point (for valgrind/callgrind, no
 * timing-dependent path): builds a model of @npages pages of @pgsize,
 * populates it, clears every A bit, then K times: touches a fixed
 * pseudo-random quarter of the pages (xorshift64*, seed 0xabcdef, same set
 * every round) and runs walker @w (test-and-clear) over the whole range.
 * Returns the total number of young pages reported (npages/4-ish * k), or
 * UINT64_MAX on bad arguments. Registers the calling thread with RCU.
 */
uint64_t ab_model_det_run(enum ab_mode_id w, enum ab_pgsize pgsize, uint64_t npages, unsigned k);

/* true when built with AB_MODEL_TEST_SLOW_WALKER (abmodel_slow). */
bool ab_model_slow_walker(void);

#endif /* AB_MODEL_H */
