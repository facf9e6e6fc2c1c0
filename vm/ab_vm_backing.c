// SPDX-License-Identifier: GPL-2.0
/*
 * ab_vm_backing.c - the test region's memory: anon (4 KiB host pages), thp
 * (2 MiB aligned, MADV_HUGEPAGE), file (MAP_SHARED, O_TMPFILE or named);
 * and the host checks they need (MemAvailable, THP mode).
 */
#define _GNU_SOURCE
#include "ab_errbuf.h"
#include "ab_vm_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "ab_common.h"

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

int ab_vm_setup_backing(struct abvm *vm, char *err, size_t errlen)
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
