/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ab_results.h - read Google Benchmark JSON (agebench's results.json or any
 * other program's) into per-benchmark samples: one sample per repetition for
 * real_time, cpu_time and every user counter.
 *
 * Self-contained (jansson and abschema only, no libabcommon) so the fuzzer
 * can build it with clang alone.
 *
 * Units and directions: results.json's agebench.counters is the record in
 * the file and is what compare and report use; the loader cross-checks every
 * counter against the schema's table (ab_counter_find()) and lists what the
 * table does not know (undeclared) or declares differently (mismatch).
 */
#ifndef AB_RESULTS_H
#define AB_RESULTS_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "ab_schema.h"

struct ab_metric {
	char *name;	       /* "real_time", "cpu_time" or a counter name */
	char *unit;	       /* time_unit for times; declared unit or "" */
	enum ab_better better; /* AB_BETTER_LOWER: lower is better */
	bool declared;	       /* unit/direction known (times, builtins, agebench.counters) */
	double *v;	       /* one value per repetition */
	long *round;	       /* its repetition_index (-1: none), the round in a blocked design */
	size_t n, cap;
};

struct ab_bench_res {
	char *name; /* run name without Google Benchmark's elements (ab_bench_key) */
	char *time_unit;
	size_t nreps; /* iteration rows */
	struct ab_metric *m;
	size_t nm, capm;
};

struct ab_results {
	char *path;   /* label used in messages */
	json_t *root; /* whole document (context, agebench, ...) */
	struct ab_bench_res *b;
	size_t nb, capb;
	bool rounds;	       /* agebench.interleave.design "rounds": pair by repetition_index */
	size_t skipped_errors; /* rows with error_occurred */
	size_t aggregates;     /* aggregate rows ignored (we use the raw repetitions) */
	/* Cross-check against common/ab_counters.def (messages, malloc'd). */
	char **undeclared; /* counters the schema does not know, by name */
	size_t nundeclared;
	char **mismatch; /* "NAME: unit U, better B in the file; U2, B2 in the schema" */
	size_t nmismatch;
};

/*
 * Load @path (or @len bytes at @buf, named @label in messages). On error
 * returns -1 with a message naming the file (and line:column for JSON syntax
 * errors) in @err; @r is then empty and needs no free.
 */
int ab_results_load(const char *path, struct ab_results *r, char *err, size_t errlen);
int ab_results_load_buffer(const char *buf, size_t len, const char *label, struct ab_results *r,
			   char *err, size_t errlen);
void ab_results_free(struct ab_results *r);

/*
 * Google Benchmark writes non-finite numbers as bare NaN / inf tokens (e.g.
 * the "cv" aggregate of a counter that is always 0), which is not JSON: the
 * loaders replace such tokens outside strings by null first (a null counter
 * counts as not measured).
 */

const struct ab_bench_res *ab_results_find(const struct ab_results *r, const char *name);
const struct ab_metric *ab_bench_metric(const struct ab_bench_res *b, const char *name);
/* context[key] if it is a string, else NULL. */
const char *ab_results_context(const struct ab_results *r, const char *key);
/*
 * agebench.command joined with spaces, shell-quoted where needed (malloc'd), or
 * NULL; "--seed N" appended for an interleaved run (agebench.interleave.seed)
 * whose command did not give one, so that it repeats the order too.
 */
char *ab_results_command(const struct ab_results *r);

/*
 * Matching key (malloc'd): @name without the elements Google Benchmark
 * appends (repeats:, min_time:, iterations:, manual_time, ...), formatted by
 * ab_name_format() for agebench names; other programs' names lose the same
 * elements (ab_name_is_gbench_element()) and are otherwise kept as they are.
 */
char *ab_bench_key(const char *name);
/* @name parsed as an agebench name (ab_name_parse()); false if it is not one. */
bool ab_bench_name(const char *name, struct ab_name *n);

#endif /* AB_RESULTS_H */
