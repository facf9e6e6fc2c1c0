// SPDX-License-Identifier: GPL-2.0
/*
 * macro_opts.c - options of `agebench macro`: parsing, the usage text, the
 * modes to sweep, the size defaults. Every usage error is found here, before
 * anything looks at the machine (exit 2).
 */
#define _GNU_SOURCE
#include "ab_vm_nested.h"
#include "macro_priv.h"

#include <getopt.h>
#include <limits.h>

const char *const mac_wl_names[3] = {"synthetic", "mgmt", "cgroup"};

/* ---- options ----------------------------------------------------------------- */

void mac_usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: agebench macro [options]\n"
	    "\n"
	    "Reclaim cost and outcome with VMs under memory pressure, per kvm.mmu_age_mode:\n"
	    "each VM in its own memory cgroup limited below its memory, the kernel reclaiming\n"
	    "as it schedules it. Writes DIR/results.json (Google Benchmark format, names\n"
	    "macro/<mode>/<workload>/vms:N/mib:M/limit:PCT), DIR/raw.json (kernel counter\n"
	    "deltas per repetition) and prints a per-mode table. docs/macrobench.md.\n"
	    "\n"
	    "  --mode LIST|all   modes to sweep (default all the kernel offers; stock: native)\n"
	    "  --workload W      synthetic (default: our VM library's guest, hot/cold),\n"
	    "                    mgmt (the kernel's max_guest_memory_test)\n"
	    "  --cgroup PATH     watch a VM you run in cgroup PATH instead (no VMs created)\n"
	    "  --vms N           VMs, each in its own memcg (default: from the machine)\n"
	    "  --vcpus N         vCPUs per VM (default 1)\n"
	    "  --mib M           guest memory per VM, MiB, even (default: from MemAvailable)\n"
	    "  --limit PCT       memory limit = PCT%% of the guest memory + 16 MiB (default 50)\n"
	    "  --hot-pct P       hot share of the guest pages (default 25)\n"
	    "  --cold-every K    cold pages touched every K-th pass (default 4; 0 never)\n"
	    "  --seconds S       access phase per repetition (default 2 quick, 20 full)\n"
	    "  --ops N           access phase until N operations per VM instead\n"
	    "  --reps N          repetitions per mode (default 3 quick, 5 full)\n"
	    "  --backing B       file (page cache) or anon (needs swap); default file\n"
	    "                    without swap, anon with swap\n"
	    "  --file-dir DIR    where file-backed guests live (default /var/tmp)\n"
	    "  --zram MIB        set up swap on zram for the run (removed afterwards)\n"
	    "  --reclaim-loop MS also write memory.reclaim every MS ms (cgroup v2)\n"
	    "  --mgmt PATH       max_guest_memory_test binary (default: the build's)\n"
	    "  --seed N          seed of the repetition order and the hot set\n"
	    "  --nested PCT      PCT%% of each VM's pages are touched by the guest's own guest\n"
	    "                    (L3), which KVM maps through its shadow MMU (needs nested SVM;\n"
	    "                    synthetic workload; docs/nested.md)\n"
	    "  --quick           small and short (1 VM, 64 MiB, 2 s, 3 reps)\n"
	    "  --out DIR         output directory (default results/macro-<timestamp>)\n"
	    "  --assert-pipeline exit 1 unless every repetition reclaimed, refaulted, ran\n"
	    "  -v, -q, -h        verbose, quiet, this help\n"
	    "\n"
	    "Exit status: 0 ok, 1 a repetition failed, 2 bad usage, 77 this machine cannot.\n");
}

int mac_bad(const char *flag, const char *arg, const char *why)
{
	ab_warn("macro: %s %s: %s", flag, arg ? arg : "", why);
	return AB_EXIT_USAGE;
}

static int num(const char *flag, const char *arg, long lo, long hi, long *out)
{
	char *end;

	errno = 0;
	long v = strtol(arg, &end, 10);

	if (errno || end == arg || *end || v < lo || v > hi) {
		char why[96];

		snprintf(why, sizeof(why), "expected an integer in %ld..%ld", lo, hi);
		return mac_bad(flag, arg, why);
	}
	*out = v;
	return 0;
}

/* Modes the running kernel accepts (patched), or native. */
void mac_probe_modes(void)
{
	int ids[AB_MODE_NR];
	char cur[64];

	mac_nmodes = 0;
	mac_patched = !ab_vm_age_mode_get(NULL, cur, sizeof(cur));
	int n = mac_patched ? ab_vm_age_modes_accepted(NULL, ids) : 0;

	for (int i = 0; i < n; i++)
		mac_modes[mac_nmodes++] = ab_mode_name((enum ab_mode_id)ids[i]);
	if (!mac_nmodes) {
		mac_patched = false;
		mac_modes[mac_nmodes++] = ab_mode_name(AB_MODE_NATIVE);
	}
}

int mac_select_modes(const char *arg)
{
	const char *avail[AB_MODE_NR];
	int na = mac_nmodes, k = 0;
	char list[256] = "";

	if (!arg || !strcmp(arg, "all"))
		return 0;
	memcpy(avail, mac_modes, sizeof(avail));
	for (int i = 0; i < na; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? "," : "",
			 avail[i]);
	char *dup = strdup(arg), *save = NULL;

	for (char *m = strtok_r(dup, ",", &save); m; m = strtok_r(NULL, ",", &save)) {
		int j;
		char why[400];

		for (j = 0; j < na && strcmp(avail[j], m); j++) {
		}
		if (j == na) {
			snprintf(why, sizeof(why), "%s mode '%s'; this kernel offers: %s%s",
				 ab_mode_find(m) ? "unavailable" : "unknown", m, list,
				 mac_patched ? "" : " (no kvm.mmu_age_mode: stock kernel)");
			free(dup);
			return mac_bad("--mode", arg, why);
		}
		mac_modes[k++] = avail[j];
	}
	free(dup);
	mac_nmodes = k;
	return 0;
}

/* The options with a number: 0, AB_EXIT_USAGE, or usage for an unknown one. */
static int parse_num_opt(int c, const char *arg)
{
	long v;

	switch (c) {
	case 'n':
		if (num("--vms", arg, 1, AB_MACRO_MAX_VMS, &v))
			return AB_EXIT_USAGE;
		mopt.vms = (int)v;
		break;
	case 'V':
		if (num("--vcpus", arg, 1, AB_VM_MAX_VCPUS, &v))
			return AB_EXIT_USAGE;
		mopt.vcpus = (int)v;
		break;
	case 'M':
		if (num("--mib", arg, 2, 1 << 20, &v))
			return AB_EXIT_USAGE;
		if (v % 2)
			return mac_bad("--mib", arg, "must be even (guest memory comes in 2 MiB)");
		mopt.mib = (uint64_t)v;
		break;
	case 'L':
		if (num("--limit", arg, 1, 100, &v))
			return AB_EXIT_USAGE;
		mopt.limit_pct = (int)v;
		break;
	case 'H':
		if (num("--hot-pct", arg, 1, 100, &v))
			return AB_EXIT_USAGE;
		mopt.hot_pct = (int)v;
		break;
	case 'C':
		if (num("--cold-every", arg, 0, 1 << 20, &v))
			return AB_EXIT_USAGE;
		mopt.cold_every = (int)v;
		break;
	case 's': {
		char *end;

		mopt.seconds = strtod(arg, &end);
		if (end == arg || *end || !(mopt.seconds > 0) || mopt.seconds > 86400)
			return mac_bad("--seconds", arg, "expected a number of seconds > 0");
		break;
	}
	case 'O':
		if (num("--ops", arg, 1, LONG_MAX, &v))
			return AB_EXIT_USAGE;
		mopt.ops = (uint64_t)v;
		break;
	case 'r':
		if (num("--reps", arg, 1, MAX_REPS / AB_MODE_NR / 4, &v))
			return AB_EXIT_USAGE;
		mopt.reps = (int)v;
		break;
	case 'z':
		if (num("--zram", arg, 16, 1 << 20, &v))
			return AB_EXIT_USAGE;
		mopt.zram_mib = (int)v;
		break;
	case 'N':
		if (num("--nested", arg, 0, 100, &v))
			return AB_EXIT_USAGE;
		mopt.nested_pct = (int)v;
		break;
	case 'R':
		if (num("--reclaim-loop", arg, 1, 60000, &v))
			return AB_EXIT_USAGE;
		mopt.reclaim_ms = (int)v;
		break;
	case 'S': {
		char *end;

		errno = 0;
		mopt.seed = strtoull(arg, &end, 0);
		if (errno || end == arg || *end)
			return mac_bad("--seed", arg, "expected an integer");
		break;
	}
	default:
		mac_usage(stderr);
		return AB_EXIT_USAGE;
	}
	return 0;
}

/* One option: 0 or the exit status (--help exits). */
static int parse_opt(int c, const char *arg)
{
	long v;

	switch (c) {
	case 'm':
		mopt.mode_arg = arg;
		break;
	case 'w':
		for (v = 0; v < 2 && strcmp(arg, mac_wl_names[v]); v++) {
		}
		if (v == 2)
			return mac_bad("--workload", arg, "expected synthetic or mgmt");
		mopt.wl = (enum workload)v;
		break;
	case 'c':
		mopt.cgroup = arg;
		mopt.wl = WL_CGROUP;
		break;
	case 'b':
		if ((mopt.backing = ab_vm_backing_parse(arg)) < 0 ||
		    mopt.backing == AB_VM_BACKING_THP)
			return mac_bad("--backing", arg, "expected file or anon");
		break;
	case 'F':
		mopt.file_dir = arg;
		break;
	case 'g':
		mopt.mgmt = arg;
		break;
	case 'Q':
		mopt.quick = true;
		break;
	case 'o':
		mopt.out = arg;
		break;
	case 'A':
		mopt.assert_pipeline = true;
		break;
	case 'v':
		mopt.verbose = true;
		break;
	case 'q':
		mopt.quiet = true;
		break;
	case 'h':
		mac_usage(stdout);
		exit(AB_EXIT_OK);
	default:
		return parse_num_opt(c, arg);
	}
	return 0;
}

int mac_parse(int argc, char **argv)
{
	static const struct option lo[] = {{"mode", required_argument, NULL, 'm'},
					   {"workload", required_argument, NULL, 'w'},
					   {"cgroup", required_argument, NULL, 'c'},
					   {"vms", required_argument, NULL, 'n'},
					   {"vcpus", required_argument, NULL, 'V'},
					   {"mib", required_argument, NULL, 'M'},
					   {"limit", required_argument, NULL, 'L'},
					   {"hot-pct", required_argument, NULL, 'H'},
					   {"cold-every", required_argument, NULL, 'C'},
					   {"seconds", required_argument, NULL, 's'},
					   {"ops", required_argument, NULL, 'O'},
					   {"reps", required_argument, NULL, 'r'},
					   {"backing", required_argument, NULL, 'b'},
					   {"file-dir", required_argument, NULL, 'F'},
					   {"zram", required_argument, NULL, 'z'},
					   {"reclaim-loop", required_argument, NULL, 'R'},
					   {"mgmt", required_argument, NULL, 'g'},
					   {"seed", required_argument, NULL, 'S'},
					   {"nested", required_argument, NULL, 'N'},
					   {"quick", no_argument, NULL, 'Q'},
					   {"out", required_argument, NULL, 'o'},
					   {"assert-pipeline", no_argument, NULL, 'A'},
					   {"verbose", no_argument, NULL, 'v'},
					   {"quiet", no_argument, NULL, 'q'},
					   {"help", no_argument, NULL, 'h'},
					   {0, 0, 0, 0}};
	int c, rc;

	mopt = (struct macro_opts){.limit_pct = 50,
				   .hot_pct = 25,
				   .cold_every = 4,
				   .backing = -1,
				   .vcpus = 1,
				   .seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20)};
	optind = 1;
	while ((c = getopt_long(argc, argv, "vqh", lo, NULL)) != -1)
		if ((rc = parse_opt(c, optarg)))
			return rc;
	if (optind < argc)
		return mac_bad("argument", argv[optind], "unexpected (see agebench macro --help)");
	if (!mopt.seed)
		mopt.seed = 1;
	return 0;
}

/* Defaults sized from the machine (hwloc PUs, MemAvailable). */
void mac_size_defaults(void)
{
	uint64_t avail = ab_vm_mem_available() >> 20;
	int pus = ab_topo_nr_pus();

	if (!mopt.vms)
		mopt.vms = mopt.quick || mopt.wl == WL_CGROUP ? 1
			   : pus / 2 > 8		      ? 8
			   : pus / 2			      ? pus / 2
							      : 1;
	if (!mopt.mib) {
		uint64_t m = avail / 4 / (uint64_t)mopt.vms;

		if (mopt.wl == WL_MGMT)
			m = 1024; /* the selftest sizes in GiB */
		else if (mopt.quick)
			m = 64;
		else
			m = m < 64 ? 64 : m > 1024 ? 1024 : m;
		mopt.mib = m & ~1ull;
	}
	if (!mopt.seconds)
		mopt.seconds = mopt.quick ? 2 : 20;
	if (!mopt.reps)
		mopt.reps = mopt.quick ? 3 : 5;
	if (mopt.backing < 0)
		mopt.backing = ab_macro_swap_total() || mopt.zram_mib ? AB_VM_BACKING_ANON
								      : AB_VM_BACKING_FILE;
	if (!mopt.file_dir) {
		const char *e = getenv("AGEBENCH_KVM_FILE_DIR");
		struct stat sb;

		mopt.file_dir = e ? e : stat("/var/tmp", &sb) == 0 ? "/var/tmp" : "/tmp";
	}
}

/*
 * The options that name files and directories, checked before anything
 * looks at the machine (/dev/kvm, cgroups, swap): a usage error (2) names
 * the option, the path and what is wrong with it.
 */
int mac_check_paths(void)
{
	struct stat sb;

	if (mopt.out && (stat(mopt.out, &sb) ? errno == ENOTDIR : !S_ISDIR(sb.st_mode)))
		return mac_bad("--out", mopt.out, strerror(ENOTDIR));
	if (mopt.file_dir && stat(mopt.file_dir, &sb))
		return mac_bad("--file-dir", mopt.file_dir, strerror(errno));
	if (mopt.file_dir && !S_ISDIR(sb.st_mode))
		return mac_bad("--file-dir", mopt.file_dir, strerror(ENOTDIR));
	if (mopt.mgmt && access(mopt.mgmt, X_OK))
		return mac_bad("--mgmt", mopt.mgmt, strerror(errno));
	return 0;
}

/* --nested: only our guest has an L3, and only where KVM offers its guests
 * nested SVM; checked before anything on the machine changes. */
int mac_check_nested(void)
{
	char why[512], arg[16];
	int kind;

	if (!mopt.nested_pct)
		return 0;
	snprintf(arg, sizeof(arg), "%d", mopt.nested_pct);
	if (mopt.wl != WL_SYNTH)
		return mac_bad(
		    "--nested", arg,
		    "applies to --workload synthetic (agebench's own guest runs the L3)");
	kind = ab_vm_nested_probe(NULL, why, sizeof(why));
	if (kind < 0)
		return 0; /* no usable KVM: the preflight says so (77) */
	if (kind != AB_VM_NESTED_SVM)
		return mac_bad("--nested", arg, why);
	return 0;
}
