// SPDX-License-Identifier: GPL-2.0
/* topo.c - CPU topology and thread placement with hwloc. */
#include "ab_common.h"

#include <hwloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_once_t topo_once = PTHREAD_ONCE_INIT;
static hwloc_topology_t topo;
static int topo_ok;
static int pin_on = 1;
static char summary[1024];
/* Logical PU indices: the walker's, its core's other PUs, the vCPUs' PUs. */
static int walker_pu;
static int sib_pu[8], nsib;
static int *vcpu_pu, nvcpu_pu;

static void plan_load(void)
{
	int npu = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PU);
	int ncore = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE);

	vcpu_pu = calloc(npu > 0 ? (size_t)npu : 1, sizeof(*vcpu_pu));
	if (!vcpu_pu)
		return;
	walker_pu = 0;
	if (ncore < 2) {
		/* One core: the walker cannot have one of its own. */
		for (int i = 1; i < npu; i++)
			vcpu_pu[nvcpu_pu++] = i;
		return;
	}
	hwloc_obj_t c0 = hwloc_get_obj_by_type(topo, HWLOC_OBJ_CORE, 0);
	int n0 = hwloc_get_nbobjs_inside_cpuset_by_type(topo, c0->cpuset, HWLOC_OBJ_PU);
	hwloc_obj_t w = hwloc_get_obj_inside_cpuset_by_type(topo, c0->cpuset, HWLOC_OBJ_PU, 0);
	walker_pu = w ? (int)w->logical_index : 0;
	for (int k = 1; k < n0 && nsib < 8; k++) {
		hwloc_obj_t p = hwloc_get_obj_inside_cpuset_by_type(topo, c0->cpuset, HWLOC_OBJ_PU,
								    (unsigned)k);
		if (p)
			sib_pu[nsib++] = (int)p->logical_index;
	}
	/* First PU of every other core, then the second, ... */
	for (unsigned r = 0;; r++) {
		int added = 0;
		for (int c = 1; c < ncore; c++) {
			hwloc_obj_t co = hwloc_get_obj_by_type(topo, HWLOC_OBJ_CORE, (unsigned)c);
			hwloc_obj_t p = co ? hwloc_get_obj_inside_cpuset_by_type(topo, co->cpuset,
										 HWLOC_OBJ_PU, r)
					   : NULL;
			if (p && nvcpu_pu < npu) {
				vcpu_pu[nvcpu_pu++] = (int)p->logical_index;
				added++;
			}
		}
		if (!added)
			break;
	}
}

static void topo_load(void)
{
	if (hwloc_topology_init(&topo) || hwloc_topology_load(topo)) {
		snprintf(summary, sizeof(summary), "unknown (hwloc could not load the topology)");
		return;
	}
	topo_ok = 1;
	plan_load();

	hwloc_obj_t pkg = hwloc_get_obj_by_type(topo, HWLOC_OBJ_PACKAGE, 0);
	const char *model = pkg ? hwloc_obj_get_info_by_name(pkg, "CPUModel") : NULL;
	/* some hypervisors pad the model name with blanks: leave them out */
	int mlen = model ? (int)strlen(model) : 0;

	while (mlen > 0 && (model[mlen - 1] == ' ' || model[mlen - 1] == '\t'))
		mlen--;
	int npkg = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PACKAGE);
	int nnuma = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_NUMANODE);

	snprintf(summary, sizeof(summary), "%d package%s, %d NUMA node%s, %d cores, %d PUs%s%.*s%s",
		 npkg, npkg == 1 ? "" : "s", nnuma, nnuma == 1 ? "" : "s",
		 hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE),
		 hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PU), model ? " (" : "", mlen,
		 model ? model : "", model ? ")" : "");
}

int ab_topo_init(void)
{
	pthread_once(&topo_once, topo_load);
	return topo_ok ? 0 : -1;
}

int ab_topo_nr_pus(void)
{
	ab_topo_init();
	return topo_ok ? hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PU) : 1;
}

int ab_topo_nr_cores(void)
{
	ab_topo_init();
	return topo_ok ? hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE) : 1;
}

const char *ab_topo_summary(void)
{
	ab_topo_init();
	return summary;
}

void ab_pin_enable(bool on)
{
	pin_on = on;
}

bool ab_pin_enabled(void)
{
	return pin_on;
}

int ab_place_vcpu_capacity(void)
{
	ab_topo_init();
	return topo_ok ? nvcpu_pu : 0;
}

/* Logical PU index of @role (see ab_common.h), or -1. */
static int role_pu(int role, int nvcpus)
{
	if (ab_topo_init())
		return -1;
	if (role == AB_ROLE_HELPER) {
		if (nvcpus < nvcpu_pu)
			return vcpu_pu[nvcpus];
		return nsib ? sib_pu[0] : walker_pu;
	}
	if (role <= 0 || !nvcpu_pu)
		return walker_pu;
	return vcpu_pu[(role - 1) % nvcpu_pu];
}

int ab_place_pu(int role, int nvcpus)
{
	int l = role_pu(role, nvcpus);
	hwloc_obj_t pu = l < 0 ? NULL : hwloc_get_obj_by_type(topo, HWLOC_OBJ_PU, (unsigned)l);

	return pu ? (int)pu->os_index : -1;
}

static int bind(int role, int nvcpus, bool self, pthread_t t)
{
	hwloc_obj_t pu;
	int l;

	if (!pin_on || ab_topo_init() || (l = role_pu(role, nvcpus)) < 0)
		return -1;
	pu = hwloc_get_obj_by_type(topo, HWLOC_OBJ_PU, (unsigned)l);
	if (!pu)
		return -1;
	if (self ? hwloc_set_cpubind(topo, pu->cpuset, HWLOC_CPUBIND_THREAD)
		 : hwloc_set_thread_cpubind(topo, t, pu->cpuset, 0))
		return -1;
	return (int)pu->os_index;
}

int ab_pin_self(int role)
{
	return bind(role, 0, true, pthread_self());
}

int ab_pin_helper_self(int nvcpus)
{
	return bind(AB_ROLE_HELPER, nvcpus, true, pthread_self());
}

int ab_pin_helper_thread(pthread_t t, int nvcpus)
{
	return bind(AB_ROLE_HELPER, nvcpus, false, t);
}

void ab_pin_describe(int nroles, char *buf, size_t len)
{
	size_t off = 0;
	int nv = nroles > 0 ? nroles - 1 : 0;

	if (!pin_on || ab_topo_init()) {
		snprintf(buf, len, "none (pinning %s)", pin_on ? "unavailable" : "disabled");
		return;
	}
	buf[0] = 0;
	for (int r = 0; r < nroles && off < len; r++) {
		char name[16];

		if (r == 0)
			snprintf(name, sizeof(name), "walker");
		else
			snprintf(name, sizeof(name), "vcpu%d", r - 1);
		off += (size_t)snprintf(buf + off, len - off, "%s%s:PU%d", r ? " " : "", name,
					ab_place_pu(r, nv));
	}
	if (off < len)
		off += (size_t)snprintf(
		    buf + off, len - off, " helpers(invalidator,call_rcu):PU%d%s",
		    ab_place_pu(AB_ROLE_HELPER, nv), nv > nvcpu_pu ? " (oversubscribed)" : "");
}
