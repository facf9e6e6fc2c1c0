// SPDX-License-Identifier: GPL-2.0
/*
 * ab_report_util.c - what the report's text and figures share: a text
 * buffer, the modes present (ordered by ab_mode_table), benchmark groups
 * (through the schema's name parser) and medians.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ab_report_priv.h"

/* ---- growable text buffer ---- */

void ab_sb_printf(struct ab_sb *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		size_t room = b->cap - b->len;

		va_start(ap, fmt);
		n = vsnprintf(b->s ? b->s + b->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if ((size_t)n < room) {
			b->len += n;
			return;
		}
		b->cap = 2 * (b->cap + n + 256);
		b->s = realloc(b->s, b->cap);
		if (!b->s)
			abort();
	}
}

void ab_sb_rule(struct ab_sb *b, char c)
{
	for (int i = 0; i < AB_REP_WIDTH; i++)
		ab_sb_printf(b, "%c", c);
	ab_sb_printf(b, "\n");
}

void ab_sb_wrap(struct ab_sb *b, const char *indent, const char *first, const char *text)
{
	size_t col = strlen(first), il = strlen(indent);
	bool space = col > 0 && first[col - 1] != ' ';
	const char *p = text;

	ab_sb_printf(b, "%s", first);
	for (;;) {
		while (*p == ' ')
			p++;
		if (!*p)
			break;
		size_t l = strcspn(p, " ");

		if (col > il && col + space + l > AB_REP_WIDTH) {
			ab_sb_printf(b, "\n%s", indent);
			col = il;
			space = false;
		}
		if (space) {
			ab_sb_printf(b, " ");
			col++;
		}
		ab_sb_printf(b, "%.*s", (int)l, p);
		col += l;
		p += l;
		space = true;
	}
	ab_sb_printf(b, "\n");
}

/* ---- modes ---- */

const char *ab_rep_base_mode(void)
{
	return ab_mode_name(AB_MODE_LOCKED);
}

/* Position of @m in ab_mode_table; unknown modes after all known ones. */
static int mode_rank(const char *m)
{
	const struct ab_mode *md = ab_mode_find(m);

	return md ? (int)md->id : AB_MODE_NR;
}

void ab_rep_collect_modes(const struct ab_results *r, struct ab_rep_modes *ms)
{
	ms->n = 0;
	for (int rank = 0; rank <= AB_MODE_NR; rank++)
		for (size_t i = 0; i < r->nb; i++) {
			struct ab_name n;

			if (!ab_bench_name(r->b[i].name, &n) || mode_rank(n.mode) != rank ||
			    ab_rep_mode_index(ms, n.mode) >= 0 || ms->n == AB_REP_MAXMODES)
				continue;
			snprintf(ms->name[ms->n++], AB_NAME_TOKEN, "%s", n.mode);
		}
}

int ab_rep_mode_index(const struct ab_rep_modes *ms, const char *mode)
{
	for (int i = 0; i < ms->n; i++)
		if (!strcmp(ms->name[i], mode))
			return i;
	return -1;
}

/* ---- benchmark names ---- */

/* @n formatted without its mode element (and without vcpus unless @vcpus). */
static bool format_key(struct ab_name *n, bool vcpus, char *buf, size_t len)
{
	size_t off = strlen(n->backend) + 1, ml = strlen(n->mode) + 1;

	if (!vcpus)
		ab_name_unset(n, "vcpus");
	if (ab_name_format(n, false, buf, len) < 0)
		return false;
	memmove(buf + off, buf + off + ml, strlen(buf + off + ml) + 1); /* drop "<mode>/" */
	return true;
}

bool ab_rep_group(const char *name, char *buf, size_t len)
{
	struct ab_name n;

	return ab_bench_name(name, &n) && format_key(&n, false, buf, len);
}

bool ab_rep_cfg_key(const char *name, char *buf, size_t len)
{
	struct ab_name n;

	return ab_bench_name(name, &n) && format_key(&n, true, buf, len);
}

bool ab_rep_is_mode(const char *name, const char *mode)
{
	struct ab_name n;

	return ab_bench_name(name, &n) && !strcmp(n.mode, mode);
}

bool ab_rep_of_backend(const char *name, const char *backend)
{
	struct ab_name n;

	return ab_bench_name(name, &n) && !strcmp(n.backend, backend);
}

long ab_rep_vcpus(const char *name)
{
	struct ab_name n;

	return ab_bench_name(name, &n) ? ab_name_get_long(&n, "vcpus", -1) : -1;
}

void ab_rep_subtitle(char *buf, size_t len, const char *key)
{
	snprintf(buf, len, "%s", key);
	for (char *p = buf; *p; p++)
		if (*p == '/')
			*p = ' ';
}

int ab_rep_backends(const struct ab_results *r, char be[][AB_NAME_TOKEN])
{
	int nbe = 0;

	for (size_t i = 0; i < r->nb; i++) {
		struct ab_name n;
		int k;

		if (!ab_bench_name(r->b[i].name, &n))
			continue;
		for (k = 0; k < nbe; k++)
			if (!strcmp(be[k], n.backend))
				break;
		if (k == nbe && nbe < AB_REP_MAXBE)
			snprintf(be[nbe++], AB_NAME_TOKEN, "%s", n.backend);
	}
	return nbe;
}

char *ab_rep_most_common_group(const char *const *names, const bool *ok, size_t n)
{
	char(*key)[512] = calloc(n + 1, sizeof(*key));
	size_t best = n, bestn = 0;
	char *out = NULL;

	if (!key)
		abort();
	for (size_t i = 0; i < n; i++)
		if (ok[i] && !ab_rep_group(names[i], key[i], sizeof(key[i])))
			key[i][0] = 0;
	for (size_t i = 0; i < n; i++) {
		size_t cnt = 0;

		if (!ok[i] || !key[i][0])
			continue;
		for (size_t j = 0; j < n; j++)
			cnt += ok[j] && !strcmp(key[i], key[j]);
		if (cnt > bestn) {
			best = i;
			bestn = cnt;
		}
	}
	if (best < n)
		out = strdup(key[best]);
	free(key);
	return out;
}

char *ab_rep_dominant_group(const struct ab_results *r, const char *backend, const char *metric)
{
	const char **names = calloc(r->nb + 1, sizeof(*names));
	bool *ok = calloc(r->nb + 1, sizeof(*ok));
	char *best = NULL;

	if (names && ok) {
		for (size_t i = 0; i < r->nb; i++) {
			names[i] = r->b[i].name;
			ok[i] = ab_rep_of_backend(r->b[i].name, backend) &&
				ab_bench_metric(&r->b[i], metric) != NULL;
		}
		best = ab_rep_most_common_group(names, ok, r->nb);
	}
	free(names);
	free(ok);
	return best;
}

long ab_rep_max_vcpus(const struct ab_results *r, const char *key)
{
	long vsel = -1;

	for (size_t i = 0; i < r->nb; i++) {
		char g[512];
		long v = ab_rep_vcpus(r->b[i].name);

		if (ab_rep_group(r->b[i].name, g, sizeof(g)) && !strcmp(g, key) && v > vsel)
			vsel = v;
	}
	return vsel;
}

/* ---- metrics ---- */

bool ab_rep_mean(const struct ab_bench_res *b, const char *metric, double *mean)
{
	const struct ab_metric *m = b ? ab_bench_metric(b, metric) : NULL;
	struct ab_summary s;

	if (!m || !m->n)
		return false;
	ab_summarize(m->v, m->n, &s);
	*mean = s.mean;
	return true;
}

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Quantile @q of sorted @v[n] with linear interpolation. */
static double quantile(const double *v, size_t n, double q)
{
	double pos = q * (double)(n - 1);
	size_t i = (size_t)pos;

	return i + 1 < n ? v[i] + (pos - (double)i) * (v[i + 1] - v[i]) : v[n - 1];
}

bool ab_rep_median(const struct ab_bench_res *b, const char *metric, double *med, double *q1,
		   double *q3)
{
	const struct ab_metric *m = b ? ab_bench_metric(b, metric) : NULL;
	double *v;

	if (!m || !m->n)
		return false;
	v = malloc(m->n * sizeof(*v));
	if (!v)
		abort();
	memcpy(v, m->v, m->n * sizeof(*v));
	qsort(v, m->n, sizeof(*v), cmp_dbl);
	*med = quantile(v, m->n, 0.5);
	if (q1)
		*q1 = quantile(v, m->n, 0.25);
	if (q3)
		*q3 = quantile(v, m->n, 0.75);
	free(v);
	return true;
}

const struct ab_metric *ab_rep_any_metric(const struct ab_results *r, const char *metric)
{
	for (size_t i = 0; i < r->nb; i++) {
		const struct ab_metric *m = ab_bench_metric(&r->b[i], metric);

		if (m)
			return m;
	}
	return NULL;
}

const struct ab_cmp_row *ab_rep_cmp_lookup(const struct ab_cmp *c, const char *bench,
					   const char *metric)
{
	for (size_t i = 0; i < c->nb; i++) {
		if (strcmp(c->b[i].name, bench))
			continue;
		for (size_t j = 0; j < c->b[i].nrows; j++)
			if (!strcmp(c->b[i].rows[j].metric, metric))
				return &c->b[i].rows[j];
	}
	return NULL;
}
