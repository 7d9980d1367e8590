/* SPDX-License-Identifier: MIT */
/*
 * fuzz_control.c - what a peer says in control frames and statuses:
 * HELLO, WELCOME and REFUSE payloads, and the forward transport's
 * admission status read byte by byte.
 *
 * Input: byte 0 picks the parser, the rest is the payload.  Invariants
 * (abort() when broken): a HELLO or WELCOME that parses encodes again to a
 * frame that decodes and parses to the same address; frame_text() always
 * NUL-terminates within its buffer; the status parser gives the same
 * answer for the whole input as for exactly the bytes it said it needs,
 * asks for more only when it has fewer, and a refusal's reason is
 * printable and no longer than FRAME_STATUS_REASON.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "tun.h"

static void roundtrip(const struct tun_prefix *p, int hello)
{
	char text[INET6_ADDRSTRLEN + 8], cidr[sizeof(text) + 16];
	uint8_t buf[FRAME_HDR_LEN + FRAME_MAX_CONTROL];
	struct frame_decoder d;
	struct frame f;
	struct tun_prefix q;
	const uint8_t *in = buf;

	tun_addr_str(&p->addr, text, sizeof(text));
	snprintf(cidr, sizeof(cidr), "%s/%d", text, p->len);
	ssize_t n = hello ? frame_encode_hello(buf, sizeof(buf), cidr) : frame_encode_welcome(buf, sizeof(buf), cidr);
	if (n < 0)
		abort(); /* what parsed must encode */
	size_t left = (size_t)n;
	frame_decoder_init(&d);
	if (frame_decode(&d, &in, &left, &f) != 1 || left != 0)
		abort();
	if (hello ? frame_parse_hello(&f, NULL, &q) != 0 : frame_parse_welcome(&f, &q) != 1)
		abort();
	if (!tun_addr_equal(&q.addr, &p->addr) || q.len != p->len)
		abort();
	frame_decoder_free(&d);
}

static void status(const uint8_t *p, size_t n)
{
	char reason[FRAME_STATUS_REASON + 1], again[FRAME_STATUS_REASON + 1];
	size_t need = 0, need2 = 0;
	int r = frame_status_parse(p, n, &need, reason, sizeof(reason));

	if (r == 0) {
		if (need <= n)
			abort();
		return;
	}
	if (r < 0)
		return;
	if (need > n || frame_status_parse(p, need, &need2, again, sizeof(again)) != r || need2 != need)
		abort();
	if (r == 2) {
		size_t len = strlen(reason);
		if (len == 0 || len > FRAME_STATUS_REASON || strcmp(reason, again))
			abort();
		for (size_t i = 0; i < len; i++)
			if (reason[i] < 0x20 || reason[i] >= 0x7f)
				abort();
		/* a refusal we write reads back the same */
		uint8_t buf[FRAME_STATUS_MAX];
		ssize_t w = frame_status_encode(buf, sizeof(buf), reason);
		if (w < 0 || frame_status_parse(buf, (size_t)w, &need2, again, sizeof(again)) != 2 || strcmp(reason, again))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tun_prefix p;
	uint8_t version;
	char text[32];

	if (size < 1)
		return 0;
	struct frame f = { .payload = data + 1, .len = size - 1 };
	switch (data[0] % 4) {
	case 0:
		f.type = FRAME_HELLO;
		if (frame_parse_hello(&f, &version, &p) == 0)
			roundtrip(&p, 1);
		break;
	case 1:
		f.type = FRAME_WELCOME;
		if (frame_parse_welcome(&f, &p) == 1)
			roundtrip(&p, 0);
		break;
	case 2:
		f.type = FRAME_REFUSE;
		memset(text, 'x', sizeof(text));
		frame_text(&f, text, 1 + data[0] % 31);
		if (!memchr(text, '\0', 1 + data[0] % 31))
			abort();
		break;
	case 3:
		status(data + 1, size - 1);
		break;
	}
	return 0;
}
