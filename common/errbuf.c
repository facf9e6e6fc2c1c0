// SPDX-License-Identifier: GPL-2.0
/* errbuf.c - ab_errf(), the one error-buffer formatter. */
#include "ab_errbuf.h"

#include <stdarg.h>
#include <stdio.h>

int ab_errf(char *err, size_t len, int ret, const char *fmt, ...)
{
	va_list ap;

	if (err && len) {
		va_start(ap, fmt);
		vsnprintf(err, len, fmt, ap);
		va_end(ap);
	}
	return ret;
}
