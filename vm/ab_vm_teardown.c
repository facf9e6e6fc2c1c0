// SPDX-License-Identifier: GPL-2.0
/*
 * ab_vm_teardown.c - the abvm teardown registry: files, directories and
 * cgroups that must not outlive the process. Built on common's cleanup
 * registry (ab_cleanup_push: runs at exit and from the SIGINT/SIGTERM/
 * SIGHUP handler), so there is exactly one signal handler in the process.
 * Every action uses async-signal-safe syscalls only.
 */
#include "ab_vm.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "ab_common.h"

#define TD_MAX	64
#define TD_PATH 256

struct td {
	int used; /* set under the caller; read by the cleanup */
	int kind;
	int handle; /* ab_cleanup handle */
	char path[TD_PATH];
	char aux[TD_PATH];
};

static struct td tds[TD_MAX];

/* Decimal of @v into @buf (no snprintf: not async-signal-safe). */
static size_t utoa(unsigned long v, char *buf)
{
	char tmp[24];
	size_t n = 0, i;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (i = 0; i < n; i++)
		buf[i] = tmp[n - 1 - i];
	return n;
}

static void td_do(void *arg)
{
	struct td *t = arg;

	if (!__atomic_exchange_n(&t->used, 0, __ATOMIC_ACQ_REL))
		return;
	switch (t->kind) {
	case AB_VM_TD_FILE:
		unlink(t->path);
		break;
	case AB_VM_TD_DIR:
		rmdir(t->path);
		break;
	case AB_VM_TD_CGROUP: {
		char buf[24];
		size_t n = utoa((unsigned long)getpid(), buf);
		int fd = open(t->aux, O_WRONLY | O_CLOEXEC);

		if (fd >= 0) {
			if (write(fd, buf, n) < 0) {
				/* rmdir below fails then; nothing else to do */
			}
			close(fd);
		}
		rmdir(t->path);
		break;
	}
	}
}

static void td_noop(void *arg)
{
	(void)arg;
}

int ab_vm_teardown_install(void)
{
	/* the first push installs common's atexit + signal handlers */
	int h = ab_cleanup_push(td_noop, NULL);

	if (h < 0)
		return -1;
	ab_cleanup_pop(h);
	return 0;
}

int ab_vm_teardown_add(enum ab_vm_td_kind kind, const char *path, const char *aux)
{
	int i;

	if (!path || strlen(path) >= TD_PATH || (aux && strlen(aux) >= TD_PATH))
		return -1;
	if (kind == AB_VM_TD_CGROUP && !aux)
		return -1;
	for (i = 0; i < TD_MAX; i++) {
		struct td *t = &tds[i];
		int zero = 0;

		/* claim the slot: used = 2 means "being filled" */
		if (!__atomic_compare_exchange_n(&t->used, &zero, 2, false, __ATOMIC_ACQ_REL,
						 __ATOMIC_RELAXED))
			continue;
		t->kind = kind;
		strcpy(t->path, path);
		strcpy(t->aux, aux ? aux : "");
		t->handle = ab_cleanup_push(td_do, t);
		if (t->handle < 0) {
			__atomic_store_n(&t->used, 0, __ATOMIC_RELEASE);
			return -1;
		}
		__atomic_store_n(&t->used, 1, __ATOMIC_RELEASE);
		return i;
	}
	return -1;
}

void ab_vm_teardown_forget(int h)
{
	if (h < 0 || h >= TD_MAX || __atomic_load_n(&tds[h].used, __ATOMIC_ACQUIRE) != 1)
		return;
	ab_cleanup_pop(tds[h].handle);
	__atomic_store_n(&tds[h].used, 0, __ATOMIC_RELEASE);
}

void ab_vm_teardown_run(void)
{
	int i;

	for (i = TD_MAX - 1; i >= 0; i--)
		if (__atomic_load_n(&tds[i].used, __ATOMIC_ACQUIRE) == 1)
			ab_cleanup_run(tds[i].handle);
}
