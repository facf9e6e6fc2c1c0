// SPDX-License-Identifier: GPL-2.0
/*
 * ab_vm_nested_svm.c - nested mode on x86 (docs/nested.md): what KVM offers
 * its guests (CPUID SVM + NPT, or VMX: ab_vm_nested_vmx.c), and for SVM the
 * host side: per vCPU a VMCB and a host save area, and one nested page
 * table (NPT) shared by the vCPUs' L3s, all in the system slot:
 *
 *   arch_gpa: VMCB vCPU 0, host save area vCPU 0, VMCB vCPU 1, ...
 *             then the NPT: root, PDPTs, PDs, PTs (bump-allocated)
 *
 * The NPT maps L3 physical == L2 physical (identity, so the L3 runs the
 * guest program's code with its page tables, GDT, control block): the
 * whole system slot with 2 MiB leaves, and of the test region only the
 * nested pages, with 4 KiB leaves (an L3 access to any other region page
 * is a nested page fault, which the guest reports). The VMCB holds the
 * L3's state (64-bit ring 0, the guest program's CR3 and GDT, EFER with
 * LME/LMA/SVME) and intercepts VMRUN (required), VMMCALL (end of a slice),
 * HLT and SHUTDOWN; ASID 1, V_INTR_MASKING, a TLB flush on every VMRUN.
 * The guest program sets RIP/RSP/RAX per slice (x86/guest_nested_svm.h).
 */
#define _GNU_SOURCE
#include "ab_errbuf.h"
#include "ab_vm_nested.h"
#include "ab_vm_nested_svm.h"
#include "ab_vm_priv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NPT_TABLE  (1ull | 2ull | 4ull) /* P RW US: NPT walks are user accesses */
#define NPT_LEAF4K NPT_TABLE
#define NPT_LEAF2M (NPT_TABLE | (1ull << 7))
#define PER_VCPU   (2 * 4096ull) /* VMCB + host save area */

/* ---- what KVM offers ---- */

static const struct kvm_cpuid_entry2 *leaf(const struct kvm_cpuid2 *c, uint32_t fn)
{
	for (uint32_t i = 0; c && i < c->nent; i++)
		if (c->entries[i].function == fn && !c->entries[i].index)
			return &c->entries[i];
	return NULL;
}

/* "kvm_amd.nested=0", or "" if the parameter cannot be read. */
static void module_param(const char *mod, char *buf, size_t len)
{
	char path[128], v[16] = "";
	FILE *f;

	buf[0] = 0;
	snprintf(path, sizeof(path), "/sys/module/%s/parameters/nested", mod);
	f = fopen(path, "r");
	if (!f)
		return;
	if (fgets(v, sizeof(v), f))
		v[strcspn(v, "\n")] = 0;
	fclose(f);
	snprintf(buf, len, "%s.nested=%s", mod, v);
}

static int kind_of(const struct kvm_cpuid2 *c, char *why, size_t len)
{
	const struct kvm_cpuid_entry2 *ext = leaf(c, 0x80000001), *svm = leaf(c, 0x8000000a),
				      *std = leaf(c, 1);
	char amd[64], intel[64];

	if (ext && (ext->ecx & (1u << 2))) {
		if (svm && (svm->edx & 1u))
			return AB_VM_NESTED_SVM;
		ab_errf(why, len, 0,
			"KVM offers its guests SVM without nested paging (CPUID 0x8000000a "
			"EDX.NP clear in KVM_GET_SUPPORTED_CPUID): kvm_amd.npt=0 on this host?");
		return AB_VM_NESTED_NONE;
	}
	if (std && (std->ecx & (1u << 5))) {
		ab_errf(why, len, 0, "%s", ab_vm_x86_vmx_why());
		return AB_VM_NESTED_VMX;
	}
	module_param("kvm_amd", amd, sizeof(amd));
	module_param("kvm_intel", intel, sizeof(intel));
	ab_errf(why, len, 0,
		"KVM offers its guests no nested virtualisation (CPUID SVM and VMX clear in "
		"KVM_GET_SUPPORTED_CPUID; %s%s%s%s): nested guests need kvm_amd with nested=1 on "
		"an AMD host with NPT",
		amd[0] ? amd : "no kvm_amd module", intel[0] ? ", " : "", intel,
		access("/sys/module/kvm_pvm", F_OK) ? "" : ", this host's KVM is kvm_pvm");
	return AB_VM_NESTED_NONE;
}

int ab_vm_arch_nested_probe(int kvm_fd, char *why, size_t len)
{
	struct kvm_cpuid2 *c = ab_vm_x86_supported_cpuid(kvm_fd);
	int k;

	if (!c)
		return ab_errf(why, len, AB_VM_ESYS, "KVM_GET_SUPPORTED_CPUID: %s",
			       strerror(errno));
	k = kind_of(c, why, len);
	free(c);
	return k;
}

int ab_vm_arch_nested_check(struct abvm *vm, char *err, size_t errlen)
{
	char why[400];
	int k = kind_of(vm->arch.cpuid, why, sizeof(why));

	if (k == AB_VM_NESTED_SVM)
		return 0;
	return ab_errf(err, errlen, AB_VM_ENESTED, "nested %u%%: %s", vm->cfg.nested_pct, why);
}

/* ---- the nested page table ---- */

/* Distinct 2 MiB chunks of the region that hold nested pages (the vCPUs'
 * nested ranges are ascending and disjoint). */
static uint64_t nested_chunks(const struct abvm *vm)
{
	uint64_t n = 0, last = UINT64_MAX, first, nn;

	for (int v = 0; v < vm->nr_vcpus; v++) {
		ab_vm_nested_range(vm, v, &first, &nn);
		if (!nn)
			continue;
		for (uint64_t c = first / 512; c <= (first + nn - 1) / 512; c++)
			if (c != last) {
				n++;
				last = c;
			}
	}
	return n;
}

uint64_t ab_vm_arch_nested_bytes(const struct abvm *vm, uint64_t sys_end)
{
	uint64_t pts = nested_chunks(vm), sys = sys_end + (pts + 64) * 4096, base, pds, pdpts;

	/* where plan_layout will put the region: an upper bound */
	base = vm->cfg.gpa_base ? vm->cfg.gpa_base : 4 * GIB;
	if (base < sys)
		base = (sys + GIB - 1) & ~(GIB - 1);
	pds = (sys >> 30) + 1 + (vm->bytes >> 30) + 2;
	pdpts = ((base + vm->bytes) >> 39) + 2;
	return (uint64_t)vm->nr_vcpus * PER_VCPU + (1 + pdpts + pds + pts) * 4096;
}

struct npt {
	struct abvm *vm;
	uint64_t root, next, end; /* GPAs in the system slot */
};

static uint64_t *table_at(struct npt *t, uint64_t gpa)
{
	return (uint64_t *)(t->vm->sys + gpa);
}

/* The next-level table of entry @e, allocated if absent; 0 when full. */
static uint64_t descend(struct npt *t, uint64_t *e)
{
	if (!(*e & 1)) {
		if (t->next >= t->end)
			return 0;
		*e = t->next | NPT_TABLE;
		t->next += 4096;
	}
	return *e & 0x000ffffffffff000ull;
}

/* Identity-map the page at @gpa: a 2 MiB leaf (@huge) or a 4 KiB one. */
static int npt_map(struct npt *t, uint64_t gpa, bool huge)
{
	uint64_t pdpt, pd, pt;

	pdpt = descend(t, &table_at(t, t->root)[(gpa >> 39) & 511]);
	if (!pdpt)
		return -1;
	pd = descend(t, &table_at(t, pdpt)[(gpa >> 30) & 511]);
	if (!pd)
		return -1;
	if (huge) {
		table_at(t, pd)[(gpa >> 21) & 511] = (gpa & ~(AB_VM_HUGE_SIZE - 1)) | NPT_LEAF2M;
		return 0;
	}
	pt = descend(t, &table_at(t, pd)[(gpa >> 21) & 511]);
	if (!pt)
		return -1;
	table_at(t, pt)[(gpa >> 12) & 511] = (gpa & ~0xfffull) | NPT_LEAF4K;
	return 0;
}

/* ---- the VMCB ---- */

static void put64(uint8_t *vmcb, unsigned off, uint64_t v)
{
	memcpy(vmcb + off, &v, 8);
}

static void put32(uint8_t *vmcb, unsigned off, uint32_t v)
{
	memcpy(vmcb + off, &v, 4);
}

static void seg(uint8_t *vmcb, unsigned off, uint16_t sel, uint16_t attrib, uint32_t limit,
		uint64_t base)
{
	memcpy(vmcb + off, &sel, 2);
	memcpy(vmcb + off + 2, &attrib, 2);
	memcpy(vmcb + off + 4, &limit, 4);
	memcpy(vmcb + off + 8, &base, 8);
}

/* The L3's state: as the guest program's ring 0 (x86/ab_vm_x86.c). */
static void vmcb_init(uint8_t *vmcb, uint64_t ncr3)
{
	const uint16_t code64 = 0xb | 1 << 4 | 1 << 7 | 1 << 9 | 1 << 11; /* L, G */
	const uint16_t data = 0x3 | 1 << 4 | 1 << 7 | 1 << 10 | 1 << 11;  /* D/B, G */

	memset(vmcb, 0, 4096);
	put32(vmcb, AB_SVM_CTRL_INTERCEPT_MISC1, AB_SVM_INTERCEPT_HLT | AB_SVM_INTERCEPT_SHUTDOWN);
	put32(vmcb, AB_SVM_CTRL_INTERCEPT_MISC2, AB_SVM_INTERCEPT_VMRUN | AB_SVM_INTERCEPT_VMMCALL);
	put64(vmcb, AB_SVM_CTRL_IOPM_BASE, 0); /* I/O and MSRs not intercepted: unused */
	put64(vmcb, AB_SVM_CTRL_MSRPM_BASE, 0);
	put32(vmcb, AB_SVM_CTRL_ASID, 1);
	vmcb[AB_SVM_CTRL_TLB_CTL] = AB_SVM_TLB_FLUSH_ALL;
	put32(vmcb, AB_SVM_CTRL_INT_CTL, AB_SVM_V_INTR_MASKING);
	put64(vmcb, AB_SVM_CTRL_NESTED_CTL, AB_SVM_NP_ENABLE);
	put64(vmcb, AB_SVM_CTRL_NCR3, ncr3);

	seg(vmcb, AB_SVM_SAVE_CS, 0x28, code64, 0xffffffff, 0);
	seg(vmcb, AB_SVM_SAVE_DS, 0x30, data, 0xffffffff, 0);
	seg(vmcb, AB_SVM_SAVE_ES, 0x30, data, 0xffffffff, 0);
	seg(vmcb, AB_SVM_SAVE_SS, 0x30, data, 0xffffffff, 0);
	seg(vmcb, AB_SVM_SAVE_FS, 0x30, data, 0xffffffff, 0);
	seg(vmcb, AB_SVM_SAVE_GS, 0x30, data, 0xffffffff, 0);
	seg(vmcb, AB_SVM_SAVE_GDTR, 0, 0, 7 * 8 - 1, AB_VM_GDT_GPA);
	seg(vmcb, AB_SVM_SAVE_IDTR, 0, 0, 0, 0);
	seg(vmcb, AB_SVM_SAVE_LDTR, 0, 0, 0, 0);
	seg(vmcb, AB_SVM_SAVE_TR, 0x18, 0xb | 1 << 7, AB_VM_TSS_LIMIT, AB_VM_TSS_GPA);
	vmcb[AB_SVM_SAVE_CPL] = 0;
	put64(vmcb, AB_SVM_SAVE_EFER, 0x500 | AB_SVM_EFER_SVME); /* LME LMA SVME */
	put64(vmcb, AB_SVM_SAVE_CR0, 0x80050033ull);		 /* PG WP NE ET MP PE */
	put64(vmcb, AB_SVM_SAVE_CR3, AB_VM_PML4_GPA);
	put64(vmcb, AB_SVM_SAVE_CR4, 0x20); /* PAE */
	put64(vmcb, AB_SVM_SAVE_DR6, 0xffff0ff0ull);
	put64(vmcb, AB_SVM_SAVE_DR7, 0x400);
	put64(vmcb, AB_SVM_SAVE_RFLAGS, 2);
	put64(vmcb, AB_SVM_SAVE_G_PAT, 0x0007040600070406ull); /* the reset value */
}

int ab_vm_arch_nested_setup(struct abvm *vm, char *err, size_t errlen)
{
	struct npt t = {.vm = vm};
	uint64_t first, nn;

	t.root = vm->nested.arch_gpa + (uint64_t)vm->nr_vcpus * PER_VCPU;
	t.next = t.root + 4096;
	t.end = vm->nested.arch_gpa + vm->nested.arch_bytes;
	for (uint64_t a = 0; a < vm->sys_bytes; a += AB_VM_HUGE_SIZE)
		if (npt_map(&t, a, true))
			goto full;
	for (int v = 0; v < vm->nr_vcpus; v++) {
		ab_vm_nested_range(vm, v, &first, &nn);
		for (uint64_t p = first; p < first + nn; p++)
			if (npt_map(&t, vm->gpa_base + p * AB_VM_PAGE_SIZE, false))
				goto full;
	}
	for (int v = 0; v < vm->nr_vcpus; v++)
		vmcb_init(vm->sys + vm->nested.arch_gpa + (uint64_t)v * PER_VCPU, t.root);
	return 0;
full:
	return ab_errf(err, errlen, AB_VM_ESYS, "nested page table area too small (internal)");
}

void ab_vm_arch_nested_vcpu_ctl(struct abvm *vm, struct vcpu *c)
{
	uint64_t a = vm->nested.arch_gpa + (uint64_t)c->idx * PER_VCPU;

	c->ctl->l3_arch[AB_SVM_CTL_VMCB] = a;
	c->ctl->l3_arch[AB_SVM_CTL_HSAVE] = a + 4096;
}

void ab_vm_arch_nested_describe_exit(struct vcpu *c, char *buf, size_t len)
{
	uint64_t code = c->ctl->l3_exit[0], i1 = c->ctl->l3_exit[1], i2 = c->ctl->l3_exit[2],
		 rip = c->ctl->l3_exit[3];
	const char *what;

	switch (code) {
	case AB_SVM_EXIT_NPF:
		what = "nested page fault (info2 = the L3 physical address)";
		break;
	case AB_SVM_EXIT_SHUTDOWN:
		what = "shutdown (the L3 triple-faulted)";
		break;
	case AB_SVM_EXIT_HLT:
		what = "hlt";
		break;
	case AB_SVM_EXIT_INVALID:
		what = "VMEXIT_INVALID (VMRUN refused the VMCB)";
		break;
	default:
		what = "unexpected";
	}
	snprintf(buf, len,
		 "nested guest (L3) exit 0x%llx, %s: info1 0x%llx info2 0x%llx, L3 rip 0x%llx "
		 "(expected VMMCALL)",
		 (unsigned long long)code, what, (unsigned long long)i1, (unsigned long long)i2,
		 (unsigned long long)rip);
}
