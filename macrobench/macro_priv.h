// SPDX-License-Identifier: GPL-2.0
/*
 * macro_priv.h - what the phases of `agebench macro` share: the options, the
 * repetitions and their counters, the messages between a VM child and the
 * parent, and one function list per phase file:
 *   macro.c         the run: pre-flight, output directory, plan, context, loop
 *   macro_opts.c    options and usage (checked before the environment)
 *   macro_cgroup.c  cgroup setup (the hierarchy, one VM's cgroups)
 *   macro_zram.c    swap on zram
 *   macro_guest.c   the VM child: the synthetic guest, the mgmt workload
 *   macro_drivers.c one repetition: VMs in cgroups, the cgroup workload
 *   macro_sample.c  sampling: kernel statistics before/after, counters
 *   macro_stats.c   statistics and results: medians, Kruskal-Wallis, JSON
 */
#ifndef AB_MACRO_PRIV_H
#define AB_MACRO_PRIV_H

#include "ab_macro.h"
#include "ab_common.h"
#include "ab_kvm.h"
#include "ab_schema.h"
#include "ab_shim.h"
#include "ab_vm.h"
#include "ab_vm_age.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#define HARNESS_SLACK (16ull << 20) /* allowance for the VM process itself */
#define MAX_REPS      1024
#define MAX_CTRS      40

enum workload { WL_SYNTH, WL_MGMT, WL_CGROUP };
extern const char *const mac_wl_names[3];

struct macro_opts {
	enum workload wl;
	const char *mode_arg;
	int vms, vcpus, reps, limit_pct, hot_pct, cold_every, zram_mib, reclaim_ms;
	int nested_pct; /* --nested: % of each VM's pages its L3 touches (docs/nested.md) */
	uint64_t mib, ops;
	double seconds;
	uint64_t seed;
	int backing; /* -1 = auto */
	const char *out, *file_dir, *cgroup, *mgmt;
	bool quick, verbose, quiet, assert_pipeline;
};

struct ctr {
	const char *name;
	double v;
};

struct rep {
	int mode, rep, bench, order;
	bool ok;
	char err[800];
	double wall_s, fill_s;
	int nc;
	struct ctr c[MAX_CTRS];
	json_t *raw;
};

struct bench {
	char name[192];
	int mode, next;
	int idx[MAX_REPS / 4];
	int n;
};

/* The run's state (macro.c owns it). */
extern struct macro_opts mopt;
extern const char *mac_modes[AB_MODE_NR];
extern int mac_nmodes;
extern bool mac_patched;
extern struct ab_macro_hier mac_hier;
extern struct rep mac_reps[MAX_REPS];
extern int mac_nreps;
extern struct bench mac_benches[AB_MODE_NR];
extern char mac_lru_desc[160];
extern char mac_zram_dev[64];
extern char mac_out_dir[512];

/* ---- messages between a VM child and the parent ------------------------- */

enum { MSG_READY = 1, MSG_RESULT, MSG_ERROR };
struct msg {
	int type;
	char err[300];
	uint64_t fill_ns, phase_ns, ops, passes;
	uint64_t user_us, sys_us;
	struct ab_hist hist;
	struct ab_kvset kvm; /* KVM stat deltas: VM stats, then "vcpu.<name>" summed */
};

/* macro_opts.c */
void mac_usage(FILE *f);
int mac_bad(const char *flag, const char *arg, const char *why);
int mac_parse(int argc, char **argv);
void mac_probe_modes(void);
int mac_select_modes(const char *arg);
void mac_size_defaults(void);
int mac_check_paths(void);  /* usage errors in --out, --file-dir, --mgmt (2) */
int mac_check_nested(void); /* --nested where it cannot apply or run (2) */

/* macro_guest.c */
int mac_write_full(int fd, const void *buf, size_t n);
int mac_read_full(int fd, void *buf, size_t n, uint64_t deadline);
__attribute__((noreturn)) void mac_child_synthetic(int vm, int rfd, int wfd);
__attribute__((noreturn)) void mac_child_mgmt(int rfd, const char *log);

/* macro_sample.c */
void mac_put(struct rep *r, const char *name, double v);
bool mac_get(const struct rep *r, const char *name, double *v);
json_t *mac_kv_json(const struct ab_kvset *s);
void mac_snap_counters(struct rep *r, const struct ab_macro_snap *a, const struct ab_macro_snap *b,
		       int n);
void mac_kvm_counters(struct rep *r, const struct ab_kvset *k, const struct msg *msgs, int n);

/* macro_drivers.c */
bool mac_set_mode(const char *mode, char *err, size_t len);
void mac_run_rep_vms(struct rep *r);
void mac_run_rep_cgroup(struct rep *r);

/* macro_stats.c */
void mac_replay(ab_state *st, void *arg);
int mac_mode_stats(int m, const char *name, double *med, double *lo, double *hi);
int mac_kruskal_wallis(const char *name, double *h, double *p);
struct finish_arg {
	int argc;
	char **argv;
};
int mac_finish_json(json_t *root, json_t *ab, void *argp);
int mac_write_raw(void);
void mac_copy_macro_json(const char *results);
int mac_assert_pipeline(void);

#endif
