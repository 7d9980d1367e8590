/* SPDX-License-Identifier: MIT */
/*
 * cfglex.h - a tokenizer of libconfig 1.5 text with libconfig's own idea
 * of what is a comment, a string and an @include directive.
 *
 * The include expansion (cfgtext.c) and the SNMP write-back splice
 * (writeback.c) both read configuration text without libconfig: they must
 * agree with it, and with each other, on where comments, strings and
 * directives start and end, or an edit lands inside a comment and an
 * @include is missed.  This is the one place that knows.
 *
 * Tokens are byte ranges of the text; nothing is copied, nothing is
 * allocated, and the tokenizer always makes progress and never reads past
 * len.  It does not check the grammar.
 */
#ifndef SSS_CFGLEX_H
#define SSS_CFGLEX_H

#include <stdbool.h>
#include <stddef.h>

enum cfglex_kind {
	CFGLEX_END,     /* end of the text (see cfglex.unterminated) */
	CFGLEX_WORD,    /* a name, number, boolean, or any other run of bytes */
	CFGLEX_STRING,  /* "...", quotes included */
	CFGLEX_PUNCT,   /* one of = : ; , { } [ ] ( ) */
	CFGLEX_INCLUDE, /* [ \t]*@include[ \t]+"name" at the start of a line */
};

struct cfglex_tok {
	enum cfglex_kind kind;
	size_t start, end; /* the token's bytes, [start, end) */
	int line;          /* the line of start, 1-based */
	char c;            /* CFGLEX_PUNCT: the character */
	/* CFGLEX_INCLUDE: the name between the quotes, as written (\\ and \"
	 * not yet undone: see cfglex_include_name). */
	size_t arg_start, arg_end;
};

struct cfglex {
	const char *s;
	size_t len, pos;
	int line;
	bool bol; /* pos is at the start of a line */
	/* Set when the text ended inside a comment, a string or an @include
	 * directive ("comment", "string", "@include"), with the line where
	 * it was opened.  libconfig 1.5 silently accepts all three. */
	const char *unterminated;
	int open_line;
};

void cfglex_init(struct cfglex *lx, const char *s, size_t len);
/* The next token; white space and comments are skipped. */
struct cfglex_tok cfglex_next(struct cfglex *lx);
/* The next token without consuming it. */
struct cfglex_tok cfglex_peek(const struct cfglex *lx);

/* The file name of an include token, with libconfig's escapes undone,
 * into out (NUL-terminated, cut to size); returns its full length. */
size_t cfglex_include_name(const struct cfglex *lx, const struct cfglex_tok *t, char *out, size_t size);

#endif
