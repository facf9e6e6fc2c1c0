/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ab_check.h - the assertion macro of agebench's C test programs.
 * CHECK(cond, fmt, ...) counts a failure and says where and why; a test's
 * main() ends with `return ab_check_report("name");` (0 if all passed).
 */
#ifndef AB_CHECK_H
#define AB_CHECK_H

#include <stdio.h>

static int ab_check_failures;

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			ab_check_failures++;                                                       \
			fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);            \
			fprintf(stderr, __VA_ARGS__);                                              \
			fputc('\n', stderr);                                                       \
		}                                                                                  \
	} while (0)

/* Print the verdict line; returns the exit status (0 pass, 1 fail). */
static inline int ab_check_report(const char *name)
{
	if (ab_check_failures)
		fprintf(stderr, "%s: %d check(s) FAILED\n", name, ab_check_failures);
	else
		printf("%s: all checks passed\n", name);
	return ab_check_failures ? 1 : 0;
}

#endif
