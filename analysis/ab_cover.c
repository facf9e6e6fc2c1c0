// SPDX-License-Identifier: GPL-2.0
/*
 * ab_cover.c - `agebench report --cover-letter DIR...`: the answers to the
 * four questions from several runs merged (micro, macro, lab: each DIR's
 * results.json, and its macro.json when present), with the machines, the
 * kernels and the reproduce lines, in at most 72 columns for an LKML post.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ab_answers.h"
#include "ab_report.h"

#define COVER_WIDTH 72
#define COVER_MAX   16

static int load(const char *path, struct ab_results *r, int *nr)
{
	char err[1024];

	if (*nr == COVER_MAX) {
		fprintf(stderr, "agebench report: --cover-letter: at most %d results files\n",
			COVER_MAX);
		return 2;
	}
	if (ab_results_load(path, &r[*nr], err, sizeof(err))) {
		fprintf(stderr, "agebench report: %s\n", err);
		return 2;
	}
	if (!r[*nr].nb) {
		fprintf(stderr, "agebench report: %s: no benchmark results\n", path);
		ab_results_free(&r[*nr]);
		return 2;
	}
	(*nr)++;
	return 0;
}

/* DIR (its results.json and macro.json) or a results file itself. */
static int load_arg(const char *arg, struct ab_results *r, int *nr, char paths[][4200])
{
	char p[4200];
	int before = *nr, rc;

	if (!access(arg, F_OK) && strstr(arg, ".json")) {
		snprintf(paths[*nr], 4200, "%s", arg);
		return load(arg, r, nr);
	}
	snprintf(p, sizeof(p), "%.4000s/results.json", arg);
	if (access(p, F_OK)) {
		fprintf(stderr, "agebench report: --cover-letter %s: no results.json there\n", arg);
		return 2;
	}
	snprintf(paths[*nr], 4200, "%s", p);
	if ((rc = load(p, r, nr)))
		return rc;
	/* macro.json beside a micro run; a macro run's own is a copy of its
	 * results.json (agebench macro writes both): not a second source */
	snprintf(p, sizeof(p), "%.4000s/macro.json", arg);
	const char *be = ab_results_context(&r[*nr - 1], "backend");
	if (!access(p, F_OK) && !(be && !strcmp(be, "macro"))) {
		snprintf(paths[*nr], 4200, "%s", p);
		rc = load(p, r, nr);
	}
	return *nr > before ? rc : 2;
}

static const char *ctxs(const struct ab_results *r, const char *k)
{
	const char *v = ab_results_context(r, k);

	return v && *v ? v : "?";
}

/* "      $ cmd", wrapped at spaces within the cover letter's width, each
 * continued line ending in " \\" (a shell can take it as pasted). */
static void wrap_command(struct ab_sb *b, const char *cmd)
{
	const int first = 8, cont = 10, room = COVER_WIDTH - 2; /* 2: " \\" */
	int col = first;
	const char *p = cmd;

	ab_sb_printf(b, "      $ ");
	while (*p) {
		size_t w = strcspn(p, " ");

		if (col > (p == cmd ? first : cont) && col + 1 + (int)w > room) {
			ab_sb_printf(b, " \\\n%*s", cont, "");
			col = cont;
		} else if (p != cmd) {
			ab_sb_printf(b, " ");
			col++;
		}
		ab_sb_printf(b, "%.*s", (int)w, p);
		col += (int)w;
		p += w;
		while (*p == ' ')
			p++;
	}
	ab_sb_printf(b, "\n");
}

static void sources(struct ab_sb *b, const struct ab_results *r, int nr, char paths[][4200])
{
	ab_sb_printf(b, "Data (each answer names its source):\n");
	for (int i = 0; i < nr; i++) {
		char *cmd = ab_results_command(&r[i]);

		ab_sb_printf(b, "  [%d] %s\n", i + 1, ab_answers_trust(&r[i]));
		ab_sb_printf(b, "      kernel %.58s\n", ctxs(&r[i], "kernel_release"));
		ab_sb_printf(b, "      %.66s\n", ctxs(&r[i], "hwloc_topology"));
		/* the lab's accelerator and QEMU: what the timings are timings of */
		if (ab_results_context(&r[i], "lab_accel") || ab_results_context(&r[i], "lab_qemu"))
			ab_sb_printf(b, "      accelerator %.30s, QEMU %.26s\n",
				     ctxs(&r[i], "lab_accel"), ctxs(&r[i], "lab_qemu"));
		wrap_command(b, cmd ? cmd : "?");
		free(cmd);
		(void)paths;
	}
}

int ab_cover_letter_main(int nargs, char **args)
{
	struct ab_results r[COVER_MAX];
	struct ab_ans_input in[COVER_MAX];
	static char paths[COVER_MAX][4200];
	struct ab_answer a[AB_ANS_N];
	struct ab_sb b = {0};
	int nr = 0, rc = 0;

	if (nargs < 1) {
		fprintf(stderr, "usage: agebench report --cover-letter DIR|RESULTS.json...\n");
		return 2;
	}
	memset(r, 0, sizeof(r));
	for (int i = 0; i < nargs && !rc; i++)
		rc = load_arg(args[i], r, &nr, paths);
	if (!rc) {
		for (int i = 0; i < nr; i++)
			in[i] = (struct ab_ans_input){.r = &r[i], .path = paths[i]};
		ab_answers_compute(in, nr, a);
		ab_answers_text(&b, a, COVER_WIDTH);
		sources(&b, r, nr, paths);
		fwrite(b.s, 1, b.len, stdout);
	}
	free(b.s);
	for (int i = 0; i < nr; i++)
		ab_results_free(&r[i]);
	return rc;
}
