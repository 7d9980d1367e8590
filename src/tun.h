/* SPDX-License-Identifier: MIT */
/*
 * tun.h - the TUN device of the `tun` transport: open it with the virtio
 * offloads, give it its address and MTU, read and write packets, and the
 * small address helpers the router needs (CIDR parsing, prefix match, the
 * destination of a packet).
 *
 * Nothing here keeps global state, logs or touches a device other than the
 * one it is named: every failure comes back as -errno plus a one-line
 * message in the caller's buffer, for the caller to log.  Safe to call from
 * any thread.
 */
#ifndef SSS_TUN_H
#define SSS_TUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * With vnet, every packet read from or written to the device starts with a
 * struct virtio_net_hdr (linux/virtio_net.h, 10 bytes): flags, gso_type,
 * hdr_len, gso_size, csum_start, csum_offset.  tun_open() makes the kernel
 * use little-endian for its 16-bit fields on every host (TUNSETVNETLE), so
 * the header can cross the wire between hosts of any byte order unchanged.
 *
 * With TSO accepted, a read may return a GSO super-packet: one TCP packet
 * of up to TUN_MAX_PACKET bytes (headers included) with gso_type/gso_size
 * telling how to cut it into MTU-sized segments, and possibly a partial
 * checksum (VIRTIO_NET_HDR_F_NEEDS_CSUM).  Writing the same header and
 * packet into the peer's device lets its kernel finish the job, so the data
 * plane never looks inside.  A read buffer must therefore hold
 * TUN_VNET_HDR_LEN + TUN_MAX_PACKET bytes, whatever the MTU.
 */
#define TUN_VNET_HDR_LEN 10
#define TUN_MAX_PACKET 65536

/* What tun_open() got (*features_out), a bit set. */
enum tun_feature {
	TUN_FEAT_VNET = 1 << 0, /* IFF_VNET_HDR: packets carry the 10-byte header */
	TUN_FEAT_CSUM = 1 << 1, /* TUN_F_CSUM: reads may carry a partial checksum */
	TUN_FEAT_TSO4 = 1 << 2, /* TUN_F_TSO4: reads may be IPv4 TCP super-packets */
	TUN_FEAT_TSO6 = 1 << 3, /* TUN_F_TSO6: reads may be IPv6 TCP super-packets */
};

/* An IPv4 or IPv6 address: family AF_INET uses a[0..3] (network order),
 * AF_INET6 all 16 bytes. */
struct tun_addr {
	int family;
	uint8_t a[16];
};

/* An address with its prefix length, as in "10.9.0.2/24". */
struct tun_prefix {
	struct tun_addr addr;
	int len; /* 0..32 or 0..128 */
};

/*
 * Open /dev/net/tun and attach a TUN device (IFF_TUN | IFF_NO_PI, plus
 * IFF_VNET_HDR when vnet), non-blocking and close-on-exec.  ifname NULL or
 * "" lets the kernel pick ("tun%d"); an existing persistent TUN device of
 * that name is attached, anything else of that name is an error.  The name
 * the device got is copied into actual_name (len >= IFNAMSIZ, i.e. 16) when
 * it is not NULL.
 *
 * With vnet the header size is set to 10 and the offloads are negotiated:
 * CSUM+TSO4+TSO6, else CSUM+TSO4, else CSUM, else none; a kernel refusing
 * all of them is not an error.  *features_out (may be NULL) gets the
 * TUN_FEAT_* bits obtained.  The device is not configured or brought up:
 * that is tun_configure().
 *
 * Returns the fd (the caller owns it; closing it removes a non-persistent
 * device), or -errno with a message in err.
 */
int tun_open(const char *ifname, bool vnet, char *actual_name, size_t len, int *features_out,
	     char *err, size_t errlen);

/* "vnet,csum,tso4,tso6" (or "none") into buf; returns buf. */
const char *tun_features_str(int features, char *buf, size_t len);

/*
 * Give ifname the address cidr (IPv4 or IPv6, "a.b.c.d/len" or "v6/len";
 * rtnetlink RTM_NEWADDR with replace, so configuring twice is harmless;
 * other addresses already on the device are left alone), set its MTU and
 * bring it up.  The kernel adds the on-link route of the prefix.  An IPv6
 * address needs mtu >= 1280 (the kernel disables IPv6 below that): refused
 * with -EINVAL before anything is touched.  Returns once a packet to the
 * address is delivered locally (IPv6 finishes that from a kernel work item:
 * waited for, at most 2 s).  On failure the device may be half-configured
 * (MTU set, no address); the caller closes it.  Blocks on rtnetlink: call
 * it from a prepare step, not the packet loop.
 * Returns 0 or -errno with a message in err.
 */
int tun_configure(const char *ifname, const char *cidr, int mtu, char *err, size_t len);

/*
 * The hot MTU change: SIOCSIFMTU on ifname; open sessions and queued
 * packets are unaffected.  Lowering an IPv6 device below 1280 makes the
 * kernel drop its IPv6 addresses: callers with an IPv6 network.address
 * must refuse that first (the configuration's minimum is 576).
 * Returns 0 or -errno with a message in err.
 */
int tun_set_mtu(const char *ifname, int mtu, char *err, size_t len);

/* The current MTU of ifname, or -errno. */
int tun_get_mtu(const char *ifname);

/*
 * Parse "address/len" (IPv4 dotted quad or any inet_pton IPv6 form; the
 * prefix length in decimal, at most 32 or 128, no sign, no spaces).  The
 * address keeps its host bits ("10.9.0.2/24" stays 10.9.0.2).
 * Returns 0, or -EINVAL with *out untouched.
 */
int tun_parse_cidr(const char *cidr, struct tun_prefix *out);

/* Whether addr is inside p's network (same family, first p->len bits equal). */
bool tun_prefix_contains(const struct tun_prefix *p, const struct tun_addr *addr);

bool tun_addr_equal(const struct tun_addr *x, const struct tun_addr *y);

/* The address as text (inet_ntop) into buf (INET6_ADDRSTRLEN is enough);
 * returns buf, "?" for an unknown family. */
const char *tun_addr_str(const struct tun_addr *a, char *buf, size_t len);

/*
 * The destination address of an IP packet (the bytes after the vnet
 * header, if any).  Returns 0 with *dst filled, or -EINVAL when the packet
 * is shorter than its version's fixed header or the version is neither 4
 * nor 6.  Reads only the fixed header: a GSO super-packet is fine.
 */
int tun_packet_dst(const void *pkt, size_t len, struct tun_addr *dst);
/* The source address, likewise (the server checks it against the address
 * the client announced, so a client cannot speak for another). */
/* Whether a packet is what a host sends on any link by itself: to a
 * multicast or broadcast address, or from an IPv6 link-local address. */
bool tun_packet_link_noise(const void *pkt, size_t len);
int tun_packet_src(const void *pkt, size_t len, struct tun_addr *src);

/*
 * One packet in or out of the device (fd from tun_open, non-blocking).
 * With vnet, buf starts with the 10-byte header (see above).  A read
 * returns one whole packet; a buffer too short for it gets it truncated,
 * so give TUN_VNET_HDR_LEN + TUN_MAX_PACKET.  A write is one packet, all
 * or nothing.  Both return the byte count or -errno; EINTR is retried;
 * -EAGAIN from a read means nothing is queued.
 *
 * Drops: when the daemon reads too slowly the kernel drops on the device's
 * transmit queue, and a packet written faster than the stack takes it may
 * be dropped after a successful write; both show in the device's own
 * statistics (tx_dropped / rx_dropped under /sys/class/net/IF/statistics),
 * not here.
 */
ssize_t tun_read(int fd, void *buf, size_t len);
ssize_t tun_write(int fd, const void *buf, size_t len);
/* The same as one write of hdr (hlen bytes, the virtio header) followed by
 * pkt (len bytes), without copying them together. */
ssize_t tun_write2(int fd, const void *hdr, size_t hlen, const void *pkt, size_t len);

/*
 * Whether ifname is still the device with index ifindex (not renamed or
 * deleted) and can take mtu: the check a reload's prepare makes before the
 * commit calls tun_set_mtu.  Returns 0 or -errno with a message in err.
 */
int tun_check_mtu(const char *ifname, int ifindex, int mtu, char *err, size_t len);

#endif
