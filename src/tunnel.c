/* SPDX-License-Identifier: MIT */
/*
 * tunnel.c - the `tun` transport, like the original SSSonector.
 *
 * Each end has a TUN device with virtio-net headers and TCP segmentation
 * offload, so one read can give a 64 KiB TCP super-packet.  A client keeps
 * one TLS session to the server, announces its tunnel address (HELLO), and
 * the server admits it (WELCOME) when the address lies in the server's
 * subnet and is free.  IP packets travel as DATA frames (frame.c); the
 * server routes by destination address.  Keepalives detect a dead peer
 * (3 x tunnel.keepalive_s of silence); the client reconnects with a
 * jittered exponential backoff capped at 30 s.
 *
 * Like any IP link this one may drop: a full TUN queue, a packet for no
 * known client, a slow client while others are busy.  Drops are counted,
 * never hidden.  A malformed frame closes its session only.  Runs on the
 * data-plane thread only, except setup() (startup prepare).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "config.h"
#include "dataplane.h"
#include "frame.h"
#include "log.h"
#include "net.h"
#include "stats.h"
#include "tls.h"
#include "transport.h"
#include "tun.h"

#define OUT_SIZE (1024 * 1024)  /* queued frames per session */
#define PKT_ROOM (FRAME_HDR_LEN + FRAME_MAX_PAYLOAD)
#define IN_SIZE (128 * 1024)    /* one SSL_read */
#define TLS_CHUNK (64 * 1024)
#define TUN_BATCH 64            /* packets per TUN wake-up */
#define BACKOFF_MIN_MS 500
#define BACKOFF_MAX_MS 30000

enum ts_state { TS_CONNECT, TS_HANDSHAKE, TS_HELLO, TS_UP };

struct tsession {
	struct dataplane *dp;
	struct dp_conf *conf;
	struct tsession *prev, *next;
	unsigned long id;
	enum ts_state state;
	bool closed, counted, throttled;
	struct dp_handler h;
	SSL *ssl;
	struct dp_timer deadline, keepalive;
	char peer[80];
	struct tun_prefix addr; /* server: the client's tunnel address (after HELLO) */
	struct frame_decoder dec;
	uint8_t *out;           /* encoded frames waiting for SSL_write */
	size_t out_r, out_w;
	bool write_blocked, write_wants_read;
	uint64_t last_rx_ns;
};

struct tunnel {
	struct dp_handler tun_h;
	int features;
	char ifname[32];
	struct tun_prefix net; /* this end's address and prefix */
	int mtu;
	struct tsession *head;
	unsigned long next_id;
	unsigned server_conns;
	bool tun_throttled;
	bool stopping;
	/* client */
	struct dp_timer reconnect;
	unsigned backoff_ms;
	uint8_t *in;            /* SSL_read buffer */
};

static struct tunnel *tn(struct dataplane *dp)
{
	return dp_mode_priv(dp);
}

static bool is_server(struct dataplane *dp)
{
	return dp_conf_current(dp)->cfg->mode == CFG_MODE_SERVER;
}

/* What this end reads from its TUN device is upload on a client, download
 * on a server; what it reads from TLS the reverse. */
static enum dp_dir tun_dir(struct dataplane *dp)
{
	return is_server(dp) ? DP_DOWN : DP_UP;
}

static void tun_watch(struct dataplane *dp);
static void client_connect(struct dataplane *dp, struct dp_timer *t);

/* ---- sessions ------------------------------------------------------------ */

static void session_free(void *p)
{
	struct tsession *s = p;

	frame_decoder_free(&s->dec);
	free(s->out);
	free(s);
}

static void schedule_reconnect(struct dataplane *dp)
{
	struct tunnel *t = tn(dp);
	unsigned ms = t->backoff_ms ? t->backoff_ms : BACKOFF_MIN_MS;
	/* +-20 % jitter so that many clients do not come back in step */
	unsigned jitter = ms / 5;
	unsigned wait = ms - jitter + (unsigned)(random() % (2 * jitter + 1));

	t->backoff_ms = ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : ms * 2;
	dp_set_state(dp, TUNNEL_CONNECTING);
	log_info("tunnel", "event=reconnect_scheduled in_ms=%u", wait);
	dp_timer_set(dp, &t->reconnect, dp_now_ns(dp) + (uint64_t)wait * 1000000u);
}

static void session_close(struct tsession *s, const char *reason)
{
	struct dataplane *dp = s->dp;
	struct tunnel *t = tn(dp);

	if (s->closed)
		return;
	s->closed = true;
	char q[160];

	log_info("tunnel", "event=session_close id=%lu peer=%s reason=%s", s->id, s->peer,
		 log_quote(reason, q, sizeof(q)));
	dp_timer_cancel(dp, &s->deadline);
	dp_timer_cancel(dp, &s->keepalive);
	/* Tell the peer (best effort) so that it sees a close, not an error. */
	if (s->ssl && s->state >= TS_HELLO) {
		SSL_shutdown(s->ssl);
		/* The error queue is per thread: a failure here must not be
		 * read by the next session's SSL_get_error(). */
		ERR_clear_error();
	}
	if (s->h.fd >= 0) {
		dp_watch(dp, &s->h, 0);
		close(s->h.fd);
	}
	SSL_free(s->ssl);
	s->ssl = NULL;
	if (s->counted)
		atomic_fetch_sub_explicit(&dp_stats(dp)->sessions_active, 1, memory_order_relaxed);
	if (s->prev)
		s->prev->next = s->next;
	else
		t->head = s->next;
	if (s->next)
		s->next->prev = s->prev;
	bool server = s->conf->cfg->mode == CFG_MODE_SERVER;
	if (server)
		t->server_conns--;
	dp_conf_unref(s->conf);
	s->conf = NULL;
	dp_defer(dp, session_free, s);
	if (!server && !t->stopping)
		schedule_reconnect(dp);
	/* Reading the TUN device may have waited for this session's queue. */
	tun_watch(dp);
}

static struct tsession *session_new(struct dataplane *dp, int fd, const char *peer)
{
	struct tunnel *t = tn(dp);
	struct tsession *s = xcalloc(1, sizeof(*s));

	s->dp = dp;
	s->conf = dp_conf_ref(dp_conf_current(dp));
	s->id = ++t->next_id;
	s->h = (struct dp_handler){ .fd = fd };
	snprintf(s->peer, sizeof(s->peer), "%s", peer);
	frame_decoder_init(&s->dec);
	s->out = xmalloc(OUT_SIZE);
	s->next = t->head;
	if (t->head)
		t->head->prev = s;
	t->head = s;
	return s;
}

static size_t out_space(const struct tsession *s)
{
	return OUT_SIZE - s->out_w;
}

/* Queue one control frame; false when the queue is full. */
static bool queue_frame(struct tsession *s, enum frame_type type, const void *p, size_t len)
{
	if (out_space(s) < FRAME_HDR_LEN + len)
		return false;
	ssize_t n = frame_encode(s->out + s->out_w, out_space(s), type, p, len);
	if (n < 0)
		return false;
	s->out_w += (size_t)n;
	return true;
}

/* SSL_write what is queued.  Returns false once the session closed. */
static bool flush(struct tsession *s)
{
	while (s->out_r < s->out_w) {
		size_t len = s->out_w - s->out_r;
		int n = SSL_write(s->ssl, s->out + s->out_r, (int)(len < TLS_CHUNK ? len : TLS_CHUNK));
		s->write_blocked = s->write_wants_read = false;
		if (n > 0) {
			s->out_r += (size_t)n;
			continue;
		}
		int e = SSL_get_error(s->ssl, n);
		if (e == SSL_ERROR_WANT_WRITE) {
			s->write_blocked = true;
			break;
		}
		if (e == SSL_ERROR_WANT_READ) {
			s->write_wants_read = true;
			break;
		}
		tls_log_errors("tunnel", s->peer);
		session_close(s, "tls write failed");
		return false;
	}
	if (s->out_r == s->out_w) {
		s->out_r = s->out_w = 0;
	} else if (out_space(s) < PKT_ROOM) {
		memmove(s->out, s->out + s->out_r, s->out_w - s->out_r);
		s->out_w -= s->out_r;
		s->out_r = 0;
	}
	return true;
}

static void session_watch(struct tsession *s)
{
	uint32_t ev = 0;

	if (s->state >= TS_HELLO && !s->throttled)
		ev |= EPOLLIN;
	if (s->write_wants_read)
		ev |= EPOLLIN;
	if (s->write_blocked)
		ev |= EPOLLOUT;
	dp_watch(s->dp, &s->h, ev);
}

/* ---- routing ------------------------------------------------------------- */

static struct tsession *route(struct dataplane *dp, const uint8_t *pkt, size_t len)
{
	struct tunnel *t = tn(dp);
	struct tun_addr dst;

	if (!is_server(dp)) {
		for (struct tsession *s = t->head; s; s = s->next)
			if (s->state == TS_UP && !s->closed)
				return s;
		return NULL;
	}
	if (tun_packet_dst(pkt, len, &dst) < 0)
		return NULL;
	for (struct tsession *s = t->head; s; s = s->next)
		if (s->state == TS_UP && !s->closed && tun_addr_equal(&s->addr.addr, &dst))
			return s;
	return NULL;
}

static bool address_taken(struct dataplane *dp, const struct tun_addr *a)
{
	for (struct tsession *s = tn(dp)->head; s; s = s->next)
		if (s->state == TS_UP && !s->closed && tun_addr_equal(&s->addr.addr, a))
			return true;
	return false;
}

/* ---- the TUN device -------------------------------------------------------- */

/* Read the TUN device while there is room and tokens. */
static void on_tun(struct dataplane *dp, struct dp_handler *h, uint32_t events)
{
	struct tunnel *t = tn(dp);
	struct tunnel_stats *st = dp_stats(dp);
	enum dp_dir dir = tun_dir(dp);
	static uint8_t spill[PKT_ROOM];

	for (int i = 0; i < TUN_BATCH; i++) {
		if (!dp_allow(dp, dir, TUN_MAX_PACKET)) {
			t->tun_throttled = true;
			break;
		}
		/* Read straight behind a frame header in the only session's queue
		 * when there is one (the common client case); else into a spill
		 * buffer and copy once the route is known. */
		struct tsession *only = t->head && !t->head->next && t->head->state == TS_UP ? t->head : NULL;
		if (only && out_space(only) < PKT_ROOM && !flush(only))
			break;
		if (only && out_space(only) < PKT_ROOM)
			break; /* the session's queue is full: backpressure */
		uint8_t *dst = only ? only->out + only->out_w : spill;
		ssize_t n = tun_read(h->fd, dst + FRAME_HDR_LEN, FRAME_MAX_PAYLOAD);
		if (n < 0) {
			if (n != -EAGAIN)
				log_warning("tunnel", "event=tun_read_failed error=%s", strerror((int)-n));
			break;
		}
		size_t plen = (size_t)n;
		if (plen < FRAME_MIN_DATA)
			continue;
		struct tsession *s = route(dp, dst + FRAME_HDR_LEN + FRAME_VNET_LEN, plen - FRAME_VNET_LEN);
		if (!s) {
			if (!tun_packet_link_noise(dst + FRAME_HDR_LEN + FRAME_VNET_LEN, plen - FRAME_VNET_LEN))
				atomic_fetch_add_explicit(&st->tun_drops, 1, memory_order_relaxed);
			continue;
		}
		if (s != only) {
			if (out_space(s) < FRAME_HDR_LEN + plen && (!flush(s) || out_space(s) < FRAME_HDR_LEN + plen)) {
				atomic_fetch_add_explicit(&st->tun_drops, 1, memory_order_relaxed);
				continue;
			}
			memcpy(s->out + s->out_w + FRAME_HDR_LEN, dst + FRAME_HDR_LEN, plen);
		}
		frame_put_header(s->out + s->out_w, FRAME_DATA, plen);
		s->out_w += FRAME_HDR_LEN + plen;
		dp_consume(dp, dir, plen - FRAME_VNET_LEN);
		atomic_fetch_add_explicit(dir == DP_UP ? &st->packets_up : &st->packets_down, 1,
					  memory_order_relaxed);
		if (s->out_w - s->out_r >= TLS_CHUNK && !flush(s))
			continue;
	}
	for (struct tsession *s = t->head, *next; s; s = next) {
		next = s->next;
		if (!s->closed && s->state == TS_UP && s->out_w > s->out_r && flush(s))
			session_watch(s);
	}
	tun_watch(dp);
}

/* Read the TUN device only when the data can go somewhere. */
static void tun_watch(struct dataplane *dp)
{
	struct tunnel *t = tn(dp);
	bool ok = !t->tun_throttled;

	if (t->tun_h.fd < 0)
		return;
	if (ok && t->head && !t->head->next && t->head->state == TS_UP)
		ok = out_space(t->head) >= PKT_ROOM;
	dp_watch(dp, &t->tun_h, ok ? EPOLLIN : 0);
}

/* ---- frames from the peer --------------------------------------------------- */

static bool handle_frame(struct tsession *s, const struct frame *f)
{
	struct dataplane *dp = s->dp;
	struct tunnel *t = tn(dp);
	struct tunnel_stats *st = dp_stats(dp);
	char a[64], why[192], q[256];

	switch (f->type) {
	case FRAME_DATA:
		if (s->state != TS_UP)
			break;
		/* A client may only send as the address it announced. */
		if (is_server(dp)) {
			struct tun_addr src;
			const uint8_t *ip = f->payload + FRAME_VNET_LEN;
			size_t iplen = f->len - FRAME_VNET_LEN;
			if (tun_packet_src(ip, iplen, &src) < 0 || !tun_addr_equal(&src, &s->addr.addr)) {
				if (!tun_packet_link_noise(ip, iplen))
					atomic_fetch_add_explicit(&st->tun_drops, 1, memory_order_relaxed);
				log_debug("tunnel", "event=spoofed_source id=%lu peer=%s", s->id, s->peer);
				return true;
			}
		}
		dp_consume(dp, tun_dir(dp) == DP_UP ? DP_DOWN : DP_UP, f->len - FRAME_VNET_LEN);
		atomic_fetch_add_explicit(tun_dir(dp) == DP_UP ? &st->packets_down : &st->packets_up, 1,
					  memory_order_relaxed);
		if (tun_write(t->tun_h.fd, f->payload, f->len) < 0)
			atomic_fetch_add_explicit(&st->tun_drops, 1, memory_order_relaxed);
		return true;
	case FRAME_PING:
		queue_frame(s, FRAME_PONG, NULL, 0);
		return true;
	case FRAME_PONG:
		return true;
	case FRAME_HELLO: {
		uint8_t version;
		struct tun_prefix p;
		if (!is_server(dp) || s->state != TS_HELLO)
			break;
		if (frame_parse_hello(f, &version, &p) < 0) {
			session_close(s, "malformed HELLO");
			atomic_fetch_add_explicit(&st->sessions_bad, 1, memory_order_relaxed);
			return false;
		}
		tun_addr_str(&p.addr, a, sizeof(a));
		why[0] = '\0';
		if (version != FRAME_PROTO_VERSION)
			snprintf(why, sizeof(why), "protocol version %u is not supported (this server speaks %u)",
				 version, FRAME_PROTO_VERSION);
		else if (!tun_prefix_contains(&t->net, &p.addr))
			snprintf(why, sizeof(why), "address %s is outside this server's subnet", a);
		else if (tun_addr_equal(&p.addr, &t->net.addr) || address_taken(dp, &p.addr))
			snprintf(why, sizeof(why), "address %s is already taken", a);
		if (why[0]) {
			atomic_fetch_add_explicit(&st->peers_refused, 1, memory_order_relaxed);
			log_warning("tunnel", "event=refused id=%lu peer=%s reason=%s", s->id, s->peer,
				    log_quote(why, q, sizeof(q)));
			queue_frame(s, FRAME_REFUSE, why, strlen(why));
			flush(s);
			session_close(s, "address refused");
			return false;
		}
		s->addr = p;
		s->state = TS_UP;
		dp_timer_cancel(dp, &s->deadline);
		s->counted = true;
		atomic_fetch_add_explicit(&st->sessions_active, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&st->sessions_total, 1, memory_order_relaxed);
		queue_frame(s, FRAME_WELCOME, NULL, 0);
		log_info("tunnel", "event=client_up id=%lu peer=%s address=%s", s->id, s->peer,
			 tun_addr_str(&p.addr, a, sizeof(a)));
		return true;
	}
	case FRAME_WELCOME:
		if (is_server(dp) || s->state != TS_HELLO)
			break;
		s->state = TS_UP;
		dp_timer_cancel(dp, &s->deadline);
		t->backoff_ms = 0;
		s->counted = true;
		atomic_fetch_add_explicit(&st->sessions_active, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&st->sessions_total, 1, memory_order_relaxed);
		dp_set_state(dp, TUNNEL_UP);
		log_info("tunnel", "event=tunnel_up id=%lu server=%s", s->id, s->peer);
		tun_watch(dp);
		return true;
	case FRAME_REFUSE:
		if (is_server(dp))
			break;
		log_error("tunnel", "event=refused_by_server server=%s reason=%s", s->peer,
			  log_quote(frame_text(f, why, sizeof(why)), q, sizeof(q)));
		session_close(s, "refused by server");
		return false;
	}
	atomic_fetch_add_explicit(&st->sessions_bad, 1, memory_order_relaxed);
	log_warning("tunnel", "event=bad_frame id=%lu peer=%s type=%s state=%d", s->id, s->peer,
		    frame_type_name(f->type), s->state);
	session_close(s, "unexpected frame");
	return false;
}

/* Read and handle what the peer sent.  Returns false once closed. */
static bool receive(struct tsession *s)
{
	struct dataplane *dp = s->dp;
	struct tunnel *t = tn(dp);
	enum dp_dir dir = tun_dir(dp) == DP_UP ? DP_DOWN : DP_UP;

	for (int round = 0; round < 16; round++) {
		size_t want = dp_allow(dp, dir, IN_SIZE);
		if (!want) {
			s->throttled = true;
			return true;
		}
		int n = SSL_read(s->ssl, t->in, (int)want);
		if (n <= 0) {
			int e = SSL_get_error(s->ssl, n);
			if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
				return true;
			if (e != SSL_ERROR_ZERO_RETURN)
				tls_log_errors("tunnel", s->peer);
			session_close(s, e == SSL_ERROR_ZERO_RETURN ? "closed by peer" : "tls read failed");
			return false;
		}
		s->last_rx_ns = dp_now_ns(dp);
		const uint8_t *p = t->in;
		size_t len = (size_t)n;
		struct frame f;
		int r;
		while ((r = frame_decode(&s->dec, &p, &len, &f)) > 0)
			if (!handle_frame(s, &f))
				return false;
		if (r < 0) {
			atomic_fetch_add_explicit(&dp_stats(dp)->sessions_bad, 1, memory_order_relaxed);
			log_warning("tunnel", "event=bad_frame id=%lu peer=%s error=%s detail=%s", s->id,
				    s->peer, frame_error_name(r), log_quote(s->dec.msg, (char[256]){ 0 }, 256));
			session_close(s, "malformed frame");
			return false;
		}
	}
	return true;
}

/* ---- handshake and connection set-up --------------------------------------- */

/* Send what is queued, read what came (it may queue answers), send those. */
static void service(struct tsession *s, uint32_t events)
{
	if (s->out_w > s->out_r && !flush(s))
		return;
	if ((events & EPOLLIN) && !receive(s))
		return;
	if (s->out_w > s->out_r && !flush(s))
		return;
	session_watch(s);
	tun_watch(s->dp);
}

static void keepalive_tick(struct dataplane *dp, struct dp_timer *tm)
{
	struct tsession *s = (struct tsession *)((char *)tm - offsetof(struct tsession, keepalive));
	int ka = dp_conf_current(dp)->cfg->tunnel.keepalive_s;
	uint64_t now = dp_now_ns(dp);

	if (s->closed || ka <= 0)
		return;
	if (now - s->last_rx_ns > 3ull * (uint64_t)ka * 1000000000u) {
		session_close(s, "peer silent for 3 keepalive intervals");
		return;
	}
	queue_frame(s, FRAME_PING, NULL, 0);
	if (!flush(s))
		return; /* closed: its timers must stay cancelled */
	session_watch(s);
	dp_timer_set(dp, tm, now + (uint64_t)ka * 1000000000u);
}

static void on_deadline(struct dataplane *dp, struct dp_timer *tm)
{
	struct tsession *s = (struct tsession *)((char *)tm - offsetof(struct tsession, deadline));

	atomic_fetch_add_explicit(&dp_stats(dp)->handshake_failures, 1, memory_order_relaxed);
	session_close(s, "handshake timeout");
}

static void handshake(struct tsession *s)
{
	struct dataplane *dp = s->dp;
	char name[160];
	int r = SSL_do_handshake(s->ssl);

	if (r != 1) {
		int e = SSL_get_error(s->ssl, r);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			dp_watch(dp, &s->h, e == SSL_ERROR_WANT_READ ? EPOLLIN : EPOLLOUT);
			return;
		}
		const char *why = dp_handshake_failed(dp, s->ssl, s->peer);
		session_close(s, why ? why : "handshake failed");
		return;
	}
	log_info("tunnel", "event=handshake_done id=%lu peer=%s cert=%s version=%s cipher=%s", s->id,
		 s->peer, tls_peer_name(s->ssl, name, sizeof(name)), SSL_get_version(s->ssl),
		 SSL_get_cipher_name(s->ssl));
	s->state = TS_HELLO;
	s->last_rx_ns = dp_now_ns(dp);
	if (!is_server(dp)) {
		uint8_t buf[FRAME_HDR_LEN + FRAME_MAX_CONTROL];
		ssize_t n = frame_encode_hello(buf, sizeof(buf), s->conf->cfg->network.address);
		if (n < 0 || out_space(s) < (size_t)n) {
			session_close(s, "cannot encode HELLO");
			return;
		}
		memcpy(s->out + s->out_w, buf, (size_t)n);
		s->out_w += (size_t)n;
	}
	int ka = s->conf->cfg->tunnel.keepalive_s;
	if (ka > 0)
		dp_timer_set(dp, &s->keepalive, dp_now_ns(dp) + (uint64_t)ka * 1000000000u);
	service(s, EPOLLIN);
}

static void on_session(struct dataplane *dp, struct dp_handler *h, uint32_t events)
{
	struct tsession *s = (struct tsession *)((char *)h - offsetof(struct tsession, h));

	if (s->closed)
		return;
	switch (s->state) {
	case TS_CONNECT: {
		int e = net_connect_result(h->fd);
		if (e < 0) {
			log_warning("tunnel", "event=connect_failed server=%s error=%s", s->peer,
				    strerror(-e));
			session_close(s, "cannot connect to tunnel.server");
			return;
		}
		s->ssl = tls_session_new(s->conf->tls, h->fd);
		if (!s->ssl) {
			session_close(s, "cannot create a TLS session");
			return;
		}
		s->state = TS_HANDSHAKE;
		handshake(s);
		return;
	}
	case TS_HANDSHAKE:
		handshake(s);
		return;
	case TS_HELLO:
	case TS_UP:
		service(s, events);
		return;
	}
}

static void start_handshake_timer(struct tsession *s)
{
	s->deadline.fn = on_deadline;
	s->keepalive.fn = keepalive_tick;
	dp_timer_set(s->dp, &s->deadline,
		     dp_now_ns(s->dp) + (uint64_t)s->conf->cfg->tunnel.handshake_timeout_ms * 1000000u);
}

static void client_connect(struct dataplane *dp, struct dp_timer *tm)
{
	struct dp_conf *c = dp_conf_current(dp);
	int fd = net_connect(&c->server, c->server_len);

	dp_set_state(dp, TUNNEL_CONNECTING);
	if (fd < 0) {
		log_warning("tunnel", "event=connect_failed server=%s error=%s", c->cfg->tunnel.server,
			    strerror(errno));
		schedule_reconnect(dp);
		return;
	}
	struct tsession *s = session_new(dp, fd, c->cfg->tunnel.server);
	s->h.fn = on_session;
	s->state = TS_CONNECT;
	start_handshake_timer(s);
	dp_watch(dp, &s->h, EPOLLOUT);
}

static void tn_accept(struct dataplane *dp, int fd, const struct sockaddr *peer, socklen_t len)
{
	struct dp_conf *c = dp_conf_current(dp);
	struct tunnel *t = tn(dp);
	char addr[80];

	net_tune(fd);
	net_addr_str(peer, addr, sizeof(addr));
	if (t->server_conns >= (unsigned)c->cfg->tunnel.max_clients) {
		atomic_fetch_add_explicit(&dp_stats(dp)->peers_refused, 1, memory_order_relaxed);
		log_warning("tunnel", "event=refused peer=%s reason=max_clients max_clients=%d", addr,
			    c->cfg->tunnel.max_clients);
		close(fd);
		return;
	}
	struct tsession *s = session_new(dp, fd, addr);
	t->server_conns++;
	s->h.fn = on_session;
	s->ssl = tls_session_new(c->tls, fd);
	if (!s->ssl) {
		session_close(s, "cannot create a TLS session");
		return;
	}
	s->state = TS_HANDSHAKE;
	start_handshake_timer(s);
	handshake(s);
}

/* ---- the mode ------------------------------------------------------------- */

static int tn_setup(struct dataplane *dp, const struct config *c, struct cfg_errors *errs)
{
	struct tunnel *t = tn(dp);
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
	t->mtu = c->network.mtu;
	log_info("tunnel", "event=tun_up interface=%s address=%s mtu=%d offloads=%s", t->ifname,
		 c->network.address, c->network.mtu, tun_features_str(t->features, feat, sizeof(feat)));
	return 0;
}

static void tn_swapped(struct dataplane *dp, struct dp_conf *old, struct dp_conf *cur)
{
	struct tunnel *t = tn(dp);
	char err[256];

	if (cur->cfg->network.mtu != t->mtu) {
		if (tun_set_mtu(t->ifname, cur->cfg->network.mtu, err, sizeof(err)) < 0) {
			/* t->mtu keeps what the device has: the next reload retries. */
			log_error("tunnel", "event=mtu_failed interface=%s mtu=%d error=%s", t->ifname,
				  cur->cfg->network.mtu, log_quote(err, (char[300]){ 0 }, 300));
		} else {
			log_info("tunnel", "event=mtu_changed interface=%s mtu=%d", t->ifname,
				 cur->cfg->network.mtu);
			t->mtu = cur->cfg->network.mtu;
		}
	}
	if (old->tls == cur->tls)
		return;
	for (struct tsession *s = t->head, *next; s; s = next) {
		next = s->next;
		if (s->closed || s->state < TS_HELLO)
			continue;
		if (tls_peer_admitted(cur->tls, SSL_get0_peer_certificate(s->ssl),
				      SSL_get_peer_cert_chain(s->ssl)))
			continue;
		atomic_fetch_add_explicit(&dp_stats(dp)->sessions_revoked, 1, memory_order_relaxed);
		log_warning("tunnel", "event=revoked id=%lu peer=%s", s->id, s->peer);
		session_close(s, "revoked");
	}
}

static void tn_unthrottled(struct dataplane *dp)
{
	struct tunnel *t = tn(dp);

	struct tsession *first = NULL;

	t->tun_throttled = false;
	for (struct tsession *s = t->head, *next; s; s = next) {
		next = s->next;
		if (s->closed || !s->throttled)
			continue;
		if (!first)
			first = s;
		s->throttled = false;
		if (receive(s))
			session_watch(s);
	}
	/* Whoever read first goes last next time (see forward.c). */
	if (first && !first->closed && first->next) {
		struct tsession *tail = first->next;
		while (tail->next)
			tail = tail->next;
		if (first->prev)
			first->prev->next = first->next;
		else
			t->head = first->next;
		first->next->prev = first->prev;
		tail->next = first;
		first->prev = tail;
		first->next = NULL;
	}
	tun_watch(dp);
}

static void tn_start(struct dataplane *dp)
{
	struct tunnel *t = tn(dp);

	t->tun_h.fn = on_tun;
	t->reconnect.fn = client_connect;
	if (is_server(dp)) {
		dp_set_state(dp, TUNNEL_LISTENING);
	} else {
		client_connect(dp, &t->reconnect);
	}
	tun_watch(dp);
}

static void tn_stop(struct dataplane *dp)
{
	struct tunnel *t = tn(dp);

	dp_timer_cancel(dp, &t->reconnect);
	t->stopping = true;
	while (t->head)
		session_close(t->head, "stopping");
	if (t->tun_h.fd >= 0)
		dp_watch(dp, &t->tun_h, 0);
	dp_set_state(dp, TUNNEL_DOWN);
}

static void tn_free(struct dp_mode *m)
{
	struct tunnel *t = m->priv;

	if (t->tun_h.fd >= 0)
		close(t->tun_h.fd);
	free(t->in);
	free(t);
	free(m);
}

struct dp_mode *tunnel_mode_new(void)
{
	struct dp_mode *m = xcalloc(1, sizeof(*m));
	struct tunnel *t = xcalloc(1, sizeof(*t));

	t->tun_h.fd = -1;
	t->in = xmalloc(IN_SIZE);
	*m = (struct dp_mode){
		.name = "tun",
		.setup = tn_setup,
		.accept = tn_accept,
		.swapped = tn_swapped,
		.unthrottled = tn_unthrottled,
		.start = tn_start,
		.stop = tn_stop,
		.free = tn_free,
		.priv = t,
	};
	return m;
}
