// SPDX-License-Identifier: GPL-2.0
/*
 * agebench-kvm - standalone runner of the kvm backend (the registration
 * `agebench run --backend kvm` uses), for development and the ctest runs.
 *
 *   agebench-kvm [--quick] [--driver D] [--mode M] [--reps N] [--max-vcpus N]
 *                [--no-pin] [--filter RE] [--json PATH] [--list]
 *                [--check-teardown] [--detect]
 *
 * --check-teardown: after the run, fail (exit 1) if a guest mapping, a file
 * descriptor or one of our memory cgroups is left behind.
 * Exit: 0 ok, 1 failure, 2 bad usage, 77 no usable /dev/kvm.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ab_bench_config.h"
#include "ab_common.h"
#include "ab_shim.h"
#include "ab_kvm.h"

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: agebench-kvm [--quick] [--driver hook|page_idle|lru_gen|reclaim] [--mode M]\n"
	    "                    [--reps N] [--max-vcpus N] [--no-pin] [--filter RE]\n"
	    "                    [--json PATH] [--list] [--check-teardown] [--detect]\n"
	    "                    [--allow-oversubscribe] [--mem-per-vcpu MIB]\n"
	    "                    [--preset houghton-v4]\n"
	    "\n"
	    "The kvm backend's test driver, for its ctest runs: the same registration as\n"
	    "'agebench run --backend kvm', plus what only the tests need:\n"
	    "  --check-teardown  after the run, fail (exit 1) if a guest mapping, a file\n"
	    "                    descriptor or one of our memory cgroups is left behind\n"
	    "  --detect          print which aging drivers this kernel offers and why\n"
	    "To benchmark, use 'agebench run --backend kvm' (results, summary, report).\n"
	    "Exit: 0 ok, 1 failure, 2 bad usage, 77 no usable /dev/kvm.\n");
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* Mappings that look like guest memory: our file dir, or rw anon >= 32 MiB. */
static int guest_mappings(const char *dir)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[1024];
	int n = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		char perm[8], path[512] = "";

		if (sscanf(line, "%lx-%lx %7s %*s %*s %*s %511[^\n]", &lo, &hi, perm, path) < 3)
			continue;
		if (dir && *dir && strstr(path, dir)) {
			fprintf(stderr, "agebench-kvm: leaked mapping: %s", line);
			n++;
		} else if (!path[0] && !strcmp(perm, "rw-p") && hi - lo >= (32ul << 20)) {
			fprintf(stderr, "agebench-kvm: leaked anonymous mapping: %s", line);
			n++;
		}
	}
	fclose(f);
	return n;
}

static int memcg_left(void)
{
	struct ab_kvm_memcg m;
	char msg[256];
	DIR *d;
	struct dirent *e;
	int n = 0;
	char pre[64];

	if (ab_kvm_memcg_probe(&m, msg, sizeof(msg)))
		return 0;
	d = opendir(m.parent);
	if (!d)
		return 0;
	snprintf(pre, sizeof(pre), "agebench-%d-", (int)getpid());
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, pre, strlen(pre))) {
			fprintf(stderr, "agebench-kvm: leaked memcg %s/%s\n", m.parent, e->d_name);
			n++;
		}
	closedir(d);
	return n;
}

/* --detect: every driver's pre-flight result, then the auto choice. */
static int detect_all(void)
{
	static const char *const names[] = {"present", "absent", "no-permission"};
	const char *chosen = NULL;
	char msg[1024];

	if (ab_kvm_dev_kvm_check(msg, sizeof(msg)))
		printf("/dev/kvm: %s\n", msg);
	for (int i = 0; ab_kvm_drivers[i]; i++) {
		enum ab_kvm_presence p = ab_kvm_drivers[i]->detect(msg, sizeof(msg));

		printf("%s: %s: %s\n", ab_kvm_drivers[i]->name, names[p], msg);
		if (p == AB_KVM_PRESENT && !chosen)
			chosen = ab_kvm_drivers[i]->name;
	}
	printf("chosen: %s\n", chosen ? chosen : "none");
	return chosen ? 0 : AB_EXIT_FAIL;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
	    {"quick", no_argument, 0, 'q'},
	    {"driver", required_argument, 0, 'd'},
	    {"mode", required_argument, 0, 'm'},
	    {"reps", required_argument, 0, 'r'},
	    {"max-vcpus", required_argument, 0, 'v'},
	    {"no-pin", no_argument, 0, 'P'},
	    {"filter", required_argument, 0, 'f'},
	    {"json", required_argument, 0, 'j'},
	    {"list", no_argument, 0, 'l'},
	    {"check-teardown", no_argument, 0, 'T'},
	    {"detect", no_argument, 0, 'D'},
	    {"allow-oversubscribe", no_argument, 0, 'O'},
	    {"mem-per-vcpu", required_argument, 0, 'M'},
	    {"preset", required_argument, 0, 'p'},
	    {"help", no_argument, 0, 'h'},
	    {0, 0, 0, 0},
	};
	struct ab_bench_config cfg = {.pin = true};
	struct ab_run_opts ro = {0};
	bool check = false;
	char err[2048], *end;
	int c, fds0 = 0, n;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'q':
			cfg.quick = true;
			break;
		case 'd':
			cfg.driver = optarg;
			break;
		case 'm':
			cfg.mode = optarg;
			break;
		case 'r':
		case 'v':
		case 'M':
			n = (int)strtol(optarg, &end, 10);
			if (*end || n < 1) {
				fprintf(stderr, "agebench-kvm: --%s: not a positive number: '%s'\n",
					c == 'r'   ? "reps"
					: c == 'v' ? "max-vcpus"
						   : "mem-per-vcpu",
					optarg);
				return AB_EXIT_USAGE;
			}
			if (c == 'r')
				cfg.reps = n;
			else if (c == 'v')
				cfg.max_vcpus = n;
			else
				cfg.mem_per_vcpu_mib = n;
			break;
		case 'O':
			cfg.allow_oversubscribe = true;
			break;
		case 'p':
			cfg.preset = optarg;
			break;
		case 'P':
			cfg.pin = false;
			break;
		case 'f':
			ro.filter = optarg;
			break;
		case 'j':
			ro.json_out = optarg;
			break;
		case 'l':
			ro.list_only = true;
			break;
		case 'T':
			check = true;
			break;
		case 'D':
			return detect_all();
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return AB_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "agebench-kvm: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return AB_EXIT_USAGE;
	}
	if (ab_kvm_dev_kvm_check(err, sizeof(err))) {
		fprintf(stderr, "agebench-kvm: skip: %s\n", err);
		return AB_EXIT_SKIP;
	}
	ab_pin_enable(cfg.pin);
	ab_add_context("backend", "kvm");
	ab_add_context("kernel_release", ab_kernel_release());
	fds0 = count_fds();
	if (ab_kvm_register(&cfg, err, sizeof(err))) {
		fprintf(stderr, "agebench-kvm: %s\n", err);
		return strstr(err, "unknown") ? AB_EXIT_USAGE : AB_EXIT_FAIL;
	}
	n = ab_run(&ro);
	if (n < 0) {
		fprintf(stderr, "agebench-kvm: run failed (filter matched nothing or output "
				"not written)\n");
		return AB_EXIT_FAIL;
	}
	if (check) {
		int bad = 0, fds1 = count_fds();

		bad += guest_mappings(getenv("AGEBENCH_KVM_FILE_DIR"));
		bad += memcg_left();
		if (fds1 != fds0) {
			fprintf(stderr,
				"agebench-kvm: %d file descriptors before the run, %d after\n",
				fds0, fds1);
			bad++;
		}
		if (bad)
			return AB_EXIT_FAIL;
		fprintf(stderr, "agebench-kvm: teardown check ok (no mapping, fd or memcg left)\n");
	}
	return 0;
}
