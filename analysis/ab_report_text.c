// SPDX-License-Identifier: GPL-2.0
/*
 * ab_report_text.c - the text of report.txt: machine and software, how to
 * reproduce, the summary and one table per metric (rows: configurations,
 * columns: the modes in ab_mode_table order).
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "ab_report_priv.h"

/* ---- machine and reproduce sections ---- */

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

static void ctx_line(struct ab_sb *b, const char *label, const char *value)
{
	char first[32];

	snprintf(first, sizeof(first), "  %-12s", label);
	ab_sb_wrap(b, "              ", first, value && *value ? value : "(not recorded)");
}

static void caches_line(struct ab_sb *b, json_t *ctx)
{
	json_t *caches = json_object_get(ctx, "caches"), *c;
	size_t i, len = 0;
	char buf[1024];

	buf[0] = 0;
	json_array_foreach(caches, i, c)
	{
		const char *t = json_string_value(json_object_get(c, "type"));
		long long lvl = json_integer_value(json_object_get(c, "level"));
		long long sz = json_integer_value(json_object_get(c, "size"));
		long long sh = json_integer_value(json_object_get(c, "num_sharing"));

		if (len < sizeof(buf) - 100)
			len += snprintf(buf + len, sizeof(buf) - len, "%sL%lld %s %lld KiB%s",
					len ? ", " : "", lvl, t ? t : "?", sz / 1024,
					sh > 1 ? " (shared)" : "");
	}
	if (len)
		ctx_line(b, "caches", buf);
}

void ab_rep_machine(struct ab_sb *b, const struct ab_results *r, const struct ab_rep_modes *ms,
		    const char *results_path)
{
	json_t *ctx = json_object_get(r->root, "context");
	char buf[1024], cpu[256];
	const char *host = ab_results_context(r, "host_name");
	struct utsname u;

	ab_sb_printf(b, "Machine and software\n");
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
	caches_line(b, ctx);
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
	ab_sb_printf(b, "\n");
}

void ab_rep_reproduce(struct ab_sb *b, const struct ab_results *r, const char *dir)
{
	char *cmd = ab_results_command(r);

	ab_sb_printf(b, "To reproduce\n");
	if (cmd) {
		/* Wrap the command with shell continuations at AB_REP_WIDTH. */
		const char *p = cmd;
		size_t col;

		ab_sb_printf(b, "  $ ");
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

			if (col > 4 && col + 1 + l + 2 > AB_REP_WIDTH) {
				ab_sb_printf(b, " \\\n      ");
				col = 6;
			} else if (col > 4) {
				ab_sb_printf(b, " ");
				col++;
			}
			ab_sb_printf(b, "%.*s", (int)l, p);
			col += l;
			p = *e ? e + 1 : e;
		}
		ab_sb_printf(b, "\n");
		free(cmd);
	} else {
		ab_sb_printf(
		    b, "  (the command was not recorded in results.json: agebench.command)\n");
	}
	if (strlen(dir) + 45 > AB_REP_WIDTH)
		ab_sb_printf(b, "  $ agebench compare --modes \\\n      %s/results.json\n", dir);
	else
		ab_sb_printf(b, "  $ agebench compare --modes %s/results.json\n", dir);
	ab_sb_printf(b, "\n");
}

/* ---- per-metric mode tables ---- */

static const char *const metric_order[] = {
    "ns_per_page",
    "lock_wait_ns",
    "declines",
    "ns_per_page_answered",
    "vcpu_blocked_frac",
    "vcpu_lock_wait_ns",
    "access_rel",
    "populate_rel",
    "vcpu_rel",
    "vcpu_accesses_per_s",
    "fault_p50_ns",
    "fault_p99_ns",
    "fault_max_ns",
    "false_old",
    "young",
    "walker_scan_ratio",
    "reclaim_cpu_s",
    "refault_pages",
    "ops_per_s",
    "op_p99_ns",
    "real_time",
    NULL,
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
	    {"ns_per_page_answered", "aging cost per page answered (declines excluded)"},
	    {"vcpu_blocked_frac", "share of vCPU time blocked on mmu_lock"},
	    {"vcpu_lock_wait_ns", "vCPU mmu_lock wait per fault"},
	    {"access_rel", "vCPU accesses/s with aging / without (not mmu_lock)"},
	    {"populate_rel", "populate wall time without aging / with"},
	    {"vcpu_rel", "vCPU speed with aging / without (old name)"},
	    {"vcpu_accesses_per_s", "vCPU accesses per second"},
	    {"fault_p50_ns", "vCPU fault latency, median"},
	    {"fault_p99_ns", "vCPU fault latency, 99th percentile"},
	    {"fault_max_ns", "vCPU fault latency, maximum"},
	    {"false_old", "touched pages reported old, per call"},
	    {"young", "pages reported young, per call"},
	    {"walker_scan_ratio", "walker cost / linear scan cost"},
	    {"real_time", "wall time per iteration"},
	    {"reclaim_cpu_s", "reclaim CPU time"},
	    {"refault_pages", "refaulted pages (workingset refaults in the VMs' memcgs)"},
	    {"ops_per_s", "guest operations per second"},
	    {"op_p99_ns", "guest operation latency, 99th percentile"},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (!strcmp(t[i].m, m))
			return t[i].t;
	return NULL;
}

/* One configuration: a benchmark name without its mode, one benchmark per mode. */
struct cfg {
	const char *bench[AB_REP_MAXMODES]; /* benchmark name per mode (index into modes) */
	char key[512];			    /* name without the mode */
	struct ab_name n;		    /* the name parsed (its mode is not used) */
	char label[128];
};

/* Element @el of a configuration: backend, page, then the "key:value" arguments. */
static void cfg_element(const struct cfg *c, int el, char *buf, size_t len)
{
	if (el == 0)
		snprintf(buf, len, "%s", c->n.backend);
	else if (el == 1)
		snprintf(buf, len, "%s", c->n.page);
	else
		snprintf(buf, len, "%s:%s", c->n.arg[el - 2].key, c->n.arg[el - 2].val);
}

/*
 * Labels: the elements every configuration shares are shown once as
 * @fixed; each label holds the others. Configurations with different
 * element counts are labelled by their whole key.
 */
static void cfg_labels(struct cfg *c, size_t n, char *fixed, size_t fixedlen)
{
	int nel = n ? 2 + c[0].n.nargs : 0;
	bool same_count = true;

	for (size_t k = 0; k < n; k++) {
		same_count &= 2 + c[k].n.nargs == nel;
		c[k].label[0] = 0;
	}
	fixed[0] = 0;
	for (int el = 0; el < (same_count ? nel : 0); el++) {
		char e0[128], ek[128];
		bool constant = true;

		cfg_element(&c[0], el, e0, sizeof(e0));
		for (size_t k = 1; k < n && constant; k++) {
			cfg_element(&c[k], el, ek, sizeof(ek));
			constant = !strcmp(e0, ek);
		}
		if (constant) {
			size_t l = strlen(fixed);

			snprintf(fixed + l, fixedlen - l, "%s%s", l ? " " : "", e0);
			continue;
		}
		for (size_t k = 0; k < n; k++) {
			size_t l = strlen(c[k].label);

			cfg_element(&c[k], el, ek, sizeof(ek));
			snprintf(c[k].label + l, sizeof(c[k].label) - l, "%s%s", l ? " " : "", ek);
		}
	}
	for (size_t k = 0; k < n; k++)
		if (!same_count || !c[k].label[0])
			snprintf(c[k].label, sizeof(c[k].label), "%s",
				 same_count && n == 1 ? "(all)" : c[k].key);
}

/* Configurations (benchmark names without the mode) of one backend (malloc'd). */
static size_t collect_cfgs(const struct ab_results *r, const char *backend,
			   const struct ab_rep_modes *ms, struct cfg **out, char *fixed,
			   size_t fixedlen)
{
	size_t n = 0, cap = 16;
	struct cfg *c = calloc(cap, sizeof(*c));

	for (size_t i = 0; c && i < r->nb; i++) {
		struct ab_name nm;
		char key[512];
		size_t k;
		int mi;

		if (!ab_bench_name(r->b[i].name, &nm) || strcmp(nm.backend, backend) ||
		    (mi = ab_rep_mode_index(ms, nm.mode)) < 0 ||
		    !ab_rep_cfg_key(r->b[i].name, key, sizeof(key)))
			continue;
		for (k = 0; k < n; k++)
			if (!strcmp(c[k].key, key))
				break;
		if (k == n) {
			if (n == cap && !(c = realloc(c, (cap *= 2) * sizeof(*c))))
				break;
			memset(&c[n], 0, sizeof(c[n]));
			snprintf(c[n].key, sizeof(c[n].key), "%s", key);
			c[n].n = nm;
			n++;
		}
		c[k].bench[mi] = r->b[i].name;
	}
	if (!c)
		abort();
	cfg_labels(c, n, fixed, fixedlen);
	*out = c;
	return n;
}

static bool metric_wanted(const char *m)
{
	for (int i = 0; metric_skip[i]; i++)
		if (!strcmp(metric_skip[i], m))
			return false;
	return true;
}

/* Layout of one mode table. */
struct table_fmt {
	int colw, lw;
	bool split; /* labels on a line of their own */
};

static void table_title(struct ab_sb *b, const struct ab_metric *am, const char *metric,
			const char *fixed)
{
	const char *t = metric_title(metric);
	char head[512];

	snprintf(head, sizeof(head), "%s%s%s [%s%s%s]", metric, t ? ": " : "", t ? t : "",
		 *am->unit ? am->unit : "no unit", am->better == AB_BETTER_NONE ? "" : ", ",
		 am->better == AB_BETTER_LOWER	  ? "lower is better"
		 : am->better == AB_BETTER_HIGHER ? "higher is better"
						  : "");
	ab_sb_wrap(b, "    ", "", head);
	if (fixed[0])
		ab_sb_wrap(b, "         ", "  fixed:", fixed);
}

/*
 * Header: names end where the numbers end (the last column holds the mark);
 * a name too long for its column is split after its '_' over two lines.
 */
static void table_header(struct ab_sb *b, const struct ab_rep_modes *ms, const struct table_fmt *t)
{
	bool two = false;

	for (int mi = 0; mi < ms->n; mi++)
		if ((int)strlen(ms->name[mi]) > t->colw - 1 && strchr(ms->name[mi], '_'))
			two = true;
	for (int line = two ? 0 : 1; line < 2; line++) {
		ab_sb_printf(b, "  %-*s", t->lw, line ? "config" : "");
		for (int mi = 0; mi < ms->n; mi++) {
			const char *nm = ms->name[mi], *us = strchr(nm, '_');
			bool split = two && (int)strlen(nm) > t->colw - 1 && us;

			if (!line)
				ab_sb_printf(b, "%*.*s ", t->colw - 1,
					     split ? (int)(us - nm + 1) : 0, nm);
			else
				ab_sb_printf(b, "%*s ", t->colw - 1, split ? us + 1 : nm);
		}
		ab_sb_printf(b, "\n");
	}
}

/* One configuration's row: the base mode's mean, the others' change against it. */
static void table_row(struct ab_sb *b, const struct ab_results *r, const struct ab_cmp *cmp,
		      const struct ab_rep_modes *ms, const struct cfg *c, const char *metric,
		      const struct table_fmt *t)
{
	int bi = ab_rep_mode_index(ms, ab_rep_base_mode());
	const struct ab_bench_res *lb =
	    bi >= 0 && c->bench[bi] ? ab_results_find(r, c->bench[bi]) : NULL;

	if (t->split)
		ab_sb_printf(b, "  %.78s\n  %-*s", c->label, t->lw, "");
	else
		ab_sb_printf(b, "  %-*s", t->lw, c->label);
	for (int mi = 0; mi < ms->n; mi++) {
		const struct ab_bench_res *bb =
		    c->bench[mi] ? ab_results_find(r, c->bench[mi]) : NULL;
		const struct ab_cmp_row *row =
		    bb && bb != lb ? ab_rep_cmp_lookup(cmp, bb->name, metric) : NULL;
		char cell[48], num[32];
		double mean;

		if (!bb || !ab_rep_mean(bb, metric, &mean)) {
			snprintf(cell, sizeof(cell), "- ");
		} else if (row && !isnan(row->shift_pct)) {
			snprintf(cell, sizeof(cell), "%+.1f%%%c", row->shift_pct,
				 ab_verdict_mark(row->v));
		} else {
			ab_fmt_num(num, sizeof(num), t->colw - 2, mean);
			snprintf(cell, sizeof(cell), "%s%c", num,
				 row ? ab_verdict_mark(row->v) : ' ');
		}
		ab_sb_printf(b, "%*s", t->colw, cell);
	}
	ab_sb_printf(b, "\n");
	for (int mi = 0; mi < ms->n; mi++)
		if (c->bench[mi] && ab_rep_oversubscribed(ab_results_find(r, c->bench[mi]))) {
			ab_sb_printf(b,
				     "  %-*s(oversubscribed: more threads than PUs; "
				     "not a fair comparison)\n",
				     t->lw, "");
			break;
		}
}

static void mode_table(struct ab_sb *b, const struct ab_results *r, const struct ab_cmp *cmp,
		       const struct ab_rep_modes *ms, const char *backend, const char *metric)
{
	struct cfg *c;
	char fixed[512];
	size_t n = collect_cfgs(r, backend, ms, &c, fixed, sizeof(fixed));
	struct table_fmt t = {.colw = 11, .lw = 6};
	bool any = false;

	for (size_t k = 0; k < n && !any; k++)
		for (int mi = 0; mi < ms->n && !any; mi++)
			any = c[k].bench[mi] &&
			      ab_bench_metric(ab_results_find(r, c[k].bench[mi]), metric);
	if (!any) {
		free(c);
		return;
	}
	for (size_t k = 0; k < n; k++)
		if ((int)strlen(c[k].label) > t.lw)
			t.lw = strlen(c[k].label);
	if (2 + t.lw + 12 * ms->n <= AB_REP_WIDTH)
		t.colw = 12;
	t.split = 2 + t.lw + t.colw * ms->n > AB_REP_WIDTH;
	if (t.split)
		t.lw = 6;
	table_title(b, ab_rep_any_metric(r, metric), metric, fixed);
	table_header(b, ms, &t);
	for (size_t k = 0; k < n; k++)
		table_row(b, r, cmp, ms, &c[k], metric, &t);
	ab_sb_printf(b, "\n");
	free(c);
}

/* The benchmarks of the summary: group @key at @vsel vCPUs, one per mode. */
static void summary_benches(const struct ab_results *r, const char *key, long vsel,
			    const struct ab_rep_modes *ms, const char **bench)
{
	for (size_t i = 0; i < r->nb; i++) {
		struct ab_name n;
		char g[512];
		int mi;

		if (ab_rep_group(r->b[i].name, g, sizeof(g)) && !strcmp(g, key) &&
		    ab_rep_vcpus(r->b[i].name) == vsel && ab_bench_name(r->b[i].name, &n) &&
		    (mi = ab_rep_mode_index(ms, n.mode)) >= 0)
			bench[mi] = r->b[i].name;
	}
}

static void summary_row(struct ab_sb *b, const struct ab_cmp *cmp, const struct ab_bench_res *bb,
			const char *mode, const char *const *met, int nmet)
{
	ab_sb_printf(b, "  %-14s", mode);
	for (int j = 0; j < nmet; j++) {
		const struct ab_cmp_row *row = ab_rep_cmp_lookup(cmp, bb->name, met[j]);
		char num[32], cell[48];
		double mean;

		const struct ab_metric *mm = ab_bench_metric(bb, met[j]);

		/* the median: the statistic the shift is a share of */
		if (!mm || !mm->n || isnan(mean = ab_median(mm->v, mm->n))) {
			ab_sb_printf(b, "%16s", "- ");
			continue;
		}
		ab_fmt_num(num, sizeof(num), 8, mean);
		/* the number, then a fixed-width " +NNN%m": numbers align */
		if (row && !isnan(row->shift_pct) && fabs(row->shift_pct) < 1e4)
			snprintf(cell, sizeof(cell), "%s %+4.0f%%%c", num, row->shift_pct,
				 ab_verdict_mark(row->v));
		else
			snprintf(cell, sizeof(cell), "%s      %c", num,
				 row ? ab_verdict_mark(row->v) : ' ');
		ab_sb_printf(b, "%16s", cell);
	}
	ab_sb_printf(b, "\n");
}

/*
 * Headline for a cover letter: the configuration of the figures at its
 * largest vCPU count, one row per mode, a few key metrics with the change
 * against the base mode.
 */
void ab_rep_summary(struct ab_sb *b, const struct ab_results *r, const struct ab_cmp *cmp,
		    const struct ab_rep_modes *ms)
{
	/* the first four measured; tails as stall shares (faults > 100 us,
	 * pooled within a repetition), not a mean of per-repetition p99s */
	static const char *const want[] = {"ns_per_page", "vcpu_blocked_frac", "fault_stall_frac",
					   "false_old",	  "lock_wait_ns",      "declines",
					   "fault_p99_ns"};
	char be[AB_REP_MAXBE][AB_NAME_TOKEN];
	int nbe = ab_rep_backends(r, be);

	for (int k = 0; k < nbe; k++) {
		char *key = ab_rep_dominant_group(r, be[k], "ns_per_page");
		const char *bench[AB_REP_MAXMODES] = {0}, *met[4];
		char sub[512], head[700];
		long vsel;
		int nmet = 0;

		if (!key)
			continue;
		vsel = ab_rep_max_vcpus(r, key);
		summary_benches(r, key, vsel, ms, bench);
		for (size_t w = 0; w < sizeof(want) / sizeof(want[0]) && nmet < 4; w++)
			for (int mi = 0; mi < ms->n; mi++)
				if (bench[mi] &&
				    ab_bench_metric(ab_results_find(r, bench[mi]), want[w])) {
					met[nmet++] = want[w];
					break;
				}
		ab_rep_subtitle(sub, sizeof(sub), key);
		snprintf(head, sizeof(head),
			 "%s, %ld vCPUs: median, then the shift against %s with the marks "
			 "explained below.",
			 sub, vsel < 0 ? 0 : vsel, ab_rep_base_mode());
		ab_sb_printf(b, "Summary%s%s\n", nbe > 1 ? " " : "", nbe > 1 ? be[k] : "");
		ab_sb_rule(b, '-');
		ab_sb_wrap(b, "", "", head);
		ab_sb_printf(b, "  %-14s", "mode");
		for (int j = 0; j < nmet; j++) /* 15 columns and a space */
			ab_sb_printf(b, " %15.15s",
				     !strcmp(met[j], "vcpu_blocked_frac") ? "vcpu_blocked"
									  : met[j]);
		ab_sb_printf(b, "\n");
		for (int mi = 0; mi < ms->n; mi++)
			if (bench[mi])
				summary_row(b, cmp, ab_results_find(r, bench[mi]), ms->name[mi],
					    met, nmet);
		ab_sb_printf(b, "\n");
		free(key);
	}
}

static void results_intro(struct ab_sb *b, const struct ab_results *r, const struct ab_cmp *cmp)
{
	size_t reps_min = (size_t)-1, reps_max = 0;
	char t[1024], reps[64];

	for (size_t i = 0; i < r->nb; i++) {
		if (r->b[i].nreps < reps_min)
			reps_min = r->b[i].nreps;
		if (r->b[i].nreps > reps_max)
			reps_max = r->b[i].nreps;
	}
	if (reps_min == reps_max)
		snprintf(reps, sizeof(reps), "%zu", reps_min);
	else
		snprintf(reps, sizeof(reps), "%zu-%zu", reps_min, reps_max);
	snprintf(t, sizeof(t),
		 "%zu benchmarks, %s repetitions each. Column '%s' gives the mean; "
		 "the other columns the shift against %s in the same configuration "
		 "(Hodges-Lehmann: the median of all pairwise differences, as %% of %s's "
		 "median). Significant: Mann-Whitney U, two-sided, p < %g after the "
		 "Benjamini-Hochberg correction within each metric (%zu tests in all), "
		 "and the shift's %g%% confidence interval "
		 "excludes +-%g%%. '+' significantly better than %s, '!' significantly "
		 "worse, '*' significant (no better direction), '?' fewer than %d "
		 "repetitions (no verdict); no mark: not significant.",
		 r->nb, reps, ab_rep_base_mode(), ab_rep_base_mode(), ab_rep_base_mode(),
		 cmp->opts.alpha, cmp->ntests, 100 * (1 - cmp->opts.alpha), cmp->opts.min_effect,
		 ab_rep_base_mode(), AB_CMP_MIN_REPS);
	ab_sb_wrap(b, "", "", t);
	if (cmp->p_unreachable) {
		snprintf(
		    t, sizeof(t),
		    "WARNING: metrics with only %zu samples per mode (repetitions, or a counter "
		    "missing in some) cannot reach p < %g (the smallest "
		    "possible p is 2/C(%zu,%zu) = %.2g) and are never marked significant: "
		    "rerun with more --reps (9 to detect small shifts).",
		    cmp->unreach_base, cmp->opts.alpha, cmp->unreach_base + cmp->unreach_new,
		    cmp->unreach_base, ab_cmp_min_p(cmp->unreach_base, cmp->unreach_new));
		ab_sb_wrap(b, "", "", t);
	}
	if (cmp->few_reps)
		ab_sb_wrap(b, "", "",
			   "WARNING: some benchmarks have fewer than 3 repetitions: rerun with "
			   "--reps 9 or more before drawing conclusions.");
	ab_sb_printf(b, "\n");
}

/* Is @m shown before (metric_order) or never (metric_skip) in the tables? */
static bool metric_listed(const char *m)
{
	if (!metric_wanted(m))
		return true;
	for (int q = 0; metric_order[q]; q++)
		if (!strcmp(metric_order[q], m))
			return true;
	return false;
}

void ab_rep_results(struct ab_sb *b, const char *title, const struct ab_results *r,
		    const struct ab_cmp *cmp, const struct ab_rep_modes *ms)
{
	char be[AB_REP_MAXBE][AB_NAME_TOKEN];
	int nbe;

	ab_sb_printf(b, "%s\n", title);
	ab_sb_rule(b, '-');
	results_intro(b, r, cmp);
	nbe = ab_rep_backends(r, be);
	for (int k = 0; k < nbe; k++) {
		const char *seen[64];
		int ns = 0;

		if (nbe > 1)
			ab_sb_printf(b, "[backend %s]\n\n", be[k]);
		for (int i = 0; metric_order[i]; i++)
			mode_table(b, r, cmp, ms, be[k], metric_order[i]);
		/* then any other counter, in file order */
		for (size_t i = 0; i < r->nb; i++)
			for (size_t j = 0; j < r->b[i].nm; j++) {
				const char *m = r->b[i].m[j].name;
				bool known = metric_listed(m);

				for (int q = 0; q < ns && !known; q++)
					known = !strcmp(seen[q], m);
				if (known || ns == 64)
					continue;
				seen[ns++] = m;
				mode_table(b, r, cmp, ms, be[k], m);
			}
	}
}

void ab_rep_schema_notes(struct ab_sb *b, const struct ab_results *r)
{
	char t[1024];

	if (!r->nundeclared && !r->nmismatch)
		return;
	snprintf(t, sizeof(t),
		 "Counters of %s checked against common/ab_counters.def (the tables use "
		 "the units and directions results.json records):",
		 r->path);
	ab_sb_wrap(b, "", "", t);
	for (size_t i = 0; i < r->nundeclared; i++) {
		snprintf(t, sizeof(t), "%s is undeclared (not in the schema)", r->undeclared[i]);
		ab_sb_wrap(b, "      ", "  -", t);
	}
	for (size_t i = 0; i < r->nmismatch; i++)
		ab_sb_wrap(b, "      ", "  -", r->mismatch[i]);
	ab_sb_printf(b, "\n");
}
