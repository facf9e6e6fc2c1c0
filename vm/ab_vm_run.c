// SPDX-License-Identifier: GPL-2.0
/*
 * ab_vm_run.c - the vCPU threads, the run loop (sync points from the guest
 * program, decoded by the architecture's ab_vm_arch_sync_exit), commands
 * (passes, touch, stop, wait) and the counters.
 */
#define _GNU_SOURCE
#include "ab_vm_internal.h"
#include "ab_vm_priv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ab_common.h"

/* Convert and clear the latency entries of the current range. */
static void drain_latency(struct vcpu *c)
{
	struct abvm *vm = c->vm;
	uint32_t *lat = (uint32_t *)(vm->sys + vm->lat_gpa);
	uint64_t i, end = c->range_first + c->range_n;
	double ns_per_cycle = vm->tsc_khz ? 1e6 / (double)vm->tsc_khz : 1.0;

	for (i = c->range_first; i < end; i++) {
		uint32_t v = lat[i];

		if (v) {
			ab_hist_record(c->hist, (uint64_t)((double)(v - 1) * ns_per_cycle + 0.5));
			lat[i] = 0;
		}
	}
}

/*
 * Run the guest until it reports DONE. Returns 0, or -1 with vm->errmsg set.
 */
static int run_until_done(struct vcpu *c)
{
	struct kvm_run *run = c->run;
	uint32_t port, val;

	for (;;) {
		if (ioctl(c->fd, KVM_RUN, 0)) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			ab_vm_fail(c->vm, "vCPU %d: KVM_RUN: %s", c->idx, strerror(errno));
			return -1;
		}
		if (ab_vm_arch_sync_exit(c, &port, &val)) {
			atomic_fetch_add_explicit(&c->exits_io, 1, memory_order_relaxed);
			switch (port) {
			case AB_VM_PORT_DONE:
				if (c->rec_lat)
					drain_latency(c);
				return 0;
			case AB_VM_PORT_PASS:
				if (c->rec_lat)
					drain_latency(c);
				continue;
			case AB_VM_PORT_PANIC:
				if (val == AB_VM_PANIC_L3EXIT || val == AB_VM_PANIC_NESTED) {
					char buf[256];

					ab_vm_nested_describe_panic(c, val, buf, sizeof(buf));
					ab_vm_fail(c->vm, "vCPU %d: %s", c->idx, buf);
				} else {
					ab_vm_fail(c->vm, "vCPU %d: guest panic, reason %u", c->idx,
						   val);
				}
				return -1;
			}
		}
		if (run->exit_reason == KVM_EXIT_INTR)
			continue;
		atomic_fetch_add_explicit(&c->exits_other, 1, memory_order_relaxed);
		{
			char buf[256];

			ab_vm_arch_describe_exit(c, buf, sizeof(buf));
			ab_vm_fail(c->vm, "vCPU %d: %s", c->idx, buf);
		}
		return -1;
	}
}

void *ab_vm_vcpu_thread(void *arg)
{
	struct vcpu *c = arg;
	struct abvm *vm = c->vm;
	int r;

	c->tid = (pid_t)syscall(SYS_gettid);
	if (vm->cfg.vcpu_thread_init)
		vm->cfg.vcpu_thread_init(c->idx, vm->cfg.vcpu_thread_arg);
	/* startup: fault in the harness pages, wait for the first DONE */
	r = run_until_done(c);
	pthread_mutex_lock(&vm->lock);
	c->state = r ? VS_FAILED : VS_IDLE;
	pthread_cond_broadcast(&vm->done_cond);
	for (;;) {
		uint64_t t0, dt;

		while (!c->pending && !vm->quit)
			pthread_cond_wait(&vm->cmd_cond, &vm->lock);
		if (vm->quit)
			break;
		c->pending = false;
		if (c->state == VS_FAILED)
			continue;
		c->state = VS_RUNNING;
		pthread_mutex_unlock(&vm->lock);
		t0 = ab_now_ns();
		r = run_until_done(c);
		dt = ab_now_ns() - t0;
		atomic_fetch_add_explicit(&c->run_ns, dt, memory_order_relaxed);
		atomic_store_explicit(&c->last_cmd_ns, dt, memory_order_relaxed);
		atomic_fetch_add_explicit(&c->commands, 1, memory_order_relaxed);
		pthread_mutex_lock(&vm->lock);
		c->state = r ? VS_FAILED : VS_IDLE;
		pthread_cond_broadcast(&vm->done_cond);
	}
	c->state = VS_EXITED;
	pthread_cond_broadcast(&vm->done_cond);
	pthread_mutex_unlock(&vm->lock);
	return NULL;
}

/* Wait on done_cond (CLOCK_MONOTONIC) until @deadline_ns (0 = forever);
 * false once the deadline has passed. */
static bool wait_cond_until(struct abvm *vm, uint64_t deadline_ns)
{
	struct timespec ts;

	if (!deadline_ns) {
		pthread_cond_wait(&vm->done_cond, &vm->lock);
		return true;
	}
	if (ab_now_ns() >= deadline_ns)
		return false;
	ts.tv_sec = (time_t)(deadline_ns / 1000000000ull);
	ts.tv_nsec = (long)(deadline_ns % 1000000000ull);
	pthread_cond_timedwait(&vm->done_cond, &vm->lock, &ts);
	return ab_now_ns() < deadline_ns;
}

/* Wait for vCPU @v to be parked (no command pending or running). */
int ab_vm_wait_state(struct abvm *vm, int v, uint64_t timeout_ns)
{
	struct vcpu *c = &vm->vcpus[v];
	uint64_t deadline = timeout_ns ? ab_now_ns() + timeout_ns : 0;
	int r = 0;

	pthread_mutex_lock(&vm->lock);
	while (c->state == VS_STARTING || c->state == VS_RUNNING ||
	       (c->pending && c->state != VS_FAILED)) {
		if (!wait_cond_until(vm, deadline) &&
		    (c->state == VS_STARTING || c->state == VS_RUNNING ||
		     (c->pending && c->state != VS_FAILED))) {
			r = AB_VM_ETIMEDOUT;
			break;
		}
	}
	if (!r && (c->state == VS_FAILED || c->state == VS_EXITED))
		r = AB_VM_EGUEST;
	pthread_mutex_unlock(&vm->lock);
	return r;
}

int ab_vm_vcpu_wait(struct abvm *vm, int v, uint64_t timeout_ns)
{
	if (v < 0 || v >= vm->nr_vcpus)
		return AB_VM_EINVAL;
	return ab_vm_wait_state(vm, v, timeout_ns);
}

int ab_vm_wait(struct abvm *vm, uint64_t timeout_ns)
{
	uint64_t deadline = timeout_ns ? ab_now_ns() + timeout_ns : 0;
	int i, r = 0;

	for (i = 0; i < vm->nr_vcpus; i++) {
		uint64_t left = 0;
		int e;

		if (deadline) {
			uint64_t now = ab_now_ns();

			left = deadline > now ? deadline - now : 1;
		}
		e = ab_vm_wait_state(vm, i, left);
		if (e && !r)
			r = e;
	}
	return r;
}

/* Post a command to vCPU @v, vm->lock held; the caller wakes the vCPUs
 * (one broadcast for a whole ab_vm_start: no herd of N wake-ups per vCPU). */
static int post_locked(struct abvm *vm, int v, const struct ab_vm_work *w, uint64_t cmd,
		       uint64_t first, uint64_t n)
{
	struct vcpu *c = &vm->vcpus[v];
	volatile struct ab_vm_ctl *ctl = c->ctl;
	bool lat = w->record_latency;

	if (lat && !vm->lat_gpa)
		return AB_VM_EINVAL;
	if (c->state == VS_FAILED || c->state == VS_EXITED)
		return AB_VM_EGUEST;
	if (c->state != VS_IDLE || c->pending)
		return AB_VM_EBUSY;
	ctl->cmd = cmd;
	ctl->op = (uint64_t)w->op;
	ctl->order = (uint64_t)w->order;
	ctl->passes = w->passes;
	ctl->seed = w->seed;
	ctl->hot_pct = w->hot_pct;
	ctl->cold_every = w->cold_every;
	ctl->first = first;
	ctl->npages = n;
	ctl->lat_gva = lat ? vm->lat_gpa : 0;
	ctl->flush_tlb = vm->cfg.cpl0;
	ctl->rw_start = ctl->rw_end = ctl->ro_start = ctl->ro_end = 0;
	ctl->stop = 0;
	c->range_first = first;
	c->range_n = n;
	c->rec_lat = lat;
	c->pending = true;
	return 0;
}

static int post(struct abvm *vm, int v, const struct ab_vm_work *w, uint64_t cmd, uint64_t first,
		uint64_t n)
{
	int r;

	pthread_mutex_lock(&vm->lock);
	r = post_locked(vm, v, w, cmd, first, n);
	if (!r)
		pthread_cond_broadcast(&vm->cmd_cond);
	pthread_mutex_unlock(&vm->lock);
	return r;
}

static int check_work(const struct ab_vm_work *w)
{
	if ((unsigned)w->op > AB_VM_OP_READ || (unsigned)w->order > AB_VM_ORDER_HOTCOLD ||
	    w->hot_pct > 100)
		return AB_VM_EINVAL;
	return 0;
}

int ab_vm_vcpu_start(struct abvm *vm, int v, const struct ab_vm_work *w)
{
	uint64_t first, n;

	if (v < 0 || v >= vm->nr_vcpus || check_work(w))
		return AB_VM_EINVAL;
	ab_vm_vcpu_range(vm, v, &first, &n);
	return post(vm, v, w, AB_VM_CMD_PASSES, first, n);
}

int ab_vm_start(struct abvm *vm, const struct ab_vm_work *w)
{
	int i, r;

	if (check_work(w))
		return AB_VM_EINVAL;
	r = 0;
	pthread_mutex_lock(&vm->lock);
	for (i = 0; i < vm->nr_vcpus && !r; i++) {
		uint64_t first, n;

		ab_vm_vcpu_range(vm, i, &first, &n);
		r = post_locked(vm, i, w, AB_VM_CMD_PASSES, first, n);
	}
	if (i > 1 || !r)
		pthread_cond_broadcast(&vm->cmd_cond); /* also the ones posted before a failure */
	pthread_mutex_unlock(&vm->lock);
	return r;
}

int ab_vm_start_wait(struct abvm *vm, const struct ab_vm_work *w)
{
	int r = ab_vm_start(vm, w);

	if (r)
		return r;
	return ab_vm_wait(vm, 0);
}

bool ab_vm_all_idle(struct abvm *vm)
{
	int i;
	bool ok = true;

	pthread_mutex_lock(&vm->lock);
	for (i = 0; i < vm->nr_vcpus; i++)
		if (vm->vcpus[i].state == VS_RUNNING || vm->vcpus[i].pending)
			ok = false;
	pthread_mutex_unlock(&vm->lock);
	return ok;
}

static void load_bitmap(struct abvm *vm, const uint64_t *bitmap)
{
	uint64_t words = (vm->npages + 63) / 64;

	memcpy(vm->sys + vm->bitmap_gpa, bitmap, words * 8);
	if (vm->npages % 64) /* ignore bits past the region */
		((uint64_t *)(vm->sys + vm->bitmap_gpa))[words - 1] &=
		    (1ull << (vm->npages % 64)) - 1;
}

int ab_vm_debug_crash(struct abvm *vm, int v)
{
	struct ab_vm_work w;
	uint64_t first, n;
	int r;

	if (v < 0 || v >= vm->nr_vcpus)
		return AB_VM_EINVAL;
	ab_vm_work_init(&w);
	ab_vm_vcpu_range(vm, v, &first, &n);
	if (!ab_vm_all_idle(vm))
		return AB_VM_EBUSY;
	/* not mapped: #PF, no IDT: triple fault (region_gva is only read by
	 * the guest, and only this vCPU's copy changes) */
	vm->vcpus[v].ctl->region_gva = 1ull << 46;
	r = post(vm, v, &w, AB_VM_CMD_PASSES, first, n);
	return r;
}

int ab_vm_touch(struct abvm *vm, const uint64_t *bitmap, enum ab_vm_op op)
{
	struct ab_vm_work w;
	int i, r;

	if ((unsigned)op > AB_VM_OP_READ)
		return AB_VM_EINVAL;
	if (!ab_vm_all_idle(vm))
		return AB_VM_EBUSY;
	load_bitmap(vm, bitmap);
	ab_vm_work_init(&w);
	w.op = op;
	for (i = 0; i < vm->nr_vcpus; i++) {
		uint64_t first, n;

		ab_vm_vcpu_range(vm, i, &first, &n);
		r = post(vm, i, &w, AB_VM_CMD_TOUCH, first, n);
		if (r)
			return r;
	}
	return 0;
}

int ab_vm_vcpu_touch(struct abvm *vm, int v, const uint64_t *bitmap, enum ab_vm_op op)
{
	struct ab_vm_work w;

	if (v < 0 || v >= vm->nr_vcpus || (unsigned)op > AB_VM_OP_READ)
		return AB_VM_EINVAL;
	if (!ab_vm_all_idle(vm)) /* the bitmap is shared by all vCPUs */
		return AB_VM_EBUSY;
	load_bitmap(vm, bitmap);
	ab_vm_work_init(&w);
	w.op = op;
	return post(vm, v, &w, AB_VM_CMD_TOUCH, 0, vm->npages);
}

int ab_vm_touch_list(struct abvm *vm, const uint64_t *pages, size_t n, enum ab_vm_op op)
{
	uint64_t words = (vm->npages + 63) / 64;
	uint64_t *bm = calloc(words, 8);
	size_t i;
	int r;

	if (!bm)
		return AB_VM_ENOMEM;
	for (i = 0; i < n; i++) {
		if (pages[i] >= vm->npages) {
			free(bm);
			return AB_VM_EINVAL;
		}
		bm[pages[i] / 64] |= 1ull << (pages[i] % 64);
	}
	r = ab_vm_touch(vm, bm, op);
	free(bm);
	return r;
}

int ab_vm_stop(struct abvm *vm)
{
	int i;

	for (i = 0; i < vm->nr_vcpus; i++)
		vm->vcpus[i].ctl->stop = 1;
	return ab_vm_wait(vm, 0);
}

/* ---- counters ---- */

void ab_vm_vcpu_stats(const struct abvm *vm, int v, struct ab_vm_vcpu_stats *st)
{
	struct vcpu *c = &vm->vcpus[v];

	memset(st, 0, sizeof(*st));
	st->passes = c->ctl->passes_done;
	st->accesses = c->ctl->accesses;
	st->read_sum = c->ctl->read_sum;
	st->l3_runs = c->ctl->l3_runs;
	st->l3_accesses = c->ctl->l3_accesses;
	st->exits_io = atomic_load_explicit(&c->exits_io, memory_order_relaxed);
	st->exits_other = atomic_load_explicit(&c->exits_other, memory_order_relaxed);
	st->commands = atomic_load_explicit(&c->commands, memory_order_relaxed);
	st->run_ns = atomic_load_explicit(&c->run_ns, memory_order_relaxed);
	st->last_cmd_ns = atomic_load_explicit(&c->last_cmd_ns, memory_order_relaxed);
}

void ab_vm_stats_total(const struct abvm *vm, struct ab_vm_vcpu_stats *st)
{
	int i;

	memset(st, 0, sizeof(*st));
	for (i = 0; i < vm->nr_vcpus; i++) {
		struct ab_vm_vcpu_stats s;

		ab_vm_vcpu_stats(vm, i, &s);
		st->passes += s.passes;
		st->accesses += s.accesses;
		st->read_sum += s.read_sum;
		st->l3_runs += s.l3_runs;
		st->l3_accesses += s.l3_accesses;
		st->exits_io += s.exits_io;
		st->exits_other += s.exits_other;
		st->commands += s.commands;
		st->run_ns += s.run_ns;
		if (s.last_cmd_ns > st->last_cmd_ns)
			st->last_cmd_ns = s.last_cmd_ns;
	}
}

const struct ab_hist *ab_vm_vcpu_hist(const struct abvm *vm, int v)
{
	return vm->vcpus[v].hist;
}

void ab_vm_hist_reset(struct abvm *vm)
{
	int i;

	for (i = 0; i < vm->nr_vcpus; i++)
		ab_hist_init(vm->vcpus[i].hist);
}
