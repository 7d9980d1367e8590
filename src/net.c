/* SPDX-License-Identifier: MIT */
/*
 * net.c - see net.h.
 */
#include "net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

static int lookup(const char *hostport, int flags, struct addrinfo **res, char *err, size_t errlen)
{
	char host[256], port[8];
	int p;
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = flags | AI_NUMERICSERV };

	if (cfg_hostport_split(hostport, host, sizeof(host), &p) < 0) {
		snprintf(err, errlen, "not host:port");
		return -1;
	}
	snprintf(port, sizeof(port), "%d", p);
	int r = getaddrinfo(host, port, &hints, res);
	if (r != 0) {
		snprintf(err, errlen, "%s", gai_strerror(r));
		return -1;
	}
	return 0;
}

int net_listen(const char *hostport, char *err, size_t errlen)
{
	struct addrinfo *res = NULL;
	int one = 1, fd = -1;

	if (lookup(hostport, AI_PASSIVE, &res, err, errlen) < 0)
		return -1;
	fd = socket(res->ai_family, res->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd >= 0)
		net_tune(fd); /* accepted sockets inherit it: no system call per connection */
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, SOMAXCONN) < 0) {
		snprintf(err, errlen, "%s", strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

int net_resolve(const char *hostport, struct sockaddr_storage *ss, socklen_t *len, char *err,
		size_t errlen)
{
	struct addrinfo *res = NULL;

	if (lookup(hostport, 0, &res, err, errlen) < 0)
		return -1;
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

int net_connect(const struct sockaddr_storage *ss, socklen_t len)
{
	int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	net_tune(fd);
	if (connect(fd, (const struct sockaddr *)ss, len) < 0 && errno != EINPROGRESS) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

int net_connect_result(int fd)
{
	int e = 0;
	socklen_t l = sizeof(e);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &l) < 0)
		return -errno;
	return -e;
}

const char *net_addr_str(const struct sockaddr *sa, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN] = "?";

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		snprintf(buf, len, "%s:%u", host, ntohs(in->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		snprintf(buf, len, "[%s]:%u", host, ntohs(in6->sin6_port));
	} else {
		snprintf(buf, len, "?");
	}
	return buf;
}

void net_tune(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

void net_keepalive(int fd, int idle_s)
{
	int one = 1, cnt = 3;
	unsigned int user_ms = (unsigned int)idle_s * 1000u * (1u + (unsigned int)cnt);

	if (idle_s <= 0) {
		int zero = 0;
		setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &zero, sizeof(zero));
		return;
	}
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle_s, sizeof(idle_s));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &idle_s, sizeof(idle_s));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
	setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_ms, sizeof(user_ms));
}
