// SPDX-License-Identifier: GPL-2.0
/*
 * orders: the guest's access orders. The permutation is one; random passes
 * touch every page once per pass; hot/cold touches exactly the hot set;
 * read passes dirty nothing and read the right sum; an unbounded run stops
 * on request and the VM stays usable; exits_io == 1 + commands + passes.
 */
#include "vm_test.h"

#include <stdlib.h>

/* The permutation is a permutation, for awkward sizes too, and not sequential. */
static void check_permutations(void)
{
	static const uint64_t sizes[] = {1, 2, 3, 5, 64, 100, 4095, 4096, 4097, 65536 + 17};

	for (unsigned s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		uint64_t m = sizes[s], *seen = vt_bm_alloc(m), dup = 0, inorder = 0, prev = 0;
		struct ab_vm_perm pm;

		ab_vm_perm_init(&pm, m, 42 + s);
		for (uint64_t i = 0; i < m; i++) {
			uint64_t x = ab_vm_perm_next(&pm);

			if (x >= m || ab_vm_bit(seen, x))
				dup++;
			else
				ab_vm_set_bit(seen, x);
			if (i && x == prev + 1)
				inorder++;
			prev = x;
		}
		CHECK(dup == 0, "perm(%" PRIu64 "): %" PRIu64 " repeats/out of range", m, dup);
		CHECK(m < 100 || inorder < m / 10,
		      "perm(%" PRIu64 ") looks sequential (%" PRIu64 " steps +1)", m, inorder);
		free(seen);
	}
}

/* Run @w and return the stats delta it caused in *@d (totals in *@st). */
static void run_delta(struct abvm *vm, const struct ab_vm_work *w, const char *what,
		      struct ab_vm_vcpu_stats *st, struct ab_vm_vcpu_stats *d)
{
	struct ab_vm_vcpu_stats st0 = *st;

	CHECK(ab_vm_start_wait(vm, w) == 0, "%s: %s", what, ab_vm_last_error(vm));
	ab_vm_stats_total(vm, st);
	d->accesses = st->accesses - st0.accesses;
	d->passes = st->passes - st0.passes;
	d->read_sum = st->read_sum - st0.read_sum;
}

static void check_random(struct abvm *vm, const uint64_t *all, struct ab_vm_vcpu_stats *st)
{
	uint64_t n = ab_vm_npages(vm);
	struct ab_vm_vcpu_stats d;
	struct ab_vm_work w;

	ab_vm_work_init(&w);
	w.order = AB_VM_ORDER_RANDOM;
	w.seed = 7;
	w.passes = 3;
	run_delta(vm, &w, "random", st, &d);
	CHECK(d.accesses == 3 * n, "random: %" PRIu64 " accesses, want %" PRIu64, d.accesses,
	      3 * n);
	CHECK(d.passes == 3 * 2, "random: %" PRIu64 " passes counted, want 6", d.passes);
	vt_expect_dirty(vm, all, "random order write");
}

static void check_hotcold(struct abvm *vm, struct ab_vm_vcpu_stats *st)
{
	uint64_t n = ab_vm_npages(vm), hot = 0, *hotset = vt_bm_alloc(n);
	struct ab_vm_vcpu_stats d;
	struct ab_vm_work w;

	for (uint64_t i = 0; i < n; i++)
		if (ab_vm_page_is_hot(99, i, 20)) {
			ab_vm_set_bit(hotset, i);
			hot++;
		}
	CHECK(hot > n / 10 && hot < n * 3 / 10, "hot set %" PRIu64 " of %" PRIu64 " pages for 20%%",
	      hot, n);
	/* cold never: exactly the hot set, every pass */
	ab_vm_work_init(&w);
	w.order = AB_VM_ORDER_HOTCOLD;
	w.seed = 99;
	w.hot_pct = 20;
	w.cold_every = 0;
	w.passes = 4;
	run_delta(vm, &w, "hotcold", st, &d);
	CHECK(d.accesses == 4 * hot, "hotcold: %" PRIu64 " accesses, want %" PRIu64, d.accesses,
	      4 * hot);
	vt_expect_dirty(vm, hotset, "hot/cold (cold never)");
	/* cold every 2nd pass: passes 0 and 2 touch all, 1 hot only */
	w.cold_every = 2;
	w.passes = 3;
	run_delta(vm, &w, "hotcold cold_every=2", st, &d);
	CHECK(d.accesses == 2 * n + hot,
	      "hotcold cold_every=2: %" PRIu64 " accesses, want %" PRIu64, d.accesses, 2 * n + hot);
	free(hotset);
}

/* read passes: no dirty pages; sum = all marks twice */
static void check_read(struct abvm *vm, const uint64_t *all, struct ab_vm_vcpu_stats *st)
{
	uint64_t n = ab_vm_npages(vm), sum = 0, *none = vt_bm_alloc(n);
	struct ab_vm_vcpu_stats d;
	struct ab_vm_work w;

	vt_expect_dirty(vm, all, "(clearing the log)");
	ab_vm_work_init(&w);
	w.op = AB_VM_OP_READ;
	w.passes = 2;
	run_delta(vm, &w, "read", st, &d);
	for (uint64_t i = 0; i < n; i++)
		sum += 2 * AB_VM_WRITE_MARK(i);
	CHECK(d.read_sum == sum, "read passes: sum mismatch");
	vt_expect_dirty(vm, none, "read passes");
	free(none);
}

/* until stopped: runs, stops on request, stays usable */
static void check_unbounded(struct abvm *vm, int nr_vcpus, struct ab_vm_vcpu_stats *st)
{
	struct ab_vm_vcpu_stats st0 = *st;
	struct ab_vm_work w;
	uint64_t t0 = ab_now_ns();
	bool passed;

	ab_vm_work_init(&w);
	w.passes = 0;
	w.order = AB_VM_ORDER_RANDOM;
	CHECK(ab_vm_start(vm, &w) == 0, "start unbounded");
	CHECK(ab_vm_start(vm, &w) == AB_VM_EBUSY, "second start must be EBUSY");
	/* until every vCPU finished a pass (slow under TCG) */
	passed = vt_wait_passes(vm, st0.passes + (uint64_t)nr_vcpus, 20, 30, st);
	CHECK(ab_vm_stop(vm) == 0, "stop: %s", ab_vm_last_error(vm));
	CHECK(passed, "unbounded run made no full pass per vCPU in 30 s");
	ab_vm_stats_total(vm, st);
	printf("  unbounded: %" PRIu64 " passes, %" PRIu64 " accesses in %.0f ms, then stopped\n",
	       st->passes - st0.passes, st->accesses - st0.accesses, (ab_now_ns() - t0) / 1e6);
	/* sync points: 1 DONE at startup + 1 per command + 1 per pass */
	CHECK(st->exits_io == st->passes + st->commands + (uint64_t)nr_vcpus,
	      "exits_io %" PRIu64 " != passes %" PRIu64 " + commands %" PRIu64 " + %d",
	      st->exits_io, st->passes, st->commands, nr_vcpus);
	CHECK(st->exits_other == 0, "unexpected exits");
	ab_vm_work_init(&w);
	CHECK(ab_vm_start_wait(vm, &w) == 0, "run after stop: %s", ab_vm_last_error(vm));
}

int test_orders(int argc, char **argv)
{
	struct ab_vm_config cfg;
	struct ab_vm_vcpu_stats st;
	struct abvm *vm;
	uint64_t n, *all;

	check_permutations();
	ab_vm_config_init(&cfg);
	cfg.mem_bytes = 16ull << 20;
	cfg.dirty_log = true;
	cfg.nr_vcpus = 2;
	vm = vt_create(&cfg);
	n = ab_vm_npages(vm);
	all = vt_bm_alloc(n);
	for (uint64_t i = 0; i < n; i++)
		ab_vm_set_bit(all, i);
	ab_vm_stats_total(vm, &st);

	check_random(vm, all, &st);
	check_hotcold(vm, &st);
	check_read(vm, all, &st);
	check_unbounded(vm, cfg.nr_vcpus, &st);
	ab_vm_destroy(vm);
	free(all);
	return ab_check_failures ? 1 : 0;
}
