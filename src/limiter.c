/* SPDX-License-Identifier: MIT */
/*
 * limiter.c - the token bucket behind the upload and download limits.
 *
 * Exact integer arithmetic on an injected nanosecond clock: the credit
 * that does not make a whole byte yet is carried in b->frac (units of
 * 1e-9 byte), so over any span the bytes granted are floor(rate x time)
 * plus the depth, with no drift however the calls fall.  Every product is
 * kept below 2^64 by splitting times into whole seconds and the rest and
 * by capping before multiplying, so hours or years of idle time, the
 * largest rate (100000000 kbit/s) and the largest depth are all safe.
 *
 * The bucket never sleeps, never drops, never takes a lock and never makes
 * a system call; it only says how much may pass now or how long to wait.
 * Which traffic goes through which bucket is the caller's business.
 */
#include "limiter.h"

#include <string.h>

#define NS_PER_S 1000000000ull
/* Debt floor: keeps depth - tokens and 1 - tokens far from overflow even
 * if a caller accounts absurd amounts without ever asking. */
#define DEBT_MIN (-(INT64_C(1) << 62))

static bool full(const struct bucket *b)
{
	return b->tokens >= b->depth;
}

static void fill(struct bucket *b)
{
	b->tokens = b->depth;
	b->frac = 0;
}

/*
 * Credit the time since b->last_ns at the current rate, capped at the
 * depth.  A clock that did not advance (or went backwards) credits
 * nothing and does not move last_ns back.
 */
static void refill(struct bucket *b, uint64_t now_ns)
{
	if (now_ns <= b->last_ns)
		return;
	uint64_t elapsed = now_ns - b->last_ns;
	b->last_ns = now_ns;
	if (!b->enabled)
		return;
	if (full(b)) {
		b->frac = 0;
		return;
	}
	uint64_t need = (uint64_t)(b->depth - b->tokens); /* > 0, < 2^63 */
	uint64_t sec = elapsed / NS_PER_S, rem = elapsed % NS_PER_S;
	if (sec > need / b->rate_Bps) { /* cap before multiplying */
		fill(b);
		return;
	}
	uint64_t add = sec * b->rate_Bps; /* <= need */
	/* rem < 1e9, rate <= 1.25e10: the product stays below 1.25e19 */
	uint64_t x = rem * b->rate_Bps + b->frac;
	add += x / NS_PER_S;
	if (add >= need) {
		fill(b);
		return;
	}
	b->frac = x % NS_PER_S;
	b->tokens += (int64_t)add;
}

/* Roll the 1 s meter windows up to now_ns. */
static void meter_roll(struct bucket *b, uint64_t now_ns)
{
	if (now_ns < b->win_start_ns || now_ns - b->win_start_ns < NS_PER_S)
		return;
	uint64_t n = (now_ns - b->win_start_ns) / NS_PER_S;
	/* the window that just closed is the last full one only if n == 1;
	 * otherwise at least one full second passed without traffic */
	if (n > 1)
		b->rate_bps = 0;
	else
		b->rate_bps = b->win_bytes > UINT64_MAX / 8 ? UINT64_MAX : b->win_bytes * 8;
	b->win_bytes = 0;
	b->win_start_ns += n * NS_PER_S;
}

void bucket_init(struct bucket *b, uint64_t now_ns)
{
	memset(b, 0, sizeof(*b));
	b->rate_Bps = 125;
	b->depth = 1;
	b->last_ns = now_ns;
	b->win_start_ns = now_ns;
}

/*
 * Credits the time so far at the old rate, then switches.  kbps is
 * clamped to [1, BUCKET_MAX_KBPS]; the depth is burst_ms of the rate and
 * at least one byte.  Enabling a disabled bucket fills it; otherwise
 * tokens above the new depth are dropped and a debt is kept as it is.
 * Disabling forgets nothing but the "waiting" state.
 */
void bucket_configure(struct bucket *b, bool enabled, uint32_t kbps, uint32_t burst_ms,
		      uint64_t now_ns)
{
	refill(b, now_ns);
	if (kbps < 1)
		kbps = 1;
	if (kbps > BUCKET_MAX_KBPS)
		kbps = BUCKET_MAX_KBPS;
	uint64_t rate = (uint64_t)kbps * 125;
	/* rate * burst_ms / 1000 without the 5.4e19 intermediate */
	uint64_t depth = rate / 1000 * burst_ms + rate % 1000 * burst_ms / 1000;

	bool was = b->enabled;
	b->enabled = enabled;
	b->rate_Bps = rate;
	b->depth = depth ? (int64_t)depth : 1;
	if (!enabled || !was)
		b->waiting = false;
	if (enabled && !was)
		fill(b);
	else if (full(b))
		fill(b);
}

/*
 * Time until the tokens are > 0 again, given tokens <= 0: the smallest t
 * with t * rate + frac >= (1 - tokens) * 1e9, computed as whole seconds
 * plus a remainder so nothing overflows.  Always >= 1 since frac < 1e9.
 */
static uint64_t time_to_positive(const struct bucket *b)
{
	uint64_t a = (uint64_t)(-b->tokens); /* need - 1, need = 1 - tokens */
	uint64_t q = a / b->rate_Bps, r = a % b->rate_Bps;
	uint64_t t = (r * NS_PER_S + (NS_PER_S - b->frac) + b->rate_Bps - 1) / b->rate_Bps;
	if (q > (UINT64_MAX - t) / NS_PER_S)
		return UINT64_MAX;
	return q * NS_PER_S + t;
}

size_t bucket_allow(struct bucket *b, size_t want, uint64_t now_ns, uint64_t *wait_ns)
{
	uint64_t dummy;

	if (!wait_ns)
		wait_ns = &dummy;
	*wait_ns = 0;
	refill(b, now_ns);
	if (want == 0)
		return 0;
	if (!b->enabled) {
		b->waiting = false;
		return want;
	}
	if (b->tokens > 0) {
		uint64_t grant = (uint64_t)b->tokens;
		if (grant < BUCKET_MIN_GRANT)
			grant = BUCKET_MIN_GRANT;
		b->waiting = false;
		return grant < want ? (size_t)grant : want;
	}
	if (!b->waiting) {
		b->waits++;
		b->waiting = true;
	}
	*wait_ns = time_to_positive(b);
	return 0;
}

void bucket_consume(struct bucket *b, size_t n, uint64_t now_ns)
{
	refill(b, now_ns);
	meter_roll(b, now_ns);
	b->win_bytes = n > UINT64_MAX - b->win_bytes ? UINT64_MAX : b->win_bytes + n;
	if (!b->enabled)
		return;
	if (n > (uint64_t)(b->tokens - DEBT_MIN))
		b->tokens = DEBT_MIN;
	else
		b->tokens -= (int64_t)n;
}

uint64_t bucket_rate_bps(struct bucket *b, uint64_t now_ns)
{
	meter_roll(b, now_ns);
	return b->rate_bps;
}
