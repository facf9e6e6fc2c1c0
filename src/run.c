// SPDX-License-Identifier: GPL-2.0
/* run.c - `agebench run`: run the benchmarks, write results.json atomically. */
#include "ab_bench_config.h"
#include "ab_cli.h"
#include "ab_common.h"
#include "ab_shim.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void run_usage(FILE *f)
{
	fprintf(f,
		"usage: agebench run [options]\n"
		"\n"
		"Run the aging microbenchmarks and write DIR/results.json (Google Benchmark\n"
		"JSON plus agebench context), a summary table on stdout, then DIR/report.txt\n"
		"and DIR/figures/ (see 'agebench report').\n"
		"\n"
		"  --backend B      model (userspace TDP-MMU model, default) or kvm (real VMs)\n"
		"  --walker LIST    comma list of walkers to run (default all); 'agebench list\n"
		"                   modes' shows them: model walkers, kernel modes, native\n"
		"  --filter REGEX   only benchmarks whose name matches REGEX\n"
		"  --reps N         repetitions of each benchmark (default: 12)\n"
		"  --quick          the small grid (under 3 minutes on 2 cores)\n"
		"  --out DIR        output directory (default results/<timestamp>)\n"
		"  --max-vcpus N    vCPU threads, at most (default: as many as fit beside the\n"
		"                   walker, one PU each; more is refused, see below)\n"
		"  --allow-oversubscribe  run points whose walker + vCPU threads exceed the\n"
		"                   PUs; their results.json entries carry \"oversubscribed\": 1\n"
		"  --pages LIST     model: range sizes in pages, comma list (default: the grid's)\n"
		"  --batch LIST     pages per aging call, comma list of numbers or 'all' (model,\n"
		"                   and kvm with --driver hook: its notifier calls); default\n"
		"                   1,64,all (quick kvm: 1,64): page_idle/MGLRU per PTE,\n"
		"                   look-around, range\n"
		"  --no-pin         do not pin threads with hwloc\n"
		"  --driver D       kvm backend aging driver: hook, page_idle, lru_gen, reclaim\n"
		"                   (default: the best the running kernel offers)\n"
		"  --mode M         kvm backend: only this kvm.mmu_age_mode (default: all the\n"
		"                   kernel accepts; 'agebench list modes --kernel')\n"
		"  --mem-per-vcpu M kvm: M MiB of guest memory per vCPU\n"
		"  --min-age-ms MS  kvm: shortest aging window (default 200 quick, 1000 full;\n"
		"                   also the steady-refault windows' length)\n"
		"  --zap-rate R     kvm: steady refaults, MiB zapped per second (default: the\n"
		"                   whole guest once per second)\n"
		"  --nested PCT     kvm: PCT%% (1..100) of each VM's pages are touched by the\n"
		"                   guest's own guest (L3), which KVM maps through its shadow\n"
		"                   MMU; needs nested SVM (docs/nested.md)\n"
		"  --preset NAME    a published experiment on the kvm backend: houghton-v4\n"
		"                   (docs/kvm-backend.md)\n"
		"  --iterations N   force N iterations per benchmark (CI gate)\n"
		"  --list           list the benchmark names and exit\n"
		"  --no-report      do not write report.txt and figures\n"
		"  --no-interleave  run each benchmark's repetitions back to back (default:\n"
		"                   all repetitions of all benchmarks in a random order)\n"
		"  --seed N         seed of that order, 1 to 2^64-1 (default: a fresh one);\n"
		"                   results.json records it; the same N and other flags\n"
		"                   repeat the order (no effect with --no-interleave: a warning)\n"
		"  -v, --verbose    Google Benchmark's console table instead of progress lines\n"
		"  -q, --quiet      no progress on stderr\n"
		"  -h, --help       this help\n"
		"\n"
		"Exit status: 0 ok, 1 run failed, 2 bad usage. Ctrl-C leaves no results.json.\n");
}

static bool in_list(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (!strcmp(s, *list))
			return true;
	return false;
}

static int check_walkers(const char *arg)
{
	char *dup = strdup(arg), *save = NULL;
	int ret = 0;

	for (char *w = strtok_r(dup, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		if (!ab_mode_find(w)) {
			ab_warn("unknown walker '%s' (known: %s)", w, ab_mode_list(~0u));
			ret = -1;
		}
	}
	free(dup);
	return ret;
}

static long parse_pos(const char *opt, const char *arg)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || *end || v <= 0 || v > 1000000)
		ab_die(AB_EXIT_USAGE, "%s: expected a positive number, got '%s'", opt, arg);
	return v;
}

/* --seed: a decimal in 1..2^64-1 (0 would mean "a fresh one" to the shim). */
static uint64_t parse_seed(const char *arg)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(arg, &end, 10);
	if (!*arg || *arg < '0' || *arg > '9' || errno || *end || !v)
		ab_die(AB_EXIT_USAGE, "--seed: expected an integer from 1 to 2^64-1, got '%s'",
		       arg);
	return (uint64_t)v;
}

/* What a run leaves behind if interrupted: nothing (the shim removes its
 * temporary results file; the directory goes if this run created it). */
static char out_dir[4096];
static bool out_dir_created;

static void run_cleanup(void *arg)
{
	if (out_dir_created)
		rmdir(out_dir); /* only succeeds when empty */
}

/* ---- summary ------------------------------------------------------------ */

struct agg {
	char walker[AB_NAME_TOKEN];
	long vcpus, shadow;
	double log_ns, log_ratio;
	int n_ns, n_ratio;
	double rel_sum, p99_max, decl_sum, young_sum, fold_sum;
	int n_rel, n_p99, n_decl, n_young, n_fold;
};

static void name_parts(const char *name, char *walker, size_t wlen, long *vcpus, long *shadow)
{
	struct ab_name n;

	walker[0] = 0;
	*vcpus = -1;
	*shadow = 0;
	if (ab_name_parse(name, &n, NULL, 0))
		return;
	snprintf(walker, wlen, "%s", n.mode);
	*vcpus = ab_name_get_long(&n, "vcpus", -1);
	*shadow = ab_name_get_long(&n, "shadow", 0);
}

static double num(json_t *o, const char *k, bool *ok)
{
	json_t *v = json_object_get(o, k);

	*ok = json_is_number(v);
	return *ok ? json_number_value(v) : 0;
}

#define MAX_AGGS 128

/* The aggregate of @name's walker, vCPU count and shadow (a new one if
 * there is room), else NULL. */
static struct agg *agg_for(const char *name, struct agg *aggs, int *naggs)
{
	char walker[AB_NAME_TOKEN];
	long vcpus, shadow;
	int k;

	name_parts(name, walker, sizeof(walker), &vcpus, &shadow);
	for (k = 0; k < *naggs; k++)
		if (!strcmp(aggs[k].walker, walker) && aggs[k].vcpus == vcpus &&
		    aggs[k].shadow == shadow)
			break;
	if (k == *naggs) {
		if (*naggs == MAX_AGGS)
			return NULL;
		memset(&aggs[k], 0, sizeof(aggs[k]));
		snprintf(aggs[k].walker, sizeof(aggs[k].walker), "%s", walker);
		aggs[k].vcpus = vcpus;
		aggs[k].shadow = shadow;
		(*naggs)++;
	}
	return &aggs[k];
}

/* One benchmark run's counters into @a. */
static void agg_add(struct agg *a, json_t *b)
{
	bool ok;
	double v;

	v = num(b, "ns_per_page", &ok);
	if (ok && v > 0) {
		a->log_ns += log(v);
		a->n_ns++;
	}
	v = num(b, "walker_scan_ratio", &ok);
	if (ok && v > 0) {
		a->log_ratio += log(v);
		a->n_ratio++;
	}
	v = num(b, "vcpu_blocked_frac", &ok);
	if (ok) {
		a->rel_sum += v;
		a->n_rel++;
	}
	v = num(b, "fault_p99_ns", &ok);
	if (ok) {
		a->p99_max = a->n_p99++ ? fmax(a->p99_max, v) : v;
	}
	v = num(b, "declines", &ok);
	if (ok) {
		a->decl_sum += v;
		a->n_decl++;
	}
	v = num(b, "young", &ok);
	if (ok) {
		a->young_sum += v;
		a->n_young++;
	}
	v = num(b, "false_old", &ok);
	if (ok) {
		a->fold_sum += v;
		a->n_fold++;
	}
}

/* The successful iteration runs of @root, per walker x vCPU count x shadow. */
static int aggregate(json_t *root, struct agg *aggs)
{
	json_t *benches = json_object_get(root, "benchmarks"), *b;
	int naggs = 0;
	size_t i;

	json_array_foreach(benches, i, b)
	{
		const char *rt = json_string_value(json_object_get(b, "run_type"));
		const char *name = json_string_value(json_object_get(b, "run_name"));
		struct agg *a;

		if (!name)
			name = json_string_value(json_object_get(b, "name"));
		if (!name || (rt && strcmp(rt, "iteration")) ||
		    json_object_get(b, "error_occurred"))
			continue;
		a = agg_for(name, aggs, &naggs);
		if (a)
			agg_add(a, b);
	}
	return naggs;
}

/* @a's line of the table on @out, and its summary row. */
static json_t *summary_row(const struct agg *a, FILE *out)
{
	json_t *row = json_pack("{s:s, s:I, s:I}", "walker", a->walker, "vcpus",
				(json_int_t)a->vcpus, "shadow_pct", (json_int_t)a->shadow);
	char c[6][32];

	snprintf(c[0], 32, "-");
	snprintf(c[1], 32, "-");
	snprintf(c[2], 32, "-");
	snprintf(c[3], 32, "-");
	snprintf(c[4], 32, "-");
	snprintf(c[5], 32, "-");
	if (a->n_ns) {
		double g = exp(a->log_ns / a->n_ns);

		snprintf(c[0], 32, "%.3f", g);
		json_object_set_new(row, "ns_per_page_geomean", json_real(g));
	}
	if (a->n_ratio) {
		double g = exp(a->log_ratio / a->n_ratio);

		snprintf(c[1], 32, "%.2f", g);
		json_object_set_new(row, "walker_scan_ratio_geomean", json_real(g));
	}
	if (a->n_rel) {
		snprintf(c[2], 32, "%.2f%%", 100 * a->rel_sum / a->n_rel);
		json_object_set_new(row, "vcpu_blocked_frac_mean",
				    json_real(a->rel_sum / a->n_rel));
	}
	if (a->n_p99) {
		snprintf(c[3], 32, "%.0f ns", a->p99_max);
		json_object_set_new(row, "fault_p99_ns_max", json_real(a->p99_max));
	}
	if (a->n_decl) {
		snprintf(c[4], 32, "%.3g", a->decl_sum / a->n_decl);
		json_object_set_new(row, "declines_mean", json_real(a->decl_sum / a->n_decl));
	}
	if (a->n_fold) {
		snprintf(c[5], 32, "%.4g", a->fold_sum / a->n_fold);
		json_object_set_new(row, "false_old_mean", json_real(a->fold_sum / a->n_fold));
	}
	fprintf(out, "%-14s %5ld %5ld%% %8s %11s %8s %11s %8s %9s\n", a->walker, a->vcpus,
		a->shadow, c[0], c[1], c[2], c[3], c[4], c[5]);
	return row;
}

/* Per walker x vCPU count: geomean over the other parameters. */
static json_t *summarise(json_t *root, FILE *out)
{
	struct agg aggs[MAX_AGGS];
	int naggs = aggregate(root, aggs);
	json_t *arr = json_array();

	fprintf(out, "%-14s %5s %6s %8s %11s %8s %11s %8s %9s\n", "walker", "vcpus", "shadow",
		"ns/page", "walker/scan", "vcpu_blkd", "fault_p99", "declines", "false_old");
	for (int k = 0; k < naggs; k++)
		json_array_append_new(arr, summary_row(&aggs[k], out));
	fprintf(out, "(per walker, vCPU threads and %% of the range needing the lock: geometric "
		     "mean over\n page sizes, ranges and invalidation rates; vcpu_blkd: vCPU time "
		     "blocked on mmu_lock;\n fault_p99: worst; declines, false_old: per call)\n");
	return arr;
}

struct finish_arg {
	int argc;
	char **argv;
	FILE *summary;
};

/* The shim's one pass over the results: version, command and summary. */
static int finish_json(json_t *root, json_t *ab, void *argp)
{
	struct finish_arg *fa = argp;
	json_t *cmd = json_array();

	json_object_set_new(ab, "version", json_string(AB_VERSION));
	json_array_append_new(cmd, json_string("agebench"));
	for (int i = 0; i < fa->argc; i++)
		json_array_append_new(cmd, json_string(fa->argv[i]));
	json_object_set_new(ab, "command", cmd);
	json_object_set_new(ab, "summary", summarise(root, fa->summary));
	return 0;
}

static const struct option run_opts[] = {
    {"backend", required_argument, NULL, 'b'},
    {"walker", required_argument, NULL, 'w'},
    {"filter", required_argument, NULL, 'f'},
    {"reps", required_argument, NULL, 'r'},
    {"quick", no_argument, NULL, 'Q'},
    {"out", required_argument, NULL, 'o'},
    {"max-vcpus", required_argument, NULL, 'V'},
    {"no-pin", no_argument, NULL, 'P'},
    {"driver", required_argument, NULL, 'd'},
    {"mode", required_argument, NULL, 'm'},
    {"iterations", required_argument, NULL, 'i'},
    {"list", no_argument, NULL, 'l'},
    {"no-report", no_argument, NULL, 'R'},
    {"interleave", no_argument, NULL, 'I'},
    {"no-interleave", no_argument, NULL, 'N'},
    {"seed", required_argument, NULL, 'S'},
    {"allow-oversubscribe", no_argument, NULL, 'O'},
    {"pages", required_argument, NULL, 'p'},
    {"batch", required_argument, NULL, 'B'},
    {"mem-per-vcpu", required_argument, NULL, 'M'},
    {"min-age-ms", required_argument, NULL, 'A'},
    {"zap-rate", required_argument, NULL, 'Z'},
    {"preset", required_argument, NULL, 'E'},
    {"nested", required_argument, NULL, 'X'},
    {"verbose", no_argument, NULL, 'v'},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* What the command line asked for. */
struct run_args {
	struct ab_bench_config cfg;
	struct ab_run_opts ro;
	const char *backend, *out;
	bool backend_given, list, report;
};

/* parse_args()/check_args(): go on with the run (else: an exit status) */
#define RUN_GO (-1)

static int check_driver(const char *arg)
{
	if (!in_list(arg, ab_driver_names)) {
		ab_warn("unknown driver '%s' (known: hook, page_idle, lru_gen, "
			"reclaim)",
			arg);
		return -1;
	}
	return 0;
}

static int check_mode(const char *arg)
{
	const struct ab_mode *md = ab_mode_find(arg);

	if (!md || !(md->where & (AB_IN_KERNEL | AB_IN_KVM_ONLY))) {
		ab_warn("unknown mode '%s' (known: %s)", arg,
			ab_mode_list(AB_IN_KERNEL | AB_IN_KVM_ONLY));
		return -1;
	}
	return 0;
}

static int check_preset(const char *arg)
{
	if (strcmp(arg, "houghton-v4")) {
		ab_warn("unknown preset '%s' (known: houghton-v4)", arg);
		return -1;
	}
	return 0;
}

/* The options into @a, each value checked as it comes. */
static int parse_args(int argc, char **argv, struct run_args *a)
{
	struct ab_bench_config *cfg = &a->cfg;
	struct ab_run_opts *ro = &a->ro;
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "qvh", run_opts, NULL)) != -1) {
		switch (c) {
		case 'b':
			a->backend = optarg;
			a->backend_given = true;
			break;
		case 'w':
			if (check_walkers(optarg))
				return AB_EXIT_USAGE;
			ro->walkers = optarg;
			break;
		case 'f':
			ro->filter = optarg;
			break;
		case 'r':
			cfg->reps = (int)parse_pos("--reps", optarg);
			break;
		case 'Q':
			cfg->quick = true;
			break;
		case 'o':
			a->out = optarg;
			break;
		case 'V':
			cfg->max_vcpus = (int)parse_pos("--max-vcpus", optarg);
			break;
		case 'P':
			cfg->pin = false;
			break;
		case 'd':
			if (check_driver(optarg))
				return AB_EXIT_USAGE;
			cfg->driver = optarg;
			break;
		case 'm':
			if (check_mode(optarg))
				return AB_EXIT_USAGE;
			cfg->mode = optarg;
			break;
		case 'i':
			ro->iterations = parse_pos("--iterations", optarg);
			break;
		case 'l':
			a->list = true;
			break;
		case 'R':
			a->report = false;
			break;
		case 'I':
			ro->interleave = true;
			break;
		case 'N':
			ro->interleave = false;
			break;
		case 'S':
			ro->seed = parse_seed(optarg);
			break;
		case 'O':
			cfg->allow_oversubscribe = true;
			break;
		case 'p':
			cfg->pages = optarg;
			break;
		case 'B':
			cfg->batch = optarg;
			break;
		case 'M':
			cfg->mem_per_vcpu_mib = (int)parse_pos("--mem-per-vcpu", optarg);
			break;
		case 'A':
			cfg->min_age_ms = (int)parse_pos("--min-age-ms", optarg);
			break;
		case 'Z':
			cfg->zap_mib_s = (int)parse_pos("--zap-rate", optarg);
			break;
		case 'X':
			cfg->nested_pct = (int)parse_pos("--nested", optarg);
			if (cfg->nested_pct > 100) {
				ab_warn("--nested: %s is not a percentage (1..100)", optarg);
				return AB_EXIT_USAGE;
			}
			break;
		case 'E':
			if (check_preset(optarg))
				return AB_EXIT_USAGE;
			cfg->preset = optarg;
			break;
		case 'q':
			ro->progress = AB_PROGRESS_QUIET;
			break;
		case 'v':
			ro->progress = AB_PROGRESS_VERBOSE;
			break;
		case 'h':
			run_usage(stdout);
			return AB_EXIT_OK;
		default:
			if (optopt)
				ab_warn("run: option '-%c' is unknown or needs a value", optopt);
			else
				ab_warn("run: unknown option '%s'", argv[optind - 1]);
			run_usage(stderr);
			return AB_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		ab_warn("run: unexpected argument '%s'", argv[optind]);
		return AB_EXIT_USAGE;
	}
	return RUN_GO;
}

/* The options together: backend, preset and the backend-only flags. */
static int check_args(struct run_args *a)
{
	struct ab_bench_config *cfg = &a->cfg;

	if (strcmp(a->backend, "model") && strcmp(a->backend, "kvm")) {
		ab_warn("unknown backend '%s' (known: model, kvm)", a->backend);
		return AB_EXIT_USAGE;
	}
	if (cfg->preset) {
		if (a->backend_given && strcmp(a->backend, "kvm")) {
			ab_warn("--preset %s runs the kvm backend", cfg->preset);
			return AB_EXIT_USAGE;
		}
		a->backend = "kvm";
	}
	if (!strcmp(a->backend, "model") && (cfg->driver || cfg->mode)) {
		ab_warn("--driver and --mode apply to --backend kvm only");
		return AB_EXIT_USAGE;
	}
	if (!strcmp(a->backend, "model") && cfg->nested_pct) {
		ab_warn("--nested applies to --backend kvm only (the model has no nested guests)");
		return AB_EXIT_USAGE;
	}
	if (strcmp(a->backend, "model") && cfg->pages) {
		ab_warn("--pages applies to --backend model only (kvm: --mem-per-vcpu)");
		return AB_EXIT_USAGE;
	}
	/* A warning, not an error: the run is still a valid back-to-back run. */
	if (a->ro.seed && !a->ro.interleave)
		ab_warn("--seed has no effect with --no-interleave (repetitions run back to back)");
	return RUN_GO;
}

static void add_run_context(const struct run_args *a)
{
	const struct ab_bench_config *cfg = &a->cfg;
	const char *perf_reason;
	char buf[1024];

	ab_add_context("agebench_version", AB_VERSION);
	ab_add_context("kernel_release", ab_kernel_release());
	ab_add_context("backend", a->backend);
	ab_add_context("hwloc_topology", ab_topo_summary());
	ab_pin_describe(1 + (cfg->max_vcpus ? cfg->max_vcpus : ab_place_vcpu_capacity()), buf,
			sizeof(buf));
	ab_add_context("pinning", buf);
	ab_add_context("interleave", a->ro.interleave
					 ? "on (repetitions of all benchmarks in an order the shim "
					   "shuffles with the seed in interleave_seed; the same "
					   "command with --seed N repeats it)"
					 : "off (--no-interleave)");
	snprintf(buf, sizeof(buf), "%d", cfg->reps);
	ab_add_context("repetitions", buf);
	ab_perf_available(&perf_reason);
	ab_add_context("perf_counters", perf_reason);
	if (cfg->quick)
		ab_add_context("grid", "quick");
}

/* out_dir (--out, else results/<timestamp>), created; @final its results.json. */
static int prepare_out_dir(const char *out, char *final, size_t finallen)
{
	struct stat sb;
	char buf[1024];
	int rc;

	if (out) {
		snprintf(out_dir, sizeof(out_dir), "%s", out);
	} else {
		time_t t = time(NULL);
		struct tm tm;

		localtime_r(&t, &tm);
		strftime(buf, sizeof(buf), "%Y%m%d-%H%M%S", &tm);
		snprintf(out_dir, sizeof(out_dir), "results/%s", buf);
	}
	out_dir_created = stat(out_dir, &sb) != 0;
	if ((rc = ab_mkdir_p(out_dir))) {
		ab_warn("--out %s: %s", out_dir, strerror(-rc));
		return AB_EXIT_USAGE;
	}

	if (strlen(out_dir) > sizeof(out_dir) - 64) {
		ab_warn("--out: path too long");
		return AB_EXIT_USAGE;
	}
	snprintf(final, finallen, "%s/results.json", out_dir);
	return RUN_GO;
}

/* The run into @final, then the summary's companions and the report. */
static int run_and_report(struct run_args *a, int argc, char **argv, const char *final)
{
	struct finish_arg fa = {.argc = argc, .argv = argv, .summary = stdout};
	struct ab_run_opts *ro = &a->ro;

	ab_cleanup_push(run_cleanup, NULL);
	ro->json_out = final;
	ro->finish = finish_json;
	ro->finish_arg = &fa;
	if (ro->progress != AB_PROGRESS_QUIET)
		fprintf(stderr, "agebench: running %s benchmarks (%s grid), results in %s\n",
			a->backend, a->cfg.quick ? "quick" : "full", out_dir);

	if (ab_run(ro) <= 0)
		return AB_EXIT_FAIL;
	out_dir_created = false; /* it holds results now */
	printf("results: %s\n", final);
	if (a->cfg.preset)
		ab_kvm_preset_print(stdout);

	if (a->report) {
		char *rargv[] = {"report", out_dir, NULL};

		fflush(stdout);
		if (ab_cli_report(2, rargv))
			return AB_EXIT_FAIL;
	}
	return AB_EXIT_OK;
}

int ab_run_main(int argc, char **argv)
{
	/* Repetitions interleaved in a random order by default, so that a mode
	 * is not confounded with the time it ran at. */
	struct run_args a = {
	    .cfg = {.pin = true},
	    .ro = {.interleave = true},
	    .backend = "model",
	    .report = true,
	};
	struct ab_bench_config *cfg = &a.cfg;
	char err[4096] = "", final[4200]; /* err: the topology summary names the CPU model */
	int rc;

	if ((rc = parse_args(argc, argv, &a)) != RUN_GO || (rc = check_args(&a)) != RUN_GO)
		return rc;
	ab_pin_enable(cfg->pin);
	/*
	 * Repetitions = blocked rounds: the answer page pairs the modes within
	 * a round (signed-rank test), whose smallest two-sided p is 2/2^n, and
	 * Holm over its ~12 primaries needs p below 0.05/12: n = 10 gives
	 * 0.002; quick runs 12 so that two repetitions a loaded host starves
	 * leave 10 (docs/reporting.md "Design": the power at the default).
	 */
	if (!cfg->reps)
		cfg->reps = cfg->preset ? 3 : 12;
	add_run_context(&a);

	rc = !strcmp(a.backend, "model") ? ab_model_register(cfg, err, sizeof(err))
					 : ab_kvm_register(cfg, err, sizeof(err));
	if (rc == AB_REGISTER_USAGE) {
		ab_warn("%s", err);
		return AB_EXIT_USAGE;
	}
	if (rc) {
		ab_warn("backend %s unavailable: %s", a.backend, err);
		return AB_EXIT_FAIL;
	}
	if (a.list) {
		a.ro.list_only = true;
		return ab_run(&a.ro) > 0 ? AB_EXIT_OK : AB_EXIT_FAIL;
	}
	if ((rc = prepare_out_dir(a.out, final, sizeof(final))) != RUN_GO)
		return rc;
	return run_and_report(&a, argc, argv, final);
}
