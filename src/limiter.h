/* SPDX-License-Identifier: MIT */
/*
 * limiter.h - token buckets for the tunnel's upload and download.
 *
 * Rates are kbit/s of tunnel payload, 1 kbit = 1000 bit.  A bucket holds at
 * most burst_ms worth of its rate.  It never drops anything: the data
 * plane asks how much it may read now and, when the answer is nothing,
 * when to ask again, and stops reading (backpressure) until then.  The
 * bucket may go into debt so that a unit larger than its depth still
 * passes (8 kbit/s with 1 ms of burst must not stall a 16 KiB TLS record
 * forever); the debt is paid back before anything else passes.
 *
 * Pure arithmetic on an injected clock (nanoseconds, any monotonic
 * origin): no locks, no system calls.  One owner thread per bucket.
 */
#ifndef SSS_LIMITER_H
#define SSS_LIMITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The smallest grant while tokens > 0, so that a tiny depth (8 kbit/s x
 * 1 ms = 1 byte) does not mean one-byte reads; the overshoot is paid back
 * as debt, so the long-run rate stays exact. */
#define BUCKET_MIN_GRANT 1024
/* Rates are clamped to [1, BUCKET_MAX_KBPS] kbit/s (the configuration
 * accepts 8..100000000); within it no arithmetic can overflow. */
#define BUCKET_MAX_KBPS 100000000u

struct bucket {
	bool enabled;
	uint64_t rate_Bps;   /* bytes per second */
	int64_t depth;       /* bytes */
	int64_t tokens;      /* bytes; negative = debt */
	uint64_t frac;       /* sub-byte credit, in 1e-9 byte (< 1e9) */
	uint64_t last_ns;    /* last refill */
	/* measured rate: bytes in the current 1 s window and the last full one */
	uint64_t win_start_ns, win_bytes, rate_bps;
	uint64_t waits;      /* blocked episodes: "wait" answers not preceded by another */
	bool waiting;        /* the last answer was "wait" (counts a wait once) */
};

/* A disabled bucket (everything passes) at time now_ns. */
void bucket_init(struct bucket *b, uint64_t now_ns);

/* Apply enabled/kbps/burst_ms from now on.  Tokens are clamped to the new
 * depth (a debt is kept); a bucket that was disabled starts full. */
void bucket_configure(struct bucket *b, bool enabled, uint32_t kbps, uint32_t burst_ms,
		      uint64_t now_ns);

/*
 * How many bytes the caller may read now: 0 < result <= want, or 0 with
 * *wait_ns = how long until it is worth asking again (never 0 when the
 * result is 0).  A disabled bucket always grants want.  While tokens > 0
 * the grant is min(want, max(tokens, BUCKET_MIN_GRANT)); the wait is exact:
 * asking again at now_ns + *wait_ns grants, unless something was consumed
 * or the bucket reconfigured in between (a sleeping caller should ask
 * again after bucket_configure, as a higher rate shortens its wait).
 * want == 0 answers 0 with *wait_ns = 0 and counts nothing.  wait_ns may
 * be NULL.
 */
size_t bucket_allow(struct bucket *b, size_t want, uint64_t now_ns, uint64_t *wait_ns);

/* Account n bytes that passed (may exceed what was allowed: debt), also
 * when disabled (for the meter; a disabled bucket keeps no debt). */
void bucket_consume(struct bucket *b, size_t n, uint64_t now_ns);

/* Measured rate over the last full second, bit/s (also when disabled):
 * the bytes consumed in the last closed 1 s window, 0 if that window had
 * none.  Rolls the windows, so only the owner thread may call it; publish
 * the value to other threads through the stats. */
uint64_t bucket_rate_bps(struct bucket *b, uint64_t now_ns);

#endif
