/* SPDX-License-Identifier: MIT */
/*
 * notify_sink.c - the service manager's side of NOTIFY_SOCKET, for tests:
 * bind a datagram socket at PATH and append every message received to
 * OUT as one line (its assignments joined by a tab, then a tab and
 * recv_usec=N, the sink's CLOCK_MONOTONIC when it arrived), flushed.
 *
 *   notify_sink PATH OUT
 *
 * Runs until killed.  The line "sink ready" is written to OUT first.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char buf[4096];

	if (argc != 3 || strlen(argv[1]) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "usage: notify_sink PATH OUT\n");
		return 2;
	}
	FILE *out = fopen(argv[2], "a");
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	strcpy(sun.sun_path, argv[1]);
	unlink(argv[1]);
	if (!out || fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		perror("notify_sink");
		return 1;
	}
	fprintf(out, "sink ready\n");
	fflush(out);
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);
		if (n < 0)
			continue;
		buf[n] = '\0';
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] == '\n')
				buf[i] = '\t';
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		fprintf(out, "%s\trecv_usec=%lld\n", buf,
			(long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
		fflush(out);
	}
}
