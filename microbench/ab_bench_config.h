/* SPDX-License-Identifier: GPL-2.0 */
/* What `agebench run` tells the backends when they register benchmarks. */
#ifndef AB_BENCH_CONFIG_H
#define AB_BENCH_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct ab_bench_config {
	bool quick;	    /* --quick: the small grid, < 3 min on 2 cores */
	int reps;	    /* --reps N (0 = backend default) */
	int max_vcpus;	    /* 0 = as many as processing units */
	bool pin;	    /* hwloc pinning (--no-pin clears it) */
	const char *driver; /* kvm backend: --driver, NULL = auto */
	const char *mode;   /* kvm backend: --mode, NULL = all available */
	/* model backend: --pages LIST (range sizes, comma list), --batch LIST
	 * (pages per aging call: numbers or "all"), NULL = the grid's own */
	const char *pages, *batch;
	/* --allow-oversubscribe: run points whose walker + vCPU threads exceed
	 * the PUs (marked "oversubscribed" in results.json) instead of refusing */
	bool allow_oversubscribe;
	/* kvm backend (docs/kvm-backend.md) */
	int mem_per_vcpu_mib; /* --mem-per-vcpu MIB: guest memory per vCPU (0 = grid) */
	int min_age_ms;	      /* --min-age-ms: shortest aging window (0 = default) */
	int zap_mib_s;	      /* --zap-rate: refault workload, MiB zapped per s (0 = default) */
	const char *preset;   /* --preset NAME ("houghton-v4"), NULL = none */
	int nested_pct;	      /* --nested PCT: each VM's L3 touches PCT% (docs/nested.md; 0 off) */
};

/*
 * Register the backend's benchmarks through ab_shim.h and add its context
 * keys (ab_add_context: backend, driver, ...). Return 0, or -1 with a
 * reason in @err (e.g. "/dev/kvm: No such file or directory").
 */
/* What a register function returns for bad input (a flag's value): the
 * message names the flag; `agebench run` exits 2 (usage). Other failures:
 * -1, the backend is unavailable here. */
#define AB_REGISTER_USAGE (-2)
int ab_model_register(const struct ab_bench_config *cfg, char *err, size_t errlen);
int ab_kvm_register(const struct ab_bench_config *cfg, char *err, size_t errlen);
/* After a --preset run: the preset's table (the published columns) to @out. */
void ab_kvm_preset_print(FILE *out);

#endif
