/* SPDX-License-Identifier: MIT */
/*
 * tun.c - the TUN device: open with IFF_VNET_HDR and the checksum/TSO
 * offloads (so the kernel hands over 64 KiB TCP super-packets instead of
 * one system call per MTU-sized packet), address, MTU and link state, and
 * the address helpers the router uses.
 *
 * Every function works on the device or buffer it is given and nothing
 * else: no global state, no logging (failures come back as -errno and a
 * message for the caller's log), and no change to any other interface.
 */
#include "tun.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

_Static_assert(sizeof(struct virtio_net_hdr) == TUN_VNET_HDR_LEN, "virtio_net_hdr is 10 bytes");

#define IPV6_MIN_MTU 1280

/* Fill err with the formatted text followed by ": strerror(e)" when e is
 * not 0; returns -e so callers can "return fail(...)". */
__attribute__((format(printf, 4, 5)))
static int fail(char *err, size_t len, int e, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	if (!err || !len)
		return -e;
	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	n = strlen(err);
	if (e && n < len) {
		errno = e;
		snprintf(err + n, len - n, ": %m");
	}
	return -e;
}

static int copy_ifname(struct ifreq *ifr, const char *ifname)
{
	size_t n = strlen(ifname);

	if (n == 0 || n >= IFNAMSIZ)
		return -EINVAL;
	memcpy(ifr->ifr_name, ifname, n + 1);
	return 0;
}

/* ---- opening -------------------------------------------------------- */

/* The offload sets tried in order: TSO needs CSUM, so the fallbacks drop
 * TSO6, then TSO4, then everything. */
static const struct {
	unsigned int tun_f;
	int feat;
} offload_tries[] = {
	{ TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6, TUN_FEAT_CSUM | TUN_FEAT_TSO4 | TUN_FEAT_TSO6 },
	{ TUN_F_CSUM | TUN_F_TSO4, TUN_FEAT_CSUM | TUN_FEAT_TSO4 },
	{ TUN_F_CSUM, TUN_FEAT_CSUM },
	{ 0, 0 },
};

static bool host_is_little_endian(void)
{
	const uint16_t one = 1;

	return *(const uint8_t *)&one == 1;
}

int tun_open(const char *ifname, bool vnet, char *actual_name, size_t len, int *features_out,
	     char *err, size_t errlen)
{
	struct ifreq ifr;
	unsigned int supported = 0;
	int fd, ret, features = 0;
	const char *shown = ifname && *ifname ? ifname : "(any)";

	memset(&ifr, 0, sizeof(ifr));
	if (ifname && *ifname && copy_ifname(&ifr, ifname) < 0)
		return fail(err, errlen, EINVAL, "interface name %s: 1 to %d characters", ifname,
			    IFNAMSIZ - 1);
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI | (vnet ? IFF_VNET_HDR : 0);

	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return fail(err, errlen, errno, "open /dev/net/tun");
	if (vnet && ioctl(fd, TUNGETFEATURES, &supported) == 0 && !(supported & IFF_VNET_HDR)) {
		ret = fail(err, errlen, EOPNOTSUPP, "tun %s: kernel lacks IFF_VNET_HDR", shown);
		goto out;
	}
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		ret = fail(err, errlen, errno, "TUNSETIFF %s", shown);
		goto out;
	}
	if (vnet) {
		int sz = TUN_VNET_HDR_LEN, le = 1;

		features |= TUN_FEAT_VNET;
		if (ioctl(fd, TUNSETVNETHDRSZ, &sz) < 0) {
			ret = fail(err, errlen, errno, "TUNSETVNETHDRSZ %s", ifr.ifr_name);
			goto out;
		}
		/* Little-endian header fields on every host, so both ends agree.
		 * On a little-endian host that is already the legacy format. */
		if (ioctl(fd, TUNSETVNETLE, &le) < 0 && !host_is_little_endian()) {
			ret = fail(err, errlen, errno, "TUNSETVNETLE %s", ifr.ifr_name);
			goto out;
		}
		for (size_t i = 0; i < sizeof(offload_tries) / sizeof(offload_tries[0]); i++) {
			if (ioctl(fd, TUNSETOFFLOAD, (unsigned long)offload_tries[i].tun_f) == 0) {
				features |= offload_tries[i].feat;
				break;
			}
		}
	}
	if (actual_name && len) {
		size_t n = strnlen(ifr.ifr_name, IFNAMSIZ - 1);

		if (n >= len) {
			ret = fail(err, errlen, ENAMETOOLONG, "tun %s: name buffer too small",
				   ifr.ifr_name);
			goto out;
		}
		memcpy(actual_name, ifr.ifr_name, n);
		actual_name[n] = '\0';
	}
	if (features_out)
		*features_out = features;
	return fd;
out:
	close(fd);
	return ret;
}

const char *tun_features_str(int features, char *buf, size_t len)
{
	static const struct {
		int bit;
		const char *name;
	} names[] = {
		{ TUN_FEAT_VNET, "vnet" },
		{ TUN_FEAT_CSUM, "csum" },
		{ TUN_FEAT_TSO4, "tso4" },
		{ TUN_FEAT_TSO6, "tso6" },
	};
	size_t used = 0;

	if (!len)
		return buf;
	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!(features & names[i].bit))
			continue;
		int n = snprintf(buf + used, len - used, "%s%s", used ? "," : "", names[i].name);

		if (n < 0 || (size_t)n >= len - used)
			break;
		used += (size_t)n;
	}
	if (!used)
		snprintf(buf, len, "none");
	return buf;
}

/* ---- link settings (ioctl) ----------------------------------------- */

static int ctl_socket(void)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	return s < 0 ? -errno : s;
}

int tun_set_mtu(const char *ifname, int mtu, char *err, size_t len)
{
	struct ifreq ifr;
	int s, ret = 0;

	memset(&ifr, 0, sizeof(ifr));
	if (!ifname || copy_ifname(&ifr, ifname) < 0)
		return fail(err, len, EINVAL, "bad interface name");
	if (mtu <= 0 || mtu > TUN_MAX_PACKET - 1)
		return fail(err, len, EINVAL, "%s: MTU %d out of range", ifname, mtu);
	s = ctl_socket();
	if (s < 0)
		return fail(err, len, -s, "socket");
	ifr.ifr_mtu = mtu;
	if (ioctl(s, SIOCSIFMTU, &ifr) < 0)
		ret = fail(err, len, errno, "SIOCSIFMTU %s %d", ifname, mtu);
	close(s);
	return ret;
}

int tun_get_mtu(const char *ifname)
{
	struct ifreq ifr;
	int s, ret;

	memset(&ifr, 0, sizeof(ifr));
	if (!ifname || copy_ifname(&ifr, ifname) < 0)
		return -EINVAL;
	s = ctl_socket();
	if (s < 0)
		return s;
	ret = ioctl(s, SIOCGIFMTU, &ifr) < 0 ? -errno : ifr.ifr_mtu;
	close(s);
	return ret;
}

static int link_up(const char *ifname, char *err, size_t len)
{
	struct ifreq ifr;
	int s, ret = 0;

	memset(&ifr, 0, sizeof(ifr));
	if (copy_ifname(&ifr, ifname) < 0)
		return fail(err, len, EINVAL, "bad interface name");
	s = ctl_socket();
	if (s < 0)
		return fail(err, len, -s, "socket");
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) {
		ret = fail(err, len, errno, "SIOCGIFFLAGS %s", ifname);
	} else if (!(ifr.ifr_flags & IFF_UP)) {
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
			ret = fail(err, len, errno, "SIOCSIFFLAGS %s up", ifname);
	}
	close(s);
	return ret;
}

/* ---- the address (rtnetlink) ---------------------------------------- */

static void nl_put_attr(struct nlmsghdr *nh, unsigned short type, const void *data, size_t dlen)
{
	struct rtattr *rta = (struct rtattr *)((char *)nh + NLMSG_ALIGN(nh->nlmsg_len));

	rta->rta_type = type;
	rta->rta_len = (unsigned short)RTA_LENGTH(dlen);
	memcpy(RTA_DATA(rta), data, dlen);
	nh->nlmsg_len = NLMSG_ALIGN(nh->nlmsg_len) + RTA_ALIGN(rta->rta_len);
}

/* The kernel's extended-ack text, if it sent one, into msg. */
static void nl_ext_msg(const struct nlmsghdr *nh, char *msg, size_t len)
{
	const struct nlmsgerr *e = NLMSG_DATA(nh);
	size_t off = sizeof(*e);
	size_t total = nh->nlmsg_len - NLMSG_HDRLEN;

	msg[0] = '\0';
	if (!(nh->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	if (!(nh->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len - sizeof(e->msg); /* the echoed request's payload */
	off = NLMSG_ALIGN(off);
	while (off + sizeof(struct nlattr) <= total) {
		const struct nlattr *a = (const struct nlattr *)((const char *)e + off);

		if (a->nla_len < sizeof(*a) || off + a->nla_len > total)
			return;
		if ((a->nla_type & NLA_TYPE_MASK) == NLMSGERR_ATTR_MSG) {
			snprintf(msg, len, " (%.*s)", (int)(a->nla_len - sizeof(*a)),
				 (const char *)(a + 1));
			return;
		}
		off += NLA_ALIGN(a->nla_len);
	}
}

/*
 * Send req (NLM_F_REQUEST | NLM_F_ACK are added) on a fresh rtnetlink
 * socket and read until its ack; every other answer to it is passed to cb.
 * Returns 0, or -errno with the kernel's extended-ack text (" (...)" or "")
 * in ext.
 */
static int nl_talk(struct nlmsghdr *req, void (*cb)(const struct nlmsghdr *h, void *arg),
		   void *arg, char *ext, size_t extlen)
{
	union {
		struct nlmsghdr nh;
		char buf[8192];
	} ans;
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	int s, one = 1, ret;
	ssize_t n;

	ext[0] = '\0';
	req->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	req->nlmsg_seq = 1;
	s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (s < 0)
		return -errno;
	(void)setsockopt(s, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	if (sendto(s, req, req->nlmsg_len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		ret = -errno;
		goto out;
	}
	for (;;) {
		do
			n = recv(s, &ans, sizeof(ans), 0);
		while (n < 0 && errno == EINTR);
		if (n < 0) {
			ret = -errno;
			goto out;
		}
		/* NLMSG_OK/NLMSG_NEXT by hand: the macros mix signed and unsigned. */
		for (size_t off = 0; off + sizeof(struct nlmsghdr) <= (size_t)n;) {
			struct nlmsghdr *h = (struct nlmsghdr *)(ans.buf + off);

			if (h->nlmsg_len < sizeof(*h) || h->nlmsg_len > (size_t)n - off)
				break;
			off += NLMSG_ALIGN(h->nlmsg_len);
			if (h->nlmsg_seq != req->nlmsg_seq)
				continue;
			if (h->nlmsg_type != NLMSG_ERROR) {
				if (cb)
					cb(h, arg);
				continue;
			}
			if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct nlmsgerr))) {
				ret = -EPROTO;
				goto out;
			}
			const struct nlmsgerr *e = NLMSG_DATA(h);

			if (e->error)
				nl_ext_msg(h, ext, extlen);
			ret = e->error;
			goto out;
		}
	}
out:
	close(s);
	return ret;
}

union nl_req {
	struct nlmsghdr nh;
	char buf[256];
};

/* RTM_NEWADDR for p on ifname, create-or-replace. */
static int add_address(const char *ifname, const struct tun_prefix *p, const char *cidr,
		       char *err, size_t len)
{
	union nl_req req;
	unsigned int ifindex = if_nametoindex(ifname);
	size_t alen = p->addr.family == AF_INET ? 4 : 16;
	char ext[160];
	int ret;

	if (!ifindex)
		return fail(err, len, errno, "%s", ifname);
	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifaddrmsg));
	req.nh.nlmsg_type = RTM_NEWADDR;
	req.nh.nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE;
	struct ifaddrmsg *ifa = NLMSG_DATA(&req.nh);

	ifa->ifa_family = (unsigned char)p->addr.family;
	ifa->ifa_prefixlen = (unsigned char)p->len;
	ifa->ifa_index = ifindex;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	if (p->addr.family == AF_INET6)
		ifa->ifa_flags = IFA_F_NODAD; /* nobody else on a TUN link */
	/* LOCAL == ADDRESS: no peer, so the kernel adds the prefix route. */
	nl_put_attr(&req.nh, IFA_LOCAL, p->addr.a, alen);
	nl_put_attr(&req.nh, IFA_ADDRESS, p->addr.a, alen);
	ret = nl_talk(&req.nh, NULL, NULL, ext, sizeof(ext));
	if (ret < 0)
		return fail(err, len, -ret, "add address %s to %s%s", cidr, ifname, ext);
	return 0;
}

static void route_type_cb(const struct nlmsghdr *h, void *arg)
{
	if (h->nlmsg_type == RTM_NEWROUTE && h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct rtmsg)))
		*(int *)arg = ((const struct rtmsg *)NLMSG_DATA(h))->rtm_type;
}

/*
 * Wait until a packet to addr is delivered locally ("ip route get" says
 * local).  IPv4 is at once; IPv6 inserts the address's local route from a
 * work item (its DAD step, even with NODAD), so a packet arriving right
 * after the address was added can otherwise be dropped.
 */
static int wait_local(const char *ifname, const struct tun_prefix *p, const char *cidr,
		      char *err, size_t len)
{
	size_t alen = p->addr.family == AF_INET ? 4 : 16;
	char ext[160];

	for (int tries = 0; tries < 2000; tries++) {
		union nl_req req;
		int type = -1, ret;

		memset(&req, 0, sizeof(req));
		req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg));
		req.nh.nlmsg_type = RTM_GETROUTE;
		struct rtmsg *rt = NLMSG_DATA(&req.nh);

		rt->rtm_family = (unsigned char)p->addr.family;
		rt->rtm_dst_len = (unsigned char)(alen * 8);
		nl_put_attr(&req.nh, RTA_DST, p->addr.a, alen);
		ret = nl_talk(&req.nh, route_type_cb, &type, ext, sizeof(ext));
		if (ret < 0 && ret != -ENETUNREACH && ret != -EHOSTUNREACH)
			return fail(err, len, -ret, "route get %s on %s%s", cidr, ifname, ext);
		if (type == RTN_LOCAL)
			return 0;
		usleep(1000);
	}
	return fail(err, len, ETIMEDOUT, "%s: address %s not local after 2 s", ifname, cidr);
}

int tun_configure(const char *ifname, const char *cidr, int mtu, char *err, size_t len)
{
	struct tun_prefix p;
	int ret;

	if (!ifname || !cidr || tun_parse_cidr(cidr, &p) < 0)
		return fail(err, len, EINVAL, "bad address %s (want address/prefix)",
			    cidr ? cidr : "(none)");
	if (p.addr.family == AF_INET6 && mtu < IPV6_MIN_MTU)
		return fail(err, len, EINVAL, "%s: IPv6 address %s needs an MTU of at least %d (got %d)",
			    ifname, cidr, IPV6_MIN_MTU, mtu);
	ret = tun_set_mtu(ifname, mtu, err, len);
	if (ret == 0)
		ret = add_address(ifname, &p, cidr, err, len);
	if (ret == 0)
		ret = link_up(ifname, err, len);
	if (ret == 0)
		ret = wait_local(ifname, &p, cidr, err, len);
	return ret;
}

/* ---- addresses ------------------------------------------------------ */

int tun_parse_cidr(const char *cidr, struct tun_prefix *out)
{
	char addr[INET6_ADDRSTRLEN + 1];
	const char *slash;
	struct tun_prefix p;
	size_t n;
	int max;

	if (!cidr || !(slash = strchr(cidr, '/')))
		return -EINVAL;
	n = (size_t)(slash - cidr);
	if (n == 0 || n >= sizeof(addr))
		return -EINVAL;
	memcpy(addr, cidr, n);
	addr[n] = '\0';
	memset(&p, 0, sizeof(p));
	if (inet_pton(AF_INET, addr, p.addr.a) == 1) {
		p.addr.family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, addr, p.addr.a) == 1) {
		p.addr.family = AF_INET6;
		max = 128;
	} else {
		return -EINVAL;
	}
	n = strlen(slash + 1);
	if (n == 0 || n > 3)
		return -EINVAL;
	for (const char *d = slash + 1; *d; d++) {
		if (*d < '0' || *d > '9')
			return -EINVAL;
		p.len = p.len * 10 + (*d - '0');
	}
	if (p.len > max)
		return -EINVAL;
	*out = p;
	return 0;
}

bool tun_prefix_contains(const struct tun_prefix *p, const struct tun_addr *addr)
{
	int full = p->len / 8, rest = p->len % 8;

	if (p->addr.family != addr->family || (p->addr.family != AF_INET && p->addr.family != AF_INET6))
		return false;
	if (memcmp(p->addr.a, addr->a, (size_t)full) != 0)
		return false;
	if (rest) {
		uint8_t mask = (uint8_t)(0xff << (8 - rest));

		return (p->addr.a[full] & mask) == (addr->a[full] & mask);
	}
	return true;
}

bool tun_addr_equal(const struct tun_addr *x, const struct tun_addr *y)
{
	size_t n = x->family == AF_INET ? 4 : 16;

	return x->family == y->family && memcmp(x->a, y->a, n) == 0;
}

const char *tun_addr_str(const struct tun_addr *a, char *buf, size_t len)
{
	if ((a->family != AF_INET && a->family != AF_INET6) ||
	    !inet_ntop(a->family, a->a, buf, (socklen_t)len))
		snprintf(buf, len, "?");
	return buf;
}

int tun_packet_dst(const void *pkt, size_t len, struct tun_addr *dst)
{
	const uint8_t *b = pkt;

	if (len < 1)
		return -EINVAL;
	memset(dst, 0, sizeof(*dst));
	switch (b[0] >> 4) {
	case 4:
		if (len < 20)
			return -EINVAL;
		dst->family = AF_INET;
		memcpy(dst->a, b + 16, 4);
		return 0;
	case 6:
		if (len < 40)
			return -EINVAL;
		dst->family = AF_INET6;
		memcpy(dst->a, b + 24, 16);
		return 0;
	default:
		return -EINVAL;
	}
}

int tun_packet_src(const void *pkt, size_t len, struct tun_addr *src)
{
	const uint8_t *b = pkt;

	if (tun_packet_dst(pkt, len, src) < 0)
		return -EINVAL;
	if (src->family == AF_INET)
		memcpy(src->a, b + 12, 4);
	else
		memcpy(src->a, b + 8, 16);
	return 0;
}

/* ---- packets -------------------------------------------------------- */

ssize_t tun_read(int fd, void *buf, size_t len)
{
	ssize_t n;

	do
		n = read(fd, buf, len);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

ssize_t tun_write(int fd, const void *buf, size_t len)
{
	ssize_t n;

	do
		n = write(fd, buf, len);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

ssize_t tun_write2(int fd, const void *hdr, size_t hlen, const void *pkt, size_t len)
{
	struct iovec iov[2] = { { (void *)hdr, hlen }, { (void *)pkt, len } };
	ssize_t n;

	do
		n = writev(fd, iov, 2);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

int tun_check_mtu(const char *ifname, int ifindex, int mtu, char *err, size_t len)
{
	unsigned int now = ifname ? if_nametoindex(ifname) : 0;

	if (!now || (int)now != ifindex)
		return fail(err, len, ENODEV, "%s is no longer the tunnel's device (renamed or deleted)",
			    ifname ? ifname : "(none)");
	if (mtu <= 0 || mtu > TUN_MAX_PACKET - 1)
		return fail(err, len, EINVAL, "%s: MTU %d out of range", ifname, mtu);
	if (tun_get_mtu(ifname) < 0)
		return fail(err, len, ENODEV, "%s: cannot read its MTU", ifname);
	return 0;
}

/* Traffic a host sends on any link by itself (IPv6 router solicitations
 * from the device's fe80:: address, multicast): not for the tunnel, and
 * not a drop worth counting. */
bool tun_packet_link_noise(const void *pkt, size_t len)
{
	struct tun_addr src, dst;

	if (tun_packet_dst(pkt, len, &dst) < 0 || tun_packet_src(pkt, len, &src) < 0)
		return false;
	if (dst.family == AF_INET)
		return (dst.a[0] & 0xf0) == 0xe0 || (dst.a[0] == 255 && dst.a[1] == 255 && dst.a[2] == 255 && dst.a[3] == 255);
	return dst.a[0] == 0xff || (src.a[0] == 0xfe && (src.a[1] & 0xc0) == 0x80);
}
