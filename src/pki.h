/* SPDX-License-Identifier: MIT */
/*
 * pki.h - what the daemon knows about certificates besides the
 * handshake itself: the kinds of tunnel.allowed_peers entries and exactly
 * what each one matches, validity dates, and certificate revocation
 * lists.  Used by the loader (--check and every reload) and by the TLS
 * module (the verify callback, the revocation sweep).  Pure: no files, no
 * logging, the OpenSSL error queue left as it was found.
 */
#ifndef SSS_PKI_H
#define SSS_PKI_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <openssl/types.h>
#include <openssl/x509.h>

/*
 * A tunnel.allowed_peers entry:
 *   NAME            what hostname verification accepts: a DNS SAN equal to
 *                   NAME (any case); the CN only when the certificate has
 *                   no DNS SAN at all; an IP literal: an IP SAN
 *   dns:NAME        a DNS SAN equal to NAME (any case)
 *   ip:ADDR         an IP SAN equal to ADDR (v4 or v6)
 *   cn:NAME         a subject CN equal to NAME (exactly, bytes)
 *   email:ADDR      an email SAN equal to ADDR (the domain in any case)
 *   sha256:HEX      the certificate's SHA-256 fingerprint (pinning it)
 *   spki:HEX        the SHA-256 of its public key (pinning the key)
 * HEX: 64 hex digits, ':' between pairs allowed.  Nothing else matches:
 * no wildcards, no CN when a kind is given, no email SAN unless asked.
 */
enum pki_name_kind { PKI_NAME, PKI_DNS, PKI_IP, PKI_CN, PKI_EMAIL, PKI_SHA256, PKI_SPKI };

struct pki_name {
	enum pki_name_kind kind;
	const char *value;     /* after the prefix (points into the entry) */
	unsigned char bin[32]; /* PKI_IP: the address; PKI_SHA256/SPKI: the digest */
	size_t binlen;
};

/* Parse entry into *n (n->value points into entry).  0, or -1 with *why
 * a static message for "tunnel.allowed_peers: ..." errors. */
int pki_name_parse(const char *entry, struct pki_name *n, const char **why);
/* Whether certificate x is what n names. */
bool pki_name_match(const struct pki_name *n, X509 *x);
/* The settings table's check of one allowed_peers entry: NULL or why. */
const char *pki_name_check(const char *entry);

/* Whose certificate (the values of SSSONECTOR-MIB's sssNotifyCertKind). */
enum pki_cert_kind { PKI_CERT_OWN = 1, PKI_CERT_CA = 2, PKI_CERT_PEER = 3 };
/* "own", "ca", "peer" */
const char *pki_cert_kind_name(enum pki_cert_kind kind);

/* Validity of x at now; *not_after (may be NULL) gets its notAfter. */
enum pki_validity { PKI_VALID, PKI_NOT_YET_VALID, PKI_EXPIRED };
enum pki_validity pki_validity(const X509 *x, time_t now, time_t *not_after);
/* The first moment after now at which pki_validity(x) changes, or 0 when
 * it never will (expired). */
time_t pki_next_boundary(const X509 *x, time_t now);
/* t as "2026-12-30 12:00:00 UTC" into buf. */
const char *pki_time_text(time_t t, char *buf, size_t len);
/* A subject or issuer name in one line ("CN = a, O = b") into buf. */
const char *pki_name_text(const X509_NAME *name, char *buf, size_t len);

/* Every CRL in PEM data, in order; NULL when there is none or a block is
 * damaged.  Free with sk_X509_CRL_pop_free(sk, X509_CRL_free). */
STACK_OF(X509_CRL) *pki_pem_crls(const void *data, size_t len);
/* The certificate of cas that issued crl and whose key signed it, or NULL. */
X509 *pki_crl_issuer(X509_CRL *crl, STACK_OF(X509) *cas);
/* thisUpdate and nextUpdate of crl (0 when absent). */
void pki_crl_dates(const X509_CRL *crl, time_t *this_update, time_t *next_update);

#endif
