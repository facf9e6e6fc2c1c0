/* SPDX-License-Identifier: GPL-2.0 */
/*
 * guest.c - the program the abvm vCPUs run (freestanding, identity mapped,
 * no interrupts). x86-64: 64-bit long mode, no IDT: any exception is a
 * triple fault the host reports as KVM_EXIT_SHUTDOWN. What differs per
 * architecture (sync points, cycle counter, TLB flush) is in
 * vm/<arch>/guest_arch.h.
 *
 * Built by CMake with its own flags (no libc, no SSE, no red zone), linked
 * at AB_VM_CODE_GPA by guest.ld, objcopy'd to a flat image and embedded in
 * libabvm (guest_blob.c). The host enters guest_main(ctl) with the stack
 * pointer at the top of this vCPU's stack and the first argument register
 * = this vCPU's control block.
 *
 * Protocol: the guest does what ctl->cmd says, then signals AB_VM_PORT_DONE;
 * the host parks the vCPU thread until the next command, writes the new
 * command into ctl and resumes the guest right after that sync point.
 *
 * Nested mode (ctl->nested_bm_gva != 0, docs/nested.md): the pages set in
 * the nested bitmap are not touched by this program but by its own guest,
 * the L3, which runs the same walk (guest_l3_main) over them: every pass
 * and every touch is one slice in this guest (the other pages) followed by
 * one L3 slice (guest_nested_run, per architecture), so that the pages keep
 * the order they have without nesting, split between the two levels.
 */
#include "ab_vm_guest.h"
#include "guest_arch.h"

#define STOP_CHECK_MASK 63 /* poll ctl->stop and publish counters every 64 */

struct walk {
	volatile struct ab_vm_ctl *ctl;
	uint8_t *region;
	uint32_t *lat;
	uint64_t op;
	uint64_t acc; /* accesses not yet published */
	uint64_t sum;
	uint64_t n; /* accesses in this command, for the stop poll */
	/* nested mode: bitmap of the L3's pages, and whether this walk takes
	 * those (the L3) or the others (its host); NULL: every page */
	const uint64_t *nested;
	uint64_t l3;
};

/* Is page @p this walk's (nested mode splits the pages between levels)? */
static inline int mine(const struct walk *w, uint64_t p)
{
	return !w->nested || ((w->nested[p >> 6] >> (p & 63)) & 1) == w->l3;
}

static inline void access_page(struct walk *w, uint64_t p)
{
	volatile uint64_t *a = (volatile uint64_t *)(w->region + (p << 12));
	uint64_t t0 = 0;

	if (w->lat)
		t0 = guest_cycles();
	if (w->op == 0)
		*a = AB_VM_WRITE_MARK(p);
	else
		w->sum += *a;
	if (w->lat) {
		uint64_t d = guest_cycles() - t0;

		w->lat[p] = d >= 0xfffffffeull ? 0xffffffffu : (uint32_t)d + 1;
	}
	w->acc++;
}

static inline void publish(struct walk *w)
{
	w->ctl->accesses += w->acc;
	if (w->l3)
		w->ctl->l3_accesses += w->acc;
	w->ctl->read_sum += w->sum;
	w->acc = 0;
	w->sum = 0;
}

/* After every access: every 64 accesses publish counters and poll stop. */
static inline int poll_stop(struct walk *w)
{
	if ((++w->n & STOP_CHECK_MASK) == 0) {
		publish(w);
		return w->ctl->stop != 0;
	}
	return 0;
}

/* One pass over the region pages [first, first + n); nonzero if stopped. */
static int do_pass(struct walk *w, uint64_t pass, uint64_t first, uint64_t n)
{
	volatile struct ab_vm_ctl *ctl = w->ctl;
	uint64_t i;

	switch (ctl->order) {
	case 0:
		for (i = 0; i < n; i++) {
			if (!mine(w, first + i))
				continue;
			access_page(w, first + i);
			if (poll_stop(w))
				return 1;
		}
		break;
	case 1: {
		struct ab_vm_perm pm;

		ab_vm_perm_init(&pm, n, ab_vm_pass_seed(ctl->seed, pass));
		for (i = 0; i < n; i++) {
			uint64_t p = first + ab_vm_perm_next(&pm);

			if (!mine(w, p))
				continue;
			access_page(w, p);
			if (poll_stop(w))
				return 1;
		}
		break;
	}
	default: {
		uint64_t seed = ctl->seed, pct = ctl->hot_pct, ce = ctl->cold_every;
		int cold = ce && pass % ce == 0;

		for (i = 0; i < n; i++) {
			uint64_t p = first + i;

			if (!cold && !ab_vm_page_hot(seed, p, pct))
				continue;
			if (!mine(w, p))
				continue;
			access_page(w, p);
			if (poll_stop(w))
				return 1;
		}
		break;
	}
	}
	return 0;
}

/* Touch the set pages of [first, first + n) once; nonzero if stopped. */
static int do_touch(struct walk *w, uint64_t first, uint64_t n)
{
	volatile struct ab_vm_ctl *ctl = w->ctl;
	const uint64_t *bm = (const uint64_t *)ctl->bitmap_gva;
	uint64_t end = first + n, wd;

	for (wd = first / 64; wd * 64 < end; wd++) {
		uint64_t bits = bm[wd];
		uint64_t lo = wd * 64;

		if (lo < first)
			bits &= ~0ull << (first - lo);
		if (end - lo < 64)
			bits &= (1ull << (end - lo)) - 1;
		while (bits) {
			uint64_t b = (uint64_t)__builtin_ctzll(bits);

			bits &= bits - 1;
			if (!mine(w, lo + b))
				continue;
			access_page(w, lo + b);
			if (poll_stop(w))
				return 1;
		}
	}
	return 0;
}

static void walk_init(struct walk *w, volatile struct ab_vm_ctl *ctl, uint64_t l3)
{
	w->ctl = ctl;
	w->region = (uint8_t *)ctl->region_gva;
	w->lat = (uint32_t *)ctl->lat_gva;
	w->op = ctl->op;
	w->acc = w->sum = w->n = 0;
	w->nested = (const uint64_t *)ctl->nested_bm_gva;
	w->l3 = l3;
}

/*
 * The nested guest (L3): entered by the architecture's stub with its
 * block, runs one slice over its pages, ends it (guest_l3_end: an exit
 * to this program's host side in guest_nested_run). Shares the control
 * block: the same order, seed and op, the stop flag, the counters.
 */
__attribute__((used, noreturn)) void guest_l3_main(volatile struct ab_vm_l3 *b)
{
	volatile struct ab_vm_ctl *ctl = (volatile struct ab_vm_ctl *)b->ctl_gva;
	struct walk w;
	int stopped;

	walk_init(&w, ctl, 1);
	if (b->cmd == AB_VM_CMD_PASSES)
		stopped = do_pass(&w, b->pass, b->first, b->npages);
	else
		stopped = do_touch(&w, b->first, b->npages);
	publish(&w);
	b->stopped = (uint64_t)stopped;
	guest_l3_end();
}

/* This guest's slice of a pass or touch, then (nested mode) the L3's. */
static int slice(struct walk *w, uint64_t cmd, uint64_t pass)
{
	volatile struct ab_vm_ctl *ctl = w->ctl;
	uint64_t first = ctl->first, n = ctl->npages;
	int stopped;

	stopped = cmd == AB_VM_CMD_PASSES ? do_pass(w, pass, first, n) : do_touch(w, first, n);
	publish(w);
	if (stopped || !w->nested)
		return stopped;
	return guest_nested_run(ctl, cmd, pass, first, n);
}

static void prefault(volatile struct ab_vm_ctl *ctl)
{
	uint64_t a;

	for (a = ctl->rw_start; a < ctl->rw_end; a += 4096)
		guest_touch_rw(a);
	for (a = ctl->ro_start; a < ctl->ro_end; a += 4096)
		(void)*(volatile uint64_t *)a;
}

__attribute__((section(".text.entry"), noreturn, used)) void
guest_main(volatile struct ab_vm_ctl *ctl)
{
	prefault(ctl);
	if (ctl->nested_bm_gva && guest_nested_init(ctl))
		guest_sync(ctl, AB_VM_PORT_PANIC, AB_VM_PANIC_NESTED);
	for (;;) {
		struct walk w;

		guest_sync(ctl, AB_VM_PORT_DONE, 0);
		walk_init(&w, ctl, 0);
		ctl->cmd_passes = 0;
		if (ctl->flush_tlb) {
			/* flush this vCPU's TLB (combined GVA->HPA translations too)
			 * so that accessed bits cleared by aging without a flush are
			 * set again by the next access */
			guest_flush_tlb();
		}
		if (ctl->cmd == AB_VM_CMD_PASSES) {
			uint64_t pass;

			for (pass = 0; !ctl->passes || pass < ctl->passes; pass++) {
				int stopped;

				if (ctl->flush_tlb && pass) {
					/* every pass of a looping command starts with an
					 * empty TLB too (accuracy while vCPUs run) */
					guest_flush_tlb();
				}
				stopped = slice(&w, AB_VM_CMD_PASSES, pass);
				if (stopped)
					break;
				ctl->cmd_passes = pass + 1;
				ctl->passes_done++;
				guest_sync(ctl, AB_VM_PORT_PASS, (uint32_t)pass);
				if (ctl->stop)
					break;
			}
		} else if (ctl->cmd == AB_VM_CMD_TOUCH) {
			slice(&w, AB_VM_CMD_TOUCH, 0);
		} else if (ctl->cmd != AB_VM_CMD_NONE) {
			guest_sync(ctl, AB_VM_PORT_PANIC, AB_VM_PANIC_BADCMD);
		}
	}
}
