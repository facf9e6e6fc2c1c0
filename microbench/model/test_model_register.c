// SPDX-License-Identifier: GPL-2.0
/*
 * test_model_register - ab_model_register() + ab_run(): the quick grid has
 * the documented names and size, and a real (short) run of two benchmarks
 * with one vCPU and invalidations emits every declared counter with sane
 * values, plus the fault CDF. Checks structure and internal consistency
 * only, never a performance figure.
 */
#include "abmodel.h"

#include <ab_bench_config.h>
#include <ab_common.h>
#include <ab_shim.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int failures;

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			failures++;                                                                \
			fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                       \
			fprintf(stderr, __VA_ARGS__);                                              \
			fputc('\n', stderr);                                                       \
		}                                                                                  \
	} while (0)

static double num(json_t *b, const char *k)
{
	json_t *v = json_object_get(b, k);
	return json_is_number(v) ? json_number_value(v) : -1;
}

int main(void)
{
	char path[] = "/tmp/ab_model_reg_XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0) {
		perror("mkstemp");
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
		if (!freopen("/dev/null", "w", stdout) || !freopen("/dev/null", "w", stderr))
			_exit(255);
		_exit(ab_run(&lo) & 0xff);
	}
	int status = 0, n;
	waitpid(pid, &status, 0);
	n = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	/* vcpus:0 runs only without invalidations (nothing would refault). */
	CHECK(n == 5 * 2 * 3, "quick grid with max_vcpus=1 has %d benchmarks, want 30", n);

	const char *filter = "^model/(locked|fast_only)/4K/pages:16384/vcpus:1/inval:1000/";
	struct ab_run_opts ro = {.filter = filter, .json_out = path, .quiet = true};
	n = ab_run(&ro);
	CHECK(n == 2, "filter %s ran %d benchmarks, want 2", filter, n);

	json_error_t jerr;
	json_t *root = json_load_file(path, 0, &jerr);
	CHECK(root != NULL, "results JSON does not parse: %s", jerr.text);
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
		if (!name || !rt || strcmp(rt, "iteration"))
			continue;
		seen++;
		bool fast = strstr(name, "/fast_only/") != NULL;
		const char *pre = fast ? "model/fast_only/4K/pages:16384/vcpus:1/inval:1000/"
				       : "model/locked/4K/pages:16384/vcpus:1/inval:1000/";
		CHECK(!strncmp(name, pre, strlen(pre)), "name %s", name);
		for (size_t k = 0; k < sizeof(want) / sizeof(want[0]); k++) {
			CHECK(num(b, want[k]) >= 0, "%s: counter %s missing", name, want[k]);
			CHECK(json_object_get(ctrs, want[k]) != NULL, "counter %s not declared",
			      want[k]);
		}
		CHECK(fast == (json_object_get(b, "declines") != NULL),
		      "%s: declines present iff fast_only/bitmap", name);
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
	json_decref(root);
out:
	unlink(path);
	printf("test_model_register: %d failed\n", failures);
	return failures ? 1 : 0;
}
