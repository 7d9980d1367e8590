/* SPDX-License-Identifier: MIT */
/*
 * unit_session.c - the session layer driven directly, with a fake
 * transport and an injected clock: the pending stage (per-source and
 * global caps drop the oldest, never the newcomer; the deadline), the
 * established stage (max_clients counts distinct peers for a streams
 * transport and sessions otherwise; forward.max_streams), the identity
 * checks against the running configuration after a real in-memory TLS
 * handshake (at authentication and in the sweep, in every state), the
 * fairness rotation of token waiters, records and their snapshot, the
 * rate-limited log, the reconnect backoff and the fd budget.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "bufpool.h"
#include "config.h"
#include "dpconf.h"
#include "loop.h"
#include "ratelog.h"
#include "session.h"
#include "stats.h"
#include "testutil.h"
#include "tls.h"
#include "tlsio.h"

static uint64_t fake_now;

static uint64_t fake_clock(void *ctx)
{
	(void)ctx;
	return fake_now;
}

/* ---- a fake transport ----------------------------------------------------- */

struct fake {
	struct session s;
	struct loop_handler h; /* its "TLS socket" (a pipe) */
	int fd[2];
	int handshakes, unthrottled, released;
	bool rewait; /* wait for tokens again when woken */
	int *order, *n_order, tag;
};

static int freed, handshake_calls;

static void f_handshake_done(struct session *s)
{
	container_of(s, struct fake, s)->handshakes++;
	handshake_calls++;
}

static void f_unthrottled(struct session *s)
{
	struct fake *f = container_of(s, struct fake, s);

	f->unthrottled++;
	if (f->order)
		f->order[(*f->n_order)++] = f->tag;
	if (f->rewait)
		session_wait_tokens(s);
}

static void f_release(struct session *s)
{
	struct fake *f = container_of(s, struct fake, s);

	f->released++;
	if (f->h.events)
		loop_watch(session_layer_loop(s->sl), &f->h, 0);
	if (f->fd[0] >= 0) {
		close(f->fd[0]);
		close(f->fd[1]);
	}
	if (s->ssl) {
		SSL_free(s->ssl);
		s->ssl = NULL;
	}
}

static void f_free(struct session *s)
{
	freed++;
	free(container_of(s, struct fake, s));
}

static const struct session_ops streams_ops = {
	.subsys = "test", .streams = true, .handshake_done = f_handshake_done, .unthrottled = f_unthrottled,
	.release = f_release, .free = f_free,
};
static const struct session_ops single_ops = {
	.subsys = "test", .streams = false, .handshake_done = f_handshake_done, .unthrottled = f_unthrottled,
	.release = f_release, .free = f_free,
};

/* ---- configurations -------------------------------------------------------------- */

static const char *scratch(void)
{
	static const char *dir;

	if (!dir)
		dir = tu_tmpdir();
	return dir;
}

/* A server (or client) configuration with the pairs in kv added; its
 * TLS context built; no listener. */
static struct dpconf *conf(bool server, const char *const *extra)
{
	const char *pki = tu_pki(), *dir = scratch();
	static char cert[512], key[512], ca[512];
	const char *kv[64];
	size_t n = 0;
	struct cfg_errors errs = { 0 };
	struct config *c = NULL;

	snprintf(cert, sizeof(cert), "\"%s/%s.crt\"", pki, server ? "server" : "client");
	snprintf(key, sizeof(key), "\"%s/%s.key\"", pki, server ? "server" : "client");
	snprintf(ca, sizeof(ca), "\"%s/ca.crt\"", pki);
	kv[n++] = "mode";
	kv[n++] = server ? "\"server\"" : "\"client\"";
	kv[n++] = server ? "tunnel.listen" : "tunnel.server";
	kv[n++] = "\"127.0.0.1:44300\"";
	kv[n++] = server ? "forward.target" : "forward.listen";
	kv[n++] = "\"127.0.0.1:5201\"";
	if (!server) {
		kv[n++] = "tunnel.server_name";
		kv[n++] = "\"sssonector-server\"";
	}
	kv[n++] = "tunnel.cert_file";
	kv[n++] = cert;
	kv[n++] = "tunnel.key_file";
	kv[n++] = key;
	kv[n++] = "tunnel.ca_file";
	kv[n++] = ca;
	for (size_t i = 0; extra && extra[i]; i++)
		kv[n++] = extra[i];
	kv[n] = NULL;
	const char *path = tu_write_kv(tu_path(dir, "s.conf"), kv);
	CU_ASSERT_FATAL(cfg_load(path, NULL, 0, &c, &errs) == CFG_OK);
	cfg_errors_free(&errs);
	struct dpconf *d = calloc(1, sizeof(*d));
	d->refs = 1;
	d->cfg = c;
	d->tls = tls_ctx_new(c, &errs);
	CU_ASSERT_FATAL(d->tls != NULL);
	cfg_errors_free(&errs);
	return d;
}

struct env {
	struct loop *l;
	struct session_layer *sl;
	struct tunnel_stats st;
};

static void env_open(struct env *e, struct dpconf *c)
{
	memset(&e->st, 0, sizeof(e->st));
	e->l = loop_new();
	fake_now = 1000000000;
	loop_set_clock(e->l, fake_clock, NULL);
	e->sl = session_layer_new(e->l, &e->st);
	session_layer_install(e->sl, c);
	dpconf_unref(c);
}

static void env_close(struct env *e)
{
	session_close_all(e->sl, SESSION_CLOSE_STOPPING, NULL);
	session_layer_free(e->sl);
	loop_free(e->l); /* deferred frees */
}

static struct sockaddr_in addr(const char *ip, int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	inet_pton(AF_INET, ip, &a.sin_addr);
	return a;
}

static struct fake *start(struct env *e, const struct session_ops *ops, const char *ip, int port)
{
	struct fake *f = calloc(1, sizeof(*f));
	struct sockaddr_in a = addr(ip, port);

	CU_ASSERT_FATAL(pipe(f->fd) == 0);
	f->h = (struct loop_handler){ .fd = f->fd[0] };
	f->s.tls_h = &f->h;

	session_start(e->sl, &f->s, ops, (struct sockaddr *)&a, sizeof(a), true);
	return f;
}

/* ---- the pending stage -------------------------------------------------------------- */

static void test_pending_caps(void)
{
	static const char *const kv[] = { "tunnel.max_pending", "4", "tunnel.max_pending_per_source", "2", NULL };
	struct env e;
	struct fake *a1, *a2, *a3, *b1, *c1, *d1;

	env_open(&e, conf(true, kv));
	a1 = start(&e, &streams_ops, "10.0.0.1", 1);
	a2 = start(&e, &streams_ops, "10.0.0.1", 2);
	CU_ASSERT_EQUAL(session_count(e.sl, SESSION_PENDING), 2);
	/* a third from the same source 0.9 s later: the source's silent ones
	 * are spared for a second (a pool's burst), nobody goes */
	fake_now += 900000000ull;
	a3 = start(&e, &streams_ops, "10.0.0.1", 3);
	CU_ASSERT_EQUAL(a1->s.state, SESSION_PENDING);
	session_close(&a3->s, SESSION_CLOSE_DONE, NULL);
	/* a second after the first: its oldest silent one goes, the newcomer stays */
	fake_now += 100000000ull;
	a3 = start(&e, &streams_ops, "10.0.0.1", 3);
	CU_ASSERT_EQUAL(a1->s.state, SESSION_CLOSED);
	CU_ASSERT_EQUAL(a1->released, 1);
	CU_ASSERT_EQUAL(a2->s.state, SESSION_PENDING);
	CU_ASSERT_EQUAL(a3->s.state, SESSION_PENDING);
	/* other sources up to max_pending = 4, then the oldest of all goes */
	b1 = start(&e, &streams_ops, "10.0.0.2", 1);
	c1 = start(&e, &streams_ops, "10.0.0.3", 1);
	CU_ASSERT_EQUAL(session_count(e.sl, SESSION_PENDING), 4);
	d1 = start(&e, &streams_ops, "10.0.0.4", 1);
	CU_ASSERT_EQUAL(a2->s.state, SESSION_CLOSED);
	CU_ASSERT_EQUAL(d1->s.state, SESSION_PENDING);
	CU_ASSERT_EQUAL(b1->s.state, SESSION_PENDING);
	CU_ASSERT_EQUAL(session_count(e.sl, SESSION_PENDING), 4);
	CU_ASSERT_EQUAL(atomic_load(&e.st.pending_evicted), 2);
	CU_ASSERT_EQUAL(atomic_load(&e.st.sessions_pending), 4);
	/* the layer never refuses a newcomer: ten more from one source */
	for (int i = 0; i < 10; i++) {
		struct fake *x = start(&e, &streams_ops, "10.0.0.9", 10 + i);
		CU_ASSERT_EQUAL(x->s.state, SESSION_PENDING);
	}
	CU_ASSERT_EQUAL(session_count(e.sl, SESSION_PENDING), 4);
	/* the deadline: tunnel.handshake_timeout_ms (5 s by default) */
	fake_now += 4999000000ull;
	loop_run_once(e.l, 0);
	CU_ASSERT_EQUAL(session_count(e.sl, SESSION_PENDING), 4);
	fake_now += 2000000;
	loop_run_once(e.l, 0);
	CU_ASSERT_EQUAL(session_count(e.sl, SESSION_PENDING), 0);
	CU_ASSERT_EQUAL(atomic_load(&e.st.handshake_failures), 4);
	CU_ASSERT_EQUAL(atomic_load(&e.st.sessions_pending), 0);
	(void)c1;
	env_close(&e);
}

/* ---- real handshakes, in memory ----------------------------------------------------- */

/* A client TLS context with cert ("client", "client2"). */
static struct tls_ctx *client_tls(const char *cert_name)
{
	const char *pki = tu_pki(), *dir = scratch();
	char cert[512], key[512], ca[512];
	const char *kv[] = { "mode", "\"client\"", "tunnel.server", "\"127.0.0.1:44300\"", "tunnel.server_name",
			     "\"sssonector-server\"", "forward.listen", "\"127.0.0.1:5000\"", "tunnel.cert_file", cert,
			     "tunnel.key_file", key, "tunnel.ca_file", ca, NULL };
	struct cfg_errors errs = { 0 };
	struct config *cc = NULL;

	snprintf(cert, sizeof(cert), "\"%s/%s.crt\"", pki, cert_name);
	snprintf(key, sizeof(key), "\"%s/%s.key\"", pki, cert_name);
	snprintf(ca, sizeof(ca), "\"%s/ca.crt\"", pki);
	CU_ASSERT_FATAL(cfg_load(tu_write_kv(tu_path(dir, "c.conf"), kv), NULL, 0, &cc, &errs) == CFG_OK);
	struct tls_ctx *ct = tls_ctx_new(cc, &errs);
	CU_ASSERT_FATAL(ct != NULL);
	cfg_unref(cc);
	cfg_errors_free(&errs);
	return ct;
}

/* A server SSL and a client SSL joined by a BIO pair, nothing said yet. */
static void hs_pair(SSL_CTX *sctx, SSL_CTX *cctx, SSL **sv, SSL **cl)
{
	BIO *b1, *b2;

	*sv = SSL_new(sctx);
	*cl = SSL_new(cctx);
	CU_ASSERT_FATAL(*sv && *cl && BIO_new_bio_pair(&b1, 0, &b2, 0) == 1);
	SSL_set_bio(*sv, b1, b1);
	SSL_set_bio(*cl, b2, b2);
	SSL_set_accept_state(*sv);
	SSL_set_connect_state(*cl);
	SSL_set_tlsext_host_name(*cl, "sssonector-server");
}

/* s->ssl becomes the server end of a completed handshake with a client
 * using client_cert ("client" or "client2"). */
static void handshake(struct session *s, const struct dpconf *srv, const char *client_cert)
{
	struct tls_ctx *ct = client_tls(client_cert);
	SSL *sv, *cl;
	int rs = 0, rc = 0;

	hs_pair(srv->tls->ctx, ct->ctx, &sv, &cl);
	for (int i = 0; i < 20 && (rs != 1 || rc != 1); i++) {
		if (rc != 1)
			rc = SSL_do_handshake(cl);
		if (rs != 1)
			rs = SSL_do_handshake(sv);
	}
	CU_ASSERT_FATAL(rs == 1 && rc == 1);
	ERR_clear_error();
	SSL_free(cl);
	tls_ctx_unref(ct);
	s->ssl = sv;
}

/* s->ssl becomes a server end that has read a ClientHello (its handshake
 * has begun), the client end discarded. */
static void half_handshake(struct session *s, const struct dpconf *srv)
{
	SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
	SSL *sv, *cl;

	hs_pair(srv->tls->ctx, cctx, &sv, &cl);
	SSL_do_handshake(cl);
	CU_ASSERT(SSL_get_state(sv) == TLS_ST_BEFORE);
	SSL_do_handshake(sv);
	CU_ASSERT(SSL_get_state(sv) != TLS_ST_BEFORE);
	ERR_clear_error();
	SSL_free(cl);
	SSL_CTX_free(cctx);
	s->ssl = sv;
}

/* The layer runs a handshake's steps as jobs: one queued per session, the
 * socket watched while a step waits for the peer and not while the job
 * waits for its turn, the transport told once when it completes; a peer
 * that fails it is closed and counted. */
static void test_handshake_steps(void)
{
	struct env e;
	struct tls_ctx *ct = client_tls("client");
	SSL_CTX *anon = SSL_CTX_new(TLS_client_method());
	SSL *cl;

	env_open(&e, conf(true, NULL));
	handshake_calls = 0;
	struct fake *f = start(&e, &streams_ops, "10.0.0.1", 1);
	hs_pair(session_layer_conf(e.sl)->tls->ctx, ct->ctx, &f->s.ssl, &cl);
	session_want_handshake(&f->s);
	session_want_handshake(&f->s);
	CU_ASSERT_EQUAL(loop_jobs(e.l), 1);
	loop_run_once(e.l, 0);
	CU_ASSERT_EQUAL(f->h.events, EPOLLIN | EPOLLONESHOT); /* nothing from the client yet */
	CU_ASSERT(SSL_get_state(f->s.ssl) == TLS_ST_BEFORE); /* still silent */
	for (int i = 0; i < 10 && !f->handshakes; i++) {
		SSL_do_handshake(cl);
		session_want_handshake(&f->s);
		CU_ASSERT_EQUAL(f->h.events, 0);
		loop_run_once(e.l, 0);
	}
	CU_ASSERT_EQUAL(f->handshakes, 1);
	CU_ASSERT_EQUAL(f->s.state, SESSION_PENDING); /* the transport authenticates */
	SSL_free(cl);
	/* a client without a certificate: the server's step fails it */
	struct fake *g = start(&e, &streams_ops, "10.0.0.2", 1);
	hs_pair(session_layer_conf(e.sl)->tls->ctx, anon, &g->s.ssl, &cl);
	uint64_t failures = atomic_load(&e.st.handshake_failures);
	/* (g is freed after the pass that closes it: the counter says when) */
	for (int i = 0; i < 10 && atomic_load(&e.st.handshake_failures) == failures; i++) {
		SSL_do_handshake(cl);
		session_want_handshake(&g->s);
		loop_run_once(e.l, 0);
	}
	CU_ASSERT_EQUAL(atomic_load(&e.st.handshake_failures), failures + 1);
	CU_ASSERT_EQUAL(handshake_calls, 1); /* g never completed */
	ERR_clear_error();
	SSL_free(cl);
	/* a closed session's step never runs */
	handshake_calls = 0;
	session_want_handshake(&f->s);
	session_close(&f->s, SESSION_CLOSE_ERROR, "test");
	loop_run_once(e.l, 0);
	CU_ASSERT_EQUAL(handshake_calls, 0);
	SSL_CTX_free(anon);
	tls_ctx_unref(ct);
	env_close(&e);
}

/* A connection waiting for its peer in the handshake holds no pool
 * buffer: a wave of handshakes costs OpenSSL's state, not 16 KiB more each
 * (the batched I/O on a real socket, a real client at the other end). */
static void test_pending_holds_no_buffer(void)
{
	struct env e;
	struct tls_ctx *ct = client_tls("client");
	struct tlsio io = { 0 };
	struct bufpool_stats st;
	int sp[2];

	env_open(&e, conf(true, NULL));
	struct fake *f = start(&e, &streams_ops, "10.0.0.1", 1);
	CU_ASSERT_FATAL(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sp) == 0);
	f->s.ssl = SSL_new(session_layer_conf(e.sl)->tls->ctx);
	SSL *cl = SSL_new(ct->ctx);
	CU_ASSERT_FATAL(f->s.ssl && cl);
	SSL_set_accept_state(f->s.ssl);
	SSL_set_connect_state(cl);
	SSL_set_tlsext_host_name(cl, "sssonector-server");
	SSL_set_fd(cl, sp[1]);
	CU_ASSERT_FATAL(tlsio_attach(&io, f->s.ssl, sp[0], session_layer_pool(e.sl)) == 0);
	f->s.io = &io;
	int waits = 0;
	for (int i = 0; i < 10 && !f->handshakes; i++) {
		session_want_handshake(&f->s);
		loop_run_once(e.l, 0);
		if (!f->handshakes) {
			waits++;
			bufpool_stats(session_layer_pool(e.sl), &st);
			CU_ASSERT_EQUAL(st.small_used + st.bulk_used, 0);
		}
		SSL_do_handshake(cl);
	}
	CU_ASSERT_EQUAL(f->handshakes, 1);
	CU_ASSERT(waits >= 2); /* before the ClientHello and after our flight */
	tlsio_free(&io);
	f->s.io = NULL;
	SSL_free(cl);
	close(sp[0]);
	close(sp[1]);
	ERR_clear_error();
	tls_ctx_unref(ct);
	env_close(&e);
}

/* A burst of real clients from one address (a client daemon opening a
 * connection pool) is not cut by the per-source cap: only connections
 * that have said nothing are dropped for it. */
static void test_heard_not_evicted(void)
{
	static const char *const kv[] = { "tunnel.max_pending", "100", "tunnel.max_pending_per_source", "2", NULL };
	struct env e;
	struct fake *h[5], *q1, *q2;

	env_open(&e, conf(true, kv));
	for (int i = 0; i < 5; i++) {
		h[i] = start(&e, &streams_ops, "10.0.0.7", i + 1);
		half_handshake(&h[i]->s, session_layer_conf(e.sl));
	}
	for (int i = 0; i < 5; i++)
		CU_ASSERT_EQUAL(h[i]->s.state, SESSION_PENDING);
	q1 = start(&e, &streams_ops, "10.0.0.7", 10);
	CU_ASSERT_EQUAL(q1->s.state, SESSION_PENDING); /* nobody silent to drop but itself */
	/* a server that has started waiting for a ClientHello that never
	 * comes: still silent */
	SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
	SSL *cl;
	hs_pair(session_layer_conf(e.sl)->tls->ctx, cctx, &q1->s.ssl, &cl);
	CU_ASSERT(SSL_do_handshake(q1->s.ssl) <= 0);
	SSL_free(cl);
	SSL_CTX_free(cctx);
	ERR_clear_error();
	fake_now += 1000000000ull; /* silent for a second */
	q2 = start(&e, &streams_ops, "10.0.0.7", 11);
	CU_ASSERT_EQUAL(q1->s.state, SESSION_CLOSED);   /* the silent one goes */
	CU_ASSERT_EQUAL(q2->s.state, SESSION_PENDING);
	for (int i = 0; i < 5; i++)
		CU_ASSERT_EQUAL(h[i]->s.state, SESSION_PENDING);
	env_close(&e);

	/* the global cap also takes silent ones first, then the oldest */
	static const char *const kv2[] = { "tunnel.max_pending", "3", NULL };
	env_open(&e, conf(true, kv2));
	h[0] = start(&e, &streams_ops, "10.0.1.1", 1);
	half_handshake(&h[0]->s, session_layer_conf(e.sl));
	q1 = start(&e, &streams_ops, "10.0.1.2", 1);
	h[1] = start(&e, &streams_ops, "10.0.1.3", 1);
	half_handshake(&h[1]->s, session_layer_conf(e.sl));
	q2 = start(&e, &streams_ops, "10.0.1.4", 1);
	CU_ASSERT_EQUAL(q1->s.state, SESSION_CLOSED);
	CU_ASSERT_EQUAL(h[0]->s.state, SESSION_PENDING);
	half_handshake(&q2->s, session_layer_conf(e.sl));
	struct fake *n = start(&e, &streams_ops, "10.0.1.5", 1);
	CU_ASSERT_EQUAL(h[0]->s.state, SESSION_CLOSED); /* no silent one left: the oldest */
	CU_ASSERT_EQUAL(n->s.state, SESSION_PENDING);
	env_close(&e);
}

static void test_identity_checks(void)
{
	static const char *const both[] = { "tunnel.allowed_peers", "[ \"sssonector-client\", \"sssonector-client2\" ]",
					    NULL };
	static const char *const only1[] = { "tunnel.allowed_peers", "[ \"sssonector-client\" ]", NULL };
	struct env e;
	struct dpconf *c_both = conf(true, both);

	dpconf_ref(c_both);
	env_open(&e, c_both);
	/* authenticated: the name that let it in, the subject */
	struct fake *f1 = start(&e, &streams_ops, "10.0.0.1", 1);
	handshake(&f1->s, c_both, "client");
	CU_ASSERT_EQUAL(session_authenticated(&f1->s), 0);
	CU_ASSERT_STRING_EQUAL(f1->s.rec.name, "sssonector-client");
	CU_ASSERT_STRING_EQUAL(f1->s.rec.subject, "CN = sssonector-client");
	/* handshakes that began before a reload which removed the peer:
	 * checked when they end (authenticated), and by the sweep at every
	 * state (pending with a verified certificate, established) */
	struct fake *f2 = start(&e, &streams_ops, "10.0.0.2", 1);
	handshake(&f2->s, c_both, "client2");         /* done, not yet authenticated */
	struct fake *f3 = start(&e, &streams_ops, "10.0.0.3", 1);
	handshake(&f3->s, c_both, "client2");
	CU_ASSERT_EQUAL(session_authenticated(&f3->s), 0);
	const char *why = NULL;
	CU_ASSERT_EQUAL(session_establish(&f3->s, &why), 0); /* established */
	struct fake *f4 = start(&e, &streams_ops, "10.0.0.4", 1);
	handshake(&f4->s, c_both, "client2");
	struct fake *f5 = start(&e, &streams_ops, "10.0.0.5", 1);
	handshake(&f5->s, c_both, "client2");
	CU_ASSERT_EQUAL(session_authenticated(&f5->s), 0); /* authenticated, not established */
	struct fake *f6 = start(&e, &streams_ops, "10.0.0.6", 1); /* handshake not begun */

	session_layer_install(e.sl, conf(true, only1));
	dpconf_unref(session_layer_conf(e.sl)); /* install took its own reference */
	/* the sweep: every client2 session with a verified certificate */
	CU_ASSERT_EQUAL(f2->s.state, SESSION_CLOSED);
	CU_ASSERT_EQUAL(f3->s.state, SESSION_CLOSED);
	CU_ASSERT_EQUAL(f4->s.state, SESSION_CLOSED);
	CU_ASSERT_EQUAL(f5->s.state, SESSION_CLOSED);
	CU_ASSERT_EQUAL(f1->s.state, SESSION_AUTHENTICATED);
	CU_ASSERT_EQUAL(atomic_load(&e.st.sessions_revoked), 4);
	/* a handshake that began under the old context and ends now: its
	 * context still admitted client2, the running one does not */
	CU_ASSERT_EQUAL(f6->s.state, SESSION_PENDING);
	handshake(&f6->s, c_both, "client2");
	CU_ASSERT_EQUAL(session_authenticated(&f6->s), -1);
	CU_ASSERT_EQUAL(f6->s.state, SESSION_CLOSED);
	CU_ASSERT_EQUAL(atomic_load(&e.st.sessions_revoked), 5);
	dpconf_unref(c_both);
	env_close(&e);
}

/* ---- the established stage -------------------------------------------------------- */

static void test_max_clients(void)
{
	static const char *const kv[] = { "tunnel.max_clients", "2", "forward.max_streams", "5", NULL };
	struct env e;
	const char *why;

	env_open(&e, conf(true, kv));
	/* streams: clients are distinct keys */
	const char *keys[] = { "a", "a", "a", "b", "c", "b", "b" };
	int want[] = { 0, 0, 0, 0, -1, 0, -1 };
	const char *reason[] = { NULL, NULL, NULL, NULL, "max_clients", NULL, "max_streams" };
	for (size_t i = 0; i < 7; i++) {
		struct fake *f = start(&e, &streams_ops, "10.0.0.1", (int)i + 1);
		handshake(&f->s, session_layer_conf(e.sl), "client");
		CU_ASSERT_EQUAL(session_authenticated(&f->s), 0);
		snprintf(f->s.key, sizeof(f->s.key), "%s", keys[i]);
		int r = session_establish(&f->s, &why);
		CU_ASSERT_EQUAL(r, want[i]);
		if (r < 0) {
			CU_ASSERT_STRING_EQUAL(why, reason[i]);
			session_close(&f->s, SESSION_CLOSE_REFUSED, why);
		}
	}
	CU_ASSERT_EQUAL(session_count(e.sl, SESSION_ESTABLISHED), 5);
	CU_ASSERT_EQUAL(atomic_load(&e.st.sessions_active), 5);
	CU_ASSERT_EQUAL(atomic_load(&e.st.peers_refused), 2);
	/* a peer that leaves frees its client slot */
	struct session *first = session_find_key(e.sl, "a", NULL);
	while (first) {
		session_close(first, SESSION_CLOSE_DONE, NULL);
		first = session_find_key(e.sl, "a", NULL);
	}
	struct fake *g = start(&e, &streams_ops, "10.0.0.2", 1);
	handshake(&g->s, session_layer_conf(e.sl), "client");
	session_authenticated(&g->s);
	snprintf(g->s.key, sizeof(g->s.key), "c");
	CU_ASSERT_EQUAL(session_establish(&g->s, &why), 0);
	env_close(&e);

	/* not streams (tun): every session is a client */
	env_open(&e, conf(true, kv));
	for (int i = 0; i < 3; i++) {
		struct fake *f = start(&e, &single_ops, "10.0.0.1", i + 1);
		handshake(&f->s, session_layer_conf(e.sl), "client");
		session_authenticated(&f->s);
		CU_ASSERT_EQUAL(session_establish(&f->s, &why), i < 2 ? 0 : -1);
	}
	env_close(&e);
}

/* ---- the limiter's rotation ----------------------------------------------------- */

static void test_rotation(void)
{
	static const char *const kv[] = { "throttle.enabled", "true", NULL };
	struct env e;
	int order[16], n = 0;
	struct fake *f[3];

	env_open(&e, conf(true, kv));
	for (int i = 0; i < 3; i++) {
		f[i] = start(&e, &streams_ops, "10.0.0.1", i + 1);
		f[i]->order = order;
		f[i]->n_order = &n;
		f[i]->tag = i;
		f[i]->rewait = true;
		session_wait_tokens(&f[i]->s);
		session_wait_tokens(&f[i]->s); /* once only */
	}
	/* installing a configuration wakes the waiters */
	session_layer_install(e.sl, session_layer_conf(e.sl));
	session_layer_install(e.sl, session_layer_conf(e.sl));
	session_layer_install(e.sl, session_layer_conf(e.sl));
	static const int want[] = { 0, 1, 2, 1, 2, 0, 2, 0, 1 };
	CU_ASSERT_EQUAL(n, 9);
	for (int i = 0; i < 9 && i < n; i++)
		CU_ASSERT_EQUAL(order[i], want[i]);
	CU_ASSERT_EQUAL(f[0]->s.rec.limiter_waits, 4);
	/* a closed waiter is never woken */
	session_close(&f[1]->s, SESSION_CLOSE_DONE, NULL);
	n = 0;
	session_layer_install(e.sl, session_layer_conf(e.sl));
	CU_ASSERT_EQUAL(n, 2);
	env_close(&e);
}

/* ---- records ---------------------------------------------------------------------- */

static void test_snapshot(void)
{
	struct env e;
	struct session_record rec[2];

	env_open(&e, conf(true, NULL));
	struct fake *a = start(&e, &streams_ops, "10.0.0.1", 1111);
	struct fake *b = start(&e, &streams_ops, "10.0.0.2", 2222);
	start(&e, &streams_ops, "10.0.0.3", 3333); /* pending: not a peer yet */
	handshake(&a->s, session_layer_conf(e.sl), "client");
	handshake(&b->s, session_layer_conf(e.sl), "client2");
	CU_ASSERT_EQUAL(session_authenticated(&a->s), 0);
	CU_ASSERT_EQUAL(session_authenticated(&b->s), 0);
	session_consume(e.sl, &a->s, THROTTLE_UP, 100);   /* a server receives up */
	session_consume(e.sl, &a->s, THROTTLE_DOWN, 7);
	session_count_packet(&a->s, true);
	session_count_drop(&b->s, SESSION_DROP_SPOOFED);
	CU_ASSERT_EQUAL(session_snapshot(e.sl, rec, 1), 2);
	CU_ASSERT_EQUAL(rec[0].id, a->s.rec.id);
	CU_ASSERT_EQUAL(session_snapshot(e.sl, rec, 2), 2);
	CU_ASSERT_EQUAL(rec[0].id, a->s.rec.id);
	CU_ASSERT_EQUAL(rec[0].octets_in, 100);
	CU_ASSERT_EQUAL(rec[0].octets_out, 7);
	CU_ASSERT_EQUAL(rec[0].packets_in, 1);
	CU_ASSERT_EQUAL(rec[0].state, SESSION_AUTHENTICATED);
	CU_ASSERT_STRING_EQUAL(rec[0].subject, "CN = sssonector-client");
	CU_ASSERT_EQUAL(ntohs(((struct sockaddr_in *)&rec[0].remote)->sin_port), 1111);
	CU_ASSERT_EQUAL(rec[1].id, b->s.rec.id);
	CU_ASSERT_EQUAL(rec[1].drops[SESSION_DROP_SPOOFED], 1);
	CU_ASSERT_EQUAL(atomic_load(&e.st.tun_drop[TUN_DROP_SPOOFED]), 1);
	CU_ASSERT_EQUAL(atomic_load(&e.st.bytes_up), 100);
	env_close(&e);
}

/* ---- the rate-limited log --------------------------------------------------------- */

static void test_ratelog(void)
{
	struct ratelog rl;
	bool opened;
	int allowed = 0;

	ratelog_init(&rl, 10000000000ull, 10);
	for (int i = 0; i < 200; i++)
		allowed += ratelog_hit(&rl, "refused", "max_clients", 5, &opened) ? 1 : 0;
	CU_ASSERT_EQUAL(allowed, 10);
	CU_ASSERT(ratelog_hit(&rl, "refused", "max_streams", 6, &opened));
	CU_ASSERT_FALSE(opened);
	CU_ASSERT_EQUAL(rl.start_ns, 5);
	/* one summary: the pair with hits suppressed */
	CU_ASSERT_EQUAL(ratelog_flush(&rl, "test"), 1);
	CU_ASSERT(ratelog_hit(&rl, "refused", "max_clients", 20000000000ull, &opened));
	CU_ASSERT(opened);
	CU_ASSERT_EQUAL(ratelog_flush(&rl, "test"), 0);
	/* more pairs than it keeps: counted together, never logged */
	char names[40][8];
	for (int i = 0; i < 40; i++) {
		snprintf(names[i], sizeof(names[i]), "r%d", i);
		bool ok = ratelog_hit(&rl, "x", names[i], 1, NULL);
		CU_ASSERT_EQUAL(ok, i < RATELOG_MAX);
	}
	CU_ASSERT_EQUAL(rl.overflow, 40 - RATELOG_MAX);
	CU_ASSERT_EQUAL(ratelog_flush(&rl, "test"), 1);
}

/* ---- small policies --------------------------------------------------------------- */

static void test_backoff(void)
{
	unsigned s1 = 0, s2 = 0, base = 500, same = 0;

	for (int i = 0; i < 10; i++) {
		unsigned a = session_backoff_ms(&s1), b = session_backoff_ms(&s2);
		CU_ASSERT(a >= base - base / 5 && a <= base + base / 5);
		CU_ASSERT(b >= base - base / 5 && b <= base + base / 5);
		same += a == b;
		base = base * 2 > 30000 ? 30000 : base * 2;
	}
	/* two clients do not back off in step (equal ten times: ~1e-25) */
	CU_ASSERT(same < 10);
}

static void test_fds_needed(void)
{
	static const char *const kv[] = { "forward.max_streams", "100", "tunnel.max_pending", "10", NULL };
	struct dpconf *c = conf(true, kv);

	CU_ASSERT_EQUAL(session_fds_needed(c->cfg), 32 + 200 + 20);
	dpconf_unref(c);
}

int main(void)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 99;
	CU_pSuite s = CU_add_suite("session", NULL, NULL);
	CU_add_test(s, "pending stage: caps drop the oldest, deadline", test_pending_caps);
	CU_add_test(s, "handshakes in progress are not dropped for silent newcomers", test_heard_not_evicted);
	CU_add_test(s, "handshake steps as jobs", test_handshake_steps);
	CU_add_test(s, "a handshake waiting for its peer holds no buffer", test_pending_holds_no_buffer);
	CU_add_test(s, "identity checked when authenticated and in every state", test_identity_checks);
	CU_add_test(s, "max_clients and forward.max_streams", test_max_clients);
	CU_add_test(s, "token waiters take turns", test_rotation);
	CU_add_test(s, "records and their snapshot", test_snapshot);
	CU_add_test(s, "rate-limited log", test_ratelog);
	CU_add_test(s, "reconnect backoff with jitter", test_backoff);
	CU_add_test(s, "fd budget", test_fds_needed);
	return tu_run();
}
