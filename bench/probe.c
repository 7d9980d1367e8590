/* SPDX-License-Identifier: MIT */
/*
 * probe.c - small TCP endpoints for bench/tunnel.sh (not linked with the
 * daemon; plain POSIX, loopback only).
 *
 *   probe send HOST PORT INTERVAL_US SECONDS
 *       Connect (TCP_NODELAY) and send one 24-byte record every INTERVAL_US,
 *       paced on absolute CLOCK_MONOTONIC deadlines (a late send does not
 *       shift the ones after it): {seq, sent_ns, due_ns}, host byte order.
 *
 *       The first record is due 300 ms after the connection is made, so
 *       that the tunnel's handshake is not measured as a stall.
 *
 *   probe recv PORT SECONDS
 *       Accept one connection on 127.0.0.1:PORT, read records until EOF
 *       (or SECONDS), then print one line:
 *         n=... lost=... gap_p50_us=... gap_p99_us=... gap_max_us=...
 *         gaps_over_5ms=... delay_p50_us=... delay_p99_us=... delay_max_us=...
 *         send_late_max_us=... max_gap_end_ms=EPOCH_MS
 *       gap = arrival of record i minus arrival of record i-1 (what a
 *       receiver sees as a stall); delay = arrival - sent_ns (what the
 *       tunnel added); send_late = sent_ns - due_ns (the sender's own
 *       scheduling jitter, to tell it apart from the tunnel's).
 *       max_gap_end_ms: CLOCK_REALTIME when the largest gap ended, to match
 *       it with the daemons' log lines.
 *
 *   probe sink PORT OUTFILE SECONDS
 *       Accept one connection on 127.0.0.1:PORT, read as fast as possible
 *       until EOF (or SECONDS), then write "EPOCH_US CUMULATIVE_BYTES" per
 *       read(2) to OUTFILE.
 *
 *   probe source HOST PORT SECONDS
 *       Connect and write zeros as fast as the connection takes them for
 *       SECONDS, then close.
 *
 *   probe echo PORT SECONDS
 *   probe drain PORT SECONDS
 *       Serve any number of connections on 127.0.0.1:PORT (epoll): echo
 *       sends back what it reads; drain reads and discards.  Both close a
 *       connection at its end of file.
 *
 *   probe connrate HOST PORT SECONDS CONCURRENCY
 *       Keep CONCURRENCY connections in flight for SECONDS, each: connect,
 *       write 1 KiB, read the 1 KiB echo back, close, and start the next.
 *       Prints one line: conns=... rate_per_s=... errors=...
 *         connect_p50_us=... connect_p99_us=... (connect() to connected)
 *         echo_p50_us=... echo_p99_us=... echo_max_us=... (connect() to the
 *         whole echo back: through a tunnel, its handshake included)
 *
 *   probe streams HOST PORT N BYTES SECONDS
 *       Open N connections at once, write BYTES on each, half-close, read
 *       to end of file.  Prints: streams=N done=... bytes=... ms=...
 *
 * Every mode bounds its run time with SECONDS (alarm); SIGTERM or SIGINT
 * end it the same way (recv and sink still report what they got).  Exits
 * non-zero on errors.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct rec {
	uint64_t seq, sent_ns, due_ns;
};

static volatile sig_atomic_t timed_out;

static void on_alarm(int sig)
{
	(void)sig;
	timed_out = 1;
}

static void bound(const char *secs)
{
	struct sigaction sa = { .sa_handler = on_alarm }; /* no SA_RESTART: read() returns EINTR */
	long s = atol(secs);

	if (s <= 0 || s > 3600) {
		fprintf(stderr, "probe: SECONDS must be 1..3600\n");
		exit(2);
	}
	sigaction(SIGALRM, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL); /* SIGTERM/SIGINT end a run like the bound */
	sigaction(SIGINT, &sa, NULL);
	alarm((unsigned)s);
}

static uint64_t ns_of(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int port_of(const char *s)
{
	int p = atoi(s);

	if (p <= 0 || p > 65535) {
		fprintf(stderr, "probe: bad port %s\n", s);
		exit(2);
	}
	return p;
}

static int connect_to(const char *host, const char *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port_of(port)) };
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
		fprintf(stderr, "probe: %s is not an IPv4 address\n", host);
		exit(2);
	}
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("probe: connect");
		exit(1);
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static int accept_one(const char *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port_of(port)),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		exit(1);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4) < 0) {
		perror("probe: bind/listen");
		exit(1);
	}
	int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
	if (c < 0) {
		perror(timed_out ? "probe: accept (timed out)" : "probe: accept");
		exit(1);
	}
	close(fd);
	setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return c;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static uint64_t pct(const uint64_t *v, size_t n, double p)
{
	if (!n)
		return 0;
	size_t i = (size_t)(p * (double)n);
	return v[i < n ? i : n - 1];
}

/* ---- send / recv ----------------------------------------------------- */

static int do_send(char **a)
{
	int fd = connect_to(a[0], a[1]);
	uint64_t iv = (uint64_t)atol(a[2]) * 1000u;
	uint64_t end, start = ns_of(CLOCK_MONOTONIC) + 300000000u;

	bound(a[3]);
	if (iv == 0) {
		fprintf(stderr, "probe: INTERVAL_US must be > 0\n");
		return 2;
	}
	end = start - 300000000u + (uint64_t)atol(a[3]) * 1000000000u - 500000000u; /* before the alarm */
	for (uint64_t i = 0;; i++) {
		struct rec r = { .seq = i, .due_ns = start + i * iv };
		if (r.due_ns >= end || timed_out)
			break;
		struct timespec ts = { .tv_sec = (time_t)(r.due_ns / 1000000000u),
				       .tv_nsec = (long)(r.due_ns % 1000000000u) };
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR && !timed_out)
			;
		r.sent_ns = ns_of(CLOCK_MONOTONIC);
		if (write(fd, &r, sizeof(r)) != (ssize_t)sizeof(r)) {
			perror("probe: write");
			return 1;
		}
	}
	shutdown(fd, SHUT_WR);
	char c;
	while (read(fd, &c, 1) > 0) /* until the far side closes too */
		;
	close(fd);
	return 0;
}

static int do_recv(char **a)
{
	bound(a[1]);
	int fd = accept_one(a[0]);
	size_t cap = 1 << 16, n = 0, have = 0;
	uint64_t *gap = malloc(cap * sizeof(*gap)), *delay = malloc(cap * sizeof(*delay));
	uint64_t last_arr = 0, late_max = 0, max_gap = 0, max_gap_end_ms = 0, lost = 0, next_seq = 0;
	uint64_t over5 = 0;
	char buf[64 * 1024];

	if (!gap || !delay)
		return 1;
	for (;;) {
		ssize_t r = read(fd, buf + have, sizeof(buf) - have);
		if (r < 0 && errno == EINTR && !timed_out)
			continue;
		if (r <= 0)
			break;
		uint64_t arr = ns_of(CLOCK_MONOTONIC);
		have += (size_t)r;
		size_t off = 0;
		for (; have - off >= sizeof(struct rec); off += sizeof(struct rec)) {
			struct rec rc;
			memcpy(&rc, buf + off, sizeof(rc));
			if (rc.seq != next_seq)
				lost += rc.seq > next_seq ? rc.seq - next_seq : 1;
			next_seq = rc.seq + 1;
			if (n == cap) {
				cap *= 2;
				gap = realloc(gap, cap * sizeof(*gap));
				delay = realloc(delay, cap * sizeof(*delay));
				if (!gap || !delay)
					return 1;
			}
			if (rc.sent_ns - rc.due_ns > late_max && rc.sent_ns > rc.due_ns)
				late_max = rc.sent_ns - rc.due_ns;
			delay[n] = arr > rc.sent_ns ? arr - rc.sent_ns : 0;
			gap[n] = n ? arr - last_arr : 0;
			if (gap[n] > 5000000u)
				over5++;
			if (gap[n] > max_gap) {
				max_gap = gap[n];
				max_gap_end_ms = ns_of(CLOCK_REALTIME) / 1000000u;
			}
			last_arr = arr;
			n++;
		}
		memmove(buf, buf + off, have - off);
		have -= off;
	}
	if (n < 2) {
		fprintf(stderr, "probe: received %zu records%s\n", n, timed_out ? " (timed out)" : "");
		return 1;
	}
	/* gap[0] is not a gap */
	qsort(gap + 1, n - 1, sizeof(*gap), cmp_u64);
	qsort(delay, n, sizeof(*delay), cmp_u64);
	printf("n=%zu lost=%llu gap_p50_us=%llu gap_p99_us=%llu gap_max_us=%llu gaps_over_5ms=%llu "
	       "delay_p50_us=%llu delay_p99_us=%llu delay_max_us=%llu send_late_max_us=%llu "
	       "max_gap_end_ms=%llu\n",
	       n, (unsigned long long)lost, (unsigned long long)pct(gap + 1, n - 1, 0.5) / 1000,
	       (unsigned long long)pct(gap + 1, n - 1, 0.99) / 1000,
	       (unsigned long long)gap[n - 1] / 1000, (unsigned long long)over5,
	       (unsigned long long)pct(delay, n, 0.5) / 1000, (unsigned long long)pct(delay, n, 0.99) / 1000,
	       (unsigned long long)delay[n - 1] / 1000, (unsigned long long)late_max / 1000,
	       (unsigned long long)max_gap_end_ms);
	free(gap);
	free(delay);
	close(fd);
	return timed_out ? 1 : 0;
}

/* ---- sink / source ----------------------------------------------------- */

static int do_sink(char **a)
{
	bound(a[2]);
	int fd = accept_one(a[0]);
	size_t cap = 1 << 16, n = 0;
	uint64_t *t = malloc(cap * sizeof(*t)), *cum = malloc(cap * sizeof(*cum)), total = 0;
	static char buf[256 * 1024];

	if (!t || !cum)
		return 1;
	for (;;) {
		ssize_t r = read(fd, buf, sizeof(buf));
		if (r < 0 && errno == EINTR && !timed_out)
			continue;
		if (r <= 0)
			break;
		total += (uint64_t)r;
		if (n == cap) {
			cap *= 2;
			t = realloc(t, cap * sizeof(*t));
			cum = realloc(cum, cap * sizeof(*cum));
			if (!t || !cum)
				return 1;
		}
		t[n] = ns_of(CLOCK_REALTIME) / 1000u;
		cum[n++] = total;
	}
	FILE *f = fopen(a[1], "w");
	if (!f) {
		perror(a[1]);
		return 1;
	}
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%llu %llu\n", (unsigned long long)t[i], (unsigned long long)cum[i]);
	if (fclose(f) != 0)
		return 1;
	close(fd);
	return 0;
}

static int do_source(char **a)
{
	int fd = connect_to(a[0], a[1]);
	static char buf[64 * 1024];

	bound(a[2]);
	while (!timed_out) {
		ssize_t w = write(fd, buf, sizeof(buf));
		if (w < 0 && errno != EINTR) {
			perror("probe: write");
			return 1;
		}
	}
	close(fd);
	return 0;
}

/* ---- many connections (epoll) --------------------------------------------- */

#define CONN_MSG 1024

static int listen_on(const char *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port_of(port)),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd < 0)
		exit(1);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4096) < 0) {
		perror("probe: bind/listen");
		exit(1);
	}
	return fd;
}

/* One served connection: what is read and not yet echoed. */
struct served {
	int fd;
	size_t r, w;
	char buf[16 * 1024];
};

static int serve(char **a, bool echo)
{
	int lfd = listen_on(a[0]), ep = epoll_create1(EPOLL_CLOEXEC), one = 1;
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL }, evs[256];

	bound(a[1]);
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	while (!timed_out) {
		int n = epoll_wait(ep, evs, 256, 200);
		for (int i = 0; i < n; i++) {
			struct served *c = evs[i].data.ptr;
			if (!c) {
				int fd;
				while ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK)) >= 0) {
					c = calloc(1, sizeof(*c));
					if (!c)
						exit(1);
					c->fd = fd;
					setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
					ev = (struct epoll_event){ .events = EPOLLIN, .data.ptr = c };
					epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
				}
				continue;
			}
			bool done = false;
			if (c->w > c->r) {
				ssize_t k = write(c->fd, c->buf + c->r, c->w - c->r);
				if (k > 0)
					c->r += (size_t)k;
				else if (k < 0 && errno != EAGAIN)
					done = true;
			}
			if (c->r == c->w) {
				c->r = c->w = 0;
				ssize_t k = read(c->fd, c->buf, sizeof(c->buf));
				if (k > 0 && echo) {
					c->w = (size_t)k;
					ssize_t m = write(c->fd, c->buf, c->w);
					if (m > 0)
						c->r = (size_t)m;
				} else if (k == 0 || (k < 0 && errno != EAGAIN)) {
					done = true;
				}
			}
			if (done) {
				close(c->fd);
				free(c);
				continue;
			}
			ev = (struct epoll_event){ .events = c->w > c->r ? EPOLLOUT : EPOLLIN, .data.ptr = c };
			epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
		}
	}
	return 0;
}

static int do_echo(char **a)
{
	return serve(a, true);
}

static int do_drain(char **a)
{
	return serve(a, false);
}

/* A client connection of connrate / streams. */
struct client {
	int fd;
	uint64_t t0, t_conn;
	size_t sent, got, want;
	bool connected, shut;
};

static int client_start(int ep, struct client *c, const struct sockaddr_in *sa)
{
	int one = 1;

	memset(c, 0, sizeof(*c));
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (c->fd < 0)
		return -1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->t0 = ns_of(CLOCK_MONOTONIC);
	if (connect(c->fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0 && errno != EINPROGRESS) {
		close(c->fd);
		return -1;
	}
	struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = c };
	epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
	return 0;
}

static void addr_of(const char *host, const char *port, struct sockaddr_in *sa)
{
	*sa = (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htons((uint16_t)port_of(port)) };
	if (inet_pton(AF_INET, host, &sa->sin_addr) != 1) {
		fprintf(stderr, "probe: %s is not an IPv4 address\n", host);
		exit(2);
	}
}

/*
 * Drive c one step: connect completes, write what is left of want (then
 * half-close when shut_after), read.  Returns 1 when the exchange is
 * complete (want bytes back, or end of file for streams), -1 on error,
 * 0 while it goes on.
 */
static int client_step(int ep, struct client *c, const char *data, bool to_eof)
{
	char buf[64 * 1024];

	if (!c->connected) {
		int e = 0;
		socklen_t l = sizeof(e);
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &l) < 0 || e)
			return -1;
		c->connected = true;
		c->t_conn = ns_of(CLOCK_MONOTONIC);
	}
	while (c->sent < c->want) {
		size_t n = c->want - c->sent > sizeof(buf) ? sizeof(buf) : c->want - c->sent;
		ssize_t k = write(c->fd, data, n);
		if (k < 0) {
			if (errno != EAGAIN)
				return -1;
			break;
		}
		c->sent += (size_t)k;
	}
	if (to_eof && c->sent == c->want && !c->shut) {
		shutdown(c->fd, SHUT_WR);
		c->shut = true;
	}
	for (;;) {
		ssize_t k = read(c->fd, buf, sizeof(buf));
		if (k > 0) {
			c->got += (size_t)k;
			if (!to_eof && c->got >= c->want)
				return 1;
			continue;
		}
		if (k == 0)
			return to_eof ? 1 : -1;
		if (errno != EAGAIN)
			return -1;
		break;
	}
	struct epoll_event ev = { .events = EPOLLIN | (c->sent < c->want ? EPOLLOUT : 0), .data.ptr = c };
	epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
	return 0;
}

static void client_end(int ep, struct client *c)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
}

static int do_connrate(char **a)
{
	static char msg[CONN_MSG];
	struct sockaddr_in sa;
	int conc = atoi(a[3]), ep = epoll_create1(EPOLL_CLOEXEC);
	size_t cap = 4u << 20, n = 0, errors = 0;
	uint64_t *conn_us = malloc(cap * sizeof(uint64_t)), *echo_us = malloc(cap * sizeof(uint64_t));
	struct epoll_event evs[256];

	addr_of(a[0], a[1], &sa);
	if (conc < 1 || conc > 1024 || !conn_us || !echo_us) {
		fprintf(stderr, "probe: CONCURRENCY must be 1..1024\n");
		return 2;
	}
	struct client *cs = calloc((size_t)conc, sizeof(*cs));
	memset(msg, 'x', sizeof(msg));
	bound(a[2]);
	uint64_t start = ns_of(CLOCK_MONOTONIC);
	for (int i = 0; i < conc; i++) {
		if (client_start(ep, &cs[i], &sa) < 0)
			errors++;
		cs[i].want = CONN_MSG;
	}
	while (!timed_out) {
		int k = epoll_wait(ep, evs, 256, 100);
		for (int i = 0; i < k && !timed_out; i++) {
			struct client *c = evs[i].data.ptr;
			int r = client_step(ep, c, msg, false);
			if (r == 0)
				continue;
			uint64_t now = ns_of(CLOCK_MONOTONIC);
			if (r > 0 && n < cap) {
				conn_us[n] = (c->t_conn - c->t0) / 1000;
				echo_us[n] = (now - c->t0) / 1000;
				n++;
			} else if (r < 0) {
				errors++;
			}
			client_end(ep, c);
			if (client_start(ep, c, &sa) < 0)
				errors++;
			c->want = CONN_MSG;
		}
	}
	double secs = (double)(ns_of(CLOCK_MONOTONIC) - start) / 1e9;
	qsort(conn_us, n, sizeof(uint64_t), cmp_u64);
	qsort(echo_us, n, sizeof(uint64_t), cmp_u64);
	printf("conns=%zu rate_per_s=%.1f errors=%zu connect_p50_us=%llu connect_p99_us=%llu echo_p50_us=%llu "
	       "echo_p99_us=%llu echo_max_us=%llu\n",
	       n, (double)n / secs, errors, (unsigned long long)pct(conn_us, n, 0.5),
	       (unsigned long long)pct(conn_us, n, 0.99), (unsigned long long)pct(echo_us, n, 0.5),
	       (unsigned long long)pct(echo_us, n, 0.99), (unsigned long long)(n ? echo_us[n - 1] : 0));
	return 0;
}

static int do_streams(char **a)
{
	static char data[64 * 1024];
	struct sockaddr_in sa;
	long nstreams = atol(a[2]), bytes = atol(a[3]);
	int ep = epoll_create1(EPOLL_CLOEXEC);
	size_t done = 0, failed = 0, total = 0;
	struct epoll_event evs[256];

	addr_of(a[0], a[1], &sa);
	if (nstreams < 1 || nstreams > 65536 || bytes < 1) {
		fprintf(stderr, "probe: N must be 1..65536, BYTES >= 1\n");
		return 2;
	}
	struct client *cs = calloc((size_t)nstreams, sizeof(*cs));
	bound(a[4]);
	uint64_t start = ns_of(CLOCK_MONOTONIC);
	for (long i = 0; i < nstreams; i++) {
		if (client_start(ep, &cs[i], &sa) < 0)
			failed++;
		cs[i].want = (size_t)bytes;
	}
	while (!timed_out && done + failed < (size_t)nstreams) {
		int k = epoll_wait(ep, evs, 256, 100);
		for (int i = 0; i < k; i++) {
			struct client *c = evs[i].data.ptr;
			int r = client_step(ep, c, data, true);
			if (r == 0)
				continue;
			if (r > 0 && c->sent == c->want) {
				done++;
				total += c->sent;
			} else {
				failed++;
			}
			client_end(ep, c);
		}
	}
	printf("streams=%ld done=%zu failed=%zu bytes=%zu ms=%llu\n", nstreams, done, failed, total,
	       (unsigned long long)((ns_of(CLOCK_MONOTONIC) - start) / 1000000));
	return done == (size_t)nstreams ? 0 : 1;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int args;
		int (*fn)(char **);
		const char *usage;
	} modes[] = {
		{ "send", 4, do_send, "HOST PORT INTERVAL_US SECONDS" },
		{ "recv", 2, do_recv, "PORT SECONDS" },
		{ "sink", 3, do_sink, "PORT OUTFILE SECONDS" },
		{ "source", 3, do_source, "HOST PORT SECONDS" },
		{ "echo", 2, do_echo, "PORT SECONDS" },
		{ "drain", 2, do_drain, "PORT SECONDS" },
		{ "connrate", 4, do_connrate, "HOST PORT SECONDS CONCURRENCY" },
		{ "streams", 5, do_streams, "HOST PORT N BYTES SECONDS" },
	};

	signal(SIGPIPE, SIG_IGN);
	for (size_t i = 0; argc > 1 && i < sizeof(modes) / sizeof(modes[0]); i++)
		if (!strcmp(argv[1], modes[i].name) && argc == modes[i].args + 2)
			return modes[i].fn(argv + 2);
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		fprintf(stderr, "usage: probe %s %s\n", modes[i].name, modes[i].usage);
	return 2;
}
