// SPDX-License-Identifier: GPL-2.0
/*
 * nested-errors RUN: nested mode's input and capability errors, and the
 *   mmu_rmaps_stat parser (needs no KVM): --nested outside 0..100 -> 2; on
 *   a KVM that offers its guests no nested SVM, --nested -> 2 with a message
 *   naming the nested fraction and why (the probe's reason); where it does,
 *   the same run succeeds and reports the L3's accesses.
 * nested: a nested VM (SKIP where KVM offers no nested SVM): the nested
 *   pages are the first pct% of each vCPU's partition; a write pass has the
 *   L3 write exactly those (guest counters, marks in host memory), a touch
 *   and a hot/cold pass exactly the set ones, an unbounded run stops; KVM
 *   created shadow pages (mmu_cache_miss).
 */
#include "ab_vm_nested.h"
#include "vm_test.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void parse_cases(void)
{
	int64_t a, b;
	const char *ok = "Rmap_Count:\t0\t1\t2-3\t4-7\t\n"
			 "Level=4K:\t100\t7\t2\t1\t\n"
			 "Level=2M:\t50\t0\t0\t3\t\n"
			 "Level=1G:\t4\t0\t0\t0\t\n";

	CHECK(ab_vm_rmaps_stat_parse(ok, &a, &b) == 0, "a valid table");
	CHECK(a == 10, "got %lld frames at 4K", (long long)a);
	CHECK(b == 3, "got %lld frames at 2M", (long long)b);
	CHECK(ab_vm_rmaps_stat_parse("", &a, &b) == 0,
	      "empty text: no rmaps"); /* a VM without rmaps */
	CHECK(a == 0 && b == 0, "empty text counts nothing");
	CHECK(ab_vm_rmaps_stat_parse("Level=4K:\t1\tx\n", &a, &b) == -1, "a bad number");
	CHECK(ab_vm_rmaps_stat_parse("Rmap_Count:\t0\t1\nLevel=9K:\t1\t2\n", &a, &b) == -1,
	      "an unknown level");
	CHECK(ab_vm_rmaps_stat_parse("Level=4K:\t1\t2\n", &a, &b) == -1,
	      "no header line"); /* no header */
	CHECK(ab_vm_rmaps_stat_parse("Rmap_Count:\t0\t1\nLevel=4K:\t5\n", &a, &b) == -1,
	      "a level with one column");
}

int test_nested_errors(int argc, char **argv)
{
	char why[512], msg[600];
	int kind;

	(void)argc;
	parse_cases();
	{
		char *a[] = {argv[0], "--nested", "101", "--mem", "8M", NULL};

		vt_expect_run("nested 101", a, NULL, false, 2, "--nested: '101' not in 0..100");
	}
	{
		char *a[] = {argv[0], "--nested", "50", "--mem", "8M", NULL};

		vt_expect_run("nested without KVM", a, "AB_VM_KVM_DEV=/nonexistent/kvm", false, 77,
			      "/nonexistent/kvm: No such file or directory");
	}
	kind = ab_vm_nested_probe(NULL, why, sizeof(why));
	TEST_REQUIRE(kind >= 0, "no usable KVM for the capability case: %s", why);
	printf("  nested probe: %s%s%s\n", ab_vm_nested_kind_name(kind), why[0] ? ": " : "", why);
	{
		char *a[] = {argv[0], "--nested", "50", "--mem", "8M", "--passes", "1", NULL};

		if (kind == AB_VM_NESTED_SVM) {
			vt_expect_run("nested where KVM offers SVM", a, NULL, false, 0,
				      "nested: 50%");
		} else {
			/* the reason, as the probe gives it, up to its first ':' */
			snprintf(msg, sizeof(msg), "nested 50%%: %.*s", (int)strcspn(why, ":("),
				 why);
			vt_expect_run("nested where KVM offers none", a, NULL, false, 2, msg);
		}
	}
	return ab_check_failures ? 1 : 0;
}

/* The L3's accesses of the last command, against @want. */
static void expect_l3(struct abvm *vm, uint64_t *l3_before, uint64_t want, const char *what)
{
	struct ab_vm_vcpu_stats st;

	ab_vm_stats_total(vm, &st);
	CHECK(st.l3_accesses - *l3_before == want,
	      "%s: the L3 made %" PRIu64 " accesses, want %" PRIu64, what,
	      st.l3_accesses - *l3_before, want);
	*l3_before = st.l3_accesses;
}

int test_nested(int argc, char **argv)
{
	struct ab_vm_config cfg;
	struct ab_vm_work w;
	struct ab_vm_shadow sh0, sh1;
	struct ab_vm_vcpu_stats st;
	struct abvm *vm;
	uint64_t n, nn = 0, l3 = 0, *all, *set, want;
	char why[512], err[256];
	int kind = ab_vm_nested_probe(NULL, why, sizeof(why));

	(void)argc, (void)argv;
	TEST_REQUIRE(kind == AB_VM_NESTED_SVM, "KVM here offers no nested SVM: %s", why);
	ab_vm_config_init(&cfg);
	cfg.mem_bytes = 16ull << 20;
	cfg.nr_vcpus = 2;
	cfg.nested_pct = 25;
	vm = vt_create(&cfg);
	n = ab_vm_npages(vm);
	for (int v = 0; v < 2; v++) {
		uint64_t first, cnt, nf, nc;

		ab_vm_vcpu_range(vm, v, &first, &cnt);
		ab_vm_nested_range(vm, v, &nf, &nc);
		CHECK(nf == first && nc == cnt / 4, "vCPU %d: nested range %" PRIu64 "+%" PRIu64 "",
		      v, nf, nc);
		for (uint64_t p = first; p < first + cnt; p++)
			CHECK(ab_vm_nested_page(vm, p) == (p < first + cnt / 4), "page %" PRIu64 "",
			      p);
		nn += nc;
	}
	CHECK(ab_vm_nested_npages(vm) == nn, "%" PRIu64 " nested pages", ab_vm_nested_npages(vm));
	CHECK(!ab_vm_shadow_read(vm, &sh0, err, sizeof(err)), "%s", err);

	all = vt_bm_alloc(n);
	for (uint64_t p = 0; p < n; p++)
		ab_vm_set_bit(all, p);
	ab_vm_work_init(&w);
	CHECK(ab_vm_start_wait(vm, &w) == 0, "write pass: %s", ab_vm_last_error(vm));
	expect_l3(vm, &l3, nn, "write pass");
	vt_expect_marks(vm, all, "after a nested write pass");
	CHECK(!ab_vm_shadow_read(vm, &sh1, err, sizeof(err)), "%s", err);
	CHECK(sh1.mmu_cache_miss > sh0.mmu_cache_miss, "no shadow pages created (%" PRIu64 ")",
	      sh1.mmu_cache_miss);
	printf("  shadow: mmu_cache_miss %" PRIu64 " -> %" PRIu64 ", 4K frames %" PRId64
	       " -> %" PRId64 "\n",
	       sh0.mmu_cache_miss, sh1.mmu_cache_miss, sh0.rmap_gfns_4k, sh1.rmap_gfns_4k);

	set = vt_bm_alloc(n);
	vt_bm_random(set, n, 5);
	want = 0;
	for (uint64_t p = 0; p < n; p++)
		want += ab_vm_bit(set, p) && ab_vm_nested_page(vm, p);
	CHECK(ab_vm_touch(vm, set, AB_VM_OP_READ) == 0, "touch");
	vt_wait_ok(vm);
	expect_l3(vm, &l3, want, "touch");

	w.order = AB_VM_ORDER_HOTCOLD;
	w.seed = 3;
	w.hot_pct = 30;
	w.passes = 2;
	want = 0;
	for (uint64_t p = 0; p < n; p++)
		want += ab_vm_nested_page(vm, p) && ab_vm_page_is_hot(3, p, 30);
	CHECK(ab_vm_start_wait(vm, &w) == 0, "hot/cold passes: %s", ab_vm_last_error(vm));
	expect_l3(vm, &l3, 2 * want, "hot/cold passes");

	w.order = AB_VM_ORDER_RANDOM;
	w.passes = 0;
	CHECK(ab_vm_start(vm, &w) == 0, "unbounded random run");
	CHECK(vt_wait_passes(vm, 3, 1, 60, &st), "3 passes within 60 s");
	CHECK(ab_vm_stop(vm) == 0, "stop");
	ab_vm_stats_total(vm, &st);
	CHECK(st.l3_runs >= 2 * 3, "%" PRIu64 " L3 entries", st.l3_runs);
	CHECK(st.exits_other == 0, "%" PRIu64 " other exits", st.exits_other);
	ab_vm_destroy(vm);
	free(all);
	free(set);
	return ab_check_failures ? 1 : 0;
}
