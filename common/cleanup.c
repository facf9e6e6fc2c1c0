// SPDX-License-Identifier: GPL-2.0
/*
 * cleanup.c - agebench's one cleanup registry (see ab_common.h): what must
 * not outlive the process is registered here and undone at exit() and on
 * SIGINT/SIGTERM/SIGHUP, newest first. Actions: a function, or a built-in
 * kind (unlink a file, rmdir a directory, leave and remove a cgroup, write a
 * saved value back to a parameter, kill and reap a child). Everything that
 * runs from the handler is async-signal-safe: atomics, open/write/close,
 * unlink/rmdir, kill/waitpid, nanosleep, getpid.
 */
#include "ab_common.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define AB_CLEANUP_MAX	256
#define AB_CLEANUP_PATH 512

enum { FREE, FILLING, LIVE, RUNNING }; /* entry states */

struct entry {
	int state;
	int seq; /* registration order; ab_cleanup_mark() is the next one */
	enum ab_cleanup_kind kind;
	ab_cleanup_fn fn;
	void *arg;
	pid_t pid;
	char path[AB_CLEANUP_PATH];
	char aux[AB_CLEANUP_PATH];
};

static struct entry entries[AB_CLEANUP_MAX];
static int next_seq;
static pid_t owner; /* a forked child that calls exit() must not undo our state */
static pthread_once_t once = PTHREAD_ONCE_INIT;

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

static void write_path(const char *path, const char *s, size_t n)
{
	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);

	if (fd >= 0) {
		if (write(fd, s, n) < 0) {
			/* nothing more can be done from here */
		}
		close(fd);
	}
}

/* A cgroup may be busy for a moment after its last task left. */
static void rmdir_retry(const char *path)
{
	struct timespec ts = {0, 5000000};

	for (int i = 0; i < 200 && rmdir(path) < 0 && errno == EBUSY; i++)
		nanosleep(&ts, NULL);
}

static void undo(struct entry *e)
{
	switch (e->kind) {
	case AB_CLEANUP_FN:
		e->fn(e->arg);
		break;
	case AB_CLEANUP_FILE:
		unlink(e->path);
		break;
	case AB_CLEANUP_CGROUP: {
		char pid[24];

		write_path(e->aux, pid, utoa((unsigned long)getpid(), pid));
	}
		/* fallthrough */
	case AB_CLEANUP_DIR:
		rmdir_retry(e->path);
		break;
	case AB_CLEANUP_WRITE:
		write_path(e->path, e->aux, strlen(e->aux));
		break;
	case AB_CLEANUP_CHILD:
		kill(e->pid, SIGKILL);
		while (waitpid(e->pid, NULL, 0) < 0 && errno == EINTR)
			;
		break;
	}
}

/* Run entry @i if it is still live (exactly once, whoever gets there first). */
static void run_entry(int i)
{
	int live = LIVE;

	if (__atomic_compare_exchange_n(&entries[i].state, &live, RUNNING, false, __ATOMIC_ACQ_REL,
					__ATOMIC_ACQUIRE)) {
		undo(&entries[i]);
		__atomic_store_n(&entries[i].state, FREE, __ATOMIC_RELEASE);
	}
}

/* Run the live entries with seq >= @mark, newest first. */
static void run_from(int mark)
{
	for (;;) {
		int best = -1, best_seq = -1;

		for (int i = 0; i < AB_CLEANUP_MAX; i++) {
			int s = __atomic_load_n(&entries[i].seq, __ATOMIC_ACQUIRE);

			if (__atomic_load_n(&entries[i].state, __ATOMIC_ACQUIRE) == LIVE &&
			    s >= mark && s > best_seq) {
				best = i;
				best_seq = s;
			}
		}
		if (best < 0)
			return;
		run_entry(best);
	}
}

static void run_all(void)
{
	if (getpid() == owner)
		run_from(0);
}

static void on_signal(int sig)
{
	static const char msg[] = "agebench: interrupted, cleaning up\n";

	if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0) {
		/* nothing to do */
	}
	run_all();
	_exit(128 + sig);
}

static void install(void)
{
	struct sigaction sa = {.sa_handler = on_signal};
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};

	owner = getpid();
	sigemptyset(&sa.sa_mask);
	for (unsigned int i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaddset(&sa.sa_mask, sigs[i]);
	for (unsigned int i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
	atexit(run_all);
}

void ab_cleanup_install(void)
{
	pthread_once(&once, install);
}

/* Claim a free entry (FILLING) for @kind; -1 if the registry is full. */
static int claim(enum ab_cleanup_kind kind)
{
	ab_cleanup_install();
	for (int i = 0; i < AB_CLEANUP_MAX; i++) {
		int free_ = FREE;

		if (__atomic_compare_exchange_n(&entries[i].state, &free_, FILLING, false,
						__ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
			entries[i].kind = kind;
			return i;
		}
	}
	return -1;
}

static int publish(int i)
{
	__atomic_store_n(&entries[i].seq, __atomic_fetch_add(&next_seq, 1, __ATOMIC_ACQ_REL),
			 __ATOMIC_RELEASE);
	__atomic_store_n(&entries[i].state, LIVE, __ATOMIC_RELEASE);
	return i;
}

int ab_cleanup_push(ab_cleanup_fn fn, void *arg)
{
	int i = fn ? claim(AB_CLEANUP_FN) : -1;

	if (i < 0)
		return -1;
	entries[i].fn = fn;
	entries[i].arg = arg;
	return publish(i);
}

int ab_cleanup_add(enum ab_cleanup_kind kind, const char *path, const char *aux)
{
	bool need_aux = kind == AB_CLEANUP_CGROUP || kind == AB_CLEANUP_WRITE;
	int i;

	if (kind == AB_CLEANUP_FN || kind == AB_CLEANUP_CHILD || !path ||
	    strlen(path) >= AB_CLEANUP_PATH || (need_aux && !aux) ||
	    (aux && strlen(aux) >= AB_CLEANUP_PATH))
		return -1;
	i = claim(kind);
	if (i < 0)
		return -1;
	strcpy(entries[i].path, path);
	strcpy(entries[i].aux, aux ? aux : "");
	return publish(i);
}

int ab_cleanup_add_child(pid_t pid)
{
	int i = pid > 0 ? claim(AB_CLEANUP_CHILD) : -1;

	if (i < 0)
		return -1;
	entries[i].pid = pid;
	return publish(i);
}

void ab_cleanup_pop(int handle)
{
	int live = LIVE;

	if (handle >= 0 && handle < AB_CLEANUP_MAX)
		__atomic_compare_exchange_n(&entries[handle].state, &live, FREE, false,
					    __ATOMIC_ACQ_REL, __ATOMIC_RELAXED);
}

void ab_cleanup_run(int handle)
{
	if (handle >= 0 && handle < AB_CLEANUP_MAX)
		run_entry(handle);
}

int ab_cleanup_mark(void)
{
	return __atomic_load_n(&next_seq, __ATOMIC_ACQUIRE);
}

void ab_cleanup_to(int mark)
{
	run_from(mark);
}
