/* SPDX-License-Identifier: MIT */
/*
 * unit_tun.c - the TUN device for real: open with the virtio header and
 * offloads, address / MTU / link state as the kernel reports them, the hot
 * MTU change, ICMP and ICMPv6 echo through the device (the kernel answers;
 * with and without the 10-byte header), and a hand-driven TCP connection
 * that proves the offloads both ways: the kernel hands us a TSO
 * super-packet larger than the MTU, and accepts one we write.
 *
 * Needs root and /dev/net/tun; exits 77 (automake: skipped) otherwise.  The
 * tests run in a forked child, each in a fresh network namespace of its own
 * (unshare(CLONE_NEWNET)), so the host's network is never touched.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "testutil.h"
#include "tun.h"
#include "util.h"

#define BOUND_MS 3000
#define IFNAME "sss0"
#define LOCAL4 "10.77.0.1"
#define PEER4 "10.77.0.2"
#define LOCAL6 "fd00:77::1"
#define PEER6 "fd00:77::2"

/* ---- helpers -------------------------------------------------------- */

static void fresh_netns(void)
{
	if (unshare(CLONE_NEWNET) != 0) {
		perror("unshare(CLONE_NEWNET)");
		exit(99);
	}
}

/* Open and configure IFNAME in the current namespace; fatal on failure. */
static int open_configured(bool vnet, const char *cidr, int mtu, int *features)
{
	char err[256], name[IFNAMSIZ];
	int fd = tun_open(IFNAME, vnet, name, sizeof(name), features, err, sizeof(err));

	if (fd < 0)
		fprintf(stderr, "tun_open: %s\n", err);
	CU_ASSERT_FATAL(fd >= 0);
	if (tun_configure(IFNAME, cidr, mtu, err, sizeof(err)) != 0) {
		fprintf(stderr, "tun_configure: %s\n", err);
		CU_FAIL_FATAL("tun_configure");
	}
	return fd;
}

static int ifreq_ioctl(unsigned long req, struct ifreq *ifr)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), r;

	snprintf(ifr->ifr_name, IFNAMSIZ, "%s", IFNAME);
	r = ioctl(s, req, ifr);
	close(s);
	return r;
}

static uint32_t csum_add(uint32_t sum, const void *data, size_t len)
{
	const uint8_t *p = data;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static void put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v & 0xffff);
}

static unsigned get16(const uint8_t *p)
{
	return (unsigned)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) << 16 | get16(p + 2);
}

/* An IPv4 header at p for a packet of total length tot (checksummed). */
static void ipv4_header(uint8_t *p, size_t tot, int proto, const char *src, const char *dst)
{
	memset(p, 0, 20);
	p[0] = 0x45;
	put16(p + 2, (unsigned)tot);
	put16(p + 6, 0x4000); /* DF */
	p[8] = 64;
	p[9] = (uint8_t)proto;
	inet_pton(AF_INET, src, p + 12);
	inet_pton(AF_INET, dst, p + 16);
	put16(p + 10, (uint16_t)~csum_fold(csum_add(0, p, 20)));
}

/* The TCP/UDP pseudo-header sum of an IPv4 header at ip for len bytes. */
static uint32_t pseudo4(const uint8_t *ip, size_t len, int proto)
{
	uint8_t tail[4] = { 0, (uint8_t)proto, (uint8_t)(len >> 8), (uint8_t)len };

	return csum_add(csum_add(0, ip + 12, 8), tail, 4);
}

/*
 * Read packets from fd until match() accepts one or BOUND_MS passes; the
 * kernel sends its own (IPv6 router solicitations, MLD) that are skipped.
 * Returns the accepted packet's length (header included) or -1.
 */
static ssize_t read_until(int fd, uint8_t *buf, size_t cap, bool vnet,
			  bool (*match)(const uint8_t *pkt, size_t len, void *arg), void *arg)
{
	uint64_t deadline = now_ms() + BOUND_MS;
	size_t off = vnet ? TUN_VNET_HDR_LEN : 0;

	while (now_ms() < deadline) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&pfd, 1, (int)(deadline - now_ms())) <= 0)
			continue;
		n = tun_read(fd, buf, cap);
		if (n == -EAGAIN)
			continue;
		if (n < 0 || (size_t)n < off)
			return -1;
		if (getenv("TUN_TEST_DEBUG")) { /* every packet seen, for a failing match */
			fprintf(stderr, "read %zd:", n);
			for (ssize_t i = 0; i < n && i < 64; i++)
				fprintf(stderr, " %02x", buf[i]);
			fprintf(stderr, "\n");
		}
		if (match(buf + off, (size_t)n - off, arg))
			return n;
	}
	return -1;
}

/* ---- open, configure, MTU ------------------------------------------- */

static void test_open_configure(void)
{
	struct ifreq ifr;
	struct ethtool_value ev = { .cmd = ETHTOOL_GTSO };
	char feats[64], err[256];
	int features = 0, fd;

	fresh_netns();
	fd = open_configured(true, LOCAL4 "/24", 1400, &features);
	printf("\n    offloads accepted: %s\n    ", tun_features_str(features, feats, sizeof(feats)));
	CU_ASSERT_EQUAL(features, TUN_FEAT_VNET | TUN_FEAT_CSUM | TUN_FEAT_TSO4 | TUN_FEAT_TSO6);
	CU_ASSERT(fcntl(fd, F_GETFL) & O_NONBLOCK);
	CU_ASSERT(fcntl(fd, F_GETFD) & FD_CLOEXEC);

	memset(&ifr, 0, sizeof(ifr));
	CU_ASSERT_EQUAL(ifreq_ioctl(SIOCGIFMTU, &ifr), 0);
	CU_ASSERT_EQUAL(ifr.ifr_mtu, 1400);
	memset(&ifr, 0, sizeof(ifr));
	CU_ASSERT_EQUAL(ifreq_ioctl(SIOCGIFADDR, &ifr), 0);
	CU_ASSERT_STRING_EQUAL(inet_ntoa(((struct sockaddr_in *)&ifr.ifr_addr)->sin_addr), LOCAL4);
	memset(&ifr, 0, sizeof(ifr));
	CU_ASSERT_EQUAL(ifreq_ioctl(SIOCGIFNETMASK, &ifr), 0);
	CU_ASSERT_STRING_EQUAL(inet_ntoa(((struct sockaddr_in *)&ifr.ifr_netmask)->sin_addr),
			       "255.255.255.0");
	memset(&ifr, 0, sizeof(ifr));
	CU_ASSERT_EQUAL(ifreq_ioctl(SIOCGIFFLAGS, &ifr), 0);
	CU_ASSERT(ifr.ifr_flags & IFF_UP);
	/* the offload really reached the device */
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_data = (char *)&ev;
	CU_ASSERT_EQUAL(ifreq_ioctl(SIOCETHTOOL, &ifr), 0);
	CU_ASSERT_EQUAL(ev.data != 0, (features & TUN_FEAT_TSO4) != 0);

	/* configuring again is harmless */
	CU_ASSERT_EQUAL(tun_configure(IFNAME, LOCAL4 "/24", 1400, err, sizeof(err)), 0);

	/* the hot MTU change */
	CU_ASSERT_EQUAL(tun_set_mtu(IFNAME, 1300, err, sizeof(err)), 0);
	memset(&ifr, 0, sizeof(ifr));
	CU_ASSERT_EQUAL(ifreq_ioctl(SIOCGIFMTU, &ifr), 0);
	CU_ASSERT_EQUAL(ifr.ifr_mtu, 1300);
	CU_ASSERT_EQUAL(tun_get_mtu(IFNAME), 1300);
	memset(&ifr, 0, sizeof(ifr));
	CU_ASSERT_EQUAL(ifreq_ioctl(SIOCGIFADDR, &ifr), 0); /* the address stays */
	CU_ASSERT_STRING_EQUAL(inet_ntoa(((struct sockaddr_in *)&ifr.ifr_addr)->sin_addr), LOCAL4);

	close(fd);
	CU_ASSERT_EQUAL(if_nametoindex(IFNAME), 0); /* not persistent: gone with the fd */
}

static void test_kernel_name(void)
{
	char name[IFNAMSIZ] = "", err[256];
	int fd, features = -1;

	fresh_netns();
	fd = tun_open(NULL, false, name, sizeof(name), &features, err, sizeof(err));
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(features, 0); /* no header, no offloads */
	CU_ASSERT_EQUAL(strncmp(name, "tun", 3), 0);
	CU_ASSERT_NOT_EQUAL(if_nametoindex(name), 0);
	CU_ASSERT_FATAL(fcntl(fd, F_GETFL) & O_NONBLOCK); /* else the read below would hang */
	CU_ASSERT_EQUAL(tun_read(fd, name, sizeof(name)), -EAGAIN); /* down, empty: no wait */
	close(fd);
}

static void test_errors(void)
{
	char err[256] = "", small[4];
	int fd, feats;

	fresh_netns();
	CU_ASSERT_EQUAL(tun_open("a-name-way-too-long", true, NULL, 0, NULL, err, sizeof(err)),
			-EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "a-name-way-too-long"));
	fd = tun_open("lo", true, NULL, 0, NULL, err, sizeof(err)); /* not a TUN device */
	CU_ASSERT(fd < 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "TUNSETIFF lo"));
	CU_ASSERT_EQUAL(tun_open(IFNAME, true, small, sizeof(small), NULL, err, sizeof(err)),
			-ENAMETOOLONG);
	CU_ASSERT_EQUAL(if_nametoindex(IFNAME), 0); /* and nothing left behind */

	CU_ASSERT_EQUAL(tun_configure("nosuch0", LOCAL4 "/24", 1400, err, sizeof(err)), -ENODEV);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "nosuch0"));
	fd = tun_open(IFNAME, true, NULL, 0, &feats, err, sizeof(err));
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(tun_configure(IFNAME, "10.77.0.1", 1400, err, sizeof(err)), -EINVAL);
	CU_ASSERT_EQUAL(tun_configure(IFNAME, LOCAL6 "/64", 1000, err, sizeof(err)), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "1280"));
	CU_ASSERT_EQUAL(tun_get_mtu(IFNAME), 1500); /* refused before anything was touched */
	CU_ASSERT_EQUAL(tun_set_mtu(IFNAME, 20, err, sizeof(err)), -EINVAL); /* kernel: < 68 */
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "SIOCSIFMTU " IFNAME));
	CU_ASSERT_EQUAL(tun_get_mtu("nosuch0"), -ENODEV);
	/* a kernel refusal comes back with the kernel's own words, when it has
	 * some ("IPv6 is disabled on this device") */
	int f = open("/proc/sys/net/ipv6/conf/" IFNAME "/disable_ipv6", O_WRONLY | O_CLOEXEC);

	if (f >= 0) {
		CU_ASSERT_EQUAL(write(f, "1", 1), 1);
		close(f);
		CU_ASSERT(tun_configure(IFNAME, LOCAL6 "/64", 1400, err, sizeof(err)) < 0);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, "add address " LOCAL6 "/64 to " IFNAME));
		printf("\n    %s\n    ", err);
	}
	close(fd);
}

/* ---- echo through the device ---------------------------------------- */

struct echo {
	int family;
	uint16_t id, seq;
	const uint8_t *data;
	size_t dlen;
};

static bool is_echo_reply(const uint8_t *p, size_t n, void *arg)
{
	const struct echo *e = arg;
	const uint8_t *icmp;
	struct tun_addr dst;
	char txt[64];

	if (tun_packet_dst(p, n, &dst) < 0 || dst.family != e->family)
		return false;
	tun_addr_str(&dst, txt, sizeof(txt));
	if (e->family == AF_INET) {
		if (p[9] != 1 || n < 28 + e->dlen || strcmp(txt, PEER4) != 0)
			return false;
		icmp = p + (p[0] & 15) * 4;
		if (icmp[0] != 0) /* echo reply */
			return false;
	} else {
		if (p[6] != 58 || n < 48 + e->dlen || strcmp(txt, PEER6) != 0)
			return false;
		icmp = p + 40;
		if (icmp[0] != 129)
			return false;
	}
	return get16(icmp + 4) == e->id && get16(icmp + 6) == e->seq &&
	       memcmp(icmp + 8, e->data, e->dlen) == 0;
}

/* Build an echo request from the peer to the device's address at pkt. */
static size_t echo_request(uint8_t *pkt, const struct echo *e)
{
	size_t icmplen = 8 + e->dlen;
	uint8_t *icmp;

	if (e->family == AF_INET) {
		ipv4_header(pkt, 20 + icmplen, 1, PEER4, LOCAL4);
		icmp = pkt + 20;
		memset(icmp, 0, 8);
		icmp[0] = 8;
		put16(icmp + 4, e->id);
		put16(icmp + 6, e->seq);
		memcpy(icmp + 8, e->data, e->dlen);
		put16(icmp + 2, (uint16_t)~csum_fold(csum_add(0, icmp, icmplen)));
		return 20 + icmplen;
	}
	uint8_t tail[4] = { 0, 0, 0, 58 }, len32[4];

	memset(pkt, 0, 40);
	pkt[0] = 0x60;
	put16(pkt + 4, (unsigned)icmplen);
	pkt[6] = 58;
	pkt[7] = 64;
	inet_pton(AF_INET6, PEER6, pkt + 8);
	inet_pton(AF_INET6, LOCAL6, pkt + 24);
	icmp = pkt + 40;
	memset(icmp, 0, 8);
	icmp[0] = 128;
	put16(icmp + 4, e->id);
	put16(icmp + 6, e->seq);
	memcpy(icmp + 8, e->data, e->dlen);
	put32(len32, (uint32_t)icmplen);
	uint32_t sum = csum_add(csum_add(csum_add(0, pkt + 8, 32), len32, 4), tail, 4);

	put16(icmp + 2, (uint16_t)~csum_fold(csum_add(sum, icmp, icmplen)));
	return 40 + icmplen;
}

/* Ping the device's own address through it and check the kernel's reply. */
static void echo_roundtrip(bool vnet, int family)
{
	static uint8_t buf[TUN_VNET_HDR_LEN + TUN_MAX_PACKET];
	const uint8_t data[] = "sssonector echo payload 0123456789";
	struct echo e = { family, 0x5353, 7, data, sizeof(data) };
	size_t off = vnet ? TUN_VNET_HDR_LEN : 0, n;
	ssize_t r;
	int fd;

	fresh_netns();
	fd = open_configured(vnet, family == AF_INET ? LOCAL4 "/24" : LOCAL6 "/64", 1400, NULL);
	memset(buf, 0, off); /* a zero virtio header: a plain packet */
	n = off + echo_request(buf + off, &e);
	CU_ASSERT_EQUAL(tun_write(fd, buf, n), (ssize_t)n);
	memset(buf, 0xaa, sizeof(buf));
	r = read_until(fd, buf, sizeof(buf), vnet, is_echo_reply, &e);
	CU_ASSERT_FATAL(r > 0);
	if (vnet) {
		struct virtio_net_hdr h;

		memcpy(&h, buf, sizeof(h));
		CU_ASSERT_EQUAL(h.gso_type, VIRTIO_NET_HDR_GSO_NONE);
		CU_ASSERT_EQUAL(h.gso_size, 0);
		CU_ASSERT_EQUAL(h.flags & ~VIRTIO_NET_HDR_F_DATA_VALID, 0);
	}
	close(fd);
}

static void test_echo4_vnet(void) { echo_roundtrip(true, AF_INET); }
static void test_echo4_plain(void) { echo_roundtrip(false, AF_INET); }
static void test_echo6_vnet(void) { echo_roundtrip(true, AF_INET6); }

static void test_ipv6_address(void)
{
	struct ifaddrs *ifa, *i;
	char txt[64];
	bool found = false;
	int fd;

	fresh_netns();
	fd = open_configured(true, LOCAL6 "/64", 1400, NULL);
	CU_ASSERT_FATAL(getifaddrs(&ifa) == 0);
	for (i = ifa; i; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET6 || strcmp(i->ifa_name, IFNAME))
			continue;
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr, txt, sizeof(txt));
		if (strcmp(txt, LOCAL6) != 0)
			continue;
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)i->ifa_netmask)->sin6_addr, txt,
			  sizeof(txt));
		found = strcmp(txt, "ffff:ffff:ffff:ffff::") == 0;
	}
	freeifaddrs(ifa);
	CU_ASSERT_TRUE(found);
	close(fd);
}

/* ---- TCP through the offloads --------------------------------------- */

struct tcp_match {
	uint16_t lport;   /* the local socket's port (0: learn it from a SYN) */
	uint8_t flags;    /* TCP flags that must be set */
	bool want_gso;    /* only a super-packet */
	const uint8_t *vnet; /* the buffer start, to see the virtio header */
};

static bool is_tcp(const uint8_t *p, size_t n, void *arg)
{
	struct tcp_match *m = arg;
	const uint8_t *th;

	if (n < 40 || p[0] != 0x45 || p[9] != 6)
		return false;
	th = p + 20;
	if (get16(th + 2) != 5555 || (th[13] & m->flags) != m->flags)
		return false;
	if (m->lport && get16(th) != m->lport)
		return false;
	if (m->want_gso && m->vnet[1] != VIRTIO_NET_HDR_GSO_TCPV4)
		return false;
	return true;
}

/* A TCP segment from PEER4:5555 to the local port into pkt (after a
 * virtio header at pkt - 10 that the caller fills); the TCP checksum is
 * complete, or, with partial, only the pseudo-header sum (the kernel ends
 * it per segment).  Returns the IP packet length. */
static size_t tcp_segment(uint8_t *pkt, uint16_t lport, uint32_t seq, uint32_t ack, uint8_t flags,
			  const uint8_t *opt, size_t optlen, const uint8_t *data, size_t dlen,
			  bool partial)
{
	size_t thl = 20 + optlen, tot = 20 + thl + dlen;
	uint8_t *th = pkt + 20;

	ipv4_header(pkt, tot, 6, PEER4, LOCAL4);
	memset(th, 0, thl);
	put16(th, 5555);
	put16(th + 2, lport);
	put32(th + 4, seq);
	put32(th + 8, ack);
	th[12] = (uint8_t)((thl / 4) << 4);
	th[13] = flags;
	put16(th + 14, 65535);
	if (optlen)
		memcpy(th + 20, opt, optlen);
	if (dlen)
		memcpy(th + thl, data, dlen);
	uint32_t sum = pseudo4(pkt, thl + dlen, 6);

	if (partial)
		put16(th + 16, csum_fold(sum));
	else
		put16(th + 16, (uint16_t)~csum_fold(csum_add(sum, th, thl + dlen)));
	return tot;
}

static void test_tcp_offloads(void)
{
	static uint8_t buf[TUN_VNET_HDR_LEN + TUN_MAX_PACKET];
	static uint8_t out[TUN_VNET_HDR_LEN + 20000], data[12000], got[12000];
	const uint8_t synack_opt[] = { 2, 4, 1260 >> 8, 1260 & 0xff, 1, 3, 3, 7 }; /* MSS, WS */
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(5555) };
	struct tcp_match m = { .flags = 0x02, .vnet = buf }; /* SYN */
	uint8_t *ip = out + TUN_VNET_HDR_LEN;
	uint32_t isn, peer_isn = 1000;
	size_t n, have = 0;
	ssize_t r;
	int fd, s, features = 0;

	fresh_netns();
	fd = open_configured(true, LOCAL4 "/24", 1300, &features);
	/* Every kernel since 2.6.27 takes TSO on a TUN device: refusing it here
	 * means tun_open stopped asking. */
	CU_ASSERT_FATAL(features & TUN_FEAT_TSO4);
	s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	inet_pton(AF_INET, PEER4, &sin.sin_addr);
	CU_ASSERT_FATAL(connect(s, (struct sockaddr *)&sin, sizeof(sin)) < 0 && errno == EINPROGRESS);

	/* the kernel's SYN, then our SYN-ACK (MSS 1260, window scale 7) */
	r = read_until(fd, buf, sizeof(buf), true, is_tcp, &m);
	CU_ASSERT_FATAL(r > 0);
	m.lport = (uint16_t)get16(buf + TUN_VNET_HDR_LEN + 20);
	isn = get32(buf + TUN_VNET_HDR_LEN + 24);
	memset(out, 0, TUN_VNET_HDR_LEN);
	n = tcp_segment(ip, m.lport, peer_isn, isn + 1, 0x12, synack_opt, sizeof(synack_opt), NULL,
			0, false);
	CU_ASSERT_EQUAL_FATAL(tun_write(fd, out, TUN_VNET_HDR_LEN + n), (ssize_t)(TUN_VNET_HDR_LEN + n));
	struct pollfd pfd = { .fd = s, .events = POLLOUT };
	CU_ASSERT_FATAL(poll(&pfd, 1, BOUND_MS) == 1);
	CU_ASSERT_EQUAL_FATAL(connect(s, (struct sockaddr *)&sin, sizeof(sin)), 0);

	/* Read: the local socket sends more than a window's first flight;
	 * TSO hands it over as one super-packet bigger than the MTU. */
	memset(data, 'x', sizeof(data));
	for (int i = 0; i < 5; i++)
		(void)send(s, data, sizeof(data), MSG_DONTWAIT);
	m.flags = 0x10; /* ACK */
	m.want_gso = true;
	r = read_until(fd, buf, sizeof(buf), true, is_tcp, &m);
	CU_ASSERT_FATAL(r > 0);
	{
		struct virtio_net_hdr h;

		memcpy(&h, buf, sizeof(h));
		printf("\n    TSO read: %zd bytes, gso_size %u, csum_start %u, mtu 1300\n    ", r,
		       h.gso_size, h.csum_start);
		CU_ASSERT(r - TUN_VNET_HDR_LEN > 1300);
		CU_ASSERT(h.gso_size > 0 && h.gso_size <= 1260);
		CU_ASSERT(h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM);
		CU_ASSERT_EQUAL(h.csum_start, 20);
		CU_ASSERT_EQUAL(h.csum_offset, 16);
		CU_ASSERT_EQUAL(h.hdr_len >= 40, 1);
	}

	/* Write: 12000 bytes from the peer as one GSO packet with a partial
	 * checksum, as the far end's device would have handed it over. */
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 31 + 7);
	n = tcp_segment(ip, m.lport, peer_isn + 1, isn + 1, 0x18, NULL, 0, data, sizeof(data), true);
	{
		struct virtio_net_hdr h = {
			.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
			.gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
			.hdr_len = 40,
			.gso_size = 1260,
			.csum_start = 20,
			.csum_offset = 16,
		};
		memcpy(out, &h, sizeof(h));
	}
	CU_ASSERT_EQUAL_FATAL(tun_write(fd, out, TUN_VNET_HDR_LEN + n), (ssize_t)(TUN_VNET_HDR_LEN + n));
	uint64_t deadline = now_ms() + BOUND_MS;

	while (have < sizeof(got) && now_ms() < deadline) {
		pfd = (struct pollfd){ .fd = s, .events = POLLIN };
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		r = recv(s, got + have, sizeof(got) - have, 0);
		if (r <= 0)
			break;
		have += (size_t)r;
	}
	CU_ASSERT_EQUAL(have, sizeof(data));
	CU_ASSERT_EQUAL(memcmp(got, data, sizeof(data)), 0);
	close(s);
	close(fd);
}

/* ---- main ----------------------------------------------------------- */

static int run_tests(void)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 99;
	CU_pSuite s = CU_add_suite("tun", NULL, NULL);
	CU_add_test(s, "open with vnet, configure, MTU", test_open_configure);
	CU_add_test(s, "kernel-chosen name", test_kernel_name);
	CU_add_test(s, "errors", test_errors);
	CU_add_test(s, "IPv6 address", test_ipv6_address);
	CU_add_test(s, "ICMP echo with the virtio header", test_echo4_vnet);
	CU_add_test(s, "ICMP echo without it", test_echo4_plain);
	CU_add_test(s, "ICMPv6 echo with the virtio header", test_echo6_vnet);
	CU_add_test(s, "TCP: TSO super-packets read and written", test_tcp_offloads);
	return tu_run();
}

int main(void)
{
	int status;
	pid_t pid;

	if (geteuid() != 0) {
		printf("SKIP: needs root (creates TUN devices in a private network namespace)\n");
		return 77;
	}
	if (access("/dev/net/tun", R_OK | W_OK) != 0) {
		printf("SKIP: needs /dev/net/tun\n");
		return 77;
	}
	pid = fork();
	if (pid < 0)
		return 99;
	if (pid == 0) {
		if (unshare(CLONE_NEWNET) != 0) {
			printf("SKIP: cannot create a network namespace: %s\n", strerror(errno));
			_exit(77);
		}
		int r = run_tests();

		fflush(stdout);
		_exit(r);
	}
	if (waitpid(pid, &status, 0) != pid)
		return 99;
	if (WIFSIGNALED(status)) {
		fprintf(stderr, "test child killed by signal %d\n", WTERMSIG(status));
		return 99;
	}
	return WEXITSTATUS(status);
}
