// SPDX-License-Identifier: GPL-2.0
/*
 * test_interleave.c - the shim's seeded interleaving (ab_run_opts.interleave,
 * .seed). Two benchmarks, A ("unit/locked/4K", 3 instances, its own 3
 * repetitions: "repeats:3" in the names) and B ("unit/scan/4K", 2 instances,
 * opts->repetitions 2), record the order they run in from inside their
 * functions and latency histograms that say which instance and repetition
 * recorded them. Asserted: the same seed gives the same order, another seed
 * another; every (instance, repetition) runs once; results.json has the seed,
 * the order (the one the functions saw), per name repetition_index 0..R-1 and
 * the names and family indices of a run without interleaving; each name's
 * CDF is the merge of its own repetitions only; the order is blocked rounds
 * (round r runs repetition r of every instance with more than r, so A1..A3
 * and B1, B2 once each in each of the first two rounds, then A1..A3), recorded
 * as agebench.interleave.design "rounds"; without interleave the
 * repetitions run back to back; --list prints one line per instance.
 *
 * Google Benchmark keeps its flags from one Initialize() to the next, so
 * each run is in a child process.
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

#define NA	3 /* instances of A */
#define NB	2 /* instances of B */
#define REPS_A	3
#define REPS_B	2
#define NRUNS	(NA * REPS_A + NB * REPS_B)
#define MAXLINE 64

static FILE *g_log; /* the child's record of the order */
static int g_calls[2][4];

/* Instance n of benchmark @which ('A' or 'B'): values tell it and its repetition. */
static void bench(ab_state *st, char which)
{
	int n = (int)ab_range(st, 0), rep = g_calls[which - 'A'][n]++;
	uint64_t base = (which == 'A' ? 1000u : 100000u) * (uint64_t)n + 100u * (uint64_t)rep;
	struct ab_hist h;

	while (ab_keep_running(st))
		ab_set_iteration_time(st, 1e-6);
	ab_hist_init(&h);
	for (uint64_t v = 1; v <= 50; v++)
		ab_hist_record(&h, base + v);
	ab_record_cdf(st, "fault", &h);
	if (g_log)
		fprintf(g_log, "%c%d\n", which, n);
}

static void bench_a(ab_state *st, void *arg)
{
	bench(st, 'A');
}

static void bench_b(ab_state *st, void *arg)
{
	bench(st, 'B');
}

static void register_benches(void)
{
	static const char *const names[] = {"n"};
	ab_bench *a = ab_register("unit/locked/4K", bench_a, NULL);
	ab_bench *b = ab_register("unit/scan/4K", bench_b, NULL);

	for (int64_t n = 1; n <= NA; n++)
		ab_bench_args(a, &n, 1);
	ab_bench_arg_names(a, names, 1);
	ab_bench_manual_time(a);
	ab_bench_iterations(a, 1);
	ab_bench_repetitions(a, REPS_A);
	for (int64_t n = 1; n <= NB; n++)
		ab_bench_args(b, &n, 1);
	ab_bench_arg_names(b, names, 1);
	ab_bench_manual_time(b);
	ab_bench_iterations(b, 1);
}

struct run {
	char order[NRUNS + 8][MAXLINE]; /* what the functions logged */
	int n, rc;
	json_t *root;
};

/* One ab_run in a child: @seed, @interleave; its log into @r, results.json parsed. */
static void run_child(uint64_t seed, bool interleave, bool list, struct run *r)
{
	char json[] = "/tmp/ab_il_json_XXXXXX", log[] = "/tmp/ab_il_log_XXXXXX", line[MAXLINE];
	int jfd = mkstemp(json), lfd = mkstemp(log), status = 0;

	memset(r, 0, sizeof(*r));
	CHECK(jfd >= 0 && lfd >= 0, "mkstemp");
	close(jfd);
	close(lfd);
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		struct ab_run_opts ro = {.json_out = list ? NULL : json,
					 .repetitions = REPS_B,
					 .progress = AB_PROGRESS_QUIET,
					 .interleave = interleave,
					 .seed = seed,
					 .list_only = list};
		if (list ? !freopen(log, "w", stdout) : !(g_log = fopen(log, "w")))
			_exit(255);
		int n = ab_run(&ro);
		fflush(NULL);
		_exit(n < 0 ? 254 : n);
	}
	waitpid(pid, &status, 0);
	r->rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	FILE *f = fopen(log, "r");
	while (f && fgets(line, sizeof(line), f) && r->n < NRUNS + 8) {
		line[strcspn(line, "\n")] = 0;
		snprintf(r->order[r->n++], MAXLINE, "%s", line);
	}
	if (f)
		fclose(f);
	if (!list) {
		json_error_t err;
		r->root = json_load_file(json, 0, &err);
		CHECK(r->root, "results.json does not parse: %s", err.text);
	}
	unlink(json);
	unlink(log);
}

static bool same_order(const struct run *a, const struct run *b)
{
	if (a->n != b->n)
		return false;
	for (int i = 0; i < a->n; i++)
		if (strcmp(a->order[i], b->order[i]))
			return false;
	return true;
}

/* "A2" of a benchmark name ("unit/locked/4K/n:2/..."), into @tag. */
static void tag_of(const char *name, char *tag, size_t len)
{
	const char *n = strstr(name, "/n:");

	snprintf(tag, len, "%c%d", strstr(name, "/locked/") ? 'A' : 'B', n ? atoi(n + 3) : -1);
}

/* Every (instance, repetition) ran once: A1..A3 3 times, B1, B2 twice. */
static void check_counts(const struct run *r, const char *what)
{
	int cnt[2][4] = {{0}};

	CHECK(r->n == NRUNS, "%s: %d runs logged, want %d", what, r->n, NRUNS);
	for (int i = 0; i < r->n; i++) {
		int w = r->order[i][0] - 'A', n = atoi(r->order[i] + 1);

		if (w >= 0 && w < 2 && n >= 1 && n <= 3)
			cnt[w][n]++;
	}
	for (int n = 1; n <= NA; n++)
		CHECK(cnt[0][n] == REPS_A, "%s: A%d ran %d times, want %d", what, n, cnt[0][n],
		      REPS_A);
	for (int n = 1; n <= NB; n++)
		CHECK(cnt[1][n] == REPS_B, "%s: B%d ran %d times, want %d", what, n, cnt[1][n],
		      REPS_B);
}

/* agebench.interleave: @seed, and the order the functions logged, numbered per name. */
static void check_recorded_order(const struct run *r, uint64_t seed)
{
	json_t *ab = json_object_get(r->root, "agebench");
	json_t *il = json_object_get(ab, "interleave");
	json_t *order = json_object_get(il, "order"), *o;
	const char *cs = json_string_value(
	    json_object_get(json_object_get(r->root, "context"), "interleave_seed"));
	char want[32], tag[16];
	int seen[2][4] = {{0}};
	size_t i;

	CHECK(json_integer_value(json_object_get(il, "seed")) == (json_int_t)seed,
	      "agebench.interleave.seed is not %llu", (unsigned long long)seed);
	snprintf(want, sizeof(want), "%llu", (unsigned long long)seed);
	CHECK(cs && !strcmp(cs, want), "context.interleave_seed %s, want %s", cs ? cs : "-", want);
	CHECK(json_array_size(order) == NRUNS, "order has %zu entries, want %d",
	      json_array_size(order), NRUNS);
	json_array_foreach(order, i, o)
	{
		const char *s = json_string_value(o), *hash = s ? strrchr(s, '#') : NULL;

		CHECK(hash, "order[%zu] is not \"<name>#<rep>\"", i);
		if (!hash)
			continue;
		tag_of(s, tag, sizeof(tag));
		CHECK((int)i < r->n && !strcmp(tag, r->order[i]),
		      "order[%zu] is %s, the functions ran %s", i, tag,
		      (int)i < r->n ? r->order[i] : "nothing");
		int w = tag[0] - 'A', n = atoi(tag + 1);
		if (w >= 0 && w < 2 && n >= 1 && n <= 3)
			CHECK(atoi(hash + 1) == seen[w][n]++, "order[%zu] %s: rep %d", i, s,
			      atoi(hash + 1));
	}
}

/* Per name: repetition_index 0..R-1 in file order, repetitions R; no aggregates. */
static void check_repetitions(const struct run *r)
{
	json_t *b, *benches = json_object_get(r->root, "benchmarks");
	int seen[2][4] = {{0}};
	char tag[16];
	size_t i;

	CHECK(json_array_size(benches) == NRUNS, "%zu benchmark entries, want %d",
	      json_array_size(benches), NRUNS);
	json_array_foreach(benches, i, b)
	{
		const char *name = json_string_value(json_object_get(b, "name"));
		const char *rn = json_string_value(json_object_get(b, "run_name"));

		tag_of(name ? name : "", tag, sizeof(tag));
		int w = tag[0] - 'A', n = atoi(tag + 1), reps = w ? REPS_B : REPS_A;
		if (w < 0 || w > 1 || n < 1 || n > 3) {
			CHECK(0, "unexpected entry %s", name ? name : "(null)");
			continue;
		}
		CHECK(rn && !strcmp(rn, name), "%s: run_name %s", name, rn ? rn : "-");
		CHECK(json_integer_value(json_object_get(b, "repetition_index")) == seen[w][n]++,
		      "%s: repetition_index out of order", name);
		CHECK(json_integer_value(json_object_get(b, "repetitions")) == reps,
		      "%s: repetitions is not %d", name, reps);
		CHECK(!strcmp(json_string_value(json_object_get(b, "run_type")), "iteration"),
		      "%s: not an iteration row", name);
	}
}

/* Blocked rounds: each round holds every instance with that many repetitions once. */
static void check_rounds(const struct run *r, const char *what)
{
	static const int round_len[] = {NA + NB, NA + NB, NA};
	int pos = 0;

	for (int k = 0; k < 3; k++) {
		int cnt[2][4] = {{0}};

		for (int i = 0; i < round_len[k] && pos < r->n; i++, pos++) {
			int w = r->order[pos][0] - 'A', n = atoi(r->order[pos] + 1);

			if (w >= 0 && w < 2 && n >= 1 && n <= 3)
				cnt[w][n]++;
		}
		for (int n = 1; n <= NA; n++)
			CHECK(cnt[0][n] == 1, "%s: round %d runs A%d %d times, want once", what, k,
			      n, cnt[0][n]);
		for (int n = 1; n <= NB; n++)
			CHECK(cnt[1][n] == (k < REPS_B), "%s: round %d runs B%d %d times, want %d",
			      what, k, n, cnt[1][n], k < REPS_B);
	}
	if (r->root) {
		json_t *il = json_object_get(json_object_get(r->root, "agebench"), "interleave");
		const char *d = json_string_value(json_object_get(il, "design"));

		CHECK(d && !strcmp(d, "rounds"),
		      "%s: agebench.interleave.design is %s, want rounds", what, d ? d : "absent");
	}
}

/* The names, family indices and repetitions of @a's rows equal @b's (as sets). */
static void check_same_rows(const struct run *a, const struct run *b)
{
	json_t *ba = json_object_get(a->root, "benchmarks"), *x, *y;
	json_t *bb = json_object_get(b->root, "benchmarks");
	size_t i, j, matched = 0;

	json_array_foreach(ba, i, x)
	{
		json_array_foreach(bb, j, y)
		{
			static const char *const keys[] = {"name",
							   "run_name",
							   "family_index",
							   "per_family_instance_index",
							   "repetition_index",
							   "repetitions"};
			bool eq = true;

			for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
				eq &= json_equal(json_object_get(x, keys[k]),
						 json_object_get(y, keys[k]));
			if (eq) {
				matched++;
				break;
			}
		}
	}
	CHECK(matched == json_array_size(ba) && matched == NRUNS,
	      "%zu of %zu interleaved rows match the back-to-back run's", matched,
	      json_array_size(ba));
}

/* Does results.json have a row named @name? */
static bool has_row(json_t *root, const char *name)
{
	json_t *b;
	size_t i;

	json_array_foreach(json_object_get(root, "benchmarks"), i, b)
	{
		const char *n = json_string_value(json_object_get(b, "name"));

		if (n && !strcmp(n, name))
			return true;
	}
	return false;
}

/* Each name's CDF: its own instance's values over all its repetitions, nothing else. */
static void check_cdfs(const struct run *r, const char *what)
{
	json_t *cdf = json_object_get(json_object_get(r->root, "agebench"), "cdf"), *m;
	const char *name;
	char tag[16];

	CHECK(json_object_size(cdf) == NA + NB, "%s: %zu CDFs, want %d", what,
	      json_object_size(cdf), NA + NB);
	json_object_foreach(cdf, name, m)
	{
		json_t *f = json_object_get(m, "fault");
		size_t len = json_array_size(f);

		CHECK(has_row(r->root, name), "%s: CDF under %s, not a benchmark's name", what,
		      name);
		tag_of(name, tag, sizeof(tag));
		int w = tag[0] - 'A', n = atoi(tag + 1), reps = w ? REPS_B : REPS_A;
		json_int_t base = (w ? 100000 : 1000) * n;
		json_int_t lo =
		    len ? json_integer_value(json_array_get(json_array_get(f, 0), 0)) : -1;
		json_int_t hi =
		    len ? json_integer_value(json_array_get(json_array_get(f, len - 1), 0)) : -1;
		CHECK(lo == base + 1 && hi == base + 100 * (reps - 1) + 50,
		      "%s: %s: CDF spans %lld..%lld, want %lld..%lld (its %d repetitions merged)",
		      what, name, (long long)lo, (long long)hi, (long long)base + 1,
		      (long long)(base + 100 * (reps - 1) + 50), reps);
	}
}

int main(void)
{
	struct run s42, s42b, s43, plain, fresh, again, list;

	register_benches();
	run_child(42, true, false, &s42);
	CHECK(s42.rc == NA + NB, "ab_run returned %d, want %d instances", s42.rc, NA + NB);
	check_counts(&s42, "seed 42");
	run_child(42, true, false, &s42b);
	CHECK(same_order(&s42, &s42b), "seed 42 twice: different orders");
	run_child(43, true, false, &s43);
	check_counts(&s43, "seed 43");
	check_rounds(&s42, "seed 42");
	check_rounds(&s43, "seed 43");
	CHECK(!same_order(&s42, &s43), "seeds 42 and 43: the same order");
	run_child(0, false, false, &plain);
	CHECK(plain.rc == NA + NB, "ab_run (no interleave) returned %d", plain.rc);
	static const char *const b2b[NRUNS] = {"A1", "A1", "A1", "A2", "A2", "A2", "A3",
					       "A3", "A3", "B1", "B1", "B2", "B2"};
	CHECK(plain.n == NRUNS, "no interleave: %d runs, want %d", plain.n, NRUNS);
	for (int i = 0; i < plain.n && i < NRUNS; i++)
		CHECK(!strcmp(plain.order[i], b2b[i]), "no interleave: run %d is %s, want %s", i,
		      plain.order[i], b2b[i]);
	if (s42.root && plain.root) {
		check_recorded_order(&s42, 42);
		check_repetitions(&s42);
		check_same_rows(&s42, &plain);
		check_cdfs(&s42, "seed 42");
		check_cdfs(&plain, "no interleave");
		CHECK(!json_object_get(json_object_get(plain.root, "agebench"), "interleave"),
		      "no interleave: agebench.interleave recorded");
	}
	/* No seed given: a fresh one, recorded, and it repeats the order. */
	run_child(0, true, false, &fresh);
	json_int_t seed =
	    fresh.root ? json_integer_value(json_object_get(
			     json_object_get(json_object_get(fresh.root, "agebench"), "interleave"),
			     "seed"))
		       : 0;
	CHECK(seed > 0, "no seed given: none recorded (a JSON integer)");
	run_child((uint64_t)seed, true, false, &again);
	CHECK(same_order(&fresh, &again), "the recorded seed %lld does not repeat the order",
	      (long long)seed);
	run_child(42, true, true, &list);
	CHECK(list.rc == NA + NB && list.n == NA + NB, "--list: %d lines (rc %d), want %d", list.n,
	      list.rc, NA + NB);
	struct run *all[] = {&s42, &s42b, &s43, &plain, &fresh, &again};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		json_decref(all[i]->root);
	return ab_check_report("shim.interleave");
}
