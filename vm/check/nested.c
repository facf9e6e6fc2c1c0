// SPDX-License-Identifier: GPL-2.0
/*
 * nested.c - agevm-check nested [--pct P] [--mem SIZE] [--vcpus N]: a VM
 * whose guest runs its own guest (L3) over P% of its memory
 * (ab_vm_nested.h), so that KVM maps that part through its shadow MMU:
 * the memory where aging that looks at the TDP MMU alone is blind
 * (docs/nested.md).
 *
 * Always (any kernel with nested SVM for its guests): a write pass makes
 * the L3 touch exactly the nested pages (the guest's counters) and write
 * their marks (read back through the host mapping), a random read pass
 * reads them back (read sum); KVM's stats show shadow pages were created
 * (mmu_cache_miss > 0: the TDP MMU never counts there) and debugfs
 * mmu_rmaps_stat shows shadow mappings for at least the nested pages.
 *
 * With the agebench series (mmu_age_mode and the age_bench hook), per mode:
 * after a locked clear, the guest touches a set of pages, both levels; one
 * test-only hook call in the mode is judged page by page: it must never
 * report an untouched page young and must find every touched non-nested
 * (TDP MMU) page unless it declined; locked must find the nested ones too.
 * What the mode did with the nested pages (found them all: exact; none:
 * tdp_only; declined) is printed with its lock wait as a `nested-result`
 * line: the per-mode expectation table of docs/nested.md; the same test in
 * notifier calls of 1 and 64 pages gives `nested-batch` lines (calls,
 * declines, what was missed). A clear in the
 * mode follows, and a locked test shows what that clear left young. Then
 * each mode again for a second while the guest runs and nested memory is
 * dropped and refaulted (`nested-contended` lines: declines, mmu_lock wait).
 *
 * Skips (77) where KVM offers its guests no nested SVM, naming why.
 */
#define _GNU_SOURCE
#include "ab_vm_nested.h"
#include "check.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

struct split {
	uint64_t nested, direct;
};

/* Pages of @bm (n bits), split into nested and not. */
static struct split count_split(struct abvm *vm, const uint64_t *bm, uint64_t n)
{
	struct split s = {0, 0};

	for (uint64_t i = 0; i < n; i++)
		if (ab_vm_bit(bm, i)) {
			if (ab_vm_nested_page(vm, i))
				s.nested++;
			else
				s.direct++;
		}
	return s;
}

static void shadow_or_die(struct abvm *vm, struct ab_vm_shadow *s)
{
	char err[256];

	if (ab_vm_shadow_read(vm, s, err, sizeof(err))) {
		fail("%s", err);
		exit(AB_EXIT_FAIL);
	}
}

/* The L3 touched exactly its pages, and KVM's shadow MMU holds them. */
static void check_l3(struct abvm *vm)
{
	uint64_t n = ab_vm_npages(vm), nn = ab_vm_nested_npages(vm), bad = 0, sum = 0;
	const volatile uint64_t *mem = ab_vm_hva(vm);
	struct ab_vm_vcpu_stats st0, st1, st2;
	struct ab_vm_shadow sh0, sh1;
	struct ab_vm_work w;

	shadow_or_die(vm, &sh0);
	ab_vm_stats_total(vm, &st0);
	ab_vm_work_init(&w); /* one sequential write pass: population */
	run_or_die(vm, &w, "write pass (population)");
	ab_vm_stats_total(vm, &st1);
	shadow_or_die(vm, &sh1);
	info("  write pass: %" PRIu64 " accesses, %" PRIu64 " by the L3 in %" PRIu64
	     " L3 entries (nested pages: %" PRIu64 " of %" PRIu64 ")",
	     st1.accesses - st0.accesses, st1.l3_accesses - st0.l3_accesses,
	     st1.l3_runs - st0.l3_runs, nn, n);
	if (st1.l3_accesses - st0.l3_accesses != nn)
		fail("the L3 made %" PRIu64 " accesses in a pass, not one per nested page (%" PRIu64
		     ")",
		     st1.l3_accesses - st0.l3_accesses, nn);
	if (st1.accesses - st0.accesses != n)
		fail("a pass made %" PRIu64 " accesses in all, not one per page (%" PRIu64 ")",
		     st1.accesses - st0.accesses, n);
	if (st1.l3_runs - st0.l3_runs != (uint64_t)ab_vm_nr_vcpus(vm))
		fail("%" PRIu64 " L3 entries for one pass of %d vCPUs", st1.l3_runs - st0.l3_runs,
		     ab_vm_nr_vcpus(vm));
	for (uint64_t p = 0; p < n; p++) {
		uint64_t v = mem[p * (AB_VM_PAGE_SIZE / 8)];

		if (v != AB_VM_WRITE_MARK(p) && bad++ < 3)
			fail("page %" PRIu64 " (%s) holds 0x%" PRIx64 " after the write pass", p,
			     ab_vm_nested_page(vm, p) ? "nested" : "not nested", v);
		sum += AB_VM_WRITE_MARK(p);
	}
	info("  shadow MMU: mmu_cache_miss %" PRIu64 " -> %" PRIu64 ", mmu_shadow_zapped %" PRIu64
	     " -> %" PRIu64 ", frames with shadow mappings (4K) %" PRId64 " -> %" PRId64,
	     sh0.mmu_cache_miss, sh1.mmu_cache_miss, sh0.mmu_shadow_zapped, sh1.mmu_shadow_zapped,
	     sh0.rmap_gfns_4k, sh1.rmap_gfns_4k);
	if (sh1.mmu_cache_miss <= sh0.mmu_cache_miss)
		fail("mmu_cache_miss did not grow: KVM created no shadow pages for the L3");
	if (sh1.rmap_gfns_4k >= 0 && (uint64_t)sh1.rmap_gfns_4k < nn)
		fail("mmu_rmaps_stat: %" PRId64
		     " frames with shadow mappings, fewer than the %" PRIu64 " nested pages",
		     sh1.rmap_gfns_4k, nn);
	if (sh1.rmap_gfns_4k < 0)
		info("  (no debugfs mmu_rmaps_stat: frames not counted)");

	/* a random read pass reads back what both levels wrote */
	w.op = AB_VM_OP_READ;
	w.order = AB_VM_ORDER_RANDOM;
	w.seed = 7;
	run_or_die(vm, &w, "random read pass");
	ab_vm_stats_total(vm, &st2);
	if (st2.l3_accesses - st1.l3_accesses != nn)
		fail("random read pass: the L3 made %" PRIu64 " accesses, not %" PRIu64,
		     st2.l3_accesses - st1.l3_accesses, nn);
	if (st2.read_sum - st1.read_sum != sum)
		fail("random read pass: read sum 0x%" PRIx64 ", expected 0x%" PRIx64,
		     st2.read_sum - st1.read_sum, sum);
}

static const char *classify(uint64_t found_n, uint64_t touched_n)
{
	if (found_n == touched_n)
		return "exact";
	return found_n ? "partial" : "tdp_only";
}

/* One mode: locked clear, touch, test in the mode, clear in the mode. */
static void check_mode(struct abvm *vm, const char *m, uint64_t seed)
{
	uint64_t n = ab_vm_npages(vm), *set = bm_alloc(n), *young_not_set = bm_alloc(n);
	struct ab_vm_hook_result res = {.bitmap = bm_alloc(n), .words = (n + 63) / 64};
	struct split touched, found, left;
	struct tally t = {0};
	bool answered;
	const char *kind;

	hook(vm, "locked", true, &res, &t);
	make_set(set, n, seed, 8);
	touch_or_die(vm, set, AB_VM_OP_WRITE);
	touched = count_split(vm, set, n);
	answered = hook(vm, m, false, &res, &t);
	if (answered) {
		uint64_t extra = 0;

		for (uint64_t w = 0; w < (n + 63) / 64; w++) {
			young_not_set[w] = res.bitmap[w] & ~set[w];
			extra += (uint64_t)__builtin_popcountll(young_not_set[w]);
			res.bitmap[w] &= set[w];
		}
		if (extra)
			fail("mode %s: %" PRIu64 " untouched pages reported young", m, extra);
		found = count_split(vm, res.bitmap, n);
		if (found.direct != touched.direct)
			fail("mode %s: found %" PRIu64 " of the %" PRIu64
			     " touched pages that are not nested (the TDP MMU's)",
			     m, found.direct, touched.direct);
		kind = classify(found.nested, touched.nested);
		if (!strcmp(m, "locked") && found.nested != touched.nested)
			fail("mode locked: found %" PRIu64 " of the %" PRIu64
			     " touched nested pages (6.12's walk covers the shadow MMU)",
			     found.nested, touched.nested);
	} else {
		found.nested = found.direct = 0;
		kind = "declined";
	}
	printf("nested-result mode=%s pct=%u answer=%s touched_nested=%" PRIu64
	       " touched_direct=%" PRIu64 " young_nested=%" PRIu64 " young_direct=%" PRIu64
	       " false_old_nested=%" PRIu64 " false_old_direct=%" PRIu64 " declined=%d ns=%" PRIu64
	       " lock_wait_ns=%" PRIu64 "\n",
	       m, ab_vm_nested_pct(vm), kind, touched.nested, touched.direct, found.nested,
	       found.direct, touched.nested - found.nested, touched.direct - found.direct,
	       res.declined, res.ns, res.lock_wait_ns);
	/* the same test in notifier calls of 1 and 64 pages (a per-PTE caller,
	 * a look-around window): which calls decline, what they miss */
	for (int bi = 0; bi < 2; bi++) {
		uint64_t batch = bi ? 64 : 1, extra = 0;
		char err[512];
		struct split f;

		if (ab_vm_hook_call_batch(vm, m, ab_vm_gfn_base(vm), n, false, batch, &res, err,
					  sizeof(err))) {
			fail("mode %s batch %" PRIu64 ": %s", m, batch, err);
			continue;
		}
		for (uint64_t w = 0; w < (n + 63) / 64; w++) {
			extra += (uint64_t)__builtin_popcountll(res.bitmap[w] & ~set[w]);
			res.bitmap[w] &= set[w];
		}
		f = count_split(vm, res.bitmap, n);
		if (extra)
			fail("mode %s batch %" PRIu64 ": %" PRIu64
			     " untouched pages reported young",
			     m, batch, extra);
		if (!strcmp(m, "locked") &&
		    (f.nested != touched.nested || f.direct != touched.direct))
			fail("mode locked batch %" PRIu64 ": found %" PRIu64 "+%" PRIu64
			     " of %" PRIu64 "+%" PRIu64 " touched pages",
			     batch, f.nested, f.direct, touched.nested, touched.direct);
		if (mode_never_declines(m) && res.declines)
			fail("mode %s batch %" PRIu64 ": %" PRIu64 " calls declined", m, batch,
			     res.declines);
		printf("nested-batch mode=%s pct=%u batch=%" PRIu64 " calls=%" PRIu64
		       " declines=%" PRIu64 " young_nested=%" PRIu64 " young_direct=%" PRIu64
		       " false_old_nested=%" PRIu64 " false_old_direct=%" PRIu64 " ns=%" PRIu64
		       " lock_wait_ns=%" PRIu64 "\n",
		       m, ab_vm_nested_pct(vm), batch, res.calls, res.declines, f.nested, f.direct,
		       touched.nested - f.nested, touched.direct - f.direct, res.ns,
		       res.lock_wait_ns);
	}
	/* the clear in the mode, then what it left young (a locked test) */
	hook(vm, m, true, &res, &t);
	hook(vm, "locked", false, &res, &t);
	for (uint64_t w = 0; w < (n + 63) / 64; w++)
		res.bitmap[w] &= set[w];
	left = count_split(vm, res.bitmap, n);
	info("  %s: clear in the mode left %" PRIu64 " nested and %" PRIu64
	     " other touched pages young",
	     m, left.nested, left.direct);
	if (!strcmp(m, "locked") && (left.nested || left.direct))
		fail("mode locked: its clear left %" PRIu64 " pages young",
		     left.nested + left.direct);
	free(set);
	free(young_not_set);
	free(res.bitmap);
}

/*
 * The same mode for one second (more if the L3 has not run yet) while the guest runs (unbounded
 * random write passes, both levels; the first pass done before the window opens) and 2 MiB of the
 * nested memory is dropped every 100 ms (KVM invalidates its shadow SPTEs, the L3 refaults them
 * through the shadow MMU under mmu_lock for write): calls back to back in the mode, test and clear
 * alternating. Checked: the answers are well formed (hook()) and the L3 ran during the window.
 * Printed (`nested-contended`): calls, declines, how many calls waited for mmu_lock, the wait's sum
 * and max, and the guest's progress.
 */
static void contended(struct abvm *vm, const char *m, uint64_t seed)
{
	uint64_t n = ab_vm_npages(vm), first, nn, chunks, sum = 0, max = 0, ns = 0, waited = 0,
		 calls = 0, zaps = 0, t0, last_zap = 0;
	struct ab_vm_hook_result res = {.bitmap = bm_alloc(n), .words = (n + 63) / 64};
	struct ab_vm_vcpu_stats st0, st1;
	struct tally t = {0};
	struct ab_vm_work w;

	ab_vm_nested_range(vm, 0, &first, &nn);
	chunks = nn / 512 ? nn / 512 : 1;
	ab_vm_work_init(&w);
	w.order = AB_VM_ORDER_RANDOM;
	w.passes = 0;
	w.seed = seed;
	if (ab_vm_start(vm, &w)) {
		fail("contended %s: start: %s", m, ab_vm_last_error(vm));
		return;
	}
	wait_passes(vm, 1);
	ab_vm_stats_total(vm, &st0);
	t0 = ab_now_ns();
	/* one second, longer (up to 60 s) until the L3 made progress: on a slow
	 * kernel (the debug flavour) a pass may not reach the L3's slice in 1 s */
	for (uint64_t now = t0; now - t0 < 60 * NSEC; now = ab_now_ns()) {
		if (now - t0 >= NSEC) {
			ab_vm_stats_total(vm, &st1);
			if (st1.l3_accesses > st0.l3_accesses)
				break;
		}
		if (!zaps || now - last_zap >= NSEC / 10) {
			if (madvise((uint8_t *)ab_vm_hva(vm) +
					(first / 512 + ab_vm_mix64(seed + zaps) % chunks) *
					    AB_VM_HUGE_SIZE,
				    AB_VM_HUGE_SIZE, MADV_DONTNEED))
				fail("contended %s: madvise: %s", m, strerror(errno));
			zaps++;
			last_zap = now;
		}
		hook(vm, m, calls & 1, &res, &t);
		calls++;
		sum += res.lock_wait_ns;
		waited += res.lock_wait_ns > 0;
		max = res.lock_wait_ns > max ? res.lock_wait_ns : max;
		ns += res.ns;
	}
	ab_vm_stats_total(vm, &st1);
	if (ab_vm_stop(vm))
		fail("contended %s: the guest failed: %s", m, ab_vm_last_error(vm));
	printf("nested-contended mode=%s pct=%u seconds=%.1f calls=%" PRIu64 " declined=%" PRIu64
	       " waited=%" PRIu64 " lock_wait_ns_sum=%" PRIu64 " lock_wait_ns_max=%" PRIu64
	       " ns_sum=%" PRIu64 " zaps=%" PRIu64 " l3_accesses=%" PRIu64 " accesses=%" PRIu64
	       "\n",
	       m, ab_vm_nested_pct(vm), (double)(ab_now_ns() - t0) / 1e9, calls, t.declined, waited,
	       sum, max, ns, zaps, st1.l3_accesses - st0.l3_accesses, st1.accesses - st0.accesses);
	if (st1.l3_accesses == st0.l3_accesses)
		fail("contended %s: the L3 made no access in 60 s", m);
	free(res.bitmap);
}

int cmd_nested(struct opts *o)
{
	struct abvm *vm;
	char why[512], path[200], cur[32], what[64];
	int kind = ab_vm_nested_probe(NULL, why, sizeof(why));
	bool modes;

	if (kind < 0)
		skip("%s", why);
	if (kind != AB_VM_NESTED_SVM)
		skip("%s", why);
	if (!o->nested_pct)
		o->nested_pct = 50;
	modes = !stock && !ab_vm_age_mode_get(NULL, cur, sizeof(cur));
	if (modes)
		need_param();
	vm = make_vm_nested(o->mem, o->vcpus, o->nested_pct);
	info("nested --pct %u: %" PRIu64 " pages at gfn 0x%" PRIx64 ", %d vCPUs, %" PRIu64
	     " nested pages (the first %u%% of each vCPU's partition)",
	     o->nested_pct, ab_vm_npages(vm), ab_vm_gfn_base(vm), ab_vm_nr_vcpus(vm),
	     ab_vm_nested_npages(vm), o->nested_pct);
	check_l3(vm);
	if (modes && !ab_vm_hook_path(vm, path, sizeof(path))) {
		fail("%s: no such file although %s exists", path, AB_VM_AGE_MODE_PARAM);
	} else if (modes) {
		if (ab_vm_npages(vm) > AB_VM_HOOK_MAX_PAGES)
			usage("--mem: at most %d pages for the hook", AB_VM_HOOK_MAX_PAGES);
		for (int i = 0; i < ncheck_modes; i++)
			check_mode(vm, check_modes[i], o->seed + (uint64_t)i);
		for (int i = 0; i < ncheck_modes; i++)
			contended(vm, check_modes[i], o->seed + 100 + (uint64_t)i);
	} else {
		info("  (no %s: the per-mode part needs the agebench series)",
		     AB_VM_AGE_MODE_PARAM);
	}
	ab_vm_destroy(vm);
	snprintf(what, sizeof(what), "nested %u%%", o->nested_pct);
	return finish(what);
}
