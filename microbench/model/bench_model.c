// SPDX-License-Identifier: GPL-2.0
/*
 * bench_model.c - the model backend's benchmarks (ab_model_register()).
 *
 * model/<walker>/<4K|2M>/pages:<n>/vcpus:<n>/inval:<per_s>/shadow:<pct>/batch:<pages>
 *
 * One run: build a table of `pages` pages (all mapped, A clear), start
 * `vcpus` vCPU threads (random accesses over disjoint regions of the range,
 * 20% writes, and open-loop faults: MB_FAULT_RATE per second per vCPU on a
 * schedule, half inside the aged range, half in a private window outside
 * it, each with the calibrated cost of a KVM fault) and, if inval > 0, an
 * invalidation thread zapping under the write lock (4K: one 512-page leaf
 * table, 2M: one 2M page) `inval` times per second. shadow > 0 marks that
 * percentage of the range's 512-page leaf tables as needing mmu_lock (the
 * model of shadow-MMU pages): fast_only declines every call, bitmap the
 * windows in them; the young pages left unanswered are counted after each
 * declined call, outside the timed region (false_old). Then, timed (manual
 * time): passes of test-and-clear aging calls over the whole range, one
 * call per `batch` pages, back to back.
 * After the timed loop, in the same run: scan passes over the same table
 * (walker_scan_ratio) and a window of equal length without aging
 * (access_rel = vCPU accesses/s with aging / without: Accessed-bit line
 * traffic and CPU sharing, not mmu_lock; vcpu_blocked_frac = the vCPUs'
 * mmu_lock wait / their time in the aging window is the lock's share).
 */
#define _GNU_SOURCE
#include "abmodel.h"
#include "bench_host.h"

#include <ab_bench_config.h>
#include <ab_common.h>
#include <ab_shim.h>

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FRESH_PAGES 4096 /* per vCPU, outside the aged range */
#define WRITE_PCT   20
/*
 * Faults, calibrated (docs/model.md): a first-touch 4 KiB fault of KVM's
 * TDP MMU costs ~5.6 us per vCPU on bare metal (Houghton's v4 cover letter:
 * access_tracking_perf_test, 8 vCPUs x 1 GiB populated in 1.474 s without
 * aging = 262144 faults per vCPU); of that, ~250 ns is spent holding
 * mmu_lock for read (TDP walk + SPTE install; an estimate) and the rest
 * before the lock (exit, GUP, page zeroing). Faults arrive open loop at
 * a quarter of the rate a vCPU could sustain, so the queue is stable
 * without aging on a shared machine, and half of them land inside the
 * aged range.
 */
#define MB_FAULT_RATE	 45000 /* per second per vCPU: a quarter of what it could sustain */
#define MB_FAULT_WORK_NS 5350  /* outside mmu_lock */
#define MB_FAULT_HOLD_NS 250   /* holding mmu_lock for read */
#define MB_FAULT_IN_PCT	 50    /* inside the aged range */
#define PIN_PENDING	 (-1000)
#define SETTLE_NS	 2000000ull /* late faults drain before the baseline */
#define WARMUP_NS	 5000000ull
#define VCPU_READY	 1024 /* accesses per vCPU before the timed loop */
#define BASE_MIN_NS	 5000000ull
#define BASE_MAX_NS	 500000000ull
#define SCAN_MIN_PAIRS	 15
#define SCAN_MAX_PAIRS	 4096
#define READY_TIMEOUT_NS 5000000000ull

struct mb_arg {
	enum ab_mode_id w;
	enum ab_pgsize ps;
	bool pin;
	enum ab_lock_kind lock;
	uint64_t min_window_ns; /* vCPU measurement window with aging, at least */
	int capacity;		/* vCPUs that fit beside the walker (ab_place_vcpu_capacity) */
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000ull),
			      .tv_nsec = (long)(ns % 1000000000ull)};
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static uint64_t sum_accesses(const struct ab_vcpu *v, int n)
{
	uint64_t s = 0;
	for (int i = 0; i < n; i++)
		s += __atomic_load_n(&v[i].accesses, __ATOMIC_RELAXED);
	return s;
}

static uint64_t sum_faults(const struct ab_vcpu *v, int n)
{
	uint64_t s = 0;
	for (int i = 0; i < n; i++)
		s += __atomic_load_n(&v[i].faults, __ATOMIC_RELAXED);
	return s;
}

static uint64_t sum_dropped(const struct ab_vcpu *v, int n)
{
	uint64_t s = 0;
	for (int i = 0; i < n; i++)
		s += __atomic_load_n(&v[i].dropped, __ATOMIC_RELAXED);
	return s;
}

static uint64_t sum_lock_wait(const struct ab_vcpu *v, int n)
{
	uint64_t s = 0;
	for (int i = 0; i < n; i++)
		s += __atomic_load_n(&v[i].lock_wait_ns, __ATOMIC_RELAXED);
	return s;
}

/*
 * Mark round(tables * pct / 100) (at least 1) of the 512-page leaf tables of
 * [0, pages) as needing mmu_lock, spread evenly. Returns the pages marked
 * or -errno.
 */
static int64_t mark_shadow(struct ab_model *m, uint64_t pages, unsigned pct)
{
	uint64_t nt = (pages + AB_PT_ENTRIES - 1) / AB_PT_ENTRIES;
	uint64_t cnt = (nt * pct + 50) / 100, marked = 0;
	if (pct && !cnt)
		cnt = 1;
	for (uint64_t j = 0; j < cnt; j++) {
		uint64_t t = (2 * j + 1) * nt / (2 * cnt);
		uint64_t f = t * AB_PT_ENTRIES;
		uint64_t n = pages - f < AB_PT_ENTRIES ? pages - f : AB_PT_ENTRIES;
		int rc = ab_model_mark_shadow(m, f, n);
		if (rc)
			return rc;
		marked += n;
	}
	return (int64_t)marked;
}

static uint64_t popcount_and(const uint64_t *a, const uint64_t *b, size_t words)
{
	uint64_t c = 0;
	for (size_t i = 0; i < words; i++)
		c += (uint64_t)__builtin_popcountll(a[i] & b[i]);
	return c;
}

/*
 * One benchmark case: what the phases below share. The harness
 * (bench_model) owns the order: setup -> load -> timed loop (with the
 * accuracy count of declined spans) -> floor -> baseline -> counters.
 * Walker traits come from the mode table (common/ab_modes.def).
 */
struct mb_case {
	ab_state *st;
	const struct mb_arg *a;
	const struct ab_mode *mode;
	uint64_t pages, batch;
	int nv;
	unsigned rate, shadow;
	struct ab_model *m;
	char err[160];
	/* shadow ranges: pages of the spans a declining call leaves unanswered */
	size_t words;
	uint64_t *decl_mask, *tbits, exp_decl;
	/* load */
	volatile int stop, phase;
	struct ab_vcpu *v;
	struct ab_hist *hist;
	pthread_t *vt, it;
	struct ab_inval iv;
	int started;
	bool inval_started;
	/* timed loop */
	uint64_t iters, age_ns, young, wait, decl, false_old, calls;
	bool decl_mismatch;
	double *call_ns;
	size_t cap_calls;
	uint64_t win_ns, win_acc, win_f, win_wait, win_drop;
	bool placeholders;
	/* floor and baseline */
	double ratio, rate_aging, rate_base;
	/* the host over the aging window (bench_host.h) */
	struct mb_host_snap h0, h1;
	int *tids;
};

static bool mb_fail(struct mb_case *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool mb_fail(struct mb_case *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
	ab_skip_with_error(c->st, c->err);
	return false;
}

/* A declining walk leaves these spans unanswered: fast_only the whole
 * call, bitmap the 64-page windows that meet a mark (the walkers' own
 * predicate, ab_model_needs_lock). */
static void mb_decline_spans(struct mb_case *c)
{
	for (uint64_t off = 0; off < c->pages; off += 64) {
		unsigned k = c->pages - off < 64 ? (unsigned)(c->pages - off) : 64;
		/* fast_only declines per call: the call (batch) holding @off */
		uint64_t cf = off / c->batch * c->batch;
		uint64_t cn = c->pages - cf < c->batch ? c->pages - cf : c->batch;
		bool d = c->mode->decline == AB_DECLINE_CALL	 ? ab_model_needs_lock(c->m, cf, cn)
			 : c->mode->decline == AB_DECLINE_WINDOW ? ab_model_needs_lock(c->m, off, k)
								 : false;
		if (d) {
			c->decl_mask[off >> 6] = k < 64 ? (1ull << k) - 1 : ~0ull;
			c->exp_decl += c->mode->decline == AB_DECLINE_WINDOW;
		}
	}
	/* Bitmap windows are min(batch, 64) pages: counted per window above
	 * only when they are 64 (batch >= 64 and a multiple of 64). */
	if (c->mode->decline == AB_DECLINE_WINDOW && c->batch < 64) {
		c->exp_decl = 0;
		for (uint64_t off = 0; off < c->pages; off += c->batch) {
			uint64_t k = c->pages - off < c->batch ? c->pages - off : c->batch;
			c->exp_decl += ab_model_needs_lock(c->m, off, k);
		}
	}
	if (c->mode->decline == AB_DECLINE_CALL) {
		c->exp_decl = 0;
		for (uint64_t off = 0; off < c->pages; off += c->batch) {
			uint64_t k = c->pages - off < c->batch ? c->pages - off : c->batch;
			c->exp_decl += ab_model_needs_lock(c->m, off, k);
		}
	}
}

/* Table of pages + fresh windows, all mapped, A clear; shadow marks. */
static bool mb_setup(struct mb_case *c)
{
	struct ab_model_params prm = {.pgsize = c->a->ps,
				      .npages = c->pages + (uint64_t)c->nv * FRESH_PAGES,
				      .base_gfn = 1ull << 20,
				      .mmu_lock = c->a->lock,
				      .fault_hold_ns = MB_FAULT_HOLD_NS};
	struct ab_age_res res = {0};

	c->m = ab_model_create(&prm);
	if (!c->m)
		return mb_fail(c, "model of %llu pages: %s", (unsigned long long)prm.npages,
			       strerror(errno));
	ab_model_populate(c->m, 0, c->pages, false);
	ab_model_age(c->m, AB_MODE_LOCKED, 0, c->pages, true, NULL, &res);
	c->words = (c->pages + 63) / 64;
	if (!c->shadow)
		return true;
	int64_t mk = mark_shadow(c->m, c->pages, c->shadow);
	c->decl_mask = calloc(c->words, sizeof(uint64_t));
	c->tbits = calloc(c->words, sizeof(uint64_t));
	if (mk < 0 || !c->decl_mask || !c->tbits)
		return mb_fail(c, "shadow:%u: %s", c->shadow, strerror(mk < 0 ? (int)-mk : ENOMEM));
	mb_decline_spans(c);
	return true;
}

static void mb_stop_load(struct mb_case *c)
{
	__atomic_store_n(&c->stop, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < c->started; i++)
		pthread_join(c->vt[i], NULL);
	if (c->inval_started)
		pthread_join(c->it, NULL);
	c->started = 0;
	c->inval_started = false;
}

/* vCPU threads and the invalidator; returns once every vCPU is running. */
static bool mb_start_load(struct mb_case *c)
{
	int nv = c->nv, rc = 0;

	c->v = calloc(nv ? nv : 1, sizeof(*c->v));
	c->hist = calloc(2 * (nv ? nv : 1), sizeof(*c->hist));
	c->vt = calloc(nv ? nv : 1, sizeof(*c->vt));
	if (!c->v || !c->hist || !c->vt)
		return mb_fail(c, "out of memory");
	c->iv = (struct ab_inval){.m = c->m,
				  .first = 0,
				  .n = c->pages,
				  .zap_pages = c->a->ps == AB_PG_4K ? AB_PT_ENTRIES : 1,
				  .rate = c->rate,
				  .seed = 0x5eed,
				  .pin = c->a->pin,
				  .nvcpus = nv,
				  .pinned_pu = PIN_PENDING,
				  .stop = &c->stop};
	for (int i = 0; i < nv; i++) {
		uint64_t per = c->pages / nv;

		ab_hist_init(&c->hist[2 * i]);
		ab_hist_init(&c->hist[2 * i + 1]);
		c->v[i] = (struct ab_vcpu){.m = c->m,
					   .first = i * per,
					   .n = i == nv - 1 ? c->pages - i * per : per,
					   .pattern = AB_PAT_RANDOM,
					   .write_pct = WRITE_PCT,
					   .fresh_first = c->pages + (uint64_t)i * FRESH_PAGES,
					   .fresh_n = FRESH_PAGES,
					   .fault_rate = MB_FAULT_RATE,
					   .fault_in_pct = MB_FAULT_IN_PCT,
					   .fault_work_ns = MB_FAULT_WORK_NS,
					   .seed = 0x1234567ull * (i + 1),
					   .pin_role = c->a->pin ? 1 + i : -1,
					   .stop = &c->stop,
					   .phase = &c->phase,
					   .hist = {&c->hist[2 * i], &c->hist[2 * i + 1]}};
	}
	while (c->started < nv &&
	       !(rc = pthread_create(&c->vt[c->started], NULL, ab_vcpu_thread, &c->v[c->started])))
		c->started++;
	if (!rc && c->rate) {
		rc = pthread_create(&c->it, NULL, ab_inval_thread, &c->iv);
		c->inval_started = !rc;
	}
	if (rc) {
		mb_stop_load(c);
		return mb_fail(c, "pthread_create: %s", strerror(rc));
	}
	if (nv || c->rate)
		sleep_ns(WARMUP_NS);
	/* The timed loop must see the load it claims to: every vCPU has made
	 * VCPU_READY accesses, or the point fails (a loaded machine). */
	for (uint64_t t0 = ab_now_ns();;) {
		int ready = 0;

		for (int i = 0; i < nv; i++)
			ready += __atomic_load_n(&c->v[i].accesses, __ATOMIC_RELAXED) >= VCPU_READY;
		if (ready == nv)
			break;
		if (ab_now_ns() - t0 > READY_TIMEOUT_NS) {
			mb_stop_load(c);
			return mb_fail(c,
				       "warm-up: %d of %d vCPU threads made %d accesses in %.0f s "
				       "(machine too loaded, or oversubscribed)",
				       ready, nv, VCPU_READY, READY_TIMEOUT_NS * 1e-9);
		}
		sleep_ns(1000000);
	}
	/* Placement is part of the claim: a thread that could not be bound
	 * fails the point. */
	for (int i = 0; c->a->pin && i < nv; i++)
		if (c->v[i].pinned_pu < 0) {
			mb_stop_load(c);
			return mb_fail(c, "vCPU %d could not be pinned to its PU", i);
		}
	if (c->a->pin && c->inval_started) {
		for (uint64_t t0 = ab_now_ns();
		     __atomic_load_n(&c->iv.pinned_pu, __ATOMIC_RELAXED) == PIN_PENDING &&
		     ab_now_ns() - t0 < READY_TIMEOUT_NS;)
			sleep_ns(1000000);
		if (__atomic_load_n(&c->iv.pinned_pu, __ATOMIC_RELAXED) < 0) {
			mb_stop_load(c);
			return mb_fail(c, "the invalidation thread could not be pinned");
		}
	}
	return true;
}

static void mb_record_call(struct mb_case *c, uint64_t ns)
{
	if (c->call_ns && c->iters == c->cap_calls) {
		double *n = realloc(c->call_ns, sizeof(double) * c->cap_calls * 2);

		if (!n) {
			free(c->call_ns);
			c->call_ns = NULL;
		} else {
			c->call_ns = n;
			c->cap_calls *= 2;
		}
	}
	if (c->call_ns)
		c->call_ns[c->iters] = (double)ns;
}

/*
 * Timed: test-and-clear aging calls over the whole range, back to back.
 * After a declined call, untimed, the young pages its declined spans hold
 * (false_old); that time and the vCPUs' work in it leave the vCPU window.
 */
static void mb_timed_loop(struct mb_case *c)
{
	uint64_t cnt_ns = 0, cnt_acc = 0, cnt_f = 0, cnt_w = 0;
	struct ab_age_res res;

	c->cap_calls = 1024;
	c->call_ns = malloc(sizeof(double) * c->cap_calls);
	__atomic_store_n(&c->phase, 1, __ATOMIC_RELAXED);
	uint64_t acc0 = sum_accesses(c->v, c->nv), f0 = sum_faults(c->v, c->nv);
	uint64_t lw0 = sum_lock_wait(c->v, c->nv), d0 = sum_dropped(c->v, c->nv);
	c->tids = calloc((size_t)c->nv + 1, sizeof(int));
	for (int i = 0; c->tids && i < c->nv; i++)
		c->tids[i] = c->v[i].tid;
	mb_host_snap(&c->h0, c->tids, c->tids ? c->nv : 0);
	uint64_t w0 = ab_now_ns();
	while (ab_keep_running(c->st)) {
		memset(&res, 0, sizeof(res));
		/* One pass: calls of `batch` pages, lock waits included; the
		 * only clock reads are these two, the same for every walker. */
		uint64_t t0 = ab_now_ns();
		int arc =
		    ab_model_age_batch(c->m, c->mode->id, 0, c->pages, c->batch, true, NULL, &res);
		uint64_t t1 = ab_now_ns();

		ab_set_iteration_time(c->st, (double)(t1 - t0) * 1e-9);
		c->age_ns += t1 - t0;
		c->young += res.young;
		c->wait += res.lock_wait_ns;
		c->decl += res.declines;
		c->calls += res.calls;
		if (res.declines != (arc == AB_AGE_DECLINED ? c->exp_decl : 0))
			c->decl_mismatch = true;
		if (arc == AB_AGE_DECLINED && c->decl_mask) {
			struct ab_age_res tr = {0};
			uint64_t ca = sum_accesses(c->v, c->nv), cf = sum_faults(c->v, c->nv);
			uint64_t cw = sum_lock_wait(c->v, c->nv), c0 = ab_now_ns();

			ab_model_age(c->m, AB_MODE_SCAN, 0, c->pages, false, c->tbits, &tr);
			c->false_old += popcount_and(c->tbits, c->decl_mask, c->words);
			cnt_ns += ab_now_ns() - c0;
			cnt_acc += sum_accesses(c->v, c->nv) - ca;
			cnt_f += sum_faults(c->v, c->nv) - cf;
			cnt_w += sum_lock_wait(c->v, c->nv) - cw;
		}
		mb_record_call(c, t1 - t0);
		c->iters++;
	}
	/* The vCPU side needs a long enough window on a busy machine: keep
	 * aging (untimed, same calls) until it lasted min_window_ns. */
	while (c->nv && ab_now_ns() - w0 - cnt_ns < c->a->min_window_ns) {
		memset(&res, 0, sizeof(res));
		ab_model_age_batch(c->m, c->mode->id, 0, c->pages, c->batch, true, NULL, &res);
	}
	mb_host_snap(&c->h1, c->tids, c->tids ? c->nv : 0);
	c->win_ns = ab_now_ns() - w0 - cnt_ns;
	c->win_acc = sum_accesses(c->v, c->nv) - acc0 - cnt_acc;
	c->win_f = sum_faults(c->v, c->nv) - f0 - cnt_f;
	c->win_wait = sum_lock_wait(c->v, c->nv) - lw0 - cnt_w;
	c->win_drop = sum_dropped(c->v, c->nv) - d0;
	__atomic_store_n(&c->phase, 0, __ATOMIC_RELAXED);
}

/*
 * Same run, same table, same load: the scan floor, as alternating (walker
 * call, scan pass) pairs so both see the same conditions; the median of
 * the per-pair ratios, so one preempted call does not decide it. At least
 * SCAN_MIN_PAIRS, then up to a quarter of the timed loop (max 50 ms).
 */
static void mb_floor(struct mb_case *c)
{
	static double r[SCAN_MAX_PAIRS];
	uint64_t spent = 0, budget = c->age_ns / 4;
	struct ab_age_res res;
	int pairs = 0;

	if (c->mode->id == AB_MODE_SCAN || !c->iters)
		return;
	if (budget > 50000000ull)
		budget = 50000000ull;
	while (pairs < SCAN_MAX_PAIRS && (pairs < SCAN_MIN_PAIRS || spent < budget)) {
		memset(&res, 0, sizeof(res));
		uint64_t t0 = ab_now_ns();
		ab_model_age_batch(c->m, c->mode->id, 0, c->pages, c->batch, true, NULL, &res);
		uint64_t t1 = ab_now_ns();
		ab_model_age(c->m, AB_MODE_SCAN, 0, c->pages, true, NULL, &res);
		uint64_t t2 = ab_now_ns();

		r[pairs++] = (double)(t1 - t0) / (double)(t2 - t1 ? t2 - t1 : 1);
		spent += t2 - t0;
	}
	qsort(r, pairs, sizeof(r[0]), cmp_double);
	c->ratio = pairs & 1 ? r[pairs / 2] : (r[pairs / 2 - 1] + r[pairs / 2]) / 2;
}

/* Same run: an equal window without aging. */
static void mb_baseline(struct mb_case *c)
{
	uint64_t win = c->win_ns;

	if (!c->nv)
		return;
	if (win < BASE_MIN_NS)
		win = BASE_MIN_NS;
	if (win > BASE_MAX_NS)
		win = BASE_MAX_NS;
	sleep_ns(SETTLE_NS); /* faults made late by aging are not the baseline's */
	__atomic_store_n(&c->phase, 2, __ATOMIC_RELAXED);
	uint64_t b0 = ab_now_ns(), c0 = sum_accesses(c->v, c->nv);
	sleep_ns(win);
	uint64_t c1 = sum_accesses(c->v, c->nv), b1 = ab_now_ns();
	__atomic_store_n(&c->phase, 0, __ATOMIC_RELAXED);
	c->rate_aging = (double)c->win_acc / ((double)c->win_ns * 1e-9);
	c->rate_base = (double)(c1 - c0) / ((double)(b1 - b0) * 1e-9);
}

static double median_sorted(double *v, uint64_t n)
{
	qsort(v, n, sizeof(double), cmp_double);
	return n & 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void mb_counters_aging(struct mb_case *c)
{
	const struct ab_mode *md = c->mode;
	ab_state *st = c->st;
	double per_call = (double)c->age_ns / (double)c->iters, n = (double)c->iters;
	bool tree = md->id != AB_MODE_SCAN;

	/* One iteration = one pass over the range in calls of `batch` pages:
	 * ns_per_page = wall time of the calls, lock waits included, / pages
	 * asked about; lock_wait_ns per call beside it. */
	ab_counter(st, "ns_per_page", per_call / (double)c->pages, AB_CTR_DEFAULT);
	/* per page answered: a declined span costs little and answers nothing
	 * (NAN, "not measured", when every page was declined) */
	if (md->decline != AB_DECLINE_NEVER || c->shadow) {
		uint64_t declined = 0;

		for (size_t w = 0; c->decl_mask && w < c->words; w++)
			declined += (uint64_t)__builtin_popcountll(c->decl_mask[w]);
		uint64_t answered = declined < c->pages ? c->pages - declined : 0;
		ab_counter(st, "ns_per_page_answered", answered ? per_call / (double)answered : NAN,
			   AB_CTR_DEFAULT);
	}
	ab_counter(st, "pages_per_s", (double)c->pages * 1e9 / per_call, AB_CTR_DEFAULT);
	ab_counter(st, "pages", (double)(c->batch < c->pages ? c->batch : c->pages),
		   AB_CTR_DEFAULT);
	if (c->call_ns) /* robust to a preempted call on a shared machine */
		ab_counter(st, "ns_per_page_median",
			   median_sorted(c->call_ns, c->iters) / (double)c->pages, AB_CTR_DEFAULT);
	ab_counter(st, "young", (double)c->young / n, AB_CTR_DEFAULT);
	if (md->lock != AB_LOCK_NONE || (md->fallback != AB_LOCK_NONE && c->shadow)) {
		ab_counter(st, "lock_wait_ns", (double)c->wait / (double)(c->calls ? c->calls : 1),
			   AB_CTR_DEFAULT);
		ab_counter(st, "lock_wait_frac", (double)c->wait / (double)c->age_ns,
			   AB_CTR_DEFAULT);
	}
	/* declines: the walkers that can decline, and with shadow ranges every
	 * tree walker (the others: 0). false_old only with shadow ranges, where
	 * it can be non-zero. scan has no notion of shadow ranges. */
	if (md->decline != AB_DECLINE_NEVER || (c->shadow && tree))
		ab_counter(st, "declines", (double)c->decl / n, AB_CTR_DEFAULT);
	if (c->shadow && tree)
		ab_counter(st, "false_old", (double)c->false_old / n, AB_CTR_DEFAULT);
	if (tree)
		ab_counter(st, "walker_scan_ratio", c->ratio, AB_CTR_DEFAULT);
	mb_host_counters(st, &c->h0, &c->h1, c->nv);
}

static void mb_counters_vcpus(struct mb_case *c)
{
	ab_state *st = c->st;
	struct ab_hist h;

	ab_hist_init(&h);
	for (int i = 0; i < c->nv; i++)
		ab_hist_merge(&h, &c->hist[2 * i + 1]);
	if (h.count || c->err[0]) {
		ab_counter(st, "fault_p50_ns", (double)ab_hist_quantile(&h, 0.50), 0);
		ab_counter(st, "fault_p99_ns", (double)ab_hist_quantile(&h, 0.99), 0);
		ab_counter(st, "fault_max_ns", (double)h.max, 0);
		ab_record_cdf(st, "fault", &h);
	}
	ab_counter(st, "vcpu_lock_wait_ns", (double)c->win_wait / (double)(c->win_f ? c->win_f : 1),
		   0);
	/* the share of the vCPUs' time spent waiting for mmu_lock (Q2's
	 * contention column): their summed wait / (window x vCPUs) */
	ab_counter(st, "vcpu_blocked_frac",
		   (double)c->win_wait / ((double)c->win_ns * (c->nv ? c->nv : 1)), 0);
	ab_counter(st, "fault_drop_frac",
		   (double)c->win_drop /
		       ((double)MB_FAULT_RATE * c->nv * ((double)c->win_ns * 1e-9) + 1e-9),
		   0);
	ab_hist_init(&h);
	for (int i = 0; i < c->nv; i++)
		ab_hist_merge(&h, &c->hist[2 * i]);
	if (h.count || c->err[0]) {
		ab_counter(st, "base_fault_p99_ns", (double)ab_hist_quantile(&h, 0.99), 0);
		ab_record_cdf(st, "base_fault", &h);
	}
	ab_counter(st, "vcpu_faults_per_s", (double)c->win_f / ((double)c->win_ns * 1e-9), 0);
	/* stalls: faults served over AB_STALL_NS late (a descheduled vCPU), per
	 * fault recorded, with aging and in the baseline window */
	uint64_t st1 = 0, st0 = 0, n1 = 0, n0 = 0;
	for (int i = 0; i < c->nv; i++) {
		st1 += c->v[i].stalls[1];
		st0 += c->v[i].stalls[0];
		n1 += c->hist[2 * i + 1].count;
		n0 += c->hist[2 * i].count;
	}
	ab_counter(st, "fault_stall_frac", (double)st1 / (double)(n1 ? n1 : 1), 0);
	ab_counter(st, "base_fault_stall_frac", (double)st0 / (double)(n0 ? n0 : 1), 0);
	ab_counter(st, "vcpu_accesses_per_s", c->rate_aging, 0);
	ab_counter(st, "pool_waits", (double)ab_model_pool_waits(c->m), 0);
	if (c->rate_base > 0 || c->err[0])
		ab_counter(st, "access_rel", c->rate_base > 0 ? c->rate_aging / c->rate_base : 0,
			   0);
}

/* Faults recorded in the aging (1) or baseline (0) window. */
static uint64_t mb_faults(const struct mb_case *c, int which)
{
	uint64_t n = 0;
	for (int i = 0; i < c->nv; i++)
		n += c->hist[2 * i + which].count;
	return n;
}

static void mb_free(struct mb_case *c)
{
	free(c->call_ns);
	free(c->decl_mask);
	free(c->tbits);
	free(c->v);
	free(c->hist);
	free(c->vt);
	free(c->tids);
	mb_host_free(&c->h0);
	mb_host_free(&c->h1);
	if (c->m)
		ab_model_destroy(c->m);
}

static void bench_model(ab_state *st, void *argp)
{
	const struct mb_arg *a = argp;
	struct mb_case c = {.st = st,
			    .a = a,
			    .mode = &ab_mode_table[a->w],
			    .pages = (uint64_t)ab_range(st, 0),
			    .nv = (int)ab_range(st, 1),
			    .rate = (unsigned)ab_range(st, 2),
			    .shadow = (unsigned)ab_range(st, 3),
			    .batch = (uint64_t)ab_range(st, 4)};

	ab_model_thread_register();
	if (!c.batch)
		c.batch = c.pages;
	bool over = c.nv > a->capacity;
	if (over) { /* registered only with --allow-oversubscribe */
		ab_counter(st, "oversubscribed", 1, AB_CTR_DEFAULT);
		ab_set_label(st, "oversubscribed");
	}
	if (a->pin && (ab_pin_self(0) < 0 || ab_model_pin_rcu_thread(c.nv) < 0)) {
		mb_fail(&c, "cannot pin the walker or liburcu's call_rcu thread (hwloc); --no-pin "
			    "runs unpinned");
	} else if (mb_setup(&c) && mb_start_load(&c)) {
		mb_timed_loop(&c);
		mb_floor(&c);
		mb_baseline(&c);
		mb_stop_load(&c);
		/* Every repetition of a benchmark must emit the same counters
		 * (Google Benchmark 1.7.1's aggregation crashes otherwise), so a
		 * vCPU point that could not measure its vCPU side fails, loudly. */
		const char *starved = NULL;
		if (c.nv)
			starved = !c.win_acc	      ? "no guest access while aging ran"
				  : c.rate_base <= 0  ? "no guest access in the baseline window"
				  : !mb_faults(&c, 1) ? "no fault while aging ran"
				  : !mb_faults(&c, 0) ? "no fault in the baseline window"
						      : NULL;
		if (starved)
			mb_fail(&c, "machine too loaded: the vCPU threads made %s (starved)",
				starved);
		else if (c.decl_mismatch)
			mb_fail(&c, "decline bookkeeping: a call's declines differ from the marked "
				    "spans (model bug)");
		else if (c.iters)
			mb_counters_aging(&c);
		if (c.nv && !c.decl_mismatch && !starved)
			mb_counters_vcpus(&c);
	}
	/*
	 * A failed repetition still carries the benchmark's counter names
	 * (placeholder values, in a row marked error_occurred): Google
	 * Benchmark 1.7.1 takes the counter set of a benchmark's first
	 * repetition, and one without counters makes its aggregation of the
	 * others dereference a missing entry (a segfault, seen here).
	 */
	if (c.err[0] && !c.placeholders) {
		c.iters = c.iters ? c.iters : 1;
		c.age_ns = c.age_ns ? c.age_ns : 1;
		c.win_ns = c.win_ns ? c.win_ns : 1;
		c.placeholders = true;
		mb_counters_aging(&c);
		if (c.nv && c.v && c.hist && c.m)
			mb_counters_vcpus(&c);
	}
	mb_free(&c);
}

static const char *const arg_names[] = {"pages", "vcpus", "inval", "shadow", "batch"};

#define MAX_LIST 16
static struct mb_arg args_store[AB_MODE_NR * 2];

/* The grid ab_model_register() registers. */
struct mb_grid {
	int cap, maxv;
	int64_t vcpus[16];
	int nvc;
	int64_t pg[MAX_LIST], bt[MAX_LIST];
	int npg, nbt;
	int reps;
	uint64_t visits;
	enum ab_lock_kind lock;
};

/* The vCPU counts: --max-vcpus checked against the PUs; 0, 1, 2, 4, ... and
 * the cap itself. */
static int grid_vcpus(const struct ab_bench_config *cfg, struct mb_grid *g, char *err,
		      size_t errlen)
{
	g->cap = ab_place_vcpu_capacity();
	g->maxv = g->cap;
	if (cfg->max_vcpus < 0) {
		snprintf(err, errlen, "max_vcpus %d is negative", cfg->max_vcpus);
		return -1;
	}
	if (cfg->max_vcpus > 0)
		g->maxv = cfg->max_vcpus;
	if (g->maxv > g->cap && !cfg->allow_oversubscribe) {
		snprintf(err, errlen,
			 "refused: %d vCPUs + the walker need %d PUs, %d vCPUs fit here (walker on "
			 "a core of its own, one PU per vCPU; %s): it would measure CPU sharing, "
			 "not locking; --allow-oversubscribe runs it marked \"oversubscribed\"",
			 g->maxv, g->maxv + 1, g->cap, ab_topo_summary());
		return -1;
	}

	g->nvc = 0;
	g->vcpus[g->nvc++] = 0;
	for (int x = 1; x < g->maxv && g->nvc < 15; x *= 2)
		g->vcpus[g->nvc++] = x;
	if (g->maxv > 0)
		g->vcpus[g->nvc++] = g->maxv;
	return 0;
}

/* Range sizes and call sizes (--pages, --batch or the grid's), repetitions,
 * the work per benchmark and the lock. */
static int grid_sizes(const struct ab_bench_config *cfg, struct mb_grid *g, char *err,
		      size_t errlen)
{
	static const int64_t pages_quick[] = {16384};
	static const int64_t pages_full[] = {4096, 262144};

	if (cfg->pages) {
		if ((g->npg = ab_parse_count_list("--pages", cfg->pages, false, g->pg, MAX_LIST,
						  err, errlen)) < 0)
			return AB_REGISTER_USAGE;
	} else {
		g->npg = cfg->quick ? 1 : 2;
		memcpy(g->pg, cfg->quick ? pages_quick : pages_full, sizeof(int64_t) * g->npg);
	}
	if (cfg->batch) {
		if ((g->nbt = ab_parse_count_list("--batch", cfg->batch, true, g->bt, MAX_LIST, err,
						  errlen)) < 0)
			return AB_REGISTER_USAGE;
	} else {
		/* 1: page_idle and 6.12 MGLRU (one call per PTE); 64: a
		 * look-around window; all: the whole range in one call. */
		g->nbt = 3;
		g->bt[0] = 1;
		g->bt[1] = 64;
		g->bt[2] = 0;
	}
	g->reps = cfg->reps > 0 ? cfg->reps : (cfg->quick ? 3 : 5);
	/* Fixed work per benchmark instead of a minimum time: Google Benchmark's
	 * iteration estimate re-runs the whole setup (table, threads, baseline
	 * window) several times per repetition, and the count depends only on
	 * the grid, so names are the same on every machine. Per-page calls
	 * cost ~30x more per page than whole-range ones: 1/16 of the visits. */
	g->visits = cfg->quick ? (8u << 20) : (32u << 20);

	/* AB_MODEL_LOCK=pthread swaps the queued rwlock for glibc's (comparison
	 * only; recorded in the context). */
	const char *lk = getenv("AB_MODEL_LOCK");
	g->lock = AB_LOCK_QUEUED;
	if (lk && !strcmp(lk, "pthread")) {
		g->lock = AB_LOCK_PTHREAD;
	} else if (lk && *lk && strcmp(lk, "queued")) {
		snprintf(err, errlen, "AB_MODEL_LOCK='%s': want queued or pthread", lk);
		return -1;
	}
	return 0;
}

/* The model, its workload and where every thread runs, per vCPU count. */
static void model_context(const struct mb_grid *g)
{
	char buf[512];
	snprintf(buf, sizeof(buf),
		 "x86 TDP MMU model: 4-level radix, urcu-memb RCU, mmu_lock = %s%s",
		 g->lock == AB_LOCK_PTHREAD ? "pthread_rwlock (writer-preferring)"
					    : "queued rwlock (FIFO, as qrwlock)",
		 ab_model_slow_walker() ? " (SLOW WALKER TEST BUILD)" : "");
	ab_add_context("model", buf);
	snprintf(buf, sizeof(buf),
		 "random accesses, %d%% writes; open-loop faults %d/s per vCPU (%d%% inside the "
		 "aged range, the others in a %d-page window outside it), each %d ns before "
		 "mmu_lock + %d ns holding it for read (calibration: docs/model.md); inval zaps "
		 "512 pages (4K) or 1 page (2M) under the write lock; aging = passes of "
		 "test-and-clear over the whole range, batch:N pages per call, back to back",
		 WRITE_PCT, MB_FAULT_RATE, MB_FAULT_IN_PCT, FRESH_PAGES, MB_FAULT_WORK_NS,
		 MB_FAULT_HOLD_NS);
	ab_add_context("model_workload", buf);
	size_t off = 0;
	buf[0] = 0;
	for (int j = 0; j < g->nvc && off < sizeof(buf); j++) {
		char d[256];
		ab_pin_describe(1 + (int)g->vcpus[j], d, sizeof(d));
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%svcpus:%d: %s",
					j ? "; " : "", (int)g->vcpus[j], d);
	}
	ab_add_context("model_placement", buf);
}

/* One family @name of @ma: range size pg[i], call size bt[q]; page size 2M if @p. */
static int register_family(const struct ab_bench_config *cfg, const struct mb_grid *g,
			   struct mb_arg *ma, const char *name, int p, int i, int q, char *err,
			   size_t errlen)
{
	static const int64_t inval_rates[] = {0, 1000};
	int64_t batch = g->bt[q] && g->bt[q] < g->pg[i] ? g->bt[q] : g->pg[i];
	bool whole = batch == g->pg[i];

	/* Quick grid: 4K only (2M: the full grid). */
	if (cfg->quick && p)
		return 0;
	ab_bench *b = ab_register(name, bench_model, ma);
	if (!b) {
		snprintf(err, errlen, "cannot register %s", name);
		return -1;
	}
	ab_bench_arg_names(b, arg_names, 5);
	for (int j = 0; j < g->nvc; j++)
		for (int k = 0; k < 2; k++) {
			int64_t args[5] = {g->pg[i], g->vcpus[j], inval_rates[k], 0, batch};
			/* Without vCPUs nothing refaults. */
			if (!g->vcpus[j] && inval_rates[k])
				continue;
			/* Quick grid: invalidations only
			 * with whole-range calls (time). */
			if (cfg->quick && inval_rates[k] && !whole)
				continue;
			ab_bench_args(b, args, 5);
		}
	/* Shadow ranges (what declining costs in accuracy): 4K, one vCPU, no
	 * invalidations, at every call size (a per-PTE caller meets a shadow
	 * table on 10 % of its calls, a whole-range one on every call); quick
	 * 10 %, full 10 % and 50 %. */
	for (int k = 0; !p && g->maxv >= 1 && k < (cfg->quick ? 1 : 2); k++) {
		int64_t args[5] = {g->pg[i], 1, 0, k ? 50 : 10, batch};
		ab_bench_args(b, args, 5);
	}
	uint64_t v = batch < 64 ? g->visits / 16 : g->visits;
	uint64_t it = v / (uint64_t)g->pg[i];
	ab_bench_iterations(b, it < 16 ? 16 : (int64_t)it);
	ab_bench_manual_time(b);
	ab_bench_repetitions(b, g->reps);
	ab_bench_unit(b, 'u');
	return 0;
}

int ab_model_register(const struct ab_bench_config *cfg, char *err, size_t errlen)
{
	struct mb_grid g;
	char name[512];
	int r;

	if ((r = grid_vcpus(cfg, &g, err, errlen)) || (r = grid_sizes(cfg, &g, err, errlen)))
		return r;
	model_context(&g);

	for (int w = 0; w < AB_MODE_NR; w++) {
		if (!ab_model_has_walker(w))
			continue;
		for (int p = 0; p < 2; p++) {
			struct mb_arg *ma = &args_store[w * 2 + p];
			ma->w = w;
			ma->ps = p ? AB_PG_2M : AB_PG_4K;
			ma->pin = cfg->pin;
			ma->lock = g.lock;
			ma->min_window_ns = 50000000ull;
			ma->capacity = g.cap;
			snprintf(name, sizeof(name), "model/%s/%s", ab_mode_name(w),
				 p ? "2M" : "4K");
			/* One family per range size and call size (iterations
			 * are per family). */
			for (int i = 0; i < g.npg; i++)
				for (int q = 0; q < g.nbt; q++)
					if (register_family(cfg, &g, ma, name, p, i, q, err,
							    errlen))
						return -1;
		}
	}
	return 0;
}
