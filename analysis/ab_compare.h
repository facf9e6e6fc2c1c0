/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ab_compare.h - `agebench compare`: two Google Benchmark JSON files (or the
 * modes inside one agebench run) compared metric by metric: the
 * Mann-Whitney U test for significance, the Hodges-Lehmann shift and its
 * confidence interval for the size of the change (so one outlier does not
 * make a regression), the Benjamini-Hochberg correction across the rows of
 * --modes (one family per metric). The
 * engine is also used by `agebench report`.
 */
#ifndef AB_COMPARE_H
#define AB_COMPARE_H

#include <stdbool.h>
#include <stdio.h>

#include "ab_results.h"
#include "ab_stats.h"

/* Entry point of `agebench compare ...` (argv[0] = "compare"). Exit 0/1/2. */
int ab_compare_main(int argc, char **argv);

#define AB_CMP_MIN_REPS 3 /* fewer per side: no significance verdict */

struct ab_cmp_opts {
	double alpha;	   /* default 0.05; the shift's CI is at level 1 - alpha */
	double min_effect; /* minimum |% shift| the CI must exclude, default 2.0 */
	bool adjust;	   /* BH-adjust p per metric over the tested rows (ab_cmp_modes sets it) */
};
#define AB_CMP_OPTS_DEFAULT ((struct ab_cmp_opts){.alpha = 0.05, .min_effect = 2.0})

enum ab_verdict {
	AB_V_SAME,    /* no significant change */
	AB_V_WORSE,   /* significant, in the worse direction */
	AB_V_BETTER,  /* significant, in the better direction */
	AB_V_CHANGED, /* significant, direction unknown (undeclared counter) */
	AB_V_FEW,     /* too few repetitions for a verdict */
	AB_V_MISSING, /* metric on one side only */
};

struct ab_cmp_row {
	const char *metric; /* points into the loaded results */
	const char *unit;
	enum ab_better better;
	struct ab_summary base, new;
	double change_pct; /* of the mean: (new - base) / |base| * 100; NAN if base is 0 */
	double base_median;
	double shift;		   /* Hodges-Lehmann: median of new[j] - base[i] */
	double shift_lo, shift_hi; /* its CI at 1 - alpha (+-inf: samples too small) */
	double shift_pct;	   /* shift / |base median| * 100; NAN if that median is 0 */
	double lo_pct, hi_pct;
	double p;     /* NAN when not tested */
	double p_adj; /* BH-adjusted p within the metric's family (= p without opts.adjust) */
	bool exact;
	bool significant;
	enum ab_verdict v;
};

struct ab_cmp_bench {
	char *name; /* shown name (new side; with --modes the mode's) */
	char *base_name;
	size_t base_reps, new_reps;
	struct ab_cmp_row *rows;
	size_t nrows;
};

struct ab_cmp {
	char *base_label, *new_label;
	struct ab_cmp_opts opts;
	struct ab_cmp_bench *b;
	size_t nb;
	char **only_base, **only_new; /* benchmark names on one side only */
	size_t n_only_base, n_only_new;
	size_t nworse, nbetter, nchanged;
	bool few_reps;			  /* some benchmark had < AB_CMP_MIN_REPS on a side */
	size_t ntests;			  /* rows with a p (all families) */
	bool p_unreachable;		  /* some sample sizes cannot give p < alpha */
	size_t unreach_base, unreach_new; /* the first such sizes */
};

/*
 * Compare @base with @new by benchmark name. Returns 0, or -1 with a message
 * in @err when the inputs cannot be compared (mismatched units).
 */
int ab_cmp_files(const struct ab_results *base, const struct ab_results *new,
		 const struct ab_cmp_opts *o, struct ab_cmp *c, char *err, size_t errlen);
/*
 * Compare, inside one run, every benchmark whose mode (ab_name_parse) is
 * not @base_mode with the benchmark that differs only in having @base_mode
 * there. Benchmarks without such a partner go to only_new. The p-values are
 * Benjamini-Hochberg-adjusted within each metric over the rows tested.
 */
int ab_cmp_modes(const struct ab_results *r, const char *base_mode, const struct ab_cmp_opts *o,
		 struct ab_cmp *c, char *err, size_t errlen);
void ab_cmp_free(struct ab_cmp *c);

/* Text (<= 80 columns) and JSON renderings. */
void ab_cmp_print_text(FILE *f, const struct ab_cmp *c);
char *ab_cmp_json(const struct ab_cmp *c); /* malloc'd */

/* Short mark for a verdict: '!' worse, '+' better, '*' changed, '?' few reps. */
char ab_verdict_mark(enum ab_verdict v);
/* Smallest two-sided exact Mann-Whitney p for samples of @a and @b: 2/C(a+b, a). */
double ab_cmp_min_p(size_t a, size_t b);
/* Format @v into @buf (at most @width chars) with sensible precision. */
void ab_fmt_num(char *buf, size_t len, int width, double v);

#endif /* AB_COMPARE_H */
