/* SPDX-License-Identifier: MIT */
/*
 * session.c - the session layer (see session.h): staged admission, the
 * pending deadline, identity checks against the running configuration at
 * every state, the limiter's view of a session (throttle.c has the
 * buckets), records and the rate-limited log of what peers cause.
 *
 * It runs on the data-plane thread only and never blocks: the transports
 * do the I/O, this layer decides who may stay.  A peer that has not
 * authenticated must never be able to make it do more than O(1) work and
 * a bounded, rate-limited amount of logging per connection.
 */
#include "sessionpriv.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "bufpool.h"
#include "config.h"
#include "dpconf.h"
#include "log.h"
#include "net.h"
#include "ratelog.h"
#include "stats.h"
#include "throttle.h"
#include "tls.h"
#include "tlsio.h"

static const char *const close_names[SESSION_CLOSE_N] = {
	[SESSION_CLOSE_DONE] = "closed",
	[SESSION_CLOSE_KEEPALIVE] = "keepalive_timeout",
	[SESSION_CLOSE_IDLE] = "idle_timeout",
	[SESSION_CLOSE_REVOKED] = "revoked",
	[SESSION_CLOSE_REFUSED] = "refused",
	[SESSION_CLOSE_REPLACED] = "replaced",
	[SESSION_CLOSE_EVICTED] = "evicted",
	[SESSION_CLOSE_HANDSHAKE] = "handshake",
	[SESSION_CLOSE_ERROR] = "error",
	[SESSION_CLOSE_STOPPING] = "stopping",
	[SESSION_CLOSE_EXPIRED] = "expired",
};

const char *session_close_name(enum session_close why)
{
	return why < SESSION_CLOSE_N ? close_names[why] : "?";
}

/* ---- the rate-limited log -------------------------------------------------- */

static void log_flush(struct loop *l, struct loop_timer *t)
{
	struct session_layer *sl = container_of(t, struct session_layer, log_timer);

	ratelog_flush(&sl->log, "session");
}

/* Closes happened a while ago: what they left in the pool and in malloc's
 * free lists goes back to the system. */
static void trim(struct loop *l, struct loop_timer *t)
{
	struct session_layer *sl = container_of(t, struct session_layer, trim_timer);

	bufpool_trim(sl->pool);
}

/* A session left the pending stage: its handshake's buffers are free now,
 * and what a burst leaves goes back a few seconds later. */
static void trim_soon(struct session_layer *sl)
{
	if (!loop_timer_armed(&sl->trim_timer))
		loop_timer_set(sl->loop, &sl->trim_timer, loop_now_ns(sl->loop) + TRIM_AFTER_NS);
}

bool session_log_allowed(struct session_layer *sl, const char *event, const char *reason)
{
	bool opened;
	bool ok = ratelog_hit(&sl->log, event, reason, loop_now_ns(sl->loop), &opened);

	if (opened)
		loop_timer_set(sl->loop, &sl->log_timer, sl->log.start_ns + sl->log.interval_ns);
	return ok;
}

/* ---- sources and clients ----------------------------------------------------- */

static bool source_addr(const struct sockaddr *sa, int *family, uint8_t addr[16])
{
	memset(addr, 0, 16);
	if (sa->sa_family == AF_INET) {
		memcpy(addr, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		memcpy(addr, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
	} else {
		return false;
	}
	*family = sa->sa_family;
	return true;
}

static size_t source_bucket(int family, const uint8_t addr[16])
{
	uint32_t h = 2166136261u ^ (uint32_t)family;

	for (int i = 0; i < 16; i++)
		h = (h ^ addr[i]) * 16777619u;
	return h % SRC_BUCKETS;
}

static struct session_source *source_get(struct session_layer *sl, const struct sockaddr *sa)
{
	uint8_t addr[16];
	int family;
	struct session_source *src;

	if (!source_addr(sa, &family, addr))
		return NULL;
	size_t b = source_bucket(family, addr);
	TAILQ_FOREACH(src, &sl->sources[b], link)
		if (src->family == family && !memcmp(src->addr, addr, 16))
			return src;
	src = xcalloc(1, sizeof(*src));
	src->family = family;
	memcpy(src->addr, addr, 16);
	TAILQ_INIT(&src->pending);
	TAILQ_INSERT_HEAD(&sl->sources[b], src, link);
	return src;
}

static void source_leave(struct session_layer *sl, struct session *s)
{
	struct session_source *src = s->src;

	if (!src)
		return;
	TAILQ_REMOVE(&src->pending, s, src_link);
	s->src = NULL;
	if (--src->n)
		return;
	TAILQ_REMOVE(&sl->sources[source_bucket(src->family, src->addr)], src, link);
	free(src);
}

static struct session_client *client_find(struct session_layer *sl, const char *key)
{
	struct session_client *c;

	TAILQ_FOREACH(c, &sl->clients, link)
		if (!strcmp(c->key, key))
			return c;
	return NULL;
}

static void client_leave(struct session_layer *sl, struct session *s)
{
	struct session_client *c = s->client;

	if (!c)
		return;
	s->client = NULL;
	if (--c->sessions)
		return;
	TAILQ_REMOVE(&sl->clients, c, link);
	sl->n_clients--;
	free(c);
}

/* ---- the limiter (throttle.c), seen from a session ---------------------------- */

size_t session_allow(struct session_layer *sl, enum throttle_dir d, size_t want)
{
	return throttle_allow(&sl->throttle, d, want);
}

void session_consume(struct session_layer *sl, struct session *s, enum throttle_dir d, size_t n)
{
	throttle_consume(&sl->throttle, d, n);
	if (!s)
		return;
	/* in: from the peer.  A server receives up, a client down. */
	if ((d == THROTTLE_UP) == is_server(sl))
		s->rec.octets_in += n;
	else
		s->rec.octets_out += n;
}

static void wake_session(struct throttle_waiter *w)
{
	struct session *s = container_of(w, struct session, waiter);

	if (s->state != SESSION_CLOSED)
		s->ops->unthrottled(s);
}

void session_wait_tokens(struct session *s)
{
	if (s->state != SESSION_CLOSED && throttle_wait(&s->sl->throttle, &s->waiter))
		s->rec.limiter_waits++;
}

void session_layer_on_unthrottled(struct session_layer *sl, void (*fn)(void *ctx), void *ctx)
{
	sl->throttle.others = fn;
	sl->throttle.others_ctx = ctx;
}

/* ---- life cycle -------------------------------------------------------------- */

struct session_layer *session_layer_new(struct loop *l, struct tunnel_stats *stats)
{
	struct session_layer *sl = xcalloc(1, sizeof(*sl));

	sl->loop = l;
	sl->stats = stats;
	TAILQ_INIT(&sl->all);
	TAILQ_INIT(&sl->pending);
	TAILQ_INIT(&sl->clients);
	for (size_t i = 0; i < SRC_BUCKETS; i++)
		TAILQ_INIT(&sl->sources[i]);
	throttle_init(&sl->throttle, l, stats);
	sl->log_timer.fn = log_flush;
	ratelog_init(&sl->log, LOG_INTERVAL_NS, LOG_BURST);
	sl->pool = bufpool_new(BULK_BUDGET);
	sl->trim_timer.fn = trim;
	return sl;
}

void session_layer_free(struct session_layer *sl)
{
	if (!sl)
		return;
	throttle_stop(&sl->throttle);
	loop_timer_cancel(sl->loop, &sl->log_timer);
	loop_timer_cancel(sl->loop, &sl->trim_timer);
	ratelog_flush(&sl->log, "session");
	dpconf_unref(sl->conf);
	bufpool_free(sl->pool);
	free(sl);
}

void session_layer_install(struct session_layer *sl, struct dpconf *c)
{
	struct dpconf *old = sl->conf;

	sl->conf = dpconf_ref(c);
	if (!old) {
		throttle_configure(&sl->throttle, c->cfg, true);
		return;
	}
	session_sweep(sl);
	throttle_configure(&sl->throttle, c->cfg, false);
	dpconf_unref(old);
}

struct dpconf *session_layer_conf(const struct session_layer *sl)
{
	return sl->conf;
}

struct loop *session_layer_loop(const struct session_layer *sl)
{
	return sl->loop;
}

struct tunnel_stats *session_layer_stats(const struct session_layer *sl)
{
	return sl->stats;
}

struct bufpool *session_layer_pool(const struct session_layer *sl)
{
	return sl->pool;
}

size_t session_count(const struct session_layer *sl, enum session_state state)
{
	return state <= SESSION_CLOSED ? sl->n_state[state] : 0;
}

void session_layer_set_state(struct session_layer *sl, int state)
{
	if (atomic_load_explicit(&sl->stats->state, memory_order_relaxed) == state)
		return;
	atomic_store_explicit(&sl->stats->state, state, memory_order_relaxed);
	atomic_store_explicit(&sl->stats->state_since_ms, now_ms(), memory_order_relaxed);
}

bool session_pending_full(const struct session_layer *sl)
{
	return sl->n_state[SESSION_PENDING] + sl->n_state[SESSION_AUTHENTICATED] >=
	       (size_t)running(sl)->tunnel.max_pending;
}

void session_set_state(struct session *s, enum session_state st)
{
	s->sl->n_state[s->state]--;
	s->state = st;
	s->sl->n_state[st]++;
	s->rec.state = st;
}

static void on_deadline(struct loop *l, struct loop_timer *t)
{
	struct session *s = container_of(t, struct session, deadline);

	STAT_ADD(s->sl, handshake_failures, 1);
	if (s->state != SESSION_ESTABLISHED)
		STAT_ADD(s->sl, refused[REFUSED_HANDSHAKE_TIMEOUT], 1);
	session_close(s, SESSION_CLOSE_HANDSHAKE,
		      s->state == SESSION_ESTABLISHED ? "connect timeout" : "handshake timeout");
}

static void on_idle(struct loop *l, struct loop_timer *t)
{
	struct session *s = container_of(t, struct session, idle);
	int idle_s = running(s->sl)->forward.idle_timeout_s;
	uint64_t now = loop_now_ns(l), limit = (uint64_t)idle_s * NS_PER_S;

	if (idle_s <= 0)
		return;
	if (now - s->last_active_ns >= limit) {
		session_close(s, SESSION_CLOSE_IDLE, "idle timeout");
		return;
	}
	loop_timer_set(l, t, s->last_active_ns + limit);
}

/* One handshake step: the job session_want_handshake queued. */
static void on_hs_job(struct loop *l, struct loop_job *j)
{
	struct session *s = container_of(j, struct session, hs_job);

	if (s->state == SESSION_CLOSED)
		return;
	if (s->io)
		tlsio_fill(s->io);
	int r = SSL_do_handshake(s->ssl);
	if (s->io)
		tlsio_flush(s->io);
	if (r == 1) {
		s->ops->handshake_done(s);
		return;
	}
	int e = SSL_get_error(s->ssl, r);
	if ((e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) && !(s->io && s->io->failed)) {
		uint32_t ev = e == SSL_ERROR_WANT_READ ? EPOLLIN : EPOLLOUT;
		if (s->io) {
			ev = EPOLLIN | (tlsio_unsent(s->io) ? EPOLLOUT : 0);
			/* waiting for the peer: a wave of handshakes holds no buffer */
			tlsio_idle(s->io);
		}
		loop_watch(l, s->tls_h, ev | EPOLLONESHOT);
		return;
	}
	session_handshake_failed(s, e == SSL_ERROR_SYSCALL || e == SSL_ERROR_ZERO_RETURN
					    ? "peer closed during the handshake"
					    : "handshake failed");
}

/* Whether the peer of s has said nothing yet: no complete handshake
 * message read (an idle socket, or one dribbling a ClientHello), or a
 * connect still in progress.  (SSL_in_before() turns false as soon as the
 * server starts waiting, so it cannot tell.) */
static bool silent(const struct session *s)
{
	return !s->ssl || SSL_get_state(s->ssl) == TLS_ST_BEFORE;
}

/*
 * The pending session to drop for a newcomer: the oldest silent one (an
 * idle socket goes before a handshake in progress); for the global cap,
 * failing that, the oldest of all.  Of src only when given, and then only
 * one silent for at least SILENT_GRACE_NS: a client daemon opening a
 * connection pool sends its ClientHellos a little after its connects, and
 * that burst from one address must not be cut by the per-source cap.
 * Never the newcomer.
 */
static struct session *victim(struct session_layer *sl, struct session_source *src, const struct session *newcomer)
{
	uint64_t now = loop_now_ns(sl->loop);
	struct session *s;

	if (src) {
		TAILQ_FOREACH(s, &src->pending, src_link)
			if (s != newcomer && silent(s) && now - s->born_ns >= SILENT_GRACE_NS)
				return s;
		return NULL;
	}
	TAILQ_FOREACH(s, &sl->pending, pend_link)
		if (s != newcomer && silent(s))
			return s;
	s = TAILQ_FIRST(&sl->pending);
	return s != newcomer ? s : NULL;
}

/* Drop v for a newcomer; false when there is none. */
static bool evict(struct session_layer *sl, struct session *v, const char *reason)
{
	char q[120];

	if (!v)
		return false;
	STAT_ADD(sl, pending_evicted, 1);
	STAT_ADD(sl, refused[REFUSED_EVICTED], 1);
	if (session_log_allowed(sl, "evicted", reason))
		log_warning(v->ops->subsys, "event=evicted id=%llu peer=%s reason=%s", (unsigned long long)v->rec.id,
			    log_quote(v->peer, q, sizeof(q)), reason);
	session_close(v, SESSION_CLOSE_EVICTED, "dropped for a newer connection");
	return true;
}

void session_start(struct session_layer *sl, struct session *s, const struct session_ops *ops,
		   const struct sockaddr *peer, socklen_t len, bool inbound)
{
	const struct config *cfg = running(sl);

	s->sl = sl;
	s->ops = ops;
	s->conf = dpconf_ref(sl->conf);
	s->state = SESSION_PENDING;
	sl->n_state[SESSION_PENDING]++;
	s->inbound = inbound;
	s->rec.id = ++sl->next_id;
	s->rec.state = SESSION_PENDING;
	if (len <= sizeof(s->rec.remote))
		memcpy(&s->rec.remote, peer, len);
	net_addr_str(peer, s->peer, sizeof(s->peer));
	s->deadline.fn = on_deadline;
	s->idle.fn = on_idle;
	s->hs_job.fn = on_hs_job;
	s->waiter.wake = wake_session;
	s->last_active_ns = s->born_ns = loop_now_ns(sl->loop);
	TAILQ_INSERT_TAIL(&sl->all, s, link);
	TAILQ_INSERT_TAIL(&sl->pending, s, pend_link);
	STAT_ADD(sl, sessions_pending, 1);
	/* Per source on a server only: a client's local applications are
	 * the operator's own. */
	if (inbound && is_server(sl) && (s->src = source_get(sl, peer)) != NULL) {
		TAILQ_INSERT_TAIL(&s->src->pending, s, src_link);
		s->src->n++;
		while (s->src->n > (unsigned)cfg->tunnel.max_pending_per_source &&
		       evict(sl, victim(sl, s->src, s), "max_pending_per_source"))
			;
	}
	while (sl->n_state[SESSION_PENDING] + sl->n_state[SESSION_AUTHENTICATED] > (size_t)cfg->tunnel.max_pending &&
	       evict(sl, victim(sl, NULL, s), "max_pending"))
		;
	loop_timer_set(sl->loop, &s->deadline,
		       loop_now_ns(sl->loop) + (uint64_t)cfg->tunnel.handshake_timeout_ms * NS_PER_MS);
}

void session_want_handshake(struct session *s)
{
	if (s->state == SESSION_CLOSED)
		return;
	/* the step runs as a job, after the pass's established traffic (an
	 * EPOLLONESHOT interest that fired is disarmed already) */
	loop_watch(s->sl->loop, s->tls_h, 0);
	loop_job_queue(s->sl->loop, &s->hs_job);
}

void session_set_deadline(struct session *s, uint64_t when_ns)
{
	if (when_ns)
		loop_timer_set(s->sl->loop, &s->deadline, when_ns);
	else
		loop_timer_cancel(s->sl->loop, &s->deadline);
}

void session_handshake_failed(struct session *s, const char *close_detail)
{
	struct session_layer *sl = s->sl;
	long v = s->ssl ? SSL_get_verify_result(s->ssl) : X509_V_OK;
	bool refused = v == X509_V_ERR_APPLICATION_VERIFICATION;
	const char *why = s->ssl ? tls_verify_reason(s->ssl) : NULL;
	char q1[200], q2[100];

	if (refused) {
		STAT_ADD(sl, peers_refused, 1);
		if (session_log_allowed(sl, "peer_refused", "not_in_allowed_peers"))
			log_warning("tls", "event=peer_refused peer=%s subject=%s reason=not_in_allowed_peers",
				    log_quote(s->peer, q2, sizeof(q2)),
				    log_quote(tls_refused_subject(s->ssl) ? tls_refused_subject(s->ssl) : "-", q1,
					      sizeof(q1)));
	} else {
		STAT_ADD(sl, handshake_failures, 1);
	}
	/* a certificate that verified up to its revocation or its dates was
	 * not allowed in; anything else failed the handshake */
	STAT_ADD(sl, refused[refused || v == X509_V_ERR_CERT_REVOKED || v == X509_V_ERR_CERT_HAS_EXPIRED
				     ? REFUSED_NOT_ALLOWED
				     : REFUSED_HANDSHAKE_FAILED],
		 1);
	if (session_log_allowed(sl, "handshake_failed", refused ? "not_in_allowed_peers" : "tls_error"))
		tls_log_errors("handshake", s->peer);
	else
		ERR_clear_error();
	session_close(s, SESSION_CLOSE_HANDSHAKE, why ? why : close_detail);
}

/* Why s may not be admitted now (*why its name), or REFUSED_N. */
static enum refused_reason admission_refusal(struct session *s, const char **why)
{
	struct session_layer *sl = s->sl;
	const struct config *cfg = running(sl);

	*why = NULL;
	if (is_server(sl)) {
		if (s->ops->streams ? !client_find(sl, s->key) && sl->n_clients >= (size_t)cfg->tunnel.max_clients
				    : sl->n_state[SESSION_ESTABLISHED] >= (size_t)cfg->tunnel.max_clients) {
			*why = "max_clients";
			return REFUSED_MAX_CLIENTS;
		}
	}
	if (s->ops->streams && sl->n_state[SESSION_ESTABLISHED] >= (size_t)cfg->forward.max_streams) {
		*why = "max_streams";
		return REFUSED_MAX_STREAMS;
	}
	return REFUSED_N;
}

int session_establish(struct session *s, const char **why)
{
	struct session_layer *sl = s->sl;
	const struct config *cfg = running(sl);
	char name[160], qn[100];
	struct timespec ts;

	enum refused_reason r = admission_refusal(s, why);
	if (r != REFUSED_N) {
		STAT_ADD(sl, peers_refused, 1);
		STAT_ADD(sl, refused[r], 1);
		if (session_log_allowed(sl, "refused", *why))
			log_warning(s->ops->subsys, "event=refused peer=%s reason=%s max_clients=%d max_streams=%d",
				    s->peer, *why, cfg->tunnel.max_clients, cfg->forward.max_streams);
		return -1;
	}
	if (s->ops->streams) {
		s->client = client_find(sl, s->key);
		if (!s->client) {
			s->client = xcalloc(1, sizeof(*s->client));
			snprintf(s->client->key, sizeof(s->client->key), "%s", s->key);
			TAILQ_INSERT_TAIL(&sl->clients, s->client, link);
			sl->n_clients++;
		}
		s->client->sessions++;
	}
	TAILQ_REMOVE(&sl->pending, s, pend_link);
	source_leave(sl, s);
	STAT_SUB(sl, sessions_pending, 1);
	session_set_state(s, SESSION_ESTABLISHED);
	loop_timer_cancel(sl->loop, &s->deadline);
	trim_soon(sl);
	clock_gettime(CLOCK_REALTIME, &ts);
	s->rec.established_ms = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
	STAT_ADD(sl, sessions_active, 1);
	STAT_ADD(sl, sessions_total, 1);
	/* cert= stays bare ("CN=x"), as scripts read it; name= is what let it in */
	log_info(s->ops->subsys, "event=session_open id=%llu peer=%s name=%s cert=%s version=%s cipher=%s",
		 (unsigned long long)s->rec.id, s->peer, log_quote(s->rec.name[0] ? s->rec.name : "-", qn, sizeof(qn)),
		 tls_peer_name(s->ssl, name, sizeof(name)), SSL_get_version(s->ssl), SSL_get_cipher_name(s->ssl));
	session_peer_up(s);
	return 0;
}

/* ---- closing -------------------------------------------------------------------- */

static void free_session(void *p)
{
	struct session *s = p;

	s->ops->free(s);
}

void session_close(struct session *s, enum session_close why, const char *detail)
{
	struct session_layer *sl = s->sl;
	enum session_state was = s->state;
	char q[200];
	uint64_t up, down;

	if (was == SESSION_CLOSED)
		return;
	session_set_state(s, SESSION_CLOSED);
	loop_timer_cancel(sl->loop, &s->deadline);
	loop_timer_cancel(sl->loop, &s->idle);
	loop_job_cancel(sl->loop, &s->hs_job);
	throttle_forget(&sl->throttle, &s->waiter);
	if (was == SESSION_ESTABLISHED) {
		client_leave(sl, s);
		STAT_SUB(sl, sessions_active, 1);
	} else {
		TAILQ_REMOVE(&sl->pending, s, pend_link);
		source_leave(sl, s);
		STAT_SUB(sl, sessions_pending, 1);
	}
	TAILQ_REMOVE(&sl->all, s, link);
	up = is_server(sl) ? s->rec.octets_in : s->rec.octets_out;
	down = is_server(sl) ? s->rec.octets_out : s->rec.octets_in;
	/* Who never authenticated is anybody: at most a few lines per cause. */
	if (was != SESSION_PENDING || session_log_allowed(sl, "session_close", session_close_name(why)))
		log_info(s->ops->subsys, "event=session_close id=%llu peer=%s reason=%s up=%llu down=%llu class=%s",
			 (unsigned long long)s->rec.id, s->peer,
			 log_quote(detail ? detail : session_close_name(why), q, sizeof(q)), (unsigned long long)up,
			 (unsigned long long)down, session_close_name(why));
	session_peer_down(s, was, why);
	s->ops->release(s);
	/* Whatever failed in release must not be read by the next session's
	 * SSL_get_error(): the error queue is per thread. */
	ERR_clear_error();
	dpconf_unref(s->conf);
	s->conf = NULL;
	loop_defer(sl->loop, free_session, s);
	trim_soon(sl);
}

void session_close_all(struct session_layer *sl, enum session_close why, const char *detail)
{
	struct session *s;

	while ((s = TAILQ_FIRST(&sl->all)) != NULL)
		session_close(s, why, detail);
}

/* ---- lookups, activity, counters ------------------------------------------------ */

struct session *session_first_established(struct session_layer *sl)
{
	struct session *s;

	TAILQ_FOREACH(s, &sl->all, link)
		if (s->state == SESSION_ESTABLISHED)
			return s;
	return NULL;
}

struct session *session_find_key(struct session_layer *sl, const char *key, const struct session *not)
{
	struct session *s;

	TAILQ_FOREACH(s, &sl->all, link)
		if (s != not && s->state == SESSION_ESTABLISHED && !strcmp(s->key, key))
			return s;
	return NULL;
}

void session_touch(struct session *s)
{
	s->last_active_ns = loop_now_ns(s->sl->loop);
}

void session_set_idle(struct session *s, int idle_s)
{
	if (idle_s <= 0) {
		loop_timer_cancel(s->sl->loop, &s->idle);
		return;
	}
	loop_timer_set(s->sl->loop, &s->idle, s->last_active_ns + (uint64_t)idle_s * NS_PER_S);
}

void session_count_packet(struct session *s, bool in)
{
	if (in)
		s->rec.packets_in++;
	else
		s->rec.packets_out++;
}

void session_count_drop(struct session *s, enum session_drop why)
{
	if (why < SESSION_DROP_N) {
		s->rec.drops[why]++;
		STAT_ADD(s->sl, tun_drop[why], 1);
	}
}

size_t session_snapshot(struct session_layer *sl, struct session_record *out, size_t max)
{
	struct session *s;
	size_t n = 0;

	TAILQ_FOREACH(s, &sl->all, link) {
		if (s->state == SESSION_PENDING || s->state == SESSION_CLOSED)
			continue;
		if (n < max)
			out[n] = s->rec;
		n++;
	}
	return n;
}

/* ---- small policies ---------------------------------------------------------------- */

unsigned session_backoff_ms(unsigned *backoff_ms)
{
	enum { MIN_MS = 500, MAX_MS = 30000 };
	unsigned ms = *backoff_ms ? *backoff_ms : MIN_MS, jitter = ms / 5;
	uint32_t r = 0;

	/* getrandom never blocks for 4 bytes once the pool is initialised;
	 * failing that, the address of a stack variable still differs. */
	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r)) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		r = (uint32_t)ts.tv_nsec ^ (uint32_t)getpid();
	}
	*backoff_ms = ms * 2 > MAX_MS ? MAX_MS : ms * 2;
	return ms - jitter + r % (2 * jitter + 1);
}

unsigned long session_fds_needed(const struct config *c)
{
	unsigned long own = 32; /* epoll, eventfds, TUN, inotify, logs, SNMP */
	unsigned long pending = (unsigned long)c->tunnel.max_pending;

	if (c->transport == CFG_TRANSPORT_TUN)
		return own + (c->mode == CFG_MODE_SERVER ? (unsigned long)c->tunnel.max_clients + pending : 1);
	/* forward: a stream has a TLS socket and a plain one */
	return own + 2ul * (unsigned long)c->forward.max_streams + 2ul * pending;
}
