/* SPDX-License-Identifier: MIT */
/*
 * unit_limiter.c - the token bucket on an injected clock: the long-run
 * rate is exact (to a byte or so) from 8 to 100000000 kbit/s, with
 * greedy, record-sized, late-waking and busy-polling readers; bursts after
 * idle; clamping and immediate effect on a change; debt and the smallest
 * settings (no stall); the wait is never 0 and exact; disabled passes
 * everything and enabling starts full; waits count blocked episodes; long
 * idle (hours to centuries, at the largest rate and depth) does not
 * overflow; and the 1 s rate meter.
 *
 * Simulated time only: no sleeps, no threads.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <CUnit/Basic.h>

#include "limiter.h"
#include "testutil.h"

#define MS 1000000ull
#define S 1000000000ull
#define KIB 1024u
/* an arbitrary clock origin: the bucket must not care */
#define T0 (1234567 * S + 890123)

static uint64_t rnd(uint64_t *seed)
{
	*seed = *seed * 6364136223846793005ull + 1442695040888963407ull;
	return *seed >> 33;
}

static struct bucket mk(uint32_t kbps, uint32_t burst_ms, uint64_t t)
{
	struct bucket b;

	bucket_init(&b, t);
	bucket_configure(&b, true, kbps, burst_ms, t);
	return b;
}

/* Take everything the bucket gives at instant t in grants of up to want;
 * return the bytes that passed before the first "wait". */
static uint64_t drain(struct bucket *b, uint64_t t, size_t want)
{
	uint64_t total = 0, w;
	size_t n;

	while ((n = bucket_allow(b, want, t, &w)) > 0) {
		CU_ASSERT_FATAL(n <= want);
		bucket_consume(b, n, t);
		total += n;
	}
	CU_ASSERT_FATAL(w > 0);
	return total;
}

struct reader {
	size_t want;        /* asks this much each time */
	size_t unit;        /* consumes this much per grant (0: the grant) */
	uint64_t granule;   /* sleeps at least this long (timer resolution) */
	uint64_t slack;     /* wakes up to this much late (pseudo-random) */
	uint64_t poll;      /* if set, asks every poll ns instead of sleeping */
	uint64_t seed;
	const char *bad;    /* set by run() on the first broken promise */
};

/*
 * Run r against b from *t until the first grant at or after t_end (that
 * grant is not taken); returns the bytes that passed, leaves *t at the
 * stop.  A wait of 0, a grant above want, or (for a reader that sleeps
 * exactly as told) a wake-up that is refused again sets r->bad and stops;
 * so do a stall (no grant 100 s past t_end) and 50 million asks (grants
 * far too small).  No CUnit assertion in the loop: it is hot.
 */
static uint64_t run(struct bucket *b, struct reader *r, uint64_t *t, uint64_t t_end)
{
	uint64_t bytes = 0, w, asks = 0;
	bool exact = false;

	for (;;) {
		if (++asks > 50000000) {
			r->bad = "50 million asks: grants far too small";
			return bytes;
		}
		size_t n = bucket_allow(b, r->want, *t, &w);
		if (n == 0) {
			if (w == 0)
				r->bad = "wait 0";
			else if (exact)
				r->bad = "refused at the announced time";
			else if (*t > t_end + 100 * S)
				r->bad = "stalled: no grant 100 s past the end";
			if (r->bad)
				return bytes;
			if (r->poll) {
				*t += r->poll;
				continue;
			}
			exact = w >= r->granule && !r->slack;
			*t += w >= r->granule ? w : r->granule;
			if (r->slack)
				*t += rnd(&r->seed) % r->slack;
			continue;
		}
		exact = false;
		if (n > r->want) {
			r->bad = "grant above want";
			return bytes;
		}
		if (*t >= t_end)
			return bytes;
		size_t c = r->unit ? r->unit : n;
		bucket_consume(b, c, *t);
		bytes += c;
	}
}

/* CU_ASSERT that r kept its promises, saying which one it broke. */
#define CHECK_READER(r)                                                     \
	do {                                                                \
		if ((r).bad)                                                \
			printf("\n  %s:%d: %s\n", __FILE__, __LINE__, (r).bad); \
		CU_ASSERT_PTR_NULL((r).bad);                                \
	} while (0)

/* rate x span in bytes, exactly */
static long double ideal(uint64_t rate_Bps, uint64_t span_ns)
{
	return (long double)((unsigned __int128)rate_Bps * span_ns / S);
}

/* the extremes, the default, and rates whose byte time is not a whole ns */
static const uint32_t rates[] = { 8, 64, 333, 1000, 10000, 77777, 1000000, 100000000 };
#define N_RATES (sizeof(rates) / sizeof(rates[0]))

/*
 * A reader that always wants 64 KiB and sleeps exactly as told: over
 * 100 s the bytes are depth + rate x time to within one nanosecond's worth
 * of the rate plus two bytes (far below 0.1 %), for every rate and depth,
 * including 8 kbit/s x 1 ms (a 1-byte bucket).  At 100000000 kbit/s the
 * reader sleeps at least 100 us (else 1.2e9 grants of BUCKET_MIN_GRANT);
 * the bound widens by what 100 us credits.
 */
static void test_rate_exact(void)
{
	static const uint32_t bursts[] = { 1, 100, 10000 };

	for (size_t i = 0; i < N_RATES; i++)
		for (size_t j = 0; j < 3; j++) {
			struct bucket b = mk(rates[i], bursts[j], T0);
			struct reader r = { .want = 64 * KIB };
			if (rates[i] >= 100000000)
				r.granule = 100000;
			uint64_t t = T0, depth = (uint64_t)b.depth;
			uint64_t bytes = run(&b, &r, &t, T0 + 100 * S);
			long double ideal_bytes = depth + ideal(b.rate_Bps, t - T0);
			long double err = (long double)bytes - ideal_bytes;
			long double slop = (long double)(b.rate_Bps * (r.granule + 1) / S + 2);
			long double rate = (long double)(bytes - depth) * S / (t - T0);

			CHECK_READER(r);
			if (err < -slop || err > 0)
				printf("\n  %u kbit/s x %u ms: %llu bytes, ideal %.0Lf\n", rates[i],
				       bursts[j], (unsigned long long)bytes, ideal_bytes);
			CU_ASSERT(err <= 0);
			CU_ASSERT(err >= -slop);
			CU_ASSERT(rate >= b.rate_Bps * 0.999L && rate <= b.rate_Bps * 1.001L);
		}
}

/*
 * Readers that are not greedy-and-punctual: 16 KiB TLS records whatever
 * the grant, timers that fire up to 2 ms late, and a poller that asks
 * every 50 us (so each refill credits a fraction of a byte at 8 kbit/s;
 * dropping the sub-byte remainder would stall it).  Depth 100 ms absorbs
 * the lateness, so the rate stays within 0.1 %.
 */
static void test_rate_readers(void)
{
	struct reader readers[] = {
		{ .want = 64 * KIB, .unit = 16 * KIB },
		{ .want = 64 * KIB, .slack = 2 * MS, .seed = 1 },
		{ .want = 1500, .slack = 2 * MS, .seed = 2 },
		{ .want = 64 * KIB, .poll = 50000 },
	};

	for (size_t k = 0; k < sizeof(readers) / sizeof(readers[0]); k++)
		for (size_t i = 0; i < N_RATES - 1; i++) {
			struct bucket b = mk(rates[i], 100, T0);
			struct reader r = readers[k];
			uint64_t t = T0, depth = (uint64_t)b.depth;
			/* 16 KiB units at 8 kbit/s: 16 s each, so run long enough */
			uint64_t span = r.unit && rates[i] < 1000 ? 2000 * S : 100 * S;
			uint64_t bytes = run(&b, &r, &t, T0 + span);
			long double rate = (long double)(bytes - depth) * S / (t - T0);

			CHECK_READER(r);
			if (rate < b.rate_Bps * 0.999L || rate > b.rate_Bps * 1.001L)
				printf("\n  reader %zu at %u kbit/s: %.3Lf B/s\n", k, rates[i], rate);
			CU_ASSERT(rate >= b.rate_Bps * 0.999L && rate <= b.rate_Bps * 1.001L);
		}
}

/* Bring b to (about) zero tokens at *t: drain, wait, take one byte. */
static void empty(struct bucket *b, uint64_t *t)
{
	uint64_t w;

	drain(b, *t, 64 * KIB);
	bucket_allow(b, 1, *t, &w);
	*t += w;
	CU_ASSERT_FATAL(bucket_allow(b, 1, *t, &w) == 1);
	bucket_consume(b, 1, *t);
}

/*
 * After an idle longer than the burst time, at most depth plus one grant
 * passes at once: idles of an hour, of a day, and of just under the next
 * whole second (so the cap on the sub-second credit is what holds).
 * After half the burst time from empty, half the depth.
 */
static void test_burst(void)
{
	static const struct { uint32_t kbps, burst_ms; } cases[] = {
		{ 8, 1 }, { 8, 10000 }, { 10000, 100 }, { 10000, 250 }, { 1000000, 1000 },
		{ 100000000, 1 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t idles[] = { 3600 * S, 86400 * S, (cases[i].burst_ms / 1000 + 1) * S - 1 };

		for (size_t j = 0; j < 3; j++) {
			uint64_t t = T0;
			struct bucket b = mk(cases[i].kbps, cases[i].burst_ms, t);
			uint64_t depth = (uint64_t)b.depth;

			CU_ASSERT_EQUAL(depth, cases[i].kbps * 125ull * cases[i].burst_ms / 1000);
			empty(&b, &t);
			t += idles[j];
			uint64_t got = drain(&b, t, 64 * KIB);
			if (got < depth || got >= depth + BUCKET_MIN_GRANT)
				printf("\n  %u kbit/s x %u ms, idle %llu ns: %llu bytes at once\n",
				       cases[i].kbps, cases[i].burst_ms, (unsigned long long)idles[j],
				       (unsigned long long)got);
			CU_ASSERT(got >= depth);
			CU_ASSERT(got < depth + BUCKET_MIN_GRANT);
		}

		uint64_t t = T0;
		struct bucket b = mk(cases[i].kbps, cases[i].burst_ms, t);
		uint64_t depth = (uint64_t)b.depth;
		empty(&b, &t);
		t += cases[i].burst_ms * MS / 2;
		uint64_t half = drain(&b, t, 64 * KIB);
		CU_ASSERT(half + 1 >= depth / 2 && half < depth / 2 + 2 + BUCKET_MIN_GRANT);
	}
}

/* A bigger rate with a smaller depth clamps the tokens at once; a bigger
 * depth adds nothing; a debt is kept; a new rate applies from the change
 * on, after the time so far was credited at the old one. */
static void test_change(void)
{
	uint64_t w, t = T0;
	struct bucket b = mk(1000, 1000, t); /* 125000 B/s, depth 125000 */

	t += 10 * S;
	bucket_configure(&b, true, 4000, 10, t); /* 500000 B/s, depth 5000 */
	CU_ASSERT_EQUAL(b.depth, 5000);
	uint64_t got = drain(&b, t, 64 * KIB);
	CU_ASSERT(got >= 5000 && got < 5000 + BUCKET_MIN_GRANT);

	/* bigger depth at the same instant: still nothing */
	bucket_configure(&b, true, 4000, 10000, t);
	CU_ASSERT_EQUAL(bucket_allow(&b, 1, t, &w), 0);

	/* debt kept across a change, repaid at the new rate */
	b = mk(8, 1, t); /* 1000 B/s, depth 1 */
	CU_ASSERT_EQUAL(bucket_allow(&b, 64 * KIB, t, &w), BUCKET_MIN_GRANT);
	bucket_consume(&b, 2001, t); /* tokens -2000 */
	t += S;                      /* +1000 at the old rate: -1000 */
	bucket_configure(&b, true, 80, 1, t); /* 10000 B/s, depth 10 */
	CU_ASSERT_EQUAL(b.tokens, -1000);
	CU_ASSERT_EQUAL(bucket_allow(&b, 1, t, &w), 0);
	CU_ASSERT_EQUAL(w, 100100000); /* 1001 bytes at 10000 B/s */

	/* and the other way: a lower rate does not take back time already
	 * credited, and applies to what follows */
	b = mk(80, 1000, t); /* 10000 B/s, depth 10000 */
	drain(&b, t, 64 * KIB);
	t += S / 2; /* +5000 */
	bucket_configure(&b, true, 8, 10000, t); /* 1000 B/s, depth 10000 */
	t += S / 2; /* +500 */
	got = drain(&b, t, 1);
	CU_ASSERT(got >= 5500 && got <= 5501);
}

/* Depth 1 byte, a 16 KiB record passes, then the wait is exactly
 * 16384 / rate; the smallest grant is BUCKET_MIN_GRANT, not one byte. */
static void test_debt(void)
{
	uint64_t w, t = T0;
	struct bucket b = mk(8, 1, t);

	CU_ASSERT_EQUAL(b.depth, 1);
	CU_ASSERT_EQUAL(bucket_allow(&b, 64 * KIB, t, &w), BUCKET_MIN_GRANT);
	bucket_consume(&b, 16384, t);
	CU_ASSERT_EQUAL(bucket_allow(&b, 64 * KIB, t, &w), 0);
	CU_ASSERT_EQUAL(w, 16384 * MS); /* 16384 bytes at 1000 B/s */
	CU_ASSERT_EQUAL(bucket_allow(&b, 64 * KIB, t + w - 1, &w), 0);
	CU_ASSERT_EQUAL(w, 1);
	CU_ASSERT(bucket_allow(&b, 64 * KIB, t + 16384 * MS, &w) > 0);

	/* burst_ms 0 still makes a 1-byte bucket; the same debt at every rate */
	for (size_t i = 0; i < N_RATES; i++) {
		t = T0;
		b = mk(rates[i], 0, t);
		CU_ASSERT_EQUAL(b.depth, 1);
		CU_ASSERT(bucket_allow(&b, 64 * KIB, t, &w) > 0);
		bucket_consume(&b, 16384, t);
		CU_ASSERT_EQUAL(bucket_allow(&b, 64 * KIB, t, &w), 0);
		uint64_t expect = (16384 * S + b.rate_Bps - 1) / b.rate_Bps;
		CU_ASSERT_EQUAL(w, expect);
	}

	/* an absurd debt: waits long, but correctly */
	t = T0;
	b = mk(8, 1, t);
	bucket_allow(&b, 1, t, &w);
	bucket_consume(&b, (size_t)1 << 40, t);
	CU_ASSERT_EQUAL(bucket_allow(&b, 1, t, &w), 0);
	CU_ASSERT_EQUAL(w, ((uint64_t)1 << 40) * MS);
}

/* 8 kbit/s x 1 ms with 16 KiB records keeps going at 1000 B/s. */
static void test_no_stall(void)
{
	uint64_t t = T0;
	struct bucket b = mk(8, 1, t);
	struct reader r = { .want = 64 * KIB, .unit = 16 * KIB };
	uint64_t bytes = run(&b, &r, &t, T0 + 1000 * S);

	CHECK_READER(r);

	/* a record every 16.384 s: 62 records by 1000 s */
	CU_ASSERT_EQUAL(bytes, 62 * 16384);
	CU_ASSERT(t - T0 >= 1000 * S && t - T0 <= 1000 * S + 16384 * MS);
	CU_ASSERT_EQUAL(b.waits, 62);
}

/*
 * Random asks, consumptions (up to a record more than granted), clock
 * steps (0, 1 ns, the wait, the wait - 1, up to 2 s) and reconfigurations:
 * a 0 answer always comes with a wait > 0, asking at exactly that time
 * grants, and asking 1 ns before it does not.
 */
static void test_wait_never_zero(void)
{
	uint64_t seed = 42, t = T0, w = 0, w2;
	struct bucket b = mk(8, 1, t);

	for (int i = 0; i < 200000; i++) {
		if (rnd(&seed) % 1000 == 0)
			bucket_configure(&b, rnd(&seed) % 8 != 0, rates[rnd(&seed) % N_RATES],
					 (uint32_t)(rnd(&seed) % 10001), t);
		size_t want = 1 + rnd(&seed) % (64 * KIB);
		size_t n = bucket_allow(&b, want, t, &w);
		CU_ASSERT_FATAL(n <= want);
		if (n == 0) {
			CU_ASSERT_FATAL(w > 0);
			/* on copies: the clock of b must not run ahead of t */
			struct bucket c = b;
			if (w > 1)
				CU_ASSERT_FATAL(bucket_allow(&c, want, t + w - 1, &w2) == 0);
			c = b;
			CU_ASSERT_FATAL(bucket_allow(&c, want, t + w, &w2) > 0);
		} else {
			bucket_consume(&b, n + (rnd(&seed) % 2 ? rnd(&seed) % (16 * KIB) : 0), t);
		}
		switch (rnd(&seed) % 5) {
		case 0: break;
		case 1: t += 1; break;
		case 2: t += n ? 0 : w; break;
		case 3: t += n || w < 1 ? 0 : w - 1; break;
		default: t += rnd(&seed) % (2 * S); break;
		}
	}
}

/* Disabled: everything passes, nothing waits, consumption leaves no debt;
 * enabling (again) starts with a full bucket. */
static void test_disabled_enable(void)
{
	uint64_t w = 7, t = T0;
	struct bucket b;

	bucket_init(&b, t);
	for (int i = 0; i < 1000; i++) {
		CU_ASSERT_EQUAL(bucket_allow(&b, SIZE_MAX, t, &w), SIZE_MAX);
		CU_ASSERT_EQUAL(bucket_allow(&b, 1, t, &w), 1);
		bucket_consume(&b, (size_t)1 << 40, t);
		t += i % 3;
	}
	CU_ASSERT_EQUAL(b.waits, 0);
	CU_ASSERT_EQUAL(bucket_allow(&b, 0, t, &w), 0);
	CU_ASSERT_EQUAL(w, 0);
	CU_ASSERT_EQUAL(bucket_allow(&b, 5, t, NULL), 5);

	/* first enable: full */
	bucket_configure(&b, true, 8, 10000, t); /* depth 10000 */
	CU_ASSERT_EQUAL(bucket_allow(&b, 64 * KIB, t, &w), 10000);
	bucket_consume(&b, 50000, t); /* deep debt */
	CU_ASSERT_EQUAL(bucket_allow(&b, 1, t, &w), 0);

	/* disabled again: passes at once; enabled again: full, debt gone */
	bucket_configure(&b, false, 8, 10000, t);
	CU_ASSERT_EQUAL(bucket_allow(&b, 64 * KIB, t, &w), 64 * KIB);
	bucket_consume(&b, 64 * KIB, t);
	t += 1;
	bucket_configure(&b, true, 8, 10000, t);
	CU_ASSERT_EQUAL(bucket_allow(&b, 64 * KIB, t, &w), 10000);

	/* an enabled -> enabled change does not refill */
	bucket_consume(&b, 10000, t);
	bucket_configure(&b, true, 16, 10000, t);
	CU_ASSERT_EQUAL(bucket_allow(&b, 1, t, &w), 0);
}

/* One wait per blocked episode, however often the caller asks. */
static void test_waits(void)
{
	uint64_t w, t = T0;
	struct bucket b = mk(8, 1, t);

	CU_ASSERT(bucket_allow(&b, 64 * KIB, t, &w) > 0);
	bucket_consume(&b, 4096, t);
	CU_ASSERT_EQUAL(b.waits, 0);
	for (int i = 0; i < 5; i++) {
		CU_ASSERT_EQUAL(bucket_allow(&b, 64 * KIB, t, &w), 0);
		t += w / 3;
	}
	CU_ASSERT_EQUAL(b.waits, 1);
	t += w;
	CU_ASSERT(bucket_allow(&b, 64 * KIB, t, &w) > 0);
	CU_ASSERT_EQUAL(b.waits, 1);
	bucket_consume(&b, 4096, t);
	CU_ASSERT_EQUAL(bucket_allow(&b, 64 * KIB, t, &w), 0);
	CU_ASSERT_EQUAL(bucket_allow(&b, 64 * KIB, t, &w), 0);
	CU_ASSERT_EQUAL(b.waits, 2);

	/* disabling ends the episode; enabling starts a fresh one */
	bucket_configure(&b, false, 8, 1, t);
	CU_ASSERT(bucket_allow(&b, 1, t, &w) > 0);
	bucket_configure(&b, true, 8, 1, t);
	CU_ASSERT(bucket_allow(&b, 64 * KIB, t, &w) > 0);
	bucket_consume(&b, 4096, t);
	CU_ASSERT_EQUAL(bucket_allow(&b, 64 * KIB, t, &w), 0);
	CU_ASSERT_EQUAL(b.waits, 3);
}

/*
 * Idle for an hour, a day, a year, 500 years, and (at the largest rate)
 * for each whole number of seconds just past k x 2^64 / rate, where a
 * seconds x rate product that is not capped first wraps around to less
 * than the depth; at the largest rate and depth and at the smallest, from
 * empty and from a debt, with the clock origin near the top of its range:
 * the bucket is exactly full after, and the rate right after is exact.
 */
static void test_long_idle(void)
{
	static const struct { uint32_t kbps, burst_ms; } cases[] = {
		{ 100000000, 10000 }, { 100000000, 1 }, { 8, 1 }, { 8, 10000 }, { 10000, 100 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t idles[32] = { 3600 * S, 86400 * S, 365 * 86400 * S,
				       500ull * 365 * 86400 * S };
		size_t n_idles = 4;
		uint64_t rate = cases[i].kbps * 125ull;
		for (unsigned k = 1; n_idles < 32; k++) {
			unsigned __int128 sec = (((unsigned __int128)k << 64) + rate - 1) / rate;
			if (sec * S > UINT64_MAX - 300 * S)
				break;
			idles[n_idles++] = (uint64_t)sec * S + 123;
		}
		if (rate == 12500000000ull)
			CU_ASSERT(n_idles == 16);

		for (size_t j = 0; j < n_idles; j++)
			for (int debt = 0; debt < 2; debt++) {
				uint64_t t = UINT64_MAX - idles[j] - 200 * S, w;
				struct bucket b = mk(cases[i].kbps, cases[i].burst_ms, t);
				uint64_t depth = (uint64_t)b.depth;

				CU_ASSERT_EQUAL(depth, rate * cases[i].burst_ms / 1000);
				bucket_allow(&b, 1, t, &w);
				bucket_consume(&b, debt ? depth + 16 * KIB : depth, t);
				CU_ASSERT_EQUAL(bucket_allow(&b, 1, t, &w), 0);
				t += idles[j];
				CU_ASSERT(bucket_allow(&b, 1, t, &w) == 1);
				if (b.tokens != b.depth)
					printf("\n  %u kbit/s x %u ms, idle %llu ns: %lld tokens\n",
					       cases[i].kbps, cases[i].burst_ms,
					       (unsigned long long)idles[j], (long long)b.tokens);
				CU_ASSERT_EQUAL(b.tokens, b.depth);

				/* still exact afterwards */
				bucket_consume(&b, depth, t);
				uint64_t t1 = t;
				struct reader r = { .want = 64 * KIB, .granule = 100000 };
				uint64_t bytes = run(&b, &r, &t, t1 + S);
				long double err = (long double)bytes - ideal(b.rate_Bps, t - t1);
				long double slop = (long double)(b.rate_Bps * 100001 / S + 2);
				CHECK_READER(r);
				CU_ASSERT(err <= 0 && err >= -slop);
			}
	}
}

/* The meter: bytes per 1 s window in bit/s, rolled by consume and by the
 * query; an empty window reads 0 once it rolls; measured when disabled. */
static void test_meter(void)
{
	for (int enabled = 0; enabled < 2; enabled++) {
		uint64_t t = T0;
		struct bucket b;

		bucket_init(&b, t);
		if (enabled)
			bucket_configure(&b, true, 100000, 100, t);
		bucket_consume(&b, 1000, t + 100 * MS);
		bucket_consume(&b, 24000, t + 900 * MS);
		CU_ASSERT_EQUAL(bucket_rate_bps(&b, t + 500 * MS), 0);
		CU_ASSERT_EQUAL(bucket_rate_bps(&b, t + 999 * MS), 0);
		CU_ASSERT_EQUAL(bucket_rate_bps(&b, t + S), 200000);
		CU_ASSERT_EQUAL(bucket_rate_bps(&b, t + 1500 * MS), 200000);
		bucket_consume(&b, 500, t + 1600 * MS);
		/* rolled by a consume, read later in the same window */
		bucket_consume(&b, 7, t + 2100 * MS);
		CU_ASSERT_EQUAL(bucket_rate_bps(&b, t + 2900 * MS), 4000);
		/* [2 s, 3 s) had 7 bytes; [3 s, 4 s) none */
		CU_ASSERT_EQUAL(bucket_rate_bps(&b, t + 3 * S), 56);
		CU_ASSERT_EQUAL(bucket_rate_bps(&b, t + 4 * S), 0);
		bucket_consume(&b, 5000, t + 4500 * MS);
		/* a long gap: the last full window was empty */
		CU_ASSERT_EQUAL(bucket_rate_bps(&b, t + 10 * S + 1), 0);
		bucket_consume(&b, 125, t + 10500 * MS);
		CU_ASSERT_EQUAL(bucket_rate_bps(&b, t + 11 * S), 1000);
	}

	/* a paced reader at 10 Mbit/s reads 10 Mbit/s, to a grant */
	uint64_t t = T0;
	struct bucket b = mk(10000, 10, t);
	struct reader r = { .want = 1 * KIB };
	for (int s = 1; s <= 10; s++) {
		run(&b, &r, &t, T0 + s * S);
		CHECK_READER(r);
		uint64_t bps = bucket_rate_bps(&b, t);
		if (s > 1)
			CU_ASSERT(bps >= 10000000 - 8 * KIB && bps <= 10000000 + 8 * KIB);
	}
}

int main(void)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 99;
	CU_pSuite s = CU_add_suite("limiter", NULL, NULL);
	CU_add_test(s, "exact long-run rate, 8 to 100000000 kbit/s", test_rate_exact);
	CU_add_test(s, "records, late timers, busy poller", test_rate_readers);
	CU_add_test(s, "burst after idle", test_burst);
	CU_add_test(s, "clamp and immediate effect on change", test_change);
	CU_add_test(s, "debt and the smallest depth", test_debt);
	CU_add_test(s, "8 kbit/s x 1 ms with 16 KiB records", test_no_stall);
	CU_add_test(s, "wait never 0, exact wake-up", test_wait_never_zero);
	CU_add_test(s, "disabled, enable starts full", test_disabled_enable);
	CU_add_test(s, "waits count blocked episodes", test_waits);
	CU_add_test(s, "long idle, no overflow", test_long_idle);
	CU_add_test(s, "rate meter", test_meter);
	return tu_run();
}
