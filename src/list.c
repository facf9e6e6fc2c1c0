// SPDX-License-Identifier: GPL-2.0
/*
 * list.c - `agebench list`: the schema's tables for shell scripts, CMake,
 * gnuplot and people (the modes of common/ab_modes.def, the counters of
 * common/ab_counters.def, the kvm backend's drivers).
 */
#include "ab_cli.h"
#include "ab_common.h"
#include "ab_schema.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void list_usage(FILE *f)
{
	fprintf(f, "usage: agebench list modes [--kernel|--model|--floor|--all] [--format F]\n"
		   "       agebench list counters [--format F]\n"
		   "       agebench list drivers\n"
		   "\n"
		   "Print what agebench knows, one entry per line (--format names, the default),\n"
		   "as tab-separated columns with a header (--format tsv) or as JSON.\n"
		   "  modes     aging modes and walkers in table order (default --all):\n"
		   "            --kernel  values of the patched kernel's kvm.mmu_age_mode\n"
		   "            --model   walkers of the userspace model\n"
		   "            --floor   the model's lock-free floor (scan)\n"
		   "  counters  every counter a benchmark may emit: unit, direction, meaning\n"
		   "  drivers   the kvm backend's aging drivers\n"
		   "\n"
		   "Exit status: 0 ok, 2 bad usage.\n");
}

static void where_str(unsigned w, char *buf, size_t len)
{
	static const struct {
		unsigned bit;
		const char *name;
	} bits[] = {{AB_IN_MODEL, "model"},
		    {AB_IN_KERNEL, "kernel"},
		    {AB_IN_KVM_ONLY, "kvm_only"},
		    {AB_IN_FLOOR, "floor"}};
	size_t o = 0;

	buf[0] = 0;
	for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]); i++)
		if (w & bits[i].bit)
			o += snprintf(buf + o, len - o, "%s%s", o ? "," : "", bits[i].name);
}

static int print_json(json_t *arr)
{
	char *s = json_dumps(arr, JSON_INDENT(2));

	json_decref(arr);
	if (!s)
		return AB_EXIT_FAIL;
	puts(s);
	free(s);
	return AB_EXIT_OK;
}

static int list_modes(unsigned where, const char *fmt)
{
	json_t *arr = !strcmp(fmt, "json") ? json_array() : NULL;

	if (!strcmp(fmt, "tsv"))
		puts("name\tlock\tfallback\tdecline\twhere\tcolour\tpoint\tdash\tsummary");
	for (int i = 0; i < AB_MODE_NR; i++) {
		const struct ab_mode *m = &ab_mode_table[i];
		char w[64];

		if (!(m->where & where))
			continue;
		where_str(m->where, w, sizeof(w));
		if (arr)
			json_array_append_new(
			    arr,
			    json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:s}", "name",
				      m->name, "lock", ab_lock_name(m->lock), "fallback",
				      ab_lock_name(m->fallback), "decline",
				      ab_decline_name(m->decline), "where", w, "colour", m->colour,
				      "point", m->point, "dash", m->dash, "summary", m->summary));
		else if (!strcmp(fmt, "tsv"))
			printf("%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%s\n", m->name,
			       ab_lock_name(m->lock), ab_lock_name(m->fallback),
			       ab_decline_name(m->decline), w, m->colour, m->point, m->dash,
			       m->summary);
		else
			puts(m->name);
	}
	return arr ? print_json(arr) : AB_EXIT_OK;
}

static int list_counters(const char *fmt)
{
	json_t *arr = !strcmp(fmt, "json") ? json_array() : NULL;

	if (!strcmp(fmt, "tsv"))
		puts("name\tunit\tbetter\tmeaning");
	for (size_t i = 0; i < ab_counter_count; i++) {
		const struct ab_counter_def *c = &ab_counter_table[i];

		if (arr)
			json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s}", "name",
							     c->name, "unit", c->unit, "better",
							     ab_better_name(c->better), "meaning",
							     c->meaning));
		else if (!strcmp(fmt, "tsv"))
			printf("%s\t%s\t%s\t%s\n", c->name, c->unit, ab_better_name(c->better),
			       c->meaning);
		else
			puts(c->name);
	}
	return arr ? print_json(arr) : AB_EXIT_OK;
}

int ab_list_main(int argc, char **argv)
{
	const char *what = argc > 1 ? argv[1] : NULL, *fmt = "names";
	unsigned where = ~0u;

	if (!what) {
		list_usage(stderr);
		return AB_EXIT_USAGE;
	}
	if (!strcmp(what, "-h") || !strcmp(what, "--help")) {
		list_usage(stdout);
		return AB_EXIT_OK;
	}
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--kernel"))
			where = AB_IN_KERNEL;
		else if (!strcmp(a, "--model"))
			where = AB_IN_MODEL;
		else if (!strcmp(a, "--floor"))
			where = AB_IN_FLOOR;
		else if (!strcmp(a, "--all"))
			where = ~0u;
		else if (!strcmp(a, "--format") && i + 1 < argc)
			fmt = argv[++i];
		else if (!strncmp(a, "--format=", 9))
			fmt = a + 9;
		else {
			ab_warn("list: unknown option '%s'", a);
			list_usage(stderr);
			return AB_EXIT_USAGE;
		}
		if (where != ~0u && strcmp(what, "modes")) {
			ab_warn("list: '%s' applies to 'list modes' only", a);
			return AB_EXIT_USAGE;
		}
	}
	if (strcmp(fmt, "names") && strcmp(fmt, "tsv") && strcmp(fmt, "json")) {
		ab_warn("list: --format '%s' (want names, tsv or json)", fmt);
		return AB_EXIT_USAGE;
	}
	if (!strcmp(what, "modes"))
		return list_modes(where, fmt);
	if (!strcmp(what, "counters"))
		return list_counters(fmt);
	if (!strcmp(what, "drivers")) {
		for (size_t i = 0; ab_driver_names[i]; i++)
			puts(ab_driver_names[i]);
		return AB_EXIT_OK;
	}
	ab_warn("list: unknown table '%s' (want modes, counters or drivers)", what);
	return AB_EXIT_USAGE;
}
