// SPDX-License-Identifier: GPL-2.0
/* ab_vm_age.c - mmu_age_mode, the age_bench debugfs hook, page_idle. */
#define _GNU_SOURCE
#include "ab_vm_age.h"
#include "ab_errbuf.h"
#include "ab_vm.h"
#include "ab_common.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

bool ab_vm_age_mode_known(const char *name)
{
	const struct ab_mode *m = name ? ab_mode_find(name) : NULL;

	return m && (m->where & AB_IN_KERNEL);
}

static const char *mode_path(const char *root, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s", root ? root : "", AB_VM_AGE_MODE_PARAM);
	return buf;
}

int ab_vm_age_mode_get(const char *root, char *buf, size_t len)
{
	char p[512];
	int fd = open(mode_path(root, p, sizeof(p)), O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}

int ab_vm_age_mode_set(const char *root, const char *mode)
{
	char p[512];
	int fd = open(mode_path(root, p, sizeof(p)), O_WRONLY | O_TRUNC | O_CLOEXEC);
	size_t l = strlen(mode);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, mode, l);
	if (n < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	close(fd);
	return (size_t)n == l ? 0 : -EIO;
}

int ab_vm_age_mode_save(const char *root)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	static char saved_path[512];
	char p[512], cur[64];
	int r = 0;

	mode_path(root, p, sizeof(p));
	pthread_mutex_lock(&lock);
	if (strcmp(saved_path, p)) {
		r = ab_vm_age_mode_get(root, cur, sizeof(cur));
		if (!r && ab_cleanup_add(AB_CLEANUP_WRITE, p, cur) < 0)
			r = -ENOSPC;
		if (!r)
			snprintf(saved_path, sizeof(saved_path), "%s", p);
	}
	pthread_mutex_unlock(&lock);
	return r;
}

int ab_vm_age_modes_accepted(const char *root, int ids[AB_MODE_NR])
{
	char cur[64];
	int n = 0;

	if (ab_vm_age_mode_get(root, cur, sizeof(cur)))
		return 0;
	for (int i = 0; i < AB_MODE_NR; i++)
		if ((ab_mode_table[i].where & AB_IN_KERNEL) &&
		    !ab_vm_age_mode_set(root, ab_mode_table[i].name))
			ids[n++] = i;
	ab_vm_age_mode_set(root, cur);
	return n;
}

bool ab_vm_hook_path(const struct abvm *vm, char *buf, size_t len)
{
	char dir[128];

	snprintf(buf, len, "%s/age_bench", ab_vm_debugfs_dir(vm, dir, sizeof(dir)));
	return access(buf, F_OK) == 0;
}

static int parse_u64_field(const char *s, const char *key, uint64_t *out)
{
	const char *p = strstr(s, key);

	if (!p)
		return -1;
	p += strlen(key);
	*out = strtoull(p, NULL, 10);
	return 0;
}

/* Write one age_bench request to @fd; on failure close @fd and say why. */
static int hook_request(int fd, const char *path, const char *mode, uint64_t start_gfn,
			uint64_t npages, bool clear, uint64_t batch, char *err, size_t errlen)
{
	char cmd[128], bs[24] = "";
	int n;

	/* batch > npages is EINVAL: clamp; 0 sends no field (the hook then uses 64) */
	if (batch)
		snprintf(bs, sizeof(bs), " %" PRIu64, batch < npages ? batch : npages);
	n = snprintf(cmd, sizeof(cmd), "%s %" PRIu64 " %" PRIu64 " %s%s\n", mode, start_gfn, npages,
		     clear ? "clear" : "test", bs);

	if (write(fd, cmd, (size_t)n) != n) {
		int e = errno;

		close(fd);
		return ab_errf(err, errlen, -1, "write '%.*s' to %s: %s", n - 1, cmd, path,
			       strerror(e));
	}
	return 0;
}

int ab_vm_hook_call(const struct abvm *vm, const char *mode, uint64_t start_gfn, uint64_t npages,
		    bool clear, struct ab_vm_hook_result *res, char *err, size_t errlen)
{
	return ab_vm_hook_call_batch(vm, mode, start_gfn, npages, clear, 0, res, err, errlen);
}

int ab_vm_hook_call_batch(const struct abvm *vm, const char *mode, uint64_t start_gfn,
			  uint64_t npages, bool clear, uint64_t batch,
			  struct ab_vm_hook_result *res, char *err, size_t errlen)
{
	char path[160], *buf;
	size_t cap = 256 + (npages + 63) / 64 * 17 + 64;
	ssize_t n, got = 0;
	int fd;

	if (!ab_vm_hook_path(vm, path, sizeof(path)))
		return ab_errf(
		    err, errlen, -1,
		    "%s: no such file (kernel without the agebench age_bench hook, or debugfs "
		    "not mounted)",
		    path);
	if (res->words < (npages + 63) / 64)
		return ab_errf(err, errlen, -1, "hook result bitmap too small");
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return ab_errf(err, errlen, -1, "%s: %s", path, strerror(errno));
	if (hook_request(fd, path, mode, start_gfn, npages, clear, batch, err, errlen))
		return -1;
	buf = malloc(cap);
	if (!buf) {
		close(fd);
		return ab_errf(err, errlen, -1, "out of memory");
	}
	for (bool stream = false;;) {
		/* the file may be a stream (nonseekable: pread gives ESPIPE);
		 * a seekable one must be read from offset 0, not after the write */
		n = stream ? read(fd, buf + got, cap - 1 - (size_t)got)
			   : pread(fd, buf + got, cap - 1 - (size_t)got, got);
		if (n < 0 && errno == ESPIPE && !stream && !got) {
			stream = true;
			continue;
		}
		if (n < 0) {
			int e = errno;

			free(buf);
			close(fd);
			return ab_errf(err, errlen, -1, "read %s: %s", path, strerror(e));
		}
		if (n == 0 || (size_t)got + (size_t)n >= cap - 1) {
			got += n;
			break;
		}
		got += n;
	}
	close(fd);
	buf[got] = 0;
	if (ab_vm_hook_parse(buf, res, err, errlen)) {
		free(buf);
		return -1;
	}
	free(buf);
	if (ab_vm_hook_expect(res, mode, start_gfn, npages, clear, err, errlen))
		return -1;
	return batch ? ab_vm_hook_expect_batch(res, npages, batch, err, errlen) : 0;
}

int ab_vm_hook_walk(const struct abvm *vm, const char *mode, uint64_t start_gfn, uint64_t npages,
		    bool clear, char *err, size_t errlen)
{
	char path[160];
	int fd;

	if (!ab_vm_hook_path(vm, path, sizeof(path)))
		return ab_errf(err, errlen, -1, "%s: no such file", path);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return ab_errf(err, errlen, -1, "%s: %s", path, strerror(errno));
	if (hook_request(fd, path, mode, start_gfn, npages, clear, 0, err, errlen))
		return -1;
	close(fd);
	return 0;
}

/*
 * The v2 fields "batch= calls= declines=" (docs/kernel-interface.md): all
 * three or none (a v1 answer); batch >= 1, calls >= 1, declines <= calls,
 * declined=1 exactly when some call declined.
 */
static int hook_parse_v2(const char *buf, struct ab_vm_hook_result *res, char *err, size_t errlen)
{
	const char *nl = strchr(buf, '\n'), *b = strstr(buf, " batch=");

	res->has_batch = false;
	res->batch = res->calls = res->declines = 0;
	if (!b || (nl && b > nl))
		return 0;
	if (parse_u64_field(buf, " batch=", &res->batch) ||
	    parse_u64_field(buf, " calls=", &res->calls) ||
	    parse_u64_field(buf, " declines=", &res->declines))
		return ab_errf(err, errlen, -1,
			       "age_bench: batch= without calls= and declines= in '%.200s'", buf);
	if (!res->batch || !res->calls || res->declines > res->calls)
		return ab_errf(err, errlen, -1,
			       "age_bench: batch=%" PRIu64 " calls=%" PRIu64 " declines=%" PRIu64
			       " (batch and calls must be >= 1, declines <= calls)",
			       res->batch, res->calls, res->declines);
	if ((res->declines > 0) != (res->declined != 0))
		return ab_errf(err, errlen, -1,
			       "age_bench: declined=%d but declines=%" PRIu64
			       " (declined means some call declined)",
			       res->declined, res->declines);
	res->has_batch = true;
	return 0;
}

int ab_vm_hook_parse(const char *buf, struct ab_vm_hook_result *res, char *err, size_t errlen)
{
	const char *line2, *p;
	uint64_t w, dec = 0;

	memset(res->mode, 0, sizeof(res->mode));
	memset(res->op, 0, sizeof(res->op));
	if (sscanf(buf, "mode=%15s op=%7s", res->mode, res->op) != 2 ||
	    parse_u64_field(buf, " start=", &res->start) ||
	    parse_u64_field(buf, " pages=", &res->pages) ||
	    parse_u64_field(buf, " young=", &res->young) ||
	    parse_u64_field(buf, " declined=", &dec) || parse_u64_field(buf, " ns=", &res->ns) ||
	    parse_u64_field(buf, " lock_wait_ns=", &res->lock_wait_ns))
		return ab_errf(err, errlen, -1, "age_bench: cannot parse result '%.200s'", buf);
	if (dec > 1)
		return ab_errf(err, errlen, -1, "age_bench: declined=%" PRIu64 " (must be 0 or 1)",
			       dec);
	res->declined = (int)dec;
	if (hook_parse_v2(buf, res, err, errlen))
		return -1;
	if ((res->pages + 63) / 64 > res->words)
		return ab_errf(err, errlen, -1,
			       "age_bench: result for %" PRIu64 " pages, bitmap holds %zu words",
			       res->pages, res->words);
	line2 = strstr(buf, "\nbitmap=");
	if (!line2)
		return ab_errf(err, errlen, -1, "age_bench: no bitmap line in result '%.200s'",
			       buf);
	p = line2 + 8;
	memset(res->bitmap, 0, res->words * 8);
	for (w = 0; w < (res->pages + 63) / 64; w++) {
		char *end;

		while (*p == ' ')
			p++;
		if (!*p || *p == '\n')
			return ab_errf(err, errlen, -1,
				       "age_bench: bitmap has %" PRIu64 " words, expected %" PRIu64,
				       w, (res->pages + 63) / 64);
		res->bitmap[w] = strtoull(p, &end, 16);
		if (end - p != 16)
			return ab_errf(err, errlen, -1,
				       "age_bench: bitmap word '%.20s' is not 16 hex digits", p);
		p = end;
	}
	while (*p == ' ')
		p++;
	if (*p && *p != '\n')
		return ab_errf(err, errlen, -1,
			       "age_bench: more bitmap words than the %" PRIu64 " pages need",
			       res->pages);
	/* bits past the range must be clear */
	if (res->pages % 64 && (res->bitmap[res->pages / 64] >> (res->pages % 64)))
		return ab_errf(err, errlen, -1, "age_bench: bitmap bits set past page %" PRIu64,
			       res->pages);
	/* internal consistency (docs/kernel-interface.md) */
	if (!ab_vm_age_mode_known(res->mode))
		return ab_errf(err, errlen, -1, "age_bench: unknown mode=%s", res->mode);
	if (strcmp(res->op, "test") && strcmp(res->op, "clear"))
		return ab_errf(err, errlen, -1, "age_bench: unknown op=%s", res->op);
	if (res->young > res->pages)
		return ab_errf(err, errlen, -1, "age_bench: young=%" PRIu64 " > pages=%" PRIu64,
			       res->young, res->pages);
	if (ab_vm_popcount(res->bitmap, res->pages) != res->young)
		return ab_errf(err, errlen, -1,
			       "age_bench: young=%" PRIu64 " but the bitmap has %" PRIu64
			       " bits set",
			       res->young, ab_vm_popcount(res->bitmap, res->pages));
	if (res->declined && res->young)
		return ab_errf(err, errlen, -1,
			       "age_bench: declined=1 with young=%" PRIu64
			       " (a decline is no answer)",
			       res->young);
	return 0;
}

int ab_vm_hook_expect(const struct ab_vm_hook_result *res, const char *mode, uint64_t start_gfn,
		      uint64_t npages, bool clear, char *err, size_t errlen)
{
	if (strcmp(res->mode, mode) || strcmp(res->op, clear ? "clear" : "test") ||
	    res->start != start_gfn || res->pages != npages)
		return ab_errf(err, errlen, -1,
			       "age_bench: asked '%s %" PRIu64 " %" PRIu64
			       " %s', the answer is for '%s %" PRIu64 " %" PRIu64 " %s'",
			       mode, start_gfn, npages, clear ? "clear" : "test", res->mode,
			       res->start, res->pages, res->op);
	return 0;
}

int ab_vm_hook_expect_batch(const struct ab_vm_hook_result *res, uint64_t npages, uint64_t batch,
			    char *err, size_t errlen)
{
	uint64_t want = batch && batch < npages ? batch : npages;

	if (!res->has_batch)
		return ab_errf(err, errlen, -1,
			       "age_bench: asked for calls of %" PRIu64
			       " pages, the answer has no batch= (a v1 hook?)",
			       want);
	if (res->batch != want)
		return ab_errf(err, errlen, -1,
			       "age_bench: asked for calls of %" PRIu64
			       " pages, the answer says batch=%" PRIu64,
			       want, res->batch);
	return 0;
}

int ab_vm_pagemap_pfns(const void *hva, uint64_t n, uint64_t *pfns, char *err, size_t errlen)
{
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	uint64_t i, chunk = 4096, *buf;
	bool any_present_zero = false, any = false;

	if (fd < 0)
		return ab_errf(err, errlen, -1, "/proc/self/pagemap: %s", strerror(errno));
	buf = malloc(chunk * 8);
	if (!buf) {
		close(fd);
		return ab_errf(err, errlen, -1, "out of memory");
	}
	for (i = 0; i < n; i += chunk) {
		uint64_t m = n - i < chunk ? n - i : chunk, j;
		off_t off = (off_t)(((uintptr_t)hva / 4096 + i) * 8);

		if (pread(fd, buf, m * 8, off) != (ssize_t)(m * 8)) {
			int e = errno;

			free(buf);
			close(fd);
			return ab_errf(err, errlen, -1, "read /proc/self/pagemap: %s", strerror(e));
		}
		for (j = 0; j < m; j++) {
			uint64_t e = buf[j];
			bool present = (e >> 63) & 1;

			pfns[i + j] = present ? (e & ((1ull << 55) - 1)) : 0;
			if (present) {
				any = true;
				if (!pfns[i + j])
					any_present_zero = true;
			}
		}
	}
	free(buf);
	close(fd);
	if (any && any_present_zero)
		return ab_errf(err, errlen, -1,
			       "/proc/self/pagemap hides PFNs (need CAP_SYS_ADMIN)");
	return 0;
}

/* Work PFN chunks (64 PFNs per u64 word of the idle bitmap) in order. */
static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int ab_vm_idle_mark(int fd, const uint64_t *pfns, uint64_t n)
{
	uint64_t *s = malloc(n * 8), i, cnt = 0;
	int r = 0;

	if (!s)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		if (pfns[i])
			s[cnt++] = pfns[i];
	qsort(s, cnt, 8, cmp_u64);
	for (i = 0; i < cnt;) {
		uint64_t word = s[i] / 64, bits = 0;

		while (i < cnt && s[i] / 64 == word)
			bits |= 1ull << (s[i++] % 64);
		ssize_t w = pwrite(fd, &bits, 8, (off_t)(word * 8));

		/* 0: the last, partial chunk below max_pfn; 6.12 marks those
		 * PFNs but reports 0 bytes (its loop only counts full words) */
		if (w != 8 && w != 0) {
			r = w < 0 ? -errno : -EIO;
			break;
		}
	}
	free(s);
	return r;
}

struct pfn_idx {
	uint64_t pfn, idx;
};

static int cmp_pfn(const void *a, const void *b)
{
	return cmp_u64(a, b);
}

int ab_vm_idle_read(int fd, const uint64_t *pfns, uint64_t n, uint64_t *young, uint64_t *unknown)
{
	struct pfn_idx *s = malloc(n * sizeof(*s));
	uint64_t i, cnt = 0;
	int r = 0;

	if (!s)
		return -ENOMEM;
	memset(young, 0, (n + 63) / 64 * 8);
	if (unknown)
		memset(unknown, 0, (n + 63) / 64 * 8);
	for (i = 0; i < n; i++)
		if (pfns[i])
			s[cnt++] = (struct pfn_idx){pfns[i], i};
	qsort(s, cnt, sizeof(*s), cmp_pfn);
	for (i = 0; i < cnt;) {
		uint64_t word = s[i].pfn / 64, bits;
		ssize_t got = pread(fd, &bits, 8, (off_t)(word * 8));

		if (got == 0) {
			/* the last, partial chunk below max_pfn: 6.12 reads
			 * nothing back for it (it only returns full words) */
			for (; i < cnt && s[i].pfn / 64 == word; i++)
				if (unknown)
					ab_vm_set_bit(unknown, s[i].idx);
			continue;
		}
		if (got != 8) {
			r = got < 0 ? -errno : -EIO;
			break;
		}
		for (; i < cnt && s[i].pfn / 64 == word; i++)
			if (!((bits >> (s[i].pfn % 64)) & 1))
				ab_vm_set_bit(young, s[i].idx);
	}
	free(s);
	return r;
}

uint64_t ab_vm_popcount(const uint64_t *bm, uint64_t nbits)
{
	uint64_t c = 0, i;

	for (i = 0; i < nbits / 64; i++)
		c += (uint64_t)__builtin_popcountll(bm[i]);
	if (nbits % 64)
		c += (uint64_t)__builtin_popcountll(bm[nbits / 64] & ((1ull << (nbits % 64)) - 1));
	return c;
}

/* mlock/munlock call lru_add_drain() on the CPU they run on: do it on
 * every online CPU from a helper thread (our own affinity is untouched). */
static void *drain_thread(void *arg)
{
	long ncpu = sysconf(_SC_NPROCESSORS_CONF);
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	(void)arg;
	if (p == MAP_FAILED)
		return NULL;
	for (long c = 0; c < ncpu && c < CPU_SETSIZE; c++) {
		cpu_set_t cs;

		CPU_ZERO(&cs);
		CPU_SET((int)c, &cs);
		if (sched_setaffinity(0, sizeof(cs), &cs))
			continue;
		sched_yield();
		if (!mlock(p, 4096))
			munlock(p, 4096);
	}
	munmap(p, 4096);
	return NULL;
}

void ab_vm_lru_drain_all(void)
{
	pthread_t t;

	if (!pthread_create(&t, NULL, drain_thread, NULL))
		pthread_join(t, NULL);
}
