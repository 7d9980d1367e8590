/* SPDX-License-Identifier: MIT */
/*
 * bufpool.h - buffers that follow the traffic.
 *
 * A stream holds a buffer only while bytes wait in it: it takes one from
 * the pool when it has something to put there and gives it back as soon
 * as it is empty again, so an idle session holds none.  A buffer starts
 * small (BUF_SMALL); one that fills up is swapped for a bulk one
 * (BUF_BULK, content kept) while the pool's bulk budget allows, and the
 * stream keeps taking bulk buffers until a fill comes in small again.
 * Bulk buffers are mapped pages, returned to the system when the pool's
 * free list is full; small ones come from malloc.  bufpool_trim() gives
 * every free buffer back and asks malloc to return its free pages (the
 * session layer calls it after a quiet period).
 *
 * One pool per thread (the data plane's); nothing here is thread-safe.
 */
#ifndef SSS_BUFPOOL_H
#define SSS_BUFPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BUF_SMALL (16 * 1024)
#define BUF_BULK (256 * 1024)

struct bufpool;

/* A pool whose bulk buffers in use take at most bulk_budget bytes. */
struct bufpool *bufpool_new(size_t bulk_budget);
/* Every buffer must have been given back. */
void bufpool_free(struct bufpool *p);
/* Give the free buffers back to the system, then malloc_trim(). */
void bufpool_trim(struct bufpool *p);

struct bufpool_stats {
	size_t small_used, bulk_used; /* buffers lent out */
	size_t small_free, bulk_free; /* kept for reuse */
};
void bufpool_stats(const struct bufpool *p, struct bufpool_stats *out);

/* A stream's buffer: d is NULL while it holds none. */
struct pbuf {
	uint8_t *d;
	size_t cap, r, w; /* consume from r, produce at w */
	bool bulk;        /* the stream is bulk: take a bulk buffer next time */
};

static inline size_t pbuf_pending(const struct pbuf *b)
{
	return b->w - b->r;
}

/* Room to produce into now (0 without a buffer). */
static inline size_t pbuf_space(const struct pbuf *b)
{
	return b->d ? b->cap - b->w : 0;
}

/* Room a producer may count on: the space, or what pbuf_reserve gives. */
static inline size_t pbuf_room(const struct pbuf *b)
{
	return b->d ? b->cap - b->w : BUF_SMALL;
}

/* Make sure b has a buffer (bulk when b->bulk and the budget allows).
 * false: out of memory. */
bool pbuf_reserve(struct bufpool *p, struct pbuf *b);
/* A bulk buffer for b even past the budget (a queue that must hold a
 * 64 KiB packet).  false: out of memory. */
bool pbuf_reserve_bulk(struct bufpool *p, struct pbuf *b);
/* b is full and its producer has more: a small buffer becomes a bulk one
 * (content kept) when the budget allows, and the stream counts as bulk. */
void pbuf_grow(struct bufpool *p, struct pbuf *b);
/* offered bytes of room were offered to a producer and n came: a full
 * buffer grows to bulk (content kept, when the budget allows), a trickle
 * makes the next buffer small again. */
void pbuf_produced(struct bufpool *p, struct pbuf *b, size_t offered, size_t n);
/* n bytes consumed from b: it starts again at the front when empty, or
 * moves the rest there when the tail is short. */
void pbuf_consumed(struct pbuf *b, size_t n);
/* Give b's buffer back if it is empty. */
void pbuf_settle(struct bufpool *p, struct pbuf *b);
/* Give b's buffer back, whatever it holds (the stream is closing). */
void pbuf_release(struct bufpool *p, struct pbuf *b);

#endif
