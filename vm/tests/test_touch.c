// SPDX-License-Identifier: GPL-2.0
/*
 * touch [--backing B] [--file-dir D] [--vcpus N] [--cpl0]: the host sees
 * exactly the pages the guest was told to touch: KVM dirty log, memory
 * contents, guest counters, and page_idle / the age_bench hook where they
 * exist.
 */
#define _GNU_SOURCE
#include "vm_test.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct touch {
	struct ab_vm_config cfg;
	struct abvm *vm;
	uint64_t n;
	uint64_t *set;	   /* the pages of the current step */
	uint64_t *written; /* every page written so far */
	struct ab_vm_vcpu_stats st;
};

static void parse_args(int argc, char **argv, struct ab_vm_config *cfg)
{
	ab_vm_config_init(cfg);
	cfg->mem_bytes = 64ull << 20;
	cfg->dirty_log = true;
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--backing") && i + 1 < argc) {
			int b = ab_vm_backing_parse(argv[++i]);

			if (b < 0)
				ab_die(2, "unknown backing %s", argv[i]);
			cfg->backing = (enum ab_vm_backing)b;
		} else if (!strcmp(argv[i], "--file-dir") && i + 1 < argc) {
			cfg->file_dir = argv[++i];
		} else if (!strcmp(argv[i], "--cpl0")) {
			cfg->cpl0 = true;
		} else if (!strcmp(argv[i], "--vcpus") && i + 1 < argc) {
			cfg->nr_vcpus = atoi(argv[++i]);
		} else {
			ab_die(2, "touch: unknown argument %s", argv[i]);
		}
	}
}

static void add_written(struct touch *t)
{
	for (uint64_t i = 0; i < (t->n + 63) / 64; i++)
		t->written[i] |= t->set[i];
}

/* Touch t->set with @op (by @vcpu, or all vCPUs if < 0): the guest counted
 * exactly its pages. */
static void touch_counted(struct touch *t, int vcpu, enum ab_vm_op op, const char *what)
{
	uint64_t acc0 = t->st.accesses;

	if (vcpu < 0)
		CHECK(ab_vm_touch(t->vm, t->set, op) == 0, "%s: ab_vm_touch", what);
	else
		CHECK(ab_vm_vcpu_touch(t->vm, vcpu, t->set, op) == 0, "%s: ab_vm_vcpu_touch", what);
	vt_wait_ok(t->vm);
	ab_vm_stats_total(t->vm, &t->st);
	CHECK(t->st.accesses - acc0 == ab_vm_popcount(t->set, t->n),
	      "%s: guest counted %" PRIu64 " accesses, set has %" PRIu64, what,
	      t->st.accesses - acc0, ab_vm_popcount(t->set, t->n));
}

/* 1: a random ~1/8 set plus both edges and partition boundaries, all vCPUs */
static void step_write_all_vcpus(struct touch *t)
{
	vt_bm_random(t->set, t->n, 8);
	ab_vm_set_bit(t->set, 0);
	ab_vm_set_bit(t->set, t->n - 1);
	for (int v = 0; v < t->cfg.nr_vcpus; v++) {
		uint64_t f, c;

		ab_vm_vcpu_range(t->vm, v, &f, &c);
		ab_vm_set_bit(t->set, f);
		ab_vm_set_bit(t->set, f + c - 1);
	}
	touch_counted(t, -1, AB_VM_OP_WRITE, "write touch (all vCPUs)");
	vt_expect_dirty(t->vm, t->set, "write touch (all vCPUs)");
	add_written(t);
	vt_expect_marks(t->vm, t->written, "write touch");
}

/* 2: a page list with a duplicate (touched once), all vCPUs */
static void step_write_list(struct touch *t)
{
	uint64_t *list = malloc(t->n * 8 + 8), cnt = 0, acc0 = t->st.accesses;

	if (!list)
		ab_die(1, "out of memory");
	vt_bm_clear(t->set, t->n);
	for (uint64_t i = 0; i < t->n; i++)
		if (vt_rnd() % 5 == 0) {
			ab_vm_set_bit(t->set, i);
			list[cnt++] = i;
		}
	list[cnt++] = list[0];
	CHECK(ab_vm_touch_list(t->vm, list, cnt, AB_VM_OP_WRITE) == 0, "ab_vm_touch_list");
	vt_wait_ok(t->vm);
	ab_vm_stats_total(t->vm, &t->st);
	CHECK(t->st.accesses - acc0 == ab_vm_popcount(t->set, t->n),
	      "list touch: %" PRIu64 " accesses, want %" PRIu64, t->st.accesses - acc0,
	      ab_vm_popcount(t->set, t->n));
	vt_expect_dirty(t->vm, t->set, "write touch (page list)");
	add_written(t);
	free(list);
}

/* 3: the last vCPU alone, over the whole region */
static void step_write_one_vcpu(struct touch *t)
{
	vt_bm_random(t->set, t->n, 3);
	touch_counted(t, t->cfg.nr_vcpus - 1, AB_VM_OP_WRITE, "vcpu touch");
	vt_expect_dirty(t->vm, t->set, "write touch (one vCPU, whole region)");
	add_written(t);
	vt_expect_marks(t->vm, t->written, "after three write touches");
}

/* 4: read touch: the guest read exactly those pages (read_sum), and the
 * dirty log is a subset of the read set. KVM may map a page writable on a
 * read fault when the host page is writable (THP, file) and log it. */
static void step_read(struct touch *t)
{
	uint64_t expect_sum = 0, sum0 = t->st.read_sum, *got = vt_bm_alloc(t->n), outside = 0;

	vt_bm_random(t->set, t->n, 4);
	for (uint64_t i = 0; i < t->n; i++)
		if (ab_vm_bit(t->set, i) && ab_vm_bit(t->written, i))
			expect_sum += AB_VM_WRITE_MARK(i);
	touch_counted(t, -1, AB_VM_OP_READ, "read touch");
	CHECK(t->st.read_sum - sum0 == expect_sum,
	      "read touch: guest read sum 0x%" PRIx64 ", expected 0x%" PRIx64,
	      t->st.read_sum - sum0, expect_sum);
	CHECK(ab_vm_get_dirty_log(t->vm, got) == 0, "KVM_GET_DIRTY_LOG");
	for (uint64_t i = 0; i < t->n; i++)
		if (ab_vm_bit(got, i) && !ab_vm_bit(t->set, i))
			outside++;
	CHECK(outside == 0, "read touch: %" PRIu64 " dirty pages outside the read set", outside);
	printf("  read touch: guest read sum exact, %" PRIu64 " of %" PRIu64
	       " read pages logged dirty (read faults mapped writable), none outside\n",
	       ab_vm_popcount(got, t->n), ab_vm_popcount(t->set, t->n));
	free(got);
}

/* 5: a full write pass: every page dirty once; THP backing has huge pages */
static uint64_t thp_kb(const void *hva)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512];
	uint64_t kb = 0;
	bool in = false;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		unsigned long long v;

		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 &&
		    strchr(line, '-') < strchr(line, ' '))
			in = (uintptr_t)hva >= lo && (uintptr_t)hva < hi;
		else if (in && sscanf(line, "AnonHugePages: %llu kB", &v) == 1)
			kb += v;
	}
	fclose(f);
	return kb;
}

static void step_full_pass(struct touch *t)
{
	struct ab_vm_work w;

	for (uint64_t i = 0; i < t->n; i++)
		ab_vm_set_bit(t->set, i);
	ab_vm_work_init(&w);
	CHECK(ab_vm_start_wait(t->vm, &w) == 0, "write pass: %s", ab_vm_last_error(t->vm));
	vt_expect_dirty(t->vm, t->set, "full write pass");
	vt_expect_marks(t->vm, t->set, "full write pass");
	if (t->cfg.backing == AB_VM_BACKING_THP) {
		uint64_t kb = thp_kb(ab_vm_hva(t->vm));

		printf("  THP: AnonHugePages %" PRIu64 " kB of %" PRIu64 " kB\n", kb,
		       t->cfg.mem_bytes >> 10);
		CHECK(kb > 0, "THP backing has no huge pages after a full write pass");
	}
}

/* 6a: where page_idle exists: mark all idle, touch @set, read back exactly @set */
static void page_idle_check(struct abvm *vm, const uint64_t *set)
{
	uint64_t n = ab_vm_npages(vm), *pfns, *young, *unknown, first = UINT64_MAX, d = 0, nunk;
	char err[256];
	int fd = open(AB_VM_PAGE_IDLE_PATH, O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		printf("  page_idle: %s: %s: that part not run here\n", AB_VM_PAGE_IDLE_PATH,
		       strerror(errno));
		return;
	}
	if (ab_vm_backing(vm) == AB_VM_BACKING_THP) {
		printf("  page_idle: THP backing tracks whole 2 MiB folios: that part not run\n");
		close(fd);
		return;
	}
	pfns = calloc(n + 1, 8);
	if (!pfns)
		ab_die(1, "out of memory");
	young = vt_bm_alloc(n);
	unknown = vt_bm_alloc(n);
	ab_vm_lru_drain_all(); /* pages still in per-CPU LRU batches read as young */
	CHECK(ab_vm_pagemap_pfns(ab_vm_hva(vm), n, pfns, err, sizeof(err)) == 0, "%s", err);
	CHECK(ab_vm_idle_mark(fd, pfns, n) == 0, "page_idle mark failed");
	CHECK(ab_vm_touch(vm, set, AB_VM_OP_READ) == 0, "touch");
	vt_wait_ok(vm);
	CHECK(ab_vm_idle_read(fd, pfns, n, young, unknown) == 0, "page_idle read failed: %s",
	      strerror(errno));
	nunk = ab_vm_popcount(unknown, n);
	for (uint64_t i = 0; i < n; i++)
		if (!ab_vm_bit(unknown, i) && ab_vm_bit(young, i) != ab_vm_bit(set, i) && !d++)
			first = i;
	CHECK(d == 0,
	      "page_idle: young set differs from the touched set in %" PRIu64
	      " pages (first %" PRIu64 ": young=%d touched=%d)",
	      d, first, first < n ? ab_vm_bit(young, first) : -1,
	      first < n ? ab_vm_bit(set, first) : -1);
	CHECK(nunk < n / 100, "page_idle could not read back %" PRIu64 " pages", nunk);
	if (!d)
		printf("  page_idle: young == touched (%" PRIu64 " pages; %" PRIu64
		       " in the unreadable last chunk below max_pfn)\n",
		       ab_vm_popcount(set, n), nunk);
	free(pfns);
	free(young);
	free(unknown);
	close(fd);
}

/* 6b: where the hook exists: locked clear, touch @set, locked test == @set */
static void hook_check(struct abvm *vm, const uint64_t *set)
{
	uint64_t n = ab_vm_npages(vm), first, d;
	struct ab_vm_hook_result res = {.words = (n + 63) / 64};
	char path[160], err[256];

	if (!ab_vm_hook_path(vm, path, sizeof(path))) {
		printf("  hook: %s absent: that part not run here\n", path);
		return;
	}
	if (n > AB_VM_HOOK_MAX_PAGES)
		return;
	res.bitmap = vt_bm_alloc(n);
	CHECK(!ab_vm_hook_call(vm, "locked", ab_vm_gfn_base(vm), n, true, &res, err, sizeof(err)),
	      "%s", err);
	CHECK(ab_vm_touch(vm, set, AB_VM_OP_READ) == 0, "touch");
	vt_wait_ok(vm);
	CHECK(!ab_vm_hook_call(vm, "locked", ab_vm_gfn_base(vm), n, false, &res, err, sizeof(err)),
	      "%s", err);
	d = vt_bm_diff(res.bitmap, set, n, &first);
	CHECK(d == 0, "hook: young differs from touched in %" PRIu64 " pages (first %" PRIu64 ")",
	      d, first);
	if (!d)
		printf("  hook (locked): young == touched (%" PRIu64 " pages)\n",
		       ab_vm_popcount(set, n));
	free(res.bitmap);
}

int test_touch(int argc, char **argv)
{
	struct touch t = {0};

	parse_args(argc, argv, &t.cfg);
	t.vm = vt_create(&t.cfg);
	t.n = ab_vm_npages(t.vm);
	printf("touch: backing %s, %" PRIu64 " pages, %d vCPUs, gfn base 0x%" PRIx64
	       ", guest ring %d\n",
	       ab_vm_backing_name(t.cfg.backing), t.n, t.cfg.nr_vcpus, ab_vm_gfn_base(t.vm),
	       t.cfg.cpl0 ? 0 : 3);
	t.set = vt_bm_alloc(t.n);
	t.written = vt_bm_alloc(t.n);

	vt_expect_dirty(t.vm, t.set, "after create"); /* nothing touched yet */
	step_write_all_vcpus(&t);
	step_write_list(&t);
	step_write_one_vcpu(&t);
	step_read(&t);
	step_full_pass(&t);
	vt_bm_random(t.set, t.n, 7); /* aging interfaces, where this kernel has them */
	page_idle_check(t.vm, t.set);
	hook_check(t.vm, t.set);

	ab_vm_stats_total(t.vm, &t.st);
	CHECK(t.st.exits_other == 0, "%" PRIu64 " unexpected exits", t.st.exits_other);
	ab_vm_destroy(t.vm);
	free(t.set);
	free(t.written);
	return ab_check_failures ? 1 : 0;
}
