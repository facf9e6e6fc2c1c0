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
