/* SPDX-License-Identifier: MIT */
/*
 * dataplane.h - the data-plane thread: one epoll loop that runs every
 * session, the listener, the limiter's buckets and the timers.
 *
 * The control thread never touches a session.  The tunnel component's
 * prepare (on the control thread) builds everything that can fail — the TLS
 * context, a new listening socket, resolved addresses — into a struct
 * dp_conf; its commit posts that conf to this thread, which swaps it in
 * between two events.  A session keeps a reference to the conf it was
 * accepted under (and so to its SSL_CTX) until it ends.
 *
 * The transports (forward.c, tunnel.c) plug in through struct dp_mode and
 * use the loop's fd handlers and timers below, on this thread only.
 */
#ifndef SSS_DATAPLANE_H
#define SSS_DATAPLANE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include <openssl/ssl.h>

#include "limiter.h"

struct config;
struct cfg_errors;
struct tls_ctx;
struct tunnel_stats;
struct component;
struct dataplane;

/* A listening socket shared by the confs that use it; closed with the
 * last reference. */
struct listener {
	int refs; /* atomic */
	int fd;
	char addr[80];
};

/* Everything the data plane needs from one configuration version. */
struct dp_conf {
	int refs; /* atomic */
	struct config *cfg;
	struct tls_ctx *tls;
	struct listener *listener;        /* NULL: none (a tun client) */
	struct sockaddr_storage server;   /* client: tunnel.server, resolved */
	socklen_t server_len;
	struct sockaddr_storage target;   /* server+forward: forward.target, resolved */
	socklen_t target_len;
};

struct dp_conf *dp_conf_ref(struct dp_conf *c);
void dp_conf_unref(struct dp_conf *c);

/* An fd in the loop: fn is called with the epoll events. */
struct dp_handler {
	void (*fn)(struct dataplane *dp, struct dp_handler *h, uint32_t events);
	int fd;
	uint32_t events; /* what is registered now */
};

/* A timer: fn runs on the data thread once when_ns has passed. */
struct dp_timer {
	void (*fn)(struct dataplane *dp, struct dp_timer *t);
	uint64_t when_ns;
	size_t heap_index; /* 0: not armed */
};

/* A transport. */
struct dp_mode {
	const char *name;
	/* Once, in the startup prepare on the control thread: set up what the
	 * transport needs for its whole life (the TUN device).  May fail. */
	int (*setup)(struct dataplane *dp, const struct config *c, struct cfg_errors *errs);
	/* A connection accepted on the listener (non-blocking, owned now). */
	void (*accept)(struct dataplane *dp, int fd, const struct sockaddr *peer, socklen_t len);
	/* The conf was swapped (after the loop installed it). */
	void (*swapped)(struct dataplane *dp, struct dp_conf *old, struct dp_conf *cur);
	/* The limiter has tokens again: sessions that waited may read. */
	void (*unthrottled)(struct dataplane *dp);
	/* The loop starts (conf installed) / stops (close every session). */
	void (*start)(struct dataplane *dp);
	void (*stop)(struct dataplane *dp);
	/* Free the mode itself (after stop; any thread). */
	void (*free)(struct dp_mode *m);
	void *priv;
};

/* Directions of the limiter: up = client->server payload. */
enum dp_dir { DP_UP = 0, DP_DOWN = 1 };

struct dataplane *dp_new(struct tunnel_stats *stats);
void dp_free(struct dataplane *dp);
/* The engine component for every tunnel key. */
const struct component *dp_component(struct dataplane *dp);
/* Start the thread (after the startup reload committed a conf). */
int dp_start(struct dataplane *dp);
/* Stop the thread: every session is closed. */
void dp_stop(struct dataplane *dp);

/* ---- for the transports, on the data thread only ---------------------- */

struct dp_conf *dp_conf_current(struct dataplane *dp);
struct tunnel_stats *dp_stats(struct dataplane *dp);
void *dp_mode_priv(struct dataplane *dp);

/* Register, change or remove an fd's interest (0 removes). */
void dp_watch(struct dataplane *dp, struct dp_handler *h, uint32_t events);
void dp_timer_set(struct dataplane *dp, struct dp_timer *t, uint64_t when_ns);
void dp_timer_cancel(struct dataplane *dp, struct dp_timer *t);
uint64_t dp_now_ns(struct dataplane *dp);

/* The limiter: how much of want may be read now in direction d (0: wait;
 * the mode's unthrottled() is called when it is worth asking again), and
 * account what passed. */
size_t dp_allow(struct dataplane *dp, enum dp_dir d, size_t want);
void dp_consume(struct dataplane *dp, enum dp_dir d, size_t n);

void dp_set_state(struct dataplane *dp, int state);

/* A TLS handshake failed: log OpenSSL's errors with the peer, count it
 * (peers_refused when allowed_peers refused the certificate, else
 * handshake_failures) and return the reason, or NULL when the certificate
 * was not the problem. */
const char *dp_handshake_failed(struct dataplane *dp, SSL *ssl, const char *peer);

/* Run fn(p) after the current batch of events (free a session whose
 * handlers may still appear later in the batch). */
void dp_defer(struct dataplane *dp, void (*fn)(void *), void *p);

#endif
