/* SPDX-License-Identifier: MIT */
/*
 * tlspolicy.h - which TLS cipher suites the daemon may be configured with,
 * judged by the OpenSSL it runs on.
 *
 * tunnel.tls_ciphersuites (TLS 1.3) and tunnel.tls_ciphers (TLS 1.2) are
 * checked here, entry by entry, so that a bad list is refused when the
 * configuration is loaded, with the entry named, instead of failing later
 * when a TLS context is built.  TLS 1.2 keeps the daemon's policy: every
 * suite an entry selects must have forward secrecy (ECDHE) and an AEAD
 * cipher.  A leaf: OpenSSL only, any thread; the last list each check
 * accepted is remembered, so an unchanged list costs a string compare.
 */
#ifndef SSS_TLSPOLICY_H
#define SSS_TLSPOLICY_H

#include <stddef.h>

/* NULL when value is a colon-separated list of TLS 1.3 cipher suites this
 * OpenSSL has (standard names, "TLS_AES_256_GCM_SHA384"); else the reason,
 * naming the first bad entry, written into buf. */
const char *tlspolicy_ciphersuites_problem(const char *value, char *buf, size_t len);

/* NULL when value is a colon-separated list of OpenSSL TLS 1.2 cipher
 * names (or aliases) each selecting at least one suite, and every suite
 * selected being ECDHE with an AEAD cipher; else the reason, naming the
 * first bad entry (and the offending suite), written into buf. */
const char *tlspolicy_ciphers_problem(const char *value, char *buf, size_t len);

#endif
