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

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"mem", required_argument, 0, 'm'},
	    {"vcpus", required_argument, 0, 'v'},
	    {"backing", required_argument, 0, 'b'},
	    {"file-dir", required_argument, 0, 'd'},
	    {"named-file", no_argument, 0, 'N'},
	    {"op", required_argument, 0, 'o'},
	    {"order", required_argument, 0, 'O'},
	    {"passes", required_argument, 0, 'p'},
	    {"hot-pct", required_argument, 0, 'h'},
	    {"cold-every", required_argument, 0, 'c'},
	    {"seed", required_argument, 0, 's'},
	    {"latency", no_argument, 0, 'l'},
	    {"pin", no_argument, 0, 'P'},
	    {"repeat", required_argument, 0, 'r'},
	    {"hold", no_argument, 0, 'H'},
	    {"hold-after-destroy", no_argument, 0, 'D'},
	    {"cpl0", no_argument, 0, '0'},
	    {"cgroup", required_argument, 0, 'g'},
	    {"prefault", required_argument, 0, 'f'},
	    {"help", no_argument, 0, '?'},
	    {0, 0, 0, 0},
	};
	struct ab_vm_config cfg;
	struct ab_vm_work w;
	uint64_t passes = 2, repeat = 1, v64;
	bool hold = false, hold_destroyed = false;
	const char *cgroup = NULL;
	unsigned int prefault = 0;
	char err[512];
	int c, b;

	ab_vm_config_init(&cfg);
	ab_vm_work_init(&w);
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			if (ab_parse_size(optarg, &cfg.mem_bytes))
				ab_die(AB_EXIT_USAGE, "--mem: bad size '%s'", optarg);
			break;
		case 'v':
			if (parse_u64(optarg, &v64) || v64 < 1 || v64 > AB_VM_MAX_VCPUS)
				ab_die(AB_EXIT_USAGE, "--vcpus: '%s' not in 1..%d", optarg,
				       AB_VM_MAX_VCPUS);
			cfg.nr_vcpus = (int)v64;
			break;
		case 'b':
			b = ab_vm_backing_parse(optarg);
			if (b < 0)
				ab_die(AB_EXIT_USAGE,
				       "--backing: unknown backing '%s' (anon, thp, file)", optarg);
			cfg.backing = (enum ab_vm_backing)b;
			break;
		case 'd':
			cfg.file_dir = optarg;
			break;
		case 'N':
			cfg.file_named = true;
			break;
		case 'o':
			if (!strcmp(optarg, "write"))
				w.op = AB_VM_OP_WRITE;
			else if (!strcmp(optarg, "read"))
				w.op = AB_VM_OP_READ;
			else
				ab_die(AB_EXIT_USAGE, "--op: '%s' (write, read)", optarg);
			break;
		case 'O':
			if (!strcmp(optarg, "seq"))
				w.order = AB_VM_ORDER_SEQ;
			else if (!strcmp(optarg, "random"))
				w.order = AB_VM_ORDER_RANDOM;
			else if (!strcmp(optarg, "hotcold"))
				w.order = AB_VM_ORDER_HOTCOLD;
			else
				ab_die(AB_EXIT_USAGE, "--order: '%s' (seq, random, hotcold)",
				       optarg);
			break;
		case 'p':
			if (parse_u64(optarg, &passes))
				ab_die(AB_EXIT_USAGE, "--passes: bad number '%s'", optarg);
			break;
		case 'h':
			if (parse_u64(optarg, &v64) || v64 > 100)
				ab_die(AB_EXIT_USAGE, "--hot-pct: '%s' not in 0..100", optarg);
			w.hot_pct = (uint32_t)v64;
			break;
		case 'c':
			if (parse_u64(optarg, &v64) || v64 > UINT32_MAX)
				ab_die(AB_EXIT_USAGE, "--cold-every: bad number '%s'", optarg);
			w.cold_every = (uint32_t)v64;
			break;
		case 's':
			if (parse_u64(optarg, &w.seed))
				ab_die(AB_EXIT_USAGE, "--seed: bad number '%s'", optarg);
			break;
		case 'l':
			cfg.latency = true;
			break;
		case 'P':
			cfg.vcpu_thread_init = ab_vm_pin_vcpu_hook;
			break;
		case 'r':
			if (parse_u64(optarg, &repeat) || !repeat)
				ab_die(AB_EXIT_USAGE, "--repeat: bad number '%s'", optarg);
			break;
		case 'H':
			hold = true;
			break;
		case 'f':
			if (!strcmp(optarg, "host"))
				prefault = AB_VM_PREFAULT_HOST;
			else if (!strcmp(optarg, "kvm"))
				prefault = AB_VM_PREFAULT_KVM;
			else if (!strcmp(optarg, "both"))
				prefault = AB_VM_PREFAULT_HOST | AB_VM_PREFAULT_KVM;
			else
				ab_die(AB_EXIT_USAGE, "--prefault: '%s' (host, kvm, both)", optarg);
			break;
		case '0':
			cfg.cpl0 = true;
			break;
		case 'g':
			cgroup = optarg;
			break;
		case 'D':
			hold_destroyed = true;
			break;
		default:
			usage(stderr);
			return AB_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		usage(stderr);
		ab_die(AB_EXIT_USAGE, "unexpected argument '%s'", argv[optind]);
	}
	if (cfg.vcpu_thread_init)
		ab_topo_init();
	ab_cleanup_install();
	if (cgroup && join_cgroup(cgroup))
		return AB_EXIT_USAGE;

	for (uint64_t rep = 0; rep < repeat; rep++) {
		struct abvm *vm;
		struct ab_vm_vcpu_stats st;
		struct ab_vm_work first = w;
		uint64_t t0, t_create, t_pop;
		int r;

		t0 = ab_now_ns();
		r = ab_vm_create(&cfg, &vm, err, sizeof(err));
		if (r) {
			ab_warn("%s", err);
			return ab_vm_exit_code(r);
		}
		t_create = ab_now_ns() - t0;
		if (prefault) {
			t0 = ab_now_ns();
			r = ab_vm_prefault(vm, prefault);
			if (r < 0) {
				ab_warn("prefault failed: %s (%s)", ab_vm_strerr(r),
					ab_vm_last_error(vm));
				ab_vm_destroy(vm);
				return AB_EXIT_FAIL;
			}
			printf("prefault (%s%s): %.1f ms\n",
			       r & AB_VM_PREFAULT_HOST ? "host page tables " : "",
			       !(r & AB_VM_PREFAULT_KVM)       ? ""
			       : r & AB_VM_PREFAULT_USED_IOCTL ? "KVM via KVM_PRE_FAULT_MEMORY"
							       : "KVM via a guest write pass",
			       (ab_now_ns() - t0) / 1e6);
		}
		/* pass 1: population (untouched memory), optionally timed per access */
		first.passes = 1;
		first.record_latency = cfg.latency;
		t0 = ab_now_ns();
		r = ab_vm_run(vm, &first);
		t_pop = ab_now_ns() - t0;
		if (r) {
			ab_warn("first pass failed: %s (%s)", ab_vm_strerr(r),
				ab_vm_last_error(vm));
			ab_vm_destroy(vm);
			return AB_EXIT_FAIL;
		}
		ab_vm_stats_total(vm, &st);
		printf("create: %.1f ms (%s, %" PRIu64 " MiB, %d vCPUs, tsc %" PRIu64
		       " kHz) hva=%p\n",
		       t_create / 1e6, ab_vm_backing_name(cfg.backing), cfg.mem_bytes >> 20,
		       cfg.nr_vcpus, ab_vm_tsc_khz(vm), ab_vm_hva(vm));
		printf("populate: %" PRIu64
		       " pages in %.1f ms: %.0f MiB/s, %.0f ns/page wall, %" PRIu64 " accesses\n",
		       ab_vm_npages(vm), t_pop / 1e6, (double)(cfg.mem_bytes >> 20) / (t_pop / 1e9),
		       (double)t_pop / (double)ab_vm_npages(vm), st.accesses);
		if (cfg.latency) {
			struct ab_hist h;

			ab_hist_init(&h);
			for (int i = 0; i < cfg.nr_vcpus; i++)
				ab_hist_merge(&h, ab_vm_vcpu_hist(vm, i));
			printf("first-touch latency: n=%" PRIu64 " p50=%" PRIu64 " p99=%" PRIu64
			       " max=%" PRIu64 " ns (mean %.0f)\n",
			       h.count, ab_hist_quantile(&h, 0.5), ab_hist_quantile(&h, 0.99),
			       h.max, h.count ? (double)h.sum / (double)h.count : 0.0);
		}
		if (passes) {
			uint64_t acc0 = st.accesses;

			w.passes = passes;
			w.record_latency = false;
			t0 = ab_now_ns();
			r = ab_vm_run(vm, &w);
			t0 = ab_now_ns() - t0;
			if (r) {
				ab_warn("passes failed: %s (%s)", ab_vm_strerr(r),
					ab_vm_last_error(vm));
				ab_vm_destroy(vm);
				return AB_EXIT_FAIL;
			}
			ab_vm_stats_total(vm, &st);
			printf("passes: %" PRIu64 " in %.1f ms: %.1f M accesses/s (%" PRIu64
			       " accesses, %" PRIu64 " exits)\n",
			       passes, t0 / 1e6, (double)(st.accesses - acc0) / (t0 / 1e3),
			       st.accesses - acc0, st.exits_io);
		}
		if (getenv("AB_VM_RUN_KSTATS")) {
			struct ab_vm_kstats *ks = ab_vm_kstats_open(vm, 0);
			const char *const *n = ks ? ab_vm_kstats_names(ks) : NULL;

			for (; n && *n; n++) {
				uint64_t v = 0;

				if (!ab_vm_kstats_get(ks, *n, &v) && v)
					printf("  vcpu0 %s = %" PRIu64 "\n", *n, v);
			}
			ab_vm_kstats_close(ks);
		}
		fflush(stdout);
		if (hold) {
			printf("ready pid=%d hva=%p\n", (int)getpid(), ab_vm_hva(vm));
			fflush(stdout);
			wait_signal();
		}
		ab_vm_destroy(vm);
	}
	if (hold_destroyed) {
		printf("destroyed pid=%d\n", (int)getpid());
		fflush(stdout);
		wait_signal();
	}
	return 0;
}
