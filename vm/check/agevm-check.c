// SPDX-License-Identifier: GPL-2.0
/*
 * agevm-check - in-guest correctness checker of the patched kernel's
 * secondary-MMU aging (docs/kernel-interface.md), built on libabvm.
 *
 *   agevm-check exact --driver hook|page_idle --mode M [--mem 64M] [--rounds N] [--seed S]
 *   agevm-check lru_gen --mode M [--mem 64M]
 *   agevm-check switch [--seconds N]
 *   agevm-check stress --seconds N [--no-aging-ok]
 *
 * Exit: 0 pass, 1 fail (what differed is printed), 77 skip (the last line
 * says why), 2 usage. See docs/vm.md for what each check asserts.
 */
#define _GNU_SOURCE
#include "ab_vm.h"
#include "ab_vm_age.h"
#include "ab_vm_guest.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
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

#include "ab_common.h"

#define NSEC 1000000000ull

static const char *prog = "agevm-check";
static bool verbose;
/* --stock: check a kernel without the agebench patches (no mmu_age_mode,
 * no age_* stats): the exactness of its (locked) aging through page_idle
 * and MGLRU, i.e. the checker's own baseline */
static bool stock;
/* stress --modes: which modes the hook threads and the switcher use */
static unsigned int mode_mask = (1u << AB_VM_NR_AGE_MODES) - 1;

/* stress --without: stressors left out (to find which one a failure needs) */
enum { ST_HOOK, ST_IDLE, ST_SWITCH, ST_ZAPPER, ST_SLOTS, ST_VMS, ST_NR };
static const char *const stressor_names[ST_NR] = {"hook",   "idle",  "switch",
						  "zapper", "slots", "vms"};
static unsigned int stress_off;
static _Atomic int nfail;

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...)
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

static void info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
}

static _Noreturn void skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static _Noreturn void skip(const char *fmt, ...)
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

static _Noreturn void usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static _Noreturn void usage(const char *fmt, ...)
{
	va_list ap;

	if (fmt) {
		fprintf(stderr, "%s: ", prog);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
	fprintf(
	    stderr,
	    "usage: %s exact --driver hook|page_idle --mode M [--mem SIZE] [--rounds N] "
	    "[--seed S]\n"
	    "       %s lru_gen --mode M [--mem SIZE]\n"
	    "       %s switch [--seconds N]\n"
	    "       %s stress --seconds N [--no-aging-ok] [--modes M1,M2,...] [--without S1,...]\n"
	    "  modes: locked read_locked fast_only bitmap; common: --vcpus N --verbose\n"
	    "  stressors (--without): hook idle switch zapper slots vms\n"
	    "  --stock: check an unpatched kernel (no mode parameter, no age_* stats; exact "
	    "page_idle, lru_gen)\n",
	    prog, prog, prog, prog);
	exit(AB_EXIT_USAGE);
}

static int finish(const char *what)
{
	if (atomic_load(&nfail)) {
		printf("%s: FAILED (%d failure%s)\n", what, atomic_load(&nfail),
		       atomic_load(&nfail) == 1 ? "" : "s");
		return AB_EXIT_FAIL;
	}
	printf("%s: PASS\n", what);
	return AB_EXIT_OK;
}

/* ---- options ---- */
struct opts {
	const char *driver;
	const char *mode;
	uint64_t mem;
	int vcpus;
	int rounds;
	uint64_t seed;
	uint64_t seconds;
	bool no_aging_ok;
};

static void parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
	    {"driver", required_argument, 0, 'd'},  {"mode", required_argument, 0, 'm'},
	    {"mem", required_argument, 0, 'M'},	    {"vcpus", required_argument, 0, 'v'},
	    {"rounds", required_argument, 0, 'r'},  {"seed", required_argument, 0, 's'},
	    {"seconds", required_argument, 0, 'S'}, {"no-aging-ok", no_argument, 0, 'n'},
	    {"modes", required_argument, 0, 'L'},   {"without", required_argument, 0, 'W'},
	    {"verbose", no_argument, 0, 'V'},	    {"stock", no_argument, 0, 'k'},
	    {"help", no_argument, 0, 'h'},	    {0, 0, 0, 0},
	};
	int c;
	uint64_t v;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'd':
			if (strcmp(optarg, "hook") && strcmp(optarg, "page_idle"))
				usage("--driver: unknown driver '%s' (hook, page_idle)", optarg);
			o->driver = optarg;
			break;
		case 'm':
			if (ab_vm_age_mode_index(optarg) < 0)
				usage("--mode: unknown mode '%s' (locked, read_locked, fast_only, "
				      "bitmap)",
				      optarg);
			o->mode = optarg;
			break;
		case 'M':
			if (ab_parse_size(optarg, &o->mem) || !o->mem || o->mem % AB_VM_HUGE_SIZE)
				usage("--mem: '%s' is not a non-zero multiple of 2M", optarg);
			break;
		case 'v':
			if (ab_parse_size(optarg, &v) || v < 1 || v > AB_VM_MAX_VCPUS)
				usage("--vcpus: '%s' not in 1..%d", optarg, AB_VM_MAX_VCPUS);
			o->vcpus = (int)v;
			break;
		case 'r':
			if (ab_parse_size(optarg, &v) || v < 1 || v > 1000)
				usage("--rounds: '%s' not in 1..1000", optarg);
			o->rounds = (int)v;
			break;
		case 's':
			if (ab_parse_size(optarg, &o->seed))
				usage("--seed: bad number '%s'", optarg);
			break;
		case 'S':
			if (ab_parse_size(optarg, &o->seconds) || !o->seconds || o->seconds > 86400)
				usage("--seconds: '%s' not in 1..86400", optarg);
			break;
		case 'n':
			o->no_aging_ok = true;
			break;
		case 'V':
			verbose = true;
			break;
		case 'L': {
			char *dup = strdup(optarg), *tok, *save = NULL;

			mode_mask = 0;
			for (tok = strtok_r(dup, ",", &save); tok;
			     tok = strtok_r(NULL, ",", &save)) {
				int mi = ab_vm_age_mode_index(tok);

				if (mi < 0)
					usage("--modes: unknown mode '%s'", tok);
				mode_mask |= 1u << mi;
			}
			free(dup);
			if (!mode_mask)
				usage("--modes: empty list");
			break;
		}
		case 'W': {
			char *dup = strdup(optarg), *tok, *save = NULL;

			for (tok = strtok_r(dup, ",", &save); tok;
			     tok = strtok_r(NULL, ",", &save)) {
				int si = 0;

				while (si < ST_NR && strcmp(tok, stressor_names[si]))
					si++;
				if (si == ST_NR)
					usage("--without: unknown stressor '%s' (hook idle switch "
					      "zapper slots vms)",
					      tok);
				stress_off |= 1u << si;
			}
			free(dup);
			break;
		}
		case 'k':
			stock = true;
			break;
		default:
			usage(NULL);
		}
	}
	if (optind < argc)
		usage("unexpected argument '%s'", argv[optind]);
}

/* ---- environment ---- */

static char orig_mode[32];

/* Runs at exit and from common's SIGINT/SIGTERM handler (ab_cleanup):
 * open/write/close only. */
static void restore_mode(void *arg)
{
	(void)arg;
	if (orig_mode[0])
		ab_vm_age_mode_set(orig_mode);
}

/* Skip unless the patched kernel's parameter exists; remember the mode. */
static void need_param(void)
{
	int r;

	if (stock)
		return;
	r = ab_vm_age_mode_get(orig_mode, sizeof(orig_mode));

	if (r)
		skip("%s: %s: kernel without the agebench aging patches", AB_VM_AGE_MODE_PARAM,
		     strerror(-r));
	if (ab_vm_age_mode_index(orig_mode) < 0) {
		fail("%s reads '%s', not one of the four modes", AB_VM_AGE_MODE_PARAM, orig_mode);
		exit(AB_EXIT_FAIL);
	}
	ab_cleanup_push(restore_mode, NULL);
}

static void set_mode_or_die(const char *mode)
{
	char now[32];
	int r;

	if (stock)
		return;
	r = ab_vm_age_mode_set(mode);
	if (r) {
		fail("cannot set %s to %s: %s", AB_VM_AGE_MODE_PARAM, mode, strerror(-r));
		exit(AB_EXIT_FAIL);
	}
	if (ab_vm_age_mode_get(now, sizeof(now)) || strcmp(now, mode)) {
		fail("%s reads '%s' after writing '%s'", AB_VM_AGE_MODE_PARAM, now, mode);
		exit(AB_EXIT_FAIL);
	}
}

static struct abvm *make_vm(uint64_t mem, int vcpus)
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
	r = ab_vm_create(&cfg, &vm, err, sizeof(err));
	if (r) {
		if (ab_vm_exit_code(r) == AB_EXIT_SKIP)
			skip("%s", err);
		printf("FAIL: cannot create the VM: %s\n", err);
		exit(ab_vm_exit_code(r) == AB_EXIT_USAGE ? AB_EXIT_USAGE : AB_EXIT_FAIL);
	}
	return vm;
}

static void run_or_die(struct abvm *vm, const struct ab_vm_work *w, const char *what)
{
	int r = ab_vm_run(vm, w);

	if (r) {
		fail("%s: %s (%s)", what, ab_vm_strerr(r), ab_vm_last_error(vm));
		exit(AB_EXIT_FAIL);
	}
}

static void populate(struct abvm *vm)
{
	struct ab_vm_work w;

	ab_vm_work_init(&w);
	run_or_die(vm, &w, "populating guest memory");
}

static void touch_or_die(struct abvm *vm, const uint64_t *set, enum ab_vm_op op)
{
	int r = ab_vm_touch(vm, set, op);

	if (!r)
		r = ab_vm_wait(vm, 120 * NSEC);
	if (r) {
		fail("guest touch: %s (%s)", ab_vm_strerr(r), ab_vm_last_error(vm));
		exit(AB_EXIT_FAIL);
	}
}

static uint64_t *bm_alloc(uint64_t n)
{
	uint64_t *b = calloc((n + 63) / 64 + 1, 8);

	if (!b) {
		fail("out of memory");
		exit(AB_EXIT_FAIL);
	}
	return b;
}

/* A pseudo-random set of ~1/density of the pages, plus both ends. */
static void make_set(uint64_t *set, uint64_t n, uint64_t seed, unsigned density)
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
#define NSTATS 6
struct kst {
	uint64_t v[NSTATS];
};

static struct ab_vm_kstats *open_stats(struct abvm *vm)
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

static void read_stats(struct ab_vm_kstats *ks, struct kst *s)
{
	memset(s, 0, sizeof(*s));
	for (int i = 0; ks && i < NSTATS; i++)
		ab_vm_kstats_get(ks, stat_names[i], &s->v[i]);
}

static void print_stats_delta(const struct kst *a, const struct kst *b)
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

static int write_file(const char *path, const char *s)
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
static bool trace_begin(void)
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
static uint64_t trace_end(const char *mode)
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
		if (m && sscanf(m + 5, "%31[a-z_]", name) == 1 && ab_vm_age_mode_index(name) >= 0) {
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

/* ---- exact: evaluate one answer against the touched set ---- */
struct tally {
	uint64_t calls, declined, missed, young;
};

/*
 * @young from a non-declined call over all n pages; @set the touched
 * pages. Untouched-but-young always fails; touched-but-old fails except
 * in bitmap mode (may miss) or when @may_miss (declines seen).
 */
static void judge_masked(const char *what, const char *mode, const uint64_t *young,
			 const uint64_t *set, const uint64_t *unknown, uint64_t n, uint64_t gfn0,
			 bool may_miss, struct tally *t)
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
	if (missed && !may_miss && strcmp(mode, "bitmap"))
		fail("%s (%s): %" PRIu64 " of %" PRIu64
		     " touched pages reported old (first gfn 0x%" PRIx64 ")",
		     what, mode, missed, ab_vm_popcount(set, n), gfn0 + fm);
	else if (missed)
		info("  %s (%s): %" PRIu64 " touched pages not reported young (%s)", what, mode,
		     missed, may_miss ? "declines seen" : "bitmap may miss");
	if (verbose || (!falsey && !missed))
		info("  %s (%s): young == touched (%" PRIu64 " pages)", what, mode,
		     ab_vm_popcount(set, n));
}

static void judge(const char *what, const char *mode, const uint64_t *young, const uint64_t *set,
		  uint64_t n, uint64_t gfn0, bool may_miss, struct tally *t)
{
	judge_masked(what, mode, young, set, NULL, n, gfn0, may_miss, t);
}

/* One hook call over the whole region with structural checks. Returns
 * false if declined. */
static bool hook(struct abvm *vm, const char *mode, bool clear, struct ab_vm_hook_result *res,
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
		if (!strcmp(mode, "locked") || !strcmp(mode, "read_locked"))
			fail("hook: mode %s declined (only fast_only/bitmap may)", mode);
		if (res->young || pop)
			fail("hook: declined call reports young=%" PRIu64 " / %" PRIu64
			     " bits (must be 0)",
			     res->young, pop);
		return false;
	}
	return true;
}

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

static int cmd_exact(struct opts *o)
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

/* ---- lru_gen ---- */

static char cg_dir[300];
static int cg_td = -1;

static const char *cgroup2_root(void)
{
	static char root[256];
	FILE *f = fopen("/proc/mounts", "r");
	char dev[256], mnt[256], type[64];

	if (!f)
		return NULL;
	while (fscanf(f, "%255s %255s %63s %*[^\n]", dev, mnt, type) == 3)
		if (!strcmp(type, "cgroup2")) {
			snprintf(root, sizeof(root), "%s", mnt);
			fclose(f);
			return root;
		}
	fclose(f);
	return NULL;
}

/* Our memcg's id and max_seq of node @nid from /sys/kernel/debug/lru_gen. */
static int lru_gen_state(const char *cgpath, int *memcg_id, int *nid, uint64_t *max_seq)
{
	FILE *f = fopen("/sys/kernel/debug/lru_gen", "r");
	char line[512];
	bool ours = false, found = false;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char path[300];
		int id, node;
		unsigned long long seq;

		if (sscanf(line, "memcg %d %299s", &id, path) == 2) {
			ours = !strcmp(path, cgpath);
			if (ours)
				*memcg_id = id;
		} else if (sscanf(line, " node %d", &node) == 1) {
			if (ours && !found)
				*nid = node;
		} else if (ours && *nid >= 0 && sscanf(line, " %llu", &seq) == 1) {
			*max_seq = seq; /* generations are listed oldest first */
			found = true;
		}
	}
	fclose(f);
	return found ? 0 : -ENOENT;
}

static char lru_gen_orig[32];

static void restore_lru_gen(void *arg)
{
	(void)arg;
	if (lru_gen_orig[0])
		write_file("/sys/kernel/mm/lru_gen/enabled", lru_gen_orig);
}

static int cmd_lru_gen(struct opts *o)
{
	const char *root;
	char buf[400], *en, cgpath[300];
	unsigned long caps;
	struct abvm *vm;
	struct ab_vm_kstats *ks;
	struct ab_vm_work w;
	struct kst s0, s1;
	int memcg_id = -1, nid = -1, r, agings = 0;
	bool traced;
	uint64_t max_seq = 0, seq0 = 0;

	if (stock && !o->mode)
		o->mode = "locked";
	if (!o->mode)
		usage("lru_gen: --mode is required");
	need_param();
	en = ab_read_file("/sys/kernel/mm/lru_gen/enabled", NULL);
	if (!en)
		skip("/sys/kernel/mm/lru_gen/enabled: %s (kernel without CONFIG_LRU_GEN)",
		     strerror(errno));
	if (access("/sys/kernel/debug/lru_gen", W_OK))
		skip("/sys/kernel/debug/lru_gen: %s (debugfs not mounted, or no CONFIG_LRU_GEN)",
		     strerror(errno));
	caps = strtoul(en, NULL, 0);
	free(en);
	if ((caps & 3) != 3) {
		/* MGLRU off or without its page-table walker: turn both on */
		snprintf(lru_gen_orig, sizeof(lru_gen_orig), "0x%04lx", caps);
		snprintf(buf, sizeof(buf), "0x%04lx", caps | 3);
		if (write_file("/sys/kernel/mm/lru_gen/enabled", buf))
			skip("MGLRU caps 0x%04lx lack the mm walk (0x2) and cannot be enabled",
			     caps);
		ab_cleanup_push(restore_lru_gen, NULL);
	}
	root = cgroup2_root();
	if (!root)
		skip("no cgroup2 mount (mount -t cgroup2 none /sys/fs/cgroup)");
	snprintf(buf, sizeof(buf), "%s/cgroup.controllers", root);
	en = ab_read_file(buf, NULL);
	if (!en || !strstr(en, "memory"))
		skip("%s: no memory controller in cgroup v2 (bound to cgroup v1?)", buf);
	free(en);
	snprintf(buf, sizeof(buf), "%s/cgroup.subtree_control", root);
	r = write_file(buf, "+memory");
	if (r)
		skip("enabling +memory in %s: %s", buf, strerror(-r));
	set_mode_or_die(o->mode);

	/* our memcg: created, registered for cleanup, joined */
	snprintf(cg_dir, sizeof(cg_dir), "%s/agevm-check-%d", root, (int)getpid());
	snprintf(cgpath, sizeof(cgpath), "/agevm-check-%d", (int)getpid());
	if (mkdir(cg_dir, 0755)) {
		fail("mkdir %s: %s", cg_dir, strerror(errno));
		return AB_EXIT_FAIL;
	}
	snprintf(buf, sizeof(buf), "%s/cgroup.procs", root);
	cg_td = ab_cleanup_add(AB_CLEANUP_CGROUP, cg_dir, buf);
	snprintf(buf, sizeof(buf), "%s/cgroup.procs", cg_dir);
	{
		char pid[24];

		snprintf(pid, sizeof(pid), "%d", (int)getpid());
		r = write_file(buf, pid);
		if (r) {
			fail("joining %s: %s", cg_dir, strerror(-r));
			ab_cleanup_run(cg_td);
			return AB_EXIT_FAIL;
		}
	}

	vm = make_vm(o->mem, o->vcpus);
	ks = open_stats(vm);
	info("lru_gen --mode %s: memcg %s, %" PRIu64 " MiB guest memory", o->mode, cgpath,
	     o->mem >> 20);
	populate(vm);
	/* keep the vCPUs touching their memory while MGLRU ages */
	ab_vm_work_init(&w);
	w.passes = 0;
	w.order = AB_VM_ORDER_RANDOM;
	w.op = AB_VM_OP_READ;
	if (ab_vm_start(vm, &w))
		fail("starting vCPUs: %s", ab_vm_last_error(vm));
	usleep(50 * 1000);
	traced = trace_begin();
	read_stats(ks, &s0);
	for (int i = 0; i < 4; i++) {
		char cmd[128];

		r = lru_gen_state(cgpath, &memcg_id, &nid, &max_seq);
		if (r) {
			fail("our memcg %s not found in /sys/kernel/debug/lru_gen", cgpath);
			break;
		}
		if (!i)
			seq0 = max_seq;
		/* + memcg_id node_id max_gen_nr [swappiness [force_scan]] */
		snprintf(cmd, sizeof(cmd), "+ %d %d %" PRIu64 " 1 1\n", memcg_id, nid, max_seq);
		r = write_file("/sys/kernel/debug/lru_gen", cmd);
		if (r) {
			fail("writing '%.*s' to /sys/kernel/debug/lru_gen: %s",
			     (int)strlen(cmd) - 1, cmd, strerror(-r));
			break;
		}
		agings++;
		usleep(20 * 1000);
	}
	read_stats(ks, &s1);
	if (traced && !trace_end(o->mode) && agings)
		fail("tracepoint kvm:kvm_age_walk recorded no walk during MGLRU aging");
	lru_gen_state(cgpath, &memcg_id, &nid, &max_seq);
	ab_vm_stop(vm);
	print_stats_delta(&s0, &s1);
	info("  %d aging commands, max_seq %" PRIu64 " -> %" PRIu64, agings, seq0, max_seq);
	if (agings && max_seq <= seq0)
		fail("MGLRU aging did not advance max_seq (%" PRIu64 ")", max_seq);
	if (ks && agings && s1.v[0] <= s0.v[0])
		fail("age_calls did not grow: MGLRU's walk never reached KVM aging (mode %s)",
		     o->mode);
	if (ks && agings && s1.v[1] <= s0.v[1])
		fail("age_pages_scanned did not grow: the %s walker was not used", o->mode);
	ab_vm_kstats_close(ks);
	ab_vm_destroy(vm);
	ab_cleanup_run(cg_td); /* leave and remove the memcg */
	if (access(cg_dir, F_OK) == 0)
		fail("could not remove %s", cg_dir);
	return finish("lru_gen");
}

/* ---- switch ---- */

struct switcher {
	_Atomic bool stop;
	uint64_t switches;
};

static void *switch_thread(void *arg)
{
	struct switcher *s = arg;

	while (!atomic_load(&s->stop)) {
		const char *m = ab_vm_age_modes[s->switches % AB_VM_NR_AGE_MODES];
		int r = ab_vm_age_mode_set(m);

		if (r)
			fail("switching %s to %s: %s", AB_VM_AGE_MODE_PARAM, m, strerror(-r));
		s->switches++;
		usleep(500);
	}
	return NULL;
}

struct idler {
	struct abvm *vm;
	_Atomic bool stop;
	uint64_t reads;
};

static void *idle_thread(void *arg)
{
	struct idler *d = arg;
	uint64_t n = ab_vm_npages(d->vm), *pfns = calloc(n, 8), *young = bm_alloc(n);
	char err[256];
	int fd = open(AB_VM_PAGE_IDLE_PATH, O_RDWR | O_CLOEXEC);

	if (fd < 0 || !pfns)
		goto out;
	while (!atomic_load(&d->stop)) {
		if (ab_vm_pagemap_pfns(ab_vm_hva(d->vm), n, pfns, err, sizeof(err))) {
			fail("%s", err);
			break;
		}
		if (ab_vm_idle_mark(fd, pfns, n) || ab_vm_idle_read(fd, pfns, n, young, NULL)) {
			fail("page_idle failed during mode switches");
			break;
		}
		d->reads++;
	}
out:
	if (fd >= 0)
		close(fd);
	free(pfns);
	free(young);
	return NULL;
}

static int cmd_switch(struct opts *o)
{
	struct abvm *vm;
	struct ab_vm_work w;
	struct switcher sw = {0};
	struct idler id = {0};
	pthread_t st, it;
	bool idle_on;
	uint64_t n, calls[AB_VM_NR_AGE_MODES] = {0}, t_end;
	struct ab_vm_hook_result res;
	struct ab_vm_vcpu_stats vs0, vs1;
	struct tally t = {0};
	char path[200];

	need_param();
	if (access("/sys/kernel/debug/kvm", F_OK))
		skip("/sys/kernel/debug/kvm: %s (debugfs not mounted)", strerror(errno));
	vm = make_vm(o->mem, o->vcpus);
	if (!ab_vm_hook_path(vm, path, sizeof(path)))
		skip("%s: no such file (kernel without the age_bench debugfs hook)", path);
	n = ab_vm_npages(vm);
	res.bitmap = bm_alloc(n);
	res.words = (n + 63) / 64;
	populate(vm);
	ab_vm_work_init(&w);
	w.passes = 0;
	w.order = AB_VM_ORDER_RANDOM;
	if (ab_vm_start(vm, &w)) {
		fail("starting vCPUs: %s", ab_vm_last_error(vm));
		return AB_EXIT_FAIL;
	}
	ab_vm_stats_total(vm, &vs0);
	pthread_create(&st, NULL, switch_thread, &sw);
	id.vm = vm;
	idle_on = access(AB_VM_PAGE_IDLE_PATH, F_OK) == 0;
	if (idle_on)
		pthread_create(&it, NULL, idle_thread, &id);
	t_end = ab_now_ns() + o->seconds * NSEC;
	for (uint64_t i = 0; ab_now_ns() < t_end || i < 4 * AB_VM_NR_AGE_MODES; i++) {
		int mi = (int)(i % AB_VM_NR_AGE_MODES);

		hook(vm, ab_vm_age_modes[mi], i % 2, &res, &t); /* checks mode/op/range/young */
		calls[mi]++;
	}
	atomic_store(&sw.stop, true);
	atomic_store(&id.stop, true);
	pthread_join(st, NULL);
	if (idle_on)
		pthread_join(it, NULL);
	if (ab_vm_stop(vm))
		fail("vCPUs failed while modes switched: %s", ab_vm_last_error(vm));
	ab_vm_stats_total(vm, &vs1);
	if (vs1.accesses <= vs0.accesses)
		fail("vCPUs made no progress while modes switched");
	if (vs1.exits_other)
		fail("%" PRIu64 " unexpected vCPU exits", vs1.exits_other);
	info("switch: %" PRIu64 " mode switches; hook calls locked %" PRIu64 " read_locked %" PRIu64
	     " fast_only %" PRIu64 " bitmap %" PRIu64 " (declined %" PRIu64
	     "); page_idle reads %" PRIu64 "%s; vCPU accesses %" PRIu64,
	     sw.switches, calls[0], calls[1], calls[2], calls[3], t.declined, id.reads,
	     idle_on ? "" : " (no page_idle)", vs1.accesses - vs0.accesses);
	if (sw.switches < 4 * AB_VM_NR_AGE_MODES)
		fail("only %" PRIu64 " mode switches happened", sw.switches);
	free(res.bitmap);
	ab_vm_destroy(vm);
	return finish("switch");
}

/* ---- stress ---- */

struct stress {
	struct abvm *vm;
	_Atomic bool stop;
	bool hook_on, idle_on, param_on;
	_Atomic uint64_t age_calls, checked_calls, zaps, slot_ops, vm_cycles, switches;
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
		const char *m = ab_vm_age_modes[a->mode];

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
		if (ab_vm_run(vm, &w))
			fail("VM churn: run: %s", ab_vm_last_error(vm));
		if (s->hook_on &&
		    (mode_mask & (1u << (atomic_load(&s->vm_cycles) % AB_VM_NR_AGE_MODES)))) {
			const char *m =
			    ab_vm_age_modes[atomic_load(&s->vm_cycles) % AB_VM_NR_AGE_MODES];

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

static void *stress_switch(void *arg)
{
	struct stress *s = arg;

	while (!atomic_load(&s->stop)) {
		uint64_t k = atomic_fetch_add(&s->switches, 1);
		int r;

		if (!(mode_mask & (1u << (k % AB_VM_NR_AGE_MODES))))
			continue;
		r = ab_vm_age_mode_set(ab_vm_age_modes[k % AB_VM_NR_AGE_MODES]);

		if (r)
			fail("mode switch: %s", strerror(-r));
		usleep(1000);
	}
	return NULL;
}

static int cmd_stress(struct opts *o)
{
	struct stress s = {0};

	pthread_rwlock_init(&s.hook_lock, NULL);
	struct ager ag[AB_VM_NR_AGE_MODES];
	pthread_t th[16];
	int nth = 0;
	struct ab_vm_work w;
	struct ab_vm_vcpu_stats v0, v1;
	char path[200], mode[32];

	if (!o->seconds)
		usage("stress: --seconds N is required");
	s.param_on = ab_vm_age_mode_get(mode, sizeof(mode)) == 0;
	if (s.param_on)
		need_param();
	else if (!o->no_aging_ok && !stock) /* --stock: plain 6.12, page_idle ages */
		skip("%s: %s: kernel without the agebench aging patches", AB_VM_AGE_MODE_PARAM,
		     strerror(ENOENT));
	s.vm = make_vm(o->mem, o->vcpus);
	s.hook_on = ab_vm_hook_path(s.vm, path, sizeof(path)) && !(stress_off & 1u << ST_HOOK);
	s.idle_on = access(AB_VM_PAGE_IDLE_PATH, F_OK) == 0 && !(stress_off & 1u << ST_IDLE);
	if (s.param_on && (stress_off & 1u << ST_SWITCH))
		s.param_on = false; /* no mode switches (the mode stays as it is) */
	if (!s.hook_on && !s.idle_on && !o->no_aging_ok)
		skip("nothing ages the VM: %s and %s are absent or left out (--without)", path,
		     AB_VM_PAGE_IDLE_PATH);
	{
		char off[64] = "";

		for (int si = 0; si < ST_NR; si++)
			if (stress_off & 1u << si)
				snprintf(off + strlen(off), sizeof(off) - strlen(off), "%s%s",
					 off[0] ? "," : "; left out: ", stressor_names[si]);
		info("stress: %" PRIu64 " s, %" PRIu64
		     " MiB, %d vCPUs; aging via%s%s%s; mode switches %s%s",
		     o->seconds, o->mem >> 20, o->vcpus, s.hook_on ? " hook (all modes)" : "",
		     s.idle_on ? " page_idle" : "",
		     !s.hook_on && !s.idle_on ? " nothing (--no-aging-ok)" : "",
		     s.param_on ? "on" : "off", off);
	}
	populate(s.vm);
	ab_vm_work_init(&w);
	w.passes = 0;
	w.order = AB_VM_ORDER_RANDOM;
	if (ab_vm_start(s.vm, &w)) {
		fail("starting vCPUs: %s", ab_vm_last_error(s.vm));
		return AB_EXIT_FAIL;
	}
	ab_vm_stats_total(s.vm, &v0);
	if (s.hook_on)
		for (int m = 0; m < AB_VM_NR_AGE_MODES; m++) {
			if (!(mode_mask & (1u << m)))
				continue;
			ag[m] = (struct ager){&s, m};
			pthread_create(&th[nth++], NULL, stress_ager, &ag[m]);
		}
	if (s.idle_on)
		pthread_create(&th[nth++], NULL, stress_idle, &s);
	if (s.param_on)
		pthread_create(&th[nth++], NULL, stress_switch, &s);
	if (!(stress_off & 1u << ST_ZAPPER))
		pthread_create(&th[nth++], NULL, stress_zapper, &s);
	if (!(stress_off & 1u << ST_SLOTS))
		pthread_create(&th[nth++], NULL, stress_slots, &s);
	if (!(stress_off & 1u << ST_VMS))
		pthread_create(&th[nth++], NULL, stress_vms, &s);
	for (uint64_t t = 0; t < o->seconds * 10 && !atomic_load(&nfail); t++)
		usleep(100 * 1000);
	atomic_store(&s.stop, true);
	for (int i = 0; i < nth; i++)
		pthread_join(th[i], NULL);
	if (ab_vm_stop(s.vm))
		fail("vCPUs failed under stress: %s", ab_vm_last_error(s.vm));
	ab_vm_stats_total(s.vm, &v1);
	info("  vCPU accesses %" PRIu64 " passes %" PRIu64 "; aging calls %" PRIu64 " (%" PRIu64
	     " checked)"
	     ", 2M zaps %" PRIu64 ", memslot ops %" PRIu64 ", VM create/destroy %" PRIu64
	     ", mode switches %" PRIu64,
	     v1.accesses - v0.accesses, v1.passes - v0.passes, atomic_load(&s.age_calls),
	     atomic_load(&s.checked_calls), atomic_load(&s.zaps), atomic_load(&s.slot_ops),
	     atomic_load(&s.vm_cycles), s.param_on ? atomic_load(&s.switches) : 0);
	if (v1.passes <= v0.passes)
		fail("vCPUs completed no pass under stress");
	if (!atomic_load(&nfail) && ((!(stress_off & 1u << ST_VMS) && !atomic_load(&s.vm_cycles)) ||
				     (!(stress_off & 1u << ST_SLOTS) && !atomic_load(&s.slot_ops))))
		fail("VM churn or memslot churn made no progress");
	/* afterwards the VM still answers exactly (locked clear, touch, test) */
	if (s.hook_on && !atomic_load(&nfail)) {
		uint64_t n = ab_vm_npages(s.vm), *set = bm_alloc(n);
		struct ab_vm_hook_result res = {.bitmap = bm_alloc(n), .words = (n + 63) / 64};
		struct tally t = {0};

		populate(s.vm); /* refault what the zapper dropped */
		hook(s.vm, "locked", true, &res, &t);
		make_set(set, n, 4242, 8);
		touch_or_die(s.vm, set, AB_VM_OP_READ);
		if (hook(s.vm, "locked", false, &res, &t))
			judge("after stress", "locked", res.bitmap, set, n, ab_vm_gfn_base(s.vm),
			      false, &t);
		free(set);
		free(res.bitmap);
	}
	ab_vm_destroy(s.vm);
	return finish("stress");
}

int main(int argc, char **argv)
{
	struct opts o = {.mem = 64ull << 20, .vcpus = 2, .rounds = 4, .seed = 1, .seconds = 0};
	const char *cmd;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2)
		usage(NULL);
	cmd = argv[1];
	parse_opts(argc - 1, argv + 1, &o);
	ab_cleanup_install();
	if (!strcmp(cmd, "exact"))
		return cmd_exact(&o);
	if (!strcmp(cmd, "lru_gen"))
		return cmd_lru_gen(&o);
	if (!strcmp(cmd, "switch")) {
		if (!o.seconds)
			o.seconds = 5;
		return cmd_switch(&o);
	}
	if (!strcmp(cmd, "stress"))
		return cmd_stress(&o);
	usage("unknown subcommand '%s'", cmd);
}
