// SPDX-License-Identifier: GPL-2.0
/* crash: a guest that crashes (triple fault injected with ab_vm_debug_crash)
 * is reported, not hung on; the crashed vCPU refuses commands, the other
 * keeps working; the VM still tears down. */
#include "ab_vm_internal.h" /* ab_vm_debug_crash */
#include "vm_test.h"

#include <string.h>

int test_crash(int argc, char **argv)
{
	struct ab_vm_config cfg;
	struct ab_vm_vcpu_stats st;
	struct ab_vm_work w;
	struct abvm *vm;
	int r;

	ab_vm_config_init(&cfg);
	cfg.mem_bytes = 8ull << 20;
	cfg.nr_vcpus = 2;
	vm = vt_create(&cfg);
	CHECK(ab_vm_debug_crash(vm, 1) == 0, "inject");
	r = ab_vm_wait(vm, 30 * VT_SEC);
	CHECK(r == AB_VM_EGUEST, "wait after a guest crash returned %s, want EGUEST",
	      ab_vm_strerr(r));
	CHECK(strstr(ab_vm_last_error(vm), "vCPU 1") &&
		  strstr(ab_vm_last_error(vm), AB_VM_CRASH_WORDS),
	      "last error '%s' does not name vCPU 1 and the crash (\"%s\")", ab_vm_last_error(vm),
	      AB_VM_CRASH_WORDS);
	printf("  crash reported: %s\n", ab_vm_last_error(vm));
	ab_vm_stats_total(vm, &st);
	CHECK(st.exits_other == 1, "exits_other %" PRIu64 ", want 1", st.exits_other);
	ab_vm_work_init(&w);
	CHECK(ab_vm_vcpu_start(vm, 1, &w) == AB_VM_EGUEST, "a crashed vCPU must refuse commands");
	CHECK(ab_vm_vcpu_start(vm, 0, &w) == 0 && ab_vm_vcpu_wait(vm, 0, 30 * VT_SEC) == 0,
	      "the other vCPU must keep working: %s", ab_vm_last_error(vm));
	ab_vm_destroy(vm);
	return ab_check_failures ? 1 : 0;
}
