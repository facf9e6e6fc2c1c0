// SPDX-License-Identifier: GPL-2.0
/* drivers.c - the aging drivers, in auto-detection order. */
#include "abk.h"

#include <string.h>

const struct abk_driver *const abk_drivers[] = {
	&abk_drv_hook,
	&abk_drv_page_idle,
	&abk_drv_lru_gen,
	&abk_drv_reclaim,
	NULL,
};

const struct abk_driver *abk_driver_by_name(const char *name)
{
	for (int i = 0; abk_drivers[i]; i++)
		if (!strcmp(abk_drivers[i]->name, name))
			return abk_drivers[i];
	return NULL;
}
