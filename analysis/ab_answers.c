// SPDX-License-Identifier: GPL-2.0
/*
 * ab_answers.c - the answer page's questions: each a few fixed comparisons
 * declared as data (cmp_defs[]), evaluated on the results at hand, Holm's
 * correction over the primaries, then the verdicts (see ab_answers.h).
 * The page's text, answers.json and the Q3 figure: ab_answers_out.c.
 */
#include "ab_answers.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ab_common.h"
#include "ab_stats.h"

/* ---- inputs ---------------------------------------------------------------- */

static const char *ctx(const struct ab_results *r, const char *k)
{
	const char *v = ab_results_context(r, k);

	return v ? v : "";
}

static bool patched(const struct ab_results *r)
{
	return !strncmp(ctx(r, "kvm_kernel"), "patched", 7) ||
	       !strncmp(ctx(r, "macro_kernel"), "patched", 7);
}

const char *ab_answers_trust(const struct ab_results *r)
{
	const char *be = ctx(r, "backend"), *pl = ctx(r, "platform");
	bool qemu = strstr(pl, "QEMU") != NULL, bare = !strcmp(pl, "bare metal");

	if (!strcmp(be, "model"))
		return "model (mechanism only, not a kernel)";
	if (!patched(r))
		return "kvm on a stock kernel (native aging only)";
	if (qemu)
		return "kvm in the TCG lab (function and ordering, not bare-metal speed)";
	if (bare)
		return "kvm on bare metal, patched kernel";
	return "kvm in a virtual machine, patched kernel";
}

/* Input ranks for an answer: bare metal, then a VM, then the lab, then the model. */
static int rank(const struct ab_results *r)
{
	const char *t = ab_answers_trust(r);

	if (strstr(t, "bare metal"))
		return 0;
	if (strstr(t, "virtual machine"))
		return 1;
	if (strstr(t, "TCG lab"))
		return 2;
	if (strstr(t, "stock"))
		return 4;
	return 3; /* model */
}

static bool oversubscribed(const struct ab_results *r, const char *name)
{
	json_t *bs = json_object_get(r->root, "benchmarks"), *b;
	size_t i;

	json_array_foreach(bs, i, b)
	{
		const char *rn = json_string_value(json_object_get(b, "run_name"));
		char *key = rn ? ab_bench_key(rn) : NULL;
		bool same = key && !strcmp(key, name);

		free(key);
		if (!same)
			continue;
		json_t *o = json_object_get(b, "oversubscribed");
		const char *label = json_string_value(json_object_get(b, "label"));

		/* the model marks such points with a counter of 1 and a label */
		if (json_is_true(o) || (json_is_number(o) && json_number_value(o) > 0) ||
		    (label && strstr(label, "oversubscribed")))
			return true;
	}
	return false;
}

/* ---- configurations ---------------------------------------------------------- */

/* What a comparison needs of a benchmark configuration. */
struct want {
	const char *backend; /* NULL: any */
	long shadow;	     /* -1 any, 0 none (or absent), > 0 some */
	long batch; /* -1 any; else the batch:N the name must have (absent = whole range) */
};

static bool matches(const struct ab_name *n, const struct want *w)
{
	long sh = ab_name_get_long(n, "shadow", 0), ba = ab_name_get_long(n, "batch", -2);

	if (w->backend && strcmp(n->backend, w->backend))
		return false;
	if (w->shadow == 0 && sh != 0)
		return false;
	if (w->shadow > 0 && sh <= 0)
		return false;
	if (w->batch >= 0 && ba != w->batch)
		return false;
	return true;
}

/* The benchmark of @mode in the configuration of @like (same name, other mode). */
static const struct ab_bench_res *partner(const struct ab_results *r, const struct ab_name *like,
					  const char *mode)
{
	struct ab_name n = *like;
	char buf[512];

	snprintf(n.mode, sizeof(n.mode), "%s", mode);
	n.suffix[0] = 0;
	if (ab_name_format(&n, false, buf, sizeof(buf)) < 0)
		return NULL;
	for (size_t i = 0; i < r->nb; i++) {
		char *k = ab_bench_key(r->b[i].name);
		bool same = k && !strcmp(k, buf);

		free(k);
		if (same)
			return oversubscribed(r, buf) ? NULL : &r->b[i];
	}
	return NULL;
}

/*
 * The configuration in which every mode of @modes was measured with
 * @metric, as @w wants, not oversubscribed: the one with the most vCPUs
 * (the most contention), 4K before 2M, then file order. Fills @n.
 */
static bool pick_config(const struct ab_results *r, const char *const *modes, int nmodes,
			const char *metric, const struct want *w, struct ab_name *out)
{
	long best_v = -2;
	bool best_4k = false, found = false;

	for (size_t i = 0; i < r->nb; i++) {
		struct ab_name n;
		bool all = true;

		if (!ab_bench_name(r->b[i].name, &n) || strcmp(n.mode, modes[0]) || !matches(&n, w))
			continue;
		for (int m = 0; m < nmodes && all; m++) {
			const struct ab_bench_res *b = partner(r, &n, modes[m]);
			all = b && ab_bench_metric(b, metric);
		}
		long v = ab_name_get_long(&n, "vcpus", -1);
		bool k4 = !strcmp(n.page, "4K");
		if (!all || v < best_v || (v == best_v && (best_4k || !k4)))
			continue;
		best_v = v;
		best_4k = k4;
		*out = n;
		found = true;
	}
	return found;
}

static void config_str(const struct ab_name *n, char *buf, size_t len)
{
	size_t o = (size_t)snprintf(buf, len, "%s %s", n->backend, n->page);

	for (int i = 0; i < n->nargs && o < len; i++)
		o += (size_t)snprintf(buf + o, len - o, " %s:%s", n->arg[i].key, n->arg[i].val);
}

static void setf(char *dst, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void setf(char *dst, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(dst, len, fmt, ap);
	va_end(ap);
}

static void not_answered(struct ab_answer *a, const char *missing, const char *cmd)
{
	a->answered = false;
	setf(a->missing, sizeof(a->missing), "%s", missing);
	setf(a->command, sizeof(a->command), "%s", cmd);
	setf(a->verdict, sizeof(a->verdict), "not answered: %s", missing);
}

/* Remove " --out DIR" (DIR maybe shell-quoted) from @s: where the results
 * went says nothing about how to reproduce them. */
static void strip_out(char *s)
{
	char *p = strstr(s, " --out ");

	if (!p)
		return;
	char *q = p + 7;
	if (*q == '\'') {
		char *end = strchr(q + 1, '\'');

		q = end ? end + 1 : q + strlen(q);
	} else {
		q += strcspn(q, " ");
	}
	memmove(p, q, strlen(q) + 1);
}

/* The command that made these results (as recorded, with the interleaving
 * seed, without --out), else the generic one for the backend. */
static const char *reproduce(const struct ab_ans_input *in)
{
	static char buf[8][400];
	static int k;
	char *s = buf[k++ & 7];
	const char *be = ctx(in->r, "backend");
	char *cmd = ab_results_command(in->r);

	if (cmd && !strncmp(cmd, "agebench ", 9)) {
		snprintf(s, 400, "%s", cmd);
		strip_out(s);
		free(cmd);
		return s;
	}
	free(cmd);
	if (!strcmp(be, "model"))
		snprintf(s, 400, "agebench run --quick");
	else if (!strcmp(be, "macro"))
		snprintf(s, 400, "agebench macro --quick --mode all");
	else
		snprintf(s, 400, "agebench run --backend kvm --quick%s%s",
			 *ctx(in->r, "driver") ? " --driver " : "", ctx(in->r, "driver"));
	return s;
}

/* The inputs in trust order (best first). */
static int order_inputs(const struct ab_ans_input *in, int nin, const struct ab_ans_input **o)
{
	int n = 0;

	for (int rk = 0; rk <= 4; rk++)
		for (int i = 0; i < nin; i++)
			if (rank(in[i].r) == rk && strcmp(ctx(in[i].r, "backend"), "macro"))
				o[n++] = &in[i];
	return n;
}

static const struct ab_ans_input *macro_input(const struct ab_ans_input *in, int nin)
{
	for (int i = 0; i < nin; i++)
		if (!strcmp(ctx(in[i].r, "backend"), "macro") && in[i].r->nb)
			return &in[i];
	return NULL;
}

/* ---- the comparisons, as data -------------------------------------------------- */

/* Which configuration a comparison reads. */
enum cfg_kind {
	CFG_MICRO,  /* no shadow ranges, per-PTE calls (batch 1) where measured */
	CFG_SHADOW, /* shadow ranges (where fast_only declines), batch 1 where measured */
	CFG_MACRO,  /* the macrobenchmark: fast_only and fast_or_locked (Q1) */
	CFG_MACRO3, /* the macrobenchmark: the waterfall's modes (Q3) */
	CFG_N
};

struct cmp_term {
	const char *mode;
	long batch; /* 0: the configuration's own call size */
	int coef;   /* contrast coefficient on log(value) (or value) */
};

struct cmp_def {
	int q; /* 0..3: Q1..Q4 */
	bool primary;
	enum cfg_kind cfg;
	const char *label;
	const char *metrics; /* '|'-separated: the first one measured */
	int nt;
	struct cmp_term t[AB_EFF_MAXTERMS];
	const char *unless; /* left out when the run measures this metric */
};

/* @nw at call size @nb against @base at @bb */
#define VS(nw, base, nb, bb)                                                                       \
	{                                                                                          \
		{(base), (bb), -1},                                                                \
		{                                                                                  \
			(nw), (nb), +1                                                             \
		}                                                                                  \
	}

/*
 * The fixed comparisons (docs/reporting.md "The answer page"): the
 * primaries first, before any data is read; Holm over every primary the
 * results measure. The Q3 steps at batch 1, the bitmap step from
 * fast_only@1 to bitmap@64 (what a look-around caller runs without and with
 * the bitmap); the step differences are the ratios of two steps' ratios
 * (below x1: the first step lowers the cost more).
 */
static const struct cmp_def cmp_defs[] = {
    /* Q1: total behaviour (macro) where fast_only declines */
    {0, true, CFG_MACRO, "fast_or_locked vs fast_only", "reclaim_cpu_s|vm_sys_cpu_s|kswapd_cpu_s",
     2, VS("fast_or_locked", "fast_only", 0, 0), NULL},
    {0, true, CFG_MACRO, "fast_or_locked vs fast_only", "refault_pages", 2,
     VS("fast_or_locked", "fast_only", 0, 0), NULL},
    {0, false, CFG_SHADOW, "fast_or_locked vs fast_only", "false_old", 2,
     VS("fast_or_locked", "fast_only", 0, 0), NULL},
    {0, false, CFG_SHADOW, "fast_or_locked vs fast_only", "ns_per_page_answered", 2,
     VS("fast_or_locked", "fast_only", 0, 0), NULL},
    {0, false, CFG_SHADOW, "fast_only vs locked", "ns_per_page", 2, VS("fast_only", "locked", 0, 0),
     NULL},
    /* Q2: each mode vs locked at the callers' granularity: cost, vCPU blocked */
    {1, true, CFG_MICRO, "read_locked", "ns_per_page", 2, VS("read_locked", "locked", 1, 1), NULL},
    {1, true, CFG_MICRO, "read_locked", "vcpu_blocked_frac|vcpu_lock_wait_ns", 2,
     VS("read_locked", "locked", 1, 1), NULL},
    {1, true, CFG_MICRO, "fast_only", "ns_per_page", 2, VS("fast_only", "locked", 1, 1), NULL},
    {1, true, CFG_MICRO, "fast_only", "vcpu_blocked_frac|vcpu_lock_wait_ns", 2,
     VS("fast_only", "locked", 1, 1), NULL},
    {1, true, CFG_MICRO, "fast_or_locked", "ns_per_page", 2, VS("fast_or_locked", "locked", 1, 1),
     NULL},
    {1, true, CFG_MICRO, "fast_or_locked", "vcpu_blocked_frac|vcpu_lock_wait_ns", 2,
     VS("fast_or_locked", "locked", 1, 1), NULL},
    {1, true, CFG_MICRO, "bitmap", "ns_per_page", 2, VS("bitmap", "locked", 1, 1), NULL},
    {1, true, CFG_MICRO, "bitmap", "vcpu_blocked_frac|vcpu_lock_wait_ns", 2,
     VS("bitmap", "locked", 1, 1), NULL},
    /* Q3: the steps (secondary), then the steps against each other (primary) */
    {2, false, CFG_MICRO, "locked -> read_locked", "ns_per_page", 2,
     VS("read_locked", "locked", 1, 1), NULL},
    {2, false, CFG_MICRO, "read_locked -> fast_only", "ns_per_page", 2,
     VS("fast_only", "read_locked", 1, 1), NULL},
    {2, false, CFG_MICRO, "fast_only@1 -> bitmap@64", "ns_per_page", 2,
     VS("bitmap", "fast_only", 64, 1), NULL},
    {2,
     true,
     CFG_MICRO,
     "lock type step / no lock",
     "ns_per_page",
     4,
     {{"read_locked", 1, +1}, {"locked", 1, -1}, {"fast_only", 1, -1}, {"read_locked", 1, +1}},
     NULL},
    {2,
     true,
     CFG_MICRO,
     "lock type step / bitmap",
     "ns_per_page",
     4,
     {{"read_locked", 1, +1}, {"locked", 1, -1}, {"bitmap", 64, -1}, {"fast_only", 1, +1}},
     NULL},
    {2,
     true,
     CFG_MICRO,
     "no lock step / bitmap",
     "ns_per_page",
     4,
     {{"fast_only", 1, +1}, {"read_locked", 1, -1}, {"bitmap", 64, -1}, {"fast_only", 1, +1}},
     NULL},
    {2, false, CFG_MACRO3, "macro locked -> read_locked", "refault_pages", 2,
     VS("read_locked", "locked", 0, 0), NULL},
    {2, false, CFG_MACRO3, "macro read_locked -> fast_only", "refault_pages", 2,
     VS("fast_only", "read_locked", 0, 0), NULL},
    {2, false, CFG_MACRO3, "macro fast_only -> bitmap", "refault_pages", 2,
     VS("bitmap", "fast_only", 0, 0), NULL},
    /* Q4: the bitmap's caller against the per-PTE caller; same call size beside */
    {3, true, CFG_MICRO, "bitmap@64 vs fast_only@1", "ns_per_page", 2,
     VS("bitmap", "fast_only", 64, 1), NULL},
    {3, false, CFG_MICRO, "bitmap@64 vs fast_only@64", "ns_per_page", 2,
     VS("bitmap", "fast_only", 64, 64), NULL},
};
#define NDEFS (int)(sizeof(cmp_defs) / sizeof(cmp_defs[0]))
#undef VS

/* The macro metrics of reclaim cost, in order of preference (first present wins):
 * kswapd + PSI stall; without PSI (the lab's guest) the VM processes' system
 * time, where memcg-limit (direct) reclaim runs; kswapd alone last. */
static const char *const macro_cost[] = {"reclaim_cpu_s", "vm_sys_cpu_s", "kswapd_cpu_s", NULL};

static const char *first_metric(const struct ab_results *r, const char *const *names)
{
	for (int i = 0; names[i]; i++)
		if (ab_rep_any_metric(r, names[i]))
			return names[i];
	return NULL;
}

/* The page's words for each question's primaries and rule (fixed, as the table). */
static const char *const rules[AB_ANS_N] = {
    "primary: macro reclaim CPU and refaults; micro rows secondary",
    "primary: ns_per_page, vcpu_blocked_frac (vCPU mmu_lock wait)",
    "primary: the steps against each other; the largest only if beyond both",
    "comparator fixed by rule; sizable = the whole 95% CI beyond x0.90",
};

/* ---- evaluating them --------------------------------------------------------------- */

/* The benchmark of @mode at call size @batch (0: @like's own) in @like's configuration. */
static const struct ab_bench_res *bench_at(const struct ab_results *r, const struct ab_name *like,
					   const char *mode, long batch)
{
	struct ab_name n = *like;
	char b[24];

	if (batch > 0) {
		snprintf(b, sizeof(b), "%ld", batch);
		if (ab_name_set(&n, "batch", b))
			return NULL;
	}
	return partner(r, &n, mode);
}

struct source {
	const struct ab_results *r; /* NULL: no such configuration */
	const struct ab_ans_input *in;
	struct ab_name n;
};

/* The best input's configuration of each kind. */
static void find_sources(const struct ab_ans_input *const *o, int no,
			 const struct ab_ans_input *mac, struct source s[CFG_N])
{
	static const char *const locked[] = {"locked"};
	static const char *const q1m[] = {"fast_only", "fast_or_locked"};

	memset(s, 0, sizeof(struct source) * CFG_N);
	for (int pass = 0; pass < 2 && !s[CFG_MICRO].r; pass++) {
		struct want w = {.shadow = 0, .batch = pass ? -1 : 1};

		for (int i = 0; i < no && !s[CFG_MICRO].r; i++)
			if (pick_config(o[i]->r, locked, 1, "ns_per_page", &w, &s[CFG_MICRO].n)) {
				s[CFG_MICRO].r = o[i]->r;
				s[CFG_MICRO].in = o[i];
			}
	}
	/* shadow ranges at batch 1, at any batch, else any configuration with
	 * accuracy (the lab: no shadow pages, no declines) */
	for (int pass = 0; pass < 3 && !s[CFG_SHADOW].r; pass++) {
		struct want w = {.shadow = pass < 2 ? 1 : -1, .batch = pass ? -1 : 1};

		for (int i = 0; i < no && !s[CFG_SHADOW].r; i++)
			if (pick_config(o[i]->r, q1m, 2, "false_old", &w, &s[CFG_SHADOW].n)) {
				s[CFG_SHADOW].r = o[i]->r;
				s[CFG_SHADOW].in = o[i];
			}
	}
	struct want any = {.shadow = -1, .batch = -1};
	const char *cost = mac ? first_metric(mac->r, macro_cost) : NULL;
	if (cost && pick_config(mac->r, q1m, 2, cost, &any, &s[CFG_MACRO].n)) {
		s[CFG_MACRO].r = mac->r;
		s[CFG_MACRO].in = mac;
	}
	static const char *const steps[] = {"locked", "read_locked", "fast_only", "bitmap"};
	if (mac && ab_rep_any_metric(mac->r, "refault_pages") &&
	    pick_config(mac->r, steps, 4, "refault_pages", &any, &s[CFG_MACRO3].n)) {
		s[CFG_MACRO3].r = mac->r;
		s[CFG_MACRO3].in = mac;
	}
}

/* The first of @d's metrics that @r measured. */
static const char *def_metric(const struct cmp_def *d, const struct ab_results *r, char *buf,
			      size_t len)
{
	const char *p = d->metrics;

	while (*p) {
		size_t l = strcspn(p, "|");

		snprintf(buf, len, "%.*s", (int)l, p);
		if (ab_rep_any_metric(r, buf))
			return buf;
		p += l + (p[l] == '|');
	}
	snprintf(buf, len, "%.*s", (int)strcspn(d->metrics, "|"), d->metrics);
	return NULL;
}

static void eval_def(struct ab_answer *a, const struct cmp_def *d, const struct source *s)
{
	struct ab_term t[AB_EFF_MAXTERMS];
	char metric[32];
	struct ab_ans_row *row;

	if (!s->r || a->nrows == AB_ANS_MAXROWS ||
	    (d->unless && ab_rep_any_metric(s->r, d->unless)))
		return;
	/* a secondary row of a metric the run does not have is left out */
	if (!def_metric(d, s->r, metric, sizeof(metric)) && !d->primary)
		return;
	row = &a->rows[a->nrows++];
	memset(row, 0, sizeof(*row));
	snprintf(row->label, sizeof(row->label), "%s", d->label);
	snprintf(row->metric, sizeof(row->metric), "%s", metric);
	config_str(&s->n, row->config, sizeof(row->config));
	row->primary = d->primary;
	for (int k = 0; k < d->nt; k++) {
		t[k].b = bench_at(s->r, &s->n, d->t[k].mode, d->t[k].batch);
		t[k].coef = d->t[k].coef;
	}
	row->e = ab_effect_contrast(t, d->nt, metric, s->r->rounds);
	const struct ab_metric *m = t[0].b ? ab_bench_metric(t[0].b, metric) : NULL;
	snprintf(row->unit, sizeof(row->unit), "%s", m && m->unit ? m->unit : "");
}

/* "N of M repetitions marked ..." for @r (nothing when it does not record host_interfered). */
static void host_line(const struct ab_results *r, char *buf, size_t len)
{
	size_t marked = 0, reps = 0, nl = 0;
	double *load = NULL;

	buf[0] = 0;
	for (size_t i = 0; r && i < r->nb; i++) {
		const struct ab_metric *m = ab_bench_metric(&r->b[i], "host_interfered");
		const struct ab_metric *l = ab_bench_metric(&r->b[i], "loadavg_1m");

		for (size_t k = 0; m && k < m->n; k++) {
			marked += m->v[k] > 0;
			reps++;
		}
		if (l && l->n) {
			load = realloc(load, (nl + l->n) * sizeof(*load));
			if (!load)
				abort();
			memcpy(load + nl, l->v, l->n * sizeof(*load));
			nl += l->n;
		}
	}
	if (reps)
		snprintf(buf, len,
			 "%zu/%zu repetitions host_interfered (a thread off-CPU > 2%%)%s%.2g",
			 marked, reps, nl ? ", median load " : "", nl ? ab_median(load, nl) : 0.0);
	free(load);
}

/* Holm over every measured primary of every question; then each row's decision. */
static void holm_primaries(struct ab_answer a[AB_ANS_N])
{
	double p[AB_ANS_N * AB_ANS_MAXROWS], adj[AB_ANS_N * AB_ANS_MAXROWS];
	struct ab_ans_row *rows[AB_ANS_N * AB_ANS_MAXROWS];
	size_t n = 0;

	for (int q = 0; q < AB_ANS_N; q++)
		for (int i = 0; i < a[q].nrows; i++)
			if (a[q].rows[i].primary && a[q].rows[i].e.ok && !isnan(a[q].rows[i].e.p)) {
				rows[n] = &a[q].rows[i];
				p[n++] = a[q].rows[i].e.p;
			}
	ab_holm(p, n, adj);
	for (size_t i = 0; i < n; i++) {
		rows[i]->e.p_adj = adj[i];
		ab_effect_decide(&rows[i]->e);
	}
}

int ab_answers_nprimary(const struct ab_answer a[AB_ANS_N])
{
	int n = 0;

	for (int q = 0; q < AB_ANS_N; q++)
		for (int i = 0; i < a[q].nrows; i++)
			n += a[q].rows[i].primary && !isnan(a[q].rows[i].e.p_adj);
	return n;
}

static struct ab_ans_row *row_of(struct ab_answer *a, const char *label, const char *metric)
{
	for (int i = 0; i < a->nrows; i++)
		if (!strcmp(a->rows[i].label, label) &&
		    (!metric || !strncmp(a->rows[i].metric, metric, strlen(metric))))
			return &a->rows[i];
	return NULL;
}

static bool lower(const struct ab_ans_row *r)
{
	return r && r->e.ok && r->e.significant && r->e.pct < 0;
}

/* ---- the verdicts ---------------------------------------------------------------- */

static void v1(struct ab_answer *a, const struct source *s, bool mac)
{
	struct ab_ans_row *rc = NULL, *ro = NULL;

	setf(a->basis, sizeof(a->basis),
	     "fast_or_locked (takes the write lock) vs fast_only (declines)");
	if (s[CFG_SHADOW].r)
		setf(a->source, sizeof(a->source), "micro: %s", ab_answers_trust(s[CFG_SHADOW].r));
	for (int i = 0; i < a->nrows; i++)
		if (a->rows[i].primary) { /* Q1's primaries are the macro rows */
			if (!strcmp(a->rows[i].metric, "refault_pages"))
				ro = &a->rows[i];
			else
				rc = &a->rows[i];
		}
	a->answered = rc && ro && rc->e.ok && ro->e.ok && isfinite(ro->e.hi) &&
		      (isfinite(rc->e.hi) || rc->e.base_med == 0);
	a->headline = ro ? (int)(ro - a->rows) : (a->nrows ? 0 : -1);
	if (a->answered) {
		bool better_outcome = lower(ro);
		bool costlier = rc->e.significant && rc->e.pct > 0;

		setf(a->verdict, sizeof(a->verdict), "%s",
		     better_outcome && !costlier ? "yes: fewer refaults at no significant cost"
		     : better_outcome		 ? "a trade: fewer refaults for more reclaim CPU"
		     : costlier			 ? "no: more reclaim CPU, no fewer refaults"
						 : "no significant difference in total behaviour");
		setf(a->command, sizeof(a->command), "%s", reproduce(s[CFG_MACRO].in));
		setf(a->source + strlen(a->source), sizeof(a->source) - strlen(a->source),
		     "%smacro: %s", a->source[0] ? "; " : "", ab_answers_trust(s[CFG_MACRO].r));
		return;
	}
	bool few =
	    (rc && rc->e.ok && !isfinite(rc->e.hi)) || (ro && ro->e.ok && !isfinite(ro->e.hi));
	/* the macro rows that could not be measured say nothing: drop them */
	if (!few)
		for (int i = a->nrows - 1; i >= 0; i--)
			if (a->rows[i].primary && !a->rows[i].e.ok) {
				memmove(&a->rows[i], &a->rows[i + 1],
					sizeof(a->rows[0]) * (size_t)(a->nrows - i - 1));
				a->nrows--;
			}
	a->headline = a->nrows ? 0 : -1;
	not_answered(a,
		     few   ? "the macro results have too few repetitions for a confidence interval"
		     : mac ? "the macro results lack fast_only/fast_or_locked reclaim CPU and "
			     "refaults"
			   : "total behaviour needs macro results (reclaim CPU, refaults)",
		     few ? "agebench macro --mode all --reps 9"
			 : "agebench macro --quick --mode all");
}

static void v2(struct ab_answer *a, const struct source *s)
{
	static const char *const modes[] = {"read_locked", "fast_only", "fast_or_locked", "bitmap"};
	int nmodes = 0, cheaper = 0, freer = 0, nblocked = 0;

	if (!s[CFG_MICRO].r) {
		a->nrows = 0;
		not_answered(a, "no results with locked and another mode", "agebench run --quick");
		return;
	}
	/* modes the run does not have are not rows */
	for (int i = a->nrows - 1; i >= 0; i--)
		if (!a->rows[i].e.ok && !strcmp(a->rows[i].e.why, "benchmark not in the results")) {
			memmove(&a->rows[i], &a->rows[i + 1],
				sizeof(a->rows[0]) * (size_t)(a->nrows - i - 1));
			a->nrows--;
		}
	for (int m = 0; m < 4; m++) {
		struct ab_ans_row *c = row_of(a, modes[m], "ns_per_page");
		struct ab_ans_row *b = row_of(a, modes[m], "vcpu_");

		nmodes += c != NULL;
		cheaper += lower(c);
		nblocked += b && b->e.ok;
		freer += lower(b);
	}
	if (!nmodes) {
		not_answered(a, "no mode besides locked in the same configuration",
			     "agebench run --quick");
		return;
	}
	a->answered = true;
	a->headline = 0;
	setf(a->basis, sizeof(a->basis),
	     "each mode vs locked at batch 1 (per PTE, as 6.12's callers)");
	setf(a->source, sizeof(a->source), "%s; locked = 6.12: the lab's A/A",
	     ab_answers_trust(s[CFG_MICRO].r));
	if (nblocked)
		setf(a->verdict, sizeof(a->verdict),
		     "%d of %d modes cost significantly less per page than locked; %d of %d "
		     "block the vCPUs significantly less",
		     cheaper, nmodes, freer, nblocked);
	else
		setf(a->verdict, sizeof(a->verdict),
		     "%d of %d modes cost significantly less per page than locked (no vCPU "
		     "blocked time in these results)",
		     cheaper, nmodes);
	setf(a->command, sizeof(a->command), "%s", reproduce(s[CFG_MICRO].in));
}

static void v3(struct ab_answer *a, const struct source *s)
{
	static const char *const step[] = {"lock type", "no lock", "bitmap"};
	struct ab_ans_row *d[3] = {row_of(a, "lock type step / no lock", NULL),
				   row_of(a, "lock type step / bitmap", NULL),
				   row_of(a, "no lock step / bitmap", NULL)};
	struct ab_ans_row *s1 = row_of(a, "locked -> read_locked", NULL);
	int largest = -1, nsteps = 0;

	for (int i = 0; i < a->nrows; i++)
		nsteps += !a->rows[i].primary && a->rows[i].e.ok &&
			  !strcmp(a->rows[i].metric, "ns_per_page");
	if (!s[CFG_MICRO].r || !s1 || !s1->e.ok) {
		a->nrows = 0;
		not_answered(a, "no configuration with locked, read_locked, fast_only and bitmap",
			     "agebench run --quick");
		return;
	}
	a->answered = true;
	setf(a->basis, sizeof(a->basis),
	     "locked@1 -> read_locked@1 (lock type) -> fast_only@1 (no lock) -> bitmap@64, "
	     "ns_per_page");
	if (s[CFG_MACRO3].r && row_of(a, "macro fast_only -> bitmap", "refault_pages"))
		setf(a->source, sizeof(a->source), "micro: %s; macro: %s",
		     ab_answers_trust(s[CFG_MICRO].r), ab_answers_trust(s[CFG_MACRO3].r));
	else
		setf(a->source, sizeof(a->source), "%s; no macro results",
		     ab_answers_trust(s[CFG_MICRO].r));
	/* step k is the largest when it is significantly below both others
	 * (d[i] = step a / step b: below x1 when a lowers the cost more) */
	bool sig_lt[3][3] = {{false}};
	static const int pa[3] = {0, 0, 1}, pb[3] = {1, 2, 2};
	for (int i = 0; i < 3; i++)
		if (d[i] && d[i]->e.significant) {
			if (d[i]->e.est < 1)
				sig_lt[pa[i]][pb[i]] = true;
			else
				sig_lt[pb[i]][pa[i]] = true;
		}
	for (int k = 0; k < 3; k++) {
		int wins = 0;

		for (int j = 0; j < 3; j++)
			wins += j != k && sig_lt[k][j];
		if (wins == 2)
			largest = k;
	}
	a->headline = largest >= 0 ? (int)(row_of(a,
						  largest == 0	 ? "locked -> read_locked"
						  : largest == 1 ? "read_locked -> fast_only"
								 : "fast_only@1 -> bitmap@64",
						  NULL) -
					   a->rows)
				   : 0;
	if (largest >= 0)
		setf(a->verdict, sizeof(a->verdict),
		     "the largest step is %s (x%.3g), significantly larger than each other step",
		     step[largest], a->rows[a->headline].e.est);
	else
		setf(a->verdict, sizeof(a->verdict),
		     "no step is significantly larger than both others (%d steps measured)",
		     nsteps);
	setf(a->command, sizeof(a->command), "%s", reproduce(s[CFG_MICRO].in));
}

static void v4(struct ab_answer *a, const struct source *s)
{
	struct ab_ans_row *row = row_of(a, "bitmap@64 vs fast_only@1", NULL);
	const struct ab_effect *e = row ? &row->e : NULL;
	double t = 1 - AB_ANS_SIZABLE / 100;

	setf(a->basis, sizeof(a->basis),
	     "bitmap@64 (one call per look-around window) vs fast_only@1 (one call per PTE: "
	     "the caller without the bitmap), ns_per_page");
	if (!s[CFG_MICRO].r || !e || !e->ok) {
		a->nrows = 0;
		not_answered(a, "no configuration with bitmap at batch 64 and fast_only at batch 1",
			     "agebench run --quick --batch 1,64");
		return;
	}
	a->headline = (int)(row - a->rows);
	setf(a->source, sizeof(a->source), "%s", ab_answers_trust(s[CFG_MICRO].r));
	setf(a->command, sizeof(a->command), "%s", reproduce(s[CFG_MICRO].in));
	if (!isfinite(e->hi) || e->lo <= 0) {
		not_answered(a, "too few repetitions for a confidence interval",
			     "agebench run --quick --reps 9");
		return;
	}
	a->answered = true;
	if (e->significant && e->hi <= t)
		setf(a->verdict, sizeof(a->verdict),
		     "sizable: x%.3g [x%.3g, x%.3g], the whole CI beyond x%.2f", e->est, e->lo,
		     e->hi, t);
	else if (e->lo > t)
		setf(a->verdict, sizeof(a->verdict),
		     "not sizable: x%.3g [x%.3g, x%.3g] does not reach x%.2f", e->est, e->lo, e->hi,
		     t);
	else if (e->hi <= t)
		setf(a->verdict, sizeof(a->verdict),
		     "undecided: x%.3g [x%.3g, x%.3g] is beyond x%.2f but not significant after "
		     "Holm (p %.2g, %zu %s; more --reps)",
		     e->est, e->lo, e->hi, t, e->p_adj, e->n, e->paired ? "pairs" : "reps");
	else
		setf(a->verdict, sizeof(a->verdict),
		     "undecided: x%.3g, CI [x%.3g, x%.3g] straddles x%.2f (more --reps)", e->est,
		     e->lo, e->hi, t);
}

void ab_answers_compute(const struct ab_ans_input *in, int nin, struct ab_answer a[AB_ANS_N])
{
	static const char *const ids[] = {"Q1", "Q2", "Q3", "Q4"};
	static const char *const who[] = {"Sean Christopherson", "Oliver Upton", "David Matlack",
					  "Oliver Upton"};
	static const char *const qs[] = {
	    "Is the accuracy of taking mmu_lock worth its cost?",
	    "One independent variable at a time: each mode against locked",
	    "What does each step buy: lock type, no lock, batching?",
	    "Does the bitmap give a sizable win?"};
	const struct ab_ans_input **o = calloc(nin + 1, sizeof(*o));
	int no = order_inputs(in, nin, o);
	struct source s[CFG_N];

	memset(a, 0, sizeof(*a) * AB_ANS_N);
	for (int q = 0; q < AB_ANS_N; q++) {
		a[q].id = ids[q];
		a[q].who = who[q];
		a[q].question = qs[q];
		a[q].headline = -1;
		setf(a[q].rule, sizeof(a[q].rule), "%s", rules[q]);
	}
	find_sources(o, no, macro_input(in, nin), s);
	for (int i = 0; i < NDEFS; i++)
		eval_def(&a[cmp_defs[i].q], &cmp_defs[i], &s[cmp_defs[i].cfg]);
	holm_primaries(a);
	for (int q = 0; q < AB_ANS_N; q++) {
		enum cfg_kind k = q == 0 ? (s[CFG_MACRO].r ? CFG_MACRO : CFG_SHADOW) : CFG_MICRO;

		host_line(s[k].r, a[q].host, sizeof(a[q].host));
	}
	v1(&a[0], s, macro_input(in, nin) != NULL);
	v2(&a[1], s);
	v3(&a[2], s);
	v4(&a[3], s);
	free(o);
}
