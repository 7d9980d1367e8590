/* SPDX-License-Identifier: MIT */
/*
 * cfgtext.h - the configuration text with its @include directives
 * expanded, as the loader hands it to libconfig, and the way back from a
 * line of it to the file and line it came from.  Internal to the config
 * module (config.c); see cfgtext.c for why libconfig never opens a file.
 */
#ifndef SSS_CFGTEXT_H
#define SSS_CFGTEXT_H

#include "config.h"

/* Lines from out_line on come from line of file (-1: the configuration
 * file, else an index into config.includes). */
struct cfg_text_seg {
	int out_line;
	int file;
	int line;
};

struct cfg_text {
	struct sbuf text; /* what libconfig parses, NUL-terminated */
	struct cfg_text_seg *seg;
	size_t n_seg, cap_seg;
	int out_line; /* while expanding: the line being written */
};

/*
 * Expand c->text (the configuration file's bytes): read every file an
 * @include names (relative names from dir) into c->includes, in order of
 * first appearance, each once, and build t.  Every problem is added to
 * errs at the directive's file and line.  Returns CFG_OK, CFG_ERR_PARSE
 * (a file that cannot be opened, a NUL byte, something left unterminated,
 * nesting deeper than CFG_INCLUDE_DEPTH) or CFG_ERR_INVALID (a file that
 * is not a regular file or is too large, too many files, too much text).
 * t is always initialised: free it with cfg_text_free.
 */
enum cfg_status cfg_text_expand(struct config *c, const char *dir, struct cfg_text *t, struct cfg_errors *errs);

/*
 * The skeleton of t->text, for a first parse: every run of adjacent string
 * literals (one value to libconfig) replaced by " 0 " followed by as many
 * newlines as the run spanned, so lines do not move.  Its syntax is the
 * text's syntax, and a parse of it allocates no string: libconfig 1.5
 * leaks the value of a string token that a syntax error discards (a whole
 * 200 KB string per rejected reload).  Returns 0, or -1 with an error
 * when t holds an @include directive (one that followed another on its
 * line: cfg_text_expand left it as text, libconfig would open it).
 */
int cfg_text_skeleton(const struct cfg_text *t, const struct config *c, struct sbuf *out, struct cfg_errors *errs);

/* The file (c->path or an include's path) and *line that line out_line
 * of t came from. */
const char *cfg_text_where(const struct cfg_text *t, const struct config *c, int out_line, int *line);

void cfg_text_free(struct cfg_text *t);

#endif
