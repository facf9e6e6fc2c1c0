// SPDX-License-Identifier: GPL-2.0
/*
 * kvm_preset.c - the houghton-v4 preset's table (Houghton's v4 cover letter
 * beside ours) and the demand_paging_test comparison. See kvm_priv.h.
 */
#define _GNU_SOURCE
#include "kvm_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ab_bench_config.h"
#include "ab_common.h"

#ifndef AB_KVM_DPT_DEFAULT
#define AB_KVM_DPT_DEFAULT ""
#endif

/* ---- the preset's table ------------------------------------------------ */

#define PRESET_MAX_REPS 32
struct preset_row {
	char mode[32];
	int vcpus;
	uint64_t mib;
	int n;
	double base[PRESET_MAX_REPS], wall[PRESET_MAX_REPS], pass[PRESET_MAX_REPS];
};
static struct preset_row prows[64];
static int nprows;
char kvm_preset_note[512];

void kvm_preset_record(const char *mode, int vcpus, uint64_t mib, double base_s, double wall_s,
		       double pass_s)
{
	struct preset_row *r = NULL;

	for (int i = 0; i < nprows; i++)
		if (!strcmp(prows[i].mode, mode) && prows[i].vcpus == vcpus)
			r = &prows[i];
	if (!r) {
		if (nprows == 64)
			return;
		r = &prows[nprows++];
		snprintf(r->mode, sizeof(r->mode), "%s", mode);
		r->vcpus = vcpus;
		r->mib = mib;
	}
	if (r->n == PRESET_MAX_REPS)
		return;
	r->base[r->n] = base_s;
	r->wall[r->n] = wall_s;
	r->pass[r->n] = pass_s;
	r->n++;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	if (n <= 0)
		return 0;
	qsort(v, (size_t)n, sizeof(double), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

void ab_kvm_preset_print(FILE *out)
{
	static const char *const published[] = {
	    "   8 vCPUs: no aging 1.474, locked 1.589, lockless 1.498 s; pass locked 0.227, "
	    "lockless 0.064 s",
	    "  32 vCPUs: no aging 3.316, locked 3.955, lockless 3.355 s; pass locked 4.347, "
	    "lockless 0.251 s",
	    " 112 vCPUs: no aging 8.498, locked 10.214, lockless 8.897 s; pass locked 13.47, "
	    "lockless 2.29 s"};
	int vc[16], nv = 0;
	char modes[AB_MODE_NR][32];
	int nm = 0;

	if (!nprows)
		return;
	for (int i = 0; i < nprows; i++) {
		bool seen = false;

		for (int k = 0; k < nv; k++)
			seen |= vc[k] == prows[i].vcpus;
		if (!seen && nv < 16)
			vc[nv++] = prows[i].vcpus;
		seen = false;
		for (int k = 0; k < nm; k++)
			seen |= !strcmp(modes[k], prows[i].mode);
		if (!seen && nm < AB_MODE_NR)
			snprintf(modes[nm++], 32, "%.31s", prows[i].mode);
	}
	fprintf(out,
		"\nhoughton-v4 (access_tracking_perf_test -p -l -b 1G, Houghton v4 cover "
		"letter)\n%s\n",
		kvm_preset_note);
	fprintf(out, "%15s | %-*s | %s\n", "", 12 * (nm + 1), "vCPU wall time, s", "aging pass, s");
	fprintf(out, "%6s %8s | %12s", "vcpus", "MiB/vCPU", "no aging");
	for (int m = 0; m < nm; m++)
		fprintf(out, " %11.11s", modes[m]);
	fprintf(out, " |");
	for (int m = 0; m < nm; m++)
		fprintf(out, " %11.11s", modes[m]);
	fprintf(out, "\n");
	for (int k = 0; k < nv; k++) {
		double base[PRESET_MAX_REPS * AB_MODE_NR];
		int nb = 0;
		uint64_t mib = 0;

		for (int i = 0; i < nprows; i++)
			if (prows[i].vcpus == vc[k]) {
				for (int j = 0; j < prows[i].n; j++)
					base[nb++] = prows[i].base[j];
				mib = prows[i].mib;
			}
		fprintf(out, "%6d %8llu | %12.3f", vc[k], (unsigned long long)(mib / vc[k]),
			median(base, nb));
		for (int pass = 0; pass < 2; pass++) {
			if (pass)
				fprintf(out, " |");
			for (int m = 0; m < nm; m++) {
				const struct preset_row *r = NULL;

				for (int i = 0; i < nprows; i++)
					if (prows[i].vcpus == vc[k] &&
					    !strcmp(prows[i].mode, modes[m]))
						r = &prows[i];
				if (!r || !r->n) {
					fprintf(out, " %11s", "-");
					continue;
				}
				double v[PRESET_MAX_REPS];

				memcpy(v, pass ? r->pass : r->wall, sizeof(double) * r->n);
				fprintf(out, " %11.3f", median(v, r->n));
			}
		}
		fprintf(out, "\n");
	}
	fprintf(out, "(medians over repetitions; \"no aging\": median over every mode's unaged "
		     "populate)\npublished, bare metal, x86 TDP MMU:\n");
	for (int i = 0; i < 3; i++)
		fprintf(out, "%s\n", published[i]);
}

/* ---- demand_paging_test comparison ---------------------------------- */

/* Run demand_paging_test; its "Overall demand paging rate" in pages/s, or 0. */
static double dpt_run(const char *bin, int vcpus, uint64_t bytes_per_vcpu)
{
	char cmd[1024], line[512];
	double rate = 0;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "'%s' -v %d -b %llu -s anonymous 2>&1", bin, vcpus,
		 (unsigned long long)bytes_per_vcpu);
	f = popen(cmd, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		char *p = strstr(line, "Overall demand paging rate:");

		if (p)
			rate = strtod(p + strlen("Overall demand paging rate:"), NULL);
	}
	if (pclose(f) != 0)
		return 0;
	return rate;
}

/* Our populate rate for the same shape: anon 4K, write, one pass, pages/s. */
static double our_populate(int vcpus, uint64_t bytes_per_vcpu, char *msg, size_t len)
{
	struct ab_vm_config cfg;
	struct ab_vm_work w;
	struct abvm *vm;
	uint64_t t0, t1;
	int err;

	ab_vm_config_init(&cfg);
	cfg.mem_bytes = bytes_per_vcpu * vcpus;
	cfg.nr_vcpus = vcpus;
	cfg.backing = AB_VM_BACKING_ANON;
	if ((err = ab_vm_create(&cfg, &vm, msg, len)))
		return 0;
	ab_vm_work_init(&w);
	w.op = AB_VM_OP_WRITE;
	t0 = ab_now_ns();
	err = ab_vm_start_wait(vm, &w);
	t1 = ab_now_ns();
	if (err)
		snprintf(msg, len, "%s %s", ab_vm_strerr(err), ab_vm_last_error(vm));
	ab_vm_destroy(vm);
	return err ? 0 : (double)(cfg.mem_bytes / 4096) * 1e9 / (double)(t1 - t0);
}

/*
 * Record demand_paging_ratio = our populate speed / demand_paging_test's,
 * same vCPUs and bytes, medians of 3 alternating runs.
 */
void kvm_dpt_compare(int vcpus, uint64_t bytes_per_vcpu)
{
	const char *bin = getenv("AGEBENCH_DPT");
	double ours[3], theirs[3];
	char v[128], msg[256] = "";

	if (!bin || !*bin)
		bin = AB_KVM_DPT_DEFAULT;
	if (!*bin || access(bin, X_OK) < 0) {
		ab_add_context("demand_paging_ratio", "unavailable: demand_paging_test not built "
						      "(microbench/kvm/build-dpt.sh)");
		return;
	}
	for (int i = 0; i < 3; i++) {
		theirs[i] = dpt_run(bin, vcpus, bytes_per_vcpu);
		ours[i] = our_populate(vcpus, bytes_per_vcpu, msg, sizeof(msg));
		if (!theirs[i] || !ours[i]) {
			snprintf(v, sizeof(v), "unavailable: %s failed %s",
				 !theirs[i] ? "demand_paging_test" : "our populate", msg);
			ab_add_context("demand_paging_ratio", v);
			return;
		}
	}
	qsort(ours, 3, sizeof(double), cmp_double);
	qsort(theirs, 3, sizeof(double), cmp_double);
	snprintf(v, sizeof(v), "%.3f", ours[1] / theirs[1]);
	ab_add_context("demand_paging_ratio", v);
	snprintf(v, sizeof(v),
		 "ours %.0f pages/s, demand_paging_test %.0f pages/s, %d vCPUs x %llu MiB", ours[1],
		 theirs[1], vcpus, (unsigned long long)(bytes_per_vcpu >> 20));
	ab_add_context("demand_paging_detail", v);
}
