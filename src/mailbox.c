/* SPDX-License-Identifier: MIT */
/*
 * mailbox.c - see mailbox.h.
 *
 * An item is owned by the queue and, for a call, also by the caller: the
 * last of the two to let go frees it (refs under the mailbox's lock).  The
 * owner's thread never blocks here except on the lock, which every other
 * holder keeps for a list operation or a state change only.
 */
#include "mailbox.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

enum item_state { ITEM_QUEUED, ITEM_RUNNING, ITEM_DONE, ITEM_CANCELLED };

struct mailbox_item {
	TAILQ_ENTRY(mailbox_item) link;
	mailbox_fn fn, undo;
	void *arg;
	void (*free_arg)(void *);
	int refs; /* under mb->lock */
	enum item_state state;
	bool call;
	bool abandoned; /* the caller gave up while fn ran: run undo after it */
	pthread_cond_t done; /* calls only */
};

int mailbox_init(struct mailbox *mb)
{
	mb->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (mb->fd < 0)
		return -errno;
	pthread_mutex_init(&mb->lock, NULL);
	TAILQ_INIT(&mb->q);
	mb->queued = 0;
	return 0;
}

int mailbox_fd(const struct mailbox *mb)
{
	return mb->fd;
}

size_t mailbox_queued(struct mailbox *mb)
{
	pthread_mutex_lock(&mb->lock);
	size_t n = mb->queued;
	pthread_mutex_unlock(&mb->lock);
	return n;
}

void mailbox_wake(struct mailbox *mb)
{
	uint64_t one = 1;
	ssize_t w = write(mb->fd, &one, sizeof(one));
	(void)w; /* a full counter is still readable */
}

static void item_free(struct mailbox_item *it)
{
	if (it->free_arg)
		it->free_arg(it->arg);
	if (it->call)
		pthread_cond_destroy(&it->done);
	free(it);
}

/* Drop one reference; called with the lock held.  Returns the item when
 * it must be freed (outside the lock: free_arg may do anything). */
static struct mailbox_item *item_unref_locked(struct mailbox_item *it)
{
	return --it->refs == 0 ? it : NULL;
}

static struct mailbox_item *item_new(mailbox_fn fn, void *arg, void (*free_arg)(void *), bool call)
{
	struct mailbox_item *it = xcalloc(1, sizeof(*it));

	it->fn = fn;
	it->undo = NULL;
	it->arg = arg;
	it->free_arg = free_arg;
	it->call = call;
	it->refs = call ? 2 : 1;
	it->state = ITEM_QUEUED;
	if (call) {
		pthread_condattr_t ca;
		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&it->done, &ca);
		pthread_condattr_destroy(&ca);
	}
	return it;
}

static void enqueue_locked(struct mailbox *mb, struct mailbox_item *it)
{
	TAILQ_INSERT_TAIL(&mb->q, it, link);
	mb->queued++;
	mailbox_wake(mb);
}

void mailbox_post(struct mailbox *mb, mailbox_fn fn, void *arg, void (*free_arg)(void *))
{
	struct mailbox_item *it = item_new(fn, arg, free_arg, false);

	pthread_mutex_lock(&mb->lock);
	enqueue_locked(mb, it);
	pthread_mutex_unlock(&mb->lock);
}

int mailbox_call(struct mailbox *mb, mailbox_fn fn, void *arg, void (*free_arg)(void *),
		 int timeout_ms)
{
	return mailbox_call_undo(mb, fn, NULL, arg, free_arg, timeout_ms);
}

int mailbox_call_undo(struct mailbox *mb, mailbox_fn fn, mailbox_fn undo, void *arg, void (*free_arg)(void *),
		      int timeout_ms)
{
	struct mailbox_item *it = item_new(fn, arg, free_arg, true), *dead;
	struct timespec deadline;
	int ret = 0;

	it->undo = undo;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += timeout_ms / 1000;
	deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&mb->lock);
	enqueue_locked(mb, it);
	while (it->state == ITEM_QUEUED || it->state == ITEM_RUNNING) {
		if (pthread_cond_timedwait(&it->done, &mb->lock, &deadline) == ETIMEDOUT) {
			if (it->state == ITEM_QUEUED)
				it->state = ITEM_CANCELLED; /* mailbox_run skips it */
			else if (it->state == ITEM_RUNNING)
				it->abandoned = true;       /* mailbox_run undoes it */
			if (it->state != ITEM_DONE)
				ret = -ETIMEDOUT;
			break;
		}
	}
	dead = item_unref_locked(it);
	pthread_mutex_unlock(&mb->lock);
	if (dead)
		item_free(dead);
	return ret;
}

void mailbox_run(struct mailbox *mb, void *owner)
{
	TAILQ_HEAD(, mailbox_item) batch = TAILQ_HEAD_INITIALIZER(batch);
	struct mailbox_item *it, *dead;
	uint64_t n;
	ssize_t r = read(mb->fd, &n, sizeof(n));

	(void)r; /* EAGAIN: woken without an item, or already read */
	pthread_mutex_lock(&mb->lock);
	TAILQ_CONCAT(&batch, &mb->q, link);
	mb->queued = 0;
	pthread_mutex_unlock(&mb->lock);

	while ((it = TAILQ_FIRST(&batch)) != NULL) {
		TAILQ_REMOVE(&batch, it, link);
		pthread_mutex_lock(&mb->lock);
		bool run = it->state == ITEM_QUEUED;
		if (run)
			it->state = ITEM_RUNNING;
		pthread_mutex_unlock(&mb->lock);
		if (run && it->fn)
			it->fn(owner, it->arg);
		pthread_mutex_lock(&mb->lock);
		if (it->state == ITEM_RUNNING)
			it->state = ITEM_DONE;
		bool undo = run && it->abandoned && it->undo;
		if (it->call)
			pthread_cond_signal(&it->done);
		pthread_mutex_unlock(&mb->lock);
		/* Nothing else of this mailbox ran in between: what fn did is
		 * undone before any later item could build on it. */
		if (undo)
			it->undo(owner, it->arg);
		pthread_mutex_lock(&mb->lock);
		dead = item_unref_locked(it);
		pthread_mutex_unlock(&mb->lock);
		if (dead)
			item_free(dead);
	}
}

void mailbox_destroy(struct mailbox *mb)
{
	struct mailbox_item *it;

	if (mb->fd < 0)
		return;
	/* Every caller has returned (the contract): what is left was posted,
	 * or called by a caller that timed out and let go of it. */
	while ((it = TAILQ_FIRST(&mb->q)) != NULL) {
		TAILQ_REMOVE(&mb->q, it, link);
		if (item_unref_locked(it))
			item_free(it);
	}
	mb->queued = 0;
	pthread_mutex_destroy(&mb->lock);
	close(mb->fd);
	mb->fd = -1;
}
