/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ab_shim.h - a C interface to Google Benchmark.
 *
 * Every agebench benchmark is written in C and registered through this
 * header; the only C++ in userspace is ab_shim.cc behind it. Output stays
 * Google Benchmark's own JSON (so its compare.py can read it); agebench adds
 * context keys and a top-level "agebench" object with counter metadata.
 */
#ifndef AB_SHIM_H
#define AB_SHIM_H

#include "ab_schema.h"

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ab_state ab_state; /* wraps benchmark::State */
typedef struct ab_bench ab_bench; /* wraps benchmark::internal::Benchmark */
typedef void (*ab_bench_fn)(ab_state *st, void *arg);

/* Counter flags, mirroring benchmark::Counter::Flags. */
enum ab_counter_flags {
	AB_CTR_DEFAULT = 0,
	AB_CTR_RATE = 1 << 0,		/* divide by elapsed time */
	AB_CTR_AVG_THREADS = 1 << 1,	/* divide by thread count */
	AB_CTR_AVG_ITERATIONS = 1 << 2, /* divide by iterations */
};

/*
 * Registration (before ab_run). @name is copied. @arg is passed to @fn.
 * Settings are recorded and applied when ab_run() hands the benchmark to
 * Google Benchmark.
 */
ab_bench *ab_register(const char *name, ab_bench_fn fn, void *arg);
/* One set of arguments; call once per combination. */
void ab_bench_args(ab_bench *b, const int64_t *args, int nargs);
/* Names for the arguments ("pages", "vcpus", ...): shown as name/pages:N. */
void ab_bench_arg_names(ab_bench *b, const char *const *names, int nnames);
void ab_bench_threads(ab_bench *b, int threads);
void ab_bench_manual_time(ab_bench *b);
void ab_bench_iterations(ab_bench *b, int64_t iters);
void ab_bench_repetitions(ab_bench *b, int reps);
void ab_bench_min_time(ab_bench *b, double seconds);
/* Time unit of the console/JSON output: 'n' ns, 'u' us, 'm' ms, 's' s. */
void ab_bench_unit(ab_bench *b, char unit);

/* Inside a benchmark function. */
bool ab_keep_running(ab_state *st);
int64_t ab_range(ab_state *st, int idx);
int ab_thread_index(ab_state *st);
int ab_threads(ab_state *st);
int64_t ab_iterations(ab_state *st);
void ab_set_iteration_time(ab_state *st, double seconds);
void ab_pause_timing(ab_state *st);
void ab_resume_timing(ab_state *st);
void ab_set_items_processed(ab_state *st, int64_t items);
void ab_set_label(ab_state *st, const char *label);
/*
 * A user counter. @name must be declared in common/ab_counters.def (unit,
 * direction, meaning): an undeclared name ends the run with an error naming
 * it, so every counter in results.json is declared.
 */
void ab_counter(ab_state *st, const char *name, double value, unsigned flags);
void ab_skip_with_error(ab_state *st, const char *msg);

/*
 * Attach a latency distribution to the current benchmark run (thread 0 only):
 * stored in results.json under agebench.cdf["<benchmark name>"][metric] as
 * [[value_ns, cumulative_fraction], ...] for the CDF figures. @hist is a
 * struct ab_hist (common/ab_common.h).
 */
struct ab_hist;
void ab_record_cdf(ab_state *st, const char *metric, const struct ab_hist *hist);

/* Extra key/value pairs for the JSON "context" object (copied). */
void ab_add_context(const char *key, const char *value);

struct json_t; /* jansson */

/* What a person sees on stderr while benchmarks run. */
enum ab_progress {
	AB_PROGRESS_LINE,    /* one line per benchmark: "[12/55] name 3.1 s, about 40 s left" */
	AB_PROGRESS_QUIET,   /* nothing */
	AB_PROGRESS_VERBOSE, /* Google Benchmark's own console table */
};

struct ab_run_opts {
	const char *filter;  /* regex, NULL = all */
	const char *walkers; /* comma list of walkers/modes to keep, NULL = all */
	int repetitions;     /* 0 = as registered */
	/*
	 * Final results path, or NULL: Google Benchmark writes a temporary file
	 * beside it; after the run the shim reads it once, adds the "agebench"
	 * object (counters with unit/direction/meaning from the schema, CDFs),
	 * calls @finish, and writes @json_out atomically (temp, then rename).
	 * An interrupted run leaves neither file.
	 */
	const char *json_out;
	/* May add to the document and to its "agebench" object; non-zero fails. */
	int (*finish)(struct json_t *root, struct json_t *agebench, void *arg);
	void *finish_arg;
	enum ab_progress progress;
	bool list_only; /* print names and return */
	/*
	 * Run the repetitions of all benchmarks in one order shuffled with
	 * @seed (0: a fresh one) instead of each benchmark's back to back. The
	 * shim does it, not Google Benchmark (whose shuffle cannot be seeded):
	 * each (instance, repetition) is handed to the library on its own.
	 * results.json looks like a run without it (names, repetition_index
	 * 0..R-1 per name, no aggregate rows) and records the seed and the
	 * order: agebench.interleave {seed, order: ["<name>#<rep>", ...]} and
	 * context.interleave_seed. Ignored with list_only.
	 */
	bool interleave;
	uint64_t seed;
	int64_t iterations; /* > 0: force this many iterations (CI gate) */
};

/*
 * Run the registered benchmarks. Returns the number of benchmarks run
 * (>= 0), or -1 if the filter matched nothing or an output file could not
 * be written.
 */
int ab_run(const struct ab_run_opts *opts);

#ifdef __cplusplus
}
#endif
#endif /* AB_SHIM_H */
