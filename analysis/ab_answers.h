/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ab_answers.h - the four reviewer questions (../shared/CONTEXT.md), each
 * answered from one controlled comparison in the results at hand, or said
 * to be unanswered with what is missing and the command that gets it:
 *   Q1 (Sean)    is the accuracy of taking mmu_lock worth its cost?
 *   Q2 (Oliver)  one independent variable at a time: each mode vs locked
 *   Q3 (Matlack) what does each step buy? locked -> read_locked -> fast_only
 *                -> bitmap
 *   Q4 (Oliver)  does the bitmap give a sizable win?
 * Effects are Hodges-Lehmann shifts as % of the baseline's median with their
 * 95% confidence interval; significant = Mann-Whitney p < 0.05 and the
 * interval excludes +-2% (each answer is one comparison chosen before the
 * data is seen, so no multiplicity correction). Oversubscribed points are
 * never used.
 */
#ifndef AB_ANSWERS_H
#define AB_ANSWERS_H

#include <jansson.h>
#include <stdbool.h>

#include "ab_report_priv.h"
#include "ab_results.h"

#define AB_ANS_N	  4
#define AB_ANS_MAXROWS	  16
#define AB_ANS_SIZABLE	  10.0 /* % improvement Q4 calls sizable (docs/reporting.md: why) */
#define AB_ANS_MIN_EFFECT 2.0

/* One results file offered to the answers, with how far it can be trusted. */
struct ab_ans_input {
	const struct ab_results *r;
	const char *path;
};

struct ab_effect {
	bool ok;	      /* both sides had the metric */
	double pct, lo, hi;   /* shift and its CI, % of the base median */
	double base_med;      /* the base's median (unit of the metric) */
	double p;	      /* Mann-Whitney, two-sided */
	bool significant;     /* p < 0.05 and [lo, hi] excludes +-AB_ANS_MIN_EFFECT */
	size_t n_base, n_new; /* repetitions */
};

struct ab_ans_row {
	char label[40];	 /* "read_locked", "locked -> read_locked", ... */
	char metric[32]; /* "ns_per_page" */
	char config[96]; /* the benchmark configuration, e.g. "4K batch:1 vcpus:1" */
	struct ab_effect e;
};

struct ab_answer {
	const char *id, *who, *question;
	bool answered;
	char basis[240];   /* the controlled comparison: modes, workload, backend */
	char source[200];  /* data source and trust level */
	char verdict[240]; /* one line */
	char note[240];	   /* what the rows leave out, e.g. a metric 0 in every repetition */
	char missing[240]; /* what is missing (answered = false) */
	char command[400]; /* reproduces the answer, or gets the missing data */
	struct ab_ans_row rows[AB_ANS_MAXROWS];
	int nrows;
	int headline; /* index of the row the verdict rests on, or -1 */
};

/* Compute the four answers from @in[0..nin) (the first input that can answer each). */
void ab_answers_compute(const struct ab_ans_input *in, int nin, struct ab_answer a[AB_ANS_N]);
/* The answer page at @width columns (80 in report.txt, 72 in a cover letter). */
void ab_answers_text(struct ab_sb *b, const struct ab_answer a[AB_ANS_N], int width);
/* {"Q1": {...}, ..., "Q4": {...}} (new reference). */
json_t *ab_answers_json(const struct ab_answer a[AB_ANS_N]);
/* Trust level of a results file: "model (mechanism only)", "kvm in the TCG lab ...", ... */
const char *ab_answers_trust(const struct ab_results *r);
/* The effect of @metric of benchmark @nb against @bb (samples of repetitions). */
struct ab_effect ab_answers_effect(const struct ab_bench_res *bb, const struct ab_bench_res *nb,
				   const char *metric);

/* The Q3 waterfall figure (DIR/figures/answers_q3_waterfall.{png,svg}). */
void ab_answers_waterfall(struct ab_figs *f, const struct ab_answer a[AB_ANS_N]);

#endif /* AB_ANSWERS_H */
