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
	O_SNMP_LAST_RESULT, O_SNMP_LAST_VERSION, O_SNMP_LAST_ERROR,
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

/* One instance: a scalar (obj >= 0) or a history cell (col, row). */
struct mib_inst {
	int obj;
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

/* mibset.c: the SET modes, and the write-back component's set-up. */
int mib_set_handler(struct mib *m, netsnmp_agent_request_info *reqinfo, netsnmp_request_info *requests);
void mib_set_component_init(struct mib *m);

#endif
