// SPDX-License-Identifier: GPL-2.0
/*
 * latency: one sample per page in a first and a warm pass, first-touch p50
 * well above warm p50; after ab_vm_prefault() the first write pass takes
 * no faults; record_latency without cfg.latency is EINVAL.
 */
#include "vm_test.h"

static uint64_t p50(const struct ab_hist *h)
{
	return ab_hist_quantile(h, 0.5);
}

/* Run one recorded write pass and return vCPU 0's histogram of it. */
static struct ab_hist recorded_pass(struct abvm *vm, const char *what)
{
	struct ab_vm_work w;

	ab_vm_work_init(&w);
	w.record_latency = true;
	ab_vm_hist_reset(vm);
	CHECK(ab_vm_start_wait(vm, &w) == 0, "%s: %s", what, ab_vm_last_error(vm));
	return *ab_vm_vcpu_hist(vm, 0);
}

int test_latency(int argc, char **argv)
{
	struct ab_vm_config cfg;
	struct ab_vm_work w;
	struct ab_hist cold, warm, pre;
	struct abvm *vm;
	int r;

	ab_vm_config_init(&cfg);
	cfg.mem_bytes = 32ull << 20;
	cfg.latency = true;
	vm = vt_create(&cfg);
	cold = recorded_pass(vm, "first pass");
	warm = recorded_pass(vm, "second pass");
	CHECK(cold.count == ab_vm_npages(vm),
	      "first-touch histogram has %" PRIu64 " samples, want %" PRIu64, cold.count,
	      ab_vm_npages(vm));
	CHECK(warm.count == ab_vm_npages(vm), "warm histogram has %" PRIu64 " samples", warm.count);
	printf("  first touch: p50 %" PRIu64 " ns p99 %" PRIu64 " ns; warm: p50 %" PRIu64 " ns\n",
	       p50(&cold), ab_hist_quantile(&cold, 0.99), p50(&warm));
	/* a fault (exit to the host kernel) vs a cached store: orders apart */
	CHECK(p50(&cold) > 2 * p50(&warm),
	      "first-touch p50 not above warm p50: latency not measured around the access?");
	ab_vm_destroy(vm);

	/* prefaulted (host + KVM) memory: the first write pass takes no faults */
	vm = vt_create(&cfg);
	r = ab_vm_prefault(vm, AB_VM_PREFAULT_KVM);
	CHECK(r > 0 && (r & AB_VM_PREFAULT_HOST) && (r & AB_VM_PREFAULT_KVM),
	      "ab_vm_prefault: %d (%s)", r, ab_vm_last_error(vm));
	pre = recorded_pass(vm, "pass after prefault");
	printf("  after ab_vm_prefault (%s): first write pass p50 %" PRIu64 " ns\n",
	       r > 0 && (r & AB_VM_PREFAULT_USED_IOCTL) ? "KVM_PRE_FAULT_MEMORY"
							: "guest write pass",
	       p50(&pre));
	CHECK(pre.count == ab_vm_npages(vm), "prefault pass samples");
	CHECK(2 * p50(&pre) < p50(&cold),
	      "after prefault the first pass still faults (p50 %" PRIu64 " ns)", p50(&pre));
	ab_vm_destroy(vm);

	/* without cfg.latency, record_latency is refused */
	cfg.latency = false;
	vm = vt_create(&cfg);
	ab_vm_work_init(&w);
	w.record_latency = true;
	CHECK(ab_vm_start(vm, &w) == AB_VM_EINVAL,
	      "record_latency without cfg.latency must be EINVAL");
	ab_vm_destroy(vm);
	return ab_check_failures ? 1 : 0;
}
