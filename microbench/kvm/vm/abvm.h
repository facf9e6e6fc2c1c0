/* SPDX-License-Identifier: GPL-2.0 */
/*
 * abvm.h - agebench's own small KVM VM library (libabvm).
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
 * Threading: every vCPU has its own host thread, created by abvm_create()
 * and parked (blocked, not spinning, guest not running) until a command is
 * issued. The functions below are meant to be called from one controlling
 * thread; the counters (abvm_vcpu_stats) may be read from any thread at any
 * time.
 *
 * Errors: functions that can fail return a negative ABVM_E* code and, when
 * given an @err buffer, a one-line message naming what was wrong (e.g.
 * "/dev/kvm: Permission denied (need rw access; add the user to group kvm)").
 * abvm_exit_code() maps a code to the agebench exit convention.
 *
 * Teardown: abvm_destroy() stops the vCPU threads and frees the VM, the
 * mappings and the backing file. What could outlive the process (named
 * files, directories, cgroups) goes into the teardown registry below, which
 * sits on common's ab_cleanup registry: run at exit() and from its
 * SIGINT/SIGTERM/SIGHUP handler (which then exits 128+signo); the kernel
 * releases the VM, vCPU fds and mappings when the process dies. The default
 * file backing uses O_TMPFILE and has nothing to leak. See docs/vm.md.
 */
#ifndef ABVM_H
#define ABVM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

struct ab_hist;

#define ABVM_PAGE_SIZE 4096ull
#define ABVM_HUGE_SIZE (2ull << 20)
#define ABVM_MAX_VCPUS 64

/* Error codes (negative return values). */
enum abvm_err {
	ABVM_OK = 0,
	ABVM_ENODEV = -1,    /* /dev/kvm (or the override) missing: skip (77) */
	ABVM_EPERM = -2,     /* /dev/kvm not permitted: skip (77) */
	ABVM_ENOMEM = -3,    /* guest memory would not fit (MemAvailable / disk) */
	ABVM_EBACKING = -4,  /* backing unsupported here (e.g. THP disabled) */
	ABVM_EINVAL = -5,    /* bad argument/config (e.g. no such file_dir): 2 */
	ABVM_ESYS = -6,	     /* a KVM ioctl or syscall failed unexpectedly */
	ABVM_EGUEST = -7,    /* guest crashed / unexpected exit */
	ABVM_ETIMEDOUT = -8, /* abvm_wait*() timeout */
	ABVM_EBUSY = -9,     /* vCPU still running a command */
};
/* Short name of an error code ("ENODEV", ...). */
const char *abvm_strerr(int code);
/* agebench exit code for an error: ENODEV/EPERM/EBACKING -> 77 (skip:
 * this machine cannot), EINVAL/ENOMEM -> 2 (bad input: e.g. more guest
 * memory than the machine has, no such file_dir), others -> 1. */
int abvm_exit_code(int code);

/* Where the test region's memory comes from. */
enum abvm_backing {
	ABVM_BACKING_ANON, /* anonymous private, MADV_NOHUGEPAGE (4 KiB) */
	ABVM_BACKING_THP,  /* anonymous private, 2 MiB aligned, MADV_HUGEPAGE */
	ABVM_BACKING_FILE, /* MAP_SHARED file in cfg.file_dir (page cache) */
};
/* "anon" | "thp" | "file"; parse returns -1 on an unknown name. */
const char *abvm_backing_name(enum abvm_backing b);
int abvm_backing_parse(const char *s);

struct abvm_config {
	/* KVM device; NULL = $ABVM_KVM_DEV if set, else "/dev/kvm". */
	const char *kvm_path;
	/* Test region size in bytes: > 0, multiple of 2 MiB. */
	uint64_t mem_bytes;
	/* 1..ABVM_MAX_VCPUS. The region is split into nr_vcpus equal
	 * contiguous partitions (abvm_vcpu_range); the last takes the rest. */
	int nr_vcpus;
	enum abvm_backing backing;
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
	 * needed by abvm_work.record_latency. */
	bool latency;
	/* Run the guest program in ring 0 instead of ring 3, and flush the
	 * vCPU's TLB (CR3 reload) at the start of every command. Aging clears
	 * accessed bits without a TLB flush, so a checker that wants every
	 * access after a clear to set the bit again needs this on hardware.
	 * Default (ring 3) because some hosts run supervisor-mode guest code
	 * far slower (kvm_pvm emulates it; see docs/vm.md). */
	bool cpl0;
	/* Skip the MemAvailable / free-space check. */
	bool no_mem_check;
	/* Called first thing in each vCPU thread (e.g. abvm_pin_vcpu_hook to
	 * pin vCPU i with ab_pin_self(1 + i)). May be NULL. */
	void (*vcpu_thread_init)(int vcpu, void *arg);
	void *vcpu_thread_arg;
};

/* Fill @cfg with defaults: 64 MiB, 1 vCPU, anon. */
void abvm_config_init(struct abvm_config *cfg);

struct abvm;

/*
 * Create the VM, memslots, page tables, vCPUs and their threads, then run
 * each vCPU until the guest reports ready (its harness pages are faulted
 * in; the test region is untouched). Returns 0 and *@out, or a negative
 * ABVM_E* code with a message in @err.
 */
int abvm_create(const struct abvm_config *cfg, struct abvm **out, char *err, size_t errlen);
/* Stop all vCPUs (abvm_stop), join the threads, close every fd, unmap,
 * remove the backing file. NULL is fine. */
void abvm_destroy(struct abvm *vm);

/* ---- geometry and handles ---- */
int abvm_nr_vcpus(const struct abvm *vm);
int abvm_kvm_fd(const struct abvm *vm);
int abvm_vm_fd(const struct abvm *vm); /* debugfs dir: abvm_debugfs_dir() */
int abvm_vcpu_fd(const struct abvm *vm, int vcpu);
/* Test region: host virtual address, guest physical base, first GFN,
 * number of 4 KiB pages, bytes. GVA == GPA inside the guest. */
void *abvm_hva(const struct abvm *vm);
uint64_t abvm_gpa_base(const struct abvm *vm);
uint64_t abvm_gfn_base(const struct abvm *vm);
uint64_t abvm_npages(const struct abvm *vm);
uint64_t abvm_mem_bytes(const struct abvm *vm);
enum abvm_backing abvm_backing(const struct abvm *vm);
/* KVM memslot id of the test region (for KVM_GET_DIRTY_LOG etc.). */
int abvm_region_slot(const struct abvm *vm);
/* vCPU @vcpu's partition: region page indices [*first, *first + *n). */
void abvm_vcpu_range(const struct abvm *vm, int vcpu, uint64_t *first, uint64_t *n);
/* Kernel thread id of the vCPU thread (valid after abvm_create). */
pid_t abvm_vcpu_tid(const struct abvm *vm, int vcpu);
/* "/sys/kernel/debug/kvm/<tid>-<vm_fd>" into @buf; returns @buf. KVM uses
 * task_pid_nr(current) of the thread that created the VM: the process id
 * only if that was the main thread. Use this, not getpid(). */
char *abvm_debugfs_dir(const struct abvm *vm, char *buf, size_t len);
/* Guest TSC rate used to convert guest rdtsc deltas (KVM_GET_TSC_KHZ). */
uint64_t abvm_tsc_khz(const struct abvm *vm);

/* ---- commands ---- */
enum abvm_op { ABVM_OP_WRITE = 0, ABVM_OP_READ = 1 };
enum abvm_order {
	ABVM_ORDER_SEQ = 0,	/* ascending page order */
	ABVM_ORDER_RANDOM = 1,	/* every page once per pass, a fresh pseudo-random
				 * permutation each pass (seed, pass) */
	ABVM_ORDER_HOTCOLD = 2, /* ascending; hot pages every pass, cold pages
				 * only every cold_every-th pass (see below) */
};

struct abvm_work {
	enum abvm_op op;
	enum abvm_order order;
	/* Number of passes; 0 = until abvm_stop(). */
	uint64_t passes;
	/* RANDOM permutation and HOTCOLD hot-set seed. */
	uint64_t seed;
	/* HOTCOLD: page p (region index) is hot iff abvm_page_is_hot(seed, p,
	 * hot_pct); cold pages are touched in passes where pass %
	 * cold_every == 0 (pass counted from 0 within this command); 0 = never. */
	uint32_t hot_pct;
	uint32_t cold_every;
	/* rdtsc around every access (needs cfg.latency): the per-access
	 * latency goes into the vCPU's histogram (abvm_vcpu_hist), in ns.
	 * Meant for fault-latency passes (e.g. the first pass over untouched
	 * memory); it costs ~2 rdtsc per access and host work per pass. */
	bool record_latency;
};
void abvm_work_init(struct abvm_work *w); /* write, seq, 1 pass */

/* True iff region page @page is in the hot set of (@seed, @hot_pct). */
bool abvm_page_is_hot(uint64_t seed, uint64_t page, uint32_t hot_pct);

/*
 * Start @w on every vCPU (each on its own partition) / on one vCPU.
 * Returns at once; ABVM_EBUSY if a target vCPU is still running.
 */
int abvm_start(struct abvm *vm, const struct abvm_work *w);
int abvm_vcpu_start(struct abvm *vm, int vcpu, const struct abvm_work *w);
/*
 * Touch exactly the pages set in @bitmap (bit i of word i/64 = region page
 * i; the bitmap covers the whole region: abvm_npages() bits) once, with
 * @op. abvm_touch() splits the work: each vCPU touches the set pages of its
 * own partition; abvm_vcpu_touch() makes one vCPU touch every set page of
 * the region. The bitmap is copied into guest memory; returns at once.
 */
int abvm_touch(struct abvm *vm, const uint64_t *bitmap, enum abvm_op op);
int abvm_vcpu_touch(struct abvm *vm, int vcpu, const uint64_t *bitmap, enum abvm_op op);
/* Same, for a list of @n region page indices (duplicates touched once). */
int abvm_touch_list(struct abvm *vm, const uint64_t *pages, size_t n, enum abvm_op op);

/* Ask every vCPU to end its command at the next check (the guest polls
 * a stop flag every 64 pages and at every pass end), then wait. */
int abvm_stop(struct abvm *vm);
/* Wait until every vCPU / one vCPU finished its command. @timeout_ns 0 =
 * forever. Returns 0, ABVM_ETIMEDOUT, or ABVM_EGUEST if a vCPU failed
 * (message: abvm_last_error). */
int abvm_wait(struct abvm *vm, uint64_t timeout_ns);
int abvm_vcpu_wait(struct abvm *vm, int vcpu, uint64_t timeout_ns);
/* Convenience: abvm_start(w) + abvm_wait(0). */
int abvm_run(struct abvm *vm, const struct abvm_work *w);
/* Last failure message of this VM (guest crash, ioctl failure), or "". */
const char *abvm_last_error(const struct abvm *vm);

/*
 * Fault the test region in before a measurement, while every vCPU is idle:
 *   ABVM_PREFAULT_HOST: host page tables (MADV_POPULATE_WRITE), so that
 *     guest faults no longer include the host page fault;
 *   ABVM_PREFAULT_KVM: (implies HOST) KVM's mappings, with KVM_PRE_FAULT_MEMORY where the
 *     kernel supports it (6.10+, TDP MMU), else with one guest WRITE pass
 *     (which stores ABVM_WRITE_MARK in every page, like abvm_run would).
 * Returns the flags done, plus ABVM_PREFAULT_USED_IOCTL if
 * KVM_PRE_FAULT_MEMORY did the KVM part, or a negative ABVM_E* code.
 * Counters (passes, accesses) include the fallback guest pass.
 */
enum {
	ABVM_PREFAULT_HOST = 1,
	ABVM_PREFAULT_KVM = 2,
	ABVM_PREFAULT_USED_IOCTL = 4,
};
int abvm_prefault(struct abvm *vm, unsigned int flags);

/* ---- counters ---- */
struct abvm_vcpu_stats {
	uint64_t passes;      /* passes completed, cumulative (guest-written) */
	uint64_t accesses;    /* page accesses, cumulative (guest-written; the
			       * guest publishes every 64 pages and at pass end) */
	uint64_t exits_io;    /* KVM_EXIT_IO exits (sync points) */
	uint64_t exits_other; /* any other exit (should be 0) */
	uint64_t commands;    /* commands completed */
	uint64_t run_ns;      /* host wall time spent in commands, cumulative */
	uint64_t last_cmd_ns; /* wall time of the last completed command */
	uint64_t read_sum;    /* sum of the u64 values read by READ accesses */
};
void abvm_vcpu_stats(const struct abvm *vm, int vcpu, struct abvm_vcpu_stats *st);
/* Sum over vCPUs (last_cmd_ns: the max). */
void abvm_stats_total(const struct abvm *vm, struct abvm_vcpu_stats *st);
/* Per-vCPU access latency histogram (ns) fed by record_latency passes.
 * Owned by the VM; read it while the vCPU is idle. */
const struct ab_hist *abvm_vcpu_hist(const struct abvm *vm, int vcpu);
void abvm_hist_reset(struct abvm *vm);

/* ---- extra memslots (memslot churn for stress tests) ---- */
/* Add an anonymous memslot of @bytes (multiple of 4 KiB, <= 4 GiB) at a free GPA
 * above the test region; not mapped in the guest page tables. Returns the
 * slot id (>= 0) or a negative ABVM_E* code. */
int abvm_slot_add(struct abvm *vm, uint64_t bytes, char *err, size_t errlen);
/* Delete (KVM_SET_USER_MEMORY_REGION size 0) and unmap an extra slot. */
int abvm_slot_del(struct abvm *vm, int slot);

/* ---- dirty log (cfg.dirty_log) ---- */
/* KVM_GET_DIRTY_LOG of the test region into @bitmap (abvm_npages() bits,
 * region page indices). Fetching clears KVM's log. */
int abvm_get_dirty_log(struct abvm *vm, uint64_t *bitmap);

/* ---- KVM binary stats (KVM_GET_STATS_FD) ---- */
struct abvm_kstats;
/* Open the binary stats of the VM (vcpu < 0) or of one vCPU. NULL if the
 * kernel has no KVM_GET_STATS_FD. */
struct abvm_kstats *abvm_kstats_open(struct abvm *vm, int vcpu);
void abvm_kstats_close(struct abvm_kstats *s);
/* Read the first value of stat @name ("age_calls", ...). 0, or -1 if the
 * stat does not exist. */
int abvm_kstats_get(struct abvm_kstats *s, const char *name, uint64_t *val);
/* Names of all stats, NULL-terminated (owned by @s). */
const char *const *abvm_kstats_names(struct abvm_kstats *s);

/* ---- host-side helpers ---- */
/* MemAvailable from /proc/meminfo in bytes, or 0 if unknown. */
uint64_t abvm_mem_available(void);
/* Whether THP can back a MADV_HUGEPAGE mapping ("always" or "madvise"),
 * with the reason when not. */
bool abvm_thp_usable(const char **why);
/* vcpu_thread_init hook that calls ab_pin_self(1 + vcpu) (role 0 is the
 * walker). Lives in its own object so users that do not pin do not pull
 * in hwloc. */
void abvm_pin_vcpu_hook(int vcpu, void *arg);

/* ---- teardown registry (async-signal-safe) ---- */
/*
 * Entries are run in reverse registration order by abvm_teardown_run(),
 * at exit and from common's SIGINT/SIGTERM/SIGHUP handler (ab_cleanup_*,
 * which exits 128+signo afterwards). abvm_teardown_install() makes sure
 * those handlers are installed (adding an entry does too). Up to 64
 * entries; paths up to 256 bytes.
 *   FILE:   unlink(path)
 *   DIR:    rmdir(path)
 *   CGROUP: write our pid into @aux ("<parent>/cgroup.procs"), then
 *           rmdir(path) (the cgroup must hold no other task)
 * Returns a handle >= 0 or -1 (full / too long).
 */
enum abvm_td_kind { ABVM_TD_FILE, ABVM_TD_DIR, ABVM_TD_CGROUP };
int abvm_teardown_install(void);
int abvm_teardown_add(enum abvm_td_kind kind, const char *path, const char *aux);
/* Forget an entry (after the caller cleaned it up itself). */
void abvm_teardown_forget(int handle);
/* Run (and forget) all entries now. */
void abvm_teardown_run(void);

#ifdef __cplusplus
}
#endif

#endif /* ABVM_H */
