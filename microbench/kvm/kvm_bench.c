// SPDX-License-Identifier: GPL-2.0
/*
 * kvm_bench.c - the kvm backend: real VMs (libabvm) aged by the running
 * kernel through one of the aging drivers, timed while vCPUs run.
 *
 * One benchmark = kvm/<mode>/<4K|2M|file>/mib:<n>/vcpus:<n>[/batch:<pages>]
 * (batch: the hook's pages per notifier call), one repetition = one fresh VM:
 *   1. populate: every vCPU touches its partition once (first-touch fault
 *      latency per access -> fault_* and the "fault" CDF);
 *   2. base: vCPUs loop over their pages, no aging, for a fixed time;
 *   3. aging: same loop, the benchmark thread ages the whole guest range
 *      back to back, one aging call per iteration (manual time = the call);
 *   4. accuracy: vCPUs idle; clear, touch a known page set, test; compare;
 *   5. faults under aging: zap the guest memory, one vCPU pass without
 *      aging, zap again, one pass while a helper thread ages back to back.
 * See docs/kvm-backend.md.
 */
#define _GNU_SOURCE
#include "kvm_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ab_bench_config.h"
#include "ab_common.h"

struct kparams kvm_params;
const struct ab_kvm_driver *kvm_chosen;

/* Directory of file-backed guests and ballast: a disk if there is one. */
const char *kvm_file_dir(void)
{
	const char *d = getenv("AGEBENCH_KVM_FILE_DIR");

	if (d && *d)
		return d;
	return access("/var/tmp", W_OK | X_OK) == 0 ? "/var/tmp" : "/tmp";
}

/* Sum of the vCPUs' access counters. */
static uint64_t vm_accesses(struct abvm *vm)
{
	struct ab_vm_vcpu_stats s;

	ab_vm_stats_total(vm, &s);
	return s.accesses;
}

/* Add the vCPUs' latency histograms to @h. */
static void merge_hists(struct abvm *vm, struct ab_hist *h)
{
	for (int i = 0; i < ab_vm_nr_vcpus(vm); i++)
		ab_hist_merge(h, ab_vm_vcpu_hist(vm, i));
}

void kvm_sleep_ns(uint64_t ns)
{
	struct timespec ts = {.tv_sec = ns / 1000000000ull, .tv_nsec = ns % 1000000000ull};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* age_lock_wait_ns, age_fast_declines, age_calls, age_walk_ns; 0 or -1. */
static int kstats_read(struct ab_vm_kstats *ks, uint64_t v[4])
{
	static const char *const names[4] = {"age_lock_wait_ns", "age_fast_declines", "age_calls",
					     "age_walk_ns"};

	for (int i = 0; i < 4; i++)
		if (ab_vm_kstats_get(ks, names[i], &v[i]))
			return -1;
	return 0;
}

/* A looping command over every page of each partition, forever. */
void kvm_loop_work(struct ab_vm_work *w, enum ab_vm_op op)
{
	ab_vm_work_init(w);
	w->op = op;
	w->order = AB_VM_ORDER_SEQ;
	w->passes = 0;
	w->record_latency = true;
}

/* Wait until every vCPU completed @more passes after @p0 (per vCPU). */
int kvm_wait_passes(struct abvm *vm, const uint64_t *p0, uint64_t more, uint64_t timeout_ns)
{
	uint64_t deadline = ab_now_ns() + timeout_ns;

	for (int i = 0; i < ab_vm_nr_vcpus(vm); i++) {
		struct ab_vm_vcpu_stats s;

		for (;;) {
			ab_vm_vcpu_stats(vm, i, &s);
			if (s.passes >= p0[i] + more)
				break;
			if (ab_now_ns() > deadline)
				return -ETIMEDOUT;
			kvm_sleep_ns(200000);
		}
	}
	return 0;
}

/*
 * The ager: the real caller (the selected driver) aging the whole guest
 * range back to back in its own thread (role 0), from the start barrier
 * until told to stop; at least one call. Sums of its answers.
 */
struct ager {
	struct ab_kvm_drv *d;
	const char *mode;
	uint64_t npages;
	bool pin;
	pthread_barrier_t *bar;
	volatile int stop;
	uint64_t calls, ns, pages, young, lw, dc, ev, rf, nc;
	bool has_young, has_lw, has_dc, has_rf, has_nc;
	int err;
	/* per pass (one call of the driver over the range): start, end, its
	 * answer's time and pages; kept by the ager, read after the join */
	uint64_t *pt0, *pt1, *pns, *ppages;
	size_t np, capp;
	/* ager_overlap(): passes that overlapped the vCPUs' faults (contended)
	 * and the others (quiet), and the overlapped share of the pass time */
	uint64_t c_calls, c_ns, c_pages, q_calls, q_ns, q_pages, ov_ns, wall_ns;
};

/* Keep pass @r's timestamps (the arrays grow; a failed realloc keeps none). */
static void ager_keep(struct ager *a, uint64_t t0, uint64_t t1, const struct ab_kvm_age_res *r)
{
	if (a->np == a->capp) {
		size_t cap = a->capp ? 2 * a->capp : 64;
		uint64_t *p[4] = {realloc(a->pt0, cap * 8), realloc(a->pt1, cap * 8),
				  realloc(a->pns, cap * 8), realloc(a->ppages, cap * 8)};

		a->pt0 = p[0] ? p[0] : a->pt0;
		a->pt1 = p[1] ? p[1] : a->pt1;
		a->pns = p[2] ? p[2] : a->pns;
		a->ppages = p[3] ? p[3] : a->ppages;
		if (!p[0] || !p[1] || !p[2] || !p[3])
			return;
		a->capp = cap;
	}
	a->pt0[a->np] = t0;
	a->pt1[a->np] = t1;
	a->pns[a->np] = r->ns;
	a->ppages[a->np] = r->pages;
	a->np++;
}

/*
 * Split the passes by whether they overlapped the vCPUs' faults, the
 * populate [@f0, @f1]: contended (any overlap) and quiet (none: before
 * the vCPUs started or after the last fault); ov_ns / wall_ns is the share
 * of the aging time that overlapped faults (overlap_frac).
 */
static void ager_overlap(struct ager *a, uint64_t f0, uint64_t f1)
{
	for (size_t i = 0; i < a->np; i++) {
		uint64_t s = a->pt0[i] > f0 ? a->pt0[i] : f0, e = a->pt1[i] < f1 ? a->pt1[i] : f1;
		uint64_t ov = e > s ? e - s : 0;

		a->wall_ns += a->pt1[i] - a->pt0[i];
		a->ov_ns += ov;
		if (ov) {
			a->c_calls++;
			a->c_ns += a->pns[i];
			a->c_pages += a->ppages[i];
		} else {
			a->q_calls++;
			a->q_ns += a->pns[i];
			a->q_pages += a->ppages[i];
		}
	}
}

static void ager_free(struct ager *a)
{
	free(a->pt0);
	free(a->pt1);
	free(a->pns);
	free(a->ppages);
	a->pt0 = a->pt1 = a->pns = a->ppages = NULL;
	a->np = a->capp = 0;
}

static void *ager_fn(void *arg)
{
	struct ager *a = arg;

	if (a->pin)
		ab_pin_self(0);
	a->has_young = a->has_lw = a->has_dc = a->has_rf = a->has_nc = true;
	pthread_barrier_wait(a->bar);
	do {
		struct ab_kvm_age_res r;

		memset(&r, 0, sizeof(r));
		uint64_t t0 = ab_now_ns();
		a->err = a->d->ops->age(a->d, a->mode, 0, a->npages, true, &r, NULL);
		uint64_t t1 = ab_now_ns();
		if (a->err)
			break;
		ager_keep(a, t0, t1, &r);
		a->calls++;
		a->ns += r.ns;
		a->pages += r.pages;
		a->young += r.young;
		a->has_young &= r.has_young;
		a->lw += r.lock_wait_ns;
		a->has_lw &= r.has_lock_wait;
		a->dc += r.declines;
		a->has_dc &= r.has_declines;
		a->ev += r.evicted;
		a->rf += r.refaults;
		a->has_rf &= r.has_refaults;
		a->nc += r.calls;
		a->has_nc &= r.has_calls;
	} while (!__atomic_load_n(&a->stop, __ATOMIC_ACQUIRE));
	return NULL;
}

/*
 * The zapper of the steady-refault workload: MADV_DONTNEED on 2 MiB chunks
 * of the guest memory, round robin, at @rate bytes/s (the host mm turns
 * each into an MMU-notifier invalidation: KVM's mappings go, the vCPUs
 * fault them back). Unpinned; it sleeps between chunks.
 */
struct zapper {
	uint8_t *hva;
	uint64_t bytes, rate, zapped; /* zapped: 4 KiB pages */
	volatile int stop;
	int err;
};

static void *zap_fn(void *arg)
{
	struct zapper *z = arg;
	const uint64_t chunk = 2ull << 20;
	uint64_t off = 0, next = ab_now_ns(), gap = chunk * 1000000000ull / z->rate;

	while (!__atomic_load_n(&z->stop, __ATOMIC_ACQUIRE)) {
		uint64_t now = ab_now_ns();

		if (now < next) {
			kvm_sleep_ns(next - now < 5000000 ? next - now : 5000000);
			continue;
		}
		if (madvise(z->hva + off, chunk, MADV_DONTNEED) < 0) {
			z->err = errno;
			break;
		}
		z->zapped += chunk / 4096;
		off = off + chunk >= z->bytes ? 0 : off + chunk;
		next += gap;
	}
	return NULL;
}

/*
 * One case: what the phases share. kvm_bench_fn owns the order: setup ->
 * first touch (quiet) -> populate without / with aging (the contended
 * phase, order alternating by repetition) -> steady refaults without /
 * with aging -> accuracy while the vCPUs run -> counters -> teardown.
 */
struct kcase {
	ab_state *st;
	struct kbench *kb;
	const struct kparams *p;
	uint64_t mib;
	int vcpus;
	struct ab_kvm_drv d;
	enum ab_vm_op op;
	struct abvm *vm;
	struct ab_vm_kstats *ks;   /* VM stats (patched kernel: age_*) */
	struct ab_vm_kstats **vks; /* per-vCPU stats (pf_taken) */
	bool has_k, has_f;
	uint64_t npages;
	char msg[512], err_s[600];
	bool timed_loop_ran; /* ab_keep_running() returned false once */
	/* first touch (quiet) */
	struct ab_hist first;
	/* populate without (base) and with aging: the contended phase */
	struct ab_hist hfb, hfa;
	uint64_t base_wall_ns, wall_ns, win_ns, win_faults, win_calls, nwin;
	struct ager ag; /* sums over the contended windows */
	uint64_t k_lw, k_dc, k_calls, k_walk;
	uint64_t k_win_calls; /* ager calls of the counters window (0: the timed ones) */
	/* steady refaults */
	bool has_rf_phase;
	struct ab_hist hrb, hra;
	uint64_t rf_base_aps, rf_age_aps, rf_faults, rf_base_faults, rf_win_ns, rf_zapped;
	struct ager rag;
	uint64_t rk_lw;
	/* accuracy */
	uint64_t false_old, false_young, checked;
	bool has_acc;
};

static bool kc_fail(struct kcase *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool kc_fail(struct kcase *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->err_s, sizeof(c->err_s), fmt, ap);
	va_end(ap);
	return false;
}

static bool kc_vm_fail(struct kcase *c, const char *what, int err)
{
	return kc_fail(c, "%s: %s %s", what, ab_vm_strerr(err), ab_vm_last_error(c->vm));
}

/* KVM page faults so far, summed over the vCPUs (stat pf_taken). */
static uint64_t kc_faults_now(struct kcase *c)
{
	uint64_t sum = 0, v;

	for (int i = 0; c->has_f && i < c->vcpus; i++) {
		if (ab_vm_kstats_get(c->vks[i], "pf_taken", &v))
			c->has_f = false;
		sum += v;
	}
	return sum;
}

/* Mode, driver, VM, the driver's view of it, the kernel's stats. */
static bool kc_setup(struct kcase *c)
{
	const struct kbench *kb = c->kb;
	struct ab_vm_config cfg;
	int err;

	if (strcmp(kb->mode, "native") && !kb->drv->per_mode && (err = ab_kvm_mode_set(kb->mode)))
		return kc_fail(c, "kvm.mmu_age_mode=%s: %s", kb->mode, strerror(-err));
	if (kb->drv->setup && (err = kb->drv->setup(&c->d, c->msg, sizeof(c->msg))))
		return kc_fail(c, "%s setup: %s", kb->drv->name, c->msg);
	ab_vm_config_init(&cfg);
	cfg.mem_bytes = c->mib << 20;
	cfg.nr_vcpus = c->vcpus;
	cfg.backing = kb->backing;
	cfg.file_dir = kvm_file_dir();
	cfg.latency = true;
	/* exact accuracy needs a TLB flush before every measured pass: ring 0
	 * (kvm_pvm emulates ring 0, but has no exact driver anyway) */
	cfg.cpl0 = kb->drv->per_page && kb->drv != &ab_kvm_drv_reclaim && !c->p->preset;
	cfg.nested_pct = c->p->nested_pct; /* implies cpl0 */
	if (c->p->pin)
		cfg.vcpu_thread_init = ab_vm_pin_vcpu_hook;
	if (ab_vm_create(&cfg, &c->vm, c->msg, sizeof(c->msg)))
		return kc_fail(c, "VM: %s", c->msg);
	c->npages = ab_vm_npages(c->vm);
	c->d.t = (struct ab_kvm_target){.vm = c->vm,
					.vm_fd = ab_vm_vm_fd(c->vm),
					.hva = ab_vm_hva(c->vm),
					.bytes = ab_vm_mem_bytes(c->vm),
					.gpa = ab_vm_gpa_base(c->vm),
					.file_backed = kb->backing == AB_VM_BACKING_FILE};
	if ((err = kb->drv->prepare(&c->d, &c->d.t, c->msg, sizeof(c->msg))))
		return kc_fail(c, "%s: %s", kb->drv->name, c->msg);
	/* the patched kernel's aging stats (absent elsewhere: counters omitted) */
	c->ks = ab_vm_kstats_open(c->vm, -1);
	if (c->ks && kstats_read(c->ks, (uint64_t[4]){0})) {
		ab_vm_kstats_close(c->ks);
		c->ks = NULL;
	}
	c->has_k = c->ks != NULL;
	/* every kernel's per-vCPU fault count */
	c->vks = calloc((size_t)c->vcpus, sizeof(*c->vks));
	c->has_f = c->vks != NULL;
	for (int i = 0; c->has_f && i < c->vcpus; i++)
		c->has_f = (c->vks[i] = ab_vm_kstats_open(c->vm, i)) != NULL;
	kc_faults_now(c);
	return true;
}

/* First touch of every page, no aging (quiet): first_touch_* only. */
static bool kc_first_touch(struct kcase *c)
{
	struct ab_vm_work w;
	uint64_t t0, t1;
	int err;

	ab_vm_work_init(&w);
	w.op = c->op;
	w.record_latency = true;
	ab_vm_hist_reset(c->vm);
	t0 = ab_now_ns();
	if ((err = ab_vm_start_wait(c->vm, &w)))
		return kc_vm_fail(c, "first touch", err);
	t1 = ab_now_ns();
	merge_hists(c->vm, &c->first);
	ab_counter(c->st, "first_touch_pages_per_s", (double)c->npages * 1e9 / (double)(t1 - t0),
		   AB_CTR_DEFAULT);
	return true;
}

/*
 * Before a populate: anon memory is freed (MADV_DONTNEED); a file guest's
 * page cache too (MADV_REMOVE punches the file), so that both populates
 * of the contended phase are first touches of fresh memory.
 */
static bool kc_zap(struct kcase *c)
{
	void *hva = ab_vm_hva(c->vm);
	size_t len = ab_vm_mem_bytes(c->vm);

	if (c->kb->backing == AB_VM_BACKING_FILE && madvise(hva, len, MADV_REMOVE) == 0)
		return true;
	if (madvise(hva, len, MADV_DONTNEED) < 0)
		return kc_fail(c, "MADV_DONTNEED: %s", strerror(errno));
	return true;
}

/*
 * One aging window: stats snapshot, the start barrier (the ager's first
 * call and the vCPUs' command begin together), then either until the
 * vCPUs finished @w (populate, @loop false) or for @min_ns (a looping
 * command), and at least @min_ns; the window ends when the ager returned
 * from its last call. Without an ager (@a NULL) the same, unaged.
 * Returns the vCPU wall time (populate) or the window length (loop).
 */
struct win {
	uint64_t t0, t1, vcpu_ns, faults, acc;
	uint64_t k0[4], k1[4];
	bool kok;
};

static bool kc_window(struct kcase *c, const struct ab_vm_work *w, bool loop, uint64_t min_ns,
		      struct ager *a, struct win *wn)
{
	pthread_barrier_t bar;
	pthread_t th;
	uint64_t f0, a0;
	int err;

	memset(wn, 0, sizeof(*wn));
	if (a) {
		pthread_barrier_init(&bar, NULL, 2);
		a->bar = &bar;
		if (pthread_create(&th, NULL, ager_fn, a)) {
			pthread_barrier_destroy(&bar);
			return kc_fail(c, "aging thread: %s", strerror(errno));
		}
	}
	ab_vm_hist_reset(c->vm);
	wn->kok = c->ks && !kstats_read(c->ks, wn->k0);
	f0 = kc_faults_now(c);
	a0 = vm_accesses(c->vm);
	if (a)
		pthread_barrier_wait(&bar);
	wn->t0 = ab_now_ns();
	err = ab_vm_start(c->vm, w);
	if (!err && !loop) {
		err = ab_vm_wait(c->vm, 0);
		wn->vcpu_ns = ab_now_ns() - wn->t0;
	}
	if (ab_now_ns() < wn->t0 + min_ns)
		kvm_sleep_ns(wn->t0 + min_ns - ab_now_ns());
	if (a) {
		__atomic_store_n(&a->stop, 1, __ATOMIC_RELEASE);
		pthread_join(th, NULL);
		pthread_barrier_destroy(&bar);
	}
	wn->t1 = ab_now_ns();
	wn->kok = wn->kok && !kstats_read(c->ks, wn->k1);
	wn->faults = kc_faults_now(c) - f0;
	wn->acc = vm_accesses(c->vm) - a0;
	if (!err && loop) {
		err = ab_vm_stop(c->vm);
		wn->vcpu_ns = wn->t1 - wn->t0;
	}
	if (err)
		return kc_vm_fail(c, loop ? "vCPU loop" : "populate", err);
	if (a && a->err)
		return kc_fail(c, "%s age: %s", c->kb->drv->name,
			       c->d.err[0] ? c->d.err : strerror(-a->err));
	return true;
}

static void ager_init(struct kcase *c, struct ager *a)
{
	memset(a, 0, sizeof(*a));
	a->d = &c->d;
	a->mode = c->kb->drv->per_mode ? c->kb->mode : NULL;
	a->npages = c->npages;
	a->pin = c->p->pin;
}

static void ager_add(struct ager *sum, const struct ager *a)
{
	bool first = sum->calls == 0;

	sum->calls += a->calls;
	sum->ns += a->ns;
	sum->pages += a->pages;
	sum->young += a->young;
	sum->lw += a->lw;
	sum->dc += a->dc;
	sum->ev += a->ev;
	sum->rf += a->rf;
	sum->nc += a->nc;
	sum->has_nc = (first || sum->has_nc) && a->has_nc;
	sum->has_young = (first || sum->has_young) && a->has_young;
	sum->has_lw = (first || sum->has_lw) && a->has_lw;
	sum->has_dc = (first || sum->has_dc) && a->has_dc;
	sum->has_rf = (first || sum->has_rf) && a->has_rf;
	sum->c_calls += a->c_calls;
	sum->c_ns += a->c_ns;
	sum->c_pages += a->c_pages;
	sum->q_calls += a->q_calls;
	sum->q_ns += a->q_ns;
	sum->q_pages += a->q_pages;
	sum->ov_ns += a->ov_ns;
	sum->wall_ns += a->wall_ns;
}

/* The kernel's aging stats of window @wa into the case's sums. */
static void kc_add_kstats(struct kcase *c, const struct win *wa)
{
	if (wa->kok) {
		c->k_lw += wa->k1[0] - wa->k0[0];
		c->k_dc += wa->k1[1] - wa->k0[1];
		c->k_calls += wa->k1[2] - wa->k0[2];
		c->k_walk += wa->k1[3] - wa->k0[3];
	} else {
		c->has_k = false;
	}
}

/*
 * The contended phase (workload a, access_tracking_perf_test's benchmark
 * mode): the vCPUs populate their zapped memory (anon: freed pages, so a
 * first touch of fresh memory; file: the page cache stays) once without
 * aging and once with the ager running through the real caller from the
 * start barrier to the end of the population, at least min_age_ms. The
 * order of the two alternates by repetition. One call of this = one
 * Google Benchmark iteration; manual time = the mean aging pass.
 */
static bool kc_contended(struct kcase *c)
{
	struct ab_vm_work w;
	struct win wb, wa;
	struct ager a;
	bool base_first = c->kb->rep % 2 == 0;

	ab_vm_work_init(&w);
	w.op = c->op;
	w.record_latency = true;
	c->d.budget = c->kb->drv == &ab_kvm_drv_reclaim ? c->npages / 16 : 0;
	for (int k = 0; k < 2; k++) {
		bool aged = (k == 0) != base_first;

		if (!kc_zap(c))
			return false;
		if (!aged) {
			if (!kc_window(c, &w, false, 0, NULL, &wb))
				return false;
			merge_hists(c->vm, &c->hfb);
			continue;
		}
		ager_init(c, &a);
		bool ok = kc_window(c, &w, false, c->p->min_age_ms * 1000000ull, &a, &wa);
		/* the vCPUs fault from their start to the end of the populate */
		ager_overlap(&a, wa.t0, wa.t0 + wa.vcpu_ns);
		ager_free(&a);
		if (!ok)
			return false;
		merge_hists(c->vm, &c->hfa);
	}
	c->d.budget = 0;
	/* manual time: the mean contended pass (all passes if none overlapped) */
	ab_set_iteration_time(c->st, a.c_calls ? (double)a.c_ns / (double)a.c_calls / 1e9
					       : (double)a.ns / (double)a.calls / 1e9);
	c->base_wall_ns += wb.vcpu_ns;
	c->wall_ns += wa.vcpu_ns;
	c->win_ns += wa.t1 - wa.t0;
	c->win_faults += wa.faults;
	c->win_calls += a.calls;
	c->nwin++;
	ager_add(&c->ag, &a);
	/* with kvm.age_stats switchable the counts come from the counters
	 * window (kc_counters_window), not from the timed ones */
	if (!c->p->stats_ctl)
		kc_add_kstats(c, &wa);
	return true;
}

/*
 * One more aged populate with kvm.age_stats on, after the timed windows: the
 * counts the stats give (lock wait, declines, notifier calls, walk time),
 * none of its times in the headline. Only where the stats can be switched,
 * and not for the hook (it answers lock wait, declines and calls itself).
 */
static bool kc_counters_window(struct kcase *c)
{
	struct ab_vm_work w;
	struct win wa;
	struct ager a;
	bool ok;

	if (!c->p->stats_ctl || c->kb->drv->per_mode) /* the hook counts its own calls */
		return true;
	ab_vm_work_init(&w);
	w.op = c->op;
	c->d.budget = c->kb->drv == &ab_kvm_drv_reclaim ? c->npages / 16 : 0;
	if (!kc_zap(c))
		return false;
	ager_init(c, &a);
	kvm_age_stats_set(true);
	ok = kc_window(c, &w, false, c->p->min_age_ms * 1000000ull, &a, &wa);
	kvm_age_stats_set(false);
	ager_free(&a);
	c->d.budget = 0;
	if (!ok)
		return false;
	kc_add_kstats(c, &wa);
	c->k_win_calls += a.calls;
	return true;
}

/*
 * Steady refaults (workload b): the vCPUs loop over their memory while the
 * zapper invalidates it at zap_mib_s; a window of min_age_ms (at least 4
 * zap intervals) without aging, then one with the ager (start barrier),
 * same zap rate.
 */
static bool kc_refaults(struct kcase *c)
{
	struct ab_vm_work w;
	struct win wb, wa;
	struct zapper z = {.hva = ab_vm_hva(c->vm), .bytes = ab_vm_mem_bytes(c->vm)};
	uint64_t min_ns = c->p->min_age_ms * 1000000ull;
	pthread_t zt;
	bool ok;

	z.rate = c->p->zap_mib_s ? (uint64_t)c->p->zap_mib_s << 20 : z.bytes; /* default: 1/s */
	/* long enough for at least 4 zapped chunks */
	if (min_ns < 4 * ((2ull << 20) * 1000000000ull / z.rate))
		min_ns = 4 * ((2ull << 20) * 1000000000ull / z.rate);
	kvm_loop_work(&w, c->op);
	c->d.budget = c->kb->drv == &ab_kvm_drv_reclaim ? c->npages / 16 : 0;
	for (int k = 0; k < 2; k++) {
		z.stop = 0;
		if (pthread_create(&zt, NULL, zap_fn, &z))
			return kc_fail(c, "zap thread: %s", strerror(errno));
		if (k == 0) {
			ok = kc_window(c, &w, true, min_ns, NULL, &wb);
		} else {
			ager_init(c, &c->rag);
			ok = kc_window(c, &w, true, min_ns, &c->rag, &wa);
		}
		__atomic_store_n(&z.stop, 1, __ATOMIC_RELEASE);
		pthread_join(zt, NULL);
		if (!ok)
			return false;
		if (z.err)
			return kc_fail(c, "zap: MADV_DONTNEED: %s", strerror(z.err));
		merge_hists(c->vm, k ? &c->hra : &c->hrb);
	}
	c->d.budget = 0;
	c->rf_base_aps = wb.acc * 1000000000ull / (wb.t1 - wb.t0);
	c->rf_age_aps = wa.acc * 1000000000ull / (wa.t1 - wa.t0);
	c->rf_faults = wa.faults;
	c->rf_base_faults = wb.faults;
	c->rf_win_ns = wa.t1 - wa.t0;
	c->rf_zapped = z.zapped;
	c->rk_lw = wa.kok ? wa.k1[0] - wa.k0[0] : 0;
	c->has_rf_phase = true;
	if (!wa.kok && !c->rag.has_lw)
		c->rk_lw = UINT64_MAX;
	return true;
}

/* Accuracy (per-page drivers). */
static bool kc_accuracy(struct kcase *c)
{
	const struct kbench *kb = c->kb;
	int err;

	if (!kb->drv->per_page)
		return true;
	c->msg[0] = 0;
	if (kb->drv == &ab_kvm_drv_reclaim)
		err = kvm_accuracy_reclaim(&c->d, c->vm, c->p->acc_rounds, &c->false_old,
					   &c->checked, c->msg, sizeof(c->msg));
	else
		err = kvm_accuracy_exact(&c->d, c->vm, kb, c->op, c->p->acc_rounds, &c->false_old,
					 &c->false_young, &c->checked, c->msg, sizeof(c->msg));
	if (err)
		return kc_fail(c, "accuracy: %s",
			       c->msg[0]     ? c->msg
			       : c->d.err[0] ? c->d.err
					     : strerror(-err));
	c->has_acc = c->checked > 0;
	return true;
}

/* p50/p99/max of @h under names[0..2]; nothing if empty. */
static void quantiles(ab_state *st, const struct ab_hist *h, const char *const names[3])
{
	if (!h->count)
		return;
	if (names[0])
		ab_counter(st, names[0], (double)ab_hist_quantile(h, 0.5), AB_CTR_DEFAULT);
	ab_counter(st, names[1], (double)ab_hist_quantile(h, 0.99), AB_CTR_DEFAULT);
	if (names[2])
		ab_counter(st, names[2], (double)h->max, AB_CTR_DEFAULT);
}

/* Counters of the contended phase (per aging call of its windows). */
static void kc_counters_contended(struct kcase *c)
{
	ab_state *st = c->st;
	const struct ager *a = &c->ag;
	double n = (double)a->calls, nw = (double)c->nwin;

	if (!a->calls)
		return;
	/* the headline cost from the passes that overlapped the vCPUs' faults;
	 * the quiet ones (before the vCPUs started, after the last fault)
	 * beside it, and how much of the aging time overlapped */
	if (a->c_pages) {
		ab_counter(st, "ns_per_page", (double)a->c_ns / (double)a->c_pages, AB_CTR_DEFAULT);
		ab_counter(st, "pages_per_s", (double)a->c_pages * 1e9 / (double)a->c_ns,
			   AB_CTR_DEFAULT);
	} else if (a->pages) {
		ab_counter(st, "ns_per_page", (double)a->ns / (double)a->pages, AB_CTR_DEFAULT);
		ab_counter(st, "pages_per_s", (double)a->pages * 1e9 / (double)a->ns,
			   AB_CTR_DEFAULT);
	}
	ab_counter(st, "overlap_frac", a->wall_ns ? (double)a->ov_ns / (double)a->wall_ns : 0,
		   AB_CTR_DEFAULT);
	ab_counter(st, "contended_calls", (double)a->c_calls / nw, AB_CTR_DEFAULT);
	ab_counter(st, "quiet_calls", (double)a->q_calls / nw, AB_CTR_DEFAULT);
	ab_counter(st, "quiet_ns_per_page", a->q_pages ? (double)a->q_ns / (double)a->q_pages : NAN,
		   AB_CTR_DEFAULT);
	ab_counter(st, "pages", (double)a->pages / n, AB_CTR_DEFAULT);
	ab_counter(st, "age_pass_ns", (double)a->ns / n, AB_CTR_DEFAULT);
	if (a->has_young)
		ab_counter(st, "young", (double)a->young / n, AB_CTR_DEFAULT);
	/* the hook's own answer, else the kernel's stats over the counters
	 * window (stats switchable: kc_counters_window) or the timed ones,
	 * per pass of that window */
	double kn = c->k_win_calls ? (double)c->k_win_calls : n;
	if (a->has_lw)
		ab_counter(st, "lock_wait_ns", (double)a->lw / n, AB_CTR_DEFAULT);
	else if (c->has_k)
		ab_counter(st, "lock_wait_ns", (double)c->k_lw / kn, AB_CTR_DEFAULT);
	if (a->has_dc)
		ab_counter(st, "declines", (double)a->dc / n, AB_CTR_DEFAULT);
	else if (c->has_k)
		ab_counter(st, "declines", (double)c->k_dc / kn, AB_CTR_DEFAULT);
	/* whether the timed windows ran instrumented: the stats on (could not
	 * be switched off) or the hook (it instruments its own calls) */
	ab_counter(st, "age_stats_timed", c->p->stats_on || c->kb->drv->per_mode ? 1 : 0,
		   AB_CTR_DEFAULT);
	if (c->has_k && !c->kb->drv->per_mode) {
		ab_counter(st, "kvm_calls", (double)c->k_calls / kn, AB_CTR_DEFAULT);
		ab_counter(st, "kvm_walk_ns", (double)c->k_walk / kn, AB_CTR_DEFAULT);
	} else if (a->has_nc) {
		/* the hook's own count: notifier calls of batch:N pages per pass */
		ab_counter(st, "kvm_calls", (double)a->nc / n, AB_CTR_DEFAULT);
	}
	if (c->kb->drv == &ab_kvm_drv_reclaim) {
		ab_counter(st, "evicted", (double)a->ev / n, AB_CTR_DEFAULT);
		if (a->has_rf)
			ab_counter(st, "refaults", (double)a->rf / n, AB_CTR_DEFAULT);
	}
	ab_counter(st, "calls_per_s", n * 1e9 / (double)c->win_ns, AB_CTR_DEFAULT);
	ab_counter(st, "window_calls", (double)c->win_calls / nw, AB_CTR_DEFAULT);
	ab_counter(st, "window_ns", (double)c->win_ns / nw, AB_CTR_DEFAULT);
	if (c->has_f)
		ab_counter(st, "window_faults", (double)c->win_faults / nw, AB_CTR_DEFAULT);
	ab_counter(st, "populate_ns", (double)c->wall_ns / nw, AB_CTR_DEFAULT);
	ab_counter(st, "base_populate_ns", (double)c->base_wall_ns / nw, AB_CTR_DEFAULT);
	if (c->wall_ns)
		ab_counter(st, "populate_rel", (double)c->base_wall_ns / (double)c->wall_ns,
			   AB_CTR_DEFAULT);
	quantiles(st, &c->hfa, (const char *[3]){"fault_p50_ns", "fault_p99_ns", "fault_max_ns"});
	quantiles(st, &c->hfb, (const char *[3]){NULL, "base_fault_p99_ns", NULL});
	if (c->hfa.count && c->hfb.count) {
		ab_record_cdf(st, "fault", &c->hfa);
		ab_record_cdf(st, "fault_base", &c->hfb);
	}
	quantiles(st, &c->first,
		  (const char *[3]){"first_touch_p50_ns", "first_touch_p99_ns", NULL});
	if (c->first.count)
		ab_record_cdf(st, "first_touch", &c->first);
}

/* Counters of the steady-refault workload, and accuracy. */
static void kc_counters_rest(struct kcase *c)
{
	ab_state *st = c->st;
	const struct ager *a = &c->rag;

	if (c->has_rf_phase && a->calls) {
		double n = (double)a->calls;

		if (a->pages)
			ab_counter(st, "refault_ns_per_page", (double)a->ns / (double)a->pages,
				   AB_CTR_DEFAULT);
		ab_counter(st, "refault_calls", n, AB_CTR_DEFAULT);
		if (a->has_lw)
			ab_counter(st, "refault_lock_wait_ns", (double)a->lw / n, AB_CTR_DEFAULT);
		else if (c->rk_lw != UINT64_MAX)
			ab_counter(st, "refault_lock_wait_ns", (double)c->rk_lw / n,
				   AB_CTR_DEFAULT);
		if (c->rf_base_aps)
			ab_counter(st, "refault_vcpu_rel",
				   (double)c->rf_age_aps / (double)c->rf_base_aps, AB_CTR_DEFAULT);
		if (c->has_f) {
			ab_counter(st, "refault_faults", (double)c->rf_faults, AB_CTR_DEFAULT);
			ab_counter(st, "base_refault_faults", (double)c->rf_base_faults,
				   AB_CTR_DEFAULT);
		}
		ab_counter(st, "refault_zapped", (double)c->rf_zapped, AB_CTR_DEFAULT);
		quantiles(st, &c->hra, (const char *[3]){NULL, "refault_access_p99_ns", NULL});
		quantiles(st, &c->hrb, (const char *[3]){NULL, "base_refault_access_p99_ns", NULL});
		if (c->hra.count && c->hrb.count) {
			ab_record_cdf(st, "refault_aging", &c->hra);
			ab_record_cdf(st, "refault_base", &c->hrb);
		}
	}
	if (c->has_acc)
		ab_counter(st, c->kb->drv == &ab_kvm_drv_reclaim ? "hot_evicted" : "false_old",
			   (double)c->false_old / c->p->acc_rounds, AB_CTR_DEFAULT);
	if (c->has_acc && c->kb->drv->young_host_view)
		ab_counter(st, "false_young", (double)c->false_young / c->p->acc_rounds,
			   AB_CTR_DEFAULT);
	ab_counter(st, "oversubscribed", c->vcpus + 1 > c->p->pus, AB_CTR_DEFAULT);
}

static void kc_teardown(struct kcase *c)
{
	for (int i = 0; c->vks && i < c->vcpus; i++)
		ab_vm_kstats_close(c->vks[i]);
	free(c->vks);
	ab_vm_kstats_close(c->ks);
	if (c->kb->drv->cleanup)
		c->kb->drv->cleanup(&c->d);
	ab_vm_destroy(c->vm);
	if (c->d.in_memcg)
		ab_kvm_memcg_leave(&c->d.memcg);
}

void kvm_bench_fn(ab_state *st, void *arg)
{
	struct kbench *kb = arg;
	struct kcase c = {.st = st,
			  .kb = kb,
			  .p = kb->p,
			  .mib = (uint64_t)ab_range(st, 0),
			  .vcpus = (int)ab_range(st, 1),
			  .d = {.ops = kb->drv},
			  .op = kb->backing == AB_VM_BACKING_FILE ? AB_VM_OP_READ : AB_VM_OP_WRITE};
	cpu_set_t saved;
	bool ok;

	/* per-mode drivers (the hook) take the call size: batch:N */
	c.d.batch = kb->drv->per_mode ? (uint64_t)ab_range(st, 2) : 0;
	sched_getaffinity(0, sizeof(saved), &saved);
	if (c.p->pin)
		ab_pin_self(0);
	ab_hist_init(&c.first);
	ab_hist_init(&c.hfb);
	ab_hist_init(&c.hfa);
	ab_hist_init(&c.hrb);
	ab_hist_init(&c.hra);
	ok = kc_setup(&c) && kc_first_touch(&c);
	while (ok && ab_keep_running(st))
		ok = kc_contended(&c);
	c.timed_loop_ran = true;
	ok = ok && kc_counters_window(&c);
	ok = ok && (c.p->preset || (kc_refaults(&c) && kc_accuracy(&c)));
	if (ok) {
		kc_counters_contended(&c);
		kc_counters_rest(&c);
		if (c.p->preset && c.nwin && c.ag.calls)
			kvm_preset_record(c.kb->mode, c.vcpus, c.mib,
					  (double)c.base_wall_ns / (double)c.nwin / 1e9,
					  (double)c.wall_ns / (double)c.nwin / 1e9,
					  c.ag.c_calls
					      ? (double)c.ag.c_ns / (double)c.ag.c_calls / 1e9
					      : (double)c.ag.ns / (double)c.ag.calls / 1e9);
	} else {
		ab_skip_with_error(st, c.err_s);
	}
	kb->rep++;
	kc_teardown(&c);
	sched_setaffinity(0, sizeof(saved), &saved);
}
