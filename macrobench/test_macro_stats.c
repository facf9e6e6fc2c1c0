// SPDX-License-Identifier: GPL-2.0
/*
 * test_macro_stats.c - the per-mode statistics of `agebench macro` (the
 * Kruskal-Wallis separation and the medians) on fixed repetitions, through
 * the functions macro_stats.c shares in macro_priv.h.
 */
#include "macro_priv.h"

#include <math.h>

static int fails;
#define CHECK(c, ...)                                                                              \
	do {                                                                                       \
		if (!(c)) {                                                                        \
			printf("FAIL: " __VA_ARGS__);                                              \
			printf("\n");                                                              \
			fails++;                                                                   \
		}                                                                                  \
	} while (0)

static void add(int mode, const char *ctr, double v, bool ok)
{
	struct rep *r = &mac_reps[mac_nreps++];

	memset(r, 0, sizeof(*r));
	r->mode = mode;
	r->ok = ok;
	mac_put(r, ctr, v);
}

int main(void)
{
	double h, p, med, lo, hi;

	/* two modes fully apart, 3 each: H = 3.857, p = 0.0495 (chi-square, 1 df) */
	mac_modes[0] = "locked";
	mac_modes[1] = "bitmap";
	mac_nmodes = 2;
	mac_nreps = 0;
	for (int i = 0; i < 3; i++)
		add(0, "ops", 1 + i, true);
	for (int i = 0; i < 3; i++)
		add(1, "ops", 4 + i, true);
	add(1, "ops", -100, false); /* a failed repetition counts nowhere */
	CHECK(!mac_kruskal_wallis("ops", &h, &p), "H computed");
	CHECK(fabs(h - 3.857) < 0.001, "H %.4f, want 3.857", h);
	CHECK(fabs(p - 0.0495) < 0.001, "p %.4f, want 0.0495", p);
	CHECK(mac_mode_stats(1, "ops", &med, &lo, &hi) == 3 && med == 5 && lo == 4 && hi == 6,
	      "median of the good repetitions only (%g %g %g)", med, lo, hi);

	/* four modes with ties (the lab's op_p50_ns): H 7.92 tie-corrected, p 0.048 */
	static const double v[4][3] = {
	    {59.4, 59.4, 57.3}, {59.4, 59.4, 59.4}, {57.3, 57.3, 57.3}, {59.4, 59.4, 61.4}};
	mac_modes[2] = "fast_only";
	mac_modes[3] = "read_locked";
	mac_nmodes = 4;
	mac_nreps = 0;
	for (int m = 0; m < 4; m++)
		for (int i = 0; i < 3; i++)
			add(m, "op_p50_ns", v[m][i], true);
	CHECK(!mac_kruskal_wallis("op_p50_ns", &h, &p), "H with ties");
	CHECK(fabs(h - 7.92) < 0.01, "H %.4f, want 7.92", h);
	CHECK(fabs(p - 0.0477) < 0.001, "p %.4f, want 0.0477", p);

	/* all equal, or a mode with < 2 good repetitions: no answer */
	mac_nreps = 0;
	for (int m = 0; m < 4; m++)
		for (int i = 0; i < 2; i++)
			add(m, "ops", 7, true);
	CHECK(mac_kruskal_wallis("ops", &h, &p), "all equal: no H");
	mac_nreps = 0;
	for (int m = 0; m < 4; m++)
		add(m, "ops", m, true);
	CHECK(mac_kruskal_wallis("ops", &h, &p), "one repetition per mode: no H");
	CHECK(mac_kruskal_wallis("refault_pages", &h, &p), "absent counter: no H");
	if (!fails)
		printf("ok: Kruskal-Wallis and medians\n");
	return fails ? 1 : 0;
}
