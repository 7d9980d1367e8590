/* SPDX-License-Identifier: MIT */
/*
 * unit_tunpkt.c - the rules a tun end applies to its peer, table-driven:
 * which addresses a client may have, tunnel.peers entries, every way a
 * DATA frame's virtio/GSO header or IP header may be refused (and what an
 * accepted GSO packet costs the limiter), DATA_VALID never reaching the
 * kernel, the source check, and the route table under churn against a
 * simple model.
 */
#include <arpa/inet.h>
#include <linux/virtio_net.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "testutil.h"
#include "tunpkt.h"

static struct tun_addr a4(const char *s)
{
	struct tun_addr a = { .family = AF_INET };
	inet_pton(AF_INET, s, a.a);
	return a;
}

static struct tun_addr a6(const char *s)
{
	struct tun_addr a = { .family = AF_INET6 };
	inet_pton(AF_INET6, s, a.a);
	return a;
}

static void test_address_rules(void)
{
	struct tun_prefix net, net31, net6, claimed;
	struct {
		const struct tun_prefix *net;
		struct tun_addr a;
		const char *want; /* NULL: allowed */
	} cases[] = {
		{ &net, a4("10.9.0.2"), NULL },
		{ &net, a4("10.9.0.254"), NULL },
		{ &net, a4("10.9.0.0"), "is the subnet's network address" },
		{ &net, a4("10.9.0.255"), "is the subnet's broadcast address" },
		{ &net, a4("10.9.0.1"), "is this server's address" },
		{ &net, a4("10.9.1.2"), "is outside this server's subnet" },
		{ &net, a6("fd00::2"), "is outside this server's subnet" },
		{ &net31, a4("10.9.0.0"), NULL }, /* /31: both addresses are hosts */
		{ &net6, a6("fd00::2"), NULL },
		{ &net6, a6("fd00::"), "is the subnet's network address" },
		{ &net6, a6("fd00::ffff:ffff:ffff:ffff"), NULL }, /* no broadcast in IPv6 */
		{ &net6, a6("fd00::1"), "is this server's address" },
	};
	char buf[96];

	CU_ASSERT_FATAL(tun_parse_cidr("10.9.0.1/24", &net) == 0);
	CU_ASSERT_FATAL(tun_parse_cidr("10.9.0.1/31", &net31) == 0);
	CU_ASSERT_FATAL(tun_parse_cidr("fd00::1/64", &net6) == 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *got = tunpkt_address_problem(cases[i].net, &cases[i].a);
		if (cases[i].want) {
			CU_ASSERT(got && !strcmp(got, cases[i].want));
		} else {
			CU_ASSERT_PTR_NULL(got);
		}
	}
	CU_ASSERT_FATAL(tun_parse_cidr("10.9.0.2/24", &claimed) == 0);
	CU_ASSERT_PTR_NULL(tunpkt_prefix_problem(&net, &claimed, buf, sizeof(buf)));
	CU_ASSERT_FATAL(tun_parse_cidr("10.9.0.2/8", &claimed) == 0);
	CU_ASSERT(tunpkt_prefix_problem(&net, &claimed, buf, sizeof(buf)) &&
		  !strcmp(buf, "has prefix length /8, this server's subnet is /24"));
}

static void test_peer_entries(void)
{
	static const struct {
		const char *entry, *name, *addr; /* name NULL: refused */
	} cases[] = {
		{ "branch-1=10.9.0.2", "branch-1", "10.9.0.2" },
		{ "b.example.org=fd00::7", "b.example.org", "fd00::7" },
		{ "=10.9.0.2", NULL, NULL },
		{ "b=", NULL, NULL },
		{ "b", NULL, NULL },
		{ "b 1=10.9.0.2", "b 1", "10.9.0.2" }, /* pki_name_check refuses it later */
		{ "cn:Branch One=10.9.0.2", "cn:Branch One", "10.9.0.2" },
		{ "cn:a=b=10.9.0.2", "cn:a=b", "10.9.0.2" },
		{ " b=10.9.0.2", NULL, NULL },
		{ "b =10.9.0.2", NULL, NULL },
		{ "b\t=10.9.0.2", NULL, NULL },
		{ "b=10.9.0.2/24", NULL, NULL },
		{ "b=10.9.0.256", NULL, NULL },
		{ "b=10.9.0.2 ", NULL, NULL },
	};
	char name[64];
	struct tun_addr a;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = tunpkt_peer_parse(cases[i].entry, name, sizeof(name), &a);
		CU_ASSERT_EQUAL(r, cases[i].name ? 0 : -1);
		if (r == 0 && cases[i].name) {
			struct tun_addr want = strchr(cases[i].addr, ':') ? a6(cases[i].addr) : a4(cases[i].addr);
			CU_ASSERT_STRING_EQUAL(name, cases[i].name);
			CU_ASSERT(tun_addr_equal(&a, &want));
		}
	}
	/* a name longer than the caller's buffer is refused, not cut */
	CU_ASSERT_EQUAL(tunpkt_peer_parse("abcdefgh=10.9.0.2", name, 8, &a), -1);
}

/* ---- DATA payloads --------------------------------------------------------- */

struct pkt {
	uint8_t vnet[10];
	uint8_t ip[2000];
	size_t len;
};

static void put16le(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put16be(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* An IPv4 TCP packet 10.9.0.2 -> 10.9.0.1 with `payload` bytes, as a TSO
 * read would give it: GSO TCPV4, segments of gso bytes, partial checksum. */
static struct pkt tcp4(size_t payload, unsigned gso)
{
	struct pkt p = { 0 };

	p.len = 20 + 20 + payload;
	p.ip[0] = 0x45;
	put16be(p.ip + 2, (unsigned)p.len);
	p.ip[8] = 64;
	p.ip[9] = 6;
	memcpy(p.ip + 12, a4("10.9.0.2").a, 4);
	memcpy(p.ip + 16, a4("10.9.0.1").a, 4);
	p.ip[20 + 12] = 5 << 4; /* TCP data offset */
	p.vnet[0] = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	p.vnet[1] = gso ? VIRTIO_NET_HDR_GSO_TCPV4 : VIRTIO_NET_HDR_GSO_NONE;
	put16le(p.vnet + 2, 40);  /* hdr_len */
	put16le(p.vnet + 4, gso); /* gso_size */
	put16le(p.vnet + 6, 20);  /* csum_start */
	put16le(p.vnet + 8, 16);  /* csum_offset */
	return p;
}

static struct pkt tcp6(size_t payload, unsigned gso)
{
	struct pkt p = { 0 };

	p.len = 40 + 20 + payload;
	p.ip[0] = 0x60;
	put16be(p.ip + 4, (unsigned)(p.len - 40));
	p.ip[6] = 6;
	p.ip[7] = 64;
	memcpy(p.ip + 8, a6("fd00::2").a, 16);
	memcpy(p.ip + 24, a6("fd00::1").a, 16);
	p.ip[40 + 12] = 5 << 4;
	p.vnet[0] = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	p.vnet[1] = gso ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_NONE;
	put16le(p.vnet + 2, 60);
	put16le(p.vnet + 4, gso);
	put16le(p.vnet + 6, 40);
	put16le(p.vnet + 8, 16);
	return p;
}

static enum tunpkt_drop check(struct pkt *p, int mtu, const struct tun_addr *src, size_t *emitted)
{
	uint8_t out[10];
	size_t e = 0;
	enum tunpkt_drop d = tunpkt_check(p->vnet, p->ip, p->len, mtu, src, out, &e);

	if (emitted)
		*emitted = e;
	if (d == TUNPKT_OK)
		CU_ASSERT_FALSE(out[0] & VIRTIO_NET_HDR_F_DATA_VALID);
	return d;
}

static void test_data_checks(void)
{
	struct tun_addr src = a4("10.9.0.2"), other = a4("10.9.0.3");
	struct pkt p;
	size_t emitted;

	/* a plain packet passes and costs its length */
	p = tcp4(100, 0);
	CU_ASSERT_EQUAL(check(&p, 1500, &src, &emitted), TUNPKT_OK);
	CU_ASSERT_EQUAL(emitted, 140);
	/* DATA_VALID is dropped from what reaches the kernel */
	p.vnet[0] |= VIRTIO_NET_HDR_F_DATA_VALID;
	CU_ASSERT_EQUAL(check(&p, 1500, &src, NULL), TUNPKT_OK);
	/* another source */
	CU_ASSERT_EQUAL(check(&p, 1500, &other, NULL), TUNPKT_DROP_SPOOFED);
	/* a client's check does not look at sources */
	CU_ASSERT_EQUAL(check(&p, 1500, NULL, NULL), TUNPKT_OK);

	/* GSO: 1400 bytes in segments of 1000 (MTU 1500): two segments, the
	 * headers twice */
	p = tcp4(1400, 1000);
	CU_ASSERT_EQUAL(check(&p, 1500, &src, &emitted), TUNPKT_OK);
	CU_ASSERT_EQUAL(emitted, 1400 + 2 * 40);
	p = tcp6(1400, 1200);
	struct tun_addr s6 = a6("fd00::2");
	CU_ASSERT_EQUAL(check(&p, 1500, &s6, &emitted), TUNPKT_OK);
	CU_ASSERT_EQUAL(emitted, 1400 + 2 * 60);

	static const char *const bad[] = {
		"gso_size 1 (one packet per byte)", "gso_size below the minimum", "segments larger than the MTU",
		"TCPV6 on IPv4", "UDP segmentation from a peer", "GSO on UDP", "GSO without a partial checksum",
		"checksum not at the TCP checksum", "checksum start not at the TCP header", "hdr_len beyond the packet",
		"TCP header beyond the packet", "IP length shorter than the packet", "IP length longer than the packet",
		"IP header length beyond the packet", "checksum offset outside the packet",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		p = tcp4(1400, 1000);
		switch (i) {
		case 0: put16le(p.vnet + 4, 1); break;
		case 1: put16le(p.vnet + 4, TUNPKT_GSO_MIN - 1); break;
		case 2: put16le(p.vnet + 4, 1461); break;
		case 3: p.vnet[1] = VIRTIO_NET_HDR_GSO_TCPV6; break;
		case 4: p.vnet[1] = VIRTIO_NET_HDR_GSO_UDP; break;
		case 5: p.ip[9] = 17; break;
		case 6: p.vnet[0] = 0; break;
		case 7: put16le(p.vnet + 8, 6); break;
		case 8: put16le(p.vnet + 6, 24); break;
		case 9: put16le(p.vnet + 2, 1441); break;
		case 10: p.ip[20 + 12] = 15 << 4; p.len = 20 + 40; put16be(p.ip + 2, 60); break;
		case 11: put16be(p.ip + 2, 1000); break;
		case 12: put16be(p.ip + 2, 1500); break;
		case 13: p.ip[0] = 0x4f; p.len = 50; put16be(p.ip + 2, 50); break;
		case 14: put16le(p.vnet + 6, 1430); break;
		}
		enum tunpkt_drop d = check(&p, 1500, &src, NULL);
		if (d == TUNPKT_OK)
			fprintf(stderr, "\n    accepted: %s", bad[i]);
		CU_ASSERT(d == TUNPKT_DROP_GSO || d == TUNPKT_DROP_MALFORMED);
	}
	/* the MTU bounds segments: 1000 + 40 fits 1040, not 1039 */
	p = tcp4(1400, 1000);
	CU_ASSERT_EQUAL(check(&p, 1040, &src, NULL), TUNPKT_OK);
	CU_ASSERT_EQUAL(check(&p, 1039, &src, NULL), TUNPKT_DROP_GSO);
	/* IPv6 with an extension header is not segmented for a peer */
	p = tcp6(1400, 1200);
	p.ip[6] = 0; /* hop-by-hop */
	CU_ASSERT_EQUAL(check(&p, 1500, &s6, NULL), TUNPKT_DROP_GSO);
	/* too short for its version */
	p = tcp4(0, 0);
	p.len = 19;
	CU_ASSERT_EQUAL(check(&p, 1500, NULL, NULL), TUNPKT_DROP_MALFORMED);
}

/* ---- routes ---------------------------------------------------------------- */

static void test_routes(void)
{
	struct tunpkt_routes *r = tunpkt_routes_new();
	static int vals[4096];
	void *model[4096] = { 0 };
	struct tun_addr a;

	srand(3);
	for (int step = 0; step < 100000; step++) {
		int k = rand() % 4096;
		a = a4("10.0.0.0");
		a.a[2] = (uint8_t)(k >> 8);
		a.a[3] = (uint8_t)k;
		if (rand() % 3) {
			int ret = tunpkt_routes_add(r, &a, &vals[k]);
			CU_ASSERT_EQUAL(ret, model[k] ? -1 : 0);
			model[k] = &vals[k];
		} else {
			bool del = tunpkt_routes_del(r, &a, &vals[k]);
			CU_ASSERT_EQUAL(del, model[k] != NULL);
			model[k] = NULL;
		}
	}
	size_t n = 0;
	for (int k = 0; k < 4096; k++) {
		a = a4("10.0.0.0");
		a.a[2] = (uint8_t)(k >> 8);
		a.a[3] = (uint8_t)k;
		CU_ASSERT_PTR_EQUAL(tunpkt_routes_get(r, &a), model[k]);
		n += model[k] != NULL;
	}
	CU_ASSERT_EQUAL(tunpkt_routes_count(r), n);
	/* a route is only removed by its own session */
	a = a4("10.1.0.1");
	CU_ASSERT_EQUAL(tunpkt_routes_add(r, &a, &vals[1]), 0);
	CU_ASSERT_FALSE(tunpkt_routes_del(r, &a, &vals[2]));
	CU_ASSERT_PTR_EQUAL(tunpkt_routes_get(r, &a), &vals[1]);
	/* families do not meet */
	struct tun_addr v6 = { .family = AF_INET6 };
	memcpy(v6.a, a.a, 4);
	CU_ASSERT_PTR_NULL(tunpkt_routes_get(r, &v6));
	tunpkt_routes_free(r);
}

int main(void)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 99;
	CU_pSuite s = CU_add_suite("tunpkt", NULL, NULL);
	CU_add_test(s, "address rules", test_address_rules);
	CU_add_test(s, "tunnel.peers entries", test_peer_entries);
	CU_add_test(s, "DATA from a peer: GSO, lengths, DATA_VALID, source", test_data_checks);
	CU_add_test(s, "routes against a model", test_routes);
	return tu_run();
}
