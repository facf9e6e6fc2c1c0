// SPDX-License-Identifier: GPL-2.0
/*
 * bench_model.c - the model backend's benchmarks (ab_model_register()).
 *
 * model/<walker>/<4K|2M>/pages:<n>/vcpus:<n>/inval:<per_s>/shadow:<pct>
 *
 * One run: build a table of `pages` pages (all mapped, A clear), start
 * `vcpus` vCPU threads (random accesses over disjoint regions of the range,
 * 20% writes, one access in 64 to a private "fresh" window that is recycled
 * under the read lock so it keeps faulting) and, if inval > 0, an
 * invalidation thread zapping under the write lock (4K: one 512-page leaf
 * table, 2M: one 2M page) `inval` times per second. shadow > 0 marks that
 * percentage of the range's 512-page leaf tables as needing mmu_lock (the
 * model of shadow-MMU pages): fast_only declines every call, bitmap the
 * windows in them; the young pages left unanswered are counted after each
 * declined call, outside the timed region (false_old). Then, timed (manual
 * time): test-and-clear aging calls over the whole range, back to back.
 * After the timed loop, in the same run: scan passes over the same table
 * (walker_scan_ratio) and a window of equal length without aging
 * (vcpu_rel = vCPU accesses/s with aging / without).
 */
#define _GNU_SOURCE
#include "abmodel.h"

#include <ab_bench_config.h>
#include <ab_common.h>
#include <ab_shim.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FRESH_PAGES    4096 /* per vCPU */
#define FRESH_EVERY    64
#define WRITE_PCT      20
#define WARMUP_NS      5000000ull
#define VCPU_READY     1024 /* accesses per vCPU before the timed loop */
#define BASE_MIN_NS    5000000ull
#define BASE_MAX_NS    500000000ull
#define SCAN_MIN_PAIRS 15
#define SCAN_MAX_PAIRS 4096

struct mb_arg {
	enum ab_walker w;
	enum ab_pgsize ps;
	bool pin;
	enum ab_lock_kind lock;
	uint64_t min_window_ns; /* vCPU measurement window with aging, at least */
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

static void bench_model(ab_state *st, void *argp)
{
	const struct mb_arg *a = argp;
	const uint64_t pages = (uint64_t)ab_range(st, 0);
	const int nv = (int)ab_range(st, 1);
	const unsigned rate = (unsigned)ab_range(st, 2);
	const unsigned shadow = (unsigned)ab_range(st, 3);
	struct ab_model_params prm = {.pgsize = a->ps,
				      .npages = pages + (uint64_t)nv * FRESH_PAGES,
				      .base_gfn = 1ull << 20,
				      .mmu_lock = a->lock};
	struct ab_model *m;
	char err[128];

	ab_model_thread_register();
	if (a->pin)
		ab_pin_self(0);
	m = ab_model_create(&prm);
	if (!m) {
		snprintf(err, sizeof(err), "model of %llu pages: %s",
			 (unsigned long long)prm.npages, strerror(errno));
		ab_skip_with_error(st, err);
		return;
	}
	struct ab_age_res res = {0};
	ab_model_populate(m, 0, pages, false);
	ab_model_age(m, AB_W_LOCKED, 0, pages, true, NULL, &res);

	/*
	 * Shadow ranges and the decline bookkeeping. The declined spans of a
	 * call are a function of the marks only (ab_model_needs_lock, the
	 * walkers' own predicate): fast_only the whole range, bitmap the
	 * 64-page windows that intersect a mark. decl_mask has their pages'
	 * bits set; exp_decl is the declines a declining call must count.
	 */
	const size_t words = (pages + 63) / 64;
	uint64_t *decl_mask = NULL, *tbits = NULL, exp_decl = 0;
	if (shadow) {
		int64_t mk = mark_shadow(m, pages, shadow);
		decl_mask = calloc(words, sizeof(uint64_t));
		tbits = calloc(words, sizeof(uint64_t));
		if (mk < 0 || !decl_mask || !tbits) {
			snprintf(err, sizeof(err), "shadow:%u: %s", shadow,
				 strerror(mk < 0 ? (int)-mk : ENOMEM));
			ab_skip_with_error(st, err);
			free(decl_mask);
			free(tbits);
			ab_model_destroy(m);
			return;
		}
		for (uint64_t off = 0; off < pages; off += 64) {
			unsigned k = pages - off < 64 ? (unsigned)(pages - off) : 64;
			bool d = a->w == AB_W_FAST_ONLY ? ab_model_needs_lock(m, 0, pages)
				 : a->w == AB_W_BITMAP	? ab_model_needs_lock(m, off, k)
							: false;
			if (d) {
				decl_mask[off >> 6] = k < 64 ? (1ull << k) - 1 : ~0ull;
				exp_decl += a->w == AB_W_BITMAP ? 1 : 0;
			}
		}
		if (a->w == AB_W_FAST_ONLY && ab_model_needs_lock(m, 0, pages))
			exp_decl = 1;
	}

	volatile int stop = 0, phase = 0;
	struct ab_vcpu *v = calloc(nv ? nv : 1, sizeof(*v));
	struct ab_hist *hist = calloc(2 * (nv ? nv : 1), sizeof(*hist));
	pthread_t *vt = calloc(nv ? nv : 1, sizeof(*vt)), it;
	struct ab_inval iv = {.m = m,
			      .first = 0,
			      .n = pages,
			      .zap_pages = a->ps == AB_PG_4K ? AB_PT_ENTRIES : 1,
			      .rate = rate,
			      .seed = 0x5eed,
			      .stop = &stop};
	double *call_ns = NULL;
	if (!v || !hist || !vt) {
		ab_skip_with_error(st, "out of memory");
		goto out;
	}
	for (int i = 0; i < nv; i++) {
		ab_hist_init(&hist[2 * i]);
		ab_hist_init(&hist[2 * i + 1]);
		uint64_t per = pages / nv;
		v[i] = (struct ab_vcpu){.m = m,
					.first = i * per,
					.n = i == nv - 1 ? pages - i * per : per,
					.pattern = AB_PAT_RANDOM,
					.write_pct = WRITE_PCT,
					.fresh_first = pages + (uint64_t)i * FRESH_PAGES,
					.fresh_n = FRESH_PAGES,
					.fresh_every = FRESH_EVERY,
					.seed = 0x1234567ull * (i + 1),
					.pin_role = a->pin ? 1 + i : -1,
					.stop = &stop,
					.phase = &phase,
					.hist = {&hist[2 * i], &hist[2 * i + 1]}};
	}
	int started = 0, rc = 0;
	bool inval_started = false;
	while (started < nv &&
	       !(rc = pthread_create(&vt[started], NULL, ab_vcpu_thread, &v[started])))
		started++;
	if (!rc && rate) {
		rc = pthread_create(&it, NULL, ab_inval_thread, &iv);
		inval_started = !rc;
	}
	if (rc) {
		__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
		for (int i = 0; i < started; i++)
			pthread_join(vt[i], NULL);
		snprintf(err, sizeof(err), "pthread_create: %s", strerror(rc));
		ab_skip_with_error(st, err);
		goto out;
	}
	if (nv || rate)
		sleep_ns(WARMUP_NS);
	/* On a loaded machine a vCPU thread may not have run yet: the timed
	 * loop must see the load it claims to (and false_old the accesses).
	 * Wait until every vCPU made VCPU_READY accesses (at most 2 s). */
	for (uint64_t t0 = ab_now_ns(); ab_now_ns() - t0 < 2000000000ull;) {
		int ready = 0;
		for (int i = 0; i < nv; i++)
			ready += __atomic_load_n(&v[i].accesses, __ATOMIC_RELAXED) >= VCPU_READY;
		if (ready == nv)
			break;
		sleep_ns(1000000);
	}

	/* Timed: aging calls over the whole range. */
	uint64_t iters = 0, age_ns = 0, young = 0, wait = 0, decl = 0, false_old = 0;
	bool decl_mismatch = false;
	/* Time, vCPU accesses and faults during the false_old counts: taken
	 * out of the vCPU window, which measures the vCPUs under aging calls. */
	uint64_t cnt_ns = 0, cnt_acc = 0, cnt_f = 0;
	size_t cap_calls = 1024;
	call_ns = malloc(sizeof(double) * cap_calls);
	__atomic_store_n(&phase, 1, __ATOMIC_RELAXED);
	uint64_t acc0 = sum_accesses(v, nv), f0 = sum_faults(v, nv), w0 = ab_now_ns();
	while (ab_keep_running(st)) {
		memset(&res, 0, sizeof(res));
		uint64_t t0 = ab_now_ns();
		int arc = ab_model_age(m, a->w, 0, pages, true, NULL, &res);
		uint64_t t1 = ab_now_ns();
		ab_set_iteration_time(st, (double)(t1 - t0) * 1e-9);
		age_ns += t1 - t0;
		young += res.young;
		wait += res.lock_wait_ns;
		decl += res.declines;
		if (res.declines != (arc == AB_AGE_DECLINED ? exp_decl : 0))
			decl_mismatch = true;
		if (arc == AB_AGE_DECLINED && decl_mask) {
			/* Untimed: the young pages the declined spans hold now
			 * (test only, lockless linear pass; the declining walker
			 * cleared nothing there). */
			struct ab_age_res tr = {0};
			uint64_t ca = sum_accesses(v, nv), cf = sum_faults(v, nv), c0 = ab_now_ns();
			ab_model_age(m, AB_W_SCAN, 0, pages, false, tbits, &tr);
			false_old += popcount_and(tbits, decl_mask, words);
			cnt_ns += ab_now_ns() - c0;
			cnt_acc += sum_accesses(v, nv) - ca;
			cnt_f += sum_faults(v, nv) - cf;
		}
		if (call_ns && iters == cap_calls) {
			double *n = realloc(call_ns, sizeof(double) * cap_calls * 2);
			if (!n) {
				free(call_ns);
				call_ns = NULL;
			} else {
				call_ns = n;
				cap_calls *= 2;
			}
		}
		if (call_ns)
			call_ns[iters] = (double)(t1 - t0);
		iters++;
	}
	/* The vCPU side needs a long enough window on a busy machine: keep
	 * aging (untimed, same calls) until it lasted a->min_window_ns. */
	while (nv && ab_now_ns() - w0 - cnt_ns < a->min_window_ns) {
		memset(&res, 0, sizeof(res));
		ab_model_age(m, a->w, 0, pages, true, NULL, &res);
	}
	uint64_t w1 = ab_now_ns(), acc1 = sum_accesses(v, nv), f1 = sum_faults(v, nv);
	const uint64_t win_ns = w1 - w0 - cnt_ns, win_acc = acc1 - acc0 - cnt_acc,
		       win_f = f1 - f0 - cnt_f;
	__atomic_store_n(&phase, 0, __ATOMIC_RELAXED);

	/* Same run, same table, same load: the scan floor, measured as
	 * alternating (walker call, scan pass) pairs so both see the same
	 * conditions; the ratio is the median of the per-pair ratios, so one
	 * preempted call (the machine is shared) does not decide it. At least
	 * SCAN_MIN_PAIRS pairs, then up to a quarter of the timed loop (max
	 * 50 ms), at most SCAN_MAX_PAIRS. */
	double ratio = 0;
	if (a->w != AB_W_SCAN && iters) {
		static double r[SCAN_MAX_PAIRS];
		uint64_t spent = 0, budget = age_ns / 4;
		int pairs = 0;
		if (budget > 50000000ull)
			budget = 50000000ull;
		while (pairs < SCAN_MAX_PAIRS && (pairs < SCAN_MIN_PAIRS || spent < budget)) {
			memset(&res, 0, sizeof(res));
			uint64_t t0 = ab_now_ns();
			ab_model_age(m, a->w, 0, pages, true, NULL, &res);
			uint64_t t1 = ab_now_ns();
			ab_model_age(m, AB_W_SCAN, 0, pages, true, NULL, &res);
			uint64_t t2 = ab_now_ns();
			r[pairs++] = (double)(t1 - t0) / (double)(t2 - t1 ? t2 - t1 : 1);
			spent += t2 - t0;
		}
		qsort(r, pairs, sizeof(r[0]), cmp_double);
		ratio = pairs & 1 ? r[pairs / 2] : (r[pairs / 2 - 1] + r[pairs / 2]) / 2;
	}

	/* Same run: an equal window without aging. */
	double rate_aging = 0, rate_base = 0;
	if (nv) {
		uint64_t win = win_ns;
		if (win < BASE_MIN_NS)
			win = BASE_MIN_NS;
		if (win > BASE_MAX_NS)
			win = BASE_MAX_NS;
		uint64_t b0 = ab_now_ns(), c0 = sum_accesses(v, nv);
		sleep_ns(win);
		uint64_t c1 = sum_accesses(v, nv), b1 = ab_now_ns();
		rate_aging = (double)win_acc / ((double)win_ns * 1e-9);
		rate_base = (double)(c1 - c0) / ((double)(b1 - b0) * 1e-9);
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < nv; i++)
		pthread_join(vt[i], NULL);
	if (inval_started)
		pthread_join(it, NULL);

	if (decl_mismatch)
		ab_skip_with_error(st, "decline bookkeeping: a call's declines differ from the "
				       "marked spans (model bug)");
	else if (iters) {
		double per_call = (double)age_ns / (double)iters;
		ab_counter(st, "ns_per_page", per_call / (double)pages, AB_CTR_DEFAULT);
		ab_counter(st, "pages_per_s", (double)pages * 1e9 / per_call, AB_CTR_DEFAULT);
		if (call_ns) {
			/* Median call: robust to a preempted call on a shared machine. */
			qsort(call_ns, iters, sizeof(double), cmp_double);
			double med = iters & 1 ? call_ns[iters / 2]
					       : (call_ns[iters / 2 - 1] + call_ns[iters / 2]) / 2;
			ab_counter(st, "ns_per_page_median", med / (double)pages, AB_CTR_DEFAULT);
		}
		ab_counter(st, "young", (double)young / (double)iters, AB_CTR_DEFAULT);
		if (a->w == AB_W_LOCKED || a->w == AB_W_READ_LOCKED) /* others take no lock */
			ab_counter(st, "lock_wait_ns", (double)wait / (double)iters,
				   AB_CTR_DEFAULT);
		/* declines: the walkers that can decline, and with shadow ranges
		 * every tree walker (the locking ones: 0). false_old only with
		 * shadow ranges, where it can be non-zero (so the report's
		 * accuracy figure picks the shadow points). scan has no notion
		 * of shadow ranges. */
		bool can_decline = a->w == AB_W_FAST_ONLY || a->w == AB_W_BITMAP;
		if (can_decline || (shadow && a->w != AB_W_SCAN))
			ab_counter(st, "declines", (double)decl / (double)iters, AB_CTR_DEFAULT);
		if (shadow && a->w != AB_W_SCAN)
			ab_counter(st, "false_old", (double)false_old / (double)iters,
				   AB_CTR_DEFAULT);
		if (a->w != AB_W_SCAN)
			ab_counter(st, "walker_scan_ratio", ratio, AB_CTR_DEFAULT);
	}
	if (nv) {
		struct ab_hist h;
		ab_hist_init(&h);
		for (int i = 0; i < nv; i++)
			ab_hist_merge(&h, &hist[2 * i + 1]);
		if (h.count) {
			ab_counter(st, "fault_p50_ns", (double)ab_hist_quantile(&h, 0.50), 0);
			ab_counter(st, "fault_p99_ns", (double)ab_hist_quantile(&h, 0.99), 0);
			ab_counter(st, "fault_max_ns", (double)h.max, 0);
			ab_record_cdf(st, "fault", &h);
		}
		ab_counter(st, "vcpu_faults_per_s", (double)win_f / ((double)win_ns * 1e-9), 0);
		ab_counter(st, "vcpu_accesses_per_s", rate_aging, 0);
		ab_counter(st, "pool_waits", (double)ab_model_pool_waits(m), 0);
		if (rate_base > 0)
			ab_counter(st, "vcpu_rel", rate_aging / rate_base, 0);
	}
out:
	free(call_ns);
	free(decl_mask);
	free(tbits);
	free(v);
	free(hist);
	free(vt);
	ab_model_destroy(m);
}

static const char *const arg_names[] = {"pages", "vcpus", "inval", "shadow"};

static struct mb_arg args_store[AB_W_NR * 2];

int ab_model_register(const struct ab_bench_config *cfg, char *err, size_t errlen)
{
	int pus = ab_topo_nr_pus();
	int maxv = pus > 0 ? pus : 1;

	if (cfg->max_vcpus < 0) {
		snprintf(err, errlen, "max_vcpus %d is negative", cfg->max_vcpus);
		return -1;
	}
	if (cfg->max_vcpus > 0 && cfg->max_vcpus < maxv)
		maxv = cfg->max_vcpus;

	/* vCPU counts: 0, 1, 2, 4, ... and the cap itself. */
	int64_t vcpus[16];
	int nvc = 0;
	vcpus[nvc++] = 0;
	for (int x = 1; x < maxv && nvc < 15; x *= 2)
		vcpus[nvc++] = x;
	vcpus[nvc++] = maxv;

	static const int64_t pages_quick[] = {16384};
	static const int64_t pages_full[] = {4096, 262144};
	static const int64_t inval_rates[] = {0, 1000};
	const int64_t *pg = cfg->quick ? pages_quick : pages_full;
	int npg = cfg->quick ? 1 : 2;
	int reps = cfg->reps > 0 ? cfg->reps : (cfg->quick ? 3 : 5);
	/* Fixed work per benchmark instead of a minimum time: Google Benchmark's
	 * iteration estimate re-runs the whole setup (table, threads, baseline
	 * window) several times per repetition, and the count depends only on
	 * the grid, so names are the same on every machine. */
	const uint64_t visits = cfg->quick ? (16u << 20) : (32u << 20);

	static const struct {
		const char *name, *unit;
		enum ab_better better;
	} ctr[] = {
	    {"ns_per_page", "ns", AB_BETTER_LOWER},
	    {"pages_per_s", "pages/s", AB_BETTER_HIGHER},
	    {"young", "pages", AB_BETTER_NONE},
	    {"lock_wait_ns", "ns", AB_BETTER_LOWER},
	    {"declines", "per call", AB_BETTER_LOWER},
	    {"false_old", "pages", AB_BETTER_LOWER},
	    {"fault_p50_ns", "ns", AB_BETTER_LOWER},
	    {"fault_p99_ns", "ns", AB_BETTER_LOWER},
	    {"fault_max_ns", "ns", AB_BETTER_LOWER},
	    {"vcpu_accesses_per_s", "accesses/s", AB_BETTER_HIGHER},
	    {"vcpu_faults_per_s", "faults/s", AB_BETTER_NONE},
	    {"pool_waits", "count", AB_BETTER_LOWER},
	    {"vcpu_rel", "ratio", AB_BETTER_HIGHER},
	    {"walker_scan_ratio", "ratio", AB_BETTER_LOWER},
	};
	for (size_t i = 0; i < sizeof(ctr) / sizeof(ctr[0]); i++)
		ab_counter_declare(ctr[i].name, ctr[i].unit, ctr[i].better);

	/* AB_MODEL_LOCK=pthread swaps the queued rwlock for glibc's (comparison
	 * only; recorded in the context). */
	const char *lk = getenv("AB_MODEL_LOCK");
	enum ab_lock_kind lock = AB_LOCK_QUEUED;
	if (lk && !strcmp(lk, "pthread")) {
		lock = AB_LOCK_PTHREAD;
	} else if (lk && *lk && strcmp(lk, "queued")) {
		snprintf(err, errlen, "AB_MODEL_LOCK='%s': want queued or pthread", lk);
		return -1;
	}
	char buf[256];
	snprintf(buf, sizeof(buf),
		 "x86 TDP MMU model: 4-level radix, urcu-memb RCU, mmu_lock = %s%s",
		 lock == AB_LOCK_PTHREAD ? "pthread_rwlock (writer-preferring)"
					 : "queued rwlock (FIFO, as qrwlock)",
		 ab_model_slow_walker() ? " (SLOW WALKER TEST BUILD)" : "");
	ab_add_context("model", buf);
	snprintf(buf, sizeof(buf),
		 "random accesses, %d%% writes, 1 in %d to a %d-page fresh window per vCPU; "
		 "inval zaps 512 pages (4K) or 1 page (2M); aging = test-and-clear of the whole "
		 "range, back to back",
		 WRITE_PCT, FRESH_EVERY, FRESH_PAGES);
	ab_add_context("model_workload", buf);

	for (int w = 0; w < AB_W_NR; w++) {
		for (int p = 0; p < 2; p++) {
			struct mb_arg *ma = &args_store[w * 2 + p];
			ma->w = w;
			ma->ps = p ? AB_PG_2M : AB_PG_4K;
			ma->pin = cfg->pin;
			ma->lock = lock;
			ma->min_window_ns = 50000000ull;
			snprintf(buf, sizeof(buf), "model/%s/%s", ab_walker_name(w),
				 p ? "2M" : "4K");
			/* One family per range size (iterations are per family). */
			for (int i = 0; i < npg; i++) {
				ab_bench *b = ab_register(buf, bench_model, ma);
				if (!b) {
					snprintf(err, errlen, "cannot register %s", buf);
					return -1;
				}
				ab_bench_arg_names(b, arg_names, 4);
				for (int j = 0; j < nvc; j++)
					for (int k = 0; k < 2; k++) {
						int64_t args[4] = {pg[i], vcpus[j], inval_rates[k],
								   0};
						/* Without vCPUs nothing refaults: zaps
						 * would just empty the table. */
						if (!vcpus[j] && inval_rates[k])
							continue;
						ab_bench_args(b, args, 4);
					}
				/* Shadow ranges (what declining costs in accuracy):
				 * 4K, one vCPU, no invalidations; quick 10 %, full
				 * 10 % and 50 %. */
				for (int k = 0; !p && k < (cfg->quick ? 1 : 2); k++) {
					int64_t args[4] = {pg[i], 1, 0, k ? 50 : 10};
					ab_bench_args(b, args, 4);
				}
				uint64_t it = visits / (uint64_t)pg[i];
				ab_bench_iterations(b, it < 16 ? 16 : (int64_t)it);
				ab_bench_manual_time(b);
				ab_bench_repetitions(b, reps);
				ab_bench_unit(b, 'u');
			}
		}
	}
	return 0;
}
