// SPDX-License-Identifier: GPL-2.0
/* bench_host.c - the host's share of a repetition (see bench_host.h). */
#define _GNU_SOURCE
#include "bench_host.h"

#include <ab_common.h>

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* /proc/self/task/@tid/schedstat: on-CPU ns, run-delay ns; status: nonvoluntary switches. */
static bool thread_stats(int tid, uint64_t *run, uint64_t *wait, uint64_t *niv)
{
	char path[64], line[256];
	FILE *f;
	bool ok = false;

	*run = *wait = *niv = 0;
	snprintf(path, sizeof(path), "/proc/self/task/%d/schedstat", tid);
	f = fopen(path, "r");
	if (f) {
		ok = fscanf(f, "%" SCNu64 " %" SCNu64, run, wait) == 2;
		fclose(f);
	}
	snprintf(path, sizeof(path), "/proc/self/task/%d/status", tid);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "nonvoluntary_ctxt_switches: %" SCNu64, niv) == 1)
			break;
	if (f)
		fclose(f);
	return ok;
}

static void cpu_ticks(uint64_t *steal, uint64_t *total)
{
	uint64_t v[10] = {0};
	FILE *f = fopen("/proc/stat", "r");

	*steal = *total = 0;
	if (!f)
		return;
	if (fscanf(f,
		   "cpu %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64
		   " %" SCNu64 " %" SCNu64,
		   &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) == 8) {
		*steal = v[7];
		for (int i = 0; i < 8; i++)
			*total += v[i];
	}
	fclose(f);
}

void mb_host_snap(struct mb_host_snap *s, const int *tids, int n)
{
	double l[1] = {NAN};

	if (!s->run_ns) {
		s->n = n + 1;
		s->run_ns = calloc((size_t)s->n, sizeof(uint64_t));
		s->wait_ns = calloc((size_t)s->n, sizeof(uint64_t));
		s->nivcsw = calloc((size_t)s->n, sizeof(uint64_t));
		if (!s->run_ns || !s->wait_ns || !s->nivcsw)
			abort();
	}
	s->ok =
	    thread_stats((int)syscall(SYS_gettid), &s->run_ns[0], &s->wait_ns[0], &s->nivcsw[0]);
	for (int i = 0; i < n && i + 1 < s->n; i++)
		s->ok &=
		    thread_stats(tids[i], &s->run_ns[i + 1], &s->wait_ns[i + 1], &s->nivcsw[i + 1]);
	cpu_ticks(&s->steal, &s->total);
	if (getloadavg(l, 1) == 1)
		s->load1 = l[0];
	else
		s->load1 = NAN;
	s->t_ns = ab_now_ns();
}

void mb_host_counters(ab_state *st, const struct mb_host_snap *a, const struct mb_host_snap *b,
		      int nv)
{
	double win = (double)(b->t_ns - a->t_ns), vwait = 0, vrun = 0;
	uint64_t niv = 0;
	bool ok = a->run_ns && b->run_ns && a->ok && b->ok && a->n == nv + 1 && b->n == nv + 1;

	if (!(win > 0))
		win = 1;
	for (int i = 0; ok && i < a->n; i++)
		niv += b->nivcsw[i] - a->nivcsw[i];
	for (int i = 1; ok && i < a->n; i++) {
		vwait += (double)(b->wait_ns[i] - a->wait_ns[i]) / win;
		vrun += (double)(b->run_ns[i] - a->run_ns[i]) / win;
	}
	/* schedstat unreadable: NAN, counted as not measured, never marked */
	double w = ok ? (double)(b->wait_ns[0] - a->wait_ns[0]) / win : NAN;
	double v = ok && nv ? vwait / nv : NAN;
	ab_counter(st, "walker_offcpu_frac", w, AB_CTR_DEFAULT);
	if (nv) {
		ab_counter(st, "vcpu_offcpu_frac", v, AB_CTR_DEFAULT);
		ab_counter(st, "vcpu_oncpu_frac", ok ? vrun / nv : NAN, AB_CTR_DEFAULT);
	}
	ab_counter(st, "nivcsw", ok ? (double)niv : NAN, AB_CTR_DEFAULT);
	ab_counter(st, "loadavg_1m", a->run_ns ? a->load1 : NAN, AB_CTR_DEFAULT);
	ab_counter(st, "steal_frac",
		   a->run_ns && b->total > a->total
		       ? (double)(b->steal - a->steal) / (double)(b->total - a->total)
		       : NAN,
		   AB_CTR_DEFAULT);
	ab_counter(st, "host_interfered",
		   (w > AB_HOST_OFFCPU_MAX || (nv && v > AB_HOST_OFFCPU_MAX)) ? 1 : 0,
		   AB_CTR_DEFAULT);
}

void mb_host_free(struct mb_host_snap *s)
{
	free(s->run_ns);
	free(s->wait_ns);
	free(s->nivcsw);
	memset(s, 0, sizeof(*s));
}
