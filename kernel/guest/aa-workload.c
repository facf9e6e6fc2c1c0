// SPDX-License-Identifier: GPL-2.0
/*
 * aa-workload: the workload of the lab's A/A test (kernel/guest/t-aa).
 *
 * Creates a VM with <MiB> of guest memory (4 KiB pages, THP off), runs one
 * vCPU in 32-bit protected mode that writes one byte to every page after
 * the code page and halts, so the secondary MMU maps all of them. Then,
 * with the vCPU stopped (so the aging pass sees the same state on every
 * kernel), one aging pass:
 *   1. MGLRU: one forced aging walk of memcg <memcg id> (the memcg this
 *      runs in) on node 0: "+ <id> 0 <max_seq> 1 1" to
 *      /sys/kernel/debug/lru_gen, max_seq read from that file after the
 *      VM is populated ("-": no MGLRU pass);
 *   2. page_idle: marks every page of guest memory idle through
 *      /sys/kernel/mm/page_idle/bitmap (rmap walk + clear_young per page).
 * Prints "AA pass=<p> stats=<s> pages=<n> lru_gen_ns=<ns> page_idle_ns=<ns>".
 * With [passes] > 1 it repeats the pass in the same VM that many times, the
 * vCPU re-touching every page before each repeat (so every pass starts
 * from the same state: every page young, every page mapped): passes that
 * cost no VM creation and no population, p = 0, 1, ... On a kernel with
 * the series, "stats=0" or "stats=1" sets kvm.age_stats once, before the VM
 * is created; "alt-stats" sets it to 0 before even passes and to 1 before
 * odd ones, and to 0 at the end (stats=<s> in the AA lines; "-": left as it
 * is). Under TCG a switch costs the next pass the retranslation of the
 * patched code (a static key): see kernel/guest/t-aa.
 *
 * With "hook" instead of a memcg id it instead times the age_bench debugfs
 * hook of the series: for every mode of /ab/modes and batch 1 and 64 (the
 * call sizes of MGLRU's per-PTE calls and of a look-around window), one
 * "clear" over all guest pages after a re-touch by the vCPU, interleaved
 * (3 rounds of every batch and mode), printing "HOOK mode=<m> batch=<b>
 * pages=<n> calls=<c> young=<y> declines=<d> ns=<ns> ns_per_page=<x>".
 *
 * Built by kernel/scripts/agebench-kernel (gcc -static) and packed into
 * the lab's initramfs as /ab/bin/aa-workload. Exit 0 ok, 1 failure.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <sched.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096UL

static void die(const char *what)
{
	fprintf(stderr, "aa-workload: %s: %s\n", what, strerror(errno));
	exit(1);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void seg(struct kvm_segment *s, uint16_t sel, uint8_t type)
{
	memset(s, 0, sizeof(*s));
	s->base = 0;
	s->limit = 0xffffffff;
	s->selector = sel;
	s->type = type;
	s->present = 1;
	s->dpl = 0;
	s->db = 1;
	s->s = 1;
	s->g = 1;
}

/* max_seq of memcg @id, node 0, from /sys/kernel/debug/lru_gen; 0 if none */
static unsigned long long lru_gen_max_seq(int id)
{
	FILE *f = fopen("/sys/kernel/debug/lru_gen", "r");
	unsigned long long seq, max = 0;
	int m = -1, nid = -1, v;
	char line[512];

	if (!f)
		die("/sys/kernel/debug/lru_gen");
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "memcg %d", &v) == 1) {
			m = v;
			nid = -1;
		} else if (sscanf(line, " node %d", &v) == 1) {
			nid = v;
		} else if (m == id && nid == 0 && sscanf(line, " %llu", &seq) == 1 &&
			   seq > max) {
			max = seq;
		}
	}
	fclose(f);
	return max;
}

static void run_vcpu(int vcpu, struct kvm_run *run, struct kvm_regs *regs)
{
	regs->rip = 0x1000;
	if (ioctl(vcpu, KVM_SET_REGS, regs))
		die("KVM_SET_REGS");
	for (;;) {
		if (ioctl(vcpu, KVM_RUN, 0) && errno != EINTR)
			die("KVM_RUN");
		if (run->exit_reason == KVM_EXIT_HLT)
			return;
		if (run->exit_reason != KVM_EXIT_INTR) {
			fprintf(stderr, "aa-workload: unexpected exit %u\n", run->exit_reason);
			exit(1);
		}
	}
}

/* The age_bench hook for every mode and batch 1 and 64 (see above). */
static int hook_bench(int vm, int vcpu, struct kvm_run *run, struct kvm_regs *regs,
		      uint64_t npages)
{
	static const char *const batches[] = {"1", "64"};
	char path[128], line[256], buf[4096], mode[16][32];
	FILE *modes = fopen("/ab/modes", "r");
	unsigned int b, m, nmodes = 0, round;
	int fd;

	snprintf(path, sizeof(path), "/sys/kernel/debug/kvm/%d-%d/age_bench", (int)getpid(), vm);
	if (!modes)
		die("/ab/modes");
	while (nmodes < 16 && fgets(line, sizeof(line), modes))
		if (sscanf(line, "%31[a-z_0-9]", mode[nmodes]) == 1)
			nmodes++;
	fclose(modes);
	for (round = 0; round < 3; round++) {
		for (b = 0; b < 2; b++) {
			for (m = 0; m < nmodes; m++) {
				unsigned long long ns = 0, pages = 0, calls = 0, young = 0, dec = 0;
				ssize_t n;
				char *p;

				run_vcpu(vcpu, run, regs); /* every page young again */
				fd = open(path, O_RDWR);
				if (fd < 0)
					die(path);
				n = snprintf(buf, sizeof(buf), "%s 0 %llu clear %s\n", mode[m],
					     (unsigned long long)npages, batches[b]);
				if (write(fd, buf, (size_t)n) != n)
					die("write age_bench");
				n = read(fd, buf, sizeof(buf) - 1);
				close(fd);
				if (n <= 0)
					die("read age_bench");
				buf[n] = 0;
				if (strncmp(buf, "mode=", 5)) {
					fprintf(stderr, "aa-workload: age_bench: '%.80s'\n", buf);
					return 1;
				}
				p = strstr(buf, " pages=");
				pages = p ? strtoull(p + 7, NULL, 10) : 0;
				p = strstr(buf, " young=");
				young = p ? strtoull(p + 7, NULL, 10) : 0;
				p = strstr(buf, " ns=");
				ns = p ? strtoull(p + 4, NULL, 10) : 0;
				p = strstr(buf, " calls=");
				calls = p ? strtoull(p + 7, NULL, 10) : 0;
				p = strstr(buf, " declines=");
				dec = p ? strtoull(p + 10, NULL, 10) : 0;
				printf("HOOK mode=%s batch=%s pages=%llu calls=%llu young=%llu "
				       "declines=%llu ns=%llu ns_per_page=%.1f\n",
				       mode[m], batches[b], pages, calls, young, dec, ns,
				       pages ? (double)ns / (double)pages : 0.0);
			}
		}
	}
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* kvm.age_stats (the series' instrumentation switch: a static key) */
static void set_age_stats(const char *v)
{
	int fd = open("/sys/module/kvm/parameters/age_stats", O_WRONLY);

	if (fd < 0)
		die("/sys/module/kvm/parameters/age_stats");
	if (write(fd, v, 1) != 1)
		die("write age_stats");
	close(fd);
}

/* 1. MGLRU: one forced aging walk of memcg @id on node 0; its ns */
static uint64_t lru_gen_pass(int id)
{
	char cmd[96];
	uint64_t t0, t;
	int fd;

	snprintf(cmd, sizeof(cmd), "+ %d 0 %llu 1 1\n", id, lru_gen_max_seq(id));
	fd = open("/sys/kernel/debug/lru_gen", O_WRONLY);
	if (fd < 0)
		die("/sys/kernel/debug/lru_gen");
	t0 = now_ns();
	if (write(fd, cmd, strlen(cmd)) < 0)
		die("write lru_gen");
	t = now_ns() - t0;
	close(fd);
	return t;
}

/* 2. page_idle: mark the @n pages of @pfns idle, one word per 64 PFNs; its ns */
static uint64_t page_idle_pass(const uint64_t *pfns, uint64_t n)
{
	uint64_t i, t0, t;
	int fd = open("/sys/kernel/mm/page_idle/bitmap", O_WRONLY);

	if (fd < 0)
		die("/sys/kernel/mm/page_idle/bitmap");
	t0 = now_ns();
	for (i = 0; i < n;) {
		uint64_t word = pfns[i] / 64, bits = 0;

		while (i < n && pfns[i] / 64 == word)
			bits |= 1ull << (pfns[i++] % 64);
		if (pwrite(fd, &bits, 8, (off_t)(word * 8)) != 8)
			die("page_idle write");
	}
	t = now_ns() - t0;
	close(fd);
	return t;
}

int main(int argc, char **argv)
{
	uint64_t mib, size, npages, i, n, t_lru, t_idle;
	unsigned int p, passes = 1;
	const char *fixed_stats = "-";
	bool alt;
	struct kvm_userspace_memory_region region;
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct kvm_run *run;
	int kvm, vm, vcpu, fd;
	uint64_t *pfns;
	uint8_t *mem;
	long mmap_size;

	if (argc < 3 || argc > 5 ||
	    (argc == 5 && strcmp(argv[4], "alt-stats") && strcmp(argv[4], "stats=0") &&
	     strcmp(argv[4], "stats=1"))) {
		fprintf(stderr,
			"usage: aa-workload <MiB> <memcg id|-|hook> [passes [alt-stats|stats=0|stats=1]]\n");
		return 1;
	}
	alt = argc == 5 && !strcmp(argv[4], "alt-stats");
	if (argc == 5 && !alt) {
		fixed_stats = argv[4] + 6;
		set_age_stats(fixed_stats); /* before the VM exists */
	}
	if (argc >= 4) {
		char *end;
		unsigned long v = strtoul(argv[3], &end, 10);

		if (*end || v < 1 || v > 1000) {
			fprintf(stderr, "aa-workload: passes must be 1..1000, not '%s'\n", argv[3]);
			return 1;
		}
		passes = (unsigned int)v;
	}
	mib = strtoull(argv[1], NULL, 0);
	size = mib << 20;
	if (mib < 1 || mib > 1024) {
		fprintf(stderr, "aa-workload: MiB must be 1..1024\n");
		return 1;
	}
	npages = size / PAGE;

	/*
	 * One CPU for everything: the vCPU's faults put the new folios in this
	 * CPU's LRU batch, which the drain below empties before the passes
	 * (a folio still in a batch is not on the LRU, and MGLRU's walk and
	 * page_idle skip it: the counts of a pass would vary by a few pages).
	 */
	{
		cpu_set_t one;

		CPU_ZERO(&one);
		CPU_SET(0, &one);
		if (sched_setaffinity(0, sizeof(one), &one))
			die("sched_setaffinity");
	}

	mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		die("mmap");
	madvise(mem, size, MADV_NOHUGEPAGE);

	/* guest code at gpa 0x1000: touch pages 2..n-1, then hlt */
	{
		uint8_t code[] = {
			0xb8, 0x00, 0x20, 0x00, 0x00,	/* mov eax, 0x2000 */
			0xc6, 0x00, 0x01,		/* 1: mov byte [eax], 1 */
			0x05, 0x00, 0x10, 0x00, 0x00,	/* add eax, 0x1000 */
			0x3d, 0, 0, 0, 0,		/* cmp eax, size */
			0x72, 0xf1,			/* jb 1b */
			0xf4,				/* hlt */
		};
		uint32_t sz = (uint32_t)size;

		memcpy(&code[14], &sz, 4);
		memcpy(mem + 0x1000, code, sizeof(code));
	}

	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		die("/dev/kvm");
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		die("KVM_CREATE_VM");
	memset(&region, 0, sizeof(region));
	region.slot = 0;
	region.guest_phys_addr = 0;
	region.memory_size = size;
	region.userspace_addr = (uint64_t)(uintptr_t)mem;
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region))
		die("KVM_SET_USER_MEMORY_REGION");
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0)
		die("KVM_CREATE_VCPU");
	mmap_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (mmap_size <= 0)
		die("KVM_GET_VCPU_MMAP_SIZE");
	run = mmap(NULL, (size_t)mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED)
		die("mmap kvm_run");

	if (ioctl(vcpu, KVM_GET_SREGS, &sregs))
		die("KVM_GET_SREGS");
	seg(&sregs.cs, 0x8, 0xb);
	seg(&sregs.ds, 0x10, 0x3);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	sregs.cr0 |= 1; /* protected mode, no paging */
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs))
		die("KVM_SET_SREGS");
	memset(&regs, 0, sizeof(regs));
	regs.rip = 0x1000;
	regs.rflags = 2;
	if (ioctl(vcpu, KVM_SET_REGS, &regs))
		die("KVM_SET_REGS");

	for (;;) {
		if (ioctl(vcpu, KVM_RUN, 0) && errno != EINTR)
			die("KVM_RUN");
		if (run->exit_reason == KVM_EXIT_HLT)
			break;
		if (run->exit_reason != KVM_EXIT_INTR) {
			fprintf(stderr, "aa-workload: unexpected exit %u\n", run->exit_reason);
			return 1;
		}
	}

	/* drain this CPU's LRU batches (madvise_cold() starts with lru_add_drain()) */
	{
		uint8_t *one = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
				    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (one == MAP_FAILED)
			die("mmap");
		one[0] = 1;
		if (madvise(one, PAGE, MADV_COLD))
			die("madvise(MADV_COLD)");
	}

	if (!strcmp(argv[2], "hook"))
		return hook_bench(vm, vcpu, run, &regs, npages);

	/* the PFNs of guest memory (read before aging: pagemap does not age) */
	pfns = calloc(npages, sizeof(*pfns));
	if (!pfns)
		die("calloc");
	fd = open("/proc/self/pagemap", O_RDONLY);
	if (fd < 0)
		die("/proc/self/pagemap");
	for (i = 0, n = 0; i < npages; i++) {
		uint64_t e;

		if (pread(fd, &e, 8, (off_t)(((uintptr_t)mem / PAGE + i) * 8)) != 8)
			die("pagemap read");
		if ((e >> 63) & 1 && (e & ((1ull << 55) - 1)))
			pfns[n++] = e & ((1ull << 55) - 1);
	}
	close(fd);
	qsort(pfns, n, sizeof(*pfns), cmp_u64);

	for (p = 0; p < passes; p++) {
		const char *stats = fixed_stats;

		if (p)
			run_vcpu(vcpu, run, &regs); /* every page young again */
		if (alt) {
			stats = p % 2 ? "1" : "0";
			set_age_stats(stats);
		}
		t_lru = strcmp(argv[2], "-") ? lru_gen_pass(atoi(argv[2])) : 0;
		t_idle = page_idle_pass(pfns, n);
		printf("AA pass=%u stats=%s pages=%llu lru_gen_ns=%llu page_idle_ns=%llu\n", p,
		       stats, (unsigned long long)n, (unsigned long long)t_lru,
		       (unsigned long long)t_idle);
	}
	if (argc == 5)
		set_age_stats("0");
	return 0;
}
