/* SPDX-License-Identifier: MIT */
/*
 * loop.h - the event loop of the data-plane thread: epoll over fd
 * handlers, a timer heap, jobs run under a time budget per pass, deferred
 * frees, and mailboxes from other threads.
 *
 * One pass (loop_run_once): wait for events, at most until the next timer
 * and not at all while jobs are waiting; call the ready handlers; run the
 * timers that are due; run queued jobs, oldest first, until the pass's job
 * budget is spent (at least one); then the deferred functions.  A handler
 * therefore never waits behind more than one budget of jobs: expensive
 * work that must not freeze the rest (TLS handshakes) is queued as a job
 * instead of being done inline.
 *
 * Not thread-safe: everything but the mailboxes is for the loop's own
 * thread.  The clock can be replaced (unit tests).
 */
#ifndef SSS_LOOP_H
#define SSS_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "list.h"

struct loop;
struct mailbox;

/* An fd in the loop: fn gets the epoll events. */
struct loop_handler {
	void (*fn)(struct loop *l, struct loop_handler *h, uint32_t events);
	int fd;
	uint32_t events; /* armed now (0: none) */
	bool in_set;     /* in the epoll set (possibly disarmed: EPOLLONESHOT) */
};

/* A timer: fn runs once when_ns has passed (loop_now_ns clock). */
struct loop_timer {
	void (*fn)(struct loop *l, struct loop_timer *t);
	uint64_t when_ns;
	size_t heap_index; /* 0: not armed */
};

/* A job: fn runs in a later phase of this pass or a later pass. */
struct loop_job {
	void (*fn)(struct loop *l, struct loop_job *j);
	TAILQ_ENTRY(loop_job) link;
	bool queued;
};

/* The default job budget per pass. */
#define LOOP_JOB_BUDGET_NS 2000000u

struct loop *loop_new(void);
/* Runs what is still deferred, then frees the loop (not the handlers,
 * timers or jobs: their owners do). */
void loop_free(struct loop *l);

/* Register, change or remove (events 0) an fd's interest.  With
 * EPOLLONESHOT the interest ends when the event is delivered (one system
 * call to arm again, none to disarm): a handler that hands its work to a
 * job and must not be called meanwhile uses it. */
void loop_watch(struct loop *l, struct loop_handler *h, uint32_t events);
/* h's fd is about to be closed, which takes it out of the epoll set:
 * forget its registration without a system call.  (Only for an fd that
 * has no duplicate.) */
void loop_forget(struct loop *l, struct loop_handler *h);

void loop_timer_set(struct loop *l, struct loop_timer *t, uint64_t when_ns);
void loop_timer_cancel(struct loop *l, struct loop_timer *t);
static inline bool loop_timer_armed(const struct loop_timer *t)
{
	return t->heap_index != 0;
}
/* Timers armed now. */
size_t loop_timers(const struct loop *l);

/* Queue j (no effect when it is queued already) / take it off the queue. */
void loop_job_queue(struct loop *l, struct loop_job *j);
void loop_job_cancel(struct loop *l, struct loop_job *j);
/* The time the jobs of one pass may take together (at least one job runs). */
void loop_set_job_budget(struct loop *l, uint64_t ns);
size_t loop_jobs(const struct loop *l);

/* Run fn(p) at the end of this pass (free an object whose handlers may
 * still appear later in this pass's events). */
void loop_defer(struct loop *l, void (*fn)(void *), void *p);

/* Run mailbox mb's items on this loop's thread as fn(owner, arg).  The
 * mailbox must outlive the loop or be removed with loop_remove_mailbox. */
void loop_add_mailbox(struct loop *l, struct mailbox *mb, void *owner);
void loop_remove_mailbox(struct loop *l, struct mailbox *mb);

/* Call before() ahead of every handler, timer and job (the data plane
 * clears OpenSSL's per-thread error queue there, so that what one session
 * left behind never fails the next). */
void loop_set_before(struct loop *l, void (*before)(void));

uint64_t loop_now_ns(struct loop *l);
/* Replace the clock (tests): now(ctx) in nanoseconds, non-decreasing. */
void loop_set_clock(struct loop *l, uint64_t (*now)(void *ctx), void *ctx);

/*
 * One pass (see above).  max_wait_ms bounds the wait for events (-1: until
 * the next timer, or for ever without one).  Returns the number of
 * handlers called, or -errno when epoll_wait failed (EINTR is 0).
 */
int loop_run_once(struct loop *l, int max_wait_ms);

#endif
