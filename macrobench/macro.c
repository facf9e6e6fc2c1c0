// SPDX-License-Identifier: GPL-2.0
/*
 * macro.c - `agebench macro`: reclaim cost and outcome with VMs under memory
 * pressure, per kvm.mmu_age_mode (docs/macrobench.md).
 *
 * One repetition = fresh VMs, each a child process in its own memory cgroup
 * whose limit is below the VM's memory; the guest fills its memory, then
 * accesses it with a hot/cold skew while the kernel reclaims as it schedules
 * it (limit reclaim, kswapd). Kernel statistics are read right before and
 * right after the access phase. Repetitions of all modes run in one
 * shuffled order (seed recorded); afterwards they are handed to Google
 * Benchmark through the shim (one iteration per repetition, manual time =
 * the access phase), so results.json is an ordinary agebench run.
 */
#define _GNU_SOURCE
#include "ab_macro.h"
#include "ab_common.h"
#include "ab_kvm.h"
#include "ab_schema.h"
#include "ab_shim.h"
#include "ab_vm.h"
#include "ab_vm_age.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define HARNESS_SLACK (16ull << 20) /* allowance for the VM process itself */
#define MAX_REPS      1024
#define MAX_CTRS      40

enum workload { WL_SYNTH, WL_MGMT, WL_CGROUP };
static const char *const wl_names[] = {"synthetic", "mgmt", "cgroup"};

struct opts {
	enum workload wl;
	const char *mode_arg;
	int vms, vcpus, reps, limit_pct, hot_pct, cold_every, zram_mib, reclaim_ms;
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

static struct opts o;
static const char *modes[AB_MODE_NR];
static int nmodes;
static bool patched;
static struct ab_macro_hier hier;
static struct rep reps[MAX_REPS];
static int nreps;
static struct bench benches[AB_MODE_NR];
static char lru_desc[160];

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

static int write_full(int fd, const void *buf, size_t n)
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
static int read_full(int fd, void *buf, size_t n, uint64_t deadline)
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

/* ---- the resources of one repetition, for the cleanup registry ---------- */

struct rep_res {
	volatile pid_t pid[AB_MACRO_MAX_VMS];
	int n;
	struct ab_macro_cg cg[AB_MACRO_MAX_VMS];
	int ncg;
	int handle;
};
static struct rep_res res;

/* Async-signal-safe: kill, waitpid, rmdir, nanosleep. */
static void rep_res_cleanup(void *arg)
{
	struct rep_res *r = arg;
	struct timespec ts = {0, 5000000};

	for (int i = 0; i < r->n; i++)
		if (r->pid[i] > 0)
			kill(r->pid[i], SIGKILL);
	for (int i = 0; i < r->n; i++)
		if (r->pid[i] > 0) {
			waitpid(r->pid[i], NULL, 0);
			r->pid[i] = 0;
		}
	for (int i = r->ncg - 1; i >= 0; i--) {
		const char *d[2] = {r->cg[i].mem, r->cg[i].v2};

		for (int k = 0; k < 2; k++) {
			if (!d[k][0] || (k == 1 && !strcmp(d[1], d[0])))
				continue;
			for (int t = 0; t < 200 && rmdir(d[k]) < 0 && errno == EBUSY; t++)
				nanosleep(&ts, NULL);
		}
	}
	r->n = r->ncg = 0;
}

static void rep_res_begin(void)
{
	memset((void *)&res, 0, sizeof(res));
	res.handle = ab_cleanup_push(rep_res_cleanup, &res);
}

static void rep_res_end(void)
{
	ab_cleanup_run(res.handle);
	res.handle = -1;
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
	write_full(wfd, &m, sizeof(m));
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

static __attribute__((noreturn)) void child_synthetic(int vm, int rfd, int wfd)
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
	bool file = o.backing == AB_VM_BACKING_FILE;

	if (read(rfd, &c, 1) != 1) /* the parent moved us into the cgroups */
		_exit(1);
	ab_vm_config_init(&cfg);
	cfg.mem_bytes = o.mib << 20;
	cfg.nr_vcpus = o.vcpus;
	cfg.backing = (enum ab_vm_backing)o.backing;
	cfg.file_dir = o.file_dir;
	cfg.latency = true;
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
	if (write_full(wfd, &m, sizeof(m)) || read(rfd, &c, 1) != 1)
		_exit(1);

	/* access phase: hot/cold skew, until the time or the operation count */
	ks[0] = ab_vm_kstats_open(v, -1);
	for (int i = 0; i < o.vcpus; i++)
		ks[1 + i] = ab_vm_kstats_open(v, i);
	kstats_all(ks, o.vcpus, &k0);
	ab_vm_hist_reset(v);
	ab_vm_stats_total(v, &s0);
	getrusage(RUSAGE_SELF, &ru0);
	w.order = AB_VM_ORDER_HOTCOLD;
	w.passes = 0;
	w.seed = o.seed + (uint64_t)vm;
	w.hot_pct = (uint32_t)o.hot_pct;
	w.cold_every = (uint32_t)o.cold_every;
	w.record_latency = true;
	t0 = ab_now_ns();
	if ((rc = ab_vm_start(v, &w)))
		child_fail(wfd, "VM %d: start: %s %s", vm, ab_vm_strerr(rc), ab_vm_last_error(v));
	uint64_t end = t0 + (uint64_t)(o.seconds * 1e9), limit = t0 + 600ull * 1000000000ull;

	for (;;) {
		struct timespec ts = {0, 10000000};

		nanosleep(&ts, NULL);
		uint64_t now = ab_now_ns();

		if (o.ops) {
			ab_vm_stats_total(v, &s1);
			if (s1.accesses - s0.accesses >= o.ops || now >= limit)
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
	kstats_all(ks, o.vcpus, &k1);
	ab_kvset_delta(&k0, &k1, &m.kvm);
	m.ops = s1.accesses - s0.accesses;
	m.passes = s1.passes - s0.passes;
	m.user_us = cpu_us(&ru1.ru_utime) - cpu_us(&ru0.ru_utime);
	m.sys_us = cpu_us(&ru1.ru_stime) - cpu_us(&ru0.ru_stime);
	ab_hist_init(&m.hist);
	for (int i = 0; i < o.vcpus; i++)
		ab_hist_merge(&m.hist, ab_vm_vcpu_hist(v, i));
	m.type = MSG_RESULT;
	write_full(wfd, &m, sizeof(m));
	for (int i = 0; i <= o.vcpus; i++)
		ab_vm_kstats_close(ks[i]);
	ab_vm_destroy(v);
	_exit(0);
}

static __attribute__((noreturn)) void child_mgmt(int rfd, const char *log)
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
	snprintf(cv, sizeof(cv), "%d", o.vcpus);
	snprintf(mv, sizeof(mv), "%llu", (unsigned long long)((o.mib + 1023) >> 10));
	execl(o.mgmt, o.mgmt, "-c", cv, "-m", mv, "-s", mv, (char *)NULL);
	fprintf(stderr, "exec %s: %s\n", o.mgmt, strerror(errno));
	_exit(127);
}

/* ---- counters ------------------------------------------------------------ */

static void put(struct rep *r, const char *name, double v)
{
	if (!ab_counter_find(name))
		ab_die(AB_EXIT_FAIL, "internal: counter %s not in common/ab_counters.def", name);
	if (r->nc < MAX_CTRS)
		r->c[r->nc++] = (struct ctr){name, v};
}

static bool get(const struct rep *r, const char *name, double *v)
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

static json_t *kv_json(const struct ab_kvset *s)
{
	json_t *o = json_object();

	for (int i = 0; i < s->n; i++)
		if (s->e[i].v)
			json_object_set_new(o, s->e[i].k, json_integer((json_int_t)s->e[i].v));
	return o;
}

/* Cost and outcome from the kernel's counters between two snapshots. */
static void snap_counters(struct rep *r, const struct ab_macro_snap *a,
			  const struct ab_macro_snap *b, int n)
{
	static struct ab_kvset d, m, sum;
	double ks = (double)(b->kswapd_ticks - a->kswapd_ticks) / (double)sysconf(_SC_CLK_TCK);
	bool h = false;

	ab_kvset_delta(&a->vmstat, &b->vmstat, &d);
	json_object_set_new(r->raw, "vmstat", kv_json(&d));
	put(r, "kswapd_cpu_s", ks);
	uint64_t scan = kv(&d, "pgscan_anon", NULL) + kv(&d, "pgscan_file", NULL);
	uint64_t steal = kv(&d, "pgsteal_anon", NULL) + kv(&d, "pgsteal_file", NULL);

	put(r, "sys_pgscan", (double)scan);
	put(r, "sys_pgsteal", (double)steal);
	put(r, "sys_swapins", (double)kv(&d, "pswpin", NULL));

	json_t *mj = json_array();
	double stall = 0, user = 0, sys = 0;

	ab_kvset_clear(&sum);
	for (int i = 0; i < n; i++) {
		ab_kvset_delta(&a->memcg[i], &b->memcg[i], &m);
		json_array_append_new(mj, kv_json(&m));
		ab_kvset_add(&sum, &m);
		stall += (double)(b->psi_some_us[i] - a->psi_some_us[i]) / 1e6;
		user += (double)(b->cpu_user_us[i] - a->cpu_user_us[i]) / 1e6;
		sys += (double)(b->cpu_sys_us[i] - a->cpu_sys_us[i]) / 1e6;
	}
	json_object_set_new(r->raw, "memcg", mj);
	put(r, "refault_pages",
	    (double)(kv(&sum, "workingset_refault_anon", NULL) +
		     kv(&sum, "workingset_refault_file", NULL)));
	h = false;
	uint64_t ms = kv(&sum, "pgscan", &h);
	if (h) {
		put(r, "memcg_pgscan", (double)ms);
		put(r, "memcg_pgsteal", (double)kv(&sum, "pgsteal", NULL));
	}
	h = false;
	uint64_t si = kv(&sum, "pswpin", &h);
	if (h)
		put(r, "memcg_swapins", (double)si);
	h = false;
	uint64_t po = kv(&sum, "pgpgout", &h);
	if (h)
		put(r, "memcg_pgpgout", (double)po);
	h = false;
	uint64_t hits = kv(&sum, "failcnt", &h) + kv(&sum, "events.max", &h);
	if (h)
		put(r, "memcg_limit_hits", (double)hits);
	if (a->have_psi && b->have_psi) {
		put(r, "reclaim_stall_s", stall);
		put(r, "reclaim_cpu_s", ks + stall);
	}
	if (a->have_cpu && b->have_cpu) {
		put(r, "vm_user_cpu_s", user);
		put(r, "vm_sys_cpu_s", sys);
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
		put(r, "mglru_aging_passes", (double)seq);
}

static void kvm_counters(struct rep *r, const struct ab_kvset *k, const struct msg *msgs, int n)
{
	bool h = false;
	uint64_t v;

	v = kv(k, "age_calls", &h);
	if (h) {
		put(r, "macro_kvm_age_calls", (double)v);
		put(r, "macro_kvm_age_walk_s", (double)kv(k, "age_walk_ns", NULL) / 1e9);
		put(r, "macro_kvm_lock_wait_s", (double)kv(k, "age_lock_wait_ns", NULL) / 1e9);
		put(r, "macro_kvm_declines", (double)kv(k, "age_fast_declines", NULL));
	}
	h = false;
	v = kv(k, "vcpu.pf_taken", &h);
	if (h)
		put(r, "macro_vcpu_faults", (double)v);
	(void)msgs;
	(void)n;
}

/* ---- one repetition ------------------------------------------------------ */

static uint64_t limit_bytes(void)
{
	return (o.mib << 20) * (uint64_t)o.limit_pct / 100 + HARNESS_SLACK;
}

static void describe_death(int vm, pid_t pid, int status, const struct ab_macro_cg *cg,
			   const struct ab_kvset *ev0, char *err, size_t len)
{
	struct ab_kvset ev;
	char p[700];
	uint64_t ook = 0, ook0 = 0;

	ab_kvset_clear(&ev);
	snprintf(p, sizeof(p), "%s/%s", cg->mem,
		 hier.mem_version == 2 ? "memory.events" : "memory.oom_control");
	ab_kvset_read(&ev, p, "events.");
	ab_kvset_get(&ev, "events.oom_kill", &ook);
	if (ev0)
		ab_kvset_get(ev0, "events.oom_kill", &ook0);
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL && ook > ook0)
		snprintf(err, len,
			 "VM %d (pid %d) was killed by the OOM killer in %s: memory limit %llu MiB "
			 "is too low for this %s-backed guest%s",
			 vm, (int)pid, cg->mem, (unsigned long long)(cg->limit >> 20),
			 ab_vm_backing_name((enum ab_vm_backing)o.backing),
			 ab_macro_swap_total() ? ""
					       : " without swap (use --backing file or --zram)");
	else if (WIFSIGNALED(status))
		snprintf(err, len, "VM %d (pid %d) died of signal %d (%s)", vm, (int)pid,
			 WTERMSIG(status), strsignal(WTERMSIG(status)));
	else
		snprintf(err, len, "VM %d (pid %d) exited with status %d", vm, (int)pid,
			 WEXITSTATUS(status));
}

struct loop_arg {
	volatile bool stop;
	int n;
	uint64_t bytes;
};

static void *reclaim_loop(void *argp)
{
	struct loop_arg *a = argp;
	char v[32], f[700];

	snprintf(v, sizeof(v), "%llu", (unsigned long long)a->bytes);
	while (!a->stop) {
		struct timespec ts = {o.reclaim_ms / 1000, (long)(o.reclaim_ms % 1000) * 1000000};

		for (int i = 0; i < a->n; i++) {
			snprintf(f, sizeof(f), "%s/memory.reclaim", res.cg[i].mem);
			ab_kvm_write_str(f, v); /* EAGAIN: nothing to reclaim now */
		}
		nanosleep(&ts, NULL);
	}
	return NULL;
}

/* The last non-empty line of a (small) log file, trimmed. */
static void last_line(const char *path, char *out, size_t len)
{
	size_t n;
	char *buf = ab_read_file(path, &n), *l, *e;

	out[0] = 0;
	if (!buf)
		return;
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = 0;
	l = strrchr(buf, '\n');
	l = l ? l + 1 : buf;
	while (*l == ' ' || *l == '\t')
		l++;
	for (e = l; *e; e++)
		if (*e == '"')
			*e = '\'';
	snprintf(out, len, "%s", l);
	free(buf);
}

static bool set_mode(const char *mode, char *err, size_t len)
{
	int e;

	if (!patched)
		return true;
	if ((e = ab_vm_age_mode_set(NULL, mode))) {
		snprintf(err, len, "cannot set %s to %s: %s", AB_VM_AGE_MODE_PARAM, mode,
			 strerror(-e));
		return false;
	}
	return true;
}

/* ---- one repetition with our VMs, phase by phase ---------------------------- */

/* The state of one repetition's VMs; each phase returns nonzero with err set. */
struct vms_run {
	struct rep *r;
	int n;
	int rfd[AB_MACRO_MAX_VMS], wfd[AB_MACRO_MAX_VMS];
	char err[800];
	uint64_t go_ns;
	pthread_t loop;
	struct loop_arg la;
	bool loop_on;
	char *lgf[AB_MACRO_MAX_VMS][2]; /* lru_gen_full sections before/after */
};

static struct msg vm_msgs[AB_MACRO_MAX_VMS];
static struct ab_macro_snap vm_a, vm_b;
static struct ab_kvset vm_ev0[AB_MACRO_MAX_VMS];

static int vms_cgroups(struct vms_run *v)
{
	for (int i = 0; i < v->n; i++) {
		int e = ab_macro_cg_create(
		    &hier, &res.cg[i], o.wl == WL_SYNTH || o.limit_pct < 100 ? limit_bytes() : 0,
		    v->err, sizeof(v->err));

		res.ncg = i + 1;
		if (e)
			return -1;
	}
	return 0;
}

static __attribute__((noreturn)) void vms_child(struct vms_run *v, int i, int to[2], int from[2])
{
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	close(to[1]);
	close(from[0]);
	if (o.wl == WL_MGMT) {
		char log[700];

		snprintf(log, sizeof(log), "%s/mgmt-%03d-vm%d.log", o.out, v->r->order, i);
		child_mgmt(to[0], log);
	}
	child_synthetic(i, to[0], from[1]);
}

/* Fork the VM children, each into its cgroup; note the cgroups' events. */
static int vms_spawn(struct vms_run *v)
{
	for (int i = 0; i < v->n; i++) {
		int to[2], from[2];

		if (pipe2(to, O_CLOEXEC) || pipe2(from, O_CLOEXEC)) {
			snprintf(v->err, sizeof(v->err), "pipe: %s", strerror(errno));
			return -1;
		}
		fflush(NULL);
		pid_t pid = fork();

		if (pid < 0) {
			snprintf(v->err, sizeof(v->err), "fork: %s", strerror(errno));
			return -1;
		}
		if (pid == 0)
			vms_child(v, i, to, from);
		res.pid[i] = pid;
		res.n = i + 1;
		close(to[0]);
		close(from[1]);
		v->wfd[i] = to[1];
		v->rfd[i] = from[0];
		if (ab_macro_cg_attach(&res.cg[i], pid, v->err, sizeof(v->err)) ||
		    write(v->wfd[i], "a", 1) != 1)
			return -1;
		if (o.verbose)
			ab_warn("macro: VM %d pid %d in %s", i, (int)pid, res.cg[i].mem);
	}
	for (int i = 0; i < v->n; i++) {
		char p[700];

		ab_kvset_clear(&vm_ev0[i]);
		snprintf(p, sizeof(p), "%s/%s", res.cg[i].mem,
			 hier.mem_version == 2 ? "memory.events" : "memory.oom_control");
		ab_kvset_read(&vm_ev0[i], p, "events.");
	}
	return 0;
}

/*
 * A message of type @want from every VM by @deadline; otherwise err names the
 * @phase that timed out, the VM's own error or how it died. The fill pass's
 * time is the slowest VM's, counted as they report.
 */
static int vms_wait_msgs(struct vms_run *v, const char *phase, int want, uint64_t deadline)
{
	for (int i = 0; i < v->n; i++) {
		struct msg *m = &vm_msgs[i];
		int e = read_full(v->rfd[i], m, sizeof(*m), deadline), status;

		if (e == -ETIMEDOUT) {
			snprintf(v->err, sizeof(v->err), "VM %d: %s timed out", i, phase);
			return -1;
		}
		if (e || m->type != want) {
			if (!e && m->type == MSG_ERROR)
				snprintf(v->err, sizeof(v->err), "%s", m->err);
			waitpid(res.pid[i], &status, 0);
			if (!v->err[0] || e)
				describe_death(i, res.pid[i], status, &res.cg[i], &vm_ev0[i],
					       v->err, sizeof(v->err));
			res.pid[i] = 0;
			return -1;
		}
		if (want == MSG_READY)
			v->r->fill_s = fmax(v->r->fill_s, (double)m->fill_ns / 1e9);
	}
	return 0;
}

static int vms_fill(struct vms_run *v)
{
	if (o.wl != WL_SYNTH)
		return 0;
	return vms_wait_msgs(v, "fill pass", MSG_READY,
			     ab_now_ns() + (120ull + o.mib * (uint64_t)v->n) * 1000000000ull);
}

/* mgmt: the run is the measured phase; wait for every selftest to exit 0. */
static int vms_wait_mgmt(struct vms_run *v)
{
	uint64_t deadline = ab_now_ns() + 3600ull * 1000000000ull;
	int status;

	for (int i = 0; i < v->n; i++) {
		pid_t w;

		while ((w = waitpid(res.pid[i], &status, WNOHANG)) == 0 && ab_now_ns() < deadline) {
			struct timespec ts = {0, 5000000};

			nanosleep(&ts, NULL);
		}
		if (w != res.pid[i]) {
			snprintf(v->err, sizeof(v->err), "max_guest_memory_test timed out");
			return -1;
		}
		res.pid[i] = 0;
		if (!WIFEXITED(status) || WEXITSTATUS(status)) {
			char *err = v->err;
			size_t len = sizeof(v->err);

			describe_death(i, w, status, &res.cg[i], &vm_ev0[i], err, len);
			char log[700], last[200] = "";

			snprintf(log, sizeof(log), "%s/mgmt-%03d-vm%d.log", o.out, v->r->order, i);
			last_line(log, last, sizeof(last));
			snprintf(err + strlen(err), len - strlen(err),
				 " (max_guest_memory_test: \"%s\"; log: %s)", last, log);
			ab_macro_snap(&vm_b, res.cg, v->n, hier.mem_version);
			return -1;
		}
	}
	return 0;
}

/* The measured phase, between the two snapshots. */
static int vms_access(struct vms_run *v)
{
	struct rep *r = v->r;
	int n = v->n;

	for (int i = 0; i < n; i++)
		v->lgf[i][0] = ab_macro_lru_gen_full(res.cg[i].mem);
	ab_macro_snap(&vm_a, res.cg, n, hier.mem_version);
	if (o.reclaim_ms) {
		v->loop_on = !pthread_create(&v->loop, NULL, reclaim_loop, &v->la);
	}
	v->go_ns = ab_now_ns();
	for (int i = 0; i < n; i++)
		if (write(v->wfd[i], "g", 1) != 1) {
			snprintf(v->err, sizeof(v->err), "VM %d: cannot start the access phase", i);
			return -1;
		}
	if (o.verbose)
		fprintf(stderr, "agebench: macro: access phase started (%s, %d VM%s)\n",
			modes[r->mode], n, n > 1 ? "s" : "");
	if (o.wl == WL_SYNTH) {
		uint64_t deadline =
		    ab_now_ns() + (uint64_t)((o.ops ? 660 : o.seconds * 2 + 60) * 1e9);

		if (vms_wait_msgs(v, "access phase", MSG_RESULT, deadline))
			return -1;
	} else if (vms_wait_mgmt(v)) {
		return -1;
	}
	r->wall_s = (double)(ab_now_ns() - v->go_ns) / 1e9;
	ab_macro_snap(&vm_b, res.cg, n, hier.mem_version);
	for (int i = 0; i < n; i++)
		v->lgf[i][1] = ab_macro_lru_gen_full(res.cg[i].mem);
	return 0;
}

static void vms_stop_loop(struct vms_run *v)
{
	if (v->loop_on) {
		v->la.stop = true;
		pthread_join(v->loop, NULL);
		v->loop_on = false;
	}
}

/* Stop the reclaim loop; every VM left must exit 0. */
static int vms_reap(struct vms_run *v)
{
	vms_stop_loop(v);
	for (int i = 0; i < v->n; i++)
		if (res.pid[i] > 0) {
			pid_t pid = res.pid[i];
			int status;

			waitpid(pid, &status, 0);
			res.pid[i] = 0;
			if (!WIFEXITED(status) || WEXITSTATUS(status)) {
				describe_death(i, pid, status, &res.cg[i], &vm_ev0[i], v->err,
					       sizeof(v->err));
				return -1;
			}
		}
	return 0;
}

/* Counters of a repetition that ran: kernel deltas, then the guests' reports. */
static void vms_results(struct vms_run *v)
{
	static struct ab_kvset ksum;
	struct rep *r = v->r;
	int n = v->n;

	snap_counters(r, &vm_a, &vm_b, n);
	if (v->lgf[0][0] || v->lgf[0][1]) { /* MGLRU: generations and walk stats, raw */
		json_t *lj = json_array();

		for (int i = 0; i < n; i++)
			json_array_append_new(
			    lj, json_pack("{s:s, s:s}", "before", v->lgf[i][0] ? v->lgf[i][0] : "",
					  "after", v->lgf[i][1] ? v->lgf[i][1] : ""));
		json_object_set_new(r->raw, "lru_gen_full", lj);
	}
	if (o.wl != WL_SYNTH)
		return;
	struct ab_hist h;
	uint64_t ops = 0, user = 0, sys = 0;
	json_t *kj = json_array();

	ab_hist_init(&h);
	ab_kvset_clear(&ksum);
	for (int i = 0; i < n; i++) {
		ops += vm_msgs[i].ops;
		user += vm_msgs[i].user_us;
		sys += vm_msgs[i].sys_us;
		ab_hist_merge(&h, &vm_msgs[i].hist);
		ab_kvset_add(&ksum, &vm_msgs[i].kvm);
		json_array_append_new(kj, kv_json(&vm_msgs[i].kvm));
	}
	json_object_set_new(r->raw, "kvm", kj);
	put(r, "ops", (double)ops);
	put(r, "ops_per_s", r->wall_s > 0 ? (double)ops / r->wall_s : 0);
	if (h.count) {
		put(r, "op_p50_ns", (double)ab_hist_quantile(&h, 0.5));
		put(r, "op_p99_ns", (double)ab_hist_quantile(&h, 0.99));
		put(r, "op_max_ns", (double)h.max);
	}
	double val;
	if (!get(r, "vm_sys_cpu_s", &val)) { /* no cgroup v2: the children's own */
		put(r, "vm_user_cpu_s", (double)user / 1e6);
		put(r, "vm_sys_cpu_s", (double)sys / 1e6);
	}
	kvm_counters(r, &ksum, vm_msgs, n);
}

static void run_rep_vms(struct rep *r)
{
	struct vms_run v = {.r = r, .n = o.vms, .la = {.n = o.vms, .bytes = (o.mib << 20) / 100}};

	rep_res_begin();
	for (int i = 0; i < v.n; i++)
		v.rfd[i] = v.wfd[i] = -1;
	if (vms_cgroups(&v) || vms_spawn(&v) || vms_fill(&v) || vms_access(&v) || vms_reap(&v)) {
		r->ok = false;
		snprintf(r->err, sizeof(r->err), "%s", v.err[0] ? v.err : "unknown failure");
	} else {
		vms_results(&v);
		r->ok = true;
	}
	vms_stop_loop(&v);
	for (int i = 0; i < v.n; i++) {
		if (v.rfd[i] >= 0)
			close(v.rfd[i]);
		if (v.wfd[i] >= 0)
			close(v.wfd[i]);
	}
	for (int i = 0; i < v.n; i++) {
		free(v.lgf[i][0]);
		free(v.lgf[i][1]);
	}
	rep_res_end(); /* kills what is left, reaps, removes the cgroups */
}

/* --cgroup PATH: the user's VM runs there; we only watch. */
static void run_rep_cgroup(struct rep *r)
{
	static struct ab_macro_snap a, b;
	static struct ab_macro_cg cg;

	memset(&cg, 0, sizeof(cg));
	snprintf(cg.mem, sizeof(cg.mem), "%s", o.cgroup);
	if (hier.mem_version == 2)
		snprintf(cg.v2, sizeof(cg.v2), "%s", o.cgroup);
	else
		ab_macro_v2_of(o.cgroup, cg.v2, sizeof(cg.v2));
	if (r->order == 0)
		ab_add_context("macro_cgroup_v2", cg.v2[0] ? cg.v2 : "none (no PSI, no cpu.stat)");
	ab_macro_snap(&a, &cg, 1, hier.mem_version);
	if (o.verbose)
		fprintf(stderr, "agebench: macro: access phase started (%s, cgroup %s)\n",
			modes[r->mode], o.cgroup);
	struct timespec ts = {(time_t)o.seconds, (long)((o.seconds - (time_t)o.seconds) * 1e9)};

	nanosleep(&ts, NULL);
	ab_macro_snap(&b, &cg, 1, hier.mem_version);
	r->wall_s = (double)(b.t_ns - a.t_ns) / 1e9;
	snap_counters(r, &a, &b, 1);
	r->ok = true;
}

/* ---- results --------------------------------------------------------------- */

static void replay(ab_state *st, void *arg)
{
	struct bench *b = arg;
	struct rep *r = &reps[b->idx[b->next++ % b->n]];

	if (!r->ok) {
		ab_skip_with_error(st, r->err);
		while (ab_keep_running(st)) {
		}
		return;
	}
	while (ab_keep_running(st))
		ab_set_iteration_time(st, r->wall_s);
	for (int i = 0; i < r->nc; i++)
		ab_counter(st, r->c[i].name, r->c[i].v, AB_CTR_DEFAULT);
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Median and range of counter @name over the ok repetitions of mode @m. */
static int mode_stats(int m, const char *name, double *med, double *lo, double *hi)
{
	double v[MAX_REPS];
	int n = 0;

	for (int i = 0; i < nreps; i++)
		if (reps[i].mode == m && reps[i].ok && get(&reps[i], name, &v[n]))
			n++;
	if (!n)
		return 0;
	qsort(v, (size_t)n, sizeof(double), cmp_d);
	*med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	*lo = v[0];
	*hi = v[n - 1];
	return n;
}

static double gamma_p(double a, double x) /* regularized lower incomplete gamma */
{
	double sum = 1.0 / a, term = sum;

	if (x <= 0)
		return 0;
	for (int n = 1; n < 500; n++) {
		term *= x / (a + n);
		sum += term;
		if (term < sum * 1e-12)
			break;
	}
	return fmin(1.0, sum * exp(-x + a * log(x) - lgamma(a)));
}

/*
 * Kruskal-Wallis test of counter @name across the modes (every mode needs
 * >= 2 good repetitions): 0 with H (tie-corrected) and its chi-square p
 * (k - 1 degrees of freedom), or -1.
 */
static int kruskal_wallis(const char *name, double *h, double *p)
{
	static double v[MAX_REPS], rank[MAX_REPS];
	static int grp[MAX_REPS], idx[MAX_REPS];
	int n = 0, cnt[AB_MODE_NR] = {0};

	for (int i = 0; i < nreps; i++)
		if (reps[i].ok && get(&reps[i], name, &v[n])) {
			grp[n] = reps[i].mode;
			cnt[reps[i].mode]++;
			idx[n] = n;
			n++;
		}
	for (int m = 0; m < nmodes; m++)
		if (cnt[m] < 2)
			return -1;
	for (int i = 1; i < n; i++) /* insertion sort of idx by value */
		for (int j = i; j > 0 && v[idx[j - 1]] > v[idx[j]]; j--) {
			int t = idx[j];

			idx[j] = idx[j - 1];
			idx[j - 1] = t;
		}
	double ties = 0;

	for (int i = 0; i < n;) {
		int j = i;

		while (j + 1 < n && v[idx[j + 1]] == v[idx[i]])
			j++;
		for (int k = i; k <= j; k++)
			rank[idx[k]] = (i + j) / 2.0 + 1;
		double t = j - i + 1;

		ties += t * t * t - t;
		i = j + 1;
	}
	double corr = 1 - ties / ((double)n * n * n - n), sum = 0;

	if (corr <= 0)
		return -1; /* all equal */
	for (int m = 0; m < nmodes; m++) {
		double r = 0;

		for (int i = 0; i < n; i++)
			if (grp[i] == m)
				r += rank[i];
		sum += r * r / cnt[m];
	}
	*h = (12.0 / ((double)n * (n + 1)) * sum - 3.0 * (n + 1)) / corr;
	*p = 1 - gamma_p((nmodes - 1) / 2.0, *h / 2);
	return 0;
}

static const char *const table_ctrs[] = {"ops_per_s",	  "op_p99_ns",	  "reclaim_cpu_s",
					 "refault_pages", "memcg_pgscan", "sys_pgscan",
					 "vm_sys_cpu_s",  "kswapd_cpu_s", NULL};

static json_t *summary(FILE *out)
{
	json_t *arr = json_array();
	char best[64] = "";
	double best_score = 0;

	fprintf(out, "%-15s %5s %12s %10s %10s %10s %10s %10s %9s %9s\n", "mode", "ok", "ops/s",
		"op_p99", "recl_cpu", "refaults", "memcg_scan", "sys_scan", "vm_sys_s", "kswapd_s");
	for (int m = 0; m < nmodes; m++) {
		int ok = 0, all = 0;
		json_t *row = json_pack("{s:s}", "mode", modes[m]);

		for (int i = 0; i < nreps; i++)
			if (reps[i].mode == m)
				all++, ok += reps[i].ok;
		fprintf(out, "%-15s %2d/%-2d", modes[m], ok, all);
		json_object_set_new(row, "reps_ok", json_integer(ok));
		json_object_set_new(row, "reps", json_integer(all));
		for (int c = 0; table_ctrs[c]; c++) {
			double med, lo, hi;
			int w = c == 0 ? 12 : c >= 6 ? 9 : 10;

			if (mode_stats(m, table_ctrs[c], &med, &lo, &hi)) {
				fprintf(out, " %*.4g", w, med);
				json_object_set_new(row, table_ctrs[c], json_real(med));
			} else {
				fprintf(out, " %*s", w, "-");
			}
		}
		fprintf(out, "\n");
		json_array_append_new(arr, row);
	}
	fprintf(out, "(medians over the repetitions that did not fail; op_p99 ns in guest time; "
		     "reclaim_cpu = kswapd CPU + memory stall of the VMs' cgroups, s)\n");
	if (nmodes < 2) {
		fprintf(out, "separation: only one mode here (%s): no metric can separate modes\n",
			modes[0]);
		return arr;
	}
	/* which counter separates the modes most: Kruskal-Wallis H over the good
	 * repetitions (ranks, so units and outliers do not matter; ties get
	 * their mean rank and the tie correction) */
	json_t *sep = json_object();
	double best_p = 2;

	for (size_t c = 0; c < ab_counter_count; c++) {
		const char *name = ab_counter_table[c].name;
		double h, p;

		if (kruskal_wallis(name, &h, &p))
			continue;
		json_object_set_new(sep, name, json_pack("{s:f, s:f}", "H", h, "p", p));
		if (h > best_score) {
			best_score = h;
			best_p = p;
			snprintf(best, sizeof(best), "%s", name);
		}
	}
	json_array_append_new(arr, json_pack("{s:o}", "separation", sep));
	if (!best[0])
		fprintf(out, "separation: no counter has >= 2 good repetitions in every mode\n");
	else
		fprintf(
		    out,
		    "separation: %s separates the modes most (Kruskal-Wallis H %.2f, p %.3f%s)\n",
		    best, best_score, best_p,
		    best_p < 0.05 ? "" : "; no counter separates them at p < 0.05");
	return arr;
}

struct finish_arg {
	int argc;
	char **argv;
};

static int finish_json(json_t *root, json_t *ab, void *argp)
{
	struct finish_arg *fa = argp;
	json_t *cmd = json_array();

	(void)root;
	json_object_set_new(ab, "version", json_string(AB_VERSION));
	json_array_append_new(cmd, json_string("agebench"));
	for (int i = 0; i < fa->argc; i++)
		json_array_append_new(cmd, json_string(fa->argv[i]));
	json_object_set_new(ab, "command", cmd);
	json_object_set_new(ab, "summary", summary(stdout));
	return 0;
}

static int write_raw(void)
{
	json_t *arr = json_array();
	char path[600];

	for (int i = 0; i < nreps; i++) {
		struct rep *r = &reps[i];

		json_object_set_new(r->raw, "name", json_string(benches[r->mode].name));
		json_object_set_new(r->raw, "mode", json_string(modes[r->mode]));
		json_object_set_new(r->raw, "repetition", json_integer(r->rep));
		json_object_set_new(r->raw, "order", json_integer(r->order));
		json_object_set_new(r->raw, "ok", json_boolean(r->ok));
		if (!r->ok)
			json_object_set_new(r->raw, "error", json_string(r->err));
		json_object_set_new(r->raw, "wall_s", json_real(r->wall_s));
		json_object_set_new(r->raw, "fill_s", json_real(r->fill_s));
		json_array_append(arr, r->raw);
	}
	char *s = json_dumps(arr, JSON_INDENT(1) | JSON_SORT_KEYS);
	int e;

	json_decref(arr);
	snprintf(path, sizeof(path), "%s/raw.json", o.out);
	e = s ? ab_write_atomic(path, s, strlen(s)) : -ENOMEM;
	free(s);
	if (e)
		ab_warn("%s: %s", path, strerror(-e));
	return e;
}

/* The report reads DIR/macro.json for its macro section: the same document. */
static void copy_macro_json(const char *results)
{
	size_t len;
	char *buf = ab_read_file(results, &len), path[600];

	snprintf(path, sizeof(path), "%s/macro.json", o.out);
	if (buf && ab_write_atomic(path, buf, len))
		ab_warn("%s: cannot write", path);
	free(buf);
}

static int assert_pipeline(void)
{
	int bad = 0;

	for (int i = 0; i < nreps; i++) {
		const struct rep *r = &reps[i];
		double v, w;

		if (!r->ok) {
			ab_warn("pipeline: %s rep %d failed: %s", modes[r->mode], r->rep, r->err);
			bad++;
			continue;
		}
#define NEED(cond, ...)                                                                            \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			ab_warn("pipeline: %s rep %d: " __VA_ARGS__);                              \
			bad++;                                                                     \
		}                                                                                  \
	} while (0)
		if (get(r, "memcg_pgsteal", &v))
			NEED(v > 0, "no reclaim in the VMs' memcgs (memcg_pgsteal 0)",
			     modes[r->mode], r->rep);
		else
			NEED(get(r, "memcg_pgpgout", &v) && v > 0 && get(r, "sys_pgscan", &w) &&
				 w > 0,
			     "no reclaim (memcg_pgpgout / sys_pgscan 0)", modes[r->mode], r->rep);
		NEED(get(r, "refault_pages", &v) && v > 0, "no refaults counted", modes[r->mode],
		     r->rep);
		if (o.wl == WL_SYNTH)
			NEED(get(r, "ops", &v) && v > 0, "the guest made no operations",
			     modes[r->mode], r->rep);
		if (patched && o.wl == WL_SYNTH)
			NEED(get(r, "macro_kvm_age_calls", &v) && v > 0,
			     "KVM aging stats did not move (age_calls)", modes[r->mode], r->rep);
#undef NEED
	}
	if (!bad)
		fprintf(stderr,
			"agebench: macro: pipeline ok (%d repetitions: reclaim, refaults%s%s)\n",
			nreps, o.wl == WL_SYNTH ? ", guest operations" : "",
			patched ? ", KVM aging stats" : "");
	return bad ? -1 : 0;
}

/* ---- options ----------------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: agebench macro [options]\n"
	    "\n"
	    "Reclaim cost and outcome with VMs under memory pressure, per kvm.mmu_age_mode:\n"
	    "each VM in its own memory cgroup limited below its memory, the kernel reclaiming\n"
	    "as it schedules it. Writes DIR/results.json (Google Benchmark format, names\n"
	    "macro/<mode>/<workload>/vms:N/mib:M/limit:PCT), DIR/raw.json (kernel counter\n"
	    "deltas per repetition) and prints a per-mode table. docs/macrobench.md.\n"
	    "\n"
	    "  --mode LIST|all   modes to sweep (default all the kernel offers; stock: native)\n"
	    "  --workload W      synthetic (default: our VM library's guest, hot/cold),\n"
	    "                    mgmt (the kernel's max_guest_memory_test)\n"
	    "  --cgroup PATH     watch a VM you run in cgroup PATH instead (no VMs created)\n"
	    "  --vms N           VMs, each in its own memcg (default: from the machine)\n"
	    "  --vcpus N         vCPUs per VM (default 1)\n"
	    "  --mib M           guest memory per VM, MiB, even (default: from MemAvailable)\n"
	    "  --limit PCT       memory limit = PCT%% of the guest memory + 16 MiB (default 50)\n"
	    "  --hot-pct P       hot share of the guest pages (default 25)\n"
	    "  --cold-every K    cold pages touched every K-th pass (default 4; 0 never)\n"
	    "  --seconds S       access phase per repetition (default 2 quick, 20 full)\n"
	    "  --ops N           access phase until N operations per VM instead\n"
	    "  --reps N          repetitions per mode (default 3 quick, 5 full)\n"
	    "  --backing B       file (page cache) or anon (needs swap); default file\n"
	    "                    without swap, anon with swap\n"
	    "  --file-dir DIR    where file-backed guests live (default /var/tmp)\n"
	    "  --zram MIB        set up swap on zram for the run (removed afterwards)\n"
	    "  --reclaim-loop MS also write memory.reclaim every MS ms (cgroup v2)\n"
	    "  --mgmt PATH       max_guest_memory_test binary (default: the build's)\n"
	    "  --seed N          seed of the repetition order and the hot set\n"
	    "  --quick           small and short (1 VM, 64 MiB, 2 s, 3 reps)\n"
	    "  --out DIR         output directory (default results/macro-<timestamp>)\n"
	    "  --assert-pipeline exit 1 unless every repetition reclaimed, refaulted, ran\n"
	    "  -v, -q, -h        verbose, quiet, this help\n"
	    "\n"
	    "Exit status: 0 ok, 1 a repetition failed, 2 bad usage, 77 this machine cannot.\n");
}

static int bad(const char *flag, const char *arg, const char *why)
{
	ab_warn("macro: %s %s: %s", flag, arg ? arg : "", why);
	return AB_EXIT_USAGE;
}

static int num(const char *flag, const char *arg, long lo, long hi, long *out)
{
	char *end;

	errno = 0;
	long v = strtol(arg, &end, 10);

	if (errno || end == arg || *end || v < lo || v > hi) {
		char why[96];

		snprintf(why, sizeof(why), "expected an integer in %ld..%ld", lo, hi);
		return bad(flag, arg, why);
	}
	*out = v;
	return 0;
}

/* Modes the running kernel accepts (patched), or native. */
static void probe_modes(void)
{
	int ids[AB_MODE_NR];
	char cur[64];

	nmodes = 0;
	patched = !ab_vm_age_mode_get(NULL, cur, sizeof(cur));
	int n = patched ? ab_vm_age_modes_accepted(NULL, ids) : 0;

	for (int i = 0; i < n; i++)
		modes[nmodes++] = ab_mode_name((enum ab_mode_id)ids[i]);
	if (!nmodes) {
		patched = false;
		modes[nmodes++] = ab_mode_name(AB_MODE_NATIVE);
	}
}

static int select_modes(const char *arg)
{
	const char *avail[AB_MODE_NR];
	int na = nmodes, k = 0;
	char list[256] = "";

	if (!arg || !strcmp(arg, "all"))
		return 0;
	memcpy(avail, modes, sizeof(avail));
	for (int i = 0; i < na; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? "," : "",
			 avail[i]);
	char *dup = strdup(arg), *save = NULL;

	for (char *m = strtok_r(dup, ",", &save); m; m = strtok_r(NULL, ",", &save)) {
		int j;
		char why[400];

		for (j = 0; j < na && strcmp(avail[j], m); j++) {
		}
		if (j == na) {
			snprintf(why, sizeof(why), "%s mode '%s'; this kernel offers: %s%s",
				 ab_mode_find(m) ? "unavailable" : "unknown", m, list,
				 patched ? "" : " (no kvm.mmu_age_mode: stock kernel)");
			free(dup);
			return bad("--mode", arg, why);
		}
		modes[k++] = avail[j];
	}
	free(dup);
	nmodes = k;
	return 0;
}

/* The options with a number: 0, AB_EXIT_USAGE, or usage for an unknown one. */
static int parse_num_opt(int c, const char *arg)
{
	long v;

	switch (c) {
	case 'n':
		if (num("--vms", arg, 1, AB_MACRO_MAX_VMS, &v))
			return AB_EXIT_USAGE;
		o.vms = (int)v;
		break;
	case 'V':
		if (num("--vcpus", arg, 1, AB_VM_MAX_VCPUS, &v))
			return AB_EXIT_USAGE;
		o.vcpus = (int)v;
		break;
	case 'M':
		if (num("--mib", arg, 2, 1 << 20, &v))
			return AB_EXIT_USAGE;
		if (v % 2)
			return bad("--mib", arg, "must be even (guest memory comes in 2 MiB)");
		o.mib = (uint64_t)v;
		break;
	case 'L':
		if (num("--limit", arg, 1, 100, &v))
			return AB_EXIT_USAGE;
		o.limit_pct = (int)v;
		break;
	case 'H':
		if (num("--hot-pct", arg, 1, 100, &v))
			return AB_EXIT_USAGE;
		o.hot_pct = (int)v;
		break;
	case 'C':
		if (num("--cold-every", arg, 0, 1 << 20, &v))
			return AB_EXIT_USAGE;
		o.cold_every = (int)v;
		break;
	case 's': {
		char *end;

		o.seconds = strtod(arg, &end);
		if (end == arg || *end || !(o.seconds > 0) || o.seconds > 86400)
			return bad("--seconds", arg, "expected a number of seconds > 0");
		break;
	}
	case 'O':
		if (num("--ops", arg, 1, LONG_MAX, &v))
			return AB_EXIT_USAGE;
		o.ops = (uint64_t)v;
		break;
	case 'r':
		if (num("--reps", arg, 1, MAX_REPS / AB_MODE_NR / 4, &v))
			return AB_EXIT_USAGE;
		o.reps = (int)v;
		break;
	case 'z':
		if (num("--zram", arg, 16, 1 << 20, &v))
			return AB_EXIT_USAGE;
		o.zram_mib = (int)v;
		break;
	case 'R':
		if (num("--reclaim-loop", arg, 1, 60000, &v))
			return AB_EXIT_USAGE;
		o.reclaim_ms = (int)v;
		break;
	case 'S': {
		char *end;

		errno = 0;
		o.seed = strtoull(arg, &end, 0);
		if (errno || end == arg || *end)
			return bad("--seed", arg, "expected an integer");
		break;
	}
	default:
		usage(stderr);
		return AB_EXIT_USAGE;
	}
	return 0;
}

/* One option: 0 or the exit status (--help exits). */
static int parse_opt(int c, const char *arg)
{
	long v;

	switch (c) {
	case 'm':
		o.mode_arg = arg;
		break;
	case 'w':
		for (v = 0; v < 2 && strcmp(arg, wl_names[v]); v++) {
		}
		if (v == 2)
			return bad("--workload", arg, "expected synthetic or mgmt");
		o.wl = (enum workload)v;
		break;
	case 'c':
		o.cgroup = arg;
		o.wl = WL_CGROUP;
		break;
	case 'b':
		if ((o.backing = ab_vm_backing_parse(arg)) < 0 || o.backing == AB_VM_BACKING_THP)
			return bad("--backing", arg, "expected file or anon");
		break;
	case 'F':
		o.file_dir = arg;
		break;
	case 'g':
		o.mgmt = arg;
		break;
	case 'Q':
		o.quick = true;
		break;
	case 'o':
		o.out = arg;
		break;
	case 'A':
		o.assert_pipeline = true;
		break;
	case 'v':
		o.verbose = true;
		break;
	case 'q':
		o.quiet = true;
		break;
	case 'h':
		usage(stdout);
		exit(AB_EXIT_OK);
	default:
		return parse_num_opt(c, arg);
	}
	return 0;
}

static int parse(int argc, char **argv)
{
	static const struct option lo[] = {{"mode", required_argument, NULL, 'm'},
					   {"workload", required_argument, NULL, 'w'},
					   {"cgroup", required_argument, NULL, 'c'},
					   {"vms", required_argument, NULL, 'n'},
					   {"vcpus", required_argument, NULL, 'V'},
					   {"mib", required_argument, NULL, 'M'},
					   {"limit", required_argument, NULL, 'L'},
					   {"hot-pct", required_argument, NULL, 'H'},
					   {"cold-every", required_argument, NULL, 'C'},
					   {"seconds", required_argument, NULL, 's'},
					   {"ops", required_argument, NULL, 'O'},
					   {"reps", required_argument, NULL, 'r'},
					   {"backing", required_argument, NULL, 'b'},
					   {"file-dir", required_argument, NULL, 'F'},
					   {"zram", required_argument, NULL, 'z'},
					   {"reclaim-loop", required_argument, NULL, 'R'},
					   {"mgmt", required_argument, NULL, 'g'},
					   {"seed", required_argument, NULL, 'S'},
					   {"quick", no_argument, NULL, 'Q'},
					   {"out", required_argument, NULL, 'o'},
					   {"assert-pipeline", no_argument, NULL, 'A'},
					   {"verbose", no_argument, NULL, 'v'},
					   {"quiet", no_argument, NULL, 'q'},
					   {"help", no_argument, NULL, 'h'},
					   {0, 0, 0, 0}};
	int c, rc;

	o = (struct opts){.limit_pct = 50,
			  .hot_pct = 25,
			  .cold_every = 4,
			  .backing = -1,
			  .vcpus = 1,
			  .seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20)};
	optind = 1;
	while ((c = getopt_long(argc, argv, "vqh", lo, NULL)) != -1)
		if ((rc = parse_opt(c, optarg)))
			return rc;
	if (optind < argc)
		return bad("argument", argv[optind], "unexpected (see agebench macro --help)");
	if (!o.seed)
		o.seed = 1;
	return 0;
}

/* Defaults sized from the machine (hwloc PUs, MemAvailable). */
static void size_defaults(void)
{
	uint64_t avail = ab_vm_mem_available() >> 20;
	int pus = ab_topo_nr_pus();

	if (!o.vms)
		o.vms = o.quick || o.wl == WL_CGROUP ? 1 : pus / 2 > 8 ? 8 : pus / 2 ? pus / 2 : 1;
	if (!o.mib) {
		uint64_t m = avail / 4 / (uint64_t)o.vms;

		if (o.wl == WL_MGMT)
			m = 1024; /* the selftest sizes in GiB */
		else if (o.quick)
			m = 64;
		else
			m = m < 64 ? 64 : m > 1024 ? 1024 : m;
		o.mib = m & ~1ull;
	}
	if (!o.seconds)
		o.seconds = o.quick ? 2 : 20;
	if (!o.reps)
		o.reps = o.quick ? 3 : 5;
	if (o.backing < 0)
		o.backing =
		    ab_macro_swap_total() || o.zram_mib ? AB_VM_BACKING_ANON : AB_VM_BACKING_FILE;
	if (!o.file_dir) {
		const char *e = getenv("AGEBENCH_KVM_FILE_DIR");
		struct stat sb;

		o.file_dir = e ? e : stat("/var/tmp", &sb) == 0 ? "/var/tmp" : "/tmp";
	}
}

static char zram_dev[64];
static void zram_cleanup(void *arg)
{
	(void)arg;
	if (zram_dev[0])
		ab_macro_zram_teardown(zram_dev);
	zram_dev[0] = 0;
}

static char out_dir[512];
static volatile bool out_created;
static void out_cleanup(void *arg)
{
	(void)arg;
	if (out_created)
		rmdir(out_dir); /* only if still empty */
}

static void ctx_kv(const char *k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void ctx_kv(const char *k, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	ab_add_context(k, buf);
}

/* Pre-flight checks, each a message naming the cause; 0 or the exit status. */
static int preflight(void)
{
	char msg[600];
	int rc;

	if (o.wl == WL_CGROUP) {
		char f[700];
		struct stat sb;

		snprintf(f, sizeof(f), "%s/memory.stat", o.cgroup);
		if (stat(o.cgroup, &sb) || !S_ISDIR(sb.st_mode))
			return bad("--cgroup", o.cgroup, "no such cgroup directory");
		if (access(f, R_OK))
			return bad("--cgroup", o.cgroup,
				   "not a memory cgroup (no memory.stat; give the directory under "
				   "the memory hierarchy, e.g. /sys/fs/cgroup/memory/...)");
	}
	if (o.wl == WL_MGMT && !o.mgmt)
		o.mgmt = getenv("AGEBENCH_MGMT") ? getenv("AGEBENCH_MGMT") : AB_MACRO_MGMT_DEFAULT;
	if (o.wl == WL_MGMT && access(o.mgmt, X_OK)) {
		ab_warn("macro: --workload mgmt: %s: %s (build it: cmake --build build --target "
			"macro-mgmt, or --mgmt PATH)",
			o.mgmt, strerror(errno));
		return AB_EXIT_SKIP;
	}
	if (o.wl != WL_CGROUP) {
		int fd = open(getenv("AB_VM_KVM_DEV") ? getenv("AB_VM_KVM_DEV") : "/dev/kvm",
			      O_RDWR | O_CLOEXEC);

		if (fd < 0) {
			ab_warn("macro: /dev/kvm: %s%s", strerror(errno),
				errno == EACCES ? " (add yourself to group kvm or run as root)"
						: "");
			return AB_EXIT_SKIP;
		}
		close(fd);
	}
	if ((rc = ab_macro_hier_probe(&hier, msg, sizeof(msg)))) {
		ab_warn("macro: memory cgroups: %s", msg);
		return AB_EXIT_SKIP;
	}
	if (o.reclaim_ms && hier.mem_version != 2)
		return bad(
		    "--reclaim-loop", "",
		    "needs cgroup v2 memory.reclaim; this machine's memory controller is v1");
	if (o.wl != WL_CGROUP && o.backing == AB_VM_BACKING_FILE && access(o.file_dir, W_OK))
		return bad("--file-dir", o.file_dir, strerror(errno));
	ab_macro_reap_stale(&hier);
	ab_macro_kswapd_init();
	(void)ab_macro_lru_gen_enabled(lru_desc, sizeof(lru_desc));
	if (o.zram_mib) {
		if ((rc = ab_macro_zram_setup((uint64_t)o.zram_mib << 20, zram_dev,
					      sizeof(zram_dev), msg, sizeof(msg)))) {
			ab_warn("macro: %s", msg);
			zram_dev[0] = 0;
			return rc == -ENODEV ? AB_EXIT_SKIP : AB_EXIT_FAIL;
		}
		ab_cleanup_push(zram_cleanup, NULL);
	}
	if (o.wl == WL_MGMT && !ab_macro_swap_total() && o.limit_pct < 100) {
		ab_warn("macro: --workload mgmt: anonymous guest memory under a limit needs swap "
			"(none active: --zram MIB, or --limit 100)");
		return AB_EXIT_SKIP;
	}
	if (patched && (rc = ab_vm_age_mode_save(NULL))) {
		ab_warn("macro: cannot save %s: %s", AB_VM_AGE_MODE_PARAM, strerror(-rc));
		return AB_EXIT_FAIL;
	}
	return 0;
}

/* The output directory (--out or results/macro-<timestamp>), made. */
static int make_out_dir(void)
{
	int rc;

	if (o.out) {
		snprintf(out_dir, sizeof(out_dir), "%s", o.out);
	} else {
		time_t t = time(NULL);
		struct tm tm;

		localtime_r(&t, &tm);
		char ts[32];

		strftime(ts, sizeof(ts), "%Y%m%d-%H%M%S", &tm);
		snprintf(out_dir, sizeof(out_dir), "results/macro-%s", ts);
	}
	o.out = out_dir;
	struct stat sb;

	out_created = stat(out_dir, &sb) != 0;
	if ((rc = ab_mkdir_p(out_dir)))
		return bad("--out", out_dir, strerror(-rc));
	ab_cleanup_push(out_cleanup, NULL);
	return 0;
}

/* Names and the shuffled order of all repetitions. */
static void plan_reps(int *order)
{
	for (int m = 0; m < nmodes; m++) {
		struct bench *b = &benches[m];

		b->mode = m;
		if (o.wl == WL_CGROUP)
			snprintf(b->name, sizeof(b->name), "macro/%s/cgroup/vms:1", modes[m]);
		else
			snprintf(b->name, sizeof(b->name), "macro/%s/%s/vms:%d/mib:%llu/limit:%d",
				 modes[m], wl_names[o.wl], o.vms, (unsigned long long)o.mib,
				 o.limit_pct);
		for (int k = 0; k < o.reps; k++) {
			struct rep *r = &reps[nreps++];

			memset(r, 0, sizeof(*r));
			r->mode = m;
			r->rep = k;
		}
	}
	uint64_t rng = o.seed;

	for (int i = 0; i < nreps; i++)
		order[i] = i;
	for (int i = nreps - 1; i > 0; i--) {
		int j = (int)(ab_rng_next(&rng) % (uint64_t)(i + 1)), t = order[i];

		order[i] = order[j];
		order[j] = t;
	}
}

/* The run's context in results.json: the machine, the setup, the order. */
static void record_context(const int *order)
{
	char buf[512];

	ctx_kv("agebench_version", "%s", AB_VERSION);
	ctx_kv("kernel_release", "%s", ab_kernel_release());
	ctx_kv("backend", "macro");
	ctx_kv("driver", "memcg");
	ctx_kv("hwloc_topology", "%s", ab_topo_summary());
	ctx_kv("macro_workload", "%s", wl_names[o.wl]);
	ctx_kv("macro_kernel", "%s",
	       patched ? "patched (kvm.mmu_age_mode)" : "stock (no kvm.mmu_age_mode): native");
	{
		char l[256] = "";

		for (int m = 0; m < nmodes; m++)
			snprintf(l + strlen(l), sizeof(l) - strlen(l), "%s%s", m ? "," : "",
				 modes[m]);
		ctx_kv("macro_modes", "%s", l);
	}
	ctx_kv("macro_lru", "%s", lru_desc);
	ctx_kv("macro_cgroup", "memory v%d under %s%s%s", hier.mem_version, hier.mem_parent,
	       hier.v2_parent[0] ? "; PSI/cpu.stat from v2 " : "; no cgroup v2 (no PSI)",
	       hier.v2_parent);
	if (o.wl != WL_CGROUP) {
		ctx_kv("macro_backing", "%s%s%s", ab_vm_backing_name((enum ab_vm_backing)o.backing),
		       o.backing == AB_VM_BACKING_FILE ? " in " : "",
		       o.backing == AB_VM_BACKING_FILE ? o.file_dir : "");
		ctx_kv("macro_pressure", "%s = %d%% of %llu MiB + %llu MiB per VM%s%s",
		       hier.mem_version == 2 ? "memory.max" : "memory.limit_in_bytes", o.limit_pct,
		       (unsigned long long)o.mib, (unsigned long long)(HARNESS_SLACK >> 20),
		       o.reclaim_ms ? "; memory.reclaim loop every ms: " : "",
		       o.reclaim_ms ? (snprintf(buf, sizeof(buf), "%d", o.reclaim_ms), buf) : "");
		ctx_kv("macro_vcpus", "%d", o.vcpus);
	}
	if (o.wl == WL_SYNTH)
		ctx_kv("macro_access", "hot/cold: hot_pct %d, cold pages every %d passes, %s, %s",
		       o.hot_pct, o.cold_every, o.backing == AB_VM_BACKING_FILE ? "read" : "write",
		       o.ops ? "ops-bound" : "time-bound");
	ctx_kv("macro_phase", "%s",
	       o.ops ? "ops" : (snprintf(buf, sizeof(buf), "%g s", o.seconds), buf));
	ctx_kv(
	    "macro_swap", "%s",
	    zram_dev[0] ? (snprintf(buf, sizeof(buf), "zram %s, %d MiB", zram_dev, o.zram_mib), buf)
	    : ab_macro_swap_total() ? (snprintf(buf, sizeof(buf), "%llu MiB (existing)",
						(unsigned long long)(ab_macro_swap_total() >> 20)),
				       buf)
				    : "none");
	ctx_kv("macro_seed", "%llu", (unsigned long long)o.seed);
	{
		char *ol = malloc((size_t)nreps * 24 + 1);

		ol[0] = 0;
		for (int i = 0; i < nreps; i++)
			sprintf(ol + strlen(ol), "%s%s#%d", i ? "," : "",
				modes[reps[order[i]].mode], reps[order[i]].rep);
		ab_add_context("macro_order", ol);
		free(ol);
	}
	ctx_kv("macro_pgscan", "%s",
	       hier.mem_version == 2 ? "memcg_pgscan/memcg_pgsteal from the VMs' memory.stat"
				     : "cgroup v1 has no per-memcg pgscan: sys_pgscan (system-wide "
				       "/proc/vmstat) and memcg_pgpgout");
}

/* Every repetition in @order, with progress; returns how many failed. */
static int run_reps(const int *order)
{
	if (!o.quiet)
		fprintf(stderr,
			"agebench: macro: %d repetitions (%d mode%s x %d), %s, %d VM%s x %llu MiB, "
			"limit %d%%, %s backing, about %.0f s; results in %s\n",
			nreps, nmodes, nmodes > 1 ? "s" : "", o.reps, wl_names[o.wl], o.vms,
			o.vms > 1 ? "s" : "", (unsigned long long)o.mib, o.limit_pct,
			ab_vm_backing_name((enum ab_vm_backing)o.backing),
			/* a guess until the first repetition: phase + fill at ~100 MiB/s */
			nreps * (o.seconds + 0.5 + (double)(o.mib * (uint64_t)o.vms) / 100.0),
			out_dir);

	uint64_t t_start = ab_now_ns();
	int failed = 0;

	for (int i = 0; i < nreps; i++) {
		struct rep *r = &reps[order[i]];
		uint64_t t0 = ab_now_ns();

		r->order = i;
		r->raw = json_object();
		if (!set_mode(modes[r->mode], r->err, sizeof(r->err)))
			r->ok = false;
		else if (o.wl == WL_CGROUP)
			run_rep_cgroup(r);
		else
			run_rep_vms(r);
		struct bench *b = &benches[r->mode];

		b->idx[b->n++] = order[i];
		failed += !r->ok;
		if (!r->ok)
			ab_warn("macro: %s rep %d failed: %s", b->name, r->rep, r->err);
		if (!o.quiet) {
			double el = (double)(ab_now_ns() - t_start) / 1e9;
			double left = el / (i + 1) * (nreps - i - 1);

			fprintf(stderr, "[%d/%d] %s %.1f s%s, about %.0f s left\n", i + 1, nreps,
				b->name, (double)(ab_now_ns() - t0) / 1e9, r->ok ? "" : " FAILED",
				left);
		}
	}
	return failed;
}

/* results.json through the shim, like any agebench run; raw.json; the verdict. */
static int write_results(int argc, char **argv, int failed)
{
	for (int m = 0; m < nmodes; m++) {
		ab_bench *bh = ab_register(benches[m].name, replay, &benches[m]);

		ab_bench_manual_time(bh);
		ab_bench_iterations(bh, 1);
		ab_bench_unit(bh, 'm');
		ab_bench_repetitions(bh, o.reps);
	}
	char final[600];
	struct finish_arg fa = {.argc = argc, .argv = argv};
	struct ab_run_opts ro = {.json_out = final,
				 .finish = finish_json,
				 .finish_arg = &fa,
				 .progress = o.verbose ? AB_PROGRESS_VERBOSE : AB_PROGRESS_QUIET};

	snprintf(final, sizeof(final), "%s/results.json", out_dir);
	if (write_raw() || ab_run(&ro) <= 0)
		return AB_EXIT_FAIL;
	out_created = false;
	copy_macro_json(final);
	printf("results: %s\n", final);
	if (o.assert_pipeline && assert_pipeline())
		return AB_EXIT_FAIL;
	if (failed) {
		ab_warn("macro: %d of %d repetitions failed (marked in results.json, not averaged)",
			failed, nreps);
		return AB_EXIT_FAIL;
	}
	return AB_EXIT_OK;
}

int ab_macro_main(int argc, char **argv)
{
	int order[MAX_REPS];
	int rc;

	if ((rc = parse(argc, argv)))
		return rc;
	probe_modes();
	if ((rc = select_modes(o.mode_arg)))
		return rc;
	size_defaults();
	if ((rc = preflight()) || (rc = make_out_dir()))
		return rc;
	plan_reps(order);
	record_context(order);
	return write_results(argc, argv, run_reps(order));
}
