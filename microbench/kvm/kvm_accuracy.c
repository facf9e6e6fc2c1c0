// SPDX-License-Identifier: GPL-2.0
/*
 * kvm_accuracy.c - the kvm backend's accuracy rounds while the vCPUs run:
 * exact drivers (KVM's own answer or page_idle) and the reclaim driver
 * (hot pages evicted). See kvm_priv.h, docs/kvm-backend.md "Accuracy".
 */
#define _GNU_SOURCE
#include "kvm_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ab_bench_config.h"
#include "ab_common.h"

/*
 * Accuracy, exact drivers, while the vCPUs run: every round the vCPUs loop
 * over a fresh random half of their pages (HOTCOLD, hot set of seed
 * 0x5eed + round, cold pages never), the VM runs at CPL 0 so that every
 * pass starts with a TLB flush (hardware sets the Accessed bit again after
 * a clear); the ager clears the whole range, waits until every vCPU
 * completed two more passes (so one full pass after the clear), and tests
 * while the vCPUs keep running. A page reported young that was not touched
 * is a bug for KVM's own answer (the hook: false young, -EPROTO with @msg);
 * page_idle's "young" also sees the host's own PTEs and whole folios (THP
 * collapse, KSM, the host touching guest memory), so there it is counted
 * (false_young) instead. A touched page reported old is
 * a false old; a declined test counts every touched page as false old (no
 * answer is not "young"), the model's definition. Rounds are all counted.
 * The comparison is per 2 MiB block for THP (one young bit per mapping).
 */
int kvm_accuracy_exact(struct ab_kvm_drv *d, struct abvm *vm, const struct kbench *kb,
		       enum ab_vm_op op, int rounds, uint64_t *false_old, uint64_t *false_young,
		       uint64_t *checked, char *msg, size_t len)
{
	uint64_t n = ab_vm_npages(vm), words = (n + 63) / 64;
	uint64_t *touch = calloc(words, 8), *young = calloc(words, 8),
		 *untracked = calloc(words, 8);
	uint64_t *p0 = calloc((size_t)ab_vm_nr_vcpus(vm), 8);
	uint64_t gran = kb->backing == AB_VM_BACKING_THP ? 512 : 1;
	struct ab_kvm_age_res r;
	struct ab_vm_work w;
	int err = 0;

	if (!touch || !young || !untracked || !p0) {
		free(touch);
		free(young);
		free(untracked);
		free(p0);
		return -ENOMEM;
	}
	*false_old = *false_young = *checked = 0;
	for (int round = 0; round < rounds && !err; round++) {
		uint64_t seed = 0x5eed + (uint64_t)round;
		bool running = false;

		memset(touch, 0, words * 8);
		memset(young, 0, words * 8);
		for (uint64_t p = 0; p < n; p++)
			if (ab_vm_page_is_hot(seed, p, 50))
				touch[p / 64] |= 1ull << (p % 64);
		/*
		 * page_idle cannot track every page (THP tails, folios off the
		 * LRU for a moment): they read "not idle" right after marking.
		 * Such pages are found with the vCPUs idle and left out; the
		 * hook gets no such allowance.
		 */
		memset(untracked, 0, words * 8);
		if (d->ops->untracked_baseline) {
			ab_vm_lru_drain_all(); /* page_idle skips folios in per-CPU LRU batches */
			if ((err = d->ops->age(d, kb->mode, 0, n, true, &r, NULL)) ||
			    (err = d->ops->age(d, kb->mode, 0, n, false, &r, untracked)))
				break;
		}
		ab_vm_work_init(&w);
		w.op = op;
		w.order = AB_VM_ORDER_HOTCOLD;
		w.seed = seed;
		w.hot_pct = 50;
		w.cold_every = 0;
		w.passes = 0;
		if ((err = ab_vm_start(vm, &w))) {
			snprintf(msg, len, "hot loop: %s %s", ab_vm_strerr(err),
				 ab_vm_last_error(vm));
			err = -EIO;
			break;
		}
		running = true;
		if (d->ops->untracked_baseline)
			ab_vm_lru_drain_all();
		if ((err = d->ops->age(d, kb->mode, 0, n, true, &r, NULL)))
			goto stop;
		for (int i = 0; i < ab_vm_nr_vcpus(vm); i++) {
			struct ab_vm_vcpu_stats s;

			ab_vm_vcpu_stats(vm, i, &s);
			p0[i] = s.passes;
		}
		if (kvm_wait_passes(vm, p0, 2, 60ull * 1000000000ull)) {
			snprintf(msg, len,
				 "accuracy: the vCPUs did not complete two passes in 60 s");
			err = -ETIMEDOUT;
			goto stop;
		}
		if ((err = d->ops->age(d, kb->mode, 0, n, false, &r, young)))
			goto stop;
		for (uint64_t p = 0; p < n; p += gran) {
			bool t = false, y = false;
			int tracked = 0;

			for (uint64_t q = p; q < p + gran && q < n; q++) {
				if (untracked[q / 64] >> (q % 64) & 1)
					continue;
				tracked++;
				t |= touch[q / 64] >> (q % 64) & 1;
				y |= young[q / 64] >> (q % 64) & 1;
			}
			if (!tracked)
				continue;
			if (!r.declined && y && !t && d->ops->young_host_view) {
				(*false_young)++;
			} else if (!r.declined && y && !t && !d->ops->young_inexact) {
				snprintf(msg, len,
					 "false young: %s reported guest page %llu young but the "
					 "guest did not touch it since the last clear (round %d)",
					 d->ops->name, (unsigned long long)p, round);
				err = -EPROTO;
				break;
			}
			if (t && (r.declined || !y))
				(*false_old)++;
			if (t)
				(*checked)++;
		}
	stop:
		if (running) {
			int e = ab_vm_stop(vm);

			if (e && !err) {
				snprintf(msg, len, "hot loop: %s %s", ab_vm_strerr(e),
					 ab_vm_last_error(vm));
				err = -EIO;
			}
		}
	}
	free(touch);
	free(young);
	free(untracked);
	free(p0);
	return err;
}

/*
 * Page-cache ballast for the reclaim accuracy rounds: a fresh sparse
 * O_TMPFILE of @pages pages read once (clean, unmapped, never evicted
 * before, so no workingset activation), charged to our memcg. Returns the
 * fd (close it to drop the pages) or -errno.
 */
static int ballast(uint64_t pages)
{
	static char buf[1 << 20];
	int fd = open(kvm_file_dir(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)(pages * 4096)) < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	for (off_t off = 0; off < (off_t)(pages * 4096); off += sizeof(buf))
		if (pread(fd, buf, sizeof(buf), off) < 0)
			break;
	return fd;
}

/*
 * Accuracy, reclaim: every round (1) adds a page-cache ballast as large as
 * the hot set (fresh, unreferenced by any PTE), (2) lets the guest touch its
 * hot half once, (3) asks reclaim for the ballast's size. Old victims (the
 * ballast, the untouched cold half) are plentiful, so reclaim should not
 * need to look at a hot page twice: a hot page gone afterwards was judged
 * old although the guest touched it since the previous call. Counted as
 * hot_evicted, an upper bound on false old (the kernel's active-list aging
 * can also consume a young bit in between).
 */
int kvm_accuracy_reclaim(struct ab_kvm_drv *d, struct abvm *vm, int rounds, uint64_t *hot_evicted,
			 uint64_t *checked, char *msg, size_t len)
{
	uint64_t n = ab_vm_npages(vm), words = (n + 63) / 64, hot = 0;
	uint64_t *res = calloc(words, 8);
	struct ab_kvm_age_res r;
	struct ab_vm_work w;
	int err = 0;

	if (!res)
		return -ENOMEM;
	for (uint64_t p = 0; p < n; p++)
		hot += ab_vm_page_is_hot(0x5eed, p, 50);
	ab_vm_work_init(&w);
	w.op = AB_VM_OP_READ;
	w.order = AB_VM_ORDER_HOTCOLD;
	w.seed = 0x5eed;
	w.hot_pct = 50;
	w.cold_every = 0;
	w.passes = 1;
	*hot_evicted = *checked = 0;
	for (int round = 0; round < rounds + 1 && !err; round++) {
		int bfd = ballast(hot);

		if (bfd < 0) {
			snprintf(msg, len, "ballast file in %s: %s", kvm_file_dir(),
				 strerror(-bfd));
			err = bfd;
			break;
		}
		if ((err = ab_vm_start_wait(vm, &w))) {
			snprintf(msg, len, "hot pass: %s %s", ab_vm_strerr(err),
				 ab_vm_last_error(vm));
			close(bfd);
			err = -EIO;
			break;
		}
		memset(res, 0, words * 8);
		d->budget = hot;
		err = d->ops->age(d, NULL, 0, n, true, &r, res);
		close(bfd);
		if (err || round == 0)
			continue; /* the first call also meets pages touched before */
		for (uint64_t p = 0; p < n; p++) {
			if (!ab_vm_page_is_hot(0x5eed, p, 50))
				continue;
			(*checked)++;
			if (!(res[p / 64] >> (p % 64) & 1))
				(*hot_evicted)++;
		}
	}
	d->budget = 0;
	free(res);
	return err;
}
