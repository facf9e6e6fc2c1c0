// SPDX-License-Identifier: GPL-2.0
/*
 * ab_report.c - `agebench report DIR`: load DIR/results.json (and
 * DIR/macro.json), compare each mode with locked, draw the figures
 * (ab_report_fig.c), write DIR/report.txt (ab_report_text.c).
 */
#include "ab_report.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ab_common.h"
#include "ab_answers.h"
#include "ab_report_priv.h"

#include <jansson.h>

#ifndef AB_PLOTS_DIR
#define AB_PLOTS_DIR "plots"
#endif

/* One input file, loaded and compared mode by mode against locked. */
struct input {
	struct ab_results r;
	struct ab_cmp cmp;
	struct ab_rep_modes ms;
	bool loaded, compared;
};

static int load_input(struct input *in, const char *path)
{
	struct ab_cmp_opts o = AB_CMP_OPTS_DEFAULT;
	char err[1024];

	if (ab_results_load(path, &in->r, err, sizeof(err))) {
		fprintf(stderr, "agebench report: %s\n", err);
		return 2;
	}
	in->loaded = true;
	ab_rep_collect_modes(&in->r, &in->ms);
	if (ab_cmp_modes(&in->r, ab_rep_base_mode(), &o, &in->cmp, err, sizeof(err))) {
		fprintf(stderr, "agebench report: %s\n", err);
		return 2;
	}
	in->compared = true;
	return 0;
}

static void free_input(struct input *in)
{
	if (in->compared)
		ab_cmp_free(&in->cmp);
	if (in->loaded)
		ab_results_free(&in->r);
	memset(in, 0, sizeof(*in));
}

/* Plain text for mail: no blanks at line ends. */
static void strip_trailing_blanks(struct ab_sb *b)
{
	size_t o = 0, i;

	for (i = 0; i < b->len; i++) {
		if (b->s[i] == '\n')
			while (o > 0 && b->s[o - 1] == ' ')
				o--;
		b->s[o++] = b->s[i];
	}
	b->len = o;
}

static void appendix(struct ab_sb *b, const struct ab_cmp *cmp)
{
	char *t = NULL;
	size_t tl = 0;
	FILE *mf = open_memstream(&t, &tl);

	ab_sb_printf(b, "Appendix: every benchmark against %s, all metrics\n", ab_rep_base_mode());
	ab_sb_rule(b, '-');
	if (mf) {
		ab_cmp_print_text(mf, cmp);
		fclose(mf);
		ab_sb_printf(b, "%s", t);
		free(t);
	}
}

/* The answers to the four questions from the run's results (and macro). */
static void answers(const struct input *mi, const struct input *ma, struct ab_answer a[AB_ANS_N])
{
	struct ab_ans_input in[2] = {{.r = &mi->r}, {.r = ma ? &ma->r : NULL}};

	ab_answers_compute(in, ma ? 2 : 1, a);
}

/*
 * report.txt: the answer page, the machine, how to reproduce, the summary;
 * report-full.txt (@full): all of that and every table, the figures, the
 * appendix.
 */
static void compose(struct ab_sb *b, const struct input *mi, const struct input *ma,
		    const struct ab_figs *figs, bool nofig, const char *path, const char *dir,
		    const struct ab_answer a[AB_ANS_N], bool full)
{
	ab_sb_printf(b, "agebench report: secondary-MMU page aging\n");
	ab_sb_rule(b, '=');
	ab_answers_text(b, a, AB_REP_WIDTH);
	ab_rep_machine(b, &mi->r, &mi->ms, path);
	ab_rep_reproduce(b, &mi->r, dir);
	ab_rep_summary(b, &mi->r, &mi->cmp, &mi->ms);
	if (!full) {
		ab_sb_printf(b,
			     "Every table, the figures and every benchmark against %s: "
			     "report-full.txt\n",
			     ab_rep_base_mode());
		return;
	}
	ab_rep_results(b, "Micro results (results.json)", &mi->r, &mi->cmp, &mi->ms);
	ab_rep_schema_notes(b, &mi->r);
	if (ma) {
		ab_rep_results(b, "Macro results (macro.json)", &ma->r, &ma->cmp, &ma->ms);
		ab_rep_schema_notes(b, &ma->r);
	} else {
		ab_sb_printf(b, "Macro results\n");
		ab_sb_rule(b, '-');
		ab_sb_printf(b,
			     "  no macro results (%.60s not found);\n  the reclaim CPU/refault "
			     "figure was skipped.\n\n",
			     "macro.json");
	}
	ab_rep_figures_section(b, figs, nofig);
	appendix(b, &mi->cmp);
}

/* Draw the figures into DIR/figures; 0, or 1 when the directory cannot be made. */
static int draw_figures(struct ab_figs *figs, const char *dir, const struct input *mi,
			const struct input *ma)
{
	static char fdir[4200], ddir[4200];
	int e;

	snprintf(fdir, sizeof(fdir), "%s/figures", dir);
	snprintf(ddir, sizeof(ddir), "%s/figures/data", dir);
	figs->dir = fdir;
	figs->plotsdir = getenv("AGEBENCH_PLOTS_DIR") ? getenv("AGEBENCH_PLOTS_DIR") : AB_PLOTS_DIR;
	figs->gnuplot = getenv("AGEBENCH_GNUPLOT") ? getenv("AGEBENCH_GNUPLOT") : "gnuplot";
	snprintf(figs->log, sizeof(figs->log), "%.4000s/gnuplot.log", ddir);
	e = ab_mkdir_p(ddir);
	if (e) {
		fprintf(stderr, "agebench report: %s: %s\n", ddir, strerror(-e));
		return 1;
	}
	unlink(figs->log);
	ab_rep_figures(figs, &mi->r, ma ? &ma->r : NULL, &mi->ms, ma ? &ma->ms : NULL);
	return 0;
}

static int write_file(const char *dir, const char *name, const char *text, size_t len)
{
	char rp[4300];
	int e;

	snprintf(rp, sizeof(rp), "%s/%s", dir, name);
	e = ab_write_atomic(rp, text, len);
	if (e) {
		fprintf(stderr, "agebench report: %s: %s\n", rp, strerror(-e));
		return 1;
	}
	printf("%s: %s\n", name, rp);
	return 0;
}

static int write_report(struct ab_sb *b, const char *dir, const char *name)
{
	strip_trailing_blanks(b);
	return write_file(dir, name, b->s, b->len);
}

static int write_answers(const char *dir, const struct ab_answer a[AB_ANS_N])
{
	json_t *j = ab_answers_json(a);
	char *t = json_dumps(j, JSON_INDENT(2));
	int rc = t ? write_file(dir, "answers.json", t, strlen(t)) : 1;

	free(t);
	json_decref(j);
	return rc;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: agebench report [--no-figures] DIR\n"
		   "       agebench report --cover-letter DIR|RESULTS.json...\n"
		   "Write DIR/report.txt (the answers to the four reviewer questions, the\n"
		   "machine, how to reproduce, the summary), DIR/report-full.txt (and every\n"
		   "table), DIR/answers.json and DIR/figures/*.{png,svg} from DIR/results.json\n"
		   "(and DIR/macro.json when present). --cover-letter prints the answers\n"
		   "merged from several runs (micro, macro, lab) in 72 columns for a cover\n"
		   "letter. Exit 0 ok, 1 write failure, 2 bad input.\n");
}

/* Options; the directory, or NULL with *rc set. */
static const char *parse_args(int argc, char **argv, bool *nofig, int *rc)
{
	static const struct option lo[] = {
	    {"no-figures", no_argument, NULL, 'n'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int opt;

	optind = 0;
	opterr = 0;
	*rc = 2;
	while ((opt = getopt_long(argc, argv, "+h", lo, NULL)) != -1) {
		if (opt == 'n') {
			*nofig = true;
		} else if (opt == 'h') {
			usage(stdout);
			*rc = 0;
			return NULL;
		} else {
			fprintf(stderr, "agebench report: unknown option '%s'\n", argv[optind - 1]);
			usage(stderr);
			return NULL;
		}
	}
	if (argc - optind != 1) {
		usage(stderr);
		return NULL;
	}
	if (strlen(argv[optind]) > 4000) {
		fprintf(stderr, "agebench report: directory name too long\n");
		return NULL;
	}
	return argv[optind];
}

int ab_report_main(int argc, char **argv)
{
	struct input mi = {0}, ma = {0};
	struct ab_figs figs = {0};
	struct ab_sb b = {0};
	char path[4200], mpath[4200];
	bool have_macro = false, nofig = false;
	int rc;
	const char *dir;

	if (argc > 1 && !strcmp(argv[1], "--cover-letter"))
		return ab_cover_letter_main(argc - 2, argv + 2);
	dir = parse_args(argc, argv, &nofig, &rc);
	if (!dir)
		return rc;
	snprintf(path, sizeof(path), "%s/results.json", dir);
	snprintf(mpath, sizeof(mpath), "%s/macro.json", dir);
	rc = load_input(&mi, path);
	if (!rc && !mi.r.nb) {
		fprintf(stderr, "agebench report: %s: no benchmark results\n", path);
		rc = 2;
	}
	/* A macro run's results.json is the macro section itself (its macro.json is
	 * the same data, kept for older readers). */
	bool mi_macro = !rc && ab_results_context(&mi.r, "backend") &&
			!strcmp(ab_results_context(&mi.r, "backend"), "macro");
	if (!rc && !mi_macro && !access(mpath, F_OK)) {
		rc = load_input(&ma, mpath);
		have_macro = !rc && ma.r.nb > 0;
	}
	struct ab_answer a[AB_ANS_N];
	if (!rc)
		answers(&mi, have_macro ? &ma : NULL, a);
	if (!rc && !nofig && !(rc = draw_figures(&figs, dir, &mi, have_macro ? &ma : NULL)))
		ab_answers_waterfall(&figs, a);
	if (!rc) {
		struct ab_sb full = {0};

		/* Figures first, so the report can say what was drawn. */
		compose(&b, &mi, have_macro ? &ma : NULL, &figs, nofig, path, dir, a, false);
		compose(&full, &mi, have_macro ? &ma : NULL, &figs, nofig, path, dir, a, true);
		rc = write_report(&b, dir, "report.txt") ||
		     write_report(&full, dir, "report-full.txt") || write_answers(dir, a);
		free(full.s);
		for (int i = 0; !rc && i < figs.nn; i++)
			if (!figs.n[i].why[0])
				printf("figure: %s/%s (+ .svg)\n", dir, figs.n[i].file);
		for (int i = 0; i < figs.nn; i++)
			if (figs.n[i].why[0])
				fprintf(stderr, "agebench report: %s skipped: %s\n", figs.n[i].file,
					figs.n[i].why);
	}
	free(b.s);
	free_input(&ma);
	free_input(&mi);
	return rc;
}
