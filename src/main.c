// SPDX-License-Identifier: GPL-2.0
/* main.c - the agebench command: dispatch to run / compare / report / kernel. */
#include "ab_cli.h"
#include "ab_common.h"
#include "ab_macro.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *f)
{
	fprintf(f, "usage: agebench <command> [options]\n"
		   "\n"
		   "Measure how Linux harvests Accessed bits from KVM (kvm.mmu_age_mode:\n"
		   "'agebench list modes --kernel').\n"
		   "\n"
		   "commands:\n"
		   "  run       run the microbenchmarks, write DIR/results.json, report, figures\n"
		   "  compare   statistical comparison of two results.json (exit 1 on regression)\n"
		   "  report    write DIR/report.txt and DIR/figures/ from DIR/results.json\n"
		   "  macro     reclaim cost and outcome with VMs under memory pressure, per mode\n"
		   "  list      the modes, counters and drivers agebench knows (for scripts)\n"
		   "  kernel    build and boot-test the patched kernel (kernel build|test)\n"
		   "  test      (wrapper ./agebench only) build and run the test suite (ctest)\n"
		   "\n"
		   "options:\n"
		   "  -h, --help     this help; 'agebench <command> --help' for a command\n"
		   "  --version      print the version\n");
}

static int kernel_main(int argc, char **argv)
{
	static const char script[] = AB_SOURCE_DIR "/kernel/scripts/agebench-kernel";

	argv[0] = (char *)script;
	execv(script, argv);
	ab_warn("cannot run %s: %s", script, strerror(errno));
	return AB_EXIT_FAIL;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return AB_EXIT_USAGE;
	}
	const char *cmd = argv[1];

	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
		usage(stdout);
		return AB_EXIT_OK;
	}
	if (!strcmp(cmd, "--version")) {
		printf("agebench %s\n", AB_VERSION);
		return AB_EXIT_OK;
	}
	if (!strcmp(cmd, "run"))
		return ab_run_main(argc - 1, argv + 1);
	if (!strcmp(cmd, "macro"))
		return ab_macro_main(argc - 1, argv + 1);
	if (!strcmp(cmd, "list"))
		return ab_list_main(argc - 1, argv + 1);
	if (!strcmp(cmd, "compare"))
		return ab_cli_compare(argc - 1, argv + 1);
	if (!strcmp(cmd, "report"))
		return ab_cli_report(argc - 1, argv + 1);
	if (!strcmp(cmd, "kernel"))
		return kernel_main(argc - 1, argv + 1);
	ab_warn("unknown command '%s' (try 'agebench --help')", cmd);
	return AB_EXIT_USAGE;
}
