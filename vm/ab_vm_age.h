/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ab_vm_age.h - small, dependency-free access to the patched kernel's aging
 * interfaces (docs/kernel-interface.md) and to page_idle, as used by
 * agevm-check and the abvm tests. The kvm backend has its own drivers; these
 * are deliberately plain so that the checker stays independent of them.
 */
#ifndef AB_VM_AGE_H
#define AB_VM_AGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ab_schema.h"

struct abvm;

#define AB_VM_AGE_MODE_PARAM "/sys/module/kvm/parameters/mmu_age_mode"
/*
 * kvm.mmu_age_mode: the project's one accessor (the kvm backend and
 * agevm-check both use it). The mode names are the schema's
 * (common/ab_modes.def, entries with AB_IN_KERNEL); a kernel may accept
 * only some of them (ab_vm_age_modes_accepted). @root prefixes the path:
 * NULL or "" is the real sysfs, a test passes a fake tree.
 */
bool ab_vm_age_mode_known(const char *name); /* a kernel mode of the schema */
/* Read the current mode into @buf (newline stripped): 0 or -errno. */
int ab_vm_age_mode_get(const char *root, char *buf, size_t len);
/* Write @mode: 0 or -errno (-ENOENT: no such parameter). */
int ab_vm_age_mode_set(const char *root, const char *mode);
/* Once per parameter path: read the current mode and register its
 * restoration with the cleanup registry (exit, SIGINT/SIGTERM/SIGHUP).
 * 0 or -errno. */
int ab_vm_age_mode_save(const char *root);
/* The schema's kernel modes this kernel accepts (each written once, then
 * the current one written back): their ids into @ids, in table order.
 * Returns how many (0 without the parameter). */
int ab_vm_age_modes_accepted(const char *root, int ids[AB_MODE_NR]);

/* ---- debugfs benchmark hook: <debugfs>/kvm/<pid>-<vmfd>/age_bench ---- */
#define AB_VM_HOOK_MAX_PAGES 262144
struct ab_vm_hook_result {
	char mode[16];
	char op[8];
	uint64_t start, pages, young, ns, lock_wait_ns;
	int declined;
	/* v2 hook: batch used (pages for the whole range), notifier calls, and
	 * how many of them declined; has_batch false for a v1 answer */
	uint64_t batch, calls, declines;
	bool has_batch;
	uint64_t *bitmap; /* (pages + 63) / 64 words, malloc'd by the caller */
	size_t words;	  /* capacity of bitmap in words */
};
/* Path of the hook file of @vm into @buf; true if it exists. */
bool ab_vm_hook_path(const struct abvm *vm, char *buf, size_t len);
/*
 * Run one hook call: "<mode> <start_gfn> <npages> <test|clear>", then read
 * and parse the result into @res (its bitmap must hold npages bits) and
 * check it answers that question (ab_vm_hook_parse + ab_vm_hook_expect).
 * 0, or -1 with a message in @err.
 */
int ab_vm_hook_call(const struct abvm *vm, const char *mode, uint64_t start_gfn, uint64_t npages,
		    bool clear, struct ab_vm_hook_result *res, char *err, size_t errlen);
/*
 * The same in notifier calls of @batch pages ("... <test|clear> <batch>",
 * the v2 hook; 0: no batch field: the hook's default, 64 pages since series v3, the
 * whole range before). @batch is clamped to
 * @npages (the hook rejects batch > npages). The answer must carry the v2
 * fields and echo the batch.
 */
int ab_vm_hook_call_batch(const struct abvm *vm, const char *mode, uint64_t start_gfn,
			  uint64_t npages, bool clear, uint64_t batch,
			  struct ab_vm_hook_result *res, char *err, size_t errlen);

/*
 * Only the walk: write the line, do not read the answer. age_bench keeps one
 * answer per VM, so concurrent callers on one VM must serialize
 * ab_vm_hook_call()s against every other write; plain walks may overlap.
 */
int ab_vm_hook_walk(const struct abvm *vm, const char *mode, uint64_t start_gfn, uint64_t npages,
		    bool clear, char *err, size_t errlen);

/*
 * Parse a hook result (the text read back from age_bench) into @res, whose
 * bitmap holds res->words words. Strict: every field of the contract, a
 * known mode and op, exactly (pages + 63) / 64 words of 16 hex digits, no
 * bits past @pages, young <= pages, young == popcount(bitmap), a declined
 * answer has young 0. 0, or -1 with @err naming what was wrong.
 */
int ab_vm_hook_parse(const char *text, struct ab_vm_hook_result *res, char *err, size_t errlen);
/* Does the answer answer the question asked (mode, op, start, pages)? 0 or -1. */
int ab_vm_hook_expect(const struct ab_vm_hook_result *res, const char *mode, uint64_t start_gfn,
		      uint64_t npages, bool clear, char *err, size_t errlen);
/* ... and in calls of @batch pages (0: whole range): a v2 answer whose
 * batch= is @batch (npages for 0, or when @batch >= npages). 0 or -1. */
int ab_vm_hook_expect_batch(const struct ab_vm_hook_result *res, uint64_t npages, uint64_t batch,
			    char *err, size_t errlen);

/* ---- page_idle ---- */
#define AB_VM_PAGE_IDLE_PATH "/sys/kernel/mm/page_idle/bitmap"
/* PFNs of @n pages at @hva from /proc/self/pagemap (0 where not present);
 * 0, or -1 with @err (no pagemap, or PFNs hidden: need CAP_SYS_ADMIN). */
int ab_vm_pagemap_pfns(const void *hva, uint64_t n, uint64_t *pfns, char *err, size_t errlen);
/* Mark the @n PFNs idle (pfns[i] == 0 skipped). 0 or -errno. (6.12
 * answers 0 bytes for the last, partial chunk below max_pfn but marks it.) */
int ab_vm_idle_mark(int fd, const uint64_t *pfns, uint64_t n);
/* young bit i := PFN pfns[i] is not idle (accessed since marked). 0 or
 * -errno. PFNs in the last, partial 64-PFN chunk below max_pfn cannot be
 * read back on 6.12 (the read returns 0 bytes): their bit is set in
 * @unknown (may be NULL) and clear in @young. */
int ab_vm_idle_read(int fd, const uint64_t *pfns, uint64_t n, uint64_t *young, uint64_t *unknown);

/* Move every CPU's per-CPU LRU batch onto the LRU lists. page_idle ignores
 * folios not on an LRU (and reads them as "not idle", i.e. young), so call
 * this after faulting pages in and before marking them idle. */
void ab_vm_lru_drain_all(void);

/* ---- bitmaps ---- */
static inline bool ab_vm_bit(const uint64_t *bm, uint64_t i)
{
	return (bm[i / 64] >> (i % 64)) & 1;
}
static inline void ab_vm_set_bit(uint64_t *bm, uint64_t i)
{
	bm[i / 64] |= 1ull << (i % 64);
}
uint64_t ab_vm_popcount(const uint64_t *bm, uint64_t nbits);

#endif
