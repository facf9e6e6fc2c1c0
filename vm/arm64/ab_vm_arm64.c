// SPDX-License-Identifier: GPL-2.0
/*
 * ab_vm_arm64.c - libabvm on arm64: a VM sized to the IPA space it needs
 * (KVM_CAP_ARM_VM_IPA_SIZE), vCPUs from KVM_ARM_PREFERRED_TARGET +
 * KVM_ARM_VCPU_INIT entering the guest program at EL1 with the stage-1 MMU
 * on (4 KiB granule, 48-bit VA, the same identity map with 2 MiB blocks as
 * on x86, Normal write-back memory), exception vectors that report to the
 * host, and sync points as stores to an MMIO block no memslot covers
 * (KVM_EXIT_MMIO). The cycle counter is CNTVCT_EL0 at CNTFRQ_EL0.
 */
#define _GNU_SOURCE
#include "ab_errbuf.h"
#include "ab_vm_priv.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

/* Stage-1 descriptors (4 KiB granule). */
#define DESC_TABLE   3ull /* valid | table (levels 0-2) */
#define DESC_BLOCK   1ull /* valid | block (level 2: 2 MiB) */
#define DESC_ATTR(i) ((uint64_t)(i) << 2)
#define DESC_SH_IS   (3ull << 8)  /* inner shareable */
#define DESC_AF	     (1ull << 10) /* accessed: no stage-1 access flag faults */
#define DESC_PXN     (1ull << 53)
#define DESC_UXN     (1ull << 54)
#define MAIR_NORMAL  0 /* MAIR_EL1 attr 0: Normal, write-back RW-allocate */
#define MAIR_DEVICE  1 /* attr 1: Device-nGnRE */
#define MAIR_VALUE   (0xffull | (0x04ull << 8))

/* TCR_EL1: T0SZ 16 (48-bit VA), TTBR0 walks write-back inner shareable,
 * 4 KiB granule, no TTBR1 walks (EPD1); IPS set from the IPA size. */
#define TCR_T0SZ_48  16ull
#define TCR_IRGN0_WB (1ull << 8)
#define TCR_ORGN0_WB (1ull << 10)
#define TCR_SH0_IS   (3ull << 12)
#define TCR_EPD1     (1ull << 23)
#define TCR_IPS(x)   ((uint64_t)(x) << 32)

/* SCTLR_EL1: the ARMv8.0 RES1 bits + MMU, data and instruction caches. */
#define SCTLR_RES1 0x30d00800ull
#define SCTLR_M	   (1ull << 0)
#define SCTLR_C	   (1ull << 2)
#define SCTLR_I	   (1ull << 12)

#define SYSREG_SCTLR_EL1	ARM64_SYS_REG(3, 0, 1, 0, 0)
#define SYSREG_TTBR0_EL1	ARM64_SYS_REG(3, 0, 2, 0, 0)
#define SYSREG_TCR_EL1		ARM64_SYS_REG(3, 0, 2, 0, 2)
#define SYSREG_ESR_EL1		ARM64_SYS_REG(3, 0, 5, 2, 0)
#define SYSREG_FAR_EL1		ARM64_SYS_REG(3, 0, 6, 0, 0)
#define SYSREG_MAIR_EL1		ARM64_SYS_REG(3, 0, 10, 2, 0)
#define SYSREG_VBAR_EL1		ARM64_SYS_REG(3, 0, 12, 0, 0)
#define SYSREG_TPIDR_EL1	ARM64_SYS_REG(3, 0, 13, 0, 4)
#define SYSREG_ID_AA64MMFR0_EL1 ARM64_SYS_REG(3, 0, 0, 7, 0)
#define SYSREG_ID_AA64MMFR1_EL1 ARM64_SYS_REG(3, 0, 0, 7, 1)

#define CORE_REG(x) (KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE | KVM_REG_ARM_CORE_REG(x))

#define LEGACY_IPA_BITS 40 /* KVM_CREATE_VM type 0 */

static int set_reg(int fd, uint64_t id, uint64_t val)
{
	struct kvm_one_reg r = {.id = id, .addr = (uint64_t)(uintptr_t)&val};

	return ioctl(fd, KVM_SET_ONE_REG, &r);
}

static int get_reg(int fd, uint64_t id, uint64_t *val)
{
	struct kvm_one_reg r = {.id = id, .addr = (uint64_t)(uintptr_t)val};

	return ioctl(fd, KVM_GET_ONE_REG, &r);
}

static int bits_for(uint64_t end)
{
	int b = 32;

	while (b < 64 && (1ull << b) < end)
		b++;
	return b;
}

/* TCR_EL1.IPS encoding of the smallest output size >= @bits, -1 if none. */
static int ips_for(int bits)
{
	static const int size[] = {32, 36, 40, 42, 44, 48, 52};

	for (int i = 0; i < 7; i++)
		if (bits <= size[i])
			return i;
	return -1;
}

int ab_vm_arch_check_fits(struct abvm *vm, char *err, size_t errlen)
{
	int max = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_ARM_VM_IPA_SIZE), need;

	/* above the extra slots (ab_vm_slot_add: 4 GiB apart from extra_gpa_next) */
	vm->arch.mmio_gpa = vm->extra_gpa_next + (uint64_t)MAX_EXTRA * 4 * GIB;
	need = bits_for(vm->arch.mmio_gpa + AB_VM_HUGE_SIZE);
	if (max <= 0)
		max = LEGACY_IPA_BITS; /* kernels before 4.20: always 40 bits */
	if (need > max)
		return ab_errf(err, errlen, AB_VM_EINVAL,
			       "guest memory %llu MiB at GPA 0x%llx needs %d IPA bits "
			       "(with abvm's extra slots and MMIO block); this KVM offers %d",
			       (unsigned long long)(vm->bytes >> 20),
			       (unsigned long long)vm->gpa_base, need, max);
	/* type 0 is 40 bits; ask for more (or, on a smaller host, less) only
	 * when needed */
	vm->arch.ipa_bits = need > LEGACY_IPA_BITS || max < LEGACY_IPA_BITS ? need : 0;
	return 0;
}

unsigned long ab_vm_arch_vm_type(const struct abvm *vm)
{
	return vm->arch.ipa_bits ? KVM_VM_TYPE_ARM_IPA_SIZE(vm->arch.ipa_bits) : 0;
}

int ab_vm_arch_setup_system(struct abvm *vm, char *err, size_t errlen)
{
	uint64_t next_pt = AB_VM_PT_GPA, normal, device;

	normal = DESC_BLOCK | DESC_ATTR(MAIR_NORMAL) | DESC_SH_IS | DESC_AF;
	device = DESC_BLOCK | DESC_ATTR(MAIR_DEVICE) | DESC_AF | DESC_PXN | DESC_UXN;
	if (ab_vm_map_2m(vm, 0, vm->sys_bytes, &next_pt, vm->pt_end, DESC_TABLE, normal) ||
	    ab_vm_map_2m(vm, vm->gpa_base, vm->gpa_base + vm->bytes, &next_pt, vm->pt_end,
			 DESC_TABLE, normal | DESC_PXN | DESC_UXN) ||
	    ab_vm_map_2m(vm, vm->arch.mmio_gpa, vm->arch.mmio_gpa + AB_VM_HUGE_SIZE, &next_pt,
			 vm->pt_end, DESC_TABLE, device))
		return ab_errf(err, errlen, AB_VM_ESYS, "page table area too small (internal)");
	if (ioctl(vm->vm_fd, KVM_ARM_PREFERRED_TARGET, &vm->arch.init))
		return ab_errf(err, errlen, AB_VM_ESYS, "KVM_ARM_PREFERRED_TARGET: %s",
			       strerror(errno));
	return 0;
}

int ab_vm_arch_vcpu_setup(struct abvm *vm, struct vcpu *c, char *err, size_t errlen)
{
	struct kvm_vcpu_init init = vm->arch.init;
	int ipa = vm->arch.ipa_bits ? vm->arch.ipa_bits : LEGACY_IPA_BITS, ips = ips_for(ipa);
	uint64_t tcr, mmfr0 = 0;
	const char *what;

	if (ioctl(c->fd, KVM_ARM_VCPU_INIT, &init))
		return ab_errf(err, errlen, AB_VM_ESYS, "KVM_ARM_VCPU_INIT on vCPU %d: %s", c->idx,
			       strerror(errno));
	if (get_reg(c->fd, SYSREG_ID_AA64MMFR0_EL1, &mmfr0))
		return ab_errf(err, errlen, AB_VM_ESYS, "vCPU %d: reading ID_AA64MMFR0_EL1: %s",
			       c->idx, strerror(errno));
	if (c->idx == 0) {
		vm->arch.mmfr0 = mmfr0;
		if (get_reg(c->fd, SYSREG_ID_AA64MMFR1_EL1, &vm->arch.mmfr1))
			vm->arch.mmfr1 = 0;
	}
	/* stage 1 must output every IPA we map; the CPU's PARange caps it */
	if (ips < 0 || (int)(mmfr0 & 0xf) < ips)
		return ab_errf(err, errlen, AB_VM_EINVAL,
			       "vCPU %d: %d-bit IPAs but ID_AA64MMFR0_EL1.PARange is %d", c->idx,
			       ipa, (int)(mmfr0 & 0xf));
	tcr = TCR_T0SZ_48 | TCR_IRGN0_WB | TCR_ORGN0_WB | TCR_SH0_IS | TCR_EPD1 | TCR_IPS(ips);
	c->ctl->sync_gva = vm->arch.mmio_gpa;
	what = "MAIR_EL1";
	if (set_reg(c->fd, SYSREG_MAIR_EL1, MAIR_VALUE))
		goto fail;
	what = "TCR_EL1";
	if (set_reg(c->fd, SYSREG_TCR_EL1, tcr))
		goto fail;
	what = "TTBR0_EL1";
	if (set_reg(c->fd, SYSREG_TTBR0_EL1, AB_VM_PML4_GPA))
		goto fail;
	what = "VBAR_EL1";
	if (set_reg(c->fd, SYSREG_VBAR_EL1, AB_VM_CODE_GPA + AB_VM_ARM64_VECTORS_OFF))
		goto fail;
	what = "TPIDR_EL1"; /* the vectors find the control block here */
	if (set_reg(c->fd, SYSREG_TPIDR_EL1, c->ctl_gpa))
		goto fail;
	what = "SCTLR_EL1";
	if (set_reg(c->fd, SYSREG_SCTLR_EL1, SCTLR_RES1 | SCTLR_M | SCTLR_C | SCTLR_I))
		goto fail;
	what = "SP_EL1";
	if (set_reg(c->fd, CORE_REG(sp_el1), c->stack_top))
		goto fail;
	what = "X0";
	if (set_reg(c->fd, CORE_REG(regs.regs[0]), c->ctl_gpa))
		goto fail;
	what = "PC";
	if (set_reg(c->fd, CORE_REG(regs.pc), AB_VM_CODE_GPA + AB_VM_ARM64_ENTRY_OFF))
		goto fail;
	return 0;
fail:
	return ab_errf(err, errlen, AB_VM_ESYS, "vCPU %d: setting %s: %s", c->idx, what,
		       strerror(errno));
}

bool ab_vm_arch_sync_exit(struct vcpu *c, uint32_t *port, uint32_t *val)
{
	struct kvm_run *run = c->run;
	uint64_t off = run->mmio.phys_addr - c->vm->arch.mmio_gpa;

	if (run->exit_reason != KVM_EXIT_MMIO || !run->mmio.is_write ||
	    run->mmio.phys_addr < c->vm->arch.mmio_gpa || off % 8 ||
	    off > AB_VM_SYNC_OFF(AB_VM_PORT_PANIC))
		return false;
	*val = 0;
	memcpy(val, run->mmio.data, run->mmio.len < 4 ? run->mmio.len : 4);
	*port = AB_VM_PORT_DONE + (uint32_t)(off / 8);
	return true;
}

static const char *vector_name(uint32_t v)
{
	static const char *const from[] = {"EL1 with SP_EL0", "EL1 with SP_EL1", "EL0 (AArch64)",
					   "EL0 (AArch32)"};
	static const char *const kind[] = {"synchronous", "IRQ", "FIQ", "SError"};
	static char buf[64];

	if (v >= 16)
		return "unknown vector";
	snprintf(buf, sizeof(buf), "%s from %s", kind[v % 4], from[v / 4]);
	return buf;
}

void ab_vm_arch_describe_exit(struct vcpu *c, char *buf, size_t len)
{
	struct kvm_run *run = c->run;
	uint64_t pc = 0, esr = 0, far = 0, elr = 0;
	int reason = run->exit_reason;

	get_reg(c->fd, CORE_REG(regs.pc), &pc);
	if (reason == KVM_EXIT_MMIO && run->mmio.is_write &&
	    run->mmio.phys_addr == c->vm->arch.mmio_gpa + AB_VM_SYNC_EXCEPTION_OFF) {
		uint32_t v = 0;

		memcpy(&v, run->mmio.data, run->mmio.len < 4 ? run->mmio.len : 4);
		get_reg(c->fd, SYSREG_ESR_EL1, &esr);
		get_reg(c->fd, SYSREG_FAR_EL1, &far);
		get_reg(c->fd, CORE_REG(elr_el1), &elr);
		snprintf(buf, len,
			 "guest exception (%s): ESR_EL1 0x%llx (EC 0x%llx), FAR_EL1 0x%llx, "
			 "ELR_EL1 0x%llx",
			 vector_name(v), (unsigned long long)esr, (unsigned long long)(esr >> 26),
			 (unsigned long long)far, (unsigned long long)elr);
	} else if (reason == KVM_EXIT_MMIO) {
		snprintf(buf, len, "unexpected MMIO %s of %u bytes at IPA 0x%llx, pc 0x%llx",
			 run->mmio.is_write ? "write" : "read", run->mmio.len,
			 (unsigned long long)run->mmio.phys_addr, (unsigned long long)pc);
	} else if (reason == KVM_EXIT_INTERNAL_ERROR) {
		snprintf(buf, len, "KVM internal error suberror %u at pc 0x%llx",
			 run->internal.suberror, (unsigned long long)pc);
	} else if (reason == KVM_EXIT_FAIL_ENTRY) {
		snprintf(buf, len, "VM entry failed (hardware reason 0x%llx)",
			 (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
	} else if (reason == KVM_EXIT_SYSTEM_EVENT) {
		snprintf(buf, len, "guest system event type %u at pc 0x%llx",
			 run->system_event.type, (unsigned long long)pc);
	} else if (reason == KVM_EXIT_ARM_NISV) {
		snprintf(buf, len,
			 "MMIO access without a valid syndrome at IPA 0x%llx (ESR_EL2 0x%llx), "
			 "pc 0x%llx",
			 (unsigned long long)run->arm_nisv.fault_ipa,
			 (unsigned long long)run->arm_nisv.esr_iss, (unsigned long long)pc);
	} else {
		snprintf(buf, len, "unexpected exit reason %d at pc 0x%llx", reason,
			 (unsigned long long)pc);
	}
}

uint64_t ab_vm_arch_counter_khz(struct abvm *vm)
{
	uint64_t f;

	/* KVM does not virtualise CNTFRQ_EL0: the guest's is the host's */
	__asm__ volatile("mrs %0, cntfrq_el0" : "=r"(f));
	return f / 1000;
}

int ab_vm_hw_access_flag(const struct abvm *vm)
{
	return (int)(vm->arch.mmfr1 & 0xf); /* HAFDBS, bits [3:0] */
}

void ab_vm_arch_destroy(struct abvm *vm)
{
}

/* ---- nested mode: not implemented on arm64 (docs/nested.md) ---- */

#define ARM64_NESTED_WHY                                                                           \
	"agebench's nested mode is implemented for x86 AMD SVM only; on arm64 it would run an "    \
	"L3 at EL1 under the guest's own stage 2 (FEAT_NV2), docs/nested.md"

int ab_vm_arch_nested_probe(int kvm_fd, char *why, size_t len)
{
	(void)kvm_fd;
	ab_errf(why, len, 0, "%s", ARM64_NESTED_WHY);
	return 0; /* AB_VM_NESTED_NONE */
}

int ab_vm_arch_nested_check(struct abvm *vm, char *err, size_t errlen)
{
	return ab_errf(err, errlen, AB_VM_ENESTED, "nested %u%%: %s", vm->cfg.nested_pct,
		       ARM64_NESTED_WHY);
}

uint64_t ab_vm_arch_nested_bytes(const struct abvm *vm, uint64_t sys_end)
{
	(void)vm, (void)sys_end;
	return 0;
}

int ab_vm_arch_nested_setup(struct abvm *vm, char *err, size_t errlen)
{
	return ab_vm_arch_nested_check(vm, err, errlen);
}

void ab_vm_arch_nested_vcpu_ctl(struct abvm *vm, struct vcpu *c)
{
	(void)vm, (void)c;
}

void ab_vm_arch_nested_describe_exit(struct vcpu *c, char *buf, size_t len)
{
	(void)c;
	snprintf(buf, len, "nested guest exit on arm64 (not implemented)");
}
