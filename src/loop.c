/* SPDX-License-Identifier: MIT */
/*
 * loop.c - see loop.h.
 *
 * The timers are a binary min-heap (1-based) of pointers into their
 * owners' structs: arming, cancelling and firing are O(log n), and a timer
 * knows its own slot so that cancelling needs no search.  The jobs are a
 * FIFO; the budget is measured on the loop's clock.  Nothing here blocks
 * but epoll_wait, and nothing here allocates per event.
 */
#include "loop.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "mailbox.h"
#include "util.h"

#define MAX_EVENTS 64

struct deferred {
	void (*fn)(void *);
	void *p;
};

struct loop_mailbox {
	struct loop_handler h;
	struct mailbox *mb;
	void *owner;
};

struct loop {
	int epfd;
	struct loop_timer **heap; /* heap[1..n] */
	size_t heap_n, heap_cap;
	TAILQ_HEAD(, loop_job) jobs;
	size_t n_jobs;
	uint64_t job_budget_ns;
	struct deferred *defer;
	size_t n_defer, cap_defer;
	struct loop_mailbox **mbox;
	size_t n_mbox;
	uint64_t (*now)(void *ctx);
	void *now_ctx;
	void (*before)(void);
};

static uint64_t monotonic_ns(void *ctx)
{
	struct timespec ts;

	(void)ctx;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

struct loop *loop_new(void)
{
	struct loop *l = xcalloc(1, sizeof(*l));

	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0)
		abort(); /* no epoll: nothing can run */
	TAILQ_INIT(&l->jobs);
	l->job_budget_ns = LOOP_JOB_BUDGET_NS;
	l->now = monotonic_ns;
	return l;
}

static void run_deferred(struct loop *l)
{
	/* A deferred function may defer again: run until none is left. */
	for (size_t i = 0; i < l->n_defer; i++)
		l->defer[i].fn(l->defer[i].p);
	l->n_defer = 0;
}

void loop_free(struct loop *l)
{
	if (!l)
		return;
	run_deferred(l);
	for (size_t i = 0; i < l->n_mbox; i++)
		free(l->mbox[i]);
	free(l->mbox);
	close(l->epfd);
	free(l->heap);
	free(l->defer);
	free(l);
}

uint64_t loop_now_ns(struct loop *l)
{
	return l->now(l->now_ctx);
}

void loop_set_clock(struct loop *l, uint64_t (*now)(void *ctx), void *ctx)
{
	l->now = now ? now : monotonic_ns;
	l->now_ctx = ctx;
}

void loop_set_before(struct loop *l, void (*before)(void))
{
	l->before = before;
}

/* ---- fds ------------------------------------------------------------- */

void loop_watch(struct loop *l, struct loop_handler *h, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = h };

	if (events == h->events)
		return;
	if (!events) {
		epoll_ctl(l->epfd, EPOLL_CTL_DEL, h->fd, NULL);
		h->in_set = false;
	} else if (!h->in_set) {
		epoll_ctl(l->epfd, EPOLL_CTL_ADD, h->fd, &ev);
		h->in_set = true;
	} else {
		epoll_ctl(l->epfd, EPOLL_CTL_MOD, h->fd, &ev);
	}
	h->events = events;
}

void loop_forget(struct loop *l, struct loop_handler *h)
{
	(void)l;
	h->events = 0;
	h->in_set = false;
}

/* ---- timers ------------------------------------------------------------ */

static void heap_swap(struct loop *l, size_t i, size_t j)
{
	struct loop_timer *t = l->heap[i];

	l->heap[i] = l->heap[j];
	l->heap[j] = t;
	l->heap[i]->heap_index = i;
	l->heap[j]->heap_index = j;
}

static void heap_up(struct loop *l, size_t i)
{
	while (i > 1 && l->heap[i / 2]->when_ns > l->heap[i]->when_ns) {
		heap_swap(l, i, i / 2);
		i /= 2;
	}
}

static void heap_down(struct loop *l, size_t i)
{
	for (;;) {
		size_t m = i, a = 2 * i, b = 2 * i + 1;
		if (a <= l->heap_n && l->heap[a]->when_ns < l->heap[m]->when_ns)
			m = a;
		if (b <= l->heap_n && l->heap[b]->when_ns < l->heap[m]->when_ns)
			m = b;
		if (m == i)
			return;
		heap_swap(l, i, m);
		i = m;
	}
}

void loop_timer_cancel(struct loop *l, struct loop_timer *t)
{
	size_t i = t->heap_index;

	if (!i)
		return;
	t->heap_index = 0;
	if (i != l->heap_n) {
		l->heap[i] = l->heap[l->heap_n];
		l->heap[i]->heap_index = i;
		l->heap_n--;
		heap_up(l, i);
		heap_down(l, i);
	} else {
		l->heap_n--;
	}
}

void loop_timer_set(struct loop *l, struct loop_timer *t, uint64_t when_ns)
{
	loop_timer_cancel(l, t);
	if (l->heap_n + 1 >= l->heap_cap) {
		l->heap_cap = l->heap_cap ? l->heap_cap * 2 : 64;
		l->heap = xrealloc(l->heap, l->heap_cap * sizeof(*l->heap));
	}
	t->when_ns = when_ns;
	l->heap[++l->heap_n] = t;
	t->heap_index = l->heap_n;
	heap_up(l, l->heap_n);
}

size_t loop_timers(const struct loop *l)
{
	return l->heap_n;
}

static void run_timers(struct loop *l)
{
	uint64_t now = loop_now_ns(l);

	/* A timer re-armed for "now" runs on the next pass, not in a loop here. */
	while (l->heap_n && l->heap[1]->when_ns <= now) {
		struct loop_timer *t = l->heap[1];
		loop_timer_cancel(l, t);
		if (l->before)
			l->before();
		t->fn(l, t);
	}
}

/* ---- jobs ---------------------------------------------------------------- */

void loop_job_queue(struct loop *l, struct loop_job *j)
{
	if (j->queued)
		return;
	j->queued = true;
	TAILQ_INSERT_TAIL(&l->jobs, j, link);
	l->n_jobs++;
}

void loop_job_cancel(struct loop *l, struct loop_job *j)
{
	if (!j->queued)
		return;
	j->queued = false;
	TAILQ_REMOVE(&l->jobs, j, link);
	l->n_jobs--;
}

void loop_set_job_budget(struct loop *l, uint64_t ns)
{
	l->job_budget_ns = ns;
}

size_t loop_jobs(const struct loop *l)
{
	return l->n_jobs;
}

/* Jobs queued before this phase, oldest first, until the budget is spent;
 * a job queued by a job waits for the next pass. */
static void run_jobs(struct loop *l)
{
	uint64_t start = loop_now_ns(l);
	size_t n = l->n_jobs;

	for (size_t i = 0; i < n; i++) {
		struct loop_job *j = TAILQ_FIRST(&l->jobs);
		if (!j)
			break;
		if (i > 0 && loop_now_ns(l) - start >= l->job_budget_ns)
			break;
		loop_job_cancel(l, j);
		if (l->before)
			l->before();
		j->fn(l, j);
	}
}

/* ---- deferred and mailboxes ------------------------------------------ */

void loop_defer(struct loop *l, void (*fn)(void *), void *p)
{
	if (l->n_defer == l->cap_defer) {
		l->cap_defer = l->cap_defer ? l->cap_defer * 2 : 16;
		l->defer = xrealloc(l->defer, l->cap_defer * sizeof(*l->defer));
	}
	l->defer[l->n_defer].fn = fn;
	l->defer[l->n_defer].p = p;
	l->n_defer++;
}

static void on_mailbox(struct loop *l, struct loop_handler *h, uint32_t events)
{
	struct loop_mailbox *m = container_of(h, struct loop_mailbox, h);

	mailbox_run(m->mb, m->owner);
}

void loop_add_mailbox(struct loop *l, struct mailbox *mb, void *owner)
{
	struct loop_mailbox *m = xcalloc(1, sizeof(*m));

	m->mb = mb;
	m->owner = owner;
	m->h = (struct loop_handler){ .fn = on_mailbox, .fd = mailbox_fd(mb) };
	l->mbox = xrealloc(l->mbox, (l->n_mbox + 1) * sizeof(*l->mbox));
	l->mbox[l->n_mbox++] = m;
	loop_watch(l, &m->h, EPOLLIN);
}

void loop_remove_mailbox(struct loop *l, struct mailbox *mb)
{
	for (size_t i = 0; i < l->n_mbox; i++) {
		if (l->mbox[i]->mb != mb)
			continue;
		loop_watch(l, &l->mbox[i]->h, 0);
		/* its handler may still be in this pass's events */
		loop_defer(l, free, l->mbox[i]);
		l->mbox[i] = l->mbox[--l->n_mbox];
		return;
	}
}

/* ---- one pass ------------------------------------------------------------- */

int loop_run_once(struct loop *l, int max_wait_ms)
{
	struct epoll_event evs[MAX_EVENTS];
	int timeout = max_wait_ms;

	if (l->n_jobs) {
		timeout = 0;
	} else if (l->heap_n) {
		uint64_t now = loop_now_ns(l), when = l->heap[1]->when_ns;
		uint64_t ms = when <= now ? 0 : (when - now + 999999) / 1000000;
		if (timeout < 0 || ms < (uint64_t)timeout)
			timeout = ms > 60000 ? 60000 : (int)ms;
	}
	int n = epoll_wait(l->epfd, evs, MAX_EVENTS, timeout);
	if (n < 0) {
		if (errno != EINTR)
			return -errno;
		n = 0;
	}
	for (int i = 0; i < n; i++) {
		struct loop_handler *h = evs[i].data.ptr;
		if (h->events & EPOLLONESHOT)
			h->events = 0; /* disarmed by the kernel, still in the set */
		if (l->before)
			l->before();
		h->fn(l, h, evs[i].events);
	}
	run_timers(l);
	run_jobs(l);
	run_deferred(l);
	return n;
}
