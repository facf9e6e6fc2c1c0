// SPDX-License-Identifier: GPL-2.0
/*
 * abvm-run - create an abvm VM, run the guest program, report timings.
 *
 * The first pass of a write run goes over untouched memory: it measures
 * population (demand faulting) speed, comparable to the kernel selftest
 * demand_paging_test. Also used by the abvm tests for error paths and
 * teardown (--hold, --hold-after-destroy).
 */
#define _GNU_SOURCE
#include "ab_vm.h"
#include "ab_vm_nested.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ab_common.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: abvm-run [options]\n"
		"  --mem SIZE          test region (K/M/G suffix), multiple of 2M (default 64M)\n"
		"  --vcpus N           vCPUs (default 1)\n"
		"  --backing B         anon | thp | file (default anon)\n"
		"  --file-dir DIR      directory of the file backing\n"
		"  --named-file        visible backing file (unlinked on exit/signal)\n"
		"  --op O              write | read (default write)\n"
		"  --order O           seq | random | hotcold (default seq)\n"
		"  --passes N          passes after the first (population) pass (default 2)\n"
		"  --hot-pct P --cold-every N --seed S   hot/cold and random parameters\n"
		"  --latency           record per-access latency in the first pass\n"
		"  --pin               pin vCPU i to role 1+i (ab_pin_self)\n"
		"  --cpl0              guest in ring 0 with a TLB flush per command\n"
		"  --nested PCT        PCT%% of each vCPU's pages touched by a nested guest (L3)\n"
		"  --cgroup DIR        create cgroup v2 DIR, run in it, remove it at exit/signal\n"
		"  --prefault P        host | kvm | both: ab_vm_prefault() before the first pass\n"
		"  --repeat N          create/run/destroy N times (default 1)\n"
		"  --hold              after the run, print 'ready' and wait for a signal\n"
		"  --hold-after-destroy  after destroy, print 'destroyed' and wait for a signal\n");
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 0);
	return errno || end == s || *end || s[0] == '-' ? -1 : 0;
}

/* Create cgroup @dir, register it for teardown, move this process in. */
static int join_cgroup(const char *dir)
{
	char parent[512], procs[600], pid[24];
	char *slash;
	int fd;

	snprintf(parent, sizeof(parent), "%s", dir);
	slash = strrchr(parent, '/');
	if (!slash || slash == parent) {
		ab_warn("--cgroup %s: need an absolute path below a cgroup v2 mount", dir);
		return -1;
	}
	*slash = 0;
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", parent);
	if (access(procs, W_OK)) {
		ab_warn("--cgroup %s: %s: %s (not a cgroup v2 directory?)", dir, procs,
			strerror(errno));
		return -1;
	}
	if (mkdir(dir, 0755)) {
		ab_warn("--cgroup: mkdir %s: %s", dir, strerror(errno));
		return -1;
	}
	if (ab_cleanup_add(AB_CLEANUP_CGROUP, dir, procs) < 0) {
		rmdir(dir);
		ab_warn("--cgroup: cleanup registry full");
		return -1;
	}
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", dir);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	fd = open(procs, O_WRONLY);
	if (fd < 0 || write(fd, pid, strlen(pid)) < 0) {
		ab_warn("--cgroup: joining %s: %s", dir, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static void wait_signal(void)
{
	for (;;)
		pause();
}

struct run_opts {
	struct ab_vm_config cfg;
	struct ab_vm_work w;
	uint64_t passes, repeat;
	bool hold, hold_destroyed;
	const char *cgroup;
	unsigned int prefault;
};

/* Index of @arg in @names (NULL-terminated), or die naming the choices. */
static int pick(const char *opt, const char *arg, const char *const names[])
{
	char all[128] = "";

	for (int i = 0; names[i]; i++) {
		if (!strcmp(arg, names[i]))
			return i;
		snprintf(all + strlen(all), sizeof(all) - strlen(all), "%s%s", i ? ", " : "",
			 names[i]);
	}
	ab_die(AB_EXIT_USAGE, "--%s: '%s' (%s)", opt, arg, all);
}

static uint64_t num(const char *opt, const char *arg, uint64_t lo, uint64_t hi)
{
	uint64_t v;

	if (parse_u64(arg, &v))
		ab_die(AB_EXIT_USAGE, "--%s: bad number '%s'", opt, arg);
	if (v < lo || v > hi)
		ab_die(AB_EXIT_USAGE, "--%s: '%s' not in %" PRIu64 "..%" PRIu64, opt, arg, lo, hi);
	return v;
}

/* What the guest does: --op --order --hot-pct --cold-every --seed --passes */
static bool parse_work_opt(int c, const char *arg, struct run_opts *o)
{
	static const char *const ops[] = {"write", "read", NULL};
	static const char *const orders[] = {"seq", "random", "hotcold", NULL};
	static const enum ab_vm_op op_v[] = {AB_VM_OP_WRITE, AB_VM_OP_READ};
	static const enum ab_vm_order order_v[] = {AB_VM_ORDER_SEQ, AB_VM_ORDER_RANDOM,
						   AB_VM_ORDER_HOTCOLD};

	switch (c) {
	case 'o':
		o->w.op = op_v[pick("op", arg, ops)];
		return true;
	case 'O':
		o->w.order = order_v[pick("order", arg, orders)];
		return true;
	case 'h':
		o->w.hot_pct = (uint32_t)num("hot-pct", arg, 0, 100);
		return true;
	case 'c':
		o->w.cold_every = (uint32_t)num("cold-every", arg, 0, UINT32_MAX);
		return true;
	case 's':
		o->w.seed = num("seed", arg, 0, UINT64_MAX);
		return true;
	case 'p':
		o->passes = num("passes", arg, 0, UINT64_MAX);
		return true;
	}
	return false;
}

/* The VM: --mem --vcpus --backing --file-dir --named-file --latency --pin --cpl0 --nested */
static bool parse_vm_opt(int c, const char *arg, struct run_opts *o)
{
	int b;

	switch (c) {
	case 'm':
		if (ab_parse_size(arg, &o->cfg.mem_bytes))
			ab_die(AB_EXIT_USAGE, "--mem: bad size '%s'", arg);
		return true;
	case 'v':
		o->cfg.nr_vcpus = (int)num("vcpus", arg, 1, AB_VM_MAX_VCPUS);
		return true;
	case 'b':
		b = ab_vm_backing_parse(arg);
		if (b < 0)
			ab_die(AB_EXIT_USAGE, "--backing: unknown backing '%s' (anon, thp, file)",
			       arg);
		o->cfg.backing = (enum ab_vm_backing)b;
		return true;
	case 'd':
		o->cfg.file_dir = arg;
		return true;
	case 'N':
		o->cfg.file_named = true;
		return true;
	case 'l':
		o->cfg.latency = true;
		return true;
	case 'P':
		o->cfg.vcpu_thread_init = ab_vm_pin_vcpu_hook;
		return true;
	case '0':
		o->cfg.cpl0 = true;
		return true;
	case 'n':
		o->cfg.nested_pct = (uint32_t)num("nested", arg, 0, 100);
		return true;
	}
	return false;
}

/* The run: --repeat --hold --hold-after-destroy --cgroup --prefault */
static bool parse_run_opt(int c, const char *arg, struct run_opts *o)
{
	static const char *const pf[] = {"host", "kvm", "both", NULL};
	static const unsigned int pf_v[] = {AB_VM_PREFAULT_HOST, AB_VM_PREFAULT_KVM,
					    AB_VM_PREFAULT_HOST | AB_VM_PREFAULT_KVM};

	switch (c) {
	case 'r':
		o->repeat = num("repeat", arg, 1, UINT64_MAX);
		return true;
	case 'H':
		o->hold = true;
		return true;
	case 'D':
		o->hold_destroyed = true;
		return true;
	case 'g':
		o->cgroup = arg;
		return true;
	case 'f':
		o->prefault = pf_v[pick("prefault", arg, pf)];
		return true;
	}
	return false;
}

static void parse_args(int argc, char **argv, struct run_opts *o)
{
	static const struct option opts[] = {
	    {"mem", required_argument, 0, 'm'},	    {"vcpus", required_argument, 0, 'v'},
	    {"backing", required_argument, 0, 'b'}, {"file-dir", required_argument, 0, 'd'},
	    {"named-file", no_argument, 0, 'N'},    {"op", required_argument, 0, 'o'},
	    {"order", required_argument, 0, 'O'},   {"passes", required_argument, 0, 'p'},
	    {"hot-pct", required_argument, 0, 'h'}, {"cold-every", required_argument, 0, 'c'},
	    {"seed", required_argument, 0, 's'},    {"latency", no_argument, 0, 'l'},
	    {"pin", no_argument, 0, 'P'},	    {"repeat", required_argument, 0, 'r'},
	    {"hold", no_argument, 0, 'H'},	    {"hold-after-destroy", no_argument, 0, 'D'},
	    {"cpl0", no_argument, 0, '0'},	    {"nested", required_argument, 0, 'n'},
	    {"cgroup", required_argument, 0, 'g'},  {"prefault", required_argument, 0, 'f'},
	    {"help", no_argument, 0, '?'},	    {0, 0, 0, 0},
	};
	int c;

	ab_vm_config_init(&o->cfg);
	ab_vm_work_init(&o->w);
	o->passes = 2;
	o->repeat = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (!parse_vm_opt(c, optarg, o) && !parse_work_opt(c, optarg, o) &&
		    !parse_run_opt(c, optarg, o)) {
			usage(stderr);
			exit(AB_EXIT_USAGE);
		}
	}
	if (optind < argc) {
		usage(stderr);
		ab_die(AB_EXIT_USAGE, "unexpected argument '%s'", argv[optind]);
	}
}

static int fail_run(struct abvm *vm, const char *what, int r)
{
	ab_warn("%s failed: %s (%s)", what, ab_vm_strerr(r), ab_vm_last_error(vm));
	ab_vm_destroy(vm);
	return AB_EXIT_FAIL;
}

static int prefault(struct abvm *vm, unsigned int how)
{
	uint64_t t0 = ab_now_ns();
	int r = ab_vm_prefault(vm, how);

	if (r < 0)
		return r;
	printf("prefault (%s%s): %.1f ms\n", r & AB_VM_PREFAULT_HOST ? "host page tables " : "",
	       !(r & AB_VM_PREFAULT_KVM)       ? ""
	       : r & AB_VM_PREFAULT_USED_IOCTL ? "KVM via KVM_PRE_FAULT_MEMORY"
					       : "KVM via a guest write pass",
	       (ab_now_ns() - t0) / 1e6);
	return 0;
}

/* Pass 1: population (untouched memory), optionally timed per access. */
static int populate(struct abvm *vm, const struct run_opts *o, uint64_t t_create)
{
	const struct ab_vm_config *cfg = &o->cfg;
	struct ab_vm_work first = o->w;
	struct ab_vm_vcpu_stats st;
	uint64_t t0 = ab_now_ns(), t_pop;
	int r;

	first.passes = 1;
	first.record_latency = cfg->latency;
	r = ab_vm_start_wait(vm, &first);
	t_pop = ab_now_ns() - t0;
	if (r)
		return r;
	ab_vm_stats_total(vm, &st);
	printf("create: %.1f ms (%s, %" PRIu64 " MiB, %d vCPUs, tsc %" PRIu64 " kHz) hva=%p\n",
	       t_create / 1e6, ab_vm_backing_name(cfg->backing), cfg->mem_bytes >> 20,
	       cfg->nr_vcpus, ab_vm_tsc_khz(vm), ab_vm_hva(vm));
	printf("populate: %" PRIu64 " pages in %.1f ms: %.0f MiB/s, %.0f ns/page wall, %" PRIu64
	       " accesses\n",
	       ab_vm_npages(vm), t_pop / 1e6, (double)(cfg->mem_bytes >> 20) / (t_pop / 1e9),
	       (double)t_pop / (double)ab_vm_npages(vm), st.accesses);
	if (cfg->latency) {
		struct ab_hist h;

		ab_hist_init(&h);
		for (int i = 0; i < cfg->nr_vcpus; i++)
			ab_hist_merge(&h, ab_vm_vcpu_hist(vm, i));
		printf("first-touch latency: n=%" PRIu64 " p50=%" PRIu64 " p99=%" PRIu64
		       " max=%" PRIu64 " ns (mean %.0f)\n",
		       h.count, ab_hist_quantile(&h, 0.5), ab_hist_quantile(&h, 0.99), h.max,
		       h.count ? (double)h.sum / (double)h.count : 0.0);
	}
	return 0;
}

/* The timed passes over populated memory. */
static int run_passes(struct abvm *vm, const struct run_opts *o)
{
	struct ab_vm_work w = o->w;
	struct ab_vm_vcpu_stats st;
	uint64_t acc0, t;
	int r;

	ab_vm_stats_total(vm, &st);
	acc0 = st.accesses;
	w.passes = o->passes;
	w.record_latency = false;
	t = ab_now_ns();
	r = ab_vm_start_wait(vm, &w);
	t = ab_now_ns() - t;
	if (r)
		return r;
	ab_vm_stats_total(vm, &st);
	printf("passes: %" PRIu64 " in %.1f ms: %.1f M accesses/s (%" PRIu64 " accesses, %" PRIu64
	       " exits)\n",
	       o->passes, t / 1e6, (double)(st.accesses - acc0) / (t / 1e3), st.accesses - acc0,
	       st.exits_io);
	if (o->cfg.nested_pct) {
		struct ab_vm_shadow sh;
		char err[256];

		printf("nested: %u%%, %" PRIu64 " of %" PRIu64 " pages; L3 entries %" PRIu64
		       ", L3 accesses %" PRIu64 "\n",
		       o->cfg.nested_pct, ab_vm_nested_npages(vm), ab_vm_npages(vm), st.l3_runs,
		       st.l3_accesses);
		if (ab_vm_shadow_read(vm, &sh, err, sizeof(err)))
			printf("shadow MMU: %s\n", err);
		else
			printf("shadow MMU: mmu_cache_miss %" PRIu64 ", mmu_shadow_zapped %" PRIu64
			       ", frames with shadow mappings 4K %" PRId64 " 2M %" PRId64 "\n",
			       sh.mmu_cache_miss, sh.mmu_shadow_zapped, sh.rmap_gfns_4k,
			       sh.rmap_gfns_2m);
	}
	return 0;
}

/* $AB_VM_RUN_KSTATS: vCPU 0's non-zero KVM binary stats. */
static void print_kstats(struct abvm *vm)
{
	struct ab_vm_kstats *ks = ab_vm_kstats_open(vm, 0);
	const char *const *n = ks ? ab_vm_kstats_names(ks) : NULL;

	for (; n && *n; n++) {
		uint64_t v = 0;

		if (!ab_vm_kstats_get(ks, *n, &v) && v)
			printf("  vcpu0 %s = %" PRIu64 "\n", *n, v);
	}
	ab_vm_kstats_close(ks);
}

/* One create / prefault / populate / passes / destroy cycle. */
static int run_once(const struct run_opts *o)
{
	struct abvm *vm;
	char err[512];
	uint64_t t0 = ab_now_ns(), t_create;
	int r = ab_vm_create(&o->cfg, &vm, err, sizeof(err));

	if (r) {
		ab_warn("%s", err);
		return ab_vm_exit_code(r);
	}
	t_create = ab_now_ns() - t0;
	if (o->prefault && (r = prefault(vm, o->prefault)))
		return fail_run(vm, "prefault", r);
	if ((r = populate(vm, o, t_create)))
		return fail_run(vm, "first pass", r);
	if (o->passes && (r = run_passes(vm, o)))
		return fail_run(vm, "passes", r);
	if (getenv("AB_VM_RUN_KSTATS"))
		print_kstats(vm);
	fflush(stdout);
	if (o->hold) { /* the handshake the teardown tests wait for */
		printf("ready pid=%d hva=%p\n", (int)getpid(), ab_vm_hva(vm));
		fflush(stdout);
		wait_signal();
	}
	ab_vm_destroy(vm);
	return 0;
}

int main(int argc, char **argv)
{
	struct run_opts o = {0};

	parse_args(argc, argv, &o);
	if (o.cfg.vcpu_thread_init)
		ab_topo_init();
	ab_cleanup_install();
	if (o.cgroup && join_cgroup(o.cgroup))
		return AB_EXIT_USAGE;
	for (uint64_t rep = 0; rep < o.repeat; rep++) {
		int rc = run_once(&o);

		if (rc)
			return rc;
	}
	if (o.hold_destroyed) {
		printf("destroyed pid=%d\n", (int)getpid());
		fflush(stdout);
		wait_signal();
	}
	return 0;
}
