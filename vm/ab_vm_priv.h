/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ab_vm_priv.h - libabvm's own state, shared by its files and not by its
 * users: the VM and vCPU structures, the arch-neutral helpers the files
 * call across, and the per-architecture hooks (vm/<arch>/ab_vm_<arch>.c,
 * state in vm/<arch>/ab_vm_arch.h), as the kernel selftests split lib/
 * into lib/x86/ and lib/arm64/.
 *
 *   ab_vm.c          create (phase by phase) and destroy, names, accessors
 *   ab_vm_backing.c  the test region's memory (anon, thp, file)
 *   ab_vm_run.c      vCPU threads, the run loop, commands, counters
 *   ab_vm_slots.c    memslots, the guest's identity map, prefault, dirty log
 */
#ifndef AB_VM_PRIV_H
#define AB_VM_PRIV_H

#include "ab_vm.h"
#include "ab_vm_arch.h" /* struct ab_vm_arch, from vm/<arch>/ */
#include "ab_vm_guest.h"

#include <linux/kvm.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define GIB		 (1ull << 30)
#define MIB		 (1ull << 20)
#define SYS_SLOT	 0
#define REGION_SLOT	 1
#define FIRST_EXTRA_SLOT 2
#define MAX_EXTRA	 32
#define STACK_BYTES	 (16 * 1024)
#define VCPU_AREA	 (4096 + STACK_BYTES) /* ctl page + stack */

enum vstate { VS_STARTING, VS_IDLE, VS_RUNNING, VS_FAILED, VS_EXITED };

struct vcpu {
	struct abvm *vm;
	int idx;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool thread_started;
	pid_t tid;
	volatile struct ab_vm_ctl *ctl; /* HVA of its control block */
	uint64_t ctl_gpa, stack_top;
	/* protected by vm->lock */
	enum vstate state;
	bool pending;
	uint64_t range_first, range_n; /* range of the current command */
	bool rec_lat;
	/* counters, relaxed atomics */
	_Atomic uint64_t exits_io, exits_other, commands, run_ns, last_cmd_ns;
	struct ab_hist *hist;
};

struct extra_slot {
	bool used;
	void *hva;
	uint64_t gpa, bytes;
};

struct abvm {
	struct ab_vm_config cfg;
	char kvm_path[256];
	int kvm_fd, vm_fd;
	pid_t creator_tid; /* KVM names the debugfs dir <tid of KVM_CREATE_VM caller>-<fd> */
	size_t run_size;
	/* system slot */
	uint8_t *sys;
	uint64_t sys_bytes;
	uint64_t pt_end; /* end of the page-table area in the system slot */
	uint64_t bitmap_gpa, bitmap_bytes, lat_gpa, lat_bytes;
	/* test region */
	uint8_t *hva;
	void *map_base; /* what to munmap (THP alignment slack) */
	size_t map_len;
	uint64_t gpa_base, bytes, npages;
	int file_fd;
	int file_td; /* cleanup handle of a named file, -1 */
	char file_path[256];
	uint64_t tsc_khz; /* the guest's cycle counter (x86 TSC, arm64 CNTVCT) */
	struct ab_vm_arch arch;
	/* nested mode (ab_vm_nested.c), cfg.nested_pct > 0 */
	struct {
		uint64_t bm_gpa, bm_bytes;     /* bitmap of the L3's pages */
		uint64_t l3_gpa;	       /* per vCPU: L3 block page + L3 stack */
		uint64_t arch_gpa, arch_bytes; /* the architecture's part */
		uint64_t npages;	       /* pages in the bitmap */
		uint64_t *bm;		       /* = vm->sys + bm_gpa */
	} nested;
	struct extra_slot extra[MAX_EXTRA];
	uint64_t extra_gpa_next;
	/* vCPUs */
	int nr_vcpus;
	struct vcpu *vcpus;
	pthread_mutex_t lock;
	pthread_cond_t cmd_cond, done_cond;
	bool quit;
	char errmsg[512];
};

/* ---- arch-neutral, across the library's files ---- */

/* First failure message of the VM (vm->errmsg), under vm->lock. */
void ab_vm_fail(struct abvm *vm, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* ab_vm_backing.c: map the test region's memory as cfg.backing says. */
int ab_vm_setup_backing(struct abvm *vm, char *err, size_t errlen);
/* ab_vm_run.c */
void *ab_vm_vcpu_thread(void *arg);
int ab_vm_wait_state(struct abvm *vm, int v, uint64_t timeout_ns);
bool ab_vm_all_idle(struct abvm *vm);
/* ab_vm_slots.c */
int ab_vm_set_slot(struct abvm *vm, int slot, uint64_t gpa, uint64_t bytes, void *hva,
		   uint32_t flags);
/*
 * Identity-map [start, end) with 2 MiB leaves in the guest's 4-level,
 * 512-entry tables rooted at AB_VM_PML4_GPA (x86 PML4/PDPT/PD, arm64 4 KiB
 * granule L0/L1/L2: the same index split of the address). @table is OR'ed
 * into a table entry, @leaf into a 2 MiB leaf; bit 0 means "valid" on both.
 * *@next = the next free page-table page (below @pt_end). 0, or -1 when
 * the page-table area is too small.
 */
int ab_vm_map_2m(struct abvm *vm, uint64_t start, uint64_t end, uint64_t *next, uint64_t pt_end,
		 uint64_t table, uint64_t leaf);

/* ab_vm_nested.c: nested mode (cfg.nested_pct), see ab_vm_nested.h */
#define AB_VM_L3_AREA (4096 + STACK_BYTES) /* per vCPU: struct ab_vm_l3 page + L3 stack */
/* Reserve the nested part of the system slot from @off; returns the new end. */
uint64_t ab_vm_nested_plan(struct abvm *vm, uint64_t off);
/* The system slot exists: the bitmap of nested pages, then the arch's part. */
int ab_vm_nested_setup(struct abvm *vm, char *err, size_t errlen);
/* vCPU @c's control block: the nested fields. */
void ab_vm_nested_vcpu_ctl(struct abvm *vm, struct vcpu *c);
/* One line for an AB_VM_PANIC_L3EXIT / AB_VM_PANIC_NESTED report of vCPU @c. */
void ab_vm_nested_describe_panic(struct vcpu *c, uint32_t reason, char *buf, size_t len);

/* ---- per architecture: vm/<arch>/ab_vm_<arch>.c ---- */

/* After the layout is planned: can the guest address the region (x86:
 * MAXPHYADDR from CPUID, arm64: KVM's IPA limit)? */
int ab_vm_arch_check_fits(struct abvm *vm, char *err, size_t errlen);
/* The type argument of KVM_CREATE_VM. */
unsigned long ab_vm_arch_vm_type(const struct abvm *vm);
/* The system slot's arch part (descriptor tables, guest page tables),
 * after the guest image has been copied in. */
int ab_vm_arch_setup_system(struct abvm *vm, char *err, size_t errlen);
/* vCPU @c's fd exists and kvm_run is mapped: initialise it and set its
 * registers so that it enters the guest program at AB_VM_CODE_GPA with
 * its control block as argument and the stack at c->stack_top. */
int ab_vm_arch_vcpu_setup(struct abvm *vm, struct vcpu *c, char *err, size_t errlen);
/* The exit in c->run is a guest sync point (x86: an I/O port write,
 * arm64: a store to the sync MMIO page): true with the AB_VM_PORT_* value
 * in *@port and the value written in *@val. */
bool ab_vm_arch_sync_exit(struct vcpu *c, uint32_t *port, uint32_t *val);
/* One line describing an exit that is not a sync point. */
void ab_vm_arch_describe_exit(struct vcpu *c, char *buf, size_t len);
/* Rate of the guest's cycle counter (kHz), vCPUs created. */
uint64_t ab_vm_arch_counter_khz(struct abvm *vm);
/* Free what ab_vm_arch_* allocated (vm->arch). */
void ab_vm_arch_destroy(struct abvm *vm);
/* Nested mode (x86: ab_vm_nested_svm.c, ab_vm_nested_vmx.c): */
/* bytes of the architecture's nested part (plan time: layout known but the
 * system slot's size), */
uint64_t ab_vm_arch_nested_bytes(const struct abvm *vm, uint64_t sys_end);
/* does KVM offer this VM's guest nested virtualisation (AB_VM_ENESTED
 * naming what is missing), */
int ab_vm_arch_nested_check(struct abvm *vm, char *err, size_t errlen);
/* build it in [vm->nested.arch_gpa, + arch_bytes) (nested bitmap filled), */
int ab_vm_arch_nested_setup(struct abvm *vm, char *err, size_t errlen);
/* vCPU @c's ctl->l3_arch[], */
void ab_vm_arch_nested_vcpu_ctl(struct abvm *vm, struct vcpu *c);
/* describe the L3 exit in c->ctl->l3_exit[] (AB_VM_PANIC_L3EXIT), */
void ab_vm_arch_nested_describe_exit(struct vcpu *c, char *buf, size_t len);
/* kind offered, from KVM_GET_SUPPORTED_CPUID etc. (why: when not SVM) */
int ab_vm_arch_nested_probe(int kvm_fd, char *why, size_t len);

#endif /* AB_VM_PRIV_H */
