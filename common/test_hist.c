// SPDX-License-Identifier: GPL-2.0
/* test_hist.c - the log-bucket histogram's quantiles and merge. */
#include "ab_common.h"
#include "ab_check.h"

#include <stdio.h>
#include <stdlib.h>

int main(void)
{
	struct ab_hist a, b;

	ab_hist_init(&a);
	ab_hist_init(&b);
	CHECK(ab_hist_quantile(&a, 0.5) == 0, "empty histogram quantile not 0");
	/* 1..100000 uniformly: p50 ~ 50000, p99 ~ 99000, within 6.25%. */
	for (uint64_t v = 1; v <= 100000; v++)
		ab_hist_record(v % 2 ? &a : &b, v);
	ab_hist_merge(&a, &b);
	CHECK(a.count == 100000, "count %llu", (unsigned long long)a.count);
	CHECK(a.min == 1 && a.max == 100000, "min/max %llu/%llu", (unsigned long long)a.min,
	      (unsigned long long)a.max);
	double p50 = (double)ab_hist_quantile(&a, 0.5), p99 = (double)ab_hist_quantile(&a, 0.99);
	CHECK(p50 >= 50000 && p50 <= 50000 * 1.0625, "p50 %.0f", p50);
	CHECK(p99 >= 99000 && p99 <= 99000 * 1.0625, "p99 %.0f", p99);
	CHECK(ab_hist_quantile(&a, 1.0) == 100000, "p100 is not max");
	/* Small exact values are exact. */
	ab_hist_init(&b);
	for (uint64_t v = 0; v < 16; v++)
		ab_hist_record(&b, v);
	CHECK(ab_hist_quantile(&b, 0.5) == 8, "small p50 %llu",
	      (unsigned long long)ab_hist_quantile(&b, 0.5));
	/* Quantiles are monotonic. */
	uint64_t prev = 0;
	for (double q = 0; q <= 1.0; q += 0.01) {
		uint64_t v = ab_hist_quantile(&a, q);
		CHECK(v >= prev, "quantile not monotonic at %.2f", q);
		prev = v;
	}
	return ab_check_report("hist");
}
