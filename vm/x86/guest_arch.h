/* SPDX-License-Identifier: GPL-2.0 */
/*
 * guest_arch.h (x86-64) - what the abvm guest program (guest.c) needs from
 * the CPU: the sync points (an `out` to the I/O port: one KVM_EXIT_IO), the
 * cycle counter around an access, a TLB flush, a write fault that changes
 * nothing. Entered in 64-bit long mode with RDI = the control block.
 */
#ifndef AB_VM_GUEST_ARCH_H
#define AB_VM_GUEST_ARCH_H

#include "ab_vm_guest.h"

static inline void guest_sync(volatile struct ab_vm_ctl *ctl, uint16_t port, uint32_t v)
{
	(void)ctl;
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port) : "memory");
}

/* TSC, ordered against the access it brackets. */
static inline uint64_t guest_cycles(void)
{
	uint32_t lo, hi;

	__asm__ volatile("lfence; rdtsc; lfence" : "=a"(lo), "=d"(hi) : : "memory");
	return ((uint64_t)hi << 32) | lo;
}

/* Flush this vCPU's TLB (combined GVA->HPA translations too): CR3 reload
 * (CPL 0 only). */
static inline void guest_flush_tlb(void)
{
	uint64_t cr3;

	__asm__ volatile("mov %%cr3, %0; mov %0, %%cr3" : "=r"(cr3) : : "memory");
}

/* Write-fault the page at @a without changing it (the host may write the
 * same page concurrently: an atomic add of 0). */
static inline void guest_touch_rw(uint64_t a)
{
	__asm__ volatile("lock addq $0, (%0)" : : "r"(a) : "memory");
}

/* Nested mode: AMD SVM (guest_nested_svm.h). VMX would go beside it. */
#include "guest_nested_svm.h"

#endif /* AB_VM_GUEST_ARCH_H */
