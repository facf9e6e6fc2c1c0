// SPDX-License-Identifier: GPL-2.0
/*
 * modes: the kvm.mmu_age_mode accessor against a fake tree (a plain file
 * under a temporary root): the schema's kernel modes are known and nothing
 * else is, get/set round-trip, ab_vm_age_mode_save() has the original
 * value written back by the cleanup registry, and every kernel mode of the
 * table is offered where the parameter takes any value. Needs no KVM.
 */
#include "vm_test.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void make_param(const char *root, const char *value)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/sys/module/kvm/parameters", root);
	for (char *s = p + strlen(root) + 1; (s = strchr(s, '/')); s++) {
		*s = 0;
		mkdir(p, 0755);
		*s = '/';
	}
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s%s", root, AB_VM_AGE_MODE_PARAM);
	CHECK(ab_write_atomic(p, value, strlen(value)) == 0, "cannot write %s", p);
}

int test_modes(int argc, char **argv)
{
	char root[] = "/tmp/abvm-modes.XXXXXX", cur[64] = "", cmd[600];
	int ids[AB_MODE_NR], n, nkernel = 0, mark;

	for (int i = 0; i < AB_MODE_NR; i++) {
		bool k = ab_mode_table[i].where & AB_IN_KERNEL;

		nkernel += k;
		CHECK(ab_vm_age_mode_known(ab_mode_table[i].name) == k, "%s: known=%d, kernel=%d",
		      ab_mode_table[i].name, !k, k);
	}
	CHECK(!ab_vm_age_mode_known("sloppy") && !ab_vm_age_mode_known("") &&
		  !ab_vm_age_mode_known(NULL),
	      "an unknown mode is known");
	CHECK(nkernel >= 4, "the schema lists %d kernel modes", nkernel);

	if (!mkdtemp(root))
		ab_die(1, "mkdtemp: %s", strerror(errno));
	CHECK(ab_vm_age_mode_get(root, cur, sizeof(cur)) == -ENOENT,
	      "no parameter: get must be -ENOENT");
	CHECK(ab_vm_age_modes_accepted(root, ids) == 0, "no parameter: modes accepted");
	make_param(root, "read_locked\n");
	CHECK(ab_vm_age_mode_get(root, cur, sizeof(cur)) == 0 && !strcmp(cur, "read_locked"),
	      "get: '%s'", cur);
	n = ab_vm_age_modes_accepted(root, ids);
	CHECK(n == nkernel, "a parameter taking anything accepts %d of %d kernel modes", n,
	      nkernel);
	CHECK(ab_vm_age_mode_get(root, cur, sizeof(cur)) == 0 && !strcmp(cur, "read_locked"),
	      "probing left the parameter at '%s'", cur);
	mark = ab_cleanup_mark();
	CHECK(ab_vm_age_mode_save(root) == 0, "save");
	CHECK(ab_vm_age_mode_set(root, "bitmap") == 0, "set");
	CHECK(ab_vm_age_mode_get(root, cur, sizeof(cur)) == 0 && !strcmp(cur, "bitmap"),
	      "after set: '%s'", cur);
	CHECK(ab_vm_age_mode_save(root) == 0, "second save");
	ab_vm_age_mode_set(root, "locked");
	ab_cleanup_to(mark);
	CHECK(ab_vm_age_mode_get(root, cur, sizeof(cur)) == 0 && !strcmp(cur, "read_locked"),
	      "after cleanup the parameter reads '%s', want the saved 'read_locked'", cur);
	printf("  %d kernel modes (%s), accessor round trip and restore ok\n", nkernel,
	       ab_mode_list(AB_IN_KERNEL));
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	CHECK(system(cmd) == 0, "rm -rf %s", root);
	return ab_check_failures ? 1 : 0;
}
