// SPDX-License-Identifier: GPL-2.0
/*
 * test_stats - the Mann-Whitney U test against independent answers:
 * closed-form exact p-values, a brute-force enumeration of the permutation
 * distribution (ties included), and the normal approximation computed with
 * libm's erfc instead of GSL; the Hodges-Lehmann shift and its confidence
 * interval against hand-counted ranks (critical U from published tables:
 * 2 for 5 vs 5, 17 for 9 vs 9 at 0.05 two-sided); Holm against a worked
 * example.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "ab_stats.h"

static int failures;

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			printf("FAIL %s:%d: ", __FILE__, __LINE__);                                \
			printf(__VA_ARGS__);                                                       \
			printf("\n");                                                              \
			failures++;                                                                \
		}                                                                                  \
	} while (0)

static bool close_to(double a, double b, double rel)
{
	return fabs(a - b) <= rel * fmax(fabs(a), fabs(b)) + 1e-300;
}

/* Two-sided exact p by enumerating every split of the pooled sample. */
static double brute_p(const double *x, int nx, const double *y, int ny)
{
	int n = nx + ny;
	double v[32], r[32], obs = 0, e, hit = 0, tot = 0;

	for (int i = 0; i < nx; i++)
		v[i] = x[i];
	for (int i = 0; i < ny; i++)
		v[nx + i] = y[i];
	for (int i = 0; i < n; i++) { /* midrank: 1 + #smaller + (#equal - 1) / 2 */
		int lt = 0, eq = 0;

		for (int j = 0; j < n; j++) {
			lt += v[j] < v[i];
			eq += v[j] == v[i];
		}
		r[i] = 1 + lt + (eq - 1) / 2.0;
	}
	for (int i = 0; i < nx; i++)
		obs += r[i];
	e = nx * (n + 1) / 2.0;
	for (unsigned long m = 0; m < (1ul << n); m++) {
		double s = 0;

		if (__builtin_popcountl(m) != nx)
			continue;
		for (int i = 0; i < n; i++)
			if (m & (1ul << i))
				s += r[i];
		tot++;
		if (fabs(s - e) >= fabs(obs - e) - 1e-9)
			hit++;
	}
	return hit / tot;
}

/* Two-sided signed-rank p by enumerating the 2^n signs of the midranks of |d| (zeros dropped). */
static double brute_sr(const double *d, int n)
{
	double a[24], r[24], obs = 0, tot = 0, hit = 0, t = 0;
	int m = 0;

	for (int i = 0; i < n; i++)
		if (d[i] != 0)
			a[m++] = d[i];
	for (int i = 0; i < m; i++) {
		int lt = 0, eq = 0;

		for (int j = 0; j < m; j++) {
			lt += fabs(a[j]) < fabs(a[i]);
			eq += fabs(a[j]) == fabs(a[i]);
		}
		r[i] = 1 + lt + (eq - 1) / 2.0;
		t += r[i];
		obs += a[i] > 0 ? r[i] : 0;
	}
	for (unsigned long s = 0; s < (1ul << m); s++) {
		double w = 0;

		for (int i = 0; i < m; i++)
			if (s >> i & 1)
				w += r[i];
		tot++;
		hit += fabs(2 * w - t) >= fabs(2 * obs - t) - 1e-9;
	}
	return hit / tot;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(void)
{
	bool exact;
	double u, p;

	/* Complete separation, 5 vs 5: p = 2 / C(10,5) = 2/252. */
	{
		double x[] = {1, 2, 3, 4, 5}, y[] = {6, 7, 8, 9, 10};

		p = ab_mann_whitney(x, 5, y, 5, &u, &exact);
		CHECK(exact, "5 vs 5 should be exact");
		CHECK(close_to(p, 2.0 / 252, 1e-12), "separated 5/5: p=%g want %g", p, 2.0 / 252);
		CHECK(u == 0, "U=%g want 0", u);
		p = ab_mann_whitney(y, 5, x, 5, &u, NULL);
		CHECK(close_to(p, 2.0 / 252, 1e-12) && u == 25, "reversed: p=%g U=%g", p, u);
	}
	/* Complete separation, 9 vs 9: p = 2 / C(18,9) = 2/48620. */
	{
		double x[9], y[9];

		for (int i = 0; i < 9; i++) {
			x[i] = 100 + i;
			y[i] = 110 + i;
		}
		p = ab_mann_whitney(x, 9, y, 9, NULL, NULL);
		CHECK(close_to(p, 2.0 / 48620, 1e-12), "separated 9/9: p=%g", p);
	}
	/* Identical samples and all-ties: p = 1. */
	{
		double x[] = {3, 3, 3, 3}, y[] = {3, 3, 3, 3, 3};
		double a[] = {1, 2, 3, 4, 5, 6};

		p = ab_mann_whitney(x, 4, y, 5, NULL, &exact);
		CHECK(p == 1 && exact, "all tied: p=%g", p);
		p = ab_mann_whitney(a, 6, a, 6, NULL, NULL);
		CHECK(close_to(p, 1, 1e-12), "identical samples: p=%g", p);
	}
	/* 3 vs 3 can never reach p < 0.05: minimum two-sided p is 2/20. */
	{
		double x[] = {1, 2, 3}, y[] = {4, 5, 6};

		p = ab_mann_whitney(x, 3, y, 3, NULL, NULL);
		CHECK(close_to(p, 0.1, 1e-12), "3/3 separated: p=%g want 0.1", p);
	}
	/* Empty side. */
	CHECK(ab_mann_whitney(NULL, 0, (double[]){1}, 1, NULL, NULL) == 1, "empty side");

	/* Exact DP vs brute force on pseudo-random data with many ties. */
	{
		unsigned s = 12345;
		int cases = 0;

		for (int t = 0; t < 300; t++) {
			int nx = 1 + t % 8, ny = 1 + (t / 8) % 9;
			double x[16], y[16], pb, pd;

			if (nx + ny > 16)
				continue;
			for (int i = 0; i < nx; i++)
				x[i] = (s = s * 1103515245u + 12345u) >> 28; /* 0..15: ties */
			for (int i = 0; i < ny; i++)
				y[i] = ((s = s * 1103515245u + 12345u) >> 28) + (t % 3);
			pd = ab_mann_whitney(x, nx, y, ny, NULL, &exact);
			pb = brute_p(x, nx, y, ny);
			CHECK(exact && close_to(pd, pb, 1e-9),
			      "case %d (%d vs %d): dp %.12g brute %.12g", t, nx, ny, pd, pb);
			cases++;
		}
		CHECK(cases > 200, "only %d brute-force cases", cases);
	}
	/* Normal approximation (n > AB_MWU_EXACT_MAX): 25 vs 25 separated. */
	{
		double x[25], y[25];
		double mu = 25 * 25 / 2.0, sd = sqrt(25.0 * 25 * 51 / 12), z = (mu - 0.5) / sd;

		for (int i = 0; i < 25; i++) {
			x[i] = i;
			y[i] = 100 + i;
		}
		p = ab_mann_whitney(x, 25, y, 25, NULL, &exact);
		CHECK(!exact, "25 vs 25 should use the normal approximation");
		CHECK(close_to(p, erfc(z / sqrt(2)), 1e-6), "normal 25/25: p=%g want %g", p,
		      erfc(z / sqrt(2)));
		/* overlapping: interleaved -> p near 1 */
		for (int i = 0; i < 25; i++)
			y[i] = i + 0.5;
		p = ab_mann_whitney(x, 25, y, 25, NULL, NULL);
		CHECK(p > 0.5, "interleaved 25/25 p=%g should be large", p);
	}
	/* Normal approximation with ties, against the tie-corrected formula. */
	{
		double x[30], y[30], tie = 0;
		int n = 60;

		for (int i = 0; i < 30; i++) {
			x[i] = i % 5;	  /* 0..4, six each */
			y[i] = 1 + i % 5; /* 1..5, six each */
		}
		/* pooled counts: 0:6 1:12 2:12 3:12 4:12 5:6 */
		int cnt[] = {6, 12, 12, 12, 12, 6};
		double rank[6], start = 0, w = 0;

		for (int k = 0; k < 6; k++) {
			rank[k] = start + (cnt[k] + 1) / 2.0;
			start += cnt[k];
			tie += (double)cnt[k] * cnt[k] * cnt[k] - cnt[k];
		}
		for (int i = 0; i < 30; i++)
			w += rank[(int)x[i]];
		double uu = w - 30 * 31 / 2.0, mu = 450,
		       var = 30.0 * 30 / 12 * ((n + 1) - tie / (n * (n - 1.0)));
		double z = (fabs(uu - mu) - 0.5) / sqrt(var);

		p = ab_mann_whitney(x, 30, y, 30, &u, NULL);
		CHECK(close_to(u, uu, 1e-12), "U=%g want %g", u, uu);
		CHECK(close_to(p, erfc(z / sqrt(2)), 1e-6), "tied normal: p=%g want %g", p,
		      erfc(z / sqrt(2)));
	}
	/* Summary statistics. */
	{
		double v[] = {2, 4, 4, 4, 5, 5, 7, 9};
		struct ab_summary s;

		ab_summarize(v, 8, &s);
		CHECK(s.n == 8 && s.mean == 5, "mean %g", s.mean);
		CHECK(close_to(s.sd, sqrt(32.0 / 7), 1e-12), "sd %g", s.sd);
		CHECK(close_to(s.sd_pct, 100 * sqrt(32.0 / 7) / 5, 1e-12), "sd%% %g", s.sd_pct);
	}
	/* Median. */
	CHECK(ab_median((double[]){3, 1, 2}, 3) == 2, "odd median");
	CHECK(ab_median((double[]){4, 1, 3, 2}, 4) == 2.5, "even median");
	CHECK(isnan(ab_median(NULL, 0)), "empty median");
	/* Hodges-Lehmann: 5 vs 5, differences 6..14 (counts 1 2 3 4 5 4 3 2 1). */
	{
		double x[] = {1, 2, 3, 4, 5}, y[] = {15, 11, 13, 12, 14}, sh, lo, hi;
		int rc = ab_hodges_lehmann(x, 5, y, 5, 0.95, &sh, &lo, &hi);

		/* k = U_crit + 1 = 3: [D(3), D(23)] */
		CHECK(rc == 0 && sh == 10 && lo == 7 && hi == 13, "HL 5/5: rc %d %g [%g, %g]", rc,
		      sh, lo, hi);
	}
	{
		double x[9], y[9], sh, lo, hi;

		for (int i = 0; i < 9; i++) {
			x[i] = i;
			y[i] = 1.5 * i + 3;
		}
		/* k = 18: [D(18), D(64)] of the 81 differences */
		CHECK(!ab_hodges_lehmann(x, 9, y, 9, 0.95, &sh, &lo, &hi) && sh == 5 && lo == 1 &&
			  hi == 9,
		      "HL 9/9: %g [%g, %g]", sh, lo, hi);
	}
	{
		double x[25], y[25], sh, lo, hi;

		for (int i = 0; i < 25; i++) {
			x[i] = i;
			y[i] = i + 100;
		}
		/* normal approximation: k = floor(312.5 - 1.96 sqrt(25*25*51/12)) = 211 */
		CHECK(!ab_hodges_lehmann(x, 25, y, 25, 0.95, &sh, &lo, &hi) && sh == 100 &&
			  lo == 96 && hi == 104,
		      "HL 25/25: %g [%g, %g]", sh, lo, hi);
	}
	{
		double x[] = {1, 2, 3}, y[] = {4, 5, 6}, sh, lo, hi;

		/* 3 vs 3 cannot give a 95% interval (P(U = 0) = 0.05 > 0.025) */
		CHECK(ab_hodges_lehmann(x, 3, y, 3, 0.95, &sh, &lo, &hi) == -1 && sh == 3 &&
			  isinf(lo) && isinf(hi),
		      "HL 3/3: %g [%g, %g]", sh, lo, hi);
		CHECK(ab_hodges_lehmann(x, 0, y, 3, 0.95, &sh, &lo, &hi) == -1 && isnan(sh),
		      "HL empty side");
	}
	/*
	 * The review's outlier: base 10.00-10.04, new 10.05-10.08 and one 50. The
	 * mean moves +80%; the shift is 0.05 (0.5% of the base median) and its CI
	 * starts at 0.02 (0.2%): below a 2% minimum effect.
	 */
	{
		double x[] = {10.00, 10.01, 10.02, 10.03, 10.04};
		double y[] = {10.05, 10.06, 10.07, 10.08, 50}, sh, lo, hi;

		CHECK(!ab_hodges_lehmann(x, 5, y, 5, 0.95, &sh, &lo, &hi) &&
			  close_to(sh, 0.05, 1e-9) && close_to(lo, 0.02, 1e-9) && hi > 39,
		      "HL outlier: %g [%g, %g]", sh, lo, hi);
	}
	/* Holm: sorted 0.005 0.01 0.03 0.04 -> 4x, 3x, 2x, 1x, then running max. */
	{
		double p[] = {0.01, 0.04, 0.03, 0.005, NAN}, a[5];

		ab_holm(p, 5, a);
		CHECK(close_to(a[3], 0.02, 1e-12) && close_to(a[0], 0.03, 1e-12) &&
			  close_to(a[2], 0.06, 1e-12) && close_to(a[1], 0.06, 1e-12) && isnan(a[4]),
		      "holm: %g %g %g %g %g", a[0], a[1], a[2], a[3], a[4]);
		ab_holm((double[]){0.5, 0.6}, 2, a);
		CHECK(a[0] == 1 && a[1] == 1, "holm caps at 1: %g %g", a[0], a[1]);
		/* BH: sorted 0.005 0.01 0.03 0.04 0.5 (m = 5) -> 5/1, 5/2, 5/3, 5/4, 5/5
		 * times p = 0.025 0.025 0.05 0.05 0.5, then the running min from the top. */
		double q[5] = {0.01, 0.04, 0.03, 0.005, 0.5}, b[5];
		ab_bh(q, 5, b);
		CHECK(fabs(b[0] - 0.025) < 1e-12 && fabs(b[1] - 0.05) < 1e-12 &&
			  fabs(b[2] - 0.05) < 1e-12 && fabs(b[3] - 0.025) < 1e-12 &&
			  fabs(b[4] - 0.5) < 1e-12,
		      "bh: %g %g %g %g %g", b[0], b[1], b[2], b[3], b[4]);
		/* step-up: a larger p can lower a smaller one's adjusted value */
		ab_bh((double[]){0.04, 0.045, NAN}, 3, b);
		CHECK(fabs(b[0] - 0.045) < 1e-12 && fabs(b[1] - 0.045) < 1e-12 && isnan(b[2]),
		      "bh step-up: %g %g %g", b[0], b[1], b[2]);
	}
	/*
	 * Signed-rank: all 9 of 9 the same sign -> 2/2^9; against brute force
	 * with ties and zeros; the Walsh-average CI at n = 9 is the 6th
	 * smallest and largest of 45 (critical W = 5 in the published table),
	 * at n = 5 there is none (P(W = 0) = 1/32 > 0.025).
	 */
	{
		double all[9] = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9};
		double mixed[] = {1.5, -0.5, 2.0, 2.0, -2.0, 0, 3.1, 0.7, -0.1, 1.2, 4.0};
		size_t used;

		CHECK(close_to(ab_signed_rank(all, 9, &used), 2.0 / 512, 1e-12) && used == 9,
		      "signed rank 9/9 positive: %g", ab_signed_rank(all, 9, NULL));
		double p = ab_signed_rank(mixed, 11, &used), b = brute_sr(mixed, 11);
		CHECK(close_to(p, b, 1e-9) && used == 10, "signed rank ties/zero: %g, brute %g", p,
		      b);
		CHECK(ab_signed_rank((double[]){0, 0}, 2, &used) == 1 && used == 0,
		      "signed rank all zero");
		double w[45], est, lo, hi;
		int o = 0;
		for (int i = 0; i < 9; i++)
			for (int j = i; j < 9; j++)
				w[o++] = (mixed[i] + mixed[j]) / 2;
		qsort(w, 45, sizeof(w[0]), cmp_d);
		CHECK(!ab_walsh_hl(mixed, 9, 0.95, &est, &lo, &hi) && est == w[22] && lo == w[5] &&
			  hi == w[39],
		      "walsh 9: %g [%g, %g], want %g [%g, %g]", est, lo, hi, w[22], w[5], w[39]);
		CHECK(ab_walsh_hl(mixed, 5, 0.95, &est, &lo, &hi) == -1 && isinf(lo) && isinf(hi),
		      "walsh 5: a CI at 0.95");
		CHECK(!ab_walsh_hl(mixed, 6, 0.95, &est, &lo, &hi), "walsh 6: no CI");
	}
	/* Ratios on the log scale: y = 2x -> x2, its CI around it, on both sides
	 * of 2 as the unpaired differences spread; a zero -> -2. */
	{
		double x[] = {10, 11, 12, 13, 14}, y[] = {20, 22, 24, 26, 28}, r, lo, hi;

		CHECK(!ab_hl_ratio(x, 5, y, 5, 0.95, &r, &lo, &hi) && close_to(r, 2, 1e-12) &&
			  lo > 1.5 && lo < 2 && hi > 2 && hi < 2.6 && close_to(lo * hi, 4, 0.01),
		      "ratio x2: %g [%g, %g]", r, lo, hi);
		/* the review's x241 (0.51 vs 0.0021 ns/page) is a ratio, not ">+9999%" */
		double a[] = {0.50, 0.51, 0.52, 0.51, 0.50},
		       b[] = {0.0021, 0.0020, 0.0022, 0.0021, 0.0021};
		CHECK(!ab_hl_ratio(b, 5, a, 5, 0.95, &r, &lo, &hi) && r > 230 && r < 255 &&
			  lo > 200 && hi < 270,
		      "ratio x241: %g [%g, %g]", r, lo, hi);
		y[2] = 0;
		CHECK(ab_hl_ratio(x, 5, y, 5, 0.95, &r, &lo, &hi) == -2 && isnan(r),
		      "ratio with a zero");
	}
	/* Bimodality: the review's locked reps 57, 60, 55, 99, 97 are two regimes
	 * (3 low); 55..60 is one; so is a 10%-CV sample of 9. */
	{
		size_t nl;

		CHECK(ab_bimodal((double[]){57, 60, 55, 99, 97}, 5, &nl) == 1 && nl == 3,
		      "bimodal 57..99: not flagged (nlow %zu)", nl);
		CHECK(!ab_bimodal((double[]){57, 58, 55, 60, 59}, 5, NULL), "55..60 flagged");
		CHECK(!ab_bimodal((double[]){100, 91, 108, 97, 112, 85, 103, 95, 118}, 9, NULL),
		      "a 10%% CV sample flagged");
		CHECK(!ab_bimodal((double[]){1, 100, 1}, 3, NULL), "n = 3 flagged");
		CHECK(ab_bimodal((double[]){0, 0, 0, 5, 5, 5}, 6, &nl) == 1 && nl == 3,
		      "bimodal with zeros (raw scale)");
	}
	if (failures) {
		printf("test_stats: %d failure(s)\n", failures);
		return 1;
	}
	printf("test_stats: all checks passed\n");
	return 0;
}
