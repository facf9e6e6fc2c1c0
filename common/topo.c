// SPDX-License-Identifier: GPL-2.0
/* topo.c - CPU topology and thread placement with hwloc. */
#include "ab_common.h"

#include <hwloc.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static pthread_once_t topo_once = PTHREAD_ONCE_INIT;
static hwloc_topology_t topo;
static int topo_ok;
static int pin_on = 1;
static char summary[256];

static void topo_load(void)
{
	if (hwloc_topology_init(&topo) || hwloc_topology_load(topo)) {
		snprintf(summary, sizeof(summary), "unknown (hwloc could not load the topology)");
		return;
	}
	topo_ok = 1;

	hwloc_obj_t pkg = hwloc_get_obj_by_type(topo, HWLOC_OBJ_PACKAGE, 0);
	const char *model = pkg ? hwloc_obj_get_info_by_name(pkg, "CPUModel") : NULL;
	int npkg = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PACKAGE);
	int nnuma = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_NUMANODE);

	snprintf(summary, sizeof(summary), "%d package%s, %d NUMA node%s, %d cores, %d PUs%s%s%s",
		 npkg, npkg == 1 ? "" : "s", nnuma, nnuma == 1 ? "" : "s",
		 hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE),
		 hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PU), model ? " (" : "",
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

/*
 * Role r gets PU (r mod nPU), PUs ordered by hwloc's logical index, which
 * walks one core's PUs after another: with fewer roles than PUs every
 * thread has a PU of its own.
 */
static int role_pu(int role)
{
	int n = ab_topo_nr_pus();

	return n > 0 ? role % n : 0;
}

int ab_pin_self(int role)
{
	hwloc_obj_t pu;

	if (!pin_on || ab_topo_init())
		return -1;
	pu = hwloc_get_obj_by_type(topo, HWLOC_OBJ_PU, (unsigned int)role_pu(role));
	if (!pu || hwloc_set_cpubind(topo, pu->cpuset, HWLOC_CPUBIND_THREAD))
		return -1;
	return (int)pu->os_index;
}

void ab_pin_describe(int nroles, char *buf, size_t len)
{
	size_t off = 0;

	if (!pin_on || ab_topo_init()) {
		snprintf(buf, len, "none (pinning %s)", pin_on ? "unavailable" : "disabled");
		return;
	}
	buf[0] = 0;
	for (int r = 0; r < nroles && off < len; r++) {
		hwloc_obj_t pu =
		    hwloc_get_obj_by_type(topo, HWLOC_OBJ_PU, (unsigned int)role_pu(r));
		char name[16];

		if (r == 0)
			snprintf(name, sizeof(name), "walker");
		else
			snprintf(name, sizeof(name), "vcpu%d", r - 1);
		off += (size_t)snprintf(buf + off, len - off, "%s%s:PU%u", r ? " " : "", name,
					pu ? pu->os_index : 0u);
	}
}
