/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ab_vm_nested_svm.h (x86-64) - what the host library (ab_vm_nested_svm.c)
 * and the guest program (guest_nested_svm.h) share about AMD SVM: MSRs,
 * VMCB offsets and bits (AMD64 APM vol. 2, appendix B), the slots of
 * ctl->l3_arch. Freestanding: <stdint.h> only.
 */
#ifndef AB_VM_NESTED_SVM_H
#define AB_VM_NESTED_SVM_H

#include <stdint.h>

/* ctl->l3_arch[] on SVM */
#define AB_SVM_CTL_VMCB	 0 /* GPA of this vCPU's VMCB */
#define AB_SVM_CTL_HSAVE 1 /* GPA of its host save area (VM_HSAVE_PA) */

#define AB_SVM_MSR_EFER	       0xc0000080u
#define AB_SVM_MSR_VM_HSAVE_PA 0xc0010117u
#define AB_SVM_EFER_SVME       (1ull << 12)

/* VMCB control area */
#define AB_SVM_CTRL_INTERCEPT_MISC1 0x00c /* word 3: INTR .. SHUTDOWN */
#define AB_SVM_CTRL_INTERCEPT_MISC2 0x010 /* word 4: VMRUN, VMMCALL, ... */
#define AB_SVM_CTRL_IOPM_BASE	    0x040
#define AB_SVM_CTRL_MSRPM_BASE	    0x048
#define AB_SVM_CTRL_ASID	    0x058
#define AB_SVM_CTRL_TLB_CTL	    0x05c
#define AB_SVM_CTRL_INT_CTL	    0x060
#define AB_SVM_CTRL_EXIT_CODE	    0x070
#define AB_SVM_CTRL_EXIT_INFO1	    0x078
#define AB_SVM_CTRL_EXIT_INFO2	    0x080
#define AB_SVM_CTRL_NESTED_CTL	    0x090
#define AB_SVM_CTRL_NCR3	    0x0b0
#define AB_SVM_CTRL_CLEAN	    0x0c0

#define AB_SVM_INTERCEPT_HLT	  (1u << 24) /* in MISC1 */
#define AB_SVM_INTERCEPT_SHUTDOWN (1u << 31) /* in MISC1 */
#define AB_SVM_INTERCEPT_VMRUN	  (1u << 0)  /* in MISC2 */
#define AB_SVM_INTERCEPT_VMMCALL  (1u << 1)  /* in MISC2 */
#define AB_SVM_TLB_FLUSH_ALL	  1
#define AB_SVM_V_INTR_MASKING	  (1u << 24)
#define AB_SVM_NP_ENABLE	  1ull

/* VMCB state save area (at 0x400) */
#define AB_SVM_SAVE_ES	   0x400 /* segments: selector u16, attrib u16, limit u32, base u64 */
#define AB_SVM_SAVE_CS	   0x410
#define AB_SVM_SAVE_SS	   0x420
#define AB_SVM_SAVE_DS	   0x430
#define AB_SVM_SAVE_FS	   0x440
#define AB_SVM_SAVE_GS	   0x450
#define AB_SVM_SAVE_GDTR   0x460
#define AB_SVM_SAVE_LDTR   0x470
#define AB_SVM_SAVE_IDTR   0x480
#define AB_SVM_SAVE_TR	   0x490
#define AB_SVM_SAVE_CPL	   0x4cb
#define AB_SVM_SAVE_EFER   0x4d0
#define AB_SVM_SAVE_CR4	   0x548
#define AB_SVM_SAVE_CR3	   0x550
#define AB_SVM_SAVE_CR0	   0x558
#define AB_SVM_SAVE_DR7	   0x560
#define AB_SVM_SAVE_DR6	   0x568
#define AB_SVM_SAVE_RFLAGS 0x570
#define AB_SVM_SAVE_RIP	   0x578
#define AB_SVM_SAVE_RSP	   0x5d8
#define AB_SVM_SAVE_RAX	   0x5f8
#define AB_SVM_SAVE_G_PAT  0x668

/* exit codes */
#define AB_SVM_EXIT_HLT	     0x078
#define AB_SVM_EXIT_SHUTDOWN 0x07f
#define AB_SVM_EXIT_VMMCALL  0x081
#define AB_SVM_EXIT_NPF	     0x400
#define AB_SVM_EXIT_INVALID  0xffffffffu /* VMRUN refused the VMCB */

#endif /* AB_VM_NESTED_SVM_H */
