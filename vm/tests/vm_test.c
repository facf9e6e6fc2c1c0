// SPDX-License-Identifier: GPL-2.0
/* vm_test.c - helpers shared by libabvm's tests (see vm_test.h). */
#define _GNU_SOURCE
#include "vm_test.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int vt_helper_failures(void)
{
	return ab_check_failures;
}

_Noreturn void vt_skip(int local_failures, const char *fmt, ...)
{
	va_list ap;

	if (local_failures || ab_check_failures) {
		fprintf(stderr, "FAIL: %d check(s) failed before a requirement was found unmet\n",
			local_failures + ab_check_failures);
		exit(AB_EXIT_FAIL);
	}
	fputs("SKIP: ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	exit(AB_EXIT_SKIP);
}

struct abvm *vt_create(struct ab_vm_config *cfg)
{
	struct abvm *vm;
	char err[512];
	int r = ab_vm_create(cfg, &vm, err, sizeof(err));

	if (r) {
		if (ab_vm_exit_code(r) == AB_EXIT_SKIP) /* (sees the helpers' failures only) */
			vt_skip(0, "%s", err);
		fprintf(stderr, "FAIL ab_vm_create: %s (%s)\n", err, ab_vm_strerr(r));
		exit(AB_EXIT_FAIL);
	}
	return vm;
}

void vt_wait_ok(struct abvm *vm)
{
	int r = ab_vm_wait(vm, 60 * VT_SEC);

	if (r) {
		fprintf(stderr, "FAIL wait: %s (%s)\n", ab_vm_strerr(r), ab_vm_last_error(vm));
		exit(AB_EXIT_FAIL);
	}
}

void vt_expect_dirty(struct abvm *vm, const uint64_t *want, const char *what)
{
	uint64_t n = ab_vm_npages(vm), *got = vt_bm_alloc(n), first, d;

	CHECK(ab_vm_get_dirty_log(vm, got) == 0, "KVM_GET_DIRTY_LOG failed");
	d = vt_bm_diff(got, want, n, &first);
	CHECK(d == 0,
	      "%s: dirty log differs from the expected set in %" PRIu64
	      " pages (first: page %" PRIu64 ", dirty=%d expected=%d)",
	      what, d, first, first < n ? ab_vm_bit(got, first) : -1,
	      first < n ? ab_vm_bit(want, first) : -1);
	if (!d)
		printf("  %s: dirty log == expected set (%" PRIu64 " pages)\n", what,
		       ab_vm_popcount(want, n));
	free(got);
}

void vt_expect_marks(struct abvm *vm, const uint64_t *written, const char *what)
{
	uint64_t n = ab_vm_npages(vm), i, bad = 0, firstbad = 0;
	const uint8_t *h = ab_vm_hva(vm);

	for (i = 0; i < n; i++) {
		uint64_t v = *(const volatile uint64_t *)(h + i * 4096);
		uint64_t want = ab_vm_bit(written, i) ? AB_VM_WRITE_MARK(i) : 0;

		if (v != want && !bad++)
			firstbad = i;
	}
	CHECK(bad == 0, "%s: %" PRIu64 " pages with wrong contents (first %" PRIu64 ")", what, bad,
	      firstbad);
}

bool vt_wait_passes(struct abvm *vm, uint64_t passes, unsigned step_ms, unsigned timeout_s,
		    struct ab_vm_vcpu_stats *st)
{
	uint64_t t0 = ab_now_ns();

	for (;;) {
		ab_vm_stats_total(vm, st);
		if (st->passes >= passes)
			return true;
		if (ab_now_ns() - t0 > timeout_s * VT_SEC)
			return false;
		usleep(step_ms * 1000);
	}
}

static uint64_t rng_state = 0x1234567;

uint64_t vt_rnd(void)
{
	rng_state += 0x9e3779b97f4a7c15ull;
	return ab_vm_mix64(rng_state);
}

uint64_t *vt_bm_alloc(uint64_t n)
{
	uint64_t *b = calloc((n + 63) / 64 + 1, 8);

	if (!b)
		ab_die(1, "out of memory");
	return b;
}

void vt_bm_clear(uint64_t *bm, uint64_t n)
{
	memset(bm, 0, (n + 63) / 64 * 8);
}

void vt_bm_random(uint64_t *bm, uint64_t n, unsigned one_in)
{
	vt_bm_clear(bm, n);
	for (uint64_t i = 0; i < n; i++)
		if (vt_rnd() % one_in == 0)
			ab_vm_set_bit(bm, i);
}

uint64_t vt_bm_diff(const uint64_t *a, const uint64_t *b, uint64_t n, uint64_t *first)
{
	uint64_t d = 0, i;

	*first = UINT64_MAX;
	for (i = 0; i < n; i++)
		if (ab_vm_bit(a, i) != ab_vm_bit(b, i)) {
			if (!d)
				*first = i;
			d++;
		}
	return d;
}

/* Children are killed (and reaped) by the cleanup registry if the test dies
 * or is interrupted before it reaped them: no abvm-run outlives its test. */
#define VT_MAX_CHILDREN 16
static struct {
	pid_t pid;
	int handle;
} children[VT_MAX_CHILDREN];

static void vt_child_registered(pid_t pid)
{
	for (int i = 0; i < VT_MAX_CHILDREN; i++)
		if (!children[i].pid) {
			children[i].pid = pid;
			children[i].handle = ab_cleanup_add_child(pid);
			return;
		}
}

int vt_run_capture(char *const argv[], const char *env, bool as_nobody, char *out, size_t outlen)
{
	int p[2];
	pid_t pid;
	size_t got = 0;
	ssize_t n;

	if (pipe(p))
		ab_die(1, "pipe");
	pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		dup2(p[1], 2);
		close(p[0]);
		if (env)
			putenv((char *)env);
		if (as_nobody && (setgid(65534) || setuid(65534)))
			_exit(99);
		execv(argv[0], argv);
		_exit(98);
	}
	close(p[1]);
	vt_child_registered(pid);
	while (got + 1 < outlen && (n = read(p[0], out + got, outlen - 1 - got)) > 0)
		got += (size_t)n;
	out[got] = 0;
	close(p[0]);
	return vt_wait_exit(pid);
}

void vt_expect_run(const char *name, char *const argv[], const char *env, bool nobody, int want_rc,
		   const char *want_msg)
{
	char out[4096];
	int rc = vt_run_capture(argv, env, nobody, out, sizeof(out));

	CHECK(rc == want_rc && strstr(out, want_msg),
	      "%s: exit %d (want %d), output '%s' (want '%s')", name, rc, want_rc, out, want_msg);
	if (rc == want_rc && strstr(out, want_msg))
		printf("  %s: exit %d, message: %s", name, rc, out);
}

pid_t vt_spawn_until(char *const argv[], const char *prefix, char *line, size_t len, FILE **outp)
{
	int p[2];
	pid_t pid;
	FILE *f;

	if (pipe(p))
		ab_die(1, "pipe");
	pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		execv(argv[0], argv);
		_exit(98);
	}
	close(p[1]);
	vt_child_registered(pid);
	f = fdopen(p[0], "r");
	line[0] = 0;
	while (fgets(line, (int)len, f))
		if (!strncmp(line, prefix, strlen(prefix))) {
			*outp = f;
			return pid;
		}
	fclose(f);
	vt_wait_exit(pid);
	return -1;
}

int vt_wait_exit(pid_t pid)
{
	int st;

	for (int i = 0; i < VT_MAX_CHILDREN; i++)
		if (children[i].pid == pid) {
			ab_cleanup_pop(children[i].handle);
			children[i].pid = 0;
		}
	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
