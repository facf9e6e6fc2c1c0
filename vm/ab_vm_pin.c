// SPDX-License-Identifier: GPL-2.0
/* ab_vm_pin.c - vCPU pinning hook (own object: only users that pin pull in hwloc). */
#include "ab_vm.h"

#include "ab_common.h"

void ab_vm_pin_vcpu_hook(int vcpu, void *arg)
{
	(void)arg;
	ab_pin_self(1 + vcpu);
}
