// SPDX-License-Identifier: GPL-2.0
/*
 * drv_reclaim.c - aging through real memcg reclaim, for kernels without the
 * hook, page_idle or MGLRU debugfs. The guest runs from a MAP_SHARED file
 * (clean page cache, no swap needed); each "aging call" asks the kernel to
 * reclaim a budget of pages from the harness's memcg (v2 memory.reclaim, v1
 * a memory.limit_in_bytes squeeze). Reclaim's rmap walk asks KVM through
 * clear_flush_young about every scanned page it has mapped: pages KVM (or
 * the host PTE) reports young are kept, old ones are evicted.
 *
 * Reported per call: ns (the reclaim request), evicted pages of the guest
 * range (mincore before/after), young = pages activated according to
 * memory.stat (v2 pgactivate; v1 growth of active_file, a lower bound),
 * refaults (workingset_refault_file delta since the previous call). The
 * per-page bitmap is residency after the call: a page the guest touched that
 * is gone was reported old (false old). A page kept need not have been
 * scanned, so "young" per page is not exact (no false-young check).
 */
#define _GNU_SOURCE
#include "ab_kvm.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ab_common.h"

struct recl {
	unsigned char *vec0, *vec1;
	uint64_t refault0;
	bool has_refault;
};

static enum ab_kvm_presence recl_detect(char *msg, size_t len)
{
	enum ab_kvm_presence pr = ab_kvm_memcg_presence(msg, len);

	if (pr == AB_KVM_PRESENT)
		snprintf(msg + strlen(msg), len - strlen(msg), "; reclaim via %s",
			 strstr(msg, "cgroup v2") ? "memory.reclaim" : "memory.limit_in_bytes");
	return pr;
}

static int recl_prepare(struct ab_kvm_drv *d, const struct ab_kvm_target *t, char *msg, size_t len)
{
	struct recl *r = calloc(1, sizeof(*r));
	uint64_t n = t->bytes / 4096;

	if (!r)
		return -ENOMEM;
	d->priv = r;
	if (!t->file_backed) {
		snprintf(msg, len,
			 "reclaim driver needs a file-backed guest (anonymous memory "
			 "cannot be reclaimed without swap)");
		return -EINVAL;
	}
	r->vec0 = malloc(n);
	r->vec1 = malloc(n);
	if (!r->vec0 || !r->vec1)
		return -ENOMEM;
	r->has_refault = !ab_kvm_memcg_stat(&d->memcg, "workingset_refault_file", &r->refault0);
	return 0;
}

static uint64_t active_pages(struct ab_kvm_drv *d, bool *ok)
{
	uint64_t v = 0;

	if (d->memcg.version == 2) {
		*ok = !ab_kvm_memcg_stat(&d->memcg, "pgactivate", &v);
		return v;
	}
	*ok = !ab_kvm_memcg_stat(&d->memcg, "active_file", &v);
	return v / 4096;
}

static int recl_age(struct ab_kvm_drv *d, const char *mode, uint64_t first, uint64_t npages,
		    bool clear, struct ab_kvm_age_res *res, uint64_t *bits)
{
	struct recl *r = d->priv;
	char *base = (char *)d->t.hva + first * 4096;
	uint64_t budget = d->budget ? d->budget : npages, t0, a0, a1, rf;
	bool ok0, ok1;
	int err;

	memset(res, 0, sizeof(*res));
	if (mincore(base, npages * 4096, r->vec0) < 0)
		return -errno;
	a0 = active_pages(d, &ok0);
	t0 = ab_now_ns();
	err = ab_kvm_memcg_reclaim(&d->memcg, budget * 4096);
	res->ns = ab_now_ns() - t0;
	if (err)
		return err;
	a1 = active_pages(d, &ok1);
	if (mincore(base, npages * 4096, r->vec1) < 0)
		return -errno;
	for (uint64_t i = 0; i < npages; i++) {
		if ((r->vec0[i] & 1) && !(r->vec1[i] & 1))
			res->evicted++;
		if ((r->vec1[i] & 1) && bits)
			bits[(first + i) / 64] |= 1ull << ((first + i) % 64);
	}
	res->young = ok0 && ok1 && a1 > a0 ? a1 - a0 : 0;
	res->has_young = ok0 && ok1;
	res->pages = res->evicted + res->young;
	if (r->has_refault && !ab_kvm_memcg_stat(&d->memcg, "workingset_refault_file", &rf)) {
		res->refaults = rf - r->refault0;
		res->has_refaults = true;
		r->refault0 = rf;
	}
	return 0;
}

static void recl_cleanup(struct ab_kvm_drv *d)
{
	struct recl *r = d->priv;

	if (!r)
		return;
	free(r->vec0);
	free(r->vec1);
	free(r);
	d->priv = NULL;
}

const struct ab_kvm_driver ab_kvm_drv_reclaim = {
    .name = "reclaim",
    .detect = recl_detect,
    .per_page = true,
    .young_inexact = true,
    .needs_file = true,
    .needs_memcg = true,
    .setup = ab_kvm_memcg_setup,
    .prepare = recl_prepare,
    .age = recl_age,
    .cleanup = recl_cleanup,
};
