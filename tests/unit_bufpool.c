/* SPDX-License-Identifier: MIT */
/*
 * unit_bufpool.c - buffers that follow the traffic: a stream starts on a
 * small buffer, a full one grows to bulk with its content, a trickle goes
 * back to small, the bulk budget is never exceeded, an empty buffer goes
 * back to the pool and a non-empty one never does, and the pool keeps only
 * a few free buffers.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "bufpool.h"
#include "testutil.h"

static struct bufpool_stats stats(const struct bufpool *p)
{
	struct bufpool_stats st;

	bufpool_stats(p, &st);
	return st;
}

/* Produce n bytes of pattern into b as a reader offered its whole space. */
static void fill(struct bufpool *p, struct pbuf *b, size_t n, uint8_t mark)
{
	CU_ASSERT_FATAL(pbuf_reserve(p, b));
	size_t offered = pbuf_space(b);
	CU_ASSERT_FATAL(n <= offered);
	memset(b->d + b->w, mark, n);
	b->w += n;
	pbuf_produced(p, b, offered, n);
}

static void test_grow_and_shrink(void)
{
	struct bufpool *p = bufpool_new(4 * BUF_BULK);
	struct pbuf b = { 0 };

	CU_ASSERT_EQUAL(pbuf_space(&b), 0);
	CU_ASSERT_EQUAL(pbuf_room(&b), BUF_SMALL);
	fill(p, &b, 100, 'a');
	CU_ASSERT_EQUAL(b.cap, BUF_SMALL);
	CU_ASSERT_EQUAL(stats(p).small_used, 1);
	/* consume some, then fill the rest: the buffer grows, content kept */
	pbuf_consumed(&b, 40);
	size_t rest = pbuf_space(&b);
	fill(p, &b, rest, 'b');
	CU_ASSERT_EQUAL(b.cap, BUF_BULK);
	CU_ASSERT(b.bulk);
	CU_ASSERT_EQUAL(pbuf_pending(&b), 60 + rest);
	CU_ASSERT_EQUAL(b.d[b.r], 'a');
	CU_ASSERT_EQUAL(b.d[b.r + 59], 'a');
	CU_ASSERT_EQUAL(b.d[b.r + 60], 'b');
	CU_ASSERT_EQUAL(stats(p).small_used, 0);
	CU_ASSERT_EQUAL(stats(p).bulk_used, 1);
	/* not empty: settling keeps it */
	pbuf_settle(p, &b);
	CU_ASSERT_PTR_NOT_NULL(b.d);
	pbuf_consumed(&b, pbuf_pending(&b));
	pbuf_settle(p, &b);
	CU_ASSERT_PTR_NULL(b.d);
	CU_ASSERT_EQUAL(stats(p).bulk_used, 0);
	CU_ASSERT_EQUAL(stats(p).bulk_free, 1);
	/* the stream is still bulk: the next buffer is a bulk one */
	fill(p, &b, BUF_SMALL, 'c');
	CU_ASSERT_EQUAL(b.cap, BUF_BULK);
	/* a trickle: the next one is small again */
	fill(p, &b, 10, 'd');
	CU_ASSERT(!b.bulk);
	pbuf_consumed(&b, pbuf_pending(&b));
	pbuf_settle(p, &b);
	fill(p, &b, 10, 'e');
	CU_ASSERT_EQUAL(b.cap, BUF_SMALL);
	pbuf_release(p, &b);
	CU_ASSERT_EQUAL(stats(p).small_used + stats(p).bulk_used, 0);
	bufpool_free(p);
}

/* Many bulk streams at once share the budget; the rest stay small. */
static void test_budget(void)
{
	enum { N = 8 };
	struct bufpool *p = bufpool_new(3 * BUF_BULK);
	struct pbuf b[N] = { 0 };

	for (int i = 0; i < N; i++) {
		fill(p, &b[i], BUF_SMALL, (uint8_t)i);
		CU_ASSERT(b[i].bulk);
		CU_ASSERT_EQUAL(b[i].cap, i < 3 ? BUF_BULK : BUF_SMALL);
		CU_ASSERT_EQUAL(pbuf_pending(&b[i]), BUF_SMALL);
		CU_ASSERT_EQUAL(b[i].d[BUF_SMALL - 1], i);
	}
	CU_ASSERT_EQUAL(stats(p).bulk_used, 3);
	/* one gives its bulk buffer back: another stream may grow */
	pbuf_release(p, &b[0]);
	pbuf_consumed(&b[5], BUF_SMALL);
	pbuf_settle(p, &b[5]);
	fill(p, &b[5], 1000, 'x');
	CU_ASSERT_EQUAL(b[5].cap, BUF_BULK);
	for (int i = 0; i < N; i++)
		pbuf_release(p, &b[i]);
	CU_ASSERT_EQUAL(stats(p).bulk_used, 0);
	CU_ASSERT_EQUAL(stats(p).small_used, 0);
	bufpool_free(p);
}

/* A burst leaves at most a few free buffers behind, and trim drops those. */
static void test_free_lists_capped(void)
{
	enum { N = 200 };
	static struct pbuf b[N];
	struct bufpool *p = bufpool_new(N * BUF_BULK);

	for (int i = 0; i < N; i++) {
		memset(&b[i], 0, sizeof(b[i]));
		b[i].bulk = i % 2;
		CU_ASSERT_FATAL(pbuf_reserve(p, &b[i]));
	}
	CU_ASSERT_EQUAL(stats(p).bulk_used, N / 2);
	CU_ASSERT_EQUAL(stats(p).small_used, N / 2);
	for (int i = 0; i < N; i++)
		pbuf_settle(p, &b[i]);
	struct bufpool_stats st = stats(p);
	CU_ASSERT_EQUAL(st.bulk_used + st.small_used, 0);
	CU_ASSERT(st.bulk_free <= 4);
	CU_ASSERT(st.small_free <= 64);
	CU_ASSERT(st.bulk_free > 0 && st.small_free > 0);
	bufpool_trim(p);
	st = stats(p);
	CU_ASSERT_EQUAL(st.bulk_free + st.small_free, 0);
	bufpool_free(p);
}

int main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 99;
	s = CU_add_suite("bufpool", NULL, NULL);
	CU_add_test(s, "small, grow to bulk, back to small", test_grow_and_shrink);
	CU_add_test(s, "the bulk budget", test_budget);
	CU_add_test(s, "free lists capped, trim", test_free_lists_capped);
	return tu_run();
}
