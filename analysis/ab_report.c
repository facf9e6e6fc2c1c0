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
#include "ab_report_priv.h"

#ifndef AB_PLOTS_DIR
#define AB_PLOTS_DIR "analysis/gnuplot"
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

/* The whole of report.txt. */
static void compose(struct ab_sb *b, const struct input *mi, const struct input *ma,
		    const struct ab_figs *figs, bool nofig, const char *path, const char *dir)
{
	ab_sb_printf(b, "agebench report: secondary-MMU page aging\n");
	ab_sb_rule(b, '=');
	ab_sb_printf(b, "\n");
	ab_rep_machine(b, &mi->r, &mi->ms, path);
	ab_rep_reproduce(b, &mi->r, dir);
	ab_rep_summary(b, &mi->r, &mi->cmp, &mi->ms);
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

static int write_report(struct ab_sb *b, const char *dir, const struct ab_figs *figs)
{
	char rp[4300];
	int e;

	snprintf(rp, sizeof(rp), "%s/report.txt", dir);
	strip_trailing_blanks(b);
	e = ab_write_atomic(rp, b->s, b->len);
	if (e) {
		fprintf(stderr, "agebench report: %s: %s\n", rp, strerror(-e));
		return 1;
	}
	printf("report: %s\n", rp);
	for (int i = 0; i < figs->nn; i++)
		if (!figs->n[i].why[0])
			printf("figure: %s/%s (+ .svg)\n", dir, figs->n[i].file);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: agebench report [--no-figures] DIR\n"
		   "Write DIR/report.txt and DIR/figures/*.{png,svg} from DIR/results.json\n"
		   "(and DIR/macro.json when present). Exit 0 ok, 1 write failure, 2 bad input.\n");
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
	const char *dir = parse_args(argc, argv, &nofig, &rc);

	if (!dir)
		return rc;
	snprintf(path, sizeof(path), "%s/results.json", dir);
	snprintf(mpath, sizeof(mpath), "%s/macro.json", dir);
	rc = load_input(&mi, path);
	if (!rc && !mi.r.nb) {
		fprintf(stderr, "agebench report: %s: no benchmark results\n", path);
		rc = 2;
	}
	if (!rc && !access(mpath, F_OK)) {
		rc = load_input(&ma, mpath);
		have_macro = !rc && ma.r.nb > 0;
	}
	if (!rc && !nofig)
		rc = draw_figures(&figs, dir, &mi, have_macro ? &ma : NULL);
	if (!rc) {
		/* Figures first, so the report can say what was drawn. */
		compose(&b, &mi, have_macro ? &ma : NULL, &figs, nofig, path, dir);
		rc = write_report(&b, dir, &figs);
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
