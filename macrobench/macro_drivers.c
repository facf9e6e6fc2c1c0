// SPDX-License-Identifier: GPL-2.0
/*
 * macro_drivers.c - one repetition of `agebench macro`: fresh VMs, each a
 * child process in its own memory cgroup, phase by phase (cgroups, spawn,
 * fill, access under reclaim, reap, results), or the cgroup workload (an
 * existing memory cgroup, sampled); the mode set before each.
 */
#define _GNU_SOURCE
#include "macro_priv.h"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

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

/* ---- one repetition ------------------------------------------------------ */

static uint64_t limit_bytes(void)
{
	return (mopt.mib << 20) * (uint64_t)mopt.limit_pct / 100 + HARNESS_SLACK;
}

static void describe_death(int vm, pid_t pid, int status, const struct ab_macro_cg *cg,
			   const struct ab_kvset *ev0, char *err, size_t len)
{
	struct ab_kvset ev;
	char p[700];
	uint64_t ook = 0, ook0 = 0;

	ab_kvset_clear(&ev);
	snprintf(p, sizeof(p), "%s/%s", cg->mem,
		 mac_hier.mem_version == 2 ? "memory.events" : "memory.oom_control");
	ab_kvset_read(&ev, p, "events.");
	ab_kvset_get(&ev, "events.oom_kill", &ook);
	if (ev0)
		ab_kvset_get(ev0, "events.oom_kill", &ook0);
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL && ook > ook0)
		snprintf(err, len,
			 "VM %d (pid %d) was killed by the OOM killer in %s: memory limit %llu MiB "
			 "is too low for this %s-backed guest%s",
			 vm, (int)pid, cg->mem, (unsigned long long)(cg->limit >> 20),
			 ab_vm_backing_name((enum ab_vm_backing)mopt.backing),
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
		struct timespec ts = {mopt.reclaim_ms / 1000,
				      (long)(mopt.reclaim_ms % 1000) * 1000000};

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

bool mac_set_mode(const char *mode, char *err, size_t len)
{
	int e;

	if (!mac_patched)
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
		    &mac_hier, &res.cg[i],
		    mopt.wl == WL_SYNTH || mopt.limit_pct < 100 ? limit_bytes() : 0, v->err,
		    sizeof(v->err));

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
	if (mopt.wl == WL_MGMT) {
		char log[700];

		snprintf(log, sizeof(log), "%s/mgmt-%03d-vm%d.log", mopt.out, v->r->order, i);
		mac_child_mgmt(to[0], log);
	}
	mac_child_synthetic(i, to[0], from[1]);
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
		if (mopt.verbose)
			ab_warn("macro: VM %d pid %d in %s", i, (int)pid, res.cg[i].mem);
	}
	for (int i = 0; i < v->n; i++) {
		char p[700];

		ab_kvset_clear(&vm_ev0[i]);
		snprintf(p, sizeof(p), "%s/%s", res.cg[i].mem,
			 mac_hier.mem_version == 2 ? "memory.events" : "memory.oom_control");
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
		int e = mac_read_full(v->rfd[i], m, sizeof(*m), deadline), status;

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
	if (mopt.wl != WL_SYNTH)
		return 0;
	return vms_wait_msgs(v, "fill pass", MSG_READY,
			     ab_now_ns() + (120ull + mopt.mib * (uint64_t)v->n) * 1000000000ull);
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

			snprintf(log, sizeof(log), "%s/mgmt-%03d-vm%d.log", mopt.out, v->r->order,
				 i);
			last_line(log, last, sizeof(last));
			snprintf(err + strlen(err), len - strlen(err),
				 " (max_guest_memory_test: \"%s\"; log: %s)", last, log);
			ab_macro_snap(&vm_b, res.cg, v->n, mac_hier.mem_version);
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
	ab_macro_snap(&vm_a, res.cg, n, mac_hier.mem_version);
	if (mopt.reclaim_ms) {
		v->loop_on = !pthread_create(&v->loop, NULL, reclaim_loop, &v->la);
	}
	v->go_ns = ab_now_ns();
	for (int i = 0; i < n; i++)
		if (write(v->wfd[i], "g", 1) != 1) {
			snprintf(v->err, sizeof(v->err), "VM %d: cannot start the access phase", i);
			return -1;
		}
	if (mopt.verbose)
		fprintf(stderr, "agebench: macro: access phase started (%s, %d VM%s)\n",
			mac_modes[r->mode], n, n > 1 ? "s" : "");
	if (mopt.wl == WL_SYNTH) {
		uint64_t deadline =
		    ab_now_ns() + (uint64_t)((mopt.ops ? 660 : mopt.seconds * 2 + 60) * 1e9);

		if (vms_wait_msgs(v, "access phase", MSG_RESULT, deadline))
			return -1;
	} else if (vms_wait_mgmt(v)) {
		return -1;
	}
	r->wall_s = (double)(ab_now_ns() - v->go_ns) / 1e9;
	ab_macro_snap(&vm_b, res.cg, n, mac_hier.mem_version);
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

	mac_snap_counters(r, &vm_a, &vm_b, n);
	if (v->lgf[0][0] || v->lgf[0][1]) { /* MGLRU: generations and walk stats, raw */
		json_t *lj = json_array();

		for (int i = 0; i < n; i++)
			json_array_append_new(
			    lj, json_pack("{s:s, s:s}", "before", v->lgf[i][0] ? v->lgf[i][0] : "",
					  "after", v->lgf[i][1] ? v->lgf[i][1] : ""));
		json_object_set_new(r->raw, "lru_gen_full", lj);
	}
	if (mopt.wl != WL_SYNTH)
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
		json_array_append_new(kj, mac_kv_json(&vm_msgs[i].kvm));
	}
	json_object_set_new(r->raw, "kvm", kj);
	mac_put(r, "ops", (double)ops);
	mac_put(r, "ops_per_s", r->wall_s > 0 ? (double)ops / r->wall_s : 0);
	if (h.count) {
		mac_put(r, "op_p50_ns", (double)ab_hist_quantile(&h, 0.5));
		mac_put(r, "op_p99_ns", (double)ab_hist_quantile(&h, 0.99));
		mac_put(r, "op_max_ns", (double)h.max);
	}
	double val;
	if (!mac_get(r, "vm_sys_cpu_s", &val)) { /* no cgroup v2: the children's own */
		mac_put(r, "vm_user_cpu_s", (double)user / 1e6);
		mac_put(r, "vm_sys_cpu_s", (double)sys / 1e6);
	}
	mac_kvm_counters(r, &ksum, vm_msgs, n);
}

void mac_run_rep_vms(struct rep *r)
{
	struct vms_run v = {
	    .r = r, .n = mopt.vms, .la = {.n = mopt.vms, .bytes = (mopt.mib << 20) / 100}};

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
void mac_run_rep_cgroup(struct rep *r)
{
	static struct ab_macro_snap a, b;
	static struct ab_macro_cg cg;

	memset(&cg, 0, sizeof(cg));
	snprintf(cg.mem, sizeof(cg.mem), "%s", mopt.cgroup);
	if (mac_hier.mem_version == 2)
		snprintf(cg.v2, sizeof(cg.v2), "%s", mopt.cgroup);
	else
		ab_macro_v2_of(mopt.cgroup, cg.v2, sizeof(cg.v2));
	if (r->order == 0)
		ab_add_context("macro_cgroup_v2", cg.v2[0] ? cg.v2 : "none (no PSI, no cpu.stat)");
	ab_macro_snap(&a, &cg, 1, mac_hier.mem_version);
	if (mopt.verbose)
		fprintf(stderr, "agebench: macro: access phase started (%s, cgroup %s)\n",
			mac_modes[r->mode], mopt.cgroup);
	struct timespec ts = {(time_t)mopt.seconds,
			      (long)((mopt.seconds - (time_t)mopt.seconds) * 1e9)};

	nanosleep(&ts, NULL);
	ab_macro_snap(&b, &cg, 1, mac_hier.mem_version);
	r->wall_s = (double)(b.t_ns - a.t_ns) / 1e9;
	mac_snap_counters(r, &a, &b, 1);
	r->ok = true;
}
