/* SPDX-License-Identifier: MIT */
/*
 * unit_loop.c - the event loop and the mailbox, driven directly: the timer
 * heap against a sorted model under random arming, re-arming and
 * cancelling; jobs under the per-pass budget with an injected clock
 * (events of the next pass are served between two budgets of jobs);
 * deferred frees; a mailbox call from another thread, its time limit, and
 * what is left in a destroyed mailbox.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "loop.h"
#include "mailbox.h"
#include "testutil.h"

/* ---- the injected clock ------------------------------------------------- */

static uint64_t fake_now;

static uint64_t fake_clock(void *ctx)
{
	(void)ctx;
	return fake_now;
}

/* ---- timers ---------------------------------------------------------------- */

#define NT 200

struct ttimer {
	struct loop_timer t;
	int fired;
	uint64_t fired_at;
};

static struct ttimer timers[NT];
static int fire_order[NT * 4], n_fired;

static void on_timer(struct loop *l, struct loop_timer *t)
{
	struct ttimer *x = container_of(t, struct ttimer, t);

	x->fired++;
	x->fired_at = loop_now_ns(l);
	fire_order[n_fired++] = (int)(x - timers);
}

static void test_timer_heap(void)
{
	struct loop *l = loop_new();
	uint64_t want[NT];
	bool armed[NT] = { false };

	loop_set_clock(l, fake_clock, NULL);
	fake_now = 1000;
	srand(7);
	memset(timers, 0, sizeof(timers));
	n_fired = 0;
	for (int i = 0; i < NT; i++)
		timers[i].t.fn = on_timer;
	/* random arming, re-arming and cancelling */
	for (int round = 0; round < 2000; round++) {
		int i = rand() % NT;
		if (rand() % 4 == 0) {
			loop_timer_cancel(l, &timers[i].t);
			armed[i] = false;
		} else {
			want[i] = fake_now + 1 + (uint64_t)(rand() % 100000);
			loop_timer_set(l, &timers[i].t, want[i]);
			armed[i] = true;
		}
		CU_ASSERT_EQUAL(loop_timer_armed(&timers[i].t), armed[i]);
	}
	size_t n_armed = 0;
	for (int i = 0; i < NT; i++)
		n_armed += armed[i];
	CU_ASSERT_EQUAL(loop_timers(l), n_armed);
	/* time passes in steps: each armed timer fires once, at or after its
	 * time, never before; in order of time */
	for (int step = 0; step < 120; step++) {
		fake_now += 1000;
		loop_run_once(l, 0);
		for (int i = 0; i < NT; i++)
			if (timers[i].fired)
				CU_ASSERT(timers[i].fired_at >= want[i]);
	}
	for (int i = 0; i < NT; i++)
		CU_ASSERT_EQUAL(timers[i].fired, armed[i] ? 1 : 0);
	CU_ASSERT_EQUAL((size_t)n_fired, n_armed);
	for (int k = 1; k < n_fired; k++)
		CU_ASSERT(want[fire_order[k - 1]] <= want[fire_order[k]]);
	CU_ASSERT_EQUAL(loop_timers(l), 0);
	loop_free(l);
}

/* ---- jobs under the budget ----------------------------------------------------- */

struct tjob {
	struct loop_job j;
	uint64_t cost; /* what it "takes" on the fake clock */
	int runs;
};

static int job_log[64], n_job_log;

static void on_job(struct loop *l, struct loop_job *j)
{
	struct tjob *x = container_of(j, struct tjob, j);

	x->runs++;
	fake_now += x->cost;
	job_log[n_job_log++] = (int)x->cost;
}

struct tev {
	struct loop_handler h;
	int fd[2];
	int calls;
	int jobs_before; /* jobs run when the handler ran */
};

static void on_event(struct loop *l, struct loop_handler *h, uint32_t events)
{
	struct tev *e = container_of(h, struct tev, h);
	char b[16];

	e->calls++;
	e->jobs_before = n_job_log;
	ssize_t r = read(e->fd[0], b, sizeof(b));
	(void)r;
}

static void test_job_budget(void)
{
	struct loop *l = loop_new();
	struct tjob jobs[10];
	struct tev ev = { 0 };

	loop_set_clock(l, fake_clock, NULL);
	loop_set_job_budget(l, 2000000); /* 2 ms */
	fake_now = 0;
	n_job_log = 0;
	CU_ASSERT_FATAL(pipe(ev.fd) == 0);
	ev.h = (struct loop_handler){ .fn = on_event, .fd = ev.fd[0] };
	loop_watch(l, &ev.h, EPOLLIN);
	/* ten "handshakes" of 1 ms each */
	for (int i = 0; i < 10; i++) {
		jobs[i] = (struct tjob){ .j.fn = on_job, .cost = 1000000 };
		loop_job_queue(l, &jobs[i].j);
	}
	loop_job_queue(l, &jobs[0].j); /* queued once only */
	CU_ASSERT_EQUAL(loop_jobs(l), 10);
	/* pass 1: budget 2 ms -> two jobs (the second ends the budget) */
	loop_run_once(l, 0);
	CU_ASSERT_EQUAL(n_job_log, 2);
	/* an event arrives: the next pass serves it before any more jobs */
	CU_ASSERT_FATAL(write(ev.fd[1], "x", 1) == 1);
	loop_run_once(l, 1000);
	CU_ASSERT_EQUAL(ev.calls, 1);
	CU_ASSERT_EQUAL(ev.jobs_before, 2);
	CU_ASSERT_EQUAL(n_job_log, 4);
	/* the rest: two per pass, in order, each once */
	while (loop_jobs(l))
		loop_run_once(l, 0);
	CU_ASSERT_EQUAL(n_job_log, 10);
	for (int i = 0; i < 10; i++)
		CU_ASSERT_EQUAL(jobs[i].runs, 1);
	/* one expensive job always runs, alone */
	jobs[0].cost = 50000000;
	loop_job_queue(l, &jobs[0].j);
	loop_job_queue(l, &jobs[1].j);
	loop_run_once(l, 0);
	CU_ASSERT_EQUAL(jobs[0].runs, 2);
	CU_ASSERT_EQUAL(jobs[1].runs, 1);
	/* a cancelled job does not run */
	loop_job_cancel(l, &jobs[1].j);
	loop_run_once(l, 0);
	CU_ASSERT_EQUAL(jobs[1].runs, 1);
	loop_watch(l, &ev.h, 0);
	close(ev.fd[0]);
	close(ev.fd[1]);
	loop_free(l);
}

/* ---- deferred ---------------------------------------------------------------- */

static int deferred_runs;

static void deferred(void *p)
{
	deferred_runs += *(int *)p;
}

static void test_defer(void)
{
	struct loop *l = loop_new();
	int one = 1, ten = 10;

	deferred_runs = 0;
	loop_defer(l, deferred, &one);
	loop_defer(l, deferred, &ten);
	CU_ASSERT_EQUAL(deferred_runs, 0);
	loop_run_once(l, 0);
	CU_ASSERT_EQUAL(deferred_runs, 11);
	loop_run_once(l, 0);
	CU_ASSERT_EQUAL(deferred_runs, 11);
	loop_defer(l, deferred, &ten);
	loop_free(l); /* runs what is left */
	CU_ASSERT_EQUAL(deferred_runs, 21);
}

/* ---- mailboxes ------------------------------------------------------------------ */

struct owner {
	struct loop *l;
	struct mailbox mb;
	int ran;
	volatile bool stop;
};

static void add_one(void *owner, void *arg)
{
	struct owner *o = owner;

	o->ran += *(int *)arg;
}

static int freed;

static void count_free(void *p)
{
	freed++;
	free(p);
}

static void *owner_thread(void *arg)
{
	struct owner *o = arg;

	while (!o->stop)
		loop_run_once(o->l, 50);
	return NULL;
}

static int *boxed(int v)
{
	int *p = malloc(sizeof(*p));
	*p = v;
	return p;
}

static void test_mailbox(void)
{
	struct owner o = { .l = loop_new() };
	pthread_t th;

	CU_ASSERT_FATAL(mailbox_init(&o.mb) == 0);
	loop_add_mailbox(o.l, &o.mb, &o);
	freed = 0;
	/* posted before the owner runs: in order, freed after */
	mailbox_post(&o.mb, add_one, boxed(1), count_free);
	mailbox_post(&o.mb, add_one, boxed(2), count_free);
	CU_ASSERT_EQUAL(mailbox_queued(&o.mb), 2);
	loop_run_once(o.l, 0);
	CU_ASSERT_EQUAL(o.ran, 3);
	CU_ASSERT_EQUAL(freed, 2);
	/* a call from another thread completes */
	pthread_create(&th, NULL, owner_thread, &o);
	CU_ASSERT_EQUAL(mailbox_call(&o.mb, add_one, boxed(10), count_free, 5000), 0);
	CU_ASSERT_EQUAL(o.ran, 13);
	o.stop = true;
	mailbox_wake(&o.mb);
	pthread_join(th, NULL);
	CU_ASSERT_EQUAL(freed, 3);
	/* nobody runs the mailbox: the call times out, the item stays for
	 * destroy, which frees it without running it */
	CU_ASSERT_EQUAL(mailbox_call(&o.mb, add_one, boxed(100), count_free, 50), -ETIMEDOUT);
	mailbox_post(&o.mb, add_one, boxed(1000), count_free);
	loop_remove_mailbox(o.l, &o.mb);
	mailbox_destroy(&o.mb);
	CU_ASSERT_EQUAL(o.ran, 13);
	CU_ASSERT_EQUAL(freed, 5);
	loop_free(o.l);
}

int main(void)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 99;
	CU_pSuite s = CU_add_suite("loop", NULL, NULL);
	CU_add_test(s, "timer heap against a model", test_timer_heap);
	CU_add_test(s, "jobs under the per-pass budget", test_job_budget);
	CU_add_test(s, "deferred functions", test_defer);
	CU_add_test(s, "mailbox post, call, time limit, destroy", test_mailbox);
	return tu_run();
}
