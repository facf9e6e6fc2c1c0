/* SPDX-License-Identifier: GPL-2.0 */
/* ab_stats.h - summary statistics and the two-sided Mann-Whitney U test. */
#ifndef AB_STATS_H
#define AB_STATS_H

#include <stdbool.h>
#include <stddef.h>

struct ab_summary {
	size_t n;
	double mean;
	double sd;     /* sample standard deviation (n - 1) */
	double sd_pct; /* sd as % of |mean| (0 when mean is 0) */
};

void ab_summarize(const double *v, size_t n, struct ab_summary *s);

/* Samples up to this size per side use the exact permutation distribution. */
#define AB_MWU_EXACT_MAX 20

/*
 * Two-sided Mann-Whitney U test of @x against @y. Returns the p-value in
 * [0, 1] (1 when either side is empty or all values tie). Ties get midranks;
 * with nx, ny <= AB_MWU_EXACT_MAX the p-value is exact (the permutation
 * distribution of the midrank sum, counted by dynamic programming), else the
 * normal approximation with tie and continuity correction (GSL).
 * @u (optional) gets U of x; @exact (optional) which method was used.
 */
double ab_mann_whitney(const double *x, size_t nx, const double *y, size_t ny, double *u,
		       bool *exact);

#endif /* AB_STATS_H */
