// SPDX-License-Identifier: GPL-2.0
/*
 * teardown RUN DIR: on abvm-run child processes (each says "ready" when it
 * holds its VM: the handshake, no sleeps): a named backing file disappears
 * after SIGINT (exit 130) and is visible while running; the default
 * O_TMPFILE file is never visible; after three create/run/destroy cycles
 * there is no KVM mapping or fd, no mapping over former guest memory and no
 * backing file; a run in its own cgroup leaves no cgroup behind after SIGINT.
 */
#include "vm_test.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- what a process has: /proc/<pid>/{maps,fd,cgroup} ---- */

static int dir_entries(const char *d)
{
	DIR *dp = opendir(d);
	struct dirent *e;
	int n = 0;

	if (!dp)
		return -1;
	while ((e = readdir(dp)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(dp);
	return n;
}

/* Lines of /proc/<pid>/maps containing @needle, or covering @addr if non-0. */
static int maps_count(pid_t pid, const char *needle, uintptr_t addr)
{
	char p[64], line[1024];
	FILE *f;
	int n = 0;

	snprintf(p, sizeof(p), "/proc/%d/maps", (int)pid);
	f = fopen(p, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;

		if (needle && strstr(line, needle))
			n++;
		else if (addr && sscanf(line, "%lx-%lx", &lo, &hi) == 2 && addr >= lo && addr < hi)
			n++;
	}
	fclose(f);
	return n;
}

static int fd_links(pid_t pid, const char *needle)
{
	char d[64], p[400], t[400];
	DIR *dp;
	struct dirent *e;
	int n = 0;

	snprintf(d, sizeof(d), "/proc/%d/fd", (int)pid);
	dp = opendir(d);
	if (!dp)
		return -1;
	while ((e = readdir(dp))) {
		ssize_t l;

		snprintf(p, sizeof(p), "%s/%s", d, e->d_name);
		l = readlink(p, t, sizeof(t) - 1);
		if (l > 0) {
			t[l] = 0;
			if (strstr(t, needle))
				n++;
		}
	}
	closedir(dp);
	return n;
}

static const char *cgroup2_mount(void)
{
	static char mnt[256];
	char dev[256], type[64];
	FILE *f = fopen("/proc/mounts", "r");

	if (!f)
		return NULL;
	while (fscanf(f, "%255s %255s %63s %*[^\n]", dev, mnt, type) == 3)
		if (!strcmp(type, "cgroup2")) {
			fclose(f);
			return mnt;
		}
	fclose(f);
	return NULL;
}

static bool proc_in_cgroup(pid_t pid, const char *want)
{
	char p[64], line[512];
	size_t l = strlen(want);
	FILE *f;
	bool hit = false;

	snprintf(p, sizeof(p), "/proc/%d/cgroup", (int)pid);
	f = fopen(p, "r");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, want, l) && (line[l] == '\n' || !line[l]))
			hit = true;
	fclose(f);
	return hit;
}

/* Send @sig to a ready child; its exit code must be 128 + @sig. */
static void signal_and_reap(pid_t pid, FILE *out, int sig, const char *what)
{
	int rc;

	kill(pid, sig);
	rc = vt_wait_exit(pid);
	fclose(out);
	CHECK(rc == 128 + sig, "%s: abvm-run exited %d, want %d", what, rc, 128 + sig);
}

/* 1: named file, SIGINT while running: visible and mapped, then gone */
static void case_named_sigint(const char *run, char *dir)
{
	char *a[] = {(char *)run, "--backing", "file",	  "--file-dir", dir,	  "--named-file",
		     "--mem",	  "32M",       "--vcpus", "2",		"--hold", NULL};
	char line[512];
	FILE *out;
	pid_t pid = vt_spawn_until(a, "ready", line, sizeof(line), &out);

	CHECK(pid > 0, "abvm-run --hold did not get ready");
	if (pid <= 0)
		return;
	CHECK(dir_entries(dir) == 1, "named backing file not visible while running (%d entries)",
	      dir_entries(dir));
	CHECK(maps_count(pid, dir, 0) == 1, "backing file not mapped in /proc/%d/maps", (int)pid);
	CHECK(maps_count(pid, "kvm-vcpu", 0) == 2, "expected 2 kvm-vcpu mappings");
	signal_and_reap(pid, out, SIGINT, "SIGINT (named file)");
	CHECK(dir_entries(dir) == 0, "backing file left behind after SIGINT (%d entries in %s)",
	      dir_entries(dir), dir);
	printf("  SIGINT while running (named file): %d files left\n", dir_entries(dir));
}

/* 2: O_TMPFILE default: never visible; SIGTERM */
static void case_tmpfile_sigterm(const char *run, char *dir)
{
	char *a[] = {(char *)run, "--backing", "file",	 "--file-dir", dir,
		     "--mem",	  "16M",       "--hold", NULL};
	char line[512];
	FILE *out;
	pid_t pid = vt_spawn_until(a, "ready", line, sizeof(line), &out);

	CHECK(pid > 0, "abvm-run --hold did not get ready");
	if (pid <= 0)
		return;
	CHECK(dir_entries(dir) == 0, "O_TMPFILE backing visible in %s", dir);
	CHECK(maps_count(pid, "(deleted)", 0) >= 1, "unnamed backing file not mapped");
	signal_and_reap(pid, out, SIGTERM, "SIGTERM (O_TMPFILE)");
	CHECK(dir_entries(dir) == 0, "files left after SIGTERM");
}

/* 3: after 3 create/run/destroy cycles (the child holds after destroying):
 * no KVM fd or mapping, guest memory unmapped, no backing file */
static void case_after_destroy(const char *run, const char *dir, const char *backing)
{
	char *a[] = {(char *)run,
		     "--backing",
		     "file" /* replaced */,
		     "--file-dir",
		     (char *)dir,
		     "--named-file",
		     "--mem",
		     "32M",
		     "--repeat",
		     "3",
		     "--vcpus",
		     "2",
		     "--hold-after-destroy",
		     NULL};
	char line[512];
	uintptr_t hvas[3] = {0};
	int nh = 0, rc;
	FILE *out;
	pid_t pid;

	a[2] = (char *)backing;
	/* the handshake is "destroyed"; the "create ... hva=" lines come before */
	pid = vt_spawn_until(a, "create", line, sizeof(line), &out);
	CHECK(pid > 0, "abvm-run --repeat 3 printed no create line");
	if (pid <= 0)
		return;
	do {
		char *h = strstr(line, "hva=");

		if (h && nh < 3)
			hvas[nh++] = (uintptr_t)strtoull(h + 4, NULL, 16);
		if (!strncmp(line, "destroyed", 9))
			break;
	} while (fgets(line, sizeof(line), out));
	CHECK(!strncmp(line, "destroyed", 9), "abvm-run --hold-after-destroy did not report");
	CHECK(nh == 3, "saw %d create lines", nh);
	CHECK(maps_count(pid, "anon_inode:kvm", 0) == 0,
	      "kvm mappings left after destroy (/proc/%d/maps)", (int)pid);
	CHECK(fd_links(pid, "anon_inode:kvm") == 0 && fd_links(pid, "/dev/kvm") == 0,
	      "kvm fds left open after destroy");
	CHECK(maps_count(pid, dir, 0) == 0, "backing file still mapped after destroy");
	for (int j = 0; j < nh; j++)
		CHECK(maps_count(pid, NULL, hvas[j]) == 0,
		      "guest memory at %#lx still mapped after destroy", (unsigned long)hvas[j]);
	CHECK(dir_entries(dir) == 0, "backing files left after destroy");
	printf("  after 3x create/destroy (%s): checked kvm fds/mappings, guest memory, %d files\n",
	       backing, dir_entries(dir));
	kill(pid, SIGTERM);
	rc = vt_wait_exit(pid);
	fclose(out);
	CHECK(rc == 128 + SIGTERM, "abvm-run --hold-after-destroy: exit %d after SIGTERM", rc);
}

/* 4: the run in its own cgroup v2: SIGINT leaves no cgroup behind */
static void case_cgroup_sigint(const char *run)
{
	const char *root = cgroup2_mount();
	char cg[512], want[600], line[512];
	FILE *out;
	pid_t pid;

	if (!root || access(root, W_OK)) {
		printf("  (no writable cgroup2 mount: cgroup teardown not checked)\n");
		return;
	}
	snprintf(cg, sizeof(cg), "%s/abvm-teardown-%d", root, (int)getpid());
	char *a[] = {(char *)run, "--mem", "16M", "--cgroup", cg, "--hold", NULL};

	pid = vt_spawn_until(a, "ready", line, sizeof(line), &out);
	CHECK(pid > 0, "abvm-run --cgroup --hold did not get ready");
	if (pid <= 0)
		return;
	snprintf(want, sizeof(want), "0::/abvm-teardown-%d", (int)getpid());
	CHECK(proc_in_cgroup(pid, want), "abvm-run not in its cgroup (%s)", want);
	signal_and_reap(pid, out, SIGINT, "SIGINT (--cgroup)");
	CHECK(access(cg, F_OK) != 0, "cgroup %s left behind after SIGINT", cg);
	if (access(cg, F_OK) == 0)
		rmdir(cg);
	else
		printf("  SIGINT in a cgroup: cgroup removed\n");
}

int test_teardown(int argc, char **argv)
{
	const char *run = argv[0];
	char dir[512];

	TEST_REQUIRE(access("/dev/kvm", R_OK | W_OK) == 0, "/dev/kvm: %s", strerror(errno));
	snprintf(dir, sizeof(dir), "%s/abvm-teardown.XXXXXX", argv[1]);
	if (!mkdtemp(dir))
		ab_die(1, "mkdtemp %s: %s", dir, strerror(errno));
	case_named_sigint(run, dir);
	case_tmpfile_sigterm(run, dir);
	case_after_destroy(run, dir, "anon");
	case_after_destroy(run, dir, "file");
	CHECK(rmdir(dir) == 0, "rmdir %s: %s (something left in it)", dir, strerror(errno));
	case_cgroup_sigint(run);
	return ab_check_failures ? 1 : 0;
}
