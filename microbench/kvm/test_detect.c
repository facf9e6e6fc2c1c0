// SPDX-License-Identifier: GPL-2.0
/*
 * test_detect - pre-flight detection of every aging driver and of /dev/kvm:
 * present, absent and no-permission, each with its message. Runs against
 * fake trees ($AGEBENCH_KVM_FSROOT); the no-permission cases run in a child
 * that dropped root (uid/gid 65534), so the kernel's own permission checks
 * decide, as they would for a user without privileges.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ab_bench_config.h"
#include "ab_kvm.h"

static int failures, checks;
static char base[256];

static void mkfile(const char *root, const char *rel, const char *content, mode_t mode)
{
	char p[512], *s;

	snprintf(p, sizeof(p), "%s%s", root, rel);
	for (s = strchr(p + strlen(root) + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = 0;
		mkdir(p, 0755);
		*s = '/';
	}
	if (content) {
		FILE *f = fopen(p, "w");

		if (!f) {
			perror(p);
			exit(1);
		}
		fputs(content, f);
		fclose(f);
		chmod(p, mode);
	} else {
		mkdir(p, mode);
		chmod(p, mode);
	}
}

enum tree_opt {
	T_NO_KVM = 1 << 0,
	T_NO_PARAM = 1 << 1,
	T_NO_DEBUGFS = 1 << 2,
	T_NO_PAGE_IDLE = 1 << 3,
	T_NO_LRU_GEN = 1 << 4,
	T_LRU_GEN_OFF = 1 << 5,
	T_NO_MEMCG = 1 << 6,
	T_CGROUP_V1 = 1 << 7,
};

/* A fresh fake root with everything present unless told otherwise. */
static const char *tree(int opt)
{
	static int n;
	static char root[300];

	snprintf(root, sizeof(root), "%s/t%d", base, n++);
	mkdir(root, 0755);
	if (!(opt & T_NO_KVM))
		mkfile(root, "/dev/kvm", "", 0600);
	if (!(opt & T_NO_PARAM))
		mkfile(root, "/sys/module/kvm/parameters/mmu_age_mode", "locked\n", 0644);
	if (!(opt & T_NO_DEBUGFS)) {
		mkfile(root, "/sys/kernel/debug/kvm", NULL, 0700);
		if (!(opt & T_NO_LRU_GEN))
			mkfile(root, "/sys/kernel/debug/lru_gen", "", 0600);
		chmod(strcat(strcpy((char[512]){0}, root), "/sys/kernel/debug"), 0700);
	}
	if (!(opt & T_NO_PAGE_IDLE))
		mkfile(root, "/sys/kernel/mm/page_idle/bitmap", "", 0600);
	if (!(opt & T_NO_LRU_GEN))
		mkfile(root, "/sys/kernel/mm/lru_gen/enabled",
		       opt & T_LRU_GEN_OFF ? "0x0000\n" : "0x0007\n", 0644);
	mkfile(root, "/proc/self/pagemap", "", 0444);
	if (opt & T_NO_MEMCG) {
		mkfile(root, "/proc/self/mountinfo",
		       "25 1 0:22 / /sys rw - sysfs sysfs rw\n"
		       "30 25 0:26 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n",
		       0444);
		mkfile(root, "/proc/self/cgroup", "3:cpu:/\n", 0444);
	} else if (opt & T_CGROUP_V1) {
		mkfile(root, "/proc/self/mountinfo",
		       "25 1 0:22 / /sys rw - sysfs sysfs rw\n"
		       "31 25 0:27 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n"
		       "35 25 0:30 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n",
		       0444);
		mkfile(root, "/proc/self/cgroup", "4:memory:/box/job\n0::/\n", 0444);
		mkfile(root, "/sys/fs/cgroup/unified/cgroup.controllers", "\n", 0444);
		mkfile(root, "/sys/fs/cgroup/memory/box/job/cgroup.procs", "", 0644);
		mkfile(root, "/sys/fs/cgroup/memory/box/job/memory.limit_in_bytes", "", 0644);
	} else {
		mkfile(root, "/proc/self/mountinfo",
		       "25 1 0:22 / /sys rw - sysfs sysfs rw\n"
		       "31 25 0:27 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw\n",
		       0444);
		mkfile(root, "/proc/self/cgroup", "0::/\n", 0444);
		mkfile(root, "/sys/fs/cgroup/cgroup.controllers", "cpu io memory pids\n", 0444);
		mkfile(root, "/sys/fs/cgroup/cgroup.subtree_control", "memory\n", 0644);
		mkfile(root, "/sys/fs/cgroup/cgroup.procs", "", 0644);
	}
	return root;
}

/* -1 = /dev/kvm check, else index into ab_kvm_drivers. */
static enum ab_kvm_presence probe(int drv, char *msg, size_t len)
{
	if (drv < 0)
		return ab_kvm_dev_kvm_check(msg, len) == 0 ? AB_KVM_PRESENT
		       : strstr(msg, "Permission denied")  ? AB_KVM_NOPERM
							   : AB_KVM_ABSENT;
	return ab_kvm_drivers[drv]->detect(msg, len);
}

static void expect(const char *what, int drv, const char *root, bool unpriv,
		   enum ab_kvm_presence want, const char *needle)
{
	static const char *const names[] = {"present", "absent", "no-permission"};
	enum ab_kvm_presence got;
	char msg[1024] = "";
	int pfd[2];

	setenv("AGEBENCH_KVM_FSROOT", root, 1);
	if (!unpriv) {
		got = probe(drv, msg, sizeof(msg));
	} else {
		pid_t pid;
		int st;
		ssize_t r;

		if (pipe(pfd) < 0)
			exit(1);
		pid = fork();
		if (pid == 0) {
			close(pfd[0]);
			if (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0) {
				perror("drop privileges");
				_exit(99);
			}
			got = probe(drv, msg, sizeof(msg));
			if (write(pfd[1], msg, strlen(msg) + 1) < 0)
				_exit(98);
			_exit(got);
		}
		close(pfd[1]);
		r = read(pfd[0], msg, sizeof(msg) - 1);
		msg[r > 0 ? r : 0] = 0;
		close(pfd[0]);
		waitpid(pid, &st, 0);
		if (!WIFEXITED(st) || WEXITSTATUS(st) > 2) {
			printf("FAIL %s: unprivileged child failed (status %d)\n", what, st);
			failures++;
			checks++;
			return;
		}
		got = WEXITSTATUS(st);
	}
	checks++;
	if (got != want || (needle && !strstr(msg, needle))) {
		printf("FAIL %s: got %s, want %s with \"%s\"; message: %s\n", what, names[got],
		       names[want], needle ? needle : "", msg);
		failures++;
	} else {
		printf("ok   %-34s %-13s %s\n", what, names[got], msg);
	}
}

int main(void)
{
	int hook = 0, pidle = 1, lrug = 2, recl = 3;

	if (geteuid() != 0) {
		printf("skip: the no-permission cases need root to drop privileges\n");
		return 77;
	}
	if (strcmp(ab_kvm_drivers[0]->name, "hook") ||
	    strcmp(ab_kvm_drivers[1]->name, "page_idle") ||
	    strcmp(ab_kvm_drivers[2]->name, "lru_gen") ||
	    strcmp(ab_kvm_drivers[3]->name, "reclaim")) {
		printf("FAIL driver table order changed\n");
		return 1;
	}
	snprintf(base, sizeof(base), "/tmp/abk-detect-XXXXXX");
	if (!mkdtemp(base)) {
		perror("mkdtemp");
		return 1;
	}
	chmod(base, 0755);

	expect("/dev/kvm present", -1, tree(0), false, AB_KVM_PRESENT, NULL);
	expect("/dev/kvm absent", -1, tree(T_NO_KVM), false, AB_KVM_ABSENT, "No such file");
	expect("/dev/kvm no permission", -1, tree(0), true, AB_KVM_NOPERM, "Permission denied");

	expect("hook present", hook, tree(0), false, AB_KVM_PRESENT, "kvm.mmu_age_mode=locked");
	expect("hook absent (unpatched kernel)", hook, tree(T_NO_PARAM), false, AB_KVM_ABSENT,
	       "without the agebench aging patches");
	expect("hook absent (no debugfs)", hook, tree(T_NO_DEBUGFS), false, AB_KVM_ABSENT,
	       "mount debugfs");
	expect("hook no permission", hook, tree(0), true, AB_KVM_NOPERM, "Permission denied");

	expect("page_idle present", pidle, tree(0), false, AB_KVM_PRESENT, "idle page tracking");
	expect("page_idle absent", pidle, tree(T_NO_PAGE_IDLE), false, AB_KVM_ABSENT,
	       "CONFIG_IDLE_PAGE_TRACKING");
	expect("page_idle no permission", pidle, tree(0), true, AB_KVM_NOPERM, "needs root");

	expect("lru_gen present", lrug, tree(0), false, AB_KVM_PRESENT, "MGLRU aging");
	expect("lru_gen absent", lrug, tree(T_NO_LRU_GEN), false, AB_KVM_ABSENT, "CONFIG_LRU_GEN");
	expect("lru_gen absent (disabled)", lrug, tree(T_LRU_GEN_OFF), false, AB_KVM_ABSENT,
	       "MGLRU disabled");
	expect("lru_gen absent (no debugfs)", lrug, tree(T_NO_DEBUGFS), false, AB_KVM_ABSENT,
	       "mount debugfs");
	expect("lru_gen no permission", lrug, tree(0), true, AB_KVM_NOPERM, "needs root");

	expect("reclaim present (cgroup v2)", recl, tree(0), false, AB_KVM_PRESENT,
	       "memory cgroup v2");
	expect("reclaim present (cgroup v1)", recl, tree(T_CGROUP_V1), false, AB_KVM_PRESENT,
	       "memory.limit_in_bytes");
	expect("reclaim absent", recl, tree(T_NO_MEMCG), false, AB_KVM_ABSENT,
	       "no memory cgroup hierarchy");
	expect("reclaim no permission", recl, tree(0), true, AB_KVM_NOPERM,
	       "cannot create a memory cgroup");

	/* ab_kvm_register's pre-flight errors */
	{
		static const struct {
			const char *what;
			int tree;
			const char *driver, *mode, *needle;
		} reg[] = {
		    {"register: no /dev/kvm", T_NO_KVM, NULL, NULL, "/dev/kvm: No such file"},
		    {"register: unknown driver", 0, "foo", NULL, "unknown kvm driver 'foo'"},
		    {"register: driver absent", T_NO_PAGE_IDLE, "page_idle", NULL,
		     "driver page_idle: "},
		    {"register: no driver at all",
		     T_NO_PARAM | T_NO_DEBUGFS | T_NO_PAGE_IDLE | T_NO_LRU_GEN | T_NO_MEMCG, NULL,
		     NULL, "no usable kvm aging driver: hook: "},
		    {"register: mode on unpatched kernel", T_NO_PARAM, "reclaim", "locked",
		     "only 'native' runs here"},
		    {"register: unknown mode", 0, "reclaim", "fastest", "unknown mode 'fastest'"},
		};

		for (size_t i = 0; i < sizeof(reg) / sizeof(reg[0]); i++) {
			struct ab_bench_config cfg = {.driver = reg[i].driver, .mode = reg[i].mode};
			char err[2048] = "";
			int rc;

			setenv("AGEBENCH_KVM_FSROOT", tree(reg[i].tree), 1);
			rc = ab_kvm_register(&cfg, err, sizeof(err));
			checks++;
			if (rc != -1 || !strstr(err, reg[i].needle)) {
				printf("FAIL %s: rc %d, err \"%s\", want \"%s\"\n", reg[i].what, rc,
				       err, reg[i].needle);
				failures++;
			} else {
				printf("ok   %-34s %.160s\n", reg[i].what, err);
			}
		}
	}

	/* kvm.mmu_age_mode is switched per benchmark and restored at the end */
	{
		const char *root = tree(0);
		char p[512], v[64] = "";
		int mark = ab_cleanup_mark();

		setenv("AGEBENCH_KVM_FSROOT", root, 1);
		snprintf(p, sizeof(p), "%s/sys/module/kvm/parameters/mmu_age_mode", root);
		checks++;
		if (ab_kvm_mode_set("bitmap") || ab_kvm_read_str(p, v, sizeof(v)) ||
		    strcmp(v, "bitmap")) {
			printf("FAIL mode switch: parameter reads '%s'\n", v);
			failures++;
		} else {
			printf("ok   %-34s %s\n", "mode switch", v);
		}
		ab_kvm_mode_set("fast_only");
		ab_cleanup_to(mark);
		checks++;
		if (ab_kvm_read_str(p, v, sizeof(v)) || strcmp(v, "locked")) {
			printf(
			    "FAIL mode restore: parameter reads '%s', want the original 'locked'\n",
			    v);
			failures++;
		} else {
			printf("ok   %-34s %s\n", "mode restored at cleanup", v);
		}
	}

	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	if (system(cmd) != 0)
		printf("warning: could not remove %s\n", base);
	printf("%d/%d checks passed\n", checks - failures, checks);
	return failures ? 1 : 0;
}
