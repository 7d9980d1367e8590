/* SPDX-License-Identifier: MIT */
/*
 * tls.h - TLS material built from a configuration snapshot.
 *
 * tls_ctx_new() is the "prepare" of the TLS component: it builds a fresh
 * SSL_CTX from the bytes the snapshot carries (certificate, key, CA), so
 * what runs is exactly what was validated and hashed.  New handshakes take
 * the current context; a session keeps the one it started with (refcount).
 *
 * Policy, always: mutual authentication; TLS 1.3, or 1.2 when
 * tunnel.tls_min_version = "1.2", with AEAD suites only; key exchange on
 * the elliptic curves of tunnel.tls_groups only; modern signature
 * algorithms (no SHA-1, no DSA); no compression, no renegotiation;
 * OpenSSL never prompts for a password.
 */
#ifndef SSS_TLS_H
#define SSS_TLS_H

#include <stdbool.h>

#include <openssl/ssl.h>

struct config;
struct cfg_errors;

struct tls_ctx {
	int refs;               /* atomic */
	SSL_CTX *ctx;
	bool server;
	/* server: tunnel.allowed_peers (pki.h: what each entry matches); empty = any */
	char **allowed_peers;
	size_t n_allowed_peers;
	/* client: tunnel.server_name; is_ip selects IP-SAN matching and no SNI */
	char *server_name;
	bool server_name_is_ip;
	/* tunnel.crl_expired = "warn": a CRL past its nextUpdate still applies */
	bool crl_expired_ok;
};

/* Build the context for c's mode.  NULL with errors added (key
 * "tunnel.cert_file" etc., OpenSSL's reason in the message) on failure. */
struct tls_ctx *tls_ctx_new(const struct config *c, struct cfg_errors *errs);
/* The last unref drops t's SSL_CTX reference; t's memory lives on with
 * the SSL_CTX while any SSL made from it exists (its verify callback reads
 * allowed_peers), so a session may outlive its tls_ctx reference.  After
 * the last unref the caller must not use t itself. */
struct tls_ctx *tls_ctx_ref(struct tls_ctx *t);
void tls_ctx_unref(struct tls_ctx *t);

/* A new SSL for a connected socket fd (non-blocking is fine; -1: the
 * caller sets a BIO of its own): accept state on a server, connect state
 * with SNI and name checks on a client.  The SSL holds a reference on t's
 * SSL_CTX; NULL on failure. */
SSL *tls_session_new(struct tls_ctx *t, int fd);

/* Whether a peer certificate that passed the handshake under some older
 * context is still admitted by t: chain verifies against t's CA store and,
 * on a server, allowed_peers lists its CN or a SAN.  Used at commit to
 * close the sessions a reload revoked. */
bool tls_peer_admitted(const struct tls_ctx *t, X509 *peer, STACK_OF(X509) *chain);
/* The same check's verdict: X509_V_OK, X509_V_ERR_APPLICATION_VERIFICATION
 * (allowed_peers), or OpenSSL's reason (X509_V_ERR_CERT_REVOKED,
 * X509_V_ERR_CERT_HAS_EXPIRED, ...); tls_verify_text() says it in words. */
long tls_peer_verify(const struct tls_ctx *t, X509 *peer, STACK_OF(X509) *chain);

/* The allowed_peers entry x carries (its CN or a SAN), the first in the
 * list's order; NULL when none does or the list is empty.  Points into t. */
const char *tls_peer_allowed_name(const struct tls_ctx *t, X509 *x);
/* Whether x carries name as its CN or a DNS, email or IP SAN. */
bool tls_cert_has_name(X509 *x, const char *name);
/* After a handshake allowed_peers refused: the refused certificate's
 * subject (one line), else NULL.  Valid while ssl lives. */
const char *tls_refused_subject(SSL *ssl);

/* Forward transport: whether the handshake chose FRAME_FWD_ALPN, so that
 * the server's admission status (frame.h) starts the stream. */
bool tls_status_negotiated(SSL *ssl);

/* "CN=..." of the peer for logs, into buf ("-" without a certificate). */
const char *tls_peer_name(SSL *ssl, char *buf, size_t len);

/* Why certificate verification failed on ssl, for a log line: NULL when it
 * did not (a missing client certificate shows in the error queue instead).
 * "peer certificate not in tunnel.allowed_peers" for a refused peer;
 * OpenSSL's text ("hostname mismatch", ...) otherwise.  Static string. */
const char *tls_verify_reason(SSL *ssl);
/* The same for a verify result v (NULL for X509_V_OK). */
const char *tls_verify_text(long v);

/* Drain the OpenSSL error queue into the log, tagged with the peer:
 * log_warning("tls", "event=tls_error peer=... what=... error=..."). */
void tls_log_errors(const char *what, const char *peer);

/*
 * PEM reading from memory, shared with cfgfiles.c so that validation and
 * the running context accept exactly the same bytes.  Neither ever prompts
 * and both leave the OpenSSL error queue empty.
 *
 * tls_pem_certs: every certificate in data, in order (the first is the
 * leaf of a certificate file); NULL when there is none or a block is
 * damaged.  Free with sk_X509_pop_free(sk, X509_free).
 *
 * tls_pem_key: the private key in data, decrypted with password when it
 * is encrypted; NULL on failure, with *why (may be NULL) saying which.
 * tls_key_error_text gives the message for a why.
 */
enum tls_key_error {
	TLS_KEY_OK = 0,
	TLS_KEY_NOT_PEM,      /* no PEM private key in the data */
	TLS_KEY_NO_PASSWORD,  /* encrypted and no password given */
	TLS_KEY_BAD_PASSWORD, /* encrypted and the password does not open it */
};
STACK_OF(X509) *tls_pem_certs(const void *data, size_t len);
EVP_PKEY *tls_pem_key(const void *data, size_t len, const char *password, enum tls_key_error *why);
const char *tls_key_error_text(enum tls_key_error why);

#endif
