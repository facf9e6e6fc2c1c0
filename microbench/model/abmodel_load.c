// SPDX-License-Identifier: GPL-2.0
/*
 * abmodel_load.c - the load around the walkers: vCPU threads (guest
 * accesses and faults), the invalidation thread, and the deterministic
 * single-threaded entry point used under valgrind.
 */
#define _GNU_SOURCE
#include "abmodel.h"

#include <ab_common.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* Uniform in [0, n). */
static inline uint64_t rng_below(uint64_t *s, uint64_t n)
{
	return (uint64_t)(((unsigned __int128)ab_rng_next(s) * n) >> 64);
}

#define VCPU_BATCH  256
#define OPEN_CHECK  16	       /* open loop: accesses between two looks at the clock */
#define MAX_LATE_NS 1000000ull /* open loop: oldest arrival kept waiting */

static inline struct ab_hist *phase_hist(struct ab_vcpu *v)
{
	int ph = v->phase ? __atomic_load_n(v->phase, __ATOMIC_RELAXED) : 0;

	return ph == 1 ? v->hist[1] : ph == 2 ? v->hist[0] : NULL;
}

static inline uint64_t region_page(struct ab_vcpu *v, uint64_t *s, uint64_t *seq, uint64_t hot)
{
	switch (v->pattern) {
	case AB_PAT_SEQ: {
		uint64_t p = v->first + *seq;
		*seq = *seq + 1 == v->n ? 0 : *seq + 1;
		return p;
	}
	case AB_PAT_SKEW:
		if (rng_below(s, 10) < 9)
			return v->first + rng_below(s, hot);
		return v->first + rng_below(s, v->n);
	case AB_PAT_RANDOM:
	default:
		return v->first + rng_below(s, v->n);
	}
}

static inline bool draw_write(struct ab_vcpu *v, uint64_t r)
{
	return (((r >> 32) * 100) >> 32) < v->write_pct;
}

static void publish(struct ab_vcpu *v, uint64_t acc, uint64_t faults, uint64_t recycles)
{
	__atomic_store_n(&v->accesses, acc, __ATOMIC_RELAXED);
	__atomic_store_n(&v->faults, faults, __ATOMIC_RELAXED);
	__atomic_store_n(&v->recycles, recycles, __ATOMIC_RELAXED);
	__atomic_store_n(&v->lock_wait_ns, ab_model_thread_lock_wait_ns(), __ATOMIC_RELAXED);
}

/* Open loop: faults on a schedule, guest accesses in between. */
static void vcpu_open_loop(struct ab_vcpu *v, uint64_t s)
{
	struct ab_model *m = v->m;
	const uint64_t period = 1000000000ull / v->fault_rate;
	uint64_t seq = 0, fresh_cur = 0, acc = 0, faults = 0;
	uint64_t hot = v->n / 10 ? v->n / 10 : 1;
	uint64_t next = ab_now_ns() + rng_below(&s, period);

	while (!__atomic_load_n(v->stop, __ATOMIC_RELAXED)) {
		for (int b = 0; b < VCPU_BATCH / OPEN_CHECK; b++) {
			uint64_t now = ab_now_ns();

			/* A bounded queue: arrivals more than MAX_LATE_NS overdue
			 * (a descheduled vCPU thread) are dropped and counted. */
			if (now > next + MAX_LATE_NS) {
				uint64_t skip = (now - next - MAX_LATE_NS) / period + 1;
				next += skip * period;
				__atomic_store_n(&v->dropped, v->dropped + skip, __ATOMIC_RELAXED);
			}

			/* Due (or late): serve it now; a vCPU that cannot keep up
			 * serves its backlog back to back, and stays stoppable. */
			while (now >= next && !__atomic_load_n(v->stop, __ATOMIC_RELAXED)) {
				uint64_t r = ab_rng_next(&s), page;
				bool in = v->n && (v->fault_in_pct >= 100 ||
						   rng_below(&s, 100) < v->fault_in_pct);

				if (in || !v->fresh_n) {
					page =
					    v->n ? v->first + rng_below(&s, v->n) : v->fresh_first;
				} else {
					page = v->fresh_first + fresh_cur;
					fresh_cur = fresh_cur + 1 == v->fresh_n ? 0 : fresh_cur + 1;
				}
				if (v->fault_work_ns)
					ab_spin_ns(v->fault_work_ns);
				ab_model_fault(m, page, draw_write(v, r));
				now = ab_now_ns();
				struct ab_hist *h = phase_hist(v);
				if (h) {
					ab_hist_record(h, now - next);
					if (now - next > AB_STALL_NS)
						v->stalls[h == v->hist[1]]++;
				}
				faults++;
				next += period;
				publish(v, acc, faults, 0);
			}
			for (int k = 0; k < OPEN_CHECK && v->n; k++) {
				uint64_t r = ab_rng_next(&s);
				uint64_t page = region_page(v, &s, &seq, hot);

				faults += ab_model_access(m, page, draw_write(v, r), phase_hist(v));
				acc++;
			}
		}
		publish(v, acc, faults, 0);
	}
	publish(v, acc, faults, 0);
}

void *ab_vcpu_thread(void *arg)
{
	struct ab_vcpu *v = arg;
	struct ab_model *m = v->m;
	uint64_t s = v->seed ? v->seed : 0x9e3779b97f4a7c15ull;
	uint64_t seq = 0, fresh_cur = 0, acc = 0, faults = 0, recycles = 0;
	uint64_t hot = v->n / 10 ? v->n / 10 : 1;
	unsigned cnt = 0;

	v->tid = (int)syscall(SYS_gettid);
	v->pinned_pu = v->pin_role >= 0 ? ab_pin_self(v->pin_role) : -1;
	ab_model_thread_register();
	if (v->fault_rate) {
		vcpu_open_loop(v, s);
		ab_model_thread_unregister();
		return NULL;
	}
	while (!__atomic_load_n(v->stop, __ATOMIC_RELAXED)) {
		for (int k = 0; k < VCPU_BATCH; k++) {
			uint64_t r = ab_rng_next(&s), page;
			bool write = draw_write(v, r);

			if (v->fresh_n && ++cnt >= v->fresh_every) {
				cnt = 0;
				if (fresh_cur % AB_PT_ENTRIES == 0) {
					/* Entering a segment last touched one lap
					 * ago: give it back, so it faults again. */
					ab_model_unmap_atomic(m, v->fresh_first + fresh_cur,
							      AB_PT_ENTRIES);
					recycles++;
				}
				page = v->fresh_first + fresh_cur;
				fresh_cur = (fresh_cur + 1) % v->fresh_n;
			} else if (!v->n) {
				continue;
			} else {
				page = region_page(v, &s, &seq, hot);
			}
			faults += ab_model_access(m, page, write, phase_hist(v));
			acc++;
		}
		publish(v, acc, faults, recycles);
	}
	ab_model_thread_unregister();
	return NULL;
}

void *ab_inval_thread(void *arg)
{
	struct ab_inval *iv = arg;
	uint64_t s = iv->seed ? iv->seed : 0x2545F4914F6CDD1Dull;
	uint64_t slots = iv->zap_pages && iv->n >= iv->zap_pages ? iv->n / iv->zap_pages : 0;
	uint64_t period = iv->rate ? 1000000000ull / iv->rate : 0;
	uint64_t next = ab_now_ns() + period, zaps = 0;

	iv->pinned_pu = iv->pin ? ab_pin_helper_self(iv->nvcpus) : -1;
	ab_model_thread_register();
	while (slots && period && !__atomic_load_n(iv->stop, __ATOMIC_RELAXED)) {
		uint64_t now = ab_now_ns();
		if (now < next) {
			uint64_t d = next - now;
			if (d > 10000000)
				d = 10000000; /* notice *stop within 10 ms */
			struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)d};
			nanosleep(&ts, NULL);
			continue;
		}
		uint64_t slot = rng_below(&s, slots);
		ab_model_zap(iv->m, iv->first + slot * iv->zap_pages, iv->zap_pages);
		zaps++;
		__atomic_store_n(&iv->zaps, zaps, __ATOMIC_RELAXED);
		next += period;
		if (now > next + 100 * period) /* fell far behind: do not burst */
			next = now + period;
	}
	ab_model_thread_unregister();
	return NULL;
}

uint64_t ab_model_det_run(enum ab_mode_id w, enum ab_pgsize pgsize, uint64_t npages, unsigned k)
{
	struct ab_model_params p = {.pgsize = pgsize, .npages = npages, .base_gfn = 0x40000};
	struct ab_model *m;
	uint64_t *set, s = 0xabcdef, total = 0;

	if (!ab_model_has_walker(w) || !npages || npages > (1u << 22))
		return UINT64_MAX;
	ab_model_thread_register();
	m = ab_model_create(&p);
	if (!m)
		return UINT64_MAX;
	set = calloc((npages + 63) / 64, sizeof(*set));
	if (!set) {
		ab_model_destroy(m);
		return UINT64_MAX;
	}
	for (uint64_t i = 0; i < npages; i++)
		if ((ab_rng_next(&s) >> 62) == 0) /* one page in four */
			set[i >> 6] |= 1ull << (i & 63);

	struct ab_age_res res = {0};
	ab_model_populate(m, 0, npages, false);
	ab_model_age(m, AB_MODE_LOCKED, 0, npages, true, NULL, &res);
	for (unsigned r = 0; r < k; r++) {
		for (uint64_t i = 0; i < npages; i++)
			if ((set[i >> 6] >> (i & 63)) & 1)
				ab_model_access(m, i, (i & 7) == 0, NULL);
		memset(&res, 0, sizeof(res));
		ab_model_age(m, w, 0, npages, true, NULL, &res);
		total += res.young;
	}
	free(set);
	ab_model_destroy(m);
	return total;
}
