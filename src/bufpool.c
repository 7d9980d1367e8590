/* SPDX-License-Identifier: MIT */
/*
 * bufpool.c - see bufpool.h.
 *
 * Two free lists (a buffer's first bytes link it), each capped, so that a
 * burst of sessions leaves at most a few megabytes behind, and a budget on
 * the bulk buffers lent out, so that many busy streams at once share a
 * bounded amount of bulk memory and the rest run on small buffers.
 */
#include "bufpool.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define SMALL_KEEP 64 /* free small buffers kept (1 MiB) */
#define BULK_KEEP 4   /* free bulk buffers kept (1 MiB) */

struct freebuf {
	struct freebuf *next;
};

struct bufpool {
	size_t bulk_budget;
	struct freebuf *small, *bulk;
	struct bufpool_stats st;
};

struct bufpool *bufpool_new(size_t bulk_budget)
{
	struct bufpool *p = calloc(1, sizeof(*p));

	if (!p)
		abort();
	p->bulk_budget = bulk_budget;
	return p;
}

static void drop_small(struct bufpool *p)
{
	while (p->small) {
		struct freebuf *f = p->small;
		p->small = f->next;
		free(f);
		p->st.small_free--;
	}
}

static void drop_bulk(struct bufpool *p)
{
	while (p->bulk) {
		struct freebuf *f = p->bulk;
		p->bulk = f->next;
		munmap(f, BUF_BULK);
		p->st.bulk_free--;
	}
}

void bufpool_free(struct bufpool *p)
{
	if (!p)
		return;
	drop_small(p);
	drop_bulk(p);
	free(p);
}

/*
 * glibc keeps up to 7 freed chunks of each small size (requests up to
 * 1032 bytes) in a per-thread cache that malloc_trim() does not touch.
 * After a burst they lie all over a heap that grew, each pinning its page
 * (measured: ~1 MiB of RSS after 500 streams, gone with the cache turned
 * off).  Take them out of the cache, let malloc_trim() consolidate, cut the
 * cache's new chunks from that consolidated space, and free the old ones
 * once the cache is full, so they reach malloc's bins and go back too.
 * Runs in the thread whose cache it is (the data thread's trim timer).
 */
#define TCACHE_SIZES 64
#define TCACHE_COUNT 7

static void malloc_give_back(void)
{
	void *old[TCACHE_SIZES][TCACHE_COUNT], *fresh[TCACHE_SIZES][TCACHE_COUNT]; /* 7 KiB of stack */

	for (size_t s = 0; s < TCACHE_SIZES; s++)
		for (size_t i = 0; i < TCACHE_COUNT; i++)
			old[s][i] = malloc(24 + 16 * s);
	malloc_trim(0);
	for (size_t s = 0; s < TCACHE_SIZES; s++)
		for (size_t i = 0; i < TCACHE_COUNT; i++)
			fresh[s][i] = malloc(24 + 16 * s);
	for (size_t s = 0; s < TCACHE_SIZES; s++)
		for (size_t i = 0; i < TCACHE_COUNT; i++)
			free(fresh[s][i]);
	for (size_t s = 0; s < TCACHE_SIZES; s++)
		for (size_t i = 0; i < TCACHE_COUNT; i++)
			free(old[s][i]);
	malloc_trim(0);
}

void bufpool_trim(struct bufpool *p)
{
	drop_small(p);
	drop_bulk(p);
	malloc_give_back();
}

void bufpool_stats(const struct bufpool *p, struct bufpool_stats *out)
{
	*out = p->st;
}

/* A buffer of size (BUF_SMALL or BUF_BULK), or NULL: out of memory, or
 * the bulk budget is spent (unless forced). */
static uint8_t *get_buf(struct bufpool *p, size_t size, bool force)
{
	struct freebuf *f;

	if (size == BUF_BULK) {
		if (!force && (p->st.bulk_used + 1) * BUF_BULK > p->bulk_budget)
			return NULL;
		if ((f = p->bulk) != NULL) {
			p->bulk = f->next;
			p->st.bulk_free--;
		} else {
			void *m = mmap(NULL, BUF_BULK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (m == MAP_FAILED)
				return NULL;
			f = m;
		}
		p->st.bulk_used++;
		return (uint8_t *)f;
	}
	if ((f = p->small) != NULL) {
		p->small = f->next;
		p->st.small_free--;
	} else if (!(f = malloc(BUF_SMALL))) {
		return NULL;
	}
	p->st.small_used++;
	return (uint8_t *)f;
}

static uint8_t *get(struct bufpool *p, size_t size)
{
	return get_buf(p, size, false);
}

static void put(struct bufpool *p, uint8_t *d, size_t size)
{
	struct freebuf *f = (struct freebuf *)(void *)d;

	if (size == BUF_BULK) {
		p->st.bulk_used--;
		if (p->st.bulk_free >= BULK_KEEP) {
			munmap(d, BUF_BULK);
			return;
		}
		f->next = p->bulk;
		p->bulk = f;
		p->st.bulk_free++;
		return;
	}
	p->st.small_used--;
	if (p->st.small_free >= SMALL_KEEP) {
		free(d);
		return;
	}
	f->next = p->small;
	p->small = f;
	p->st.small_free++;
}

bool pbuf_reserve(struct bufpool *p, struct pbuf *b)
{
	if (b->d)
		return true;
	b->d = b->bulk ? get(p, BUF_BULK) : NULL;
	b->cap = BUF_BULK;
	if (!b->d) {
		b->d = get(p, BUF_SMALL);
		b->cap = BUF_SMALL;
	}
	b->r = b->w = 0;
	return b->d != NULL;
}

bool pbuf_reserve_bulk(struct bufpool *p, struct pbuf *b)
{
	if (b->d && b->cap == BUF_BULK)
		return true;
	uint8_t *d = get_buf(p, BUF_BULK, true);
	if (!d)
		return false;
	if (b->d) {
		memcpy(d, b->d + b->r, pbuf_pending(b));
		b->w = pbuf_pending(b);
		b->r = 0;
		put(p, b->d, b->cap);
	} else {
		b->r = b->w = 0;
	}
	b->d = d;
	b->cap = BUF_BULK;
	b->bulk = true;
	return true;
}

void pbuf_grow(struct bufpool *p, struct pbuf *b)
{
	b->bulk = true;
	if (!b->d || b->cap == BUF_BULK)
		return;
	uint8_t *d = get(p, BUF_BULK);
	if (!d)
		return;
	memcpy(d, b->d + b->r, b->w - b->r);
	put(p, b->d, b->cap);
	b->d = d;
	b->cap = BUF_BULK;
	b->w -= b->r;
	b->r = 0;
}

void pbuf_produced(struct bufpool *p, struct pbuf *b, size_t offered, size_t n)
{
	if (n < BUF_SMALL / 4)
		b->bulk = false;
	else if (n == offered && b->d && b->w == b->cap)
		pbuf_grow(p, b); /* a small buffer filled up: the stream is bulk */
}

void pbuf_consumed(struct pbuf *b, size_t n)
{
	b->r += n;
	if (b->r == b->w) {
		b->r = b->w = 0;
	} else if (b->r > b->cap / 2) {
		memmove(b->d, b->d + b->r, b->w - b->r);
		b->w -= b->r;
		b->r = 0;
	}
}

void pbuf_settle(struct bufpool *p, struct pbuf *b)
{
	if (b->d && b->r == b->w)
		pbuf_release(p, b);
}

void pbuf_release(struct bufpool *p, struct pbuf *b)
{
	if (b->d)
		put(p, b->d, b->cap);
	b->d = NULL;
	b->cap = b->r = b->w = 0;
}
