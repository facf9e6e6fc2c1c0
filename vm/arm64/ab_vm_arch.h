/* SPDX-License-Identifier: GPL-2.0 */
/* libabvm's arm64 state (vm->arch); see ab_vm_priv.h and ab_vm_arm64.c. */
#ifndef AB_VM_ARCH_H
#define AB_VM_ARCH_H

#include <linux/kvm.h>
#include <stdint.h>

/* Page-table pages mapped beyond the system slot and the test region: a
 * level-1 and a level-2 table for the sync MMIO block. */
#define AB_VM_ARCH_PT_PAGES 2

/* Why /dev/kvm may be missing here (the rest of the ENODEV message). */
#define AB_VM_ARCH_NO_KVM_HINT                                                                     \
	"kernel not entered at EL2 (no virtualisation extensions), or kvm-arm.mode=none"

/* The guest image (arm64/guest.ld): the vector table first, at
 * AB_VM_CODE_GPA (2 KiB aligned, 2 KiB long), the entry point right after. */
#define AB_VM_ARM64_VECTORS_OFF 0x000
#define AB_VM_ARM64_ENTRY_OFF	0x800

struct ab_vm_arch {
	struct kvm_vcpu_init init; /* KVM_ARM_PREFERRED_TARGET */
	int ipa_bits;		   /* of this VM (KVM_CREATE_VM type), 0 = KVM's default 40 */
	uint64_t mmio_gpa;	   /* 2 MiB block of the sync points, above every slot */
	uint64_t mmfr0, mmfr1;	   /* ID_AA64MMFR{0,1}_EL1 as KVM shows them to vCPU 0 */
};

#endif /* AB_VM_ARCH_H */
