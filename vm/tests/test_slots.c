// SPDX-License-Identifier: GPL-2.0
/* slots: 50 memslot add/delete while 2 vCPUs run; they keep making passes;
 * a bad slot id is EINVAL. */
#include "vm_test.h"

int test_slots(int argc, char **argv)
{
	struct ab_vm_config cfg;
	struct ab_vm_vcpu_stats st;
	struct ab_vm_work w;
	struct abvm *vm;
	char err[256];
	bool passed;

	ab_vm_config_init(&cfg);
	cfg.mem_bytes = 16ull << 20;
	cfg.nr_vcpus = 2;
	vm = vt_create(&cfg);
	ab_vm_work_init(&w);
	w.passes = 0;
	w.order = AB_VM_ORDER_RANDOM;
	CHECK(ab_vm_start(vm, &w) == 0, "start");
	for (int i = 0; i < 50; i++) {
		int s = ab_vm_slot_add(vm, 2ull << 20, err, sizeof(err));

		CHECK(s >= 2, "slot add %d: %s", i, err);
		if (s >= 0)
			CHECK(ab_vm_slot_del(vm, s) == 0, "slot del %d", s);
	}
	/* the vCPUs keep running across the churn: wait for a full pass each */
	passed = vt_wait_passes(vm, (uint64_t)cfg.nr_vcpus, 10, 20, &st);
	CHECK(passed, "vCPUs made no progress after slot churn (%" PRIu64 " passes in 20 s)",
	      st.passes);
	CHECK(ab_vm_stop(vm) == 0, "stop after slot churn: %s", ab_vm_last_error(vm));
	ab_vm_stats_total(vm, &st);
	CHECK(st.exits_other == 0, "unexpected exits");
	printf("  50 slot add/delete while running; %" PRIu64 " passes after\n", st.passes);
	CHECK(ab_vm_slot_del(vm, 5) == AB_VM_EINVAL, "deleting an unused slot must be EINVAL");
	ab_vm_destroy(vm);
	return ab_check_failures ? 1 : 0;
}
