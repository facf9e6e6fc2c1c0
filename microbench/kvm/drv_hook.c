// SPDX-License-Identifier: GPL-2.0
/*
 * drv_hook.c - the patched kernel's per-VM debugfs walker hook
 * (docs/kernel-interface.md, "Benchmark hook"): one walker call of a given
 * mode over a GFN range, timed by the kernel, with its lock wait and
 * whether it declined.
 */
#define _GNU_SOURCE
#include "abk.h"
#include "abvm.h"
#include "abvm_age.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HOOK_MAX_PAGES ((uint64_t)ABVM_HOOK_MAX_PAGES)

struct hook {
	int fd;
	uint64_t gfn0;
	char *buf;
	size_t buflen;
	struct abvm_hook_result r;
};

static enum abk_presence hook_detect(char *msg, size_t len)
{
	char p[512], d[512], cur[64];
	enum abk_presence pr;

	abk_path(p, sizeof(p), "/sys/module/kvm/parameters/mmu_age_mode");
	if (!abk_mode_param(cur, sizeof(cur))) {
		snprintf(msg, len, "%s: %s (kernel without the agebench aging patches)", p,
			 strerror(errno ? errno : ENOENT));
		return ABK_ABSENT;
	}
	abk_path(d, sizeof(d), "/sys/kernel/debug/kvm");
	if ((pr = abk_probe_file(d, R_OK | X_OK, DEBUGFS_HINT, "the hook needs root", msg, len)) !=
	    ABK_PRESENT)
		return pr;
	if ((pr = abk_probe_file(p, W_OK, "", "cannot switch aging modes", msg, len)) !=
	    ABK_PRESENT)
		return pr;
	snprintf(msg, len, "debugfs hook under %s, kvm.mmu_age_mode=%s", d, cur);
	return ABK_PRESENT;
}

static int hook_prepare(struct abk_drv *d, const struct abk_target *t, char *msg, size_t len)
{
	struct hook *h = calloc(1, sizeof(*h));
	char p[512];

	if (!h)
		return -ENOMEM;
	abk_path(p, sizeof(p), "/sys/kernel/debug/kvm/%d-%d/age_bench", (int)getpid(), t->vm_fd);
	h->fd = open(p, O_RDWR | O_CLOEXEC);
	if (h->fd < 0) {
		int e = -errno;

		snprintf(msg, len, "%s: %s", p, strerror(errno));
		free(h);
		return e;
	}
	h->gfn0 = t->gpa >> 12;
	/* bitmap line: 17 chars per 64 pages, plus the header line */
	h->buflen = 512 + (HOOK_MAX_PAGES / 64) * 17;
	h->buf = malloc(h->buflen);
	h->r.words = HOOK_MAX_PAGES / 64;
	h->r.bitmap = malloc(h->r.words * 8);
	if (!h->buf || !h->r.bitmap) {
		free(h->buf);
		free(h->r.bitmap);
		close(h->fd);
		free(h);
		return -ENOMEM;
	}
	d->priv = h;
	return 0;
}

/*
 * One hook call over at most HOOK_MAX_PAGES pages, answer parsed and checked
 * by libabvm's parser of the contract (abvm_hook_parse/abvm_hook_expect).
 */
static int hook_call(struct hook *h, const char *mode, uint64_t first, uint64_t n, bool clear,
		     struct abk_age_res *res, uint64_t *bits, char *msg, size_t len)
{
	char cmd[128];
	ssize_t r;
	int l;

	l = snprintf(cmd, sizeof(cmd), "%s %llu %llu %s\n", mode,
		     (unsigned long long)(h->gfn0 + first), (unsigned long long)n,
		     clear ? "clear" : "test");
	if (pwrite(h->fd, cmd, l, 0) != l) {
		snprintf(msg, len, "age_bench: write '%.*s': %s", l - 1, cmd, strerror(errno));
		return -errno;
	}
	r = pread(h->fd, h->buf, h->buflen - 1, 0);
	if (r <= 0) {
		snprintf(msg, len, "age_bench: read: %s", r < 0 ? strerror(errno) : "empty");
		return r < 0 ? -errno : -EIO;
	}
	h->buf[r] = 0;
	if (abvm_hook_parse(h->buf, &h->r, msg, len) ||
	    abvm_hook_expect(&h->r, mode, h->gfn0 + first, n, clear, msg, len))
		return -EPROTO;
	res->pages += h->r.pages;
	res->young += h->r.young;
	res->has_young = true;
	res->ns += h->r.ns;
	res->lock_wait_ns += h->r.lock_wait_ns;
	if (h->r.declined) {
		res->declined = true;
		res->declines++;
	}
	for (uint64_t i = 0; bits && i < n; i++)
		if (abvm_bit(h->r.bitmap, i))
			abvm_set_bit(bits, first + i);
	return 0;
}

static int hook_age(struct abk_drv *d, const char *mode, uint64_t first, uint64_t npages,
		    bool clear, struct abk_age_res *res, uint64_t *bits)
{
	struct hook *h = d->priv;
	int err = 0;

	memset(res, 0, sizeof(*res));
	for (uint64_t off = 0; off < npages && !err; off += HOOK_MAX_PAGES) {
		uint64_t n = npages - off < HOOK_MAX_PAGES ? npages - off : HOOK_MAX_PAGES;

		err = hook_call(h, mode, first + off, n, clear, res, bits, d->err, sizeof(d->err));
	}
	/* the hook answers lock_wait_ns and declined itself, per walker call */
	res->has_lock_wait = res->has_declines = !err;
	return err;
}

static void hook_cleanup(struct abk_drv *d)
{
	struct hook *h = d->priv;

	if (!h)
		return;
	close(h->fd);
	free(h->buf);
	free(h->r.bitmap);
	free(h);
	d->priv = NULL;
}

const struct abk_driver abk_drv_hook = {
    .name = "hook",
    .detect = hook_detect,
    .per_mode = true,
    .per_page = true,
    .prepare = hook_prepare,
    .age = hook_age,
    .cleanup = hook_cleanup,
};
