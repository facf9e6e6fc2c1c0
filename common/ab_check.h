/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ab_check.h - the assertion macro of agebench's C test programs.
 * CHECK(cond, fmt, ...) counts a failure and says where and why; a test's
 * main() ends with `return ab_check_report("name");` (0 if all passed).
 */
#ifndef AB_CHECK_H
#define AB_CHECK_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

static int ab_check_failures __attribute__((unused)), ab_check_total __attribute__((unused));

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		ab_check_total++;                                                                  \
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
		fprintf(stderr, "%s: %d of %d checks FAILED\n", name, ab_check_failures,
			ab_check_total);
	else
		printf("%s: all %d checks passed\n", name, ab_check_total);
	return ab_check_failures ? 1 : 0;
}

/* Bit @i of the bitmap @b (64-bit words, bit 0 = LSB of word 0). */
static inline bool ab_test_bit(const uint64_t *b, uint64_t i)
{
	return (b[i >> 6] >> (i & 63)) & 1;
}

#endif
