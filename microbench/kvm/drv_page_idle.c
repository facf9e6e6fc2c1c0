// SPDX-License-Identifier: GPL-2.0
/*
 * drv_page_idle.c - idle page tracking: /sys/kernel/mm/page_idle/bitmap,
 * PFNs from /proc/self/pagemap. Reading the bitmap tests (and clears) the
 * young state through the clear_young notifier; writing marks pages idle.
 */
#define _GNU_SOURCE
#include "ab_kvm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ab_common.h"
#include "ab_vm_age.h"

struct pidle {
	int bm_fd, kf_fd;
	uint64_t *pfn;	  /* per page of the range; 0 = absent or a compound tail */
	uint32_t *weight; /* 4 KiB pages a tracked page stands for (its folio's tails) */
	uint64_t npages;
};

static enum ab_kvm_presence pidle_detect(char *msg, size_t len)
{
	char p[512], pm[512];
	enum ab_kvm_presence pr;

	ab_kvm_path(p, sizeof(p), "/sys/kernel/mm/page_idle/bitmap");
	ab_kvm_path(pm, sizeof(pm), "/proc/self/pagemap");
	if ((pr = ab_kvm_probe_file(p, R_OK | W_OK, "kernel without CONFIG_IDLE_PAGE_TRACKING",
				    "page_idle needs root", msg, len)) != AB_KVM_PRESENT ||
	    (pr = ab_kvm_probe_file(pm, R_OK, "procfs not mounted", "pagemap needs root", msg,
				    len)) != AB_KVM_PRESENT)
		return pr;
	snprintf(msg, len, "idle page tracking at %s", p);
	return AB_KVM_PRESENT;
}

static int pidle_prepare(struct ab_kvm_drv *d, const struct ab_kvm_target *t, char *msg, size_t len)
{
	struct pidle *pi = calloc(1, sizeof(*pi));
	char p[512];

	if (!pi)
		return -ENOMEM;
	pi->npages = t->bytes / 4096;
	pi->pfn = calloc(pi->npages, sizeof(uint64_t));
	pi->weight = calloc(pi->npages, sizeof(uint32_t));
	pi->bm_fd =
	    open(ab_kvm_path(p, sizeof(p), "/sys/kernel/mm/page_idle/bitmap"), O_RDWR | O_CLOEXEC);
	/* optional: without it, THP tails are counted as pages of their own */
	pi->kf_fd = open(ab_kvm_path(p, sizeof(p), "/proc/kpageflags"), O_RDONLY | O_CLOEXEC);
	d->priv = pi;
	if (!pi->pfn || !pi->weight || pi->bm_fd < 0) {
		snprintf(msg, len, "page_idle: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

/* Refresh PFNs of [first, first+n) from pagemap (libabvm's reader; not timed). */
static int pidle_pfns(struct pidle *pi, const struct ab_kvm_target *t, uint64_t first, uint64_t n,
		      char *msg, size_t len)
{
	if (ab_vm_pagemap_pfns((const char *)t->hva + first * 4096, n, pi->pfn + first, msg, len))
		return -EIO;
	for (uint64_t i = first; i < first + n; i++)
		pi->weight[i] = pi->pfn[i] ? 1 : 0;
	/*
	 * page_idle tracks folios: a compound tail always reads "not idle".
	 * Fold tails into the head before them (KPF_COMPOUND_TAIL, bit 16).
	 */
	uint64_t fl[512], head = UINT64_MAX;

	for (uint64_t i = first; pi->kf_fd >= 0 && i < first + n;) {
		uint64_t j = i + 1;

		if (!pi->pfn[i]) {
			i++;
			continue;
		}
		/* a run of consecutive PFNs: one read */
		while (j < first + n && j - i < 512 && pi->pfn[j] == pi->pfn[j - 1] + 1)
			j++;
		if (pread(pi->kf_fd, fl, (j - i) * 8, (off_t)pi->pfn[i] * 8) !=
		    (ssize_t)((j - i) * 8))
			break;
		for (uint64_t k = i; k < j; k++) {
			if ((fl[k - i] >> 16 & 1) && head != UINT64_MAX) {
				pi->weight[head]++;
				pi->weight[k] = 0;
				pi->pfn[k] = 0;
			} else {
				head = k;
			}
		}
		i = j;
	}
	return 0;
}

/*
 * Distinct bitmap words covering the PFNs of [first, first+n), in page order
 * (consecutive duplicates merged), with the mask of our PFNs in each word.
 */
static size_t pidle_words(struct pidle *pi, uint64_t first, uint64_t n, uint64_t *idx,
			  uint64_t *mask)
{
	size_t k = 0;

	for (uint64_t i = first; i < first + n; i++) {
		uint64_t pfn = pi->pfn[i];

		if (!pfn)
			continue;
		if (!k || idx[k - 1] != pfn / 64) {
			idx[k] = pfn / 64;
			mask[k++] = 0;
		}
		mask[k - 1] |= 1ull << (pfn % 64);
	}
	return k;
}

/*
 * Read the words into @val (@write false), or write @val (our PFNs only:
 * only set bits mark pages idle), in runs of consecutive words: one syscall
 * per run keeps the interface's own cost, not ours, in the timing. 6.12
 * transfers nothing for the last, partial 64-PFN chunk below max_pfn (see
 * ab_vm_idle_read): such words are flagged unknown on read and skipped.
 */
static int pidle_io(struct pidle *pi, const uint64_t *idx, uint64_t *val, uint8_t *unknown,
		    size_t k, bool write)
{
	for (size_t i = 0; i < k;) {
		size_t j = i + 1;
		ssize_t r, want;

		while (j < k && idx[j] == idx[j - 1] + 1)
			j++;
		want = (ssize_t)((j - i) * 8);
		if (write)
			r = pwrite(pi->bm_fd, val + i, want, (off_t)idx[i] * 8);
		else
			r = pread(pi->bm_fd, val + i, want, (off_t)idx[i] * 8);
		if (r < 0)
			return -errno;
		if (r % 8)
			return -EIO;
		for (size_t m = i + r / 8; !write && m < j; m++)
			unknown[m] = 1;
		i = j;
	}
	return 0;
}

static int pidle_age(struct ab_kvm_drv *d, const char *mode, uint64_t first, uint64_t npages,
		     bool clear, struct ab_kvm_age_res *res, uint64_t *bits)
{
	struct pidle *pi = d->priv;
	uint64_t *idx, *mask, *val, t0;
	uint8_t *unknown;
	size_t k, w = 0;
	int err;

	memset(res, 0, sizeof(*res));
	if ((err = pidle_pfns(pi, &d->t, first, npages, d->err, sizeof(d->err))))
		return err;
	idx = malloc(3 * npages * sizeof(uint64_t) + 8);
	unknown = calloc(npages + 1, 1);
	if (!idx || !unknown) {
		free(idx);
		free(unknown);
		return -ENOMEM;
	}
	mask = idx + npages;
	val = mask + npages;
	k = pidle_words(pi, first, npages, idx, mask);
	t0 = ab_now_ns();
	err = pidle_io(pi, idx, val, unknown, k, false);
	if (!err && clear)
		err = pidle_io(pi, idx, mask, unknown, k, true);
	res->ns = ab_now_ns() - t0;
	res->has_young = true;
	for (uint64_t i = first; !err && i < first + npages; i++) {
		uint64_t pfn = pi->pfn[i];

		if (!pfn)
			continue; /* not mapped: cannot be young */
		while (idx[w] != pfn / 64)
			w++;
		if (unknown[w])
			continue; /* cannot be read back: neither young nor old */
		res->pages += pi->weight[i];
		if (!(val[w] >> (pfn % 64) & 1)) { /* idle bit gone: accessed */
			res->young += pi->weight[i];
			for (uint64_t j = i; bits && j < i + pi->weight[i]; j++)
				bits[j / 64] |= 1ull << (j % 64);
		}
	}
	free(idx);
	free(unknown);
	return err;
}

static void pidle_cleanup(struct ab_kvm_drv *d)
{
	struct pidle *pi = d->priv;

	if (!pi)
		return;
	if (pi->bm_fd >= 0)
		close(pi->bm_fd);
	if (pi->kf_fd >= 0)
		close(pi->kf_fd);
	free(pi->weight);
	free(pi->pfn);
	free(pi);
	d->priv = NULL;
}

const struct ab_kvm_driver ab_kvm_drv_page_idle = {
    .name = "page_idle",
    .detect = pidle_detect,
    .per_page = true,
    .untracked_baseline = true,
    .young_host_view = true,
    .prepare = pidle_prepare,
    .age = pidle_age,
    .cleanup = pidle_cleanup,
};
