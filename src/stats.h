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
	_Atomic uint64_t tun_drops;        /* packets the TUN device could not take */
	_Atomic int state;                 /* enum tunnel_state */
	_Atomic uint64_t state_since_ms;   /* CLOCK_MONOTONIC ms when state last changed */
};

#endif
