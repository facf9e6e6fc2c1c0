// SPDX-License-Identifier: GPL-2.0
/*
 * checkskip CHECK: agevm-check's usage errors exit 2 naming the bad value;
 * each sub-command passes (exit 0) where this kernel has what it needs and
 * skips (exit 77, "SKIP: <reason>") where it does not. A skip where the
 * requirement is present (e.g. `exact --driver hook` with
 * /sys/module/kvm/parameters/mmu_age_mode present) is a failure, and so is
 * any other exit.
 */
#include "vm_test.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage_cases(const char *check)
{
	char out[8192];

	{
		char *a[] = {(char *)check, NULL};

		CHECK(vt_run_capture(a, NULL, false, out, sizeof(out)) == 2,
		      "no arguments must be usage (2)");
	}
	{
		char *a[] = {(char *)check, "exact",  "--driver", "psychic",
			     "--mode",	    "locked", NULL};

		CHECK(vt_run_capture(a, NULL, false, out, sizeof(out)) == 2 &&
			  strstr(out, "psychic"),
		      "bad driver must be usage (2) naming it: %s", out);
	}
	{
		char *a[] = {(char *)check, "exact", "--driver", "hook", "--mode", "sloppy", NULL};

		CHECK(vt_run_capture(a, NULL, false, out, sizeof(out)) == 2 &&
			  strstr(out, "sloppy"),
		      "bad mode must be usage (2) naming it: %s", out);
	}
	{
		char *a[] = {(char *)check, "stress",	       "--seconds", "1",
			     "--without",   "zapper,gremlins", NULL};

		CHECK(vt_run_capture(a, NULL, false, out, sizeof(out)) == 2 &&
			  strstr(out, "gremlins"),
		      "unknown stressor must be usage (2) naming it: %s", out);
	}
}

/* The KVM device agevm-check opens ($AB_VM_KVM_DEV overrides /dev/kvm, as in ab_vm.c). */
static const char *kvm_dev(void)
{
	const char *p = getenv("AB_VM_KVM_DEV");

	return p && *p ? p : "/dev/kvm";
}

/*
 * Every stressor left out: the vCPUs still run, the run says what was left
 * out. The vCPUs need KVM: without a usable KVM device it must skip naming it.
 */
static void stress_nothing_case(const char *check)
{
	char out[8192];
	char *a[] = {(char *)check, "stress",	     "--seconds",
		     "1",	    "--no-aging-ok", "--mem",
		     "8M",	    "--without",     "hook,idle,switch,zapper,slots,vms",
		     NULL};
	int rc = vt_run_capture(a, NULL, false, out, sizeof(out));

	if (access(kvm_dev(), R_OK | W_OK) == 0)
		CHECK(rc == 0 && strstr(out, "left out: hook,idle,switch,zapper,slots,vms") &&
			  strstr(out, "aging via nothing"),
		      "stress with every stressor left out must pass and say so: exit %d '%s'", rc,
		      out);
	else
		CHECK(rc == 77 && strstr(out, "SKIP") && strstr(out, kvm_dev()),
		      "stress with every stressor left out and no usable %s must skip naming it: "
		      "exit %d '%s'",
		      kvm_dev(), rc, out);
	printf("  stress, every stressor left out: exit %d (%s %s)\n", rc, kvm_dev(),
	       access(kvm_dev(), R_OK | W_OK) == 0 ? "usable" : "absent or not permitted");
}

/*
 * Run agevm-check @argv. With @have (everything it needs is here) it must
 * pass; without, it must skip and its reason must contain @reason.
 */
static void expect_pass_or_skip(char *const argv[], bool have, const char *needs,
				const char *reason)
{
	char out[8192], name[128] = "";
	int rc = vt_run_capture(argv, NULL, false, out, sizeof(out));

	for (int i = 1; argv[i] && strlen(name) + strlen(argv[i]) + 2 < sizeof(name); i++)
		strcat(strcat(name, " "), argv[i]);
	if (have)
		CHECK(rc == 0, "%s: exit %d where %s is present (a skip here is a bug): '%s'", name,
		      rc, needs, out);
	else
		CHECK(rc == 77 && strstr(out, "SKIP") && strstr(out, reason),
		      "%s: exit %d without %s, want 77 naming '%s': '%s'", name, rc, needs, reason,
		      out);
	printf("  %s: exit %d (%s %s)\n", name, rc, needs, have ? "present" : "absent");
}

int test_checkskip(int argc, char **argv)
{
	char *check = argv[0];
	bool have_param = access(AB_VM_AGE_MODE_PARAM, F_OK) == 0;
	bool have_idle = access(AB_VM_PAGE_IDLE_PATH, F_OK) == 0;
	bool have_lru = access("/sys/kernel/debug/lru_gen", F_OK) == 0 &&
			access("/sys/kernel/mm/lru_gen/enabled", F_OK) == 0;

	usage_cases(check);
	stress_nothing_case(check);
	{
		char *a[] = {check, "exact", "--driver", "hook", "--mode", "locked", NULL};

		expect_pass_or_skip(a, have_param, AB_VM_AGE_MODE_PARAM, "mmu_age_mode");
	}
	{
		char *a[] = {check, "exact", "--driver", "page_idle", "--mode", "locked", NULL};

		expect_pass_or_skip(a, have_param && have_idle, "mmu_age_mode + page_idle",
				    have_param ? "page_idle" : "mmu_age_mode");
	}
	{
		char *a[] = {check, "lru_gen", "--mode", "locked", NULL};

		expect_pass_or_skip(a, have_param && have_lru, "mmu_age_mode + lru_gen",
				    have_param ? "lru_gen" : "mmu_age_mode");
	}
	{
		char *a[] = {check, "switch", "--seconds", "2", NULL};

		expect_pass_or_skip(a, have_param, AB_VM_AGE_MODE_PARAM, "mmu_age_mode");
	}
	{
		char *a[] = {check, "stress", "--seconds", "2", NULL};

		expect_pass_or_skip(a, have_param, AB_VM_AGE_MODE_PARAM, "mmu_age_mode");
	}
	return ab_check_failures ? 1 : 0;
}
