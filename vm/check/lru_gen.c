// SPDX-License-Identifier: GPL-2.0
/* lru_gen.c - agevm-check lru_gen --mode M: MGLRU aging of our memcg
 * reaches KVM aging in mode M (see docs/vm.md). */
#define _GNU_SOURCE
#include "check.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- lru_gen ---- */

static char cg_dir[300];
static int cg_td = -1;

static const char *cgroup2_root(void)
{
	static char root[256];
	FILE *f = fopen("/proc/mounts", "r");
	char dev[256], mnt[256], type[64];

	if (!f)
		return NULL;
	while (fscanf(f, "%255s %255s %63s %*[^\n]", dev, mnt, type) == 3)
		if (!strcmp(type, "cgroup2")) {
			snprintf(root, sizeof(root), "%s", mnt);
			fclose(f);
			return root;
		}
	fclose(f);
	return NULL;
}

/* Our memcg's id and max_seq of node @nid from /sys/kernel/debug/lru_gen. */
static int lru_gen_state(const char *cgpath, int *memcg_id, int *nid, uint64_t *max_seq)
{
	FILE *f = fopen("/sys/kernel/debug/lru_gen", "r");
	char line[512];
	bool ours = false, found = false;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char path[300];
		int id, node;
		unsigned long long seq;

		if (sscanf(line, "memcg %d %299s", &id, path) == 2) {
			ours = !strcmp(path, cgpath);
			if (ours)
				*memcg_id = id;
		} else if (sscanf(line, " node %d", &node) == 1) {
			if (ours && !found)
				*nid = node;
		} else if (ours && *nid >= 0 && sscanf(line, " %llu", &seq) == 1) {
			*max_seq = seq; /* generations are listed oldest first */
			found = true;
		}
	}
	fclose(f);
	return found ? 0 : -ENOENT;
}

static char lru_gen_orig[32];

static void restore_lru_gen(void *arg)
{
	(void)arg;
	if (lru_gen_orig[0])
		write_file("/sys/kernel/mm/lru_gen/enabled", lru_gen_orig);
}

/* Skip unless MGLRU (with its mm walk, enabled if off and restored at
 * exit), its debugfs file and a cgroup2 memory controller are here.
 * Returns the cgroup2 root. */
static const char *require_lru_gen(void)
{
	const char *root;
	char buf[400], *en;
	unsigned long caps;
	int r;

	en = ab_read_file("/sys/kernel/mm/lru_gen/enabled", NULL);
	if (!en)
		skip("/sys/kernel/mm/lru_gen/enabled: %s (kernel without CONFIG_LRU_GEN)",
		     strerror(errno));
	if (access("/sys/kernel/debug/lru_gen", W_OK))
		skip("/sys/kernel/debug/lru_gen: %s (debugfs not mounted, or no CONFIG_LRU_GEN)",
		     strerror(errno));
	caps = strtoul(en, NULL, 0);
	free(en);
	if ((caps & 3) != 3) {
		/* MGLRU off or without its page-table walker: turn both on */
		snprintf(lru_gen_orig, sizeof(lru_gen_orig), "0x%04lx", caps);
		snprintf(buf, sizeof(buf), "0x%04lx", caps | 3);
		if (write_file("/sys/kernel/mm/lru_gen/enabled", buf))
			skip("MGLRU caps 0x%04lx lack the mm walk (0x2) and cannot be enabled",
			     caps);
		ab_cleanup_push(restore_lru_gen, NULL);
	}
	root = cgroup2_root();
	if (!root)
		skip("no cgroup2 mount (mount -t cgroup2 none /sys/fs/cgroup)");
	snprintf(buf, sizeof(buf), "%s/cgroup.controllers", root);
	en = ab_read_file(buf, NULL);
	if (!en || !strstr(en, "memory"))
		skip("%s: no memory controller in cgroup v2 (bound to cgroup v1?)", buf);
	free(en);
	snprintf(buf, sizeof(buf), "%s/cgroup.subtree_control", root);
	r = write_file(buf, "+memory");
	if (r)
		skip("enabling +memory in %s: %s", buf, strerror(-r));
	return root;
}

/* Our memcg: created, registered for cleanup, joined. 0, or -1 (failed). */
static int join_memcg(const char *root, char *cgpath, size_t len)
{
	char buf[400], pid[24];
	int r;

	snprintf(cg_dir, sizeof(cg_dir), "%s/agevm-check-%d", root, (int)getpid());
	snprintf(cgpath, len, "/agevm-check-%d", (int)getpid());
	if (mkdir(cg_dir, 0755)) {
		fail("mkdir %s: %s", cg_dir, strerror(errno));
		return -1;
	}
	snprintf(buf, sizeof(buf), "%s/cgroup.procs", root);
	cg_td = ab_cleanup_add(AB_CLEANUP_CGROUP, cg_dir, buf);
	snprintf(buf, sizeof(buf), "%s/cgroup.procs", cg_dir);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	r = write_file(buf, pid);
	if (r) {
		fail("joining %s: %s", cg_dir, strerror(-r));
		ab_cleanup_run(cg_td);
		return -1;
	}
	return 0;
}

/* Four MGLRU aging commands on our memcg, each at its current max_seq
 * (+ memcg_id node_id max_gen_nr [swappiness [force_scan]]). Returns how
 * many were accepted; *@seq0 / *@max_seq: max_seq before / after. */
static int age_memcg(const char *cgpath, uint64_t *seq0, uint64_t *max_seq)
{
	int memcg_id = -1, nid = -1, agings = 0;

	for (int i = 0; i < 4; i++) {
		char cmd[128];
		int r = lru_gen_state(cgpath, &memcg_id, &nid, max_seq);

		if (r) {
			fail("our memcg %s not found in /sys/kernel/debug/lru_gen", cgpath);
			break;
		}
		if (!i)
			*seq0 = *max_seq;
		snprintf(cmd, sizeof(cmd), "+ %d %d %" PRIu64 " 1 1\n", memcg_id, nid, *max_seq);
		r = write_file("/sys/kernel/debug/lru_gen", cmd);
		if (r) {
			fail("writing '%.*s' to /sys/kernel/debug/lru_gen: %s",
			     (int)strlen(cmd) - 1, cmd, strerror(-r));
			break;
		}
		agings++;
		usleep(20 * 1000);
	}
	lru_gen_state(cgpath, &memcg_id, &nid, max_seq);
	return agings;
}

int cmd_lru_gen(struct opts *o)
{
	const char *root;
	char cgpath[300];
	struct abvm *vm;
	struct ab_vm_kstats *ks;
	struct ab_vm_work w;
	struct kst s0, s1;
	int agings;
	bool traced;
	uint64_t max_seq = 0, seq0 = 0;

	if (stock && !o->mode)
		o->mode = "locked";
	if (!o->mode)
		usage("lru_gen: --mode is required");
	need_param();
	root = require_lru_gen();
	set_mode_or_die(o->mode);
	if (join_memcg(root, cgpath, sizeof(cgpath)))
		return AB_EXIT_FAIL;

	vm = make_vm(o->mem, o->vcpus); /* charged to our memcg */
	ks = open_stats(vm);
	info("lru_gen --mode %s: memcg %s, %" PRIu64 " MiB guest memory", o->mode, cgpath,
	     o->mem >> 20);
	populate(vm);
	/* keep the vCPUs touching their memory while MGLRU ages */
	ab_vm_work_init(&w);
	w.passes = 0;
	w.order = AB_VM_ORDER_RANDOM;
	w.op = AB_VM_OP_READ;
	if (ab_vm_start(vm, &w))
		fail("starting vCPUs: %s", ab_vm_last_error(vm));
	wait_passes(vm, (uint64_t)o->vcpus); /* they are running: a pass each */
	traced = trace_begin();
	read_stats(ks, &s0);
	agings = age_memcg(cgpath, &seq0, &max_seq);
	read_stats(ks, &s1);
	if (traced && !trace_end(o->mode) && agings)
		fail("tracepoint kvm:kvm_age_walk recorded no walk during MGLRU aging");
	ab_vm_stop(vm);

	print_stats_delta(&s0, &s1);
	info("  %d aging commands, max_seq %" PRIu64 " -> %" PRIu64, agings, seq0, max_seq);
	if (agings && max_seq <= seq0)
		fail("MGLRU aging did not advance max_seq (%" PRIu64 ")", max_seq);
	if (ks && agings && s1.v[0] <= s0.v[0])
		fail("age_calls did not grow: MGLRU's walk never reached KVM aging (mode %s)",
		     o->mode);
	if (ks && agings && s1.v[1] <= s0.v[1])
		fail("age_pages_scanned did not grow: the %s walker was not used", o->mode);
	ab_vm_kstats_close(ks);
	ab_vm_destroy(vm);
	ab_cleanup_run(cg_td); /* leave and remove the memcg */
	if (access(cg_dir, F_OK) == 0)
		fail("could not remove %s", cg_dir);
	return finish("lru_gen");
}
