/* SPDX-License-Identifier: MIT */
/*
 * net.h - sockets: listen, resolve, connect, all non-blocking, for
 * "host:port" and "[v6]:port" strings as the configuration writes them.
 * net_listen and net_resolve may block (name resolution): they run in a
 * component's prepare on the control thread, never on the data path.
 */
#ifndef SSS_NET_H
#define SSS_NET_H

#include <stddef.h>
#include <sys/socket.h>

/* A listening TCP socket (non-blocking, close-on-exec, SO_REUSEADDR,
 * TCP_NODELAY, which accepted sockets inherit, as they inherit
 * net_keepalive's options), or -1 with the reason in err. */
int net_listen(const char *hostport, char *err, size_t errlen);
/* The first address of hostport, or -1 with the reason in err. */
int net_resolve(const char *hostport, struct sockaddr_storage *ss, socklen_t *len, char *err,
		size_t errlen);
/* A non-blocking TCP connect in progress (or done), or -1 (errno set). */
int net_connect(const struct sockaddr_storage *ss, socklen_t len);
/* 0 when a non-blocking connect completed, else -errno. */
int net_connect_result(int fd);
/* "1.2.3.4:5" / "[::1]:5" into buf. */
const char *net_addr_str(const struct sockaddr *sa, char *buf, size_t len);
/* TCP_NODELAY for a tunnel socket. */
void net_tune(int fd);
/* TCP keepalive on a tunnel socket: probes after idle_s of silence, every
 * idle_s, 3 of them; and unacknowledged data given up after the same
 * total (TCP_USER_TIMEOUT), so that a peer that vanished is noticed
 * whether the connection was idle or sending.  idle_s 0: off.  On a
 * listening socket: for every connection it accepts from then on. */
void net_keepalive(int fd, int idle_s);

#endif
