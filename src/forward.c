/* SPDX-License-Identifier: MIT */
/*
 * forward.c - the `forward` transport, like stunnel.
 *
 * Client: a plain TCP connection accepted on forward.listen becomes its own
 * TLS connection to tunnel.server.  Server: a TLS connection accepted on
 * tunnel.listen is connected, after the handshake, to forward.target.
 * Bytes are relayed both ways through two bounded buffers; a full buffer
 * stops reading its source (backpressure), an end of stream is passed on
 * as a TLS close_notify or a TCP half-close once the buffer drained, so
 * no byte is ever dropped.  The limiter delays reads, never data.
 *
 * Runs on the data-plane thread only.  A session keeps the dp_conf (and
 * SSL_CTX) it started under; a reload that stops admitting its peer closes
 * it (revocation).
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
#include "log.h"
#include "net.h"
#include "stats.h"
#include "tls.h"
#include "tlsio.h"
#include "transport.h"

#define BUF_SIZE (256 * 1024)
#define PAIR_SIZE (256 * 1024) /* ciphertext batched per read(2)/write(2) */
#define TLS_CHUNK (64 * 1024)  /* one SSL_write: four full records */
#define PUMP_ROUNDS 16        /* then yield to other sessions */

struct buf {
	char *d;
	size_t r, w; /* consume from r, produce at w */
};

enum fs_state { FS_CONNECT_TLS, FS_HANDSHAKE, FS_CONNECT_TARGET, FS_RELAY };

struct fsession {
	struct dataplane *dp;
	struct dp_conf *conf;
	struct fsession *prev, *next;
	unsigned long id;
	enum fs_state state;
	bool server, closed, counted;
	struct dp_handler tls_h, plain_h;
	SSL *ssl;
	struct tlsio io;
	struct dp_timer deadline, soon;
	char peer[80];

	struct buf to_tls, to_plain;
	bool plain_eof, tls_eof;     /* no more to read from that side */
	bool close_notify_sent, plain_shut;
	bool tls_broken;             /* the TLS side failed: flush to plain, then close */
	bool throttled[2];           /* waiting for tokens, by enum dp_dir */
	uint64_t bytes[2];
};

struct forward {
	struct fsession *head;
	unsigned long next_id;
	unsigned server_conns; /* server side: every accepted connection */
};

static struct forward *fw(struct dataplane *dp)
{
	return dp_mode_priv(dp);
}

/* Directions as seen at this end: what is read from the plain side is
 * upload on a client and download on a server, and the reverse for TLS. */
static enum dp_dir plain_dir(const struct fsession *s)
{
	return s->server ? DP_DOWN : DP_UP;
}

static enum dp_dir tls_dir(const struct fsession *s)
{
	return s->server ? DP_UP : DP_DOWN;
}

static size_t space(const struct buf *b)
{
	return BUF_SIZE - b->w;
}

static size_t pending(const struct buf *b)
{
	return b->w - b->r;
}

/* After consuming: start again at the front when empty, or move the rest
 * there when the tail is short (SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER lets a
 * pending SSL_write see its bytes move). */
static void buf_compact(struct buf *b)
{
	if (b->r == b->w) {
		b->r = b->w = 0;
	} else if (b->r > BUF_SIZE / 2) {
		memmove(b->d, b->d + b->r, b->w - b->r);
		b->w -= b->r;
		b->r = 0;
	}
}

/* ---- closing ------------------------------------------------------------ */

static void session_free(void *p)
{
	struct fsession *s = p;

	free(s->to_tls.d);
	free(s->to_plain.d);
	free(s);
}

static void session_close(struct fsession *s, const char *reason)
{
	struct dataplane *dp = s->dp;
	struct tunnel_stats *st = dp_stats(dp);

	if (s->closed)
		return;
	s->closed = true;
	char q[160];

	log_info("forward", "event=session_close id=%lu peer=%s reason=%s up=%llu down=%llu", s->id,
		 s->peer, log_quote(reason, q, sizeof(q)), (unsigned long long)s->bytes[DP_UP],
		 (unsigned long long)s->bytes[DP_DOWN]);
	dp_timer_cancel(dp, &s->deadline);
	dp_timer_cancel(dp, &s->soon);
	/* Closing on our side (stop, revocation): tell the peer properly,
	 * best effort, so that it does not see a truncated stream. */
	if (s->ssl && s->state == FS_RELAY && !s->close_notify_sent && !s->tls_broken) {
		if (SSL_shutdown(s->ssl) >= 0)
			tlsio_flush(&s->io);
		/* Whatever failed here must not be read by the next session's
		 * SSL_get_error(): the error queue is per thread. */
		ERR_clear_error();
	}
	if (s->tls_h.fd >= 0) {
		dp_watch(dp, &s->tls_h, 0);
		close(s->tls_h.fd);
	}
	if (s->plain_h.fd >= 0) {
		dp_watch(dp, &s->plain_h, 0);
		close(s->plain_h.fd);
	}
	SSL_free(s->ssl);
	s->ssl = NULL;
	tlsio_free(&s->io);
	if (s->counted)
		atomic_fetch_sub_explicit(&st->sessions_active, 1, memory_order_relaxed);
	if (s->server)
		fw(dp)->server_conns--;
	if (s->prev)
		s->prev->next = s->next;
	else
		fw(dp)->head = s->next;
	if (s->next)
		s->next->prev = s->prev;
	dp_conf_unref(s->conf);
	s->conf = NULL;
	dp_defer(dp, session_free, s);
}

/* ---- the relay ---------------------------------------------------------- */

/* The TLS side failed: deliver what already arrived, then close; nothing
 * more can be sent to the peer. */
static void tls_broke(struct fsession *s)
{
	tls_log_errors("relay", s->peer);
	s->tls_eof = s->tls_broken = true;
	s->close_notify_sent = true;
	s->to_tls.r = s->to_tls.w = 0;
}

/* Move as many bytes as possible; returns false once the session closed. */
static bool relay(struct fsession *s)
{
	struct dataplane *dp = s->dp;
	int rounds = 0;
	bool progress = true;

	while (progress && rounds++ < PUMP_ROUNDS) {
		progress = false;

		/* socket -> ciphertext -> SSL_read -> to_plain */
		if (!s->tls_eof && tlsio_fill(&s->io))
			progress = true;
		while (!s->tls_eof && space(&s->to_plain) && !s->throttled[tls_dir(s)]) {
			size_t want = dp_allow(dp, tls_dir(s), space(&s->to_plain));
			if (!want) {
				s->throttled[tls_dir(s)] = true;
				break;
			}
			int n = SSL_read(s->ssl, s->to_plain.d + s->to_plain.w, (int)want);
			if (n > 0) {
				s->to_plain.w += (size_t)n;
				s->bytes[tls_dir(s)] += (size_t)n;
				dp_consume(dp, tls_dir(s), (size_t)n);
				progress = true;
				continue;
			}
			int e = SSL_get_error(s->ssl, n);
			if (e == SSL_ERROR_ZERO_RETURN) {
				s->tls_eof = true;
				progress = true;
			} else if (e != SSL_ERROR_WANT_READ || s->io.failed) {
				tls_broke(s);
				progress = true;
			}
			break;
		}

		/* plain -> to_tls */
		if (!s->plain_eof && space(&s->to_tls) && !s->throttled[plain_dir(s)]) {
			size_t want = dp_allow(dp, plain_dir(s), space(&s->to_tls));
			if (!want) {
				s->throttled[plain_dir(s)] = true;
			} else {
				ssize_t n = read(s->plain_h.fd, s->to_tls.d + s->to_tls.w, want);
				if (n > 0) {
					s->to_tls.w += (size_t)n;
					s->bytes[plain_dir(s)] += (size_t)n;
					dp_consume(dp, plain_dir(s), (size_t)n);
					progress = true;
				} else if (n == 0) {
					s->plain_eof = true;
					progress = true;
				} else if (errno != EAGAIN && errno != EINTR) {
					session_close(s, strerror(errno));
					return false;
				}
			}
		}

		/* to_tls -> SSL_write -> ciphertext -> socket */
		while (pending(&s->to_tls) && !s->close_notify_sent) {
			size_t len = pending(&s->to_tls) < TLS_CHUNK ? pending(&s->to_tls) : TLS_CHUNK;
			int n = SSL_write(s->ssl, s->to_tls.d + s->to_tls.r, (int)len);
			if (n > 0) {
				s->to_tls.r += (size_t)n;
				buf_compact(&s->to_tls);
				progress = true;
				continue;
			}
			if (SSL_get_error(s->ssl, n) != SSL_ERROR_WANT_WRITE) {
				tls_broke(s);
				progress = true;
			} else if (tlsio_flush(&s->io)) {
				progress = true;
				continue;
			}
			break;
		}
		if (s->plain_eof && !pending(&s->to_tls) && !s->close_notify_sent) {
			/* 0 or 1: our close_notify is queued either way */
			if (SSL_shutdown(s->ssl) >= 0) {
				s->close_notify_sent = true;
				progress = true;
			}
		}
		if (tlsio_unsent(&s->io) && tlsio_flush(&s->io))
			progress = true;
		if (s->io.failed && !s->tls_broken) {
			tls_broke(s);
			progress = true;
		}

		/* to_plain -> plain */
		if (pending(&s->to_plain)) {
			ssize_t n = write(s->plain_h.fd, s->to_plain.d + s->to_plain.r, pending(&s->to_plain));
			if (n > 0) {
				s->to_plain.r += (size_t)n;
				buf_compact(&s->to_plain);
				progress = true;
			} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
				session_close(s, strerror(errno));
				return false;
			}
		}
		if (s->tls_eof && !pending(&s->to_plain) && !s->plain_shut) {
			shutdown(s->plain_h.fd, SHUT_WR);
			s->plain_shut = true;
			progress = true;
		}
	}
	if (s->close_notify_sent && s->tls_eof && s->plain_shut &&
	    (s->tls_broken || !tlsio_unsent(&s->io))) {
		session_close(s, s->tls_broken ? "tls connection lost" : "done");
		return false;
	}
	/* Out of rounds with work left: come back after the other sessions. */
	if (progress)
		dp_timer_set(dp, &s->soon, 0);
	return true;
}

/* Register what the session waits for now. */
static void session_watch(struct fsession *s)
{
	uint32_t tls = 0, plain = 0;

	if (s->state == FS_RELAY) {
		if (!s->plain_eof && space(&s->to_tls) && !s->throttled[plain_dir(s)])
			plain |= EPOLLIN;
		if (pending(&s->to_plain))
			plain |= EPOLLOUT;
		if (!s->tls_eof && !s->io.eof && tlsio_room(&s->io) && space(&s->to_plain) &&
		    !s->throttled[tls_dir(s)])
			tls |= EPOLLIN;
		if (!s->tls_broken && tlsio_unsent(&s->io))
			tls |= EPOLLOUT;
	}
	dp_watch(s->dp, &s->tls_h, tls);
	if (s->plain_h.fd >= 0)
		dp_watch(s->dp, &s->plain_h, plain);
}

/* ---- setting a session up ------------------------------------------------ */

static void start_relay(struct fsession *s)
{
	struct tunnel_stats *st = dp_stats(s->dp);

	s->state = FS_RELAY;
	dp_timer_cancel(s->dp, &s->deadline);
	s->counted = true;
	atomic_fetch_add_explicit(&st->sessions_active, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&st->sessions_total, 1, memory_order_relaxed);
	s->to_tls.d = xmalloc(BUF_SIZE);
	s->to_plain.d = xmalloc(BUF_SIZE);
	if (relay(s))
		session_watch(s);
}

/* Attach the batched I/O to a new SSL on fd; false (session closed) on failure. */
static bool tls_begin(struct fsession *s, int fd)
{
	s->ssl = tls_session_new(s->conf->tls, fd);
	if (!s->ssl || tlsio_attach(&s->io, s->ssl, fd, PAIR_SIZE) < 0) {
		session_close(s, "cannot create a TLS session");
		return false;
	}
	s->state = FS_HANDSHAKE;
	return true;
}

static void handshake_failed(struct fsession *s)
{
	const char *why = dp_handshake_failed(s->dp, s->ssl, s->peer);

	tlsio_flush(&s->io); /* let the peer see our alert */
	session_close(s, why ? why : s->io.eof ? "peer closed during the handshake" : "handshake failed");
}

static void handshake(struct fsession *s)
{
	struct dataplane *dp = s->dp;
	struct tunnel_stats *st = dp_stats(dp);
	char name[160];
	int r;

	for (;;) {
		r = SSL_do_handshake(s->ssl);
		tlsio_flush(&s->io);
		if (r == 1)
			break;
		int e = SSL_get_error(s->ssl, r);
		if (e == SSL_ERROR_WANT_READ && !s->io.eof && !s->io.failed) {
			if (tlsio_fill(&s->io))
				continue;
			dp_watch(dp, &s->tls_h, EPOLLIN | (tlsio_unsent(&s->io) ? EPOLLOUT : 0));
			return;
		}
		handshake_failed(s);
		return;
	}

	struct dp_conf *cur = dp_conf_current(dp);
	/* Accepted under a context a reload has replaced meanwhile: the
	 * current one must admit the peer too. */
	if (cur->tls != s->conf->tls &&
	    !tls_peer_admitted(cur->tls, SSL_get0_peer_certificate(s->ssl), SSL_get_peer_cert_chain(s->ssl))) {
		atomic_fetch_add_explicit(&st->sessions_revoked, 1, memory_order_relaxed);
		session_close(s, "revoked");
		return;
	}
	log_info("forward", "event=session_open id=%lu peer=%s cert=%s version=%s cipher=%s", s->id,
		 s->peer, tls_peer_name(s->ssl, name, sizeof(name)), SSL_get_version(s->ssl),
		 SSL_get_cipher_name(s->ssl));
	if (!s->server) {
		start_relay(s);
		return;
	}
	s->plain_h.fd = net_connect(&s->conf->target, s->conf->target_len);
	if (s->plain_h.fd < 0) {
		session_close(s, "cannot connect to forward.target");
		return;
	}
	s->state = FS_CONNECT_TARGET;
	dp_watch(dp, &s->tls_h, 0);
	dp_watch(dp, &s->plain_h, EPOLLOUT);
}

static void on_tls(struct dataplane *dp, struct dp_handler *h, uint32_t events)
{
	struct fsession *s = (struct fsession *)((char *)h - offsetof(struct fsession, tls_h));

	if (s->closed)
		return;
	switch (s->state) {
	case FS_CONNECT_TLS: {
		int e = net_connect_result(h->fd);
		if (e < 0) {
			log_warning("forward", "event=connect_failed id=%lu server=%s error=%s", s->id,
				    s->conf->cfg->tunnel.server, strerror(-e));
			session_close(s, "cannot connect to tunnel.server");
			return;
		}
		if (tls_begin(s, h->fd))
			handshake(s);
		return;
	}
	case FS_HANDSHAKE:
		handshake(s);
		return;
	case FS_CONNECT_TARGET:
		return;
	case FS_RELAY:
		if (relay(s))
			session_watch(s);
		return;
	}
}

static void on_plain(struct dataplane *dp, struct dp_handler *h, uint32_t events)
{
	struct fsession *s = (struct fsession *)((char *)h - offsetof(struct fsession, plain_h));

	if (s->closed)
		return;
	if (s->state == FS_CONNECT_TARGET) {
		int e = net_connect_result(h->fd);
		if (e < 0) {
			log_warning("forward", "event=connect_failed id=%lu target=%s error=%s", s->id,
				    s->conf->cfg->forward.target, strerror(-e));
			session_close(s, "cannot connect to forward.target");
			return;
		}
		start_relay(s);
		return;
	}
	if (s->state == FS_RELAY && relay(s))
		session_watch(s);
}

static void on_deadline(struct dataplane *dp, struct dp_timer *t)
{
	struct fsession *s = (struct fsession *)((char *)t - offsetof(struct fsession, deadline));

	atomic_fetch_add_explicit(&dp_stats(dp)->handshake_failures, 1, memory_order_relaxed);
	session_close(s, "handshake timeout");
}

static void on_soon(struct dataplane *dp, struct dp_timer *t)
{
	struct fsession *s = (struct fsession *)((char *)t - offsetof(struct fsession, soon));

	if (!s->closed && s->state == FS_RELAY && relay(s))
		session_watch(s);
}

static struct fsession *session_new(struct dataplane *dp, bool server, const struct sockaddr *peer)
{
	struct forward *f = fw(dp);
	struct fsession *s = xcalloc(1, sizeof(*s));

	s->dp = dp;
	s->conf = dp_conf_ref(dp_conf_current(dp));
	s->id = ++f->next_id;
	s->server = server;
	s->tls_h = (struct dp_handler){ .fn = on_tls, .fd = -1 };
	s->plain_h = (struct dp_handler){ .fn = on_plain, .fd = -1 };
	s->deadline.fn = on_deadline;
	s->soon.fn = on_soon;
	net_addr_str(peer, s->peer, sizeof(s->peer));
	s->next = f->head;
	if (f->head)
		f->head->prev = s;
	f->head = s;
	dp_timer_set(dp, &s->deadline,
		     dp_now_ns(dp) + (uint64_t)s->conf->cfg->tunnel.handshake_timeout_ms * 1000000u);
	return s;
}

static void fw_accept(struct dataplane *dp, int fd, const struct sockaddr *peer, socklen_t len)
{
	struct dp_conf *c = dp_conf_current(dp);
	struct forward *f = fw(dp);
	char addr[80];

	net_tune(fd);
	if (c->cfg->mode == CFG_MODE_SERVER) {
		if (f->server_conns >= (unsigned)c->cfg->tunnel.max_clients) {
			atomic_fetch_add_explicit(&dp_stats(dp)->peers_refused, 1, memory_order_relaxed);
			log_warning("forward", "event=refused peer=%s reason=max_clients max_clients=%d",
				    net_addr_str(peer, addr, sizeof(addr)), c->cfg->tunnel.max_clients);
			close(fd);
			return;
		}
		struct fsession *s = session_new(dp, true, peer);
		f->server_conns++;
		s->tls_h.fd = fd;
		if (tls_begin(s, fd))
			handshake(s);
		return;
	}
	struct fsession *s = session_new(dp, false, peer);
	s->plain_h.fd = fd;
	s->tls_h.fd = net_connect(&c->server, c->server_len);
	if (s->tls_h.fd < 0) {
		log_warning("forward", "event=connect_failed id=%lu server=%s error=%s", s->id,
			    c->cfg->tunnel.server, strerror(errno));
		session_close(s, "cannot connect to tunnel.server");
		return;
	}
	snprintf(s->peer, sizeof(s->peer), "%s", c->cfg->tunnel.server);
	s->state = FS_CONNECT_TLS;
	dp_watch(dp, &s->tls_h, EPOLLOUT);
}

/* A reload committed: close the sessions its TLS material no longer admits. */
static void fw_swapped(struct dataplane *dp, struct dp_conf *old, struct dp_conf *cur)
{
	if (old->tls == cur->tls)
		return;
	for (struct fsession *s = fw(dp)->head, *next; s; s = next) {
		next = s->next;
		if (s->closed || s->state != FS_RELAY)
			continue;
		if (tls_peer_admitted(cur->tls, SSL_get0_peer_certificate(s->ssl),
				      SSL_get_peer_cert_chain(s->ssl)))
			continue;
		atomic_fetch_add_explicit(&dp_stats(dp)->sessions_revoked, 1, memory_order_relaxed);
		log_warning("forward", "event=revoked id=%lu peer=%s", s->id, s->peer);
		session_close(s, "revoked");
	}
}

/* Put s last in the session list. */
static void move_to_tail(struct forward *f, struct fsession *s)
{
	struct fsession *tail = f->head;

	if (!s->next)
		return;
	while (tail->next)
		tail = tail->next;
	if (s->prev)
		s->prev->next = s->next;
	else
		f->head = s->next;
	s->next->prev = s->prev;
	tail->next = s;
	s->prev = tail;
	s->next = NULL;
}

/* The buckets have tokens again.  The session woken first takes what it
 * can, so the first one goes to the end of the list: over successive
 * wake-ups every waiting session gets its turn first. */
static void fw_unthrottled(struct dataplane *dp)
{
	struct fsession *first = NULL;

	for (struct fsession *s = fw(dp)->head, *next; s; s = next) {
		next = s->next;
		if (s->closed || (!s->throttled[DP_UP] && !s->throttled[DP_DOWN]))
			continue;
		if (!first)
			first = s;
		s->throttled[DP_UP] = s->throttled[DP_DOWN] = false;
		if (relay(s))
			session_watch(s);
	}
	if (first && !first->closed)
		move_to_tail(fw(dp), first);
}

static void fw_start(struct dataplane *dp)
{
	const struct config *c = dp_conf_current(dp)->cfg;

	dp_set_state(dp, c->mode == CFG_MODE_SERVER ? TUNNEL_LISTENING : TUNNEL_UP);
}

static void fw_stop(struct dataplane *dp)
{
	while (fw(dp)->head)
		session_close(fw(dp)->head, "stopping");
	dp_set_state(dp, TUNNEL_DOWN);
}

static void fw_free(struct dp_mode *m)
{
	free(m->priv);
	free(m);
}

struct dp_mode *forward_mode_new(void)
{
	struct dp_mode *m = xcalloc(1, sizeof(*m));

	*m = (struct dp_mode){
		.name = "forward",
		.accept = fw_accept,
		.swapped = fw_swapped,
		.unthrottled = fw_unthrottled,
		.start = fw_start,
		.stop = fw_stop,
		.free = fw_free,
		.priv = xcalloc(1, sizeof(struct forward)),
	};
	return m;
}
