/* SPDX-License-Identifier: MIT */
/*
 * pki.c - peer names, validity dates and revocation lists (see pki.h).
 *
 * A name matches exactly what its kind says: the fields are compared as
 * they are in the certificate, with no wildcard expansion and no fallback
 * from one field to another beyond the one hostname verification has (a
 * bare NAME looks at the CN only when there is no DNS SAN).  The OpenSSL
 * error queue is left as it was found.
 */
#include "pki.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

/* ---- names ------------------------------------------------------------- */

static const struct {
	const char *prefix;
	enum pki_name_kind kind;
} kinds[] = {
	{ "dns:", PKI_DNS }, { "ip:", PKI_IP },	      { "cn:", PKI_CN },
	{ "email:", PKI_EMAIL }, { "sha256:", PKI_SHA256 }, { "spki:", PKI_SPKI },
};

static bool dns_name(const char *s)
{
	size_t len = strlen(s), label = 0;

	if (len == 0 || len > 253 || s[0] == '.' || s[len - 1] == '.')
		return false;
	for (const char *p = s; *p; p++) {
		if (*p == '.') {
			if (label == 0)
				return false;
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_')
			return false;
		if (++label > 63)
			return false;
	}
	return true;
}

/* 64 hex digits, ':' allowed between pairs, into out[32]. */
static bool hex32(const char *s, unsigned char out[32])
{
	size_t n = 0;

	for (const char *p = s; *p; p++) {
		if (*p == ':' && n % 2 == 0 && n > 0 && p[1])
			continue;
		int v = isdigit((unsigned char)*p) ? *p - '0'
			: isxdigit((unsigned char)*p) ? tolower((unsigned char)*p) - 'a' + 10 : -1;
		if (v < 0 || n == 64)
			return false;
		if (n % 2 == 0)
			out[n / 2] = (unsigned char)(v << 4);
		else
			out[n / 2] |= (unsigned char)v;
		n++;
	}
	return n == 64;
}

static size_t ip_literal(const char *s, unsigned char out[16])
{
	if (inet_pton(AF_INET, s, out) == 1)
		return 4;
	if (inet_pton(AF_INET6, s, out) == 1)
		return 16;
	return 0;
}

int pki_name_parse(const char *entry, struct pki_name *n, const char **why)
{
	memset(n, 0, sizeof(*n));
	n->kind = PKI_NAME;
	n->value = entry;
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		size_t pl = strlen(kinds[i].prefix);
		if (strncmp(entry, kinds[i].prefix, pl) == 0) {
			n->kind = kinds[i].kind;
			n->value = entry + pl;
			break;
		}
	}
	const char *v = n->value, *at;
	*why = NULL;
	switch (n->kind) {
	case PKI_NAME:
		n->binlen = ip_literal(v, n->bin);
		if (!n->binlen && !dns_name(v))
			*why = "must be a DNS name or an IP address, or kind:value with a kind of dns, ip, cn, "
			       "email, sha256 or spki";
		break;
	case PKI_DNS:
		if (!dns_name(v))
			*why = "dns: must be followed by a DNS name (no wildcards)";
		break;
	case PKI_IP:
		n->binlen = ip_literal(v, n->bin);
		if (!n->binlen)
			*why = "ip: must be followed by an IPv4 or IPv6 address";
		break;
	case PKI_CN:
		if (!*v)
			*why = "cn: must be followed by a name";
		break;
	case PKI_EMAIL:
		at = strchr(v, '@');
		if (!at || at == v || !dns_name(at + 1) || strchr(at + 1, '@'))
			*why = "email: must be followed by an address local@domain";
		break;
	case PKI_SHA256:
	case PKI_SPKI:
		n->binlen = 32;
		if (!hex32(v, n->bin))
			*why = "sha256: and spki: must be followed by 64 hex digits (a SHA-256 digest)";
		break;
	}
	return *why ? -1 : 0;
}

const char *pki_name_check(const char *entry)
{
	struct pki_name n;
	const char *why;

	return pki_name_parse(entry, &n, &why) < 0 ? why : NULL;
}

/* An IA5String SAN value equal to want (case-insensitive when fold). */
static bool ia5_equal(const ASN1_STRING *s, const char *want, bool fold)
{
	size_t len = (size_t)ASN1_STRING_length(s), wl = strlen(want);
	const char *d = (const char *)ASN1_STRING_get0_data(s);

	/* an embedded NUL makes the lengths differ */
	return len == wl && (fold ? strncasecmp(d, want, wl) == 0 : memcmp(d, want, wl) == 0);
}

static bool email_equal(const ASN1_STRING *s, const char *want)
{
	size_t len = (size_t)ASN1_STRING_length(s);
	const char *d = (const char *)ASN1_STRING_get0_data(s), *at = strchr(want, '@');
	size_t local = (size_t)(at - want);

	return len == strlen(want) && memcmp(d, want, local + 1) == 0 &&
	       strncasecmp(d + local + 1, at + 1, len - local - 1) == 0;
}

/* What the SANs of x say about n: 1 matched, 0 not; *had_dns whether x
 * has any DNS SAN. */
static bool san_match(const struct pki_name *n, X509 *x, bool *had_dns)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	bool found = false;

	*had_dns = false;
	for (int i = 0; gens && !found && i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		if (g->type == GEN_DNS)
			*had_dns = true;
		switch (n->kind) {
		case PKI_NAME:
			if (n->binlen)
				found = g->type == GEN_IPADD &&
					(size_t)ASN1_STRING_length(g->d.iPAddress) == n->binlen &&
					memcmp(ASN1_STRING_get0_data(g->d.iPAddress), n->bin, n->binlen) == 0;
			else
				found = g->type == GEN_DNS && ia5_equal(g->d.dNSName, n->value, true);
			break;
		case PKI_DNS:
			found = g->type == GEN_DNS && ia5_equal(g->d.dNSName, n->value, true);
			break;
		case PKI_IP:
			found = g->type == GEN_IPADD && (size_t)ASN1_STRING_length(g->d.iPAddress) == n->binlen &&
				memcmp(ASN1_STRING_get0_data(g->d.iPAddress), n->bin, n->binlen) == 0;
			break;
		case PKI_EMAIL:
			found = g->type == GEN_EMAIL && email_equal(g->d.rfc822Name, n->value);
			break;
		default:
			break;
		}
	}
	GENERAL_NAMES_free(gens);
	return found;
}

static bool cn_match(X509 *x, const char *want, bool fold)
{
	X509_NAME *subj = X509_get_subject_name(x);
	size_t wl = strlen(want);
	bool found = false;

	for (int i = -1; !found && (i = X509_NAME_get_index_by_NID(subj, NID_commonName, i)) >= 0;) {
		unsigned char *cn = NULL;
		int len = ASN1_STRING_to_UTF8(&cn, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, i)));
		found = len >= 0 && (size_t)len == wl &&
			(fold ? strncasecmp((const char *)cn, want, wl) == 0 : memcmp(cn, want, wl) == 0);
		OPENSSL_free(cn);
	}
	return found;
}

static bool digest_match(const struct pki_name *n, X509 *x)
{
	unsigned char md[EVP_MAX_MD_SIZE], *der = NULL;
	unsigned int mdlen = 0;
	bool ok = false;

	if (n->kind == PKI_SHA256) {
		ok = X509_digest(x, EVP_sha256(), md, &mdlen) == 1;
	} else {
		/* the DER SubjectPublicKeyInfo, as HPKP's pin-sha256 */
		int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der);
		ok = len > 0 && EVP_Digest(der, (size_t)len, md, &mdlen, EVP_sha256(), NULL) == 1;
		OPENSSL_free(der);
	}
	return ok && mdlen == 32 && memcmp(md, n->bin, 32) == 0;
}

bool pki_name_match(const struct pki_name *n, X509 *x)
{
	bool had_dns, found = false;

	ERR_set_mark();
	switch (n->kind) {
	case PKI_NAME:
		found = san_match(n, x, &had_dns) || (!n->binlen && !had_dns && cn_match(x, n->value, true));
		break;
	case PKI_DNS:
	case PKI_IP:
	case PKI_EMAIL:
		found = san_match(n, x, &had_dns);
		break;
	case PKI_CN:
		found = cn_match(x, n->value, false);
		break;
	case PKI_SHA256:
	case PKI_SPKI:
		found = digest_match(n, x);
		break;
	}
	ERR_pop_to_mark();
	return found;
}

/* ---- dates --------------------------------------------------------------- */

const char *pki_cert_kind_name(enum pki_cert_kind kind)
{
	switch (kind) {
	case PKI_CERT_OWN: return "own";
	case PKI_CERT_CA: return "ca";
	case PKI_CERT_PEER: return "peer";
	}
	return "?";
}

static time_t asn1_time(const ASN1_TIME *t)
{
	struct tm tm;

	if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
		return 0;
	return timegm(&tm);
}

enum pki_validity pki_validity(const X509 *x, time_t now, time_t *not_after)
{
	time_t nb = asn1_time(X509_get0_notBefore(x)), na = asn1_time(X509_get0_notAfter(x));

	if (not_after)
		*not_after = na;
	if (now < nb)
		return PKI_NOT_YET_VALID;
	if (now > na)
		return PKI_EXPIRED;
	return PKI_VALID;
}

time_t pki_next_boundary(const X509 *x, time_t now)
{
	time_t nb = asn1_time(X509_get0_notBefore(x)), na = asn1_time(X509_get0_notAfter(x));

	if (now < nb)
		return nb;
	return now <= na ? na + 1 : 0;
}

const char *pki_time_text(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (!gmtime_r(&t, &tm) || strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(buf, len, "?");
	return buf;
}

const char *pki_name_text(const X509_NAME *name, char *buf, size_t len)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p = NULL;
	long n = 0;

	buf[0] = '\0';
	if (b && X509_NAME_print_ex(b, name, 0, XN_FLAG_ONELINE & ~ASN1_STRFLGS_ESC_MSB) >= 0)
		n = BIO_get_mem_data(b, &p);
	if (n > 0)
		snprintf(buf, len, "%.*s", (int)n, p);
	BIO_free(b);
	return buf;
}

/* ---- CRLs ----------------------------------------------------------------- */

STACK_OF(X509_CRL) *pki_pem_crls(const void *data, size_t len)
{
	STACK_OF(X509_CRL) *sk;
	X509_CRL *crl;

	if (!data || !len || len > INT32_MAX)
		return NULL;
	BIO *bio = BIO_new_mem_buf(data, (int)len);
	sk = sk_X509_CRL_new_null();
	if (!bio || !sk)
		abort();
	ERR_set_mark();
	while ((crl = PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL)) != NULL)
		if (!sk_X509_CRL_push(sk, crl))
			abort();
	unsigned long e = ERR_peek_last_error();
	bool at_end = ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE;
	ERR_pop_to_mark();
	BIO_free(bio);
	if (!at_end || sk_X509_CRL_num(sk) == 0) {
		sk_X509_CRL_pop_free(sk, X509_CRL_free);
		return NULL;
	}
	return sk;
}

X509 *pki_crl_issuer(X509_CRL *crl, STACK_OF(X509) *cas)
{
	X509 *found = NULL;

	ERR_set_mark();
	for (int i = 0; !found && i < sk_X509_num(cas); i++) {
		X509 *ca = sk_X509_value(cas, i);
		if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(ca)) == 0 &&
		    X509_CRL_verify(crl, X509_get0_pubkey(ca)) == 1)
			found = ca;
	}
	ERR_pop_to_mark();
	return found;
}

void pki_crl_dates(const X509_CRL *crl, time_t *this_update, time_t *next_update)
{
	*this_update = asn1_time(X509_CRL_get0_lastUpdate(crl));
	*next_update = asn1_time(X509_CRL_get0_nextUpdate(crl));
}
