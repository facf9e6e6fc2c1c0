// SPDX-License-Identifier: GPL-2.0
/* dispatch.c - forward compare/report to ci/ and plots/ when they are built. */
#include "ab_cli.h"
#include "ab_common.h"

#ifdef AB_HAVE_COMPARE
#include "ab_compare.h"
#endif
#ifdef AB_HAVE_REPORT
#include "ab_report.h"
#endif

int ab_cli_compare(int argc, char **argv)
{
#ifdef AB_HAVE_COMPARE
	return ab_compare_main(argc, argv);
#else
	ab_warn("compare: not built into this agebench");
	return AB_EXIT_FAIL;
#endif
}

int ab_cli_report(int argc, char **argv)
{
#ifdef AB_HAVE_REPORT
	return ab_report_main(argc, argv);
#else
	ab_warn("report: not built into this agebench (results.json is written)");
	return AB_EXIT_OK;
#endif
}
