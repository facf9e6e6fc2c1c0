/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ab_stats.h - summary statistics, the two-sided Mann-Whitney U test, the
 * Hodges-Lehmann shift with its distribution-free confidence interval and
 * Holm's step-down and Benjamini-Hochberg's step-up corrections.
 */
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

/* Median of @v[n] (NAN when n is 0); @v is not changed. */
double ab_median(const double *v, size_t n);

/*
 * Hodges-Lehmann estimate of the shift of @y against @x: the median of the
 * nx * ny differences y[j] - x[i], in @shift. [@lo, @hi] is its
 * distribution-free confidence interval at level @conf (e.g. 0.95): the
 * k-th smallest and k-th largest difference, k from the exact null
 * distribution of U (no-tie counts) when nx, ny <= AB_MWU_EXACT_MAX, else
 * from the normal approximation. Returns 0, or -1 (lo = -inf, hi = +inf)
 * when the samples are too small for that level (e.g. 3 vs 3 at 0.95);
 * -1 with @shift NAN when a side is empty.
 */
int ab_hodges_lehmann(const double *x, size_t nx, const double *y, size_t ny, double conf,
		      double *shift, double *lo, double *hi);
/*
 * A shift CI's lower end @lo for a quantity that cannot go below 0: when
 * every sample of @x and @y is >= 0, y cannot fall by more than x's median,
 * so @lo is raised to -median(x) (the CI, built from differences of single
 * samples, would read e.g. "-137%" for a lock wait that goes to 0).
 */
void ab_shift_feasible(const double *x, size_t nx, const double *y, size_t ny, double *lo);

/*
 * Holm's step-down adjustment of the @n p-values @p into @adj (may alias
 * @p): adj_(i) = max over j <= i of min(1, (m - j + 1) p_(j)), p sorted
 * ascending, m the number of p that are not NAN (NAN stays NAN).
 */
void ab_holm(const double *p, size_t n, double *adj);
/*
 * Benjamini-Hochberg step-up adjustment (false discovery rate) of the @n
 * p-values @p into @adj (may alias @p): sorted ascending, adj(i) =
 * min over k >= i of n/k * p(k), capped at 1. NAN entries stay NAN and are
 * not counted.
 */
void ab_bh(const double *p, size_t n, double *adj);

/* Paired samples up to this size use the exact signed-rank distribution. */
#define AB_SR_EXACT_MAX 40

/*
 * Two-sided Wilcoxon signed-rank test of @d[0..n) (paired differences, e.g.
 * per-round log ratios) against a centre of 0. Zeros are dropped (Wilcoxon's
 * rule; @nused gets how many remain), ties get midranks; exact permutation
 * distribution of the signs up to AB_SR_EXACT_MAX, else the normal
 * approximation with tie and continuity correction. 1 when nothing remains.
 */
double ab_signed_rank(const double *d, size_t n, size_t *nused);
/*
 * One-sample Hodges-Lehmann estimate of the centre of @d[0..n): the median
 * of the n(n+1)/2 Walsh averages, in @est; [@lo, @hi] its distribution-free
 * CI at @conf from the signed-rank null (k-th smallest and largest Walsh
 * average). Returns 0, or -1 (lo -inf, hi +inf) when n is too small for the
 * level (n < 6 at 0.95); -1 with @est NAN when n is 0.
 */
int ab_walsh_hl(const double *d, size_t n, double conf, double *est, double *lo, double *hi);
/*
 * Ratio of @y to @x on the log scale: exp() of the Hodges-Lehmann shift of
 * log y against log x, its CI exp()'d (never truncated, never below 0).
 * Returns as ab_hodges_lehmann(), or -2 (ratio NAN) when a value is not > 0.
 */
int ab_hl_ratio(const double *x, size_t nx, const double *y, size_t ny, double conf, double *ratio,
		double *lo, double *hi);

/*
 * Two regimes in one sample of @n >= 4 (e.g. repetitions before and after
 * the host's load changed): sorted (on the log scale when every value is
 * > 0), the widest gap leaving >= 2 values on each side exceeds
 * AB_BIMODAL_GAP times the pooled standard deviation within the two sides
 * and the sample spans
 * more than AB_BIMODAL_MIN (x1.25 on the log scale). Returns 1 and the size
 * of the lower group in @nlow (optional), else 0.
 */
#define AB_BIMODAL_GAP 4.0
#define AB_BIMODAL_MIN 0.25
int ab_bimodal(const double *v, size_t n, size_t *nlow);

#endif /* AB_STATS_H */
