// SPDX-License-Identifier: GPL-2.0
/*
 * drv_hook.c - the patched kernel's per-VM debugfs walker hook
 * (docs/kernel-interface.md, "Benchmark hook"): the notifier calls of a
 * given mode over a GFN range, batch:N pages each (d->batch; the whole
 * range without), timed by the kernel, with their lock wait and declines.
 */
#define _GNU_SOURCE
#include "ab_kvm.h"
#include "ab_vm.h"
#include "ab_vm_age.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HOOK_MAX_PAGES ((uint64_t)AB_VM_HOOK_MAX_PAGES)

struct hook {
	const struct abvm *vm;
	uint64_t gfn0;
	struct ab_vm_hook_result r;
};

static enum ab_kvm_presence hook_detect(char *msg, size_t len)
{
	char p[512], d[512], cur[64];
	enum ab_kvm_presence pr;

	ab_kvm_path(p, sizeof(p), "/sys/module/kvm/parameters/mmu_age_mode");
	if (!ab_kvm_mode_param(cur, sizeof(cur))) {
		snprintf(msg, len, "%s: %s (kernel without the agebench aging patches)", p,
			 strerror(errno ? errno : ENOENT));
		return AB_KVM_ABSENT;
	}
	ab_kvm_path(d, sizeof(d), "/sys/kernel/debug/kvm");
	if ((pr = ab_kvm_probe_file(d, R_OK | X_OK, DEBUGFS_HINT, "the hook needs root", msg,
				    len)) != AB_KVM_PRESENT)
		return pr;
	if ((pr = ab_kvm_probe_file(p, W_OK, "", "cannot switch aging modes", msg, len)) !=
	    AB_KVM_PRESENT)
		return pr;
	snprintf(msg, len, "debugfs hook under %s, kvm.mmu_age_mode=%s", d, cur);
	return AB_KVM_PRESENT;
}

static int hook_prepare(struct ab_kvm_drv *d, const struct ab_kvm_target *t, char *msg, size_t len)
{
	struct hook *h = calloc(1, sizeof(*h));
	char p[256];

	if (!h)
		return -ENOMEM;
	d->priv = h;
	/* KVM names the dir after the VM-creating thread: libabvm knows it */
	if (!ab_vm_hook_path(t->vm, p, sizeof(p))) {
		snprintf(msg, len, "%s: no such file (kernel without the age_bench hook?)", p);
		return -ENOENT;
	}
	h->vm = t->vm;
	h->gfn0 = t->gpa >> 12;
	h->r.words = HOOK_MAX_PAGES / 64;
	h->r.bitmap = malloc(h->r.words * 8);
	return h->r.bitmap ? 0 : -ENOMEM;
}

/*
 * One hook request over at most HOOK_MAX_PAGES pages, in notifier calls of
 * @batch pages (0: the whole range), through libabvm's
 * ab_vm_hook_call_batch (open, write the question, read the answer: the
 * file is non-seekable and keeps one answer per VM; strict parse + echo
 * check, batch included). The kernel times the notifier calls itself and
 * answers ns without its mmu_lock wait: ns + lock_wait_ns is the calls'
 * wall time, which is what ns_per_page means in every driver.
 */
static int hook_call(struct hook *h, const char *mode, uint64_t first, uint64_t n, bool clear,
		     uint64_t batch, struct ab_kvm_age_res *res, uint64_t *bits, char *msg,
		     size_t len)
{
	if (ab_vm_hook_call_batch(h->vm, mode, h->gfn0 + first, n, clear, batch, &h->r, msg, len))
		return -EPROTO;
	res->pages += h->r.pages;
	res->young += h->r.young;
	res->has_young = true;
	res->ns += h->r.ns + h->r.lock_wait_ns;
	res->lock_wait_ns += h->r.lock_wait_ns;
	if (h->r.declined)
		res->declined = true;
	/* v2: the declined notifier calls and all of them; v1: one request */
	res->declines += h->r.has_batch ? h->r.declines : (uint64_t)h->r.declined;
	res->calls += h->r.has_batch ? h->r.calls : 0;
	res->has_calls = h->r.has_batch;
	for (uint64_t i = 0; bits && i < n; i++)
		if (ab_vm_bit(h->r.bitmap, i))
			ab_vm_set_bit(bits, first + i);
	return 0;
}

static int hook_age(struct ab_kvm_drv *d, const char *mode, uint64_t first, uint64_t npages,
		    bool clear, struct ab_kvm_age_res *res, uint64_t *bits)
{
	struct hook *h = d->priv;
	int err = 0;

	memset(res, 0, sizeof(*res));
	for (uint64_t off = 0; off < npages && !err; off += HOOK_MAX_PAGES) {
		uint64_t n = npages - off < HOOK_MAX_PAGES ? npages - off : HOOK_MAX_PAGES;

		err = hook_call(h, mode, first + off, n, clear, d->batch, res, bits, d->err,
				sizeof(d->err));
	}
	/* the hook answers lock_wait_ns and declined itself, per walker call */
	res->has_lock_wait = res->has_declines = !err;
	return err;
}

static void hook_cleanup(struct ab_kvm_drv *d)
{
	struct hook *h = d->priv;

	if (!h)
		return;
	free(h->r.bitmap);
	free(h);
	d->priv = NULL;
}

const struct ab_kvm_driver ab_kvm_drv_hook = {
    .name = "hook",
    .detect = hook_detect,
    .per_mode = true,
    .per_page = true,
    .prepare = hook_prepare,
    .age = hook_age,
    .cleanup = hook_cleanup,
};
