/* SPDX-License-Identifier: MIT */
/*
 * log.c - logfmt lines to stderr or syslog, from any thread.
 *
 * One write(2) per line so that lines from several threads never
 * interleave; never allocates on the heap, so it can be used on the paths
 * that report allocation or OpenSSL failures.
 */

#include <stdarg.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>

#include "log.h"

static atomic_int log_level = LOG_LEVEL_INFO;
static atomic_int log_syslog;

static const char *const level_names[] = { "error", "warning", "info", "debug" };

void log_use_syslog(int on)
{
	if (on && !log_syslog)
		openlog("sssonector", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	log_syslog = on;
}

void log_set_level(enum log_level level)
{
	log_level = level;
}

enum log_level log_get_level(void)
{
	return log_level;
}

const char *log_level_name(enum log_level level)
{
	return level >= LOG_LEVEL_ERROR && level <= LOG_LEVEL_DEBUG ? level_names[level] : "?";
}

void log_msg(enum log_level level, const char *subsys, const char *fmt, ...)
{
	char line[4096];
	size_t n = 0;
	va_list ap;

	if ((int)level > log_level)
		return;
	if (!log_syslog) {
		struct timespec ts;
		struct tm tm;

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		n = strftime(line, sizeof(line), "ts=%Y-%m-%dT%H:%M:%S", &tm);
		n += (size_t)snprintf(line + n, sizeof(line) - n, ".%03ldZ ", ts.tv_nsec / 1000000);
	}
	n += (size_t)snprintf(line + n, sizeof(line) - n, "level=%s subsys=%s ", log_level_name(level),
			      subsys);
	va_start(ap, fmt);
	int r = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
	if (r < 0)
		r = 0;
	n += (size_t)r;
	if (n > sizeof(line) - 2)
		n = sizeof(line) - 2;

	if (log_syslog) {
		static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
		line[n] = '\0';
		syslog(prio[level], "%s", line);
		return;
	}
	line[n++] = '\n';
	ssize_t w = write(STDERR_FILENO, line, n);
	(void)w;
}

const char *log_quote(const char *s, char *buf, size_t len)
{
	size_t o = 0;
	bool plain = *s != '\0';

	if (len == 0)
		return buf;
	for (const char *p = s; *p; p++)
		if (*p == ' ' || *p == '"' || *p == '=' || *p == '\\' || (unsigned char)*p < 0x20 ||
		    *p == 0x7f)
			plain = false;
	if (plain) {
		snprintf(buf, len, "%s", s);
		return buf;
	}
#define PUT(c)                          \
	do {                            \
		if (o + 1 < len)        \
			buf[o++] = (c); \
	} while (0)
	PUT('"');
	for (const unsigned char *p = (const unsigned char *)s; *p && o + 5 < len; p++) {
		if (*p == '"' || *p == '\\') {
			PUT('\\');
			PUT((char)*p);
		} else if (*p == '\n') {
			PUT('\\');
			PUT('n');
		} else if (*p == '\t') {
			PUT('\\');
			PUT('t');
		} else if (*p < 0x20 || *p == 0x7f) {
			o += (size_t)snprintf(buf + o, len - o, "\\x%02x", *p);
		} else {
			PUT((char)*p);
		}
	}
	PUT('"');
#undef PUT
	buf[o < len ? o : len - 1] = '\0';
	return buf;
}

void log_openssl(enum log_level level, const char *subsys, const char *what)
{
	unsigned long e;
	char buf[256], q[300];

	while ((e = ERR_get_error()) != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		log_msg(level, subsys, "event=openssl what=%s error=%s", what,
			log_quote(buf, q, sizeof(q)));
	}
}
