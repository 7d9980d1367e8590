/* SPDX-License-Identifier: MIT */
/*
 * fuzz_tunpkt.c - the rules a tun end applies to its peer: the DATA check
 * (virtio/GSO header, IP lengths, source), the address rules, tunnel.peers
 * entries, and the route table under a fuzzer-chosen sequence of changes.
 *
 * Input: byte 0 picks the target.  Invariants (abort() when broken): an
 * accepted DATA payload never carries DATA_VALID to the kernel and costs
 * at least its length and at most its length plus one header set per
 * TUNPKT_GSO_MIN bytes; a spoofed source is never accepted; an address the
 * rules allow is inside the subnet and not the server's; a peer entry that
 * parses has a non-empty name without '=' or blanks; the route table
 * always agrees with a model.
 */
#include <linux/virtio_net.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tunpkt.h"

static void data_check(const uint8_t *d, size_t n)
{
	uint8_t out[TUN_VNET_HDR_LEN];
	size_t emitted = 0;
	struct tun_addr src = { 0 };

	if (n < 1 + 2 + 1 + 4 + TUN_VNET_HDR_LEN)
		return;
	int mtu = 576 + (d[0] << 8 | d[1]) % 8425; /* the configuration's range */
	bool with_src = d[2] & 1;
	src.family = AF_INET;
	memcpy(src.a, d + 3, 4);
	const uint8_t *vnet = d + 7, *pkt = d + 7 + TUN_VNET_HDR_LEN;
	size_t len = n - 7 - TUN_VNET_HDR_LEN;
	enum tunpkt_drop r = tunpkt_check(vnet, pkt, len, mtu, with_src ? &src : NULL, out, &emitted);
	if (r != TUNPKT_OK)
		return;
	if (out[0] & VIRTIO_NET_HDR_F_DATA_VALID)
		abort();
	if (emitted < len || emitted > len + (len / TUNPKT_GSO_MIN + 1) * 120)
		abort();
	if (with_src) {
		struct tun_addr s;
		if (tun_packet_src(pkt, len, &s) < 0 || !tun_addr_equal(&s, &src))
			abort();
	}
}

static void address(const uint8_t *d, size_t n)
{
	struct tun_prefix net;
	struct tun_addr a;

	if (n < 1 + 16 + 16)
		return;
	int v6 = d[0] & 1;
	net.addr.family = a.family = v6 ? AF_INET6 : AF_INET;
	net.len = d[0] % (v6 ? 129 : 33);
	memcpy(net.addr.a, d + 1, 16);
	memcpy(a.a, d + 17, 16);
	if (!v6) {
		memset(net.addr.a + 4, 0, 12);
		memset(a.a + 4, 0, 12);
	}
	if (tunpkt_address_problem(&net, &a))
		return;
	if (!tun_prefix_contains(&net, &a) || tun_addr_equal(&a, &net.addr))
		abort();
}

static void peer(const uint8_t *d, size_t n)
{
	char entry[300], name[256];
	struct tun_addr a;

	if (n >= sizeof(entry))
		n = sizeof(entry) - 1;
	memcpy(entry, d, n);
	entry[n] = '\0';
	if (tunpkt_peer_parse(entry, name, sizeof(name), &a) < 0)
		return;
	size_t len = strlen(name);
	if (!len || name[0] == ' ' || name[len - 1] == ' ')
		abort();
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)name[i] < ' ' || name[i] == 0x7f)
			abort();
}

static void routes(const uint8_t *d, size_t n)
{
	static int vals[64];
	void *model[64] = { 0 };
	struct tunpkt_routes *r = tunpkt_routes_new();

	for (size_t i = 0; i < n; i++) {
		int k = d[i] & 63;
		struct tun_addr a = { .family = AF_INET, .a = { 10, 0, 0, (uint8_t)k } };
		if (d[i] & 64) {
			int ret = tunpkt_routes_add(r, &a, &vals[k]);
			if ((ret == 0) != (model[k] == NULL))
				abort();
			model[k] = &vals[k];
		} else if (d[i] & 128) {
			if (tunpkt_routes_del(r, &a, &vals[k]) != (model[k] != NULL))
				abort();
			model[k] = NULL;
		} else if (tunpkt_routes_get(r, &a) != model[k]) {
			abort();
		}
	}
	tunpkt_routes_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	switch (data[0] % 4) {
	case 0: data_check(data + 1, size - 1); break;
	case 1: address(data + 1, size - 1); break;
	case 2: peer(data + 1, size - 1); break;
	case 3: routes(data + 1, size - 1); break;
	}
	return 0;
}
