/* SPDX-License-Identifier: MIT */
/*
 * dataplane.h - the data-plane thread and the tunnel component.
 *
 * The component's prepare (control thread) builds everything that can
 * fail - a TLS context, a listening socket, resolved addresses (dpconf.c),
 * the TUN device's checks - and only for what the change touches (the
 * settings' component masks); a change no data-plane setting is part of
 * (logging.level) is not even seen here.  Its commit posts the result to
 * the data thread, which installs it between two events.
 *
 * The data thread runs one loop (loop.c) with the listener, the session
 * layer (session.c) and one transport (forward.c or tunnel.c, picked from
 * a table of ops).  It never waits for another thread.
 */
#ifndef SSS_DATAPLANE_H
#define SSS_DATAPLANE_H

#include <stddef.h>

struct config;
struct component;
struct dataplane;
struct session_record;
struct tunnel_stats;

struct dataplane *dp_new(struct tunnel_stats *stats);
void dp_free(struct dataplane *dp);
/* Where the session layer's events about peers go (before dp_start). */
struct session_events;
void dp_set_events(struct dataplane *dp, const struct session_events *ev);
/* The engine component for every data-plane key. */
const struct component *dp_component(struct dataplane *dp);
/* Start the thread (after the startup reload committed a configuration). */
int dp_start(struct dataplane *dp);
/* Stop the thread: every session is closed. */
void dp_stop(struct dataplane *dp);

/* The configuration the data plane runs, as the control thread last
 * committed it (a new reference: cfg_unref it), or NULL before the
 * startup reload.  Control thread. */
struct config *dp_running_config(struct dataplane *dp);

/*
 * From any other thread: a consistent copy of at most max sessions'
 * records, taken by the data thread between two events.  Returns the
 * number of sessions there are (may exceed max), or -1 when the data
 * thread did not answer within timeout_ms (or is not running).
 */
long dp_sessions(struct dataplane *dp, struct session_record *out, size_t max, int timeout_ms);

/*
 * Whether c may need more file descriptors than this process may open
 * (its hard RLIMIT_NOFILE: the daemon raises its soft limit to it at
 * start).  Returns 1 with a one-line explanation in buf, else 0.
 */
int dp_fd_limit_warning(const struct config *c, char *buf, size_t len);

#endif
