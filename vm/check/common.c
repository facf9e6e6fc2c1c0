// SPDX-License-Identifier: GPL-2.0
/* common.c - agevm-check: verdict helpers, environment, the VM, KVM stats,
 * the kvm_age_walk tracepoint, judging one answer (see check.h). */
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

const char *prog = "agevm-check";
bool verbose;
bool stock;
unsigned int mode_mask = ~0u; /* bits: enum ab_mode_id */
const char *const stressor_names[ST_NR] = {"hook",  "idle", "switch", "zapper",
					   "slots", "vms",  "nested"};
unsigned int stress_off;
_Atomic int nfail;

void fail(const char *fmt, ...)
{
	va_list ap;

	atomic_fetch_add(&nfail, 1);
	fputs("FAIL: ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
}

void info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
}

_Noreturn void skip(const char *fmt, ...)
{
	va_list ap;

	fputs("SKIP: ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
	exit(AB_EXIT_SKIP);
}
int finish(const char *what)
{
	if (atomic_load(&nfail)) {
		printf("%s: FAILED (%d failure%s)\n", what, atomic_load(&nfail),
		       atomic_load(&nfail) == 1 ? "" : "s");
		return AB_EXIT_FAIL;
	}
	printf("%s: PASS\n", what);
	return AB_EXIT_OK;
}
/* ---- environment ---- */

const char *check_modes[AB_MODE_NR];
int ncheck_modes;
static int accepted[AB_MODE_NR], naccepted;

/* Skip unless the patched kernel's parameter exists; have the mode restored
 * at exit; find which of the schema's kernel modes this kernel accepts. */
void need_param(void)
{
	char cur[32], list[256] = "";
	int r;

	if (stock)
		return;
	r = ab_vm_age_mode_get(NULL, cur, sizeof(cur));
	if (r)
		skip("%s: %s: kernel without the agebench aging patches", AB_VM_AGE_MODE_PARAM,
		     strerror(-r));
	if (!ab_vm_age_mode_known(cur)) {
		fail("%s reads '%s', not one of the modes (%s)", AB_VM_AGE_MODE_PARAM, cur,
		     ab_mode_list(AB_IN_KERNEL));
		exit(AB_EXIT_FAIL);
	}
	r = ab_vm_age_mode_save(NULL);
	if (r) {
		fail("cannot save %s for its restore at exit: %s", AB_VM_AGE_MODE_PARAM,
		     strerror(-r));
		exit(AB_EXIT_FAIL);
	}
	naccepted = ab_vm_age_modes_accepted(NULL, accepted);
	for (int i = 0; i < naccepted; i++) {
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? " " : "",
			 ab_mode_name(accepted[i]));
		if (mode_mask & (1u << accepted[i]))
			check_modes[ncheck_modes++] = ab_mode_name(accepted[i]);
	}
	if (!ncheck_modes) {
		fail("this kernel accepts none of the modes asked for (it accepts: %s)", list);
		exit(AB_EXIT_FAIL);
	}
	info("%s accepts: %s (the schema's kernel modes: %s)", AB_VM_AGE_MODE_PARAM, list,
	     ab_mode_list(AB_IN_KERNEL));
}

/* Does the mode answer only for a whole call (never declines)? */
bool mode_never_declines(const char *mode)
{
	const struct ab_mode *m = ab_mode_find(mode);

	return m && m->decline == AB_DECLINE_NEVER;
}

/* May the mode miss a young page (a look-around window that declined)? */
bool mode_may_miss(const char *mode)
{
	const struct ab_mode *m = ab_mode_find(mode);

	return m && m->decline == AB_DECLINE_WINDOW;
}

void set_mode_or_die(const char *mode)
{
	char now[32];
	int r;

	if (stock)
		return;
	for (r = 0; r < naccepted && strcmp(ab_mode_name(accepted[r]), mode); r++)
		;
	if (r == naccepted)
		skip("%s: this kernel does not offer mode %s", AB_VM_AGE_MODE_PARAM, mode);
	r = ab_vm_age_mode_set(NULL, mode);
	if (r) {
		fail("cannot set %s to %s: %s", AB_VM_AGE_MODE_PARAM, mode, strerror(-r));
		exit(AB_EXIT_FAIL);
	}
	if (ab_vm_age_mode_get(NULL, now, sizeof(now)) || strcmp(now, mode)) {
		fail("%s reads '%s' after writing '%s'", AB_VM_AGE_MODE_PARAM, now, mode);
		exit(AB_EXIT_FAIL);
	}
}

struct abvm *make_vm(uint64_t mem, int vcpus)
{
	return make_vm_nested(mem, vcpus, 0);
}

struct abvm *make_vm_nested(uint64_t mem, int vcpus, uint32_t pct)
{
	struct ab_vm_config cfg;
	struct abvm *vm;
	char err[512];
	int r;

	ab_vm_config_init(&cfg);
	cfg.mem_bytes = mem;
	cfg.nr_vcpus = vcpus;
	cfg.backing = AB_VM_BACKING_ANON; /* 4 KiB host pages: exact per-page answers */
	/* ring 0 + a TLB flush before every touch: aging clears accessed bits
	 * without flushing, and a cached translation would not set them again */
	cfg.cpl0 = true;
	cfg.nested_pct = pct;
	r = ab_vm_create(&cfg, &vm, err, sizeof(err));
	if (r) {
		if (ab_vm_exit_code(r) == AB_EXIT_SKIP || r == AB_VM_ENESTED)
			skip("%s", err);
		printf("FAIL: cannot create the VM: %s\n", err);
		exit(ab_vm_exit_code(r) == AB_EXIT_USAGE ? AB_EXIT_USAGE : AB_EXIT_FAIL);
	}
	return vm;
}

void run_or_die(struct abvm *vm, const struct ab_vm_work *w, const char *what)
{
	int r = ab_vm_start_wait(vm, w);

	if (r) {
		fail("%s: %s (%s)", what, ab_vm_strerr(r), ab_vm_last_error(vm));
		exit(AB_EXIT_FAIL);
	}
}

void populate(struct abvm *vm)
{
	struct ab_vm_work w;

	ab_vm_work_init(&w);
	run_or_die(vm, &w, "populating guest memory");
}

void wait_passes(struct abvm *vm, uint64_t passes)
{
	struct ab_vm_vcpu_stats st;
	uint64_t t0 = ab_now_ns(), p0;

	ab_vm_stats_total(vm, &st);
	p0 = st.passes;
	while (st.passes < p0 + passes) {
		if (ab_now_ns() - t0 > 30 * NSEC) {
			fail("vCPUs made %" PRIu64 " of %" PRIu64 " passes in 30 s", st.passes - p0,
			     passes);
			exit(AB_EXIT_FAIL);
		}
		usleep(1000);
		ab_vm_stats_total(vm, &st);
	}
}

void touch_or_die(struct abvm *vm, const uint64_t *set, enum ab_vm_op op)
{
	int r = ab_vm_touch(vm, set, op);

	if (!r)
		r = ab_vm_wait(vm, 120 * NSEC);
	if (r) {
		fail("guest touch: %s (%s)", ab_vm_strerr(r), ab_vm_last_error(vm));
		exit(AB_EXIT_FAIL);
	}
}

uint64_t *bm_alloc(uint64_t n)
{
	uint64_t *b = calloc((n + 63) / 64 + 1, 8);

	if (!b) {
		fail("out of memory");
		exit(AB_EXIT_FAIL);
	}
	return b;
}

/* A pseudo-random set of ~1/density of the pages, plus both ends. */
void make_set(uint64_t *set, uint64_t n, uint64_t seed, unsigned density)
{
	memset(set, 0, (n + 63) / 64 * 8);
	for (uint64_t i = 0; i < n; i++)
		if (ab_vm_mix64(seed ^ (i * 0x9e3779b97f4a7c15ull)) % density == 0)
			ab_vm_set_bit(set, i);
	ab_vm_set_bit(set, 0);
	ab_vm_set_bit(set, n - 1);
}
/* ---- KVM binary stats ---- */
static const char *const stat_names[] = {"age_calls",	    "age_pages_scanned",
					 "age_pages_young", "age_fast_declines",
					 "age_walk_ns",	    "age_lock_wait_ns"};

struct ab_vm_kstats *open_stats(struct abvm *vm)
{
	struct ab_vm_kstats *ks;
	uint64_t v;

	if (stock)
		return NULL;
	ks = ab_vm_kstats_open(vm, -1);
	if (!ks) {
		fail("KVM_GET_STATS_FD on the VM fd failed: %s", strerror(errno));
		exit(AB_EXIT_FAIL);
	}
	for (int i = 0; i < NSTATS; i++)
		if (ab_vm_kstats_get(ks, stat_names[i], &v)) {
			fail("KVM VM stat '%s' missing (docs/kernel-interface.md lists it)",
			     stat_names[i]);
			exit(AB_EXIT_FAIL);
		}
	return ks;
}

void read_stats(struct ab_vm_kstats *ks, struct kst *s)
{
	memset(s, 0, sizeof(*s));
	for (int i = 0; ks && i < NSTATS; i++)
		ab_vm_kstats_get(ks, stat_names[i], &s->v[i]);
}

void print_stats_delta(const struct kst *a, const struct kst *b)
{
	if (stock) {
		printf("  (--stock: no age_* stats to check)\n");
		return;
	}
	printf("  stats delta:");
	for (int i = 0; i < NSTATS; i++)
		printf(" %s=%" PRIu64, stat_names[i], b->v[i] - a->v[i]);
	printf("\n");
}

int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	if (n < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	close(fd);
	return 0;
}
/* ---- tracepoint kvm:kvm_age_walk (optional evidence of the mode used) ---- */
static char trace_dir[64];
static bool trace_was_off;

/* Enable the event and empty the buffer; false if there is no such event. */
bool trace_begin(void)
{
	static const char *const roots[] = {"/sys/kernel/tracing", "/sys/kernel/debug/tracing"};
	char p[160];

	if (stock)
		return false;
	for (unsigned i = 0; i < 2; i++) {
		snprintf(p, sizeof(p), "%s/events/kvm/kvm_age_walk/enable", roots[i]);
		if (!access(p, W_OK)) {
			snprintf(trace_dir, sizeof(trace_dir), "%s", roots[i]);
			break;
		}
	}
	if (!trace_dir[0])
		return false;
	snprintf(p, sizeof(p), "%s/trace", trace_dir);
	write_file(p, ""); /* opening "trace" with O_TRUNC empties the buffer */
	/* records need tracing_on (another test may have left it off) */
	snprintf(p, sizeof(p), "%s/tracing_on", trace_dir);
	{
		char *on = ab_read_file(p, NULL);

		trace_was_off = on && on[0] == '0';
		free(on);
		if (trace_was_off && write_file(p, "1"))
			return false;
	}
	snprintf(p, sizeof(p), "%s/events/kvm/kvm_age_walk/enable", trace_dir);
	return write_file(p, "1") == 0;
}

/*
 * Disable the event and count its records; records that carry a mode name
 * ("mode=<name>") must name @mode. Returns the number of records.
 */
uint64_t trace_end(const char *mode)
{
	char p[160], line[512];
	uint64_t recs = 0, named = 0, other = 0;
	FILE *f;

	snprintf(p, sizeof(p), "%s/events/kvm/kvm_age_walk/enable", trace_dir);
	write_file(p, "0");
	if (trace_was_off) {
		snprintf(p, sizeof(p), "%s/tracing_on", trace_dir);
		write_file(p, "0");
	}
	snprintf(p, sizeof(p), "%s/trace", trace_dir);
	f = fopen(p, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		char *m, name[32];

		if (line[0] == '#' || !strstr(line, "kvm_age_walk"))
			continue;
		recs++;
		m = strstr(line, "mode=");
		if (m && sscanf(m + 5, "%31[a-z0-9_]", name) == 1 && ab_vm_age_mode_known(name)) {
			named++;
			if (strcmp(name, mode) && !other++)
				fail("tracepoint kvm_age_walk reports mode=%s while mmu_age_mode "
				     "is %s: %.200s",
				     name, mode, line);
		}
	}
	fclose(f);
	info("  tracepoint kvm:kvm_age_walk: %" PRIu64 " records, %" PRIu64
	     " naming mode %s, %" PRIu64 " another",
	     recs, named - other, mode, other);
	return recs;
}
/*
 * @young from a non-declined call over all n pages; @set the touched
 * pages. Untouched-but-young always fails; touched-but-old fails except
 * in bitmap mode (may miss) or when @may_miss (declines seen).
 */
void judge_masked(const char *what, const char *mode, const uint64_t *young, const uint64_t *set,
		  const uint64_t *unknown, uint64_t n, uint64_t gfn0, bool may_miss,
		  struct tally *t)
{
	uint64_t falsey = 0, missed = 0, ff = UINT64_MAX, fm = UINT64_MAX;

	for (uint64_t i = 0; i < n; i++) {
		bool y = ab_vm_bit(young, i), s = ab_vm_bit(set, i);

		if (unknown && ab_vm_bit(unknown, i))
			continue;

		if (y && !s && !falsey++)
			ff = i;
		if (!y && s && !missed++)
			fm = i;
	}
	t->missed += missed;
	t->young += ab_vm_popcount(young, n);
	if (falsey)
		fail("%s (%s): %" PRIu64 " untouched pages reported young (first gfn 0x%" PRIx64
		     ")",
		     what, mode, falsey, gfn0 + ff);
	if (missed && !may_miss && !mode_may_miss(mode))
		fail("%s (%s): %" PRIu64 " of %" PRIu64
		     " touched pages reported old (first gfn 0x%" PRIx64 ")",
		     what, mode, missed, ab_vm_popcount(set, n), gfn0 + fm);
	else if (missed)
		info("  %s (%s): %" PRIu64 " touched pages not reported young (%s)", what, mode,
		     missed, may_miss ? "declines seen" : "the mode may miss");
	if (verbose || (!falsey && !missed))
		info("  %s (%s): young == touched (%" PRIu64 " pages)", what, mode,
		     ab_vm_popcount(set, n));
}

void judge(const char *what, const char *mode, const uint64_t *young, const uint64_t *set,
	   uint64_t n, uint64_t gfn0, bool may_miss, struct tally *t)
{
	judge_masked(what, mode, young, set, NULL, n, gfn0, may_miss, t);
}

/* One hook call over the whole region with structural checks. Returns
 * false if declined. */
bool hook(struct abvm *vm, const char *mode, bool clear, struct ab_vm_hook_result *res,
	  struct tally *t)
{
	uint64_t n = ab_vm_npages(vm), pop;
	char err[512];

	if (ab_vm_hook_call(vm, mode, ab_vm_gfn_base(vm), n, clear, res, err, sizeof(err))) {
		fail("hook: %s", err);
		exit(AB_EXIT_FAIL);
	}
	t->calls++;
	if (strcmp(res->mode, mode))
		fail("hook: asked for mode %s, the result says mode=%s", mode, res->mode);
	if (strcmp(res->op, clear ? "clear" : "test"))
		fail("hook: asked for op %s, the result says op=%s", clear ? "clear" : "test",
		     res->op);
	if (res->start != ab_vm_gfn_base(vm) || res->pages != n)
		fail("hook: asked for start=%" PRIu64 " pages=%" PRIu64 ", got start=%" PRIu64
		     " pages=%" PRIu64,
		     ab_vm_gfn_base(vm), n, res->start, res->pages);
	pop = ab_vm_popcount(res->bitmap, n);
	if (pop != res->young)
		fail("hook (%s %s): young=%" PRIu64 " but the bitmap has %" PRIu64 " bits", mode,
		     res->op, res->young, pop);
	if (res->declined) {
		t->declined++;
		if (mode_never_declines(mode))
			fail("hook: mode %s declined (it never declines, common/ab_modes.def)",
			     mode);
		if (res->young || pop)
			fail("hook: declined call reports young=%" PRIu64 " / %" PRIu64
			     " bits (must be 0)",
			     res->young, pop);
		return false;
	}
	return true;
}