/* SPDX-License-Identifier: MIT */
/*
 * forward.c - the `forward` transport, like stunnel.
 *
 * Client: a plain TCP connection accepted on forward.listen becomes its own
 * TLS connection to tunnel.server.  Server: a TLS connection accepted on
 * tunnel.listen is connected, once admitted, to forward.target.  Bytes are
 * relayed both ways through two bounded buffers; a full buffer stops
 * reading its source (backpressure), an end of stream is passed on as a
 * TLS close_notify or a TCP half-close once the buffer drained, so no byte
 * is ever dropped.  The limiter delays reads, never data.
 *
 * The session layer decides who may stay (pending caps, deadlines,
 * max_clients, forward.max_streams, revocation); this file does the I/O.
 * When both ends speak FRAME_FWD_ALPN the server starts the stream with
 * its admission status, so a refused client can say why.  A stream holds
 * buffers only while bytes wait in them (bufpool.h: small, bulk while it
 * is busy, none when idle), and both TLS legs have TCP keepalive from
 * tunnel.keepalive_s.  Data-plane thread only.
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
#include "dpconf.h"
#include "frame.h"
#include "log.h"
#include "net.h"
#include "session.h"
#include "stats.h"
#include "tls.h"
#include "tlsio.h"
#include "transport.h"

#define TLS_CHUNK (64 * 1024)  /* one SSL_write: four full records */
#define PUMP_ROUNDS 16         /* then yield to other sessions */

enum fs_state { FS_CONNECT_TLS, FS_HANDSHAKE, FS_STATUS, FS_CONNECT_TARGET, FS_RELAY };

struct fsession {
	struct session s;
	struct forward *fw;
	enum fs_state state;
	bool server, status; /* status: the admission status is spoken */
	struct loop_handler tls_h, plain_h;
	struct tlsio io;
	bool io_attached;
	struct loop_timer soon;
	uint8_t st[FRAME_STATUS_MAX]; /* client: the status read so far */
	size_t st_have;

	struct pbuf to_tls, to_plain;
	bool plain_eof, tls_eof;     /* no more to read from that side */
	bool close_notify_sent, plain_shut;
	bool tls_broken;             /* the TLS side failed: flush to plain, then close */
	bool truncated;              /* ... because the peer closed without close_notify */
	bool throttled[2];           /* waiting for tokens, by enum throttle_dir */
	/* The socket may have bytes to read: set by its epoll events, cleared
	 * when a read finds it empty, so that a wake-up for one side does not
	 * cost a read(2) of the other that can only say EAGAIN. */
	bool rd_tls, rd_plain;
};

struct forward {
	struct session_layer *sl;
	struct loop *loop;
	struct bufpool *pool;
};

static const struct session_ops fwd_ops;

static struct dpconf *cur(struct forward *fw)
{
	return session_layer_conf(fw->sl);
}

/* Directions as seen at this end: what is read from the plain side is
 * upload on a client and download on a server, and the reverse for TLS. */
static enum throttle_dir plain_dir(const struct fsession *f)
{
	return f->server ? THROTTLE_DOWN : THROTTLE_UP;
}

static enum throttle_dir tls_dir(const struct fsession *f)
{
	return f->server ? THROTTLE_UP : THROTTLE_DOWN;
}

/* ---- buffers: the one place they are taken and given back --------------------- */

/* The batched TLS I/O under the SSL object, from the handshake on.  Its
 * buffers and the relay's are taken from the pool only while bytes wait
 * in them (bufpool.h), so a pending or idle stream holds none.  Returns -1
 * on failure. */
static int fwd_buffers(struct fsession *f)
{
	if (!f->io_attached) {
		if (tlsio_attach(&f->io, f->s.ssl, f->tls_h.fd, f->fw->pool) < 0)
			return -1;
		f->io_attached = true;
	}
	return 0;
}

static void fwd_buffers_free(struct fsession *f)
{
	pbuf_release(f->fw->pool, &f->to_tls);
	pbuf_release(f->fw->pool, &f->to_plain);
	if (f->io_attached)
		tlsio_free(&f->io);
	f->io_attached = false;
}

/* Nothing more moves now: the empty buffers go back to the pool. */
static void fwd_buffers_idle(struct fsession *f)
{
	pbuf_settle(f->fw->pool, &f->to_tls);
	pbuf_settle(f->fw->pool, &f->to_plain);
	if (f->io_attached)
		tlsio_idle(&f->io);
}

/* ---- the session's ops ------------------------------------------------------------- */

static void fwd_release(struct session *s)
{
	struct fsession *f = container_of(s, struct fsession, s);
	struct loop *l = f->fw->loop;

	loop_timer_cancel(l, &f->soon);
	/* Closing on our side (stop, revocation, idle): tell the peer
	 * properly, best effort, so that it does not see a truncated stream. */
	if (s->ssl && f->io_attached && f->state == FS_RELAY && !f->close_notify_sent && !f->tls_broken) {
		if (SSL_shutdown(s->ssl) >= 0)
			tlsio_flush(&f->io);
	}
	/* closing takes the fds out of the epoll set: no system call for that */
	if (f->tls_h.fd >= 0) {
		loop_forget(l, &f->tls_h);
		close(f->tls_h.fd);
		f->tls_h.fd = -1;
	}
	if (f->plain_h.fd >= 0) {
		loop_forget(l, &f->plain_h);
		close(f->plain_h.fd);
		f->plain_h.fd = -1;
	}
	SSL_free(s->ssl);
	s->ssl = NULL;
	fwd_buffers_free(f);
}

static void fwd_free(struct session *s)
{
	free(container_of(s, struct fsession, s));
}

/* ---- the relay -------------------------------------------------------------------- */

/* The TLS side failed: deliver what already arrived, then close; nothing
 * more can be sent to the peer. */
static void tls_broke(struct fsession *f)
{
	unsigned long e = ERR_peek_error();

	if (f->io.eof && ERR_GET_LIB(e) == ERR_LIB_SSL && ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
		/* The peer closed its connection without a close_notify: many
		 * clients do, and nothing was lost that it sent.  Its
		 * session_close line says so; it is no TLS error. */
		ERR_clear_error();
		f->truncated = true;
	} else if (session_log_allowed(f->s.sl, "tls_error", "relay")) {
		tls_log_errors("relay", f->s.peer);
	} else {
		ERR_clear_error();
	}
	f->tls_eof = f->tls_broken = true;
	f->close_notify_sent = true;
	pbuf_release(f->fw->pool, &f->to_tls);
}

/* Whether SSL_read may have something to say: records (or the end of the
 * socket) are buffered, or the socket failed. */
static bool tls_readable(const struct fsession *f)
{
	return pbuf_pending(&f->io.in) || SSL_has_pending(f->s.ssl) || f->io.eof || f->io.failed;
}

/* Read TLS into to_plain while there is room and tokens; true on progress. */
static bool pump_from_tls(struct fsession *f)
{
	struct session_layer *sl = f->s.sl;
	bool progress = false;

	while (!f->tls_eof && pbuf_room(&f->to_plain) && !f->throttled[tls_dir(f)] && tls_readable(f)) {
		if (!pbuf_reserve(f->fw->pool, &f->to_plain))
			break; /* out of memory: try again later */
		size_t want = session_allow(sl, tls_dir(f), pbuf_space(&f->to_plain));
		if (!want) {
			f->throttled[tls_dir(f)] = true;
			session_wait_tokens(&f->s);
			break;
		}
		int n = SSL_read(f->s.ssl, f->to_plain.d + f->to_plain.w, (int)want);
		if (n > 0) {
			f->to_plain.w += (size_t)n;
			pbuf_produced(f->fw->pool, &f->to_plain, want, (size_t)n);
			session_consume(sl, &f->s, tls_dir(f), (size_t)n);
			progress = true;
			continue;
		}
		int e = SSL_get_error(f->s.ssl, n);
		if (e == SSL_ERROR_ZERO_RETURN) {
			f->tls_eof = true;
			progress = true;
		} else if (e != SSL_ERROR_WANT_READ || f->io.failed) {
			tls_broke(f);
			progress = true;
		}
		break;
	}
	return progress;
}

/* to_tls -> SSL_write -> ciphertext -> socket; true on progress. */
static bool pump_to_tls(struct fsession *f)
{
	bool progress = false;

	while (pbuf_pending(&f->to_tls) && !f->close_notify_sent) {
		size_t len = pbuf_pending(&f->to_tls) < TLS_CHUNK ? pbuf_pending(&f->to_tls) : TLS_CHUNK;
		int n = SSL_write(f->s.ssl, f->to_tls.d + f->to_tls.r, (int)len);
		if (n > 0) {
			pbuf_consumed(&f->to_tls, (size_t)n);
			progress = true;
			continue;
		}
		if (SSL_get_error(f->s.ssl, n) != SSL_ERROR_WANT_WRITE) {
			tls_broke(f);
			progress = true;
		} else if (tlsio_flush(&f->io)) {
			progress = true;
			continue;
		}
		break;
	}
	if (f->plain_eof && !pbuf_pending(&f->to_tls) && !f->close_notify_sent) {
		/* 0 or 1: our close_notify is queued either way */
		if (SSL_shutdown(f->s.ssl) >= 0) {
			f->close_notify_sent = true;
			progress = true;
		}
	}
	if (tlsio_unsent(&f->io) && tlsio_flush(&f->io))
		progress = true;
	if (f->io.failed && !f->tls_broken) {
		tls_broke(f);
		progress = true;
	}
	return progress;
}

/* Move as many bytes as possible; returns false once the session closed. */
static bool relay(struct fsession *f)
{
	struct session_layer *sl = f->s.sl;
	int rounds = 0;
	bool progress = true, moved = false;

	while (progress && rounds++ < PUMP_ROUNDS) {
		progress = false;

		if (!f->tls_eof && f->rd_tls) {
			if (tlsio_fill(&f->io))
				progress = true;
			f->rd_tls = !f->io.dry;
		}
		progress |= pump_from_tls(f);

		/* plain -> to_tls */
		if (!f->plain_eof && f->rd_plain && pbuf_room(&f->to_tls) && !f->throttled[plain_dir(f)] &&
		    pbuf_reserve(f->fw->pool, &f->to_tls)) {
			size_t want = session_allow(sl, plain_dir(f), pbuf_space(&f->to_tls));
			if (!want) {
				f->throttled[plain_dir(f)] = true;
				session_wait_tokens(&f->s);
			} else {
				ssize_t n = read(f->plain_h.fd, f->to_tls.d + f->to_tls.w, want);
				f->rd_plain = n > 0 && (size_t)n == want;
				if (n > 0) {
					f->to_tls.w += (size_t)n;
					pbuf_produced(f->fw->pool, &f->to_tls, want, (size_t)n);
					session_consume(sl, &f->s, plain_dir(f), (size_t)n);
					progress = true;
				} else if (n == 0) {
					f->plain_eof = true;
					progress = true;
				} else if (errno != EAGAIN && errno != EINTR) {
					session_close(&f->s, SESSION_CLOSE_ERROR, strerror(errno));
					return false;
				}
			}
		}

		progress |= pump_to_tls(f);

		/* to_plain -> plain */
		if (pbuf_pending(&f->to_plain)) {
			ssize_t n = write(f->plain_h.fd, f->to_plain.d + f->to_plain.r, pbuf_pending(&f->to_plain));
			if (n > 0) {
				pbuf_consumed(&f->to_plain, (size_t)n);
				progress = true;
			} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
				session_close(&f->s, SESSION_CLOSE_ERROR, strerror(errno));
				return false;
			}
		}
		if (f->tls_eof && !pbuf_pending(&f->to_plain) && !f->plain_shut) {
			shutdown(f->plain_h.fd, SHUT_WR);
			f->plain_shut = true;
			progress = true;
		}
		moved |= progress;
	}
	if (moved)
		session_touch(&f->s);
	if (f->close_notify_sent && f->tls_eof && f->plain_shut &&
	    (f->tls_broken || !tlsio_unsent(&f->io))) {
		bool lost = f->tls_broken && !f->truncated;
		int err = f->io.err;
		session_close(&f->s,
			      lost && (err == ETIMEDOUT || err == EHOSTUNREACH) ? SESSION_CLOSE_KEEPALIVE
			      : lost ? SESSION_CLOSE_ERROR : SESSION_CLOSE_DONE,
			      lost ? (err ? strerror(err) : "tls connection lost")
			      : f->truncated ? "peer closed without close_notify" : "done");
		return false;
	}
	/* Out of rounds with work left: come back on the next pass, after the
	 * other sessions (a timer due at 0 would run again in this pass). */
	if (progress)
		loop_timer_set(f->fw->loop, &f->soon, loop_now_ns(f->fw->loop));
	return true;
}

/* Register what the session waits for now. */
static void session_watch(struct fsession *f)
{
	struct loop *l = f->fw->loop;
	uint32_t tls = 0, plain = 0;

	if (f->state == FS_RELAY) {
		if (!f->plain_eof && pbuf_room(&f->to_tls) && !f->throttled[plain_dir(f)])
			plain |= EPOLLIN;
		if (pbuf_pending(&f->to_plain))
			plain |= EPOLLOUT;
		if (!f->tls_eof && !f->io.eof && tlsio_room(&f->io) && pbuf_room(&f->to_plain) &&
		    !f->throttled[tls_dir(f)])
			tls |= EPOLLIN;
		if (!f->tls_broken && tlsio_unsent(&f->io))
			tls |= EPOLLOUT;
	}
	loop_watch(l, &f->tls_h, tls);
	if (f->plain_h.fd >= 0)
		loop_watch(l, &f->plain_h, plain);
}

static void pump(struct fsession *f)
{
	if (!relay(f))
		return;
	fwd_buffers_idle(f);
	session_watch(f);
}

static void fwd_unthrottled(struct session *s)
{
	struct fsession *f = container_of(s, struct fsession, s);

	f->throttled[THROTTLE_UP] = f->throttled[THROTTLE_DOWN] = false;
	f->rd_tls = f->rd_plain = true;
	if (f->state == FS_RELAY)
		pump(f);
}

/* ---- setting a stream up ------------------------------------------------------------ */

static void start_relay(struct fsession *f)
{
	uint8_t st[FRAME_STATUS_MAX];

	f->state = FS_RELAY;
	/* a busy stream keeps OpenSSL's record buffers (tlsio_idle drops them) */
	SSL_clear_mode(f->s.ssl, SSL_MODE_RELEASE_BUFFERS);
	if (f->server && f->status) {
		ssize_t n = frame_status_encode(st, sizeof(st), NULL);
		if (n < 0 || !pbuf_reserve(f->fw->pool, &f->to_tls)) {
			session_close(&f->s, SESSION_CLOSE_ERROR, "out of memory");
			return;
		}
		memcpy(f->to_tls.d, st, (size_t)n);
		f->to_tls.w = (size_t)n;
	}
	session_set_idle(&f->s, cur(f->fw)->cfg->forward.idle_timeout_s);
	f->rd_tls = f->rd_plain = true;
	pump(f);
}

/* The server refuses an authenticated stream: say why when the client
 * understands the status, then close. */
static void refuse(struct fsession *f, const char *why)
{
	uint8_t st[FRAME_STATUS_MAX];
	char detail[96];

	if (f->status && fwd_buffers(f) == 0) {
		ssize_t n = frame_status_encode(st, sizeof(st), why);
		if (n > 0 && SSL_write(f->s.ssl, st, (int)n) > 0)
			SSL_shutdown(f->s.ssl);
		tlsio_flush(&f->io);
	}
	snprintf(detail, sizeof(detail), "refused: %s", why);
	session_close(&f->s, SESSION_CLOSE_REFUSED, detail);
}

/* Admitted by the layer: the client relays, the server connects the target. */
static void admitted(struct fsession *f)
{
	struct loop *l = f->fw->loop;
	struct dpconf *c = cur(f->fw);

	if (!f->server) {
		start_relay(f);
		return;
	}
	f->plain_h.fd = net_connect(&c->target, c->target_len);
	if (f->plain_h.fd < 0) {
		session_close(&f->s, SESSION_CLOSE_ERROR, "cannot connect to forward.target");
		return;
	}
	f->state = FS_CONNECT_TARGET;
	/* the connect is bounded like the handshake */
	session_set_deadline(&f->s,
			     loop_now_ns(l) + (uint64_t)c->cfg->tunnel.handshake_timeout_ms * 1000000u);
	loop_watch(l, &f->tls_h, 0);
	loop_watch(l, &f->plain_h, EPOLLOUT);
}

static void establish(struct fsession *f)
{
	const char *why;

	if (session_establish(&f->s, &why) == 0)
		admitted(f);
	else if (f->server)
		refuse(f, why);
	else
		session_close(&f->s, SESSION_CLOSE_REFUSED, why);
}

/* Client: read the server's admission status; true while it may go on. */
static void read_status(struct fsession *f)
{
	char reason[FRAME_STATUS_REASON + 1], detail[96], q[100];
	size_t need = 1;
	int r;

	tlsio_fill(&f->io);
	while ((r = frame_status_parse(f->st, f->st_have, &need, reason, sizeof(reason))) == 0) {
		int n = SSL_read(f->s.ssl, f->st + f->st_have, (int)(need - f->st_have));
		if (n > 0) {
			f->st_have += (size_t)n;
			continue;
		}
		int e = SSL_get_error(f->s.ssl, n);
		if (e == SSL_ERROR_WANT_READ && !f->io.eof && !f->io.failed) {
			loop_watch(f->fw->loop, &f->tls_h, EPOLLIN);
			return;
		}
		session_close(&f->s, SESSION_CLOSE_ERROR, "server closed before its status");
		return;
	}
	if (r == 1) {
		establish(f);
		return;
	}
	if (r == 2) {
		log_error("forward", "event=refused_by_server id=%llu server=%s reason=%s",
			  (unsigned long long)f->s.rec.id, f->s.peer, log_quote(reason, q, sizeof(q)));
		snprintf(detail, sizeof(detail), "refused: %s", reason);
		session_close(&f->s, SESSION_CLOSE_REFUSED, detail);
		return;
	}
	session_close(&f->s, SESSION_CLOSE_ERROR, "malformed status from the server");
}

static void fwd_handshake_done(struct session *s)
{
	struct fsession *f = container_of(s, struct fsession, s);

	if (session_authenticated(&f->s) < 0)
		return;
	f->status = tls_status_negotiated(f->s.ssl);
	if (!f->server && f->status) {
		f->state = FS_STATUS;
		read_status(f);
		return;
	}
	establish(f);
}

/* The TLS session, its handshake through the batched I/O as well (one
 * read(2) for the peer's flight, one write(2) for ours). */
static bool tls_begin(struct fsession *f)
{
	f->s.ssl = tls_session_new(f->s.conf->tls, -1);
	if (!f->s.ssl || fwd_buffers(f) < 0) {
		session_close(&f->s, SESSION_CLOSE_ERROR, "cannot create a TLS session");
		return false;
	}
	f->s.io = &f->io;
	f->state = FS_HANDSHAKE;
	session_want_handshake(&f->s);
	return true;
}

static void on_tls(struct loop *l, struct loop_handler *h, uint32_t events)
{
	struct fsession *f = container_of(h, struct fsession, tls_h);

	if (f->s.state == SESSION_CLOSED)
		return;
	switch (f->state) {
	case FS_CONNECT_TLS: {
		int e = net_connect_result(h->fd);
		if (e < 0) {
			if (session_log_allowed(f->s.sl, "connect_failed", "tunnel.server"))
				log_warning("forward", "event=connect_failed id=%llu server=%s error=%s",
					    (unsigned long long)f->s.rec.id, f->s.conf->cfg->tunnel.server,
					    strerror(-e));
			session_close(&f->s, SESSION_CLOSE_ERROR, "cannot connect to tunnel.server");
			return;
		}
		tls_begin(f);
		return;
	}
	case FS_HANDSHAKE:
		session_want_handshake(&f->s);
		return;
	case FS_STATUS:
		read_status(f);
		return;
	case FS_CONNECT_TARGET:
		return;
	case FS_RELAY:
		if (events & ~(uint32_t)EPOLLOUT)
			f->rd_tls = true;
		pump(f);
		return;
	}
}

static void on_plain(struct loop *l, struct loop_handler *h, uint32_t events)
{
	struct fsession *f = container_of(h, struct fsession, plain_h);

	if (f->s.state == SESSION_CLOSED)
		return;
	if (f->state == FS_CONNECT_TARGET) {
		int e = net_connect_result(h->fd);
		if (e < 0) {
			if (session_log_allowed(f->s.sl, "connect_failed", "forward.target"))
				log_warning("forward", "event=connect_failed id=%llu target=%s error=%s",
					    (unsigned long long)f->s.rec.id, f->s.conf->cfg->forward.target,
					    strerror(-e));
			session_close(&f->s, SESSION_CLOSE_ERROR, "cannot connect to forward.target");
			return;
		}
		session_set_deadline(&f->s, 0);
		start_relay(f);
		return;
	}
	if (f->state == FS_RELAY) {
		if (events & ~(uint32_t)EPOLLOUT)
			f->rd_plain = true;
		pump(f);
	}
}

static void on_soon(struct loop *l, struct loop_timer *t)
{
	struct fsession *f = container_of(t, struct fsession, soon);

	if (f->s.state != SESSION_CLOSED && f->state == FS_RELAY) {
		f->rd_tls = f->rd_plain = true;
		pump(f);
	}
}

static struct fsession *fsession_new(struct forward *fw, const struct sockaddr *peer, socklen_t len)
{
	struct fsession *f = xcalloc(1, sizeof(*f));

	f->fw = fw;
	f->tls_h = (struct loop_handler){ .fn = on_tls, .fd = -1 };
	f->s.tls_h = &f->tls_h;
	f->plain_h = (struct loop_handler){ .fn = on_plain, .fd = -1 };
	f->soon.fn = on_soon;
	f->server = cur(fw)->cfg->mode == CFG_MODE_SERVER;
	session_start(fw->sl, &f->s, &fwd_ops, peer, len, true);
	return f;
}

static void fwd_accept(void *t, int fd, const struct sockaddr *peer, socklen_t len)
{
	struct forward *fw = t;
	struct dpconf *c = cur(fw);
	int ka = c->cfg->tunnel.keepalive_s;

	/* TCP_NODELAY and (a server's) keepalive come with the accepted
	 * socket from the listener (net.h) */
	struct fsession *f = fsession_new(fw, peer, len);
	if (f->server) {
		f->tls_h.fd = fd;
		tls_begin(f);
		return;
	}
	f->plain_h.fd = fd;
	f->tls_h.fd = net_connect(&c->server, c->server_len);
	if (f->tls_h.fd < 0) {
		int e = errno;
		if (session_log_allowed(fw->sl, "connect_failed", "tunnel.server"))
			log_warning("forward", "event=connect_failed id=%llu server=%s error=%s",
				    (unsigned long long)f->s.rec.id, c->cfg->tunnel.server, strerror(e));
		session_close(&f->s, SESSION_CLOSE_ERROR, "cannot connect to tunnel.server");
		return;
	}
	net_keepalive(f->tls_h.fd, ka);
	snprintf(f->s.peer, sizeof(f->s.peer), "%s", c->cfg->tunnel.server);
	f->state = FS_CONNECT_TLS;
	loop_watch(fw->loop, &f->tls_h, EPOLLOUT);
}

/* ---- the transport ------------------------------------------------------------------ */

static const struct session_ops fwd_ops = {
	.subsys = "forward",
	.streams = true,
	.handshake_done = fwd_handshake_done,
	.unthrottled = fwd_unthrottled,
	.release = fwd_release,
	.free = fwd_free,
};

static void *fwd_create(struct session_layer *sl)
{
	struct forward *fw = xcalloc(1, sizeof(*fw));

	fw->sl = sl;
	fw->loop = session_layer_loop(sl);
	fw->pool = session_layer_pool(sl);
	return fw;
}

static void fwd_start(void *t)
{
	struct forward *fw = t;

	session_layer_set_state(fw->sl, cur(fw)->cfg->mode == CFG_MODE_SERVER ? TUNNEL_LISTENING : TUNNEL_UP);
}

static void fwd_stop(void *t)
{
	struct forward *fw = t;

	session_close_all(fw->sl, SESSION_CLOSE_STOPPING, "stopping");
	session_layer_set_state(fw->sl, TUNNEL_DOWN);
}

static void fwd_destroy(void *t)
{
	free(t);
}

const struct transport forward_transport = {
	.name = "forward",
	.tcp_keepalive = true,
	.create = fwd_create,
	.start = fwd_start,
	.accept = fwd_accept,
	.stop = fwd_stop,
	.destroy = fwd_destroy,
};
