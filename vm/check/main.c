// SPDX-License-Identifier: GPL-2.0
/*
 * agevm-check - in-guest correctness checker of the patched kernel's
 * secondary-MMU aging (docs/kernel-interface.md), built on libabvm.
 *
 *   agevm-check exact --driver hook|page_idle --mode M [--mem 64M] [--rounds N] [--seed S]
 *   agevm-check lru_gen --mode M [--mem 64M]
 *   agevm-check switch [--seconds N]
 *   agevm-check stress --seconds N [--no-aging-ok]
 *   agevm-check nested [--pct P] [--mem 64M] [--vcpus N]
 *
 * Exit: 0 pass, 1 fail (what differed is printed), 77 skip (the last line
 * says why), 2 usage. See docs/vm.md for what each check asserts.
 */
#define _GNU_SOURCE
#include "check.h"

#include <errno.h>
#include <getopt.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

_Noreturn void usage(const char *fmt, ...)
{
	va_list ap;

	if (fmt) {
		fprintf(stderr, "%s: ", prog);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
	fprintf(
	    stderr,
	    "usage: %s exact --driver hook|page_idle --mode M [--mem SIZE] [--rounds N] "
	    "[--seed S]\n"
	    "       %s lru_gen --mode M [--mem SIZE]\n"
	    "       %s switch [--seconds N]\n"
	    "       %s stress --seconds N [--no-aging-ok] [--modes M1,M2,...] [--without S1,...]\n"
	    "       %s nested [--pct P] [--mem SIZE] [--modes M1,M2,...]\n"
	    "  modes: the kernel modes of common/ab_modes.def (agebench list modes) this kernel\n"
	    "  accepts; common: --vcpus N --verbose\n"
	    "  stressors (--without): hook idle switch zapper slots vms nested\n"
	    "  --stock: check an unpatched kernel (no mode parameter, no age_* stats; exact "
	    "page_idle, lru_gen)\n",
	    prog, prog, prog, prog, prog);
	exit(AB_EXIT_USAGE);
}

/* --modes M1,M2,...: a mask of enum ab_mode_id bits */
static unsigned int parse_modes(const char *list)
{
	char *dup = strdup(list), *tok, *save = NULL;
	unsigned int mask = 0;

	for (tok = strtok_r(dup, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (!ab_vm_age_mode_known(tok))
			usage("--modes: unknown mode '%s' (%s)", tok, ab_mode_list(AB_IN_KERNEL));
		mask |= 1u << ab_mode_find(tok)->id;
	}
	free(dup);
	if (!mask)
		usage("--modes: empty list");
	return mask;
}

/* --without S1,S2,...: a mask of ST_* */
static unsigned int parse_stressors(const char *list)
{
	char *dup = strdup(list), *tok, *save = NULL;
	unsigned int mask = 0;

	for (tok = strtok_r(dup, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int si = 0;

		while (si < ST_NR && strcmp(tok, stressor_names[si]))
			si++;
		if (si == ST_NR)
			usage("--without: unknown stressor '%s' (hook idle switch zapper slots vms "
			      "nested)",
			      tok);
		mask |= 1u << si;
	}
	free(dup);
	return mask;
}

static void parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
	    {"driver", required_argument, 0, 'd'},
	    {"mode", required_argument, 0, 'm'},
	    {"mem", required_argument, 0, 'M'},
	    {"vcpus", required_argument, 0, 'v'},
	    {"rounds", required_argument, 0, 'r'},
	    {"seed", required_argument, 0, 's'},
	    {"seconds", required_argument, 0, 'S'},
	    {"no-aging-ok", no_argument, 0, 'n'},
	    {"modes", required_argument, 0, 'L'},
	    {"without", required_argument, 0, 'W'},
	    {"verbose", no_argument, 0, 'V'},
	    {"stock", no_argument, 0, 'k'},
	    {"pct", required_argument, 0, 'p'},
	    {"help", no_argument, 0, 'h'},
	    {0, 0, 0, 0},
	};
	int c;
	uint64_t v;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'd':
			if (strcmp(optarg, "hook") && strcmp(optarg, "page_idle"))
				usage("--driver: unknown driver '%s' (hook, page_idle)", optarg);
			o->driver = optarg;
			break;
		case 'm':
			if (!ab_vm_age_mode_known(optarg))
				usage("--mode: unknown mode '%s' (%s)", optarg,
				      ab_mode_list(AB_IN_KERNEL));
			o->mode = optarg;
			break;
		case 'M':
			if (ab_parse_size(optarg, &o->mem) || !o->mem || o->mem % AB_VM_HUGE_SIZE)
				usage("--mem: '%s' is not a non-zero multiple of 2M", optarg);
			break;
		case 'v':
			if (ab_parse_size(optarg, &v) || v < 1 || v > AB_VM_MAX_VCPUS)
				usage("--vcpus: '%s' not in 1..%d", optarg, AB_VM_MAX_VCPUS);
			o->vcpus = (int)v;
			break;
		case 'r':
			if (ab_parse_size(optarg, &v) || v < 1 || v > 1000)
				usage("--rounds: '%s' not in 1..1000", optarg);
			o->rounds = (int)v;
			break;
		case 's':
			if (ab_parse_size(optarg, &o->seed))
				usage("--seed: bad number '%s'", optarg);
			break;
		case 'S':
			if (ab_parse_size(optarg, &o->seconds) || !o->seconds || o->seconds > 86400)
				usage("--seconds: '%s' not in 1..86400", optarg);
			break;
		case 'n':
			o->no_aging_ok = true;
			break;
		case 'V':
			verbose = true;
			break;
		case 'L':
			mode_mask = parse_modes(optarg);
			break;
		case 'W':
			stress_off |= parse_stressors(optarg);
			break;
		case 'k':
			stock = true;
			break;
		case 'p':
			if (ab_parse_size(optarg, &v) || v < 1 || v > 100)
				usage("--pct: '%s' not in 1..100", optarg);
			o->nested_pct = (uint32_t)v;
			break;
		default:
			usage(NULL);
		}
	}
	if (optind < argc)
		usage("unexpected argument '%s'", argv[optind]);
}

int main(int argc, char **argv)
{
	struct opts o = {.mem = 64ull << 20, .vcpus = 2, .rounds = 4, .seed = 1, .seconds = 0};
	const char *cmd;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2)
		usage(NULL);
	cmd = argv[1];
	parse_opts(argc - 1, argv + 1, &o);
	ab_cleanup_install();
	if (!strcmp(cmd, "exact"))
		return cmd_exact(&o);
	if (!strcmp(cmd, "lru_gen"))
		return cmd_lru_gen(&o);
	if (!strcmp(cmd, "switch")) {
		if (!o.seconds)
			o.seconds = 5;
		return cmd_switch(&o);
	}
	if (!strcmp(cmd, "stress"))
		return cmd_stress(&o);
	if (!strcmp(cmd, "nested"))
		return cmd_nested(&o);
	usage("unknown subcommand '%s'", cmd);
}
