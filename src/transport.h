/* SPDX-License-Identifier: MIT */
/*
 * transport.h - the ops table a transport gives the data plane.
 *
 * A transport is a leaf: it uses the session layer, the loop and the
 * modules below them, and is reached only through this table (dataplane.c
 * picks one by the configuration's `transport`).  It never calls back into
 * the data plane's own file.
 */
#ifndef SSS_TRANSPORT_H
#define SSS_TRANSPORT_H

#include <stdbool.h>
#include <sys/socket.h>

struct config;
struct cfg_errors;
struct session_layer;

struct transport {
	const char *name;
	/* A server's accepted connections get TCP keepalive from
	 * tunnel.keepalive_s (set on the listener, which they inherit). */
	bool tcp_keepalive;
	/* The transport's state for the layer's thread (not started yet). */
	void *(*create)(struct session_layer *sl);
	/* Control thread.  setup: once, in the startup prepare (the TUN device).
	 * prepare: check a change of what commit applies (may fail, touches
	 * nothing); commit: apply it (the MTU), cannot fail, also used to
	 * revert.  Any may be NULL. */
	int (*setup)(void *t, const struct config *c, struct cfg_errors *errs);
	int (*prepare)(void *t, const struct config *old, const struct config *new_cfg, struct cfg_errors *errs);
	void (*commit)(void *t, const struct config *c);
	/* Data thread: the loop starts (a configuration is installed), a
	 * connection was accepted on the listener (non-blocking, owned now),
	 * the loop stops (close every session). */
	void (*start)(void *t);
	void (*accept)(void *t, int fd, const struct sockaddr *peer, socklen_t len);
	void (*stop)(void *t);
	/* Any thread, after stop. */
	void (*destroy)(void *t);
};

/* TCP port forwarding: each accepted connection is its own TLS session. */
extern const struct transport forward_transport;
/* A layer-3 tunnel over TUN devices: one TLS session per client. */
extern const struct transport tunnel_transport;

#endif
