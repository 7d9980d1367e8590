/* SPDX-License-Identifier: MIT */
/*
 * tunneldev.c - the `tun` transport's device side: reading the TUN device
 * and routing each packet to its session's queue, writing what peers send
 * into the device once tunpkt.c has judged it (the limiter charged what the
 * kernel will emit), and the device's MTU (checked in a reload's prepare,
 * set in its commit, both on the control thread).
 *
 * Reading stops (backpressure) while the buckets are empty or the only
 * session's queue is full; a packet with no route is counted, never
 * queued.  Data-plane thread, except setup/prepare/commit.
 */
#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "stats.h"
#include "tunnelpriv.h"
#include "tunpkt.h"

/* ---- the TUN device ------------------------------------------------------------------ */

/* The session a packet read from the device goes to. */
static struct tsession *route(struct tunnel *t, const uint8_t *pkt, size_t len)
{
	struct tun_addr dst;

	if (!t->server)
		return TAILQ_FIRST(&t->up);
	if (tun_packet_dst(pkt, len, &dst) < 0)
		return NULL;
	return tunpkt_routes_get(t->routes, &dst);
}

/* Read the TUN device while there is room and tokens. */
void tunneldev_on_tun(struct loop *l, struct loop_handler *h, uint32_t events)
{
	struct tunnel *t = container_of(h, struct tunnel, tun_h);
	struct tunnel_stats *st = session_layer_stats(t->sl);
	enum throttle_dir dir = tunnel_tun_dir(t);

	for (int i = 0; i < TUN_BATCH; i++) {
		if (!session_allow(t->sl, dir, TUN_MAX_PACKET)) {
			t->tun_throttled = true;
			break;
		}
		/* Read straight behind a frame header in the only session's queue
		 * when there is one (the common client case); else into a spill
		 * buffer and copy once the route is known. */
		struct tsession *only = TAILQ_FIRST(&t->up);
		if (only && TAILQ_NEXT(only, up_link))
			only = NULL;
		if (only && tunnel_out_room(only, PKT_ROOM) < PKT_ROOM)
			break; /* the session's queue is full (backpressure), or it closed */
		uint8_t *dst = only ? only->out.d + only->out.w : t->spill;
		ssize_t n = tun_read(h->fd, dst + FRAME_HDR_LEN, FRAME_MAX_PAYLOAD);
		if (n < 0) {
			if (n != -EAGAIN && session_log_allowed(t->sl, "tun_read_failed", "error"))
				log_warning("tunnel", "event=tun_read_failed error=%s", strerror((int)-n));
			break;
		}
		size_t plen = (size_t)n;
		if (plen < FRAME_MIN_DATA)
			continue;
		const uint8_t *ip = dst + FRAME_HDR_LEN + FRAME_VNET_LEN;
		struct tsession *ts = route(t, ip, plen - FRAME_VNET_LEN);
		if (!ts) {
			if (!tun_packet_link_noise(ip, plen - FRAME_VNET_LEN))
				atomic_fetch_add_explicit(&st->tun_drop[TUN_DROP_NO_ROUTE], 1, memory_order_relaxed);
			continue;
		}
		if (ts != only) {
			if (tunnel_out_room(ts, FRAME_HDR_LEN + plen) < FRAME_HDR_LEN + plen) {
				if (ts->s.state != SESSION_CLOSED)
					session_count_drop(&ts->s, SESSION_DROP_QUEUE);
				continue;
			}
			memcpy(ts->out.d + ts->out.w + FRAME_HDR_LEN, dst + FRAME_HDR_LEN, plen);
		}
		frame_put_header(ts->out.d + ts->out.w, FRAME_DATA, plen);
		ts->out.w += FRAME_HDR_LEN + plen;
		session_consume(t->sl, &ts->s, dir, plen - FRAME_VNET_LEN);
		session_count_packet(&ts->s, false);
		atomic_fetch_add_explicit(dir == THROTTLE_UP ? &st->packets_up : &st->packets_down, 1,
					  memory_order_relaxed);
		if (pbuf_pending(&ts->out) >= TLS_CHUNK && !tunnel_flush(ts, false))
			continue;
	}
	struct tsession *ts, *next;
	TAILQ_FOREACH_SAFE(ts, &t->up, up_link, next) {
		if ((pbuf_pending(&ts->out) || tlsio_unsent(&ts->io)) && !tunnel_flush(ts, true))
			continue;
		tunnel_session_idle(ts);
		tunnel_session_watch(ts);
	}
	tunneldev_watch(t);
}

/* Read the TUN device only when the data can go somewhere. */
void tunneldev_watch(struct tunnel *t)
{
	struct tsession *only = TAILQ_FIRST(&t->up);
	bool ok = !t->tun_throttled;

	if (t->tun_h.fd < 0 || t->stopping)
		return;
	if (ok && only && !TAILQ_NEXT(only, up_link))
		ok = tunnel_out_space(only) >= PKT_ROOM;
	loop_watch(t->loop, &t->tun_h, ok ? EPOLLIN : 0);
}

void tunneldev_unthrottled(void *ctx)
{
	struct tunnel *t = ctx;

	t->tun_throttled = false;
	tunneldev_watch(t);
}

/* A DATA frame: judged (tunpkt.c), then into the device. */
void tunneldev_deliver(struct tsession *ts, const struct frame *f)
{
	struct tunnel *t = ts->t;
	struct tunnel_stats *st = session_layer_stats(t->sl);
	const uint8_t *ip = f->payload + FRAME_VNET_LEN;
	size_t iplen = f->len - FRAME_VNET_LEN, emitted;
	uint8_t hdr[TUN_VNET_HDR_LEN];
	static const enum session_drop as_drop[TUNPKT_DROP_N] = {
		[TUNPKT_DROP_SPOOFED] = SESSION_DROP_SPOOFED,
		[TUNPKT_DROP_GSO] = SESSION_DROP_BAD_GSO,
		[TUNPKT_DROP_MALFORMED] = SESSION_DROP_MALFORMED,
	};

	enum tunpkt_drop d = tunpkt_check(f->payload, ip, iplen, atomic_load(&t->mtu),
					  t->server ? &ts->addr.addr : NULL, hdr, &emitted);
	if (d != TUNPKT_OK) {
		/* a host's own link chatter from another address is not an attack */
		if (d == TUNPKT_DROP_SPOOFED && tun_packet_link_noise(ip, iplen))
			return;
		session_count_drop(&ts->s, as_drop[d]);
		if (session_log_allowed(t->sl, "dropped", tunpkt_drop_name(d)))
			log_warning("tunnel", "event=%s id=%llu peer=%s", tunpkt_drop_name(d),
				    (unsigned long long)ts->s.rec.id, ts->s.peer);
		return;
	}
	session_consume(t->sl, &ts->s, tunnel_peer_dir(t), emitted);
	session_count_packet(&ts->s, true);
	atomic_fetch_add_explicit(t->server ? &st->packets_up : &st->packets_down, 1, memory_order_relaxed);
	if (tun_write2(t->tun_h.fd, hdr, sizeof(hdr), ip, iplen) < 0)
		session_count_drop(&ts->s, SESSION_DROP_DEVICE);
}

int tunneldev_setup(void *tp, const struct config *c, struct cfg_errors *errs)
{
	struct tunnel *t = tp;
	char err[256], feat[128];
	int line = c->line[cfg_setting_index(cfg_setting_find("network.interface"))];

	if (tun_parse_cidr(c->network.address, &t->net) < 0) {
		cfg_errors_add(errs, c->path, 0, "network.address", c->network.address, "not a CIDR");
		return -1;
	}
	int fd = tun_open(c->network.interface, true, t->ifname, sizeof(t->ifname), &t->features, err,
			  sizeof(err));
	if (fd < 0) {
		cfg_errors_add(errs, c->path, line, "network.interface", c->network.interface,
			       "cannot create the TUN device: %s", err);
		return -1;
	}
	if (tun_configure(t->ifname, c->network.address, c->network.mtu, err, sizeof(err)) < 0) {
		close(fd);
		cfg_errors_add(errs, c->path, line, "network.address", c->network.address,
			       "cannot configure %s: %s", t->ifname, err);
		return -1;
	}
	t->tun_h.fd = fd;
	t->ifindex = (int)if_nametoindex(t->ifname);
	atomic_store(&t->mtu, c->network.mtu);
	t->server = c->mode == CFG_MODE_SERVER;
	log_info("tunnel", "event=tun_up interface=%s address=%s mtu=%d offloads=%s", t->ifname,
		 c->network.address, c->network.mtu, tun_features_str(t->features, feat, sizeof(feat)));
	return 0;
}

/* A new network.mtu: the device must still be ours and take it. */
int tunneldev_prepare(void *tp, const struct config *old, const struct config *new_cfg, struct cfg_errors *errs)
{
	struct tunnel *t = tp;
	char err[256];
	size_t i = cfg_setting_index(cfg_setting_find("network.mtu"));

	if (old->network.mtu == new_cfg->network.mtu)
		return 0;
	if (tun_check_mtu(t->ifname, t->ifindex, new_cfg->network.mtu, err, sizeof(err)) < 0) {
		cfg_errors_add(errs, (new_cfg->has >> i) & 1 && new_cfg->src[i] ? new_cfg->src[i] : new_cfg->path,
			       new_cfg->line[i], "network.mtu", NULL, "cannot set the MTU of %s: %s", t->ifname, err);
		return -1;
	}
	return 0;
}

void tunneldev_commit(void *tp, const struct config *c)
{
	struct tunnel *t = tp;
	char err[256], q[300];

	if (atomic_load(&t->mtu) == c->network.mtu)
		return;
	if (tun_set_mtu(t->ifname, c->network.mtu, err, sizeof(err)) < 0) {
		/* prepare checked it: only a race with another program ends here */
		log_error("tunnel", "event=mtu_failed interface=%s mtu=%d error=%s", t->ifname, c->network.mtu,
			  log_quote(err, q, sizeof(q)));
		return;
	}
	atomic_store(&t->mtu, c->network.mtu);
	log_info("tunnel", "event=mtu_changed interface=%s mtu=%d", t->ifname, c->network.mtu);
}

