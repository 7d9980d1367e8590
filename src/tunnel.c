/* SPDX-License-Identifier: MIT */
/*
 * tunnel.c - the `tun` transport, like the original SSSonector.
 *
 * Each end has a TUN device with virtio-net headers and TCP segmentation
 * offload, so one read can give a 64 KiB TCP super-packet.  Frames are
 * queued in a pool buffer and go through the same batched TLS I/O as
 * forward streams (tlsio.c): one write(2) sends many records, one read(2)
 * fetches many, and an idle session holds no buffer.  A client keeps
 * one TLS session to the server and announces its tunnel address (HELLO);
 * the server admits it (WELCOME) when the address is the one its identity
 * owns (tunnel.peers) or, without a map, any free host address of the
 * server's subnet, and the session layer admits the client (max_clients).
 * IP packets travel as DATA frames (frame.c); what a peer sends is judged
 * by tunpkt.c (source, virtio/GSO header) before the kernel sees it, and
 * the limiter is charged what the kernel will emit.  Keepalives detect a
 * dead peer (3 x tunnel.keepalive_s of silence); the client reconnects
 * with a jittered exponential backoff capped at 30 s.
 *
 * Like any IP link this one may drop: a full TUN queue, a packet for no
 * known client, a slow client while others are busy.  Drops are counted,
 * never hidden.  A malformed frame closes its session only.  Runs on the
 * data-plane thread, except setup/prepare/commit (control thread).
 */
#include <errno.h>
#include <net/if.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "config.h"
#include "log.h"
#include "net.h"
#include "stats.h"
#include "tls.h"
#include "transport.h"
#include "tunnelpriv.h"
#include "tunpkt.h"

static const struct session_ops tun_ops;

static void client_connect(struct loop *l, struct loop_timer *tm);

/* ---- buffers: the one place a session's are taken and given back --------------- */

static struct bufpool *pool_of(const struct tsession *ts)
{
	return session_layer_pool(ts->t->sl);
}

/* The batched TLS I/O, once the handshake is done.  Returns -1 on failure. */
static int tsession_buffers(struct tsession *ts)
{
	if (!ts->io_attached) {
		if (tlsio_attach(&ts->io, ts->s.ssl, ts->h.fd, pool_of(ts)) < 0)
			return -1;
		ts->io_attached = true;
	}
	return 0;
}

static void tsession_buffers_free(struct tsession *ts)
{
	pbuf_release(pool_of(ts), &ts->out);
	if (ts->io_attached)
		tlsio_free(&ts->io);
	ts->io_attached = false;
}

void tunnel_session_idle(struct tsession *ts)
{
	pbuf_settle(pool_of(ts), &ts->out);
	if (ts->io_attached)
		tlsio_idle(&ts->io);
}

size_t tunnel_out_room(struct tsession *ts, size_t need)
{
	struct pbuf *q = &ts->out;

	if (pbuf_space(q) < need && pbuf_pending(q) && !tunnel_flush(ts, false))
		return 0;
	/* a queue must hold a whole packet: always a bulk buffer */
	if (!q->d && !pbuf_reserve_bulk(pool_of(ts), q))
		return 0;
	if (pbuf_space(q) < need && q->r) {
		/* SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER: a pending SSL_write may move */
		memmove(q->d, q->d + q->r, pbuf_pending(q));
		q->w -= q->r;
		q->r = 0;
	}
	return pbuf_space(q);
}

/* ---- closing --------------------------------------------------------------------- */

static void schedule_reconnect(struct tunnel *t)
{
	unsigned wait = session_backoff_ms(&t->backoff_ms);

	session_layer_set_state(t->sl, TUNNEL_CONNECTING);
	log_info("tunnel", "event=reconnect_scheduled in_ms=%u", wait);
	loop_timer_set(t->loop, &t->reconnect, loop_now_ns(t->loop) + (uint64_t)wait * 1000000u);
}

static void tun_release(struct session *s)
{
	struct tsession *ts = container_of(s, struct tsession, s);
	struct tunnel *t = ts->t;

	loop_timer_cancel(t->loop, &ts->keepalive);
	loop_timer_cancel(t->loop, &ts->soon);
	/* Tell the peer (best effort) so that it sees a close, not an error. */
	if (s->ssl && ts->state >= TS_HELLO && ts->io_attached && SSL_shutdown(s->ssl) >= 0)
		tlsio_flush(&ts->io);
	if (ts->h.fd >= 0) {
		loop_forget(t->loop, &ts->h);
		close(ts->h.fd);
		ts->h.fd = -1;
	}
	SSL_free(s->ssl);
	s->ssl = NULL;
	tsession_buffers_free(ts);
	if (ts->routed)
		tunpkt_routes_del(t->routes, &ts->addr.addr, ts);
	if (ts->state == TS_UP)
		TAILQ_REMOVE(&t->up, ts, up_link);
	ts->state = TS_CONNECT;
	if (!t->server && !t->stopping)
		schedule_reconnect(t);
	/* Reading the TUN device may have waited for this session's queue. */
	tunneldev_watch(t);
}

static void tun_free(struct session *s)
{
	struct tsession *ts = container_of(s, struct tsession, s);

	frame_decoder_free(&ts->dec);
	free(ts);
}

/* ---- writing frames --------------------------------------------------------------- */

/* Queue one control frame; false when the queue is full. */
static bool queue_frame(struct tsession *ts, enum frame_type type, const void *p, size_t len)
{
	if (tunnel_out_room(ts, FRAME_HDR_LEN + len) < FRAME_HDR_LEN + len)
		return false;
	ssize_t n = frame_encode(ts->out.d + ts->out.w, pbuf_space(&ts->out), type, p, len);
	if (n < 0)
		return false;
	ts->out.w += (size_t)n;
	return true;
}

/* SSL_write what is queued into the batched I/O, and write that to the
 * socket (now, or once half a bulk buffer of records waits: the TUN
 * reader encrypts as it goes and writes at the end of its batch).
 * Returns false once the session closed. */
bool tunnel_flush(struct tsession *ts, bool now)
{
	ts->write_blocked = ts->write_wants_read = false;
	while (pbuf_pending(&ts->out)) {
		size_t len = pbuf_pending(&ts->out);
		int n = SSL_write(ts->s.ssl, ts->out.d + ts->out.r, (int)(len < TLS_CHUNK ? len : TLS_CHUNK));
		if (n > 0) {
			pbuf_consumed(&ts->out, (size_t)n);
			continue;
		}
		int e = SSL_get_error(ts->s.ssl, n);
		if (e == SSL_ERROR_WANT_WRITE && !ts->io.failed) {
			if (tlsio_flush(&ts->io))
				continue; /* room again for more records */
			break;
		}
		if (e == SSL_ERROR_WANT_READ) {
			ts->write_wants_read = true;
			break;
		}
		if (!ts->io.failed)
			tls_log_errors("tunnel", ts->s.peer);
		session_close(&ts->s, SESSION_CLOSE_ERROR, ts->io.failed ? strerror(ts->io.err) : "tls write failed");
		return false;
	}
	if (!now && tlsio_unsent(&ts->io) < BUF_BULK / 2)
		return true;
	tlsio_flush(&ts->io);
	if (ts->io.failed) {
		session_close(&ts->s, SESSION_CLOSE_ERROR, strerror(ts->io.err));
		return false;
	}
	ts->write_blocked = tlsio_unsent(&ts->io) > 0;
	return true;
}

void tunnel_session_watch(struct tsession *ts)
{
	uint32_t ev = 0;

	if (ts->state >= TS_HELLO && !ts->throttled)
		ev |= EPOLLIN;
	if (ts->write_wants_read)
		ev |= EPOLLIN;
	if (ts->write_blocked)
		ev |= EPOLLOUT;
	loop_watch(ts->t->loop, &ts->h, ev);
}

/* ---- frames from the peer --------------------------------------------------------------- */

/* Refuse a client: REFUSE with the reason, then close.  Counted as an
 * address refusal unless session_establish() counted it already. */
static void refuse(struct tsession *ts, const char *why, const char *detail, bool counted)
{
	struct tunnel_stats *st = session_layer_stats(ts->t->sl);
	char q[256];

	if (!counted) {
		atomic_fetch_add_explicit(&st->peers_refused, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&st->refused[REFUSED_ADDRESS], 1, memory_order_relaxed);
	}
	if (session_log_allowed(ts->t->sl, "refused", detail))
		log_warning("tunnel", "event=refused id=%llu peer=%s reason=%s", (unsigned long long)ts->s.rec.id,
			    ts->s.peer, log_quote(why, q, sizeof(q)));
	queue_frame(ts, FRAME_REFUSE, why, strlen(why));
	tunnel_flush(ts, true);
	session_close(&ts->s, SESSION_CLOSE_REFUSED, detail);
}

/* Whether the client of ts may have address a: NULL, or why not (into
 * why).  With tunnel.peers, its certificate's entry says which address is
 * its own. */
static const char *address_refusal(struct tsession *ts, const struct tun_prefix *p, char *why, size_t len)
{
	struct tunnel *t = ts->t;
	const struct cfg_strlist *peers = &tunnel_conf(t)->cfg->tunnel.peers;
	X509 *x = SSL_get0_peer_certificate(ts->s.ssl);
	char a[64], name[256], pa[64];
	struct tun_addr own;
	const char *problem;

	tun_addr_str(&p->addr, a, sizeof(a));
	if ((problem = tunpkt_address_problem(&t->net, &p->addr)) != NULL) {
		snprintf(why, len, "address %s %s", a, problem);
		return why;
	}
	if ((problem = tunpkt_prefix_problem(&t->net, p, pa, sizeof(pa))) != NULL) {
		snprintf(why, len, "address %s %s", a, problem);
		return why;
	}
	if (!peers->n)
		return NULL;
	for (size_t i = 0; i < peers->n; i++) {
		if (tunpkt_peer_parse(peers->v[i], name, sizeof(name), &own) < 0 || !tls_cert_has_name(x, name))
			continue;
		/* The peer is known by its entry from now on. */
		snprintf(ts->s.rec.name, sizeof(ts->s.rec.name), "%.*s", (int)sizeof(ts->s.rec.name) - 1, name);
		snprintf(ts->s.key, sizeof(ts->s.key), "%.*s", (int)sizeof(ts->s.key) - 1, name);
		if (tun_addr_equal(&own, &p->addr))
			return NULL;
		snprintf(why, len, "address %s is not %.64s's (tunnel.peers gives it %s)", a, name,
			 tun_addr_str(&own, pa, sizeof(pa)));
		return why;
	}
	snprintf(why, len, "no tunnel.peers entry names this certificate");
	return why;
}

static bool handle_hello(struct tsession *ts, const struct frame *f)
{
	struct tunnel *t = ts->t;
	char a[64], why[192];
	uint8_t version;
	struct tun_prefix p;
	const char *refusal;

	if (frame_parse_hello(f, &version, &p) < 0) {
		atomic_fetch_add_explicit(&session_layer_stats(t->sl)->sessions_bad, 1, memory_order_relaxed);
		session_close(&ts->s, SESSION_CLOSE_ERROR, "malformed HELLO");
		return false;
	}
	tun_addr_str(&p.addr, a, sizeof(a));
	if (version != FRAME_PROTO_VERSION) {
		snprintf(why, sizeof(why), "protocol version %u is not supported (this server speaks %u)", version,
			 FRAME_PROTO_VERSION);
		refuse(ts, why, "address refused", false);
		return false;
	}
	if (address_refusal(ts, &p, why, sizeof(why))) {
		refuse(ts, why, "address refused", false);
		return false;
	}
	struct tsession *holder = tunpkt_routes_get(t->routes, &p.addr);
	if (holder && strcmp(holder->s.key, ts->s.key) != 0) {
		snprintf(why, sizeof(why), "address %s is already taken", a);
		refuse(ts, why, "address refused", false);
		return false;
	}
	if (holder) {
		/* The same peer again: its old session is stale (a laptop that
		 * lost its link); the new one replaces it. */
		log_info("tunnel", "event=replaced id=%llu by=%llu address=%s", (unsigned long long)holder->s.rec.id,
			 (unsigned long long)ts->s.rec.id, a);
		session_close(&holder->s, SESSION_CLOSE_REPLACED, "replaced by a new session of the same peer");
	}
	if (session_establish(&ts->s, &refusal) < 0) {
		refuse(ts, refusal, refusal, true);
		return false;
	}
	ts->addr = p;
	tun_addr_str(&p.addr, ts->s.rec.tun_address, sizeof(ts->s.rec.tun_address));
	tunpkt_routes_add(t->routes, &p.addr, ts);
	ts->routed = true;
	ts->state = TS_UP;
	TAILQ_INSERT_TAIL(&t->up, ts, up_link);
	queue_frame(ts, FRAME_WELCOME, NULL, 0);
	log_info("tunnel", "event=client_up id=%llu peer=%s address=%s", (unsigned long long)ts->s.rec.id,
		 ts->s.peer, a);
	return true;
}

static bool handle_frame(struct tsession *ts, const struct frame *f)
{
	struct tunnel *t = ts->t;
	char why[192], q[256];
	const char *refusal;

	switch (f->type) {
	case FRAME_DATA:
		if (ts->state != TS_UP)
			break;
		tunneldev_deliver(ts, f);
		return true;
	case FRAME_PING:
		queue_frame(ts, FRAME_PONG, NULL, 0);
		return true;
	case FRAME_PONG:
		return true;
	case FRAME_HELLO:
		if (!t->server || ts->state != TS_HELLO)
			break;
		return handle_hello(ts, f);
	case FRAME_WELCOME:
		if (t->server || ts->state != TS_HELLO)
			break;
		if (session_establish(&ts->s, &refusal) < 0) {
			session_close(&ts->s, SESSION_CLOSE_REFUSED, refusal);
			return false;
		}
		ts->state = TS_UP;
		TAILQ_INSERT_TAIL(&t->up, ts, up_link);
		t->backoff_ms = 0;
		session_layer_set_state(t->sl, TUNNEL_UP);
		log_info("tunnel", "event=tunnel_up id=%llu server=%s", (unsigned long long)ts->s.rec.id, ts->s.peer);
		tunneldev_watch(t);
		return true;
	case FRAME_REFUSE:
		if (t->server)
			break;
		log_error("tunnel", "event=refused_by_server server=%s reason=%s", ts->s.peer,
			  log_quote(frame_text(f, why, sizeof(why)), q, sizeof(q)));
		session_close(&ts->s, SESSION_CLOSE_REFUSED, "refused by server");
		return false;
	}
	atomic_fetch_add_explicit(&session_layer_stats(t->sl)->sessions_bad, 1, memory_order_relaxed);
	if (session_log_allowed(t->sl, "bad_frame", "unexpected"))
		log_warning("tunnel", "event=bad_frame id=%llu peer=%s type=%s state=%d",
			    (unsigned long long)ts->s.rec.id, ts->s.peer, frame_type_name(f->type), ts->state);
	session_close(&ts->s, SESSION_CLOSE_ERROR, "unexpected frame");
	return false;
}

/* Read and handle what the peer sent.  Returns false once closed. */
static bool receive(struct tsession *ts)
{
	struct tunnel *t = ts->t;

	for (int round = 0; round < RECV_ROUNDS; round++) {
		/* one read(2) fetches many records; SSL_read takes them from memory */
		if (!pbuf_pending(&ts->io.in))
			tlsio_fill(&ts->io);
		size_t want = session_allow(t->sl, tunnel_peer_dir(t), IN_SIZE);
		if (!want) {
			ts->throttled = true;
			session_wait_tokens(&ts->s);
			return true;
		}
		int n = SSL_read(ts->s.ssl, t->in, (int)want);
		if (n <= 0) {
			int e = SSL_get_error(ts->s.ssl, n);
			/* nothing, or half a record: the rest comes with EPOLLIN */
			if ((e == SSL_ERROR_WANT_READ && !ts->io.eof && !ts->io.failed) || e == SSL_ERROR_WANT_WRITE)
				return true;
			if (e != SSL_ERROR_ZERO_RETURN)
				tls_log_errors("tunnel", ts->s.peer);
			session_close(&ts->s, e == SSL_ERROR_ZERO_RETURN ? SESSION_CLOSE_DONE : SESSION_CLOSE_ERROR,
				      e == SSL_ERROR_ZERO_RETURN ? "closed by peer" : "tls read failed");
			return false;
		}
		ts->last_rx_ns = loop_now_ns(t->loop);
		const uint8_t *p = t->in;
		size_t len = (size_t)n;
		struct frame f;
		int r;
		while ((r = frame_decode(&ts->dec, &p, &len, &f)) > 0)
			if (!handle_frame(ts, &f))
				return false;
		if (r < 0) {
			char q[256];
			atomic_fetch_add_explicit(&session_layer_stats(t->sl)->sessions_bad, 1, memory_order_relaxed);
			if (session_log_allowed(t->sl, "bad_frame", frame_error_name(r)))
				log_warning("tunnel", "event=bad_frame id=%llu peer=%s error=%s detail=%s",
					    (unsigned long long)ts->s.rec.id, ts->s.peer, frame_error_name(r),
					    log_quote(ts->dec.msg, q, sizeof(q)));
			session_close(&ts->s, SESSION_CLOSE_ERROR, "malformed frame");
			return false;
		}
	}
	/* records may be left in memory: on the next pass, after the others */
	loop_timer_set(t->loop, &ts->soon, loop_now_ns(t->loop));
	return true;
}

/* Send what is queued, read what came (it may queue answers), send those. */
static void service(struct tsession *ts, uint32_t events)
{
	if ((pbuf_pending(&ts->out) || tlsio_unsent(&ts->io)) && !tunnel_flush(ts, true))
		return;
	if ((events & EPOLLIN) && !receive(ts))
		return;
	if ((pbuf_pending(&ts->out) || tlsio_unsent(&ts->io)) && !tunnel_flush(ts, true))
		return;
	tunnel_session_idle(ts);
	tunnel_session_watch(ts);
	tunneldev_watch(ts->t);
}

static void tun_unthrottled_session(struct session *s)
{
	struct tsession *ts = container_of(s, struct tsession, s);

	ts->throttled = false;
	if (ts->state >= TS_HELLO)
		service(ts, EPOLLIN);
}

static void on_soon(struct loop *l, struct loop_timer *tm)
{
	struct tsession *ts = container_of(tm, struct tsession, soon);

	if (ts->s.state != SESSION_CLOSED && ts->state >= TS_HELLO)
		service(ts, EPOLLIN);
}

/* ---- handshake and set-up ---------------------------------------------------------------- */

static void keepalive_tick(struct loop *l, struct loop_timer *tm)
{
	struct tsession *ts = container_of(tm, struct tsession, keepalive);
	int ka = tunnel_conf(ts->t)->cfg->tunnel.keepalive_s;
	uint64_t now = loop_now_ns(l);

	if (ts->s.state == SESSION_CLOSED || ka <= 0)
		return;
	if (now - ts->last_rx_ns > 3ull * (uint64_t)ka * NS_PER_S) {
		session_close(&ts->s, SESSION_CLOSE_KEEPALIVE, "peer silent for 3 keepalive intervals");
		return;
	}
	queue_frame(ts, FRAME_PING, NULL, 0);
	if (!tunnel_flush(ts, true))
		return; /* closed: its timers must stay cancelled */
	tunnel_session_watch(ts);
	loop_timer_set(l, tm, now + (uint64_t)ka * NS_PER_S);
}

static void tun_handshake_done(struct session *s)
{
	struct tsession *ts = container_of(s, struct tsession, s);
	struct tunnel *t = ts->t;
	char name[160];

	if (session_authenticated(&ts->s) < 0)
		return;
	log_info("tunnel", "event=handshake_done id=%llu peer=%s cert=%s version=%s cipher=%s",
		 (unsigned long long)ts->s.rec.id, ts->s.peer, tls_peer_name(ts->s.ssl, name, sizeof(name)),
		 SSL_get_version(ts->s.ssl), SSL_get_cipher_name(ts->s.ssl));
	ts->state = TS_HELLO;
	ts->last_rx_ns = loop_now_ns(t->loop);
	if (tsession_buffers(ts) < 0) {
		session_close(&ts->s, SESSION_CLOSE_ERROR, "out of memory");
		return;
	}
	/* a busy tunnel keeps OpenSSL's record buffers (tlsio_idle drops them) */
	SSL_clear_mode(ts->s.ssl, SSL_MODE_RELEASE_BUFFERS);
	if (!t->server) {
		uint8_t buf[FRAME_HDR_LEN + FRAME_MAX_CONTROL];
		ssize_t n = frame_encode_hello(buf, sizeof(buf), ts->s.conf->cfg->network.address);
		if (n < 0 || tunnel_out_room(ts, (size_t)n) < (size_t)n) {
			session_close(&ts->s, SESSION_CLOSE_ERROR, "cannot encode HELLO");
			return;
		}
		memcpy(ts->out.d + ts->out.w, buf, (size_t)n);
		ts->out.w += (size_t)n;
	}
	int ka = ts->s.conf->cfg->tunnel.keepalive_s;
	if (ka > 0)
		loop_timer_set(t->loop, &ts->keepalive, loop_now_ns(t->loop) + (uint64_t)ka * NS_PER_S);
	service(ts, EPOLLIN);
}

static void on_session(struct loop *l, struct loop_handler *h, uint32_t events)
{
	struct tsession *ts = container_of(h, struct tsession, h);

	if (ts->s.state == SESSION_CLOSED)
		return;
	switch (ts->state) {
	case TS_CONNECT: {
		int e = net_connect_result(h->fd);
		if (e < 0) {
			log_warning("tunnel", "event=connect_failed server=%s error=%s", ts->s.peer, strerror(-e));
			session_close(&ts->s, SESSION_CLOSE_ERROR, "cannot connect to tunnel.server");
			return;
		}
		if (!(ts->s.ssl = tls_session_new(ts->s.conf->tls, h->fd))) {
			session_close(&ts->s, SESSION_CLOSE_ERROR, "cannot create a TLS session");
			return;
		}
		ts->state = TS_HANDSHAKE;
		session_want_handshake(&ts->s);
		return;
	}
	case TS_HANDSHAKE:
		session_want_handshake(&ts->s);
		return;
	case TS_HELLO:
	case TS_UP:
		service(ts, events);
		return;
	}
}

static struct tsession *tsession_new(struct tunnel *t, int fd, const struct sockaddr *peer, socklen_t len,
				     bool inbound)
{
	struct tsession *ts = xcalloc(1, sizeof(*ts));

	ts->t = t;
	ts->h = (struct loop_handler){ .fn = on_session, .fd = fd };
	ts->s.tls_h = &ts->h;
	ts->keepalive.fn = keepalive_tick;
	ts->soon.fn = on_soon;
	frame_decoder_init(&ts->dec);
	session_start(t->sl, &ts->s, &tun_ops, peer, len, inbound);
	return ts;
}

static void client_connect(struct loop *l, struct loop_timer *tm)
{
	struct tunnel *t = container_of(tm, struct tunnel, reconnect);
	struct dpconf *c = tunnel_conf(t);
	int fd = net_connect(&c->server, c->server_len);

	session_layer_set_state(t->sl, TUNNEL_CONNECTING);
	if (fd < 0) {
		log_warning("tunnel", "event=connect_failed server=%s error=%s", c->cfg->tunnel.server,
			    strerror(errno));
		schedule_reconnect(t);
		return;
	}
	struct tsession *ts = tsession_new(t, fd, (const struct sockaddr *)&c->server, c->server_len, false);
	snprintf(ts->s.peer, sizeof(ts->s.peer), "%s", c->cfg->tunnel.server);
	ts->state = TS_CONNECT;
	loop_watch(l, &ts->h, EPOLLOUT);
}

static void tn_accept(void *tp, int fd, const struct sockaddr *peer, socklen_t len)
{
	struct tunnel *t = tp;

	/* TCP_NODELAY comes with the accepted socket from the listener */
	struct tsession *ts = tsession_new(t, fd, peer, len, true);
	if (!(ts->s.ssl = tls_session_new(ts->s.conf->tls, fd))) {
		session_close(&ts->s, SESSION_CLOSE_ERROR, "cannot create a TLS session");
		return;
	}
	ts->state = TS_HANDSHAKE;
	session_want_handshake(&ts->s);
}

/* ---- the device and the transport --------------------------------------------------------- */

static void tn_start(void *tp)
{
	struct tunnel *t = tp;

	t->tun_h.fn = tunneldev_on_tun;
	t->reconnect.fn = client_connect;
	session_layer_on_unthrottled(t->sl, tunneldev_unthrottled, t);
	if (t->server)
		session_layer_set_state(t->sl, TUNNEL_LISTENING);
	else
		client_connect(t->loop, &t->reconnect);
	tunneldev_watch(t);
}

static void tn_stop(void *tp)
{
	struct tunnel *t = tp;

	loop_timer_cancel(t->loop, &t->reconnect);
	t->stopping = true;
	session_close_all(t->sl, SESSION_CLOSE_STOPPING, "stopping");
	if (t->tun_h.fd >= 0)
		loop_watch(t->loop, &t->tun_h, 0);
	session_layer_set_state(t->sl, TUNNEL_DOWN);
}

static void *tn_create(struct session_layer *sl)
{
	struct tunnel *t = xcalloc(1, sizeof(*t));

	t->sl = sl;
	t->loop = session_layer_loop(sl);
	t->tun_h.fd = -1;
	t->in = xmalloc(IN_SIZE);
	t->spill = xmalloc(PKT_ROOM);
	t->routes = tunpkt_routes_new();
	TAILQ_INIT(&t->up);
	return t;
}

static void tn_destroy(void *tp)
{
	struct tunnel *t = tp;

	if (t->tun_h.fd >= 0)
		close(t->tun_h.fd);
	tunpkt_routes_free(t->routes);
	free(t->in);
	free(t->spill);
	free(t);
}

static const struct session_ops tun_ops = {
	.subsys = "tunnel",
	.streams = false,
	.handshake_done = tun_handshake_done,
	.unthrottled = tun_unthrottled_session,
	.release = tun_release,
	.free = tun_free,
};

const struct transport tunnel_transport = {
	.name = "tun",
	.create = tn_create,
	.setup = tunneldev_setup,
	.prepare = tunneldev_prepare,
	.commit = tunneldev_commit,
	.start = tn_start,
	.accept = tn_accept,
	.stop = tn_stop,
	.destroy = tn_destroy,
};
