/* SPDX-License-Identifier: MIT */
/*
 * frame.c - the length-prefixed framing of the `tun` transport: a streaming
 * decoder that returns frames in place when it can and gathers the ones
 * that straddle SSL_read chunks into one bounded buffer, and the encoders.
 *
 * It must never trust a length before checking it against the ceiling,
 * never hold more than one frame in memory, and never do I/O or log: the
 * session decides what an error costs.
 */
#include "frame.h"

#include <arpa/inet.h>
#include <linux/virtio_net.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tun.h"
#include "util.h"

_Static_assert(FRAME_VNET_LEN == TUN_VNET_HDR_LEN, "one virtio header size");
_Static_assert(FRAME_VNET_LEN == sizeof(struct virtio_net_hdr), "virtio_net_hdr is 10 bytes");
_Static_assert(FRAME_MAX_PAYLOAD < (1 << 24), "the length fits in 24 bits");

#ifndef VIRTIO_NET_HDR_GSO_UDP_L4
#define VIRTIO_NET_HDR_GSO_UDP_L4 5 /* USO, Linux 6.2; older uapi headers lack it */
#endif

/* The longest CIDR text: an IPv6 address with an embedded IPv4 and "/128". */
#define CIDR_TEXT_MAX (INET6_ADDRSTRLEN - 1 + 4)

const char *frame_type_name(int type)
{
	switch (type) {
	case FRAME_DATA: return "data";
	case FRAME_PING: return "ping";
	case FRAME_PONG: return "pong";
	case FRAME_HELLO: return "hello";
	case FRAME_WELCOME: return "welcome";
	case FRAME_REFUSE: return "refuse";
	default: return "unknown";
	}
}

const char *frame_error_name(int err)
{
	switch (err) {
	case FRAME_E_OVERSIZE: return "oversize";
	case FRAME_E_TYPE: return "unknown_type";
	case FRAME_E_SHORT: return "short_data";
	case FRAME_E_IPVER: return "bad_ip_version";
	case FRAME_E_HELLO: return "bad_hello";
	case FRAME_E_CONTROL: return "bad_control";
	case FRAME_E_VNET: return "bad_vnet";
	case FRAME_E_NOSPACE: return "no_space";
	default: return "unknown";
	}
}

static bool type_known(int type)
{
	return type >= FRAME_DATA && type <= FRAME_REFUSE;
}

static size_t type_ceiling(int type)
{
	return type == FRAME_DATA ? FRAME_MAX_PAYLOAD : FRAME_MAX_CONTROL;
}

/* ---- payload checks, shared by the decoder and the encoders --------- */

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

/* The CIDR text of HELLO/WELCOME: no NUL, not too long, parses. */
static int parse_cidr_text(const uint8_t *p, size_t n, struct tun_prefix *out)
{
	char text[CIDR_TEXT_MAX + 1];

	if (n == 0 || n > CIDR_TEXT_MAX || memchr(p, '\0', n))
		return -1;
	memcpy(text, p, n);
	text[n] = '\0';
	return tun_parse_cidr(text, out) < 0 ? -1 : 0;
}

/*
 * A DATA payload: the virtio header must describe something the kernel
 * could have produced (known flags and GSO type, a GSO type matching the
 * IP version, a checksum position inside the packet), and the packet must
 * be IPv4 or IPv6 with at least its fixed header.  why gets the reason.
 */
static int check_data(const uint8_t *p, size_t n, const char **why)
{
	size_t iplen = n - FRAME_VNET_LEN;
	uint8_t flags, gso;
	int version;

	if (n < FRAME_MIN_DATA) {
		*why = "shorter than virtio header + IPv4 header";
		return FRAME_E_SHORT;
	}
	flags = p[0];
	gso = p[1] & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;
	version = p[FRAME_VNET_LEN] >> 4;
	if (version != 4 && version != 6) {
		*why = "IP version neither 4 nor 6";
		return FRAME_E_IPVER;
	}
	if (version == 6 && iplen < 40) {
		*why = "shorter than virtio header + IPv6 header";
		return FRAME_E_SHORT;
	}
	if (flags & ~(VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID)) {
		*why = "unknown virtio flags";
		return FRAME_E_VNET;
	}
	if ((gso == VIRTIO_NET_HDR_GSO_TCPV4 && version != 4) ||
	    (gso == VIRTIO_NET_HDR_GSO_TCPV6 && version != 6) ||
	    (gso != VIRTIO_NET_HDR_GSO_NONE && gso != VIRTIO_NET_HDR_GSO_TCPV4 &&
	     gso != VIRTIO_NET_HDR_GSO_TCPV6 && gso != VIRTIO_NET_HDR_GSO_UDP_L4)) {
		*why = "virtio GSO type does not fit the packet";
		return FRAME_E_VNET;
	}
	if (gso != VIRTIO_NET_HDR_GSO_NONE && le16(p + 4) == 0) {
		*why = "virtio GSO without a segment size";
		return FRAME_E_VNET;
	}
	if ((flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) &&
	    (size_t)le16(p + 6) + le16(p + 8) + 2 > iplen) {
		*why = "virtio checksum position outside the packet";
		return FRAME_E_VNET;
	}
	return 0;
}

/* Everything but the header-time checks (type, ceiling, DATA minimum). */
static int check_payload(int type, const uint8_t *p, size_t n, const char **why)
{
	struct tun_prefix pfx;

	switch (type) {
	case FRAME_DATA:
		return check_data(p, n, why);
	case FRAME_HELLO:
		if (n < 2) {
			*why = "HELLO without version and address";
			return FRAME_E_HELLO;
		}
		if (parse_cidr_text(p + 1, n - 1, &pfx) < 0) {
			*why = "HELLO address is not address/prefix";
			return FRAME_E_HELLO;
		}
		return 0;
	case FRAME_WELCOME:
		if (n && parse_cidr_text(p, n, &pfx) < 0) {
			*why = "WELCOME address is not address/prefix";
			return FRAME_E_CONTROL;
		}
		return 0;
	case FRAME_REFUSE:
		for (size_t i = 0; i < n; i++) {
			if (p[i] < 0x20 || p[i] == 0x7f) {
				*why = "REFUSE reason has control bytes";
				return FRAME_E_CONTROL;
			}
		}
		return 0;
	default: /* PING, PONG: opaque */
		return 0;
	}
}

/* ---- the decoder ---------------------------------------------------- */

void frame_decoder_init(struct frame_decoder *d)
{
	memset(d, 0, sizeof(*d));
}

void frame_decoder_free(struct frame_decoder *d)
{
	free(d->buf);
	d->buf = NULL;
}

__attribute__((format(printf, 3, 4)))
static int decoder_fail(struct frame_decoder *d, int err, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(d->msg, sizeof(d->msg), "frame at offset %llu: ",
			 (unsigned long long)d->start);

	if (n > 0 && (size_t)n < sizeof(d->msg)) {
		va_start(ap, fmt);
		vsnprintf(d->msg + n, sizeof(d->msg) - (size_t)n, fmt, ap);
		va_end(ap);
	}
	d->error = err;
	return err;
}

/* The header is complete: check what it announces before waiting for it. */
static int check_header(struct frame_decoder *d)
{
	int type = d->hdr[0];

	d->need = (size_t)d->hdr[1] << 16 | (size_t)d->hdr[2] << 8 | d->hdr[3];
	d->have = 0;
	if (!type_known(type))
		return decoder_fail(d, FRAME_E_TYPE, "unknown type %d (length %zu)", type, d->need);
	if (d->need > type_ceiling(type))
		return decoder_fail(d, FRAME_E_OVERSIZE, "%s length %zu above the ceiling %zu",
				    frame_type_name(type), d->need, type_ceiling(type));
	if (type == FRAME_DATA && d->need < FRAME_MIN_DATA)
		return decoder_fail(d, FRAME_E_SHORT,
				    "data length %zu shorter than virtio header + IPv4 header (%d)",
				    d->need, FRAME_MIN_DATA);
	return 0;
}

/* The payload is complete at p: check it and hand the frame out. */
static int finish(struct frame_decoder *d, const uint8_t *p, struct frame *out)
{
	const char *why = NULL;
	int type = d->hdr[0];
	int r = check_payload(type, p, d->need, &why);

	if (r < 0)
		return decoder_fail(d, r, "%s length %zu: %s", frame_type_name(type), d->need, why);
	out->type = (enum frame_type)type;
	out->payload = p;
	out->len = d->need;
	d->hdr_have = 0;
	d->have = d->need = 0;
	d->frames++;
	d->start = d->offset;
	return 1;
}

int frame_decode(struct frame_decoder *d, const uint8_t **data, size_t *len, struct frame *out)
{
	size_t take;
	int r;

	if (d->error)
		return d->error;
	if (d->hdr_have < FRAME_HDR_LEN) {
		take = FRAME_HDR_LEN - d->hdr_have;
		if (take > *len)
			take = *len;
		if (!take)
			return 0;
		memcpy(d->hdr + d->hdr_have, *data, take);
		d->hdr_have += take;
		*data += take;
		*len -= take;
		d->offset += take;
		if (d->hdr_have < FRAME_HDR_LEN)
			return 0;
		if ((r = check_header(d)) < 0)
			return r;
		if (*len >= d->need) { /* the whole payload is here: no copy */
			const uint8_t *p = *data;

			*data += d->need;
			*len -= d->need;
			d->offset += d->need;
			return finish(d, p, out);
		}
	}
	/* Gather a payload that straddles chunks. */
	if (!d->buf)
		d->buf = xmalloc(FRAME_MAX_PAYLOAD);
	take = d->need - d->have;
	if (take > *len)
		take = *len;
	if (!take)
		return 0;
	memcpy(d->buf + d->have, *data, take);
	d->have += take;
	*data += take;
	*len -= take;
	d->offset += take;
	if (d->have < d->need)
		return 0;
	return finish(d, d->buf, out);
}

/* ---- encoders ------------------------------------------------------- */

int frame_put_header(uint8_t *hdr, enum frame_type type, size_t len)
{
	if (!type_known((int)type))
		return FRAME_E_TYPE;
	if (len > type_ceiling((int)type))
		return FRAME_E_OVERSIZE;
	hdr[0] = (uint8_t)type;
	hdr[1] = (uint8_t)(len >> 16);
	hdr[2] = (uint8_t)(len >> 8);
	hdr[3] = (uint8_t)len;
	return 0;
}

ssize_t frame_encode(uint8_t *buf, size_t cap, enum frame_type type, const void *payload,
		     size_t len)
{
	int r = frame_put_header(buf, type, len);

	if (r < 0)
		return r;
	if (cap < FRAME_HDR_LEN || cap - FRAME_HDR_LEN < len)
		return FRAME_E_NOSPACE;
	if (len)
		memcpy(buf + FRAME_HDR_LEN, payload, len);
	return (ssize_t)(FRAME_HDR_LEN + len);
}

ssize_t frame_encode_hello(uint8_t *buf, size_t cap, const char *cidr)
{
	uint8_t payload[1 + CIDR_TEXT_MAX];
	struct tun_prefix p;
	size_t n = cidr ? strlen(cidr) : 0;

	if (parse_cidr_text((const uint8_t *)cidr, n, &p) < 0)
		return FRAME_E_HELLO;
	payload[0] = FRAME_PROTO_VERSION;
	memcpy(payload + 1, cidr, n);
	return frame_encode(buf, cap, FRAME_HELLO, payload, n + 1);
}

ssize_t frame_encode_welcome(uint8_t *buf, size_t cap, const char *cidr)
{
	struct tun_prefix p;
	size_t n = cidr ? strlen(cidr) : 0;

	if (cidr && parse_cidr_text((const uint8_t *)cidr, n, &p) < 0)
		return FRAME_E_CONTROL;
	return frame_encode(buf, cap, FRAME_WELCOME, cidr, n);
}

/* ---- reading control frames ---------------------------------------- */

int frame_parse_hello(const struct frame *f, uint8_t *version, struct tun_prefix *addr)
{
	struct tun_prefix p;

	if (f->type != FRAME_HELLO || f->len < 2 || parse_cidr_text(f->payload + 1, f->len - 1, &p) < 0)
		return FRAME_E_HELLO;
	if (version)
		*version = f->payload[0];
	if (addr)
		*addr = p;
	return 0;
}

int frame_parse_welcome(const struct frame *f, struct tun_prefix *addr)
{
	struct tun_prefix p;

	if (f->type != FRAME_WELCOME)
		return FRAME_E_CONTROL;
	if (f->len == 0)
		return 0;
	if (parse_cidr_text(f->payload, f->len, &p) < 0)
		return FRAME_E_CONTROL;
	if (addr)
		*addr = p;
	return 1;
}

const char *frame_text(const struct frame *f, char *buf, size_t len)
{
	size_t n = f->len;

	if (!len)
		return buf;
	if (n > len - 1)
		n = len - 1;
	if (n)
		memcpy(buf, f->payload, n);
	buf[n] = '\0';
	return buf;
}

/* ---- the forward transport's status ---------------------------------- */

ssize_t frame_status_encode(uint8_t *buf, size_t cap, const char *refusal)
{
	size_t n = refusal ? strlen(refusal) : 0;

	if (!refusal) {
		if (cap < 1)
			return FRAME_E_NOSPACE;
		buf[0] = 0;
		return 1;
	}
	if (n > FRAME_STATUS_REASON)
		n = FRAME_STATUS_REASON;
	if (n == 0 || cap < 2 + n)
		return FRAME_E_NOSPACE;
	buf[0] = 1;
	buf[1] = (uint8_t)n;
	for (size_t i = 0; i < n; i++)
		buf[2 + i] = refusal[i] >= 0x20 && refusal[i] < 0x7f ? (uint8_t)refusal[i] : '?';
	return (ssize_t)(2 + n);
}

int frame_status_parse(const uint8_t *p, size_t n, size_t *need, char *reason, size_t len)
{
	*need = 1;
	if (n < 1)
		return 0;
	if (p[0] == 0)
		return 1;
	if (p[0] != 1)
		return FRAME_E_CONTROL;
	*need = 2;
	if (n < 2)
		return 0;
	if (p[1] == 0 || p[1] > FRAME_STATUS_REASON)
		return FRAME_E_CONTROL;
	*need = 2 + (size_t)p[1];
	if (n < *need)
		return 0;
	for (size_t i = 0; i < p[1]; i++)
		if (p[2 + i] < 0x20 || p[2 + i] >= 0x7f)
			return FRAME_E_CONTROL;
	if (len) {
		size_t k = p[1] < len - 1 ? p[1] : len - 1;
		memcpy(reason, p + 2, k);
		reason[k] = '\0';
	}
	return 2;
}
