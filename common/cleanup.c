// SPDX-License-Identifier: GPL-2.0
/* cleanup.c - run registered cleanups at exit and on fatal signals. */
#include "ab_common.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#define AB_CLEANUP_MAX 256

struct cleanup {
	ab_cleanup_fn fn;
	void *arg;
};

static struct cleanup slots[AB_CLEANUP_MAX];
static volatile sig_atomic_t running;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void run_all(void)
{
	if (running)
		return;
	running = 1;
	for (int i = AB_CLEANUP_MAX - 1; i >= 0; i--) {
		ab_cleanup_fn fn = slots[i].fn;

		slots[i].fn = NULL;
		if (fn)
			fn(slots[i].arg);
	}
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

	sigemptyset(&sa.sa_mask);
	for (unsigned int i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaddset(&sa.sa_mask, sigs[i]);
	for (unsigned int i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
	atexit(run_all);
}

int ab_cleanup_push(ab_cleanup_fn fn, void *arg)
{
	int h = -1;

	pthread_once(&once, install);
	pthread_mutex_lock(&lock);
	for (int i = 0; i < AB_CLEANUP_MAX; i++) {
		if (!slots[i].fn) {
			slots[i].arg = arg;
			__atomic_store_n(&slots[i].fn, fn, __ATOMIC_RELEASE);
			h = i;
			break;
		}
	}
	pthread_mutex_unlock(&lock);
	return h;
}

void ab_cleanup_pop(int handle)
{
	if (handle < 0 || handle >= AB_CLEANUP_MAX)
		return;
	__atomic_store_n(&slots[handle].fn, NULL, __ATOMIC_RELEASE);
}

void ab_cleanup_run(int handle)
{
	ab_cleanup_fn fn;

	if (handle < 0 || handle >= AB_CLEANUP_MAX)
		return;
	fn = __atomic_exchange_n(&slots[handle].fn, NULL, __ATOMIC_ACQ_REL);
	if (fn)
		fn(slots[handle].arg);
}
