// SPDX-License-Identifier: GPL-2.0
/*
 * errors RUN DIR: abvm-run's error paths, each with its exit code and a
 * message naming what was wrong: missing device, non-KVM device, no
 * permission -> 77; memory too large, bad size, unknown backing, file
 * backing without / with a missing dir, 0 vCPUs -> 2; THP "never" -> 77.
 */
#include "vm_test.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

/* The device cases need no KVM: $AB_VM_KVM_DEV points elsewhere. */
static void device_cases(const char *run)
{
	char *a[] = {(char *)run, "--passes", "0", NULL};

	vt_expect_run("no /dev/kvm", a, "AB_VM_KVM_DEV=/nonexistent/kvm", false, 77,
		      "/nonexistent/kvm: No such file or directory");
	vt_expect_run("not a KVM device", a, "AB_VM_KVM_DEV=/dev/null", false, 77,
		      "/dev/null: not a KVM device");
	if (access("/dev/kvm", F_OK) == 0 && getuid() == 0)
		vt_expect_run("/dev/kvm not permitted", a, NULL, true, 77,
			      "/dev/kvm: Permission denied");
	else
		printf("  (/dev/kvm permission case needs root and /dev/kvm: not run)\n");
}

static void usage_cases(const char *run)
{
	char memarg[64];
	/* memory too large: MemAvailable + 2 GiB, rounded to 2 MiB */
	uint64_t mib = ((ab_vm_mem_available() >> 20) + 2048) & ~1ull;

	snprintf(memarg, sizeof(memarg), "%" PRIu64 "M", mib);
	{
		char *a[] = {(char *)run, "--mem", memarg, "--passes", "0", NULL};

		vt_expect_run("memory too large", a, NULL, false, 2, "guest memory would not fit");
	}
	{
		char *a[] = {(char *)run, "--mem", "3M", NULL};

		vt_expect_run("memory not 2M multiple", a, NULL, false, 2,
			      "must be a non-zero multiple of 2 MiB");
	}
	{
		char *a[] = {(char *)run, "--backing", "hugetlb", NULL};

		vt_expect_run("unknown backing", a, NULL, false, 2, "unknown backing 'hugetlb'");
	}
	{
		char *a[] = {(char *)run, "--backing", "file", "--mem", "4M", NULL};

		vt_expect_run("file backing without dir", a, NULL, false, 2,
			      "backing file needs a directory");
	}
	{
		char *a[] = {(char *)run,	 "--backing", "file", "--file-dir",
			     "/nonexistent/dir", "--mem",     "4M",   NULL};

		vt_expect_run("file backing, no such dir", a, NULL, false, 2,
			      "directory /nonexistent/dir: No such file or directory");
	}
	{
		char *a[] = {(char *)run, "--vcpus", "0", NULL};

		vt_expect_run("bad vcpus", a, NULL, false, 2, "--vcpus: '0' not in 1..");
	}
}

/* THP disabled: point the library at a sysfs-like file saying never */
static void thp_never_case(const char *run, const char *dir)
{
	char f[400], env[500], msg[512];
	char *a[] = {(char *)run, "--backing", "thp", "--mem", "4M", NULL};
	int fd;

	snprintf(f, sizeof(f), "%s/thp-never.%d", dir, (int)getpid());
	fd = open(f, O_CREAT | O_WRONLY | O_TRUNC, 0644);
	if (fd < 0 || write(fd, "always madvise [never]\n", 23) != 23)
		ab_die(1, "cannot write %s", f);
	close(fd);
	snprintf(env, sizeof(env), "AB_VM_THP_SYSFS=%s", f);
	snprintf(msg, sizeof(msg), "THP disabled: %s is \"always madvise [never]\"", f);
	vt_expect_run("THP disabled", a, env, false, 77, msg);
	unlink(f);
}

int test_errors(int argc, char **argv)
{
	const char *run = argv[0], *dir = argv[1];

	device_cases(run);
	TEST_REQUIRE(access("/dev/kvm", R_OK | W_OK) == 0,
		     "/dev/kvm: %s (the remaining cases need KVM)", strerror(errno));
	usage_cases(run);
	thp_never_case(run, dir);
	return ab_check_failures ? 1 : 0;
}
