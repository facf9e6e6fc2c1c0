// SPDX-License-Identifier: GPL-2.0
/*
 * macro_stats.c - statistics and results of `agebench macro`: the repetitions
 * replayed through the shim (results.json), medians, the Kruskal-Wallis
 * separation of the modes (GSL's chi-square tail), raw.json, macro.json, and
 * the pipeline assertions of --assert-pipeline.
 */
#define _GNU_SOURCE
#include "macro_priv.h"

#include <gsl/gsl_cdf.h>
#include <math.h>

/* ---- results --------------------------------------------------------------- */

void mac_replay(ab_state *st, void *arg)
{
	struct bench *b = arg;
	struct rep *r = &mac_reps[b->idx[b->next++ % b->n]];

	if (!r->ok) {
		ab_skip_with_error(st, r->err);
		while (ab_keep_running(st)) {
		}
		return;
	}
	while (ab_keep_running(st))
		ab_set_iteration_time(st, r->wall_s);
	for (int i = 0; i < r->nc; i++)
		ab_counter(st, r->c[i].name, r->c[i].v, AB_CTR_DEFAULT);
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Median and range of counter @name over the ok repetitions of mode @m. */
int mac_mode_stats(int m, const char *name, double *med, double *lo, double *hi)
{
	double v[MAX_REPS];
	int n = 0;

	for (int i = 0; i < mac_nreps; i++)
		if (mac_reps[i].mode == m && mac_reps[i].ok && mac_get(&mac_reps[i], name, &v[n]))
			n++;
	if (!n)
		return 0;
	qsort(v, (size_t)n, sizeof(double), cmp_d);
	*med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	*lo = v[0];
	*hi = v[n - 1];
	return n;
}

/*
 * Kruskal-Wallis test of counter @name across the modes (every mode needs
 * >= 2 good repetitions): 0 with H (tie-corrected) and its chi-square p
 * (k - 1 degrees of freedom), or -1.
 */
int mac_kruskal_wallis(const char *name, double *h, double *p)
{
	static double v[MAX_REPS], rank[MAX_REPS];
	static int grp[MAX_REPS], idx[MAX_REPS];
	int n = 0, cnt[AB_MODE_NR] = {0};

	for (int i = 0; i < mac_nreps; i++)
		if (mac_reps[i].ok && mac_get(&mac_reps[i], name, &v[n])) {
			grp[n] = mac_reps[i].mode;
			cnt[mac_reps[i].mode]++;
			idx[n] = n;
			n++;
		}
	for (int m = 0; m < mac_nmodes; m++)
		if (cnt[m] < 2)
			return -1;
	for (int i = 1; i < n; i++) /* insertion sort of idx by value */
		for (int j = i; j > 0 && v[idx[j - 1]] > v[idx[j]]; j--) {
			int t = idx[j];

			idx[j] = idx[j - 1];
			idx[j - 1] = t;
		}
	double ties = 0;

	for (int i = 0; i < n;) {
		int j = i;

		while (j + 1 < n && v[idx[j + 1]] == v[idx[i]])
			j++;
		for (int k = i; k <= j; k++)
			rank[idx[k]] = (i + j) / 2.0 + 1;
		double t = j - i + 1;

		ties += t * t * t - t;
		i = j + 1;
	}
	double corr = 1 - ties / ((double)n * n * n - n), sum = 0;

	if (corr <= 0)
		return -1; /* all equal */
	for (int m = 0; m < mac_nmodes; m++) {
		double r = 0;

		for (int i = 0; i < n; i++)
			if (grp[i] == m)
				r += rank[i];
		sum += r * r / cnt[m];
	}
	*h = (12.0 / ((double)n * (n + 1)) * sum - 3.0 * (n + 1)) / corr;
	*p = gsl_cdf_chisq_Q(*h, mac_nmodes - 1);
	return 0;
}

static const char *const table_ctrs[] = {"ops_per_s",	  "op_p99_ns",	  "reclaim_cpu_s",
					 "refault_pages", "memcg_pgscan", "sys_pgscan",
					 "vm_sys_cpu_s",  "kswapd_cpu_s", NULL};

static json_t *mac_summary(FILE *out)
{
	json_t *arr = json_array();
	char best[64] = "";
	double best_score = 0;

	fprintf(out, "%-15s %5s %12s %10s %10s %10s %10s %10s %9s %9s\n", "mode", "ok", "ops/s",
		"op_p99", "recl_cpu", "refaults", "memcg_scan", "sys_scan", "vm_sys_s", "kswapd_s");
	for (int m = 0; m < mac_nmodes; m++) {
		int ok = 0, all = 0;
		json_t *row = json_pack("{s:s}", "mode", mac_modes[m]);

		for (int i = 0; i < mac_nreps; i++)
			if (mac_reps[i].mode == m)
				all++, ok += mac_reps[i].ok;
		fprintf(out, "%-15s %2d/%-2d", mac_modes[m], ok, all);
		json_object_set_new(row, "reps_ok", json_integer(ok));
		json_object_set_new(row, "reps", json_integer(all));
		for (int c = 0; table_ctrs[c]; c++) {
			double med, lo, hi;
			int w = c == 0 ? 12 : c >= 6 ? 9 : 10;

			if (mac_mode_stats(m, table_ctrs[c], &med, &lo, &hi)) {
				fprintf(out, " %*.4g", w, med);
				json_object_set_new(row, table_ctrs[c], json_real(med));
			} else {
				fprintf(out, " %*s", w, "-");
			}
		}
		fprintf(out, "\n");
		json_array_append_new(arr, row);
	}
	fprintf(out, "(medians over the repetitions that did not fail; op_p99 ns in guest time; "
		     "reclaim_cpu = kswapd CPU + memory stall of the VMs' cgroups, s)\n");
	if (mac_nmodes < 2) {
		fprintf(out, "separation: only one mode here (%s): no metric can separate modes\n",
			mac_modes[0]);
		return arr;
	}
	/* which counter separates the modes most: Kruskal-Wallis H over the good
	 * repetitions (ranks, so units and outliers do not matter; ties get
	 * their mean rank and the tie correction) */
	json_t *sep = json_object();
	double best_p = 2;

	for (size_t c = 0; c < ab_counter_count; c++) {
		const char *name = ab_counter_table[c].name;
		double h, p;

		if (mac_kruskal_wallis(name, &h, &p))
			continue;
		json_object_set_new(sep, name, json_pack("{s:f, s:f}", "H", h, "p", p));
		if (h > best_score) {
			best_score = h;
			best_p = p;
			snprintf(best, sizeof(best), "%s", name);
		}
	}
	json_array_append_new(arr, json_pack("{s:o}", "separation", sep));
	if (!best[0])
		fprintf(out, "separation: no counter has >= 2 good repetitions in every mode\n");
	else
		fprintf(
		    out,
		    "separation: %s separates the modes most (Kruskal-Wallis H %.2f, p %.3f%s)\n",
		    best, best_score, best_p,
		    best_p < 0.05 ? "" : "; no counter separates them at p < 0.05");
	return arr;
}

int mac_finish_json(json_t *root, json_t *ab, void *argp)
{
	struct finish_arg *fa = argp;
	json_t *cmd = json_array();

	(void)root;
	json_object_set_new(ab, "version", json_string(AB_VERSION));
	json_array_append_new(cmd, json_string("agebench"));
	for (int i = 0; i < fa->argc; i++)
		json_array_append_new(cmd, json_string(fa->argv[i]));
	json_object_set_new(ab, "command", cmd);
	json_object_set_new(ab, "summary", mac_summary(stdout));
	return 0;
}

int mac_write_raw(void)
{
	json_t *arr = json_array();
	char path[600];

	for (int i = 0; i < mac_nreps; i++) {
		struct rep *r = &mac_reps[i];

		json_object_set_new(r->raw, "name", json_string(mac_benches[r->mode].name));
		json_object_set_new(r->raw, "mode", json_string(mac_modes[r->mode]));
		json_object_set_new(r->raw, "repetition", json_integer(r->rep));
		json_object_set_new(r->raw, "order", json_integer(r->order));
		json_object_set_new(r->raw, "ok", json_boolean(r->ok));
		if (!r->ok)
			json_object_set_new(r->raw, "error", json_string(r->err));
		json_object_set_new(r->raw, "wall_s", json_real(r->wall_s));
		json_object_set_new(r->raw, "fill_s", json_real(r->fill_s));
		json_array_append(arr, r->raw);
	}
	char *s = json_dumps(arr, JSON_INDENT(1) | JSON_SORT_KEYS);
	int e;

	json_decref(arr);
	snprintf(path, sizeof(path), "%s/raw.json", mopt.out);
	e = s ? ab_write_atomic(path, s, strlen(s)) : -ENOMEM;
	free(s);
	if (e)
		ab_warn("%s: %s", path, strerror(-e));
	return e;
}

/* The report reads DIR/macro.json for its macro section: the same document. */
void mac_copy_macro_json(const char *results)
{
	size_t len;
	char *buf = ab_read_file(results, &len), path[600];

	snprintf(path, sizeof(path), "%s/macro.json", mopt.out);
	if (buf && ab_write_atomic(path, buf, len))
		ab_warn("%s: cannot write", path);
	free(buf);
}

int mac_assert_pipeline(void)
{
	int nbad = 0;

	for (int i = 0; i < mac_nreps; i++) {
		const struct rep *r = &mac_reps[i];
		double v, w;

		if (!r->ok) {
			ab_warn("pipeline: %s rep %d failed: %s", mac_modes[r->mode], r->rep,
				r->err);
			nbad++;
			continue;
		}
#define NEED(cond, ...)                                                                            \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			ab_warn("pipeline: %s rep %d: " __VA_ARGS__);                              \
			nbad++;                                                                    \
		}                                                                                  \
	} while (0)
		if (mac_get(r, "memcg_pgsteal", &v))
			NEED(v > 0, "no reclaim in the VMs' memcgs (memcg_pgsteal 0)",
			     mac_modes[r->mode], r->rep);
		else
			NEED(mac_get(r, "memcg_pgpgout", &v) && v > 0 &&
				 mac_get(r, "sys_pgscan", &w) && w > 0,
			     "no reclaim (memcg_pgpgout / sys_pgscan 0)", mac_modes[r->mode],
			     r->rep);
		NEED(mac_get(r, "refault_pages", &v) && v > 0, "no refaults counted",
		     mac_modes[r->mode], r->rep);
		if (mopt.wl == WL_SYNTH)
			NEED(mac_get(r, "ops", &v) && v > 0, "the guest made no operations",
			     mac_modes[r->mode], r->rep);
		if (mac_patched && mopt.wl == WL_SYNTH)
			NEED(mac_get(r, "macro_kvm_age_calls", &v) && v > 0,
			     "KVM aging stats did not move (age_calls)", mac_modes[r->mode],
			     r->rep);
#undef NEED
	}
	if (!nbad)
		fprintf(stderr,
			"agebench: macro: pipeline ok (%d repetitions: reclaim, refaults%s%s)\n",
			mac_nreps, mopt.wl == WL_SYNTH ? ", guest operations" : "",
			mac_patched ? ", KVM aging stats" : "");
	return nbad ? -1 : 0;
}
