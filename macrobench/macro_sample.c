// SPDX-License-Identifier: GPL-2.0
/*
 * macro_sample.c - sampling for `agebench macro`: key/value sets (memory.stat,
 * /proc/vmstat, KVM stats), everything read right before and right after the
 * measured phase (kswapd CPU, PSI, cpu.stat, MGLRU generations), and the
 * counters of a repetition made from two snapshots.
 */
#define _GNU_SOURCE
#include "macro_priv.h"

#include <ctype.h>
#include <dirent.h>
#include <math.h>

void ab_kvset_clear(struct ab_kvset *s)
{
	s->n = 0;
}

void ab_kvset_put(struct ab_kvset *s, const char *k, uint64_t v)
{
	for (int i = 0; i < s->n; i++)
		if (!strcmp(s->e[i].k, k)) {
			s->e[i].v = v;
			return;
		}
	if (s->n >= (int)(sizeof(s->e) / sizeof(s->e[0])))
		return;
	snprintf(s->e[s->n].k, sizeof(s->e[0].k), "%s", k);
	s->e[s->n++].v = v;
}

bool ab_kvset_get(const struct ab_kvset *s, const char *k, uint64_t *v)
{
	for (int i = 0; i < s->n; i++)
		if (!strcmp(s->e[i].k, k)) {
			*v = s->e[i].v;
			return true;
		}
	return false;
}

int ab_kvset_read(struct ab_kvset *s, const char *path, const char *prefix)
{
	FILE *f = fopen(path, "re");
	char line[256], key[64], full[128];
	unsigned long long v;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%63s %llu", key, &v) == 2) {
			snprintf(full, sizeof(full), "%s%s", prefix ? prefix : "", key);
			ab_kvset_put(s, full, v);
		}
	fclose(f);
	return 0;
}

void ab_kvset_delta(const struct ab_kvset *a, const struct ab_kvset *b, struct ab_kvset *d)
{
	ab_kvset_clear(d);
	for (int i = 0; i < b->n; i++) {
		uint64_t old = 0;

		ab_kvset_get(a, b->e[i].k, &old);
		ab_kvset_put(d, b->e[i].k, b->e[i].v >= old ? b->e[i].v - old : 0);
	}
}

void ab_kvset_add(struct ab_kvset *d, const struct ab_kvset *s)
{
	for (int i = 0; i < s->n; i++) {
		uint64_t v = 0;

		ab_kvset_get(d, s->e[i].k, &v);
		ab_kvset_put(d, s->e[i].k, v + s->e[i].v);
	}
}

/* ---- cgroups ------------------------------------------------------------ */

/* Where cgroup2 is mounted (from /proc/self/mountinfo); "" if nowhere. */
/* ---- statistics --------------------------------------------------------- */

static pid_t kswapd[64];
static int nkswapd;

void ab_macro_kswapd_init(void)
{
	DIR *d = opendir("/proc");
	struct dirent *e;

	nkswapd = 0;
	if (!d)
		return;
	while ((e = readdir(d)) && nkswapd < 64) {
		char p[300], comm[64];

		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		snprintf(p, sizeof(p), "/proc/%s/comm", e->d_name);
		if (!ab_kvm_read_str(p, comm, sizeof(comm)) && !strncmp(comm, "kswapd", 6))
			kswapd[nkswapd++] = atoi(e->d_name);
	}
	closedir(d);
}

static uint64_t kswapd_ticks(void)
{
	uint64_t sum = 0;

	for (int i = 0; i < nkswapd; i++) {
		char p[64], buf[1024];
		unsigned long long ut, st;

		snprintf(p, sizeof(p), "/proc/%d/stat", (int)kswapd[i]);
		if (ab_kvm_read_str(p, buf, sizeof(buf)))
			continue;
		char *c = strrchr(buf, ')');
		/* after ") ": state(3) ppid pgrp session tty tpgid flags minflt cminflt
		 * majflt cmajflt utime(14) stime(15) */
		if (c && sscanf(c + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut,
				&st) == 2)
			sum += ut + st;
	}
	return sum;
}

static bool psi_read(const char *dir, uint64_t *some, uint64_t *full)
{
	char p[700], line[256];
	FILE *f;
	bool ok = false;

	snprintf(p, sizeof(p), "%s/memory.pressure", dir);
	if (!(f = fopen(p, "re")))
		return false;
	while (fgets(line, sizeof(line), f)) {
		char *t = strstr(line, "total=");

		if (!t)
			continue;
		if (!strncmp(line, "some", 4))
			*some = strtoull(t + 6, NULL, 10), ok = true;
		else if (!strncmp(line, "full", 4))
			*full = strtoull(t + 6, NULL, 10);
	}
	fclose(f);
	return ok;
}

/* Relative path of @dir in the memory hierarchy, as lru_gen prints it. */
static const char *memcg_rel(const char *dir)
{
	const char *p = strstr(dir, "/memory/"); /* v1: /sys/fs/cgroup/memory/... */

	if (p)
		return p + 7;
	p = strstr(dir, "/sys/fs/cgroup/"); /* v2: /sys/fs/cgroup/... */
	return p ? p + 14 : dir;
}

/* Sum over nodes of the youngest generation's sequence number of each memcg. */
static void lru_gen_seqs(const struct ab_macro_cg *cgs, int n, uint64_t *seq)
{
	FILE *f = fopen("/sys/kernel/debug/lru_gen", "re");
	char line[1024];
	int cur = -1;
	uint64_t last = 0;
	bool in_node = false;

	for (int i = 0; i < n; i++)
		seq[i] = 0;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char path[800];
		unsigned long long g;

		if (sscanf(line, "memcg %*d %799s", path) == 1) {
			if (cur >= 0 && in_node)
				seq[cur] += last;
			cur = -1;
			in_node = false;
			for (int i = 0; i < n; i++)
				if (!strcmp(path, memcg_rel(cgs[i].mem)))
					cur = i;
		} else if (strstr(line, "node ")) {
			if (cur >= 0 && in_node)
				seq[cur] += last;
			in_node = true;
		} else if (sscanf(line, " %llu", &g) == 1) {
			last = g;
		}
	}
	if (cur >= 0 && in_node)
		seq[cur] += last;
	fclose(f);
}

char *ab_macro_lru_gen_full(const char *mem)
{
	FILE *f = fopen("/sys/kernel/debug/lru_gen_full", "re");
	char line[1024], path[800], *out = NULL;
	size_t len = 0;
	bool in = false;

	if (!f)
		return NULL;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "memcg %*d %799s", path) == 1)
			in = !strcmp(path, memcg_rel(mem));
		if (!in)
			continue;
		size_t l = strlen(line);
		char *n = realloc(out, len + l + 1);

		if (!n)
			break;
		out = n;
		memcpy(out + len, line, l + 1);
		len += l;
	}
	fclose(f);
	return out;
}

void ab_macro_snap(struct ab_macro_snap *s, const struct ab_macro_cg *cgs, int n, int mem_version)
{
	s->t_ns = ab_now_ns();
	ab_kvset_clear(&s->vmstat);
	ab_kvset_read(&s->vmstat, "/proc/vmstat", NULL);
	s->kswapd_ticks = kswapd_ticks();
	s->have_psi = s->have_cpu = n > 0;
	for (int i = 0; i < n; i++) {
		char p[700];
		uint64_t v;

		ab_kvset_clear(&s->memcg[i]);
		snprintf(p, sizeof(p), "%s/memory.stat", cgs[i].mem);
		ab_kvset_read(&s->memcg[i], p, NULL);
		if (mem_version == 2) {
			snprintf(p, sizeof(p), "%s/memory.events", cgs[i].mem);
			ab_kvset_read(&s->memcg[i], p, "events.");
		} else {
			snprintf(p, sizeof(p), "%s/memory.oom_control", cgs[i].mem);
			ab_kvset_read(&s->memcg[i], p, "events.");
			snprintf(p, sizeof(p), "%s/memory.failcnt", cgs[i].mem);
			char b[64];
			if (!ab_kvm_read_str(p, b, sizeof(b)))
				ab_kvset_put(&s->memcg[i], "failcnt", strtoull(b, NULL, 10));
		}
		s->psi_some_us[i] = s->psi_full_us[i] = 0;
		if (!cgs[i].v2[0] || !psi_read(cgs[i].v2, &s->psi_some_us[i], &s->psi_full_us[i]))
			s->have_psi = false;
		snprintf(p, sizeof(p), "%s/cpu.stat", cgs[i].v2);
		if (cgs[i].v2[0] && !ab_kvm_read_u64_key(p, "user_usec", &v)) {
			s->cpu_user_us[i] = v;
			ab_kvm_read_u64_key(p, "system_usec", &s->cpu_sys_us[i]);
		} else {
			s->have_cpu = false;
		}
	}
	lru_gen_seqs(cgs, n, s->lru_gen_seq);
}

bool ab_macro_lru_gen_enabled(char *desc, size_t len)
{
	char b[64];

	if (ab_kvm_read_str("/sys/kernel/mm/lru_gen/enabled", b, sizeof(b))) {
		snprintf(desc, len, "classic LRU (no /sys/kernel/mm/lru_gen)");
		return false;
	}
	unsigned long caps = strtoul(b, NULL, 0);

	if (!(caps & 1)) {
		snprintf(desc, len, "classic LRU (MGLRU built but disabled: lru_gen/enabled %s)",
			 b);
		return false;
	}
	snprintf(desc, len, "MGLRU (lru_gen/enabled %s)", b);
	return true;
}

/* ---- swap on zram --------------------------------------------------------- */

/* ---- counters ------------------------------------------------------------ */

void mac_put(struct rep *r, const char *name, double v)
{
	if (!ab_counter_find(name))
		ab_die(AB_EXIT_FAIL, "internal: counter %s not in common/ab_counters.def", name);
	if (r->nc < MAX_CTRS)
		r->c[r->nc++] = (struct ctr){name, v};
}

bool mac_get(const struct rep *r, const char *name, double *v)
{
	for (int i = 0; i < r->nc; i++)
		if (!strcmp(r->c[i].name, name)) {
			*v = r->c[i].v;
			return true;
		}
	return false;
}

static uint64_t kv(const struct ab_kvset *s, const char *k, bool *have)
{
	uint64_t v = 0;

	if (ab_kvset_get(s, k, &v) && have)
		*have = true;
	return v;
}

json_t *mac_kv_json(const struct ab_kvset *s)
{
	json_t *obj = json_object();

	for (int i = 0; i < s->n; i++)
		if (s->e[i].v)
			json_object_set_new(obj, s->e[i].k, json_integer((json_int_t)s->e[i].v));
	return obj;
}

/* Cost and outcome from the kernel's counters between two snapshots. */
void mac_snap_counters(struct rep *r, const struct ab_macro_snap *a, const struct ab_macro_snap *b,
		       int n)
{
	static struct ab_kvset d, m, sum;
	double ks = (double)(b->kswapd_ticks - a->kswapd_ticks) / (double)sysconf(_SC_CLK_TCK);
	bool h = false;

	ab_kvset_delta(&a->vmstat, &b->vmstat, &d);
	json_object_set_new(r->raw, "vmstat", mac_kv_json(&d));
	mac_put(r, "kswapd_cpu_s", ks);
	uint64_t scan = kv(&d, "pgscan_anon", NULL) + kv(&d, "pgscan_file", NULL);
	uint64_t steal = kv(&d, "pgsteal_anon", NULL) + kv(&d, "pgsteal_file", NULL);

	mac_put(r, "sys_pgscan", (double)scan);
	mac_put(r, "sys_pgsteal", (double)steal);
	mac_put(r, "sys_swapins", (double)kv(&d, "pswpin", NULL));

	json_t *mj = json_array();
	double stall = 0, user = 0, sys = 0;

	ab_kvset_clear(&sum);
	for (int i = 0; i < n; i++) {
		ab_kvset_delta(&a->memcg[i], &b->memcg[i], &m);
		json_array_append_new(mj, mac_kv_json(&m));
		ab_kvset_add(&sum, &m);
		stall += (double)(b->psi_some_us[i] - a->psi_some_us[i]) / 1e6;
		user += (double)(b->cpu_user_us[i] - a->cpu_user_us[i]) / 1e6;
		sys += (double)(b->cpu_sys_us[i] - a->cpu_sys_us[i]) / 1e6;
	}
	json_object_set_new(r->raw, "memcg", mj);
	mac_put(r, "refault_pages",
		(double)(kv(&sum, "workingset_refault_anon", NULL) +
			 kv(&sum, "workingset_refault_file", NULL)));
	h = false;
	uint64_t ms = kv(&sum, "pgscan", &h);
	if (h) {
		mac_put(r, "memcg_pgscan", (double)ms);
		mac_put(r, "memcg_pgsteal", (double)kv(&sum, "pgsteal", NULL));
	}
	h = false;
	uint64_t si = kv(&sum, "pswpin", &h);
	if (h)
		mac_put(r, "memcg_swapins", (double)si);
	h = false;
	uint64_t po = kv(&sum, "pgpgout", &h);
	if (h)
		mac_put(r, "memcg_pgpgout", (double)po);
	h = false;
	uint64_t hits = kv(&sum, "failcnt", &h) + kv(&sum, "events.max", &h);
	if (h)
		mac_put(r, "memcg_limit_hits", (double)hits);
	if (a->have_psi && b->have_psi) {
		mac_put(r, "reclaim_stall_s", stall);
		mac_put(r, "reclaim_cpu_s", ks + stall);
	}
	if (a->have_cpu && b->have_cpu) {
		mac_put(r, "vm_user_cpu_s", user);
		mac_put(r, "vm_sys_cpu_s", sys);
	}
	uint64_t seq = 0;
	bool seq_ok = n > 0;

	for (int i = 0; i < n; i++) {
		if (!a->lru_gen_seq[i] || !b->lru_gen_seq[i])
			seq_ok = false;
		else
			seq += b->lru_gen_seq[i] - a->lru_gen_seq[i];
	}
	if (seq_ok)
		mac_put(r, "mglru_aging_passes", (double)seq);
}

void mac_kvm_counters(struct rep *r, const struct ab_kvset *k, const struct msg *msgs, int n)
{
	bool h = false;
	uint64_t v;

	v = kv(k, "age_calls", &h);
	if (h) {
		mac_put(r, "macro_kvm_age_calls", (double)v);
		mac_put(r, "macro_kvm_age_walk_s", (double)kv(k, "age_walk_ns", NULL) / 1e9);
		mac_put(r, "macro_kvm_lock_wait_s", (double)kv(k, "age_lock_wait_ns", NULL) / 1e9);
		mac_put(r, "macro_kvm_declines", (double)kv(k, "age_fast_declines", NULL));
	}
	h = false;
	v = kv(k, "vcpu.pf_taken", &h);
	if (h)
		mac_put(r, "macro_vcpu_faults", (double)v);
	(void)msgs;
	(void)n;
}
