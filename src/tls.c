/* SPDX-License-Identifier: MIT */
/*
 * tls.c - the TLS component: an SSL_CTX built from a configuration
 * snapshot's bytes, the per-connection SSL, and the checks a reload uses
 * to find the sessions it revokes.
 *
 * Everything is built from the certificate, key and CA bytes the snapshot
 * carries (never by reading files again), so what runs is exactly what was
 * validated and hashed.  This module must never prompt for a password,
 * never log a secret, never relax the policy (mutual authentication, TLS
 * 1.3 or 1.2 with AEAD suites only, no compression, no renegotiation, no
 * resumption), and never leave OpenSSL errors queued for somebody else.
 */

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "config.h"
#include "frame.h"
#include "log.h"
#include "pki.h"
#include "tls.h"

#define BIT(i) (UINT64_C(1) << (i))

static const char refused_reason[] = "peer certificate not in tunnel.allowed_peers";
/* Signatures a handshake may use: no SHA-1, no SHA-224, no DSA.  PKCS#1
 * v1.5 stays for TLS 1.2 and certificate chains (TLS 1.3 refuses it in the
 * handshake by itself). */
static const char sigalgs[] = "ECDSA+SHA256:ECDSA+SHA384:ECDSA+SHA512:ed25519:ed448:"
			      "rsa_pss_rsae_sha256:rsa_pss_rsae_sha384:rsa_pss_rsae_sha512:"
			      "rsa_pss_pss_sha256:rsa_pss_pss_sha384:rsa_pss_pss_sha512:"
			      "RSA+SHA256:RSA+SHA384:RSA+SHA512";

/* ---- PEM from memory (shared with cfgfiles.c) ------------------------ */

struct pw_ctx {
	const char *password;
	bool asked;
};

/* Answers with the configured password or refuses: OpenSSL's default
 * callback would prompt on the terminal. */
static int pw_cb(char *buf, int size, int rwflag, void *u)
{
	struct pw_ctx *p = u;
	size_t n;

	(void)rwflag;
	if (!p)
		return -1;
	p->asked = true;
	if (!p->password)
		return -1;
	n = strlen(p->password);
	if (size < 0 || n > (size_t)size)
		return -1;
	memcpy(buf, p->password, n);
	return (int)n;
}

static BIO *mem_bio(const void *data, size_t len)
{
	BIO *bio = len <= (size_t)INT32_MAX ? BIO_new_mem_buf(data, (int)len) : NULL;

	if (!bio)
		abort();
	return bio;
}

STACK_OF(X509) *tls_pem_certs(const void *data, size_t len)
{
	STACK_OF(X509) *sk = NULL;
	struct pw_ctx pw = { 0 };
	X509 *x;

	if (!data || !len)
		return NULL;
	BIO *bio = mem_bio(data, len);
	sk = sk_X509_new_null();
	if (!sk)
		abort();
	ERR_set_mark();
	while ((x = PEM_read_bio_X509(bio, NULL, pw_cb, &pw)) != NULL)
		if (!sk_X509_push(sk, x))
			abort();
	/* The loop ends at the end of the data (no start line) or at a
	 * damaged block; only the first is fine. */
	unsigned long e = ERR_peek_last_error();
	bool at_end = ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE;
	ERR_pop_to_mark();
	BIO_free(bio);
	if (!at_end || sk_X509_num(sk) == 0) {
		sk_X509_pop_free(sk, X509_free);
		return NULL;
	}
	return sk;
}

EVP_PKEY *tls_pem_key(const void *data, size_t len, const char *password, enum tls_key_error *why)
{
	struct pw_ctx pw = { .password = password };
	EVP_PKEY *pkey = NULL;
	enum tls_key_error w = TLS_KEY_NOT_PEM;

	if (data && len) {
		BIO *bio = mem_bio(data, len);
		ERR_set_mark();
		pkey = PEM_read_bio_PrivateKey(bio, NULL, pw_cb, &pw);
		ERR_pop_to_mark();
		BIO_free(bio);
	}
	if (pkey)
		w = TLS_KEY_OK;
	else if (pw.asked)
		w = password ? TLS_KEY_BAD_PASSWORD : TLS_KEY_NO_PASSWORD;
	if (why)
		*why = w;
	return pkey;
}

const char *tls_key_error_text(enum tls_key_error why)
{
	switch (why) {
	case TLS_KEY_OK:
		return "ok";
	case TLS_KEY_NOT_PEM:
		return "is not a PEM private key";
	case TLS_KEY_NO_PASSWORD:
		return "private key is encrypted and tunnel.key_password is not set";
	case TLS_KEY_BAD_PASSWORD:
		return "cannot decrypt private key with tunnel.key_password";
	}
	return "?";
}

/* ---- the context ----------------------------------------------------- */

/* The struct tls_ctx lives in its SSL_CTX's ex_data and is freed with it,
 * so a handshake still running on an SSL of a context whose last
 * tls_ctx_unref has happened can still reach allowed_peers. */
static int ctx_index = -1, refused_index = -1;
static pthread_once_t ctx_index_once = PTHREAD_ONCE_INIT;

static void tls_ctx_free_data(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
	struct tls_ctx *t = ptr;

	(void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
	if (!t)
		return;
	for (size_t i = 0; i < t->n_allowed_peers; i++)
		free(t->allowed_peers[i]);
	free(t->allowed_peers);
	free(t->server_name);
	free(t);
}

static void refused_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
	(void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
	free(ptr);
}

static void ctx_index_init(void)
{
	ctx_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, tls_ctx_free_data);
	refused_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, refused_free);
	if (ctx_index < 0 || refused_index < 0)
		abort();
}

static struct tls_ctx *ctx_of(SSL *ssl)
{
	return SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ctx_index);
}

/* An error about setting key, located where the snapshot sets it, with
 * OpenSSL's last reason appended when there is one; clears the queue. */
static void ctx_err(const struct config *c, struct cfg_errors *errs, const char *key, const char *value,
		    const char *msg)
{
	const struct cfg_setting *s = cfg_setting_find(key);
	size_t i = s ? cfg_setting_index(s) : 0;
	bool has = s && (c->has & BIT(i));
	unsigned long e = ERR_peek_last_error();
	const char *reason = e ? ERR_reason_error_string(e) : NULL;

	cfg_errors_add(errs, has && c->src[i] ? c->src[i] : c->path, has ? c->line[i] : 0, key, value, "%s%s%s",
		       msg, reason ? ": " : "", reason ? reason : "");
	ERR_clear_error();
}

/* Whether x is what the allowed_peers entry name says (pki.h). */
static bool cert_has_name(X509 *x, const char *name)
{
	struct pki_name n;
	const char *why;

	return pki_name_parse(name, &n, &why) == 0 && pki_name_match(&n, x);
}

/* allowed_peers on a server; anything goes on a client or when empty. */
static bool peer_listed(const struct tls_ctx *t, X509 *x)
{
	if (!t->server || t->n_allowed_peers == 0)
		return true;
	for (size_t i = 0; i < t->n_allowed_peers; i++)
		if (cert_has_name(x, t->allowed_peers[i]))
			return true;
	return false;
}

/* What the chain checks forgive: a CRL past its nextUpdate under
 * tunnel.crl_expired = "warn" (its revocations still apply; the loader has
 * warned), and no CRL for the anchor itself (ca_file trusts it: revoking
 * an anchor is taking it out of ca_file; with tunnel.trust = "partial" its
 * issuer's CRL could not even be verified).  Every other error stands. */
static int chain_ok(const struct tls_ctx *t, int ok, X509_STORE_CTX *xs)
{
	int err = X509_STORE_CTX_get_error(xs), depth = X509_STORE_CTX_get_error_depth(xs);

	if (ok || !t)
		return ok;
	if ((err == X509_V_ERR_CRL_HAS_EXPIRED && t->crl_expired_ok) ||
	    (err == X509_V_ERR_UNABLE_TO_GET_CRL && depth == sk_X509_num(X509_STORE_CTX_get0_chain(xs)) - 1)) {
		X509_STORE_CTX_set_error(xs, X509_V_OK);
		return 1;
	}
	return ok;
}

/* OpenSSL has checked the chain, the purpose and (on a client) the server
 * name; this adds allowed_peers on the leaf.  A refusal keeps the
 * certificate's subject for the caller's log (tls_refused_subject: a peer
 * can cause this at will, so the caller rate-limits it) and shows as
 * X509_V_ERR_APPLICATION_VERIFICATION (tls_verify_reason). */
static int verify_cb(int ok, X509_STORE_CTX *xs)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(xs, SSL_get_ex_data_X509_STORE_CTX_idx());
	struct tls_ctx *t = ssl ? ctx_of(ssl) : NULL;
	X509 *x = X509_STORE_CTX_get_current_cert(xs);
	char name[256];

	ok = chain_ok(t, ok, xs);
	if (!ok || !t || X509_STORE_CTX_get_error_depth(xs) != 0 || !x || peer_listed(t, x))
		return ok;
	X509_NAME_oneline(X509_get_subject_name(x), name, sizeof(name));
	free(SSL_get_ex_data(ssl, refused_index));
	SSL_set_ex_data(ssl, refused_index, xstrdup(name));
	X509_STORE_CTX_set_error(xs, X509_V_ERR_APPLICATION_VERIFICATION);
	return 0;
}

const char *tls_refused_subject(SSL *ssl)
{
	return ssl && refused_index >= 0 ? SSL_get_ex_data(ssl, refused_index) : NULL;
}

const char *tls_peer_allowed_name(const struct tls_ctx *t, X509 *x)
{
	for (size_t i = 0; t && x && i < t->n_allowed_peers; i++)
		if (cert_has_name(x, t->allowed_peers[i]))
			return t->allowed_peers[i];
	return NULL;
}

bool tls_cert_has_name(X509 *x, const char *name)
{
	return x && name && cert_has_name(x, name);
}

static bool load_identity(SSL_CTX *ctx, const struct config *c, struct cfg_errors *errs)
{
	STACK_OF(X509) *certs = tls_pem_certs(c->cert.data, c->cert.len);
	enum tls_key_error why;
	EVP_PKEY *pkey = NULL;
	bool ok = false;

	if (!certs) {
		ctx_err(c, errs, "tunnel.cert_file", c->tunnel.cert_file, "is not a PEM certificate");
		goto out;
	}
	if (SSL_CTX_use_certificate(ctx, sk_X509_value(certs, 0)) != 1) {
		ctx_err(c, errs, "tunnel.cert_file", c->tunnel.cert_file, "certificate not usable");
		goto out;
	}
	for (int i = 1; i < sk_X509_num(certs); i++)
		if (SSL_CTX_add1_chain_cert(ctx, sk_X509_value(certs, i)) != 1) {
			ctx_err(c, errs, "tunnel.cert_file", c->tunnel.cert_file, "chain certificate not usable");
			goto out;
		}
	pkey = tls_pem_key(c->key.data, c->key.len, c->tunnel.key_password, &why);
	if (!pkey) {
		ctx_err(c, errs, "tunnel.key_file", c->tunnel.key_file, tls_key_error_text(why));
		goto out;
	}
	if (SSL_CTX_use_PrivateKey(ctx, pkey) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
		ctx_err(c, errs, "tunnel.key_file", c->tunnel.key_file,
			"private key does not match tunnel.cert_file");
		goto out;
	}
	ok = true;
out:
	EVP_PKEY_free(pkey);
	sk_X509_pop_free(certs, X509_free);
	return ok;
}

/* tunnel.crl_file into the store, checked for every certificate of a
 * peer's chain: a CA of the chain without a CRL refuses the peer (the
 * loader warns about such a CA). */
static bool load_crls(SSL_CTX *ctx, const struct config *c, struct cfg_errors *errs)
{
	STACK_OF(X509_CRL) *crls;
	X509_STORE *store = SSL_CTX_get_cert_store(ctx);
	bool ok = true;

	if (!c->crl.data)
		return true;
	crls = pki_pem_crls(c->crl.data, c->crl.len);
	if (!crls) {
		ctx_err(c, errs, "tunnel.crl_file", c->tunnel.crl_file, "contains no PEM CRL (or a damaged one)");
		return false;
	}
	for (int i = 0; ok && i < sk_X509_CRL_num(crls); i++)
		if (X509_STORE_add_crl(store, sk_X509_CRL_value(crls, i)) != 1) {
			if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_CERT_ALREADY_IN_HASH_TABLE) {
				ERR_clear_error();
				continue;
			}
			ctx_err(c, errs, "tunnel.crl_file", c->tunnel.crl_file, "CRL not usable");
			ok = false;
		}
	sk_X509_CRL_pop_free(crls, X509_CRL_free);
	X509_VERIFY_PARAM_set_flags(SSL_CTX_get0_param(ctx), X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
	return ok;
}

static bool load_ca(SSL_CTX *ctx, const struct config *c, struct cfg_errors *errs)
{
	STACK_OF(X509) *cas = tls_pem_certs(c->ca.data, c->ca.len);
	X509_STORE *store = SSL_CTX_get_cert_store(ctx);
	bool ok = cas != NULL;

	if (!cas)
		ctx_err(c, errs, "tunnel.ca_file", c->tunnel.ca_file, "contains no certificate");
	for (int i = 0; ok && i < sk_X509_num(cas); i++)
		if (X509_STORE_add_cert(store, sk_X509_value(cas, i)) != 1) {
			unsigned long e = ERR_peek_last_error();
			/* the same certificate twice in the file is harmless */
			if (ERR_GET_REASON(e) == X509_R_CERT_ALREADY_IN_HASH_TABLE) {
				ERR_clear_error();
				continue;
			}
			ctx_err(c, errs, "tunnel.ca_file", c->tunnel.ca_file, "CA certificate not usable");
			ok = false;
		}
	sk_X509_pop_free(cas, X509_free);
	/* tunnel.trust = "partial": any certificate of ca_file ends a chain */
	if (c->tunnel.trust == CFG_TRUST_PARTIAL)
		X509_VERIFY_PARAM_set_flags(SSL_CTX_get0_param(ctx), X509_V_FLAG_PARTIAL_CHAIN);
	return ok && load_crls(ctx, c, errs);
}

/* The chain the handshake sends: cert_file's certificates completed from
 * ca_file, without the root (the peer has it; sending it only costs
 * bytes).  Built once here rather than at every handshake. */
static bool build_chain(SSL_CTX *ctx, const struct config *c, struct cfg_errors *errs)
{
	if (SSL_CTX_build_cert_chain(ctx, SSL_BUILD_CHAIN_FLAG_UNTRUSTED | SSL_BUILD_CHAIN_FLAG_NO_ROOT |
						  SSL_BUILD_CHAIN_FLAG_IGNORE_ERROR |
						  SSL_BUILD_CHAIN_FLAG_CLEAR_ERROR) <= 0) {
		ctx_err(c, errs, "tunnel.cert_file", c->tunnel.cert_file, "cannot build the certificate chain");
		return false;
	}
	return true;
}

static bool is_ip(const char *s)
{
	unsigned char b[16];

	return inet_pton(AF_INET, s, b) == 1 || inet_pton(AF_INET6, s, b) == 1;
}

/* ALPN on the forward transport's server: choose FRAME_FWD_ALPN when the
 * client offers it (it then expects the admission status); otherwise no
 * protocol, and the stream is plain bytes as with any port forwarder. */
static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen, const unsigned char *in,
		       unsigned int inlen, void *arg)
{
	static const unsigned char ours[] = "\x10" FRAME_FWD_ALPN;
	unsigned char *sel = NULL;
	unsigned char sel_len = 0;

	(void)ssl, (void)arg;
	if (SSL_select_next_proto(&sel, &sel_len, ours, sizeof(ours) - 1, in, inlen) != OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_NOACK;
	*out = sel;
	*outlen = sel_len;
	return SSL_TLSEXT_ERR_OK;
}

bool tls_status_negotiated(SSL *ssl)
{
	const unsigned char *p = NULL;
	unsigned int n = 0;

	SSL_get0_alpn_selected(ssl, &p, &n);
	return n == sizeof(FRAME_FWD_ALPN) - 1 && memcmp(p, FRAME_FWD_ALPN, n) == 0;
}

/* The policy, and the name check a client makes. */
static bool set_policy(SSL_CTX *ctx, struct tls_ctx *t, const struct config *c, struct cfg_errors *errs)
{
	int min = c->tunnel.tls_min_version == CFG_TLS_1_2 ? TLS1_2_VERSION : TLS1_3_VERSION;

	if (SSL_CTX_set_min_proto_version(ctx, min) != 1 || SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1) {
		ctx_err(c, errs, "tunnel.tls_min_version", NULL, "TLS version not supported by OpenSSL");
		return false;
	}
	/* The lists were checked entry by entry when loaded (tlspolicy.c):
	 * forward secrecy and AEAD only. */
	if (SSL_CTX_set_ciphersuites(ctx, c->tunnel.tls_ciphersuites) != 1) {
		ctx_err(c, errs, "tunnel.tls_ciphersuites", c->tunnel.tls_ciphersuites,
			"cipher suites not supported by OpenSSL");
		return false;
	}
	if (SSL_CTX_set_cipher_list(ctx, c->tunnel.tls_ciphers) != 1) {
		ctx_err(c, errs, "tunnel.tls_ciphers", c->tunnel.tls_ciphers, "ciphers not supported by OpenSSL");
		return false;
	}
	/* The key exchange a client without a certificate makes the server
	 * compute: elliptic curves only (a finite-field group costs ~100 ms). */
	if (SSL_CTX_set1_groups_list(ctx, c->tunnel.tls_groups) != 1) {
		ctx_err(c, errs, "tunnel.tls_groups", c->tunnel.tls_groups, "groups not supported by OpenSSL");
		return false;
	}
	if (SSL_CTX_set1_sigalgs_list(ctx, sigalgs) != 1 || SSL_CTX_set1_client_sigalgs_list(ctx, sigalgs) != 1) {
		ctx_err(c, errs, "tunnel.tls_min_version", NULL, "signature algorithms not supported by OpenSSL");
		return false;
	}
	/* No resumption: every session's certificate goes through the full
	 * verification, allowed_peers included, under the current context. */
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET |
					 SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_num_tickets(ctx, 0);
	/* The data plane writes on non-blocking sockets and may retry from a
	 * moved buffer.  Record buffers: released between the handshake's
	 * flights (tls_session_new), kept while a stream is busy and freed
	 * when it goes idle (tlsio.c): RELEASE_BUFFERS would cost an
	 * allocation per record on a busy stream. */
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_clear_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_default_passwd_cb(ctx, pw_cb);
	SSL_CTX_set_default_passwd_cb_userdata(ctx, NULL);

	if (c->transport == CFG_TRANSPORT_FORWARD) {
		static const unsigned char protos[] = "\x10" FRAME_FWD_ALPN;
		if (t->server)
			SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
		else if (SSL_CTX_set_alpn_protos(ctx, protos, sizeof(protos) - 1) != 0) {
			ctx_err(c, errs, "transport", NULL, "cannot offer ALPN");
			return false;
		}
	}
	if (t->server) {
		static const unsigned char sid_ctx[] = "sssonector";
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, verify_cb);
		SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof(sid_ctx) - 1);
		return true;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verify_cb);
	if (!t->server_name) {
		ctx_err(c, errs, "tunnel.server_name", NULL, "is required to check the server certificate");
		return false;
	}
	X509_VERIFY_PARAM *param = SSL_CTX_get0_param(ctx);
	int r;
	if (t->server_name_is_ip) {
		r = X509_VERIFY_PARAM_set1_ip_asc(param, t->server_name);
	} else {
		X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		r = X509_VERIFY_PARAM_set1_host(param, t->server_name, 0);
	}
	if (r != 1) {
		ctx_err(c, errs, "tunnel.server_name", t->server_name, "cannot be used as a certificate name");
		return false;
	}
	return true;
}

struct tls_ctx *tls_ctx_new(const struct config *c, struct cfg_errors *errs)
{
	struct tls_ctx *t = xcalloc(1, sizeof(*t));
	SSL_CTX *ctx;

	pthread_once(&ctx_index_once, ctx_index_init);
	t->refs = 1;
	t->server = c->mode == CFG_MODE_SERVER;
	t->crl_expired_ok = c->tunnel.crl_expired == CFG_CRL_EXPIRED_WARN;
	t->n_allowed_peers = c->tunnel.allowed_peers.n;
	t->allowed_peers = xcalloc(t->n_allowed_peers + 1, sizeof(char *));
	for (size_t i = 0; i < t->n_allowed_peers; i++)
		t->allowed_peers[i] = xstrdup(c->tunnel.allowed_peers.v[i]);
	if (!t->server && c->tunnel.server_name) {
		t->server_name = xstrdup(c->tunnel.server_name);
		t->server_name_is_ip = is_ip(t->server_name);
	}

	ERR_clear_error();
	ctx = SSL_CTX_new(t->server ? TLS_server_method() : TLS_client_method());
	if (!ctx) {
		ctx_err(c, errs, "tunnel.cert_file", NULL, "cannot create a TLS context");
		tls_ctx_free_data(NULL, t, NULL, 0, 0, NULL);
		return NULL;
	}
	if (!set_policy(ctx, t, c, errs) || !load_identity(ctx, c, errs) || !load_ca(ctx, c, errs) ||
	    !build_chain(ctx, c, errs) || SSL_CTX_set_ex_data(ctx, ctx_index, t) != 1) {
		SSL_CTX_free(ctx);
		tls_ctx_free_data(NULL, t, NULL, 0, 0, NULL);
		ERR_clear_error();
		return NULL;
	}
	t->ctx = ctx;
	return t;
}

struct tls_ctx *tls_ctx_ref(struct tls_ctx *t)
{
	if (t)
		__atomic_add_fetch(&t->refs, 1, __ATOMIC_RELAXED);
	return t;
}

/* The last reference drops the SSL_CTX; t itself goes with the SSL_CTX's
 * last reference (an SSL may still hold one). */
void tls_ctx_unref(struct tls_ctx *t)
{
	if (t && __atomic_sub_fetch(&t->refs, 1, __ATOMIC_ACQ_REL) == 0)
		SSL_CTX_free(t->ctx);
}

SSL *tls_session_new(struct tls_ctx *t, int fd)
{
	SSL *ssl = SSL_new(t->ctx);

	if (!ssl)
		goto fail;
	if (fd >= 0 && SSL_set_fd(ssl, fd) != 1)
		goto fail;
	/* A handshake waiting for its peer holds no record buffers (the
	 * batched I/O clears this once the stream relays). */
	SSL_set_mode(ssl, SSL_MODE_RELEASE_BUFFERS);
	if (t->server) {
		SSL_set_accept_state(ssl);
	} else {
		if (!t->server_name_is_ip && SSL_set_tlsext_host_name(ssl, t->server_name) != 1)
			goto fail;
		SSL_set_connect_state(ssl);
	}
	return ssl;
fail:
	tls_log_errors("session_new", "-");
	SSL_free(ssl);
	return NULL;
}

static int admit_cb(int ok, X509_STORE_CTX *xs)
{
	return chain_ok(X509_STORE_CTX_get_app_data(xs), ok, xs);
}

long tls_peer_verify(const struct tls_ctx *t, X509 *peer, STACK_OF(X509) *chain)
{
	X509_STORE_CTX *xs;
	long v = X509_V_ERR_UNSPECIFIED;

	if (!t || !peer)
		return X509_V_ERR_UNSPECIFIED;
	xs = X509_STORE_CTX_new();
	if (!xs)
		abort();
	if (X509_STORE_CTX_init(xs, SSL_CTX_get_cert_store(t->ctx), peer, chain) != 1)
		goto out;
	/* what libssl does: the peer's purpose, then the context's
	 * parameters (the server name on a client) */
	if (X509_STORE_CTX_set_default(xs, t->server ? "ssl_client" : "ssl_server") != 1 ||
	    X509_VERIFY_PARAM_set1(X509_STORE_CTX_get0_param(xs), SSL_CTX_get0_param(t->ctx)) != 1)
		goto out;
	X509_STORE_CTX_set_app_data(xs, (void *)t);
	X509_STORE_CTX_set_verify_cb(xs, admit_cb);
	if (X509_verify_cert(xs) != 1)
		v = X509_STORE_CTX_get_error(xs);
	else
		v = peer_listed(t, peer) ? X509_V_OK : X509_V_ERR_APPLICATION_VERIFICATION;
out:
	X509_STORE_CTX_free(xs);
	ERR_clear_error();
	return v;
}

bool tls_peer_admitted(const struct tls_ctx *t, X509 *peer, STACK_OF(X509) *chain)
{
	return tls_peer_verify(t, peer, chain) == X509_V_OK;
}

const char *tls_peer_name(SSL *ssl, char *buf, size_t len)
{
	X509 *x = ssl ? SSL_get0_peer_certificate(ssl) : NULL;
	char cn[256];

	if (len == 0)
		return buf;
	if (!x) {
		snprintf(buf, len, "-");
		return buf;
	}
	if (X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof(cn)) >= 0)
		snprintf(buf, len, "CN=%s", cn);
	else
		X509_NAME_oneline(X509_get_subject_name(x), buf, (int)(len > INT32_MAX ? INT32_MAX : len));
	return buf;
}

const char *tls_verify_reason(SSL *ssl)
{
	return tls_verify_text(ssl ? SSL_get_verify_result(ssl) : X509_V_OK);
}

const char *tls_verify_text(long v)
{
	if (v == X509_V_OK)
		return NULL;
	if (v == X509_V_ERR_APPLICATION_VERIFICATION)
		return refused_reason;
	return X509_verify_cert_error_string(v);
}

void tls_log_errors(const char *what, const char *peer)
{
	unsigned long e;
	const char *data;
	int flags;
	char buf[256], msg[600], q1[80], q2[80], q3[700];

	while ((e = ERR_get_error_all(NULL, NULL, NULL, &data, &flags)) != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		if ((flags & ERR_TXT_STRING) && data && *data)
			snprintf(msg, sizeof(msg), "%s (%s)", buf, data);
		else
			snprintf(msg, sizeof(msg), "%s", buf);
		log_warning("tls", "event=tls_error peer=%s what=%s error=%s", log_quote(peer ? peer : "-", q1, sizeof(q1)),
			    log_quote(what ? what : "-", q2, sizeof(q2)), log_quote(msg, q3, sizeof(q3)));
	}
}
