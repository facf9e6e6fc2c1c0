/* SPDX-License-Identifier: GPL-2.0 */
/*
 * guest_nested_svm.h (x86-64) - the guest program's side of nested mode on
 * AMD SVM (docs/nested.md): this program (L2, ring 0) enables EFER.SVME,
 * names its host save area, and runs each L3 slice with VMRUN on the VMCB
 * the host library prepared (x86/ab_vm_nested_svm.c: the save area's
 * segments and control registers, the intercepts, ASID, the nested page
 * table). The L3 starts every slice afresh at guest_l3_entry with RAX =
 * its block and ends it with VMMCALL, which is the only exit expected:
 * anything else (a nested page fault, a triple fault, an invalid VMCB) is
 * reported to the host as AB_VM_PANIC_L3EXIT with the exit code, both exit
 * infos and the L3's rip.
 *
 * The VMCB offsets and bits are the AMD64 APM vol. 2, appendix B.
 */
#ifndef AB_VM_GUEST_NESTED_SVM_H
#define AB_VM_GUEST_NESTED_SVM_H

#include "ab_vm_guest.h"
#include "ab_vm_nested_svm.h"

/* The L3's entry: RAX = its struct ab_vm_l3, RSP 16-byte aligned. */
__asm__(".pushsection .text\n"
	".globl guest_l3_entry\n"
	"guest_l3_entry:\n"
	"\tmov %rax, %rdi\n"
	"\tcall guest_l3_main\n"
	"1:\tvmmcall\n"
	"\tjmp 1b\n"
	".popsection\n");
void guest_l3_entry(void);
__attribute__((noreturn)) void guest_l3_main(volatile struct ab_vm_l3 *b);

static inline uint64_t svm_rdmsr(uint32_t msr)
{
	uint32_t lo, hi;

	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}

static inline void svm_wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr"
			 :
			 : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32))
			 : "memory");
}

/* L3 slice end: VMMCALL, intercepted by this program's VMCB. */
static inline __attribute__((noreturn)) void guest_l3_end(void)
{
	for (;;)
		__asm__ volatile("vmmcall" : : : "memory");
}

/* Once, before the first command: EFER.SVME and the host save area. 0 ok. */
static inline int guest_nested_init(volatile struct ab_vm_ctl *ctl)
{
	if (!ctl->l3_arch[AB_SVM_CTL_VMCB] || !ctl->l3_arch[AB_SVM_CTL_HSAVE])
		return -1;
	svm_wrmsr(AB_SVM_MSR_EFER, svm_rdmsr(AB_SVM_MSR_EFER) | AB_SVM_EFER_SVME);
	svm_wrmsr(AB_SVM_MSR_VM_HSAVE_PA, ctl->l3_arch[AB_SVM_CTL_HSAVE]);
	return 0;
}

/*
 * VMRUN with GIF clear around it (CLGI/STGI). VMRUN loads the L3's RAX,
 * RSP and RIP from the VMCB; the other general registers are shared, so
 * every one of them is clobbered (RBP saved by hand: it may be the frame
 * pointer). #VMEXIT restores RAX, RSP, RIP of this side from the host save
 * area.
 */
static inline void svm_vmrun(uint64_t vmcb)
{
	__asm__ volatile("push %%rbp\n\t"
			 "clgi\n\t"
			 "vmrun\n\t"
			 "stgi\n\t"
			 "pop %%rbp"
			 : "+a"(vmcb)
			 :
			 : "rbx", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12",
			   "r13", "r14", "r15", "memory", "cc");
}

/* One L3 slice; nonzero if the L3 saw the stop flag. */
static inline int guest_nested_run(volatile struct ab_vm_ctl *ctl, uint64_t cmd, uint64_t pass,
				   uint64_t first, uint64_t n)
{
	volatile struct ab_vm_l3 *b = (volatile struct ab_vm_l3 *)ctl->l3_block_gva;
	volatile uint8_t *vmcb = (volatile uint8_t *)ctl->l3_arch[AB_SVM_CTL_VMCB];
	uint32_t code;

	b->cmd = cmd;
	b->pass = pass;
	b->first = first;
	b->npages = n;
	b->ctl_gva = (uint64_t)ctl;
	b->stopped = 0;
	*(volatile uint64_t *)(vmcb + AB_SVM_SAVE_RIP) = (uint64_t)guest_l3_entry;
	*(volatile uint64_t *)(vmcb + AB_SVM_SAVE_RSP) = ctl->l3_stack_top;
	*(volatile uint64_t *)(vmcb + AB_SVM_SAVE_RAX) = (uint64_t)b;
	*(volatile uint64_t *)(vmcb + AB_SVM_SAVE_RFLAGS) = 2;
	*(volatile uint32_t *)(vmcb + AB_SVM_CTRL_CLEAN) = 0;
	*(volatile uint32_t *)(vmcb + AB_SVM_CTRL_EXIT_CODE) = 0xffffffffu;
	svm_vmrun((uint64_t)vmcb);
	ctl->l3_runs++;
	code = *(volatile uint32_t *)(vmcb + AB_SVM_CTRL_EXIT_CODE);
	if (code != AB_SVM_EXIT_VMMCALL) {
		ctl->l3_exit[0] = code;
		ctl->l3_exit[1] = *(volatile uint64_t *)(vmcb + AB_SVM_CTRL_EXIT_INFO1);
		ctl->l3_exit[2] = *(volatile uint64_t *)(vmcb + AB_SVM_CTRL_EXIT_INFO2);
		ctl->l3_exit[3] = *(volatile uint64_t *)(vmcb + AB_SVM_SAVE_RIP);
		for (;;)
			guest_sync(ctl, AB_VM_PORT_PANIC, AB_VM_PANIC_L3EXIT);
	}
	return b->stopped != 0;
}

#endif /* AB_VM_GUEST_NESTED_SVM_H */
