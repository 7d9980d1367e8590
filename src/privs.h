/* SPDX-License-Identifier: MIT */
/*
 * privs.h - least privilege: after startup has opened what needs root
 * (the TUN device, listeners below 1024, the pidfile), switch to the
 * service user and keep only the capabilities the transport needs.
 *
 * tun keeps CAP_NET_ADMIN (a live network.mtu change); forward keeps
 * nothing.  PR_SET_NO_NEW_PRIVS is always set.  The component rejects, at
 * prepare, a reload that would need a privilege the process gave up.
 */
#ifndef SSS_PRIVS_H
#define SSS_PRIVS_H

#include <stdbool.h>

struct config;
struct cfg_errors;
struct component;

/*
 * Drop privileges for the running configuration c.  user: the name to
 * switch to (NULL: stay who we are, but still drop every capability the
 * transport does not need).  Must run before any other thread exists
 * (capabilities are per thread; the threads created afterwards inherit
 * the reduced set).  Logs one event=privileges line.  Returns 0, or -1
 * with the reason in errs (the daemon then refuses to run).
 */
int privs_drop(const char *user, const struct config *c, struct cfg_errors *errs);

/* Whether the calling thread has capability cap in its effective set. */
bool privs_have(unsigned int cap);

/* The engine component: rejects a listener moved below the unprivileged
 * port range without CAP_NET_BIND_SERVICE (the one privilege a hot key can
 * need that the daemon gives up: tun keeps CAP_NET_ADMIN for network.mtu,
 * and the interface and address are restart-only).  Commits nothing. */
const struct component *privs_component(void);

#endif
