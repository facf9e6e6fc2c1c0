// SPDX-License-Identifier: GPL-2.0
/* macro_zram.c - swap on zram for `agebench macro` (the lab guest), SwapTotal. */
#define _GNU_SOURCE
#include "ab_macro.h"
#include "ab_common.h"
#include "ab_kvm.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/swap.h>
#include <unistd.h>

/* ---- key/value sets ---------------------------------------------------- */

uint64_t ab_macro_swap_total(void)
{
	uint64_t kb = 0;

	ab_kvm_read_u64_key("/proc/meminfo", "SwapTotal:", &kb);
	return kb * 1024;
}

/* The swap header mkswap writes (version 1, no bad pages). */
static int write_swap_header(const char *dev, uint64_t bytes)
{
	long ps = sysconf(_SC_PAGESIZE);
	unsigned char *h = calloc(1, (size_t)ps);
	int fd = open(dev, O_WRONLY | O_CLOEXEC), err = 0;
	uint32_t ver = 1, last = (uint32_t)(bytes / (uint64_t)ps - 1);

	if (!h || fd < 0) {
		err = fd < 0 ? -errno : -ENOMEM;
		goto out;
	}
	memcpy(h + 1024, &ver, 4);
	memcpy(h + 1028, &last, 4);
	memcpy(h + ps - 10, "SWAPSPACE2", 10);
	if (pwrite(fd, h, (size_t)ps, 0) != ps || fsync(fd) < 0)
		err = -EIO;
out:
	if (fd >= 0)
		close(fd);
	free(h);
	return err;
}

int ab_macro_zram_setup(uint64_t bytes, char *dev, size_t devlen, char *msg, size_t len)
{
	char b[64], p[128];
	int id = -1, err;

	if (access("/sys/class/zram-control/hot_add", R_OK) == 0 &&
	    !ab_kvm_read_str("/sys/class/zram-control/hot_add", b, sizeof(b)))
		id = atoi(b);
	else if (access("/sys/block/zram0/disksize", W_OK) == 0 &&
		 !ab_kvm_read_str("/sys/block/zram0/disksize", b, sizeof(b)) && !strcmp(b, "0"))
		id = 0;
	if (id < 0) {
		snprintf(msg, len,
			 "--zram: no zram device (/sys/class/zram-control missing: kernel without "
			 "CONFIG_ZRAM, or modprobe zram)");
		return -ENODEV;
	}
	snprintf(dev, devlen, "/dev/zram%d", id);
	snprintf(p, sizeof(p), "/sys/block/zram%d/comp_algorithm", id);
	if (ab_kvm_write_str(p, "lzo-rle"))
		ab_kvm_write_str(p, "lzo");
	snprintf(p, sizeof(p), "/sys/block/zram%d/disksize", id);
	snprintf(b, sizeof(b), "%llu", (unsigned long long)bytes);
	if ((err = ab_kvm_write_str(p, b))) {
		snprintf(msg, len, "--zram: write %s to %s: %s", b, p, strerror(-err));
		return err;
	}
	if ((err = write_swap_header(dev, bytes))) {
		snprintf(msg, len, "--zram: cannot write a swap header to %s: %s", dev,
			 strerror(-err));
		return err;
	}
	if (swapon(dev, 0) < 0) {
		err = -errno;
		snprintf(msg, len, "--zram: swapon %s: %s (kernel without CONFIG_SWAP?)", dev,
			 strerror(errno));
		return err;
	}
	return 0;
}

/* Async-signal-safe enough for the cleanup registry: syscalls and writes. */
void ab_macro_zram_teardown(const char *dev)
{
	char p[128];
	const char *id = dev + strlen("/dev/zram");

	swapoff(dev);
	snprintf(p, sizeof(p), "/sys/block/zram%s/reset", id);
	ab_kvm_write_str(p, "1");
	if (strcmp(id, "0"))
		ab_kvm_write_str("/sys/class/zram-control/hot_remove", id);
}
