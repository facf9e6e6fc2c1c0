/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvm_priv.h - what the kvm backend's files share: the run's parameters, a
 * benchmark's arguments, the helpers the phases and the accuracy rounds
 * both use. kvm_bench.c: one repetition (the phases, the counters);
 * kvm_accuracy.c: the accuracy rounds; kvm_preset.c: the houghton-v4
 * preset's table and the demand_paging_test comparison; kvm_register.c:
 * the grid, the modes and the kernel's knobs.
 */
#ifndef KVM_PRIV_H
#define KVM_PRIV_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "ab_kvm.h"
#include "ab_shim.h"
#include "ab_vm.h"
#include "ab_vm_age.h"
#include "ab_vm_nested.h"

struct kparams {
	uint64_t min_age_ms; /* shortest aging window; the refault windows' length */
	int zap_mib_s;	     /* refault workload: MiB zapped per s (0 = the guest per s) */
	int64_t iters;	     /* contended windows (iterations) per repetition */
	int acc_rounds;	     /* accuracy rounds */
	int pus;	     /* processing units (oversubscribed: vCPUs + 1 > pus) */
	bool pin;
	bool preset;	     /* houghton-v4: first touch + the contended phase only */
	uint32_t nested_pct; /* --nested: the VMs' L3s touch this % (ab_vm_nested.h) */
	/*
	 * kvm.age_stats: off in the timed windows, on in one counters window
	 * per repetition (stats_ctl: the parameter can be written); stats_on:
	 * on in the timed windows (it was on and cannot be turned off).
	 */
	bool stats_ctl, stats_on;
};

struct kbench {
	const struct ab_kvm_driver *drv;
	char mode[32]; /* walker mode, or "native" */
	enum ab_vm_backing backing;
	const struct kparams *p;
	int rep; /* repetitions done: the contended phase alternates its order */
};

extern struct kparams kvm_params;
extern const struct ab_kvm_driver *kvm_chosen;

/* One repetition of one benchmark (Google Benchmark's function; @arg a struct kbench). */
void kvm_bench_fn(ab_state *st, void *arg);

/* kvm.age_stats on (1) or off (0), when kvm_params.stats_ctl. */
void kvm_age_stats_set(bool on);

/* Helpers (kvm_bench.c). */
void kvm_sleep_ns(uint64_t ns);
const char *kvm_file_dir(void);
void kvm_loop_work(struct ab_vm_work *w, enum ab_vm_op op);
int kvm_wait_passes(struct abvm *vm, const uint64_t *p0, uint64_t more, uint64_t timeout_ns);

/* Accuracy while the vCPUs run (kvm_accuracy.c): 0 or -errno, @msg says why. */
int kvm_accuracy_exact(struct ab_kvm_drv *d, struct abvm *vm, const struct kbench *kb,
		       enum ab_vm_op op, int rounds, uint64_t *false_old, uint64_t *false_young,
		       uint64_t *checked, char *msg, size_t len);
int kvm_accuracy_reclaim(struct ab_kvm_drv *d, struct abvm *vm, int rounds, uint64_t *hot_evicted,
			 uint64_t *checked, char *msg, size_t len);

/* The preset's table (kvm_preset.c): one repetition's populate and pass seconds. */
void kvm_preset_record(const char *mode, int vcpus, uint64_t mib, double base_s, double wall_s,
		       double pass_s);
extern char kvm_preset_note[512];
/* demand_paging_test against our populate, into the run's context. */
void kvm_dpt_compare(int vcpus, uint64_t bytes_per_vcpu);

#endif /* KVM_PRIV_H */
