// SPDX-License-Identifier: GPL-2.0
/* abvm_pin.c - vCPU pinning hook (own object: only users that pin pull in hwloc). */
#include "abvm.h"

#include "ab_common.h"

void abvm_pin_vcpu_hook(int vcpu, void *arg)
{
	(void)arg;
	ab_pin_self(1 + vcpu);
}
