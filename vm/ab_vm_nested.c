// SPDX-License-Identifier: GPL-2.0
/*
 * ab_vm_nested.c - nested mode, the architecture-neutral part: which region
 * pages the L3 touches (a bitmap in the system slot that the guest program
 * and its L3 both read), the per-vCPU L3 block and stack, the probe, the
 * shadow-MMU counters. The architecture builds the rest (x86 SVM: VMCBs,
 * host save areas, the nested page table: x86/ab_vm_nested_svm.c). See
 * ab_vm_nested.h and docs/nested.md.
 */
#define _GNU_SOURCE
#include "ab_vm_nested.h"

#include "ab_errbuf.h"
#include "ab_vm_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

const char *ab_vm_nested_kind_name(int kind)
{
	switch (kind) {
	case AB_VM_NESTED_NONE:
		return "none";
	case AB_VM_NESTED_SVM:
		return "svm";
	case AB_VM_NESTED_VMX:
		return "vmx";
	}
	return "?";
}

/* vCPU @v's nested pages: the first max(1, n * pct / 100) of its partition. */
static void nested_range(const struct abvm *vm, int v, uint64_t *first, uint64_t *nn)
{
	uint64_t n, pct = vm->cfg.nested_pct;

	ab_vm_vcpu_range(vm, v, first, &n);
	*nn = pct ? n * pct / 100 : 0;
	if (pct && !*nn)
		*nn = 1;
}

void ab_vm_nested_range(const struct abvm *vm, int v, uint64_t *first, uint64_t *n)
{
	nested_range(vm, v, first, n);
}

uint32_t ab_vm_nested_pct(const struct abvm *vm)
{
	return vm->cfg.nested_pct;
}

uint64_t ab_vm_nested_npages(const struct abvm *vm)
{
	return vm->nested.npages;
}

bool ab_vm_nested_page(const struct abvm *vm, uint64_t p)
{
	return vm->nested.bm && p < vm->npages && ((vm->nested.bm[p / 64] >> (p % 64)) & 1);
}

const uint64_t *ab_vm_nested_bitmap(const struct abvm *vm)
{
	return vm->nested.bm;
}

uint64_t ab_vm_nested_plan(struct abvm *vm, uint64_t off)
{
	uint64_t first, nn;

	if (!vm->cfg.nested_pct)
		return off;
	off = (off + 4095) & ~4095ull;
	vm->nested.bm_gpa = off;
	vm->nested.bm_bytes = ((vm->npages + 63) / 64 * 8 + 4095) & ~4095ull;
	off += vm->nested.bm_bytes;
	vm->nested.l3_gpa = off;
	off += (uint64_t)vm->nr_vcpus * AB_VM_L3_AREA;
	vm->nested.npages = 0;
	for (int v = 0; v < vm->nr_vcpus; v++) {
		nested_range(vm, v, &first, &nn);
		vm->nested.npages += nn;
	}
	vm->nested.arch_gpa = off;
	vm->nested.arch_bytes = ab_vm_arch_nested_bytes(vm, off);
	return off + vm->nested.arch_bytes;
}

int ab_vm_nested_setup(struct abvm *vm, char *err, size_t errlen)
{
	uint64_t first, nn;

	vm->nested.bm = (uint64_t *)(vm->sys + vm->nested.bm_gpa);
	for (int v = 0; v < vm->nr_vcpus; v++) {
		nested_range(vm, v, &first, &nn);
		for (uint64_t p = first; p < first + nn; p++)
			vm->nested.bm[p / 64] |= 1ull << (p % 64);
	}
	return ab_vm_arch_nested_setup(vm, err, errlen);
}

void ab_vm_nested_vcpu_ctl(struct abvm *vm, struct vcpu *c)
{
	uint64_t area = vm->nested.l3_gpa + (uint64_t)c->idx * AB_VM_L3_AREA;

	c->ctl->nested_bm_gva = vm->nested.bm_gpa;
	c->ctl->l3_block_gva = area;
	c->ctl->l3_stack_top = area + AB_VM_L3_AREA;
	ab_vm_arch_nested_vcpu_ctl(vm, c);
}

void ab_vm_nested_describe_panic(struct vcpu *c, uint32_t reason, char *buf, size_t len)
{
	if (reason == AB_VM_PANIC_NESTED) {
		snprintf(buf, len,
			 "the guest could not enter nested mode (no VMCB or host save area)");
		return;
	}
	ab_vm_arch_nested_describe_exit(c, buf, len);
}

int ab_vm_nested_probe(const char *kvm_path, char *why, size_t len)
{
	const char *p = kvm_path;
	int fd, r;

	if (why && len)
		why[0] = 0;
	if (!p)
		p = getenv("AB_VM_KVM_DEV");
	if (!p || !*p)
		p = "/dev/kvm";
	fd = open(p, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;

		return ab_errf(why, len, e == EACCES || e == EPERM ? AB_VM_EPERM : AB_VM_ENODEV,
			       "%s: %s", p, strerror(e));
	}
	if (ioctl(fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
		close(fd);
		return ab_errf(why, len, AB_VM_ENODEV, "%s: not a KVM device", p);
	}
	r = ab_vm_arch_nested_probe(fd, why, len);
	close(fd);
	return r;
}

/* ---- KVM's shadow MMU counters ---- */

int ab_vm_rmaps_stat_parse(const char *text, int64_t *g4k, int64_t *g2m)
{
	const char *line = text;
	bool header = false;

	*g4k = *g2m = 0;
	while (line && *line) {
		const char *nl = strchr(line, '\n');
		int64_t *dst = NULL;

		if (!strncmp(line, "Rmap_Count:", 11))
			header = true;
		else if (!strncmp(line, "Level=4K:", 9))
			dst = g4k;
		else if (!strncmp(line, "Level=2M:", 9))
			dst = g2m;
		else if (strncmp(line, "Level=1G:", 9))
			return -1;
		if (dst) {
			const char *q = strchr(line, ':') + 1;
			char *end;
			int col = 0;

			for (;;) {
				unsigned long long v;

				while (*q == '\t' || *q == ' ')
					q++;
				if (*q == '\n' || !*q)
					break;
				errno = 0;
				v = strtoull(q, &end, 10);
				if (end == q || errno)
					return -1;
				if (col++ > 0) /* column 0: frames without a shadow mapping */
					*dst += (int64_t)v;
				q = end;
			}
			if (col < 2)
				return -1;
		}
		line = nl ? nl + 1 : NULL;
	}
	return text[0] && !header ? -1 : 0;
}

int ab_vm_shadow_read(struct abvm *vm, struct ab_vm_shadow *s, char *err, size_t errlen)
{
	struct ab_vm_kstats *ks = ab_vm_kstats_open(vm, -1);
	char path[256], text[4096];
	ssize_t n;
	int fd;

	memset(s, 0, sizeof(*s));
	s->rmap_gfns_4k = s->rmap_gfns_2m = -1;
	if (!ks)
		return ab_errf(err, errlen, AB_VM_ESYS, "KVM_GET_STATS_FD of the VM: %s",
			       strerror(errno));
	if (ab_vm_kstats_get(ks, "mmu_cache_miss", &s->mmu_cache_miss) ||
	    ab_vm_kstats_get(ks, "mmu_shadow_zapped", &s->mmu_shadow_zapped)) {
		ab_vm_kstats_close(ks);
		return ab_errf(err, errlen, AB_VM_ESYS,
			       "KVM binary stats: no mmu_cache_miss / mmu_shadow_zapped");
	}
	ab_vm_kstats_close(ks);
	ab_vm_debugfs_dir(vm, path, sizeof(path));
	strncat(path, "/mmu_rmaps_stat", sizeof(path) - strlen(path) - 1);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0; /* no debugfs: the stats alone */
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n < 0)
		return ab_errf(err, errlen, AB_VM_ESYS, "%s: %s", path, strerror(errno));
	text[n] = 0;
	if (ab_vm_rmaps_stat_parse(text, &s->rmap_gfns_4k, &s->rmap_gfns_2m))
		return ab_errf(err, errlen, AB_VM_ESYS, "%s: unexpected format", path);
	return 0;
}
