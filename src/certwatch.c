/* SPDX-License-Identifier: MIT */
/*
 * certwatch.c - the daemon's certificates checked while it runs (see
 * certwatch.h).  The next check is the earliest of: a day after the last
 * one, the moment a certificate enters the warning window, the moment one
 * expires, the moment a CRL passes its nextUpdate.  So a certificate is
 * reported when it starts to matter and then once a day, and nothing
 * polls more often than that.
 */
#include <stdbool.h>
#include <stdlib.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "certwatch.h"
#include "config.h"
#include "log.h"
#include "reload.h"
#include "tls.h"

#define DAY 86400

struct certwatch {
	struct engine *e;
	certwatch_notify_fn *notify;
	void *ctx;
	bool due_now;  /* a change was applied */
	time_t next;   /* the next check (wall clock) */
};

void certwatch_log(enum pki_cert_kind kind, const char *subject, time_t not_after, time_t now)
{
	char when[40], q[600];
	long long days = (long long)(not_after - now) / DAY;

	pki_time_text(not_after, when, sizeof(when));
	if (now > not_after)
		log_error("tls", "event=cert_expired kind=%s subject=%s not_after=\"%s\"", pki_cert_kind_name(kind),
			  log_quote(subject, q, sizeof(q)), when);
	else
		log_warning("tls", "event=cert_expiring kind=%s subject=%s not_after=\"%s\" days_left=%lld",
			    pki_cert_kind_name(kind), log_quote(subject, q, sizeof(q)), when, days);
}

static void observe(void *ctx, const struct reload_event *ev)
{
	struct certwatch *cw = ctx;

	/* an applied change, or a reload asked for that changed nothing (the
	 * files may still be new to the check: a SIGHUP re-checks) */
	if (ev->kind == RELOAD_EV_DONE && (ev->result == RELOAD_APPLIED || ev->result == RELOAD_UNCHANGED))
		cw->due_now = true;
}

struct certwatch *certwatch_new(struct engine *e, certwatch_notify_fn *fn, void *ctx)
{
	struct certwatch *cw = xcalloc(1, sizeof(*cw));

	cw->e = e;
	cw->notify = fn;
	cw->ctx = ctx;
	cw->due_now = true;
	engine_add_observer(e, observe, cw);
	return cw;
}

void certwatch_free(struct certwatch *cw)
{
	free(cw);
}

int certwatch_timeout(const struct certwatch *cw, time_t now)
{
	if (cw->due_now || cw->next <= now)
		return 0;
	time_t s = cw->next - now;
	return s > DAY ? DAY * 1000 : (int)s * 1000;
}

/* The earlier of *next and t, when t is still ahead. */
static void sooner(time_t *next, time_t t, time_t now)
{
	if (t > now && t < *next)
		*next = t;
}

/* Report x when it is inside the window (or expired); fold its
 * boundaries into *next. */
static int check_cert(struct certwatch *cw, enum pki_cert_kind kind, X509 *x, time_t window, time_t now,
		      time_t *next)
{
	char subject[256];
	time_t na;

	pki_validity(x, now, &na);
	if (window)
		sooner(next, na - window, now);
	sooner(next, na + 1, now);
	if (now <= na && (!window || now < na - window))
		return 0;
	pki_name_text(X509_get_subject_name(x), subject, sizeof(subject));
	certwatch_log(kind, subject, na, now);
	if (cw->notify)
		cw->notify(cw->ctx, kind, subject, na);
	return 1;
}

static int check(struct certwatch *cw, const struct config *c, time_t now, time_t *next)
{
	STACK_OF(X509) *certs = tls_pem_certs(c->cert.data, c->cert.len);
	STACK_OF(X509) *cas = tls_pem_certs(c->ca.data, c->ca.len);
	STACK_OF(X509_CRL) *crls = c->crl.data ? pki_pem_crls(c->crl.data, c->crl.len) : NULL;
	time_t window = (time_t)c->tunnel.expiry_warn_days * DAY;
	int n = 0;

	if (certs)
		n += check_cert(cw, PKI_CERT_OWN, sk_X509_value(certs, 0), window, now, next);
	for (int i = 0; cas && i < sk_X509_num(cas); i++)
		n += check_cert(cw, PKI_CERT_CA, sk_X509_value(cas, i), window, now, next);
	for (int i = 0; crls && i < sk_X509_CRL_num(crls); i++) {
		X509_CRL *crl = sk_X509_CRL_value(crls, i);
		time_t this_update, next_update;
		char who[256], when[40], q[600];
		pki_crl_dates(crl, &this_update, &next_update);
		if (!next_update)
			continue;
		sooner(next, next_update + 1, now);
		if (now <= next_update)
			continue;
		pki_name_text(X509_CRL_get_issuer(crl), who, sizeof(who));
		log_warning("tls", "event=crl_stale issuer=%s next_update=\"%s\" crl_expired=%s", log_quote(who, q, sizeof(q)),
			    pki_time_text(next_update, when, sizeof(when)),
			    c->tunnel.crl_expired == CFG_CRL_EXPIRED_REFUSE ? "refuse" : "warn");
	}
	sk_X509_pop_free(certs, X509_free);
	sk_X509_pop_free(cas, X509_free);
	if (crls)
		sk_X509_CRL_pop_free(crls, X509_CRL_free);
	ERR_clear_error();
	return n;
}

int certwatch_tick(struct certwatch *cw, time_t now)
{
	if (!cw->due_now && now < cw->next)
		return 0;
	struct config *c = engine_current(cw->e);
	time_t next = now + DAY;
	int n = c ? check(cw, c, now, &next) : 0;

	cfg_unref(c);
	cw->due_now = false;
	cw->next = next;
	return n;
}
