/* SPDX-License-Identifier: MIT */
/*
 * throttle.c - see throttle.h.
 *
 * The wake timer is armed for the earliest moment a bucket has tokens
 * again; it never spins: a bucket that answers "wait" also says how long.
 */
#include "throttle.h"

#include "config.h"
#include "stats.h"

#define NS_PER_S 1000000000ull

/* Publish the measured rates once a second (they decay to 0 when idle). */
static void rate_tick(struct loop *l, struct loop_timer *tm)
{
	struct throttle *t = container_of(tm, struct throttle, rate_timer);
	uint64_t now = loop_now_ns(l);

	atomic_store_explicit(&t->stats->rate_up_bps, bucket_rate_bps(&t->bucket[THROTTLE_UP], now),
			      memory_order_relaxed);
	atomic_store_explicit(&t->stats->rate_down_bps, bucket_rate_bps(&t->bucket[THROTTLE_DOWN], now),
			      memory_order_relaxed);
	loop_timer_set(l, tm, now + NS_PER_S);
}

void throttle_wake(struct throttle *t)
{
	TAILQ_HEAD(, throttle_waiter) batch = TAILQ_HEAD_INITIALIZER(batch);
	struct throttle_waiter *w, *first = TAILQ_FIRST(&t->waiting);

	TAILQ_CONCAT(&batch, &t->waiting, link);
	while ((w = TAILQ_FIRST(&batch)) != NULL) {
		TAILQ_REMOVE(&batch, w, link);
		w->waiting = false;
		w->wake(w);
	}
	/* The one served first took what it could: next time it goes after
	 * the others that are still waiting. */
	if (first && first->waiting && TAILQ_FIRST(&t->waiting) == first)
		TAILQ_ROTATE(&t->waiting, first, link);
	if (t->others)
		t->others(t->others_ctx);
}

static void on_wake(struct loop *l, struct loop_timer *tm)
{
	throttle_wake(container_of(tm, struct throttle, wake_timer));
}

void throttle_init(struct throttle *t, struct loop *l, struct tunnel_stats *stats)
{
	uint64_t now = loop_now_ns(l);

	t->loop = l;
	t->stats = stats;
	TAILQ_INIT(&t->waiting);
	bucket_init(&t->bucket[THROTTLE_UP], now);
	bucket_init(&t->bucket[THROTTLE_DOWN], now);
	t->wake_timer.fn = on_wake;
	t->rate_timer.fn = rate_tick;
}

void throttle_stop(struct throttle *t)
{
	loop_timer_cancel(t->loop, &t->wake_timer);
	loop_timer_cancel(t->loop, &t->rate_timer);
}

void throttle_configure(struct throttle *t, const struct config *c, bool first)
{
	uint64_t now = loop_now_ns(t->loop);

	bucket_configure(&t->bucket[THROTTLE_UP], c->throttle.enabled, (uint32_t)c->tunnel.upload_kbps,
			 (uint32_t)c->throttle.burst_ms, now);
	bucket_configure(&t->bucket[THROTTLE_DOWN], c->throttle.enabled, (uint32_t)c->tunnel.download_kbps,
			 (uint32_t)c->throttle.burst_ms, now);
	if (first)
		rate_tick(t->loop, &t->rate_timer);
	else
		throttle_wake(t);
}

size_t throttle_allow(struct throttle *t, enum throttle_dir d, size_t want)
{
	uint64_t wait = 0, now = loop_now_ns(t->loop);
	struct bucket *b = &t->bucket[d];
	uint64_t waits = b->waits;
	size_t n = bucket_allow(b, want, now, &wait);

	if (b->waits != waits)
		atomic_fetch_add_explicit(d == THROTTLE_UP ? &t->stats->limiter_waits_up : &t->stats->limiter_waits_down,
					  b->waits - waits, memory_order_relaxed);
	if (!n && (!loop_timer_armed(&t->wake_timer) || t->wake_timer.when_ns > now + wait))
		loop_timer_set(t->loop, &t->wake_timer, now + wait);
	return n;
}

void throttle_consume(struct throttle *t, enum throttle_dir d, size_t n)
{
	bucket_consume(&t->bucket[d], n, loop_now_ns(t->loop));
	atomic_fetch_add_explicit(d == THROTTLE_UP ? &t->stats->bytes_up : &t->stats->bytes_down, n,
				  memory_order_relaxed);
}

bool throttle_wait(struct throttle *t, struct throttle_waiter *w)
{
	if (w->waiting)
		return false;
	w->waiting = true;
	TAILQ_INSERT_TAIL(&t->waiting, w, link);
	return true;
}

void throttle_forget(struct throttle *t, struct throttle_waiter *w)
{
	if (!w->waiting)
		return;
	TAILQ_REMOVE(&t->waiting, w, link);
	w->waiting = false;
}
