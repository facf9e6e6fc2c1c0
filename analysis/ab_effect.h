/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ab_effect.h - one comparison of the answer page: a contrast of one metric
 * over two or four benchmarks of a run, e.g. bitmap@64 against fast_only@1
 * (terms +1, -1) or one waterfall step against another (+1 -1 -1 +1).
 *
 * Paired when the run was interleaved in blocked rounds (results.json's
 * agebench.interleave.design "rounds") and every term has at least
 * AB_EFF_PAIRED_MIN rounds in common: per round the contrast's value (sum
 * of coef * log(value), or of coef * value when a value is <= 0), then the
 * Wilcoxon signed-rank test and the one-sample Hodges-Lehmann estimate with
 * its distribution-free CI (docs/reporting.md "Design"). A change of the
 * host's load between rounds hits every term of a round and cancels.
 * Otherwise, two terms only: Mann-Whitney U and the two-sample
 * Hodges-Lehmann shift (on logs when every value is > 0).
 *
 * On the log scale the effect is a ratio new/base with its CI, never
 * truncated; on the raw scale a difference in the metric's unit.
 */
#ifndef AB_EFFECT_H
#define AB_EFFECT_H

#include <stdbool.h>
#include <stddef.h>

#include "ab_results.h"

#define AB_EFF_PAIRED_MIN 6   /* the fewest pairs with a 95% signed-rank CI */
#define AB_EFF_MIN_EFFECT 2.0 /* % (of 1 for a ratio, of the base median for a difference) */
#define AB_EFF_ALPHA	  0.05
#define AB_EFF_MAXTERMS	  4

struct ab_term {
	const struct ab_bench_res *b; /* NULL: not measured */
	int coef;		      /* +1 or -1 */
};

struct ab_effect {
	bool ok;		    /* every term had the metric, enough for an estimate */
	bool paired;		    /* within rounds (else two independent samples) */
	bool ratio;		    /* log scale: est, lo, hi are ratios; else differences */
	double est, lo, hi;	    /* the estimate and its 95% CI (lo -inf/0, hi +inf: none) */
	double pct, pct_lo, pct_hi; /* the same as % change (ratio - 1, or of base_med) */
	double base_med, new_med;   /* medians of the first two terms (base = coef -1) */
	double p;		    /* signed-rank or Mann-Whitney, two-sided */
	double p_adj;		    /* Holm over the primaries (NAN: not a primary) */
	bool significant;	    /* p (p_adj for a primary) < alpha and the CI beyond +-2% */
	size_t n;		    /* pairs (paired) or the smaller side */
	size_t n_base, n_new;
	bool bimodal_base, bimodal_new; /* two regimes in a side's repetitions */
	bool shift_base;		/* base's regimes split by round (the host changed) */
	char why[80];			/* !ok: what is missing */
};

/* The contrast of @metric over @t[0..nt). @rounds: the run's design is blocked rounds. */
struct ab_effect ab_effect_contrast(const struct ab_term *t, int nt, const char *metric,
				    bool rounds);
/* @metric of @nb against @bb: ab_effect_contrast() of {bb: -1, nb: +1}. */
struct ab_effect ab_effect_pair(const struct ab_bench_res *bb, const struct ab_bench_res *nb,
				const char *metric, bool rounds);
/* Decide e->significant from p (or p_adj) and the CI. */
void ab_effect_decide(struct ab_effect *e);
/*
 * The effect in at most @len bytes: "x0.08 [x0.07, x0.09] *" (ratio),
 * "-257 [-301, -199] ns *" (difference), with "~" for unpaired and "!" when
 * a side has two regimes; "n/a (why)" when not measured.
 */
void ab_effect_str(const struct ab_effect *e, const char *unit, char *buf, size_t len);

#endif /* AB_EFFECT_H */
