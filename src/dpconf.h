/* SPDX-License-Identifier: MIT */
/*
 * dpconf.h - what the data plane runs for one configuration version: the
 * snapshot, its TLS context, the listening socket and resolved addresses,
 * built on the control thread (the tunnel component's prepare) and handed
 * to the data thread whole.
 *
 * Immutable once built and refcounted: a session keeps the dpconf (so the
 * SSL_CTX) it was accepted under; the last reference closes the listener
 * and frees the context.  Building reuses from the running dpconf whatever
 * the change did not touch (the rows' component mask says what): a rate
 * change keeps the TLS context, the listener and the resolved addresses.
 */
#ifndef SSS_DPCONF_H
#define SSS_DPCONF_H

#include <stdbool.h>
#include <sys/socket.h>

struct config;
struct cfg_errors;
struct tls_ctx;

/* A listening socket shared by the dpconfs that use it. */
struct listener {
	int refs; /* atomic */
	int fd;
	char addr[80];
};

struct dpconf {
	int refs; /* atomic */
	struct config *cfg;
	struct tls_ctx *tls;
	struct listener *listener;        /* NULL: none (a tun client) */
	struct sockaddr_storage server;   /* client: tunnel.server, resolved */
	socklen_t server_len;
	struct sockaddr_storage target;   /* server+forward: forward.target, resolved */
	socklen_t target_len;
};

/*
 * The dpconf for cfg.  live is the running one (NULL at startup); what the
 * change (cfg_changed_components(live->cfg, cfg)) left alone is shared with
 * it, the rest is built: a TLS context, a bound listener (not yet
 * accepting: the data thread calls listen(2) when it installs it), a name
 * resolution.  Blocks (DNS, binding): control thread only.  NULL with
 * errors added (located at the setting) on failure.
 */
struct dpconf *dpconf_build(const struct dpconf *live, struct config *cfg, struct cfg_errors *errs);

struct dpconf *dpconf_ref(struct dpconf *c);
void dpconf_unref(struct dpconf *c);
struct listener *dpconf_listener_ref(struct listener *l);
void dpconf_listener_unref(struct listener *l);

#endif
