/* SPDX-License-Identifier: MIT */
/*
 * frame.h - the framing of the `tun` transport inside the TLS session: a
 * 4-byte header (type, 24-bit big-endian payload length) in front of each
 * payload, a streaming decoder fed with whatever SSL_read returned, and an
 * encoder that writes the header in front of a payload already in place.
 *
 * Pure code: no I/O, no logging, no global state.  A decoder error is
 * final for its session: the caller closes it, logs frame_error_name() and
 * the decoder's message, and counts it.
 *
 * Wire format, version 1:
 *
 *   +------+---------------------+---------------------
 *   | type | length (24 bit, BE) | payload (length bytes)
 *   +------+---------------------+---------------------
 *
 *   DATA    (1) virtio_net_hdr (10 bytes, little-endian fields, see tun.h)
 *               + one IP packet (v4 or v6), possibly a GSO super-packet
 *   PING    (2) opaque, at most FRAME_MAX_CONTROL bytes (echoed in PONG)
 *   PONG    (3) the PING's payload
 *   HELLO   (4) client -> server, first frame after the handshake:
 *               protocol version (1 byte) + the client's tunnel address as
 *               CIDR text, e.g. "10.9.0.2/24" (no NUL)
 *   WELCOME (5) server -> client: empty, or the server's address as CIDR text
 *   REFUSE  (6) server -> client, then close: reason text (no control bytes)
 *
 * The direction rules (HELLO first and only from the client, etc.) are the
 * session's to enforce; the decoder checks each frame on its own.
 */
#ifndef SSS_FRAME_H
#define SSS_FRAME_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct tun_prefix;

#define FRAME_HDR_LEN 4
#define FRAME_VNET_LEN 10 /* sizeof(struct virtio_net_hdr) == TUN_VNET_HDR_LEN */
/* The fixed ceiling on the IP packet of a DATA frame: 64 KiB, the largest
 * GSO super-packet a TUN device hands out (an IPv4 total length is 16 bits).
 * It does not follow network.mtu: the MTU only sizes the device. */
#define FRAME_MAX_IP 65536
/* The largest payload of any frame: FRAME_MAX_IP plus the virtio header,
 * 65546 bytes.  A header announcing more closes the session.  A buffer of
 * FRAME_HDR_LEN + FRAME_MAX_PAYLOAD bytes holds any frame. */
#define FRAME_MAX_PAYLOAD (FRAME_MAX_IP + FRAME_VNET_LEN)
/* The ceiling on the payload of every type but DATA. */
#define FRAME_MAX_CONTROL 256
/* The smallest DATA payload: the virtio header and an IPv4 header (an
 * IPv6 packet needs 40 bytes after the virtio header). */
#define FRAME_MIN_DATA (FRAME_VNET_LEN + 20)

#define FRAME_PROTO_VERSION 1

enum frame_type {
	FRAME_DATA = 1,
	FRAME_PING = 2,
	FRAME_PONG = 3,
	FRAME_HELLO = 4,
	FRAME_WELCOME = 5,
	FRAME_REFUSE = 6,
};

/* Errors (negative) from the decoder and the encoders. */
enum frame_error {
	FRAME_E_OVERSIZE = -1, /* length above FRAME_MAX_PAYLOAD (or FRAME_MAX_CONTROL) */
	FRAME_E_TYPE = -2,     /* unknown frame type */
	FRAME_E_SHORT = -3,    /* DATA shorter than virtio header + minimal IP header */
	FRAME_E_IPVER = -4,    /* DATA whose IP version nibble is neither 4 nor 6 */
	FRAME_E_HELLO = -5,    /* HELLO without a version or with a malformed address */
	FRAME_E_CONTROL = -6,  /* WELCOME with a malformed address, REFUSE with control bytes */
	FRAME_E_VNET = -7,     /* DATA with an impossible virtio header */
	FRAME_E_NOSPACE = -8,  /* encoder: the caller's buffer is too small */
};

/* A decoded frame.  payload points into the caller's input chunk (no copy)
 * or into the decoder's buffer; either way it is valid until the next
 * frame_decode() call on that decoder or until the caller reuses its input
 * buffer, whichever comes first. */
struct frame {
	enum frame_type type;
	const uint8_t *payload;
	size_t len;
};

/* The streaming decoder.  Zero it with frame_decoder_init(); the fields are
 * private except the counters and msg. */
struct frame_decoder {
	uint8_t hdr[FRAME_HDR_LEN];
	size_t hdr_have;   /* header bytes gathered for the current frame */
	uint8_t *buf;      /* FRAME_MAX_PAYLOAD bytes, allocated when a payload
			    * first straddles two chunks */
	size_t have, need; /* payload bytes buffered / announced */
	int error;         /* 0, or the FRAME_E_* that stopped this decoder */
	uint64_t offset;   /* stream bytes consumed so far */
	uint64_t start;    /* stream offset of the current frame's header */
	uint64_t frames;   /* frames returned so far */
	char msg[192];     /* after an error: what and where, for the log */
};

void frame_decoder_init(struct frame_decoder *d);
/* Free the buffer; the decoder may be initialised again. */
void frame_decoder_free(struct frame_decoder *d);

/*
 * Feed bytes to the decoder.  *data / *len describe the unconsumed input
 * and are advanced past what was used.  Returns
 *    1  a complete, checked frame in *out (more may follow in the input:
 *       call again),
 *    0  the input is used up and the frame in progress needs more bytes,
 *   <0  a FRAME_E_* error, with d->msg saying which frame and why (the
 *       stream offset of its header, type and length).  The error is
 *       sticky: every later call returns it without consuming anything.
 * Header errors (type, length) are reported as soon as the 4 header bytes
 * are in, before any payload is waited for.  A frame entirely inside one
 * chunk is returned in place; one that straddles chunks is gathered into
 * the decoder's buffer (one copy, never more than FRAME_MAX_PAYLOAD bytes).
 */
int frame_decode(struct frame_decoder *d, const uint8_t **data, size_t *len, struct frame *out);

/*
 * Write the header of a frame of this type and payload length into hdr
 * (FRAME_HDR_LEN bytes), typically just in front of a payload already in
 * the buffer: read the TUN packet into buf + FRAME_HDR_LEN, then
 * frame_put_header(buf, FRAME_DATA, n) and send buf, FRAME_HDR_LEN + n.
 * Returns 0, FRAME_E_TYPE or FRAME_E_OVERSIZE (nothing written then).  The
 * payload itself is not checked: the TUN device is trusted.
 */
int frame_put_header(uint8_t *hdr, enum frame_type type, size_t len);

/* Header + a copy of payload into buf (cap bytes); frames may be appended
 * back to back to batch several into one SSL_write.  Returns the bytes
 * written, or FRAME_E_TYPE / FRAME_E_OVERSIZE / FRAME_E_NOSPACE. */
ssize_t frame_encode(uint8_t *buf, size_t cap, enum frame_type type, const void *payload,
		     size_t len);

/* A HELLO (FRAME_PROTO_VERSION + cidr) or WELCOME (cidr, or empty when
 * cidr is NULL) frame into buf.  The address is checked as the decoder
 * will: FRAME_E_HELLO / FRAME_E_CONTROL when malformed, FRAME_E_NOSPACE. */
ssize_t frame_encode_hello(uint8_t *buf, size_t cap, const char *cidr);
ssize_t frame_encode_welcome(uint8_t *buf, size_t cap, const char *cidr);

/*
 * The contents of a decoded HELLO: its version byte and address.  The
 * version is not judged here (the session refuses what it cannot speak).
 * Returns 0 or FRAME_E_HELLO.
 */
int frame_parse_hello(const struct frame *f, uint8_t *version, struct tun_prefix *addr);
/* The address in a WELCOME: 1 with *addr filled, 0 for an empty WELCOME,
 * FRAME_E_CONTROL when malformed. */
int frame_parse_welcome(const struct frame *f, struct tun_prefix *addr);
/* A REFUSE's reason (or any text payload) as a NUL-terminated string in
 * buf, truncated to len - 1 bytes; returns buf. */
const char *frame_text(const struct frame *f, char *buf, size_t len);

/*
 * The forward transport's admission status.  When the client offered the
 * ALPN protocol FRAME_FWD_ALPN and the server chose it, the server's first
 * bytes on the stream are:
 *
 *   0x00                            admitted; the stream's bytes follow
 *   0x01, len, reason (len bytes)   refused (reason: 1..FRAME_STATUS_REASON
 *                                   printable ASCII bytes), then close_notify
 *
 * so that a client can say why ("refused: max_clients") instead of seeing a
 * stream that ends.  A client that did not offer the protocol gets the
 * stream's bytes only, as from any TLS port forwarder.
 */
#define FRAME_FWD_ALPN "sssonector-fwd/1"
#define FRAME_STATUS_REASON 64
#define FRAME_STATUS_MAX (2 + FRAME_STATUS_REASON)

/* The status into buf: refusal NULL for "admitted", else the reason (cut
 * to FRAME_STATUS_REASON bytes; non-printable bytes become '?').  Returns
 * its length or FRAME_E_NOSPACE. */
ssize_t frame_status_encode(uint8_t *buf, size_t cap, const char *refusal);
/*
 * Read a status from the first n bytes of p.  Returns 0 when it needs more
 * (*need: the length known so far, > n), 1 admitted or 2 refused (*need:
 * its length; the reason, NUL-terminated, in reason[len]), or
 * FRAME_E_CONTROL when it is not a status.
 */
int frame_status_parse(const uint8_t *p, size_t n, size_t *need, char *reason, size_t len);

/* "data", "ping", ... or "unknown". */
const char *frame_type_name(int type);
/* A short logfmt-safe token for a FRAME_E_*: "oversize", "unknown_type",
 * "short_data", "bad_ip_version", "bad_hello", "bad_control", "bad_vnet",
 * "no_space" (also a counter name); "unknown" otherwise. */
const char *frame_error_name(int err);

#endif
