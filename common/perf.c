// SPDX-License-Identifier: GPL-2.0
/* perf.c - instructions and cycles through libperf, when the kernel allows. */
#include "ab_common.h"

#include <errno.h>
#include <linux/perf_event.h>
#include <perf/core.h>
#include <perf/evsel.h>
#include <perf/threadmap.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ab_perf {
	struct perf_thread_map *threads;
	struct perf_evsel *ev[2];
};

static pthread_once_t probe_once = PTHREAD_ONCE_INIT;
static bool perf_ok;
static char perf_reason[160];

static int quiet_print(enum libperf_print_level level, const char *fmt, va_list ap)
{
	return 0;
}

static struct perf_evsel *open_counter(struct perf_thread_map *threads, __u64 config, int *err)
{
	struct perf_event_attr attr = {
	    .type = PERF_TYPE_HARDWARE,
	    .config = config,
	    .disabled = 1,
	    .exclude_kernel = 1,
	    .exclude_hv = 1,
	};
	struct perf_evsel *ev = perf_evsel__new(&attr);

	if (!ev) {
		*err = -ENOMEM;
		return NULL;
	}
	*err = perf_evsel__open(ev, NULL, threads);
	if (*err) {
		perf_evsel__delete(ev);
		return NULL;
	}
	return ev;
}

static void perf_probe(void)
{
	struct ab_perf *p;

	libperf_init(quiet_print);
	p = ab_perf_start();
	if (p) {
		ab_perf_stop(p, NULL, NULL);
		perf_ok = true;
		snprintf(perf_reason, sizeof(perf_reason), "available");
	}
}

bool ab_perf_available(const char **reason)
{
	pthread_once(&probe_once, perf_probe);
	if (reason)
		*reason = perf_reason;
	return perf_ok;
}

struct ab_perf *ab_perf_start(void)
{
	struct ab_perf *p = calloc(1, sizeof(*p));
	static const __u64 cfg[2] = {PERF_COUNT_HW_INSTRUCTIONS, PERF_COUNT_HW_CPU_CYCLES};
	int err = 0;

	if (!p)
		return NULL;
	p->threads = perf_thread_map__new_dummy();
	if (!p->threads)
		goto fail;
	perf_thread_map__set_pid(p->threads, 0, 0);
	for (int i = 0; i < 2; i++) {
		p->ev[i] = open_counter(p->threads, cfg[i], &err);
		if (!p->ev[i]) {
			snprintf(perf_reason, sizeof(perf_reason),
				 "unavailable: perf_event_open(%s): %s",
				 i ? "cycles" : "instructions", strerror(-err));
			goto fail;
		}
		perf_evsel__enable(p->ev[i]);
	}
	return p;
fail:
	for (int i = 0; i < 2; i++) {
		if (p->ev[i]) {
			perf_evsel__close(p->ev[i]);
			perf_evsel__delete(p->ev[i]);
		}
	}
	if (p->threads)
		perf_thread_map__put(p->threads);
	free(p);
	return NULL;
}

int ab_perf_stop(struct ab_perf *p, uint64_t *instr, uint64_t *cycles)
{
	struct perf_counts_values v[2] = {0};
	int ret = 0;

	if (!p)
		return -1;
	for (int i = 0; i < 2; i++) {
		perf_evsel__disable(p->ev[i]);
		if (perf_evsel__read(p->ev[i], 0, 0, &v[i]))
			ret = -1;
		perf_evsel__close(p->ev[i]);
		perf_evsel__delete(p->ev[i]);
	}
	perf_thread_map__put(p->threads);
	free(p);
	if (instr)
		*instr = v[0].val;
	if (cycles)
		*cycles = v[1].val;
	return ret;
}
