/* SPDX-License-Identifier: MIT */
/*
 * cfgerr.c - the list of configuration errors and its one text form,
 * "FILE:LINE: KEY: message (got: VALUE)", which --check, the log and SNMP
 * all print.  The list owns copies of every string; callers never see a
 * half-built entry.  Whoever adds an error is responsible for masking
 * secrets in the value: this file prints what it is given.
 */

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

static void push(struct cfg_errors *errs, const char *file, int line, const char *key,
		 const char *value, char *message)
{
	if (errs->n == errs->cap) {
		errs->cap = errs->cap ? errs->cap * 2 : 8;
		errs->v = xrealloc(errs->v, errs->cap * sizeof(*errs->v));
	}
	struct cfg_error *e = &errs->v[errs->n++];
	e->file = dup_or_null(file);
	e->line = line;
	e->key = dup_or_null(key);
	e->value = dup_or_null(value);
	e->message = message;
}

void cfg_errors_add(struct cfg_errors *errs, const char *file, int line, const char *key,
		    const char *value, const char *fmt, ...)
{
	struct sbuf msg = { 0 };
	va_list ap;

	va_start(ap, fmt);
	sbuf_vprintf(&msg, fmt, ap);
	va_end(ap);
	if (!msg.s)
		msg.s = xstrdup("");
	push(errs, file, line, key, value, msg.s);
}

void cfg_errors_clear(struct cfg_errors *errs)
{
	for (size_t i = 0; i < errs->n; i++) {
		struct cfg_error *e = &errs->v[i];
		free(e->file);
		free(e->key);
		free(e->message);
		free(e->value);
	}
	errs->n = 0;
}

void cfg_errors_free(struct cfg_errors *errs)
{
	cfg_errors_clear(errs);
	free(errs->v);
	errs->v = NULL;
	errs->cap = 0;
}

void cfg_errors_append(struct cfg_errors *dst, const struct cfg_errors *src)
{
	size_t n = src->n; /* src may be dst */

	for (size_t i = 0; i < n; i++) {
		struct cfg_error e = src->v[i];
		push(dst, e.file, e.line, e.key, e.value, xstrdup(e.message ? e.message : ""));
	}
}

static void format(const struct cfg_error *e, const char *kind, struct sbuf *out)
{
	if (e->file) {
		sbuf_add(out, e->file);
		if (e->line > 0)
			sbuf_printf(out, ":%d", e->line);
		sbuf_add(out, ": ");
	}
	if (e->key)
		sbuf_printf(out, "%s: ", e->key);
	sbuf_add(out, kind);
	sbuf_add(out, e->message ? e->message : "");
	if (e->value)
		sbuf_printf(out, " (got: %s)", e->value);
}

void cfg_error_format(const struct cfg_error *e, struct sbuf *out)
{
	format(e, "", out);
}

void cfg_warning_format(const struct cfg_error *e, struct sbuf *out)
{
	format(e, "warning: ", out);
}
