// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target over the results.json parse/load path and everything
 * compare does with what it loaded (by-name matching, --modes matching,
 * statistics, text and JSON rendering). Built with clang
 * -fsanitize=fuzzer,address,undefined by ci/CMakeLists.txt.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "ab_compare.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *devnull;
	struct ab_cmp_opts o = AB_CMP_OPTS_DEFAULT;
	struct ab_results r;
	struct ab_cmp c;
	char err[512];
	char *s;

	if (!devnull)
		devnull = fopen("/dev/null", "w");
	if (ab_results_load_buffer((const char *)data, size, "fuzz-input", &r, err, sizeof(err)))
		return 0;
	s = ab_results_command(&r);
	free(s);
	(void)ab_results_context(&r, "kernel_release");
	for (size_t i = 0; i < r.nb; i++) {
		struct ab_name n;
		char buf[1024];

		if (!ab_bench_name(r.b[i].name, &n))
			continue;
		(void)ab_name_get_long(&n, "vcpus", -1);
		(void)ab_mode_find(n.mode);
		(void)ab_name_format(&n, true, buf, sizeof(buf));
	}
	if (!ab_cmp_files(&r, &r, &o, &c, err, sizeof(err))) {
		ab_cmp_print_text(devnull, &c);
		free(ab_cmp_json(&c));
		ab_cmp_free(&c);
	}
	if (!ab_cmp_modes(&r, "locked", &o, &c, err, sizeof(err))) {
		ab_cmp_print_text(devnull, &c);
		free(ab_cmp_json(&c));
		ab_cmp_free(&c);
	}
	ab_results_free(&r);
	return 0;
}
