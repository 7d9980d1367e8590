/* SPDX-License-Identifier: MIT */
/*
 * tlspolicy.c - see tlspolicy.h.
 *
 * Each entry is tried on its own on a scratch SSL_CTX, so the answer is
 * exactly what the TLS context will later accept, and the error can name
 * the entry.  Never leaves OpenSSL errors queued.
 */
#include "tlspolicy.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#define ENTRY_MAX 128

/* The next ':'-separated entry of *p into e; false at the end, or with
 * *bad set for an empty or oversized one. */
static bool next_entry(const char **p, char *e, size_t len, bool *bad)
{
	size_t n = strcspn(*p, ":");

	*bad = false;
	if (!**p)
		return false;
	if (n == 0 || n >= len) {
		*bad = true;
		snprintf(e, len, "%.*s", (int)(n < len ? n : len - 1), *p);
		return true;
	}
	memcpy(e, *p, n);
	e[n] = '\0';
	*p += n;
	if (**p == ':' && !*++*p) {
		*bad = true; /* a trailing colon: an empty last entry */
		return true;
	}
	return true;
}

/* TLS 1.3 suites leave the key exchange to the groups: kx "any". */
static bool is_tls13(const SSL_CIPHER *c)
{
	return SSL_CIPHER_get_kx_nid(c) == NID_kx_any;
}

#define KNOWN13                                                                                              \
	" (TLS 1.3 suites: TLS_AES_256_GCM_SHA384, TLS_AES_128_GCM_SHA256, TLS_CHACHA20_POLY1305_SHA256, " \
	"TLS_AES_128_CCM_SHA256)"

/* One TLS 1.3 entry, tried on ctx: NULL, or why into buf. */
static const char *suite_problem(SSL_CTX *ctx, const char *e, char *buf, size_t len)
{
	if (SSL_CTX_set_ciphersuites(ctx, e) == 1) {
		STACK_OF(SSL_CIPHER) *sk = SSL_CTX_get_ciphers(ctx);
		for (int i = 0; i < sk_SSL_CIPHER_num(sk); i++) {
			const SSL_CIPHER *c = sk_SSL_CIPHER_value(sk, i);
			if (is_tls13(c) && strcmp(SSL_CIPHER_standard_name(c), e) == 0)
				return NULL;
		}
	}
	snprintf(buf, len, "%s is not a TLS 1.3 cipher suite OpenSSL knows" KNOWN13, e);
	return buf;
}

/* One TLS 1.2 entry, tried on ctx: NULL, or why into buf. */
static const char *cipher_problem(SSL_CTX *ctx, const char *e, char *buf, size_t len)
{
	int n = 0;

	if (strchr("!+-@", e[0]) || strpbrk(e, " ,;")) {
		snprintf(buf, len, "%s: entries are cipher names or aliases, without OpenSSL's operators", e);
		return buf;
	}
	if (SSL_CTX_set_cipher_list(ctx, e) == 1) {
		STACK_OF(SSL_CIPHER) *sk = SSL_CTX_get_ciphers(ctx);
		for (int i = 0; i < sk_SSL_CIPHER_num(sk); i++) {
			const SSL_CIPHER *c = sk_SSL_CIPHER_value(sk, i);
			if (is_tls13(c))
				continue;
			n++;
			if (SSL_CIPHER_get_kx_nid(c) == NID_kx_ecdhe && SSL_CIPHER_is_aead(c))
				continue;
			const char *name = SSL_CIPHER_get_name(c);
			if (strcmp(name, e) == 0)
				snprintf(buf, len, "%s is not ECDHE with an AEAD cipher (forward secrecy and AEAD only)", e);
			else
				snprintf(buf, len, "%s selects %s, which is not ECDHE with an AEAD cipher "
					 "(forward secrecy and AEAD only)", e, name);
			return buf;
		}
	}
	if (n)
		return NULL;
	snprintf(buf, len, "%s is not a TLS 1.2 cipher OpenSSL knows (e.g. ECDHE-ECDSA-AES256-GCM-SHA384, "
		 "ECDHE-RSA-AES256-GCM-SHA384, ECDHE-ECDSA-CHACHA20-POLY1305)", e);
	return buf;
}

/*
 * A list and its entry check.  The last list accepted is remembered: what
 * this OpenSSL knows does not change while the process runs, and a
 * scratch SSL_CTX costs more than the rest of a reload, so a list accepted
 * once is not checked again.
 */
struct list_kind {
	const char *(*entry_problem)(SSL_CTX *ctx, const char *e, char *buf, size_t len);
	const char *empty; /* why an empty list is refused */
	pthread_mutex_t lock;
	char *accepted;
};

static struct list_kind suites = { suite_problem, "must name at least one cipher suite" KNOWN13,
				   PTHREAD_MUTEX_INITIALIZER, NULL };
static struct list_kind ciphers = { cipher_problem, "must name at least one cipher (e.g. ECDHE-ECDSA-AES256-GCM-SHA384)",
				    PTHREAD_MUTEX_INITIALIZER, NULL };

static const char *list_problem(struct list_kind *k, const char *value, char *buf, size_t len)
{
	const char *p = value, *ret = NULL;
	char e[ENTRY_MAX], *copy;
	bool bad;

	pthread_mutex_lock(&k->lock);
	bool known = k->accepted && strcmp(k->accepted, value) == 0;
	pthread_mutex_unlock(&k->lock);
	if (known)
		return NULL;
	if (!*value)
		return snprintf(buf, len, "%s", k->empty), buf;
	SSL_CTX *ctx = SSL_CTX_new(TLS_method());
	if (!ctx) {
		ERR_clear_error();
		return snprintf(buf, len, "cannot be checked: OpenSSL cannot make a TLS context"), buf;
	}
	while (!ret && next_entry(&p, e, sizeof(e), &bad))
		ret = bad ? (snprintf(buf, len, "has an empty entry (entries are joined by single colons)"), buf)
			  : k->entry_problem(ctx, e, buf, len);
	SSL_CTX_free(ctx);
	ERR_clear_error();
	if (ret)
		return ret;
	if (!(copy = strdup(value)))
		abort();
	pthread_mutex_lock(&k->lock);
	free(k->accepted);
	k->accepted = copy;
	pthread_mutex_unlock(&k->lock);
	return NULL;
}

const char *tlspolicy_ciphersuites_problem(const char *value, char *buf, size_t len)
{
	return list_problem(&suites, value, buf, len);
}

const char *tlspolicy_ciphers_problem(const char *value, char *buf, size_t len)
{
	return list_problem(&ciphers, value, buf, len);
}
