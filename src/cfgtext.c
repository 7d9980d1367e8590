/* SPDX-License-Identifier: MIT */
/*
 * cfgtext.c - the text libconfig parses: the configuration file with each
 * @include directive replaced by the bytes of the file it names, and a map
 * from every line of that text back to the file and line it came from.
 *
 * libconfig 1.5 would open an included file itself (fopen) and read it
 * through flex, whose fatal-error handler calls exit(): "@include \"\""
 * names the directory and kills the daemon, a FIFO or /dev/stdin hangs
 * it.  So the files are read here, with read_file's checks (a regular
 * file, under CFG_FILE_MAX, opened non-blocking), and libconfig only ever
 * parses a string.  The directives are found with cfglex, which follows
 * libconfig's rules (the start of a line, outside comments and strings),
 * so the expanded text means what libconfig would have read.
 *
 * Where this differs from libconfig 1.5, on purpose: an absolute @include
 * path is taken as it is (libconfig 1.5 prefixes the include directory to
 * every name); a file that ends inside a comment, a string or a directive
 * is a syntax error (libconfig 1.5 ignores the rest silently); a last line
 * without a newline may end with a comment (libconfig 1.5 gives a syntax
 * error).  Never logs, never exits.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "cfglex.h"
#include "cfgtext.h"
#include "config.h"

char *cfg_path_resolve(const char *dir, const char *name)
{
	struct sbuf b = { 0 };

	if (name[0] == '/')
		return xstrdup(name);
	sbuf_printf(&b, "%s%s%s", dir, dir[0] && dir[strlen(dir) - 1] == '/' ? "" : "/", name);
	return b.s;
}

/* State of one expansion. */
struct expander {
	struct config *c;
	const char *dir;
	struct cfg_text *t;
	struct cfg_errors *errs;
	bool parse_error, invalid;
	bool too_big; /* reported once */
	int depth;
};

/* Lines of t from now on come from line of file. */
static void seg_start(struct cfg_text *t, int file, int line)
{
	if (t->n_seg && t->seg[t->n_seg - 1].out_line == t->out_line) {
		t->n_seg--; /* nothing was written under the previous one */
	} else if (t->n_seg == t->cap_seg) {
		t->cap_seg = t->cap_seg ? 2 * t->cap_seg : 16;
		t->seg = xrealloc(t->seg, t->cap_seg * sizeof(*t->seg));
	}
	t->seg[t->n_seg++] = (struct cfg_text_seg){ .out_line = t->out_line, .file = file, .line = line };
}

static void emit(struct cfg_text *t, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		t->out_line += s[i] == '\n';
	sbuf_addn(&t->text, s, n);
}

static void end_line(struct cfg_text *t)
{
	if (t->text.len && t->text.s[t->text.len - 1] != '\n')
		emit(t, "\n", 1);
}

static const char *file_path(const struct expander *X, int file)
{
	return file < 0 ? X->c->path : X->c->includes[file].path;
}

/* A NUL byte would end libconfig's string early: the line of the first. */
static int nul_line(const unsigned char *s, size_t len)
{
	const unsigned char *nul = memchr(s, '\0', len);
	int line = 1;

	if (!nul)
		return 0;
	for (const unsigned char *p = s; p < nul; p++)
		line += *p == '\n';
	return line;
}

/*
 * The index in c->includes of the file an @include names, read now unless
 * an earlier directive read it already (one file, one content, however
 * often it is included); -1 with the error added (at file:line, the
 * directive) when it cannot be used.
 */
static int include_file(struct expander *X, const char *name, int file, int line)
{
	struct config *c = X->c;
	const char *where = file_path(X, file);
	char *path = cfg_path_resolve(X->dir, name);
	struct sbuf why = { 0 };
	int k = -1;

	for (size_t i = 0; i < c->n_includes; i++) {
		if (strcmp(c->includes[i].path, path) == 0) {
			free(path);
			return (int)i;
		}
	}
	if (c->n_includes == CFG_MAX_INCLUDES) {
		cfg_errors_add(X->errs, where, line, NULL, NULL, "@include \"%s\": more than %d files are included",
			       name, CFG_MAX_INCLUDES);
		X->invalid = true;
		goto out;
	}
	unsigned char *data = NULL;
	size_t len = 0;
	int r = read_file(path, CFG_FILE_MAX, &data, &len);
	if (r < 0) {
		read_file_error(r, CFG_FILE_MAX, &why);
		if (read_file_refused(r)) {
			cfg_errors_add(X->errs, where, line, NULL, NULL, "@include \"%s\": %s %s", name, path,
				       sbuf_str(&why));
			X->invalid = true;
		} else {
			cfg_errors_add(X->errs, where, line, NULL, NULL, "cannot open include file \"%s\": %s", name,
				       strerror(-r));
			X->parse_error = true;
		}
		goto out;
	}
	int nl = nul_line(data, len);
	if (nl) {
		cfg_errors_add(X->errs, path, nl, NULL, NULL, "contains a NUL byte");
		X->parse_error = true;
		free(data);
		goto out;
	}
	c->includes = xrealloc(c->includes, (c->n_includes + 1) * sizeof(*c->includes));
	c->includes[c->n_includes] = (struct cfg_file){ .path = path, .blob = { data, len } };
	path = NULL;
	k = (int)c->n_includes++;
out:
	free(path);
	sbuf_free(&why);
	return k;
}

/* Copy file's bytes s into the text, expanding its directives. */
static void expand(struct expander *X, int file, const char *s, size_t len)
{
	struct cfg_text *t = X->t;
	struct cfglex lx;
	size_t copied = 0;
	char name[PATH_MAX];

	cfglex_init(&lx, s, len);
	seg_start(t, file, 1);
	for (;;) {
		struct cfglex_tok tok = cfglex_next(&lx);
		if (tok.kind == CFGLEX_END)
			break;
		if (tok.kind != CFGLEX_INCLUDE)
			continue;
		emit(t, s + copied, tok.start - copied);
		copied = tok.end;
		if (cfglex_include_name(&lx, &tok, name, sizeof(name)) >= sizeof(name)) {
			cfg_errors_add(X->errs, file_path(X, file), tok.line, NULL, NULL,
				       "@include: the file name is too long");
			X->parse_error = true;
			continue;
		}
		if (X->depth == CFG_INCLUDE_DEPTH) {
			cfg_errors_add(X->errs, file_path(X, file), tok.line, NULL, NULL,
				       "@include \"%s\": include file nesting too deep (more than %d levels)", name,
				       CFG_INCLUDE_DEPTH);
			X->parse_error = true;
			continue;
		}
		int k = include_file(X, name, file, tok.line);
		if (k < 0)
			continue;
		const struct cfg_blob *b = &X->c->includes[k].blob;
		if (t->text.len + b->len > CFG_TEXT_MAX) {
			if (!X->too_big)
				cfg_errors_add(X->errs, X->c->path, 0, NULL, NULL,
					       "with its @include'd files the configuration is larger than %d bytes",
					       CFG_TEXT_MAX);
			X->too_big = X->invalid = true;
			continue;
		}
		X->depth++;
		expand(X, k, (const char *)b->data, b->len);
		X->depth--;
		end_line(t);
		/* the rest of the directive's line, where libconfig goes on */
		seg_start(t, file, lx.line);
	}
	if (lx.unterminated) {
		cfg_errors_add(X->errs, file_path(X, file), lx.open_line, NULL, NULL,
			       "unterminated %s (the file ends before it is closed)", lx.unterminated);
		X->parse_error = true;
	}
	emit(t, s + copied, len - copied);
}

enum cfg_status cfg_text_expand(struct config *c, const char *dir, struct cfg_text *t, struct cfg_errors *errs)
{
	struct expander X = { .c = c, .dir = dir, .t = t, .errs = errs };
	int nl = nul_line(c->text, c->text_len);

	memset(t, 0, sizeof(*t));
	t->out_line = 1;
	if (nl) {
		cfg_errors_add(errs, c->path, nl, NULL, NULL, "contains a NUL byte");
		return CFG_ERR_PARSE;
	}
	expand(&X, -1, (const char *)c->text, c->text_len);
	end_line(t);
	if (!t->text.s)
		sbuf_add(&t->text, "");
	if (X.parse_error)
		return CFG_ERR_PARSE;
	return X.invalid ? CFG_ERR_INVALID : CFG_OK;
}

int cfg_text_skeleton(const struct cfg_text *t, const struct config *c, struct sbuf *out, struct cfg_errors *errs)
{
	struct cfglex lx;
	size_t copied = 0, run_start = 0, run_end = 0;
	bool in_run = false;
	int line;

	sbuf_reset(out);
	cfglex_init(&lx, t->text.s, t->text.len);
	for (;;) {
		struct cfglex_tok tok = cfglex_next(&lx);
		if (tok.kind == CFGLEX_STRING) {
			if (!in_run)
				run_start = tok.start;
			run_end = tok.end;
			in_run = true;
			continue;
		}
		if (in_run) {
			/* The run becomes one 0 on as many lines as it took,
			 * spaced so that it cannot join a neighbour ("=0\"x\""
			 * must not read as "=00"). */
			sbuf_addn(out, t->text.s + copied, run_start - copied);
			sbuf_add(out, " 0 ");
			for (size_t p = run_start; p < run_end; p++)
				if (t->text.s[p] == '\n')
					sbuf_add(out, "\n");
			copied = run_end;
			in_run = false;
		}
		if (tok.kind == CFGLEX_INCLUDE) {
			/* Only after another directive on its line: expand() read
			 * that as text, libconfig would open it. */
			const char *file = cfg_text_where(t, c, tok.line, &line);
			cfg_errors_add(errs, file, line, NULL, NULL,
				       "@include must be the first thing on its line (not after another @include)");
			return -1;
		}
		if (tok.kind == CFGLEX_END)
			break;
	}
	sbuf_addn(out, t->text.s + copied, t->text.len - copied);
	return 0;
}

const char *cfg_text_where(const struct cfg_text *t, const struct config *c, int out_line, int *line)
{
	size_t lo = 0, hi = t->n_seg;

	*line = out_line;
	if (!t->n_seg || out_line <= 0)
		return c->path;
	/* the last segment starting at or before out_line */
	while (hi - lo > 1) {
		size_t mid = (lo + hi) / 2;
		if (t->seg[mid].out_line <= out_line)
			lo = mid;
		else
			hi = mid;
	}
	const struct cfg_text_seg *s = &t->seg[lo];
	*line = s->line + (out_line - s->out_line);
	return s->file < 0 ? c->path : c->includes[s->file].path;
}

void cfg_text_free(struct cfg_text *t)
{
	sbuf_wipe(&t->text); /* may hold tunnel.key_password */
	free(t->seg);
	memset(t, 0, sizeof(*t));
}
