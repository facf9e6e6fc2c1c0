// SPDX-License-Identifier: GPL-2.0
/*
 * kvm_register.c - the kvm backend's registration: the driver, the kernel
 * modes, backings, vCPU counts, the grid (or the houghton-v4 preset), the
 * kernel's aging stats. See kvm_priv.h.
 */
#define _GNU_SOURCE
#include "kvm_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ab_bench_config.h"
#include "ab_common.h"

static const char *backing_tag(enum ab_vm_backing b)
{
	return b == AB_VM_BACKING_THP ? "2M" : b == AB_VM_BACKING_FILE ? "file" : "4K";
}

/* ---- registration ---------------------------------------------------- */

/*
 * The series' aging stats (lock wait, walk time, declines: kvm.age_stats, a
 * static key) cost time inside the write lock of the locking modes, so the
 * timed windows run with them off and one extra window per repetition with
 * them on gives the counts (kvm_bench.c, kc_counters_window); the cleanup
 * registry writes the old value back at exit, also after a signal.
 */
static const char age_stats_path[] = "/sys/module/kvm/parameters/age_stats";

void kvm_age_stats_set(bool on)
{
	FILE *f;

	if (!kvm_params.stats_ctl || !(f = fopen(age_stats_path, "we")))
		return;
	fputs(on ? "1" : "0", f);
	fclose(f);
}

static void age_stats_init(void)
{
	char cur[16] = "";
	FILE *f = fopen(age_stats_path, "re");

	if (!f)
		return;
	if (!fgets(cur, sizeof(cur), f))
		cur[0] = 0;
	fclose(f);
	cur[strcspn(cur, "\n")] = 0;
	kvm_params.stats_on = !strcmp(cur, "Y") || !strcmp(cur, "1");
	if (!cur[0] || ab_cleanup_add(AB_CLEANUP_WRITE, age_stats_path, cur) < 0 ||
	    !(f = fopen(age_stats_path, "we"))) {
		ab_add_context("kvm_age_stats", kvm_params.stats_on
						    ? "on in every window (cannot be switched)"
						    : "off (cannot be turned on)");
		return;
	}
	kvm_params.stats_ctl = fputs("0", f) >= 0;
	kvm_params.stats_ctl &= fclose(f) == 0;
	kvm_params.stats_on = !kvm_params.stats_ctl && kvm_params.stats_on;
	ab_add_context("kvm_age_stats",
		       kvm_params.stats_ctl
			   ? "off in the timed windows, on in one counters window per repetition "
			     "(the age_bench hook instruments its own calls whatever the setting)"
			   : "write failed");
}

/*
 * The kernel modes of the schema this kernel accepts: each is written to
 * kvm.mmu_age_mode (the registry restores the original value at exit); a
 * mode the kernel rejects is listed in @missing. -1 if @want is given and
 * not accepted.
 */
static int kernel_modes(const char *want, const char **modes, int *nmodes, char *missing,
			size_t mlen, char *err, size_t errlen)
{
	char cur[64];

	if (ab_kvm_mode_param(cur, sizeof(cur)) == false)
		return -1;
	for (int i = 0; i < AB_MODE_NR; i++) {
		const struct ab_mode *md = &ab_mode_table[i];

		if (!(md->where & AB_IN_KERNEL) || (want && strcmp(want, md->name)))
			continue;
		if (ab_kvm_mode_set(md->name)) {
			size_t o = strlen(missing);
			snprintf(missing + o, mlen - o, "%s%s", o ? "," : "", md->name);
			continue;
		}
		modes[(*nmodes)++] = md->name;
	}
	if (ab_kvm_mode_set(cur) == 0 && *nmodes)
		return 0;
	if (want)
		snprintf(err, errlen,
			 "mode '%s': this kernel's kvm.mmu_age_mode does not accept it", want);
	else
		snprintf(err, errlen, "kvm.mmu_age_mode accepts none of %s",
			 ab_mode_list(AB_IN_KERNEL));
	return -1;
}

static char chosen_msg[512];

static int pick_driver(const struct ab_bench_config *cfg, char *err, size_t errlen)
{
	char *msg = chosen_msg;
	const size_t msgsz = sizeof(chosen_msg);
	size_t off = 0;
	const char *want = cfg->driver;

	if (!want || !*want)
		want = getenv("AGEBENCH_KVM_DRIVER");
	if (want && *want) {
		kvm_chosen = ab_kvm_driver_by_name(want);
		if (!kvm_chosen) {
			snprintf(err, errlen,
				 "unknown kvm driver '%s' (hook, page_idle, lru_gen, reclaim)",
				 want);
			return -1;
		}
		if (kvm_chosen->detect(msg, msgsz) != AB_KVM_PRESENT) {
			snprintf(err, errlen, "driver %s: %s", want, msg);
			return -1;
		}
		return 0;
	}
	/* the preset ages through a real caller: lru_gen (as published), else
	 * page_idle, else reclaim; the hook only when asked for */
	static const struct ab_kvm_driver *const real[] = {
	    &ab_kvm_drv_lru_gen, &ab_kvm_drv_page_idle, &ab_kvm_drv_reclaim, NULL};
	const struct ab_kvm_driver *const *order = cfg->preset ? real : ab_kvm_drivers;

	for (int i = 0; order[i]; i++) {
		enum ab_kvm_presence pr = order[i]->detect(msg, msgsz);

		if (pr == AB_KVM_PRESENT) {
			kvm_chosen = order[i];
			return 0;
		}
		off += snprintf(err + off, off < errlen ? errlen - off : 0, "%s%s: %s",
				off ? "; " : "no usable kvm aging driver: ", order[i]->name, msg);
	}
	return -1;
}

/* The modes a run measures, and what the kernel offers. */
struct kmodes {
	const char *modes[AB_MODE_NR];
	int nmodes;
	char modes_s[128]; /* comma list of modes[] */
	char missing[128]; /* kernel modes it does not accept */
	bool patched;	   /* kvm.mmu_age_mode exists */
};

/* cfg->mode or every kernel mode on a patched kernel, else native. */
static int pick_modes(const struct ab_bench_config *cfg, struct kmodes *km, char *err,
		      size_t errlen)
{
	char cur[64];

	km->patched = ab_kvm_mode_param(cur, sizeof(cur));
	if (km->patched) {
		const struct ab_mode *md = cfg->mode ? ab_mode_find(cfg->mode) : NULL;

		if (cfg->mode && (!md || !(md->where & AB_IN_KERNEL))) {
			snprintf(err, errlen, "unknown mode '%s' (%s)", cfg->mode,
				 ab_mode_list(AB_IN_KERNEL));
			return -1;
		}
		if (kernel_modes(cfg->mode, km->modes, &km->nmodes, km->missing,
				 sizeof(km->missing), err, errlen))
			return -1;
		age_stats_init();
	} else {
		if (cfg->mode && strcmp(cfg->mode, "native")) {
			snprintf(err, errlen,
				 "mode '%s' needs the patched kernel (no kvm.mmu_age_mode on %s); "
				 "only 'native' runs here",
				 cfg->mode, ab_kernel_release());
			return -1;
		}
		km->modes[km->nmodes++] = "native";
	}
	for (int i = 0; i < km->nmodes; i++)
		snprintf(km->modes_s + strlen(km->modes_s),
			 sizeof(km->modes_s) - strlen(km->modes_s), "%s%s", i ? "," : "",
			 km->modes[i]);
	return 0;
}

/* Guest memory the chosen driver can age: anonymous and THP unless it needs
 * files, then file-backed. */
static int pick_backings(enum ab_vm_backing *backings)
{
	const char *why;
	int nback = 0;

	if (!kvm_chosen->needs_file) {
		backings[nback++] = AB_VM_BACKING_ANON;
		if (ab_vm_thp_usable(&why))
			backings[nback++] = AB_VM_BACKING_THP;
	}
	backings[nback++] = AB_VM_BACKING_FILE;
	return nback;
}

/* The most vCPUs: every vCPU and the ager on a PU of its own, unless
 * allowed otherwise. */
static int max_vcpus(const struct ab_bench_config *cfg, int pus)
{
	int fit = cfg->allow_oversubscribe ? AB_VM_MAX_VCPUS : pus - 1;
	int maxv = cfg->max_vcpus > 0	      ? cfg->max_vcpus
		   : cfg->allow_oversubscribe ? pus
		   : pus > 1		      ? pus - 1
					      : 1;

	if (cfg->preset)
		maxv = cfg->max_vcpus > 0 ? cfg->max_vcpus : 112;
	if (maxv > AB_VM_MAX_VCPUS)
		maxv = AB_VM_MAX_VCPUS;
	if (maxv > fit) {
		char r[160];

		snprintf(r, sizeof(r),
			 "vcpus %d..%d: with the ager more threads than the %d PUs "
			 "(--allow-oversubscribe runs them)",
			 fit + 1, maxv, pus);
		ab_add_context("kvm_refused_points", r);
		if (!cfg->preset)
			ab_warn("kvm: refused %s", r);
		maxv = fit;
	}
	if (maxv < 1) {
		/* one PU (e.g. the lab's 1-CPU guest): the one point there
		 * is, marked oversubscribed, rather than nothing */
		ab_warn("kvm: 1 PU: the vCPU and the ager share it (oversubscribed)");
		ab_add_context("kvm_refused_points", "none: 1 PU, vcpus:1 runs "
						     "oversubscribed");
		maxv = 1;
	}
	return maxv;
}

/* kvm_params from @cfg and the PUs; returns the most vCPUs. */
static int set_params(const struct ab_bench_config *cfg)
{
	int pus;

	kvm_params.pin = cfg->pin;
	kvm_params.preset = cfg->preset != NULL;
	/* the preset's aged populate ends with the population (no minimum
	 * window: passes after it would not be contended) */
	kvm_params.min_age_ms = cfg->min_age_ms > 0 ? (uint64_t)cfg->min_age_ms
				: cfg->preset	    ? 0
				: cfg->quick	    ? 200
						    : 1000;
	kvm_params.zap_mib_s = cfg->zap_mib_s;
	kvm_params.nested_pct = (uint32_t)cfg->nested_pct;
	kvm_params.acc_rounds = cfg->quick ? 2 : 4;
	kvm_params.iters = 1;
	ab_pin_enable(cfg->pin);
	ab_topo_init();
	pus = ab_topo_nr_pus();
	if (pus < 1)
		pus = 1;
	kvm_params.pus = pus;
	return max_vcpus(cfg, pus);
}

static void kvm_context(const struct kmodes *km)
{
	ab_add_context("driver", kvm_chosen->name);
	ab_add_context("driver_detail", chosen_msg);
	ab_add_context("kvm_modes", km->modes_s);
	if (km->missing[0])
		ab_add_context("kvm_modes_not_offered", km->missing);
	ab_add_context("kvm_kernel", km->patched ? "patched (kvm.mmu_age_mode)" : "native");
	ab_add_context("kvm_kernel_release", ab_kernel_release());
	{
		/* file-backed guests: on tmpfs, "reclaim" means swapping shmem out */
		struct statfs sf;
		char fd_s[300];

		if (statfs(kvm_file_dir(), &sf) == 0)
			snprintf(fd_s, sizeof(fd_s), "%s (%s)", kvm_file_dir(),
				 sf.f_type == 0x01021994
				     ? "tmpfs: reclaim of file guests is swap-out"
				     : "page cache of a disk filesystem");
		else
			snprintf(fd_s, sizeof(fd_s), "%s (%s)", kvm_file_dir(), strerror(errno));
		ab_add_context("kvm_file_dir", fd_s);
	}
}

/* The grid's sizes: guest MiB (or MiB per vCPU) and vCPU counts. */
struct kgrid {
	int64_t *mibs;
	int nmib;
	int64_t vlist[32];
	int nvl;
	int64_t per_vcpu;
	uint64_t cap_mib;
	/* per-mode drivers (the hook): pages per notifier call, 0 = the whole
	 * range (named batch:<guest pages>, as the model names it) */
	int64_t bt[8];
	int nbt;
};

/* The preset's vCPU counts (8, 32, 112, capped to @maxv) and its note. */
static void preset_grid(struct kgrid *g, const struct kmodes *km, int maxv)
{
	static const int v4[] = {8, 32, 112};
	char note[400];

	for (int i = 0; i < 3; i++) {
		int v = v4[i] < maxv ? v4[i] : maxv;

		if (!g->nvl || g->vlist[g->nvl - 1] != v)
			g->vlist[g->nvl++] = v;
	}
	if (!g->per_vcpu)
		g->per_vcpu = 1024;
	g->nmib = 1;
	snprintf(note, sizeof(note), "driver %s, mode(s) %s, %s guest memory; %s%s",
		 kvm_chosen->name, km->modes_s,
		 kvm_chosen->needs_file ? "file-backed" : "4K anonymous",
		 maxv < 112 ? "CAPPED to " : "", maxv < 112 ? "" : "as published");
	snprintf(kvm_preset_note, sizeof(kvm_preset_note), "%s", note);
	if (maxv < 112)
		snprintf(kvm_preset_note + strlen(kvm_preset_note),
			 sizeof(kvm_preset_note) - strlen(kvm_preset_note),
			 "%d vCPU(s): this machine has %d PUs (one is the ager's)", maxv,
			 kvm_params.pus);
}

/*
 * Call sizes: --batch, else 1 (page_idle and 6.12's MGLRU ask per page) and
 * 64 (a look-around window), and the whole range in the full grid; the
 * preset one size (the first of --batch, else the whole range). Only the
 * hook has a call size of its own: the real callers decide theirs.
 */
static int grid_batches(const struct ab_bench_config *cfg, struct kgrid *g, char *err,
			size_t errlen)
{
	static const int64_t quick[] = {1, 64}, full[] = {1, 64, 0};

	g->nbt = 0;
	if (!kvm_chosen->per_mode) {
		if (cfg->batch) {
			snprintf(
			    err, errlen,
			    "--batch: the %s driver has no call size of its own (its caller "
			    "decides: page_idle and reclaim ask per page, MGLRU per its walk); "
			    "only --driver hook takes --batch",
			    kvm_chosen->name);
			return AB_REGISTER_USAGE;
		}
		return 0;
	}
	if (cfg->batch) {
		g->nbt = ab_parse_count_list("--batch", cfg->batch, true, g->bt, 8, err, errlen);
		if (g->nbt < 0)
			return AB_REGISTER_USAGE;
	} else {
		g->nbt = cfg->quick ? 2 : 3;
		memcpy(g->bt, cfg->quick ? quick : full, sizeof(int64_t) * (size_t)g->nbt);
	}
	if (cfg->preset) {
		g->bt[0] = cfg->batch ? g->bt[0] : 0;
		g->nbt = 1;
	}
	return 0;
}

static void grid_sizes(const struct ab_bench_config *cfg, const struct kmodes *km, int maxv,
		       struct kgrid *g)
{
	static int64_t mibs_quick[] = {64, 128}, mibs_full[] = {256, 1024};
	const char *s_env;

	g->mibs = cfg->quick ? mibs_quick : mibs_full;
	g->nmib = 2;
	g->nvl = 0;
	g->per_vcpu = cfg->mem_per_vcpu_mib > 0 ? cfg->mem_per_vcpu_mib : 0;
	g->cap_mib = ab_vm_mem_available() / 10 * 8 >> 20;

	/* knobs for the ctest runs (documented in docs/kvm-backend.md) */
	if (getenv("AGEBENCH_KVM_MIB") && atoi(getenv("AGEBENCH_KVM_MIB")) > 0) {
		g->mibs[0] = (atoi(getenv("AGEBENCH_KVM_MIB")) + 1) & ~1;
		g->nmib = 1;
	}
	if ((s_env = getenv("AGEBENCH_KVM_WINDOWS")) || (s_env = getenv("AGEBENCH_KVM_CALLS")))
		if (atoi(s_env) > 0)
			kvm_params.iters = atoi(s_env);
	if ((s_env = getenv("AGEBENCH_KVM_MIN_AGE_MS")) || (s_env = getenv("AGEBENCH_KVM_BASE_MS")))
		if (atoi(s_env) > 0 && cfg->min_age_ms <= 0)
			kvm_params.min_age_ms = (uint64_t)atoi(s_env);

	/* vCPU counts: 1, 2, 4, ... and maxv (quick: 1 and maxv); the preset's */
	if (cfg->preset) {
		preset_grid(g, km, maxv);
	} else {
		for (int v = 1; v <= maxv && g->nvl<32; v = v * 2> maxv && v != maxv ? maxv : v * 2)
			if (!cfg->quick || v == 1 || v == maxv)
				g->vlist[g->nvl++] = v;
	}
	if (g->per_vcpu) {
		char pv[64];

		snprintf(pv, sizeof(pv), "%lld", (long long)g->per_vcpu);
		ab_add_context("kvm_mem_per_vcpu_mib", pv);
	}
}

/* @bh's points: guest MiB x vCPU counts, per-vCPU memory capped to 80 % of
 * MemAvailable. */
static void grid_args(const struct ab_bench_config *cfg, const struct kgrid *g, ab_bench *bh)
{
	for (int i = 0; i < g->nmib; i++) {
		for (int k = 0; k < g->nvl; k++) {
			int64_t mib = g->per_vcpu ? g->per_vcpu * g->vlist[k] : g->mibs[i];

			if (g->per_vcpu && (uint64_t)mib > g->cap_mib && g->cap_mib) {
				/* capped to memory: 2 MiB multiples */
				mib = (int64_t)g->cap_mib & ~1ll;
				if (cfg->preset && !strstr(kvm_preset_note, "memory"))
					snprintf(kvm_preset_note + strlen(kvm_preset_note),
						 sizeof(kvm_preset_note) - strlen(kvm_preset_note),
						 "; memory CAPPED to 80%% of "
						 "MemAvailable (%llu MiB)",
						 (unsigned long long)g->cap_mib);
			}
			for (int q = 0; q < g->nbt; q++) {
				int64_t pages = mib * 256; /* 4 KiB gfns */
				int64_t b = g->bt[q] && g->bt[q] < pages ? g->bt[q] : pages;

				ab_bench_args(bh, (int64_t[3]){mib, g->vlist[k], b}, 3);
			}
			if (!g->nbt)
				ab_bench_args(bh, (int64_t[2]){mib, g->vlist[k]}, 2);
		}
	}
}

/* One benchmark per mode x backing (the preset: the first backing only). */
static void register_grid(const struct ab_bench_config *cfg, const struct kmodes *km,
			  const enum ab_vm_backing *backings, int nback, const struct kgrid *g)
{
	static struct kbench benches[3 * AB_MODE_NR];
	static const char *const argn[] = {"mib", "vcpus", "batch"};
	int nb = 0;

	for (int m = 0; m < km->nmodes; m++) {
		for (int b = 0; b < nback; b++) {
			struct kbench *kb = &benches[nb];
			char name[128];
			ab_bench *bh;

			if (cfg->preset && b > 0)
				break; /* one backing: 4K anonymous (file for reclaim) */
			nb++;
			kb->drv = kvm_chosen;
			snprintf(kb->mode, sizeof(kb->mode), "%s", km->modes[m]);
			kb->backing = backings[b];
			kb->p = &kvm_params;
			snprintf(name, sizeof(name), "kvm/%s/%s", kb->mode,
				 backing_tag(kb->backing));
			bh = ab_register(name, kvm_bench_fn, kb);
			ab_bench_arg_names(bh, argn, g->nbt ? 3 : 2);
			grid_args(cfg, g, bh);
			ab_bench_manual_time(bh);
			ab_bench_iterations(bh, kvm_params.iters);
			ab_bench_unit(bh, 'u');
			if (cfg->reps > 0)
				ab_bench_repetitions(bh, cfg->reps);
		}
	}
}

/* --nested where KVM offers its guests no nested SVM: bad input
 * (AB_REGISTER_USAGE), why; no usable KVM at all: -1 (unavailable). */
static int nested_check(int pct, char *err, size_t errlen)
{
	char why[400];
	int kind = ab_vm_nested_probe(NULL, why, sizeof(why));

	if (kind == AB_VM_NESTED_SVM)
		return 0;
	snprintf(err, errlen, "--nested %d: %s", pct, why);
	return kind < 0 ? -1 : AB_REGISTER_USAGE;
}

int ab_kvm_register(const struct ab_bench_config *cfg, char *err, size_t errlen)
{
	struct kmodes km = {.nmodes = 0};
	enum ab_vm_backing backings[3];
	struct kgrid g = {.nbt = 0};
	int nback, maxv, nerr;

	ab_cleanup_install();
	if (ab_kvm_dev_kvm_check(err, errlen))
		return -1;
	if (pick_driver(cfg, err, errlen))
		return -1;
	if (grid_batches(cfg, &g, err, errlen)) /* bad input: before any setting changes */
		return AB_REGISTER_USAGE;
	if (cfg->nested_pct && (nerr = nested_check(cfg->nested_pct, err, errlen)))
		return nerr;
	if (pick_modes(cfg, &km, err, errlen))
		return -1;
	nback = pick_backings(backings);
	maxv = set_params(cfg);
	kvm_context(&km);
	grid_sizes(cfg, &km, maxv, &g);
	register_grid(cfg, &km, backings, nback, &g);
	if (cfg->preset)
		ab_add_context("preset", kvm_preset_note);
	if (cfg->nested_pct) {
		char b[96];

		snprintf(b, sizeof(b), "%d%% of each VM's pages touched by its L3 (shadow MMU)",
			 cfg->nested_pct);
		ab_add_context("kvm_nested", b);
	}
	/* the bar: populate at least as fast as the kernel's demand_paging_test */
	if (!getenv("AGEBENCH_KVM_NO_DPT") && !cfg->preset)
		kvm_dpt_compare(maxv, cfg->quick ? (32ull << 20) : (128ull << 20));
	return 0;
}
