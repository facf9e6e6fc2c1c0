// SPDX-License-Identifier: GPL-2.0
/*
 * ab_vm_x86.c - libabvm on x86-64: CPUID, a GDT with a busy 64-bit TSS
 * (I/O bitmap open, so ring 3 may `out`), the identity map with 2 MiB
 * pages, vCPUs created directly in long mode (ring 3, or ring 0 with
 * cfg.cpl0), sync points as I/O port writes, the TSC rate.
 */
#define _GNU_SOURCE
#include "ab_errbuf.h"
#include "ab_vm_priv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "ab_common.h"

/* Page table entry bits. */
#define PTE_P  (1ull << 0)
#define PTE_RW (1ull << 1)
#define PTE_US (1ull << 2)
#define PTE_PS (1ull << 7)

/* ---- system slot: GDT, TSS, page tables ---- */

static void build_gdt(struct abvm *vm)
{
	uint64_t *gdt = (uint64_t *)(vm->sys + AB_VM_GDT_GPA);
	uint64_t tss = AB_VM_TSS_GPA, lim = AB_VM_TSS_LIMIT;
	uint8_t *t = vm->sys + AB_VM_TSS_GPA;

	/* I/O permission bitmap right after the 104-byte TSS, all ports
	 * allowed (zero bits) + the terminating 0xff byte */
	memset(t, 0, AB_VM_TSS_LIMIT + 1);
	t[0x66] = 0x68;
	t[AB_VM_TSS_LIMIT] = 0xff;

	gdt[0] = 0;
	gdt[1] = 0x00affb000000ffffull; /* 0x08: 64-bit code, DPL3 */
	gdt[2] = 0x00cff3000000ffffull; /* 0x10: data, DPL3 */
	gdt[5] = 0x00af9b000000ffffull; /* 0x28: 64-bit code, DPL0 */
	gdt[6] = 0x00cf93000000ffffull; /* 0x30: data, DPL0 */
	/* 0x18: 64-bit busy TSS (16-byte descriptor) */
	gdt[3] = (lim & 0xffff) | ((tss & 0xffffff) << 16) | (0xbull << 40) | (1ull << 47) |
		 (((tss >> 24) & 0xff) << 56);
	gdt[4] = tss >> 32;
}

/* ---- vCPUs ---- */

/* KVM_GET_SUPPORTED_CPUID, malloc'd; NULL on failure. */
struct kvm_cpuid2 *ab_vm_x86_supported_cpuid(int kvm_fd)
{
	int nent = 128;

	for (;;) {
		struct kvm_cpuid2 *c =
		    calloc(1, sizeof(*c) + (size_t)nent * sizeof(struct kvm_cpuid_entry2));

		if (!c)
			return NULL;
		c->nent = (uint32_t)nent;
		if (!ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c))
			return c;
		free(c);
		if (errno != E2BIG || nent > 4096)
			return NULL;
		nent *= 2;
	}
}

/* Guest MAXPHYADDR from CPUID 0x80000008 (36 if absent). */
static int guest_phys_bits(const struct kvm_cpuid2 *c)
{
	for (uint32_t i = 0; c && i < c->nent; i++)
		if (c->entries[i].function == 0x80000008 && (c->entries[i].eax & 0xff))
			return (int)(c->entries[i].eax & 0xff);
	return 36;
}

static int setup_cpuid(struct abvm *vm, int vfd)
{
	return vm->arch.cpuid ? ioctl(vfd, KVM_SET_CPUID2, vm->arch.cpuid) : -1;
}

static void seg(struct kvm_segment *s, uint16_t sel, uint8_t type, bool code, int dpl)
{
	memset(s, 0, sizeof(*s));
	s->base = 0;
	s->limit = 0xffffffff;
	s->selector = (uint16_t)(sel | dpl);
	s->type = type;
	s->present = 1;
	s->dpl = (uint8_t)dpl;
	s->s = 1;
	s->g = 1;
	s->l = code;
	s->db = !code;
}

static int setup_vcpu_regs(struct abvm *vm, struct vcpu *c)
{
	struct kvm_sregs sr;
	struct kvm_regs r;

	if (ioctl(c->fd, KVM_GET_SREGS, &sr))
		return -1;
	if (vm->cfg.cpl0) {
		seg(&sr.cs, 0x28, 0xb, true, 0);
		seg(&sr.ds, 0x30, 0x3, false, 0);
	} else {
		seg(&sr.cs, 0x08, 0xb, true, 3);
		seg(&sr.ds, 0x10, 0x3, false, 3);
	}
	sr.es = sr.fs = sr.gs = sr.ss = sr.ds;
	memset(&sr.tr, 0, sizeof(sr.tr));
	sr.tr.base = AB_VM_TSS_GPA;
	sr.tr.limit = AB_VM_TSS_LIMIT;
	sr.tr.selector = 0x18;
	sr.tr.type = 0xb;
	sr.tr.present = 1;
	memset(&sr.ldt, 0, sizeof(sr.ldt));
	sr.ldt.unusable = 1;
	sr.ldt.type = 2;
	sr.gdt.base = AB_VM_GDT_GPA;
	sr.gdt.limit = 7 * 8 - 1;
	sr.idt.base = 0;
	sr.idt.limit = 0;
	sr.cr0 = 0x80050033ull; /* PG WP NE ET MP PE */
	sr.cr3 = AB_VM_PML4_GPA;
	sr.cr4 = 0x20;	 /* PAE */
	sr.efer = 0x500; /* LME LMA */
	if (ioctl(c->fd, KVM_SET_SREGS, &sr))
		return -1;
	memset(&r, 0, sizeof(r));
	r.rflags = 0x3002; /* IOPL 3: `out` allowed at CPL 3 */
	r.rip = AB_VM_CODE_GPA;
	r.rsp = c->stack_top - 8; /* as after a call: rsp+8 16-byte aligned */
	r.rdi = c->ctl_gpa;
	return ioctl(c->fd, KVM_SET_REGS, &r);
}

void ab_vm_arch_describe_exit(struct vcpu *c, char *buf, size_t len)
{
	struct kvm_regs r;
	int reason = c->run->exit_reason;

	if (ioctl(c->fd, KVM_GET_REGS, &r))
		memset(&r, 0, sizeof(r));
	if (reason == KVM_EXIT_IO)
		snprintf(buf, len, "unexpected I/O exit (port 0x%x dir %d) at rip 0x%llx",
			 c->run->io.port, c->run->io.direction, (unsigned long long)r.rip);
	else if (reason == KVM_EXIT_INTERNAL_ERROR)
		snprintf(buf, len, "KVM internal error suberror %u at rip 0x%llx",
			 c->run->internal.suberror, (unsigned long long)r.rip);
	else if (reason == KVM_EXIT_FAIL_ENTRY)
		snprintf(buf, len, "VM entry failed (hardware reason 0x%llx)",
			 (unsigned long long)c->run->fail_entry.hardware_entry_failure_reason);
	else if (reason == KVM_EXIT_SHUTDOWN)
		snprintf(buf, len,
			 "guest triple fault (KVM_EXIT_SHUTDOWN), rip 0x%llx rsp 0x%llx after the "
			 "exit (SVM resets them)",
			 (unsigned long long)r.rip, (unsigned long long)r.rsp);
	else
		snprintf(buf, len, "unexpected exit reason %d at rip 0x%llx", reason,
			 (unsigned long long)r.rip);
}

static uint64_t calibrate_tsc_khz(void)
{
	uint32_t lo, hi;
	uint64_t t0, c0, t1, c1;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	c0 = ((uint64_t)hi << 32) | lo;
	t0 = ab_now_ns();
	usleep(20000);
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	c1 = ((uint64_t)hi << 32) | lo;
	t1 = ab_now_ns();
	return (c1 - c0) * 1000000ull / (t1 - t0);
}

/* ---- the hooks (ab_vm_priv.h) ---- */

int ab_vm_arch_check_fits(struct abvm *vm, char *err, size_t errlen)
{
	int pb;

	vm->arch.cpuid = ab_vm_x86_supported_cpuid(vm->kvm_fd);
	if (!vm->arch.cpuid)
		return ab_errf(err, errlen, AB_VM_ESYS, "KVM_GET_SUPPORTED_CPUID: %s",
			       strerror(errno));
	pb = guest_phys_bits(vm->arch.cpuid);
	if (pb < 64 && vm->gpa_base + vm->bytes > (1ull << pb))
		return ab_errf(err, errlen, AB_VM_EINVAL,
			       "guest memory %llu MiB at GPA 0x%llx exceeds the guest's %d "
			       "physical address bits",
			       (unsigned long long)(vm->bytes >> 20),
			       (unsigned long long)vm->gpa_base, pb);
	return 0;
}

unsigned long ab_vm_arch_vm_type(const struct abvm *vm)
{
	return 0;
}

int ab_vm_arch_setup_system(struct abvm *vm, char *err, size_t errlen)
{
	uint64_t next_pt = AB_VM_PT_GPA, table = PTE_P | PTE_RW | PTE_US;

	build_gdt(vm);
	if (ab_vm_map_2m(vm, 0, vm->sys_bytes, &next_pt, vm->pt_end, table, table | PTE_PS) ||
	    ab_vm_map_2m(vm, vm->gpa_base, vm->gpa_base + vm->bytes, &next_pt, vm->pt_end, table,
			 table | PTE_PS))
		return ab_errf(err, errlen, AB_VM_ESYS, "page table area too small (internal)");
	return 0;
}

int ab_vm_arch_vcpu_setup(struct abvm *vm, struct vcpu *c, char *err, size_t errlen)
{
	if (setup_cpuid(vm, c->fd))
		return ab_errf(err, errlen, AB_VM_ESYS, "KVM_SET_CPUID2 on vCPU %d: %s", c->idx,
			       strerror(errno));
	if (setup_vcpu_regs(vm, c))
		return ab_errf(err, errlen, AB_VM_ESYS,
			       "setting long-mode registers of vCPU %d: %s", c->idx,
			       strerror(errno));
	return 0;
}

bool ab_vm_arch_sync_exit(struct vcpu *c, uint32_t *port, uint32_t *val)
{
	struct kvm_run *run = c->run;

	if (run->exit_reason != KVM_EXIT_IO || run->io.direction != KVM_EXIT_IO_OUT)
		return false;
	*val = 0;
	memcpy(val, (uint8_t *)run + run->io.data_offset, run->io.size < 4 ? run->io.size : 4);
	*port = run->io.port;
	return true;
}

uint64_t ab_vm_arch_counter_khz(struct abvm *vm)
{
	uint64_t khz = (uint64_t)ioctl(vm->vcpus[0].fd, KVM_GET_TSC_KHZ, 0);

	return (int64_t)khz > 0 ? khz : calibrate_tsc_khz();
}

int ab_vm_hw_access_flag(const struct abvm *vm)
{
	return -1;
}

void ab_vm_arch_destroy(struct abvm *vm)
{
	free(vm->arch.cpuid);
}
