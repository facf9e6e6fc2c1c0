// SPDX-License-Identifier: GPL-2.0
/*
 * ab_gate_run - one deterministic model-backend walker run for the CI
 * instruction-count gate (ci/gate.sh runs it under callgrind).
 *
 *   ab_gate_run WALKER 4K|2M NPAGES K
 *
 * Calls ab_model_det_run() (single-threaded, fixed seed, fixed iteration
 * count: no timing-dependent path) and prints "young=<n>". Linked against
 * abmodel (ab_gate_run) or abmodel_slow (ab_gate_run_slow, the injected
 * regression the gate's own test must catch).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abmodel.h"

int main(int argc, char **argv)
{
	char *end;
	unsigned long long n, k;
	int w;
	enum ab_pgsize ps;
	uint64_t young;

	if (argc != 5) {
		fprintf(stderr, "usage: ab_gate_run WALKER 4K|2M NPAGES K\n");
		return 2;
	}
	w = ab_walker_parse(argv[1]);
	if (w < 0) {
		fprintf(stderr, "ab_gate_run: unknown walker '%s'\n", argv[1]);
		return 2;
	}
	if (!strcmp(argv[2], "4K"))
		ps = AB_PG_4K;
	else if (!strcmp(argv[2], "2M"))
		ps = AB_PG_2M;
	else {
		fprintf(stderr, "ab_gate_run: page size '%s' is not 4K or 2M\n", argv[2]);
		return 2;
	}
	n = strtoull(argv[3], &end, 10);
	if (*end || !n) {
		fprintf(stderr, "ab_gate_run: bad NPAGES '%s'\n", argv[3]);
		return 2;
	}
	k = strtoull(argv[4], &end, 10);
	if (*end || !k || k > 100000) {
		fprintf(stderr, "ab_gate_run: bad K '%s'\n", argv[4]);
		return 2;
	}
	young = ab_model_det_run((enum ab_mode_id)w, ps, n, (unsigned)k);
	if (young == UINT64_MAX) {
		fprintf(stderr, "ab_gate_run: ab_model_det_run failed\n");
		return 1;
	}
	printf("young=%" PRIu64 "%s\n", young, ab_model_slow_walker() ? " slow-walker-build" : "");
	ab_model_thread_unregister();
	return 0;
}
