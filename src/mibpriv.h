/* SPDX-License-Identifier: MIT */
/*
 * mibpriv.h - what mib.c (GET side) and mibset.c (SET side) share: the
 * object table, the per-call snapshot view and struct mib.  Not for other
 * modules: they use mib.h.
 */
#ifndef SSS_MIBPRIV_H
#define SSS_MIBPRIV_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>
#include <stdint.h>

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#include <net-snmp/agent/net-snmp-agent-includes.h>
#include <net-snmp/agent/agent_sysORTable.h>
#include <net-snmp/agent/agent_callbacks.h>

#include "mib.h"
#include "reload.h"
#include "session.h"

/* sssPeerTable shows at most this many rows (sssPeerRowsMax). */
#define MIB_PEER_ROWS_MAX 4096
/* ... from a snapshot at most this old. */
#define MIB_PEER_SNAPSHOT_MS 1000

/* Every scalar, in OID order. */
enum mib_obj {
	O_VERSION, O_HASH, O_FILE, O_APPLIED_AT, O_MODE, O_TRANSPORT, O_RELOAD, O_ROLLBACK,
	O_NOTIFICATIONS, O_SPINLOCK,
	O_ATTEMPTS, O_SUCCESSES, O_FAILURES, O_PARSE_ERRORS, O_VALIDATION_ERRORS, O_APPLY_ERRORS,
	O_UNCHANGED, O_LAST_RESULT, O_LAST_SOURCE, O_LAST_ERROR, O_LAST_ATTEMPT_AT,
	O_LAST_SUCCESS_AT, O_LAST_DURATION, O_WATCH_STATE, O_WATCH_EVENTS,
	O_THROTTLE, O_UPLOAD_KBPS, O_DOWNLOAD_KBPS, O_BURST_MS, O_UPLOAD_RATE, O_DOWNLOAD_RATE,
	O_UPLOAD_WAITS, O_DOWNLOAD_WAITS,
	O_TUNNEL_STATE, O_SESSIONS_ACTIVE, O_SESSIONS_TOTAL, O_BYTES_UP, O_BYTES_DOWN,
	O_PACKETS_UP, O_PACKETS_DOWN, O_HANDSHAKE_FAILURES, O_PEERS_REFUSED, O_TUNNEL_UPTIME,
	O_SESSIONS_REVOKED, O_SESSIONS_BAD, O_TUN_DROPS,
	O_START_TIME, O_DISCONTINUITY, O_CONTEXT, O_WRITE_SCOPE, O_WRITES_REFUSED,
	O_SNMP_LAST_RESULT, O_SNMP_LAST_VERSION, O_SNMP_LAST_ERROR, O_NOTES_SUPPRESSED,
	O_PEER_ROWS_MAX, O_PEER_ROWS_OMITTED,
	O_CERT_SUBJECT, O_CERT_NOT_AFTER, O_CERT_DAYS_LEFT, O_CA_NOT_AFTER, O_CRL_NEXT_UPDATE,
	O_N
};

/* A scalar: sssObjects.g.o.0. */
struct mib_scalar {
	uint8_t g, o;
	u_char type;       /* ASN_* of its value */
	bool writable;
	const char *key;   /* writable rate objects: the setting */
	long min, max;     /* writable: the range of the value (a setting's: its row's) */
};

/* Constant but for the ranges of setting-backed objects, filled from the
 * settings table once, before the first handler runs (mib_new). */
extern struct mib_scalar mib_scalars[O_N];
extern const oid mib_root[MIB_ROOT_LEN];

struct mib {
	struct engine *e;
	const struct tunnel_stats *ts;
	netsnmp_handler_registration *reg; /* while registered (SNMP thread) */
	char *context;         /* the context registered in ("" default; SNMP thread) */
	uint64_t set_since_ms; /* a SET transaction is open since (0: none; SNMP thread) */
	long spinlock;         /* sssConfigSpinLock (SNMP thread) */
	int call_timeout_ms;   /* a SET phase's wait for the engine: MIB_CALL_TIMEOUT_MS */
	_Atomic uint32_t writes_refused; /* SETs beyond monitor.snmp_write */
	uint64_t refused_logged_ms;      /* last refusal logged (SNMP thread) */
	struct timespec start_real;      /* when the daemon started */
	uint64_t start_ms;               /* the same, monotonic */

	/* The last attempt that came from SNMP (a SET, reload or rollback):
	 * readable without racing file edits.  Under last_lock. */
	pthread_mutex_t last_lock;
	enum reload_result snmp_last_result;
	uint32_t snmp_last_version;
	char snmp_last_error[256];
	_Atomic int watch_state;
	_Atomic uint32_t watch_events;
	_Atomic uint32_t notes_suppressed; /* flapping peers' notifications not sent */

	/* The sessions, for sssPeerTable (SNMP thread): where to ask, and the
	 * last snapshot (rows sorted by id). */
	mib_sessions_fn *sessions;
	void *sessions_ctx;
	struct session_record *peers;
	size_t n_peers, peers_total;
	uint64_t peers_at_ms;

	/* sssCert, worked out once per running configuration (SNMP thread). */
	struct config *cert_cfg;
	char cert_subject[256];
	int64_t cert_not_after, ca_not_after, crl_next_update;

	/* The write-back component (control thread only). */
	struct component component;
	const unsigned char *pending; /* the candidate bytes the running SET is applying */
	size_t pending_len;
	const struct config *pending_base; /* the version on disk they replace */
	const struct cfg_errors *veto; /* when set, prepare refuses with these errors */
};

/* What one handler call read, loaded on first use. */
struct mib_view {
	struct mib *m;
	bool have_stats, have_hist;
	struct reload_stats st;
	struct config *cur;
	struct reload_history *h; /* oldest first */
	size_t nh;
};

const struct reload_stats *mib_view_stats(struct mib_view *v);
struct config *mib_view_cfg(struct mib_view *v);
void mib_view_free(struct mib_view *v);

/*
 * A table under sssObjects: sub (1 or 2 arcs after sssObjects) is the
 * table, sub.1 its entry, sub.1.col a column, and one sub-identifier, the
 * row's key, indexes a row.  Rows are kept in key order.
 */
struct mib_table {
	oid sub[2];
	size_t sublen;
	int col_min, col_max;
	size_t (*rows)(struct mib_view *v);
	uint32_t (*key)(struct mib_view *v, size_t row);
	void (*value)(struct mib_view *v, size_t row, int col, netsnmp_variable_list *vb);
};

/* mibrows.c: every table, in OID order. */
extern const struct mib_table *const mib_tables[];
extern const size_t mib_n_tables;

/* One instance: a scalar (obj >= 0) or a table's cell (tab, col, row). */
struct mib_inst {
	int obj;
	const struct mib_table *tab;
	int col;
	size_t row;
	oid name[MAX_OID_LEN];
	size_t len;
};

/* Find name exactly (0, or SNMP_NOSUCHOBJECT / SNMP_NOSUCHINSTANCE with
 * in->obj set when the object exists), or the first instance after it
 * (0, or SNMP_ENDOFMIBVIEW). */
int mib_find(struct mib_view *v, const oid *name, size_t len, bool next, bool inclusive,
	     struct mib_inst *in);
void mib_value(struct mib_view *v, const struct mib_inst *in, netsnmp_variable_list *vb);

/* mib.c, for mibrows.c and mibnote.c: value helpers, and the history. */
void mib_set_string(netsnmp_variable_list *vb, const char *s);
void mib_set_time(netsnmp_variable_list *vb, const struct timespec *t);
void mib_set_u64(netsnmp_variable_list *vb, uint64_t x);
/* InetAddressType (type) or InetAddress of family/addr. */
void mib_set_inet(netsnmp_variable_list *vb, int family, const uint8_t addr[16], bool type);
/* DateAndTime of a time_t; zero length for 0 (none). */
void mib_set_date(netsnmp_variable_list *vb, int64_t t);
void mib_view_hist(struct mib_view *v);
size_t mib_scalar_oid(int obj, oid *out);
/* mibrows.c: the sssCert values of the running configuration, and the
 * snapshot of the sessions (refreshed when older than
 * MIB_PEER_SNAPSHOT_MS; SNMP thread). */
void mib_cert_info(struct mib_view *v);
void mib_peer_snapshot(struct mib *m);

/* mibset.c: the SET modes, and the write-back component's set-up. */
int mib_set_handler(struct mib *m, netsnmp_agent_request_info *reqinfo, netsnmp_request_info *requests);
void mib_set_component_init(struct mib *m);

#endif
