/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ab_errbuf.h - the one error-buffer formatter: functions that report a
 * reason to their caller take (char *err, size_t errlen) and fill it with
 * ab_errf(). libc only (linked through abschema by every tool and the fuzzer).
 */
#ifndef AB_ERRBUF_H
#define AB_ERRBUF_H

#include <stddef.h>

/* Format into @err (if @err and @len), return @ret: `return ab_errf(err, len, -1, ...)`. */
int ab_errf(char *err, size_t len, int ret, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
