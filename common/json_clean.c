// SPDX-License-Identifier: GPL-2.0
/*
 * json_clean.c - make Google Benchmark's JSON loadable by jansson.
 *
 * Google Benchmark writes non-finite doubles as bare tokens (NaN, -nan,
 * inf): e.g. the "cv" aggregate of a counter that is 0 in every repetition.
 * They are not JSON and jansson refuses them; they become null.
 */
#include "ab_common.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool tok_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.';
}

/* Length of a non-finite number token at @p (NaN, -nan, Infinity, -inf...), or 0. */
static size_t nonfinite_len(const char *p, const char *end)
{
	static const char *const toks[] = {"infinity", "nan", "inf"};
	const char *q = p;

	if (q < end && (*q == '-' || *q == '+'))
		q++;
	for (size_t i = 0; i < sizeof(toks) / sizeof(toks[0]); i++) {
		size_t l = strlen(toks[i]);

		if ((size_t)(end - q) >= l && !strncasecmp(q, toks[i], l) &&
		    (q + l == end || !tok_char(q[l])))
			return (size_t)(q - p) + l;
	}
	return 0;
}

char *ab_json_sanitize(const char *buf, size_t len, size_t *outlen, size_t *replaced)
{
	char *out = malloc(len + len / 3 + 8), *o = out;
	const char *p = buf, *end = buf + len;
	bool in_str = false;
	char prev = 0; /* last non-blank character outside strings */

	if (!out)
		abort();
	if (replaced)
		*replaced = 0;
	while (p < end) {
		char c = *p;

		if (in_str) {
			*o++ = *p++;
			if (c == '\\' && p < end)
				*o++ = *p++;
			else if (c == '"')
				in_str = false;
			continue;
		}
		if (c == '"') {
			in_str = true;
		} else if (prev == ':' || prev == ',' || prev == '[') {
			size_t l = nonfinite_len(p, end);

			if (l) {
				memcpy(o, "null", 4);
				o += 4;
				for (size_t i = 4; i < l; i++) /* keep columns where we can */
					*o++ = ' ';
				p += l;
				prev = 'l';
				if (replaced)
					(*replaced)++;
				continue;
			}
		}
		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			prev = c;
		*o++ = *p++;
	}
	*outlen = (size_t)(o - out);
	return out;
}
