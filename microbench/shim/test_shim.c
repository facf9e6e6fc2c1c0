// SPDX-License-Identifier: GPL-2.0
/*
 * test_shim.c - a C benchmark registered through ab_shim.h must appear in
 * Google Benchmark's JSON with its counters, the declared counter metadata,
 * the recorded CDF and the custom context.
 */
#include "ab_common.h"
#include "ab_shim.h"
#include "ab_check.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void bench_sum(ab_state *st, void *arg)
{
	int *calls = arg;
	volatile uint64_t x = 0;
	struct ab_hist h;

	ab_hist_init(&h);
	(*calls)++;
	while (ab_keep_running(st)) {
		for (int i = 0; i < 1000; i++)
			x += (uint64_t)i;
		ab_set_iteration_time(st, 1e-6);
	}
	for (uint64_t v = 1; v <= 1000; v++)
		ab_hist_record(&h, v);
	ab_counter(st, "pages", 4096.0 * (double)ab_range(st, 0), AB_CTR_DEFAULT);
	ab_counter(st, "pages_per_s", 1000.0, AB_CTR_RATE);
	/* Constant 0: Google Benchmark writes its cv aggregate as a bare NaN. */
	ab_counter(st, "declines", 0.0, AB_CTR_DEFAULT);
	ab_record_cdf(st, "fault", &h);
}

static void bench_other(ab_state *st, void *arg)
{
	while (ab_keep_running(st))
		;
}

static void bench_undeclared(ab_state *st, void *arg)
{
	while (ab_keep_running(st))
		;
	ab_counter(st, "no_such_counter", 1.0, AB_CTR_DEFAULT);
}

/* An undeclared counter ends the run with an error naming it, no results. */
static void test_undeclared(void)
{
	char path[] = "/tmp/ab_shim_undecl_XXXXXX", msg[512] = "";
	int fd = mkstemp(path), pfd[2];

	CHECK(fd >= 0 && pipe(pfd) == 0, "mkstemp/pipe");
	close(fd);
	unlink(path);
	pid_t pid = fork();
	if (pid == 0) {
		dup2(pfd[1], STDERR_FILENO);
		ab_bench *b = ab_register("unit/locked/4K", bench_undeclared, NULL);
		ab_bench_iterations(b, 1);
		struct ab_run_opts ro = {.json_out = path, .progress = AB_PROGRESS_QUIET};
		_exit(ab_run(&ro) < 0 ? 3 : 0);
	}
	close(pfd[1]);
	size_t got = 0;
	ssize_t n;
	while (got < sizeof(msg) - 1 && (n = read(pfd[0], msg + got, sizeof(msg) - 1 - got)) > 0)
		got += (size_t)n;
	msg[got] = 0;
	close(pfd[0]);
	int status = 0;
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 1,
	      "undeclared counter: exit status %d, signal %d",
	      WIFEXITED(status) ? WEXITSTATUS(status) : -1,
	      WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	CHECK(strstr(msg, "'no_such_counter' is not declared"), "message: %s", msg);
	CHECK(access(path, F_OK) != 0, "%s written despite the error", path);
}

int main(void)
{
	char path[] = "/tmp/ab_shim_test_XXXXXX";
	int fd = mkstemp(path), calls = 0;
	static const char *const names[] = {"pages"};
	static const int64_t args[] = {3};

	if (fd < 0)
		return 1;
	close(fd);

	ab_bench *b = ab_register("unit/locked/4K", bench_sum, &calls);
	ab_bench_args(b, args, 1);
	ab_bench_arg_names(b, names, 1);
	ab_bench_manual_time(b);
	ab_bench_iterations(b, 10);
	ab_bench *o = ab_register("unit/scan/4K", bench_other, NULL);
	ab_bench_iterations(o, 5);
	ab_add_context("backend", "unit-test");

	struct ab_run_opts ro = {
	    .json_out = path, .repetitions = 3, .progress = AB_PROGRESS_QUIET, .walkers = "locked"};
	int n = ab_run(&ro);
	CHECK(n == 1, "ab_run ran %d benchmarks, want 1 (walker filter keeps locked only)", n);
	CHECK(calls >= 3, "benchmark function called %d times, want >= 3 repetitions", calls);

	json_error_t err;
	json_t *root = json_load_file(path, 0, &err);
	CHECK(root != NULL, "JSON does not parse: %s", err.text);
	if (!root)
		return 1;
	const char *be =
	    json_string_value(json_object_get(json_object_get(root, "context"), "backend"));
	CHECK(be && !strcmp(be, "unit-test"), "context.backend missing");

	json_t *benches = json_object_get(root, "benchmarks"), *x;
	size_t i;
	int iters = 0;
	json_array_foreach(benches, i, x)
	{
		const char *name = json_string_value(json_object_get(x, "name"));
		const char *rt = json_string_value(json_object_get(x, "run_type"));

		CHECK(name && !strncmp(name, "unit/locked/4K/pages:3", 22), "unexpected name %s",
		      name ? name : "(null)");
		CHECK(!strstr(name ? name : "", "scan"), "walker filter let %s through", name);
		if (rt && !strcmp(rt, "iteration")) {
			iters++;
			json_t *c = json_object_get(x, "pages");
			CHECK(json_is_number(c) && json_number_value(c) == 4096.0 * 3,
			      "pages counter missing or wrong");
			CHECK(json_is_number(json_object_get(x, "pages_per_s")),
			      "pages_per_s counter missing");
		}
	}
	CHECK(iters == 3, "%d iteration rows, want 3 repetitions", iters);

	json_t *ab = json_object_get(root, "agebench");
	json_t *ctrs = json_object_get(ab, "counters");
	const char *unit =
	    json_string_value(json_object_get(json_object_get(ctrs, "pages"), "unit"));
	CHECK(unit && !strcmp(unit, ab_counter_find("pages")->unit), "counter metadata missing");
	CHECK(json_object_size(ctrs) == 3, "%zu counters declared, want the 3 emitted",
	      json_object_size(ctrs));
	const char *k;
	json_t *v;
	json_object_foreach(ctrs, k, v)
	{
		const struct ab_counter_def *d = ab_counter_find(k);
		CHECK(d && !strcmp(json_string_value(json_object_get(v, "better")),
				   ab_better_name(d->better)),
		      "%s: direction differs from the schema", k);
	}
	json_t *cdf =
	    json_object_get(json_object_get(json_object_get(ab, "cdf"),
					    "unit/locked/4K/pages:3/iterations:10/manual_time"),
			    "fault");
	CHECK(json_array_size(cdf) > 5, "fault CDF missing for the benchmark (keys: %s)",
	      json_dumps(json_object_get(ab, "cdf"), JSON_COMPACT));
	if (json_array_size(cdf) > 5) {
		json_t *last = json_array_get(cdf, json_array_size(cdf) - 1);
		CHECK(json_integer_value(json_array_get(last, 0)) == 1000, "CDF max is not 1000");
	}
	json_decref(root);
	char tmp[64];
	snprintf(tmp, sizeof(tmp), "%s.gbench.%ld", path, (long)getpid());
	CHECK(access(tmp, F_OK) != 0, "temporary %s left behind", tmp);
	unlink(path);
	test_undeclared();
	return ab_check_report("shim");
}
