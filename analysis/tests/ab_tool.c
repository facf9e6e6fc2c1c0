// SPDX-License-Identifier: GPL-2.0
/*
 * ab_tool - the `compare` and `report` subcommands without the rest of the
 * agebench binary, for the tests (same entry points the CLI dispatches to).
 */
#include <stdio.h>
#include <string.h>

#include "ab_compare.h"
#include "ab_report.h"

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "compare"))
		return ab_compare_main(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "report"))
		return ab_report_main(argc - 1, argv + 1);
	fprintf(stderr, "usage: ab_tool compare|report ...\n");
	return 2;
}
