/* SPDX-License-Identifier: MIT */
/*
 * cfgfiles.c - the resource checks of a configuration: the certificate,
 * key and CA it names exist, are readable and parse, the key matches the
 * certificate, and the key, the configuration file, its directory and its
 * included files have safe permissions.  The bytes read are kept in the
 * snapshot, so that "what changed" and the hash cover them.
 *
 * OpenSSL must never prompt: the key is read through tls_pem_key(), which
 * answers with tunnel.key_password or refuses.  The password never appears in an error.  The OpenSSL error
 * queue is left empty.
 */

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "config.h"
#include "pki.h"
#include "tls.h"

#define BIT(i) (UINT64_C(1) << (i))

static void file_err(const struct config *c, const char *key, const char *value, struct cfg_errors *errs,
		     const char *msg, const char *arg)
{
	const struct cfg_setting *s = cfg_setting_find(key);
	size_t i = cfg_setting_index(s);
	bool has = c->has & BIT(i);

	cfg_errors_add(errs, has && c->src[i] ? c->src[i] : c->path, has ? c->line[i] : 0, key, value,
		       "%s%s", msg, arg);
}

/*
 * Read the file setting key names into blob (a regular file of at most
 * CFG_PEM_MAX bytes) and check who may change it: nobody but its owner
 * for the key; for a certificate or CA file also its group when that is
 * root's or the daemon's own (a CA file others can write lets them add a
 * trust anchor that the file watch then applies).  The mode checked is
 * the one of the file read.  False (and an error) if it cannot be read.
 */
static bool load_blob(const struct config *c, const char *key, const char *path, struct cfg_blob *blob,
		      struct cfg_errors *errs)
{
	struct stat st;
	struct sbuf why = { 0 };
	int r = read_file_stat(path, CFG_PEM_MAX, &blob->data, &blob->len, &st);
	bool is_key = strcmp(key, "tunnel.key_file") == 0;

	if (r < 0) {
		read_file_error(r, CFG_PEM_MAX, &why);
		file_err(c, key, path, errs, sbuf_str(&why), "");
		sbuf_free(&why);
		return false;
	}
	if (is_key && (st.st_mode & S_IROTH))
		file_err(c, key, path, errs, "private key file is readable by others (chmod o-r)", "");
	if (st.st_mode & S_IWOTH)
		file_err(c, key, path, errs, is_key ? "private key file is writable by others (chmod o-w)"
						    : "is writable by others (chmod o-w)", "");
	if ((st.st_mode & S_IWGRP) && (is_key || (st.st_gid != 0 && st.st_gid != getegid())))
		file_err(c, key, path, errs, is_key ? "private key file is writable by group (chmod g-w)"
						    : "is writable by a group other than root's or the daemon's (chmod g-w)", "");
	return true;
}

/* A file holding tunnel.key_password must not be readable by others. */
static void check_secret_mode(const struct config *c, struct cfg_errors *errs)
{
	const struct cfg_setting *s = cfg_setting_find("tunnel.key_password");
	size_t i = cfg_setting_index(s);
	struct stat st;

	if (!(c->has & BIT(i)) || !c->src[i] || stat(c->src[i], &st) < 0 || !(st.st_mode & S_IROTH))
		return;
	cfg_errors_add(errs, c->src[i], c->line[i], s->key, NULL,
		       "is in a file readable by others (chmod o-r %s)", c->src[i]);
}

/* Parse the certificate, key and CA bytes the snapshot holds (with the
 * same helpers the TLS context uses, so validation and the running
 * context agree) and check that the key matches the certificate. */
static void check_pem(struct config *c, struct cfg_errors *errs)
{
	X509 *cert = NULL;
	STACK_OF(X509) *certs = NULL, *cas = NULL;

	if (c->cert.data) {
		certs = tls_pem_certs(c->cert.data, c->cert.len);
		if (!certs)
			file_err(c, "tunnel.cert_file", c->tunnel.cert_file, errs, "is not a PEM certificate", "");
		else
			cert = sk_X509_value(certs, 0);
	}
	if (c->key.data) {
		enum tls_key_error why = TLS_KEY_OK;
		EVP_PKEY *pkey = tls_pem_key(c->key.data, c->key.len, c->tunnel.key_password, &why);
		if (!pkey)
			file_err(c, "tunnel.key_file", c->tunnel.key_file, errs, tls_key_error_text(why), "");
		else if (cert && X509_check_private_key(cert, pkey) != 1)
			file_err(c, "tunnel.key_file", c->tunnel.key_file, errs,
				 "private key does not match tunnel.cert_file", "");
		EVP_PKEY_free(pkey);
	}
	if (c->ca.data) {
		cas = tls_pem_certs(c->ca.data, c->ca.len);
		if (!cas)
			file_err(c, "tunnel.ca_file", c->tunnel.ca_file, errs, "contains no certificate", "");
	}
	sk_X509_pop_free(certs, X509_free);
	sk_X509_pop_free(cas, X509_free);
}

/*
 * The last certificate/key/password/CA combination that passed
 * check_pem().  Parsing is deterministic, so identical bytes cannot give
 * another answer, and parsing (mostly the key) is most of what a reload
 * costs: a rate change should not pay for it.  Only successes are kept.
 */
static pthread_mutex_t memo_lock = PTHREAD_MUTEX_INITIALIZER;
static uint8_t memo[SHA256_LEN];
static bool memo_valid;

static void pem_digest(const struct config *c, uint8_t out[SHA256_LEN])
{
	struct sbuf b = { 0 };
	const struct cfg_blob *blobs[] = { &c->cert, &c->key, &c->ca };
	const char *pw = c->tunnel.key_password ? c->tunnel.key_password : "";

	for (size_t i = 0; i < 3; i++) {
		sbuf_printf(&b, "%zu:", blobs[i]->len);
		sbuf_addn(&b, (const char *)blobs[i]->data, blobs[i]->len);
	}
	sbuf_printf(&b, "%zu:%s", strlen(pw), pw);
	sha256(b.s, b.len, out);
	OPENSSL_cleanse(b.s, b.len);
	sbuf_free(&b);
}

/* ---- what changes with the date (never memoised) --------------------------- */

/* A date error of certificate x (what: "the certificate", "CA certificate
 * 2 of 3 (CN=ca)"), or a warning into c->warnings when it expires within
 * tunnel.expiry_warn_days.  True when it is usable now. */
static bool check_dates(struct config *c, const char *key, const char *path, const char *what, X509 *x,
			time_t now, struct cfg_errors *errs)
{
	time_t na, warn = (time_t)c->tunnel.expiry_warn_days * 86400;
	char when[40];
	struct sbuf m = { 0 };
	enum pki_validity v = pki_validity(x, now, &na);

	if (v == PKI_NOT_YET_VALID) {
		struct tm tm = { 0 };
		ASN1_TIME_to_tm(X509_get0_notBefore(x), &tm);
		sbuf_printf(&m, "%s is not valid before %s", what, pki_time_text(timegm(&tm), when, sizeof(when)));
	} else if (v == PKI_EXPIRED) {
		sbuf_printf(&m, "%s expired on %s", what, pki_time_text(na, when, sizeof(when)));
	} else if (warn && na - now < warn) {
		sbuf_printf(&m, "%s expires on %s, in %lld days", what, pki_time_text(na, when, sizeof(when)),
			    (long long)((na - now) / 86400));
		file_err(c, key, path, &c->warnings, sbuf_str(&m), "");
	}
	if (v != PKI_VALID)
		file_err(c, key, path, errs, sbuf_str(&m), "");
	sbuf_free(&m);
	return v == PKI_VALID;
}

/* The CRLs: each signed by a CA of ca_file, valid already, and past its
 * nextUpdate a warning (an error with crl_expired = "refuse").  A CA of
 * ca_file without a CRL is a warning: the handshake refuses every
 * certificate it signed (the whole chain is checked). */
static void check_crls(struct config *c, STACK_OF(X509) *cas, time_t now, struct cfg_errors *errs)
{
	const char *key = "tunnel.crl_file", *path = c->tunnel.crl_file;
	STACK_OF(X509_CRL) *crls = pki_pem_crls(c->crl.data, c->crl.len);
	bool refuse = c->tunnel.crl_expired == CFG_CRL_EXPIRED_REFUSE;
	struct sbuf m = { 0 };
	char when[40], who[256];
	int n_cas = cas ? sk_X509_num(cas) : 0;
	bool *has_crl = xcalloc((size_t)n_cas + 1, sizeof(bool));

	if (!crls) {
		free(has_crl);
		file_err(c, key, path, errs, "contains no PEM CRL (or a damaged one)", "");
		return;
	}
	for (int i = 0; i < sk_X509_CRL_num(crls); i++) {
		X509_CRL *crl = sk_X509_CRL_value(crls, i);
		time_t this_update, next_update;
		sbuf_reset(&m);
		pki_name_text(X509_CRL_get_issuer(crl), who, sizeof(who));
		pki_crl_dates(crl, &this_update, &next_update);
		X509 *issuer = cas ? pki_crl_issuer(crl, cas) : NULL;
		for (int k = 0; issuer && k < n_cas; k++)
			has_crl[k] |= sk_X509_value(cas, k) == issuer;
		if (!issuer) {
			sbuf_printf(&m, "CRL %d (issuer %s) is not signed by a certificate of tunnel.ca_file "
				    "(an intermediate CA's CRL needs that CA in ca_file)", i + 1, who);
			file_err(c, key, path, errs, sbuf_str(&m), "");
		} else if (this_update > now) {
			sbuf_printf(&m, "CRL %d (issuer %s) is not valid before %s", i + 1, who,
				    pki_time_text(this_update, when, sizeof(when)));
			file_err(c, key, path, errs, sbuf_str(&m), "");
		} else if (next_update && next_update < now) {
			sbuf_printf(&m, "CRL %d (issuer %s) is past its nextUpdate, %s%s", i + 1, who,
				    pki_time_text(next_update, when, sizeof(when)),
				    refuse ? " (tunnel.crl_expired = \"refuse\")" : ": it still applies; publish a new one");
			file_err(c, key, path, refuse ? errs : &c->warnings, sbuf_str(&m), "");
		}
	}
	for (int k = 0; k < n_cas; k++)
		if (!has_crl[k]) {
			sbuf_reset(&m);
			sbuf_printf(&m, "CA certificate %d of %d (%s) has no CRL in tunnel.crl_file: every certificate "
				    "it signed is refused", k + 1, n_cas,
				    pki_name_text(X509_get_subject_name(sk_X509_value(cas, k)), who, sizeof(who)));
			file_err(c, key, path, &c->warnings, sbuf_str(&m), "");
		}
	free(has_crl);
	sbuf_free(&m);
	sk_X509_CRL_pop_free(crls, X509_CRL_free);
}

/*
 * What is worth keeping between loads, under memo_lock: the certificates
 * of the last cert_file and ca_file bytes, parsed (OpenSSL 3's decoders
 * make the parse most of what a rate change would otherwise cost), and the
 * last verdict on the own chain (a signature check).  What the dates say
 * changes with the clock, so the checks below run at every load; a chain
 * verdict is kept only until a certificate of either file starts or stops
 * being valid.  The cached stacks are only read.
 */
struct parsed {
	uint8_t digest[SHA256_LEN];
	bool valid;
	STACK_OF(X509) *certs;
};

static struct parsed parsed_cert, parsed_ca;

static struct {
	bool valid;
	uint8_t cert[SHA256_LEN], ca[SHA256_LEN];
	enum cfg_trust trust;
	time_t until; /* 0: for good */
	int err;      /* X509_V_OK or why no chain was built */
} verdict;

/* The certificates of blob b (a new reference the caller frees), parsed
 * once per distinct content; its digest into d. */
static STACK_OF(X509) *certs_of(const struct cfg_blob *b, struct parsed *slot, uint8_t d[SHA256_LEN])
{
	STACK_OF(X509) *sk;

	memset(d, 0, SHA256_LEN);
	if (!b->data || !b->len)
		return NULL;
	sha256(b->data, b->len, d);
	pthread_mutex_lock(&memo_lock);
	if (slot->valid && !memcmp(d, slot->digest, SHA256_LEN)) {
		sk = slot->certs ? X509_chain_up_ref(slot->certs) : NULL;
		pthread_mutex_unlock(&memo_lock);
		return sk;
	}
	pthread_mutex_unlock(&memo_lock);
	sk = tls_pem_certs(b->data, b->len);
	pthread_mutex_lock(&memo_lock);
	sk_X509_pop_free(slot->certs, X509_free);
	slot->certs = sk ? X509_chain_up_ref(sk) : NULL;
	memcpy(slot->digest, d, SHA256_LEN);
	slot->valid = !sk || slot->certs;
	pthread_mutex_unlock(&memo_lock);
	return sk;
}

/* X509_V_OK when cas build a chain for the first of certs under trust. */
static int chain_error(STACK_OF(X509) *certs, STACK_OF(X509) *cas, enum cfg_trust trust)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *xs = X509_STORE_CTX_new();
	STACK_OF(X509) *untrusted = sk_X509_dup(certs);
	int err = X509_V_ERR_UNSPECIFIED;

	if (!store || !xs || !untrusted)
		abort();
	for (int i = 0; i < sk_X509_num(cas); i++)
		X509_STORE_add_cert(store, sk_X509_value(cas, i));
	(void)sk_X509_shift(untrusted);
	if (X509_STORE_CTX_init(xs, store, sk_X509_value(certs, 0), untrusted) == 1) {
		if (trust == CFG_TRUST_PARTIAL)
			X509_STORE_CTX_set_flags(xs, X509_V_FLAG_PARTIAL_CHAIN);
		err = X509_verify_cert(xs) == 1 ? X509_V_OK : X509_STORE_CTX_get_error(xs);
	}
	sk_X509_free(untrusted);
	X509_STORE_CTX_free(xs);
	X509_STORE_free(store);
	return err;
}

/* The first moment after now at which a certificate of certs or cas
 * changes validity (0: none will). */
static time_t next_boundary(STACK_OF(X509) *certs, STACK_OF(X509) *cas, time_t now)
{
	STACK_OF(X509) *both[] = { certs, cas };
	time_t first = 0;

	for (size_t k = 0; k < 2; k++)
		for (int i = 0; i < sk_X509_num(both[k]); i++) {
			time_t t = pki_next_boundary(sk_X509_value(both[k], i), now);
			if (t && (!first || t < first))
				first = t;
		}
	return first;
}

/* Whether ca_file builds a chain for the own certificate under
 * tunnel.trust: the usual set-up has both ends under one CA, so a failure
 * is worth a warning (not an error: the peer may use another CA). */
static void check_own_chain(struct config *c, STACK_OF(X509) *certs, STACK_OF(X509) *cas,
			    const uint8_t dcert[SHA256_LEN], const uint8_t dca[SHA256_LEN], time_t now)
{
	enum cfg_trust trust = c->tunnel.trust;
	int err;

	pthread_mutex_lock(&memo_lock);
	bool known = verdict.valid && verdict.trust == trust && !memcmp(verdict.cert, dcert, SHA256_LEN) &&
		     !memcmp(verdict.ca, dca, SHA256_LEN) && (!verdict.until || now < verdict.until);
	err = verdict.err;
	pthread_mutex_unlock(&memo_lock);
	if (!known) {
		err = chain_error(certs, cas, trust);
		time_t until = next_boundary(certs, cas, now);
		pthread_mutex_lock(&memo_lock);
		verdict.valid = true;
		verdict.trust = trust;
		memcpy(verdict.cert, dcert, SHA256_LEN);
		memcpy(verdict.ca, dca, SHA256_LEN);
		verdict.until = until;
		verdict.err = err;
		pthread_mutex_unlock(&memo_lock);
	}
	if (err != X509_V_OK) {
		struct sbuf m = { 0 };
		sbuf_printf(&m, "builds no chain for tunnel.cert_file with tunnel.trust = \"%s\" (%s); "
			    "fine only if the peer's certificates come from another CA",
			    trust == CFG_TRUST_PARTIAL ? "partial" : "chain", X509_verify_cert_error_string(err));
		file_err(c, "tunnel.ca_file", c->tunnel.ca_file, &c->warnings, sbuf_str(&m), "");
		sbuf_free(&m);
	}
}

/* Dates of the own certificate and of every CA, the CRLs, the chain:
 * run at every load, outside the memo of check_pem(). */
static void check_lifecycle(struct config *c, struct cfg_errors *errs)
{
	uint8_t dcert[SHA256_LEN], dca[SHA256_LEN];
	STACK_OF(X509) *certs = certs_of(&c->cert, &parsed_cert, dcert);
	STACK_OF(X509) *cas = certs_of(&c->ca, &parsed_ca, dca);
	time_t now = time(NULL);
	size_t n0 = errs->n;
	char what[400], subj[300];

	if (certs)
		check_dates(c, "tunnel.cert_file", c->tunnel.cert_file, "the certificate", sk_X509_value(certs, 0),
			    now, errs);
	for (int i = 0; cas && i < sk_X509_num(cas); i++) {
		snprintf(what, sizeof(what), "CA certificate %d of %d (%s)", i + 1, sk_X509_num(cas),
			 pki_name_text(X509_get_subject_name(sk_X509_value(cas, i)), subj, sizeof(subj)));
		check_dates(c, "tunnel.ca_file", c->tunnel.ca_file, what, sk_X509_value(cas, i), now, errs);
	}
	if (c->crl.data)
		check_crls(c, cas, now, errs);
	if (certs && cas && errs->n == n0)
		check_own_chain(c, certs, cas, dcert, dca, now);
	sk_X509_pop_free(certs, X509_free);
	sk_X509_pop_free(cas, X509_free);
	ERR_clear_error();
}

/* The configuration may only be changed by its owner: a group- or
 * world-writable file or directory lets others reconfigure the daemon. */
static void check_conf_mode(const char *path, bool dir, bool missing_ok, struct cfg_errors *errs)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		if (!missing_ok || errno != ENOENT)
			cfg_errors_add(errs, path, 0, NULL, NULL, "cannot read file: %s", strerror(errno));
		return;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		cfg_errors_add(errs, path, 0, NULL, NULL, "configuration %s is writable by group or others",
			       dir ? "directory" : "file");
}

int cfg_check_files(struct config *c, bool have_text, struct cfg_errors *errs)
{
	size_t n0 = errs->n;
	const char *slash = strrchr(c->path, '/');
	char *dir = slash == c->path ? strdup("/") : slash ? strndup(c->path, (size_t)(slash - c->path)) : strdup(".");

	if (!dir)
		abort();
	check_conf_mode(c->path, false, have_text, errs);
	check_conf_mode(dir, true, false, errs);
	for (size_t k = 0; k < c->n_includes; k++)
		if (c->includes[k].blob.data)
			check_conf_mode(c->includes[k].path, false, true, errs);

	/* all three, so that every problem is reported */
	bool loaded = true;
	for (size_t i = 0; i < cfg_n_settings; i++) {
		const struct cfg_setting *s = &cfg_settings[i];
		struct cfg_blob *b = (struct cfg_blob *)cfg_file_blob(c, s);
		const char *path = b ? *(char *const *)(const void *)((const char *)c + s->offset) : NULL;
		if (path)
			loaded = load_blob(c, s->key, path, b, errs) && loaded;
	}
	check_secret_mode(c, errs);

	uint8_t d[SHA256_LEN];
	bool all = loaded && c->cert.data && c->key.data && c->ca.data;
	if (all)
		pem_digest(c, d);
	pthread_mutex_lock(&memo_lock);
	bool known = all && memo_valid && !memcmp(d, memo, SHA256_LEN);
	pthread_mutex_unlock(&memo_lock);
	if (!known) {
		size_t before = errs->n;
		check_pem(c, errs);
		if (all && errs->n == before) {
			pthread_mutex_lock(&memo_lock);
			memcpy(memo, d, SHA256_LEN);
			memo_valid = true;
			pthread_mutex_unlock(&memo_lock);
		}
	}
	if (errs->n == n0)
		check_lifecycle(c, errs);
	ERR_clear_error();
	free(dir);
	return (int)(errs->n - n0);
}
