/* SPDX-License-Identifier: GPL-2.0 */
/* ab_common.h - small shared pieces of agebench userspace (libabcommon). */
#ifndef AB_COMMON_H
#define AB_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#define AB_EXIT_OK    0
#define AB_EXIT_FAIL  1
#define AB_EXIT_USAGE 2
#define AB_EXIT_SKIP  77

/* Monotonic time in ns. */
static inline uint64_t ab_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Deterministic pseudo-random numbers (xorshift64*); *s must not be 0. */
static inline uint64_t ab_rng_next(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1Dull;
}

/* Print "agebench: <msg>" to stderr. */
void ab_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print "agebench: <msg>" to stderr and exit(code). */
__attribute__((noreturn)) void ab_die(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Write @len bytes to @path atomically: to "<path>.tmp.<pid>", fsync, rename.
 * On failure nothing is left behind; returns 0 or -errno.
 */
int ab_write_atomic(const char *path, const void *buf, size_t len);
/* Temp name used by ab_write_atomic() for @path (static buffer per thread). */
const char *ab_tmp_path(const char *path);
/*
 * Parse a non-negative size: a number (decimal, 0x hex or 0 octal) with an
 * optional binary unit k/K, m/M, g/G, t/T, optionally followed by "i" and
 * "B" ("64M", "64MiB", "2g"). Returns 0, or -1 on junk or overflow.
 */
int ab_parse_size(const char *s, uint64_t *out);
/*
 * A comma list of page counts (1 .. 2^30; "all" = 0 when @all_ok) into
 * @out (at most @max). Returns how many, or -1 with @err naming @what and
 * the bad item.
 */
int ab_parse_count_list(const char *what, const char *s, bool all_ok, int64_t *out, int max,
			char *err, size_t errlen);
/* mkdir -p; returns 0 or -errno. */
int ab_mkdir_p(const char *path);
/* Read a whole (small) file into a malloc'd NUL-terminated buffer, or NULL. */
char *ab_read_file(const char *path, size_t *len);

/*
 * Log-bucket latency histogram: 64 power-of-two buckets each split into 16
 * linear sub-buckets (relative error < 6.25%), plus exact min/max/count/sum.
 * Recording is wait-free for a single writer; merge per-thread histograms.
 */
#define AB_HIST_SUB	16
#define AB_HIST_BUCKETS (64 * AB_HIST_SUB)
struct ab_hist {
	uint64_t count, sum, min, max;
	uint64_t b[AB_HIST_BUCKETS];
};
void ab_hist_init(struct ab_hist *h);
void ab_hist_record(struct ab_hist *h, uint64_t v);
void ab_hist_merge(struct ab_hist *dst, const struct ab_hist *src);
/* Value at quantile q in [0,1]: rank floor(q*count), interpolated inside its
 * bucket (not its upper edge), clamped to [min, max]. */
uint64_t ab_hist_quantile(const struct ab_hist *h, double q);

/*
 * CPU placement with hwloc. ab_topo_init() loads the topology once.
 * Role 0 is the aging walker: the first PU of the first core, and that
 * core's other PUs (SMT siblings) get no vCPU, so the walker has a core of
 * its own. Roles 1..n are vCPU threads: one PU each, on the other cores
 * (first PU of every core, then the second ...); beyond
 * ab_place_vcpu_capacity() they wrap (oversubscribed: callers refuse or
 * mark that). Helper threads (invalidator, RCU callbacks) go to the first
 * PU left free by the walker and n vCPUs, else a sibling of the walker,
 * else the walker's PU (they sleep most of the time). A machine with one
 * core: the walker on PU0, vCPUs on the other PUs.
 */
#define AB_ROLE_HELPER (-2)
int ab_topo_init(void);
int ab_topo_nr_pus(void); /* processing units we may run on */
int ab_topo_nr_cores(void);
/* One-line topology summary, e.g. "1 package, 2 cores, 2 PUs (Intel ...)". */
const char *ab_topo_summary(void);
void ab_pin_enable(bool on); /* default on; --no-pin turns it off */
bool ab_pin_enabled(void);
/* vCPU threads that fit beside the walker without sharing a PU (>= 0). */
int ab_place_vcpu_capacity(void);
/* OS index of the PU of @role (AB_ROLE_HELPER: with @nvcpus vCPUs), or -1. */
int ab_place_pu(int role, int nvcpus);
/* Pin the calling thread for @role; returns the PU index or -1 (not pinned). */
int ab_pin_self(int role);
/* Pin the calling thread / thread @t as a helper beside @nvcpus vCPUs. */
int ab_pin_helper_self(int nvcpus);
int ab_pin_helper_thread(pthread_t t, int nvcpus);
/* Placement "walker:PU0 vcpu0:PU1 ... helpers:PU0" for @nroles roles
 * (walker + nroles-1 vCPUs), "(oversubscribed)" appended when they do not fit. */
void ab_pin_describe(int nroles, char *buf, size_t len);

/*
 * Hardware counters through libperf. ab_perf_available() probes once;
 * when perf_event_open is refused or unsupported the reason is given and
 * callers must omit counters (never report zeros).
 */
bool ab_perf_available(const char **reason);
struct ab_perf;			     /* per-thread counting session: instructions + cycles */
struct ab_perf *ab_perf_start(void); /* NULL if unavailable */
/* Stop and read; returns 0 and fills @instr/@cycles, or -1. Frees @p. */
int ab_perf_stop(struct ab_perf *p, uint64_t *instr, uint64_t *cycles);

/*
 * The cleanup registry: the one place for what must not outlive the process
 * (sysfs/module parameters we changed, cgroups, temp and backing files,
 * child processes, VMs). Entries are undone newest first at exit() and on
 * SIGINT/SIGTERM/SIGHUP (the handler undoes them, then exits 128+signo);
 * only in the process that registered them (not in a forked child that
 * calls exit()). Every action must be async-signal-safe: the built-in kinds
 * are; an AB_CLEANUP_FN function must be too (close, unlink, rmdir, munmap,
 * write). Each call returns a handle >= 0, or -1 (registry full, path too
 * long, missing @aux).
 */
enum ab_cleanup_kind {
	AB_CLEANUP_FN,	   /* fn(arg): ab_cleanup_push() */
	AB_CLEANUP_FILE,   /* unlink(path) */
	AB_CLEANUP_DIR,	   /* rmdir(path), retried for a moment while EBUSY */
	AB_CLEANUP_CGROUP, /* write our pid to aux (parent's cgroup.procs), then rmdir(path) */
	AB_CLEANUP_WRITE,  /* write aux to path: restore a parameter */
	AB_CLEANUP_CHILD,  /* kill(pid, SIGKILL) and reap: ab_cleanup_add_child() */
};
typedef void (*ab_cleanup_fn)(void *arg);
int ab_cleanup_push(ab_cleanup_fn fn, void *arg);
int ab_cleanup_add(enum ab_cleanup_kind kind, const char *path, const char *aux);
int ab_cleanup_add_child(pid_t pid);
void ab_cleanup_pop(int handle); /* forget it (the resource is gone or handed on) */
void ab_cleanup_run(int handle); /* undo it now, then forget it */
/* Undo everything registered after ab_cleanup_mark() returned @mark. */
int ab_cleanup_mark(void);
void ab_cleanup_to(int mark);
/* Install the exit and signal handlers now (the first entry does it too):
 * call early where a signal must already exit through the registry. */
void ab_cleanup_install(void);

/*
 * Google Benchmark writes non-finite numbers as bare NaN / inf tokens (e.g.
 * the "cv" aggregate of a counter that is always 0), which is not JSON.
 * Return a malloc'd copy of @buf with such tokens outside strings replaced by
 * null (a null counter counts as not measured). *@replaced (optional) gets
 * the number of tokens replaced.
 */
char *ab_json_sanitize(const char *buf, size_t len, size_t *outlen, size_t *replaced);

/* Kernel release (uname -r). */
const char *ab_kernel_release(void);
/* "bare metal", "virtual machine (QEMU: ...)" or "virtual machine (<vendor>)": from
 * the CPU's hypervisor flag and DMI (the answer page's trust level). */
const char *ab_platform(void);

#endif /* AB_COMMON_H */
