/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ab_results.h - read Google Benchmark JSON (agebench's results.json or any
 * other program's) into per-benchmark samples: one sample per repetition for
 * real_time, cpu_time and every user counter.
 *
 * Self-contained (jansson only, no libabcommon) so the fuzzer can build it
 * with clang alone.
 */
#ifndef AB_RESULTS_H
#define AB_RESULTS_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

/* Which direction of change is worse. */
enum ab_dir { AB_DIR_NONE = 0, AB_DIR_LOWER, AB_DIR_HIGHER };

struct ab_metric {
	char *name;	    /* "real_time", "cpu_time" or a counter name */
	char *unit;	    /* time_unit for times; declared unit or "" */
	enum ab_dir better; /* AB_DIR_LOWER: lower is better */
	bool declared;	    /* unit/direction known (times, builtins, agebench.counters) */
	double *v;	    /* one value per repetition */
	size_t n, cap;
};

struct ab_bench_res {
	char *name; /* run name without "/repeats:N" */
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
	size_t skipped_errors; /* rows with error_occurred */
	size_t aggregates;     /* aggregate rows ignored (we use the raw repetitions) */
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
/* agebench.command joined with spaces, shell-quoted where needed (malloc'd), or NULL. */
char *ab_results_command(const struct ab_results *r);

const char *ab_dir_name(enum ab_dir d); /* "lower", "higher", "none" */

/*
 * Benchmark-name helpers for agebench names "<backend>/<mode>/<page>/k:v/...".
 * ab_name_element(): copy path element @idx (0-based) into @buf; false if absent.
 * ab_name_replace(): @name with element @idx replaced by @with (malloc'd) or NULL.
 * ab_name_arg(): value of "k:v" element @key as long, or -1.
 */
bool ab_name_element(const char *name, int idx, char *buf, size_t len);
/* Matching key (malloc'd): @name without "/repeats:N", "/min_time:X" elements. */
char *ab_bench_key(const char *name);
char *ab_name_replace(const char *name, int idx, const char *with);
long ab_name_arg(const char *name, const char *key);

#endif /* AB_RESULTS_H */
