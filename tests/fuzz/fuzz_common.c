/* SPDX-License-Identifier: MIT */
/* fuzz_common.c - see fuzz_common.h. */
#include "fuzz_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "util.h"

static char dir[256];

static void must(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz: cannot make the test PKI: %s\n", what);
		abort();
	}
}

static void add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;

	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	X509_EXTENSION *ex = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	must(ex && X509_add_ext(x, ex, -1), "extension");
	X509_EXTENSION_free(ex);
}

/* A certificate for key named cn, signed by issuer (itself when NULL). */
static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key, const char *eku)
{
	static long serial = 1;
	X509 *x = X509_new();

	must(x && X509_set_version(x, 2), "X509_new");
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 365L * 86400);
	must(X509_set_pubkey(x, key), "pubkey");
	X509_NAME *name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
	add_ext(x, issuer ? issuer : x, NID_basic_constraints, issuer ? "critical,CA:FALSE" : "critical,CA:TRUE");
	if (eku) {
		add_ext(x, issuer, NID_ext_key_usage, eku);
		char san[300];
		snprintf(san, sizeof(san), "DNS:%s,IP:127.0.0.1", cn);
		add_ext(x, issuer, NID_subject_alt_name, san);
	}
	must(X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256()) > 0, "sign");
	return x;
}

static void write_pem(const char *name, X509 *cert, EVP_PKEY *key)
{
	char path[400];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	must(f != NULL, path);
	must(cert ? PEM_write_X509(f, cert) : PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL), path);
	fclose(f);
	chmod(path, key ? 0600 : 0644);
}

static void cleanup(void)
{
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "fuzz: could not remove %s\n", dir);
}

const char *fz_dir(void)
{
	if (dir[0])
		return dir;
	const char *tmp = getenv("TMPDIR");
	snprintf(dir, sizeof(dir), "%s/sss-fuzz.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	must(mkdtemp(dir) != NULL, "mkdtemp");
	atexit(cleanup);

	EVP_PKEY *ca_key = EVP_EC_gen("P-256"), *srv_key = EVP_EC_gen("P-256"), *cli_key = EVP_EC_gen("P-256");
	must(ca_key && srv_key && cli_key, "EVP_EC_gen");
	X509 *ca = make_cert(ca_key, "sssonector-fuzz-ca", NULL, NULL, NULL);
	X509 *srv = make_cert(srv_key, "sssonector-server", ca, ca_key, "serverAuth");
	X509 *cli = make_cert(cli_key, "sssonector-client", ca, ca_key, "clientAuth");
	write_pem("ca.crt", ca, NULL);
	write_pem("server.crt", srv, NULL);
	write_pem("server.key", NULL, srv_key);
	write_pem("client.crt", cli, NULL);
	write_pem("client.key", NULL, cli_key);
	/* for the corpus's @include "rates.inc" */
	char inc[400];
	snprintf(inc, sizeof(inc), "%s/rates.inc", dir);
	FILE *f = fopen(inc, "w");
	must(f && fputs("upload_kbps = 4000;\ndownload_kbps = 3000;\n", f) >= 0, inc);
	fclose(f);
	chmod(inc, 0600);
	X509_free(ca);
	X509_free(srv);
	X509_free(cli);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(srv_key);
	EVP_PKEY_free(cli_key);
	return dir;
}

char *fz_subst(const uint8_t *data, size_t size, size_t *len)
{
	const char *d = fz_dir();
	struct sbuf b = { 0 };
	size_t i = 0;

	while (i < size) {
		if (size - i >= 5 && memcmp(data + i, "@PKI@", 5) == 0) {
			sbuf_add(&b, d);
			i += 5;
		} else {
			sbuf_addn(&b, (const char *)data + i, 1);
			i++;
		}
	}
	if (!b.s)
		sbuf_add(&b, "");
	*len = b.len;
	return b.s;
}

const char *fz_write_conf(const char *name, const char *extra)
{
	static char path[400];
	const char *d = fz_dir();
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", d, name);
	f = fopen(path, "w");
	must(f != NULL, path);
	fprintf(f,
		"mode = \"server\";\n"
		"tunnel = {\n"
		"  listen = \"127.0.0.1:44300\";\n"
		"  cert_file = \"server.crt\";\n"
		"  key_file = \"server.key\";\n"
		"  ca_file = \"ca.crt\";\n"
		"};\n"
		"forward = { target = \"127.0.0.1:5201\"; };\n"
		"monitor = { snmp_enabled = false; };\n"
		"%s",
		extra ? extra : "");
	fclose(f);
	chmod(path, 0600);
	return path;
}
