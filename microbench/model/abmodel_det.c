// SPDX-License-Identifier: GPL-2.0
/*
 * abmodel_det - run the deterministic single-threaded model workload once
 * (single thread, fixed seed, fixed iteration counts: no timing-dependent
 * path; see ab_model_det_run() in abmodel.h). The CI instruction-count gate
 * (ci/gate.sh) runs it under valgrind --tool=callgrind; abmodel_det_slow,
 * linked against abmodel_slow, is the injected regression the gate's own
 * test must catch.
 *
 *   abmodel_det WALKER 4K|2M NPAGES K
 *   abmodel_det --list      the model's walkers, one per line
 *
 * Prints "young=<n>" and exits 0; bad arguments: message, exit 2.
 */
#include "abmodel.h"

#include <ab_common.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned long long num(const char *what, const char *s, unsigned long long max)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || !v || v > max || s[0] == '-') {
		fprintf(stderr, "abmodel_det: bad %s '%s' (1..%llu)\n", what, s, max);
		exit(AB_EXIT_USAGE);
	}
	return v;
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "--list")) {
		for (int i = 0; i < AB_MODE_NR; i++)
			if (ab_model_has_walker(i))
				puts(ab_mode_name(i));
		return AB_EXIT_OK;
	}
	if (argc != 5) {
		fprintf(stderr,
			"usage: abmodel_det WALKER 4K|2M NPAGES K | --list\n"
			"  WALKER: %s\n",
			ab_mode_list(AB_IN_MODEL));
		return AB_EXIT_USAGE;
	}
	int w = ab_walker_parse(argv[1]);
	if (w < 0) {
		fprintf(stderr, "abmodel_det: unknown walker '%s'\n", argv[1]);
		return AB_EXIT_USAGE;
	}
	enum ab_pgsize ps;
	if (!strcmp(argv[2], "4K")) {
		ps = AB_PG_4K;
	} else if (!strcmp(argv[2], "2M")) {
		ps = AB_PG_2M;
	} else {
		fprintf(stderr, "abmodel_det: bad page size '%s' (4K or 2M)\n", argv[2]);
		return AB_EXIT_USAGE;
	}
	uint64_t n = num("NPAGES", argv[3], 1u << 22);
	unsigned k = (unsigned)num("K", argv[4], 100000);
	uint64_t y = ab_model_det_run((enum ab_mode_id)w, ps, n, k);
	if (y == UINT64_MAX) {
		fprintf(stderr, "abmodel_det: model setup failed\n");
		return AB_EXIT_FAIL;
	}
	printf("young=%" PRIu64 "%s\n", y, ab_model_slow_walker() ? " (slow walker build)" : "");
	ab_model_thread_unregister();
	return AB_EXIT_OK;
}
