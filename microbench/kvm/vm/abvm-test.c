// SPDX-License-Identifier: GPL-2.0
/*
 * abvm-test - ctest driver for libabvm (label kvm). Subcommands:
 *   touch --backing B [--file-dir D] [--vcpus N]
 *                      the host sees exactly the pages the guest was told to
 *                      touch: KVM dirty log, memory contents, guest counters,
 *                      and page_idle / the age_bench hook where they exist
 *   orders             seq / random / hot-cold / read passes, stop, exits
 *   latency            first-touch latency recording
 *   slots              memslot add/delete while vCPUs run
 *   errors RUN DIR     error paths of abvm-run (message + exit code)
 *   teardown RUN DIR   no leaked mapping/file after a run and after SIGINT
 *   checkskip CHECK    agevm-check skips (77 + reason) or passes, never lies
 * Exit: 0 pass, 1 fail, 77 skip (reason printed), 2 usage.
 */
#define _GNU_SOURCE
#include "ab_vm.h"
#include "ab_vm_age.h"
#include "ab_vm_guest.h"
#include "ab_vm_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ab_common.h"
#include "ab_check.h"

static uint64_t rng_state = 0x1234567;
static uint64_t rnd(void)
{
	rng_state += 0x9e3779b97f4a7c15ull;
	return ab_vm_mix64(rng_state);
}

static struct abvm *create_or_skip(struct ab_vm_config *cfg)
{
	struct abvm *vm;
	char err[512];
	int r = ab_vm_create(cfg, &vm, err, sizeof(err));

	if (r) {
		printf("%s\n", err);
		if (ab_vm_exit_code(r) == AB_EXIT_SKIP)
			exit(AB_EXIT_SKIP);
		fprintf(stderr, "FAIL ab_vm_create: %s (%s)\n", err, ab_vm_strerr(r));
		exit(AB_EXIT_FAIL);
	}
	return vm;
}

static uint64_t *bm_alloc(uint64_t n)
{
	uint64_t *b = calloc((n + 63) / 64 + 1, 8);

	if (!b)
		ab_die(1, "out of memory");
	return b;
}

static uint64_t bm_diff(const uint64_t *a, const uint64_t *b, uint64_t n, uint64_t *first)
{
	uint64_t d = 0, i;

	*first = UINT64_MAX;
	for (i = 0; i < n; i++)
		if (ab_vm_bit(a, i) != ab_vm_bit(b, i)) {
			if (!d)
				*first = i;
			d++;
		}
	return d;
}

static void expect_dirty(struct abvm *vm, const uint64_t *want, const char *what)
{
	uint64_t n = ab_vm_npages(vm), *got = bm_alloc(n), first, d;

	CHECK(ab_vm_get_dirty_log(vm, got) == 0, "KVM_GET_DIRTY_LOG failed");
	d = bm_diff(got, want, n, &first);
	CHECK(d == 0,
	      "%s: dirty log differs from the expected set in %" PRIu64
	      " pages (first: page %" PRIu64 ", dirty=%d expected=%d)",
	      what, d, first, first < n ? ab_vm_bit(got, first) : -1,
	      first < n ? ab_vm_bit(want, first) : -1);
	if (!d)
		printf("  %s: dirty log == expected set (%" PRIu64 " pages)\n", what,
		       ab_vm_popcount(want, n));
	free(got);
}

static void wait_ok(struct abvm *vm)
{
	int r = ab_vm_wait(vm, 60ull * 1000000000ull);

	if (r) {
		fprintf(stderr, "FAIL wait: %s (%s)\n", ab_vm_strerr(r), ab_vm_last_error(vm));
		exit(AB_EXIT_FAIL);
	}
}

/* Memory contents: page p holds AB_VM_WRITE_MARK(p) iff written. */
static void expect_marks(struct abvm *vm, const uint64_t *written, const char *what)
{
	uint64_t n = ab_vm_npages(vm), i, bad = 0, firstbad = 0;
	const uint8_t *h = ab_vm_hva(vm);

	for (i = 0; i < n; i++) {
		uint64_t v = *(const volatile uint64_t *)(h + i * 4096);
		uint64_t want = ab_vm_bit(written, i) ? AB_VM_WRITE_MARK(i) : 0;

		if (v != want && !bad++)
			firstbad = i;
	}
	CHECK(bad == 0, "%s: %" PRIu64 " pages with wrong contents (first %" PRIu64 ")", what, bad,
	      firstbad);
}

/* Where page_idle exists: mark all idle, touch @set, read back exactly @set. */
static void page_idle_check(struct abvm *vm, const uint64_t *set)
{
	uint64_t n = ab_vm_npages(vm), *pfns, *young, *unknown, first, d = 0, nunk;
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
	pfns = calloc(n, 8);
	young = bm_alloc(n);
	unknown = bm_alloc(n);
	ab_vm_lru_drain_all(); /* pages still in per-CPU LRU batches read as young */
	CHECK(ab_vm_pagemap_pfns(ab_vm_hva(vm), n, pfns, err, sizeof(err)) == 0, "%s", err);
	CHECK(ab_vm_idle_mark(fd, pfns, n) == 0, "page_idle mark failed");
	CHECK(ab_vm_touch(vm, set, AB_VM_OP_READ) == 0, "touch");
	wait_ok(vm);
	CHECK(ab_vm_idle_read(fd, pfns, n, young, unknown) == 0, "page_idle read failed: %s",
	      strerror(errno));
	nunk = ab_vm_popcount(unknown, n);
	first = UINT64_MAX;
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

/* Where the hook exists: locked clear, touch @set, locked test == @set. */
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
	res.bitmap = bm_alloc(n);
	CHECK(ab_vm_hook_call(vm, "locked", ab_vm_gfn_base(vm), n, true, &res, err, sizeof(err)) ==
		  0,
	      "%s", err);
	CHECK(ab_vm_touch(vm, set, AB_VM_OP_READ) == 0, "touch");
	wait_ok(vm);
	CHECK(ab_vm_hook_call(vm, "locked", ab_vm_gfn_base(vm), n, false, &res, err, sizeof(err)) ==
		  0,
	      "%s", err);
	d = bm_diff(res.bitmap, set, n, &first);
	CHECK(d == 0, "hook: young differs from touched in %" PRIu64 " pages (first %" PRIu64 ")",
	      d, first);
	if (!d)
		printf("  hook (locked): young == touched (%" PRIu64 " pages)\n",
		       ab_vm_popcount(set, n));
	free(res.bitmap);
}

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

static int cmd_touch(int argc, char **argv)
{
	struct ab_vm_config cfg;
	struct abvm *vm;
	struct ab_vm_vcpu_stats st;
	uint64_t n, *set, *written, *none, expect_sum = 0, acc0, i;
	int b;

	ab_vm_config_init(&cfg);
	cfg.mem_bytes = 64ull << 20;
	cfg.dirty_log = true;
	for (int i2 = 0; i2 < argc; i2++) {
		if (!strcmp(argv[i2], "--backing") && i2 + 1 < argc) {
			b = ab_vm_backing_parse(argv[++i2]);
			if (b < 0)
				ab_die(2, "unknown backing %s", argv[i2]);
			cfg.backing = (enum ab_vm_backing)b;
		} else if (!strcmp(argv[i2], "--file-dir") && i2 + 1 < argc) {
			cfg.file_dir = argv[++i2];
		} else if (!strcmp(argv[i2], "--cpl0")) {
			cfg.cpl0 = true;
		} else if (!strcmp(argv[i2], "--vcpus") && i2 + 1 < argc) {
			cfg.nr_vcpus = atoi(argv[++i2]);
		} else {
			ab_die(2, "touch: unknown argument %s", argv[i2]);
		}
	}
	vm = create_or_skip(&cfg);
	n = ab_vm_npages(vm);
	printf("touch: backing %s, %" PRIu64 " pages, %d vCPUs, gfn base 0x%" PRIx64
	       ", guest ring %d\n",
	       ab_vm_backing_name(cfg.backing), n, cfg.nr_vcpus, ab_vm_gfn_base(vm),
	       cfg.cpl0 ? 0 : 3);
	set = bm_alloc(n);
	written = bm_alloc(n);
	none = bm_alloc(n);

	/* nothing touched yet: empty dirty log */
	expect_dirty(vm, none, "after create");

	/* 1: a random ~1/8 set plus both edges and partition boundaries, all vCPUs */
	for (i = 0; i < n; i++)
		if (rnd() % 8 == 0)
			ab_vm_set_bit(set, i);
	ab_vm_set_bit(set, 0);
	ab_vm_set_bit(set, n - 1);
	for (int v = 0; v < cfg.nr_vcpus; v++) {
		uint64_t f, c;

		ab_vm_vcpu_range(vm, v, &f, &c);
		ab_vm_set_bit(set, f);
		ab_vm_set_bit(set, f + c - 1);
	}
	CHECK(ab_vm_touch(vm, set, AB_VM_OP_WRITE) == 0, "ab_vm_touch");
	wait_ok(vm);
	ab_vm_stats_total(vm, &st);
	CHECK(st.accesses == ab_vm_popcount(set, n),
	      "guest counted %" PRIu64 " accesses, set has %" PRIu64, st.accesses,
	      ab_vm_popcount(set, n));
	expect_dirty(vm, set, "write touch (all vCPUs)");
	for (i = 0; i < (n + 63) / 64; i++)
		written[i] |= set[i];
	expect_marks(vm, written, "write touch");

	/* 2: another set, by the last vCPU alone, from a page list */
	{
		uint64_t *list = malloc(n * 8), cnt = 0;

		memset(set, 0, (n + 63) / 64 * 8);
		for (i = 0; i < n; i++)
			if (rnd() % 5 == 0) {
				ab_vm_set_bit(set, i);
				list[cnt++] = i;
			}
		list[cnt++] = list[0]; /* a duplicate: touched once */
		acc0 = st.accesses;
		CHECK(ab_vm_touch_list(vm, list, cnt, AB_VM_OP_WRITE) == 0, "ab_vm_touch_list");
		wait_ok(vm);
		ab_vm_stats_total(vm, &st);
		CHECK(st.accesses - acc0 == ab_vm_popcount(set, n),
		      "list touch: %" PRIu64 " accesses, want %" PRIu64, st.accesses - acc0,
		      ab_vm_popcount(set, n));
		expect_dirty(vm, set, "write touch (page list)");
		for (i = 0; i < (n + 63) / 64; i++)
			written[i] |= set[i];
		free(list);
		memset(set, 0, (n + 63) / 64 * 8);
		for (i = 0; i < n; i++)
			if (rnd() % 3 == 0)
				ab_vm_set_bit(set, i);
		acc0 = st.accesses;
		CHECK(ab_vm_vcpu_touch(vm, cfg.nr_vcpus - 1, set, AB_VM_OP_WRITE) == 0,
		      "ab_vm_vcpu_touch");
		wait_ok(vm);
		ab_vm_stats_total(vm, &st);
		CHECK(st.accesses - acc0 == ab_vm_popcount(set, n),
		      "vcpu touch: %" PRIu64 " accesses", st.accesses - acc0);
		expect_dirty(vm, set, "write touch (one vCPU, whole region)");
		for (i = 0; i < (n + 63) / 64; i++)
			written[i] |= set[i];
		expect_marks(vm, written, "after three write touches");
	}

	/* 3: read touch: no dirty pages, and the guest read exactly those pages */
	memset(set, 0, (n + 63) / 64 * 8);
	for (i = 0; i < n; i++)
		if (rnd() % 4 == 0) {
			ab_vm_set_bit(set, i);
			if (ab_vm_bit(written, i))
				expect_sum += AB_VM_WRITE_MARK(i);
		}
	{
		uint64_t sum0 = st.read_sum;

		acc0 = st.accesses;
		CHECK(ab_vm_touch(vm, set, AB_VM_OP_READ) == 0, "read touch");
		wait_ok(vm);
		ab_vm_stats_total(vm, &st);
		CHECK(st.read_sum - sum0 == expect_sum,
		      "read touch: guest read sum 0x%" PRIx64 ", expected 0x%" PRIx64,
		      st.read_sum - sum0, expect_sum);
		CHECK(st.accesses - acc0 == ab_vm_popcount(set, n), "read touch accesses");
		/* KVM may map a page writable on a read fault when the host
		 * page is writable (THP, file) and then logs it dirty: the log
		 * of a read touch is only a subset of the read set */
		{
			uint64_t *got = bm_alloc(n), outside = 0;

			CHECK(ab_vm_get_dirty_log(vm, got) == 0, "KVM_GET_DIRTY_LOG");
			for (i = 0; i < n; i++)
				if (ab_vm_bit(got, i) && !ab_vm_bit(set, i))
					outside++;
			CHECK(outside == 0,
			      "read touch: %" PRIu64 " dirty pages outside the read set", outside);
			printf("  read touch: guest read sum exact, %" PRIu64 " of %" PRIu64
			       " read pages logged dirty (read faults mapped writable), none "
			       "outside\n",
			       ab_vm_popcount(got, n), ab_vm_popcount(set, n));
			free(got);
		}
	}

	/* 4: a full write pass: every page dirty once */
	{
		struct ab_vm_work w;
		uint64_t *all = bm_alloc(n);

		for (i = 0; i < n; i++)
			ab_vm_set_bit(all, i);
		ab_vm_work_init(&w);
		CHECK(ab_vm_run(vm, &w) == 0, "write pass: %s", ab_vm_last_error(vm));
		expect_dirty(vm, all, "full write pass");
		expect_marks(vm, all, "full write pass");
		free(all);
	}
	if (cfg.backing == AB_VM_BACKING_THP) {
		uint64_t kb = thp_kb(ab_vm_hva(vm));

		printf("  THP: AnonHugePages %" PRIu64 " kB of %" PRIu64 " kB\n", kb,
		       cfg.mem_bytes >> 10);
		CHECK(kb > 0, "THP backing has no huge pages after a full write pass");
	}

	/* 5: aging interfaces, where this kernel has them */
	memset(set, 0, (n + 63) / 64 * 8);
	for (i = 0; i < n; i++)
		if (rnd() % 7 == 0)
			ab_vm_set_bit(set, i);
	page_idle_check(vm, set);
	hook_check(vm, set);

	ab_vm_stats_total(vm, &st);
	CHECK(st.exits_other == 0, "%" PRIu64 " unexpected exits", st.exits_other);
	ab_vm_destroy(vm);
	free(set);
	free(written);
	free(none);
	return ab_check_failures ? 1 : 0;
}

static int cmd_orders(void)
{
	struct ab_vm_config cfg;
	struct abvm *vm;
	struct ab_vm_work w;
	struct ab_vm_vcpu_stats st, st0;
	uint64_t n, i, hot = 0, *all, *hotset, *none;

	/* the permutation is a permutation, for awkward sizes too */
	{
		static const uint64_t sizes[] = {1, 2, 3, 5, 64, 100, 4095, 4096, 4097, 65536 + 17};

		for (unsigned s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
			uint64_t m = sizes[s], *seen = bm_alloc(m), dup = 0, inorder = 0, prev = 0;
			struct ab_vm_perm pm;

			ab_vm_perm_init(&pm, m, 42 + s);
			for (i = 0; i < m; i++) {
				uint64_t x = ab_vm_perm_next(&pm);

				if (x >= m || ab_vm_bit(seen, x))
					dup++;
				else
					ab_vm_set_bit(seen, x);
				if (i && x == prev + 1)
					inorder++;
				prev = x;
			}
			CHECK(dup == 0, "perm(%" PRIu64 "): %" PRIu64 " repeats/out of range", m,
			      dup);
			CHECK(m < 100 || inorder < m / 10,
			      "perm(%" PRIu64 ") looks sequential (%" PRIu64 " steps +1)", m,
			      inorder);
			free(seen);
		}
	}

	ab_vm_config_init(&cfg);
	cfg.mem_bytes = 16ull << 20;
	cfg.dirty_log = true;
	cfg.nr_vcpus = 2;
	vm = create_or_skip(&cfg);
	n = ab_vm_npages(vm);
	all = bm_alloc(n);
	hotset = bm_alloc(n);
	none = bm_alloc(n);
	for (i = 0; i < n; i++)
		ab_vm_set_bit(all, i);

	/* random order: every page once per pass */
	ab_vm_work_init(&w);
	w.order = AB_VM_ORDER_RANDOM;
	w.seed = 7;
	w.passes = 3;
	CHECK(ab_vm_run(vm, &w) == 0, "random: %s", ab_vm_last_error(vm));
	ab_vm_stats_total(vm, &st);
	CHECK(st.accesses == 3 * n, "random: %" PRIu64 " accesses, want %" PRIu64, st.accesses,
	      3 * n);
	CHECK(st.passes == 3 * 2, "random: %" PRIu64 " passes counted, want 6", st.passes);
	expect_dirty(vm, all, "random order write");

	/* hot/cold, cold never: exactly the hot set, every pass */
	for (i = 0; i < n; i++)
		if (ab_vm_page_is_hot(99, i, 20)) {
			ab_vm_set_bit(hotset, i);
			hot++;
		}
	CHECK(hot > n / 10 && hot < n * 3 / 10, "hot set %" PRIu64 " of %" PRIu64 " pages for 20%%",
	      hot, n);
	ab_vm_work_init(&w);
	w.order = AB_VM_ORDER_HOTCOLD;
	w.seed = 99;
	w.hot_pct = 20;
	w.cold_every = 0;
	w.passes = 4;
	st0 = st;
	CHECK(ab_vm_run(vm, &w) == 0, "hotcold: %s", ab_vm_last_error(vm));
	ab_vm_stats_total(vm, &st);
	CHECK(st.accesses - st0.accesses == 4 * hot, "hotcold: %" PRIu64 " accesses, want %" PRIu64,
	      st.accesses - st0.accesses, 4 * hot);
	expect_dirty(vm, hotset, "hot/cold (cold never)");
	/* cold every 2nd pass: passes 0 and 2 touch all, 1 hot only */
	w.cold_every = 2;
	w.passes = 3;
	st0 = st;
	CHECK(ab_vm_run(vm, &w) == 0, "hotcold2: %s", ab_vm_last_error(vm));
	ab_vm_stats_total(vm, &st);
	CHECK(st.accesses - st0.accesses == 2 * n + hot,
	      "hotcold cold_every=2: %" PRIu64 " accesses, want %" PRIu64,
	      st.accesses - st0.accesses, 2 * n + hot);

	/* read passes: no dirty pages; sum = all marks twice */
	expect_dirty(vm, all, "(clearing the log)");
	ab_vm_work_init(&w);
	w.op = AB_VM_OP_READ;
	w.passes = 2;
	st0 = st;
	CHECK(ab_vm_run(vm, &w) == 0, "read: %s", ab_vm_last_error(vm));
	ab_vm_stats_total(vm, &st);
	{
		uint64_t sum = 0;

		for (i = 0; i < n; i++)
			sum += 2 * AB_VM_WRITE_MARK(i);
		CHECK(st.read_sum - st0.read_sum == sum, "read passes: sum mismatch");
	}
	expect_dirty(vm, none, "read passes");

	/* until stopped: runs, stops on request, stays usable */
	ab_vm_work_init(&w);
	w.passes = 0;
	w.order = AB_VM_ORDER_RANDOM;
	st0 = st;
	CHECK(ab_vm_start(vm, &w) == 0, "start unbounded");
	CHECK(ab_vm_start(vm, &w) == AB_VM_EBUSY, "second start must be EBUSY");
	{
		uint64_t t0 = ab_now_ns();

		do { /* until every vCPU finished a pass (slow under TCG) */
			usleep(20 * 1000);
			ab_vm_stats_total(vm, &st);
		} while (st.passes < st0.passes + (uint64_t)cfg.nr_vcpus &&
			 ab_now_ns() - t0 < 30ull * 1000000000ull);
		CHECK(ab_vm_stop(vm) == 0, "stop: %s", ab_vm_last_error(vm));
		ab_vm_stats_total(vm, &st);
		CHECK(st.passes >= st0.passes + (uint64_t)cfg.nr_vcpus,
		      "unbounded run made no full pass in 30 s");
		printf("  unbounded: %" PRIu64 " passes, %" PRIu64
		       " accesses in %.0f ms, then stopped\n",
		       st.passes - st0.passes, st.accesses - st0.accesses,
		       (ab_now_ns() - t0) / 1e6);
	}
	/* sync points: 1 DONE at startup + 1 per command + 1 per pass */
	CHECK(st.exits_io == st.passes + st.commands + (uint64_t)cfg.nr_vcpus,
	      "exits_io %" PRIu64 " != passes %" PRIu64 " + commands %" PRIu64 " + %d", st.exits_io,
	      st.passes, st.commands, cfg.nr_vcpus);
	CHECK(st.exits_other == 0, "unexpected exits");
	ab_vm_work_init(&w);
	CHECK(ab_vm_run(vm, &w) == 0, "run after stop: %s", ab_vm_last_error(vm));
	ab_vm_destroy(vm);
	free(all);
	free(hotset);
	free(none);
	return ab_check_failures ? 1 : 0;
}

static int cmd_latency(void)
{
	struct ab_vm_config cfg;
	struct abvm *vm;
	struct ab_vm_work w;
	struct ab_hist cold, warm;

	ab_vm_config_init(&cfg);
	cfg.mem_bytes = 32ull << 20;
	cfg.latency = true;
	vm = create_or_skip(&cfg);
	ab_vm_work_init(&w);
	w.record_latency = true;
	CHECK(ab_vm_run(vm, &w) == 0, "first pass: %s", ab_vm_last_error(vm));
	cold = *ab_vm_vcpu_hist(vm, 0);
	ab_vm_hist_reset(vm);
	CHECK(ab_vm_run(vm, &w) == 0, "second pass: %s", ab_vm_last_error(vm));
	warm = *ab_vm_vcpu_hist(vm, 0);
	CHECK(cold.count == ab_vm_npages(vm),
	      "first-touch histogram has %" PRIu64 " samples, want %" PRIu64, cold.count,
	      ab_vm_npages(vm));
	CHECK(warm.count == ab_vm_npages(vm), "warm histogram has %" PRIu64 " samples", warm.count);
	printf("  first touch: p50 %" PRIu64 " ns p99 %" PRIu64 " ns; warm: p50 %" PRIu64 " ns\n",
	       ab_hist_quantile(&cold, 0.5), ab_hist_quantile(&cold, 0.99),
	       ab_hist_quantile(&warm, 0.5));
	/* a fault (exit to the host kernel) vs a cached store: orders apart */
	CHECK(ab_hist_quantile(&cold, 0.5) > 2 * ab_hist_quantile(&warm, 0.5),
	      "first-touch p50 not above warm p50: latency not measured around the access?");
	ab_vm_destroy(vm);
	/* prefaulted (host + KVM) memory: the first write pass takes no faults */
	vm = create_or_skip(&cfg);
	{
		int r = ab_vm_prefault(vm, AB_VM_PREFAULT_KVM);
		struct ab_hist pre;

		CHECK(r > 0 && (r & AB_VM_PREFAULT_HOST) && (r & AB_VM_PREFAULT_KVM),
		      "ab_vm_prefault: %d (%s)", r, ab_vm_last_error(vm));
		ab_vm_hist_reset(vm);
		CHECK(ab_vm_run(vm, &w) == 0, "pass after prefault: %s", ab_vm_last_error(vm));
		pre = *ab_vm_vcpu_hist(vm, 0);
		printf("  after ab_vm_prefault (%s): first write pass p50 %" PRIu64 " ns\n",
		       r & AB_VM_PREFAULT_USED_IOCTL ? "KVM_PRE_FAULT_MEMORY" : "guest write pass",
		       ab_hist_quantile(&pre, 0.5));
		CHECK(pre.count == ab_vm_npages(vm), "prefault pass samples");
		CHECK(2 * ab_hist_quantile(&pre, 0.5) < ab_hist_quantile(&cold, 0.5),
		      "after prefault the first pass still faults (p50 %" PRIu64 " ns)",
		      ab_hist_quantile(&pre, 0.5));
	}
	/* without cfg.latency, record_latency is refused */
	ab_vm_destroy(vm);
	cfg.latency = false;
	vm = create_or_skip(&cfg);
	CHECK(ab_vm_start(vm, &w) == AB_VM_EINVAL,
	      "record_latency without cfg.latency must be EINVAL");
	ab_vm_destroy(vm);
	return ab_check_failures ? 1 : 0;
}

static int cmd_slots(void)
{
	struct ab_vm_config cfg;
	struct abvm *vm;
	struct ab_vm_work w;
	char err[256];
	int i;

	ab_vm_config_init(&cfg);
	cfg.mem_bytes = 16ull << 20;
	cfg.nr_vcpus = 2;
	vm = create_or_skip(&cfg);
	ab_vm_work_init(&w);
	w.passes = 0;
	w.order = AB_VM_ORDER_RANDOM;
	CHECK(ab_vm_start(vm, &w) == 0, "start");
	for (i = 0; i < 50; i++) {
		int s = ab_vm_slot_add(vm, 2ull << 20, err, sizeof(err));

		CHECK(s >= 2, "slot add %d: %s", i, err);
		if (s >= 0)
			CHECK(ab_vm_slot_del(vm, s) == 0, "slot del %d", s);
	}
	{
		struct ab_vm_vcpu_stats st;
		uint64_t t0 = ab_now_ns();

		/* the vCPUs keep running across the churn: wait for a full pass */
		do {
			usleep(10000);
			ab_vm_stats_total(vm, &st);
		} while (st.passes < (uint64_t)cfg.nr_vcpus &&
			 ab_now_ns() - t0 < 20ull * 1000000000ull);
		CHECK(st.passes >= (uint64_t)cfg.nr_vcpus,
		      "vCPUs made no progress after slot churn");
		CHECK(ab_vm_stop(vm) == 0, "stop after slot churn: %s", ab_vm_last_error(vm));
		ab_vm_stats_total(vm, &st);
		CHECK(st.exits_other == 0, "unexpected exits");
		printf("  50 slot add/delete while running; %" PRIu64 " passes after\n", st.passes);
	}
	CHECK(ab_vm_slot_del(vm, 5) == AB_VM_EINVAL, "deleting an unused slot must be EINVAL");
	ab_vm_destroy(vm);
	return ab_check_failures ? 1 : 0;
}

/* ---- subprocess helpers ---- */

struct child {
	pid_t pid;
	FILE *out;   /* its stdout */
	char *errtx; /* its stderr, when run to completion */
	int status;
};

/* Run @argv with @env (NAME=VALUE or NULL), optional uid switch; capture output. */
static int run_capture(char *const argv[], const char *env, bool as_nobody, char *out,
		       size_t outlen)
{
	int p[2];
	pid_t pid;
	size_t got = 0;
	ssize_t n;
	int st;

	if (pipe(p))
		ab_die(1, "pipe");
	pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		dup2(p[1], 2);
		close(p[0]);
		if (env)
			putenv((char *)env);
		if (as_nobody && (setgid(65534) || setuid(65534)))
			_exit(99);
		execv(argv[0], argv);
		_exit(98);
	}
	close(p[1]);
	while (got + 1 < outlen && (n = read(p[0], out + got, outlen - 1 - got)) > 0)
		got += (size_t)n;
	out[got] = 0;
	close(p[0]);
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void expect_run(const char *name, char *const argv[], const char *env, bool nobody,
		       int want_rc, const char *want_msg)
{
	char out[4096];
	int rc = run_capture(argv, env, nobody, out, sizeof(out));

	CHECK(rc == want_rc && strstr(out, want_msg),
	      "%s: exit %d (want %d), output '%s' (want '%s')", name, rc, want_rc, out, want_msg);
	if (rc == want_rc && strstr(out, want_msg))
		printf("  %s: exit %d, message: %s", name, rc, out);
}

static int cmd_errors(const char *run, const char *dir)
{
	char memarg[64], thp[512];
	uint64_t avail = ab_vm_mem_available();

	{
		char *a[] = {(char *)run, "--passes", "0", NULL};

		expect_run("no /dev/kvm", a, "AB_VM_KVM_DEV=/nonexistent/kvm", false, 77,
			   "/nonexistent/kvm: No such file or directory");
		expect_run("not a KVM device", a, "AB_VM_KVM_DEV=/dev/null", false, 77,
			   "/dev/null: not a KVM device");
		if (access("/dev/kvm", F_OK) == 0 && getuid() == 0)
			expect_run("/dev/kvm not permitted", a, NULL, true, 77,
				   "/dev/kvm: Permission denied");
		else
			printf("  (/dev/kvm permission case needs root and /dev/kvm: not run)\n");
	}
	if (access("/dev/kvm", R_OK | W_OK)) {
		printf("/dev/kvm: %s: the remaining cases need KVM\n", strerror(errno));
		return ab_check_failures ? 1 : AB_EXIT_SKIP;
	}
	/* memory too large: MemAvailable + 2 GiB, rounded to 2 MiB */
	snprintf(memarg, sizeof(memarg), "%" PRIu64 "M",
		 (uint64_t)(((avail >> 20) + 2048) & ~1ull));
	{
		char *a[] = {(char *)run, "--mem", memarg, "--passes", "0", NULL};

		expect_run("memory too large", a, NULL, false, 2, "guest memory would not fit");
	}
	{
		char *a[] = {(char *)run, "--mem", "3M", NULL};

		expect_run("memory not 2M multiple", a, NULL, false, 2,
			   "must be a non-zero multiple of 2 MiB");
	}
	{
		char *a[] = {(char *)run, "--backing", "hugetlb", NULL};

		expect_run("unknown backing", a, NULL, false, 2, "unknown backing 'hugetlb'");
	}
	{
		char *a[] = {(char *)run, "--backing", "file", "--mem", "4M", NULL};

		expect_run("file backing without dir", a, NULL, false, 2,
			   "backing file needs a directory");
	}
	{
		char *a[] = {(char *)run,	 "--backing", "file", "--file-dir",
			     "/nonexistent/dir", "--mem",     "4M",   NULL};

		expect_run("file backing, no such dir", a, NULL, false, 2,
			   "directory /nonexistent/dir: No such file or directory");
	}
	{
		/* THP disabled: point the library at a sysfs-like file saying never */
		char f[400], env[500];
		int fd;

		snprintf(f, sizeof(f), "%s/thp-never.%d", dir, (int)getpid());
		fd = open(f, O_CREAT | O_WRONLY | O_TRUNC, 0644);
		if (fd < 0 || write(fd, "always madvise [never]\n", 23) != 23)
			ab_die(1, "cannot write %s", f);
		close(fd);
		snprintf(env, sizeof(env), "AB_VM_THP_SYSFS=%s", f);
		snprintf(thp, sizeof(thp), "THP disabled: %s is \"always madvise [never]\"", f);
		{
			char *a[] = {(char *)run, "--backing", "thp", "--mem", "4M", NULL};

			expect_run("THP disabled", a, env, false, 77, thp);
		}
		unlink(f);
	}
	{
		char *a[] = {(char *)run, "--vcpus", "0", NULL};

		expect_run("bad vcpus", a, NULL, false, 2, "--vcpus: '0' not in 1..");
	}
	return ab_check_failures ? 1 : 0;
}

static int dir_entries(const char *d)
{
	DIR *dp = opendir(d);
	struct dirent *e;
	int n = 0;

	if (!dp)
		return -1;
	while ((e = readdir(dp)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(dp);
	return n;
}

/* Count lines of /proc/<pid>/maps containing @needle. */
static int maps_count(pid_t pid, const char *needle)
{
	char p[64], line[1024];
	FILE *f;
	int n = 0;

	snprintf(p, sizeof(p), "/proc/%d/maps", (int)pid);
	f = fopen(p, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, needle))
			n++;
	fclose(f);
	return n;
}

static bool maps_cover(pid_t pid, uintptr_t addr)
{
	char p[64], line[1024];
	FILE *f;
	bool hit = false;

	snprintf(p, sizeof(p), "/proc/%d/maps", (int)pid);
	f = fopen(p, "r");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;

		if (sscanf(line, "%lx-%lx", &lo, &hi) == 2 && addr >= lo && addr < hi)
			hit = true;
	}
	fclose(f);
	return hit;
}

static int fd_links(pid_t pid, const char *needle)
{
	char d[64], p[400], t[400];
	DIR *dp;
	struct dirent *e;
	int n = 0;

	snprintf(d, sizeof(d), "/proc/%d/fd", (int)pid);
	dp = opendir(d);
	if (!dp)
		return -1;
	while ((e = readdir(dp))) {
		ssize_t l;

		snprintf(p, sizeof(p), "%s/%s", d, e->d_name);
		l = readlink(p, t, sizeof(t) - 1);
		if (l > 0) {
			t[l] = 0;
			if (strstr(t, needle))
				n++;
		}
	}
	closedir(dp);
	return n;
}

static const char *cgroup2_mount(void)
{
	static char mnt[256];
	char dev[256], type[64];
	FILE *f = fopen("/proc/mounts", "r");

	if (!f)
		return NULL;
	while (fscanf(f, "%255s %255s %63s %*[^\n]", dev, mnt, type) == 3)
		if (!strcmp(type, "cgroup2")) {
			fclose(f);
			return mnt;
		}
	fclose(f);
	return NULL;
}

static bool proc_in_cgroup(pid_t pid, const char *want)
{
	char p[64], line[512];
	FILE *f;
	bool hit = false;

	snprintf(p, sizeof(p), "/proc/%d/cgroup", (int)pid);
	f = fopen(p, "r");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, want, strlen(want)) &&
		    (line[strlen(want)] == '\n' || !line[strlen(want)]))
			hit = true;
	fclose(f);
	return hit;
}

/* Start @argv with stdout piped; read lines until one starts with @prefix. */
static pid_t spawn_until(char *const argv[], const char *prefix, char *line, size_t len,
			 FILE **outp)
{
	int p[2];
	pid_t pid;
	FILE *f;

	if (pipe(p))
		ab_die(1, "pipe");
	pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		execv(argv[0], argv);
		_exit(98);
	}
	close(p[1]);
	f = fdopen(p[0], "r");
	line[0] = 0;
	while (fgets(line, (int)len, f))
		if (!strncmp(line, prefix, strlen(prefix))) {
			*outp = f;
			return pid;
		}
	fclose(f);
	waitpid(pid, NULL, 0);
	return -1;
}

static int wait_exit(pid_t pid)
{
	int st;

	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int cmd_teardown(const char *run, const char *base)
{
	char dir[512], line[512], create[512];
	FILE *out;
	pid_t pid;
	int rc;

	if (access("/dev/kvm", R_OK | W_OK)) {
		printf("/dev/kvm: %s\n", strerror(errno));
		return AB_EXIT_SKIP;
	}
	snprintf(dir, sizeof(dir), "%s/abvm-teardown.XXXXXX", base);
	if (!mkdtemp(dir))
		ab_die(1, "mkdtemp %s: %s", dir, strerror(errno));

	/* 1: named file, SIGINT while running: the file is gone, exit 130 */
	{
		char *a[] = {(char *)run,    "--backing", "file", "--file-dir", dir,
			     "--named-file", "--mem",	  "32M",  "--vcpus",	"2",
			     "--hold",	     NULL};

		pid = spawn_until(a, "ready", line, sizeof(line), &out);
		CHECK(pid > 0, "abvm-run --hold did not get ready");
		if (pid > 0) {
			CHECK(dir_entries(dir) == 1,
			      "named backing file not visible while running (%d entries)",
			      dir_entries(dir));
			CHECK(maps_count(pid, dir) == 1, "backing file not mapped in /proc/%d/maps",
			      (int)pid);
			CHECK(maps_count(pid, "kvm-vcpu") == 2, "expected 2 kvm-vcpu mappings");
			kill(pid, SIGINT);
			rc = wait_exit(pid);
			fclose(out);
			CHECK(rc == 128 + SIGINT, "SIGINT'd abvm-run exited %d, want %d", rc,
			      128 + SIGINT);
			CHECK(dir_entries(dir) == 0,
			      "backing file left behind after SIGINT (%d entries in %s)",
			      dir_entries(dir), dir);
			printf("  SIGINT while running (named file): exit %d, %d files left\n", rc,
			       dir_entries(dir));
		}
	}
	/* 2: O_TMPFILE default: never visible; SIGTERM */
	{
		char *a[] = {(char *)run, "--backing", "file",	 "--file-dir", dir,
			     "--mem",	  "16M",       "--hold", NULL};

		pid = spawn_until(a, "ready", line, sizeof(line), &out);
		CHECK(pid > 0, "abvm-run --hold did not get ready");
		if (pid > 0) {
			CHECK(dir_entries(dir) == 0, "O_TMPFILE backing visible in %s", dir);
			CHECK(maps_count(pid, "(deleted)") >= 1, "unnamed backing file not mapped");
			kill(pid, SIGTERM);
			rc = wait_exit(pid);
			fclose(out);
			CHECK(rc == 128 + SIGTERM, "SIGTERM'd abvm-run exited %d", rc);
			CHECK(dir_entries(dir) == 0, "files left after SIGTERM");
		}
	}
	/* 3: after destroy (3 create/run/destroy cycles, anon + file): nothing left */
	for (int k = 0; k < 2; k++) {
		char *a[] = {(char *)run,
			     "--backing",
			     k ? "file" : "anon",
			     "--file-dir",
			     dir,
			     "--named-file",
			     "--mem",
			     "32M",
			     "--repeat",
			     "3",
			     "--vcpus",
			     "2",
			     "--hold-after-destroy",
			     NULL};
		FILE *o2;
		uintptr_t hvas[3] = {0};
		int nh = 0;
		int p2[2];

		/* collect the create lines (hva=...) too */
		if (pipe(p2))
			ab_die(1, "pipe");
		pid = fork();
		if (pid == 0) {
			dup2(p2[1], 1);
			close(p2[0]);
			execv(a[0], a);
			_exit(98);
		}
		close(p2[1]);
		o2 = fdopen(p2[0], "r");
		while (fgets(create, sizeof(create), o2)) {
			char *h = strstr(create, "hva=");

			if (h && nh < 3)
				hvas[nh++] = (uintptr_t)strtoull(h + 4, NULL, 16);
			if (!strncmp(create, "destroyed", 9))
				break;
		}
		CHECK(!strncmp(create, "destroyed", 9),
		      "abvm-run --hold-after-destroy did not report");
		CHECK(nh == 3, "saw %d create lines", nh);
		CHECK(maps_count(pid, "anon_inode:kvm") == 0,
		      "kvm mappings left after destroy (/proc/%d/maps)", (int)pid);
		CHECK(fd_links(pid, "anon_inode:kvm") == 0 && fd_links(pid, "/dev/kvm") == 0,
		      "kvm fds left open after destroy");
		CHECK(maps_count(pid, dir) == 0, "backing file still mapped after destroy");
		for (int j = 0; j < nh; j++)
			CHECK(!maps_cover(pid, hvas[j]),
			      "guest memory at %#lx still mapped after destroy",
			      (unsigned long)hvas[j]);
		CHECK(dir_entries(dir) == 0, "backing files left after destroy");
		printf("  after 3x create/destroy (%s): no kvm fds/mappings, guest memory "
		       "unmapped, %d files\n",
		       k ? "file" : "anon", dir_entries(dir));
		kill(pid, SIGTERM);
		wait_exit(pid);
		fclose(o2);
	}
	rmdir(dir);

	/* 4: the run in its own cgroup v2: SIGINT leaves no cgroup behind */
	{
		const char *root = cgroup2_mount();
		char cg[512], want[600];

		if (!root || access(root, W_OK)) {
			printf("  (no writable cgroup2 mount: cgroup teardown not checked)\n");
		} else {
			snprintf(cg, sizeof(cg), "%s/abvm-teardown-%d", root, (int)getpid());
			char *a[] = {(char *)run, "--mem", "16M", "--cgroup", cg, "--hold", NULL};

			pid = spawn_until(a, "ready", line, sizeof(line), &out);
			CHECK(pid > 0, "abvm-run --cgroup --hold did not get ready");
			if (pid > 0) {
				snprintf(want, sizeof(want), "0::/abvm-teardown-%d", (int)getpid());
				CHECK(proc_in_cgroup(pid, want), "abvm-run not in its cgroup (%s)",
				      want);
				kill(pid, SIGINT);
				rc = wait_exit(pid);
				fclose(out);
				CHECK(rc == 128 + SIGINT, "SIGINT'd abvm-run --cgroup exited %d",
				      rc);
				CHECK(access(cg, F_OK) != 0, "cgroup %s left behind after SIGINT",
				      cg);
				if (access(cg, F_OK) == 0)
					rmdir(cg);
				else
					printf("  SIGINT in a cgroup: exit %d, cgroup removed\n",
					       rc);
			}
		}
	}
	return ab_check_failures ? 1 : 0;
}

static int cmd_checkskip(const char *check)
{
	char out[8192];
	bool have_param = access(AB_VM_AGE_MODE_PARAM, F_OK) == 0;
	bool have_idle = access(AB_VM_PAGE_IDLE_PATH, F_OK) == 0;
	bool have_lru = access("/sys/kernel/debug/lru_gen", F_OK) == 0;

	{
		char *a[] = {(char *)check, NULL};

		CHECK(run_capture(a, NULL, false, out, sizeof(out)) == 2,
		      "no arguments must be usage (2)");
	}
	{
		char *a[] = {(char *)check, "exact",  "--driver", "psychic",
			     "--mode",	    "locked", NULL};

		CHECK(run_capture(a, NULL, false, out, sizeof(out)) == 2 && strstr(out, "psychic"),
		      "bad driver must be usage (2) naming it: %s", out);
	}
	{
		char *a[] = {(char *)check, "exact", "--driver", "hook", "--mode", "sloppy", NULL};

		CHECK(run_capture(a, NULL, false, out, sizeof(out)) == 2 && strstr(out, "sloppy"),
		      "bad mode must be usage (2) naming it: %s", out);
	}
	{
		char *a[] = {(char *)check, "stress",	       "--seconds", "1",
			     "--without",   "zapper,gremlins", NULL};

		CHECK(run_capture(a, NULL, false, out, sizeof(out)) == 2 && strstr(out, "gremlins"),
		      "unknown stressor must be usage (2) naming it: %s", out);
	}
	{
		/* every stressor left out: the vCPUs still run, the run says what was left out */
		char *a[] = {(char *)check, "stress",	     "--seconds",
			     "1",	    "--no-aging-ok", "--mem",
			     "8M",	    "--without",     "hook,idle,switch,zapper,slots,vms",
			     NULL};
		int rc = run_capture(a, NULL, false, out, sizeof(out));

		CHECK(rc == 0 && strstr(out, "left out: hook,idle,switch,zapper,slots,vms") &&
			  strstr(out, "aging via nothing"),
		      "stress with every stressor left out must pass and say so: exit %d '%s'", rc,
		      out);
	}
	{
		char *a[] = {(char *)check, "exact", "--driver", "hook", "--mode", "locked", NULL};
		int rc = run_capture(a, NULL, false, out, sizeof(out));

		if (!have_param)
			CHECK(rc == 77 && strstr(out, "mmu_age_mode"),
			      "exact hook without the parameter: exit %d '%s'", rc, out);
		else
			CHECK(rc == 0 || rc == 77, "exact hook: exit %d '%s'", rc, out);
		printf("  exact --driver hook: exit %d: %s", rc, out);
	}
	{
		char *a[] = {(char *)check, "exact",  "--driver", "page_idle",
			     "--mode",	    "locked", NULL};
		int rc = run_capture(a, NULL, false, out, sizeof(out));

		if (!have_param || !have_idle)
			CHECK(rc == 77, "exact page_idle without support must skip: exit %d '%s'",
			      rc, out);
		printf("  exact --driver page_idle: exit %d: %s", rc, out);
	}
	{
		char *a[] = {(char *)check, "lru_gen", "--mode", "locked", NULL};
		int rc = run_capture(a, NULL, false, out, sizeof(out));

		if (!have_param || !have_lru)
			CHECK(rc == 77, "lru_gen without support must skip: exit %d '%s'", rc, out);
		printf("  lru_gen: exit %d: %s", rc, out);
	}
	{
		char *a[] = {(char *)check, "switch", NULL};
		int rc = run_capture(a, NULL, false, out, sizeof(out));

		if (!have_param)
			CHECK(rc == 77, "switch without the parameter must skip: exit %d '%s'", rc,
			      out);
		printf("  switch: exit %d: %s", rc, out);
	}
	{
		char *a[] = {(char *)check, "stress", "--seconds", "2", NULL};
		int rc = run_capture(a, NULL, false, out, sizeof(out));

		if (!have_param)
			CHECK(rc == 77, "stress without the parameter must skip: exit %d '%s'", rc,
			      out);
		printf("  stress: exit %d: %s", rc, out);
	}
	return ab_check_failures ? 1 : 0;
}

/* A guest that crashes is reported, not hung on; the VM still tears down. */
static int cmd_crash(void)
{
	struct ab_vm_config cfg;
	struct abvm *vm;
	struct ab_vm_work w;
	struct ab_vm_vcpu_stats st;
	int r;

	ab_vm_config_init(&cfg);
	cfg.mem_bytes = 8ull << 20;
	cfg.nr_vcpus = 2;
	vm = create_or_skip(&cfg);
	CHECK(ab_vm_debug_crash(vm, 1) == 0, "inject");
	r = ab_vm_wait(vm, 30ull * 1000000000ull);
	CHECK(r == AB_VM_EGUEST, "wait after a guest crash returned %s, want EGUEST",
	      ab_vm_strerr(r));
	CHECK(strstr(ab_vm_last_error(vm), "vCPU 1") &&
		  strstr(ab_vm_last_error(vm), "triple fault"),
	      "last error '%s' does not name vCPU 1 and the triple fault", ab_vm_last_error(vm));
	printf("  crash reported: %s\n", ab_vm_last_error(vm));
	ab_vm_stats_total(vm, &st);
	CHECK(st.exits_other == 1, "exits_other %" PRIu64 ", want 1", st.exits_other);
	ab_vm_work_init(&w);
	CHECK(ab_vm_vcpu_start(vm, 1, &w) == AB_VM_EGUEST, "a crashed vCPU must refuse commands");
	CHECK(ab_vm_vcpu_start(vm, 0, &w) == 0 &&
		  ab_vm_vcpu_wait(vm, 0, 30ull * 1000000000ull) == 0,
	      "the other vCPU must keep working: %s", ab_vm_last_error(vm));
	ab_vm_destroy(vm);
	return ab_check_failures ? 1 : 0;
}

/* The age_bench result parser against the text format of docs/kernel-interface.md. */
static int cmd_parse(void)
{
	uint64_t bm[4];
	struct ab_vm_hook_result r = {.bitmap = bm, .words = 4};
	char err[256];
	static const char *const bad[] = {
	    "mode=locked op=test start=1 pages=64 young=0 declined=0 ns=1 lock_wait_ns=0\n",
	    "mode=locked op=test start=1 pages=70 young=0 declined=0 ns=1 "
	    "lock_wait_ns=0\nbitmap=0000000000000000\n",
	    "mode=locked op=test start=1 pages=64 young=0 declined=0 ns=1 "
	    "lock_wait_ns=0\nbitmap=00000000000000 00\n",
	    "mode=locked op=test start=1 pages=60 young=1 declined=0 ns=1 "
	    "lock_wait_ns=0\nbitmap=1000000000000000\n",
	    "mode=locked op=test start=1 pages=64 young=0 declined=0 ns=1 "
	    "lock_wait_ns=0\nbitmap=0000000000000000 "
	    "0000000000000000\n",
	    "mode=locked op=test start=1 pages=64 young=0 declined=2 ns=1 "
	    "lock_wait_ns=0\nbitmap=0000000000000000\n",
	    "mode=locked op=test start=1 pages=300 young=0 declined=0 ns=1 "
	    "lock_wait_ns=0\nbitmap=\n",
	    "EINVAL\n",
	    "",
	    /* consistency */
	    "mode=locked op=test start=1 pages=64 young=2 declined=0 ns=1 lock_wait_ns=0\n"
	    "bitmap=0000000000000001\n",
	    "mode=fast_only op=test start=1 pages=64 young=1 declined=1 ns=1 lock_wait_ns=0\n"
	    "bitmap=0000000000000001\n",
	    "mode=locked op=test start=1 pages=4 young=5 declined=0 ns=1 lock_wait_ns=0\n"
	    "bitmap=000000000000000f\n",
	    "mode=sloppy op=test start=1 pages=64 young=0 declined=0 ns=1 lock_wait_ns=0\n"
	    "bitmap=0000000000000000\n",
	    "mode=locked op=peek start=1 pages=64 young=0 declined=0 ns=1 lock_wait_ns=0\n"
	    "bitmap=0000000000000000\n",
	};

	CHECK(ab_vm_hook_parse(
		  "mode=read_locked op=test start=1048576 pages=70 young=3 declined=0 ns=1234 "
		  "lock_wait_ns=56\nbitmap=0000000000000005 0000000000000020\n",
		  &r, err, sizeof(err)) == 0,
	      "valid result rejected: %s", err);
	CHECK(!strcmp(r.mode, "read_locked") && !strcmp(r.op, "test") && r.start == 1048576 &&
		  r.pages == 70 && r.young == 3 && !r.declined && r.ns == 1234 &&
		  r.lock_wait_ns == 56,
	      "fields parsed wrong: mode=%s op=%s start=%" PRIu64 " pages=%" PRIu64, r.mode, r.op,
	      r.start, r.pages);
	CHECK(bm[0] == 5 && bm[1] == 0x20 && ab_vm_popcount(bm, 70) == 3 && ab_vm_bit(bm, 69),
	      "bitmap parsed wrong: %" PRIx64 " %" PRIx64, bm[0], bm[1]);
	CHECK(
	    ab_vm_hook_parse(
		"mode=fast_only op=clear start=7 pages=64 young=0 declined=1 ns=9 lock_wait_ns=0\n"
		"bitmap=0000000000000000\n",
		&r, err, sizeof(err)) == 0 &&
		r.declined == 1 && !strcmp(r.op, "clear"),
	    "declined result: %s", err);
	CHECK(ab_vm_hook_expect(&r, "fast_only", 7, 64, true, err, sizeof(err)) == 0, "expect: %s",
	      err);
	CHECK(ab_vm_hook_expect(&r, "bitmap", 7, 64, true, err, sizeof(err)) == -1, "wrong mode");
	CHECK(ab_vm_hook_expect(&r, "fast_only", 7, 64, false, err, sizeof(err)) == -1, "wrong op");
	CHECK(ab_vm_hook_expect(&r, "fast_only", 8, 64, true, err, sizeof(err)) == -1,
	      "wrong start");
	CHECK(ab_vm_hook_expect(&r, "fast_only", 7, 63, true, err, sizeof(err)) == -1,
	      "wrong pages");
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		CHECK(ab_vm_hook_parse(bad[i], &r, err, sizeof(err)) == -1 && err[0],
		      "malformed result %u accepted: '%s'", i, bad[i]);
		if (err[0])
			printf("  rejected %u: %s\n", i, err);
	}
	return ab_check_failures ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		goto usage;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(argv[1], "touch"))
		return cmd_touch(argc - 2, argv + 2);
	if (!strcmp(argv[1], "orders"))
		return cmd_orders();
	if (!strcmp(argv[1], "latency"))
		return cmd_latency();
	if (!strcmp(argv[1], "slots"))
		return cmd_slots();
	if (!strcmp(argv[1], "parse"))
		return cmd_parse();
	if (!strcmp(argv[1], "crash"))
		return cmd_crash();
	if (!strcmp(argv[1], "errors") && argc == 4)
		return cmd_errors(argv[2], argv[3]);
	if (!strcmp(argv[1], "teardown") && argc == 4)
		return cmd_teardown(argv[2], argv[3]);
	if (!strcmp(argv[1], "checkskip") && argc == 3)
		return cmd_checkskip(argv[2]);
usage:
	fprintf(stderr, "usage: abvm-test touch|orders|latency|slots|errors RUN DIR|teardown RUN "
			"DIR|checkskip CHECK\n");
	return 2;
}
