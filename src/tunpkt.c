/* SPDX-License-Identifier: MIT */
/*
 * tunpkt.c - see tunpkt.h.
 *
 * Every length is checked before the byte it guards is read; nothing here
 * trusts a field of the packet to size anything.  The virtio header's
 * 16-bit fields are little-endian on the wire (tun.h).
 */
#include "tunpkt.h"

#include <arpa/inet.h>
#include <linux/virtio_net.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define IPPROTO_TCP_NUM 6
#define TCP_CSUM_OFFSET 16
#define TCP_MIN_HDR 20

static size_t addr_len(int family)
{
	return family == AF_INET ? 4 : 16;
}

/* Whether every bit of a after the first len bits equals bit. */
static bool host_bits_are(const struct tun_addr *a, int len, int bit)
{
	size_t n = addr_len(a->family);

	for (size_t i = 0; i < n; i++) {
		int first = (int)i * 8;
		uint8_t mask = first >= len ? 0xff : first + 8 <= len ? 0 : (uint8_t)(0xff >> (len - first));
		if ((a->a[i] & mask) != (bit ? mask : 0))
			return false;
	}
	return true;
}

const char *tunpkt_address_problem(const struct tun_prefix *server, const struct tun_addr *a)
{
	int max = a->family == AF_INET ? 32 : 128;

	if (!tun_prefix_contains(server, a))
		return "is outside this server's subnet";
	if (tun_addr_equal(a, &server->addr))
		return "is this server's address";
	/* /31 and /32 (/127, /128) have no network or broadcast address. */
	if (server->len < max - 1 && host_bits_are(a, server->len, 0))
		return "is the subnet's network address";
	if (a->family == AF_INET && server->len < max - 1 && host_bits_are(a, server->len, 1))
		return "is the subnet's broadcast address";
	return NULL;
}

const char *tunpkt_prefix_problem(const struct tun_prefix *server, const struct tun_prefix *claimed,
				  char *buf, size_t len)
{
	if (claimed->len == server->len)
		return NULL;
	snprintf(buf, len, "has prefix length /%d, this server's subnet is /%d", claimed->len, server->len);
	return buf;
}

int tunpkt_peer_parse(const char *entry, char *name, size_t len, struct tun_addr *addr)
{
	const char *eq = entry ? strrchr(entry, '=') : NULL;
	struct tun_addr a = { 0 };
	size_t n;

	if (!eq || eq == entry || !len)
		return -1;
	n = (size_t)(eq - entry);
	if (n >= len)
		return -1;
	if (entry[0] == ' ' || entry[n - 1] == ' ')
		return -1;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)entry[i] < ' ' || entry[i] == 0x7f)
			return -1;
	if (inet_pton(AF_INET, eq + 1, a.a) == 1)
		a.family = AF_INET;
	else if (inet_pton(AF_INET6, eq + 1, a.a) == 1)
		a.family = AF_INET6;
	else
		return -1;
	memcpy(name, entry, n);
	name[n] = '\0';
	*addr = a;
	return 0;
}

const char *tunpkt_drop_name(enum tunpkt_drop d)
{
	switch (d) {
	case TUNPKT_DROP_SPOOFED: return "spoofed_source";
	case TUNPKT_DROP_GSO: return "bad_gso";
	case TUNPKT_DROP_MALFORMED: return "malformed_packet";
	default: return "ok";
	}
}

/* ---- DATA from a peer ---------------------------------------------------- */

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* The IP header: its length (l3) and the transport protocol; -1 when the
 * packet contradicts its own header. */
static int ip_header(const uint8_t *pkt, size_t len, bool gso, size_t *l3, int *proto)
{
	int version = len ? pkt[0] >> 4 : 0;

	if ((version == 4 && len < 20) || (version == 6 && len < 40) || (version != 4 && version != 6))
		return -1;
	if (version == 4) {
		size_t ihl = (size_t)(pkt[0] & 0x0f) * 4;
		if (ihl < 20 || ihl > len)
			return -1;
		/* A plain packet may carry trailing bytes the kernel trims; a GSO
		 * packet is cut by its length, which must be exact. */
		if (be16(pkt + 2) > len || (gso && be16(pkt + 2) != len))
			return -1;
		*l3 = ihl;
		*proto = pkt[9];
		return 0;
	}
	if ((size_t)be16(pkt + 4) + 40 > len || (gso && (size_t)be16(pkt + 4) + 40 != len))
		return -1;
	*l3 = 40;
	*proto = pkt[6];
	return 0;
}

enum tunpkt_drop tunpkt_check(const uint8_t vnet[TUN_VNET_HDR_LEN], const uint8_t *pkt, size_t len,
			      int mtu, const struct tun_addr *src, uint8_t out[TUN_VNET_HDR_LEN],
			      size_t *emitted)
{
	uint8_t flags = vnet[0], type = vnet[1] & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;
	bool gso = type != VIRTIO_NET_HDR_GSO_NONE;
	size_t l3;
	int proto, version = len ? pkt[0] >> 4 : 0;

	if (src) {
		struct tun_addr from;
		if (tun_packet_src(pkt, len, &from) < 0 || !tun_addr_equal(&from, src))
			return TUNPKT_DROP_SPOOFED;
	}
	if (ip_header(pkt, len, gso, &l3, &proto) < 0)
		return TUNPKT_DROP_MALFORMED;
	memcpy(out, vnet, TUN_VNET_HDR_LEN);
	out[0] = flags & (uint8_t)~VIRTIO_NET_HDR_F_DATA_VALID;
	*emitted = len;
	if ((flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) &&
	    (size_t)le16(vnet + 6) + le16(vnet + 8) + 2 > len)
		return TUNPKT_DROP_GSO;
	if (!gso)
		return TUNPKT_OK;

	if (!((type == VIRTIO_NET_HDR_GSO_TCPV4 && version == 4) ||
	      (type == VIRTIO_NET_HDR_GSO_TCPV6 && version == 6)) ||
	    proto != IPPROTO_TCP_NUM)
		return TUNPKT_DROP_GSO;
	if (!(flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) || le16(vnet + 6) != l3 ||
	    le16(vnet + 8) != TCP_CSUM_OFFSET)
		return TUNPKT_DROP_GSO;
	if (l3 + TCP_MIN_HDR > len)
		return TUNPKT_DROP_GSO;
	size_t hdrs = l3 + (size_t)(pkt[l3 + 12] >> 4) * 4;
	size_t seg = le16(vnet + 4), hdr_len = le16(vnet + 2);
	if (hdrs < l3 + TCP_MIN_HDR || hdrs >= len || hdr_len > len)
		return TUNPKT_DROP_GSO;
	if (seg < TUNPKT_GSO_MIN || mtu <= 0 || seg + hdrs > (size_t)mtu)
		return TUNPKT_DROP_GSO;
	size_t payload = len - hdrs, nsegs = (payload + seg - 1) / seg;
	*emitted = payload + nsegs * hdrs;
	return TUNPKT_OK;
}

/* ---- routes -------------------------------------------------------------- */

struct route_slot {
	struct tun_addr a;
	void *v;
	uint8_t state; /* 0 empty, 1 used, 2 deleted */
};

struct tunpkt_routes {
	struct route_slot *s;
	size_t cap, used, dead; /* cap: a power of two */
};

static size_t route_hash(const struct tun_addr *a)
{
	uint64_t h = 1469598103934665603ull ^ (uint64_t)a->family;

	for (size_t i = 0; i < addr_len(a->family); i++)
		h = (h ^ a->a[i]) * 1099511628211ull;
	return (size_t)(h ^ (h >> 29));
}

struct tunpkt_routes *tunpkt_routes_new(void)
{
	struct tunpkt_routes *r = xcalloc(1, sizeof(*r));

	r->cap = 16;
	r->s = xcalloc(r->cap, sizeof(*r->s));
	return r;
}

void tunpkt_routes_free(struct tunpkt_routes *r)
{
	if (!r)
		return;
	free(r->s);
	free(r);
}

/* The slot holding a, or NULL. */
static struct route_slot *find(const struct tunpkt_routes *r, const struct tun_addr *a)
{
	for (size_t i = route_hash(a) & (r->cap - 1), n = 0; n < r->cap; i = (i + 1) & (r->cap - 1), n++) {
		struct route_slot *s = &r->s[i];
		if (s->state == 0)
			return NULL;
		if (s->state == 1 && tun_addr_equal(&s->a, a))
			return s;
	}
	return NULL;
}

static void put(struct tunpkt_routes *r, const struct tun_addr *a, void *v)
{
	size_t i = route_hash(a) & (r->cap - 1);

	while (r->s[i].state == 1)
		i = (i + 1) & (r->cap - 1);
	if (r->s[i].state == 2)
		r->dead--;
	r->s[i] = (struct route_slot){ .a = *a, .v = v, .state = 1 };
	r->used++;
}

static void rehash(struct tunpkt_routes *r, size_t cap)
{
	struct route_slot *old = r->s;
	size_t n = r->cap;

	r->s = xcalloc(cap, sizeof(*r->s));
	r->cap = cap;
	r->used = r->dead = 0;
	for (size_t i = 0; i < n; i++)
		if (old[i].state == 1)
			put(r, &old[i].a, old[i].v);
	free(old);
}

int tunpkt_routes_add(struct tunpkt_routes *r, const struct tun_addr *a, void *v)
{
	if (find(r, a))
		return -1;
	if ((r->used + r->dead + 1) * 4 > r->cap * 3)
		rehash(r, r->used * 2 + 2 > r->cap ? r->cap * 2 : r->cap);
	put(r, a, v);
	return 0;
}

bool tunpkt_routes_del(struct tunpkt_routes *r, const struct tun_addr *a, const void *v)
{
	struct route_slot *s = find(r, a);

	if (!s || s->v != v)
		return false;
	s->state = 2;
	s->v = NULL;
	r->used--;
	r->dead++;
	return true;
}

void *tunpkt_routes_get(const struct tunpkt_routes *r, const struct tun_addr *a)
{
	struct route_slot *s = find(r, a);

	return s ? s->v : NULL;
}

size_t tunpkt_routes_count(const struct tunpkt_routes *r)
{
	return r->used;
}
