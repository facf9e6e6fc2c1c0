// SPDX-License-Identifier: GPL-2.0
/* ab_compare.c - `agebench compare`: Mann-Whitney U per benchmark and metric. */
#include "ab_compare.h"

#include "ab_errbuf.h"

#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define WIDTH 80

static void *xcalloc(size_t n, size_t sz)
{
	void *p = calloc(n ? n : 1, sz);

	if (!p)
		abort();
	return p;
}

static char *xstrdup(const char *s)
{
	char *d = strdup(s);

	if (!d)
		abort();
	return d;
}

char ab_verdict_mark(enum ab_verdict v)
{
	switch (v) {
	case AB_V_WORSE:
		return '!';
	case AB_V_BETTER:
		return '+';
	case AB_V_CHANGED:
		return '*';
	case AB_V_FEW:
		return '?';
	default:
		return ' ';
	}
}

static const char *verdict_name(enum ab_verdict v)
{
	static const char *const n[] = {"same",	   "worse",	   "better",
					"changed", "too_few_reps", "missing"};
	return n[v];
}

void ab_fmt_num(char *buf, size_t len, int width, double v)
{
	double a = fabs(v);

	if (isnan(v))
		snprintf(buf, len, "-");
	else if (a == 0)
		snprintf(buf, len, "0");
	else if (a >= 1e7 || a < 1e-3)
		snprintf(buf, len, "%.*e", width >= 10 ? 3 : 2, v);
	else if (a >= 1000)
		snprintf(buf, len, "%.1f", v);
	else if (a >= 10)
		snprintf(buf, len, "%.2f", v);
	else
		snprintf(buf, len, "%.4f", v);
	if ((int)strlen(buf) > width && width > 0) /* keep columns: fall back to %g */
		snprintf(buf, len, "%.*g", width > 7 ? width - 6 : 1, v);
}

double ab_cmp_min_p(size_t a, size_t b)
{
	double c = 1;

	for (size_t i = 1; i <= a; i++)
		c = c * (double)(b + i) / (double)i;
	return fmin(1, 2 / c);
}

/* Unit and direction of a row: declared on the new side, else the base side's. */
static void row_meta(const struct ab_metric *mb, const struct ab_metric *mn, struct ab_cmp_row *row)
{
	const struct ab_metric *m = mn ? mn : mb;

	row->metric = m->name;
	row->unit = m->unit;
	row->better = (mn && mn->declared)   ? mn->better
		      : (mb && mb->declared) ? mb->better
					     : m->better;
	if (mn && !mn->declared && mb && mb->declared)
		row->unit = mb->unit;
}

/* The Hodges-Lehmann shift, its CI at 1 - alpha, both also as % of the base median. */
static void row_shift(const struct ab_metric *mb, const struct ab_metric *mn,
		      const struct ab_cmp_opts *o, struct ab_cmp_row *row)
{
	double m;

	ab_hodges_lehmann(mb->v, mb->n, mn->v, mn->n, 1 - o->alpha, &row->shift, &row->shift_lo,
			  &row->shift_hi);
	row->base_median = m = ab_median(mb->v, mb->n);
	if (m == 0)
		return;
	ab_shift_feasible(mb->v, mb->n, mn->v, mn->n, &row->shift_lo);
	row->shift_pct = 100 * row->shift / fabs(m);
	row->lo_pct = 100 * row->shift_lo / fabs(m);
	row->hi_pct = 100 * row->shift_hi / fabs(m);
}

static void cmp_row(const struct ab_metric *mb, const struct ab_metric *mn,
		    const struct ab_cmp_opts *o, struct ab_cmp_row *row, struct ab_cmp *c)
{
	memset(row, 0, sizeof(*row));
	row_meta(mb, mn, row);
	row->p = row->p_adj = NAN;
	row->change_pct = row->shift = row->shift_pct = row->base_median = NAN;
	row->shift_lo = row->lo_pct = -INFINITY;
	row->shift_hi = row->hi_pct = INFINITY;
	if (mb)
		ab_summarize(mb->v, mb->n, &row->base);
	if (mn)
		ab_summarize(mn->v, mn->n, &row->new);
	if (!mb || !mn) {
		row->v = AB_V_MISSING;
		return;
	}
	if (row->base.mean != 0)
		row->change_pct = 100.0 * (row->new.mean - row->base.mean) / fabs(row->base.mean);
	row_shift(mb, mn, o, row);
	if (mb->n < AB_CMP_MIN_REPS || mn->n < AB_CMP_MIN_REPS) {
		row->v = AB_V_FEW;
		c->few_reps = true;
		return;
	}
	row->p = row->p_adj = ab_mann_whitney(mb->v, mb->n, mn->v, mn->n, NULL, &row->exact);
	c->ntests++;
}

/*
 * Does the shift's CI exclude the minimum effect (lie wholly above +min or
 * below -min)? With a base median of 0 there is no %: any change counts,
 * so the CI must exclude 0.
 */
static bool ci_excludes_min(const struct ab_cmp_row *r, double min_effect)
{
	if (isnan(r->shift_pct))
		return r->shift_lo > 0 || r->shift_hi < 0;
	return r->lo_pct > min_effect || r->hi_pct < -min_effect;
}

static void verdict(struct ab_cmp_row *row, const struct ab_cmp_opts *o)
{
	bool up = row->shift > 0;

	row->significant = row->p_adj < o->alpha && ci_excludes_min(row, o->min_effect);
	if (!row->significant)
		row->v = AB_V_SAME;
	else if (row->better == AB_BETTER_LOWER)
		row->v = up ? AB_V_WORSE : AB_V_BETTER;
	else if (row->better == AB_BETTER_HIGHER)
		row->v = up ? AB_V_BETTER : AB_V_WORSE;
	else
		row->v = AB_V_CHANGED;
}

/*
 * BH-adjust the p-values of one metric's rows (the family: that metric over
 * every benchmark compared).
 */
static void adjust_family(struct ab_cmp *c, const char *metric)
{
	double *p = calloc(c->ntests + 1, sizeof(*p));
	size_t k = 0;

	if (!p)
		abort();
	for (size_t i = 0; i < c->nb; i++)
		for (size_t j = 0; j < c->b[i].nrows; j++)
			if (!isnan(c->b[i].rows[j].p) && !strcmp(c->b[i].rows[j].metric, metric))
				p[k++] = c->b[i].rows[j].p;
	ab_bh(p, k, p);
	k = 0;
	for (size_t i = 0; i < c->nb; i++)
		for (size_t j = 0; j < c->b[i].nrows; j++)
			if (!isnan(c->b[i].rows[j].p) && !strcmp(c->b[i].rows[j].metric, metric))
				c->b[i].rows[j].p_adj = p[k++];
	free(p);
}

/* Is @r the first row (in order) of its metric's family? */
static bool first_of_family(const struct ab_cmp *c, size_t bi, size_t ri)
{
	const char *m = c->b[bi].rows[ri].metric;

	for (size_t i = 0; i <= bi; i++)
		for (size_t j = 0; j < c->b[i].nrows && (i < bi || j < ri); j++)
			if (!isnan(c->b[i].rows[j].p) && !strcmp(c->b[i].rows[j].metric, m))
				return false;
	return true;
}

/* After all rows: BH per metric over the tested rows (with opts.adjust), then the verdicts. */
static void decide(struct ab_cmp *c)
{
	for (size_t i = 0; c->opts.adjust && i < c->nb; i++)
		for (size_t j = 0; j < c->b[i].nrows; j++)
			if (!isnan(c->b[i].rows[j].p) && first_of_family(c, i, j))
				adjust_family(c, c->b[i].rows[j].metric);
	for (size_t i = 0; i < c->nb; i++)
		for (size_t j = 0; j < c->b[i].nrows; j++) {
			struct ab_cmp_row *r = &c->b[i].rows[j];

			if (isnan(r->p))
				continue;
			if (!c->opts.adjust)
				r->p_adj = r->p;
			verdict(r, &c->opts);
			c->nworse += r->v == AB_V_WORSE;
			c->nbetter += r->v == AB_V_BETTER;
			c->nchanged += r->v == AB_V_CHANGED;
			if (ab_cmp_min_p(r->base.n, r->new.n) >= c->opts.alpha &&
			    !c->p_unreachable) {
				c->p_unreachable = true;
				c->unreach_base = r->base.n;
				c->unreach_new = r->new.n;
			}
		}
}

static bool units_clash(const struct ab_metric *a, const struct ab_metric *b)
{
	/* Undeclared counters (other programs) have no unit to disagree on. */
	return a->declared && b->declared && strcmp(a->unit, b->unit);
}

static int cmp_bench(const struct ab_bench_res *bb, const struct ab_bench_res *bn,
		     const struct ab_results *rb, const struct ab_results *rn,
		     const struct ab_cmp_opts *o, struct ab_cmp *c, struct ab_cmp_bench *out,
		     char *err, size_t errlen)
{
	size_t cap = bb->nm + bn->nm, k = 0;

	if (strcmp(bb->time_unit, bn->time_unit)) {
		ab_errf(
		    err, errlen, 0,
		    "benchmark \"%s\": time_unit differs (%s in %s, %s in %s); refusing to compare",
		    bn->name, bb->time_unit, rb->path, bn->time_unit, rn->path);
		return -1;
	}
	out->name = xstrdup(bn->name);
	out->base_name = xstrdup(bb->name);
	out->base_reps = bb->nreps;
	out->new_reps = bn->nreps;
	out->rows = xcalloc(cap, sizeof(*out->rows));
	/* Metrics in base order, then those only in new. */
	for (size_t i = 0; i < bb->nm; i++) {
		const struct ab_metric *mb = &bb->m[i], *mn = ab_bench_metric(bn, mb->name);

		if (mn && units_clash(mb, mn)) {
			ab_errf(err, errlen, 0,
				"benchmark \"%s\": counter %s has unit \"%s\" in %s but \"%s\" in "
				"%s; refusing to compare",
				bn->name, mb->name, mb->unit, rb->path, mn->unit, rn->path);
			return -1;
		}
		cmp_row(mb, mn, o, &out->rows[k++], c);
	}
	for (size_t i = 0; i < bn->nm; i++)
		if (!ab_bench_metric(bb, bn->m[i].name))
			cmp_row(NULL, &bn->m[i], o, &out->rows[k++], c);
	out->nrows = k;
	return 0;
}

int ab_cmp_files(const struct ab_results *base, const struct ab_results *new,
		 const struct ab_cmp_opts *o, struct ab_cmp *c, char *err, size_t errlen)
{
	memset(c, 0, sizeof(*c));
	c->opts = *o;
	c->base_label = xstrdup(base->path);
	c->new_label = xstrdup(new->path);
	c->b = xcalloc(new->nb, sizeof(*c->b));
	c->only_base = xcalloc(base->nb, sizeof(char *));
	c->only_new = xcalloc(new->nb, sizeof(char *));
	for (size_t i = 0; i < base->nb; i++)
		if (!ab_results_find(new, base->b[i].name))
			c->only_base[c->n_only_base++] = xstrdup(base->b[i].name);
	for (size_t i = 0; i < new->nb; i++) {
		const struct ab_bench_res *bb = ab_results_find(base, new->b[i].name);

		if (!bb) {
			c->only_new[c->n_only_new++] = xstrdup(new->b[i].name);
			continue;
		}
		if (cmp_bench(bb, &new->b[i], base, new, o, c, &c->b[c->nb], err, errlen)) {
			c->nb++;
			ab_cmp_free(c);
			return -1;
		}
		c->nb++;
	}
	decide(c);
	return 0;
}

/* @name with its mode element set to @mode (malloc'd), or NULL if it is no agebench name. */
static char *with_mode(const char *name, const char *mode, char *cur, size_t curlen)
{
	struct ab_name n;
	char buf[1024];

	if (!ab_bench_name(name, &n) || strlen(mode) >= sizeof(n.mode))
		return NULL;
	snprintf(cur, curlen, "%s", n.mode);
	strcpy(n.mode, mode);
	return ab_name_format(&n, false, buf, sizeof(buf)) < 0 ? NULL : xstrdup(buf);
}

int ab_cmp_modes(const struct ab_results *r, const char *base_mode, const struct ab_cmp_opts *o,
		 struct ab_cmp *c, char *err, size_t errlen)
{
	memset(c, 0, sizeof(*c));
	c->opts = *o;
	c->opts.adjust = true;
	c->base_label = malloc(strlen(r->path) + strlen(base_mode) + 8);
	sprintf(c->base_label, "%s (%s)", base_mode, r->path);
	c->new_label = malloc(strlen(r->path) + 32);
	sprintf(c->new_label, "each other mode (%s)", r->path);
	c->b = xcalloc(r->nb, sizeof(*c->b));
	c->only_base = xcalloc(r->nb, sizeof(char *));
	c->only_new = xcalloc(r->nb, sizeof(char *));
	for (size_t i = 0; i < r->nb; i++) {
		const struct ab_bench_res *b = &r->b[i], *bb;
		char mode[AB_NAME_TOKEN], *bn = with_mode(b->name, base_mode, mode, sizeof(mode));

		if (!bn || !strcmp(mode, base_mode)) {
			free(bn);
			continue;
		}
		bb = ab_results_find(r, bn);
		free(bn);
		if (!bb) {
			c->only_new[c->n_only_new++] = xstrdup(b->name);
			continue;
		}
		if (cmp_bench(bb, b, r, r, o, c, &c->b[c->nb], err, errlen)) {
			c->nb++;
			ab_cmp_free(c);
			return -1;
		}
		c->nb++;
	}
	decide(c);
	return 0;
}

void ab_cmp_free(struct ab_cmp *c)
{
	for (size_t i = 0; i < c->nb; i++) {
		free(c->b[i].name);
		free(c->b[i].base_name);
		free(c->b[i].rows);
	}
	for (size_t i = 0; i < c->n_only_base; i++)
		free(c->only_base[i]);
	for (size_t i = 0; i < c->n_only_new; i++)
		free(c->only_new[i]);
	free(c->only_base);
	free(c->only_new);
	free(c->b);
	free(c->base_label);
	free(c->new_label);
	memset(c, 0, sizeof(*c));
}

/* ---- geometric means ---- */

/*
 * Per metric: the geometric mean of new/base over the rows where both means
 * are > 0; rows where a mean is 0 cannot enter it and are counted instead
 * (to_zero: base > 0, new 0; from_zero: base 0, new > 0; both_zero), so a
 * change that drives a counter to 0 still shows.
 */
struct gm {
	const char *metric;
	double logsum;
	size_t n, to_zero, from_zero, both_zero;
};

static struct gm *gm_slot(struct gm **g, size_t *n, size_t *cap, const char *metric)
{
	for (size_t k = 0; k < *n; k++)
		if (!strcmp((*g)[k].metric, metric))
			return &(*g)[k];
	if (*n == *cap) {
		*g = realloc(*g, (*cap *= 2) * sizeof(**g));
		if (!*g)
			abort();
	}
	(*g)[*n] = (struct gm){.metric = metric};
	return &(*g)[(*n)++];
}

static size_t geomeans(const struct ab_cmp *c, struct gm **out)
{
	size_t cap = 16, n = 0;
	struct gm *g = xcalloc(cap, sizeof(*g)), *k;

	for (size_t i = 0; i < c->nb; i++)
		for (size_t j = 0; j < c->b[i].nrows; j++) {
			const struct ab_cmp_row *r = &c->b[i].rows[j];
			double b = r->base.mean, nw = r->new.mean;

			if (r->v == AB_V_MISSING || b < 0 || nw < 0)
				continue;
			k = gm_slot(&g, &n, &cap, r->metric);
			if (b > 0 && nw > 0) {
				k->logsum += log(nw / b);
				k->n++;
			} else {
				k->to_zero += b > 0;
				k->from_zero += nw > 0;
				k->both_zero += b == 0 && nw == 0;
			}
		}
	*out = g;
	return n;
}

static void print_geomeans(FILE *f, const struct ab_cmp *c)
{
	struct gm *g;
	size_t ng = geomeans(c, &g);

	if (ng)
		fprintf(f, "\ngeometric mean of new/base over the compared benchmarks (means of 0\n"
			   "cannot enter it: counted apart):\n");
	for (size_t k = 0; k < ng; k++) {
		char gm[16] = "      n/a", zeros[96] = "";

		if (g[k].n)
			snprintf(gm, sizeof(gm), "%+8.2f%%",
				 100.0 * (exp(g[k].logsum / g[k].n) - 1));
		if (g[k].to_zero || g[k].from_zero)
			snprintf(zeros, sizeof(zeros), "; %zu to 0, %zu from 0", g[k].to_zero,
				 g[k].from_zero);
		fprintf(f, "  %s  %-22.22s (%zu benchmarks%s)\n", gm, g[k].metric, g[k].n, zeros);
	}
	free(g);
}

/* ---- text ---- */

static void print_name(FILE *f, const char *name, const char *right)
{
	int rl = (int)strlen(right), nl = (int)strlen(name);

	if (nl + 2 + rl <= WIDTH)
		fprintf(f, "%s%*s\n", name, WIDTH - nl, right);
	else if (nl <= WIDTH)
		fprintf(f, "%s\n%*s\n", name, WIDTH, right);
	else
		fprintf(f, "%.*s...\n%*s\n", WIDTH - 3, name, WIDTH, right);
}

static void fmt_sd(char *buf, size_t len, const struct ab_summary *s)
{
	if (s->n < 2)
		snprintf(buf, len, " ");
	else if (s->sd_pct < 99.95)
		snprintf(buf, len, "+-%.1f%%", s->sd_pct);
	else if (s->sd_pct < 9999.5)
		snprintf(buf, len, "+-%.0f%%", s->sd_pct);
	else
		snprintf(buf, len, "+- big");
}

static void fmt_p(char *buf, size_t len, const struct ab_cmp_row *r)
{
	if (isnan(r->p_adj))
		snprintf(buf, len, "-");
	else if (r->p_adj >= 0.001)
		snprintf(buf, len, "%.4f", r->p_adj);
	else
		snprintf(buf, len, "%.0e", r->p_adj);
}

/* Unit legend: "unit: metric metric ...", every metric once, wrapped at WIDTH. */
static void print_legend(FILE *f, const struct ab_cmp *c)
{
	const char *items[256], *lunit[64];
	char *legend[64];
	size_t ni = 0, nl = 0;

	for (size_t i = 0; i < c->nb; i++)
		for (size_t j = 0; j < c->b[i].nrows; j++) {
			const struct ab_cmp_row *r = &c->b[i].rows[j];
			const char *u = *r->unit ? r->unit : "no unit";
			size_t k;
			bool seen = false;

			for (k = 0; k < nl; k++)
				if (!strcmp(lunit[k], u))
					break;
			if (k == nl) {
				if (nl == 64)
					continue;
				lunit[nl] = u;
				legend[nl] = xcalloc(1, 1024);
				snprintf(legend[nl], 1024, "%s:", u);
				nl++;
			}
			for (size_t q = 0; q < ni; q++)
				if (!strcmp(items[q], r->metric))
					seen = true;
			if (seen || ni == 256)
				continue;
			items[ni++] = r->metric;
			if (strlen(legend[k]) + strlen(r->metric) + 2 < 1024) {
				strcat(legend[k], " ");
				strcat(legend[k], r->metric);
			}
		}
	for (size_t k = 0; k < nl; k++) {
		const char *p = legend[k];
		int col = fprintf(f, "%s", k ? "       " : "units: ");

		while (*p) {
			const char *sp = strchr(p + 1, ' ');
			int l = sp ? (int)(sp - p) : (int)strlen(p);

			if (col + l > WIDTH) {
				col = fprintf(f, "\n%*s", 9, "") - 1;
				if (*p == ' ') {
					p++;
					l--;
				}
			}
			col += fprintf(f, "%.*s", l, p);
			p += l;
		}
		fputc('\n', f);
		free(legend[k]);
	}
}

static void print_head(FILE *f, const struct ab_cmp *c)
{
	fprintf(f, "agebench compare: Mann-Whitney U, two-sided, alpha %g%s\n", c->opts.alpha,
		c->opts.adjust ? " (p: BH per metric)" : "");
	fprintf(f,
		"shift: Hodges-Lehmann, %% of the base median; significant when p < alpha\n"
		"and its %g%% CI excludes +-%g%%\n",
		100 * (1 - c->opts.alpha), c->opts.min_effect);
	fprintf(f, "  base: %s\n  new:  %s\n", c->base_label, c->new_label);
	fprintf(f, "marks: ! worse  + better  * changed (no known direction)  ? < %d reps\n",
		AB_CMP_MIN_REPS);
	print_legend(f, c);
	if (c->few_reps)
		fprintf(f,
			"WARNING: fewer than %d repetitions on a side for some benchmarks: no\n"
			"         significance verdict for them (rerun with --reps 9 or more)\n",
			AB_CMP_MIN_REPS);
	if (c->p_unreachable)
		fprintf(f,
			"WARNING: with %zu vs %zu samples the smallest possible p is %.3g, not\n"
			"         below alpha %g: such metrics cannot show a significant\n"
			"         change (use more --reps: 9 detects small shifts)\n",
			c->unreach_base, c->unreach_new,
			ab_cmp_min_p(c->unreach_base, c->unreach_new), c->opts.alpha);
}

static void print_row(FILE *f, const struct ab_cmp_row *r)
{
	char vb[32], vn[32], sb[16], sn[16], ch[24], p[16];
	double x = r->shift_pct;

	ab_fmt_num(vb, sizeof(vb), 10, r->v == AB_V_MISSING && !r->base.n ? NAN : r->base.mean);
	ab_fmt_num(vn, sizeof(vn), 10, r->v == AB_V_MISSING && !r->new.n ? NAN : r->new.mean);
	fmt_sd(sb, sizeof(sb), &r->base);
	fmt_sd(sn, sizeof(sn), &r->new);
	if (isnan(x))
		snprintf(ch, sizeof(ch), "%8s ", "-");
	else if (fabs(x) < 1e5)
		snprintf(ch, sizeof(ch), "%+7.2f%%%c", x, ab_verdict_mark(r->v));
	else
		snprintf(ch, sizeof(ch), "%+7.0e%%%c", x, ab_verdict_mark(r->v));
	if (isnan(x) && r->v != AB_V_MISSING && r->v != AB_V_SAME)
		ch[8] = ab_verdict_mark(r->v);
	fmt_p(p, sizeof(p), r);
	fprintf(f, "%10s %-7s  %10s %-7s  %9s  %6s  %.21s\n", vb, sb, vn, sn, ch, p, r->metric);
}

static void print_bench(FILE *f, const struct ab_cmp *c, const struct ab_cmp_bench *b)
{
	char right[96];

	if (strcmp(b->name, b->base_name)) {
		struct ab_name bn;

		snprintf(right, sizeof(right), "vs %s, reps %zu/%zu",
			 ab_bench_name(b->base_name, &bn) ? bn.mode : "base", b->base_reps,
			 b->new_reps);
	} else {
		snprintf(right, sizeof(right), "reps %zu/%zu", b->base_reps, b->new_reps);
	}
	fputc('\n', f);
	print_name(f, b->name, right);
	fprintf(f, "%10s %-7s  %10s %-7s  %9s  %6s  %s\n", "base mean", "+-sd", "new mean", "+-sd",
		"shift", c->opts.adjust ? "p BH" : "p", "metric");
	for (size_t j = 0; j < b->nrows; j++)
		print_row(f, &b->rows[j]);
}

void ab_cmp_print_text(FILE *f, const struct ab_cmp *c)
{
	print_head(f, c);
	for (size_t i = 0; i < c->nb; i++)
		print_bench(f, c, &c->b[i]);
	if (c->n_only_base || c->n_only_new)
		fputc('\n', f);
	if (c->n_only_base) {
		fprintf(f, "only in base (%zu, not compared):\n", c->n_only_base);
		for (size_t i = 0; i < c->n_only_base; i++)
			fprintf(f, "  %.78s\n", c->only_base[i]);
	}
	if (c->n_only_new) {
		fprintf(f, "only in new (%zu, not compared):\n", c->n_only_new);
		for (size_t i = 0; i < c->n_only_new; i++)
			fprintf(f, "  %.78s\n", c->only_new[i]);
	}
	print_geomeans(f, c);
	fprintf(f, "\nsummary: %zu benchmarks compared: %zu worse, %zu better, %zu changed%s\n",
		c->nb, c->nworse, c->nbetter, c->nchanged, c->nworse ? " -> REGRESSION" : "");
}

/* ---- JSON ---- */

static json_t *jnum(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

static json_t *jpair(double a, double b)
{
	return json_pack("[o,o]", jnum(a), jnum(b));
}

static json_t *jsummary(const struct ab_summary *s)
{
	if (!s->n)
		return json_null();
	return json_pack("{s:I,s:o,s:o,s:o}", "n", (json_int_t)s->n, "mean", jnum(s->mean),
			 "stddev", jnum(s->sd), "stddev_pct", jnum(s->sd_pct));
}

char *ab_cmp_json(const struct ab_cmp *c)
{
	json_t *root = json_object(), *arr = json_array(), *ob = json_array(), *on = json_array();
	json_t *gmj = json_object();
	struct gm *g;
	size_t ng;
	char *s;

	json_object_set_new(root, "base", json_string(c->base_label));
	json_object_set_new(root, "new", json_string(c->new_label));
	json_object_set_new(root, "alpha", json_real(c->opts.alpha));
	json_object_set_new(root, "min_effect_pct", json_real(c->opts.min_effect));
	json_object_set_new(root, "test", json_string("mann-whitney-u two-sided"));
	json_object_set_new(root, "effect", json_string("hodges-lehmann shift, CI at 1 - alpha"));
	json_object_set_new(root, "adjust",
			    json_string(c->opts.adjust ? "benjamini-hochberg per metric" : "none"));
	json_object_set_new(root, "tests", json_integer((json_int_t)c->ntests));
	for (size_t i = 0; i < c->nb; i++) {
		const struct ab_cmp_bench *b = &c->b[i];
		json_t *rows = json_array();

		for (size_t j = 0; j < b->nrows; j++) {
			const struct ab_cmp_row *r = &b->rows[j];

			json_t *row = json_pack(
			    "{s:s,s:s,s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:b,s:b,s:s}", "metric",
			    r->metric, "unit", r->unit, "better", ab_better_name(r->better), "base",
			    jsummary(&r->base), "new", jsummary(&r->new), "change_pct",
			    jnum(r->change_pct), "shift", jnum(r->shift), "shift_pct",
			    jnum(r->shift_pct), "shift_ci_pct", jpair(r->lo_pct, r->hi_pct), "p",
			    jnum(r->p), "p_adj", jnum(r->p_adj), "exact_p", r->exact, "significant",
			    r->significant, "verdict", verdict_name(r->v));

			json_object_set_new(row, "shift_ci", jpair(r->shift_lo, r->shift_hi));
			json_array_append_new(rows, row);
		}
		json_array_append_new(arr, json_pack("{s:s,s:s,s:I,s:I,s:o}", "name", b->name,
						     "base_name", b->base_name, "base_reps",
						     (json_int_t)b->base_reps, "new_reps",
						     (json_int_t)b->new_reps, "metrics", rows));
	}
	json_object_set_new(root, "benchmarks", arr);
	for (size_t i = 0; i < c->n_only_base; i++)
		json_array_append_new(ob, json_string(c->only_base[i]));
	for (size_t i = 0; i < c->n_only_new; i++)
		json_array_append_new(on, json_string(c->only_new[i]));
	json_object_set_new(root, "only_in_base", ob);
	json_object_set_new(root, "only_in_new", on);
	ng = geomeans(c, &g);
	for (size_t k = 0; k < ng; k++)
		json_object_set_new(
		    gmj, g[k].metric,
		    json_pack("{s:o,s:I,s:I,s:I,s:I}", "change_pct",
			      g[k].n ? jnum(100.0 * (exp(g[k].logsum / g[k].n) - 1)) : json_null(),
			      "n", (json_int_t)g[k].n, "to_zero", (json_int_t)g[k].to_zero,
			      "from_zero", (json_int_t)g[k].from_zero, "both_zero",
			      (json_int_t)g[k].both_zero));
	free(g);
	json_object_set_new(root, "geomean_change_pct", gmj);
	json_object_set_new(root, "worse", json_integer((json_int_t)c->nworse));
	json_object_set_new(root, "better", json_integer((json_int_t)c->nbetter));
	json_object_set_new(root, "changed", json_integer((json_int_t)c->nchanged));
	json_object_set_new(root, "few_reps", json_boolean(c->few_reps));
	json_object_set_new(root, "significance_unreachable", json_boolean(c->p_unreachable));
	json_object_set_new(root, "regression", json_boolean(c->nworse > 0));
	s = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
	json_decref(root);
	return s;
}

/* ---- CLI ---- */

static void usage(FILE *f)
{
	fprintf(f, "usage: agebench compare [options] BASE.json NEW.json\n"
		   "       agebench compare [options] --modes RESULTS.json\n"
		   "Compare Google Benchmark JSON results (all repetitions) with the two-sided\n"
		   "Mann-Whitney U test; --modes compares each mode of one run with 'locked'.\n"
		   "  --alpha P           significance level (default 0.05)\n"
		   "  --min-effect PCT    minimum |%% change| to count (default 2)\n"
		   "  --format text|json  output format (default text)\n"
		   "  --baseline-mode M   baseline for --modes (default locked)\n"
		   "exit: 0 no significant regression, 1 regression, 2 bad input\n");
}

static int parse_double(const char *s, double *out)
{
	char *end;

	*out = strtod(s, &end);
	return (end == s || *end || !isfinite(*out)) ? -1 : 0;
}

/* What the loader's cross-check against common/ab_counters.def found, on stderr. */
static void schema_notes(const struct ab_results *r)
{
	for (size_t i = 0; i < r->nundeclared; i++)
		fprintf(stderr,
			"agebench compare: %s: counter %s is undeclared (not in "
			"common/ab_counters.def)\n",
			r->path, r->undeclared[i]);
	for (size_t i = 0; i < r->nmismatch; i++)
		fprintf(stderr, "agebench compare: %s: counter %s\n", r->path, r->mismatch[i]);
}

struct cli {
	struct ab_cmp_opts o;
	const char *base_mode;
	bool modes, json;
};

/* Options into @cl: -1 to go on, else the exit status. */
static int parse_cli(int argc, char **argv, struct cli *cl)
{
	static const struct option lo[] = {
	    {"alpha", required_argument, NULL, 'a'},
	    {"min-effect", required_argument, NULL, 'e'},
	    {"format", required_argument, NULL, 'f'},
	    {"modes", no_argument, NULL, 'm'},
	    {"baseline-mode", required_argument, NULL, 'b'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int opt;

	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+h", lo, NULL)) != -1) {
		if (opt == 'a' &&
		    (parse_double(optarg, &cl->o.alpha) || cl->o.alpha <= 0 || cl->o.alpha >= 1)) {
			fprintf(stderr, "agebench compare: --alpha must be in (0, 1), got '%s'\n",
				optarg);
			return 2;
		} else if (opt == 'e' &&
			   (parse_double(optarg, &cl->o.min_effect) || cl->o.min_effect < 0)) {
			fprintf(stderr,
				"agebench compare: --min-effect must be a percentage >= 0, got "
				"'%s'\n",
				optarg);
			return 2;
		} else if (opt == 'f' && strcmp(optarg, "json") && strcmp(optarg, "text")) {
			fprintf(stderr,
				"agebench compare: --format must be text or json, got '%s'\n",
				optarg);
			return 2;
		} else if (opt == 'f') {
			cl->json = !strcmp(optarg, "json");
		} else if (opt == 'm') {
			cl->modes = true;
		} else if (opt == 'b') {
			cl->base_mode = optarg;
		} else if (opt == 'h') {
			usage(stdout);
			return 0;
		} else if (opt != 'a' && opt != 'e') {
			fprintf(stderr, "agebench compare: unknown or incomplete option '%s'\n",
				argv[optind - 1]);
			usage(stderr);
			return 2;
		}
	}
	if (argc - optind != (cl->modes ? 1 : 2)) {
		fprintf(stderr, "agebench compare: want %s\n",
			cl->modes ? "one RESULTS.json with --modes"
				  : "two files: BASE.json NEW.json");
		usage(stderr);
		return 2;
	}
	return -1;
}

/* What stderr says besides the comparison: schema notes, one-sided names, warnings. */
static void stderr_notes(const struct ab_cmp *c, const struct ab_results *rb,
			 const struct ab_results *rn, bool modes)
{
	schema_notes(rb);
	if (!modes)
		schema_notes(rn);
	for (size_t i = 0; i < c->n_only_base; i++)
		fprintf(stderr, "agebench compare: only in %s: %s\n", rb->path, c->only_base[i]);
	for (size_t i = 0; i < c->n_only_new; i++)
		fprintf(stderr, "agebench compare: only in %s: %s\n",
			modes ? "(no baseline mode)" : rn->path, c->only_new[i]);
	if (c->few_reps)
		fprintf(stderr,
			"agebench compare: warning: fewer than %d repetitions on a side: "
			"no significance verdict for those benchmarks\n",
			AB_CMP_MIN_REPS);
	if (c->p_unreachable)
		fprintf(stderr,
			"agebench compare: warning: %zu vs %zu samples cannot reach p < %g\n",
			c->unreach_base, c->unreach_new, c->opts.alpha);
}

int ab_compare_main(int argc, char **argv)
{
	struct cli cl = {.o = AB_CMP_OPTS_DEFAULT, .base_mode = "locked"};
	struct ab_results rb = {0}, rn = {0};
	struct ab_cmp c;
	char err[1024];
	int rc = parse_cli(argc, argv, &cl);

	if (rc >= 0)
		return rc;
	if (ab_results_load(argv[optind], &rb, err, sizeof(err)) ||
	    (!cl.modes && ab_results_load(argv[optind + 1], &rn, err, sizeof(err)))) {
		fprintf(stderr, "agebench compare: %s\n", err);
		ab_results_free(&rb);
		return 2;
	}
	rc = cl.modes ? ab_cmp_modes(&rb, cl.base_mode, &cl.o, &c, err, sizeof(err))
		      : ab_cmp_files(&rb, &rn, &cl.o, &c, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "agebench compare: %s\n", err);
		ab_results_free(&rb);
		ab_results_free(&rn);
		return 2;
	}
	stderr_notes(&c, &rb, &rn, cl.modes);
	if (!c.nb) {
		fprintf(stderr, "agebench compare: no benchmark to compare (%s)\n",
			cl.modes ? "no mode has a matching baseline-mode benchmark"
				 : "no benchmark name is present in both files");
		rc = 2;
	} else if (cl.json) {
		char *s = ab_cmp_json(&c);

		puts(s);
		free(s);
		rc = c.nworse ? 1 : 0;
	} else {
		ab_cmp_print_text(stdout, &c);
		rc = c.nworse ? 1 : 0;
	}
	ab_cmp_free(&c);
	ab_results_free(&rb);
	ab_results_free(&rn);
	return rc;
}
