/* SPDX-License-Identifier: MIT */
/*
 * sessionpeer.c - who the peer of a session is, all its life: the checks
 * against the running configuration at every state (and the revocation
 * sweep after each change), the peer certificate's expiry (warned about
 * inside tunnel.expiry_warn_days, the session closed when it expires),
 * and what the outside hears about peers (struct session_events).
 */
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "certwatch.h"
#include "log.h"
#include "pki.h"
#include "sessionpriv.h"
#include "tls.h"

#define DAY 86400

void session_layer_set_events(struct session_layer *sl, const struct session_events *ev)
{
	sl->ev = *ev;
}

/* ---- identity, checked at every state ----------------------------------------- */

/* A check of one session against the running configuration: DONE when it
 * may stay, else the class it closes with and the cause for the log.
 * Adding a rule is adding a function to `checks`. */
typedef enum session_close (*session_check_fn)(struct session *s, const struct dpconf *cur, const char **cause);

/* The peer certificate (once the handshake has verified one) against the
 * running TLS context: chain, CRLs, dates, allowed_peers, server name. */
static enum session_close check_certificate(struct session *s, const struct dpconf *cur, const char **cause)
{
	X509 *x = s->ssl ? SSL_get0_peer_certificate(s->ssl) : NULL;

	if (!x || s->checked == cur->tls)
		return SESSION_CLOSE_DONE;
	s->checked = cur->tls;
	long v = tls_peer_verify(cur->tls, x, SSL_get_peer_cert_chain(s->ssl));
	if (v == X509_V_OK)
		return SESSION_CLOSE_DONE;
	*cause = tls_verify_text(v);
	return v == X509_V_ERR_CERT_HAS_EXPIRED ? SESSION_CLOSE_EXPIRED : SESSION_CLOSE_REVOKED;
}

static const session_check_fn checks[] = { check_certificate };

static enum session_close recheck(struct session *s, const struct dpconf *cur, const char **cause)
{
	for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
		enum session_close why = checks[i](s, cur, cause);
		if (why != SESSION_CLOSE_DONE)
			return why;
	}
	return SESSION_CLOSE_DONE;
}

/* Close s because its peer is no longer admitted: event=revoked (or
 * expired) with the cause, then reason=revoked (expired) at the close. */
static void revoke_session(struct session *s, enum session_close why, const char *cause)
{
	char q[200];

	if (why == SESSION_CLOSE_REVOKED)
		STAT_ADD(s->sl, sessions_revoked, 1);
	log_warning(s->ops->subsys, "event=%s id=%llu peer=%s cause=%s", session_close_name(why),
		    (unsigned long long)s->rec.id, s->peer, log_quote(cause ? cause : "-", q, sizeof(q)));
	session_close(s, why, session_close_name(why));
}

void session_sweep(struct session_layer *sl)
{
	struct session *s, *next;

	TAILQ_FOREACH_SAFE(s, &sl->all, link, next) {
		const char *cause = NULL;
		if (s->state == SESSION_CLOSED)
			continue;
		enum session_close why = recheck(s, sl->conf, &cause);
		if (why != SESSION_CLOSE_DONE)
			revoke_session(s, why, cause);
	}
}

int session_authenticated(struct session *s)
{
	struct session_layer *sl = s->sl;
	X509 *x = SSL_get0_peer_certificate(s->ssl);
	const char *name, *cause = NULL;

	if (x)
		pki_name_text(X509_get_subject_name(x), s->rec.subject, sizeof(s->rec.subject));
	/* The name the peer was let in by: an allowed_peers entry on a
	 * server, the name the server was checked against on a client. */
	name = is_server(sl) ? tls_peer_allowed_name(sl->conf->tls, x) : running(sl)->tunnel.server_name;
	snprintf(s->rec.name, sizeof(s->rec.name), "%s", name ? name : "");
	snprintf(s->key, sizeof(s->key), "%s", s->rec.name[0] ? s->rec.name : s->rec.subject);
	/* Verified under the context the handshake began with; the running
	 * one may be newer. */
	s->checked = s->conf->tls;
	session_set_state(s, SESSION_AUTHENTICATED);
	enum session_close why = recheck(s, sl->conf, &cause);
	if (why != SESSION_CLOSE_DONE) {
		revoke_session(s, why, cause);
		return -1;
	}
	return 0;
}

/* ---- the peer certificate's expiry ---------------------------------------------- */

static void expiry_report(struct session *s, time_t now)
{
	struct session_layer *sl = s->sl;

	certwatch_log(PKI_CERT_PEER, s->rec.subject, (time_t)s->rec.cert_not_after, now);
	if (sl->ev.cert)
		sl->ev.cert(sl->ev.ctx, s->rec.subject, s->rec.cert_not_after);
}

/* Report the certificate when it is inside the window, and arm the timer
 * for what comes next: entering the window, the next daily report, or
 * the expiry itself. */
static void expiry_arm(struct session *s, time_t now)
{
	time_t na = (time_t)s->rec.cert_not_after, next;
	time_t window = (time_t)running(s->sl)->tunnel.expiry_warn_days * DAY;

	if (window && now >= na - window) {
		expiry_report(s, now);
		next = now + DAY < na ? now + DAY : na;
	} else {
		next = window ? na - window : na;
	}
	loop_timer_set(s->sl->loop, &s->expiry, loop_now_ns(s->sl->loop) + (uint64_t)(next - now) * NS_PER_S);
}

/* A handshake at this moment would be refused: so is the session. */
static void on_expiry(struct loop *l, struct loop_timer *t)
{
	struct session *s = container_of(t, struct session, expiry);
	time_t now = time(NULL);

	(void)l;
	if (now < (time_t)s->rec.cert_not_after) {
		expiry_arm(s, now);
		return;
	}
	expiry_report(s, now);
	revoke_session(s, SESSION_CLOSE_EXPIRED, "certificate has expired");
}

/* ---- what the outside hears -------------------------------------------------------- */

/* A tun client's one session is its tunnel; every other is a peer. */
static bool is_tunnel(const struct session *s)
{
	return !is_server(s->sl) && !s->ops->streams;
}

void session_peer_up(struct session *s)
{
	struct session_layer *sl = s->sl;
	X509 *x = SSL_get0_peer_certificate(s->ssl);
	time_t now = time(NULL), na = 0;

	if (x) {
		pki_validity(x, now, &na);
		ERR_clear_error();
	}
	s->rec.cert_not_after = na;
	if (na) {
		s->expiry.fn = on_expiry;
		expiry_arm(s, now);
	}
	if (is_tunnel(s) && sl->ev.tunnel)
		sl->ev.tunnel(sl->ev.ctx, &s->rec, true, SESSION_CLOSE_DONE);
	else if (!is_tunnel(s) && sl->ev.peer)
		sl->ev.peer(sl->ev.ctx, &s->rec, true, SESSION_CLOSE_DONE);
}

void session_peer_down(struct session *s, enum session_state was, enum session_close why)
{
	struct session_layer *sl = s->sl;

	loop_timer_cancel(sl->loop, &s->expiry);
	if (was != SESSION_ESTABLISHED)
		return;
	if (is_tunnel(s) && sl->ev.tunnel)
		sl->ev.tunnel(sl->ev.ctx, &s->rec, false, why);
	else if (!is_tunnel(s) && sl->ev.peer)
		sl->ev.peer(sl->ev.ctx, &s->rec, false, why);
}
