/* SPDX-License-Identifier: MIT */
/*
 * notify.h - tell the service manager how the daemon is doing (systemd's
 * sd_notify protocol: READY=1, RELOADING=1, STATUS=..., STOPPING=1).
 *
 * Does nothing when NOTIFY_SOCKET is not set.  Never blocks, never fails
 * the caller: a message that cannot be sent is logged once at debug level.
 */
#ifndef SSS_NOTIFY_H
#define SSS_NOTIFY_H

/* Send one message: assignments separated by '\n' ("READY=1\nSTATUS=x").
 * Returns 1 when sent, 0 when there is no NOTIFY_SOCKET, -errno on error. */
int notify_send(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The datagram protocol itself (what notify_send uses when the daemon is
 * built without libsystemd): send msg to socket address addr, a path or
 * "@abstract".  Returns 1 when sent, -errno on error. */
int notify_datagram(const char *addr, const char *msg);

/* "libsystemd" or "datagram": how notify_send sends. */
const char *notify_backend(void);

#endif
