// SPDX-License-Identifier: GPL-2.0
/*
 * ab_answers_out.c - the answer page as text (report.txt, the cover letter),
 * as answers.json, and the Q3 waterfall figure.
 */
#include "ab_answers.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ab_common.h"

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
	char head[400];

	ab_sb_printf(b, "Answers to the reviewers' questions\n");
	for (int i = 0; i < width; i++)
		ab_sb_printf(b, "-");
	ab_sb_printf(b, "\n");
	snprintf(head, sizeof(head),
		 "Effects: ratio new/base or difference [95%% CI], paired in rounds (~ not); "
		 "P = primary (Holm over %d), * = significant; ! = two regimes.",
		 ab_answers_nprimary(a));
	wrap(b, width, "", head);
	for (int q = 0; q < AB_ANS_N; q++) {
		const struct ab_answer *x = &a[q];
		char line[300];

		snprintf(line, sizeof(line), "%s (%s) %s", x->id, x->who, x->question);
		ab_sb_printf(b, "\n");
		wrap(b, width, "", line);
		if (x->basis[0])
			wrap(b, width, "  basis:   ", x->basis);
		if (x->rule[0])
			wrap(b, width, "  rule:    ", x->rule);
		if (x->source[0])
			wrap(b, width, "  source:  ", x->source);
		if (x->host[0]) { /* once per page when the sources are the same */
			bool seen = false;

			for (int p = 0; p < q && !seen; p++)
				seen = !strcmp(a[p].host, x->host);
			if (!seen)
				wrap(b, width, "  host:    ", x->host);
		}
		for (int r = 0; r < x->nrows; r++) {
			const struct ab_ans_row *row = &x->rows[r];
			char eff[128];

			/* the configuration, each time it changes (Q1: micro, then macro) */
			if (!r || strcmp(row->config, x->rows[r - 1].config))
				wrap(b, width, "  at:      ", row->config);
			ab_effect_str(&row->e, NULL, eff, sizeof(eff));
			snprintf(line, sizeof(line), "%s %-28s %-17s %s", row->primary ? "P" : " ",
				 row->label, row->metric, eff);
			if ((int)strlen(line) + 2 <= width) { /* the columns, as they are */
				ab_sb_printf(b, "  %s\n", line);
			} else { /* the effect on a line of its own */
				snprintf(line, sizeof(line), "%s %-28s %s",
					 row->primary ? "P" : " ", row->label, row->metric);
				ab_sb_printf(b, "  %s\n", line);
				wrap(b, width, "        ", eff);
			}
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
	const struct ab_effect *e = &r->e;

	return json_pack("{s:s, s:s, s:s, s:s, s:b, s:b, s:b, s:s, s:o, s:[o, o], s:o, s:[o, o], "
			 "s:o, s:o, s:b, s:I, s:I, s:I, s:b, s:b, s:b, s:s}",
			 "label", r->label, "metric", r->metric, "unit", r->unit, "config",
			 r->config, "measured", e->ok, "primary", r->primary, "paired", e->paired,
			 "scale", e->ratio ? "ratio" : "difference", "estimate",
			 num_or_null(e->est), "ci", num_or_null(e->lo), num_or_null(e->hi),
			 "shift_pct", num_or_null(e->pct), "ci_pct", num_or_null(e->pct_lo),
			 num_or_null(e->pct_hi), "p", num_or_null(e->p), "p_holm",
			 num_or_null(e->p_adj), "significant", e->significant, "n",
			 (json_int_t)e->n, "reps_base", (json_int_t)e->n_base, "reps_new",
			 (json_int_t)e->n_new, "bimodal_base", e->bimodal_base, "bimodal_new",
			 e->bimodal_new, "host_shift_base", e->shift_base, "why", e->why);
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
		    json_pack("{s:s, s:s, s:b, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o}",
			      "who", x->who, "question", x->question, "answered", x->answered,
			      "verdict", x->verdict, "note", x->note, "basis", x->basis, "rule",
			      x->rule, "host", x->host, "source", x->source, "missing", x->missing,
			      "command", x->command, "headline",
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
	/* the three micro steps (secondary ns_per_page rows, in order), one
	 * block: the callers' path from locked@1 to bitmap@64; cumulative =
	 * the product of the steps' ratios */
	const struct ab_ans_row *st[3];
	int ns = 0;
	for (int i = 0; i < q->nrows && ns < 3; i++)
		if (!q->rows[i].primary && !strcmp(q->rows[i].metric, "ns_per_page") &&
		    !strstr(q->rows[i].config, "macro"))
			st[ns++] = &q->rows[i];
	if (ns == 3) {
		double cum = 0;

		ab_sb_printf(&d, "# callers (batch 1, bitmap at 64): step label pct lo hi "
				 "cumulative\n");
		for (int k = 0; k < 3; k++) {
			const struct ab_effect *e = &st[k]->e;
			double p = isfinite(e->pct) ? e->pct : 0;

			cum = ((1 + cum / 100) * (1 + p / 100) - 1) * 100;
			ab_sb_printf(&d, "%d \"%s\" %.4f %.4f %.4f %.4f\n", k + 1, st[k]->label, p,
				     isfinite(e->pct_lo) ? e->pct_lo : p,
				     isfinite(e->pct_hi) ? e->pct_hi : p, cum);
		}
		ab_sb_printf(&blocks, "callers");
		ab_sb_printf(&colours, "%s", bar_colours[0]);
		nb = 1;
	}
	if (!nb) {
		ab_fig_note(f, file, what, "Q3: the three steps were not all measured");
		free(d.s);
		return;
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
