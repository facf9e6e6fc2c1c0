// SPDX-License-Identifier: GPL-2.0
/* ab_results.c - Google Benchmark JSON -> per-benchmark repetition samples. */
#include "ab_common.h"
#include "ab_results.h"

#include "ab_errbuf.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static char *xstrdup(const char *s)
{
	char *d = strdup(s ? s : "");

	if (!d) {
		fprintf(stderr, "agebench: out of memory\n");
		abort();
	}
	return d;
}

static void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (!q) {
		fprintf(stderr, "agebench: out of memory\n");
		abort();
	}
	return q;
}

static bool reserved(const char *k)
{
	return ab_gbench_field(k);
}

bool ab_bench_name(const char *name, struct ab_name *n)
{
	return !ab_name_parse(name, n, NULL, 0);
}

/*
 * Matching key of a benchmark name: the elements Google Benchmark appends
 * say how a benchmark was measured, not which one it is, so they are dropped.
 */
char *ab_bench_key(const char *name)
{
	struct ab_name n;
	char buf[1024], *k, *o;

	if (ab_bench_name(name, &n) && ab_name_format(&n, false, buf, sizeof(buf)) >= 0)
		return xstrdup(buf);
	/* Not an agebench name (another program's JSON): drop the same elements. */
	k = xstrdup(name);
	o = k;
	for (const char *p = name; *p;) {
		size_t l = strcspn(p, "/");
		char el[256];

		snprintf(el, sizeof(el), "%.*s", (int)(l < 255 ? l : 255), p);
		if (p == name || !ab_name_is_gbench_element(el)) {
			if (o != k)
				*o++ = '/';
			memcpy(o, p, l);
			o += l;
		}
		p += l;
		if (*p == '/')
			p++;
	}
	*o = 0;
	return k;
}

static struct ab_bench_res *get_bench(struct ab_results *r, const char *key, const char *tu)
{
	for (size_t i = 0; i < r->nb; i++)
		if (!strcmp(r->b[i].name, key))
			return &r->b[i];
	if (r->nb == r->capb) {
		r->capb = r->capb ? 2 * r->capb : 16;
		r->b = xrealloc(r->b, r->capb * sizeof(*r->b));
	}
	struct ab_bench_res *b = &r->b[r->nb++];

	memset(b, 0, sizeof(*b));
	b->name = xstrdup(key);
	b->time_unit = xstrdup(tu);
	return b;
}

static struct ab_metric *get_metric(struct ab_bench_res *b, const char *name)
{
	for (size_t i = 0; i < b->nm; i++)
		if (!strcmp(b->m[i].name, name))
			return &b->m[i];
	if (b->nm == b->capm) {
		b->capm = b->capm ? 2 * b->capm : 8;
		b->m = xrealloc(b->m, b->capm * sizeof(*b->m));
	}
	struct ab_metric *m = &b->m[b->nm++];

	memset(m, 0, sizeof(*m));
	m->name = xstrdup(name);
	m->unit = xstrdup("");
	return m;
}

static void push(struct ab_metric *m, double v, long round)
{
	if (m->n == m->cap) {
		m->cap = m->cap ? 2 * m->cap : 8;
		m->v = xrealloc(m->v, m->cap * sizeof(*m->v));
		m->round = xrealloc(m->round, m->cap * sizeof(*m->round));
	}
	m->round[m->n] = round;
	m->v[m->n++] = v;
}

static void set_meta(struct ab_metric *m, const char *unit, enum ab_better d)
{
	free(m->unit);
	m->unit = xstrdup(unit);
	m->better = d;
	m->declared = true;
}

static void note_add(char ***list, size_t *n, const char *msg)
{
	*list = xrealloc(*list, (*n + 1) * sizeof(**list));
	(*list)[(*n)++] = xstrdup(msg);
}

/* Cross-check counter @m (as the file declares it) against the schema's table. */
static void schema_check(struct ab_results *r, const struct ab_metric *m)
{
	const struct ab_counter_def *d = ab_counter_find(m->name);
	char msg[512];

	if (!strcmp(m->name, "items_per_second") || !strcmp(m->name, "bytes_per_second"))
		return; /* Google Benchmark's own */
	for (size_t i = 0; i < r->nundeclared; i++)
		if (!strcmp(r->undeclared[i], m->name))
			return;
	for (size_t i = 0; i < r->nmismatch; i++)
		if (!strncmp(r->mismatch[i], m->name, strlen(m->name)) &&
		    r->mismatch[i][strlen(m->name)] == ':')
			return;
	if (!d) {
		note_add(&r->undeclared, &r->nundeclared, m->name);
		return;
	}
	if (m->declared && (strcmp(m->unit, d->unit) || m->better != d->better)) {
		snprintf(msg, sizeof(msg),
			 "%s: unit \"%s\", better %s in the file; \"%s\", %s in the schema",
			 m->name, m->unit, ab_better_name(m->better), d->unit,
			 ab_better_name(d->better));
		note_add(&r->mismatch, &r->nmismatch, msg);
	}
}

/* Unit and direction of counter @name: agebench.counters, then builtins. */
static int counter_meta(struct ab_results *r, const char *name, struct ab_metric *m, char *err,
			size_t errlen)
{
	json_t *ab = json_object_get(r->root, "agebench");
	json_t *c = json_is_object(ab) ? json_object_get(ab, "counters") : NULL;
	json_t *d = json_is_object(c) ? json_object_get(c, name) : NULL;

	if (d) {
		json_t *u = json_object_get(d, "unit"), *b = json_object_get(d, "better");
		int dir = AB_BETTER_NONE;

		if (!json_is_object(d) || (u && !json_is_string(u)) || (b && !json_is_string(b))) {
			ab_errf(err, errlen, 0,
				"%s: agebench.counters.%s must be {\"unit\": string, \"better\": "
				"string}",
				r->path, name);
			return -1;
		}
		if (b && (dir = ab_better_parse(json_string_value(b))) < 0) {
			ab_errf(err, errlen, 0,
				"%s: agebench.counters.%s.better is \"%s\" (want lower, higher or "
				"none)",
				r->path, name, json_string_value(b));
			return -1;
		}
		set_meta(m, u ? json_string_value(u) : "", (enum ab_better)dir);
	} else if (!strcmp(name, "items_per_second")) {
		set_meta(m, "items/s", AB_BETTER_HIGHER);
	} else if (!strcmp(name, "bytes_per_second")) {
		set_meta(m, "bytes/s", AB_BETTER_HIGHER);
	}
	schema_check(r, m);
	return 0;
}

static bool is_aggregate(json_t *row)
{
	json_t *rt = json_object_get(row, "run_type");

	if (json_is_string(rt))
		return !strcmp(json_string_value(rt), "aggregate");
	return json_object_get(row, "aggregate_name") != NULL;
}

static int num(json_t *v, double *out)
{
	if (!json_is_number(v))
		return -1;
	*out = json_number_value(v);
	return isfinite(*out) ? 0 : -1;
}

/* The user counters of one iteration row into @b. */
static int row_counters(struct ab_results *r, json_t *row, const char *name, struct ab_bench_res *b,
			long round, char *err, size_t errlen)
{
	const char *ck;
	json_t *cv;

	json_object_foreach(row, ck, cv)
	{
		struct ab_metric *m;
		double v;

		if (reserved(ck) || !json_is_number(cv))
			continue;
		if (num(cv, &v)) {
			ab_errf(err, errlen, 0, "%s: benchmark \"%s\": counter %s is not finite",
				r->path, name, ck);
			return -1;
		}
		m = get_metric(b, ck);
		if (m->n == 0 && counter_meta(r, ck, m, err, errlen))
			return -1;
		push(m, v, round);
	}
	return 0;
}

static int parse_rows(struct ab_results *r, char *err, size_t errlen)
{
	json_t *rows;

	if (!json_is_object(r->root)) {
		ab_errf(err, errlen, 0, "%s: not a JSON object (want Google Benchmark JSON output)",
			r->path);
		return -1;
	}
	rows = json_object_get(r->root, "benchmarks");
	if (!json_is_array(rows)) {
		ab_errf(err, errlen, 0,
			"%s: no \"benchmarks\" array (want Google Benchmark JSON output)", r->path);
		return -1;
	}
	for (size_t i = 0; i < json_array_size(rows); i++) {
		json_t *row = json_array_get(rows, i), *nm, *tu, *e;
		const char *name, *unit = "ns", *key;
		struct ab_bench_res *b;
		double rt, ct;
		char *k;

		if (!json_is_object(row) || !json_is_string(nm = json_object_get(row, "name"))) {
			ab_errf(err, errlen, 0,
				"%s: benchmarks[%zu] is not an object with a string \"name\"",
				r->path, i);
			return -1;
		}
		name = json_string_value(nm);
		if (is_aggregate(row)) {
			r->aggregates++;
			continue;
		}
		e = json_object_get(row, "error_occurred");
		if (json_is_true(e) || json_is_true(json_object_get(row, "skipped"))) {
			r->skipped_errors++;
			continue;
		}
		if (num(json_object_get(row, "real_time"), &rt) ||
		    num(json_object_get(row, "cpu_time"), &ct)) {
			ab_errf(err, errlen, 0,
				"%s: benchmark \"%s\": real_time/cpu_time missing or not a finite "
				"number",
				r->path, name);
			return -1;
		}
		tu = json_object_get(row, "time_unit");
		if (tu) {
			if (!json_is_string(tu)) {
				ab_errf(err, errlen, 0,
					"%s: benchmark \"%s\": time_unit is not a string", r->path,
					name);
				return -1;
			}
			unit = json_string_value(tu);
		}
		/* run_name groups repetitions; fall back to name. */
		nm = json_object_get(row, "run_name");
		key = json_is_string(nm) ? json_string_value(nm) : name;
		k = ab_bench_key(key);
		b = get_bench(r, k, unit);
		free(k);
		if (strcmp(b->time_unit, unit)) {
			ab_errf(
			    err, errlen, 0,
			    "%s: benchmark \"%s\": repetitions disagree on time_unit (%s vs %s)",
			    r->path, b->name, b->time_unit, unit);
			return -1;
		}
		b->nreps++;
		json_t *ri = json_object_get(row, "repetition_index");
		long round = json_is_integer(ri) ? (long)json_integer_value(ri) : -1;
		struct ab_metric *m = get_metric(b, "real_time");

		if (!m->declared)
			set_meta(m, unit, AB_BETTER_LOWER);
		push(m, rt, round);
		m = get_metric(b, "cpu_time");
		if (!m->declared)
			set_meta(m, unit, AB_BETTER_LOWER);
		push(m, ct, round);

		if (row_counters(r, row, name, b, round, err, errlen))
			return -1;
	}
	return 0;
}

static int finish_load(struct ab_results *r, json_t *root, const char *label, char *err,
		       size_t errlen)
{
	memset(r, 0, sizeof(*r));
	r->path = xstrdup(label);
	r->root = root;
	if (parse_rows(r, err, errlen)) {
		ab_results_free(r);
		return -1;
	}
	json_t *il = json_object_get(json_object_get(root, "agebench"), "interleave");
	const char *design = json_string_value(json_object_get(il, "design"));
	r->rounds = design && !strcmp(design, "rounds");
	return 0;
}

static char *read_all(const char *path, size_t *len, int *err)
{
	FILE *f = fopen(path, "rb");
	size_t cap = 65536, n = 0, r;
	char *b;

	if (!f) {
		*err = errno;
		return NULL;
	}
	b = xrealloc(NULL, cap);
	while ((r = fread(b + n, 1, cap - n, f)) > 0) {
		n += r;
		if (n == cap)
			b = xrealloc(b, cap *= 2);
	}
	if (ferror(f)) {
		*err = errno ? errno : EIO;
		fclose(f);
		free(b);
		return NULL;
	}
	fclose(f);
	*len = n;
	return b;
}

int ab_results_load(const char *path, struct ab_results *r, char *err, size_t errlen)
{
	size_t len;
	int e = 0, rc;
	char *buf;

	memset(r, 0, sizeof(*r));
	buf = read_all(path, &len, &e);
	if (!buf) {
		ab_errf(err, errlen, 0, "%s: %s", path, strerror(e));
		return -1;
	}
	rc = ab_results_load_buffer(buf, len, path, r, err, errlen);
	free(buf);
	return rc;
}

int ab_results_load_buffer(const char *buf, size_t len, const char *label, struct ab_results *r,
			   char *err, size_t errlen)
{
	json_error_t je;
	json_t *root;

	size_t clen;
	char *clean = ab_json_sanitize(buf, len, &clen, NULL);

	memset(r, 0, sizeof(*r));
	root = json_loadb(clean, clen, JSON_REJECT_DUPLICATES, &je);
	free(clean);
	if (!root) {
		ab_errf(err, errlen, 0, "%s:%d:%d: malformed JSON: %s", label, je.line, je.column,
			je.text);
		return -1;
	}
	return finish_load(r, root, label, err, errlen);
}

void ab_results_free(struct ab_results *r)
{
	for (size_t i = 0; i < r->nb; i++) {
		struct ab_bench_res *b = &r->b[i];

		for (size_t j = 0; j < b->nm; j++) {
			free(b->m[j].name);
			free(b->m[j].unit);
			free(b->m[j].v);
			free(b->m[j].round);
		}
		free(b->m);
		free(b->name);
		free(b->time_unit);
	}
	for (size_t i = 0; i < r->nundeclared; i++)
		free(r->undeclared[i]);
	for (size_t i = 0; i < r->nmismatch; i++)
		free(r->mismatch[i]);
	free(r->undeclared);
	free(r->mismatch);
	free(r->b);
	free(r->path);
	json_decref(r->root);
	memset(r, 0, sizeof(*r));
}

const struct ab_bench_res *ab_results_find(const struct ab_results *r, const char *name)
{
	for (size_t i = 0; i < r->nb; i++)
		if (!strcmp(r->b[i].name, name))
			return &r->b[i];
	return NULL;
}

const struct ab_metric *ab_bench_metric(const struct ab_bench_res *b, const char *name)
{
	for (size_t i = 0; i < b->nm; i++)
		if (!strcmp(b->m[i].name, name))
			return &b->m[i];
	return NULL;
}

const char *ab_results_context(const struct ab_results *r, const char *key)
{
	json_t *c = json_object_get(r->root, "context");
	json_t *v = json_is_object(c) ? json_object_get(c, key) : NULL;

	return json_is_string(v) ? json_string_value(v) : NULL;
}

static bool shell_safe(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!strchr(
			"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%",
			*s))
			return false;
	return true;
}

/* @s, shell-quoted unless safe, after a space unless first, onto *out. */
static void append_arg(char **out, size_t *len, size_t *cap, const char *s)
{
	size_t need = 4 * strlen(s) + 4;

	if (*len + need + 1 > *cap) {
		*cap = 2 * (*len + need + 1);
		*out = xrealloc(*out, *cap);
	}
	char *o = *out;
	size_t l = *len;

	if (l)
		o[l++] = ' ';
	if (shell_safe(s)) {
		memcpy(o + l, s, strlen(s));
		l += strlen(s);
	} else {
		o[l++] = '\'';
		for (; *s; s++) {
			if (*s == '\'') {
				memcpy(o + l, "'\\''", 4);
				l += 4;
			} else {
				o[l++] = *s;
			}
		}
		o[l++] = '\'';
	}
	o[l] = 0;
	*len = l;
}

/* The interleaving seed of the run (agebench.interleave.seed) into @buf, or false. */
static bool interleave_seed(json_t *ab, char *buf, size_t len)
{
	json_t *il = json_is_object(ab) ? json_object_get(ab, "interleave") : NULL;
	json_t *seed = json_is_object(il) ? json_object_get(il, "seed") : NULL;

	if (json_is_integer(seed) && json_integer_value(seed) > 0)
		snprintf(buf, len, "%lld", (long long)json_integer_value(seed));
	else if (json_is_string(seed) && *json_string_value(seed))
		snprintf(buf, len, "%s", json_string_value(seed));
	else
		return false;
	return true;
}

char *ab_results_command(const struct ab_results *r)
{
	json_t *ab = json_object_get(r->root, "agebench");
	json_t *cmd = json_is_object(ab) ? json_object_get(ab, "command") : NULL;
	size_t cap = 64, len = 0;
	bool has_seed = false;
	char *out, seed[32];

	if (!json_is_array(cmd) || !json_array_size(cmd))
		return NULL;
	out = xrealloc(NULL, cap);
	out[0] = 0;
	for (size_t i = 0; i < json_array_size(cmd); i++) {
		json_t *a = json_array_get(cmd, i);
		const char *s = json_is_string(a) ? json_string_value(a) : "?";

		has_seed |= !strcmp(s, "--seed") || !strncmp(s, "--seed=", 7);
		append_arg(&out, &len, &cap, s);
	}
	/* An interleaved run's order: the same seed repeats it. */
	if (!has_seed && interleave_seed(ab, seed, sizeof(seed))) {
		append_arg(&out, &len, &cap, "--seed");
		append_arg(&out, &len, &cap, seed);
	}
	return out;
}
