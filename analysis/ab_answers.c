// SPDX-License-Identifier: GPL-2.0
/*
 * ab_answers.c - the answer page: the four reviewer questions answered from
 * controlled comparisons (see ab_answers.h), as text and as answers.json.
 */
#include "ab_answers.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ab_common.h"
#include "ab_stats.h"

#define ALPHA 0.05

static void pct_str(double v, char *buf, size_t len);

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

/* ---- effects ---------------------------------------------------------------- */

struct ab_effect ab_answers_effect(const struct ab_bench_res *bb, const struct ab_bench_res *nb,
				   const char *metric)
{
	const struct ab_metric *x = bb ? ab_bench_metric(bb, metric) : NULL;
	const struct ab_metric *y = nb ? ab_bench_metric(nb, metric) : NULL;
	struct ab_effect e = {.pct = NAN, .lo = NAN, .hi = NAN, .p = NAN};
	double sh, lo, hi;

	if (!x || !y || !x->n || !y->n)
		return e;
	e.ok = true;
	e.n_base = x->n;
	e.n_new = y->n;
	e.base_med = ab_median(x->v, x->n);
	e.p = ab_mann_whitney(x->v, x->n, y->v, y->n, NULL, NULL);
	if (ab_hodges_lehmann(x->v, x->n, y->v, y->n, 1 - ALPHA, &sh, &lo, &hi) && isnan(sh))
		return e;
	ab_shift_feasible(x->v, x->n, y->v, y->n, &lo);
	if (e.base_med != 0) {
		double s = 100 / fabs(e.base_med);

		e.pct = sh * s;
		e.lo = lo * s;
		e.hi = hi * s;
	}
	e.significant = e.p < ALPHA && isfinite(e.lo) && isfinite(e.hi) &&
			(e.lo > AB_ANS_MIN_EFFECT || e.hi < -AB_ANS_MIN_EFFECT);
	return e;
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

/* Add a row: @metric of @mode against @base in configuration @n. */
static struct ab_ans_row *add_row(struct ab_answer *a, const struct ab_results *r,
				  const struct ab_name *n, const char *base, const char *mode,
				  const char *metric, const char *label)
{
	struct ab_ans_row *row;

	if (a->nrows == AB_ANS_MAXROWS)
		return NULL;
	row = &a->rows[a->nrows++];
	snprintf(row->label, sizeof(row->label), "%s", label);
	snprintf(row->metric, sizeof(row->metric), "%s", metric);
	config_str(n, row->config, sizeof(row->config));
	row->e = ab_answers_effect(partner(r, n, base), partner(r, n, mode), metric);
	return row;
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

/* ---- the questions ----------------------------------------------------------- */

/* The macro metrics Q1 and Q3 read, in order of preference (first present wins). */
/* reclaim CPU: kswapd + PSI stall; without PSI (the lab's guest) the VM
 * processes' system time, where memcg-limit (direct) reclaim runs; kswapd
 * alone last (limit reclaim rarely wakes it) */
static const char *const macro_cost[] = {"reclaim_cpu_s", "vm_sys_cpu_s", "kswapd_cpu_s", NULL};
static const char *const macro_outcome[] = {"refault_pages", NULL};

static const char *first_metric(const struct ab_results *r, const char *const *names)
{
	for (int i = 0; names[i]; i++)
		if (ab_rep_any_metric(r, names[i]))
			return names[i];
	return NULL;
}

static void q1(struct ab_answer *a, const struct ab_ans_input *const *o, int no,
	       const struct ab_ans_input *mac)
{
	static const char *const modes[] = {"fast_only", "fast_or_locked", "locked"};
	struct want w = {.backend = NULL, .shadow = 1, .batch = -1};
	struct ab_name n;
	const struct ab_ans_input *src = NULL;

	/* shadow ranges (the model: where fast_only declines), else any
	 * configuration with accuracy (the lab: no shadow pages, no declines) */
	for (int pass = 0; pass < 2 && !src; pass++, w.shadow = -1)
		for (int i = 0; i < no && !src; i++)
			if (pick_config(o[i]->r, modes, 3, "false_old", &w, &n))
				src = o[i];
	setf(a->basis, sizeof(a->basis),
	     "fast_or_locked (takes the write lock) vs fast_only (declines) where KVM "
	     "cannot be lockless");
	if (src) {
		add_row(a, src->r, &n, "fast_only", "fast_or_locked", "false_old",
			"fast_or_locked vs fast_only");
		add_row(a, src->r, &n, "fast_only", "fast_or_locked", "ns_per_page",
			"fast_or_locked vs fast_only");
		add_row(a, src->r, &n, "locked", "fast_only", "ns_per_page", "fast_only vs locked");
		setf(a->source, sizeof(a->source), "micro: %s", ab_answers_trust(src->r));
	}
	const char *cost = mac ? first_metric(mac->r, macro_cost) : NULL;
	const char *out = mac ? first_metric(mac->r, macro_outcome) : NULL;
	struct ab_name mn;
	struct want any = {.shadow = -1, .batch = -1};

	if (cost && out && pick_config(mac->r, modes, 2, cost, &any, &mn)) {
		struct ab_ans_row *rc = add_row(a, mac->r, &mn, "fast_only", "fast_or_locked", cost,
						"macro: fast_or_locked vs fast_only");
		struct ab_ans_row *ro = add_row(a, mac->r, &mn, "fast_only", "fast_or_locked", out,
						"macro: fast_or_locked vs fast_only");
		/* an answer needs both effects with a confidence interval */
		a->answered = rc && ro && rc->e.ok && ro->e.ok && isfinite(ro->e.lo) &&
			      (isfinite(rc->e.lo) || rc->e.base_med == 0);
		a->headline = a->nrows - 1;
		if (a->answered) {
			bool better_outcome = ro->e.significant && ro->e.pct < 0;
			bool costlier = rc->e.significant && rc->e.pct > 0;

			setf(a->verdict, sizeof(a->verdict), "%s",
			     better_outcome && !costlier
				 ? "yes: fewer refaults at no significant cost"
			     : better_outcome ? "a trade: fewer refaults for more reclaim CPU"
			     : costlier	      ? "no: more reclaim CPU, no fewer refaults"
					      : "no significant difference in total behaviour");
			setf(a->command, sizeof(a->command), "%s", reproduce(mac));
			setf(a->source + strlen(a->source), sizeof(a->source) - strlen(a->source),
			     "%smacro: %s", a->source[0] ? "; " : "", ab_answers_trust(mac->r));
			return;
		}
	}
	bool few = false;
	for (int i = 0; i < a->nrows; i++)
		few |= !strncmp(a->rows[i].label, "macro:", 6) && a->rows[i].e.ok &&
		       !isfinite(a->rows[i].e.lo) && a->rows[i].e.base_med != 0;
	not_answered(a,
		     few   ? "the macro results have too few repetitions for a confidence interval"
		     : mac ? "the macro results lack fast_only/fast_or_locked reclaim CPU and "
			     "refaults"
			   : "total behaviour needs macro results (reclaim CPU, refaults)",
		     few ? "agebench macro --mode all --reps 5"
			 : "agebench macro --quick --mode all");
	a->headline = src ? 0 : -1;
}

/*
 * Q2's row of the contended phase's mmu_lock wait of @mode against locked,
 * where both report it (a lock-free walker of the model has no such
 * counter). A mode that waited 0 in every repetition while locked waited
 * goes into @zero, one note line for all of them, not a row of -100% each.
 */
static void q2_lock_wait(struct ab_answer *a, const struct ab_results *r, const struct ab_name *n,
			 const struct ab_metric *mb, const char *mode, char *zero, size_t zlen)
{
	const struct ab_bench_res *pm = partner(r, n, mode);
	const struct ab_metric *mm = pm ? ab_bench_metric(pm, "lock_wait_ns") : NULL;
	bool all_zero = mm && mm->n;

	if (!mb || !mm)
		return;
	for (size_t i = 0; all_zero && i < mm->n; i++)
		all_zero = mm->v[i] == 0;
	if (all_zero && ab_median(mb->v, mb->n) > 0) {
		size_t o = strlen(zero);

		snprintf(zero + o, zlen - o, "%s%s", o ? ", " : "", mode);
		return;
	}
	add_row(a, r, n, "locked", mode, "lock_wait_ns", mode);
}

static void q2(struct ab_answer *a, const struct ab_ans_input *const *o, int no)
{
	char zero[160] = "";
	struct want w = {.shadow = 0, .batch = 1};
	const char *const base[] = {"locked"};
	struct ab_name n;
	const struct ab_ans_input *src = NULL;

	for (int pass = 0; pass < 2 && !src; pass++, w.batch = -1)
		for (int i = 0; i < no && !src; i++)
			if (pick_config(o[i]->r, base, 1, "ns_per_page", &w, &n))
				src = o[i];
	if (!src) {
		not_answered(a, "no results with locked and another mode", "agebench run --quick");
		return;
	}
	/* locked's lock wait, the base of every mode's (NULL: not reported) */
	const struct ab_bench_res *lb = partner(src->r, &n, "locked");
	const struct ab_metric *lw = lb ? ab_bench_metric(lb, "lock_wait_ns") : NULL;
	for (int m = 0; m < AB_MODE_NR; m++) {
		const struct ab_mode *md = &ab_mode_table[m];

		if (md->id == AB_MODE_LOCKED || !(md->where & AB_IN_KERNEL) ||
		    !partner(src->r, &n, md->name))
			continue;
		add_row(a, src->r, &n, "locked", md->name, "ns_per_page", md->name);
		add_row(a, src->r, &n, "locked", md->name, "vcpu_rel", md->name);
		q2_lock_wait(a, src->r, &n, lw, md->name, zero, sizeof(zero));
	}
	if (zero[0]) { /* only where locked has the counter (q2_lock_wait) */
		double med = ab_median(lw->v, lw->n);

		setf(a->note, sizeof(a->note),
		     "lock_wait_ns 0 in every rep of %s (locked: median %.3g %s)", zero,
		     med >= 1e6	  ? med / 1e6
		     : med >= 1e3 ? med / 1e3
				  : med,
		     med >= 1e6	  ? "ms"
		     : med >= 1e3 ? "us"
				  : "ns");
	}
	if (!a->nrows) {
		not_answered(a, "no mode besides locked in the same configuration",
			     "agebench run --quick");
		return;
	}
	a->answered = true;
	a->headline = 0;
	setf(a->basis, sizeof(a->basis), "each mode vs locked, one variable at a time");
	setf(a->source, sizeof(a->source), "%s; locked = 6.12 needs the lab's A/A test",
	     ab_answers_trust(src->r));
	int nmodes = 0, better = 0;
	for (int i = 0; i < a->nrows; i++) {
		if (strcmp(a->rows[i].metric, "ns_per_page"))
			continue;
		nmodes++;
		better += a->rows[i].e.significant && a->rows[i].e.pct < 0;
	}
	setf(a->verdict, sizeof(a->verdict),
	     "%d of %d modes cost significantly less per page than locked", better, nmodes);
	setf(a->command, sizeof(a->command), "%s", reproduce(src));
}

/* Q3's waterfall on the macro outcome (refaults), under its own "at: macro"
 * line: the same step labels, metric refault_pages. */
static bool q3_macro(struct ab_answer *a, const struct ab_ans_input *mac, const char *const *steps)
{
	const char *out = mac ? first_metric(mac->r, macro_outcome) : NULL;
	struct want any = {.shadow = -1, .batch = -1};
	struct ab_name mn;

	if (!out || !pick_config(mac->r, steps, 4, out, &any, &mn))
		return false;
	for (int s = 1; s < 4; s++) {
		char lab[48];

		snprintf(lab, sizeof(lab), "%s -> %s", steps[s - 1], steps[s]);
		add_row(a, mac->r, &mn, steps[s - 1], steps[s], out, lab);
	}
	return true;
}

static void q3(struct ab_answer *a, const struct ab_ans_input *const *o, int no,
	       const struct ab_ans_input *mac)
{
	static const char *const steps[] = {"locked", "read_locked", "fast_only", "bitmap"};
	static const long batches[] = {1, 64, -1};
	const struct ab_ans_input *src = NULL;

	for (int b = 0; b < 3; b++) {
		struct want w = {.shadow = 0, .batch = batches[b]};
		struct ab_name n;

		if (b == 2 && a->nrows)
			break; /* batch 1/64 found: no whole-range fallback */
		for (int i = 0; i < no; i++) {
			if (!pick_config(o[i]->r, steps, 4, "ns_per_page", &w, &n))
				continue;
			for (int s = 1; s < 4; s++) {
				char lab[40];

				snprintf(lab, sizeof(lab), "%s -> %s", steps[s - 1], steps[s]);
				add_row(a, o[i]->r, &n, steps[s - 1], steps[s], "ns_per_page", lab);
			}
			src = src ? src : o[i];
			break;
		}
	}
	if (!src) {
		not_answered(a, "no configuration with locked, read_locked, fast_only and bitmap",
			     "agebench run --quick");
		return;
	}
	a->answered = true;
	a->headline = 0;
	setf(a->basis, sizeof(a->basis),
	     "waterfall locked -> read_locked (lock type) -> fast_only (no lock) -> bitmap "
	     "(batching), ns_per_page, each step against the previous");
	int nmicro = a->nrows;
	if (q3_macro(a, mac, steps))
		setf(a->source, sizeof(a->source), "micro: %s; macro: %s", ab_answers_trust(src->r),
		     ab_answers_trust(mac->r));
	else
		setf(a->source, sizeof(a->source), "%s; macro outcome: not in these results",
		     ab_answers_trust(src->r));
	/* the verdict names the largest micro step; the macro rows stand beside it */
	double best = 0;
	int bi = 0;
	for (int i = 0; i < nmicro; i++)
		if (a->rows[i].e.significant && a->rows[i].e.pct < best) {
			best = a->rows[i].e.pct;
			bi = i;
		}
	a->headline = bi;
	if (best < 0)
		setf(a->verdict, sizeof(a->verdict), "the largest step is %s (%+.1f%%, %s)",
		     a->rows[bi].label, best, a->rows[bi].config);
	else
		setf(a->verdict, sizeof(a->verdict), "no step lowers the cost significantly");
	setf(a->command, sizeof(a->command), "%s", reproduce(src));
}

static void q4(struct ab_answer *a, const struct ab_ans_input *const *o, int no)
{
	const struct ab_ans_input *src = NULL;
	struct ab_name n;

	for (int b = 0; b < 2 && !src; b++) {
		struct want w = {.shadow = 0, .batch = b ? -1 : 64};

		for (int i = 0; i < no && !src; i++) {
			const char *need[] = {"bitmap", "locked"};

			if (pick_config(o[i]->r, need, 2, "ns_per_page", &w, &n))
				src = o[i];
		}
	}
	if (!src) {
		not_answered(a, "no configuration with bitmap and locked", "agebench run --quick");
		return;
	}
	/* the best non-bitmap mode (a kernel mode of the table that answers whole
	 * calls, not windows): lowest median ns_per_page in this configuration */
	const char *best = NULL;
	double bm = INFINITY;
	for (int i = 0; i < AB_MODE_NR; i++) {
		const struct ab_mode *md = &ab_mode_table[i];
		const struct ab_bench_res *b;
		const struct ab_metric *m;

		if (!(md->where & AB_IN_KERNEL) || md->decline == AB_DECLINE_WINDOW)
			continue;
		b = partner(src->r, &n, md->name);
		m = b ? ab_bench_metric(b, "ns_per_page") : NULL;
		double med = m && m->n ? ab_median(m->v, m->n) : INFINITY;

		if (med < bm) {
			bm = med;
			best = md->name;
		}
	}
	char lab[40];
	snprintf(lab, sizeof(lab), "bitmap vs %s", best);
	struct ab_ans_row *row = add_row(a, src->r, &n, best, "bitmap", "ns_per_page", lab);
	a->headline = 0;
	a->answered = row && row->e.ok && isfinite(row->e.lo);
	setf(a->basis, sizeof(a->basis),
	     "bitmap vs the best non-bitmap mode (%s), ns_per_page; sizable = an improvement of "
	     "at least %.0f%%, the whole 95%% CI beyond it",
	     best, AB_ANS_SIZABLE);
	setf(a->source, sizeof(a->source), "%s", ab_answers_trust(src->r));
	setf(a->command, sizeof(a->command), "%s", reproduce(src));
	if (!a->answered) {
		not_answered(a, "too few repetitions for a confidence interval",
			     "agebench run --quick --reps 9");
		return;
	}
	const struct ab_effect *e = &row->e;
	char p[16], lo[16], hi[16];
	pct_str(e->pct, p, sizeof(p));
	pct_str(e->lo, lo, sizeof(lo));
	pct_str(e->hi, hi, sizeof(hi));
	if (e->hi <= -AB_ANS_SIZABLE)
		setf(a->verdict, sizeof(a->verdict), "sizable: %s%% (CI %s..%s%%), beyond -%.0f%%",
		     p, lo, hi, AB_ANS_SIZABLE);
	else if (e->lo > -AB_ANS_SIZABLE)
		setf(a->verdict, sizeof(a->verdict),
		     "not sizable: %s%% (CI %s..%s%%) does not reach -%.0f%%", p, lo, hi,
		     AB_ANS_SIZABLE);
	else
		setf(a->verdict, sizeof(a->verdict),
		     "undecided: CI %s..%s%% straddles -%.0f%% (more --reps)", lo, hi,
		     AB_ANS_SIZABLE);
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

	memset(a, 0, sizeof(*a) * AB_ANS_N);
	for (int q = 0; q < AB_ANS_N; q++) {
		a[q].id = ids[q];
		a[q].who = who[q];
		a[q].question = qs[q];
		a[q].headline = -1;
	}
	q1(&a[0], o, no, macro_input(in, nin));
	q2(&a[1], o, no);
	q3(&a[2], o, no, macro_input(in, nin));
	q4(&a[3], o, no);
	free(o);
}

/* ---- text ------------------------------------------------------------------- */

/* "@label@text" wrapped at @width, continuation lines indented to the label. */
static void wrap(struct ab_sb *b, int width, const char *label, const char *text)
{
	int ind = (int)strlen(label), col = ind;
	const char *p = text;

	ab_sb_printf(b, "%s", label);
	while (*p) {
		const char *e = p;

		while (*e && *e != ' ')
			e++;
		int wl = (int)(e - p);
		if (col > ind && col + 1 + wl > width) {
			ab_sb_printf(b, "\n%*s", ind, "");
			col = ind;
		}
		ab_sb_printf(b, "%s%.*s", col > ind ? " " : "", wl, p);
		col += (col > ind ? 1 : 0) + wl;
		p = *e ? e + 1 : e;
	}
	ab_sb_printf(b, "\n");
}

/* A percentage in at most 7 characters: +12.3, -100, >+9999. */
static void pct_str(double v, char *buf, size_t len)
{
	if (v > 9999)
		snprintf(buf, len, ">+9999");
	else if (v < -9999)
		snprintf(buf, len, "<-9999");
	else if (fabs(v) >= 100)
		snprintf(buf, len, "%+.0f", v);
	else
		snprintf(buf, len, "%+.1f", v);
}

static void effect_str(const struct ab_effect *e, char *buf, size_t len)
{
	char p[16], lo[16], hi[16];

	pct_str(e->pct, p, sizeof(p));
	pct_str(e->lo, lo, sizeof(lo));
	pct_str(e->hi, hi, sizeof(hi));
	if (!e->ok)
		snprintf(buf, len, "n/a");
	else if (isnan(e->pct))
		snprintf(buf, len, "base median 0");
	else if (!isfinite(e->lo))
		snprintf(buf, len, "%s%% (CI n/a, %zu/%zu reps)", p, e->n_base, e->n_new);
	else
		snprintf(buf, len, "%s%% [%s, %s]%s", p, lo, hi, e->significant ? " *" : "");
}

/* Q@q's command, or "as Qn" when an earlier answer ran the same (the
 * page's length: the lab's commands take three lines each). */
static const char *run_line(const struct ab_answer a[AB_ANS_N], int q, char *buf, size_t len)
{
	for (int p = 0; p < q; p++)
		if (!strcmp(a[p].command, a[q].command)) {
			snprintf(buf, len, "as %s", a[p].id);
			return buf;
		}
	return a[q].command;
}

void ab_answers_text(struct ab_sb *b, const struct ab_answer a[AB_ANS_N], int width)
{
	ab_sb_printf(b, "Answers to the reviewers' questions\n");
	for (int i = 0; i < width; i++)
		ab_sb_printf(b, "-");
	ab_sb_printf(b, "\n");
	wrap(b, width, "",
	     "Effects: Hodges-Lehmann shift, % of the baseline's median, [95% CI]; "
	     "* = significant (Mann-Whitney p < 0.05 and the CI excludes +-2%).");
	for (int q = 0; q < AB_ANS_N; q++) {
		const struct ab_answer *x = &a[q];
		char line[300];

		snprintf(line, sizeof(line), "%s (%s) %s", x->id, x->who, x->question);
		ab_sb_printf(b, "\n");
		wrap(b, width, "", line);
		if (x->basis[0])
			wrap(b, width, "  basis:   ", x->basis);
		if (x->source[0])
			wrap(b, width, "  source:  ", x->source);
		for (int r = 0; r < x->nrows; r++) {
			char eff[96];

			/* the configuration, each time it changes (Q3: batch 1, then 64) */
			if (!r || strcmp(x->rows[r].config, x->rows[r - 1].config))
				wrap(b, width, "  at:      ", x->rows[r].config);
			effect_str(&x->rows[r].e, eff, sizeof(eff));
			snprintf(line, sizeof(line), "%-30s %-12s %s", x->rows[r].label,
				 x->rows[r].metric, eff);
			wrap(b, width, "    ", line);
		}
		if (x->note[0])
			wrap(b, width, "  note:    ", x->note);
		wrap(b, width, "  verdict: ", x->verdict);
		if (x->command[0])
			wrap(b, width, "  run:     ", run_line(a, q, line, sizeof(line)));
	}
	ab_sb_printf(b, "\n");
}

/* ---- json ------------------------------------------------------------------- */

static json_t *num_or_null(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

static json_t *effect_json(const struct ab_ans_row *r)
{
	return json_pack("{s:s, s:s, s:s, s:b, s:o, s:[o, o], s:o, s:b, s:I, s:I}", "label",
			 r->label, "metric", r->metric, "config", r->config, "measured", r->e.ok,
			 "shift_pct", num_or_null(r->e.pct), "ci_pct", num_or_null(r->e.lo),
			 num_or_null(r->e.hi), "p", num_or_null(r->e.p), "significant",
			 r->e.significant, "reps_base", (json_int_t)r->e.n_base, "reps_new",
			 (json_int_t)r->e.n_new);
}

json_t *ab_answers_json(const struct ab_answer a[AB_ANS_N])
{
	json_t *o = json_object();

	for (int q = 0; q < AB_ANS_N; q++) {
		const struct ab_answer *x = &a[q];
		json_t *rows = json_array();

		for (int r = 0; r < x->nrows; r++)
			json_array_append_new(rows, effect_json(&x->rows[r]));
		json_object_set_new(
		    o, x->id,
		    json_pack("{s:s, s:s, s:b, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o}", "who",
			      x->who, "question", x->question, "answered", x->answered, "verdict",
			      x->verdict, "note", x->note, "basis", x->basis, "source", x->source,
			      "missing", x->missing, "command", x->command, "headline",
			      x->headline >= 0 && x->headline < x->nrows
				  ? effect_json(&x->rows[x->headline])
				  : json_null(),
			      "rows", rows));
	}
	return o;
}

/* ---- the Q3 waterfall figure -------------------------------------------------- */

void ab_answers_waterfall(struct ab_figs *f, const struct ab_answer a[AB_ANS_N])
{
	static const char *const bar_colours[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd"};
	const struct ab_answer *q = &a[2];
	const char *file = "figures/answers_q3_waterfall.png";
	const char *what = "Q3 waterfall: what each step buys in ns_per_page";
	struct ab_sb d = {0}, vars = {0}, blocks = {0}, colours = {0};
	char data[4400], why[512] = "";
	int nb = 0;

	if (!q->answered || q->nrows < 3) {
		ab_fig_note(f, file, what, "Q3 not answered: %s", q->missing);
		return;
	}
	/* three rows (steps) per configuration, in order; the figure is the
	 * micro cost (the macro outcome's rows have their own metric) */
	for (int i = 0; i + 2 < q->nrows && nb < 4; i += 3, nb++) {
		double cum = 0;
		const char *batch = "whole";

		if (strcmp(q->rows[i].metric, "ns_per_page")) {
			nb--;
			continue;
		}
		if (strstr(q->rows[i].config, "batch:"))
			batch = strstr(q->rows[i].config, "batch:");
		ab_sb_printf(&d, "%s# batch %.20s: step label pct lo hi cumulative\n",
			     nb ? "\n\n" : "", batch);
		for (int s = 0; s < 3; s++) {
			const struct ab_effect *e = &q->rows[i + s].e;
			double p = isfinite(e->pct) ? e->pct : 0;

			cum = ((1 + cum / 100) * (1 + p / 100) - 1) * 100;
			ab_sb_printf(&d, "%d \"%s\" %.4f %.4f %.4f %.4f\n", s + 1,
				     q->rows[i + s].label, p, isfinite(e->lo) ? e->lo : p,
				     isfinite(e->hi) ? e->hi : p, cum);
		}
		char w[40];
		snprintf(w, sizeof(w), "%.20s", batch);
		for (char *c = w; *c; c++)
			if (*c == ' ')
				*c = '_';
		ab_sb_printf(&blocks, "%s%s", nb ? " " : "", w);
		ab_sb_printf(&colours, "%s%s", nb ? " " : "", bar_colours[nb]);
	}
	snprintf(data, sizeof(data), "%s/data/answers_q3_waterfall.dat", f->dir);
	if (ab_write_atomic(data, d.s, d.len)) {
		ab_fig_note(f, file, what, "cannot write %.400s", data);
	} else {
		ab_gp_var(&vars, "fig_title",
			  "Q3: what each step buys (ns_per_page, shift vs the previous mode)");
		ab_gp_var(&vars, "fig_xlabel", "step");
		ab_gp_var(&vars, "fig_ylabel", "% change of ns per page (lower is better)");
		ab_gp_var(&vars, "subtitle", q->source);
		ab_gp_var(&vars, "blocks", blocks.s);
		ab_gp_var(&vars, "colours", colours.s);
		ab_gp_var(&vars, "modes", "");
		ab_gp_var(&vars, "points", "");
		ab_gp_var(&vars, "dashes", "");
		if (ab_gnuplot_run(f, "waterfall", "answers_q3_waterfall", data, &vars, why,
				   sizeof(why)))
			ab_fig_note(f, file, what, "%s", why);
		else
			ab_fig_note(f, file, what, NULL);
	}
	free(d.s);
	free(vars.s);
	free(blocks.s);
	free(colours.s);
}
