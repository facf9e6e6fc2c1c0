// SPDX-License-Identifier: GPL-2.0
/* ab_effect.c - one comparison of the answer page (see ab_effect.h). */
#include "ab_effect.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ab_stats.h"

static const struct ab_metric *metric_of(const struct ab_term *t, const char *metric)
{
	return t->b ? ab_bench_metric(t->b, metric) : NULL;
}

/* Index in @m of round @r, or -1. */
static long find_round(const struct ab_metric *m, long r)
{
	for (size_t i = 0; i < m->n; i++)
		if (m->round && m->round[i] == r)
			return (long)i;
	return -1;
}

static bool positive(const struct ab_metric *m)
{
	for (size_t i = 0; i < m->n; i++)
		if (!(m->v[i] > 0))
			return false;
	return m->n > 0;
}

/* Two regimes in @m, and whether they split by round (all of one before the other). */
static void regimes(const struct ab_metric *m, bool rounds, bool *bimodal, bool *shift)
{
	size_t nlow = 0;

	*bimodal = ab_bimodal(m->v, m->n, &nlow) == 1;
	*shift = false;
	if (!*bimodal || !rounds || !m->round)
		return;
	/* the nlow smallest values' rounds against the others' */
	double *s = malloc(m->n * sizeof(*s));
	if (!s)
		abort();
	memcpy(s, m->v, m->n * sizeof(*s));
	for (size_t i = 1; i < m->n; i++) /* insertion sort: n is a handful */
		for (size_t j = i; j > 0 && s[j - 1] > s[j]; j--) {
			double t = s[j];
			s[j] = s[j - 1];
			s[j - 1] = t;
		}
	double cut = s[nlow - 1];
	long lo_max = -1, lo_min = -1, hi_max = -1, hi_min = -1;
	for (size_t i = 0; i < m->n; i++) {
		long r = m->round[i];
		bool low = m->v[i] <= cut;
		long *mx = low ? &lo_max : &hi_max, *mn = low ? &lo_min : &hi_min;

		if (*mx < 0 || r > *mx)
			*mx = r;
		if (*mn < 0 || r < *mn)
			*mn = r;
	}
	*shift = lo_max < hi_min || hi_max < lo_min;
	free(s);
}

static void fail(struct ab_effect *e, const char *why)
{
	e->ok = false;
	snprintf(e->why, sizeof(e->why), "%s", why);
}

static void to_pct(struct ab_effect *e)
{
	if (e->ratio) {
		e->pct = (e->est - 1) * 100;
		e->pct_lo = (e->lo - 1) * 100;
		e->pct_hi = isfinite(e->hi) ? (e->hi - 1) * 100 : INFINITY;
	} else if (e->base_med != 0) {
		double s = 100 / fabs(e->base_med);

		e->pct = e->est * s;
		e->pct_lo = e->lo * s;
		e->pct_hi = e->hi * s;
	}
}

/* Per round, sum coef * (log) value over the terms: the paired contrast. */
static bool paired(struct ab_effect *e, const struct ab_term *t, const struct ab_metric *const *m,
		   int nt)
{
	size_t cap = m[0]->n, nd = 0;
	double *d = malloc((cap ? cap : 1) * sizeof(*d)), est, lo, hi;

	if (!d)
		abort();
	e->ratio = true;
	for (int k = 0; k < nt; k++)
		e->ratio &= positive(m[k]);
	for (size_t i = 0; i < m[0]->n; i++) {
		long r = m[0]->round ? m[0]->round[i] : -1;
		double s = 0;
		bool all = r >= 0;

		for (int k = 0; k < nt && all; k++) {
			long j = find_round(m[k], r);

			if (j < 0) {
				all = false;
				break;
			}
			double v = m[k]->v[j];
			s += t[k].coef * (e->ratio ? log(v) : v);
		}
		if (all)
			d[nd++] = s;
	}
	if (nd < AB_EFF_PAIRED_MIN) {
		free(d);
		return false;
	}
	e->paired = true;
	e->n = nd;
	e->p = ab_signed_rank(d, nd, NULL);
	ab_walsh_hl(d, nd, 1 - AB_EFF_ALPHA, &est, &lo, &hi);
	free(d);
	e->est = e->ratio ? exp(est) : est;
	e->lo = e->ratio ? exp(lo) : lo;
	e->hi = e->ratio ? exp(hi) : hi;
	return true;
}

static void unpaired(struct ab_effect *e, const struct ab_metric *x, const struct ab_metric *y)
{
	double est, lo, hi;

	e->n = x->n < y->n ? x->n : y->n;
	e->p = ab_mann_whitney(x->v, x->n, y->v, y->n, NULL, NULL);
	e->ratio = positive(x) && positive(y);
	if (e->ratio) {
		ab_hl_ratio(x->v, x->n, y->v, y->n, 1 - AB_EFF_ALPHA, &est, &lo, &hi);
	} else {
		ab_hodges_lehmann(x->v, x->n, y->v, y->n, 1 - AB_EFF_ALPHA, &est, &lo, &hi);
	}
	e->est = est;
	e->lo = lo;
	e->hi = hi;
}

struct ab_effect ab_effect_contrast(const struct ab_term *t, int nt, const char *metric,
				    bool rounds)
{
	struct ab_effect e = {.est = NAN,
			      .lo = -INFINITY,
			      .hi = INFINITY,
			      .pct = NAN,
			      .pct_lo = NAN,
			      .pct_hi = NAN,
			      .base_med = NAN,
			      .new_med = NAN,
			      .p = NAN,
			      .p_adj = NAN};
	const struct ab_metric *m[AB_EFF_MAXTERMS], *base = NULL, *nw = NULL;

	if (nt < 2 || nt > AB_EFF_MAXTERMS) {
		fail(&e, "bad contrast");
		return e;
	}
	for (int k = 0; k < nt; k++) {
		m[k] = metric_of(&t[k], metric);
		if (!m[k] || !m[k]->n) {
			fail(&e, t[k].b ? "metric not measured" : "benchmark not in the results");
			return e;
		}
		if (t[k].coef < 0 && !base)
			base = m[k];
		if (t[k].coef > 0 && !nw)
			nw = m[k];
	}
	e.ok = true;
	e.n_base = base->n;
	e.n_new = nw->n;
	e.base_med = ab_median(base->v, base->n);
	e.new_med = ab_median(nw->v, nw->n);
	regimes(base, rounds, &e.bimodal_base, &e.shift_base);
	bool dummy;
	regimes(nw, rounds, &e.bimodal_new, &dummy);
	if (!(rounds && paired(&e, t, m, nt))) {
		if (nt != 2) {
			fail(&e, "< 6 rounds");
			return e;
		}
		unpaired(&e, base, nw);
	}
	to_pct(&e);
	ab_effect_decide(&e);
	return e;
}

struct ab_effect ab_effect_pair(const struct ab_bench_res *bb, const struct ab_bench_res *nb,
				const char *metric, bool rounds)
{
	struct ab_term t[2] = {{bb, -1}, {nb, +1}};

	return ab_effect_contrast(t, 2, metric, rounds);
}

void ab_effect_decide(struct ab_effect *e)
{
	double p = isnan(e->p_adj) ? e->p : e->p_adj, f = AB_EFF_MIN_EFFECT / 100;
	bool ci = isfinite(e->lo) && isfinite(e->hi) && !(e->ratio && e->lo <= 0);
	bool beyond;

	if (e->ratio)
		beyond = e->hi < 1 - f || e->lo > 1 + f;
	else if (e->base_med != 0)
		beyond = e->hi < -f * fabs(e->base_med) || e->lo > f * fabs(e->base_med);
	else
		beyond = e->hi < 0 || e->lo > 0;
	e->significant = e->ok && p < AB_EFF_ALPHA && ci && beyond;
}

/* @v in 3 significant digits, at most 9 characters. */
static void num(double v, char *buf, size_t len)
{
	if (!isfinite(v))
		snprintf(buf, len, "%s", v > 0 ? "inf" : "-inf");
	else if (fabs(v) >= 1e5 || (v != 0 && fabs(v) < 1e-3))
		snprintf(buf, len, "%.2e", v);
	else
		snprintf(buf, len, "%.3g", v);
}

void ab_effect_str(const struct ab_effect *e, const char *unit, char *buf, size_t len)
{
	char a[24], b[24], c[24];
	const char *mark = e->significant ? " *" : "";
	const char *two = e->bimodal_base || e->bimodal_new ? "!" : "";
	const char *un = e->paired ? "" : "~";
	bool ci = isfinite(e->lo) && isfinite(e->hi) && !(e->ratio && e->lo <= 0);

	if (!e->ok) {
		snprintf(buf, len, "n/a (%s)", e->why);
		return;
	}
	num(e->est, a, sizeof(a));
	num(e->lo, b, sizeof(b));
	num(e->hi, c, sizeof(c));
	if (e->ratio && ci)
		snprintf(buf, len, "x%s [x%s, x%s]%s%s%s", a, b, c, un, two, mark);
	else if (e->ratio)
		snprintf(buf, len, "x%s (no CI: %zu %s)%s%s", a, e->n, e->paired ? "pairs" : "reps",
			 un, two);
	else if (ci)
		snprintf(buf, len, "%s%s [%s, %s] %s%s%s%s", e->est > 0 ? "+" : "", a, b, c,
			 unit && *unit ? unit : "", un, two, mark);
	else
		snprintf(buf, len, "%s%s %s (no CI: %zu)%s%s", e->est > 0 ? "+" : "", a,
			 unit && *unit ? unit : "", e->n, un, two);
}
