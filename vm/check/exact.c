// SPDX-License-Identifier: GPL-2.0
/* exact.c - agevm-check exact --driver hook|page_idle --mode M: the
 * answers are exactly the touched pages (see docs/vm.md). */
#define _GNU_SOURCE
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

static int exact_hook(struct abvm *vm, const struct opts *o)
{
	uint64_t n = ab_vm_npages(vm), gfn0 = ab_vm_gfn_base(vm), *set = bm_alloc(n),
		 *none = bm_alloc(n);
	struct ab_vm_hook_result res = {.bitmap = bm_alloc(n), .words = (n + 63) / 64};
	struct ab_vm_hook_result res2 = {.bitmap = bm_alloc(n), .words = (n + 63) / 64};
	struct ab_vm_kstats *ks;
	struct kst s0, s1;
	struct tally t = {0};
	char path[200];
	const char *m = o->mode;

	if (!ab_vm_hook_path(vm, path, sizeof(path)))
		skip("%s: no such file (kernel without the age_bench debugfs hook, or debugfs not "
		     "mounted)",
		     path);
	if (n > AB_VM_HOOK_MAX_PAGES)
		usage("--mem: at most %d pages for the hook", AB_VM_HOOK_MAX_PAGES);
	ks = open_stats(vm);
	populate(vm);
	read_stats(ks, &s0);

	/* setup: a locked clear (cannot decline) so that nothing is young */
	hook(vm, "locked", true, &res, &t);
	if (hook(vm, m, false, &res, &t))
		judge("after clear, before any touch", m, res.bitmap, none, n, gfn0, false, &t);

	for (int round = 0; round < o->rounds; round++) {
		enum ab_vm_op op = round % 2 ? AB_VM_OP_WRITE : AB_VM_OP_READ;
		char what[96];
		bool ok1, ok2;

		make_set(set, n, o->seed + (uint64_t)round, 8);
		touch_or_die(vm, set, op);
		snprintf(what, sizeof(what), "round %d (%s touch of %" PRIu64 " pages): test",
			 round, op == AB_VM_OP_READ ? "read" : "write", ab_vm_popcount(set, n));
		ok1 = hook(vm, m, false, &res, &t);
		if (ok1)
			judge(what, m, res.bitmap, set, n, gfn0, false, &t);
		/* test-only must not clear: a second test sees the same */
		ok2 = hook(vm, m, false, &res2, &t);
		if (ok1 && ok2 && memcmp(res.bitmap, res2.bitmap, (n + 63) / 64 * 8))
			fail("round %d (%s): a second test-only call answers differently: test "
			     "cleared young bits",
			     round, m);
		/* clear: reports the young pages, then nothing is young */
		snprintf(what, sizeof(what), "round %d: clear", round);
		if (hook(vm, m, true, &res, &t)) {
			judge(what, m, res.bitmap, set, n, gfn0, false, &t);
			snprintf(what, sizeof(what), "round %d: test after clear", round);
			if (hook(vm, m, false, &res, &t))
				judge(what, m, res.bitmap, none, n, gfn0, false, &t);
		} else {
			/* declined clear: clear for real so the next round starts clean */
			hook(vm, "locked", true, &res, &t);
		}
	}
	read_stats(ks, &s1);
	print_stats_delta(&s0, &s1);
	info("  hook calls %" PRIu64 ", declined %" PRIu64 ", missed pages %" PRIu64, t.calls,
	     t.declined, t.missed);
	if (ks && s1.v[0] - s0.v[0] < t.calls)
		fail("age_calls grew by %" PRIu64 ", fewer than the %" PRIu64 " hook calls made",
		     s1.v[0] - s0.v[0], t.calls);
	if (ks && s1.v[1] <= s0.v[1])
		fail("age_pages_scanned did not grow");
	if (ks && s1.v[2] - s0.v[2] < t.young)
		fail("age_pages_young grew by %" PRIu64 ", fewer than the %" PRIu64
		     " young pages reported",
		     s1.v[2] - s0.v[2], t.young);
	if (ks && s1.v[3] - s0.v[3] < t.declined)
		fail("age_fast_declines grew by %" PRIu64 ", fewer than the %" PRIu64
		     " declined calls",
		     s1.v[3] - s0.v[3], t.declined);
	ab_vm_kstats_close(ks);
	free(set);
	free(none);
	free(res.bitmap);
	free(res2.bitmap);
	return 0;
}

static int exact_page_idle(struct abvm *vm, const struct opts *o)
{
	uint64_t n = ab_vm_npages(vm), gfn0 = ab_vm_gfn_base(vm), *set = bm_alloc(n),
		 *none = bm_alloc(n);
	uint64_t *young = bm_alloc(n), *unknown = bm_alloc(n), *pfns = calloc(n, 8), missing = 0;
	struct ab_vm_kstats *ks;
	struct kst s0, s1, a, b;
	struct tally t = {0};
	char err[256];
	int fd, r;
	bool traced;

	fd = open(AB_VM_PAGE_IDLE_PATH, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		skip("%s: %s (kernel without CONFIG_IDLE_PAGE_TRACKING)", AB_VM_PAGE_IDLE_PATH,
		     strerror(errno));
	ks = open_stats(vm);
	populate(vm);
	ab_vm_lru_drain_all();
	if (ab_vm_pagemap_pfns(ab_vm_hva(vm), n, pfns, err, sizeof(err))) {
		fail("%s", err);
		return 1;
	}
	for (uint64_t i = 0; i < n; i++)
		missing += !pfns[i];
	if (missing) {
		fail("%" PRIu64 " guest pages not present after populating them", missing);
		return 1;
	}
	traced = trace_begin();
	read_stats(ks, &s0);
	for (int round = 0; round < o->rounds; round++) {
		enum ab_vm_op op = round % 2 ? AB_VM_OP_WRITE : AB_VM_OP_READ;
		char what[96];

		make_set(set, n, o->seed + (uint64_t)round, 8);
		r = ab_vm_idle_mark(fd, pfns, n);
		if (r) {
			fail("marking pages idle: %s", strerror(-r));
			return 1;
		}
		touch_or_die(vm, set, op);
		read_stats(ks, &a);
		r = ab_vm_idle_read(fd, pfns, n, young, unknown);
		read_stats(ks, &b);
		if (r) {
			fail("reading %s: %s", AB_VM_PAGE_IDLE_PATH, strerror(-r));
			return 1;
		}
		t.calls++;
		snprintf(what, sizeof(what), "round %d (%s touch of %" PRIu64 " pages)", round,
			 op == AB_VM_OP_READ ? "read" : "write", ab_vm_popcount(set, n));
		if (!round && ab_vm_popcount(unknown, n))
			info("  %" PRIu64 " pages sit in the last, partial 64-PFN chunk below "
			     "max_pfn, which page_idle "
			     "cannot read back: not judged",
			     ab_vm_popcount(unknown, n));
		if (ab_vm_popcount(unknown, n) > n / 100)
			fail("page_idle could not read back %" PRIu64 " pages",
			     ab_vm_popcount(unknown, n));
		judge_masked(what, o->mode, young, set, unknown, n, gfn0, b.v[3] > a.v[3], &t);
		/* clearing works: the read cleared young bits; mark idle and read
		 * again without touching: nothing young */
		r = ab_vm_idle_mark(fd, pfns, n);
		if (!r)
			r = ab_vm_idle_read(fd, pfns, n, young, unknown);
		if (r) {
			fail("page_idle: %s", strerror(-r));
			return 1;
		}
		snprintf(what, sizeof(what), "round %d: after clearing, untouched", round);
		judge_masked(what, o->mode, young, none, unknown, n, gfn0, true, &t);
	}
	read_stats(ks, &s1);
	if (traced && !trace_end(o->mode))
		fail("tracepoint kvm:kvm_age_walk recorded no walk for page_idle's aging");
	print_stats_delta(&s0, &s1);
	info("  page_idle reads %" PRIu64 ", missed pages %" PRIu64 " (declines %" PRIu64 ")",
	     2 * t.calls, t.missed, s1.v[3] - s0.v[3]);
	if (ks && s1.v[0] <= s0.v[0])
		fail("age_calls did not grow: page_idle's clear_young never reached KVM's aging");
	if (ks && s1.v[1] <= s0.v[1])
		fail("age_pages_scanned did not grow");
	info("  (test-only does not apply to page_idle: its read is test-and-clear)");
	ab_vm_kstats_close(ks);
	close(fd);
	free(set);
	free(none);
	free(young);
	free(unknown);
	free(pfns);
	return 0;
}

int cmd_exact(struct opts *o)
{
	struct abvm *vm;
	char what[64];

	if (!o->driver)
		usage("exact: --driver hook|page_idle is required");
	if (stock && !o->mode)
		o->mode = "locked"; /* what an unpatched 6.12 does */
	if (!o->mode)
		usage("exact: --mode is required");
	need_param();
	if (!strcmp(o->driver, "page_idle") && access(AB_VM_PAGE_IDLE_PATH, F_OK))
		skip("%s: %s (kernel without CONFIG_IDLE_PAGE_TRACKING)", AB_VM_PAGE_IDLE_PATH,
		     strerror(errno));
	if (!strcmp(o->driver, "hook") && access("/sys/kernel/debug/kvm", F_OK))
		skip("/sys/kernel/debug/kvm: %s (debugfs not mounted, or no KVM)", strerror(errno));
	set_mode_or_die(o->mode);
	vm = make_vm(o->mem, 1);
	info("exact --driver %s --mode %s: %" PRIu64 " pages at gfn 0x%" PRIx64 ", %d rounds",
	     o->driver, o->mode, ab_vm_npages(vm), ab_vm_gfn_base(vm), o->rounds);
	if (!strcmp(o->driver, "hook"))
		exact_hook(vm, o);
	else
		exact_page_idle(vm, o);
	ab_vm_destroy(vm);
	snprintf(what, sizeof(what), "exact %s %s", o->driver, o->mode);
	return finish(what);
}
