/* SPDX-License-Identifier: MIT */
/*
 * session.h - the session layer: the life cycle every tunnel connection
 * shares, whatever its transport.
 *
 *   pending        accepted (or dialled), TCP connect and TLS handshake
 *                  in progress: counts against tunnel.max_pending and, for
 *                  a connection a server accepted,
 *                  tunnel.max_pending_per_source; when either is full the
 *                  oldest pending connection whose peer said nothing yet
 *                  (of that source, and silent for a second at least) is
 *                  dropped for the newcomer (for the global cap, failing
 *                  that, the oldest); a deadline of
 *                  tunnel.handshake_timeout_ms.
 *   authenticated  the handshake is done and the peer's certificate was
 *                  checked again against the running configuration (it
 *                  may have changed during the handshake); still pending
 *                  (a tun client's HELLO).
 *   established    admitted: counts against tunnel.max_clients (a server;
 *                  distinct peers for forward, sessions for tun) and
 *                  forward.max_streams; the deadline is gone.
 *   closed         one reason (enum session_close), logged once, then
 *                  freed after the loop's pass.
 *
 * Handshake steps run as loop jobs under the loop's per-pass budget, so a
 * flood of ClientHellos delays other handshakes, never established
 * traffic.  After every configuration change session_sweep() re-checks
 * every session, in every state, against the running configuration.  The
 * limiter's buckets, the tunnel's counters, each session's record (for a
 * per-peer table) and the rate-limited log of what peers cause live here.
 *
 * The transports (forward.c, tunnel.c) are leaves on top of this layer:
 * they embed a struct session in theirs and give a struct session_ops.
 * Data-plane thread only, except session_snapshot's caller (see there).
 */
#ifndef SSS_SESSION_H
#define SSS_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <openssl/ssl.h>

#include "list.h"
#include "loop.h"
#include "stats.h"
#include "throttle.h"

struct config;
struct dpconf;
struct tls_ctx;
struct tlsio;
struct tunnel_stats;
struct session_layer;
struct session_source;
struct session_client;

enum session_state {
	SESSION_PENDING = 1,
	SESSION_AUTHENTICATED = 2,
	SESSION_ESTABLISHED = 3,
	SESSION_CLOSED = 4,
};

/* Why a session ended; the log says the detail, this says the class. */
enum session_close {
	SESSION_CLOSE_DONE = 0,      /* the stream or the peer ended it: "closed" */
	SESSION_CLOSE_KEEPALIVE,     /* the peer vanished (keepalive, TCP timeout) */
	SESSION_CLOSE_IDLE,          /* forward.idle_timeout_s */
	SESSION_CLOSE_REVOKED,       /* the running configuration no longer admits the peer */
	SESSION_CLOSE_REFUSED,       /* admission refused: max_clients, max_streams, address */
	SESSION_CLOSE_REPLACED,      /* the same peer connected again */
	SESSION_CLOSE_EVICTED,       /* pending, dropped for a newer connection */
	SESSION_CLOSE_HANDSHAKE,     /* the handshake failed or took too long */
	SESSION_CLOSE_ERROR,         /* I/O error, malformed data */
	SESSION_CLOSE_STOPPING,      /* the daemon stops */
	SESSION_CLOSE_EXPIRED,       /* the peer's certificate expired */
	SESSION_CLOSE_N,
};
const char *session_close_name(enum session_close why);

/* Packets a session dropped, by reason (tun): the tunnel's reasons
 * (stats.h) but the one without a session. */
enum session_drop {
	SESSION_DROP_SPOOFED = TUN_DROP_SPOOFED,
	SESSION_DROP_BAD_GSO = TUN_DROP_BAD_GSO,
	SESSION_DROP_MALFORMED = TUN_DROP_MALFORMED,
	SESSION_DROP_QUEUE = TUN_DROP_QUEUE,
	SESSION_DROP_DEVICE = TUN_DROP_DEVICE,
	SESSION_DROP_N = TUN_DROP_NO_ROUTE,
};

/*
 * What a per-peer table shows of one session, counted on the data thread.
 * in/out are as seen from this daemon (in: received from the peer).
 */
struct session_record {
	uint64_t id;
	enum session_state state;
	char name[64];          /* the allowed_peers / tunnel.peers entry that matched, or "" */
	char subject[160];      /* the peer certificate's subject, one line, or "" */
	struct sockaddr_storage remote; /* the peer's address and port */
	char tun_address[48];   /* tun: the peer's tunnel address, or "" */
	uint64_t established_ms; /* CLOCK_REALTIME ms when established, 0 before */
	uint64_t octets_in, octets_out, packets_in, packets_out;
	uint64_t drops[SESSION_DROP_N];
	uint64_t limiter_waits;
	int64_t cert_not_after;  /* the peer certificate's notAfter (time_t), 0 before */
};

/*
 * What the layer tells the outside about peers (the SNMP notifications),
 * on the data-plane thread; any may be NULL:
 *   peer     an established session of a server, or a forward client's
 *            stream, came up (up) or closed (why);
 *   tunnel   a tun client's session to its server came up or closed;
 *   cert     a peer certificate is inside tunnel.expiry_warn_days (at
 *            establishment, then daily) or expired.
 */
struct session_events {
	void (*peer)(void *ctx, const struct session_record *r, bool up, enum session_close why);
	void (*tunnel)(void *ctx, const struct session_record *r, bool up, enum session_close why);
	void (*cert)(void *ctx, const char *subject, int64_t not_after);
	void *ctx;
};

struct session;

/* What a transport gives the layer for its sessions. */
struct session_ops {
	const char *subsys;      /* log subsystem: "forward", "tunnel" */
	/* Several sessions per peer (forward streams): max_clients counts
	 * distinct peers; else every session is a client. */
	bool streams;
	/* The TLS handshake of s->ssl completed (the layer ran its steps as
	 * loop jobs, see session_want_handshake). */
	void (*handshake_done)(struct session *s);
	/* Tokens again after session_wait_tokens(). */
	void (*unthrottled)(struct session *s);
	/* Closing: release fds, SSL, buffers (the session is still linked). */
	void (*release)(struct session *s);
	/* Free the transport's struct (after the loop's pass). */
	void (*free)(struct session *s);
};

struct session {
	struct session_layer *sl;
	const struct session_ops *ops;
	struct dpconf *conf;      /* the configuration it started under (a reference) */
	enum session_state state;
	bool inbound;             /* accepted (counted per source), not dialled */
	SSL *ssl;                 /* the transport's; read for the identity checks */
	struct loop_handler *tls_h; /* the transport's handler of the TLS socket */
	struct tlsio *io;         /* the transport's batched I/O under ssl, or NULL: ssl on the socket */
	char peer[80];            /* "addr:port" for the log */
	char key[160];            /* who the peer is, for max_clients ("name" or subject) */
	struct session_record rec;
	uint64_t born_ns;         /* started (loop clock) */
	uint64_t last_active_ns;  /* forward.idle_timeout_s */

	/* the layer's */
	TAILQ_ENTRY(session) link;      /* every session */
	TAILQ_ENTRY(session) pend_link; /* pending, oldest first */
	TAILQ_ENTRY(session) src_link;  /* pending from the same source */
	struct throttle_waiter waiter;  /* waiting for tokens */
	struct session_source *src;
	struct session_client *client;
	const struct tls_ctx *checked; /* the TLS context the identity was last checked against */
	struct loop_timer deadline, idle, expiry;
	struct loop_job hs_job;
};

/* ---- the layer ------------------------------------------------------------- */

/* The layer for the loop's thread; stats are written as relaxed atomics. */
struct session_layer *session_layer_new(struct loop *l, struct tunnel_stats *stats);
/* Every session must be closed (session_close_all) first. */
void session_layer_free(struct session_layer *sl);

/* Install a new running configuration: buckets reconfigured, then every
 * session re-checked (session_sweep) when its TLS context changed.  Takes
 * a reference; the old one is dropped. */
void session_layer_install(struct session_layer *sl, struct dpconf *c);
struct dpconf *session_layer_conf(const struct session_layer *sl);
struct loop *session_layer_loop(const struct session_layer *sl);
struct tunnel_stats *session_layer_stats(const struct session_layer *sl);
/* The buffers of the layer's sessions (bufpool.h).  What a burst of
 * sessions leaves behind is given back to the system a few seconds after
 * the closes (bufpool_trim). */
struct bufpool *session_layer_pool(const struct session_layer *sl);
/* Called after the sessions' own unthrottled(): something else waiting for
 * tokens (the tun device) may read again. */
void session_layer_on_unthrottled(struct session_layer *sl, void (*fn)(void *ctx), void *ctx);
size_t session_count(const struct session_layer *sl, enum session_state state);
/* Whether tunnel.max_pending sessions are pending (a client end stops
 * accepting then, instead of dropping its own handshakes). */
bool session_pending_full(const struct session_layer *sl);
/* The tunnel's state as SNMP shows it (enum tunnel_state). */
void session_layer_set_state(struct session_layer *sl, int state);
/* Where peer events go (copied; before the first session). */
void session_layer_set_events(struct session_layer *sl, const struct session_events *ev);

/* ---- one session ------------------------------------------------------------ */

/*
 * Start s (zeroed by the caller, embedded in the transport's struct) as a
 * pending session under the running configuration: linked, deadline
 * armed, counted.  inbound: peer is the connecting address (per-source
 * cap on a server); else peer is where it dials.  May close older pending
 * sessions (tunnel.max_pending, max_pending_per_source) to make room;
 * never refuses.  The transport sets s->ssl as soon as it has one: a
 * session whose handshake has begun is dropped only after silent ones.
 */
void session_start(struct session_layer *sl, struct session *s, const struct session_ops *ops,
		   const struct sockaddr *peer, socklen_t len, bool inbound);

/*
 * Run a step of s's TLS handshake (s->ssl) as a job of a coming pass,
 * under the loop's budget.  A step that needs the socket arms s->tls_h
 * for it, once (EPOLLONESHOT: no events while the job waits); the
 * transport's handler then calls this again.  With s->io the step reads
 * what the socket has first and writes its flight in one write(2) after.
 * When the handshake completes, ops->handshake_done(s); when it fails, s
 * is closed (session_handshake_failed).
 */
void session_want_handshake(struct session *s);

/*
 * The TLS handshake of s failed: log OpenSSL's errors and, for a
 * certificate allowed_peers refused, event=peer_refused with its subject
 * (both rate-limited), count it (peers_refused or handshake_failures), and
 * close s with the reason.  close_detail: the reason when nothing more
 * specific is known ("peer closed during the handshake").
 */
void session_handshake_failed(struct session *s, const char *close_detail);

/*
 * The TLS handshake finished: learn who the peer is (the allowed_peers
 * entry its certificate carries, its subject) and check it against the
 * running configuration, which may have changed since the handshake
 * began.  Returns 0, or -1 with s closed (revoked).
 */
int session_authenticated(struct session *s);

/*
 * Admit s: max_clients (a server) and forward.max_streams.  Returns 0 (s
 * established, deadline gone, logged as session_open), or -1 with *why the
 * refusal ("max_clients", "max_streams") and s still open so that the
 * transport can tell the peer; it then closes it (SESSION_CLOSE_REFUSED).
 */
int session_establish(struct session *s, const char **why);

/* Override the pending deadline (a transport's own stage); 0 removes it. */
void session_set_deadline(struct session *s, uint64_t when_ns);

/*
 * Close s once: deadline, job and token wait cancelled, unlinked,
 * counted, logged (event=session_close, rate-limited for sessions that
 * never authenticated), ops->release(s) called, ops->free(s) deferred.
 * detail is the log's reason text (NULL: the class's name).
 */
void session_close(struct session *s, enum session_close why, const char *detail);
/* Close every session (stop). */
void session_close_all(struct session_layer *sl, enum session_close why, const char *detail);

/*
 * Re-check every session, in every state, against the running
 * configuration (each check is one function in session.c: the peer
 * certificate against the TLS context...).  A session that fails a check
 * is closed with the check's reason.  Called by session_layer_install.
 */
void session_sweep(struct session_layer *sl);

/* The first established session (a client's one tunnel), or NULL. */
struct session *session_first_established(struct session_layer *sl);
/* The established session of peer key other than s, or NULL. */
struct session *session_find_key(struct session_layer *sl, const char *key, const struct session *s);

/* ---- the limiter ------------------------------------------------------------ */

/* How much of want may pass now in direction d (0: wait for tokens; the
 * transport calls session_wait_tokens or keeps its own waiter). */
size_t session_allow(struct session_layer *sl, enum throttle_dir d, size_t want);
/* Account n bytes that passed (s may be NULL: not a session's). */
void session_consume(struct session_layer *sl, struct session *s, enum throttle_dir d, size_t n);
/* s waits for tokens: ops->unthrottled(s) when the buckets refill, the
 * sessions served in turn (whoever was served first goes last next time). */
void session_wait_tokens(struct session *s);
/* s saw activity (idle timeout). */
void session_touch(struct session *s);
/* Arm the idle timeout of s (0: none). */
void session_set_idle(struct session *s, int idle_s);
/* Count a packet (in: from the peer) or a drop on s. */
void session_count_packet(struct session *s, bool in);
void session_count_drop(struct session *s, enum session_drop why);

/* ---- what peers cause, in the log ------------------------------------------ */

/*
 * Whether an event a peer caused (event, reason: static strings) may be
 * logged now: the first few of each (event, reason) per 10 s are, the
 * rest are counted and summarised at the end of the interval as
 * "event=EVENT reason=REASON count=N suppressed=M in=10s" (warning).
 */
bool session_log_allowed(struct session_layer *sl, const char *event, const char *reason);

/* ---- other threads ------------------------------------------------------------- */

/*
 * Copy the records of at most max sessions past their handshake
 * (authenticated or established) into out, oldest first; returns how many
 * there are in all (may exceed max).  Data-plane thread only: another
 * thread asks for it through the data plane's mailbox (dp_sessions), so
 * that the copy is one consistent instant.
 */
size_t session_snapshot(struct session_layer *sl, struct session_record *out, size_t max);

/* The reconnect delay after a failure: ms doubled each time from 500 ms
 * up to 30 s, with +-20 % of jitter from getrandom(2) so that clients
 * restarted together do not come back in step.  *backoff_ms is the state
 * (0 at first). */
unsigned session_backoff_ms(unsigned *backoff_ms);

/* File descriptors a configuration may need at once (max sessions per
 * stage x fds per session, plus the daemon's own). */
unsigned long session_fds_needed(const struct config *c);

#endif
