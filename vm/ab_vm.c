// SPDX-License-Identifier: GPL-2.0
/*
 * ab_vm.c - VM creation, memslots, long-mode vCPUs, the vCPU threads and the
 * command protocol with the guest program. See ab_vm.h and docs/vm.md.
 */
#define _GNU_SOURCE
#include "ab_vm.h"
#include "ab_errbuf.h"
#include "ab_vm_guest.h"
#include "ab_vm_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ab_common.h"

#define GIB		 (1ull << 30)
#define MIB		 (1ull << 20)
#define SYS_SLOT	 0
#define REGION_SLOT	 1
#define FIRST_EXTRA_SLOT 2
#define MAX_EXTRA	 32
#define STACK_BYTES	 (16 * 1024)
#define VCPU_AREA	 (4096 + STACK_BYTES) /* ctl page + stack */

/* Page table entry bits. */
#define PTE_P  (1ull << 0)
#define PTE_RW (1ull << 1)
#define PTE_US (1ull << 2)
#define PTE_PS (1ull << 7)

enum vstate { VS_STARTING, VS_IDLE, VS_RUNNING, VS_FAILED, VS_EXITED };

struct vcpu {
	struct abvm *vm;
	int idx;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool thread_started;
	pid_t tid;
	volatile struct ab_vm_ctl *ctl; /* HVA of its control block */
	uint64_t ctl_gpa, stack_top;
	/* protected by vm->lock */
	enum vstate state;
	bool pending;
	uint64_t range_first, range_n; /* range of the current command */
	bool rec_lat;
	/* counters, relaxed atomics */
	_Atomic uint64_t exits_io, exits_other, commands, run_ns, last_cmd_ns;
	struct ab_hist *hist;
};

struct extra_slot {
	bool used;
	void *hva;
	uint64_t gpa, bytes;
};

struct abvm {
	struct ab_vm_config cfg;
	char kvm_path[256];
	int kvm_fd, vm_fd;
	pid_t creator_tid; /* KVM names the debugfs dir <tid of KVM_CREATE_VM caller>-<fd> */
	size_t run_size;
	/* system slot */
	uint8_t *sys;
	uint64_t sys_bytes;
	uint64_t pt_end; /* end of the page-table area in the system slot */
	uint64_t bitmap_gpa, bitmap_bytes, lat_gpa, lat_bytes;
	/* test region */
	uint8_t *hva;
	void *map_base; /* what to munmap (THP alignment slack) */
	size_t map_len;
	uint64_t gpa_base, bytes, npages;
	int file_fd;
	int file_td; /* cleanup handle of a named file, -1 */
	char file_path[256];
	uint64_t tsc_khz;
	struct kvm_cpuid2 *cpuid;
	struct extra_slot extra[MAX_EXTRA];
	uint64_t extra_gpa_next;
	/* vCPUs */
	int nr_vcpus;
	struct vcpu *vcpus;
	pthread_mutex_t lock;
	pthread_cond_t cmd_cond, done_cond;
	bool quit;
	char errmsg[512];
};

static void vm_fail(struct abvm *vm, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void vm_fail(struct abvm *vm, const char *fmt, ...)
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

uint64_t ab_vm_mem_available(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[256];
	unsigned long long kb = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1)
			break;
	fclose(f);
	return (uint64_t)kb * 1024;
}

bool ab_vm_thp_usable(const char **why)
{
	static char buf[400];
	/* $AB_VM_THP_SYSFS: test override of the sysfs file */
	const char *path = getenv("AB_VM_THP_SYSFS");
	char *s;
	bool ok;

	if (!path || !*path)
		path = "/sys/kernel/mm/transparent_hugepage/enabled";
	s = ab_read_file(path, NULL);
	if (!s) {
		if (why) {
			snprintf(buf, sizeof(buf),
				 "THP not available: %s missing (kernel without "
				 "CONFIG_TRANSPARENT_HUGEPAGE)",
				 path);
			*why = buf;
		}
		return false;
	}
	ok = strstr(s, "[always]") || strstr(s, "[madvise]");
	if (!ok && why) {
		s[strcspn(s, "\n")] = 0;
		snprintf(buf, sizeof(buf), "THP disabled: %s is \"%s\"", path, s);
		*why = buf;
	}
	free(s);
	return ok;
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

/* ---- system slot: GDT, TSS, page tables ---- */

static void build_gdt(struct abvm *vm)
{
	uint64_t *gdt = (uint64_t *)(vm->sys + AB_VM_GDT_GPA);
	uint64_t tss = AB_VM_TSS_GPA, lim = AB_VM_TSS_LIMIT;
	uint8_t *t = vm->sys + AB_VM_TSS_GPA;

	/* I/O permission bitmap right after the 104-byte TSS, all ports
	 * allowed (zero bits) + the terminating 0xff byte */
	memset(t, 0, AB_VM_TSS_LIMIT + 1);
	t[0x66] = 0x68;
	t[AB_VM_TSS_LIMIT] = 0xff;

	gdt[0] = 0;
	gdt[1] = 0x00affb000000ffffull; /* 0x08: 64-bit code, DPL3 */
	gdt[2] = 0x00cff3000000ffffull; /* 0x10: data, DPL3 */
	gdt[5] = 0x00af9b000000ffffull; /* 0x28: 64-bit code, DPL0 */
	gdt[6] = 0x00cf93000000ffffull; /* 0x30: data, DPL0 */
	/* 0x18: 64-bit busy TSS (16-byte descriptor) */
	gdt[3] = (lim & 0xffff) | ((tss & 0xffffff) << 16) | (0xbull << 40) | (1ull << 47) |
		 (((tss >> 24) & 0xff) << 56);
	gdt[4] = tss >> 32;
}

/* Identity-map [start, end) with 2 MiB pages; *next = next free PT page. */
static int map_2m(struct abvm *vm, uint64_t start, uint64_t end, uint64_t *next, uint64_t pt_end)
{
	uint64_t *pml4 = (uint64_t *)(vm->sys + AB_VM_PML4_GPA);
	uint64_t a;

	for (a = start; a < end; a += AB_VM_HUGE_SIZE) {
		uint64_t i4 = (a >> 39) & 511, i3 = (a >> 30) & 511, i2 = (a >> 21) & 511;
		uint64_t *pdpt, *pd;

		if (!(pml4[i4] & PTE_P)) {
			if (*next >= pt_end)
				return -1;
			pml4[i4] = *next | PTE_P | PTE_RW | PTE_US;
			*next += 4096;
		}
		pdpt = (uint64_t *)(vm->sys + (pml4[i4] & ~0xfffull));
		if (!(pdpt[i3] & PTE_P)) {
			if (*next >= pt_end)
				return -1;
			pdpt[i3] = *next | PTE_P | PTE_RW | PTE_US;
			*next += 4096;
		}
		pd = (uint64_t *)(vm->sys + (pdpt[i3] & ~0xfffull));
		pd[i2] = a | PTE_P | PTE_RW | PTE_US | PTE_PS;
	}
	return 0;
}

static int set_slot(struct abvm *vm, int slot, uint64_t gpa, uint64_t bytes, void *hva,
		    uint32_t flags)
{
	struct kvm_userspace_memory_region r = {
	    .slot = (uint32_t)slot,
	    .flags = flags,
	    .guest_phys_addr = gpa,
	    .memory_size = bytes,
	    .userspace_addr = (uint64_t)(uintptr_t)hva,
	};

	return ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r);
}

/* ---- test region backing ---- */

/* anon: private anonymous memory, 4 KiB host pages */
static int backing_anon(struct abvm *vm, uint64_t bytes, char *err, size_t errlen)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED)
		return ab_errf(err, errlen, AB_VM_ENOMEM,
			       "mmap of %llu MiB anonymous guest memory: %s",
			       (unsigned long long)(bytes >> 20), strerror(errno));
	/* EINVAL = kernel without THP: 4 KiB pages anyway. */
	if (madvise(p, bytes, MADV_NOHUGEPAGE) && errno != EINVAL) {
		munmap(p, bytes);
		return ab_errf(err, errlen, AB_VM_EBACKING, "madvise(MADV_NOHUGEPAGE): %s",
			       strerror(errno));
	}
	vm->map_base = vm->hva = p;
	vm->map_len = bytes;
	return 0;
}

/* thp: private anonymous, 2 MiB aligned, MADV_HUGEPAGE */
static int backing_thp(struct abvm *vm, uint64_t bytes, char *err, size_t errlen)
{
	const char *why;
	uint8_t *p, *a;
	size_t len = bytes + AB_VM_HUGE_SIZE;

	if (!ab_vm_thp_usable(&why))
		return ab_errf(err, errlen, AB_VM_EBACKING, "backing thp: %s", why);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1,
		 0);
	if (p == MAP_FAILED)
		return ab_errf(err, errlen, AB_VM_ENOMEM, "mmap of %llu MiB THP guest memory: %s",
			       (unsigned long long)(bytes >> 20), strerror(errno));
	a = (uint8_t *)(((uintptr_t)p + AB_VM_HUGE_SIZE - 1) & ~(uintptr_t)(AB_VM_HUGE_SIZE - 1));
	/* trim the slack so the mapping is exactly the aligned region */
	if (a > p)
		munmap(p, (size_t)(a - p));
	if (p + len > a + bytes)
		munmap(a + bytes, (size_t)(p + len - (a + bytes)));
	if (madvise(a, bytes, MADV_HUGEPAGE)) {
		int e = errno;

		munmap(a, bytes);
		return ab_errf(err, errlen, AB_VM_EBACKING,
			       "backing thp: madvise(MADV_HUGEPAGE): %s", strerror(e));
	}
	vm->map_base = vm->hva = a;
	vm->map_len = bytes;
	return 0;
}

/* file: the directory exists, is one, and has room for @bytes */
static int backing_file_dir(const struct ab_vm_config *cfg, uint64_t bytes, char *err,
			    size_t errlen)
{
	struct stat st;
	struct statvfs sv;

	if (!cfg->file_dir || !cfg->file_dir[0])
		return ab_errf(err, errlen, AB_VM_EINVAL,
			       "backing file needs a directory (file_dir)");
	if (stat(cfg->file_dir, &st))
		return ab_errf(err, errlen, AB_VM_EINVAL, "backing file: directory %s: %s",
			       cfg->file_dir, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return ab_errf(err, errlen, AB_VM_EINVAL, "backing file: %s is not a directory",
			       cfg->file_dir);
	if (!cfg->no_mem_check && !statvfs(cfg->file_dir, &sv) &&
	    (uint64_t)sv.f_bavail * sv.f_frsize < bytes)
		return ab_errf(err, errlen, AB_VM_ENOMEM,
			       "backing file: %llu MiB do not fit in %s (%llu MiB free)",
			       (unsigned long long)(bytes >> 20), cfg->file_dir,
			       (unsigned long long)(((uint64_t)sv.f_bavail * sv.f_frsize) >> 20));
	return 0;
}

/* file: MAP_SHARED of an O_TMPFILE (or, asked for or without O_TMPFILE, a
 * named file registered with the cleanup registry) in cfg.file_dir */
static int backing_file(struct abvm *vm, uint64_t bytes, char *err, size_t errlen)
{
	const struct ab_vm_config *cfg = &vm->cfg;
	static _Atomic int file_seq;
	int fd = -1, r = backing_file_dir(cfg, bytes, err, errlen);
	void *p;

	if (r)
		return r;
	if (!cfg->file_named) {
		fd = open(cfg->file_dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
		if (fd < 0 && errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
			return ab_errf(err, errlen, AB_VM_EBACKING,
				       "backing file: O_TMPFILE in %s: %s", cfg->file_dir,
				       strerror(errno));
	}
	if (fd < 0) {
		/* named file (asked for, or no O_TMPFILE support) */
		snprintf(vm->file_path, sizeof(vm->file_path), "%s/abvm-%d-%d.mem", cfg->file_dir,
			 (int)getpid(), atomic_fetch_add(&file_seq, 1));
		fd = open(vm->file_path, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
		if (fd < 0)
			return ab_errf(err, errlen, AB_VM_EBACKING, "backing file: create %s: %s",
				       vm->file_path, strerror(errno));
		if (cfg->file_named) {
			vm->file_td = ab_cleanup_add(AB_CLEANUP_FILE, vm->file_path, NULL);
		} else {
			unlink(vm->file_path);
			vm->file_path[0] = 0;
		}
	}
	vm->file_fd = fd;
	if (ftruncate(fd, (off_t)bytes))
		return ab_errf(err, errlen, AB_VM_EBACKING,
			       "backing file: ftruncate to %llu bytes: %s",
			       (unsigned long long)bytes, strerror(errno));
	p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return ab_errf(err, errlen, AB_VM_EBACKING, "backing file: mmap MAP_SHARED: %s",
			       strerror(errno));
	vm->map_base = vm->hva = p;
	vm->map_len = bytes;
	return 0;
}

static int setup_backing(struct abvm *vm, char *err, size_t errlen)
{
	switch (vm->cfg.backing) {
	case AB_VM_BACKING_ANON:
		return backing_anon(vm, vm->bytes, err, errlen);
	case AB_VM_BACKING_THP:
		return backing_thp(vm, vm->bytes, err, errlen);
	case AB_VM_BACKING_FILE:
		return backing_file(vm, vm->bytes, err, errlen);
	}
	return ab_errf(err, errlen, AB_VM_EINVAL, "unknown backing %d", (int)vm->cfg.backing);
}

/* ---- vCPUs ---- */

/* KVM_GET_SUPPORTED_CPUID, malloc'd; NULL on failure. */
static struct kvm_cpuid2 *supported_cpuid(int kvm_fd)
{
	int nent = 128;

	for (;;) {
		struct kvm_cpuid2 *c =
		    calloc(1, sizeof(*c) + (size_t)nent * sizeof(struct kvm_cpuid_entry2));

		if (!c)
			return NULL;
		c->nent = (uint32_t)nent;
		if (!ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c))
			return c;
		free(c);
		if (errno != E2BIG || nent > 4096)
			return NULL;
		nent *= 2;
	}
}

/* Guest MAXPHYADDR from CPUID 0x80000008 (36 if absent). */
static int guest_phys_bits(const struct kvm_cpuid2 *c)
{
	for (uint32_t i = 0; c && i < c->nent; i++)
		if (c->entries[i].function == 0x80000008 && (c->entries[i].eax & 0xff))
			return (int)(c->entries[i].eax & 0xff);
	return 36;
}

static int setup_cpuid(struct abvm *vm, int vfd)
{
	return vm->cpuid ? ioctl(vfd, KVM_SET_CPUID2, vm->cpuid) : -1;
}

static void seg(struct kvm_segment *s, uint16_t sel, uint8_t type, bool code, int dpl)
{
	memset(s, 0, sizeof(*s));
	s->base = 0;
	s->limit = 0xffffffff;
	s->selector = (uint16_t)(sel | dpl);
	s->type = type;
	s->present = 1;
	s->dpl = (uint8_t)dpl;
	s->s = 1;
	s->g = 1;
	s->l = code;
	s->db = !code;
}

static int setup_vcpu_regs(struct abvm *vm, struct vcpu *c)
{
	struct kvm_sregs sr;
	struct kvm_regs r;

	if (ioctl(c->fd, KVM_GET_SREGS, &sr))
		return -1;
	if (vm->cfg.cpl0) {
		seg(&sr.cs, 0x28, 0xb, true, 0);
		seg(&sr.ds, 0x30, 0x3, false, 0);
	} else {
		seg(&sr.cs, 0x08, 0xb, true, 3);
		seg(&sr.ds, 0x10, 0x3, false, 3);
	}
	sr.es = sr.fs = sr.gs = sr.ss = sr.ds;
	memset(&sr.tr, 0, sizeof(sr.tr));
	sr.tr.base = AB_VM_TSS_GPA;
	sr.tr.limit = AB_VM_TSS_LIMIT;
	sr.tr.selector = 0x18;
	sr.tr.type = 0xb;
	sr.tr.present = 1;
	memset(&sr.ldt, 0, sizeof(sr.ldt));
	sr.ldt.unusable = 1;
	sr.ldt.type = 2;
	sr.gdt.base = AB_VM_GDT_GPA;
	sr.gdt.limit = 7 * 8 - 1;
	sr.idt.base = 0;
	sr.idt.limit = 0;
	sr.cr0 = 0x80050033ull; /* PG WP NE ET MP PE */
	sr.cr3 = AB_VM_PML4_GPA;
	sr.cr4 = 0x20;	 /* PAE */
	sr.efer = 0x500; /* LME LMA */
	if (ioctl(c->fd, KVM_SET_SREGS, &sr))
		return -1;
	memset(&r, 0, sizeof(r));
	r.rflags = 0x3002; /* IOPL 3: `out` allowed at CPL 3 */
	r.rip = AB_VM_CODE_GPA;
	r.rsp = c->stack_top - 8; /* as after a call: rsp+8 16-byte aligned */
	r.rdi = c->ctl_gpa;
	return ioctl(c->fd, KVM_SET_REGS, &r);
}

static void describe_exit(struct vcpu *c, char *buf, size_t len)
{
	struct kvm_regs r;
	int reason = c->run->exit_reason;

	if (ioctl(c->fd, KVM_GET_REGS, &r))
		memset(&r, 0, sizeof(r));
	if (reason == KVM_EXIT_IO)
		snprintf(buf, len, "unexpected I/O exit (port 0x%x dir %d) at rip 0x%llx",
			 c->run->io.port, c->run->io.direction, (unsigned long long)r.rip);
	else if (reason == KVM_EXIT_INTERNAL_ERROR)
		snprintf(buf, len, "KVM internal error suberror %u at rip 0x%llx",
			 c->run->internal.suberror, (unsigned long long)r.rip);
	else if (reason == KVM_EXIT_FAIL_ENTRY)
		snprintf(buf, len, "VM entry failed (hardware reason 0x%llx)",
			 (unsigned long long)c->run->fail_entry.hardware_entry_failure_reason);
	else if (reason == KVM_EXIT_SHUTDOWN)
		snprintf(buf, len,
			 "guest triple fault (KVM_EXIT_SHUTDOWN), rip 0x%llx rsp 0x%llx after the "
			 "exit (SVM resets them)",
			 (unsigned long long)r.rip, (unsigned long long)r.rsp);
	else
		snprintf(buf, len, "unexpected exit reason %d at rip 0x%llx", reason,
			 (unsigned long long)r.rip);
}

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

	for (;;) {
		if (ioctl(c->fd, KVM_RUN, 0)) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			vm_fail(c->vm, "vCPU %d: KVM_RUN: %s", c->idx, strerror(errno));
			return -1;
		}
		if (run->exit_reason == KVM_EXIT_IO && run->io.direction == KVM_EXIT_IO_OUT) {
			uint32_t val = 0;

			memcpy(&val, (uint8_t *)run + run->io.data_offset,
			       run->io.size < 4 ? run->io.size : 4);
			atomic_fetch_add_explicit(&c->exits_io, 1, memory_order_relaxed);
			switch (run->io.port) {
			case AB_VM_PORT_DONE:
				if (c->rec_lat)
					drain_latency(c);
				return 0;
			case AB_VM_PORT_PASS:
				if (c->rec_lat)
					drain_latency(c);
				continue;
			case AB_VM_PORT_PANIC:
				vm_fail(c->vm, "vCPU %d: guest panic, reason %u", c->idx, val);
				return -1;
			}
		}
		if (run->exit_reason == KVM_EXIT_INTR)
			continue;
		atomic_fetch_add_explicit(&c->exits_other, 1, memory_order_relaxed);
		{
			char buf[256];

			describe_exit(c, buf, sizeof(buf));
			vm_fail(c->vm, "vCPU %d: %s", c->idx, buf);
		}
		return -1;
	}
}

static void *vcpu_thread(void *arg)
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

static int wait_state(struct abvm *vm, int v, uint64_t timeout_ns, bool starting);

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
				       "%s: %s (no KVM: kernel without CONFIG_KVM, module "
				       "kvm_intel/kvm_amd not "
				       "loaded, or no hardware virtualisation)",
				       p, strerror(e));
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

static uint64_t calibrate_tsc_khz(void)
{
	uint32_t lo, hi;
	uint64_t t0, c0, t1, c1;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	c0 = ((uint64_t)hi << 32) | lo;
	t0 = ab_now_ns();
	usleep(20000);
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	c1 = ((uint64_t)hi << 32) | lo;
	t1 = ab_now_ns();
	return (c1 - c0) * 1000000ull / (t1 - t0);
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
	uint64_t npd = (vm->bytes + GIB - 1) / GIB + 2, npdpt = 4, off, sys;

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
	int pb;

	vm->cpuid = supported_cpuid(vm->kvm_fd);
	if (!vm->cpuid)
		return ab_errf(err, errlen, AB_VM_ESYS, "KVM_GET_SUPPORTED_CPUID: %s",
			       strerror(errno));
	pb = guest_phys_bits(vm->cpuid);
	if (pb < 64 && vm->gpa_base + vm->bytes > (1ull << pb))
		return ab_errf(err, errlen, AB_VM_EINVAL,
			       "guest memory %llu MiB at GPA 0x%llx exceeds the guest's %d "
			       "physical address bits",
			       (unsigned long long)(vm->bytes >> 20),
			       (unsigned long long)vm->gpa_base, pb);
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

/* KVM_CREATE_VM; the system slot's memory with the guest program, GDT/TSS
 * and the identity-mapping page tables. */
static int create_vm_and_system(struct abvm *vm, char *err, size_t errlen)
{
	uint64_t sys = vm->sys_bytes, next_pt = AB_VM_PT_GPA;

	vm->creator_tid = (pid_t)syscall(SYS_gettid);
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
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
	build_gdt(vm);
	if (map_2m(vm, 0, sys, &next_pt, vm->pt_end) ||
	    map_2m(vm, vm->gpa_base, vm->gpa_base + vm->bytes, &next_pt, vm->pt_end))
		return ab_errf(err, errlen, AB_VM_ESYS, "page table area too small (internal)");
	return 0;
}

static int set_slots(struct abvm *vm, char *err, size_t errlen)
{
	if (set_slot(vm, SYS_SLOT, 0, vm->sys_bytes, vm->sys, 0))
		return ab_errf(err, errlen, AB_VM_ESYS,
			       "KVM_SET_USER_MEMORY_REGION (system slot): %s", strerror(errno));
	if (set_slot(vm, REGION_SLOT, vm->gpa_base, vm->bytes, vm->hva,
		     vm->cfg.dirty_log ? KVM_MEM_LOG_DIRTY_PAGES : 0))
		return ab_errf(
		    err, errlen, AB_VM_ESYS,
		    "KVM_SET_USER_MEMORY_REGION (test region, %llu MiB at GPA 0x%llx): %s",
		    (unsigned long long)(vm->bytes >> 20), (unsigned long long)vm->gpa_base,
		    strerror(errno));
	return 0;
}

/* vCPU @i: fd, kvm_run, CPUID, long-mode registers, its control block. */
static int create_vcpu(struct abvm *vm, int i, char *err, size_t errlen)
{
	struct vcpu *c = &vm->vcpus[i];
	uint64_t area = vcpu_area_gpa(vm, i);
	volatile struct ab_vm_ctl *ctl;

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
	if (setup_cpuid(vm, c->fd))
		return ab_errf(err, errlen, AB_VM_ESYS, "KVM_SET_CPUID2 on vCPU %d: %s", i,
			       strerror(errno));
	if (setup_vcpu_regs(vm, c))
		return ab_errf(err, errlen, AB_VM_ESYS,
			       "setting long-mode registers of vCPU %d: %s", i, strerror(errno));
	ctl->region_gva = vm->gpa_base;
	ctl->bitmap_gva = vm->bitmap_gpa;
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
	uint64_t khz;
	int r;

	vm->vcpus = calloc((size_t)vm->nr_vcpus, sizeof(*vm->vcpus));
	if (!vm->vcpus)
		return ab_errf(err, errlen, AB_VM_ENOMEM, "out of memory");
	for (int i = 0; i < vm->nr_vcpus; i++)
		vm->vcpus[i].fd = -1;
	for (int i = 0; i < vm->nr_vcpus; i++)
		if ((r = create_vcpu(vm, i, err, errlen)))
			return r;
	khz = (uint64_t)ioctl(vm->vcpus[0].fd, KVM_GET_TSC_KHZ, 0);
	vm->tsc_khz = (int64_t)khz > 0 ? khz : calibrate_tsc_khz();
	return 0;
}

/* One host thread per vCPU; each runs its vCPU to the guest's first DONE. */
static int start_vcpu_threads(struct abvm *vm, char *err, size_t errlen)
{
	int r;

	for (int i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *c = &vm->vcpus[i];

		c->state = VS_STARTING;
		if (pthread_create(&c->thread, NULL, vcpu_thread, c))
			return ab_errf(err, errlen, AB_VM_ESYS, "pthread_create for vCPU %d failed",
				       i);
		c->thread_started = true;
	}
	for (int i = 0; i < vm->nr_vcpus; i++) {
		r = wait_state(vm, i, 30ull * 1000000000ull, true);
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
	    (r = setup_backing(vm, err, errlen)) || (r = set_slots(vm, err, errlen)) ||
	    (r = create_vcpus(vm, err, errlen)) || (r = start_vcpu_threads(vm, err, errlen))) {
		ab_vm_destroy(vm);
		return r;
	}
	*out = vm;
	return 0;
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
static int wait_state(struct abvm *vm, int v, uint64_t timeout_ns, bool starting)
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
	(void)starting;
	return r;
}

int ab_vm_vcpu_wait(struct abvm *vm, int v, uint64_t timeout_ns)
{
	if (v < 0 || v >= vm->nr_vcpus)
		return AB_VM_EINVAL;
	return wait_state(vm, v, timeout_ns, false);
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
		e = wait_state(vm, i, left, false);
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

static bool all_idle(struct abvm *vm)
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

static bool all_idle(struct abvm *vm);

int ab_vm_debug_crash(struct abvm *vm, int v)
{
	struct ab_vm_work w;
	uint64_t first, n;
	int r;

	if (v < 0 || v >= vm->nr_vcpus)
		return AB_VM_EINVAL;
	ab_vm_work_init(&w);
	ab_vm_vcpu_range(vm, v, &first, &n);
	if (!all_idle(vm))
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
	if (!all_idle(vm))
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
	if (!all_idle(vm)) /* the bitmap is shared by all vCPUs */
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

/* ---- prefault ---- */

#ifndef KVM_CAP_PRE_FAULT_MEMORY
#define KVM_CAP_PRE_FAULT_MEMORY 236
struct kvm_pre_fault_memory {
	__u64 gpa;
	__u64 size;
	__u64 flags;
	__u64 padding[5];
};
#define KVM_PRE_FAULT_MEMORY _IOWR(KVMIO, 0xd5, struct kvm_pre_fault_memory)
#endif

int ab_vm_prefault(struct abvm *vm, unsigned int flags)
{
	int done = 0;

	if (flags & ~(unsigned int)(AB_VM_PREFAULT_HOST | AB_VM_PREFAULT_KVM))
		return AB_VM_EINVAL;
	if (!all_idle(vm))
		return AB_VM_EBUSY;
	/* KVM maps what the host has: untouched anonymous memory would be
	 * mapped to the zero page, read-only */
	if (flags & AB_VM_PREFAULT_KVM)
		flags |= AB_VM_PREFAULT_HOST;
	if (flags & AB_VM_PREFAULT_HOST) {
		if (madvise(vm->hva, vm->bytes, MADV_POPULATE_WRITE)) {
			/* kernels before 5.14: write each page (same value) */
			if (errno != EINVAL)
				return AB_VM_ESYS;
			for (uint64_t p = 0; p < vm->npages; p++) {
				volatile uint64_t *a =
				    (volatile uint64_t *)(vm->hva + p * AB_VM_PAGE_SIZE);

				*a = *a;
			}
		}
		done |= AB_VM_PREFAULT_HOST;
	}
	if (flags & AB_VM_PREFAULT_KVM) {
		bool ioctl_ok =
		    ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_PRE_FAULT_MEMORY) > 0;
		struct kvm_pre_fault_memory pf = {.gpa = vm->gpa_base, .size = vm->bytes};

		while (ioctl_ok && pf.size) {
			if (ioctl(vm->vcpus[0].fd, KVM_PRE_FAULT_MEMORY, &pf) < 0) {
				if (errno == EINTR || errno == EAGAIN)
					continue;
				ioctl_ok = false; /* e.g. not supported by this MMU: guest pass */
			}
		}
		if (ioctl_ok) {
			done |= AB_VM_PREFAULT_KVM | AB_VM_PREFAULT_USED_IOCTL;
		} else {
			struct ab_vm_work w;
			int r;

			/* a WRITE pass: a read fault on untouched anonymous memory
			 * would map the shared zero page read-only, and the next
			 * write would fault again */
			ab_vm_work_init(&w);
			r = ab_vm_start_wait(vm, &w);
			if (r)
				return r;
			done |= AB_VM_PREFAULT_KVM;
		}
	}
	return done;
}

/* ---- extra slots ---- */

int ab_vm_slot_add(struct abvm *vm, uint64_t bytes, char *err, size_t errlen)
{
	int i;

	if (!bytes || bytes % AB_VM_PAGE_SIZE || bytes > 4 * GIB)
		return ab_errf(err, errlen, AB_VM_EINVAL,
			       "extra slot size %llu: not a multiple of 4 KiB in 4 KiB..4 GiB",
			       (unsigned long long)bytes);
	for (i = 0; i < MAX_EXTRA; i++) {
		struct extra_slot *s = &vm->extra[i];
		void *p;

		if (s->used)
			continue;
		p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (p == MAP_FAILED)
			return ab_errf(err, errlen, AB_VM_ENOMEM, "mmap extra slot: %s",
				       strerror(errno));
		s->gpa = vm->extra_gpa_next + (uint64_t)i * 4 * GIB;
		if (set_slot(vm, FIRST_EXTRA_SLOT + i, s->gpa, bytes, p, 0)) {
			int e = errno;

			munmap(p, bytes);
			return ab_errf(err, errlen, AB_VM_ESYS,
				       "KVM_SET_USER_MEMORY_REGION (extra slot %d): %s",
				       FIRST_EXTRA_SLOT + i, strerror(e));
		}
		s->hva = p;
		s->bytes = bytes;
		s->used = true;
		return FIRST_EXTRA_SLOT + i;
	}
	return ab_errf(err, errlen, AB_VM_EBUSY, "all %d extra slots in use", MAX_EXTRA);
}

int ab_vm_slot_del(struct abvm *vm, int slot)
{
	struct extra_slot *s;

	if (slot < FIRST_EXTRA_SLOT || slot >= FIRST_EXTRA_SLOT + MAX_EXTRA)
		return AB_VM_EINVAL;
	s = &vm->extra[slot - FIRST_EXTRA_SLOT];
	if (!s->used)
		return AB_VM_EINVAL;
	if (set_slot(vm, slot, s->gpa, 0, s->hva, 0))
		return AB_VM_ESYS;
	munmap(s->hva, s->bytes);
	s->used = false;
	return 0;
}

int ab_vm_get_dirty_log(struct abvm *vm, uint64_t *bitmap)
{
	struct kvm_dirty_log dl = {.slot = REGION_SLOT, .dirty_bitmap = bitmap};

	if (!vm->cfg.dirty_log)
		return AB_VM_EINVAL;
	if (ioctl(vm->vm_fd, KVM_GET_DIRTY_LOG, &dl))
		return AB_VM_ESYS;
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
	free(vm->cpuid);
	pthread_mutex_destroy(&vm->lock);
	pthread_cond_destroy(&vm->cmd_cond);
	pthread_cond_destroy(&vm->done_cond);
	free(vm);
}
