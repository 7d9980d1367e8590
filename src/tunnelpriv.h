/* SPDX-License-Identifier: MIT */
/*
 * tunnelpriv.h - shared by the two files of the `tun` transport: tunnel.c
 * (sessions, frames, HELLO admission, handshakes, the ops table) and
 * tunneldev.c (the TUN device: reading and routing packets, delivering
 * what peers send, the MTU).  Nothing else includes it.
 */
#ifndef SSS_TUNNELPRIV_H
#define SSS_TUNNELPRIV_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "bufpool.h"
#include "dpconf.h"
#include "frame.h"
#include "session.h"
#include "tlsio.h"
#include "tun.h"

struct config;
struct cfg_errors;
struct tunpkt_routes;

#define PKT_ROOM (FRAME_HDR_LEN + FRAME_MAX_PAYLOAD)
#define IN_SIZE (128 * 1024)   /* one SSL_read */
#define RECV_ROUNDS 64         /* SSL_reads per wake-up, then after the others */
#define TLS_CHUNK (64 * 1024)
#define TUN_BATCH 64           /* packets per TUN wake-up */
#define NS_PER_S 1000000000ull

enum ts_state { TS_CONNECT, TS_HANDSHAKE, TS_HELLO, TS_UP };

struct tsession {
	struct session s;
	struct tunnel *t;
	enum ts_state state;
	bool throttled, routed;
	struct loop_handler h;
	struct loop_timer keepalive;
	struct tun_prefix addr; /* server: the client's tunnel address (after HELLO) */
	struct frame_decoder dec;
	struct pbuf out;        /* encoded frames waiting for SSL_write (a bulk pool buffer) */
	struct tlsio io;        /* batched TLS I/O once the handshake is done */
	bool io_attached;
	struct loop_timer soon; /* records left buffered after RECV_ROUNDS */
	bool write_blocked, write_wants_read;
	uint64_t last_rx_ns;
	TAILQ_ENTRY(tsession) up_link;
};

struct tunnel {
	struct session_layer *sl;
	struct loop *loop;
	struct loop_handler tun_h;
	int features, ifindex;
	char ifname[32];
	struct tun_prefix net;    /* this end's address and prefix */
	atomic_int mtu;           /* written by commit (control thread) */
	struct tunpkt_routes *routes; /* server: tunnel address -> tsession */
	TAILQ_HEAD(, tsession) up;    /* established, in order */
	bool tun_throttled, stopping, server;
	/* client */
	struct loop_timer reconnect;
	unsigned backoff_ms;
	uint8_t *in;    /* SSL_read buffer */
	uint8_t *spill; /* a TUN read before its route is known */
};

static inline struct dpconf *tunnel_conf(struct tunnel *t)
{
	return session_layer_conf(t->sl);
}

/* What this end reads from its TUN device is upload on a client, download
 * on a server; what it reads from TLS the reverse. */
static inline enum throttle_dir tunnel_tun_dir(const struct tunnel *t)
{
	return t->server ? THROTTLE_DOWN : THROTTLE_UP;
}

static inline enum throttle_dir tunnel_peer_dir(const struct tunnel *t)
{
	return t->server ? THROTTLE_UP : THROTTLE_DOWN;
}

/* Room in ts's queue as the TUN reader may count on it: a session
 * without a buffer can take one. */
static inline size_t tunnel_out_space(const struct tsession *ts)
{
	return ts->out.d ? ts->out.cap - ts->out.w : BUF_BULK;
}

/* tunnel.c */
/* Room in ts's queue for need bytes: a buffer taken from the pool, what is
 * queued flushed and moved to the front if need be.  Returns the room (may
 * be less than need: backpressure), or 0 once the session closed. */
size_t tunnel_out_room(struct tsession *ts, size_t need);
/* Nothing more moves now: empty buffers back to the pool. */
void tunnel_session_idle(struct tsession *ts);
/* SSL_write what is queued; write the records to the socket now, or
 * (now false) only once many wait.  Returns false once the session closed. */
bool tunnel_flush(struct tsession *ts, bool now);
/* Register what the session waits for now. */
void tunnel_session_watch(struct tsession *ts);

/* tunneldev.c */
void tunneldev_on_tun(struct loop *l, struct loop_handler *h, uint32_t events);
/* Read the TUN device only when the data can go somewhere. */
void tunneldev_watch(struct tunnel *t);
/* The buckets refilled (the layer's callback). */
void tunneldev_unthrottled(void *ctx);
/* A DATA frame from ts's peer: judged (tunpkt.c), then into the device. */
void tunneldev_deliver(struct tsession *ts, const struct frame *f);
/* The device: created at startup; a new MTU checked (prepare) and set (commit). */
int tunneldev_setup(void *tp, const struct config *c, struct cfg_errors *errs);
int tunneldev_prepare(void *tp, const struct config *old, const struct config *new_cfg, struct cfg_errors *errs);
void tunneldev_commit(void *tp, const struct config *c);

#endif
