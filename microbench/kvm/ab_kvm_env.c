// SPDX-License-Identifier: GPL-2.0
/* ab_kvm_env.c - roots, file helpers, memcg, KVM stats. */
#define _GNU_SOURCE
#include "ab_kvm.h"
#include "ab_vm.h"
#include "ab_vm_age.h"
#include "ab_common.h"

#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *ab_kvm_root(void)
{
	const char *r = getenv("AGEBENCH_KVM_FSROOT");

	return r ? r : "";
}

char *ab_kvm_path(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	size_t n = (size_t)snprintf(buf, len, "%s", ab_kvm_root());

	if (n >= len)
		n = len - 1;
	va_start(ap, fmt);
	vsnprintf(buf + n, len - n, fmt, ap);
	va_end(ap);
	return buf;
}

int ab_kvm_write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	ssize_t n;
	int err = 0;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	if (n < 0)
		err = -errno;
	else if ((size_t)n != strlen(s))
		err = -EIO;
	close(fd);
	return err;
}

int ab_kvm_read_str(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	close(fd);
	buf[n] = 0;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = 0;
	return 0;
}

int ab_kvm_read_u64_key(const char *path, const char *key, uint64_t *val)
{
	FILE *f = fopen(path, "re");
	char line[256];
	size_t kl = strlen(key);
	int err = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, kl) && line[kl] == ' ') {
			*val = strtoull(line + kl + 1, NULL, 10);
			err = 0;
			break;
		}
	}
	fclose(f);
	return err;
}

/* ---- memcg ---------------------------------------------------------- */

/* Find the mount point of the memory hierarchy (v2 preferred) from mountinfo. */
static int find_memory_mount(char *mnt, size_t len, int *version)
{
	char p[512], line[1024], v1[256] = "", v2[256] = "";
	FILE *f = fopen(ab_kvm_path(p, sizeof(p), "/proc/self/mountinfo"), "re");

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char mp[256], fstype[64], opts[512];
		char *sep = strstr(line, " - ");

		if (!sep || sscanf(line, "%*s %*s %*s %*s %255s", mp) != 1)
			continue;
		if (sscanf(sep + 3, "%63s %*s %511s", fstype, opts) != 2)
			continue;
		if (!strcmp(fstype, "cgroup2") && !v2[0]) {
			char c[512], ctl[256];

			snprintf(c, sizeof(c), "%s%s/cgroup.controllers", ab_kvm_root(), mp);
			if (!ab_kvm_read_str(c, ctl, sizeof(ctl)) && strstr(ctl, "memory"))
				snprintf(v2, sizeof(v2), "%s", mp);
		} else if (!strcmp(fstype, "cgroup") && !v1[0]) {
			char *o, *save = NULL;

			for (o = strtok_r(opts, ",", &save); o; o = strtok_r(NULL, ",", &save))
				if (!strcmp(o, "memory"))
					snprintf(v1, sizeof(v1), "%s", mp);
		}
	}
	fclose(f);
	if (v2[0]) {
		snprintf(mnt, len, "%s%s", ab_kvm_root(), v2);
		*version = 2;
		return 0;
	}
	if (v1[0]) {
		snprintf(mnt, len, "%s%s", ab_kvm_root(), v1);
		*version = 1;
		return 0;
	}
	return -ENOENT;
}

/* Our cgroup path inside that hierarchy, from /proc/self/cgroup. */
static int find_own_cgroup(int version, char *path, size_t len)
{
	char p[512], line[1024];
	FILE *f = fopen(ab_kvm_path(p, sizeof(p), "/proc/self/cgroup"), "re");
	int err = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		bool match = false;

		if (!c2)
			continue;
		*c2 = 0;
		if (version == 2)
			match = !strncmp(line, "0:", 2) && c1[1] == 0;
		else {
			char *o, *save = NULL;

			for (o = strtok_r(c1 + 1, ",", &save); o; o = strtok_r(NULL, ",", &save))
				if (!strcmp(o, "memory"))
					match = true;
		}
		if (match) {
			c2[1 + strcspn(c2 + 1, "\n")] = 0;
			snprintf(path, len, "%s", c2 + 1);
			err = 0;
			break;
		}
	}
	fclose(f);
	return err;
}

int ab_kvm_memcg_probe(struct ab_kvm_memcg *m, char *msg, size_t len)
{
	char own[256], f[600];
	int err;

	memset(m, 0, sizeof(*m));
	err = find_memory_mount(m->mount, sizeof(m->mount), &m->version);
	if (err) {
		snprintf(msg, len, "no memory cgroup hierarchy mounted (%s/proc/self/mountinfo)",
			 ab_kvm_root());
		return -ENOENT;
	}
	err = find_own_cgroup(m->version, own, sizeof(own));
	if (err) {
		snprintf(msg, len, "cannot find our memory cgroup in %s/proc/self/cgroup",
			 ab_kvm_root());
		return -ENOENT;
	}
	snprintf(m->parent, sizeof(m->parent), "%s%s", m->mount, strcmp(own, "/") ? own : "");
	snprintf(f, sizeof(f), "%s/cgroup.procs", m->parent);
	if (access(m->parent, W_OK) < 0 || access(f, W_OK) < 0) {
		err = -errno;
		snprintf(msg, len, "cannot create a memory cgroup under %s: %s", m->parent,
			 strerror(-err));
		return err == -ENOENT ? -ENOENT : -EACCES;
	}
	if (m->version == 2) {
		char ctl[256] = "";

		snprintf(f, sizeof(f), "%s/cgroup.subtree_control", m->parent);
		ab_kvm_read_str(f, ctl, sizeof(ctl));
		if (!strstr(ctl, "memory") && strcmp(own, "/")) {
			snprintf(msg, len,
				 "cgroup v2: memory controller not delegated below %s (it holds "
				 "processes); run agebench from a delegated cgroup",
				 m->parent);
			return -EACCES;
		}
	}
	snprintf(msg, len, "memory cgroup v%d under %s", m->version, m->parent);
	return 0;
}

/* Remove empty agebench-<pid>-<n> cgroups left by killed (SIGKILL) runs. */
static void reap_stale(const struct ab_kvm_memcg *m)
{
	DIR *d = opendir(m->parent);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d))) {
		int pid, n;
		char p[800];

		if (sscanf(e->d_name, "agebench-%d-%d", &pid, &n) != 2 || pid == getpid() ||
		    kill(pid, 0) == 0 || errno != ESRCH)
			continue;
		snprintf(p, sizeof(p), "%s/%s", m->parent, e->d_name);
		if (rmdir(p) == 0)
			ab_warn("removed stale memory cgroup %s", p);
	}
	closedir(d);
}

int ab_kvm_memcg_enter(struct ab_kvm_memcg *m, char *msg, size_t len)
{
	static int seq;
	char f[600], pid[32];
	int err;

	m->undo_mark = ab_cleanup_mark();
	reap_stale(m);
	if (m->version == 2) {
		snprintf(f, sizeof(f), "%s/cgroup.subtree_control", m->parent);
		char ctl[256] = "";

		ab_kvm_read_str(f, ctl, sizeof(ctl));
		if (!strstr(ctl, "memory") && (err = ab_kvm_write_str(f, "+memory"))) {
			snprintf(msg, len, "%s: +memory: %s", f, strerror(-err));
			return err;
		}
	}
	snprintf(m->dir, sizeof(m->dir), "%s/agebench-%d-%d", m->parent, (int)getpid(), seq++);
	if (mkdir(m->dir, 0755) < 0) {
		err = -errno;
		snprintf(msg, len, "mkdir %s: %s", m->dir, strerror(errno));
		return err;
	}
	snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	{
		char v[600];

		/* registered before the move, so a signal in between still cleans up */
		snprintf(v, sizeof(v), "%s/cgroup.procs", m->parent);
		if (ab_cleanup_add(AB_CLEANUP_CGROUP, m->dir, v) < 0) {
			rmdir(m->dir);
			snprintf(msg, len, "cleanup registry full");
			return -ENOSPC;
		}
	}
	snprintf(f, sizeof(f), "%s/cgroup.procs", m->dir);
	err = ab_kvm_write_str(f, pid);
	if (err) {
		snprintf(msg, len, "%s: %s", f, strerror(-err));
		ab_cleanup_to(m->undo_mark);
		return err;
	}
	return 0;
}

void ab_kvm_memcg_leave(struct ab_kvm_memcg *m)
{
	ab_cleanup_to(m->undo_mark);
	m->dir[0] = 0;
}

int ab_kvm_memcg_stat(struct ab_kvm_memcg *m, const char *key, uint64_t *val)
{
	char f[600];

	snprintf(f, sizeof(f), "%s/memory.stat", m->dir);
	return ab_kvm_read_u64_key(f, key, val);
}

int ab_kvm_memcg_reclaim(struct ab_kvm_memcg *m, uint64_t bytes)
{
	char f[600], v[64];
	int err;

	if (m->version == 2) {
		snprintf(f, sizeof(f), "%s/memory.reclaim", m->dir);
		snprintf(v, sizeof(v), "%llu", (unsigned long long)bytes);
		err = ab_kvm_write_str(f, v);
		return err == -EAGAIN ? 0 : err; /* EAGAIN: reclaimed less than asked */
	}
	/* v1: squeeze the limit below usage, then lift it again */
	uint64_t usage;

	snprintf(f, sizeof(f), "%s/memory.usage_in_bytes", m->dir);
	if ((err = ab_kvm_read_str(f, v, sizeof(v))))
		return err;
	usage = strtoull(v, NULL, 10);
	if (bytes >= usage)
		bytes = usage;
	snprintf(f, sizeof(f), "%s/memory.limit_in_bytes", m->dir);
	snprintf(v, sizeof(v), "%llu", (unsigned long long)(usage - bytes));
	err = ab_kvm_write_str(f, v);
	/* lift it again; a limit left behind would throttle every later phase */
	int lift = ab_kvm_write_str(f, "-1");

	for (int i = 0; lift && i < 10; i++)
		lift = ab_kvm_write_str(f, "-1");
	if (lift)
		return lift;
	return err == -EBUSY ? 0 : err; /* EBUSY: could not get that low */
}

int ab_kvm_memcg_lru_gen_id(struct ab_kvm_memcg *m)
{
	char p[512], line[1024], rel[512];
	FILE *f;
	int id = -1;

	/* lru_gen prints cgroup paths relative to the hierarchy root */
	snprintf(rel, sizeof(rel), "%s", m->dir + strlen(m->mount));
	f = fopen(ab_kvm_path(p, sizeof(p), "/sys/kernel/debug/lru_gen"), "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		int i;
		char path[512];

		if (sscanf(line, "memcg %d %511s", &i, path) == 2 && !strcmp(path, rel)) {
			id = i;
			break;
		}
	}
	fclose(f);
	return id;
}

/* ---- mode parameter, /dev/kvm, stats -------------------------------- */

/* kvm.mmu_age_mode: the VM library's accessor (ab_vm_age.h), under our root. */
bool ab_kvm_mode_param(char *cur, size_t len)
{
	return ab_vm_age_mode_get(ab_kvm_root(), cur, len) == 0;
}

int ab_kvm_mode_set(const char *mode)
{
	int err = ab_vm_age_mode_save(ab_kvm_root()); /* restored at exit/signal */

	return err ? err : ab_vm_age_mode_set(ab_kvm_root(), mode);
}

int ab_kvm_dev_kvm_check(char *msg, size_t len)
{
	char p[512];
	int fd;

	ab_kvm_path(p, sizeof(p), "/dev/kvm");
	fd = open(p, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;

		if (e == ENOENT)
			snprintf(msg, len, "%s: %s (KVM not available: load kvm-intel/kvm-amd)", p,
				 strerror(e));
		else if (e == EACCES || e == EPERM)
			snprintf(msg, len, "%s: %s (add yourself to group kvm or run as root)", p,
				 strerror(e));
		else
			snprintf(msg, len, "%s: %s", p, strerror(e));
		return -e;
	}
	close(fd);
	return 0;
}
