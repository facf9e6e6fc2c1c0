/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ab_kvm.h - internals of the kvm backend: filesystem roots, file helpers,
 * memcg helpers and the aging-driver interface.
 */
#ifndef AB_KVM_H
#define AB_KVM_H

#include "ab_common.h" /* the cleanup registry, ab_cleanup_*() */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * Every kernel file the backend touches (/dev/kvm, /sys, /proc,
 * /sys/kernel/debug, cgroup mounts) is looked up under this prefix, taken
 * from $AGEBENCH_KVM_FSROOT (default: empty, i.e. the real root). The
 * detection tests point it at fake trees to exercise absent/no-permission.
 */
const char *ab_kvm_root(void);
/* Format root + path into @buf. Returns @buf. */
char *ab_kvm_path(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Small file helpers (paths already rooted). Return 0 / -errno. */
int ab_kvm_write_str(const char *path, const char *s);
int ab_kvm_read_str(const char *path, char *buf, size_t len); /* trims trailing newline */
int ab_kvm_read_u64_key(const char *path, const char *key, uint64_t *val); /* "key value" lines */

/* Cleanup (parameters, memcgs, files): common's registry, ab_cleanup_*(). */

/*
 * Memory cgroup of the harness (v2, or v1 "memory" hierarchy). The cgroup is
 * created as a child of the cgroup the process is in, so any limit the caller
 * is under still applies.
 */
struct ab_kvm_memcg {
	int version;	  /* 1 or 2 */
	char mount[256];  /* memory hierarchy mount point (rooted) */
	char parent[512]; /* our original cgroup directory */
	char dir[560];	  /* the cgroup we created */
	int undo_mark;
};
/*
 * Locate the memory hierarchy and our cgroup; 0, -ENOENT (no memory
 * controller) or -EACCES/-EPERM (cannot create a child). @msg explains.
 */
int ab_kvm_memcg_probe(struct ab_kvm_memcg *m, char *msg, size_t len);
/* Create "agebench-<pid>-<n>", move the whole process into it. */
int ab_kvm_memcg_enter(struct ab_kvm_memcg *m, char *msg, size_t len);
/* Move back to the parent and remove the cgroup. */
void ab_kvm_memcg_leave(struct ab_kvm_memcg *m);
/* Ask the kernel to reclaim @bytes from the cgroup (v2 memory.reclaim, v1 limit squeeze). */
int ab_kvm_memcg_reclaim(struct ab_kvm_memcg *m, uint64_t bytes);
int ab_kvm_memcg_stat(struct ab_kvm_memcg *m, const char *key, uint64_t *val);
/* memcg id for /sys/kernel/debug/lru_gen (looked up by path there), or -1. */
int ab_kvm_memcg_lru_gen_id(struct ab_kvm_memcg *m);

/* ---- aging drivers ------------------------------------------------- */

enum ab_kvm_presence { AB_KVM_PRESENT, AB_KVM_ABSENT, AB_KVM_NOPERM };

/* What the benchmark hands a driver: one VM's guest memory. */
struct abvm;
struct ab_kvm_target {
	struct abvm *vm;
	int vm_fd;
	void *hva; /* host mapping of guest memory */
	uint64_t bytes;
	uint64_t gpa; /* guest physical base of that memory */
	bool file_backed;
};

struct ab_kvm_age_res {
	uint64_t pages;	       /* pages the call examined */
	uint64_t young;	       /* pages reported young */
	uint64_t ns;	       /* wall time of the call */
	uint64_t lock_wait_ns; /* hook only (KVM stats) */
	uint64_t declines;     /* hook only: declined notifier calls */
	uint64_t calls;	       /* hook only: notifier calls (has_calls) */
	uint64_t evicted;      /* reclaim: pages of the range evicted by the call */
	uint64_t refaults;     /* reclaim: file refaults in the memcg since the last call */
	bool has_lock_wait, has_declines, has_refaults, has_calls;
	bool has_young; /* young is known (always, except reclaim without stats) */
	bool declined;	/* fast_only/bitmap declined: no answer */
};

struct ab_kvm_drv;
struct ab_kvm_driver {
	const char *name;
	/* Can this driver run here? @msg gets the reason either way. */
	enum ab_kvm_presence (*detect)(char *msg, size_t len);
	bool per_mode;		 /* times the four walker modes itself (hook) */
	bool per_page;		 /* age() fills a per-page young bitmap */
	bool young_inexact;	 /* per-page "young" may include unscanned pages */
	bool untracked_baseline; /* pages "young" right after a clear are untrackable */
	/* "young" also reflects the host's own page tables and whole folios (page_idle):
	 * an untouched page reported young is counted (false_young), not a bug */
	bool young_host_view;
	bool needs_file;  /* only file-backed guests can be aged */
	bool needs_memcg; /* the process must be in a memcg before populating */
	/* Called before guest memory is populated (memcg setup). */
	int (*setup)(struct ab_kvm_drv *d, char *msg, size_t len);
	/* Called once the VM exists. */
	int (*prepare)(struct ab_kvm_drv *d, const struct ab_kvm_target *t, char *msg, size_t len);
	/*
	 * Age [first, first+npages) pages of the target; @clear: clear young
	 * (else only test). @mode: walker mode for per_mode drivers (else NULL).
	 * @young_bits (may be NULL): one bit per page, set = young.
	 */
	int (*age)(struct ab_kvm_drv *d, const char *mode, uint64_t first, uint64_t npages,
		   bool clear, struct ab_kvm_age_res *res, uint64_t *young_bits);
	void (*cleanup)(struct ab_kvm_drv *d);
};

/* Per-run driver state (drivers keep theirs behind priv). */
struct ab_kvm_drv {
	const struct ab_kvm_driver *ops;
	struct ab_kvm_target t;
	struct ab_kvm_memcg memcg;
	bool in_memcg;
	uint64_t budget; /* reclaim: pages to ask for per call (0 = npages) */
	uint64_t batch;	 /* per_mode (hook): pages per notifier call (0 = whole range) */
	char err[512];	 /* age(): what went wrong, when it says more than errno */
	void *priv;
};

/*
 * Shared detection/setup steps of the drivers: a kernel file that must be
 * accessible with @amode (access(2) modes), with the hints shown when it is
 * missing or not permitted; the memcg drivers' setup (probe + enter) and
 * presence.
 */
#define DEBUGFS_HINT "mount debugfs: mount -t debugfs none /sys/kernel/debug"
enum ab_kvm_presence ab_kvm_probe_file(const char *path, int amode, const char *absent_hint,
				       const char *perm_hint, char *msg, size_t len);
int ab_kvm_memcg_setup(struct ab_kvm_drv *d, char *msg, size_t len);
enum ab_kvm_presence ab_kvm_memcg_presence(char *msg, size_t len);

extern const struct ab_kvm_driver ab_kvm_drv_hook, ab_kvm_drv_page_idle, ab_kvm_drv_lru_gen,
    ab_kvm_drv_reclaim;
/* In auto-detection order. NULL-terminated. */
extern const struct ab_kvm_driver *const ab_kvm_drivers[];
const struct ab_kvm_driver *ab_kvm_driver_by_name(const char *name);

/* kvm.mmu_age_mode: 1 and the current value in @cur if the parameter exists. */
bool ab_kvm_mode_param(char *cur, size_t len);
/* Set it (undo registered to restore the original). 0 / -errno. */
int ab_kvm_mode_set(const char *mode);

/* /dev/kvm pre-flight: 0, or -errno with @msg. */
int ab_kvm_dev_kvm_check(char *msg, size_t len);

#endif
