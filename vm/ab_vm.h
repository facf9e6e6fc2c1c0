/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ab_vm.h - agebench's own small KVM VM library (libabvm).
 *
 * One VM = one test region (the memory the aging walkers look at) plus a
 * small "system" memslot holding the guest's page tables, code, stacks and
 * the host<->guest control blocks. vCPUs run in 64-bit long mode with page
 * tables built by this library: the whole guest physical space we use is
 * identity mapped (GVA == GPA) with 2 MiB guest pages, so guest page tables
 * stay tiny (one 4 KiB page directory per GiB).
 *
 * The guest program runs in ring 3 by default (cfg.cpl0: ring 0 with a TLB
 * flush per command). It (guest.c, freestanding C built into the binary) walks
 * its vCPU's share of the test region, one 8-byte access per 4 KiB page, as
 * the host commands: N passes (or until stopped) in sequential, random or
 * hot/cold order, read or write; or "touch exactly this set of pages once"
 * (a bitmap). It reports progress in shared memory (passes, accesses) and
 * exits to the host with an I/O port write at every pass end and at every
 * command end, so the host can count sync points.
 *
 * Threading: every vCPU has its own host thread, created by ab_vm_create()
 * and parked (blocked, not spinning, guest not running) until a command is
 * issued. The functions below are meant to be called from one controlling
 * thread; the counters (ab_vm_vcpu_stats) may be read from any thread at any
 * time.
 *
 * Errors: functions that can fail return a negative AB_VM_E* code and, when
 * given an @err buffer, a one-line message naming what was wrong (e.g.
 * "/dev/kvm: Permission denied (need rw access; add the user to group kvm)").
 * ab_vm_exit_code() maps a code to the agebench exit convention.
 *
 * Teardown: ab_vm_destroy() stops the vCPU threads and frees the VM, the
 * mappings and the backing file. What could outlive the process (named
 * files, directories, cgroups) goes into common's cleanup registry
 * (ab_cleanup_add(), ab_common.h): undone at exit() and from its
 * SIGINT/SIGTERM/SIGHUP handler (which then exits 128+signo); the kernel
 * releases the VM, vCPU fds and mappings when the process dies. The default
 * file backing uses O_TMPFILE and has nothing to leak. See docs/vm.md.
 */
#ifndef AB_VM_H
#define AB_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ab_hist;

#define AB_VM_PAGE_SIZE 4096ull
#define AB_VM_HUGE_SIZE (2ull << 20)
#define AB_VM_MAX_VCPUS 1024 /* KVM_CREATE_VCPU fails first where KVM_CAP_MAX_VCPUS is lower */

/* Error codes (negative return values). */
enum ab_vm_err {
	AB_VM_OK = 0,
	AB_VM_ENODEV = -1,    /* /dev/kvm (or the override) missing: skip (77) */
	AB_VM_EPERM = -2,     /* /dev/kvm not permitted: skip (77) */
	AB_VM_ENOMEM = -3,    /* guest memory would not fit (MemAvailable / disk) */
	AB_VM_EBACKING = -4,  /* backing unsupported here (e.g. THP disabled) */
	AB_VM_EINVAL = -5,    /* bad argument/config (e.g. no such file_dir): 2 */
	AB_VM_ESYS = -6,      /* a KVM ioctl or syscall failed unexpectedly */
	AB_VM_EGUEST = -7,    /* guest crashed / unexpected exit */
	AB_VM_ETIMEDOUT = -8, /* ab_vm_wait*() timeout */
	AB_VM_EBUSY = -9,     /* vCPU still running a command */
	AB_VM_ENESTED = -10,  /* nested mode asked for, KVM offers its guests none: 2 */
};
/* Short name of an error code ("ENODEV", ...). */
const char *ab_vm_strerr(int code);
/* agebench exit code for an error: ENODEV/EPERM/EBACKING -> 77 (skip:
 * this machine cannot), EINVAL/ENOMEM/ENESTED -> 2 (bad input: e.g. more
 * guest memory than the machine has, no such file_dir, nested guests on a
 * host without nested virtualisation), others -> 1. */
int ab_vm_exit_code(int code);

/* Where the test region's memory comes from. */
enum ab_vm_backing {
	AB_VM_BACKING_ANON, /* anonymous private, MADV_NOHUGEPAGE (4 KiB) */
	AB_VM_BACKING_THP,  /* anonymous private, 2 MiB aligned, MADV_HUGEPAGE */
	AB_VM_BACKING_FILE, /* MAP_SHARED file in cfg.file_dir (page cache) */
};
/* "anon" | "thp" | "file"; parse returns -1 on an unknown name. */
const char *ab_vm_backing_name(enum ab_vm_backing b);
int ab_vm_backing_parse(const char *s);

struct ab_vm_config {
	/* KVM device; NULL = $AB_VM_KVM_DEV if set, else "/dev/kvm". */
	const char *kvm_path;
	/* Test region size in bytes: > 0, multiple of 2 MiB. */
	uint64_t mem_bytes;
	/* 1..AB_VM_MAX_VCPUS. The region is split into nr_vcpus equal
	 * contiguous partitions (ab_vm_vcpu_range); the last takes the rest. */
	int nr_vcpus;
	enum ab_vm_backing backing;
	/* FILE backing: directory for the file (required). By default the
	 * file is created with O_TMPFILE (never visible, nothing to leak);
	 * with file_named it is "<dir>/abvm-<pid>-<n>.mem", registered with
	 * the teardown registry and unlinked on destroy/exit/signal. */
	const char *file_dir;
	bool file_named;
	/* Guest physical base of the test region; 0 = default (4 GiB, or
	 * above the system slot if that is larger). Must be 2 MiB aligned. */
	uint64_t gpa_base;
	/* Register the test region with KVM_MEM_LOG_DIRTY_PAGES. */
	bool dirty_log;
	/* Allocate the per-page latency buffer (4 bytes per region page)
	 * needed by ab_vm_work.record_latency. */
	bool latency;
	/* Run the guest program in ring 0 instead of ring 3, and flush the
	 * vCPU's TLB (CR3 reload) at the start of every command and of every pass. Aging clears
	 * accessed bits without a TLB flush, so a checker that wants every
	 * access after a clear to set the bit again needs this on hardware.
	 * Default (ring 3) because some hosts run supervisor-mode guest code
	 * far slower (kvm_pvm emulates it; see docs/vm.md). */
	bool cpl0;
	/* Skip the MemAvailable / free-space check. */
	bool no_mem_check;
	/* Nested mode (ab_vm_nested.h, docs/nested.md): 0 off, 1..100 the
	 * percentage of each vCPU's partition that the guest's own guest (L3)
	 * touches instead of the guest program. Implies cpl0. */
	uint32_t nested_pct;
	/* Called first thing in each vCPU thread (e.g. ab_vm_pin_vcpu_hook to
	 * pin vCPU i with ab_pin_self(1 + i)). May be NULL. */
	void (*vcpu_thread_init)(int vcpu, void *arg);
	void *vcpu_thread_arg;
};

/* Fill @cfg with defaults: 64 MiB, 1 vCPU, anon. */
void ab_vm_config_init(struct ab_vm_config *cfg);

struct abvm;

/*
 * Create the VM, memslots, page tables, vCPUs and their threads, then run
 * each vCPU until the guest reports ready (its harness pages are faulted
 * in; the test region is untouched). Returns 0 and *@out, or a negative
 * AB_VM_E* code with a message in @err.
 */
int ab_vm_create(const struct ab_vm_config *cfg, struct abvm **out, char *err, size_t errlen);
/* Stop all vCPUs (ab_vm_stop), join the threads, close every fd, unmap,
 * remove the backing file. NULL is fine. */
void ab_vm_destroy(struct abvm *vm);

/* ---- geometry and handles ---- */
int ab_vm_nr_vcpus(const struct abvm *vm);
int ab_vm_kvm_fd(const struct abvm *vm);
int ab_vm_vm_fd(const struct abvm *vm); /* debugfs dir: ab_vm_debugfs_dir() */
int ab_vm_vcpu_fd(const struct abvm *vm, int vcpu);
/* Test region: host virtual address, guest physical base, first GFN,
 * number of 4 KiB pages, bytes. GVA == GPA inside the guest. */
void *ab_vm_hva(const struct abvm *vm);
uint64_t ab_vm_gpa_base(const struct abvm *vm);
uint64_t ab_vm_gfn_base(const struct abvm *vm);
uint64_t ab_vm_npages(const struct abvm *vm);
uint64_t ab_vm_mem_bytes(const struct abvm *vm);
enum ab_vm_backing ab_vm_backing(const struct abvm *vm);
/* KVM memslot id of the test region (for KVM_GET_DIRTY_LOG etc.). */
int ab_vm_region_slot(const struct abvm *vm);
/* vCPU @vcpu's partition: region page indices [*first, *first + *n). */
void ab_vm_vcpu_range(const struct abvm *vm, int vcpu, uint64_t *first, uint64_t *n);
/* Kernel thread id of the vCPU thread (valid after ab_vm_create). */
pid_t ab_vm_vcpu_tid(const struct abvm *vm, int vcpu);
/* "/sys/kernel/debug/kvm/<tid>-<vm_fd>" into @buf; returns @buf. KVM uses
 * task_pid_nr(current) of the thread that created the VM: the process id
 * only if that was the main thread. Use this, not getpid(). */
char *ab_vm_debugfs_dir(const struct abvm *vm, char *buf, size_t len);
/* Rate of the guest's cycle counter used to convert the guest's latency
 * samples: x86 the TSC (KVM_GET_TSC_KHZ), arm64 CNTVCT_EL0 (CNTFRQ_EL0). */
uint64_t ab_vm_tsc_khz(const struct abvm *vm);
/* What the vCPUs' CPU says about hardware access-flag updates in KVM's
 * tables: arm64 ID_AA64MMFR1_EL1.HAFDBS as KVM shows it to vCPU 0 (0 none:
 * KVM sets the stage-2 access flag on access faults; 1 access flag; 2 +
 * dirty state); -1 where the question does not arise (x86: EPT/NPT A bits
 * are always set by the walker). */
int ab_vm_hw_access_flag(const struct abvm *vm);

/* ---- commands ---- */
enum ab_vm_op { AB_VM_OP_WRITE = 0, AB_VM_OP_READ = 1 };
enum ab_vm_order {
	AB_VM_ORDER_SEQ = 0,	 /* ascending page order */
	AB_VM_ORDER_RANDOM = 1,	 /* every page once per pass, a fresh pseudo-random
				  * permutation each pass (seed, pass) */
	AB_VM_ORDER_HOTCOLD = 2, /* ascending; hot pages every pass, cold pages
				  * only every cold_every-th pass (see below) */
};

struct ab_vm_work {
	enum ab_vm_op op;
	enum ab_vm_order order;
	/* Number of passes; 0 = until ab_vm_stop(). */
	uint64_t passes;
	/* RANDOM permutation and HOTCOLD hot-set seed. */
	uint64_t seed;
	/* HOTCOLD: page p (region index) is hot iff ab_vm_page_is_hot(seed, p,
	 * hot_pct); cold pages are touched in passes where pass %
	 * cold_every == 0 (pass counted from 0 within this command); 0 = never. */
	uint32_t hot_pct;
	uint32_t cold_every;
	/* rdtsc around every access (needs cfg.latency): the per-access
	 * latency goes into the vCPU's histogram (ab_vm_vcpu_hist), in ns.
	 * Meant for fault-latency passes (e.g. the first pass over untouched
	 * memory); it costs ~2 rdtsc per access and host work per pass. */
	bool record_latency;
};
void ab_vm_work_init(struct ab_vm_work *w); /* write, seq, 1 pass */

/* True iff region page @page is in the hot set of (@seed, @hot_pct). */
bool ab_vm_page_is_hot(uint64_t seed, uint64_t page, uint32_t hot_pct);

/*
 * Start @w on every vCPU (each on its own partition) / on one vCPU.
 * Returns at once; AB_VM_EBUSY if a target vCPU is still running.
 */
int ab_vm_start(struct abvm *vm, const struct ab_vm_work *w);
int ab_vm_vcpu_start(struct abvm *vm, int vcpu, const struct ab_vm_work *w);
/*
 * Touch exactly the pages set in @bitmap (bit i of word i/64 = region page
 * i; the bitmap covers the whole region: ab_vm_npages() bits) once, with
 * @op. ab_vm_touch() splits the work: each vCPU touches the set pages of its
 * own partition; ab_vm_vcpu_touch() makes one vCPU touch every set page of
 * the region. The bitmap is copied into guest memory; returns at once.
 */
int ab_vm_touch(struct abvm *vm, const uint64_t *bitmap, enum ab_vm_op op);
int ab_vm_vcpu_touch(struct abvm *vm, int vcpu, const uint64_t *bitmap, enum ab_vm_op op);
/* Same, for a list of @n region page indices (duplicates touched once). */
int ab_vm_touch_list(struct abvm *vm, const uint64_t *pages, size_t n, enum ab_vm_op op);

/* Ask every vCPU to end its command at the next check (the guest polls
 * a stop flag every 64 pages and at every pass end), then wait. */
int ab_vm_stop(struct abvm *vm);
/* Wait until every vCPU / one vCPU finished its command. @timeout_ns 0 =
 * forever. Returns 0, AB_VM_ETIMEDOUT, or AB_VM_EGUEST if a vCPU failed
 * (message: ab_vm_last_error). */
int ab_vm_wait(struct abvm *vm, uint64_t timeout_ns);
int ab_vm_vcpu_wait(struct abvm *vm, int vcpu, uint64_t timeout_ns);
/* Start the command @w on every vCPU and wait until it ends: ab_vm_start(w) +
 * ab_vm_wait(0). (Not KVM_RUN: that is what each vCPU thread loops on.) */
int ab_vm_start_wait(struct abvm *vm, const struct ab_vm_work *w);
/* Last failure message of this VM (guest crash, ioctl failure), or "". */
const char *ab_vm_last_error(const struct abvm *vm);

/*
 * Fault the test region in before a measurement, while every vCPU is idle:
 *   AB_VM_PREFAULT_HOST: host page tables (MADV_POPULATE_WRITE), so that
 *     guest faults no longer include the host page fault;
 *   AB_VM_PREFAULT_KVM: (implies HOST) KVM's mappings, with KVM_PRE_FAULT_MEMORY where the
 *     kernel supports it (6.10+, TDP MMU), else with one guest WRITE pass
 *     (which stores AB_VM_WRITE_MARK in every page, like ab_vm_start_wait would).
 * Returns the flags done, plus AB_VM_PREFAULT_USED_IOCTL if
 * KVM_PRE_FAULT_MEMORY did the KVM part, or a negative AB_VM_E* code.
 * Counters (passes, accesses) include the fallback guest pass.
 */
enum {
	AB_VM_PREFAULT_HOST = 1,
	AB_VM_PREFAULT_KVM = 2,
	AB_VM_PREFAULT_USED_IOCTL = 4,
};
int ab_vm_prefault(struct abvm *vm, unsigned int flags);

/* ---- counters ---- */
struct ab_vm_vcpu_stats {
	uint64_t passes;      /* passes completed, cumulative (guest-written) */
	uint64_t accesses;    /* page accesses, cumulative (guest-written; the
			       * guest publishes every 64 pages and at pass end) */
	uint64_t exits_io;    /* KVM_EXIT_IO exits (sync points) */
	uint64_t exits_other; /* any other exit (should be 0) */
	uint64_t commands;    /* commands completed */
	uint64_t run_ns;      /* host wall time spent in commands, cumulative */
	uint64_t last_cmd_ns; /* wall time of the last completed command */
	uint64_t read_sum;    /* sum of the u64 values read by READ accesses */
	/* nested mode (guest-written): entries into the L3 and the page
	 * accesses it made (included in accesses) */
	uint64_t l3_runs;
	uint64_t l3_accesses;
};
void ab_vm_vcpu_stats(const struct abvm *vm, int vcpu, struct ab_vm_vcpu_stats *st);
/* Sum over vCPUs (last_cmd_ns: the max). */
void ab_vm_stats_total(const struct abvm *vm, struct ab_vm_vcpu_stats *st);
/* Per-vCPU access latency histogram (ns) fed by record_latency passes.
 * Owned by the VM; read it while the vCPU is idle. */
const struct ab_hist *ab_vm_vcpu_hist(const struct abvm *vm, int vcpu);
void ab_vm_hist_reset(struct abvm *vm);

/* ---- extra memslots (memslot churn for stress tests) ---- */
/* Add an anonymous memslot of @bytes (multiple of 4 KiB, <= 4 GiB) at a free GPA
 * above the test region; not mapped in the guest page tables. Returns the
 * slot id (>= 0) or a negative AB_VM_E* code. */
int ab_vm_slot_add(struct abvm *vm, uint64_t bytes, char *err, size_t errlen);
/* Delete (KVM_SET_USER_MEMORY_REGION size 0) and unmap an extra slot. */
int ab_vm_slot_del(struct abvm *vm, int slot);

/* ---- dirty log (cfg.dirty_log) ---- */
/* KVM_GET_DIRTY_LOG of the test region into @bitmap (ab_vm_npages() bits,
 * region page indices). Fetching clears KVM's log. */
int ab_vm_get_dirty_log(struct abvm *vm, uint64_t *bitmap);

/* ---- KVM binary stats (KVM_GET_STATS_FD) ---- */
struct ab_vm_kstats;
/* Open the binary stats of the VM (vcpu < 0) or of one vCPU. NULL if the
 * kernel has no KVM_GET_STATS_FD. */
struct ab_vm_kstats *ab_vm_kstats_open(struct abvm *vm, int vcpu);
void ab_vm_kstats_close(struct ab_vm_kstats *s);
/* Read the first value of stat @name ("age_calls", ...). 0, or -1 if the
 * stat does not exist. */
int ab_vm_kstats_get(struct ab_vm_kstats *s, const char *name, uint64_t *val);
/* Names of all stats, NULL-terminated (owned by @s). */
const char *const *ab_vm_kstats_names(struct ab_vm_kstats *s);

/* ---- host-side helpers ---- */
/* MemAvailable from /proc/meminfo in bytes, or 0 if unknown. */
uint64_t ab_vm_mem_available(void);
/* Whether THP can back a MADV_HUGEPAGE mapping ("always" or "madvise"),
 * with the reason when not. */
bool ab_vm_thp_usable(const char **why);
/* vcpu_thread_init hook that calls ab_pin_self(1 + vcpu) (role 0 is the
 * walker). Lives in its own object so users that do not pin do not pull
 * in hwloc. */
void ab_vm_pin_vcpu_hook(int vcpu, void *arg);

#ifdef __cplusplus
}
#endif

#endif /* AB_VM_H */
