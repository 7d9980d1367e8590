/* SPDX-License-Identifier: MIT */
/*
 * mibnote.c - SSSONECTOR-MIB's notifications, built from a struct
 * mib_note and sent through the master (SNMP thread).  Every one ends
 * with sssConfigFile and sssAgentContext: which daemon sent it.
 */
#include <string.h>

#include "mibpriv.h"

/* sssNotifications.n */
enum { N_APPLIED = 1, N_REJECTED, N_PEER_UP, N_PEER_DOWN, N_TUNNEL_UP, N_TUNNEL_DOWN, N_CERT };
/* sssNotifyObjects.n */
enum { NO_REASON = 1, NO_CERT_KIND, NO_CERT_SUBJECT, NO_CERT_NOT_AFTER };
/* sssNotifyReason's connected(10): the reason of an Up */
#define REASON_CONNECTED 10

static size_t under_objects(const oid *sub, size_t n, oid *out)
{
	memcpy(out, mib_root, sizeof(mib_root));
	out[MIB_ROOT_LEN] = 1;
	memcpy(out + MIB_ROOT_LEN + 1, sub, n * sizeof(oid));
	return MIB_ROOT_LEN + 1 + n;
}

static void add(netsnmp_variable_list **vars, const oid *name, size_t len, u_char type, const void *val,
		size_t vlen)
{
	snmp_varlist_add_variable(vars, name, len, type, val, vlen);
}

static void add_scalar(netsnmp_variable_list **vars, int obj, u_char type, const void *val, size_t vlen)
{
	oid name[MAX_OID_LEN];

	add(vars, name, mib_scalar_oid(obj, name), type, val, vlen);
}

static void add_notify_object(netsnmp_variable_list **vars, oid which, u_char type, const void *val, size_t vlen)
{
	oid name[MAX_OID_LEN];
	const oid sub[] = { 9, which, 0 };

	add(vars, name, under_objects(sub, 3, name), type, val, vlen);
}

/* sssPeerTable's column col of row id. */
static void add_peer_column(netsnmp_variable_list **vars, oid col, uint32_t id, u_char type, const void *val,
			    size_t vlen)
{
	oid name[MAX_OID_LEN];
	const oid sub[] = { 7, 3, 1, col, id };

	add(vars, name, under_objects(sub, 5, name), type, val, vlen);
}

static void reload_objects(netsnmp_variable_list **vars, const struct mib_note *n)
{
	long src = n->source, res = n->result;
	u_long version = n->version;

	if (n->result == RELOAD_APPLIED)
		add_scalar(vars, O_VERSION, ASN_UNSIGNED, &version, sizeof(version));
	add_scalar(vars, O_LAST_SOURCE, ASN_INTEGER, &src, sizeof(src));
	if (n->result != RELOAD_APPLIED) {
		add_scalar(vars, O_LAST_RESULT, ASN_INTEGER, &res, sizeof(res));
		add_scalar(vars, O_LAST_ERROR, ASN_OCTET_STR, n->error, mib_utf8_cut(n->error, 255));
	}
}

static void peer_objects(netsnmp_variable_list **vars, const struct mib_note *n)
{
	long type = n->family == AF_INET ? 1 : n->family == AF_INET6 ? 2 : 0, reason = n->reason;
	u_long port = n->port;
	uint8_t tun[16] = { 0 };
	int tf = mib_inet_text(n->tun_address, tun);
	long tun_type = tf == AF_INET ? 1 : tf == AF_INET6 ? 2 : 0;
	size_t alen = type == 1 ? 4 : type == 2 ? 16 : 0, tlen = tun_type == 1 ? 4 : tun_type == 2 ? 16 : 0;

	add_peer_column(vars, 2, n->id, ASN_OCTET_STR, n->name, mib_utf8_cut(n->name, 64));
	add_peer_column(vars, 3, n->id, ASN_OCTET_STR, n->subject, mib_utf8_cut(n->subject, 160));
	add_peer_column(vars, 4, n->id, ASN_INTEGER, &type, sizeof(type));
	add_peer_column(vars, 5, n->id, ASN_OCTET_STR, n->addr, alen);
	add_peer_column(vars, 6, n->id, ASN_UNSIGNED, &port, sizeof(port));
	add_peer_column(vars, 7, n->id, ASN_INTEGER, &tun_type, sizeof(tun_type));
	add_peer_column(vars, 8, n->id, ASN_OCTET_STR, tun, tlen);
	if (!n->up)
		add_notify_object(vars, NO_REASON, ASN_INTEGER, &reason, sizeof(reason));
}

static void tunnel_objects(const struct mib *m, netsnmp_variable_list **vars, const struct mib_note *n)
{
	long state = n->up ? TUNNEL_UP : m->ts ? atomic_load(&m->ts->state) : TUNNEL_DOWN;
	long reason = n->up ? REASON_CONNECTED : n->reason;

	if (state == TUNNEL_UP && !n->up)
		state = TUNNEL_CONNECTING; /* the counter may not have moved yet */
	add_scalar(vars, O_TUNNEL_STATE, ASN_INTEGER, &state, sizeof(state));
	add_notify_object(vars, NO_REASON, ASN_INTEGER, &reason, sizeof(reason));
}

static void cert_objects(netsnmp_variable_list **vars, const struct mib_note *n)
{
	long kind = n->cert_kind;
	struct timespec t = { .tv_sec = (time_t)n->not_after };
	unsigned char when[11];

	mib_date_and_time(&t, when);
	add_notify_object(vars, NO_CERT_KIND, ASN_INTEGER, &kind, sizeof(kind));
	add_notify_object(vars, NO_CERT_SUBJECT, ASN_OCTET_STR, n->cert_subject, mib_utf8_cut(n->cert_subject, 255));
	add_notify_object(vars, NO_CERT_NOT_AFTER, ASN_OCTET_STR, when, sizeof(when));
}

const char *mib_note_name(const struct mib_note *n)
{
	switch (n->kind) {
	case MIB_NOTE_RELOAD: return n->result == RELOAD_APPLIED ? "sssReloadApplied" : "sssReloadRejected";
	case MIB_NOTE_PEER: return n->up ? "sssPeerUp" : "sssPeerDown";
	case MIB_NOTE_TUNNEL: return n->up ? "sssTunnelUp" : "sssTunnelDown";
	case MIB_NOTE_CERT: return "sssCertExpiring";
	}
	return "?";
}

void mib_send_note(const struct mib *m, const struct mib_note *n)
{
	static const oid trap_oid[] = { 1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0 }; /* snmpTrapOID.0 */
	oid which[MIB_ROOT_LEN + 2];
	netsnmp_variable_list *vars = NULL;

	memcpy(which, mib_root, sizeof(mib_root));
	which[MIB_ROOT_LEN] = 0;
	switch (n->kind) {
	case MIB_NOTE_RELOAD: which[MIB_ROOT_LEN + 1] = n->result == RELOAD_APPLIED ? N_APPLIED : N_REJECTED; break;
	case MIB_NOTE_PEER: which[MIB_ROOT_LEN + 1] = n->up ? N_PEER_UP : N_PEER_DOWN; break;
	case MIB_NOTE_TUNNEL: which[MIB_ROOT_LEN + 1] = n->up ? N_TUNNEL_UP : N_TUNNEL_DOWN; break;
	case MIB_NOTE_CERT: which[MIB_ROOT_LEN + 1] = N_CERT; break;
	}
	add(&vars, trap_oid, OID_LENGTH(trap_oid), ASN_OBJECT_ID, which, sizeof(which));
	switch (n->kind) {
	case MIB_NOTE_RELOAD: reload_objects(&vars, n); break;
	case MIB_NOTE_PEER: peer_objects(&vars, n); break;
	case MIB_NOTE_TUNNEL: tunnel_objects(m, &vars, n); break;
	case MIB_NOTE_CERT: cert_objects(&vars, n); break;
	}
	/* Which daemon: its file and its context, on every notification. */
	const char *file = engine_path(m->e);
	add_scalar(&vars, O_FILE, ASN_OCTET_STR, file, mib_utf8_cut(file, 255));
	add_scalar(&vars, O_CONTEXT, ASN_OCTET_STR, m->context, strlen(m->context));
	send_v2trap(vars);
	snmp_free_varbind(vars);
}
