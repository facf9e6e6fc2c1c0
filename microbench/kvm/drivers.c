// SPDX-License-Identifier: GPL-2.0
/* drivers.c - the aging drivers, in auto-detection order. */
#include "ab_kvm.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

const struct ab_kvm_driver *const ab_kvm_drivers[] = {
    &ab_kvm_drv_hook, &ab_kvm_drv_page_idle, &ab_kvm_drv_lru_gen, &ab_kvm_drv_reclaim, NULL,
};

const struct ab_kvm_driver *ab_kvm_driver_by_name(const char *name)
{
	for (int i = 0; ab_kvm_drivers[i]; i++)
		if (!strcmp(ab_kvm_drivers[i]->name, name))
			return ab_kvm_drivers[i];
	return NULL;
}

enum ab_kvm_presence ab_kvm_probe_file(const char *path, int amode, const char *absent_hint,
				       const char *perm_hint, char *msg, size_t len)
{
	if (access(path, F_OK) == 0 && access(path, amode) == 0)
		return AB_KVM_PRESENT;
	if (errno == EACCES || errno == EPERM) {
		snprintf(msg, len, "%s: %s (%s)", path, strerror(errno), perm_hint);
		return AB_KVM_NOPERM;
	}
	snprintf(msg, len, "%s: %s (%s)", path, strerror(errno), absent_hint);
	return AB_KVM_ABSENT;
}

int ab_kvm_memcg_setup(struct ab_kvm_drv *d, char *msg, size_t len)
{
	int err = ab_kvm_memcg_probe(&d->memcg, msg, len);

	if (!err)
		err = ab_kvm_memcg_enter(&d->memcg, msg, len);
	d->in_memcg = !err;
	return err;
}

enum ab_kvm_presence ab_kvm_memcg_presence(char *msg, size_t len)
{
	struct ab_kvm_memcg m;
	int err = ab_kvm_memcg_probe(&m, msg, len);

	return !err ? AB_KVM_PRESENT : err == -ENOENT ? AB_KVM_ABSENT : AB_KVM_NOPERM;
}
