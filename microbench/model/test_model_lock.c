// SPDX-License-Identifier: GPL-2.0
/*
 * test_model_lock - the model's mmu_lock (abmodel_lock.h):
 *  1. fairness, deterministically: a reader that queued while a writer held
 *     the lock gets it before that writer can take it again (the property
 *     glibc's writer-preferring rwlock lacks, see docs/model.md);
 *  2. a waiting writer holds off new readers;
 *  3. mutual exclusion under load: 2 writers and 2 readers for 0.5 s, each
 *     checking that nobody incompatible is inside.
 */
#define _GNU_SOURCE
#include "abmodel_lock.h"
#include "ab_check.h"

#include <ab_common.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static struct ab_mmu_lock L;
static int reader_done, writer_done;

static void *reader_once(void *arg)
{
	mmu_read_lock(&L);
	__atomic_store_n(&reader_done, 1, __ATOMIC_SEQ_CST);
	mmu_read_unlock(&L);
	return NULL;
}

static void *writer_once(void *arg)
{
	mmu_write_lock(&L);
	__atomic_store_n(&writer_done, 1, __ATOMIC_SEQ_CST);
	mmu_write_unlock(&L);
	return NULL;
}

static void wait_for(bool (*cond)(void))
{
	uint64_t t0 = ab_now_ns();
	while (!cond() && ab_now_ns() - t0 < 5000000000ull)
		sched_yield();
}

static bool reader_queued(void)
{
	/* The queued reader holds the wait lock (its ticket is the owner's)
	 * and has added its bias; a fast-path attempt only adds it briefly. */
	uint32_t next = __atomic_load_n(&L.q.next, __ATOMIC_SEQ_CST);
	uint32_t owner = __atomic_load_n(&L.q.owner, __ATOMIC_SEQ_CST);
	return next == owner + 1 && __atomic_load_n(&L.q.cnts, __ATOMIC_SEQ_CST) >= QR_BIAS;
}

/* A second thread took a wait-lock ticket behind the waiting writer's. */
static bool reader_queued_behind_writer(void)
{
	uint32_t next = __atomic_load_n(&L.q.next, __ATOMIC_SEQ_CST);
	uint32_t owner = __atomic_load_n(&L.q.owner, __ATOMIC_SEQ_CST);
	return next == owner + 2;
}

static bool writer_waiting(void)
{
	return __atomic_load_n(&L.q.cnts, __ATOMIC_SEQ_CST) & QW_WAITING;
}

static void fairness(void)
{
	pthread_t t;

	memset(&L, 0, sizeof(L));
	/* 1: writer holds; a reader queues; the writer unlocks and relocks. */
	mmu_write_lock(&L);
	pthread_create(&t, NULL, reader_once, NULL);
	wait_for(reader_queued);
	CHECK(reader_queued(), "reader never queued");
	CHECK(!__atomic_load_n(&reader_done, __ATOMIC_SEQ_CST), "reader entered under a writer");
	mmu_write_unlock(&L);
	mmu_write_lock(&L);
	CHECK(__atomic_load_n(&reader_done, __ATOMIC_SEQ_CST),
	      "writer re-took the lock before the queued reader got in");
	mmu_write_unlock(&L);
	pthread_join(t, NULL);

	/* 2: reader holds; a writer waits; a new reader must not get in. */
	reader_done = 0;
	mmu_read_lock(&L);
	pthread_t w, r;
	pthread_create(&w, NULL, writer_once, NULL);
	wait_for(writer_waiting);
	CHECK(writer_waiting(), "writer never waited");
	pthread_create(&r, NULL, reader_once, NULL);
	/* Non-vacuous: the new reader has tried and queued behind the writer. */
	wait_for(reader_queued_behind_writer);
	CHECK(reader_queued_behind_writer(), "the new reader never reached the lock");
	uint64_t t0 = ab_now_ns();
	while (ab_now_ns() - t0 < 20000000ull)
		sched_yield();
	CHECK(!__atomic_load_n(&reader_done, __ATOMIC_SEQ_CST),
	      "a new reader got in past a waiting writer");
	mmu_read_unlock(&L);
	pthread_join(w, NULL);
	pthread_join(r, NULL);
	CHECK(writer_done && reader_done, "writer or reader never ran");
}

static int inside_readers, inside_writers, stop;
static uint64_t plain; /* no atomics: under TSan, the lock must order these */
static uint64_t nread, nwrite;

static void *hammer(void *arg)
{
	bool writer = arg != NULL;
	uint64_t n = 0, seen = 0;

	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		if (writer) {
			mmu_write_lock(&L);
			int w = __atomic_add_fetch(&inside_writers, 1, __ATOMIC_SEQ_CST);
			int r = __atomic_load_n(&inside_readers, __ATOMIC_SEQ_CST);
			if (w != 1 || r != 0)
				__atomic_fetch_add(&ab_check_failures, 1, __ATOMIC_SEQ_CST);
			plain++;
			__atomic_sub_fetch(&inside_writers, 1, __ATOMIC_SEQ_CST);
			mmu_write_unlock(&L);
		} else {
			mmu_read_lock(&L);
			__atomic_add_fetch(&inside_readers, 1, __ATOMIC_SEQ_CST);
			if (__atomic_load_n(&inside_writers, __ATOMIC_SEQ_CST))
				__atomic_fetch_add(&ab_check_failures, 1, __ATOMIC_SEQ_CST);
			seen += plain;
			__atomic_sub_fetch(&inside_readers, 1, __ATOMIC_SEQ_CST);
			mmu_read_unlock(&L);
		}
		n++;
	}
	__atomic_fetch_add(writer ? &nwrite : &nread, n, __ATOMIC_SEQ_CST);
	return (void *)(uintptr_t)(seen & 1);
}

static void exclusion(int kind)
{
	pthread_t t[4];

	memset(&L, 0, sizeof(L));
	L.kind = kind;
	if (kind)
		pthread_rwlock_init(&L.pt, NULL);
	stop = 0;
	nread = nwrite = 0;
	int f0 = ab_check_failures;
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, hammer, i & 1 ? (void *)1 : NULL);
	uint64_t t0 = ab_now_ns();
	while (ab_now_ns() - t0 < 500000000ull)
		sched_yield();
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	CHECK(ab_check_failures == f0, "%s: mutual exclusion violated %d times",
	      kind ? "pthread" : "queued", ab_check_failures - f0);
	CHECK(nread > 0 && nwrite > 0, "%s: no progress (reads %llu writes %llu)",
	      kind ? "pthread" : "queued", (unsigned long long)nread, (unsigned long long)nwrite);
	printf("%s: %llu read and %llu write sections, exclusive\n", kind ? "pthread" : "queued",
	       (unsigned long long)nread, (unsigned long long)nwrite);
	if (kind)
		pthread_rwlock_destroy(&L.pt);
}

int main(void)
{
	fairness();
	exclusion(0);
	exclusion(1);
	printf("test_model_lock: %d failed\n", ab_check_failures);
	return ab_check_failures ? 1 : 0;
}
