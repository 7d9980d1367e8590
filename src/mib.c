/* SPDX-License-Identifier: MIT */
/*
 * mib.c - SSSONECTOR-MIB: GET and GETNEXT over one subtree registration,
 * and notifications.  The SET side (one PDU = one engine request) is in
 * mibset.c; both share mibpriv.h.
 *
 * Runs on the SNMP thread.  A GET never waits for the engine: it reads a
 * copy of the counters, history and running snapshot (engine_stats,
 * engine_history, engine_current) and the tunnel's relaxed atomics.
 */
#include "mibpriv.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "stats.h"
#include "util.h"

const oid mib_root[MIB_ROOT_LEN] = { MIB_ROOT };

/* In OID order (the tables, mibrows.c, sit between them).  A writable object backed by an integer setting takes its range
 * from the setting's row (mib_scalars_init), never from a copy here. */
struct mib_scalar mib_scalars[O_N] = {
	[O_VERSION] = { 1, 1, ASN_UNSIGNED },
	[O_HASH] = { 1, 2, ASN_OCTET_STR },
	[O_FILE] = { 1, 3, ASN_OCTET_STR },
	[O_APPLIED_AT] = { 1, 4, ASN_OCTET_STR },
	[O_MODE] = { 1, 5, ASN_INTEGER },
	[O_TRANSPORT] = { 1, 6, ASN_INTEGER },
	[O_RELOAD] = { 1, 7, ASN_INTEGER, true, NULL, 1, 2 },
	[O_ROLLBACK] = { 1, 8, ASN_UNSIGNED, true, NULL, 1, 4294967295L },
	[O_NOTIFICATIONS] = { 1, 9, ASN_INTEGER, true, "monitor.notifications", 1, 2 },
	[O_SPINLOCK] = { 1, 10, ASN_INTEGER, true, NULL, 0, 2147483647L },
	[O_ATTEMPTS] = { 2, 1, ASN_COUNTER },
	[O_SUCCESSES] = { 2, 2, ASN_COUNTER },
	[O_FAILURES] = { 2, 3, ASN_COUNTER },
	[O_PARSE_ERRORS] = { 2, 4, ASN_COUNTER },
	[O_VALIDATION_ERRORS] = { 2, 5, ASN_COUNTER },
	[O_APPLY_ERRORS] = { 2, 6, ASN_COUNTER },
	[O_UNCHANGED] = { 2, 7, ASN_COUNTER },
	[O_LAST_RESULT] = { 2, 8, ASN_INTEGER },
	[O_LAST_SOURCE] = { 2, 9, ASN_INTEGER },
	[O_LAST_ERROR] = { 2, 10, ASN_OCTET_STR },
	[O_LAST_ATTEMPT_AT] = { 2, 11, ASN_OCTET_STR },
	[O_LAST_SUCCESS_AT] = { 2, 12, ASN_OCTET_STR },
	[O_LAST_DURATION] = { 2, 13, ASN_UNSIGNED },
	[O_WATCH_STATE] = { 2, 14, ASN_INTEGER },
	[O_WATCH_EVENTS] = { 2, 15, ASN_COUNTER },
	[O_THROTTLE] = { 4, 1, ASN_INTEGER, true, "throttle.enabled", 1, 2 },
	[O_UPLOAD_KBPS] = { 4, 2, ASN_UNSIGNED, true, "tunnel.upload_kbps" },
	[O_DOWNLOAD_KBPS] = { 4, 3, ASN_UNSIGNED, true, "tunnel.download_kbps" },
	[O_BURST_MS] = { 4, 4, ASN_UNSIGNED, true, "throttle.burst_ms" },
	[O_UPLOAD_RATE] = { 4, 5, ASN_GAUGE },
	[O_DOWNLOAD_RATE] = { 4, 6, ASN_GAUGE },
	[O_UPLOAD_WAITS] = { 4, 7, ASN_COUNTER64 },
	[O_DOWNLOAD_WAITS] = { 4, 8, ASN_COUNTER64 },
	[O_TUNNEL_STATE] = { 5, 1, ASN_INTEGER },
	[O_SESSIONS_ACTIVE] = { 5, 2, ASN_GAUGE },
	[O_SESSIONS_TOTAL] = { 5, 3, ASN_COUNTER64 },
	[O_BYTES_UP] = { 5, 4, ASN_COUNTER64 },
	[O_BYTES_DOWN] = { 5, 5, ASN_COUNTER64 },
	[O_PACKETS_UP] = { 5, 6, ASN_COUNTER64 },
	[O_PACKETS_DOWN] = { 5, 7, ASN_COUNTER64 },
	[O_HANDSHAKE_FAILURES] = { 5, 8, ASN_COUNTER },
	[O_PEERS_REFUSED] = { 5, 9, ASN_COUNTER },
	[O_TUNNEL_UPTIME] = { 5, 10, ASN_TIMETICKS },
	[O_SESSIONS_REVOKED] = { 5, 11, ASN_COUNTER },
	[O_SESSIONS_BAD] = { 5, 12, ASN_COUNTER },
	[O_TUN_DROPS] = { 5, 13, ASN_COUNTER64 },
	[O_START_TIME] = { 6, 1, ASN_OCTET_STR },
	[O_DISCONTINUITY] = { 6, 2, ASN_TIMETICKS },
	[O_CONTEXT] = { 6, 3, ASN_OCTET_STR },
	[O_WRITE_SCOPE] = { 6, 4, ASN_INTEGER },
	[O_WRITES_REFUSED] = { 6, 5, ASN_COUNTER },
	[O_SNMP_LAST_RESULT] = { 6, 6, ASN_INTEGER },
	[O_SNMP_LAST_VERSION] = { 6, 7, ASN_UNSIGNED },
	[O_SNMP_LAST_ERROR] = { 6, 8, ASN_OCTET_STR },
	[O_NOTES_SUPPRESSED] = { 6, 9, ASN_COUNTER },
	[O_PEER_ROWS_MAX] = { 7, 1, ASN_UNSIGNED },
	[O_PEER_ROWS_OMITTED] = { 7, 2, ASN_GAUGE },
	[O_CERT_SUBJECT] = { 8, 1, ASN_OCTET_STR },
	[O_CERT_NOT_AFTER] = { 8, 2, ASN_OCTET_STR },
	[O_CERT_DAYS_LEFT] = { 8, 3, ASN_INTEGER },
	[O_CA_NOT_AFTER] = { 8, 4, ASN_OCTET_STR },
	[O_CRL_NEXT_UPDATE] = { 8, 5, ASN_OCTET_STR },
};

/* ---- the object --------------------------------------------------------- */

static pthread_once_t bounds_once = PTHREAD_ONCE_INIT;

/* What sits under sssObjects, in OID order: each scalar, each table. */
struct node {
	oid sub[2];
	size_t sublen;
	int obj;                    /* a scalar, or -1 */
	const struct mib_table *tab;
};
static struct node nodes[O_N + 8];
static size_t n_nodes;

static int node_cmp(const void *a, const void *b)
{
	const struct node *x = a, *y = b;

	return snmp_oid_compare(x->sub, x->sublen, y->sub, y->sublen);
}

/* The ranges of the writable integer objects, from the settings table;
 * the nodes in OID order. */
static void mib_scalars_init(void)
{
	for (size_t i = 0; i < O_N; i++) {
		const struct cfg_setting *row = mib_scalars[i].key ? cfg_setting_find(mib_scalars[i].key) : NULL;
		if (row && row->type == CFG_T_INT) {
			mib_scalars[i].min = (long)row->min;
			mib_scalars[i].max = (long)row->max;
		}
		nodes[n_nodes++] = (struct node){ { mib_scalars[i].g, mib_scalars[i].o }, 2, (int)i, NULL };
	}
	for (size_t i = 0; i < mib_n_tables && n_nodes < sizeof(nodes) / sizeof(nodes[0]); i++)
		nodes[n_nodes++] = (struct node){ { mib_tables[i]->sub[0], mib_tables[i]->sub[1] },
						  mib_tables[i]->sublen, -1, mib_tables[i] };
	qsort(nodes, n_nodes, sizeof(nodes[0]), node_cmp);
}

struct mib *mib_new(struct engine *e, const struct tunnel_stats *ts)
{
	struct mib *m = xcalloc(1, sizeof(*m));

	pthread_once(&bounds_once, mib_scalars_init);

	m->e = e;
	m->ts = ts;
	m->context = xstrdup("");
	m->call_timeout_ms = MIB_CALL_TIMEOUT_MS;
	atomic_store(&m->watch_state, 3); /* disabled until published */
	clock_gettime(CLOCK_REALTIME, &m->start_real);
	m->start_ms = now_ms();
	pthread_mutex_init(&m->last_lock, NULL);
	mib_set_component_init(m);
	return m;
}

void mib_set_sessions(struct mib *m, mib_sessions_fn *fn, void *ctx)
{
	m->sessions = fn;
	m->sessions_ctx = ctx;
}

void mib_note_suppressed(struct mib *m)
{
	atomic_fetch_add_explicit(&m->notes_suppressed, 1, memory_order_relaxed);
}

void mib_free(struct mib *m)
{
	if (!m)
		return;
	free(m->peers);
	cfg_unref(m->cert_cfg);
	pthread_mutex_destroy(&m->last_lock);
	free(m->context);
	free(m);
}

void mib_note_attempt(struct mib *m, const struct reload_event *ev)
{
	if (ev->source != RELOAD_SRC_SNMP && ev->source != RELOAD_SRC_ROLLBACK)
		return;
	pthread_mutex_lock(&m->last_lock);
	m->snmp_last_result = ev->result;
	m->snmp_last_version = ev->version;
	snprintf(m->snmp_last_error, sizeof(m->snmp_last_error), "%.*s",
		 (int)mib_utf8_cut(ev->error ? ev->error : "", sizeof(m->snmp_last_error) - 1),
		 ev->error ? ev->error : "");
	pthread_mutex_unlock(&m->last_lock);
}

const struct component *mib_component(struct mib *m)
{
	return &m->component;
}

void mib_publish_watch(struct mib *m, int state, uint32_t events)
{
	atomic_store_explicit(&m->watch_state, state, memory_order_relaxed);
	atomic_store_explicit(&m->watch_events, events, memory_order_relaxed);
}

/* ---- text and time ------------------------------------------------------ */

size_t mib_utf8_cut(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n <= max)
		return n;
	n = max;
	/* Back up to the first byte of the character that would be cut. */
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	return n;
}

void mib_changed_text(const char *changed, char out[256])
{
	static const char ellipsis[] = "\xE2\x80\xA6"; /* U+2026 */
	size_t n = strlen(changed);

	if (n <= 255) {
		memcpy(out, changed, n + 1);
		return;
	}
	n = mib_utf8_cut(changed, 255 - (sizeof(ellipsis) - 1));
	/* Keep whole keys: cut after the last comma that fits. */
	for (size_t k = n; k > 0; k--) {
		if (changed[k - 1] == ',') {
			n = k;
			break;
		}
	}
	memcpy(out, changed, n);
	memcpy(out + n, ellipsis, sizeof(ellipsis));
}

void mib_date_and_time(const struct timespec *t, unsigned char out[11])
{
	struct tm tm;
	time_t s = t->tv_sec;

	memset(out, 0, 11);
	if (t->tv_sec == 0 && t->tv_nsec == 0)
		return; /* never: all zeros */
	gmtime_r(&s, &tm);
	int year = tm.tm_year + 1900;
	out[0] = (unsigned char)(year >> 8);
	out[1] = (unsigned char)(year & 0xff);
	out[2] = (unsigned char)(tm.tm_mon + 1);
	out[3] = (unsigned char)tm.tm_mday;
	out[4] = (unsigned char)tm.tm_hour;
	out[5] = (unsigned char)tm.tm_min;
	out[6] = (unsigned char)(tm.tm_sec > 59 ? 59 : tm.tm_sec);
	out[7] = (unsigned char)(t->tv_nsec / 100000000L);
	out[8] = '+';
	out[9] = 0;
	out[10] = 0;
}

/* ---- snapshots, loaded once per handler call ------------------------- */

const struct reload_stats *mib_view_stats(struct mib_view *v)
{
	if (!v->have_stats) {
		engine_stats(v->m->e, &v->st);
		v->have_stats = true;
	}
	return &v->st;
}

struct config *mib_view_cfg(struct mib_view *v)
{
	if (!v->cur)
		v->cur = engine_current(v->m->e);
	return v->cur;
}

/* The history, oldest (lowest version) first. */
void mib_view_hist(struct mib_view *v)
{
	if (v->have_hist)
		return;
	v->nh = engine_history(v->m->e, &v->h);
	for (size_t i = 0; i < v->nh / 2; i++) {
		struct reload_history tmp = v->h[i];
		v->h[i] = v->h[v->nh - 1 - i];
		v->h[v->nh - 1 - i] = tmp;
	}
	v->have_hist = true;
}

void mib_view_free(struct mib_view *v)
{
	if (v->have_hist)
		engine_history_free(v->h, v->nh);
	cfg_unref(v->cur);
	memset(v, 0, sizeof(*v));
}

/* ---- finding instances -------------------------------------------------- */

size_t mib_scalar_oid(int obj, oid *out)
{
	memcpy(out, mib_root, sizeof(mib_root));
	out[MIB_ROOT_LEN] = 1;
	out[MIB_ROOT_LEN + 1] = mib_scalars[obj].g;
	out[MIB_ROOT_LEN + 2] = mib_scalars[obj].o;
	out[MIB_ROOT_LEN + 3] = 0;
	return MIB_ROOT_LEN + 4;
}

/* sssObjects.sub.1.col.key, or (with_key false) the column's prefix. */
static size_t cell_oid(const struct mib_table *t, int col, uint32_t key, bool with_key, oid *out)
{
	size_t n = MIB_ROOT_LEN;

	memcpy(out, mib_root, sizeof(mib_root));
	out[n++] = 1;
	for (size_t i = 0; i < t->sublen; i++)
		out[n++] = t->sub[i];
	out[n++] = 1;
	out[n++] = (oid)col;
	if (with_key)
		out[n++] = key;
	return n;
}

static bool after(const oid *cand, size_t clen, const oid *name, size_t len, bool inclusive)
{
	int c = snmp_oid_compare(cand, clen, name, len);
	return c > 0 || (inclusive && c == 0);
}

static void set_cell(struct mib_view *v, const struct mib_table *t, int col, size_t row, struct mib_inst *in)
{
	in->tab = t;
	in->col = col;
	in->row = row;
	in->len = cell_oid(t, col, t->key(v, row), true, in->name);
}

/* The first cell of t after name (column by column, rows in key order). */
static int next_cell(struct mib_view *v, const struct mib_table *t, const oid *name, size_t len, bool inclusive,
		     struct mib_inst *in)
{
	size_t n = t->rows(v);
	oid prefix[MAX_OID_LEN], cell[MAX_OID_LEN];

	for (int col = t->col_min; n && col <= t->col_max; col++) {
		size_t plen = cell_oid(t, col, 0, false, prefix), lo = 0, hi = n;
		int c = snmp_oid_compare(name, len, prefix, plen);
		if (c > 0 && (len <= plen || snmp_oid_compare(name, plen, prefix, plen) != 0))
			continue; /* past this column */
		if (c > 0) {
			/* inside the column: the first row after name */
			while (lo < hi) {
				size_t mid = lo + (hi - lo) / 2;
				size_t clen = cell_oid(t, col, t->key(v, mid), true, cell);
				if (after(cell, clen, name, len, inclusive))
					hi = mid;
				else
					lo = mid + 1;
			}
		}
		if (lo < n) {
			set_cell(v, t, col, lo, in);
			return 0;
		}
	}
	return SNMP_ENDOFMIBVIEW;
}

/* The cell name names exactly in t (name is under t's entry). */
static int exact_cell(struct mib_view *v, const struct mib_table *t, const oid *name, size_t len, size_t at,
		      struct mib_inst *in)
{
	if (len <= at + 1 || name[at] != 1 || name[at + 1] < (oid)t->col_min || name[at + 1] > (oid)t->col_max)
		return SNMP_NOSUCHOBJECT;
	in->tab = t;
	in->col = (int)name[at + 1];
	if (len != at + 3)
		return SNMP_NOSUCHINSTANCE;
	size_t lo = 0, hi = t->rows(v);
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uint32_t k = t->key(v, mid);
		if (k == name[at + 2]) {
			set_cell(v, t, in->col, mid, in);
			return 0;
		}
		if (k < name[at + 2])
			lo = mid + 1;
		else
			hi = mid;
	}
	return SNMP_NOSUCHINSTANCE;
}

int mib_find(struct mib_view *v, const oid *name, size_t len, bool next, bool inclusive,
	     struct mib_inst *in)
{
	memset(in, 0, sizeof(*in));
	in->obj = -1;
	if (next) {
		for (size_t i = 0; i < n_nodes; i++) {
			const struct node *nd = &nodes[i];
			if (nd->tab) {
				if (next_cell(v, nd->tab, name, len, inclusive, in) == 0)
					return 0;
				continue;
			}
			in->len = mib_scalar_oid(nd->obj, in->name);
			if (after(in->name, in->len, name, len, inclusive)) {
				in->obj = nd->obj;
				return 0;
			}
		}
		in->obj = -1;
		return SNMP_ENDOFMIBVIEW;
	}
	/* Exact. */
	size_t at = MIB_ROOT_LEN + 1;
	if (len < at + 1 || snmp_oid_compare(name, MIB_ROOT_LEN, mib_root, MIB_ROOT_LEN) != 0 ||
	    name[MIB_ROOT_LEN] != 1)
		return SNMP_NOSUCHOBJECT;
	for (size_t i = 0; i < n_nodes; i++) {
		const struct node *nd = &nodes[i];
		if (len < at + nd->sublen || snmp_oid_compare(name + at, nd->sublen, nd->sub, nd->sublen) != 0)
			continue;
		if (nd->tab)
			return exact_cell(v, nd->tab, name, len, at + nd->sublen, in);
		in->obj = nd->obj;
		if (len != at + 3 || name[at + 2] != 0)
			return SNMP_NOSUCHINSTANCE;
		in->len = mib_scalar_oid(nd->obj, in->name);
		return 0;
	}
	return SNMP_NOSUCHOBJECT;
}

/* ---- values -------------------------------------------------------------- */

void mib_set_string(netsnmp_variable_list *vb, const char *s)
{
	snmp_set_var_typed_value(vb, ASN_OCTET_STR, s, mib_utf8_cut(s, 255));
}

void mib_set_time(netsnmp_variable_list *vb, const struct timespec *t)
{
	unsigned char d[11];

	mib_date_and_time(t, d);
	snmp_set_var_typed_value(vb, ASN_OCTET_STR, d, sizeof(d));
}

void mib_set_date(netsnmp_variable_list *vb, int64_t t)
{
	struct timespec ts = { .tv_sec = (time_t)t };

	if (t)
		mib_set_time(vb, &ts);
	else
		snmp_set_var_typed_value(vb, ASN_OCTET_STR, "", 0);
}

void mib_set_u64(netsnmp_variable_list *vb, uint64_t x)
{
	struct counter64 c = { .high = (u_long)(x >> 32), .low = (u_long)(x & 0xffffffffu) };

	snmp_set_var_typed_value(vb, ASN_COUNTER64, &c, sizeof(c));
}

static long clamp32(uint64_t x)
{
	return (long)(x > UINT32_MAX ? UINT32_MAX : x);
}

#define TS(field) (ts ? atomic_load_explicit(&ts->field, memory_order_relaxed) : 0)

static void scalar_value(struct mib_view *v, int obj, netsnmp_variable_list *vb)
{
	const struct tunnel_stats *ts = v->m->ts;
	const struct reload_stats *st = NULL;
	struct config *c = NULL;
	u_char t = mib_scalars[obj].type;
	long x = 0;

	if (obj >= O_ATTEMPTS && obj <= O_LAST_DURATION)
		st = mib_view_stats(v);
	c = mib_view_cfg(v);
	switch (obj) {
	case O_VERSION: x = (long)engine_version(v->m->e); break;
	case O_HASH:
		snmp_set_var_typed_value(vb, ASN_OCTET_STR, c->hash, SHA256_LEN);
		return;
	case O_FILE: mib_set_string(vb, engine_path(v->m->e)); return;
	case O_APPLIED_AT: {
		struct timespec at = { 0 };
		mib_view_hist(v);
		for (size_t r = 0; r < v->nh; r++)
			if (v->h[r].version == engine_version(v->m->e))
				at = v->h[r].applied_at;
		mib_set_time(vb, &at);
		return;
	}
	case O_MODE: x = c->mode == CFG_MODE_CLIENT ? 2 : 1; break;
	case O_TRANSPORT: x = c->transport == CFG_TRANSPORT_TUN ? 2 : 1; break;
	case O_RELOAD: x = 1; break;
	case O_ROLLBACK: x = 0; break;
	case O_NOTIFICATIONS: x = c->monitor.notifications ? 1 : 2; break;
	case O_SPINLOCK: x = v->m->spinlock; break;
	case O_ATTEMPTS: x = st->attempts; break;
	case O_SUCCESSES: x = st->successes; break;
	case O_FAILURES: x = st->failures; break;
	case O_PARSE_ERRORS: x = st->parse_errors; break;
	case O_VALIDATION_ERRORS: x = st->validation_errors; break;
	case O_APPLY_ERRORS: x = st->apply_errors; break;
	case O_UNCHANGED: x = st->unchanged; break;
	case O_LAST_RESULT: x = st->last_result ? (long)st->last_result : RELOAD_APPLIED; break;
	case O_LAST_SOURCE: x = st->last_source ? (long)st->last_source : RELOAD_SRC_STARTUP; break;
	case O_LAST_ERROR: mib_set_string(vb, st->last_error); return;
	case O_LAST_ATTEMPT_AT: mib_set_time(vb, &st->last_attempt_at); return;
	case O_LAST_SUCCESS_AT: mib_set_time(vb, &st->last_success_at); return;
	case O_LAST_DURATION: x = st->last_duration_us; break;
	case O_WATCH_STATE: x = atomic_load_explicit(&v->m->watch_state, memory_order_relaxed); break;
	case O_WATCH_EVENTS: x = (long)atomic_load_explicit(&v->m->watch_events, memory_order_relaxed); break;
	case O_THROTTLE: x = c->throttle.enabled ? 1 : 2; break;
	case O_UPLOAD_KBPS: x = c->tunnel.upload_kbps; break;
	case O_DOWNLOAD_KBPS: x = c->tunnel.download_kbps; break;
	case O_BURST_MS: x = c->throttle.burst_ms; break;
	case O_UPLOAD_RATE: x = clamp32(TS(rate_up_bps) / 1000); break;
	case O_DOWNLOAD_RATE: x = clamp32(TS(rate_down_bps) / 1000); break;
	case O_UPLOAD_WAITS: mib_set_u64(vb, TS(limiter_waits_up)); return;
	case O_DOWNLOAD_WAITS: mib_set_u64(vb, TS(limiter_waits_down)); return;
	case O_TUNNEL_STATE: {
		int s = ts ? atomic_load_explicit(&ts->state, memory_order_relaxed) : 0;
		x = s >= TUNNEL_DOWN && s <= TUNNEL_LISTENING ? s : TUNNEL_DOWN;
		break;
	}
	case O_SESSIONS_ACTIVE: x = clamp32(TS(sessions_active)); break;
	case O_SESSIONS_TOTAL: mib_set_u64(vb, TS(sessions_total)); return;
	case O_BYTES_UP: mib_set_u64(vb, TS(bytes_up)); return;
	case O_BYTES_DOWN: mib_set_u64(vb, TS(bytes_down)); return;
	case O_PACKETS_UP: mib_set_u64(vb, TS(packets_up)); return;
	case O_PACKETS_DOWN: mib_set_u64(vb, TS(packets_down)); return;
	case O_HANDSHAKE_FAILURES: x = (long)(TS(handshake_failures) & 0xffffffffu); break;
	case O_PEERS_REFUSED: x = (long)(TS(peers_refused) & 0xffffffffu); break;
	case O_TUNNEL_UPTIME: {
		int s = ts ? atomic_load_explicit(&ts->state, memory_order_relaxed) : 0;
		uint64_t since = TS(state_since_ms), now = now_ms();
		x = s == TUNNEL_UP && now > since ? clamp32((now - since) / 10) : 0;
		break;
	}
	case O_SESSIONS_REVOKED: x = (long)(TS(sessions_revoked) & 0xffffffffu); break;
	case O_SESSIONS_BAD: x = (long)(TS(sessions_bad) & 0xffffffffu); break;
	case O_TUN_DROPS: {
		uint64_t sum = 0;
		for (size_t i = 0; i < TUN_DROP_N; i++)
			sum += TS(tun_drop[i]);
		mib_set_u64(vb, sum);
		return;
	}
	case O_START_TIME: mib_set_time(vb, &v->m->start_real); return;
	case O_DISCONTINUITY: {
		/* The master's sysUpTime when this daemon started (its
		 * counters began), as a subagent sees it (synchronised with
		 * the master at each exchange); 0 when the master started
		 * later, i.e. saw them continuous from its start. */
		uint64_t up = netsnmp_get_agent_uptime(), ours = (now_ms() - v->m->start_ms) / 10;
		x = up > ours ? clamp32(up - ours) : 0;
		break;
	}
	case O_CONTEXT: mib_set_string(vb, v->m->context); return;
	case O_WRITE_SCOPE: x = c->monitor.snmp_write + 1; break;
	case O_WRITES_REFUSED: x = (long)atomic_load(&v->m->writes_refused); break;
	case O_NOTES_SUPPRESSED: x = (long)atomic_load(&v->m->notes_suppressed); break;
	case O_PEER_ROWS_MAX: x = MIB_PEER_ROWS_MAX; break;
	case O_PEER_ROWS_OMITTED:
		mib_peer_snapshot(v->m);
		x = clamp32(v->m->peers_total - v->m->n_peers);
		break;
	case O_CERT_SUBJECT:
		mib_cert_info(v);
		mib_set_string(vb, v->m->cert_subject);
		return;
	case O_CERT_DAYS_LEFT: {
		mib_cert_info(v);
		int64_t left = v->m->cert_not_after - (int64_t)time(NULL);
		/* whole days, rounded down: -1 as soon as it has passed */
		x = (long)(left >= 0 ? left / 86400 : -((-left + 86399) / 86400));
		break;
	}
	case O_CERT_NOT_AFTER:
	case O_CA_NOT_AFTER:
	case O_CRL_NEXT_UPDATE: {
		mib_cert_info(v);
		int64_t when = obj == O_CERT_NOT_AFTER ? v->m->cert_not_after
			       : obj == O_CA_NOT_AFTER ? v->m->ca_not_after : v->m->crl_next_update;
		mib_set_date(vb, when);
		return;
	}
	case O_SNMP_LAST_RESULT:
	case O_SNMP_LAST_VERSION:
	case O_SNMP_LAST_ERROR: {
		char err[256];
		pthread_mutex_lock(&v->m->last_lock);
		x = obj == O_SNMP_LAST_RESULT ? (long)v->m->snmp_last_result : (long)v->m->snmp_last_version;
		memcpy(err, v->m->snmp_last_error, sizeof(err));
		pthread_mutex_unlock(&v->m->last_lock);
		if (obj == O_SNMP_LAST_ERROR) {
			mib_set_string(vb, err);
			return;
		}
		break;
	}
	}
	snmp_set_var_typed_integer(vb, t, x);
}

void mib_value(struct mib_view *v, const struct mib_inst *in, netsnmp_variable_list *vb)
{
	if (in->obj >= 0)
		scalar_value(v, in->obj, vb);
	else
		in->tab->value(v, in->row, in->col, vb);
}

/* ---- the handler ----------------------------------------------------------- */

int mib_handler(netsnmp_mib_handler *handler, netsnmp_handler_registration *reginfo,
		netsnmp_agent_request_info *reqinfo, netsnmp_request_info *requests)
{
	struct mib *m = handler->myvoid;
	struct mib_view v = { .m = m };
	struct mib_inst in;

	switch (reqinfo->mode) {
	case MODE_GET:
	case MODE_GETNEXT:
		for (netsnmp_request_info *r = requests; r; r = r->next) {
			netsnmp_variable_list *vb = r->requestvb;
			bool next = reqinfo->mode == MODE_GETNEXT;
			if (r->processed)
				continue;
			int err = mib_find(&v, vb->name, vb->name_length, next, next && r->inclusive, &in);
			if (err == 0) {
				if (next)
					snmp_set_var_objid(vb, in.name, in.len);
				mib_value(&v, &in, vb);
			} else if (!next) {
				netsnmp_set_request_error(reqinfo, r, err);
			}
			/* GETNEXT past the end: left untouched, the agent goes on. */
		}
		break;
	default:
		mib_view_free(&v);
		return mib_set_handler(m, reqinfo, requests);
	}
	mib_view_free(&v);
	return SNMP_ERR_NOERROR;
}

const char *mib_context(const struct mib *m)
{
	return m->context;
}

void mib_set_context(struct mib *m, const char *context)
{
	free(m->context);
	m->context = xstrdup(context);
}

int mib_register(struct mib *m)
{
	netsnmp_handler_registration *reg;

	if (m->reg)
		return 0;
	reg = netsnmp_create_handler_registration("sssonector", mib_handler, mib_root, MIB_ROOT_LEN,
						  HANDLER_CAN_RWRITE);
	if (!reg)
		return -1;
	reg->handler->myvoid = m;
	if (*m->context)
		reg->contextName = strdup(m->context);
	if (netsnmp_register_handler(reg) != MIB_REGISTERED_OK)
		return -1; /* the library freed reg */
	m->reg = reg;
	return 0;
}

void mib_reregister(struct mib *m)
{
	oid root[MIB_ROOT_LEN] = { MIB_ROOT };
	struct register_parameters p = {
		.name = root,
		.namelen = MIB_ROOT_LEN,
		.priority = m->reg ? m->reg->priority : DEFAULT_MIB_PRIORITY,
		.contextName = *m->context ? m->context : NULL,
		.reginfo = m->reg,
	};

	if (m->reg)
		snmp_call_callbacks(SNMP_CALLBACK_APPLICATION, SNMPD_CALLBACK_REGISTER_OID, &p);
}

void mib_sysor(struct mib *m, bool listed)
{
	oid root[MIB_ROOT_LEN] = { MIB_ROOT };

	if (listed)
		register_sysORTable(root, MIB_ROOT_LEN, "SSSONECTOR-MIB: the SSSonector tunnel daemon");
	else
		unregister_sysORTable(root, MIB_ROOT_LEN);
}

void mib_unregister(struct mib *m)
{
	if (!m->reg)
		return;
	oid root[MIB_ROOT_LEN] = { MIB_ROOT };
	/* Not netsnmp_unregister_handler(): 5.9.3 hands it reg->contextName,
	 * frees reg with the subtree, and reads the name again (use after
	 * free).  The same call with our own copy of the name. */
	char *context = *m->context ? m->context : NULL;
	unregister_mib_context(root, MIB_ROOT_LEN, m->reg->priority, m->reg->range_subid, m->reg->range_ubound,
			       context);
	m->reg = NULL;
}

void mib_forget(struct mib *m)
{
	m->reg = NULL;
}

const char *mib_root_text(void)
{
	static char text[MIB_ROOT_LEN * 12];
	size_t n = 0;

	if (!text[0])
		for (size_t i = 0; i < MIB_ROOT_LEN; i++)
			n += (size_t)snprintf(text + n, sizeof(text) - n, "%s%lu", i ? "." : "",
					      (unsigned long)mib_root[i]);
	return text;
}
