/* SPDX-License-Identifier: GPL-2.0 */
/* libabvm's x86-64 state (vm->arch); see ab_vm_priv.h and ab_vm_x86.c. */
#ifndef AB_VM_ARCH_H
#define AB_VM_ARCH_H

struct kvm_cpuid2;

/* Page-table pages the architecture maps beyond the system slot and the
 * test region (none on x86). */
#define AB_VM_ARCH_PT_PAGES 0

/* Why /dev/kvm may be missing here (the rest of the ENODEV message). */
#define AB_VM_ARCH_NO_KVM_HINT "module kvm_intel/kvm_amd not loaded, or no hardware virtualisation"

struct ab_vm_arch {
	struct kvm_cpuid2 *cpuid; /* KVM_GET_SUPPORTED_CPUID, set on every vCPU */
};

/* KVM_GET_SUPPORTED_CPUID of @kvm_fd, malloc'd; NULL on failure. */
struct kvm_cpuid2 *ab_vm_x86_supported_cpuid(int kvm_fd);
/* Nested VMX (ab_vm_nested_vmx.c): not implemented; the reason, for
 * AB_VM_ENESTED. */
const char *ab_vm_x86_vmx_why(void);

#endif /* AB_VM_ARCH_H */
