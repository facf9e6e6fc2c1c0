// SPDX-License-Identifier: GPL-2.0
/* macro_sys.c - cgroups, kernel statistics and swap on zram for `agebench macro`. */
#define _GNU_SOURCE
#include "ab_macro.h"
#include "ab_common.h"
#include "ab_kvm.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/swap.h>
#include <unistd.h>

/* ---- key/value sets ---------------------------------------------------- */

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
static void cgroup2_mount(char *mnt, size_t len)
{
	char line[1024];
	FILE *f = fopen("/proc/self/mountinfo", "re");

	mnt[0] = 0;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char mp[256], fstype[64];
		char *sep = strstr(line, " - ");

		if (sep && sscanf(line, "%*s %*s %*s %*s %255s", mp) == 1 &&
		    sscanf(sep + 3, "%63s", fstype) == 1 && !strcmp(fstype, "cgroup2")) {
			snprintf(mnt, len, "%s", mp);
			break;
		}
	}
	fclose(f);
}

/* The cgroup2 mount and our path in it, if any. */
static void find_v2(char *dir, size_t len)
{
	char line[1024], mnt[256], own[256] = "";
	FILE *f;

	dir[0] = 0;
	cgroup2_mount(mnt, sizeof(mnt));
	if (!mnt[0] || !(f = fopen("/proc/self/cgroup", "re")))
		return;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "0::", 3)) {
			line[strcspn(line, "\n")] = 0;
			snprintf(own, sizeof(own), "%.255s", line + 3);
		}
	fclose(f);
	if (own[0])
		snprintf(dir, len, "%s%s", mnt, strcmp(own, "/") ? own : "");
}

void ab_macro_v2_of(const char *mem, char *v2, size_t len)
{
	char p[700], line[1024], mnt[256];
	FILE *f;
	int pid = 0;

	v2[0] = 0;
	snprintf(p, sizeof(p), "%s/cgroup.procs", mem);
	if ((f = fopen(p, "re"))) {
		if (fscanf(f, "%d", &pid) != 1)
			pid = 0;
		fclose(f);
	}
	if (pid <= 0)
		return;
	cgroup2_mount(mnt, sizeof(mnt));
	snprintf(p, sizeof(p), "/proc/%d/cgroup", pid);
	if (!mnt[0] || !(f = fopen(p, "re")))
		return;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "0::", 3)) {
			line[strcspn(line, "\n")] = 0;
			if (strcmp(line + 3, "/")) /* the v2 root would be the whole machine */
				snprintf(v2, len, "%s%.400s", mnt, line + 3);
		}
	fclose(f);
}

int ab_macro_hier_probe(struct ab_macro_hier *h, char *msg, size_t len)
{
	struct ab_kvm_memcg m;
	int err = ab_kvm_memcg_probe(&m, msg, len);

	memset(h, 0, sizeof(*h));
	if (err)
		return err;
	h->mem_version = m.version;
	snprintf(h->mem_parent, sizeof(h->mem_parent), "%s", m.parent);
	if (m.version == 2) {
		char f[600], ctl[256] = "";

		snprintf(h->v2_parent, sizeof(h->v2_parent), "%s", m.parent);
		snprintf(f, sizeof(f), "%s/cgroup.subtree_control", m.parent);
		ab_kvm_read_str(f, ctl, sizeof(ctl));
		if (!strstr(ctl, "memory") && (err = ab_kvm_write_str(f, "+memory"))) {
			snprintf(msg, len, "%s: +memory: %s", f, strerror(-err));
			return err;
		}
	} else {
		char f[600];

		find_v2(h->v2_parent, sizeof(h->v2_parent));
		snprintf(f, sizeof(f), "%s/cgroup.procs", h->v2_parent);
		if (h->v2_parent[0] && access(f, W_OK) < 0)
			h->v2_parent[0] = 0;
	}
	return 0;
}

void ab_macro_reap_stale(const struct ab_macro_hier *h)
{
	const char *parents[2] = {h->mem_parent, h->v2_parent};

	for (int i = 0; i < 2; i++) {
		DIR *d = parents[i][0] ? opendir(parents[i]) : NULL;
		struct dirent *e;

		if (!d)
			continue;
		while ((e = readdir(d))) {
			int pid, n;
			char p[800];

			if (sscanf(e->d_name, "agebench-macro-%d-%d", &pid, &n) != 2 ||
			    pid == getpid() || kill(pid, 0) == 0 || errno != ESRCH)
				continue;
			snprintf(p, sizeof(p), "%s/%s", parents[i], e->d_name);
			if (rmdir(p) == 0)
				ab_warn("removed stale cgroup %s", p);
		}
		closedir(d);
	}
}

int ab_macro_cg_create(const struct ab_macro_hier *h, struct ab_macro_cg *cg, uint64_t limit,
		       char *msg, size_t len)
{
	static int seq;
	char f[700], v[64], back[64];
	int n = seq++, err;

	memset(cg, 0, sizeof(*cg));
	snprintf(cg->mem, sizeof(cg->mem), "%s/agebench-macro-%d-%d", h->mem_parent, (int)getpid(),
		 n);
	if (mkdir(cg->mem, 0755) < 0) {
		err = -errno;
		snprintf(msg, len, "cannot create memory cgroup %s: %s", cg->mem, strerror(errno));
		cg->mem[0] = 0;
		return err;
	}
	if (h->mem_version == 2) {
		snprintf(cg->v2, sizeof(cg->v2), "%s", cg->mem);
	} else if (h->v2_parent[0]) {
		snprintf(cg->v2, sizeof(cg->v2), "%s/agebench-macro-%d-%d", h->v2_parent,
			 (int)getpid(), n);
		if (mkdir(cg->v2, 0755) < 0)
			cg->v2[0] = 0; /* PSI/cpu.stat are optional */
	}
	if (!limit)
		return 0;
	cg->limit = limit;
	snprintf(f, sizeof(f), "%s/%s", cg->mem,
		 h->mem_version == 2 ? "memory.max" : "memory.limit_in_bytes");
	snprintf(v, sizeof(v), "%llu", (unsigned long long)limit);
	if ((err = ab_kvm_write_str(f, v))) {
		snprintf(msg, len, "memory limit cannot be applied: write %s to %s: %s", v, f,
			 strerror(-err));
		return err;
	}
	if ((err = ab_kvm_read_str(f, back, sizeof(back)))) {
		snprintf(msg, len, "memory limit: cannot read back %s: %s", f, strerror(-err));
		return err;
	}
	uint64_t got = strtoull(back, NULL, 10);
	if (got > limit || got + 4096 < limit) {
		snprintf(msg, len, "memory limit cannot be applied: wrote %s to %s, it reads %s", v,
			 f, back);
		return -EINVAL;
	}
	return 0;
}

int ab_macro_cg_attach(const struct ab_macro_cg *cg, pid_t pid, char *msg, size_t len)
{
	char f[700], p[32];
	int err;

	snprintf(p, sizeof(p), "%d\n", (int)pid);
	snprintf(f, sizeof(f), "%s/cgroup.procs", cg->mem);
	if ((err = ab_kvm_write_str(f, p))) {
		snprintf(msg, len, "cannot move pid %d into %s: %s", (int)pid, f, strerror(-err));
		return err;
	}
	if (cg->v2[0] && strcmp(cg->v2, cg->mem)) {
		snprintf(f, sizeof(f), "%s/cgroup.procs", cg->v2);
		ab_kvm_write_str(f, p); /* optional: PSI and cpu.stat only */
	}
	return 0;
}

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

uint64_t ab_macro_swap_total(void)
{
	uint64_t kb = 0;

	ab_kvm_read_u64_key("/proc/meminfo", "SwapTotal:", &kb);
	return kb * 1024;
}

/* The swap header mkswap writes (version 1, no bad pages). */
static int write_swap_header(const char *dev, uint64_t bytes)
{
	long ps = sysconf(_SC_PAGESIZE);
	unsigned char *h = calloc(1, (size_t)ps);
	int fd = open(dev, O_WRONLY | O_CLOEXEC), err = 0;
	uint32_t ver = 1, last = (uint32_t)(bytes / (uint64_t)ps - 1);

	if (!h || fd < 0) {
		err = fd < 0 ? -errno : -ENOMEM;
		goto out;
	}
	memcpy(h + 1024, &ver, 4);
	memcpy(h + 1028, &last, 4);
	memcpy(h + ps - 10, "SWAPSPACE2", 10);
	if (pwrite(fd, h, (size_t)ps, 0) != ps || fsync(fd) < 0)
		err = -EIO;
out:
	if (fd >= 0)
		close(fd);
	free(h);
	return err;
}

int ab_macro_zram_setup(uint64_t bytes, char *dev, size_t devlen, char *msg, size_t len)
{
	char b[64], p[128];
	int id = -1, err;

	if (access("/sys/class/zram-control/hot_add", R_OK) == 0 &&
	    !ab_kvm_read_str("/sys/class/zram-control/hot_add", b, sizeof(b)))
		id = atoi(b);
	else if (access("/sys/block/zram0/disksize", W_OK) == 0 &&
		 !ab_kvm_read_str("/sys/block/zram0/disksize", b, sizeof(b)) && !strcmp(b, "0"))
		id = 0;
	if (id < 0) {
		snprintf(msg, len,
			 "--zram: no zram device (/sys/class/zram-control missing: kernel without "
			 "CONFIG_ZRAM, or modprobe zram)");
		return -ENODEV;
	}
	snprintf(dev, devlen, "/dev/zram%d", id);
	snprintf(p, sizeof(p), "/sys/block/zram%d/comp_algorithm", id);
	if (ab_kvm_write_str(p, "lzo-rle"))
		ab_kvm_write_str(p, "lzo");
	snprintf(p, sizeof(p), "/sys/block/zram%d/disksize", id);
	snprintf(b, sizeof(b), "%llu", (unsigned long long)bytes);
	if ((err = ab_kvm_write_str(p, b))) {
		snprintf(msg, len, "--zram: write %s to %s: %s", b, p, strerror(-err));
		return err;
	}
	if ((err = write_swap_header(dev, bytes))) {
		snprintf(msg, len, "--zram: cannot write a swap header to %s: %s", dev,
			 strerror(-err));
		return err;
	}
	if (swapon(dev, 0) < 0) {
		err = -errno;
		snprintf(msg, len, "--zram: swapon %s: %s (kernel without CONFIG_SWAP?)", dev,
			 strerror(errno));
		return err;
	}
	return 0;
}

/* Async-signal-safe enough for the cleanup registry: syscalls and writes. */
void ab_macro_zram_teardown(const char *dev)
{
	char p[128];
	const char *id = dev + strlen("/dev/zram");

	swapoff(dev);
	snprintf(p, sizeof(p), "/sys/block/zram%s/reset", id);
	ab_kvm_write_str(p, "1");
	if (strcmp(id, "0"))
		ab_kvm_write_str("/sys/class/zram-control/hot_remove", id);
}
