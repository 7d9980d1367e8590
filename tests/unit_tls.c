/* SPDX-License-Identifier: MIT */
/*
 * unit_tls.c - the TLS component against real handshakes.
 *
 * A server SSL and a client SSL built by tls.c talk over a non-blocking
 * socketpair, both driven from this thread until each is done or has
 * failed (bounded in time).  The PKI comes from scripts/mkpki.sh; a few
 * extra leaves (a CN different from its SANs) are signed here with the
 * test CA.  Configurations go through cfg_load like the daemon's.
 */

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/Basic.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "config.h"
#include "testutil.h"
#include "tls.h"

static const char *pki, *work;

/* ---- configurations ------------------------------------------------- */

/* "\"DIR/name\"" for a configuration value; 16 rotating buffers. */
static const char *qpath(const char *dir, const char *name)
{
	static char bufs[16][600];
	static int i;
	char *b = bufs[i++ % 16];

	snprintf(b, sizeof(bufs[0]), "\"%s/%s\"", dir, name);
	return b;
}

/* A snapshot for mode ("server"/"client") with the defaults below, each
 * overridden (or extended) by the NULL-terminated key/value pairs. */
static struct config *conf_v(const char *mode, const char *const *over)
{
	static int n;
	const char *kv[64];
	size_t k = 0;
	char name[32];
	struct config *c = NULL;
	struct cfg_errors errs = { 0 };
	bool server = strcmp(mode, "server") == 0;

	kv[k++] = "mode";
	kv[k++] = server ? "\"server\"" : "\"client\"";
	kv[k++] = server ? "tunnel.listen" : "tunnel.server";
	kv[k++] = "\"127.0.0.1:44300\"";
	kv[k++] = "tunnel.cert_file";
	kv[k++] = qpath(pki, server ? "server.crt" : "client.crt");
	kv[k++] = "tunnel.key_file";
	kv[k++] = qpath(pki, server ? "server.key" : "client.key");
	kv[k++] = "tunnel.ca_file";
	kv[k++] = qpath(pki, "ca.crt");
	kv[k++] = server ? "forward.target" : "forward.listen";
	kv[k++] = "\"127.0.0.1:5201\"";
	for (size_t i = 0; over && over[i]; i += 2) {
		size_t j = 0;
		while (j < k && strcmp(kv[j], over[i]) != 0)
			j += 2;
		kv[j] = over[i];
		kv[j + 1] = over[i + 1];
		if (j == k)
			k += 2;
	}
	kv[k] = NULL;
	snprintf(name, sizeof(name), "c%d.conf", n++);
	const char *path = tu_write_kv(tu_path(work, name), kv);
	if (cfg_load(path, NULL, 0, &c, &errs) != CFG_OK) {
		struct sbuf b = { 0 };
		for (size_t i = 0; i < errs.n; i++) {
			cfg_error_format(&errs.v[i], &b);
			sbuf_add(&b, "\n");
		}
		fprintf(stderr, "cfg_load(%s) failed:\n%s", path, sbuf_str(&b));
		sbuf_free(&b);
	}
	cfg_errors_free(&errs);
	return c;
}

/* A context from conf_v; NULL (and a failed assertion) when it cannot be built. */
static struct tls_ctx *mk_v(const char *mode, const char *const *over)
{
	struct config *c = conf_v(mode, over);
	struct cfg_errors errs = { 0 };
	struct tls_ctx *t = NULL;

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	t = tls_ctx_new(c, &errs);
	for (size_t i = 0; i < errs.n; i++)
		fprintf(stderr, "tls_ctx_new: %s: %s\n", errs.v[i].key ? errs.v[i].key : "-", errs.v[i].message);
	CU_ASSERT_PTR_NOT_NULL(t);
	cfg_errors_free(&errs);
	cfg_unref(c);
	return t;
}

#define MK(mode, ...) mk_v(mode, (const char *const[]){ __VA_ARGS__, NULL })
#define MK0(mode) mk_v(mode, NULL)

/* Sign a client leaf CN=cn with SANs san ("DNS:a,IP:1.2.3.4") by the test
 * CA, into work/name.crt and work/name.key. */
static void mk_leaf(const char *name, const char *cn, const char *san)
{
	char p[600];
	FILE *f;
	X509 *ca, *x = X509_new();
	EVP_PKEY *cakey, *k = EVP_EC_gen("P-256");
	X509V3_CTX v;
	static const struct { int nid; const char *val; } exts[] = {
		{ NID_basic_constraints, "CA:FALSE" },
		{ NID_key_usage, "critical,digitalSignature" },
		{ NID_ext_key_usage, "clientAuth" },
	};

	snprintf(p, sizeof(p), "%s/ca.crt", pki);
	f = fopen(p, "r");
	ca = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
	if (f)
		fclose(f);
	snprintf(p, sizeof(p), "%s/ca.key", pki);
	f = fopen(p, "r");
	cakey = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
	if (f)
		fclose(f);
	if (!ca || !cakey || !k || !x)
		exit(99);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), (long)time(NULL) ^ (long)rand());
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, k);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC, (const unsigned char *)cn, -1,
				   -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(ca));
	X509V3_set_ctx_nodb(&v);
	X509V3_set_ctx(&v, ca, x, NULL, NULL, 0);
	for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]) + (san != NULL); i++) {
		X509_EXTENSION *e = i < 3 ? X509V3_EXT_conf_nid(NULL, &v, exts[i].nid, exts[i].val)
					  : X509V3_EXT_conf_nid(NULL, &v, NID_subject_alt_name, san);
		if (!e || !X509_add_ext(x, e, -1))
			exit(99);
		X509_EXTENSION_free(e);
	}
	if (!X509_sign(x, cakey, EVP_sha256()))
		exit(99);
	snprintf(p, sizeof(p), "%s/%s.crt", work, name);
	f = fopen(p, "w");
	if (!f || !PEM_write_X509(f, x) || fclose(f) != 0)
		exit(99);
	snprintf(p, sizeof(p), "%s/%s.key", work, name);
	f = fopen(p, "w");
	if (!f || fchmod(fileno(f), 0600) != 0 || !PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL) ||
	    fclose(f) != 0)
		exit(99);
	X509_free(x);
	X509_free(ca);
	EVP_PKEY_free(k);
	EVP_PKEY_free(cakey);
}

/* ---- driving a handshake -------------------------------------------- */

struct side {
	SSL *ssl;
	int st;            /* 0 running, 1 done, -1 failed */
	unsigned long err; /* first OpenSSL error when it failed */
};

struct hs {
	int fd[2]; /* [0] server, [1] client */
	struct side s, c;
};

static void hs_pair(struct hs *h)
{
	memset(h, 0, sizeof(*h));
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, h->fd) < 0)
		exit(99);
	for (int i = 0; i < 2; i++)
		fcntl(h->fd[i], F_SETFL, fcntl(h->fd[i], F_GETFL) | O_NONBLOCK);
}

static void hs_free(struct hs *h)
{
	SSL_free(h->s.ssl);
	SSL_free(h->c.ssl);
	close(h->fd[0]);
	close(h->fd[1]);
	ERR_clear_error();
}

/* One step of one side; true when it made a state change. */
static bool step(struct side *x, const char *who)
{
	if (!x->ssl || x->st != 0)
		return false;
	ERR_clear_error();
	int r = SSL_do_handshake(x->ssl);
	if (r == 1) {
		x->st = 1;
		return true;
	}
	int e = SSL_get_error(x->ssl, r);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
		return false;
	x->st = -1;
	x->err = ERR_peek_error();
	tls_log_errors(who, "socketpair");
	return true;
}

/* Drive both sides until neither is running; once one has failed the
 * other gets 300 ms to notice.  5 s bound overall. */
static void hs_run(struct hs *h)
{
	struct timespec pause = { 0, 100000 };
	uint64_t deadline = now_ms() + 5000;

	while ((h->s.ssl && h->s.st == 0) || (h->c.ssl && h->c.st == 0)) {
		bool moved = step(&h->s, "server_handshake") | step(&h->c, "client_handshake");
		if ((h->s.st < 0 || h->c.st < 0) && deadline > now_ms() + 300)
			deadline = now_ms() + 300;
		if (now_ms() > deadline)
			break;
		if (!moved)
			nanosleep(&pause, NULL);
	}
}

/* A handshake between sessions of st and ct. */
static void hs_go(struct hs *h, struct tls_ctx *st, struct tls_ctx *ct)
{
	hs_pair(h);
	h->s.ssl = tls_session_new(st, h->fd[0]);
	h->c.ssl = tls_session_new(ct, h->fd[1]);
	CU_ASSERT_PTR_NOT_NULL_FATAL(h->s.ssl);
	CU_ASSERT_PTR_NOT_NULL_FATAL(h->c.ssl);
	hs_run(h);
}

/* The server side's outcome of a handshake between fresh contexts. */
static int outcome(struct tls_ctx *st, struct tls_ctx *ct)
{
	struct hs h;

	if (!st || !ct)
		return 99;
	hs_go(&h, st, ct);
	int r = h.s.st == 1 && h.c.st == 1 ? 1 : h.s.st < 0 || h.c.st < 0 ? -1 : 0;
	hs_free(&h);
	tls_ctx_unref(st);
	tls_ctx_unref(ct);
	return r;
}

/* ---- tests ---------------------------------------------------------- */

static void test_good(void)
{
	struct tls_ctx *st = MK0("server"), *ct = MK("client", "tunnel.server_name", "\"sssonector-server\"");
	struct hs h;
	char buf[64];

	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ct);
	hs_go(&h, st, ct);
	CU_ASSERT_EQUAL(h.s.st, 1);
	CU_ASSERT_EQUAL(h.c.st, 1);
	CU_ASSERT_EQUAL(SSL_version(h.s.ssl), TLS1_3_VERSION);
	CU_ASSERT(SSL_CIPHER_is_aead(SSL_get_current_cipher(h.c.ssl)));
	CU_ASSERT_PTR_NULL(SSL_get_current_compression(h.s.ssl));
	CU_ASSERT(SSL_get_options(h.s.ssl) & SSL_OP_NO_RENEGOTIATION);
	CU_ASSERT_STRING_EQUAL(tls_peer_name(h.s.ssl, buf, sizeof(buf)), "CN=sssonector-client");
	CU_ASSERT_STRING_EQUAL(tls_peer_name(h.c.ssl, buf, sizeof(buf)), "CN=sssonector-server");
	CU_ASSERT_PTR_NULL(tls_verify_reason(h.s.ssl));
	CU_ASSERT_PTR_NULL(tls_verify_reason(h.c.ssl));
	/* data flows both ways */
	CU_ASSERT_EQUAL(SSL_write(h.c.ssl, "ping", 4), 4);
	int n = -1;
	for (int i = 0; i < 1000 && n <= 0; i++)
		n = SSL_read(h.s.ssl, buf, sizeof(buf));
	CU_ASSERT_EQUAL(n, 4);
	CU_ASSERT_EQUAL(SSL_write(h.s.ssl, "pong", 4), 4);
	n = -1;
	for (int i = 0; i < 1000 && n <= 0; i++)
		n = SSL_read(h.c.ssl, buf, sizeof(buf));
	CU_ASSERT_EQUAL(n, 4);
	CU_ASSERT_NSTRING_EQUAL(buf, "pong", 4);
	hs_free(&h);
	tls_ctx_unref(st);
	tls_ctx_unref(ct);
}

static void test_tls12(void)
{
	struct hs h;
	struct tls_ctx *st = MK("server", "tunnel.tls_min_version", "\"1.2\"");
	struct tls_ctx *ct = MK("client", "tunnel.tls_min_version", "\"1.2\"");

	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ct);
	/* a 1.2-only client against a server that allows 1.2 */
	hs_pair(&h);
	h.s.ssl = tls_session_new(st, h.fd[0]);
	h.c.ssl = tls_session_new(ct, h.fd[1]);
	SSL_set_max_proto_version(h.c.ssl, TLS1_2_VERSION);
	hs_run(&h);
	CU_ASSERT_EQUAL(h.s.st, 1);
	CU_ASSERT_EQUAL(h.c.st, 1);
	CU_ASSERT_EQUAL(SSL_version(h.s.ssl), TLS1_2_VERSION);
	CU_ASSERT(SSL_CIPHER_is_aead(SSL_get_current_cipher(h.s.ssl)));
	CU_ASSERT_PTR_NULL(SSL_get_current_compression(h.s.ssl));
	CU_ASSERT_EQUAL(SSL_renegotiate(h.c.ssl), 0); /* SSL_OP_NO_RENEGOTIATION */
	hs_free(&h);

	/* the same client offering only a CBC suite: no shared cipher */
	hs_pair(&h);
	h.s.ssl = tls_session_new(st, h.fd[0]);
	h.c.ssl = tls_session_new(ct, h.fd[1]);
	SSL_set_max_proto_version(h.c.ssl, TLS1_2_VERSION);
	CU_ASSERT_EQUAL(SSL_set_cipher_list(h.c.ssl, "ECDHE-ECDSA-AES128-SHA256"), 1);
	hs_run(&h);
	CU_ASSERT_EQUAL(h.s.st, -1);
	CU_ASSERT_EQUAL(ERR_GET_REASON(h.s.err), SSL_R_NO_SHARED_CIPHER);
	hs_free(&h);
	tls_ctx_unref(st);

	/* a default (1.3-only) server refuses the 1.2-only client */
	st = MK0("server");
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	hs_pair(&h);
	h.s.ssl = tls_session_new(st, h.fd[0]);
	h.c.ssl = tls_session_new(ct, h.fd[1]);
	SSL_set_max_proto_version(h.c.ssl, TLS1_2_VERSION);
	hs_run(&h);
	CU_ASSERT_EQUAL(h.s.st, -1);
	CU_ASSERT_EQUAL(h.c.st, -1);
	CU_ASSERT_EQUAL(ERR_GET_REASON(h.s.err), SSL_R_UNSUPPORTED_PROTOCOL);
	hs_free(&h);
	tls_ctx_unref(st);
	tls_ctx_unref(ct);
}

/* tunnel.tls_ciphersuites and tunnel.tls_ciphers decide what is negotiated;
 * without a suite in common there is no handshake. */
static void test_cipher_settings(void)
{
	struct hs h;
	struct tls_ctx *st = MK("server", "tunnel.tls_ciphersuites", "\"TLS_AES_256_GCM_SHA384\"");
	struct tls_ctx *ct = MK("client", "tunnel.server_name", "\"sssonector-server\"");

	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ct);
	/* the default client offers AES-128 first; the server's list decides */
	hs_go(&h, st, ct);
	CU_ASSERT_EQUAL(h.s.st, 1);
	CU_ASSERT_EQUAL(h.c.st, 1);
	CU_ASSERT_STRING_EQUAL(SSL_CIPHER_standard_name(SSL_get_current_cipher(h.c.ssl)), "TLS_AES_256_GCM_SHA384");
	hs_free(&h);
	tls_ctx_unref(ct);
	/* defaults on both ends: AES-128-GCM */
	ct = MK("client", "tunnel.server_name", "\"sssonector-server\"");
	struct tls_ctx *sd = MK0("server");
	CU_ASSERT_PTR_NOT_NULL_FATAL(sd);
	hs_go(&h, sd, ct);
	CU_ASSERT_EQUAL(h.s.st, 1);
	CU_ASSERT_STRING_EQUAL(SSL_CIPHER_standard_name(SSL_get_current_cipher(h.s.ssl)), "TLS_AES_128_GCM_SHA256");
	hs_free(&h);
	tls_ctx_unref(sd);
	tls_ctx_unref(ct);
	/* no suite in common */
	ct = MK("client", "tunnel.server_name", "\"sssonector-server\"", "tunnel.tls_ciphersuites",
		"\"TLS_CHACHA20_POLY1305_SHA256\"");
	hs_go(&h, st, ct);
	CU_ASSERT_EQUAL(h.s.st, -1);
	CU_ASSERT_EQUAL(ERR_GET_REASON(h.s.err), SSL_R_NO_SHARED_CIPHER);
	hs_free(&h);
	tls_ctx_unref(st);
	tls_ctx_unref(ct);

	/* TLS 1.2: the server's tls_ciphers */
	st = MK("server", "tunnel.tls_min_version", "\"1.2\"", "tunnel.tls_ciphers", "\"ECDHE-ECDSA-CHACHA20-POLY1305\"");
	ct = MK("client", "tunnel.tls_min_version", "\"1.2\"", "tunnel.server_name", "\"sssonector-server\"");
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ct);
	hs_pair(&h);
	h.s.ssl = tls_session_new(st, h.fd[0]);
	h.c.ssl = tls_session_new(ct, h.fd[1]);
	SSL_set_max_proto_version(h.c.ssl, TLS1_2_VERSION);
	hs_run(&h);
	CU_ASSERT_EQUAL(h.s.st, 1);
	CU_ASSERT_EQUAL(SSL_version(h.s.ssl), TLS1_2_VERSION);
	CU_ASSERT_STRING_EQUAL(SSL_get_cipher_name(h.c.ssl), "ECDHE-ECDSA-CHACHA20-POLY1305");
	hs_free(&h);
	tls_ctx_unref(st);
	tls_ctx_unref(ct);
}

static void test_no_client_cert(void)
{
	struct tls_ctx *st = MK0("server");
	SSL_CTX *raw = SSL_CTX_new(TLS_client_method());
	struct hs h;

	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	CU_ASSERT_EQUAL(SSL_CTX_load_verify_locations(raw, tu_path(pki, "ca.crt"), NULL), 1);
	hs_pair(&h);
	h.s.ssl = tls_session_new(st, h.fd[0]);
	h.c.ssl = SSL_new(raw);
	SSL_set_fd(h.c.ssl, h.fd[1]);
	SSL_set_connect_state(h.c.ssl);
	hs_run(&h);
	CU_ASSERT_EQUAL(h.s.st, -1);
	CU_ASSERT_EQUAL(ERR_GET_REASON(h.s.err), SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE);
	hs_free(&h);
	SSL_CTX_free(raw);
	tls_ctx_unref(st);
}

static void test_other_ca(void)
{
	struct tls_ctx *st = MK0("server");
	struct tls_ctx *ct = MK("client", "tunnel.cert_file", qpath(pki, "other-client.crt"), "tunnel.key_file",
				qpath(pki, "other-client.key"));
	struct hs h;

	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ct);
	hs_go(&h, st, ct);
	CU_ASSERT_EQUAL(h.s.st, -1);
	CU_ASSERT_EQUAL(SSL_get_verify_result(h.s.ssl), X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
	CU_ASSERT_PTR_NOT_NULL(tls_verify_reason(h.s.ssl));
	hs_free(&h);
	tls_ctx_unref(st);
	tls_ctx_unref(ct);
}

/* The first line a shell command prints (fmt with printf arguments). */
static void shell_line(char *out, size_t len, const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	FILE *p = popen(cmd, "r");
	if (!p || !fgets(out, (int)len, p) || pclose(p) != 0)
		exit(99);
	out[strcspn(out, "\n")] = '\0';
}

static void test_allowed_peers(void)
{
	struct hs h;
	struct tls_ctx *st = MK("server", "tunnel.allowed_peers", "[ \"sssonector-client2\" ]");
	struct tls_ctx *ct = MK0("client");

	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ct);
	hs_go(&h, st, ct);
	CU_ASSERT_EQUAL(h.s.st, -1);
	CU_ASSERT_EQUAL(SSL_get_verify_result(h.s.ssl), X509_V_ERR_APPLICATION_VERIFICATION);
	const char *why = tls_verify_reason(h.s.ssl);
	CU_ASSERT(why && strstr(why, "allowed_peers"));
	hs_free(&h);
	tls_ctx_unref(st);
	tls_ctx_unref(ct);

	CU_ASSERT_EQUAL(outcome(MK("server", "tunnel.allowed_peers", "[ \"sssonector-client\" ]"), MK0("client")), 1);
	CU_ASSERT_EQUAL(outcome(MK("server", "tunnel.allowed_peers", "[ \"sssonector-client2\" ]"),
				MK("client", "tunnel.cert_file", qpath(pki, "client2.crt"), "tunnel.key_file",
				   qpath(pki, "client2.key"))),
			1);

	/* a leaf whose CN differs from its SANs: each entry kind matches what
	 * it names and nothing more (a bare NAME as hostname verification) */
	mk_leaf("split", "peer-cn", "DNS:peer-san.example,IP:192.0.2.7,email:Peer@Example.com");
	mk_leaf("cnonly", "Peer-Only", NULL);
	char cert_pin[128], key_pin[128], other_pin[128], allow[200];
	shell_line(cert_pin, sizeof(cert_pin),
		   "openssl x509 -in '%s/split.crt' -noout -fingerprint -sha256 | sed 's/.*=//'", work);
	shell_line(key_pin, sizeof(key_pin),
		   "openssl x509 -in '%s/split.crt' -noout -pubkey | openssl pkey -pubin -outform DER | "
		   "sha256sum | cut -d' ' -f1", work);
	shell_line(other_pin, sizeof(other_pin),
		   "openssl x509 -in '%s/cnonly.crt' -noout -fingerprint -sha256 | sed 's/.*=//'", work);
	const char *pins[] = { NULL, cert_pin, key_pin, other_pin };
	enum { NOPIN, CERT, KEY, OTHER };
	static const struct {
		const char *leaf, *list;
		int pin, want; /* list holds %s for pins[pin] */
	} cases[] = {
		/* bare NAME: the DNS SANs; the CN only when there is none */
		{ "split", "[ \"peer-san.example\" ]", NOPIN, 1 },
		{ "split", "[ \"PEER-SAN.example\" ]", NOPIN, 1 },
		{ "split", "[ \"peer-cn\" ]", NOPIN, -1 },
		{ "split", "[ \"192.0.2.7\" ]", NOPIN, 1 },
		{ "split", "[ \"192.0.2.8\" ]", NOPIN, -1 },
		{ "split", "[ \"peer-san\" ]", NOPIN, -1 },
		{ "split", "[ \"example.com\" ]", NOPIN, -1 },
		{ "split", "[ \"nobody\", \"peer-san.example\" ]", NOPIN, 1 },
		{ "cnonly", "[ \"peer-only\" ]", NOPIN, 1 },
		/* dns: never the CN */
		{ "split", "[ \"dns:peer-san.example\" ]", NOPIN, 1 },
		{ "split", "[ \"dns:peer-cn\" ]", NOPIN, -1 },
		{ "cnonly", "[ \"dns:Peer-Only\" ]", NOPIN, -1 },
		/* ip: the IP SAN only */
		{ "split", "[ \"ip:192.0.2.7\" ]", NOPIN, 1 },
		{ "split", "[ \"ip:::ffff:192.0.2.7\" ]", NOPIN, -1 },
		/* cn: the CN exactly, SANs or not */
		{ "split", "[ \"cn:peer-cn\" ]", NOPIN, 1 },
		{ "split", "[ \"cn:PEER-CN\" ]", NOPIN, -1 },
		{ "split", "[ \"cn:peer-san.example\" ]", NOPIN, -1 },
		{ "cnonly", "[ \"cn:Peer-Only\" ]", NOPIN, 1 },
		/* email: only when written, the domain in any case */
		{ "split", "[ \"email:Peer@example.COM\" ]", NOPIN, 1 },
		{ "split", "[ \"email:peer@example.com\" ]", NOPIN, -1 },
		{ "split", "[ \"dns:example.com\" ]", NOPIN, -1 },
		/* pins */
		{ "split", "[ \"sha256:%s\" ]", CERT, 1 },
		{ "split", "[ \"spki:%s\" ]", KEY, 1 },
		{ "cnonly", "[ \"sha256:%s\" ]", CERT, -1 },
		{ "cnonly", "[ \"spki:%s\" ]", KEY, -1 },
		{ "split", "[ \"sha256:%s\" ]", OTHER, -1 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char crt[32], key[32];
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
		snprintf(allow, sizeof(allow), cases[i].list, pins[cases[i].pin] ? pins[cases[i].pin] : "");
#pragma GCC diagnostic pop
		snprintf(crt, sizeof(crt), "%s.crt", cases[i].leaf);
		snprintf(key, sizeof(key), "%s.key", cases[i].leaf);
		int r = outcome(MK("server", "tunnel.allowed_peers", allow),
				MK("client", "tunnel.cert_file", qpath(work, crt), "tunnel.key_file", qpath(work, key)));
		if (r != cases[i].want)
			fprintf(stderr, "allowed_peers %s for %s: got %d, want %d\n", allow, cases[i].leaf, r,
				cases[i].want);
		CU_ASSERT_EQUAL(r, cases[i].want);
	}
}

static void test_server_name(void)
{
	static const struct {
		const char *name;
		int want;           /* client's outcome */
		const char *sni;    /* what the server saw */
		long verify;        /* client's verify result */
	} cases[] = {
		{ "\"sssonector-server\"", 1, "sssonector-server", X509_V_OK },
		{ "\"localhost\"", 1, "localhost", X509_V_OK },
		{ "\"127.0.0.1\"", 1, NULL, X509_V_OK },
		{ "\"::1\"", 1, NULL, X509_V_OK },
		{ "\"wrong-name\"", -1, NULL, X509_V_ERR_HOSTNAME_MISMATCH },
		{ "\"server\"", -1, NULL, X509_V_ERR_HOSTNAME_MISMATCH },
		{ "\"10.0.0.1\"", -1, NULL, X509_V_ERR_IP_ADDRESS_MISMATCH },
	};
	struct tls_ctx *st = MK0("server");

	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tls_ctx *ct = MK("client", "tunnel.server_name", cases[i].name);
		struct hs h;

		CU_ASSERT_PTR_NOT_NULL_FATAL(ct);
		hs_go(&h, st, ct);
		if (h.c.st != cases[i].want)
			fprintf(stderr, "server_name %s: got %d, want %d\n", cases[i].name, h.c.st, cases[i].want);
		CU_ASSERT_EQUAL(h.c.st, cases[i].want);
		CU_ASSERT_EQUAL(SSL_get_verify_result(h.c.ssl), cases[i].verify);
		if (cases[i].want == 1) {
			const char *sni = SSL_get_servername(h.s.ssl, TLSEXT_NAMETYPE_host_name);
			if (cases[i].sni) {
				CU_ASSERT_PTR_NOT_NULL(sni);
				CU_ASSERT_STRING_EQUAL(sni ? sni : "", cases[i].sni);
			} else {
				CU_ASSERT_PTR_NULL(sni);
			}
		}
		hs_free(&h);
		tls_ctx_unref(ct);
	}
	tls_ctx_unref(st);
}

static void test_encrypted_key(void)
{
	struct config *c = conf_v("server", (const char *const[]){ "tunnel.key_file", qpath(pki, "server-enc.key"),
								 "tunnel.key_password", "\"test-password\"", NULL });
	struct cfg_errors errs = { 0 };
	struct tls_ctx *st;

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	st = tls_ctx_new(c, &errs);
	CU_ASSERT_PTR_NOT_NULL(st);
	CU_ASSERT_EQUAL(errs.n, 0);
	CU_ASSERT_EQUAL(outcome(st, MK0("client")), 1);

	/* the same bytes without the password, or with a wrong one: refused,
	 * never a prompt */
	char *pw = c->tunnel.key_password;
	c->tunnel.key_password = NULL;
	CU_ASSERT_PTR_NULL(tls_ctx_new(c, &errs));
	CU_ASSERT_EQUAL_FATAL(errs.n, 1);
	CU_ASSERT_STRING_EQUAL(errs.v[0].key, "tunnel.key_file");
	CU_ASSERT_PTR_NOT_NULL(strstr(errs.v[0].message, "key_password is not set"));
	cfg_errors_clear(&errs);
	c->tunnel.key_password = "wrong-password";
	CU_ASSERT_PTR_NULL(tls_ctx_new(c, &errs));
	CU_ASSERT_EQUAL_FATAL(errs.n, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(errs.v[0].message, "cannot decrypt"));
	c->tunnel.key_password = pw;
	CU_ASSERT_EQUAL(ERR_peek_error(), 0);
	cfg_errors_free(&errs);
	cfg_unref(c);
}

/* Bad bytes in the snapshot: NULL with an error on the right key. */
static void test_ctx_errors(void)
{
	struct config *c = conf_v("server", NULL);
	struct cfg_errors errs = { 0 };
	unsigned char junk[] = "-----BEGIN CERTIFICATE-----\nnot base64 !!\n-----END CERTIFICATE-----\n";
	unsigned char *other = NULL;
	size_t other_len = 0;
	static const struct {
		size_t field; /* 0 cert, 1 key, 2 ca */
		const char *key, *msg;
	} cases[] = {
		{ 0, "tunnel.cert_file", "not a PEM certificate" },
		{ 1, "tunnel.key_file", "not a PEM private key" },
		{ 2, "tunnel.ca_file", "no certificate" },
		{ 1, "tunnel.key_file", "does not match" },
	};

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL_FATAL(read_file(tu_path(pki, "client.key"), CFG_PEM_MAX, &other, &other_len), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cfg_blob *b = cases[i].field == 0 ? &c->cert : cases[i].field == 1 ? &c->key : &c->ca;
		struct cfg_blob saved = *b;
		*b = i == 3 ? (struct cfg_blob){ other, other_len } : (struct cfg_blob){ junk, sizeof(junk) - 1 };
		CU_ASSERT_PTR_NULL(tls_ctx_new(c, &errs));
		*b = saved;
		CU_ASSERT_EQUAL(errs.n, 1);
		if (errs.n >= 1) {
			CU_ASSERT_STRING_EQUAL(errs.v[0].key, cases[i].key);
			CU_ASSERT_PTR_NOT_NULL(strstr(errs.v[0].message, cases[i].msg));
			if (!strstr(errs.v[0].message, cases[i].msg))
				fprintf(stderr, "case %zu: %s\n", i, errs.v[0].message);
		}
		cfg_errors_clear(&errs);
		CU_ASSERT_EQUAL(ERR_peek_error(), 0);
	}
	free(other);
	cfg_errors_free(&errs);
	cfg_unref(c);
}

static void test_peer_admitted(void)
{
	struct tls_ctx *st = MK0("server"), *ct = MK0("client");
	struct hs h;

	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ct);
	hs_go(&h, st, ct);
	CU_ASSERT_EQUAL_FATAL(h.s.st, 1);
	X509 *client = SSL_get0_peer_certificate(h.s.ssl), *server = SSL_get0_peer_certificate(h.c.ssl);
	STACK_OF(X509) *cchain = SSL_get_peer_cert_chain(h.s.ssl), *schain = SSL_get_peer_cert_chain(h.c.ssl);
	CU_ASSERT_PTR_NOT_NULL_FATAL(client);
	CU_ASSERT_PTR_NOT_NULL_FATAL(server);

	static const struct {
		const char *key, *value;
		bool want;
	} srv[] = {
		{ NULL, NULL, true },
		{ "tunnel.allowed_peers", "[ \"sssonector-client\" ]", true },
		{ "tunnel.allowed_peers", "[ \"sssonector-client2\", \"sssonector-client\" ]", true },
		{ "tunnel.allowed_peers", "[ \"sssonector-client2\" ]", false },
		{ "tunnel.ca_file", "other-ca.crt", false },
	};
	for (size_t i = 0; i < sizeof(srv) / sizeof(srv[0]); i++) {
		const char *v = srv[i].key && strcmp(srv[i].key, "tunnel.ca_file") == 0 ? qpath(pki, srv[i].value)
											 : srv[i].value;
		struct tls_ctx *t = srv[i].key ? MK("server", srv[i].key, v) : MK0("server");
		CU_ASSERT_EQUAL(tls_peer_admitted(t, client, cchain), srv[i].want);
		CU_ASSERT_EQUAL(tls_peer_admitted(t, client, NULL), srv[i].want);
		/* a server certificate is no client certificate (purpose) */
		CU_ASSERT_FALSE(tls_peer_admitted(t, server, schain));
		tls_ctx_unref(t);
	}

	struct tls_ctx *t = MK0("client");
	CU_ASSERT_TRUE(tls_peer_admitted(t, server, schain));
	CU_ASSERT_FALSE(tls_peer_admitted(t, client, cchain));
	CU_ASSERT_FALSE(tls_peer_admitted(t, NULL, NULL));
	tls_ctx_unref(t);
	t = MK("client", "tunnel.ca_file", qpath(pki, "other-ca.crt"));
	CU_ASSERT_FALSE(tls_peer_admitted(t, server, schain));
	tls_ctx_unref(t);
	t = MK("client", "tunnel.server_name", "\"wrong-name\"");
	CU_ASSERT_FALSE(tls_peer_admitted(t, server, schain));
	tls_ctx_unref(t);
	CU_ASSERT_EQUAL(ERR_peek_error(), 0);

	hs_free(&h);
	tls_ctx_unref(st);
	tls_ctx_unref(ct);
}

/* Run the shell commands cmds with tests/ca.sh loaded and T_PKI = pki. */
static void ca_sh(const char *cmds)
{
	const char *src = getenv("top_srcdir");
	char *cmd = NULL;

	if (asprintf(&cmd, "T_PKI='%s'; t_fail() { echo \"$*\" >&2; exit 1; }; . '%s/tests/ca.sh'; %s", pki,
		     src ? src : ".", cmds) < 0 || system(cmd) != 0) {
		fprintf(stderr, "ca.sh failed: %s\n", cmd ? cmd : "-");
		exit(99);
	}
	free(cmd);
}

/* One handshake: the server with s (key, value pairs over the defaults),
 * the client with cert/key of pki/name; the server's outcome and, when
 * refused, its verify result in *why. */
static int peer_outcome(const char *const *s, const char *name, long *why)
{
	char crt[64], key[64];
	struct hs h;
	int r;

	snprintf(crt, sizeof(crt), "%s.crt", name);
	snprintf(key, sizeof(key), "%s.key", name);
	struct tls_ctx *st = mk_v("server", s);
	struct tls_ctx *ct = MK("client", "tunnel.cert_file", qpath(pki, crt), "tunnel.key_file", qpath(pki, key));
	if (!st || !ct)
		return 99;
	hs_go(&h, st, ct);
	r = h.s.st == 1 && h.c.st == 1 ? 1 : h.s.st < 0 ? -1 : 0;
	*why = SSL_get_verify_result(h.s.ssl);
	hs_free(&h);
	tls_ctx_unref(st);
	tls_ctx_unref(ct);
	return r;
}

/* CRLs made by `openssl ca` (tests/ca.sh), checked for the whole chain;
 * tunnel.trust = "partial" with an intermediate as the only anchor. */
static void test_revocation_and_trust(void)
{
	ca_sh("t_ca ca && t_ca int-a ca && t_ca int-b ca && "
	      "t_ca_issue int-a leaf-a leaf-a clientAuth DNS:leaf-a && "
	      "t_ca_issue int-b leaf-b leaf-b clientAuth DNS:leaf-b && "
	      "cat \"$T_PKI/leaf-a.crt\" \"$T_PKI/int-a.crt\" >\"$T_PKI/chain-a.crt\" && "
	      "cp \"$T_PKI/leaf-a.key\" \"$T_PKI/chain-a.key\" && "
	      "cat \"$T_PKI/ca.crt\" \"$T_PKI/int-a.crt\" >\"$T_PKI/ca+int-a.crt\" && "
	      "cat \"$T_PKI/leaf-b.crt\" \"$T_PKI/int-b.crt\" >\"$T_PKI/chain-b.crt\" && "
	      "cp \"$T_PKI/leaf-b.key\" \"$T_PKI/chain-b.key\" && "
	      "t_ca_crl ca \"$T_PKI/none-revoked.crl\" && t_ca_revoke ca client2 && "
	      "t_ca_crl ca \"$T_PKI/ca.crl\" && "
	      "t_ca_crl ca \"$T_PKI/stale.crl\" \"$(t_ca_date -864000)\" \"$(t_ca_date -3600)\" && "
	      "t_ca_crl int-a \"$T_PKI/int-a.crl\" && t_ca_revoke int-a leaf-a && "
	      "t_ca_crl int-a \"$T_PKI/int-a-leaf.crl\" && "
	      "cat \"$T_PKI/ca.crl\" \"$T_PKI/int-a.crl\" >\"$T_PKI/both.crl\" && "
	      "cat \"$T_PKI/ca.crl\" \"$T_PKI/int-a-leaf.crl\" >\"$T_PKI/both-leaf.crl\" && "
	      "t_ca_revoke ca int-a && t_ca_crl ca \"$T_PKI/ca-int.crl\" && "
	      "cat \"$T_PKI/ca-int.crl\" \"$T_PKI/int-a.crl\" >\"$T_PKI/both-int.crl\"");
/* "@file": pki/file */
#define CRL(f) "tunnel.crl_file", "@" f
#define CA(f) "tunnel.ca_file", "@" f
#define PARTIAL "tunnel.trust", "\"partial\""
	static const struct {
		const char *s[7], *client;
		int want;
		long why;
	} cases[] = {
		/* the test CA: client2 revoked, client not */
		{ { NULL }, "client2", 1, X509_V_OK },
		{ { CRL("ca.crl") }, "client", 1, X509_V_OK },
		{ { CRL("ca.crl") }, "client2", -1, X509_V_ERR_CERT_REVOKED },
		{ { CRL("none-revoked.crl") }, "client2", 1, X509_V_OK },
		/* past nextUpdate (crl_expired = warn): still applies */
		{ { CRL("stale.crl") }, "client2", -1, X509_V_ERR_CERT_REVOKED },
		{ { CRL("stale.crl") }, "client", 1, X509_V_OK },
		/* the whole chain: every CA needs its CRL, a revoked intermediate refuses */
		{ { NULL }, "chain-a", 1, X509_V_OK },
		/* (an intermediate's CRL is checked against ca_file: it is there too) */
		{ { CA("ca+int-a.crt"), CRL("both.crl") }, "chain-a", 1, X509_V_OK },
		{ { CA("ca+int-a.crt"), CRL("both.crl") }, "leaf-a", 1, X509_V_OK },
		{ { CRL("ca.crl") }, "chain-a", -1, X509_V_ERR_UNABLE_TO_GET_CRL },
		{ { CA("ca+int-a.crt"), CRL("both-leaf.crl") }, "chain-a", -1, X509_V_ERR_CERT_REVOKED },
		{ { CA("ca+int-a.crt"), CRL("both-int.crl") }, "chain-a", -1, X509_V_ERR_CERT_REVOKED },
		/* an intermediate as the only anchor */
		{ { CA("int-a.crt") }, "leaf-a", -1, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT },
		{ { CA("int-a.crt"), PARTIAL }, "leaf-a", 1, X509_V_OK },
		{ { CA("int-a.crt"), PARTIAL }, "leaf-b", -1, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY },
		{ { CA("int-a.crt"), PARTIAL, CRL("int-a.crl") }, "leaf-a", 1, X509_V_OK },
		{ { CA("int-a.crt"), PARTIAL, CRL("int-a-leaf.crl") }, "leaf-a", -1, X509_V_ERR_CERT_REVOKED },
		/* a root in ca_file admits leaves of every intermediate under it;
		 * the intermediate's sibling as the anchor does not */
		{ { NULL }, "chain-b", 1, X509_V_OK },
		{ { CA("int-a.crt"), PARTIAL }, "chain-b", -1, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *kv[7] = { NULL };
		long why = 0;
		for (size_t k = 0; cases[i].s[k]; k++)
			kv[k] = cases[i].s[k][0] == '@' ? qpath(pki, cases[i].s[k] + 1) : cases[i].s[k];
		int r = peer_outcome(kv[0] ? kv : NULL, cases[i].client, &why);
		if (r != cases[i].want || why != cases[i].why)
			fprintf(stderr, "case %zu (%s): got %d (%s), want %d (%s)\n", i, cases[i].client, r,
				X509_verify_cert_error_string(why), cases[i].want,
				X509_verify_cert_error_string(cases[i].why));
		CU_ASSERT_EQUAL(r, cases[i].want);
		CU_ASSERT_EQUAL(why, cases[i].why);
	}
}

/* The server sends its chain without the root: the client receives the
 * leaf alone from a server whose certificate the root signed directly. */
/* Whether loading the client configuration over (files of the
 * revocation test's PKI) warns that ca_file builds no chain. */
static bool warns_no_chain(const char *const *over)
{
	struct config *c = conf_v("client", over);
	bool found = false;

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	for (size_t i = 0; i < c->warnings.n; i++)
		if (strstr(c->warnings.v[i].message, "builds no chain for tunnel.cert_file"))
			found = true;
	cfg_unref(c);
	return found;
}

/* The verdict on the own chain is remembered between loads: a change of
 * tunnel.trust or of ca_file's bytes must still give the new answer. */
static void test_chain_verdict(void)
{
	char ca[600];
	const char *leaf[] = { "tunnel.cert_file", qpath(pki, "leaf-a.crt"), "tunnel.key_file",
			       qpath(pki, "leaf-a.key"), "tunnel.ca_file", ca, NULL, NULL, NULL };

	snprintf(ca, sizeof(ca), "%s", qpath(pki, "int-a.crt"));
	CU_ASSERT_TRUE(warns_no_chain(leaf));
	CU_ASSERT_TRUE(warns_no_chain(leaf)); /* remembered */
	leaf[6] = "tunnel.trust";
	leaf[7] = "\"partial\"";
	CU_ASSERT_FALSE(warns_no_chain(leaf));
	leaf[6] = NULL;
	CU_ASSERT_TRUE(warns_no_chain(leaf));
	snprintf(ca, sizeof(ca), "%s", qpath(pki, "ca+int-a.crt"));
	CU_ASSERT_FALSE(warns_no_chain(leaf));
	snprintf(ca, sizeof(ca), "%s", qpath(pki, "int-a.crt"));
	CU_ASSERT_TRUE(warns_no_chain(leaf));
}

static void test_chain_sent(void)
{
	struct tls_ctx *st = MK0("server"), *ct = MK0("client");
	struct hs h;

	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ct);
	hs_go(&h, st, ct);
	CU_ASSERT_EQUAL_FATAL(h.c.st, 1);
	STACK_OF(X509) *sent = SSL_get_peer_cert_chain(h.c.ssl);
	CU_ASSERT_EQUAL(sk_X509_num(sent), 1);
	for (int i = 0; i < sk_X509_num(sent); i++)
		CU_ASSERT_FALSE(X509_get_extension_flags(sk_X509_value(sent, i)) & EXFLAG_SS);
	hs_free(&h);
	tls_ctx_unref(st);
	tls_ctx_unref(ct);
}

/* A session outlives the last tls_ctx_unref of its context (a reload
 * committed mid-handshake): the verify callback still finds allowed_peers. */
static void test_lifetime(void)
{
	struct tls_ctx *st = MK("server", "tunnel.allowed_peers", "[ \"sssonector-client2\" ]");
	struct tls_ctx *ct = MK0("client");
	struct hs h;

	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ct);
	hs_pair(&h);
	h.s.ssl = tls_session_new(st, h.fd[0]);
	h.c.ssl = tls_session_new(ct, h.fd[1]);
	CU_ASSERT_PTR_EQUAL(tls_ctx_ref(st), st);
	tls_ctx_unref(st);
	tls_ctx_unref(st);
	tls_ctx_unref(ct);
	hs_run(&h);
	CU_ASSERT_EQUAL(h.s.st, -1);
	CU_ASSERT_EQUAL(SSL_get_verify_result(h.s.ssl), X509_V_ERR_APPLICATION_VERIFICATION);
	hs_free(&h);
}

/* Not TLS at all: the server's handshake fails, nothing else happens. */
static void test_garbage(void)
{
	static const struct {
		const char *bytes;
		size_t len;
	} cases[] = {
		{ "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 27 },
		{ "\x16\x03\x01\xff\xff\x00\x00garbage", 14 },
		{ "\x16\x03\x01\x00\x05\x01\x00\x00\x01\x00", 10 },
		{ "", 0 }, /* EOF before anything */
	};
	struct tls_ctx *st = MK0("server");

	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct hs h;
		unsigned char junk[4096];

		hs_pair(&h);
		h.s.ssl = tls_session_new(st, h.fd[0]);
		CU_ASSERT_PTR_NOT_NULL_FATAL(h.s.ssl);
		CU_ASSERT_EQUAL((size_t)write(h.fd[1], cases[i].bytes, cases[i].len), cases[i].len);
		for (size_t k = 0; k < sizeof(junk); k++)
			junk[k] = (unsigned char)rand();
		if (i < 2)
			CU_ASSERT(write(h.fd[1], junk, sizeof(junk)) > 0);
		shutdown(h.fd[1], SHUT_WR);
		hs_run(&h);
		CU_ASSERT_EQUAL(h.s.st, -1);
		CU_ASSERT_EQUAL(ERR_peek_error(), 0); /* drained into the log */
		hs_free(&h);
	}
	tls_ctx_unref(st);
}

/* The shared PEM helpers cfgfiles.c uses. */
static void test_pem_helpers(void)
{
	unsigned char *d = NULL;
	size_t n = 0;
	enum tls_key_error why = TLS_KEY_OK;

	CU_ASSERT_EQUAL_FATAL(read_file(tu_path(pki, "ca.crt"), CFG_PEM_MAX, &d, &n), 0);
	size_t half = n / 2;
	unsigned char *two = xmalloc(2 * n);
	memcpy(two, d, n);
	memcpy(two + n, d, n);
	STACK_OF(X509) *sk = tls_pem_certs(two, 2 * n);
	CU_ASSERT_EQUAL(sk ? sk_X509_num(sk) : -1, 2);
	sk_X509_pop_free(sk, X509_free);
	CU_ASSERT_PTR_NULL(tls_pem_certs(d, half));        /* truncated */
	CU_ASSERT_PTR_NULL(tls_pem_certs(two, n + half)); /* a good one, then a damaged one */
	CU_ASSERT_PTR_NULL(tls_pem_certs("", 0));
	/* other PEM blocks (a key before the certificate) are skipped */
	unsigned char *kd = NULL;
	size_t kn = 0;
	CU_ASSERT_EQUAL_FATAL(read_file(tu_path(pki, "ca.key"), CFG_PEM_MAX, &kd, &kn), 0);
	unsigned char *mixed = xmalloc(kn + n);
	memcpy(mixed, kd, kn);
	memcpy(mixed + kn, d, n);
	sk = tls_pem_certs(mixed, kn + n);
	CU_ASSERT_EQUAL(sk ? sk_X509_num(sk) : -1, 1);
	sk_X509_pop_free(sk, X509_free);
	free(mixed);
	free(kd);
	CU_ASSERT_PTR_NULL(tls_pem_key(d, n, NULL, &why));
	CU_ASSERT_EQUAL(why, TLS_KEY_NOT_PEM);
	free(two);
	free(d);
	CU_ASSERT_EQUAL_FATAL(read_file(tu_path(pki, "server-enc.key"), CFG_PEM_MAX, &d, &n), 0);
	EVP_PKEY *k = tls_pem_key(d, n, "test-password", &why);
	CU_ASSERT_PTR_NOT_NULL(k);
	CU_ASSERT_EQUAL(why, TLS_KEY_OK);
	EVP_PKEY_free(k);
	CU_ASSERT_PTR_NULL(tls_pem_key(d, n, NULL, &why));
	CU_ASSERT_EQUAL(why, TLS_KEY_NO_PASSWORD);
	CU_ASSERT_PTR_NULL(tls_pem_key(d, n, "nope", &why));
	CU_ASSERT_EQUAL(why, TLS_KEY_BAD_PASSWORD);
	CU_ASSERT_EQUAL(ERR_peek_error(), 0);
	free(d);
}

int main(void)
{
	pki = tu_pki();
	work = tu_tmpdir();
	srand((unsigned)time(NULL));
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 99;
	CU_pSuite s = CU_add_suite("tls", NULL, NULL);
	CU_add_test(s, "mutual handshake, TLS 1.3", test_good);
	CU_add_test(s, "tls_min_version 1.2, AEAD only", test_tls12);
	CU_add_test(s, "tls_ciphersuites and tls_ciphers", test_cipher_settings);
	CU_add_test(s, "client without certificate", test_no_client_cert);
	CU_add_test(s, "client certificate from another CA", test_other_ca);
	CU_add_test(s, "allowed_peers by CN and SAN", test_allowed_peers);
	CU_add_test(s, "server_name: DNS (SNI) and IP (no SNI)", test_server_name);
	CU_add_test(s, "encrypted key and password", test_encrypted_key);
	CU_add_test(s, "bad certificate, key, CA bytes", test_ctx_errors);
	CU_add_test(s, "tls_peer_admitted after changes", test_peer_admitted);
	CU_add_test(s, "CRLs for the whole chain, partial trust", test_revocation_and_trust);
	CU_add_test(s, "own chain verdict follows trust and ca_file", test_chain_verdict);
	CU_add_test(s, "the chain sent has no root", test_chain_sent);
	CU_add_test(s, "session outlives its context", test_lifetime);
	CU_add_test(s, "plain garbage to a server", test_garbage);
	CU_add_test(s, "PEM helpers", test_pem_helpers);
	return tu_run();
}
