/* SPDX-License-Identifier: MIT */
/*
 * agent.h - the AgentX subagent: one SNMP thread that owns every
 * libnetsnmp call (initialised once per process), connects to the host's
 * snmpd, reconnects by itself, serves SSSONECTOR-MIB (mib.h) and sends the
 * reload notifications.
 *
 * The control thread only posts to it (a wake-up eventfd and atomics); it
 * never waits for it, and the data path never sees it.
 */
#ifndef SSS_AGENT_H
#define SSS_AGENT_H

#include <stdint.h>
#include <time.h>

#include "mib.h"
#include "pki.h"

struct agent;
struct engine;
struct tunnel_stats;
struct session_events;

/* ts: the tunnel counters the MIB reads (owned by the caller, outlives the
 * agent; may be NULL). */
struct agent *agent_new(struct engine *e, const struct tunnel_stats *ts);

/* Register with the engine, before the startup reload: the component for
 * monitor.snmp_enabled, monitor.agentx_ping_s and monitor.notifications,
 * the SNMP write-back component, and the observer that turns every counted
 * attempt (except startup, unchanged and held ones) into a notification. */
void agent_register(struct agent *a, struct engine *e);

/* Start the SNMP thread, after the startup reload succeeded (it reads
 * monitor.agentx_socket from the running configuration).  Returns 0 or -1. */
int agent_start(struct agent *a);

/* The data plane's events about peers, turned into sssPeerUp/Down and
 * sssTunnelUp/Down (rate-limited per peer) and sssCertExpiring: give them
 * to dp_set_events before the data plane starts. */
const struct session_events *agent_session_events(struct agent *a);
/* Where sssPeerTable reads the sessions (before agent_start). */
void agent_set_sessions(struct agent *a, mib_sessions_fn *fn, void *ctx);
/* certwatch's reports (a certwatch_notify_fn; ctx is the agent). */
void agent_cert_note(void *ctx, enum pki_cert_kind kind, const char *subject, time_t not_after);

/* The file watch's state and event count for the MIB (control thread). */
void agent_publish_watch(struct agent *a, int state, uint32_t events);

/* Stop the thread if it runs (unregisters, closes the AgentX session) and
 * free everything.  NULL is fine. */
void agent_free(struct agent *a);

#endif
