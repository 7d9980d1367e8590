/* SPDX-License-Identifier: MIT */
/*
 * dpconf.c - see dpconf.h.
 *
 * Runs on the control thread (build) and on any thread (unref).  It never
 * touches a running socket: a new listener is a new socket, and the old
 * one stays open as long as a dpconf refers to it.
 */
#include "dpconf.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "net.h"
#include "tls.h"

struct listener *dpconf_listener_ref(struct listener *l)
{
	if (l)
		__atomic_add_fetch(&l->refs, 1, __ATOMIC_RELAXED);
	return l;
}

void dpconf_listener_unref(struct listener *l)
{
	if (!l || __atomic_sub_fetch(&l->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	close(l->fd);
	free(l);
}

struct dpconf *dpconf_ref(struct dpconf *c)
{
	if (c)
		__atomic_add_fetch(&c->refs, 1, __ATOMIC_RELAXED);
	return c;
}

void dpconf_unref(struct dpconf *c)
{
	if (!c || __atomic_sub_fetch(&c->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	dpconf_listener_unref(c->listener);
	tls_ctx_unref(c->tls);
	cfg_unref(c->cfg);
	free(c);
}

/* The key this end listens on: tunnel.listen on a server, forward.listen
 * on a forward client, none on a tun client. */
static const char *listen_key(const struct config *c)
{
	if (c->mode == CFG_MODE_SERVER)
		return "tunnel.listen";
	return c->transport == CFG_TRANSPORT_FORWARD ? "forward.listen" : NULL;
}

static const char *listen_addr(const struct config *c)
{
	const char *k = listen_key(c);

	if (!k)
		return NULL;
	return c->mode == CFG_MODE_SERVER ? c->tunnel.listen : c->forward.listen;
}

/* An error about key, located where c sets it. */
static void key_err(const struct config *c, struct cfg_errors *errs, const char *key, const char *value,
		    const char *what, const char *why)
{
	size_t i = cfg_setting_index(cfg_setting_find(key));

	cfg_errors_add(errs, (c->has >> i) & 1 && c->src[i] ? c->src[i] : c->path, c->line[i], key, value,
		       "%s: %s", what, why);
}

static int bind_listener(struct dpconf *c, struct cfg_errors *errs)
{
	const char *addr = listen_addr(c->cfg);
	char err[256];

	if (!addr)
		return 0;
	int fd = net_listen(addr, err, sizeof(err));
	if (fd < 0) {
		key_err(c->cfg, errs, listen_key(c->cfg), addr, "cannot listen", err);
		return -1;
	}
	c->listener = xcalloc(1, sizeof(*c->listener));
	c->listener->refs = 1;
	c->listener->fd = fd;
	snprintf(c->listener->addr, sizeof(c->listener->addr), "%s", addr);
	return 0;
}

static int resolve(struct dpconf *c, struct cfg_errors *errs)
{
	const struct config *cfg = c->cfg;
	char err[256];

	if (cfg->mode == CFG_MODE_CLIENT &&
	    net_resolve(cfg->tunnel.server, &c->server, &c->server_len, err, sizeof(err)) < 0) {
		key_err(cfg, errs, "tunnel.server", cfg->tunnel.server, "cannot resolve", err);
		return -1;
	}
	if (cfg->mode == CFG_MODE_SERVER && cfg->transport == CFG_TRANSPORT_FORWARD &&
	    net_resolve(cfg->forward.target, &c->target, &c->target_len, err, sizeof(err)) < 0) {
		key_err(cfg, errs, "forward.target", cfg->forward.target, "cannot resolve", err);
		return -1;
	}
	return 0;
}

struct dpconf *dpconf_build(const struct dpconf *live, struct config *cfg, struct cfg_errors *errs)
{
	struct dpconf *c = xcalloc(1, sizeof(*c));
	unsigned changed = cfg_changed_components(live ? live->cfg : NULL, cfg);

	c->refs = 1;
	c->cfg = cfg_ref(cfg);
	if (!(changed & CFG_C_TLS))
		c->tls = tls_ctx_ref(live->tls);
	else if (!(c->tls = tls_ctx_new(cfg, errs)))
		goto fail;
	if (!(changed & CFG_C_LISTEN))
		c->listener = dpconf_listener_ref(live->listener);
	else if (bind_listener(c, errs) < 0)
		goto fail;
	if (!(changed & CFG_C_RESOLVE)) {
		memcpy(&c->server, &live->server, sizeof(c->server));
		c->server_len = live->server_len;
		memcpy(&c->target, &live->target, sizeof(c->target));
		c->target_len = live->target_len;
	} else if (resolve(c, errs) < 0) {
		goto fail;
	}
	return c;
fail:
	dpconf_unref(c);
	return NULL;
}
