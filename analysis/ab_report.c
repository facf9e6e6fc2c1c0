// SPDX-License-Identifier: GPL-2.0
/* ab_report.c - `agebench report DIR`: report.txt and gnuplot figures. */
#include "ab_report.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ab_common.h"
#include "ab_compare.h"

#ifndef AB_PLOTS_DIR
#define AB_PLOTS_DIR "analysis/gnuplot"
#endif

#define WIDTH	 80
#define MAXMODES 8

/* Modes in column order; the colour of each is fixed in analysis/gnuplot/common.gp. */
static const char *const known_modes[] = {"locked", "read_locked", "fast_only", "bitmap", "scan"};
#define NKNOWN 5

/* ---- growable text buffer ---- */

struct sb {
	char *s;
	size_t len, cap;
};

static void sb_printf(struct sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(struct sb *b, const char *fmt, ...)
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

static void sb_rule(struct sb *b, char c)
{
	for (int i = 0; i < WIDTH; i++)
		sb_printf(b, "%c", c);
	sb_printf(b, "\n");
}

/* Append @first then @text, words wrapped at WIDTH; continuation lines start with @indent. */
static void sb_wrap(struct sb *b, const char *indent, const char *first, const char *text)
{
	size_t col = strlen(first), il = strlen(indent);
	bool space = col > 0 && first[col - 1] != ' ';
	const char *p = text;

	sb_printf(b, "%s", first);
	for (;;) {
		while (*p == ' ')
			p++;
		if (!*p)
			break;
		size_t l = strcspn(p, " ");

		if (col > il && col + space + l > WIDTH) {
			sb_printf(b, "\n%s", indent);
			col = il;
			space = false;
		}
		if (space) {
			sb_printf(b, " ");
			col++;
		}
		sb_printf(b, "%.*s", (int)l, p);
		col += l;
		p += l;
		space = true;
	}
	sb_printf(b, "\n");
}

/* ---- helpers over results ---- */

static int mode_rank(const char *m)
{
	for (int i = 0; i < NKNOWN; i++)
		if (!strcmp(m, known_modes[i]))
			return i;
	return NKNOWN;
}

struct modes {
	char name[MAXMODES][64];
	int n;
};

static void collect_modes(const struct ab_results *r, struct modes *ms)
{
	ms->n = 0;
	for (int rank = 0; rank <= NKNOWN; rank++)
		for (size_t i = 0; i < r->nb; i++) {
			char m[64];
			int k;

			if (!ab_name_element(r->b[i].name, 1, m, sizeof(m)) || mode_rank(m) != rank)
				continue;
			for (k = 0; k < ms->n; k++)
				if (!strcmp(ms->name[k], m))
					break;
			if (k == ms->n && ms->n < MAXMODES)
				snprintf(ms->name[ms->n++], 64, "%s", m);
		}
}

static bool metric_mean(const struct ab_bench_res *b, const char *metric, double *mean, double *sd)
{
	const struct ab_metric *m = b ? ab_bench_metric(b, metric) : NULL;
	struct ab_summary s;

	if (!m || !m->n)
		return false;
	ab_summarize(m->v, m->n, &s);
	*mean = s.mean;
	if (sd)
		*sd = s.sd;
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

/*
 * Median and interquartile range of @metric: the figures use these rather
 * than mean +- stddev, so that one disturbed repetition on a shared machine
 * does not flatten every other line of a plot.
 */
static bool metric_median(const struct ab_bench_res *b, const char *metric, double *med, double *q1,
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

static const struct ab_metric *any_metric(const struct ab_results *r, const char *metric)
{
	for (size_t i = 0; i < r->nb; i++) {
		const struct ab_metric *m = ab_bench_metric(&r->b[i], metric);

		if (m)
			return m;
	}
	return NULL;
}

/* Name with element @idx removed (malloc'd). */
static char *name_without(const char *name, int idx)
{
	char *s = ab_name_replace(name, idx, "");
	char *p;

	if (!s)
		return strdup(name);
	/* "a//b" -> "a/b", trailing "/" dropped */
	while ((p = strstr(s, "//")))
		memmove(p, p + 1, strlen(p));
	if (*s && s[strlen(s) - 1] == '/')
		s[strlen(s) - 1] = 0;
	return s;
}

/* Name with the mode element and the "vcpus:N" element removed. */
static char *group_key(const char *name)
{
	char *k = name_without(name, 1), *p = strstr(k, "/vcpus:");

	if (p) {
		char *e = strchr(p + 1, '/');

		if (e)
			memmove(p, e, strlen(e) + 1);
		else
			*p = 0;
	}
	return k;
}

static const struct ab_cmp_row *cmp_lookup(const struct ab_cmp *c, const char *bench,
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

static char *dominant_group(const struct ab_results *r, const char *backend, const char *metric);
static void key_subtitle(char *buf, size_t len, const char *key);

/* ---- machine section ---- */

static void cpu_model(char *buf, size_t len)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[512];

	snprintf(buf, len, "unknown");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "model name", 10)) {
			char *p = strchr(line, ':');

			if (p) {
				p++;
				while (*p == ' ')
					p++;
				p[strcspn(p, "\n")] = 0;
				snprintf(buf, len, "%s", p);
			}
			break;
		}
	fclose(f);
}

static double mem_total_gib(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[256];
	double kb = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemTotal: %lf kB", &kb) == 1)
			break;
	fclose(f);
	return kb / (1024.0 * 1024.0);
}

static void ctx_line(struct sb *b, const char *label, const char *value)
{
	char first[32];

	snprintf(first, sizeof(first), "  %-12s", label);
	sb_wrap(b, "              ", first, value && *value ? value : "(not recorded)");
}

static void machine_section(struct sb *b, const struct ab_results *r, const struct modes *ms,
			    const char *results_path)
{
	json_t *ctx = json_object_get(r->root, "context");
	char buf[1024], cpu[256];
	const char *host = ab_results_context(r, "host_name");
	struct utsname u;

	sb_printf(b, "Machine and software\n");
	cpu_model(cpu, sizeof(cpu));
	uname(&u);
	ctx_line(b, "host", host);
	{
		json_t *nc = json_object_get(ctx, "num_cpus"),
		       *mhz = json_object_get(ctx, "mhz_per_cpu");

		snprintf(buf, sizeof(buf), "%s; %lld CPUs at %lld MHz (run context)%s", cpu,
			 (long long)json_integer_value(nc), (long long)json_integer_value(mhz),
			 host && strcmp(host, u.nodename) ? "; CPU model read on the report host"
							  : "");
		ctx_line(b, "CPU", buf);
	}
	ctx_line(b, "topology", ab_results_context(r, "hwloc_topology"));
	{
		const char *mem = ab_results_context(r, "mem_total");
		double g = mem_total_gib();

		if (mem)
			snprintf(buf, sizeof(buf), "%s (run context)", mem);
		else if (g > 0)
			snprintf(buf, sizeof(buf),
				 "%.1f GiB (MemTotal, /proc/meminfo when the report was written)",
				 g);
		else
			snprintf(buf, sizeof(buf), "unknown");
		ctx_line(b, "memory", buf);
	}
	{
		json_t *caches = json_object_get(ctx, "caches"), *c;
		size_t i, len = 0;

		buf[0] = 0;
		json_array_foreach(caches, i, c)
		{
			const char *t = json_string_value(json_object_get(c, "type"));
			long long lvl = json_integer_value(json_object_get(c, "level"));
			long long sz = json_integer_value(json_object_get(c, "size"));
			long long sh = json_integer_value(json_object_get(c, "num_sharing"));

			if (len < sizeof(buf) - 100)
				len += snprintf(buf + len, sizeof(buf) - len,
						"%sL%lld %s %lld KiB%s", len ? ", " : "", lvl,
						t ? t : "?", sz / 1024, sh > 1 ? " (shared)" : "");
		}
		if (len)
			ctx_line(b, "caches", buf);
	}
	ctx_line(b, "kernel", ab_results_context(r, "kernel_release"));
	{
		const char *be = ab_results_context(r, "backend");
		size_t len = 0;

		buf[0] = 0;
		for (int i = 0; i < ms->n; i++)
			len += snprintf(buf + len, sizeof(buf) - len, "%s%s", i ? " " : "",
					ms->name[i]);
		if (be && !strcmp(be, "kvm"))
			ctx_line(b, "mmu_age_mode", buf);
		else
			ctx_line(b, "modes", buf);
		ctx_line(b, "backend", be);
		if (ab_results_context(r, "driver") || (be && !strcmp(be, "kvm")))
			ctx_line(b, "driver", ab_results_context(r, "driver"));
	}
	ctx_line(b, "pinning", ab_results_context(r, "pinning"));
	ctx_line(b, "perf", ab_results_context(r, "perf_counters"));
	{
		json_t *ab = json_object_get(r->root, "agebench");
		const char *v = json_string_value(json_object_get(ab, "version"));

		ctx_line(b, "agebench", v ? v : ab_results_context(r, "agebench_version"));
	}
	ctx_line(b, "date", ab_results_context(r, "date"));
	ctx_line(b, "results", results_path);
	sb_printf(b, "\n");
}

static void reproduce_section(struct sb *b, const struct ab_results *r, const char *dir)
{
	char *cmd = ab_results_command(r);

	sb_printf(b, "To reproduce\n");
	if (cmd) {
		/* Wrap the command with shell continuations at WIDTH. */
		const char *p = cmd;
		size_t col;

		sb_printf(b, "  $ ");
		col = 4;
		while (*p) {
			const char *e = p;
			bool q = false;

			while (*e && (q || *e != ' ')) {
				if (*e == '\'')
					q = !q;
				e++;
			}
			size_t l = e - p;

			if (col > 4 && col + 1 + l + 2 > WIDTH) {
				sb_printf(b, " \\\n      ");
				col = 6;
			} else if (col > 4) {
				sb_printf(b, " ");
				col++;
			}
			sb_printf(b, "%.*s", (int)l, p);
			col += l;
			p = *e ? e + 1 : e;
		}
		sb_printf(b, "\n");
		free(cmd);
	} else {
		sb_printf(b,
			  "  (the command was not recorded in results.json: agebench.command)\n");
	}
	if (strlen(dir) + 45 > WIDTH)
		sb_printf(b, "  $ agebench compare --modes \\\n      %s/results.json\n", dir);
	else
		sb_printf(b, "  $ agebench compare --modes %s/results.json\n", dir);
	sb_printf(b, "\n");
}

/* ---- per-metric mode tables ---- */

static const char *const metric_order[] = {
    "ns_per_page",	 "lock_wait_ns",  "declines",	  "vcpu_rel",  "vcpu_accesses_per_s",
    "fault_p50_ns",	 "fault_p99_ns",  "fault_max_ns", "false_old", "young",
    "walker_scan_ratio", "reclaim_cpu_s", "refaults",	  "real_time", NULL,
};
/* Shown in the appendix only (redundant with the ones above). */
static const char *const metric_skip[] = {"pages_per_s", "cpu_time", NULL};

static const char *metric_title(const char *m)
{
	static const struct {
		const char *m, *t;
	} t[] = {
	    {"ns_per_page", "aging cost per page"},
	    {"lock_wait_ns", "mmu_lock wait per aging call"},
	    {"declines", "declined aging calls (per call)"},
	    {"vcpu_rel", "vCPU throughput with aging / without"},
	    {"vcpu_accesses_per_s", "vCPU accesses per second"},
	    {"fault_p50_ns", "vCPU fault latency, median"},
	    {"fault_p99_ns", "vCPU fault latency, 99th percentile"},
	    {"fault_max_ns", "vCPU fault latency, maximum"},
	    {"false_old", "touched pages reported old, per call"},
	    {"young", "pages reported young, per call"},
	    {"walker_scan_ratio", "walker cost / linear scan cost"},
	    {"real_time", "wall time per iteration"},
	    {"reclaim_cpu_s", "reclaim CPU time"},
	    {"refaults", "refaults"},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (!strcmp(t[i].m, m))
			return t[i].t;
	return NULL;
}

struct cfg {
	char *bench[MAXMODES]; /* benchmark name per mode (index into modes) */
	char *key;	       /* name without the mode */
	char label[128];
};

/* Configurations (benchmark names without the mode) of one backend. */
static size_t collect_cfgs(const struct ab_results *r, const char *backend, const struct modes *ms,
			   struct cfg **out, char *fixed, size_t fixedlen)
{
	size_t n = 0, cap = 16;
	struct cfg *c = calloc(cap, sizeof(*c));

	for (size_t i = 0; i < r->nb; i++) {
		char be[64], m[64];
		int mi;
		size_t k;
		char *key;

		if (!ab_name_element(r->b[i].name, 0, be, sizeof(be)) || strcmp(be, backend) ||
		    !ab_name_element(r->b[i].name, 1, m, sizeof(m)))
			continue;
		for (mi = 0; mi < ms->n; mi++)
			if (!strcmp(ms->name[mi], m))
				break;
		if (mi == ms->n)
			continue;
		key = name_without(r->b[i].name, 1);
		for (k = 0; k < n; k++)
			if (!strcmp(c[k].key, key))
				break;
		if (k == n) {
			if (n == cap)
				c = realloc(c, (cap *= 2) * sizeof(*c));
			memset(&c[n], 0, sizeof(c[n]));
			c[n].key = key;
			n++;
		} else {
			free(key);
		}
		c[k].bench[mi] = r->b[i].name;
	}
	/* Labels: drop the elements every configuration shares (shown as "fixed"). */
	int nel = -1;
	bool same_count = true;

	for (size_t k = 0; k < n; k++) {
		int e = 1;

		for (const char *p = c[k].key; *p; p++)
			e += *p == '/';
		if (nel < 0)
			nel = e;
		else if (nel != e)
			same_count = false;
	}
	fixed[0] = 0;
	for (size_t k = 0; k < n; k++)
		c[k].label[0] = 0;
	for (int el = 0; el < (same_count ? nel : 0); el++) {
		char e0[128], ek[128];
		bool constant = true;

		ab_name_element(c[0].key, el, e0, sizeof(e0));
		for (size_t k = 1; k < n && constant; k++)
			if (!ab_name_element(c[k].key, el, ek, sizeof(ek)) || strcmp(e0, ek))
				constant = false;
		if (constant) {
			size_t l = strlen(fixed);

			snprintf(fixed + l, fixedlen - l, "%s%s", l ? " " : "", e0);
			continue;
		}
		for (size_t k = 0; k < n; k++) {
			size_t l = strlen(c[k].label);

			ab_name_element(c[k].key, el, ek, sizeof(ek));
			snprintf(c[k].label + l, sizeof(c[k].label) - l, "%s%s", l ? " " : "", ek);
		}
	}
	for (size_t k = 0; k < n; k++)
		if (!same_count || !c[k].label[0])
			snprintf(c[k].label, sizeof(c[k].label), "%s",
				 same_count && n == 1 ? "(all)" : c[k].key);
	*out = c;
	return n;
}

static void free_cfgs(struct cfg *c, size_t n)
{
	for (size_t k = 0; k < n; k++)
		free(c[k].key);
	free(c);
}

static bool metric_wanted(const char *m)
{
	for (int i = 0; metric_skip[i]; i++)
		if (!strcmp(metric_skip[i], m))
			return false;
	return true;
}

static void mode_table(struct sb *b, const struct ab_results *r, const struct ab_cmp *cmp,
		       const struct modes *ms, const char *backend, const char *metric)
{
	struct cfg *c;
	char fixed[512];
	size_t n = collect_cfgs(r, backend, ms, &c, fixed, sizeof(fixed));
	const struct ab_metric *am = NULL;
	int colw = 11, lw = 6;
	bool any = false;

	for (size_t k = 0; k < n; k++)
		for (int mi = 0; mi < ms->n; mi++)
			if (c[k].bench[mi] &&
			    (am = ab_bench_metric(ab_results_find(r, c[k].bench[mi]), metric))) {
				any = true;
				break;
			}
	if (!any) {
		free_cfgs(c, n);
		return;
	}
	am = any_metric(r, metric);
	for (size_t k = 0; k < n; k++)
		if ((int)strlen(c[k].label) > lw)
			lw = strlen(c[k].label);
	if (2 + lw + 12 * ms->n <= WIDTH)
		colw = 12;
	bool split = 2 + lw + colw * ms->n > WIDTH;

	if (split)
		lw = 6;
	{
		const char *t = metric_title(metric);
		char head[512];

		snprintf(head, sizeof(head), "%s%s%s [%s%s%s]", metric, t ? ": " : "", t ? t : "",
			 *am->unit ? am->unit : "no unit", am->better == AB_DIR_NONE ? "" : ", ",
			 am->better == AB_DIR_LOWER    ? "lower is better"
			 : am->better == AB_DIR_HIGHER ? "higher is better"
						       : "");
		sb_wrap(b, "    ", "", head);
	}
	if (fixed[0])
		sb_wrap(b, "         ", "  fixed:", fixed);
	/* Header: names end where the numbers end (the last column holds the mark);
	 * a name too long for its column is split after its '_' over two lines. */
	bool two = false;

	for (int mi = 0; mi < ms->n; mi++)
		if ((int)strlen(ms->name[mi]) > colw - 1 && strchr(ms->name[mi], '_'))
			two = true;
	for (int line = two ? 0 : 1; line < 2; line++) {
		sb_printf(b, "  %-*s", lw, line ? "config" : "");
		for (int mi = 0; mi < ms->n; mi++) {
			const char *nm = ms->name[mi], *us = strchr(nm, '_');
			bool split = two && (int)strlen(nm) > colw - 1 && us;

			if (!line)
				sb_printf(b, "%*.*s ", colw - 1, split ? (int)(us - nm + 1) : 0,
					  nm);
			else
				sb_printf(b, "%*s ", colw - 1, split ? us + 1 : nm);
		}
		sb_printf(b, "\n");
	}
	for (size_t k = 0; k < n; k++) {
		const struct ab_bench_res *lb = NULL;
		double lmean = NAN;

		if (split)
			sb_printf(b, "  %.78s\n  %-*s", c[k].label, lw, "");
		else
			sb_printf(b, "  %-*s", lw, c[k].label);
		for (int mi = 0; mi < ms->n; mi++)
			if (!strcmp(ms->name[mi], "locked") && c[k].bench[mi])
				lb = ab_results_find(r, c[k].bench[mi]);
		if (lb)
			metric_mean(lb, metric, &lmean, NULL);
		for (int mi = 0; mi < ms->n; mi++) {
			const struct ab_bench_res *bb =
			    c[k].bench[mi] ? ab_results_find(r, c[k].bench[mi]) : NULL;
			const struct ab_cmp_row *row =
			    bb && bb != lb ? cmp_lookup(cmp, bb->name, metric) : NULL;
			char cell[48], num[32];
			double mean;

			if (!bb || !metric_mean(bb, metric, &mean, NULL)) {
				snprintf(cell, sizeof(cell), "- ");
			} else if (row && !isnan(row->change_pct)) {
				snprintf(cell, sizeof(cell), "%+.1f%%%c", row->change_pct,
					 ab_verdict_mark(row->v));
			} else {
				ab_fmt_num(num, sizeof(num), colw - 2, mean);
				snprintf(cell, sizeof(cell), "%s%c", num,
					 row ? ab_verdict_mark(row->v) : ' ');
			}
			sb_printf(b, "%*s", colw, cell);
		}
		sb_printf(b, "\n");
	}
	sb_printf(b, "\n");
	free_cfgs(c, n);
}

static void backends_of(const struct ab_results *r, char be[][64], int *nbe)
{
	*nbe = 0;
	for (size_t i = 0; i < r->nb; i++) {
		char b[64];
		int k;

		if (!ab_name_element(r->b[i].name, 0, b, sizeof(b)))
			continue;
		for (k = 0; k < *nbe; k++)
			if (!strcmp(be[k], b))
				break;
		if (k == *nbe && *nbe < 8)
			snprintf(be[(*nbe)++], 64, "%s", b);
	}
}

/*
 * Headline for a cover letter: the configuration of the figures at its
 * largest vCPU count, one row per mode, a few key metrics with the change
 * against locked.
 */
static void summary_section(struct sb *b, const struct ab_results *r, const struct ab_cmp *cmp,
			    const struct modes *ms)
{
	static const char *const want[] = {"ns_per_page", "vcpu_rel",	  "fault_p99_ns",
					   "false_old",	  "lock_wait_ns", "declines"};
	const char *met[4];
	int nmet = 0;
	char be[8][64];
	int nbe;

	backends_of(r, be, &nbe);
	for (int k = 0; k < nbe; k++) {
		char *key = dominant_group(r, be[k], "ns_per_page");
		const char *bench[MAXMODES] = {0};
		long vsel = -1;
		char sub[512], head[700];

		if (!key)
			continue;
		for (size_t i = 0; i < r->nb; i++) {
			char *g = group_key(r->b[i].name);
			long v = ab_name_arg(r->b[i].name, "vcpus");

			if (!strcmp(g, key) && v > vsel)
				vsel = v;
			free(g);
		}
		for (size_t i = 0; i < r->nb; i++) {
			char *g = group_key(r->b[i].name), m[64];

			if (!strcmp(g, key) && ab_name_arg(r->b[i].name, "vcpus") == vsel &&
			    ab_name_element(r->b[i].name, 1, m, sizeof(m)))
				for (int mi = 0; mi < ms->n; mi++)
					if (!strcmp(ms->name[mi], m))
						bench[mi] = r->b[i].name;
			free(g);
		}
		nmet = 0;
		for (size_t w = 0; w < sizeof(want) / sizeof(want[0]) && nmet < 4; w++)
			for (int mi = 0; mi < ms->n; mi++)
				if (bench[mi] &&
				    ab_bench_metric(ab_results_find(r, bench[mi]), want[w])) {
					met[nmet++] = want[w];
					break;
				}
		key_subtitle(sub, sizeof(sub), key);
		snprintf(head, sizeof(head),
			 "%s, %ld vCPUs: mean, then the change against locked with the marks "
			 "explained below.",
			 sub, vsel < 0 ? 0 : vsel);
		sb_printf(b, "Summary%s%s\n", nbe > 1 ? " " : "", nbe > 1 ? be[k] : "");
		sb_rule(b, '-');
		sb_wrap(b, "", "", head);
		sb_printf(b, "  %-12s", "mode");
		for (int j = 0; j < nmet; j++)
			sb_printf(b, "%16.16s", met[j]);
		sb_printf(b, "\n");
		for (int mi = 0; mi < ms->n; mi++) {
			const struct ab_bench_res *bb =
			    bench[mi] ? ab_results_find(r, bench[mi]) : NULL;

			if (!bb)
				continue;
			sb_printf(b, "  %-12s", ms->name[mi]);
			for (int j = 0; j < nmet; j++) {
				const struct ab_cmp_row *row = cmp_lookup(cmp, bb->name, met[j]);
				char num[32], cell[48];
				double mean;

				if (!metric_mean(bb, met[j], &mean, NULL)) {
					sb_printf(b, "%16s", "- ");
					continue;
				}
				ab_fmt_num(num, sizeof(num), 8, mean);
				/* the number, then a fixed-width " +NNN%m": numbers align */
				if (row && !isnan(row->change_pct) && fabs(row->change_pct) < 1e4)
					snprintf(cell, sizeof(cell), "%s %+4.0f%%%c", num,
						 row->change_pct, ab_verdict_mark(row->v));
				else
					snprintf(cell, sizeof(cell), "%s      %c", num,
						 row ? ab_verdict_mark(row->v) : ' ');
				sb_printf(b, "%16s", cell);
			}
			sb_printf(b, "\n");
		}
		sb_printf(b, "\n");
		free(key);
	}
}

static void results_section(struct sb *b, const char *title, const struct ab_results *r,
			    const struct ab_cmp *cmp, const struct modes *ms)
{
	char be[8][64];
	int nbe;
	size_t reps_min = (size_t)-1, reps_max = 0;

	for (size_t i = 0; i < r->nb; i++) {
		if (r->b[i].nreps < reps_min)
			reps_min = r->b[i].nreps;
		if (r->b[i].nreps > reps_max)
			reps_max = r->b[i].nreps;
	}
	sb_printf(b, "%s\n", title);
	sb_rule(b, '-');
	{
		char t[640], reps[64];

		if (reps_min == reps_max)
			snprintf(reps, sizeof(reps), "%zu", reps_min);
		else
			snprintf(reps, sizeof(reps), "%zu-%zu", reps_min, reps_max);
		snprintf(t, sizeof(t),
			 "%zu benchmarks, %s repetitions each. Column 'locked' gives the mean; "
			 "the other columns the change of the mean against locked in the same "
			 "configuration. Mann-Whitney U, two-sided, alpha %g, minimum effect %g%%: "
			 "'+' significantly better than locked, '!' significantly worse, '*' "
			 "significant (no better direction), '?' fewer than %d repetitions (no "
			 "verdict); no mark: not significant.",
			 r->nb, reps, cmp->opts.alpha, cmp->opts.min_effect, AB_CMP_MIN_REPS);
		sb_wrap(b, "", "", t);
	}
	if (cmp->p_unreachable) {
		char t[400];

		snprintf(
		    t, sizeof(t),
		    "WARNING: metrics with only %zu samples per mode (repetitions, or a counter "
		    "missing in some) cannot reach p < %g (the smallest possible p is "
		    "2/C(%zu,%zu)) and are never marked significant: rerun with --reps 5 or "
		    "more (9 to detect small shifts).",
		    cmp->unreach_base, cmp->opts.alpha, cmp->unreach_base + cmp->unreach_new,
		    cmp->unreach_base);
		sb_wrap(b, "", "", t);
	}
	if (cmp->few_reps)
		sb_wrap(b, "", "",
			"WARNING: some benchmarks have fewer than 3 repetitions: rerun with "
			"--reps 9 or more before drawing conclusions.");
	sb_printf(b, "\n");
	backends_of(r, be, &nbe);
	for (int k = 0; k < nbe; k++) {
		bool done[64] = {0};
		const char *seen[64];
		int ns = 0;

		if (nbe > 1)
			sb_printf(b, "[backend %s]\n\n", be[k]);
		for (int i = 0; metric_order[i]; i++)
			mode_table(b, r, cmp, ms, be[k], metric_order[i]);
		(void)done;
		/* then any other counter, in file order */
		for (size_t i = 0; i < r->nb; i++)
			for (size_t j = 0; j < r->b[i].nm; j++) {
				const char *m = r->b[i].m[j].name;
				bool known = !metric_wanted(m);

				for (int q = 0; metric_order[q] && !known; q++)
					known = !strcmp(metric_order[q], m);
				for (int q = 0; q < ns && !known; q++)
					known = !strcmp(seen[q], m);
				if (known || ns == 64)
					continue;
				seen[ns++] = m;
				mode_table(b, r, cmp, ms, be[k], m);
			}
	}
}

/* ---- figures ---- */

struct fig_note {
	char file[128];
	char what[160];
	char why[256]; /* non-empty: skipped/failed, with reason */
};

struct figs {
	struct fig_note n[32];
	int nn;
	const char *dir;      /* DIR/figures */
	const char *plotsdir; /* where the .gp scripts are */
	const char *gnuplot;
	char log[4200];
};

static void note(struct figs *f, const char *file, const char *what, const char *why, ...)
{
	struct fig_note *n;

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

/* Append a gnuplot single-quoted string assignment. */
static void gp_var(struct sb *v, const char *name, const char *val)
{
	sb_printf(v, "%s='", name);
	for (const char *p = val; *p; p++)
		sb_printf(v, *p == '\'' ? "''" : "%c", *p);
	sb_printf(v, "'; ");
}

static int write_file(const char *path, struct sb *data)
{
	int rc = ab_write_atomic(path, data->s ? data->s : "", data->len);

	if (rc)
		ab_warn("report: %s: %s", path, strerror(-rc));
	return rc;
}

static bool nonempty(const char *path)
{
	struct stat st;

	return !stat(path, &st) && st.st_size > 0;
}

/*
 * Run analysis/gnuplot/@script.gp with @vars (plus data/out paths) and move the
 * results into place as DIR/figures/@base.{png,svg}. Returns 0 or -1 (@why set).
 */
static int gnuplot(struct figs *f, const char *script, const char *base, const char *data,
		   struct sb *vars, char *why, size_t whylen)
{
	char png[4300], svg[4300], tpng[4400], tsvg[4400], gp[4300];
	pid_t pid;
	int st, fd;

	snprintf(png, sizeof(png), "%s/%s.png", f->dir, base);
	snprintf(svg, sizeof(svg), "%s/%s.svg", f->dir, base);
	snprintf(tpng, sizeof(tpng), "%s.tmp.%d.png", png, (int)getpid());
	snprintf(tsvg, sizeof(tsvg), "%s.tmp.%d.svg", svg, (int)getpid());
	snprintf(gp, sizeof(gp), "%s/%s.gp", f->plotsdir, script);
	if (access(gp, R_OK)) {
		snprintf(why, whylen, "gnuplot script %.300s: %s", gp, strerror(errno));
		return -1;
	}
	gp_var(vars, "data", data);
	gp_var(vars, "out_png", tpng);
	gp_var(vars, "out_svg", tsvg);
	gp_var(vars, "gpdir", f->plotsdir);
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		snprintf(why, whylen, "fork: %s", strerror(errno));
		return -1;
	}
	if (!pid) {
		fd = open(f->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execlp(f->gnuplot, f->gnuplot, "-e", vars->s, gp, (char *)NULL);
		fprintf(stderr, "exec %s: %s\n", f->gnuplot, strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		unlink(tpng);
		unlink(tsvg);
		if (WIFEXITED(st) && WEXITSTATUS(st) == 127)
			snprintf(why, whylen, "cannot run '%s' (install gnuplot-nox)", f->gnuplot);
		else
			snprintf(why, whylen, "gnuplot failed on %.200s (see %.200s)", gp, f->log);
		return -1;
	}
	if (!nonempty(tpng) || !nonempty(tsvg) || rename(tpng, png) || rename(tsvg, svg)) {
		unlink(tpng);
		unlink(tsvg);
		snprintf(why, whylen, "gnuplot wrote no %.200s (see %.200s)", png, f->log);
		return -1;
	}
	return 0;
}

struct series_pt {
	double x, y, lo, hi, z; /* vCPUs, median, quartiles, median of the x metric */
};

static int cmp_pt(const void *a, const void *b)
{
	const struct series_pt *p = a, *q = b;

	return p->x < q->x ? -1 : p->x > q->x;
}

/*
 * The group key (benchmark name minus mode and vcpus) shared by the most of
 * @names[0..n) that have @ok[i] set; NULL if none has. The caller frees it.
 */
static char *most_common_group(const char *const *names, const bool *ok, size_t n)
{
	char *best = NULL;
	size_t bestn = 0;

	for (size_t i = 0; i < n; i++) {
		char *k;
		size_t cnt = 0;

		if (!ok[i])
			continue;
		k = group_key(names[i]);
		for (size_t j = 0; j < n; j++) {
			char *kj;

			if (!ok[j])
				continue;
			kj = group_key(names[j]);
			cnt += !strcmp(k, kj);
			free(kj);
		}
		if (cnt > bestn) {
			free(best);
			best = k;
			bestn = cnt;
		} else {
			free(k);
		}
	}
	return best;
}

/* Is @name a benchmark of @backend? */
static bool of_backend(const char *name, const char *backend)
{
	char be[64];

	return ab_name_element(name, 0, be, sizeof(be)) && !strcmp(be, backend);
}

/*
 * The configuration shown in the per-vCPU figures of @backend: the group
 * (name minus mode and vcpus) with the most benchmarks having @metric.
 */
static char *dominant_group(const struct ab_results *r, const char *backend, const char *metric)
{
	const char **names = calloc(r->nb + 1, sizeof(*names));
	bool *ok = calloc(r->nb + 1, sizeof(*ok));
	char *best = NULL;

	if (names && ok) {
		for (size_t i = 0; i < r->nb; i++) {
			names[i] = r->b[i].name;
			ok[i] = of_backend(r->b[i].name, backend) &&
				ab_bench_metric(&r->b[i], metric) != NULL;
		}
		best = most_common_group(names, ok, r->nb);
	}
	free(names);
	free(ok);
	return best;
}

/* Points (vcpus, mean, sd) of @metric for @mode in group @key. */
static size_t series(const struct ab_results *r, const char *key, const char *mode,
		     const char *metric, const char *zmetric, struct series_pt *pts, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < r->nb && n < max; i++) {
		char m[64], *k;
		double mean, lo, hi, z = NAN;
		bool same;

		if (!ab_name_element(r->b[i].name, 1, m, sizeof(m)) || strcmp(m, mode))
			continue;
		k = group_key(r->b[i].name);
		same = !strcmp(k, key);
		free(k);
		if (!same || !metric_median(&r->b[i], metric, &mean, &lo, &hi))
			continue;
		if (zmetric && !metric_median(&r->b[i], zmetric, &z, NULL, NULL))
			continue;
		long v = ab_name_arg(r->b[i].name, "vcpus");

		pts[n++] = (struct series_pt){v >= 0 ? (double)v : 1, mean, lo, hi, z};
	}
	qsort(pts, n, sizeof(*pts), cmp_pt);
	return n;
}

static void key_subtitle(char *buf, size_t len, const char *key)
{
	/* "model/4K/pages:16384/inval:0" -> "model 4K pages:16384 inval:0" */
	snprintf(buf, len, "%s", key);
	for (char *p = buf; *p; p++)
		if (*p == '/')
			*p = ' ';
}

/* A per-vCPU line figure of @metric (x vcpus) for one backend. */
static void fig_vs_vcpus(struct figs *f, const struct ab_results *r, const struct modes *ms,
			 const char *backend, const char *metric, const char *script,
			 const char *what)
{
	char base[128], file[160], data[4400], why[512], sub[512];
	char *key = dominant_group(r, backend, metric);
	struct sb d = {0}, v = {0}, used = {0};
	struct series_pt pts[64];
	double xmin = INFINITY, xmax = -INFINITY, ymed = 0, yhi = 0, ylo = INFINITY;
	int nser = 0;

	snprintf(base, sizeof(base), "%.64s_%.32s", backend, script);
	snprintf(file, sizeof(file), "figures/%s.png", base);
	if (!key) {
		note(f, file, what, "no %s counter in the %s results", metric, backend);
		return;
	}
	for (int mi = 0; mi < ms->n; mi++) {
		size_t n = series(r, key, ms->name[mi], metric, NULL, pts, 64);

		if (!n)
			continue;
		sb_printf(&d, "# mode %s: vcpus median q1 q3 (%s)\n", ms->name[mi], metric);
		for (size_t i = 0; i < n; i++) {
			sb_printf(&d, "%g %.9g %.9g %.9g\n", pts[i].x, pts[i].y, pts[i].lo,
				  pts[i].hi);
			xmin = fmin(xmin, pts[i].x);
			ymed = fmax(ymed, pts[i].y);
			yhi = fmax(yhi, pts[i].hi);
			ylo = fmin(ylo, pts[i].lo);
			xmax = fmax(xmax, pts[i].x);
		}
		sb_printf(&d, "\n\n");
		sb_printf(&used, "%s%s", nser ? " " : "", ms->name[mi]);
		nser++;
	}
	snprintf(data, sizeof(data), "%s/data/%s.dat", f->dir, base);
	if (write_file(data, &d)) {
		note(f, file, what, "cannot write %s", data);
		goto out;
	}
	key_subtitle(sub, sizeof(sub), key);
	gp_var(&v, "modes", used.s);
	gp_var(&v, "subtitle", sub);
	/* log2 x axis for wide vCPU ranges; linear when 0 vCPUs (aging alone) is plotted */
	if (xmin >= 1 && xmax / xmin >= 8)
		sb_printf(&v, "xlog=1; xmin=%g; xmax=%g; ", xmin / 1.3, xmax * 1.3);
	else
		sb_printf(&v, "xlog=0; xmin=%g; xmax=%g; ", xmin - 0.3 * fmax(1, xmax - xmin) / 2,
			  xmax + 0.3 * fmax(1, xmax - xmin) / 2);
	/* One wide quartile range must not squash every line: clip the y axis at
	 * 2.5x the largest median (bars beyond it run off the top). */
	sb_printf(&v, "ymin=%.9g; ymax=%.9g; yclip=%d; ", fmin(0, ylo),
		  yhi > 2.5 * ymed && ymed > 0 ? 2.5 * ymed : yhi * 1.05,
		  yhi > 2.5 * ymed && ymed > 0);
	if (gnuplot(f, script, base, data, &v, why, sizeof(why)))
		note(f, file, what, "%s", why);
	else
		note(f, file, what, NULL);
out:
	free(d.s);
	free(v.s);
	free(used.s);
	free(key);
}

static void fig_cdf(struct figs *f, const struct ab_results *r, const struct modes *ms,
		    const char *backend)
{
	const char *what = "vCPU fault-latency CDF per mode";
	json_t *cdf = json_object_get(json_object_get(r->root, "agebench"), "cdf");
	char base[128], file[160], data[4400], why[512], sub[600], *key;
	struct sb d = {0}, v = {0}, used = {0};
	long vsel = -1;
	int nser = 0;

	snprintf(base, sizeof(base), "%.64s_fault_cdf", backend);
	snprintf(file, sizeof(file), "figures/%s.png", base);
	if (!json_is_object(cdf) || !json_object_size(cdf)) {
		note(f, file, what, "no agebench.cdf in results.json");
		return;
	}
	{
		/* keys as the benchmark names: without /repeats:N, /min_time:X */
		json_t *norm = json_object(), *val;
		const char *raw;

		json_object_foreach(cdf, raw, val)
		{
			char *k = ab_bench_key(raw);

			json_object_set(norm, k, val);
			free(k);
		}
		cdf = norm;
	}
	/* The aging-cost figure's configuration if it has CDFs, else the group
	 * with most CDFs; within it the largest vCPU count. */
	key = dominant_group(r, backend, "ns_per_page");
	if (key) {
		const char *n1;
		json_t *v1;
		bool found = false;

		json_object_foreach(cdf, n1, v1)
		{
			char *k1 = group_key(n1);

			found |= !strcmp(k1, key) && json_is_array(json_object_get(v1, "fault"));
			free(k1);
		}
		if (!found) {
			free(key);
			key = NULL;
		}
	}
	if (!key) {
		/* the group with most fault CDFs of this backend */
		size_t n = json_object_size(cdf), i = 0;
		const char **names = calloc(n + 1, sizeof(*names));
		bool *ok = calloc(n + 1, sizeof(*ok));
		const char *n1;
		json_t *v1;

		if (names && ok) {
			json_object_foreach(cdf, n1, v1)
			{
				names[i] = n1;
				ok[i++] = of_backend(n1, backend) &&
					  json_is_array(json_object_get(v1, "fault"));
			}
			key = most_common_group(names, ok, i);
		}
		free(names);
		free(ok);
	}
	if (!key) {
		note(f, file, what, "no fault CDF for the %s backend in agebench.cdf", backend);
		json_decref(cdf);
		return;
	}
	{
		const char *n1;
		json_t *v1;

		json_object_foreach(cdf, n1, v1)
		{
			char *k = group_key(n1);
			long vc = ab_name_arg(n1, "vcpus");

			if (!strcmp(k, key) && vc > vsel)
				vsel = vc;
			free(k);
		}
	}
	for (int mi = 0; mi < ms->n; mi++) {
		const char *n1;
		json_t *v1;

		json_object_foreach(cdf, n1, v1)
		{
			char m[64], *k = group_key(n1);
			json_t *pts = json_object_get(v1, "fault"), *p;
			size_t i;
			bool ok = !strcmp(k, key) && ab_name_arg(n1, "vcpus") == vsel &&
				  ab_name_element(n1, 1, m, sizeof(m)) &&
				  !strcmp(m, ms->name[mi]) && json_is_array(pts) &&
				  json_array_size(pts);

			free(k);
			if (!ok)
				continue;
			sb_printf(&d, "# mode %s: fault latency ns, cumulative fraction (%s)\n",
				  ms->name[mi], n1);
			json_array_foreach(pts, i, p)
			{
				double x = json_number_value(json_array_get(p, 0));
				double y = json_number_value(json_array_get(p, 1));

				if (json_is_array(p) && x > 0)
					sb_printf(&d, "%.9g %.9g\n", x, y);
			}
			sb_printf(&d, "\n\n");
			sb_printf(&used, "%s%s", nser ? " " : "", ms->name[mi]);
			nser++;
			break;
		}
	}
	if (!nser) {
		note(f, file, what, "agebench.cdf has no usable fault points");
		goto out;
	}
	snprintf(data, sizeof(data), "%s/data/%s.dat", f->dir, base);
	if (write_file(data, &d)) {
		note(f, file, what, "cannot write %s", data);
		goto out;
	}
	key_subtitle(sub, sizeof(sub) - 32, key);
	if (vsel > 0)
		snprintf(sub + strlen(sub), 32, " vcpus:%ld", vsel);
	gp_var(&v, "modes", used.s);
	gp_var(&v, "subtitle", sub);
	if (gnuplot(f, "fault_cdf", base, data, &v, why, sizeof(why)))
		note(f, file, what, "%s", why);
	else
		note(f, file, what, NULL);
out:
	json_decref(cdf);
	free(key);
	free(d.s);
	free(v.s);
	free(used.s);
}

static void fig_accuracy(struct figs *f, const struct ab_results *r, const struct modes *ms,
			 const char *backend)
{
	const char *what = "accuracy (false_old) vs aging cost per mode";
	char base[128], file[160], data[4400], why[512], sub[512];
	char *key = dominant_group(r, backend, "false_old");
	struct sb d = {0}, v = {0}, used = {0};
	struct series_pt pts[64];
	int nser = 0;

	snprintf(base, sizeof(base), "%.64s_accuracy", backend);
	snprintf(file, sizeof(file), "figures/%s.png", base);
	if (!key) {
		note(f, file, what, "no false_old counter in the %s results", backend);
		return;
	}
	for (int mi = 0; mi < ms->n; mi++) {
		size_t n = series(r, key, ms->name[mi], "false_old", "ns_per_page", pts, 64);

		if (!n)
			continue;
		sb_printf(&d, "# mode %s: ns_per_page false_old vcpus\n", ms->name[mi]);
		for (size_t i = 0; i < n; i++)
			sb_printf(&d, "%.9g %.9g %g\n", pts[i].z, pts[i].y, pts[i].x);
		sb_printf(&d, "\n\n");
		sb_printf(&used, "%s%s", nser ? " " : "", ms->name[mi]);
		nser++;
	}
	if (!nser) {
		note(f, file, what, "no benchmark has both false_old and ns_per_page");
		goto out;
	}
	snprintf(data, sizeof(data), "%s/data/%s.dat", f->dir, base);
	if (write_file(data, &d)) {
		note(f, file, what, "cannot write %s", data);
		goto out;
	}
	key_subtitle(sub, sizeof(sub), key);
	gp_var(&v, "modes", used.s);
	gp_var(&v, "subtitle", sub);
	if (gnuplot(f, "accuracy", base, data, &v, why, sizeof(why)))
		note(f, file, what, "%s", why);
	else
		note(f, file, what, NULL);
out:
	free(key);
	free(d.s);
	free(v.s);
	free(used.s);
}

/* First counter of @r whose name starts with @prefix. */
static const char *metric_prefix(const struct ab_results *r, const char *prefix)
{
	for (size_t i = 0; i < r->nb; i++)
		for (size_t j = 0; j < r->b[i].nm; j++)
			if (!strncmp(r->b[i].m[j].name, prefix, strlen(prefix)))
				return r->b[i].m[j].name;
	return NULL;
}

static void fig_macro(struct figs *f, const struct ab_results *mr, const struct modes *ms)
{
	const char *what = "macro: reclaim CPU and refaults per mode";
	const char *cpu = metric_prefix(mr, "reclaim_cpu"), *ref = metric_prefix(mr, "refault");
	char file[] = "figures/macro_reclaim.png", data[4400], why[512], sub[512];
	struct sb d = {0}, v = {0}, used = {0};
	char *key = NULL;
	long vsel = -1;
	int nser = 0;

	if (!cpu || !ref) {
		note(f, file, what, "macro.json has no %s counter",
		     !cpu ? "reclaim_cpu*" : "refault*");
		return;
	}
	{
		char be[64];

		ab_name_element(mr->b[0].name, 0, be, sizeof(be));
		key = dominant_group(mr, be, cpu);
	}
	if (!key) {
		note(f, file, what, "macro.json: no benchmark with %s", cpu);
		return;
	}
	for (size_t i = 0; i < mr->nb; i++) {
		char *k = group_key(mr->b[i].name);
		long vc = ab_name_arg(mr->b[i].name, "vcpus");

		if (!strcmp(k, key) && vc > vsel)
			vsel = vc;
		free(k);
	}
	for (int mi = 0; mi < ms->n; mi++)
		for (size_t i = 0; i < mr->nb; i++) {
			char m[64], *k = group_key(mr->b[i].name);
			double c, cl, ch, rf, rl, rh;
			bool ok = !strcmp(k, key) && ab_name_arg(mr->b[i].name, "vcpus") == vsel &&
				  ab_name_element(mr->b[i].name, 1, m, sizeof(m)) &&
				  !strcmp(m, ms->name[mi]) &&
				  metric_median(&mr->b[i], cpu, &c, &cl, &ch) &&
				  metric_median(&mr->b[i], ref, &rf, &rl, &rh);

			free(k);
			if (!ok)
				continue;
			sb_printf(&d, "%s %.9g %.9g %.9g %.9g %.9g %.9g\n", ms->name[mi], c, cl, ch,
				  rf, rl, rh);
			sb_printf(&used, "%s%s", nser ? " " : "", ms->name[mi]);
			nser++;
			break;
		}
	if (!nser) {
		note(f, file, what, "macro.json: no mode has both %s and %s", cpu, ref);
		goto out;
	}
	snprintf(data, sizeof(data), "%s/data/macro_reclaim.dat", f->dir);
	if (write_file(data, &d)) {
		note(f, file, what, "cannot write %s", data);
		goto out;
	}
	key_subtitle(sub, sizeof(sub) - 32, key);
	if (vsel > 0)
		snprintf(sub + strlen(sub), 32, " vcpus:%ld", vsel);
	{
		const struct ab_metric *mc = any_metric(mr, cpu), *mf = any_metric(mr, ref);
		char lab[256];

		gp_var(&v, "modes", used.s);
		gp_var(&v, "subtitle", sub);
		snprintf(lab, sizeof(lab), "%s (%s)", cpu, *mc->unit ? mc->unit : "no unit");
		gp_var(&v, "cpu_label", lab);
		snprintf(lab, sizeof(lab), "%s (%s)", ref, *mf->unit ? mf->unit : "no unit");
		gp_var(&v, "ref_label", lab);
	}
	if (gnuplot(f, "macro", "macro_reclaim", data, &v, why, sizeof(why)))
		note(f, file, what, "%s", why);
	else
		note(f, file, what, NULL);
out:
	free(key);
	free(d.s);
	free(v.s);
	free(used.s);
}

static void figures(struct figs *f, const struct ab_results *r, const struct ab_results *mr,
		    const struct modes *ms, const struct modes *mms)
{
	char be[8][64];
	int nbe;

	backends_of(r, be, &nbe);
	for (int k = 0; k < nbe; k++) {
		fig_vs_vcpus(f, r, ms, be[k], "ns_per_page", "aging_cost",
			     "aging cost per page vs vCPUs per mode");
		fig_vs_vcpus(f, r, ms, be[k], "vcpu_rel", "vcpu_slowdown",
			     "vCPU slowdown (vcpu_rel) vs vCPUs per mode");
		fig_cdf(f, r, ms, be[k]);
		fig_accuracy(f, r, ms, be[k]);
	}
	if (mr)
		fig_macro(f, mr, mms);
	else
		note(f, "figures/macro_reclaim.png", "macro: reclaim CPU and refaults per mode",
		     "no macro results (macro.json not found)");
}

static void figures_section(struct sb *b, const struct figs *f, bool disabled)
{
	sb_printf(b, "Figures (PNG and SVG in figures/, data in figures/data/)\n");
	sb_rule(b, '-');
	if (disabled) {
		sb_printf(b, "  not drawn (--no-figures)\n\n");
		return;
	}
	for (int i = 0; i < f->nn; i++) {
		char first[200];

		snprintf(first, sizeof(first), "  %s", f->n[i].file);
		if (f->n[i].why[0]) {
			char t[600];

			snprintf(t, sizeof(t), "%s: skipped: %s", f->n[i].what, f->n[i].why);
			sb_printf(b, "%s\n", first);
			sb_wrap(b, "      ", "      ", t);
		} else {
			sb_printf(b, "%s\n      %s\n", first, f->n[i].what);
		}
	}
	sb_printf(b, "\n");
}

/* ---- main ---- */

/* Plain text for mail: no blanks at line ends. */
static void strip_trailing_blanks(struct sb *b)
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

static void usage(FILE *f)
{
	fprintf(f, "usage: agebench report [--no-figures] DIR\n"
		   "Write DIR/report.txt and DIR/figures/*.{png,svg} from DIR/results.json\n"
		   "(and DIR/macro.json when present). Exit 0 ok, 1 write failure, 2 bad input.\n");
}

int ab_report_main(int argc, char **argv)
{
	static const struct option lo[] = {
	    {"no-figures", no_argument, NULL, 'n'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct ab_cmp_opts o = AB_CMP_OPTS_DEFAULT;
	struct ab_results r, mr;
	struct ab_cmp cmp, mcmp;
	struct modes ms, mms;
	struct figs figs = {0};
	struct sb b = {0};
	char path[4200], mpath[4200], fdir[4200], ddir[4200], err[1024];
	bool have_macro = false, nofig = false;
	const char *dir;
	int opt, rc = 0;

	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+h", lo, NULL)) != -1) {
		if (opt == 'n') {
			nofig = true;
		} else if (opt == 'h') {
			usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "agebench report: unknown option '%s'\n", argv[optind - 1]);
			usage(stderr);
			return 2;
		}
	}
	if (argc - optind != 1) {
		usage(stderr);
		return 2;
	}
	dir = argv[optind];
	if (strlen(dir) > 4000) {
		fprintf(stderr, "agebench report: directory name too long\n");
		return 2;
	}
	snprintf(path, sizeof(path), "%s/results.json", dir);
	snprintf(mpath, sizeof(mpath), "%s/macro.json", dir);
	if (ab_results_load(path, &r, err, sizeof(err))) {
		fprintf(stderr, "agebench report: %s\n", err);
		return 2;
	}
	if (!r.nb) {
		fprintf(stderr, "agebench report: %s: no benchmark results\n", path);
		ab_results_free(&r);
		return 2;
	}
	if (!access(mpath, F_OK)) {
		if (ab_results_load(mpath, &mr, err, sizeof(err))) {
			fprintf(stderr, "agebench report: %s\n", err);
			ab_results_free(&r);
			return 2;
		}
		have_macro = mr.nb > 0;
		if (!have_macro)
			ab_results_free(&mr);
	}
	collect_modes(&r, &ms);
	if (ab_cmp_modes(&r, "locked", &o, &cmp, err, sizeof(err))) {
		fprintf(stderr, "agebench report: %s\n", err);
		rc = 2;
		goto out_r;
	}
	if (have_macro) {
		collect_modes(&mr, &mms);
		if (ab_cmp_modes(&mr, "locked", &o, &mcmp, err, sizeof(err))) {
			fprintf(stderr, "agebench report: %s\n", err);
			rc = 2;
			goto out_c;
		}
	}

	/* Figures first, so the report can say what was drawn. */
	snprintf(fdir, sizeof(fdir), "%s/figures", dir);
	snprintf(ddir, sizeof(ddir), "%s/figures/data", dir);
	figs.dir = fdir;
	figs.plotsdir = getenv("AGEBENCH_PLOTS_DIR") ? getenv("AGEBENCH_PLOTS_DIR") : AB_PLOTS_DIR;
	figs.gnuplot = getenv("AGEBENCH_GNUPLOT") ? getenv("AGEBENCH_GNUPLOT") : "gnuplot";
	snprintf(figs.log, sizeof(figs.log), "%.4000s/gnuplot.log", ddir);
	if (!nofig) {
		int e = ab_mkdir_p(ddir);

		if (e) {
			fprintf(stderr, "agebench report: %s: %s\n", ddir, strerror(-e));
			rc = 1;
			goto out_m;
		}
		unlink(figs.log);
		figures(&figs, &r, have_macro ? &mr : NULL, &ms, have_macro ? &mms : NULL);
	}

	sb_printf(&b, "agebench report: secondary-MMU page aging\n");
	sb_rule(&b, '=');
	sb_printf(&b, "\n");
	machine_section(&b, &r, &ms, path);
	reproduce_section(&b, &r, dir);
	summary_section(&b, &r, &cmp, &ms);
	results_section(&b, "Micro results (results.json)", &r, &cmp, &ms);
	if (have_macro) {
		results_section(&b, "Macro results (macro.json)", &mr, &mcmp, &mms);
	} else {
		sb_printf(&b, "Macro results\n");
		sb_rule(&b, '-');
		sb_printf(&b,
			  "  no macro results (%.60s not found);\n  the reclaim CPU/refault figure "
			  "was skipped.\n\n",
			  "macro.json");
	}
	figures_section(&b, &figs, nofig);
	sb_printf(&b, "Appendix: every benchmark against locked, all metrics\n");
	sb_rule(&b, '-');
	{
		char *t = NULL;
		size_t tl = 0;
		FILE *mf = open_memstream(&t, &tl);

		if (mf) {
			ab_cmp_print_text(mf, &cmp);
			fclose(mf);
			sb_printf(&b, "%s", t);
			free(t);
		}
	}
	{
		char rp[4300];
		int e;

		snprintf(rp, sizeof(rp), "%s/report.txt", dir);
		strip_trailing_blanks(&b);
		e = ab_write_atomic(rp, b.s, b.len);
		if (e) {
			fprintf(stderr, "agebench report: %s: %s\n", rp, strerror(-e));
			rc = 1;
		} else {
			printf("report: %s\n", rp);
			for (int i = 0; i < figs.nn; i++)
				if (!figs.n[i].why[0])
					printf("figure: %s/%s (+ .svg)\n", dir, figs.n[i].file);
		}
	}
	for (int i = 0; i < figs.nn; i++)
		if (figs.n[i].why[0])
			fprintf(stderr, "agebench report: %s skipped: %s\n", figs.n[i].file,
				figs.n[i].why);
	free(b.s);
out_m:
	if (have_macro)
		ab_cmp_free(&mcmp);
out_c:
	ab_cmp_free(&cmp);
out_r:
	ab_results_free(&r);
	if (have_macro)
		ab_results_free(&mr);
	return rc;
}
