// SPDX-License-Identifier: GPL-2.0
/*
 * drv_lru_gen.c - MGLRU aging of the harness's memcg through
 * /sys/kernel/debug/lru_gen: "+ <memcg_id> <node> <max_seq> <swappiness>
 * <force_scan>" creates a new generation; with force_scan the page tables
 * of the memcg's mm are walked, which asks KVM (clear_young notifiers)
 * about every mapped guest page. Pages found young are promoted to the
 * generation that was youngest when the call started, so its growth is what
 * "young" reports (pages faulted in during the call land there too).
 */
#define _GNU_SOURCE
#include "ab_kvm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ab_common.h"

struct lrug {
	int id;
	char path[512];
};

static enum ab_kvm_presence lrug_detect(char *msg, size_t len)
{
	char en[512], dbg[512], v[64];
	enum ab_kvm_presence pr;
	int err;

	ab_kvm_path(en, sizeof(en), "/sys/kernel/mm/lru_gen/enabled");
	ab_kvm_path(dbg, sizeof(dbg), "/sys/kernel/debug/lru_gen");
	if ((err = ab_kvm_read_str(en, v, sizeof(v)))) {
		snprintf(msg, len, "%s: %s (kernel without CONFIG_LRU_GEN)", en, strerror(-err));
		return err == -EACCES ? AB_KVM_NOPERM : AB_KVM_ABSENT;
	}
	if (!(strtoul(v, NULL, 0) & 1)) {
		snprintf(msg, len, "%s is %s: MGLRU disabled (echo y > %s)", en, v, en);
		return AB_KVM_ABSENT;
	}
	if ((pr = ab_kvm_probe_file(dbg, R_OK | W_OK, DEBUGFS_HINT, "lru_gen debugfs needs root",
				    msg, len)) != AB_KVM_PRESENT)
		return pr;
	if ((pr = ab_kvm_memcg_presence(msg, len)) != AB_KVM_PRESENT)
		return pr;
	snprintf(msg + strlen(msg), len - strlen(msg), "; MGLRU aging through %s", dbg);
	return AB_KVM_PRESENT;
}

static int lrug_prepare(struct ab_kvm_drv *d, const struct ab_kvm_target *t, char *msg, size_t len)
{
	struct lrug *l = calloc(1, sizeof(*l));

	if (!l)
		return -ENOMEM;
	d->priv = l;
	ab_kvm_path(l->path, sizeof(l->path), "/sys/kernel/debug/lru_gen");
	l->id = ab_kvm_memcg_lru_gen_id(&d->memcg);
	if (l->id < 0) {
		snprintf(msg, len, "%s: memcg %s not listed", l->path, d->memcg.dir);
		return -ENOENT;
	}
	return 0;
}

#define LRUG_MAX 16
struct gens {
	int n;
	uint64_t seq[LRUG_MAX], size[LRUG_MAX], total;
};

/* Our memcg's node-0 generations (seq ascending) and their sizes. */
static int lrug_read(struct lrug *l, struct gens *g)
{
	FILE *f = fopen(l->path, "re");
	char line[512];
	bool ours = false, node = false;

	if (!f)
		return -errno;
	memset(g, 0, sizeof(*g));
	while (fgets(line, sizeof(line), f)) {
		int id;
		unsigned long long seq, age, anon, file;

		if (sscanf(line, "memcg %d", &id) == 1) {
			ours = id == l->id;
			node = false;
			continue;
		}
		if (!ours)
			continue;
		if (sscanf(line, " node %d", &id) == 1) {
			node = id == 0;
			continue;
		}
		if (node && g->n < LRUG_MAX &&
		    sscanf(line, " %llu %llu %llu %llu", &seq, &age, &anon, &file) == 4) {
			g->seq[g->n] = seq;
			g->size[g->n++] = anon + file;
			g->total += anon + file;
		}
	}
	fclose(f);
	return g->n ? 0 : -ENOENT;
}

static uint64_t gen_size(const struct gens *g, uint64_t seq)
{
	for (int i = 0; i < g->n; i++)
		if (g->seq[i] == seq)
			return g->size[i];
	return 0;
}

/*
 * The aging walk moves the young pages it finds into the generation that
 * was youngest when the call started (then opens a new, empty one): young =
 * growth of that generation (pages faulted in meanwhile land there too).
 */
static int lrug_age(struct ab_kvm_drv *d, const char *mode, uint64_t first, uint64_t npages,
		    bool clear, struct ab_kvm_age_res *res, uint64_t *bits)
{
	struct lrug *l = d->priv;
	struct gens g0, g1;
	uint64_t t0, max, before, after;
	char cmd[128];
	int err;

	memset(res, 0, sizeof(*res));
	if ((err = lrug_read(l, &g0)))
		return err;
	max = g0.seq[g0.n - 1];
	before = gen_size(&g0, max);
	/* swappiness 200: anon and file alike; force_scan 1: walk page tables */
	snprintf(cmd, sizeof(cmd), "+ %d 0 %llu 200 1\n", l->id, (unsigned long long)max);
	t0 = ab_now_ns();
	err = ab_kvm_write_str(l->path, cmd);
	res->ns = ab_now_ns() - t0;
	if (err)
		return err;
	if ((err = lrug_read(l, &g1)))
		return err;
	after = gen_size(&g1, max);
	res->pages = g1.total;
	res->young = after > before ? after - before : 0;
	res->has_young = true;
	return 0;
}

static void lrug_cleanup(struct ab_kvm_drv *d)
{
	free(d->priv);
	d->priv = NULL;
}

const struct ab_kvm_driver ab_kvm_drv_lru_gen = {
    .name = "lru_gen",
    .detect = lrug_detect,
    .needs_memcg = true,
    .setup = ab_kvm_memcg_setup,
    .prepare = lrug_prepare,
    .age = lrug_age,
    .cleanup = lrug_cleanup,
};
