// SPDX-License-Identifier: GPL-2.0
/*
 * abvm-test - ctest driver for libabvm (label kvm): one sub-command per test,
 * each in its own file (test_<name>.c, see vm_test.h).
 * Exit: 0 pass, 1 fail, 77 skip ("SKIP: <requirement>"), 2 usage.
 */
#include "vm_test.h"

#include <stdlib.h>
#include <string.h>

static const struct {
	const char *name, *args;
	int nargs; /* exact number of arguments, or -1: any */
	int (*fn)(int argc, char **argv);
	const char *what;
} tests[] = {
    {"touch", "[--backing B] [--file-dir D] [--vcpus N] [--cpl0]", -1, test_touch,
     "the host sees exactly the pages the guest was told to touch"},
    {"orders", "", 0, test_orders, "seq / random / hot-cold / read passes, stop, exits"},
    {"latency", "", 0, test_latency, "first-touch latency recording, prefault"},
    {"slots", "", 0, test_slots, "memslot add/delete while vCPUs run"},
    {"parse", "", 0, test_parse, "the strict age_bench answer parser"},
    {"crash", "", 0, test_crash, "a guest triple fault is reported, not hung on"},
    {"errors", "RUN DIR", 2, test_errors, "abvm-run's error paths (message + exit code)"},
    {"teardown", "RUN DIR", 2, test_teardown, "nothing left after a run, a signal, destroy"},
    {"checkskip", "CHECK", 1, test_checkskip, "agevm-check skips (77 + reason) or passes"},
    {"modes", "", 0, test_modes, "the mmu_age_mode accessor and the schema's mode names"},
    {"af", "", 0, test_af, "aged pages turn young again on access; hardware or fault AF"},
    {"nested-errors", "RUN", 1, test_nested_errors, "nested mode: bad input, no nested SVM"},
    {"nested", "", 0, test_nested, "an L3 touches exactly the nested pages (needs nested SVM)"},
};

static int usage(void)
{
	fprintf(stderr, "usage: abvm-test TEST [ARGS]\n");
	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		fprintf(stderr, "  %-9s %-48s %s\n", tests[i].name, tests[i].args, tests[i].what);
	return AB_EXIT_USAGE;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage();
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		int rc;

		if (strcmp(argv[1], tests[i].name))
			continue;
		if (tests[i].nargs >= 0 && argc - 2 != tests[i].nargs)
			return usage();
		rc = tests[i].fn(argc - 2, argv + 2);
		if (vt_helper_failures() && rc != AB_EXIT_FAIL) {
			fprintf(stderr, "%s: %d helper check(s) failed\n", tests[i].name,
				vt_helper_failures());
			rc = AB_EXIT_FAIL;
		}
		return rc;
	}
	return usage();
}
