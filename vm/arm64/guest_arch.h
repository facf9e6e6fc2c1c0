/* SPDX-License-Identifier: GPL-2.0 */
/*
 * guest_arch.h (arm64) - what the abvm guest program (guest.c) needs from
 * the CPU: the sync points (a 32-bit store to the sync MMIO page, one
 * KVM_EXIT_MMIO: a plain STR with no writeback, so that the abort syndrome
 * is valid), the virtual counter around an access, a TLB flush, a write
 * fault that changes nothing, and the exception report. Entered at EL1
 * with the MMU on, X0 = the control block, TPIDR_EL1 = the same.
 */
#ifndef AB_VM_GUEST_ARCH_H
#define AB_VM_GUEST_ARCH_H

#include "ab_vm_guest.h"

static inline void guest_mmio_write(uint64_t addr, uint32_t v)
{
	__asm__ volatile("str %w0, [%1]" : : "r"(v), "r"(addr) : "memory");
}

static inline void guest_sync(volatile struct ab_vm_ctl *ctl, uint16_t port, uint32_t v)
{
	guest_mmio_write(ctl->sync_gva + AB_VM_SYNC_OFF(port), v);
}

/* CNTVCT_EL0, ordered: earlier accesses complete (dsb) and the read is not
 * speculated ahead of them or after later ones (isb). */
static inline uint64_t guest_cycles(void)
{
	uint64_t v;

	__asm__ volatile("dsb ish; isb; mrs %0, cntvct_el0; isb" : "=r"(v) : : "memory");
	return v;
}

/* Invalidate this VM's stage-1 (and combined stage-1+2) TLB entries on
 * every PE, so that the next access walks stage 2 again. */
static inline void guest_flush_tlb(void)
{
	__asm__ volatile("dsb ishst; tlbi vmalle1is; dsb ish; isb" : : : "memory");
}

/* Write-fault the page at @a without changing it (the host may write the
 * same page concurrently): an exclusive load/store pair (ARMv8.0). */
static inline void guest_touch_rw(uint64_t a)
{
	uint64_t tmp;
	uint32_t fail;

	__asm__ volatile("1: ldxr %0, [%2]\n"
			 "   stxr %w1, %0, [%2]\n"
			 "   cbnz %w1, 1b"
			 : "=&r"(tmp), "=&r"(fail)
			 : "r"(a)
			 : "memory");
}

/* Called by every vector (guest_vectors.S) with its index; never returns.
 * The host reads ESR_EL1/FAR_EL1/ELR_EL1 and fails the vCPU. */
__attribute__((noreturn, used)) void guest_exception(uint64_t vec);
__attribute__((noreturn, used)) void guest_exception(uint64_t vec)
{
	volatile struct ab_vm_ctl *ctl;

	__asm__ volatile("mrs %0, tpidr_el1" : "=r"(ctl));
	guest_mmio_write(ctl->sync_gva + AB_VM_SYNC_EXCEPTION_OFF, (uint32_t)vec);
	for (;;)
		__asm__ volatile("wfi");
}

/* Nested mode is not implemented on arm64 (docs/nested.md): the host
 * library refuses it (AB_VM_ENESTED) before a guest runs, so these are
 * never reached; guest_nested_init fails for safety. */
__attribute__((noreturn)) void guest_l3_main(volatile struct ab_vm_l3 *b);
static inline int guest_nested_init(volatile struct ab_vm_ctl *ctl)
{
	(void)ctl;
	return -1;
}
static inline int guest_nested_run(volatile struct ab_vm_ctl *ctl, uint64_t cmd, uint64_t pass,
				   uint64_t first, uint64_t n)
{
	(void)cmd, (void)pass, (void)first, (void)n;
	guest_sync(ctl, AB_VM_PORT_PANIC, AB_VM_PANIC_NESTED); /* the host fails the vCPU */
	return 0;
}
static inline __attribute__((noreturn)) void guest_l3_end(void)
{
	for (;;)
		__asm__ volatile("wfi");
}

#endif /* AB_VM_GUEST_ARCH_H */
