// SPDX-License-Identifier: GPL-2.0
/* switch.c - agevm-check switch: mode switches under hook calls, page_idle
 * and running vCPUs; every answer reports the mode asked for. */
#define _GNU_SOURCE
#include "check.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- switch ---- */

struct switcher {
	_Atomic bool stop;
	uint64_t switches;
};

static void *switch_thread(void *arg)
{
	struct switcher *s = arg;

	while (!atomic_load(&s->stop)) {
		const char *m = check_modes[s->switches % (uint64_t)ncheck_modes];
		int r = ab_vm_age_mode_set(NULL, m);

		if (r)
			fail("switching %s to %s: %s", AB_VM_AGE_MODE_PARAM, m, strerror(-r));
		s->switches++;
		usleep(500);
	}
	return NULL;
}

struct idler {
	struct abvm *vm;
	_Atomic bool stop;
	uint64_t reads;
};

static void *idle_thread(void *arg)
{
	struct idler *d = arg;
	uint64_t n = ab_vm_npages(d->vm), *pfns = calloc(n, 8), *young = bm_alloc(n);
	char err[256];
	int fd = open(AB_VM_PAGE_IDLE_PATH, O_RDWR | O_CLOEXEC);

	if (fd < 0 || !pfns)
		goto out;
	while (!atomic_load(&d->stop)) {
		if (ab_vm_pagemap_pfns(ab_vm_hva(d->vm), n, pfns, err, sizeof(err))) {
			fail("%s", err);
			break;
		}
		if (ab_vm_idle_mark(fd, pfns, n) || ab_vm_idle_read(fd, pfns, n, young, NULL)) {
			fail("page_idle failed during mode switches");
			break;
		}
		d->reads++;
	}
out:
	if (fd >= 0)
		close(fd);
	free(pfns);
	free(young);
	return NULL;
}

int cmd_switch(struct opts *o)
{
	struct abvm *vm;
	struct ab_vm_work w;
	struct switcher sw = {0};
	struct idler id = {0};
	pthread_t st, it;
	bool idle_on;
	uint64_t n, calls[AB_MODE_NR] = {0}, t_end;
	struct ab_vm_hook_result res;
	struct ab_vm_vcpu_stats vs0, vs1;
	struct tally t = {0};
	char path[200];

	need_param();
	if (access("/sys/kernel/debug/kvm", F_OK))
		skip("/sys/kernel/debug/kvm: %s (debugfs not mounted)", strerror(errno));
	vm = make_vm(o->mem, o->vcpus);
	if (!ab_vm_hook_path(vm, path, sizeof(path)))
		skip("%s: no such file (kernel without the age_bench debugfs hook)", path);
	n = ab_vm_npages(vm);
	res.bitmap = bm_alloc(n);
	res.words = (n + 63) / 64;
	populate(vm);
	ab_vm_work_init(&w);
	w.passes = 0;
	w.order = AB_VM_ORDER_RANDOM;
	if (ab_vm_start(vm, &w)) {
		fail("starting vCPUs: %s", ab_vm_last_error(vm));
		return AB_EXIT_FAIL;
	}
	ab_vm_stats_total(vm, &vs0);
	pthread_create(&st, NULL, switch_thread, &sw);
	id.vm = vm;
	idle_on = access(AB_VM_PAGE_IDLE_PATH, F_OK) == 0;
	if (idle_on)
		pthread_create(&it, NULL, idle_thread, &id);
	t_end = ab_now_ns() + o->seconds * NSEC;
	for (uint64_t i = 0; ab_now_ns() < t_end || i < 4 * (uint64_t)ncheck_modes; i++) {
		int mi = (int)(i % (uint64_t)ncheck_modes);

		hook(vm, check_modes[mi], i % 2, &res, &t); /* checks mode/op/range/young */
		calls[mi]++;
	}
	atomic_store(&sw.stop, true);
	atomic_store(&id.stop, true);
	pthread_join(st, NULL);
	if (idle_on)
		pthread_join(it, NULL);
	if (ab_vm_stop(vm))
		fail("vCPUs failed while modes switched: %s", ab_vm_last_error(vm));
	ab_vm_stats_total(vm, &vs1);
	if (vs1.accesses <= vs0.accesses)
		fail("vCPUs made no progress while modes switched");
	if (vs1.exits_other)
		fail("%" PRIu64 " unexpected vCPU exits", vs1.exits_other);
	{
		char per[256] = "";

		for (int m = 0; m < ncheck_modes; m++)
			snprintf(per + strlen(per), sizeof(per) - strlen(per), " %s %" PRIu64,
				 check_modes[m], calls[m]);
		info("switch: %" PRIu64 " mode switches; hook calls%s (declined %" PRIu64
		     "); page_idle reads %" PRIu64 "%s; vCPU accesses %" PRIu64,
		     sw.switches, per, t.declined, id.reads, idle_on ? "" : " (no page_idle)",
		     vs1.accesses - vs0.accesses);
	}
	if (sw.switches < 4 * (uint64_t)ncheck_modes)
		fail("only %" PRIu64 " mode switches happened", sw.switches);
	free(res.bitmap);
	ab_vm_destroy(vm);
	return finish("switch");
}
