/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ab_macro.h - `agebench macro`: reclaim cost and outcome with VMs under
 * memory pressure, per kvm.mmu_age_mode (docs/macrobench.md).
 */
#ifndef AB_MACRO_H
#define AB_MACRO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The sub-command (src/main.c dispatches `agebench macro` here). */
int ab_macro_main(int argc, char **argv);

/* ---- internals shared by the phase files (macro_priv.h lists them) ---- */

#define AB_MACRO_MAX_VMS 16

/* "key value" lines (memory.stat, /proc/vmstat, KVM stats). */
struct ab_kv {
	char k[56];
	uint64_t v;
};
struct ab_kvset {
	int n;
	struct ab_kv e[320];
};
void ab_kvset_clear(struct ab_kvset *s);
int ab_kvset_read(struct ab_kvset *s, const char *path, const char *prefix); /* 0 / -errno */
void ab_kvset_put(struct ab_kvset *s, const char *k, uint64_t v);
bool ab_kvset_get(const struct ab_kvset *s, const char *k, uint64_t *v);
/* @d = @b - @a (keys of @b; counters that went backwards give 0). */
void ab_kvset_delta(const struct ab_kvset *a, const struct ab_kvset *b, struct ab_kvset *d);
/* @d += @s, key by key. */
void ab_kvset_add(struct ab_kvset *d, const struct ab_kvset *s);

/* Where the cgroups live. */
struct ab_macro_hier {
	int mem_version;      /* memory controller: 1 or 2 */
	char mem_parent[512]; /* our memory cgroup (children are created here) */
	char v2_parent[512];  /* our cgroup v2 directory (PSI, cpu.stat), "" if none */
};
/* 0, or -errno with a message (no memory controller, no permission). */
int ab_macro_hier_probe(struct ab_macro_hier *h, char *msg, size_t len);

/* One VM's cgroups (memory, and v2 for PSI/cpu.stat where separate). */
struct ab_macro_cg {
	char mem[600];
	char v2[600]; /* may equal mem (pure v2) or be "" */
	uint64_t limit;
};
/* Create both, set the limit (0 = none) and read it back. */
int ab_macro_cg_create(const struct ab_macro_hier *h, struct ab_macro_cg *cg, uint64_t limit,
		       char *msg, size_t len);
/* Move task @pid into the cgroups (from the parent, before the child runs). */
int ab_macro_cg_attach(const struct ab_macro_cg *cg, pid_t pid, char *msg, size_t len);
/* cgroup v1 memory cgroup @mem: the v2 (unified) cgroup of its first task,
 * for PSI and cpu.stat; "" when it has no task or there is no v2 mount. */
void ab_macro_v2_of(const char *mem, char *v2, size_t len);
/* Remove empty agebench-macro-<pid>-* cgroups of processes that are gone. */
void ab_macro_reap_stale(const struct ab_macro_hier *h);

/* Everything read at the start and at the end of a measured phase. */
struct ab_macro_snap {
	struct ab_kvset vmstat;
	struct ab_kvset memcg[AB_MACRO_MAX_VMS]; /* memory.stat + events, per VM cgroup */
	uint64_t kswapd_ticks;			 /* all kswapd threads, utime+stime */
	uint64_t psi_some_us[AB_MACRO_MAX_VMS], psi_full_us[AB_MACRO_MAX_VMS];
	uint64_t cpu_user_us[AB_MACRO_MAX_VMS], cpu_sys_us[AB_MACRO_MAX_VMS];
	bool have_psi, have_cpu;
	uint64_t lru_gen_seq[AB_MACRO_MAX_VMS]; /* sum over nodes of max_seq, 0 = unknown */
	uint64_t t_ns;
};
void ab_macro_snap(struct ab_macro_snap *s, const struct ab_macro_cg *cgs, int n, int mem_version);
/* Kernel thread ids of kswapd (found once). */
void ab_macro_kswapd_init(void);
/* The section of /sys/kernel/debug/lru_gen_full for memory cgroup @mem
 * (generations, per-tier stats, mm walk stats), malloc'd, or NULL. */
char *ab_macro_lru_gen_full(const char *mem);
bool ab_macro_lru_gen_enabled(char *desc, size_t len);

/* Swap on zram (lab guest): 0 / -errno with a message. */
int ab_macro_zram_setup(uint64_t bytes, char *dev, size_t devlen, char *msg, size_t len);
void ab_macro_zram_teardown(const char *dev);
/* Total swap configured (SwapTotal), bytes. */
uint64_t ab_macro_swap_total(void);

#endif
