/* SPDX-License-Identifier: MIT */
/*
 * tunpkt.h - the rules a `tun` end applies to what its peer sends: which
 * tunnel address a peer may have, whether a DATA frame's virtio-net header
 * and IP packet may be handed to the kernel (and what that will cost), and
 * the server's routes from an address to a session.
 *
 * Pure code: no I/O, no logging, no global state, so that the fuzzers and
 * the unit tests reach every rule.  Frames reach these checks after
 * frame.c's structural checks (known type, length ceilings, IP version,
 * known virtio flags and GSO types); these are the semantic ones, which
 * depend on this end's MTU and subnet.
 */
#ifndef SSS_TUNPKT_H
#define SSS_TUNPKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tun.h"

/* The smallest GSO segment accepted from a peer: a TCP MSS over the
 * smallest MTU the configuration allows (576) is 524 bytes with
 * timestamps; below this a peer could make the kernel emit one packet per
 * byte of its frame. */
#define TUNPKT_GSO_MIN 512

/*
 * Why address a may not be a client's tunnel address on a server whose own
 * address and subnet are server: "is outside this server's subnet", "is
 * the subnet's network address", "is the subnet's broadcast address" (IPv4
 * with a prefix shorter than /31), "is this server's address", or NULL
 * when it may be used.  The prefix length a client announces must be the
 * server's (tunpkt_prefix_problem).
 */
const char *tunpkt_address_problem(const struct tun_prefix *server, const struct tun_addr *a);
/* NULL when claimed has server's prefix length, else a message in buf. */
const char *tunpkt_prefix_problem(const struct tun_prefix *server, const struct tun_prefix *claimed,
				  char *buf, size_t len);

/*
 * A tunnel.peers entry, "NAME=ADDRESS": NAME an allowed_peers entry (split
 * at the last '='; no control characters, no space at either end; the
 * configuration checks it further with pki_name_check), ADDRESS an IPv4 or
 * IPv6 address without a prefix.  Returns 0 with name (NUL-terminated, len >= 2) and *addr
 * filled, or -1.
 */
int tunpkt_peer_parse(const char *entry, char *name, size_t len, struct tun_addr *addr);

/* Why a DATA frame from a peer is dropped. */
enum tunpkt_drop {
	TUNPKT_OK = 0,
	TUNPKT_DROP_SPOOFED,   /* source is not the address the peer announced */
	TUNPKT_DROP_GSO,       /* a virtio/GSO header the kernel must not get */
	TUNPKT_DROP_MALFORMED, /* an IP packet inconsistent with its own headers */
	TUNPKT_DROP_N,
};
/* "spoofed_source", "bad_gso", "malformed_packet". */
const char *tunpkt_drop_name(enum tunpkt_drop d);

/*
 * Judge one DATA payload from the peer: vnet (the 10-byte virtio-net
 * header, see tun.h) and the IP packet behind it (pkt, len bytes, len >= a
 * minimal header of its version, as frame.c guarantees).  mtu is this
 * end's device MTU; src, when not NULL, the only source address the peer
 * may use (a server's check on its clients).
 *
 * On TUNPKT_OK, out (10 bytes) is the header to write to the device: the
 * peer's, without VIRTIO_NET_HDR_F_DATA_VALID (the kernel verifies the
 * checksums of what a peer sends), and *emitted is what the kernel will
 * put on the wire: len for a plain packet, for a GSO packet every
 * segment's headers included.  GSO is accepted for TCP only (TCPV4 on
 * IPv4, TCPV6 on IPv6 without extension headers), with a partial checksum
 * at the TCP checksum, hdr_len inside the packet, the IP length fields
 * matching len, and segments of TUNPKT_GSO_MIN bytes up to what fits the
 * MTU.  Otherwise the reason; out and *emitted are then undefined.
 */
enum tunpkt_drop tunpkt_check(const uint8_t vnet[TUN_VNET_HDR_LEN], const uint8_t *pkt, size_t len,
			      int mtu, const struct tun_addr *src, uint8_t out[TUN_VNET_HDR_LEN],
			      size_t *emitted);

/*
 * The server's routes: tunnel address -> session (any pointer).  Open
 * addressing with linear probing; grows as needed.  Lookups are O(1) on
 * average, whatever the number of clients.
 */
struct tunpkt_routes;

struct tunpkt_routes *tunpkt_routes_new(void);
void tunpkt_routes_free(struct tunpkt_routes *r);
/* Add a -> v; -1 when a is routed already (nothing changes). */
int tunpkt_routes_add(struct tunpkt_routes *r, const struct tun_addr *a, void *v);
/* Remove a's route if it leads to v; returns whether it did. */
bool tunpkt_routes_del(struct tunpkt_routes *r, const struct tun_addr *a, const void *v);
void *tunpkt_routes_get(const struct tunpkt_routes *r, const struct tun_addr *a);
size_t tunpkt_routes_count(const struct tunpkt_routes *r);

#endif
