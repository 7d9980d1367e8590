/* SPDX-License-Identifier: MIT */
/*
 * mibrows.c - SSSONECTOR-MIB's tables (struct mib_table: rows in key
 * order, one value per cell; mib.c walks them) and what they read: the
 * history, the refusals and tun drops by reason, the per-peer table from
 * a snapshot of the sessions, and the certificate objects worked out once
 * per running configuration.  SNMP thread.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "config.h"
#include "mibpriv.h"
#include "pki.h"
#include "stats.h"
#include "tls.h"
#include "util.h"

/* ---- sssHistoryTable (sssObjects.3) ---------------------------------------- */

static size_t history_rows(struct mib_view *v)
{
	mib_view_hist(v);
	return v->nh;
}

static uint32_t history_key(struct mib_view *v, size_t row)
{
	return v->h[row].version;
}

static void history_value(struct mib_view *v, size_t row, int col, netsnmp_variable_list *vb)
{
	const struct reload_history *h = &v->h[row];
	char changed[256];

	switch (col) {
	case 2: mib_set_time(vb, &h->applied_at); break;
	case 3: snmp_set_var_typed_integer(vb, ASN_INTEGER, h->source); break;
	case 4: snmp_set_var_typed_value(vb, ASN_OCTET_STR, h->hash, SHA256_LEN); break;
	default:
		mib_changed_text(h->changed ? h->changed : "", changed);
		snmp_set_var_typed_value(vb, ASN_OCTET_STR, changed, strlen(changed));
		break;
	}
}

static const struct mib_table history = { { 3 }, 1, 2, 5, history_rows, history_key, history_value };

/* ---- sssRefusedTable, sssTunDropTable (sssTunnel.14, .15) -------------------------- */

static uint32_t reason_key(struct mib_view *v, size_t row)
{
	(void)v;
	return (uint32_t)row + 1;
}

static size_t refused_rows(struct mib_view *v)
{
	(void)v;
	return REFUSED_N;
}

static void refused_value(struct mib_view *v, size_t row, int col, netsnmp_variable_list *vb)
{
	(void)col;
	mib_set_u64(vb, v->m->ts ? atomic_load_explicit(&v->m->ts->refused[row], memory_order_relaxed) : 0);
}

static size_t drop_rows(struct mib_view *v)
{
	(void)v;
	return TUN_DROP_N;
}

static void drop_value(struct mib_view *v, size_t row, int col, netsnmp_variable_list *vb)
{
	(void)col;
	mib_set_u64(vb, v->m->ts ? atomic_load_explicit(&v->m->ts->tun_drop[row], memory_order_relaxed) : 0);
}

static const struct mib_table refused = { { 5, 14 }, 2, 2, 2, refused_rows, reason_key, refused_value };
static const struct mib_table tun_drops = { { 5, 15 }, 2, 2, 2, drop_rows, reason_key, drop_value };

/* ---- sssPeerTable (sssPeers.3) ------------------------------------------------------ */

static int by_id(const void *a, const void *b)
{
	const struct session_record *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

void mib_peer_snapshot(struct mib *m)
{
	uint64_t now = now_ms();

	if (!m->sessions || (m->peers_at_ms && now - m->peers_at_ms < MIB_PEER_SNAPSHOT_MS))
		return;
	if (!m->peers)
		m->peers = xcalloc(MIB_PEER_ROWS_MAX, sizeof(*m->peers));
	/* A data thread that does not answer keeps the last snapshot (and is
	 * asked again by the next request). */
	long total = m->sessions(m->sessions_ctx, m->peers, MIB_PEER_ROWS_MAX, 200);
	if (total < 0)
		return;
	size_t n = (size_t)total < MIB_PEER_ROWS_MAX ? (size_t)total : MIB_PEER_ROWS_MAX, kept = 0;
	for (size_t i = 0; i < n; i++)
		if (m->peers[i].id <= UINT32_MAX)
			m->peers[kept++] = m->peers[i];
	qsort(m->peers, kept, sizeof(*m->peers), by_id);
	m->n_peers = kept;
	m->peers_total = (size_t)total;
	m->peers_at_ms = now;
}

void mib_peer_address(const struct sockaddr_storage *ss, int *family, uint8_t addr[16], uint16_t *port)
{
	*family = 0;
	*port = 0;
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
		*family = AF_INET;
		memcpy(addr, &a->sin_addr, 4);
		*port = ntohs(a->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
		*family = AF_INET6;
		memcpy(addr, &a->sin6_addr, 16);
		*port = ntohs(a->sin6_port);
	}
}

void mib_set_inet(netsnmp_variable_list *vb, int family, const uint8_t addr[16], bool type)
{
	if (type)
		snmp_set_var_typed_integer(vb, ASN_INTEGER, family == AF_INET ? 1 : family == AF_INET6 ? 2 : 0);
	else
		snmp_set_var_typed_value(vb, ASN_OCTET_STR, addr,
					 family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0);
}

int mib_inet_text(const char *text, uint8_t addr[16])
{
	if (text && inet_pton(AF_INET, text, addr) == 1)
		return AF_INET;
	if (text && inet_pton(AF_INET6, text, addr) == 1)
		return AF_INET6;
	return 0;
}

static size_t peer_rows(struct mib_view *v)
{
	mib_peer_snapshot(v->m);
	return v->m->n_peers;
}

static uint32_t peer_key(struct mib_view *v, size_t row)
{
	return (uint32_t)v->m->peers[row].id;
}

static void peer_value(struct mib_view *v, size_t row, int col, netsnmp_variable_list *vb)
{
	const struct session_record *r = &v->m->peers[row];
	uint8_t addr[16] = { 0 };
	uint16_t port;
	int family;
	uint64_t dropped = 0;

	switch (col) {
	case 2: mib_set_string(vb, r->name); break;
	case 3: mib_set_string(vb, r->subject); break;
	case 4:
	case 5:
	case 6:
		mib_peer_address(&r->remote, &family, addr, &port);
		if (col == 6)
			snmp_set_var_typed_integer(vb, ASN_UNSIGNED, port);
		else
			mib_set_inet(vb, family, addr, col == 4);
		break;
	case 7:
	case 8:
		family = mib_inet_text(r->tun_address, addr);
		mib_set_inet(vb, family, addr, col == 7);
		break;
	case 9: snmp_set_var_typed_integer(vb, ASN_INTEGER, r->state == SESSION_ESTABLISHED ? 3 : 2); break;
	case 10: {
		struct timespec at = { .tv_sec = (time_t)(r->established_ms / 1000),
				       .tv_nsec = (long)(r->established_ms % 1000) * 1000000L };
		if (r->established_ms)
			mib_set_time(vb, &at);
		else
			snmp_set_var_typed_value(vb, ASN_OCTET_STR, "", 0);
		break;
	}
	case 11: mib_set_u64(vb, r->octets_in); break;
	case 12: mib_set_u64(vb, r->octets_out); break;
	case 13: mib_set_u64(vb, r->packets_in); break;
	case 14: mib_set_u64(vb, r->packets_out); break;
	case 15:
		for (size_t i = 0; i < SESSION_DROP_N; i++)
			dropped += r->drops[i];
		mib_set_u64(vb, dropped);
		break;
	case 16: mib_set_u64(vb, r->limiter_waits); break;
	default: mib_set_date(vb, r->cert_not_after); break;
	}
}

static const struct mib_table peers = { { 7, 3 }, 2, 2, 17, peer_rows, peer_key, peer_value };

const struct mib_table *const mib_tables[] = { &history, &refused, &tun_drops, &peers };
const size_t mib_n_tables = sizeof(mib_tables) / sizeof(mib_tables[0]);

/* ---- sssCert --------------------------------------------------------------------------- */

static int64_t earlier(int64_t a, int64_t b)
{
	return !a || (b && b < a) ? b : a;
}

void mib_cert_info(struct mib_view *v)
{
	struct mib *m = v->m;
	struct config *c = mib_view_cfg(v);

	if (m->cert_cfg == c)
		return;
	STACK_OF(X509) *certs = tls_pem_certs(c->cert.data, c->cert.len);
	STACK_OF(X509) *cas = tls_pem_certs(c->ca.data, c->ca.len);
	STACK_OF(X509_CRL) *crls = c->crl.data ? pki_pem_crls(c->crl.data, c->crl.len) : NULL;
	time_t na, now = time(NULL);

	m->cert_subject[0] = '\0';
	m->cert_not_after = m->ca_not_after = m->crl_next_update = 0;
	if (certs) {
		pki_validity(sk_X509_value(certs, 0), now, &na);
		m->cert_not_after = na;
		pki_name_text(X509_get_subject_name(sk_X509_value(certs, 0)), m->cert_subject,
			      sizeof(m->cert_subject));
	}
	for (int i = 0; cas && i < sk_X509_num(cas); i++) {
		pki_validity(sk_X509_value(cas, i), now, &na);
		m->ca_not_after = earlier(m->ca_not_after, na);
	}
	for (int i = 0; crls && i < sk_X509_CRL_num(crls); i++) {
		time_t this_update, next_update;
		pki_crl_dates(sk_X509_CRL_value(crls, i), &this_update, &next_update);
		m->crl_next_update = earlier(m->crl_next_update, next_update);
	}
	sk_X509_pop_free(certs, X509_free);
	sk_X509_pop_free(cas, X509_free);
	if (crls)
		sk_X509_CRL_pop_free(crls, X509_CRL_free);
	ERR_clear_error();
	cfg_unref(m->cert_cfg);
	m->cert_cfg = cfg_ref(c);
}
