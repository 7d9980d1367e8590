/* SPDX-License-Identifier: MIT */
/*
 * notify.c - the service manager's readiness protocol.
 *
 * With libsystemd (configure finds it) messages go through sd_notify();
 * otherwise through the protocol itself: one AF_UNIX datagram to the
 * socket named by $NOTIFY_SOCKET (a path, or '@' for the abstract
 * namespace).  Either way the daemon never waits for the manager and never
 * fails because of it.
 */
#include "notify.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#ifdef HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "log.h"

int notify_datagram(const char *addr, const char *msg)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	size_t n = strlen(addr);
	int ret, fd;

	if (n < 2 || n >= sizeof(sun.sun_path) || (addr[0] != '/' && addr[0] != '@'))
		return -EINVAL;
	memcpy(sun.sun_path, addr, n);
	if (addr[0] == '@')
		sun.sun_path[0] = '\0';
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (addr[0] == '/'));
	ssize_t w = sendto(fd, msg, strlen(msg), MSG_NOSIGNAL | MSG_DONTWAIT, (struct sockaddr *)&sun, len);
	ret = w < 0 ? -errno : 1;
	close(fd);
	return ret;
}

const char *notify_backend(void)
{
#ifdef HAVE_LIBSYSTEMD
	return "libsystemd";
#else
	return "datagram";
#endif
}

int notify_send(const char *fmt, ...)
{
	static int warned;
	char msg[1024];
	va_list ap;
	int ret;

	const char *addr = getenv("NOTIFY_SOCKET");
	if (!addr || !*addr)
		return 0;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
#ifdef HAVE_LIBSYSTEMD
	ret = sd_notify(0, msg);
#else
	ret = notify_datagram(addr, msg);
#endif
	if (ret < 0 && !warned) {
		warned = 1;
		log_debug("daemon", "event=notify_failed socket=%s error=%s", addr, strerror(-ret));
	}
	return ret;
}
