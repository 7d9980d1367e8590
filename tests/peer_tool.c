/* SPDX-License-Identifier: MIT */
/*
 * peer_tool.c - a misbehaving peer for the integration tests and the
 * benchmarks: things openssl s_client and socat cannot do.
 *
 *   peer_tool hold HOST PORT N [SRC_ADDR [RATE]]
 *       Open N TCP connections (from SRC_ADDR when given and not "-", RATE
 *       per second when given, else at once) and never send a byte.  Prints "held N" once every connect finished (those that
 *       failed are not counted), then "open K" each time the number of
 *       connections the server has not closed changes; exits on SIGTERM.
 *
 *   peer_tool flood HOST PORT RATE SECONDS KIND
 *       RATE connections per second for SECONDS; each sends one ClientHello
 *       (KIND "hello": a real one, OpenSSL's, X25519; "garbage": 512 random
 *       bytes) and closes once the server answered or 1 s passed.  Prints
 *       "sent N answered M" at the end.
 *
 *   peer_tool sink PORT SECONDS
 *       Accept every connection on 127.0.0.1:PORT and read and drop what
 *       comes; prints "accepted N" each time the number of connections it
 *       holds changes; exits after SECONDS or on SIGTERM.
 *
 *   peer_tool slowhs HOST PORT CA CERT KEY SERVER_NAME SEND_FILE SECONDS
 *       A TLS 1.3 client whose final handshake flight (Certificate,
 *       CertificateVerify, Finished) is held back: prints "ready" once the
 *       server's flight was processed, waits for a line on stdin, then sends
 *       the flight, then SEND_FILE's bytes as application data, and copies
 *       what the server sends to stdout until it closes (or SECONDS).
 *       Prints nothing else on stdout; exits 0 when the server closed.
 *
 * Loopback and test namespaces only; every mode is bounded in time.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void die(const char *what)
{
	fprintf(stderr, "peer_tool: %s: %s\n", what, strerror(errno));
	exit(2);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A connected (or connecting, when nonblock) TCP socket to host:port. */
static int dial(const char *host, const char *port, const char *src, int nonblock)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res;
	int fd;

	if (getaddrinfo(host, port, &hints, &res) != 0) {
		fprintf(stderr, "peer_tool: cannot resolve %s\n", host);
		exit(2);
	}
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0);
	if (fd < 0)
		die("socket");
	if (src) {
		struct sockaddr_in sa = { .sin_family = AF_INET };
		if (inet_pton(AF_INET, src, &sa.sin_addr) != 1 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			die("bind source address");
	}
	if (connect(fd, res->ai_addr, res->ai_addrlen) < 0 && errno != EINPROGRESS) {
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

/* ---- hold ---------------------------------------------------------------------- */

static int hold(const char *host, const char *port, int n, const char *src, double rate)
{
	struct pollfd *p = calloc((size_t)n, sizeof(*p));
	int held = 0, open_now, last = -1;

	if (!p)
		die("calloc");
	if (src && !strcmp(src, "-"))
		src = NULL;
	for (int i = 0; i < n; i++) {
		p[i].fd = dial(host, port, src, 1);
		p[i].events = POLLOUT;
		if (rate > 0) {
			struct timespec ts = { 0, (long)(1e9 / rate) };
			nanosleep(&ts, NULL);
		}
	}
	/* every connect done (or failed) within 10 s */
	for (double end = now_s() + 10; now_s() < end;) {
		int waiting = 0;
		poll(p, (nfds_t)n, 100);
		for (int i = 0; i < n; i++) {
			if (p[i].fd < 0 || p[i].events != POLLOUT)
				continue;
			if (!p[i].revents) {
				waiting++;
				continue;
			}
			int e = 0;
			socklen_t l = sizeof(e);
			getsockopt(p[i].fd, SOL_SOCKET, SO_ERROR, &e, &l);
			if (e) {
				close(p[i].fd);
				p[i].fd = -1;
			} else {
				p[i].events = POLLIN;
				held++;
			}
		}
		if (!waiting)
			break;
	}
	printf("held %d\n", held);
	fflush(stdout);
	while (!stop) {
		open_now = 0;
		poll(p, (nfds_t)n, 200);
		for (int i = 0; i < n; i++) {
			if (p[i].fd < 0 || p[i].events != POLLIN)
				continue;
			if (p[i].revents) {
				char b[256];
				if (read(p[i].fd, b, sizeof(b)) <= 0) {
					close(p[i].fd);
					p[i].fd = -1;
					continue;
				}
			}
			open_now++;
		}
		if (open_now != last) {
			printf("open %d\n", open_now);
			fflush(stdout);
			last = open_now;
		}
	}
	for (int i = 0; i < n; i++)
		if (p[i].fd >= 0)
			close(p[i].fd);
	free(p);
	return 0;
}

/* ---- flood --------------------------------------------------------------------- */

/* Bytes of a ClientHello, from OpenSSL through a memory BIO. */
static size_t client_hello(unsigned char *buf, size_t cap)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	SSL *ssl = SSL_new(ctx);
	BIO *r = BIO_new(BIO_s_mem()), *w = BIO_new(BIO_s_mem());
	size_t n;

	SSL_set_bio(ssl, r, w);
	SSL_set_tlsext_host_name(ssl, "sssonector-server");
	SSL_connect(ssl);
	n = (size_t)BIO_read(w, buf, (int)cap);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	ERR_clear_error();
	return n;
}

static int flood(const char *host, const char *port, double rate, double secs, const char *kind)
{
	unsigned char hello[4096];
	size_t len;
	long sent = 0, answered = 0;
	struct conn {
		int fd;
		double until;
		int sent;
	} c[1024];
	int nc = 0;

	if (!strcmp(kind, "hello")) {
		len = client_hello(hello, sizeof(hello));
	} else {
		len = 512;
		for (size_t i = 0; i < len; i++)
			hello[i] = (unsigned char)random();
	}
	double start = now_s(), next = start;
	while (!stop && now_s() < start + secs) {
		double t = now_s();
		while (t >= next && nc < 1024) {
			int fd = dial(host, port, NULL, 1);
			if (fd >= 0)
				c[nc++] = (struct conn){ fd, t + 1.0, 0 };
			next += 1.0 / rate;
		}
		struct pollfd p[1024];
		for (int i = 0; i < nc; i++)
			p[i] = (struct pollfd){ .fd = c[i].fd, .events = c[i].sent ? POLLIN : POLLOUT };
		poll(p, (nfds_t)nc, 1);
		t = now_s();
		for (int i = 0; i < nc; i++) {
			bool done = t > c[i].until;
			if (!c[i].sent && (p[i].revents & POLLOUT)) {
				if (write(c[i].fd, hello, len) > 0)
					sent++;
				c[i].sent = 1;
			} else if (c[i].sent && (p[i].revents & (POLLIN | POLLHUP | POLLERR))) {
				answered++;
				done = true;
			} else if (p[i].revents & (POLLHUP | POLLERR)) {
				done = true;
			}
			if (done) {
				close(c[i].fd);
				c[i--] = c[--nc];
			}
		}
	}
	for (int i = 0; i < nc; i++)
		close(c[i].fd);
	printf("sent %ld answered %ld\n", sent, answered);
	return 0;
}

/* ---- sink ---------------------------------------------------------------------- */

static int sink(const char *port, double secs)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port)) };
	int one = 1, ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), n = 0, cap = 256, last = -1;
	struct pollfd *p = calloc((size_t)cap, sizeof(*p));
	double end = now_s() + secs;
	char buf[65536];

	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (!p || bind(ls, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(ls, 4096) < 0)
		die("sink listen");
	p[n++] = (struct pollfd){ .fd = ls, .events = POLLIN };
	while (!stop && now_s() < end) {
		if (poll(p, (nfds_t)n, 200) <= 0)
			goto report;
		if (p[0].revents & POLLIN) {
			int fd = accept(ls, NULL, NULL);
			if (fd >= 0) {
				if (n == cap) {
					cap *= 2;
					p = realloc(p, (size_t)cap * sizeof(*p));
					if (!p)
						die("realloc");
				}
				p[n++] = (struct pollfd){ .fd = fd, .events = POLLIN };
			}
		}
		for (int i = 1; i < n; i++) {
			if (!p[i].revents)
				continue;
			if (read(p[i].fd, buf, sizeof(buf)) <= 0) {
				close(p[i].fd);
				p[i--] = p[--n];
			}
		}
report:
		if (n - 1 != last) {
			printf("accepted %d\n", n - 1);
			fflush(stdout);
			last = n - 1;
		}
	}
	for (int i = 0; i < n; i++)
		close(p[i].fd);
	free(p);
	return 0;
}

/* ---- slowhs --------------------------------------------------------------------- */

/* Move what the SSL wrote (wbio) to the socket. */
static void send_pending(BIO *w, int fd)
{
	char buf[16384];
	int n;

	while ((n = BIO_read(w, buf, sizeof(buf))) > 0)
		if (write(fd, buf, (size_t)n) != n)
			die("write");
}

/* Feed what the socket has into rbio; -1 at EOF. */
static int feed(BIO *r, int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char buf[16384];

	if (poll(&p, 1, timeout_ms) <= 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf));
	if (n <= 0)
		return -1;
	BIO_write(r, buf, (int)n);
	return (int)n;
}

static int slowhs(char **a)
{
	const char *host = a[0], *port = a[1], *ca = a[2], *cert = a[3], *key = a[4], *name = a[5], *send = a[6];
	double deadline = now_s() + atof(a[7]);
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	char line[64], buf[16384];
	int fd = dial(host, port, NULL, 0), r;

	if (fd < 0)
		die("connect");
	if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1 || SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		ERR_print_errors_fp(stderr);
		return 2;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
	SSL *ssl = SSL_new(ctx);
	BIO *rb = BIO_new(BIO_s_mem()), *wb = BIO_new(BIO_s_mem());
	SSL_set_bio(ssl, rb, wb);
	SSL_set_tlsext_host_name(ssl, name);
	SSL_set1_host(ssl, name);
	while ((r = SSL_connect(ssl)) != 1) {
		if (SSL_get_error(ssl, r) != SSL_ERROR_WANT_READ || now_s() > deadline) {
			ERR_print_errors_fp(stderr);
			return 3;
		}
		send_pending(wb, fd);
		if (feed(rb, fd, 100) < 0)
			return 3;
	}
	/* The client is done; its last flight is still in wbio. */
	printf("ready\n");
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		return 4;
	send_pending(wb, fd);
	FILE *f = fopen(send, "rb");
	size_t n = f ? fread(buf, 1, sizeof(buf), f) : 0;
	if (f)
		fclose(f);
	if (n && SSL_write(ssl, buf, (int)n) <= 0)
		return 5;
	send_pending(wb, fd);
	while (now_s() < deadline) {
		int got = feed(rb, fd, 100);
		for (;;) {
			int k = SSL_read(ssl, buf, sizeof(buf));
			if (k <= 0)
				break;
			fwrite(buf, 1, (size_t)k, stdout);
			fflush(stdout);
		}
		send_pending(wb, fd);
		if (got < 0 || (SSL_get_shutdown(ssl) & SSL_RECEIVED_SHUTDOWN))
			return 0;
	}
	return 6;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 5 && !strcmp(argv[1], "hold"))
		return hold(argv[2], argv[3], atoi(argv[4]), argc > 5 ? argv[5] : NULL, argc > 6 ? atof(argv[6]) : 0);
	if (argc == 7 && !strcmp(argv[1], "flood"))
		return flood(argv[2], argv[3], atof(argv[4]), atof(argv[5]), argv[6]);
	if (argc == 4 && !strcmp(argv[1], "sink"))
		return sink(argv[2], atof(argv[3]));
	if (argc == 10 && !strcmp(argv[1], "slowhs"))
		return slowhs(argv + 2);
	fprintf(stderr, "usage: peer_tool hold HOST PORT N [SRC [RATE]] | flood HOST PORT RATE SECONDS hello|garbage |\n"
			"       sink PORT SECONDS | slowhs HOST PORT CA CERT KEY NAME SEND_FILE SECONDS\n");
	return 2;
}
