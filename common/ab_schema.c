// SPDX-License-Identifier: GPL-2.0
/* ab_schema.c - the mode and counter tables, benchmark-name parse/format. */
#include "ab_schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- modes -------------------------------------------------------------- */

#define WRITE	 AB_LOCK_WRITE
#define READ	 AB_LOCK_READ
#define NONE	 AB_LOCK_NONE
#define UNKNOWN	 AB_LOCK_UNKNOWN
#define NEVER	 AB_DECLINE_NEVER
#define CALL	 AB_DECLINE_CALL
#define WINDOW	 AB_DECLINE_WINDOW
#define MODEL	 AB_IN_MODEL
#define KERNEL	 AB_IN_KERNEL
#define KVM_ONLY AB_IN_KVM_ONLY
#define FLOOR	 AB_IN_FLOOR

const struct ab_mode ab_mode_table[AB_MODE_NR] = {
#define AB_MODE(id_, name_, lock_, fallback_, decline_, where_, colour_, point_, dash_, summary_)  \
	[AB_MODE_##id_] = {.id = AB_MODE_##id_,                                                    \
			   .name = name_,                                                          \
			   .lock = lock_,                                                          \
			   .fallback = fallback_,                                                  \
			   .decline = decline_,                                                    \
			   .where = where_,                                                        \
			   .colour = colour_,                                                      \
			   .point = point_,                                                        \
			   .dash = dash_,                                                          \
			   .summary = summary_},
#include "ab_modes.def"
#undef AB_MODE
};

#undef WRITE
#undef READ
#undef NONE
#undef UNKNOWN
#undef NEVER
#undef CALL
#undef WINDOW
#undef MODEL
#undef KERNEL
#undef KVM_ONLY
#undef FLOOR

const struct ab_mode *ab_mode_find(const char *name)
{
	for (int i = 0; name && i < AB_MODE_NR; i++)
		if (!strcmp(name, ab_mode_table[i].name))
			return &ab_mode_table[i];
	return NULL;
}

const char *ab_mode_name(enum ab_mode_id id)
{
	return (unsigned)id < AB_MODE_NR ? ab_mode_table[id].name : "?";
}

const char *ab_lock_name(enum ab_lock l)
{
	static const char *const n[] = {"none", "read", "write", "unknown"};

	return (unsigned)l < sizeof(n) / sizeof(n[0]) ? n[l] : "?";
}

const char *ab_decline_name(enum ab_decline d)
{
	static const char *const n[] = {"never", "call", "window"};

	return (unsigned)d < sizeof(n) / sizeof(n[0]) ? n[d] : "?";
}

const char *ab_mode_list(unsigned where)
{
	static char buf[16][256];
	static unsigned cached[16];
	unsigned slot = where & 15;
	size_t len = 0;

	if (cached[slot] == where + 1)
		return buf[slot];
	buf[slot][0] = 0;
	for (int i = 0; i < AB_MODE_NR; i++) {
		if (!(ab_mode_table[i].where & where))
			continue;
		len += snprintf(buf[slot] + len, sizeof(buf[slot]) - len, "%s%s", len ? ", " : "",
				ab_mode_table[i].name);
		if (len >= sizeof(buf[slot]))
			break;
	}
	cached[slot] = where + 1;
	return buf[slot];
}

const char *const ab_driver_names[] = {"hook", "page_idle", "lru_gen", "reclaim", NULL};

/* ---- counters ----------------------------------------------------------- */

#define LOWER  AB_BETTER_LOWER
#define HIGHER AB_BETTER_HIGHER
#define NONE   AB_BETTER_NONE
const struct ab_counter_def ab_counter_table[] = {
#define AB_COUNTER(name_, unit_, better_, meaning_)                                                \
	{.name = name_, .unit = unit_, .better = better_, .meaning = meaning_},
#include "ab_counters.def"
#undef AB_COUNTER
};
#undef LOWER
#undef HIGHER
#undef NONE
const size_t ab_counter_count = sizeof(ab_counter_table) / sizeof(ab_counter_table[0]);

const struct ab_counter_def *ab_counter_find(const char *name)
{
	for (size_t i = 0; name && i < ab_counter_count; i++)
		if (!strcmp(name, ab_counter_table[i].name))
			return &ab_counter_table[i];
	return NULL;
}

const char *ab_better_name(enum ab_better b)
{
	return b == AB_BETTER_LOWER ? "lower" : b == AB_BETTER_HIGHER ? "higher" : "none";
}

int ab_better_parse(const char *s)
{
	if (!s)
		return -1;
	if (!strcmp(s, "lower"))
		return AB_BETTER_LOWER;
	if (!strcmp(s, "higher"))
		return AB_BETTER_HIGHER;
	if (!strcmp(s, "none"))
		return AB_BETTER_NONE;
	return -1;
}

/* ---- benchmark names ---------------------------------------------------- */

bool ab_gbench_field(const char *key)
{
	static const char *const fields[] = {
	    "name",
	    "family_index",
	    "per_family_instance_index",
	    "run_name",
	    "run_type",
	    "repetitions",
	    "repetition_index",
	    "threads",
	    "iterations",
	    "real_time",
	    "cpu_time",
	    "time_unit",
	    "label",
	    "error_occurred",
	    "error_message",
	    "aggregate_name",
	    "aggregate_unit",
	    "big_o",
	    "rms",
	    "skipped",
	    "skip_message",
	};

	for (size_t i = 0; key && i < sizeof(fields) / sizeof(fields[0]); i++)
		if (!strcmp(key, fields[i]))
			return true;
	return false;
}

bool ab_name_is_gbench_element(const char *e)
{
	static const char *const keyed[] = {
	    "min_time:", "min_warmup_time:", "iterations:", "repeats:", "threads:"};
	static const char *const flags[] = {"manual_time", "real_time", "process_time"};

	for (size_t i = 0; i < sizeof(keyed) / sizeof(keyed[0]); i++)
		if (!strncmp(e, keyed[i], strlen(keyed[i])))
			return true;
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		if (!strcmp(e, flags[i]))
			return true;
	return false;
}

static int name_err(char *err, size_t len, const char *s, const char *why)
{
	if (err && len)
		snprintf(err, len, "benchmark name '%s': %s", s, why);
	return -1;
}

static bool copy_token(char *dst, const char *src, size_t n)
{
	if (n == 0 || n >= AB_NAME_TOKEN)
		return false;
	memcpy(dst, src, n);
	dst[n] = 0;
	return true;
}

int ab_name_parse(const char *s, struct ab_name *n, char *err, size_t errlen)
{
	char *fixed[3] = {n->backend, n->mode, n->page};
	const char *p = s;
	int idx = 0;
	size_t sl = 0;

	memset(n, 0, sizeof(*n));
	if (!s || !*s)
		return name_err(err, errlen, s ? s : "", "empty");
	while (*p) {
		const char *e = strchr(p, '/');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		char elem[2 * AB_NAME_TOKEN + 2];

		if (len == 0 || len >= sizeof(elem))
			return name_err(err, errlen, s, len ? "element too long" : "empty element");
		memcpy(elem, p, len);
		elem[len] = 0;
		if (idx < 3) {
			if (strchr(elem, ':') || !copy_token(fixed[idx], elem, len))
				return name_err(err, errlen, s,
						"expected <backend>/<mode>/<page> first");
		} else if (ab_name_is_gbench_element(elem)) {
			int w = snprintf(n->suffix + sl, sizeof(n->suffix) - sl, "%s%s",
					 sl ? "/" : "", elem);

			if (w < 0 || (size_t)w >= sizeof(n->suffix) - sl)
				return name_err(err, errlen, s, "too many trailing elements");
			sl += (size_t)w;
		} else {
			char *c = strchr(elem, ':');

			if (sl)
				return name_err(err, errlen, s,
						"argument after Google Benchmark's elements");
			if (!c || c == elem || !c[1])
				return name_err(err, errlen, s, "argument is not <key>:<value>");
			if (n->nargs >= AB_NAME_MAX_ARGS)
				return name_err(err, errlen, s, "too many arguments");
			if (!copy_token(n->arg[n->nargs].key, elem, (size_t)(c - elem)) ||
			    !copy_token(n->arg[n->nargs].val, c + 1, strlen(c + 1)))
				return name_err(err, errlen, s, "argument too long");
			if (ab_name_get(n, n->arg[n->nargs].key))
				return name_err(err, errlen, s, "argument given twice");
			n->nargs++;
		}
		idx++;
		p += len;
		if (*p == '/')
			p++;
		if (e && !*p)
			return name_err(err, errlen, s, "trailing '/'");
	}
	if (idx < 3)
		return name_err(err, errlen, s, "expected <backend>/<mode>/<page> first");
	return 0;
}

int ab_name_format(const struct ab_name *n, bool suffix, char *buf, size_t len)
{
	size_t o;
	int w = snprintf(buf, len, "%s/%s/%s", n->backend, n->mode, n->page);

	if (w < 0 || (size_t)w >= len)
		return -1;
	o = (size_t)w;
	for (int i = 0; i < n->nargs; i++) {
		w = snprintf(buf + o, len - o, "/%s:%s", n->arg[i].key, n->arg[i].val);
		if (w < 0 || (size_t)w >= len - o)
			return -1;
		o += (size_t)w;
	}
	if (suffix && n->suffix[0]) {
		w = snprintf(buf + o, len - o, "/%s", n->suffix);
		if (w < 0 || (size_t)w >= len - o)
			return -1;
		o += (size_t)w;
	}
	return (int)o;
}

const char *ab_name_get(const struct ab_name *n, const char *key)
{
	for (int i = 0; i < n->nargs; i++)
		if (!strcmp(n->arg[i].key, key))
			return n->arg[i].val;
	return NULL;
}

long ab_name_get_long(const struct ab_name *n, const char *key, long def)
{
	const char *v = ab_name_get(n, key);
	char *end;
	long x;

	if (!v)
		return def;
	x = strtol(v, &end, 10);
	return end > v && !*end ? x : def;
}

int ab_name_set(struct ab_name *n, const char *key, const char *val)
{
	int i;

	for (i = 0; i < n->nargs; i++)
		if (!strcmp(n->arg[i].key, key))
			break;
	if (i == n->nargs && n->nargs >= AB_NAME_MAX_ARGS)
		return -1;
	if (strlen(key) >= AB_NAME_TOKEN || strlen(val) >= AB_NAME_TOKEN || !*key || !*val)
		return -1;
	strcpy(n->arg[i].key, key);
	strcpy(n->arg[i].val, val);
	if (i == n->nargs)
		n->nargs++;
	return 0;
}

void ab_name_unset(struct ab_name *n, const char *key)
{
	for (int i = 0; i < n->nargs; i++) {
		if (strcmp(n->arg[i].key, key))
			continue;
		memmove(&n->arg[i], &n->arg[i + 1], (size_t)(n->nargs - i - 1) * sizeof(n->arg[0]));
		n->nargs--;
		return;
	}
}
