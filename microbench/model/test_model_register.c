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
	struct ab_run_opts ro = {.filter = filter, .json_out = path, .quiet = true};
	int n = ab_run(&ro);
	CHECK(n == want, "filter %s ran %d benchmarks, want %d", filter, n, want);
	json_error_t jerr;
	json_t *root = json_load_file(path, 0, &jerr);
	CHECK(root != NULL, "results JSON does not parse: %s", jerr.text);
	return root;
}

/* The names listed for the quick grid with max_vcpus=1. */
static void check_names(const char *list)
{
	regex_t re;
	regcomp(&re,
		"^model/(locked|read_locked|fast_only|bitmap|scan)/(4K|2M)/pages:16384/"
		"vcpus:([01])/inval:(0|1000)/shadow:(0|10)/iterations:1024/repeats:1/manual_time$",
		REG_EXTENDED);
	FILE *f = fopen(list, "r");
	char line[512];
	int n = 0, shadow = 0, bad = 0;
	CHECK(f != NULL, "cannot read the list");
	while (f && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		if (strncmp(line, "model/", 6))
			continue;
		n++;
		regmatch_t g[6];
		if (regexec(&re, line, 6, g, 0)) {
			if (bad++ < 3)
				CHECK(0, "listed name %s does not match the documented form", line);
			continue;
		}
		bool sh = line[g[5].rm_so] == '1';
		bool v1 = line[g[3].rm_so] == '1';
		bool inv = line[g[4].rm_so] == '1';
		bool k4 = line[g[2].rm_so] == '4';
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
	CHECK(n == 5 * 2 * 3 + 5, "quick grid with max_vcpus=1 has %d benchmarks, want 35", n);
	CHECK(shadow == 5, "%d shadow:10 points, want one per walker", shadow);
}

/* shadow:10: fast_only declines every whole-range call (a marked table is
 * in the range) and leaves the young pages of the range unanswered; locked
 * walks the marked tables normally. */
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
		CHECK(!json_object_get(b, "error_message"), "%s: %s", name,
		      json_string_value(json_object_get(b, "error_message")));
		if (strstr(name, "/fast_only/")) {
			CHECK(num(b, "declines") == 1, "%s: declines %g, want 1 per call", name,
			      num(b, "declines"));
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
	CHECK(seen == 2, "shadow: %d iteration rows, want 2", seen);
	json_t *fo = json_object_get(json_object_get(json_object_get(root, "agebench"), "counters"),
				     "false_old");
	CHECK(fo && !strcmp(json_string_value(json_object_get(fo, "unit")) ?: "", "pages") &&
		  !strcmp(json_string_value(json_object_get(fo, "better")) ?: "", "lower"),
	      "false_old not declared as pages, lower is better");
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
	char err[256] = "";
	CHECK(ab_model_register(&bad, err, sizeof(err)) == -1 && strstr(err, "max_vcpus"),
	      "negative max_vcpus accepted");

	/* Quick grid, at most one vCPU: 5 walkers x 2 page sizes x vcpus {0,1} x inval {0,1000}. */
	struct ab_bench_config cfg = {.quick = true, .reps = 1, .max_vcpus = 1, .pin = false};
	CHECK(ab_model_register(&cfg, err, sizeof(err)) == 0, "register: %s", err);
	/* ab_run() registers with Google Benchmark each time: list in a child. */
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		struct ab_run_opts lo = {.list_only = true, .quiet = true};
		/* Google Benchmark lists on the reporter's stream, stderr here. */
		if (!freopen("/dev/null", "w", stdout) || !freopen(list, "w", stderr))
			_exit(255);
		_exit(ab_run(&lo) & 0xff);
	}
	int status = 0, n;
	waitpid(pid, &status, 0);
	n = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	/* vcpus:0 runs only without invalidations (nothing would refault);
	 * one shadow:10 point per walker. */
	CHECK(n == 5 * 2 * 3 + 5, "quick grid with max_vcpus=1: ab_run listed %d, want 35", n);
	check_names(list);

	/* One ab_run per process (Google Benchmark is initialised once): the
	 * counter ab_check_total (vcpus:1, inval:1000) and the shadow:10 ab_check_total. */
	json_t *root = run_json("^model/(locked|fast_only)/4K/pages:16384/vcpus:1/"
				"(inval:1000/shadow:0|inval:0/shadow:10)/",
				path, 4);
	if (!root)
		goto out;
	static const char *const want[] = {
	    "ns_per_page",	   "pages_per_s",  "young",
	    "fault_p50_ns",	   "fault_p99_ns", "fault_max_ns",
	    "vcpu_accesses_per_s", "vcpu_rel",	   "walker_scan_ratio",
	    "vcpu_faults_per_s"};
	json_t *ctrs = json_object_get(json_object_get(root, "agebench"), "counters");
	json_t *benches = json_object_get(root, "benchmarks"), *b;
	size_t i;
	int seen = 0;
	json_array_foreach(benches, i, b)
	{
		const char *name = json_string_value(json_object_get(b, "name"));
		const char *rt = json_string_value(json_object_get(b, "run_type"));
		if (!name || !rt || strcmp(rt, "iteration") || strstr(name, "/shadow:10/"))
			continue;
		seen++;
		bool fast = strstr(name, "/fast_only/") != NULL;
		const char *pre =
		    fast ? "model/fast_only/4K/pages:16384/vcpus:1/inval:1000/shadow:0/"
			 : "model/locked/4K/pages:16384/vcpus:1/inval:1000/shadow:0/";
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
		CHECK(num(b, "vcpu_rel") > 0, "%s: vcpu_rel", name);
		CHECK(num(b, "walker_scan_ratio") > 0, "%s: walker_scan_ratio", name);
		CHECK(num(b, "vcpu_faults_per_s") > 0, "%s: vCPUs did not fault", name);
		CHECK(fast == (json_object_get(b, "lock_wait_ns") == NULL),
		      "%s: lock_wait_ns present iff the walker takes mmu_lock", name);
		json_t *cdf = json_object_get(
		    json_object_get(json_object_get(json_object_get(root, "agebench"), "cdf"),
				    name),
		    "fault");
		CHECK(json_array_size(cdf) > 5, "%s: fault CDF missing", name);
	}
	CHECK(seen == 2, "%d iteration rows, want 2", seen);
	check_shadow(root);
	json_decref(root);
out:
	unlink(path);
	unlink(list);
	printf("test_model_register: %d failed\n", ab_check_failures);
	return ab_check_failures ? 1 : 0;
}
