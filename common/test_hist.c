// SPDX-License-Identifier: GPL-2.0
/*
 * test_hist.c - the log-bucket histogram's quantiles and merge, against the
 * exact quantiles (sorted data, rank floor(q * n)) of known data sets.
 */
#include "ab_common.h"
#include "ab_check.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static uint64_t exact(const uint64_t *sorted, size_t n, double q)
{
	size_t r = (size_t)(q * (double)n);
	return sorted[r >= n ? n - 1 : r];
}

/* Relative error of the histogram's quantile against the exact one. */
static double rel_err(const struct ab_hist *h, const uint64_t *sorted, size_t n, double q)
{
	double e = (double)exact(sorted, n, q);
	return ((double)ab_hist_quantile(h, q) - e) / (e ? e : 1);
}

/* A skewed latency-like data set: log-normal-ish, 50 ns .. ~1 ms, seeded. */
static void lognormal(uint64_t *v, size_t n, uint64_t seed)
{
	for (size_t i = 0; i < n; i++) {
		double s = 0;
		for (int k = 0; k < 12; k++) /* sum of 12 uniforms ~ normal(6, 1) */
			s += (double)(ab_rng_next(&seed) >> 11) * 0x1p-53;
		v[i] = (uint64_t)(50.0 + exp(6.0 + 1.2 * (s - 6.0)));
	}
}

int main(void)
{
	struct ab_hist a, b;
	static const double qs[] = {0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999};

	ab_hist_init(&a);
	ab_hist_init(&b);
	CHECK(ab_hist_quantile(&a, 0.5) == 0, "empty histogram quantile not 0");
	/* 1..100000 uniformly, recorded into two histograms and merged: the
	 * exact quantiles, because every bucket inside holds one value per
	 * integer. */
	for (uint64_t v = 1; v <= 100000; v++)
		ab_hist_record(v % 2 ? &a : &b, v);
	ab_hist_merge(&a, &b);
	CHECK(a.count == 100000, "count %llu", (unsigned long long)a.count);
	CHECK(a.min == 1 && a.max == 100000, "min/max %llu/%llu", (unsigned long long)a.min,
	      (unsigned long long)a.max);
	for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
		uint64_t want = (uint64_t)(qs[i] * 100000) + 1, got = ab_hist_quantile(&a, qs[i]);
		CHECK(got == want, "uniform p%g: %llu, exact %llu", qs[i] * 100,
		      (unsigned long long)got, (unsigned long long)want);
	}
	CHECK(ab_hist_quantile(&a, 1.0) == 100000, "p100 is not max");

	/* Skewed data: within 1 % of the exact quantile at every q, and not
	 * biased: the mean signed error over q = 0.01..0.99 is within 0.3 %
	 * (bucket upper edges gave about +3 % here, up to +6.25 %). */
	enum { N = 200000 };
	uint64_t *v = malloc(N * sizeof(*v));
	CHECK(v != NULL, "malloc");
	if (v) {
		lognormal(v, N, 0x5eed);
		ab_hist_init(&b);
		for (size_t i = 0; i < N; i++)
			ab_hist_record(&b, v[i]);
		qsort(v, N, sizeof(*v), cmp_u64);
		double bias = 0;
		int nb = 0;
		for (int k = 1; k <= 99; k++, nb++) {
			double e = rel_err(&b, v, N, k / 100.0);
			bias += e;
			CHECK(fabs(e) <= 0.01, "lognormal p%d: error %.4f", k, e);
		}
		for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++)
			CHECK(fabs(rel_err(&b, v, N, qs[i])) <= 0.01, "lognormal p%g: error %.4f",
			      qs[i] * 100, rel_err(&b, v, N, qs[i]));
		bias /= nb;
		CHECK(fabs(bias) <= 0.003, "lognormal: mean signed error %.4f (biased)", bias);
		printf("hist: lognormal mean signed error %.5f\n", bias);
		free(v);
	}

	/* One repeated value: every quantile is that value (clamped to min/max). */
	ab_hist_init(&b);
	for (int i = 0; i < 1000; i++)
		ab_hist_record(&b, 123457);
	CHECK(ab_hist_quantile(&b, 0.5) == 123457 && ab_hist_quantile(&b, 0.99) == 123457,
	      "constant data: p50 %llu", (unsigned long long)ab_hist_quantile(&b, 0.5));
	/* Small exact values are exact. */
	ab_hist_init(&b);
	for (uint64_t x = 0; x < 16; x++)
		ab_hist_record(&b, x);
	CHECK(ab_hist_quantile(&b, 0.5) == 8, "small p50 %llu",
	      (unsigned long long)ab_hist_quantile(&b, 0.5));
	/* Quantiles are monotonic. */
	uint64_t prev = 0;
	for (double q = 0; q <= 1.0; q += 0.01) {
		uint64_t x = ab_hist_quantile(&a, q);
		CHECK(x >= prev, "quantile not monotonic at %.2f", q);
		prev = x;
	}
	return ab_check_report("hist");
}
