// SPDX-License-Identifier: GPL-2.0
/*
 * af: after aging, a guest access makes the page young again, and how: on
 * arm64 either the CPU sets the stage-2 access flag itself (FEAT_HAFDBS,
 * which 6.12's KVM enables with VTCR_EL2.HA) or every aged page costs the
 * vCPU an access-flag fault that KVM handles (kvm_handle_guest_abort ->
 * handle_access_fault). The vCPU's "exits" stat tells them apart: re-touching
 * N aged pages costs ~N exits without hardware AF and ~0 with it, against a
 * control touch of the same pages while still young. Aging is page_idle's
 * (clear_young through the MMU notifier), so this needs page_idle; the TLB
 * is flushed before each touch (cfg.cpl0), so every access walks stage 2.
 *
 * Asserts: the young set after the touch is exactly the touched set; on
 * arm64, ~1 extra exit per page iff ID_AA64MMFR1_EL1.HAFDBS (KVM's view of
 * the CPU) is 0, ~0 iff it is >= 1. Prints the figures either way.
 */
#define _GNU_SOURCE
#include "vm_test.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct af {
	struct abvm *vm;
	struct ab_vm_kstats *ks;
	int fd;
	uint64_t n, *pfns, *all, *young, *unknown;
};

static uint64_t exits(struct af *a)
{
	uint64_t v = 0;

	CHECK(ab_vm_kstats_get(a->ks, "exits", &v) == 0, "vCPU stat 'exits' missing");
	return v;
}

/* Touch every page (READ; the touch command flushes the TLB first); the
 * vCPU's exits beyond the sync points, per page. */
static double touch_all(struct af *a)
{
	struct ab_vm_vcpu_stats s0, s1;
	uint64_t e0, e1;

	ab_vm_vcpu_stats(a->vm, 0, &s0);
	e0 = exits(a);
	CHECK(ab_vm_touch(a->vm, a->all, AB_VM_OP_READ) == 0, "touch");
	vt_wait_ok(a->vm);
	e1 = exits(a);
	ab_vm_vcpu_stats(a->vm, 0, &s1);
	return (double)(e1 - e0 - (s1.exits_io - s0.exits_io)) / (double)a->n;
}

/* page_idle: mark everything idle (KVM clears the access flags), touch
 * (extra exits per page into *@aged), touch again with nothing aged since
 * (the control, into *@young), read back: exactly everything young. The
 * read comes last because it ages too (page_idle's read is test-and-clear). */
static void round_aged(struct af *a, int r, double *aged, double *young)
{
	uint64_t d = 0;

	ab_vm_lru_drain_all();
	CHECK(ab_vm_idle_mark(a->fd, a->pfns, a->n) == 0, "round %d: page_idle mark", r);
	*aged = touch_all(a);
	*young = touch_all(a);
	CHECK(ab_vm_idle_read(a->fd, a->pfns, a->n, a->young, a->unknown) == 0,
	      "round %d: page_idle read: %s", r, strerror(errno));
	for (uint64_t i = 0; i < a->n; i++)
		if (!ab_vm_bit(a->unknown, i) && !ab_vm_bit(a->young, i))
			d++;
	CHECK(d == 0, "round %d: %" PRIu64 " touched pages read back idle after aging", r, d);
}

int test_af(int argc, char **argv)
{
	struct ab_vm_config cfg;
	struct af a = {0};
	double aged = 0, young = 0;
	int hw, rounds = 3;
	char err[256];

	a.fd = open(AB_VM_PAGE_IDLE_PATH, O_RDWR | O_CLOEXEC);
	TEST_REQUIRE(a.fd >= 0, "%s: %s (kernel without CONFIG_IDLE_PAGE_TRACKING)",
		     AB_VM_PAGE_IDLE_PATH, strerror(errno));
	ab_vm_config_init(&cfg);
	cfg.mem_bytes = 32ull << 20;
	cfg.cpl0 = true; /* TLB flush before every command */
	a.vm = vt_create(&cfg);
	a.n = ab_vm_npages(a.vm);
	a.ks = ab_vm_kstats_open(a.vm, 0);
	TEST_REQUIRE(a.ks != NULL, "no KVM_GET_STATS_FD (kernel before 5.14)");
	a.pfns = calloc(a.n + 1, 8);
	if (!a.pfns)
		ab_die(1, "out of memory");
	a.all = vt_bm_alloc(a.n);
	a.young = vt_bm_alloc(a.n);
	a.unknown = vt_bm_alloc(a.n);
	for (uint64_t i = 0; i < a.n; i++)
		ab_vm_set_bit(a.all, i);
	/* map every page writable in KVM and the host first */
	CHECK(ab_vm_touch(a.vm, a.all, AB_VM_OP_WRITE) == 0, "populate");
	vt_wait_ok(a.vm);
	CHECK(ab_vm_pagemap_pfns(ab_vm_hva(a.vm), a.n, a.pfns, err, sizeof(err)) == 0, "%s", err);
	for (int r = 0; r < rounds; r++) {
		double x, y;

		round_aged(&a, r, &x, &y);
		aged += x / rounds;
		young += y / rounds;
	}
	hw = ab_vm_hw_access_flag(a.vm);
	printf("  %" PRIu64 " pages, %d rounds: re-touch after aging %.3f exits/page, "
	       "control (still young) %.3f exits/page\n",
	       a.n, rounds, aged, young);
	if (hw < 0) {
		printf("  hardware access flag: not an arm64 question here (x86 EPT/NPT A bits)\n");
	} else {
		printf(
		    "  ID_AA64MMFR1_EL1.HAFDBS (KVM's view of this CPU) = %d: the stage-2 access "
		    "flag is set %s\n",
		    hw, aged - young > 0.5 ? "by KVM on access faults" : "by the hardware");
		if (hw == 0)
			CHECK(aged - young > 0.9,
			      "no FEAT_HAFDBS, yet re-touching aged pages cost only %.3f extra "
			      "exits/page (want ~1: an access-flag fault each)",
			      aged - young);
		else
			CHECK(
			    aged - young < 0.1,
			    "FEAT_HAFDBS %d, yet re-touching aged pages cost %.3f extra exits/page "
			    "(want ~0: 6.12 KVM sets VTCR_EL2.HA)",
			    hw, aged - young);
	}
	ab_vm_kstats_close(a.ks);
	ab_vm_destroy(a.vm);
	close(a.fd);
	free(a.pfns);
	free(a.all);
	free(a.young);
	free(a.unknown);
	return ab_check_failures ? 1 : 0;
}
