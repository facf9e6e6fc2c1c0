// SPDX-License-Identifier: GPL-2.0
/* drivers.c - the aging drivers, in auto-detection order. */
#include "abk.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

const struct abk_driver *const abk_drivers[] = {
    &abk_drv_hook, &abk_drv_page_idle, &abk_drv_lru_gen, &abk_drv_reclaim, NULL,
};

const struct abk_driver *abk_driver_by_name(const char *name)
{
	for (int i = 0; abk_drivers[i]; i++)
		if (!strcmp(abk_drivers[i]->name, name))
			return abk_drivers[i];
	return NULL;
}

enum abk_presence abk_probe_file(const char *path, int amode, const char *absent_hint,
				 const char *perm_hint, char *msg, size_t len)
{
	if (access(path, F_OK) == 0 && access(path, amode) == 0)
		return ABK_PRESENT;
	if (errno == EACCES || errno == EPERM) {
		snprintf(msg, len, "%s: %s (%s)", path, strerror(errno), perm_hint);
		return ABK_NOPERM;
	}
	snprintf(msg, len, "%s: %s (%s)", path, strerror(errno), absent_hint);
	return ABK_ABSENT;
}

int abk_memcg_setup(struct abk_drv *d, char *msg, size_t len)
{
	int err = abk_memcg_probe(&d->memcg, msg, len);

	if (!err)
		err = abk_memcg_enter(&d->memcg, msg, len);
	d->in_memcg = !err;
	return err;
}

enum abk_presence abk_memcg_presence(char *msg, size_t len)
{
	struct abk_memcg m;
	int err = abk_memcg_probe(&m, msg, len);

	return !err ? ABK_PRESENT : err == -ENOENT ? ABK_ABSENT : ABK_NOPERM;
}
