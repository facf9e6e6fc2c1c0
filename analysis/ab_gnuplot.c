// SPDX-License-Identifier: GPL-2.0
/*
 * ab_gnuplot.c - the report's gnuplot runner: variables for the scripts
 * (including each mode's colour, point and dash type from ab_mode_table),
 * one gnuplot process per figure, PNG and SVG renamed into place.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ab_report_priv.h"

void ab_gp_var(struct ab_sb *v, const char *name, const char *val)
{
	ab_sb_printf(v, "%s='", name);
	for (const char *p = val; *p; p++)
		ab_sb_printf(v, *p == '\'' ? "''" : "%c", *p);
	ab_sb_printf(v, "'; ");
}

void ab_gp_mode_styles(struct ab_sb *v, const char *modes)
{
	struct ab_sb c = {0}, p = {0}, d = {0};
	const char *s = modes ? modes : "";

	while (*s) {
		size_t l = strcspn(s, " ");
		char name[AB_NAME_TOKEN];
		const struct ab_mode *m;

		snprintf(name, sizeof(name), "%.*s", (int)l, s);
		m = ab_mode_find(name);
		ab_sb_printf(&c, "%s%s", c.len ? " " : "", m ? m->colour : "#000000");
		ab_sb_printf(&p, "%s%d", p.len ? " " : "", m ? m->point : 1);
		ab_sb_printf(&d, "%s%d", d.len ? " " : "", m ? m->dash : 1);
		s += l;
		while (*s == ' ')
			s++;
	}
	ab_gp_var(v, "colours", c.s ? c.s : "");
	ab_gp_var(v, "points", p.s ? p.s : "");
	ab_gp_var(v, "dashes", d.s ? d.s : "");
	free(c.s);
	free(p.s);
	free(d.s);
}

static bool nonempty(const char *path)
{
	struct stat st;

	return !stat(path, &st) && st.st_size > 0;
}

/* Run gnuplot -e @vars @gp with its output appended to @log; its wait status, or -1. */
static int run(const char *gnuplot, const char *vars, const char *gp, const char *log)
{
	pid_t pid;
	int st, fd;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execlp(gnuplot, gnuplot, "-e", vars, gp, (char *)NULL);
		fprintf(stderr, "exec %s: %s\n", gnuplot, strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return st;
}

int ab_gnuplot_run(struct ab_figs *f, const char *script, const char *base, const char *data,
		   struct ab_sb *vars, char *why, size_t whylen)
{
	char png[4300], svg[4300], tpng[4400], tsvg[4400], gp[4300];
	int st;

	snprintf(png, sizeof(png), "%s/%s.png", f->dir, base);
	snprintf(svg, sizeof(svg), "%s/%s.svg", f->dir, base);
	snprintf(tpng, sizeof(tpng), "%s.tmp.%d.png", png, (int)getpid());
	snprintf(tsvg, sizeof(tsvg), "%s.tmp.%d.svg", svg, (int)getpid());
	snprintf(gp, sizeof(gp), "%s/%s.gp", f->plotsdir, script);
	if (access(gp, R_OK)) {
		snprintf(why, whylen, "gnuplot script %.300s: %s", gp, strerror(errno));
		return -1;
	}
	ab_gp_var(vars, "data", data);
	ab_gp_var(vars, "out_png", tpng);
	ab_gp_var(vars, "out_svg", tsvg);
	ab_gp_var(vars, "gpdir", f->plotsdir);
	st = run(f->gnuplot, vars->s, gp, f->log);
	if (st == -1) {
		snprintf(why, whylen, "fork: %s", strerror(errno));
		return -1;
	}
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
