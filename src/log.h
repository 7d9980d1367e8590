/* SPDX-License-Identifier: MIT */
/*
 * log.h - the daemon's one logger.
 *
 * Every line is logfmt: "ts=... level=... subsys=..." followed by the
 * caller's own key=value pairs, so a line is readable and greppable.  The
 * logger is thread-safe and never blocks on anything but a write(2).
 */
#ifndef SSS_LOG_H
#define SSS_LOG_H

#include <stddef.h>

enum log_level {
	LOG_LEVEL_ERROR = 0,
	LOG_LEVEL_WARNING = 1,
	LOG_LEVEL_INFO = 2,
	LOG_LEVEL_DEBUG = 3,
};

/* Send lines to syslog (ident "sssonector") instead of stderr. */
void log_use_syslog(int on);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
const char *log_level_name(enum log_level level);

void log_msg(enum log_level level, const char *subsys, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define log_error(sub, ...) log_msg(LOG_LEVEL_ERROR, sub, __VA_ARGS__)
#define log_warning(sub, ...) log_msg(LOG_LEVEL_WARNING, sub, __VA_ARGS__)
#define log_info(sub, ...) log_msg(LOG_LEVEL_INFO, sub, __VA_ARGS__)
#define log_debug(sub, ...) log_msg(LOG_LEVEL_DEBUG, sub, __VA_ARGS__)

/*
 * Quote s as a logfmt value into buf (always NUL-terminated): bare when it
 * has no space, quote, '=' or control character, otherwise in double quotes
 * with '"' and '\\' escaped and control characters as \n, \t or \xNN.
 * Returns buf so it can be used inline in a log call.
 */
const char *log_quote(const char *s, char *buf, size_t len);

/* Drain the OpenSSL error queue into the log, one line per entry. */
void log_openssl(enum log_level level, const char *subsys, const char *what);

#endif
