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
#include "ab_kvm.h"
#include "ab_vm_nested.h"

#include <errno.h>
#include <stdarg.h>
#include <pthread.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ab_bench_config.h"
#include "ab_common.h"
#include "ab_shim.h"
#include "ab_vm.h"
#include "ab_vm_age.h"

#ifndef AB_KVM_DPT_DEFAULT
#define AB_KVM_DPT_DEFAULT ""
#endif

struct kparams {
	uint64_t min_age_ms; /* shortest aging window; the refault windows' length */
	int zap_mib_s;	     /* refault workload: MiB zapped per s (0 = the guest per s) */
	int64_t iters;	     /* contended windows (iterations) per repetition */
	int acc_rounds;	     /* accuracy rounds */
	int pus;	     /* processing units (oversubscribed: vCPUs + 1 > pus) */
	bool pin;
	bool preset;	     /* houghton-v4: first touch + the contended phase only */
	uint32_t nested_pct; /* --nested: the VMs' L3s touch this % (ab_vm_nested.h) */
};

struct kbench {
	const struct ab_kvm_driver *drv;
	char mode[32]; /* walker mode, or "native" */
	enum ab_vm_backing backing;
	const struct kparams *p;
	int rep; /* repetitions done: the contended phase alternates its order */
};

static struct kparams params;
static const struct ab_kvm_driver *chosen;

static const char *backing_tag(enum ab_vm_backing b)
{
	return b == AB_VM_BACKING_THP ? "2M" : b == AB_VM_BACKING_FILE ? "file" : "4K";
}

/* Directory of file-backed guests and ballast: a disk if there is one. */
static const char *file_dir(void)
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

static void sleep_ns(uint64_t ns)
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
static void loop_work(struct ab_vm_work *w, enum ab_vm_op op)
{
	ab_vm_work_init(w);
	w->op = op;
	w->order = AB_VM_ORDER_SEQ;
	w->passes = 0;
	w->record_latency = true;
}

/* Wait until every vCPU completed @more passes after @p0 (per vCPU). */
static int wait_passes(struct abvm *vm, const uint64_t *p0, uint64_t more, uint64_t timeout_ns)
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
			sleep_ns(200000);
		}
	}
	return 0;
}

/*
 * Accuracy, exact drivers, while the vCPUs run: every round the vCPUs loop
 * over a fresh random half of their pages (HOTCOLD, hot set of seed
 * 0x5eed + round, cold pages never), the VM runs at CPL 0 so that every
 * pass starts with a TLB flush (hardware sets the Accessed bit again after
 * a clear); the ager clears the whole range, waits until every vCPU
 * completed two more passes (so one full pass after the clear), and tests
 * while the vCPUs keep running. A page reported young that was not touched
 * is a bug for KVM's own answer (the hook: false young, -EPROTO with @msg);
 * page_idle's "young" also sees the host's own PTEs and whole folios (THP
 * collapse, KSM, the host touching guest memory), so there it is counted
 * (false_young) instead. A touched page reported old is
 * a false old; a declined test counts every touched page as false old (no
 * answer is not "young"), the model's definition. Rounds are all counted.
 * The comparison is per 2 MiB block for THP (one young bit per mapping).
 */
static int accuracy_exact(struct ab_kvm_drv *d, struct abvm *vm, const struct kbench *kb,
			  enum ab_vm_op op, int rounds, uint64_t *false_old, uint64_t *false_young,
			  uint64_t *checked, char *msg, size_t len)
{
	uint64_t n = ab_vm_npages(vm), words = (n + 63) / 64;
	uint64_t *touch = calloc(words, 8), *young = calloc(words, 8),
		 *untracked = calloc(words, 8);
	uint64_t *p0 = calloc((size_t)ab_vm_nr_vcpus(vm), 8);
	uint64_t gran = kb->backing == AB_VM_BACKING_THP ? 512 : 1;
	struct ab_kvm_age_res r;
	struct ab_vm_work w;
	int err = 0;

	if (!touch || !young || !untracked || !p0) {
		free(touch);
		free(young);
		free(untracked);
		free(p0);
		return -ENOMEM;
	}
	*false_old = *false_young = *checked = 0;
	for (int round = 0; round < rounds && !err; round++) {
		uint64_t seed = 0x5eed + (uint64_t)round;
		bool running = false;

		memset(touch, 0, words * 8);
		memset(young, 0, words * 8);
		for (uint64_t p = 0; p < n; p++)
			if (ab_vm_page_is_hot(seed, p, 50))
				touch[p / 64] |= 1ull << (p % 64);
		/*
		 * page_idle cannot track every page (THP tails, folios off the
		 * LRU for a moment): they read "not idle" right after marking.
		 * Such pages are found with the vCPUs idle and left out; the
		 * hook gets no such allowance.
		 */
		memset(untracked, 0, words * 8);
		if (d->ops->untracked_baseline) {
			ab_vm_lru_drain_all(); /* page_idle skips folios in per-CPU LRU batches */
			if ((err = d->ops->age(d, kb->mode, 0, n, true, &r, NULL)) ||
			    (err = d->ops->age(d, kb->mode, 0, n, false, &r, untracked)))
				break;
		}
		ab_vm_work_init(&w);
		w.op = op;
		w.order = AB_VM_ORDER_HOTCOLD;
		w.seed = seed;
		w.hot_pct = 50;
		w.cold_every = 0;
		w.passes = 0;
		if ((err = ab_vm_start(vm, &w))) {
			snprintf(msg, len, "hot loop: %s %s", ab_vm_strerr(err),
				 ab_vm_last_error(vm));
			err = -EIO;
			break;
		}
		running = true;
		if (d->ops->untracked_baseline)
			ab_vm_lru_drain_all();
		if ((err = d->ops->age(d, kb->mode, 0, n, true, &r, NULL)))
			goto stop;
		for (int i = 0; i < ab_vm_nr_vcpus(vm); i++) {
			struct ab_vm_vcpu_stats s;

			ab_vm_vcpu_stats(vm, i, &s);
			p0[i] = s.passes;
		}
		if (wait_passes(vm, p0, 2, 60ull * 1000000000ull)) {
			snprintf(msg, len,
				 "accuracy: the vCPUs did not complete two passes in 60 s");
			err = -ETIMEDOUT;
			goto stop;
		}
		if ((err = d->ops->age(d, kb->mode, 0, n, false, &r, young)))
			goto stop;
		for (uint64_t p = 0; p < n; p += gran) {
			bool t = false, y = false;
			int tracked = 0;

			for (uint64_t q = p; q < p + gran && q < n; q++) {
				if (untracked[q / 64] >> (q % 64) & 1)
					continue;
				tracked++;
				t |= touch[q / 64] >> (q % 64) & 1;
				y |= young[q / 64] >> (q % 64) & 1;
			}
			if (!tracked)
				continue;
			if (!r.declined && y && !t && d->ops->young_host_view) {
				(*false_young)++;
			} else if (!r.declined && y && !t && !d->ops->young_inexact) {
				snprintf(msg, len,
					 "false young: %s reported guest page %llu young but the "
					 "guest did not touch it since the last clear (round %d)",
					 d->ops->name, (unsigned long long)p, round);
				err = -EPROTO;
				break;
			}
			if (t && (r.declined || !y))
				(*false_old)++;
			if (t)
				(*checked)++;
		}
	stop:
		if (running) {
			int e = ab_vm_stop(vm);

			if (e && !err) {
				snprintf(msg, len, "hot loop: %s %s", ab_vm_strerr(e),
					 ab_vm_last_error(vm));
				err = -EIO;
			}
		}
	}
	free(touch);
	free(young);
	free(untracked);
	free(p0);
	return err;
}

/*
 * Page-cache ballast for the reclaim accuracy rounds: a fresh sparse
 * O_TMPFILE of @pages pages read once (clean, unmapped, never evicted
 * before, so no workingset activation), charged to our memcg. Returns the
 * fd (close it to drop the pages) or -errno.
 */
static int ballast(uint64_t pages)
{
	static char buf[1 << 20];
	int fd = open(file_dir(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)(pages * 4096)) < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	for (off_t off = 0; off < (off_t)(pages * 4096); off += sizeof(buf))
		if (pread(fd, buf, sizeof(buf), off) < 0)
			break;
	return fd;
}

/*
 * Accuracy, reclaim: every round (1) adds a page-cache ballast as large as
 * the hot set (fresh, unreferenced by any PTE), (2) lets the guest touch its
 * hot half once, (3) asks reclaim for the ballast's size. Old victims (the
 * ballast, the untouched cold half) are plentiful, so reclaim should not
 * need to look at a hot page twice: a hot page gone afterwards was judged
 * old although the guest touched it since the previous call. Counted as
 * hot_evicted, an upper bound on false old (the kernel's active-list aging
 * can also consume a young bit in between).
 */
static int accuracy_reclaim(struct ab_kvm_drv *d, struct abvm *vm, int rounds,
			    uint64_t *hot_evicted, uint64_t *checked, char *msg, size_t len)
{
	uint64_t n = ab_vm_npages(vm), words = (n + 63) / 64, hot = 0;
	uint64_t *res = calloc(words, 8);
	struct ab_kvm_age_res r;
	struct ab_vm_work w;
	int err = 0;

	if (!res)
		return -ENOMEM;
	for (uint64_t p = 0; p < n; p++)
		hot += ab_vm_page_is_hot(0x5eed, p, 50);
	ab_vm_work_init(&w);
	w.op = AB_VM_OP_READ;
	w.order = AB_VM_ORDER_HOTCOLD;
	w.seed = 0x5eed;
	w.hot_pct = 50;
	w.cold_every = 0;
	w.passes = 1;
	*hot_evicted = *checked = 0;
	for (int round = 0; round < rounds + 1 && !err; round++) {
		int bfd = ballast(hot);

		if (bfd < 0) {
			snprintf(msg, len, "ballast file in %s: %s", file_dir(), strerror(-bfd));
			err = bfd;
			break;
		}
		if ((err = ab_vm_start_wait(vm, &w))) {
			snprintf(msg, len, "hot pass: %s %s", ab_vm_strerr(err),
				 ab_vm_last_error(vm));
			close(bfd);
			err = -EIO;
			break;
		}
		memset(res, 0, words * 8);
		d->budget = hot;
		err = d->ops->age(d, NULL, 0, n, true, &r, res);
		close(bfd);
		if (err || round == 0)
			continue; /* the first call also meets pages touched before */
		for (uint64_t p = 0; p < n; p++) {
			if (!ab_vm_page_is_hot(0x5eed, p, 50))
				continue;
			(*checked)++;
			if (!(res[p / 64] >> (p % 64) & 1))
				(*hot_evicted)++;
		}
	}
	d->budget = 0;
	free(res);
	return err;
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
};

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
		a->err = a->d->ops->age(a->d, a->mode, 0, a->npages, true, &r, NULL);
		if (a->err)
			break;
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
			sleep_ns(next - now < 5000000 ? next - now : 5000000);
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
 * One case: what the phases share. kbench_fn owns the order: setup ->
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
	cfg.file_dir = file_dir();
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
		sleep_ns(wn->t0 + min_ns - ab_now_ns());
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
		if (!kc_window(c, &w, false, c->p->min_age_ms * 1000000ull, &a, &wa))
			return false;
		merge_hists(c->vm, &c->hfa);
	}
	c->d.budget = 0;
	ab_set_iteration_time(c->st, (double)a.ns / (double)a.calls / 1e9);
	c->base_wall_ns += wb.vcpu_ns;
	c->wall_ns += wa.vcpu_ns;
	c->win_ns += wa.t1 - wa.t0;
	c->win_faults += wa.faults;
	c->win_calls += a.calls;
	c->nwin++;
	ager_add(&c->ag, &a);
	if (wa.kok) {
		c->k_lw += wa.k1[0] - wa.k0[0];
		c->k_dc += wa.k1[1] - wa.k0[1];
		c->k_calls += wa.k1[2] - wa.k0[2];
		c->k_walk += wa.k1[3] - wa.k0[3];
	} else {
		c->has_k = false;
	}
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
	loop_work(&w, c->op);
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
		err = accuracy_reclaim(&c->d, c->vm, c->p->acc_rounds, &c->false_old, &c->checked,
				       c->msg, sizeof(c->msg));
	else
		err = accuracy_exact(&c->d, c->vm, kb, c->op, c->p->acc_rounds, &c->false_old,
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
	if (a->pages) {
		ab_counter(st, "ns_per_page", (double)a->ns / (double)a->pages, AB_CTR_DEFAULT);
		ab_counter(st, "pages_per_s", (double)a->pages * 1e9 / (double)a->ns,
			   AB_CTR_DEFAULT);
	}
	ab_counter(st, "pages", (double)a->pages / n, AB_CTR_DEFAULT);
	ab_counter(st, "age_pass_ns", (double)a->ns / n, AB_CTR_DEFAULT);
	if (a->has_young)
		ab_counter(st, "young", (double)a->young / n, AB_CTR_DEFAULT);
	/* the hook's own answer, else the kernel's stats over the window */
	if (a->has_lw)
		ab_counter(st, "lock_wait_ns", (double)a->lw / n, AB_CTR_DEFAULT);
	else if (c->has_k)
		ab_counter(st, "lock_wait_ns", (double)c->k_lw / n, AB_CTR_DEFAULT);
	if (a->has_dc)
		ab_counter(st, "declines", (double)a->dc / n, AB_CTR_DEFAULT);
	else if (c->has_k)
		ab_counter(st, "declines", (double)c->k_dc / n, AB_CTR_DEFAULT);
	if (c->has_k && !c->kb->drv->per_mode) {
		ab_counter(st, "kvm_calls", (double)c->k_calls / n, AB_CTR_DEFAULT);
		ab_counter(st, "kvm_walk_ns", (double)c->k_walk / n, AB_CTR_DEFAULT);
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
		ab_counter(st, "vcpu_rel", (double)c->base_wall_ns / (double)c->wall_ns,
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

/* ---- the preset's table ------------------------------------------------ */

#define PRESET_MAX_REPS 32
struct preset_row {
	char mode[32];
	int vcpus;
	uint64_t mib;
	int n;
	double base[PRESET_MAX_REPS], wall[PRESET_MAX_REPS], pass[PRESET_MAX_REPS];
};
static struct preset_row prows[64];
static int nprows;
static char preset_note[512];

static void preset_record(const struct kcase *c)
{
	struct preset_row *r = NULL;

	for (int i = 0; i < nprows; i++)
		if (!strcmp(prows[i].mode, c->kb->mode) && prows[i].vcpus == c->vcpus)
			r = &prows[i];
	if (!r) {
		if (nprows == 64)
			return;
		r = &prows[nprows++];
		snprintf(r->mode, sizeof(r->mode), "%s", c->kb->mode);
		r->vcpus = c->vcpus;
		r->mib = c->mib;
	}
	if (r->n == PRESET_MAX_REPS || !c->nwin || !c->ag.calls)
		return;
	r->base[r->n] = (double)c->base_wall_ns / (double)c->nwin / 1e9;
	r->wall[r->n] = (double)c->wall_ns / (double)c->nwin / 1e9;
	r->pass[r->n] = (double)c->ag.ns / (double)c->ag.calls / 1e9;
	r->n++;
}

static void kbench_fn(ab_state *st, void *arg)
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
	ok = ok && (c.p->preset || (kc_refaults(&c) && kc_accuracy(&c)));
	if (ok) {
		kc_counters_contended(&c);
		kc_counters_rest(&c);
		if (c.p->preset)
			preset_record(&c);
	} else {
		ab_skip_with_error(st, c.err_s);
	}
	kb->rep++;
	kc_teardown(&c);
	sched_setaffinity(0, sizeof(saved), &saved);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	if (n <= 0)
		return 0;
	qsort(v, (size_t)n, sizeof(double), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

void ab_kvm_preset_print(FILE *out)
{
	static const char *const published[] = {
	    "   8 vCPUs: no aging 1.474, locked 1.589, lockless 1.498 s; pass locked 0.227, "
	    "lockless 0.064 s",
	    "  32 vCPUs: no aging 3.316, locked 3.955, lockless 3.355 s; pass locked 4.347, "
	    "lockless 0.251 s",
	    " 112 vCPUs: no aging 8.498, locked 10.214, lockless 8.897 s; pass locked 13.47, "
	    "lockless 2.29 s"};
	int vc[16], nv = 0;
	char modes[AB_MODE_NR][32];
	int nm = 0;

	if (!nprows)
		return;
	for (int i = 0; i < nprows; i++) {
		bool seen = false;

		for (int k = 0; k < nv; k++)
			seen |= vc[k] == prows[i].vcpus;
		if (!seen && nv < 16)
			vc[nv++] = prows[i].vcpus;
		seen = false;
		for (int k = 0; k < nm; k++)
			seen |= !strcmp(modes[k], prows[i].mode);
		if (!seen && nm < AB_MODE_NR)
			snprintf(modes[nm++], 32, "%.31s", prows[i].mode);
	}
	fprintf(out,
		"\nhoughton-v4 (access_tracking_perf_test -p -l -b 1G, Houghton v4 cover "
		"letter)\n%s\n",
		preset_note);
	fprintf(out, "%15s | %-*s | %s\n", "", 12 * (nm + 1), "vCPU wall time, s", "aging pass, s");
	fprintf(out, "%6s %8s | %12s", "vcpus", "MiB/vCPU", "no aging");
	for (int m = 0; m < nm; m++)
		fprintf(out, " %11.11s", modes[m]);
	fprintf(out, " |");
	for (int m = 0; m < nm; m++)
		fprintf(out, " %11.11s", modes[m]);
	fprintf(out, "\n");
	for (int k = 0; k < nv; k++) {
		double base[PRESET_MAX_REPS * AB_MODE_NR];
		int nb = 0;
		uint64_t mib = 0;

		for (int i = 0; i < nprows; i++)
			if (prows[i].vcpus == vc[k]) {
				for (int j = 0; j < prows[i].n; j++)
					base[nb++] = prows[i].base[j];
				mib = prows[i].mib;
			}
		fprintf(out, "%6d %8llu | %12.3f", vc[k], (unsigned long long)(mib / vc[k]),
			median(base, nb));
		for (int pass = 0; pass < 2; pass++) {
			if (pass)
				fprintf(out, " |");
			for (int m = 0; m < nm; m++) {
				const struct preset_row *r = NULL;

				for (int i = 0; i < nprows; i++)
					if (prows[i].vcpus == vc[k] &&
					    !strcmp(prows[i].mode, modes[m]))
						r = &prows[i];
				if (!r || !r->n) {
					fprintf(out, " %11s", "-");
					continue;
				}
				double v[PRESET_MAX_REPS];

				memcpy(v, pass ? r->pass : r->wall, sizeof(double) * r->n);
				fprintf(out, " %11.3f", median(v, r->n));
			}
		}
		fprintf(out, "\n");
	}
	fprintf(out, "(medians over repetitions; \"no aging\": median over every mode's unaged "
		     "populate)\npublished, bare metal, x86 TDP MMU:\n");
	for (int i = 0; i < 3; i++)
		fprintf(out, "%s\n", published[i]);
}

/* ---- demand_paging_test comparison ---------------------------------- */

/* Run demand_paging_test; its "Overall demand paging rate" in pages/s, or 0. */
static double dpt_run(const char *bin, int vcpus, uint64_t bytes_per_vcpu)
{
	char cmd[1024], line[512];
	double rate = 0;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "'%s' -v %d -b %llu -s anonymous 2>&1", bin, vcpus,
		 (unsigned long long)bytes_per_vcpu);
	f = popen(cmd, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		char *p = strstr(line, "Overall demand paging rate:");

		if (p)
			rate = strtod(p + strlen("Overall demand paging rate:"), NULL);
	}
	if (pclose(f) != 0)
		return 0;
	return rate;
}

/* Our populate rate for the same shape: anon 4K, write, one pass, pages/s. */
static double our_populate(int vcpus, uint64_t bytes_per_vcpu, char *msg, size_t len)
{
	struct ab_vm_config cfg;
	struct ab_vm_work w;
	struct abvm *vm;
	uint64_t t0, t1;
	int err;

	ab_vm_config_init(&cfg);
	cfg.mem_bytes = bytes_per_vcpu * vcpus;
	cfg.nr_vcpus = vcpus;
	cfg.backing = AB_VM_BACKING_ANON;
	if ((err = ab_vm_create(&cfg, &vm, msg, len)))
		return 0;
	ab_vm_work_init(&w);
	w.op = AB_VM_OP_WRITE;
	t0 = ab_now_ns();
	err = ab_vm_start_wait(vm, &w);
	t1 = ab_now_ns();
	if (err)
		snprintf(msg, len, "%s %s", ab_vm_strerr(err), ab_vm_last_error(vm));
	ab_vm_destroy(vm);
	return err ? 0 : (double)(cfg.mem_bytes / 4096) * 1e9 / (double)(t1 - t0);
}

/*
 * Record demand_paging_ratio = our populate speed / demand_paging_test's,
 * same vCPUs and bytes, medians of 3 alternating runs.
 */
static void dpt_compare(int vcpus, uint64_t bytes_per_vcpu)
{
	const char *bin = getenv("AGEBENCH_DPT");
	double ours[3], theirs[3];
	char v[128], msg[256] = "";

	if (!bin || !*bin)
		bin = AB_KVM_DPT_DEFAULT;
	if (!*bin || access(bin, X_OK) < 0) {
		ab_add_context("demand_paging_ratio", "unavailable: demand_paging_test not built "
						      "(microbench/kvm/build-dpt.sh)");
		return;
	}
	for (int i = 0; i < 3; i++) {
		theirs[i] = dpt_run(bin, vcpus, bytes_per_vcpu);
		ours[i] = our_populate(vcpus, bytes_per_vcpu, msg, sizeof(msg));
		if (!theirs[i] || !ours[i]) {
			snprintf(v, sizeof(v), "unavailable: %s failed %s",
				 !theirs[i] ? "demand_paging_test" : "our populate", msg);
			ab_add_context("demand_paging_ratio", v);
			return;
		}
	}
	qsort(ours, 3, sizeof(double), cmp_double);
	qsort(theirs, 3, sizeof(double), cmp_double);
	snprintf(v, sizeof(v), "%.3f", ours[1] / theirs[1]);
	ab_add_context("demand_paging_ratio", v);
	snprintf(v, sizeof(v),
		 "ours %.0f pages/s, demand_paging_test %.0f pages/s, %d vCPUs x %llu MiB", ours[1],
		 theirs[1], vcpus, (unsigned long long)(bytes_per_vcpu >> 20));
	ab_add_context("demand_paging_detail", v);
}

/* ---- registration ---------------------------------------------------- */

/*
 * The series' aging stats (lock wait, walk time, declines) are off by default
 * (kvm.age_stats, a static key): turn them on for the run; the cleanup
 * registry writes the old value back at exit, also after a signal.
 */
static void enable_age_stats(void)
{
	static const char p[] = "/sys/module/kvm/parameters/age_stats";
	char cur[16] = "";
	FILE *f = fopen(p, "re");

	if (!f)
		return;
	if (!fgets(cur, sizeof(cur), f))
		cur[0] = 0;
	fclose(f);
	cur[strcspn(cur, "\n")] = 0;
	if (!strcmp(cur, "Y") || !strcmp(cur, "1")) {
		ab_add_context("kvm_age_stats", "on (already)");
		return;
	}
	if (!cur[0] || ab_cleanup_add(AB_CLEANUP_WRITE, p, cur) < 0 || !(f = fopen(p, "we"))) {
		ab_add_context("kvm_age_stats", "off (cannot be turned on)");
		return;
	}
	fputs("1", f);
	ab_add_context("kvm_age_stats", fclose(f) ? "off (write failed)" : "on (for this run)");
}

/*
 * The kernel modes of the schema this kernel accepts: each is written to
 * kvm.mmu_age_mode (the registry restores the original value at exit); a
 * mode the kernel rejects is listed in @missing. -1 if @want is given and
 * not accepted.
 */
static int kernel_modes(const char *want, const char **modes, int *nmodes, char *missing,
			size_t mlen, char *err, size_t errlen)
{
	char cur[64];

	if (ab_kvm_mode_param(cur, sizeof(cur)) == false)
		return -1;
	for (int i = 0; i < AB_MODE_NR; i++) {
		const struct ab_mode *md = &ab_mode_table[i];

		if (!(md->where & AB_IN_KERNEL) || (want && strcmp(want, md->name)))
			continue;
		if (ab_kvm_mode_set(md->name)) {
			size_t o = strlen(missing);
			snprintf(missing + o, mlen - o, "%s%s", o ? "," : "", md->name);
			continue;
		}
		modes[(*nmodes)++] = md->name;
	}
	if (ab_kvm_mode_set(cur) == 0 && *nmodes)
		return 0;
	if (want)
		snprintf(err, errlen,
			 "mode '%s': this kernel's kvm.mmu_age_mode does not accept it", want);
	else
		snprintf(err, errlen, "kvm.mmu_age_mode accepts none of %s",
			 ab_mode_list(AB_IN_KERNEL));
	return -1;
}

static char chosen_msg[512];

static int pick_driver(const struct ab_bench_config *cfg, char *err, size_t errlen)
{
	char *msg = chosen_msg;
	const size_t msgsz = sizeof(chosen_msg);
	size_t off = 0;
	const char *want = cfg->driver;

	if (!want || !*want)
		want = getenv("AGEBENCH_KVM_DRIVER");
	if (want && *want) {
		chosen = ab_kvm_driver_by_name(want);
		if (!chosen) {
			snprintf(err, errlen,
				 "unknown kvm driver '%s' (hook, page_idle, lru_gen, reclaim)",
				 want);
			return -1;
		}
		if (chosen->detect(msg, msgsz) != AB_KVM_PRESENT) {
			snprintf(err, errlen, "driver %s: %s", want, msg);
			return -1;
		}
		return 0;
	}
	/* the preset ages through a real caller: lru_gen (as published), else
	 * page_idle, else reclaim; the hook only when asked for */
	static const struct ab_kvm_driver *const real[] = {
	    &ab_kvm_drv_lru_gen, &ab_kvm_drv_page_idle, &ab_kvm_drv_reclaim, NULL};
	const struct ab_kvm_driver *const *order = cfg->preset ? real : ab_kvm_drivers;

	for (int i = 0; order[i]; i++) {
		enum ab_kvm_presence pr = order[i]->detect(msg, msgsz);

		if (pr == AB_KVM_PRESENT) {
			chosen = order[i];
			return 0;
		}
		off += snprintf(err + off, off < errlen ? errlen - off : 0, "%s%s: %s",
				off ? "; " : "no usable kvm aging driver: ", order[i]->name, msg);
	}
	return -1;
}

/* The modes a run measures, and what the kernel offers. */
struct kmodes {
	const char *modes[AB_MODE_NR];
	int nmodes;
	char modes_s[128]; /* comma list of modes[] */
	char missing[128]; /* kernel modes it does not accept */
	bool patched;	   /* kvm.mmu_age_mode exists */
};

/* cfg->mode or every kernel mode on a patched kernel, else native. */
static int pick_modes(const struct ab_bench_config *cfg, struct kmodes *km, char *err,
		      size_t errlen)
{
	char cur[64];

	km->patched = ab_kvm_mode_param(cur, sizeof(cur));
	if (km->patched) {
		const struct ab_mode *md = cfg->mode ? ab_mode_find(cfg->mode) : NULL;

		if (cfg->mode && (!md || !(md->where & AB_IN_KERNEL))) {
			snprintf(err, errlen, "unknown mode '%s' (%s)", cfg->mode,
				 ab_mode_list(AB_IN_KERNEL));
			return -1;
		}
		if (kernel_modes(cfg->mode, km->modes, &km->nmodes, km->missing,
				 sizeof(km->missing), err, errlen))
			return -1;
		enable_age_stats();
	} else {
		if (cfg->mode && strcmp(cfg->mode, "native")) {
			snprintf(err, errlen,
				 "mode '%s' needs the patched kernel (no kvm.mmu_age_mode on %s); "
				 "only 'native' runs here",
				 cfg->mode, ab_kernel_release());
			return -1;
		}
		km->modes[km->nmodes++] = "native";
	}
	for (int i = 0; i < km->nmodes; i++)
		snprintf(km->modes_s + strlen(km->modes_s),
			 sizeof(km->modes_s) - strlen(km->modes_s), "%s%s", i ? "," : "",
			 km->modes[i]);
	return 0;
}

/* Guest memory the chosen driver can age: anonymous and THP unless it needs
 * files, then file-backed. */
static int pick_backings(enum ab_vm_backing *backings)
{
	const char *why;
	int nback = 0;

	if (!chosen->needs_file) {
		backings[nback++] = AB_VM_BACKING_ANON;
		if (ab_vm_thp_usable(&why))
			backings[nback++] = AB_VM_BACKING_THP;
	}
	backings[nback++] = AB_VM_BACKING_FILE;
	return nback;
}

/* The most vCPUs: every vCPU and the ager on a PU of its own, unless
 * allowed otherwise. */
static int max_vcpus(const struct ab_bench_config *cfg, int pus)
{
	int fit = cfg->allow_oversubscribe ? AB_VM_MAX_VCPUS : pus - 1;
	int maxv = cfg->max_vcpus > 0	      ? cfg->max_vcpus
		   : cfg->allow_oversubscribe ? pus
		   : pus > 1		      ? pus - 1
					      : 1;

	if (cfg->preset)
		maxv = cfg->max_vcpus > 0 ? cfg->max_vcpus : 112;
	if (maxv > AB_VM_MAX_VCPUS)
		maxv = AB_VM_MAX_VCPUS;
	if (maxv > fit) {
		char r[160];

		snprintf(r, sizeof(r),
			 "vcpus %d..%d: with the ager more threads than the %d PUs "
			 "(--allow-oversubscribe runs them)",
			 fit + 1, maxv, pus);
		ab_add_context("kvm_refused_points", r);
		if (!cfg->preset)
			ab_warn("kvm: refused %s", r);
		maxv = fit;
	}
	if (maxv < 1) {
		/* one PU (e.g. the lab's 1-CPU guest): the one point there
		 * is, marked oversubscribed, rather than nothing */
		ab_warn("kvm: 1 PU: the vCPU and the ager share it (oversubscribed)");
		ab_add_context("kvm_refused_points", "none: 1 PU, vcpus:1 runs "
						     "oversubscribed");
		maxv = 1;
	}
	return maxv;
}

/* params from @cfg and the PUs; returns the most vCPUs. */
static int set_params(const struct ab_bench_config *cfg)
{
	int pus;

	params.pin = cfg->pin;
	params.preset = cfg->preset != NULL;
	params.min_age_ms = cfg->min_age_ms > 0 ? (uint64_t)cfg->min_age_ms
			    : cfg->quick	? 200
						: 1000;
	params.zap_mib_s = cfg->zap_mib_s;
	params.nested_pct = (uint32_t)cfg->nested_pct;
	params.acc_rounds = cfg->quick ? 2 : 4;
	params.iters = 1;
	ab_pin_enable(cfg->pin);
	ab_topo_init();
	pus = ab_topo_nr_pus();
	if (pus < 1)
		pus = 1;
	params.pus = pus;
	return max_vcpus(cfg, pus);
}

static void kvm_context(const struct kmodes *km)
{
	ab_add_context("driver", chosen->name);
	ab_add_context("driver_detail", chosen_msg);
	ab_add_context("kvm_modes", km->modes_s);
	if (km->missing[0])
		ab_add_context("kvm_modes_not_offered", km->missing);
	ab_add_context("kvm_kernel", km->patched ? "patched (kvm.mmu_age_mode)" : "native");
	ab_add_context("kvm_kernel_release", ab_kernel_release());
	{
		/* file-backed guests: on tmpfs, "reclaim" means swapping shmem out */
		struct statfs sf;
		char fd_s[300];

		if (statfs(file_dir(), &sf) == 0)
			snprintf(fd_s, sizeof(fd_s), "%s (%s)", file_dir(),
				 sf.f_type == 0x01021994
				     ? "tmpfs: reclaim of file guests is swap-out"
				     : "page cache of a disk filesystem");
		else
			snprintf(fd_s, sizeof(fd_s), "%s (%s)", file_dir(), strerror(errno));
		ab_add_context("kvm_file_dir", fd_s);
	}
}

/* The grid's sizes: guest MiB (or MiB per vCPU) and vCPU counts. */
struct kgrid {
	int64_t *mibs;
	int nmib;
	int64_t vlist[32];
	int nvl;
	int64_t per_vcpu;
	uint64_t cap_mib;
	/* per-mode drivers (the hook): pages per notifier call, 0 = the whole
	 * range (named batch:<guest pages>, as the model names it) */
	int64_t bt[8];
	int nbt;
};

/* The preset's vCPU counts (8, 32, 112, capped to @maxv) and its note. */
static void preset_grid(struct kgrid *g, const struct kmodes *km, int maxv)
{
	static const int v4[] = {8, 32, 112};
	char note[400];

	for (int i = 0; i < 3; i++) {
		int v = v4[i] < maxv ? v4[i] : maxv;

		if (!g->nvl || g->vlist[g->nvl - 1] != v)
			g->vlist[g->nvl++] = v;
	}
	if (!g->per_vcpu)
		g->per_vcpu = 1024;
	g->nmib = 1;
	snprintf(note, sizeof(note), "driver %s, mode(s) %s, %s guest memory; %s%s", chosen->name,
		 km->modes_s, chosen->needs_file ? "file-backed" : "4K anonymous",
		 maxv < 112 ? "CAPPED to " : "", maxv < 112 ? "" : "as published");
	snprintf(preset_note, sizeof(preset_note), "%s", note);
	if (maxv < 112)
		snprintf(
		    preset_note + strlen(preset_note), sizeof(preset_note) - strlen(preset_note),
		    "%d vCPU(s): this machine has %d PUs (one is the ager's)", maxv, params.pus);
}

/*
 * Call sizes: --batch, else 1 (page_idle and 6.12's MGLRU ask per page) and
 * 64 (a look-around window), and the whole range in the full grid; the
 * preset one size (the first of --batch, else the whole range). Only the
 * hook has a call size of its own: the real callers decide theirs.
 */
static int grid_batches(const struct ab_bench_config *cfg, struct kgrid *g, char *err,
			size_t errlen)
{
	static const int64_t quick[] = {1, 64}, full[] = {1, 64, 0};

	g->nbt = 0;
	if (!chosen->per_mode) {
		if (cfg->batch) {
			snprintf(
			    err, errlen,
			    "--batch: the %s driver has no call size of its own (its caller "
			    "decides: page_idle and reclaim ask per page, MGLRU per its walk); "
			    "only --driver hook takes --batch",
			    chosen->name);
			return AB_REGISTER_USAGE;
		}
		return 0;
	}
	if (cfg->batch) {
		g->nbt = ab_parse_count_list("--batch", cfg->batch, true, g->bt, 8, err, errlen);
		if (g->nbt < 0)
			return AB_REGISTER_USAGE;
	} else {
		g->nbt = cfg->quick ? 2 : 3;
		memcpy(g->bt, cfg->quick ? quick : full, sizeof(int64_t) * (size_t)g->nbt);
	}
	if (cfg->preset) {
		g->bt[0] = cfg->batch ? g->bt[0] : 0;
		g->nbt = 1;
	}
	return 0;
}

static void grid_sizes(const struct ab_bench_config *cfg, const struct kmodes *km, int maxv,
		       struct kgrid *g)
{
	static int64_t mibs_quick[] = {64, 128}, mibs_full[] = {256, 1024};
	const char *s_env;

	g->mibs = cfg->quick ? mibs_quick : mibs_full;
	g->nmib = 2;
	g->nvl = 0;
	g->per_vcpu = cfg->mem_per_vcpu_mib > 0 ? cfg->mem_per_vcpu_mib : 0;
	g->cap_mib = ab_vm_mem_available() / 10 * 8 >> 20;

	/* knobs for the ctest runs (documented in docs/kvm-backend.md) */
	if (getenv("AGEBENCH_KVM_MIB") && atoi(getenv("AGEBENCH_KVM_MIB")) > 0) {
		g->mibs[0] = (atoi(getenv("AGEBENCH_KVM_MIB")) + 1) & ~1;
		g->nmib = 1;
	}
	if ((s_env = getenv("AGEBENCH_KVM_WINDOWS")) || (s_env = getenv("AGEBENCH_KVM_CALLS")))
		if (atoi(s_env) > 0)
			params.iters = atoi(s_env);
	if ((s_env = getenv("AGEBENCH_KVM_MIN_AGE_MS")) || (s_env = getenv("AGEBENCH_KVM_BASE_MS")))
		if (atoi(s_env) > 0 && cfg->min_age_ms <= 0)
			params.min_age_ms = (uint64_t)atoi(s_env);

	/* vCPU counts: 1, 2, 4, ... and maxv (quick: 1 and maxv); the preset's */
	if (cfg->preset) {
		preset_grid(g, km, maxv);
	} else {
		for (int v = 1; v <= maxv && g->nvl<32; v = v * 2> maxv && v != maxv ? maxv : v * 2)
			if (!cfg->quick || v == 1 || v == maxv)
				g->vlist[g->nvl++] = v;
	}
	if (g->per_vcpu) {
		char pv[64];

		snprintf(pv, sizeof(pv), "%lld", (long long)g->per_vcpu);
		ab_add_context("kvm_mem_per_vcpu_mib", pv);
	}
}

/* @bh's points: guest MiB x vCPU counts, per-vCPU memory capped to 80 % of
 * MemAvailable. */
static void grid_args(const struct ab_bench_config *cfg, const struct kgrid *g, ab_bench *bh)
{
	for (int i = 0; i < g->nmib; i++) {
		for (int k = 0; k < g->nvl; k++) {
			int64_t mib = g->per_vcpu ? g->per_vcpu * g->vlist[k] : g->mibs[i];

			if (g->per_vcpu && (uint64_t)mib > g->cap_mib && g->cap_mib) {
				/* capped to memory: 2 MiB multiples */
				mib = (int64_t)g->cap_mib & ~1ll;
				if (cfg->preset && !strstr(preset_note, "memory"))
					snprintf(preset_note + strlen(preset_note),
						 sizeof(preset_note) - strlen(preset_note),
						 "; memory CAPPED to 80%% of "
						 "MemAvailable (%llu MiB)",
						 (unsigned long long)g->cap_mib);
			}
			for (int q = 0; q < g->nbt; q++) {
				int64_t pages = mib * 256; /* 4 KiB gfns */
				int64_t b = g->bt[q] && g->bt[q] < pages ? g->bt[q] : pages;

				ab_bench_args(bh, (int64_t[3]){mib, g->vlist[k], b}, 3);
			}
			if (!g->nbt)
				ab_bench_args(bh, (int64_t[2]){mib, g->vlist[k]}, 2);
		}
	}
}

/* One benchmark per mode x backing (the preset: the first backing only). */
static void register_grid(const struct ab_bench_config *cfg, const struct kmodes *km,
			  const enum ab_vm_backing *backings, int nback, const struct kgrid *g)
{
	static struct kbench benches[3 * AB_MODE_NR];
	static const char *const argn[] = {"mib", "vcpus", "batch"};
	int nb = 0;

	for (int m = 0; m < km->nmodes; m++) {
		for (int b = 0; b < nback; b++) {
			struct kbench *kb = &benches[nb];
			char name[128];
			ab_bench *bh;

			if (cfg->preset && b > 0)
				break; /* one backing: 4K anonymous (file for reclaim) */
			nb++;
			kb->drv = chosen;
			snprintf(kb->mode, sizeof(kb->mode), "%s", km->modes[m]);
			kb->backing = backings[b];
			kb->p = &params;
			snprintf(name, sizeof(name), "kvm/%s/%s", kb->mode,
				 backing_tag(kb->backing));
			bh = ab_register(name, kbench_fn, kb);
			ab_bench_arg_names(bh, argn, g->nbt ? 3 : 2);
			grid_args(cfg, g, bh);
			ab_bench_manual_time(bh);
			ab_bench_iterations(bh, params.iters);
			ab_bench_unit(bh, 'u');
			if (cfg->reps > 0)
				ab_bench_repetitions(bh, cfg->reps);
		}
	}
}

/* --nested where KVM offers its guests no nested SVM: bad input
 * (AB_REGISTER_USAGE), why; no usable KVM at all: -1 (unavailable). */
static int nested_check(int pct, char *err, size_t errlen)
{
	char why[400];
	int kind = ab_vm_nested_probe(NULL, why, sizeof(why));

	if (kind == AB_VM_NESTED_SVM)
		return 0;
	snprintf(err, errlen, "--nested %d: %s", pct, why);
	return kind < 0 ? -1 : AB_REGISTER_USAGE;
}

int ab_kvm_register(const struct ab_bench_config *cfg, char *err, size_t errlen)
{
	struct kmodes km = {.nmodes = 0};
	enum ab_vm_backing backings[3];
	struct kgrid g = {.nbt = 0};
	int nback, maxv, nerr;

	ab_cleanup_install();
	if (ab_kvm_dev_kvm_check(err, errlen))
		return -1;
	if (pick_driver(cfg, err, errlen))
		return -1;
	if (grid_batches(cfg, &g, err, errlen)) /* bad input: before any setting changes */
		return AB_REGISTER_USAGE;
	if (cfg->nested_pct && (nerr = nested_check(cfg->nested_pct, err, errlen)))
		return nerr;
	if (pick_modes(cfg, &km, err, errlen))
		return -1;
	nback = pick_backings(backings);
	maxv = set_params(cfg);
	kvm_context(&km);
	grid_sizes(cfg, &km, maxv, &g);
	register_grid(cfg, &km, backings, nback, &g);
	if (cfg->preset)
		ab_add_context("preset", preset_note);
	if (cfg->nested_pct) {
		char b[96];

		snprintf(b, sizeof(b), "%d%% of each VM's pages touched by its L3 (shadow MMU)",
			 cfg->nested_pct);
		ab_add_context("kvm_nested", b);
	}
	/* the bar: populate at least as fast as the kernel's demand_paging_test */
	if (!getenv("AGEBENCH_KVM_NO_DPT") && !cfg->preset)
		dpt_compare(maxv, cfg->quick ? (32ull << 20) : (128ull << 20));
	return 0;
}
