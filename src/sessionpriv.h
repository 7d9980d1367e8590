/* SPDX-License-Identifier: MIT */
/*
 * sessionpriv.h - the session layer's own structures, shared by its two
 * files: session.c (admission, states, closing, counting) and
 * sessionpeer.c (who the peer is: the identity checks, the revocation
 * sweep, the certificate's expiry, what the outside hears about peers).
 */
#ifndef SSS_SESSIONPRIV_H
#define SSS_SESSIONPRIV_H

#include <stdatomic.h>

#include "config.h"
#include "dpconf.h"
#include "ratelog.h"
#include "session.h"

#define SRC_BUCKETS 256
#define LOG_INTERVAL_NS (10ull * 1000000000u)
#define LOG_BURST 10
#define NS_PER_MS 1000000ull
#define NS_PER_S 1000000000ull
#define SILENT_GRACE_NS NS_PER_S /* a source's silent connection is spared this long */
#define TRIM_AFTER_NS (5 * NS_PER_S) /* memory goes back this long after a burst */
#define BULK_BUDGET (32u * 1024 * 1024) /* bulk buffers lent out at once */

/* The pending sessions of one source address. */
struct session_source {
	TAILQ_ENTRY(session_source) link;
	int family;
	uint8_t addr[16];
	TAILQ_HEAD(, session) pending;
	unsigned n;
};

/* One established peer (for max_clients of a streams transport). */
struct session_client {
	TAILQ_ENTRY(session_client) link;
	char key[160];
	unsigned sessions;
};

struct session_layer {
	struct loop *loop;
	struct tunnel_stats *stats;
	struct dpconf *conf;
	TAILQ_HEAD(, session) all, pending;
	size_t n_state[SESSION_CLOSED + 1];
	TAILQ_HEAD(, session_source) sources[SRC_BUCKETS];
	TAILQ_HEAD(, session_client) clients;
	size_t n_clients;
	uint64_t next_id;
	struct throttle throttle;
	struct loop_timer log_timer;
	struct ratelog log;
	struct session_events ev;
	struct bufpool *pool;
	struct loop_timer trim_timer;
};

static inline const struct config *running(const struct session_layer *sl)
{
	return sl->conf->cfg;
}

static inline bool is_server(const struct session_layer *sl)
{
	return running(sl)->mode == CFG_MODE_SERVER;
}

#define STAT_ADD(sl, field, n) atomic_fetch_add_explicit(&(sl)->stats->field, (n), memory_order_relaxed)
#define STAT_SUB(sl, field, n) atomic_fetch_sub_explicit(&(sl)->stats->field, (n), memory_order_relaxed)

/* session.c, for sessionpeer.c */
void session_set_state(struct session *s, enum session_state st);

/* sessionpeer.c, for session.c */
void session_peer_up(struct session *s);
void session_peer_down(struct session *s, enum session_state was, enum session_close why);

#endif
