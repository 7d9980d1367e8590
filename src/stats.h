/* SPDX-License-Identifier: MIT */
/*
 * stats.h - the tunnel's counters, written by the data plane and read by
 * anyone (the SNMP thread, the log) without a lock.
 *
 * Every field is a relaxed atomic: a reader gets each value exactly but
 * not a consistent cut across fields, which is what SNMP counters promise
 * anyway.  "up" is client->server payload, "down" server->client, on both
 * ends.
 */
#ifndef SSS_STATS_H
#define SSS_STATS_H

#include <stdatomic.h>
#include <stdint.h>

/* Numbered as in SSSONECTOR-MIB's sssTunnelState. */
enum tunnel_state {
	TUNNEL_DOWN = 1,
	TUNNEL_CONNECTING = 2,
	TUNNEL_UP = 3,
	TUNNEL_LISTENING = 4,
};

/* Connections refused or dropped before they became sessions; numbered
 * as SSSONECTOR-MIB's sssRefusedReason minus one. */
enum refused_reason {
	REFUSED_MAX_CLIENTS,
	REFUSED_NOT_ALLOWED,       /* allowed_peers, revoked, expired */
	REFUSED_HANDSHAKE_FAILED,
	REFUSED_HANDSHAKE_TIMEOUT,
	REFUSED_EVICTED,           /* tunnel.max_pending, max_pending_per_source */
	REFUSED_MAX_STREAMS,
	REFUSED_ADDRESS,           /* a tun client's address */
	REFUSED_N,
};

/* Packets of the tun transport dropped; numbered as sssTunDropReason
 * minus one.  All but TUN_DROP_NO_ROUTE belong to a session. */
enum tun_drop_reason {
	TUN_DROP_SPOOFED,   /* source is not the peer's tunnel address */
	TUN_DROP_BAD_GSO,   /* a virtio/GSO header the kernel must not get */
	TUN_DROP_MALFORMED, /* an IP packet contradicting its headers */
	TUN_DROP_QUEUE,     /* the session's queue was full */
	TUN_DROP_DEVICE,    /* the TUN device refused the packet */
	TUN_DROP_NO_ROUTE,  /* from the device, for an address no session has */
	TUN_DROP_N,
};

struct tunnel_stats {
	_Atomic uint64_t sessions_active;  /* established */
	_Atomic uint64_t sessions_pending; /* connecting, in the handshake, before HELLO */
	_Atomic uint64_t pending_evicted;  /* pending dropped for newer ones (max_pending*) */
	_Atomic uint64_t accept_paused;    /* times accepting paused for want of fds */
	_Atomic uint64_t sessions_total;
	_Atomic uint64_t bytes_up, bytes_down;     /* tunnel payload */
	_Atomic uint64_t packets_up, packets_down; /* tun frames */
	_Atomic uint64_t handshake_failures;
	_Atomic uint64_t peers_refused;    /* max_clients, allowed_peers, address refused */
	_Atomic uint64_t sessions_revoked; /* closed because a reload stopped admitting the peer */
	_Atomic uint64_t sessions_bad;     /* closed for a malformed frame or garbage */
	_Atomic uint64_t limiter_waits_up, limiter_waits_down;
	_Atomic uint64_t rate_up_bps, rate_down_bps; /* measured, bit/s */
	_Atomic uint64_t refused[REFUSED_N];
	_Atomic uint64_t tun_drop[TUN_DROP_N];
	_Atomic int state;                 /* enum tunnel_state */
	_Atomic uint64_t state_since_ms;   /* CLOCK_MONOTONIC ms when state last changed */
};

#endif
