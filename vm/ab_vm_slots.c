// SPDX-License-Identifier: GPL-2.0
/*
 * ab_vm_slots.c - memslots, the guest's identity map, prefault, extra slots
 * (memslot churn) and the dirty log.
 */
#define _GNU_SOURCE
#include "ab_errbuf.h"
#include "ab_vm_priv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

/* See ab_vm_priv.h. */
int ab_vm_map_2m(struct abvm *vm, uint64_t start, uint64_t end, uint64_t *next, uint64_t pt_end,
		 uint64_t table, uint64_t leaf)
{
	uint64_t *pml4 = (uint64_t *)(vm->sys + AB_VM_PML4_GPA);
	uint64_t a;

	for (a = start; a < end; a += AB_VM_HUGE_SIZE) {
		uint64_t i4 = (a >> 39) & 511, i3 = (a >> 30) & 511, i2 = (a >> 21) & 511;
		uint64_t *pdpt, *pd;

		if (!(pml4[i4] & 1)) {
			if (*next >= pt_end)
				return -1;
			pml4[i4] = *next | table;
			*next += 4096;
		}
		pdpt = (uint64_t *)(vm->sys + (pml4[i4] & ~0xfffull));
		if (!(pdpt[i3] & 1)) {
			if (*next >= pt_end)
				return -1;
			pdpt[i3] = *next | table;
			*next += 4096;
		}
		pd = (uint64_t *)(vm->sys + (pdpt[i3] & ~0xfffull));
		pd[i2] = a | leaf;
	}
	return 0;
}

int ab_vm_set_slot(struct abvm *vm, int slot, uint64_t gpa, uint64_t bytes, void *hva,
		   uint32_t flags)
{
	struct kvm_userspace_memory_region r = {
	    .slot = (uint32_t)slot,
	    .flags = flags,
	    .guest_phys_addr = gpa,
	    .memory_size = bytes,
	    .userspace_addr = (uint64_t)(uintptr_t)hva,
	};

	return ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r);
}

/* ---- prefault ---- */

#ifndef KVM_CAP_PRE_FAULT_MEMORY
#define KVM_CAP_PRE_FAULT_MEMORY 236
struct kvm_pre_fault_memory {
	__u64 gpa;
	__u64 size;
	__u64 flags;
	__u64 padding[5];
};
#define KVM_PRE_FAULT_MEMORY _IOWR(KVMIO, 0xd5, struct kvm_pre_fault_memory)
#endif

int ab_vm_prefault(struct abvm *vm, unsigned int flags)
{
	int done = 0;

	if (flags & ~(unsigned int)(AB_VM_PREFAULT_HOST | AB_VM_PREFAULT_KVM))
		return AB_VM_EINVAL;
	if (!ab_vm_all_idle(vm))
		return AB_VM_EBUSY;
	/* KVM maps what the host has: untouched anonymous memory would be
	 * mapped to the zero page, read-only */
	if (flags & AB_VM_PREFAULT_KVM)
		flags |= AB_VM_PREFAULT_HOST;
	if (flags & AB_VM_PREFAULT_HOST) {
		if (madvise(vm->hva, vm->bytes, MADV_POPULATE_WRITE)) {
			/* kernels before 5.14: write each page (same value) */
			if (errno != EINVAL)
				return AB_VM_ESYS;
			for (uint64_t p = 0; p < vm->npages; p++) {
				volatile uint64_t *a =
				    (volatile uint64_t *)(vm->hva + p * AB_VM_PAGE_SIZE);

				*a = *a;
			}
		}
		done |= AB_VM_PREFAULT_HOST;
	}
	if (flags & AB_VM_PREFAULT_KVM) {
		bool ioctl_ok =
		    ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_PRE_FAULT_MEMORY) > 0;
		struct kvm_pre_fault_memory pf = {.gpa = vm->gpa_base, .size = vm->bytes};

		while (ioctl_ok && pf.size) {
			if (ioctl(vm->vcpus[0].fd, KVM_PRE_FAULT_MEMORY, &pf) < 0) {
				if (errno == EINTR || errno == EAGAIN)
					continue;
				ioctl_ok = false; /* e.g. not supported by this MMU: guest pass */
			}
		}
		if (ioctl_ok) {
			done |= AB_VM_PREFAULT_KVM | AB_VM_PREFAULT_USED_IOCTL;
		} else {
			struct ab_vm_work w;
			int r;

			/* a WRITE pass: a read fault on untouched anonymous memory
			 * would map the shared zero page read-only, and the next
			 * write would fault again */
			ab_vm_work_init(&w);
			r = ab_vm_start_wait(vm, &w);
			if (r)
				return r;
			done |= AB_VM_PREFAULT_KVM;
		}
	}
	return done;
}

/* ---- extra slots ---- */

int ab_vm_slot_add(struct abvm *vm, uint64_t bytes, char *err, size_t errlen)
{
	int i;

	if (!bytes || bytes % AB_VM_PAGE_SIZE || bytes > 4 * GIB)
		return ab_errf(err, errlen, AB_VM_EINVAL,
			       "extra slot size %llu: not a multiple of 4 KiB in 4 KiB..4 GiB",
			       (unsigned long long)bytes);
	for (i = 0; i < MAX_EXTRA; i++) {
		struct extra_slot *s = &vm->extra[i];
		void *p;

		if (s->used)
			continue;
		p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (p == MAP_FAILED)
			return ab_errf(err, errlen, AB_VM_ENOMEM, "mmap extra slot: %s",
				       strerror(errno));
		s->gpa = vm->extra_gpa_next + (uint64_t)i * 4 * GIB;
		if (ab_vm_set_slot(vm, FIRST_EXTRA_SLOT + i, s->gpa, bytes, p, 0)) {
			int e = errno;

			munmap(p, bytes);
			return ab_errf(err, errlen, AB_VM_ESYS,
				       "KVM_SET_USER_MEMORY_REGION (extra slot %d): %s",
				       FIRST_EXTRA_SLOT + i, strerror(e));
		}
		s->hva = p;
		s->bytes = bytes;
		s->used = true;
		return FIRST_EXTRA_SLOT + i;
	}
	return ab_errf(err, errlen, AB_VM_EBUSY, "all %d extra slots in use", MAX_EXTRA);
}

int ab_vm_slot_del(struct abvm *vm, int slot)
{
	struct extra_slot *s;

	if (slot < FIRST_EXTRA_SLOT || slot >= FIRST_EXTRA_SLOT + MAX_EXTRA)
		return AB_VM_EINVAL;
	s = &vm->extra[slot - FIRST_EXTRA_SLOT];
	if (!s->used)
		return AB_VM_EINVAL;
	if (ab_vm_set_slot(vm, slot, s->gpa, 0, s->hva, 0))
		return AB_VM_ESYS;
	munmap(s->hva, s->bytes);
	s->used = false;
	return 0;
}

int ab_vm_get_dirty_log(struct abvm *vm, uint64_t *bitmap)
{
	struct kvm_dirty_log dl = {.slot = REGION_SLOT, .dirty_bitmap = bitmap};

	if (!vm->cfg.dirty_log)
		return AB_VM_EINVAL;
	if (ioctl(vm->vm_fd, KVM_GET_DIRTY_LOG, &dl))
		return AB_VM_ESYS;
	return 0;
}
