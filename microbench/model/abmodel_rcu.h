/* SPDX-License-Identifier: GPL-2.0 */
/*
 * abmodel_rcu.h - liburcu glue for the model (internal).
 *
 * Flavour: the default "urcu" (urcu-memb: membarrier-based, cheap readers).
 * With _LGPL_SOURCE rcu_read_lock()/unlock() are inlined; under
 * ThreadSanitizer we call the library versions instead, since liburcu itself
 * is not instrumented.
 *
 * ThreadSanitizer cannot see the happens-before edge that a grace period
 * creates (it is made of membarrier() and futexes inside liburcu), so we
 * state it: every reader releases a shared sync object when it leaves its
 * read section, and the RCU callback that recycles table pages acquires it
 * first. That is exactly the RCU guarantee (every reader that could see the
 * pages has left before the callback runs), stated to TSan; it does not hide
 * races between two readers or between a reader and the zapper.
 */
#ifndef AB_MODEL_RCU_H
#define AB_MODEL_RCU_H

#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
#define AB_TSAN_RELEASE(a) __tsan_release((void *)(a))
#define AB_TSAN_ACQUIRE(a) __tsan_acquire((void *)(a))
#else
#ifndef _LGPL_SOURCE
#define _LGPL_SOURCE
#endif
#define AB_TSAN_RELEASE(a) ((void)(a))
#define AB_TSAN_ACQUIRE(a) ((void)(a))
#endif

#include <urcu.h>

extern int ab_rcu_tsan_sync;

static inline void ab_rcu_lock(void)
{
	rcu_read_lock();
}

static inline void ab_rcu_unlock(void)
{
	AB_TSAN_RELEASE(&ab_rcu_tsan_sync);
	rcu_read_unlock();
}

#endif
