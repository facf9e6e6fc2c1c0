// SPDX-License-Identifier: GPL-2.0
/*
 * ab_vm_nested_vmx.c - nested mode on Intel VMX: recognised, not
 * implemented. Where KVM offers its guests VMX, ab_vm_create() with
 * cfg.nested_pct fails with AB_VM_ENESTED and this reason. What an
 * implementation needs beside the SVM one (docs/nested.md, "VMX"): a VMXON
 * region and a VMCS per vCPU (VMCLEAR, VMPTRLD, VMWRITE of the guest-state,
 * host-state and control fields instead of a memory VMCB), CR0/CR4 fixed
 * bits from the IA32_VMX_CR{0,4}_FIXED MSRs, an EPT (4-level, RWX bits,
 * memory type WB) in place of the NPT, VMLAUNCH/VMRESUME with the host RSP
 * and RIP written into the VMCS, and VMCALL as the end of a slice (exit
 * reason 18). The guest program's slices and the L3 (guest_l3_main) stay
 * as they are.
 */
#include "ab_vm_priv.h"

const char *ab_vm_x86_vmx_why(void)
{
	return "KVM offers its guests VMX (an Intel host), but agebench's nested mode is "
	       "implemented for AMD SVM only (docs/nested.md, \"VMX\")";
}
