/* SPDX-License-Identifier: MIT */
/*
 * unit_frame.c - the tun transport's framing and the address helpers it
 * shares with tun.c: round trips of every frame type, a multi-frame stream
 * cut at every byte boundary and fed one byte at a time, every error class
 * at its exact edge (the 64 KiB + 10 ceiling accepted, one byte more
 * refused), sticky errors, seeded garbage, and CIDR parsing / prefix
 * matching / packet addresses.  No root, no I/O.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <CUnit/Basic.h>

#include "frame.h"
#include "testutil.h"
#include "tun.h"

/* ---- helpers -------------------------------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 11);
}

/* A DATA payload of n bytes: zero virtio header, then an IP packet of the
 * given version (header fields plausible, the rest a pattern). */
static uint8_t *data_payload(size_t n, int version)
{
	uint8_t *p = calloc(1, n ? n : 1);

	for (size_t i = FRAME_VNET_LEN; i < n; i++)
		p[i] = (uint8_t)(i * 7 + 3);
	if (n > FRAME_VNET_LEN)
		p[FRAME_VNET_LEN] = (uint8_t)(version << 4 | (version == 4 ? 5 : 0));
	return p;
}

/* Everything one decoder run produced, for comparison. */
struct got {
	int type[64];
	size_t len[64];
	uint8_t *payload[64];
	int n;
	int err;
};

static void got_free(struct got *g)
{
	for (int i = 0; i < g->n; i++)
		free(g->payload[i]);
	memset(g, 0, sizeof(*g));
}

/* Feed buf to d in chunks at the given cut points (sorted, within len),
 * recording the frames (copied, since payloads are transient). */
static void feed_cuts(struct frame_decoder *d, const uint8_t *buf, size_t len, const size_t *cuts,
		      int ncuts, struct got *g)
{
	size_t from = 0;

	for (int c = 0; c <= ncuts; c++) {
		size_t to = c < ncuts ? cuts[c] : len;
		const uint8_t *p = buf + from;
		size_t left = to - from;
		struct frame f;
		int r;

		while ((r = frame_decode(d, &p, &left, &f)) > 0) {
			if (g->n < 64) {
				g->type[g->n] = f.type;
				g->len[g->n] = f.len;
				g->payload[g->n] = malloc(f.len ? f.len : 1);
				memcpy(g->payload[g->n], f.payload, f.len);
				g->n++;
			}
		}
		if (r < 0) {
			g->err = r;
			return;
		}
		if (left != 0) { /* 0 means "used it all" */
			g->err = 1;
			return;
		}
		from = to;
	}
}

/* Decode one whole buffer as a single chunk; returns the first error or
 * the number of frames. */
static int decode_all(const uint8_t *buf, size_t len, struct frame_decoder *d)
{
	struct got g = { 0 };
	int r;

	feed_cuts(d, buf, len, NULL, 0, &g);
	r = g.err ? g.err : g.n;
	got_free(&g);
	return r;
}

/* A single frame made of an arbitrary header and payload, decoded alone. */
static int decode_one(int type, size_t len, const uint8_t *payload, char *msg, size_t msglen)
{
	uint8_t *buf = calloc(1, FRAME_HDR_LEN + len);
	struct frame_decoder d;
	int r;

	buf[0] = (uint8_t)type;
	buf[1] = (uint8_t)(len >> 16);
	buf[2] = (uint8_t)(len >> 8);
	buf[3] = (uint8_t)len;
	if (len && payload)
		memcpy(buf + FRAME_HDR_LEN, payload, len);
	frame_decoder_init(&d);
	r = decode_all(buf, FRAME_HDR_LEN + len, &d);
	if (msg)
		snprintf(msg, msglen, "%s", d.msg);
	frame_decoder_free(&d);
	free(buf);
	return r;
}

/* ---- the test stream ------------------------------------------------ */

struct stream {
	uint8_t *buf;
	size_t len;
	int n;
	int type[16];
	size_t plen[16];
	size_t at[16]; /* payload offsets in buf */
};

static void stream_add(struct stream *s, enum frame_type type, const void *payload, size_t len)
{
	ssize_t w;

	s->buf = realloc(s->buf, s->len + FRAME_HDR_LEN + len);
	w = frame_encode(s->buf + s->len, FRAME_HDR_LEN + len, type, payload, len);
	CU_ASSERT_EQUAL_FATAL(w, (ssize_t)(FRAME_HDR_LEN + len));
	s->at[s->n] = s->len + FRAME_HDR_LEN;
	s->type[s->n] = type;
	s->plen[s->n] = len;
	s->n++;
	s->len += FRAME_HDR_LEN + len;
}

/* Several frames of every type, small enough to cut everywhere cheaply;
 * big adds a DATA frame exactly at the ceiling. */
static void make_stream(struct stream *s, bool big)
{
	uint8_t *d4 = data_payload(FRAME_MIN_DATA, 4), *d6 = data_payload(1000, 6);
	uint8_t hello[32];
	ssize_t h = frame_encode_hello(hello, sizeof(hello), "10.9.0.2/24");

	memset(s, 0, sizeof(*s));
	CU_ASSERT_FATAL(h > 0);
	stream_add(s, FRAME_HELLO, hello + FRAME_HDR_LEN, (size_t)h - FRAME_HDR_LEN);
	stream_add(s, FRAME_WELCOME, "10.9.0.1/24", 11);
	stream_add(s, FRAME_PING, "", 0);
	stream_add(s, FRAME_DATA, d4, FRAME_MIN_DATA);
	stream_add(s, FRAME_PONG, "12345678", 8);
	stream_add(s, FRAME_DATA, d6, 1000);
	if (big) {
		uint8_t *dmax = data_payload(FRAME_MAX_PAYLOAD, 4);

		stream_add(s, FRAME_DATA, dmax, FRAME_MAX_PAYLOAD);
		free(dmax);
	}
	stream_add(s, FRAME_WELCOME, "", 0);
	stream_add(s, FRAME_REFUSE, "address 10.9.0.2 taken", 22);
	free(d4);
	free(d6);
}

static bool got_matches(const struct got *g, const struct stream *s)
{
	if (g->err || g->n != s->n)
		return false;
	for (int i = 0; i < s->n; i++)
		if (g->type[i] != s->type[i] || g->len[i] != s->plen[i] ||
		    memcmp(g->payload[i], s->buf + s->at[i], s->plen[i]) != 0)
			return false;
	return true;
}

/* ---- round trips ---------------------------------------------------- */

static void test_roundtrip_types(void)
{
	struct stream s;
	struct frame_decoder d;
	struct got g = { 0 };

	make_stream(&s, true);
	frame_decoder_init(&d);
	feed_cuts(&d, s.buf, s.len, NULL, 0, &g);
	CU_ASSERT_TRUE(got_matches(&g, &s));
	CU_ASSERT_EQUAL(d.frames, (uint64_t)s.n);
	CU_ASSERT_EQUAL(d.offset, (uint64_t)s.len);
	CU_ASSERT_PTR_NULL(d.buf); /* one chunk: nothing was copied */
	got_free(&g);
	frame_decoder_free(&d);
	free(s.buf);
}

static void test_hello_welcome_contents(void)
{
	uint8_t buf[64];
	const uint8_t *p = buf;
	size_t left;
	struct frame_decoder d;
	struct frame f;
	struct tun_prefix pfx, want;
	uint8_t ver = 0;
	char txt[64];
	ssize_t n = frame_encode_hello(buf, sizeof(buf), "fd00:9::2/64");

	CU_ASSERT_FATAL(n > 0);
	CU_ASSERT_EQUAL(buf[FRAME_HDR_LEN], FRAME_PROTO_VERSION);
	left = (size_t)n;
	frame_decoder_init(&d);
	CU_ASSERT_EQUAL_FATAL(frame_decode(&d, &p, &left, &f), 1);
	CU_ASSERT_EQUAL(f.type, FRAME_HELLO);
	CU_ASSERT_EQUAL(frame_parse_hello(&f, &ver, &pfx), 0);
	CU_ASSERT_EQUAL(ver, FRAME_PROTO_VERSION);
	CU_ASSERT_EQUAL(tun_parse_cidr("fd00:9::2/64", &want), 0);
	CU_ASSERT_TRUE(tun_addr_equal(&pfx.addr, &want.addr));
	CU_ASSERT_EQUAL(pfx.len, 64);
	CU_ASSERT_EQUAL(frame_parse_welcome(&f, &pfx), FRAME_E_CONTROL); /* wrong type */

	n = frame_encode_welcome(buf, sizeof(buf), "10.9.0.1/24");
	p = buf;
	left = (size_t)n;
	CU_ASSERT_EQUAL_FATAL(frame_decode(&d, &p, &left, &f), 1);
	CU_ASSERT_EQUAL(frame_parse_welcome(&f, &pfx), 1);
	CU_ASSERT_STRING_EQUAL(tun_addr_str(&pfx.addr, txt, sizeof(txt)), "10.9.0.1");
	CU_ASSERT_EQUAL(pfx.len, 24);
	CU_ASSERT_EQUAL(frame_parse_hello(&f, &ver, &pfx), FRAME_E_HELLO); /* wrong type */

	n = frame_encode_welcome(buf, sizeof(buf), NULL);
	CU_ASSERT_EQUAL(n, FRAME_HDR_LEN);
	p = buf;
	left = (size_t)n;
	CU_ASSERT_EQUAL_FATAL(frame_decode(&d, &p, &left, &f), 1);
	CU_ASSERT_EQUAL(frame_parse_welcome(&f, &pfx), 0);

	n = frame_encode(buf, sizeof(buf), FRAME_REFUSE, "not in subnet", 13);
	p = buf;
	left = (size_t)n;
	CU_ASSERT_EQUAL_FATAL(frame_decode(&d, &p, &left, &f), 1);
	CU_ASSERT_STRING_EQUAL(frame_text(&f, txt, sizeof(txt)), "not in subnet");
	CU_ASSERT_STRING_EQUAL(frame_text(&f, txt, 4), "not");
	frame_decoder_free(&d);
}

/* ---- chunking ------------------------------------------------------- */

static void test_split_every_boundary(void)
{
	struct stream s;
	int bad = 0;

	make_stream(&s, false);
	for (size_t k = 0; k <= s.len; k++) {
		struct frame_decoder d;
		struct got g = { 0 };

		frame_decoder_init(&d);
		feed_cuts(&d, s.buf, s.len, &k, 1, &g);
		if (!got_matches(&g, &s) || d.hdr_have != 0 || d.have != 0)
			bad++;
		got_free(&g);
		frame_decoder_free(&d);
	}
	CU_ASSERT_EQUAL(bad, 0);
	/* and every pair of cuts: each frame may straddle two boundaries */
	bad = 0;
	for (size_t a = 0; a <= s.len; a += 3) {
		for (size_t b = a; b <= s.len; b++) {
			size_t cuts[2] = { a, b };
			struct frame_decoder d;
			struct got g = { 0 };

			frame_decoder_init(&d);
			feed_cuts(&d, s.buf, s.len, cuts, 2, &g);
			bad += !got_matches(&g, &s);
			got_free(&g);
			frame_decoder_free(&d);
		}
	}
	CU_ASSERT_EQUAL(bad, 0);
	free(s.buf);
}

/* The stream with the ceiling-sized frame, one byte at a time, then cut
 * around that frame's edges and at random. */
static void test_split_big(void)
{
	struct stream s;
	struct frame_decoder d;
	struct got g = { 0 };
	size_t *cuts;
	size_t big_at = 0;
	int i;

	make_stream(&s, true);
	cuts = malloc(s.len * sizeof(*cuts));
	for (size_t k = 0; k < s.len; k++)
		cuts[k] = k;
	frame_decoder_init(&d);
	feed_cuts(&d, s.buf, s.len, cuts, (int)s.len, &g);
	CU_ASSERT_TRUE(got_matches(&g, &s));
	CU_ASSERT_PTR_NOT_NULL(d.buf); /* straddling frames were gathered */
	got_free(&g);
	frame_decoder_free(&d);

	for (i = 0; i < s.n; i++)
		if (s.plen[i] == FRAME_MAX_PAYLOAD)
			big_at = s.at[i] - FRAME_HDR_LEN;
	CU_ASSERT_FATAL(big_at > 0);
	for (long delta = -2; delta <= FRAME_HDR_LEN + 2; delta++) {
		size_t cut[2] = { big_at + (size_t)delta, big_at + FRAME_HDR_LEN + FRAME_MAX_PAYLOAD -
							       (size_t)(delta < 0 ? 0 : delta) };

		frame_decoder_init(&d);
		feed_cuts(&d, s.buf, s.len, cut, 2, &g);
		CU_ASSERT_TRUE(got_matches(&g, &s));
		got_free(&g);
		frame_decoder_free(&d);
	}
	for (i = 0; i < 50; i++) { /* random chunk sizes, as SSL_read returns them */
		int n = 0;

		for (size_t at = rng() % 5000; at < s.len && n < 200; at += 1 + rng() % 20000)
			cuts[n++] = at;
		frame_decoder_init(&d);
		feed_cuts(&d, s.buf, s.len, cuts, n, &g);
		CU_ASSERT_TRUE(got_matches(&g, &s));
		got_free(&g);
		frame_decoder_free(&d);
	}
	free(cuts);
	free(s.buf);
}

/* In place when whole, in the decoder's buffer when straddling. */
static void test_zero_copy(void)
{
	uint8_t buf[FRAME_HDR_LEN + 64];
	uint8_t *pl = data_payload(64, 4);
	const uint8_t *p = buf;
	size_t left;
	struct frame_decoder d;
	struct frame f;

	CU_ASSERT_EQUAL(frame_encode(buf, sizeof(buf), FRAME_DATA, pl, 64), (ssize_t)sizeof(buf));
	frame_decoder_init(&d);
	left = sizeof(buf);
	CU_ASSERT_EQUAL(frame_decode(&d, &p, &left, &f), 1);
	CU_ASSERT_PTR_EQUAL(f.payload, buf + FRAME_HDR_LEN);
	CU_ASSERT_EQUAL(left, 0);
	CU_ASSERT_EQUAL(frame_decode(&d, &p, &left, &f), 0);

	p = buf;
	left = 10;
	CU_ASSERT_EQUAL(frame_decode(&d, &p, &left, &f), 0);
	left = sizeof(buf) - 10;
	CU_ASSERT_EQUAL(frame_decode(&d, &p, &left, &f), 1);
	CU_ASSERT_PTR_EQUAL(f.payload, d.buf);
	CU_ASSERT_EQUAL(memcmp(f.payload, pl, 64), 0);

	/* header split, payload whole in the second chunk: still in place */
	p = buf;
	left = 2;
	CU_ASSERT_EQUAL(frame_decode(&d, &p, &left, &f), 0);
	left = sizeof(buf) - 2;
	CU_ASSERT_EQUAL(frame_decode(&d, &p, &left, &f), 1);
	CU_ASSERT_PTR_EQUAL(f.payload, buf + FRAME_HDR_LEN);
	frame_decoder_free(&d);
	free(pl);
}

/* ---- encoder -------------------------------------------------------- */

static void test_encoder(void)
{
	uint8_t *buf = malloc(FRAME_HDR_LEN + FRAME_MAX_PAYLOAD + 1);
	uint8_t small[8];

	/* the data plane's pattern: payload already behind a 4-byte gap */
	memset(buf + FRAME_HDR_LEN, 0x45, 100);
	CU_ASSERT_EQUAL(frame_put_header(buf, FRAME_DATA, 100), 0);
	CU_ASSERT_EQUAL(buf[0], 1);
	CU_ASSERT_EQUAL(buf[1], 0);
	CU_ASSERT_EQUAL(buf[2], 0);
	CU_ASSERT_EQUAL(buf[3], 100);
	CU_ASSERT_EQUAL(buf[4], 0x45);
	CU_ASSERT_EQUAL(frame_put_header(buf, FRAME_DATA, FRAME_MAX_PAYLOAD), 0);
	CU_ASSERT_EQUAL(buf[1], 0x01); /* 65546 = 0x01000a */
	CU_ASSERT_EQUAL(buf[2], 0x00);
	CU_ASSERT_EQUAL(buf[3], 0x0a);
	memset(buf, 0xee, 4);
	CU_ASSERT_EQUAL(frame_put_header(buf, FRAME_DATA, FRAME_MAX_PAYLOAD + 1), FRAME_E_OVERSIZE);
	CU_ASSERT_EQUAL(frame_put_header(buf, FRAME_PING, FRAME_MAX_CONTROL + 1), FRAME_E_OVERSIZE);
	CU_ASSERT_EQUAL(frame_put_header(buf, (enum frame_type)0, 1), FRAME_E_TYPE);
	CU_ASSERT_EQUAL(frame_put_header(buf, (enum frame_type)7, 1), FRAME_E_TYPE);
	CU_ASSERT_EQUAL(buf[0], 0xee); /* nothing written on refusal */

	CU_ASSERT_EQUAL(frame_encode(small, sizeof(small), FRAME_PING, "12345", 5), FRAME_E_NOSPACE);
	CU_ASSERT_EQUAL(frame_encode(small, sizeof(small), FRAME_PING, "1234", 4), 8);
	CU_ASSERT_EQUAL(frame_encode(small, 3, FRAME_PING, "", 0), FRAME_E_NOSPACE);
	CU_ASSERT_EQUAL(frame_encode_hello(buf, 64, "10.0.0.1"), FRAME_E_HELLO);
	CU_ASSERT_EQUAL(frame_encode_hello(buf, 64, NULL), FRAME_E_HELLO);
	CU_ASSERT_EQUAL(frame_encode_hello(small, sizeof(small), "10.0.0.1/8"), FRAME_E_NOSPACE);
	CU_ASSERT_EQUAL(frame_encode_welcome(buf, 64, "nonsense"), FRAME_E_CONTROL);
	free(buf);
}

/* ---- errors --------------------------------------------------------- */

static void test_oversize(void)
{
	uint8_t *pl = data_payload(FRAME_MAX_PAYLOAD + 1, 4);
	uint8_t hdr[FRAME_HDR_LEN] = { FRAME_DATA, 0x01, 0x00, 0x0b }; /* 65547 */
	struct frame_decoder d;
	const uint8_t *p = hdr;
	size_t left = sizeof(hdr);
	struct frame f;
	char msg[256];

	CU_ASSERT_EQUAL(decode_one(FRAME_DATA, FRAME_MAX_PAYLOAD, pl, NULL, 0), 1);
	CU_ASSERT_EQUAL(decode_one(FRAME_DATA, FRAME_MAX_PAYLOAD + 1, pl, msg, sizeof(msg)),
			FRAME_E_OVERSIZE);
	CU_ASSERT_PTR_NOT_NULL(strstr(msg, "65547"));
	CU_ASSERT_EQUAL(decode_one(FRAME_DATA, 0xffffff, NULL, NULL, 0), FRAME_E_OVERSIZE);
	/* refused on the header alone, before 64 KiB of payload is waited for */
	frame_decoder_init(&d);
	CU_ASSERT_EQUAL(frame_decode(&d, &p, &left, &f), FRAME_E_OVERSIZE);
	CU_ASSERT_PTR_NULL(d.buf);
	frame_decoder_free(&d);
	/* control frames have their own, smaller ceiling */
	CU_ASSERT_EQUAL(decode_one(FRAME_PING, FRAME_MAX_CONTROL, pl, NULL, 0), 1);
	CU_ASSERT_EQUAL(decode_one(FRAME_PING, FRAME_MAX_CONTROL + 1, pl, NULL, 0), FRAME_E_OVERSIZE);
	CU_ASSERT_EQUAL(decode_one(FRAME_REFUSE, FRAME_MAX_CONTROL + 1, NULL, NULL, 0),
			FRAME_E_OVERSIZE);
	free(pl);
}

static void test_unknown_type(void)
{
	static const int types[] = { 0, 7, 8, 0x45, 0x80, 0xff };
	char msg[256];

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		CU_ASSERT_EQUAL(decode_one(types[i], 0, NULL, msg, sizeof(msg)), FRAME_E_TYPE);
		CU_ASSERT_PTR_NOT_NULL(strstr(msg, "unknown type"));
	}
	for (int t = FRAME_PING; t <= FRAME_PONG; t++)
		CU_ASSERT_EQUAL(decode_one(t, 0, NULL, NULL, 0), 1);
}

static void test_short_data(void)
{
	uint8_t *v4 = data_payload(100, 4), *v6 = data_payload(100, 6);
	uint8_t hdr[FRAME_HDR_LEN] = { FRAME_DATA, 0, 0, FRAME_MIN_DATA - 1 };
	const uint8_t *p = hdr;
	size_t left = sizeof(hdr);
	struct frame_decoder d;
	struct frame f;

	/* refused on the header alone */
	frame_decoder_init(&d);
	CU_ASSERT_EQUAL(frame_decode(&d, &p, &left, &f), FRAME_E_SHORT);
	frame_decoder_free(&d);
	CU_ASSERT_EQUAL(decode_one(FRAME_DATA, 0, NULL, NULL, 0), FRAME_E_SHORT);
	CU_ASSERT_EQUAL(decode_one(FRAME_DATA, FRAME_VNET_LEN, v4, NULL, 0), FRAME_E_SHORT);
	CU_ASSERT_EQUAL(decode_one(FRAME_DATA, FRAME_MIN_DATA - 1, v4, NULL, 0), FRAME_E_SHORT);
	CU_ASSERT_EQUAL(decode_one(FRAME_DATA, FRAME_MIN_DATA, v4, NULL, 0), 1);
	CU_ASSERT_EQUAL(decode_one(FRAME_DATA, FRAME_VNET_LEN + 39, v6, NULL, 0), FRAME_E_SHORT);
	CU_ASSERT_EQUAL(decode_one(FRAME_DATA, FRAME_VNET_LEN + 40, v6, NULL, 0), 1);
	free(v4);
	free(v6);
}

static void test_bad_ip_version(void)
{
	uint8_t *pl = data_payload(100, 4);
	int bad = 0;

	for (int v = 0; v < 16; v++) {
		pl[FRAME_VNET_LEN] = (uint8_t)(v << 4 | 5);
		int r = decode_one(FRAME_DATA, 100, pl, NULL, 0);

		if ((v == 4 || v == 6) ? r != 1 : r != FRAME_E_IPVER)
			bad++;
	}
	CU_ASSERT_EQUAL(bad, 0);
	free(pl);
}

static int hello_text(const char *text, size_t n)
{
	uint8_t pl[300];

	pl[0] = FRAME_PROTO_VERSION;
	memcpy(pl + 1, text, n);
	return decode_one(FRAME_HELLO, n + 1, pl, NULL, 0);
}

static void test_bad_hello(void)
{
	static const char *const bad[] = {
		"", "10.9.0.2", "10.9.0.2/", "10.9.0.2/33", "10.9.0.256/24", "10.9.0/24",
		"/24", "10.9.0.2/24 ", " 10.9.0.2/24", "10.9.0.2/+4", "10.9.0.2/0024",
		"fd00::1/129", "fd00::g/64", "hello", "10.9.0.2/24\n", "010.9.0.2/24",
		"1111:2222:3333:4444:5555:6666:7777:8888:9999/64",
	};
	static const char *const good[] = { "10.9.0.2/24", "0.0.0.0/0", "fd00::2/64", "::/0",
					    "::ffff:10.9.0.2/128", "10.9.0.2/032" };
	char msg[256];
	uint8_t only_version = FRAME_PROTO_VERSION;
	uint8_t version_other[] = { 99, '1', '.', '2', '.', '3', '.', '4', '/', '8' };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CU_ASSERT_EQUAL(hello_text(bad[i], strlen(bad[i])), FRAME_E_HELLO);
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		CU_ASSERT_EQUAL(hello_text(good[i], strlen(good[i])), 1);
	CU_ASSERT_EQUAL(hello_text("10.9.0.2/24\0", 12), FRAME_E_HELLO);
	CU_ASSERT_EQUAL(hello_text("10.9\0.0.2/24", 12), FRAME_E_HELLO);
	CU_ASSERT_EQUAL(decode_one(FRAME_HELLO, 0, NULL, msg, sizeof(msg)), FRAME_E_HELLO);
	CU_ASSERT_EQUAL(decode_one(FRAME_HELLO, 1, &only_version, NULL, 0), FRAME_E_HELLO);
	/* an unknown version is well-formed: the session refuses it, not the decoder */
	CU_ASSERT_EQUAL(decode_one(FRAME_HELLO, sizeof(version_other), version_other, NULL, 0), 1);
}

static void test_bad_control(void)
{
	CU_ASSERT_EQUAL(decode_one(FRAME_WELCOME, 8, (const uint8_t *)"10.9.0.1", NULL, 0),
			FRAME_E_CONTROL);
	CU_ASSERT_EQUAL(decode_one(FRAME_WELCOME, 11, (const uint8_t *)"10.9.0.1/24", NULL, 0), 1);
	CU_ASSERT_EQUAL(decode_one(FRAME_REFUSE, 5, (const uint8_t *)"a\nb\0c", NULL, 0),
			FRAME_E_CONTROL);
	CU_ASSERT_EQUAL(decode_one(FRAME_REFUSE, 3, (const uint8_t *)"a\x7f" "b", NULL, 0),
			FRAME_E_CONTROL);
	CU_ASSERT_EQUAL(decode_one(FRAME_REFUSE, 0, NULL, NULL, 0), 1);
	CU_ASSERT_EQUAL(decode_one(FRAME_REFUSE, 6, (const uint8_t *)"d\xc3\xa9j\xc3\xa0", NULL, 0), 1);
	CU_ASSERT_EQUAL(decode_one(FRAME_PING, 4, (const uint8_t *)"\0\1\2\3", NULL, 0), 1);
}

static void test_bad_vnet(void)
{
	uint8_t *v4 = data_payload(200, 4), *v6 = data_payload(200, 6);

	/* a real TSO header passes: TCPV4, gso_size 1448, csum at 20+16 */
	v4[0] = 1; /* NEEDS_CSUM */
	v4[1] = 1; /* GSO_TCPV4 */
	v4[4] = 1448 & 0xff;
	v4[5] = 1448 >> 8;
	v4[6] = 20;
	v4[8] = 16;
	CU_ASSERT_EQUAL(decode_one(FRAME_DATA, 200, v4, NULL, 0), 1);
	v4[1] = 0x81; /* with the ECN bit */
	CU_ASSERT_EQUAL(decode_one(FRAME_DATA, 200, v4, NULL, 0), 1);
	v4[1] = 4; /* TCPV6 on an IPv4 packet */
	CU_ASSERT_EQUAL(decode_one(FRAME_DATA, 200, v4, NULL, 0), FRAME_E_VNET);
	v4[1] = 3; /* UFO: never negotiated */
	CU_ASSERT_EQUAL(decode_one(FRAME_DATA, 200, v4, NULL, 0), FRAME_E_VNET);
	v4[1] = 1;
	v4[4] = v4[5] = 0; /* GSO without a segment size */
	CU_ASSERT_EQUAL(decode_one(FRAME_DATA, 200, v4, NULL, 0), FRAME_E_VNET);
	v4[4] = 100;
	v4[6] = 189; /* checksum 189+16+2 > 190 bytes of packet */
	CU_ASSERT_EQUAL(decode_one(FRAME_DATA, 200, v4, NULL, 0), FRAME_E_VNET);
	v4[6] = 172; /* exactly at the end */
	CU_ASSERT_EQUAL(decode_one(FRAME_DATA, 200, v4, NULL, 0), 1);
	v4[0] = 4; /* RSC_INFO: not ours */
	CU_ASSERT_EQUAL(decode_one(FRAME_DATA, 200, v4, NULL, 0), FRAME_E_VNET);
	v6[1] = 4;
	v6[4] = 100;
	CU_ASSERT_EQUAL(decode_one(FRAME_DATA, 200, v6, NULL, 0), 1);
	v6[1] = 1; /* TCPV4 on IPv6 */
	CU_ASSERT_EQUAL(decode_one(FRAME_DATA, 200, v6, NULL, 0), FRAME_E_VNET);
	free(v4);
	free(v6);
}

/* An error in the n-th frame names its offset; the decoder then stays
 * stopped and consumes nothing more. */
static void test_sticky_and_offset(void)
{
	struct stream s;
	struct frame_decoder d;
	struct frame f;
	const uint8_t *p;
	size_t left, bad_at;
	char want[64];
	int r, frames = 0;

	make_stream(&s, false);
	bad_at = s.len;
	s.buf = realloc(s.buf, s.len + 8);
	memcpy(s.buf + s.len, "\x09\x00\x00\x00garb", 8);
	s.len += 8;
	frame_decoder_init(&d);
	p = s.buf;
	left = s.len;
	while ((r = frame_decode(&d, &p, &left, &f)) > 0)
		frames++;
	CU_ASSERT_EQUAL(r, FRAME_E_TYPE);
	CU_ASSERT_EQUAL(frames, s.n);
	CU_ASSERT_EQUAL(left, 4); /* stopped right after the bad header */
	snprintf(want, sizeof(want), "offset %zu:", bad_at);
	CU_ASSERT_PTR_NOT_NULL(strstr(d.msg, want));
	CU_ASSERT_STRING_EQUAL(frame_error_name(r), "unknown_type");
	CU_ASSERT_STRING_EQUAL(frame_error_name(FRAME_E_IPVER), "bad_ip_version");
	CU_ASSERT_STRING_EQUAL(frame_error_name(42), "unknown");
	CU_ASSERT_STRING_EQUAL(frame_type_name(FRAME_HELLO), "hello");
	CU_ASSERT_EQUAL(frame_decode(&d, &p, &left, &f), FRAME_E_TYPE);
	CU_ASSERT_EQUAL(left, 4);
	frame_decoder_free(&d);
	free(s.buf);
}

/* Random bytes, in random chunks: the decoder stops with an error or
 * waits, never returns anything unchecked, never reads out of bounds
 * (run under ASan), and never grows past one frame. */
static void test_garbage(void)
{
	enum { LEN = 8192 };
	uint8_t *buf = malloc(LEN);
	int errors = 0, bad = 0;

	for (int round = 0; round < 2000; round++) {
		struct frame_decoder d;
		struct frame f;
		size_t off = 0;
		int r = 0;

		for (size_t i = 0; i < LEN; i++)
			buf[i] = (uint8_t)rng();
		if (round % 4 == 0)
			buf[0] = (uint8_t)(1 + rng() % 6); /* a known type, to reach payload checks */
		frame_decoder_init(&d);
		while (off < LEN && r >= 0) {
			size_t n = 1 + rng() % 3000, left;
			const uint8_t *p = buf + off;

			if (n > LEN - off)
				n = LEN - off;
			left = n;
			while ((r = frame_decode(&d, &p, &left, &f)) > 0) {
				if (f.len > (f.type == FRAME_DATA ? FRAME_MAX_PAYLOAD : FRAME_MAX_CONTROL) ||
				    (f.type == FRAME_DATA && f.len < FRAME_MIN_DATA))
					bad++;
			}
			off += n - left;
			if (r < 0)
				break;
		}
		if (r < 0) {
			errors++;
			if (!d.msg[0] || d.error != r)
				bad++;
		}
		frame_decoder_free(&d);
	}
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT(errors > 1900); /* garbage is almost always refused at once */
	free(buf);
}

/* ---- addresses (tun.c's pure helpers) ------------------------------- */

static void test_parse_cidr(void)
{
	struct tun_prefix p;
	char txt[64];

	CU_ASSERT_EQUAL(tun_parse_cidr("10.9.0.2/24", &p), 0);
	CU_ASSERT_EQUAL(p.addr.family, AF_INET);
	CU_ASSERT_EQUAL(p.len, 24);
	CU_ASSERT_STRING_EQUAL(tun_addr_str(&p.addr, txt, sizeof(txt)), "10.9.0.2");
	CU_ASSERT_EQUAL(tun_parse_cidr("fd00:77::1/64", &p), 0);
	CU_ASSERT_EQUAL(p.addr.family, AF_INET6);
	CU_ASSERT_EQUAL(p.len, 64);
	CU_ASSERT_STRING_EQUAL(tun_addr_str(&p.addr, txt, sizeof(txt)), "fd00:77::1");
	CU_ASSERT_EQUAL(tun_parse_cidr("10.0.0.1/32", &p), 0);
	CU_ASSERT_EQUAL(tun_parse_cidr("::1/128", &p), 0);
	p.len = 99;
	CU_ASSERT_EQUAL(tun_parse_cidr("10.0.0.1/33", &p), -EINVAL);
	CU_ASSERT_EQUAL(p.len, 99); /* untouched on failure */
	CU_ASSERT_EQUAL(tun_parse_cidr("::1/129", &p), -EINVAL);
	CU_ASSERT_EQUAL(tun_parse_cidr("10.0.0.1", &p), -EINVAL);
	CU_ASSERT_EQUAL(tun_parse_cidr("10.0.0.1/-1", &p), -EINVAL);
	CU_ASSERT_EQUAL(tun_parse_cidr("10.0.0.1/1a", &p), -EINVAL);
	CU_ASSERT_EQUAL(tun_parse_cidr("10.0.0.1/24/8", &p), -EINVAL);
	CU_ASSERT_EQUAL(tun_parse_cidr("10.1/8", &p), -EINVAL);
	CU_ASSERT_EQUAL(tun_parse_cidr("fe80::1%eth0/64", &p), -EINVAL);
	CU_ASSERT_EQUAL(tun_parse_cidr(NULL, &p), -EINVAL);
}

static struct tun_addr addr_of(const char *s)
{
	struct tun_addr a = { 0 };

	if (inet_pton(AF_INET, s, a.a) == 1)
		a.family = AF_INET;
	else if (inet_pton(AF_INET6, s, a.a) == 1)
		a.family = AF_INET6;
	return a;
}

static void test_prefix_contains(void)
{
	struct tun_prefix p;
	struct tun_addr a;

	tun_parse_cidr("10.9.0.1/24", &p);
	a = addr_of("10.9.0.200");
	CU_ASSERT_TRUE(tun_prefix_contains(&p, &a));
	a = addr_of("10.9.1.2");
	CU_ASSERT_FALSE(tun_prefix_contains(&p, &a));
	a = addr_of("::ffff:10.9.0.2");
	CU_ASSERT_FALSE(tun_prefix_contains(&p, &a)); /* other family */
	tun_parse_cidr("10.9.0.129/25", &p);
	a = addr_of("10.9.0.128");
	CU_ASSERT_TRUE(tun_prefix_contains(&p, &a));
	a = addr_of("10.9.0.127");
	CU_ASSERT_FALSE(tun_prefix_contains(&p, &a));
	tun_parse_cidr("10.9.0.1/0", &p);
	a = addr_of("192.168.1.1");
	CU_ASSERT_TRUE(tun_prefix_contains(&p, &a));
	tun_parse_cidr("10.9.0.1/32", &p);
	a = addr_of("10.9.0.1");
	CU_ASSERT_TRUE(tun_prefix_contains(&p, &a));
	a = addr_of("10.9.0.2");
	CU_ASSERT_FALSE(tun_prefix_contains(&p, &a));
	tun_parse_cidr("fd00:77::1/61", &p);
	a = addr_of("fd00:77:0:7::9");
	CU_ASSERT_TRUE(tun_prefix_contains(&p, &a));
	a = addr_of("fd00:77:0:8::9");
	CU_ASSERT_FALSE(tun_prefix_contains(&p, &a));
	CU_ASSERT_FALSE(tun_addr_equal(&p.addr, &(struct tun_addr){ 0 }));
	a = addr_of("fd00:77::1");
	CU_ASSERT_TRUE(tun_addr_equal(&p.addr, &a));
}

static void test_packet_addresses(void)
{
	uint8_t v4[20] = { 0x45 }, v6[40] = { 0x60 };
	struct tun_addr a;
	char txt[64];

	v4[12] = 10; v4[13] = 9; v4[14] = 0; v4[15] = 2;
	v4[16] = 10; v4[17] = 9; v4[18] = 0; v4[19] = 7;
	CU_ASSERT_EQUAL(tun_packet_dst(v4, sizeof(v4), &a), 0);
	CU_ASSERT_STRING_EQUAL(tun_addr_str(&a, txt, sizeof(txt)), "10.9.0.7");
	CU_ASSERT_EQUAL(tun_packet_src(v4, sizeof(v4), &a), 0);
	CU_ASSERT_STRING_EQUAL(tun_addr_str(&a, txt, sizeof(txt)), "10.9.0.2");
	CU_ASSERT_EQUAL(tun_packet_dst(v4, 19, &a), -EINVAL);
	v6[8] = 0xfd; v6[23] = 2;
	v6[24] = 0xfd; v6[39] = 7;
	CU_ASSERT_EQUAL(tun_packet_dst(v6, sizeof(v6), &a), 0);
	CU_ASSERT_STRING_EQUAL(tun_addr_str(&a, txt, sizeof(txt)), "fd00::7");
	CU_ASSERT_EQUAL(tun_packet_src(v6, sizeof(v6), &a), 0);
	CU_ASSERT_STRING_EQUAL(tun_addr_str(&a, txt, sizeof(txt)), "fd00::2");
	CU_ASSERT_EQUAL(tun_packet_dst(v6, 39, &a), -EINVAL);
	v6[0] = 0x50;
	CU_ASSERT_EQUAL(tun_packet_dst(v6, sizeof(v6), &a), -EINVAL);
	CU_ASSERT_EQUAL(tun_packet_dst(v6, 0, &a), -EINVAL);
}

static void test_features_str(void)
{
	char buf[64];

	CU_ASSERT_STRING_EQUAL(tun_features_str(0, buf, sizeof(buf)), "none");
	CU_ASSERT_STRING_EQUAL(tun_features_str(TUN_FEAT_VNET | TUN_FEAT_CSUM | TUN_FEAT_TSO4 |
						TUN_FEAT_TSO6, buf, sizeof(buf)),
			       "vnet,csum,tso4,tso6");
	CU_ASSERT_STRING_EQUAL(tun_features_str(TUN_FEAT_VNET | TUN_FEAT_CSUM, buf, sizeof(buf)),
			       "vnet,csum");
}

int main(void)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 99;
	CU_pSuite s = CU_add_suite("frame", NULL, NULL);
	CU_add_test(s, "round trip of every type", test_roundtrip_types);
	CU_add_test(s, "HELLO / WELCOME / REFUSE contents", test_hello_welcome_contents);
	CU_add_test(s, "split at every byte boundary", test_split_every_boundary);
	CU_add_test(s, "ceiling-sized frame, byte by byte and random chunks", test_split_big);
	CU_add_test(s, "in place vs gathered", test_zero_copy);
	CU_add_test(s, "encoder", test_encoder);
	CU_add_test(s, "oversize: ceiling accepted, +1 refused", test_oversize);
	CU_add_test(s, "unknown type", test_unknown_type);
	CU_add_test(s, "short DATA", test_short_data);
	CU_add_test(s, "bad IP version", test_bad_ip_version);
	CU_add_test(s, "bad HELLO", test_bad_hello);
	CU_add_test(s, "bad WELCOME / REFUSE", test_bad_control);
	CU_add_test(s, "bad virtio header", test_bad_vnet);
	CU_add_test(s, "sticky error and its offset", test_sticky_and_offset);
	CU_add_test(s, "garbage", test_garbage);
	s = CU_add_suite("addresses", NULL, NULL);
	CU_add_test(s, "parse CIDR", test_parse_cidr);
	CU_add_test(s, "prefix contains", test_prefix_contains);
	CU_add_test(s, "packet source and destination", test_packet_addresses);
	CU_add_test(s, "features string", test_features_str);
	return tu_run();
}
