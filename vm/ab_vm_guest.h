/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ab_vm_guest.h - what the host library and the guest program share: the
 * guest physical layout, the I/O ports of the sync points, the per-vCPU
 * control block, and the pure functions that define page orders (random
 * permutation, hot set). Freestanding: <stdint.h> only.
 */
#ifndef AB_VM_GUEST_H
#define AB_VM_GUEST_H

#include <stdint.h>

/* Guest physical layout of the system slot (slot 0, GPA 0). GDT and TSS
 * are x86's; the root page table is x86's PML4 and arm64's level-0 table. */
#define AB_VM_GDT_GPA	0x1000ull
#define AB_VM_TSS_GPA	0x3000ull /* TSS + I/O bitmap: 0x3000..0x5068 */
#define AB_VM_TSS_LIMIT (0x68 + 0x2000)
#define AB_VM_PML4_GPA	0x2000ull
#define AB_VM_CODE_GPA	0x10000ull /* guest.ld links the program here */
#define AB_VM_CODE_MAX	0x10000ull
#define AB_VM_PT_GPA	0x20000ull /* PDPTs and PDs from here */

/* Sync points, one exit each. x86: I/O ports (guest `out` to them =
 * KVM_EXIT_IO). arm64: a 32-bit store to ctl->sync_gva + AB_VM_SYNC_OFF(port)
 * in an MMIO page no memslot covers (KVM_EXIT_MMIO). */
#define AB_VM_PORT_DONE	     0xab0 /* command finished (the first one: ready) */
#define AB_VM_PORT_PASS	     0xab1 /* a pass finished; value = pass index */
#define AB_VM_PORT_PANIC     0xab2 /* guest-detected error; value = reason */
#define AB_VM_SYNC_OFF(port) (((port)-AB_VM_PORT_DONE) * 8u)
/* arm64: the exception vectors store the vector index here (not a sync
 * point: the host reports the exception, like an x86 triple fault). */
#define AB_VM_SYNC_EXCEPTION_OFF 0x100u

/* Panic reasons. */
#define AB_VM_PANIC_BADCMD 1
#define AB_VM_PANIC_L3EXIT 2 /* the nested guest exited other than by its end-of-slice call */
#define AB_VM_PANIC_NESTED 3 /* nested mode asked for where the guest cannot run it */

/* Commands. */
#define AB_VM_CMD_NONE	 0
#define AB_VM_CMD_PASSES 1
#define AB_VM_CMD_TOUCH	 2

/* Value a WRITE access stores at offset 0 of region page p. */
#define AB_VM_WRITE_MARK(p) (0xab00000000000000ull | (uint64_t)(p))

/* Per-vCPU control block, one 4 KiB page in the system slot. */
struct ab_vm_ctl {
	/* host -> guest, written while the vCPU is parked */
	uint64_t cmd;
	uint64_t op;	 /* 0 write, 1 read */
	uint64_t order;	 /* 0 seq, 1 random, 2 hot/cold */
	uint64_t passes; /* 0 = until stop */
	uint64_t seed;
	uint64_t hot_pct;
	uint64_t cold_every;
	uint64_t region_gva; /* test region base (GVA == GPA) */
	uint64_t first;	     /* page range of this command */
	uint64_t npages;
	uint64_t bitmap_gva; /* TOUCH: bit per region page */
	uint64_t lat_gva;    /* != 0: store (tsc delta + 1) per page, u32 */
	uint64_t rw_start;   /* startup: write-fault these (lock add 0) */
	uint64_t rw_end;
	uint64_t ro_start; /* startup: read-fault these */
	uint64_t ro_end;
	uint64_t flush_tlb; /* CPL 0 guests: reload CR3 before the command and each pass */
	uint64_t sync_gva;  /* arm64: the sync MMIO page (see AB_VM_SYNC_OFF); x86: 0 */
	/* nested mode (docs/nested.md), 0 = off: the pages set in this bitmap
	 * (bit per region page) are touched by the nested guest (L3) only */
	uint64_t nested_bm_gva;
	uint64_t l3_block_gva; /* struct ab_vm_l3 of this vCPU */
	uint64_t l3_stack_top; /* the L3's stack (16-byte aligned) */
	uint64_t l3_arch[4];   /* x86 SVM: VMCB, host save area; see x86/guest_nested_svm.h */
	uint64_t pad0[7];
	/* host -> guest, any time */
	volatile uint64_t stop;
	uint64_t pad1[7];
	/* guest -> host */
	volatile uint64_t passes_done; /* cumulative */
	volatile uint64_t accesses;    /* cumulative */
	volatile uint64_t read_sum;    /* cumulative sum of values read */
	volatile uint64_t cmd_passes;  /* passes done in the current command */
	/* guest -> host, nested mode */
	volatile uint64_t l3_runs;     /* entries into the L3 (VMRUN), cumulative */
	volatile uint64_t l3_accesses; /* page accesses made by the L3 (in accesses too) */
	volatile uint64_t l3_exit[4];  /* AB_VM_PANIC_L3EXIT: exit code, info 1, info 2, L3 rip */
};

/*
 * Per-vCPU block the L2 guest hands its L3 (nested mode): one slice of a
 * command. The L3 runs the same page walk over the nested pages of
 * [first, first + npages) and ends the slice (x86: VMMCALL).
 */
struct ab_vm_l3 {
	uint64_t cmd;	/* AB_VM_CMD_PASSES (one pass) or AB_VM_CMD_TOUCH */
	uint64_t pass;	/* pass index within the command */
	uint64_t first; /* region page range */
	uint64_t npages;
	uint64_t ctl_gva; /* the vCPU's control block (mapped for the L3 too) */
	uint64_t stopped; /* L3 -> L2: saw ctl->stop */
};

static inline uint64_t ab_vm_mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 31;
	return x;
}

static inline int ab_vm_page_hot(uint64_t seed, uint64_t page, uint64_t hot_pct)
{
	return ab_vm_mix64(seed ^ (page * 0x9e3779b97f4a7c15ull)) % 100 < hot_pct;
}

/*
 * A pseudo-random permutation of [0, n) without memory: a full-period LCG
 * over k = ceil(log2 n) bits (a = 1 mod 4, c odd: Hull-Dobell) visits
 * every k-bit value once per 2^k steps; a bijective k-bit scrambler on top
 * decorrelates neighbours; values >= n are skipped (cycle walking, < 2x).
 */
struct ab_vm_perm {
	uint64_t x, mask, c, n, shift;
};

static inline void ab_vm_perm_init(struct ab_vm_perm *pm, uint64_t n, uint64_t seed)
{
	uint64_t k = 0;

	while (k < 63 && (1ull << k) < n)
		k++;
	pm->mask = (1ull << k) - 1;
	pm->shift = (k + 1) / 2;
	pm->n = n;
	pm->x = ab_vm_mix64(seed) & pm->mask;
	pm->c = (ab_vm_mix64(seed ^ 0x5bd1e995ull) | 1) & pm->mask;
	if (!pm->c)
		pm->c = 1 & pm->mask;
}

static inline uint64_t ab_vm_perm_scramble(const struct ab_vm_perm *pm, uint64_t y)
{
	y = (y * 0x9e3779b97f4a7c15ull) & pm->mask;
	if (pm->shift)
		y ^= y >> pm->shift;
	y = (y * 0xd6e8feb86659fd93ull) & pm->mask;
	if (pm->shift)
		y ^= y >> pm->shift;
	return y;
}

/* Next index; call exactly n times per pass. */
static inline uint64_t ab_vm_perm_next(struct ab_vm_perm *pm)
{
	uint64_t y;

	do {
		pm->x = (pm->x * 0x5851f42d4c957f2dull + pm->c) & pm->mask;
		y = ab_vm_perm_scramble(pm, pm->x);
	} while (y >= pm->n);
	return y;
}

/* Seed of the permutation of pass @pass of a command with seed @seed. */
static inline uint64_t ab_vm_pass_seed(uint64_t seed, uint64_t pass)
{
	return seed + (pass + 1) * 0x9e3779b97f4a7c15ull;
}

#endif /* AB_VM_GUEST_H */
