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
 * Each question has fixed primary comparisons, declared as data in
 * ab_answers.c (ab_primaries[]) before any result is read and printed on
 * the page; Holm's correction runs over every primary the results can
 * measure; every other row is secondary (exploratory, raw p). Effects are
 * ratios on the log scale (or differences in the metric's unit for
 * quantities that reach 0) with 95% CIs, paired within blocked rounds
 * where the run has them (ab_effect.h). Oversubscribed points are never
 * used. docs/reporting.md "The answer page" is the same text.
 */
#ifndef AB_ANSWERS_H
#define AB_ANSWERS_H

#include <jansson.h>
#include <stdbool.h>

#include "ab_report_priv.h"
#include "ab_results.h"

#include "ab_effect.h"

#define AB_ANS_N       4
#define AB_ANS_MAXROWS 16
#define AB_ANS_SIZABLE 10.0 /* % improvement Q4 calls sizable (docs/reporting.md: why) */

/* One results file offered to the answers, with how far it can be trusted. */
struct ab_ans_input {
	const struct ab_results *r;
	const char *path;
};

struct ab_ans_row {
	char label[48];	 /* "read_locked", "locked -> read_locked", ... */
	char metric[32]; /* "ns_per_page" */
	char unit[16];	 /* the metric's unit (a difference is printed in it) */
	char config[96]; /* the benchmark configuration, e.g. "4K batch:1 vcpus:1" */
	bool primary;	 /* one of the question's fixed primaries (Holm) */
	struct ab_effect e;
};

struct ab_answer {
	const char *id, *who, *question;
	bool answered;
	char basis[240];   /* the controlled comparison: modes, workload, backend */
	char rule[240];	   /* the fixed primaries and the verdict's rule */
	char source[200];  /* data source and trust level */
	char host[200];	   /* repetitions the host interfered with, in that source */
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
/* Primaries tested (Holm's m) by the last ab_answers_compute(), and over how many rounds. */
int ab_answers_nprimary(const struct ab_answer a[AB_ANS_N]);

/* The Q3 waterfall figure (DIR/figures/answers_q3_waterfall.{png,svg}). */
void ab_answers_waterfall(struct ab_figs *f, const struct ab_answer a[AB_ANS_N]);

#endif /* AB_ANSWERS_H */
