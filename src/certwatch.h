/* SPDX-License-Identifier: MIT */
/*
 * certwatch.h - expiry seen before it bites.  On the control thread, the
 * running configuration's own certificate, its CAs and its CRLs are
 * checked after every applied reload, when a certificate enters the
 * tunnel.expiry_warn_days window or expires, when a CRL passes its
 * nextUpdate, and once a day: each certificate inside the window (or past
 * its end) is logged (event=cert_expiring / cert_expired) and announced
 * through the notify callback (sssCertExpiring).  Peer certificates are
 * the session layer's: it knows them.
 */
#ifndef SSS_CERTWATCH_H
#define SSS_CERTWATCH_H

#include <stdint.h>
#include <time.h>

#include "pki.h"

struct engine;
struct certwatch;

/* Reports go to fn(ctx, ...) on the control thread (may be NULL). */
typedef void certwatch_notify_fn(void *ctx, enum pki_cert_kind kind, const char *subject, time_t not_after);

/* Watch e's running configuration (an engine observer: every applied
 * change makes the next tick check). */
struct certwatch *certwatch_new(struct engine *e, certwatch_notify_fn *fn, void *ctx);
void certwatch_free(struct certwatch *cw);
/* Milliseconds until a check is due at wall-clock time now (for poll). */
int certwatch_timeout(const struct certwatch *cw, time_t now);
/* Check when due; returns the number of certificates reported. */
int certwatch_tick(struct certwatch *cw, time_t now);

/* The log line of one report (also the session layer's, for peers):
 * event=cert_expiring (warning) inside the window, event=cert_expired
 * (error) past its end. */
void certwatch_log(enum pki_cert_kind kind, const char *subject, time_t not_after, time_t now);

#endif
