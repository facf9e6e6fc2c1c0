/* SPDX-License-Identifier: GPL-2.0 */
/*
 * check.h - what agevm-check's sub-commands share (vm/check/): options,
 * verdict helpers, the VM, KVM stats, the kvm_age_walk tracepoint and the
 * judging of one aging answer. One file per sub-command: exact.c,
 * lru_gen.c, switch.c, stress.c; main.c parses options and dispatches.
 */
#ifndef AB_VM_CHECK_H
#define AB_VM_CHECK_H

#include "ab_vm.h"
#include "ab_vm_age.h"
#include "ab_vm_guest.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "ab_common.h"

#define NSEC 1000000000ull

extern const char *prog;
extern bool verbose;
/* --stock: check a kernel without the agebench patches (no mmu_age_mode,
 * no age_* stats): the exactness of its (locked) aging through page_idle
 * and MGLRU, i.e. the checker's own baseline */
extern bool stock;
/* --modes: which modes switch and stress use (bits: enum ab_mode_id) */
extern unsigned int mode_mask;
/* need_param(): the modes this kernel accepts, in mode_mask, table order */
extern const char *check_modes[AB_MODE_NR];
extern int ncheck_modes;
/* stress --without: stressors left out (to find which one a failure needs) */
enum { ST_HOOK, ST_IDLE, ST_SWITCH, ST_ZAPPER, ST_SLOTS, ST_VMS, ST_NESTED, ST_NR };
extern const char *const stressor_names[ST_NR];
extern unsigned int stress_off;
extern _Atomic int nfail; /* fail() calls so far */

struct opts {
	const char *driver;
	const char *mode;
	uint64_t mem;
	int vcpus;
	int rounds;
	uint64_t seed;
	uint64_t seconds;
	bool no_aging_ok;
	uint32_t nested_pct; /* nested --pct */
};

/* ---- verdict ---- */
void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2))); /* counts, goes on */
void info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));  /* exit 77 */
_Noreturn void usage(const char *fmt, ...) __attribute__((format(printf, 1, 2))); /* exit 2 */
int finish(const char *what); /* "what: PASS" (0) or "what: FAILED (n failures)" (1) */

/* ---- environment and the VM ---- */
void need_param(void);			       /* skip without mmu_age_mode; restore it at exit */
void set_mode_or_die(const char *mode);	       /* skip if this kernel does not offer it */
bool mode_never_declines(const char *mode);    /* common/ab_modes.def: decline NEVER */
bool mode_may_miss(const char *mode);	       /* decline WINDOW: may miss a young page */
struct abvm *make_vm(uint64_t mem, int vcpus); /* anon, ring 0: exact per-page answers */
/* The same with cfg.nested_pct = @pct (ab_vm_nested.h); skips where KVM
 * offers no nested virtualisation. */
struct abvm *make_vm_nested(uint64_t mem, int vcpus, uint32_t pct);
void run_or_die(struct abvm *vm, const struct ab_vm_work *w, const char *what);
void populate(struct abvm *vm);
/* Until the running command made @passes more passes (in all), or FAIL after 30 s. */
void wait_passes(struct abvm *vm, uint64_t passes);
void touch_or_die(struct abvm *vm, const uint64_t *set, enum ab_vm_op op);
uint64_t *bm_alloc(uint64_t n);
/* A pseudo-random set of ~1/density of the pages, plus both ends. */
void make_set(uint64_t *set, uint64_t n, uint64_t seed, unsigned density);
int write_file(const char *path, const char *s); /* 0 or -errno */

/* ---- KVM binary stats: age_calls age_pages_scanned age_pages_young
 * age_fast_declines age_walk_ns age_lock_wait_ns ---- */
#define NSTATS 6
struct kst {
	uint64_t v[NSTATS];
};
struct ab_vm_kstats *open_stats(struct abvm *vm); /* NULL with --stock; fails if one is missing */
void read_stats(struct ab_vm_kstats *ks, struct kst *s);
void print_stats_delta(const struct kst *a, const struct kst *b);

/* ---- tracepoint kvm:kvm_age_walk (optional evidence of the mode used) ---- */
bool trace_begin(void);		      /* false if there is no such event */
uint64_t trace_end(const char *mode); /* walk records; fails on a record naming another mode */

/* ---- one aging answer against the touched set ---- */
struct tally {
	uint64_t calls, declined, missed, young;
};
void judge_masked(const char *what, const char *mode, const uint64_t *young, const uint64_t *set,
		  const uint64_t *unknown, uint64_t n, uint64_t gfn0, bool may_miss,
		  struct tally *t);
void judge(const char *what, const char *mode, const uint64_t *young, const uint64_t *set,
	   uint64_t n, uint64_t gfn0, bool may_miss, struct tally *t);
/* One hook call over the whole region with structural checks; false if declined. */
bool hook(struct abvm *vm, const char *mode, bool clear, struct ab_vm_hook_result *res,
	  struct tally *t);

/* ---- the sub-commands ---- */
int cmd_exact(struct opts *o);
int cmd_lru_gen(struct opts *o);
int cmd_switch(struct opts *o);
int cmd_stress(struct opts *o);
int cmd_nested(struct opts *o);

#endif
