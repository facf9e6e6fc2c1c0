// SPDX-License-Identifier: GPL-2.0
/*
 * ab_synth - write synthetic, deterministic Google Benchmark JSON in
 * agebench's results.json shape, with known answers for the compare tests
 * and a realistic-looking sample (clearly labelled synthetic) for the report
 * tests. Not a benchmark: every number is made up from the formulas below.
 *
 * usage: ab_synth OUT.json [--reps N] [--shift PCT] [--perm K] [--unit U]
 *                 [--drop NAME] [--only-locked] [--macro] [--backend B]
 *                 [--vcpus LIST] [--no-cdf] [--ctr-unit NAME=UNIT] [--no-decl]
 *   --shift PCT  make every metric PCT% worse (lower-is-better metrics
 *                times (1+PCT/100), higher-is-better ones divided by it)
 *   --perm K     rotate the noise pattern by K (same values, other order)
 *   --macro      write a macro.json-style file (macro/<mode>/... names)
 *   --no-decl    no agebench.counters (counters of unknown unit/direction)
 *   --mode-rel MODE=OTHER:PCT  MODE's ns_per_page is OTHER's times (1 + PCT/100)
 *                (a known answer for the answer page's Q3/Q4; up to 4 times)
 *   --batch-factor N:F  ns_per_page at batch:N is F times the others' (call
 *                size: a per-PTE call costs more per page than a window)
 *   --extra NAME one more counter NAME (= 1.0, declared "count", lower), e.g.
 *                one that common/ab_counters.def does not know
 *   --batches L  names carry batch:N for each N of the comma list (the answer
 *                page's batch-1 and batch-64 comparisons); the values do
 *                not depend on it
 *   --rounds     the repetitions are blocked rounds (agebench.interleave
 *                .design "rounds": the answers pair within rounds)
 *   --drift R:F  from round R on, every value F times worse (the host's load
 *                changed between rounds; every mode alike)
 *   --bimodal M  mode M's repetitions from the middle on x1.7 worse (two
 *                regimes in one mode only)
 *   --noise CV   multiplicative Gaussian noise of CV (e.g. 0.03) per value
 *                instead of the fixed pattern, from --seed S (default 1)
 *   --blocked F  vcpu_blocked_frac: locked F (read_locked F/10, others 0)
 *   --no-blocked no vcpu_blocked_frac (the kvm backend has none)
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ab_schema.h"

/* Zero-mean noise, +-0.4%: fixed so the answers are known. */
static const double noise[] = {-0.004, 0.002, 0.0,    0.003,  -0.001,  0.004,
			       -0.003, 0.001, -0.002, 0.0035, -0.0035, 0.0015};
#define NNOISE (sizeof(noise) / sizeof(noise[0]))

/*
 * The modes the synthetic numbers are made up for, by name; each must be in
 * the schema's mode table (checked at start: a renamed mode fails loudly).
 */
static const char *const modes[] = {"locked", "read_locked", "fast_only", "bitmap", "scan"};
#define NMODES (int)(sizeof(modes) / sizeof(modes[0]))

/* "<backend>/<mode>/<page>/<k>:<v>..." through the schema's formatter. */
static void bench_name(char *buf, size_t len, const char *backend, const char *mode,
		       const char *page, const char *const *kv, int nkv)
{
	struct ab_name n = {0};

	snprintf(n.backend, sizeof(n.backend), "%s", backend);
	snprintf(n.mode, sizeof(n.mode), "%s", mode);
	snprintf(n.page, sizeof(n.page), "%s", page);
	for (int i = 0; i + 1 < nkv; i += 2)
		if (ab_name_set(&n, kv[i], kv[i + 1]))
			abort();
	if (ab_name_format(&n, false, buf, len) < 0)
		abort();
}

struct ctr {
	const char *name, *unit, *better;
};
static const struct ctr ctrs[] = {
    {"ns_per_page", "ns", "lower"},	     {"vcpu_blocked_frac", "fraction", "lower"},
    {"pages_per_s", "pages/s", "higher"},    {"young", "pages", "none"},
    {"lock_wait_ns", "ns", "lower"},	     {"declines", "per call", "lower"},
    {"fault_p50_ns", "ns", "lower"},	     {"fault_p99_ns", "ns", "lower"},
    {"fault_max_ns", "ns", "lower"},	     {"vcpu_accesses_per_s", "accesses/s", "higher"},
    {"access_rel", "ratio", "higher"},	     {"false_old", "pages/call", "lower"},
    {"walker_scan_ratio", "ratio", "lower"},
};
static const struct ctr mctrs[] = {
    {"reclaim_cpu_s", "s", "lower"},
    {"refault_pages", "pages", "lower"},
    {"ops_per_s", "ops/s", "higher"},
};

/* Per-mode model of the numbers (ns per page at 1 vCPU, contention slope...). */
static const double m_ns[] = {14.0, 10.5, 6.2, 4.8, 31.0};
static const double m_slope[] = {0.55, 0.12, 0.03, 0.04, 0.02};
static const double m_rel[] = {0.080, 0.030, 0.010, 0.008, 0.005};
static const double m_false_old[] = {0.0, 0.0, 3.5, 1.2, 0.0};
static const double m_decl[] = {0, 0, 0.02, 0.015, 0};
static const double m_p50[] = {2100, 1500, 1300, 1280, 1250};

/* A standard normal deviate from the 64-bit LCG @s (Box-Muller). */
static double gauss(unsigned long long *s)
{
	double u[2];

	for (int i = 0; i < 2; i++) {
		*s = *s * 6364136223846793005ull + 1442695040888963407ull;
		u[i] = ((*s >> 11) + 0.5) / 9007199254740992.0;
	}
	return sqrt(-2 * log(u[0])) * cos(2 * M_PI * u[1]);
}

int main(int argc, char **argv)
{
	int reps = 9, perm = 0, macro = 0, only_locked = 0, no_cdf = 0, no_decl = 0;
	double shift = 0;
	const char *mode_rel[4] = {NULL};
	int nrel = 0, bf_batch = -1;
	double bf = 1;
	const char *out = NULL, *unit = "ns", *drop = NULL, *backend = "model";
	const char *ctr_override = NULL, *extra = NULL;
	int vcpus[8] = {1, 2, 4, 8}, nv = 4;
	int batches[4] = {0}, nbt = 1, rounds = 0, drift_round = -1;
	double drift = 1, cv = 0, blocked = 0.012;
	unsigned long long seed = 1;
	const char *bimodal = NULL;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--reps") && i + 1 < argc)
			reps = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--shift") && i + 1 < argc)
			shift = atof(argv[++i]);
		else if (!strcmp(argv[i], "--perm") && i + 1 < argc)
			perm = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--unit") && i + 1 < argc)
			unit = argv[++i];
		else if (!strcmp(argv[i], "--drop") && i + 1 < argc)
			drop = argv[++i];
		else if (!strcmp(argv[i], "--backend") && i + 1 < argc)
			backend = argv[++i];
		else if (!strcmp(argv[i], "--mode-rel") && i + 1 < argc && nrel < 4)
			mode_rel[nrel++] = argv[++i];
		else if (!strcmp(argv[i], "--batch-factor") && i + 1 < argc)
			sscanf(argv[++i], "%d:%lf", &bf_batch, &bf);
		else if (!strcmp(argv[i], "--extra") && i + 1 < argc)
			extra = argv[++i];
		else if (!strcmp(argv[i], "--ctr-unit") && i + 1 < argc)
			ctr_override = argv[++i];
		else if (!strcmp(argv[i], "--batches") && i + 1 < argc) {
			char *t = argv[++i], *tok;

			nbt = 0;
			for (tok = strtok(t, ","); tok && nbt < 4; tok = strtok(NULL, ","))
				batches[nbt++] = atoi(tok);
		} else if (!strcmp(argv[i], "--rounds"))
			rounds = 1;
		else if (!strcmp(argv[i], "--drift") && i + 1 < argc)
			sscanf(argv[++i], "%d:%lf", &drift_round, &drift);
		else if (!strcmp(argv[i], "--bimodal") && i + 1 < argc)
			bimodal = argv[++i];
		else if (!strcmp(argv[i], "--noise") && i + 1 < argc)
			cv = atof(argv[++i]);
		else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
			seed = strtoull(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--blocked") && i + 1 < argc)
			blocked = atof(argv[++i]);
		else if (!strcmp(argv[i], "--no-blocked"))
			blocked = -1;
		else if (!strcmp(argv[i], "--vcpus") && i + 1 < argc) {
			char *s = argv[++i], *tok;

			nv = 0;
			for (tok = strtok(s, ","); tok && nv < 8; tok = strtok(NULL, ","))
				vcpus[nv++] = atoi(tok);
		} else if (!strcmp(argv[i], "--macro"))
			macro = 1;
		else if (!strcmp(argv[i], "--only-locked"))
			only_locked = 1;
		else if (!strcmp(argv[i], "--no-cdf"))
			no_cdf = 1;
		else if (!strcmp(argv[i], "--no-decl"))
			no_decl = 1;
		else if (argv[i][0] != '-' && !out)
			out = argv[i];
		else {
			fprintf(stderr, "ab_synth: bad argument '%s'\n", argv[i]);
			return 2;
		}
	}
	if (!out || reps < 1) {
		fprintf(stderr, "usage: ab_synth OUT.json [--reps N] [--shift PCT] ...\n");
		return 2;
	}
	double f = 1 + shift / 100;
	json_t *root = json_object(), *ctx = json_object(), *rows = json_array();
	json_t *ab = json_object(), *cd = json_object(), *cdf = json_object(), *cmd = json_array();
	const struct ctr *cs = macro ? mctrs : ctrs;
	size_t ncs = macro ? sizeof(mctrs) / sizeof(mctrs[0]) : sizeof(ctrs) / sizeof(ctrs[0]);

	json_object_set_new(ctx, "date", json_string("2026-11-21T10:30:00+00:00"));
	json_object_set_new(ctx, "host_name", json_string("synthetic-host"));
	json_object_set_new(ctx, "executable", json_string("agebench"));
	json_object_set_new(ctx, "num_cpus", json_integer(2));
	json_object_set_new(ctx, "mhz_per_cpu", json_integer(2400));
	json_object_set_new(ctx, "cpu_scaling_enabled", json_false());
	json_object_set_new(ctx, "library_build_type", json_string("release"));
	json_object_set_new(ctx, "agebench_version", json_string("0.1.0-synthetic"));
	json_object_set_new(ctx, "kernel_release", json_string("6.12.0-agebench"));
	json_object_set_new(ctx, "backend", json_string(backend));
	json_object_set_new(ctx, "driver", json_string(macro ? "memcg" : "model"));
	json_object_set_new(ctx, "hwloc_topology",
			    json_string("1 package, 2 cores, 2 PUs (SYNTHETIC TEST DATA)"));
	json_object_set_new(ctx, "pinning", json_string("walker:PU0 vcpu0:PU1"));
	json_object_set_new(ctx, "perf_counters", json_string("unavailable: synthetic"));
	json_object_set_new(root, "context", ctx);

	for (size_t c = 0; c < ncs; c++) {
		const char *u = cs[c].unit;
		char nm[64];

		if (ctr_override && sscanf(ctr_override, "%63[^=]=", nm) == 1 &&
		    !strcmp(nm, cs[c].name))
			u = strchr(ctr_override, '=') + 1;
		json_object_set_new(cd, cs[c].name,
				    json_pack("{s:s,s:s}", "unit", u, "better", cs[c].better));
	}
	if (extra)
		json_object_set_new(cd, extra,
				    json_pack("{s:s,s:s}", "unit", "count", "better", "lower"));
	for (int m = 0; m < NMODES; m++)
		if (!ab_mode_find(modes[m])) {
			fprintf(stderr, "ab_synth: mode %s is not in common/ab_modes.def\n",
				modes[m]);
			return 2;
		}
	for (int m = 0; m < NMODES; m++) {
		if (only_locked && m)
			break;
		for (int vb = 0; vb < nv * nbt; vb++) {
			int vi = vb % nv, bt = batches[vb / nv];
			int v = vcpus[vi];
			char name[160], vs[16], bs[16];
			double ns = m_ns[m] * (1 + m_slope[m] * (v - 1));
			char rm[32], ro[32];
			double rp;

			for (int k = 0; k < nrel; k++)
				if (sscanf(mode_rel[k], "%31[^=]=%31[^:]:%lf", rm, ro, &rp) == 3 &&
				    !strcmp(rm, modes[m]))
					for (int o = 0; o < NMODES; o++)
						if (!strcmp(modes[o], ro))
							ns = m_ns[o] * (1 + m_slope[o] * (v - 1)) *
							     (1 + rp / 100);
			if (bt == bf_batch)
				ns *= bf;
			double rel = 1 - m_rel[m] * v;

			snprintf(vs, sizeof(vs), "%d", v);
			snprintf(bs, sizeof(bs), "%d", bt);
			if (macro)
				bench_name(name, sizeof(name), "macro", modes[m], "memcached",
					   (const char *const[]){"vcpus", vs, "mem_mib", "1024"},
					   4);
			else
				bench_name(name, sizeof(name), backend, modes[m], "4K",
					   (const char *const[]){"pages", "16384", "vcpus", vs,
								 "inval", "0", "batch", bs},
					   bt > 0 ? 8 : 6);
			if (drop && !strcmp(drop, name))
				continue;
			for (int r = 0; r < reps; r++) {
				double e = cv > 0 ? exp(cv * gauss(&seed))
						  : 1 + noise[(r + perm) % NNOISE];
				double lower = f * e, higher = e / f;

				if (drift_round >= 0 && r >= drift_round) {
					lower *= drift;
					higher /= drift;
				}
				if (bimodal && !strcmp(bimodal, modes[m]) && r >= reps / 2) {
					lower *= 1.7;
					higher /= 1.7;
				}
				json_t *row = json_object();
				char rn[200];

				snprintf(rn, sizeof(rn), "%s/repeats:%d", name, reps);
				json_object_set_new(row, "name", json_string(rn));
				json_object_set_new(row, "family_index", json_integer(m));
				json_object_set_new(row, "per_family_instance_index",
						    json_integer(vb));
				json_object_set_new(row, "run_name", json_string(rn));
				json_object_set_new(row, "run_type", json_string("iteration"));
				json_object_set_new(row, "repetitions", json_integer(reps));
				json_object_set_new(row, "repetition_index", json_integer(r));
				json_object_set_new(row, "threads", json_integer(1));
				json_object_set_new(row, "iterations", json_integer(100));
				if (macro) {
					json_object_set_new(row, "real_time",
							    json_real(60e3 * lower));
					json_object_set_new(row, "cpu_time",
							    json_real(1e3 * lower));
					json_object_set_new(row, "time_unit", json_string(unit));
					json_object_set_new(row, "reclaim_cpu_s",
							    json_real(ns / 4 * v * lower));
					json_object_set_new(
					    row, "refault_pages",
					    json_real((2e4 + 4e3 * m_false_old[m]) * v * lower));
					json_object_set_new(row, "ops_per_s",
							    json_real(1e6 * rel * higher));
				} else {
					json_object_set_new(row, "real_time",
							    json_real(ns * 16384 * lower));
					json_object_set_new(row, "cpu_time",
							    json_real(ns * 16384 * 0.98 * lower));
					json_object_set_new(row, "time_unit", json_string(unit));
					json_object_set_new(row, "ns_per_page",
							    json_real(ns * lower));
					json_object_set_new(row, "vcpu_blocked_frac",
							    json_real(m == 0 ? blocked * lower
								      : m == 1
									  ? blocked / 10 * lower
									  : 0));
					json_object_set_new(row, "pages_per_s",
							    json_real(1e9 / ns * higher));
					json_object_set_new(row, "young", json_real(4096));
					json_object_set_new(row, "lock_wait_ns",
							    /* read_locked waits for writers only */
							    json_real(m == 0   ? 900.0 * v * lower
								      : m == 1 ? 90.0 * v * lower
									       : 0));
					if (m_decl[m] > 0)
						json_object_set_new(row, "declines",
								    json_real(m_decl[m] * lower));
					json_object_set_new(
					    row, "fault_p50_ns",
					    json_real(m_p50[m] * (1 + m_slope[m] * v / 4) * lower));
					json_object_set_new(
					    row, "fault_p99_ns",
					    json_real(m_p50[m] * 6 * (1 + m_slope[m] * v) * lower));
					json_object_set_new(
					    row, "fault_max_ns",
					    json_real(m_p50[m] * 40 * (1 + m_slope[m] * v) *
						      lower));
					json_object_set_new(row, "vcpu_accesses_per_s",
							    json_real(2e7 * rel * higher));
					json_object_set_new(row, "access_rel",
							    json_real(rel * higher));
					json_object_set_new(
					    row, "false_old",
					    json_real(m_false_old[m] * (1 + 0.2 * v) * lower));
					json_object_set_new(row, "walker_scan_ratio",
							    json_real(ns / (m_ns[4]) * lower));
				}
				if (extra)
					json_object_set_new(row, extra, json_real(1.0));
				json_array_append_new(rows, row);
			}
			/* aggregates, as Google Benchmark writes them (compare ignores them) */
			char an[200];

			snprintf(an, sizeof(an), "%s/repeats:%d_mean", name, reps);
			json_array_append_new(
			    rows,
			    json_pack("{s:s,s:s,s:s,s:s,s:s,s:i,s:f,s:f,s:s}", "name", an,
				      "run_name", name, "run_type", "aggregate", "aggregate_name",
				      "mean", "aggregate_unit", "time", "repetitions", reps,
				      "real_time", 1.0, "cpu_time", 1.0, "time_unit", unit));
			if (!no_cdf && !macro) {
				json_t *pts = json_array();
				double med = m_p50[m] * (1 + m_slope[m] * v / 4);

				/* log-logistic CDF, points at log-spaced latencies */
				for (double x = med / 8; x <= med * 64; x *= 1.25) {
					double q = 1 / (1 + pow(x / med, -(3.0 - m_slope[m] * 2)));

					json_array_append_new(pts, json_pack("[f,f]", round(x), q));
				}
				json_array_append_new(pts,
						      json_pack("[f,f]", round(med * 80), 1.0));
				json_object_set_new(cdf, name, json_pack("{s:o}", "fault", pts));
			}
		}
	}
	json_object_set_new(root, "benchmarks", rows);
	json_array_append_new(cmd, json_string("agebench"));
	json_array_append_new(cmd, json_string(macro ? "macro" : "run"));
	json_array_append_new(cmd, json_string("--backend"));
	json_array_append_new(cmd, json_string(backend));
	json_array_append_new(cmd, json_string("--reps"));
	{
		char rs[16];

		snprintf(rs, sizeof(rs), "%d", reps);
		json_array_append_new(cmd, json_string(rs));
	}
	json_array_append_new(cmd, json_string("--out"));
	json_array_append_new(cmd, json_string("results/synthetic run"));
	json_object_set_new(ab, "version", json_string("0.1.0-synthetic"));
	json_object_set_new(ab, "command", cmd);
	if (no_decl)
		json_decref(cd);
	else
		json_object_set_new(ab, "counters", cd);
	json_object_set_new(ab, "cdf", cdf);
	if (rounds)
		json_object_set_new(ab, "interleave",
				    json_pack("{s:I, s:s, s:[]}", "seed", (json_int_t)seed,
					      "design", "rounds", "order"));
	json_object_set_new(root, "agebench", ab);
	if (json_dump_file(root, out, JSON_INDENT(1) | JSON_PRESERVE_ORDER)) {
		fprintf(stderr, "ab_synth: cannot write %s\n", out);
		return 1;
	}
	json_decref(root);
	return 0;
}
