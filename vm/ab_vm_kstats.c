// SPDX-License-Identifier: GPL-2.0
/* ab_vm_kstats.c - read KVM binary stats (KVM_GET_STATS_FD). */
#define _GNU_SOURCE
#include "ab_vm.h"

#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

struct ab_vm_kstats {
	int fd;
	struct kvm_stats_header hdr;
	char *descs; /* num_desc descriptors of desc_size bytes */
	size_t desc_size;
	const char **names;
};

static struct kvm_stats_desc *desc_at(struct ab_vm_kstats *s, unsigned int i)
{
	return (struct kvm_stats_desc *)(s->descs + (size_t)i * s->desc_size);
}

struct ab_vm_kstats *ab_vm_kstats_open(struct abvm *vm, int vcpu)
{
	struct ab_vm_kstats *s = calloc(1, sizeof(*s));
	int fd = vcpu < 0 ? ab_vm_vm_fd(vm) : ab_vm_vcpu_fd(vm, vcpu);
	size_t total;
	unsigned int i;

	if (!s)
		return NULL;
	s->fd = ioctl(fd, KVM_GET_STATS_FD, NULL);
	if (s->fd < 0)
		goto fail;
	if (pread(s->fd, &s->hdr, sizeof(s->hdr), 0) != (ssize_t)sizeof(s->hdr))
		goto fail;
	s->desc_size = sizeof(struct kvm_stats_desc) + s->hdr.name_size;
	total = s->desc_size * s->hdr.num_desc;
	s->descs = malloc(total);
	s->names = calloc(s->hdr.num_desc + 1, sizeof(*s->names));
	if (!s->descs || !s->names)
		goto fail;
	if (pread(s->fd, s->descs, total, s->hdr.desc_offset) != (ssize_t)total)
		goto fail;
	for (i = 0; i < s->hdr.num_desc; i++) {
		struct kvm_stats_desc *d = desc_at(s, i);

		d->name[s->hdr.name_size - 1] = 0;
		s->names[i] = d->name;
	}
	return s;
fail:
	ab_vm_kstats_close(s);
	return NULL;
}

void ab_vm_kstats_close(struct ab_vm_kstats *s)
{
	if (!s)
		return;
	if (s->fd >= 0)
		close(s->fd);
	free(s->descs);
	free(s->names);
	free(s);
}

int ab_vm_kstats_get(struct ab_vm_kstats *s, const char *name, uint64_t *val)
{
	unsigned int i;

	for (i = 0; i < s->hdr.num_desc; i++) {
		struct kvm_stats_desc *d = desc_at(s, i);

		if (strcmp(d->name, name))
			continue;
		if (pread(s->fd, val, sizeof(*val), (off_t)(s->hdr.data_offset + d->offset)) !=
		    (ssize_t)sizeof(*val))
			return -1;
		return 0;
	}
	return -1;
}

const char *const *ab_vm_kstats_names(struct ab_vm_kstats *s)
{
	return s->names;
}
