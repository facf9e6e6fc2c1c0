// SPDX-License-Identifier: GPL-2.0
/* stress.c - agevm-check stress: every aging path and KVM invalidation
 * source at once, then the VM must still answer exactly. */
#define _GNU_SOURCE
#include "ab_vm_nested.h"
#include "check.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- stress ---- */

struct stress {
	struct abvm *vm;
	_Atomic bool stop;
	bool hook_on, idle_on, param_on;
	_Atomic uint64_t age_calls, checked_calls, zaps, slot_ops, vm_cycles, switches;
	_Atomic uint64_t nested_cycles, nested_l3_accesses;
	bool nested_on; /* KVM offers the VMs nested SVM: a nested VM churns too */
	/*
	 * age_bench keeps one result per VM, so a write+read pair is only
	 * consistent if no other write comes in between: plain walks (write
	 * only, run concurrently) take this lock shared, checked calls
	 * (write + read + validate) take it exclusively.
	 */
	pthread_rwlock_t hook_lock;
};

struct ager {
	struct stress *s;
	int mode;
};

static void *stress_ager(void *arg)
{
	struct ager *a = arg;
	struct stress *s = a->s;
	uint64_t n = ab_vm_npages(s->vm), seed = (uint64_t)a->mode * 77 + 1;
	struct ab_vm_hook_result res = {.bitmap = bm_alloc(AB_VM_HOOK_MAX_PAGES),
					.words = AB_VM_HOOK_MAX_PAGES / 64};
	char err[512];

	while (!atomic_load(&s->stop)) {
		uint64_t start = ab_vm_mix64(seed++) % n,
			 len = 1 + ab_vm_mix64(seed++) % (n - start);
		bool clear = ab_vm_mix64(seed++) & 1;
		const char *m = check_modes[a->mode];

		int r;

		if (seed % 8 == 1) {
			/* checked: the answer must be well formed and answer this call
			 * (ab_vm_hook_call: strict parse + echo check) */
			pthread_rwlock_wrlock(&s->hook_lock);
			r = ab_vm_hook_call(s->vm, m, ab_vm_gfn_base(s->vm) + start, len, clear,
					    &res, err, sizeof(err));
			pthread_rwlock_unlock(&s->hook_lock);
			atomic_fetch_add(&s->checked_calls, 1);
		} else {
			/* plain walk, concurrent with the other modes' walks */
			pthread_rwlock_rdlock(&s->hook_lock);
			r = ab_vm_hook_walk(s->vm, m, ab_vm_gfn_base(s->vm) + start, len, clear,
					    err, sizeof(err));
			pthread_rwlock_unlock(&s->hook_lock);
		}
		if (r) {
			fail("stress hook (%s %" PRIu64 "+%" PRIu64 " %s): %s", m, start, len,
			     clear ? "clear" : "test", err);
			break;
		}
		atomic_fetch_add(&s->age_calls, 1);
	}
	free(res.bitmap);
	return NULL;
}

static void *stress_idle(void *arg)
{
	struct stress *s = arg;
	uint64_t n = ab_vm_npages(s->vm), *pfns = calloc(n, 8), *young = bm_alloc(n);
	char err[256];
	int fd = open(AB_VM_PAGE_IDLE_PATH, O_RDWR | O_CLOEXEC);

	while (fd >= 0 && pfns && !atomic_load(&s->stop)) {
		/* pages come and go (zapper): only PFNs present right now */
		if (ab_vm_pagemap_pfns(ab_vm_hva(s->vm), n, pfns, err, sizeof(err)))
			break;
		ab_vm_idle_mark(fd, pfns, n);
		ab_vm_idle_read(fd, pfns, n, young, NULL);
		atomic_fetch_add(&s->age_calls, 1);
	}
	if (fd >= 0)
		close(fd);
	free(pfns);
	free(young);
	return NULL;
}

static void *stress_zapper(void *arg)
{
	struct stress *s = arg;
	uint8_t *h = ab_vm_hva(s->vm);
	uint64_t chunks = ab_vm_mem_bytes(s->vm) / AB_VM_HUGE_SIZE, seed = 5;

	while (!atomic_load(&s->stop)) {
		uint64_t c = ab_vm_mix64(seed++) % chunks;

		/* drop 2 MiB of guest memory: KVM invalidation, then vCPU refaults */
		if (madvise(h + c * AB_VM_HUGE_SIZE, AB_VM_HUGE_SIZE, MADV_DONTNEED))
			fail("madvise(MADV_DONTNEED): %s", strerror(errno));
		atomic_fetch_add(&s->zaps, 1);
		usleep(2000);
	}
	return NULL;
}

static void *stress_slots(void *arg)
{
	struct stress *s = arg;
	char err[256];

	while (!atomic_load(&s->stop)) {
		int slot = ab_vm_slot_add(s->vm, 1ull << 20, err, sizeof(err));

		if (slot < 0) {
			fail("memslot add: %s", err);
			break;
		}
		if (ab_vm_slot_del(s->vm, slot)) {
			fail("memslot delete of slot %d failed", slot);
			break;
		}
		atomic_fetch_add(&s->slot_ops, 2);
	}
	return NULL;
}

static void *stress_vms(void *arg)
{
	struct stress *s = arg;
	struct ab_vm_hook_result res = {.bitmap = bm_alloc(2048), .words = 2048 / 64};

	while (!atomic_load(&s->stop)) {
		struct ab_vm_config cfg;
		struct abvm *vm;
		struct ab_vm_work w;
		char err[512];

		ab_vm_config_init(&cfg);
		cfg.mem_bytes = 8ull << 20;
		if (ab_vm_create(&cfg, &vm, err, sizeof(err))) {
			fail("VM churn: create: %s", err);
			break;
		}
		ab_vm_work_init(&w);
		if (ab_vm_start_wait(vm, &w))
			fail("VM churn: run: %s", ab_vm_last_error(vm));
		if (s->hook_on && ncheck_modes) {
			const char *m =
			    check_modes[atomic_load(&s->vm_cycles) % (uint64_t)ncheck_modes];

			if (ab_vm_hook_call(vm, m, ab_vm_gfn_base(vm), 2048, true, &res, err,
					    sizeof(err)))
				fail("VM churn: hook: %s", err);
		}
		ab_vm_destroy(vm);
		atomic_fetch_add(&s->vm_cycles, 1);
	}
	free(res.bitmap);
	return NULL;
}

/*
 * A nested VM (ab_vm_nested.h: an L3 writes half its memory in random
 * order, which this kernel's KVM maps through its shadow MMU) aged by
 * checked hook calls in every mode, with 2 MiB zaps of its memory (shadow
 * invalidations, L3 refaults), created and destroyed in a loop.
 */
static void *stress_nested(void *arg)
{
	struct stress *s = arg;
	uint64_t seed = 99, n = 4096;
	struct ab_vm_hook_result res = {.bitmap = bm_alloc(n), .words = n / 64};

	while (!atomic_load(&s->stop)) {
		struct ab_vm_config cfg;
		struct ab_vm_vcpu_stats st;
		struct abvm *vm;
		struct ab_vm_work w;
		char err[512];

		ab_vm_config_init(&cfg);
		cfg.mem_bytes = n * AB_VM_PAGE_SIZE;
		cfg.nested_pct = 50;
		if (ab_vm_create(&cfg, &vm, err, sizeof(err))) {
			fail("nested VM: create: %s", err);
			break;
		}
		ab_vm_work_init(&w); /* one full pass first: both levels ran */
		if (ab_vm_start_wait(vm, &w))
			fail("nested VM: first pass: %s", ab_vm_last_error(vm));
		w.order = AB_VM_ORDER_RANDOM;
		w.passes = 0;
		if (ab_vm_start(vm, &w))
			fail("nested VM: start: %s", ab_vm_last_error(vm));
		for (int i = 0; i < 64 && !atomic_load(&s->stop) && !atomic_load(&nfail); i++) {
			bool clear = ab_vm_mix64(seed++) & 1;

			if (s->hook_on && ncheck_modes) {
				const char *m =
				    check_modes[ab_vm_mix64(seed++) % (uint64_t)ncheck_modes];

				if (ab_vm_hook_call(vm, m, ab_vm_gfn_base(vm), n, clear, &res, err,
						    sizeof(err)))
					fail("nested VM: hook: %s", err);
				atomic_fetch_add(&s->age_calls, 1);
			}
			if (i % 8 == 7 &&
			    madvise((uint8_t *)ab_vm_hva(vm) +
					ab_vm_mix64(seed++) % (n / 512) * AB_VM_HUGE_SIZE,
				    AB_VM_HUGE_SIZE, MADV_DONTNEED))
				fail("nested VM: madvise: %s", strerror(errno));
			usleep(2000);
		}
		if (ab_vm_stop(vm))
			fail("nested VM: %s", ab_vm_last_error(vm));
		ab_vm_stats_total(vm, &st);
		atomic_fetch_add(&s->nested_l3_accesses, st.l3_accesses);
		ab_vm_destroy(vm);
		atomic_fetch_add(&s->nested_cycles, 1);
	}
	free(res.bitmap);
	return NULL;
}

static void *stress_switch(void *arg)
{
	struct stress *s = arg;

	while (!atomic_load(&s->stop)) {
		uint64_t k = atomic_fetch_add(&s->switches, 1);
		int r;

		r = ab_vm_age_mode_set(NULL, check_modes[k % (uint64_t)ncheck_modes]);

		if (r)
			fail("mode switch: %s", strerror(-r));
		usleep(1000);
	}
	return NULL;
}

/* What ages the VM here, and the line saying so (which --without left out). */
static void choose_stressors(struct stress *s, const struct opts *o)
{
	char path[200], off[64] = "";

	s->hook_on = ab_vm_hook_path(s->vm, path, sizeof(path)) && !(stress_off & 1u << ST_HOOK);
	s->idle_on = access(AB_VM_PAGE_IDLE_PATH, F_OK) == 0 && !(stress_off & 1u << ST_IDLE);
	if (s->param_on && (stress_off & 1u << ST_SWITCH))
		s->param_on = false; /* no mode switches (the mode stays as it is) */
	if (!(stress_off & 1u << ST_NESTED)) {
		char why[400];

		s->nested_on = ab_vm_nested_probe(NULL, why, sizeof(why)) == AB_VM_NESTED_SVM;
		if (!s->nested_on)
			info("  (no nested VM: %s)", why);
	}
	if (!s->hook_on && !s->idle_on && !o->no_aging_ok)
		skip("nothing ages the VM: %s and %s are absent or left out (--without)", path,
		     AB_VM_PAGE_IDLE_PATH);
	for (int si = 0; si < ST_NR; si++)
		if (stress_off & 1u << si)
			snprintf(off + strlen(off), sizeof(off) - strlen(off), "%s%s",
				 off[0] ? "," : "; left out: ", stressor_names[si]);
	info("stress: %" PRIu64 " s, %" PRIu64
	     " MiB, %d vCPUs%s; aging via%s%s%s; mode switches %s%s",
	     o->seconds, o->mem >> 20, o->vcpus, s->nested_on ? ", a nested VM" : "",
	     s->hook_on ? " hook (all modes)" : "", s->idle_on ? " page_idle" : "",
	     !s->hook_on && !s->idle_on ? " nothing (--no-aging-ok)" : "",
	     s->param_on ? "on" : "off", off);
}

/* Start the stressor threads into @th; returns how many. */
static int start_stressors(struct stress *s, struct ager ag[AB_MODE_NR], pthread_t *th)
{
	int nth = 0;

	if (s->hook_on)
		for (int m = 0; m < ncheck_modes; m++) {
			ag[m] = (struct ager){s, m};
			pthread_create(&th[nth++], NULL, stress_ager, &ag[m]);
		}
	if (s->idle_on)
		pthread_create(&th[nth++], NULL, stress_idle, s);
	if (s->param_on)
		pthread_create(&th[nth++], NULL, stress_switch, s);
	if (!(stress_off & 1u << ST_ZAPPER))
		pthread_create(&th[nth++], NULL, stress_zapper, s);
	if (!(stress_off & 1u << ST_SLOTS))
		pthread_create(&th[nth++], NULL, stress_slots, s);
	if (!(stress_off & 1u << ST_VMS))
		pthread_create(&th[nth++], NULL, stress_vms, s);
	if (s->nested_on)
		pthread_create(&th[nth++], NULL, stress_nested, s);
	return nth;
}

/* Afterwards the VM still answers exactly (locked clear, touch, locked test). */
static void check_still_exact(struct abvm *vm)
{
	uint64_t n = ab_vm_npages(vm), *set = bm_alloc(n);
	struct ab_vm_hook_result res = {.bitmap = bm_alloc(n), .words = (n + 63) / 64};
	struct tally t = {0};

	populate(vm); /* refault what the zapper dropped */
	hook(vm, "locked", true, &res, &t);
	make_set(set, n, 4242, 8);
	touch_or_die(vm, set, AB_VM_OP_READ);
	if (hook(vm, "locked", false, &res, &t))
		judge("after stress", "locked", res.bitmap, set, n, ab_vm_gfn_base(vm), false, &t);
	free(set);
	free(res.bitmap);
}

int cmd_stress(struct opts *o)
{
	struct stress s = {0};
	struct ager ag[AB_MODE_NR];
	pthread_t th[16];
	int nth;
	struct ab_vm_work w;
	struct ab_vm_vcpu_stats v0, v1;
	char mode[32];

	pthread_rwlock_init(&s.hook_lock, NULL);
	if (!o->seconds)
		usage("stress: --seconds N is required");
	s.param_on = ab_vm_age_mode_get(NULL, mode, sizeof(mode)) == 0;
	if (s.param_on)
		need_param();
	else if (!o->no_aging_ok && !stock) /* --stock: plain 6.12, page_idle ages */
		skip("%s: %s: kernel without the agebench aging patches", AB_VM_AGE_MODE_PARAM,
		     strerror(ENOENT));
	s.vm = make_vm(o->mem, o->vcpus);
	choose_stressors(&s, o);
	populate(s.vm);
	ab_vm_work_init(&w);
	w.passes = 0;
	w.order = AB_VM_ORDER_RANDOM;
	if (ab_vm_start(s.vm, &w)) {
		fail("starting vCPUs: %s", ab_vm_last_error(s.vm));
		return AB_EXIT_FAIL;
	}
	ab_vm_stats_total(s.vm, &v0);
	nth = start_stressors(&s, ag, th);
	for (uint64_t t = 0; t < o->seconds * 10 && !atomic_load(&nfail); t++)
		usleep(100 * 1000);
	atomic_store(&s.stop, true);
	for (int i = 0; i < nth; i++)
		pthread_join(th[i], NULL);
	if (ab_vm_stop(s.vm))
		fail("vCPUs failed under stress: %s", ab_vm_last_error(s.vm));
	ab_vm_stats_total(s.vm, &v1);
	info("  vCPU accesses %" PRIu64 " passes %" PRIu64 "; aging calls %" PRIu64 " (%" PRIu64
	     " checked), 2M zaps %" PRIu64 ", memslot ops %" PRIu64 ", VM create/destroy %" PRIu64
	     ", mode switches %" PRIu64,
	     v1.accesses - v0.accesses, v1.passes - v0.passes, atomic_load(&s.age_calls),
	     atomic_load(&s.checked_calls), atomic_load(&s.zaps), atomic_load(&s.slot_ops),
	     atomic_load(&s.vm_cycles), s.param_on ? atomic_load(&s.switches) : 0);
	if (s.nested_on)
		info("  nested VM create/run/destroy %" PRIu64 ", L3 accesses %" PRIu64,
		     atomic_load(&s.nested_cycles), atomic_load(&s.nested_l3_accesses));
	if (s.nested_on && !atomic_load(&nfail) && !atomic_load(&s.nested_l3_accesses))
		fail("the nested VMs' L3s made no access");
	if (v1.passes <= v0.passes)
		fail("vCPUs completed no pass under stress");
	if (!atomic_load(&nfail) && ((!(stress_off & 1u << ST_VMS) && !atomic_load(&s.vm_cycles)) ||
				     (!(stress_off & 1u << ST_SLOTS) && !atomic_load(&s.slot_ops))))
		fail("VM churn or memslot churn made no progress");
	if (s.hook_on && !atomic_load(&nfail))
		check_still_exact(s.vm);
	ab_vm_destroy(s.vm);
	return finish("stress");
}
