/* SPDX-License-Identifier: MIT */
/*
 * mib.h - SSSONECTOR-MIB's handlers: GETs read snapshots of the engine and
 * of the tunnel counters; SETs turn one SET PDU into one engine request
 * (validate in RESERVE2, apply and write back in ACTION, revert in UNDO,
 * release and announce in COMMIT).
 *
 * The handler runs on the SNMP thread only.  It never applies anything
 * itself: every change goes through engine_call() with a time limit well
 * under the master agent's 1 s.  The write-back component it registers
 * runs on the control thread, as every component does.
 */
#ifndef SSS_MIB_H
#define SSS_MIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "reload.h"

/* The module's root, 1.3.6.1.4.1.54321: the arc SSSonector has always
 * documented, not a registered IANA PEN.  The one place it is written. */
#define MIB_ROOT 1, 3, 6, 1, 4, 1, 54321
#define MIB_ROOT_LEN 7

/* How long a SET phase waits for the engine (the master waits 1 s). */
#define MIB_CALL_TIMEOUT_MS 400

struct mib;
struct engine;
struct tunnel_stats;
struct component;

/* Net-SNMP's handler types, declared by their struct tags so that this
 * header does not need Net-SNMP's. */
struct netsnmp_mib_handler_s;
struct netsnmp_handler_registration_s;
struct netsnmp_agent_request_info_s;
struct netsnmp_request_info_s;

/* A notification to send. */
enum mib_note_kind {
	MIB_NOTE_RELOAD, /* sssReloadApplied / sssReloadRejected */
	MIB_NOTE_PEER,   /* sssPeerUp / sssPeerDown */
	MIB_NOTE_TUNNEL, /* sssTunnelUp / sssTunnelDown */
	MIB_NOTE_CERT,   /* sssCertExpiring */
};

struct mib_note {
	enum mib_note_kind kind;
	/* RELOAD: what the engine observer saw */
	enum reload_source source;
	enum reload_result result; /* APPLIED -> sssReloadApplied, else sssReloadRejected */
	uint32_t version;
	char error[256];
	/* PEER, TUNNEL: the session (its record's fields) */
	bool up;
	int reason;                /* sssNotifyReason when down */
	uint32_t id;
	char name[64], subject[160], tun_address[48];
	int family;                /* AF_INET, AF_INET6, or 0 */
	uint8_t addr[16];
	uint16_t port;
	/* CERT */
	int cert_kind;             /* enum pki_cert_kind */
	char cert_subject[256];
	int64_t not_after;
};

/* How the MIB reads the sessions (dp_sessions): at most max records into
 * out, within timeout_ms; the number there are, or -1. */
struct session_record;
typedef long mib_sessions_fn(void *ctx, struct session_record *out, size_t max, int timeout_ms);

/* ts may be NULL (all tunnel counters read 0). */
struct mib *mib_new(struct engine *e, const struct tunnel_stats *ts);
/* Where sssPeerTable comes from (none: the table is empty). */
void mib_set_sessions(struct mib *m, mib_sessions_fn *fn, void *ctx);
/* The family (AF_INET, AF_INET6, 0), address bytes and port of ss. */
struct sockaddr_storage;
void mib_peer_address(const struct sockaddr_storage *ss, int *family, uint8_t addr[16], uint16_t *port);
/* The family of an address in text (into addr), or 0. */
int mib_inet_text(const char *text, uint8_t addr[16]);
/* A notification the agent did not send because its peer flaps. */
void mib_note_suppressed(struct mib *m);
void mib_free(struct mib *m);

/* The write-back component: register it with the engine (after the other
 * components is best: a failure of a later prepare costs a second write). */
const struct component *mib_component(struct mib *m);

/* The engine observer's news (control thread): an attempt that came from
 * SNMP becomes sssSnmpLastResult/Version/Error. */
void mib_note_attempt(struct mib *m, const struct reload_event *ev);

/* The file watch's state and event count, published by the control thread
 * (sssWatchState, sssWatchEvents). */
void mib_publish_watch(struct mib *m, int state, uint32_t events);

/* The Net-SNMP handler of the subtree; handler->myvoid is the struct mib. */
int mib_handler(struct netsnmp_mib_handler_s *handler, struct netsnmp_handler_registration_s *reginfo,
		struct netsnmp_agent_request_info_s *reqinfo, struct netsnmp_request_info_s *requests);

/* Whether a SET transaction is open: between its RESERVE1 and the COMMIT
 * or FREE that ends it (the master's CleanupSet), for at most
 * MIB_SET_MAX_MS.  The master keeps pointers into our registration for the
 * whole transaction: never unregister while this holds (SNMP thread). */
#define MIB_SET_MAX_MS 10000
bool mib_set_in_progress(const struct mib *m);

/* The context the next mib_register registers in ("": the default), and
 * the one it did (SNMP thread). */
void mib_set_context(struct mib *m, const char *context);
const char *mib_context(const struct mib *m);
/*
 * The subtree's registration with the agent library (SNMP thread; the
 * library must be initialised).  mib_register registers in the context
 * set with mib_set_context, which sends a Register PDU to the master;
 * 0 or -1.  A master that refuses it (another subagent has the subtree
 * in that context) only says so in the library's log: see agent.c.
 * mib_reregister sends the Register PDU again for the registration we
 * have (a retry after a refusal).  mib_unregister removes it, here and in
 * the master: only for a registration the master accepted, because the
 * net-snmp master removes a subtree on any session's Unregister, its
 * owner's included.  mib_forget drops a refused one without telling the
 * master (the library keeps it, unused).  mib_sysor lists the MIB in
 * sysORTable, or not.
 */
int mib_register(struct mib *m);
void mib_reregister(struct mib *m);
void mib_unregister(struct mib *m);
void mib_forget(struct mib *m);
void mib_sysor(struct mib *m, bool listed);

/* The root as dotted text, "1.3.6.1.4.1.54321" (for logs). */
const char *mib_root_text(void);

/* Send a notification through the master (SNMP thread): its objects,
 * then sssConfigFile and sssAgentContext (which daemon sent it). */
void mib_send_note(const struct mib *m, const struct mib_note *n);
/* Its NOTIFICATION-TYPE's name, for the log. */
const char *mib_note_name(const struct mib_note *n);

/* ---- pieces exposed for the unit tests ---------------------------------- */

/* s cut to at most max bytes on a UTF-8 character boundary; returns the
 * length kept. */
size_t mib_utf8_cut(const char *s, size_t max);
/* The changed-keys list as it is served: at most 255 bytes, a longer list
 * cut after a whole key and ended with U+2026.  out must hold 256 bytes. */
void mib_changed_text(const char *changed, char out[256]);
/* DateAndTime, 11 octets, UTC. */
void mib_date_and_time(const struct timespec *t, unsigned char out[11]);

#endif
