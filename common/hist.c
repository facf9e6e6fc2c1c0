// SPDX-License-Identifier: GPL-2.0
/* hist.c - log-bucket latency histogram (see ab_common.h). */
#include "ab_common.h"

#include <string.h>

void ab_hist_init(struct ab_hist *h)
{
	memset(h, 0, sizeof(*h));
	h->min = UINT64_MAX;
}

/* Bucket of @v: power-of-two class, then 16 linear steps inside it. */
static unsigned int hist_index(uint64_t v)
{
	unsigned int msb, sub;

	if (v < AB_HIST_SUB)
		return (unsigned int)v;
	msb = 63u - (unsigned int)__builtin_clzll(v);
	sub = (unsigned int)((v >> (msb - 4)) & (AB_HIST_SUB - 1));
	return (msb - 3) * AB_HIST_SUB + sub;
}

/* Smallest value of bucket @i and the bucket's width (values it holds). */
static uint64_t hist_lower(unsigned int i, uint64_t *width)
{
	unsigned int msb, sub;

	if (i < 2 * AB_HIST_SUB) {
		*width = 1;
		return i;
	}
	msb = i / AB_HIST_SUB + 3;
	sub = i % AB_HIST_SUB;
	*width = 1ull << (msb - 4);
	return (uint64_t)(AB_HIST_SUB + sub) << (msb - 4);
}

void ab_hist_record(struct ab_hist *h, uint64_t v)
{
	h->b[hist_index(v)]++;
	h->count++;
	h->sum += v;
	if (v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
}

void ab_hist_merge(struct ab_hist *dst, const struct ab_hist *src)
{
	for (unsigned int i = 0; i < AB_HIST_BUCKETS; i++)
		dst->b[i] += src->b[i];
	dst->count += src->count;
	dst->sum += src->sum;
	if (src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
}

/*
 * The value of rank floor(q * count) (0-based) of the recorded values. Inside
 * the bucket that holds that rank the values are taken as spread evenly over
 * the bucket's width (the k-th of c values at lower + (k + 1/2) * width / c),
 * so the estimate is not biased towards the bucket's upper edge (it used to
 * return the upper edge: up to +6.25%); the buckets of min and max are taken
 * to end at min and max. Exact wherever a bucket holds one value per integer
 * (all values < 32, dense data).
 */
uint64_t ab_hist_quantile(const struct ab_hist *h, double q)
{
	uint64_t rank, seen = 0;

	if (!h->count)
		return 0;
	if (q <= 0)
		return h->min;
	if (q >= 1)
		return h->max;
	rank = (uint64_t)(q * (double)h->count);
	if (rank >= h->count)
		rank = h->count - 1;
	for (unsigned int i = 0; i < AB_HIST_BUCKETS; i++) {
		if (seen + h->b[i] > rank) {
			uint64_t width, lo = hist_lower(i, &width);
			uint64_t k = rank - seen, c = h->b[i], hi = lo + width - 1;

			/* The buckets of min and max end there. */
			if (h->min > lo)
				lo = h->min;
			if (h->max < hi)
				hi = h->max;
			width = hi - lo + 1;
			uint64_t v = lo + (uint64_t)(((double)k + 0.5) * (double)width / (double)c);

			if (v > h->max)
				v = h->max;
			if (v < h->min)
				v = h->min;
			return v;
		}
		seen += h->b[i];
	}
	return h->max;
}
