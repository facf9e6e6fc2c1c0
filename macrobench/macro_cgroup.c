// SPDX-License-Identifier: GPL-2.0
/* macro_cgroup.c - cgroup setup for `agebench macro`: the hierarchy, one VM's
 * cgroups (memory, and v2 for PSI/cpu.stat), stale cgroups of dead runs. */
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
