// SPDX-License-Identifier: GPL-2.0
/* ab_stats.c - mean/stddev, Mann-Whitney U, Hodges-Lehmann, Holm, Benjamini-Hochberg. */
#include "ab_stats.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>

void ab_summarize(const double *v, size_t n, struct ab_summary *s)
{
	double sum = 0, ss = 0;

	memset(s, 0, sizeof(*s));
	s->n = n;
	if (!n)
		return;
	for (size_t i = 0; i < n; i++)
		sum += v[i];
	s->mean = sum / n;
	for (size_t i = 0; i < n; i++)
		ss += (v[i] - s->mean) * (v[i] - s->mean);
	s->sd = n > 1 ? sqrt(ss / (n - 1)) : 0;
	s->sd_pct = s->mean != 0 ? 100.0 * s->sd / fabs(s->mean) : 0;
}

struct obs {
	double v;
	int from_x;
};

static int cmp_obs(const void *a, const void *b)
{
	double x = ((const struct obs *)a)->v, y = ((const struct obs *)b)->v;

	return x < y ? -1 : x > y;
}

double ab_mann_whitney(const double *x, size_t nx, const double *y, size_t ny, double *u,
		       bool *exact)
{
	size_t n = nx + ny;
	struct obs *o;
	long *r2;    /* doubled midranks (integers) */
	long w2 = 0; /* doubled rank sum of x */
	double tie = 0, p;

	if (u)
		*u = 0;
	if (exact)
		*exact = false;
	if (!nx || !ny)
		return 1;
	o = malloc(n * sizeof(*o));
	r2 = malloc(n * sizeof(*r2));
	if (!o || !r2)
		abort();
	for (size_t i = 0; i < nx; i++)
		o[i] = (struct obs){x[i], 1};
	for (size_t i = 0; i < ny; i++)
		o[nx + i] = (struct obs){y[i], 0};
	qsort(o, n, sizeof(*o), cmp_obs);
	for (size_t i = 0; i < n;) {
		size_t j = i + 1;

		while (j < n && o[j].v == o[i].v)
			j++;
		/* positions i..j-1 share midrank ((i+1)+j)/2 */
		for (size_t k = i; k < j; k++)
			r2[k] = (long)(i + 1 + j);
		tie += (double)(j - i) * (j - i) * (j - i) - (double)(j - i);
		i = j;
	}
	for (size_t i = 0; i < n; i++)
		if (o[i].from_x)
			w2 += r2[i];
	if (u)
		*u = w2 / 2.0 - (double)nx * (nx + 1) / 2.0;

	if (nx <= AB_MWU_EXACT_MAX && ny <= AB_MWU_EXACT_MAX) {
		/* ways[k][s]: subsets of size k of the items seen with doubled sum s */
		long smax = (long)n * (long)(n + 1);
		size_t stride = (size_t)smax + 1;
		double *ways = calloc((nx + 1) * stride, sizeof(double));
		long e2 = (long)nx * (long)(n + 1); /* doubled mean rank sum */
		long dev = labs(w2 - e2);
		double hit = 0, total = 0;

		if (!ways)
			abort();
		ways[0] = 1;
		for (size_t i = 0; i < n; i++) {
			size_t kmax = i + 1 < nx ? i + 1 : nx;

			for (size_t k = kmax; k >= 1; k--)
				for (long s = smax; s >= r2[i]; s--)
					ways[k * stride + s] += ways[(k - 1) * stride + s - r2[i]];
		}
		for (long s = 0; s <= smax; s++) {
			double c = ways[nx * stride + s];

			total += c;
			if (labs(s - e2) >= dev)
				hit += c;
		}
		free(ways);
		p = total > 0 ? hit / total : 1;
		if (exact)
			*exact = true;
	} else {
		double mu = (double)nx * ny / 2.0;
		double var = (double)nx * ny / 12.0 * ((n + 1) - tie / ((double)n * (n - 1)));
		double uu = w2 / 2.0 - (double)nx * (nx + 1) / 2.0;
		double z;

		if (var <= 0) {
			p = 1;
		} else {
			z = (fabs(uu - mu) - 0.5) / sqrt(var);
			p = z <= 0 ? 1 : 2 * gsl_cdf_ugaussian_Q(z);
		}
	}
	free(o);
	free(r2);
	return p > 1 ? 1 : p;
}

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double *sorted_copy(const double *v, size_t n)
{
	double *s = malloc((n ? n : 1) * sizeof(*s));

	if (!s)
		abort();
	memcpy(s, v, n * sizeof(*s));
	qsort(s, n, sizeof(*s), cmp_dbl);
	return s;
}

double ab_median(const double *v, size_t n)
{
	double *s, m;

	if (!n)
		return NAN;
	s = sorted_copy(v, n);
	m = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
	free(s);
	return m;
}

/*
 * Largest u0 with P(U <= u0) <= @tail under H0 for sizes @m, @n (no ties),
 * or -1 when even P(U = 0) is larger. Counts by f(m, n, u) = f(m - 1, n,
 * u - n) + f(m, n - 1, u), kept as one row per m for the current n.
 */
static long exact_u_quantile(size_t m, size_t n, double tail)
{
	size_t umax = m * n, stride = umax + 1;
	double *f = calloc((m + 1) * (n + 1) * stride, sizeof(double)), total = 0, cum = 0;
	long u0 = -1;

#define F(i, j, u) f[((i) * (n + 1) + (j)) * stride + (u)]
	if (!f)
		abort();
	for (size_t i = 0; i <= m; i++)
		for (size_t j = 0; j <= n; j++)
			for (size_t u = 0; u <= i * j; u++)
				F(i, j, u) = i == 0 || j == 0 ? (u == 0)
							      : (u >= j ? F(i - 1, j, u - j) : 0) +
								    F(i, j - 1, u);
	for (size_t u = 0; u <= umax; u++)
		total += F(m, n, u);
	for (size_t u = 0; u <= umax; u++) {
		cum += F(m, n, u);
		if (cum / total > tail)
			break;
		u0 = (long)u;
	}
#undef F
	free(f);
	return u0;
}

/* exact_u_quantile() for the sizes of the last call (the rows of a compare share them). */
static long exact_u_quantile_cached(size_t m, size_t n, double tail)
{
	static size_t cm, cn;
	static double ct = -1;
	static long cu;

	if (m != cm || n != cn || tail != ct) {
		cu = exact_u_quantile(m, n, tail);
		cm = m;
		cn = n;
		ct = tail;
	}
	return cu;
}

int ab_hodges_lehmann(const double *x, size_t nx, const double *y, size_t ny, double conf,
		      double *shift, double *lo, double *hi)
{
	size_t nd = nx * ny, k = 0;
	double *d, tail = (1 - conf) / 2;

	*lo = -INFINITY;
	*hi = INFINITY;
	*shift = NAN;
	if (!nx || !ny)
		return -1;
	d = malloc(nd * sizeof(*d));
	if (!d)
		abort();
	for (size_t i = 0; i < nx; i++)
		for (size_t j = 0; j < ny; j++)
			d[i * ny + j] = y[j] - x[i];
	qsort(d, nd, sizeof(*d), cmp_dbl);
	*shift = nd % 2 ? d[nd / 2] : (d[nd / 2 - 1] + d[nd / 2]) / 2;
	if (nx <= AB_MWU_EXACT_MAX && ny <= AB_MWU_EXACT_MAX) {
		long u0 = exact_u_quantile_cached(nx, ny, tail);

		k = u0 < 0 ? 0 : (size_t)u0 + 1;
	} else {
		double z = gsl_cdf_ugaussian_Pinv(1 - tail);
		double kk = floor(nd / 2.0 - z * sqrt(nx * ny * (nx + ny + 1) / 12.0));

		k = kk < 1 ? 0 : (size_t)kk;
	}
	if (k >= 1 && k <= nd / 2) {
		*lo = d[k - 1];
		*hi = d[nd - k];
	}
	free(d);
	return k >= 1 && k <= nd / 2 ? 0 : -1;
}

struct pidx {
	double p;
	size_t i;
};

static int cmp_pidx(const void *a, const void *b)
{
	double x = ((const struct pidx *)a)->p, y = ((const struct pidx *)b)->p;

	return x < y ? -1 : x > y;
}

/* The non-NAN entries of @p sorted ascending (with their index) into a new
 * array of *@m; NAN entries of @adj are set here. */
static struct pidx *sorted_p(const double *p, size_t n, double *adj, size_t *m)
{
	struct pidx *s = malloc((n ? n : 1) * sizeof(*s));

	if (!s)
		abort();
	*m = 0;
	for (size_t i = 0; i < n; i++)
		if (!isnan(p[i]))
			s[(*m)++] = (struct pidx){p[i], i};
	qsort(s, *m, sizeof(*s), cmp_pidx);
	for (size_t i = 0; i < n; i++)
		if (isnan(p[i]))
			adj[i] = NAN;
	return s;
}

void ab_holm(const double *p, size_t n, double *adj)
{
	size_t m;
	struct pidx *s = sorted_p(p, n, adj, &m);
	double run = 0;

	for (size_t j = 0; j < m; j++) {
		run = fmax(run, fmin(1, (double)(m - j) * s[j].p));
		adj[s[j].i] = run;
	}
	free(s);
}

void ab_bh(const double *p, size_t n, double *adj)
{
	size_t m;
	struct pidx *s = sorted_p(p, n, adj, &m);
	double run = 1;

	for (size_t j = m; j-- > 0;) {
		run = fmin(run, fmin(1, (double)m / (double)(j + 1) * s[j].p));
		adj[s[j].i] = run;
	}
	free(s);
}

static bool nonneg(const double *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!(v[i] >= 0))
			return false;
	return true;
}

void ab_shift_feasible(const double *x, size_t nx, const double *y, size_t ny, double *lo)
{
	double m = ab_median(x, nx);

	if (nx && ny && m > 0 && nonneg(x, nx) && nonneg(y, ny) && *lo < -m)
		*lo = -m;
}

/* ---- paired (one-sample) statistics, ratios, bimodality ------------------------ */

/*
 * Null distribution of the doubled signed-rank sum: counts[s] of the 2^n
 * sign assignments of the doubled ranks @r2[0..n) with doubled positive sum
 * s, s in [0, smax].
 */
static double *signed_rank_counts(const long *r2, size_t n, long smax)
{
	double *c = calloc((size_t)smax + 1, sizeof(double));

	if (!c)
		abort();
	c[0] = 1;
	for (size_t i = 0; i < n; i++)
		for (long s = smax; s >= r2[i]; s--)
			c[s] += c[s - r2[i]];
	return c;
}

static int cmp_abs(const void *a, const void *b)
{
	double x = fabs(*(const double *)a), y = fabs(*(const double *)b);

	return x < y ? -1 : x > y;
}

double ab_signed_rank(const double *d, size_t n, size_t *nused)
{
	double *a = malloc((n ? n : 1) * sizeof(*a)), p;
	long *r2 = malloc((n ? n : 1) * sizeof(*r2)), w2 = 0, smax;
	size_t m = 0;

	if (!a || !r2)
		abort();
	for (size_t i = 0; i < n; i++)
		if (d[i] != 0 && !isnan(d[i]))
			a[m++] = d[i];
	if (nused)
		*nused = m;
	if (!m) {
		free(a);
		free(r2);
		return 1;
	}
	qsort(a, m, sizeof(*a), cmp_abs);
	for (size_t i = 0; i < m;) { /* doubled midranks of |d| */
		size_t j = i + 1;

		while (j < m && fabs(a[j]) == fabs(a[i]))
			j++;
		for (size_t k = i; k < j; k++)
			r2[k] = (long)(i + 1 + j);
		i = j;
	}
	smax = (long)m * (long)(m + 1);
	for (size_t i = 0; i < m; i++)
		if (a[i] > 0)
			w2 += r2[i];
	if (m <= AB_SR_EXACT_MAX) {
		double *c = signed_rank_counts(r2, m, smax), total = 0, hit = 0;
		long dev = labs(2 * w2 - smax); /* |W+ - W-|, doubled */

		for (long s = 0; s <= smax; s++) {
			total += c[s];
			if (labs(2 * s - smax) >= dev)
				hit += c[s];
		}
		free(c);
		p = hit / total;
	} else {
		double mu = smax / 4.0, var = 0, z;

		for (size_t i = 0; i < m; i++)
			var += (r2[i] / 2.0) * (r2[i] / 2.0);
		var /= 4;
		z = (fabs(w2 / 2.0 - mu) - 0.5) / sqrt(var);
		p = z <= 0 ? 1 : 2 * gsl_cdf_ugaussian_Q(z);
	}
	free(a);
	free(r2);
	return p > 1 ? 1 : p;
}

int ab_walsh_hl(const double *d, size_t n, double conf, double *est, double *lo, double *hi)
{
	size_t nw = n * (n + 1) / 2, k = 0, o = 0;
	double tail = (1 - conf) / 2, *w;

	*est = NAN;
	*lo = -INFINITY;
	*hi = INFINITY;
	if (!n)
		return -1;
	w = malloc(nw * sizeof(*w));
	if (!w)
		abort();
	for (size_t i = 0; i < n; i++)
		for (size_t j = i; j < n; j++)
			w[o++] = (d[i] + d[j]) / 2;
	qsort(w, nw, sizeof(*w), cmp_dbl);
	*est = nw % 2 ? w[nw / 2] : (w[nw / 2 - 1] + w[nw / 2]) / 2;
	if (n <= AB_SR_EXACT_MAX) {
		/* k - 1 = the largest w0 with P(W+ <= w0) <= tail (no ties) */
		long *r2 = malloc(n * sizeof(*r2)), smax = (long)n * (long)(n + 1);
		double *c, total = 0, cum = 0;

		if (!r2)
			abort();
		for (size_t i = 0; i < n; i++)
			r2[i] = 2 * (long)(i + 1);
		c = signed_rank_counts(r2, n, smax);
		for (long s = 0; s <= smax; s++)
			total += c[s];
		for (long s = 0; s <= smax; s += 2) {
			cum += c[s];
			if (cum / total > tail)
				break;
			k = (size_t)(s / 2) + 1;
		}
		free(c);
		free(r2);
	} else {
		double z = gsl_cdf_ugaussian_Pinv(1 - tail);
		double kk = floor(nw / 2.0 - z * sqrt(n * (n + 1.0) * (2 * n + 1.0) / 24.0));

		k = kk < 1 ? 0 : (size_t)kk;
	}
	if (k >= 1 && k <= nw / 2) {
		*lo = w[k - 1];
		*hi = w[nw - k];
	}
	free(w);
	return k >= 1 && k <= nw / 2 ? 0 : -1;
}

static bool all_positive(const double *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!(v[i] > 0) || !isfinite(v[i]))
			return false;
	return n > 0;
}

int ab_hl_ratio(const double *x, size_t nx, const double *y, size_t ny, double conf, double *ratio,
		double *lo, double *hi)
{
	double *lx, *ly, s, l, h;
	int rc;

	*ratio = NAN;
	*lo = 0;
	*hi = INFINITY;
	if (!all_positive(x, nx) || !all_positive(y, ny))
		return -2;
	lx = malloc(nx * sizeof(*lx));
	ly = malloc(ny * sizeof(*ly));
	if (!lx || !ly)
		abort();
	for (size_t i = 0; i < nx; i++)
		lx[i] = log(x[i]);
	for (size_t i = 0; i < ny; i++)
		ly[i] = log(y[i]);
	rc = ab_hodges_lehmann(lx, nx, ly, ny, conf, &s, &l, &h);
	free(lx);
	free(ly);
	*ratio = exp(s);
	*lo = exp(l);
	*hi = exp(h);
	return rc;
}

int ab_bimodal(const double *v, size_t n, size_t *nlow)
{
	double *s, gap = 0, spread;
	size_t at = 0;
	bool logs = all_positive(v, n);

	if (nlow)
		*nlow = 0;
	if (n < 4)
		return 0;
	s = sorted_copy(v, n);
	if (logs)
		for (size_t i = 0; i < n; i++)
			s[i] = log(s[i]);
	/* the widest gap that leaves at least two values on each side */
	for (size_t i = 2; i + 2 <= n; i++)
		if (s[i] - s[i - 1] > gap) {
			gap = s[i] - s[i - 1];
			at = i;
		}
	spread = 0;
	if (at) { /* the pooled standard deviation within the two sides */
		double m1 = 0, m2 = 0, ss = 0;

		for (size_t i = 0; i < at; i++)
			m1 += s[i] / at;
		for (size_t i = at; i < n; i++)
			m2 += s[i] / (n - at);
		for (size_t i = 0; i < n; i++)
			ss += (s[i] - (i < at ? m1 : m2)) * (s[i] - (i < at ? m1 : m2));
		spread = sqrt(ss / (n - 2));
		if (nlow)
			*nlow = at;
	}
	/* two regimes: the gap is AB_BIMODAL_GAP times the pooled standard
	 * deviation within the sides, and the sample spans AB_BIMODAL_MIN (a
	 * ratio on the log scale, else a fraction of the larger magnitude) */
	double span = s[n - 1] - s[0], mag = fmax(fabs(s[0]), fabs(s[n - 1]));
	bool wide = logs ? span > log1p(AB_BIMODAL_MIN) : span > AB_BIMODAL_MIN * mag;
	int r = at && wide && gap > AB_BIMODAL_GAP * spread;

	free(s);
	return r;
}
