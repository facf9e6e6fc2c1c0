// SPDX-License-Identifier: GPL-2.0
/*
 * kvm_bench.c - the kvm backend: real VMs (libabvm) aged by the running
 * kernel through one of the aging drivers, timed while vCPUs run.
 *
 * One benchmark = kvm/<mode>/<4K|2M|file>/mib:<n>/vcpus:<n>, one repetition
 * = one fresh VM:
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
	uint64_t base_ms; /* length of the no-aging phase */
	int64_t calls;	  /* aging calls (iterations) per repetition */
	int acc_rounds;	  /* accuracy rounds */
	bool pin;
};

struct kbench {
	const struct ab_kvm_driver *drv;
	char mode[32]; /* walker mode, or "native" */
	enum ab_vm_backing backing;
	const struct kparams *p;
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

static uint64_t vm_passes(struct abvm *vm)
{
	struct ab_vm_vcpu_stats s;

	ab_vm_stats_total(vm, &s);
	return s.passes;
}

static void merge_hists(struct abvm *vm, struct ab_hist *h)
{
	ab_hist_init(h);
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

/* Loop pattern of phases 2 and 3: every page of each partition, forever. */
static void loop_work(struct ab_vm_work *w, enum ab_vm_op op)
{
	ab_vm_work_init(w);
	w->op = op;
	w->order = AB_VM_ORDER_SEQ;
	w->passes = 0;
	w->record_latency = true;
}

/*
 * Accuracy, exact drivers: clear all, touch a random half, test. A page
 * reported young that was not touched is a bug (false young, returned as
 * -EPROTO with @msg); a touched page reported old is a false old. The
 * comparison is per 2 MiB block for THP (one young bit per huge mapping).
 */
static int accuracy_exact(struct ab_kvm_drv *d, struct abvm *vm, const struct kbench *kb,
			  enum ab_vm_op op, int rounds, uint64_t *false_old, uint64_t *checked,
			  char *msg, size_t len)
{
	uint64_t n = ab_vm_npages(vm), words = (n + 63) / 64;
	uint64_t *touch = calloc(words, 8), *young = calloc(words, 8),
		 *untracked = calloc(words, 8);
	uint64_t gran = kb->backing == AB_VM_BACKING_THP ? 512 : 1;
	struct ab_kvm_age_res r;
	int err = 0;

	if (!touch || !young || !untracked) {
		free(touch);
		free(young);
		free(untracked);
		return -ENOMEM;
	}
	*false_old = *checked = 0;
	for (int round = 0; round < rounds && !err; round++) {
		memset(touch, 0, words * 8);
		memset(young, 0, words * 8);
		for (uint64_t p = 0; p < n; p += gran)
			if (ab_vm_page_is_hot(0x5eed + round, p / gran, 50))
				for (uint64_t q = p; q < p + gran && q < n; q++)
					touch[q / 64] |= 1ull << (q % 64);
		if (d->ops->untracked_baseline)
			ab_vm_lru_drain_all(); /* page_idle skips folios in per-CPU LRU batches */
		if ((err = d->ops->age(d, kb->mode, 0, n, true, &r, NULL)))
			break;
		/*
		 * page_idle cannot track every page (THP tails, folios off the
		 * LRU for a moment): they read "not idle" right after marking.
		 * Such pages are left out; the hook gets no such allowance.
		 */
		memset(untracked, 0, words * 8);
		if (d->ops->untracked_baseline &&
		    (err = d->ops->age(d, kb->mode, 0, n, false, &r, untracked)))
			break;
		if ((err = ab_vm_touch(vm, touch, op)) || (err = ab_vm_wait(vm, 0))) {
			snprintf(msg, len, "touch: %s %s", ab_vm_strerr(err), ab_vm_last_error(vm));
			err = -EIO;
			break;
		}
		if ((err = d->ops->age(d, kb->mode, 0, n, false, &r, young)))
			break;
		if (r.declined)
			continue; /* no answer is not "old" */
		for (uint64_t p = 0; p < n; p += gran) {
			bool t = touch[p / 64] >> (p % 64) & 1, y = false;

			int tracked = 0;

			for (uint64_t q = p; q < p + gran && q < n; q++) {
				if (untracked[q / 64] >> (q % 64) & 1)
					continue;
				tracked++;
				y |= young[q / 64] >> (q % 64) & 1;
			}
			if (!tracked)
				continue;
			if (y && !t && !d->ops->young_inexact) {
				snprintf(msg, len,
					 "false young: %s reported guest page %llu young but the "
					 "guest did not touch it since the last clear (round %d)",
					 d->ops->name, (unsigned long long)p, round);
				err = -EPROTO;
				break;
			}
			if (t && !y)
				(*false_old)++;
			if (t)
				(*checked)++;
		}
	}
	free(touch);
	free(young);
	free(untracked);
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

/* Aging in a helper thread while the vCPUs fault (phase 5). */
struct ager {
	struct ab_kvm_drv *d;
	const char *mode;
	uint64_t npages;
	bool pin;
	volatile int stop;
	uint64_t calls, ns;
	int err;
};

static void *ager_fn(void *arg)
{
	struct ager *a = arg;

	if (a->pin)
		ab_pin_self(0);
	while (!__atomic_load_n(&a->stop, __ATOMIC_ACQUIRE)) {
		struct ab_kvm_age_res r;

		a->err = a->d->ops->age(a->d, a->mode, 0, a->npages, true, &r, NULL);
		if (a->err)
			break;
		a->calls++;
		a->ns += r.ns;
	}
	return NULL;
}

/*
 * One pass over freshly zapped guest memory (every access faults: host
 * page tables and KVM's mappings are gone; a file keeps its page cache),
 * with or without aging running meanwhile. Returns the pass time in ns, 0
 * on failure (@msg).
 */
static uint64_t fault_pass(struct abvm *vm, enum ab_vm_op op, struct ager *a, struct ab_hist *h,
			   char *msg, size_t len)
{
	struct ab_vm_work w;
	pthread_t th;
	uint64_t t0, t1;
	int err;

	if (madvise(ab_vm_hva(vm), ab_vm_mem_bytes(vm), MADV_DONTNEED) < 0) {
		snprintf(msg, len, "MADV_DONTNEED: %s", strerror(errno));
		return 0;
	}
	ab_vm_work_init(&w);
	w.op = op;
	w.record_latency = true;
	ab_vm_hist_reset(vm);
	if (a && pthread_create(&th, NULL, ager_fn, a)) {
		snprintf(msg, len, "aging thread: %s", strerror(errno));
		return 0;
	}
	t0 = ab_now_ns();
	err = ab_vm_start_wait(vm, &w);
	t1 = ab_now_ns();
	if (a) {
		__atomic_store_n(&a->stop, 1, __ATOMIC_RELEASE);
		pthread_join(th, NULL);
	}
	if (err) {
		snprintf(msg, len, "fault pass: %s %s", ab_vm_strerr(err), ab_vm_last_error(vm));
		return 0;
	}
	if (a && a->err) {
		snprintf(msg, len, "aging during the fault pass: %s", strerror(-a->err));
		return 0;
	}
	merge_hists(vm, h);
	return t1 - t0;
}

/*
 * The same latency measured without (@hb) and with (@ha) aging: names[0] and
 * names[1] get the two p99s, names[2] the max with aging, names[3] and
 * names[4] the two CDFs. Nothing if either histogram is empty.
 */
static void base_vs_aging(ab_state *st, const struct ab_hist *hb, const struct ab_hist *ha,
			  const char *const names[5])
{
	if (!hb->count || !ha->count)
		return;
	ab_counter(st, names[0], (double)ab_hist_quantile(hb, 0.99), AB_CTR_DEFAULT);
	ab_counter(st, names[1], (double)ab_hist_quantile(ha, 0.99), AB_CTR_DEFAULT);
	ab_counter(st, names[2], (double)ha->max, AB_CTR_DEFAULT);
	ab_record_cdf(st, names[3], hb);
	ab_record_cdf(st, names[4], ha);
}

/*
 * One kvm benchmark case: what the phases share. The harness (kbench_fn)
 * owns the order: setup -> populate -> base (no aging) -> aging under vCPU
 * load (timed) -> accuracy -> faults under aging -> counters -> teardown.
 */
struct kcase {
	ab_state *st;
	const struct kbench *kb;
	const struct kparams *p;
	uint64_t mib;
	int vcpus;
	struct ab_kvm_drv d;
	enum ab_vm_op op;
	struct ab_vm_work w;
	struct abvm *vm;
	struct ab_vm_kstats *ks;
	uint64_t npages;
	char msg[512], err_s[600];
	bool timed_loop_ran; /* ab_keep_running() returned false once */
	/* phases 1-3 */
	struct ab_hist fault, hbase, hage;
	uint64_t base_aps, age_aps;
	double base_pass_ns, age_pass_ns;
	/* the timed loop */
	uint64_t calls, t0, t1, sum_ns, sum_pages, sum_young, sum_lw, sum_dc, sum_ev, sum_rf;
	uint64_t sum_kcalls, sum_kwalk;
	bool has_young, has_lw, has_dc, has_rf, has_k;
	/* accuracy */
	uint64_t false_old, checked;
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

static bool kc_vm_fail(struct kcase *c, int err)
{
	return kc_fail(c, "vCPUs: %s %s", ab_vm_strerr(err), ab_vm_last_error(c->vm));
}

/* Mode, driver, VM, the driver's view of it, the kernel's aging stats. */
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
	return true;
}

/* 1. populate: first touch of every page (quiet phase: no aging runs) */
static bool kc_populate(struct kcase *c)
{
	int err;

	ab_vm_work_init(&c->w);
	c->w.op = c->op;
	c->w.record_latency = true;
	ab_vm_hist_reset(c->vm);
	uint64_t t0 = ab_now_ns();
	if ((err = ab_vm_start_wait(c->vm, &c->w)))
		return kc_fail(c, "populate: %s %s", ab_vm_strerr(err), ab_vm_last_error(c->vm));
	uint64_t t1 = ab_now_ns();
	merge_hists(c->vm, &c->fault);
	ab_counter(c->st, "populate_pages_per_s", (double)c->npages * 1e9 / (double)(t1 - t0),
		   AB_CTR_DEFAULT);
	return true;
}

/* 2. base: the vCPUs loop over their memory, no aging */
static bool kc_base(struct kcase *c)
{
	uint64_t a0, a1 = 0, p0, p1 = 0, t0, t1 = 0;
	int err;

	loop_work(&c->w, c->op);
	ab_vm_hist_reset(c->vm);
	if ((err = ab_vm_start(c->vm, &c->w)))
		return kc_vm_fail(c, err);
	sleep_ns(c->p->base_ms * 1000000ull / 5); /* warm-up: leave the first pass out */
	a0 = vm_accesses(c->vm), p0 = vm_passes(c->vm), t0 = ab_now_ns();
	/* At least base_ms and a pass's worth of accesses: on an overloaded
	 * machine a short window can catch the vCPUs descheduled throughout. */
	for (int i = 0; i < 10; i++) {
		sleep_ns(c->p->base_ms * 1000000ull / (i ? 2 : 1));
		a1 = vm_accesses(c->vm), p1 = vm_passes(c->vm), t1 = ab_now_ns();
		if (a1 - a0 >= c->npages)
			break;
	}
	if (a1 == a0) {
		ab_vm_stop(c->vm);
		return kc_fail(c,
			       "the vCPUs made no progress in %.1f s without aging (machine "
			       "overloaded?)",
			       (double)(t1 - t0) / 1e9);
	}
	c->base_aps = (a1 - a0) * 1000000000ull / (t1 - t0);
	c->base_pass_ns = p1 > p0 ? (double)(t1 - t0) * c->vcpus / (double)(p1 - p0) : 0;
	if ((err = ab_vm_stop(c->vm)))
		return kc_vm_fail(c, err);
	merge_hists(c->vm, &c->hbase);
	ab_counter(c->st, "base_accesses_per_s", (double)c->base_aps, AB_CTR_DEFAULT);
	return true;
}

/* One aging call of the timed loop, with the kernel's stats around it. */
static int kc_age_once(struct kcase *c)
{
	const struct kbench *kb = c->kb;
	struct ab_kvm_age_res r;
	uint64_t k0[4], k1[4];
	bool kok;
	int err;

	c->d.budget = kb->drv == &ab_kvm_drv_reclaim ? c->npages / 16 : 0;
	kok = c->ks && !kstats_read(c->ks, k0);
	err =
	    kb->drv->age(&c->d, kb->drv->per_mode ? kb->mode : NULL, 0, c->npages, true, &r, NULL);
	/* patched kernel: what the notifiers cost inside KVM during this call */
	if (kok && !kstats_read(c->ks, k1)) {
		if (!r.has_lock_wait) {
			r.lock_wait_ns = k1[0] - k0[0];
			r.has_lock_wait = true;
		}
		if (!r.has_declines) {
			r.declines = k1[1] - k0[1];
			r.has_declines = true;
		}
		c->sum_kcalls += k1[2] - k0[2];
		c->sum_kwalk += k1[3] - k0[3];
	} else {
		c->has_k = false;
	}
	if (err)
		return err;
	ab_set_iteration_time(c->st, (double)r.ns / 1e9);
	c->calls++;
	c->sum_ns += r.ns;
	c->sum_pages += r.pages;
	c->sum_young += r.young;
	c->has_young &= r.has_young;
	c->sum_lw += r.lock_wait_ns;
	c->has_lw &= r.has_lock_wait;
	c->sum_dc += r.declines;
	c->has_dc &= r.has_declines;
	c->sum_ev += r.evicted;
	c->sum_rf += r.refaults;
	c->has_rf &= r.has_refaults;
	return 0;
}

/* 3. timed: aging calls while the vCPUs loop over their memory */
static bool kc_aging(struct kcase *c)
{
	uint64_t a0, a1, p0, p1;
	bool failed = false;
	int err;

	c->has_young = c->has_lw = c->has_dc = c->has_rf = true;
	ab_vm_hist_reset(c->vm);
	if ((err = ab_vm_start(c->vm, &c->w)))
		return kc_vm_fail(c, err);
	sleep_ns(c->p->base_ms * 1000000ull / 5);
	a0 = vm_accesses(c->vm), p0 = vm_passes(c->vm), c->t0 = ab_now_ns();
	while (ab_keep_running(c->st)) {
		if ((err = kc_age_once(c))) {
			kc_fail(c, "%s age: %s", c->kb->drv->name,
				c->d.err[0] ? c->d.err : strerror(-err));
			failed = true;
			break;
		}
	}
	c->timed_loop_ran = true;
	a1 = vm_accesses(c->vm), p1 = vm_passes(c->vm), c->t1 = ab_now_ns();
	if ((err = ab_vm_stop(c->vm)))
		return kc_vm_fail(c, err);
	merge_hists(c->vm, &c->hage);
	if (failed)
		return false;
	c->age_aps = c->t1 > c->t0 ? (a1 - a0) * 1000000000ull / (c->t1 - c->t0) : 0;
	c->age_pass_ns = p1 > p0 ? (double)(c->t1 - c->t0) * c->vcpus / (double)(p1 - p0) : 0;
	return true;
}

/* 4. accuracy (per-page drivers) */
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
				     &c->checked, c->msg, sizeof(c->msg));
	if (err)
		return kc_fail(c, "accuracy: %s",
			       c->msg[0]     ? c->msg
			       : c->d.err[0] ? c->d.err
					     : strerror(-err));
	c->has_acc = c->checked > 0;
	return true;
}

/* 5. faults under aging: a zapped pass without, then with, aging */
static bool kc_faults(struct kcase *c)
{
	const struct kbench *kb = c->kb;
	struct ab_hist hfb, hfa;
	struct ager ag = {.d = &c->d,
			  .mode = kb->drv->per_mode ? kb->mode : NULL,
			  .npages = c->npages,
			  .pin = c->p->pin};
	uint64_t fb_ns, fa_ns;

	c->d.budget = kb->drv == &ab_kvm_drv_reclaim ? c->npages / 16 : 0;
	c->msg[0] = 0;
	fb_ns = fault_pass(c->vm, c->op, NULL, &hfb, c->msg, sizeof(c->msg));
	fa_ns = fb_ns ? fault_pass(c->vm, c->op, &ag, &hfa, c->msg, sizeof(c->msg)) : 0;
	c->d.budget = 0;
	if (!fa_ns)
		return kc_fail(c, "%s", c->msg);
	ab_counter(c->st, "base_fault_pass_ns", (double)fb_ns, AB_CTR_DEFAULT);
	ab_counter(c->st, "fault_pass_ns", (double)fa_ns, AB_CTR_DEFAULT);
	ab_counter(c->st, "fault_rel", (double)fb_ns / (double)fa_ns, AB_CTR_DEFAULT);
	ab_counter(c->st, "fault_calls", (double)ag.calls, AB_CTR_DEFAULT);
	if (ag.calls)
		ab_counter(c->st, "fault_age_ns", (double)ag.ns / ag.calls, AB_CTR_DEFAULT);
	base_vs_aging(c->st, &hfb, &hfa,
		      (const char *[5]){"base_refault_p99_ns", "aging_fault_p99_ns",
					"aging_fault_max_ns", "fault_base", "fault_aging"});
	return true;
}

/* Counters of the timed loop (per aging call). */
static void kc_counters_aging(struct kcase *c)
{
	ab_state *st = c->st;
	double n = (double)c->calls;

	if (!c->calls)
		return;
	if (c->sum_pages) {
		ab_counter(st, "ns_per_page", (double)c->sum_ns / (double)c->sum_pages,
			   AB_CTR_DEFAULT);
		ab_counter(st, "pages_per_s", (double)c->sum_pages * 1e9 / (double)c->sum_ns,
			   AB_CTR_DEFAULT);
	}
	ab_counter(st, "pages", (double)c->sum_pages / n, AB_CTR_DEFAULT);
	if (c->has_young)
		ab_counter(st, "young", (double)c->sum_young / n, AB_CTR_DEFAULT);
	if (c->has_lw)
		ab_counter(st, "lock_wait_ns", (double)c->sum_lw / n, AB_CTR_DEFAULT);
	if (c->has_dc)
		ab_counter(st, "declines", (double)c->sum_dc / n, AB_CTR_DEFAULT);
	if (c->has_k && !c->kb->drv->per_mode) {
		ab_counter(st, "kvm_calls", (double)c->sum_kcalls / n, AB_CTR_DEFAULT);
		ab_counter(st, "kvm_walk_ns", (double)c->sum_kwalk / n, AB_CTR_DEFAULT);
	}
	if (c->kb->drv == &ab_kvm_drv_reclaim) {
		ab_counter(st, "evicted", (double)c->sum_ev / n, AB_CTR_DEFAULT);
		if (c->has_rf)
			ab_counter(st, "refaults", (double)c->sum_rf / n, AB_CTR_DEFAULT);
	}
	ab_counter(st, "calls_per_s", n * 1e9 / (double)(c->t1 - c->t0), AB_CTR_DEFAULT);
}

/* Counters of the vCPU side, and accuracy. */
static void kc_counters_vcpus(struct kcase *c)
{
	ab_state *st = c->st;

	if (c->fault.count) {
		ab_counter(st, "fault_p50_ns", (double)ab_hist_quantile(&c->fault, 0.5),
			   AB_CTR_DEFAULT);
		ab_counter(st, "fault_p99_ns", (double)ab_hist_quantile(&c->fault, 0.99),
			   AB_CTR_DEFAULT);
		ab_counter(st, "fault_max_ns", (double)c->fault.max, AB_CTR_DEFAULT);
		ab_record_cdf(st, "fault", &c->fault);
	}
	base_vs_aging(st, &c->hbase, &c->hage,
		      (const char *[5]){"base_access_p99_ns", "access_p99_ns", "access_max_ns",
					"access_base", "access_aging"});
	ab_counter(st, "vcpu_accesses_per_s", (double)c->age_aps, AB_CTR_DEFAULT);
	if (c->base_aps)
		ab_counter(st, "vcpu_rel", (double)c->age_aps / (double)c->base_aps,
			   AB_CTR_DEFAULT);
	if (c->age_pass_ns > 0 && c->base_pass_ns > 0) {
		ab_counter(st, "vcpu_pass_ns", c->age_pass_ns, AB_CTR_DEFAULT);
		ab_counter(st, "base_pass_ns", c->base_pass_ns, AB_CTR_DEFAULT);
	}
	if (c->has_acc)
		ab_counter(st, c->kb->drv == &ab_kvm_drv_reclaim ? "hot_evicted" : "false_old",
			   (double)c->false_old / c->p->acc_rounds, AB_CTR_DEFAULT);
}

static void kc_teardown(struct kcase *c)
{
	ab_vm_kstats_close(c->ks);
	if (c->kb->drv->cleanup)
		c->kb->drv->cleanup(&c->d);
	ab_vm_destroy(c->vm);
	if (c->d.in_memcg)
		ab_kvm_memcg_leave(&c->d.memcg);
}

static void kbench_fn(ab_state *st, void *arg)
{
	const struct kbench *kb = arg;
	struct kcase c = {.st = st,
			  .kb = kb,
			  .p = kb->p,
			  .mib = (uint64_t)ab_range(st, 0),
			  .vcpus = (int)ab_range(st, 1),
			  .d = {.ops = kb->drv},
			  .op = kb->backing == AB_VM_BACKING_FILE ? AB_VM_OP_READ : AB_VM_OP_WRITE};
	cpu_set_t saved;

	sched_getaffinity(0, sizeof(saved), &saved);
	if (c.p->pin)
		ab_pin_self(0);
	if (kc_setup(&c) && kc_populate(&c) && kc_base(&c) && kc_aging(&c) && kc_accuracy(&c) &&
	    kc_faults(&c)) {
		kc_counters_aging(&c);
		kc_counters_vcpus(&c);
	} else {
		ab_skip_with_error(st, c.err_s);
		while (!c.timed_loop_ran && ab_keep_running(st))
			;
	}
	kc_teardown(&c);
	sched_setaffinity(0, sizeof(saved), &saved);
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

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
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
	for (int i = 0; ab_kvm_drivers[i]; i++) {
		enum ab_kvm_presence pr = ab_kvm_drivers[i]->detect(msg, msgsz);

		if (pr == AB_KVM_PRESENT) {
			chosen = ab_kvm_drivers[i];
			return 0;
		}
		off += snprintf(
		    err + off, off < errlen ? errlen - off : 0, "%s%s: %s",
		    off ? "; " : "no usable kvm aging driver: ", ab_kvm_drivers[i]->name, msg);
	}
	return -1;
}

int ab_kvm_register(const struct ab_bench_config *cfg, char *err, size_t errlen)
{
	static struct kbench benches[3 * AB_MODE_NR];
	int nb = 0, pus, maxv;
	char cur[64], modes_s[128] = "";
	const char *modes[AB_MODE_NR];
	char missing[128] = "";
	int nmodes = 0;
	bool patched;
	enum ab_vm_backing backings[3];
	int nback = 0;
	const char *why;

	ab_cleanup_install();
	if (ab_kvm_dev_kvm_check(err, errlen))
		return -1;
	if (pick_driver(cfg, err, errlen))
		return -1;

	/* modes */
	patched = ab_kvm_mode_param(cur, sizeof(cur));
	if (patched) {
		const struct ab_mode *md = cfg->mode ? ab_mode_find(cfg->mode) : NULL;

		if (cfg->mode && (!md || !(md->where & AB_IN_KERNEL))) {
			snprintf(err, errlen, "unknown mode '%s' (%s)", cfg->mode,
				 ab_mode_list(AB_IN_KERNEL));
			return -1;
		}
		if (kernel_modes(cfg->mode, modes, &nmodes, missing, sizeof(missing), err, errlen))
			return -1;
	} else {
		if (cfg->mode && strcmp(cfg->mode, "native")) {
			snprintf(err, errlen,
				 "mode '%s' needs the patched kernel (no kvm.mmu_age_mode on %s); "
				 "only 'native' runs here",
				 cfg->mode, ab_kernel_release());
			return -1;
		}
		modes[nmodes++] = "native";
	}
	for (int i = 0; i < nmodes; i++)
		snprintf(modes_s + strlen(modes_s), sizeof(modes_s) - strlen(modes_s), "%s%s",
			 i ? "," : "", modes[i]);

	/* backings */
	if (!chosen->needs_file) {
		backings[nback++] = AB_VM_BACKING_ANON;
		if (ab_vm_thp_usable(&why))
			backings[nback++] = AB_VM_BACKING_THP;
	}
	backings[nback++] = AB_VM_BACKING_FILE;

	/* parameters */
	params.pin = cfg->pin;
	/* quick: ~10 s per repetition of the whole grid on 2 busy cores */
	params.base_ms = cfg->quick ? 300 : 1500;
	params.acc_rounds = cfg->quick ? 2 : 4;
	params.calls = chosen == &ab_kvm_drv_hook      ? (cfg->quick ? 20 : 100)
		       : chosen == &ab_kvm_drv_reclaim ? (cfg->quick ? 8 : 20)
						       : (cfg->quick ? 8 : 40);
	ab_pin_enable(cfg->pin);
	ab_topo_init();
	pus = ab_topo_nr_pus();
	if (pus < 1)
		pus = 1;
	maxv = cfg->max_vcpus > 0 ? cfg->max_vcpus : pus;
	if (maxv > AB_VM_MAX_VCPUS)
		maxv = AB_VM_MAX_VCPUS;

	ab_add_context("driver", chosen->name);
	ab_add_context("driver_detail", chosen_msg);
	ab_add_context("kvm_modes", modes_s);
	if (missing[0])
		ab_add_context("kvm_modes_not_offered", missing);
	ab_add_context("kvm_kernel", patched ? "patched (kvm.mmu_age_mode)" : "native");
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

	static const char *const argn[] = {"mib", "vcpus"};
	static int64_t mibs_quick[] = {64, 128}, mibs_full[] = {256, 1024};
	int64_t *mibs = cfg->quick ? mibs_quick : mibs_full;
	int nmib = 2;

	/* knobs for the ctest runs (documented in docs/kvm-backend.md) */
	if (getenv("AGEBENCH_KVM_MIB") && atoi(getenv("AGEBENCH_KVM_MIB")) > 0) {
		mibs[0] = (atoi(getenv("AGEBENCH_KVM_MIB")) + 1) & ~1;
		nmib = 1;
	}
	if (getenv("AGEBENCH_KVM_CALLS") && atoi(getenv("AGEBENCH_KVM_CALLS")) > 0)
		params.calls = atoi(getenv("AGEBENCH_KVM_CALLS"));
	if (getenv("AGEBENCH_KVM_BASE_MS") && atoi(getenv("AGEBENCH_KVM_BASE_MS")) > 0)
		params.base_ms = atoi(getenv("AGEBENCH_KVM_BASE_MS"));

	for (int m = 0; m < nmodes; m++) {
		for (int b = 0; b < nback; b++) {
			struct kbench *kb = &benches[nb++];
			char name[128];
			ab_bench *bh;

			kb->drv = chosen;
			snprintf(kb->mode, sizeof(kb->mode), "%s", modes[m]);
			kb->backing = backings[b];
			kb->p = &params;
			snprintf(name, sizeof(name), "kvm/%s/%s", kb->mode,
				 backing_tag(kb->backing));
			bh = ab_register(name, kbench_fn, kb);
			ab_bench_arg_names(bh, argn, 2);
			for (int i = 0; i < nmib; i++) {
				/* vCPUs 1, 2, 4, ... and the PU count */
				for (int v = 1; v <= maxv;
				     v = v * 2 > maxv && v != maxv ? maxv : v * 2) {
					int64_t args[2] = {mibs[i], v};

					if (!cfg->quick || v == 1 || v == maxv)
						ab_bench_args(bh, args, 2);
				}
			}
			ab_bench_manual_time(bh);
			ab_bench_iterations(bh, params.calls);
			ab_bench_unit(bh, 'u');
			if (cfg->reps > 0)
				ab_bench_repetitions(bh, cfg->reps);
		}
	}
	/* the bar: populate at least as fast as the kernel's demand_paging_test */
	if (!getenv("AGEBENCH_KVM_NO_DPT"))
		dpt_compare(maxv, cfg->quick ? (32ull << 20) : (128ull << 20));
	return 0;
}
