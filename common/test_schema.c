// SPDX-License-Identifier: GPL-2.0
/* test_schema.c - the mode/counter tables and benchmark-name round trips. */
#include "ab_check.h"
#include "ab_schema.h"

#include <string.h>

static void test_modes(void)
{
	int kernel = 0;

	for (int i = 0; i < AB_MODE_NR; i++) {
		const struct ab_mode *m = &ab_mode_table[i];

		CHECK(m->id == (enum ab_mode_id)i, "entry %d has id %d", i, m->id);
		CHECK(m->name && *m->name, "entry %d has no name", i);
		CHECK(ab_mode_find(m->name) == m, "%s not found by name", m->name);
		CHECK(m->colour && m->colour[0] == '#' && strlen(m->colour) == 7,
		      "%s: colour '%s' is not #rrggbb", m->name, m->colour);
		CHECK(m->where != 0, "%s exists nowhere", m->name);
		/* a walk that never takes a lock either declines or falls back,
		 * unless it is the floor, which never needs one */
		if (m->lock == AB_LOCK_NONE && m->decline == AB_DECLINE_NEVER)
			CHECK(m->fallback != AB_LOCK_NONE || (m->where & AB_IN_FLOOR),
			      "%s: lockless, never declines and has no fallback", m->name);
		for (int j = 0; j < i; j++)
			CHECK(strcmp(ab_mode_table[j].name, m->name), "%s listed twice", m->name);
		kernel += !!(m->where & AB_IN_KERNEL);
	}
	CHECK(ab_mode_table[0].id == AB_MODE_LOCKED && !strcmp(ab_mode_table[0].name, "locked"),
	      "locked (the baseline) must come first");
	CHECK(kernel == 7, "%d kernel modes, expected 7", kernel);
	CHECK(!ab_mode_find("Locked") && !ab_mode_find("") && !ab_mode_find(NULL),
	      "lookup is exact");
	CHECK(!strcmp(ab_mode_list(AB_IN_KERNEL), "locked, read_locked, fast_only, fast_or_locked, "
						  "bitmap, fast_only_v5, merged"),
	      "kernel list: %s", ab_mode_list(AB_IN_KERNEL));
	CHECK(!strcmp(ab_mode_list(AB_IN_FLOOR), "scan"), "floor: %s", ab_mode_list(AB_IN_FLOOR));
	CHECK(!strcmp(ab_mode_name(AB_MODE_NR), "?"), "out of range name");
}

static void test_counters(void)
{
	for (size_t i = 0; i < ab_counter_count; i++) {
		const struct ab_counter_def *c = &ab_counter_table[i];

		CHECK(c->unit && *c->unit, "%s has no unit", c->name);
		CHECK(c->meaning && strlen(c->meaning) > 10, "%s has no meaning", c->name);
		CHECK(ab_counter_find(c->name) == c, "%s not found", c->name);
		for (size_t j = 0; j < i; j++)
			CHECK(strcmp(ab_counter_table[j].name, c->name), "%s declared twice",
			      c->name);
		CHECK(ab_better_parse(ab_better_name(c->better)) == (int)c->better,
		      "%s: direction does not round-trip", c->name);
	}
	CHECK(ab_counter_find("ns_per_page_median"), "ns_per_page_median is declared");
	CHECK(!ab_counter_find("undeclared_thing"), "unknown counter not found");
	CHECK(ab_gbench_field("real_time") && ab_gbench_field("error_message") &&
		  !ab_gbench_field("ns_per_page"),
	      "Google Benchmark fields are not counters");
	CHECK(ab_counter_find("ns_per_page")->better == AB_BETTER_LOWER, "ns_per_page lower");
	CHECK(ab_counter_find("access_rel")->better == AB_BETTER_HIGHER, "access_rel higher");
	CHECK(ab_counter_find("vcpu_blocked_frac")->better == AB_BETTER_LOWER,
	      "vcpu_blocked_frac lower");
	CHECK(ab_better_parse("sideways") == -1, "bad direction rejected");
}

static void roundtrip(const char *s, bool suffix, const char *want)
{
	struct ab_name n;
	char err[256] = "", buf[512];
	int rc = ab_name_parse(s, &n, err, sizeof(err));

	CHECK(rc == 0, "parse '%s': %s", s, err);
	if (rc)
		return;
	CHECK(ab_name_format(&n, suffix, buf, sizeof(buf)) > 0, "format '%s'", s);
	CHECK(!strcmp(buf, want), "'%s' -> '%s', want '%s'", s, buf, want);
}

static void bad(const char *s, const char *why)
{
	struct ab_name n;
	char err[256] = "";

	CHECK(ab_name_parse(s, &n, err, sizeof(err)) == -1, "'%s' accepted", s);
	CHECK(strstr(err, why) != NULL, "'%s': message '%s' lacks '%s'", s, err, why);
}

static void test_names(void)
{
	struct ab_name n;
	char err[256], buf[64];
	const char *full = "model/locked/4K/pages:16384/vcpus:1/inval:0/shadow:0/iterations:1024/"
			   "repeats:5/manual_time";

	roundtrip(full, true, full);
	roundtrip(full, false, "model/locked/4K/pages:16384/vcpus:1/inval:0/shadow:0");
	roundtrip("kvm/bitmap/2M/mem:64M/vcpus:2", true, "kvm/bitmap/2M/mem:64M/vcpus:2");
	roundtrip("kvm/native/4K", true, "kvm/native/4K");

	CHECK(ab_name_parse(full, &n, err, sizeof(err)) == 0, "%s", err);
	CHECK(!strcmp(n.backend, "model") && !strcmp(n.mode, "locked") && !strcmp(n.page, "4K"),
	      "fixed elements");
	CHECK(n.nargs == 4, "%d args", n.nargs);
	CHECK(ab_name_get_long(&n, "pages", -1) == 16384, "pages");
	CHECK(ab_name_get_long(&n, "missing", -7) == -7, "default");
	CHECK(!strcmp(n.suffix, "iterations:1024/repeats:5/manual_time"), "suffix '%s'", n.suffix);
	CHECK(ab_name_set(&n, "vcpus", "2") == 0 && ab_name_get_long(&n, "vcpus", 0) == 2,
	      "set existing");
	CHECK(ab_name_set(&n, "batch", "64") == 0 && n.nargs == 5, "add");
	ab_name_unset(&n, "inval");
	CHECK(n.nargs == 4 && !ab_name_get(&n, "inval"), "unset");
	strcpy(n.mode, "fast_only");
	ab_name_format(&n, false, err, sizeof(err));
	CHECK(!strcmp(err, "model/fast_only/4K/pages:16384/vcpus:2/shadow:0/batch:64"), "'%s'",
	      err);
	CHECK(ab_name_format(&n, false, buf, 10) == -1, "too small buffer");

	bad("", "empty");
	bad("model/locked", "<backend>/<mode>/<page>");
	bad("model//4K", "empty element");
	bad("model/locked/4K/pages", "<key>:<value>");
	bad("model/locked/4K/pages:", "<key>:<value>");
	bad("model/locked/4K/:3", "<key>:<value>");
	bad("model/locked/4K/pages:1/pages:2", "twice");
	bad("model/locked/4K/repeats:5/pages:1", "after Google Benchmark");
	bad("model/locked/4K/", "trailing");
	bad("model/a:b/4K", "<backend>/<mode>/<page>");
}

int main(void)
{
	test_modes();
	test_counters();
	test_names();
	return ab_check_report("test_schema");
}
