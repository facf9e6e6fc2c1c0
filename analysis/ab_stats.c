// SPDX-License-Identifier: GPL-2.0
/* ab_stats.c - mean/stddev and the Mann-Whitney U test. */
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
