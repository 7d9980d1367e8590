/* SPDX-License-Identifier: MIT */
/*
 * transport.h - the two transports the data plane can run.
 */
#ifndef SSS_TRANSPORT_H
#define SSS_TRANSPORT_H

struct dp_mode;

/* TCP port forwarding: each accepted connection is its own TLS session. */
struct dp_mode *forward_mode_new(void);
/* A layer-3 tunnel over TUN devices: one TLS session per client. */
struct dp_mode *tunnel_mode_new(void);

#endif
