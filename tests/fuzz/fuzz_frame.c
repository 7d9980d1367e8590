/* SPDX-License-Identifier: MIT */
/*
 * fuzz_frame.c - the tun transport's frame decoder, fed the same stream
 * whole and cut into fuzzer-chosen chunks.
 *
 * Input: byte 0 and 1 seed the chunk sizes (1..256 bytes, from a small
 * PRNG), the rest is the stream.  Invariants (abort() when broken): both
 * feedings give the same frames (type, length, payload bytes) in the same
 * order and end in the same state (the same error, or none); an error is
 * sticky (a later call returns it and consumes nothing); no frame exceeds
 * its ceiling; every frame's stream offset adds up.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"

#define MAX_FRAMES 4096

struct seen {
	int type;
	size_t len;
	uint32_t sum; /* of the payload */
};

static uint32_t sum(const uint8_t *p, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

/* Decode data in chunks from next_len (NULL: one chunk); returns the
 * number of frames, the final result in *err. */
static size_t decode(const uint8_t *data, size_t size, uint32_t seed, int chunked, struct seen *out, int *err)
{
	struct frame_decoder d;
	size_t n = 0, off = 0;
	int r = 0;

	frame_decoder_init(&d);
	while (off < size && r >= 0) {
		size_t len = size - off;
		if (chunked) {
			seed = seed * 1103515245u + 12345u;
			len = 1 + (seed >> 16) % 256;
			if (len > size - off)
				len = size - off;
		}
		const uint8_t *p = data + off;
		size_t left = len;
		struct frame f;
		while ((r = frame_decode(&d, &p, &left, &f)) > 0) {
			if (f.len > (f.type == FRAME_DATA ? (size_t)FRAME_MAX_PAYLOAD : (size_t)FRAME_MAX_CONTROL))
				abort();
			if (n < MAX_FRAMES)
				out[n] = (struct seen){ f.type, f.len, sum(f.payload, f.len) };
			n++;
		}
		if (r < 0) {
			/* sticky: nothing more is consumed, the same error again */
			const uint8_t *q = p;
			size_t l2 = left;
			struct frame g;
			if (frame_decode(&d, &q, &l2, &g) != r || q != p || l2 != left)
				abort();
			break;
		}
		if (left != 0) /* r == 0 means the chunk is used up */
			abort();
		off += len;
	}
	if (r >= 0 && d.offset != size)
		abort();
	*err = r < 0 ? r : 0;
	frame_decoder_free(&d);
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct seen a[MAX_FRAMES], b[MAX_FRAMES];
	int ea, eb;

	if (size < 2)
		return 0;
	uint32_t seed = (uint32_t)data[0] << 8 | data[1];
	size_t na = decode(data + 2, size - 2, seed, 0, a, &ea);
	size_t nb = decode(data + 2, size - 2, seed, 1, b, &eb);
	if (na != nb || ea != eb)
		abort();
	for (size_t i = 0; i < na && i < MAX_FRAMES; i++)
		if (a[i].type != b[i].type || a[i].len != b[i].len || a[i].sum != b[i].sum)
			abort();
	return 0;
}
