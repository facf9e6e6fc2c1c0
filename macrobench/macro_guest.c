// SPDX-License-Identifier: GPL-2.0
/*
 * macro_guest.c - the VM child of `agebench macro`: the synthetic guest
 * (fill, then hot/cold accesses while the host reclaims) and the mgmt
 * workload (the kernel's max_guest_memory_test), and the messages they send.
 */
#define _GNU_SOURCE
#include "macro_priv.h"

#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

int mac_write_full(int fd, const void *buf, size_t n)
{
	const char *p = buf;

	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* 0, -ETIMEDOUT, or -EPIPE (the other end closed: the child died). */
int mac_read_full(int fd, void *buf, size_t n, uint64_t deadline)
{
	char *p = buf;

	while (n) {
		uint64_t now = ab_now_ns();
		struct pollfd pfd = {.fd = fd, .events = POLLIN};

		if (now >= deadline)
			return -ETIMEDOUT;
		int r = poll(&pfd, 1, (int)((deadline - now) / 1000000 + 1));

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			continue;
		ssize_t got = read(fd, p, n);

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return -EPIPE;
		p += got;
		n -= (size_t)got;
	}
	return 0;
}

/* ---- the VM child -------------------------------------------------------- */

static void child_fail(int wfd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void child_fail(int wfd, const char *fmt, ...)
{
	static struct msg m;
	va_list ap;

	m.type = MSG_ERROR;
	va_start(ap, fmt);
	vsnprintf(m.err, sizeof(m.err), fmt, ap);
	va_end(ap);
	mac_write_full(wfd, &m, sizeof(m));
	_exit(1);
}

static void kstats_read(struct ab_vm_kstats *s, const char *prefix, struct ab_kvset *out)
{
	const char *const *names = s ? ab_vm_kstats_names(s) : NULL;

	for (; names && *names; names++) {
		uint64_t v, old = 0;
		char k[64];

		if (ab_vm_kstats_get(s, *names, &v))
			continue;
		snprintf(k, sizeof(k), "%s%s", prefix, *names);
		ab_kvset_get(out, k, &old);
		ab_kvset_put(out, k, old + v);
	}
}

static void kstats_all(struct ab_vm_kstats **ks, int n, struct ab_kvset *out)
{
	ab_kvset_clear(out);
	kstats_read(ks[0], "", out);
	for (int i = 1; i <= n; i++)
		kstats_read(ks[i], "vcpu.", out);
}

static uint64_t cpu_us(const struct timeval *tv)
{
	return (uint64_t)tv->tv_sec * 1000000ull + (uint64_t)tv->tv_usec;
}

__attribute__((noreturn)) void mac_child_synthetic(int vm, int rfd, int wfd)
{
	static struct msg m;
	static struct ab_kvset k0, k1;
	struct ab_vm_config cfg;
	struct ab_vm_work w;
	struct abvm *v = NULL;
	struct ab_vm_kstats *ks[1 + AB_VM_MAX_VCPUS] = {0};
	struct ab_vm_vcpu_stats s0, s1;
	struct rusage ru0, ru1;
	char err[512], c;
	bool file = mopt.backing == AB_VM_BACKING_FILE;

	if (read(rfd, &c, 1) != 1) /* the parent moved us into the cgroups */
		_exit(1);
	ab_vm_config_init(&cfg);
	cfg.mem_bytes = mopt.mib << 20;
	cfg.nr_vcpus = mopt.vcpus;
	cfg.backing = (enum ab_vm_backing)mopt.backing;
	cfg.file_dir = mopt.file_dir;
	cfg.latency = true;
	cfg.nested_pct = (uint32_t)mopt.nested_pct;
	int rc = ab_vm_create(&cfg, &v, err, sizeof(err));

	if (rc)
		child_fail(wfd, "VM %d: %s", vm, err);
	/* fill: every page once (read for a file: the page cache stays clean) */
	uint64_t t0 = ab_now_ns();

	ab_vm_work_init(&w);
	w.op = file ? AB_VM_OP_READ : AB_VM_OP_WRITE;
	w.passes = 1;
	if ((rc = ab_vm_start_wait(v, &w)))
		child_fail(wfd, "VM %d: fill pass: %s %s", vm, ab_vm_strerr(rc),
			   ab_vm_last_error(v));
	m.fill_ns = ab_now_ns() - t0;
	m.type = MSG_READY;
	if (mac_write_full(wfd, &m, sizeof(m)) || read(rfd, &c, 1) != 1)
		_exit(1);

	/* access phase: hot/cold skew, until the time or the operation count */
	ks[0] = ab_vm_kstats_open(v, -1);
	for (int i = 0; i < mopt.vcpus; i++)
		ks[1 + i] = ab_vm_kstats_open(v, i);
	kstats_all(ks, mopt.vcpus, &k0);
	ab_vm_hist_reset(v);
	ab_vm_stats_total(v, &s0);
	getrusage(RUSAGE_SELF, &ru0);
	w.order = AB_VM_ORDER_HOTCOLD;
	w.passes = 0;
	w.seed = mopt.seed + (uint64_t)vm;
	w.hot_pct = (uint32_t)mopt.hot_pct;
	w.cold_every = (uint32_t)mopt.cold_every;
	w.record_latency = true;
	t0 = ab_now_ns();
	if ((rc = ab_vm_start(v, &w)))
		child_fail(wfd, "VM %d: start: %s %s", vm, ab_vm_strerr(rc), ab_vm_last_error(v));
	uint64_t end = t0 + (uint64_t)(mopt.seconds * 1e9), limit = t0 + 600ull * 1000000000ull;

	for (;;) {
		struct timespec ts = {0, 10000000};

		nanosleep(&ts, NULL);
		uint64_t now = ab_now_ns();

		if (mopt.ops) {
			ab_vm_stats_total(v, &s1);
			if (s1.accesses - s0.accesses >= mopt.ops || now >= limit)
				break;
		} else if (now >= end) {
			break;
		}
		if (ab_vm_wait(v, 1) == AB_VM_EGUEST)
			child_fail(wfd, "VM %d: guest failed during the access phase: %s", vm,
				   ab_vm_last_error(v));
	}
	rc = ab_vm_stop(v);
	m.phase_ns = ab_now_ns() - t0;
	if (rc && rc != AB_VM_ETIMEDOUT)
		child_fail(wfd, "VM %d: guest failed during the access phase: %s", vm,
			   ab_vm_last_error(v));
	getrusage(RUSAGE_SELF, &ru1);
	ab_vm_stats_total(v, &s1);
	kstats_all(ks, mopt.vcpus, &k1);
	ab_kvset_delta(&k0, &k1, &m.kvm);
	m.ops = s1.accesses - s0.accesses;
	m.passes = s1.passes - s0.passes;
	m.user_us = cpu_us(&ru1.ru_utime) - cpu_us(&ru0.ru_utime);
	m.sys_us = cpu_us(&ru1.ru_stime) - cpu_us(&ru0.ru_stime);
	ab_hist_init(&m.hist);
	for (int i = 0; i < mopt.vcpus; i++)
		ab_hist_merge(&m.hist, ab_vm_vcpu_hist(v, i));
	m.type = MSG_RESULT;
	mac_write_full(wfd, &m, sizeof(m));
	for (int i = 0; i <= mopt.vcpus; i++)
		ab_vm_kstats_close(ks[i]);
	ab_vm_destroy(v);
	_exit(0);
}

__attribute__((noreturn)) void mac_child_mgmt(int rfd, const char *log)
{
	char c, cv[24], mv[24];
	int fd;

	if (read(rfd, &c, 1) != 1 || read(rfd, &c, 1) != 1) /* attached, then go */
		_exit(1);
	fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd >= 0) {
		dup2(fd, 1);
		dup2(fd, 2);
	}
	snprintf(cv, sizeof(cv), "%d", mopt.vcpus);
	snprintf(mv, sizeof(mv), "%llu", (unsigned long long)((mopt.mib + 1023) >> 10));
	execl(mopt.mgmt, mopt.mgmt, "-c", cv, "-m", mv, "-s", mv, (char *)NULL);
	fprintf(stderr, "exec %s: %s\n", mopt.mgmt, strerror(errno));
	_exit(127);
}
