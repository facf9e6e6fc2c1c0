/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bench_host.h - what the host did to a repetition's measured threads: per
 * thread on-CPU time and run delay (/proc/<tid>/schedstat, the kernel's
 * scheduler statistics) and involuntary context switches (status), the
 * machine's steal time (/proc/stat) over the window, the load average at
 * its start. A repetition whose measured threads waited to run for more
 * than AB_HOST_OFFCPU_MAX of the window is marked (host_interfered = 1):
 * its timings include the host's other work (docs/model.md "Host").
 */
#ifndef BENCH_HOST_H
#define BENCH_HOST_H

#include <stdbool.h>
#include <stdint.h>

#include <ab_shim.h>

#define AB_HOST_OFFCPU_MAX 0.02

struct mb_host_snap {
	int n;		       /* threads: [0] the caller (walker), then the vCPUs */
	uint64_t *run_ns;      /* on-CPU time */
	uint64_t *wait_ns;     /* run delay: runnable, not running */
	uint64_t *nivcsw;      /* involuntary switches */
	uint64_t steal, total; /* /proc/stat cpu line: steal, all ticks */
	uint64_t t_ns;	       /* when */
	double load1;
	bool ok; /* schedstat readable (CONFIG_SCHEDSTATS) */
};

/* Snapshot the caller and the threads @tids[0..n) into @s (allocates once). */
void mb_host_snap(struct mb_host_snap *s, const int *tids, int n);
/*
 * The window from @a to @b as counters of @st (walker_offcpu_frac, ...), for
 * @nv vCPU threads; the same counters with NAN (not measured) when @a was
 * never taken (a failed repetition's placeholders).
 */
void mb_host_counters(ab_state *st, const struct mb_host_snap *a, const struct mb_host_snap *b,
		      int nv);
void mb_host_free(struct mb_host_snap *s);

#endif /* BENCH_HOST_H */
