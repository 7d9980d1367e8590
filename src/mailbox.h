/* SPDX-License-Identifier: MIT */
/*
 * mailbox.h - the one way a thread asks another to run something: a queue
 * of calls and an eventfd the owning thread polls.
 *
 * Any thread posts (fire and forget) or calls (and waits at most a time
 * limit); the owner runs the queued functions, in order, when its loop
 * sees the fd readable.  The engine's engine_call(), the data plane's
 * configuration messages and session snapshots, and the SNMP thread's
 * notification queue all use it.
 *
 * The owner never waits for a poster: posting takes the mailbox's mutex
 * for a list insertion only.  A caller that times out leaves its call
 * behind: if it had not started it is dropped, if it had, it finishes and
 * its result is discarded.  The argument is freed (free_arg) by whichever
 * side is last, so after a timeout the caller must not touch it.
 */
#ifndef SSS_MAILBOX_H
#define SSS_MAILBOX_H

#include <pthread.h>
#include <stddef.h>

#include "list.h"

struct mailbox_item;

struct mailbox {
	pthread_mutex_t lock;
	TAILQ_HEAD(, mailbox_item) q;
	size_t queued;
	int fd; /* eventfd, non-blocking: readable while something is queued */
};

typedef void (*mailbox_fn)(void *owner, void *arg);

/* Returns 0 or -errno (no eventfd). */
int mailbox_init(struct mailbox *mb);
/* Free every item still queued without running it and close the fd.
 * Every caller must have returned and no thread may post any more. */
void mailbox_destroy(struct mailbox *mb);
int mailbox_fd(const struct mailbox *mb);
/* Items waiting now (posted and called, not yet taken by mailbox_run). */
size_t mailbox_queued(struct mailbox *mb);

/* Queue fn(owner, arg) for the owner; free_arg(arg) (may be NULL) after it
 * ran, or when the mailbox is destroyed without running it. */
void mailbox_post(struct mailbox *mb, mailbox_fn fn, void *arg, void (*free_arg)(void *));
/* Make the fd readable without queueing anything (the owner should look at
 * some shared state). */
void mailbox_wake(struct mailbox *mb);

/*
 * Queue fn(owner, arg) and wait at most timeout_ms for it to finish.
 * Returns 0 when it ran to completion, or -ETIMEDOUT (not started in time
 * and dropped, or started and not finished in time).  Never call it from
 * the owner's thread.
 */
int mailbox_call(struct mailbox *mb, mailbox_fn fn, void *arg, void (*free_arg)(void *),
		 int timeout_ms);

/* The same, with undo(owner, arg) run on the owner's thread right after
 * fn when the caller stopped waiting while fn ran (its result was thrown
 * away: undo takes back what fn did). */
int mailbox_call_undo(struct mailbox *mb, mailbox_fn fn, mailbox_fn undo, void *arg, void (*free_arg)(void *),
		      int timeout_ms);

/* On the owner's thread: clear the fd and run everything queued so far, in
 * order (items queued while it runs wait for the next round). */
void mailbox_run(struct mailbox *mb, void *owner);

#endif
