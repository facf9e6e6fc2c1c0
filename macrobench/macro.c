// SPDX-License-Identifier: GPL-2.0
/*
 * macro.c - `agebench macro`: reclaim cost and outcome with VMs under memory
 * pressure, per kvm.mmu_age_mode (docs/macrobench.md).
 *
 * One repetition = fresh VMs, each a child process in its own memory cgroup
 * whose limit is below the VM's memory; the guest fills its memory, then
 * accesses it with a hot/cold skew while the kernel reclaims as it schedules
 * it (limit reclaim, kswapd). Kernel statistics are read right before and
 * right after the access phase. Repetitions of all modes run in one
 * shuffled order (seed recorded); afterwards they are handed to Google
 * Benchmark through the shim (one iteration per repetition, manual time =
 * the access phase), so results.json is an ordinary agebench run.
 */
#define _GNU_SOURCE
#include "macro_priv.h"

#include <time.h>

struct macro_opts mopt;
const char *mac_modes[AB_MODE_NR];
int mac_nmodes;
bool mac_patched;
struct ab_macro_hier mac_hier;
struct rep mac_reps[MAX_REPS];
int mac_nreps;
struct bench mac_benches[AB_MODE_NR];
char mac_lru_desc[160];
char mac_zram_dev[64];
char mac_out_dir[512];
static volatile bool mac_out_created;

static void zram_cleanup(void *arg)
{
	(void)arg;
	if (mac_zram_dev[0])
		ab_macro_zram_teardown(mac_zram_dev);
	mac_zram_dev[0] = 0;
}

static void out_cleanup(void *arg)
{
	(void)arg;
	if (mac_out_created)
		rmdir(mac_out_dir); /* only if still empty */
}

static void ctx_kv(const char *k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void ctx_kv(const char *k, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	ab_add_context(k, buf);
}

/* Pre-flight checks, each a message naming the cause; 0 or the exit status. */
static int preflight(void)
{
	char msg[600];
	int rc;

	if (mopt.wl == WL_CGROUP) {
		char f[700];
		struct stat sb;

		snprintf(f, sizeof(f), "%s/memory.stat", mopt.cgroup);
		if (stat(mopt.cgroup, &sb) || !S_ISDIR(sb.st_mode))
			return mac_bad("--cgroup", mopt.cgroup, "no such cgroup directory");
		if (access(f, R_OK))
			return mac_bad(
			    "--cgroup", mopt.cgroup,
			    "not a memory cgroup (no memory.stat; give the directory under "
			    "the memory hierarchy, e.g. /sys/fs/cgroup/memory/...)");
	}
	if (mopt.wl == WL_MGMT && !mopt.mgmt)
		mopt.mgmt =
		    getenv("AGEBENCH_MGMT") ? getenv("AGEBENCH_MGMT") : AB_MACRO_MGMT_DEFAULT;
	if (mopt.wl == WL_MGMT && access(mopt.mgmt, X_OK)) {
		ab_warn("macro: --workload mgmt: %s: %s (build it: cmake --build build --target "
			"macro-mgmt, or --mgmt PATH)",
			mopt.mgmt, strerror(errno));
		return AB_EXIT_SKIP;
	}
	if (mopt.wl != WL_CGROUP) {
		int fd = open(getenv("AB_VM_KVM_DEV") ? getenv("AB_VM_KVM_DEV") : "/dev/kvm",
			      O_RDWR | O_CLOEXEC);

		if (fd < 0) {
			ab_warn("macro: /dev/kvm: %s%s", strerror(errno),
				errno == EACCES ? " (add yourself to group kvm or run as root)"
						: "");
			return AB_EXIT_SKIP;
		}
		close(fd);
	}
	if ((rc = ab_macro_hier_probe(&mac_hier, msg, sizeof(msg)))) {
		ab_warn("macro: memory cgroups: %s", msg);
		return AB_EXIT_SKIP;
	}
	if (mopt.reclaim_ms && mac_hier.mem_version != 2)
		return mac_bad(
		    "--reclaim-loop", "",
		    "needs cgroup v2 memory.reclaim; this machine's memory controller is v1");
	if (mopt.wl != WL_CGROUP && mopt.backing == AB_VM_BACKING_FILE &&
	    access(mopt.file_dir, W_OK))
		return mac_bad("--file-dir", mopt.file_dir, strerror(errno));
	ab_macro_reap_stale(&mac_hier);
	ab_macro_kswapd_init();
	(void)ab_macro_lru_gen_enabled(mac_lru_desc, sizeof(mac_lru_desc));
	if (mopt.zram_mib) {
		if ((rc = ab_macro_zram_setup((uint64_t)mopt.zram_mib << 20, mac_zram_dev,
					      sizeof(mac_zram_dev), msg, sizeof(msg)))) {
			ab_warn("macro: %s", msg);
			mac_zram_dev[0] = 0;
			return rc == -ENODEV ? AB_EXIT_SKIP : AB_EXIT_FAIL;
		}
		ab_cleanup_push(zram_cleanup, NULL);
	}
	if (mopt.wl == WL_MGMT && !ab_macro_swap_total() && mopt.limit_pct < 100) {
		ab_warn("macro: --workload mgmt: anonymous guest memory under a limit needs swap "
			"(none active: --zram MIB, or --limit 100)");
		return AB_EXIT_SKIP;
	}
	if (mac_patched && (rc = ab_vm_age_mode_save(NULL))) {
		ab_warn("macro: cannot save %s: %s", AB_VM_AGE_MODE_PARAM, strerror(-rc));
		return AB_EXIT_FAIL;
	}
	return 0;
}

/* The output directory (--out or results/macro-<timestamp>), made. */
static int make_out_dir(void)
{
	int rc;

	if (mopt.out) {
		snprintf(mac_out_dir, sizeof(mac_out_dir), "%s", mopt.out);
	} else {
		time_t t = time(NULL);
		struct tm tm;

		localtime_r(&t, &tm);
		char ts[32];

		strftime(ts, sizeof(ts), "%Y%m%d-%H%M%S", &tm);
		snprintf(mac_out_dir, sizeof(mac_out_dir), "results/macro-%s", ts);
	}
	mopt.out = mac_out_dir;
	struct stat sb;

	mac_out_created = stat(mac_out_dir, &sb) != 0;
	if ((rc = ab_mkdir_p(mac_out_dir)))
		return mac_bad("--out", mac_out_dir, strerror(-rc));
	ab_cleanup_push(out_cleanup, NULL);
	return 0;
}

/* Names and the shuffled order of all repetitions. */
static void plan_reps(int *order)
{
	for (int m = 0; m < mac_nmodes; m++) {
		struct bench *b = &mac_benches[m];

		b->mode = m;
		if (mopt.wl == WL_CGROUP)
			snprintf(b->name, sizeof(b->name), "macro/%s/cgroup/vms:1", mac_modes[m]);
		else
			snprintf(b->name, sizeof(b->name), "macro/%s/%s/vms:%d/mib:%llu/limit:%d",
				 mac_modes[m], mac_wl_names[mopt.wl], mopt.vms,
				 (unsigned long long)mopt.mib, mopt.limit_pct);
		for (int k = 0; k < mopt.reps; k++) {
			struct rep *r = &mac_reps[mac_nreps++];

			memset(r, 0, sizeof(*r));
			r->mode = m;
			r->rep = k;
		}
	}
	uint64_t rng = mopt.seed;

	for (int i = 0; i < mac_nreps; i++)
		order[i] = i;
	for (int i = mac_nreps - 1; i > 0; i--) {
		int j = (int)(ab_rng_next(&rng) % (uint64_t)(i + 1)), t = order[i];

		order[i] = order[j];
		order[j] = t;
	}
}

/* The run's context in results.json: the machine, the setup, the order. */
static void record_context(const int *order)
{
	char buf[512];

	ctx_kv("agebench_version", "%s", AB_VERSION);
	ctx_kv("kernel_release", "%s", ab_kernel_release());
	ctx_kv("backend", "macro");
	ctx_kv("driver", "memcg");
	ctx_kv("hwloc_topology", "%s", ab_topo_summary());
	ctx_kv("macro_workload", "%s", mac_wl_names[mopt.wl]);
	ctx_kv("macro_kernel", "%s",
	       mac_patched ? "patched (kvm.mmu_age_mode)" : "stock (no kvm.mmu_age_mode): native");
	{
		char l[256] = "";

		for (int m = 0; m < mac_nmodes; m++)
			snprintf(l + strlen(l), sizeof(l) - strlen(l), "%s%s", m ? "," : "",
				 mac_modes[m]);
		ctx_kv("macro_modes", "%s", l);
	}
	ctx_kv("macro_lru", "%s", mac_lru_desc);
	ctx_kv("macro_cgroup", "memory v%d under %s%s%s", mac_hier.mem_version, mac_hier.mem_parent,
	       mac_hier.v2_parent[0] ? "; PSI/cpu.stat from v2 " : "; no cgroup v2 (no PSI)",
	       mac_hier.v2_parent);
	if (mopt.wl != WL_CGROUP) {
		ctx_kv("macro_backing", "%s%s%s",
		       ab_vm_backing_name((enum ab_vm_backing)mopt.backing),
		       mopt.backing == AB_VM_BACKING_FILE ? " in " : "",
		       mopt.backing == AB_VM_BACKING_FILE ? mopt.file_dir : "");
		ctx_kv("macro_pressure", "%s = %d%% of %llu MiB + %llu MiB per VM%s%s",
		       mac_hier.mem_version == 2 ? "memory.max" : "memory.limit_in_bytes",
		       mopt.limit_pct, (unsigned long long)mopt.mib,
		       (unsigned long long)(HARNESS_SLACK >> 20),
		       mopt.reclaim_ms ? "; memory.reclaim loop every ms: " : "",
		       mopt.reclaim_ms ? (snprintf(buf, sizeof(buf), "%d", mopt.reclaim_ms), buf)
				       : "");
		ctx_kv("macro_vcpus", "%d", mopt.vcpus);
	}
	if (mopt.wl == WL_SYNTH)
		ctx_kv("macro_access", "hot/cold: hot_pct %d, cold pages every %d passes, %s, %s",
		       mopt.hot_pct, mopt.cold_every,
		       mopt.backing == AB_VM_BACKING_FILE ? "read" : "write",
		       mopt.ops ? "ops-bound" : "time-bound");
	if (mopt.nested_pct)
		ctx_kv("macro_nested", "%d%% of each VM's pages touched by its L3 (shadow MMU)",
		       mopt.nested_pct);
	ctx_kv("macro_phase", "%s",
	       mopt.ops ? "ops" : (snprintf(buf, sizeof(buf), "%g s", mopt.seconds), buf));
	ctx_kv(
	    "macro_swap", "%s",
	    mac_zram_dev[0]
		? (snprintf(buf, sizeof(buf), "zram %s, %d MiB", mac_zram_dev, mopt.zram_mib), buf)
	    : ab_macro_swap_total() ? (snprintf(buf, sizeof(buf), "%llu MiB (existing)",
						(unsigned long long)(ab_macro_swap_total() >> 20)),
				       buf)
				    : "none");
	ctx_kv("macro_seed", "%llu", (unsigned long long)mopt.seed);
	{
		char *ol = malloc((size_t)mac_nreps * 24 + 1);

		ol[0] = 0;
		for (int i = 0; i < mac_nreps; i++)
			sprintf(ol + strlen(ol), "%s%s#%d", i ? "," : "",
				mac_modes[mac_reps[order[i]].mode], mac_reps[order[i]].rep);
		ab_add_context("macro_order", ol);
		free(ol);
	}
	ctx_kv("macro_pgscan", "%s",
	       mac_hier.mem_version == 2
		   ? "memcg_pgscan/memcg_pgsteal from the VMs' memory.stat"
		   : "cgroup v1 has no per-memcg pgscan: sys_pgscan (system-wide "
		     "/proc/vmstat) and memcg_pgpgout");
}

/* Every repetition in @order, with progress; returns how many failed. */
static int run_reps(const int *order)
{
	if (!mopt.quiet)
		fprintf(stderr,
			"agebench: macro: %d repetitions (%d mode%s x %d), %s, %d VM%s x %llu MiB, "
			"limit %d%%, %s backing, about %.0f s; results in %s\n",
			mac_nreps, mac_nmodes, mac_nmodes > 1 ? "s" : "", mopt.reps,
			mac_wl_names[mopt.wl], mopt.vms, mopt.vms > 1 ? "s" : "",
			(unsigned long long)mopt.mib, mopt.limit_pct,
			ab_vm_backing_name((enum ab_vm_backing)mopt.backing),
			/* a guess until the first repetition: phase + fill at ~100 MiB/s */
			mac_nreps *
			    (mopt.seconds + 0.5 + (double)(mopt.mib * (uint64_t)mopt.vms) / 100.0),
			mac_out_dir);

	uint64_t t_start = ab_now_ns();
	int failed = 0;

	for (int i = 0; i < mac_nreps; i++) {
		struct rep *r = &mac_reps[order[i]];
		uint64_t t0 = ab_now_ns();

		r->order = i;
		r->raw = json_object();
		if (!mac_set_mode(mac_modes[r->mode], r->err, sizeof(r->err)))
			r->ok = false;
		else if (mopt.wl == WL_CGROUP)
			mac_run_rep_cgroup(r);
		else
			mac_run_rep_vms(r);
		struct bench *b = &mac_benches[r->mode];

		b->idx[b->n++] = order[i];
		failed += !r->ok;
		if (!r->ok)
			ab_warn("macro: %s rep %d failed: %s", b->name, r->rep, r->err);
		if (!mopt.quiet) {
			double el = (double)(ab_now_ns() - t_start) / 1e9;
			double left = el / (i + 1) * (mac_nreps - i - 1);

			fprintf(stderr, "[%d/%d] %s %.1f s%s, about %.0f s left\n", i + 1,
				mac_nreps, b->name, (double)(ab_now_ns() - t0) / 1e9,
				r->ok ? "" : " FAILED", left);
		}
	}
	return failed;
}

/* results.json through the shim, like any agebench run; raw.json; the verdict. */
static int write_results(int argc, char **argv, int failed)
{
	for (int m = 0; m < mac_nmodes; m++) {
		ab_bench *bh = ab_register(mac_benches[m].name, mac_replay, &mac_benches[m]);

		ab_bench_manual_time(bh);
		ab_bench_iterations(bh, 1);
		ab_bench_unit(bh, 'm');
		ab_bench_repetitions(bh, mopt.reps);
	}
	char final[600];
	struct finish_arg fa = {.argc = argc, .argv = argv};
	struct ab_run_opts ro = {.json_out = final,
				 .finish = mac_finish_json,
				 .finish_arg = &fa,
				 .progress =
				     mopt.verbose ? AB_PROGRESS_VERBOSE : AB_PROGRESS_QUIET};

	snprintf(final, sizeof(final), "%s/results.json", mac_out_dir);
	if (mac_write_raw() || ab_run(&ro) <= 0)
		return AB_EXIT_FAIL;
	mac_out_created = false;
	mac_copy_macro_json(final);
	printf("results: %s\n", final);
	if (mopt.assert_pipeline && mac_assert_pipeline())
		return AB_EXIT_FAIL;
	if (failed) {
		ab_warn("macro: %d of %d repetitions failed (marked in results.json, not averaged)",
			failed, mac_nreps);
		return AB_EXIT_FAIL;
	}
	return AB_EXIT_OK;
}

int ab_macro_main(int argc, char **argv)
{
	int order[MAX_REPS];
	int rc;

	/* usage first (exit 2), then the machine */
	if ((rc = mac_parse(argc, argv)) || (rc = mac_check_paths()) || (rc = mac_check_nested()))
		return rc;
	mac_probe_modes();
	if ((rc = mac_select_modes(mopt.mode_arg)))
		return rc;
	mac_size_defaults();
	if ((rc = preflight()) || (rc = make_out_dir()))
		return rc;
	plan_reps(order);
	record_context(order);
	return write_results(argc, argv, run_reps(order));
}
