/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ab_vm_nested.h - libabvm's nested mode: part of the test region touched
 * by a guest of the guest (docs/nested.md).
 *
 * With cfg.nested_pct = P (1..100) each vCPU's partition starts with P% of
 * its pages (at least one) that the guest program never touches itself:
 * its own guest, the "L3", touches them, with the same orders, ops, seeds
 * and stop flag, through a nested page table (x86 AMD: SVM with NPT) that
 * the library builds over those pages and the system slot. From the
 * host's KVM (the one this library talks to) the L3's accesses go through
 * its shadow MMU (nested NPT is always shadowed): the memory where
 * KVM's TDP-MMU-only aging paths cannot see the Accessed bits.
 *
 * Every pass and every touch is one slice in the guest program (the
 * non-nested pages) and one L3 slice (VMRUN ... VMMCALL): one L3 entry per
 * pass and per touch command and vCPU. Nested mode runs the guest program in
 * ring 0 (cfg.cpl0 is implied). It needs a KVM that offers its guests
 * nested virtualisation: on x86, CPUID SVM + NPT in KVM_GET_SUPPORTED_CPUID
 * (kvm_amd with nested=1 on a host with NPT). Elsewhere ab_vm_create()
 * fails with AB_VM_ENESTED (exit 2) and a message naming what is missing
 * (kvm_amd.nested off, an Intel host: nested VMX is not implemented, arm64).
 */
#ifndef AB_VM_NESTED_H
#define AB_VM_NESTED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ab_vm.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What nested virtualisation KVM offers its guests (ab_vm_nested_probe). */
enum ab_vm_nested_kind {
	AB_VM_NESTED_NONE = 0, /* none */
	AB_VM_NESTED_SVM = 1,  /* AMD SVM with NPT: implemented */
	AB_VM_NESTED_VMX = 2,  /* Intel VMX with EPT: recognised, not implemented */
};
/* "none" | "svm" | "vmx" */
const char *ab_vm_nested_kind_name(int kind);

/*
 * Which nested virtualisation the KVM at @kvm_path (NULL: as
 * ab_vm_config.kvm_path) offers its guests, without creating a VM. Returns
 * the kind (>= 0) with, for NONE and VMX, the reason nested mode cannot
 * run here in @why; or a negative AB_VM_E* code when there is no usable
 * KVM at all (ENODEV, EPERM: skip).
 */
int ab_vm_nested_probe(const char *kvm_path, char *why, size_t len);

/* The nested percentage of @vm (cfg.nested_pct; 0: not nested). */
uint32_t ab_vm_nested_pct(const struct abvm *vm);
/* Number of region pages the L3 touches, and whether page @page is one. */
uint64_t ab_vm_nested_npages(const struct abvm *vm);
bool ab_vm_nested_page(const struct abvm *vm, uint64_t page);
/* The nested pages as a bitmap over the region (ab_vm_npages() bits);
 * owned by the VM, NULL when not nested. */
const uint64_t *ab_vm_nested_bitmap(const struct abvm *vm);
/* Pages of [first, first + n) in @vm's partition @vcpu that are nested: the
 * first ones of the partition. */
void ab_vm_nested_range(const struct abvm *vm, int vcpu, uint64_t *first, uint64_t *n);

/*
 * KVM's own view of its shadow MMU for this VM, read before and after a
 * phase:
 *   mmu_cache_miss     binary stat: shadow pages KVM had to create (the
 *                      TDP MMU never counts here, so > 0 means the shadow
 *                      MMU held pages; nested NPT shadow pages are
 *                      "indirect": they make kvm->arch.indirect_shadow_pages,
 *                      which 6.12 does not export, non-zero)
 *   mmu_shadow_zapped  binary stat: shadow pages zapped
 *   rmap_gfns_4k/_2m   debugfs mmu_rmaps_stat: guest frames that have at
 *                      least one shadow-MMU (rmap) mapping at that level, over
 *                      all memslots (-1: file absent)
 * Returns 0, or a negative AB_VM_E* code with @err when the stats fd
 * cannot be read.
 */
struct ab_vm_shadow {
	uint64_t mmu_cache_miss, mmu_shadow_zapped;
	int64_t rmap_gfns_4k, rmap_gfns_2m;
};
int ab_vm_shadow_read(struct abvm *vm, struct ab_vm_shadow *s, char *err, size_t errlen);
/* Parse the text of mmu_rmaps_stat ("" when the VM has no rmaps): 0 or -1. */
int ab_vm_rmaps_stat_parse(const char *text, int64_t *gfns_4k, int64_t *gfns_2m);

#ifdef __cplusplus
}
#endif

#endif /* AB_VM_NESTED_H */
