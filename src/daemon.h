/* SPDX-License-Identifier: MIT */
/*
 * daemon.h - the control thread: signals, the file watch and requests
 * from other threads, all in one poll loop that drives the engine.
 */
#ifndef SSS_DAEMON_H
#define SSS_DAEMON_H

#include <stdbool.h>

struct daemon_opts {
	const char *config_path;
	const char *pidfile; /* NULL: none */
	const char *user;    /* --user: overrides the setting user (NULL: none) */
	bool syslog;
};

/* Run until SIGINT/SIGTERM.  Returns the process exit code: 0 after a
 * graceful stop, 1 when the configuration is invalid at startup (its
 * errors printed to stderr as --check prints them) or setup fails. */
int daemon_run(const struct daemon_opts *o);

#endif
