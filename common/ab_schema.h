/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ab_schema.h - what agebench's results mean: the modes/walkers
 * (ab_modes.def), the counters (ab_counters.def) and benchmark names
 * "<backend>/<mode>/<page>/<key>:<value>/...".
 *
 * Every part of agebench that names a mode, a counter or parses a benchmark
 * name uses this module: the model's walker dispatch, the kvm backend, run's
 * flag checks, compare, report, the figures; shell, CMake and gnuplot get the
 * lists from `agebench list` (src/list.c) or cmake/schema.cmake.
 *
 * libc only (no jansson, no libabcommon), so the fuzzer and static guest
 * programs can link it.
 */
#ifndef AB_SCHEMA_H
#define AB_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- modes -------------------------------------------------------------- */

enum ab_mode_id {
#define AB_MODE(id, ...) AB_MODE_##id,
#include "ab_modes.def"
#undef AB_MODE
	AB_MODE_NR
};

enum ab_lock { AB_LOCK_NONE, AB_LOCK_READ, AB_LOCK_WRITE, AB_LOCK_UNKNOWN };
enum ab_decline { AB_DECLINE_NEVER, AB_DECLINE_CALL, AB_DECLINE_WINDOW };

/* Where a mode exists (bit set). */
enum ab_mode_where {
	AB_IN_MODEL = 1 << 0,	 /* a walker of the userspace model */
	AB_IN_KERNEL = 1 << 1,	 /* a value of the patched kernel's kvm.mmu_age_mode */
	AB_IN_KVM_ONLY = 1 << 2, /* kvm backend on a kernel without the parameter */
	AB_IN_FLOOR = 1 << 3,	 /* not an aging mode: the model's lock-free floor */
};

struct ab_mode {
	enum ab_mode_id id; /* also its position in tables */
	const char *name;
	enum ab_lock lock;     /* how the walk takes mmu_lock */
	enum ab_lock fallback; /* the lock taken when it cannot be lockless */
	enum ab_decline decline;
	unsigned where; /* enum ab_mode_where bits */
	const char *colour;
	int point, dash; /* gnuplot point and dash type */
	const char *summary;
};

extern const struct ab_mode ab_mode_table[AB_MODE_NR];
const struct ab_mode *ab_mode_find(const char *name); /* NULL if unknown */
const char *ab_mode_name(enum ab_mode_id id);	      /* "?" if out of range */
const char *ab_lock_name(enum ab_lock l);	      /* "write", "read", "none", "unknown" */
const char *ab_decline_name(enum ab_decline d);	      /* "never", "call", "window" */
/* Comma-separated names of the modes with any bit of @where, for messages. */
const char *ab_mode_list(unsigned where);

/* The kvm backend's aging drivers (--driver), NULL-terminated. */
extern const char *const ab_driver_names[];

/* ---- counters ----------------------------------------------------------- */

/* Which direction of change is better (a regression is the other way). */
enum ab_better { AB_BETTER_NONE, AB_BETTER_LOWER, AB_BETTER_HIGHER };

struct ab_counter_def {
	const char *name, *unit;
	enum ab_better better;
	const char *meaning;
};

extern const struct ab_counter_def ab_counter_table[];
extern const size_t ab_counter_count;
const struct ab_counter_def *ab_counter_find(const char *name); /* NULL if not declared */
const char *ab_better_name(enum ab_better b);			/* "lower", "higher", "none" */
int ab_better_parse(const char *s);				/* enum ab_better, or -1 */

/* ---- benchmark names ---------------------------------------------------- */

#define AB_NAME_MAX_ARGS 16
#define AB_NAME_TOKEN	 48

/*
 * "<backend>/<mode>/<page>/<key>:<value>/..." followed by what Google
 * Benchmark appends (min_time:, min_warmup_time:, iterations:, repeats:,
 * threads:, manual_time, real_time, process_time), kept in @suffix.
 */
struct ab_name {
	char backend[AB_NAME_TOKEN];
	char mode[AB_NAME_TOKEN];
	char page[AB_NAME_TOKEN];
	int nargs;
	struct {
		char key[AB_NAME_TOKEN];
		char val[AB_NAME_TOKEN];
	} arg[AB_NAME_MAX_ARGS];
	char suffix[160]; /* Google Benchmark's elements, "/"-joined, without a leading "/" */
};

/* 0, or -1 with a message naming what was wrong in @err. */
int ab_name_parse(const char *s, struct ab_name *n, char *err, size_t errlen);
/*
 * Writes the name into @buf; with @suffix the Google Benchmark elements too.
 * Returns the length, or -1 if it does not fit.
 */
int ab_name_format(const struct ab_name *n, bool suffix, char *buf, size_t len);
const char *ab_name_get(const struct ab_name *n, const char *key); /* value or NULL */
/* Value of @key as a long; @def if absent or not a number. */
long ab_name_get_long(const struct ab_name *n, const char *key, long def);
/* Set (or add) @key; -1 if there is no room or a token is too long. */
int ab_name_set(struct ab_name *n, const char *key, const char *val);
void ab_name_unset(struct ab_name *n, const char *key);
/* True if @key is a field of a Google Benchmark result row, not a user counter. */
bool ab_gbench_field(const char *key);
/* True if @elem is an element Google Benchmark appends (e.g. "repeats:5"). */
bool ab_name_is_gbench_element(const char *elem);

#ifdef __cplusplus
}
#endif
#endif /* AB_SCHEMA_H */
