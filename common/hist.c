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

/* Largest value that falls into bucket @i. */
static uint64_t hist_upper(unsigned int i)
{
	unsigned int msb, sub;

	if (i < 2 * AB_HIST_SUB)
		return i < AB_HIST_SUB ? i : (uint64_t)i;
	msb = i / AB_HIST_SUB + 3;
	sub = i % AB_HIST_SUB;
	return ((uint64_t)(AB_HIST_SUB + sub) << (msb - 4)) + ((1ull << (msb - 4)) - 1);
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
		seen += h->b[i];
		if (seen > rank) {
			uint64_t v = hist_upper(i);

			if (v > h->max)
				v = h->max;
			if (v < h->min)
				v = h->min;
			return v;
		}
	}
	return h->max;
}
