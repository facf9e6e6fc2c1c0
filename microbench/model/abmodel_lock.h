/* SPDX-License-Identifier: GPL-2.0 */
/*
 * abmodel_lock.h - the model's mmu_lock (internal).
 *
 * Default: a userspace rendition of the kernel's queued rwlock (qrwlock,
 * kernel/locking/qrwlock.c), which is what x86 KVM's mmu_lock is (rwlock_t):
 *   - one 32-bit word: writer byte (0xff = locked), a "writer waiting" bit,
 *     and the reader count in units of 0x200;
 *   - readers take it with one atomic add when no writer holds or waits;
 *   - everything else queues on a FIFO (ticket) wait lock, so a reader that
 *     arrived while a writer held the lock gets it before a writer that
 *     arrives later: back-to-back writers cannot starve readers, and a
 *     waiting writer blocks new readers.
 * Waiters spin (as the kernel does) with PAUSE, and sched_yield() after a
 * while, since a userspace lock holder can be preempted, unlike a kernel
 * rwlock_t holder.
 *
 * Alternative (AB_LOCK_PTHREAD): glibc's pthread_rwlock with
 * PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP. Its waiters sleep in futex,
 * so every hand-over between the aging writer and a faulting reader costs a
 * wake-up and a context switch: measured, vCPU faults then wait milliseconds
 * (docs/model.md). Kept for comparison.
 */
#ifndef AB_MODEL_LOCK_H
#define AB_MODEL_LOCK_H

#include <ab_common.h>

#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>

#define QW_LOCKED  0xffu
#define QW_WAITING 0x100u
#define QW_WMASK   0x1ffu
#define QR_BIAS	   0x200u

struct ab_qrwlock {
	uint32_t cnts;
	uint32_t next, owner; /* FIFO ticket wait lock */
};

static inline void ab_relax(unsigned *spins)
{
	if (++*spins < 256) {
#if defined(__x86_64__) || defined(__i386__)
		__builtin_ia32_pause();
#elif defined(__aarch64__)
		__asm__ volatile("yield" ::: "memory"); /* arm64's cpu_relax() */
#else
		__asm__ volatile("" ::: "memory");
#endif
	} else {
		*spins = 0;
		sched_yield();
	}
}

static inline void qrw_wait_lock(struct ab_qrwlock *q)
{
	uint32_t t = __atomic_fetch_add(&q->next, 1, __ATOMIC_RELAXED);
	unsigned s = 0;

	while (__atomic_load_n(&q->owner, __ATOMIC_ACQUIRE) != t)
		ab_relax(&s);
}

static inline void qrw_wait_unlock(struct ab_qrwlock *q)
{
	uint32_t o = __atomic_load_n(&q->owner, __ATOMIC_RELAXED);

	__atomic_store_n(&q->owner, o + 1, __ATOMIC_RELEASE);
}

static inline void qrw_read_lock(struct ab_qrwlock *q)
{
	uint32_t c = __atomic_add_fetch(&q->cnts, QR_BIAS, __ATOMIC_ACQUIRE);
	unsigned s = 0;

	if (!(c & QW_WMASK))
		return;
	/* A writer holds or waits: queue in arrival order. */
	__atomic_fetch_sub(&q->cnts, QR_BIAS, __ATOMIC_RELAXED);
	qrw_wait_lock(q);
	__atomic_fetch_add(&q->cnts, QR_BIAS, __ATOMIC_ACQUIRE);
	while (__atomic_load_n(&q->cnts, __ATOMIC_ACQUIRE) & QW_LOCKED)
		ab_relax(&s);
	qrw_wait_unlock(q);
}

static inline void qrw_read_unlock(struct ab_qrwlock *q)
{
	__atomic_fetch_sub(&q->cnts, QR_BIAS, __ATOMIC_RELEASE);
}

static inline void qrw_write_lock(struct ab_qrwlock *q)
{
	uint32_t c = 0;
	unsigned s = 0;

	if (__atomic_compare_exchange_n(&q->cnts, &c, QW_LOCKED, false, __ATOMIC_ACQUIRE,
					__ATOMIC_RELAXED))
		return;
	qrw_wait_lock(q);
	c = 0;
	if (!__atomic_compare_exchange_n(&q->cnts, &c, QW_LOCKED, false, __ATOMIC_ACQUIRE,
					 __ATOMIC_RELAXED)) {
		/* Block new readers, wait for the current ones to leave. */
		__atomic_fetch_or(&q->cnts, QW_WAITING, __ATOMIC_RELAXED);
		for (;;) {
			c = __atomic_load_n(&q->cnts, __ATOMIC_RELAXED);
			if (c == QW_WAITING &&
			    __atomic_compare_exchange_n(&q->cnts, &c, QW_LOCKED, false,
							__ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
				break;
			ab_relax(&s);
		}
	}
	qrw_wait_unlock(q);
}

/* As the kernel's queued_read_trylock / queued_write_trylock. */
static inline bool qrw_read_trylock(struct ab_qrwlock *q)
{
	uint32_t c = __atomic_load_n(&q->cnts, __ATOMIC_RELAXED);

	if (c & QW_WMASK)
		return false;
	c = __atomic_add_fetch(&q->cnts, QR_BIAS, __ATOMIC_ACQUIRE);
	if (!(c & QW_WMASK))
		return true;
	__atomic_fetch_sub(&q->cnts, QR_BIAS, __ATOMIC_RELAXED);
	return false;
}

static inline bool qrw_write_trylock(struct ab_qrwlock *q)
{
	uint32_t c = __atomic_load_n(&q->cnts, __ATOMIC_RELAXED);

	return !c && __atomic_compare_exchange_n(&q->cnts, &c, QW_LOCKED, false, __ATOMIC_ACQUIRE,
						 __ATOMIC_RELAXED);
}

static inline void qrw_write_unlock(struct ab_qrwlock *q)
{
	__atomic_fetch_and(&q->cnts, ~QW_LOCKED, __ATOMIC_RELEASE);
}

struct ab_mmu_lock {
	int kind; /* enum ab_lock_kind */
	struct ab_qrwlock q;
	pthread_rwlock_t pt;
};

static inline void mmu_read_lock(struct ab_mmu_lock *l)
{
	if (l->kind)
		pthread_rwlock_rdlock(&l->pt);
	else
		qrw_read_lock(&l->q);
}

static inline void mmu_read_unlock(struct ab_mmu_lock *l)
{
	if (l->kind)
		pthread_rwlock_unlock(&l->pt);
	else
		qrw_read_unlock(&l->q);
}

static inline void mmu_write_lock(struct ab_mmu_lock *l)
{
	if (l->kind)
		pthread_rwlock_wrlock(&l->pt);
	else
		qrw_write_lock(&l->q);
}

static inline void mmu_write_unlock(struct ab_mmu_lock *l)
{
	if (l->kind)
		pthread_rwlock_unlock(&l->pt);
	else
		qrw_write_unlock(&l->q);
}

/*
 * Lock and return the time spent waiting: a trylock first, and the clock is
 * read only when it fails (as the kernel's lock statistics do), so an
 * uncontended acquisition costs every walker the same: no clock read.
 */
/* The contended acquisition, out of line: the fast path below inlines the
 * same way in every file that takes the lock (the CI gate's instruction
 * counts then do not depend on which file a caller lives in). */
static __attribute__((noinline, unused)) uint64_t mmu_read_lock_slow(struct ab_mmu_lock *l)
{
	uint64_t t0 = ab_now_ns();
	mmu_read_lock(l);
	return ab_now_ns() - t0;
}

static inline __attribute__((always_inline)) uint64_t mmu_read_lock_timed(struct ab_mmu_lock *l)
{
	if (l->kind ? !pthread_rwlock_tryrdlock(&l->pt) : qrw_read_trylock(&l->q))
		return 0;
	return mmu_read_lock_slow(l);
}

static __attribute__((noinline, unused)) uint64_t mmu_write_lock_slow(struct ab_mmu_lock *l)
{
	uint64_t t0 = ab_now_ns();
	mmu_write_lock(l);
	return ab_now_ns() - t0;
}

static inline __attribute__((always_inline)) uint64_t mmu_write_lock_timed(struct ab_mmu_lock *l)
{
	if (l->kind ? !pthread_rwlock_trywrlock(&l->pt) : qrw_write_trylock(&l->q))
		return 0;
	return mmu_write_lock_slow(l);
}

#endif
