/* SPDX-License-Identifier: MIT */
/*
 * unit_config.c - the configuration module: every key's type, range edges
 * and values, required and meaningless keys per mode and transport,
 * cross-field rules, unknown keys, the resource checks, error text,
 * @include, restart-only changes, the diff, the hash and --print-config.
 *
 * Configurations are written from key/value lists (tu_write_kv) so that
 * one table row changes one key of a known-good base.
 */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "config.h"
#include "testutil.h"

/* ---- building configurations ---------------------------------------- */

struct kv {
	const char *v[128];
	size_t n;
	char *owned[16];
	size_t n_owned;
};

static const char *own(struct kv *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static const char *own(struct kv *l, const char *fmt, ...)
{
	char *s;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		abort();
	va_end(ap);
	l->owned[l->n_owned++] = s;
	return s;
}

static void kv_free(struct kv *l)
{
	for (size_t i = 0; i < l->n_owned; i++)
		free(l->owned[i]);
}

/* Set key to value (as written in a file); value NULL removes the key. */
static void kv_set(struct kv *l, const char *key, const char *value)
{
	for (size_t i = 0; i < l->n; i += 2) {
		if (strcmp(l->v[i], key) == 0) {
			if (value) {
				l->v[i + 1] = value;
			} else {
				memmove(&l->v[i], &l->v[i + 2], (l->n - i - 2) * sizeof(char *));
				l->n -= 2;
			}
			l->v[l->n] = NULL;
			return;
		}
	}
	if (value) {
		l->v[l->n++] = key;
		l->v[l->n++] = value;
		l->v[l->n] = NULL;
	}
}

/* A valid base: "server" and "client" (forward transport), "stun" and
 * "ctun" (TUN transport), all with the test PKI. */
static void kv_base(struct kv *l, const char *base)
{
	const char *pki = tu_pki();
	bool client = base[0] == 'c', tun = strstr(base, "tun") != NULL;

	memset(l, 0, sizeof(*l));
	kv_set(l, "mode", client ? "\"client\"" : "\"server\"");
	if (tun)
		kv_set(l, "transport", "\"tun\"");
	if (client)
		kv_set(l, "tunnel.server", "\"localhost:44300\"");
	else
		kv_set(l, "tunnel.listen", "\"127.0.0.1:44300\"");
	kv_set(l, "tunnel.cert_file", own(l, client ? "\"%s/client.crt\"" : "\"%s/server.crt\"", pki));
	kv_set(l, "tunnel.key_file", own(l, client ? "\"%s/client.key\"" : "\"%s/server.key\"", pki));
	kv_set(l, "tunnel.ca_file", own(l, "\"%s/ca.crt\"", pki));
	if (tun)
		kv_set(l, "network.address", client ? "\"10.9.0.2/24\"" : "\"10.9.0.1/24\"");
	else if (client)
		kv_set(l, "forward.listen", "\"127.0.0.1:5000\"");
	else
		kv_set(l, "forward.target", "\"127.0.0.1:5201\"");
}

/* One temp dir for the many small files of the tests below (tu_tmpdir
 * makes a limited number). */
static const char *scratch(void)
{
	static const char *dir;

	if (!dir)
		dir = tu_tmpdir();
	return dir;
}

static enum cfg_status load(const char *path, struct config **c, struct cfg_errors *errs)
{
	return cfg_load(path, NULL, 0, c, errs);
}

/* NULL-safe string comparison for assertions. */
static bool str_is(const char *got, const char *want)
{
	return got && strcmp(got, want) == 0;
}

static char *fmt_error(const struct cfg_error *e)
{
	struct sbuf b = { 0 };

	cfg_error_format(e, &b);
	return b.s ? b.s : strdup("");
}

/* The error with this key and message, or NULL. */
static const struct cfg_error *find_error(const struct cfg_errors *errs, const char *key, const char *msg)
{
	for (size_t i = 0; i < errs->n; i++) {
		const struct cfg_error *e = &errs->v[i];
		if ((key ? e->key && strcmp(e->key, key) == 0 : !e->key) && strcmp(e->message, msg) == 0)
			return e;
	}
	return NULL;
}

static void dump_errors(const char *what, const struct cfg_errors *errs)
{
	for (size_t i = 0; i < errs->n; i++) {
		char *s = fmt_error(&errs->v[i]);
		fprintf(stderr, "\n    [%s] %s", what, s);
		free(s);
	}
}

/* ---- the table-driven validation test -------------------------------- */

struct vcase {
	const char *base;
	const char *key, *value;   /* value NULL: remove the key */
	const char *key2, *value2; /* an optional second change */
	const char *err_key;       /* NULL: the configuration is valid */
	const char *msg;           /* the one error's exact message */
	const char *got;           /* if set, the error's exact value */
	const char *expect;        /* valid: cfg_value_format(raw); NULL: as written */
};

#define OK(b, k, v) { b, k, v, NULL, NULL, NULL, NULL, NULL, NULL }
#define OKX(b, k, v, x) { b, k, v, NULL, NULL, NULL, NULL, NULL, x }
#define BAD(b, k, v, m) { b, k, v, NULL, NULL, k, m, NULL, NULL }
#define BADG(b, k, v, m, g) { b, k, v, NULL, NULL, k, m, g, NULL }

#define M_INT "must be an integer"
#define M_BOOL "must be a boolean (true or false)"
#define M_STR "must be a string"
#define M_LIST "must be a list of strings"
#define M_HP "must be host:port with a port between 1 and 65535"
#define M_CIDR "must be an address with a prefix length (a.b.c.d/len or IPv6/len)"
#define M_IF "must be a valid interface name (1 to 15 characters, no '/', ':' or whitespace)"
#define M_EMPTY "must not be empty"
#define M_AX "must be a socket path (/path or unix:/path) or tcp:host:port"
#define M_NAME "must be a DNS name or an IP address"
#define ONLY_SERVER "is only used when mode = \"server\""
#define ONLY_CLIENT "is only used when mode = \"client\""
#define ONLY_TUN "is only used when transport = \"tun\""
#define ONLY_FWD_CLIENT "is only used when mode = \"client\" and transport = \"forward\""
#define ONLY_FWD_SERVER "is only used when mode = \"server\" and transport = \"forward\""
#define ONLY_TUN_SERVER "is only used when mode = \"server\" and transport = \"tun\""
#define M_GROUPS "must be a colon-separated list of X25519, X448, P-256, P-384, P-521 " \
	"(finite-field groups cost the server ~100 ms per handshake)"
#define M_SUITES "(TLS 1.3 suites: TLS_AES_256_GCM_SHA384, TLS_AES_128_GCM_SHA256, " \
	"TLS_CHACHA20_POLY1305_SHA256, TLS_AES_128_CCM_SHA256)"
#define M_EMPTY_ENTRY "has an empty entry (entries are joined by single colons)"
#define M_PEER "entry 1: must be NAME=ADDRESS (NAME as an allowed_peers entry, ADDRESS an IPv4 or IPv6 address without prefix)"

/* An int key's edges: min-1 and max+1 rejected, min and max accepted. */
#define RANGE(b, k, lo, hi, lo1, hi1, m) \
	BADG(b, k, lo1, m, lo1), OK(b, k, lo), OK(b, k, hi), BADG(b, k, hi1, m, hi1), \
	BADG(b, k, "\"" lo "\"", M_INT, "\"" lo "\""), BAD(b, k, "1.5", M_INT)
#define BOOLS(b, k) OK(b, k, "true"), OK(b, k, "false"), BADG(b, k, "1", M_BOOL, "1"), \
	BAD(b, k, "\"true\"", M_BOOL)
#define HOSTPORT_BAD(b, k) BAD(b, k, "\"127.0.0.1:0\"", M_HP), BAD(b, k, "\"127.0.0.1:65536\"", M_HP), \
	BAD(b, k, "\"127.0.0.1\"", M_HP), BAD(b, k, "\"::1:443\"", M_HP), BAD(b, k, "\":443\"", M_HP), \
	BAD(b, k, "\"1.2.3:80\"", M_HP), BAD(b, k, "\"bad host:80\"", M_HP), \
	BAD(b, k, "\"[::1]443\"", M_HP), BAD(b, k, "\"[1.2.3.4]:80\"", M_HP), \
	BAD(b, k, "\"host:+80\"", M_HP), BAD(b, k, "\"host:80x\"", M_HP), BAD(b, k, "\"\"", M_EMPTY), \
	BADG(b, k, "443", M_STR, "443")

static const struct vcase vcases[] = {
	/* mode */
	OK("server", "mode", "\"server\""),
	OK("client", "mode", "\"client\""),
	BADG("server", "mode", "1", M_STR, "1"),
	BAD("server", "mode", "true", M_STR),
	BADG("server", "mode", "\"serverx\"", "must be one of: server, client", "\"serverx\""),
	BAD("server", "mode", NULL, "is required"),
	/* transport */
	OK("server", "transport", "\"forward\""),
	OK("stun", "transport", "\"tun\""),
	BADG("server", "transport", "\"udp\"", "must be one of: forward, tun", "\"udp\""),
	BAD("server", "transport", "5", M_STR),
	{ "server", "transport", "\"tun\"", "forward.target", NULL, "network.address",
	  "is required when transport = \"tun\"", NULL, NULL },
	/* tunnel.listen */
	OK("server", "tunnel.listen", "\"127.0.0.1:1\""),
	OK("server", "tunnel.listen", "\"[::1]:65535\""),
	OK("server", "tunnel.listen", "\"localhost:443\""),
	OK("server", "tunnel.listen", "\"0.0.0.0:443\""),
	OK("server", "tunnel.listen", "\"[::]:443\""),
	OK("server", "tunnel.listen", "\"my-host.example.com:8443\""),
	HOSTPORT_BAD("server", "tunnel.listen"),
	BAD("server", "tunnel.listen", NULL, "is required when mode = \"server\""),
	BADG("client", "tunnel.listen", "\"127.0.0.1:1\"", ONLY_SERVER, "\"127.0.0.1:1\""),
	/* tunnel.server */
	OK("client", "tunnel.server", "\"example.com:443\""),
	OK("client", "tunnel.server", "\"[2001:db8::1]:443\""),
	HOSTPORT_BAD("client", "tunnel.server"),
	BAD("client", "tunnel.server", NULL, "is required when mode = \"client\""),
	BAD("server", "tunnel.server", "\"example.com:443\"", ONLY_CLIENT),
	/* tunnel.server_name */
	OK("client", "tunnel.server_name", "\"sssonector-server\""),
	OK("client", "tunnel.server_name", "\"127.0.0.1\""),
	OK("client", "tunnel.server_name", "\"::1\""),
	OK("client", "tunnel.server_name", "\"host.example.\""),
	BAD("client", "tunnel.server_name", "\"bad name\"", M_NAME),
	BAD("client", "tunnel.server_name", "\"a..b\"", M_NAME),
	BAD("client", "tunnel.server_name", "\"1.2.3\"", M_NAME),
	BAD("client", "tunnel.server_name", "\"\"", M_EMPTY),
	BAD("client", "tunnel.server_name", "5", M_STR),
	BAD("server", "tunnel.server_name", "\"sssonector-server\"", ONLY_CLIENT),
	/* the three files (resources: see test_resources) */
	BAD("server", "tunnel.cert_file", NULL, "is required"),
	BAD("server", "tunnel.cert_file", "\"\"", M_EMPTY),
	BAD("server", "tunnel.cert_file", "1", M_STR),
	BAD("server", "tunnel.cert_file", "[ \"a\" ]", M_STR),
	BAD("client", "tunnel.key_file", NULL, "is required"),
	BAD("server", "tunnel.key_file", "\"\"", M_EMPTY),
	BAD("server", "tunnel.key_file", "1", M_STR),
	BAD("server", "tunnel.ca_file", NULL, "is required"),
	BAD("server", "tunnel.ca_file", "\"\"", M_EMPTY),
	BAD("server", "tunnel.ca_file", "true", M_STR),
	/* tunnel.key_password: never shown */
	OK("server", "tunnel.key_password", "\"pw\""),
	BADG("server", "tunnel.key_password", "1", M_STR, "********"),
	BADG("server", "tunnel.key_password", "\"\"", M_EMPTY, "********"),
	/* tunnel.allowed_peers */
	OK("server", "tunnel.allowed_peers", "[ ]"),
	OKX("server", "tunnel.allowed_peers", "( )", "[ ]"),
	OK("server", "tunnel.allowed_peers", "[ \"a\", \"b\" ]"),
	OKX("server", "tunnel.allowed_peers", "( \"sssonector-client\" )", "[ \"sssonector-client\" ]"),
	BADG("server", "tunnel.allowed_peers", "\"a\"", M_LIST, "\"a\""),
	BAD("server", "tunnel.allowed_peers", "[ 1 ]", M_LIST),
	BAD("server", "tunnel.allowed_peers", "( \"a\", 1 )", M_LIST),
	BAD("server", "tunnel.allowed_peers", "( ( \"a\" ) )", M_LIST),
	BAD("server", "tunnel.allowed_peers", "[ \"a\", \"\" ]", "must be a list of non-empty strings"),
	/* tunnel.allowed_peers: every kind, and what each refuses */
	OK("server", "tunnel.allowed_peers", "[ \"peer.example\", \"10.0.0.1\", \"::1\" ]"),
	OK("server", "tunnel.allowed_peers", "[ \"dns:peer.example\", \"ip:192.0.2.7\", \"ip:2001:db8::7\" ]"),
	OK("server", "tunnel.allowed_peers", "[ \"cn:Any Name, Inc.\", \"email:ops@peer.example\" ]"),
	OK("server", "tunnel.allowed_peers",
	   "[ \"sha256:" "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF" "\" ]"),
	OK("server", "tunnel.allowed_peers",
	   "[ \"spki:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:"
	   "00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff\" ]"),
	BAD("server", "tunnel.allowed_peers", "[ \"a\", \"bad name\" ]",
	    "entry 2: must be a DNS name or an IP address, or kind:value with a kind of dns, ip, cn, "
	    "email, sha256 or spki"),
	BAD("server", "tunnel.allowed_peers", "[ \"*.peer.example\" ]",
	    "entry 1: must be a DNS name or an IP address, or kind:value with a kind of dns, ip, cn, "
	    "email, sha256 or spki"),
	BAD("server", "tunnel.allowed_peers", "[ \"dns:*.peer.example\" ]",
	    "entry 1: dns: must be followed by a DNS name (no wildcards)"),
	BAD("server", "tunnel.allowed_peers", "[ \"ip:10.0.0\" ]",
	    "entry 1: ip: must be followed by an IPv4 or IPv6 address"),
	BAD("server", "tunnel.allowed_peers", "[ \"cn:\" ]", "entry 1: cn: must be followed by a name"),
	BAD("server", "tunnel.allowed_peers", "[ \"email:ops\" ]",
	    "entry 1: email: must be followed by an address local@domain"),
	BAD("server", "tunnel.allowed_peers", "[ \"email:a@b@c\" ]",
	    "entry 1: email: must be followed by an address local@domain"),
	BAD("server", "tunnel.allowed_peers", "[ \"sha256:0011\" ]",
	    "entry 1: sha256: and spki: must be followed by 64 hex digits (a SHA-256 digest)"),
	BAD("server", "tunnel.allowed_peers",
	    "[ \"spki:" "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeffgg" "\" ]",
	    "entry 1: sha256: and spki: must be followed by 64 hex digits (a SHA-256 digest)"),
	/* tunnel.crl_file (the accepted case is in test_resources) */
	BAD("server", "tunnel.crl_file", "\"\"", M_EMPTY),
	BAD("server", "tunnel.crl_file", "1", M_STR),
	/* tunnel.crl_expired, tunnel.trust */
	OK("server", "tunnel.crl_expired", "\"warn\""),
	OK("client", "tunnel.crl_expired", "\"refuse\""),
	BADG("server", "tunnel.crl_expired", "\"ignore\"", "must be one of: warn, refuse", "\"ignore\""),
	OK("server", "tunnel.trust", "\"chain\""),
	OK("client", "tunnel.trust", "\"partial\""),
	BADG("server", "tunnel.trust", "\"none\"", "must be one of: chain, partial", "\"none\""),
	BAD("server", "tunnel.trust", "true", M_STR),
	/* tunnel.expiry_warn_days */
	RANGE("server", "tunnel.expiry_warn_days", "0", "3650", "-1", "3651",
	      "must be 0 (off) or between 1 and 3650"),
	/* ints */
	RANGE("server", "tunnel.max_clients", "1", "65535", "0", "65536", "must be between 1 and 65535"),
	BAD("client", "tunnel.max_clients", "5", ONLY_SERVER),
	RANGE("client", "tunnel.handshake_timeout_ms", "100", "120000", "99", "120001",
	      "must be between 100 and 120000"),
	RANGE("server", "tunnel.max_pending", "1", "65535", "0", "65536", "must be between 1 and 65535"),
	RANGE("server", "tunnel.max_pending_per_source", "1", "65535", "0", "65536", "must be between 1 and 65535"),
	BAD("client", "tunnel.max_pending_per_source", "5", ONLY_SERVER),
	RANGE("server", "forward.max_streams", "1", "65535", "0", "65536", "must be between 1 and 65535"),
	RANGE("client", "forward.idle_timeout_s", "0", "604800", "-1", "604801",
	      "must be 0 (off) or between 1 and 604800"),
	/* tunnel.tls_groups: elliptic curves only */
	OK("server", "tunnel.tls_groups", "\"X25519\""),
	OK("client", "tunnel.tls_groups", "\"P-384:x25519:P-521\""),
	BAD("server", "tunnel.tls_groups", "\"ffdhe8192\"", M_GROUPS),
	BAD("server", "tunnel.tls_groups", "\"X25519:ffdhe2048\"", M_GROUPS),
	BAD("server", "tunnel.tls_groups", "\"X25519:\"", M_GROUPS),
	BAD("server", "tunnel.tls_groups", "\":X25519\"", M_GROUPS),
	BAD("server", "tunnel.tls_groups", "\"\"", M_EMPTY),
	/* tunnel.tls_ciphersuites: TLS 1.3 names OpenSSL has, each named when bad */
	OK("server", "tunnel.tls_ciphersuites", "\"TLS_AES_256_GCM_SHA384\""),
	OK("client", "tunnel.tls_ciphersuites", "\"TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256\""),
	BAD("server", "tunnel.tls_ciphersuites", "\"TLS_AES_256_GCM_SHA384:TLS_AES_512_GCM\"",
	    "TLS_AES_512_GCM is not a TLS 1.3 cipher suite OpenSSL knows " M_SUITES),
	BAD("server", "tunnel.tls_ciphersuites", "\"ECDHE-RSA-AES256-GCM-SHA384\"",
	    "ECDHE-RSA-AES256-GCM-SHA384 is not a TLS 1.3 cipher suite OpenSSL knows " M_SUITES),
	BAD("server", "tunnel.tls_ciphersuites", "\"tls_aes_256_gcm_sha384\"",
	    "tls_aes_256_gcm_sha384 is not a TLS 1.3 cipher suite OpenSSL knows " M_SUITES),
	BAD("server", "tunnel.tls_ciphersuites", "\"TLS_AES_256_GCM_SHA384:\"", M_EMPTY_ENTRY),
	BAD("server", "tunnel.tls_ciphersuites", "\"TLS_AES_256_GCM_SHA384::TLS_AES_128_GCM_SHA256\"", M_EMPTY_ENTRY),
	BAD("server", "tunnel.tls_ciphersuites", "\"\"", M_EMPTY),
	BADG("server", "tunnel.tls_ciphersuites", "1", M_STR, "1"),
	/* tunnel.tls_ciphers: TLS 1.2, ECDHE + AEAD only */
	OK("server", "tunnel.tls_ciphers", "\"ECDHE-ECDSA-AES256-GCM-SHA384\""),
	OK("client", "tunnel.tls_ciphers", "\"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-AES128-GCM-SHA256\""),
	OK("server", "tunnel.tls_ciphers", "\"ECDHE+AESGCM\""),
	BAD("server", "tunnel.tls_ciphers", "\"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-SHA256\"",
	    "ECDHE-RSA-AES128-SHA256 is not ECDHE with an AEAD cipher (forward secrecy and AEAD only)"),
	BAD("server", "tunnel.tls_ciphers", "\"AES256-GCM-SHA384\"",
	    "AES256-GCM-SHA384 is not ECDHE with an AEAD cipher (forward secrecy and AEAD only)"),
	BAD("server", "tunnel.tls_ciphers", "\"ECDHE-ECDSA-AES256-SHA384\"",
	    "ECDHE-ECDSA-AES256-SHA384 is not ECDHE with an AEAD cipher (forward secrecy and AEAD only)"),
	BAD("server", "tunnel.tls_ciphers", "\"NO-SUCH-CIPHER\"",
	    "NO-SUCH-CIPHER is not a TLS 1.2 cipher OpenSSL knows (e.g. ECDHE-ECDSA-AES256-GCM-SHA384, "
	    "ECDHE-RSA-AES256-GCM-SHA384, ECDHE-ECDSA-CHACHA20-POLY1305)"),
	BAD("server", "tunnel.tls_ciphers", "\"!aNULL\"",
	    "!aNULL: entries are cipher names or aliases, without OpenSSL's operators"),
	BAD("server", "tunnel.tls_ciphers", "\"ECDHE-ECDSA-AES256-GCM-SHA384:\"", M_EMPTY_ENTRY),
	BAD("server", "tunnel.tls_ciphers", "\"\"", M_EMPTY),
	/* tunnel.peers: NAME=ADDRESS, inside the subnet, each address and name once */
	OK("stun", "tunnel.peers", "[ \"branch-1=10.9.0.2\", \"branch-2=10.9.0.254\" ]"),
	OK("stun", "tunnel.peers", "[ ]"),
	OK("stun", "tunnel.peers", "[ \"cn:Branch One=10.9.0.2\", \"ip:192.0.2.7=10.9.0.3\", \"email:a@b.example=10.9.0.4\" ]"),
	BAD("stun", "tunnel.peers", "[ \"branch-1\" ]", M_PEER),
	BAD("stun", "tunnel.peers", "[ \"branch 1=10.9.0.2\" ]", M_PEER),
	BAD("stun", "tunnel.peers", "[ \"=10.9.0.2\" ]", M_PEER),
	BAD("stun", "tunnel.peers", "[ \"b=10.9.0.2/24\" ]", M_PEER),
	BAD("stun", "tunnel.peers", "[ \"dns:*.example.org=10.9.0.2\" ]", M_PEER),
	BAD("stun", "tunnel.peers", "[ \"b=10.9.1.2\" ]",
	    "b: address 10.9.1.2 is outside this server's subnet (network.address = 10.9.0.1/24)"),
	BAD("stun", "tunnel.peers", "[ \"b=10.9.0.0\" ]",
	    "b: address 10.9.0.0 is the subnet's network address (network.address = 10.9.0.1/24)"),
	BAD("stun", "tunnel.peers", "[ \"b=10.9.0.255\" ]",
	    "b: address 10.9.0.255 is the subnet's broadcast address (network.address = 10.9.0.1/24)"),
	BAD("stun", "tunnel.peers", "[ \"b=10.9.0.1\" ]",
	    "b: address 10.9.0.1 is this server's address (network.address = 10.9.0.1/24)"),
	BAD("stun", "tunnel.peers", "[ \"a=10.9.0.2\", \"b=10.9.0.2\" ]", "a and b have the same address 10.9.0.2"),
	BAD("stun", "tunnel.peers", "[ \"a=10.9.0.2\", \"A=10.9.0.3\" ]", "A is listed twice"),
	BAD("ctun", "tunnel.peers", "[ \"a=10.9.0.3\" ]", ONLY_TUN_SERVER),
	BAD("server", "tunnel.peers", "[ \"a=10.9.0.3\" ]", ONLY_TUN_SERVER),
	RANGE("server", "tunnel.keepalive_s", "0", "3600", "-1", "3601", "must be 0 (off) or between 1 and 3600"),
	OK("server", "tunnel.keepalive_s", "1"),
	OK("server", "tunnel.tls_min_version", "\"1.2\""),
	OK("server", "tunnel.tls_min_version", "\"1.3\""),
	BAD("server", "tunnel.tls_min_version", "\"1.1\"", "must be one of: 1.2, 1.3"),
	BAD("server", "tunnel.tls_min_version", "1.3", M_STR),
	RANGE("server", "tunnel.upload_kbps", "8", "100000000", "7", "100000001",
	      "must be between 8 and 100000000"),
	BADG("server", "tunnel.upload_kbps", "4294967304", "must be between 8 and 100000000", "4294967304"),
	BADG("server", "tunnel.upload_kbps", "10000000000L", "must be between 8 and 100000000", "10000000000"),
	BADG("server", "tunnel.upload_kbps", "-5", "must be between 8 and 100000000", "-5"),
	OKX("server", "tunnel.upload_kbps", "0x10", "16"),
	OKX("server", "tunnel.upload_kbps", "5000L", "5000"),
	RANGE("client", "tunnel.download_kbps", "8", "100000000", "7", "100000001",
	      "must be between 8 and 100000000"),
	BOOLS("server", "throttle.enabled"),
	RANGE("server", "throttle.burst_ms", "1", "10000", "0", "10001", "must be between 1 and 10000"),
	/* forward.listen */
	OK("client", "forward.listen", "\"[::1]:5000\""),
	HOSTPORT_BAD("client", "forward.listen"),
	BAD("client", "forward.listen", NULL, "is required when mode = \"client\" and transport = \"forward\""),
	BAD("server", "forward.listen", "\"127.0.0.1:5000\"", ONLY_FWD_CLIENT),
	BAD("ctun", "forward.listen", "\"127.0.0.1:5000\"", ONLY_FWD_CLIENT),
	BADG("client", "forward.listen", "\"localhost:44300\"", "must differ from tunnel.server",
	     "\"localhost:44300\""),
	/* forward.target */
	OK("server", "forward.target", "\"10.1.1.1:44300\""),
	HOSTPORT_BAD("server", "forward.target"),
	BAD("server", "forward.target", NULL, "is required when mode = \"server\" and transport = \"forward\""),
	BAD("client", "forward.target", "\"127.0.0.1:5201\"", ONLY_FWD_SERVER),
	BAD("stun", "forward.target", "\"127.0.0.1:5201\"", ONLY_FWD_SERVER),
	BADG("server", "forward.target", "\"127.0.0.1:44300\"", "must differ from tunnel.listen",
	     "\"127.0.0.1:44300\""),
	{ "server", "forward.target", "\"localhost:44300\"", "tunnel.listen", "\"0.0.0.0:44300\"",
	  "forward.target", "must differ from tunnel.listen", NULL, NULL },
	{ "server", "forward.target", "\"10.1.1.1:44300\"", "tunnel.listen", "\"0.0.0.0:44300\"", NULL, NULL,
	  NULL, NULL },
	/* network.* */
	OK("stun", "network.interface", "\"tun0\""),
	OK("stun", "network.interface", "\"t\""),
	OK("ctun", "network.interface", "\"abcdefghijklmno\""),
	BAD("stun", "network.interface", "\"abcdefghijklmnop\"", M_IF),
	BAD("stun", "network.interface", "\"a/b\"", M_IF),
	BAD("stun", "network.interface", "\"a:b\"", M_IF),
	BAD("stun", "network.interface", "\"a b\"", M_IF),
	BAD("stun", "network.interface", "\"\"", M_IF),
	BAD("stun", "network.interface", "\".\"", M_IF),
	BAD("stun", "network.interface", "5", M_STR),
	BAD("server", "network.interface", "\"tun7\"", ONLY_TUN),
	OK("stun", "network.address", "\"10.0.0.1/24\""),
	OK("stun", "network.address", "\"fd00::1/64\""),
	OK("stun", "network.address", "\"10.0.0.1/0\""),
	OK("ctun", "network.address", "\"10.0.0.1/32\""),
	OK("stun", "network.address", "\"fd00::1/128\""),
	BAD("stun", "network.address", "\"10.0.0.1/33\"", M_CIDR),
	BAD("stun", "network.address", "\"10.0.0.1\"", M_CIDR),
	BAD("stun", "network.address", "\"fd00::1/129\"", M_CIDR),
	BAD("stun", "network.address", "\"x/24\"", M_CIDR),
	BAD("stun", "network.address", "\"10.0.0.1/\"", M_CIDR),
	BAD("stun", "network.address", "\"10.0.0.1/2x\"", M_CIDR),
	BAD("stun", "network.address", "\"10.0.0.1/-1\"", M_CIDR),
	BAD("stun", "network.address", "\"\"", M_EMPTY),
	BAD("stun", "network.address", "24", M_STR),
	BAD("stun", "network.address", NULL, "is required when transport = \"tun\""),
	BAD("ctun", "network.address", NULL, "is required when transport = \"tun\""),
	BAD("client", "network.address", "\"10.0.0.1/24\"", ONLY_TUN),
	RANGE("stun", "network.mtu", "576", "9000", "575", "9001", "must be between 576 and 9000"),
	BAD("server", "network.mtu", "1400", ONLY_TUN),
	/* monitor.* */
	BOOLS("server", "monitor.snmp_enabled"),
	OK("server", "monitor.agentx_socket", "\"/var/agentx/master\""),
	OK("server", "monitor.agentx_socket", "\"tcp:localhost:705\""),
	OK("server", "monitor.agentx_socket", "\"tcp:[::1]:705\""),
	OK("server", "monitor.agentx_socket", "\"unix:/run/agentx\""),
	BAD("server", "monitor.agentx_socket", "\"relative\"", M_AX),
	BAD("server", "monitor.agentx_socket", "\"tcp:nohost\"", M_AX),
	BAD("server", "monitor.agentx_socket", "\"unix:rel\"", M_AX),
	BAD("server", "monitor.agentx_socket", "\"\"", M_EMPTY),
	BAD("server", "monitor.agentx_socket", "1", M_STR),
	RANGE("server", "monitor.agentx_ping_s", "1", "3600", "0", "3601", "must be between 1 and 3600"),
	BOOLS("client", "monitor.notifications"),
	OK("server", "monitor.snmp_write", "\"rates\""),
	OK("server", "monitor.snmp_write", "\"reload\""),
	OK("server", "monitor.snmp_write", "\"all\""),
	BADG("server", "monitor.snmp_write", "\"everything\"", "must be one of: rates, reload, all", "\"everything\""),
	OK("server", "monitor.snmp_context", "\"\""),
	OK("server", "monitor.snmp_context", "\"server-1.site_a\""),
	OK("server", "monitor.snmp_context", "\"abcdefghijklmnopqrstuvwxyz012345\""),
	BAD("server", "monitor.snmp_context", "\"abcdefghijklmnopqrstuvwxyz0123456\"",
	    "must be at most 32 letters, digits, '-', '_' or '.'"),
	BAD("server", "monitor.snmp_context", "\"a b\"", "must be at most 32 letters, digits, '-', '_' or '.'"),
	BAD("server", "monitor.snmp_context", "1", M_STR),
	/* logging.level */
	OK("server", "logging.level", "\"error\""),
	OK("server", "logging.level", "\"warning\""),
	OK("server", "logging.level", "\"info\""),
	OK("server", "logging.level", "\"debug\""),
	BADG("server", "logging.level", "\"verbose\"", "must be one of: error, warning, info, debug",
	     "\"verbose\""),
	BAD("server", "logging.level", "3", M_STR),
	/* reload.* */
	BOOLS("server", "reload.watch"),
	RANGE("server", "reload.debounce_ms", "0", "10000", "-1", "10001", "must be between 0 and 10000"),
	RANGE("server", "reload.history", "1", "1024", "0", "1025", "must be between 1 and 1024"),
	OK("server", "reload.state_dir", "\"/var/lib/sssonector\""),
	OK("server", "reload.state_dir", "\"/tmp/x\""),
	BAD("server", "reload.state_dir", "\"state\"", "must be an absolute path"),
	BAD("server", "reload.state_dir", "\"\"", M_EMPTY),
	BAD("server", "reload.state_dir", "1", M_STR),
	OK("server", "reload.start_invalid", "\"refuse\""),
	OK("server", "reload.start_invalid", "\"last-good\""),
	BADG("server", "reload.start_invalid", "\"lastgood\"", "must be one of: refuse, last-good",
	     "\"lastgood\""),
	/* user */
	OK("server", "user", "\"root\""),
	OK("client", "user", "\"nobody\""),
	BAD("server", "user", "\"no-such-user-sss\"", "no such user"),
	BAD("server", "user", "\"a:b\"", "must be a user name"),
	BAD("server", "user", "0", M_STR),
	/* unknown keys */
	BAD("server", "tunnel.upload_kpbs", "5", "unknown setting (did you mean \"tunnel.upload_kbps\"?)"),
	BAD("server", "tunnel.mtu", "1400", "unknown setting (did you mean \"network.mtu\"?)"),
	BAD("server", "upload_kbps", "5", "unknown setting (did you mean \"tunnel.upload_kbps\"?)"),
	BAD("server", "mdoe", "\"server\"", "unknown setting (did you mean \"mode\"?)"),
	BAD("server", "bogus", "1", "unknown setting"),
	BAD("server", "throttle.listen", "1", "unknown setting"),
	BAD("server", "tunnel.foo", "{ }", "unknown setting"),
	{ "server", "tunel.listen", "\"x\"", NULL, NULL, "tunel", "unknown setting (did you mean \"tunnel\"?)",
	  NULL, NULL },
	/* a key given as a group */
	BADG("server", "logging.level", "{ x = 1; }", M_STR, "{ x = 1 }"),
};

static void run_case(const struct vcase *t, size_t n)
{
	const char *dir = scratch();
	const char *path = tu_path(dir, "t.conf");
	struct kv l;
	struct config *c = NULL;
	struct cfg_errors errs = { 0 };
	enum cfg_status st;
	bool ok;

	kv_base(&l, t->base);
	kv_set(&l, t->key, t->value);
	if (t->key2)
		kv_set(&l, t->key2, t->value2);
	tu_write_kv(path, l.v);
	st = load(path, &c, &errs);
	if (!t->err_key) {
		ok = st == CFG_OK && c && errs.n == 0;
		if (ok && t->value && cfg_setting_find(t->key)) {
			struct sbuf v = { 0 };
			const struct cfg_setting *s = cfg_setting_find(t->key);
			size_t i = cfg_setting_index(s);
			cfg_value_format(c, s, true, &v);
			ok = strcmp(sbuf_str(&v), t->expect ? t->expect : t->value) == 0 &&
			     (c->has & (UINT64_C(1) << i)) && c->line[i] == tu_kv_line(path, t->key) &&
			     strcmp(c->src[i], path) == 0;
			if (!ok)
				fprintf(stderr, "\n    case %zu: %s: stored %s", n, t->key, sbuf_str(&v));
			sbuf_free(&v);
		}
	} else {
		const struct cfg_error *e = find_error(&errs, t->err_key, t->msg);
		ok = st == CFG_ERR_INVALID && !c && errs.n == 1 && e && e->file && strcmp(e->file, path) == 0 &&
		     e->line == tu_kv_line(path, t->err_key) &&
		     (!t->got || (e->value && strcmp(e->value, t->got) == 0));
	}
	if (!ok) {
		fprintf(stderr, "\n    case %zu (%s %s = %s): status %d, %zu errors", n, t->base, t->key,
			t->value ? t->value : "(removed)", st, errs.n);
		dump_errors("got", &errs);
	}
	CU_ASSERT(ok);
	cfg_unref(c);
	cfg_errors_free(&errs);
	kv_free(&l);
}

static void test_validation_table(void)
{
	for (size_t i = 0; i < sizeof(vcases) / sizeof(vcases[0]); i++)
		run_case(&vcases[i], i);
}

/* Every key of the table has at least one rejected and (unless it is
 * required everywhere) one accepted row above. */
static void test_table_covers_every_key(void)
{
	for (size_t i = 0; i < cfg_n_settings; i++) {
		const char *key = cfg_settings[i].key;
		bool bad = false, good = false;
		for (size_t k = 0; k < sizeof(vcases) / sizeof(vcases[0]); k++) {
			if (strcmp(vcases[k].key, key) != 0)
				continue;
			bad |= vcases[k].err_key != NULL;
			good |= vcases[k].err_key == NULL;
		}
		good |= (cfg_settings[i].flags & CFG_F_FILE) != 0; /* see test_resources */
		if (!bad || !good)
			fprintf(stderr, "\n    %s not covered", key);
		CU_ASSERT(bad && good);
	}
}

/* ---- helpers for the tests below ------------------------------------ */

/* Write base with up to two changes to dir/name and load it. */
static enum cfg_status load_kv(const char *path, const char *base, const char *k1, const char *v1,
			       const char *k2, const char *v2, struct config **c, struct cfg_errors *errs)
{
	struct kv l;
	enum cfg_status st;

	kv_base(&l, base);
	if (k1)
		kv_set(&l, k1, v1);
	if (k2)
		kv_set(&l, k2, v2);
	tu_write_kv(path, l.v);
	st = load(path, c, errs);
	kv_free(&l);
	return st;
}

static char *quoted(const char *s)
{
	char *q;

	if (asprintf(&q, "\"%s\"", s) < 0)
		abort();
	return q;
}

/* Load base with key = "file" and expect exactly one error (key, msg). */
static void expect_file_error(const char *base, const char *key, const char *file, const char *k2,
			      const char *v2, const char *err_key, const char *msg)
{
	const char *dir = scratch();
	char *conf = strdup(tu_path(dir, "t.conf")), *q = quoted(file);
	struct config *c = NULL;
	struct cfg_errors errs = { 0 };
	enum cfg_status st = load_kv(conf, base, key, q, k2, v2, &c, &errs);
	const struct cfg_error *e = find_error(&errs, err_key, msg);
	bool ok = st == CFG_ERR_INVALID && !c && errs.n == 1 && e && strcmp(e->file, conf) == 0 &&
		  e->line == tu_kv_line(conf, err_key);

	if (!ok) {
		fprintf(stderr, "\n    expected %s: %s", err_key, msg);
		dump_errors("got", &errs);
	}
	CU_ASSERT(ok);
	cfg_unref(c);
	cfg_errors_free(&errs);
	free(q);
	free(conf);
}

static void expect_ok(const char *base, const char *k1, const char *v1, const char *k2, const char *v2)
{
	const char *dir = scratch();
	char *conf = strdup(tu_path(dir, "t.conf"));
	struct config *c = NULL;
	struct cfg_errors errs = { 0 };
	enum cfg_status st = load_kv(conf, base, k1, v1, k2, v2, &c, &errs);

	if (st != CFG_OK)
		dump_errors("unexpected", &errs);
	CU_ASSERT(st == CFG_OK && c && errs.n == 0);
	cfg_unref(c);
	cfg_errors_free(&errs);
	free(conf);
}

/* ---- resources ------------------------------------------------------ */

static void test_resources(void)
{
	const char *pki = tu_pki();
	const char *dir = tu_tmpdir();
	char *p_nope = strdup(tu_path(dir, "nope.crt")), *p_text = strdup(tu_path(dir, "text.pem"));
	char *p_cakey = strdup(tu_path(dir, "ca-as-key.pem")), *p_k = strdup(tu_path(dir, "k.key"));
	char *p_empty = strdup(tu_path(dir, "empty.pem"));
	char *srv_key = strdup(tu_path(pki, "server.key")), *cli_key = strdup(tu_path(pki, "client.key"));
	char *enc_key = strdup(tu_path(pki, "server-enc.key")), *ca = strdup(tu_path(pki, "ca.crt"));

	tu_write(p_text, "hello\n");
	tu_write(p_empty, "");
	tu_copy(ca, p_cakey, 0600);

	expect_file_error("server", "tunnel.cert_file", p_nope, NULL, NULL, "tunnel.cert_file",
			  "cannot read file: No such file or directory");
	/* no cascade: the key is not also reported as not matching */
	{
		char *q = quoted(cli_key);
		expect_file_error("server", "tunnel.cert_file", p_nope, "tunnel.key_file", q, "tunnel.cert_file",
				  "cannot read file: No such file or directory");
		free(q);
	}
	expect_file_error("server", "tunnel.cert_file", p_text, NULL, NULL, "tunnel.cert_file",
			  "is not a PEM certificate");
	expect_file_error("server", "tunnel.cert_file", srv_key, NULL, NULL, "tunnel.cert_file",
			  "is not a PEM certificate");
	expect_file_error("server", "tunnel.key_file", p_nope, NULL, NULL, "tunnel.key_file",
			  "cannot read file: No such file or directory");
	expect_file_error("server", "tunnel.key_file", p_text, NULL, NULL, "tunnel.key_file",
			  "is not a PEM private key");
	expect_file_error("server", "tunnel.key_file", p_cakey, NULL, NULL, "tunnel.key_file",
			  "is not a PEM private key");
	expect_file_error("server", "tunnel.key_file", cli_key, NULL, NULL, "tunnel.key_file",
			  "private key does not match tunnel.cert_file");
	expect_file_error("server", "tunnel.key_file", enc_key, NULL, NULL, "tunnel.key_file",
			  "private key is encrypted and tunnel.key_password is not set");
	expect_file_error("server", "tunnel.key_file", enc_key, "tunnel.key_password", "\"wrong-password\"",
			  "tunnel.key_file", "cannot decrypt private key with tunnel.key_password");
	expect_file_error("server", "tunnel.ca_file", p_nope, NULL, NULL, "tunnel.ca_file",
			  "cannot read file: No such file or directory");
	expect_file_error("server", "tunnel.ca_file", p_text, NULL, NULL, "tunnel.ca_file", "contains no certificate");
	expect_file_error("server", "tunnel.ca_file", srv_key, NULL, NULL, "tunnel.ca_file", "contains no certificate");
	expect_file_error("client", "tunnel.ca_file", p_empty, NULL, NULL, "tunnel.ca_file", "contains no certificate");

	/* the right password decrypts; the bytes kept are the file's */
	{
		char *q = quoted(enc_key), *conf = strdup(tu_path(dir, "enc.conf"));
		struct config *c = NULL;
		struct cfg_errors errs = { 0 };
		CU_ASSERT_EQUAL(load_kv(conf, "server", "tunnel.key_file", q, "tunnel.key_password",
					"\"test-password\"", &c, &errs), CFG_OK);
		dump_errors("unexpected", &errs);
		char *bytes = tu_read(enc_key);
		CU_ASSERT(c && bytes && c->key.len == strlen(bytes) && memcmp(c->key.data, bytes, c->key.len) == 0);
		CU_ASSERT(c && strcmp(c->tunnel.key_password, "test-password") == 0);
		free(bytes);
		cfg_unref(c);
		cfg_errors_free(&errs);
		free(q);
		free(conf);
	}

	/* the wrong password is never shown */
	{
		char *q = quoted(enc_key), *conf = strdup(tu_path(dir, "enc2.conf"));
		struct config *c = NULL;
		struct cfg_errors errs = { 0 };
		load_kv(conf, "server", "tunnel.key_file", q, "tunnel.key_password", "\"wrong-password\"", &c, &errs);
		CU_ASSERT_EQUAL(errs.n, 1);
		for (size_t i = 0; i < errs.n; i++) {
			char *s = fmt_error(&errs.v[i]);
			CU_ASSERT_PTR_NULL(strstr(s, "wrong-password"));
			free(s);
		}
		cfg_unref(c);
		cfg_errors_free(&errs);
		free(q);
		free(conf);
	}

	/* key file permissions: Debian's 0640 is fine */
	{
		char *q = quoted(p_k);
		tu_copy(srv_key, p_k, 0604);
		expect_file_error("server", "tunnel.key_file", p_k, NULL, NULL, "tunnel.key_file",
				  "private key file is readable by others (chmod o-r)");
		tu_copy(srv_key, p_k, 0660);
		expect_file_error("server", "tunnel.key_file", p_k, NULL, NULL, "tunnel.key_file",
				  "private key file is writable by group (chmod g-w)");
		tu_copy(srv_key, p_k, 0602);
		expect_file_error("server", "tunnel.key_file", p_k, NULL, NULL, "tunnel.key_file",
				  "private key file is writable by others (chmod o-w)");
		tu_copy(srv_key, p_k, 0640);
		expect_ok("server", "tunnel.key_file", q, NULL, NULL);
		tu_copy(srv_key, p_k, 0400);
		expect_ok("server", "tunnel.key_file", q, NULL, NULL);
		free(q);
	}

	free(p_nope);
	free(p_text);
	free(p_cakey);
	free(p_k);
	free(p_empty);
	free(srv_key);
	free(cli_key);
	free(enc_key);
	free(ca);
}

/* A successful load keeps the bytes of the three files. */
static void test_blobs(void)
{
	const char *pki = tu_pki();
	const char *dir = tu_tmpdir();
	char *conf = strdup(tu_path(dir, "t.conf"));
	struct config *c = NULL;
	struct cfg_errors errs = { 0 };
	char *crt = tu_read(tu_path(pki, "server.crt")), *key = tu_read(tu_path(pki, "server.key"));
	char *ca = tu_read(tu_path(pki, "ca.crt"));

	CU_ASSERT_EQUAL_FATAL(load_kv(conf, "server", NULL, NULL, NULL, NULL, &c, &errs), CFG_OK);
	CU_ASSERT(c->cert.len == strlen(crt) && memcmp(c->cert.data, crt, c->cert.len) == 0);
	CU_ASSERT(c->key.len == strlen(key) && memcmp(c->key.data, key, c->key.len) == 0);
	CU_ASSERT(c->ca.len == strlen(ca) && memcmp(c->ca.data, ca, c->ca.len) == 0);
	CU_ASSERT(c->text && strstr((char *)c->text, "mode = \"server\"") != NULL);
	CU_ASSERT_EQUAL(c->refs, 1);
	free(crt);
	free(key);
	free(ca);
	cfg_unref(c);
	cfg_errors_free(&errs);
	free(conf);
}

static void test_config_file_modes(void)
{
	const char *dir = tu_tmpdir();
	char *conf = strdup(tu_path(dir, "t.conf"));
	struct config *c = NULL;
	struct cfg_errors errs = { 0 };
	struct kv l;
	const struct cfg_error *e;

	kv_base(&l, "server");
	tu_write_kv(conf, l.v);
	chmod(conf, 0666);
	CU_ASSERT_EQUAL(load(conf, &c, &errs), CFG_ERR_INVALID);
	CU_ASSERT_EQUAL(errs.n, 1);
	e = find_error(&errs, NULL, "configuration file is writable by group or others");
	CU_ASSERT(e && strcmp(e->file, conf) == 0 && e->line == 0 && !e->value);
	cfg_errors_free(&errs);

	chmod(conf, 0620);
	CU_ASSERT_EQUAL(load(conf, &c, &errs), CFG_ERR_INVALID);
	CU_ASSERT_EQUAL(errs.n, 1);
	cfg_errors_free(&errs);

	chmod(conf, 0644);
	CU_ASSERT_EQUAL(load(conf, &c, &errs), CFG_OK);
	cfg_unref(c);
	c = NULL;
	cfg_errors_free(&errs);

	chmod(dir, 0770);
	CU_ASSERT_EQUAL(load(conf, &c, &errs), CFG_ERR_INVALID);
	CU_ASSERT_EQUAL(errs.n, 1);
	e = find_error(&errs, NULL, "configuration directory is writable by group or others");
	CU_ASSERT(e && strcmp(e->file, dir) == 0 && e->line == 0);
	cfg_errors_free(&errs);
	chmod(dir, 0700);

	kv_free(&l);
	free(conf);
}

/* ---- errors --------------------------------------------------------- */

static void test_multiple_errors(void)
{
	const char *dir = tu_tmpdir();
	char *conf = strdup(tu_path(dir, "t.conf"));
	struct config *c = NULL;
	struct cfg_errors errs = { 0 };
	struct kv l;

	kv_base(&l, "server");
	kv_set(&l, "tunnel.upload_kbps", "0");
	kv_set(&l, "logging.level", "\"loud\"");
	kv_set(&l, "bogus", "1");
	kv_set(&l, "tunnel.ca_file", NULL);
	kv_set(&l, "tunnel.cert_file", own(&l, "\"%s/nope.crt\"", dir));
	tu_write_kv(conf, l.v);
	CU_ASSERT_EQUAL(load(conf, &c, &errs), CFG_ERR_INVALID);
	CU_ASSERT_PTR_NULL(c);
	CU_ASSERT_EQUAL(errs.n, 5);
	CU_ASSERT_PTR_NOT_NULL(find_error(&errs, "tunnel.upload_kbps", "must be between 8 and 100000000"));
	CU_ASSERT_PTR_NOT_NULL(find_error(&errs, "logging.level", "must be one of: error, warning, info, debug"));
	CU_ASSERT_PTR_NOT_NULL(find_error(&errs, "bogus", "unknown setting"));
	CU_ASSERT_PTR_NOT_NULL(find_error(&errs, "tunnel.ca_file", "is required"));
	CU_ASSERT_PTR_NOT_NULL(find_error(&errs, "tunnel.cert_file", "cannot read file: No such file or directory"));

	/* errors are appended to what the list already holds */
	CU_ASSERT_EQUAL(load(conf, &c, &errs), CFG_ERR_INVALID);
	CU_ASSERT_EQUAL(errs.n, 10);
	cfg_errors_free(&errs);
	kv_free(&l);
	free(conf);
}

static void expect_format(const struct cfg_error *e, const char *want)
{
	char *s = fmt_error(e);

	if (strcmp(s, want) != 0)
		fprintf(stderr, "\n    got  \"%s\"\n    want \"%s\"", s, want);
	CU_ASSERT_STRING_EQUAL(s, want);
	free(s);
}

static void test_error_format(void)
{
	struct cfg_errors errs = { 0 }, copy = { 0 };

	cfg_errors_add(&errs, "sssonector.conf", 12, "tunnel.upload_kbps", "0", "must be between %d and %d", 8,
		       100000000);
	cfg_errors_add(&errs, "sssonector.conf", 0, "tunnel.ca_file", NULL, "is required");
	cfg_errors_add(&errs, "sssonector.conf", 3, NULL, NULL, "syntax error");
	cfg_errors_add(&errs, NULL, 0, NULL, NULL, "bare");
	cfg_errors_add(&errs, "a.conf", 0, NULL, "x", "m");
	expect_format(&errs.v[0], "sssonector.conf:12: tunnel.upload_kbps: must be between 8 and 100000000 (got: 0)");
	expect_format(&errs.v[1], "sssonector.conf: tunnel.ca_file: is required");
	expect_format(&errs.v[2], "sssonector.conf:3: syntax error");
	expect_format(&errs.v[3], "bare");
	expect_format(&errs.v[4], "a.conf: m (got: x)");

	cfg_errors_append(&copy, &errs);
	CU_ASSERT_EQUAL(copy.n, 5);
	expect_format(&copy.v[0], "sssonector.conf:12: tunnel.upload_kbps: must be between 8 and 100000000 (got: 0)");
	cfg_errors_append(&copy, &copy);
	CU_ASSERT_EQUAL(copy.n, 10);
	cfg_errors_clear(&errs);
	CU_ASSERT_EQUAL(errs.n, 0);
	cfg_errors_add(&errs, "b", 1, "k", NULL, "again");
	expect_format(&errs.v[0], "b:1: k: again");
	cfg_errors_free(&errs);
	cfg_errors_free(&copy);
	CU_ASSERT_PTR_NULL(errs.v);
}

static void test_parse_and_io_errors(void)
{
	const char *dir = tu_tmpdir();
	char *conf = strdup(tu_path(dir, "t.conf")), *missing = strdup(tu_path(dir, "missing.conf"));
	struct config *c = (struct config *)&c;
	struct cfg_errors errs = { 0 };
	static const char bad[] = "mode = \"server\";\ntunnel = {\n  listen = ;\n};\n";

	tu_write(conf, bad);
	CU_ASSERT_EQUAL(load(conf, &c, &errs), CFG_ERR_PARSE);
	CU_ASSERT_PTR_NULL(c);
	CU_ASSERT_EQUAL_FATAL(errs.n, 1);
	CU_ASSERT_STRING_EQUAL(errs.v[0].file, conf);
	CU_ASSERT_EQUAL(errs.v[0].line, 3);
	CU_ASSERT_PTR_NULL(errs.v[0].key);
	CU_ASSERT_STRING_EQUAL(errs.v[0].message, "syntax error");
	cfg_errors_free(&errs);

	/* the same bytes given as text, for a path that does not exist */
	CU_ASSERT_EQUAL(cfg_load(missing, bad, strlen(bad), &c, &errs), CFG_ERR_PARSE);
	CU_ASSERT(errs.n == 1 && strcmp(errs.v[0].file, missing) == 0 && errs.v[0].line == 3);
	cfg_errors_free(&errs);

	CU_ASSERT_EQUAL(load(missing, &c, &errs), CFG_ERR_IO);
	CU_ASSERT_PTR_NULL(c);
	CU_ASSERT(errs.n == 1 && strcmp(errs.v[0].file, missing) == 0 && errs.v[0].line == 0 && !errs.v[0].key &&
		  strcmp(errs.v[0].message, "cannot read file: No such file or directory") == 0);
	cfg_errors_free(&errs);

	/* duplicate keys are libconfig's parse errors */
	tu_write(conf, "mode = \"server\";\nmode = \"client\";\n");
	CU_ASSERT_EQUAL(load(conf, &c, &errs), CFG_ERR_PARSE);
	CU_ASSERT(errs.n == 1 && errs.v[0].line == 2);
	cfg_errors_free(&errs);

	/* a NUL byte would cut the text short without a word */
	CU_ASSERT_EQUAL(cfg_load(conf, "mode = \"server\";\n\0x", 19, &c, &errs), CFG_ERR_PARSE);
	CU_ASSERT(errs.n == 1 && errs.v[0].line == 2 && strcmp(errs.v[0].message, "contains a NUL byte") == 0);
	cfg_errors_free(&errs);

	/* a valid text for a file that does not exist (rollback, SNMP) */
	{
		struct kv l;
		kv_base(&l, "server");
		tu_write_kv(conf, l.v);
		char *text = tu_read(conf);
		CU_ASSERT_EQUAL(cfg_load(missing, text, strlen(text), &c, &errs), CFG_OK);
		dump_errors("unexpected", &errs);
		CU_ASSERT(c && strcmp(c->path, missing) == 0 && c->text_len == strlen(text));
		cfg_unref(c);
		free(text);
		kv_free(&l);
		cfg_errors_free(&errs);
	}
	free(conf);
	free(missing);
}

/* Group-level mistakes are one error, not one per key inside. */
static void test_groups(void)
{
	const char *pki = tu_pki();
	const char *dir = tu_tmpdir();
	char *conf = strdup(tu_path(dir, "t.conf"));
	struct config *c = NULL;
	struct cfg_errors errs = { 0 };
	char buf[2048];
	const struct cfg_error *e;

	snprintf(buf, sizeof(buf), "mode = \"server\";\ntunnel = 5;\nforward = { target = \"127.0.0.1:1\"; };\n");
	tu_write(conf, buf);
	CU_ASSERT_EQUAL(load(conf, &c, &errs), CFG_ERR_INVALID);
	e = find_error(&errs, "tunnel", "must be a group");
	CU_ASSERT(errs.n == 1 && e && e->line == 2 && strcmp(e->value, "5") == 0);
	cfg_errors_free(&errs);

	snprintf(buf, sizeof(buf),
		 "mode = \"server\";\ntunnel = { listen = \"127.0.0.1:2\"; cert_file = \"%s/server.crt\";\n"
		 "key_file = \"%s/server.key\"; ca_file = \"%s/ca.crt\"; };\n"
		 "forward = { target = \"127.0.0.1:1\"; };\nthrottle = ( 1 );\n",
		 pki, pki, pki);
	tu_write(conf, buf);
	CU_ASSERT_EQUAL(load(conf, &c, &errs), CFG_ERR_INVALID);
	e = find_error(&errs, "throttle", "must be a group");
	CU_ASSERT(errs.n == 1 && e && e->line == 5 && strcmp(e->value, "( 1 )") == 0);
	cfg_errors_free(&errs);

	/* several settings on one line: each is found where it is */
	snprintf(buf, sizeof(buf),
		 "mode = \"server\";\ntunnel = { listen = \"127.0.0.1:2\"; cert_file = \"%s/server.crt\";\n"
		 "key_file = \"%s/server.key\"; ca_file = \"%s/ca.crt\"; max_clients = 3; upload_kbps = 4294967304; };\n"
		 "forward = { target = \"127.0.0.1:1\"; };\n",
		 pki, pki, pki);
	tu_write(conf, buf);
	CU_ASSERT_EQUAL(load(conf, &c, &errs), CFG_ERR_INVALID);
	e = find_error(&errs, "tunnel.upload_kbps", "must be between 8 and 100000000");
	CU_ASSERT(errs.n == 1 && e && e->line == 3 && strcmp(e->value, "4294967304") == 0);
	cfg_errors_free(&errs);
	free(conf);
}

/* ---- @include ------------------------------------------------------- */

static void write_include_pair(const char *dir, const char *inc_name, const char *inc_extra)
{
	const char *pki = tu_pki();
	char buf[4096];

	snprintf(buf, sizeof(buf),
		 "# main file\nmode = \"server\";\n@include \"%s\"\nforward = { target = \"127.0.0.1:5201\"; };\n",
		 inc_name);
	tu_write(tu_path(dir, "main.conf"), buf);
	snprintf(buf, sizeof(buf),
		 "tunnel = {\n"
		 "  listen = \"127.0.0.1:44300\";\n"
		 "  cert_file = \"%s/server.crt\";\n"
		 "  key_file = \"%s/server.key\";\n"
		 "  ca_file = \"%s/ca.crt\";\n"
		 "%s\n"
		 "};\n",
		 pki, pki, pki, inc_extra);
	tu_write(tu_path(dir, inc_name), buf);
}

static void test_include(void)
{
	const char *dir = tu_tmpdir();
	char *conf = strdup(tu_path(dir, "main.conf")), *inc = strdup(tu_path(dir, "tunnel.inc"));
	char *sub = strdup(tu_path(dir, "conf.d/t.inc"));
	struct config *c = NULL;
	struct cfg_errors errs = { 0 };
	size_t up = cfg_setting_index(cfg_setting_find("tunnel.upload_kbps"));
	size_t mode = cfg_setting_index(cfg_setting_find("mode"));
	const struct cfg_error *e;

	/* values come from the included file, and are located there */
	write_include_pair(dir, "tunnel.inc", "  upload_kbps = 5000;");
	CU_ASSERT_EQUAL_FATAL(load(conf, &c, &errs), CFG_OK);
	CU_ASSERT_EQUAL(c->tunnel.upload_kbps, 5000);
	CU_ASSERT_STRING_EQUAL(c->src[up], inc);
	CU_ASSERT_EQUAL(c->line[up], 6);
	CU_ASSERT_STRING_EQUAL(c->src[mode], conf);
	CU_ASSERT_EQUAL(c->line[mode], 2);
	CU_ASSERT_EQUAL_FATAL(c->n_includes, 1);
	CU_ASSERT_STRING_EQUAL(c->includes[0].path, inc);
	char *bytes = tu_read(inc);
	CU_ASSERT(c->includes[0].blob.len == strlen(bytes) && memcmp(c->includes[0].blob.data, bytes, strlen(bytes)) == 0);
	free(bytes);
	cfg_unref(c);

	/* an error in the included file points at it */
	write_include_pair(dir, "tunnel.inc", "  upload_kbps = 0;");
	CU_ASSERT_EQUAL(load(conf, &c, &errs), CFG_ERR_INVALID);
	e = find_error(&errs, "tunnel.upload_kbps", "must be between 8 and 100000000");
	CU_ASSERT(errs.n == 1 && e && strcmp(e->file, inc) == 0 && e->line == 6);
	cfg_errors_free(&errs);

	/* so does a syntax error */
	write_include_pair(dir, "tunnel.inc", "  upload_kbps = ;");
	CU_ASSERT_EQUAL(load(conf, &c, &errs), CFG_ERR_PARSE);
	CU_ASSERT(errs.n == 1 && strcmp(errs.v[0].file, inc) == 0 && errs.v[0].line == 6);
	cfg_errors_free(&errs);

	/* a missing included file */
	tu_write(conf, "mode = \"server\";\n@include \"nothere.inc\"\n");
	CU_ASSERT_EQUAL(load(conf, &c, &errs), CFG_ERR_PARSE);
	CU_ASSERT(errs.n == 1 &&
		  strcmp(errs.v[0].message, "cannot open include file \"nothere.inc\": No such file or directory") == 0 &&
		  errs.v[0].line == 2 && strcmp(errs.v[0].file, conf) == 0);
	cfg_errors_free(&errs);

	/* in a subdirectory, relative to the main file's directory; checked
	 * for permissions like the main file */
	mkdir(tu_path(dir, "conf.d"), 0700);
	write_include_pair(dir, "conf.d/t.inc", "  max_clients = 7;");
	CU_ASSERT_EQUAL(load(conf, &c, &errs), CFG_OK);
	CU_ASSERT(c && c->tunnel.max_clients == 7 && c->n_includes == 1 && strcmp(c->includes[0].path, sub) == 0);
	cfg_unref(c);
	chmod(sub, 0664);
	CU_ASSERT_EQUAL(load(conf, &c, &errs), CFG_ERR_INVALID);
	e = find_error(&errs, NULL, "configuration file is writable by group or others");
	CU_ASSERT(errs.n == 1 && e && strcmp(e->file, sub) == 0);
	cfg_errors_free(&errs);

	free(conf);
	free(inc);
	free(sub);
}

/* ---- restart-only changes ------------------------------------------- */

/* Load a main file "mode...\n" + body + forward/tunnel from an include,
 * expecting status; the first error must contain want (when given). */
static void include_case(const char *dir, const char *body, enum cfg_status status, const char *want,
			 int want_line)
{
	char *conf = strdup(tu_path(dir, "main.conf"));
	struct config *c = NULL;
	struct cfg_errors errs = { 0 };
	struct sbuf text = { 0 };

	sbuf_printf(&text, "mode = \"server\";\n@include \"tunnel.inc\"\n%s", body);
	tu_write(conf, sbuf_str(&text));
	enum cfg_status st = load(conf, &c, &errs);
	CU_ASSERT_EQUAL(st, status);
	if (want) {
		CU_ASSERT(errs.n >= 1 && strstr(errs.v[0].message, want) && errs.v[0].line == want_line);
		if (!(errs.n >= 1 && strstr(errs.v[0].message, want) && errs.v[0].line == want_line)) {
			fprintf(stderr, "\ncase %s: status %d, want \"%s\" at line %d\n", body, st, want, want_line);
			dump_errors("include_case", &errs);
		}
	} else if (st != CFG_OK) {
		dump_errors("include_case", &errs);
	}
	cfg_unref(c);
	cfg_errors_free(&errs);
	sbuf_free(&text);
	free(conf);
}

/* What libconfig 1.5 would do with these kills or hangs the daemon (flex's
 * exit() on a directory, a blocking read of a FIFO) or silently accepts
 * the wrong thing; every one is a clear error at the directive here. */
static void test_include_hostile(void)
{
	const char *dir = tu_tmpdir();
	char big[CFG_FILE_MAX + 2];

	write_include_pair(dir, "tunnel.inc", "");
	tu_write(tu_path(dir, "empty.inc"), "");
	include_case(dir, "forward = { target = \"127.0.0.1:5201\"; };\n", CFG_OK, NULL, 0);
	/* The directory itself, ".", "/" and a subdirectory. */
	mkdir(tu_path(dir, "sub"), 0700);
	include_case(dir, "@include \"\"\n", CFG_ERR_INVALID, "is a directory, not a regular file", 3);
	include_case(dir, "@include \".\"\n", CFG_ERR_INVALID, "is a directory, not a regular file", 3);
	include_case(dir, "@include \"/\"\n", CFG_ERR_INVALID, "is a directory, not a regular file", 3);
	include_case(dir, "\n  @include \"sub\"\n", CFG_ERR_INVALID, "is a directory, not a regular file", 4);
	/* A FIFO (nobody writes it: the load must not block), devices. */
	CU_ASSERT_EQUAL(mkfifo(tu_path(dir, "fifo.inc"), 0600), 0);
	include_case(dir, "@include \"fifo.inc\"\n", CFG_ERR_INVALID, "is a FIFO, not a regular file", 3);
	include_case(dir, "@include \"/dev/zero\"\n", CFG_ERR_INVALID, "is a device, not a regular file", 3);
	CU_ASSERT_EQUAL(symlink("/dev/zero", tu_path(dir, "zero.inc")), 0);
	include_case(dir, "@include \"zero.inc\"\n", CFG_ERR_INVALID, "is a device, not a regular file", 3);
	include_case(dir, "@include \"/dev/stdin\"\n", CFG_ERR_INVALID, "not a regular file", 3);
	/* Too large. */
	memset(big, '#', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	tu_write(tu_path(dir, "big.inc"), big);
	include_case(dir, "@include \"big.inc\"\n", CFG_ERR_INVALID, "is larger than 262144 bytes", 3);
	/* Nesting: a file that includes itself. */
	tu_write(tu_path(dir, "loop.inc"), "@include \"loop.inc\"\n");
	include_case(dir, "@include \"loop.inc\"\n", CFG_ERR_PARSE, "include file nesting too deep", 1);
	/* Unterminated at the end of the file: libconfig 1.5 accepts all
	 * three and drops the rest of the file. */
	include_case(dir, "forward = { target = \"127.0.0.1:5201\"; };\n/* old settings:\nthrottle = { enabled = true; };\n",
		     CFG_ERR_PARSE, "unterminated comment", 4);
	include_case(dir, "forward = { target = \"127.0.0.1:5201\"; };\n\"\n", CFG_ERR_PARSE, "unterminated string", 4);
	include_case(dir, "forward = { target = \"127.0.0.1:5201\"; };\n@include \"x\n", CFG_ERR_PARSE,
		     "unterminated @include", 4);
	/* A NUL byte in an included file. */
	tu_write(tu_path(dir, "nul.inc"), "a = 1;\n");
	FILE *f = fopen(tu_path(dir, "nul.inc"), "a");
	fputc('\0', f);
	fclose(f);
	include_case(dir, "@include \"nul.inc\"\n", CFG_ERR_PARSE, "contains a NUL byte", 2);
	/* Not at the start of a line: not a directive (libconfig: a syntax
	 * error on the "@"), so nothing is opened. */
	include_case(dir, "forward = { target = \"127.0.0.1:5201\"; }; @include \"/dev/zero\"\n", CFG_ERR_PARSE,
		     "syntax error", 3);
	/* In a comment or a string: not a directive either. */
	include_case(dir, "/*\n@include \"/dev/zero\"\n*/ forward = { target = \"127.0.0.1:5201\"; };\n", CFG_OK,
		     NULL, 0);
	/* An empty file, an absolute path, and the rest of the directive's line
	 * read on (a closing brace there closes the group). */
	include_case(dir, "@include \"empty.inc\"\nforward = { target = \"127.0.0.1:5201\"; };", CFG_OK, NULL, 0);
	char abs[700];
	snprintf(abs, sizeof(abs), "forward = {\n@include \"%s\" };\n", tu_path(dir, "target.inc"));
	tu_write(tu_path(dir, "target.inc"), "target = \"127.0.0.1:5201\"; # no newline at the end");
	include_case(dir, abs, CFG_OK, NULL, 0);
	/* ... and a mistake after the directive is located on its line. */
	snprintf(abs, sizeof(abs), "forward = {\n@include \"%s\" }; oops = ;\n", tu_path(dir, "target.inc"));
	include_case(dir, abs, CFG_ERR_PARSE, "syntax error", 4);
	/* A last line that is a comment without a newline (a syntax error
	 * in libconfig 1.5). */
	include_case(dir, "forward = { target = \"127.0.0.1:5201\"; }; # the end", CFG_OK, NULL, 0);
	/* A second directive after the first on its line is not read as text
	 * that libconfig would then take for a directive. */
	include_case(dir, "@include \"empty.inc\" @include \"/dev/zero\"\n", CFG_ERR_PARSE,
		     "@include must be the first thing on its line", 3);
	unlink(tu_path(dir, "fifo.inc"));
}

/* libconfig 1.5 leaks the string a syntax error discards; the syntax is
 * checked on a text without strings first, so this program's leak check
 * (LeakSanitizer in the sanitizer build) stays quiet, and the error is
 * on the right line. */
static void test_syntax_error_after_strings(void)
{
	const char *dir = tu_tmpdir();
	char *conf = strdup(tu_path(dir, "s.conf"));
	struct config *c = NULL;
	struct cfg_errors errs = { 0 };

	tu_write(conf, "mode = \"server\";\nx = \"a long string\"\n  \"and another\n over two lines\" }\n");
	CU_ASSERT_EQUAL(load(conf, &c, &errs), CFG_ERR_PARSE);
	CU_ASSERT(errs.n == 1 && strcmp(errs.v[0].message, "syntax error") == 0 && errs.v[0].line == 4);
	cfg_errors_free(&errs);
	tu_write(conf, "n\"\"\"\"\"\"\"\"dede");
	CU_ASSERT_EQUAL(load(conf, &c, &errs), CFG_ERR_PARSE);
	cfg_errors_free(&errs);
	free(conf);
}

static struct config *must_load(const char *base, const char *k1, const char *v1, const char *k2,
				const char *v2)
{
	const char *dir = scratch();
	char *conf = strdup(tu_path(dir, "t.conf"));
	struct config *c = NULL;
	struct cfg_errors errs = { 0 };

	if (load_kv(conf, base, k1, v1, k2, v2, &c, &errs) != CFG_OK)
		dump_errors("must_load", &errs);
	CU_ASSERT_PTR_NOT_NULL(c);
	cfg_errors_free(&errs);
	free(conf);
	return c;
}

static void expect_restart(const char *base_a, const char *base_b, const char *k, const char *v,
			   const char *key, const char *got, int n)
{
	struct config *a = must_load(base_a, NULL, NULL, NULL, NULL);
	struct config *b = must_load(base_b, k, v, NULL, NULL);
	struct cfg_errors errs = { 0 };

	if (!a || !b)
		goto out;
	CU_ASSERT_EQUAL(cfg_check_change(a, b, &errs), n);
	CU_ASSERT_EQUAL(errs.n, (size_t)n);
	const struct cfg_error *e = find_error(&errs, key, "cannot change while running (restart required)");
	CU_ASSERT(e && e->value && strcmp(e->value, got) == 0);
	if (e && k && strcmp(k, key) == 0)
		CU_ASSERT(e->line > 0 && strcmp(e->file, b->path) == 0);
	cfg_errors_free(&errs);
out:
	cfg_unref(a);
	cfg_unref(b);
}

static void test_check_change(void)
{
	expect_restart("server", "client", NULL, NULL, "mode", "\"client\"", 1);
	/* forward -> tun also gives the TUN device an address */
	expect_restart("server", "stun", NULL, NULL, "transport", "\"tun\"", 2);
	expect_restart("server", "stun", NULL, NULL, "network.address", "\"10.9.0.1/24\"", 2);
	expect_restart("stun", "stun", "network.interface", "\"tun1\"", "network.interface", "\"tun1\"", 1);
	expect_restart("stun", "stun", "network.address", "\"10.9.9.1/24\"", "network.address", "\"10.9.9.1/24\"", 1);
	expect_restart("server", "server", "monitor.agentx_socket", "\"tcp:localhost:705\"", "monitor.agentx_socket",
		       "\"tcp:localhost:705\"", 1);

	/* hot keys pass */
	static const char *const hot[][2] = {
		{ "tunnel.upload_kbps", "5000" },         { "tunnel.download_kbps", "5000" },
		{ "throttle.enabled", "true" },           { "throttle.burst_ms", "50" },
		{ "tunnel.listen", "\"127.0.0.1:1\"" },   { "forward.target", "\"127.0.0.1:2\"" },
		{ "tunnel.max_clients", "3" },            { "tunnel.keepalive_s", "0" },
		{ "tunnel.tls_min_version", "\"1.2\"" },  { "tunnel.handshake_timeout_ms", "100" },
		{ "tunnel.allowed_peers", "[ \"a\" ]" },  { "logging.level", "\"debug\"" },
		{ "monitor.snmp_enabled", "false" },      { "monitor.agentx_ping_s", "1" },
		{ "monitor.notifications", "false" },     { "reload.watch", "false" },
		{ "reload.debounce_ms", "0" },            { "reload.history", "1" },
		{ "tunnel.key_password", "\"x\"" },
	};
	struct config *a = must_load("server", NULL, NULL, NULL, NULL);
	for (size_t i = 0; i < sizeof(hot) / sizeof(hot[0]); i++) {
		struct config *b = must_load("server", hot[i][0], hot[i][1], NULL, NULL);
		struct cfg_errors errs = { 0 };
		struct sbuf keys = { 0 };
		CU_ASSERT(b && cfg_check_change(a, b, &errs) == 0 && errs.n == 0);
		/* and they are a change */
		CU_ASSERT(b && cfg_diff(a, b, NULL, &keys) == 1 && strcmp(sbuf_str(&keys), hot[i][0]) == 0);
		sbuf_free(&keys);
		cfg_errors_free(&errs);
		cfg_unref(b);
	}
	struct config *cl = must_load("client", NULL, NULL, NULL, NULL);
	struct config *cl2 = must_load("client", "tunnel.server", "\"example.com:1\"", "forward.listen",
				       "\"127.0.0.1:1\"");
	struct cfg_errors errs = { 0 };
	CU_ASSERT(cl && cl2 && cfg_check_change(cl, cl2, &errs) == 0);
	cfg_errors_free(&errs);
	cfg_unref(cl);
	cfg_unref(cl2);
	cfg_unref(a);

	/* the table's restart keys are exactly these */
	struct sbuf r = { 0 };
	for (size_t i = 0; i < cfg_n_settings; i++)
		if (cfg_settings[i].flags & CFG_F_RESTART)
			sbuf_printf(&r, "%s ", cfg_settings[i].key);
	CU_ASSERT_STRING_EQUAL(sbuf_str(&r), "mode transport user network.interface network.address "
					     "monitor.agentx_socket reload.state_dir ");
	sbuf_free(&r);
}

/* ---- what changed --------------------------------------------------- */

static void expect_diff(const struct config *a, const struct config *b, int n, const char *audit,
			const char *keys)
{
	struct sbuf au = { 0 }, k = { 0 };

	CU_ASSERT_EQUAL(cfg_diff(a, b, &au, &k), n);
	if (strcmp(sbuf_str(&au), audit) != 0)
		fprintf(stderr, "\n    audit \"%s\", want \"%s\"", sbuf_str(&au), audit);
	CU_ASSERT_STRING_EQUAL(sbuf_str(&au), audit);
	CU_ASSERT_STRING_EQUAL(sbuf_str(&k), keys);
	CU_ASSERT_EQUAL(cfg_diff(a, b, NULL, NULL), n);
	sbuf_free(&au);
	sbuf_free(&k);
}

static void test_diff(void)
{
	const char *dir = tu_tmpdir();
	char *conf = strdup(tu_path(dir, "t.conf"));
	struct config *a = must_load("server", NULL, NULL, NULL, NULL), *b;
	struct cfg_errors errs = { 0 };

	/* a comment-only edit: nothing changed, same hash */
	{
		struct kv l;
		kv_base(&l, "server");
		tu_write_kv(conf, l.v);
		char *text = tu_read(conf), *edited;
		if (asprintf(&edited, "# a comment\n%s// another\n/* and a block */\n", text) < 0)
			abort();
		tu_write(conf, edited);
		CU_ASSERT_EQUAL(load(conf, &b, &errs), CFG_OK);
		expect_diff(a, b, 0, "", "");
		CU_ASSERT(memcmp(a->hash, b->hash, SHA256_LEN) == 0);
		cfg_unref(b);
		free(text);
		free(edited);
		kv_free(&l);
	}

	/* startup: nothing to compare with */
	expect_diff(NULL, a, 0, "", "");
	CU_ASSERT_EQUAL(cfg_check_change(NULL, a, &errs), 0);
	CU_ASSERT_EQUAL(errs.n, 0);

	/* values: audit text in table order, strings without quotes */
	b = must_load("server", "logging.level", "\"debug\"", "tunnel.upload_kbps", "5000");
	expect_diff(a, b, 2, "tunnel.upload_kbps:10000->5000,logging.level:info->debug",
		    "tunnel.upload_kbps,logging.level");
	CU_ASSERT(memcmp(a->hash, b->hash, SHA256_LEN) != 0);
	expect_diff(b, a, 2, "tunnel.upload_kbps:5000->10000,logging.level:debug->info",
		    "tunnel.upload_kbps,logging.level");
	cfg_unref(b);

	b = must_load("server", "tunnel.allowed_peers", "[ \"a\", \"b\" ]", "throttle.enabled", "true");
	expect_diff(a, b, 2, "tunnel.allowed_peers:[]->[a,b],throttle.enabled:false->true",
		    "tunnel.allowed_peers,throttle.enabled");
	cfg_unref(b);

	/* secrets are masked, set or not */
	{
		struct config *s1 = must_load("server", "tunnel.key_password", "\"first-secret\"", NULL, NULL);
		struct config *s2 = must_load("server", "tunnel.key_password", "\"second-secret\"", NULL, NULL);
		expect_diff(s1, s2, 1, "tunnel.key_password:********->********", "tunnel.key_password");
		expect_diff(a, s1, 1, "tunnel.key_password:(unset)->********", "tunnel.key_password");
		CU_ASSERT(memcmp(s1->hash, s2->hash, SHA256_LEN) != 0);
		cfg_unref(s1);
		cfg_unref(s2);
	}
	cfg_unref(a);

	/* a certificate rewritten in place (rotation) is a change */
	{
		const char *pki = tu_pki();
		char *crt = strdup(tu_path(dir, "s.crt")), *key = strdup(tu_path(dir, "s.key"));
		char *qc = quoted(crt), *qk = quoted(key), cmd[2048];
		tu_copy(tu_path(pki, "server.crt"), crt, 0644);
		tu_copy(tu_path(pki, "server.key"), key, 0600);
		a = must_load("server", "tunnel.cert_file", qc, "tunnel.key_file", qk);
		snprintf(cmd, sizeof(cmd),
			 "openssl req -x509 -new -key '%s' -subj /CN=rotated -days 1 -out '%s' 2>/dev/null", key, crt);
		CU_ASSERT_EQUAL_FATAL(system(cmd), 0);
		b = must_load("server", "tunnel.cert_file", qc, "tunnel.key_file", qk);
		expect_diff(a, b, 1, "tunnel.cert_file(content)", "tunnel.cert_file");
		CU_ASSERT(memcmp(a->hash, b->hash, SHA256_LEN) != 0);
		/* the same key in another encoding: other bytes, still matching */
		snprintf(cmd, sizeof(cmd), "openssl ec -in '%s' -out '%s.ec' 2>/dev/null && mv '%s.ec' '%s' && chmod 600 '%s'",
			 key, key, key, key, key);
		CU_ASSERT_EQUAL_FATAL(system(cmd), 0);
		struct config *k2 = must_load("server", "tunnel.cert_file", qc, "tunnel.key_file", qk);
		if (k2) {
			expect_diff(b, k2, 1, "tunnel.key_file(content)", "tunnel.key_file");
			CU_ASSERT(memcmp(b->hash, k2->hash, SHA256_LEN) != 0);
		}
		cfg_unref(k2);
		/* a different path to other content: the value change says it */
		struct config *d = must_load("server", NULL, NULL, NULL, NULL);
		struct sbuf au = { 0 };
		CU_ASSERT_EQUAL(cfg_diff(b, d, &au, NULL), 2);
		CU_ASSERT(strstr(sbuf_str(&au), "(content)") == NULL);
		sbuf_free(&au);
		cfg_unref(d);
		cfg_unref(a);
		cfg_unref(b);
		free(crt);
		free(key);
		free(qc);
		free(qk);
	}
	free(conf);
}

/* ---- the hash ------------------------------------------------------- */

static void test_hash(void)
{
	struct config *a = must_load("server", NULL, NULL, NULL, NULL);
	struct config *b = must_load("server", NULL, NULL, NULL, NULL);
	/* a default written out is the same effective configuration */
	struct config *d = must_load("server", "tunnel.max_clients", "10", "logging.level", "\"info\"");
	struct config *e = must_load("server", "tunnel.max_clients", "11", NULL, NULL);
	struct config *s1 = must_load("server", "tunnel.key_password", "\"x\"", NULL, NULL);
	struct config *s2 = must_load("server", "tunnel.key_password", "\"y\"", NULL, NULL);
	/* a CA file rewritten in place: only its content differs */
	{
		const char *dir = tu_tmpdir();
		char *ca = strdup(tu_path(dir, "ca.pem")), *qca = quoted(ca);
		tu_copy(tu_path(tu_pki(), "ca.crt"), ca, 0644);
		struct config *c1 = must_load("server", "tunnel.ca_file", qca, NULL, NULL);
		tu_copy(tu_path(tu_pki(), "other-ca.crt"), ca, 0644);
		struct config *c2 = must_load("server", "tunnel.ca_file", qca, NULL, NULL);
		CU_ASSERT(c1 && c2 && memcmp(c1->hash, c2->hash, SHA256_LEN) != 0);
		if (c1 && c2)
			expect_diff(c1, c2, 1, "tunnel.ca_file(content)", "tunnel.ca_file");
		cfg_unref(c1);
		cfg_unref(c2);
		free(ca);
		free(qca);
	}
	/* another CA file */
	char *q = quoted(tu_path(tu_pki(), "other-ca.crt"));
	struct config *f = must_load("server", "tunnel.ca_file", q, NULL, NULL);

	CU_ASSERT(memcmp(a->hash, b->hash, SHA256_LEN) == 0);
	CU_ASSERT(memcmp(a->hash, d->hash, SHA256_LEN) == 0);
	CU_ASSERT_EQUAL(cfg_diff(a, d, NULL, NULL), 0);
	CU_ASSERT(memcmp(a->hash, e->hash, SHA256_LEN) != 0);
	CU_ASSERT(memcmp(a->hash, s1->hash, SHA256_LEN) != 0);
	CU_ASSERT(memcmp(s1->hash, s2->hash, SHA256_LEN) != 0);
	CU_ASSERT(memcmp(a->hash, f->hash, SHA256_LEN) != 0);
	free(q);
	cfg_unref(a);
	cfg_unref(b);
	cfg_unref(d);
	cfg_unref(e);
	cfg_unref(s1);
	cfg_unref(s2);
	cfg_unref(f);
}

/* ---- --print-config ------------------------------------------------- */

static char *print_to_string(const struct config *c)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	cfg_print(c, f);
	fclose(f);
	return buf;
}

static void roundtrip(const char *base, const char *k1, const char *v1, const char *k2, const char *v2)
{
	struct config *a = must_load(base, k1, v1, k2, v2), *b = NULL;
	const char *dir = scratch();
	char *path = strdup(tu_path(dir, "printed.conf"));
	struct cfg_errors errs = { 0 };

	if (!a)
		goto out;
	char *text = print_to_string(a);
	tu_write(path, text);
	CU_ASSERT_EQUAL(load(path, &b, &errs), CFG_OK);
	if (errs.n) {
		dump_errors("reloaded", &errs);
		fprintf(stderr, "\n%s", text);
	}
	CU_ASSERT(b && memcmp(a->hash, b->hash, SHA256_LEN) == 0 && cfg_diff(a, b, NULL, NULL) == 0);
	free(text);
out:
	cfg_unref(a);
	cfg_unref(b);
	cfg_errors_free(&errs);
	free(path);
}

static void test_print(void)
{
	roundtrip("server", NULL, NULL, NULL, NULL);
	roundtrip("server", "tunnel.upload_kbps", "5000", "tunnel.allowed_peers", "[ \"cn:a\\\"b\", \"cn:c\\\\d\" ]");
	roundtrip("server", "throttle.enabled", "true", "logging.level", "\"debug\"");
	roundtrip("client", NULL, NULL, NULL, NULL);
	roundtrip("client", "tunnel.server", "\"[::1]:443\"", "tunnel.keepalive_s", "0");
	roundtrip("stun", "network.interface", "\"sss1\"", NULL, NULL);
	roundtrip("ctun", "network.mtu", "9000", NULL, NULL);

	/* what it looks like */
	struct config *c = must_load("client", "tunnel.key_password", "\"hunter2\"", NULL, NULL);
	char *text = print_to_string(c);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "\nmode = \"client\";\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "\ntunnel = {\n  server = \"localhost:44300\";\n  server_name = \"localhost\";\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "  key_password = \"********\";\n"));
	CU_ASSERT_PTR_NULL(strstr(text, "hunter2"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "  upload_kbps = 10000;\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "  # max_clients = 10;  (only used when mode = \"server\")\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "\nnetwork = {\n  # interface = \"tun0\";  (only used when transport = \"tun\")\n"
					    "  # mtu = 1500;  (only used when transport = \"tun\")\n};\n"));
	CU_ASSERT_PTR_NULL(strstr(text, "address"));
	CU_ASSERT_PTR_NULL(strstr(text, "tunnel = {\n  listen"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "\nforward = {\n  listen = \"127.0.0.1:5000\";\n  max_streams = 1024;\n"
					    "  idle_timeout_s = 0;\n};\n"));
	CU_ASSERT(text[0] == '#');
	free(text);
	cfg_unref(c);
}

/* ---- defaults and derived values ------------------------------------ */

static void test_defaults(void)
{
	struct config *c = must_load("server", NULL, NULL, NULL, NULL);
	int written = 0;

	if (!c)
		return;
	CU_ASSERT_EQUAL(c->mode, CFG_MODE_SERVER);
	CU_ASSERT_EQUAL(c->transport, CFG_TRANSPORT_FORWARD);
	CU_ASSERT_EQUAL(c->tunnel.max_clients, 10);
	CU_ASSERT_EQUAL(c->tunnel.handshake_timeout_ms, 5000);
	CU_ASSERT_EQUAL(c->tunnel.max_pending, 512);
	CU_ASSERT_EQUAL(c->tunnel.max_pending_per_source, 16);
	CU_ASSERT(str_is(c->tunnel.tls_groups, "X25519:P-256:P-384"));
	CU_ASSERT_EQUAL(c->forward.max_streams, 1024);
	CU_ASSERT_EQUAL(c->forward.idle_timeout_s, 0);
	CU_ASSERT_EQUAL(c->tunnel.keepalive_s, 15);
	CU_ASSERT_EQUAL(c->tunnel.tls_min_version, CFG_TLS_1_3);
	CU_ASSERT_EQUAL(c->tunnel.upload_kbps, 10000);
	CU_ASSERT_EQUAL(c->tunnel.download_kbps, 10000);
	CU_ASSERT_EQUAL(c->tunnel.allowed_peers.n, 0);
	CU_ASSERT_PTR_NULL(c->tunnel.key_password);
	CU_ASSERT_PTR_NULL(c->tunnel.server_name);
	CU_ASSERT_PTR_NULL(c->tunnel.server);
	CU_ASSERT_EQUAL(c->throttle.enabled, false);
	CU_ASSERT_EQUAL(c->throttle.burst_ms, 100);
	CU_ASSERT_STRING_EQUAL(c->network.interface, "tun0");
	CU_ASSERT_PTR_NULL(c->network.address);
	CU_ASSERT_EQUAL(c->network.mtu, 1500);
	CU_ASSERT_EQUAL(c->monitor.snmp_enabled, true);
	CU_ASSERT_STRING_EQUAL(c->monitor.agentx_socket, "/var/agentx/master");
	CU_ASSERT_EQUAL(c->monitor.agentx_ping_s, 15);
	CU_ASSERT_EQUAL(c->monitor.notifications, true);
	CU_ASSERT_EQUAL(c->logging.level, 2); /* LOG_LEVEL_INFO */
	CU_ASSERT_EQUAL(c->reload.watch, true);
	CU_ASSERT_EQUAL(c->reload.debounce_ms, 100);
	CU_ASSERT_EQUAL(c->reload.history, 16);
	/* has bits and lines only for what the file wrote */
	for (size_t i = 0; i < cfg_n_settings; i++) {
		if (c->has & (UINT64_C(1) << i)) {
			written++;
			CU_ASSERT(c->line[i] > 0 && c->src[i] && strcmp(c->src[i], c->path) == 0);
		} else {
			CU_ASSERT_EQUAL(c->line[i], 0);
		}
	}
	CU_ASSERT_EQUAL(written, 6);
	cfg_unref(c);

	c = must_load("client", "logging.level", "\"debug\"", "tunnel.tls_min_version", "\"1.2\"");
	if (!c)
		return;
	CU_ASSERT(str_is(c->tunnel.server_name, "localhost"));
	CU_ASSERT_FALSE(c->has & (UINT64_C(1) << cfg_setting_index(cfg_setting_find("tunnel.server_name"))));
	CU_ASSERT_EQUAL(c->logging.level, 3);
	CU_ASSERT_EQUAL(c->tunnel.tls_min_version, CFG_TLS_1_2);
	CU_ASSERT_EQUAL(c->mode, CFG_MODE_CLIENT);
	cfg_unref(c);

	c = must_load("ctun", "tunnel.server", "\"[2001:db8::1]:443\"", NULL, NULL);
	CU_ASSERT(c && str_is(c->tunnel.server_name, "2001:db8::1") && c->transport == CFG_TRANSPORT_TUN);
	cfg_unref(c);
	c = must_load("client", "tunnel.server_name", "\"sssonector-server\"", NULL, NULL);
	CU_ASSERT(c && str_is(c->tunnel.server_name, "sssonector-server"));
	cfg_unref(c);
}

/* Relative file names are taken from the configuration file's directory. */
static void test_relative_paths(void)
{
	const char *pki = tu_pki();
	const char *dir = tu_tmpdir();
	char *conf = strdup(tu_path(dir, "t.conf")), *want = strdup(tu_path(dir, "certs/server.crt"));
	struct config *c = NULL;
	struct cfg_errors errs = { 0 };

	mkdir(tu_path(dir, "certs"), 0700);
	tu_copy(tu_path(pki, "server.crt"), want, 0644);
	CU_ASSERT_EQUAL(load_kv(conf, "server", "tunnel.cert_file", "\"certs/server.crt\"", NULL, NULL, &c, &errs),
			CFG_OK);
	dump_errors("unexpected", &errs);
	CU_ASSERT(c && strcmp(c->tunnel.cert_file, want) == 0);
	cfg_unref(c);
	cfg_errors_free(&errs);
	free(conf);
	free(want);
}

/* ---- the table itself ----------------------------------------------- */

static void test_suggest(void)
{
	CU_ASSERT(str_is(cfg_suggest_key("tunnel.upload_kpbs"), "tunnel.upload_kbps"));
	CU_ASSERT(str_is(cfg_suggest_key("tunnel.uplod_kbps"), "tunnel.upload_kbps"));
	CU_ASSERT(str_is(cfg_suggest_key("Mode"), "mode"));
	CU_ASSERT(str_is(cfg_suggest_key("reload.debounce"), "reload.debounce_ms"));
	CU_ASSERT(str_is(cfg_suggest_key("tunnel.mtu"), "network.mtu"));
	CU_ASSERT_PTR_NULL(cfg_suggest_key("zzzz"));
	CU_ASSERT_PTR_NULL(cfg_suggest_key("listen")); /* two keys end in .listen */
	CU_ASSERT_PTR_NULL(cfg_suggest_key("tunnel.zzzzzzzz"));
	CU_ASSERT_PTR_NULL(cfg_suggest_key("monitor.agentx")); /* two keys start so */
	/* every group is suggested for a near miss */
	for (size_t i = 0; i < cfg_n_settings; i++) {
		const char *dot = strchr(cfg_settings[i].key, '.');
		char g[64];
		if (!dot)
			continue;
		snprintf(g, sizeof(g), "%.*sx", (int)(dot - cfg_settings[i].key), cfg_settings[i].key);
		const char *s = cfg_suggest_key(g);
		CU_ASSERT(s && strlen(s) == strlen(g) - 1 && strncmp(s, g, strlen(s)) == 0);
	}
	CU_ASSERT_PTR_NULL(cfg_setting_find("tunnel"));
	CU_ASSERT_EQUAL(cfg_setting_index(cfg_setting_find("mode")), 0);
	CU_ASSERT_STRING_EQUAL(cfg_settings[cfg_setting_index(cfg_setting_find("reload.history"))].key,
			       "reload.history");
}

static void test_hostport_split(void)
{
	char host[64];
	int port = 0;

	CU_ASSERT(cfg_hostport_split("[::1]:443", host, sizeof(host), &port) == 0 && strcmp(host, "::1") == 0 &&
		  port == 443);
	CU_ASSERT(cfg_hostport_split("example.com:1", host, sizeof(host), &port) == 0 &&
		  strcmp(host, "example.com") == 0 && port == 1);
	CU_ASSERT(cfg_hostport_split("10.0.0.1:65535", host, sizeof(host), &port) == 0 && port == 65535);
	CU_ASSERT_EQUAL(cfg_hostport_split("example.com:1", host, 5, &port), -1);
	CU_ASSERT_EQUAL(cfg_hostport_split("*:1", host, sizeof(host), &port), -1);
	CU_ASSERT_EQUAL(cfg_hostport_split("[::1]", host, sizeof(host), &port), -1);
}

static void test_schema(void)
{
	char *buf = NULL;
	size_t len = 0, rows = 0;
	FILE *f = open_memstream(&buf, &len);

	cfg_print_schema(f);
	fclose(f);
	static const char head[] = "| key | type | default | range / values | change | applied by | description |\n|---|";
	CU_ASSERT_EQUAL(strncmp(buf, head, sizeof(head) - 1), 0);
	for (const char *p = buf; (p = strstr(p, "\n| `")); p++)
		rows++;
	CU_ASSERT_EQUAL(rows, cfg_n_settings);
	for (size_t i = 0; i < cfg_n_settings; i++) {
		char k[80];
		snprintf(k, sizeof(k), "\n| `%s` |", cfg_settings[i].key);
		CU_ASSERT_PTR_NOT_NULL(strstr(buf, k));
	}
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "| `tunnel.key_password` | string, **secret** | unset |"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "| `tunnel.upload_kbps` | int | `10000` | 8..100000000 | hot |"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "| `tunnel.keepalive_s` | int | `15` | 0 (off), 1..3600 | hot |"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "| `mode` | string | — (required) | `server`, `client` | restart |"));
	free(buf);
}

static void test_refs(void)
{
	struct config *c = must_load("server", NULL, NULL, NULL, NULL);

	CU_ASSERT_PTR_EQUAL(cfg_ref(c), c);
	CU_ASSERT_EQUAL(c->refs, 2);
	cfg_unref(c);
	CU_ASSERT_EQUAL(c->refs, 1);
	cfg_unref(c); /* freed: valgrind checks */
	CU_ASSERT_PTR_NULL(cfg_ref(NULL));
	cfg_unref(NULL);
}


/* The parse memo (cfgfiles.c) keys on the bytes and the password: a load
 * after a good one must still see a wrong password, a swapped key or a
 * damaged certificate. */
static void test_pem_memo(void)
{
	const char *pki = tu_pki(), *dir = tu_tmpdir();
	struct cfg_errors errs = { 0 };
	struct config *c = NULL;
	const char *conf;

	tu_copy(tu_path(pki, "server-enc.key"), tu_path(dir, "k.pem"), 0600);
	tu_copy(tu_path(pki, "server.crt"), tu_path(dir, "c.pem"), 0644);
#define MEMO_CONF                                                                           \
	"mode = \"server\";\n"                                                            \
	"tunnel = { listen = \"127.0.0.1:44300\"; cert_file = \"c.pem\"; key_file = \"k.pem\";\n" \
	"  ca_file = \"%s/ca.crt\"; key_password = \"%s\"; };\n"                          \
	"forward = { target = \"127.0.0.1:5201\"; };\n"
	char text[2048];

	conf = tu_path(dir, "memo.conf");
	snprintf(text, sizeof(text), MEMO_CONF, pki, "test-password");
	tu_write(conf, text);
	CU_ASSERT_EQUAL_FATAL(cfg_load(conf, NULL, 0, &c, &errs), CFG_OK);
	cfg_unref(c);
	CU_ASSERT_EQUAL(cfg_load(conf, NULL, 0, &c, &errs), CFG_OK); /* from the memo */
	cfg_unref(c);

	snprintf(text, sizeof(text), MEMO_CONF, pki, "wrong-password");
	tu_write(conf, text);
	CU_ASSERT_EQUAL(cfg_load(conf, NULL, 0, &c, &errs), CFG_ERR_INVALID);
	CU_ASSERT(errs.n == 1 && strstr(errs.v[0].message, "cannot decrypt private key"));
	cfg_errors_clear(&errs);

	snprintf(text, sizeof(text), MEMO_CONF, pki, "test-password");
	tu_write(conf, text);
	tu_copy(tu_path(pki, "client.crt"), tu_path(dir, "c.pem"), 0644);
	CU_ASSERT_EQUAL(cfg_load(conf, NULL, 0, &c, &errs), CFG_ERR_INVALID);
	CU_ASSERT(errs.n == 1 && strstr(errs.v[0].message, "does not match tunnel.cert_file"));
	cfg_errors_clear(&errs);

	tu_copy(tu_path(pki, "server.crt"), tu_path(dir, "c.pem"), 0644);
	CU_ASSERT_EQUAL(cfg_load(conf, NULL, 0, &c, &errs), CFG_OK);
	cfg_unref(c);
	tu_write(tu_path(dir, "c.pem"), "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n");
	CU_ASSERT_EQUAL(cfg_load(conf, NULL, 0, &c, &errs), CFG_ERR_INVALID);
	CU_ASSERT(errs.n >= 1 && strstr(errs.v[0].message, "is not a PEM certificate"));
	cfg_errors_free(&errs);
}

int main(void)
{
	CU_pSuite s;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 99;
	s = CU_add_suite("config", NULL, NULL);
	CU_add_test(s, "validation table", test_validation_table);
	CU_add_test(s, "table covers every key", test_table_covers_every_key);
	CU_add_test(s, "groups", test_groups);
	CU_add_test(s, "resources", test_resources);
	CU_add_test(s, "file bytes kept", test_blobs);
	CU_add_test(s, "config file modes", test_config_file_modes);
	CU_add_test(s, "multiple errors", test_multiple_errors);
	CU_add_test(s, "error format", test_error_format);
	CU_add_test(s, "parse and I/O errors", test_parse_and_io_errors);
	CU_add_test(s, "@include", test_include);
	CU_add_test(s, "restart-only changes", test_check_change);
	CU_add_test(s, "diff", test_diff);
	CU_add_test(s, "hash", test_hash);
	CU_add_test(s, "print-config round trip", test_print);
	CU_add_test(s, "defaults", test_defaults);
	CU_add_test(s, "relative paths", test_relative_paths);
	CU_add_test(s, "suggestions", test_suggest);
	CU_add_test(s, "host:port", test_hostport_split);
	CU_add_test(s, "schema", test_schema);
	CU_add_test(s, "references", test_refs);
	CU_add_test(s, "parse memo keyed on bytes and password", test_pem_memo);
	CU_add_test(s, "@include of what must not be read", test_include_hostile);
	CU_add_test(s, "a syntax error after strings", test_syntax_error_after_strings);
	return tu_run();
}
