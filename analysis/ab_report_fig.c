// SPDX-License-Identifier: GPL-2.0
/*
 * ab_report_fig.c - the report's figures. Each figure is one spec (what it
 * shows, its series, the columns of its data file, its axis labels, its
 * gnuplot script); draw() writes DIR/figures/data/<base>.dat (one block per
 * mode, "# mode <name>: <columns>") and runs the script through
 * ab_gnuplot_run() with the modes' styles from ab_mode_table.
 */
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ab_common.h"
#include "ab_report_priv.h"

enum fig_kind {
	FIG_VS_VCPUS, /* @metric's median and quartiles vs vCPUs, a line per mode */
	FIG_XY,	      /* @metric vs @xmetric, a point per vCPU count, a line per mode */
	FIG_CDF,      /* agebench.cdf[...].fault at the largest vCPU count, per mode */
	FIG_MACRO,    /* macro.json: reclaim CPU and refaults, a bar per mode */
};

struct fig_spec {
	enum fig_kind kind;
	const char *base;    /* file DIR/figures/<prefix>_<base>.{png,svg} */
	const char *script;  /* plots/<script>.gp */
	const char *what;    /* the line in report.txt */
	const char *metric;  /* y (FIG_MACRO: prefix of the reclaim CPU counter) */
	const char *xmetric; /* FIG_XY: x (FIG_MACRO: prefix of the refault counter) */
	const char *columns; /* of each data block */
	const char *title, *xlabel, *ylabel;
};

static const struct fig_spec specs[] = {
#define AB_FIGURE(kind, ...) {FIG_##kind, __VA_ARGS__},
#include "figures.def" /* plots/: the figure specifications */
#undef AB_FIGURE
};

/* What one figure is drawn from, and what its data function produced. */
struct fig {
	const struct fig_spec *s;
	const struct ab_results *r;
	const struct ab_rep_modes *ms;
	const char *backend;
	struct ab_sb d, vars, used; /* data file, extra gnuplot variables, modes drawn */
	int nser;
	char sub[600];
	char why[512];
};

void ab_fig_note(struct ab_figs *f, const char *file, const char *what, const char *why, ...)
{
	struct ab_fig_note *n;

	if (f->nn == 32)
		return;
	n = &f->n[f->nn++];
	snprintf(n->file, sizeof(n->file), "%s", file);
	snprintf(n->what, sizeof(n->what), "%s", what);
	n->why[0] = 0;
	if (why) {
		va_list ap;

		va_start(ap, why);
		vsnprintf(n->why, sizeof(n->why), why, ap);
		va_end(ap);
	}
}

static int fail(struct fig *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct fig *g, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(g->why, sizeof(g->why), fmt, ap);
	va_end(ap);
	return -1;
}

/* Start the data block of mode @mode. */
static void block(struct fig *g, const char *mode, const char *from)
{
	ab_sb_printf(&g->d, "# mode %s: %s%s%s%s\n", mode, g->s->columns, from ? " (" : "",
		     from ? from : "", from ? ")" : "");
	ab_sb_printf(&g->used, "%s%s", g->nser ? " " : "", mode);
	g->nser++;
}

/* ---- FIG_VS_VCPUS and FIG_XY: medians per vCPU count ---- */

struct series_pt {
	double x, y, lo, hi, z; /* vCPUs, median, quartiles, median of the x metric */
};

static int cmp_pt(const void *a, const void *b)
{
	const struct series_pt *p = a, *q = b;

	return p->x < q->x ? -1 : p->x > q->x;
}

/* Points of @metric (and @zmetric) for @mode in group @key, by vCPUs. */
static size_t series(const struct ab_results *r, const char *key, const char *mode,
		     const char *metric, const char *zmetric, struct series_pt *pts, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < r->nb && n < max; i++) {
		double med, lo, hi, z = NAN;
		char g[512];
		long v;

		if (!ab_rep_is_mode(r->b[i].name, mode) ||
		    !ab_rep_group(r->b[i].name, g, sizeof(g)) || strcmp(g, key) ||
		    !ab_rep_median(&r->b[i], metric, &med, &lo, &hi))
			continue;
		if (zmetric && !ab_rep_median(&r->b[i], zmetric, &z, NULL, NULL))
			continue;
		v = ab_rep_vcpus(r->b[i].name);
		pts[n++] = (struct series_pt){v >= 0 ? (double)v : 1, med, lo, hi, z};
	}
	qsort(pts, n, sizeof(*pts), cmp_pt);
	return n;
}

/* Axis ranges: log2 x for wide vCPU ranges, y clipped at 2.5x the largest median. */
static void vs_vcpus_axes(struct fig *g, double xmin, double xmax, double ylo, double ymed,
			  double yhi)
{
	bool clip = yhi > 2.5 * ymed && ymed > 0;

	/* linear when 0 vCPUs (aging alone) is plotted */
	if (xmin >= 1 && xmax / xmin >= 8)
		ab_sb_printf(&g->vars, "xlog=1; xmin=%g; xmax=%g; ", xmin / 1.3, xmax * 1.3);
	else
		ab_sb_printf(&g->vars, "xlog=0; xmin=%g; xmax=%g; ",
			     xmin - 0.3 * fmax(1, xmax - xmin) / 2,
			     xmax + 0.3 * fmax(1, xmax - xmin) / 2);
	/* One wide quartile range must not squash every line. */
	ab_sb_printf(&g->vars, "ymin=%.9g; ymax=%.9g; yclip=%d; ", fmin(0, ylo),
		     clip ? 2.5 * ymed : yhi * 1.05, clip);
	if (xmin < 0.5)
		ab_gp_var(&g->vars, "fig_xlabel", "vCPU threads (0: aging alone)");
}

static int data_vs_vcpus(struct fig *g)
{
	char *key = ab_rep_dominant_group(g->r, g->backend, g->s->metric);
	double xmin = INFINITY, xmax = -INFINITY, ymed = 0, yhi = 0, ylo = INFINITY;
	struct series_pt pts[64];

	if (!key)
		return fail(g, "no %s counter in the %s results", g->s->metric, g->backend);
	for (int mi = 0; mi < g->ms->n; mi++) {
		size_t n = series(g->r, key, g->ms->name[mi], g->s->metric, NULL, pts, 64);

		if (!n)
			continue;
		block(g, g->ms->name[mi], NULL);
		for (size_t i = 0; i < n; i++) {
			ab_sb_printf(&g->d, "%g %.9g %.9g %.9g\n", pts[i].x, pts[i].y, pts[i].lo,
				     pts[i].hi);
			xmin = fmin(xmin, pts[i].x);
			xmax = fmax(xmax, pts[i].x);
			ymed = fmax(ymed, pts[i].y);
			yhi = fmax(yhi, pts[i].hi);
			ylo = fmin(ylo, pts[i].lo);
		}
		ab_sb_printf(&g->d, "\n\n");
	}
	vs_vcpus_axes(g, xmin, xmax, ylo, ymed, yhi);
	ab_rep_subtitle(g->sub, sizeof(g->sub), key);
	free(key);
	return 0;
}

static int data_xy(struct fig *g)
{
	char *key = ab_rep_dominant_group(g->r, g->backend, g->s->metric);
	struct series_pt pts[64];

	if (!key)
		return fail(g, "no %s counter in the %s results", g->s->metric, g->backend);
	for (int mi = 0; mi < g->ms->n; mi++) {
		size_t n = series(g->r, key, g->ms->name[mi], g->s->metric, g->s->xmetric, pts, 64);

		if (!n)
			continue;
		block(g, g->ms->name[mi], NULL);
		for (size_t i = 0; i < n; i++)
			ab_sb_printf(&g->d, "%.9g %.9g %g\n", pts[i].z, pts[i].y, pts[i].x);
		ab_sb_printf(&g->d, "\n\n");
	}
	ab_rep_subtitle(g->sub, sizeof(g->sub), key);
	free(key);
	if (!g->nser)
		return fail(g, "no benchmark has both %s and %s", g->s->metric, g->s->xmetric);
	return 0;
}

/* ---- FIG_CDF: agebench.cdf ---- */

/* agebench.cdf keyed like the benchmarks (ab_bench_key), or NULL if it has none. */
static json_t *cdf_by_key(const struct ab_results *r)
{
	json_t *cdf = json_object_get(json_object_get(r->root, "agebench"), "cdf"), *val, *norm;
	const char *raw;

	if (!json_is_object(cdf) || !json_object_size(cdf))
		return NULL;
	norm = json_object();
	json_object_foreach(cdf, raw, val)
	{
		char *k = ab_bench_key(raw);

		json_object_set(norm, k, val);
		free(k);
	}
	return norm;
}

/*
 * The aging-cost figure's configuration if it has fault CDFs, else the group
 * with most fault CDFs of this backend (malloc'd), or NULL.
 */
static char *cdf_group(const struct fig *g, json_t *cdf, const char *series)
{
	size_t n = json_object_size(cdf), i = 0;
	const char **names = calloc(n + 1, sizeof(*names));
	bool *ok = calloc(n + 1, sizeof(*ok)), dom = false;
	char *key = ab_rep_dominant_group(g->r, g->backend, "ns_per_page");
	const char *nm;
	json_t *v;

	if (!names || !ok)
		abort();
	json_object_foreach(cdf, nm, v)
	{
		char k[512];

		names[i] = nm;
		ok[i] =
		    ab_rep_of_backend(nm, g->backend) && json_is_array(json_object_get(v, series));
		dom |= ok[i] && key && ab_rep_group(nm, k, sizeof(k)) && !strcmp(k, key);
		i++;
	}
	if (!dom) {
		free(key);
		key = ab_rep_most_common_group(names, ok, i);
	}
	free(names);
	free(ok);
	return key;
}

/* One mode's CDF block: the first entry of group @key at @vsel vCPUs. */
static void cdf_block(struct fig *g, json_t *cdf, const char *key, long vsel, const char *mode)
{
	const char *nm;
	json_t *v, *p;
	size_t i;

	json_object_foreach(cdf, nm, v)
	{
		json_t *pts = json_object_get(v, g->s->metric);
		char k[512];

		if (!ab_rep_group(nm, k, sizeof(k)) || strcmp(k, key) || ab_rep_vcpus(nm) != vsel ||
		    !ab_rep_is_mode(nm, mode) || !json_is_array(pts) || !json_array_size(pts))
			continue;
		block(g, mode, nm);
		json_array_foreach(pts, i, p)
		{
			double x = json_number_value(json_array_get(p, 0));
			double y = json_number_value(json_array_get(p, 1));

			if (json_is_array(p) && x > 0)
				ab_sb_printf(&g->d, "%.9g %.9g\n", x, y);
		}
		ab_sb_printf(&g->d, "\n\n");
		return;
	}
}

static int data_cdf(struct fig *g)
{
	json_t *cdf = cdf_by_key(g->r);
	char *key;
	long vsel = -1;
	const char *nm;
	json_t *v;

	if (!cdf)
		return fail(g, "no agebench.cdf in results.json");
	key = cdf_group(g, cdf, g->s->metric);
	if (!key) {
		json_decref(cdf);
		return fail(g, "no fault CDF for the %s backend in agebench.cdf", g->backend);
	}
	json_object_foreach(cdf, nm, v)
	{
		char k[512];

		if (ab_rep_group(nm, k, sizeof(k)) && !strcmp(k, key) && ab_rep_vcpus(nm) > vsel)
			vsel = ab_rep_vcpus(nm);
	}
	for (int mi = 0; mi < g->ms->n; mi++)
		cdf_block(g, cdf, key, vsel, g->ms->name[mi]);
	ab_rep_subtitle(g->sub, sizeof(g->sub) - 32, key);
	if (vsel > 0)
		snprintf(g->sub + strlen(g->sub), 32, " vcpus:%ld", vsel);
	json_decref(cdf);
	free(key);
	if (!g->nser)
		return fail(g, "agebench.cdf has no usable fault points");
	return 0;
}

/* ---- FIG_MACRO: macro.json ---- */

/* First counter of @r whose name starts with @prefix. */
static const char *metric_prefix(const struct ab_results *r, const char *prefix)
{
	for (size_t i = 0; i < r->nb; i++)
		for (size_t j = 0; j < r->b[i].nm; j++)
			if (!strncmp(r->b[i].m[j].name, prefix, strlen(prefix)))
				return r->b[i].m[j].name;
	return NULL;
}

static void macro_label(struct fig *g, const char *var, const char *metric)
{
	const struct ab_metric *m = ab_rep_any_metric(g->r, metric);
	char lab[256];

	snprintf(lab, sizeof(lab), "%s (%s)", metric, *m->unit ? m->unit : "no unit");
	ab_gp_var(&g->vars, var, lab);
}

/* One bar per mode: the first benchmark of group @key at @vsel vCPUs with both counters. */
static void macro_row(struct fig *g, const char *key, long vsel, const char *mode, const char *cpu,
		      const char *ref)
{
	for (size_t i = 0; i < g->r->nb; i++) {
		const struct ab_bench_res *b = &g->r->b[i];
		double c, cl, ch, rf, rl, rh;
		char k[512];

		if (!ab_rep_group(b->name, k, sizeof(k)) || strcmp(k, key) ||
		    ab_rep_vcpus(b->name) != vsel || !ab_rep_is_mode(b->name, mode) ||
		    !ab_rep_median(b, cpu, &c, &cl, &ch) || !ab_rep_median(b, ref, &rf, &rl, &rh))
			continue;
		if (!g->nser)
			ab_sb_printf(&g->d, "# mode %s\n", g->s->columns);
		ab_sb_printf(&g->used, "%s%s", g->nser ? " " : "", mode);
		g->nser++;
		ab_sb_printf(&g->d, "%s %.9g %.9g %.9g %.9g %.9g %.9g\n", mode, c, cl, ch, rf, rl,
			     rh);
		return;
	}
}

static int data_macro(struct fig *g)
{
	const char *cpu = metric_prefix(g->r, g->s->metric);
	const char *ref = metric_prefix(g->r, g->s->xmetric);
	struct ab_name n;
	char *key = NULL;
	long vsel;

	if (!cpu || !ref)
		return fail(g, "macro.json has no %s* counter",
			    !cpu ? g->s->metric : g->s->xmetric);
	if (ab_bench_name(g->r->b[0].name, &n))
		key = ab_rep_dominant_group(g->r, n.backend, cpu);
	if (!key)
		return fail(g, "macro.json: no benchmark with %s", cpu);
	vsel = ab_rep_max_vcpus(g->r, key);
	for (int mi = 0; mi < g->ms->n; mi++)
		macro_row(g, key, vsel, g->ms->name[mi], cpu, ref);
	ab_rep_subtitle(g->sub, sizeof(g->sub) - 32, key);
	if (vsel > 0)
		snprintf(g->sub + strlen(g->sub), 32, " vcpus:%ld", vsel);
	free(key);
	if (!g->nser)
		return fail(g, "macro.json: no mode has both %s and %s", cpu, ref);
	macro_label(g, "cpu_label", cpu);
	macro_label(g, "ref_label", ref);
	return 0;
}

/* ---- one figure ---- */

static int fig_data(struct fig *g)
{
	switch (g->s->kind) {
	case FIG_VS_VCPUS:
		return data_vs_vcpus(g);
	case FIG_XY:
		return data_xy(g);
	case FIG_CDF:
		return data_cdf(g);
	case FIG_MACRO:
		return data_macro(g);
	}
	return fail(g, "unknown figure kind");
}

/* Draw figure @s of @r (@prefix: the backend, or "macro") and note the outcome. */
static void draw(struct ab_figs *f, const struct fig_spec *s, const struct ab_results *r,
		 const struct ab_rep_modes *ms, const char *prefix)
{
	struct fig g = {.s = s, .r = r, .ms = ms, .backend = prefix};
	char base[128], file[160], data[4400];
	int rc;

	snprintf(base, sizeof(base), "%.64s_%.32s", prefix, s->base);
	snprintf(file, sizeof(file), "figures/%s.png", base);
	snprintf(data, sizeof(data), "%s/data/%s.dat", f->dir, base);
	/* the spec's labels first: a data function may override them */
	ab_gp_var(&g.vars, "fig_title", s->title);
	ab_gp_var(&g.vars, "fig_xlabel", s->xlabel);
	ab_gp_var(&g.vars, "fig_ylabel", s->ylabel);
	rc = fig_data(&g);
	if (!rc && (rc = ab_write_atomic(data, g.d.s ? g.d.s : "", g.d.len))) {
		ab_warn("report: %s: %s", data, strerror(-rc));
		snprintf(g.why, sizeof(g.why), "cannot write %.400s", data);
	}
	if (!rc) {
		ab_gp_var(&g.vars, "modes", g.used.s ? g.used.s : "");
		ab_gp_mode_styles(&g.vars, g.used.s);
		ab_gp_var(&g.vars, "subtitle", g.sub);
		rc = ab_gnuplot_run(f, s->script, base, data, &g.vars, g.why, sizeof(g.why));
	}
	if (rc)
		ab_fig_note(f, file, s->what, "%s", g.why);
	else
		ab_fig_note(f, file, s->what, NULL);
	free(g.d.s);
	free(g.vars.s);
	free(g.used.s);
}

void ab_rep_figures(struct ab_figs *f, const struct ab_results *r, const struct ab_results *mr,
		    const struct ab_rep_modes *ms, const struct ab_rep_modes *mms)
{
	char be[AB_REP_MAXBE][AB_NAME_TOKEN];
	int nbe = ab_rep_backends(r, be);

	for (int k = 0; k < nbe; k++)
		for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++)
			if (specs[i].kind != FIG_MACRO)
				draw(f, &specs[i], r, ms, be[k]);
	for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
		if (specs[i].kind != FIG_MACRO)
			continue;
		if (mr)
			draw(f, &specs[i], mr, mms, "macro");
		else
			ab_fig_note(f, "figures/macro_reclaim.png", specs[i].what,
				    "no macro results (macro.json not found)");
	}
}

void ab_rep_figures_section(struct ab_sb *b, const struct ab_figs *f, bool disabled)
{
	ab_sb_printf(b, "Figures (PNG and SVG in figures/, data in figures/data/)\n");
	ab_sb_rule(b, '-');
	if (disabled) {
		ab_sb_printf(b, "  not drawn (--no-figures)\n\n");
		return;
	}
	for (int i = 0; i < f->nn; i++) {
		char first[200];

		snprintf(first, sizeof(first), "  %s", f->n[i].file);
		if (f->n[i].why[0]) {
			char t[600];

			snprintf(t, sizeof(t), "%s: skipped: %s", f->n[i].what, f->n[i].why);
			ab_sb_printf(b, "%s\n", first);
			ab_sb_wrap(b, "      ", "      ", t);
		} else {
			ab_sb_printf(b, "%s\n      %s\n", first, f->n[i].what);
		}
	}
	ab_sb_printf(b, "\n");
}
