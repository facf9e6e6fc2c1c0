// SPDX-License-Identifier: GPL-2.0
/* util.c - errors, atomic file writes, small file helpers. */
#include "ab_common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

static void vwarn(const char *fmt, va_list ap)
{
	fputs("agebench: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void ab_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarn(fmt, ap);
	va_end(ap);
}

void ab_die(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarn(fmt, ap);
	va_end(ap);
	exit(code);
}

const char *ab_tmp_path(const char *path)
{
	static _Thread_local char buf[4096];

	snprintf(buf, sizeof(buf), "%s.tmp.%ld", path, (long)getpid());
	return buf;
}

int ab_write_atomic(const char *path, const void *buf, size_t len)
{
	const char *tmp = ab_tmp_path(path);
	const char *p = buf;
	int fd, err = 0;

	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			break;
		}
		p += n;
		len -= (size_t)n;
	}
	if (!err && fsync(fd))
		err = -errno;
	if (close(fd) && !err)
		err = -errno;
	if (!err && rename(tmp, path))
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}

int ab_parse_count_list(const char *what, const char *s, bool all_ok, int64_t *out, int max,
			char *err, size_t errlen)
{
	char buf[256], *save = NULL;
	int n = 0;

	if (strlen(s) >= sizeof(buf)) {
		snprintf(err, errlen, "%s: list too long", what);
		return -1;
	}
	snprintf(buf, sizeof(buf), "%s", s);
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		char *end;
		long long v;

		if (n == max) {
			snprintf(err, errlen, "%s: at most %d values", what, max);
			return -1;
		}
		if (all_ok && !strcmp(t, "all")) {
			out[n++] = 0;
			continue;
		}
		errno = 0;
		v = strtoll(t, &end, 10);
		if (errno || end == t || *end || v <= 0 || v > (1ll << 30)) {
			snprintf(err, errlen, "%s: '%s' is not a page count (1 .. 2^30%s)", what, t,
				 all_ok ? ", or all" : "");
			return -1;
		}
		out[n++] = v;
	}
	if (!n) {
		snprintf(err, errlen, "%s: empty list", what);
		return -1;
	}
	return n;
}

int ab_parse_size(const char *s, uint64_t *out)
{
	unsigned int shift = 0;
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || s[0] == '-')
		return -1;
	switch (*end) {
	case 'k':
	case 'K':
		shift = 10;
		break;
	case 'm':
	case 'M':
		shift = 20;
		break;
	case 'g':
	case 'G':
		shift = 30;
		break;
	case 't':
	case 'T':
		shift = 40;
		break;
	}
	if (shift) {
		if (v > (~0ull >> shift))
			return -1;
		v <<= shift;
		end++;
		if (*end == 'i')
			end++;
	}
	if (*end == 'B')
		end++;
	if (*end)
		return -1;
	*out = v;
	return 0;
}

int ab_mkdir_p(const char *path)
{
	char buf[4096];
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, n + 1);
	for (char *s = buf + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = 0;
		if (mkdir(buf, 0755) && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	if (mkdir(buf, 0755) && errno != EEXIST)
		return -errno;
	/* EEXIST: it must be a directory (a file of that name is not one) */
	struct stat sb;
	if (stat(buf, &sb))
		return -errno;
	return S_ISDIR(sb.st_mode) ? 0 : -ENOTDIR;
}

char *ab_read_file(const char *path, size_t *lenp)
{
	FILE *f = fopen(path, "rb");
	size_t cap = 4096, len = 0;
	char *buf;

	if (!f)
		return NULL;
	buf = malloc(cap + 1);
	while (buf) {
		size_t n = fread(buf + len, 1, cap - len, f);

		len += n;
		if (len < cap)
			break;
		cap *= 2;
		char *nb = realloc(buf, cap + 1);

		if (!nb) {
			free(buf);
			buf = NULL;
		}
		buf = nb;
	}
	if (buf && ferror(f)) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	if (!buf)
		return NULL;
	buf[len] = 0;
	if (lenp)
		*lenp = len;
	return buf;
}

const char *ab_kernel_release(void)
{
	static struct utsname u;

	if (!u.release[0] && uname(&u))
		return "unknown";
	return u.release;
}

/* The first line of @path without its newline in @buf; false if unreadable. */
static bool first_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	bool ok = f && fgets(buf, (int)len, f);

	if (f)
		fclose(f);
	if (ok)
		buf[strcspn(buf, "\n")] = 0;
	return ok && buf[0];
}

const char *ab_platform(void)
{
	static char out[160];
	char line[4096], vendor[64] = "", product[64] = "";
	bool hv = false, tcg = false;
	FILE *f;

	if (out[0])
		return out;
	f = fopen("/proc/cpuinfo", "re");
	while (f && fgets(line, sizeof(line), f)) {
		hv |= !strncmp(line, "flags", 5) && strstr(line, " hypervisor");
		/* QEMU's emulated CPU (the kernel lab): "QEMU TCG CPU version 2.5+" */
		tcg |= !strncmp(line, "model name", 10) && strstr(line, "QEMU TCG");
	}
	if (f)
		fclose(f);
	first_line("/sys/class/dmi/id/sys_vendor", vendor, sizeof(vendor));
	first_line("/sys/class/dmi/id/product_name", product, sizeof(product));
	if (tcg)
		snprintf(out, sizeof(out), "virtual machine (QEMU TCG: emulated CPU)");
	else if (!hv)
		snprintf(out, sizeof(out), "bare metal");
	else if (strstr(vendor, "QEMU") || strstr(product, "QEMU"))
		snprintf(out, sizeof(out), "virtual machine (QEMU%s%s)", product[0] ? ": " : "",
			 product);
	else
		snprintf(out, sizeof(out), "virtual machine%s%s%s", vendor[0] ? " (" : "", vendor,
			 vendor[0] ? ")" : "");
	return out;
}
