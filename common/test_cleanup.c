// SPDX-License-Identifier: GPL-2.0
/*
 * test_cleanup.c - the cleanup registry: every kind is undone on SIGTERM
 * and at exit (in a child process), newest first; ab_cleanup_to() undoes
 * only what came after its mark; popped entries are not run; a forked
 * child's exit() does not undo its parent's entries.
 */
#define _GNU_SOURCE
#include "ab_common.h"
#include "ab_check.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[256], order[300];

static void put(const char *name, const char *s)
{
	char p[400];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	fd = open(p, O_CREAT | O_WRONLY | O_TRUNC, 0644);
	if (fd < 0 || write(fd, s, strlen(s)) < 0)
		ab_die(1, "write %s", p);
	close(fd);
}

static char *get(const char *name, char *buf, size_t len)
{
	char p[400];
	int fd;
	ssize_t n;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	fd = open(p, O_RDONLY);
	buf[0] = 0;
	if (fd < 0)
		return NULL;
	n = read(fd, buf, len - 1);
	close(fd);
	buf[n > 0 ? n : 0] = 0;
	return buf;
}

static bool exists(const char *name)
{
	char p[400];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return access(p, F_OK) == 0;
}

/* an FN entry appends its tag to the "order" file: shows the undo order */
static void note(void *arg)
{
	int fd = open(order, O_WRONLY | O_APPEND);

	if (fd >= 0) {
		if (write(fd, arg, 1) < 0) {
		}
		close(fd);
	}
}

/* In a child: register one of each kind, then die by @how. */
static pid_t child(int how, pid_t *grandchild)
{
	int p[2];
	pid_t pid;

	if (pipe(p))
		ab_die(1, "pipe");
	pid = fork();
	if (pid == 0) {
		char path[400];
		pid_t gc = fork();

		if (gc == 0) {
			pause();
			_exit(0);
		}
		close(p[0]);
		ab_cleanup_push(note, "a");
		snprintf(path, sizeof(path), "%s/file", dir);
		ab_cleanup_add(AB_CLEANUP_FILE, path, NULL);
		snprintf(path, sizeof(path), "%s/sub", dir);
		ab_cleanup_add(AB_CLEANUP_DIR, path, NULL);
		snprintf(path, sizeof(path), "%s/param", dir);
		ab_cleanup_add(AB_CLEANUP_WRITE, path, "saved");
		ab_cleanup_add_child(gc);
		ab_cleanup_run(ab_cleanup_push(note, "r")); /* run now, not again */
		ab_cleanup_pop(ab_cleanup_push(note, "x")); /* popped: never */
		ab_cleanup_push(note, "b");
		if (fork() == 0)
			exit(0); /* a grandchild's exit(): must not undo anything */
		wait(NULL);
		if (write(p[1], &gc, sizeof(gc)) != sizeof(gc))
			_exit(99);
		if (how == 0)
			exit(0);
		pause();
		_exit(98);
	}
	close(p[1]);
	CHECK(read(p[0], grandchild, sizeof(*grandchild)) == sizeof(*grandchild),
	      "child did not get ready");
	close(p[0]);
	return pid;
}

static void round_trip(int how)
{
	char buf[64], p[400];
	pid_t gc, pid;
	int st;

	put("file", "x");
	put("param", "changed");
	put("order", "");
	snprintf(p, sizeof(p), "%s/sub", dir);
	mkdir(p, 0755);
	pid = child(how, &gc);
	if (how == 1) /* the child waits for the signal */
		CHECK(exists("file") && exists("sub"), "something undone before the signal");
	if (how == 1)
		kill(pid, SIGTERM);
	waitpid(pid, &st, 0);
	if (how == 1)
		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 128 + SIGTERM,
		      "SIGTERM'd child: status %#x, want exit 143", st);
	else
		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child exit status %#x", st);
	CHECK(!exists("file"), "%s: file not unlinked", how ? "SIGTERM" : "exit");
	CHECK(!exists("sub"), "%s: directory not removed", how ? "SIGTERM" : "exit");
	CHECK(!strcmp(get("param", buf, sizeof(buf)), "saved"), "%s: parameter reads '%s'",
	      how ? "SIGTERM" : "exit", buf);
	CHECK(!strcmp(get("order", buf, sizeof(buf)), "rba"),
	      "%s: FN entries ran as '%s', want 'rba' (r at once, then newest first)",
	      how ? "SIGTERM" : "exit", buf);
	/* the child reaped it before it ended, so the pid is gone */
	CHECK(kill(gc, 0) < 0 && errno == ESRCH, "%s: registered child %d not killed and reaped",
	      how ? "SIGTERM" : "exit", (int)gc);
}

/* In this process: marks undo only what came after them, newest first. */
static void marks(void)
{
	char buf[64];
	int m0, m1;

	put("order", "");
	m0 = ab_cleanup_mark();
	ab_cleanup_push(note, "1");
	m1 = ab_cleanup_mark();
	ab_cleanup_push(note, "2");
	ab_cleanup_push(note, "3");
	ab_cleanup_to(m1);
	CHECK(!strcmp(get("order", buf, sizeof(buf)), "32"), "undo to mark 1 ran '%s'", buf);
	ab_cleanup_to(m0);
	CHECK(!strcmp(get("order", buf, sizeof(buf)), "321"), "undo to mark 0 ran '%s'", buf);
	ab_cleanup_to(m0);
	CHECK(!strcmp(get("order", buf, sizeof(buf)), "321"), "an entry ran twice: '%s'", buf);
	CHECK(ab_cleanup_add(AB_CLEANUP_WRITE, "/x", NULL) < 0, "WRITE without a value accepted");
	CHECK(ab_cleanup_add(AB_CLEANUP_CGROUP, "/x", NULL) < 0, "CGROUP without procs accepted");
}

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/ab-cleanup.XXXXXX");
	if (!mkdtemp(dir))
		ab_die(1, "mkdtemp");
	snprintf(order, sizeof(order), "%s/order", dir);
	round_trip(0);
	round_trip(1);
	marks();
	unlink(order);
	unlink(strcat(strcpy((char[400]){0}, dir), "/param"));
	CHECK(rmdir(dir) == 0, "scratch directory %s not empty", dir);
	return ab_check_report("common.cleanup");
}
