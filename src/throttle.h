/* SPDX-License-Identifier: MIT */
/*
 * throttle.h - the limiter as the data plane runs it: the two token
 * buckets every session shares (limiter.c does the arithmetic), the timer
 * that wakes whoever waits for tokens, in turn, and the measured rates
 * published to the counters once a second.
 *
 * Data-plane thread only.  A waiter is embedded in whatever waits (a
 * session) and says how to wake it; the throttle knows nothing else.
 */
#ifndef SSS_THROTTLE_H
#define SSS_THROTTLE_H

#include <stdbool.h>
#include <stddef.h>

#include "limiter.h"
#include "list.h"
#include "loop.h"

struct config;
struct tunnel_stats;

/* Directions of the limiter: up = client->server payload. */
enum throttle_dir { THROTTLE_UP = 0, THROTTLE_DOWN = 1 };

struct throttle_waiter {
	TAILQ_ENTRY(throttle_waiter) link;
	bool waiting;
	void (*wake)(struct throttle_waiter *w);
};

struct throttle {
	struct loop *loop;
	struct tunnel_stats *stats;
	struct bucket bucket[2];
	TAILQ_HEAD(, throttle_waiter) waiting;
	struct loop_timer wake_timer, rate_timer;
	void (*others)(void *ctx); /* woken after the waiters (the TUN device) */
	void *others_ctx;
};

void throttle_init(struct throttle *t, struct loop *l, struct tunnel_stats *stats);
/* Cancel the timers (the loop outlives the throttle). */
void throttle_stop(struct throttle *t);
/* Rates, burst and enabled from c; the first call starts publishing the
 * measured rates, later ones wake every waiter (a new rate may let them go
 * on at once). */
void throttle_configure(struct throttle *t, const struct config *c, bool first);

/* How much of want may pass now in direction d; 0: none until the wake
 * timer (armed here) fires. */
size_t throttle_allow(struct throttle *t, enum throttle_dir d, size_t want);
/* Account n bytes that passed. */
void throttle_consume(struct throttle *t, enum throttle_dir d, size_t n);

/* w waits for tokens (true when it was not waiting already); w->wake(w)
 * when the buckets refill, waiters served in turn: whoever was served first
 * goes last next time. */
bool throttle_wait(struct throttle *t, struct throttle_waiter *w);
/* w no longer waits (it closed). */
void throttle_forget(struct throttle *t, struct throttle_waiter *w);
/* Wake every waiter now, then others(). */
void throttle_wake(struct throttle *t);

#endif
