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

/* In OID order; the history table (sssObjects.3) sits between groups 2
 * and 4.  A writable object backed by an integer setting takes its range
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
};

/* ---- the object --------------------------------------------------------- */

static pthread_once_t bounds_once = PTHREAD_ONCE_INIT;

/* The ranges of the writable integer objects, from the settings table. */
static void mib_scalars_init(void)
{
	for (size_t i = 0; i < O_N; i++) {
		const struct cfg_setting *row = mib_scalars[i].key ? cfg_setting_find(mib_scalars[i].key) : NULL;
		if (row && row->type == CFG_T_INT) {
			mib_scalars[i].min = (long)row->min;
			mib_scalars[i].max = (long)row->max;
		}
	}
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

void mib_free(struct mib *m)
{
	if (!m)
		return;
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
static void view_hist(struct mib_view *v)
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

static size_t scalar_oid(int obj, oid *out)
{
	memcpy(out, mib_root, sizeof(mib_root));
	out[MIB_ROOT_LEN] = 1;
	out[MIB_ROOT_LEN + 1] = mib_scalars[obj].g;
	out[MIB_ROOT_LEN + 2] = mib_scalars[obj].o;
	out[MIB_ROOT_LEN + 3] = 0;
	return MIB_ROOT_LEN + 4;
}

static size_t row_oid(int col, uint32_t version, oid *out)
{
	memcpy(out, mib_root, sizeof(mib_root));
	out[MIB_ROOT_LEN] = 1;
	out[MIB_ROOT_LEN + 1] = 3;
	out[MIB_ROOT_LEN + 2] = 1;
	out[MIB_ROOT_LEN + 3] = (oid)col;
	out[MIB_ROOT_LEN + 4] = version;
	return MIB_ROOT_LEN + 5;
}

static bool after(const oid *cand, size_t clen, const oid *name, size_t len, bool inclusive)
{
	int c = snmp_oid_compare(cand, clen, name, len);
	return c > 0 || (inclusive && c == 0);
}

int mib_find(struct mib_view *v, const oid *name, size_t len, bool next, bool inclusive,
	     struct mib_inst *in)
{
	memset(in, 0, sizeof(*in));
	in->obj = -1;
	if (next) {
		for (int pass = 0; pass < 3; pass++) {
			if (pass == 1) {
				view_hist(v);
				for (int col = 2; col <= 5; col++)
					for (size_t r = 0; r < v->nh; r++) {
						in->len = row_oid(col, v->h[r].version, in->name);
						if (after(in->name, in->len, name, len, inclusive)) {
							in->col = col;
							in->row = r;
							return 0;
						}
					}
				continue;
			}
			for (int o = 0; o < O_N; o++) {
				if ((pass == 0) != (mib_scalars[o].g <= 2))
					continue;
				in->len = scalar_oid(o, in->name);
				if (after(in->name, in->len, name, len, inclusive)) {
					in->obj = o;
					return 0;
				}
			}
		}
		return SNMP_ENDOFMIBVIEW;
	}
	/* Exact. */
	if (len < MIB_ROOT_LEN + 3 || snmp_oid_compare(name, MIB_ROOT_LEN, mib_root, MIB_ROOT_LEN) != 0 ||
	    name[MIB_ROOT_LEN] != 1)
		return SNMP_NOSUCHOBJECT;
	oid g = name[MIB_ROOT_LEN + 1], o = name[MIB_ROOT_LEN + 2];
	if (g == 3) {
		if (o != 1 || len < MIB_ROOT_LEN + 4 || name[MIB_ROOT_LEN + 3] < 2 || name[MIB_ROOT_LEN + 3] > 5)
			return SNMP_NOSUCHOBJECT;
		in->col = (int)name[MIB_ROOT_LEN + 3];
		if (len != MIB_ROOT_LEN + 5)
			return SNMP_NOSUCHINSTANCE;
		view_hist(v);
		for (size_t r = 0; r < v->nh; r++)
			if (v->h[r].version == name[MIB_ROOT_LEN + 4]) {
				in->row = r;
				in->len = row_oid(in->col, v->h[r].version, in->name);
				return 0;
			}
		return SNMP_NOSUCHINSTANCE;
	}
	for (int k = 0; k < O_N; k++) {
		if (mib_scalars[k].g != g || mib_scalars[k].o != o)
			continue;
		in->obj = k;
		if (len != MIB_ROOT_LEN + 4 || name[MIB_ROOT_LEN + 3] != 0)
			return SNMP_NOSUCHINSTANCE;
		in->len = scalar_oid(k, in->name);
		return 0;
	}
	return SNMP_NOSUCHOBJECT;
}

/* ---- values -------------------------------------------------------------- */

static void set_string(netsnmp_variable_list *vb, const char *s)
{
	snmp_set_var_typed_value(vb, ASN_OCTET_STR, s, mib_utf8_cut(s, 255));
}

static void set_time(netsnmp_variable_list *vb, const struct timespec *t)
{
	unsigned char d[11];

	mib_date_and_time(t, d);
	snmp_set_var_typed_value(vb, ASN_OCTET_STR, d, sizeof(d));
}

static void set_u64(netsnmp_variable_list *vb, uint64_t x)
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
	case O_FILE: set_string(vb, engine_path(v->m->e)); return;
	case O_APPLIED_AT: {
		struct timespec at = { 0 };
		view_hist(v);
		for (size_t r = 0; r < v->nh; r++)
			if (v->h[r].version == engine_version(v->m->e))
				at = v->h[r].applied_at;
		set_time(vb, &at);
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
	case O_LAST_ERROR: set_string(vb, st->last_error); return;
	case O_LAST_ATTEMPT_AT: set_time(vb, &st->last_attempt_at); return;
	case O_LAST_SUCCESS_AT: set_time(vb, &st->last_success_at); return;
	case O_LAST_DURATION: x = st->last_duration_us; break;
	case O_WATCH_STATE: x = atomic_load_explicit(&v->m->watch_state, memory_order_relaxed); break;
	case O_WATCH_EVENTS: x = (long)atomic_load_explicit(&v->m->watch_events, memory_order_relaxed); break;
	case O_THROTTLE: x = c->throttle.enabled ? 1 : 2; break;
	case O_UPLOAD_KBPS: x = c->tunnel.upload_kbps; break;
	case O_DOWNLOAD_KBPS: x = c->tunnel.download_kbps; break;
	case O_BURST_MS: x = c->throttle.burst_ms; break;
	case O_UPLOAD_RATE: x = clamp32(TS(rate_up_bps) / 1000); break;
	case O_DOWNLOAD_RATE: x = clamp32(TS(rate_down_bps) / 1000); break;
	case O_UPLOAD_WAITS: set_u64(vb, TS(limiter_waits_up)); return;
	case O_DOWNLOAD_WAITS: set_u64(vb, TS(limiter_waits_down)); return;
	case O_TUNNEL_STATE: {
		int s = ts ? atomic_load_explicit(&ts->state, memory_order_relaxed) : 0;
		x = s >= TUNNEL_DOWN && s <= TUNNEL_LISTENING ? s : TUNNEL_DOWN;
		break;
	}
	case O_SESSIONS_ACTIVE: x = clamp32(TS(sessions_active)); break;
	case O_SESSIONS_TOTAL: set_u64(vb, TS(sessions_total)); return;
	case O_BYTES_UP: set_u64(vb, TS(bytes_up)); return;
	case O_BYTES_DOWN: set_u64(vb, TS(bytes_down)); return;
	case O_PACKETS_UP: set_u64(vb, TS(packets_up)); return;
	case O_PACKETS_DOWN: set_u64(vb, TS(packets_down)); return;
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
	case O_TUN_DROPS: set_u64(vb, TS(tun_drops)); return;
	case O_START_TIME: set_time(vb, &v->m->start_real); return;
	case O_DISCONTINUITY: {
		/* The master's sysUpTime when this daemon started (its
		 * counters began), as a subagent sees it (synchronised with
		 * the master at each exchange); 0 when the master started
		 * later, i.e. saw them continuous from its start. */
		uint64_t up = netsnmp_get_agent_uptime(), ours = (now_ms() - v->m->start_ms) / 10;
		x = up > ours ? clamp32(up - ours) : 0;
		break;
	}
	case O_CONTEXT: set_string(vb, v->m->context); return;
	case O_WRITE_SCOPE: x = c->monitor.snmp_write + 1; break;
	case O_WRITES_REFUSED: x = (long)atomic_load(&v->m->writes_refused); break;
	case O_SNMP_LAST_RESULT:
	case O_SNMP_LAST_VERSION:
	case O_SNMP_LAST_ERROR: {
		char err[256];
		pthread_mutex_lock(&v->m->last_lock);
		x = obj == O_SNMP_LAST_RESULT ? (long)v->m->snmp_last_result : (long)v->m->snmp_last_version;
		memcpy(err, v->m->snmp_last_error, sizeof(err));
		pthread_mutex_unlock(&v->m->last_lock);
		if (obj == O_SNMP_LAST_ERROR) {
			set_string(vb, err);
			return;
		}
		break;
	}
	}
	snmp_set_var_typed_integer(vb, t, x);
}

static void row_value(struct mib_view *v, const struct mib_inst *in, netsnmp_variable_list *vb)
{
	const struct reload_history *h = &v->h[in->row];
	char changed[256];

	switch (in->col) {
	case 2: set_time(vb, &h->applied_at); break;
	case 3: snmp_set_var_typed_integer(vb, ASN_INTEGER, h->source); break;
	case 4: snmp_set_var_typed_value(vb, ASN_OCTET_STR, h->hash, SHA256_LEN); break;
	default:
		mib_changed_text(h->changed ? h->changed : "", changed);
		snmp_set_var_typed_value(vb, ASN_OCTET_STR, changed, strlen(changed));
		break;
	}
}

void mib_value(struct mib_view *v, const struct mib_inst *in, netsnmp_variable_list *vb)
{
	if (in->obj >= 0)
		scalar_value(v, in->obj, vb);
	else
		row_value(v, in, vb);
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

/* ---- notifications --------------------------------------------------------- */

void mib_send_note(const struct mib *m, const struct mib_note *n)
{
	static const oid trap_oid[] = { 1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0 }; /* snmpTrapOID.0 */
	oid which[MIB_ROOT_LEN + 2], name[MIB_ROOT_LEN + 4];
	netsnmp_variable_list *vars = NULL;
	bool applied = n->result == RELOAD_APPLIED;
	long src = n->source, res = n->result;
	u_long version = n->version;

	memcpy(which, mib_root, sizeof(mib_root));
	which[MIB_ROOT_LEN] = 0;
	which[MIB_ROOT_LEN + 1] = applied ? 1 : 2;
	snmp_varlist_add_variable(&vars, trap_oid, OID_LENGTH(trap_oid), ASN_OBJECT_ID, which,
				  sizeof(which));
	if (applied) {
		scalar_oid(O_VERSION, name);
		snmp_varlist_add_variable(&vars, name, MIB_ROOT_LEN + 4, ASN_UNSIGNED, &version, sizeof(version));
	}
	scalar_oid(O_LAST_SOURCE, name);
	snmp_varlist_add_variable(&vars, name, MIB_ROOT_LEN + 4, ASN_INTEGER, &src, sizeof(src));
	if (!applied) {
		scalar_oid(O_LAST_RESULT, name);
		snmp_varlist_add_variable(&vars, name, MIB_ROOT_LEN + 4, ASN_INTEGER, &res, sizeof(res));
		scalar_oid(O_LAST_ERROR, name);
		snmp_varlist_add_variable(&vars, name, MIB_ROOT_LEN + 4, ASN_OCTET_STR, n->error,
					  mib_utf8_cut(n->error, 255));
	}
	/* Which daemon: its file and its context, on every notification. */
	const char *file = engine_path(m->e);
	scalar_oid(O_FILE, name);
	snmp_varlist_add_variable(&vars, name, MIB_ROOT_LEN + 4, ASN_OCTET_STR, file, mib_utf8_cut(file, 255));
	scalar_oid(O_CONTEXT, name);
	snmp_varlist_add_variable(&vars, name, MIB_ROOT_LEN + 4, ASN_OCTET_STR, m->context, strlen(m->context));
	send_v2trap(vars);
	snmp_free_varbind(vars);
}
