/* SPDX-License-Identifier: MIT */
/*
 * cfglex.c - libconfig 1.5's lexical rules, without libconfig.
 *
 * Mirrors the start conditions of libconfig 1.5's scanner.l: INITIAL,
 * COMMENT ("/ *" to "* /"), STRING ("..." with backslash escapes, across
 * lines) and INCLUDE (the name of "[ \t]*@include[ \t]+\"" matched only at
 * the start of a line, until the next unescaped quote, across lines).
 * "#" and "//" comments run to the end of the line.  Everything else is
 * punctuation or a run of other bytes (WORD); the grammar is libconfig's
 * business.
 */
#include "cfglex.h"

#include <string.h>

void cfglex_init(struct cfglex *lx, const char *s, size_t len)
{
	memset(lx, 0, sizeof(*lx));
	lx->s = s;
	lx->len = len;
	lx->line = 1;
	lx->bol = true;
}

static bool is_punct(char c)
{
	return c && strchr("=:;,{}[]()", c) != NULL;
}

static char at(const struct cfglex *lx, size_t i)
{
	return i < lx->len ? lx->s[i] : '\0';
}

static bool blank(char c)
{
	return c == ' ' || c == '\t';
}

/* At the start of a line: the length of "[ \t]*@include[ \t]+\"" at pos,
 * or 0. */
static size_t include_open(const struct cfglex *lx)
{
	size_t p = lx->pos;

	while (p < lx->len && blank(lx->s[p]))
		p++;
	if (lx->len - p < 9 || memcmp(lx->s + p, "@include", 8) != 0 || !blank(lx->s[p + 8]))
		return 0;
	p += 8;
	while (p < lx->len && blank(lx->s[p]))
		p++;
	return at(lx, p) == '"' ? p + 1 - lx->pos : 0;
}

/* Move to the end of the text, noting what was left open at line. */
static void run_out(struct cfglex *lx, const char *what, int line)
{
	lx->unterminated = what;
	lx->open_line = line;
	lx->pos = lx->len;
}

/* Skip a quoted run starting after its opening quote, up to and including
 * the closing quote.  A backslash escapes the next byte only when it is a
 * quote or a backslash (STRING and INCLUDE agree on that much).  Returns
 * false when the text ends first. */
static bool skip_quoted(struct cfglex *lx)
{
	while (lx->pos < lx->len) {
		char c = lx->s[lx->pos];
		if (c == '"') {
			lx->pos++;
			return true;
		}
		if (c == '\\' && (at(lx, lx->pos + 1) == '"' || at(lx, lx->pos + 1) == '\\')) {
			lx->pos += 2;
			continue;
		}
		if (c == '\n')
			lx->line++;
		lx->pos++;
	}
	return false;
}

struct cfglex_tok cfglex_next(struct cfglex *lx)
{
	struct cfglex_tok t = { .kind = CFGLEX_END };

	while (lx->pos < lx->len) {
		size_t open = lx->bol ? include_open(lx) : 0;
		char c = lx->s[lx->pos], d = at(lx, lx->pos + 1);

		t.start = lx->pos;
		t.line = lx->line;
		if (open) {
			lx->pos += open;
			lx->bol = false;
			t.kind = CFGLEX_INCLUDE;
			t.arg_start = lx->pos;
			if (!skip_quoted(lx)) {
				run_out(lx, "@include", t.line);
				t.kind = CFGLEX_END;
				break;
			}
			t.arg_end = lx->pos - 1;
			t.end = lx->pos;
			return t;
		}
		if (c == '\n') {
			lx->line++;
			lx->pos++;
			lx->bol = true;
			continue;
		}
		lx->bol = false;
		if (c == ' ' || c == '\t' || c == '\r' || c == '\f') {
			lx->pos++;
		} else if (c == '#' || (c == '/' && d == '/')) {
			while (lx->pos < lx->len && lx->s[lx->pos] != '\n')
				lx->pos++;
		} else if (c == '/' && d == '*') {
			const char *close = NULL;
			for (size_t p = lx->pos + 2; p + 1 < lx->len && !close; p++)
				if (lx->s[p] == '*' && lx->s[p + 1] == '/')
					close = lx->s + p;
			if (!close) {
				for (size_t p = lx->pos; p < lx->len; p++)
					lx->line += lx->s[p] == '\n';
				run_out(lx, "comment", t.line);
				break;
			}
			for (const char *p = lx->s + lx->pos; p < close; p++)
				lx->line += *p == '\n';
			lx->pos = (size_t)(close - lx->s) + 2;
		} else if (c == '"') {
			lx->pos++;
			t.kind = CFGLEX_STRING;
			if (!skip_quoted(lx)) {
				run_out(lx, "string", t.line);
				t.kind = CFGLEX_END;
				break;
			}
			t.end = lx->pos;
			return t;
		} else if (is_punct(c)) {
			lx->pos++;
			t.kind = CFGLEX_PUNCT;
			t.c = c;
			t.end = lx->pos;
			return t;
		} else {
			t.kind = CFGLEX_WORD;
			while (lx->pos < lx->len) {
				char x = lx->s[lx->pos], y = at(lx, lx->pos + 1);
				if (x == ' ' || x == '\t' || x == '\r' || x == '\n' || x == '\f' || x == '"' ||
				    x == '#' || is_punct(x) || (x == '/' && (y == '/' || y == '*')))
					break;
				lx->pos++;
			}
			t.end = lx->pos;
			return t;
		}
	}
	t.kind = CFGLEX_END;
	t.start = t.end = lx->len;
	t.line = lx->line;
	return t;
}

struct cfglex_tok cfglex_peek(const struct cfglex *lx)
{
	struct cfglex copy = *lx;

	return cfglex_next(&copy);
}

size_t cfglex_include_name(const struct cfglex *lx, const struct cfglex_tok *t, char *out, size_t size)
{
	size_t n = 0;

	for (size_t p = t->arg_start; p < t->arg_end; p++) {
		char c = lx->s[p];
		if (c == '\\' && p + 1 < t->arg_end && (lx->s[p + 1] == '\\' || lx->s[p + 1] == '"'))
			c = lx->s[++p];
		if (size && n < size - 1)
			out[n] = c;
		n++;
	}
	if (size)
		out[n < size ? n : size - 1] = '\0';
	return n;
}
