/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ab_report_priv.h - the parts of `agebench report` and what they share:
 *   ab_report.c       entry point: load, compare, write report.txt
 *   ab_report_util.c  text buffer, modes (from ab_mode_table), benchmark
 *                     groups (through ab_name_parse), medians
 *   ab_report_text.c  the text sections and the per-metric mode tables
 *   ab_report_fig.c   the figure specs and their data files
 *   ab_gnuplot.c      the gnuplot runner (variables, mode styles, rename)
 * Internal to analysis/: not installed, not used outside these files.
 */
#ifndef AB_REPORT_PRIV_H
#define AB_REPORT_PRIV_H

#include <stdbool.h>
#include <stddef.h>

#include "ab_compare.h"
#include "ab_schema.h"

#define AB_REP_WIDTH	80
#define AB_REP_MAXMODES (AB_MODE_NR + 4) /* the table's modes plus a few unknown ones */
#define AB_REP_MAXBE	8

/* ---- growable text buffer ---- */

struct ab_sb {
	char *s;
	size_t len, cap;
};

void ab_sb_printf(struct ab_sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ab_sb_rule(struct ab_sb *b, char c);
/* @first then @text, words wrapped at AB_REP_WIDTH; continuation lines start with @indent. */
void ab_sb_wrap(struct ab_sb *b, const char *indent, const char *first, const char *text);

/* ---- modes present in a results file, in ab_mode_table order ---- */

struct ab_rep_modes {
	char name[AB_REP_MAXMODES][AB_NAME_TOKEN];
	int n;
};

void ab_rep_collect_modes(const struct ab_results *r, struct ab_rep_modes *ms);
/* Index of @mode in @ms, or -1. */
int ab_rep_mode_index(const struct ab_rep_modes *ms, const char *mode);
/* The baseline mode of the tables ("locked"). */
const char *ab_rep_base_mode(void);

/* ---- benchmark names (ab_name_parse) ---- */

/*
 * Group key of @name: the name without its mode and its vcpus:N argument
 * ("model/4K/pages:16384/inval:0"); false if @name is no agebench name.
 */
bool ab_rep_group(const char *name, char *buf, size_t len);
/* The name without its mode (vcpus kept). */
bool ab_rep_cfg_key(const char *name, char *buf, size_t len);
bool ab_rep_is_mode(const char *name, const char *mode);
bool ab_rep_of_backend(const char *name, const char *backend);
long ab_rep_vcpus(const char *name); /* -1 if absent */
/* "model/4K/pages:16384" -> "model 4K pages:16384" */
void ab_rep_subtitle(char *buf, size_t len, const char *key);
/* Distinct backends (name element 0) in file order. */
int ab_rep_backends(const struct ab_results *r, char be[][AB_NAME_TOKEN]);
/*
 * The configuration shown in the per-vCPU figures and the summary of
 * @backend: the group with the most benchmarks having @metric (malloc'd).
 */
char *ab_rep_dominant_group(const struct ab_results *r, const char *backend, const char *metric);
/* The group shared by most of @names[i] with @ok[i] (malloc'd), or NULL. */
char *ab_rep_most_common_group(const char *const *names, const bool *ok, size_t n);
/* The largest vcpus:N among the benchmarks of group @key (-1 if none has one). */
long ab_rep_max_vcpus(const struct ab_results *r, const char *key);

/* ---- metrics ---- */

bool ab_rep_mean(const struct ab_bench_res *b, const char *metric, double *mean);
/* Median and quartiles (the figures use these: robust to one bad repetition). */
bool ab_rep_median(const struct ab_bench_res *b, const char *metric, double *med, double *q1,
		   double *q3);
const struct ab_metric *ab_rep_any_metric(const struct ab_results *r, const char *metric);
const struct ab_cmp_row *ab_rep_cmp_lookup(const struct ab_cmp *c, const char *bench,
					   const char *metric);

/* ---- text sections (ab_report_text.c) ---- */

void ab_rep_machine(struct ab_sb *b, const struct ab_results *r, const struct ab_rep_modes *ms,
		    const char *results_path);
void ab_rep_reproduce(struct ab_sb *b, const struct ab_results *r, const char *dir);
void ab_rep_summary(struct ab_sb *b, const struct ab_results *r, const struct ab_cmp *cmp,
		    const struct ab_rep_modes *ms);
void ab_rep_results(struct ab_sb *b, const char *title, const struct ab_results *r,
		    const struct ab_cmp *cmp, const struct ab_rep_modes *ms);
/* The loader's cross-check against common/ab_counters.def, when it found anything. */
void ab_rep_schema_notes(struct ab_sb *b, const struct ab_results *r);

/* ---- figures (ab_report_fig.c) and the gnuplot runner (ab_gnuplot.c) ---- */

struct ab_fig_note {
	char file[128];
	char what[160];
	char why[256]; /* non-empty: skipped/failed, with the reason */
};

struct ab_figs {
	struct ab_fig_note n[32];
	int nn;
	const char *dir;      /* DIR/figures */
	const char *plotsdir; /* where the .gp scripts are */
	const char *gnuplot;
	char log[4200];
};

void ab_fig_note(struct ab_figs *f, const char *file, const char *what, const char *why, ...)
    __attribute__((format(printf, 4, 5)));
void ab_rep_figures(struct ab_figs *f, const struct ab_results *r, const struct ab_results *mr,
		    const struct ab_rep_modes *ms, const struct ab_rep_modes *mms);
void ab_rep_figures_section(struct ab_sb *b, const struct ab_figs *f, bool disabled);

/* Append a gnuplot single-quoted string assignment "name='val'; ". */
void ab_gp_var(struct ab_sb *v, const char *name, const char *val);
/*
 * The styles of the modes in @modes (space-separated, the data blocks'
 * order) from ab_mode_table as gnuplot variables colours/points/dashes
 * (black, point 1, solid for a mode the table does not know).
 */
void ab_gp_mode_styles(struct ab_sb *v, const char *modes);
/*
 * Run @script.gp with @vars (plus data/out paths) and move the results into
 * place as DIR/figures/@base.{png,svg}. Returns 0 or -1 (@why set).
 */
int ab_gnuplot_run(struct ab_figs *f, const char *script, const char *base, const char *data,
		   struct ab_sb *vars, char *why, size_t whylen);

#endif /* AB_REPORT_PRIV_H */
