// SPDX-License-Identifier: GPL-2.0
/*
 * ab_vm.c - VM creation (phase by phase) and teardown, names and accessors.
 * The other phases: ab_vm_backing.c (the test region's memory), ab_vm_run.c
 * (vCPU threads, the command protocol with the guest program),
 * ab_vm_slots.c (memslots, guest page tables, prefault, dirty log); the
 * architecture's part in vm/<arch>/. See ab_vm.h, ab_vm_priv.h, docs/vm.md.
 */
#define _GNU_SOURCE
#include "ab_errbuf.h"
#include "ab_vm_internal.h"
#include "ab_vm_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ab_common.h"

void ab_vm_fail(struct abvm *vm, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&vm->lock);
	if (!vm->errmsg[0]) {
		va_start(ap, fmt);
		vsnprintf(vm->errmsg, sizeof(vm->errmsg), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&vm->lock);
}

const char *ab_vm_strerr(int code)
{
	switch (code) {
	case AB_VM_OK:
		return "OK";
	case AB_VM_ENODEV:
		return "ENODEV";
	case AB_VM_EPERM:
		return "EPERM";
	case AB_VM_ENOMEM:
		return "ENOMEM";
	case AB_VM_EBACKING:
		return "EBACKING";
	case AB_VM_EINVAL:
		return "EINVAL";
	case AB_VM_ESYS:
		return "ESYS";
	case AB_VM_EGUEST:
		return "EGUEST";
	case AB_VM_ETIMEDOUT:
		return "ETIMEDOUT";
	case AB_VM_EBUSY:
		return "EBUSY";
	case AB_VM_ENESTED:
		return "ENESTED";
	}
	return "E?";
}

int ab_vm_exit_code(int code)
{
	switch (code) {
	case AB_VM_OK:
		return AB_EXIT_OK;
	case AB_VM_ENODEV:
	case AB_VM_EPERM:
	case AB_VM_EBACKING:
		return AB_EXIT_SKIP;
	case AB_VM_EINVAL:
	case AB_VM_ENOMEM:
	case AB_VM_ENESTED:
		return AB_EXIT_USAGE;
	default:
		return AB_EXIT_FAIL;
	}
}

const char *ab_vm_backing_name(enum ab_vm_backing b)
{
	switch (b) {
	case AB_VM_BACKING_ANON:
		return "anon";
	case AB_VM_BACKING_THP:
		return "thp";
	case AB_VM_BACKING_FILE:
		return "file";
	}
	return "?";
}

int ab_vm_backing_parse(const char *s)
{
	if (!s)
		return -1;
	if (!strcmp(s, "anon"))
		return AB_VM_BACKING_ANON;
	if (!strcmp(s, "thp"))
		return AB_VM_BACKING_THP;
	if (!strcmp(s, "file"))
		return AB_VM_BACKING_FILE;
	return -1;
}

void ab_vm_config_init(struct ab_vm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->mem_bytes = 64 * MIB;
	cfg->nr_vcpus = 1;
	cfg->backing = AB_VM_BACKING_ANON;
}

void ab_vm_work_init(struct ab_vm_work *w)
{
	memset(w, 0, sizeof(*w));
	w->op = AB_VM_OP_WRITE;
	w->order = AB_VM_ORDER_SEQ;
	w->passes = 1;
}

bool ab_vm_page_is_hot(uint64_t seed, uint64_t page, uint32_t hot_pct)
{
	return ab_vm_page_hot(seed, page, hot_pct);
}

/* ---- geometry ---- */

int ab_vm_nr_vcpus(const struct abvm *vm)
{
	return vm->nr_vcpus;
}
int ab_vm_kvm_fd(const struct abvm *vm)
{
	return vm->kvm_fd;
}
int ab_vm_vm_fd(const struct abvm *vm)
{
	return vm->vm_fd;
}
int ab_vm_vcpu_fd(const struct abvm *vm, int v)
{
	return vm->vcpus[v].fd;
}
void *ab_vm_hva(const struct abvm *vm)
{
	return vm->hva;
}
uint64_t ab_vm_gpa_base(const struct abvm *vm)
{
	return vm->gpa_base;
}
uint64_t ab_vm_gfn_base(const struct abvm *vm)
{
	return vm->gpa_base >> 12;
}
uint64_t ab_vm_npages(const struct abvm *vm)
{
	return vm->npages;
}
uint64_t ab_vm_mem_bytes(const struct abvm *vm)
{
	return vm->bytes;
}
enum ab_vm_backing ab_vm_backing(const struct abvm *vm)
{
	return vm->cfg.backing;
}
int ab_vm_region_slot(const struct abvm *vm)
{
	return REGION_SLOT;
}
pid_t ab_vm_vcpu_tid(const struct abvm *vm, int v)
{
	return vm->vcpus[v].tid;
}
uint64_t ab_vm_tsc_khz(const struct abvm *vm)
{
	return vm->tsc_khz;
}

void ab_vm_vcpu_range(const struct abvm *vm, int v, uint64_t *first, uint64_t *n)
{
	uint64_t per = vm->npages / (uint64_t)vm->nr_vcpus;

	*first = per * (uint64_t)v;
	*n = v == vm->nr_vcpus - 1 ? vm->npages - *first : per;
}

char *ab_vm_debugfs_dir(const struct abvm *vm, char *buf, size_t len)
{
	snprintf(buf, len, "/sys/kernel/debug/kvm/%d-%d", (int)vm->creator_tid, vm->vm_fd);
	return buf;
}

const char *ab_vm_last_error(const struct abvm *vm)
{
	return vm->errmsg;
}

static int open_kvm(struct abvm *vm, char *err, size_t errlen)
{
	const char *p = vm->cfg.kvm_path;
	int ver;

	if (!p)
		p = getenv("AB_VM_KVM_DEV");
	if (!p || !*p)
		p = "/dev/kvm";
	snprintf(vm->kvm_path, sizeof(vm->kvm_path), "%s", p);
	vm->kvm_fd = open(p, O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0) {
		int e = errno;

		if (e == ENOENT || e == ENODEV || e == ENXIO)
			return ab_errf(err, errlen, AB_VM_ENODEV,
				       "%s: %s (no KVM: kernel without CONFIG_KVM, %s)", p,
				       strerror(e), AB_VM_ARCH_NO_KVM_HINT);
		if (e == EACCES || e == EPERM)
			return ab_errf(err, errlen, AB_VM_EPERM,
				       "%s: %s (need read/write access: add the user to group kvm)",
				       p, strerror(e));
		return ab_errf(err, errlen, AB_VM_ENODEV, "%s: %s", p, strerror(e));
	}
	ver = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
	if (ver != KVM_API_VERSION)
		return ab_errf(err, errlen, AB_VM_ENODEV,
			       "%s: not a KVM device (KVM_GET_API_VERSION: %d)", p, ver);
	if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_USER_MEMORY) <= 0)
		return ab_errf(err, errlen, AB_VM_ENODEV, "%s: KVM without KVM_CAP_USER_MEMORY", p);
	return 0;
}

/* ---- ab_vm_create, phase by phase; every phase: 0 or AB_VM_E* + @err ---- */

static int check_config(const struct ab_vm_config *cfg, char *err, size_t errlen)
{
	if (cfg->nr_vcpus < 1 || cfg->nr_vcpus > AB_VM_MAX_VCPUS)
		return ab_errf(err, errlen, AB_VM_EINVAL, "vcpus %d out of range 1..%d",
			       cfg->nr_vcpus, AB_VM_MAX_VCPUS);
	if (!cfg->mem_bytes || cfg->mem_bytes % AB_VM_HUGE_SIZE)
		return ab_errf(err, errlen, AB_VM_EINVAL,
			       "guest memory %llu bytes: must be a non-zero multiple of 2 MiB",
			       (unsigned long long)cfg->mem_bytes);
	if (cfg->mem_bytes > (1ull << 40))
		return ab_errf(err, errlen, AB_VM_EINVAL,
			       "guest memory %llu MiB: more than the 1 TiB abvm supports",
			       (unsigned long long)(cfg->mem_bytes >> 20));
	if (cfg->mem_bytes / AB_VM_PAGE_SIZE < (uint64_t)cfg->nr_vcpus)
		return ab_errf(err, errlen, AB_VM_EINVAL, "fewer pages than vCPUs");
	if ((int)cfg->backing < AB_VM_BACKING_ANON || cfg->backing > AB_VM_BACKING_FILE)
		return ab_errf(err, errlen, AB_VM_EINVAL, "unknown backing %d", (int)cfg->backing);
	if (cfg->nested_pct > 100)
		return ab_errf(err, errlen, AB_VM_EINVAL,
			       "nested %u%%: not a percentage of the guest's memory (0..100)",
			       cfg->nested_pct);
	if (cfg->gpa_base % AB_VM_HUGE_SIZE)
		return ab_errf(err, errlen, AB_VM_EINVAL, "gpa_base 0x%llx not 2 MiB aligned",
			       (unsigned long long)cfg->gpa_base);
	return 0;
}

static struct abvm *vm_alloc(const struct ab_vm_config *cfg)
{
	struct abvm *vm = calloc(1, sizeof(*vm));
	pthread_condattr_t ca;

	if (!vm)
		return NULL;
	vm->cfg = *cfg;
	if (cfg->nested_pct) /* SVM instructions need ring 0 */
		vm->cfg.cpl0 = true;
	vm->kvm_fd = vm->vm_fd = vm->file_fd = vm->file_td = -1;
	pthread_mutex_init(&vm->lock, NULL);
	pthread_cond_init(&vm->cmd_cond, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&vm->done_cond, &ca);
	pthread_condattr_destroy(&ca);
	vm->bytes = cfg->mem_bytes;
	vm->npages = cfg->mem_bytes / AB_VM_PAGE_SIZE;
	vm->nr_vcpus = cfg->nr_vcpus;
	return vm;
}

/* GPA of vCPU @i's area (control page + stack), after the page tables. */
static uint64_t vcpu_area_gpa(const struct abvm *vm, int i)
{
	return ((vm->pt_end + 4095) & ~4095ull) + (uint64_t)i * VCPU_AREA;
}

/* The system slot: page tables, vCPU areas, touch bitmap, latency buffer;
 * then where the test region goes. */
static int plan_layout(struct abvm *vm, char *err, size_t errlen)
{
	uint64_t npd = (vm->bytes + GIB - 1) / GIB + 2, npdpt = 4 + AB_VM_ARCH_PT_PAGES, off, sys;

	vm->pt_end = AB_VM_PT_GPA + (npd + npdpt) * 4096;
	off = vcpu_area_gpa(vm, vm->nr_vcpus);
	vm->bitmap_gpa = off;
	vm->bitmap_bytes = ((vm->npages + 63) / 64 * 8 + 4095) & ~4095ull;
	off += vm->bitmap_bytes;
	if (vm->cfg.latency) {
		vm->lat_gpa = off;
		vm->lat_bytes = (vm->npages * 4 + 4095) & ~4095ull;
		off += vm->lat_bytes;
	}
	off = ab_vm_nested_plan(vm, off);
	sys = (off + AB_VM_HUGE_SIZE - 1) & ~(AB_VM_HUGE_SIZE - 1);
	vm->sys_bytes = sys;
	vm->gpa_base = vm->cfg.gpa_base ? vm->cfg.gpa_base : 4 * GIB;
	if (vm->gpa_base < sys) {
		if (vm->cfg.gpa_base)
			return ab_errf(err, errlen, AB_VM_EINVAL,
				       "gpa_base 0x%llx overlaps the system slot (%llu MiB)",
				       (unsigned long long)vm->cfg.gpa_base,
				       (unsigned long long)(sys >> 20));
		vm->gpa_base = (sys + GIB - 1) & ~(GIB - 1);
	}
	vm->extra_gpa_next = (vm->gpa_base + vm->bytes + GIB - 1) & ~(GIB - 1);
	return 0;
}

/* The guest can address the region, and host memory can hold it. */
static int check_fits(struct abvm *vm, char *err, size_t errlen)
{
	uint64_t need = vm->bytes + vm->sys_bytes, avail = ab_vm_mem_available();
	int r = ab_vm_arch_check_fits(vm, err, errlen);

	if (!r && vm->cfg.nested_pct)
		r = ab_vm_arch_nested_check(vm, err, errlen);
	if (r)
		return r;
	if (!vm->cfg.no_mem_check && avail && need > avail / 10 * 9)
		return ab_errf(err, errlen, AB_VM_ENOMEM,
			       "guest memory would not fit: %llu MiB needed (%llu MiB region + "
			       "%llu MiB harness), 90%% of MemAvailable is %llu MiB",
			       (unsigned long long)(need >> 20),
			       (unsigned long long)(vm->bytes >> 20),
			       (unsigned long long)(vm->sys_bytes >> 20),
			       (unsigned long long)(avail / 10 * 9 >> 20));
	return 0;
}

/* KVM_CREATE_VM; the system slot's memory with the guest program and the
 * architecture's part (x86: GDT/TSS; the identity-mapping page tables). */
static int create_vm_and_system(struct abvm *vm, char *err, size_t errlen)
{
	uint64_t sys = vm->sys_bytes;
	int r;

	vm->creator_tid = (pid_t)syscall(SYS_gettid);
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, ab_vm_arch_vm_type(vm));
	if (vm->vm_fd < 0)
		return ab_errf(err, errlen, AB_VM_ESYS, "KVM_CREATE_VM: %s", strerror(errno));
	vm->run_size = (size_t)ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	vm->sys = mmap(NULL, sys, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (vm->sys == MAP_FAILED) {
		vm->sys = NULL;
		return ab_errf(err, errlen, AB_VM_ENOMEM, "mmap system slot (%llu MiB): %s",
			       (unsigned long long)(sys >> 20), strerror(errno));
	}
	madvise(vm->sys, sys, MADV_NOHUGEPAGE);
	if (ab_vm_guest_image_len > AB_VM_CODE_MAX)
		return ab_errf(err, errlen, AB_VM_ESYS, "guest image too large (%zu bytes)",
			       ab_vm_guest_image_len);
	memcpy(vm->sys + AB_VM_CODE_GPA, ab_vm_guest_image, ab_vm_guest_image_len);
	r = ab_vm_arch_setup_system(vm, err, errlen);
	if (!r && vm->cfg.nested_pct)
		r = ab_vm_nested_setup(vm, err, errlen);
	return r;
}

static int set_slots(struct abvm *vm, char *err, size_t errlen)
{
	if (ab_vm_set_slot(vm, SYS_SLOT, 0, vm->sys_bytes, vm->sys, 0))
		return ab_errf(err, errlen, AB_VM_ESYS,
			       "KVM_SET_USER_MEMORY_REGION (system slot): %s", strerror(errno));
	if (ab_vm_set_slot(vm, REGION_SLOT, vm->gpa_base, vm->bytes, vm->hva,
			   vm->cfg.dirty_log ? KVM_MEM_LOG_DIRTY_PAGES : 0))
		return ab_errf(
		    err, errlen, AB_VM_ESYS,
		    "KVM_SET_USER_MEMORY_REGION (test region, %llu MiB at GPA 0x%llx): %s",
		    (unsigned long long)(vm->bytes >> 20), (unsigned long long)vm->gpa_base,
		    strerror(errno));
	return 0;
}

/* vCPU @i: fd, kvm_run, the architecture's set-up (x86: CPUID, long-mode
 * registers), its control block. */
static int create_vcpu(struct abvm *vm, int i, char *err, size_t errlen)
{
	struct vcpu *c = &vm->vcpus[i];
	uint64_t area = vcpu_area_gpa(vm, i);
	volatile struct ab_vm_ctl *ctl;
	int r;

	c->vm = vm;
	c->idx = i;
	c->ctl_gpa = area;
	c->stack_top = area + VCPU_AREA;
	c->ctl = ctl = (volatile struct ab_vm_ctl *)(vm->sys + area);
	c->hist = malloc(sizeof(*c->hist));
	if (!c->hist)
		return ab_errf(err, errlen, AB_VM_ENOMEM, "out of memory");
	ab_hist_init(c->hist);
	c->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, i);
	if (c->fd < 0)
		return ab_errf(err, errlen, AB_VM_ESYS, "KVM_CREATE_VCPU %d: %s", i,
			       strerror(errno));
	c->run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, c->fd, 0);
	if (c->run == MAP_FAILED) {
		c->run = NULL;
		return ab_errf(err, errlen, AB_VM_ESYS, "mmap kvm_run of vCPU %d: %s", i,
			       strerror(errno));
	}
	r = ab_vm_arch_vcpu_setup(vm, c, err, errlen);
	if (r)
		return r;
	ctl->region_gva = vm->gpa_base;
	ctl->bitmap_gva = vm->bitmap_gpa;
	if (vm->cfg.nested_pct)
		ab_vm_nested_vcpu_ctl(vm, c);
	/* harness pages: each vCPU write-faults its ctl page + stack; vCPU 0
	 * also the latency buffer (on top of its own area) and read-faults the
	 * rest of the system slot. */
	ctl->rw_start = area;
	ctl->rw_end = area + VCPU_AREA;
	if (i == 0) {
		ctl->ro_start = 0;
		ctl->ro_end = vm->lat_gpa ? vm->lat_gpa : vm->sys_bytes;
		if (vm->lat_gpa) {
			ctl->rw_start = vm->lat_gpa;
			ctl->rw_end = vm->lat_gpa + vm->lat_bytes;
		}
	}
	return 0;
}

static int create_vcpus(struct abvm *vm, char *err, size_t errlen)
{
	int r;

	vm->vcpus = calloc((size_t)vm->nr_vcpus, sizeof(*vm->vcpus));
	if (!vm->vcpus)
		return ab_errf(err, errlen, AB_VM_ENOMEM, "out of memory");
	for (int i = 0; i < vm->nr_vcpus; i++)
		vm->vcpus[i].fd = -1;
	for (int i = 0; i < vm->nr_vcpus; i++)
		if ((r = create_vcpu(vm, i, err, errlen)))
			return r;
	vm->tsc_khz = ab_vm_arch_counter_khz(vm);
	return 0;
}

/* One host thread per vCPU; each runs its vCPU to the guest's first DONE. */
static int start_vcpu_threads(struct abvm *vm, char *err, size_t errlen)
{
	int r;

	for (int i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *c = &vm->vcpus[i];

		c->state = VS_STARTING;
		if (pthread_create(&c->thread, NULL, ab_vm_vcpu_thread, c))
			return ab_errf(err, errlen, AB_VM_ESYS, "pthread_create for vCPU %d failed",
				       i);
		c->thread_started = true;
	}
	for (int i = 0; i < vm->nr_vcpus; i++) {
		r = ab_vm_wait_state(vm, i, 30ull * 1000000000ull);
		if (r)
			return ab_errf(
			    err, errlen, r == AB_VM_ETIMEDOUT ? AB_VM_ETIMEDOUT : AB_VM_EGUEST,
			    "vCPU %d did not start: %s", i, vm->errmsg[0] ? vm->errmsg : "timeout");
	}
	/* vCPU 0's rw range covered the latency buffer at startup only */
	if (vm->lat_gpa) {
		struct vcpu *c0 = &vm->vcpus[0];

		c0->ctl->rw_start = c0->ctl_gpa;
		c0->ctl->rw_end = c0->ctl_gpa + VCPU_AREA;
	}
	return 0;
}

int ab_vm_create(const struct ab_vm_config *cfg, struct abvm **out, char *err, size_t errlen)
{
	struct abvm *vm;
	int r;

	*out = NULL;
	if (err && errlen)
		err[0] = 0;
	r = check_config(cfg, err, errlen);
	if (r)
		return r;
	vm = vm_alloc(cfg);
	if (!vm)
		return ab_errf(err, errlen, AB_VM_ENOMEM, "out of memory");
	if ((r = open_kvm(vm, err, errlen)) || (r = plan_layout(vm, err, errlen)) ||
	    (r = check_fits(vm, err, errlen)) || (r = create_vm_and_system(vm, err, errlen)) ||
	    (r = ab_vm_setup_backing(vm, err, errlen)) || (r = set_slots(vm, err, errlen)) ||
	    (r = create_vcpus(vm, err, errlen)) || (r = start_vcpu_threads(vm, err, errlen))) {
		ab_vm_destroy(vm);
		return r;
	}
	*out = vm;
	return 0;
}

/* ---- destroy ---- */

void ab_vm_destroy(struct abvm *vm)
{
	int i;

	if (!vm)
		return;
	if (vm->vcpus) {
		for (i = 0; i < vm->nr_vcpus; i++)
			if (vm->vcpus[i].ctl)
				vm->vcpus[i].ctl->stop = 1;
		pthread_mutex_lock(&vm->lock);
		for (;;) {
			bool busy = false;

			for (i = 0; i < vm->nr_vcpus; i++)
				if (vm->vcpus[i].thread_started &&
				    (vm->vcpus[i].state == VS_RUNNING ||
				     vm->vcpus[i].state == VS_STARTING))
					busy = true;
			if (!busy)
				break;
			pthread_cond_wait(&vm->done_cond, &vm->lock);
		}
		vm->quit = true;
		pthread_cond_broadcast(&vm->cmd_cond);
		pthread_mutex_unlock(&vm->lock);
		for (i = 0; i < vm->nr_vcpus; i++) {
			struct vcpu *c = &vm->vcpus[i];

			if (c->thread_started)
				pthread_join(c->thread, NULL);
			if (c->run)
				munmap(c->run, vm->run_size);
			if (c->fd >= 0)
				close(c->fd);
			free(c->hist);
		}
		free(vm->vcpus);
	}
	for (i = 0; i < MAX_EXTRA; i++)
		if (vm->extra[i].used)
			munmap(vm->extra[i].hva, vm->extra[i].bytes);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	if (vm->map_base)
		munmap(vm->map_base, vm->map_len);
	if (vm->sys)
		munmap(vm->sys, vm->sys_bytes);
	if (vm->file_fd >= 0)
		close(vm->file_fd);
	if (vm->file_path[0]) {
		unlink(vm->file_path);
		if (vm->file_td >= 0)
			ab_cleanup_pop(vm->file_td);
	}
	ab_vm_arch_destroy(vm);
	pthread_mutex_destroy(&vm->lock);
	pthread_cond_destroy(&vm->cmd_cond);
	pthread_cond_destroy(&vm->done_cond);
	free(vm);
}
