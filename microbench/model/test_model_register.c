// SPDX-License-Identifier: GPL-2.0
/*
 * test_model_register - ab_model_register() + ab_run(): the quick grid has
 * the documented names and size, a real (short) run of two benchmarks with
 * one vCPU and invalidations emits every declared counter with sane values,
 * plus the fault CDF, and with shadow ranges (shadow:10) fast_only declines
 * and leaves young pages unanswered while locked answers everything. Checks
 * structure and internal consistency only, never a performance figure.
 */
#include "abmodel.h"
#include "ab_check.h"

#include <ab_bench_config.h>
#include <ab_common.h>
#include <ab_shim.h>

#include <jansson.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static double num(json_t *b, const char *k)
{
	json_t *v = json_object_get(b, k);
	return json_is_number(v) ? json_number_value(v) : -1;
}

static json_t *run_json(const char *filter, const char *path, int want)
{
	struct ab_run_opts ro = {.filter = filter, .json_out = path, .progress = AB_PROGRESS_QUIET};
	int n = ab_run(&ro);
	CHECK(n == want, "filter %s ran %d benchmarks, want %d", filter, n, want);
	json_error_t jerr;
	json_t *root = json_load_file(path, 0, &jerr);
	CHECK(root != NULL, "results JSON does not parse: %s", jerr.text);
	return root;
}

/* The model's walkers: the modes of the table that have one. */
static int nwalkers(char *alt, size_t len)
{
	int n = 0;
	size_t o = 0;

	alt[0] = 0;
	for (int w = 0; w < AB_MODE_NR; w++)
		if (ab_model_has_walker(w)) {
			o += snprintf(alt + o, len - o, "%s%s", n ? "|" : "", ab_mode_name(w));
			n++;
		}
	return n;
}

/* The names listed for the quick grid with max_vcpus=1: per walker, 4K only,
 * at batch 1 and 64 (vcpus 0, 1; no invalidations) and 16384 (the whole
 * range: vcpus 0, 1 and 1 with inval:1000), and a shadow:10 point (vcpus:1)
 * at each of the three call sizes: 10. */
#define PER_WALKER 10
static void check_names(const char *list)
{
	regex_t re;
	char alt[256], pat[512];
	int nw = nwalkers(alt, sizeof(alt));
	snprintf(pat, sizeof(pat),
		 "^model/(%s)/(4K|2M)/pages:16384/"
		 "vcpus:([01])/inval:(0|1000)/shadow:(0|10)/batch:(1|64|16384)/"
		 "iterations:(32|512)/repeats:1/manual_time$",
		 alt);
	CHECK(regcomp(&re, pat, REG_EXTENDED) == 0, "regex %s", pat);
	FILE *f = fopen(list, "r");
	char line[512];
	int n = 0, shadow = 0, bad = 0, b1 = 0, b64 = 0;
	CHECK(f != NULL, "cannot read the list");
	while (f && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		if (strncmp(line, "model/", 6))
			continue;
		n++;
		regmatch_t g[8];
		if (regexec(&re, line, 8, g, 0)) {
			if (bad++ < 3)
				CHECK(0, "listed name %s does not match the documented form", line);
			continue;
		}
		bool sh = line[g[5].rm_so] == '1';
		bool v1 = line[g[3].rm_so] == '1';
		bool inv = line[g[4].rm_so] == '1';
		bool k4 = line[g[2].rm_so] == '4';
		int blen = g[6].rm_eo - g[6].rm_so;
		bool bat1 = blen == 1, bat64 = blen == 2, whole = blen == 5;
		bool it64 = line[g[7].rm_so] == '3';
		b1 += bat1;
		b64 += bat64;
		CHECK(it64 == bat1, "%s: per-page calls run 32 passes, the others 512", line);
		CHECK(k4, "%s: 2M is in the full grid only", line);
		CHECK(whole || !inv, "%s: invalidations only with whole-range calls", line);
		if (sh) {
			shadow++;
			CHECK(k4 && v1 && !inv, "shadow point %s: want 4K, vcpus:1, inval:0", line);
		}
		CHECK(v1 || !inv, "%s: vcpus:0 with invalidations", line);
	}
	if (f)
		fclose(f);
	regfree(&re);
	CHECK(bad == 0, "%d names do not match", bad);
	CHECK(n == nw * PER_WALKER, "quick grid with max_vcpus=1 has %d benchmarks, want %d", n,
	      nw * PER_WALKER);
	CHECK(b1 == nw * 3 && b64 == nw * 3, "batch:1 %d, batch:64 %d points", b1, b64);
	CHECK(shadow == nw * 3, "%d shadow:10 points, want three per walker", shadow);
}

/* shadow:10: fast_only declines every whole-range call (a marked table is
 * in the range) and leaves the young pages of the range unanswered, so it
 * answers no page (ns_per_page_answered null); at batch:1 it declines the
 * calls in marked tables only (10% of the pages) and answers the others;
 * locked walks the marked tables normally. */
static void check_shadow(json_t *root)
{
	json_t *benches = json_object_get(root, "benchmarks"), *b;
	size_t i;
	int seen = 0;
	json_array_foreach(benches, i, b)
	{
		const char *name = json_string_value(json_object_get(b, "name"));
		const char *rt = json_string_value(json_object_get(b, "run_type"));
		if (!name || !rt || strcmp(rt, "iteration") || !strstr(name, "/shadow:10/"))
			continue;
		seen++;
		const char *em = json_string_value(json_object_get(b, "error_message"));
		if (em && strstr(em, "machine too loaded")) {
			fprintf(stderr, "note: %s: %s\n", name, em);
			continue;
		}
		CHECK(!em, "%s: %s", name, em);
		/* no zaps, no lock taken: fast_only never blocks a vCPU */
		CHECK(!strstr(name, "/fast_only/") || num(b, "vcpu_blocked_frac") == 0,
		      "%s: fast_only blocked the vCPU (%g) without invalidations", name,
		      num(b, "vcpu_blocked_frac"));
		if (strstr(name, "/fast_only/") && strstr(name, "/batch:1/")) {
			double d = num(b, "declines"), a = num(b, "ns_per_page_answered");

			CHECK(d > 16384 * 0.05 && d < 16384 * 0.2,
			      "%s: %g declined calls per pass, want about 10%% of 16384", name, d);
			CHECK(num(b, "false_old") > 0 && num(b, "false_old") <= d,
			      "%s: false_old %g, want young pages of declined calls", name,
			      num(b, "false_old"));
			CHECK(a > num(b, "ns_per_page"),
			      "%s: ns_per_page_answered %g <= ns_per_page %g", name, a,
			      num(b, "ns_per_page"));
		} else if (strstr(name, "/fast_only/")) {
			CHECK(num(b, "declines") == 1, "%s: declines %g, want 1 per call", name,
			      num(b, "declines"));
			CHECK(json_is_null(json_object_get(b, "ns_per_page_answered")),
			      "%s: ns_per_page_answered not null with every page declined", name);
			CHECK(num(b, "young") == 0, "%s: declined calls reported %g young", name,
			      num(b, "young"));
			CHECK(num(b, "false_old") > 0 && num(b, "false_old") <= 16384,
			      "%s: false_old %g, want young pages left unanswered", name,
			      num(b, "false_old"));
		} else {
			CHECK(num(b, "declines") == 0, "%s: locked declined (%g)", name,
			      num(b, "declines"));
			CHECK(num(b, "false_old") == 0, "%s: locked false_old %g", name,
			      num(b, "false_old"));
			CHECK(num(b, "young") > 0, "%s: locked young %g", name, num(b, "young"));
		}
	}
	CHECK(seen == 3, "shadow: %d iteration rows, want 3", seen);
}

/*
 * Every counter of every benchmark row is declared in results.json with
 * the unit and direction of the schema (common/ab_counters.def).
 */
static void check_declared(json_t *root)
{
	json_t *ctrs = json_object_get(json_object_get(root, "agebench"), "counters");
	json_t *benches = json_object_get(root, "benchmarks"), *b, *v;
	const char *k;
	size_t i;
	int checked = 0;

	json_array_foreach(benches, i, b)
	{
		json_object_foreach(b, k, v)
		{
			if (ab_gbench_field(k))
				continue;
			const struct ab_counter_def *d = ab_counter_find(k);
			json_t *c = json_object_get(ctrs, k);
			checked++;
			CHECK(d != NULL, "counter %s is not in the schema", k);
			CHECK(c && d &&
				  !strcmp(json_string_value(json_object_get(c, "unit")) ?: "",
					  d->unit) &&
				  !strcmp(json_string_value(json_object_get(c, "better")) ?: "",
					  ab_better_name(d->better)),
			      "counter %s not declared in results.json as the schema says", k);
		}
	}
	CHECK(checked > 20, "only %d counter values checked", checked);
}

int main(void)
{
	char path[] = "/tmp/ab_model_reg_XXXXXX";
	char list[] = "/tmp/ab_model_list_XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0) {
		perror("mkstemp");
		return 1;
	}
	close(fd);
	fd = mkstemp(list);
	if (fd < 0) {
		perror("mkstemp");
		unlink(path);
		return 1;
	}
	close(fd);

	struct ab_bench_config bad = {.quick = true, .max_vcpus = -1};
	char err[4096] = ""; /* as src/run.c's: a long CPU model name must not cut the advice */
	CHECK(ab_model_register(&bad, err, sizeof(err)) == -1 && strstr(err, "max_vcpus"),
	      "negative max_vcpus accepted");

	/* More vCPUs than fit beside the walker: refused, with the reason. */
	struct ab_bench_config over = {.quick = true, .max_vcpus = ab_place_vcpu_capacity() + 1};
	err[0] = 0;
	CHECK(ab_model_register(&over, err, sizeof(err)) == -1 && strstr(err, "refused") &&
		  strstr(err, "--allow-oversubscribe"),
	      "oversubscription not refused: '%s'", err);
	struct ab_bench_config badb = {.quick = true, .batch = "1,zero"};
	CHECK(ab_model_register(&badb, err, sizeof(err)) == AB_REGISTER_USAGE &&
		  strstr(err, "--batch"),
	      "bad --batch accepted");

	/* Quick grid, at most one vCPU (allowed even where it does not fit:
	 * then marked oversubscribed). */
	struct ab_bench_config cfg = {
	    .quick = true, .reps = 1, .max_vcpus = 1, .pin = false, .allow_oversubscribe = true};
	CHECK(ab_model_register(&cfg, err, sizeof(err)) == 0, "register: %s", err);
	/* ab_run() registers with Google Benchmark each time: list in a child. */
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		struct ab_run_opts lo = {.list_only = true, .progress = AB_PROGRESS_QUIET};
		/* The names go to stdout. */
		if (!freopen(list, "w", stdout) || !freopen("/dev/null", "w", stderr))
			_exit(255);
		_exit(ab_run(&lo) & 0xff);
	}
	int status = 0, n;
	waitpid(pid, &status, 0);
	n = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	/* vcpus:0 runs only without invalidations (nothing would refault);
	 * one shadow:10 point per walker. */
	char alt[256];
	int nw = nwalkers(alt, sizeof(alt));
	CHECK(nw == 6, "%d model walkers (%s), want 6", nw, alt);
	CHECK(n == nw * PER_WALKER, "quick grid with max_vcpus=1: ab_run listed %d, want %d", n,
	      nw * PER_WALKER);
	check_names(list);

	/* One ab_run per process (Google Benchmark is initialised once): the
	 * counter ab_check_total (vcpus:1, inval:1000) and the shadow:10 ab_check_total. */
	json_t *root =
	    run_json("^model/(locked|fast_only)/4K/pages:16384/vcpus:1/"
		     "(inval:1000/shadow:0|inval:0/shadow:10)/batch:16384/|"
		     "^model/fast_only/4K/pages:16384/vcpus:1/inval:0/shadow:10/batch:1/",
		     path, 5);
	if (!root)
		goto out;
	static const char *const want[] = {"ns_per_page",
					   "pages_per_s",
					   "young",
					   "fault_p50_ns",
					   "fault_p99_ns",
					   "fault_max_ns",
					   "vcpu_accesses_per_s",
					   "walker_scan_ratio",
					   "vcpu_faults_per_s",
					   "pages"};
	json_t *ctrs = json_object_get(json_object_get(root, "agebench"), "counters");
	json_t *benches = json_object_get(root, "benchmarks"), *b;
	size_t i;
	int seen = 0, loaded = 0;
	json_array_foreach(benches, i, b)
	{
		const char *name = json_string_value(json_object_get(b, "name"));
		const char *rt = json_string_value(json_object_get(b, "run_type"));
		const char *em = json_string_value(json_object_get(b, "error_message"));
		if (!name || !rt || strcmp(rt, "iteration") || strstr(name, "/shadow:10/"))
			continue;
		seen++;
		if (em && strstr(em, "machine too loaded")) {
			/* The point failed loudly, as it must; nothing to check. */
			fprintf(stderr, "note: %s: %s\n", name, em);
			loaded++;
			continue;
		}
		bool fast = strstr(name, "/fast_only/") != NULL;
		const char *pre =
		    fast ? "model/fast_only/4K/pages:16384/vcpus:1/inval:1000/shadow:0/batch:16384/"
			 : "model/locked/4K/pages:16384/vcpus:1/inval:1000/shadow:0/batch:16384/";
		CHECK(!strncmp(name, pre, strlen(pre)), "name %s", name);
		for (size_t k = 0; k < sizeof(want) / sizeof(want[0]); k++) {
			CHECK(num(b, want[k]) >= 0, "%s: counter %s missing", name, want[k]);
			CHECK(json_object_get(ctrs, want[k]) != NULL, "counter %s not declared",
			      want[k]);
		}
		/* No shadow ranges: nothing declined; false_old only with marks. */
		CHECK(fast == (json_object_get(b, "declines") != NULL),
		      "%s: declines present iff fast_only/bitmap (shadow:0)", name);
		CHECK(!fast || num(b, "declines") == 0, "%s: declines %g without shadow ranges",
		      name, num(b, "declines"));
		CHECK(json_object_get(b, "false_old") == NULL,
		      "%s: false_old without shadow ranges", name);
		CHECK(num(b, "ns_per_page") > 0, "%s: ns_per_page", name);
		CHECK(num(b, "ns_per_page_median") > 0, "%s: ns_per_page_median", name);
		CHECK(num(b, "young") > 0 && num(b, "young") <= 16384, "%s: young %g", name,
		      num(b, "young"));
		CHECK(num(b, "fault_p50_ns") <= num(b, "fault_p99_ns") &&
			  num(b, "fault_p99_ns") <= num(b, "fault_max_ns"),
		      "%s: fault percentiles out of order", name);
		/* access_rel is omitted when the baseline window saw no access
		 * (a starved vCPU thread); present, it is positive. */
		CHECK(!json_object_get(b, "access_rel") || num(b, "access_rel") > 0,
		      "%s: access_rel", name);
		CHECK(num(b, "walker_scan_ratio") > 0, "%s: walker_scan_ratio", name);
		/* the lock's share of vCPU time: a fraction (here with inval:1000
		 * the zaps' write lock blocks the vCPU under every walker) */
		double bf = num(b, "vcpu_blocked_frac");
		CHECK(bf >= 0 && bf <= 1, "%s: vcpu_blocked_frac %g", name, bf);
		/* the host: fractions of the window; marked iff a thread was off-CPU
		 * for more than 2% of it (schedstat missing: null, never marked) */
		double wo = num(b, "walker_offcpu_frac"), vo = num(b, "vcpu_offcpu_frac");
		double hi = num(b, "host_interfered");
		if (json_is_number(json_object_get(b, "walker_offcpu_frac"))) {
			CHECK(wo >= 0 && wo <= 1.05 && vo >= 0 && vo <= 1.05,
			      "%s: off-CPU fractions %g %g", name, wo, vo);
			CHECK(hi == (wo > 0.02 || vo > 0.02), "%s: host_interfered %g, off-CPU %g %g",
			      name, hi, wo, vo);
		} else {
			CHECK(hi == 0, "%s: marked without schedstat", name);
		}
		double sf = num(b, "fault_stall_frac"), bs = num(b, "base_fault_stall_frac");
		CHECK(sf >= 0 && sf <= 1 && bs >= 0 && bs <= 1, "%s: stall fractions %g %g", name,
		      sf, bs);
		CHECK(num(b, "vcpu_faults_per_s") > 0, "%s: vCPUs did not fault", name);
		CHECK(fast == (json_object_get(b, "lock_wait_ns") == NULL),
		      "%s: lock_wait_ns present iff the walker takes mmu_lock", name);
		CHECK(fast == (json_object_get(b, "lock_wait_frac") == NULL),
		      "%s: lock_wait_frac present iff the walker takes mmu_lock", name);
		CHECK(num(b, "pages") == 16384, "%s: pages per call %g", name, num(b, "pages"));
		CHECK(num(b, "vcpu_lock_wait_ns") >= 0, "%s: vcpu_lock_wait_ns missing", name);
		bool over = ab_place_vcpu_capacity() < 1;
		CHECK(over == (json_object_get(b, "oversubscribed") != NULL),
		      "%s: oversubscribed present iff 1 vCPU does not fit", name);
		json_t *cdf = json_object_get(
		    json_object_get(json_object_get(json_object_get(root, "agebench"), "cdf"),
				    name),
		    "fault");
		CHECK(json_array_size(cdf) > 5, "%s: fault CDF missing", name);
	}
	CHECK(seen == 2, "%d iteration rows, want 2", seen);
	if (loaded == seen) {
		printf("test_model_register: SKIP: every vCPU point failed with 'machine too "
		       "loaded' (%d checks before)\n",
		       ab_check_failures);
		json_decref(root);
		unlink(path);
		unlink(list);
		return ab_check_failures ? 1 : 77;
	}
	check_shadow(root);
	check_declared(root);
	json_decref(root);
out:
	unlink(path);
	unlink(list);
	printf("test_model_register: %d failed\n", ab_check_failures);
	return ab_check_failures ? 1 : 0;
}
